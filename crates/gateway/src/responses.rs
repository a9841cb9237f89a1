//! `POST /v1/responses`: OpenAI's Responses API over the same runs as Chat Completions.
//!
//! The request is read into the same [`Completion`] as a chat request — `input` (a string or
//! message, `function_call` and `function_call_output` items), `instructions`, function
//! `tools` — so it runs the same way: an agent turn without client tools, a model call with
//! them. The reply is a `response` object whose `output` holds a `reasoning` item (when the
//! model thought aloud), a `message` item with the text and one `function_call` item per call;
//! streamed, it is the Responses event sequence the `openai` SDKs accumulate
//! (`response.created`, `response.output_item.added`, `response.output_text.delta`,
//! `response.function_call_arguments.delta`, …, `response.completed`). Nothing is stored:
//! `previous_response_id` and `store: true` are refused, the client sends its history.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::Stream;
use openclaw_llm::{Image, ResponseFormat, Role};
use serde_json::{json, Map, Value};

use crate::completion::{
    arguments_text, check_tool_names, function_tool, history_call, invalid, json_schema_format,
    parse_object, thinking_level, tool_choice, unsupported, Completion, Fields, InMessage,
};
use crate::error::GatewayError;
use crate::openai::{early_error, read_body, start, Started};
use crate::run::ChatEvent;
use crate::state::AppState;

