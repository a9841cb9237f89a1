//! The harness: a throw-away HOME, the real `openclaw` binary run with a clean environment,
//! and small readers for what it prints and writes. A running gateway is
//! `openclaw_test_support::gateway::Gateway`, shared with the other test binaries; `Env`
//! starts one with its environment.
//!
//! Every command runs with `env_clear()` so that the developer's own `OLLAMA_API_KEY`,
//! `OLLAMA_HOST` or `~/.openclaw` can never leak into a test.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use openclaw_test_support::gateway::Gateway;
use openclaw_test_support::{RecordedRequest, TestServer};
use serde_json::Value;
use tempfile::TempDir;

/// One isolated user: a temporary HOME plus the environment variables the binary will see.
pub struct Env {
    home: TempDir,
    vars: Vec<(String, String)>,
}

impl Env {
    /// A fresh HOME with no config, no auth profile and no Ollama opt-in.
    pub fn new() -> Self {
        Self {
            home: tempfile::Builder::new()
                .prefix("openclaw-cli-test-")
                .tempdir()
                .unwrap(),
            vars: Vec::new(),
        }
    }

    /// Sets (or replaces) an environment variable for every command run from this `Env`.
    pub fn var(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.retain(|(n, _)| n != name);
        self.vars.push((name.to_string(), value.into()));
        self
    }

    /// `OLLAMA_API_KEY`, the seed's opt-in.
    pub fn api_key(self, key: &str) -> Self {
        self.var("OLLAMA_API_KEY", key)
    }

    /// The value this `Env` gives an environment variable, if any.
    pub fn var_value(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `OLLAMA_HOST=127.0.0.1:PORT` of this server, so discovery talks to it.
    pub fn ollama(self, server: &TestServer) -> Self {
        self.var("OLLAMA_HOST", server.addr().to_string())
    }

    /// `OLLAMA_HOST=host:port`.
    pub fn ollama_host(self, host_port: &str) -> Self {
        self.var("OLLAMA_HOST", host_port)
    }

    /// `OPENCLAW_DISCOVERY_TIMEOUT` in seconds.
    pub fn discovery_timeout(self, seconds: f64) -> Self {
        self.var("OPENCLAW_DISCOVERY_TIMEOUT", seconds.to_string())
    }

    /// The temporary HOME.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// `$HOME/.openclaw`.
    pub fn state_dir(&self) -> PathBuf {
        self.home().join(".openclaw")
    }

    /// `$HOME/.openclaw/openclaw.json`.
    pub fn config_path(&self) -> PathBuf {
        self.state_dir().join("openclaw.json")
    }

    /// `$HOME/.openclaw/openclaw.json.bak`.
    pub fn backup_path(&self) -> PathBuf {
        self.state_dir().join("openclaw.json.bak")
    }

    /// Writes `openclaw.json` (creating `~/.openclaw`).
    pub fn write_config(&self, text: &str) {
        std::fs::create_dir_all(self.state_dir()).unwrap();
        std::fs::write(self.config_path(), text).unwrap();
    }

    /// The text of `openclaw.json`.
    pub fn read_config(&self) -> String {
        std::fs::read_to_string(self.config_path()).unwrap()
    }

    /// `openclaw.json` read the way the binary reads it (JSON5 → JSON value).
    pub fn config_value(&self) -> Value {
        json5_value(&self.read_config())
    }

    /// Writes `agents/main/agent/auth-profiles.json`.
    pub fn write_auth_profiles(&self, text: &str) {
        let dir = self.state_dir().join("agents/main/agent");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("auth-profiles.json"), text).unwrap();
    }

    /// A command for the binary with exactly this `Env`'s environment.
    pub fn command(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("openclaw").unwrap();
        cmd.env_clear()
            .env("HOME", self.home())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .current_dir(self.home())
            .args(args)
            // A hung command must fail the test, not the whole suite.
            .timeout(Duration::from_secs(30));
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }

