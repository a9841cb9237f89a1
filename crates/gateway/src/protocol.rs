//! The WebSocket protocol on `/`, written down once: the part of OpenClaw's gateway protocol
//! (version 4) this gateway speaks, as serde types (docs/gateway-protocol.md).
//!
//! OpenClaw's own clients — its CLI, its terminal UI, its apps — talk to a gateway in this
//! protocol, and so does our web page (`assets/app.js`). Keeping every frame, parameter set,
//! payload and event here, and nowhere else, is what keeps the three in step: the connection
//! code in `ws.rs` only moves these types between the socket and the agent, and a test checks
//! that the page calls no method and handles no event missing from [`METHODS`] and [`EVENTS`].
//!
//! Reading is lenient and writing is strict: a client may send fields we do not know (newer
//! clients add them all the time) and they are ignored, while what we send has the shape the
//! original clients read. Field names are the original's camelCase.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The protocol version spoken (`hello-ok.protocol`).
pub const PROTOCOL_VERSION: u32 = 4;

/// The agent every session key names (`agent:main:<key>`): this gateway runs one agent.
pub const AGENT_ID: &str = openclaw_config::DEFAULT_AGENT_ID;

/// The key of the agent's main session, without the `agent:main:` prefix.
pub const MAIN_KEY: &str = "main";

// ---- frames ------------------------------------------------------------------------------

/// A client's request: `{type: "req", id, method, params}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct RequestFrame {
    pub id: String,
    pub method: String,
    #[serde(default)]
    pub params: Value,
}

/// What the server sends: responses and events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerFrame {
    /// `{type: "res", id, ok, payload | error}`. A request that could not be read has no id.
    Res {
        id: Option<String>,
        ok: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        payload: Option<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ErrorShape>,
    },
    /// `{type: "event", event, payload, seq?}`: `seq` counts the events of one connection,
    /// from 1; the `connect.challenge` that opens a connection has none.
    Event {
        event: String,
        payload: Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
}

impl ServerFrame {
    /// A successful response.
    pub fn ok(id: &str, payload: impl Serialize) -> Self {
        ServerFrame::Res {
            id: Some(id.to_string()),
            ok: true,
            payload: Some(to_value(payload)),
            error: None,
        }
    }

    /// A failed response; `id` is `None` for a request that could not be read.
    pub fn err(id: Option<&str>, error: ErrorShape) -> Self {
        ServerFrame::Res {
            id: id.map(str::to_string),
            ok: false,
            payload: None,
            error: Some(error),
        }
    }
}

/// Serializes a payload; our payload types always serialize.
pub fn to_value(payload: impl Serialize) -> Value {
    serde_json::to_value(payload).unwrap_or(Value::Null)
}

/// Why a request failed: `{code, message, details?, retryable?, retryAfterMs?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorShape {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ErrorShape {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            retryable: None,
            retry_after_ms: None,
        }
    }

    /// `INVALID_REQUEST`: the request is wrong, or what it asks for cannot be done.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// `UNAVAILABLE`, worth retrying: busy, shutting down, or failed inside.
    pub fn unavailable(message: impl Into<String>) -> Self {
        let mut e = Self::new(ErrorCode::Unavailable, message);
        e.retryable = Some(true);
        e
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The error for a method this gateway does not have: the original's words.
    pub fn unknown_method(method: &str) -> Self {
        Self::invalid(format!("unknown method: {method}"))
    }

    /// A method needs a scope the connection was not granted.
    pub fn missing_scope(scope: Scope) -> Self {
        Self::new(
            ErrorCode::Forbidden,
            format!("missing scope: {}", scope.as_str()),
        )
        .with_details(serde_json::json!({
            "code": "MISSING_SCOPE",
            "missingScope": scope.as_str(),
            "requiredScopes": [scope.as_str()],
        }))
    }

    /// Parameters that do not fit the method.
    pub fn invalid_params(method: &str, why: impl std::fmt::Display) -> Self {
        Self::invalid(format!("invalid {method} params: {why}"))
    }
}

/// The error codes of protocol v4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    InvalidRequest,
    Forbidden,
    NotPaired,
    ApprovalNotFound,
    Unavailable,
}

// ---- handshake ---------------------------------------------------------------------------

/// The first event of every connection: `connect.challenge`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectChallenge {
    /// Signed by clients that prove a device identity (which we accept without checking).
    pub nonce: String,
    /// Milliseconds since the epoch.
    pub ts: u64,
}

/// `connect` parameters.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectParams {
    pub min_protocol: u32,
    pub max_protocol: u32,
    pub client: ClientInfo,
    /// `operator` (the default) is the only role served.
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub caps: Vec<String>,
    #[serde(default)]
    pub auth: Option<ConnectAuth>,
    /// A signed device identity. Accepted and ignored: no pairing, no device tokens.
    #[serde(default)]
    pub device: Option<DeviceIdentity>,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
}

