//! `openclaw doctor`: one test per situation of the Ollama page's troubleshooting section, each
//! pinning the verdict and the fix text (snapshot) and the `--json` shape.

use openclaw_test_support::{ModelSpec, TestServer};
use serde_json::Value;

use super::support::{closed_port, Env};

/// Doctor's text output with the parts that vary between runs made stable.
fn stable(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        // Only shown when the tests run inside a container.
        if line.contains("inside a container") {
            continue;
        }
        // The kernel's Landlock version differs between machines.
        let line = match line.find("Landlock ABI ") {
            Some(i) => {
                let rest = &line[i + 13..];
                let digits = rest.chars().take_while(char::is_ascii_digit).count();
                format!("{}Landlock ABI N{}", &line[..i], &rest[digits..])
            }
            None => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    let re_port = |s: &str| {
        let mut r = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("127.0.0.1:") {
            r.push_str(&rest[..i + 10]);
            rest = &rest[i + 10..];
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            r.push_str("PORT");
            rest = &rest[digits..];
        }
        r.push_str(rest);
        r
    };
    re_port(&out)
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no `{id}` check in {report:#}"))
}

#[test]
fn ollama_down_says_how_to_start_it() {
    let env = Env::new()
        .api_key("ollama-local")
        .ollama_host(&format!("127.0.0.1:{}", closed_port()));
    let run = env.run(&["doctor"]);
    run.assert_code(1);
    insta::assert_snapshot!(stable(&run.stdout));
    let report = env.run(&["doctor", "--json"]).json();
    assert_eq!(report["ok"], false);
    let c = check(&report, "ollama");
    assert_eq!(c["status"], "error");
    assert!(c["title"].as_str().unwrap().contains("connection refused"));
    assert!(
        c["fix"].as_str().unwrap().contains("ollama serve")
            && c["fix"].as_str().unwrap().contains("/api/tags")
    );
}

#[test]
fn running_but_not_enabled_is_fixed_by_fix() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .start_blocking()
        .unwrap();
    let env = Env::new().ollama(&server);
    let run = env.run(&["doctor"]);
    run.assert_code(1);
    insta::assert_snapshot!(stable(&run.stdout));
    assert_eq!(
        check(&env.run(&["doctor", "--json"]).json(), "discovery")["status"],
        "error"
    );
    // --fix creates the auth profile, shows the change, and the checks pass afterwards.
    let fixed = env.run(&["doctor", "--fix", "--json"]);
    fixed.assert_code(0);
    let report = fixed.json();
    assert!(
        report["fixed"][0]
            .as_str()
            .unwrap()
            .contains("ollama:default"),
        "{report:#}"
    );
    assert_eq!(check(&report, "discovery")["status"], "ok");
    let profiles: Value = serde_json::from_str(
        &std::fs::read_to_string(env.state_dir().join("agents/main/agent/auth-profiles.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        profiles["profiles"]["ollama:default"]["key"],
        "ollama-local"
    );
}

#[test]
fn explicit_models_turn_discovery_off_and_doctor_says_so() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    env.write_config(&format!(
        r#"{{ models: {{ providers: {{ ollama: {{ baseUrl: "{}/v1", models: [{{ id: "llama3.3", name: "Llama 3.3" }}] }} }} }},
            agents: {{ defaults: {{ model: "ollama/llama3.3" }} }} }}"#,
        server.url()
    ));
    let report = env.run(&["doctor", "--json"]).json();
    let c = check(&report, "discovery");
    assert_eq!(c["status"], "info");
    assert!(c["fix"]
        .as_str()
        .unwrap()
        .contains("openclaw config unset models.providers.ollama.models"));
    assert_eq!(report["ok"], true, "{report:#}");
}

#[test]
fn no_tools_capable_model_lists_the_skipped_ones() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llava").capabilities(&["completion", "vision"]))
        .model(ModelSpec::new("gemma3").capabilities(&["completion"]))
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    let run = env.run(&["doctor"]);
    run.assert_code(1);
    insta::assert_snapshot!(stable(&run.stdout));
    let c = check(&env.run(&["doctor", "--json"]).json(), "discovery").clone();
    assert!(
        c["detail"].as_str().unwrap().contains("llava:latest")
            && c["detail"].as_str().unwrap().contains("gemma3:latest")
    );
    assert!(c["fix"]
        .as_str()
        .unwrap()
        .contains("models.providers.ollama.models"));
}

#[test]
fn default_and_fallback_missing_from_the_catalog() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    env.write_config(r#"{ agents: { defaults: { model: { primary: "ollama/qwen3:8b", fallbacks: ["ollama/llama3.3", "ollama/mistral"] } } } }"#);
    let run = env.run(&["doctor"]);
    run.assert_code(1);
    insta::assert_snapshot!(stable(&run.stdout));
    let report = env.run(&["doctor", "--json"]).json();
    assert_eq!(check(&report, "default-model")["status"], "error");
    let fb = check(&report, "fallback");
    assert_eq!(fb["status"], "warn");
    assert!(fb["title"].as_str().unwrap().contains("ollama/mistral"));
    assert!(fb["fix"].as_str().unwrap().contains("ollama pull mistral"));
}

#[test]
fn context_mismatch_suggests_the_native_api() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3").context_length(131072))
        .ps_context_length(4096)
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    env.write_config(r#"{ agents: { defaults: { model: "ollama/llama3.3" } } }"#);
    let run = env.run(&["doctor"]);
    run.assert_code(0);
    insta::assert_snapshot!(stable(&run.stdout));
    let c = check(&env.run(&["doctor", "--json"]).json(), "context").clone();
    assert_eq!(c["status"], "warn");
    assert!(c["detail"]
        .as_str()
        .unwrap()
        .contains("llama3.3:latest: runs with 4096 tokens, the catalog says 131072"));
}

#[test]
fn invalid_config_points_at_the_line() {
    let env = Env::new().ollama_host(&format!("127.0.0.1:{}", closed_port()));
    env.write_config("{\n  agents: {},\n  modles: {}\n}\n");
    let report = env.run(&["doctor", "--json"]).json();
    let c = check(&report, "config");
    assert_eq!(c["status"], "error");
    let detail = c["detail"].as_str().unwrap();
    assert!(
        detail.contains("openclaw.json:3:3") && detail.contains("did you mean `models`"),
        "{detail}"
    );
}

#[test]
fn all_good_exits_zero() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3").context_length(4096))
        .ps_context_length(4096)
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    env.write_config(r#"{ agents: { defaults: { model: "ollama/llama3.3" } } }"#);
    let run = env.run(&["doctor"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("Everything looks good."),
        "{}",
        run.stdout
    );
    let report = run_json(&env);
    assert_eq!(report["ok"], true);
    for c in report["checks"].as_array().unwrap() {
        assert!(c["status"] == "ok" || c["status"] == "info", "{c}");
        assert!(c["id"].is_string() && c["title"].is_string());
    }
}

fn run_json(env: &Env) -> Value {
    env.run(&["doctor", "--json"]).json()
}
