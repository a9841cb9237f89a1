//! The gateway under faults and attacks, through the real `openclaw gateway` binary on a socket
//! (RELIABILITY.md, gateway rows), one module per class of fault:
//!
//! - [`upstream`]: a model server that fails, stalls, cuts or garbles its reply;
//! - [`clients`]: slow and idle clients (slowloris, WebSockets that never `connect`);
//! - [`resources`]: the gateway's own memory — huge and endless replies, idle connections, a
//!   gigabyte transcript;
//! - [`auth`]: token guessing and the ways of presenting a token;
//! - [`requests`]: hostile request shapes — foreign or non-ASCII `Host`/`Origin`, cross-origin
//!   WebSockets, bodies over the limit;
//! - [`secrets`]: no credential in anything the gateway prints, writes or answers.
//!
//! Every test starts its own gateway and model servers (`Upstream`) and is the only one to
//! touch, slow down or measure them, so tests run in parallel without one changing another's
//! server. The gateway process, its HTTP and WebSocket clients and its memory probe are the
//! shared harness (`openclaw_test_support::gateway`); what is here is what these tests have in
//! common: the model servers, the chat requests and the checks of a relayed answer.

mod auth;
mod clients;
mod requests;
mod resources;
mod secrets;
mod upstream;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;

use openclaw_test_support::gateway::http::{connect, exchange, raw_request, request, send, Http};
use openclaw_test_support::gateway::Gateway;
use openclaw_test_support::{ModelSpec, TestServer};
use serde_json::{json, Value};

use super::support::{closed_port, Env};

/// The gateway token of every gateway here.
const TOKEN: &str = "gw-SECRET-token-5eb1a7";
/// The model servers' API key.
const KEY: &str = "sk-SECRET-upstream-key-9d2e";
/// A header credential sent to the model servers.
const HEADER: &str = "Bearer SECRET-upstream-header-77c3";
/// Idle timeout of the model servers (`timeoutSeconds`): short, so stalls end fast.
const IDLE_SECS: u64 = 3;

// The two upstream wires (`openclaw_test_support::ChatWire`; `OpenAi` is the SSE one).
use openclaw_test_support::ChatWire as Wire;

/// The health check every test ends with.
trait AssertHealthy {
    /// Still running, never panicked, `/health` answers and a normal chat works.
    fn assert_healthy(&mut self);
}

impl AssertHealthy for Gateway {
    #[track_caller]
    fn assert_healthy(&mut self) {
        self.assert_alive();
        let health = request(self.port(), "GET", "/health", &[], None);
        assert_eq!(health.status, 200, "{health:?}");
        assert_eq!(health.json(), json!({"ok": true}));
        let chat = complete(self.port(), "sse/ok");
        assert_eq!(chat.status, 200, "{chat:?}");
        assert_eq!(
            chat.json()["choices"][0]["message"]["content"],
            "Hello from ok"
        );
    }
}

/// Model servers for both wires (each serves `ok` plus the given models) and the config of a
/// gateway that uses them: providers `sse` (`/v1/chat/completions`), `native` (`/api/chat`)
/// and `gone` (a closed port), with the gateway token and the model servers' credentials.
struct Upstream {
    sse: TestServer,
    native: TestServer,
}

impl Upstream {
    fn new(sse: Vec<ModelSpec>, native: Vec<ModelSpec>) -> Self {
        let start = |models: Vec<ModelSpec>| {
            TestServer::builder()
                .model(ModelSpec::new("ok"))
                .models(models)
                .start_blocking()
                .unwrap()
        };
        Self {
            sse: start(sse),
            native: start(native),
        }
    }

    fn healthy() -> Self {
        Self::new(Vec::new(), Vec::new())
    }