/// Who is connecting.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientInfo {
    /// `cli`, `openclaw-tui`, `openclaw-web`, …
    pub id: String,
    pub version: String,
    pub platform: String,
    /// `cli`, `ui`, `backend`, …
    pub mode: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub device_family: Option<String>,
    #[serde(default)]
    pub instance_id: Option<String>,
}

/// The shared secret a client presents.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectAuth {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub device_token: Option<String>,
}

/// A device's key and its signature over the challenge. We do not verify it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceIdentity {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub public_key: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
    #[serde(default)]
    pub signed_at: Option<u64>,
    #[serde(default)]
    pub nonce: Option<String>,
}

/// The successful answer to `connect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloOk {
    /// Always `hello-ok`.
    #[serde(rename = "type")]
    pub kind: String,
    pub protocol: u32,
    pub server: ServerInfo,
    pub features: Features,
    pub snapshot: Snapshot,
    pub auth: HelloAuth,
    pub policy: Policy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    /// Our version (the original puts its own here).
    pub version: String,
    /// This connection's id.
    pub conn_id: String,
    /// `openclaw-rs`: which implementation answers.
    pub name: String,
}

/// What the gateway offers: [`METHODS`] and [`EVENTS`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Features {
    pub methods: Vec<String>,
    pub events: Vec<String>,
}

/// The state a client starts from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Connected clients and nodes: none are tracked here.
    pub presence: Vec<Value>,
    pub health: HealthPayload,
    pub state_version: StateVersion,
    pub uptime_ms: u64,
    pub session_defaults: SessionDefaults,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StateVersion {
    pub presence: u64,
    pub health: u64,
}

/// How sessions are keyed: one agent, `main`, whose main session is `agent:main:main`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionDefaults {
    pub default_agent_id: String,
    pub main_key: String,
    pub main_session_key: String,
    pub scope: String,
    pub model_configured: bool,
    pub ownership: String,
    pub selection_required: bool,
}

impl SessionDefaults {
    pub fn new(model_configured: bool) -> Self {
        Self {
            default_agent_id: AGENT_ID.into(),
            main_key: MAIN_KEY.into(),
            main_session_key: SessionKey::main().to_string(),
            scope: "per-sender".into(),
            model_configured,
            ownership: "sole".into(),
            selection_required: false,
        }
    }
}

/// The role and scopes granted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelloAuth {
    /// `token`, or `none` when the gateway needs no credentials.
    pub method: String,
    pub role: String,
    pub scopes: Vec<String>,
}

/// Limits the client must keep to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// The largest frame the gateway reads.
    pub max_payload: u64,
    /// How far the gateway lets a connection fall behind before it slows the model down.
    pub max_buffered_bytes: u64,
    /// A `tick` event comes at least this often; a client may treat twice as long without any
    /// frame as a dead connection.
    pub tick_interval_ms: u64,
}

// ---- scopes ------------------------------------------------------------------------------

/// Operator scopes, as the original defines them. Token authentication grants whatever a
/// client asks for, as in the original; methods then check them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Read,
    Write,
    Admin,
    Approvals,
    Questions,
    Pairing,
    Talk,
    TalkSecrets,
}

impl Scope {
    pub const ALL: [Scope; 8] = [
        Scope::Read,
        Scope::Write,
        Scope::Admin,
        Scope::Approvals,
        Scope::Questions,
        Scope::Pairing,
        Scope::Talk,
        Scope::TalkSecrets,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "operator.read",
            Scope::Write => "operator.write",
            Scope::Admin => "operator.admin",
            Scope::Approvals => "operator.approvals",
            Scope::Questions => "operator.questions",
            Scope::Pairing => "operator.pairing",
            Scope::Talk => "operator.talk",
            Scope::TalkSecrets => "operator.talk.secrets",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    /// Whether `granted` covers this scope: `admin` covers all, `write` covers `read` and
    /// `talk` (the original's implications).
    pub fn satisfied_by(self, granted: &[Scope]) -> bool {
        granted.contains(&self)
            || granted.contains(&Scope::Admin)
            || (matches!(self, Scope::Read | Scope::Talk) && granted.contains(&Scope::Write))
    }
}

// ---- methods -----------------------------------------------------------------------------

/// Every method this gateway answers. Any other name gets the original's `unknown method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Connect,
    Health,
    Status,
    Agent,
    AgentWait,
    AgentsList,
    ChatSend,
    ChatHistory,
    ChatAbort,
    SessionsList,
    SessionsSubscribe,
    SessionsDescribe,
    SessionsReset,
    SessionsDelete,
    SessionsPatch,
    SessionsCreate,
    ModelsList,
    ExecApprovalList,
    ExecApprovalResolve,
    /// Questions an agent asks a person: there are none here (always empty).
    QuestionList,
    /// Plugin approvals: there are no plugins here (always empty).
    PluginApprovalList,
    /// Gateway slash commands: there are none here (always empty).
    CommandsList,
}

