//! One snapshot of every command's human output, and of its `--json` output where it has one:
//! the command line, the exit code and both streams, so that any change to what a user sees
//! shows up in review. The situations are ordinary ones (Ollama up with the fixture models, a
//! small workspace); the edge cases are pinned by each command's own module.
//!
//! What varies between machines and runs is replaced before the comparison, by value where it
//! is known (the temporary HOME as `[HOME]`, the binary's path as `[OPENCLAW]`, the test
//! server's and the gateway's port as `[PORT]`, pids, the gateway token, session ids) and by
//! pattern where it is not (durations, timestamps, the index's size, today's date, the kernel's
//! Landlock version). The workspace lives in a directory whose name has a fixed length
//! (`[WORKSPACE]`): the agent's instructions name it, so its length is in every count of
//! characters and tokens of the system prompt.

use std::path::Path;

use openclaw_test_support::{fixture_models, ModelSpec, PullScript, TestServer};
use serde_json::Value;

use super::memory_cmd::{config as tiny_model_config, fill_workspace};
use super::support::{Env, Run};

/// Filters for what no replacement by value can know in advance.
fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    for (pattern, replacement) in [
        // The agent's "— model · session … · 0.1 s" line and `memory index`'s "(0.0 s)".
        (r"· \d+\.\d s\b", "· [SECS] s"),
        (r"\(\d+\.\d s\)", "([SECS] s)"),
        // `memory index --json` and `memory status --json`.
        (r#""elapsedMs": \d+"#, r#""elapsedMs": [MS]"#),
        (r#""syncedAtMs": \d+"#, r#""syncedAtMs": [TIMESTAMP]"#),
        // The SQLite file's size depends on when its journal was last folded in.
        (r#""bytes": \d+"#, r#""bytes": [BYTES]"#),
        (r"(?m)^(  size +)\d+ KiB$", "${1}[SIZE] KiB"),
        // The system prompt names today's daily-notes file.
        (
            r"day-to-day notes in memory/\d{4}-\d{2}-\d{2}\.md",
            "day-to-day notes in memory/[TODAY].md",
        ),
        // The kernel's Landlock version differs between machines (doctor's sandbox check).
        (r"Landlock ABI \d+", "Landlock ABI N"),
    ] {
        s.add_filter(pattern, replacement);
    }
    s
}

/// `insta::assert_snapshot!` under [`settings`].
macro_rules! snap {
    ($value:expr) => {
        settings().bind(|| insta::assert_snapshot!($value))
    };
    ($name:expr, $value:expr) => {
        settings().bind(|| insta::assert_snapshot!($name, $value))
    };
}

/// A run as a snapshot shows it, with `extra` replacements (value, placeholder) made before
/// those of the test server's address and the machine's paths.
fn shown(env: &Env, run: &Run, extra: &[(&str, &str)]) -> String {
    let mut text = format!(
        "$ openclaw {}\nexit code: {}\n--- stdout\n{}--- stderr\n{}",
        run.args.join(" "),
        run.code.map_or("killed".to_string(), |c| c.to_string()),
        run.stdout,
        run.stderr
    );
    for (value, placeholder) in extra {
        assert!(!value.is_empty());
        text = text.replace(value, placeholder);
    }
    if let Some(host) = env.var_value("OLLAMA_HOST") {
        let (ip, _port) = host.rsplit_once(':').unwrap();
        text = text.replace(host, &format!("{ip}:[PORT]"));
    }
    let binary = assert_cmd::cargo::cargo_bin("openclaw");
    text = text.replace(&binary.display().to_string(), "[OPENCLAW]");
    for home in [env.home().to_path_buf(), env.home().canonicalize().unwrap()] {
        text = text.replace(&home.display().to_string(), "[HOME]");
    }
    assert!(
        !text.contains(&std::env::temp_dir().display().to_string()),
        "a temporary path is left in:\n{text}"
    );
    text
}

/// Runs `openclaw ARGS…`, checks its exit code, and returns it as a snapshot shows it.
#[track_caller]
fn run_shown(env: &Env, args: &[&str], code: i32) -> String {
    let run = env.run(args);
    run.assert_code(code);
    shown(env, &run, &[])
}

/// Like [`run_shown`] for a `--json` command: stdout must also be one JSON document.
#[track_caller]
fn json_shown(env: &Env, args: &[&str], code: i32) -> String {
    let run = env.run(args);
    run.assert_code(code);
    run.json();
    shown(env, &run, &[])
}

/// The fixture models on a test server, discovery enabled, and a config naming a default, a
/// fallback and an alias.
fn fixture_env() -> (TestServer, Env) {
    let server = TestServer::builder()
        .models(fixture_models())
        .ps_context_length(131_072)
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    env.write_config(
        r#"{
  agents: {
    defaults: {
      model: { primary: "ollama/llama3.3", fallbacks: ["ollama/qwen3:8b"] },
      models: { "ollama/qwen3:8b": { alias: "thinker" } },
    },
  },
}
"#,
    );
    (server, env)
}

/// A directory with a name of fixed length (`/tmp/openclaw-snap-XXXXXX`), for a workspace:
/// the agent's instructions name the workspace's absolute path, so its length is in the
/// character and token counts of `openclaw context`.
fn fixed_length_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("openclaw-snap-")
        .rand_bytes(6)
        .tempdir_in("/tmp")
        .unwrap()
}

