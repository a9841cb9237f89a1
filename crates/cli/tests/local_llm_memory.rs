//! End to end, with a real chat model and a real embedding model: the agent answers a question
//! whose answer is only in a daily note (`memory/…`), which is never put into the prompt — it
//! has to find it with `memory_search`, over an index built with the local backend's
//! all-MiniLM-L6-v2 through the Ollama-shaped `/api/embed`.
//!
//! The backend is the shared one (`openclaw_test_support::local_backend`, held under a lease);
//! when it cannot start the test skips and says why, or fails under CI. SmolLM2-135M writes poor
//! search queries (it often copies its template's example), so the notes are few: whatever it
//! asks, the search returns the right note among its results; what is asserted is that the
//! answer came from memory through the tool, not the model's wording.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use openclaw_test_support::local_backend::{LocalBackend, INSTALL_HINT};
use openclaw_test_support::requirement::missing;
use serde_json::Value;

const CODE: &str = "7306";

fn run(home: &std::path::Path, backend: &LocalBackend, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(assert_cmd::cargo::cargo_bin("openclaw"))
        .env_clear()
        .env("HOME", home)
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

#[test]
fn the_agent_answers_from_a_daily_note_through_memory_search() {
    let backend = match LocalBackend::acquire() {
        Ok(b) => b,
        Err(why) => {
            missing(
                &format!(
                    "the local model backend (chat and embedding models) could not start: {why}"
                ),
                INSTALL_HINT,
            );
            return;
        }
    };
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join(".openclaw");
    let ws = state.join("workspace");
    std::fs::create_dir_all(ws.join("memory")).unwrap();
    std::fs::write(
        state.join("openclaw.json"),
        r#"{ memory: { search: { model: "all-minilm:l6-v2" } } }"#,
    )
    .unwrap();
    std::fs::write(
        ws.join("memory/2026-03-02.md"),
        format!("# 2026-03-02\n\n- Coffee with Priya.\n- The locker code at the gym is {CODE}.\n"),
    )
    .unwrap();

    let mut answered = None;
    let mut last = String::new();
    for _attempt in 1..=3 {
        let (ok, stdout, stderr) = run(
            home.path(),
            &backend,
            &[
                "agent",
                "-m",
                "Search your memory for the gym locker code and tell me what it is.",
                "--model",
                "ollama/smollm2:135m",
                "--json",
            ],
        );
        assert!(ok, "{stderr}");
        let turn: Value = serde_json::from_str(&stdout).unwrap();
        let calls = turn["toolCalls"].as_array().unwrap();
        let from_memory = calls.iter().any(|c| {
            ["memory_search", "memory_get"].contains(&c["name"].as_str().unwrap_or(""))
                && c["isError"] == false
                && c["result"].as_str().unwrap().contains(CODE)
        });
        assert!(
            from_memory,
            "no memory tool call returned the note: {turn:#}\n{stderr}"
        );
        if turn["answer"].as_str().unwrap().contains(CODE) {
            answered = Some(turn);
            break;
        }
        last = format!("{turn:#}");
    }
    assert!(
        answered.is_some(),
        "three turns fetched the note but none answered with the code; the last: {last}"
    );
    // The code was never in the prompt: no injected file holds it.
    for name in [
        "AGENTS.md",
        "SOUL.md",
        "IDENTITY.md",
        "USER.md",
        "BOOTSTRAP.md",
    ] {
        let text = std::fs::read_to_string(ws.join(name)).unwrap_or_default();
        assert!(!text.contains(CODE), "{name} holds the code");
    }

    // The search built the index with real vectors.
    let (ok, stdout, stderr) = run(home.path(), &backend, &["memory", "status", "--json"]);
    assert!(ok, "{stderr}");
    let status: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(status["status"]["files"], 1, "{status:#}");
    assert_eq!(
        status["status"]["embeddedChunks"], status["status"]["chunks"],
        "{status:#}"
    );
    assert_eq!(
        status["status"]["embeddingModel"], "ollama/all-minilm:l6-v2",
        "{status:#}"
    );
}
