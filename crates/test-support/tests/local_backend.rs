//! The rule for a backend shared by tests (issue #18): no test stops or reconfigures what
//! another may be using. Two tests start the real backend at once; the one that finishes first
//! cleans up while the other is in the middle of a longer reply, which still arrives whole.
//! And the backend's own idle watchdog, the only thing that stops it: it stays up while a
//! lease is held, however idle, and exits by itself once the last lease is gone.
//!
//! Both need the real backend (`scripts/local-llm`, installed from PyPI on first use); when it
//! cannot start they skip, or fail under CI (`openclaw_test_support::requirement`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use openclaw_test_support::local_backend::{script, Lease, LocalBackend, INSTALL_HINT};
use openclaw_test_support::requirement::missing;
use serde_json::{json, Value};

/// Tokens the longer reply is capped at.
const LONG_REPLY_TOKENS: u64 = 48;

/// A streamed HTTP/1.1 response read as it arrives: status, then NDJSON records one by one
/// out of the chunked body.
struct NdjsonResponse {
    reader: BufReader<TcpStream>,
    status: u16,
    chunked: bool,
    pending: Vec<u8>,
    ended: bool,
}

impl NdjsonResponse {
    fn post(host: &str, path: &str, body: &Value) -> Self {
        let mut stream = TcpStream::connect(host).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        let body = body.to_string();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let status = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut chunked = false;
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line.trim_end().is_empty() {
                break;
            }
            let lower = line.to_ascii_lowercase();
            chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
        }
        Self {
            reader,
            status,
            chunked,
            pending: Vec::new(),
            ended: false,
        }
    }

    /// The next NDJSON record, or `None` at the end of the body.
    fn next_record(&mut self) -> Option<Value> {
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=i).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Some(serde_json::from_slice(&line).unwrap());
            }
            if self.ended {
                assert!(
                    self.pending.iter().all(u8::is_ascii_whitespace),
                    "body ends inside a record: {:?}",
                    String::from_utf8_lossy(&self.pending)
                );
                return None;
            }
            self.read_more();
        }
    }

    fn read_more(&mut self) {
        if !self.chunked {
            let mut rest = Vec::new();
            self.reader.read_to_end(&mut rest).unwrap();
            self.pending.extend(rest);
            self.ended = true;
            return;
        }
        let mut size = String::new();
        self.reader.read_line(&mut size).unwrap();
        let size = usize::from_str_radix(size.trim().split(';').next().unwrap(), 16)
            .unwrap_or_else(|e| panic!("bad chunk size {size:?}: {e}"));
        let mut chunk = vec![0; size + 2]; // the data and its CRLF
        self.reader.read_exact(&mut chunk).unwrap();
        assert_eq!(&chunk[size..], b"\r\n");
        chunk.truncate(size);
        self.pending.extend(chunk);
        self.ended = size == 0;
    }
}

fn get(host: &str, path: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap())
}

fn local_llm(args: &[&str], state_dir: &Path) -> Output {
    Command::new(script())
        .args(args)
        .arg("--state-dir")
        .arg(state_dir)
        .output()
        .unwrap()
}

fn is_up(state_dir: &Path) -> bool {
    local_llm(&["status"], state_dir).status.success()
}

fn log_of(state_dir: &Path) -> String {
    std::fs::read_to_string(state_dir.join("front.log")).unwrap_or_default()
}

