//! Downloading a model through Ollama's `POST /api/pull`, for `openclaw models pull` and
//! `openclaw onboard`.
//!
//! The seed says "to add a model, pull it with Ollama"; doing it from here saves a trip to
//! another tool and lets us explain failures in our own terms. Ollama streams NDJSON progress
//! (`pulling manifest`, then `pulling <digest12>` records with `total`/`completed` per layer,
//! `verifying sha256 digest`, `writing manifest`, `success`) and reports most failures *inside*
//! that stream with HTTP 200 (`{"error":"pull model manifest: file does not exist"}`), so the
//! status code alone says little; bad requests come back as 4xx/5xx with an `{"error"}` body.
//!
//! A pull of a large model takes minutes to hours, so there is no overall timeout; instead an
//! idle timeout is restarted on every chunk. It is generous by default because Ollama says
//! nothing while it hashes a multi-gigabyte blob (`verifying sha256 digest`). Lines are capped
//! so a server that never sends a newline cannot make us buffer without bound.

use std::time::Duration;

use serde_json::Value;

use crate::discovery::{describe_transport_error, http_client};

/// How long the stream may stay silent before the pull is given up (restarted on every chunk).
pub const DEFAULT_PULL_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest NDJSON line accepted; progress records are ~200 bytes.
const MAX_LINE_BYTES: usize = 64 * 1024;
/// Largest error body read from a non-2xx reply.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Time allowed to open the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What to pull, and from where.
#[derive(Debug, Clone)]
pub struct PullRequest {
    /// Ollama's native base URL (`http://127.0.0.1:11434`), no `/v1`.
    pub base: String,
    /// The model as Ollama names it: `llama3.3`, `qwen2.5-coder:32b`, `hf.co/org/repo:Q4_K_M`.
    pub model: String,
    /// Sent as `Authorization: Bearer …` when set (Ollama ignores it; proxies may need it).
    pub api_key: Option<String>,
    pub headers: Vec<(String, String)>,
    /// See [`DEFAULT_PULL_IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
}

impl PullRequest {
    /// Defaults for pulling `model` from `base`.
    pub fn new(base: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            model: model.into(),
            api_key: None,
            headers: Vec::new(),
            idle_timeout: DEFAULT_PULL_IDLE_TIMEOUT,
        }
    }
}

/// One progress record, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullEvent {
    /// A step without byte counts, in Ollama's words: `pulling manifest`,
    /// `verifying sha256 digest`, `writing manifest`, …
    Status(String),
    /// Download progress of one layer.
    Layer(LayerProgress),
    /// Ollama said `success`: the model is installed.
    Success,
}

/// Bytes of one layer downloaded so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerProgress {
    /// `sha256:<64 hex digits>`.
    pub digest: String,
    /// Size of the layer in bytes; 0 while Ollama does not know it yet.
    pub total: u64,
    /// Bytes done (Ollama omits the field until the first bytes arrive).
    pub completed: u64,
}

impl LayerProgress {
    /// The 12 hex digits Ollama shows for a layer (`pulling 667b0c1932bc`).
    pub fn short_digest(&self) -> &str {
        let hex = self.digest.strip_prefix("sha256:").unwrap_or(&self.digest);
        hex.get(..12).unwrap_or(hex)
    }

    /// Whole percent done (0 when the size is unknown), never above 100.
    pub fn percent(&self) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let pct = u128::from(self.completed.min(self.total)) * 100 / u128::from(self.total);
        u64::try_from(pct).unwrap_or(100)
    }
}

