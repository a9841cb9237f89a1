//! `openclaw onboard`: the first run driven through its questions on a real terminal, the
//! `--non-interactive` form for scripts, and what happens when Ollama is not there or has no
//! model the agent can use.

use std::time::Duration;

use openclaw_test_support::{ModelSpec, PullScript, TestServer};
use serde_json::{json, Value};

use super::support::{closed_port, row, tags, Env};

/// Three tools-capable models and one without tools, listed second so that the numbering
/// must skip it: 1) llama3.3  2) qwen3:8b  3) mistral:7b.
fn server() -> TestServer {
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
        .model(ModelSpec::new("mistral:7b").size(4_372_824_384))
        .start_blocking()
        .unwrap()
}

const USER_CONFIG: &str =
    "// my own settings\n{\n  gateway: { port: 19001 }, // keep this port\n}\n";

fn auth_profiles(env: &Env) -> Value {
    let path = env.state_dir().join("agents/main/agent/auth-profiles.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[track_caller]
fn assert_choice(env: &Env, primary: &str, fallbacks: &[&str]) {
    let config = env.config_value();
    assert_eq!(
        config["agents"]["defaults"]["model"],
        json!({ "primary": primary, "fallbacks": fallbacks }),
        "{}",
        env.read_config()
    );
}

/// The seed's opt-in, written the seed's way, and no key in openclaw.json.
#[track_caller]
fn assert_opted_in(env: &Env) {
    assert_eq!(
        auth_profiles(env)["profiles"]["ollama:default"],
        json!({ "type": "api_key", "provider": "ollama", "key": "ollama-local" })
    );
    assert!(
        !env.read_config().contains("apiKey"),
        "{}",
        env.read_config()
    );
}

#[test]
fn a_terminal_session_picks_the_second_model_and_the_third_as_fallback() {
    let server = server();
    let env = Env::new().ollama(&server);
    env.write_config(USER_CONFIG);
    let mut command = env.std_command(&["onboard"]);
    command.env("TERM", "xterm-256color");
    let mut term = rexpect::session::spawn_command(command, Some(30_000)).unwrap();

    let screen = term.exp_string("Default model").unwrap();
    assert!(
        screen.contains(&format!(
            "Looking for Ollama at {} (from OLLAMA_HOST)",
            server.url()
        )),
        "{screen}"
    );
    assert!(
        screen.contains("4 model(s) installed, 3 can use tools"),
        "{screen}"
    );
    for (n, name, size) in [
        (1, "llama3.3", "42.5 GB"),
        (2, "qwen3:8b", "5.2 GB"),
        (3, "mistral:7b", "4.4 GB"),
    ] {
        let line = screen
            .lines()
            .find(|l| l.contains(&format!("{n}) {name} ")))
            .unwrap_or_else(|| panic!("no line for #{n} {name}:\n{screen}"));
        assert!(line.contains(size), "{line}");
    }
    assert!(screen.contains("40k context"), "{screen}");
    assert!(
        screen.contains("gemma4"),
        "left-out models are named: {screen}"
    );
    term.send_line("2").unwrap();
    term.exp_string("Fallbacks").unwrap();
    term.send_line("3").unwrap();
    let rest = term.exp_eof().unwrap();
    let status = term.process().wait().unwrap();
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "{status:?}\n{rest}"
    );
    assert!(rest.contains("agents.defaults.model.primary"), "{rest}");
    assert!(rest.contains("ollama:default"), "{rest}");
    assert!(rest.contains("openclaw doctor"), "{rest}");

    assert_choice(&env, "ollama/qwen3:8b", &["ollama/mistral:7b"]);
    assert_opted_in(&env);
    let text = env.read_config();
    assert!(text.starts_with("// my own settings\n"), "{text}");
    assert!(text.contains("// keep this port"), "{text}");

    // The auth profile alone now turns discovery on, and the choice is tagged.
    let list = env.json(&["models", "list", "--json"]);
    assert!(tags(row(&list, "ollama/qwen3:8b")).contains(&"default".to_string()));
    assert!(tags(row(&list, "ollama/mistral:7b")).contains(&"fallback#1".to_string()));
}

#[test]
fn enter_accepts_the_suggestions() {
    let server = server();
    let env = Env::new().ollama(&server);
    let output = env
        .command(&["onboard"])
        .write_stdin("\n\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_choice(&env, "ollama/llama3.3", &[]);
    assert_opted_in(&env);
}

#[test]
fn wrong_answers_are_asked_again() {
    let server = server();
    let env = Env::new().ollama(&server);
    let output = env
        .command(&["onboard"])
        .write_stdin("9\nmistral:7b\n3\n2,x\n2, 1\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("`9` is not on the list"), "{stderr}");
    assert!(stderr.contains("is the default already"), "{stderr}");
    assert!(stderr.contains("`x` is not on the list"), "{stderr}");
    assert_choice(
        &env,
        "ollama/mistral:7b",
        &["ollama/qwen3:8b", "ollama/llama3.3"],
    );
}

/// A flag answers its question; the other question is still asked.
#[test]
fn a_primary_flag_still_asks_for_fallbacks() {
    let server = server();
    let env = Env::new().ollama(&server);
    let output = env
        .command(&["onboard", "--primary", "qwen3:8b"])
        .write_stdin("1\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("Default model"), "{stderr}");
    assert_choice(&env, "ollama/qwen3:8b", &["ollama/llama3.3"]);
}

#[test]
fn stdin_closed_mid_way_writes_nothing() {
    let server = server();
    let env = Env::new().ollama(&server);
    let output = env
        .command(&["onboard"])
        .write_stdin("2\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--non-interactive"), "{stderr}");
    assert!(env.state_files().is_empty(), "{:?}", env.state_files());
}

#[test]
fn non_interactive_uses_the_flags_or_the_first_usable_model() {
    let server = server();
    let env = Env::new().ollama(&server);
    env.write_config(USER_CONFIG);
    let doc = env.json(&["onboard", "--non-interactive", "--json"]);
    assert_eq!(doc["primary"], "ollama/llama3.3");
    assert_eq!(doc["fallbacks"], json!([]));
    assert_eq!(doc["ollama"]["baseUrl"], server.url());
    assert_eq!(doc["ollama"]["installed"], 4);
    assert_eq!(
        doc["ollama"]["toolsCapable"],
        json!(["llama3.3:latest", "qwen3:8b", "mistral:7b"])
    );
    assert_eq!(doc["authProfileCreated"], true);
    assert_eq!(doc["doctor"]["ok"], true, "{doc:#}");
    assert_choice(&env, "ollama/llama3.3", &[]);
    assert_opted_in(&env);

    let doc = env.json(&[
        "onboard",
        "--non-interactive",
        "--json",
        "--primary",
        "ollama/mistral:7b",
        "--fallback",
        "qwen3:8b",
        "--fallback",
        "ollama/llama3.3:latest",
    ]);
    assert_eq!(doc["authProfileCreated"], false);
    assert_choice(
        &env,
        "ollama/mistral:7b",
        &["ollama/qwen3:8b", "ollama/llama3.3"],
    );
    assert!(env.read_config().contains("// keep this port"));

    // Human output: what was written, then the doctor's report.
    let run = env.ok(&["onboard", "--non-interactive", "--primary", "qwen3:8b"]);
    assert!(
        run.stdout.contains("agents.defaults.model.primary"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\"ollama/qwen3:8b\""), "{}", run.stdout);
    assert!(run.stdout.contains("openclaw doctor"), "{}", run.stdout);
}

#[test]
fn non_interactive_refuses_models_the_agent_cannot_use() {
    let server = server();
    let env = Env::new().ollama(&server);
    let run = env.run(&["onboard", "--non-interactive", "--primary", "gemma4"]);
    run.assert_code(1)
        .assert_stderr_contains("cannot use it")
        .assert_stderr_contains("tools")
        .assert_stderr_contains("ollama/qwen3:8b");
    let run = env.run(&["onboard", "--non-interactive", "--primary", "llama3.1:405b"]);
    run.assert_code(1)
        .assert_stderr_contains("not installed")
        .assert_stderr_contains("openclaw models pull llama3.1:405b");
    let run = env.run(&[
        "onboard",
        "--non-interactive",
        "--primary",
        "qwen3:8b",
        "--fallback",
        "ollama/qwen3:8b",
    ]);
    run.assert_code(1)
        .assert_stderr_contains("is the default model");
    assert!(env.state_files().is_empty(), "{:?}", env.state_files());
    // `--json` is for scripts only.
    env.run(&["onboard", "--json"]).assert_code(2);
}

#[test]
fn ollama_down_explains_and_writes_nothing() {
    let port = closed_port();
    let env = Env::new().ollama_host(&format!("127.0.0.1:{port}"));
    let run = env.run(&["onboard", "--non-interactive"]);
    run.assert_code(1)
        .assert_stderr_contains(&format!(
            "Looking for Ollama at http://127.0.0.1:{port} (from OLLAMA_HOST)"
        ))
        .assert_stderr_contains("not reachable")
        .assert_stderr_contains("ollama serve")
        .assert_stderr_contains(&format!("curl http://127.0.0.1:{port}/api/tags"));
    assert!(!run.stderr.contains("try again"));

    // Interactive: a retry is offered; quitting writes nothing.
    let output = env
        .command(&["onboard"])
        .write_stdin("\nq\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("Press Enter to try again").count(),
        2,
        "{stderr}"
    );
    assert_eq!(stderr.matches("not reachable").count(), 2, "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(env.state_files().is_empty(), "{:?}", env.state_files());
}

/// Typing where Ollama really listens at the retry question finds it, and the address is
/// saved for every later command.
#[test]
fn the_retry_question_takes_another_address() {
    let server = server();
    let env = Env::new().ollama_host(&format!("127.0.0.1:{}", closed_port()));
    let output = env
        .command(&["onboard"])
        .write_stdin(format!("{}\n2\n\n", server.url()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "Looking for Ollama at {} (as typed)",
            server.url()
        )),
        "{stderr}"
    );
    let config = env.config_value();
    assert_eq!(
        config["models"]["providers"]["ollama"]["baseUrl"],
        format!("{}/v1", server.url())
    );
    assert_eq!(
        config["agents"]["defaults"]["model"]["primary"],
        "ollama/qwen3:8b"
    );
    // OLLAMA_HOST still points nowhere; the saved baseUrl wins, as in discovery.
    let list = env.json(&["models", "list", "--json"]);
    assert_eq!(list["discovery"]["status"], "ran", "{list:#}");
}

#[test]
fn with_no_usable_model_a_pull_is_offered() {
    let server = TestServer::builder()
        .model(ModelSpec::new("gemma4").capabilities(&["completion", "vision"]))
        .pull_script(
            "llama3.3",
            PullScript::new().record_delay(Duration::from_millis(1)),
        )
        .start_blocking()
        .unwrap();
    let env = Env::new().ollama(&server);
    let run = env.run(&["onboard", "--non-interactive"]);
    run.assert_code(1)
        .assert_stderr_contains("`tools` capability")
        .assert_stderr_contains("openclaw models pull llama3.3");

    let output = env
        .command(&["onboard"])
        .write_stdin("no-such-model\n\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    // A name Ollama does not know is reported, and the question comes again.
    assert!(stderr.contains("no model `no-such-model`"), "{stderr}");
    assert_eq!(stderr.matches("Pull `llama3.3` now").count(), 2, "{stderr}");
    assert!(stderr.contains("pulling manifest"), "{stderr}");
    assert!(stderr.contains("Pulled `llama3.3`"), "{stderr}");
    assert_choice(&env, "ollama/llama3.3", &[]);
    assert_opted_in(&env);
}
