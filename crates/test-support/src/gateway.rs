//! A running `openclaw gateway` process, for the tests of every test binary that need one.
//!
//! Tests of the gateway through its real binary all need the same few things: start it on a
//! free port in a throw-away HOME, know when it listens and where, talk to it over HTTP and
//! WebSocket, watch its memory, read what it printed, and never leave it running. They used to
//! carry a copy each; this is the one copy. The caller builds the command (this crate does not
//! depend on the CLI: the binary comes from `assert_cmd::cargo::cargo_bin("openclaw")` in the
//! caller), typically with [`Gateway::command`].
//!
//! A gateway belongs to the test that started it: only that test stops it, changes its config
//! or state, or measures its memory. Tests may share one only if none of them does any of that.
//!
//! ```no_run
//! # fn demo(binary: &std::path::Path, home: &std::path::Path) {
//! use openclaw_test_support::gateway::{ws, Gateway};
//!
//! let mut gw = Gateway::start(Gateway::command(binary, home));
//! let health = gw.get("/health", &[]);
//! assert_eq!(health.status, 200);
//! let mut socket = gw.ws(&[]).unwrap();
//! let res = ws::request(&mut socket, "c", "connect", ws::connect_params(Some("token")));
//! # let _ = res;
//! let memory = gw.rss(); // current and peak, KiB
//! # let _ = memory;
//! gw.stop(); // SIGTERM, then waits for the exit; dropping it kills it instead
//! # }
//! ```
// A test harness: a failure to talk to the gateway is the test's failure, shown as a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod http;
pub mod ws;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::measure::Rss;

/// How long the gateway gets to print a line a test waits for, or to exit.
const PATIENCE: Duration = Duration::from_secs(20);

/// What the gateway printed so far.
#[derive(Default)]
struct Captured {
    /// stderr and stdout, interleaved as they arrived.
    log: String,
    /// stderr alone, line by line (where the gateway announces itself).
    stderr_lines: Vec<String>,
    /// stderr reached its end (the process, and anything it started, closed it).
    stderr_closed: bool,
    /// How many of stdout and stderr reached their end (the process, and anything it
    /// started, closed them).
    streams_closed: usize,
}

type Shared = Arc<(Mutex<Captured>, Condvar)>;

/// A running `openclaw gateway`, killed (and reaped) when dropped.
pub struct Gateway {
    child: Child,
    exited: Option<ExitStatus>,
    addr: Option<SocketAddr>,
    token: Option<String>,
    output: Shared,
}

