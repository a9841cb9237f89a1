//! The OpenAI-compatible wire: `POST {base}/chat/completions`.
//!
//! Ollama's `/v1`, llama.cpp's server, LM Studio, vLLM and hosted APIs all speak it, each a
//! little differently (see `LOCAL-LLM.md`): tool calls arrive whole or in pieces keyed by
//! `index`, arguments as a JSON string or an object, reasoning as `reasoning` or
//! `reasoning_content`, the first content as `""` or `null`. This module writes the request
//! body and reads chunks (or a whole non-streamed completion) into the shared [`Assembler`].

use serde_json::{json, Map, Value};

use crate::classify::{classify_stream_error, truncate, Context};
use crate::error::LlmError;
use crate::options::{Image, RequestOptions, ResponseFormat, ToolChoice};
use crate::reply::{Assembler, Emit};
use crate::textual_calls::Arguments;
use crate::types::{ChatMessage, ChatRequest, Role, ThinkingLevel, ToolCall, ToolSpec, Usage};

/// The JSON body of a streaming `chat/completions` request.
pub(crate) fn request_body(request: &ChatRequest, options: &RequestOptions) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(request.model));
    let messages: Vec<Value> = request
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| message(m, options.images_for(&request.messages, i)))
        .collect();
    body.insert("messages".into(), Value::Array(messages));
    body.insert("stream".into(), json!(true));
    body.insert("stream_options".into(), json!({ "include_usage": true }));
    if !request.tools.is_empty() && options.offers_tools() {
        body.insert("tools".into(), tools(&request.tools));
        match &options.tool_choice {
            // `None` never gets here: the tools are not offered at all.
            None | Some(ToolChoice::None) => {}
            Some(ToolChoice::Auto) => {
                body.insert("tool_choice".into(), json!("auto"));
            }
            Some(ToolChoice::Required) => {
                body.insert("tool_choice".into(), json!("required"));
            }
            Some(ToolChoice::Function(name)) => {
                body.insert(
                    "tool_choice".into(),
                    json!({"type": "function", "function": {"name": name}}),
                );
            }
        }
        if let Some(parallel) = options.parallel_tool_calls {
            body.insert("parallel_tool_calls".into(), json!(parallel));
        }
    }
    if let Some(max_tokens) = options.max_tokens.or(request.max_tokens) {
        body.insert("max_tokens".into(), json!(max_tokens));
    }
    if let Some(temperature) = options.temperature.or(request.temperature) {
        body.insert("temperature".into(), json!(temperature));
    }
    let numbers = [
        ("top_p", options.top_p),
        ("presence_penalty", options.presence_penalty),
        ("frequency_penalty", options.frequency_penalty),
    ];
    for (key, value) in numbers {
        if let Some(value) = value {
            body.insert(key.into(), json!(value));
        }
    }
    if let Some(seed) = options.seed {
        body.insert("seed".into(), json!(seed));
    }
    if !options.stop.is_empty() {
        body.insert("stop".into(), json!(options.stop));
    }
    match &options.response_format {
        None => {}
        Some(ResponseFormat::JsonObject) => {
            body.insert("response_format".into(), json!({"type": "json_object"}));
        }
        Some(ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        }) => {
            let mut format = json!({"name": name, "schema": schema});
            if let Some(strict) = strict {
                format["strict"] = json!(strict);
            }
            body.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": format}),
            );
        }
    }
    if let Some(level) = request.thinking {
        let effort = match level {
            ThinkingLevel::Off => "none",
            ThinkingLevel::Low => "low",
            ThinkingLevel::Medium => "medium",
            ThinkingLevel::High => "high",
        };
        body.insert("reasoning_effort".into(), json!(effort));
    }
    Value::Object(body)
}

/// Tools in the OpenAI function-tool shape (Ollama native uses the same).
pub(crate) fn tools(tools: &[ToolSpec]) -> Value {
    tools
        .iter()
        .map(|t| {
            json!({
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                }
            })
        })
        .collect()
}

pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