/// `POST /v1/responses`.
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    match respond(state, headers, request).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn respond(
    state: Arc<AppState>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, GatewayError> {
    let body = read_body(&state, request).await?;
    let (completion, echo) = parse_responses(&body)?;
    let started = start(&state, &headers, completion).await?;
    let meta = Meta {
        id: format!("resp_{}", started.run_id.replace('-', "")),
        created_at: openclaw_agent::now_ms() / 1000,
        model: started.model.clone(),
        echo,
    };
    if started.stream {
        return Ok(Sse::new(event_stream(meta, started))
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
                let n = calls.len();
                calls.push(function_call_item(
                    &meta.item_id("fc", n),
                    &id,
                    &name,
                    &arguments_text(&arguments),
                    "completed",
                ));
            }
            ChatEvent::Final {
                answer,
                thinking,
                prompt_tokens,
                completion_tokens,
                finish_reason,
                ..
            } => {
                drop(guard);
                let mut output = Vec::new();
                if !thinking.is_empty() {
                    output.push(reasoning_item(&meta.item_id("rs", 0), &thinking));
                }
                if !answer.is_empty() || calls.is_empty() {
                    output.push(message_item(&meta.item_id("msg", 0), &answer, "completed"));
                }
                output.extend(calls);
                let done = Done {
                    usage: usage(prompt_tokens, completion_tokens),
                    incomplete: finish_reason.as_deref() == Some("length"),
                };
                return Ok(Json(meta.response(&done.status(), output, Some(&done))).into_response());
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

/// Request fields the `response` object repeats back, as the client sent them.
#[derive(Debug, Default)]
struct Echo {
    fields: Map<String, Value>,
}

/// What every event and the `response` object of one reply share.
struct Meta {
    id: String,
    created_at: u64,
    model: String,
    echo: Echo,
}

/// How the reply ended.
struct Done {
    usage: Value,
    incomplete: bool,
}

impl Done {
    fn status(&self) -> String {
        if self.incomplete {
            "incomplete"
        } else {
            "completed"
        }
        .into()
    }
}

impl Meta {
    /// `<prefix>_<response id>_<n>`: ids stay stable between the events and the final object.
    fn item_id(&self, prefix: &str, n: usize) -> String {
        let base = self.id.trim_start_matches("resp_");
        format!("{prefix}_{base}_{n}")
    }

    /// The `response` object with this status and output.
    fn response(&self, status: &str, output: Vec<Value>, done: Option<&Done>) -> Value {
        let echo =
            |key: &str, default: Value| self.echo.fields.get(key).cloned().unwrap_or(default);
        let mut response = json!({
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "error": null,
            "incomplete_details": null,
            "instructions": echo("instructions", Value::Null),
            "max_output_tokens": echo("max_output_tokens", Value::Null),
            "model": self.model,
            "output": output,
            "parallel_tool_calls": echo("parallel_tool_calls", json!(true)),
            "previous_response_id": null,
            "reasoning": echo("reasoning", json!({"effort": null, "summary": null})),
            "store": false,
            "temperature": echo("temperature", json!(1.0)),
            "text": echo("text", json!({"format": {"type": "text"}})),
            "tool_choice": echo("tool_choice", json!("auto")),
            "tools": echo("tools", json!([])),
            "top_p": echo("top_p", json!(1.0)),
            "truncation": "disabled",
            "usage": null,
            "user": echo("user", Value::Null),
            "metadata": echo("metadata", json!({})),
        });
        if let Some(done) = done {
            response["usage"] = done.usage.clone();
            if done.incomplete {
                response["incomplete_details"] = json!({"reason": "max_output_tokens"});
            }
        }
        response
    }
}

fn usage(input: u64, output: u64) -> Value {
    json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input + output,
    })
}

fn message_item(id: &str, text: &str, status: &str) -> Value {
    let content = if status == "completed" {
        json!([{"type": "output_text", "text": text, "annotations": [], "logprobs": []}])
    } else {
        json!([])
    };
    json!({"type": "message", "id": id, "status": status, "role": "assistant", "content": content})
}

fn reasoning_item(id: &str, text: &str) -> Value {
    json!({
        "type": "reasoning",
        "id": id,
        "summary": [],
        "content": [{"type": "reasoning_text", "text": text}],
    })
}

fn function_call_item(id: &str, call_id: &str, name: &str, arguments: &str, status: &str) -> Value {
    json!({
        "type": "function_call",
        "id": id,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    })
}

/// The item being streamed.
enum Open {
    None,
    Reasoning { index: usize, text: String },
    Message { index: usize, text: String },
}

/// Turns a run's events into Responses stream events.
struct Streamer {
    meta: Meta,
    sequence: u64,
    /// Finished output items, in order.
    output: Vec<Value>,
    open: Open,
    client_tools: bool,
    calls: usize,
}

impl Streamer {
    fn event(&mut self, kind: &str, mut data: Value) -> Event {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(self.sequence);
        self.sequence += 1;
        Event::default().event(kind).data(data.to_string())
    }

    fn begin(&mut self) -> Vec<Event> {
        let response = self.meta.response("in_progress", Vec::new(), None);
        vec![
            self.event("response.created", json!({"response": response.clone()})),
            self.event("response.in_progress", json!({"response": response})),
        ]
    }

    /// Ends the item being streamed, if any.
    fn close(&mut self, out: &mut Vec<Event>) {
        match std::mem::replace(&mut self.open, Open::None) {
            Open::None => {}
            Open::Reasoning { index, text } => {
                let id = self.meta.item_id("rs", index);
                out.push(self.event(
                    "response.reasoning_text.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "text": text}),
                ));
                let item = reasoning_item(&id, &text);
                out.push(self.event(
                    "response.output_item.done",
                    json!({"output_index": index, "item": item.clone()}),
                ));
                self.output.push(item);
            }
            Open::Message { index, text } => {
                let id = self.meta.item_id("msg", index);
                out.push(self.event(
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "text": text, "logprobs": []}),
                ));
                let part =
                    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []});
                out.push(self.event(
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "part": part}),
                ));
                let item = message_item(&id, &text, "completed");
                out.push(self.event(
                    "response.output_item.done",
                    json!({"output_index": index, "item": item.clone()}),
                ));
                self.output.push(item);
            }
        }
    }

    fn thinking(&mut self, delta: &str, out: &mut Vec<Event>) {
        if !matches!(self.open, Open::Reasoning { .. }) {
            self.close(out);
            let index = self.output.len();
            let id = self.meta.item_id("rs", index);
            let mut item = reasoning_item(&id, "");
            item["status"] = json!("in_progress");
            out.push(self.event(
                "response.output_item.added",
                json!({"output_index": index, "item": item}),
            ));
            self.open = Open::Reasoning {
                index,
                text: String::new(),
            };
        }
        if let Open::Reasoning { index, text } = &mut self.open {
            text.push_str(delta);
            let index = *index;
            let id = self.meta.item_id("rs", index);
            out.push(self.event(
                "response.reasoning_text.delta",
                json!({"item_id": id, "output_index": index, "content_index": 0, "delta": delta}),
            ));
        }
    }

    fn text(&mut self, delta: &str, out: &mut Vec<Event>) {
        if !matches!(self.open, Open::Message { .. }) {
            self.close(out);
            let index = self.output.len();
            let id = self.meta.item_id("msg", index);
            out.push(self.event(
                "response.output_item.added",
                json!({"output_index": index, "item": message_item(&id, "", "in_progress")}),
            ));
            let part =
                json!({"type": "output_text", "text": "", "annotations": [], "logprobs": []});
            out.push(self.event(
                "response.content_part.added",
                json!({"item_id": id, "output_index": index, "content_index": 0, "part": part}),
            ));
            self.open = Open::Message {
                index,
                text: String::new(),
            };
        }
        if let Open::Message { index, text } = &mut self.open {
            text.push_str(delta);
            let index = *index;
            let id = self.meta.item_id("msg", index);
            out.push(self.event(
                "response.output_text.delta",
                json!({"item_id": id, "output_index": index, "content_index": 0, "delta": delta, "logprobs": []}),
            ));
        }
    }

    fn call(&mut self, call_id: &str, name: &str, arguments: &str, out: &mut Vec<Event>) {
        self.close(out);
        let index = self.output.len();
        let id = self.meta.item_id("fc", self.calls);
        self.calls += 1;
        out.push(self.event(
            "response.output_item.added",
            json!({"output_index": index, "item": function_call_item(&id, call_id, name, "", "in_progress")}),
        ));
        for piece in crate::openai::argument_pieces(arguments) {
            out.push(self.event(
                "response.function_call_arguments.delta",
                json!({"item_id": id, "output_index": index, "delta": piece}),
            ));
        }
        out.push(self.event(
            "response.function_call_arguments.done",
            json!({"item_id": id, "output_index": index, "name": name, "arguments": arguments}),
        ));
        let item = function_call_item(&id, call_id, name, arguments, "completed");
        out.push(self.event(
            "response.output_item.done",
            json!({"output_index": index, "item": item.clone()}),
        ));
        self.output.push(item);
    }

    /// Handles one run event; true once the stream is over.
    fn handle(&mut self, event: ChatEvent, out: &mut Vec<Event>) -> bool {
        match event {
            ChatEvent::Delta(text) => self.text(&text, out),
            ChatEvent::Thinking(text) => self.thinking(&text, out),
            ChatEvent::ToolCall {
                id,
                name,
                arguments,
            } if self.client_tools => self.call(&id, &name, &arguments_text(&arguments), out),
            ChatEvent::Final {
                prompt_tokens,
                completion_tokens,
                finish_reason,
                ..
            } => {
                if self.output.is_empty() && self.calls == 0 && matches!(self.open, Open::None) {
                    // An empty answer is still a message.
                    self.text("", out);
                }
                self.close(out);
                let done = Done {
                    usage: usage(prompt_tokens, completion_tokens),
                    incomplete: finish_reason.as_deref() == Some("length"),
                };
                let status = done.status();
                let response =
                    self.meta
                        .response(&status, std::mem::take(&mut self.output), Some(&done));
                let kind = if done.incomplete {
                    "response.incomplete"
                } else {
                    "response.completed"
                };
                out.push(self.event(kind, json!({"response": response})));
                return true;
            }
            ChatEvent::Error { message, kind } => {
                self.close(out);
                let error = early_error(&message, &kind);
                let mut response =
                    self.meta
                        .response("failed", std::mem::take(&mut self.output), None);
                response["error"] = json!({
                    "code": error.openai_code().unwrap_or("server_error"),
                    "message": error.to_string(),
                });
                out.push(self.event("response.failed", json!({"response": response})));
                return true;
            }
            ChatEvent::Aborted => return true,
            _ => {}
        }
        false
    }
}

