//! Shared by the decoder targets: feeding one body to [`ReplyDecoder`] whole and in pieces, and
//! the properties every decoded reply must have.
//!
//! The network cuts a reply anywhere, so the same body fed in different pieces must decode to
//! the same reply (or the same class of error); and what the decoder reports as it goes must
//! add up to what it returns at the end.

use openclaw_llm::{
    ChatRequest, ChatResponse, ReplyDecoder, StreamEvent, StreamLimits, ToolSpec, WireFormat,
};

/// The tools the agent offers, plus the fixtures' `get_weather`, so textual calls are parsed.
pub fn request() -> ChatRequest {
    let tool = |name: &str| ToolSpec {
        name: name.to_owned(),
        description: String::new(),
        parameters: serde_json::json!({"type": "object"}),
    };
    ChatRequest {
        model: "m".to_owned(),
        tools: ["read", "write", "edit", "exec", "get_weather"]
            .into_iter()
            .map(tool)
            .collect(),
        ..ChatRequest::default()
    }
}

/// Small caps, so the fuzzer reaches the over-long-line paths with short inputs. The reply cap
/// stays large: hitting it depends on where the body is cut, which would break the
/// whole-versus-pieces comparison.
pub fn small_limits() -> StreamLimits {
    StreamLimits {
        max_line_bytes: 512,
        max_reply_bytes: usize::MAX,
    }
}

/// What one decode produced: the result (the error reduced to its class and message) and the
/// events in order.
#[derive(Debug, PartialEq)]
pub struct Decoded {
    pub result: Result<ChatResponse, (String, String)>,
    pub events: Vec<StreamEvent>,
}

/// Cuts `body` into pieces of 1..=32 bytes chosen by `seed` (xorshift), never empty.
pub fn pieces(body: &[u8], seed: u8) -> Vec<&[u8]> {
    let mut state = u64::from(seed) | 0x9e37_79b9_0000_0100;
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let n = (state % 32) as usize + 1;
        let (a, b) = rest.split_at(n.min(rest.len()));
        out.push(a);
        rest = b;
    }
    out
}

/// Decodes `chunks` in order with a fresh decoder; stops at the first error, as the client does.
pub fn decode(format: WireFormat, limits: StreamLimits, chunks: &[&[u8]]) -> Decoded {
    let request = request();
    let mut decoder = ReplyDecoder::with_limits(format, &request, "http://fuzz/x", limits);
    let mut events = Vec::new();
    let mut sink = |e: StreamEvent| events.push(e);
    for chunk in chunks {
        if let Err(e) = decoder.feed(chunk, &mut sink) {
            let result = Err((e.kind().to_owned(), e.to_string()));
            return Decoded { result, events };
        }
    }
    let result = decoder
        .finish(&mut sink)
        .map_err(|e| (e.kind().to_owned(), e.to_string()));
    Decoded { result, events }
}

/// The properties of one decoded reply.
pub fn check(decoded: &Decoded) {
    if let Err((kind, message)) = &decoded.result {
        // Every error names the server, except a context overflow, which is handled by
        // compaction rather than shown.
        assert!(
            kind == "context-overflow" || message.contains("http://fuzz/x"),
            "{kind}: {message}"
        );
        return;
    }
    let Ok(response) = &decoded.result else {
        return;
    };
    let (mut text, mut thinking, mut calls) = (String::new(), String::new(), Vec::new());
    for event in &decoded.events {
        match event {
            StreamEvent::Text(t) => {
                assert!(!t.is_empty(), "empty text event");
                text.push_str(t);
            }
            StreamEvent::Thinking(t) => {
                assert!(!t.is_empty(), "empty thinking event");
                thinking.push_str(t);
            }
            StreamEvent::ToolCall(c) => calls.push(c.clone()),
        }
    }
    assert_eq!(
        text, response.text,
        "text events do not add up to the reply"
    );
    assert_eq!(thinking, response.thinking, "thinking events do not add up");
    assert_eq!(
        calls, response.tool_calls,
        "tool-call events differ from the reply"
    );
    for call in &response.tool_calls {
        assert!(!call.id.is_empty(), "a call without an id: {call:?}");
        match &call.arguments_error {
            None => assert!(
                call.arguments.is_object(),
                "arguments accepted but not an object: {call:?}"
            ),
            Some(reason) => {
                assert!(
                    call.arguments.is_null(),
                    "rejected arguments kept: {call:?}"
                );
                assert!(!reason.is_empty());
            }
        }
    }
    if !response.tool_calls.is_empty() {
        assert!(
            !matches!(response.finish_reason.as_deref(), None | Some("stop")),
            "a reply with tool calls that says it stopped: {:?}",
            response.finish_reason
        );
    }
}

/// Decodes `body` whole and in pieces (with the default caps, or small ones when `seed` has bit
/// 6 set): each must satisfy [`check`], and the pieces must decode exactly like the whole.
pub fn whole_versus_pieces(format: WireFormat, body: &[u8], seed: u8) {
    let limits = if seed & 0x40 == 0 {
        StreamLimits::default()
    } else {
        small_limits()
    };
    let whole = decode(format, limits, &[body]);
    check(&whole);
    let cut = decode(format, limits, &pieces(body, seed));
    assert_eq!(
        whole, cut,
        "the same body cut differently decodes differently"
    );
}
