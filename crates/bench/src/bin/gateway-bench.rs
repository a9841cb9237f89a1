//! `gateway-bench`: what the gateway costs, measured on the released `openclaw` binary.
//!
//! 1. Start-up: from spawning `openclaw gateway --port 0` to its `listening on` line (median
//!    of N runs, after one warm-up run that also generates the token).
//! 2. Idle memory: VmRSS two seconds after listening.
//! 3. Load: C concurrent streamed chats (`/v1/chat/completions`, `stream: true`) relayed from
//!    the Ollama-compatible test server on loopback, started over a short ramp. Every chunk
//!    the test server writes carries its send time (`SENT_AT_PLACEHOLDER`); the client notes
//!    when each arrives through the gateway — same machine, same clock — so the difference
//!    is the latency the relay adds (two loopback hops plus the gateway). Reports every
//!    chat's completion, the gateway's peak RSS (VmHWM) and latency percentiles, plus the
//!    same load sent straight to the test server as a baseline.
//!
//! Usage (from the workspace root):
//!   cargo build --release -p openclaw-cli
//!   cargo run --release -p openclaw-bench --bin gateway-bench -- \
//!       [--openclaw target/release/openclaw] [--startup-runs 15] [--chats 1000] \
//!       [--chunks 40] [--chunk-delay-ms 100] [--ramp-ms 2000] [--load-only] [--pin]
//!
//! The default load is 1,000 streams of 10 tokens/s each (10,000 chunks/s through the
//! gateway), all three processes on one machine.
// A benchmark binary: what it prints is its report (stdout) and its progress (stderr).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use openclaw_test_support::measure::Rss;
use openclaw_test_support::{ModelSpec, Reply, TestServer, SENT_AT_PLACEHOLDER};

const TOKEN: &str = "bench-token";

struct Options {
    openclaw: PathBuf,
    startup_runs: usize,
    chats: usize,
    chunks: usize,
    chunk_delay: Duration,
    ramp: Duration,
    /// Only the load test (for profiling).
    load_only: bool,
    /// Pin the gateway to the last CPU and this process (test server, clients) to the others,
    /// so the figures show the gateway's own cost rather than the contention between them.
    pin: bool,
}

fn parse_args() -> Result<Options, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut o = Options {
        openclaw: root.join("target/release/openclaw"),
        startup_runs: 15,
        chats: 1000,
        chunks: 40,
        chunk_delay: Duration::from_millis(100),
        ramp: Duration::from_millis(2000),
        load_only: false,
        pin: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--openclaw" => o.openclaw = PathBuf::from(value()?),
            "--startup-runs" => o.startup_runs = number(value()?)? as usize,
            "--chats" => o.chats = number(value()?)? as usize,
            "--chunks" => o.chunks = number(value()?)? as usize,
            "--chunk-delay-ms" => o.chunk_delay = Duration::from_millis(number(value()?)?),
            "--ramp-ms" => o.ramp = Duration::from_millis(number(value()?)?),
            "--load-only" => o.load_only = true,
            "--pin" => o.pin = true,
            "-h" | "--help" => {
                println!("see the module documentation at the top of gateway-bench.rs");
                std::process::exit(0);
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if !o.openclaw.exists() {
        return Err(format!(
            "{} does not exist: run `cargo build --release -p openclaw-cli` first",
            o.openclaw.display()
        ));
    }
    Ok(o)
}

fn main() {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("gateway-bench: {e}");
            std::process::exit(2);
        }
    };
    let nofile = raise_fd_limit();
    println!("# gateway-bench");
    println!(
        "binary: {} · cores: {} · open-files limit: {nofile}",
        options.openclaw.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if let Err(e) = run(&options) {
        eprintln!("gateway-bench: {e}");
        std::process::exit(1);
    }
}

fn run(o: &Options) -> Result<(), String> {
    if !o.load_only {
        startup(o)?;
        idle_rss(o)?;
    }
    load(o)
}

/// A throw-away state directory.
struct StateDir(PathBuf);

