//! Ollama implicit discovery through the CLI: when it runs, what it keeps, how each
//! kept model is described, and that one broken model never blocks or drops the others.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use openclaw_test_support::{mixed_models, Behaviour, ModelSpec, TestServer};
use serde_json::{json, Value};

use super::support::{free, keys, request_lines, requests_to, row, tags, Env};

/// What a kept model must look like, derived from its spec alone.
fn expected_row(spec: &ModelSpec) -> Value {
    let context = spec.advertised_context_length().unwrap_or(8192);
    let mut input = vec!["text"];
    if spec.has_capability("vision") {
        input.push("image");
    }
    json!({
        "reasoning": spec.has_capability("thinking"),
        "input": input,
        "contextWindow": context,
        "maxTokens": context * 10,
    })
}

/// The fields of a listed row that `expected_row` pins.
fn described(row: &Value) -> Value {
    json!({
        "reasoning": row["reasoning"],
        "input": row["input"],
        "contextWindow": row["contextWindow"],
        "maxTokens": row["maxTokens"],
    })
}

/// 250 installed models: 248 of the deterministic mix, one whose `/api/show` never answers and
/// one whose `/api/show` reply is cut in half. Discovery must inspect all of them, keep exactly
/// the tools-capable healthy ones, describe each by the seed's rules, and report the two
/// broken ones, all within one timeout (plus slack), not one timeout per model.
#[test]
fn two_hundred_fifty_models_with_a_hanging_and_a_garbage_one() {
    let mut specs = mixed_models(248);
    // In the middle of the list, so that models before and after them must survive.
    specs.insert(100, ModelSpec::new("stuck:7b").behaviour(Behaviour::Hang));
    specs.insert(
        180,
        ModelSpec::new("broken:7b").behaviour(Behaviour::Garbage),
    );
    assert_eq!(specs.len(), 250);
    let server = TestServer::builder()
        .models(specs.clone())
        .start_blocking()
        .unwrap();
    let env = Env::new()
        .api_key("ollama-local")
        .ollama(&server)
        .discovery_timeout(2.0);

    let started = Instant::now();
    let run = env.run(&["models", "list", "--json"]);
    let wall = started.elapsed();
    run.assert_code(0);
    let list = run.json();

    let healthy = |s: &&ModelSpec| s.name() != "stuck:7b" && s.name() != "broken:7b";
    let expected: BTreeMap<String, Value> = specs
        .iter()
        .filter(healthy)
        .filter(|s| s.has_capability("tools"))
        .map(|s| (format!("ollama/{}", s.listed_name()), expected_row(s)))
        .collect();
    let listed: BTreeMap<String, Value> = list["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["key"].as_str().unwrap().to_string(), described(m)))
        .collect();
    assert_eq!(
        listed.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    assert_eq!(listed, expected);
    // The mix really exercises every rule (so the comparison above can fail).
    assert!(expected.values().any(|m| m["reasoning"] == true));
    assert!(expected.values().any(|m| m["contextWindow"] == 8192));
    assert!(expected.values().any(|m| m["contextWindow"] == 131_072));
    assert_eq!(list["count"], expected.len());
    for m in list["models"].as_array().unwrap() {
        assert!(free(m), "{m}");
        assert_eq!(m["provider"], "ollama");
        assert_eq!(m["api"], "openai-completions");
        assert_eq!(m["local"], true);
        assert_eq!(
            m["reasoning"] == true,
            tags(m).contains(&"reasoning".to_string())
        );
    }

    let discovery = &list["discovery"];
    assert_eq!(discovery["status"], "ran");
    assert_eq!(discovery["installed"], 250);
    assert_eq!(discovery["inspected"], 250);
    assert_eq!(discovery["kept"], expected.len());
    assert_eq!(requests_to(&server, "GET", "/api/tags").len(), 1);
    assert_eq!(requests_to(&server, "POST", "/api/show").len(), 250);

    let kind_of = |name: &str| {
        discovery["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["kind"].as_str().unwrap().to_string())
    };
    // Which of the two kinds the hanging model gets is racy: see
    // `hanging_show_is_reported_as_timed_out` below (BUG). Here: it is skipped, not dropped.
    assert!(
        matches!(
            kind_of("stuck:7b").as_deref(),
            Some("show-timed-out" | "show-failed")
        ),
        "{:?}",
        kind_of("stuck:7b")
    );
    assert_eq!(kind_of("broken:7b").as_deref(), Some("show-failed"));
    let reason_of = |name: &str| {
        discovery["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["reason"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert!(
        reason_of("broken:7b").contains("not JSON"),
        "{}",
        reason_of("broken:7b")
    );
    let no_tools = specs
        .iter()
        .filter(healthy)
        .filter(|s| !s.has_capability("tools"))
        .count();
    assert_eq!(discovery["skipped"].as_array().unwrap().len(), no_tools + 2);

    let warnings: Vec<&str> = list["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    for name in ["stuck:7b", "broken:7b"] {
        assert!(
            warnings.iter().any(|w| w.contains(name)),
            "{name} not in {warnings:?}"
        );
        run.assert_stderr_contains(name);
    }
    // No-tools models are left out quietly, not one warning each.
    assert_eq!(warnings.len(), 2, "{warnings:?}");

    assert!(
        wall < Duration::from_secs(4),
        "discovery of 250 models took {wall:?} with a 2 s timeout"
    );
}

/// A model whose `/api/show` never answers must be reported as timed out (`show-timed-out`,
/// "did not answer within 1.0 s"), every time.
#[test]
fn hanging_show_is_reported_as_timed_out() {
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .model(ModelSpec::new("stuck:7b").behaviour(Behaviour::Hang))
        .start_blocking()
        .unwrap();
    let env = Env::new()
        .api_key("ollama-local")
        .ollama(&server)
        .discovery_timeout(0.3);
    for attempt in 0..3 {
        let list = env.json(&["models", "list", "--json"]);
        assert_eq!(keys(&list), ["ollama/llama3.3:latest"]);
        let skipped = &list["discovery"]["skipped"][0];
        assert_eq!(skipped["name"], "stuck:7b");
        assert_eq!(
            skipped["kind"], "show-timed-out",
            "attempt {attempt}: {skipped}"
        );
        assert!(
            skipped["reason"]
                .as_str()
                .unwrap()
                .contains("did not answer within 0.3 s"),
            "attempt {attempt}: {skipped}"
        );
    }
}

/// A smaller mix (fast) with an explicit, non-local second provider, for the list flags.
fn flags_fixture() -> (TestServer, Env, Vec<ModelSpec>) {
    let specs = mixed_models(30);
    let server = TestServer::builder()
        .models(specs.clone())
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    env.write_config(
        r#"{
  models: {
    providers: {
      remote: {
        baseUrl: "https://models.example.com/v1",
        apiKey: "REMOTE_API_KEY",
        models: [{ id: "big-1", contextWindow: 200000 }],
      },
    },
  },
}
"#,
    );
    (server, env, specs)
}

#[test]
fn all_adds_the_left_out_models_with_reasons() {
    let (_server, env, specs) = flags_fixture();
    let list = env.json(&["models", "list", "--json", "--all"]);
    let no_tools: Vec<String> = specs
        .iter()
        .filter(|s| !s.has_capability("tools"))
        .map(|s| format!("ollama/{}", s.listed_name()))
        .collect();
    assert!(!no_tools.is_empty());
    let skipped = list["skipped"].as_array().unwrap();
    let skipped_keys: Vec<&str> = skipped.iter().map(|s| s["key"].as_str().unwrap()).collect();
    assert_eq!(skipped_keys, no_tools);
    for s in skipped {
        let reason = s["reason"].as_str().unwrap();
        assert!(reason.contains("tools"), "{s}");
        let name = s["name"].as_str().unwrap();
        let spec = specs.iter().find(|m| m.listed_name() == name).unwrap();
        for cap in spec.capability_list() {
            assert!(reason.contains(cap.as_str()), "{reason} should list {cap}");
        }
    }
    // Left-out models are not in `models`.
    for k in &no_tools {
        assert!(!keys(&list).contains(k), "{k}");
    }
    // Without --all there is no `skipped` key at all.
    let plain = env.json(&["models", "list", "--json"]);
    assert!(plain.get("skipped").is_none(), "{plain:#}");
    assert_eq!(plain["models"], list["models"]);

    // The table shows them under their own heading, with the reason.
    let table = env.ok(&["models", "list", "--all"]);
    for k in &no_tools {
        assert!(table.stdout.contains(k.as_str()), "{k}:\n{}", table.stdout);
    }
    assert!(
        table.stdout.contains("no `tools` capability"),
        "{}",
        table.stdout
    );
}

#[test]
fn provider_local_and_plain_filter_the_list() {
    let (server, env, specs) = flags_fixture();
    let tool_keys: Vec<String> = specs
        .iter()
        .filter(|s| s.has_capability("tools"))
        .map(|s| format!("ollama/{}", s.listed_name()))
        .collect();

    let everything = env.json(&["models", "list", "--json"]);
    let mut all_keys = vec!["remote/big-1".to_string()];
    all_keys.extend(tool_keys.iter().cloned());
    let mut got = keys(&everything);
    got.sort();
    all_keys.sort();
    assert_eq!(got, all_keys);
    assert_eq!(row(&everything, "remote/big-1")["local"], false);
    assert_eq!(row(&everything, "remote/big-1")["contextWindow"], 200_000);

    let ollama = env.json(&["models", "list", "--json", "--provider", "ollama"]);
    assert_eq!(keys(&ollama), tool_keys);

    let before = server.request_count();
    let remote = env.json(&["models", "list", "--json", "--provider", "remote"]);
    assert_eq!(keys(&remote), ["remote/big-1"]);
    assert_eq!(remote["discovery"]["status"], "filtered");
    assert_eq!(
        server.request_count(),
        before,
        "--provider remote must not ask Ollama"
    );

    let local = env.json(&["models", "list", "--json", "--local"]);
    assert_eq!(keys(&local), tool_keys);
    assert!(local["models"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["local"] == true));

    let plain = env.ok(&["models", "list", "--plain"]);
    let mut lines: Vec<String> = plain.stdout.lines().map(str::to_string).collect();
    assert!(
        lines.iter().all(|l| !l.contains(' ') && l.contains('/')),
        "{lines:?}"
    );
    lines.sort();
    assert_eq!(lines, all_keys);
    let plain_local = env.ok(&[
        "models",
        "list",
        "--plain",
        "--local",
        "--provider",
        "ollama",
    ]);
    assert_eq!(plain_local.stdout_lines(), tool_keys);
}

/// The seed's explicit setup switches discovery off: not one request reaches Ollama, even
/// with `OLLAMA_API_KEY` set and `OLLAMA_HOST` pointing at a live server.
#[test]
fn explicit_models_mean_zero_requests_to_ollama() {
    let server = TestServer::builder()
        .models(mixed_models(5))
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    env.write_config(&format!(
        r#"{{
  models: {{
    providers: {{
      ollama: {{
        baseUrl: "{}/v1",
        models: [{{ id: "only-this:1b", contextWindow: 4096, maxTokens: 1024 }}],
      }},
    }},
  }},
}}
"#,
        server.url()
    ));
    let list = env.json(&["models", "list", "--json"]);
    assert_eq!(keys(&list), ["ollama/only-this:1b"]);
    let m = row(&list, "ollama/only-this:1b");
    assert_eq!(m["contextWindow"], 4096);
    assert_eq!(m["maxTokens"], 1024);
    assert_eq!(list["discovery"]["status"], "explicit-models");
    env.ok(&["models", "list"]);
    env.ok(&["models", "list", "--all", "--refresh"]);
    assert_eq!(request_lines(&server), Vec::<String>::new());
}

/// An `ollama` auth profile is the opt-in, exactly like `OLLAMA_API_KEY`, and its key is sent.
#[test]
fn auth_profile_enables_discovery_and_sends_its_key() {
    let server = TestServer::builder()
        .models(mixed_models(4))
        .start_blocking()
        .unwrap();
    let env = Env::new().ollama(&server);
    env.write_auth_profiles(
        r#"{"version":1,"profiles":{"ollama:default":{"type":"api_key","provider":"ollama","key":"ollama-local"}}}"#,
    );
    let list = env.json(&["models", "list", "--json"]);
    assert_eq!(list["discovery"]["status"], "ran");
    let expected: Vec<String> = mixed_models(4)
        .iter()
        .filter(|s| s.has_capability("tools"))
        .map(|s| format!("ollama/{}", s.listed_name()))
        .collect();
    assert_eq!(keys(&list), expected);
    let requests = server.requests();
    assert_eq!(requests.len(), 5, "{:?}", request_lines(&server));
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some("Bearer ollama-local"),
            "{} {}",
            r.method,
            r.path
        );
    }
    let status = env.json(&["models", "status", "--json"]);
    let ollama = &status["providers"][0];
    assert_eq!(ollama["id"], "ollama");
    assert_eq!(ollama["source"], "discovered");
    assert!(
        ollama["auth"]["source"]
            .as_str()
            .unwrap()
            .contains("ollama:default"),
        "{ollama}"
    );
}

