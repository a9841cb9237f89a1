//! Every command and JSON5 block of OpenClaw's Ollama page ("Run OpenClaw with Ollama", here in
//! its French edition) must work as written. The blocks are copied verbatim below, French
//! comments included; `ollama pull X` is played by adding a model to the test server.

use openclaw_test_support::{fixture_models, ModelSpec, TestServer};
use serde_json::json;

use super::support::{
    argv, exports, free, keys, openclaw_commands, request_lines, requests_to, row, shell_words,
    tags, Env,
};

/// Démarrage rapide, step 2.
const PULL_BLOCK: &str = r#"ollama pull llama3.3
# ou
ollama pull qwen2.5-coder:32b
# ou
ollama pull deepseek-r1:32b
"#;

/// Démarrage rapide, step 3.
const ENABLE_BLOCK: &str = r#"# Set environment variable
export OLLAMA_API_KEY="ollama-local"

# Or configure in your config file
openclaw config set models.providers.ollama.apiKey "ollama-local"
"#;

/// Démarrage rapide, step 4.
const STEP4_BLOCK: &str = r#"{
  agents: {
    defaults: {
      model: { primary: "ollama/llama3.3" }
    }
  }
}
"#;

/// Découverte de modèles: what is available.
const LIST_BLOCK: &str = r#"ollama list
openclaw models list
"#;

/// Découverte de modèles: adding a model.
const PULL_MISTRAL_BLOCK: &str = r#"ollama pull mistral
"#;

/// Configuration de base (découverte implicite).
const BASIC_SETUP_BLOCK: &str = r#"export OLLAMA_API_KEY="ollama-local"
"#;

/// Configuration explicite (modèles manuels).
const EXPLICIT_BLOCK: &str = r#"{
  models: {
    providers: {
      ollama: {
        // Utilisez un hôte incluant /v1 pour les API compatibles OpenAI
        baseUrl: "http://ollama-host:11434/v1",
        apiKey: "ollama-local",
        api: "openai-completions",
        models: [
          {
            id: "llama3.3",
            name: "Llama 3.3",
            reasoning: false,
            input: ["text"],
            cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
            contextWindow: 8192,
            maxTokens: 8192 * 10
          }
        ]
      }
    }
  }
}
"#;

/// URL de base personnalisée (configuration explicite).
const CUSTOM_BASE_URL_BLOCK: &str = r#"{
  models: {
    providers: {
      ollama: {
        apiKey: "ollama-local",
        baseUrl: "http://ollama-host:11434/v1"
      }
    }
  }
}
"#;

/// Sélection du modèle.
const MODEL_SELECTION_BLOCK: &str = r#"{
  agents: {
    defaults: {
      model: {
        primary: "ollama/llama3.3",
        fallback: ["ollama/qwen2.5-coder:32b"]
      }
    }
  }
}
"#;

/// Modèles de raisonnement.
const REASONING_PULL_BLOCK: &str = r#"ollama pull deepseek-r1:32b
"#;

/// The host in the page's explicit blocks.
const SEED_BASE_URL: &str = "http://ollama-host:11434/v1";

/// The models of the `fixture_models()` server that report `tools`, as discovery lists them.
fn fixture_tool_keys() -> Vec<String> {
    fixture_models()
        .iter()
        .filter(|m| m.has_capability("tools"))
        .map(|m| format!("ollama/{}", m.listed_name()))
        .collect()
}

fn fixture_server() -> TestServer {
    TestServer::builder()
        .models(fixture_models())
        .start_blocking()
        .unwrap()
}

/// The model `ollama pull NAME` brings in. deepseek-r1 has reported `tools` and `thinking`
/// since its 0528 release; the others are plain tools-capable chat models.
fn pulled(name: &str) -> ModelSpec {
    match name.split(':').next().unwrap_or(name) {
        "deepseek-r1" => ModelSpec::new(name)
            .architecture("qwen2")
            .capabilities(&["completion", "tools", "thinking"])
            .context_length(131_072),
        "qwen2.5-coder" => ModelSpec::new(name)
            .architecture("qwen2")
            .context_length(32_768),
        _ => ModelSpec::new(name),
    }
}

