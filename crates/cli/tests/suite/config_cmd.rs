//! `openclaw config get|set|unset|file|validate`: edits that keep the user's file,
//! validation before every write, backups, redaction, and errors that point at line:column.

use openclaw_test_support::{mixed_models, TestServer};
use serde_json::json;

use super::support::{keys, requests_to, Env};

/// A hand-written config using what JSON5 allows: comments of both kinds, unquoted keys,
/// single quotes, trailing commas.
const COMMENTED: &str = r#"// My OpenClaw config
{
  /* the gateway
     block */
  gateway: {
    port: 18789, // default port
    bind: 'loopback',
  },
  models: {
    providers: {
      ollama: { apiKey: "ollama-local", }, // trailing
    },
  },
}
"#;

/// Files in `~/.openclaw` that look like leftovers of a write.
fn temp_files(env: &Env) -> Vec<String> {
    env.state_files()
        .into_iter()
        .filter(|n| n.contains(".tmp"))
        .collect()
}

#[test]
fn set_changes_only_the_value_keeping_comments_and_layout() {
    let env = Env::new();
    env.write_config(COMMENTED);
    env.ok(&["config", "set", "gateway.port", "19001"]);
    assert_eq!(env.read_config(), COMMENTED.replace("18789", "19001"));

    // A string value, in the file's own quotes or not, still leaves the rest alone.
    env.ok(&["config", "set", "gateway.bind", "lan"]);
    let text = env.read_config();
    let expected_prefix = COMMENTED.replace("18789", "19001");
    let (before, after) = expected_prefix.split_once("'loopback'").unwrap();
    assert!(text.starts_with(before), "{text}");
    assert!(text.ends_with(after), "{text}");
    assert_eq!(env.config_value()["gateway"]["bind"], "lan");

    // A new key is added; every original line is still there.
    env.ok(&[
        "config",
        "set",
        "agents.defaults.model.primary",
        "ollama/llama3.3",
    ]);
    let text = env.read_config();
    for line in [
        "// My OpenClaw config",
        "  /* the gateway",
        "     block */",
        "    port: 19001, // default port",
        "      ollama: { apiKey: \"ollama-local\", }, // trailing",
    ] {
        assert!(text.lines().any(|l| l == line), "lost {line:?}:\n{text}");
    }
    assert_eq!(
        env.config_value()["agents"]["defaults"]["model"]["primary"],
        "ollama/llama3.3"
    );
    env.ok(&["config", "validate"]);
}

#[test]
fn set_stores_numbers_as_numbers_and_string_forces_a_string() {
    let env = Env::new();
    env.ok(&["config", "set", "gateway.port", "19001"]);
    assert_eq!(env.ok(&["config", "get", "gateway.port"]).stdout, "19001\n");
    assert_eq!(env.config_value()["gateway"]["port"], json!(19001));
    assert!(env.config_value()["gateway"]["port"].is_u64());

    // JSON5 objects are parsed too.
    env.ok(&[
        "config",
        "set",
        "agents.defaults.model",
        "{primary: 'ollama/llama3.3', fallbacks: ['ollama/qwen3:8b']}",
    ]);
    assert_eq!(
        env.config_value()["agents"]["defaults"]["model"],
        json!({"primary": "ollama/llama3.3", "fallbacks": ["ollama/qwen3:8b"]})
    );

    // `12345` as an apiKey would be a number (and invalid); `--string` keeps it a string.
    let before = env.read_config();
    let rejected = env.run(&["config", "set", "models.providers.ollama.apiKey", "12345"]);
    assert_ne!(rejected.code, Some(0));
    rejected.assert_stderr_contains("models.providers.ollama.apiKey");
    assert_eq!(env.read_config(), before);
    env.ok(&[
        "config",
        "set",
        "--string",
        "models.providers.ollama.apiKey",
        "12345",
    ]);
    assert_eq!(
        env.config_value()["models"]["providers"]["ollama"]["apiKey"],
        json!("12345")
    );
    // A word that is not JSON5 falls back to a plain string.
    env.ok(&["config", "set", "gateway.bind", "loopback"]);
    assert_eq!(env.config_value()["gateway"]["bind"], "loopback");
}

