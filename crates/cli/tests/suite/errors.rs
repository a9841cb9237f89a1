//! What the user sees when things go wrong (the troubleshooting cases of the Ollama page): a plain account
//! of what failed and where, what to do next, a meaningful exit code, and never a panic.

use std::time::Duration;

use openclaw_test_support::{mixed_models, Behaviour, ModelSpec, TestServer};
use serde_json::json;

use super::support::{closed_port, keys, Env, Run};

/// A second provider that does not depend on Ollama.
const LMSTUDIO: &str = r#"{
  models: {
    providers: {
      lmstudio: {
        baseUrl: "http://127.0.0.1:1234/v1",
        apiKey: "lmstudio",
        models: [{ id: "qwen2.5-7b-instruct", contextWindow: 32768 }],
      },
    },
  },
}
"#;

#[track_caller]
fn assert_no_panic(run: &Run) {
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("RUST_BACKTRACE"),
        "`openclaw {}` panicked:\n{}",
        run.args.join(" "),
        run.stderr
    );
    assert!(run.code.is_some(), "killed by a signal: {run:?}");
}

/// "Connexion refusée" / "Ollama non détecté": the user is told what failed and what to run.
#[test]
fn ollama_down_says_what_to_do() {
    let port = closed_port();
    let env = Env::new()
        .api_key("ollama-local")
        .ollama_host(&format!("127.0.0.1:{port}"));
    for args in [vec!["models", "list"], vec!["models", "list", "--json"]] {
        let run = env.run(&args);
        assert_no_panic(&run);
        run.assert_code(1)
            .assert_stderr_contains("not reachable")
            .assert_stderr_contains("connection refused")
            .assert_stderr_contains("ollama serve")
            .assert_stderr_contains(&format!("curl http://127.0.0.1:{port}/api/tags"));
    }
    let list = env.run(&["models", "list", "--json"]).json();
    assert_eq!(list["count"], 0);
    assert_eq!(list["discovery"]["status"], "failed");
    assert!(list["discovery"]["error"]
        .as_str()
        .unwrap()
        .contains("connection refused"));
}

/// Commands still work for the other providers when Ollama is down.
#[test]
fn ollama_down_other_providers_still_listed() {
    let port = closed_port();
    let env = Env::new()
        .api_key("ollama-local")
        .ollama_host(&format!("127.0.0.1:{port}"));
    env.write_config(LMSTUDIO);
    let run = env.run(&["models", "list", "--json"]);
    run.assert_code(0)
        .assert_stderr_contains("not reachable")
        .assert_stderr_contains("ollama serve");
    let list = run.json();
    assert_eq!(keys(&list), ["lmstudio/qwen2.5-7b-instruct"]);
    assert_eq!(list["models"][0]["contextWindow"], 32768);
    assert_eq!(list["discovery"]["status"], "failed");

    let table = env.run(&["models", "list"]);
    table.assert_code(0);
    assert!(
        table.stdout.contains("lmstudio/qwen2.5-7b-instruct"),
        "{}",
        table.stdout
    );
}

/// "Aucun modèle disponible": installed models exist, none reports `tools`.
#[test]
fn only_models_without_tools_explains_the_filter() {
    let server = TestServer::builder()
        .model(ModelSpec::new("deepseek-r1:7b").capabilities(&["completion", "thinking"]))
        .model(ModelSpec::new("gemma3:4b").capabilities(&["completion", "vision"]))
        .model(ModelSpec::new("nomic-embed-text").capabilities(&["embedding"]))
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    let run = env.run(&["models", "list"]);
    assert_no_panic(&run);
    for needle in [
        "warning:",
        "deepseek-r1:7b",
        "gemma3:4b",
        "nomic-embed-text:latest",
        "tools",
        "models.providers.ollama",
        "--all",
    ] {
        run.assert_stderr_contains(needle);
    }
    let list = env.run(&["models", "list", "--json"]).json();
    assert_eq!(list["count"], 0);
    assert_eq!(list["discovery"]["installed"], 3);
    assert_eq!(list["warnings"].as_array().unwrap().len(), 1, "{list:#}");

    // The hint's way out works: declared explicitly, a model without `tools` is listed.
    env.write_config(
        r#"{ models: { providers: { ollama: { models: [{ id: "deepseek-r1:7b", reasoning: true }] } } } }"#,
    );
    let explicit = env.json(&["models", "list", "--json"]);
    assert_eq!(keys(&explicit), ["ollama/deepseek-r1:7b"]);
    assert_eq!(explicit["models"][0]["reasoning"], true);
}

/// One model's `/api/show` failing with HTTP 500 skips that model only, with its name.
#[test]
fn one_failing_show_skips_only_that_model() {
    let mut specs = mixed_models(6);
    specs.insert(
        2,
        ModelSpec::new("sick:3b").behaviour(Behaviour::Status(
            500,
            r#"{"error":"llama runner process has terminated"}"#.to_string(),
        )),
    );
    let server = TestServer::builder()
        .models(specs.clone())
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    let run = env.run(&["models", "list", "--json"]);
    run.assert_code(0)
        .assert_stderr_contains("sick:3b")
        .assert_stderr_contains("500");
    let list = run.json();
    let expected: Vec<String> = specs
        .iter()
        .filter(|s| s.name() != "sick:3b" && s.has_capability("tools"))
        .map(|s| format!("ollama/{}", s.listed_name()))
        .collect();
    assert_eq!(keys(&list), expected);
    let skipped = list["discovery"]["skipped"].as_array().unwrap();
    let sick = skipped.iter().find(|s| s["name"] == "sick:3b").unwrap();
    assert_eq!(sick["kind"], "show-failed");
    assert!(
        sick["reason"]
            .as_str()
            .unwrap()
            .contains("llama runner process has terminated"),
        "{sick}"
    );
}

