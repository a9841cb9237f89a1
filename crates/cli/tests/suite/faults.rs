//! The fault matrix through the real binary: a broken Ollama makes `openclaw models list` and
//! `openclaw agent` fail with a readable message, in bounded time, and in bounded memory — the
//! peak RSS of the `openclaw` process itself (`ru_maxrss` from `wait4`), under each case's cap.

use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use openclaw_test_support::measure::run_measured;
use openclaw_test_support::{Behaviour, ModelSpec, RawReply, TestServer};

use super::support::Env;

/// What one run of the binary did, with its peak resident memory.
struct Measured {
    status: ExitStatus,
    stderr: String,
    peak_mib: u64,
    took: Duration,
}

/// Runs `cmd` to the end and reads its peak RSS from the kernel as it is reaped.
fn measured(cmd: Command) -> Measured {
    let started = Instant::now();
    let run = run_measured(cmd);
    Measured {
        status: run.status,
        stderr: run.stderr,
        peak_mib: run.peak_kib / 1024,
        took: started.elapsed(),
    }
}

#[track_caller]
fn check(run: &Measured, what: &str, needle: &str, cap_mib: u64) {
    eprintln!(
        "{what}: exit {:?} in {:?}, peak RSS {} MiB: {}",
        run.status.code(),
        run.took,
        run.peak_mib,
        run.stderr.lines().next().unwrap_or("")
    );
    assert!(
        run.status.code().is_some_and(|c| c != 0),
        "{what}: {:?}\n{}",
        run.status,
        run.stderr
    );
    assert!(
        run.stderr.contains(needle),
        "{what}: {needle:?} not in:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.len() < 2000,
        "{what}: {} bytes of stderr",
        run.stderr.len()
    );
    assert!(
        run.peak_mib < cap_mib,
        "{what}: peak RSS {} MiB over the {cap_mib} MiB cap",
        run.peak_mib
    );
}

fn sse_record(text: &str) -> String {
    format!("data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n")
}

/// Baseline, 100 MB and endless `/api/tags` for `models list`; capped at the 32 MiB body cap.
#[test]
fn models_list_against_a_broken_tags_endpoint() {
    let item = r#"{"name":"m:latest","model":"m:latest","size":1,"details":{}},"#;
    let cases = [
        (
            "100 MB of tags",
            RawReply::new(
                "application/json",
                format!("{{\"models\":[{}", item.repeat(1000)),
            )
            .repeat_until(100_000_000),
            "larger than 32 MiB",
            80,
        ),
        (
            "endless tags",
            RawReply::new("application/json", " ".repeat(1 << 16)).forever(),
            "larger than 32 MiB",
            80,
        ),
        (
            "stalled tags",
            RawReply::new("application/json", "{\"models\":[").then_hang(),
            "timed out",
            40,
        ),
        (
            "garbage tags",
            RawReply::new("application/json", &b"\xff\xfe\x00garbage"[..]),
            "not JSON",
            40,
        ),
    ];
    for (what, reply, needle, cap) in cases {
        let server = TestServer::builder()
            .tags_behaviour(Behaviour::Raw(reply))
            .start_blocking()
            .unwrap();
        let env = Env::new()
            .api_key("ollama-local")
            .ollama(&server)
            .discovery_timeout(1.0);
        let run = measured(env.std_command(&["models", "list"]));
        // `models list` shows what it could not discover as a warning; the exit code says so.
        if run.status.success() {
            eprintln!("{what}: models list succeeded, with: {}", run.stderr);
            assert!(run.stderr.contains(needle), "{what}: {}", run.stderr);
            assert!(run.peak_mib < cap, "{what}: {} MiB", run.peak_mib);
        } else {
            check(&run, what, needle, cap);
        }
        // A guard against a hang, not a timing goal (a loaded 2-core machine is slow).
        assert!(
            run.took < Duration::from_secs(120),
            "{what}: {:?}",
            run.took
        );
    }
}

/// `openclaw agent` against a model whose reply is 100 MB, or never ends, or stalls.
#[test]
fn agent_against_a_broken_chat_endpoint() {
    let record = sse_record(&"x".repeat(4096));
    let cases = [
        (
            "100 MB reply",
            RawReply::new("text/event-stream", record.clone()).repeat_until(100_000_000),
            "exceeded 67108864 bytes",
            112,
        ),
        (
            "endless reply",
            RawReply::new("text/event-stream", record).forever(),
            "exceeded 67108864 bytes",
            112,
        ),
        (
            "reply cut mid-stream",
            RawReply::new("text/event-stream", sse_record("Hel"))
                .chunked(0, Duration::from_millis(50))
                .then_cut(),
            "broke mid-reply",
            40,
        ),
    ];
    for (what, reply, needle, cap) in cases {
        let server = TestServer::builder()
            .model(ModelSpec::new("llama3.3").chat_behaviour(Behaviour::Raw(reply)))
            .start_blocking()
            .unwrap();
        let env = Env::new().api_key("ollama-local").ollama(&server);
        let run = measured(env.std_command(&["agent", "-m", "hi", "--model", "ollama/llama3.3"]));
        check(&run, what, needle, cap);
        // A guard against a hang, not a timing goal (a loaded 2-core machine is slow).
        assert!(
            run.took < Duration::from_secs(120),
            "{what}: {:?}",
            run.took
        );
    }
}
