//! The OpenAI-compatible API on a real socket: auth, a streamed chat relayed from the model
//! server, sessions keyed by `user`, and a client that disconnects mid-stream.

use std::time::Duration;

use openclaw_test_support::{ModelSpec, Reply};
use serde_json::{json, Value};

use super::support::{
    eventually, http, slow_model, sse_content, sse_data, text_stream, Fixture, TOKEN,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_auth_is_refused_then_accepted() {
    let f = Fixture::simple().await;
    let gw = f.gateway().await;
    let c = http();
    let r = c.get(gw.url("/v1/models")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
    let r = c
        .get(gw.url("/v1/models"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .get(gw.url("/v1/models"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c.get(gw.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_chat_is_relayed_as_openai_chunks() {
    let f = Fixture::new(vec![ModelSpec::new("m")
        .reply(Reply::Sse(text_stream(&["The answer", " is ", "42."])))
        .chunk_delay(Duration::from_millis(20))])
    .await;
    let gw = f.gateway().await;
    let r = http()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(TOKEN)
        .json(&json!({
            "model": "openclaw",
            "stream": true,
            "stream_options": {"include_usage": true},
            "user": "alice",
            "messages": [{"role": "user", "content": "what is the answer?"}],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let body = r.text().await.unwrap();
    let data = sse_data(&body);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{body}");
    assert_eq!(sse_content(&data), "The answer is 42.");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk"));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert!(chunks[chunks.len() - 1]["usage"]["total_tokens"].is_u64());
    // The run used the CLI's transcript, keyed by the OpenAI `user`.
    let transcript = std::fs::read_to_string(f.sessions_dir().join("openai-alice.jsonl")).unwrap();
    assert!(transcript.contains("what is the answer?"), "{transcript}");
    assert!(transcript.contains("The answer is 42."), "{transcript}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_keeps_one_session_across_requests() {
    let f = Fixture::simple().await;
    let gw = f.gateway().await;
    for text in ["first question", "second question"] {
        let r = http()
            .post(gw.url("/v1/chat/completions"))
            .bearer_auth(TOKEN)
            .json(&json!({"model": "openclaw/main", "user": "bob",
                "messages": [{"role": "user", "content": text}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // The second request sent the first exchange to the model: one session.
    let chats: Vec<Value> = f
        .server
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/chat/completions")
        .filter_map(|r| r.json())
        .collect();
    assert_eq!(chats.len(), 2);
    let second = chats[1]["messages"].to_string();
    assert!(
        second.contains("first question") && second.contains("second question"),
        "{second}"
    );
    let files: Vec<_> = std::fs::read_dir(f.sessions_dir()).unwrap().collect();
    assert_eq!(files.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_user_the_earlier_messages_seed_a_fresh_session() {
    let f = Fixture::simple().await;
    let gw = f.gateway().await;
    let r = http()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(TOKEN)
        .json(&json!({"messages": [
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "earlier question"},
            {"role": "assistant", "content": "earlier answer"},
            {"role": "user", "content": "now this"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sent = f
        .server
        .requests()
        .iter()
        .rfind(|r| r.path == "/v1/chat/completions")
        .and_then(|r| r.json())
        .unwrap();
    let messages = sent["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    assert!(messages[0]["content"]
        .as_str()
        .unwrap()
        .contains("Answer in French."));
    let texts: Vec<&str> = messages[1..]
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["earlier question", "earlier answer", "now this"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_mid_stream_stops_the_run() {
    let f = Fixture::new(vec![slow_model("m", 200, Duration::from_millis(50))]).await;
    let gw = f.gateway().await;
    let mut r = http()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(TOKEN)
        .json(&json!({"stream": true, "user": "carol",
            "messages": [{"role": "user", "content": "talk for a while"}]}))
        .send()
        .await
        .unwrap();
    // Wait for real content, then hang up.
    let mut seen = String::new();
    while !seen.contains("w1 ") {
        let chunk = r.chunk().await.unwrap().expect("stream ended early");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert_eq!(gw.state.active_runs(), 1);
    drop(r);
    gw.wait_runs_idle().await;
    // The transcript keeps the question; the unfinished answer is not written as complete.
    let transcript = std::fs::read_to_string(f.sessions_dir().join("openai-carol.jsonl")).unwrap();
    assert!(transcript.contains("talk for a while"));
    assert!(!transcript.contains("w199"), "{transcript}");
    // The session is free again at once.
    let state = gw.state.clone();
    eventually("the session lock is free", || {
        state.session_lock("openai-carol").try_lock().is_ok()
    })
    .await;
}

/// `agents.defaults.thinkingDefault` is the level of a request that names none; a request's
/// `reasoning_effort` still wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thinking_default_applies_when_a_request_names_no_effort() {
    let f = Fixture::new(vec![ModelSpec::new("thinker").capabilities(&[
        "completion",
        "tools",
        "thinking",
    ])])
    .await;
    let listener = openclaw_gateway::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let mut options = f.options(addr, openclaw_gateway::Limits::default());
    options.config.agents.defaults.thinking_default = Some(openclaw_config::ThinkingLevel::Medium);
    let state = openclaw_gateway::AppState::new(options);
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(openclaw_gateway::serve(listener, state, async {
        let _ = stopped.await;
    }));
    for extra in [json!({}), json!({"reasoning_effort": "low"})] {
        let mut body = json!({"model": "openclaw/main",
            "messages": [{"role": "user", "content": "think"}]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let r = http()
            .post(format!("http://{addr}/v1/chat/completions"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    let efforts: Vec<Value> = f
        .server
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/chat/completions")
        .filter_map(|r| r.json())
        .map(|b| b["reasoning_effort"].clone())
        .collect();
    assert_eq!(efforts, vec![json!("medium"), json!("low")]);
}
