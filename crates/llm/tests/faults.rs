//! The fault matrix for chat, on both wires, through [`ModelClient`] against the
//! Ollama-compatible test server: every way a server can misbehave ends in a classified,
//! readable error (or a correct reply), in bounded time and memory, never a panic.
//!
//! Cases that could use a lot of memory run in a child process (this test binary, filtered to
//! the one test), which reports its own peak RSS (`VmHWM`); the parent asserts it is under the
//! case's cap. The server runs in the parent, so only the client is measured. RELIABILITY.md
//! has the table.
// Tests report what they measured on stderr, for whoever runs them.
#![allow(clippy::print_stdout, clippy::print_stderr)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use openclaw_config::ApiKind;
use openclaw_llm::{
    ChatMessage, ChatRequest, ChatResponse, Endpoint, LlmError, ModelClient, StreamEvent,
};
use openclaw_test_support::measure::Rss;
use openclaw_test_support::{Behaviour, ModelSpec, RawReply, TestServer};

/// Idle timeout for the cases that stall: short, so they finish fast.
const IDLE: Duration = Duration::from_millis(400);

// The two wires (`openclaw_test_support::ChatWire`), and how each is spoken here.
use openclaw_test_support::ChatWire as Wire;

const WIRES: [Wire; 2] = Wire::BOTH;

trait WireClient {
    fn api(self) -> ApiKind;
    /// How this wire frames a streamed reply.
    fn format(self) -> openclaw_llm::WireFormat;
    fn client(self, base: &str, idle: Duration) -> ModelClient;
}

impl WireClient for Wire {
    fn api(self) -> ApiKind {
        match self {
            Wire::OpenAi => ApiKind::OpenAiCompletions,
            Wire::Native => ApiKind::Ollama,
        }
    }

    fn format(self) -> openclaw_llm::WireFormat {
        match self {
            Wire::OpenAi => openclaw_llm::WireFormat::OpenAiSse,
            Wire::Native => openclaw_llm::WireFormat::OllamaNdjson,
        }
    }

    fn client(self, base: &str, idle: Duration) -> ModelClient {
        let base_url = match self {
            Wire::OpenAi => format!("{base}/v1"),
            Wire::Native => base.to_owned(),
        };
        ModelClient::new(Endpoint {
            api: self.api(),
            base_url,
            api_key: None,
            headers: BTreeMap::new(),
            idle_timeout: idle,
        })
    }
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "m".into(),
        messages: vec![ChatMessage::user("hi")],
        ..ChatRequest::default()
    }
}

/// What one chat produced: the result, how many text bytes the callback saw, how long it took.
struct Outcome {
    result: Result<ChatResponse, LlmError>,
    streamed: usize,
    took: Duration,
}

impl Outcome {
    #[track_caller]
    fn error(&self, kind: &str, needle: &str) -> &LlmError {
        let error = match &self.result {
            Ok(r) => panic!("expected a {kind} error, got a reply {:?}", r.text),
            Err(e) => e,
        };
        assert_eq!(error.kind(), kind, "{error}");
        let message = error.to_string();
        assert!(message.contains(needle), "{needle:?} not in: {message}");
        // Readable: one short message naming the server, not a dump of the body.
        assert!(message.len() < 600, "{} bytes: {message}", message.len());
        if kind != "context-overflow" {
            assert!(message.contains("127.0.0.1"), "names no server: {message}");
        }
        error
    }

    #[track_caller]
    fn reply(&self) -> &ChatResponse {
        match &self.result {
            Ok(r) => r,
            Err(e) => panic!("expected a reply, got {e}"),
        }
    }
}

async fn chat_with(client: &ModelClient) -> Outcome {
    let started = Instant::now();
    let mut streamed = 0;
    let mut on_event = |e: StreamEvent| {
        if let StreamEvent::Text(t) = e {
            streamed += t.len();
        }
    };
    let result = client.stream_chat(&request(), &mut on_event).await;
    Outcome {
        result,
        streamed,
        took: started.elapsed(),
    }
}

async fn server(behaviour: Behaviour) -> TestServer {
    TestServer::builder()
        .model(ModelSpec::new("m").chat_behaviour(behaviour))
        .start()
        .await
        .unwrap()
}

