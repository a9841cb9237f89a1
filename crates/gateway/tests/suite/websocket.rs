//! The WebSocket protocol on a real socket (OpenClaw's protocol v4 on `/`): the handshake and
//! its refusals, scopes, every method, streamed `agent`/`chat` events, abort, idempotent
//! retries, exec approvals, and bad input that must not hurt the server.

use std::time::Duration;

use futures_util::SinkExt;
use openclaw_agent::{Entry, Session};
use openclaw_gateway::protocol::{EVENTS, METHODS};
use openclaw_llm::Role;
use openclaw_test_support::{ModelSpec, Reply};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::support::{
    agent_stream, call_stream, connect_params, slow_model, states, streamed_text, text_stream,
    Fixture, Ws, TOKEN,
};

const ALL: &[&str] = &[
    "operator.read",
    "operator.write",
    "operator.admin",
    "operator.approvals",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_challenge_comes_first_and_connect_must_answer_it() {
    let f = Fixture::simple().await;
    let gw = f.gateway().await;
    let ws = Ws::open(&gw.ws_url()).await;
    let challenge = &ws.challenge["payload"];
    assert!(challenge["nonce"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(challenge["ts"].as_u64().unwrap() > 1_700_000_000_000);
    // Any other first request closes the socket.
    let mut ws = ws;
    ws.send_text(&json!({"type": "req", "id": "1", "method": "health"}).to_string())
        .await;
    assert_eq!(ws.next().await.unwrap_err().unwrap().0, 1008);
    // Garbage first is no better.
    let mut ws = Ws::open(&gw.ws_url()).await;
    ws.send_text("{not json").await;
    assert_eq!(ws.next().await.unwrap_err().unwrap().0, 1008);
    // Nor is a big frame before `connect`.
    let mut ws = Ws::open(&gw.ws_url()).await;
    let _ = ws
        .socket
        .send(Message::Text("x".repeat(100 * 1024).into()))
        .await;
    assert_eq!(ws.next().await.unwrap_err().unwrap().0, 1009);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protocol_we_do_not_speak_gets_the_originals_mismatch() {
    let f = Fixture::simple().await;
    let gw = f.gateway().await;
    let mut ws = Ws::open(&gw.ws_url()).await;
    let mut p = connect_params(Some(TOKEN), ALL);
    p["minProtocol"] = json!(5);
    p["maxProtocol"] = json!(6);
    let res = ws.request("connect", p).await;
    assert_eq!(res["ok"], false);
    assert_eq!(res["error"]["code"], "INVALID_REQUEST");
    assert_eq!(res["error"]["message"], "protocol mismatch");
    assert_eq!(res["error"]["details"]["code"], "PROTOCOL_MISMATCH");
    assert_eq!(res["error"]["details"]["expectedProtocol"], 4);
    assert_eq!(
        ws.next().await.unwrap_err(),
        Some((1002, "protocol mismatch".to_string()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_or_missing_token_is_refused_then_closed_1008() {
    let f = Fixture::simple().await;
    let gw = f.gateway().await;
    for (token, detail) in [
        (Some("wrong"), "AUTH_TOKEN_MISMATCH"),
        (None, "AUTH_TOKEN_MISSING"),
    ] {
        let mut ws = Ws::open(&gw.ws_url()).await;
        let res = ws.request("connect", connect_params(token, ALL)).await;
        assert_eq!(res["ok"], false, "{res}");
        assert_eq!(res["error"]["code"], "INVALID_REQUEST");
        assert_eq!(res["error"]["details"]["code"], detail);
        let message = res["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("unauthorized: gateway token"),
            "{message}"
        );
        assert!(!message.contains(TOKEN));
        let closed = ws.next().await.unwrap_err().unwrap();
        assert_eq!(closed.0, 1008);
        assert_eq!(closed.1, message);
    }
    // Params that are not `connect` params: refused, closed.
    let mut ws = Ws::open(&gw.ws_url()).await;
    let res = ws.request("connect", json!({"token": TOKEN})).await;
    assert!(res["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("invalid connect params: "));
    assert_eq!(ws.next().await.unwrap_err().unwrap().0, 1008);
    // A node is not served.
    let mut ws = Ws::open(&gw.ws_url()).await;
    let mut p = connect_params(Some(TOKEN), &[]);
    p["role"] = json!("node");
    let res = ws.request("connect", p).await;
    assert_eq!(res["ok"], false);
    assert_eq!(ws.next().await.unwrap_err().unwrap().0, 1008);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_ok_reports_protocol_server_features_snapshot_and_policy() {
    let f = Fixture::simple().await;
    let gw = f.gateway().await;
    let mut ws = Ws::open(&gw.ws_url()).await;
    let mut p = connect_params(Some(TOKEN), &["operator.read", "operator.bogus"]);
    // A device identity (the original TUI sends one) is accepted unchecked.
    p["device"] =
        json!({"id": "d", "publicKey": "k", "signature": "s", "signedAt": 1, "nonce": "n"});
    let res = ws.request("connect", p).await;
    let hello = &res["payload"];
    assert_eq!(hello["type"], "hello-ok");
    assert_eq!(hello["protocol"], 4);
    assert_eq!(hello["server"]["name"], "openclaw-rs");
    assert!(hello["server"]["connId"].is_string());
    let methods: Vec<&str> = hello["features"]["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(methods.len(), METHODS.len());
    for m in [
        "health",
        "status",
        "agent",
        "agent.wait",
        "chat.send",
        "chat.history",
        "chat.abort",
        "sessions.list",
        "sessions.reset",
        "sessions.delete",
        "sessions.patch",
        "sessions.create",
        "models.list",
        "agents.list",
        "exec.approval.resolve",
    ] {
        assert!(methods.contains(&m), "{m}");
    }
    assert_eq!(
        hello["features"]["events"].as_array().unwrap().len(),
        EVENTS.len()
    );
    let defaults = &hello["snapshot"]["sessionDefaults"];
    assert_eq!(defaults["mainSessionKey"], "agent:main:main");
    assert_eq!(defaults["defaultAgentId"], "main");
    assert_eq!(hello["snapshot"]["health"]["ok"], true);
    assert_eq!(hello["auth"]["role"], "operator");
    assert_eq!(hello["auth"]["method"], "token");
    assert_eq!(hello["auth"]["scopes"], json!(["operator.read"]));
    assert!(hello["auth"].get("deviceToken").is_none());
    assert_eq!(hello["policy"]["maxPayload"], 1024 * 1024);
    assert_eq!(hello["policy"]["tickIntervalMs"], 30_000);
    // Read-only: writing is refused the original's way; an unknown method needs admin first.
    let res = ws
        .request(
            "chat.send",
            json!({"sessionKey": "main", "message": "hi", "idempotencyKey": "k"}),
        )
        .await;
    assert_eq!(res["error"]["code"], "FORBIDDEN");
    assert_eq!(res["error"]["message"], "missing scope: operator.write");
    assert_eq!(res["error"]["details"]["missingScope"], "operator.write");
    let res = ws.request("no.such.method", json!({})).await;
    assert_eq!(res["error"]["message"], "missing scope: operator.admin");
    assert_eq!(ws.request("health", json!({})).await["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_keep_an_idle_connection_alive() {
    let f = Fixture::simple().await;
    let gw = f
        .gateway_with(openclaw_gateway::Limits {
            ws_tick_interval: Duration::from_millis(100),
            ..Default::default()
        })
        .await;
    let mut ws = gw.ws().await;
    let tick = ws.next().await.unwrap();
    assert_eq!(tick["event"], "tick", "{tick}");
    assert!(tick["payload"]["ts"].is_u64());
    assert_eq!(tick["seq"], 1);
    assert_eq!(ws.next().await.unwrap()["seq"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_method() {
    let f = Fixture::new(vec![
        ModelSpec::new("m"),
        ModelSpec::new("think").capabilities(&["completion", "tools", "thinking"]),
    ])
    .await;
    // A session written the way `openclaw agent` writes it shows up.
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
    let mut ws = gw.ws().await;

    let health = ws.request("health", json!({})).await["payload"].clone();
    assert_eq!(health["ok"], true);
    assert_eq!(health["defaultAgentId"], "main");
    assert_eq!(health["sessions"]["count"], 1);
    assert_eq!(
        health["sessions"]["recent"][0]["key"],
        "agent:main:from-cli"
    );

    let status = ws.request("status", json!({})).await["payload"].clone();
    assert_eq!(status["sessions"]["count"], 1);
    assert_eq!(status["sessions"]["defaults"]["model"], "m:latest");

    let agents = ws.request("agents.list", json!({})).await["payload"].clone();
    assert_eq!(agents["defaultId"], "main");
    assert_eq!(agents["agents"][0]["id"], "main");
    assert_eq!(agents["agents"][0]["model"]["primary"], "ollama/m:latest");

    let models = ws.request("models.list", json!({})).await;
    let list = models["payload"]["models"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{models}");
    let think = list.iter().find(|m| m["id"] == "think:latest").unwrap();
    assert_eq!(think["provider"], "ollama");
    assert_eq!(think["reasoning"], true);
    assert!(think["contextWindow"].is_u64());

    let sessions = ws.request("sessions.list", Value::Null).await;
    let list = sessions["payload"]["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["key"], "agent:main:from-cli");
    assert_eq!(list[0]["sessionId"], "from-cli");
    assert_eq!(list[0]["displayName"], "asked on the command line");
    assert_eq!(list[0]["messageCount"], 1);
    assert_eq!(list[0]["hasActiveRun"], false);

    let d = ws
        .request("sessions.describe", json!({"key": "agent:main:from-cli"}))
        .await;
    assert_eq!(d["payload"]["session"]["sessionId"], "from-cli");
    let d = ws
        .request("sessions.describe", json!({"key": "agent:main:nope"}))
        .await;
    assert!(d["payload"]["session"].is_null(), "{d}");
    assert_eq!(
        ws.request("sessions.subscribe", json!({})).await["payload"]["subscribed"],
        true
    );
    // What the original TUI asks for at start: there is none of it here.
    for (method, empty) in [
        ("question.list", json!({"questions": []})),
        ("plugin.approval.list", json!([])),
        ("commands.list", json!({"commands": []})),
    ] {
        assert_eq!(
            ws.request(method, json!({})).await["payload"],
            empty,
            "{method}"
        );
    }

    let history = ws
        .request("chat.history", json!({"sessionKey": "agent:main:from-cli"}))
        .await;
    let p = &history["payload"];
    assert_eq!(p["sessionKey"], "agent:main:from-cli");
    assert_eq!(p["messages"][0]["role"], "user");
    assert_eq!(p["messages"][0]["content"], "asked on the command line");
    assert_eq!(p["hasMore"], false);
    // A key that has no transcript yet has no messages; one that cannot name a transcript,
    // or names another agent, is refused.
    let empty = ws
        .request("chat.history", json!({"sessionKey": "agent:main:new"}))
        .await;
    assert_eq!(empty["payload"]["messages"], json!([]));
    for bad in ["agent:main:../x", "agent:ops:main"] {
        let res = ws.request("chat.history", json!({"sessionKey": bad})).await;
        assert_eq!(res["error"]["code"], "INVALID_REQUEST", "{bad}: {res}");
    }
    let res = ws.request("chat.history", json!({})).await;
    assert!(res["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("invalid chat.history params: "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_errors_and_the_socket_lives_on() {
    let f = Fixture::simple().await;
    let gw = f.gateway().await;
    let mut ws = gw.ws().await;
    ws.send_text("{oops").await;
    let res = ws.next().await.unwrap();
    assert_eq!(res["ok"], false);
    assert_eq!(res["error"]["code"], "INVALID_REQUEST");
    let res = ws.request("no.such.method", json!({})).await;
    assert_eq!(res["error"]["message"], "unknown method: no.such.method");
    let res = ws
        .request("chat.send", json!({"sessionKey": "main", "message": 5}))
        .await;
    assert_eq!(res["error"]["code"], "INVALID_REQUEST");
    let res = ws
        .request(
            "chat.send",
            json!({"message": "hi", "sessionKey": "../../etc", "idempotencyKey": "a"}),
        )
        .await;
    assert_eq!(res["error"]["code"], "INVALID_REQUEST");
    let res = ws
        .request(
            "chat.send",
            json!({"message": "hi", "sessionKey": "main", "idempotencyKey": "b", "thinking": "extreme"}),
        )
        .await;
    assert_eq!(res["error"]["code"], "INVALID_REQUEST");
    let res = ws
        .request(
            "chat.send",
            json!({"message": "hi", "sessionKey": "main", "idempotencyKey": "c", "deliver": true}),
        )
        .await;
    assert_eq!(res["error"]["code"], "INVALID_REQUEST");
    let res = ws
        .request(
            "exec.approval.resolve",
            json!({"id": "x", "decision": "allow-once"}),
        )
        .await;
    assert_eq!(res["error"]["details"]["reason"], "APPROVAL_NOT_FOUND");
    let res = ws
        .request("chat.abort", json!({"sessionKey": "main", "runId": "nope"}))
        .await;
    assert_eq!(res["payload"]["aborted"], false);
    ws.socket
        .send(Message::Binary(vec![0u8, 1, 2].into()))
        .await
        .unwrap();
    let res = ws.next().await.unwrap();
    assert_eq!(res["error"]["code"], "INVALID_REQUEST");
    // Under the 1 MiB frame limit but ~400 000 values: refused unparsed (memory), not closed.
    ws.send_text(&format!("[{}0]", "0,".repeat(400_000))).await;
    let res = ws.next().await.unwrap();
    assert_eq!(res["error"]["code"], "INVALID_REQUEST");
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
        .request(
            "chat.send",
            json!({"message": "a lot", "sessionKey": "big", "idempotencyKey": "big-1"}),
        )
        .await;
    assert_eq!(res["ok"], true, "{res}");
    // Let the run get ahead of a socket nobody reads yet.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = tokio::time::timeout(Duration::from_secs(60), ws.run_events("big-1"))
        .await
        .expect("the paced run never finished");
    let streamed = streamed_text(&events);
    assert_eq!(streamed.len(), 48 * 64 * 1024);
    assert_eq!(streamed, pieces.concat());
    let last = &events[events.len() - 1]["payload"];
    assert_eq!(last["state"], "final");
    let text = last["message"]["content"][0]["text"].as_str().unwrap();
    assert_eq!(text.len(), 48 * 64 * 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_chat_over_the_websocket() {
    let f = Fixture::new(vec![ModelSpec::new("m")
        .reply(Reply::Sse(text_stream(&["Hel", "lo ", "there"])))
        .chunk_delay(Duration::from_millis(100))])
    .await;
    let gw = f.gateway().await;
    let mut ws = gw.ws().await;
    // Another client sees the run too.
    let mut watcher = gw.ws_with_scopes(&["operator.read"]).await;
    let res = ws
        .request(
            "chat.send",
            json!({"message": "greet me", "sessionKey": "agent:main:web-1", "idempotencyKey": "run-a"}),
        )
        .await;
    assert_eq!(res["ok"], true, "{res}");
    assert_eq!(
        res["payload"],
        json!({"runId": "run-a", "status": "started"})
    );
    let events = ws.run_events("run-a").await;
    let chat = states(&events);
    assert_eq!(
        chat.last().map(String::as_str),
        Some("final"),
        "{events:#?}"
    );
    assert!(
        chat[..chat.len() - 1].iter().all(|s| s == "delta"),
        "{chat:?}"
    );
    assert_eq!(streamed_text(&events), "Hello there");
    for e in &events {
        assert_eq!(e["payload"]["runId"], "run-a");
        assert_eq!(e["payload"]["sessionKey"], "agent:main:web-1");
    }
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let lifecycle = agent_stream(&events, "lifecycle");
    let phases: Vec<&str> = lifecycle
        .iter()
        .map(|d| d["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["start", "model", "end"], "{events:#?}");
    assert_eq!(lifecycle[1]["provider"], "ollama");
    assert_eq!(lifecycle[1]["model"], "m:latest");
    let assistant = agent_stream(&events, "assistant");
    assert_eq!(assistant.last().unwrap()["text"], "Hello there");
    let last = &events[events.len() - 1]["payload"];
    assert_eq!(last["stopReason"], "stop");
    assert_eq!(last["message"]["role"], "assistant");
    assert_eq!(
        last["message"]["content"],
        json!([{"type": "text", "text": "Hello there"}])
    );
    assert_eq!(last["message"]["model"], "m:latest");
    assert!(last["message"]["usage"]["output"].is_u64());
    let seen = watcher.run_events("run-a").await;
    assert_eq!(streamed_text(&seen), "Hello there");
    // The history, and the list.
    let h = ws
        .request("chat.history", json!({"sessionKey": "agent:main:web-1"}))
        .await;
    let messages = h["payload"]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["content"][0]["text"], "Hello there");
    assert_eq!(messages[1]["model"], "m:latest");
    let list = ws.request("sessions.list", json!({})).await;
    assert_eq!(list["payload"]["sessions"][0]["displayName"], "greet me");
    // A retry with the same key starts nothing new.
    let again = ws
        .request(
            "chat.send",
            json!({"message": "greet me", "sessionKey": "agent:main:web-1", "idempotencyKey": "run-a"}),
        )
        .await;
    assert_eq!(again["payload"], json!({"runId": "run-a", "status": "ok"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_answers_twice_and_a_retry_gets_the_first_outcome() {
    let f = Fixture::new(vec![ModelSpec::new("m")
        .reply(Reply::Sse(text_stream(&["Hi ", "from m"])))
        .reply(Reply::Sse(text_stream(&["never asked"])))])
    .await;
    let gw = f.gateway().await;
    let mut ws = gw.ws_with_scopes(&["operator.write"]).await;
    let params =
        json!({"message": "hello", "sessionKey": "agent:main:peer", "idempotencyKey": "idem-1"});
    let (accepted, done) = ws.request_final("agent", params.clone()).await;
    let a = &accepted["payload"];
    assert_eq!(a["status"], "accepted", "{accepted}");
    assert_eq!(a["runId"], "idem-1");
    assert_eq!(a["sessionKey"], "agent:main:peer");
    assert_eq!(a["agentId"], "main");
    let d = &done["payload"];
    assert_eq!(done["ok"], true, "{done}");
    assert_eq!(d["status"], "ok");
    assert_eq!(d["summary"], "completed");
    assert_eq!(d["result"]["payloads"][0]["text"], "Hi from m");
    assert_eq!(d["result"]["meta"]["agentMeta"]["model"], "m:latest");
    // The chat events came before the final answer.
    assert!(ws.events.iter().any(|e| e["payload"]["state"] == "final"));
    // The same key again: the first outcome, no second run.
    let retry = ws.request("agent", params).await;
    assert_eq!(retry["payload"]["status"], "ok");
    assert_eq!(
        retry["payload"]["result"]["payloads"][0]["text"],
        "Hi from m"
    );
    let chats = f
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("chat"))
        .count();
    assert_eq!(chats, 1, "one model request");
    let wait = ws
        .request("agent.wait", json!({"runId": "idem-1", "timeoutMs": 1000}))
        .await;
    assert_eq!(wait["payload"]["status"], "ok");
    assert!(wait["payload"]["endedAt"].is_u64());
    let unknown = ws
        .request("agent.wait", json!({"runId": "nope", "timeoutMs": 50}))
        .await;
    assert_eq!(
        unknown["payload"],
        json!({"runId": "nope", "status": "timeout"})
    );
    // `--session-id` names a transcript directly; no session at all is the main one.
    let (_, done) = ws
        .request_final(
            "agent",
            json!({"message": "x", "sessionId": "abc", "idempotencyKey": "idem-2"}),
        )
        .await;
    assert_eq!(
        done["payload"]["result"]["meta"]["agentMeta"]["sessionKey"],
        "agent:main:abc"
    );
    assert!(f.sessions_dir().join("abc.jsonl").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_wait_waits_for_a_running_run() {
    let f = Fixture::new(vec![slow_model("m", 10, Duration::from_millis(30))]).await;
    let gw = f.gateway().await;
    let mut ws = gw.ws().await;
    let res = ws
        .request("agent", json!({"message": "go", "idempotencyKey": "w-1"}))
        .await;
    assert_eq!(res["payload"]["status"], "accepted");
    assert_eq!(res["payload"]["sessionKey"], "agent:main:main");
    let mut other = gw.ws().await;
    let retry = other
        .request("agent", json!({"message": "go", "idempotencyKey": "w-1"}))
        .await;
    assert_eq!(retry["payload"]["status"], "in_flight");
    let wait = other
        .request("agent.wait", json!({"runId": "w-1", "timeoutMs": 10_000}))
        .await;
    assert_eq!(wait["payload"]["status"], "ok", "{wait}");
}

/// A run outlives the socket that started it (what `gateway call agent` without
/// `--expect-final` relies on): another connection waits for it and reads its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_outlives_the_socket_that_started_it() {
    let piece = "0123456789abcdef".repeat(4096); // 64 KiB
    let pieces: Vec<&str> = std::iter::repeat_n(piece.as_str(), 48).collect(); // 3 MiB
    let f = Fixture::new(vec![
        slow_model("m", 20, Duration::from_millis(30)),
        ModelSpec::new("big").reply(Reply::Sse(text_stream(&pieces))),
    ])
    .await;
    let gw = f.gateway().await;
    // More than the 1 MiB a socket may fall behind, and nobody reads: once the socket is gone
    // the run is no longer held back.
    let mut ws = gw.ws().await;
    ws.request(
        "agent",
        json!({"message": "a lot", "sessionKey": "big", "idempotencyKey": "gone-big", "model": "ollama/big"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(ws);
    let mut ws = gw.ws().await;
    let res = ws
        .request(
            "agent",
            json!({"message": "go", "sessionKey": "left", "idempotencyKey": "gone-1"}),
        )
        .await;
    assert_eq!(res["payload"]["status"], "accepted");
    ws.socket.close(None).await.unwrap();
    drop(ws);
    let mut other = gw.ws().await;
    let wait = other
        .request(
            "agent.wait",
            json!({"runId": "gone-1", "timeoutMs": 10_000}),
        )
        .await;
    assert_eq!(wait["payload"]["status"], "ok", "{wait}");
    let h = other
        .request("chat.history", json!({"sessionKey": "left"}))
        .await;
    let text = h["payload"]["messages"][1]["content"][0]["text"]
        .as_str()
        .unwrap();
    assert!(text.starts_with("w0 w1 ") && text.ends_with("w19 "), "{h}");
    let wait = other
        .request(
            "agent.wait",
            json!({"runId": "gone-big", "timeoutMs": 30_000}),
        )
        .await;
    assert_eq!(wait["payload"]["status"], "ok", "{wait}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_abort_stops_a_run_mid_stream() {
    let f = Fixture::new(vec![slow_model("m", 200, Duration::from_millis(50))]).await;
    let gw = f.gateway().await;
    let mut ws = gw.ws().await;
    let res = ws
        .request(
            "chat.send",
            json!({"message": "go on and on", "sessionKey": "long", "idempotencyKey": "r1"}),
        )
        .await;
    assert_eq!(res["ok"], true);
    loop {
        let e = ws.event().await;
        if e["payload"]["state"] == "delta" {
            break;
        }
    }
    // A second message on the same session is refused while the run goes on.
    let busy = ws
        .request(
            "chat.send",
            json!({"message": "me too", "sessionKey": "long", "idempotencyKey": "r2"}),
        )
        .await;
    assert_eq!(busy["error"]["code"], "UNAVAILABLE", "{busy}");
    let list = ws.request("sessions.list", json!({})).await;
    assert_eq!(
        list["payload"]["sessions"][0]["activeRunIds"],
        json!(["r1"])
    );
    // Nor can it be reset meanwhile.
    let reset = ws.request("sessions.reset", json!({"key": "long"})).await;
    assert_eq!(reset["error"]["code"], "UNAVAILABLE", "{reset}");
    let res = ws
        .request("chat.abort", json!({"sessionKey": "agent:main:long"}))
        .await;
    assert_eq!(
        res["payload"],
        json!({"ok": true, "aborted": true, "runIds": ["r1"]})
    );
    let events = ws.run_events("r1").await;
    let last = &events.last().unwrap()["payload"];
    assert_eq!(last["state"], "aborted");
    assert!(last["message"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("w0 "));
    let end = agent_stream(&events, "lifecycle");
    assert_eq!(end.last().unwrap()["aborted"], true);
    gw.wait_runs_idle().await;
    // The session takes a new message right away.
    let res = ws
        .request(
            "chat.send",
            json!({"message": "again", "sessionKey": "long", "idempotencyKey": "r3"}),
        )
        .await;
    assert_eq!(res["ok"], true, "{res}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_patch_reset_and_delete() {
    let f = Fixture::new(vec![
        ModelSpec::new("m").reply(Reply::Sse(text_stream(&["from m"]))),
        ModelSpec::new("other").reply(Reply::Sse(text_stream(&["from other"]))),
    ])
    .await;
    let gw = f.gateway().await;
    let mut ws = gw.ws().await;
    let res = ws
        .request(
            "sessions.patch",
            json!({"key": "agent:main:s", "model": "ollama/other", "thinkingLevel": "low"}),
        )
        .await;
    assert_eq!(res["payload"]["ok"], true, "{res}");
    assert_eq!(res["payload"]["entry"]["model"], "other");
    assert_eq!(res["payload"]["entry"]["modelProvider"], "ollama");
    assert_eq!(res["payload"]["entry"]["thinkingLevel"], "low");
    for bad in [
        json!({"key": "s", "model": "ollama/nope"}),
        json!({"key": "s", "thinkingLevel": "extreme"}),
    ] {
        let res = ws.request("sessions.patch", bad.clone()).await;
        assert_eq!(res["error"]["code"], "INVALID_REQUEST", "{bad}: {res}");
    }
    // The session's model answers.
    let (_, done) = ws
        .request_final(
            "agent",
            json!({"message": "who?", "sessionKey": "s", "idempotencyKey": "p-1"}),
        )
        .await;
    assert_eq!(
        done["payload"]["result"]["payloads"][0]["text"],
        "from other"
    );
    let history = ws.request("chat.history", json!({"sessionKey": "s"})).await;
    assert_eq!(history["payload"]["defaults"]["model"], "other");
    // Clearing it goes back to the default; the setting survives a restart.
    assert!(f.dir.path().join("gateway/session-settings.json").exists());
    let res = ws
        .request("sessions.patch", json!({"key": "s", "model": null}))
        .await;
    assert!(res["payload"]["entry"].get("model").is_none(), "{res}");
    // Reset: the transcript is moved aside, the key starts afresh.
    let res = ws.request("sessions.reset", json!({"key": "s"})).await;
    assert_eq!(res["payload"]["ok"], true, "{res}");
    let history = ws.request("chat.history", json!({"sessionKey": "s"})).await;
    assert_eq!(history["payload"]["messages"], json!([]));
    let kept = std::fs::read_dir(f.sessions_dir())
        .unwrap()
        .flatten()
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("s.jsonl.reset-")
        });
    assert!(kept, "the old conversation is kept aside");
    // Delete.
    let (_, _) = ws
        .request_final(
            "agent",
            json!({"message": "again", "sessionKey": "s", "idempotencyKey": "p-2"}),
        )
        .await;
    let res = ws.request("sessions.delete", json!({"key": "s"})).await;
    assert_eq!(res["payload"]["deleted"], true, "{res}");
    let list = ws.request("sessions.list", json!({})).await;
    assert_eq!(list["payload"]["sessions"], json!([]));
    // Reset and delete need admin; patch needs write.
    let mut writer = gw.ws_with_scopes(&["operator.write"]).await;
    let res = writer.request("sessions.delete", json!({"key": "s"})).await;
    assert_eq!(res["error"]["message"], "missing scope: operator.admin");
}

/// `sessions.create` as the original TUI's `/new` sends it: a chosen key, the agent, a parent
/// that it succeeds. The new key then holds its own conversation, apart from the parent's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_create_starts_a_separate_session() {
    let f = Fixture::new(vec![
        ModelSpec::new("m").reply(Reply::Sse(text_stream(&["from m"]))),
        ModelSpec::new("other").reply(Reply::Sse(text_stream(&["from other"]))),
    ])
    .await;
    let gw = f.gateway().await;
    let mut ws = gw.ws().await;
    let (_, _) = ws
        .request_final(
            "agent",
            json!({"message": "first", "sessionKey": "main", "idempotencyKey": "c-1"}),
        )
        .await;
    let res = ws
        .request(
            "sessions.create",
            json!({"key": "tui-1b2c", "agentId": "main", "parentSessionKey": "agent:main:main",
                   "succeedsParent": true, "emitCommandHooks": true}),
        )
        .await;
    assert_eq!(res["payload"]["ok"], true, "{res}");
    assert_eq!(res["payload"]["key"], "agent:main:tui-1b2c", "{res}");
    assert_eq!(res["payload"]["sessionId"], "tui-1b2c", "{res}");
    assert_eq!(res["payload"]["runStarted"], false, "{res}");
    let history = ws
        .request("chat.history", json!({"sessionKey": "agent:main:tui-1b2c"}))
        .await;
    assert_eq!(history["payload"]["messages"], json!([]), "{history}");
    let (_, done) = ws
        .request_final(
            "agent",
            json!({"message": "second", "sessionKey": "agent:main:tui-1b2c", "idempotencyKey": "c-2"}),
        )
        .await;
    assert_eq!(done["payload"]["status"], "ok", "{done}");
    let history = ws
        .request("chat.history", json!({"sessionKey": "agent:main:tui-1b2c"}))
        .await;
    let texts = history["payload"]["messages"].to_string();
    assert!(
        texts.contains("second") && !texts.contains("first"),
        "{history}"
    );

    // With a model and thinking level, checked like sessions.patch; without a key, a new one.
    let res = ws
        .request(
            "sessions.create",
            json!({"model": "ollama/other", "thinkingLevel": "low"}),
        )
        .await;
    assert_eq!(res["payload"]["entry"]["model"], "other", "{res}");
    assert_eq!(res["payload"]["entry"]["thinkingLevel"], "low", "{res}");
    let key = res["payload"]["key"].as_str().unwrap();
    assert!(
        key.starts_with("agent:main:") && key != "agent:main:tui-1b2c",
        "{res}"
    );
    for bad in [
        json!({"model": "ollama/nope"}),
        json!({"key": "../escape"}),
        json!({"key": "k", "message": "hello"}),
        json!({"key": "k", "agentId": "someone-else"}),
    ] {
        let res = ws.request("sessions.create", bad.clone()).await;
        assert_eq!(res["error"]["code"], "INVALID_REQUEST", "{bad}: {res}");
    }
    // Creating needs write.
    let mut reader = gw.ws_with_scopes(&["operator.read"]).await;
    let res = reader.request("sessions.create", json!({"key": "r"})).await;
    assert_eq!(res["error"]["message"], "missing scope: operator.write");
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
    // The run comes from a client that cannot approve; another one answers.
    let mut cli = gw.ws_with_scopes(&["operator.write"]).await;
    let mut approver = gw
        .ws_with_scopes(&["operator.read", "operator.approvals"])
        .await;
    let res = cli
        .request(
            "chat.send",
            json!({"message": "make the file", "sessionKey": "main", "idempotencyKey": "x-1"}),
        )
        .await;
    assert_eq!(res["ok"], true);
    let requested = loop {
        let e = approver.event().await;
        if e["event"] == "exec.approval.requested" {
            break e;
        }
    };
    let r = &requested["payload"];
    assert_eq!(r["request"]["command"], "touch approved.txt");
    assert_eq!(r["request"]["runId"], "x-1");
    assert_eq!(r["request"]["sessionKey"], "agent:main:main");
    assert_eq!(
        r["request"]["allowedDecisions"],
        json!(["allow-once", "deny"])
    );
    let id = r["id"].as_str().unwrap();
    let pending = approver.request("exec.approval.list", json!({})).await;
    assert_eq!(pending["payload"][0]["id"], id);
    let always = approver
        .request(
            "exec.approval.resolve",
            json!({"id": id, "decision": "allow-always"}),
        )
        .await;
    assert_eq!(
        always["error"]["details"]["reason"],
        "APPROVAL_ALLOW_ALWAYS_UNAVAILABLE"
    );
    let res = approver
        .request(
            "exec.approval.resolve",
            json!({"id": id, "decision": "allow-once"}),
        )
        .await;
    assert_eq!(res["payload"]["ok"], true, "{res}");
    let resolved = loop {
        let e = approver.event().await;
        if e["event"] == "exec.approval.resolved" {
            break e;
        }
    };
    assert_eq!(resolved["payload"]["decision"], "allow-once");
    assert_eq!(resolved["payload"]["resolvedBy"], "cli");
    // The client without the scope saw neither.
    let events = cli.run_events("x-1").await;
    assert!(events
        .iter()
        .all(|e| !e["event"].as_str().unwrap().starts_with("exec.approval")));
    let tools = agent_stream(&events, "tool");
    assert_eq!(tools[0]["phase"], "start");
    assert_eq!(tools[0]["name"], "exec");
    assert_eq!(tools[1]["phase"], "result");
    assert_eq!(tools[1]["isError"], false, "{tools:?}");
    assert_eq!(states(&events).last().map(String::as_str), Some("final"));
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
    ws.request(
        "chat.send",
        json!({"message": "make it", "sessionKey": "main", "idempotencyKey": "t-1"}),
    )
    .await;
    let events = ws.run_events("t-1").await;
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"exec.approval.requested"), "{names:?}");
    let resolved = events
        .iter()
        .find(|e| e["event"] == "exec.approval.resolved")
        .expect("the expiry is announced");
    assert_eq!(resolved["payload"]["decision"], "deny");
    assert!(resolved["payload"]["resolvedBy"].is_null());
    let result = agent_stream(&events, "tool")
        .into_iter()
        .find(|d| d["phase"] == "result")
        .unwrap();
    assert_eq!(result["isError"], true);
    assert!(result["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("denied"));
    assert!(!f.workspace().join("nope.txt").exists());
}

/// Without any client that may approve and shows approvals, an `exec` outside the allowlist is
/// refused at once instead of waiting out the timeout. The original's TUI holds the scope but
/// does not show exec approvals (no `exec-approvals` capability): it does not count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nobody_to_approve_the_command_is_refused_at_once() {
    let f = Fixture::new(vec![ModelSpec::new("m")
        .reply(Reply::Sse(call_stream(
            "exec",
            &json!({"command": "touch nope.txt"}),
        )))
        .reply(Reply::Sse(text_stream(&["ok"])))])
    .await;
    let gw = f.gateway().await;
    let mut ws = gw.ws_with_scopes(&["operator.write"]).await;
    let mut tui = Ws::open(&gw.ws_url()).await;
    let mut p = connect_params(Some(TOKEN), ALL);
    p["caps"] = json!([
        "agent-kind",
        "plugin-approvals",
        "task-suggestions",
        "tool-events"
    ]);
    assert_eq!(tui.request("connect", p).await["ok"], true);
    let started = std::time::Instant::now();
    let (_, done) = ws
        .request_final(
            "agent",
            json!({"message": "make it", "idempotencyKey": "n-1"}),
        )
        .await;
    assert_eq!(done["payload"]["status"], "ok");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(!f.workspace().join("nope.txt").exists());
}

/// The page calls only methods of the protocol and handles only its events.
#[test]
fn the_web_page_speaks_only_the_protocol() {
    let page = include_str!("../../assets/app.js");
    let mut called = Vec::new();
    for (i, _) in page.match_indices("request('") {
        let rest = &page[i + "request('".len()..];
        called.push(&rest[..rest.find('\'').unwrap()]);
    }
    for (i, _) in page.match_indices("requestOn(sock, '") {
        let rest = &page[i + "requestOn(sock, '".len()..];
        called.push(&rest[..rest.find('\'').unwrap()]);
    }
    assert!(called.len() >= 8, "{called:?}");
    for m in &called {
        assert!(
            *m == "connect" || METHODS.iter().any(|p| p.name() == *m),
            "app.js calls `{m}`, which the protocol does not have"
        );
    }
    for (i, _) in page.match_indices("case '") {
        let rest = &page[i + "case '".len()..];
        let name = &rest[..rest.find('\'').unwrap()];
        if name.contains('.') || ["chat", "agent", "tick"].contains(&name) {
            assert!(
                EVENTS.contains(&name),
                "app.js handles event `{name}`, which the protocol does not send"
            );
        }
    }
}
