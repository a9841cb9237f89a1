//! The WebSocket protocol at `/ws` (docs/gateway-protocol.md): JSON request/response frames
//! plus server events, for the web chat page and any other live client.
//!
//! Rules enforced here: the first request must be `connect` (else close 1008); a bad token
//! gets an `unauthorized` response and close 1008; frames over the limit close with 1009; a
//! socket that does not `connect` in time is closed. Nothing a client sends can panic the
//! server: malformed JSON and unknown methods get `bad_request`/`not_found` responses.
//!
//! One task reads, one writes (so `seq` numbers follow the order frames are sent); slow
//! requests (the catalog, the transcripts) run in tasks of their own so that `chat.abort` and
//! `exec.approve` are never stuck behind them. When the socket closes, its runs are stopped
//! and its pending approvals end as "nobody could be asked".

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use openclaw_agent::new_session_id;
use openclaw_llm::{Backlog, ThinkingLevel};
use openclaw_models::Selection;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use crate::error::GatewayError;
use crate::run::{
    prepare_run, valid_session_id, Approvals, ChatEvent, ModelChoice, PendingApprovals, RunSpec,
};
use crate::sessions::{list_sessions, session_history};
use crate::state::AppState;

/// The protocol version `connect` reports.
pub const PROTOCOL_VERSION: u32 = 1;
/// Close code: policy violation (no `connect` first, bad token).
pub const CLOSE_POLICY: u16 = 1008;
/// Close code: a frame over the size limit.
pub const CLOSE_TOO_BIG: u16 = 1009;
/// Close code: the server is going away.
pub const CLOSE_GOING_AWAY: u16 = 1001;

/// The client's IP address, when the server recorded it.
pub struct PeerIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// `GET /ws`: upgrades to the protocol.
pub async fn upgrade(
    State(state): State<Arc<AppState>>,
    PeerIp(peer): PeerIp,
    ws: WebSocketUpgrade,
) -> Response {
    if state.is_draining() {
        return GatewayError::ShuttingDown.into_response();
    }
    let max = state.limits.max_ws_frame_bytes;
    ws.max_frame_size(max)
        .max_message_size(max)
        // Every frame goes out at once: streamed text must not wait in a buffer.
        .write_buffer_size(0)
        // Requests are small; the buffer grows for a bigger frame. The default (128 KiB) is
        // zero-filled on the first read, which made an idle socket cost 133 KiB.
        .read_buffer_size(4 * 1024)
        .on_upgrade(move |socket| connection(socket, state, peer))
        .into_response()
}

/// A frame to send.
enum Outgoing {
    /// A response, sent as is.
    Frame(Value),
    /// An event: the writer numbers it. `paced`: the run's backlog and the text bytes this
    /// event carries, released once the socket took it.
    Event {
        event: &'static str,
        payload: Value,
        paced: Option<(Arc<Backlog>, usize)>,
    },
    /// Close with this code and reason, then stop.
    Close(u16, &'static str),
}

type Out = mpsc::UnboundedSender<Outgoing>;

/// Decrements the open-socket count however the connection ends.
struct OpenSocket(Arc<AppState>);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.ws_closed();
    }
}

/// What the reader does next.
enum Flow {
    Continue,
    Close,
}

struct Conn {
    state: Arc<AppState>,
    out: Out,
    peer: Option<IpAddr>,
    connected: bool,
    approvals: Arc<PendingApprovals>,
    /// Runs started on this socket (stopped when it closes).
    runs: HashSet<String>,
}

