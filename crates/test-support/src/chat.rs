//! The chat endpoints: `POST /v1/chat/completions` (OpenAI-compatible, SSE when streaming)
//! and `POST /api/chat` (native, NDJSON when streaming).
//!
//! A model answers with its scripted [`Reply`]s when it has any, served as-is in chunks;
//! otherwise with a short default text reply (`"Hello from <model>"`) built in Ollama's shapes:
//! `fixtures/ollama/chat-stream-*.sse` and `chat-completion-toolcall.json` for `/v1`,
//! `api-chat-stream-toolcall.ndjson` for `/api/chat`. Thinking models think first (in
//! `reasoning` on `/v1`, `thinking` natively) unless the request turns thinking off.
//!
//! This is the extension point for richer scripts (tool calls, mid-stream errors, per-turn
//! expectations): add them as new [`Reply`] kinds or builders here.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{json, Map, Value};

use crate::behaviour::{self, Gate};
use crate::clock;
use crate::ollama_api::{self, json_response, ollama_error, parse_object, string_field};
use crate::spec::{Reply, SENT_AT_PLACEHOLDER};
use crate::state::{ModelEntry, ServerState};

/// What the default reply says, token by token. The model name is appended.
const GREETING: [&str; 2] = ["Hello", " from"];
/// What a thinking model thinks before the default reply, token by token.
const THOUGHT: [&str; 6] = ["The", " user", " wants", " a", " greeting", "."];

/// `POST /v1/chat/completions`.
pub(crate) async fn openai_chat(State(state): State<Arc<ServerState>>, body: Bytes) -> Response {
    // The middleware's own parse errors are `invalid_request_error`; errors coming back from
    // the native handler are re-wrapped as `api_error` (`middleware/openai.go` writeError).
    let request = match parse_object(&body) {
        Ok(request) => request,
        Err(message) => {
            return openai_error(StatusCode::BAD_REQUEST, &message, "invalid_request_error")
        }
    };
    let model = match string_field(&request, "model") {
        Ok(Some(model)) if !model.is_empty() => model.to_owned(),
        Ok(_) => return openai_error(StatusCode::BAD_REQUEST, "model is required", "api_error"),
        Err(message) => return openai_error(StatusCode::BAD_REQUEST, &message, "api_error"),
    };
    let Some(entry) = state.find(&model) else {
        return openai_error(
            StatusCode::NOT_FOUND,
            &format!("model \"{model}\" not found, try pulling it first"),
            "api_error",
        );
    };
    let think = openai_think(&request);
    if let Err(message) = check_capabilities(&entry, &model, &request, think) {
        return openai_error(StatusCode::BAD_REQUEST, &message, "api_error");
    }
    let stream = request.get("stream").and_then(Value::as_bool) == Some(true);
    let include_usage = request
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        == Some(true);
    let turn = Turn::new(&entry, &model, &request, think);
    let id = format!("chatcmpl-{}", state.next_completion_id() % 999);
    let created = clock::now().as_secs();

    match behaviour::gate(&entry.spec.chat_behaviour).await {
        Gate::Proceed => {}
        Gate::Garbage => {
            return behaviour::garbage(&openai_completion(&turn, &id, created).to_string())
        }
        Gate::Answer(response) => return response,
    }
    if let Some(reply) = entry.next_reply() {
        return scripted(reply, entry.spec.chunk_delay);
    }
    if stream {
        let events = openai_chunks(&turn, &id, created, include_usage)
            .into_iter()
            .map(|chunk| format!("data: {chunk}\n\n"))
            .chain(std::iter::once("data: [DONE]\n\n".to_owned()))
            .collect();
        streamed("text/event-stream", events, entry.spec.chunk_delay)
    } else {
        (
            [(header::CONTENT_TYPE, "application/json")],
            openai_completion(&turn, &id, created).to_string(),
        )
            .into_response()
    }
}

