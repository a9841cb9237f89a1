//! The OpenAI-compatible HTTP API: `GET /v1/models` and `POST /v1/chat/completions`, so that
//! other tools (the `openai` SDKs, editors, scripts) can use the agent — tools, fallbacks,
//! transcripts included — as if it were a model.
//!
//! `model` is an agent target (`openclaw`, `openclaw/main`) or a catalog ref; the
//! `x-openclaw-model` header overrides it. The `user` field keys a stable session
//! (`openai-<user>`); without it each request is a fresh session seeded with the request's
//! earlier messages. Streaming answers are SSE `chat.completion.chunk`s ending in
//! `data: [DONE]`; a client that disconnects stops the run. Errors use OpenAI's error shape.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::Stream;
use openclaw_agent::new_session_id;
use openclaw_llm::{Backlog, Role, ThinkingLevel};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::error::GatewayError;
use crate::run::{
    start_run, valid_session_id, AbortOnDrop, Approvals, ChatEvent, ModelChoice, RunSpec,
    SeedMessage,
};
use crate::state::AppState;

/// Header that overrides the request's `model`.
pub const MODEL_HEADER: &str = "x-openclaw-model";

/// How far a streamed reply may run ahead of its client: beyond this much unsent text, the
/// model is read no further until the client catches up (a slow client costs the gateway at
/// most this, not the whole reply).
pub const STREAM_BACKLOG_BYTES: usize = 1 << 20;

/// `GET /v1/models`: the agent targets, then every catalog model.
pub async fn list_models(State(state): State<Arc<AppState>>) -> Response {
    let catalog = state.catalog().await;
    let entry = |id: String, owner: &str| json!({"id": id, "object": "model", "created": 0, "owned_by": owner});
    let mut data = vec![
        entry("openclaw".into(), "openclaw"),
        entry(
            format!("openclaw/{}", openclaw_config::DEFAULT_AGENT_ID),
            "openclaw",
        ),
    ];
    data.extend(catalog.models.iter().map(|m| entry(m.key(), &m.provider)));
    Json(json!({"object": "list", "data": data})).into_response()
}