/// Why a pull did not finish.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PullError {
    #[error("Ollama is not reachable at {base}: {detail}\n  hint: start it with `ollama serve` (check with `ps aux | grep ollama`), then check `curl {base}/api/tags`")]
    Unreachable { base: String, detail: String },
    #[error("Ollama at {base} found no model `{model}` to pull: {message}\n  hint: check the name and tag on https://ollama.com/library (e.g. `llama3.3`, `qwen2.5-coder:32b`)")]
    NotFound {
        base: String,
        model: String,
        message: String,
    },
    #[error("Ollama at {base} could not pull `{model}`: {message}\n  hint: run the same command again to resume; `ollama pull {model}` shows Ollama's own view")]
    Failed {
        base: String,
        model: String,
        message: String,
    },
    #[error("Ollama at {base} refused to pull `{model}` (HTTP {status}): {message}{}", http_hint(*.status, .base))]
    Http {
        base: String,
        model: String,
        status: u16,
        message: String,
    },
    #[error("Ollama at {base} sent nothing for {} s while pulling `{model}`, so the pull was given up\n  hint: run the same command again (Ollama resumes where it stopped); on a slow disk allow more time with OPENCLAW_PULL_IDLE_TIMEOUT=<seconds>", seconds(*.idle))]
    Stalled {
        base: String,
        model: String,
        idle: Duration,
    },
    #[error("the connection to Ollama at {base} broke while pulling `{model}`: {detail}\n  hint: run the same command again; Ollama resumes where it stopped")]
    Interrupted {
        base: String,
        model: String,
        detail: String,
    },
    #[error("Ollama at {base} sent an unusable reply while pulling `{model}`: {detail}\n  hint: is this an Ollama server? `curl {base}/api/tags` should list your models")]
    BadReply {
        base: String,
        model: String,
        detail: String,
    },
}

/// `300`, `0.5`: whole seconds without a fraction.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        d.as_secs().to_string()
    } else {
        format!("{:.1}", d.as_secs_f64())
    }
}

fn http_hint(status: u16, base: &str) -> String {
    match status {
        401 | 403 => "\n  hint: a proxy in front of Ollama wants a key: set OLLAMA_API_KEY or `models.providers.ollama.apiKey`".to_string(),
        404 | 405 => format!("\n  hint: is this an Ollama server? `curl {base}/api/tags` should list your models"),
        400 => "\n  hint: model names look like `llama3.3`, `qwen2.5-coder:32b` or `hf.co/org/repo:Q4_K_M`".to_string(),
        _ => format!("\n  hint: check Ollama's log (`journalctl -u ollama` or the `ollama serve` terminal) and `curl {base}/api/tags`"),
    }
}

/// Pulls `req.model`, calling `on_event` for every progress record; returns once Ollama says
/// `success`. Cancel by dropping the future: the connection closes and Ollama keeps what it
/// has downloaded for the next pull.
pub async fn pull_ollama_model(
    req: &PullRequest,
    mut on_event: impl FnMut(PullEvent),
) -> Result<(), PullError> {
    let client = http_client(&req.base, CONNECT_TIMEOUT);
    let url = format!("{}/api/pull", req.base);
    let mut builder = client
        .post(&url)
        .json(&serde_json::json!({ "model": req.model, "stream": true }));
    for (k, v) in &req.headers {
        builder = builder.header(k, v);
    }
    if let Some(key) = &req.api_key {
        builder = builder.bearer_auth(key);
    }
    let stalled = || PullError::Stalled {
        base: req.base.clone(),
        model: req.model.clone(),
        idle: req.idle_timeout,
    };
    let interrupted = |detail: String| PullError::Interrupted {
        base: req.base.clone(),
        model: req.model.clone(),
        detail,
    };
    let mut resp = match tokio::time::timeout(req.idle_timeout, builder.send()).await {
        Err(_) => return Err(stalled()),
        Ok(Err(e)) => {
            return Err(PullError::Unreachable {
                base: req.base.clone(),
                detail: describe_transport_error(&e),
            })
        }
        Ok(Ok(resp)) => resp,
    };

    let status = resp.status();
    if !status.is_success() {
        let body = read_error_body(&mut resp, req.idle_timeout).await;
        return Err(PullError::Http {
            base: req.base.clone(),
            model: req.model.clone(),
            status: status.as_u16(),
            message: error_message(&body),
        });
    }

    let mut lines = LineBuffer::new(MAX_LINE_BYTES);
    loop {
        let chunk = match tokio::time::timeout(req.idle_timeout, resp.chunk()).await {
            Err(_) => return Err(stalled()),
            Ok(Err(e)) => return Err(interrupted(describe_transport_error(&e))),
            Ok(Ok(chunk)) => chunk,
        };
        let finished = chunk.is_none();
        let complete = match &chunk {
            Some(bytes) => lines.push(bytes),
            None => Ok(lines.finish()),
        };
        let complete = complete.map_err(|limit| PullError::BadReply {
            base: req.base.clone(),
            model: req.model.clone(),
            detail: format!("a progress line is longer than {} KiB", limit / 1024),
        })?;
        for line in complete {
            match parse_record(&line) {
                Record::Event(PullEvent::Success) => {
                    on_event(PullEvent::Success);
                    return Ok(());
                }
                Record::Event(event) => on_event(event),
                Record::Error(message) => return Err(classify_error(req, message)),
                Record::Ignored => {}
                Record::NotJson(detail) => {
                    return Err(PullError::BadReply {
                        base: req.base.clone(),
                        model: req.model.clone(),
                        detail,
                    })
                }
            }
        }
        if finished {
            return Err(interrupted(
                "the reply ended before Ollama reported `success`".to_string(),
            ));
        }
    }
}