/// `POST /api/chat`.
pub(crate) async fn native_chat(State(state): State<Arc<ServerState>>, body: Bytes) -> Response {
    let request = match parse_object(&body) {
        Ok(request) => request,
        Err(message) => return ollama_error(StatusCode::BAD_REQUEST, &message),
    };
    let model = match string_field(&request, "model") {
        Ok(Some(model)) if !model.is_empty() => model.to_owned(),
        Ok(_) => return ollama_error(StatusCode::BAD_REQUEST, "model is required"),
        Err(message) => return ollama_error(StatusCode::BAD_REQUEST, &message),
    };
    let Some(entry) = state.find(&model) else {
        return ollama_api::model_not_found(&model);
    };
    let think = native_think(&request);
    if let Err(message) = check_capabilities(&entry, &model, &request, think) {
        return ollama_error(StatusCode::BAD_REQUEST, &message);
    }
    // Native chat streams unless told not to.
    let stream = request.get("stream").and_then(Value::as_bool) != Some(false);
    let turn = Turn::new(&entry, &model, &request, think);

    match behaviour::gate(&entry.spec.chat_behaviour).await {
        Gate::Proceed => {}
        Gate::Garbage => return behaviour::garbage(&native_complete(&turn).to_string()),
        Gate::Answer(response) => return response,
    }
    if let Some(reply) = entry.next_reply() {
        return scripted(reply, entry.spec.chunk_delay);
    }
    if stream {
        let lines = native_lines(&turn)
            .into_iter()
            .map(|line| format!("{line}\n"))
            .collect();
        streamed("application/x-ndjson", lines, entry.spec.chunk_delay)
    } else {
        json_response(StatusCode::OK, &native_complete(&turn))
    }
}

/// What the request asked about thinking: `None` when it did not say.
type Think = Option<bool>;

/// `/v1`: `reasoning_effort` or `reasoning.effort`; `"none"` turns thinking off, any other
/// effort turns it on (`openai/openai.go` FromChatRequest).
fn openai_think(request: &Map<String, Value>) -> Think {
    let effort = request
        .get("reasoning_effort")
        .and_then(Value::as_str)
        .or_else(|| {
            request
                .get("reasoning")
                .and_then(|r| r.get("effort"))
                .and_then(Value::as_str)
        })?;
    Some(effort != "none")
}

/// `/api/chat`: `think` is a bool or an effort level string.
fn native_think(request: &Map<String, Value>) -> Think {
    match request.get("think")? {
        Value::Bool(b) => Some(*b),
        Value::String(level) => Some(level != "none"),
        _ => None,
    }
}

/// Ollama's capability checks before scheduling a model (`server/routes.go`): tools need
/// `tools`; asking to think needs `thinking`.
fn check_capabilities(
    entry: &ModelEntry,
    requested: &str,
    request: &Map<String, Value>,
    think: Think,
) -> Result<(), String> {
    let wants_tools = request
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|tools| !tools.is_empty());
    if wants_tools && !entry.spec.has_capability("tools") {
        return Err(format!(
            "{} does not support tools",
            entry.spec.qualified_name()
        ));
    }
    if think == Some(true) && !entry.spec.has_capability("thinking") {
        return Err(format!("\"{requested}\" does not support thinking"));
    }
    Ok(())
}

/// The default reply for one request, before it is put in either wire format.
struct Turn {
    /// The model name as requested; Ollama echoes it in responses.
    model: String,
    thinking: Vec<String>,
    content: Vec<String>,
    prompt_tokens: u64,
    /// `length` when the request's token limit cut the answer, else `stop`.
    finish_reason: &'static str,
}

/// The request's cap on answer tokens: `max_tokens` or `max_completion_tokens` on `/v1`,
/// `options.num_predict` natively (a negative `num_predict` means no cap).
fn token_limit(request: &Map<String, Value>) -> Option<usize> {
    let limit = request
        .get("max_completion_tokens")
        .or_else(|| request.get("max_tokens"))
        .or_else(|| request.get("options").and_then(|o| o.get("num_predict")))?;
    limit.as_u64().and_then(|n| usize::try_from(n).ok())
}

