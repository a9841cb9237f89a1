//! Every fuzz target (fuzz/) builds and runs briefly from its seeds without a crash: the CI
//! step issue #6 asks for. The long runs (10 million inputs per parser) are documented in
//! RELIABILITY.md; their corpora are not in the repository, so CI starts from the seeds.
//!
//! `FUZZ_SECONDS` (default 20) sets the time per target. The build is unoptimised
//! (`FUZZ_DEV=1`): it compiles in about half the time, and a smoke run needs no speed.
// Tests report what they measured on stderr, for whoever runs them.
#![allow(clippy::print_stdout, clippy::print_stderr)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use openclaw_repo_checks::{cargo_tool_available, repo_root};

#[test]
fn every_fuzz_target_survives_a_short_run() {
    if !cargo_tool_available("fuzz", "cargo install cargo-fuzz --locked") {
        return;
    }
    let seconds = std::env::var("FUZZ_SECONDS").unwrap_or_else(|_| "20".to_owned());
    let log_dir = repo_root().join("target/fuzz-smoke/logs");
    // From the seeds alone, as on a fresh clone: a long local run's corpus would take minutes
    // to load into an unoptimised build.
    let corpus = repo_root().join("target/fuzz-smoke/corpus");
    let _ = std::fs::remove_dir_all(&corpus);
    let output = std::process::Command::new(repo_root().join("fuzz/run-ci.sh"))
        .env("FUZZ_SECONDS", &seconds)
        .env("FUZZ_DEV", "1")
        .env("FUZZ_CORPUS", &corpus)
        .env("FUZZ_LOG_DIR", &log_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}");
    assert!(
        output.status.success(),
        "fuzz/run-ci.sh failed ({}):\n{}",
        output.status,
        stderr
            .lines()
            .rev()
            .take(80)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // One summary line per target, each with a number of executions.
    let targets = std::fs::read_dir(repo_root().join("fuzz/fuzz_targets"))
        .unwrap()
        .count();
    let summaries: Vec<&str> = stdout.lines().filter(|l| l.contains("execs in")).collect();
    assert_eq!(summaries.len(), targets, "{stdout}");
    for line in summaries {
        let execs: u64 = line
            .split_whitespace()
            .find_map(|w| w.parse().ok())
            .unwrap_or(0);
        assert!(execs > 100, "hardly ran: {line}");
    }
}