#[test]
fn first_write_creates_the_file_then_each_write_keeps_a_backup() {
    let env = Env::new();
    assert!(!env.state_dir().exists());
    env.ok(&["config", "set", "gateway.port", "19001"]);
    let first = env.read_config();
    assert_eq!(env.config_value(), json!({"gateway": {"port": 19001}}));
    openclaw_config::check(&first, "openclaw.json", None).unwrap();
    assert!(!env.backup_path().exists(), "{:?}", env.state_files());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.config_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "a new config may hold keys: mode {mode:o}");
    }

    env.ok(&["config", "set", "gateway.port", "19002"]);
    assert_eq!(std::fs::read_to_string(env.backup_path()).unwrap(), first);
    let second = env.read_config();
    env.ok(&["config", "set", "gateway.bind", "loopback"]);
    assert_eq!(std::fs::read_to_string(env.backup_path()).unwrap(), second);
    assert_eq!(
        env.state_files(),
        ["openclaw.json", "openclaw.json.bak"],
        "no temp files left behind"
    );
}

#[test]
fn a_set_that_makes_the_config_invalid_changes_nothing() {
    let env = Env::new();
    env.write_config(COMMENTED);
    for (args, names) in [
        (
            vec!["config", "set", "gateway.port", "\"abc\""],
            "gateway.port",
        ),
        (vec!["config", "set", "modles.x", "1"], "modles"),
        (
            vec![
                "config",
                "set",
                "models.providers.ollama.models",
                "'not a list'",
            ],
            "models.providers.ollama.models",
        ),
    ] {
        let run = env.run(&args);
        assert_eq!(run.code, Some(1), "{args:?}\n{}", run.stderr);
        run.assert_stderr_contains(names);
        assert_eq!(env.read_config(), COMMENTED, "{args:?} changed the file");
        assert!(!env.backup_path().exists(), "{args:?} wrote a backup");
        assert!(temp_files(&env).is_empty(), "{:?}", env.state_files());
    }
    let typo = env.run(&["config", "set", "modles.x", "1"]);
    typo.assert_stderr_contains("did you mean `models`");
}

#[test]
fn unset_removes_the_key_with_its_line() {
    let env = Env::new();
    env.write_config(COMMENTED);
    env.ok(&["config", "unset", "gateway.bind"]);
    assert_eq!(
        env.read_config(),
        COMMENTED.replace("    bind: 'loopback',\n", "")
    );
    assert_eq!(
        std::fs::read_to_string(env.backup_path()).unwrap(),
        COMMENTED
    );
    let get = env.run(&["config", "get", "gateway.bind"]);
    get.assert_code(1);

    let before = env.read_config();
    let missing = env.run(&["config", "unset", "gateway.nothing"]);
    missing
        .assert_code(1)
        .assert_stderr_contains("gateway.nothing");
    assert_eq!(env.read_config(), before);

    // Array items by index.
    env.ok(&[
        "config",
        "set",
        "agents.defaults.model.fallbacks",
        "['ollama/a:1', 'ollama/b:2', 'ollama/c:3']",
    ]);
    env.ok(&["config", "unset", "agents.defaults.model.fallbacks[1]"]);
    assert_eq!(
        env.config_value()["agents"]["defaults"]["model"]["fallbacks"],
        json!(["ollama/a:1", "ollama/c:3"])
    );
}

#[test]
fn get_redacts_secrets_and_shows_references() {
    let env = Env::new();
    env.write_config(
        r#"{
  gateway: { port: 18789, auth: { mode: "token", token: "tok-abcdef" } },
  models: {
    providers: {
      ollama: { apiKey: "sk-very-secret" },
      remote: { baseUrl: "https://x.example/v1", apiKey: "OLLAMA_API_KEY", models: [] },
      other: { baseUrl: "https://y.example/v1", apiKey: "${MY_KEY}", models: [] },
    },
  },
}
"#,
    );
    let env = env.var("MY_KEY", "from-env");
    let key = env.ok(&["config", "get", "models.providers.ollama.apiKey"]);
    assert!(key.stdout.starts_with("<redacted"), "{}", key.stdout);
    assert!(!key.stdout.contains("sk-very-secret"));
    let token = env.ok(&["config", "get", "gateway.auth.token"]);
    assert!(token.stdout.starts_with("<redacted"), "{}", token.stdout);

    for path in ["gateway", "models", "models.providers"] {
        let whole = env.ok(&["config", "get", path]);
        assert!(
            !whole.stdout.contains("sk-very-secret"),
            "{path}: {}",
            whole.stdout
        );
        assert!(
            !whole.stdout.contains("tok-abcdef"),
            "{path}: {}",
            whole.stdout
        );
        assert!(
            whole.stdout.contains("<redacted"),
            "{path}: {}",
            whole.stdout
        );
    }
    let gateway: serde_json::Value =
        serde_json::from_str(&env.ok(&["config", "get", "gateway"]).stdout).unwrap();
    assert_eq!(gateway["port"], 18789);
    assert_eq!(gateway["auth"]["mode"], "token");

    assert_eq!(
        env.ok(&["config", "get", "models.providers.remote.apiKey"])
            .stdout,
        "OLLAMA_API_KEY\n"
    );
    // `get` shows what is written, not the substituted secret.
    let reference = env.ok(&["config", "get", "models.providers.other.apiKey"]);
    assert_eq!(reference.stdout, "${MY_KEY}\n");
    assert_eq!(
        env.ok(&["config", "get", "--json", "gateway.port"])
            .stdout
            .trim(),
        "18789"
    );
}

