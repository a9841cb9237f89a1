//! What a client asked for through an OpenAI-compatible endpoint, parsed and checked once.
//!
//! `/v1/chat/completions` and `/v1/responses` describe the same things in two shapes: a model,
//! a conversation, the client's own tools, generation settings, images. Both are read into one
//! [`Completion`] here (the Responses shape in `responses.rs`), so there is one place that
//! decides what is honoured and what is refused. A field the gateway cannot honour is refused
//! with a 400 that names it (`param`), never dropped: a client that asks for five choices, log
//! probabilities or an audio reply learns at once that it will not get them.
//!
//! A completion runs one of two ways ([`Completion::calls_client_tools`]):
//! - as a turn of the agent (its own tools, a transcript) when the client brings no tools;
//! - as one model call with exactly the client's tools, and the client's history as the whole
//!   conversation, when it does (`tools`, or tool calls and results in the history). The
//!   agent's tools are not offered then: the client runs the tools it describes, and mixing in
//!   tools it cannot see would hand it calls it cannot answer.

use std::collections::BTreeMap;

use openclaw_llm::{
    ChatMessage, Image, RequestOptions, ResponseFormat, Role, ThinkingLevel, ToolCall, ToolChoice,
    ToolSpec,
};
use serde_json::{Map, Value};

use crate::error::GatewayError;
use crate::run::SeedMessage;

/// One message of the client's conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct InMessage {
    pub role: Role,
    pub text: String,
    /// Assistant messages: the calls it made.
    pub tool_calls: Vec<ToolCall>,
    /// Tool messages: the call answered.
    pub tool_call_id: Option<String>,
    /// Where it is in the request (`messages[3]`, `input[1]`), for errors.
    pub param: String,
    /// The images of a user message, and where the first one is.
    pub images: Vec<Image>,
    pub image_param: Option<String>,
}

impl InMessage {
    /// A message without tool calls or images.
    pub fn new(role: Role, text: String, param: String) -> Self {
        Self {
            role,
            text,
            tool_calls: Vec::new(),
            tool_call_id: None,
            param,
            images: Vec::new(),
            image_param: None,
        }
    }
}

/// A parsed request of either endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    /// As the client named it (echoed in the reply).
    pub model: String,
    pub stream: bool,
    pub include_usage: bool,
    /// Keys a stable agent session.
    pub user: Option<String>,
    pub thinking: Option<ThinkingLevel>,
    /// System instructions given apart from the messages (`/v1/responses` `instructions`).
    pub instructions: Option<String>,
    pub messages: Vec<InMessage>,
    pub tools: Vec<ToolSpec>,
    /// Everything else that reaches the model; `images` is filled from the messages by
    /// [`Completion::model_messages`] and [`Completion::agent_turn`].
    pub options: RequestOptions,
}

/// A completion as one agent turn.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentTurn {
    pub system: Option<String>,
    pub seed: Vec<SeedMessage>,
    pub message: String,
    pub options: RequestOptions,
}

impl Completion {
    /// Whether the client brings its own tools: then the model is called with exactly those,
    /// and the client's history is the conversation.
    pub fn calls_client_tools(&self) -> bool {
        !self.tools.is_empty()
            || self
                .messages
                .iter()
                .any(|m| m.role == Role::Tool || !m.tool_calls.is_empty())
    }

    /// Where the first image is, if the request has any.
    pub fn first_image(&self) -> Option<&str> {
        self.messages.iter().find_map(|m| m.image_param.as_deref())
    }