/// Chats over `wire` with a server whose chat endpoints behave as given.
async fn chat(wire: Wire, behaviour: Behaviour, idle: Duration) -> Outcome {
    let server = server(behaviour).await;
    chat_with(&wire.client(&server.url(), idle)).await
}

fn raw(wire: Wire, body: impl Into<Vec<u8>>) -> RawReply {
    wire.raw(body)
}

// ---- the matrix ------------------------------------------------------------------------------

#[tokio::test]
async fn refused_connection_is_a_connect_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for wire in WIRES {
        let client = wire.client(&format!("http://127.0.0.1:{port}"), IDLE);
        let outcome = chat_with(&client).await;
        let error = outcome.error("connect", "connection refused");
        assert!(error.should_fall_back());
    }
}

#[tokio::test]
async fn a_reply_cut_mid_stream_is_malformed_not_truncated_silently() {
    for wire in WIRES {
        let whole = wire.reply(&["Hello", " there"]);
        let half = &whole[..whole.len() / 2];
        let cut = raw(wire, half)
            .chunked(0, Duration::from_millis(50))
            .then_cut();
        let outcome = chat(wire, Behaviour::Raw(cut), IDLE).await;
        outcome.error("malformed-stream", "the connection broke mid-reply");
        // Cut before the headers: the server went away, as for a refused connection.
        let outcome = chat(wire, Behaviour::Raw(raw(wire, "").then_cut()), IDLE).await;
        outcome.error("connect", "connection closed before message completed");
        // Cut at a record boundary, with the connection closed properly: still not a reply.
        let first = wire.record("Hello");
        let outcome = chat(wire, Behaviour::Raw(raw(wire, first)), IDLE).await;
        outcome.error("malformed-stream", "ended before");
        assert_eq!(outcome.streamed, 5, "the text that did arrive was shown");
    }
}

#[tokio::test]
async fn a_stall_before_the_headers_times_out() {
    for wire in WIRES {
        let outcome = chat(wire, Behaviour::Hang, IDLE).await;
        outcome.error("timeout", "no data from");
        assert!(outcome.took < IDLE * 5, "{:?}", outcome.took);
    }
}

#[tokio::test]
async fn a_stall_between_chunks_times_out() {
    for wire in WIRES {
        let body = wire.record("Hello");
        let outcome = chat(wire, Behaviour::Raw(raw(wire, body).then_hang()), IDLE).await;
        outcome.error("timeout", "no data from");
        assert_eq!(outcome.streamed, 5);
        assert!(outcome.took < IDLE * 5, "{:?}", outcome.took);
    }
}

/// Slowloris-style: one byte at a time, each well inside the idle timeout. The reply is read
/// correctly; only the idle timeout bounds a chat (a long generation is legitimate), so a
/// server trickling forever keeps a turn open until the user stops it — see RELIABILITY.md.
#[tokio::test]
async fn a_trickled_reply_is_read_whole() {
    for wire in WIRES {
        let body = wire.reply(&["Hel", "lo"]);
        let behaviour =
            Behaviour::Raw(raw(wire, body.clone()).chunked(1, Duration::from_millis(1)));
        let outcome = chat(wire, behaviour, IDLE).await;
        assert_eq!(outcome.reply().text, "Hello");
        assert!(
            outcome.took >= Duration::from_millis(body.len() as u64),
            "{:?} for {} bytes",
            outcome.took,
            body.len()
        );
    }
}

#[tokio::test]
async fn garbage_bytes_are_malformed() {
    // Deterministic noise with some line ends in it (xorshift).
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    for wire in WIRES {
        let outcome = chat(wire, Behaviour::Raw(raw(wire, noise.clone())), IDLE).await;
        let needle = match wire {
            // SSE ignores lines that are not fields it knows (WHATWG), so noise is no events.
            Wire::OpenAi => "the server sent no events",
            Wire::Native => "is not JSON",
        };
        outcome.error("malformed-stream", needle);
        // Noise in a record in front of a valid reply is not skipped over.
        let mut body = match wire {
            Wire::OpenAi => b"data: \x00\x01garbage\n\n".to_vec(),
            Wire::Native => b"\x00\x01garbage\n".to_vec(),
        };
        body.extend_from_slice(wire.reply(&["ok"]).as_bytes());
        let outcome = chat(wire, Behaviour::Raw(raw(wire, body)), IDLE).await;
        outcome.error("malformed-stream", "garbage");
    }
}