/// Plays the `ollama pull X` lines of a block against the server.
fn ollama_pull(server: &TestServer, block: &str) -> Vec<String> {
    let mut names = Vec::new();
    for words in block.lines().map(shell_words) {
        if let [cmd, sub, name] = words.as_slice() {
            if cmd == "ollama" && sub == "pull" {
                server.add_model(pulled(name));
                names.push(name.clone());
            }
        }
    }
    assert!(!names.is_empty(), "no `ollama pull` in {block}");
    names
}

/// An `Env` with the `export` lines of a block applied.
fn with_exports(mut env: Env, block: &str) -> Env {
    let vars = exports(block);
    assert!(!vars.is_empty(), "no export in {block}");
    for (k, v) in vars {
        env = env.var(&k, v);
    }
    env
}

/// Quick start: pull, `export OLLAMA_API_KEY="ollama-local"`, `openclaw models list`.
#[test]
fn quick_start_env_var_discovers_the_installed_tool_models() {
    let server = fixture_server();
    let env = with_exports(Env::new(), ENABLE_BLOCK).ollama(&server);

    let list = env.json(&["models", "list", "--json"]);
    assert_eq!(keys(&list), fixture_tool_keys());
    assert_eq!(list["count"], fixture_tool_keys().len());
    assert_eq!(list["discovery"]["status"], "ran");
    assert_eq!(list["discovery"]["installed"], fixture_models().len());
    // deepseek-r1, gemma4 and llava report no `tools`: discovery leaves them out.
    for gone in ["deepseek-r1:latest", "gemma4:latest", "llava:latest"] {
        assert!(!keys(&list).contains(&format!("ollama/{gone}")), "{gone}");
    }
    insta::assert_json_snapshot!("quick_start_models", list["models"]);

    // The same through the table, with the block's command as written.
    let commands = openclaw_commands(LIST_BLOCK);
    assert_eq!(commands, [["models", "list"]]);
    let table = env.ok(&argv(&commands[0]));
    let header = table.stdout.lines().next().unwrap();
    for column in ["Model", "Input", "Ctx", "Local", "Auth", "Tags"] {
        assert!(header.contains(column), "{header}");
    }
    for key in fixture_tool_keys() {
        assert!(
            table.stdout.contains(&key),
            "{key} missing:\n{}",
            table.stdout
        );
    }
    assert!(table.stdout.contains("ollama/qwen3:8b") && table.stdout.contains("40k"));
    assert!(!table.stdout.contains("deepseek-r1"));
}

/// Step 2's three pulls, then step 3's export: the three models are listed, and deepseek-r1
/// (which reports `thinking`) is marked as a reasoning model ("Modèles de raisonnement").
#[test]
fn quick_start_pulls_then_lists_with_reasoning() {
    let server = TestServer::builder().start_blocking().unwrap();
    let env = with_exports(Env::new(), BASIC_SETUP_BLOCK).ollama(&server);
    let before = env.json(&["models", "list", "--json"]);
    assert_eq!(before["count"], 0);
    assert_eq!(before["discovery"]["installed"], 0);

    let names = ollama_pull(&server, PULL_BLOCK);
    assert_eq!(names, ["llama3.3", "qwen2.5-coder:32b", "deepseek-r1:32b"]);
    let list = env.json(&["models", "list", "--json"]);
    assert_eq!(
        keys(&list),
        [
            "ollama/llama3.3:latest",
            "ollama/qwen2.5-coder:32b",
            "ollama/deepseek-r1:32b"
        ]
    );
    let r1 = row(&list, "ollama/deepseek-r1:32b");
    assert_eq!(r1["reasoning"], true);
    assert_eq!(tags(r1), ["reasoning"]);
    assert_eq!(r1["contextWindow"], 131_072);
    assert_eq!(r1["maxTokens"], 1_310_720);
    let coder = row(&list, "ollama/qwen2.5-coder:32b");
    assert_eq!(coder["reasoning"], false);
    assert_eq!(coder["contextWindow"], 32_768);
    assert_eq!(coder["maxTokens"], 327_680);

    // `ollama pull deepseek-r1:32b` again (the reasoning section) changes nothing.
    ollama_pull(&server, REASONING_PULL_BLOCK);
    assert_eq!(
        env.json(&["models", "list", "--json"])["models"],
        list["models"]
    );
}