    fn config(&self) -> String {
        let ids = |server: &TestServer| {
            server
                .model_names()
                .iter()
                .map(|n| format!("{{ id: {:?} }}", n.trim_end_matches(":latest")))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            r#"{{
  models: {{ providers: {{
    sse: {{ baseUrl: "{sse}/v1", api: "openai-completions", apiKey: "{KEY}",
           headers: {{ "X-Upstream-Auth": "{HEADER}" }},
           timeoutSeconds: {IDLE_SECS}, models: [{sse_ids}] }},
    native: {{ baseUrl: "{native}", api: "ollama", apiKey: "{KEY}",
              timeoutSeconds: {IDLE_SECS}, models: [{native_ids}] }},
    gone: {{ baseUrl: "http://127.0.0.1:{closed}/v1", api: "openai-completions",
            timeoutSeconds: {IDLE_SECS}, models: [{{ id: "sse" }}, {{ id: "native", api: "ollama" }}] }},
  }} }},
  agents: {{ defaults: {{ model: {{ primary: "sse/ok" }} }} }},
  gateway: {{ auth: {{ token: "{TOKEN}" }} }},
}}"#,
            sse = self.sse.url(),
            native = self.native.url(),
            sse_ids = ids(&self.sse),
            native_ids = ids(&self.native),
            closed = closed_port(),
        )
    }

    /// A fresh HOME whose config points at these servers.
    fn env(&self) -> Env {
        let env = Env::new();
        env.write_config(&self.config());
        env
    }
}

// ---- chats through the gateway ---------------------------------------------------------------

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

fn chat_body(model: &str, stream: bool) -> String {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
        .to_string()
}

/// A non-streamed chat completion with the right token.
fn complete(port: u16, model: &str) -> Http {
    request(
        port,
        "POST",
        "/v1/chat/completions",
        &[("Authorization", &bearer())],
        Some(&chat_body(model, false)),
    )
}

/// What a streamed chat completion delivered.
#[derive(Debug, Default)]
struct Streamed {
    status: u16,
    content_type: String,
    /// The answer text (the first MiB of it).
    text: String,
    text_bytes: usize,
    chunks: usize,
    /// The first chunk carried `role: assistant`.
    role_first: bool,
    finish: Option<String>,
    /// `{"error": …}` events.
    errors: Vec<Value>,
    done: bool,
    events_after_done: usize,
    /// The response ended with its terminating chunk.
    clean_end: bool,
    /// The body of a response that is not an event stream.
    other_body: String,
}

/// A streamed chat completion. `after_headers` runs once the headers are read (a slow
/// reader pauses there).
fn stream_chat(port: u16, model: &str, after_headers: impl FnOnce()) -> Streamed {
    let raw = raw_request(
        port,
        "POST",
        "/v1/chat/completions",
        &[("Authorization", &bearer())],
        Some(&chat_body(model, true)),
    );
    let (status, headers, body) = send(connect(port), &raw);
    after_headers();
    let content_type = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut out = Streamed {
        status,
        content_type,
        ..Streamed::default()
    };
    let mut reader = BufReader::with_capacity(64 * 1024, body);
    if !out.content_type.starts_with("text/event-stream") {
        reader.read_to_string(&mut out.other_body).unwrap();
        return out;
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).unwrap() == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        let Some(data) = text.trim_end().strip_prefix("data: ") else {
            continue;
        };
        if out.done {
            out.events_after_done += 1;
        }
        if data == "[DONE]" {
            out.done = true;
            continue;
        }
        let event: Value = serde_json::from_str(data).unwrap();
        if event.get("error").is_some() {
            out.errors.push(event);
            continue;
        }
        out.chunks += 1;
        let choice = &event["choices"][0];
        if out.chunks == 1 {
            out.role_first = choice["delta"]["role"] == "assistant";
        }
        if let Some(t) = choice["delta"]["content"].as_str() {
            out.text_bytes += t.len();
            if out.text.len() < 1 << 20 {
                out.text.push_str(t);
            }
        }
        if let Some(f) = choice["finish_reason"].as_str() {
            out.finish = Some(f.to_string());
        }
    }
    out.clean_end = reader.into_inner().clean_end();
    out
}

/// `GET /v1/models` with these headers, on `stream`.
fn models_on(stream: TcpStream, port: u16, headers: &[(&str, &str)]) -> Http {
    exchange(
        stream,
        &raw_request(port, "GET", "/v1/models", headers, None),
    )
}

fn models(port: u16, headers: &[(&str, &str)]) -> Http {
    models_on(connect(port), port, headers)
}

// ---- what a relayed chat must end in ---------------------------------------------------------

