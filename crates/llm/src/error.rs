//! Classified model-call failures: the agent decides on fallback or compaction from the class,
//! and the user sees the server's own message.

use std::time::Duration;

/// Why a model call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LlmError {
    #[error("cannot connect to {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("no data from {url} for {} s (timeoutSeconds); the model may be overloaded or stuck", idle.as_secs())]
    Timeout { url: String, idle: Duration },
    #[error("{url} refused the credentials (HTTP {status}): {message}")]
    Auth {
        url: String,
        status: u16,
        message: String,
    },
    #[error("model `{model}` not found at {url}: {message}")]
    ModelNotFound {
        url: String,
        model: String,
        message: String,
    },
    #[error("rate limited by {url} (HTTP 429): {message}")]
    RateLimited { url: String, message: String },
    #[error("{url} failed (HTTP {status}): {message}")]
    Server {
        url: String,
        status: u16,
        message: String,
    },
    #[error("the prompt is larger than the model's context: {message}")]
    ContextOverflow { url: String, message: String },
    #[error("{url} rejected the request (HTTP {status}): {message}")]
    BadRequest {
        url: String,
        status: u16,
        message: String,
    },
    #[error("malformed reply from {url}: {detail}")]
    MalformedStream { url: String, detail: String },
    #[error("the reply from {url} exceeded {limit} bytes")]
    TooLarge { url: String, limit: usize },
}

impl LlmError {
    /// Failures where the next fallback model should be tried (connection, timeout,
    /// 5xx, 429, 401/403, 404 model-not-found. Context overflow is handled by compaction.
    pub fn should_fall_back(&self) -> bool {
        matches!(
            self,
            LlmError::Connect { .. }
                | LlmError::Timeout { .. }
                | LlmError::Auth { .. }
                | LlmError::ModelNotFound { .. }
                | LlmError::RateLimited { .. }
                | LlmError::Server { .. }
                | LlmError::MalformedStream { .. }
        )
    }

    /// A short class name for logs, transcripts and `--json`.
    pub fn kind(&self) -> &'static str {
        match self {
            LlmError::Connect { .. } => "connect",
            LlmError::Timeout { .. } => "timeout",
            LlmError::Auth { .. } => "auth",
            LlmError::ModelNotFound { .. } => "model-not-found",
            LlmError::RateLimited { .. } => "rate-limited",
            LlmError::Server { .. } => "server",
            LlmError::ContextOverflow { .. } => "context-overflow",
            LlmError::BadRequest { .. } => "bad-request",
            LlmError::MalformedStream { .. } => "malformed-stream",
            LlmError::TooLarge { .. } => "too-large",
        }
    }
}