    /// A plain `std::process::Command` with the same environment, for tests that need to
    /// signal the running process.
    pub fn std_command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("openclaw"));
        cmd.env_clear()
            .env("HOME", self.home())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .current_dir(self.home())
            .args(args);
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }

    /// `openclaw ARGS…` (a gateway) started with this `Env`, without waiting for it.
    pub fn spawn_gateway(&self, args: &[&str]) -> Gateway {
        Gateway::spawn(self.std_command(args))
    }

    /// `openclaw gateway --port 0` started with this `Env`, once it listens.
    pub fn start_gateway(&self) -> Gateway {
        Gateway::start(self.std_command(&["gateway", "--port", "0"]))
    }

    /// Runs `openclaw ARGS…` and captures everything.
    pub fn run(&self, args: &[&str]) -> Run {
        let started = Instant::now();
        let output = self.command(args).output().unwrap();
        Run {
            args: args.iter().map(|s| s.to_string()).collect(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed: started.elapsed(),
        }
    }

    /// Runs a command that must succeed; returns its run.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        run.assert_code(0);
        run
    }

    /// Runs a command that must succeed and print JSON; returns the JSON.
    pub fn json(&self, args: &[&str]) -> Value {
        self.ok(args).json()
    }

    /// Names of the files in `~/.openclaw` (sorted).
    pub fn state_files(&self) -> Vec<String> {
        let mut names: Vec<String> = match std::fs::read_dir(self.state_dir()) {
            Ok(entries) => entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    }
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// Fails with the whole run shown when the exit code is not `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "`openclaw {}` exited with {:?}, expected {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout of `openclaw {}` is not JSON ({e}):\n{}\n--- stderr\n{}",
                self.args.join(" "),
                self.stdout,
                self.stderr
            )
        })
    }

    /// Lines of stdout, trimmed, without empty ones.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Fails unless stderr contains `needle`.
    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr of `openclaw {}` lacks {needle:?}:\n{}",
            self.args.join(" "),
            self.stderr
        );
        self
    }
}

/// JSON5 text → JSON value, with the product's own parser (the one `config set` writes with).
#[track_caller]
pub fn json5_value(text: &str) -> Value {
    let doc = openclaw_config::Document::parse(text, "test").unwrap();
    doc.root().map(|n| n.to_value()).unwrap_or(Value::Null)
}

/// `models[].key` of a `models list --json` document.
pub fn keys(list: &Value) -> Vec<String> {
    list["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key"].as_str().unwrap().to_string())
        .collect()
}

/// The row with this key in a `models list --json` document.
#[track_caller]
pub fn row<'a>(list: &'a Value, key: &str) -> &'a Value {
    list["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == key)
        .unwrap_or_else(|| panic!("no row {key} in {list:#}"))
}

/// The `tags` of a row, as strings.
pub fn tags(row: &Value) -> Vec<String> {
    row["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

/// True when all four costs of a row are zero.
pub fn free(row: &Value) -> bool {
    ["input", "output", "cacheRead", "cacheWrite"]
        .iter()
        .all(|k| row["cost"][k].as_f64() == Some(0.0))
}

/// `METHOD PATH` of every request the server got.
pub fn request_lines(server: &TestServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// The requests with this method and path.
pub fn requests_to(server: &TestServer, method: &str, path: &str) -> Vec<RecordedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method == method && r.path == path)
        .collect()
}

/// A 127.0.0.1 port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

/// Splits a shell command line the way the Ollama page's `bash` blocks are written: words
/// separated by spaces, double or single quotes grouping, `#` starting a comment.
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.get_or_insert_with(String::new).push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                current.get_or_insert_with(String::new);
            }
            (None, '#') if current.is_none() => break,
            (None, c) if c.is_whitespace() => words.extend(current.take()),
            (None, c) => current.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(current);
    words
}

/// The `openclaw …` commands of a `bash` block, as argument vectors (without `openclaw`).
pub fn openclaw_commands(block: &str) -> Vec<Vec<String>> {
    block
        .lines()
        .map(shell_words)
        .filter(|w| w.first().is_some_and(|p| p == "openclaw"))
        .map(|w| w[1..].to_vec())
        .collect()
}

/// `export NAME="value"` lines of a `bash` block.
pub fn exports(block: &str) -> Vec<(String, String)> {
    block
        .lines()
        .map(shell_words)
        .filter(|w| w.len() == 2 && w[0] == "export")
        .filter_map(|w| {
            w[1].split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// Borrowed view of an argument vector, for [`Env::run`].
pub fn argv(words: &[String]) -> Vec<&str> {
    words.iter().map(String::as_str).collect()
}

#[test]
fn shell_words_follow_the_seed_blocks() {
    assert_eq!(
        shell_words(r#"openclaw config set models.providers.ollama.apiKey "ollama-local""#),
        [
            "openclaw",
            "config",
            "set",
            "models.providers.ollama.apiKey",
            "ollama-local"
        ]
    );
    assert_eq!(
        shell_words(r#"export OLLAMA_API_KEY="ollama-local""#),
        ["export", "OLLAMA_API_KEY=ollama-local"]
    );
    assert_eq!(
        shell_words("ollama list  # Voir ce qui est installé"),
        ["ollama", "list"]
    );
    assert!(shell_words("# Set environment variable").is_empty());
}
