//! `/v1/chat/completions` and `/api/chat`: default replies, scripts, errors.

use std::time::{Duration, Instant};

use openclaw_test_support::{fixture, Behaviour, ModelSpec, Reply, TestServer};
use serde_json::{json, Value};

use super::{client, fixture_json, keys, post_json};

fn user(text: &str) -> Value {
    json!([{ "role": "user", "content": text }])
}

/// The JSON payloads of an SSE body, and whether it ended with `data: [DONE]`.
fn sse_payloads(body: &str) -> (Vec<Value>, bool) {
    let events: Vec<&str> = body.split("\n\n").filter(|e| !e.is_empty()).collect();
    let done = events.last() == Some(&"data: [DONE]");
    let payloads = events
        .iter()
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    (payloads, done)
}

async fn post_text(url: &str, body: &Value) -> (u16, String, String) {
    let response = client().post(url).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

async fn server(models: impl IntoIterator<Item = ModelSpec>) -> TestServer {
    TestServer::builder().models(models).start().await.unwrap()
}

#[tokio::test]
async fn openai_stream_default_reply() {
    let server = server([ModelSpec::new("llama3.3")]).await;
    let url = format!("{}/v1/chat/completions", server.url());
    let (status, content_type, body) = post_text(
        &url,
        &json!({ "model": "llama3.3", "messages": user("hi"), "stream": true,
                 "stream_options": { "include_usage": true } }),
    )
    .await;
    assert_eq!((status, content_type.as_str()), (200, "text/event-stream"));
    let (chunks, done) = sse_payloads(&body);
    assert!(done, "{body}");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello from llama3.3");
    let fixture = sse_payloads(&fixture("ollama/chat-stream-toolcall.sse")).0;
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["system_fingerprint"], "fp_ollama");
        assert_eq!(chunk["model"], "llama3.3");
        assert_eq!(chunk["id"], chunks[0]["id"]);
    }
    assert_eq!(keys(&chunks[0]), keys(&fixture[0]));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(chunks[1]["choices"][0]["delta"].get("role").is_none());
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["delta"], json!({}));
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    let usage = &chunks[chunks.len() - 1];
    assert_eq!(keys(usage), keys(&fixture[2]));
    assert_eq!(usage["usage"]["completion_tokens"], 3);

    // Without include_usage there is no usage chunk.
    let (_, _, body) = post_text(
        &url,
        &json!({ "model": "llama3.3", "messages": user("hi"), "stream": true }),
    )
    .await;
    let (chunks, _) = sse_payloads(&body);
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
}

#[tokio::test]
async fn openai_non_stream_default_reply() {
    let server = server([ModelSpec::new("llama3.3")]).await;
    let (status, body) = post_json(
        &format!("{}/v1/chat/completions", server.url()),
        &json!({ "model": "llama3.3", "messages": user("hi") }),
    )
    .await;
    assert_eq!(status, 200);
    let fixture = fixture_json("ollama/chat-completion-toolcall.json");
    assert_eq!(keys(&body), keys(&fixture));
    assert_eq!(body["object"], "chat.completion");
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(
        body["choices"][0]["message"],
        json!({ "role": "assistant", "content": "Hello from llama3.3" })
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(keys(&body["usage"]), keys(&fixture["usage"]));
}

#[tokio::test]
async fn thinking_models_reason_first() {
    let server =
        server([ModelSpec::new("qwen3").capabilities(&["completion", "tools", "thinking"])]).await;
    let url = format!("{}/v1/chat/completions", server.url());
    let (_, _, body) = post_text(
        &url,
        &json!({ "model": "qwen3", "messages": user("hi"), "stream": true }),
    )
    .await;
    let (chunks, _) = sse_payloads(&body);
    let fixture = sse_payloads(&fixture("ollama/chat-stream-thinking.sse")).0;
    assert_eq!(
        keys(&chunks[0]["choices"][0]["delta"]),
        keys(&fixture[0]["choices"][0]["delta"])
    );
    let reasoning: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["reasoning"].as_str())
        .collect();
    assert!(!reasoning.is_empty());

    let (_, body) = post_json(
        &url,
        &json!({ "model": "qwen3", "messages": user("hi"), "reasoning_effort": "none" }),
    )
    .await;
    assert!(body["choices"][0]["message"].get("reasoning").is_none());

    let (_, native) = post_json(
        &format!("{}/api/chat", server.url()),
        &json!({ "model": "qwen3", "messages": user("hi"), "stream": false }),
    )
    .await;
    assert!(native["message"]["thinking"].as_str().is_some());
}

