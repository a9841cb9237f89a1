//! Every recorded reply in the fixtures, replayed through the decoder its wire needs: whole,
//! one byte at a time, and cut at every byte boundary (or many random ones), always giving the
//! same reply.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use openclaw_llm::{
    ChatRequest, ChatResponse, LlmError, ReplyDecoder, StreamEvent, ToolCall, ToolSpec, Usage,
    WireFormat,
};
use openclaw_test_support::fixture;
use serde_json::{json, Value};

fn weather_tool() -> ToolSpec {
    ToolSpec {
        name: "get_weather".into(),
        description: "Get the current weather for a city".into(),
        parameters: json!({
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        }),
    }
}

fn request(tools: Vec<ToolSpec>) -> ChatRequest {
    ChatRequest {
        model: "m".into(),
        tools,
        ..ChatRequest::default()
    }
}

/// Feeds `pieces` to a fresh decoder; returns the reply and the events.
fn decode_pieces<'a>(
    format: WireFormat,
    request: &ChatRequest,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> (Result<ChatResponse, LlmError>, Vec<StreamEvent>) {
    let mut events = Vec::new();
    let mut on_event = |e: StreamEvent| events.push(e);
    let mut decoder = ReplyDecoder::new(format, request, "http://fixture/");
    for piece in pieces {
        if let Err(e) = decoder.feed(piece, &mut on_event) {
            return (Err(e), events);
        }
    }
    let result = decoder.finish(&mut on_event);
    (result, events)
}

/// Consecutive text (or thinking) events merged: how they are cut depends on the chunking.
fn merged(events: Vec<StreamEvent>) -> Vec<StreamEvent> {
    let mut out: Vec<StreamEvent> = Vec::new();
    for event in events {
        match (out.last_mut(), event) {
            (Some(StreamEvent::Text(a)), StreamEvent::Text(b)) => a.push_str(&b),
            (Some(StreamEvent::Thinking(a)), StreamEvent::Thinking(b)) => a.push_str(&b),
            (_, event) => out.push(event),
        }
    }
    out
}

/// A small deterministic generator for split points (xorshift).
struct Splits(u64);

