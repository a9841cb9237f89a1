//! `openclaw models pull NAME`: progress as plain lines in pipes and as bars on a
//! terminal, the model in `models list` right after, and every failure Ollama can report —
//! in the stream, as an HTTP error, for an unknown name, or by not being there at all.

use std::time::{Duration, Instant};

use openclaw_test_support::{ModelSpec, PullScript, TestServer};

use super::support::{closed_port, keys, requests_to, Env};

/// The milestones a layer is reported at in plain mode.
const MILESTONES: [&str; 5] = ["  0%", " 25%", " 50%", " 75%", "100%"];

fn server_with(scripts: Vec<(&str, PullScript)>) -> TestServer {
    let mut builder = TestServer::builder().model(ModelSpec::new("llama3.2"));
    for (name, script) in scripts {
        builder = builder.pull_script(name, script);
    }
    builder.start_blocking().unwrap()
}

/// Lines about layers (`pulling <digest12>: …`), in order.
fn layer_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("pulling ") && l.contains('%'))
        .collect()
}

#[test]
fn pulling_prints_plain_progress_and_the_model_is_listed_after() {
    let server = server_with(vec![(
        "qwen3:8b",
        PullScript::new().model(
            ModelSpec::new("qwen3:8b")
                .architecture("qwen3")
                .capabilities(&["completion", "tools", "thinking"])
                .size(5_225_376_047),
        ),
    )]);
    let env = Env::new().api_key("ollama-local").ollama(&server);
    let before = keys(&env.json(&["models", "list", "--json"]));
    assert!(!before.contains(&"ollama/qwen3:8b".to_string()));

    let run = env.ok(&["models", "pull", "qwen3:8b"]);
    // Not a terminal: no escape codes, no carriage returns, one line per step.
    assert!(
        !run.stderr.contains('\u{1b}') && !run.stderr.contains('\r'),
        "{:?}",
        run.stderr
    );
    let steps: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.starts_with("pulling ") || l == &"pulling manifest")
        .take(5)
        .collect();
    assert_eq!(
        steps[..4],
        [
            "pulling manifest",
            "verifying sha256 digest",
            "writing manifest",
            "success"
        ],
        "{}",
        run.stderr
    );
    // Four layers, each at 0, 25, 50, 75 and 100 %, one after the other.
    let layers = layer_lines(&run.stderr);
    assert_eq!(layers.len(), 4 * 5, "{}", run.stderr);
    for (i, chunk) in layers.chunks(5).enumerate() {
        let digest = &chunk[0]["pulling ".len().."pulling ".len() + 12];
        assert!(digest.chars().all(|c| c.is_ascii_hexdigit()), "{chunk:?}");
        for (line, milestone) in chunk.iter().zip(MILESTONES) {
            assert!(
                line.starts_with(&format!("pulling {digest}: {milestone} of ")),
                "layer {i}: {line}"
            );
        }
    }
    assert!(layers[0].ends_with("of 5.2 GB"), "{}", layers[0]);
    assert!(run.stdout.contains("Pulled `qwen3:8b` (4 layers, 5.2 GB)"));
    run.assert_stderr_contains("openclaw models set ollama/qwen3:8b");

    let pulls = requests_to(&server, "POST", "/api/pull");
    assert_eq!(pulls.len(), 1);
    let body = pulls[0].json().unwrap();
    assert_eq!(body["model"], "qwen3:8b");
    assert_eq!(body["stream"], true);
    assert_eq!(
        pulls[0].header("authorization"),
        Some("Bearer ollama-local")
    );

    // Discovery is live: no config change needed.
    let after = env.json(&["models", "list", "--json"]);
    assert!(
        keys(&after).contains(&"ollama/qwen3:8b".to_string()),
        "{after:#}"
    );
    assert!(!env.config_path().exists());
}

#[test]
fn an_error_in_the_stream_shows_the_progress_before_it() {
    let server = server_with(vec![(
        "llama3.3",
        PullScript::new().fail_after(
            14,
            "max retries exceeded: read tcp 10.0.0.2:51234->104.21.75.227:443: read: connection reset by peer",
        ),
    )]);
    let env = Env::new().api_key("ollama-local").ollama(&server);
    let run = env.run(&["models", "pull", "llama3.3"]);
    run.assert_code(1)
        .assert_stderr_contains("pulling manifest")
        .assert_stderr_contains("could not pull `llama3.3`")
        .assert_stderr_contains("connection reset by peer")
        .assert_stderr_contains("run the same command again");
    // The first layer finished, the second got to 25 % (records 10..13 of 0..9 each).
    let layers = layer_lines(&run.stderr);
    assert_eq!(layers.len(), 5 + 2, "{}", run.stderr);
    assert!(layers[4].contains("100%") && layers[6].contains(" 25%"));
    assert!(!run.stderr.contains("success"));
    assert!(run.stdout.is_empty());
    let list = env.json(&["models", "list", "--json"]);
    assert!(!keys(&list).iter().any(|k| k.starts_with("ollama/llama3.3")));
}

#[test]
fn an_http_error_is_reported_with_status_and_message() {
    let server = server_with(vec![
        (
            "broken",
            PullScript::new().http_error(500, "no space left on device"),
        ),
        ("guarded", PullScript::new().http_error(401, "unauthorized")),
    ]);
    let env = Env::new().ollama(&server);
    let run = env.run(&["models", "pull", "broken"]);
    run.assert_code(1)
        .assert_stderr_contains("HTTP 500")
        .assert_stderr_contains("no space left on device")
        .assert_stderr_contains(&server.url());
    let run = env.run(&["models", "pull", "guarded"]);
    run.assert_code(1)
        .assert_stderr_contains("HTTP 401")
        .assert_stderr_contains("OLLAMA_API_KEY");
}

