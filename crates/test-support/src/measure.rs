//! Peak memory of a child process, for tests that assert a memory cap.
//!
//! The fault matrices check that no misbehaving server can make a reader hold a whole reply.
//! The reliable figure is the kernel's: `ru_maxrss` as the child is reaped with `wait4(2)`,
//! which covers every thread and every allocation of the child, whatever it runs.

use std::process::{Command, ExitStatus, Stdio};

/// How a measured child ended.
#[derive(Debug)]
pub struct Measured {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// Peak resident memory, in KiB.
    pub peak_kib: u64,
}

/// Runs `cmd` to its end (stdin closed, output captured) and reads its peak RSS as it is
/// reaped. Panics when it cannot be spawned: a test has nothing to measure then.
pub fn run_measured(mut cmd: Command) -> Measured {
    use std::os::unix::process::ExitStatusExt;

    let stdout = tempfile_like("stdout");
    let stderr = tempfile_like("stderr");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(open(&stdout))
        .stderr(open(&stderr))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let pid = libc::pid_t::try_from(child.id()).unwrap_or_else(|_| panic!("pid out of range"));
    let mut status = 0;
    // SAFETY: `rusage` is plain data; all zeroes is a valid value, and wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for the child spawned above, which nothing else reaps (`child` is
    // forgotten below, never waited on).
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
    std::mem::forget(child);
    let read = |path: &std::path::Path| {
        let text = std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned());
        let _ = std::fs::remove_file(path);
        text.unwrap_or_default()
    };
    Measured {
        status: ExitStatus::from_raw(status),
        stdout: read(&stdout),
        stderr: read(&stderr),
        // Linux reports ru_maxrss in KiB.
        peak_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
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
        .env(marker.0, marker.1);
    let run = run_measured(child);
    (run.stdout.matches("... ok").count(), run)
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

    #[test]
    fn a_child_that_allocates_shows_it() {
        let mut small = Command::new("sh");
        small.args(["-c", "echo hi"]);
        let small = run_measured(small);
        assert!(small.status.success());
        assert_eq!(small.stdout, "hi\n");
        // 64 MiB held by a child: `head -c` into a shell variable would be slow; python is
        // not everywhere; `dd` with a 64 MiB block allocates it.
        let mut big = Command::new("dd");
        big.args(["if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]);
        let big = run_measured(big);
        assert!(big.status.success(), "{}", big.stderr);
        assert!(big.peak_kib > 60 * 1024, "{} KiB", big.peak_kib);
        assert!(small.peak_kib < big.peak_kib);
    }
}
