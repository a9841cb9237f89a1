//! `openclaw gateway`: the long-running server (OpenAI-compatible API, WebSocket, web chat),
//! and `gateway status|stop|install` to manage one running in the background.
//!
//! Start-up does as little as possible before listening (config, token, bind — no model
//! discovery, which the gateway runs lazily on first use), so `listening on …` appears within
//! milliseconds. Each running gateway records its pid and address in
//! `<state>/gateway/gateway-<port>.json` and holds a lock on `gateway-<port>.lock` for as long
//! as it runs, so `status` and `stop` see every instance of the state dir, a record whose
//! holder died is recognised as stale, and a second start on the same port is refused with a
//! message that names the first.

use crate::exit::Exit;
use std::io::{IsTerminal, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use openclaw_config::{vars, LoadedConfig};
use openclaw_gateway::settings::{self, gateway_dir};
use openclaw_gateway::{AppState, AuthMode, GatewayOptions, Limits, TokenSource};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::args::{GatewayArgs, GatewayCommand, GatewayRunArgs};
use crate::context::Context;
use crate::output::{self, paint, DIM, GOOD};

/// How long `gateway stop` waits for the gateway to exit (its own grace period is 10 s).
const STOP_WAIT: Duration = Duration::from_secs(15);

pub fn run(ctx: &Context, args: GatewayArgs) -> Result<Exit> {
    match args.command {
        None => serve(ctx, args.run),
        Some(GatewayCommand::Status { json }) => status(ctx, json),
        Some(GatewayCommand::Stop) => stop(ctx),
        Some(GatewayCommand::Install { print, port }) => {
            super::gateway_service::install(ctx, print, port)
        }
    }
}

/// `<state>/gateway/`: where running gateways record themselves.
fn run_dir(ctx: &Context) -> PathBuf {
    gateway_dir(&ctx.paths)
}

fn serve(ctx: &Context, args: GatewayRunArgs) -> Result<Exit> {
    init_logging(ctx, args.verbose);
    let loaded = ctx.load_config()?;
    let gw = &loaded.config.gateway;
    let addr = settings::listen_addr(gw, args.bind.as_deref(), args.port)?;
    let env = &ctx.env;
    let auth = settings::resolve_auth(gw, env, &ctx.paths, addr)?;
    let allowed_origins = allowed_origins(&loaded);
    openclaw_gateway::raise_fd_limit();
    // A few workers: the work is mostly waiting on sockets, but a turn ends with an fsync of
    // its transcript, which blocks its worker for a moment; with 4, one such wait never
    // stalls every stream (measured: p99 relay latency 25-70 ms with 2 workers, 3-5 ms with 4,
    // under 1,000 streams on 2 cores). Idle cost is a few KiB per thread.
    // `OPENCLAW_GATEWAY_THREADS` changes it.
    let workers = ctx
        .env
        .get(vars::OPENCLAW_GATEWAY_THREADS)
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
        // A fixed port is claimed before binding, so a second start says which gateway has it.
        let early = match addr.port() {
            0 => None,
            port => Some(RunRecord::claim(&run_dir(ctx), port)?),
        };
        let listener = openclaw_gateway::bind(addr).await?;
        let local = listener.local_addr()?;
        let lock = match early {
            Some(lock) => lock,
            None => RunRecord::claim(&run_dir(ctx), local.port())?,
        };
        // Recorded before it is announced: once "listening" shows, `status` sees it.
        let record = RunRecord::write(&run_dir(ctx), local, lock)?;
        errln!("listening on {}", base_url(local));
        announce(ctx, local, &auth);
        let state = AppState::new(GatewayOptions {
            config: loaded.config.clone(),
            paths: ctx.paths.clone(),
            env: ctx.env.clone(),
            auth: auth.mode.clone(),
            bind: local,
            allowed_origins,
            limits: Limits::default(),
        });
        openclaw_gateway::serve(listener, state, shutdown_signal()).await;
        record.remove();
        Ok::<_, anyhow::Error>(())
    })?;
    errln!("gateway stopped");
    Ok(Exit::Success)
}