/// The methods `hello-ok` advertises (all but `connect`).
pub const METHODS: [Method; 21] = [
    Method::Health,
    Method::Status,
    Method::Agent,
    Method::AgentWait,
    Method::AgentsList,
    Method::ChatSend,
    Method::ChatHistory,
    Method::ChatAbort,
    Method::SessionsList,
    Method::SessionsSubscribe,
    Method::SessionsDescribe,
    Method::SessionsReset,
    Method::SessionsDelete,
    Method::SessionsPatch,
    Method::SessionsCreate,
    Method::ModelsList,
    Method::ExecApprovalList,
    Method::ExecApprovalResolve,
    Method::QuestionList,
    Method::PluginApprovalList,
    Method::CommandsList,
];

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Connect => "connect",
            Method::Health => "health",
            Method::Status => "status",
            Method::Agent => "agent",
            Method::AgentWait => "agent.wait",
            Method::AgentsList => "agents.list",
            Method::ChatSend => "chat.send",
            Method::ChatHistory => "chat.history",
            Method::ChatAbort => "chat.abort",
            Method::SessionsList => "sessions.list",
            Method::SessionsSubscribe => "sessions.subscribe",
            Method::SessionsDescribe => "sessions.describe",
            Method::SessionsReset => "sessions.reset",
            Method::SessionsDelete => "sessions.delete",
            Method::SessionsPatch => "sessions.patch",
            Method::SessionsCreate => "sessions.create",
            Method::ModelsList => "models.list",
            Method::ExecApprovalList => "exec.approval.list",
            Method::ExecApprovalResolve => "exec.approval.resolve",
            Method::QuestionList => "question.list",
            Method::PluginApprovalList => "plugin.approval.list",
            Method::CommandsList => "commands.list",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        if name == "connect" {
            return Some(Method::Connect);
        }
        METHODS.into_iter().find(|m| m.name() == name)
    }

    /// The scope a call needs (the original's table). `connect` needs none.
    pub fn scope(self) -> Option<Scope> {
        Some(match self {
            Method::Connect => return None,
            Method::Health
            | Method::Status
            | Method::AgentsList
            | Method::ChatHistory
            | Method::SessionsList
            | Method::SessionsSubscribe
            | Method::SessionsDescribe
            | Method::ModelsList
            | Method::CommandsList => Scope::Read,
            Method::Agent
            | Method::AgentWait
            | Method::ChatSend
            | Method::ChatAbort
            | Method::SessionsPatch
            | Method::SessionsCreate => Scope::Write,
            Method::SessionsReset | Method::SessionsDelete => Scope::Admin,
            Method::ExecApprovalList | Method::ExecApprovalResolve | Method::PluginApprovalList => {
                Scope::Approvals
            }
            Method::QuestionList => Scope::Questions,
        })
    }
}

/// The scope the original asks of a method it does not know: unknown methods are refused for
/// lack of `operator.admin` before they are refused as unknown.
pub const UNKNOWN_METHOD_SCOPE: Scope = Scope::Admin;

/// Reads a method's parameters, the original's way of saying what is wrong.
pub fn parse_params<T: serde::de::DeserializeOwned>(
    method: Method,
    params: &Value,
) -> Result<T, ErrorShape> {
    let params = if params.is_null() {
        Value::Object(Default::default())
    } else {
        params.clone()
    };
    if !params.is_object() {
        return Err(ErrorShape::invalid_params(
            method.name(),
            "params must be an object",
        ));
    }
    serde_json::from_value(params).map_err(|e| ErrorShape::invalid_params(method.name(), e))
}

/// A field that may be absent (leave as is), `null` (clear) or a value (set).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `agent`: run one agent turn. Answered twice: `accepted` at once, the outcome at the end.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentParams {
    pub message: String,
    /// Names the run (it becomes the run id) and makes a retry harmless.
    pub idempotency_key: String,
    #[serde(default)]
    pub session_key: Option<String>,
    /// A session by its id (`openclaw agent --session-id`).
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub thinking: Option<String>,
    /// A model for this turn only (`provider/model`).
    #[serde(default)]
    pub model: Option<String>,
    /// Delivery to a chat channel; there are none here.
    #[serde(default)]
    pub deliver: Option<bool>,
}

