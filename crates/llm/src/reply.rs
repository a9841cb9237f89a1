//! Building one [`ChatResponse`] from the pieces either wire delivers.
//!
//! Both wires come down to the same few facts: some thinking, some content, some tool calls, a
//! finish reason and token counts. Everything that does not depend on the wire lives here, so
//! the two decoders behave the same: `<think>` blocks in content become thinking, textual tool
//! calls are held back and taken out, tool-call arguments are checked (a bad one is reported on
//! the call, never fails the reply), missing ids are generated, and every event reaches the
//! caller's callback in order.

use serde_json::{Map, Value};

use crate::textual_calls::{Arguments, HoldBack};
use crate::think_tags::{Next, Piece, ThinkSplitter};
use crate::types::{ChatResponse, StreamEvent, ToolCall, ToolSpec, Usage};

/// Where events go as they happen.
pub(crate) type Emit<'a> = &'a mut dyn FnMut(StreamEvent);

/// Accumulates one reply and emits its events.
#[derive(Debug)]
pub(crate) struct Assembler {
    splitter: ThinkSplitter,
    hold: HoldBack,
    response: ChatResponse,
}

impl Assembler {
    /// `tools`: what the request offered; textual calls are only recognised for these.
    pub fn new(tools: &[ToolSpec]) -> Self {
        Self {
            splitter: ThinkSplitter::default(),
            hold: HoldBack::new(tools.iter().map(|t| t.name.clone()).collect()),
            response: ChatResponse::default(),
        }
    }

    /// Reasoning the wire reported apart from the content.
    pub fn thinking(&mut self, text: &str, emit: Emit<'_>) {
        if text.is_empty() {
            return;
        }
        self.response.thinking.push_str(text);
        emit(StreamEvent::Thinking(text.to_owned()));
    }

    /// Content text, which may hold `<think>` blocks and textual tool calls.
    pub fn content(&mut self, text: &str, emit: Emit<'_>) {
        if text.is_empty() {
            return;
        }
        let mut splitter = std::mem::take(&mut self.splitter);
        splitter.push(text, &mut |piece| self.route(piece, emit));
        self.splitter = splitter;
    }

    /// A complete tool call from the wire (or found in the text).
    pub fn tool_call(
        &mut self,
        id: Option<String>,
        name: String,
        arguments: Arguments,
        emit: Emit<'_>,
    ) {
        let id = match id {
            Some(id) if !id.is_empty() => id,
            _ => self.fresh_id(),
        };
        let (arguments, raw_arguments, arguments_error) = check_arguments(arguments);
        let call = ToolCall {
            id,
            name,
            arguments,
            raw_arguments,
            arguments_error,
        };
        self.response.tool_calls.push(call.clone());
        emit(StreamEvent::ToolCall(call));
    }

    /// `call_<n>`, `n` counting the calls so far, skipping ids the wire already used.
    fn fresh_id(&self) -> String {
        let calls = &self.response.tool_calls;
        (calls.len()..)
            .map(|n| format!("call_{n}"))
            .find(|id| calls.iter().all(|c| &c.id != id))
            .unwrap_or_default()
    }

    pub fn set_finish_reason(&mut self, reason: &str) {
        self.response.finish_reason = Some(reason.to_owned());
    }

    pub fn set_usage(&mut self, usage: Usage) {
        self.response.usage = Some(usage);
    }

    /// The reply is complete: releases held-back text, takes out textual tool calls.
    pub fn finish(mut self, emit: Emit<'_>) -> ChatResponse {
        let mut splitter = std::mem::take(&mut self.splitter);
        splitter.finish(&mut |piece| self.route(piece, emit));
        let (rest, calls) = self.hold.finish();
        self.text(rest, emit);
        for call in calls {
            self.tool_call(None, call.name, call.arguments, emit);
        }
        let response = &mut self.response;
        if !response.tool_calls.is_empty()
            && matches!(response.finish_reason.as_deref(), None | Some("stop"))
        {
            // What Ollama's `/v1` reports too, so both wires read the same.
            response.finish_reason = Some("tool_calls".to_owned());
        }
        self.response
    }

    /// Once a possible textual tool call is being held back, the splitter is told to stop
    /// looking for `<think>` tags: inside the call they are part of its arguments.
    fn route(&mut self, piece: Piece, emit: Emit<'_>) -> Next {
        match piece {
            Piece::Thinking(text) => self.thinking(&text, emit),
            Piece::Answer(text) => {
                let shown = self.hold.push(&text);
                self.text(shown, emit);
            }
        }
        if self.hold.is_holding() {
            Next::Verbatim
        } else {
            Next::Split
        }
    }

    fn text(&mut self, text: String, emit: Emit<'_>) {
        if text.is_empty() {
            return;
        }
        self.response.text.push_str(&text);
        emit(StreamEvent::Text(text));
    }
}