impl Turn {
    fn new(entry: &ModelEntry, model: &str, request: &Map<String, Value>, think: Think) -> Self {
        // Thinking models think by default.
        let thinks = entry.spec.has_capability("thinking") && think != Some(false);
        let thinking = if thinks {
            THOUGHT.iter().map(|t| (*t).to_owned()).collect()
        } else {
            Vec::new()
        };
        let mut content: Vec<String> = GREETING.iter().map(|t| (*t).to_owned()).collect();
        content.push(format!(" {model}"));
        // A token limit cuts the answer, as a real server does, and the reply says so.
        let mut finish_reason = "stop";
        if let Some(limit) = token_limit(request) {
            if limit < content.len() {
                content.truncate(limit);
                finish_reason = "length";
            }
        }
        // About four characters per token, from the messages as sent.
        let prompt_chars = request.get("messages").map_or(0, |m| m.to_string().len());
        Turn {
            model: model.to_owned(),
            thinking,
            content,
            prompt_tokens: (prompt_chars / 4).max(1) as u64,
            finish_reason,
        }
    }

    fn completion_tokens(&self) -> u64 {
        (self.thinking.len() + self.content.len()) as u64
    }

    fn usage(&self) -> Value {
        json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens(),
            "total_tokens": self.prompt_tokens + self.completion_tokens(),
        })
    }
}

/// The `/v1` stream's chunks (`data:` payloads), like `fixtures/ollama/chat-stream-thinking.sse`:
/// `role` only on the first delta, reasoning deltas carry `"content":""`, the finish reason
/// on its own chunk with `delta: {}`, then the usage chunk when asked for.
fn openai_chunks(turn: &Turn, id: &str, created: u64, include_usage: bool) -> Vec<Value> {
    let chunk = |delta: Value, finish_reason: Value| {
        json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": turn.model,
            "system_fingerprint": "fp_ollama",
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish_reason }],
        })
    };
    let mut chunks = Vec::new();
    for token in &turn.thinking {
        let mut delta = Map::new();
        if chunks.is_empty() {
            delta.insert("role".to_owned(), json!("assistant"));
        }
        delta.insert("content".to_owned(), json!(""));
        delta.insert("reasoning".to_owned(), json!(token));
        chunks.push(chunk(Value::Object(delta), Value::Null));
    }
    for token in &turn.content {
        let mut delta = Map::new();
        if chunks.is_empty() {
            delta.insert("role".to_owned(), json!("assistant"));
        }
        delta.insert("content".to_owned(), json!(token));
        chunks.push(chunk(Value::Object(delta), Value::Null));
    }
    chunks.push(chunk(json!({}), json!(turn.finish_reason)));
    if include_usage {
        chunks.push(json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": turn.model,
            "system_fingerprint": "fp_ollama",
            "choices": [],
            "usage": turn.usage(),
        }));
    }
    chunks
}

/// The non-streaming `/v1` body, like `fixtures/ollama/chat-completion-toolcall.json`.
fn openai_completion(turn: &Turn, id: &str, created: u64) -> Value {
    let mut message = Map::new();
    message.insert("role".to_owned(), json!("assistant"));
    message.insert("content".to_owned(), json!(turn.content.concat()));
    if !turn.thinking.is_empty() {
        message.insert("reasoning".to_owned(), json!(turn.thinking.concat()));
    }
    json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": turn.model,
        "system_fingerprint": "fp_ollama",
        "choices": [{ "index": 0, "message": message, "finish_reason": turn.finish_reason }],
        "usage": turn.usage(),
    })
}

/// The native stream's lines, like `fixtures/ollama/api-chat-stream-toolcall.ndjson`: one
/// object per token with `done: false`, then a final empty message with the metrics.
fn native_lines(turn: &Turn) -> Vec<Value> {
    let line = |content: &str, thinking: Option<&str>| {
        let mut message = Map::new();
        message.insert("role".to_owned(), json!("assistant"));
        message.insert("content".to_owned(), json!(content));
        if let Some(thinking) = thinking {
            message.insert("thinking".to_owned(), json!(thinking));
        }
        json!({
            "model": turn.model,
            "created_at": clock::rfc3339_nano(clock::now()),
            "message": message,
            "done": false,
        })
    };
    let mut lines: Vec<Value> = turn.thinking.iter().map(|t| line("", Some(t))).collect();
    lines.extend(turn.content.iter().map(|t| line(t, None)));
    lines.push(native_done(
        turn,
        json!({ "role": "assistant", "content": "" }),
    ));
    lines
}

