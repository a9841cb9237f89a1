//! Model clients: one streaming interface over OpenAI-compatible `chat/completions` (SSE) and
//! Ollama's native `/api/chat` (NDJSON).
//!
//! [`ModelClient::stream_chat`] sends a wire-neutral [`ChatRequest`], reports text, thinking
//! and tool calls through a callback as they arrive, and returns the whole [`ChatResponse`] or
//! a classified [`LlmError`]. The network part lives here; decoding lives in [`ReplyDecoder`]
//! so recorded replies can be replayed without a server.

mod backlog;
mod classify;
mod decoder;
mod embed;
mod error;
mod ndjson;
mod ollama;
mod openai;
mod options;
mod reply;
mod sse;
mod textual_calls;
mod think_tags;
mod types;

pub use backlog::Backlog;
pub use decoder::{ReplyDecoder, StreamLimits, WireFormat};
pub use embed::{EmbeddingClient, DEFAULT_EMBED_TIMEOUT};
pub use error::LlmError;
pub use options::{Image, RequestOptions, ResponseFormat, ToolChoice};
pub use types::*;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use openclaw_config::ApiKind;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};

use crate::classify::{classify_status, describe_transport_error, Context};

/// How much of an error response's body is read for its message.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// Where and how to call a model.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub api: ApiKind,
    /// `…/v1` for `openai-completions`; Ollama's native base for `ollama`.
    pub base_url: String,
    pub api_key: Option<String>,
    pub headers: BTreeMap<String, String>,
    /// Longest silence allowed between two received chunks (and before the first).
    /// `Duration::ZERO` means no limit.
    pub idle_timeout: Duration,
}

/// A client for one endpoint.
#[derive(Debug, Clone)]
pub struct ModelClient {
    endpoint: Endpoint,
    /// The HTTP client, or why it could not be built (reported by the first request).
    http: Result<reqwest::Client, String>,
    limits: StreamLimits,
    /// When set, the next piece of a reply is read only once its consumer has caught up.
    backlog: Option<std::sync::Arc<Backlog>>,
}

impl ModelClient {
    pub fn new(endpoint: Endpoint) -> Self {
        let mut builder = reqwest::Client::builder();
        if is_loopback_url(&endpoint.base_url) {
            // A proxy configured for the outside world must not see local model traffic.
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| describe_transport_error(&e));
        Self {
            endpoint,
            http,
            limits: StreamLimits::default(),
            backlog: None,
        }
    }

    /// The same client, pacing its reading of replies to `backlog`'s consumer.
    pub fn with_backlog(mut self, backlog: std::sync::Arc<Backlog>) -> Self {
        self.backlog = Some(backlog);
        self
    }

