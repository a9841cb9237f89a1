//! The OpenAI-compatible HTTP API: `GET /v1/models[/{id}]` and `POST /v1/chat/completions`, so
//! that other tools (the `openai` SDKs, LangChain, the Vercel AI SDK, editors, scripts) can use
//! the agent — tools, fallbacks, transcripts included — or a model with their own tools, as if
//! the gateway were OpenAI.
//!
//! `model` is an agent target (`openclaw`, `openclaw/main`, `openclaw/default`) or a catalog
//! ref; the `x-openclaw-model` header overrides it. Without client tools the request is a turn
//! of the agent: the `user` field keys a stable session (`openai-<user>`); without it each
//! request is a fresh session seeded with the request's earlier messages. With `tools` (or tool
//! calls and results in the history) it is one model call with exactly the client's tools
//! (`completion.rs` says why). Streaming answers are SSE `chat.completion.chunk`s ending in
//! `data: [DONE]`, tool calls as indexed deltas; a client that disconnects stops the run.
//! Errors use OpenAI's error shape, with `param` naming a refused field.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::Stream;
use openclaw_agent::new_session_id;
use openclaw_llm::{Backlog, Image, ResponseFormat, Role};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::completion::{
    check_tool_names, function_tool, history_call, invalid, json_schema_format, parse_object,
    thinking_level, tool_choice, unsupported, Completion, Fields, InMessage,
};
use crate::error::GatewayError;
use crate::model_call::{self, ModelCallSpec, Needs};
use crate::run::{
    start_run, valid_session_id, AbortOnDrop, Approvals, ChatEvent, ModelChoice, RunSpec,
};
use crate::state::AppState;

/// Header that overrides the request's `model`.
pub const MODEL_HEADER: &str = "x-openclaw-model";

/// How far a streamed reply may run ahead of its client: beyond this much unsent text, the
/// model is read no further until the client catches up (a slow client costs the gateway at
/// most this, not the whole reply).
pub const STREAM_BACKLOG_BYTES: usize = 1 << 20;

/// The agent targets every listing starts with.
fn agent_targets() -> [String; 3] {
    [
        "openclaw".into(),
        format!("openclaw/{}", openclaw_config::DEFAULT_AGENT_ID),
        "openclaw/default".into(),
    ]
}

fn model_entry(id: &str, owner: &str) -> Value {
    json!({"id": id, "object": "model", "created": 0, "owned_by": owner})
}

/// `GET /v1/models`: the agent targets, then every catalog model.
pub async fn list_models(State(state): State<Arc<AppState>>) -> Response {
    let catalog = state.catalog().await;
    let mut data: Vec<Value> = agent_targets()
        .iter()
        .map(|id| model_entry(id, "openclaw"))
        .collect();
    data.extend(
        catalog
            .models
            .iter()
            .map(|m| model_entry(&m.key(), &m.provider)),
    );
    Json(json!({"object": "list", "data": data})).into_response()
}

