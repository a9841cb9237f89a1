//! The sandbox attacked the way a hostile model would, with real processes on the real
//! kernel: every test runs a shell inside the sandbox and then checks the outcome on disk, on
//! the network and in the process table — not whether something printed an error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openclaw_sandbox::{
    clean_env, confine, prepare, support, PrivateTemp, SandboxMode, SandboxPolicy,
};

/// `<tmp>/ws` (the workspace) beside `<tmp>/outside/secret` and a fake `<tmp>/home/.ssh`.
struct Layout {
    dir: tempfile::TempDir,
}

impl Layout {
    fn new() -> Self {
        assert!(
            support().complete(),
            "this kernel cannot sandbox commands: {}",
            support().describe()
        );
        let dir = tempfile::tempdir().unwrap();
        for d in ["ws", "outside", "home/.ssh"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        std::fs::write(dir.path().join("outside/secret"), "s3cret\n").unwrap();
        std::fs::write(dir.path().join("home/.ssh/id_ed25519"), "PRIVATE KEY\n").unwrap();
        Self { dir }
    }

    fn ws(&self) -> PathBuf {
        self.dir.path().join("ws")
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn run(&self, mode: SandboxMode, script: &str) -> Output {
        self.run_with(mode, false, script)
    }

    fn run_with(&self, mode: SandboxMode, network: bool, script: &str) -> Output {
        let tmp = PrivateTemp::create().unwrap();
        let mut policy = SandboxPolicy::new(mode, &self.ws(), tmp.path());
        policy.network = network;
        let prepared = Arc::new(prepare(&policy).unwrap());
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(script)
            .current_dir(self.ws())
            .env_clear()
            .envs(clean_env(std::env::vars_os(), tmp.path()))
            .env("OUT", self.path("outside"))
            .env("FAKE_HOME", self.path("home"))
            .stdin(Stdio::null());
        confine(&mut cmd, prepared);
        cmd.output().unwrap()
    }
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_workspace_is_writable_and_nothing_outside_it() {
    let l = Layout::new();
    let o = l.run(
        SandboxMode::WorkspaceWrite,
        "echo ok > inside.txt; mkdir sub && echo x > sub/y; \
         echo pwned > \"$OUT/new\"; echo pwned >> \"$OUT/secret\"; rm -f \"$OUT/secret\"; \
         mkdir \"$OUT/d\"; ln -s /etc/passwd \"$OUT/l\"; echo pwned > /tmp/openclaw-sandbox-probe; \
         echo ok > \"$TMPDIR/scratch\" && cat \"$TMPDIR/scratch\"",
    );
    assert_eq!(
        std::fs::read_to_string(l.ws().join("inside.txt")).unwrap(),
        "ok\n"
    );
    assert!(l.ws().join("sub/y").exists());
    let mut outside: Vec<_> = std::fs::read_dir(l.path("outside"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    outside.sort();
    assert_eq!(outside, ["secret"], "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(l.path("outside/secret")).unwrap(),
        "s3cret\n"
    );
    assert!(!Path::new("/tmp/openclaw-sandbox-probe").exists());
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("ok"),
        "{}",
        text(&o)
    );
}

#[test]
fn read_only_mode_writes_nothing_in_the_workspace() {
    let l = Layout::new();
    std::fs::write(l.ws().join("keep.txt"), "original\n").unwrap();
    let o = l.run(
        SandboxMode::ReadOnly,
        "cat keep.txt; echo changed > keep.txt; echo new > new.txt; rm -f keep.txt",
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "original\n");
    assert_eq!(
        std::fs::read_to_string(l.ws().join("keep.txt")).unwrap(),
        "original\n"
    );
    assert!(!l.ws().join("new.txt").exists());
}

#[test]
fn nothing_outside_the_workspace_and_the_system_is_readable() {
    let l = Layout::new();
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let o = l.run(
        SandboxMode::WorkspaceWrite,
        &format!(
            "cat \"$OUT/secret\"; cat \"$FAKE_HOME/.ssh/id_ed25519\"; ls \"$FAKE_HOME\"; \
             ls {home}; cat {home}/.openclaw/openclaw.json; ls /tmp; \
             ln -s \"$OUT/secret\" link && cat link; cp \"$OUT/secret\" copy; \
             head -c 20 /etc/hostname >/dev/null && echo system-readable"
        ),
    );
    let all = text(&o);
    assert!(!all.contains("s3cret"), "{all}");
    assert!(!all.contains("PRIVATE KEY"), "{all}");
    // `ls` of the fake home would list `.ssh`.
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains(".ssh"),
        "{all}"
    );
    assert!(!l.ws().join("copy").exists());
    assert!(all.contains("system-readable"), "{all}");
}

#[test]
fn a_symlink_in_the_workspace_does_not_lead_out() {
    let l = Layout::new();
    std::os::unix::fs::symlink(l.path("outside"), l.ws().join("out")).unwrap();
    let o = l.run(
        SandboxMode::WorkspaceWrite,
        "cat out/secret; echo pwned > out/new; echo pwned >> out/secret",
    );
    assert!(!text(&o).contains("s3cret"), "{}", text(&o));
    assert!(!l.path("outside/new").exists());
    assert_eq!(
        std::fs::read_to_string(l.path("outside/secret")).unwrap(),
        "s3cret\n"
    );
}

#[test]
fn no_network_by_default_and_network_when_allowed() {
    let l = Layout::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!(
        "if command -v bash >/dev/null; then bash -c 'echo hi > /dev/tcp/127.0.0.1/{port}'; fi; \
         if command -v python3 >/dev/null; then python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), 2)'; fi; \
         if command -v python3 >/dev/null; then python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b\"x\", (\"127.0.0.1\", {port}))'; fi; \
         if command -v python3 >/dev/null; then python3 -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_STREAM)' && echo v6-socket-made; fi"
    );
    let o = l.run(SandboxMode::WorkspaceWrite, &script);
    assert!(
        listener.accept().is_err(),
        "a connection arrived from the sandbox: {}",
        text(&o)
    );
    assert!(!text(&o).contains("v6-socket-made"), "{}", text(&o));

    let o = l.run_with(
        SandboxMode::WorkspaceWrite,
        true,
        &format!("bash -c 'echo hi > /dev/tcp/127.0.0.1/{port}' && echo sent"),
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("sent"),
        "{}",
        text(&o)
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if listener.accept().is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no connection with network allowed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn no_privileges_even_as_root() {
    let l = Layout::new();
    let o = l.run(
        SandboxMode::WorkspaceWrite,
        "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status; grep NoNewPrivs /proc/self/status; \
         mkdir m; mount -t tmpfs none m && echo mounted; \
         date -s '2001-01-01' && echo clock-set; \
         unshare -r true && echo userns; unshare -n true && echo netns; \
         chroot / true && echo chrooted; hostname pwned && echo renamed",
    );
    let out = String::from_utf8_lossy(&o.stdout);
    for line in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert!(
            out.contains(&format!("{line}:\t0000000000000000")),
            "{line} not empty: {}",
            text(&o)
        );
    }
    assert!(out.contains("NoNewPrivs:\t1"), "{}", text(&o));
    for bad in [
        "mounted",
        "clock-set",
        "userns",
        "netns",
        "chrooted",
        "renamed",
    ] {
        assert!(!out.contains(bad), "{bad}: {}", text(&o));
    }
}

#[test]
fn other_processes_environment_is_out_of_reach() {
    let l = Layout::new();
    // A process of the same user holding a secret in its environment (as the agent does).
    let mut victim = Command::new("sleep")
        .arg("30")
        .env("OPENCLAW_TEST_VICTIM_TOKEN", "victim-secret-4242")
        .spawn()
        .unwrap();
    let o = l.run(
        SandboxMode::WorkspaceWrite,
        &format!(
            "cat /proc/{pid}/environ; tr '\\0' '\\n' < /proc/$PPID/environ; cat /proc/{pid}/cmdline; \
             kill -9 {pid} && echo killed; env",
            pid = victim.id()
        ),
    );
    let all = text(&o);
    assert!(!all.contains("victim-secret-4242"), "{all}");
    assert!(!all.contains("CARGO_MANIFEST_DIR"), "{all}");
    assert!(!all.contains("killed"), "{all}");
    assert!(
        victim.try_wait().unwrap().is_none(),
        "the sandbox killed an outside process"
    );
    victim.kill().unwrap();
    victim.wait().unwrap();
}

#[test]
fn descendants_cannot_leave_the_process_group() {
    let l = Layout::new();
    let o = l.run(
        SandboxMode::WorkspaceWrite,
        "setsid true && echo new-session; python3 -c 'import os; os.setpgid(0, 0); print(\"new-group\")'; \
         echo $$ > pgid.txt",
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("new-session"), "{}", text(&o));
    assert!(!out.contains("new-group"), "{}", text(&o));
}

#[test]
fn limits_apply() {
    let l = Layout::new();
    let o = l.run(
        SandboxMode::WorkspaceWrite,
        "ulimit -c; ulimit -f; ulimit -v",
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&"0"), "{}", text(&o));
    assert!(
        lines.iter().skip(1).all(|l| *l != "unlimited"),
        "{}",
        text(&o)
    );
}
