//! The operating-system sandbox around every command the agent runs.
//!
//! A model's tool calls are untrusted input: a poisoned file or web page can steer a small
//! local model into any command line. No parser of command lines can tell every harmful one
//! apart (option abbreviations, output operands, programs that run programs), so the boundary
//! is drawn by the kernel instead, around whatever runs:
//!
//! - **Landlock**: the system directories are readable and executable, the workspace is
//!   readable (and writable under [`SandboxMode::WorkspaceWrite`]), a private temporary
//!   directory is writable; nothing else — not `$HOME`, not the state directory with its keys,
//!   tokens and transcripts, not the shared `/tmp`. TCP connect/bind are refused unless the
//!   policy allows network. Landlock also stops the command from signalling or tracing
//!   processes outside its sandbox (and so from reading their `/proc/<pid>/environ`).
//! - **seccomp**: no sockets but Unix ones without network, no `io_uring`, `ptrace`,
//!   namespaces, mounts, BPF, keyrings or kernel modules, and no leaving the process group
//!   (so a timeout kills every descendant).
//! - **No privileges**: `no_new_privs`, every capability dropped from every set (the agent may
//!   run as root: `date --set`, `mount` and raw sockets fail), its own session and process
//!   group, resource limits (CPU time, address space, file size, processes, no core files).
//! - **A clean environment** ([`clean_env`]): an allowlist of harmless variables; no keys or
//!   tokens ever reach a command.
//!
//! Everything that needs memory — opening the directories, building the Landlock ruleset and
//! compiling the BPF programs — happens in the parent ([`prepare`]). Between `fork` and `exec`
//! the child only makes system calls on data that already exists ([`Prepared::apply`]): a
//! multithreaded parent must not allocate there, and a re-executed helper binary would cost an
//! extra `exec` for every command.
//!
//! The agent process itself is hardened by [`harden_current_process`]: not dumpable and no
//! core files, so a command cannot read its memory or environment through `/proc`.

mod env;
#[cfg(target_os = "linux")]
mod linux;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub use env::{clean_env, is_secret_name, PASSED_VARIABLES};

/// `tools.exec.sandbox`: how commands are confined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SandboxMode {
    /// Read the system and the workspace, write only the workspace and a private temp dir.
    #[default]
    WorkspaceWrite,
    /// Read the system and the workspace, write only a private temp dir.
    ReadOnly,
    /// No OS sandbox (explicit configuration only; the environment is still cleaned).
    Off,
}

impl SandboxMode {
    /// The accepted configuration values.
    pub const VALUES: [&'static str; 3] = ["workspace-write", "read-only", "off"];

    /// Parses a configuration value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "workspace-write" => Some(Self::WorkspaceWrite),
            "read-only" => Some(Self::ReadOnly),
            "off" => Some(Self::Off),
            _ => None,
        }
    }

    /// The configuration value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WorkspaceWrite => "workspace-write",
            Self::ReadOnly => "read-only",
            Self::Off => "off",
        }
    }
}

/// Resource limits for a sandboxed command (soft = hard; never raised above the current hard
/// limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU seconds (`RLIMIT_CPU`).
    pub cpu_seconds: u64,
    /// Bytes of address space (`RLIMIT_AS`).
    pub address_space: u64,
    /// Largest file it may write, in bytes (`RLIMIT_FSIZE`).
    pub file_size: u64,
    /// Processes of the user (`RLIMIT_NPROC`; the kernel does not apply it to root).
    pub processes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            cpu_seconds: 600,
            address_space: 8 << 30,
            file_size: 1 << 30,
            processes: 4096,
        }
    }
}

/// What a sandboxed command may touch.
#[derive(Debug, Clone)]
pub struct SandboxPolicy {
    pub mode: SandboxMode,
    /// The agent's workspace.
    pub workspace: PathBuf,
    /// The command's private temporary directory (also its `HOME` and `TMPDIR`).
    pub temp_dir: PathBuf,
    /// Whether the command may use the network.
    pub network: bool,
    /// Extra directories it may read (and execute from).
    pub extra_read: Vec<PathBuf>,
    pub limits: Limits,
}

impl SandboxPolicy {
    /// The default policy for `workspace` with its private temp dir `temp_dir`.
    pub fn new(mode: SandboxMode, workspace: &Path, temp_dir: &Path) -> Self {
        Self {
            mode,
            workspace: workspace.to_path_buf(),
            temp_dir: temp_dir.to_path_buf(),
            network: false,
            extra_read: Vec::new(),
            limits: Limits::default(),
        }
    }
}

/// System directories a command may read and execute from (those that exist).
pub const SYSTEM_READ_ROOTS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/proc",
    "/sys", "/dev",
];

/// Device files a command may write to.
pub const WRITABLE_DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full"];

