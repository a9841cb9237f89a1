//! A turn's tool work is bounded whatever the model asks for: a reply with a thousand tool
//! calls, each reading a large file, costs the `openclaw` process a bounded amount of memory
//! and adds a bounded amount to the transcript — and every call still gets a result, so the
//! conversation stays valid for the next request.

use openclaw_test_support::measure::run_measured;
use openclaw_test_support::{text_stream, ModelSpec, Reply, TestServer};
use serde_json::{json, Value};

use super::support::Env;

/// An OpenAI-style stream whose one reply carries `n` tool calls.
fn many_tool_calls(n: usize, tool: &str, arguments: &Value) -> String {
    let calls: Vec<Value> = (0..n)
        .map(|i| {
            json!({"index": i, "id": format!("call_{i}"), "type": "function",
                   "function": {"name": tool, "arguments": arguments.to_string()}})
        })
        .collect();
    let chunk = |delta: Value, finish: Value| {
        let body = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
            "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        format!("data: {body}\n\n")
    };
    format!(
        "{}{}data: [DONE]\n\n",
        chunk(
            json!({"role": "assistant", "content": "", "tool_calls": calls}),
            Value::Null
        ),
        chunk(json!({}), json!("tool_calls"))
    )
}

#[test]
fn a_reply_with_a_thousand_tool_calls_stays_bounded() {
    let server = TestServer::builder()
        .model(
            ModelSpec::new("llama3.3")
                .reply(Reply::Sse(many_tool_calls(
                    1000,
                    "read",
                    &json!({"path": "big.txt"}),
                )))
                .reply(Reply::Sse(text_stream("m", &["done"]))),
        )
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    let ws = env.state_dir().join("workspace");
    std::fs::create_dir_all(&ws).unwrap();
    // 200 KiB: each read returns all of it.
    std::fs::write(ws.join("big.txt"), "0123456789abcdef\n".repeat(12_000)).unwrap();
    let mut cmd = env.std_command(&[
        "agent",
        "-m",
        "read it all",
        "--model",
        "ollama/llama3.3",
        "--session-id",
        "many",
    ]);
    cmd.stdin(std::process::Stdio::null());
    let run = run_measured(cmd);
    assert!(run.status.success(), "{}", run.stderr);
    let transcript = env.state_dir().join("agents/main/sessions/many.jsonl");
    let size = std::fs::metadata(&transcript).unwrap().len();
    let peak_mib = run.peak_kib / 1024;
    eprintln!("1000 tool calls: peak RSS {peak_mib} MiB, transcript {size} bytes");
    assert!(peak_mib <= 100, "peak RSS {peak_mib} MiB");
    assert!(size <= 5_000_000, "transcript {size} bytes");

    // Every call has exactly one result; those past the caps say why they did not run.
    let entries: Vec<Value> = std::fs::read_to_string(&transcript)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let results: Vec<&Value> = entries
        .iter()
        .filter(|e| e["type"] == "tool_result")
        .collect();
    assert_eq!(results.len(), 1000);
    let ran = results.iter().filter(|r| r["isError"] == false).count();
    assert!(ran > 0 && ran <= 32, "{ran} calls ran");
    assert!(results.iter().any(|r| r["content"]
        .as_str()
        .unwrap()
        .contains("at most 32 tool calls")));
    // The next request to the model carried all 1000 results, each call answered.
    let second = server
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .nth(1)
        .unwrap();
    let body: Value = serde_json::from_str(&second.body).unwrap();
    let tool_messages = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .count();
    assert_eq!(tool_messages, 1000);
}

/// `read` streams: a 56 MB file read with `limit: 1`, then deep into it with an offset, costs
/// the agent a buffer, not the file: its peak RSS stays within a few MiB of the same turn on a
/// one-line file (the 2 GB figure in RELIABILITY.md is the same path).
#[test]
fn reading_a_big_file_costs_a_buffer_not_the_file() {
    let small = read_turn_peak_mib(1);
    let big = read_turn_peak_mib(4_000_000);
    eprintln!("read turn: one-line file peak RSS {small} MiB, 56 MB file {big} MiB");
    assert!(
        big <= small + 8,
        "reading a 56 MB file cost {} MiB more than a one-line file",
        big - small
    );
}

/// Peak RSS of an agent turn that reads a file of `lines` lines twice (`limit: 1`, then at an
/// offset near its end).
fn read_turn_peak_mib(lines: u32) -> u64 {
    let calls = [
        json!({"path": "big.txt", "limit": 1}),
        json!({"path": "big.txt", "offset": (lines * 3 / 4).max(1), "limit": 2}),
    ];
    let mut spec = ModelSpec::new("llama3.3");
    for args in &calls {
        spec = spec.reply(Reply::Sse(many_tool_calls(1, "read", args)));
    }
    let server = TestServer::builder()
        .model(spec.reply(Reply::Sse(text_stream("m", &["done"]))))
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    let ws = env.state_dir().join("workspace");
    std::fs::create_dir_all(&ws).unwrap();
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(ws.join("big.txt")).unwrap());
        for i in 1..=lines {
            writeln!(f, "line {i:08}").unwrap(); // 14 bytes a line
        }
    }
    let mut cmd = env.std_command(&[
        "agent",
        "-m",
        "read it",
        "--model",
        "ollama/llama3.3",
        "--json",
    ]);
    cmd.stdin(std::process::Stdio::null());
    let run = run_measured(cmd);
    assert!(run.status.success(), "{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    let results: Vec<&str> = out["toolCalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["result"].as_str().unwrap())
        .collect();
    assert!(results[0].starts_with("line 00000001\n"), "{}", results[0]);
    let deep = (lines * 3 / 4).max(1);
    assert!(
        results[1].starts_with(&format!("line {deep:08}\n")),
        "{}",
        results[1]
    );
    run.peak_kib / 1024
}