async fn connection(socket: WebSocket, state: Arc<AppState>, peer: Option<IpAddr>) {
    state.ws_opened();
    let _open = OpenSocket(state.clone());
    let (sink, mut stream) = socket.split();
    let (mut conn, out_rx) = Conn::new(state.clone(), peer);
    let writer = tokio::spawn(write_frames(sink, out_rx));
    let connect_deadline = tokio::time::sleep(state.limits.ws_connect_timeout);
    tokio::pin!(connect_deadline);
    let mut draining = state.draining_signal();
    let mut drain_seen = false;
    loop {
        tokio::select! {
            frame = stream.next() => {
                let flow = match frame {
                    None | Some(Ok(Message::Close(_))) => Flow::Close,
                    Some(Err(e)) => {
                        if is_too_big(&e) {
                            conn.close(CLOSE_TOO_BIG, "frame too large (the limit is 1 MiB)");
                        } else {
                            tracing::debug!("websocket read failed: {e}");
                        }
                        Flow::Close
                    }
                    Some(Ok(Message::Text(text))) => conn.handle_text(text.as_str()),
                    Some(Ok(Message::Binary(_))) => conn.handle_binary(),
                    Some(Ok(_)) => Flow::Continue, // ping/pong: answered by the library
                };
                if let Flow::Close = flow {
                    break;
                }
            }
            () = &mut connect_deadline, if !conn.connected => {
                conn.close(CLOSE_POLICY, "no `connect` request in time");
                break;
            }
            _ = draining.wait_for(|d| *d), if !drain_seen => {
                drain_seen = true;
                // Close once the runs are over (the grace period ends them at the latest).
                let (state, out) = (state.clone(), conn.out.clone());
                tokio::spawn(async move {
                    state.runs_idle().await;
                    let _ = out.send(Outgoing::Close(CLOSE_GOING_AWAY, "the gateway is shutting down"));
                });
            }
        }
    }
    conn.end();
    drop(conn);
    // The writer ends when every sender (runs included) is gone or the socket fails; waiting
    // briefly lets a close frame reach the client.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), writer).await;
}

fn is_too_big(e: &axum::Error) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    text.contains("too long") || text.contains("too big") || text.contains("capacity")
}

/// Sends frames in order, numbering events; flushes when nothing else is queued.
async fn write_frames(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
) {
    let mut seq: u64 = 0;
    while let Some(out) = rx.recv().await {
        let mut release = None;
        let message = match out {
            Outgoing::Frame(v) => Message::Text(v.to_string().into()),
            Outgoing::Event {
                event,
                payload,
                paced,
            } => {
                seq += 1;
                release = paced;
                Message::Text(
                    json!({"type": "event", "event": event, "seq": seq, "payload": payload})
                        .to_string()
                        .into(),
                )
            }
            Outgoing::Close(code, reason) => {
                let _ = sink
                    .send(Message::Close(Some(CloseFrame {
                        code,
                        reason: reason.into(),
                    })))
                    .await;
                let _ = sink.close().await;
                return;
            }
        };
        if sink.feed(message).await.is_err() {
            return;
        }
        if let Some((backlog, bytes)) = release {
            backlog.sent(bytes);
        }
        if rx.is_empty() && sink.flush().await.is_err() {
            return;
        }
    }
    let _ = sink.close().await;
}

/// JSON values allowed in one request frame: a frame holds a method and a few parameters, and
/// a 1 MiB frame of tiny values would take ~40 MiB once parsed.
pub const MAX_FRAME_VALUES: usize = 1 << 14;

/// A parsed request frame.
struct Req {
    id: Value,
    method: String,
    params: Map<String, Value>,
}

/// Parses a request frame; on failure, the id (if any could be read) and why.
fn parse_req(text: &str) -> Result<Req, (Value, String)> {
    let value: Value =
        openclaw_untrusted::json::from_slice_with_limit(text.as_bytes(), MAX_FRAME_VALUES)
            .map_err(|e| match e {
                openclaw_untrusted::json::Error::TooManyValues { .. } => {
                    (Value::Null, format!("the frame was refused: {e}"))
                }
                openclaw_untrusted::json::Error::Json(e) => {
                    (Value::Null, format!("the frame is not valid JSON: {e}"))
                }
            })?;
    let Value::Object(mut obj) = value else {
        return Err((Value::Null, "a request must be a JSON object".into()));
    };
    let id = match obj.remove("id") {
        Some(id @ (Value::String(_) | Value::Number(_))) => id,
        _ => return Err((Value::Null, "`id` must be a string".into())),
    };
    match obj.get("type") {
        Some(Value::String(t)) if t == "req" => {}
        _ => return Err((id, "`type` must be \"req\"".into())),
    }
    let method = match obj.get("method") {
        Some(Value::String(m)) => m.clone(),
        _ => return Err((id, "`method` must be a string".into())),
    };
    let params = match obj.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p,
        Some(_) => return Err((id, "`params` must be an object".into())),
    };
    Ok(Req { id, method, params })
}

