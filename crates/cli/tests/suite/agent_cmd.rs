//! `openclaw agent`: streamed answers, `--json`, sessions, fallback output, the exec policy
//! without a terminal, and a kill in the middle of a stream.

use std::time::{Duration, Instant};

use openclaw_test_support::{text_stream, tool_call_stream, ModelSpec, Reply, TestServer};
use serde_json::Value;

use super::support::{closed_port, Env};

fn env_with(server: &TestServer) -> Env {
    let env = Env::new().api_key("ollama-local").ollama(server);
    std::fs::create_dir_all(env.state_dir().join("workspace")).unwrap();
    std::fs::write(
        env.state_dir().join("workspace/notes.txt"),
        "The launch code is 4242.\n",
    )
    .unwrap();
    env
}

fn transcript_lines(env: &Env) -> Vec<String> {
    let dir = env.state_dir().join("agents/main/sessions");
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        lines.extend(
            std::fs::read_to_string(entry.path())
                .unwrap()
                .lines()
                .map(str::to_string),
        );
    }
    lines
}

#[test]
fn streams_the_answer_and_records_the_turn() {
    let server = TestServer::builder()
        .model(
            ModelSpec::new("llama3.3")
                .reply(Reply::Sse(tool_call_stream(
                    "read",
                    r#"{"path":"notes.txt"}"#,
                )))
                .reply(Reply::Sse(text_stream("m", &["The code ", "is 4242."]))),
        )
        .start_blocking()
        .unwrap();
    let env = env_with(&server);
    env.write_config(r#"{ agents: { defaults: { model: { primary: "ollama/llama3.3" } } } }"#);
    let run = env.ok(&["agent", "--message", "What does notes.txt say?"]);
    assert_eq!(run.stdout, "The code is 4242.\n");
    assert!(
        run.stderr.contains("read({\"path\":\"notes.txt\"})"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("session "), "{}", run.stderr);
    let lines = transcript_lines(&env);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"type\":\"tool_result\"") && l.contains("4242")),
        "{lines:?}"
    );
}

#[test]
fn json_output_and_session_continuation() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .start_blocking()
        .unwrap();
    let env = env_with(&server);
    let first: Value = env
        .ok(&[
            "agent",
            "-m",
            "first question",
            "--model",
            "ollama/llama3.3",
            "--json",
        ])
        .json();
    assert_eq!(first["answer"], "Hello from llama3.3:latest");
    assert_eq!(first["model"], "ollama/llama3.3");
    let id = first["sessionId"].as_str().unwrap().to_string();
    env.ok(&[
        "agent",
        "-m",
        "second question",
        "--model",
        "ollama/llama3.3",
        "--session-id",
        &id,
    ]);
    // The second request carried the first turn.
    let last = server
        .requests()
        .into_iter()
        .rfind(|r| r.path == "/v1/chat/completions")
        .unwrap();
    let messages = last.json().unwrap()["messages"].clone();
    let contents: Vec<&str> = messages
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(
        contents.contains(&"first question")
            && contents.contains(&"Hello from llama3.3:latest")
            && contents.contains(&"second question"),
        "{contents:?}"
    );
}

#[test]
fn fallback_is_announced_and_the_answering_model_named() {
    let server = TestServer::builder()
        .model(ModelSpec::new("qwen3:8b").capabilities(&["completion", "tools", "thinking"]))
        .start_blocking()
        .unwrap();
    let env = env_with(&server);
    env.write_config(&format!(
        r#"{{
  models: {{ providers: {{ lmstudio: {{ baseUrl: "http://127.0.0.1:{}/v1", models: [{{ id: "gone" }}] }} }} }},
  agents: {{ defaults: {{ model: {{ primary: "lmstudio/gone", fallbacks: ["ollama/qwen3:8b"] }} }} }},
}}"#,
        closed_port()
    ));
    let run = env.ok(&["agent", "-m", "hi", "--json"]);
    let out = run.json();
    assert_eq!(out["model"], "ollama/qwen3:8b");
    assert_eq!(out["fallbacks"][0]["model"], "lmstudio/gone");
    assert_eq!(out["fallbacks"][0]["kind"], "connect");
    // The failure started a cooldown: the next turn skips the primary at once and says so.
    let text = env.ok(&["agent", "-m", "hi"]);
    assert!(
        text.stderr
            .contains("fallback: lmstudio/gone skipped (cooldown: failed 1 time(s) in a row recently (last: connect)")
            && text.stderr.contains("using ollama/qwen3:8b"),
        "{}",
        text.stderr
    );
    // Without the memory (a fresh state dir), the failure itself is announced.
    let fresh = env_with(&server);
    fresh.write_config(&env.read_config());
    let text = fresh.ok(&["agent", "-m", "hi"]);
    assert!(
        text.stderr
            .contains("fallback: lmstudio/gone failed (connect)")
            && text.stderr.contains("ollama/qwen3:8b"),
        "{}",
        text.stderr
    );
}

