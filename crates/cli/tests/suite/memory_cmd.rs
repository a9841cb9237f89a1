//! `openclaw context` and `openclaw memory`: what the system prompt is made of (snapshot of
//! the breakdown), workspace files cut to the budget and reported, the memory index from the
//! command line (snapshot of `memory search --json`), and doctor's word on keyword-only search.
//! Keyword-only here (no embedding model) so the output is exact; the real embedding model is
//! exercised in `tests/local_llm_memory.rs` and `crates/memory/tests/index.rs`.

use openclaw_test_support::{ModelSpec, TestServer};
use serde_json::Value;

use super::support::Env;

/// A config with one explicit model of an 8192-token context, reachable or not.
pub(super) fn config(base_url: &str) -> String {
    format!(
        r#"{{
  models: {{ providers: {{ local: {{ baseUrl: "{base_url}", api: "openai-completions",
    models: [{{ id: "tiny", contextWindow: 8192, maxTokens: 2048 }}] }} }} }},
  agents: {{ defaults: {{ model: "local/tiny" }} }},
}}"#
    )
}

fn workspace(env: &Env) -> std::path::PathBuf {
    let ws = env.state_dir().join("workspace");
    fill_workspace(&ws);
    ws
}

/// Writes the workspace files of these tests (three memory files, a USER.md too long for an
/// 8K model's budget) into `ws`.
pub(super) fn fill_workspace(ws: &std::path::Path) {
    std::fs::create_dir_all(ws.join("memory")).unwrap();
    std::fs::write(ws.join("AGENTS.md"), "# Rules\n\n- Be brief.\n").unwrap();
    std::fs::write(ws.join("SOUL.md"), "# Soul\n\nCalm and practical.\n").unwrap();
    let user: String = (1..=300)
        .map(|i| format!("- ({i:03}) Prefer the metric system.\n"))
        .collect();
    std::fs::write(ws.join("USER.md"), format!("# User\n\n{user}")).unwrap();
    std::fs::write(
        ws.join("MEMORY.md"),
        "# Memory\n\n- The allotment is plot 14.\n",
    )
    .unwrap();
    std::fs::write(
        ws.join("memory/2026-03-01.md"),
        "# 2026-03-01\n\n- Went for a run.\n- The road bike needs new brake pads; part SH-R55C4.\n",
    )
    .unwrap();
    std::fs::write(
        ws.join("memory/2026-03-02.md"),
        "# 2026-03-02\n\n- Booked Marcello's for Friday.\n- Bought brake fluid for the car.\n",
    )
    .unwrap();
}

#[test]
fn context_shows_each_file_raw_and_injected_within_the_budget() {
    let env = Env::new();
    env.write_config(&config("http://127.0.0.1:9/v1"));
    workspace(&env);
    let run = env.ok(&["context"]);
    // The instructions name the workspace's absolute path, whose length follows the temporary
    // HOME's, and so do the room left for USER.md and the total: those rows are checked in
    // the JSON below instead.
    insta::with_settings!({filters => vec![
        (r"(?m)^((?:instructions|USER\.md|total) +)[^\n]*$", "$1[depends on the temporary HOME's path]"),
    ]}, {
        insta::assert_snapshot!(run.stdout);
    });

    let report = env.json(&["context", "--json", "--show-prompt"]);
    let r = &report["report"];
    assert_eq!(r["budgetTokens"], 2048);
    assert!(r["totalTokens"].as_u64().unwrap() <= 2048, "{report:#}");
    let user = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "USER.md")
        .unwrap();
    assert_eq!(user["truncated"], true);
    let prompt = report["prompt"].as_str().unwrap();
    assert!(prompt.contains("characters cut to fit; read `USER.md` for the rest"));
    assert!(
        prompt.contains("The allotment is plot 14."),
        "MEMORY.md is in the main session"
    );
    assert!(
        !prompt.contains("SH-R55C4"),
        "daily notes are never in the prompt"
    );
    // A bigger share lets USER.md in whole.
    env.ok(&["config", "set", "agents.defaults.promptShare", "0.9"]);
    let report = env.json(&["context", "--json"]);
    let user = report["report"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "USER.md")
        .unwrap()
        .clone();
    assert_eq!(user["truncated"], false, "{report:#}");
}