/// Step 3's other way: `openclaw config set models.providers.ollama.apiKey "ollama-local"`,
/// then no environment variable at all.
#[test]
fn quick_start_config_set_api_key_enables_discovery_without_env() {
    let server = fixture_server();
    let env = Env::new().ollama(&server);
    let commands = openclaw_commands(ENABLE_BLOCK);
    assert_eq!(
        commands,
        [[
            "config",
            "set",
            "models.providers.ollama.apiKey",
            "ollama-local"
        ]]
    );
    let set = env.ok(&argv(&commands[0]));
    assert!(!set.stdout.contains("ollama-local"), "{}", set.stdout);

    // The file holds the real key; `config get` never shows it.
    assert_eq!(
        env.config_value(),
        json!({"models": {"providers": {"ollama": {"apiKey": "ollama-local"}}}})
    );
    let get = env.ok(&["config", "get", "models.providers.ollama.apiKey"]);
    assert_eq!(get.stdout.trim(), "<redacted: 12 characters>");
    let whole = env.ok(&["config", "get", "models"]);
    assert!(whole.stdout.contains("<redacted"), "{}", whole.stdout);
    assert!(!whole.stdout.contains("ollama-local"), "{}", whole.stdout);

    let list = env.json(&["models", "list", "--json"]);
    assert_eq!(keys(&list), fixture_tool_keys());
    // The configured key is what discovery sends.
    let shows = requests_to(&server, "POST", "/api/show");
    assert_eq!(shows.len(), fixture_models().len());
    for r in requests_to(&server, "GET", "/api/tags")
        .iter()
        .chain(&shows)
    {
        assert_eq!(r.header("authorization"), Some("Bearer ollama-local"));
    }
    insta::with_settings!({filters => vec![(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]")]}, {
        insta::assert_json_snapshot!("config_set_api_key_list", list);
    });
}

/// Step 4: `{ agents: { defaults: { model: { primary: "ollama/llama3.3" } } } }` makes the
/// discovered `llama3.3:latest` the default.
#[test]
fn step4_primary_tags_llama33_as_default() {
    let server = fixture_server();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    env.write_config(STEP4_BLOCK);

    let list = env.json(&["models", "list", "--json"]);
    assert_eq!(tags(row(&list, "ollama/llama3.3:latest")), ["default"]);
    let defaults: Vec<&str> = list["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| tags(m).contains(&"default".to_string()))
        .map(|m| m["key"].as_str().unwrap())
        .collect();
    assert_eq!(defaults, ["ollama/llama3.3:latest"]);
    // Found in the catalog, so no "missing" row is added for `ollama/llama3.3`.
    assert_eq!(list["count"], fixture_tool_keys().len());

    let status = env.json(&["models", "status", "--json"]);
    assert_eq!(status["defaultModel"], "ollama/llama3.3");
    assert_eq!(status["defaultInCatalog"], true);
    assert_eq!(
        env.ok(&["models", "status", "--plain"]).stdout,
        "ollama/llama3.3\n"
    );
}

/// The explicit block, as written (`maxTokens: 8192 * 10`, a host that does not exist): one
/// model, exactly as declared, and no network at all.
#[test]
fn explicit_block_works_as_written_without_network() {
    let env = Env::new();
    env.write_config(EXPLICIT_BLOCK);

    let validate = env.ok(&["config", "validate"]);
    assert!(validate.stdout.contains("valid"), "{}", validate.stdout);

    let run = env.ok(&["models", "list", "--json"]);
    assert!(run.elapsed.as_secs() < 5, "took {:?}", run.elapsed);
    let list = run.json();
    assert_eq!(list["count"], 1);
    let m = row(&list, "ollama/llama3.3");
    assert_eq!(m["provider"], "ollama");
    assert_eq!(m["id"], "llama3.3");
    assert_eq!(m["name"], "Llama 3.3");
    assert_eq!(m["api"], "openai-completions");
    assert_eq!(m["reasoning"], false);
    assert_eq!(m["input"], json!(["text"]));
    assert_eq!(m["contextWindow"], 8192);
    assert_eq!(m["maxTokens"], 81_920);
    assert!(free(m), "{m}");
    assert_eq!(m["available"], true);
    assert_eq!(list["discovery"]["status"], "explicit-models");
    assert_eq!(list["warnings"], json!([]));
    insta::assert_json_snapshot!("explicit_block_list", list);

    // `config get` reads `8192 * 10` as the number it means.
    assert_eq!(
        env.ok(&[
            "config",
            "get",
            "models.providers.ollama.models[0].maxTokens"
        ])
        .stdout
        .trim(),
        "81920"
    );
}

/// "Si `OLLAMA_API_KEY` est défini, vous pouvez omettre `apiKey` dans l'entrée du fournisseur":
/// the explicit block without its `apiKey` line takes the key from the environment.
#[test]
fn explicit_block_without_api_key_takes_it_from_the_env() {
    let without_key = EXPLICIT_BLOCK.replace("        apiKey: \"ollama-local\",\n", "");
    assert_ne!(without_key, EXPLICIT_BLOCK);

    let env = Env::new();
    env.write_config(&without_key);
    let list = env.json(&["models", "list", "--json"]);
    assert_eq!(row(&list, "ollama/llama3.3")["available"], false);

    let env = Env::new().api_key("ollama-local");
    env.write_config(&without_key);
    let list = env.json(&["models", "list", "--json"]);
    assert_eq!(row(&list, "ollama/llama3.3")["available"], true);
    assert_eq!(list["count"], 1);
}

/// The custom base URL block (`apiKey` + `baseUrl`, no `models`), pointed at the test server:
/// discovery runs against that server, not against `OLLAMA_HOST` or the default port.
#[test]
fn custom_base_url_block_discovers_from_that_server() {
    let server = fixture_server();
    let env = Env::new();
    env.write_config(
        &CUSTOM_BASE_URL_BLOCK.replace(SEED_BASE_URL, &format!("{}/v1", server.url())),
    );

    let list = env.json(&["models", "list", "--json"]);
    assert_eq!(keys(&list), fixture_tool_keys());
    assert_eq!(list["discovery"]["baseUrl"], server.url());
    for m in list["models"].as_array().unwrap() {
        assert_eq!(m["api"], "openai-completions");
        assert_eq!(m["local"], true);
    }

    let lines = request_lines(&server);
    assert_eq!(lines[0], "GET /api/tags", "{lines:?}");
    let shows = requests_to(&server, "POST", "/api/show");
    let mut asked: Vec<String> = shows
        .iter()
        .map(|r| r.json().unwrap()["model"].as_str().unwrap().to_string())
        .collect();
    asked.sort();
    let mut installed: Vec<String> = fixture_models().iter().map(|m| m.listed_name()).collect();
    installed.sort();
    assert_eq!(asked, installed);
    assert_eq!(lines.len(), 1 + installed.len(), "{lines:?}");
    assert!(shows
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer ollama-local")));
}

/// The same block as written: `ollama-host` does not exist here, and the user is told which
/// URL failed and what to check.
#[test]
fn custom_base_url_block_as_written_names_the_unreachable_host() {
    let env = Env::new().discovery_timeout(2.0);
    env.write_config(CUSTOM_BASE_URL_BLOCK);
    let run = env.run(&["models", "list", "--json"]);
    run.assert_code(1);
    let list = run.json();
    assert_eq!(list["discovery"]["status"], "failed");
    assert_eq!(list["discovery"]["baseUrl"], "http://ollama-host:11434");
    run.assert_stderr_contains("http://ollama-host:11434")
        .assert_stderr_contains("not reachable")
        .assert_stderr_contains("curl http://ollama-host:11434/api/tags");
}

/// Model selection with the page's `fallback` spelling.
#[test]
fn model_selection_block_tags_default_and_fallback() {
    let server = fixture_server();
    server.add_model(pulled("qwen2.5-coder:32b"));
    let env = Env::new().api_key("ollama-local").ollama(&server);
    env.write_config(MODEL_SELECTION_BLOCK);

    let list = env.json(&["models", "list", "--json"]);
    assert_eq!(tags(row(&list, "ollama/llama3.3:latest")), ["default"]);
    assert_eq!(tags(row(&list, "ollama/qwen2.5-coder:32b")), ["fallback#1"]);
    for m in list["models"].as_array().unwrap() {
        let key = m["key"].as_str().unwrap();
        if key != "ollama/llama3.3:latest" && key != "ollama/qwen2.5-coder:32b" {
            let t = tags(m);
            assert!(
                !t.iter()
                    .any(|t| t == "default" || t.starts_with("fallback")),
                "{key}: {t:?}"
            );
        }
        assert_eq!(m["missing"], false, "{key}");
    }

    let fallbacks = env.ok(&["models", "fallbacks", "list"]);
    assert!(
        fallbacks.stdout.contains("ollama/qwen2.5-coder:32b"),
        "{}",
        fallbacks.stdout
    );
    assert!(
        !fallbacks.stdout.contains("llama3.3"),
        "{}",
        fallbacks.stdout
    );
    assert_eq!(
        env.json(&["models", "fallbacks", "list", "--json"]),
        json!({"fallbacks": ["ollama/qwen2.5-coder:32b"]})
    );
    let status = env.json(&["models", "status", "--json"]);
    assert_eq!(status["defaultModel"], "ollama/llama3.3");
    assert_eq!(status["fallbacks"], json!(["ollama/qwen2.5-coder:32b"]));
}

/// "Pour ajouter un nouveau modèle, il vous suffit de le télécharger avec Ollama": the next
/// command sees it, with no config change; `--refresh` is accepted.
#[test]
fn ollama_pull_mistral_appears_on_the_next_command() {
    let server = fixture_server();
    let env = with_exports(Env::new(), BASIC_SETUP_BLOCK).ollama(&server);

    let before = env.json(&["models", "list", "--json"]);
    assert!(!keys(&before).iter().any(|k| k.contains("mistral")));

    assert_eq!(ollama_pull(&server, PULL_MISTRAL_BLOCK), ["mistral"]);
    let after = env.json(&["models", "list", "--json"]);
    let mut expected = keys(&before);
    expected.push("ollama/mistral:latest".to_string());
    assert_eq!(keys(&after), expected);
    let refreshed = env.json(&["models", "list", "--json", "--refresh"]);
    assert_eq!(keys(&refreshed), expected);
    let plain = env.ok(&["models", "list", "--refresh", "--plain"]);
    assert!(plain
        .stdout_lines()
        .contains(&"ollama/mistral:latest".to_string()));

    // Nothing was written: discovery is live, not cached in the config.
    assert!(!env.config_path().exists());
    assert!(env.state_files().is_empty(), "{:?}", env.state_files());
}
