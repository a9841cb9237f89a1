//! The fault matrix for Ollama discovery (`/api/tags`, `/api/show`) and `models pull`
//! (`/api/pull`): every way a server can misbehave ends in a classified, readable error, in
//! bounded time and memory, never a panic.
//!
//! Discovery runs against the Ollama-compatible test server ([`Behaviour::Raw`]). The test
//! server's `/api/pull` only follows [`PullScript`]s, so pull faults come from a small raw HTTP
//! responder here that writes exactly the bytes (and the connection resets) a case needs.
//! Memory-sensitive cases run in a child process (this test binary, one test) that reports its
//! own peak RSS; the server stays in the parent. RELIABILITY.md has the table.
//!
//! [`PullScript`]: openclaw_test_support::PullScript
// Tests report what they measured on stderr, for whoever runs them.
#![allow(clippy::print_stdout, clippy::print_stderr)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openclaw_models::discovery::{discover_ollama_models, ConnectFailure};
use openclaw_models::{
    pull_ollama_model, DiscoveryError, DiscoveryReport, DiscoveryRequest, PullError, PullEvent,
    PullRequest, SkipReason,
};
use openclaw_test_support::measure::Rss;
use openclaw_test_support::{Behaviour, ModelSpec, RawReply, TestServer};

const TIMEOUT: Duration = Duration::from_millis(500);
const TAGS: &str = r#"{"models":[{"name":"m:latest","model":"m:latest","size":1,"details":{}}]}"#;

fn closed_port_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

async fn discover_at(base: &str) -> (Result<DiscoveryReport, DiscoveryError>, Duration) {
    let mut req = DiscoveryRequest::new(base);
    req.timeout = TIMEOUT;
    let started = Instant::now();
    (discover_ollama_models(&req).await, started.elapsed())
}

async fn discover_tags(
    behaviour: Behaviour,
) -> (Result<DiscoveryReport, DiscoveryError>, Duration) {
    let server = TestServer::builder()
        .model(ModelSpec::new("m"))
        .tags_behaviour(behaviour)
        .start()
        .await
        .unwrap();
    discover_at(&server.url()).await
}

/// The error's text, checked for readability: names the server, short, says `needle`.
#[track_caller]
fn readable(error: &dyn std::fmt::Display, needle: &str) -> String {
    let text = error.to_string();
    assert!(text.contains(needle), "{needle:?} not in: {text}");
    assert!(text.contains("127.0.0.1"), "names no server: {text}");
    assert!(text.len() < 800, "{} bytes: {text}", text.len());
    text
}

fn tags_reply(body: impl Into<Vec<u8>>) -> RawReply {
    RawReply::new("application/json; charset=utf-8", body)
}

// ---- discovery: /api/tags -----------------------------------------------------------------

#[tokio::test]
async fn discovery_of_a_refused_port_is_unreachable() {
    let (result, _) = discover_at(&closed_port_url()).await;
    let error = result.unwrap_err();
    assert!(
        matches!(
            error,
            DiscoveryError::Unreachable {
                failure: ConnectFailure::Refused,
                ..
            }
        ),
        "{error:?}"
    );
    readable(&error, "connection refused");
}

#[tokio::test]
async fn discovery_stalls_time_out_within_the_timeout() {
    let half = &TAGS[..TAGS.len() / 2];
    for behaviour in [
        Behaviour::Hang,
        Behaviour::Raw(tags_reply(half).then_hang()),
        // A trickle that would take 5 s is cut at the (whole-request) timeout.
        Behaviour::Raw(tags_reply(TAGS).chunked(1, Duration::from_millis(70))),
    ] {
        let (result, took) = discover_tags(behaviour.clone()).await;
        let error = result.unwrap_err();
        assert!(
            matches!(
                error,
                DiscoveryError::Unreachable {
                    failure: ConnectFailure::TimedOut,
                    ..
                }
            ),
            "{behaviour:?}: {error:?}"
        );
        readable(&error, "timed out");
        assert!(took < TIMEOUT * 4, "{took:?}");
    }
}