/// The parts of a chat completion request the gateway uses.
struct ChatRequest {
    model: String,
    thinking: Option<ThinkingLevel>,
    stream: bool,
    include_usage: bool,
    user: Option<String>,
    system: Option<String>,
    seed: Vec<SeedMessage>,
    message: String,
}

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    match chat(state, headers, request).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn chat(
    state: Arc<AppState>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, GatewayError> {
    let body = read_body(&state, request).await?;
    let req = parse_request(&body)?;
    let model_header = headers
        .get(MODEL_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let choice = ModelChoice::parse(Some(model_header.unwrap_or(&req.model)))?;
    let session_id = match &req.user {
        Some(user) => user_session_id(user),
        None => format!("openai-{}", new_session_id()),
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    // Streamed: the model is read no further ahead of the client than this.
    let backlog = req.stream.then(|| Backlog::new(STREAM_BACKLOG_BYTES));
    let queued = backlog.clone();
    let handle = start_run(
        &state,
        RunSpec {
            session_id,
            message: req.message,
            model: choice,
            thinking: req.thinking,
            // Only for a new session: a known `user`'s session already holds it.
            seed: req.seed,
            system: req.system,
            approvals: Approvals::Nobody,
            wait_for_session: true,
            backlog: backlog.clone(),
        },
        Arc::new(move |e| {
            if let (Some(queued), ChatEvent::Delta(text) | ChatEvent::Thinking(text)) =
                (&queued, &e)
            {
                queued.queued(text.len());
            }
            let _ = tx.send(e);
        }),
    )?;
    let guard = AbortOnDrop::new(state.clone(), handle.run_id.clone());
    let meta = ChunkMeta {
        id: format!("chatcmpl-{}", handle.run_id),
        created: openclaw_agent::now_ms() / 1000,
        model: model_header.map_or(req.model, str::to_string),
    };
    // Wait for the first event: a run that fails before saying anything (unknown model, no
    // model at all) is answered with a proper HTTP error instead of a broken stream.
    let first = rx
        .recv()
        .await
        .ok_or_else(|| GatewayError::Internal("the run ended without a word".into()))?;
    if let ChatEvent::Error { message, kind } = &first {
        return Err(early_error(message, kind));
    }
    if req.stream {
        let stream = sse_stream(meta, first, rx, guard, req.include_usage, backlog);
        Ok(Sse::new(stream)
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
            .into_response())
    } else {
        let mut event = first;
        loop {
            match event {
                ChatEvent::Final {
                    answer,
                    thinking,
                    model: _,
                    prompt_tokens,
                    completion_tokens,
                } => {
                    drop(guard);
                    let mut message = json!({"role": "assistant", "content": answer});
                    if !thinking.is_empty() {
                        message["reasoning_content"] = json!(thinking);
                    }
                    return Ok(Json(json!({
                        "id": meta.id,
                        "object": "chat.completion",
                        "created": meta.created,
                        "model": meta.model,
                        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                        "usage": usage(prompt_tokens, completion_tokens),
                    }))
                    .into_response());
                }
                ChatEvent::Error { message, kind } => return Err(early_error(&message, &kind)),
                ChatEvent::Aborted => return Err(GatewayError::ShuttingDown),
                _ => {}
            }
            event = rx
                .recv()
                .await
                .ok_or_else(|| GatewayError::Internal("the run ended without an answer".into()))?;
        }
    }
}

/// Reads the body within the size and time limits.
async fn read_body(state: &AppState, request: Request) -> Result<Bytes, GatewayError> {
    let limit = state.limits.max_body_bytes;
    // A body announced over the limit is refused at once, not waited for.
    if axum::body::HttpBody::size_hint(request.body()).lower() > limit as u64 {
        return Err(GatewayError::BodyTooLarge { limit });
    }
    let read = Bytes::from_request(request, &());
    match tokio::time::timeout(state.limits.body_read_timeout, read).await {
        Err(_) => Err(GatewayError::BadRequest(
            "the request body did not arrive in time".into(),
        )),
        Ok(Err(rejection)) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(GatewayError::BodyTooLarge { limit })
        }
        Ok(Err(rejection)) => Err(GatewayError::BadRequest(format!(
            "cannot read the request body: {}",
            rejection.body_text()
        ))),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

/// The HTTP error for a run that failed before streaming anything.
fn early_error(message: &str, kind: &str) -> GatewayError {
    match kind {
        "model-not-found" => GatewayError::RunModelNotFound(message.to_string()),
        "no-model" => GatewayError::NoModel(message.to_string()),
        "bad-request" => GatewayError::BadRequest(message.to_string()),
        "shutdown" => GatewayError::ShuttingDown,
        _ => GatewayError::Upstream(message.to_string()),
    }
}

/// `openai-<user>`, kept to the transcript's id characters; a user name with others gets a
/// hash suffix so two names never share a session.
fn user_session_id(user: &str) -> String {
    let direct = format!("openai-{user}");
    if valid_session_id(&direct) {
        return direct;
    }
    let clean: String = user
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    // FNV-1a: stable across runs and builds.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in user.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("openai-{clean}-{hash:016x}")
}

fn parse_request(body: &[u8]) -> Result<ChatRequest, GatewayError> {
    let bad = |m: String| GatewayError::BadRequest(m);
    let value: Value = openclaw_untrusted::json::from_slice(body).map_err(|e| match e {
        openclaw_untrusted::json::Error::TooManyValues { .. } => {
            bad(format!("the request body was refused: {e}"))
        }
        openclaw_untrusted::json::Error::Json(e) => {
            bad(format!("the request body is not valid JSON: {e}"))
        }
    })?;
    let Value::Object(obj) = value else {
        return Err(bad("the request body must be a JSON object".into()));
    };
    let model = match obj.get("model") {
        None | Some(Value::Null) => "openclaw".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(bad("`model` must be a string".into())),
    };
    let stream = match obj.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("`stream` must be a boolean".into())),
    };
    let include_usage = obj
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let user = match obj.get("user") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(_) => return Err(bad("`user` must be a string".into())),
    };
    // OpenAI's `reasoning_effort` (and the newer `reasoning.effort`) as the agent's thinking
    // level; reasoning models only, as with `--thinking`.
    let effort = obj
        .get("reasoning_effort")
        .or_else(|| obj.get("reasoning").and_then(|r| r.get("effort")));
    let thinking = match effort {
        None | Some(Value::Null) => None,
        Some(Value::String(e)) => Some(match e.as_str() {
            "none" => ThinkingLevel::Off,
            "minimal" | "low" => ThinkingLevel::Low,
            "medium" => ThinkingLevel::Medium,
            "high" | "xhigh" => ThinkingLevel::High,
            other => {
                return Err(bad(format!(
                    "`reasoning_effort` `{other}` is not one of none, minimal, low, medium, high"
                )))
            }
        }),
        Some(_) => return Err(bad("`reasoning_effort` must be a string".into())),
    };
    let Some(Value::Array(messages)) = obj.get("messages") else {
        return Err(bad("`messages` must be an array of messages".into()));
    };
    let mut system: Vec<String> = Vec::new();
    let mut convo: Vec<SeedMessage> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m
            .get("role")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("`messages[{i}].role` must be a string")))?;
        let content = message_text(m.get("content")).ok_or_else(|| {
            bad(format!(
                "`messages[{i}].content` must be a string or an array of text parts"
            ))
        })?;
        match role {
            "system" | "developer" => system.push(content),
            "user" => convo.push(SeedMessage {
                role: Role::User,
                content,
            }),
            "assistant" => convo.push(SeedMessage {
                role: Role::Assistant,
                content,
            }),
            // Results of client-side tools: the agent runs its own tools, so there are none
            // to feed back.
            "tool" | "function" => {}
            other => {
                return Err(bad(format!(
                    "`messages[{i}].role` `{other}` is not a chat role"
                )))
            }
        }
    }
    let last = convo
        .pop()
        .filter(|m| m.role == Role::User && !m.content.trim().is_empty())
        .ok_or_else(|| bad("the last message must be a non-empty `user` message".into()))?;
    Ok(ChatRequest {
        model,
        thinking,
        stream,
        include_usage,
        user,
        system: (!system.is_empty()).then(|| system.join("\n\n")),
        seed: convo,
        message: last.content,
    })
}

