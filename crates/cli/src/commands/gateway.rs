//! `openclaw gateway`: the long-running server (OpenAI-compatible API, WebSocket, web chat),
//! and `gateway status|stop|install` to manage one running in the background.
//!
//! Start-up does as little as possible before listening (config, token, bind — no model
//! discovery, which the gateway runs lazily on first use), so `listening on …` appears within
//! milliseconds. A running gateway records its pid and port in `<state>/gateway/gateway.json`
//! for `status` and `stop`.

use std::io::{IsTerminal, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use openclaw_config::LoadedConfig;
use openclaw_gateway::settings::{self, gateway_dir};
use openclaw_gateway::{AppState, AuthMode, GatewayOptions, Limits, TokenSource};
use serde_json::{json, Value};

use crate::args::{GatewayArgs, GatewayCommand, GatewayRunArgs};
use crate::context::Context;
use crate::output::{self, paint, DIM, GOOD};

/// Exit code of `gateway status` when no gateway runs (as `systemctl status`).
const NOT_RUNNING: u8 = 3;
/// How long `gateway stop` waits for the gateway to exit (its own grace period is 10 s).
const STOP_WAIT: Duration = Duration::from_secs(15);

pub fn run(ctx: &Context, args: GatewayArgs) -> Result<ExitCode> {
    match args.command {
        None => serve(ctx, args.run),
        Some(GatewayCommand::Status { json }) => status(ctx, json),
        Some(GatewayCommand::Stop) => stop(ctx),
        Some(GatewayCommand::Install { print, port }) => install(ctx, print, port),
    }
}

/// `<state>/gateway/gateway.json`.
fn run_file(ctx: &Context) -> PathBuf {
    gateway_dir(&ctx.paths).join("gateway.json")
}

fn serve(ctx: &Context, args: GatewayRunArgs) -> Result<ExitCode> {
    init_logging(ctx, args.verbose);
    let loaded = ctx.load_config()?;
    let gw = &loaded.config.gateway;
    let addr = settings::listen_addr(gw, args.bind.as_deref(), args.port)?;
    let env = |k: &str| ctx.var(k);
    let auth = settings::resolve_auth(gw, &env, &ctx.paths, addr)?;
    let allowed_origins = allowed_origins(&loaded);
    openclaw_gateway::raise_fd_limit();
    // A few workers: the work is mostly waiting on sockets, but a turn ends with an fsync of
    // its transcript, which blocks its worker for a moment; with 4, one such wait never
    // stalls every stream (measured: p99 relay latency 25-70 ms with 2 workers, 3-5 ms with 4,
    // under 1,000 streams on 2 cores). Idle cost is a few KiB per thread.
    // `OPENCLAW_GATEWAY_THREADS` changes it.
    let workers = ctx
        .var("OPENCLAW_GATEWAY_THREADS")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or(4);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .max_blocking_threads(16)
        .thread_name("openclaw-gateway")
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = openclaw_gateway::bind(addr).await?;
        let local = listener.local_addr()?;
        eprintln!("listening on http://{local}");
        announce(ctx, local, &auth);
        let record = RunRecord::write(&run_file(ctx), local)?;
        let state = AppState::new(GatewayOptions {
            config: loaded.config.clone(),
            paths: ctx.paths.clone(),
            env: std::env::vars().collect(),
            auth: auth.mode.clone(),
            bind: local,
            allowed_origins,
            limits: Limits::default(),
        });
        openclaw_gateway::serve(listener, state, shutdown_signal()).await;
        record.remove();
        Ok::<_, anyhow::Error>(())
    })?;
    eprintln!("gateway stopped");
    Ok(ExitCode::SUCCESS)
}

/// The page URL, with the token in the fragment when it is safe to show.
fn announce(ctx: &Context, local: SocketAddr, auth: &openclaw_gateway::ResolvedAuth) {
    let page = page_url(local);
    match (&auth.mode, &auth.source) {
        (AuthMode::None, _) => eprintln!(
            "{}",
            paint(
                output::WARN,
                format!("open {page} — authentication is off (gateway.auth.mode \"none\")")
            )
        ),
        (AuthMode::Token(token), source) => {
            // A token the user wrote in the config or environment is not echoed into logs
            // (a service's journal); a generated one is shown, since the URL is how to use it.
            let show =
                matches!(source, TokenSource::File { .. }) || std::io::stderr().is_terminal();
            if show {
                eprintln!("open {page}#token={token}");
            } else {
                eprintln!("open {page} and enter the gateway token");
            }
            if let TokenSource::File {
                path,
                created: true,
            } = source
            {
                eprintln!(
                    "{}",
                    paint(
                        DIM,
                        format!(
                            "generated a gateway token, saved in {}",
                            ctx.show_path(path)
                        )
                    )
                );
            }
        }
    }
}