/// The SSE stream of a run as Responses events. Dropping it (the client went away) stops the
/// run.
fn event_stream(meta: Meta, started: Started) -> impl Stream<Item = Result<Event, Infallible>> {
    struct S {
        streamer: Streamer,
        rx: tokio::sync::mpsc::UnboundedReceiver<ChatEvent>,
        _guard: crate::run::AbortOnDrop,
        backlog: Option<Arc<openclaw_llm::Backlog>>,
        pending: Option<ChatEvent>,
        queued: VecDeque<Event>,
        begun: bool,
        done: bool,
    }
    let Started {
        first,
        rx,
        guard,
        client_tools,
        backlog,
        ..
    } = started;
    let s = S {
        streamer: Streamer {
            meta,
            sequence: 0,
            output: Vec::new(),
            open: Open::None,
            client_tools,
            calls: 0,
        },
        rx,
        _guard: guard,
        backlog,
        pending: Some(first),
        queued: VecDeque::new(),
        begun: false,
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
            if !s.begun {
                s.begun = true;
                s.queued.extend(s.streamer.begin());
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
            let mut out = Vec::new();
            s.done = s.streamer.handle(event, &mut out);
            s.queued.extend(out);
        }
    })
}

/// Fields of a Responses request accepted without effect (OpenAI's storage, billing, abuse
/// tracking, and limits on built-in tools the gateway does not have).
const IGNORED_FIELDS: [&str; 6] = [
    "metadata",
    "service_tier",
    "prompt_cache_key",
    "safety_identifier",
    "max_tool_calls",
    "stream_options",
];