    /// The conversation for a model call, with the options carrying its images.
    pub fn model_messages(&self) -> Result<(Vec<ChatMessage>, RequestOptions), GatewayError> {
        let Some(last) = self.messages.last() else {
            return Err(GatewayError::BadRequest(
                "the conversation is empty: send at least one `user` message".into(),
            ));
        };
        if !matches!(last.role, Role::User | Role::Tool) {
            return Err(invalid(
                &last.param,
                "the last message must be a `user` message or a `tool` result",
            ));
        }
        let mut out: Vec<ChatMessage> = Vec::with_capacity(self.messages.len() + 1);
        if let Some(instructions) = self.instructions.as_deref().filter(|s| !s.is_empty()) {
            out.push(ChatMessage::system(instructions));
        }
        let mut calls: BTreeMap<&str, &str> = BTreeMap::new();
        for m in &self.messages {
            let message = match m.role {
                Role::System => ChatMessage::system(&m.text),
                Role::User => ChatMessage::user(&m.text),
                Role::Assistant => {
                    for call in &m.tool_calls {
                        calls.insert(&call.id, &call.name);
                    }
                    ChatMessage::assistant(&m.text, m.tool_calls.clone())
                }
                Role::Tool => {
                    let id = m.tool_call_id.as_deref().unwrap_or_default();
                    let Some(name) = calls.get(id) else {
                        return Err(invalid(
                            &format!("{}.tool_call_id", m.param),
                            &format!("`{id}` answers no earlier assistant tool call: a tool result must follow the assistant message whose `tool_calls` has this id"),
                        ));
                    };
                    ChatMessage {
                        role: Role::Tool,
                        content: m.text.clone(),
                        tool_calls: Vec::new(),
                        tool_call_id: Some(id.to_owned()),
                        tool_name: Some((*name).to_owned()),
                    }
                }
            };
            out.push(message);
        }
        let mut options = self.options.clone();
        options.images = images_by_age(&self.messages);
        Ok((out, options))
    }

    /// The completion as one agent turn: system messages become the client's system prompt,
    /// earlier messages seed a fresh session, the last one (a user message) is the turn.
    pub fn agent_turn(&self) -> Result<AgentTurn, GatewayError> {
        let mut system: Vec<&str> = self.instructions.iter().map(String::as_str).collect();
        let mut seed = Vec::new();
        let Some((last, earlier)) = self.messages.split_last() else {
            return Err(GatewayError::BadRequest(
                "the last message must be a non-empty `user` message".into(),
            ));
        };
        if last.role != Role::User || (last.text.trim().is_empty() && last.images.is_empty()) {
            return Err(GatewayError::BadRequest(
                "the last message must be a non-empty `user` message".into(),
            ));
        }
        for m in earlier {
            if let Some(param) = &m.image_param {
                return Err(invalid(
                    param,
                    "the agent keeps text only in its transcript, so only the newest user message may carry images; send earlier images again with the newest message, or bring `tools` for a plain model call",
                ));
            }
            match m.role {
                Role::System => system.push(&m.text),
                Role::User | Role::Assistant => seed.push(SeedMessage {
                    role: m.role,
                    content: m.text.clone(),
                }),
                // Never here: a history with tool results is a client-tools call.
                Role::Tool => {}
            }
        }
        let mut options = self.options.clone();
        options.images = images_by_age(&self.messages);
        let system: Vec<&str> = system.into_iter().filter(|s| !s.is_empty()).collect();
        Ok(AgentTurn {
            system: (!system.is_empty()).then(|| system.join("\n\n")),
            seed,
            message: last.text.clone(),
            options,
        })
    }
}

/// Each user message's images, keyed by how many user messages are newer.
fn images_by_age(messages: &[InMessage]) -> BTreeMap<usize, Vec<Image>> {
    let mut out = BTreeMap::new();
    let mut age = 0;
    for m in messages.iter().rev() {
        if m.role != Role::User {
            continue;
        }
        if !m.images.is_empty() {
            out.insert(age, m.images.clone());
        }
        age += 1;
    }
    out
}

/// A refused value: 400, `invalid_request_error`, `param` set.
pub fn invalid(param: &str, message: &str) -> GatewayError {
    GatewayError::InvalidParam {
        param: param.to_owned(),
        code: "invalid_value",
        message: format!("`{param}`: {message}"),
    }
}

/// A field the gateway does not support: 400 with `param` set and code `unsupported_parameter`.
pub fn unsupported(param: &str, message: &str) -> GatewayError {
    GatewayError::InvalidParam {
        param: param.to_owned(),
        code: "unsupported_parameter",
        message: format!("`{param}` is not supported by this gateway: {message}"),
    }
}

