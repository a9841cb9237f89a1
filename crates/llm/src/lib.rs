//! Model clients: one streaming interface over OpenAI-compatible `chat/completions` (SSE) and
//! Ollama's native `/api/chat` (NDJSON).

mod error;
mod types;

pub use error::LlmError;
pub use types::*;

use std::collections::BTreeMap;
use std::time::Duration;

use openclaw_config::ApiKind;

/// Where and how to call a model.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub api: ApiKind,
    /// `…/v1` for `openai-completions`; Ollama's native base for `ollama`.
    pub base_url: String,
    pub api_key: Option<String>,
    pub headers: BTreeMap<String, String>,
    /// Longest silence allowed between two received chunks (and before the first).
    pub idle_timeout: Duration,
}

/// A client for one endpoint.
#[derive(Debug, Clone)]
pub struct ModelClient {
    endpoint: Endpoint,
    http: reqwest::Client,
}

impl ModelClient {
    pub fn new(endpoint: Endpoint) -> Self {
        let http = reqwest::Client::new();
        Self { endpoint, http }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Streams one reply; `on_event` sees text, thinking and tool calls as they complete.
    /// Dropping the future cancels the request.
    pub async fn stream_chat(
        &self,
        request: &ChatRequest,
        on_event: &mut (dyn FnMut(StreamEvent) + Send),
    ) -> Result<ChatResponse, LlmError> {
        let _ = (request, on_event, &self.http);
        todo!("implemented by the llm helper")
    }
}
