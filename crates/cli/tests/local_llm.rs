//! End to end against a real model: llama.cpp's own server (`xllamacpp`) with SmolLM2-135M,
//! behind the project's Ollama-shaped front (`scripts/local-llm`). `openclaw agent` discovers
//! the model through `/api/tags` + `/api/show`, the model makes a real tool call, the agent
//! runs it, sends the result back, and the final answer streams to stdout.
//!
//! The backend is shared with every other test that needs it
//! (`openclaw_test_support::local_backend`): each test holds a lease while it uses it and
//! never stops it; it exits by itself once idle with no lease held. When it cannot start, the
//! tests skip and say why, or fail under CI. Assertions are on structure (a tool call happened
//! and succeeded, its result is in the transcript before the answer), never on a tiny model's
//! wording.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use openclaw_test_support::local_backend::{LocalBackend, INSTALL_HINT};
use openclaw_test_support::requirement::missing;
use serde_json::Value;

/// The shared backend (prompt cache off, so replies do not depend on what ran before), or
/// `None` after saying why it is missing.
fn backend() -> Option<LocalBackend> {
    match LocalBackend::acquire() {
        Ok(backend) => Some(backend),
        Err(why) => {
            missing(
                &format!("the local model backend could not start: {why}"),
                INSTALL_HINT,
            );
            None
        }
    }
}

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join(".openclaw/workspace");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::write(ws.join("notes.txt"), "The launch code is 4242.\n").unwrap();
        // SmolLM2-135M sometimes copies the file name of its template's one-shot example;
        // whichever file it asks for, the read must be real and succeed.
        std::fs::write(ws.join("example.txt"), "The launch code is 4242.\n").unwrap();
        Self { dir }
    }

    fn run(&self, backend: &LocalBackend, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(assert_cmd::cargo::cargo_bin("openclaw"))
            .env_clear()
            .env("HOME", self.dir.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .env("OLLAMA_API_KEY", "ollama-local")
            .env("OLLAMA_HOST", backend.host())
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn transcript(&self, id: &str) -> Vec<Value> {
        let path = self
            .dir
            .path()
            .join(format!(".openclaw/agents/main/sessions/{id}.jsonl"));
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Index of the first entry matching `pred`.
fn position(entries: &[Value], pred: impl Fn(&Value) -> bool) -> Option<usize> {
    entries.iter().position(pred)
}

fn check_tool_round_trip(entries: &[Value]) {
    let call = position(entries, |e| {
        e["type"] == "message"
            && e["toolCalls"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["name"] == "read"))
    })
    .unwrap_or_else(|| panic!("the model made no `read` call: {entries:#?}"));
    let result = position(entries, |e| {
        e["type"] == "tool_result" && e["toolName"] == "read" && e["isError"] == false
    })
    .unwrap_or_else(|| panic!("no successful `read` result in the transcript: {entries:#?}"));
    assert!(entries[result]["content"]
        .as_str()
        .unwrap()
        .contains("4242"));
    let answer = entries
        .iter()
        .enumerate()
        .rposition(|(i, e)| {
            i > result
                && e["type"] == "message"
                && e["role"] == "assistant"
                && e["toolCalls"].is_null()
        })
        .unwrap_or_else(|| panic!("no final answer after the tool result: {entries:#?}"));
    assert!(call < result && result < answer);
}

#[test]
fn agent_turn_with_a_real_tool_call_on_a_real_model() {
    let Some(backend) = backend() else {
        return;
    };
    let home = Home::new();

    // Discovery through the Ollama-shaped front.
    let (ok, stdout, stderr) = home.run(&backend, &["models", "list", "--json"]);
    assert!(ok, "{stderr}");
    let list: Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        list["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["key"] == "ollama/smollm2:135m"),
        "{stdout}"
    );

    // One turn over the OpenAI-compatible API (the seed's default).
    let id = "e2e-openai";
    let (ok, stdout, stderr) = home.run(
        &backend,
        &[
            "agent",
            "-m",
            "Read the file notes.txt and tell me what it says.",
            "--model",
            "ollama/smollm2:135m",
            "--session-id",
            id,
        ],
    );
    assert!(ok, "{stderr}");
    assert!(
        !stdout.trim().is_empty(),
        "no answer streamed to stdout; stderr: {stderr}"
    );
    assert!(stderr.contains("⚙ read("), "{stderr}");
    let entries = home.transcript(id);
    check_tool_round_trip(&entries);

    // --session-id continues the same transcript; the earlier turn is sent along.
    let (ok, _, stderr) = home.run(
        &backend,
        &[
            "agent",
            "-m",
            "What is the launch code?",
            "--model",
            "ollama/smollm2:135m",
            "--session-id",
            id,
        ],
    );
    assert!(ok, "{stderr}");
    let entries = home.transcript(id);
    let users = entries
        .iter()
        .filter(|e| e["type"] == "message" && e["role"] == "user")
        .count();
    assert_eq!(users, 2, "{entries:#?}");
    assert_eq!(entries.iter().filter(|e| e["type"] == "session").count(), 1);
    assert_eq!(entries.last().unwrap()["role"], "assistant");
}

#[test]
fn native_ollama_api_runs_the_same_turn() {
    let Some(backend) = backend() else {
        return;
    };
    let home = Home::new();
    std::fs::write(
        home.dir.path().join(".openclaw/openclaw.json"),
        r#"{ models: { providers: { ollama: { api: "ollama" } } } }"#,
    )
    .unwrap();
    let id = "e2e-native";
    let (ok, stdout, stderr) = home.run(
        &backend,
        &[
            "agent",
            "-m",
            "Read the file notes.txt and tell me what it says.",
            "--model",
            "ollama/smollm2:135m",
            "--session-id",
            id,
        ],
    );
    assert!(ok, "{stderr}");
    assert!(!stdout.trim().is_empty(), "{stderr}");
    check_tool_round_trip(&home.transcript(id));
}
