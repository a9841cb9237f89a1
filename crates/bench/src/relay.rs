//! `openclaw-bench relay`: tokens/s relayed by `openclaw agent` vs the backend's own rate, on
//! the real local model (`scripts/local-llm`).
//!
//! 1. `openclaw agent` runs once against the in-process test server, which records the exact
//!    `/v1/chat/completions` body the agent sends.
//! 2. That body is replayed straight to the real backend; the arrival times of its content
//!    chunks give the backend's own streaming rate.
//! 3. The same turn runs through `openclaw agent` against the real backend; the arrival times
//!    of the answer on its stdout give the relayed rate.
//!
//! Temperature 0 with llama.cpp's prompt cache off makes both replies identical, so both rates
//! count the same tokens; the output is checked to be identical before a ratio is reported.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use openclaw_test_support::{ModelSpec, TestServer};

const PROMPT: &str = "Tell me a long story about a lighthouse keeper and a storm.";
const MODEL: &str = "smollm2:135m";

pub fn run(ours: &Path, runs: usize) -> Result<(), String> {
    let repo = ours
        .ancestors()
        .nth(3)
        .ok_or("cannot find the repository root")?;
    let script = repo.join("scripts/local-llm");
    // A backend of its own (own state directory, so never one the tests left running with
    // other settings), prompt cache off so that every reply is computed alike.
    let llm_dir = std::env::temp_dir().join(format!("openclaw-bench-llm-{}", std::process::id()));
    std::fs::create_dir_all(&llm_dir).map_err(|e| e.to_string())?;
    let _backend = Backend {
        script: script.clone(),
        dir: llm_dir.clone(),
    };
    let out = Command::new(&script)
        .arg("start")
        .arg("--state-dir")
        .arg(&llm_dir)
        .env("LOCAL_LLM_PROMPT_CACHE", "0")
        .output()
        .map_err(|e| e.to_string())?;
    let host = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("OLLAMA_HOST=").map(str::to_string))
        .ok_or_else(|| {
            format!(
                "scripts/local-llm start failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let home = std::env::temp_dir().join(format!("openclaw-bench-relay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;

    // 1. The exact body the agent sends.
    let server = TestServer::builder()
        .model(ModelSpec::new(MODEL))
        .start_blocking()
        .map_err(|e| e.to_string())?;
    let status = agent(ours, &home, server.url().trim_start_matches("http://"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("the capture run against the test server failed".into());
    }
    let body = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/chat/completions")
        .ok_or("the agent sent no chat request")?
        .body;
    drop(server);

    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let mut direct_rates = Vec::new();
    let mut relayed_rates = Vec::new();
    let mut ratios = Vec::new();
    let mut tokens = 0;
    for i in 0..runs {
        // Alternate which side goes first, so a drift in machine load cancels out.
        let relayed_first = i % 2 == 1;
        let mut relayed_run = None;
        if relayed_first {
            relayed_run = Some(relayed(ours, &home, &host)?);
        }
        // 2. Straight to the backend.
        let (text, times) = rt.block_on(direct(&host, &body))?;
        // 3. Through openclaw, timed at its stdout.
        let (relayed_text, span) = match relayed_run {
            Some(r) => r,
            None => relayed(ours, &home, &host)?,
        };
        let n = times.len();
        tokens = n;
        let direct_rate = rate(n, &times);
        direct_rates.push(direct_rate);
        if relayed_text.trim() != text.trim() {
            return Err(format!("the relayed answer differs from the direct one:\n--- direct\n{text}\n--- relayed\n{relayed_text}"));
        }
        let relayed_rate = (n.saturating_sub(1)) as f64 / span.as_secs_f64();
        relayed_rates.push(relayed_rate);
        // Adjacent runs see similar machine load, so their ratio is steadier than a ratio of
        // medians on a shared machine.
        ratios.push(relayed_rate / direct_rate);
    }
    let _ = std::fs::remove_dir_all(&home);
    let d = median(&mut direct_rates);
    let r = median(&mut relayed_rates);
    let ratio = median(&mut ratios);
    println!("| tokens/s, backend's own stream | tokens/s relayed by `openclaw agent` | ratio (median of adjacent pairs) | tokens per reply | runs |");
    println!("|---|---|---|---|---|");
    println!("| {d:.1} | {r:.1} | {ratio:.3} | {tokens} | {runs} |");
    Ok(())
}

/// The backend this run started: stopped (and its directory removed) when the run ends.
struct Backend {
    script: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = Command::new(&self.script)
            .arg("stop")
            .arg("--state-dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn agent(ours: &Path, home: &Path, host: &str) -> Command {
    let mut c = Command::new(ours);
    c.env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("OLLAMA_API_KEY", "ollama-local")
        .env("OLLAMA_HOST", host)
        .args([
            "agent",
            "--message",
            PROMPT,
            "--model",
            &format!("ollama/{MODEL}"),
        ]);
    c
}

fn rate(n: usize, times: &[Instant]) -> f64 {
    match (times.first(), times.last()) {
        (Some(a), Some(b)) if n > 1 && b > a => (n - 1) as f64 / (*b - *a).as_secs_f64(),
        _ => 0.0,
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Streams `body` from the backend; returns the answer text and each content chunk's arrival.
async fn direct(host: &str, body: &str) -> Result<(String, Vec<Instant>), String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let mut resp = client
        .post(format!("http://{host}/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = String::new();
    let mut text = String::new();
    let mut times = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        let now = Instant::now();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            let Some(data) = event.trim().strip_prefix("data:") else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(data.trim()) else {
                continue;
            };
            if let Some(c) = v["choices"][0]["delta"]["content"]
                .as_str()
                .filter(|c| !c.is_empty())
            {
                text.push_str(c);
                times.push(now);
            }
        }
    }
    Ok((text, times))
}

/// Runs the agent; returns its stdout and the time from its first to its last answer byte.
fn relayed(ours: &Path, home: &Path, host: &str) -> Result<(String, Duration), String> {
    let mut child = agent(ours, home, host)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let mut text = Vec::new();
    let mut first = None;
    let mut last = None;
    let mut buf = [0u8; 4096];
    loop {
        let n = stdout.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        let now = Instant::now();
        first.get_or_insert(now);
        // The trailing newline the CLI adds after the answer is not a token.
        if !(n == 1 && buf[0] == b'\n') {
            last = Some(now);
        }
        text.extend_from_slice(&buf[..n]);
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("openclaw agent failed against the real backend".into());
    }
    match (first, last) {
        (Some(a), Some(b)) => Ok((String::from_utf8_lossy(&text).into_owned(), b - a)),
        _ => Err("openclaw agent printed nothing".into()),
    }
}