#[tokio::test]
async fn a_short_trickle_of_tags_is_read() {
    let (result, _) = discover_tags(Behaviour::Raw(
        tags_reply(TAGS).chunked(3, Duration::from_millis(1)),
    ))
    .await;
    assert_eq!(result.unwrap().models.len(), 1);
}

#[tokio::test]
async fn bad_tags_bodies_are_unusable_replies() {
    let cases: [(RawReply, &str); 5] = [
        (
            tags_reply(&b"\x8f\x00\xff garbage \x01\x02"[..]),
            "not JSON",
        ),
        (
            tags_reply(
                TAGS.replace("m:latest", "m\u{1}")
                    .replace('\u{1}', "\u{fffd}"),
            )
            .chunked(0, Duration::ZERO),
            "",
        ),
        (
            tags_reply(
                TAGS.as_bytes()
                    .iter()
                    .map(|&b| if b == b'm' { 0xff } else { b })
                    .collect::<Vec<u8>>(),
            ),
            "not JSON",
        ),
        (
            tags_reply(r#"{"error":"something went wrong"}"#),
            "no `models` array in {\"error\":\"something went wrong\"}",
        ),
        (tags_reply(""), "(empty body)"),
    ];
    for (reply, needle) in cases {
        let (result, _) = discover_tags(Behaviour::Raw(reply.clone())).await;
        if needle.is_empty() {
            // U+FFFD in a name is just a name (this server has no such model to show).
            let report = result.unwrap();
            assert_eq!(
                (report.installed, report.skipped[0].name.as_str()),
                (1, "m\u{fffd}")
            );
            continue;
        }
        let error = result.unwrap_err();
        assert!(
            matches!(error, DiscoveryError::BadReply { .. }),
            "{reply:?}: {error:?}"
        );
        readable(&error, needle);
    }
}

#[tokio::test]
async fn the_content_type_of_tags_does_not_matter() {
    for reply in [
        RawReply::new("text/html", TAGS),
        RawReply::new("application/x-ndjson", TAGS),
        RawReply::new("", TAGS).without_content_type(),
    ] {
        let (result, _) = discover_tags(Behaviour::Raw(reply)).await;
        assert_eq!(result.unwrap().models.len(), 1);
    }
}

/// Found by the matrix: a `/api/tags` reply cut mid-body (the server was reached and answered)
/// is reported as "Ollama is not reachable … start it with `ollama serve`", which sends the
/// user to fix the wrong thing. Chat and pull say "the connection broke mid-reply".
#[tokio::test]
async fn tags_cut_mid_body_is_a_broken_reply_not_unreachable() {
    let cut = tags_reply(&TAGS[..TAGS.len() / 2])
        .chunked(0, Duration::from_millis(50))
        .then_cut();
    let (result, _) = discover_tags(Behaviour::Raw(cut)).await;
    let error = result.unwrap_err();
    assert!(
        matches!(error, DiscoveryError::BadReply { .. }),
        "{error:?}"
    );
}

/// What the cut is reported as today: an error, classified, never a hang or a panic.
#[tokio::test]
async fn tags_cut_mid_body_is_an_error() {
    let cut = tags_reply(&TAGS[..TAGS.len() / 2])
        .chunked(0, Duration::from_millis(50))
        .then_cut();
    let (result, took) = discover_tags(Behaviour::Raw(cut)).await;
    let error = result.unwrap_err();
    readable(&error, "127.0.0.1");
    assert!(took < TIMEOUT, "{took:?}");
}

// ---- discovery: /api/show, per model -------------------------------------------------------

#[tokio::test]
async fn a_misbehaving_show_skips_only_its_model() {
    let show = |body: &str| RawReply::new("application/json", body.to_owned());
    let faults = [
        ("hang", Behaviour::Hang, "did not answer within"),
        (
            "stall",
            Behaviour::Raw(show("{\"capabilities\":[").then_hang()),
            "did not answer within",
        ),
        (
            "cut",
            Behaviour::Raw(
                show("{\"capabilities\":[")
                    .chunked(0, Duration::from_millis(20))
                    .then_cut(),
            ),
            "/api/show failed",
        ),
        (
            "garbage",
            Behaviour::Raw(show("\u{0}\u{1}nope")),
            "reply is not JSON",
        ),
        (
            "error-200",
            Behaviour::Raw(show(r#"{"error":"model is corrupted"}"#)),
            "reports no capabilities",
        ),
        (
            "huge",
            Behaviour::Raw(show("{\"x\":\"").repeat_until(40 << 20)),
            // Refused at the 32 MiB cap, or cut by the timeout first on a slow machine.
            "|reply too large|did not answer within",
        ),
        (
            "endless",
            Behaviour::Raw(
                show("      ")
                    .forever()
                    .chunked(6, Duration::from_millis(1)),
            ),
            "did not answer within",
        ),
    ];
    let mut builder = TestServer::builder().model(ModelSpec::new("healthy"));
    for (name, behaviour, _) in &faults {
        builder = builder.model(ModelSpec::new(name).behaviour(behaviour.clone()));
    }
    let server = builder.start().await.unwrap();
    let (result, took) = discover_at(&server.url()).await;
    let report = result.unwrap();
    assert_eq!(report.models.len(), 1, "{report:?}");
    assert_eq!(report.models[0].name, "healthy:latest");
    for (name, _, needle) in &faults {
        let skipped = report
            .skipped
            .iter()
            .find(|s| s.name == format!("{name}:latest"))
            .unwrap_or_else(|| panic!("{name} not skipped: {report:?}"));
        let reason = skipped.reason.to_string();
        let expected = |n: &str| reason.contains(n);
        assert!(
            needle.split('|').filter(|n| !n.is_empty()).any(expected),
            "{name}: {reason}"
        );
        assert!(reason.len() < 400, "{name}: {reason}");
        if *name == "hang" {
            assert!(matches!(skipped.reason, SkipReason::ShowTimedOut(_)));
        }
    }
    // Concurrent, each with its own timeout: the whole run is about one timeout long.
    assert!(took < TIMEOUT * 4, "{took:?}");
}

// ---- pull, against a raw responder -------------------------------------------------------------

/// Writes one HTTP/1.1 chunk.
fn chunk(stream: &mut TcpStream, data: &[u8]) -> std::io::Result<()> {
    write!(stream, "{:x}\r\n", data.len())?;
    stream.write_all(data)?;
    stream.write_all(b"\r\n")?;
    stream.flush()
}

/// Reads a request's head; the body (small) is left unread, so closing the socket resets it.
fn read_head(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
}

/// A server on 127.0.0.1 answering every connection with `respond` (which writes the status
/// line, headers and body itself). Returns the base URL; the server lives as long as the test.
fn raw_server(respond: impl Fn(&mut TcpStream) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let respond = Arc::new(respond);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let respond = respond.clone();
            std::thread::spawn(move || {
                read_head(&mut stream);
                respond(&mut stream);
            });
        }
    });
    url
}