#[test]
fn an_unknown_model_is_named_with_ollamas_reason() {
    let server = server_with(vec![]);
    let env = Env::new().api_key("ollama-local").ollama(&server);
    let run = env.run(&["models", "pull", "no-such-model:13b"]);
    run.assert_code(1)
        .assert_stderr_contains("pulling manifest")
        .assert_stderr_contains("no model `no-such-model:13b`")
        .assert_stderr_contains("pull model manifest: file does not exist")
        .assert_stderr_contains("ollama.com/library");
    // An empty name never reaches Ollama.
    let run = env.run(&["models", "pull", " "]);
    run.assert_code(1).assert_stderr_contains("no model name");
    assert_eq!(requests_to(&server, "POST", "/api/pull").len(), 1);
}

#[test]
fn ollama_down_says_what_to_do_like_discovery() {
    let port = closed_port();
    let env = Env::new().ollama_host(&format!("127.0.0.1:{port}"));
    let run = env.run(&["models", "pull", "llama3.3"]);
    run.assert_code(1)
        .assert_stderr_contains(&format!("not reachable at http://127.0.0.1:{port}"))
        .assert_stderr_contains("connection refused")
        .assert_stderr_contains("ollama serve")
        .assert_stderr_contains(&format!("curl http://127.0.0.1:{port}/api/tags"));
}

/// No opt-in is needed to pull; the user is told discovery is still off. The base follows
/// the config entry (its `/v1` dropped), as discovery does, and a known key is sent.
#[test]
fn pulling_needs_no_opt_in_and_follows_the_configured_base() {
    let server = server_with(vec![("mistral", PullScript::new())]);
    let env = Env::new().ollama_host(&format!("127.0.0.1:{}", closed_port()));
    env.write_config(&format!(
        "// where Ollama runs\n{{ models: {{ providers: {{ ollama: {{ baseUrl: \"{}/v1\" }} }} }} }}\n",
        server.url()
    ));
    let run = env.ok(&["models", "pull", "ollama/mistral"]);
    run.assert_stderr_contains("discovery is off")
        .assert_stderr_contains("openclaw onboard");
    let pulls = requests_to(&server, "POST", "/api/pull");
    assert_eq!(pulls[0].json().unwrap()["model"], "mistral");
    assert_eq!(pulls[0].header("authorization"), None);
    assert!(server.model_names().contains(&"mistral:latest".to_string()));
}

/// A pulled model without the `tools` capability is installed but not listed: say so.
#[test]
fn a_model_without_tools_is_explained() {
    let server = server_with(vec![(
        "gemma4",
        PullScript::new().model(ModelSpec::new("gemma4").capabilities(&["completion", "vision"])),
    )]);
    let env = Env::new().api_key("ollama-local").ollama(&server);
    env.ok(&["models", "pull", "gemma4"])
        .assert_stderr_contains("no `tools` capability")
        .assert_stderr_contains("models list --all");
}

#[test]
fn a_silent_server_is_given_up_after_the_idle_timeout() {
    let server = server_with(vec![(
        "slow",
        PullScript::new().record_delay(Duration::from_secs(5)),
    )]);
    let env = Env::new()
        .ollama(&server)
        .var("OPENCLAW_PULL_IDLE_TIMEOUT", "0.5");
    let started = Instant::now();
    let run = env.run(&["models", "pull", "slow"]);
    run.assert_code(1)
        .assert_stderr_contains("sent nothing for 0.5 s")
        .assert_stderr_contains("OPENCLAW_PULL_IDLE_TIMEOUT");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn ctrl_c_stops_the_pull_cleanly() {
    let server = server_with(vec![(
        "big",
        PullScript::new().record_delay(Duration::from_millis(200)),
    )]);
    let env = Env::new().ollama(&server);
    let child = env
        .std_command(&["models", "pull", "big"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while requests_to(&server, "POST", "/api/pull").is_empty() {
        assert!(Instant::now() < deadline, "the pull never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: signals a child this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("resumes"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!server.model_names().iter().any(|n| n.starts_with("big")));
}

/// On a terminal the layers get redrawn progress bars (carriage returns, percentages, byte
/// counts with units) instead of the plain lines.
#[test]
fn a_terminal_gets_progress_bars() {
    let server = server_with(vec![(
        "qwen3:8b",
        PullScript::new().record_delay(Duration::from_millis(15)),
    )]);
    let env = Env::new().api_key("ollama-local").ollama(&server);
    let mut command = env.std_command(&["models", "pull", "qwen3:8b"]);
    command.env("TERM", "xterm-256color");
    let mut session = rexpect::session::spawn_command(command, Some(30_000)).unwrap();
    let screen = session.exp_eof().unwrap();
    let status = session.process().wait().unwrap();
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "{status:?}\n{screen}"
    );
    assert!(screen.contains('\r'), "{screen:?}");
    assert!(
        screen.contains("\u{1b}["),
        "cursor movement expected: {screen:?}"
    );
    assert!(
        screen.contains("100%") && screen.contains("GB/"),
        "{screen:?}"
    );
    assert!(screen.contains("pulling manifest") && screen.contains("success"));
    assert!(
        !screen.contains("% of "),
        "plain lines are for pipes: {screen:?}"
    );
    assert!(screen.contains("Pulled `qwen3:8b`"));
}
