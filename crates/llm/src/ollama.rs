//! Ollama's native wire: `POST {base}/api/chat`, NDJSON streaming.
//!
//! It exists because Ollama's OpenAI-compatible endpoint cannot set the context length per
//! request: natively `options.num_ctx` is honoured. Its shapes differ from OpenAI's:
//! tool calls carry an arguments object and no id, tool results name the tool instead of the
//! call, thinking is `message.thinking`, errors come in-stream with HTTP 200, and the stream
//! ends with a `done: true` record carrying the token counts.

use serde_json::{json, Map, Value};

use crate::classify::{classify_stream_error, truncate, Context};
use crate::error::LlmError;
use crate::openai::{role_name, tools};
use crate::options::{Image, RequestOptions, ResponseFormat};
use crate::reply::{Assembler, Emit};
use crate::textual_calls::Arguments;
use crate::types::{ChatMessage, ChatRequest, Role, ThinkingLevel, Usage};

/// The JSON body of a streaming `/api/chat` request.
///
/// `settings` map onto `options` (`num_predict`, `temperature`, `top_p`, `stop`, `seed`,
/// `presence_penalty`, `frequency_penalty`) and `format` (`"json"` or the JSON schema); the
/// tool choices this wire cannot carry are [`RequestOptions::unsupported_on`]'s to refuse.
pub(crate) fn request_body(request: &ChatRequest, settings: &RequestOptions) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(request.model));
    let messages: Vec<Value> = request
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| message(m, settings.images_for(&request.messages, i)))
        .collect();
    body.insert("messages".into(), Value::Array(messages));
    body.insert("stream".into(), json!(true));
    if !request.tools.is_empty() && settings.offers_tools() {
        body.insert("tools".into(), tools(&request.tools));
    }
    let mut options = Map::new();
    if let Some(num_ctx) = request.num_ctx {
        options.insert("num_ctx".into(), json!(num_ctx));
    }
    if let Some(max_tokens) = settings.max_tokens.or(request.max_tokens) {
        options.insert("num_predict".into(), json!(max_tokens));
    }
    if let Some(temperature) = settings.temperature.or(request.temperature) {
        options.insert("temperature".into(), json!(temperature));
    }
    let numbers = [
        ("top_p", settings.top_p),
        ("presence_penalty", settings.presence_penalty),
        ("frequency_penalty", settings.frequency_penalty),
    ];
    for (key, value) in numbers {
        if let Some(value) = value {
            options.insert(key.into(), json!(value));
        }
    }
    if let Some(seed) = settings.seed {
        options.insert("seed".into(), json!(seed));
    }
    if !settings.stop.is_empty() {
        options.insert("stop".into(), json!(settings.stop));
    }
    if !options.is_empty() {
        body.insert("options".into(), Value::Object(options));
    }
    match &settings.response_format {
        None => {}
        Some(ResponseFormat::JsonObject) => {
            body.insert("format".into(), json!("json"));
        }
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            body.insert("format".into(), schema.clone());
        }
    }
    if let Some(level) = request.thinking {
        let think = match level {
            ThinkingLevel::Off => json!(false),
            ThinkingLevel::Low => json!("low"),
            ThinkingLevel::Medium => json!("medium"),
            ThinkingLevel::High => json!("high"),
        };
        body.insert("think".into(), think);
    }
    Value::Object(body)
}

fn message(m: &ChatMessage, images: &[Image]) -> Value {
    let mut out = Map::new();
    out.insert("role".into(), json!(role_name(m.role)));
    out.insert("content".into(), json!(m.content));
    if !images.is_empty() {
        // Natively an image is its bare base64, without the data URL's prefix.
        let data: Vec<&str> = images.iter().map(|i| i.base64.as_str()).collect();
        out.insert("images".into(), json!(data));
    }
    if m.role == Role::Tool {
        if let Some(name) = &m.tool_name {
            out.insert("tool_name".into(), json!(name));
        }
    }
    if !m.tool_calls.is_empty() {
        let calls: Vec<Value> = m
            .tool_calls
            .iter()
            .map(|c| {
                // Ollama refuses arguments that are not an object; the tool's result already
                // told the model what was wrong with them.
                let arguments = if c.arguments.is_object() {
                    c.arguments.clone()
                } else {
                    json!({})
                };
                json!({ "function": { "name": c.name, "arguments": arguments } })
            })
            .collect();
        out.insert("tool_calls".into(), Value::Array(calls));
    }
    Value::Object(out)
}

/// The state of one streamed native reply.
#[derive(Debug, Default)]
pub(crate) struct NativeStream {
    done: bool,
}