/// The non-streaming native body: the whole message on the final object.
fn native_complete(turn: &Turn) -> Value {
    let mut message = Map::new();
    message.insert("role".to_owned(), json!("assistant"));
    message.insert("content".to_owned(), json!(turn.content.concat()));
    if !turn.thinking.is_empty() {
        message.insert("thinking".to_owned(), json!(turn.thinking.concat()));
    }
    native_done(turn, Value::Object(message))
}

/// The final native object (`done: true`) with Ollama's metrics, in nanoseconds.
fn native_done(turn: &Turn, message: Value) -> Value {
    // Durations in the proportions of the fixture's final line.
    let load_duration: u64 = 41_295_167;
    let prompt_eval_duration = turn.prompt_tokens * 145_403;
    let eval_duration = turn.completion_tokens() * 7_730_605;
    json!({
        "model": turn.model,
        "created_at": clock::rfc3339_nano(clock::now()),
        "message": message,
        "done_reason": turn.finish_reason,
        "done": true,
        "total_duration": load_duration + prompt_eval_duration + eval_duration + 374_042,
        "load_duration": load_duration,
        "prompt_eval_count": turn.prompt_tokens,
        "prompt_eval_duration": prompt_eval_duration,
        "eval_count": turn.completion_tokens(),
        "eval_duration": eval_duration,
    })
}

/// A scripted reply, chunked by event or line.
fn scripted(reply: &Reply, delay: Option<Duration>) -> Response {
    streamed(reply.content_type(), reply.chunks(), delay)
}

/// A `200` whose body is written chunk by chunk, pausing `delay` between chunks.
fn streamed(content_type: &'static str, chunks: Vec<String>, delay: Option<Duration>) -> Response {
    let body = futures_util::stream::iter(chunks.into_iter().enumerate()).then(
        move |(i, chunk)| async move {
            if let (Some(delay), true) = (delay, i > 0) {
                tokio::time::sleep(delay).await;
            }
            let chunk = if chunk.contains(SENT_AT_PLACEHOLDER) {
                chunk.replace(SENT_AT_PLACEHOLDER, &clock::now().as_micros().to_string())
            } else {
                chunk
            };
            Ok::<Bytes, Infallible>(Bytes::from(chunk))
        },
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(body),
    )
        .into_response()
}