/// Invalid UTF-8 inside a string is shown as U+FFFD (the rest of the reply is intact);
/// invalid UTF-8 in the JSON structure is a malformed reply.
#[tokio::test]
async fn invalid_utf8_is_replaced_or_refused() {
    for wire in WIRES {
        let body = wire.reply(&["caf\u{e9}", "!"]).replace('\u{e9}', "\u{1}");
        let body: Vec<u8> = body
            .bytes()
            .map(|b| if b == 1 { 0xff } else { b })
            .collect();
        let outcome = chat(wire, Behaviour::Raw(raw(wire, body)), IDLE).await;
        assert_eq!(outcome.reply().text, "caf\u{fffd}!");

        let mut body = wire.record("a").into_bytes();
        body.extend_from_slice(match wire {
            Wire::OpenAi => b"data: \xff\xfe\xfd{\n\n",
            Wire::Native => b"\xff\xfe\xfd{\n\n\n\n\n\n",
        });
        body.extend_from_slice(wire.finish().as_bytes());
        let outcome = chat(wire, Behaviour::Raw(raw(wire, body)), IDLE).await;
        outcome.error("malformed-stream", "is not JSON");
    }
}

/// The content type is a hint: a stream labelled as JSON, text or nothing is still read, and
/// one labelled as the other wire's stream too.
#[tokio::test]
async fn a_wrong_content_type_does_not_break_a_valid_reply() {
    for wire in WIRES {
        for content_type in [
            Some("application/json"),
            Some("text/html; charset=utf-8"),
            Some("application/x-ndjson"),
            Some("text/event-stream"),
            None,
        ] {
            let mut reply = RawReply::new(content_type.unwrap_or(""), wire.reply(&["ok"]));
            if content_type.is_none() {
                reply = reply.without_content_type();
            }
            let outcome = chat(wire, Behaviour::Raw(reply), IDLE).await;
            assert_eq!(outcome.reply().text, "ok", "{wire:?} as {content_type:?}");
        }
    }
}

/// Ollama and llama.cpp report some failures inside a `200` reply.
#[tokio::test]
async fn http_200_with_an_error_body_is_classified() {
    let cases = [
        (
            Wire::OpenAi,
            "application/json",
            r#"{"error":{"message":"model runner crashed","type":"api_error","code":500}}"#,
            "server",
        ),
        (
            Wire::OpenAi,
            "text/event-stream",
            "data: {\"error\":{\"message\":\"model runner crashed\",\"code\":500}}\n\n",
            "server",
        ),
        (
            Wire::OpenAi,
            "text/event-stream",
            "event: error\ndata: {\"message\":\"the request exceeds the available context size\"}\n\n",
            "context-overflow",
        ),
        (
            Wire::Native,
            "application/x-ndjson",
            "{\"error\":\"model runner has unexpectedly stopped\"}\n",
            "server",
        ),
        (
            Wire::Native,
            "application/json; charset=utf-8",
            r#"{"error":"model 'm' not found"}"#,
            "model-not-found",
        ),
    ];
    for (wire, content_type, body, kind) in cases {
        let outcome = chat(
            wire,
            Behaviour::Raw(RawReply::new(content_type, body)),
            IDLE,
        )
        .await;
        let error = outcome.error(kind, "");
        assert!(
            error.to_string().contains("crashed")
                || error.to_string().contains("stopped")
                || error.to_string().contains("not found")
                || error.to_string().contains("context"),
            "the server's own words are lost: {error}"
        );
    }
}

/// Found by the matrix: a record that is valid JSON but not an object was quoted whole in the
/// error, megabytes of it. Now it is quoted up to 200 characters, like other bad payloads.
#[tokio::test]
async fn a_record_that_is_not_an_object_is_quoted_not_dumped() {
    for wire in WIRES {
        let values = "0,".repeat(50_000);
        let body = match wire {
            Wire::OpenAi => format!("data: [{values}0]\n\n"),
            Wire::Native => format!("[{values}0]\n"),
        };
        let outcome = chat(wire, Behaviour::Raw(raw(wire, body)), IDLE).await;
        outcome.error("malformed-stream", "expected a JSON object, got `[0,0,");
    }
}