/// Reads a Responses request into a [`Completion`], keeping what the reply echoes.
fn parse_responses(body: &[u8]) -> Result<(Completion, Echo), GatewayError> {
    let obj = parse_object(body)?;
    let f = Fields::new(&obj, "");
    for key in obj.keys() {
        let known = matches!(
            key.as_str(),
            "model"
                | "input"
                | "instructions"
                | "tools"
                | "tool_choice"
                | "parallel_tool_calls"
                | "stream"
                | "max_output_tokens"
                | "temperature"
                | "top_p"
                | "text"
                | "reasoning"
                | "user"
                | "store"
                | "previous_response_id"
                | "include"
                | "truncation"
                | "background"
                | "prompt"
                | "conversation"
                | "top_logprobs"
        ) || IGNORED_FIELDS.contains(&key.as_str());
        if !known {
            return Err(unsupported(
                key,
                "it is not a Responses field (docs/gateway-protocol.md lists the fields and what each does)",
            ));
        }
    }
    f.refuse_unless(
        "store",
        &[json!(false)],
        "responses are not stored; send the whole conversation in `input`",
    )?;
    f.refuse_unless(
        "previous_response_id",
        &[],
        "responses are not stored; send the whole conversation in `input`",
    )?;
    f.refuse_unless(
        "conversation",
        &[],
        "conversations are not stored; send the whole conversation in `input`",
    )?;
    f.refuse_unless("prompt", &[], "stored prompt templates are not supported")?;
    f.refuse_unless(
        "background",
        &[json!(false)],
        "responses run while the request is open",
    )?;
    f.refuse_unless("include", &[json!([])], "no extra output data is available")?;
    f.refuse_unless(
        "truncation",
        &[json!("disabled")],
        "the conversation is never cut to fit",
    )?;
    f.refuse_unless(
        "top_logprobs",
        &[json!(0)],
        "token log probabilities are not passed on",
    )?;

    let mut echo = Echo::default();
    for key in [
        "instructions",
        "max_output_tokens",
        "parallel_tool_calls",
        "reasoning",
        "temperature",
        "text",
        "tool_choice",
        "tools",
        "top_p",
        "user",
        "metadata",
    ] {
        if let Some(v) = f.get(key) {
            echo.fields.insert(key.into(), v.clone());
        }
    }

    let model = f.string("model")?.unwrap_or("openclaw").to_string();
    let stream = f.bool("stream")?.unwrap_or(false);
    let user = f
        .string("user")?
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    let instructions = f.string("instructions")?.map(str::to_string);
    let thinking = match f.get("reasoning") {
        None => None,
        Some(Value::Object(r)) => thinking_level(r.get("effort"), "reasoning.effort")?,
        Some(_) => return Err(invalid("reasoning", "must be an object")),
    };

    let mut tools = Vec::new();
    match f.get("tools") {
        None => {}
        Some(Value::Array(list)) => {
            for (i, t) in list.iter().enumerate() {
                let param = format!("tools[{i}]");
                let Value::Object(tool) = t else {
                    return Err(invalid(&param, "must be a tool object"));
                };
                match tool.get("type").and_then(Value::as_str) {
                    Some("function") => tools.push(function_tool(tool, &param)?),
                    other => {
                        return Err(unsupported(
                            &format!("{param}.type"),
                            &format!(
                                "`{}` tools are not available; describe the tool as a `function` and run it yourself",
                                other.unwrap_or("?")
                            ),
                        ))
                    }
                }
            }
            check_tool_names(&tools, "tools")?;
        }
        Some(_) => return Err(invalid("tools", "must be an array of tools")),
    }

    let mut options = openclaw_llm::RequestOptions {
        max_tokens: f.count("max_output_tokens", 1)?,
        temperature: f.number("temperature", 0.0, 2.0)?,
        top_p: f.number("top_p", 0.0, 1.0)?,
        tool_choice: tool_choice(f.get("tool_choice"), &tools, "tool_choice")?,
        parallel_tool_calls: f.bool("parallel_tool_calls")?,
        ..Default::default()
    };
    options.response_format = match f.get("text") {
        None => None,
        Some(Value::Object(text)) => {
            let tf = Fields::new(text, "text.");
            tf.refuse_unless(
                "verbosity",
                &[json!("medium")],
                "local models have no verbosity setting; say it in the prompt",
            )?;
            match tf.get("format") {
                None => None,
                Some(Value::Object(format)) => match format.get("type").and_then(Value::as_str) {
                    Some("text") => None,
                    Some("json_object") => Some(ResponseFormat::JsonObject),
                    Some("json_schema") => Some(json_schema_format(format, "text.format")?),
                    _ => {
                        return Err(invalid(
                            "text.format.type",
                            "must be text, json_object or json_schema",
                        ))
                    }
                },
                Some(_) => return Err(invalid("text.format", "must be an object")),
            }
        }
        Some(_) => return Err(invalid("text", "must be an object")),
    };

    let messages = match f.get("input") {
        None => {
            return Err(invalid(
                "input",
                "is required: a string or an array of input items",
            ))
        }
        Some(Value::String(s)) => vec![InMessage::new(Role::User, s.clone(), "input".into())],
        Some(Value::Array(items)) => input_items(items)?,
        Some(_) => {
            return Err(invalid(
                "input",
                "must be a string or an array of input items",
            ))
        }
    };
    if messages.is_empty() {
        return Err(invalid("input", "must hold at least one item"));
    }
    let completion = Completion {
        model,
        stream,
        include_usage: false,
        user,
        thinking,
        instructions,
        messages,
        tools,
        options,
    };
    Ok((completion, echo))
}