/// What a relayed chat must end in.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// A reply with this text.
    Answer(&'static str),
    /// HTTP 502 `upstream_failed` naming the model server, with `needle` in the message;
    /// streamed: `partial` as text, then one error event and `[DONE]`.
    Error {
        needle: &'static str,
        partial: &'static str,
    },
}

/// The status and OpenAI error code of an upstream failure, from the status the gateway chose:
/// 504 `upstream_timeout` for a model that went quiet past its idle timeout, else 502
/// `upstream_failed`.
fn upstream_status(status: u16) -> (u16, &'static str) {
    if status == 504 {
        (504, "upstream_timeout")
    } else {
        (502, "upstream_failed")
    }
}

#[track_caller]
fn check_completion(what: &str, reply: &Http, expect: Expect) {
    match expect {
        Expect::Answer(text) => {
            assert_eq!(reply.status, 200, "{what}: {reply:?}");
            assert_eq!(
                reply.json()["choices"][0]["message"]["content"],
                text,
                "{what}"
            );
        }
        Expect::Error { needle, .. } => {
            // A model that went quiet is a gateway timeout; every other failure a bad gateway.
            let (status, code) = upstream_status(reply.status);
            let message = reply.openai_error(status, Some(code));
            assert!(
                status != 504 || message.contains("(timeout)"),
                "{what}: 504 for a failure that is not a timeout: {message}"
            );
            assert_eq!(reply.json()["error"]["type"], "server_error", "{what}");
            assert!(
                message.contains(needle),
                "{what}: {needle:?} not in {message}"
            );
            assert!(
                message.contains("127.0.0.1"),
                "{what}: names no server: {message}"
            );
            assert!(message.len() < 1500, "{what}: {} bytes", message.len());
            eprintln!("{what}: {status} {message:?}");
        }
    }
}

#[track_caller]
fn check_streamed(what: &str, s: &Streamed, expect: Expect) {
    if let Expect::Error {
        needle,
        partial: "",
    } = expect
    {
        // Nothing was streamed yet: a real HTTP error with OpenAI's error body, as OpenAI
        // answers, so clients raise it instead of reading an empty stream.
        assert!(
            matches!(s.status, 429 | 500..=504),
            "{what}: a failure before any output is an HTTP error: {s:?}"
        );
        let body: Value = serde_json::from_str(&s.other_body)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {s:?}"));
        let error = &body["error"];
        assert_eq!(error["code"], upstream_status(s.status).1, "{what}: {body}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains(needle),
            "{what}: {needle:?} not in {message}"
        );
        assert!(
            s.status != 504 || message.contains("(timeout)"),
            "{what}: 504 for a failure that is not a timeout: {message}"
        );
        assert!(message.len() < 1500, "{what}");
        return;
    }
    assert_eq!(s.status, 200, "{what}: {s:?}");
    assert!(
        s.content_type.starts_with("text/event-stream"),
        "{what}: {s:?}"
    );
    assert!(s.role_first, "{what}: {s:?}");
    assert!(s.done && s.events_after_done == 0, "{what}: {s:?}");
    assert!(s.clean_end, "{what}: the stream was cut: {s:?}");
    match expect {
        Expect::Answer(text) => {
            assert_eq!(s.text, text, "{what}");
            assert_eq!(s.finish.as_deref(), Some("stop"), "{what}");
            assert!(s.errors.is_empty(), "{what}: {s:?}");
        }
        Expect::Error { needle, partial } => {
            assert_eq!(s.text, partial, "{what}: text before the error");
            assert_eq!(s.finish, None, "{what}: a failed answer is not `stop`ped");
            assert_eq!(s.errors.len(), 1, "{what}: {s:?}");
            let error = &s.errors[0]["error"];
            let message = error["message"].as_str().unwrap();
            // A model that went quiet mid-stream is a timeout; anything else a failure.
            let code = if message.contains("(timeout)") {
                "upstream_timeout"
            } else {
                "upstream_failed"
            };
            assert_eq!(error["code"], code, "{what}: {message}");
            assert!(
                message.contains(needle),
                "{what}: {needle:?} not in {message}"
            );
            assert!(message.len() < 1500, "{what}");
        }
    }
}