/// Reads a request body: a JSON object within the value budget.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, GatewayError> {
    let bad = GatewayError::BadRequest;
    let value: Value = openclaw_untrusted::json::from_slice(body).map_err(|e| match e {
        openclaw_untrusted::json::Error::TooManyValues { .. } => {
            bad(format!("the request body was refused: {e}"))
        }
        openclaw_untrusted::json::Error::Json(e) => {
            bad(format!("the request body is not valid JSON: {e}"))
        }
    })?;
    match value {
        Value::Object(obj) => Ok(obj),
        _ => Err(bad("the request body must be a JSON object".into())),
    }
}

/// Typed reads of optional request fields; JSON `null` counts as absent.
pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    /// Prefix of the `param` named in errors (`""`, `"text.format."`).
    prefix: &'a str,
}

impl<'a> Fields<'a> {
    /// The fields of `obj`, named `<prefix><key>` in errors.
    pub fn new(obj: &'a Map<String, Value>, prefix: &'a str) -> Self {
        Self { obj, prefix }
    }

    /// How errors name `key`.
    pub fn param(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The value of `key`, `None` when absent or `null`.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    /// A string field.
    pub fn string(&self, key: &str) -> Result<Option<&'a str>, GatewayError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(invalid(&self.param(key), "must be a string")),
        }
    }

    /// A boolean field.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, GatewayError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(invalid(&self.param(key), "must be true or false")),
        }
    }

    /// A number within `min..=max`.
    pub fn number(&self, key: &str, min: f64, max: f64) -> Result<Option<f64>, GatewayError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(invalid(
                    &self.param(key),
                    &format!("must be a number from {min} to {max}"),
                )),
            },
        }
    }

    /// A whole number of at least `min`.
    pub fn count(&self, key: &str, min: u64) -> Result<Option<u64>, GatewayError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if n >= min => Ok(Some(n)),
                _ => Err(invalid(
                    &self.param(key),
                    &format!("must be a whole number of at least {min}"),
                )),
            },
        }
    }

    /// Refuses `key` unless it is absent or one of the values that ask for nothing.
    pub fn refuse_unless(
        &self,
        key: &str,
        harmless: &[Value],
        why: &str,
    ) -> Result<(), GatewayError> {
        match self.get(key) {
            Some(v) if !harmless.contains(v) => Err(unsupported(&self.param(key), why)),
            _ => Ok(()),
        }
    }
}

/// `reasoning_effort` (or `reasoning.effort`) as the thinking level.
pub fn thinking_level(
    effort: Option<&Value>,
    param: &str,
) -> Result<Option<ThinkingLevel>, GatewayError> {
    match effort {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(e)) => Ok(Some(match e.as_str() {
            "none" => ThinkingLevel::Off,
            "minimal" | "low" => ThinkingLevel::Low,
            "medium" => ThinkingLevel::Medium,
            "high" | "xhigh" => ThinkingLevel::High,
            other => {
                return Err(invalid(
                    param,
                    &format!("`{other}` is not one of none, minimal, low, medium, high"),
                ))
            }
        })),
        Some(_) => Err(invalid(param, "must be a string")),
    }
}

/// A function tool: `{name, description?, parameters?, strict?}` (the Chat Completions shape
/// nests it under `function`, the Responses shape does not).
pub fn function_tool(f: &Map<String, Value>, param: &str) -> Result<ToolSpec, GatewayError> {
    let fields = Fields::new(f, "");
    let name = match fields.string("name") {
        Ok(Some(name)) => name,
        _ => {
            return Err(invalid(
                &format!("{param}.name"),
                "a function tool needs a `name`",
            ))
        }
    };
    let valid_name = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid_name {
        return Err(invalid(
            &format!("{param}.name"),
            &format!("`{name}` is not a tool name: 1 to 64 letters, digits, `_` or `-`"),
        ));
    }
    let description = match fields.string("description") {
        Ok(d) => d.unwrap_or_default().to_owned(),
        Err(_) => return Err(invalid(&format!("{param}.description"), "must be a string")),
    };
    let parameters = match fields.get("parameters") {
        None => serde_json::json!({"type": "object", "properties": {}}),
        Some(Value::Object(schema)) => Value::Object(schema.clone()),
        Some(_) => {
            return Err(invalid(
                &format!("{param}.parameters"),
                "must be a JSON Schema object",
            ))
        }
    };
    Ok(ToolSpec {
        name: name.to_owned(),
        description,
        parameters,
    })
}

