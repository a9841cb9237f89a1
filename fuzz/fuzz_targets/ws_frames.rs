//! The gateway's WebSocket frame handler (`openclaw_gateway::ws::FrameHandler`, the state
//! machine behind the protocol on `/`): whatever a client sends, frame after frame.
//!
//! Input: a control byte, then frames separated by NUL bytes; a frame that is not UTF-8 is sent
//! as a binary frame (text frames are always UTF-8: the WebSocket library refuses others).
//! Control bit 0 sends a valid `connect` first, so the fuzzer spends its time past the
//! handshake; bit 1 gives the socket a peer address (the auth brake counts failures per IP).
//!
//! Properties besides "no panic":
//! - the handler speaks first: a `connect.challenge` event, without `seq`;
//! - before `connect` succeeds, a frame either is a `connect` the gateway accepts (answered
//!   `hello-ok`) or the socket is closed (1008, 1002 for a protocol mismatch, 1009 for a frame
//!   over 64 KiB);
//! - once connected, no frame closes the socket, and every frame gets exactly one response
//!   besides the `accepted` first answer of an `agent` request (some come from tasks: they are
//!   awaited), well formed: `type: "res"`, the request's id (or null when none could be read),
//!   `ok`, and on failure a code and a message;
//! - events are events of the protocol;
//! - the token never appears in anything sent.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use openclaw_config::{OpenClawConfig, StatePaths};
use openclaw_gateway::protocol::EVENTS;
use openclaw_gateway::ws::{FrameHandler, Sent, CLOSE_POLICY, CLOSE_PROTOCOL, CLOSE_TOO_BIG};
use openclaw_gateway::{AppState, AuthMode, GatewayOptions, Limits};
use serde_json::Value;

const TOKEN: &str = "fuzz-token-5ecret";

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
});

/// A state directory for the whole run (sessions written by `chat.send` land here).
static STATE_DIR: LazyLock<std::path::PathBuf> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("openclaw-fuzz-ws-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a state directory");
    dir
});

/// Transcripts `chat.send` leaves behind are swept now and then, so that `sessions.list` does
/// not slow down as a long run goes on.
fn sweep_sessions() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    if RUNS.fetch_add(1, Ordering::Relaxed) % 1000 == 999 {
        let _ = std::fs::remove_dir_all(STATE_DIR.join("agents"));
    }
}

fn state() -> Arc<AppState> {
    AppState::new(GatewayOptions {
        // No provider: nothing is discovered, runs end at once with "no model".
        config: OpenClawConfig::default(),
        paths: StatePaths::in_dir(STATE_DIR.as_path()),
        env: openclaw_config::Env::default(),
        auth: AuthMode::Token(TOKEN.to_owned()),
        bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        allowed_origins: Vec::new(),
        limits: Limits {
            approval_timeout: Duration::from_millis(50),
            // `agent.wait` answers within the harness's patience.
            agent_wait_max: Duration::from_millis(50),
            ..Limits::default()
        },
    })
}

/// The id a response must carry: the frame's id when it is a non-empty string.
fn request_id(text: &str) -> Option<Value> {
    let value: Value = serde_json::from_str(text).ok()?;
    match value.get("id")? {
        Value::String(id) if !id.is_empty() => Some(Value::String(id.clone())),
        _ => None,
    }
}

/// The first answer of an `agent` request; its final answer follows.
fn is_accepted(frame: &Value) -> bool {
    frame["ok"] == true && frame["payload"]["status"] == "accepted"
}

fn check_response(frame: &Value) {
    assert_eq!(frame["type"], "res", "{frame}");
    assert!(
        matches!(frame["id"], Value::String(_) | Value::Null),
        "{frame}"
    );
    match frame["ok"] {
        Value::Bool(true) => assert!(frame.get("payload").is_some(), "{frame}"),
        Value::Bool(false) => {
            let code = frame["error"]["code"].as_str().unwrap_or_default();
            let message = frame["error"]["message"].as_str().unwrap_or_default();
            assert!(!code.is_empty() && !message.is_empty(), "{frame}");
        }
        _ => panic!("no `ok` in {frame}"),
    }
}