impl NativeStream {
    /// One NDJSON record (or a whole non-streamed reply).
    pub fn record(
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
        if self.done {
            // Nothing follows the final record; ignore anything that does.
            return Ok(());
        }
        if let Some(message) = value.get("message") {
            if let Some(thinking) = message.get("thinking").and_then(Value::as_str) {
                asm.thinking(thinking, emit);
            }
            if let Some(content) = message.get("content").and_then(Value::as_str) {
                asm.content(content, emit);
            }
            for call in message
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let function = call.get("function").unwrap_or(&Value::Null);
                let name = function
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let arguments = match function.get("arguments") {
                    None => Arguments::Value(Value::Object(Map::new())),
                    Some(Value::String(text)) => Arguments::Text(text.clone()),
                    Some(value) => Arguments::Value(value.clone()),
                };
                let id = call.get("id").and_then(Value::as_str).map(str::to_owned);
                asm.tool_call(id, name, arguments, emit);
            }
        }
        if value.get("done").and_then(Value::as_bool) == Some(true) {
            self.done = true;
            if let Some(reason) = value.get("done_reason").and_then(Value::as_str) {
                asm.set_finish_reason(reason);
            }
            let count = |key: &str| value.get(key).and_then(Value::as_u64);
            let (prompt, completion) = (count("prompt_eval_count"), count("eval_count"));
            if prompt.is_some() || completion.is_some() {
                asm.set_usage(Usage {
                    prompt_tokens: prompt.unwrap_or(0),
                    completion_tokens: completion.unwrap_or(0),
                });
            }
        }
        Ok(())
    }

    /// The final (`done: true`) record was received.
    pub fn done(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ToolCall, ToolSpec};

    #[test]
    fn request_body_shape() {
        let call = ToolCall {
            id: "call_0".into(),
            name: "read".into(),
            arguments: json!({"path": "a"}),
            raw_arguments: "{\"path\":\"a\"}".into(),
            arguments_error: None,
        };
        let request = ChatRequest {
            model: "qwen3:8b".into(),
            messages: vec![
                ChatMessage::system("be brief"),
                ChatMessage::assistant("", vec![call.clone()]),
                ChatMessage::tool_result(&call, "file"),
            ],
            tools: vec![ToolSpec {
                name: "read".into(),
                description: "Read a file".into(),
                parameters: json!({"type": "object"}),
            }],
            thinking: Some(ThinkingLevel::High),
            max_tokens: Some(100),
            num_ctx: Some(32768),
            temperature: Some(0.5),
        };
        assert_eq!(
            request_body(&request, &RequestOptions::default()),
            json!({
                "model": "qwen3:8b",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "assistant", "content": "", "tool_calls": [
                        {"function": {"name": "read", "arguments": {"path": "a"}}}
                    ]},
                    {"role": "tool", "content": "file", "tool_name": "read"},
                ],
                "stream": true,
                "tools": [{"type": "function", "function": {
                    "name": "read", "description": "Read a file", "parameters": {"type": "object"}
                }}],
                "options": {"num_ctx": 32768, "num_predict": 100, "temperature": 0.5},
                "think": "high",
            })
        );
        let bare = ChatRequest {
            thinking: None,
            max_tokens: None,
            num_ctx: None,
            temperature: None,
            tools: Vec::new(),
            ..request
        };
        let body = request_body(&bare, &RequestOptions::default());
        for key in ["options", "think", "tools"] {
            assert!(body.get(key).is_none(), "{key}");
        }
        let off = ChatRequest {
            thinking: Some(ThinkingLevel::Off),
            ..bare
        };
        assert_eq!(
            request_body(&off, &RequestOptions::default())["think"],
            json!(false)
        );
    }

    #[test]
    fn settings_map_onto_options_format_and_images() {
        use crate::options::{Image, ToolChoice};
        let request = ChatRequest {
            model: "llava".into(),
            messages: vec![ChatMessage::user("what is this?")],
            tools: vec![ToolSpec {
                name: "f".into(),
                description: "d".into(),
                parameters: json!({"type": "object"}),
            }],
            num_ctx: Some(4096),
            ..ChatRequest::default()
        };
        let options = RequestOptions {
            max_tokens: Some(5),
            temperature: Some(0.0),
            top_p: Some(0.9),
            stop: vec!["\n\n".into()],
            seed: Some(7),
            presence_penalty: Some(1.0),
            frequency_penalty: Some(0.5),
            response_format: Some(ResponseFormat::JsonObject),
            images: [(
                0,
                vec![Image {
                    media_type: "image/jpeg".into(),
                    base64: "/9j/".into(),
                }],
            )]
            .into_iter()
            .collect(),
            ..RequestOptions::default()
        };
        let body = request_body(&request, &options);
        assert_eq!(
            body["options"],
            json!({"num_ctx": 4096, "num_predict": 5, "temperature": 0.0, "top_p": 0.9,
                "presence_penalty": 1.0, "frequency_penalty": 0.5, "seed": 7, "stop": ["\n\n"]})
        );
        assert_eq!(body["format"], "json");
        assert_eq!(body["messages"][0]["images"], json!(["/9j/"]));
        assert!(body["tools"].is_array());
        let schema = RequestOptions {
            response_format: Some(ResponseFormat::JsonSchema {
                name: "x".into(),
                schema: json!({"type": "object", "required": ["a"]}),
                strict: None,
            }),
            tool_choice: Some(ToolChoice::None),
            ..RequestOptions::default()
        };
        let body = request_body(&request, &schema);
        assert_eq!(body["format"], json!({"type": "object", "required": ["a"]}));
        assert!(body.get("tools").is_none());
    }
}
