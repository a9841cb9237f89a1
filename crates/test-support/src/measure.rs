//! Memory of processes, for tests that assert a memory cap: [`Rss`] reads a running process
//! (`/proc/<pid>/status`), [`run_measured`] the peak of a child run to its end.
//!
//! The fault matrices check that no misbehaving server can make a reader hold a whole reply.
//! The reliable figure is the kernel's: `ru_maxrss` as the child is reaped with `wait4(2)`,
//! which covers every thread and every allocation of the child, whatever it runs.
//!
//! One catch: Linux carries the memory of the process that started the child into its
//! `ru_maxrss`. At `exec`, the child's figure takes the high-water mark of the address space
//! it leaves — for a `vfork`/`posix_spawn` child (what `std::process::Command` uses), that is
//! the *parent's*. A test binary that once held a 60 MB body would report every child it
//! starts afterwards at 60 MB or more. So the child is started by a small intermediary, a
//! fresh `python3` that forks it and reports `wait4`'s figure: the floor is the
//! intermediary's own size (~10 MiB), not the test's.

use std::process::{Command, ExitStatus, Stdio};

/// Resident memory of a running process, from its `/proc/<pid>/status`: the one probe every
/// test and benchmark reads a live process's memory with (a gateway under load, a test's own
/// process). `peak_kib` (`VmHWM`) is the high-water mark since the process started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rss {
    /// Resident now (`VmRSS`), in KiB.
    pub current_kib: u64,
    /// Peak resident so far (`VmHWM`), in KiB.
    pub peak_kib: u64,
}

impl Rss {
    /// The memory of process `pid`; an error once it is gone (or off Linux).
    pub fn of(pid: u32) -> std::io::Result<Self> {
        Self::read(&format!("/proc/{pid}/status"))
    }

    /// The memory of the calling process.
    pub fn of_self() -> std::io::Result<Self> {
        Self::read("/proc/self/status")
    }

    fn read(path: &str) -> std::io::Result<Self> {
        let status = std::fs::read_to_string(path)?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("no {name} in {path}"),
                    )
                })
        };
        Ok(Self {
            current_kib: field("VmRSS")?,
            peak_kib: field("VmHWM")?,
        })
    }
}

/// How a measured child ended.
#[derive(Debug)]
pub struct Measured {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// Peak resident memory, in KiB.
    pub peak_kib: u64,
}

/// The intermediary: forks, runs the command with exactly the given environment, waits with
/// `wait4` and writes "<raw wait status> <ru_maxrss KiB>" to the report file.
const INTERMEDIARY: &str = r#"
import os, sys
report, cwd, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
pairs = sys.argv[4:4 + 2 * n]
env = dict(zip(pairs[0::2], pairs[1::2]))
argv = sys.argv[4 + 2 * n:]
pid = os.fork()
if pid == 0:
    try:
        if cwd:
            os.chdir(cwd)
        os.execve(argv[0], argv, env)
    except BaseException as e:
        os.write(2, ("cannot start %s: %s\n" % (argv[0], e)).encode())
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as f:
    f.write("%d %d" % (status, usage.ru_maxrss))
"#;

/// Runs `cmd` to its end (stdin closed, output captured) and measures its peak RSS (see the
/// module docs). The command runs with **exactly** the environment variables set on it, as
/// if `env_clear` had been called, and its program must be a path. Panics when it cannot be
/// started: a test has nothing to measure then.
pub fn run_measured(cmd: Command) -> Measured {
    use std::os::unix::process::ExitStatusExt;

    let stdout = tempfile_like("stdout");
    let stderr = tempfile_like("stderr");
    let report = tempfile_like("report");
    let mut wrapper = Command::new("python3");
    wrapper.arg("-c").arg(INTERMEDIARY).arg(&report);
    wrapper.arg(
        cmd.get_current_dir()
            .map(|d| d.as_os_str())
            .unwrap_or_default(),
    );
    let envs: Vec<_> = cmd
        .get_envs()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    wrapper.arg(envs.len().to_string());
    for (k, v) in envs {
        wrapper.arg(k).arg(v);
    }
    wrapper.arg(cmd.get_program()).args(cmd.get_args());
    let status = wrapper
        .stdin(Stdio::null())
        .stdout(open(&stdout))
        .stderr(open(&stderr))
        .status()
        .unwrap_or_else(|e| panic!("cannot start python3 to measure {cmd:?}: {e}"));
    let read = |path: &std::path::Path| {
        let text = std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned());
        let _ = std::fs::remove_file(path);
        text.unwrap_or_default()
    };
    let (stdout, stderr, report) = (read(&stdout), read(&stderr), read(&report));
    let mut fields = report.split_whitespace().map(str::parse::<i64>);
    let (Some(Ok(raw_status)), Some(Ok(max_rss))) = (fields.next(), fields.next()) else {
        panic!("no measurement of {cmd:?} (python3 {status}):\n{stderr}");
    };
    Measured {
        status: ExitStatus::from_raw(i32::try_from(raw_status).unwrap_or(-1)),
        stdout,
        stderr,
        // Linux reports ru_maxrss in KiB.
        peak_kib: u64::try_from(max_rss).unwrap_or(0),
    }
}

