//! A primary that hangs costs its idle timeout once, not on every turn: after a failure the
//! model cools down (remembered in the state dir across CLI runs) and the next turns go
//! straight to the fallback, saying why.

use std::time::{Duration, Instant};

use openclaw_test_support::{Behaviour, ModelSpec, TestServer};

use super::support::Env;

#[test]
fn three_turns_with_a_hanging_primary_wait_only_once() {
    let server = TestServer::builder()
        .model(ModelSpec::new("stuck").chat_behaviour(Behaviour::Hang))
        .model(ModelSpec::new("backup"))
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    env.write_config(&format!(
        r#"{{
  models: {{ providers: {{ slow: {{ baseUrl: "{}/v1", timeoutSeconds: 2, models: [{{ id: "stuck" }}] }} }} }},
  agents: {{ defaults: {{ model: {{ primary: "slow/stuck", fallbacks: ["ollama/backup"] }} }} }},
}}"#,
        server.url()
    ));
    let mut took = Vec::new();
    let mut outs = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        outs.push(env.ok(&["agent", "-m", "hi", "--json"]).json());
        took.push(started.elapsed());
    }
    for out in &outs {
        assert_eq!(out["model"], "ollama/backup", "{out:#}");
        assert_eq!(out["fallbacks"][0]["model"], "slow/stuck", "{out:#}");
    }
    assert_eq!(outs[0]["fallbacks"][0]["kind"], "timeout");
    assert!(took[0] >= Duration::from_secs(2), "{took:?}");
    for (out, t) in outs.iter().zip(&took).skip(1) {
        assert_eq!(out["fallbacks"][0]["kind"], "cooldown", "{out:#}");
        assert!(
            *t < Duration::from_secs(2),
            "a later turn waited again: {took:?}"
        );
    }
    let asked_stuck = server
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/chat/completions" && r.body.contains("\"stuck\""))
        .count();
    assert_eq!(asked_stuck, 1, "the hanging model was asked again");
    // The human output says why the primary was skipped.
    let text = env.ok(&["agent", "-m", "hi"]);
    assert!(
        text.stderr.contains("slow/stuck") && text.stderr.contains("cooldown"),
        "{}",
        text.stderr
    );
}