/// Why the sandbox could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("the OS sandbox is not available here: {0}")]
    Unavailable(String),
    #[error("cannot open `{path}` for the sandbox's rules: {source}")]
    Path {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot build the Landlock rules: {0}")]
    Landlock(String),
    #[error("cannot build the seccomp filter: {0}")]
    Seccomp(String),
}

/// Which kernel features this machine offers, found once per process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Support {
    /// The Landlock ABI version, or why there is none.
    pub landlock: Result<u32, String>,
    /// Whether seccomp filters can be installed, or why not.
    pub seccomp: Result<(), String>,
}

impl Support {
    /// Both Landlock and seccomp work: commands can be confined.
    pub fn complete(&self) -> bool {
        self.landlock.is_ok() && self.seccomp.is_ok()
    }

    /// One line for `doctor` and for notes.
    pub fn describe(&self) -> String {
        let landlock = match &self.landlock {
            Ok(abi) => format!("Landlock ABI {abi}"),
            Err(why) => format!("no Landlock ({why})"),
        };
        let seccomp = match &self.seccomp {
            Ok(()) => "seccomp".to_string(),
            Err(why) => format!("no seccomp ({why})"),
        };
        format!("{landlock}, {seccomp}")
    }
}

/// What this machine supports (probed once).
pub fn support() -> &'static Support {
    static SUPPORT: OnceLock<Support> = OnceLock::new();
    SUPPORT.get_or_init(probe)
}

#[cfg(target_os = "linux")]
fn probe() -> Support {
    linux::probe()
}

#[cfg(not(target_os = "linux"))]
fn probe() -> Support {
    Support {
        landlock: Err("not Linux".into()),
        seccomp: Err("not Linux".into()),
    }
}

/// A sandbox ready to be applied in a child: rules built, files opened.
pub struct Prepared {
    #[cfg(target_os = "linux")]
    inner: linux::Prepared,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prepared")
    }
}

/// Builds everything `policy` needs, in the parent. With [`SandboxMode::Off`] only the
/// process-level measures (own process group, limits, no capabilities, `no_new_privs`) apply.
/// Fails when Landlock or seccomp is missing and the mode asks for them.
pub fn prepare(policy: &SandboxPolicy) -> Result<Prepared, SandboxError> {
    #[cfg(target_os = "linux")]
    {
        Ok(Prepared {
            inner: linux::prepare(policy, support())?,
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = policy;
        Err(SandboxError::Unavailable("not Linux".into()))
    }
}

impl Prepared {
    /// Confines the calling process. Only for the child between `fork` and `exec`: it makes
    /// system calls on prepared data and allocates nothing.
    ///
    /// # Safety
    /// Call only in a freshly forked child that is about to `exec`.
    pub unsafe fn apply(&self) -> std::io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            self.inner.apply()
        }
        #[cfg(not(target_os = "linux"))]
        {
            Ok(())
        }
    }
}

/// Makes `command` run inside `prepared` (its own session and process group included).
pub fn confine(command: &mut std::process::Command, prepared: Arc<Prepared>) {
    use std::os::unix::process::CommandExt;
    // SAFETY: `apply` only makes async-signal-safe system calls on data built before `fork`.
    unsafe {
        command.pre_exec(move || prepared.apply());
    }
}

/// Hardens the calling process (the agent or gateway): not dumpable, so no other process of
/// the same user — a command the agent ran included — can read its memory or its
/// `/proc/<pid>/environ`; no core files, which would hold keys. Call first thing in `main`.
pub fn harden_current_process() {
    #[cfg(target_os = "linux")]
    linux::harden_current_process();
}

/// A private temporary directory (0700) for one command, removed when dropped.
#[derive(Debug)]
pub struct PrivateTemp {
    path: PathBuf,
}

impl PrivateTemp {
    /// Creates `<system temp>/openclaw-exec-<random>` with mode 0700.
    pub fn create() -> std::io::Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        let mut last = None;
        for attempt in 0..16u32 {
            let name = format!(
                "openclaw-exec-{}-{:08x}",
                std::process::id(),
                nonce(attempt)
            );
            let path = base.join(name);
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(Self { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no free temp dir name")))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateTemp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A number that differs between calls (time, counter and attempt mixed); names only, not
/// secrets.
fn nonce(attempt: u32) -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    t ^ n.rotate_left(16) ^ attempt.wrapping_mul(0x9e37_79b9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip() {
        for v in SandboxMode::VALUES {
            assert_eq!(SandboxMode::parse(v).map(SandboxMode::as_str), Some(v));
        }
        assert_eq!(SandboxMode::parse("none"), None);
    }

    #[test]
    fn private_temp_is_0700_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        let t = PrivateTemp::create().unwrap();
        let p = t.path().to_path_buf();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o700
        );
        std::fs::write(p.join("x"), "y").unwrap();
        drop(t);
        assert!(!p.exists());
    }
}