/// Runs the given tests of the current test binary again, one after the other, in one child
/// process with `marker` set in its environment (so that tests which spawn children of their
/// own can tell), and measures it. Returns how many passed, and the measurement.
pub fn rerun_tests_measured(tests: &[&str], marker: (&str, &str)) -> (usize, Measured) {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("no current exe: {e}"));
    let mut child = Command::new(exe);
    child
        .args(tests)
        .args(["--exact", "--test-threads=1"])
        .envs(std::env::vars_os())
        .env(marker.0, marker.1);
    let run = run_measured(child);
    (run.stdout.matches("... ok").count(), run)
}

/// The fault matrices' cap for their small cases: runs `tests` of the current test binary
/// again, together in one child (see [`rerun_tests_measured`]), and asserts they all pass and
/// the child's peak RSS stays under `cap_mib`. Does nothing inside such a child (`marker` set),
/// so the test calling it is not run recursively.
pub fn assert_cases_stay_under(tests: &[&str], marker: &str, cap_mib: u64) {
    if std::env::var_os(marker).is_some() {
        return;
    }
    let (passed, run) = rerun_tests_measured(tests, (marker, "small-cases"));
    assert!(run.status.success(), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(passed, tests.len(), "{}", run.stdout);
    eprintln!(
        "{passed} cases in one process: peak RSS {} MiB (cap {cap_mib})",
        run.peak_kib / 1024
    );
    assert!(
        run.peak_kib < cap_mib * 1024,
        "peak RSS {} MiB over the {cap_mib} MiB cap",
        run.peak_kib / 1024
    );
}

/// A fresh file path for captured output (pipes could fill up while we wait in `wait4`).
fn tempfile_like(what: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "openclaw-measured-{}-{}-{what}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

fn open(path: &std::path::Path) -> std::fs::File {
    std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", script])
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        cmd
    }

    #[test]
    fn a_child_that_allocates_shows_it_and_the_parent_does_not() {
        // The parent holds 96 MiB (touched) while it starts the children.
        let ballast = vec![1u8; 96 << 20];
        let small = run_measured(sh("echo hi; exit 3"));
        assert_eq!(small.status.code(), Some(3));
        assert_eq!(small.stdout, "hi\n");
        assert!(
            small.peak_kib < 48 * 1024,
            "{} KiB: the parent's memory leaked in",
            small.peak_kib
        );
        // 64 MiB held by the child: `dd` with a 64 MiB block allocates and fills it.
        let big = run_measured(sh("dd if=/dev/zero of=/dev/null bs=64M count=1"));
        assert!(big.status.success(), "{}", big.stderr);
        assert!(big.peak_kib > 60 * 1024, "{} KiB", big.peak_kib);
        assert!(ballast.iter().step_by(4096).all(|&b| b == 1));
    }

    #[test]
    fn only_the_given_environment_is_passed() {
        std::env::set_var("OPENCLAW_MEASURE_LEAK", "x");
        let run = run_measured(sh("echo \"[$OPENCLAW_MEASURE_LEAK]\" \"$PWD\""));
        assert!(run.stdout.starts_with("[] "), "{}", run.stdout);
        let mut cmd = sh("pwd");
        cmd.current_dir("/");
        assert_eq!(run_measured(cmd).stdout, "/\n");
    }

    #[test]
    fn the_rss_probe_sees_memory_this_process_touches() {
        let before = Rss::of_self().unwrap_or_else(|e| panic!("{e}"));
        assert!(before.current_kib > 0 && before.peak_kib >= before.current_kib);
        let ballast = vec![1u8; 32 << 20];
        let during = Rss::of(std::process::id()).unwrap_or_else(|e| panic!("{e}"));
        assert!(ballast.iter().step_by(4096).all(|&b| b == 1));
        assert!(
            during.peak_kib >= before.current_kib + 30 * 1024,
            "{before:?} → {during:?}"
        );
        assert!(Rss::of(u32::MAX).is_err());
    }

    #[test]
    fn a_missing_program_is_exit_127() {
        let run = run_measured(Command::new("/nonexistent/program"));
        assert_eq!(run.status.code(), Some(127));
        assert!(run.stderr.contains("cannot start"), "{}", run.stderr);
    }
}