/// The page URL, with the token in the fragment when it is safe to show.
fn announce(ctx: &Context, local: SocketAddr, auth: &openclaw_gateway::ResolvedAuth) {
    let page = page_url(local);
    match (&auth.mode, &auth.source) {
        (AuthMode::None, _) => errln!(
            "{}",
            paint(
                output::WARN,
                format!("open {page} — authentication is off (gateway.auth.mode \"none\")")
            )
        ),
        (AuthMode::Token(token), source) => {
            if let Some(reason) = &auth.weakness {
                output::warn(format!(
                    "the gateway token (set in {}) is weak: {reason}. It is accepted on loopback only, where any program or user of this machine could still guess it\n  hint: {}",
                    source.describe(),
                    source.strong_token_hint()
                ));
            }
            // A token the user wrote in the config or environment is not echoed into logs
            // (a service's journal); a generated one is shown, since the URL is how to use it.
            let show =
                matches!(source, TokenSource::File { .. }) || std::io::stderr().is_terminal();
            if show {
                errln!("open {page}#token={token}");
            } else {
                errln!("open {page} and enter the gateway token");
            }
            if let TokenSource::File {
                path,
                created: true,
            } = source
            {
                errln!(
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

/// `http://HOST:PORT/` for the page: the bound address itself, an IPv6 one in brackets; for
/// an "every interface" bind, the loopback address of that family.
fn page_url(local: SocketAddr) -> String {
    format!("{}/", base_url(local))
}

/// `http://HOST:PORT` of [`reachable`]`(local)`.
fn base_url(local: SocketAddr) -> String {
    match reachable(local) {
        SocketAddr::V4(a) => format!("http://{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("http://[{}]:{}", a.ip(), a.port()),
    }
}

/// Where a client on this machine reaches a gateway bound to `local`.
fn reachable(local: SocketAddr) -> SocketAddr {
    match local.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from(([127, 0, 0, 1], local.port()))
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, local.port()))
        }
        _ => local,
    }
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
    let filter = match ctx.env.get(vars::RUST_LOG).filter(|v| !v.trim().is_empty()) {
        Some(spec) => tracing_subscriber::EnvFilter::new(spec),
        None if verbose => tracing_subscriber::EnvFilter::new(
            "info,openclaw_gateway=debug,hyper=warn,reqwest=warn",
        ),
        None => tracing_subscriber::EnvFilter::new("warn"),
    };
    let ansi = std::io::stderr().is_terminal() && ctx.env.get(vars::NO_COLOR).is_none();
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
    errln!(
        "shutting down: running answers may finish (up to 10 s); press Ctrl-C again to stop now"
    );
    tokio::spawn(async {
        wait_for_signal().await;
        errln!("stopped before running answers finished");
        std::process::exit(Exit::Interrupted as i32);
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

/// The record of a running gateway, `gateway-<port>.json`, with the lock that says it is alive;
/// removed when it stops.
struct RunRecord {
    path: PathBuf,
    _lock: std::fs::File,
}

fn record_path(dir: &Path, port: u16) -> PathBuf {
    dir.join(format!("gateway-{port}.json"))
}

fn lock_path(dir: &Path, port: u16) -> PathBuf {
    dir.join(format!("gateway-{port}.lock"))
}

/// Tries an exclusive, non-blocking lock on `file`.
fn try_lock(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl RunRecord {
    /// Takes the lock of `port` in this state dir, or says which gateway holds it.
    fn claim(dir: &Path, port: u16) -> Result<std::fs::File> {
        settings::create_private_dir(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let path = lock_path(dir, port);
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("cannot open {}", path.display()))?
        };
        match try_lock(&file) {
            Ok(()) => Ok(file),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let who = read_record(&record_path(dir, port))
                    .map(|r| format!(" (pid {}, {})", r.pid, r.url))
                    .unwrap_or_default();
                bail!(
                    "a gateway of this state dir already runs on port {port}{who}\n  hint: `openclaw gateway status` shows it, `openclaw gateway stop` stops it; or start this one with another `--port`"
                )
            }
            Err(e) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
        }
    }

    fn write(dir: &Path, local: SocketAddr, lock: std::fs::File) -> Result<Self> {
        let path = record_path(dir, local.port());
        let body = Recorded {
            pid: std::process::id(),
            port: local.port(),
            bind: local.ip().to_string(),
            url: page_url(local),
            started_at: Some(openclaw_agent::now_ms()),
        };
        let tmp = path.with_extension(format!("json.tmp{}", std::process::id()));
        let mut file = settings::private_file(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        file.write_all(format!("{}\n", serde_json::to_string_pretty(&body)?).as_bytes())?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Self { path, _lock: lock })
    }

    /// Removes the record (the lock goes with the process).
    fn remove(self) {
        if read_record(&self.path).is_some_and(|r| r.pid == std::process::id()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// What a gateway's record (`gateway-<port>.json` in the run dir) says.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recorded {
    pid: u32,
    port: u16,
    bind: String,
    url: String,
    /// Milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started_at: Option<u64>,
}

/// The record at `path`; `None` when it is missing, unreadable or not a record.
fn read_record(path: &Path) -> Option<Recorded> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// `openclaw gateway status --json`: the first instance's fields at the top level (for scripts
/// written for one gateway), then whether any runs, then every instance.
#[derive(Serialize)]
struct StatusJson<'a> {
    #[serde(flatten)]
    first: Option<InstanceJson<'a>>,
    running: bool,
    instances: Vec<InstanceJson<'a>>,
}

#[derive(Clone, Serialize)]
struct InstanceJson<'a> {
    healthy: bool,
    pid: u32,
    port: u16,
    bind: &'a str,
    url: &'a str,
}

/// Every gateway of this state dir that is running now, by port. A record whose lock nobody
/// holds is left from a gateway that died: it is removed on the way.
fn running_gateways(dir: &Path) -> Vec<Recorded> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(port) = name
            .to_str()
            .and_then(|n| n.strip_prefix("gateway-"))
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<u16>().ok())
        else {
            continue;
        };
        let alive = match std::fs::OpenOptions::new()
            .write(true)
            .open(lock_path(dir, port))
        {
            Ok(lock) => match try_lock(&lock) {
                Ok(()) => false,
                Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
            },
            Err(_) => false,
        };
        match read_record(&entry.path()) {
            Some(r) if alive && gateway_alive(r.pid) => found.push(r),
            _ if !alive => {
                let _ = std::fs::remove_file(entry.path());
                let _ = std::fs::remove_file(lock_path(dir, port));
            }
            _ => {}
        }
    }
    found.sort_by_key(|r| r.port);
    found
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
fn health(r: &Recorded) -> bool {
    let Some(addr) = r
        .bind
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| reachable(SocketAddr::new(ip, r.port)))
    else {
        return false;
    };
    let host = base_url(addr);
    let host = host.trim_start_matches("http://");
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.take(64 * 1024).read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200") && response.contains("\"ok\":true")
}

