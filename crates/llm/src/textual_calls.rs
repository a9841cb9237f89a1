//! Tool calls that small models write as text.
//!
//! Models too small for the server's tool-call parser, or served through a template the
//! server does not recognise, still call tools, but as text: Hermes/Qwen-style
//! `<tool_call>{"name": …, "arguments": {…}}</tool_call>` blocks, or an answer that is nothing
//! but `{"name": …, "arguments": {…}}`. Those must work too, so the answer text is
//! watched here: text that may be such a call is held back instead of being shown, and once
//! the reply is complete the calls to offered tools are taken out and the rest is released.

use serde_json::Value;

use crate::think_tags::partial_tag_suffix;

const OPEN: &str = "<tool_call>";
const CLOSE: &str = "</tool_call>";

/// A call found in the text, before it gets an id and its arguments are checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextualCall {
    pub name: String,
    pub arguments: Arguments,
}

/// Tool-call arguments as a wire or a model gave them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arguments {
    /// A JSON text (the OpenAI wire's `arguments` string).
    Text(String),
    /// An already-parsed value (Ollama native, and servers that send an object).
    Value(Value),
}

/// Holds back answer text that may turn out to be a textual tool call.
#[derive(Debug)]
pub(crate) struct HoldBack {
    tools: Vec<String>,
    /// Something other than whitespace has been seen.
    started: bool,
    /// Hold everything until the end (a `{` answer, or after `<tool_call>`).
    holding: bool,
    held: String,
    /// Some text has been released already.
    shown_any: bool,
}

impl HoldBack {
    /// `tools`: the names of the offered tools. Without any, nothing is ever held back.
    pub fn new(tools: Vec<String>) -> Self {
        Self {
            tools,
            started: false,
            holding: false,
            held: String::new(),
            shown_any: false,
        }
    }

    /// Everything from here on is held until the end (a call may have started).
    pub fn is_holding(&self) -> bool {
        self.holding
    }

    /// Feeds answer text; returns what can be shown now.
    pub fn push(&mut self, text: &str) -> String {
        let shown = self.release(text);
        self.shown_any |= !shown.is_empty();
        shown
    }

    fn release(&mut self, text: &str) -> String {
        if self.tools.is_empty() {
            return text.to_owned();
        }
        self.held.push_str(text);
        if self.holding {
            return String::new();
        }
        if !self.started {
            // Everything held before this text is whitespace: only the new text can decide.
            let trimmed = text.trim_start();
            if trimmed.is_empty() {
                // Only whitespace so far: it may precede a call.
                return String::new();
            }
            self.started = true;
            if trimmed.starts_with('{') {
                self.holding = true;
                return String::new();
            }
        }
        if let Some(pos) = self.held.find(OPEN) {
            self.holding = true;
            let rest = self.held.split_off(pos);
            return std::mem::replace(&mut self.held, rest);
        }
        let keep = partial_tag_suffix(&self.held, OPEN);
        let rest = self.held.split_off(self.held.len() - keep);
        std::mem::replace(&mut self.held, rest)
    }

    /// The answer ended: returns the held-back text that is not a call, and the calls.
    pub fn finish(&mut self) -> (String, Vec<TextualCall>) {
        let held = std::mem::take(&mut self.held);
        if !self.holding {
            return (held, Vec::new());
        }
        if let Some(call) = bare_call(&held, &self.tools) {
            return (String::new(), vec![call]);
        }
        let (rest, calls) = tagged_calls(&held, &self.tools);
        if calls.is_empty() {
            return (held, calls);
        }
        // Nothing shown yet: the released text is the whole answer, so trim it as one.
        let rest = if self.shown_any {
            rest.trim_end()
        } else {
            rest.trim()
        };
        if rest.trim_start().is_empty() {
            (String::new(), calls)
        } else {
            (rest.to_owned(), calls)
        }
    }
}

/// The whole text is one `{"name": <offered tool>, "arguments"|"parameters": …}` object.
fn bare_call(text: &str, tools: &[String]) -> Option<TextualCall> {
    let value: Value = openclaw_untrusted::json::from_str(text.trim()).ok()?;
    let object = value.as_object()?;
    if !object.contains_key("arguments") && !object.contains_key("parameters") {
        return None;
    }
    call_from_value(&value, tools)
}

