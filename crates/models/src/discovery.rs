//! Ollama implicit discovery: `/api/tags`, then `/api/show` for every installed model.
//!
//! This is the heart of OpenClaw's Ollama support. Rules: keep only models whose
//! `capabilities` include `tools`; `thinking` marks `reasoning`; the context window is
//! `model_info["<arch>.context_length"]` (arch from `general.architecture`), 8192 when absent;
//! `vision` adds image input. Every installed model is inspected, concurrently but bounded,
//! each with its own timeout, so one slow or broken model never blocks or drops the others;
//! there is no cap on how many models are inspected.

use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use serde_json::Value;

/// Context window used when Ollama does not report one (the seed's default).
pub const DEFAULT_CONTEXT_WINDOW: u64 = 8192;
/// `/api/show` requests in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Per-request timeout of discovery calls; `/api/show` does not load the model, so it is fast.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest reply body we accept from `/api/tags` or `/api/show`.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// What to discover from.
#[derive(Debug, Clone)]
pub struct DiscoveryRequest {
    /// Ollama's native base URL (`http://127.0.0.1:11434`), no `/v1`.
    pub base: String,
    pub api_key: Option<String>,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub concurrency: usize,
}

impl DiscoveryRequest {
    /// Defaults for `base`.
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            api_key: None,
            headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// An installed model that qualified for the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveredModel {
    pub name: String,
    pub reasoning: bool,
    pub vision: bool,
    pub context_window: u64,
    /// False when the context window is the 8192 default.
    pub context_reported: bool,
    pub capabilities: Vec<String>,
    pub size: Option<u64>,
    pub parameter_size: Option<String>,
    pub quantization: Option<String>,
}

/// Why an installed model is not in the catalog.
#[derive(Debug, Clone, PartialEq)]
pub enum SkipReason {
    /// Ollama does not report `tools` for it.
    NoTools { capabilities: Vec<String> },
    /// `/api/show` failed for it.
    ShowFailed(String),
    /// `/api/show` did not answer in time.
    ShowTimedOut(Duration),
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::NoTools { capabilities } if capabilities.is_empty() => {
                write!(
                    f,
                    "reports no capabilities (Ollama too old to say whether it supports tools?)"
                )
            }
            SkipReason::NoTools { capabilities } => {
                write!(
                    f,
                    "no `tools` capability (reports: {})",
                    capabilities.join(", ")
                )
            }
            SkipReason::ShowFailed(e) => write!(f, "/api/show failed: {e}"),
            SkipReason::ShowTimedOut(t) => write!(
                f,
                "/api/show did not answer within {:.1} s",
                t.as_secs_f64()
            ),
        }
    }
}

/// An installed model left out, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedModel {
    pub name: String,
    pub reason: SkipReason,
}

/// The outcome of one discovery run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiscoveryReport {
    pub base: String,
    /// Every installed model, as `/api/tags` listed them.
    pub installed: usize,
    pub models: Vec<DiscoveredModel>,
    pub skipped: Vec<SkippedModel>,
}

/// How a connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectFailure {
    Refused,
    TimedOut,
    Other,
}

/// Discovery could not list the installed models at all.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DiscoveryError {
    #[error("Ollama is not reachable at {base}: {detail}\n  hint: start it with `ollama serve` (check with `ps aux | grep ollama`), then check `curl {base}/api/tags`")]
    Unreachable {
        base: String,
        detail: String,
        failure: ConnectFailure,
    },
    #[error("Ollama at {base} answered `GET /api/tags` with HTTP {status}: {body}\n  hint: is this an Ollama server? `curl {base}/api/tags` should list your models")]
    Http {
        base: String,
        status: u16,
        body: String,
    },
    #[error("Ollama at {base} sent an unusable `/api/tags` reply: {detail}\n  hint: is this an Ollama server? `curl {base}/api/tags` should list your models")]
    BadReply { base: String, detail: String },
}