/// Parses tool-call arguments. Empty arguments mean "no arguments" (`{}`); anything that is
/// not a JSON object gives `Value::Null` and a reason the agent can pass on to the model. A
/// JSON object encoded twice (a string holding the object's JSON) is accepted.
pub(crate) fn check_arguments(arguments: Arguments) -> (Value, String, Option<String>) {
    match arguments {
        Arguments::Value(Value::Object(object)) => {
            let raw = Value::Object(object.clone()).to_string();
            (Value::Object(object), raw, None)
        }
        Arguments::Value(Value::String(text)) | Arguments::Text(text) => check_text(text),
        Arguments::Value(other) => {
            let reason = not_an_object(&other);
            (Value::Null, other.to_string(), Some(reason))
        }
    }
}

fn check_text(raw: String) -> (Value, String, Option<String>) {
    if raw.trim().is_empty() {
        return (Value::Object(Map::new()), raw, None);
    }
    match openclaw_untrusted::json::from_str::<Value>(&raw) {
        Ok(Value::Object(object)) => (Value::Object(object), raw, None),
        Ok(Value::String(inner)) => match openclaw_untrusted::json::from_str::<Value>(&inner) {
            Ok(Value::Object(object)) => (Value::Object(object), raw, None),
            _ => {
                let reason = not_an_object(&Value::String(inner));
                (Value::Null, raw, Some(reason))
            }
        },
        Ok(other) => {
            let reason = not_an_object(&other);
            (Value::Null, raw, Some(reason))
        }
        Err(err @ openclaw_untrusted::json::Error::TooManyValues { .. }) => {
            let reason = format!("the arguments were refused: {err}");
            (Value::Null, raw, Some(reason))
        }
        Err(err) => {
            let reason = format!("the arguments are not valid JSON ({err})");
            (Value::Null, raw, Some(reason))
        }
    }
}

fn not_an_object(value: &Value) -> String {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    format!("the arguments are {kind}, not a JSON object")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tools() -> Vec<ToolSpec> {
        vec![ToolSpec {
            name: "get_weather".into(),
            description: "weather".into(),
            parameters: json!({"type": "object"}),
        }]
    }

    #[test]
    fn arguments_are_checked_but_never_fatal() {
        let ok = check_arguments(Arguments::Text("{\"a\":1}".into()));
        assert_eq!(ok, (json!({"a": 1}), "{\"a\":1}".into(), None));
        let object = check_arguments(Arguments::Value(json!({"a": 1})));
        assert_eq!(object, (json!({"a": 1}), "{\"a\":1}".into(), None));
        let empty = check_arguments(Arguments::Text(" ".into()));
        assert_eq!(empty, (json!({}), " ".into(), None));
        let twice = check_arguments(Arguments::Text("\"{\\\"a\\\":1}\"".into()));
        assert_eq!(twice.0, json!({"a": 1}));

        let broken = check_arguments(Arguments::Text("{\"a\":".into()));
        assert_eq!(broken.0, Value::Null);
        assert_eq!(broken.1, "{\"a\":");
        assert!(broken.2.unwrap().contains("not valid JSON"));
        let array = check_arguments(Arguments::Text("[1]".into()));
        assert_eq!(array.0, Value::Null);
        assert_eq!(
            array.2.as_deref(),
            Some("the arguments are an array, not a JSON object")
        );
        let null = check_arguments(Arguments::Value(Value::Null));
        assert_eq!((null.0, null.1.as_str()), (Value::Null, "null"));
        assert!(null.2.is_some());
    }

    #[test]
    fn think_tags_and_textual_calls_share_one_pipeline() {
        let mut events = Vec::new();
        let mut emit = |e: StreamEvent| events.push(e);
        let mut asm = Assembler::new(&tools());
        asm.content("<think>hmm</th", &mut emit);
        asm.content("ink>\n<tool_call>{\"name\":\"get_weather\",", &mut emit);
        asm.content("\"arguments\":{\"city\":\"Oslo\"}}</tool_call>", &mut emit);
        asm.set_finish_reason("stop");
        let response = asm.finish(&mut emit);
        assert_eq!(response.thinking, "hmm");
        assert_eq!(response.text, "");
        assert_eq!(response.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(response.tool_calls.len(), 1);
        assert_eq!(response.tool_calls[0].id, "call_0");
        assert_eq!(response.tool_calls[0].arguments, json!({"city": "Oslo"}));
        assert_eq!(
            events,
            vec![
                StreamEvent::Thinking("hmm".into()),
                StreamEvent::ToolCall(response.tool_calls[0].clone()),
            ]
        );
    }

    #[test]
    fn ids_are_kept_or_generated() {
        let mut emit = |_: StreamEvent| {};
        let mut asm = Assembler::new(&[]);
        let args = || Arguments::Text("{}".into());
        asm.tool_call(Some("abc".into()), "a".into(), args(), &mut emit);
        asm.tool_call(None, "b".into(), args(), &mut emit);
        asm.tool_call(Some(String::new()), "c".into(), args(), &mut emit);
        let ids: Vec<String> = asm
            .finish(&mut emit)
            .tool_calls
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["abc", "call_1", "call_2"]);
    }
}