/// Takes the `<tool_call>` blocks naming offered tools out of `text`. An unclosed last block
/// (the model hit its token limit) counts when its JSON is complete.
///
/// A block ends at the first `</tool_call>` after its JSON value, not at the first one after
/// `<tool_call>`: the arguments may mention the tag themselves (a file about tool calls).
fn tagged_calls(text: &str, tools: &[String]) -> (String, Vec<TextualCall>) {
    let mut rest = String::new();
    let mut calls = Vec::new();
    let mut remaining = text;
    while let Some(start) = remaining.find(OPEN) {
        let inner_start = start + OPEN.len();
        let after_open = &remaining[inner_start..];
        let close_after = |from: usize| match after_open[from..].find(CLOSE) {
            Some(len) => inner_start + from + len + CLOSE.len(),
            None => remaining.len(),
        };
        match first_json_value(after_open)
            .and_then(|(value, end)| Some((call_from_value(&value, tools)?, end)))
        {
            Some((call, value_end)) => {
                rest.push_str(&remaining[..start]);
                calls.push(call);
                remaining = &remaining[close_after(value_end)..];
            }
            None => {
                let block_end = close_after(0);
                rest.push_str(&remaining[..block_end]);
                remaining = &remaining[block_end..];
            }
        }
    }
    rest.push_str(remaining);
    (rest, calls)
}

/// The JSON object or array at the start of `text` (after white space) and the byte offset
/// where it ends; what follows it (models sometimes add a stray brace) is never read.
fn first_json_value(text: &str) -> Option<(Value, usize)> {
    let lead = text.len() - text.trim_start().len();
    let body = &text[lead..];
    let len = openclaw_untrusted::json::leading_container_len(
        body.as_bytes(),
        openclaw_untrusted::json::MAX_VALUES,
    )?;
    let value = serde_json::from_str(&body[..len]).ok()?;
    Some((value, lead + len))
}