const NDJSON_HEAD: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n";
const PROGRESS: &str = "{\"status\":\"pulling 667b0c1932bc\",\"digest\":\"sha256:667b0c1932bc6ffc593ed1d03f895bf2dc8dc6df21db3042284a6f4416b06a29\",\"total\":2019377376,\"completed\":1048576}\n";

/// A server that sends `NDJSON_HEAD`, then each of `chunks` (pausing `pause` between them),
/// then ends as `end` says.
#[derive(Clone, Copy)]
enum End {
    /// The terminating chunk: a proper end of the body.
    Close,
    /// Close without the terminating chunk, with the request unread: a TCP reset.
    Reset,
    /// Keep the connection open, silent.
    Hang,
}

fn pull_server(head: &'static str, chunks: Vec<Vec<u8>>, pause: Duration, end: End) -> String {
    raw_server(move |stream| {
        let _ = stream.write_all(head.as_bytes());
        for (i, c) in chunks.iter().enumerate() {
            if i > 0 {
                std::thread::sleep(pause);
            }
            if chunk(stream, c).is_err() {
                return;
            }
        }
        match end {
            End::Close => {
                let _ = stream.write_all(b"0\r\n\r\n");
                // Read the request body, so closing is a clean FIN, not a reset.
                let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                let _ = stream.read(&mut [0u8; 4096]);
            }
            End::Reset => std::thread::sleep(Duration::from_millis(50)),
            End::Hang => std::thread::sleep(Duration::from_secs(30)),
        }
    })
}