    /// The same client with other caps on reply size.
    pub fn with_limits(mut self, limits: StreamLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The caps on reply size in force.
    pub fn limits(&self) -> StreamLimits {
        self.limits
    }

    /// The URL chat requests go to: `{base}/chat/completions`, or `{base}/api/chat` natively
    /// (a native base ending in `/v1` is taken as the server's root, a common slip).
    pub fn chat_url(&self) -> Result<String, LlmError> {
        let base = self.endpoint.base_url.trim().trim_end_matches('/');
        match self.endpoint.api {
            ApiKind::OpenAiCompletions => Ok(format!("{base}/chat/completions")),
            ApiKind::Ollama => {
                let root = base.strip_suffix("/v1").unwrap_or(base);
                Ok(format!("{root}/api/chat"))
            }
            ApiKind::Unsupported => Err(self.unsupported()),
        }
    }

    /// The JSON body [`ModelClient::stream_chat`] sends for `request` on this endpoint's wire.
    pub fn request_body(&self, request: &ChatRequest) -> Result<serde_json::Value, LlmError> {
        self.request_body_with(request, &RequestOptions::default())
    }

    /// The JSON body [`ModelClient::stream_chat_with`] sends for `request` with `options`.
    pub fn request_body_with(
        &self,
        request: &ChatRequest,
        options: &RequestOptions,
    ) -> Result<serde_json::Value, LlmError> {
        match self.endpoint.api {
            ApiKind::Ollama => Ok(ollama::request_body(request, options)),
            ApiKind::OpenAiCompletions => Ok(openai::request_body(request, options)),
            ApiKind::Unsupported => Err(self.unsupported()),
        }
    }

    /// An `api` this crate does not speak: reported as a connection failure, so the agent
    /// falls back to the next model (one whose provider it can reach).
    fn unsupported(&self) -> LlmError {
        LlmError::Connect {
            url: self.endpoint.base_url.clone(),
            detail: format!(
                "the provider's `api` is `{}`, which is not supported; use `openai-completions` or `ollama`",
                self.endpoint.api.as_str()
            ),
        }
    }

    /// Streams one reply; `on_event` sees text, thinking and tool calls as they complete.
    /// Dropping the future cancels the request.
    pub async fn stream_chat(
        &self,
        request: &ChatRequest,
        on_event: &mut (dyn FnMut(StreamEvent) + Send),
    ) -> Result<ChatResponse, LlmError> {
        self.stream_chat_with(request, &RequestOptions::default(), on_event)
            .await
    }

    /// [`ModelClient::stream_chat`] with generation settings (sampling, stop, format, tool
    /// choice, images) mapped onto this endpoint's wire.
    pub async fn stream_chat_with(
        &self,
        request: &ChatRequest,
        options: &RequestOptions,
        on_event: &mut (dyn FnMut(StreamEvent) + Send),
    ) -> Result<ChatResponse, LlmError> {
        let url = self.chat_url()?;
        let body = self.request_body_with(request, options)?;
        let http = self.http.as_ref().map_err(|detail| LlmError::Connect {
            url: url.clone(),
            detail: detail.clone(),
        })?;
        let headers = self.headers(&url)?;
        let idle = self.endpoint.idle_timeout;
        let timeout = || LlmError::Timeout {
            url: url.clone(),
            idle,
        };

        let send = http.post(&url).headers(headers).json(&body).send();
        let mut response = match within(idle, send).await {
            None => return Err(timeout()),
            Some(Err(e)) => {
                return Err(LlmError::Connect {
                    url: url.clone(),
                    detail: describe_transport_error(&e),
                })
            }
            Some(Ok(response)) => response,
        };
        let ctx = Context {
            url: url.clone(),
            model: request.model.clone(),
        };
        let status = response.status();
        if !status.is_success() {
            let body = read_error_body(&mut response, idle).await;
            return Err(classify_status(&ctx, status.as_u16(), &body));
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();

        // The framing comes from the content type; without a telling one, from the first byte.
        let mut decoder = declared_format(self.endpoint.api, &content_type)
            .map(|format| self.decoder(format, request, &url));
        let mut unframed: Vec<u8> = Vec::new();
        loop {
            if let Some(backlog) = &self.backlog {
                // Not counted against the idle timeout: the model is not the slow one.
                backlog.wait_for_room().await;
            }
            let chunk = match within(idle, response.chunk()).await {
                None => return Err(timeout()),
                Some(Err(e)) => {
                    return Err(LlmError::MalformedStream {
                        url: url.clone(),
                        detail: format!(
                            "the connection broke mid-reply: {}",
                            describe_transport_error(&e)
                        ),
                    })
                }
                Some(Ok(None)) => break,
                Some(Ok(Some(chunk))) => chunk,
            };
            match &mut decoder {
                Some(decoder) => decoder.feed(&chunk, &mut *on_event)?,
                None => {
                    unframed.extend_from_slice(&chunk);
                    if let Some(format) = sniff_format(&unframed) {
                        let mut fresh = self.decoder(format, request, &url);
                        fresh.feed(&std::mem::take(&mut unframed), &mut *on_event)?;
                        decoder = Some(fresh);
                    } else if unframed.len() > self.limits.max_line_bytes {
                        return Err(LlmError::TooLarge {
                            url: url.clone(),
                            limit: self.limits.max_line_bytes,
                        });
                    }
                }
            }
        }
        let decoder = match decoder {
            Some(decoder) => decoder,
            None => {
                let mut fresh = self.decoder(WireFormat::OpenAiSse, request, &url);
                fresh.feed(&unframed, &mut *on_event)?;
                fresh
            }
        };
        decoder.finish(&mut *on_event)
    }

    fn decoder(&self, format: WireFormat, request: &ChatRequest, url: &str) -> ReplyDecoder {
        ReplyDecoder::with_limits(format, request, url, self.limits)
    }

    /// `Authorization: Bearer` from the key, then the configured headers (which win).
    fn headers(&self, url: &str) -> Result<HeaderMap, LlmError> {
        let invalid = |what: String| LlmError::Connect {
            url: url.to_owned(),
            detail: what,
        };
        let mut headers = HeaderMap::new();
        if let Some(key) = self.endpoint.api_key.as_deref().map(str::trim) {
            if !key.is_empty() {
                let value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                    invalid("the API key contains characters not allowed in a header".to_owned())
                })?;
                headers.insert(AUTHORIZATION, value);
            }
        }
        for (name, value) in &self.endpoint.headers {
            let header_name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("`{name}` is not a valid header name")))?;
            let header_value = HeaderValue::from_str(value)
                .map_err(|_| invalid(format!("the value of header `{name}` is not valid")))?;
            headers.insert(header_name, header_value);
        }
        Ok(headers)
    }
}

/// Awaits `future` for at most `limit` (`None` when the time ran out); zero means no limit.
async fn within<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    if limit.is_zero() {
        return Some(future.await);
    }
    tokio::time::timeout(limit, future).await.ok()
}