impl Gateway {
    /// `BINARY gateway --port 0` with a clean environment: only `PATH`, `HOME=home` and
    /// `NO_COLOR=1`, run in `home`. Add the rest (`OPENCLAW_STATE_DIR`, tokens, keys) to it.
    pub fn command(binary: &Path, home: &Path) -> Command {
        let mut cmd = Command::new(binary);
        cmd.args(["gateway", "--port", "0"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("NO_COLOR", "1")
            .current_dir(home);
        cmd
    }

    /// Starts `cmd` (stdin closed, stdout and stderr captured) without waiting for anything:
    /// for a gateway that is expected to refuse to start, or whose first lines are the test.
    pub fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let output: Shared = Arc::default();
        let stderr = child.stderr.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        for (stream, is_stderr) in [
            (Box::new(stderr) as Box<dyn Read + Send>, true),
            (Box::new(stdout), false),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut line = Vec::new();
                while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                    let text = String::from_utf8_lossy(&line).into_owned();
                    let (lock, changed) = &*output;
                    let mut captured = lock.lock().unwrap_or_else(PoisonError::into_inner);
                    captured.log.push_str(&text);
                    if is_stderr {
                        let trimmed = text.trim_end_matches(['\n', '\r']).to_string();
                        captured.stderr_lines.push(trimmed);
                    }
                    changed.notify_all();
                    line.clear();
                }
                let (lock, changed) = &*output;
                let mut captured = lock.lock().unwrap_or_else(PoisonError::into_inner);
                captured.streams_closed += 1;
                captured.stderr_closed |= is_stderr;
                changed.notify_all();
            });
        }
        Self {
            child,
            exited: None,
            addr: None,
            token: None,
            output,
        }
    }

    /// Starts `cmd` and waits (20 s at most) until the gateway says where it listens.
    pub fn start(cmd: Command) -> Self {
        let mut gw = Self::spawn(cmd);
        gw.wait_listening();
        gw
    }

    /// Waits for the `listening on http://HOST:PORT` line; the address it names.
    pub fn wait_listening(&mut self) -> SocketAddr {
        if let Some(addr) = self.addr {
            return addr;
        }
        let line = self.line_starting("listening on http://");
        let rest = line["listening on http://".len()..].trim();
        let addr: SocketAddr = rest
            .parse()
            .unwrap_or_else(|e| panic!("not an address in {line:?}: {e}"));
        self.addr = Some(addr);
        addr
    }

    /// The address it listens on (waiting for it if need be).
    pub fn addr(&mut self) -> SocketAddr {
        self.wait_listening()
    }

    /// The port it listens on (waiting for it if need be).
    pub fn port(&mut self) -> u16 {
        self.wait_listening().port()
    }

    /// `http://HOST:PORT`.
    pub fn base_url(&mut self) -> String {
        format!("http://{}", self.wait_listening())
    }

    /// `ws://HOST:PORT`, where OpenClaw's WebSocket protocol is served.
    pub fn ws_url(&mut self) -> String {
        format!("ws://{}", self.wait_listening())
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Tells the harness the gateway's token (one from the config or the environment, which
    /// the gateway does not print).
    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    /// The web chat page's URL as announced on the `open …` line (with `#token=…` when the
    /// gateway shows its token).
    pub fn page_url(&mut self) -> String {
        let line = self.line_starting("open ");
        line["open ".len()..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// The token: the one given with [`Gateway::with_token`], else the one the page URL shows
    /// (a generated token). Panics when neither is known.
    pub fn token(&mut self) -> String {
        if let Some(token) = &self.token {
            return token.clone();
        }
        let url = self.page_url();
        let token = url
            .split_once("#token=")
            .map(|(_, t)| t.to_string())
            .unwrap_or_else(|| panic!("the gateway did not show its token: {url}"));
        self.token = Some(token.clone());
        token
    }

    /// `Bearer TOKEN`, for an `Authorization` header.
    pub fn bearer(&mut self) -> String {
        format!("Bearer {}", self.token())
    }

    /// Its resident memory now and at its peak, from `/proc/<pid>/status`.
    #[track_caller]
    pub fn rss(&self) -> Rss {
        Rss::of(self.pid()).unwrap_or_else(|e| panic!("the gateway's memory: {e}\n{}", self.log()))
    }

    /// Everything it printed so far (stderr and stdout).
    pub fn log(&self) -> String {
        self.captured(|c| c.log.clone())
    }

    /// Its stderr lines so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.captured(|c| c.stderr_lines.clone())
    }

    /// Waits (20 s at most) until a stderr line starting with `prefix` was printed; that line.
    #[track_caller]
    pub fn line_starting(&self, prefix: &str) -> String {
        self.wait_for_line(&format!("a line starting with {prefix:?}"), |l| {
            l.starts_with(prefix)
        })
    }

    /// Waits (20 s at most) until a stderr line matching `wanted` was printed; that line.
    /// Fails, with everything printed, when stderr ends or time is up first.
    #[track_caller]
    pub fn wait_for_line(&self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        let (lock, changed) = &*self.output;
        let mut captured = lock.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(line) = captured.stderr_lines.iter().find(|l| wanted(l)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if captured.stderr_closed || left.is_zero() {
                panic!(
                    "the gateway printed no {what}; it printed:\n{}",
                    captured.log
                );
            }
            captured = changed
                .wait_timeout(captured, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Still running?
    pub fn is_running(&mut self) -> bool {
        self.try_exit().is_none()
    }

    /// Fails unless it is still running and never panicked.
    #[track_caller]
    pub fn assert_alive(&mut self) {
        assert!(self.is_running(), "the gateway exited:\n{}", self.log());
        let log = self.log();
        assert!(!log.contains("panicked"), "the gateway panicked:\n{log}");
    }

    /// Waits (20 s at most) for it to exit by itself, then for the rest of what it printed.
    #[track_caller]
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.try_exit() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the gateway did not exit:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // Its last lines may still be in the pipes: wait until both are read to their end.
        let (lock, changed) = &*self.output;
        let captured = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = changed
            .wait_timeout_while(captured, Duration::from_secs(5), |c| c.streams_closed < 2)
            .unwrap_or_else(PoisonError::into_inner);
        status
    }

    /// Asks it to stop (SIGTERM, what `openclaw gateway stop` and systemd send) and waits
    /// for it to exit.
    #[track_caller]
    pub fn stop(&mut self) -> ExitStatus {
        if self.is_running() {
            let pid = libc::pid_t::try_from(self.pid()).unwrap();
            // SAFETY: `kill(2)` on our own child, which is not reaped yet (so the pid is ours).
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        self.wait_exit()
    }

    /// Kills it (SIGKILL: no chance to clean up) and reaps it.
    pub fn kill(&mut self) -> ExitStatus {
        if self.is_running() {
            let _ = self.child.kill();
        }
        self.wait_exit()
    }

    /// A whole HTTP exchange on a new connection (see [`http::request`]).
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> http::Http {
        http::request(self.port(), method, path, headers, body)
    }

    /// `GET path` with these headers.
    pub fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> http::Http {
        self.request("GET", path, headers, None)
    }

    /// Opens the WebSocket protocol with these extra handshake headers (see [`ws::open`]).
    pub fn ws(&mut self, headers: &[(&str, &str)]) -> Result<ws::Ws, u16> {
        ws::open(self.port(), headers)
    }

    fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().unwrap();
        }
        self.exited
    }

    fn captured<T>(&self, read: impl FnOnce(&Captured) -> T) -> T {
        read(&self.output.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for the binary: says what `openclaw gateway` says, then waits.
    fn fake(script: &str) -> Command {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", script]);
        cmd
    }

    #[test]
    fn start_reads_the_address_and_token_and_stop_ends_it() {
        let mut gw = Gateway::start(fake(
            "echo 'listening on http://127.0.0.1:4321' >&2; \
             echo 'open http://127.0.0.1:4321/#token=abc' >&2; echo out; exec sleep 30",
        ));
        assert_eq!(gw.port(), 4321);
        assert_eq!(gw.base_url(), "http://127.0.0.1:4321");
        assert_eq!(gw.ws_url(), "ws://127.0.0.1:4321");
        assert_eq!(gw.page_url(), "http://127.0.0.1:4321/#token=abc");
        assert_eq!(gw.token(), "abc");
        assert_eq!(gw.bearer(), "Bearer abc");
        let rss = gw.rss();
        assert!(
            rss.current_kib > 0 && rss.peak_kib >= rss.current_kib,
            "{rss:?}"
        );
        gw.assert_alive();
        let status = gw.stop();
        assert!(!status.success(), "{status:?}");
        assert!(!gw.is_running());
        assert_eq!(gw.stderr_lines().len(), 2, "{:?}", gw.stderr_lines());
        assert!(gw.log().contains("out\n"), "{}", gw.log());
    }

    #[test]
    fn a_given_token_wins_and_wait_exit_sees_the_last_lines() {
        let mut gw =
            Gateway::spawn(fake("echo 'already runs on port 1' >&2; exit 1")).with_token("given");
        assert_eq!(gw.token(), "given");
        assert_eq!(gw.wait_exit().code(), Some(1));
        assert_eq!(gw.stderr_lines(), ["already runs on port 1"]);
    }

    #[test]
    fn a_gateway_that_never_listens_fails_with_what_it_printed() {
        let failed = std::panic::catch_unwind(|| {
            Gateway::start(fake("echo 'error: no config' >&2; exit 2"));
        });
        let message = failed.err().and_then(|e| e.downcast::<String>().ok());
        let message = message.map(|m| *m).unwrap_or_default();
        assert!(message.contains("error: no config"), "{message:?}");
    }
}