async fn pull_from(base: &str, idle: Duration) -> (Result<(), PullError>, usize, Duration) {
    let mut req = PullRequest::new(base, "llama3.3");
    req.idle_timeout = idle;
    let mut events = 0;
    let started = Instant::now();
    let result = pull_ollama_model(&req, |_: PullEvent| events += 1).await;
    (result, events, started.elapsed())
}

fn lines(records: &[&str]) -> Vec<Vec<u8>> {
    records.iter().map(|r| r.as_bytes().to_vec()).collect()
}

#[tokio::test]
async fn pull_faults_are_classified() {
    let success = "{\"status\":\"success\"}\n";
    let cases: Vec<(&str, String, Duration, &str)> = vec![
        ("refused", closed_port_url(), TIMEOUT, "not reachable"),
        (
            "reset mid-stream",
            pull_server(NDJSON_HEAD, lines(&[PROGRESS, &PROGRESS[..40]]), Duration::from_millis(20), End::Reset),
            TIMEOUT,
            "broke while pulling",
        ),
        (
            "stall before headers",
            raw_server(|_| std::thread::sleep(Duration::from_secs(30))),
            TIMEOUT,
            "sent nothing for 0.5 s",
        ),
        (
            "stall between chunks",
            pull_server(NDJSON_HEAD, lines(&[PROGRESS]), Duration::ZERO, End::Hang),
            TIMEOUT,
            "sent nothing for 0.5 s",
        ),
        (
            "garbage",
            pull_server(NDJSON_HEAD, vec![b"\x00\x8fgarbage\n".to_vec()], Duration::ZERO, End::Close),
            TIMEOUT,
            "unusable reply",
        ),
        (
            "invalid UTF-8",
            pull_server(NDJSON_HEAD, vec![b"{\"status\":\"pulling \xff\xfe\"}\n{\xff}\n".to_vec()], Duration::ZERO, End::Close),
            TIMEOUT,
            "unusable reply",
        ),
        (
            "ended before success",
            pull_server(NDJSON_HEAD, lines(&[PROGRESS, PROGRESS]), Duration::ZERO, End::Close),
            TIMEOUT,
            "ended before Ollama reported `success`",
        ),
        (
            "200 with an error",
            pull_server(NDJSON_HEAD, lines(&[PROGRESS, "{\"error\":\"max retries exceeded: unexpected EOF\"}\n"]), Duration::ZERO, End::Close),
            TIMEOUT,
            "max retries exceeded",
        ),
        (
            "one endless line",
            pull_server(NDJSON_HEAD, vec![vec![b'x'; 70 * 1024]], Duration::ZERO, End::Hang),
            TIMEOUT,
            "longer than 64 KiB",
        ),
        (
            "HTTP 500 with an HTML body",
            pull_server("HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/html\r\ntransfer-encoding: chunked\r\n\r\n", lines(&["<html><body>oops</body></html>"]), Duration::ZERO, End::Close),
            TIMEOUT,
            "(HTTP 500): <html><body>oops",
        ),
    ];
    for (name, base, idle, needle) in cases {
        let (result, _, took) = pull_from(&base, idle).await;
        let error = result.expect_err(name);
        readable(&error, needle);
        assert!(took < Duration::from_secs(5), "{name}: {took:?}");
    }
    // A trickle, a wrong content type, blank lines: still a successful pull.
    let slow = pull_server(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n",
        format!("{PROGRESS}\n\n{success}")
            .bytes()
            .map(|b| vec![b])
            .collect(),
        Duration::from_millis(1),
        End::Close,
    );
    let (result, events, _) = pull_from(&slow, TIMEOUT).await;
    result.unwrap();
    assert_eq!(events, 2);
}