#[tokio::test]
async fn native_chat_streams_ndjson_by_default() {
    let server = server([ModelSpec::new("llama3.2")]).await;
    let url = format!("{}/api/chat", server.url());
    let (status, content_type, body) = post_text(
        &url,
        &json!({ "model": "llama3.2", "messages": user("hi") }),
    )
    .await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/x-ndjson")
    );
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let fixture: Vec<Value> = fixture("ollama/api-chat-stream-toolcall.ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let text: String = lines
        .iter()
        .filter_map(|l| l["message"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello from llama3.2");
    assert_eq!(keys(&lines[0]), keys(&fixture[0]));
    let last = lines.last().unwrap();
    assert_eq!(keys(last), keys(&fixture[1]));
    assert_eq!(last["done"], true);
    assert_eq!(last["done_reason"], "stop");
    assert!(lines[..lines.len() - 1].iter().all(|l| l["done"] == false));

    let (status, whole) = post_json(
        &url,
        &json!({ "model": "llama3.2", "messages": user("hi"), "stream": false }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(keys(&whole), keys(&fixture[1]));
    assert_eq!(whole["message"]["content"], "Hello from llama3.2");
}

#[tokio::test]
async fn chat_errors_like_ollama() {
    let server = server([ModelSpec::new("plain").capabilities(&["completion"])]).await;
    let v1 = format!("{}/v1/chat/completions", server.url());
    let native = format!("{}/api/chat", server.url());

    let (status, body) = post_json(&v1, &json!({ "model": "x", "messages": user("hi") })).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({ "error": { "message": "model \"x\" not found, try pulling it first",
                           "type": "api_error", "param": null, "code": null } })
    );
    let (status, body) = post_json(&native, &json!({ "model": "x", "messages": user("hi") })).await;
    assert_eq!(
        (status, body),
        (404, json!({ "error": "model 'x' not found" }))
    );

    let tools = json!([{ "type": "function", "function": { "name": "get_weather",
        "parameters": { "type": "object", "properties": {} } } }]);
    let (status, body) = post_json(
        &native,
        &json!({ "model": "plain", "messages": user("hi"), "tools": tools }),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"],
        "registry.ollama.ai/library/plain:latest does not support tools"
    );
    let (status, body) = post_json(
        &v1,
        &json!({ "model": "plain", "messages": user("hi"), "tools": tools }),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "api_error");
    let (status, body) = post_json(
        &native,
        &json!({ "model": "plain", "messages": user("hi"), "think": true }),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({ "error": "\"plain\" does not support thinking" })
        )
    );

    for url in [&v1, &native] {
        let response = client()
            .post(url.as_str())
            .body("{oops")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"].is_object() || body["error"].is_string(),
            "{body}"
        );
    }
    let response = client().post(&v1).body("{oops").send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn scripted_replies_are_served_as_is_in_order() {
    let toolcall = fixture("ollama/chat-stream-toolcall.sse");
    let thinking = fixture("ollama/chat-stream-thinking.sse");
    let ndjson = fixture("ollama/api-chat-stream-toolcall.ndjson");
    let server = server([
        ModelSpec::new("llama3.2")
            .reply(Reply::Sse(toolcall.clone()))
            .reply(Reply::Sse(thinking.clone())),
        ModelSpec::new("native").reply(Reply::Ndjson(ndjson.clone())),
        ModelSpec::new("whole").reply(Reply::Json(fixture("ollama/chat-completion-toolcall.json"))),
    ])
    .await;
    let v1 = format!("{}/v1/chat/completions", server.url());
    let request = json!({ "model": "llama3.2", "messages": user("weather?"), "stream": true });
    let (_, content_type, first) = post_text(&v1, &request).await;
    assert_eq!(content_type, "text/event-stream");
    assert_eq!(first, toolcall);
    let (_, _, second) = post_text(&v1, &request).await;
    assert_eq!(second, thinking);
    // The last reply repeats once the script runs out.
    let (_, _, third) = post_text(&v1, &request).await;
    assert_eq!(third, thinking);

    let (_, content_type, body) = post_text(
        &format!("{}/api/chat", server.url()),
        &json!({ "model": "native", "messages": user("weather?") }),
    )
    .await;
    assert_eq!(
        (content_type.as_str(), body),
        ("application/x-ndjson", ndjson)
    );
    let (status, body) = post_json(&v1, &json!({ "model": "whole", "messages": user("x") })).await;
    assert_eq!(status, 200);
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn chunk_delay_spreads_the_stream_out() {
    let delay = Duration::from_millis(60);
    let script = fixture("ollama/chat-stream-toolcall.sse"); // 4 events
    let server = server([ModelSpec::new("m")
        .reply(Reply::Sse(script.clone()))
        .chunk_delay(delay)])
    .await;
    let started = Instant::now();
    let mut response = client()
        .post(format!("{}/v1/chat/completions", server.url()))
        .json(&json!({ "model": "m", "messages": user("x"), "stream": true }))
        .send()
        .await
        .unwrap();
    let mut pieces = Vec::new();
    while let Some(piece) = response.chunk().await.unwrap() {
        pieces.push(String::from_utf8(piece.to_vec()).unwrap());
    }
    assert!(started.elapsed() >= delay * 3);
    assert_eq!(pieces.concat(), script);
    assert!(pieces.len() >= 2, "arrived in one piece: {pieces:?}");
}

#[tokio::test]
async fn chat_behaviour_applies_to_chat_only() {
    let server = server([
        ModelSpec::new("down").chat_behaviour(Behaviour::Status(
            500,
            r#"{"error":"llama runner process has terminated"}"#.to_owned(),
        )),
        ModelSpec::new("mangled").chat_behaviour(Behaviour::Garbage),
    ])
    .await;
    let (status, body) = post_json(
        &format!("{}/api/chat", server.url()),
        &json!({ "model": "down", "messages": user("hi") }),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            500,
            json!({ "error": "llama runner process has terminated" })
        )
    );
    let (status, _) = post_json(
        &format!("{}/api/show", server.url()),
        &json!({ "model": "down" }),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, body) = post_text(
        &format!("{}/v1/chat/completions", server.url()),
        &json!({ "model": "mangled", "messages": user("hi") }),
    )
    .await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&body).is_err());
}