/// A message's text: a string, or the `text` parts of an array (other parts are dropped).
fn message_text(content: Option<&Value>) -> Option<String> {
    match content {
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(parts)) => Some(
            parts
                .iter()
                .filter_map(|p| match p {
                    Value::String(s) => Some(s.as_str()),
                    Value::Object(o) => o.get("text").and_then(Value::as_str),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        Some(_) => None,
    }
}

fn usage(prompt: u64, completion: u64) -> Value {
    json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
}

/// What every chunk of one completion repeats.
struct ChunkMeta {
    id: String,
    created: u64,
    model: String,
}

/// One `chat.completion.chunk`, serialised straight from borrowed parts (it is built for
/// every relayed token, so no intermediate JSON map).
#[derive(serde::Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [ChunkChoice<'a>; 1],
}

#[derive(serde::Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    finish_reason: Option<&'a str>,
}

/// `{}`, `{"content": …}`, `{"reasoning_content": …}` or the opening role delta.
#[derive(serde::Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
}

impl ChunkMeta {
    fn chunk(&self, delta: Delta<'_>, finish_reason: Option<&str>) -> Event {
        let chunk = Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices: [ChunkChoice {
                index: 0,
                delta,
                finish_reason,
            }],
        };
        Event::default().data(serde_json::to_string(&chunk).unwrap_or_default())
    }
}