// --- help -------------------------------------------------------------------------------------

#[test]
fn help_of_every_top_level_command() {
    let env = Env::new();
    snap!("help", run_shown(&env, &["--help"], 0));
    for command in [
        "config",
        "models",
        "agent",
        "doctor",
        "onboard",
        "completions",
        "chat",
        "gateway",
        "memory",
        "context",
    ] {
        snap!(
            format!("help_{command}"),
            run_shown(&env, &[command, "--help"], 0)
        );
    }
}

// --- models list / status -----------------------------------------------------------------------

#[test]
fn models_list_human() {
    let (_server, env) = fixture_env();
    snap!(run_shown(&env, &["models", "list"], 0));
}

#[test]
fn models_list_plain() {
    let (_server, env) = fixture_env();
    snap!(run_shown(&env, &["models", "list", "--plain"], 0));
}

#[test]
fn models_list_all_human() {
    let (_server, env) = fixture_env();
    snap!(run_shown(&env, &["models", "list", "--all"], 0));
}

#[test]
fn models_list_all_json() {
    let (_server, env) = fixture_env();
    snap!(json_shown(&env, &["models", "list", "--all", "--json"], 0));
}

#[test]
fn models_status_human() {
    let (_server, env) = fixture_env();
    snap!(run_shown(&env, &["models", "status"], 0));
}

#[test]
fn models_status_plain() {
    let (_server, env) = fixture_env();
    snap!(run_shown(&env, &["models", "status", "--plain"], 0));
}

#[test]
fn models_status_json() {
    let (_server, env) = fixture_env();
    snap!(json_shown(&env, &["models", "status", "--json"], 0));
}

// --- models set / fallbacks / pull --------------------------------------------------------------

#[test]
fn models_set_in_the_catalog_and_by_alias() {
    let (_server, env) = fixture_env();
    snap!(
        "models_set",
        run_shown(&env, &["models", "set", "ollama/llama3.2"], 0)
    );
    snap!(
        "models_set_alias",
        run_shown(&env, &["models", "set", "thinker"], 0)
    );
    assert_eq!(
        env.config_value()["agents"]["defaults"]["model"]["primary"],
        "ollama/qwen3:8b"
    );
}

#[test]
fn models_set_outside_the_catalog_warns() {
    let (_server, env) = fixture_env();
    snap!(run_shown(&env, &["models", "set", "ollama/mistral"], 0));
}

#[test]
fn models_fallbacks_list_human() {
    let (_server, env) = fixture_env();
    env.ok(&["models", "fallbacks", "add", "ollama/llama3.2"]);
    snap!(run_shown(&env, &["models", "fallbacks", "list"], 0));
}