/// One NDJSON line, understood.
#[derive(Debug, PartialEq)]
enum Record {
    Event(PullEvent),
    Error(String),
    /// Valid JSON that is neither progress nor an error (future fields); skipped.
    Ignored,
    NotJson(String),
}

fn parse_record(line: &str) -> Record {
    let value: Value = match openclaw_untrusted::json::from_str(line) {
        Ok(v) => v,
        Err(e @ openclaw_untrusted::json::Error::TooManyValues { .. }) => {
            return Record::NotJson(format!("refused: {e}"))
        }
        Err(e) => return Record::NotJson(format!("not JSON ({e}): {}", snippet(line))),
    };
    if let Some(error) = value.get("error") {
        let message = match error {
            Value::String(s) => openclaw_untrusted::quote(s, 500),
            other => openclaw_untrusted::quote(&other.to_string(), 500),
        };
        return Record::Error(message);
    }
    let Some(status) = value.get("status").and_then(Value::as_str) else {
        return Record::Ignored;
    };
    if status == "success" {
        return Record::Event(PullEvent::Success);
    }
    let digest = value
        .get("digest")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty());
    let number = |k: &str| value.get(k).and_then(Value::as_u64).unwrap_or(0);
    match digest {
        Some(digest) if status.starts_with("pulling") || value.get("total").is_some() => {
            Record::Event(PullEvent::Layer(LayerProgress {
                digest: openclaw_untrusted::quote(digest, 100),
                total: number("total"),
                completed: number("completed"),
            }))
        }
        _ => Record::Event(PullEvent::Status(openclaw_untrusted::quote(status, 200))),
    }
}

/// Ollama's "no such model" errors (registry 404 surfaces as `file does not exist`).
fn classify_error(req: &PullRequest, message: String) -> PullError {
    let lower = message.to_ascii_lowercase();
    let not_found = lower.contains("file does not exist")
        || lower.contains("manifest unknown")
        || lower.contains("not found");
    if not_found {
        PullError::NotFound {
            base: req.base.clone(),
            model: req.model.clone(),
            message,
        }
    } else {
        PullError::Failed {
            base: req.base.clone(),
            model: req.model.clone(),
            message,
        }
    }
}

async fn read_error_body(resp: &mut reqwest::Response, idle: Duration) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout(idle, resp.chunk()).await {
        let room = MAX_ERROR_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    body
}

/// `{"error": "…"}` → its message; anything else → a snippet of the body.
fn error_message(body: &[u8]) -> String {
    openclaw_untrusted::json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").cloned())
        .map(|e| match e {
            Value::String(s) => openclaw_untrusted::quote(&s, 500),
            other => openclaw_untrusted::quote(&other.to_string(), 500),
        })
        .unwrap_or_else(|| snippet(&String::from_utf8_lossy(body)))
}

/// The start of a line or body, safe to print (control characters escaped).
fn snippet(text: &str) -> String {
    match openclaw_untrusted::quote(text, 200) {
        quoted if quoted.is_empty() => "(empty body)".to_string(),
        quoted => quoted,
    }
}

/// Splits bytes into non-blank lines; the tail of a line cut by the network waits for the
/// next chunk. Errors with the limit when a line grows past it.
struct LineBuffer {
    max_line: usize,
    line: Vec<u8>,
}

