//! The WebSocket protocol on `/`: OpenClaw's protocol v4 (the subset in `protocol.rs`,
//! docs/gateway-protocol.md), for the original's CLI and terminal UI and for our web page.
//!
//! A connection opens with a `connect.challenge` event; the client's first request must be
//! `connect` (else close 1008) with a protocol range that includes 4 (else the original's
//! `protocol mismatch` and close 1002) and the gateway's token (else `unauthorized` and close
//! 1008). `hello-ok` grants the scopes asked for; every method then checks its scope. A signed
//! device identity is accepted unchecked and no device token is issued. Nothing a client sends
//! can panic the server: bad frames and unknown methods get error responses.
//!
//! One task reads, one writes (so `seq` numbers follow the order frames are sent); slow
//! requests (the catalog, the transcripts) run in tasks of their own so that `chat.abort` and
//! `exec.approval.resolve` are never stuck behind them. A run's events go to the connection
//! that started it, paced so that a slow reader slows the model down instead of piling up
//! memory, and to every other connection through the gateway's broadcast channel, where a
//! connection that falls too far behind misses events (the `seq` gap tells it). A run
//! outlives the socket that started it, as in the original (`gateway call agent` without
//! `--expect-final` returns at once): from then on nothing paces it, and `agent.wait`,
//! `chat.history` and the other connections still see it through.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::connect_info::ConnectInfo;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use openclaw_agent::now_ms;
use openclaw_config::vars;
use openclaw_llm::{Backlog, ThinkingLevel};
use openclaw_models::Selection;
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

use crate::error::GatewayError;
use crate::ledger::Ended;
use crate::protocol::{
    self, check_agent, parse_params, Ack, AgentAccepted, AgentEvent, AgentHealth, AgentMeta,
    AgentModel, AgentOutcome, AgentParams, AgentResult, AgentResultMeta, AgentRow, AgentStream,
    AgentWaitParams, AgentWaitPayload, AgentsListPayload, ApprovalDecision, ChatAbortParams,
    ChatAbortPayload, ChatEvent as ChatEventPayload, ChatHistoryParams, ChatHistoryPayload,
    ChatSendAck, ChatSendParams, ChatState, CommandsPayload, ConnectChallenge, ConnectParams,
    ContentPart, ErrorShape, Event, ExecApprovalRequest, ExecApprovalRequested,
    ExecApprovalResolveParams, ExecApprovalResolved, Features, HealthPayload, HelloAuth, HelloOk,
    Lifecycle, MessageUsage, Method, ModelDefaults, ModelRow, ModelsListPayload, Policy,
    QuestionsPayload, RecentSession, ReplyPayload, Scope, ServerFrame, ServerInfo, SessionChanged,
    SessionCreated, SessionDefaults, SessionEntry, SessionKey, SessionKeyParams, SessionRow,
    SessionsChanged, SessionsCreateParams, SessionsDescribePayload, SessionsListParams,
    SessionsListPayload, SessionsPatchParams, SessionsSummary, Shutdown, Snapshot, StateVersion,
    StatusPayload, StatusSession, StatusSessions, Subscribed, Tick, TokenUsage, ToolEvent,
    ToolResultContent, TranscriptMessage, AGENT_ID, EVENTS, METHODS, PROTOCOL_VERSION,
    UNKNOWN_METHOD_SCOPE,
};
use crate::run::{prepare_run_as, valid_session_id, Approvals, ChatEvent, ModelChoice, RunSpec};
use crate::session_settings::Setting;
use crate::sessions::{
    describe_session, list_sessions, recent_sessions, retire_session, session_history, split_model,
    SessionInfo,
};
use crate::settings::AuthMode;
use crate::state::{AppState, Broadcast};

/// Close code: policy violation (no `connect` first, bad token).
pub const CLOSE_POLICY: u16 = 1008;
/// Close code: a protocol version we do not speak.
pub const CLOSE_PROTOCOL: u16 = 1002;
/// Close code: a frame over the size limit.
pub const CLOSE_TOO_BIG: u16 = 1009;
/// Close code: the server is going away.
pub const CLOSE_GOING_AWAY: u16 = 1001;

/// The client capability (`connect.params.caps`) of a client that shows exec approvals.
pub const EXEC_APPROVALS_CAP: &str = "exec-approvals";

/// Frames before `connect` are small: anything bigger is refused unread (the original's
/// pre-authentication limit).
pub const MAX_PREAUTH_FRAME: usize = 64 * 1024;

/// How long a run's text may wait to be sent, so that a fast model sends one `chat` event per
/// this interval instead of one per token (each `chat` event carries the whole answer so far).
/// The interval grows with the answer ([`coalesce_interval`]), so that a long answer does not
/// cost its length squared; text piling up is sent at once ([`FLUSH_BYTES`]).
const COALESCE: Duration = Duration::from_millis(80);
/// The longest the interval grows to.
const MAX_COALESCE: Duration = Duration::from_secs(1);
/// Waiting text this large is sent without waiting for the interval.
const FLUSH_BYTES: usize = 256 * 1024;

/// 80 ms per 32 KiB of answer so far (at least 80 ms, at most 1 s).
fn coalesce_interval(answer_bytes: usize) -> Duration {
    let steps = u32::try_from(answer_bytes / (32 * 1024))
        .unwrap_or(u32::MAX)
        .max(1);
    COALESCE.saturating_mul(steps).min(MAX_COALESCE)
}

/// `agent.wait` waits this long unless told otherwise, and never longer than the maximum.
/// (The maximum is [`crate::Limits::agent_wait_max`].)
const WAIT_DEFAULT: Duration = Duration::from_secs(30);

/// `chat.history` returns this many messages unless told otherwise.
const HISTORY_DEFAULT: usize = 200;

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

/// Upgrades a request for `/` to the protocol.
pub fn upgrade(state: Arc<AppState>, peer: Option<IpAddr>, ws: WebSocketUpgrade) -> Response {
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
    /// A response (or the challenge), sent as is.
    Frame(ServerFrame),
    /// An event (its payload as JSON text): the writer numbers it. `paced`: the run's backlog
    /// and the text bytes this event carries, released once the socket took it. `forwarded`:
    /// it came from another connection, and counts against [`FORWARD_BUDGET`] until written.
    Event {
        event: &'static str,
        payload: Arc<str>,
        paced: Option<(Arc<Backlog>, usize)>,
        forwarded: bool,
    },
    /// Close with this code and reason, then stop.
    Close(u16, String),
}

type Out = mpsc::UnboundedSender<Outgoing>;

/// Bytes of other connections' events that may wait for a slow socket; beyond it they are
/// dropped (the client sees the gap in `seq`) instead of piling up in memory.
const FORWARD_BUDGET: usize = 8 * 1024 * 1024;

/// Other connections' events waiting to be written to this socket.
#[derive(Default)]
struct Forwarded {
    queued_bytes: std::sync::atomic::AtomicUsize,
    /// Dropped since the last event written: the next `seq` skips them.
    dropped: std::sync::atomic::AtomicU64,
}

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

/// What `hello-ok` granted.
#[derive(Clone)]
struct Granted {
    scopes: Vec<Scope>,
    /// Shown as who resolved an approval.
    client: String,
    /// It may approve and says it can show exec approvals: runs wait for its answer.
    answers_approvals: bool,
}

struct Conn {
    state: Arc<AppState>,
    out: Out,
    peer: Option<IpAddr>,
    /// This connection's number, for the broadcast channel.
    number: u64,
    granted: Option<Granted>,
    /// Shared with the writer.
    forwarded: Arc<Forwarded>,
}

async fn connection(socket: WebSocket, state: Arc<AppState>, peer: Option<IpAddr>) {
    state.ws_opened();
    let _open = OpenSocket(state.clone());
    let (sink, mut stream) = socket.split();
    let (mut conn, out_rx) = Conn::new(state.clone(), peer);
    let writer = tokio::spawn(write_frames(sink, out_rx, conn.forwarded.clone()));
    let connect_deadline = tokio::time::sleep(state.limits.ws_connect_timeout);
    tokio::pin!(connect_deadline);
    let mut ticks = tokio::time::interval(state.limits.ws_tick_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate
    let mut bus: Option<broadcast::Receiver<Arc<Broadcast>>> = None;
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
                if bus.is_none() && conn.granted.is_some() {
                    bus = Some(state.bus.subscribe());
                }
            }
            received = next_broadcast(&mut bus) => match received {
                Ok(b) => conn.forward(&b),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(missed = n, "a slow websocket missed broadcast events");
                }
                Err(broadcast::error::RecvError::Closed) => bus = None,
            },
            _ = ticks.tick() => {
                if conn.granted.is_some() {
                    conn.event(Event::Tick(Tick { ts: now_ms() }));
                }
            }
            () = &mut connect_deadline, if conn.granted.is_none() => {
                conn.close(CLOSE_POLICY, "no `connect` request in time");
                break;
            }
            _ = draining.wait_for(|d| *d), if !drain_seen => {
                drain_seen = true;
                if conn.granted.is_some() {
                    conn.event(Event::Shutdown(Shutdown {
                        reason: "the gateway is shutting down".into(),
                        restart_expected_ms: None,
                    }));
                }
                // Close once the runs are over (the grace period ends them at the latest).
                let (state, out) = (state.clone(), conn.out.clone());
                tokio::spawn(async move {
                    state.runs_idle().await;
                    let _ = out.send(Outgoing::Close(
                        CLOSE_GOING_AWAY,
                        "the gateway is shutting down".into(),
                    ));
                });
            }
        }
    }
    conn.end();
    drop(conn);
    // The writer ends when every sender (runs included) is gone or the socket fails; waiting
    // briefly lets a close frame reach the client.
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
}

