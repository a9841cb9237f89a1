//! What a confused or prompt-injected model can try with the tools: leave the workspace with
//! the file tools (`..`, absolute paths, symlinks, a symlink swapped in while a write runs),
//! and get `exec` to run something the allowlist does not cover (chaining, substitution,
//! variables, environment tricks, qualified paths, line breaks, look-alike characters, and the
//! options that make a "read-only" safe bin write or execute). RELIABILITY.md has the table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openclaw_agent::{
    run_tool, Approval, ApprovalRequest, Approver, Decision, ExecPolicy, NoApprover, ToolContext,
    ToolOutcome, Workspace,
};
use openclaw_llm::ToolCall;
use serde_json::{json, Value};

fn call(name: &str, args: Value) -> ToolCall {
    ToolCall {
        id: "c".into(),
        name: name.into(),
        raw_arguments: args.to_string(),
        arguments: args,
        arguments_error: None,
    }
}

async fn tool(ws: &Workspace, name: &str, args: Value) -> ToolOutcome {
    let policy = ExecPolicy::default();
    let mut approver = NoApprover;
    let mut ctx = ToolContext {
        workspace: ws,
        exec: &policy,
        approver: &mut approver,
    };
    run_tool(&call(name, args), &mut ctx).await
}

/// `<tmp>/ws` (the workspace) next to `<tmp>/outside` (holding `secret`).
fn layout() -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("outside")).unwrap();
    std::fs::write(dir.path().join("outside/secret"), "s3cret\n").unwrap();
    let ws = Workspace::open(&dir.path().join("ws")).unwrap();
    (dir, ws)
}

fn outside_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("outside"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn file_tools_cannot_leave_the_workspace() {
    let (dir, ws) = layout();
    let outside = dir.path().join("outside");
    std::os::unix::fs::symlink(&outside, dir.path().join("ws/dirlink")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), dir.path().join("ws/filelink")).unwrap();
    std::os::unix::fs::symlink("..", dir.path().join("ws/up")).unwrap();
    std::os::unix::fs::symlink(outside.join("new"), dir.path().join("ws/dangling")).unwrap();
    let abs_secret = outside.join("secret").display().to_string();
    let attempts = [
        "../outside/secret",
        "a/../../outside/secret",
        "./../outside/secret",
        "..//outside/secret",
        &abs_secret,
        "/etc/passwd",
        "//etc/passwd",
        "/./etc/../etc/passwd",
        "dirlink/secret",
        "dirlink/new-file",
        "filelink",
        "up/outside/secret",
        "../ws/../outside/secret",
        " ../outside/secret",
    ];
    for path in attempts {
        for (name, args) in [
            ("read", json!({"path": path})),
            ("write", json!({"path": path, "content": "pwned"})),
            (
                "edit",
                json!({"path": path, "edits": [{"oldText": "s3cret", "newText": "pwned"}]}),
            ),
        ] {
            let out = tool(&ws, name, args).await;
            assert!(out.is_error, "{name} {path:?} succeeded: {}", out.content);
            assert!(
                !out.content.contains("s3cret"),
                "{name} {path:?} leaked: {}",
                out.content
            );
        }
    }
    // A dangling link to outside: reading it fails; writing is refused (neither through the
    // link nor over it), so nothing appears outside and the link stays as it was.
    let out = tool(&ws, "read", json!({"path": "dangling"})).await;
    assert!(out.is_error, "{}", out.content);
    let out = tool(&ws, "write", json!({"path": "dangling", "content": "x"})).await;
    assert!(
        out.is_error && out.content.contains("symlink"),
        "{}",
        out.content
    );
    assert!(std::fs::symlink_metadata(dir.path().join("ws/dangling"))
        .unwrap()
        .is_symlink());
    // `~` is not expanded: `~/.ssh/id_rsa` names a file inside the workspace.
    let out = tool(
        &ws,
        "write",
        json!({"path": "~/.ssh/id_rsa", "content": "x"}),
    )
    .await;
    assert!(
        !out.is_error && dir.path().join("ws/~/.ssh/id_rsa").exists(),
        "{}",
        out.content
    );
    assert_eq!(
        std::fs::read_to_string(outside.join("secret")).unwrap(),
        "s3cret\n"
    );
    assert_eq!(outside_files(dir.path()), ["secret"]);
    // A workdir outside is refused for exec too.
    let out = tool(
        &ws,
        "exec",
        json!({"command": "ls", "workdir": "../outside"}),
    )
    .await;
    assert!(
        out.is_error && out.content.contains("outside the workspace"),
        "{}",
        out.content
    );
}

#[tokio::test]
async fn odd_paths_are_errors_not_panics() {
    let (_dir, ws) = layout();
    for path in [
        "",
        " ",
        ".",
        "a\0b",
        &"x/".repeat(2000),
        &"n".repeat(5000),
        "é/ü/😀.txt",
        "\\..\\outside",
    ] {
        for name in ["read", "write", "edit"] {
            let args =
                json!({"path": path, "content": "c", "edits": [{"oldText": "a", "newText": "b"}]});
            let _ = tool(&ws, name, args).await; // an outcome, whatever it says
        }
    }
}

/// A symlink swapped in for a directory between the path check and the write: the check
/// resolves symlinks, and the write used to open the path again by name, so a concurrent swap
/// (another process in the workspace; the model itself through an approved `exec`) could
/// redirect it. Now every open goes through a handle on the workspace root that refuses to
/// leave it (cap-std: openat2 with RESOLVE_BENEATH).
#[tokio::test]
async fn a_symlink_swapped_in_mid_write_cannot_escape() {
    let escapes = race_escapes(Duration::from_secs(3)).await;
    assert_eq!(escapes, 0, "{escapes} writes landed outside the workspace");
}