impl Conn {
    fn new(
        state: Arc<AppState>,
        peer: Option<IpAddr>,
    ) -> (Self, mpsc::UnboundedReceiver<Outgoing>) {
        let (out, rx) = mpsc::unbounded_channel();
        let conn = Conn {
            state,
            out,
            peer,
            connected: false,
            approvals: Arc::new(PendingApprovals::default()),
            runs: HashSet::new(),
        };
        (conn, rx)
    }

    /// The socket closed: its approvals end and its runs stop.
    fn end(&mut self) {
        self.approvals.close();
        for run in self.runs.drain() {
            self.state.abort_run(&run);
        }
    }

    fn handle_binary(&mut self) -> Flow {
        if self.connected {
            self.respond(
                &Value::Null,
                Err(GatewayError::BadRequest(
                    "binary frames are not part of the protocol; send JSON text frames".into(),
                )),
            );
            Flow::Continue
        } else {
            self.close(CLOSE_POLICY, "the first request must be `connect`");
            Flow::Close
        }
    }

    fn send(&self, out: Outgoing) {
        let _ = self.out.send(out);
    }

    fn close(&self, code: u16, reason: &'static str) {
        self.send(Outgoing::Close(code, reason));
    }

    fn respond(&self, id: &Value, result: Result<Value, GatewayError>) {
        self.send(Outgoing::Frame(response(id, result)));
    }

    fn handle_text(&mut self, text: &str) -> Flow {
        let req = match parse_req(text) {
            Ok(r) => r,
            Err((id, message)) => {
                if !self.connected {
                    self.close(CLOSE_POLICY, "the first request must be `connect`");
                    return Flow::Close;
                }
                self.respond(&id, Err(GatewayError::BadRequest(message)));
                return Flow::Continue;
            }
        };
        if !self.connected {
            if req.method != "connect" {
                self.close(CLOSE_POLICY, "the first request must be `connect`");
                return Flow::Close;
            }
            let token = req.params.get("token").and_then(Value::as_str);
            if let Err(e) = self
                .state
                .brake
                .authenticate(&self.state.auth, self.peer, token)
            {
                tracing::warn!(peer = ?self.peer, "websocket connect refused: {e}");
                self.respond(&req.id, Err(e));
                self.close(CLOSE_POLICY, "unauthorized");
                return Flow::Close;
            }
            self.connected = true;
        }
        let id = req.id.clone();
        match req.method.as_str() {
            "connect" => self.respond(
                &id,
                Ok(json!({
                    "protocol": PROTOCOL_VERSION,
                    "server": {"name": "openclaw-rs", "version": env!("CARGO_PKG_VERSION")},
                    "agentId": openclaw_config::DEFAULT_AGENT_ID,
                    "defaultModel": self.state.default_model(),
                })),
            ),
            "health" => self.respond(
                &id,
                Ok(json!({
                    "ok": true,
                    "version": env!("CARGO_PKG_VERSION"),
                    "uptimeMs": self.state.started.elapsed().as_millis() as u64,
                })),
            ),
            "models.list" => {
                let (state, out) = (self.state.clone(), self.out.clone());
                tokio::spawn(async move {
                    let payload = models_payload(&state).await;
                    let _ = out.send(Outgoing::Frame(response(&id, Ok(payload))));
                });
            }
            "sessions.list" => {
                let (state, out) = (self.state.clone(), self.out.clone());
                tokio::spawn(async move {
                    let dir = state.sessions_dir();
                    let result = tokio::task::spawn_blocking(move || list_sessions(&dir))
                        .await
                        .map_err(|e| GatewayError::Internal(e.to_string()));
                    let _ = out.send(Outgoing::Frame(response(&id, result)));
                });
            }
            "chat.history" => {
                let session_id = match required(&req.params, "sessionId") {
                    Ok(s) => s,
                    Err(e) => {
                        self.respond(&id, Err(e));
                        return Flow::Continue;
                    }
                };
                let (state, out) = (self.state.clone(), self.out.clone());
                tokio::spawn(async move {
                    let dir = state.sessions_dir();
                    let result =
                        tokio::task::spawn_blocking(move || session_history(&dir, &session_id))
                            .await
                            .unwrap_or_else(|e| Err(GatewayError::Internal(e.to_string())));
                    let _ = out.send(Outgoing::Frame(response(&id, result)));
                });
            }
            "chat.send" => {
                let result = self.chat_send(&id, &req.params);
                if let Err(e) = result {
                    self.respond(&id, Err(e));
                }
            }
            "chat.abort" => {
                let result = required(&req.params, "runId")
                    .map(|run| json!({"aborted": self.state.abort_run(&run)}));
                self.respond(&id, result);
            }
            "exec.approve" => {
                let result = (|| {
                    let approval = required(&req.params, "approvalId")?;
                    let approve = match req.params.get("approve") {
                        Some(Value::Bool(b)) => *b,
                        _ => {
                            return Err(GatewayError::BadRequest(
                                "`params.approve` must be true or false".into(),
                            ))
                        }
                    };
                    if self.approvals.answer(&approval, approve) {
                        Ok(json!({"ok": true}))
                    } else {
                        Err(GatewayError::NotFound {
                            what: "pending approval",
                            id: approval,
                        })
                    }
                })();
                self.respond(&id, result);
            }
            other => self.respond(&id, Err(GatewayError::UnknownMethod(other.to_string()))),
        }
        Flow::Continue
    }