fn message(m: &ChatMessage, images: &[Image]) -> Value {
    let mut out = Map::new();
    out.insert("role".into(), json!(role_name(m.role)));
    if images.is_empty() {
        out.insert("content".into(), json!(m.content));
    } else {
        // OpenAI's content parts: the text, then each image as a data URL.
        let mut parts = Vec::with_capacity(images.len() + 1);
        if !m.content.is_empty() {
            parts.push(json!({"type": "text", "text": m.content}));
        }
        for image in images {
            parts.push(json!({"type": "image_url", "image_url": {"url": image.data_url()}}));
        }
        out.insert("content".into(), Value::Array(parts));
    }
    if m.role == Role::Tool {
        if let Some(id) = &m.tool_call_id {
            out.insert("tool_call_id".into(), json!(id));
        }
    }
    if !m.tool_calls.is_empty() {
        let calls: Vec<Value> = m
            .tool_calls
            .iter()
            .map(|c| {
                json!({
                    "id": c.id,
                    "type": "function",
                    "function": { "name": c.name, "arguments": wire_arguments(c) },
                })
            })
            .collect();
        out.insert("tool_calls".into(), Value::Array(calls));
    }
    Value::Object(out)
}

/// The arguments string sent back for an earlier call: what the model wrote when it was a
/// valid object (servers cache prompt prefixes byte for byte), else `{}` — Ollama and
/// llama.cpp reject a conversation holding arguments that are not a JSON object, and the
/// tool's result already tells the model what was wrong.
fn wire_arguments(call: &ToolCall) -> String {
    if !call.arguments.is_object() {
        return "{}".to_owned();
    }
    match openclaw_untrusted::json::from_str::<Value>(&call.raw_arguments) {
        Ok(raw) if raw == call.arguments => call.raw_arguments.clone(),
        _ => call.arguments.to_string(),
    }
}

/// `usage` as OpenAI reports it.
pub(crate) fn usage(value: &Value) -> Option<Usage> {
    let usage = value.get("usage")?;
    if !usage.is_object() {
        return None;
    }
    let count = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
    Some(Usage {
        prompt_tokens: count("prompt_tokens"),
        completion_tokens: count("completion_tokens"),
    })
}

/// A tool call being received in pieces.
#[derive(Debug)]
struct PendingCall {
    index: Option<u64>,
    id: Option<String>,
    name: String,
    raw: String,
    object: Option<Value>,
}

impl PendingCall {
    /// Whether the arguments received so far are a whole JSON value.
    fn complete(&self) -> bool {
        self.object.is_some() || openclaw_untrusted::json::from_str::<Value>(&self.raw).is_ok()
    }
}

/// The state of one streamed reply.
#[derive(Debug, Default)]
pub(crate) struct OpenAiStream {
    pending: Vec<PendingCall>,
    finished: bool,
}