/// Polls `done` until it holds, failing after `limit`.
fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not after {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_test_that_finishes_first_never_stops_the_backend_another_is_streaming_from() {
    // Both go through the shared start path at the same moment.
    let barrier = Arc::new(Barrier::new(2));
    let starters: Vec<_> = (0..2)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                LocalBackend::acquire()
            })
        })
        .collect();
    let mut backends = Vec::new();
    for starter in starters {
        match starter.join().unwrap() {
            Ok(backend) => backends.push(backend),
            Err(why) => {
                return missing(
                    &format!("the local model backend could not start: {why}"),
                    INSTALL_HINT,
                )
            }
        }
    }
    let (Some(streaming), Some(short)) = (backends.pop(), backends.pop()) else {
        unreachable!("two starters, two backends")
    };
    assert_eq!(short.host(), streaming.host(), "one backend for both");
    let state_dir = short.state_dir().to_path_buf();
    assert_eq!(Lease::held_in_this_process(&state_dir), 2);

    // The longer reply streams on its own thread; it reports when it is under way, then waits
    // until the short test has cleaned up before reading the rest.
    let (under_way_tx, under_way) = mpsc::channel();
    let (cleaned_up, cleaned_up_rx) = mpsc::channel::<()>();
    let long = std::thread::spawn(move || {
        let mut response = NdjsonResponse::post(
            streaming.host(),
            "/api/chat",
            &json!({
                "model": "smollm2:135m",
                "messages": [{
                    "role": "user",
                    "content": "Tell me a long story about a lighthouse keeper and a storm.",
                }],
                "options": { "num_predict": LONG_REPLY_TOKENS },
            }),
        );
        assert_eq!(response.status, 200);
        let first = response.next_record().unwrap();
        assert_eq!(first["done"], false, "{first}");
        under_way_tx.send(()).unwrap();
        cleaned_up_rx.recv_timeout(Duration::from_secs(60)).unwrap();
        let mut records = vec![first];
        while let Some(record) = response.next_record() {
            records.push(record);
        }
        drop(streaming); // this test's own clean-up: its lease goes
        records
    });

    // The short test: one request, then its clean-up runs while the other is mid-reply.
    let (status, tags) = get(short.host(), "/api/tags");
    assert_eq!(status, 200, "{tags}");
    under_way.recv_timeout(Duration::from_secs(120)).unwrap();
    drop(short);
    assert_eq!(
        Lease::held_in_this_process(&state_dir),
        1,
        "the short test's lease is gone"
    );
    assert!(
        Lease::held(&state_dir).unwrap(),
        "the streaming test still holds its lease"
    );
    assert!(
        is_up(&state_dir),
        "the backend is up after the short test's clean-up"
    );
    cleaned_up.send(()).unwrap();

    let records = long.join().unwrap();
    let last = records.last().unwrap();
    assert_eq!(last["done"], true, "{records:#?}");
    assert!(
        records[..records.len() - 1]
            .iter()
            .all(|r| r["done"] == false),
        "{records:#?}"
    );
    assert_eq!(last["done_reason"], "length", "{last}");
    assert_eq!(last["eval_count"], LONG_REPLY_TOKENS, "{last}");
    let text: String = records
        .iter()
        .filter_map(|r| r["message"]["content"].as_str())
        .collect();
    assert!(!text.trim().is_empty(), "{records:#?}");

    assert_eq!(Lease::held_in_this_process(&state_dir), 0);
    // Nobody stopped it: only its own idle watchdog will, later.
    assert!(is_up(&state_dir), "{}", log_of(&state_dir));
    assert!(
        !log_of(&state_dir).contains("exiting"),
        "{}",
        log_of(&state_dir)
    );
}

#[test]
fn an_idle_backend_stays_up_while_a_lease_is_held_and_exits_by_itself_after() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path();
    let lease = Lease::take(state_dir, Duration::from_secs(10)).unwrap();
    let start = Command::new(script())
        .args(["start", "--port", "0", "--idle-exit", "2", "--state-dir"])
        .arg(state_dir)
        .env("LOCAL_LLM_PROMPT_CACHE", "0")
        .env_remove("LOCAL_LLM_CTX")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&start.stdout);
    let Some(host) = stdout.lines().find_map(|l| l.strip_prefix("OLLAMA_HOST=")) else {
        return missing(
            &format!(
                "the local model backend could not start: {}",
                String::from_utf8_lossy(&start.stderr).trim_end()
            ),
            INSTALL_HINT,
        );
    };
    let (status, _) = get(host, "/api/tags");
    assert_eq!(status, 200);

    // Idle past its time, but leased: it says so and stays.
    wait_until(
        Duration::from_secs(30),
        "the watchdog sees the lease",
        || log_of(state_dir).contains("but a lease is held: staying up"),
    );
    assert!(is_up(state_dir), "{}", log_of(state_dir));

    // A start asking for other settings is refused, not served by this one.
    let other = Command::new(script())
        .args(["start", "--port", "0", "--state-dir"])
        .arg(state_dir)
        .env("LOCAL_LLM_PROMPT_CACHE", "0")
        .env("LOCAL_LLM_CTX", "2048")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert!(!other.status.success(), "{stderr}");
    assert!(
        stderr.contains("has other settings: ctx 4096, asked 2048"),
        "{stderr}"
    );
    assert!(is_up(state_dir), "{}", log_of(state_dir));

    drop(lease);
    wait_until(
        Duration::from_secs(30),
        "the backend exits by itself",
        || !is_up(state_dir),
    );
    let log = log_of(state_dir);
    assert!(log.contains("no leases: exiting"), "{log}");
    assert!(!state_dir.join("front.json").exists());
    assert!(!state_dir.join("front.pid").exists());
}