/// Checks that tool names are unique.
pub fn check_tool_names(tools: &[ToolSpec], param: &str) -> Result<(), GatewayError> {
    for (i, t) in tools.iter().enumerate() {
        if tools[..i].iter().any(|u| u.name == t.name) {
            return Err(invalid(
                &format!("{param}[{i}]"),
                &format!("two tools are called `{}`", t.name),
            ));
        }
    }
    Ok(())
}

/// `tool_choice` as a string or the named-function object (`{"type":"function","name"}` in
/// the Responses shape, `{"type":"function","function":{"name"}}` in Chat Completions).
pub fn tool_choice(
    value: Option<&Value>,
    tools: &[ToolSpec],
    param: &str,
) -> Result<Option<ToolChoice>, GatewayError> {
    let choice = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => match s.as_str() {
            "none" => ToolChoice::None,
            "auto" => ToolChoice::Auto,
            "required" => ToolChoice::Required,
            other => {
                return Err(invalid(
                    param,
                    &format!("`{other}` is not one of none, auto, required or a named function"),
                ))
            }
        },
        Some(Value::Object(o)) if o.get("type").and_then(Value::as_str) == Some("function") => {
            let name = o
                .get("function")
                .and_then(|f| f.get("name"))
                .or_else(|| o.get("name"))
                .and_then(Value::as_str);
            match name {
                Some(name) => ToolChoice::Function(name.to_owned()),
                None => return Err(invalid(param, "a named function choice needs its `name`")),
            }
        }
        Some(Value::Object(o)) => {
            let kind = o.get("type").and_then(Value::as_str).unwrap_or("?");
            return Err(unsupported(
                param,
                &format!("a `{kind}` tool choice cannot be honoured; use none, auto, required or {{\"type\": \"function\", …}}"),
            ));
        }
        Some(_) => return Err(invalid(param, "must be a string or an object")),
    };
    match &choice {
        ToolChoice::Required if tools.is_empty() => {
            Err(invalid(param, "`required` needs `tools` to choose from"))
        }
        ToolChoice::Function(name) if !tools.iter().any(|t| &t.name == name) => Err(invalid(
            param,
            &format!("names `{name}`, which is not one of the request's tools"),
        )),
        _ => Ok(Some(choice)),
    }
}

/// A JSON-schema output format: `{name, schema, strict?}`.
pub fn json_schema_format(
    f: &Map<String, Value>,
    param: &str,
) -> Result<ResponseFormat, GatewayError> {
    let fields = Fields::new(f, "");
    let name = fields
        .string("name")
        .map_err(|_| invalid(&format!("{param}.name"), "must be a string"))?
        .unwrap_or("response")
        .to_owned();
    let schema = match fields.get("schema") {
        Some(Value::Object(schema)) => Value::Object(schema.clone()),
        None => Value::Object(Map::new()),
        Some(_) => {
            return Err(invalid(
                &format!("{param}.schema"),
                "must be a JSON Schema object",
            ))
        }
    };
    let strict = fields
        .bool("strict")
        .map_err(|_| invalid(&format!("{param}.strict"), "must be true or false"))?;
    Ok(ResponseFormat::JsonSchema {
        name,
        schema,
        strict,
    })
}

/// Tool-call arguments a client sent back in its history (a JSON text).
pub fn history_call(id: &str, name: &str, arguments: &str) -> ToolCall {
    let parsed = openclaw_untrusted::json::from_str::<Value>(arguments);
    let (value, error) = match parsed {
        Ok(Value::Object(o)) => (Value::Object(o), None),
        _ if arguments.trim().is_empty() => (Value::Object(Map::new()), None),
        _ => (
            Value::Null,
            Some("the arguments are not a JSON object".to_owned()),
        ),
    };
    ToolCall {
        id: id.to_owned(),
        name: name.to_owned(),
        arguments: value,
        raw_arguments: arguments.to_owned(),
        arguments_error: error,
    }
}