async fn race_escapes(budget: Duration) -> usize {
    let (dir, ws) = layout();
    let root = dir.path().to_path_buf();
    let d = root.join("ws/d");
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let stop = stop.clone();
        let outside = root.join("outside");
        let d = d.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = std::fs::remove_file(&d);
                let _ = std::fs::create_dir(&d);
                std::thread::yield_now();
                let _ = std::fs::remove_dir_all(&d);
                let _ = std::os::unix::fs::symlink(&outside, &d);
                std::thread::yield_now();
            }
        })
    };
    let started = Instant::now();
    let mut i = 0;
    while started.elapsed() < budget {
        let _ = tool(
            &ws,
            "write",
            json!({"path": format!("d/f{i}"), "content": "x"}),
        )
        .await;
        i += 1;
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    outside_files(&root)
        .iter()
        .filter(|n| n.starts_with('f'))
        .count()
}

// ---- exec ----------------------------------------------------------------------------------

/// Every attempt must need a person's approval under the default policy.
const BYPASS_ATTEMPTS: &[&str] = &[
    // chaining and pipes
    "ls; touch pwned",
    "ls && touch pwned",
    "ls || touch pwned",
    "ls | sh",
    "ls & touch pwned",
    // substitution and variables
    "echo $(touch pwned)",
    "echo `touch pwned`",
    "echo $((1+1))",
    "cat <(touch pwned)",
    "echo $OLLAMA_API_KEY",
    "echo ${HOME}",
    "ls $IFS",
    // environment tricks
    "PATH=. ls",
    "LD_PRELOAD=./x.so ls",
    "env touch pwned",
    "IFS=/ ls",
    // path-qualified and relative programs
    "/bin/touch pwned",
    "/usr/bin/ls",
    "./ls",
    "../ls",
    "~/ls",
    // line breaks
    "ls\ntouch pwned",
    "ls\rtouch pwned",
    "ls \\\ntouch pwned",
    // redirection
    "ls > pwned",
    "echo x >> pwned",
    "cat < /etc/shadow",
    "cat <<EOF",
    // quoting and look-alikes of a safe name
    "\"touch\" pwned",
    "'ls'",
    "l\\s",
    "ｌｓ",
    "lѕ",
    "LS",
    // safe bins with options that write, run programs or change the system
    "find . -delete",
    "find . -exec touch pwned {} +",
    "find . -execdir touch pwned ;",
    "find . -ok touch pwned",
    "find . -fprint pwned",
    "find . \"-exec\" touch pwned {} +",
    "find . -e\\xec touch pwned {} +",
    "find . -de*",
    "find . *",
    "find . ''*",
    "find . \"\"-de*",
    "sort -o pwned notes.txt",
    "sort -ro pwned notes.txt",
    "sort --output=pwned notes.txt",
    "sort --compress-program=sh notes.txt",
    "rg --pre sh x",
    "rg --pre=sh x",
    "tree -o pwned",
    "date -s 2000-01-01",
    "date --set=2000-01-01",
    "file -C -m magic",
    "uniq notes.txt pwned",
];

#[test]
fn exec_bypass_attempts_all_need_approval() {
    let policy = ExecPolicy::default();
    for attempt in BYPASS_ATTEMPTS {
        assert!(
            !policy.allows_without_asking(attempt),
            "runs without approval: {attempt:?}"
        );
    }
    // What the allowlist is for still runs without asking.
    for fine in [
        "ls -la",
        "cat notes.txt",
        "grep -rn launch .",
        "find . -name '*.txt'",
        "find . -type f -newer notes.txt",
        "sort -r notes.txt",
        "uniq notes.txt",
        "date -u",
        "tree -L 2",
        "wc -l notes.txt",
    ] {
        assert!(policy.allows_without_asking(fine), "{fine:?} should run");
    }
}

/// Nobody to approve: the attempts are refused and leave no trace.
#[tokio::test]
async fn refused_attempts_have_no_effect() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(dir.path()).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "b\na\n").unwrap();
    std::fs::write(dir.path().join("-delete"), "bait").unwrap();
    for attempt in BYPASS_ATTEMPTS {
        let out = tool(&ws, "exec", json!({"command": attempt, "timeout": 5})).await;
        assert!(out.is_error, "{attempt:?} ran: {}", out.content);
    }
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["-delete", "notes.txt"]);
}

/// A person who says no is final, whatever the command.
#[tokio::test]
async fn a_refusal_is_final() {
    struct No;
    impl Approver for No {
        fn approve<'a>(&'a mut self, _: ApprovalRequest<'a>) -> Approval<'a> {
            Box::pin(async { Some(Decision::Deny) })
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(dir.path()).unwrap();
    let policy = ExecPolicy::default();
    let mut approver = No;
    let mut ctx = ToolContext {
        workspace: &ws,
        exec: &policy,
        approver: &mut approver,
    };
    let out = run_tool(&call("exec", json!({"command": "touch pwned"})), &mut ctx).await;
    assert!(
        out.is_error && out.content.contains("denied"),
        "{}",
        out.content
    );
    assert!(!dir.path().join("pwned").exists());
}

/// Endless output from a safe bin: the output is capped, and the command is stopped at its
/// timeout (the pipe is not drained past the cap, so it blocks until then).
#[tokio::test]
async fn endless_output_is_capped_and_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(dir.path()).unwrap();
    let started = Instant::now();
    let out = tool(
        &ws,
        "exec",
        json!({"command": "cat /dev/zero", "timeout": 1}),
    )
    .await;
    assert!(
        out.is_error && out.content.contains("stopped after 1 s"),
        "{}",
        &out.content[..out.content.len().min(300)]
    );
    assert!(out.content.len() < 64 * 1024);
    assert!(started.elapsed() < Duration::from_secs(5));
}