/// The first answer to `agent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentAccepted {
    pub run_id: String,
    pub session_key: String,
    pub agent_id: String,
    /// `accepted`, or `in_flight` for a retry of a run still going.
    pub status: String,
    pub accepted_at: u64,
}

/// The final answer to `agent` (and to a retry of a finished one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentOutcome {
    pub run_id: String,
    /// `ok`, `error`, or `timeout` for a run that was stopped.
    pub status: String,
    /// `completed`, `aborted` or the error.
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<AgentResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentResult {
    pub payloads: Vec<ReplyPayload>,
    pub meta: AgentResultMeta,
}

/// One reply: the answer's text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyPayload {
    pub text: String,
    pub media_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentResultMeta {
    pub duration_ms: u64,
    pub aborted: bool,
    pub agent_meta: AgentMeta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentMeta {
    pub session_id: String,
    pub session_key: String,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub usage: TokenUsage,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input: u64,
    pub output: u64,
    pub total: u64,
}

/// `agent.wait`: wait for a run to end.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentWaitParams {
    pub run_id: String,
    /// How long to wait (default 30 s); then the answer is `timeout`.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentWaitPayload {
    pub run_id: String,
    /// `ok`, `error`, or `timeout` (still going, unknown, or stopped).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `chat.send`: start a turn in a session; its events follow.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatSendParams {
    pub session_key: String,
    pub message: String,
    pub idempotency_key: String,
    #[serde(default)]
    pub thinking: Option<String>,
    #[serde(default)]
    pub deliver: Option<bool>,
    #[serde(default)]
    pub agent_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatSendAck {
    pub run_id: String,
    /// `started`; for a retry: `in_flight` while it runs, then its outcome (`ok`, `error`,
    /// `timeout`).
    pub status: String,
}

/// `chat.history`: a session's transcript, newest last.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatHistoryParams {
    pub session_key: String,
    #[serde(default)]
    pub limit: Option<usize>,
    #[serde(default)]
    pub agent_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatHistoryPayload {
    pub session_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub messages: Vec<TranscriptMessage>,
    /// Older messages exist that are not in `messages`.
    pub has_more: bool,
    pub defaults: ModelDefaults,
}

/// The model a session runs when nothing overrides it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelDefaults {
    pub model_provider: Option<String>,
    pub model: Option<String>,
    pub context_tokens: Option<u64>,
}

/// A message as clients render it (history, and the `message` of `chat` events).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "camelCase")]
pub enum TranscriptMessage {
    User {
        content: String,
        timestamp: u64,
    },
    #[serde(rename_all = "camelCase")]
    Assistant {
        content: Vec<ContentPart>,
        timestamp: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stop_reason: Option<String>,
        /// Tokens of the run (on a `chat` event's final message).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<MessageUsage>,
    },
    #[serde(rename_all = "camelCase")]
    ToolResult {
        tool_call_id: String,
        tool_name: String,
        content: Vec<ContentPart>,
        is_error: bool,
        timestamp: u64,
    },
}

/// Tokens a reply took.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageUsage {
    pub input: u64,
    pub output: u64,
    pub total_tokens: u64,
}

/// One part of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ContentPart {
    Text {
        text: String,
    },
    Thinking {
        thinking: String,
    },
    /// `arguments`: the parsed arguments, or the raw text when they did not parse.
    ToolCall {
        id: String,
        name: String,
        arguments: Value,
    },
}

/// `chat.abort`: stop a session's run (or one run of it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatAbortParams {
    pub session_key: String,
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub agent_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatAbortPayload {
    pub ok: bool,
    pub aborted: bool,
    pub run_ids: Vec<String>,
}

/// `sessions.list`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsListParams {
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsListPayload {
    pub ts: u64,
    pub path: String,
    pub count: usize,
    pub defaults: ModelDefaults,
    /// Newest first.
    pub sessions: Vec<SessionRow>,
}

/// One session, as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRow {
    pub key: String,
    /// Always `direct`.
    pub kind: String,
    pub agent_id: String,
    pub session_id: String,
    pub updated_at: u64,
    /// The first user message, at most 80 characters.
    pub display_name: Option<String>,
    /// Messages and tool results in the transcript.
    pub message_count: usize,
    /// The session's model override (`sessions.patch`), as `provider` and `model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_level: Option<String>,
    pub has_active_run: bool,
    pub active_run_ids: Vec<String>,
}

/// `sessions.describe`, `sessions.reset` and `sessions.delete`: one session by key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionKeyParams {
    pub key: String,
    #[serde(default)]
    pub agent_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionsDescribePayload {
    /// `null` for a session with no transcript yet.
    pub session: Option<SessionRow>,
}