#[test]
fn exec_outside_the_allowlist_is_denied_without_a_terminal() {
    let server = TestServer::builder()
        .model(
            ModelSpec::new("llama3.3")
                .reply(Reply::Sse(tool_call_stream(
                    "exec",
                    r#"{"command":"touch pwned"}"#,
                )))
                .reply(Reply::Sse(text_stream("m", &["ok"]))),
        )
        .start_blocking()
        .unwrap();
    let env = env_with(&server);
    let out = env
        .ok(&[
            "agent",
            "-m",
            "make a file",
            "--model",
            "ollama/llama3.3",
            "--json",
        ])
        .json();
    let call = &out["toolCalls"][0];
    assert_eq!(call["isError"], true);
    assert!(
        call["result"]
            .as_str()
            .unwrap()
            .contains("tools.exec.safeBins"),
        "{call}"
    );
    assert!(!env.state_dir().join("workspace/pwned").exists());
}

#[test]
fn killing_the_agent_mid_stream_leaves_a_readable_transcript() {
    let slow: Vec<String> = (0..40).map(|i| format!("word{i} ")).collect();
    let server = TestServer::builder()
        .model(
            ModelSpec::new("llama3.3")
                .reply(Reply::Sse(tool_call_stream(
                    "read",
                    r#"{"path":"notes.txt"}"#,
                )))
                .reply(Reply::Sse(text_stream("m", &slow)))
                .chunk_delay(Duration::from_millis(100)),
        )
        .start_blocking()
        .unwrap();
    let env = env_with(&server);
    let mut child = env
        .std_command(&[
            "agent",
            "-m",
            "read notes.txt slowly",
            "--model",
            "ollama/llama3.3",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the tool result is on disk and the second (slow) reply has started.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let chats = server
            .requests()
            .iter()
            .filter(|r| r.path == "/v1/chat/completions")
            .count();
        if chats >= 2
            && transcript_lines(&env)
                .iter()
                .any(|l| l.contains("\"type\":\"tool_result\""))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the agent never got to the second reply"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500)); // well inside the 4 s stream
    child.kill().unwrap();
    child.wait().unwrap();
    let lines = transcript_lines(&env);
    for l in &lines {
        serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("unparsable line {l:?}: {e}"));
    }
    assert!(lines
        .iter()
        .any(|l| l.contains("\"role\":\"user\"") && l.contains("read notes.txt slowly")));
    assert!(lines
        .iter()
        .any(|l| l.contains("\"type\":\"tool_result\"") && l.contains("4242")));
    // The reply being streamed at the kill is lost, nothing else.
    assert!(!lines.iter().any(|l| l.contains("word39")));
}

#[test]
fn chat_runs_turns_and_slash_commands_from_piped_input() {
    use std::io::Write;
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .model(ModelSpec::new("qwen3:8b"))
        .start_blocking()
        .unwrap();
    let env = env_with(&server);
    env.write_config(r#"{ agents: { defaults: { model: "ollama/llama3.3" } } }"#);
    let mut child = env
        .std_command(&["chat"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"first question\n/model ollama/qwen3:8b\nsecond question\n/compact\n/bogus\n/new\nthird question\n/quit\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("Hello from llama3.3:latest"), "{stdout}");
    assert!(stdout.contains("Hello from qwen3:8b"), "{stdout}");
    assert!(stderr.contains("model: ollama/qwen3:8b"), "{stderr}");
    assert!(stderr.contains("unknown command `/bogus`"), "{stderr}");
    assert!(stderr.contains("new session"), "{stderr}");
    // Two sessions: the first holds two turns (and the compaction, if any), the second one turn.
    let dir = env.state_dir().join("agents/main/sessions");
    let mut user_counts: Vec<usize> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            std::fs::read_to_string(e.unwrap().path())
                .unwrap()
                .lines()
                .filter(|l| l.contains("\"role\":\"user\""))
                .count()
        })
        .collect();
    user_counts.sort_unstable();
    assert_eq!(user_counts, vec![1, 2]);
}

/// `agents.defaults.thinkingDefault` was parsed and never used: a run without `--thinking` now
/// asks a reasoning model for that level, and `--thinking` still wins.
#[test]
fn thinking_default_applies_unless_the_flag_says_otherwise() {
    let server = TestServer::builder()
        .model(ModelSpec::new("thinker").capabilities(&["completion", "tools", "thinking"]))
        .start_blocking()
        .unwrap();
    let env = Env::new();
    env.write_config(&format!(
        r#"{{
          models: {{ providers: {{ local: {{
            baseUrl: "{}/v1", apiKey: "k", api: "openai-completions",
            models: [{{ id: "thinker", reasoning: true }}],
          }} }} }},
          agents: {{ defaults: {{ model: "local/thinker", thinkingDefault: "xhigh" }} }},
        }}"#,
        server.url()
    ));
    env.ok(&["agent", "-m", "hi"]);
    env.ok(&["agent", "-m", "hi", "--thinking", "low"]);
    let efforts: Vec<Value> = server
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/chat/completions")
        .map(|r| r.json().unwrap()["reasoning_effort"].clone())
        .collect();
    assert_eq!(efforts, vec![Value::from("high"), Value::from("low")]);
}