/// `input` items: messages, the model's earlier function calls and their outputs. Reasoning
/// items are accepted and not sent back (thinking is shown, never fed to the model again).
fn input_items(items: &[Value]) -> Result<Vec<InMessage>, GatewayError> {
    let mut out: Vec<InMessage> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let param = format!("input[{i}]");
        let Value::Object(obj) = item else {
            return Err(invalid(&param, "must be an input item object"));
        };
        let kind = obj.get("type").and_then(Value::as_str).unwrap_or("message");
        match kind {
            "message" => out.push(input_message(obj, &param)?),
            "function_call" => {
                let field = |k: &str| obj.get(k).and_then(Value::as_str);
                let (Some(call_id), Some(name)) = (field("call_id"), field("name")) else {
                    return Err(invalid(&param, "a `function_call` item needs `call_id` and `name`"));
                };
                let call = history_call(call_id, name, field("arguments").unwrap_or_default());
                // Calls of one reply join the assistant message they follow.
                match out.last_mut() {
                    Some(last) if last.role == Role::Assistant => last.tool_calls.push(call),
                    _ => {
                        let mut message = InMessage::new(Role::Assistant, String::new(), param);
                        message.tool_calls.push(call);
                        out.push(message);
                    }
                }
            }
            "function_call_output" => {
                let Some(call_id) = obj.get("call_id").and_then(Value::as_str) else {
                    return Err(invalid(&format!("{param}.call_id"), "a `function_call_output` item needs its `call_id`"));
                };
                let (text, _, _) = parts(obj.get("output"), &format!("{param}.output"), Role::Tool)?;
                let mut message = InMessage::new(Role::Tool, text, param);
                message.tool_call_id = Some(call_id.to_string());
                out.push(message);
            }
            "reasoning" => {}
            other => {
                return Err(unsupported(
                    &format!("{param}.type"),
                    &format!("`{other}` input items are not supported; send messages, function calls and their outputs"),
                ))
            }
        }
    }
    Ok(out)
}