/// The answer to `sessions.reset`, `sessions.delete` and `sessions.patch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionChanged {
    pub ok: bool,
    pub key: String,
    pub entry: SessionEntry,
    /// `sessions.delete`: whether a transcript was there to remove.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
}

/// A session's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionEntry {
    pub session_id: String,
    pub updated_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_level: Option<String>,
}

/// `sessions.patch`: a session's model and thinking level. `null` clears one.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsPatchParams {
    pub key: String,
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub model: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub thinking_level: Option<Option<String>>,
}

/// `sessions.create` (the TUI's `/new`): a session key, and optionally its model and
/// thinking level. The original's worktrees, categories, parent hooks and titles have no
/// meaning here and are ignored; a first `message` is refused (send it with `chat.send`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsCreateParams {
    /// `agent:main:<id>` or `<id>`; a new id when absent.
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub thinking_level: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// The answer to `sessions.create`. The transcript itself starts with the first message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionCreated {
    pub ok: bool,
    pub key: String,
    pub session_id: String,
    pub entry: SessionEntry,
    /// Always `false`: no first turn is started by `sessions.create` here.
    pub run_started: bool,
}

/// `sessions.subscribe`: accepted; `sessions.changed` events are sent to every client anyway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscribed {
    pub subscribed: bool,
}

/// `models.list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelsListPayload {
    pub models: Vec<ModelRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelRow {
    /// The provider's id (`llama3.3:latest`); `provider/id` is the model's ref.
    pub id: String,
    pub name: String,
    pub provider: String,
    pub context_window: u64,
    pub reasoning: bool,
    pub input: Vec<String>,
    pub available: bool,
}

/// `agents.list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentsListPayload {
    pub default_id: String,
    pub main_key: String,
    pub scope: String,
    pub ownership: String,
    pub selection_required: bool,
    pub agents: Vec<AgentRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentRow {
    pub id: String,
    pub kind: String,
    pub workspace: String,
    pub model: AgentModel,
    pub thinking_default: String,
    pub thinking_options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentModel {
    /// As configured (`ollama/llama3.3`).
    pub primary: Option<String>,
    pub fallbacks: Vec<String>,
}

/// `health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthPayload {
    pub ok: bool,
    pub ts: u64,
    pub duration_ms: u64,
    pub version: String,
    pub uptime_ms: u64,
    pub default_agent_id: String,
    pub agents: Vec<AgentHealth>,
    pub sessions: SessionsSummary,
    /// No chat channels here: always empty.
    pub channels: serde_json::Map<String, Value>,
    pub channel_order: Vec<String>,
    pub channel_labels: serde_json::Map<String, Value>,
    /// Heartbeat runs are not implemented: 0.
    pub heartbeat_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentHealth {
    pub agent_id: String,
    pub is_default: bool,
    pub sessions: SessionsSummary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionsSummary {
    /// The transcript directory.
    pub path: String,
    pub count: usize,
    pub recent: Vec<RecentSession>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentSession {
    pub key: String,
    pub updated_at: u64,
    pub age: u64,
}

/// `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusPayload {
    pub runtime_version: String,
    pub sessions: StatusSessions,
    pub channel_summary: Vec<Value>,
    pub queued_system_events: Vec<Value>,
    /// Runs going right now.
    pub active_runs: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusSessions {
    pub paths: Vec<String>,
    pub count: usize,
    pub defaults: ModelDefaults,
    pub recent: Vec<StatusSession>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusSession {
    pub agent_id: String,
    pub key: String,
    pub kind: String,
    pub session_id: String,
    pub updated_at: u64,
    pub age: u64,
}

/// `exec.approval.resolve`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExecApprovalResolveParams {
    pub id: String,
    pub decision: ApprovalDecision,
}

/// A person's answer to an exec approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalDecision {
    AllowOnce,
    /// Not offered here (nothing remembers approvals): refused.
    AllowAlways,
    Deny,
}

/// `question.list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionsPayload {
    pub questions: Vec<Value>,
}

/// `commands.list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandsPayload {
    pub commands: Vec<Value>,
}

/// `{ok: true}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    pub ok: bool,
}

// ---- events ------------------------------------------------------------------------------

/// Every event the gateway sends.
pub const EVENTS: [&str; 8] = [
    "connect.challenge",
    "tick",
    "agent",
    "chat",
    "sessions.changed",
    "exec.approval.requested",
    "exec.approval.resolved",
    "shutdown",
];