/// A request that offers one tool, `write`, so textual calls to it are looked for.
fn request_offering_write() -> ChatRequest {
    ChatRequest {
        tools: vec![openclaw_llm::ToolSpec {
            name: "write".into(),
            description: String::new(),
            parameters: serde_json::json!({"type": "object"}),
        }],
        ..request()
    }
}

/// Found by fuzzing (`tool_call_args` crash-2913b127): `<think>` tags were split out of the
/// content before textual tool calls were looked for, so a `<tool_call>` (or bare JSON) call
/// whose arguments contain `<think>` — a file about reasoning tags, say — was torn apart: no
/// call, and the call's JSON shown to the user as answer text. Now the splitter stops looking
/// for tags once a call may have started (reply.rs).
#[test]
fn a_textual_call_whose_arguments_mention_think_tags() {
    use openclaw_llm::{ReplyDecoder, WireFormat};
    let request = request_offering_write();
    let call = r#"<tool_call>{"name":"write","arguments":{"path":"a.md","content":"Use <think> tags"}}</tool_call>"#;
    let body = Wire::Native.reply(&[call]);
    let mut decoder = ReplyDecoder::new(WireFormat::OllamaNdjson, &request, "http://h");
    let mut ignore = |_: StreamEvent| {};
    decoder.feed(body.as_bytes(), &mut ignore).unwrap();
    let reply = decoder.finish(&mut ignore).unwrap();
    assert_eq!(reply.text, "");
    assert_eq!(reply.tool_calls.len(), 1);
    assert_eq!(reply.tool_calls[0].arguments["content"], "Use <think> tags");
}

/// Found by fuzzing `tool_call_args` (crash-48e9575b): a `<tool_call>` block whose arguments
/// mention `</tool_call>` (a file about tool calls) was cut at that mention, so the call was
/// lost and its JSON shown as answer text. Both wires, the reply cut into two deltas anywhere.
#[test]
fn a_textual_call_whose_arguments_mention_the_closing_tag() {
    use openclaw_llm::ReplyDecoder;
    let request = request_offering_write();
    let content = "End a call with </tool_call>, then <tool_call> opens the next.";
    let call = format!(
        "<tool_call>\n{}\n</tool_call>\nWritten.",
        serde_json::json!({"name": "write", "arguments": {"path": "calls.md", "content": content}})
    );
    for wire in WIRES {
        let format = wire.format();
        for cut in (0..=call.len()).filter(|&i| call.is_char_boundary(i)) {
            let (a, b) = call.split_at(cut);
            let body = wire.reply(&[a, b]);
            let mut decoder = ReplyDecoder::new(format, &request, "http://h");
            let mut shown = String::new();
            let mut collect = |event: StreamEvent| {
                if let StreamEvent::Text(t) = event {
                    shown.push_str(&t);
                }
            };
            decoder.feed(body.as_bytes(), &mut collect).unwrap();
            let reply = decoder.finish(&mut collect).unwrap();
            assert_eq!(reply.tool_calls.len(), 1, "{wire:?}, cut at {cut}");
            assert_eq!(reply.tool_calls[0].arguments["content"], content);
            assert_eq!(reply.text, "Written.", "{wire:?}, cut at {cut}");
            assert!(
                !shown.contains("tool_call"),
                "{wire:?}, cut at {cut}: showed {shown}"
            );
        }
    }
}

// ---- memory-bounded cases, each in a child process -------------------------------------------

/// Set in a child process to the name of the one test it runs.
const CHILD_ENV: &str = "OPENCLAW_FAULT_CHILD";
/// The server's base URL, passed to the child.
const URL_ENV: &str = "OPENCLAW_FAULT_URL";

/// The base URL when this process is the child running `test`.
fn child_of(test: &str) -> Option<String> {
    (std::env::var(CHILD_ENV).ok()? == test)
        .then(|| std::env::var(URL_ENV).ok())
        .flatten()
}

