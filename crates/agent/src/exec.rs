//! The `exec` tool's policy and runner.
//!
//! A shell in the hands of a model is the riskiest tool. Every command runs inside the OS
//! sandbox (`openclaw-sandbox`: the workspace and a private temp dir writable, no `$HOME`,
//! no state dir, no network, no privileges, a clean environment), and that sandbox is the
//! boundary. The allowlist of read-only commands only decides what runs without a question;
//! anything else needs a person's approval, and where nobody can be asked it is denied with a
//! message that says exactly which setting allows it. Where the machine cannot sandbox, every
//! command is asked for. The command's whole process group is killed when it ends, times out
//! or is cancelled, and its output is read to the end (head and tail kept). The settings follow
//! OpenClaw's `tools.exec` (`security`, `ask`, `safeBins`, `timeoutSeconds`) plus our
//! `sandbox` and `network`.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use openclaw_sandbox::{PrivateTemp, SandboxMode, SandboxPolicy};

use tokio::io::AsyncReadExt;

use crate::approval::{ApprovalRequest, Approver, Decision};

/// Largest output returned to the model.
const OUTPUT_LIMIT: usize = 32 * 1024;

/// Commands that only look: allowed without asking under the default policy.
pub const DEFAULT_SAFE_BINS: &[&str] = &[
    "ls", "cat", "head", "tail", "wc", "grep", "rg", "find", "echo", "pwd", "date", "sort", "uniq",
    "diff", "stat", "file", "which", "tree", "du", "df", "uname", "whoami", "true",
];

pub use openclaw_config::{ExecAsk, ExecSecurity};

/// How `exec` decides.
#[derive(Debug, Clone)]
pub struct ExecPolicy {
    pub security: ExecSecurity,
    pub ask: ExecAsk,
    pub safe_bins: Vec<String>,
    pub default_timeout: Duration,
    pub max_timeout: Duration,
    /// `tools.exec.sandbox`.
    pub sandbox: SandboxMode,
    /// `tools.exec.network`: whether sandboxed commands may use the network.
    pub network: bool,
}

impl Default for ExecPolicy {
    fn default() -> Self {
        Self {
            security: ExecSecurity::Allowlist,
            ask: ExecAsk::OnMiss,
            safe_bins: DEFAULT_SAFE_BINS.iter().map(|s| s.to_string()).collect(),
            default_timeout: Duration::from_secs(60),
            max_timeout: Duration::from_secs(600),
            sandbox: SandboxMode::default(),
            network: false,
        }
    }
}

impl ExecPolicy {
    /// Whether `command` runs without asking.
    pub fn allows_without_asking(&self, command: &str) -> bool {
        match self.security {
            ExecSecurity::Full => self.ask != ExecAsk::Always,
            ExecSecurity::Deny => false,
            ExecSecurity::Allowlist => self.ask != ExecAsk::Always && self.on_allowlist(command),
        }
    }

    /// A simple command (no chaining, pipes, redirection, substitution or variables) whose
    /// program is a safe bin, without the options that make a safe bin write files or run
    /// other programs.
    fn on_allowlist(&self, command: &str) -> bool {
        // `$` covers `$(…)`, `$((…))` and variables (`echo $OLLAMA_API_KEY` would hand a
        // secret from the environment to the model).
        const SHELL_SYNTAX: &[&str] = &[";", "&", "|", ">", "<", "`", "$", "\n", "\r"];
        if SHELL_SYNTAX.iter().any(|s| command.contains(s)) {
            return false;
        }
        let mut words = command.split_whitespace();
        let program = words.next().unwrap_or("");
        if program.contains('/') || !self.safe_bins.iter().any(|b| b == program) {
            return false;
        }
        let Some((_, unsafe_options)) = UNSAFE_OPTIONS.iter().find(|(bin, _)| *bin == program)
        else {
            return true;
        };
        // The shell removes quotes and backslashes (`"-exec"`, `-e\xec`) and expands unquoted
        // globs, which can turn into an option through a file named like one (`find . *` next
        // to a file called `-delete`): for these programs, look through the first and refuse
        // the second (a quoted pattern such as `-name '*.rs'` is fine).
        let words: Vec<&str> = words.collect();
        if words.iter().any(|w| has_unquoted_glob(w)) {
            return false;
        }
        let args: Vec<String> = words
            .iter()
            .map(|w| w.replace(['"', '\'', '\\'], ""))
            .collect();
        let positional = args.iter().filter(|a| !a.starts_with('-')).count();
        if program == "uniq" && positional > 1 {
            return false; // `uniq IN OUT` writes OUT
        }
        !args.iter().any(|arg| {
            unsafe_options.iter().any(|option| {
                let short = option.len() == 2 && !arg.starts_with("--");
                if short {
                    // `-o`, also inside a cluster (`-ro`) or with its value attached (`-ofile`).
                    arg.starts_with('-') && arg[1..].contains(&option[1..])
                } else {
                    arg == option || arg.starts_with(&format!("{option}="))
                }
            })
        })
    }
}

