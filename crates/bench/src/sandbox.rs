//! `openclaw-bench sandbox`: what the OS sandbox adds to starting a command.
//!
//! Runs `/bin/true` N times as `exec` runs commands — a private temp dir, a clean environment,
//! then spawn and wait — once without the sandbox and once with it (rules and filters built,
//! then applied between fork and exec), alternating the two so load drift hits both alike.
//! Reports the medians and their difference: the set-up cost per command.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openclaw_sandbox::{PrivateTemp, SandboxMode, SandboxPolicy};

pub fn run(runs: usize) -> Result<(), String> {
    let support = openclaw_sandbox::support();
    if !support.complete() {
        return Err(format!(
            "this machine cannot sandbox: {}",
            support.describe()
        ));
    }
    println!("kernel support: {}", support.describe());
    let workspace = std::env::temp_dir().join(format!("openclaw-bench-ws-{}", std::process::id()));
    std::fs::create_dir_all(&workspace).map_err(|e| e.to_string())?;
    let mut plain = Vec::with_capacity(runs);
    let mut sandboxed = Vec::with_capacity(runs);
    // One warm-up of each, not counted.
    once(&workspace, false)?;
    once(&workspace, true)?;
    for i in 0..runs {
        if i % 2 == 0 {
            plain.push(once(&workspace, false)?);
            sandboxed.push(once(&workspace, true)?);
        } else {
            sandboxed.push(once(&workspace, true)?);
            plain.push(once(&workspace, false)?);
        }
    }
    let _ = std::fs::remove_dir_all(&workspace);
    let (p, s) = (median(&mut plain), median(&mut sandboxed));
    println!(
        "| `/bin/true`, {runs} runs, medians | without sandbox | with sandbox | set-up cost |"
    );
    println!("|---|---|---|---|");
    println!(
        "| spawn + wait | {:.3} ms | {:.3} ms | {:.3} ms |",
        ms(p),
        ms(s),
        ms(s.saturating_sub(p))
    );
    Ok(())
}

fn once(workspace: &std::path::Path, sandbox: bool) -> Result<Duration, String> {
    let t0 = Instant::now();
    let temp = PrivateTemp::create().map_err(|e| e.to_string())?;
    let mut cmd = Command::new("/bin/true");
    cmd.current_dir(workspace)
        .env_clear()
        .envs(openclaw_sandbox::clean_env(
            std::env::vars_os(),
            temp.path(),
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if sandbox {
        let policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite, workspace, temp.path());
        let prepared = openclaw_sandbox::prepare(&policy).map_err(|e| e.to_string())?;
        openclaw_sandbox::confine(&mut cmd, Arc::new(prepared));
    }
    let status = cmd.status().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("/bin/true failed: {status}"));
    }
    drop(temp);
    Ok(t0.elapsed())
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