#[test]
fn get_of_a_missing_path_fails() {
    let env = Env::new();
    let run = env.run(&["config", "get", "gateway.port"]);
    run.assert_code(1).assert_stderr_contains("gateway.port");
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    env.write_config("{ gateway: { port: 1 } }");
    env.run(&["config", "get", "gateway.bind"])
        .assert_code(1)
        .assert_stderr_contains("gateway.bind");
    let bad_path = env.run(&["config", "get", "a..b"]);
    bad_path.assert_code(1).assert_stderr_contains("a..b");
}

#[test]
fn file_follows_state_dir_and_config_path() {
    let env = Env::new();
    let default = env.ok(&["config", "file"]);
    assert_eq!(
        default.stdout.trim(),
        env.config_path().display().to_string()
    );

    let state = env.home().join("elsewhere/state");
    let moved = Env::new().var("OPENCLAW_STATE_DIR", state.display().to_string());
    assert_eq!(
        moved.ok(&["config", "file"]).stdout.trim(),
        state.join("openclaw.json").display().to_string()
    );
    // `~` in the variable means HOME.
    let tilde = Env::new().var("OPENCLAW_STATE_DIR", "~/st");
    assert_eq!(
        tilde.ok(&["config", "file"]).stdout.trim(),
        tilde.home().join("st/openclaw.json").display().to_string()
    );

    let file = env.home().join("conf/my.json5");
    let pinned = Env::new()
        .var("OPENCLAW_STATE_DIR", state.display().to_string())
        .var("OPENCLAW_CONFIG_PATH", file.display().to_string());
    assert_eq!(
        pinned.ok(&["config", "file"]).stdout.trim(),
        file.display().to_string()
    );
    pinned.ok(&["config", "set", "gateway.port", "19001"]);
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("19001"), "{written}");
    assert!(!pinned.config_path().exists());
    assert!(!state.join("openclaw.json").exists());
    assert_eq!(
        pinned.ok(&["config", "get", "gateway.port"]).stdout.trim(),
        "19001"
    );
}

#[test]
fn validate_reports_valid_missing_and_invalid_files() {
    let env = Env::new();
    // Missing: an empty config, not an error.
    env.ok(&["config", "validate"]);
    let missing = env.json(&["config", "validate", "--json"]);
    assert_eq!(missing["exists"], false);
    assert_eq!(missing["valid"], true);
    assert_eq!(missing["errors"], json!([]));

    env.write_config(COMMENTED);
    let valid = env.json(&["config", "validate", "--json"]);
    assert_eq!(valid["exists"], true);
    assert_eq!(valid["valid"], true);
    assert_eq!(valid["path"], env.config_path().display().to_string());

    env.write_config("{\n  gateway: {\n    port: \"x\",\n  },\n  modles: {},\n}\n");
    let run = env.run(&["config", "validate", "--json"]);
    run.assert_code(1);
    let invalid = run.json();
    assert_eq!(invalid["valid"], false);
    let errors = invalid["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{invalid:#}");
    let by_path = |p: &str| errors.iter().find(|e| e["path"] == p).unwrap();
    let port = by_path("gateway.port");
    assert_eq!(
        (port["line"].as_u64(), port["column"].as_u64()),
        (Some(3), Some(11))
    );
    let typo = by_path("modles");
    assert_eq!(
        (typo["line"].as_u64(), typo["column"].as_u64()),
        (Some(5), Some(3))
    );
    assert!(typo["hint"].as_str().unwrap().contains("models"), "{typo}");

    let human = env.run(&["config", "validate"]);
    human
        .assert_code(1)
        .assert_stderr_contains("openclaw.json:3:11")
        .assert_stderr_contains("openclaw.json:5:3");

    // A syntax error has a position too.
    env.write_config("{\n  gateway: { port: 1 }\n  models: {},\n}\n");
    let syntax = env.run(&["config", "validate", "--json"]);
    syntax.assert_code(1);
    let err = &syntax.json()["errors"][0];
    // Where the comma is missing (end of line 2) or where the next key starts (3:3).
    let at = (
        err["line"].as_u64().unwrap(),
        err["column"].as_u64().unwrap(),
    );
    assert!(at == (2, 23) || at == (3, 3), "{err}");
    let human = env.run(&["config", "validate"]);
    human
        .assert_code(1)
        .assert_stderr_contains(&format!("openclaw.json:{}:{}", at.0, at.1));
}