fn call_from_value(value: &Value, tools: &[String]) -> Option<TextualCall> {
    let object = value.as_object()?;
    let name = object.get("name")?.as_str()?;
    if !tools.iter().any(|t| t == name) {
        return None;
    }
    let arguments = match object.get("arguments").or_else(|| object.get("parameters")) {
        None => Arguments::Value(Value::Object(serde_json::Map::new())),
        Some(Value::String(text)) => Arguments::Text(text.clone()),
        Some(other) => Arguments::Value(other.clone()),
    };
    Some(TextualCall {
        name: name.to_owned(),
        arguments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(deltas: &[&str]) -> (String, String, Vec<TextualCall>) {
        let mut hold = HoldBack::new(vec!["get_weather".into(), "read".into()]);
        let mut shown = String::new();
        for d in deltas {
            shown.push_str(&hold.push(d));
        }
        let (rest, calls) = hold.finish();
        (shown, rest, calls)
    }

    fn weather(city: &str) -> TextualCall {
        TextualCall {
            name: "get_weather".into(),
            arguments: Arguments::Value(json!({ "city": city })),
        }
    }

    #[test]
    fn plain_text_flows_through() {
        let (shown, rest, calls) = run(&["Hello", " world"]);
        assert_eq!((shown.as_str(), rest.as_str()), ("Hello world", ""));
        assert!(calls.is_empty());
    }

    #[test]
    fn without_tools_nothing_is_held() {
        let mut hold = HoldBack::new(Vec::new());
        assert_eq!(hold.push("{\"name\":"), "{\"name\":");
        assert_eq!(hold.finish(), (String::new(), Vec::new()));
    }

    #[test]
    fn a_tagged_call_is_taken_out() {
        let text = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
        for cut in 0..=text.len() {
            let (a, b) = text.split_at(cut);
            let (shown, rest, calls) = run(&[a, b]);
            assert_eq!(shown, "", "cut at {cut}");
            assert_eq!(rest, "");
            assert_eq!(calls, vec![weather("Paris")]);
        }
    }

    #[test]
    fn text_before_a_tagged_call_is_shown_at_once() {
        let (shown, rest, calls) = run(&[
            "Let me check. <tool",
            "_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Oslo\"}}</tool_call>",
        ]);
        assert_eq!(shown, "Let me check. ");
        assert_eq!(rest, "");
        assert_eq!(calls, vec![weather("Oslo")]);
    }

    #[test]
    fn two_calls_and_trailing_text() {
        let (shown, rest, calls) = run(&[
            "<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"A\"}}</tool_call>\n",
            "<tool_call>{\"name\":\"get_weather\",\"parameters\":{\"city\":\"B\"}}</tool_call>\nDone.",
        ]);
        assert_eq!(shown, "");
        assert_eq!(rest, "Done.");
        assert_eq!(calls, vec![weather("A"), weather("B")]);
    }

    #[test]
    fn a_bare_call_is_taken_out() {
        let (shown, rest, calls) = run(&[
            "  {\"name\": \"get_weather\",",
            " \"arguments\": {\"city\": \"Rome\"}}\n",
        ]);
        assert_eq!((shown.as_str(), rest.as_str()), ("", ""));
        assert_eq!(calls, vec![weather("Rome")]);
    }

    #[test]
    fn arguments_as_a_string_are_kept_as_text() {
        let (_, _, calls) =
            run(&["{\"name\":\"read\",\"arguments\":\"{\\\"path\\\":\\\"a\\\"}\"}"]);
        assert_eq!(
            calls,
            vec![TextualCall {
                name: "read".into(),
                arguments: Arguments::Text("{\"path\":\"a\"}".into())
            }]
        );
    }

    #[test]
    fn json_that_is_not_a_call_is_released() {
        for text in [
            "{\"name\": \"unknown_tool\", \"arguments\": {}}",
            "{\"name\": \"get_weather\"}",
            "{\"a\": 1} and more",
            "{ not json",
        ] {
            let (shown, rest, calls) = run(&[text]);
            assert_eq!(shown, "");
            assert_eq!(rest, text);
            assert!(calls.is_empty(), "{text}");
        }
    }

    #[test]
    fn a_block_for_an_unknown_tool_stays_text() {
        let text = "See: <tool_call>{\"name\":\"nope\",\"arguments\":{}}</tool_call> ok";
        let (shown, rest, calls) = run(&[text]);
        assert_eq!(format!("{shown}{rest}"), text);
        assert!(calls.is_empty());
    }

    #[test]
    fn a_closing_tag_inside_the_arguments_does_not_end_the_block() {
        let block = "<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"</tool_call>\"}}</tool_call> ok";
        let (shown, rest, calls) = run(&[block]);
        assert_eq!((shown.as_str(), rest.as_str()), ("", "ok"));
        assert_eq!(calls, vec![weather("</tool_call>")]);
        // Broken JSON still ends at the first closing tag, and the next block is read.
        let text = "<tool_call>{\"name\":</tool_call><tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Y\"}}</tool_call>";
        let (_, rest, calls) = run(&[text]);
        assert_eq!(rest, "<tool_call>{\"name\":</tool_call>");
        assert_eq!(calls, vec![weather("Y")]);
    }

    #[test]
    fn an_unclosed_block_with_complete_json_is_a_call() {
        let (_, rest, calls) =
            run(&["<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"X\"}}"]);
        assert_eq!(rest, "");
        assert_eq!(calls, vec![weather("X")]);
    }

    #[test]
    fn a_partial_tag_that_is_not_one_is_released() {
        let mut hold = HoldBack::new(vec!["read".into()]);
        assert_eq!(hold.push("a <tool"), "a ");
        assert_eq!(hold.push("box> b"), "<toolbox> b");
        assert_eq!(hold.finish(), (String::new(), Vec::new()));
    }

    #[test]
    fn leading_whitespace_waits_for_the_first_character() {
        let mut hold = HoldBack::new(vec!["read".into()]);
        assert_eq!(hold.push("\n "), "");
        assert_eq!(hold.push("Hi"), "\n Hi");
        let mut hold = HoldBack::new(vec!["read".into()]);
        assert_eq!(hold.push("\n"), "");
        assert_eq!(hold.finish(), ("\n".to_owned(), Vec::new()));
    }
}