/// The start of an error response's body: enough for the server's message.
async fn read_error_body(response: &mut reqwest::Response, idle: Duration) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY_BYTES {
        match within(idle, response.chunk()).await {
            Some(Ok(Some(chunk))) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(MAX_ERROR_BODY_BYTES);
    String::from_utf8_lossy(&body).into_owned()
}

/// The framing a content type announces, when it announces one.
fn declared_format(api: ApiKind, content_type: &str) -> Option<WireFormat> {
    let ndjson = content_type.contains("ndjson");
    let json = !ndjson && content_type.contains("json");
    let sse = content_type.contains("event-stream");
    match api {
        ApiKind::Ollama if json => Some(WireFormat::OllamaJson),
        ApiKind::Ollama => Some(WireFormat::OllamaNdjson),
        _ if sse => Some(WireFormat::OpenAiSse),
        _ if json => Some(WireFormat::OpenAiJson),
        _ => None,
    }
}

/// An unlabelled `chat/completions` body: a JSON document starts with `{`, SSE with a field.
fn sniff_format(body: &[u8]) -> Option<WireFormat> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    Some(if *first == b'{' {
        WireFormat::OpenAiJson
    } else {
        WireFormat::OpenAiSse
    })
}

/// Whether `url` points at this machine (`localhost`, `127.0.0.0/8`, `::1`).
fn is_loopback_url(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url.trim()) else {
        return false;
    };
    let Some(host) = parsed.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(api: ApiKind, base_url: &str) -> ModelClient {
        ModelClient::new(Endpoint {
            api,
            base_url: base_url.into(),
            api_key: None,
            headers: BTreeMap::new(),
            idle_timeout: Duration::from_secs(1),
        })
    }

    #[test]
    fn chat_urls() {
        let url = |api, base| client(api, base).chat_url().unwrap();
        assert_eq!(
            url(ApiKind::OpenAiCompletions, "http://h:11434/v1/"),
            "http://h:11434/v1/chat/completions"
        );
        assert_eq!(
            url(ApiKind::Ollama, "http://h:11434"),
            "http://h:11434/api/chat"
        );
        assert_eq!(
            url(ApiKind::Ollama, "http://h:11434/v1"),
            "http://h:11434/api/chat"
        );
        let error = client(ApiKind::Unsupported, "http://h")
            .chat_url()
            .unwrap_err();
        assert!(error.to_string().contains("not supported"), "{error}");
    }

    #[test]
    fn loopback_urls() {
        assert!(is_loopback_url("http://127.0.0.1:11434"));
        assert!(is_loopback_url("http://localhost:11434/v1"));
        assert!(is_loopback_url("http://[::1]:11434"));
        assert!(!is_loopback_url("http://ollama-host:11434/v1"));
        assert!(!is_loopback_url("not a url"));
    }

    #[test]
    fn formats_follow_the_content_type() {
        let ollama = ApiKind::Ollama;
        let openai = ApiKind::OpenAiCompletions;
        assert_eq!(
            declared_format(ollama, "application/x-ndjson"),
            Some(WireFormat::OllamaNdjson)
        );
        assert_eq!(
            declared_format(ollama, "application/json; charset=utf-8"),
            Some(WireFormat::OllamaJson)
        );
        assert_eq!(declared_format(ollama, ""), Some(WireFormat::OllamaNdjson));
        assert_eq!(
            declared_format(openai, "text/event-stream"),
            Some(WireFormat::OpenAiSse)
        );
        assert_eq!(
            declared_format(openai, "application/json"),
            Some(WireFormat::OpenAiJson)
        );
        assert_eq!(declared_format(openai, "text/plain"), None);
        assert_eq!(sniff_format(b"  \n"), None);
        assert_eq!(
            sniff_format(b"\n{\"choices\""),
            Some(WireFormat::OpenAiJson)
        );
        assert_eq!(sniff_format(b"data: {}"), Some(WireFormat::OpenAiSse));
    }

    #[test]
    fn headers_carry_the_key_and_the_configured_ones() {
        let mut c = client(ApiKind::OpenAiCompletions, "http://h/v1");
        c.endpoint.api_key = Some("sk-1".into());
        c.endpoint
            .headers
            .insert("X-Title".into(), "openclaw".into());
        let headers = c.headers("u").unwrap();
        assert_eq!(headers[AUTHORIZATION], "Bearer sk-1");
        assert_eq!(headers["x-title"], "openclaw");
        c.endpoint.headers.insert("bad name".into(), "v".into());
        assert_eq!(c.headers("u").unwrap_err().kind(), "connect");
    }

    #[test]
    fn stream_chat_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let c = client(ApiKind::Ollama, "http://127.0.0.1:1");
        let request = ChatRequest::default();
        let mut sink = |_: StreamEvent| {};
        let future = c.stream_chat(&request, &mut sink);
        assert_send(&future);
    }
}