    /// `chat.send`: answers `{runId, sessionId}`, then the run streams `chat` events.
    fn chat_send(&mut self, id: &Value, params: &Map<String, Value>) -> Result<(), GatewayError> {
        let message = required(params, "message")?;
        if message.trim().is_empty() {
            return Err(GatewayError::BadRequest("`params.message` is empty".into()));
        }
        let session_id = match optional(params, "sessionId")? {
            Some(s) if !valid_session_id(&s) => {
                return Err(GatewayError::BadRequest(format!(
                    "invalid session id `{s}`: use letters, digits, `.`, `_` and `-` (at most 128)"
                )))
            }
            Some(s) => s,
            None => new_session_id(),
        };
        let model = ModelChoice::parse(optional(params, "model")?.as_deref())?;
        let thinking = match optional(params, "thinking")?.as_deref() {
            None => None,
            Some("off") => Some(ThinkingLevel::Off),
            Some("low") => Some(ThinkingLevel::Low),
            Some("medium") => Some(ThinkingLevel::Medium),
            Some("high") => Some(ThinkingLevel::High),
            Some(other) => {
                return Err(GatewayError::BadRequest(format!(
                    "`params.thinking` is `{other}`; use off, low, medium or high"
                )))
            }
        };
        // The model is read no further ahead of this socket than the HTTP API allows.
        let backlog = Backlog::new(crate::openai::STREAM_BACKLOG_BYTES);
        let prepared = prepare_run(
            &self.state,
            RunSpec {
                session_id,
                message,
                model,
                thinking,
                seed: Vec::new(),
                system: None,
                approvals: Approvals::Ask(self.approvals.clone()),
                wait_for_session: false,
                backlog: Some(backlog.clone()),
                options: Default::default(),
            },
        )?;
        let handle = prepared.handle().clone();
        // The response goes out before any event of the run can.
        self.respond(
            id,
            Ok(json!({"runId": handle.run_id, "sessionId": handle.session_id})),
        );
        self.runs.retain(|r| self.state.is_run_active(r));
        self.runs.insert(handle.run_id.clone());
        let out = self.out.clone();
        let (run_id, session_id) = (handle.run_id.clone(), handle.session_id.clone());
        prepared.spawn(Arc::new(move |event| {
            let text = match &event {
                ChatEvent::Delta(text) | ChatEvent::Thinking(text) => text.len(),
                _ => 0,
            };
            backlog.queued(text);
            let payload = chat_payload(&run_id, &session_id, event);
            let _ = out.send(Outgoing::Event {
                event: "chat",
                payload,
                paced: Some((backlog.clone(), text)),
            });
        }));
        Ok(())
    }
}