/// `GET /v1/models/{id}`: one agent target or catalog model (an alias or a ref without its
/// tag finds the model it names), else 404 `model_not_found`.
pub async fn get_model(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    if agent_targets().contains(&id) {
        return Json(model_entry(&id, "openclaw")).into_response();
    }
    let catalog = state.catalog().await;
    if let Some(m) = catalog.models.iter().find(|m| m.key() == id) {
        return Json(model_entry(&m.key(), &m.provider)).into_response();
    }
    let selection = openclaw_models::Selection::from_config(&state.config);
    if let Ok(r) = selection.resolve(&id) {
        if let Some(m) = catalog.find(&r.provider, &r.model) {
            return Json(model_entry(&m.key(), &m.provider)).into_response();
        }
    }
    GatewayError::ModelNotFound(id).into_response()
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
    let completion = parse_chat(&body)?;
    let started = start(&state, &headers, completion).await?;
    let meta = ChunkMeta {
        id: format!("chatcmpl-{}", started.run_id),
        created: openclaw_agent::now_ms() / 1000,
        model: started.model.clone(),
    };
    if started.stream {
        let stream = sse_stream(meta, started);
        return Ok(Sse::new(stream)
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
            .into_response());
    }
    let Started {
        first,
        mut rx,
        guard,
        client_tools,
        ..
    } = started;
    let mut calls: Vec<Value> = Vec::new();
    let mut event = first;
    loop {
        match event {
            ChatEvent::ToolCall {
                id,
                name,
                arguments,
            } if client_tools => {
                calls.push(json!({
                    "id": id,
                    "type": "function",
                    "function": {"name": name, "arguments": crate::completion::arguments_text(&arguments)},
                }));
            }
            ChatEvent::Final {
                answer,
                thinking,
                model: _,
                prompt_tokens,
                completion_tokens,
                finish_reason,
            } => {
                drop(guard);
                // OpenAI's shape: no text beside tool calls is `null`.
                let content = if answer.is_empty() && !calls.is_empty() {
                    Value::Null
                } else {
                    Value::String(answer)
                };
                let mut message = json!({"role": "assistant", "content": content, "refusal": null});
                if !calls.is_empty() {
                    message["tool_calls"] = Value::Array(calls);
                }
                if !thinking.is_empty() {
                    message["reasoning_content"] = json!(thinking);
                }
                return Ok(Json(json!({
                    "id": meta.id,
                    "object": "chat.completion",
                    "created": meta.created,
                    "model": meta.model,
                    "choices": [{
                        "index": 0,
                        "message": message,
                        "logprobs": null,
                        "finish_reason": finish_reason.as_deref().unwrap_or("stop"),
                    }],
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

/// A run started for either endpoint, with its first event that says something.
pub(crate) struct Started {
    pub first: ChatEvent,
    pub rx: mpsc::UnboundedReceiver<ChatEvent>,
    pub guard: AbortOnDrop,
    pub run_id: String,
    /// The model as the client named it, echoed back.
    pub model: String,
    pub stream: bool,
    pub include_usage: bool,
    /// Tool calls are the client's to run (and to be shown), not the agent's.
    pub client_tools: bool,
    pub backlog: Option<Arc<Backlog>>,
}

/// Starts `completion` as an agent turn or a model call, and waits for its first event that
/// is more than bookkeeping: a run that fails before that (unknown model, a model server's
/// refusal, rate limiting) is answered with a proper HTTP error instead of a broken stream.
pub(crate) async fn start(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    completion: Completion,
) -> Result<Started, GatewayError> {
    let model_header = headers
        .get(MODEL_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let model = model_header.unwrap_or(&completion.model).to_string();
    let choice = ModelChoice::parse(Some(&model))?;
    let client_tools = completion.calls_client_tools();
    // The shape of the conversation first: it needs no model.
    let turn = if client_tools {
        None
    } else {
        Some(completion.agent_turn()?)
    };
    let model_messages = if client_tools {
        Some(completion.model_messages()?)
    } else {
        None
    };
    let needs = Needs {
        image_param: completion.first_image(),
        options: &completion.options,
    };
    let candidates = model_call::candidates(state, &choice, &needs).await?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    // Streamed: the model is read no further ahead of the client than this.
    let backlog = completion
        .stream
        .then(|| Backlog::new(STREAM_BACKLOG_BYTES));
    let queued = backlog.clone();
    let sink: crate::run::EventSink = Arc::new(move |e| {
        if let (Some(queued), ChatEvent::Delta(text) | ChatEvent::Thinking(text)) = (&queued, &e) {
            queued.queued(text.len());
        }
        let _ = tx.send(e);
    });
    let run_id = match (turn, model_messages) {
        (Some(turn), _) => {
            let session_id = match &completion.user {
                Some(user) => user_session_id(user),
                None => format!("openai-{}", new_session_id()),
            };
            let spec = RunSpec {
                session_id,
                message: turn.message,
                model: choice,
                thinking: completion.thinking,
                // Only for a new session: a known `user`'s session already holds it.
                seed: turn.seed,
                system: turn.system,
                approvals: Approvals::Nobody,
                wait_for_session: true,
                backlog: backlog.clone(),
                options: turn.options,
            };
            start_run(state, spec, sink)?.run_id
        }
        (None, Some((messages, options))) => {
            let spec = ModelCallSpec {
                candidates,
                messages,
                tools: completion.tools.clone(),
                options,
                thinking: completion.thinking,
                backlog: backlog.clone(),
            };
            model_call::spawn(state, spec, sink)?
        }
        (None, None) => return Err(GatewayError::Internal("nothing to run".into())),
    };
    let guard = AbortOnDrop::new(state.clone(), run_id.clone());
    let first = loop {
        let event = rx
            .recv()
            .await
            .ok_or_else(|| GatewayError::Internal("the run ended without a word".into()))?;
        match event {
            ChatEvent::Model { .. } | ChatEvent::Fallback { .. } => continue,
            ChatEvent::Error { message, kind } => return Err(early_error(&message, &kind)),
            other => break other,
        }
    };
    Ok(Started {
        first,
        rx,
        guard,
        run_id,
        model,
        stream: completion.stream,
        include_usage: completion.include_usage,
        client_tools,
        backlog,
    })
}

/// Reads the body within the size and time limits.
pub(crate) async fn read_body(state: &AppState, request: Request) -> Result<Bytes, GatewayError> {
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

/// The HTTP error for a run that failed before saying anything, by the failure's kind: what
/// the model server said is kept, with a status a client can act on.
pub(crate) fn early_error(message: &str, kind: &str) -> GatewayError {
    let upstream = |status: u16, code: &'static str| GatewayError::UpstreamStatus {
        status,
        code,
        message: message.to_string(),
    };
    match kind {
        "model-not-found" => GatewayError::RunModelNotFound(message.to_string()),
        "no-model" => GatewayError::NoModel(message.to_string()),
        "bad-request" => GatewayError::BadRequest(message.to_string()),
        "context-overflow" => upstream(400, "context_length_exceeded"),
        "rate-limited" => upstream(429, "rate_limit_exceeded"),
        "timeout" => upstream(504, "upstream_timeout"),
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

/// Top-level fields of a Chat Completions request that are accepted without effect: they
/// concern OpenAI's own storage, billing and abuse tracking.
const IGNORED_FIELDS: [&str; 4] = [
    "metadata",
    "service_tier",
    "prompt_cache_key",
    "safety_identifier",
];

/// Reads a Chat Completions request. Every field is honoured, mapped or refused by name:
/// docs/gateway-protocol.md lists which.
fn parse_chat(body: &[u8]) -> Result<Completion, GatewayError> {
    let obj = parse_object(body)?;
    let f = Fields::new(&obj, "");
    for key in obj.keys() {
        let known = matches!(
            key.as_str(),
            "model"
                | "messages"
                | "stream"
                | "stream_options"
                | "user"
                | "reasoning_effort"
                | "reasoning"
                | "max_tokens"
                | "max_completion_tokens"
                | "temperature"
                | "top_p"
                | "stop"
                | "seed"
                | "presence_penalty"
                | "frequency_penalty"
                | "response_format"
                | "tools"
                | "tool_choice"
                | "parallel_tool_calls"
                | "n"
                | "logprobs"
                | "top_logprobs"
                | "logit_bias"
                | "modalities"
                | "audio"
                | "prediction"
                | "web_search_options"
                | "functions"
                | "function_call"
                | "store"
                | "verbosity"
        ) || IGNORED_FIELDS.contains(&key.as_str());
        if !known {
            return Err(unsupported(
                key,
                "it is not a Chat Completions field (docs/gateway-protocol.md lists the fields and what each does)",
            ));
        }
    }
    f.refuse_unless(
        "n",
        &[json!(1)],
        "one choice is generated per request; send several requests for more",
    )?;
    f.refuse_unless(
        "logprobs",
        &[json!(false)],
        "token log probabilities are not passed on",
    )?;
    f.refuse_unless(
        "top_logprobs",
        &[json!(0)],
        "token log probabilities are not passed on",
    )?;
    f.refuse_unless(
        "logit_bias",
        &[json!({})],
        "token biases cannot be passed to the model servers",
    )?;
    f.refuse_unless("modalities", &[json!(["text"])], "replies are text only")?;
    f.refuse_unless("audio", &[], "replies are text only")?;
    f.refuse_unless("prediction", &[], "predicted outputs are not supported")?;
    f.refuse_unless(
        "web_search_options",
        &[],
        "the gateway does not search the web",
    )?;
    f.refuse_unless(
        "functions",
        &[],
        "the legacy `functions` field is not supported; describe them in `tools`",
    )?;
    f.refuse_unless(
        "function_call",
        &[],
        "the legacy `function_call` field is not supported; use `tool_choice`",
    )?;
    f.refuse_unless("store", &[json!(false)], "completions are not stored")?;
    f.refuse_unless(
        "verbosity",
        &[],
        "local models have no verbosity setting; say it in the prompt",
    )?;

    let model = f.string("model")?.unwrap_or("openclaw").to_string();
    let stream = f.bool("stream")?.unwrap_or(false);
    let include_usage = match f.get("stream_options") {
        None => false,
        Some(Value::Object(o)) => Fields::new(o, "stream_options.")
            .bool("include_usage")?
            .unwrap_or(false),
        Some(_) => return Err(invalid("stream_options", "must be an object")),
    };
    let user = f
        .string("user")?
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    // OpenAI's `reasoning_effort` (and the newer `reasoning.effort`) as the agent's thinking
    // level; reasoning models only, as with `--thinking`.
    let thinking = match f.get("reasoning_effort") {
        Some(effort) => thinking_level(Some(effort), "reasoning_effort")?,
        None => thinking_level(
            f.get("reasoning").and_then(|r| r.get("effort")),
            "reasoning.effort",
        )?,
    };

    let mut tools = Vec::new();
    match f.get("tools") {
        None => {}
        Some(Value::Array(list)) => {
            for (i, t) in list.iter().enumerate() {
                let param = format!("tools[{i}]");
                let kind = t.get("type").and_then(Value::as_str).unwrap_or("function");
                if kind != "function" {
                    return Err(unsupported(
                        &format!("{param}.type"),
                        &format!(
                            "`{kind}` tools are not supported; describe the tool as a `function`"
                        ),
                    ));
                }
                let Some(Value::Object(function)) = t.get("function") else {
                    return Err(invalid(
                        &format!("{param}.function"),
                        "a function tool needs its `function`",
                    ));
                };
                tools.push(function_tool(function, &format!("{param}.function"))?);
            }
            check_tool_names(&tools, "tools")?;
        }
        Some(_) => return Err(invalid("tools", "must be an array of tools")),
    }

    let mut options = openclaw_llm::RequestOptions {
        max_tokens: match f.count("max_completion_tokens", 1)? {
            Some(n) => Some(n),
            None => f.count("max_tokens", 1)?,
        },
        temperature: f.number("temperature", 0.0, 2.0)?,
        top_p: f.number("top_p", 0.0, 1.0)?,
        presence_penalty: f.number("presence_penalty", -2.0, 2.0)?,
        frequency_penalty: f.number("frequency_penalty", -2.0, 2.0)?,
        tool_choice: tool_choice(f.get("tool_choice"), &tools, "tool_choice")?,
        parallel_tool_calls: f.bool("parallel_tool_calls")?,
        ..Default::default()
    };
    options.seed = match f.get("seed") {
        None => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or_else(|| invalid("seed", "must be a whole number"))?,
        ),
    };
    options.stop = stop_sequences(f.get("stop"), "stop")?;
    options.response_format = match f.get("response_format") {
        None => None,
        Some(Value::Object(o)) => match o.get("type").and_then(Value::as_str) {
            Some("text") => None,
            Some("json_object") => Some(ResponseFormat::JsonObject),
            Some("json_schema") => match o.get("json_schema") {
                Some(Value::Object(schema)) => {
                    Some(json_schema_format(schema, "response_format.json_schema")?)
                }
                _ => {
                    return Err(invalid(
                        "response_format.json_schema",
                        "a `json_schema` format needs its `json_schema` object",
                    ))
                }
            },
            _ => {
                return Err(invalid(
                    "response_format.type",
                    "must be text, json_object or json_schema",
                ))
            }
        },
        Some(_) => return Err(invalid("response_format", "must be an object")),
    };

    let Some(Value::Array(list)) = f.get("messages") else {
        return Err(invalid("messages", "must be an array of messages"));
    };
    let mut messages = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        messages.push(chat_message(m, i)?);
    }
    if messages.is_empty() {
        return Err(invalid("messages", "must hold at least one message"));
    }
    Ok(Completion {
        model,
        stream,
        include_usage,
        user,
        thinking,
        instructions: None,
        messages,
        tools,
        options,
    })
}

/// `stop`: a string or up to four strings.
pub(crate) fn stop_sequences(
    value: Option<&Value>,
    param: &str,
) -> Result<Vec<String>, GatewayError> {
    let stops: Vec<String> = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| invalid(param, "must be a string or an array of strings"))?,
        Some(_) => return Err(invalid(param, "must be a string or an array of strings")),
    };
    if stops.len() > 4 || stops.iter().any(String::is_empty) {
        return Err(invalid(param, "takes at most 4 non-empty sequences"));
    }
    Ok(stops)
}

/// One message of a Chat Completions request.
fn chat_message(m: &Value, i: usize) -> Result<InMessage, GatewayError> {
    let param = format!("messages[{i}]");
    let Value::Object(obj) = m else {
        return Err(invalid(&param, "must be a message object"));
    };
    let role = match obj.get("role").and_then(Value::as_str) {
        Some(role) => role,
        None => return Err(invalid(&format!("{param}.role"), "must be a string")),
    };
    let role = match role {
        "system" | "developer" => Role::System,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        "function" => {
            return Err(unsupported(
                &format!("{param}.role"),
                "the legacy `function` role is not supported; send tool results as `tool` messages",
            ))
        }
        other => {
            return Err(invalid(
                &format!("{param}.role"),
                &format!("`{other}` is not a chat role (system, developer, user, assistant, tool)"),
            ))
        }
    };
    let content_param = format!("{param}.content");
    let (text, images, image_param) = content(obj.get("content"), &content_param, role)?;
    let mut message = InMessage::new(role, text, param.clone());
    message.images = images;
    message.image_param = image_param;
    match role {
        Role::Assistant => {
            if obj.get("function_call").is_some_and(|v| !v.is_null()) {
                return Err(unsupported(
                    &format!("{param}.function_call"),
                    "the legacy `function_call` is not supported; send `tool_calls`",
                ));
            }
            match obj.get("tool_calls") {
                None | Some(Value::Null) => {}
                Some(Value::Array(calls)) => {
                    for (j, call) in calls.iter().enumerate() {
                        message.tool_calls.push(history_tool_call(
                            call,
                            &format!("{param}.tool_calls[{j}]"),
                        )?);
                    }
                }
                Some(_) => return Err(invalid(&format!("{param}.tool_calls"), "must be an array")),
            }
        }
        Role::Tool => match obj.get("tool_call_id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => message.tool_call_id = Some(id.to_string()),
            _ => {
                return Err(invalid(
                    &format!("{param}.tool_call_id"),
                    "a `tool` message must name the call it answers",
                ))
            }
        },
        _ => {}
    }
    Ok(message)
}

/// An assistant's earlier tool call, as the client sends it back.
fn history_tool_call(call: &Value, param: &str) -> Result<openclaw_llm::ToolCall, GatewayError> {
    let id = call
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let function = call.get("function");
    let name = function.and_then(|f| f.get("name")).and_then(Value::as_str);
    let (Some(id), Some(name)) = (id, name) else {
        return Err(invalid(
            param,
            "a tool call needs its `id` and `function.name`",
        ));
    };
    let arguments = match function.and_then(|f| f.get("arguments")) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    Ok(history_call(id, name, &arguments))
}

/// A message's content: a string, or parts. Text parts are joined with newlines; image parts
/// (user messages only) are read from data URLs; other parts are refused.
fn content(
    value: Option<&Value>,
    param: &str,
    role: Role,
) -> Result<(String, Vec<Image>, Option<String>), GatewayError> {
    let parts = match value {
        None | Some(Value::Null) => return Ok((String::new(), Vec::new(), None)),
        Some(Value::String(s)) => return Ok((s.clone(), Vec::new(), None)),
        Some(Value::Array(parts)) => parts,
        Some(_) => {
            return Err(invalid(
                param,
                "must be a string or an array of content parts",
            ))
        }
    };
    let mut texts: Vec<&str> = Vec::new();
    let mut images = Vec::new();
    let mut first_image = None;
    for (j, part) in parts.iter().enumerate() {
        let part_param = format!("{param}[{j}]");
        let kind = match part {
            Value::String(s) => {
                texts.push(s);
                continue;
            }
            Value::Object(o) => o.get("type").and_then(Value::as_str).unwrap_or("text"),
            _ => return Err(invalid(&part_param, "must be a content part object")),
        };
        match kind {
            "text" | "refusal" => match part.get(kind).and_then(Value::as_str) {
                Some(text) => texts.push(text),
                None => return Err(invalid(&part_param, &format!("a `{kind}` part needs its `{kind}`"))),
            },
            "image_url" if role == Role::User => {
                let url = part
                    .get("image_url")
                    .and_then(|i| i.get("url").or(Some(i)))
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(&part_param, "an `image_url` part needs `image_url.url`"))?;
                let image = Image::from_data_url(url).map_err(|e| invalid(&part_param, &e))?;
                images.push(image);
                first_image.get_or_insert(part_param);
            }
            "image_url" => {
                return Err(invalid(&part_param, "only user messages may carry images"))
            }
            other => {
                return Err(unsupported(
                    &part_param,
                    &format!("`{other}` content parts are not supported; send text and images (`image_url` with a data URL)"),
                ))
            }
        }
    }
    Ok((texts.join("\n"), images, first_image))
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

/// `{}`, `{"content": …}`, `{"reasoning_content": …}`, `{"tool_calls": […]}` or the opening
/// role delta.
#[derive(serde::Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[ToolCallDelta<'a>; 1]>,
}

/// One piece of a streamed tool call: the first carries its `id`, `type` and name with empty
/// arguments, the next ones pieces of the arguments, all under the call's `index`.
#[derive(serde::Serialize)]
struct ToolCallDelta<'a> {
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: FunctionDelta<'a>,
}

#[derive(serde::Serialize)]
struct FunctionDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

/// Arguments are streamed in pieces of about this many bytes, as OpenAI streams them, so a
/// client's accumulating code runs as it does against OpenAI.
const ARGUMENT_PIECE_BYTES: usize = 32;

/// Tool-call arguments in the pieces they are streamed in.
pub(crate) fn argument_pieces(arguments: &str) -> Vec<&str> {
    pieces(arguments, ARGUMENT_PIECE_BYTES)
}

/// `text` in pieces of about `size` bytes, cut on character boundaries.
fn pieces(text: &str, size: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = size.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (piece, tail) = rest.split_at(cut);
        out.push(piece);
        rest = tail;
    }
    out
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

    /// The chunks of one tool call: its head, then its arguments in pieces.
    fn tool_call(&self, index: usize, id: &str, name: &str, arguments: &str) -> Vec<Event> {
        let call = |id, kind, name, arguments| Delta {
            tool_calls: Some([ToolCallDelta {
                index,
                id,
                kind,
                function: FunctionDelta { name, arguments },
            }]),
            ..Delta::default()
        };
        let mut out = vec![self.chunk(call(Some(id), Some("function"), Some(name), ""), None)];
        for piece in pieces(arguments, ARGUMENT_PIECE_BYTES) {
            out.push(self.chunk(call(None, None, None, piece), None));
        }
        out
    }
}

/// The SSE stream of a run: a role chunk, content/reasoning deltas, the client's tool calls
/// as indexed deltas, the finish chunk, usage when asked, `[DONE]`. Dropping it (the client
/// went away) stops the run.
fn sse_stream(meta: ChunkMeta, started: Started) -> impl Stream<Item = Result<Event, Infallible>> {
    struct S {
        meta: ChunkMeta,
        pending: Option<ChatEvent>,
        rx: mpsc::UnboundedReceiver<ChatEvent>,
        _guard: AbortOnDrop,
        include_usage: bool,
        client_tools: bool,
        calls: usize,
        backlog: Option<Arc<Backlog>>,
        queued: VecDeque<Event>,
        started: bool,
        done: bool,
    }
    let s = S {
        meta,
        pending: Some(started.first),
        rx: started.rx,
        _guard: started.guard,
        include_usage: started.include_usage,
        client_tools: started.client_tools,
        calls: 0,
        backlog: started.backlog,
        queued: VecDeque::new(),
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
                ChatEvent::ToolCall {
                    id,
                    name,
                    arguments,
                } if s.client_tools => {
                    let arguments = crate::completion::arguments_text(&arguments);
                    let chunks = s.meta.tool_call(s.calls, &id, &name, &arguments);
                    s.calls += 1;
                    s.queued.extend(chunks);
                }
                ChatEvent::Final {
                    prompt_tokens,
                    completion_tokens,
                    finish_reason,
                    ..
                } => {
                    let finish = finish_reason.as_deref().unwrap_or("stop");
                    s.queued
                        .push_back(s.meta.chunk(Delta::default(), Some(finish)));
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

    fn parse(body: Value) -> Result<Completion, GatewayError> {
        parse_chat(body.to_string().as_bytes())
    }

    fn refused_param(body: Value) -> String {
        match parse(body.clone()) {
            Err(GatewayError::InvalidParam { param, .. }) => param,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn requests_parse_into_turns() {
        let r = parse(
            json!({"model":"openclaw","stream":true,"user":"alice","messages":[
            {"role":"system","content":"Be brief."},
            {"role":"user","content":"hi"},
            {"role":"assistant","content":"hello"},
            {"role":"user","content":[{"type":"text","text":"and now?"}]}]}),
        )
        .unwrap();
        assert!(r.stream);
        assert_eq!(r.user.as_deref(), Some("alice"));
        assert!(!r.calls_client_tools());
        let turn = r.agent_turn().unwrap();
        assert_eq!(turn.system.as_deref(), Some("Be brief."));
        assert_eq!(turn.seed.len(), 2);
        assert_eq!(turn.message, "and now?");
        assert_eq!(r.thinking, None);
        let r =
            parse(json!({"reasoning_effort":"high","messages":[{"role":"user","content":"x"}]}))
                .unwrap();
        assert_eq!(r.thinking, Some(openclaw_llm::ThinkingLevel::High));
        for bad in [
            &b"nope"[..],
            br#"[]"#,
            br#"{"messages":"x"}"#,
            br#"{"messages":[]}"#,
            br#"{"messages":[{"role":"user","content":5}]}"#,
            br#"{"messages":[{"role":"user","content":"x"}],"stream":"yes"}"#,
            br#"{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"max"}"#,
        ] {
            assert_eq!(
                parse_chat(bad).map(|_| ()).map_err(|e| e.status()),
                Err(StatusCode::BAD_REQUEST),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn parameters_are_mapped_or_refused_by_name() {
        let r = parse(json!({
            "messages": [{"role": "user", "content": "x"}],
            "max_tokens": 10, "max_completion_tokens": 5, "temperature": 0.2, "top_p": 0.9,
            "stop": "END", "seed": -3, "presence_penalty": 1, "frequency_penalty": -1,
            "response_format": {"type": "json_object"}, "n": 1, "logprobs": false, "store": false,
            "metadata": {"k": "v"}, "stream_options": {"include_usage": true},
        }))
        .unwrap();
        let o = &r.options;
        assert_eq!(o.max_tokens, Some(5));
        assert_eq!((o.temperature, o.top_p), (Some(0.2), Some(0.9)));
        assert_eq!(o.stop, ["END"]);
        assert_eq!(o.seed, Some(-3));
        assert_eq!(
            (o.presence_penalty, o.frequency_penalty),
            (Some(1.0), Some(-1.0))
        );
        assert_eq!(o.response_format, Some(ResponseFormat::JsonObject));
        assert!(r.include_usage);
        let with = |k: &str, v: Value| {
            let mut body = json!({"messages": [{"role": "user", "content": "x"}]});
            body[k] = v;
            body
        };
        for (key, value, param) in [
            ("n", json!(2), "n"),
            ("logprobs", json!(true), "logprobs"),
            ("temperature", json!(3), "temperature"),
            ("max_tokens", json!(0), "max_tokens"),
            ("stop", json!(["a", "b", "c", "d", "e"]), "stop"),
            (
                "response_format",
                json!({"type": "xml"}),
                "response_format.type",
            ),
            ("functions", json!([{"name": "f"}]), "functions"),
            ("top_k", json!(40), "top_k"),
            ("tool_choice", json!("required"), "tool_choice"),
            (
                "tools",
                json!([{"type": "custom", "custom": {"name": "x"}}]),
                "tools[0].type",
            ),
        ] {
            assert_eq!(refused_param(with(key, value)), param, "{key}");
        }
    }

    #[test]
    fn tool_histories_and_images_parse() {
        let r = parse(json!({
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Weather here?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "22 C"},
            ]}))
        .unwrap();
        assert!(r.calls_client_tools());
        assert_eq!(r.first_image(), Some("messages[0].content[1]"));
        let (messages, options) = r.model_messages().unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[2].tool_name.as_deref(), Some("get_weather"));
        assert_eq!(options.images[&0].len(), 1);
        let bad_image = json!({"messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]});
        assert_eq!(refused_param(bad_image), "messages[0].content[0]");
        let no_id = json!({"messages": [{"role": "tool", "content": "x"}]});
        assert_eq!(refused_param(no_id), "messages[0].tool_call_id");
    }

    #[test]
    fn arguments_stream_in_pieces_on_character_boundaries() {
        let text = "{\"city\":\"Zürich\"}";
        let p = pieces(text, 9);
        assert_eq!(p.concat(), text);
        assert!(p.len() >= 2);
        assert_eq!(pieces("", 4), Vec::<&str>::new());
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
