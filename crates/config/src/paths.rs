//! Where OpenClaw keeps things.
//!
//! `OPENCLAW_STATE_DIR` moves everything (config, auth profiles, sessions, workspace);
//! `OPENCLAW_CONFIG_PATH` moves just the config file. Same rules as the original.

use std::path::{Path, PathBuf};

use crate::env::{vars, Env};

/// The agent every command uses unless told otherwise.
pub const DEFAULT_AGENT_ID: &str = "main";

/// Resolved locations of OpenClaw's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePaths {
    pub state_dir: PathBuf,
    pub config_file: PathBuf,
}

impl StatePaths {
    /// Resolves from the environment: `OPENCLAW_CONFIG_PATH`, `OPENCLAW_STATE_DIR`, `HOME`.
    pub fn from_env(env: &Env) -> Self {
        let home = env
            .non_empty(vars::HOME)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        let expand = |raw: &str| -> PathBuf {
            match raw.strip_prefix("~/") {
                Some(rest) => home.join(rest),
                None if raw == "~" => home.clone(),
                None => PathBuf::from(raw),
            }
        };
        let state_dir = env
            .non_empty(vars::OPENCLAW_STATE_DIR)
            .map(expand)
            .unwrap_or_else(|| home.join(".openclaw"));
        let config_file = env
            .non_empty(vars::OPENCLAW_CONFIG_PATH)
            .map(expand)
            .unwrap_or_else(|| state_dir.join("openclaw.json"));
        Self {
            state_dir,
            config_file,
        }
    }

    /// Paths rooted in one directory (tests, `--state-dir`-like use).
    pub fn in_dir(state_dir: impl Into<PathBuf>) -> Self {
        let state_dir = state_dir.into();
        Self {
            config_file: state_dir.join("openclaw.json"),
            state_dir,
        }
    }

    /// `<state>/agents/<id>/agent`.
    pub fn agent_dir(&self, agent_id: &str) -> PathBuf {
        self.state_dir.join("agents").join(agent_id).join("agent")
    }

    /// `<state>/agents/<id>/agent/auth-profiles.json`.
    pub fn auth_profiles(&self, agent_id: &str) -> PathBuf {
        self.agent_dir(agent_id).join("auth-profiles.json")
    }

    /// `<state>/agents/<id>/sessions`.
    pub fn sessions_dir(&self, agent_id: &str) -> PathBuf {
        self.state_dir
            .join("agents")
            .join(agent_id)
            .join("sessions")
    }

    /// `<state>/workspace`, the default root of the file tools.
    pub fn default_workspace(&self) -> PathBuf {
        self.state_dir.join("workspace")
    }

    /// A path shown to users: `~/…` when under the home directory.
    pub fn display(path: &Path, home: Option<&Path>) -> String {
        match home.and_then(|h| path.strip_prefix(h).ok()) {
            Some(rest) if !rest.as_os_str().is_empty() => format!("~/{}", rest.display()),
            _ => path.display().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> Env {
        Env::from_vars(pairs.iter().copied())
    }

    #[test]
    fn default_is_under_home() {
        let p = StatePaths::from_env(&env_of(&[("HOME", "/home/u")]));
        assert_eq!(
            p.config_file,
            PathBuf::from("/home/u/.openclaw/openclaw.json")
        );
        assert_eq!(
            p.auth_profiles("main"),
            PathBuf::from("/home/u/.openclaw/agents/main/agent/auth-profiles.json")
        );
        assert_eq!(
            p.sessions_dir("main"),
            PathBuf::from("/home/u/.openclaw/agents/main/sessions")
        );
    }

    #[test]
    fn state_dir_moves_everything_and_config_path_wins_for_the_file() {
        let p = StatePaths::from_env(&env_of(&[
            ("HOME", "/h"),
            ("OPENCLAW_STATE_DIR", "~/state"),
        ]));
        assert_eq!(p.config_file, PathBuf::from("/h/state/openclaw.json"));
        assert_eq!(p.default_workspace(), PathBuf::from("/h/state/workspace"));
        let p = StatePaths::from_env(&env_of(&[
            ("HOME", "/h"),
            ("OPENCLAW_STATE_DIR", "/s"),
            ("OPENCLAW_CONFIG_PATH", "/etc/oc.json5"),
        ]));
        assert_eq!(p.config_file, PathBuf::from("/etc/oc.json5"));
        assert_eq!(p.state_dir, PathBuf::from("/s"));
    }

    #[test]
    fn display_shortens_home() {
        assert_eq!(
            StatePaths::display(Path::new("/h/.openclaw/x"), Some(Path::new("/h"))),
            "~/.openclaw/x"
        );
        assert_eq!(
            StatePaths::display(Path::new("/etc/x"), Some(Path::new("/h"))),
            "/etc/x"
        );
    }
}
