//! The WebSocket protocol on a real socket: handshake rules, every method, streamed chat
//! events, abort, exec approval, and bad input that must not hurt the server.

use std::time::Duration;

use futures_util::SinkExt;
use openclaw_agent::{Entry, Session};
use openclaw_llm::Role;
use openclaw_test_support::{ModelSpec, Reply};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::support::{call_stream, slow_model, states, text_stream, Fixture, Ws, TOKEN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_request_other_than_connect_closes_with_1008() {
    let f = Fixture::simple().await;
    let gw = f.gateway().await;
    let mut ws = Ws::open(&gw.ws_url()).await;
    ws.send_text(&json!({"type": "req", "id": "1", "method": "health"}).to_string())
        .await;
    let closed = ws.next().await.unwrap_err().unwrap();
    assert_eq!(closed.0, 1008, "{closed:?}");
    // Garbage first is no better.
    let mut ws = Ws::open(&gw.ws_url()).await;
    ws.send_text("{not json").await;
    assert_eq!(ws.next().await.unwrap_err().unwrap().0, 1008);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_gets_an_error_then_close_1008() {
    let f = Fixture::simple().await;
    let gw = f.gateway().await;
    let mut ws = Ws::open(&gw.ws_url()).await;
    ws.send_text(
        &json!({"type": "req", "id": "c1", "method": "connect", "params": {"token": "wrong"}})
            .to_string(),
    )
    .await;
    let res = ws.next().await.unwrap();
    assert_eq!(res["type"], "res");
    assert_eq!(res["id"], "c1");
    assert_eq!(res["ok"], false);
    assert_eq!(res["error"]["code"], "unauthorized");
    assert_eq!(ws.next().await.unwrap_err().unwrap().0, 1008);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_then_every_read_method() {
    let f = Fixture::new(vec![
        ModelSpec::new("m"),
        ModelSpec::new("think").capabilities(&["completion", "tools", "thinking"]),
    ])
    .await;
    // A session written the way `openclaw agent` writes it shows up in the page.
    let mut s = Session::open(&f.sessions_dir(), "from-cli", &f.workspace()).unwrap();
    s.append(Entry::Message {
        role: Role::User,
        content: "asked on the command line".into(),
        tool_calls: vec![],
        thinking: None,
        model: None,
        ts: 1,
    })
    .unwrap();
    drop(s);
    let gw = f.gateway().await;
    let mut ws = Ws::open(&gw.ws_url()).await;
    let res = ws
        .request(
            "connect",
            json!({"token": TOKEN, "client": {"name": "test", "version": "1"}}),
        )
        .await;
    assert_eq!(res["ok"], true, "{res}");
    let p = &res["payload"];
    assert_eq!(p["protocol"], 1);
    assert_eq!(p["server"]["name"], "openclaw-rs");
    assert_eq!(p["agentId"], "main");
    assert_eq!(p["defaultModel"], "ollama/m:latest");

    let health = ws.request("health", json!({})).await;
    assert_eq!(health["payload"]["ok"], true);
    assert!(health["payload"]["uptimeMs"].is_u64());

    let models = ws.request("models.list", json!({})).await;
    let list = models["payload"]["models"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{models}");
    let think = list
        .iter()
        .find(|m| m["key"] == "ollama/think:latest")
        .unwrap();
    assert_eq!(think["reasoning"], true);
    assert!(think["contextWindow"].is_u64());
    assert_eq!(think["input"], json!(["text"]));
    let m = list.iter().find(|m| m["key"] == "ollama/m:latest").unwrap();
    assert!(
        m["tags"].as_array().unwrap().contains(&json!("default")),
        "{m}"
    );
    assert_eq!(models["payload"]["defaultModel"], "ollama/m:latest");

    let sessions = ws.request("sessions.list", Value::Null).await;
    let list = sessions["payload"]["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["sessionId"], "from-cli");
    assert_eq!(list[0]["title"], "asked on the command line");
    assert_eq!(list[0]["messages"], 1);

    let history = ws
        .request("chat.history", json!({"sessionId": "from-cli"}))
        .await;
    assert_eq!(history["payload"]["messages"][0]["role"], "user");
    assert_eq!(
        history["payload"]["messages"][0]["content"],
        "asked on the command line"
    );
    let missing = ws
        .request("chat.history", json!({"sessionId": "nope"}))
        .await;
    assert_eq!(missing["error"]["code"], "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_errors_and_the_socket_lives_on() {
    let f = Fixture::simple().await;
    let gw = f.gateway().await;
    let mut ws = gw.ws().await;
    ws.send_text("{oops").await;
    let res = ws.next().await.unwrap();
    assert_eq!(res["ok"], false);
    assert_eq!(res["error"]["code"], "bad_request");
    let res = ws.request("no.such.method", json!({})).await;
    assert_eq!(res["error"]["code"], "not_found");
    let res = ws.request("chat.send", json!({"message": 5})).await;
    assert_eq!(res["error"]["code"], "bad_request");
    let res = ws
        .request(
            "chat.send",
            json!({"message": "hi", "sessionId": "../../etc"}),
        )
        .await;
    assert_eq!(res["error"]["code"], "bad_request");
    let res = ws
        .request("chat.send", json!({"message": "hi", "thinking": "max"}))
        .await;
    assert_eq!(res["error"]["code"], "bad_request");
    let res = ws
        .request("exec.approve", json!({"approvalId": "x", "approve": true}))
        .await;
    assert_eq!(res["error"]["code"], "not_found");
    let res = ws.request("chat.abort", json!({"runId": "nope"})).await;
    assert_eq!(res["payload"]["aborted"], false);
    ws.socket
        .send(Message::Binary(vec![0u8, 1, 2].into()))
        .await
        .unwrap();
    let res = ws.next().await.unwrap();
    assert_eq!(res["error"]["code"], "bad_request");
    // Under the 1 MiB frame limit but ~400 000 values: refused unparsed (memory), not closed.
    ws.send_text(&format!("[{}0]", "0,".repeat(400_000))).await;
    let res = ws.next().await.unwrap();
    assert_eq!(res["error"]["code"], "bad_request");
    let message = res["error"]["message"].as_str().unwrap();
    assert!(message.contains("more than 16384 JSON values"), "{message}");
    assert_eq!(ws.request("health", json!({})).await["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_over_1_mib_close_with_1009() {
    let f = Fixture::simple().await;
    let gw = f.gateway().await;
    let mut ws = gw.ws().await;
    let huge = json!({"type": "req", "id": "big", "method": "chat.send",
        "params": {"message": "x".repeat(2 * 1024 * 1024)}});
    // The server may close while we are still sending.
    let _ = ws.socket.send(Message::Text(huge.to_string().into())).await;
    let closed = ws.next().await.unwrap_err();
    assert_eq!(closed.map(|c| c.0), Some(1009));
    // The gateway is fine.
    let mut again = gw.ws().await;
    assert_eq!(again.request("health", json!({})).await["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_websocket_is_refused_at_the_handshake() {
    let f = Fixture::simple().await;
    let gw = f.gateway().await;
    let mut request = gw.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let err = tokio_tungstenite::connect_async(request).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
}

/// More text than the backlog a socket may fall behind (1 MiB): the model is paced to the
/// socket, and every byte still arrives, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_larger_than_the_backlog_arrives_whole() {
    let piece = "0123456789abcdef".repeat(4096); // 64 KiB
    let pieces: Vec<&str> = std::iter::repeat_n(piece.as_str(), 48).collect(); // 3 MiB
    let f = Fixture::new(vec![
        ModelSpec::new("m").reply(Reply::Sse(text_stream(&pieces)))
    ])
    .await;
    let gw = f.gateway().await;
    let mut ws = gw.ws().await;
    let res = ws
        .request("chat.send", json!({"message": "a lot", "sessionId": "big"}))
        .await;
    assert_eq!(res["ok"], true, "{res}");
    // Let the run get ahead of a socket nobody reads yet.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = tokio::time::timeout(Duration::from_secs(60), ws.run_events())
        .await
        .expect("the paced run never finished");
    let streamed: String = events
        .iter()
        .filter(|e| e["payload"]["state"] == "delta")
        .map(|e| e["payload"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(streamed.len(), 48 * 64 * 1024);
    assert_eq!(streamed, pieces.concat());
    let last = &events[events.len() - 1]["payload"];
    assert_eq!(last["state"], "final");
    assert_eq!(last["answer"].as_str().unwrap().len(), 48 * 64 * 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_chat_over_the_websocket() {
    let f = Fixture::new(vec![ModelSpec::new("m")
        .reply(Reply::Sse(text_stream(&["Hel", "lo ", "there"])))
        .chunk_delay(Duration::from_millis(10))])
    .await;
    let gw = f.gateway().await;
    let mut ws = gw.ws().await;
    let res = ws
        .request(
            "chat.send",
            json!({"message": "greet me", "sessionId": "web-1"}),
        )
        .await;
    assert_eq!(res["ok"], true, "{res}");
    let run_id = res["payload"]["runId"].as_str().unwrap().to_string();
    assert_eq!(res["payload"]["sessionId"], "web-1");
    let events = ws.run_events().await;
    assert_eq!(
        states(&events),
        ["model", "delta", "delta", "delta", "final"],
        "{events:#?}"
    );
    for e in &events {
        assert_eq!(e["event"], "chat");
        assert_eq!(e["payload"]["runId"], run_id.as_str());
        assert_eq!(e["payload"]["sessionId"], "web-1");
    }
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(events[0]["payload"]["model"], "ollama/m:latest");
    let last = &events[events.len() - 1]["payload"];
    assert_eq!(last["answer"], "Hello there");
    assert_eq!(last["model"], "ollama/m:latest");
    assert!(last["usage"]["completionTokens"].is_u64());
    // The history the page reloads, and the list.
    let h = ws
        .request("chat.history", json!({"sessionId": "web-1"}))
        .await;
    let messages = h["payload"]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["content"], "Hello there");
    assert_eq!(messages[1]["model"], "ollama/m:latest");
    let list = ws.request("sessions.list", json!({})).await;
    assert_eq!(list["payload"]["sessions"][0]["title"], "greet me");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_abort_stops_a_run_mid_stream() {
    let f = Fixture::new(vec![slow_model("m", 200, Duration::from_millis(50))]).await;
    let gw = f.gateway().await;
    let mut ws = gw.ws().await;
    let res = ws
        .request("chat.send", json!({"message": "go on and on"}))
        .await;
    let run_id = res["payload"]["runId"].as_str().unwrap().to_string();
    let session_id = res["payload"]["sessionId"].as_str().unwrap().to_string();
    loop {
        let e = ws.chat_event().await;
        if e["payload"]["state"] == "delta" {
            break;
        }
    }
    // A second message on the same session is refused while the run goes on.
    let busy = ws
        .request(
            "chat.send",
            json!({"message": "me too", "sessionId": session_id}),
        )
        .await;
    assert_eq!(busy["error"]["code"], "bad_request", "{busy}");
    let res = ws.request("chat.abort", json!({"runId": run_id})).await;
    assert_eq!(res["payload"]["aborted"], true);
    let events = ws.run_events().await;
    assert_eq!(states(&events).last().map(String::as_str), Some("aborted"));
    gw.wait_runs_idle().await;
    // The session takes a new message right away.
    let res = ws
        .request(
            "chat.send",
            json!({"message": "again", "sessionId": session_id}),
        )
        .await;
    assert_eq!(res["ok"], true, "{res}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_approval_round_trip() {
    let f = Fixture::new(vec![ModelSpec::new("m")
        .reply(Reply::Sse(call_stream(
            "exec",
            &json!({"command": "touch approved.txt"}),
        )))
        .reply(Reply::Sse(text_stream(&["done"])))])
    .await;
    let gw = f.gateway().await;
    let mut ws = gw.ws().await;
    let res = ws
        .request("chat.send", json!({"message": "make the file"}))
        .await;
    assert_eq!(res["ok"], true);
    let approval = loop {
        let e = ws.chat_event().await;
        if e["payload"]["state"] == "approval" {
            break e;
        }
    };
    assert_eq!(approval["payload"]["command"], "touch approved.txt");
    let id = approval["payload"]["approvalId"].as_str().unwrap();
    let res = ws
        .request("exec.approve", json!({"approvalId": id, "approve": true}))
        .await;
    assert_eq!(res["payload"]["ok"], true, "{res}");
    let events = ws.run_events().await;
    let result = events
        .iter()
        .find(|e| e["payload"]["state"] == "tool" && e["payload"]["phase"] == "result")
        .expect("a tool result");
    assert_eq!(result["payload"]["isError"], false, "{result}");
    assert_eq!(result["payload"]["tool"]["name"], "exec");
    assert_eq!(events.last().unwrap()["payload"]["answer"], "done");
    assert!(f.workspace().join("approved.txt").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_approval_is_denied_after_the_timeout() {
    let f = Fixture::new(vec![ModelSpec::new("m")
        .reply(Reply::Sse(call_stream(
            "exec",
            &json!({"command": "touch nope.txt"}),
        )))
        .reply(Reply::Sse(text_stream(&["ok"])))])
    .await;
    let gw = f
        .gateway_with(openclaw_gateway::Limits {
            approval_timeout: Duration::from_millis(200),
            ..Default::default()
        })
        .await;
    let mut ws = gw.ws().await;
    ws.request("chat.send", json!({"message": "make it"})).await;
    let events = ws.run_events().await;
    assert!(states(&events).contains(&"approval".to_string()));
    let result = events
        .iter()
        .find(|e| e["payload"]["phase"] == "result")
        .unwrap();
    assert_eq!(result["payload"]["isError"], true);
    assert!(result["payload"]["result"]
        .as_str()
        .unwrap()
        .contains("denied"));
    assert!(!f.workspace().join("nope.txt").exists());
}