/// Whether the shell would expand a glob (or a brace) in `word`: one outside quotes.
fn has_unquoted_glob(word: &str) -> bool {
    let mut quote = None;
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\\') | (Some('"'), '\\') => {
                chars.next();
            }
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '*' | '?' | '[' | '{') => return true,
            _ => {}
        }
    }
    false
}

/// Options that make a default safe bin write files, change the system or run another program.
const UNSAFE_OPTIONS: &[(&str, &[&str])] = &[
    (
        "find",
        &[
            "-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf",
            "-fls",
        ],
    ),
    ("sort", &["-o", "--output", "--compress-program"]),
    ("rg", &["--pre"]),
    ("tree", &["-o"]),
    ("date", &["-s", "--set"]),
    ("file", &["-C", "--compile"]),
    ("uniq", &[]),
];

/// Runs `command` with `sh -c` in `workdir` if the policy (or a person) allows it, inside the
/// OS sandbox unless `tools.exec.sandbox` is `off`.
///
/// The allowlist only decides what may run without a question: whatever runs, runs confined
/// to `workspace` by the kernel. Where this machine cannot sandbox, every command is asked
/// for, and the question says so.
pub async fn run_exec(
    command: &str,
    workdir: &Path,
    workspace: &Path,
    timeout: Option<Duration>,
    policy: &ExecPolicy,
    approver: &mut dyn Approver,
) -> Result<String, String> {
    if command.trim().is_empty() {
        return Err("`exec`: the command is empty".into());
    }
    if policy.security == ExecSecurity::Deny {
        return Err("`exec` is disabled (tools.exec.security is \"deny\"). Allow it with `openclaw config set tools.exec.security allowlist`".into());
    }
    let support = openclaw_sandbox::support();
    let mut confined = policy.sandbox != SandboxMode::Off && support.complete();
    let unsandboxable = policy.sandbox != SandboxMode::Off && !support.complete();
    if unsandboxable || !policy.allows_without_asking(command) {
        let askable = policy.ask != ExecAsk::Off;
        let answer = if askable {
            approver
                .approve(ApprovalRequest {
                    command,
                    sandboxed: confined,
                })
                .await
        } else {
            None
        };
        match answer {
            Some(Decision::Run) => {}
            Some(Decision::RunUnsandboxed) => confined = false,
            Some(Decision::Deny) => return Err(format!("the user denied running `{command}`")),
            None if unsandboxable => {
                return Err(format!(
                    "`{command}` was not run: this machine cannot sandbox commands ({}), so every \
                     command needs a person's approval and nobody could be asked. Run the agent on a \
                     terminal, or turn the sandbox off explicitly with \
                     `openclaw config set tools.exec.sandbox off` (commands then run unconfined)",
                    support.describe()
                ))
            }
            None => {
                return Err(format!(
                    "`{command}` was not run: it is not on the exec allowlist and nobody could approve it. \
                     To allow it, add the program to `tools.exec.safeBins` \
                     (e.g. `openclaw config set tools.exec.safeBins '[\"{}\"]'`) or allow every command with \
                     `openclaw config set tools.exec.security full`; either way it runs inside the sandbox",
                    command.split_whitespace().next().unwrap_or(command)
                ))
            }
        }
    }
    let timeout = timeout
        .unwrap_or(policy.default_timeout)
        .min(policy.max_timeout)
        .max(Duration::from_secs(1));
    let temp = PrivateTemp::create()
        .map_err(|e| format!("`exec`: cannot create a private temp directory: {e}"))?;
    let mut sandbox = SandboxPolicy::new(
        if confined {
            policy.sandbox
        } else {
            SandboxMode::Off
        },
        workspace,
        temp.path(),
    );
    sandbox.network = policy.network;
    sandbox.limits.cpu_seconds = timeout.as_secs() + 5;
    let prepared = openclaw_sandbox::prepare(&sandbox).map_err(|e| {
        format!("`exec`: the sandbox could not be set up, so `{command}` was not run: {e}")
    })?;
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(workdir)
        .env_clear()
        .envs(openclaw_sandbox::clean_env(
            std::env::vars_os(),
            temp.path(),
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    openclaw_sandbox::confine(cmd.as_std_mut(), Arc::new(prepared));
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("`exec`: cannot start `{command}` in the sandbox: {e}"))?;
    // The command leads its own process group and the sandbox keeps every descendant in it:
    // whatever happens to this future (done, timed out, cancelled), the group goes.
    let group = ProcessGroup(child.id().and_then(|id| i32::try_from(id).ok()));
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let run = async {
        let (out, err, status) = tokio::join!(drain(stdout), drain(stderr), async {
            let status = child.wait().await;
            // Background processes it left behind would keep the pipes open: they end with it.
            group.kill();
            status
        });
        (out, err, status)
    };
    let result = tokio::time::timeout(timeout, run).await;
    group.kill();
    drop(temp);
    match result {
        Err(_) => Err(format!("`{command}` was stopped after {} s (timeout), with every process it started; pass a larger `timeout` if it needs longer", timeout.as_secs())),
        Ok((out, err, status)) => {
            let code = status.ok().and_then(|s| s.code());
            let mut text = out.into_text();
            if err.total > 0 {
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str("[stderr]\n");
                text.push_str(&err.into_text());
            }
            if text.is_empty() {
                text.push_str("(no output)\n");
            }
            match code {
                Some(0) => Ok(text),
                Some(c) => Err(format!("{text}[exit code {c}]")),
                None => Err(format!("{text}[killed by a signal]")),
            }
        }
    }
}

/// The process group of a running command; killed (every member) on [`ProcessGroup::kill`]
/// and on drop.
struct ProcessGroup(Option<i32>);

impl ProcessGroup {
    fn kill(&self) {
        if let Some(pgid) = self.0.filter(|p| *p > 1) {
            // SAFETY: sends a signal; a group that is gone answers ESRCH, which is fine.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One stream of a command's output, read to its end: the first [`OUTPUT_HEAD`] bytes and the
/// last [`OUTPUT_TAIL`] kept, the middle counted. Reading on keeps the pipe from filling up,
/// which would stall the command until its timeout.
#[derive(Default)]
struct Captured {
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    total: usize,
}

/// Bytes kept from the start of a stream.
const OUTPUT_HEAD: usize = 24 * 1024;
/// Bytes kept from the end of a stream.
const OUTPUT_TAIL: usize = OUTPUT_LIMIT - OUTPUT_HEAD;

impl Captured {
    fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len();
        let room = OUTPUT_HEAD - self.head.len();
        let into_head = room.min(bytes.len());
        self.head.extend_from_slice(&bytes[..into_head]);
        bytes = &bytes[into_head..];
        if bytes.len() >= OUTPUT_TAIL {
            self.tail.clear();
            bytes = &bytes[bytes.len() - OUTPUT_TAIL..];
        }
        self.tail.extend(bytes);
        while self.tail.len() > OUTPUT_TAIL {
            self.tail.pop_front();
        }
    }

    fn into_text(self) -> String {
        let kept = self.head.len() + self.tail.len();
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if self.total > kept {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!(
                "[… {} bytes of output cut; the first {} KiB and the last {} KiB are shown …]\n",
                self.total - kept,
                OUTPUT_HEAD / 1024,
                OUTPUT_TAIL / 1024
            ));
        }
        let tail: Vec<u8> = self.tail.into_iter().collect();
        text.push_str(&String::from_utf8_lossy(&tail));
        text
    }
}

async fn drain(stream: Option<impl tokio::io::AsyncRead + Unpin>) -> Captured {
    let mut captured = Captured::default();
    let Some(mut stream) = stream else {
        return captured;
    };
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return captured,
            Ok(n) => captured.push(&buf[..n]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::{Approval, NoApprover};

    struct Yes;
    impl Approver for Yes {
        fn approve<'a>(&'a mut self, _: ApprovalRequest<'a>) -> Approval<'a> {
            Box::pin(async { Some(Decision::Run) })
        }
    }

    /// Every command runs without a question (still inside the sandbox).
    fn full_policy() -> ExecPolicy {
        ExecPolicy {
            security: ExecSecurity::Full,
            ..ExecPolicy::default()
        }
    }

    #[test]
    fn allowlist_matches_simple_safe_commands_only() {
        let p = ExecPolicy::default();
        assert!(p.allows_without_asking("ls -la"));
        assert!(p.allows_without_asking("cat notes.txt"));
        for risky in [
            "rm -rf /",
            "ls; rm x",
            "cat x | sh",
            "echo $(id)",
            "ls > f",
            "/bin/ls",
            "cat `x`",
        ] {
            assert!(!p.allows_without_asking(risky), "{risky}");
        }
    }

    #[tokio::test]
    async fn denied_without_a_person_says_how_to_allow() {
        let dir = tempfile::tempdir().unwrap();
        let err = run_exec(
            "touch x",
            dir.path(),
            dir.path(),
            None,
            &ExecPolicy::default(),
            &mut NoApprover,
        )
        .await
        .unwrap_err();
        assert!(
            err.contains("tools.exec.safeBins") && err.contains("tools.exec.security full"),
            "{err}"
        );
        assert!(!dir.path().join("x").exists());
    }

    #[tokio::test]
    async fn runs_reports_exit_codes_and_times_out() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            run_exec(
                "echo hi",
                dir.path(),
                dir.path(),
                None,
                &ExecPolicy::default(),
                &mut NoApprover
            )
            .await
            .unwrap(),
            "hi\n"
        );
        let err = run_exec(
            "sh -c 'exit 3'",
            dir.path(),
            dir.path(),
            None,
            &ExecPolicy::default(),
            &mut Yes,
        )
        .await
        .unwrap_err();
        assert!(err.ends_with("[exit code 3]"), "{err}");
        let full = full_policy();
        let err = run_exec(
            "sleep 5",
            dir.path(),
            dir.path(),
            Some(Duration::from_secs(1)),
            &full,
            &mut NoApprover,
        )
        .await
        .unwrap_err();
        assert!(err.contains("stopped after 1 s"), "{err}");
    }

    #[tokio::test]
    async fn big_output_is_drained_and_kept_head_and_tail() {
        let dir = tempfile::tempdir().unwrap();
        let full = full_policy();
        // ~1.3 MB on stdout: before, the pipe filled at 64 KiB and the command stalled until
        // its timeout; now it ends at once and both ends of the output are kept.
        let out = run_exec(
            "seq 1 200000; echo tail-marker >&2",
            dir.path(),
            dir.path(),
            Some(Duration::from_secs(60)),
            &full,
            &mut NoApprover,
        )
        .await
        .unwrap();
        assert!(out.starts_with("1\n2\n3\n"), "{}", &out[..40]);
        assert!(out.contains("bytes of output cut"), "no cut marker");
        assert!(out.contains("200000\n"), "the tail is missing");
        assert!(out.contains("[stderr]\ntail-marker"), "stderr is missing");
        assert!(out.len() < 2 * OUTPUT_LIMIT, "{} bytes", out.len());
    }

    #[tokio::test]
    async fn a_timeout_kills_every_process_the_command_started() {
        let dir = tempfile::tempdir().unwrap();
        let full = full_policy();
        let err = run_exec(
            "sleep 100 & echo $! > bg.pid; sleep 100",
            dir.path(),
            dir.path(),
            Some(Duration::from_secs(1)),
            &full,
            &mut NoApprover,
        )
        .await
        .unwrap_err();
        assert!(err.contains("stopped after 1 s"), "{err}");
        let pid: i32 = std::fs::read_to_string(dir.path().join("bg.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Killed: gone, or a zombie until whoever adopted it reaps it.
        let alive = |pid: i32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit(") ")
                    .next()
                    .is_some_and(|rest| !rest.starts_with('Z'))
            })
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while alive(pid) {
            assert!(
                std::time::Instant::now() < deadline,
                "pid {pid} outlived its command"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