/// Runs `test` of this binary in a child talking to `url`; returns the outcome line it printed
/// and its peak RSS in KiB.
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
            .find_map(|l| l.find(name).map(|at| &l[at + name.len()..]))
            .unwrap_or_else(|| panic!("child {test} printed no {name}:\n{stdout}"))
            .to_owned()
    };
    (field("outcome="), field("peak_rss_kib=").parse().unwrap())
}

/// In the child: runs one chat over `wire` and prints its outcome and the peak RSS.
fn child_chat(wire: Wire, url: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = runtime.block_on(chat_with(&wire.client(url, Duration::from_secs(10))));
    let line = match &outcome.result {
        Ok(r) => format!("ok {} bytes", r.text.len()),
        Err(e) => format!("{}: {e}", e.kind()),
    };
    println!(
        "\noutcome={line} (streamed {} bytes in {:?})",
        outcome.streamed, outcome.took
    );
    println!("\npeak_rss_kib={}", Rss::of_self().unwrap().peak_kib);
}

/// The parent's half of a memory case: serves `reply` for each wire, runs the child, checks the
/// outcome and the cap.
fn memory_case(test: &str, reply: impl Fn(Wire) -> RawReply, expect: &str, cap_mib: u64) {
    if let Some(url) = child_of(test) {
        let wire = if url.ends_with("#openai") {
            Wire::OpenAi
        } else {
            Wire::Native
        };
        child_chat(
            wire,
            url.trim_end_matches("#openai").trim_end_matches("#native"),
        );
        return;
    }
    for wire in WIRES {
        let server = TestServer::builder()
            .model(ModelSpec::new("m").chat_behaviour(Behaviour::Raw(reply(wire))))
            .start_blocking()
            .unwrap();
        let tag = match wire {
            Wire::OpenAi => "#openai",
            Wire::Native => "#native",
        };
        let (outcome, peak_kib) = run_child(test, &format!("{}{tag}", server.url()));
        eprintln!(
            "{test} {wire:?}: {outcome}; peak RSS {} MiB",
            peak_kib / 1024
        );
        assert!(outcome.starts_with(expect), "{wire:?}: {outcome}");
        assert!(
            outcome.len() < 700,
            "{wire:?}: a {} byte outcome",
            outcome.len()
        );
        assert!(
            peak_kib < cap_mib * 1024,
            "{wire:?}: peak RSS {} MiB over the {cap_mib} MiB cap ({outcome})",
            peak_kib / 1024
        );
    }
}

/// Baseline: a normal short reply, to read the other caps against.
#[test]
fn memory_baseline_small_reply() {
    memory_case(
        "memory_baseline_small_reply",
        |wire| raw(wire, wire.reply(&["Hello"])),
        "ok 5 bytes",
        24,
    );
}

/// 100 MB of well-formed text records: refused at the 64 MiB reply cap. What was decoded up to
/// then is held as the reply text, so the cap is the reply cap plus the baseline.
#[test]
fn a_100_mb_reply_is_refused_at_the_reply_cap() {
    memory_case(
        "a_100_mb_reply_is_refused_at_the_reply_cap",
        |wire| raw(wire, wire.record(&"x".repeat(4096))).repeat_until(100_000_000),
        "too-large: the reply from",
        96,
    );
}

/// 100 MB without a single line end: refused at the 16 MiB line cap.
#[test]
fn a_100_mb_line_is_refused_at_the_line_cap() {
    memory_case(
        "a_100_mb_line_is_refused_at_the_line_cap",
        |wire| {
            let start = match wire {
                Wire::OpenAi => "data: \"",
                Wire::Native => "{\"message\":{\"content\":\"",
            };
            let mut body = start.as_bytes().to_vec();
            body.extend(std::iter::repeat_n(b'x', 1 << 16));
            raw(wire, body).repeat_until(100_000_000)
        },
        "too-large: the reply from",
        48,
    );
}

/// A stream that never ends is refused at the reply cap too (and is not a hang).
#[test]
fn a_never_ending_stream_is_refused_at_the_reply_cap() {
    memory_case(
        "a_never_ending_stream_is_refused_at_the_reply_cap",
        |wire| raw(wire, wire.record(&"y".repeat(4096))).forever(),
        "too-large: the reply from",
        96,
    );
}