/// A `message` input item: `{role, content}`.
fn input_message(obj: &Map<String, Value>, param: &str) -> Result<InMessage, GatewayError> {
    let role = match obj.get("role").and_then(Value::as_str) {
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some("system" | "developer") => Role::System,
        Some(other) => {
            return Err(invalid(
                &format!("{param}.role"),
                &format!("`{other}` is not a message role (user, assistant, system, developer)"),
            ))
        }
        None => return Err(invalid(&format!("{param}.role"), "must be a string")),
    };
    let (text, images, image_param) = parts(obj.get("content"), &format!("{param}.content"), role)?;
    let mut message = InMessage::new(role, text, param.to_string());
    message.images = images;
    message.image_param = image_param;
    Ok(message)
}

/// Content: a string, or `input_text`/`output_text`/`refusal` parts joined with newlines, and
/// `input_image` parts (data URLs, user messages only).
fn parts(
    value: Option<&Value>,
    param: &str,
    role: Role,
) -> Result<(String, Vec<Image>, Option<String>), GatewayError> {
    let list = match value {
        None | Some(Value::Null) => return Ok((String::new(), Vec::new(), None)),
        Some(Value::String(s)) => return Ok((s.clone(), Vec::new(), None)),
        Some(Value::Array(list)) => list,
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
    for (j, part) in list.iter().enumerate() {
        let part_param = format!("{param}[{j}]");
        let kind = part.get("type").and_then(Value::as_str).unwrap_or("?");
        match kind {
            "input_text" | "output_text" | "text" => match part.get("text").and_then(Value::as_str) {
                Some(t) => texts.push(t),
                None => return Err(invalid(&part_param, "a text part needs its `text`")),
            },
            "refusal" => {
                if let Some(t) = part.get("refusal").and_then(Value::as_str) {
                    texts.push(t);
                }
            }
            "input_image" if role == Role::User => {
                let Some(url) = part.get("image_url").and_then(Value::as_str) else {
                    return Err(unsupported(
                        &part_param,
                        "an image must come as `image_url` with a data URL; stored files (`file_id`) are not available",
                    ));
                };
                images.push(Image::from_data_url(url).map_err(|e| invalid(&part_param, &e))?);
                first_image.get_or_insert(part_param);
            }
            "input_image" => return Err(invalid(&part_param, "only user messages may carry images")),
            other => {
                return Err(unsupported(
                    &part_param,
                    &format!("`{other}` content parts are not supported; send text and images (`input_image` with a data URL)"),
                ))
            }
        }
    }
    Ok((texts.join("\n"), images, first_image))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<(Completion, Echo), GatewayError> {
        parse_responses(body.to_string().as_bytes())
    }

    #[test]
    fn string_input_is_one_user_message() {
        let (c, echo) = parse(
            json!({"model": "openclaw", "input": "hi", "instructions": "be brief",
            "max_output_tokens": 20, "temperature": 0.5}),
        )
        .unwrap();
        assert_eq!(c.messages.len(), 1);
        assert_eq!(c.messages[0].role, Role::User);
        assert_eq!(c.options.max_tokens, Some(20));
        assert!(!c.calls_client_tools());
        assert_eq!(c.agent_turn().unwrap().system.as_deref(), Some("be brief"));
        assert_eq!(echo.fields["temperature"], 0.5);
    }

    #[test]
    fn function_calls_and_outputs_become_a_tool_history() {
        let (c, _) = parse(json!({
            "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
                {"type": "reasoning", "id": "rs_1", "summary": []},
                {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"},
                {"type": "function_call", "call_id": "call_2", "name": "get_weather", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "call_1", "output": "22 C"},
                {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "9 C"}]},
            ]}))
        .unwrap();
        assert!(c.calls_client_tools());
        let (messages, _) = c.model_messages().unwrap();
        let roles: Vec<Role> = messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool, Role::Tool]);
        assert_eq!(messages[1].tool_calls.len(), 2);
        assert_eq!(messages[3].content, "9 C");
    }

    #[test]
    fn what_cannot_be_honoured_is_refused_by_name() {
        for (body, param) in [
            (
                json!({"input": "x", "previous_response_id": "resp_1"}),
                "previous_response_id",
            ),
            (json!({"input": "x", "store": true}), "store"),
            (
                json!({"input": "x", "tools": [{"type": "web_search"}]}),
                "tools[0].type",
            ),
            (
                json!({"input": [{"type": "item_reference", "id": "x"}]}),
                "input[0].type",
            ),
            (json!({"input": "x", "seed": 1}), "seed"),
            (
                json!({"input": "x", "text": {"format": {"type": "yaml"}}}),
                "text.format.type",
            ),
        ] {
            match parse(body.clone()) {
                Err(GatewayError::InvalidParam { param: p, .. }) => assert_eq!(p, param, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_stream_closes_each_item_before_the_next() {
        let meta = Meta {
            id: "resp_1".into(),
            created_at: 0,
            model: "m".into(),
            echo: Echo::default(),
        };
        let mut s = Streamer {
            meta,
            sequence: 0,
            output: Vec::new(),
            open: Open::None,
            client_tools: true,
            calls: 0,
        };
        let mut out = s.begin();
        s.handle(ChatEvent::Thinking("hm".into()), &mut out);
        s.handle(ChatEvent::Delta("Let me check.".into()), &mut out);
        s.handle(
            ChatEvent::ToolCall {
                id: "call_0".into(),
                name: "f".into(),
                arguments: json!({"a": 1}),
            },
            &mut out,
        );
        let done = s.handle(
            ChatEvent::Final {
                answer: "Let me check.".into(),
                thinking: "hm".into(),
                model: "m".into(),
                prompt_tokens: 1,
                completion_tokens: 2,
                finish_reason: Some("tool_calls".into()),
            },
            &mut out,
        );
        assert!(done);
        assert_eq!(s.output.len(), 0, "handed to the final response");
        assert_eq!(s.sequence as usize, out.len());
    }
}
