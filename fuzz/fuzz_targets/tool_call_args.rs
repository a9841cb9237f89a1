//! Tool calls and their arguments: the textual forms small models write (`<tool_call>{…}
//! </tool_call>` blocks and bare `{"name": …, "arguments": …}` answers) and the arguments the
//! wires carry (OpenAI's JSON-in-a-string, in pieces; Ollama's object or string).
//!
//! Input: a control byte, then text. `\x1e` separates the answer text from wire-call arguments;
//! `\x1f` cuts either into the deltas the server would send. The control byte picks the wire,
//! the called tool's name, and whether Ollama's arguments are sent parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openclaw_fuzz::{check, decode};
use openclaw_llm::{StreamLimits, WireFormat};
use serde_json::{json, Value};

const NAMES: [&str; 4] = ["read", "exec", "not_offered", ""];
const OFFERED: [&str; 5] = ["read", "write", "edit", "exec", "get_weather"];

fn sse(chunks: &[Value]) -> String {
    let mut body: String = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
    body.push_str("data: [DONE]\n\n");
    body
}

fn openai_body(content: &[&str], wire_args: Option<(&str, Vec<&str>)>) -> String {
    let mut chunks: Vec<Value> = content
        .iter()
        .map(|c| json!({"choices": [{"index": 0, "delta": {"content": c}}]}))
        .collect();
    if let Some((name, pieces)) = wire_args {
        chunks.push(json!({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": "call_w", "type": "function", "function": {"name": name, "arguments": ""}}
        ]}}]}));
        for piece in pieces {
            chunks.push(json!({"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"arguments": piece}}
            ]}}]}));
        }
    }
    chunks.push(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}));
    sse(&chunks)
}

fn native_body(content: &[&str], wire_args: Option<(&str, Vec<&str>)>, parsed: bool) -> String {
    let mut lines: Vec<Value> = content
        .iter()
        .map(|c| json!({"message": {"role": "assistant", "content": c}, "done": false}))
        .collect();
    if let Some((name, pieces)) = wire_args {
        let text = pieces.concat();
        let arguments = match serde_json::from_str::<Value>(&text) {
            Ok(value) if parsed => value,
            _ => Value::String(text),
        };
        lines.push(
            json!({"message": {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": name, "arguments": arguments}}
        ]}, "done": false}),
        );
    }
    lines.push(json!({"message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "stop"}));
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn run(format: WireFormat, body: &str) -> openclaw_fuzz::Decoded {
    let decoded = decode(format, StreamLimits::default(), &[body.as_bytes()]);
    check(&decoded);
    decoded
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let (content, wire) = match text.split_once('\x1e') {
        Some((c, w)) => (c, Some(w)),
        None => (&*text, None),
    };
    let deltas: Vec<&str> = content.split('\x1f').collect();
    let name = NAMES[usize::from(control >> 4) % NAMES.len()];
    let wire_args = wire.map(|w| (name, w.split('\x1f').collect::<Vec<_>>()));
    let openai = control & 1 == 0;
    let decoded = if openai {
        run(WireFormat::OpenAiSse, &openai_body(&deltas, wire_args))
    } else {
        run(
            WireFormat::OllamaNdjson,
            &native_body(&deltas, wire_args, control & 2 != 0),
        )
    };
    // Only the wire may call a tool that was not offered.
    if wire.is_none() {
        if let Ok(response) = &decoded.result {
            for call in &response.tool_calls {
                assert!(
                    OFFERED.contains(&call.name.as_str()),
                    "textual call to {call:?}"
                );
            }
        }
    }

    // Whatever object the input holds, written as a call in either textual form and cut
    // anywhere, must come back as exactly that call and no text.
    let Ok(Value::Object(args)) = serde_json::from_str::<Value>(content) else {
        return;
    };
    let args = Value::Object(args);
    let call = json!({"name": "read", "arguments": args}).to_string();
    let cut = usize::from(control) % (call.len() + 1);
    let cut = (0..=cut)
        .rev()
        .find(|&i| call.is_char_boundary(i))
        .unwrap_or(0);
    let tagged = format!("<tool_call>\n{call}\n</tool_call>");
    for body in [tagged.as_str(), call.as_str()] {
        let split = (0..=cut.min(body.len()))
            .rev()
            .find(|&i| body.is_char_boundary(i))
            .unwrap_or(0);
        let (a, b) = body.split_at(split);
        let format = if openai {
            WireFormat::OpenAiSse
        } else {
            WireFormat::OllamaNdjson
        };
        let encoded = if openai {
            openai_body(&[a, b], None)
        } else {
            native_body(&[a, b], None, false)
        };
        let decoded = run(format, &encoded);
        let response = decoded.result.expect("a well-formed call must decode");
        assert_eq!(response.text, "", "call left text behind: {body}");
        assert_eq!(response.tool_calls.len(), 1, "{body}");
        assert_eq!(response.tool_calls[0].name, "read");
        assert!(
            same(&response.tool_calls[0].arguments, &args),
            "{body}: {:?}",
            response.tool_calls[0].arguments
        );
    }
});

/// Equal, but floats within a relative 1e-12: serde_json's float parsing is fast, not exact, so
/// a float that goes through text twice can move by an ulp (not a bug of ours).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if x.is_finite() && y.is_finite() => {
                x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
            }
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}