/// The SSE stream of a run: a role chunk, content/reasoning deltas, the finish chunk, usage
/// when asked, `[DONE]`. Dropping it (the client went away) stops the run.
fn sse_stream(
    meta: ChunkMeta,
    first: ChatEvent,
    rx: mpsc::UnboundedReceiver<ChatEvent>,
    guard: AbortOnDrop,
    include_usage: bool,
    backlog: Option<Arc<Backlog>>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    struct S {
        meta: ChunkMeta,
        pending: Option<ChatEvent>,
        rx: mpsc::UnboundedReceiver<ChatEvent>,
        _guard: AbortOnDrop,
        include_usage: bool,
        backlog: Option<Arc<Backlog>>,
        queued: std::collections::VecDeque<Event>,
        started: bool,
        done: bool,
    }
    let s = S {
        meta,
        pending: Some(first),
        rx,
        _guard: guard,
        include_usage,
        backlog,
        queued: Default::default(),
        started: false,
        done: false,
    };
    futures_util::stream::unfold(s, |mut s| async move {
        loop {
            if let Some(e) = s.queued.pop_front() {
                return Some((Ok(e), s));
            }
            if s.done {
                return None;
            }
            if !s.started {
                s.started = true;
                s.queued.push_back(s.meta.chunk(
                    Delta {
                        role: Some("assistant"),
                        content: Some(""),
                        ..Delta::default()
                    },
                    None,
                ));
                continue;
            }
            let event = match s.pending.take() {
                Some(e) => e,
                None => match s.rx.recv().await {
                    Some(e) => e,
                    None => {
                        s.done = true;
                        continue;
                    }
                },
            };
            if let (Some(backlog), ChatEvent::Delta(text) | ChatEvent::Thinking(text)) =
                (&s.backlog, &event)
            {
                // Handed to the HTTP writer, which takes more only as the client reads.
                backlog.sent(text.len());
            }
            match event {
                ChatEvent::Delta(text) => {
                    s.queued.push_back(s.meta.chunk(
                        Delta {
                            content: Some(&text),
                            ..Delta::default()
                        },
                        None,
                    ));
                }
                ChatEvent::Thinking(text) => {
                    s.queued.push_back(s.meta.chunk(
                        Delta {
                            reasoning_content: Some(&text),
                            ..Delta::default()
                        },
                        None,
                    ));
                }
                ChatEvent::Final {
                    prompt_tokens,
                    completion_tokens,
                    ..
                } => {
                    s.queued
                        .push_back(s.meta.chunk(Delta::default(), Some("stop")));
                    if s.include_usage {
                        s.queued.push_back(
                            Event::default().data(
                                json!({
                                    "id": s.meta.id,
                                    "object": "chat.completion.chunk",
                                    "created": s.meta.created,
                                    "model": s.meta.model,
                                    "choices": [],
                                    "usage": usage(prompt_tokens, completion_tokens),
                                })
                                .to_string(),
                            ),
                        );
                    }
                    s.queued.push_back(Event::default().data("[DONE]"));
                    s.done = true;
                }
                ChatEvent::Error { message, kind } => {
                    let e = early_error(&message, &kind);
                    s.queued
                        .push_back(Event::default().data(e.openai_body().to_string()));
                    s.queued.push_back(Event::default().data("[DONE]"));
                    s.done = true;
                }
                ChatEvent::Aborted => s.done = true,
                _ => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_into_turns() {
        let r = parse_request(
            br#"{"model":"openclaw","stream":true,"user":"alice","messages":[
                {"role":"system","content":"Be brief."},
                {"role":"user","content":"hi"},
                {"role":"assistant","content":"hello"},
                {"role":"user","content":[{"type":"text","text":"and now?"}]}]}"#,
        )
        .unwrap();
        assert!(r.stream);
        assert_eq!(r.user.as_deref(), Some("alice"));
        assert_eq!(r.system.as_deref(), Some("Be brief."));
        assert_eq!(r.seed.len(), 2);
        assert_eq!(r.message, "and now?");
        assert_eq!(r.thinking, None);
        let r = parse_request(
            br#"{"reasoning_effort":"high","messages":[{"role":"user","content":"x"}]}"#,
        )
        .unwrap();
        assert_eq!(r.thinking, Some(ThinkingLevel::High));
        for bad in [
            &b"nope"[..],
            br#"[]"#,
            br#"{"messages":"x"}"#,
            br#"{"messages":[]}"#,
            br#"{"messages":[{"role":"assistant","content":"x"}]}"#,
            br#"{"messages":[{"role":"user","content":5}]}"#,
            br#"{"messages":[{"role":"user","content":"x"}],"stream":"yes"}"#,
            br#"{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"max"}"#,
        ] {
            assert!(
                matches!(parse_request(bad), Err(GatewayError::BadRequest(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn user_sessions_are_stable_and_valid() {
        assert_eq!(user_session_id("alice"), "openai-alice");
        let odd = user_session_id("a b/c");
        assert!(valid_session_id(&odd), "{odd}");
        assert_eq!(odd, user_session_id("a b/c"));
        assert_ne!(odd, user_session_id("a_b_c"));
    }
}
