//! Slow and idle clients: slowloris clients trickling headers or a body, and WebSockets that
//! never send `connect`, cannot starve other clients and are cut off at their timeouts.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openclaw_test_support::gateway::http::{connect, raw_request, request};
use openclaw_test_support::gateway::ws;
use serde_json::json;

use super::{bearer, complete, AssertHealthy, Upstream, TOKEN};

/// The header read timeout (`Limits::header_read_timeout`, not configurable).
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// The time a WebSocket has to send `connect` (`Limits::ws_connect_timeout`).
const WS_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// 200 slowloris clients trickle request headers (one byte per 100 ms each, never finishing)
/// and 5 authenticated ones trickle a request body: meanwhile `/health` and chats are
/// answered promptly; the gateway cuts the header tricklers at its 30 s header timeout and
/// answers the body tricklers `400` at its 30 s body timeout.
#[test]
fn slowloris_clients_do_not_starve_others_and_are_cut_off() {
    const SLOW_HEADERS: usize = 200;
    const SLOW_BODIES: usize = 5;
    let upstream = Upstream::healthy();
    let env = upstream.env();
    let mut gw = env.start_gateway();
    let port = gw.port();
    let started = Instant::now();
    let head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".to_vec();
    let body_head = raw_request(
        port,
        "POST",
        "/v1/chat/completions",
        &[
            ("Authorization", &bearer()),
            ("Content-Type", "application/json"),
            ("Content-Length", "100000"),
        ],
        None,
    );
    let mut clients: Vec<TcpStream> = Vec::new();
    for i in 0..SLOW_HEADERS + SLOW_BODIES {
        let mut s = connect(port);
        if i >= SLOW_HEADERS {
            s.write_all(&body_head).unwrap();
        }
        s.set_nonblocking(true).unwrap();
        clients.push(s);
    }
    let ticks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let trickler = {
        let ticks = ticks.clone();
        std::thread::spawn(move || {
            let mut ended: Vec<Option<(Duration, String)>> = vec![None; clients.len()];
            let deadline = started + HEADER_TIMEOUT + Duration::from_secs(20);
            let mut tick = 0;
            while ended.iter().any(Option::is_none) && Instant::now() < deadline {
                for (k, s) in clients.iter_mut().enumerate() {
                    if ended[k].is_some() {
                        continue;
                    }
                    let byte = if k < SLOW_HEADERS {
                        head.get(tick).copied().unwrap_or(b'a')
                    } else {
                        b' '
                    };
                    let mut buf = [0u8; 512];
                    let end = match s.read(&mut buf) {
                        Ok(n) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            s.write(&[byte]).err().map(|e| format!("write: {e}"))
                        }
                        Err(e) => Some(format!("read: {e}")),
                    };
                    if let Some(what) = end {
                        ended[k] = Some((started.elapsed(), what));
                    }
                }
                tick += 1;
                ticks.store(tick, std::sync::atomic::Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(100));
            }
            ended
        })
    };
    // While they trickle: others are served at once.
    let wait_ticks = |n: usize| {
        while ticks.load(std::sync::atomic::Ordering::SeqCst) < n {
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let mut slowest = Duration::ZERO;
    let mut rss_during = 0;
    for round in 1..=5 {
        wait_ticks(round * 10);
        let t = Instant::now();
        let health = request(port, "GET", "/health", &[], None);
        assert_eq!(health.status, 200, "{health:?}");
        let chat = complete(port, "sse/ok");
        assert_eq!(chat.status, 200, "{chat:?}");
        slowest = slowest.max(t.elapsed());
        rss_during = rss_during.max(gw.rss().current_kib);
    }
    assert!(slowest < Duration::from_secs(5), "served in {slowest:?}");
    let ended = trickler.join().unwrap();
    let mut header_ends = Vec::new();
    for (k, end) in ended.iter().enumerate() {
        let (at, what) = end
            .clone()
            .unwrap_or_else(|| panic!("slow client {k} still open after {:?}", started.elapsed()));
        if k < SLOW_HEADERS {
            // Closed without an answer, or answered 408; never a 200.
            assert!(
                what.is_empty() || what.starts_with("HTTP/1.1 408") || what.starts_with("read:"),
                "header trickler {k}: {what:?}"
            );
            header_ends.push(at);
        } else {
            assert!(
                what.starts_with("HTTP/1.1 400"),
                "body trickler {k}: {what:?}"
            );
            assert!(what.contains("did not arrive in time"), "{what}");
            assert!(at >= HEADER_TIMEOUT - Duration::from_secs(5), "{at:?}");
        }
    }
    let first = header_ends.iter().min().unwrap();
    let last = header_ends.iter().max().unwrap();
    let answered = ended[..SLOW_HEADERS]
        .iter()
        .filter(|e| e.as_ref().is_some_and(|(_, w)| w.starts_with("HTTP")))
        .count();
    eprintln!(
        "slowloris: {SLOW_HEADERS} header tricklers cut between {first:?} and {last:?} \
         ({answered} with a 408); other clients served in at most {slowest:?}; gateway RSS {} MiB \
         with them open",
        rss_during / 1024
    );
    assert!(
        *first >= HEADER_TIMEOUT - Duration::from_secs(5),
        "{first:?}"
    );
    gw.assert_healthy();
}

/// 100 WebSockets that never send `connect` are each closed 1008 once the 10 s connect
/// timeout is over; a socket that did `connect` stays, and the gateway serves others meanwhile.
#[test]
fn websockets_that_never_connect_are_closed_1008_after_the_connect_timeout() {
    let upstream = Upstream::healthy();
    let env = upstream.env();
    let mut gw = env.start_gateway();
    let started = Instant::now();
    let mut idle: Vec<ws::Ws> = (0..100)
        .map(|_| ws::open(gw.port(), &[]).unwrap())
        .collect();
    let mut live = ws::open(gw.port(), &[]).unwrap();
    let res = ws::request(&mut live, "c", "connect", ws::connect_params(Some(TOKEN)));
    assert_eq!(res["ok"], true, "{res}");
    gw.assert_healthy();
    let mut closes = Vec::new();
    for ws in &mut idle {
        let close = ws::closed(ws);
        closes.push(started.elapsed());
        assert_eq!(
            close,
            Some((1008, "no `connect` request in time".to_string()))
        );
    }
    let (first, last) = (closes[0], closes[closes.len() - 1]);
    eprintln!("100 idle websockets closed 1008 by {last:?} (first read at {first:?})");
    assert!(
        first >= WS_CONNECT_TIMEOUT - Duration::from_secs(1),
        "{first:?}"
    );
    assert!(
        last < WS_CONNECT_TIMEOUT + Duration::from_secs(15),
        "{last:?}"
    );
    let res = ws::request(&mut live, "h", "health", json!({}));
    assert_eq!(res["ok"], true, "{res}");
    gw.assert_healthy();
}
