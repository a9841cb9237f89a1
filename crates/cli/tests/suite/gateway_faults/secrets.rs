//! Secrets: with `RUST_LOG=trace`, no gateway token, model-server credential or near-miss
//! guess reaches anything the gateway prints, writes or answers, in any common spelling.

use openclaw_test_support::gateway::http::Http;
use openclaw_test_support::gateway::ws::{self, tungstenite::Message};
use openclaw_test_support::{Behaviour, ModelSpec};
use serde_json::{json, Value};

use super::{complete, models, stream_chat, Upstream, HEADER, KEY, TOKEN};

/// A secret as it might be written into a log: plain, hex (padded, or unpadded as
/// tungstenite prints frame payloads), base64.
fn spellings(secret: &str) -> Vec<String> {
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    let loose: String = secret.bytes().map(|b| format!("{b:x}")).collect();
    vec![secret.to_string(), hex, loose, base64(secret.as_bytes())]
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=c.len() {
            out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// With `RUST_LOG=trace`, a gateway token and model-server credentials (an `apiKey`, a header,
/// `OLLAMA_API_KEY` for discovery): authenticated chats on both doors, wrong tokens (one a
/// near miss), a braked address and a refusing model server leave none of them — nor the
/// near miss — in anything the gateway prints or writes besides the config itself.
#[test]
fn secrets_never_reach_the_gateway_logs_or_files() {
    const ENV_KEY: &str = "ollama-SECRET-env-key-41f0";
    let upstream = Upstream::new(
        vec![ModelSpec::new("refusing").chat_behaviour(Behaviour::Status(
            401,
            r#"{"error":"invalid api key"}"#.into(),
        ))],
        Vec::new(),
    );
    let near_miss = format!("{}0", &TOKEN[..TOKEN.len() - 1]);
    let env = upstream
        .env()
        .var("RUST_LOG", "trace")
        .var("OLLAMA_API_KEY", ENV_KEY)
        .var("OLLAMA_HOST", upstream.native.addr().to_string());
    let mut gw = env.start_gateway();
    let port = gw.port();
    let mut answers = Vec::new();
    for model in ["sse/ok", "native/ok", "ollama/ok", "sse/refusing"] {
        answers.push(complete(port, model));
        let s = stream_chat(port, model, || {});
        // The refusing model fails before any output: a plain HTTP error, streamed or not.
        let expected = if model == "sse/refusing" { 502 } else { 200 };
        assert_eq!(s.status, expected, "{model}: {s:?}");
        answers.push(Http {
            status_line: String::new(),
            status: s.status,
            headers: Vec::new(),
            body: format!("{s:?}").into_bytes(),
        });
    }
    assert_eq!(answers[0].status, 200, "{:?}", answers[0]);
    assert_eq!(answers[4].status, 200, "{:?}", answers[4]);
    answers[6].openai_error(502, Some("upstream_failed"));
    let mut ws = ws::open(port, &[]).unwrap();
    assert_eq!(
        ws::request(&mut ws, "c", "connect", ws::connect_params(Some(TOKEN)))["ok"],
        true
    );
    let res = ws::request(
        &mut ws,
        "s",
        "chat.send",
        json!({"message": "hi", "sessionKey": "main", "idempotencyKey": "trace-1"}),
    );
    assert_eq!(res["ok"], true, "{res}");
    loop {
        let Message::Text(t) = ws.read().unwrap() else {
            continue;
        };
        let v: Value = serde_json::from_str(t.as_str()).unwrap();
        if ["final", "error"].contains(&v["payload"]["state"].as_str().unwrap_or("")) {
            break;
        }
    }
    for _ in 0..8 {
        answers.push(models(
            port,
            &[("Authorization", &format!("Bearer {near_miss}"))],
        ));
        let mut ws = ws::open(port, &[]).unwrap();
        ws::request(
            &mut ws,
            "c",
            "connect",
            ws::connect_params(Some(&near_miss)),
        );
    }
    assert!(
        answers.iter().any(|a| a.status == 429),
        "the brake never engaged"
    );
    let log = gw.log();
    assert!(
        log.lines().count() > 50 && log.contains("TRACE"),
        "RUST_LOG=trace logged little:\n{log}"
    );
    // The state directory: transcripts, the pid/port file (the config holds the secrets).
    let mut files = Vec::new();
    let mut dirs = vec![env.state_dir()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path != env.config_path() {
                files.push(path);
            }
        }
    }
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "jsonl")),
        "{files:?}"
    );
    for secret in [TOKEN, KEY, HEADER, ENV_KEY, near_miss.as_str()] {
        let core = secret.split("SECRET").nth(1).unwrap_or(secret);
        for spelled in spellings(core).into_iter().chain(spellings(secret)) {
            assert!(
                !log.contains(&spelled),
                "the gateway logged {spelled:?} ({secret})"
            );
            for answer in &answers {
                let text = String::from_utf8_lossy(&answer.body);
                assert!(
                    !text.contains(&spelled),
                    "a client was sent {secret}: {text}"
                );
            }
            for file in &files {
                let text = String::from_utf8_lossy(&std::fs::read(file).unwrap()).into_owned();
                assert!(
                    !text.contains(&spelled),
                    "{} holds {secret}",
                    file.display()
                );
            }
        }
    }
    eprintln!(
        "secrets: {} lines of trace logs, {} files in the state directory, {} answers: no secret",
        log.lines().count(),
        files.len(),
        answers.len()
    );
    drop(gw);
}