/// Without any opt-in nothing is asked of Ollama, and the user is told how to opt in.
#[test]
fn no_opt_in_means_no_requests_and_a_hint() {
    let server = TestServer::builder()
        .models(mixed_models(4))
        .start_blocking()
        .unwrap();
    let env = Env::new().ollama(&server);
    let run = env.run(&["models", "list", "--json"]);
    run.assert_code(0);
    let list = run.json();
    assert_eq!(list["count"], 0);
    assert_eq!(list["models"], json!([]));
    assert_eq!(list["discovery"]["status"], "not-enabled");
    run.assert_stderr_contains("warning:")
        .assert_stderr_contains("OLLAMA_API_KEY");
    let table = env.run(&["models", "list"]);
    table
        .assert_code(0)
        .assert_stderr_contains("OLLAMA_API_KEY");
    assert!(server.requests().is_empty(), "{:?}", request_lines(&server));
}

/// `OLLAMA_API_KEY` set to the empty string is no opt-in either.
#[test]
fn empty_api_key_is_no_opt_in() {
    let server = TestServer::builder()
        .models(mixed_models(2))
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("").ollama(&server);
    let list = env.json(&["models", "list", "--json"]);
    assert_eq!(list["discovery"]["status"], "not-enabled");
    assert!(server.requests().is_empty());
}

/// `OLLAMA_HOST` is read the way Ollama reads it: `0.0.0.0:PORT` means loopback.
#[test]
fn ollama_host_all_interfaces_means_loopback() {
    let server = TestServer::builder()
        .models(mixed_models(2))
        .start_blocking()
        .unwrap();
    let env = Env::new()
        .api_key("x")
        .ollama_host(&format!("0.0.0.0:{}", server.addr().port()));
    let list = env.json(&["models", "list", "--json"]);
    assert_eq!(list["discovery"]["baseUrl"], server.url());
    assert_eq!(list["discovery"]["status"], "ran");
    assert_eq!(requests_to(&server, "GET", "/api/tags").len(), 1);
}
