//! The effective environment of one command: environment variables (captured once), where
//! OpenClaw's files are, and the loaded config — resolved before any command runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use openclaw_config::{vars, AuthProfiles, Env, LoadedConfig, StatePaths, DEFAULT_AGENT_ID};
use openclaw_models::{assemble_catalog, Catalog};

use crate::output;

pub struct Context {
    /// The environment as the command started.
    pub env: Env,
    pub paths: StatePaths,
    home: Option<PathBuf>,
}

impl Context {
    /// Captures the process environment.
    pub fn from_process() -> Self {
        Self::from_env(Env::from_process())
    }

    pub fn from_env(env: Env) -> Self {
        let paths = StatePaths::from_env(&env);
        let home = env.non_empty(vars::HOME).map(PathBuf::from);
        Self { env, paths, home }
    }

    /// `path` shortened with `~` for display.
    pub fn show_path(&self, path: &Path) -> String {
        output::paint(
            output::PATH,
            StatePaths::display(path, self.home.as_deref()),
        )
    }

    /// Loads and validates the config; prints its warnings (once) to stderr.
    pub fn load_config(&self) -> Result<LoadedConfig> {
        let env = &self.env;
        let loaded = openclaw_config::load(&self.paths.config_file, env)?;
        for w in &loaded.warnings {
            output::warn(w);
        }
        Ok(loaded)
    }

    /// The auth profiles of the default agent; a broken file is reported and treated as empty,
    /// so that it never blocks commands that do not need it.
    pub fn auth_profiles(&self) -> Option<AuthProfiles> {
        match AuthProfiles::load(&self.paths.auth_profiles(DEFAULT_AGENT_ID)) {
            Ok(p) => Some(p),
            Err(e) => {
                output::warn(e);
                None
            }
        }
    }

    /// Per-request timeout of Ollama discovery (`OPENCLAW_DISCOVERY_TIMEOUT`, seconds).
    pub fn discovery_timeout(&self) -> Duration {
        openclaw_models::discovery_timeout(&self.env)
    }

    /// Builds the model catalog (runs discovery), with a spinner on a terminal.
    pub fn catalog(&self, loaded: &LoadedConfig, only_provider: Option<String>) -> Result<Catalog> {
        let runtime = runtime()?;
        let assembled = {
            let _spinner = output::Spinner::start("Discovering Ollama models…");
            runtime.block_on(assemble_catalog(
                &loaded.config,
                &self.paths,
                &self.env,
                only_provider,
            ))
        };
        if let Some(e) = assembled.auth_profiles_error {
            output::warn(e);
        }
        Ok(assembled.catalog)
    }
}

/// A single-threaded runtime: the CLI's network work is a handful of concurrent requests.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
