//! The gateway's own memory under load (`VmRSS`/`VmHWM` of the gateway process, while the
//! test server in this process streams huge replies from one copy of their body): a 100 MB or
//! endless reply is cut at the reply cap, a paused client stops the gateway reading the model,
//! an idle connection costs little, and a gigabyte transcript is read in bounded memory.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use openclaw_test_support::gateway::http::{connect, exchange, raw_request, request, send};
use openclaw_test_support::gateway::{ws, Gateway};
use openclaw_test_support::{Behaviour, ModelSpec, RawReply};
use serde_json::json;

use super::{
    check_completion, complete, stream_chat, AssertHealthy, Expect, Upstream, Wire, TOKEN,
};

/// One 4 KiB SSE record of answer text.
fn big_record() -> String {
    Wire::OpenAi.record(&"x".repeat(4096))
}

/// A fresh gateway whose model `sse/huge` sends `reply`; one chat through it, checked; returns
/// the gateway's peak RSS (`VmHWM`) in MiB. `pause` runs once the response headers are read,
/// with the model server's port.
fn huge_reply(
    what: &str,
    reply: RawReply,
    streamed: bool,
    pause: impl FnOnce(&Gateway),
    cap_mib: u64,
) -> u64 {
    let upstream = Upstream::new(
        vec![ModelSpec::new("huge").chat_behaviour(Behaviour::Raw(reply))],
        Vec::new(),
    );
    let env = upstream.env();
    let mut gw = env.start_gateway();
    let at_start = gw.rss().current_kib / 1024;
    let started = Instant::now();
    let needle = "exceeded 67108864 bytes";
    if streamed {
        let s = stream_chat(gw.port(), "sse/huge", || pause(&gw));
        assert_eq!(s.status, 200, "{what}: {s:?}");
        assert!(
            s.text_bytes > 60 << 20,
            "{what}: {} bytes relayed",
            s.text_bytes
        );
        assert_eq!(s.errors.len(), 1, "{what}: {:?}", s.errors);
        let message = s.errors[0]["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{what}: {message}");
        assert!(s.done && s.clean_end && s.finish.is_none(), "{what}");
    } else {
        check_completion(
            what,
            &complete(gw.port(), "sse/huge"),
            Expect::Error {
                needle,
                partial: "",
            },
        );
    }
    let took = started.elapsed();
    let peak = gw.rss().peak_kib / 1024;
    eprintln!(
        "{what}: refused in {took:?}; gateway RSS {at_start} MiB at start, peak {peak} MiB (cap {cap_mib})"
    );
    assert!(took < Duration::from_secs(40), "{what}: {took:?}");
    assert!(
        peak < cap_mib,
        "{what}: gateway peak RSS {peak} MiB over the {cap_mib} MiB cap"
    );
    gw.assert_healthy();
    peak
}

/// The cap on the gateway's peak RSS while it refuses a huge reply (measured: 84 MiB — the
/// client's 64 MiB reply cap plus the baseline). Streamed or not, fast client or slow: the
/// model is read at most `STREAM_BACKLOG_BYTES` (1 MiB) ahead of a streamed client, so the
/// relayed text never piles up next to the answer the run accumulates (before that
/// backpressure: 121–125 MiB with a fast client, 144 MiB with one that paused).
const HUGE_CAP_MIB: u64 = 128;

/// 100 MB from the model, streamed or not: cut at the 64 MiB reply cap, an `upstream_failed`
/// error for the client; the gateway never holds the 100 MB.
#[test]
fn a_100_mb_reply_is_cut_at_the_reply_cap_in_bounded_gateway_memory() {
    let reply = || RawReply::new("text/event-stream", big_record()).repeat_until(100_000_000);
    huge_reply("100 MB reply", reply(), false, |_| {}, HUGE_CAP_MIB);
    huge_reply(
        "100 MB reply, streamed",
        reply(),
        true,
        |_| {},
        HUGE_CAP_MIB,
    );
}

/// A reply that never ends: the same, and the worst case for a streamed answer — a client
/// that stops reading for a while: the gateway stops reading the model too (backpressure),
/// then relays the rest once the client reads again.
#[test]
fn a_never_ending_reply_is_cut_at_the_reply_cap_in_bounded_gateway_memory() {
    let reply = || RawReply::new("text/event-stream", big_record()).forever();
    huge_reply("endless reply", reply(), false, |_| {}, HUGE_CAP_MIB);
    huge_reply(
        "endless reply, streamed to a client that pauses",
        reply(),
        true,
        |gw| {
            // While the client reads nothing, the gateway reads at most ~1 MiB ahead of it
            // (plus what the sockets hold): its memory stays flat.
            let before = gw.rss().current_kib / 1024;
            std::thread::sleep(Duration::from_secs(3));
            let after = gw.rss().current_kib / 1024;
            eprintln!("paused client: gateway RSS {before} MiB, 3 s later {after} MiB");
            assert!(
                after < before + 16,
                "the gateway kept reading for a client that does not: {before} → {after} MiB"
            );
        },
        HUGE_CAP_MIB,
    );
}

/// What one idle connection may cost the gateway.
const PER_CONNECTION_CAP_KIB: u64 = 64;