/// An event with its payload, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Tick(Tick),
    Agent(AgentEvent),
    Chat(ChatEvent),
    SessionsChanged(SessionsChanged),
    ExecApprovalRequested(ExecApprovalRequested),
    ExecApprovalResolved(ExecApprovalResolved),
    Shutdown(Shutdown),
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::Tick(_) => "tick",
            Event::Agent(_) => "agent",
            Event::Chat(_) => "chat",
            Event::SessionsChanged(_) => "sessions.changed",
            Event::ExecApprovalRequested(_) => "exec.approval.requested",
            Event::ExecApprovalResolved(_) => "exec.approval.resolved",
            Event::Shutdown(_) => "shutdown",
        }
    }

    pub fn payload(&self) -> Value {
        match self {
            Event::Tick(p) => to_value(p),
            Event::Agent(p) => to_value(p),
            Event::Chat(p) => to_value(p),
            Event::SessionsChanged(p) => to_value(p),
            Event::ExecApprovalRequested(p) => to_value(p),
            Event::ExecApprovalResolved(p) => to_value(p),
            Event::Shutdown(p) => to_value(p),
        }
    }

    /// The payload as JSON text, serialized once however many connections it goes to.
    pub fn payload_json(&self) -> std::sync::Arc<str> {
        let text = match self {
            Event::Tick(p) => serde_json::to_string(p),
            Event::Agent(p) => serde_json::to_string(p),
            Event::Chat(p) => serde_json::to_string(p),
            Event::SessionsChanged(p) => serde_json::to_string(p),
            Event::ExecApprovalRequested(p) => serde_json::to_string(p),
            Event::ExecApprovalResolved(p) => serde_json::to_string(p),
            Event::Shutdown(p) => serde_json::to_string(p),
        };
        text.unwrap_or_else(|_| "null".into()).into()
    }

    /// The scope a client needs to receive it.
    pub fn scope(&self) -> Scope {
        match self {
            Event::ExecApprovalRequested(_) | Event::ExecApprovalResolved(_) => Scope::Approvals,
            _ => Scope::Read,
        }
    }
}

/// `tick`: the connection is alive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    pub ts: u64,
}

/// `shutdown`: the gateway is stopping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shutdown {
    pub reason: String,
    pub restart_expected_ms: Option<u64>,
}

/// `agent`: what a run is doing, stream by stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentEvent {
    pub run_id: String,
    pub session_key: String,
    pub session_id: String,
    pub agent_id: String,
    /// Counts this run's `agent` and `chat` events, from 1.
    pub seq: u64,
    pub ts: u64,
    #[serde(flatten)]
    pub stream: AgentStream,
}

/// An `agent` event's `stream` and `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "stream", content = "data", rename_all = "lowercase")]
pub enum AgentStream {
    Lifecycle(Lifecycle),
    /// Answer text: all of it so far, and what is new.
    Assistant {
        text: String,
        delta: String,
    },
    /// Reasoning text, the same way.
    Thinking {
        text: String,
        delta: String,
    },
    Tool(ToolEvent),
}

/// A run's lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Lifecycle {
    #[serde(rename_all = "camelCase")]
    Start { started_at: u64 },
    /// The model being asked.
    Model { provider: String, model: String },
    /// A model failed and the next one answers.
    #[serde(rename_all = "camelCase")]
    FallbackStep {
        fallback_step_from_model: String,
        fallback_step_to_model: String,
        fallback_step_from_failure_reason: String,
        fallback_step_from_failure_detail: String,
    },
    #[serde(rename_all = "camelCase")]
    End {
        started_at: u64,
        ended_at: u64,
        aborted: bool,
        stop_reason: String,
    },
    #[serde(rename_all = "camelCase")]
    Error {
        error: String,
        error_kind: String,
        started_at: u64,
        ended_at: u64,
    },
}

/// A tool call, started or finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "lowercase")]
pub enum ToolEvent {
    #[serde(rename_all = "camelCase")]
    Start {
        name: String,
        tool_call_id: String,
        args: Value,
    },
    #[serde(rename_all = "camelCase")]
    Result {
        name: String,
        tool_call_id: String,
        args: Value,
        is_error: bool,
        result: ToolResultContent,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResultContent {
    pub content: Vec<ContentPart>,
}

/// `chat`: a run's answer as a message, for chat views.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatEvent {
    pub run_id: String,
    pub session_key: String,
    pub agent_id: String,
    pub seq: u64,
    #[serde(flatten)]
    pub state: ChatState,
}

/// A `chat` event's `state` and what goes with it. `message` is always the whole answer so
/// far; `deltaText` is the text added since the previous `chat` event of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum ChatState {
    #[serde(rename_all = "camelCase")]
    Delta {
        delta_text: String,
        message: TranscriptMessage,
    },
    #[serde(rename_all = "camelCase")]
    Final {
        stop_reason: String,
        message: TranscriptMessage,
    },
    #[serde(rename_all = "camelCase")]
    Error {
        error_message: String,
        error_kind: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<TranscriptMessage>,
    },
    #[serde(rename_all = "camelCase")]
    Aborted {
        stop_reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<TranscriptMessage>,
    },
}

