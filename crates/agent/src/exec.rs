//! The `exec` tool's policy and runner.
//!
//! A shell in the hands of a model is the riskiest tool, so the default is an allowlist of
//! read-only commands; anything else needs a person's approval on a terminal, and where nobody
//! can be asked it is denied with a message that says exactly which setting allows it. The
//! settings follow OpenClaw's `tools.exec` (`security`, `ask`, `safeBins`, `timeoutSeconds`).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::tools::Approver;

/// Largest output returned to the model.
const OUTPUT_LIMIT: usize = 32 * 1024;

/// Commands that only look: allowed without asking under the default policy.
pub const DEFAULT_SAFE_BINS: &[&str] = &[
    "ls", "cat", "head", "tail", "wc", "grep", "rg", "find", "echo", "pwd", "date", "sort", "uniq",
    "diff", "stat", "file", "which", "tree", "du", "df", "uname", "whoami", "true",
];

/// `tools.exec.security`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecSecurity {
    Deny,
    Allowlist,
    Full,
}

/// `tools.exec.ask`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecAsk {
    Off,
    OnMiss,
    Always,
}

/// How `exec` decides.
#[derive(Debug, Clone)]
pub struct ExecPolicy {
    pub security: ExecSecurity,
    pub ask: ExecAsk,
    pub safe_bins: Vec<String>,
    pub default_timeout: Duration,
    pub max_timeout: Duration,
}

impl Default for ExecPolicy {
    fn default() -> Self {
        Self {
            security: ExecSecurity::Allowlist,
            ask: ExecAsk::OnMiss,
            safe_bins: DEFAULT_SAFE_BINS.iter().map(|s| s.to_string()).collect(),
            default_timeout: Duration::from_secs(60),
            max_timeout: Duration::from_secs(600),
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

/// Runs `command` with `sh -c` in `workdir` if the policy (or a person) allows it.
pub async fn run_exec(
    command: &str,
    workdir: &Path,
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
    if !policy.allows_without_asking(command) {
        let askable = policy.ask != ExecAsk::Off;
        let answer = if askable {
            approver.approve(command).await
        } else {
            None
        };
        match answer {
            Some(true) => {}
            Some(false) => return Err(format!("the user denied running `{command}`")),
            None => {
                return Err(format!(
                    "`{command}` was not run: it is not on the exec allowlist and nobody could approve it. \
                     To allow it, add the program to `tools.exec.safeBins` \
                     (e.g. `openclaw config set tools.exec.safeBins '[\"{}\"]'`) or allow every command with \
                     `openclaw config set tools.exec.security full`",
                    command.split_whitespace().next().unwrap_or(command)
                ))
            }
        }
    }
    let timeout = timeout
        .unwrap_or(policy.default_timeout)
        .min(policy.max_timeout)
        .max(Duration::from_secs(1));
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("`exec`: cannot start a shell: {e}"))?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let collect = async {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let read_out = async {
            if let Some(s) = stdout.as_mut() {
                let _ = s.take(OUTPUT_LIMIT as u64 + 1).read_to_end(&mut out).await;
            }
        };
        let read_err = async {
            if let Some(s) = stderr.as_mut() {
                let _ = s.take(OUTPUT_LIMIT as u64 + 1).read_to_end(&mut err).await;
            }
        };
        tokio::join!(read_out, read_err);
        let status = child.wait().await;
        (out, err, status)
    };
    match tokio::time::timeout(timeout, collect).await {
        Err(_) => Err(format!("`{command}` was stopped after {} s (timeout); pass a larger `timeout` if it needs longer", timeout.as_secs())),
        Ok((out, err, status)) => {
            let code = status.ok().and_then(|s| s.code());
            let mut text = String::new();
            append_capped(&mut text, &out);
            if !err.is_empty() {
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str("[stderr]\n");
                append_capped(&mut text, &err);
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

fn append_capped(text: &mut String, bytes: &[u8]) {
    if bytes.len() > OUTPUT_LIMIT {
        text.push_str(&String::from_utf8_lossy(&bytes[..OUTPUT_LIMIT]));
        text.push_str(&format!("\n[output cut at {} KiB]\n", OUTPUT_LIMIT / 1024));
    } else {
        text.push_str(&String::from_utf8_lossy(bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::NoApprover;

    struct Yes;
    impl Approver for Yes {
        fn approve<'a>(&'a mut self, _: &'a str) -> crate::tools::Approval<'a> {
            Box::pin(async { Some(true) })
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
            None,
            &ExecPolicy::default(),
            &mut Yes,
        )
        .await
        .unwrap_err();
        assert!(err.ends_with("[exit code 3]"), "{err}");
        let full = ExecPolicy {
            security: ExecSecurity::Full,
            ..ExecPolicy::default()
        };
        let err = run_exec(
            "sleep 5",
            dir.path(),
            Some(Duration::from_secs(1)),
            &full,
            &mut NoApprover,
        )
        .await
        .unwrap_err();
        assert!(err.contains("stopped after 1 s"), "{err}");
    }
}