/// 500 WebSockets that did `connect`, then 500 keep-alive HTTP connections, all idle: the
/// gateway's RSS grows by less than 64 KiB per connection (measured: 10–11 KiB each). Found by
/// this test: a WebSocket cost 133 KiB, its 128 KiB read buffer being zero-filled on the first
/// read; the gateway now asks for a 4 KiB one (`ws.rs`, `read_buffer_size`).
#[test]
fn an_idle_connection_costs_the_gateway_little_memory() {
    const N: u64 = 500;
    let upstream = Upstream::healthy();
    let env = upstream.env();
    let mut gw = env.start_gateway();
    let port = gw.port();
    // Warm up: the runtime's workers, the first catalog, buffers of both kinds.
    gw.assert_healthy();
    for _ in 0..20 {
        let mut ws = ws::open(port, &[]).unwrap();
        ws::request(&mut ws, "c", "connect", ws::connect_params(Some(TOKEN)));
        let _ = ws.close(None);
        request(port, "GET", "/health", &[], None);
    }
    let rss = || gw.rss().current_kib;
    let before = rss();
    let mut sockets = Vec::new();
    for i in 0..N {
        let mut ws = ws::open(port, &[]).unwrap();
        let res = ws::request(
            &mut ws,
            &format!("c{i}"),
            "connect",
            ws::connect_params(Some(TOKEN)),
        );
        assert_eq!(res["ok"], true, "{res}");
        sockets.push(ws);
    }
    let with_ws = rss();
    let mut keep_alive = Vec::new();
    let raw = raw_request(
        port,
        "GET",
        "/health",
        &[("Connection", "keep-alive")],
        None,
    );
    for _ in 0..N {
        let s = connect(port);
        let (status, _, mut body) = send(s.try_clone().unwrap(), &raw);
        assert_eq!(status, 200);
        let mut bytes = Vec::new();
        body.read_to_end(&mut bytes).unwrap();
        keep_alive.push(s);
    }
    let with_http = rss();
    let per_ws = (with_ws.saturating_sub(before)) / N;
    let per_http = (with_http.saturating_sub(with_ws)) / N;
    eprintln!(
        "idle connections: gateway RSS {before} KiB, {with_ws} KiB with {N} connected websockets \
         ({per_ws} KiB each), {with_http} KiB with {N} keep-alive HTTP connections more \
         ({per_http} KiB each)"
    );
    // Every one of them still works.
    let res = ws::request(&mut sockets[0], "h", "health", json!({}));
    assert_eq!(res["ok"], true);
    let res = ws::request(&mut sockets[N as usize - 1], "h", "health", json!({}));
    assert_eq!(res["ok"], true);
    let again = exchange(
        keep_alive.pop().unwrap(),
        &raw_request(port, "GET", "/health", &[], None),
    );
    assert_eq!(again.status, 200);
    assert!(
        per_ws < PER_CONNECTION_CAP_KIB,
        "{per_ws} KiB per websocket"
    );
    assert!(
        per_http < PER_CONNECTION_CAP_KIB,
        "{per_http} KiB per HTTP connection"
    );
    drop(sockets);
    drop(keep_alive);
    gw.assert_healthy();
}

/// `chat.history` and `sessions.list` on a 1 GB transcript (sparse: a gigabyte without a line
/// break, then real turns) cost the gateway a bounded amount of memory: the history is read
/// backward from the end, the list streams through the file.
#[test]
fn history_of_a_one_gigabyte_transcript_in_bounded_gateway_memory() {
    let upstream = Upstream::healthy();
    let env = upstream.env();
    let sessions = env.state_dir().join("agents/main/sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    let path = sessions.join("huge.jsonl");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(1 << 30).unwrap();
    drop(f);
    let mut tail = String::from("\n");
    for i in 0..2000 {
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        tail.push_str(&format!(
            "{{\"type\":\"message\",\"role\":\"{role}\",\"content\":\"turn {i} {}\",\"ts\":{i}}}\n",
            "x".repeat(500)
        ));
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(tail.as_bytes())
        .unwrap();
    let mut gw = env.start_gateway();
    let mut ws = ws::open(gw.port(), &[]).unwrap();
    let token = TOKEN;
    let ok = ws::request(&mut ws, "c", "connect", ws::connect_params(Some(token)));
    assert_eq!(ok["ok"], true, "{ok}");
    let history = ws::request(&mut ws, "h", "chat.history", json!({"sessionKey": "huge"}));
    let messages = history["payload"]["messages"].as_array().unwrap();
    assert!(!messages.is_empty(), "{history}");
    let last = &messages.last().unwrap()["content"];
    let text = last.as_str().or_else(|| last[0]["text"].as_str()).unwrap();
    assert!(text.starts_with("turn 1999 "), "{last}");
    let list = ws::request(&mut ws, "l", "sessions.list", json!({}));
    let huge = list["payload"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sessionId"] == "huge")
        .cloned()
        .unwrap();
    assert_eq!(huge["messageCount"], 2000, "{huge}");
    let peak_mib = gw.rss().peak_kib / 1024;
    eprintln!("chat.history + sessions.list on a 1 GB transcript: gateway peak RSS {peak_mib} MiB");
    assert!(peak_mib <= 50, "gateway peak RSS {peak_mib} MiB");
    gw.assert_healthy();
}
