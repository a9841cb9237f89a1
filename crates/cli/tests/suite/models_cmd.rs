//! `openclaw models set|status|fallbacks` and the help texts: the default model and fallbacks
//! are written into `agents.defaults.model` without disturbing the rest of the file.

use openclaw_test_support::{fixture_models, ModelSpec, TestServer};
use serde_json::{json, Value};

use super::support::{argv, closed_port, openclaw_commands, request_lines, Env};

const COMMENTED: &str = r#"// mine
{
  gateway: { port: 18789 }, // keep
  /* agents */
  agents: {
    defaults: {
      workspace: "~/work", // where files go
    },
  },
}
"#;

fn model_of(env: &Env) -> Value {
    env.config_value()["agents"]["defaults"]["model"].clone()
}

fn fixture_env() -> (TestServer, Env) {
    let server = TestServer::builder()
        .models(fixture_models())
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    (server, env)
}

#[test]
fn set_writes_the_primary_and_keeps_the_file() {
    let (_server, env) = fixture_env();
    env.write_config(COMMENTED);
    let run = env.ok(&["models", "set", "ollama/qwen3:8b"]);
    assert!(run.stdout.contains("ollama/qwen3:8b"), "{}", run.stdout);
    assert!(
        !run.stderr.contains("warning"),
        "in the catalog: {}",
        run.stderr
    );
    assert_eq!(model_of(&env), json!({"primary": "ollama/qwen3:8b"}));
    let text = env.read_config();
    for line in [
        "// mine",
        "  gateway: { port: 18789 }, // keep",
        "  /* agents */",
        "      workspace: \"~/work\", // where files go",
    ] {
        assert!(text.lines().any(|l| l == line), "lost {line:?}:\n{text}");
    }
    assert_eq!(
        std::fs::read_to_string(env.backup_path()).unwrap(),
        COMMENTED
    );

    // Again: the existing `primary` is replaced in place.
    env.ok(&["models", "set", "ollama/llama3.3"]);
    assert_eq!(model_of(&env), json!({"primary": "ollama/llama3.3"}));
    assert_eq!(env.read_config().matches("primary").count(), 1);
    let list = env.json(&["models", "list", "--json"]);
    let default_rows: Vec<&Value> = list["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["tags"].as_array().unwrap().contains(&json!("default")))
        .collect();
    assert_eq!(default_rows.len(), 1);
    assert_eq!(default_rows[0]["key"], "ollama/llama3.3:latest");
}

#[test]
fn set_converts_a_string_model_to_an_object() {
    let env = Env::new();
    env.write_config(
        "{\n  // short form\n  agents: { defaults: { model: \"ollama/llama3.3\" } },\n}\n",
    );
    env.ok(&["models", "set", "ollama/qwen2.5-coder:32b"]);
    assert_eq!(
        model_of(&env),
        json!({"primary": "ollama/qwen2.5-coder:32b"})
    );
    assert!(env.read_config().contains("// short form"));
    env.ok(&["config", "validate"]);
}

#[test]
fn set_outside_the_catalog_warns_but_saves() {
    let (_server, env) = fixture_env();
    let run = env.ok(&["models", "set", "ollama/not-installed:1b"]);
    run.assert_stderr_contains("not-installed:1b")
        .assert_stderr_contains("catalog");
    assert_eq!(
        model_of(&env),
        json!({"primary": "ollama/not-installed:1b"})
    );
    // Model names with slashes split at the first `/` only.
    env.ok(&["models", "set", "ollama/hf.co/org/repo:Q4_K_M"]);
    assert_eq!(
        model_of(&env),
        json!({"primary": "ollama/hf.co/org/repo:Q4_K_M"})
    );
    let status = env.json(&["models", "status", "--json"]);
    assert_eq!(status["defaultModel"], "ollama/hf.co/org/repo:Q4_K_M");
    assert_eq!(status["defaultInCatalog"], false);
}

/// `agents.defaults.models[ref].alias` names a model; `models set ALIAS` stores the ref.
#[test]
fn aliases_resolve_when_setting_models() {
    let (_server, env) = fixture_env();
    env.ok(&[
        "config",
        "set",
        "agents.defaults.models[\"ollama/qwen3:8b\"].alias",
        "thinker",
    ]);
    env.ok(&["models", "set", "thinker"]);
    assert_eq!(model_of(&env), json!({"primary": "ollama/qwen3:8b"}));
    let list = env.json(&["models", "list", "--json"]);
    let row = list["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == "ollama/qwen3:8b")
        .unwrap();
    let tags: Vec<&str> = row["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        tags.contains(&"default") && tags.contains(&"alias:thinker"),
        "{tags:?}"
    );
    assert_eq!(
        env.json(&["models", "status", "--json"])["aliases"],
        json!({"thinker": "ollama/qwen3:8b"})
    );
}

#[test]
fn fallbacks_add_remove_clear_and_list() {
    let env = Env::new();
    let list =
        |env: &Env| env.json(&["models", "fallbacks", "list", "--json"])["fallbacks"].clone();
    assert_eq!(list(&env), json!([]));
    let empty = env.ok(&["models", "fallbacks", "list"]);
    assert!(!empty.stdout.contains("ollama/"), "{}", empty.stdout);

    env.ok(&["models", "fallbacks", "add", "ollama/qwen3:8b"]);
    env.ok(&["models", "fallbacks", "add", "ollama/llama3.2"]);
    assert_eq!(
        model_of(&env),
        json!({"fallbacks": ["ollama/qwen3:8b", "ollama/llama3.2"]})
    );
    assert_eq!(list(&env), json!(["ollama/qwen3:8b", "ollama/llama3.2"]));
    let human = env.ok(&["models", "fallbacks", "list"]);
    let first = human.stdout.find("ollama/qwen3:8b").unwrap();
    let second = human.stdout.find("ollama/llama3.2").unwrap();
    assert!(first < second, "order kept: {}", human.stdout);

    // Adding one twice changes nothing.
    let before = env.read_config();
    env.ok(&["models", "fallbacks", "add", "ollama/qwen3:8b"]);
    assert_eq!(env.read_config(), before);

    env.ok(&["models", "fallbacks", "remove", "ollama/qwen3:8b"]);
    assert_eq!(list(&env), json!(["ollama/llama3.2"]));
    let missing = env.run(&["models", "fallbacks", "remove", "ollama/qwen3:8b"]);
    missing
        .assert_code(1)
        .assert_stderr_contains("ollama/qwen3:8b");
    assert_eq!(list(&env), json!(["ollama/llama3.2"]));

    env.ok(&["models", "fallbacks", "clear"]);
    assert_eq!(list(&env), json!([]));
    assert!(
        model_of(&env).get("fallbacks").is_none(),
        "{}",
        env.read_config()
    );

    // A string `model` becomes `{primary, fallbacks}`.
    env.ok(&["config", "set", "agents.defaults.model", "ollama/llama3.3"]);
    env.ok(&["models", "fallbacks", "add", "ollama/qwen3:8b"]);
    assert_eq!(
        model_of(&env),
        json!({"primary": "ollama/llama3.3", "fallbacks": ["ollama/qwen3:8b"]})
    );
}

/// The seed spells it `fallback`; edits go to that key rather than adding a second list.
#[test]
fn fallbacks_edit_the_seed_spelling_in_place() {
    let env = Env::new();
    env.write_config(
        r#"{
  agents: {
    defaults: {
      model: {
        primary: "ollama/llama3.3",
        fallback: ["ollama/qwen2.5-coder:32b"]
      }
    }
  }
}
"#,
    );
    env.ok(&["models", "fallbacks", "add", "ollama/qwen3:8b"]);
    assert_eq!(
        model_of(&env),
        json!({
            "primary": "ollama/llama3.3",
            "fallback": ["ollama/qwen2.5-coder:32b", "ollama/qwen3:8b"]
        })
    );
    assert_eq!(
        env.json(&["models", "fallbacks", "list", "--json"])["fallbacks"],
        json!(["ollama/qwen2.5-coder:32b", "ollama/qwen3:8b"])
    );
    env.ok(&["models", "fallbacks", "remove", "ollama/qwen2.5-coder:32b"]);
    assert_eq!(
        model_of(&env),
        json!({"primary": "ollama/llama3.3", "fallback": ["ollama/qwen3:8b"]})
    );
    env.ok(&["models", "fallbacks", "clear"]);
    assert_eq!(model_of(&env), json!({"primary": "ollama/llama3.3"}));

    // `fallback` may also be a single string.
    env.ok(&[
        "config",
        "set",
        "agents.defaults.model.fallback",
        "ollama/a:1",
    ]);
    assert_eq!(
        env.json(&["models", "fallbacks", "list", "--json"])["fallbacks"],
        json!(["ollama/a:1"])
    );
    env.ok(&["models", "fallbacks", "add", "ollama/b:2"]);
    assert_eq!(
        model_of(&env)["fallback"],
        json!(["ollama/a:1", "ollama/b:2"])
    );
}

#[test]
fn status_json_with_ollama_up() {
    let (server, env) = fixture_env();
    env.write_config(
        r#"{ agents: { defaults: { model: { primary: "ollama/llama3.3", fallbacks: ["ollama/qwen3:8b"] } } } }"#,
    );
    let status = env.json(&["models", "status", "--json"]);
    assert_eq!(status["defaultModel"], "ollama/llama3.3");
    assert_eq!(status["defaultInCatalog"], true);
    assert_eq!(status["fallbacks"], json!(["ollama/qwen3:8b"]));
    assert_eq!(status["configExists"], true);
    assert_eq!(
        status["configPath"],
        env.config_path().display().to_string()
    );
    assert_eq!(status["discovery"]["status"], "ran");
    assert_eq!(status["discovery"]["installed"], fixture_models().len());
    let tools = fixture_models()
        .iter()
        .filter(|m| m.has_capability("tools"))
        .count();
    assert_eq!(status["catalogSize"], tools);
    let providers = status["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 1, "{status:#}");
    let ollama = &providers[0];
    assert_eq!(ollama["id"], "ollama");
    assert_eq!(ollama["source"], "discovered");
    assert_eq!(ollama["reachable"], true);
    assert_eq!(ollama["models"], tools);
    assert_eq!(ollama["baseUrl"], format!("{}/v1", server.url()));
    assert_eq!(ollama["auth"]["present"], true);
    // The key itself is never printed.
    let raw = env.ok(&["models", "status", "--json"]).stdout;
    assert!(!raw.contains("ollama-local"), "{raw}");

    let human = env.ok(&["models", "status"]);
    for needle in ["ollama/llama3.3", "ollama/qwen3:8b", "reachable"] {
        assert!(human.stdout.contains(needle), "{needle}:\n{}", human.stdout);
    }
}

#[test]
fn status_json_with_ollama_down() {
    let port = closed_port();
    let env = Env::new()
        .api_key("ollama-local")
        .ollama_host(&format!("127.0.0.1:{port}"));
    env.write_config(r#"{ agents: { defaults: { model: "ollama/llama3.3" } } }"#);
    let run = env.run(&["models", "status", "--json"]);
    let status = run.json();
    assert_eq!(status["defaultModel"], "ollama/llama3.3");
    assert_eq!(status["defaultInCatalog"], false);
    assert_eq!(status["fallbacks"], json!([]));
    assert_eq!(status["discovery"]["status"], "failed");
    let ollama = &status["providers"][0];
    assert_eq!(ollama["id"], "ollama");
    assert_eq!(ollama["reachable"], false);
    let error = ollama["error"].as_str().unwrap();
    assert!(error.contains("connection refused"), "{error}");
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert_eq!(status["catalogSize"], 0);

    let human = env.run(&["models", "status"]);
    assert!(human.stdout.contains("unreachable"), "{}", human.stdout);
}

#[test]
fn status_plain_prints_only_the_default_and_asks_nobody() {
    let (server, env) = fixture_env();
    env.write_config(
        r#"{ agents: { defaults: { model: { primary: "ollama/llama3.3", fallbacks: ["ollama/qwen3:8b"] } } } }"#,
    );
    let run = env.ok(&["models", "status", "--plain"]);
    assert_eq!(run.stdout, "ollama/llama3.3\n");
    assert_eq!(request_lines(&server), Vec::<String>::new());
    let none = Env::new().ok(&["models", "status", "--plain"]);
    assert_eq!(none.stdout.trim(), "");
}

/// The examples in `config set --help` are real commands that work as printed.
#[test]
fn config_set_help_has_examples_that_work() {
    let env = Env::new();
    let help = env.ok(&["config", "set", "--help"]).stdout;
    assert!(help.contains("Example"), "{help}");
    let examples = openclaw_commands(&help);
    assert!(examples.len() >= 2, "{help}");
    for example in &examples {
        env.ok(&argv(example));
    }
    let config = env.config_value();
    assert_eq!(
        config["models"]["providers"]["ollama"]["apiKey"],
        "ollama-local"
    );
    assert_eq!(config["gateway"]["port"], 19001);
}

#[test]
fn models_list_help_has_examples() {
    let help = Env::new().ok(&["models", "list", "--help"]).stdout;
    assert!(help.contains("Example"), "{help}");
    let examples = openclaw_commands(&help);
    assert!(
        examples
            .iter()
            .any(|e| e.starts_with(&["models".to_string(), "list".to_string()])),
        "{help}"
    );
}

#[test]
fn models_list_help_explains_discovery() {
    let help = Env::new().ok(&["models", "list", "--help"]).stdout;
    for needle in [
        "--all",
        "--provider",
        "--local",
        "--plain",
        "--json",
        "OLLAMA_API_KEY",
        "tools",
    ] {
        assert!(help.contains(needle), "{needle}:\n{help}");
    }
    let set_help = Env::new().ok(&["models", "set", "--help"]).stdout;
    assert!(
        set_help.contains("openclaw models set ollama/"),
        "{set_help}"
    );
}

#[test]
fn status_warns_when_ollama_runs_a_model_with_less_context_than_the_catalog() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3").context_length(131072))
        .ps_context_length(4096)
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    let out = env.json(&["models", "status", "--json"]);
    let warnings: Vec<String> = out["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect();
    let w = warnings
        .iter()
        .find(|w| w.contains("4096-token context"))
        .unwrap_or_else(|| panic!("{warnings:?}"));
    assert!(
        w.contains("131072") && w.contains("models.providers.ollama.api ollama"),
        "{w}"
    );
    // With the native API, num_ctx is sent, so there is nothing to warn about.
    env.write_config(r#"{ models: { providers: { ollama: { api: "ollama" } } } }"#);
    let out = env.json(&["models", "status", "--json"]);
    assert!(
        !out["warnings"].to_string().contains("4096-token context"),
        "{}",
        out["warnings"]
    );
}

/// Regression: `models status` probed providers one after another, so each slow provider
/// added its whole timeout. The server holds both probes unanswered until both have arrived:
/// probed one at a time, the first would wait for the second until it timed out (and show as
/// unreachable); probed at once, both are answered.
#[test]
fn status_probes_every_provider_at_once() {
    let server = TestServer::builder()
        .rendezvous("/api/tags", 2)
        .start_blocking()
        .unwrap();
    let env = Env::new();
    env.write_config(&format!(
        r#"{{ models: {{ providers: {{
            first: {{ api: "ollama", baseUrl: "{url}", models: [{{ id: "a" }}] }},
            second: {{ api: "ollama", baseUrl: "{url}", models: [{{ id: "b" }}] }},
        }} }} }}"#,
        url = server.url()
    ));
    let status = env.json(&["models", "status", "--json"]);
    let providers = status["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 2, "{status:#}");
    for p in providers {
        assert_eq!(p["reachable"], true, "{status:#}");
    }
    let probes = server
        .requests()
        .iter()
        .filter(|r| r.path == "/api/tags")
        .count();
    assert_eq!(probes, 2);
}