/// `sessions.changed`: a session's transcript or settings changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsChanged {
    pub session_key: String,
    pub agent_id: String,
    /// `send`, `patch`, `reset`, `delete`; with `phase` `start`/`end`/`error` for runs.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    pub ts: u64,
}

/// `exec.approval.requested`: a command waits for a person's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecApprovalRequested {
    pub id: String,
    pub request: ExecApprovalRequest,
    pub created_at_ms: u64,
    pub expires_at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecApprovalRequest {
    pub command: String,
    /// Always `gateway`: the command runs on this machine.
    pub host: String,
    pub cwd: Option<String>,
    /// Whether it runs inside the OS sandbox once approved.
    pub sandboxed: bool,
    pub agent_id: String,
    pub session_key: String,
    pub run_id: String,
    pub allowed_decisions: Vec<ApprovalDecision>,
}

/// `exec.approval.resolved`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecApprovalResolved {
    pub id: String,
    pub decision: ApprovalDecision,
    /// The answering client's name; `null` when nobody answered in time.
    pub resolved_by: Option<String>,
    pub ts: u64,
    pub request: ExecApprovalRequest,
}

// ---- session keys ------------------------------------------------------------------------

/// `agent:<agentId>:<key>`, the original's name for a session. Here every key belongs to the
/// one agent, `main`, and names the transcript `<key>.jsonl`; `explicit:<id>` (what the
/// original CLI sends for `--session-id <id>`) names `<id>.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionKey {
    session_id: String,
}

impl SessionKey {
    /// `agent:main:main`.
    pub fn main() -> Self {
        Self {
            session_id: MAIN_KEY.into(),
        }
    }

    /// The key of a transcript.
    pub fn for_session(session_id: &str) -> Self {
        Self {
            session_id: session_id.into(),
        }
    }

    /// Reads a key; a bare `<key>` means `agent:main:<key>`. `valid` says which transcript
    /// names are allowed.
    pub fn parse(raw: &str, valid: impl Fn(&str) -> bool) -> Result<Self, ErrorShape> {
        let raw = raw.trim();
        let rest = match raw.strip_prefix("agent:") {
            Some(rest) => {
                let (agent, key) = rest.split_once(':').ok_or_else(|| {
                    ErrorShape::invalid(format!(
                        "session key `{raw}` is not of the form agent:<agentId>:<key>"
                    ))
                })?;
                check_agent(Some(agent))?;
                key
            }
            None => raw,
        };
        let id = rest.strip_prefix("explicit:").unwrap_or(rest);
        if !valid(id) {
            return Err(ErrorShape::invalid(format!(
                "session key `{raw}` cannot name a session here: after `agent:{AGENT_ID}:` use \
                 letters, digits, `.`, `_` and `-` (at most 128)"
            )));
        }
        Ok(Self {
            session_id: id.into(),
        })
    }

    /// The transcript's name.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }
}

impl std::fmt::Display for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "agent:{AGENT_ID}:{}", self.session_id)
    }
}