impl StateDir {
    fn new(name: &str) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!(
            "openclaw-gateway-bench-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        Ok(Self(dir))
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A gateway child process.
struct Gateway {
    child: Child,
    port: u16,
    started_to_listening: Duration,
}

impl Gateway {
    fn start(o: &Options, state: &Path, env: &[(&str, String)]) -> Result<Self, String> {
        let mut cmd = Command::new(&o.openclaw);
        cmd.env_clear()
            .env("HOME", state)
            .env("OPENCLAW_STATE_DIR", state)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .args(["gateway", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        if let Some(threads) = std::env::var_os("OPENCLAW_GATEWAY_THREADS") {
            cmd.env("OPENCLAW_GATEWAY_THREADS", threads);
        }
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start openclaw: {e}"))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let port = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(addr) = line.strip_prefix("listening on http://") {
                        break addr
                            .rsplit(':')
                            .next()
                            .and_then(|p| p.trim().parse::<u16>().ok())
                            .ok_or(format!("cannot read the port in {line:?}"))?;
                    }
                }
                _ => return Err("the gateway exited before listening".into()),
            }
        };
        let started_to_listening = started.elapsed();
        // Keep draining stderr so the gateway never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Self {
            child,
            port,
            started_to_listening,
        })
    }

    /// Resident memory now and at its peak (KiB), while it runs.
    fn rss(&self) -> Option<Rss> {
        Rss::of(self.child.id()).ok()
    }

    /// User + system CPU time so far.
    fn cpu_time(&self) -> Duration {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())) else {
            return Duration::ZERO;
        };
        // Fields after the command name (which is in parentheses and may hold spaces).
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // utime and stime are fields 14 and 15 of stat(5); 12 and 13 after the name.
        // SAFETY: sysconf only reads a system constant.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        Duration::from_secs_f64((ticks(11) + ticks(12)) as f64 / hz)
    }

    fn stop(mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: signals our own child.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let _ = self.child.wait();
    }
}

fn startup(o: &Options) -> Result<(), String> {
    let state = StateDir::new("startup")?;
    // Warm-up: page cache, and the token generated on first start.
    Gateway::start(o, &state.0, &[])?.stop();
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..o.startup_runs.max(1) {
        let g = Gateway::start(o, &state.0, &[])?;
        times.push(g.started_to_listening);
        g.stop();
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "\n## start-up to listening ({} runs)\nmedian {:.1} ms · min {:.1} ms · max {:.1} ms",
        times.len(),
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
    Ok(())
}

fn idle_rss(o: &Options) -> Result<(), String> {
    let state = StateDir::new("idle")?;
    let g = Gateway::start(o, &state.0, &[])?;
    std::thread::sleep(Duration::from_secs(2));
    let rss = g.rss().ok_or("cannot read VmRSS")?.current_kib;
    println!(
        "\n## idle memory, 2 s after listening\nVmRSS {:.1} MiB",
        rss as f64 / 1024.0
    );
    g.stop();
    Ok(())
}

/// What one streamed chat saw.
#[derive(Default)]
struct ChatResult {
    /// Receive time minus send time, per chunk, in µs.
    latencies: Vec<i64>,
    chunks: usize,
    done: bool,
    error: Option<String>,
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Reads one streamed chat, timing every stamped chunk as it arrives.
async fn stream_chat(
    client: reqwest::Client,
    url: String,
    body: serde_json::Value,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
) -> ChatResult {
    let mut out = ChatResult::default();
    let response = match client
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            out.error = Some(format!("HTTP {}", r.status()));
            return out;
        }
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    peak.fetch_max(now, Ordering::SeqCst);
    let mut response = response;
    let mut buffer = String::new();
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                out.error = Some(e.to_string());
                break;
            }
        };
        let received = now_us();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            for data in event.lines().filter_map(|l| l.strip_prefix("data: ")) {
                if data == "[DONE]" {
                    out.done = true;
                    continue;
                }
                // `"content":"@1712345678901234 "`: one stamp per relayed chunk.
                let mut rest = data;
                while let Some(at) = rest.find('@') {
                    let digits: String = rest[at + 1..]
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    if let Ok(sent) = digits.parse::<i64>() {
                        out.latencies.push(received - sent);
                        out.chunks += 1;
                    }
                    rest = &rest[at + 1 + digits.len()..];
                }
            }
        }
    }
    in_flight.fetch_sub(1, Ordering::SeqCst);
    out
}