impl OpenAiStream {
    /// One chunk (`data:` payload) or a whole non-streamed completion.
    pub fn chunk(
        &mut self,
        value: &Value,
        ctx: &Context,
        asm: &mut Assembler,
        emit: Emit<'_>,
    ) -> Result<(), LlmError> {
        if !value.is_object() {
            return Err(LlmError::MalformedStream {
                url: ctx.url.clone(),
                detail: format!(
                    "expected a JSON object, got `{}`",
                    truncate(&value.to_string(), 200)
                ),
            });
        }
        if value.get("error").is_some_and(|e| !e.is_null()) {
            return Err(classify_stream_error(ctx, value));
        }
        if let Some(usage) = usage(value) {
            asm.set_usage(usage);
        }
        let Some(choices) = value.get("choices").and_then(Value::as_array) else {
            return Ok(());
        };
        // Only the first choice is ever asked for.
        let choice = choices
            .iter()
            .find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0);
        let Some(choice) = choice else {
            return Ok(());
        };
        if let Some(delta) = choice.get("delta").or_else(|| choice.get("message")) {
            self.delta(delta, asm, emit);
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.flush(asm, emit);
            asm.set_finish_reason(reason);
            self.finished = true;
        }
        Ok(())
    }

    /// A `finish_reason` was received.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Emits the tool calls still being received: their arguments are as whole as they get.
    pub fn flush(&mut self, asm: &mut Assembler, emit: Emit<'_>) {
        for call in self.pending.drain(..) {
            let arguments = match call.object {
                Some(value) => Arguments::Value(value),
                None => Arguments::Text(call.raw),
            };
            asm.tool_call(call.id, call.name, arguments, emit);
        }
    }

    fn delta(&mut self, delta: &Value, asm: &mut Assembler, emit: Emit<'_>) {
        let reasoning = ["reasoning_content", "reasoning", "thinking"]
            .iter()
            .filter_map(|key| delta.get(*key).and_then(Value::as_str))
            .find(|text| !text.is_empty());
        if let Some(text) = reasoning {
            asm.thinking(text, emit);
        }
        match delta.get("content") {
            Some(Value::String(text)) => asm.content(text, emit),
            // Content parts: `[{"type": "text", "text": "…"}]`.
            Some(Value::Array(parts)) => {
                for part in parts {
                    if let Some(text) = part.get("text").and_then(Value::as_str) {
                        asm.content(text, emit);
                    }
                }
            }
            _ => {}
        }
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            for call in calls {
                self.tool_call_piece(call);
            }
        }
    }

    fn tool_call_piece(&mut self, piece: &Value) {
        let non_empty = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let index = piece.get("index").and_then(Value::as_u64);
        let id = non_empty(piece.get("id"));
        let function = piece.get("function");
        let name = non_empty(function.and_then(|f| f.get("name")));
        let arguments = function.and_then(|f| f.get("arguments"));
        let has_arguments = match arguments {
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Null) | None => false,
            Some(_) => true,
        };

        let target = match index {
            Some(i) => self.pending.iter().rposition(|p| p.index == Some(i)),
            None => self.pending.len().checked_sub(1),
        };
        // A different id, or a new name after complete arguments, starts another call even at
        // the same index (Ollama numbers the calls of each native response from 0).
        let target = target.filter(|&t| {
            let p = &self.pending[t];
            let other_id = matches!((&id, &p.id), (Some(a), Some(b)) if a != b);
            let restarted = name.is_some() && !p.name.is_empty() && has_arguments && p.complete();
            !other_id && !restarted
        });
        let slot = match target {
            Some(t) => t,
            None => {
                self.pending.push(PendingCall {
                    index,
                    id: None,
                    name: String::new(),
                    raw: String::new(),
                    object: None,
                });
                self.pending.len() - 1
            }
        };
        let Some(call) = self.pending.get_mut(slot) else {
            return;
        };
        if call.id.is_none() {
            call.id = id;
        }
        if call.name.is_empty() {
            if let Some(name) = name {
                call.name = name;
            }
        }
        match arguments {
            Some(Value::String(piece)) => call.raw.push_str(piece),
            Some(Value::Null) | None => {}
            Some(value) => call.object = Some(value.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::StreamEvent;

    fn ctx() -> Context {
        Context {
            url: "u".into(),
            model: "m".into(),
        }
    }

    fn run(chunks: &[Value]) -> crate::types::ChatResponse {
        let mut stream = OpenAiStream::default();
        let mut asm = Assembler::new(&[]);
        let mut emit = |_: StreamEvent| {};
        for chunk in chunks {
            stream.chunk(chunk, &ctx(), &mut asm, &mut emit).unwrap();
        }
        stream.flush(&mut asm, &mut emit);
        asm.finish(&mut emit)
    }

    fn call_chunk(call: Value) -> Value {
        json!({"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]})
    }

    #[test]
    fn pieces_are_joined_by_index() {
        let response = run(&[
            call_chunk(
                json!({"index": 0, "id": "a", "function": {"name": "f", "arguments": "{\"x\""}}),
            ),
            call_chunk(json!({"index": 1, "id": "b", "function": {"name": "g", "arguments": ""}})),
            call_chunk(json!({"index": 0, "function": {"arguments": ":1}"}})),
            call_chunk(json!({"index": 1, "function": {"arguments": "{}"}})),
        ]);
        let calls: Vec<(&str, &str, Value)> = response
            .tool_calls
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.clone()))
            .collect();
        assert_eq!(calls, [("a", "f", json!({"x": 1})), ("b", "g", json!({}))]);
    }

    #[test]
    fn whole_calls_reusing_index_zero_stay_apart() {
        let response = run(&[
            call_chunk(
                json!({"index": 0, "id": "call_1", "function": {"name": "f", "arguments": "{\"a\":1}"}}),
            ),
            call_chunk(
                json!({"index": 0, "id": "call_2", "function": {"name": "f", "arguments": "{\"a\":2}"}}),
            ),
            call_chunk(json!({"function": {"name": "f", "arguments": "{\"a\":3}"}})),
        ]);
        let args: Vec<Value> = response
            .tool_calls
            .iter()
            .map(|c| c.arguments.clone())
            .collect();
        assert_eq!(args, [json!({"a": 1}), json!({"a": 2}), json!({"a": 3})]);
        // A generated id never repeats one the wire sent.
        assert_eq!(response.tool_calls[2].id, "call_3");
    }

    #[test]
    fn object_arguments_are_accepted() {
        let response = run(&[call_chunk(
            json!({"index": 0, "id": "x", "function": {"name": "f", "arguments": {"k": [1]}}}),
        )]);
        assert_eq!(response.tool_calls[0].arguments, json!({"k": [1]}));
        assert_eq!(response.tool_calls[0].raw_arguments, "{\"k\":[1]}");
    }

    #[test]
    fn content_parts_and_reasoning_content() {
        let response = run(&[
            json!({"choices": [{"index": 0, "delta": {"content": null, "reasoning_content": "r"}}]}),
            json!({"choices": [{"delta": {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}}]}),
            json!({"choices": [{"index": 1, "delta": {"content": "other choice"}}]}),
        ]);
        assert_eq!(
            (response.text.as_str(), response.thinking.as_str()),
            ("ab", "r")
        );
    }

    #[test]
    fn request_body_shape() {
        let call = ToolCall {
            id: "c1".into(),
            name: "read".into(),
            arguments: json!({"path": "a"}),
            raw_arguments: "{\"path\": \"a\"}".into(),
            arguments_error: None,
        };
        let bad = ToolCall {
            id: "c2".into(),
            name: "read".into(),
            arguments: Value::Null,
            raw_arguments: "{oops".into(),
            arguments_error: Some("x".into()),
        };
        let request = ChatRequest {
            model: "m".into(),
            messages: vec![
                ChatMessage::user("hi"),
                ChatMessage::assistant("", vec![call.clone(), bad]),
                ChatMessage::tool_result(&call, "file"),
            ],
            tools: Vec::new(),
            thinking: Some(ThinkingLevel::Off),
            max_tokens: Some(5),
            num_ctx: Some(8192),
            temperature: None,
        };
        let body = request_body(&request, &RequestOptions::default());
        assert_eq!(
            body,
            json!({
                "model": "m",
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "", "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "read", "arguments": "{\"path\": \"a\"}"}},
                        {"id": "c2", "type": "function", "function": {"name": "read", "arguments": "{}"}},
                    ]},
                    {"role": "tool", "content": "file", "tool_call_id": "c1"},
                ],
                "stream": true,
                "stream_options": {"include_usage": true},
                "max_tokens": 5,
                "reasoning_effort": "none",
            })
        );
    }

    #[test]
    fn settings_map_onto_the_openai_wire() {
        use crate::options::Image;
        let request = ChatRequest {
            model: "m".into(),
            messages: vec![ChatMessage::user("look"), ChatMessage::user("and this")],
            tools: vec![ToolSpec {
                name: "f".into(),
                description: "d".into(),
                parameters: json!({"type": "object"}),
            }],
            max_tokens: Some(99),
            temperature: Some(0.9),
            ..ChatRequest::default()
        };
        let image = Image {
            media_type: "image/png".into(),
            base64: "AAAA".into(),
        };
        let options = RequestOptions {
            max_tokens: Some(7),
            temperature: Some(0.1),
            top_p: Some(0.5),
            stop: vec!["END".into()],
            seed: Some(42),
            presence_penalty: Some(0.25),
            frequency_penalty: Some(-0.5),
            response_format: Some(ResponseFormat::JsonSchema {
                name: "answer".into(),
                schema: json!({"type": "object"}),
                strict: Some(true),
            }),
            tool_choice: Some(ToolChoice::Function("f".into())),
            parallel_tool_calls: Some(false),
            images: [(0, vec![image])].into_iter().collect(),
        };
        let body = request_body(&request, &options);
        assert_eq!(body["max_tokens"], 7);
        assert_eq!(body["temperature"], 0.1);
        assert_eq!(body["top_p"], 0.5);
        assert_eq!(body["stop"], json!(["END"]));
        assert_eq!(body["seed"], 42);
        assert_eq!(body["presence_penalty"], 0.25);
        assert_eq!(body["frequency_penalty"], -0.5);
        assert_eq!(
            body["response_format"],
            json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": true}})
        );
        assert_eq!(
            body["tool_choice"],
            json!({"type": "function", "function": {"name": "f"}})
        );
        assert_eq!(body["parallel_tool_calls"], false);
        assert_eq!(body["messages"][0]["content"], "look");
        assert_eq!(
            body["messages"][1]["content"],
            json!([
                {"type": "text", "text": "and this"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ])
        );
        let none = RequestOptions {
            tool_choice: Some(ToolChoice::None),
            ..RequestOptions::default()
        };
        let body = request_body(&request, &none);
        assert!(body.get("tools").is_none() && body.get("tool_choice").is_none());
        assert_eq!(body["max_tokens"], 99);
    }
}