fn no_token(sent: &[Sent]) {
    for s in sent {
        let text = format!("{s:?}");
        assert!(!text.contains(TOKEN), "the token was sent back: {text}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let peer = (control & 2 != 0).then_some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
    sweep_sessions();
    let _guard = RUNTIME.enter();
    let mut handler = FrameHandler::new(state(), peer);
    match handler.sent().as_slice() {
        [Sent::Frame(challenge)] => {
            assert_eq!(challenge["event"], "connect.challenge", "{challenge}");
            assert!(challenge.get("seq").is_none(), "{challenge}");
        }
        other => panic!("the handler did not open with a challenge: {other:?}"),
    }
    let mut frames: Vec<Result<String, ()>> = Vec::new();
    if control & 1 != 0 {
        frames.push(Ok(format!(
            r#"{{"type":"req","id":"c","method":"connect","params":{{"minProtocol":4,"maxProtocol":4,"client":{{"id":"fuzz","version":"1","platform":"linux","mode":"cli"}},"role":"operator","scopes":["operator.admin","operator.read","operator.write","operator.approvals"],"auth":{{"token":"{TOKEN}"}}}}}}"#
        )));
    }
    for part in rest.split(|&b| b == 0).take(64) {
        frames.push(std::str::from_utf8(part).map(str::to_owned).map_err(|_| ()));
    }

    let mut expected = 0usize;
    let mut sent = Vec::new();
    for frame in &frames {
        let was_connected = handler.connected();
        let open = match frame {
            Ok(text) => handler.text(text),
            Err(()) => handler.binary(),
        };
        let now = handler.sent();
        no_token(&now);
        if !was_connected {
            if handler.connected() {
                assert!(open);
                let [Sent::Frame(res)] = now.as_slice() else {
                    panic!("connect answered with {now:?}");
                };
                assert_eq!(res["ok"], true, "{res}");
                assert_eq!(res["payload"]["type"], "hello-ok", "{res}");
                continue;
            }
            assert!(!open, "a socket without `connect` stays open");
            assert!(
                matches!(
                    now.last(),
                    Some(Sent::Close(
                        CLOSE_POLICY | CLOSE_PROTOCOL | CLOSE_TOO_BIG,
                        _
                    ))
                ),
                "not closed with 1008, 1002 or 1009: {now:?}"
            );
            return;
        }
        assert!(open, "a connected socket was closed by {frame:?}");
        expected += 1;
        if let (Ok(text), [Sent::Frame(res), ..]) = (frame, now.as_slice()) {
            if let Some(id) = request_id(text) {
                assert_eq!(res["id"], id, "{text}");
            }
        }
        sent.extend(now);
    }

    // Some methods answer from tasks: wait for them (a missing response is a hang).
    let deadline = Instant::now() + Duration::from_secs(5);
    let responses = |sent: &[Sent]| {
        sent.iter()
            .filter(|s| matches!(s, Sent::Frame(f) if !is_accepted(f)))
            .count()
    };
    while responses(&sent) < expected {
        assert!(
            Instant::now() < deadline,
            "{} responses for {expected} frames: {sent:?}",
            responses(&sent)
        );
        // Let the tasks run; the blocking ones (transcripts) finish on their own threads.
        RUNTIME.block_on(tokio::task::yield_now());
        std::thread::sleep(Duration::from_micros(20));
        let now = handler.sent();
        no_token(&now);
        sent.extend(now);
    }
    assert_eq!(responses(&sent), expected, "{sent:?}");
    for s in &sent {
        match s {
            Sent::Frame(res) => check_response(res),
            Sent::Event { event, payload } => {
                assert!(EVENTS.contains(event), "{event}");
                assert!(payload.is_object(), "{payload}");
            }
            Sent::Close(code, _) => panic!("a connected socket was closed ({code})"),
        }
    }
});