/// 100 MB announced as one JSON document: buffered up to the 64 MiB reply cap, then refused.
#[test]
fn a_100_mb_json_document_is_refused_at_the_reply_cap() {
    memory_case(
        "a_100_mb_json_document_is_refused_at_the_reply_cap",
        |_| {
            RawReply::new("application/json", format!("[{}", "0,".repeat(1 << 15)))
                .repeat_until(100_000_000)
        },
        "too-large: the reply from",
        96,
    );
}

/// The worst shape under the caps: one 15 MiB record that is a JSON array of tiny values. Every
/// value used to become a `serde_json::Value` (72 bytes each) before the record was understood:
/// the client peaked near 600 MiB for a 15 MiB line. Now the value budget
/// (`openclaw-untrusted`) refuses it unparsed, and memory stays near the line cap.
#[test]
fn a_line_of_tiny_json_values_under_the_line_cap() {
    memory_case(
        "a_line_of_tiny_json_values_under_the_line_cap",
        |wire| {
            let values = "0,".repeat(15 << 19);
            let body = match wire {
                Wire::OpenAi => format!("data: [{values}0]\n\n"),
                Wire::Native => format!("[{values}0]\n"),
            };
            raw(wire, body)
        },
        "malformed-stream",
        64,
    );
}

/// 60 MB announced as one JSON document of tiny values, under the 64 MiB reply cap: buffered,
/// then refused by the value budget without being parsed (it would have taken over 2 GiB).
#[test]
fn a_60_mb_json_document_of_tiny_values_is_refused_unparsed() {
    memory_case(
        "a_60_mb_json_document_of_tiny_values_is_refused_unparsed",
        |_| {
            RawReply::new(
                "application/json",
                format!("[{}0]", "0,".repeat(30_000_000)),
            )
        },
        "malformed-stream",
        192,
    );
}

// ---- the decoder fuzz targets' seeds, replayed by `cargo test` ------------------------------

/// The fuzz targets' properties (one source: `fuzz/src/lib.rs`).
#[path = "../../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod fuzz_properties;

/// Every input of `fuzz/seeds/{sse,ndjson}_decoder/` through the fuzz targets' properties
/// (whole versus cut into pieces, events adding up to the reply), without cargo-fuzz.
#[test]
fn fuzz_seeds_of_the_decoders_replay_cleanly() {
    use openclaw_llm::WireFormat;
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let mut replayed = 0;
    for (target, streamed, whole) in [
        ("sse_decoder", WireFormat::OpenAiSse, WireFormat::OpenAiJson),
        (
            "ndjson_decoder",
            WireFormat::OllamaNdjson,
            WireFormat::OllamaJson,
        ),
    ] {
        for entry in std::fs::read_dir(seeds.join(target)).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            let Some((&control, body)) = data.split_first() else {
                continue;
            };
            let format = if control & 0x80 == 0 { streamed } else { whole };
            fuzz_properties::whole_versus_pieces(format, body, control);
            replayed += 1;
        }
    }
    assert!(replayed >= 15, "only {replayed} seeds");
}

// ---- the small cases' memory cap -------------------------------------------------------------

/// The matrix cases above that need no cap of their own (the server sends little).
const SMALL_CASES: &[&str] = &[
    "refused_connection_is_a_connect_error",
    "a_reply_cut_mid_stream_is_malformed_not_truncated_silently",
    "a_stall_before_the_headers_times_out",
    "a_stall_between_chunks_times_out",
    "a_trickled_reply_is_read_whole",
    "garbage_bytes_are_malformed",
    "invalid_utf8_is_replaced_or_refused",
    "a_wrong_content_type_does_not_break_a_valid_reply",
    "http_200_with_an_error_body_is_classified",
    "a_record_that_is_not_an_object_is_quoted_not_dumped",
];

/// The small cases' cap: all of them run again, one after the other, in one child process —
/// the chat client and the test server together — whose peak RSS (`ru_maxrss`, from
/// `wait4`) must stay under 32 MiB. Each case thus has an asserted cap, and one no case can
/// reach by holding more than it was sent.
#[test]
fn the_small_cases_together_stay_under_32_mib() {
    openclaw_test_support::measure::assert_cases_stay_under(SMALL_CASES, CHILD_ENV, 32);
}
