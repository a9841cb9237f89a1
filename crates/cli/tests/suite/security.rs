//! Secrets stay secret: with an API key, a header credential and a gateway token in the
//! config (and a key in the environment and in the auth-profile store), no command prints any
//! of them — not `config get/set`, not `models`, `doctor`, `agent` (answers, errors, logs), not
//! the error messages of a broken config or a refusing server.

use openclaw_test_support::{Behaviour, ModelSpec, TestServer};

use super::support::{Env, Run};

const KEY: &str = "sk-SECRET-key-7f3a9c";
const HEADER: &str = "Bearer SECRET-header-51be";
const TOKEN: &str = "SECRET-token-c0ffee";
const ENV_KEY: &str = "SECRET-env-key-a11ce";
const PROFILE_KEY: &str = "SECRET-profile-key-b0b";
const SECRETS: [&str; 5] = [KEY, HEADER, TOKEN, ENV_KEY, PROFILE_KEY];

#[track_caller]
fn assert_no_secret(run: &Run) {
    for secret in SECRETS {
        // The distinctive part, so a secret cut or re-quoted is still caught.
        let core = secret.split("SECRET").nth(1).unwrap();
        for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            assert!(
                !text.contains(core),
                "`openclaw {}` printed a secret on {stream}:\n{text}",
                run.args.join(" ")
            );
        }
    }
}

fn config(server: &TestServer) -> String {
    format!(
        r#"{{
  models: {{
    providers: {{
      ollama: {{ baseUrl: "{base}", apiKey: "{KEY}" }},
      proxy: {{
        baseUrl: "{base}/v1",
        api: "openai-completions",
        apiKey: "{KEY}",
        headers: {{ Authorization: "{HEADER}", "X-Api-Key": "{KEY}" }},
        models: [{{ id: "llama3.3" }}],
      }},
    }},
  }},
  agents: {{ defaults: {{ model: {{ primary: "proxy/llama3.3", fallbacks: ["ollama/llama3.3"] }} }} }},
  gateway: {{ auth: {{ token: "{TOKEN}" }} }},
}}"#,
        base = server.url()
    )
}

fn env(server: &TestServer) -> Env {
    let env = Env::new()
        .var("OLLAMA_API_KEY", ENV_KEY)
        .var("RUST_LOG", "trace");
    env.write_config(&config(server));
    env.write_auth_profiles(&format!(
        r#"{{"version":1,"profiles":{{"ollama:default":{{"type":"api_key","provider":"ollama","key":"{PROFILE_KEY}"}}}}}}"#
    ));
    env
}

#[test]
fn no_command_prints_a_secret() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .start_blocking()
        .unwrap();
    let env = env(&server);
    for args in [
        &["config", "get", "models.providers.ollama.apiKey"][..],
        &["config", "get", "models.providers.proxy"],
        &["config", "get", "models.providers.proxy.headers"],
        &[
            "config",
            "get",
            "models.providers.proxy.headers.Authorization",
        ],
        &["config", "get", "models", "--json"],
        &["config", "get", "gateway"],
        &["config", "get", "gateway.auth.token", "--json"],
        &["config", "validate"],
        &["config", "validate", "--json"],
        &["models", "list"],
        &["models", "list", "--json"],
        &["models", "status"],
        &["models", "status", "--json"],
        &["doctor"],
        &["doctor", "--json"],
        &["agent", "-m", "hi"],
        &["agent", "-m", "hi", "--json"],
    ] {
        assert_no_secret(&env.run(args));
    }
    // Setting a secret echoes it redacted.
    for args in [
        &["config", "set", "models.providers.ollama.apiKey", KEY][..],
        &["config", "set", "gateway.auth.token", TOKEN],
        &[
            "config",
            "set",
            "models.providers.proxy.headers.Authorization",
            HEADER,
        ],
    ] {
        let run = env.run(args);
        run.assert_code(0);
        assert_no_secret(&run);
    }
}

/// Errors about a secret's value or its neighbours show where, never what.
#[test]
fn errors_do_not_quote_secrets() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3").chat_behaviour(Behaviour::Status(
            401,
            r#"{"error":"invalid api key"}"#.into(),
        )))
        .start_blocking()
        .unwrap();
    let env = env(&server);
    // A refusing server.
    let run = env.run(&["agent", "-m", "hi"]);
    assert_ne!(run.code, Some(0));
    assert_no_secret(&run);
    // A typo next to the key, and a key of the wrong type.
    let broken = config(&server).replace("baseUrl: \"http", "baseURL: \"http");
    env.write_config(&broken);
    for args in [
        &["config", "validate"][..],
        &["models", "list"],
        &["doctor"],
        &["agent", "-m", "hi"],
    ] {
        assert_no_secret(&env.run(args));
    }
    env.write_config(
        &config(&server).replace(&format!("\"{TOKEN}\""), "[\"SECRET-token-c0ffee\"]"),
    );
    assert_no_secret(&env.run(&["config", "validate"]));
    // A key that cannot be sent as a header.
    env.write_config(&config(&server).replace(KEY, "sk-SECRET-key-7f3a9c\nX: y"));
    assert_no_secret(&env.run(&["agent", "-m", "hi"]));
}
