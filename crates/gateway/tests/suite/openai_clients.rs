//! Real OpenAI clients against the gateway, for what applications build on chat: the `openai`
//! Python package (`tests/python/test_openai_tools.py`) and the `openai` npm package
//! (`tests/node/openai_client.mjs`) run a client-side tool round trip plain and streamed,
//! `max_tokens` with `finish_reason: "length"`, an image refused for a text-only model,
//! `GET /v1/models/{id}` and `/v1/responses` plain and streamed. Then the test server's log
//! shows what reached the model: the client's tools and parameters, its tool results, the image.
//!
//! A missing `python3`, `node` or package skips the test, saying what to install, or fails it
//! under CI (`openclaw_test_support::requirement`).

use std::path::{Path, PathBuf};
use std::process::Command;

use openclaw_test_support::requirement::missing;
use openclaw_test_support::{text_stream, tool_call_stream, ModelSpec, Reply, TestServer};
use serde_json::{json, Value};

use super::support::{Fixture, TOKEN};

/// Exit code of both scripts when the `openai` package is not installed.
const OPENAI_MISSING: i32 = 3;

const QUESTION: &str = "What is the weather in Paris?";
const RESULT: &str = "22 C and sunny";
const PIXEL: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/// A model that calls `get_weather` for Paris, then answers with the result.
fn weather_model(name: &str) -> ModelSpec {
    ModelSpec::new(name)
        .reply(Reply::Sse(tool_call_stream(
            "get_weather",
            r#"{"city":"Paris"}"#,
        )))
        .reply(Reply::Sse(text_stream(
            name,
            &["It is ", "22 C and sunny ", "in Paris."],
        )))
}

/// The models both scripts expect: `m` (text only, the default), `eyes` (vision) and four
/// scripted weather models, one per scenario.
async fn client_fixture() -> Fixture {
    Fixture::new(vec![
        ModelSpec::new("m"),
        ModelSpec::new("eyes").capabilities(&["completion", "tools", "vision"]),
        weather_model("tooly"),
        weather_model("tooly-stream"),
        weather_model("resp-tools"),
        weather_model("resp-stream"),
    ])
    .await
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `program args… BASE TOKEN` against a gateway in front of `f`'s server; `None` when the
/// script says its `openai` package is missing.
async fn run_script(f: &Fixture, program: &str, args: &[PathBuf], cwd: &Path) -> Option<String> {
    let gw = f.gateway().await;
    let base = format!("http://{}", gw.addr);
    let mut command = Command::new(program);
    command
        .args(args)
        .arg(&base)
        .arg(TOKEN)
        .current_dir(cwd)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(OPENAI_MISSING) {
        return None;
    }
    assert!(
        output.status.success(),
        "{program} failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(stdout.contains("every check passed"), "{stdout}");
    Some(stdout)
}

/// The chat request bodies the server received for `model` (as the gateway names it).
fn bodies(server: &TestServer, model: &str) -> Vec<Value> {
    server
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/chat/completions" || r.path == "/api/chat")
        .filter_map(|r| r.json())
        .filter(|b| b["model"] == format!("{model}:latest"))
        .collect()
}

/// The tool round trip of `model` reached it whole: first the client's tool (and only it),
/// then the history with the call and its result.
fn check_round_trip(server: &TestServer, model: &str) -> Value {
    let b = bodies(server, model);
    assert_eq!(b.len(), 2, "{model}: {b:#?}");
    let tools = b[0]["tools"].as_array().unwrap();
    assert_eq!(
        tools.len(),
        1,
        "only the client's tool is offered: {tools:?}"
    );
    assert_eq!(tools[0]["function"]["name"], "get_weather");
    let asked = b[0]["messages"].as_array().unwrap().last().unwrap();
    assert_eq!(
        asked["content"], QUESTION,
        "the client's question is the conversation"
    );
    assert_eq!(
        tools[0]["function"]["parameters"]["required"],
        json!(["city"])
    );
    let messages = b[1]["messages"].as_array().unwrap();
    let call = messages
        .iter()
        .find(|m| m["role"] == "assistant")
        .unwrap_or_else(|| panic!("no assistant message: {messages:?}"));
    let calls = call["tool_calls"].as_array().unwrap();
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap(),
        json!({"city": "Paris"})
    );
    let result = messages.last().unwrap();
    assert_eq!(result["role"], "tool", "{messages:?}");
    assert_eq!(result["content"], RESULT);
    assert_eq!(result["tool_call_id"], calls[0]["id"]);
    b[0].clone()
}

/// What both clients sent reached the model.
fn check_recorded(server: &TestServer) {
    let first = check_round_trip(server, "tooly");
    for (key, value) in [
        ("temperature", json!(0.2)),
        ("top_p", json!(0.9)),
        ("seed", json!(7)),
        ("max_tokens", json!(200)),
        ("stop", json!(["\n\n\n"])),
        ("tool_choice", json!("auto")),
    ] {
        assert_eq!(first[key], value, "{key}: {first}");
    }
    check_round_trip(server, "tooly-stream");
    check_round_trip(server, "resp-tools");
    check_round_trip(server, "resp-stream");
    let resp = &bodies(server, "resp-tools")[0];
    assert_eq!(resp["max_tokens"], 200, "max_output_tokens: {resp}");
    assert!(
        bodies(server, "m").iter().any(|b| b["max_tokens"] == 1),
        "max_tokens reached the model"
    );
    // The refused image never reached the text-only model; the other one did reach `eyes`.
    assert!(bodies(server, "m")
        .iter()
        .all(|b| !b.to_string().contains("image_url")));
    let eyes = bodies(server, "eyes");
    let parts = eyes[0]["messages"].as_array().unwrap().last().unwrap()["content"].clone();
    assert_eq!(parts[1]["image_url"]["url"], PIXEL, "{parts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_python_client_runs_tools_parameters_images_and_responses() {
    let script = repo().join("tests/python/test_openai_tools.py");
    assert!(script.exists(), "{} is missing", script.display());
    if Command::new("python3").arg("--version").output().is_err() {
        missing("python3 is not installed", "python3 -m pip install openai");
        return;
    }
    let f = client_fixture().await;
    if run_script(&f, "python3", &[script], &repo())
        .await
        .is_none()
    {
        missing(
            "the `openai` Python package is not installed for python3",
            "python3 -m pip install openai",
        );
        return;
    }
    check_recorded(&f.server);
    // The Python script also sent `max_completion_tokens`, streamed.
    let m = bodies(&f.server, "m");
    assert!(
        m.iter().filter(|b| b["max_tokens"] == 1).count() >= 2,
        "{m:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_node_client_runs_tools_parameters_images_and_responses() {
    let dir = repo().join("tests/node");
    let script = dir.join("openai_client.mjs");
    assert!(script.exists(), "{} is missing", script.display());
    if Command::new("node").arg("--version").output().is_err() {
        missing(
            "node is not installed",
            "apt-get install nodejs npm && npm ci --prefix tests/node",
        );
        return;
    }
    let f = client_fixture().await;
    if run_script(&f, "node", &[script], &dir).await.is_none() {
        missing(
            "the `openai` npm package is not installed in tests/node",
            "npm ci --prefix tests/node",
        );
        return;
    }
    check_recorded(&f.server);
}