/// The OpenAI-compatible error body (`openai/openai.go` ErrorResponse).
fn openai_error(status: StatusCode, message: &str, kind: &str) -> Response {
    json_response(
        status,
        &json!({
            "error": { "message": message, "type": kind, "param": null, "code": null }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use crate::spec::ModelSpec;
    use std::collections::BTreeSet;

    fn entry(spec: ModelSpec) -> ModelEntry {
        ModelEntry::new(spec)
    }

    fn keys(v: &Value) -> BTreeSet<String> {
        v.as_object().unwrap().keys().cloned().collect()
    }

    fn sse_payloads(body: &str) -> Vec<Value> {
        body.split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .filter(|d| *d != "[DONE]")
            .map(|d| serde_json::from_str(d).unwrap())
            .collect()
    }

    #[test]
    fn openai_stream_has_the_fixture_shape() {
        let e = entry(ModelSpec::new("qwen3").capabilities(&["completion", "thinking"]));
        let turn = Turn::new(&e, "qwen3", &Map::new(), None);
        let ours = openai_chunks(&turn, "chatcmpl-1", 1, true);
        let theirs = sse_payloads(&fixture("ollama/chat-stream-thinking.sse"));
        let with_usage = sse_payloads(&fixture("ollama/chat-stream-toolcall.sse"));
        // Same envelope, same delta key sets at the same positions.
        assert_eq!(keys(&ours[0]), keys(&theirs[0]));
        assert_eq!(keys(&ours[0]["choices"][0]), keys(&theirs[0]["choices"][0]));
        assert_eq!(
            keys(&ours[0]["choices"][0]["delta"]),
            keys(&theirs[0]["choices"][0]["delta"])
        );
        assert_eq!(
            keys(&ours[1]["choices"][0]["delta"]),
            keys(&theirs[1]["choices"][0]["delta"])
        );
        let first_content = THOUGHT.len();
        assert_eq!(
            keys(&ours[first_content]["choices"][0]["delta"]),
            keys(&theirs[9]["choices"][0]["delta"])
        );
        let finish = &ours[ours.len() - 2];
        assert_eq!(finish["choices"][0], theirs[theirs.len() - 1]["choices"][0]);
        assert_eq!(keys(&ours[ours.len() - 1]), keys(&with_usage[2]));
        assert_eq!(ours[ours.len() - 1]["choices"], json!([]));
    }

    #[test]
    fn openai_completion_has_the_fixture_shape() {
        let e = entry(ModelSpec::new("llama3.2"));
        let turn = Turn::new(&e, "llama3.2", &Map::new(), None);
        let ours = openai_completion(&turn, "chatcmpl-1", 1);
        let theirs: Value =
            serde_json::from_str(&fixture("ollama/chat-completion-toolcall.json")).unwrap();
        assert_eq!(keys(&ours), keys(&theirs));
        assert_eq!(keys(&ours["choices"][0]), keys(&theirs["choices"][0]));
        assert_eq!(keys(&ours["usage"]), keys(&theirs["usage"]));
        assert_eq!(
            ours["choices"][0]["message"]["content"],
            "Hello from llama3.2"
        );
    }

    #[test]
    fn native_stream_has_the_fixture_shape() {
        let e = entry(ModelSpec::new("llama3.2"));
        let turn = Turn::new(&e, "llama3.2", &Map::new(), None);
        let ours = native_lines(&turn);
        let theirs: Vec<Value> = fixture("ollama/api-chat-stream-toolcall.ndjson")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(keys(&ours[0]), keys(&theirs[0]));
        assert_eq!(keys(ours.last().unwrap()), keys(&theirs[1]));
        assert_eq!(ours.last().unwrap()["message"], theirs[1]["message"]);
    }

    #[test]
    fn a_token_limit_cuts_the_answer_with_length() {
        let e = entry(ModelSpec::new("m"));
        for request in [
            json!({"max_tokens": 1}),
            json!({"max_completion_tokens": 1}),
            json!({"options": {"num_predict": 1}}),
        ] {
            let turn = Turn::new(&e, "m", request.as_object().unwrap(), None);
            assert_eq!(turn.content, ["Hello"], "{request}");
            let chunks = openai_chunks(&turn, "c", 1, false);
            assert_eq!(
                chunks.last().unwrap()["choices"][0]["finish_reason"],
                "length"
            );
            assert_eq!(native_lines(&turn).last().unwrap()["done_reason"], "length");
            assert_eq!(
                openai_completion(&turn, "c", 1)["choices"][0]["finish_reason"],
                "length"
            );
        }
        let roomy = json!({"max_tokens": 100, "options": {"num_predict": -1}});
        let turn = Turn::new(&e, "m", roomy.as_object().unwrap(), None);
        assert_eq!((turn.content.len(), turn.finish_reason), (3, "stop"));
    }

    #[test]
    fn thinking_can_be_turned_off() {
        let e = entry(ModelSpec::new("q").capabilities(&["completion", "thinking"]));
        let off = json!({ "reasoning_effort": "none" });
        let think = openai_think(off.as_object().unwrap());
        assert_eq!(think, Some(false));
        assert!(Turn::new(&e, "q", &Map::new(), think).thinking.is_empty());
        let native = json!({ "think": false });
        assert_eq!(native_think(native.as_object().unwrap()), Some(false));
    }
}