/// Lists the installed models and inspects each one.
pub async fn discover_ollama_models(
    req: &DiscoveryRequest,
) -> Result<DiscoveryReport, DiscoveryError> {
    let client = http_client(&req.base, req.timeout);
    let tags_url = format!("{}/api/tags", req.base);
    let unreachable = |e: &reqwest::Error| DiscoveryError::Unreachable {
        base: req.base.clone(),
        detail: describe_transport_error(e),
        failure: classify(e),
    };
    let resp = with_auth(client.get(&tags_url).timeout(req.timeout), req)
        .send()
        .await
        .map_err(|e| unreachable(&e))?;
    let status = resp.status();
    let body = read_capped(resp).await.map_err(|e| match e {
        // The server was reached and answered: a body that breaks off is a broken reply,
        // not an Ollama that needs starting.
        BodyError::Transport(e) if e.is_timeout() => unreachable(&e),
        BodyError::Transport(e) => DiscoveryError::BadReply {
            base: req.base.clone(),
            detail: format!(
                "the connection broke mid-reply ({})",
                describe_transport_error(&e)
            ),
        },
        BodyError::TooLarge => DiscoveryError::BadReply {
            base: req.base.clone(),
            detail: format!(
                "the reply is larger than {} MiB",
                MAX_BODY_BYTES / (1024 * 1024)
            ),
        },
    })?;
    if !status.is_success() {
        return Err(DiscoveryError::Http {
            base: req.base.clone(),
            status: status.as_u16(),
            body: snippet(&body),
        });
    }
    let names = parse_tags(&body).map_err(|detail| DiscoveryError::BadReply {
        base: req.base.clone(),
        detail,
    })?;
    let installed = names.len();

    let mut results: Vec<(usize, Result<DiscoveredModel, SkipWithName>)> =
        stream::iter(names.into_iter().enumerate())
            .map(|(i, tag)| {
                let client = &client;
                async move { (i, show_model(client, req, tag).await) }
            })
            .buffer_unordered(req.concurrency.max(1))
            .collect()
            .await;
    results.sort_by_key(|(i, _)| *i);

    let mut report = DiscoveryReport {
        base: req.base.clone(),
        installed,
        ..DiscoveryReport::default()
    };
    for (_, result) in results {
        match result {
            Ok(model) => report.models.push(model),
            Err(SkipWithName(name, reason)) => report.skipped.push(SkippedModel { name, reason }),
        }
    }
    Ok(report)
}

/// An HTTP client for `base`: no proxy for loopback hosts, connect timeout bounded.
pub fn http_client(base: &str, timeout: Duration) -> reqwest::Client {
    let mut builder =
        reqwest::Client::builder().connect_timeout(timeout.min(Duration::from_secs(10)));
    if is_loopback_url(base) {
        builder = builder.no_proxy();
    }
    builder.build().unwrap_or_else(|_| reqwest::Client::new())
}

/// True for `localhost`, `127.x.x.x` and `[::1]` URLs.
pub fn is_loopback_url(url: &str) -> bool {
    let host = host_of(url);
    host == "localhost" || host.starts_with("127.") || host == "[::1]" || host == "::1"
}

/// The host part of a URL (lower-cased, IPv6 with brackets).
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if authority.starts_with('[') {
        authority
            .split_once(']')
            .map_or(authority.to_string(), |(h, _)| format!("{h}]"))
    } else {
        authority.split(':').next().unwrap_or("").to_string()
    };
    host.to_ascii_lowercase()
}

/// A skip reason with the model it is about.
struct SkipWithName(String, SkipReason);

/// What `/api/tags` says about one model.
#[derive(Debug)]
struct TagEntry {
    name: String,
    size: Option<u64>,
    parameter_size: Option<String>,
    quantization: Option<String>,
}

fn parse_tags(body: &[u8]) -> Result<Vec<TagEntry>, String> {
    let value: Value = openclaw_untrusted::json::from_slice(body).map_err(|e| match e {
        openclaw_untrusted::json::Error::TooManyValues { .. } => format!("refused: {e}"),
        openclaw_untrusted::json::Error::Json(e) => format!("not JSON ({e}): {}", snippet(body)),
    })?;
    let models = value
        .get("models")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("no `models` array in {}", snippet(body)))?;
    Ok(models
        .iter()
        .filter_map(|m| {
            let name = m
                .get("name")
                .or_else(|| m.get("model"))
                .and_then(Value::as_str)?
                .trim();
            if name.is_empty() {
                return None;
            }
            let details = m.get("details");
            let detail = |k: &str| {
                details
                    .and_then(|d| d.get(k))
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            Some(TagEntry {
                name: name.to_string(),
                size: m.get("size").and_then(Value::as_u64),
                parameter_size: detail("parameter_size"),
                quantization: detail("quantization_level"),
            })
        })
        .collect())
}

