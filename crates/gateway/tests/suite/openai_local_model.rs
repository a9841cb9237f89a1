//! A client-side tool round trip through the OpenAI-compatible API against a real model:
//! llama.cpp's server with SmolLM2-135M behind the project's Ollama-shaped front
//! (`openclaw_test_support::local_backend`, shared with the other end-to-end tests under a
//! lease). The gateway discovers the model, offers it the client's one tool, returns the
//! model's call as `tool_calls`, then takes the client's result and returns the answer.
//! Assertions are on structure, never on a tiny model's wording. When the backend cannot
//! start, the test skips saying why, or fails under CI.

use std::time::Duration;

use openclaw_gateway::{AppState, Limits};
use openclaw_test_support::local_backend::{LocalBackend, INSTALL_HINT};
use openclaw_test_support::requirement::missing;
use serde_json::{json, Value};

use super::support::{Fixture, TOKEN};

const MODEL: &str = "ollama/smollm2:135m";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_tool_round_trip_on_a_real_model() {
    let backend = match tokio::task::spawn_blocking(LocalBackend::acquire)
        .await
        .unwrap()
    {
        Ok(backend) => backend,
        Err(why) => {
            missing(
                &format!("the local model backend could not start: {why}"),
                INSTALL_HINT,
            );
            return;
        }
    };
    // The fixture gives the state directory and the options' shape; the model comes from
    // the real backend instead of the test server.
    let f = Fixture::new(Vec::new()).await;
    let listener = openclaw_gateway::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let mut options = f.options(addr, Limits::default());
    options.env = options.env.with("OLLAMA_HOST", backend.host());
    options.config =
        serde_json::from_value(json!({"agents": {"defaults": {"model": {"primary": MODEL}}}}))
            .unwrap();
    tokio::spawn(openclaw_gateway::serve(
        listener,
        AppState::new(options),
        std::future::pending::<()>(),
    ));

    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let tools = json!([{"type": "function", "function": {
        "name": "read_file",
        "description": "Read a text file and return its content",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}},
            "required": ["path"]}}}]);
    let ask =
        json!({"role": "user", "content": "Read the file notes.txt and tell me what it says."});
    let chat = |body: Value| {
        let request = client
            .post(format!("http://{addr}/v1/chat/completions"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send();
        async move {
            let response = request.await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            assert_eq!(status, 200, "{body}");
            body
        }
    };

    let first = chat(
        json!({"model": "openclaw", "messages": [ask], "tools": tools,
        "temperature": 0}),
    )
    .await;
    let choice = &first["choices"][0];
    assert_eq!(
        choice["finish_reason"], "tool_calls",
        "the model made no call of the client's tool: {first}"
    );
    let call = choice["message"]["tool_calls"][0].clone();
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "read_file", "{first}");
    let id = call["id"].as_str().unwrap().to_string();
    assert!(!id.is_empty());
    assert!(
        serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap())
            .is_ok_and(|a| a.is_object()),
        "{call}"
    );

    let result = json!({"role": "tool", "tool_call_id": id, "content": "The launch code is 4242."});
    let history = json!([ask, choice["message"], result]);
    let second = chat(
        json!({"model": "openclaw", "messages": history, "tools": tools,
        "temperature": 0, "max_tokens": 64}),
    )
    .await;
    let choice = &second["choices"][0];
    let finish = choice["finish_reason"].as_str().unwrap();
    assert!(
        ["stop", "length"].contains(&finish),
        "no final answer: {second}"
    );
    let text = choice["message"]["content"].as_str().unwrap_or_default();
    assert!(
        !text.trim().is_empty(),
        "the model said nothing after the tool result: {second}"
    );
    assert!(second["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    drop(backend);
}