impl Splits {
    fn next(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

/// Replays `body` whole and in many chunkings, asserts they all agree, returns the reply.
fn replay(
    format: WireFormat,
    request: &ChatRequest,
    body: &str,
) -> (ChatResponse, Vec<StreamEvent>) {
    let bytes = body.as_bytes();
    let (whole, events) = decode_pieces(format, request, [bytes]);
    let whole = whole.unwrap_or_else(|e| panic!("{e}"));
    let events = merged(events);

    let check = |label: &str, pieces: Vec<&[u8]>| {
        let (result, got) = decode_pieces(format, request, pieces);
        let result = result.unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(result, whole, "{label}");
        assert_eq!(merged(got), events, "{label}");
    };

    check("one byte at a time", bytes.chunks(1).collect());
    // Every two-piece cut for small bodies; for large ones, every 7th plus random ones.
    let step = if bytes.len() > 4000 { 7 } else { 1 };
    for cut in (0..=bytes.len()).step_by(step) {
        let (a, b) = bytes.split_at(cut);
        check(&format!("cut at {cut}"), vec![a, b]);
    }
    let mut rng = Splits(0x9E37_79B9_7F4A_7C15 ^ bytes.len() as u64);
    for round in 0..50 {
        let mut cuts: Vec<usize> = (0..rng.next(12) + 1)
            .map(|_| rng.next(bytes.len() + 1))
            .collect();
        cuts.sort_unstable();
        let mut pieces = Vec::new();
        let mut start = 0;
        for cut in cuts {
            pieces.push(&bytes[start..cut]);
            start = cut;
        }
        pieces.push(&bytes[start..]);
        check(&format!("random round {round}"), pieces);
    }
    (whole, events)
}

fn call(id: &str, city: &str, raw: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: "get_weather".into(),
        arguments: json!({ "city": city }),
        raw_arguments: raw.into(),
        arguments_error: None,
    }
}

fn usage(prompt_tokens: u64, completion_tokens: u64) -> Option<Usage> {
    Some(Usage {
        prompt_tokens,
        completion_tokens,
    })
}

#[test]
fn ollama_stream_with_a_whole_tool_call() {
    let body = fixture("ollama/chat-stream-toolcall.sse");
    let (reply, events) = replay(WireFormat::OpenAiSse, &request(vec![weather_tool()]), &body);
    let expected = call("call_k3v9x2ab", "Tokyo", r#"{"city":"Tokyo"}"#);
    assert_eq!(
        reply,
        ChatResponse {
            text: String::new(),
            thinking: String::new(),
            tool_calls: vec![expected.clone()],
            finish_reason: Some("tool_calls".into()),
            usage: usage(169, 15),
        }
    );
    assert_eq!(events, vec![StreamEvent::ToolCall(expected)]);
}

#[test]
fn ollama_stream_with_reasoning() {
    let body = fixture("ollama/chat-stream-thinking.sse");
    let (reply, events) = replay(WireFormat::OpenAiSse, &request(Vec::new()), &body);
    assert_eq!(reply.thinking, "Okay, the user asks 17×23.");
    assert_eq!(reply.text, "17 × 23 = 391.");
    assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
    assert!(reply.tool_calls.is_empty());
    assert_eq!(reply.usage, None);
    assert_eq!(
        events,
        vec![
            StreamEvent::Thinking(reply.thinking.clone()),
            StreamEvent::Text(reply.text.clone())
        ]
    );
}

#[test]
fn ollama_stream_with_reasoning_then_a_tool_call() {
    let body = fixture("ollama/chat-stream-thinking-toolcall.sse");
    let (reply, events) = replay(WireFormat::OpenAiSse, &request(vec![weather_tool()]), &body);
    let expected = call("call_p0q8r7st", "Paris", r#"{"city":"Paris"}"#);
    assert_eq!(reply.thinking, "I need the weather tool.");
    assert_eq!(reply.text, "");
    assert_eq!(reply.tool_calls, vec![expected.clone()]);
    assert_eq!(reply.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(
        events,
        vec![
            StreamEvent::Thinking("I need the weather tool.".into()),
            StreamEvent::ToolCall(expected)
        ]
    );
}

#[test]
fn ollama_non_streamed_completion() {
    let body = fixture("ollama/chat-completion-toolcall.json");
    let (reply, _) = replay(
        WireFormat::OpenAiJson,
        &request(vec![weather_tool()]),
        &body,
    );
    assert_eq!(
        reply.tool_calls,
        vec![call("call_k3v9x2ab", "Tokyo", r#"{"city":"Tokyo"}"#)]
    );
    assert_eq!(reply.text, "");
    assert_eq!(reply.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(reply.usage, usage(169, 15));
}

#[test]
fn ollama_native_ndjson_stream() {
    let body = fixture("ollama/api-chat-stream-toolcall.ndjson");
    let (reply, events) = replay(
        WireFormat::OllamaNdjson,
        &request(vec![weather_tool()]),
        &body,
    );
    // Native calls have no id: one is generated. Arguments arrive as an object.
    let expected = call("call_0", "Tokyo", r#"{"city":"Tokyo"}"#);
    assert_eq!(reply.tool_calls, vec![expected.clone()]);
    assert_eq!(reply.text, "");
    // `stop` with tool calls reads `tool_calls`, as on the `/v1` wire.
    assert_eq!(reply.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(reply.usage, usage(169, 15));
    assert_eq!(events, vec![StreamEvent::ToolCall(expected)]);
}

#[test]
fn llamacpp_plain_text_stream() {
    let body = fixture("llamacpp-shim/stream-text.sse");
    let (reply, events) = replay(WireFormat::OpenAiSse, &request(Vec::new()), &body);
    assert_eq!(reply.text, "The capital of France is Paris.");
    assert_eq!(reply.thinking, "");
    assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
    assert_eq!(reply.usage, usage(33, 8));
    assert_eq!(events, vec![StreamEvent::Text(reply.text.clone())]);
}

#[test]
fn llamacpp_tool_call_streamed_in_pieces() {
    let body = fixture("llamacpp-shim/stream-toolcall.sse");
    let (reply, events) = replay(WireFormat::OpenAiSse, &request(vec![weather_tool()]), &body);
    let expected = call(
        "kf0N4w76u3u9MxLHTEUOrfKFEXBuv35M",
        "Paris",
        r#"{"city": "Paris"}"#,
    );
    assert_eq!(reply.tool_calls, vec![expected.clone()]);
    assert_eq!(reply.text, "");
    assert_eq!(reply.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(reply.usage, usage(252, 31));
    // One event, once the arguments are whole.
    assert_eq!(events, vec![StreamEvent::ToolCall(expected)]);
}

#[test]
fn llamacpp_reasoning_stream() {
    let body = fixture("llamacpp-shim/stream-thinking.sse");
    let (reply, _) = replay(WireFormat::OpenAiSse, &request(Vec::new()), &body);
    assert_eq!(
        reply.thinking,
        "\nTo convert 17 to a decimal, you can multiply 17 by 17. \n\n1"
    );
    assert_eq!(reply.text, "So, 17 times 23 equals 341.");
    assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
    assert_eq!(reply.usage, None);
}

#[test]
fn llamacpp_non_streamed_tool_call() {
    let body = fixture("llamacpp-shim/response-toolcall.json");
    let (reply, _) = replay(
        WireFormat::OpenAiJson,
        &request(vec![weather_tool()]),
        &body,
    );
    assert_eq!(
        reply.tool_calls,
        vec![call(
            "IgW16YlTIFazJ5frKVdt8cUNMzkXlsL9",
            "Paris",
            r#"{"city": "Paris"}"#
        )]
    );
    assert_eq!(reply.usage, usage(252, 31));
    assert_eq!(reply.finish_reason.as_deref(), Some("tool_calls"));
}

#[test]
fn llamacpp_answer_after_a_tool_result() {
    let body = fixture("llamacpp-shim/response-tool-result.json");
    // Tools are offered: `<tool_response>` starts like `<tool_call>` but is not one.
    let (reply, events) = replay(
        WireFormat::OpenAiJson,
        &request(vec![weather_tool()]),
        &body,
    );
    let text = "<tool_response>\n{\"type\": \"success\", \"message\": \"Sunny, 21 degrees Celsius\"}\n</tool_response>";
    assert_eq!(reply.text, text);
    assert!(reply.tool_calls.is_empty());
    assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
    assert_eq!(reply.usage, usage(306, 32));
    assert_eq!(events, vec![StreamEvent::Text(text.into())]);
}

/// An SSE body whose content arrives in the given deltas, then `stop` and `[DONE]`.
fn content_stream(deltas: &[&str]) -> String {
    let mut body = String::new();
    for delta in deltas {
        let chunk =
            json!({"choices": [{"index": 0, "delta": {"content": delta}, "finish_reason": null}]});
        body.push_str(&format!("data: {chunk}\n\n"));
    }
    body.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
    body
}

#[test]
fn think_tags_in_content_become_thinking() {
    let body = content_stream(&[
        "<thi",
        "nk>\nWeather in",
        " Paris?</th",
        "ink>\n\nIt is ",
        "sunny.",
    ]);
    let (reply, events) = replay(WireFormat::OpenAiSse, &request(Vec::new()), &body);
    assert_eq!(reply.thinking, "Weather in Paris?");
    assert_eq!(reply.text, "It is sunny.");
    assert_eq!(
        events,
        vec![
            StreamEvent::Thinking("Weather in Paris?".into()),
            StreamEvent::Text("It is sunny.".into())
        ]
    );
}

#[test]
fn textual_tool_calls_from_small_models() {
    let tools = vec![weather_tool()];
    let tagged = content_stream(&[
        "<tool_call>\n{\"name\": \"get_weather\", ",
        "\"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
    ]);
    let (reply, events) = replay(WireFormat::OpenAiSse, &request(tools.clone()), &tagged);
    assert_eq!(reply.text, "");
    assert_eq!(reply.tool_calls.len(), 1);
    assert_eq!(reply.tool_calls[0].name, "get_weather");
    assert_eq!(reply.tool_calls[0].arguments, json!({"city": "Paris"}));
    assert_eq!(reply.tool_calls[0].id, "call_0");
    assert_eq!(reply.finish_reason.as_deref(), Some("tool_calls"));
    assert!(events.iter().all(|e| matches!(e, StreamEvent::ToolCall(_))));

    let bare = content_stream(&[
        "{\"name\": \"get_weather\", \"parameters\": ",
        "\"{\\\"city\\\": \\\"Oslo\\\"}\"}",
    ]);
    let (reply, events) = replay(WireFormat::OpenAiSse, &request(tools.clone()), &bare);
    assert_eq!(reply.text, "");
    assert_eq!(reply.tool_calls[0].arguments, json!({"city": "Oslo"}));
    assert_eq!(reply.tool_calls[0].raw_arguments, r#"{"city": "Oslo"}"#);
    assert_eq!(events.len(), 1);

    let mixed = content_stream(&[
        "Checking. <tool_",
        "call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Rome\"}}</tool_call>",
    ]);
    let (reply, events) = replay(WireFormat::OpenAiSse, &request(tools.clone()), &mixed);
    assert_eq!(reply.text, "Checking. ");
    assert_eq!(events[0], StreamEvent::Text("Checking. ".into()));
    assert_eq!(reply.tool_calls[0].arguments, json!({"city": "Rome"}));

    // Not offered, or not a call: text as sent.
    for deltas in [
        &["{\"name\": \"delete_all\", \"arguments\": {}}"][..],
        &["{\"answer\": ", "42}"][..],
    ] {
        let body = content_stream(deltas);
        let (reply, _) = replay(WireFormat::OpenAiSse, &request(tools.clone()), &body);
        assert_eq!(reply.text, deltas.concat());
        assert!(reply.tool_calls.is_empty());
    }
}

#[test]
fn textual_tool_calls_on_the_native_wire() {
    let line = |content: &str| {
        json!({"model": "m", "message": {"role": "assistant", "content": content}, "done": false})
            .to_string()
    };
    let body = format!(
        "{}\n{}\n{}\n",
        line("<tool_call>{\"name\":\"get_weather\","),
        line("\"arguments\":{\"city\":\"Lima\"}}</tool_call>"),
        json!({"message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "stop"})
    );
    let (reply, _) = replay(
        WireFormat::OllamaNdjson,
        &request(vec![weather_tool()]),
        &body,
    );
    assert_eq!(reply.text, "");
    assert_eq!(reply.tool_calls[0].arguments, json!({"city": "Lima"}));
    assert_eq!(reply.finish_reason.as_deref(), Some("tool_calls"));
}

#[test]
fn native_thinking_and_content() {
    let body = [
        json!({"message": {"role": "assistant", "content": "", "thinking": "Let me"}, "done": false}),
        json!({"message": {"role": "assistant", "content": "", "thinking": " think."}, "done": false}),
        json!({"message": {"role": "assistant", "content": "Hi"}, "done": false}),
        json!({"message": {"role": "assistant", "content": "!"}, "done": true, "done_reason": "stop", "prompt_eval_count": 3, "eval_count": 4}),
    ]
    .iter()
    .map(|v| format!("{v}\n"))
    .collect::<String>();
    let (reply, events) = replay(WireFormat::OllamaNdjson, &request(Vec::new()), &body);
    assert_eq!(reply.thinking, "Let me think.");
    assert_eq!(reply.text, "Hi!");
    assert_eq!(reply.usage, usage(3, 4));
    assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
    assert_eq!(events.len(), 2);
}

#[test]
fn invalid_tool_arguments_are_reported_on_the_call() {
    let chunk = |args: &str| {
        json!({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": args}}
        ]}}]})
    };
    let body = format!(
        "data: {}\n\ndata: {{\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"tool_calls\"}}]}}\n\n",
        chunk("{\"city\": Paris}")
    );
    let (reply, _) = replay(WireFormat::OpenAiSse, &request(vec![weather_tool()]), &body);
    let call = &reply.tool_calls[0];
    assert_eq!(call.arguments, Value::Null);
    assert_eq!(call.raw_arguments, "{\"city\": Paris}");
    assert!(call
        .arguments_error
        .as_deref()
        .unwrap()
        .contains("not valid JSON"));

    let native = format!(
        "{}\n{}\n",
        json!({"message": {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather", "arguments": [1, 2]}}]}, "done": false}),
        json!({"done": true, "done_reason": "stop"})
    );
    let (reply, _) = replay(
        WireFormat::OllamaNdjson,
        &request(vec![weather_tool()]),
        &native,
    );
    let call = &reply.tool_calls[0];
    assert_eq!(call.arguments, Value::Null);
    assert_eq!(call.raw_arguments, "[1,2]");
    assert_eq!(
        call.arguments_error.as_deref(),
        Some("the arguments are an array, not a JSON object")
    );
}

#[test]
fn truncated_fixtures_are_malformed() {
    // Every fixture cut before its end marker fails instead of passing for a short reply.
    for (rel, format, marker) in [
        (
            "ollama/chat-stream-toolcall.sse",
            WireFormat::OpenAiSse,
            "\"finish_reason\":\"tool_calls\"",
        ),
        (
            "llamacpp-shim/stream-toolcall.sse",
            WireFormat::OpenAiSse,
            "\"finish_reason\":\"tool_calls\"",
        ),
        (
            "llamacpp-shim/stream-text.sse",
            WireFormat::OpenAiSse,
            "\"finish_reason\":\"stop\"",
        ),
        (
            "ollama/api-chat-stream-toolcall.ndjson",
            WireFormat::OllamaNdjson,
            "\"done\":true",
        ),
    ] {
        let body = fixture(rel);
        let cut = body.find(marker).unwrap();
        let cut = body[..cut].rfind('\n').unwrap();
        let (result, _) = decode_pieces(format, &request(Vec::new()), [&body.as_bytes()[..cut]]);
        let error = result.unwrap_err();
        assert_eq!(error.kind(), "malformed-stream", "{rel}: {error}");
    }
    let json = fixture("ollama/chat-completion-toolcall.json");
    let (result, _) = decode_pieces(
        WireFormat::OpenAiJson,
        &request(Vec::new()),
        [&json.as_bytes()[..json.len() / 2]],
    );
    assert_eq!(result.unwrap_err().kind(), "malformed-stream");
}

#[test]
fn damaged_replies_never_panic() {
    let tools = vec![weather_tool()];
    let mut rng = Splits(42);
    for (rel, format) in [
        ("ollama/chat-stream-toolcall.sse", WireFormat::OpenAiSse),
        (
            "ollama/chat-stream-thinking-toolcall.sse",
            WireFormat::OpenAiSse,
        ),
        ("llamacpp-shim/stream-toolcall.sse", WireFormat::OpenAiSse),
        (
            "ollama/chat-completion-toolcall.json",
            WireFormat::OpenAiJson,
        ),
        (
            "ollama/api-chat-stream-toolcall.ndjson",
            WireFormat::OllamaNdjson,
        ),
        (
            "ollama/api-chat-stream-toolcall.ndjson",
            WireFormat::OllamaJson,
        ),
    ] {
        let original = fixture(rel).into_bytes();
        for _ in 0..300 {
            let mut bytes = original.clone();
            for _ in 0..rng.next(4) + 1 {
                let at = rng.next(bytes.len());
                let alphabet = b"{}[]\":,\n\r<>x\\\xff";
                bytes[at] = alphabet[rng.next(alphabet.len())];
            }
            bytes.truncate(rng.next(bytes.len() + 1).max(bytes.len() / 2));
            // Any result is fine; a panic is not.
            let _ = decode_pieces(
                format,
                &request(tools.clone()),
                bytes.chunks(rng.next(64) + 1),
            );
        }
    }
}