/// The next broadcast event, or never when not subscribed yet.
async fn next_broadcast(
    bus: &mut Option<broadcast::Receiver<Arc<Broadcast>>>,
) -> Result<Arc<Broadcast>, broadcast::error::RecvError> {
    match bus {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn is_too_big(e: &axum::Error) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    text.contains("too long") || text.contains("too big") || text.contains("capacity")
}

/// An event frame as written: [`ServerFrame::Event`]'s shape around JSON text already made.
fn event_frame(event: &str, payload: &str, seq: u64) -> String {
    let event = serde_json::to_string(event).unwrap_or_else(|_| "\"\"".into());
    format!(r#"{{"type":"event","event":{event},"payload":{payload},"seq":{seq}}}"#)
}

/// Sends frames in order, numbering events; flushes when nothing else is queued. However it
/// stops, the text of events it will never send no longer holds their runs back.
async fn write_frames(
    sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    forwarded: Arc<Forwarded>,
) {
    send_frames(sink, &mut rx, &forwarded).await;
    rx.close();
    while let Ok(out) = rx.try_recv() {
        if let Outgoing::Event {
            paced: Some((backlog, bytes)),
            ..
        } = out
        {
            backlog.sent(bytes);
        }
    }
}

async fn send_frames(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    rx: &mut mpsc::UnboundedReceiver<Outgoing>,
    forwarded: &Forwarded,
) {
    use std::sync::atomic::Ordering;
    let mut seq: u64 = 0;
    while let Some(out) = rx.recv().await {
        let mut release = None;
        let text = match out {
            Outgoing::Frame(frame) => serde_json::to_string(&frame),
            Outgoing::Event {
                event,
                payload,
                paced,
                forwarded: from_elsewhere,
            } => {
                seq += 1 + forwarded.dropped.swap(0, Ordering::Relaxed);
                release = paced;
                if from_elsewhere {
                    forwarded
                        .queued_bytes
                        .fetch_sub(payload.len(), Ordering::Relaxed);
                }
                Ok(event_frame(event, &payload, seq))
            }
            Outgoing::Close(code, reason) => {
                let _ = sink
                    .send(Message::Close(Some(CloseFrame {
                        code,
                        reason: close_reason(&reason).into(),
                    })))
                    .await;
                let _ = sink.close().await;
                return;
            }
        };
        let fed = match text {
            Ok(text) => sink.feed(Message::Text(text.into())).await.is_ok(),
            Err(_) => true,
        };
        if let Some((backlog, bytes)) = release {
            backlog.sent(bytes);
        }
        if !fed {
            return;
        }
        if rx.is_empty() && sink.flush().await.is_err() {
            return;
        }
    }
    let _ = sink.close().await;
}

/// A close reason fits in 123 bytes.
fn close_reason(reason: &str) -> String {
    if reason.len() <= 123 {
        return reason.to_string();
    }
    let mut end = 120;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &reason[..end])
}

/// JSON values allowed in one request frame: a frame holds a method and a few parameters, and
/// a 1 MiB frame of tiny values would take ~40 MiB once parsed.
pub const MAX_FRAME_VALUES: usize = 1 << 14;

/// Reads a request frame; on failure, the id (if one could be read) and why.
fn parse_request(text: &str) -> Result<protocol::RequestFrame, (Option<String>, String)> {
    let value: Value =
        openclaw_untrusted::json::from_slice_with_limit(text.as_bytes(), MAX_FRAME_VALUES)
            .map_err(|e| match e {
                openclaw_untrusted::json::Error::TooManyValues { .. } => {
                    (None, format!("the frame was refused: {e}"))
                }
                openclaw_untrusted::json::Error::Json(e) => {
                    (None, format!("the frame is not valid JSON: {e}"))
                }
            })?;
    let Value::Object(mut obj) = value else {
        return Err((None, "a request must be a JSON object".into()));
    };
    let id = match obj.remove("id") {
        Some(Value::String(id)) if !id.is_empty() => id,
        _ => return Err((None, "`id` must be a non-empty string".into())),
    };
    match obj.get("type") {
        Some(Value::String(t)) if t == "req" => {}
        _ => return Err((Some(id), "`type` must be \"req\"".into())),
    }
    let method = match obj.remove("method") {
        Some(Value::String(m)) => m,
        _ => return Err((Some(id), "`method` must be a string".into())),
    };
    let params = match obj.remove("params") {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(p @ Value::Object(_)) => p,
        Some(_) => return Err((Some(id), "`params` must be an object".into())),
    };
    Ok(protocol::RequestFrame { id, method, params })
}

/// A gateway failure as a protocol error: what can be retried is `UNAVAILABLE`, the rest
/// `INVALID_REQUEST`.
fn shape(e: &GatewayError) -> ErrorShape {
    let message = e.to_string();
    match e {
        GatewayError::RateLimited { retry_after } => {
            let mut s =
                ErrorShape::invalid(message).with_details(json!({"code": "AUTH_RATE_LIMITED"}));
            s.retryable = Some(true);
            s.retry_after_ms = Some(retry_after.as_millis() as u64);
            s
        }
        _ if e.status().is_server_error() || e.status().as_u16() == 409 => {
            ErrorShape::unavailable(message)
        }
        _ => ErrorShape::invalid(message),
    }
}

impl Conn {
    fn new(
        state: Arc<AppState>,
        peer: Option<IpAddr>,
    ) -> (Self, mpsc::UnboundedReceiver<Outgoing>) {
        let (out, rx) = mpsc::unbounded_channel();
        let number = state.next_connection();
        let conn = Conn {
            state,
            out,
            peer,
            number,
            granted: None,
            forwarded: Arc::new(Forwarded::default()),
        };
        // The challenge goes out first. Device identities sign its nonce; we do not check them.
        conn.send(Outgoing::Frame(ServerFrame::Event {
            event: "connect.challenge".into(),
            payload: protocol::to_value(ConnectChallenge {
                nonce: conn.state.next_id("nonce"),
                ts: now_ms(),
            }),
            seq: None,
        }));
        (conn, rx)
    }

    /// The socket closed. Its runs go on.
    fn end(&mut self) {
        if let Some(g) = self.granted.take() {
            if g.answers_approvals {
                self.state.approvals.answerer_left();
            }
        }
    }

    fn send(&self, out: Outgoing) {
        let _ = self.out.send(out);
    }

    fn close(&self, code: u16, reason: &str) {
        self.send(Outgoing::Close(code, reason.to_string()));
    }

    fn respond(&self, id: &str, result: Result<Value, ErrorShape>) {
        self.send(Outgoing::Frame(match result {
            Ok(payload) => ServerFrame::ok(id, payload),
            Err(e) => ServerFrame::err(Some(id), e),
        }));
    }

    fn event(&self, event: Event) {
        self.send(Outgoing::Event {
            event: event.name(),
            payload: event.payload_json(),
            paced: None,
            forwarded: false,
        });
    }

    /// An event from the broadcast channel, unless too much of them waits already.
    fn forward(&self, b: &Broadcast) {
        use std::sync::atomic::Ordering;
        let Some(g) = &self.granted else { return };
        if b.from == self.number || !b.scope.satisfied_by(&g.scopes) {
            return;
        }
        let queued = self.forwarded.queued_bytes.load(Ordering::Relaxed);
        if queued + b.payload.len() > FORWARD_BUDGET {
            self.forwarded.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.forwarded
            .queued_bytes
            .fetch_add(b.payload.len(), Ordering::Relaxed);
        self.send(Outgoing::Event {
            event: b.event,
            payload: b.payload.clone(),
            paced: None,
            forwarded: true,
        });
    }

    fn handle_binary(&mut self) -> Flow {
        if self.granted.is_some() {
            self.send(Outgoing::Frame(ServerFrame::err(
                None,
                ErrorShape::invalid(
                    "binary frames are not part of the protocol; send JSON text frames",
                ),
            )));
            Flow::Continue
        } else {
            self.close(
                CLOSE_POLICY,
                "invalid handshake: the first request must be `connect`",
            );
            Flow::Close
        }
    }

    fn handle_text(&mut self, text: &str) -> Flow {
        if self.granted.is_none() && text.len() > MAX_PREAUTH_FRAME {
            self.close(
                CLOSE_TOO_BIG,
                "frame too large before `connect` (the limit is 64 KiB)",
            );
            return Flow::Close;
        }
        let req = match parse_request(text) {
            Ok(r) => r,
            Err((id, message)) => {
                if self.granted.is_none() {
                    self.close(
                        CLOSE_POLICY,
                        "invalid handshake: the first request must be `connect`",
                    );
                    return Flow::Close;
                }
                self.send(Outgoing::Frame(ServerFrame::err(
                    id.as_deref(),
                    ErrorShape::invalid(message),
                )));
                return Flow::Continue;
            }
        };
        let Some(granted) = self.granted.clone() else {
            if req.method != "connect" {
                self.close(
                    CLOSE_POLICY,
                    "invalid handshake: the first request must be `connect`",
                );
                return Flow::Close;
            }
            return self.connect(&req.id, &req.params);
        };
        tracing::debug!(method = %req.method, id = %req.id, "websocket request");
        let Some(method) = Method::parse(&req.method) else {
            let e = if UNKNOWN_METHOD_SCOPE.satisfied_by(&granted.scopes) {
                ErrorShape::unknown_method(&req.method)
            } else {
                ErrorShape::missing_scope(UNKNOWN_METHOD_SCOPE)
            };
            self.respond(&req.id, Err(e));
            return Flow::Continue;
        };
        if let Some(scope) = method.scope() {
            if !scope.satisfied_by(&granted.scopes) {
                self.respond(&req.id, Err(ErrorShape::missing_scope(scope)));
                return Flow::Continue;
            }
        }
        if let Err(e) = self.dispatch(method, &req.id, &req.params, &granted) {
            self.respond(&req.id, Err(e));
        }
        Flow::Continue
    }

    /// `connect`: the handshake.
    fn connect(&mut self, id: &str, params: &Value) -> Flow {
        let fail = |conn: &Self, e: ErrorShape, code: u16| {
            let reason = e.message.clone();
            conn.respond(id, Err(e));
            conn.close(code, &reason);
            Flow::Close
        };
        let p: ConnectParams = match parse_params(Method::Connect, params) {
            Ok(p) => p,
            Err(e) => return fail(self, e, CLOSE_POLICY),
        };
        if p.min_protocol > PROTOCOL_VERSION || p.max_protocol < PROTOCOL_VERSION {
            let e = ErrorShape::invalid("protocol mismatch").with_details(json!({
                "code": "PROTOCOL_MISMATCH",
                "clientMinProtocol": p.min_protocol,
                "clientMaxProtocol": p.max_protocol,
                "expectedProtocol": PROTOCOL_VERSION,
            }));
            return fail(self, e, CLOSE_PROTOCOL);
        }
        let role = p.role.as_deref().unwrap_or("operator");
        if role != "operator" {
            let e = ErrorShape::invalid(format!(
                "role `{role}` is not served by this gateway: it has operators only, no nodes"
            ));
            return fail(self, e, CLOSE_POLICY);
        }
        let auth = p.auth.clone().unwrap_or_default();
        let token = auth.token.as_deref().filter(|t| !t.is_empty());
        if let Err(e) = self
            .state
            .brake
            .authenticate(&self.state.auth, self.peer, token)
        {
            tracing::warn!(peer = ?self.peer, client = %p.client.id, "websocket connect refused: {e}");
            let e = match e {
                GatewayError::Unauthorized if token.is_none() => {
                    let hint = if auth.password.is_some() {
                        "this gateway uses a token, not a password"
                    } else {
                        "send this gateway's token: gateway.auth.token or <state>/gateway/token"
                    };
                    ErrorShape::invalid(format!("unauthorized: gateway token missing ({hint})"))
                        .with_details(json!({"code": "AUTH_TOKEN_MISSING"}))
                }
                GatewayError::Unauthorized => ErrorShape::invalid(
                    "unauthorized: gateway token mismatch (use this gateway's gateway.auth.token)",
                )
                .with_details(json!({"code": "AUTH_TOKEN_MISMATCH"})),
                other => shape(&other),
            };
            return fail(self, e, CLOSE_POLICY);
        }
        let scopes: Vec<Scope> = {
            let mut s: Vec<Scope> = p
                .scopes
                .iter()
                .flatten()
                .filter_map(|s| Scope::parse(s))
                .collect();
            s.dedup();
            s
        };
        // The original's terminal UI holds the scope but shows no exec approvals: counting it
        // would make a run wait out the timeout for an answer that cannot come.
        let answers_approvals = Scope::Approvals.satisfied_by(&scopes)
            && p.caps
                .iter()
                .any(|c| c == EXEC_APPROVALS_CAP || c == "approvals");
        if answers_approvals {
            self.state.approvals.answerer_joined();
        }
        let client = p
            .client
            .display_name
            .clone()
            .unwrap_or_else(|| p.client.id.clone());
        self.granted = Some(Granted {
            scopes: scopes.clone(),
            client,
            answers_approvals,
        });
        let hello = HelloOk {
            kind: "hello-ok".into(),
            protocol: PROTOCOL_VERSION,
            server: ServerInfo {
                version: env!("CARGO_PKG_VERSION").into(),
                conn_id: format!("conn-{}", self.number),
                name: "openclaw-rs".into(),
            },
            features: Features {
                methods: METHODS.iter().map(|m| m.name().to_string()).collect(),
                events: EVENTS.iter().map(|e| e.to_string()).collect(),
            },
            snapshot: Snapshot {
                presence: Vec::new(),
                health: health(&self.state, Instant::now()),
                state_version: StateVersion {
                    presence: 0,
                    health: 0,
                },
                uptime_ms: self.state.started.elapsed().as_millis() as u64,
                session_defaults: SessionDefaults::new(self.state.default_model().is_some()),
            },
            auth: HelloAuth {
                method: match self.state.auth {
                    AuthMode::Token(_) => "token".into(),
                    AuthMode::None => "none".into(),
                },
                role: "operator".into(),
                scopes: scopes.iter().map(|s| s.as_str().to_string()).collect(),
            },
            policy: Policy {
                max_payload: self.state.limits.max_ws_frame_bytes as u64,
                max_buffered_bytes: crate::openai::STREAM_BACKLOG_BYTES as u64,
                tick_interval_ms: self.state.limits.ws_tick_interval.as_millis() as u64,
            },
        };
        self.respond(id, Ok(protocol::to_value(hello)));
        Flow::Continue
    }

    /// Answers a request of a connected client, at once or from a task of its own.
    fn dispatch(
        &mut self,
        method: Method,
        id: &str,
        params: &Value,
        granted: &Granted,
    ) -> Result<(), ErrorShape> {
        let state = self.state.clone();
        match method {
            Method::Connect => {
                return Err(ErrorShape::invalid(
                    "already connected: `connect` comes once",
                ))
            }
            Method::Health => self.answer_later(id, move || {
                Ok(protocol::to_value(health(&state, Instant::now())))
            }),
            Method::Status => self.answer_later(id, move || Ok(protocol::to_value(status(&state)))),
            Method::AgentsList => self.respond(id, Ok(protocol::to_value(agents_list(&state)))),
            Method::ModelsList => {
                let out = self.out.clone();
                let id = id.to_string();
                tokio::spawn(async move {
                    let payload = models_list(&state).await;
                    let _ = out.send(Outgoing::Frame(ServerFrame::ok(&id, payload)));
                });
            }
            Method::SessionsList => {
                let p: SessionsListParams = parse_params(method, params)?;
                check_agent(p.agent_id.as_deref())?;
                self.answer_later(id, move || {
                    Ok(protocol::to_value(sessions_list(&state, p.limit)))
                });
            }
            Method::SessionsDescribe => {
                let p: SessionKeyParams = parse_params(method, params)?;
                check_agent(p.agent_id.as_deref())?;
                let key = session_key(&p.key)?;
                self.answer_later(id, move || {
                    let session = describe_session(&state.sessions_dir(), key.session_id())
                        .map(|info| session_row(&state, info));
                    Ok(protocol::to_value(SessionsDescribePayload { session }))
                });
            }
            Method::SessionsSubscribe => {
                self.respond(id, Ok(protocol::to_value(Subscribed { subscribed: true })))
            }
            Method::SessionsReset | Method::SessionsDelete => {
                let p: SessionKeyParams = parse_params(method, params)?;
                check_agent(p.agent_id.as_deref())?;
                let key = session_key(&p.key)?;
                let delete = method == Method::SessionsDelete;
                self.answer_later(id, move || retire(&state, &key, delete));
            }
            Method::SessionsPatch => {
                let p: SessionsPatchParams = parse_params(method, params)?;
                check_agent(p.agent_id.as_deref())?;
                let key = session_key(&p.key)?;
                let out = self.out.clone();
                let id = id.to_string();
                tokio::spawn(async move {
                    let result = patch(&state, &key, p).await;
                    let _ = out.send(Outgoing::Frame(match result {
                        Ok(v) => ServerFrame::ok(&id, v),
                        Err(e) => ServerFrame::err(Some(&id), e),
                    }));
                });
            }
            Method::SessionsCreate => {
                let p: SessionsCreateParams = parse_params(method, params)?;
                check_agent(p.agent_id.as_deref())?;
                let out = self.out.clone();
                let id = id.to_string();
                tokio::spawn(async move {
                    let result = create(&state, p).await;
                    let _ = out.send(Outgoing::Frame(match result {
                        Ok(v) => ServerFrame::ok(&id, v),
                        Err(e) => ServerFrame::err(Some(&id), e),
                    }));
                });
            }
            Method::ChatHistory => {
                let p: ChatHistoryParams = parse_params(method, params)?;
                check_agent(p.agent_id.as_deref())?;
                let key = session_key(&p.session_key)?;
                let limit = p.limit.unwrap_or(HISTORY_DEFAULT);
                self.answer_later(id, move || {
                    let h = session_history(&state.sessions_dir(), key.session_id(), limit)
                        .map_err(|e| shape(&e))?;
                    Ok(protocol::to_value(ChatHistoryPayload {
                        session_key: key.to_string(),
                        session_id: h.exists.then(|| key.session_id().to_string()),
                        messages: h.messages,
                        has_more: h.truncated,
                        defaults: model_defaults(&state, key.session_id()),
                    }))
                });
            }
            Method::ChatSend => {
                let p: ChatSendParams = parse_params(method, params)?;
                check_agent(p.agent_id.as_deref())?;
                refuse_delivery(p.deliver)?;
                let key = session_key(&p.session_key)?;
                self.start_run(
                    id,
                    granted,
                    RunRequest {
                        key,
                        message: p.message,
                        run_id: p.idempotency_key,
                        model: None,
                        thinking: p.thinking,
                        answer_when_done: false,
                    },
                )?;
            }
            Method::Agent => {
                let p: AgentParams = parse_params(method, params)?;
                check_agent(p.agent_id.as_deref())?;
                refuse_delivery(p.deliver)?;
                let key = match (&p.session_key, &p.session_id) {
                    (Some(k), _) => session_key(k)?,
                    (None, Some(s)) => session_key(&format!("explicit:{s}"))?,
                    (None, None) => SessionKey::main(),
                };
                self.start_run(
                    id,
                    granted,
                    RunRequest {
                        key,
                        message: p.message,
                        run_id: p.idempotency_key,
                        model: p.model,
                        thinking: p.thinking,
                        answer_when_done: true,
                    },
                )?;
            }
            Method::AgentWait => {
                let p: AgentWaitParams = parse_params(method, params)?;
                let wait = p
                    .timeout_ms
                    .map_or(WAIT_DEFAULT, Duration::from_millis)
                    .min(state.limits.agent_wait_max);
                let out = self.out.clone();
                let id = id.to_string();
                tokio::spawn(async move {
                    let ended = state.ledger.wait(&p.run_id, wait).await;
                    let payload = match ended {
                        Some(e) => AgentWaitPayload {
                            run_id: p.run_id,
                            status: e.outcome.status.clone(),
                            started_at: Some(e.started_at),
                            ended_at: Some(e.ended_at),
                            stop_reason: e.outcome.stop_reason.clone(),
                            error: (e.outcome.status == "error").then(|| e.outcome.summary.clone()),
                        },
                        None => AgentWaitPayload {
                            run_id: p.run_id,
                            status: "timeout".into(),
                            started_at: None,
                            ended_at: None,
                            stop_reason: None,
                            error: None,
                        },
                    };
                    let _ = out.send(Outgoing::Frame(ServerFrame::ok(&id, payload)));
                });
            }
            Method::ChatAbort => {
                let p: ChatAbortParams = parse_params(method, params)?;
                check_agent(p.agent_id.as_deref())?;
                let key = session_key(&p.session_key)?;
                let targets: Vec<String> = match p.run_id {
                    Some(run) => state
                        .session_runs(key.session_id())
                        .into_iter()
                        .filter(|r| *r == run)
                        .collect(),
                    None => state.session_runs(key.session_id()),
                };
                let run_ids: Vec<String> =
                    targets.into_iter().filter(|r| state.abort_run(r)).collect();
                self.respond(
                    id,
                    Ok(protocol::to_value(ChatAbortPayload {
                        ok: true,
                        aborted: !run_ids.is_empty(),
                        run_ids,
                    })),
                );
            }
            Method::ExecApprovalList => {
                self.respond(id, Ok(protocol::to_value(state.approvals.pending())))
            }
            Method::QuestionList => self.respond(
                id,
                Ok(protocol::to_value(QuestionsPayload {
                    questions: Vec::new(),
                })),
            ),
            Method::PluginApprovalList => self.respond(id, Ok(json!([]))),
            Method::CommandsList => self.respond(
                id,
                Ok(protocol::to_value(CommandsPayload {
                    commands: Vec::new(),
                })),
            ),
            Method::ExecApprovalResolve => {
                let p: ExecApprovalResolveParams = parse_params(method, params)?;
                if p.decision == ApprovalDecision::AllowAlways {
                    return Err(ErrorShape::invalid(
                        "allow-always is not available: this gateway remembers no approvals; answer allow-once or deny",
                    )
                    .with_details(json!({"reason": "APPROVAL_ALLOW_ALWAYS_UNAVAILABLE"})));
                }
                let approve = p.decision == ApprovalDecision::AllowOnce;
                match state.approvals.answer(&p.id, approve) {
                    Some(request) => {
                        let resolved = Event::ExecApprovalResolved(ExecApprovalResolved {
                            id: p.id,
                            decision: p.decision,
                            resolved_by: Some(granted.client.clone()),
                            ts: now_ms(),
                            request,
                        });
                        // Every approving client hears it, this one included.
                        state.publish(
                            0,
                            resolved.name(),
                            resolved.payload_json(),
                            resolved.scope(),
                        );
                        self.respond(id, Ok(protocol::to_value(Ack { ok: true })));
                    }
                    None => {
                        return Err(ErrorShape::invalid("unknown or expired approval id")
                            .with_details(json!({"reason": "APPROVAL_NOT_FOUND"})))
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs `f` on a blocking thread (it reads transcripts) and sends its answer.
    fn answer_later(
        &self,
        id: &str,
        f: impl FnOnce() -> Result<Value, ErrorShape> + Send + 'static,
    ) {
        let out = self.out.clone();
        let id = id.to_string();
        tokio::spawn(async move {
            let result = tokio::task::spawn_blocking(f)
                .await
                .unwrap_or_else(|e| Err(ErrorShape::unavailable(e.to_string())));
            let _ = out.send(Outgoing::Frame(match result {
                Ok(v) => ServerFrame::ok(&id, v),
                Err(e) => ServerFrame::err(Some(&id), e),
            }));
        });
    }

    /// `chat.send` and `agent`: starts a run (or answers a retry of one).
    fn start_run(
        &mut self,
        id: &str,
        granted: &Granted,
        req: RunRequest,
    ) -> Result<(), ErrorShape> {
        if req.message.trim().is_empty() {
            return Err(ErrorShape::invalid("the message is empty"));
        }
        let run_id = req.run_id;
        if run_id.trim().is_empty() || run_id.len() > 256 || run_id.chars().any(|c| c.is_control())
        {
            return Err(ErrorShape::invalid(
                "`idempotencyKey` must be 1 to 256 characters without control characters",
            ));
        }
        let state = self.state.clone();
        let key = req.key;
        // A retry: the run is going, or has ended.
        if state.is_run_active(&run_id) {
            let payload = if req.answer_when_done {
                protocol::to_value(AgentAccepted {
                    run_id: run_id.clone(),
                    session_key: key.to_string(),
                    agent_id: AGENT_ID.into(),
                    status: "in_flight".into(),
                    accepted_at: now_ms(),
                })
            } else {
                protocol::to_value(ChatSendAck {
                    run_id,
                    status: "in_flight".into(),
                })
            };
            self.respond(id, Ok(payload));
            return Ok(());
        }
        if let Some(ended) = state.ledger.get(&run_id) {
            let payload = if req.answer_when_done {
                protocol::to_value(ended.outcome)
            } else {
                protocol::to_value(ChatSendAck {
                    run_id,
                    status: ended.outcome.status,
                })
            };
            self.respond(id, Ok(payload));
            return Ok(());
        }
        let setting = state.session_settings.get(key.session_id());
        let thinking = parse_thinking(
            req.thinking
                .as_deref()
                .or(setting.thinking_level.as_deref()),
        )?;
        let model = ModelChoice::parse(req.model.as_deref().or(setting.model.as_deref()))
            .map_err(|e| shape(&e))?;
        // The model is read no further ahead of this socket than the HTTP API allows.
        let backlog = Backlog::new(crate::openai::STREAM_BACKLOG_BYTES);
        let prepared = prepare_run_as(
            &state,
            RunSpec {
                session_id: key.session_id().to_string(),
                message: req.message,
                model,
                thinking,
                seed: Vec::new(),
                system: None,
                approvals: Approvals::Ask(state.approvals.clone()),
                wait_for_session: false,
                backlog: Some(backlog.clone()),
                options: Default::default(),
            },
            run_id.clone(),
        )
        .map_err(|e| shape(&e))?;
        // A run that ended long ago under this key is forgotten once the key runs again.
        state.ledger.forget(&run_id);
        let started_at = now_ms();
        // The answer goes out before any event of the run can.
        let ack = if req.answer_when_done {
            protocol::to_value(AgentAccepted {
                run_id: run_id.clone(),
                session_key: key.to_string(),
                agent_id: AGENT_ID.into(),
                status: "accepted".into(),
                accepted_at: started_at,
            })
        } else {
            protocol::to_value(ChatSendAck {
                run_id: run_id.clone(),
                status: "started".into(),
            })
        };
        self.respond(id, Ok(ack));
        let stream = Arc::new(Mutex::new(RunStream {
            state: state.clone(),
            out: self.out.clone(),
            connection: self.number,
            own_scopes: granted.scopes.clone(),
            run_id: run_id.clone(),
            key: key.to_string(),
            session_id: key.session_id().to_string(),
            backlog,
            seq: 0,
            started_at,
            text: String::new(),
            thinking: String::new(),
            pending_text: String::new(),
            pending_thinking: String::new(),
            pending_bytes: 0,
            last_flush: Instant::now(),
            flush_scheduled: false,
            provider: None,
            model: None,
            answer_to: req.answer_when_done.then(|| id.to_string()),
        }));
        lock(&stream).agent(AgentStream::Lifecycle(Lifecycle::Start { started_at }));
        let sink = stream.clone();
        prepared.spawn(Arc::new(move |event| on_run_event(&sink, event)));
        Ok(())
    }
}

/// What `chat.send` and `agent` ask to run.
struct RunRequest {
    key: SessionKey,
    message: String,
    run_id: String,
    model: Option<String>,
    thinking: Option<String>,
    /// `agent`: answer the request again when the run ends.
    answer_when_done: bool,
}

fn session_key(raw: &str) -> Result<SessionKey, ErrorShape> {
    SessionKey::parse(raw, valid_session_id)
}

fn refuse_delivery(deliver: Option<bool>) -> Result<(), ErrorShape> {
    if deliver == Some(true) {
        return Err(ErrorShape::invalid(
            "delivery is not available: this gateway has no chat channels to deliver to (leave `deliver` false)",
        ));
    }
    Ok(())
}

/// `off`, `low`, `medium`, `high`; `None` leaves the model's default.
/// The original's finer levels map to the nearest of ours: `minimal` is `low`; `xhigh`,
/// `max` and `ultra` are `high`; `adaptive` leaves it to the model.
fn parse_thinking(level: Option<&str>) -> Result<Option<ThinkingLevel>, ErrorShape> {
    Ok(match level.map(str::trim) {
        None | Some("" | "adaptive") => None,
        Some("off") => Some(ThinkingLevel::Off),
        Some("minimal" | "low") => Some(ThinkingLevel::Low),
        Some("medium") => Some(ThinkingLevel::Medium),
        Some("high" | "xhigh" | "max" | "ultra") => Some(ThinkingLevel::High),
        Some(other) => {
            return Err(ErrorShape::invalid(format!(
                "thinking level \"{other}\" is not supported (use off, low, medium or high)"
            )))
        }
    })
}

/// `health`, and the snapshot's health.
fn health(state: &AppState, started: Instant) -> HealthPayload {
    let dir = state.sessions_dir();
    let (count, recent) = recent_sessions(&dir, 5);
    let now = now_ms();
    let summary = SessionsSummary {
        path: dir.display().to_string(),
        count,
        recent: recent
            .into_iter()
            .map(|(id, updated_at)| RecentSession {
                key: SessionKey::for_session(&id).to_string(),
                updated_at,
                age: now.saturating_sub(updated_at),
            })
            .collect(),
    };
    HealthPayload {
        ok: true,
        ts: now,
        duration_ms: started.elapsed().as_millis() as u64,
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_ms: state.started.elapsed().as_millis() as u64,
        default_agent_id: AGENT_ID.into(),
        agents: vec![AgentHealth {
            agent_id: AGENT_ID.into(),
            is_default: true,
            sessions: summary.clone(),
        }],
        sessions: summary,
        channels: Default::default(),
        channel_order: Vec::new(),
        channel_labels: Default::default(),
        heartbeat_seconds: 0,
    }
}

fn status(state: &AppState) -> StatusPayload {
    let dir = state.sessions_dir();
    let (count, recent) = recent_sessions(&dir, 10);
    let now = now_ms();
    StatusPayload {
        runtime_version: env!("CARGO_PKG_VERSION").into(),
        sessions: StatusSessions {
            paths: vec![dir.display().to_string()],
            count,
            defaults: model_defaults(state, ""),
            recent: recent
                .into_iter()
                .map(|(id, updated_at)| StatusSession {
                    agent_id: AGENT_ID.into(),
                    key: SessionKey::for_session(&id).to_string(),
                    kind: "direct".into(),
                    session_id: id,
                    updated_at,
                    age: now.saturating_sub(updated_at),
                })
                .collect(),
        },
        channel_summary: Vec::new(),
        queued_system_events: Vec::new(),
        active_runs: state.active_runs(),
    }
}

/// The model a session runs: its `sessions.patch` model, else the agent's default.
fn model_defaults(state: &AppState, session_id: &str) -> ModelDefaults {
    let chosen = Some(session_id)
        .filter(|s| !s.is_empty())
        .and_then(|s| state.session_settings.get(s).model)
        .or_else(|| state.default_model());
    let (model_provider, model) = match chosen.as_deref().map(split_model) {
        Some((p, m)) => (p, Some(m)),
        None => (None, None),
    };
    ModelDefaults {
        model_provider,
        model,
        context_tokens: None,
    }
}

fn agents_list(state: &AppState) -> AgentsListPayload {
    let selection = Selection::from_config(&state.config);
    let home = state.env.get(vars::HOME).map(std::path::PathBuf::from);
    let workspace = openclaw_agent::workspace_dir(&state.config, &state.paths, home.as_deref());
    AgentsListPayload {
        default_id: AGENT_ID.into(),
        main_key: protocol::MAIN_KEY.into(),
        scope: "per-sender".into(),
        ownership: "sole".into(),
        selection_required: false,
        agents: vec![AgentRow {
            id: AGENT_ID.into(),
            kind: "agent".into(),
            workspace: workspace.display().to_string(),
            model: AgentModel {
                primary: selection.primary.map(|r| r.to_string()),
                fallbacks: selection.fallbacks.iter().map(|r| r.to_string()).collect(),
            },
            thinking_default: state
                .config
                .agents
                .defaults
                .thinking_default
                .map_or(ThinkingLevel::Off, ThinkingLevel::from)
                .as_str()
                .into(),
            thinking_options: ["off", "low", "medium", "high"].map(String::from).to_vec(),
        }],
    }
}

async fn models_list(state: &AppState) -> ModelsListPayload {
    let catalog = state.catalog().await;
    ModelsListPayload {
        models: catalog
            .models
            .iter()
            .map(|m| ModelRow {
                id: m.id.clone(),
                name: m.name.clone(),
                provider: m.provider.clone(),
                context_window: m.context_window,
                reasoning: m.reasoning,
                input: m
                    .input
                    .iter()
                    .map(|i| {
                        serde_json::to_value(i)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default()
                    })
                    .collect(),
                available: true,
            })
            .collect(),
    }
}

fn session_row(state: &AppState, info: SessionInfo) -> SessionRow {
    let setting = state.session_settings.get(&info.session_id);
    let (model_provider, model) = match setting.model.as_deref().map(split_model) {
        Some((p, m)) => (p, Some(m)),
        None => (None, None),
    };
    let active = state.session_runs(&info.session_id);
    SessionRow {
        key: SessionKey::for_session(&info.session_id).to_string(),
        kind: "direct".into(),
        agent_id: AGENT_ID.into(),
        updated_at: info.updated_at,
        display_name: info.title,
        message_count: info.messages,
        model_provider,
        model,
        thinking_level: setting.thinking_level,
        has_active_run: !active.is_empty(),
        active_run_ids: active,
        session_id: info.session_id,
    }
}

fn sessions_list(state: &AppState, limit: Option<usize>) -> SessionsListPayload {
    let dir = state.sessions_dir();
    let mut found = list_sessions(&dir);
    if let Some(limit) = limit {
        found.truncate(limit);
    }
    let sessions: Vec<SessionRow> = found.into_iter().map(|i| session_row(state, i)).collect();
    SessionsListPayload {
        ts: now_ms(),
        path: dir.display().to_string(),
        count: sessions.len(),
        defaults: model_defaults(state, ""),
        sessions,
    }
}

fn entry(session_id: &str, setting: &Setting) -> SessionEntry {
    let (model_provider, model) = match setting.model.as_deref().map(split_model) {
        Some((p, m)) => (p, Some(m)),
        None => (None, None),
    };
    SessionEntry {
        session_id: session_id.to_string(),
        updated_at: now_ms(),
        model_provider,
        model,
        thinking_level: setting.thinking_level.clone(),
    }
}

/// `sessions.reset` (the transcript is moved aside; the settings stay) and `sessions.delete`
/// (both go).
fn retire(state: &AppState, key: &SessionKey, delete: bool) -> Result<Value, ErrorShape> {
    let session_id = key.session_id();
    // Holding the session's lock keeps a run from starting while the transcript moves.
    let lock = state.session_lock(session_id);
    let Ok(_held) = lock.try_lock() else {
        return Err(ErrorShape::unavailable(format!(
            "session `{key}` is busy (a run, or another reset or delete, is going on): stop a run with chat.abort first"
        )));
    };
    let existed = retire_session(
        &state.sessions_dir(),
        session_id,
        if delete { "deleted" } else { "reset" },
    )
    .map_err(|e| shape(&e))?;
    if delete {
        state.session_settings.remove(session_id).map_err(|e| {
            ErrorShape::unavailable(format!("cannot save the session settings: {e}"))
        })?;
    }
    let setting = state.session_settings.get(session_id);
    publish_session_change(state, key, if delete { "delete" } else { "reset" }, None);
    Ok(protocol::to_value(SessionChanged {
        ok: true,
        key: key.to_string(),
        entry: entry(session_id, &setting),
        deleted: delete.then_some(existed),
    }))
}

/// `sessions.create`: names a session (a new id unless the client chose one) and sets its
/// model and thinking level the way `sessions.patch` does. An existing session with that key
/// is adopted as it is, as the original does.
async fn create(state: &Arc<AppState>, p: SessionsCreateParams) -> Result<Value, ErrorShape> {
    if p.message.as_deref().is_some_and(|m| !m.trim().is_empty()) {
        return Err(ErrorShape::invalid(
            "sessions.create with a first `message` is not supported here: create the session, then send the message with chat.send",
        ));
    }
    let raw = p
        .key
        .filter(|k| !k.trim().is_empty())
        .unwrap_or_else(openclaw_agent::new_session_id);
    let key = session_key(&raw)?;
    if p.model.is_some() || p.thinking_level.is_some() {
        let settings = SessionsPatchParams {
            key: key.to_string(),
            agent_id: None,
            model: p.model.map(Some),
            thinking_level: p.thinking_level.map(Some),
        };
        patch(state, &key, settings).await?;
    }
    let session_id = key.session_id();
    let setting = state.session_settings.get(session_id);
    publish_session_change(state, &key, "create", None);
    Ok(protocol::to_value(SessionCreated {
        ok: true,
        key: key.to_string(),
        session_id: session_id.to_string(),
        entry: entry(session_id, &setting),
        run_started: false,
    }))
}

/// `sessions.patch`: the model is checked against the catalog, the thinking level against
/// the levels there are.
async fn patch(
    state: &Arc<AppState>,
    key: &SessionKey,
    p: SessionsPatchParams,
) -> Result<Value, ErrorShape> {
    let mut setting = state.session_settings.get(key.session_id());
    if let Some(level) = p.thinking_level {
        parse_thinking(level.as_deref())?;
        setting.thinking_level = level.filter(|l| !l.trim().is_empty());
    }
    if let Some(model) = p.model {
        let model = model.filter(|m| !m.trim().is_empty());
        if let Some(m) = &model {
            if let ModelChoice::Ref(r) = ModelChoice::parse(Some(m)).map_err(|e| shape(&e))? {
                let catalog = state.catalog().await;
                crate::run::check_model(&catalog, state, &r).map_err(|e| shape(&e))?;
            }
        }
        setting.model = model;
    }
    setting.updated_at = now_ms();
    let state2 = state.clone();
    let session_id = key.session_id().to_string();
    let saved = setting.clone();
    tokio::task::spawn_blocking(move || state2.session_settings.set(&session_id, saved))
        .await
        .map_err(|e| ErrorShape::unavailable(e.to_string()))?
        .map_err(|e| ErrorShape::unavailable(format!("cannot save the session settings: {e}")))?;
    publish_session_change(state, key, "patch", None);
    Ok(protocol::to_value(SessionChanged {
        ok: true,
        key: key.to_string(),
        entry: entry(key.session_id(), &setting),
        deleted: None,
    }))
}

/// `sessions.changed` to every connection, the requester's too.
fn publish_session_change(
    state: &AppState,
    key: &SessionKey,
    reason: &str,
    run: Option<(&str, &str)>,
) {
    let e = Event::SessionsChanged(SessionsChanged {
        session_key: key.to_string(),
        agent_id: AGENT_ID.into(),
        reason: reason.into(),
        phase: run.map(|(_, phase)| phase.to_string()),
        run_id: run.map(|(id, _)| id.to_string()),
        ts: now_ms(),
    });
    state.publish(0, e.name(), e.payload_json(), e.scope());
}

// ---- a run's events ----------------------------------------------------------------------

/// Turns one run's [`ChatEvent`]s into `agent` and `chat` events (and approvals), for the
/// connection that started it and, through the broadcast channel, for the others.
struct RunStream {
    state: Arc<AppState>,
    out: Out,
    connection: u64,
    own_scopes: Vec<Scope>,
    run_id: String,
    key: String,
    session_id: String,
    backlog: Arc<Backlog>,
    seq: u64,
    started_at: u64,
    /// The answer and the reasoning so far.
    text: String,
    thinking: String,
    /// Text not yet sent, and its size for the backlog.
    pending_text: String,
    pending_thinking: String,
    pending_bytes: usize,
    last_flush: Instant,
    flush_scheduled: bool,
    provider: Option<String>,
    model: Option<String>,
    /// `agent`: the request id to answer when the run ends.
    answer_to: Option<String>,
}

fn lock(stream: &Mutex<RunStream>) -> std::sync::MutexGuard<'_, RunStream> {
    stream.lock().unwrap_or_else(|e| e.into_inner())
}

impl RunStream {
    fn emit(&mut self, event: Event, paced_bytes: usize) {
        let name = event.name();
        let scope = event.scope();
        let payload = event.payload_json();
        let delivered = scope.satisfied_by(&self.own_scopes)
            && self
                .out
                .send(Outgoing::Event {
                    event: name,
                    payload: payload.clone(),
                    paced: (paced_bytes > 0).then(|| (self.backlog.clone(), paced_bytes)),
                    forwarded: false,
                })
                .is_ok();
        // Not for this connection, or it is gone: nothing to wait for.
        if !delivered && paced_bytes > 0 {
            self.backlog.sent(paced_bytes);
        }
        self.state.publish(self.connection, name, payload, scope);
    }

    fn agent(&mut self, stream: AgentStream) {
        self.seq += 1;
        let e = Event::Agent(AgentEvent {
            run_id: self.run_id.clone(),
            session_key: self.key.clone(),
            session_id: self.session_id.clone(),
            agent_id: AGENT_ID.into(),
            seq: self.seq,
            ts: now_ms(),
            stream,
        });
        self.emit(e, 0);
    }

    fn chat(&mut self, state: ChatState, paced_bytes: usize) {
        self.seq += 1;
        let e = Event::Chat(ChatEventPayload {
            run_id: self.run_id.clone(),
            session_key: self.key.clone(),
            agent_id: AGENT_ID.into(),
            seq: self.seq,
            state,
        });
        self.emit(e, paced_bytes);
    }

    /// The answer so far as an assistant message.
    fn message(&self, stop_reason: Option<&str>) -> TranscriptMessage {
        self.message_with(stop_reason, None)
    }

    fn message_with(
        &self,
        stop_reason: Option<&str>,
        usage: Option<MessageUsage>,
    ) -> TranscriptMessage {
        let mut content = Vec::new();
        if !self.thinking.is_empty() {
            content.push(ContentPart::Thinking {
                thinking: self.thinking.clone(),
            });
        }
        if !self.text.is_empty() {
            content.push(ContentPart::Text {
                text: self.text.clone(),
            });
        }
        TranscriptMessage::Assistant {
            content,
            timestamp: now_ms(),
            provider: self.provider.clone(),
            model: self.model.clone(),
            stop_reason: stop_reason.map(String::from),
            usage,
        }
    }

    fn partial(&self) -> Option<TranscriptMessage> {
        (!self.text.is_empty() || !self.thinking.is_empty()).then(|| self.message(None))
    }

    /// Sends the text that waits.
    fn flush(&mut self) {
        self.last_flush = Instant::now();
        if self.pending_text.is_empty() && self.pending_thinking.is_empty() {
            return;
        }
        if !self.pending_thinking.is_empty() {
            let delta = std::mem::take(&mut self.pending_thinking);
            self.agent(AgentStream::Thinking {
                text: self.thinking.clone(),
                delta,
            });
        }
        let delta_text = std::mem::take(&mut self.pending_text);
        if !delta_text.is_empty() {
            self.agent(AgentStream::Assistant {
                text: self.text.clone(),
                delta: delta_text.clone(),
            });
        }
        let bytes = std::mem::take(&mut self.pending_bytes);
        let message = self.message(None);
        self.chat(
            ChatState::Delta {
                delta_text,
                message,
            },
            bytes,
        );
    }

    /// The run ended: remember how, tell everyone, answer an `agent` request.
    fn finish(&mut self, outcome: AgentOutcome, error: Option<ErrorShape>, phase: &str) {
        let ended_at = now_ms();
        self.state.ledger.record(
            &self.run_id,
            Ended {
                started_at: self.started_at,
                ended_at,
                outcome: outcome.clone(),
            },
        );
        if let Ok(key) = SessionKey::parse(&self.key, valid_session_id) {
            publish_session_change(&self.state, &key, "run", Some((&self.run_id, phase)));
        }
        if let Some(id) = self.answer_to.take() {
            let frame = match error {
                None => ServerFrame::ok(&id, outcome),
                Some(e) => ServerFrame::Res {
                    id: Some(id),
                    ok: false,
                    payload: Some(protocol::to_value(outcome)),
                    error: Some(e),
                },
            };
            let _ = self.out.send(Outgoing::Frame(frame));
        }
    }
}

/// Sends the waiting text once the interval has passed since the last send, or at once when
/// much of it waits.
fn schedule_flush(shared: &Arc<Mutex<RunStream>>, s: &mut RunStream) {
    let since = s.last_flush.elapsed();
    let interval = coalesce_interval(s.text.len() + s.thinking.len());
    if since >= interval || s.pending_bytes >= FLUSH_BYTES {
        s.flush();
        return;
    }
    if !s.flush_scheduled {
        s.flush_scheduled = true;
        let shared = shared.clone();
        tokio::spawn(async move {
            tokio::time::sleep(interval - since).await;
            let mut s = lock(&shared);
            s.flush_scheduled = false;
            s.flush();
        });
    }
}

fn on_run_event(shared: &Arc<Mutex<RunStream>>, event: ChatEvent) {
    let mut guard = lock(shared);
    let s = &mut *guard;
    match event {
        ChatEvent::Model { model } => {
            s.flush();
            let (provider, model) = split_model(&model);
            s.provider = provider.clone();
            s.model = Some(model.clone());
            s.agent(AgentStream::Lifecycle(Lifecycle::Model {
                provider: provider.unwrap_or_default(),
                model,
            }));
        }
        ChatEvent::Delta(text) => {
            s.backlog.queued(text.len());
            s.pending_bytes += text.len();
            s.text.push_str(&text);
            s.pending_text.push_str(&text);
            schedule_flush(shared, s);
        }
        ChatEvent::Thinking(text) => {
            s.backlog.queued(text.len());
            s.pending_bytes += text.len();
            s.thinking.push_str(&text);
            s.pending_thinking.push_str(&text);
            schedule_flush(shared, s);
        }
        ChatEvent::ToolCall {
            id,
            name,
            arguments,
        } => {
            s.flush();
            s.agent(AgentStream::Tool(ToolEvent::Start {
                name,
                tool_call_id: id,
                args: arguments,
            }));
        }
        ChatEvent::ToolResult {
            id,
            name,
            arguments,
            result,
            is_error,
        } => {
            s.flush();
            s.agent(AgentStream::Tool(ToolEvent::Result {
                name,
                tool_call_id: id,
                args: arguments,
                is_error,
                result: ToolResultContent {
                    content: vec![ContentPart::Text { text: result }],
                },
            }));
        }
        ChatEvent::Approval {
            approval_id,
            command,
            sandboxed,
        } => {
            s.flush();
            let now = now_ms();
            let home = s.state.env.get(vars::HOME).map(std::path::PathBuf::from);
            let cwd =
                openclaw_agent::workspace_dir(&s.state.config, &s.state.paths, home.as_deref());
            let requested = ExecApprovalRequested {
                id: approval_id.clone(),
                request: ExecApprovalRequest {
                    command,
                    host: "gateway".into(),
                    cwd: Some(cwd.display().to_string()),
                    sandboxed,
                    agent_id: AGENT_ID.into(),
                    session_key: s.key.clone(),
                    run_id: s.run_id.clone(),
                    allowed_decisions: vec![ApprovalDecision::AllowOnce, ApprovalDecision::Deny],
                },
                created_at_ms: now,
                expires_at_ms: now + s.state.limits.approval_timeout.as_millis() as u64,
            };
            s.state.approvals.announced(&approval_id, requested.clone());
            s.emit(Event::ExecApprovalRequested(requested), 0);
        }
        ChatEvent::ApprovalExpired { approval_id } => {
            if let Some(request) = s.state.approvals.forget(&approval_id) {
                let e = Event::ExecApprovalResolved(ExecApprovalResolved {
                    id: approval_id,
                    decision: ApprovalDecision::Deny,
                    resolved_by: None,
                    ts: now_ms(),
                    request,
                });
                s.emit(e, 0);
            }
        }
        ChatEvent::Fallback {
            from,
            to,
            kind,
            message,
        } => {
            s.flush();
            s.agent(AgentStream::Lifecycle(Lifecycle::FallbackStep {
                fallback_step_from_model: from,
                fallback_step_to_model: to,
                fallback_step_from_failure_reason: kind,
                fallback_step_from_failure_detail: message,
            }));
        }
        ChatEvent::Final {
            answer,
            thinking,
            model,
            prompt_tokens,
            completion_tokens,
            finish_reason: _,
        } => {
            s.flush();
            if s.text.is_empty() {
                s.text = answer.clone();
            }
            if s.thinking.is_empty() {
                s.thinking = thinking;
            }
            if s.model.is_none() && !model.is_empty() {
                let (provider, m) = split_model(&model);
                s.provider = provider;
                s.model = Some(m);
            }
            let ended_at = now_ms();
            s.agent(AgentStream::Lifecycle(Lifecycle::End {
                started_at: s.started_at,
                ended_at,
                aborted: false,
                stop_reason: "stop".into(),
            }));
            let message = s.message_with(
                Some("stop"),
                Some(MessageUsage {
                    input: prompt_tokens,
                    output: completion_tokens,
                    total_tokens: prompt_tokens + completion_tokens,
                }),
            );
            s.chat(
                ChatState::Final {
                    stop_reason: "stop".into(),
                    message,
                },
                0,
            );
            let outcome = AgentOutcome {
                run_id: s.run_id.clone(),
                status: "ok".into(),
                summary: "completed".into(),
                stop_reason: None,
                result: Some(AgentResult {
                    payloads: vec![ReplyPayload {
                        text: answer,
                        media_url: None,
                    }],
                    meta: AgentResultMeta {
                        duration_ms: ended_at.saturating_sub(s.started_at),
                        aborted: false,
                        agent_meta: AgentMeta {
                            session_id: s.session_id.clone(),
                            session_key: s.key.clone(),
                            provider: s.provider.clone(),
                            model: s.model.clone(),
                            usage: TokenUsage {
                                input: prompt_tokens,
                                output: completion_tokens,
                                total: prompt_tokens + completion_tokens,
                            },
                        },
                    },
                }),
            };
            s.finish(outcome, None, "end");
        }
        ChatEvent::Error { message, kind } => {
            s.flush();
            s.agent(AgentStream::Lifecycle(Lifecycle::Error {
                error: message.clone(),
                error_kind: kind.clone(),
                started_at: s.started_at,
                ended_at: now_ms(),
            }));
            let partial = s.partial();
            s.chat(
                ChatState::Error {
                    error_message: message.clone(),
                    error_kind: kind,
                    message: partial,
                },
                0,
            );
            let outcome = AgentOutcome {
                run_id: s.run_id.clone(),
                status: "error".into(),
                summary: message.clone(),
                stop_reason: None,
                result: None,
            };
            s.finish(outcome, Some(ErrorShape::unavailable(message)), "error");
        }
        ChatEvent::Aborted => {
            s.flush();
            s.agent(AgentStream::Lifecycle(Lifecycle::End {
                started_at: s.started_at,
                ended_at: now_ms(),
                aborted: true,
                stop_reason: "rpc".into(),
            }));
            let partial = s.partial();
            s.chat(
                ChatState::Aborted {
                    stop_reason: "rpc".into(),
                    message: partial,
                },
                0,
            );
            let outcome = AgentOutcome {
                run_id: s.run_id.clone(),
                status: "timeout".into(),
                summary: "aborted".into(),
                stop_reason: Some("rpc".into()),
                result: None,
            };
            s.finish(outcome, None, "end");
        }
    }
}

// ---- without a socket --------------------------------------------------------------------

/// The frame handler of one socket without the socket, for the `ws_frames` fuzz target and
/// tests: the same state machine the connection task drives (challenge, `connect` first,
/// request dispatch, responses and events queued in order). Needs a Tokio runtime: some
/// methods answer from tasks of their own.
#[doc(hidden)]
pub struct FrameHandler {
    conn: Conn,
    rx: mpsc::UnboundedReceiver<Outgoing>,
}

/// What the handler queued for the client.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// A response frame (or the challenge).
    Frame(Value),
    /// An event (unnumbered here; the writer numbers them).
    Event { event: &'static str, payload: Value },
    /// Close the socket with this code.
    Close(u16, String),
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
        self.conn.granted.is_some()
    }

    /// Everything queued so far.
    pub fn sent(&mut self) -> Vec<Sent> {
        let mut sent = Vec::new();
        while let Ok(out) = self.rx.try_recv() {
            sent.push(match out {
                Outgoing::Frame(f) => Sent::Frame(protocol::to_value(f)),
                Outgoing::Event {
                    event,
                    payload,
                    paced,
                    ..
                } => {
                    // Nobody reads here but the caller: the text counts as sent.
                    if let Some((backlog, bytes)) = paced {
                        backlog.sent(bytes);
                    }
                    Sent::Event {
                        event,
                        payload: serde_json::from_str(&payload).unwrap_or(Value::Null),
                    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ErrorCode;

    #[test]
    fn agents_list_reports_the_configured_thinking_default_as_one_of_the_options() {
        let dir = tempfile::tempdir().unwrap();
        let state_with = |level: Option<openclaw_config::ThinkingLevel>| {
            let mut config = openclaw_config::OpenClawConfig::default();
            config.agents.defaults.thinking_default = level;
            crate::AppState::new(crate::GatewayOptions {
                config,
                paths: openclaw_config::StatePaths::in_dir(dir.path()),
                env: openclaw_config::Env::default(),
                auth: crate::AuthMode::None,
                bind: "127.0.0.1:1".parse().unwrap(),
                allowed_origins: Vec::new(),
                limits: crate::Limits::default(),
            })
        };
        let shown = |level| {
            let list = agents_list(&state_with(level));
            let agent = &list.agents[0];
            assert!(agent.thinking_options.contains(&agent.thinking_default));
            agent.thinking_default.clone()
        };
        assert_eq!(shown(None), "off");
        assert_eq!(
            shown(Some(openclaw_config::ThinkingLevel::Medium)),
            "medium"
        );
        assert_eq!(shown(Some(openclaw_config::ThinkingLevel::XHigh)), "high");
    }

    #[test]
    fn request_frames() {
        let r = parse_request(r#"{"type":"req","id":"1","method":"health"}"#).unwrap();
        assert_eq!(r.method, "health");
        assert_eq!(r.params, json!({}));
        for (bad, id) in [
            ("nope", None),
            ("[]", None),
            (r#"{"type":"req","method":"x"}"#, None),
            (r#"{"type":"req","id":5,"method":"x"}"#, None),
            (r#"{"type":"res","id":"2","method":"x"}"#, Some("2")),
            (r#"{"type":"req","id":"3"}"#, Some("3")),
            (
                r#"{"type":"req","id":"4","method":"x","params":[]}"#,
                Some("4"),
            ),
        ] {
            assert_eq!(
                parse_request(bad).err().map(|e| e.0),
                Some(id.map(String::from)),
                "{bad}"
            );
        }
    }

    #[test]
    fn failures_map_to_protocol_codes() {
        assert_eq!(
            shape(&GatewayError::SessionBusy("s".into())).code,
            ErrorCode::Unavailable
        );
        assert_eq!(
            shape(&GatewayError::ModelNotFound("m".into())).code,
            ErrorCode::InvalidRequest
        );
        let limited = shape(&GatewayError::RateLimited {
            retry_after: Duration::from_secs(2),
        });
        assert_eq!(limited.retry_after_ms, Some(2000));
        assert_eq!(close_reason(&"é".repeat(100)).len(), 123);
    }

    #[test]
    fn event_frames_wrap_the_payload_text() {
        let frame: Value = serde_json::from_str(&event_frame("chat", r#"{"a":1}"#, 7)).unwrap();
        assert_eq!(
            frame,
            json!({"type": "event", "event": "chat", "payload": {"a": 1}, "seq": 7})
        );
    }

    #[tokio::test]
    async fn a_slow_socket_drops_other_connections_events_past_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::new(crate::GatewayOptions {
            config: Default::default(),
            paths: openclaw_config::StatePaths::in_dir(dir.path()),
            env: Default::default(),
            auth: AuthMode::None,
            bind: "127.0.0.1:0".parse().unwrap(),
            allowed_origins: Vec::new(),
            limits: Default::default(),
        });
        let (mut conn, mut rx) = Conn::new(state, None);
        let _challenge = rx.try_recv().unwrap();
        conn.granted = Some(Granted {
            scopes: vec![Scope::Read],
            client: "t".into(),
            answers_approvals: false,
        });
        let broadcast = |from: u64, bytes: usize| Broadcast {
            from,
            event: "chat",
            payload: Arc::from(format!("\"{}\"", "x".repeat(bytes))),
            scope: Scope::Read,
        };
        conn.forward(&broadcast(conn.number, 10));
        assert!(rx.try_recv().is_err(), "its own events are not forwarded");
        conn.forward(&broadcast(0, FORWARD_BUDGET / 2));
        conn.forward(&broadcast(0, FORWARD_BUDGET / 2));
        assert!(rx.try_recv().is_ok());
        assert!(rx.try_recv().is_err(), "over the budget: dropped");
        use std::sync::atomic::Ordering;
        assert_eq!(conn.forwarded.dropped.load(Ordering::Relaxed), 1);
        conn.granted = None;
    }

    #[test]
    fn the_interval_grows_with_the_answer() {
        assert_eq!(coalesce_interval(0), COALESCE);
        assert_eq!(coalesce_interval(64 * 1024), COALESCE * 2);
        assert_eq!(coalesce_interval(usize::MAX), MAX_COALESCE);
    }

    #[test]
    fn thinking_levels() {
        assert_eq!(parse_thinking(None).unwrap(), None);
        assert_eq!(
            parse_thinking(Some("high")).unwrap(),
            Some(ThinkingLevel::High)
        );
        assert_eq!(
            parse_thinking(Some("max")).unwrap(),
            Some(ThinkingLevel::High)
        );
        assert_eq!(
            parse_thinking(Some("minimal")).unwrap(),
            Some(ThinkingLevel::Low)
        );
        assert!(parse_thinking(Some("extreme")).is_err());
    }
}