#[test]
fn models_fallbacks_list_json() {
    let (_server, env) = fixture_env();
    env.ok(&["models", "fallbacks", "add", "ollama/llama3.2"]);
    snap!(json_shown(
        &env,
        &["models", "fallbacks", "list", "--json"],
        0
    ));
}

#[test]
fn models_fallbacks_list_empty() {
    let env = Env::new();
    snap!(
        "models_fallbacks_list_empty",
        run_shown(&env, &["models", "fallbacks", "list"], 0)
    );
    snap!(
        "models_fallbacks_list_empty_json",
        json_shown(&env, &["models", "fallbacks", "list", "--json"], 0)
    );
}

#[test]
fn models_fallbacks_add_remove_clear() {
    let (_server, env) = fixture_env();
    snap!(
        "models_fallbacks_add",
        run_shown(&env, &["models", "fallbacks", "add", "ollama/llama3.2"], 0)
    );
    snap!(
        "models_fallbacks_add_again",
        run_shown(&env, &["models", "fallbacks", "add", "ollama/llama3.2"], 0)
    );
    snap!(
        "models_fallbacks_remove",
        run_shown(
            &env,
            &["models", "fallbacks", "remove", "ollama/qwen3:8b"],
            0
        )
    );
    snap!(
        "models_fallbacks_remove_missing",
        run_shown(
            &env,
            &["models", "fallbacks", "remove", "ollama/qwen3:8b"],
            1
        )
    );
    snap!(
        "models_fallbacks_clear",
        run_shown(&env, &["models", "fallbacks", "clear"], 0)
    );
    assert_eq!(
        env.config_value()["agents"]["defaults"]["model"],
        serde_json::json!({"primary": "ollama/llama3.3"})
    );
}

#[test]
fn models_pull() {
    let server = TestServer::builder()
        .pull_script(
            "qwen3:8b",
            PullScript::new().model(
                ModelSpec::new("qwen3:8b")
                    .architecture("qwen3")
                    .capabilities(&["completion", "tools", "thinking"])
                    .size(5_225_376_047),
            ),
        )
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    snap!(run_shown(&env, &["models", "pull", "qwen3:8b"], 0));
}

// --- config ---------------------------------------------------------------------------------

const CONFIG: &str = r#"// my settings
{
  gateway: { port: 19001 }, // keep
  models: {
    providers: {
      ollama: { apiKey: "ollama-local", baseUrl: "http://gpu-box:11434" },
    },
  },
  agents: { defaults: { model: "ollama/llama3.3" } },
}
"#;

#[test]
fn config_get_human() {
    let env = Env::new();
    env.write_config(CONFIG);
    snap!(
        "config_get_string",
        run_shown(&env, &["config", "get", "agents.defaults.model"], 0)
    );
    snap!(
        "config_get_object",
        run_shown(&env, &["config", "get", "models.providers.ollama"], 0)
    );
    snap!(
        "config_get_missing",
        run_shown(&env, &["config", "get", "gateway.bind"], 1)
    );
}

#[test]
fn config_get_json() {
    let env = Env::new();
    env.write_config(CONFIG);
    snap!(
        "config_get_json_string",
        json_shown(
            &env,
            &["config", "get", "agents.defaults.model", "--json"],
            0
        )
    );
    snap!(
        "config_get_json_object",
        json_shown(&env, &["config", "get", "models", "--json"], 0)
    );
}

#[test]
fn config_set_and_unset() {
    let env = Env::new();
    env.write_config(CONFIG);
    snap!(
        "config_set_number",
        run_shown(&env, &["config", "set", "gateway.port", "19002"], 0)
    );
    snap!(
        "config_set_secret",
        run_shown(
            &env,
            &[
                "config",
                "set",
                "models.providers.ollama.apiKey",
                "another-key"
            ],
            0
        )
    );
    snap!(
        "config_set_invalid",
        run_shown(&env, &["config", "set", "gateway.port", "\"x\""], 1)
    );
    snap!(
        "config_unset",
        run_shown(&env, &["config", "unset", "gateway.port"], 0)
    );
    snap!(
        "config_unset_missing",
        run_shown(&env, &["config", "unset", "gateway.port"], 1)
    );
    snap!("config_after_set_and_unset", env.read_config());
}

