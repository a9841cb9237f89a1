//! Turning what went wrong on the wire into an [`LlmError`] class.
//!
//! The agent picks fallback or compaction from the class alone, and the user reads the
//! server's own words, so this module decides the class from the HTTP status and the message
//! (llama.cpp and Ollama report context overflow only in the text), and digs the message out
//! of whichever error shape the server used: Ollama `{"error": "…"}`, OpenAI
//! `{"error": {"message": …}}`, or plain text.

use serde_json::Value;

use crate::error::LlmError;

/// The longest server message kept, in characters.
const MAX_MESSAGE_CHARS: usize = 500;

/// What an error is about: the URL called and the model asked for.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub url: String,
    pub model: String,
}

/// An error answer (`status` ≥ 400, or any status the client cannot use) with its body.
pub(crate) fn classify_status(ctx: &Context, status: u16, body: &str) -> LlmError {
    let mut message = server_message(body);
    if message.is_empty() {
        message = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("no details")
            .to_owned();
    }
    classify(ctx, status, message)
}

/// An error reported inside a `200` stream: Ollama's `{"error": "…"}` line, or an SSE chunk
/// `{"error": {"message", "code", …}}` (llama.cpp). `value` is the whole record.
pub(crate) fn classify_stream_error(ctx: &Context, value: &Value) -> LlmError {
    let error = value.get("error").unwrap_or(value);
    let message = match error {
        Value::String(text) => text.clone(),
        Value::Object(object) => object
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| error.to_string(), str::to_owned),
        other => other.to_string(),
    };
    let message = truncate(message.trim(), MAX_MESSAGE_CHARS);
    let code = error
        .get("code")
        .or_else(|| value.get("status_code"))
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (400..600).contains(c));
    match code {
        Some(code) => classify(ctx, code, message),
        None => classify_message(ctx, message),
    }
}

fn classify(ctx: &Context, status: u16, message: String) -> LlmError {
    let url = ctx.url.clone();
    match status {
        401 | 403 => LlmError::Auth {
            url,
            status,
            message,
        },
        429 => LlmError::RateLimited { url, message },
        _ if is_context_overflow(&message) => LlmError::ContextOverflow { url, message },
        404 if mentions_model(ctx, &message) => LlmError::ModelNotFound {
            url,
            model: ctx.model.clone(),
            message,
        },
        400..=499 => LlmError::BadRequest {
            url,
            status,
            message,
        },
        _ => LlmError::Server {
            url,
            status,
            message,
        },
    }
}

/// An in-stream error without a status: the class comes from the words.
fn classify_message(ctx: &Context, message: String) -> LlmError {
    let lower = message.to_lowercase();
    if is_context_overflow(&message) {
        LlmError::ContextOverflow {
            url: ctx.url.clone(),
            message,
        }
    } else if lower.contains("not found") && mentions_model(ctx, &message) {
        LlmError::ModelNotFound {
            url: ctx.url.clone(),
            model: ctx.model.clone(),
            message,
        }
    } else if lower.contains("rate limit") {
        LlmError::RateLimited {
            url: ctx.url.clone(),
            message,
        }
    } else {
        // The HTTP status was 200; the server failed while answering.
        LlmError::Server {
            url: ctx.url.clone(),
            status: 200,
            message,
        }
    }
}

/// A 404 is about the model when it names it (or says "model"): a bare `404 page not found`
/// means a wrong base URL, which another model would not fix.
fn mentions_model(ctx: &Context, message: &str) -> bool {
    let lower = message.to_lowercase();
    lower.contains("model") || (!ctx.model.is_empty() && lower.contains(&ctx.model.to_lowercase()))
}

/// The phrases servers use when the prompt does not fit the context window.
fn is_context_overflow(message: &str) -> bool {
    const PHRASES: [&str; 9] = [
        "exceed_context_size_error",
        "exceeds the available context size",
        "context length",
        "context_length_exceeded",
        "maximum context length",
        "context window",
        "prompt is too long",
        "input length exceeds",
        "too many tokens",
    ];
    let lower = message.to_lowercase();
    PHRASES.iter().any(|p| lower.contains(p))
}

/// The human part of an error body, trimmed and truncated.
pub(crate) fn server_message(body: &str) -> String {
    let body = body.trim();
    let message = match openclaw_untrusted::json::from_str::<Value>(body) {
        Ok(value) => json_message(&value).unwrap_or_else(|| value.to_string()),
        Err(_) => body.to_owned(),
    };
    let message = message.trim();
    // llama.cpp names the class in `type`; keep it when it says more than the message.
    truncate(message, MAX_MESSAGE_CHARS)
}

fn json_message(value: &Value) -> Option<String> {
    let error = value.get("error");
    let text = match error {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Object(object)) => {
            let message = object.get("message").and_then(Value::as_str)?;
            match object.get("type").and_then(Value::as_str) {
                // `exceed_context_size_error` is how llama.cpp marks an overflow.
                Some(kind) if kind.contains("context") && !message.contains(kind) => {
                    format!("{message} ({kind})")
                }
                _ => message.to_owned(),
            }
        }
        _ => value
            .get("message")
            .or_else(|| value.get("detail"))
            .and_then(Value::as_str)?
            .to_owned(),
    };
    Some(text)
}