/// The arguments of a call as the OpenAI wire carries them: a JSON text.
pub fn arguments_text(arguments: &Value) -> String {
    match arguments {
        Value::String(raw) => raw.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(role: Role, text: &str, i: usize) -> InMessage {
        InMessage::new(role, text.into(), format!("messages[{i}]"))
    }

    #[test]
    fn client_tools_are_recognised_by_tools_or_history() {
        let mut c = Completion {
            messages: vec![message(Role::User, "hi", 0)],
            ..Completion::default()
        };
        assert!(!c.calls_client_tools());
        let mut result = message(Role::Tool, "22 C", 1);
        result.tool_call_id = Some("call_1".into());
        c.messages.push(result);
        assert!(c.calls_client_tools());
    }

    #[test]
    fn tool_results_must_answer_an_earlier_call() {
        let mut assistant = message(Role::Assistant, "", 1);
        assistant.tool_calls = vec![history_call("call_1", "get_weather", "{\"city\":\"Oslo\"}")];
        let mut result = message(Role::Tool, "22 C", 2);
        result.tool_call_id = Some("call_1".into());
        let c = Completion {
            messages: vec![message(Role::User, "weather?", 0), assistant, result],
            ..Completion::default()
        };
        let (messages, _) = c.model_messages().unwrap();
        assert_eq!(messages[2].tool_name.as_deref(), Some("get_weather"));
        assert_eq!(messages[1].tool_calls[0].arguments, json!({"city": "Oslo"}));
        let mut orphan = c.clone();
        orphan.messages[2].tool_call_id = Some("call_9".into());
        match orphan.model_messages() {
            Err(GatewayError::InvalidParam { param, .. }) => {
                assert_eq!(param, "messages[2].tool_call_id")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn agent_turns_take_images_on_the_newest_message_only() {
        let image = Image {
            media_type: "image/png".into(),
            base64: "AAAA".into(),
        };
        let mut newest = message(Role::User, "what is this?", 1);
        newest.images = vec![image.clone()];
        newest.image_param = Some("messages[1].content[1]".into());
        let c = Completion {
            messages: vec![message(Role::System, "be brief", 0), newest.clone()],
            ..Completion::default()
        };
        let turn = c.agent_turn().unwrap();
        assert_eq!(turn.system.as_deref(), Some("be brief"));
        assert_eq!(turn.options.images[&0], vec![image]);
        let mut older = newest.clone();
        older.param = "messages[0]".into();
        older.image_param = Some("messages[0].content[1]".into());
        let c = Completion {
            messages: vec![
                older,
                message(Role::Assistant, "a cat", 1),
                message(Role::User, "sure?", 2),
            ],
            ..Completion::default()
        };
        match c.agent_turn() {
            Err(GatewayError::InvalidParam { param, .. }) => {
                assert_eq!(param, "messages[0].content[1]")
            }
            other => panic!("{other:?}"),
        }
        // As a model call the older image stays with its message.
        let (_, options) = c.model_messages().unwrap();
        assert_eq!(options.images.keys().copied().collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn tool_choices() {
        let tools = vec![ToolSpec {
            name: "f".into(),
            description: String::new(),
            parameters: json!({}),
        }];
        let choice = |v: Value| tool_choice(Some(&v), &tools, "tool_choice");
        assert_eq!(choice(json!("auto")).unwrap(), Some(ToolChoice::Auto));
        assert_eq!(
            choice(json!({"type": "function", "function": {"name": "f"}})).unwrap(),
            Some(ToolChoice::Function("f".into()))
        );
        assert_eq!(
            choice(json!({"type": "function", "name": "f"})).unwrap(),
            Some(ToolChoice::Function("f".into()))
        );
        assert!(choice(json!({"type": "function", "name": "g"})).is_err());
        assert!(choice(json!({"type": "allowed_tools"})).is_err());
        assert!(choice(json!("sometimes")).is_err());
        assert!(tool_choice(Some(&json!("required")), &[], "tool_choice").is_err());
    }
}