#[test]
fn config_file() {
    let env = Env::new();
    snap!("config_file", run_shown(&env, &["config", "file"], 0));
    let moved = Env::new().var("OPENCLAW_STATE_DIR", "/srv/openclaw-state");
    snap!(
        "config_file_state_dir",
        run_shown(&moved, &["config", "file"], 0)
    );
}

const INVALID_CONFIG: &str = "{\n  gateway: {\n    port: \"x\",\n  },\n  modles: {},\n}\n";

#[test]
fn config_validate_human() {
    let env = Env::new();
    env.write_config(CONFIG);
    snap!(
        "config_validate_valid",
        run_shown(&env, &["config", "validate"], 0)
    );
    env.write_config(INVALID_CONFIG);
    snap!(
        "config_validate_invalid",
        run_shown(&env, &["config", "validate"], 1)
    );
}

#[test]
fn config_validate_json() {
    let env = Env::new();
    env.write_config(CONFIG);
    snap!(
        "config_validate_json_valid",
        json_shown(&env, &["config", "validate", "--json"], 0)
    );
    env.write_config(INVALID_CONFIG);
    snap!(
        "config_validate_json_invalid",
        json_shown(&env, &["config", "validate", "--json"], 1)
    );
}

// --- agent / chat ---------------------------------------------------------------------------

/// One model that answers "Hello from llama3.3:latest", and a workspace of fixed length: the
/// test server counts the prompt's characters for `usage.promptTokens`.
fn agent_env() -> (TestServer, tempfile::TempDir, Env) {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .start_blocking()
        .unwrap();
    let ws = fixed_length_dir();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    env.write_config(&format!(
        r#"{{ agents: {{ defaults: {{ model: "ollama/llama3.3", workspace: "{}" }} }} }}"#,
        ws.path().display()
    ));
    (server, ws, env)
}

/// The ids of the sessions written so far.
fn session_ids(env: &Env) -> Vec<String> {
    let dir = env.state_dir().join("agents/main/sessions");
    let mut ids: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".jsonl").unwrap().to_string()
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn agent_human() {
    let (_server, ws, env) = agent_env();
    let run = env.run(&["agent", "--message", "hello", "--session-id", "snapshot-1"]);
    run.assert_code(0);
    snap!(shown_with_workspace(&env, &run, ws.path()));
}

#[test]
fn agent_json() {
    let (_server, ws, env) = agent_env();
    let run = env.run(&[
        "agent",
        "-m",
        "hello",
        "--session-id",
        "snapshot-1",
        "--json",
    ]);
    run.assert_code(0);
    assert_eq!(run.json()["sessionId"], "snapshot-1");
    snap!(shown_with_workspace(&env, &run, ws.path()));
}

#[test]
fn chat_one_message_then_quit() {
    use std::io::Write;
    let (_server, ws, env) = agent_env();
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
        .write_all(b"hello\n/help\n/quit\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let run = Run {
        args: vec!["chat".into()],
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: std::time::Duration::ZERO,
    };
    run.assert_code(0);
    let ids = session_ids(&env);
    assert_eq!(ids.len(), 1, "{ids:?}");
    snap!(shown(
        &env,
        &run,
        &[
            (&ids[0], "[SESSION]"),
            (&ws.path().display().to_string(), "[WORKSPACE]")
        ]
    ));
}

// --- doctor / onboard -------------------------------------------------------------------------

