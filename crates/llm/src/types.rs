//! The provider-neutral vocabulary of a chat: messages, tool calls, tool specs, stream events.
//!
//! Both wires (OpenAI `chat/completions` and Ollama's native `/api/chat`) are translated to and
//! from these types, so the agent never sees a wire format.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

/// A tool call requested by the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The wire's id (`call_…`); generated when the wire has none (Ollama native).
    pub id: String,
    pub name: String,
    /// Parsed arguments. When the model sent arguments that are not a JSON object, this is
    /// `Value::Null` and `arguments_error` says why, so the agent can tell the model.
    pub arguments: Value,
    /// The arguments exactly as received (a JSON string on the OpenAI wire).
    pub raw_arguments: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments_error: Option<String>,
}

/// One message of the conversation. Thinking is never part of it: it is shown, not sent back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
    /// Assistant messages: the calls it made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Tool messages: the id of the call answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Tool messages: the tool's name (Ollama native sends it as `tool_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
}

impl ChatMessage {
    pub fn system(text: impl Into<String>) -> Self {
        Self::plain(Role::System, text)
    }
    pub fn user(text: impl Into<String>) -> Self {
        Self::plain(Role::User, text)
    }
    pub fn assistant(text: impl Into<String>, tool_calls: Vec<ToolCall>) -> Self {
        Self {
            tool_calls,
            ..Self::plain(Role::Assistant, text)
        }
    }
    pub fn tool_result(call: &ToolCall, content: impl Into<String>) -> Self {
        Self {
            tool_call_id: Some(call.id.clone()),
            tool_name: Some(call.name.clone()),
            ..Self::plain(Role::Tool, content)
        }
    }
    fn plain(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            content: text.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            tool_name: None,
        }
    }
}

/// A tool offered to the model (OpenAI function-tool shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
}

/// How hard a reasoning model should think.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThinkingLevel {
    Off,
    Low,
    Medium,
    High,
}

impl ThinkingLevel {
    /// The level's name, as OpenClaw's protocol and `--thinking` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ThinkingLevel::Off => "off",
            ThinkingLevel::Low => "low",
            ThinkingLevel::Medium => "medium",
            ThinkingLevel::High => "high",
        }
    }
}

/// `agents.defaults.thinkingDefault` as a level the wires know: the original's finer levels
/// map to the nearest of ours (`minimal` is `low`, `xhigh` is `high`), as the gateway does for
/// the protocol's levels.
impl From<openclaw_config::ThinkingLevel> for ThinkingLevel {
    fn from(level: openclaw_config::ThinkingLevel) -> Self {
        use openclaw_config::ThinkingLevel as Config;
        match level {
            Config::Off => ThinkingLevel::Off,
            Config::Minimal | Config::Low => ThinkingLevel::Low,
            Config::Medium => ThinkingLevel::Medium,
            Config::High | Config::XHigh => ThinkingLevel::High,
        }
    }
}

/// One chat request, wire-neutral.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// The provider's model id (`llama3.3:latest`), not the `provider/` ref.
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub tools: Vec<ToolSpec>,
    /// `None`: don't mention thinking at all (required for models without `reasoning`).
    pub thinking: Option<ThinkingLevel>,
    pub max_tokens: Option<u64>,
    /// Ollama native only: `options.num_ctx`.
    pub num_ctx: Option<u64>,
    pub temperature: Option<f64>,
}

/// Token counts reported by the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// Something that arrived while streaming.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// Answer text, ready to show.
    Text(String),
    /// Reasoning text (shown apart, never sent back).
    Thinking(String),
    /// A complete tool call (emitted once its arguments are whole).
    ToolCall(ToolCall),
}

/// The whole reply once the stream ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatResponse {
    pub text: String,
    pub thinking: String,
    pub tool_calls: Vec<ToolCall>,
    /// `stop`, `tool_calls`, `length`, …
    pub finish_reason: Option<String>,
    pub usage: Option<Usage>,
}
