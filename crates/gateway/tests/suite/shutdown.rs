//! Graceful shutdown: running streams may finish within the grace period; past it they end
//! cleanly (an error chunk and `[DONE]`, an `error` event); WebSockets close with 1001.

use std::time::{Duration, Instant};

use serde_json::json;

use super::support::{http, slow_model, sse_content, sse_data, Fixture, TOKEN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_stream_finishes_after_the_shutdown_signal() {
    let f = Fixture::new(vec![slow_model("m", 10, Duration::from_millis(50))]).await;
    let mut gw = f.gateway().await;
    let mut r = http()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(TOKEN)
        .json(&json!({"stream": true, "messages": [{"role": "user", "content": "count"}]}))
        .send()
        .await
        .unwrap();
    let mut body = String::new();
    while !body.contains("w0") {
        body.push_str(&String::from_utf8_lossy(&r.chunk().await.unwrap().unwrap()));
    }
    gw.shutdown();
    while let Some(chunk) = r.chunk().await.unwrap() {
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    let data = sse_data(&body);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    assert_eq!(sse_content(&data), "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 ");
    tokio::time::timeout(Duration::from_secs(10), &mut gw.task)
        .await
        .expect("serve returns once the stream is done")
        .unwrap();
    // Nothing listens any more.
    assert!(http().get(gw.url("/health")).send().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_grace_period_runs_end_cleanly() {
    let f = Fixture::new(vec![slow_model("m", 500, Duration::from_millis(50))]).await;
    let mut gw = f
        .gateway_with(openclaw_gateway::Limits {
            shutdown_grace: Duration::from_millis(300),
            ..Default::default()
        })
        .await;
    let mut ws = gw.ws().await;
    let res = ws
        .request(
            "chat.send",
            json!({"message": "long story", "sessionKey": "main", "idempotencyKey": "story"}),
        )
        .await;
    assert_eq!(res["ok"], true);
    let mut r = http()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(TOKEN)
        .json(&json!({"stream": true, "messages": [{"role": "user", "content": "long"}]}))
        .send()
        .await
        .unwrap();
    let mut body = String::new();
    while !body.contains("w0") {
        body.push_str(&String::from_utf8_lossy(&r.chunk().await.unwrap().unwrap()));
    }
    let started = Instant::now();
    gw.shutdown();
    while let Some(chunk) = r.chunk().await.unwrap() {
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    let data = sse_data(&body);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{body}");
    let error: serde_json::Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(error["error"]["code"], "shutting_down", "{error}");
    // The WebSocket hears the shutdown, its run ends with an error event, then the socket
    // closes with 1001.
    let events = ws.run_events("story").await;
    let last = &events.last().unwrap()["payload"];
    assert_eq!(last["state"], "error");
    assert_eq!(last["errorKind"], "shutdown");
    let closed = loop {
        match ws.next().await {
            Ok(_) => continue,
            Err(c) => break c,
        }
    };
    assert_eq!(closed.map(|c| c.0), Some(1001));
    tokio::time::timeout(Duration::from_secs(5), &mut gw.task)
        .await
        .unwrap()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
}