/// Runs `chats` streamed chats against `url`, started evenly over the ramp.
fn drive(
    o: &Options,
    runtime: &tokio::runtime::Runtime,
    url: &str,
    body: &serde_json::Value,
) -> (Vec<ChatResult>, usize, Duration) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(usize::MAX)
        .build()
        .unwrap_or_default();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let results = runtime.block_on(async {
        let mut tasks = Vec::with_capacity(o.chats);
        for i in 0..o.chats {
            let offset = o.ramp.mul_f64(i as f64 / o.chats.max(1) as f64);
            let (client, url, body) = (client.clone(), url.to_string(), body.clone());
            let (in_flight, peak) = (in_flight.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep_until(tokio::time::Instant::from_std(started + offset)).await;
                stream_chat(client, url, body, in_flight, peak).await
            }));
        }
        let mut results = Vec::with_capacity(tasks.len());
        for t in tasks {
            results.push(t.await.unwrap_or_else(|e| ChatResult {
                error: Some(e.to_string()),
                ..ChatResult::default()
            }));
        }
        results
    });
    (results, peak.load(Ordering::SeqCst), started.elapsed())
}

fn percentile(sorted: &[i64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// Prints the figures of one load run; returns the p99 in ms and whether every chat completed.
fn report(
    name: &str,
    o: &Options,
    results: &[ChatResult],
    peak: usize,
    wall: Duration,
) -> (f64, bool) {
    let completed = results
        .iter()
        .filter(|r| r.done && r.error.is_none() && r.chunks == o.chunks)
        .count();
    let mut lat: Vec<i64> = results
        .iter()
        .flat_map(|r| r.latencies.iter().copied())
        .collect();
    lat.sort_unstable();
    println!(
        "{name}: {completed}/{} chats complete ({} chunks each) · peak {peak} streams at once · {:.1} s · latency per chunk p50 {:.3} ms · p90 {:.3} ms · p99 {:.3} ms · max {:.3} ms ({} chunks)",
        results.len(),
        o.chunks,
        wall.as_secs_f64(),
        percentile(&lat, 0.50),
        percentile(&lat, 0.90),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0),
        lat.len()
    );
    if let Some(e) = results.iter().find_map(|r| r.error.as_ref()) {
        println!("  first error: {e}");
    }
    (percentile(&lat, 0.99), completed == results.len())
}

fn load(o: &Options) -> Result<(), String> {
    let pieces: String = (0..o.chunks)
        .map(|i| {
            let delta = if i == 0 {
                serde_json::json!({"role": "assistant", "content": format!("@{SENT_AT_PLACEHOLDER} ")})
            } else {
                serde_json::json!({"content": format!("@{SENT_AT_PLACEHOLDER} ")})
            };
            format!(
                "data: {}\n\n",
                serde_json::json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0,
                    "model": "bench", "choices": [{"index": 0, "delta": delta, "finish_reason": null}]})
            )
        })
        .collect();
    let reply = format!(
        "{pieces}data: {}\n\ndata: [DONE]\n\n",
        serde_json::json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0,
            "model": "bench", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    );
    let server = TestServer::builder()
        .model(
            ModelSpec::new("bench")
                .reply(Reply::Sse(reply))
                .chunk_delay(o.chunk_delay),
        )
        .start_blocking()
        .map_err(|e| format!("cannot start the test server: {e}"))?;
    let state = StateDir::new("load")?;
    std::fs::write(
        state.0.join("openclaw.json"),
        r#"{ agents: { defaults: { model: { primary: "ollama/bench" } } } }"#,
    )
    .map_err(|e| e.to_string())?;
    let g = Gateway::start(
        o,
        &state.0,
        &[
            ("OLLAMA_API_KEY", "ollama-local".into()),
            ("OLLAMA_HOST", server.addr().to_string()),
            ("OPENCLAW_GATEWAY_TOKEN", TOKEN.into()),
        ],
    )?;
    println!("gateway pid {}", g.child.id());
    if o.pin {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cpus < 2 {
            return Err("--pin needs at least 2 CPUs".into());
        }
        pin(g.child.id(), &(cpus - 1..cpus).collect::<Vec<_>>())?;
        pin(std::process::id(), &(0..cpus - 1).collect::<Vec<_>>())?;
        println!(
            "pinned: gateway on CPU {}, test server and clients on CPU 0-{}",
            cpus - 1,
            cpus - 2
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let body = serde_json::json!({"model": "openclaw", "stream": true,
        "messages": [{"role": "user", "content": "stream, please"}]});
    let gateway_url = format!("http://127.0.0.1:{}/v1/chat/completions", g.port);
    println!(
        "\n## {} concurrent streamed chats through the gateway\n{} chunks per chat, {} ms apart, chats started over {} ms",
        o.chats,
        o.chunks,
        o.chunk_delay.as_millis(),
        o.ramp.as_millis()
    );
    // One chat first: the catalog is built (discovery) on first use.
    let warm = Options {
        chats: 1,
        ..clone_options(o)
    };
    let (r, _, _) = drive(&warm, &runtime, &gateway_url, &body);
    if !r.first().is_some_and(|r| r.done) {
        return Err(format!(
            "the warm-up chat failed: {:?}",
            r.first().and_then(|r| r.error.clone())
        ));
    }
    let rss_before = g.rss().map_or(0, |r| r.current_kib);
    let cpu_before = g.cpu_time();
    let (results, peak, wall) = drive(o, &runtime, &gateway_url, &body);
    let cpu = g.cpu_time().saturating_sub(cpu_before);
    let hwm = g.rss().map_or(0, |r| r.peak_kib);
    let (p99, all) = report("through the gateway", o, &results, peak, wall);
    println!(
        "gateway memory: VmRSS before the load {:.1} MiB · peak (VmHWM) {:.1} MiB · gateway CPU time {:.2} s ({:.0} µs per relayed chunk)",
        rss_before as f64 / 1024.0,
        hwm as f64 / 1024.0,
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / (o.chats * o.chunks).max(1) as f64
    );
    g.stop();
    // The same load straight to the test server: what the client and the loopback cost
    // without any relay.
    let direct_url = format!("{}/v1/chat/completions", server.url());
    let direct_body = serde_json::json!({"model": "bench", "stream": true,
        "messages": [{"role": "user", "content": "stream, please"}]});
    let (results, peak, wall) = drive(o, &runtime, &direct_url, &direct_body);
    report(
        "baseline, straight to the test server",
        o,
        &results,
        peak,
        wall,
    );
    println!(
        "\nverdict: all chats complete: {all} · peak RSS ≤ 200 MiB: {} · p99 ≤ 1 ms: {}",
        hwm <= 200 * 1024,
        p99 <= 1.0
    );
    Ok(())
}

fn clone_options(o: &Options) -> Options {
    Options {
        openclaw: o.openclaw.clone(),
        startup_runs: o.startup_runs,
        chats: o.chats,
        chunks: o.chunks,
        chunk_delay: o.chunk_delay,
        ramp: o.ramp,
        load_only: o.load_only,
        pin: o.pin,
    }
}

/// Restricts process `pid` (0: this thread) and its threads to `cpus`.
fn pin(pid: u32, cpus: &[usize]) -> Result<(), String> {
    // Every thread of the process: affinity is per thread on Linux.
    let tids: Vec<i32> = if pid == 0 {
        vec![0]
    } else {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .map_err(|e| e.to_string())?
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
            .collect()
    };
    for tid in tids {
        // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes within it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &c in cpus {
                libc::CPU_SET(c, &mut set);
            }
            if libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(format!(
                    "sched_setaffinity: {}",
                    std::io::Error::last_os_error()
                ));
            }
        }
    }
    Ok(())
}

/// Raises the soft open-files limit to the hard one (1,000 chats need ~3,000 sockets here:
/// client, gateway and test server ends); returns the new limit.
fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        let wanted = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
            return wanted.rlim_cur;
        }
    }
    lim.rlim_cur
}
