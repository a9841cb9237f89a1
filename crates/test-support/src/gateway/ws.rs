//! A blocking client of OpenClaw's WebSocket protocol (tungstenite): open with any handshake
//! headers, send a request frame and wait for its response, wait for the server's close.

use std::net::TcpStream;

use serde_json::{json, Value};
pub use tokio_tungstenite::tungstenite;
use tungstenite::{client::IntoClientRequest, Message};

use super::http::{connect, HANG};

/// A WebSocket to the gateway.
pub type Ws = tungstenite::WebSocket<TcpStream>;

/// Opens the WebSocket protocol (`/`) on `127.0.0.1:port` with these extra handshake
/// headers; `Err(status)` when the upgrade is refused.
pub fn open(port: u16, headers: &[(&str, &str)]) -> Result<Ws, u16> {
    let stream = connect(port);
    stream.set_read_timeout(Some(HANG)).unwrap();
    let mut request = format!("ws://127.0.0.1:{port}/")
        .into_client_request()
        .unwrap();
    for (n, v) in headers {
        request.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    match tungstenite::client(request, stream) {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("websocket handshake failed: {e}"),
    }
}

/// `connect` parameters as OpenClaw's CLI sends them, with this token (or none).
pub fn connect_params(token: Option<&str>) -> Value {
    let mut p = json!({
        "minProtocol": 4,
        "maxProtocol": 4,
        "client": {"id": "cli", "version": "test", "platform": "linux", "mode": "cli"},
        "role": "operator",
        "scopes": ["operator.read", "operator.write", "operator.admin"],
    });
    if let Some(token) = token {
        p["auth"] = json!({ "token": token });
    }
    p
}

/// Sends a request frame and waits for its response (events in between are skipped).
pub fn request(ws: &mut Ws, id: &str, method: &str, params: Value) -> Value {
    let frame = json!({"type": "req", "id": id, "method": method, "params": params});
    ws.send(Message::text(frame.to_string())).unwrap();
    loop {
        match ws.read().unwrap() {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["type"] == "res" && v["id"] == id {
                    return v;
                }
            }
            Message::Close(c) => panic!("closed while waiting for {method}: {c:?}"),
            _ => {}
        }
    }
}

/// Reads until the server closes; the close code and reason, if it sent a close frame.
pub fn closed(ws: &mut Ws) -> Option<(u16, String)> {
    loop {
        match ws.read() {
            Ok(Message::Close(Some(f))) => return Some((f.code.into(), f.reason.to_string())),
            Ok(Message::Close(None)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}