fn healthy_env() -> (TestServer, Env) {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3").context_length(4096))
        .ps_context_length(4096)
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    env.write_config(r#"{ agents: { defaults: { model: "ollama/llama3.3" } } }"#);
    (server, env)
}

#[test]
fn doctor_human_all_good() {
    let (_server, env) = healthy_env();
    snap!(run_shown(&env, &["doctor"], 0));
}

/// The titles of `config` and `state-dir` carry colour escape codes (`\u001b[36m`) in the JSON
/// even without a terminal and with `NO_COLOR=1`; the snapshot shows what is printed today.
#[test]
fn doctor_json_all_good() {
    let (_server, env) = healthy_env();
    snap!(json_shown(&env, &["doctor", "--json"], 0));
}

#[test]
fn doctor_json_with_problems() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    env.write_config(r#"{ agents: { defaults: { model: { primary: "ollama/qwen3:8b", fallbacks: ["ollama/llama3.3", "ollama/mistral"] } } } }"#);
    snap!(json_shown(&env, &["doctor", "--json"], 1));
}

fn onboard_server() -> TestServer {
    TestServer::builder()
        .model(ModelSpec::new("llama3.3").size(42_520_413_916))
        .model(
            ModelSpec::new("gemma4")
                .architecture("gemma4")
                .capabilities(&["completion", "vision"]),
        )
        .model(
            ModelSpec::new("qwen3:8b")
                .architecture("qwen3")
                .capabilities(&["completion", "tools", "thinking"])
                .size(5_225_376_047)
                .context_length(40_960),
        )
        .start_blocking()
        .unwrap()
}

#[test]
fn onboard_non_interactive_human() {
    let server = onboard_server();
    let env = Env::new().ollama(&server);
    snap!(run_shown(
        &env,
        &[
            "onboard",
            "--non-interactive",
            "--primary",
            "qwen3:8b",
            "--fallback",
            "llama3.3"
        ],
        0
    ));
}

#[test]
fn onboard_non_interactive_json() {
    let server = onboard_server();
    let env = Env::new().ollama(&server);
    snap!(json_shown(
        &env,
        &["onboard", "--non-interactive", "--json"],
        0
    ));
}

// --- completions ----------------------------------------------------------------------------

#[test]
fn completions_bash_head() {
    let env = Env::new();
    let run = env.ok(&["completions", "bash"]);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    // The start of the script: the function and the dispatch on every command path. The rest
    // is clap_complete's, checked by `completions_cmd`.
    let head: String = run
        .stdout
        .lines()
        .take(60)
        .map(|l| format!("{l}\n"))
        .collect();
    snap!(head);
}

// --- context / memory -----------------------------------------------------------------------

/// An 8K model that cannot be reached (context and memory need none) and the memory tests'
/// workspace, in a directory of fixed length so that the counts are the same everywhere.
fn workspace_env() -> (tempfile::TempDir, Env) {
    let ws = fixed_length_dir();
    fill_workspace(ws.path());
    let env = Env::new();
    env.write_config(&tiny_model_config("http://127.0.0.1:9/v1"));
    env.ok(&[
        "config",
        "set",
        "agents.defaults.workspace",
        &ws.path().display().to_string(),
    ]);
    (ws, env)
}

fn shown_with_workspace(env: &Env, run: &Run, ws: &Path) -> String {
    shown(env, run, &[(&ws.display().to_string(), "[WORKSPACE]")])
}

#[test]
fn context_human() {
    let (ws, env) = workspace_env();
    let run = env.ok(&["context"]);
    snap!(shown_with_workspace(&env, &run, ws.path()));
}

#[test]
fn context_show_prompt_human() {
    let (ws, env) = workspace_env();
    let run = env.ok(&["context", "--show-prompt"]);
    snap!(shown_with_workspace(&env, &run, ws.path()));
}

#[test]
fn context_json() {
    let (ws, env) = workspace_env();
    let run = env.ok(&["context", "--json"]);
    run.json();
    snap!(shown_with_workspace(&env, &run, ws.path()));
}

#[test]
fn memory_status_human_and_json() {
    let (ws, env) = workspace_env();
    let run = env.ok(&["memory", "status"]);
    snap!(
        "memory_status_before_index",
        shown_with_workspace(&env, &run, ws.path())
    );
    env.ok(&["memory", "index"]);
    let run = env.ok(&["memory", "status"]);
    snap!("memory_status", shown_with_workspace(&env, &run, ws.path()));
    let run = env.ok(&["memory", "status", "--json"]);
    assert!(run.json()["status"]["bytes"].as_u64().unwrap() > 0);
    snap!(
        "memory_status_json",
        shown_with_workspace(&env, &run, ws.path())
    );
}

#[test]
fn memory_index_human() {
    let (ws, env) = workspace_env();
    let run = env.ok(&["memory", "index"]);
    snap!("memory_index", shown_with_workspace(&env, &run, ws.path()));
    let run = env.ok(&["memory", "index"]);
    snap!(
        "memory_index_unchanged",
        shown_with_workspace(&env, &run, ws.path())
    );
}

#[test]
fn memory_index_json() {
    let (ws, env) = workspace_env();
    let run = env.ok(&["memory", "index", "--json"]);
    run.json();
    snap!(shown_with_workspace(&env, &run, ws.path()));
}

#[test]
fn memory_search_human() {
    let (ws, env) = workspace_env();
    env.ok(&["memory", "index"]);
    let run = env.ok(&["memory", "search", "brake", "pads"]);
    snap!(shown_with_workspace(&env, &run, ws.path()));
}

// --- gateway --------------------------------------------------------------------------------

#[test]
fn gateway_status_and_stop_with_nothing_running() {
    let env = Env::new();
    snap!(
        "gateway_status_not_running",
        run_shown(&env, &["gateway", "status"], 3)
    );
    snap!(
        "gateway_status_not_running_json",
        json_shown(&env, &["gateway", "status", "--json"], 3)
    );
    snap!(
        "gateway_stop_not_running",
        run_shown(&env, &["gateway", "stop"], 0)
    );
}

#[test]
fn gateway_status_and_stop_while_running() {
    let env = Env::new();
    let mut gw = env.spawn_gateway(&["gateway", "--port", "0"]);
    let port = gw.port().to_string();
    let pid = gw.pid().to_string();
    let token = std::fs::read_to_string(env.state_dir().join("gateway/token")).unwrap();
    let token = token.trim();
    let extra = [
        (token, "[TOKEN]"),
        (&format!("pid {pid}") as &str, "pid [PID]"),
        (&format!("\"pid\": {pid},") as &str, "\"pid\": [PID],"),
        (&format!(":{port}") as &str, ":[PORT]"),
        (&format!("port {port}") as &str, "port [PORT]"),
        (&format!("\"port\": {port},") as &str, "\"port\": [PORT],"),
    ];
    let run = env.run(&["gateway", "status"]);
    run.assert_code(0);
    snap!("gateway_status_running", shown(&env, &run, &extra));
    let run = env.run(&["gateway", "status", "--json"]);
    run.assert_code(0);
    let status: Value = run.json();
    assert_eq!(status["pid"], gw.pid());
    snap!("gateway_status_running_json", shown(&env, &run, &extra));
    let run = env.run(&["gateway", "stop"]);
    run.assert_code(0);
    snap!("gateway_stop_running", shown(&env, &run, &extra));
    assert!(gw.wait_exit().success());
}

#[test]
fn gateway_install_print() {
    let env = Env::new()
        .api_key("ollama-local")
        .var("LAN_KEY", "lan-secret-key");
    env.write_config(
        r#"{ models: { providers: { lan: { baseUrl: "http://10.0.0.5:8080/v1", apiKey: "${LAN_KEY}", models: [{ id: "m" }] } } } }"#,
    );
    let run = env.ok(&["gateway", "install", "--print", "--port", "19001"]);
    assert!(
        !run.stdout.contains("lan-secret-key") && !run.stdout.contains("ollama-local"),
        "{}",
        run.stdout
    );
    snap!(shown(&env, &run, &[]));
    assert!(!env.home().join(".config/systemd").exists());
}