/// `/api/tags` answering garbage, an error status, or nothing at all: a readable error each.
#[test]
fn broken_tags_replies_are_readable_errors() {
    let cases = [
        (Behaviour::Garbage, "/api/tags"),
        (
            Behaviour::Status(500, r#"{"error":"internal"}"#.to_string()),
            "HTTP 500",
        ),
        (
            Behaviour::Status(200, "<html>proxy login</html>".to_string()),
            "/api/tags",
        ),
        (Behaviour::Hang, "timed out"),
    ];
    for (behaviour, needle) in cases {
        let server = TestServer::builder()
            .model(ModelSpec::new("llama3.3"))
            .tags_behaviour(behaviour.clone())
            .start_blocking()
            .unwrap();
        let env = Env::new()
            .api_key("ollama-local")
            .ollama(&server)
            .discovery_timeout(0.5);
        let run = env.run(&["models", "list"]);
        assert_no_panic(&run);
        assert_eq!(run.code, Some(1), "{behaviour:?}: {run:?}");
        assert!(run.stderr.contains(needle), "{behaviour:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(&server.url()),
            "{behaviour:?}: {}",
            run.stderr
        );
        assert!(
            run.elapsed < Duration::from_secs(5),
            "{behaviour:?}: {:?}",
            run.elapsed
        );
    }
}

/// A config that is not JSON5 stops every command that reads it, with `file:line:column`, and
/// an edit never "repairs" it by overwriting.
#[test]
fn invalid_json5_is_reported_with_line_and_column() {
    let env = Env::new().api_key("ollama-local");
    let broken = "{\n  gateway: {\n    port: 19001,,\n  },\n}\n";
    env.write_config(broken);
    for args in [
        vec!["models", "list"],
        vec!["models", "status", "--json"],
        vec!["config", "get", "gateway.port"],
        vec!["config", "set", "gateway.port", "1"],
        vec!["config", "validate"],
        vec!["models", "set", "ollama/llama3.3"],
    ] {
        let run = env.run(&args);
        assert_no_panic(&run);
        assert_eq!(run.code, Some(1), "{args:?}: {run:?}");
        assert!(
            run.stderr.contains("openclaw.json:3:"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("JSON5"), "{args:?}: {}", run.stderr);
        assert_eq!(env.read_config(), broken, "{args:?} touched the file");
    }
    assert!(!env.backup_path().exists());
}

/// `models set llama3.3` (no provider) is refused with the form to use.
#[test]
fn a_model_ref_without_provider_gets_a_hint() {
    let env = Env::new();
    for args in [
        vec!["models", "set", "llama3.3"],
        vec!["models", "fallbacks", "add", "llama3.3"],
        vec!["models", "set", "ollama/"],
    ] {
        let run = env.run(&args);
        assert_no_panic(&run);
        run.assert_code(1)
            .assert_stderr_contains("provider/model")
            .assert_stderr_contains("ollama/llama3.3");
        assert!(!env.config_path().exists(), "{args:?} wrote a config");
    }
}

/// A broken auth-profiles file is reported but does not block commands that can do without it.
#[test]
fn broken_auth_profiles_warn_but_do_not_block() {
    let server = TestServer::builder()
        .models(mixed_models(2))
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    env.write_auth_profiles("{ not json");
    let run = env.run(&["models", "list", "--json"]);
    assert_no_panic(&run);
    run.assert_code(0)
        .assert_stderr_contains("auth-profiles.json");
    assert_eq!(run.json()["discovery"]["status"], "ran");
}

/// Odd environment values are read leniently, never with a panic.
#[test]
fn odd_environment_values_do_not_panic() {
    let server = TestServer::builder()
        .models(mixed_models(2))
        .start_blocking()
        .unwrap();
    for (name, value) in [
        ("OPENCLAW_DISCOVERY_TIMEOUT", "abc"),
        ("OPENCLAW_DISCOVERY_TIMEOUT", "-1"),
        ("OPENCLAW_DISCOVERY_TIMEOUT", "NaN"),
        ("OPENCLAW_DISCOVERY_TIMEOUT", "1e400"),
    ] {
        let env = Env::new().api_key("k").ollama(&server).var(name, value);
        let run = env.run(&["models", "list", "--json"]);
        assert_no_panic(&run);
        run.assert_code(0);
        assert_eq!(run.json()["discovery"]["status"], "ran", "{name}={value}");
    }
    // Only values that cannot reach anything: a fallback to the default port could find a
    // real Ollama on the developer's machine.
    for host in ["::::", "http://bad host:1", "[]:x"] {
        let env = Env::new()
            .api_key("k")
            .ollama_host(host)
            .discovery_timeout(1.0);
        let run = env.run(&["models", "list", "--json"]);
        assert_no_panic(&run);
        let list = run.json();
        assert_eq!(list["models"], json!([]), "OLLAMA_HOST={host}");
    }
}