/// At most `max` characters of a server's `text`, with `…` when cut, safe to print (control
/// characters escaped: see [`openclaw_untrusted::quote`]).
pub(crate) fn truncate(text: &str, max: usize) -> String {
    openclaw_untrusted::quote(text, max)
}

/// The root cause of a transport failure, in words a user can act on.
pub(crate) fn describe_transport_error(error: &reqwest::Error) -> String {
    if error.is_builder() {
        return format!("cannot build the request ({})", root_cause(error));
    }
    let root = root_cause(error);
    let lower = root.to_lowercase();
    if lower.contains("connection refused") {
        format!("connection refused ({root}); is the server running?")
    } else if lower.contains("failed to lookup")
        || lower.contains("dns error")
        || lower.contains("name or service not known")
        || lower.contains("no such host")
        || lower.contains("nodename nor servname")
    {
        format!("cannot resolve the host name ({root})")
    } else {
        root
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Context {
        Context {
            url: "http://h/v1/chat/completions".into(),
            model: "llama3.3".into(),
        }
    }

    #[test]
    fn statuses_map_to_classes() {
        let kind = |status: u16, body: &str| classify_status(&ctx(), status, body).kind();
        assert_eq!(kind(401, "nope"), "auth");
        assert_eq!(kind(403, "nope"), "auth");
        assert_eq!(
            kind(404, r#"{"error":"model 'llama3.3' not found"}"#),
            "model-not-found"
        );
        assert_eq!(
            kind(
                404,
                r#"{"error":{"message":"model \"llama3.3\" not found, try pulling it first","type":"api_error"}}"#
            ),
            "model-not-found"
        );
        assert_eq!(kind(404, "404 page not found"), "bad-request");
        assert_eq!(kind(429, "slow down"), "rate-limited");
        assert_eq!(kind(500, "boom"), "server");
        assert_eq!(kind(503, ""), "server");
        assert_eq!(kind(400, r#"{"error":"invalid tool"}"#), "bad-request");
        assert_eq!(kind(422, "bad"), "bad-request");
    }

    #[test]
    fn context_overflow_is_recognised_in_every_dialect() {
        let llama_cpp = r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":9000,"n_ctx":8192}}"#;
        for (status, body) in [
            (400, llama_cpp),
            (
                400,
                r#"{"error":{"message":"This model's maximum context length is 8192 tokens","code":"context_length_exceeded"}}"#,
            ),
            (413, "prompt is too long: 9000 tokens > 8192"),
            (
                400,
                r#"{"error":"input length exceeds the context length"}"#,
            ),
            (
                500,
                r#"{"error":{"code":500,"message":"the request exceeds the available context size, try increasing it"}}"#,
            ),
        ] {
            let error = classify_status(&ctx(), status, body);
            assert_eq!(error.kind(), "context-overflow", "{body}");
        }
        let error = classify_status(&ctx(), 400, llama_cpp);
        let LlmError::ContextOverflow { message, .. } = error else {
            panic!("{error:?}")
        };
        assert_eq!(
            message,
            "the request exceeds the available context size, try increasing it (exceed_context_size_error)"
        );
    }

    #[test]
    fn the_servers_message_is_kept_trimmed_and_short() {
        assert_eq!(server_message("  plain text \n"), "plain text");
        assert_eq!(
            server_message(r#"{"error":"model 'x' not found"}"#),
            "model 'x' not found"
        );
        assert_eq!(
            server_message(r#"{"error":{"message":"m","type":"t"}}"#),
            "m"
        );
        assert_eq!(server_message(r#"{"detail":"d"}"#), "d");
        // A hostile server's words reach the terminal: no escape sequences.
        assert_eq!(
            server_message(r#"{"error":"\u001b[2Jgone"}"#),
            "\\u{1b}[2Jgone"
        );
        assert_eq!(
            server_message("\u{1b}]0;title\u{7}"),
            "\\u{1b}]0;title\\u{7}"
        );
        assert_eq!(server_message(r#"{"other":1}"#), r#"{"other":1}"#);
        let long = "é".repeat(2000);
        let cut = server_message(&long);
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(cut.ends_with('…'));
        let error = classify_status(&ctx(), 502, "");
        assert!(error.to_string().contains("Bad Gateway"), "{error}");
    }

    #[test]
    fn stream_errors_are_classified() {
        let kind = |v: Value| classify_stream_error(&ctx(), &v).kind();
        assert_eq!(
            kind(json!({"error": "an error was encountered while running the model"})),
            "server"
        );
        assert_eq!(
            kind(
                json!({"error": {"code": 400, "message": "the request exceeds the available context size"}})
            ),
            "context-overflow"
        );
        assert_eq!(
            kind(json!({"error": {"code": 503, "message": "Loading model"}})),
            "server"
        );
        assert_eq!(
            kind(json!({"error": "model 'llama3.3' not found"})),
            "model-not-found"
        );
        assert_eq!(
            kind(json!({"error": "rate limit exceeded"})),
            "rate-limited"
        );
        let error = classify_stream_error(&ctx(), &json!({"error": {"message": "oops"}}));
        assert!(error.to_string().ends_with("oops"), "{error}");
    }
}