/// The frame handler of one socket without the socket, for the `ws_frames` fuzz target and
/// tests: the same state machine the connection task drives (`connect` first, request
/// dispatch, responses and events queued in order). Needs a Tokio runtime: some methods answer
/// from tasks of their own.
#[doc(hidden)]
pub struct FrameHandler {
    conn: Conn,
    rx: mpsc::UnboundedReceiver<Outgoing>,
}

/// What the handler queued for the client.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// A response frame.
    Response(Value),
    /// An event (unnumbered here; the writer numbers them).
    Event { event: &'static str, payload: Value },
    /// Close the socket with this code.
    Close(u16, &'static str),
}

impl FrameHandler {
    pub fn new(state: Arc<AppState>, peer: Option<IpAddr>) -> Self {
        let (conn, rx) = Conn::new(state, peer);
        Self { conn, rx }
    }

    /// A text frame arrived; `false` when the socket is to be closed.
    pub fn text(&mut self, text: &str) -> bool {
        matches!(self.conn.handle_text(text), Flow::Continue)
    }

    /// A binary frame arrived; `false` when the socket is to be closed.
    pub fn binary(&mut self) -> bool {
        matches!(self.conn.handle_binary(), Flow::Continue)
    }

    /// Whether `connect` succeeded.
    pub fn connected(&self) -> bool {
        self.conn.connected
    }

    /// Everything queued so far.
    pub fn sent(&mut self) -> Vec<Sent> {
        let mut sent = Vec::new();
        while let Ok(out) = self.rx.try_recv() {
            sent.push(match out {
                Outgoing::Frame(v) => Sent::Response(v),
                Outgoing::Event {
                    event,
                    payload,
                    paced,
                } => {
                    // Nobody reads here but the caller: the text counts as sent.
                    if let Some((backlog, bytes)) = paced {
                        backlog.sent(bytes);
                    }
                    Sent::Event { event, payload }
                }
                Outgoing::Close(code, reason) => Sent::Close(code, reason),
            });
        }
        sent
    }
}

impl Drop for FrameHandler {
    fn drop(&mut self) {
        self.conn.end();
    }
}

/// A string parameter that may be left out.
fn optional(params: &Map<String, Value>, name: &str) -> Result<Option<String>, GatewayError> {
    match params.get(name) {
        Some(Value::String(s)) => Ok(Some(s.clone())),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(GatewayError::BadRequest(format!(
            "`params.{name}` must be a string"
        ))),
    }
}

/// A string parameter that must be there.
fn required(params: &Map<String, Value>, name: &str) -> Result<String, GatewayError> {
    optional(params, name)?
        .ok_or_else(|| GatewayError::BadRequest(format!("`params.{name}` is required")))
}

/// A response frame.
fn response(id: &Value, result: Result<Value, GatewayError>) -> Value {
    match result {
        Ok(payload) => json!({"type": "res", "id": id, "ok": true, "payload": payload}),
        Err(e) => json!({
            "type": "res",
            "id": id,
            "ok": false,
            "error": {"code": e.ws_code(), "message": e.to_string()},
        }),
    }
}

/// `models.list`: the catalog as the page shows it.
async fn models_payload(state: &AppState) -> Value {
    let catalog = state.catalog().await;
    let selection = Selection::from_config(&state.config);
    let models: Vec<Value> = catalog
        .models
        .iter()
        .map(|m| {
            json!({
                "key": m.key(),
                "name": m.name,
                "reasoning": m.reasoning,
                "input": m.input,
                "contextWindow": m.context_window,
                "tags": selection.tags_for(&m.provider, &m.id),
            })
        })
        .collect();
    // The catalog's key for the default (`ollama/llama3.3` is listed as
    // `ollama/llama3.3:latest`), so the page can preselect it.
    let default_model = selection
        .primary
        .as_ref()
        .map(|r| {
            catalog
                .find(&r.provider, &r.model)
                .map_or_else(|| r.to_string(), |m| m.key())
        })
        .or_else(|| catalog.models.first().map(|m| m.key()));
    json!({"models": models, "defaultModel": default_model})
}

/// A `chat` event's payload: `{runId, sessionId, state, …}`.
fn chat_payload(run_id: &str, session_id: &str, event: ChatEvent) -> Value {
    let (state, mut extra) = match event {
        ChatEvent::Model { model } => ("model", json!({"model": model})),
        ChatEvent::Delta(text) => ("delta", json!({"text": text})),
        ChatEvent::Thinking(text) => ("thinking", json!({"text": text})),
        ChatEvent::ToolCall {
            id,
            name,
            arguments,
        } => (
            "tool",
            json!({"phase": "call", "tool": {"id": id, "name": name, "arguments": arguments}}),
        ),
        ChatEvent::ToolResult {
            id,
            name,
            arguments,
            result,
            is_error,
        } => (
            "tool",
            json!({"phase": "result", "tool": {"id": id, "name": name, "arguments": arguments}, "result": result, "isError": is_error}),
        ),
        ChatEvent::Approval {
            approval_id,
            command,
        } => (
            "approval",
            json!({"approvalId": approval_id, "command": command}),
        ),
        ChatEvent::Fallback {
            from,
            to,
            kind,
            message,
        } => (
            "fallback",
            json!({"from": from, "to": to, "kind": kind, "message": message}),
        ),
        ChatEvent::Final {
            answer,
            thinking: _,
            model,
            prompt_tokens,
            completion_tokens,
            finish_reason: _,
        } => (
            "final",
            json!({"answer": answer, "model": model, "usage": {"promptTokens": prompt_tokens, "completionTokens": completion_tokens}}),
        ),
        ChatEvent::Error { message, kind } => ("error", json!({"message": message, "kind": kind})),
        ChatEvent::Aborted => ("aborted", json!({})),
    };
    if let Value::Object(map) = &mut extra {
        map.insert("runId".into(), json!(run_id));
        map.insert("sessionId".into(), json!(session_id));
        map.insert("state".into(), json!(state));
    }
    extra
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_frames() {
        let r = parse_req(r#"{"type":"req","id":"1","method":"health"}"#).unwrap();
        assert_eq!(r.method, "health");
        assert!(r.params.is_empty());
        for (bad, id) in [
            ("nope", Value::Null),
            ("[]", Value::Null),
            (r#"{"type":"req","method":"x"}"#, Value::Null),
            (r#"{"type":"res","id":"2","method":"x"}"#, json!("2")),
            (r#"{"type":"req","id":"3"}"#, json!("3")),
            (
                r#"{"type":"req","id":"4","method":"x","params":[]}"#,
                json!("4"),
            ),
        ] {
            assert_eq!(parse_req(bad).err().map(|e| e.0), Some(id), "{bad}");
        }
    }

    #[test]
    fn chat_payloads_carry_the_run() {
        let p = chat_payload("r1", "s1", ChatEvent::Delta("hi".into()));
        assert_eq!(
            p,
            json!({"runId": "r1", "sessionId": "s1", "state": "delta", "text": "hi"})
        );
        let p = chat_payload("r1", "s1", ChatEvent::Aborted);
        assert_eq!(p["state"], "aborted");
        let e = response(&json!("7"), Err(GatewayError::Unauthorized));
        assert_eq!(e["error"]["code"], "unauthorized");
        assert_eq!(e["ok"], false);
    }
}