/// `http://127.0.0.1:PORT/` for loopback and "every interface" binds, else the address.
fn page_url(local: SocketAddr) -> String {
    let ip = if local.ip().is_unspecified() || local.ip().is_loopback() {
        "127.0.0.1".to_string()
    } else if local.is_ipv6() {
        format!("[{}]", local.ip())
    } else {
        local.ip().to_string()
    };
    format!("http://{ip}:{}/", local.port())
}

/// `gateway.controlUi.allowedOrigins`, read from the document (the typed config does not
/// carry the control UI settings).
fn allowed_origins(loaded: &LoadedConfig) -> Vec<String> {
    loaded
        .document
        .root()
        .map(|n| n.to_value())
        .and_then(|v| {
            v.pointer("/gateway/controlUi/allowedOrigins")
                .and_then(Value::as_array)
                .cloned()
        })
        .unwrap_or_default()
        .into_iter()
        .filter_map(|o| o.as_str().map(str::to_string))
        .collect()
}

/// `--verbose` → info-level logs on stderr; `RUST_LOG` overrides either way.
fn init_logging(ctx: &Context, verbose: bool) {
    let filter = match ctx.var("RUST_LOG").filter(|v| !v.trim().is_empty()) {
        Some(spec) => tracing_subscriber::EnvFilter::new(spec),
        None if verbose => tracing_subscriber::EnvFilter::new(
            "info,openclaw_gateway=debug,hyper=warn,reqwest=warn",
        ),
        None => tracing_subscriber::EnvFilter::new("warn"),
    };
    let ansi = std::io::stderr().is_terminal() && ctx.var("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(verbose)
        .try_init();
}

/// Resolves on the first SIGINT or SIGTERM; a second one exits at once.
async fn shutdown_signal() {
    wait_for_signal().await;
    eprintln!(
        "shutting down: running answers may finish (up to 10 s); press Ctrl-C again to stop now"
    );
    tokio::spawn(async {
        wait_for_signal().await;
        eprintln!("stopped before running answers finished");
        std::process::exit(130);
    });
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The pid/port file of a running gateway; removed when it stops.
struct RunRecord {
    path: PathBuf,
}

impl RunRecord {
    fn write(path: &Path, local: SocketAddr) -> Result<Self> {
        if let Some(dir) = path.parent() {
            settings::create_private_dir(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let body = json!({
            "pid": std::process::id(),
            "port": local.port(),
            "bind": local.ip().to_string(),
            "url": page_url(local),
            "startedAt": openclaw_agent::now_ms(),
        });
        let tmp = path.with_extension(format!("json.tmp{}", std::process::id()));
        let mut file = settings::private_file(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        file.write_all(format!("{body:#}\n").as_bytes())?;
        std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
        })
    }

    /// Removes the file if it is still ours (another gateway may have started since).
    fn remove(self) {
        if read_record(&self.path).is_some_and(|r| r.pid == std::process::id()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// What `gateway.json` says.
struct Recorded {
    pid: u32,
    port: u16,
    bind: String,
    url: String,
}

fn read_record(path: &Path) -> Option<Recorded> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    Some(Recorded {
        pid: u32::try_from(v.get("pid")?.as_u64()?).ok()?,
        port: u16::try_from(v.get("port")?.as_u64()?).ok()?,
        bind: v.get("bind")?.as_str()?.to_string(),
        url: v.get("url")?.as_str()?.to_string(),
    })
}

/// Whether `pid` is a live gateway process (not a recycled pid).
fn gateway_alive(pid: u32) -> bool {
    let Ok(pid_t) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid_t, 0) } != 0 {
        return false;
    }
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => {
            let text = String::from_utf8_lossy(&cmdline);
            text.contains("gateway")
        }
        // No /proc (macOS): trust kill.
        Err(_) => true,
    }
}

/// `GET /health` on loopback, by hand (a few bytes of HTTP/1.1).
fn health(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.take(64 * 1024).read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200") && response.contains("\"ok\":true")
}

fn status(ctx: &Context, as_json: bool) -> Result<ExitCode> {
    let path = run_file(ctx);
    let record = read_record(&path).filter(|r| gateway_alive(r.pid));
    let Some(r) = record else {
        if as_json {
            output::out(serde_json::to_string_pretty(&json!({"running": false}))?);
        } else {
            eprintln!(
                "no gateway is running for {} (start one with `openclaw gateway`)",
                ctx.show_path(&ctx.paths.state_dir)
            );
        }
        return Ok(ExitCode::from(NOT_RUNNING));
    };
    let healthy = health(r.port);
    let token = std::fs::read_to_string(settings::token_path(&ctx.paths))
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    if as_json {
        output::out(serde_json::to_string_pretty(&json!({
            "running": true,
            "healthy": healthy,
            "pid": r.pid,
            "port": r.port,
            "bind": r.bind,
            "url": r.url,
        }))?);
    } else {
        let health_text = if healthy {
            paint(GOOD, "healthy")
        } else {
            paint(output::BAD, "not answering /health")
        };
        output::out(format!(
            "gateway running · pid {} · {}:{} · {health_text}",
            r.pid, r.bind, r.port
        ));
        match token {
            Some(t) => output::out(format!("open {}#token={t}", r.url)),
            None => output::out(format!("open {}", r.url)),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn stop(ctx: &Context) -> Result<ExitCode> {
    let path = run_file(ctx);
    let Some(r) = read_record(&path).filter(|r| gateway_alive(r.pid)) else {
        eprintln!(
            "no gateway is running for {}",
            ctx.show_path(&ctx.paths.state_dir)
        );
        return Ok(ExitCode::SUCCESS);
    };
    let pid = libc::pid_t::try_from(r.pid).context("invalid pid in the gateway record")?;
    // SAFETY: sends SIGTERM to a process we checked is a gateway.
    if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
        bail!(
            "cannot signal the gateway (pid {}): {}",
            r.pid,
            std::io::Error::last_os_error()
        );
    }
    let deadline = Instant::now() + STOP_WAIT;
    while Instant::now() < deadline {
        if !gateway_alive(r.pid) {
            eprintln!("gateway stopped (pid {})", r.pid);
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!(
        "the gateway (pid {}) did not stop within {} s; stop it with `kill -9 {}`",
        r.pid,
        STOP_WAIT.as_secs(),
        r.pid
    )
}

fn install(ctx: &Context, print: bool, port: Option<u16>) -> Result<ExitCode> {
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .context("cannot find the openclaw executable")?;
    let mut exec = format!("{} gateway", exe.display());
    if let Some(p) = port {
        exec.push_str(&format!(" --port {p}"));
    }
    let mut env_lines = String::new();
    for name in [
        "OPENCLAW_STATE_DIR",
        "OPENCLAW_CONFIG_PATH",
        "OLLAMA_HOST",
        "OLLAMA_API_KEY",
    ] {
        if let Some(v) = ctx.var(name).filter(|v| !v.is_empty()) {
            env_lines.push_str(&format!("Environment={name}={v}\n"));
        }
    }
    let unit = format!(
        "[Unit]\n\
         Description=OpenClaw gateway (openclaw-rs)\n\
         After=network-online.target\n\
         Wants=network-online.target\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={exec}\n\
         {env_lines}\
         Restart=on-failure\n\
         RestartSec=2\n\
         KillSignal=SIGTERM\n\
         TimeoutStopSec=15\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n"
    );
    if print {
        print!("{unit}");
        return Ok(ExitCode::SUCCESS);
    }
    let config_home = ctx
        .var("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| ctx.var("HOME").map(|h| PathBuf::from(h).join(".config")))
        .context("neither XDG_CONFIG_HOME nor HOME is set")?;
    let dir = config_home.join("systemd").join("user");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("openclaw-gateway.service");
    std::fs::write(&path, unit).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote {}", ctx.show_path(&path));
    eprintln!("start it now and at every login with:\n  systemctl --user daemon-reload\n  systemctl --user enable --now openclaw-gateway");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_urls() {
        assert_eq!(
            page_url("0.0.0.0:5".parse().unwrap()),
            "http://127.0.0.1:5/"
        );
        assert_eq!(
            page_url("127.0.0.1:5".parse().unwrap()),
            "http://127.0.0.1:5/"
        );
        assert_eq!(
            page_url("10.0.0.2:5".parse().unwrap()),
            "http://10.0.0.2:5/"
        );
        assert_eq!(
            page_url("[fe80::1]:5".parse().unwrap()),
            "http://[fe80::1]:5/"
        );
    }
}