#[test]
fn an_agent_turn_sends_the_budgeted_prompt_and_says_what_was_cut() {
    let server = TestServer::builder()
        .model(ModelSpec::new("tiny"))
        .start_blocking()
        .unwrap();
    let env = Env::new();
    env.write_config(&config(&format!("http://{}/v1", server.addr())));
    workspace(&env);
    let run = env.ok(&["agent", "-m", "hi"]);
    run.assert_stderr_contains("workspace files cut to fit the 2048-token prompt budget")
        .assert_stderr_contains("USER.md (");
    let sent = server
        .requests()
        .iter()
        .rfind(|r| r.path == "/v1/chat/completions")
        .and_then(|r| r.json())
        .unwrap();
    let system = sent["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("## AGENTS.md") && system.contains("## MEMORY.md"));
    assert!(
        system.contains("memory_search"),
        "the prompt says how to use memory"
    );
    let tools: Vec<&str> = sent["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tools,
        [
            "read",
            "write",
            "edit",
            "exec",
            "memory_search",
            "memory_get"
        ]
    );
}

#[test]
fn a_new_workspace_gets_templates_and_an_existing_one_is_left_alone() {
    let env = Env::new();
    env.write_config(&config("http://127.0.0.1:9/v1"));
    env.ok(&["context"]);
    let ws = env.state_dir().join("workspace");
    let mut names: Vec<String> = std::fs::read_dir(&ws)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "AGENTS.md",
            "BOOTSTRAP.md",
            "IDENTITY.md",
            "SOUL.md",
            "USER.md"
        ]
    );
    let report = env.json(&["context", "--json"]);
    let bootstrap = report["report"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "BOOTSTRAP.md")
        .unwrap()
        .clone();
    assert!(
        bootstrap["leftOut"].is_null(),
        "first run: BOOTSTRAP.md is in"
    );
    std::fs::write(ws.join("IDENTITY.md"), "- **Name:** Pip\n").unwrap();
    let report = env.json(&["context", "--json"]);
    let bootstrap = report["report"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "BOOTSTRAP.md")
        .unwrap()
        .clone();
    assert_eq!(bootstrap["leftOut"], "the first run is done");

    let existing = Env::new();
    existing.write_config(&config("http://127.0.0.1:9/v1"));
    let ws = existing.state_dir().join("workspace");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(ws.join("SOUL.md"), "mine").unwrap();
    existing.ok(&["context"]);
    assert_eq!(std::fs::read_dir(&ws).unwrap().count(), 1);
}

#[test]
fn memory_index_and_search_keyword_only() {
    let env = Env::new();
    workspace(&env);
    let run = env.ok(&["memory", "index"]);
    assert!(
        run.stdout
            .contains("indexed 3 memory files from ~/.openclaw/workspace: 3 changed, 0 removed"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("keyword search only"), "{}", run.stdout);
    let run = env.ok(&["memory", "search", "brake", "pads", "--json"]);
    insta::assert_snapshot!(run.stdout);
    let hits: Value = run.json();
    assert_eq!(hits["results"][0]["citation"], "memory/2026-03-01.md#L1-L4");

    let status = env.json(&["memory", "status", "--json"]);
    assert_eq!(status["status"]["files"], 3);
    assert!(status["embedding"].is_null());
    assert!(status["keywordOnlyReason"]
        .as_str()
        .unwrap()
        .contains("memory.search.model"));
    // Vector search without a model says what is missing.
    let run = env.run(&["memory", "search", "brakes", "--mode", "vector"]);
    run.assert_code(1)
        .assert_stderr_contains("vector search needs an embedding model");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let index = env.state_dir().join("memory/main.sqlite");
        let mode = std::fs::metadata(&index).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn doctor_says_memory_search_is_keyword_only_without_an_embedding_model() {
    let env = Env::new();
    let report = env.run(&["doctor", "--json"]).json();
    let memory = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "memory")
        .unwrap()
        .clone();
    assert_eq!(memory["status"], "info");
    assert!(memory["title"].as_str().unwrap().contains("keywords only"));
    assert!(memory["fix"]
        .as_str()
        .unwrap()
        .contains("memory.search.model"));
    // A model that cannot answer is a warning with the fix.
    env.write_config(
        r#"{ memory: { search: { model: "all-minilm:l6-v2", remote: { baseUrl: "http://127.0.0.1:9" } } } }"#,
    );
    let report = env.run(&["doctor", "--json"]).json();
    let memory = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "memory")
        .unwrap()
        .clone();
    assert_eq!(memory["status"], "warn", "{memory:#}");
    assert!(memory["fix"]
        .as_str()
        .unwrap()
        .contains("ollama pull all-minilm:l6-v2"));
}
