//! The process environment, read once, and the names of the variables openclaw-rs reads.
//!
//! Every command (and the gateway) snapshots the environment at start and passes this
//! [`Env`] down: what a run sees cannot change under it, tests build one from a map instead
//! of touching the process environment, and it is `Send + Sync` (a cheap `Clone` of one
//! shared map), so async code can hold it across awaits on any runtime. The variable names
//! are constants in [`vars`], so `grep` finds every reader of a variable.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The names of the environment variables openclaw-rs reads.
pub mod vars {
    /// The user's home: the default state dir, `~` in paths.
    pub const HOME: &str = "HOME";
    /// `$XDG_CONFIG_HOME/systemd/user` holds the gateway's service unit.
    pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
    /// The Ollama opt-in (any value) and the key sent to it.
    pub const OLLAMA_API_KEY: &str = "OLLAMA_API_KEY";
    /// Where Ollama listens, read as Ollama reads it (`host:port`, a URL, …).
    pub const OLLAMA_HOST: &str = "OLLAMA_HOST";
    /// Moves every file of OpenClaw's (default `~/.openclaw`).
    pub const OPENCLAW_STATE_DIR: &str = "OPENCLAW_STATE_DIR";
    /// Moves just the config file (default `<state>/openclaw.json`).
    pub const OPENCLAW_CONFIG_PATH: &str = "OPENCLAW_CONFIG_PATH";
    /// The gateway's token when the config has none.
    pub const OPENCLAW_GATEWAY_TOKEN: &str = "OPENCLAW_GATEWAY_TOKEN";
    /// The gateway's worker threads (1–64, default 4).
    pub const OPENCLAW_GATEWAY_THREADS: &str = "OPENCLAW_GATEWAY_THREADS";
    /// Per-request timeout of Ollama discovery, in seconds.
    pub const OPENCLAW_DISCOVERY_TIMEOUT: &str = "OPENCLAW_DISCOVERY_TIMEOUT";
    /// How long `models pull` waits for progress before giving up, in seconds.
    pub const OPENCLAW_PULL_IDLE_TIMEOUT: &str = "OPENCLAW_PULL_IDLE_TIMEOUT";
    /// The gateway's log filter.
    pub const RUST_LOG: &str = "RUST_LOG";
    /// Any value turns colours off.
    pub const NO_COLOR: &str = "NO_COLOR";
}

/// A snapshot of environment variables: the process's ([`Env::from_process`]) or a test's.
#[derive(Clone, Default)]
pub struct Env {
    vars: Arc<HashMap<String, String>>,
}

impl Env {
    /// Reads the process environment now. Variables whose name or value is not UTF-8 are left
    /// out (none of ours can be used that way).
    pub fn from_process() -> Self {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    }

    /// An environment of exactly these variables.
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        vars.into_iter().collect()
    }

    /// This environment with `name` set to `value` (tests, a child's environment).
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.vars).insert(name.into(), value.into());
        self
    }

    /// The value of `name`, if it is set (possibly empty).
    pub fn get(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    /// The value of `name`, if it is set (possibly empty), borrowed.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The value of `name`, if it is set and not empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get_str(name).filter(|v| !v.is_empty())
    }

    /// `name` as a positive number of seconds (`2.5`); `None` when unset or not one.
    pub fn seconds(&self, name: &str) -> Option<Duration> {
        self.get_str(name)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Env {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            vars: Arc::new(
                iter.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }
}

/// Names only: values hold keys and tokens.
impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Env").field("names", &names).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_shareable_across_threads_and_tasks() {
        fn shareable<T: Send + Sync + Clone + 'static>() {}
        shareable::<Env>();
    }

    #[test]
    fn lookups() {
        let env = Env::from_vars([("A", "1.5"), ("EMPTY", ""), ("BAD", "-3")]);
        assert_eq!(env.get("A").as_deref(), Some("1.5"));
        assert_eq!(env.get_str("EMPTY"), Some(""));
        assert_eq!(env.non_empty("EMPTY"), None);
        assert_eq!(env.get("NOPE"), None);
        assert_eq!(env.seconds("A"), Some(Duration::from_millis(1500)));
        assert_eq!(env.seconds("BAD"), None);
        assert_eq!(env.seconds("EMPTY"), None);
        let changed = env.clone().with("A", "2");
        assert_eq!(changed.get_str("A"), Some("2"));
        assert_eq!(
            env.get_str("A"),
            Some("1.5"),
            "a copy is changed, not the original"
        );
    }

    #[test]
    fn debug_shows_names_but_not_values() {
        let shown = format!("{:?}", Env::from_vars([("OLLAMA_API_KEY", "sk-secret")]));
        assert!(shown.contains("OLLAMA_API_KEY"), "{shown}");
        assert!(!shown.contains("sk-secret"), "{shown}");
    }
}