/// Keys the original OpenClaw defines and we don't implement (channels…) load with a warning.
#[test]
fn original_keys_we_do_not_implement_only_warn() {
    let server = TestServer::builder()
        .models(mixed_models(3))
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    env.write_config(
        r#"{
  channels: {
    telegram: { enabled: true, botToken: "123:abc", dmPolicy: "pairing" },
  },
  agents: { defaults: { model: { primary: "ollama/mixed-1:q4" } } },
}
"#,
    );
    let run = env.run(&["models", "list", "--json"]);
    run.assert_code(0);
    run.assert_stderr_contains("warning:")
        .assert_stderr_contains("channels");
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:") && l.contains("channels"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    let list = run.json();
    assert!(keys(&list).contains(&"ollama/mixed-1:q4".to_string()));
    env.ok(&["config", "validate"]);
    // Editing such a file keeps the unknown section untouched.
    env.ok(&["config", "set", "gateway.port", "19001"]);
    assert!(env.read_config().contains("dmPolicy: \"pairing\""));
}

#[test]
fn a_typo_points_at_line_and_column_with_a_suggestion() {
    let env = Env::new().api_key("ollama-local");
    env.write_config(
        "// typo below\n{\n  gateway: { port: 18789 },\n    modles: {\n    providers: {},\n  },\n}\n",
    );
    let run = env.run(&["models", "list"]);
    run.assert_code(1)
        .assert_stderr_contains("openclaw.json:4:5")
        .assert_stderr_contains("did you mean `models`");
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    // Deeper keys are suggested by their full path too.
    env.write_config("{\n  models: {\n    providers: {\n      ollama: { baseURL: \"http://h:1\" },\n    },\n  },\n}\n");
    let deep = env.run(&["config", "validate"]);
    deep.assert_code(1)
        .assert_stderr_contains("openclaw.json:4:17")
        .assert_stderr_contains("baseUrl");
}

#[test]
fn env_vars_are_substituted_and_a_missing_one_is_named() {
    let server = TestServer::builder()
        .models(mixed_models(2))
        .start_blocking()
        .unwrap();
    let config = r#"{
  models: {
    providers: {
      ollama: { apiKey: "${MY_OLLAMA_KEY}" },
    },
  },
}
"#;
    let env = Env::new()
        .ollama(&server)
        .var("MY_OLLAMA_KEY", "secret-from-env");
    env.write_config(config);
    let list = env.json(&["models", "list", "--json"]);
    assert_eq!(list["discovery"]["status"], "ran");
    let tags = requests_to(&server, "GET", "/api/tags");
    assert_eq!(
        tags[0].header("authorization"),
        Some("Bearer secret-from-env")
    );

    let unset = Env::new().ollama(&server);
    unset.write_config(config);
    let run = unset.run(&["models", "list"]);
    run.assert_code(1)
        .assert_stderr_contains("MY_OLLAMA_KEY")
        .assert_stderr_contains("models.providers.ollama.apiKey")
        .assert_stderr_contains("openclaw.json:4:");

    // `$${VAR}` is the literal text `${VAR}`.
    let literal = Env::new().ollama(&server);
    literal.write_config(&config.replace("${MY_OLLAMA_KEY}", "$${MY_OLLAMA_KEY}"));
    let before = server.request_count();
    literal.json(&["models", "list", "--json"]);
    let sent = &server.requests()[before];
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer ${MY_OLLAMA_KEY}")
    );
}

/// JSON5 numbers are JavaScript numbers: `19001.0` and `128e3` are integers there, and the
/// original OpenClaw (zod `.int()` / `number`) accepts them, so an existing config must load.
#[test]
fn integer_valued_numbers_are_accepted() {
    let env = Env::new();
    env.write_config(
        "{\n  gateway: { port: 19001.0 },\n  models: { providers: { ollama: { models: [{ id: \"x\", contextWindow: 128e3, maxTokens: 8192.0 }] } } },\n}\n",
    );
    env.ok(&["config", "validate"]);
    let list = env.json(&["models", "list", "--json"]);
    assert_eq!(list["models"][0]["contextWindow"], 128_000);
    assert_eq!(list["models"][0]["maxTokens"], 8192);
    env.ok(&["config", "set", "gateway.port", "19002.0"]);
}