// ---- memory-bounded cases, each in a child process -------------------------------------------

const CHILD_ENV: &str = "OPENCLAW_FAULT_CHILD";
const URL_ENV: &str = "OPENCLAW_FAULT_URL";

fn child_of(test: &str) -> Option<String> {
    (std::env::var(CHILD_ENV).ok()? == test)
        .then(|| std::env::var(URL_ENV).ok())
        .flatten()
}

/// Runs `test` in a child talking to `url`: returns the outcome line and peak RSS in KiB.
fn run_child(test: &str, url: &str) -> (String, u64) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            test,
            "--exact",
            "--nocapture",
            "--include-ignored",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, test)
        .env(URL_ENV, url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child {test} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.find(name).map(|at| l[at + name.len()..].to_owned()))
            .unwrap_or_else(|| panic!("child {test} printed no {name}:\n{stdout}"))
    };
    (field("outcome="), field("peak_rss_kib=").parse().unwrap())
}

fn report_in_child(outcome: String) {
    println!("\noutcome={outcome}");
    println!("\npeak_rss_kib={}", Rss::of_self().unwrap().peak_kib);
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

#[track_caller]
fn check_child(test: &str, url: &str, expect: &str, cap_mib: u64) {
    let (outcome, peak_kib) = run_child(test, url);
    eprintln!("{test}: {outcome}; peak RSS {} MiB", peak_kib / 1024);
    assert!(outcome.contains(expect), "{outcome}");
    assert!(outcome.len() < 900, "a {} byte outcome", outcome.len());
    assert!(
        peak_kib < cap_mib * 1024,
        "peak RSS {} MiB over the {cap_mib} MiB cap ({outcome})",
        peak_kib / 1024
    );
}

fn discovery_child(url: &str) {
    let mut req = DiscoveryRequest::new(url);
    req.timeout = Duration::from_secs(20);
    let result = block_on(discover_ollama_models(&req));
    report_in_child(match result {
        Ok(r) => format!("ok {} models", r.models.len()),
        Err(e) => e.to_string(),
    });
}

/// 100 MB of `/api/tags`: refused at the 32 MiB body cap.
#[test]
fn discovery_of_100_mb_of_tags_is_refused_at_the_body_cap() {
    const TEST: &str = "discovery_of_100_mb_of_tags_is_refused_at_the_body_cap";
    if let Some(url) = child_of(TEST) {
        return discovery_child(&url);
    }
    let item = r#"{"name":"m:latest","model":"m:latest","size":1,"details":{}},"#;
    let server = TestServer::builder()
        .tags_behaviour(Behaviour::Raw(
            RawReply::new(
                "application/json",
                format!("{{\"models\":[{}", item.repeat(1000)),
            )
            .repeat_until(100_000_000),
        ))
        .start_blocking()
        .unwrap();
    check_child(TEST, &server.url(), "larger than 32 MiB", 80);
}

/// `/api/tags` that never ends: refused at the body cap too (before the timeout).
#[test]
fn discovery_of_endless_tags_is_refused_at_the_body_cap() {
    const TEST: &str = "discovery_of_endless_tags_is_refused_at_the_body_cap";
    if let Some(url) = child_of(TEST) {
        return discovery_child(&url);
    }
    let server = TestServer::builder()
        .tags_behaviour(Behaviour::Raw(
            RawReply::new("application/json", " ".repeat(1 << 16)).forever(),
        ))
        .start_blocking()
        .unwrap();
    check_child(TEST, &server.url(), "larger than 32 MiB", 80);
}

/// Found by the matrix: the worst body under the 32 MiB cap, an array of tiny values, was
/// parsed into `serde_json::Value`s first (~40x amplification: over 1 GiB). Now refused by the
/// value budget (`openclaw-untrusted`) before anything is parsed.
#[test]
fn discovery_of_31_mib_of_tiny_values_stays_bounded() {
    const TEST: &str = "discovery_of_31_mib_of_tiny_values_stays_bounded";
    if let Some(url) = child_of(TEST) {
        return discovery_child(&url);
    }
    let server = TestServer::builder()
        .tags_behaviour(Behaviour::Raw(RawReply::new(
            "application/json",
            format!("{{\"models\":[{}0]}}", "0,".repeat(31 << 19)),
        )))
        .start_blocking()
        .unwrap();
    check_child(TEST, &server.url(), "more than 262144 JSON values", 80);
}

fn pull_child(url: &str, cancel_after: Option<Duration>) {
    let pull = pull_from(url, Duration::from_secs(10));
    let outcome = block_on(async {
        match cancel_after {
            None => Some(pull.await),
            Some(after) => tokio::time::timeout(after, pull).await.ok(),
        }
    });
    report_in_child(match outcome {
        None => "still pulling when cancelled".to_owned(),
        Some((Ok(()), events, _)) => format!("ok after {events} events"),
        Some((Err(e), events, _)) => format!("{e} (after {events} events)"),
    });
}

/// 100 MB of progress records, then the end of the body without `success`: read line by line,
/// in flat memory.
#[test]
fn pulling_100_mb_of_progress_is_flat_in_memory() {
    const TEST: &str = "pulling_100_mb_of_progress_is_flat_in_memory";
    if let Some(url) = child_of(TEST) {
        return pull_child(&url, None);
    }
    let block = PROGRESS.repeat(64 * 1024 / PROGRESS.len());
    let chunks = vec![block.into_bytes(); 100_000_000 / (64 * 1024)];
    let url = pull_server(NDJSON_HEAD, chunks, Duration::ZERO, End::Close);
    check_child(TEST, &url, "ended before Ollama reported `success`", 24);
}

/// A pull whose progress never ends: by design there is no overall deadline (a download can
/// take hours), so it runs until cancelled — in flat memory.
#[test]
fn an_endless_pull_runs_until_cancelled_in_flat_memory() {
    const TEST: &str = "an_endless_pull_runs_until_cancelled_in_flat_memory";
    if let Some(url) = child_of(TEST) {
        return pull_child(&url, Some(Duration::from_secs(2)));
    }
    let block = PROGRESS.repeat(64 * 1024 / PROGRESS.len()).into_bytes();
    let url = raw_server(move |stream| {
        let _ = stream.write_all(NDJSON_HEAD.as_bytes());
        while chunk(stream, &block).is_ok() {}
    });
    check_child(TEST, &url, "still pulling when cancelled", 24);
}

// ---- the small cases' memory cap -------------------------------------------------------------

/// The matrix cases above that need no cap of their own (the server sends little).
const SMALL_CASES: &[&str] = &[
    "discovery_of_a_refused_port_is_unreachable",
    "discovery_stalls_time_out_within_the_timeout",
    "a_short_trickle_of_tags_is_read",
    "bad_tags_bodies_are_unusable_replies",
    "the_content_type_of_tags_does_not_matter",
    "tags_cut_mid_body_is_a_broken_reply_not_unreachable",
    "tags_cut_mid_body_is_an_error",
    "a_misbehaving_show_skips_only_its_model",
    "pull_faults_are_classified",
];

/// The small cases' cap: all of them run again, one after the other, in one child process —
/// the discovery and pull client and the test server together — whose peak RSS (`ru_maxrss`, from
/// `wait4`) must stay under 32 MiB. Each case thus has an asserted cap, and one no case can
/// reach by holding more than it was sent.
#[test]
fn the_small_cases_together_stay_under_32_mib() {
    openclaw_test_support::measure::assert_cases_stay_under(SMALL_CASES, CHILD_ENV, 32);
}