/// An `agentId` parameter: only `main` exists.
pub fn check_agent(agent: Option<&str>) -> Result<(), ErrorShape> {
    match agent.map(str::trim) {
        None | Some("") => Ok(()),
        Some(a) if a == AGENT_ID => Ok(()),
        Some(a) => Err(ErrorShape::invalid(format!(
            "Agent \"{a}\" no longer exists in configuration (this gateway runs one agent, `{AGENT_ID}`)"
        ))
        .with_details(serde_json::json!({"code": "UNKNOWN_AGENT_ID"}))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok_id(id: &str) -> bool {
        !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    }

    #[test]
    fn session_keys_map_to_transcripts() {
        let k = SessionKey::parse("agent:main:main", ok_id).unwrap();
        assert_eq!(k.session_id(), "main");
        assert_eq!(k.to_string(), "agent:main:main");
        assert_eq!(
            SessionKey::parse("agent:main:explicit:abc", ok_id)
                .unwrap()
                .session_id(),
            "abc"
        );
        assert_eq!(
            SessionKey::parse("web-1", ok_id).unwrap().to_string(),
            "agent:main:web-1"
        );
        let e = SessionKey::parse("agent:ops:x", ok_id).unwrap_err();
        assert!(e.message.contains("\"ops\""), "{e:?}");
        assert!(SessionKey::parse("agent:main:a/b", ok_id).is_err());
        assert!(SessionKey::parse("agent:main", ok_id).is_err());
    }

    #[test]
    fn frames_have_the_original_shape() {
        let f = ServerFrame::ok("1", Ack { ok: true });
        assert_eq!(
            to_value(&f),
            json!({"type": "res", "id": "1", "ok": true, "payload": {"ok": true}})
        );
        let e = ServerFrame::err(Some("2"), ErrorShape::unknown_method("x.y"));
        assert_eq!(
            to_value(&e),
            json!({"type": "res", "id": "2", "ok": false,
                "error": {"code": "INVALID_REQUEST", "message": "unknown method: x.y"}})
        );
        let chat = ChatEvent {
            run_id: "r".into(),
            session_key: "agent:main:main".into(),
            agent_id: "main".into(),
            seq: 3,
            state: ChatState::Delta {
                delta_text: "lo".into(),
                message: TranscriptMessage::Assistant {
                    content: vec![ContentPart::Text {
                        text: "Hello".into(),
                    }],
                    timestamp: 7,
                    provider: None,
                    model: None,
                    stop_reason: None,
                    usage: None,
                },
            },
        };
        assert_eq!(
            to_value(&chat),
            json!({"runId": "r", "sessionKey": "agent:main:main", "agentId": "main", "seq": 3,
                "state": "delta", "deltaText": "lo",
                "message": {"role": "assistant", "content": [{"type": "text", "text": "Hello"}], "timestamp": 7}})
        );
        let agent = AgentEvent {
            run_id: "r".into(),
            session_key: "k".into(),
            session_id: "s".into(),
            agent_id: "main".into(),
            seq: 1,
            ts: 2,
            stream: AgentStream::Lifecycle(Lifecycle::Start { started_at: 2 }),
        };
        assert_eq!(
            to_value(&agent),
            json!({"runId": "r", "sessionKey": "k", "sessionId": "s", "agentId": "main", "seq": 1,
                "ts": 2, "stream": "lifecycle", "data": {"phase": "start", "startedAt": 2}})
        );
        let tool = AgentStream::Tool(ToolEvent::Start {
            name: "read".into(),
            tool_call_id: "c1".into(),
            args: json!({"path": "a"}),
        });
        assert_eq!(
            to_value(&tool),
            json!({"stream": "tool", "data": {"phase": "start", "name": "read", "toolCallId": "c1", "args": {"path": "a"}}})
        );
        let result = TranscriptMessage::ToolResult {
            tool_call_id: "c1".into(),
            tool_name: "read".into(),
            content: vec![ContentPart::Text { text: "x".into() }],
            is_error: false,
            timestamp: 1,
        };
        assert_eq!(to_value(&result)["role"], "toolResult");
    }

    #[test]
    fn connect_params_read_what_the_original_cli_sends() {
        let p: ConnectParams = parse_params(
            Method::Connect,
            &json!({"minProtocol":4,"maxProtocol":4,"client":{"id":"openclaw-tui","displayName":"openclaw-tui","version":"2026.9.6","platform":"linux","deviceFamily":"Linux","mode":"ui","instanceId":"x"},"caps":["tool-events"],"auth":{"token":"t"},"role":"operator","scopes":["operator.admin","operator.read"],"device":{"id":"d","publicKey":"k","signature":"s","signedAt":1,"nonce":"n"},"someFutureField":1}),
        )
        .unwrap();
        assert_eq!(p.client.id, "openclaw-tui");
        assert_eq!(p.auth.unwrap().token.as_deref(), Some("t"));
        assert_eq!(p.device.unwrap().signed_at, Some(1));
        let e =
            parse_params::<ConnectParams>(Method::Connect, &json!({"minProtocol": 4})).unwrap_err();
        assert!(e.message.starts_with("invalid connect params: "), "{e:?}");
    }

    #[test]
    fn patch_tells_absent_from_null() {
        let p: SessionsPatchParams = parse_params(
            Method::SessionsPatch,
            &json!({"key": "main", "model": null}),
        )
        .unwrap();
        assert_eq!(p.model, Some(None));
        assert_eq!(p.thinking_level, None);
    }

    #[test]
    fn scopes_imply_as_in_the_original() {
        assert!(Scope::Read.satisfied_by(&[Scope::Write]));
        assert!(Scope::Approvals.satisfied_by(&[Scope::Admin]));
        assert!(!Scope::Write.satisfied_by(&[Scope::Read]));
        assert!(!Scope::Approvals.satisfied_by(&[Scope::Write]));
        for m in METHODS {
            assert_eq!(Method::parse(m.name()), Some(m));
            assert!(m.scope().is_some());
        }
        assert_eq!(Method::parse("nope"), None);
    }
}