impl LineBuffer {
    fn new(max_line: usize) -> Self {
        Self {
            max_line,
            line: Vec::new(),
        }
    }

    fn push(&mut self, bytes: &[u8]) -> Result<Vec<String>, usize> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            self.append(&rest[..pos])?;
            rest = &rest[pos + 1..];
            self.take_line(&mut out);
        }
        self.append(rest)?;
        Ok(out)
    }

    fn finish(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        self.take_line(&mut out);
        out
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), usize> {
        if self.line.len() + bytes.len() > self.max_line {
            return Err(self.max_line);
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn take_line(&mut self, out: &mut Vec<String>) {
        let text = String::from_utf8_lossy(&self.line);
        let trimmed = text.trim();
        if !trimmed.is_empty() {
            out.push(trimmed.to_string());
        }
        self.line.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:667b0c1932bc6ffc593ed1d03f895bf2dc8dc6df21db3042284a6f4416b06a29";

    #[test]
    fn records_become_typed_events() {
        assert_eq!(
            parse_record(r#"{"status":"pulling manifest"}"#),
            Record::Event(PullEvent::Status("pulling manifest".into()))
        );
        // Ollama omits `completed` until bytes arrive.
        assert_eq!(
            parse_record(&format!(
                r#"{{"status":"pulling 667b0c1932bc","digest":"{DIGEST}","total":4920753328}}"#
            )),
            Record::Event(PullEvent::Layer(LayerProgress {
                digest: DIGEST.into(),
                total: 4_920_753_328,
                completed: 0
            }))
        );
        assert_eq!(
            parse_record(r#"{"status":"success"}"#),
            Record::Event(PullEvent::Success)
        );
        assert_eq!(
            parse_record(r#"{"error":"pull model manifest: file does not exist"}"#),
            Record::Error("pull model manifest: file does not exist".into())
        );
        assert_eq!(parse_record(r#"{"other":1}"#), Record::Ignored);
        assert!(matches!(parse_record("<html>"), Record::NotJson(_)));
    }

    /// What a hostile server says reaches the terminal; escape sequences must not.
    #[test]
    fn server_words_cannot_carry_terminal_escapes() {
        assert_eq!(
            parse_record(r#"{"status":"\u001b[2J\u001b]0;pwned\u0007verifying"}"#),
            Record::Event(PullEvent::Status(
                "\\u{1b}[2J\\u{1b}]0;pwned\\u{7}verifying".into()
            ))
        );
        let Record::Error(message) = parse_record(r#"{"error":"\u001b[31mbad"}"#) else {
            panic!("not an error record");
        };
        assert!(!message.contains('\u{1b}'), "{message}");
        assert!(!error_message(b"\x1b[31m<html>").contains('\u{1b}'));
    }

    #[test]
    fn layer_progress_reads_like_ollama() {
        let mut p = LayerProgress {
            digest: DIGEST.into(),
            total: 400,
            completed: 100,
        };
        assert_eq!(p.short_digest(), "667b0c1932bc");
        assert_eq!(p.percent(), 25);
        p.completed = 500;
        assert_eq!(p.percent(), 100);
        p.total = 0;
        assert_eq!(p.percent(), 0);
        p.digest = "abc".into();
        assert_eq!(p.short_digest(), "abc");
    }

    #[test]
    fn lines_cut_anywhere_are_reassembled_and_capped() {
        let body = b"{\"a\":1}\r\n\n{\"b\":\"\xc3\xbc\"}\n{\"c\":3}";
        for cut in 0..=body.len() {
            let (x, y) = body.split_at(cut);
            let mut buf = LineBuffer::new(64);
            let mut out = buf.push(x).unwrap();
            out.extend(buf.push(y).unwrap());
            out.extend(buf.finish());
            assert_eq!(
                out,
                ["{\"a\":1}", "{\"b\":\"ü\"}", "{\"c\":3}"],
                "cut at {cut}"
            );
        }
        let mut buf = LineBuffer::new(8);
        assert_eq!(buf.push(b"0123456789"), Err(8));
    }

    #[test]
    fn missing_models_are_told_apart_from_other_failures() {
        let req = PullRequest::new("http://h:1", "nope");
        assert!(matches!(
            classify_error(&req, "pull model manifest: file does not exist".to_string()),
            PullError::NotFound { .. }
        ));
        let err = classify_error(&req, "max retries exceeded: EOF".to_string());
        assert!(matches!(err, PullError::Failed { .. }));
        let text = err.to_string();
        assert!(text.contains("http://h:1") && text.contains("`nope`") && text.contains("hint:"));
    }

    async fn pull_from(
        server: &openclaw_test_support::TestServer,
        model: &str,
        idle: Duration,
    ) -> (Vec<PullEvent>, Result<(), PullError>) {
        let mut req = PullRequest::new(server.url(), model);
        req.idle_timeout = idle;
        req.api_key = Some("ollama-local".into());
        let mut events = Vec::new();
        let result = pull_ollama_model(&req, |e| events.push(e)).await;
        (events, result)
    }

    #[tokio::test]
    async fn a_pull_reports_every_step_and_installs_the_model() {
        use openclaw_test_support::{PullScript, TestServer};
        let server = TestServer::builder()
            .pull_script("qwen3:8b", PullScript::new())
            .start()
            .await
            .unwrap();
        let (events, result) = pull_from(&server, "qwen3:8b", Duration::from_secs(5)).await;
        result.unwrap();
        assert_eq!(events[0], PullEvent::Status("pulling manifest".into()));
        assert_eq!(events.last(), Some(&PullEvent::Success));
        let layers: Vec<&LayerProgress> = events
            .iter()
            .filter_map(|e| match e {
                PullEvent::Layer(l) => Some(l),
                _ => None,
            })
            .collect();
        assert_eq!(layers.len(), 40);
        assert!(layers[0].total > 4_000_000_000 && layers[0].completed == 0);
        assert!(server.model_names().contains(&"qwen3:8b".to_string()));
        let sent = server.requests();
        let pull = sent.iter().find(|r| r.path == "/api/pull").unwrap();
        assert_eq!(pull.json().unwrap()["stream"], true);
        assert_eq!(pull.header("authorization"), Some("Bearer ollama-local"));
    }

    #[tokio::test]
    async fn failures_are_classified() {
        use openclaw_test_support::{PullScript, TestServer};
        let server = TestServer::builder()
            .pull_script(
                "dies",
                PullScript::new().fail_after(12, "max retries exceeded: EOF"),
            )
            .pull_script("forbidden", PullScript::new().http_error(403, "no"))
            .pull_script(
                "slow",
                PullScript::new().record_delay(Duration::from_millis(400)),
            )
            .start()
            .await
            .unwrap();
        let idle = Duration::from_secs(5);
        let (events, result) = pull_from(&server, "dies", idle).await;
        assert_eq!(events.len(), 1 + 12);
        assert!(
            matches!(&result, Err(PullError::Failed { message, .. }) if message.contains("max retries")),
            "{result:?}"
        );
        let (_, result) = pull_from(&server, "nope", idle).await;
        assert!(
            matches!(result, Err(PullError::NotFound { .. })),
            "{result:?}"
        );
        let (_, result) = pull_from(&server, "forbidden", idle).await;
        assert!(
            matches!(result, Err(PullError::Http { status: 403, .. })),
            "{result:?}"
        );
        let (events, result) = pull_from(&server, "slow", Duration::from_millis(100)).await;
        assert_eq!(events.len(), 1);
        assert!(
            matches!(result, Err(PullError::Stalled { .. })),
            "{result:?}"
        );
        assert!(!server.model_names().iter().any(|n| n.starts_with("dies")));
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let req = PullRequest::new(format!("http://127.0.0.1:{port}"), "m");
        let err = pull_ollama_model(&req, |_| {}).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, PullError::Unreachable { .. }));
        assert!(
            text.contains("connection refused") && text.contains("ollama serve"),
            "{text}"
        );
    }

    #[test]
    fn error_bodies_are_read_leniently() {
        assert_eq!(
            error_message(br#"{"error":"invalid model name"}"#),
            "invalid model name"
        );
        assert_eq!(error_message(b"404 page not found"), "404 page not found");
        assert_eq!(error_message(b""), "(empty body)");
    }
}
