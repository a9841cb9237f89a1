//! Builders for scripted replies in Ollama's `/v1` streaming shape, so tests can script a
//! conversation (a tool call, then an answer) without hand-writing SSE.
//!
//! The tool-call stream is the fixture `ollama/chat-stream-toolcall.sse` with the call renamed,
//! so its shape stays exactly what Ollama emits; the text stream follows the same chunk layout
//! (role on the first delta, `finish_reason` on its own chunk with an empty delta, `[DONE]`).

use serde_json::json;

use crate::fixture;

/// Ollama's `/v1` stream of one tool call: `tool` with `arguments` (a JSON object's text).
pub fn tool_call_stream(tool: &str, arguments: &str) -> String {
    let escaped = serde_json::to_string(arguments).unwrap_or_default();
    let escaped = escaped.trim_matches('"');
    fixture("ollama/chat-stream-toolcall.sse")
        .replace("get_weather", tool)
        .replace(r#"{\"city\":\"Tokyo\"}"#, escaped)
}

/// Ollama's `/v1` stream of a text answer, one chunk per piece.
pub fn text_stream<S: AsRef<str>>(model: &str, pieces: &[S]) -> String {
    let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
        let body = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1751919739, "model": model,
            "system_fingerprint": "fp_ollama", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        format!("data: {body}\n\n")
    };
    let mut out = String::new();
    for (i, p) in pieces.iter().enumerate() {
        let delta = if i == 0 {
            json!({"role": "assistant", "content": p.as_ref()})
        } else {
            json!({"content": p.as_ref()})
        };
        out.push_str(&chunk(delta, serde_json::Value::Null));
    }
    out.push_str(&chunk(json!({}), json!("stop")));
    out.push_str("data: [DONE]\n\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_call_stream_keeps_the_fixture_shape_with_the_new_call() {
        let s = tool_call_stream("read", r#"{"path":"notes.txt"}"#);
        assert!(
            s.contains(r#""name":"read","arguments":"{\"path\":\"notes.txt\"}""#),
            "{s}"
        );
        assert!(s.contains(r#""finish_reason":"tool_calls""#) && s.ends_with("data: [DONE]\n\n"));
    }

    #[test]
    fn text_stream_has_role_first_and_a_separate_finish_chunk() {
        let s = text_stream("m", &["a", "b"]);
        let events: Vec<&str> = s.split("\n\n").filter(|e| !e.is_empty()).collect();
        assert_eq!(events.len(), 4);
        assert!(events[0].contains(r#""role":"assistant","content":"a""#));
        assert!(events[2].contains(r#""delta":{},"finish_reason":"stop""#));
    }
}

/// The two chat wires, with the smallest records each accepts, for fault tests that build
/// replies (and broken replies) byte by byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatWire {
    /// `/v1/chat/completions`, SSE.
    OpenAi,
    /// `/api/chat`, NDJSON.
    Native,
}

impl ChatWire {
    pub const BOTH: [ChatWire; 2] = [ChatWire::OpenAi, ChatWire::Native];

    pub fn content_type(self) -> &'static str {
        match self {
            ChatWire::OpenAi => "text/event-stream",
            ChatWire::Native => "application/x-ndjson",
        }
    }

    /// One record carrying `text` as answer content.
    pub fn record(self, text: &str) -> String {
        let text = serde_json::to_string(text).unwrap_or_default();
        match self {
            ChatWire::OpenAi => format!(
                "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{text}}}}}]}}\n\n"
            ),
            ChatWire::Native => format!(
                "{{\"message\":{{\"role\":\"assistant\",\"content\":{text}}},\"done\":false}}\n"
            ),
        }
    }

    /// The records that end a reply properly.
    pub fn finish(self) -> &'static str {
        match self {
            ChatWire::OpenAi => "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
            ChatWire::Native => "{\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\"}\n",
        }
    }

    /// A complete, valid reply saying `words`, one record each.
    pub fn reply(self, words: &[&str]) -> String {
        let mut body: String = words.iter().map(|w| self.record(w)).collect();
        body.push_str(self.finish());
        body
    }

    /// `body` served raw with this wire's content type.
    pub fn raw(self, body: impl Into<Vec<u8>>) -> crate::RawReply {
        crate::RawReply::new(self.content_type(), body)
    }
}