fn status(ctx: &Context, as_json: bool) -> Result<Exit> {
    let running = running_gateways(&run_dir(ctx));
    if running.is_empty() {
        if as_json {
            output::json(&StatusJson {
                first: None,
                running: false,
                instances: Vec::new(),
            })?;
        } else {
            errln!(
                "no gateway is running for {} (start one with `openclaw gateway`)",
                ctx.show_path(&ctx.paths.state_dir)
            );
        }
        return Ok(Exit::NotRunning);
    }
    let token = std::fs::read_to_string(settings::token_path(&ctx.paths))
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    let instances: Vec<InstanceJson> = running
        .iter()
        .map(|r| InstanceJson {
            healthy: health(r),
            pid: r.pid,
            port: r.port,
            bind: &r.bind,
            url: &r.url,
        })
        .collect();
    if as_json {
        output::json(&StatusJson {
            first: instances.first().cloned(),
            running: true,
            instances,
        })?;
    } else {
        for (r, i) in running.iter().zip(&instances) {
            let health_text = if i.healthy {
                paint(GOOD, "healthy")
            } else {
                paint(output::BAD, "not answering /health")
            };
            output::out(format!(
                "gateway running · pid {} · {} · {health_text}",
                r.pid,
                base_url(
                    r.bind
                        .parse::<std::net::IpAddr>()
                        .map(|ip| SocketAddr::new(ip, r.port))
                        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], r.port)))
                )
                .trim_start_matches("http://")
            ));
            match &token {
                Some(t) => output::out(format!("open {}#token={t}", r.url)),
                None => output::out(format!("open {}", r.url)),
            }
        }
    }
    Ok(Exit::Success)
}

fn stop(ctx: &Context) -> Result<Exit> {
    let running = running_gateways(&run_dir(ctx));
    if running.is_empty() {
        errln!(
            "no gateway is running for {}",
            ctx.show_path(&ctx.paths.state_dir)
        );
        return Ok(Exit::Success);
    }
    for r in &running {
        let pid = libc::pid_t::try_from(r.pid).context("invalid pid in the gateway record")?;
        // SAFETY: sends SIGTERM to a process we checked is a gateway.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            bail!(
                "cannot signal the gateway (pid {}): {}",
                r.pid,
                std::io::Error::last_os_error()
            );
        }
    }
    let deadline = Instant::now() + STOP_WAIT;
    let mut left: Vec<&Recorded> = running.iter().collect();
    while Instant::now() < deadline {
        left.retain(|r| gateway_alive(r.pid));
        if left.is_empty() {
            for r in &running {
                errln!("gateway stopped (pid {}, port {})", r.pid, r.port);
            }
            return Ok(Exit::Success);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let pids: Vec<String> = left.iter().map(|r| r.pid.to_string()).collect();
    bail!(
        "the gateway (pid {}) did not stop within {} s; stop it with `kill -9 {}`",
        pids.join(", "),
        STOP_WAIT.as_secs(),
        pids.join(" ")
    )
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