async fn show_model(
    client: &reqwest::Client,
    req: &DiscoveryRequest,
    tag: TagEntry,
) -> Result<DiscoveredModel, SkipWithName> {
    let name = tag.name.clone();
    let fail = |reason| SkipWithName(name.clone(), reason);
    let url = format!("{}/api/show", req.base);
    let call = async {
        let resp = with_auth(client.post(&url), req)
            .json(&serde_json::json!({ "model": tag.name }))
            .send()
            .await
            .map_err(|e| SkipReason::ShowFailed(describe_transport_error(&e)))?;
        let status = resp.status();
        let body = read_capped(resp).await.map_err(|e| match e {
            BodyError::Transport(e) => SkipReason::ShowFailed(describe_transport_error(&e)),
            BodyError::TooLarge => SkipReason::ShowFailed("reply too large".to_string()),
        })?;
        if !status.is_success() {
            return Err(SkipReason::ShowFailed(format!(
                "HTTP {}: {}",
                status.as_u16(),
                snippet(&body)
            )));
        }
        Ok(body)
    };
    let body = match tokio::time::timeout(req.timeout, call).await {
        Err(_) => return Err(fail(SkipReason::ShowTimedOut(req.timeout))),
        Ok(Err(reason)) => return Err(fail(reason)),
        Ok(Ok(body)) => body,
    };
    let show: Value = openclaw_untrusted::json::from_slice(&body).map_err(|e| {
        fail(SkipReason::ShowFailed(match e {
            openclaw_untrusted::json::Error::TooManyValues { .. } => format!("reply refused: {e}"),
            openclaw_untrusted::json::Error::Json(e) => {
                format!("reply is not JSON ({e}): {}", snippet(&body))
            }
        }))
    })?;
    let capabilities: Vec<String> = show
        .get("capabilities")
        .and_then(Value::as_array)
        .map(|caps| {
            caps.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if !capabilities.iter().any(|c| c == "tools") {
        return Err(fail(SkipReason::NoTools { capabilities }));
    }
    let reported = context_length(&show);
    Ok(DiscoveredModel {
        reasoning: capabilities.iter().any(|c| c == "thinking"),
        vision: capabilities.iter().any(|c| c == "vision"),
        context_window: reported.unwrap_or(DEFAULT_CONTEXT_WINDOW),
        context_reported: reported.is_some(),
        capabilities,
        name: tag.name,
        size: tag.size,
        parameter_size: tag.parameter_size,
        quantization: tag.quantization,
    })
}

/// `model_info["<arch>.context_length"]` where `<arch>` is `model_info["general.architecture"]`.
fn context_length(show: &Value) -> Option<u64> {
    let info = show.get("model_info")?;
    let arch = info.get("general.architecture")?.as_str()?;
    let n = info.get(format!("{arch}.context_length"))?;
    n.as_u64()
        .or_else(|| n.as_f64().filter(|f| *f >= 1.0).map(|f| f as u64))
        .filter(|n| *n > 0)
}

/// Adds the configured headers and key. (`/api/show` is bounded by its caller's timeout, so
/// that a hang is reported as one, not as a transport error.)
fn with_auth(builder: reqwest::RequestBuilder, req: &DiscoveryRequest) -> reqwest::RequestBuilder {
    let mut builder = builder;
    for (k, v) in &req.headers {
        builder = builder.header(k, v);
    }
    match &req.api_key {
        Some(key) => builder.bearer_auth(key),
        None => builder,
    }
}

enum BodyError {
    Transport(reqwest::Error),
    TooLarge,
}

async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The start of a body, safe to print (control characters escaped).
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    match openclaw_untrusted::quote(&text, 200) {
        quoted if quoted.is_empty() => "(empty body)".to_string(),
        quoted => quoted,
    }
}

fn classify(e: &reqwest::Error) -> ConnectFailure {
    if e.is_timeout() {
        ConnectFailure::TimedOut
    } else if e.is_connect() && describe_transport_error(e).contains("refused") {
        ConnectFailure::Refused
    } else {
        ConnectFailure::Other
    }
}

/// A one-line account of a transport error, down to its root cause.
pub fn describe_transport_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_string();
    }
    let mut source: Option<&dyn std::error::Error> = Some(e);
    let mut last = e.to_string();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    let lower = last.to_ascii_lowercase();
    if lower.contains("connection refused") {
        "connection refused".to_string()
    } else if lower.contains("failed to lookup")
        || lower.contains("dns error")
        || lower.contains("name or service not known")
    {
        format!("cannot resolve the host name ({last})")
    } else {
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn context_length_follows_the_architecture() {
        let show = json!({"model_info": {"general.architecture": "qwen3", "qwen3.context_length": 40960, "llama.context_length": 1}});
        assert_eq!(context_length(&show), Some(40960));
        assert_eq!(context_length(&json!({"model_info": {}})), None);
        assert_eq!(
            context_length(
                &json!({"model_info": {"general.architecture": "x", "x.context_length": 0}})
            ),
            None
        );
        assert_eq!(context_length(&json!({})), None);
    }

    #[test]
    fn tags_parsing_is_lenient_about_entries_strict_about_shape() {
        let names = parse_tags(br#"{"models":[{"name":"a:latest","size":5,"details":{"parameter_size":"7B"}},{"name":""},{"x":1}]}"#).unwrap();
        assert_eq!(names.len(), 1);
        assert_eq!(names[0].parameter_size.as_deref(), Some("7B"));
        assert!(parse_tags(b"<html>").unwrap_err().contains("not JSON"));
        assert!(parse_tags(b"{}").unwrap_err().contains("no `models` array"));
    }

    #[test]
    fn hosts_are_recognised() {
        assert!(is_loopback_url("http://127.0.0.1:11434"));
        assert!(is_loopback_url("http://localhost:11434/v1"));
        assert!(is_loopback_url("http://[::1]:11434"));
        assert!(!is_loopback_url("http://ollama-host:11434/v1"));
        assert_eq!(host_of("https://user:pw@Example.com:8443/x"), "example.com");
    }
}
