//! From config and catalog to a ready [`Agent`]: the fallback chain, the workspace and the
//! exec policy. Shared by `openclaw agent`, `openclaw chat` and the gateway, so they all run
//! the same agent for the same config.

use std::path::{Path, PathBuf};
use std::time::Duration;

use openclaw_config::{EnvLookup, ExecConfig, OpenClawConfig, StatePaths};
use openclaw_models::{Catalog, ModelRefError, Selection};

use openclaw_sandbox::SandboxMode;

use crate::exec::{ExecAsk, ExecPolicy, ExecSecurity};
use crate::health::ModelHealth;
use crate::runner::{resolve_candidates, Agent};
use crate::tools::Approver;
use crate::workspace::Workspace;

/// Why an agent could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    ModelRef(#[from] ModelRefError),
    #[error("cannot open the workspace {}: {source}", path.display())]
    Workspace {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A ready agent plus the notes the user should see (skipped models, config problems).
pub struct Assembled {
    pub agent: Agent,
    pub notes: Vec<String>,
}

/// Builds the agent for `model` (an alias or `provider/model`; the default when `None`).
pub fn assemble_agent(
    catalog: &Catalog,
    config: &OpenClawConfig,
    paths: &StatePaths,
    env: EnvLookup<'_>,
    model: Option<&str>,
    approver: Box<dyn Approver>,
) -> Result<Assembled, SetupError> {
    let selection = Selection::from_config(config);
    let mut notes: Vec<String> = selection.invalid.iter().map(ToString::to_string).collect();
    let override_ref = model.map(|m| selection.resolve(m)).transpose()?;
    if let openclaw_models::DiscoveryOutcome::Failed(e) = &catalog.discovery {
        notes.push(e.to_string());
    }
    let (candidates, more) =
        resolve_candidates(catalog, config, &selection, override_ref.as_ref(), env);
    notes.extend(more);
    let dir = workspace_dir(config, paths, env("HOME").as_deref().map(Path::new));
    // The default workspace lives inside the state dir: create the state dir first, private,
    // so that it is not created world-readable as the workspace's parent. A failure shows up
    // just below (the workspace) or when the transcript is opened.
    let _ = openclaw_config::create_private_dir(&paths.state_dir);
    let workspace = Workspace::open(&dir).map_err(|source| SetupError::Workspace {
        path: dir.clone(),
        source,
    })?;
    let exec = exec_policy(&config.tools.exec);
    notes.extend(sandbox_note(&exec));
    let mut agent = Agent::new(candidates, workspace, exec, approver);
    agent.health = ModelHealth::at(
        paths
            .agent_dir(openclaw_config::DEFAULT_AGENT_ID)
            .join(crate::health::HEALTH_FILE),
    );
    // The owner's own conversation: every workspace file, MEMORY.md included.
    notes.extend(crate::context::attach_context(
        &mut agent,
        config,
        paths,
        env,
        crate::prompt::SessionKind::Main,
    ));
    Ok(Assembled { agent, notes })
}

/// `agents.defaults.workspace` (with `~/` expanded), else `<state>/workspace`.
pub fn workspace_dir(config: &OpenClawConfig, paths: &StatePaths, home: Option<&Path>) -> PathBuf {
    match config.agents.defaults.workspace.as_deref() {
        Some(w) => match (w.strip_prefix("~/"), home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => PathBuf::from(w),
        },
        None => paths.default_workspace(),
    }
}

/// What the user must know about the sandbox before the first command: that it is off, or
/// that this machine cannot provide it.
pub fn sandbox_note(exec: &ExecPolicy) -> Option<String> {
    if exec.security == ExecSecurity::Deny {
        return None;
    }
    let support = openclaw_sandbox::support();
    match exec.sandbox {
        SandboxMode::Off => Some(
            "tools.exec.sandbox is \"off\": commands the model runs are not confined to the workspace \
             (they still get a clean environment). Turn it back on with \
             `openclaw config unset tools.exec.sandbox`"
                .into(),
        ),
        _ if !support.complete() => Some(format!(
            "this machine cannot sandbox commands ({}): every command the model wants to run will be \
             asked for, and denied where nobody can answer",
            support.describe()
        )),
        _ => None,
    }
}

/// `tools.exec` as a policy.
pub fn exec_policy(cfg: &ExecConfig) -> ExecPolicy {
    let mut p = ExecPolicy {
        security: match cfg.security.as_deref() {
            Some("deny") => ExecSecurity::Deny,
            Some("full") => ExecSecurity::Full,
            _ => ExecSecurity::Allowlist,
        },
        ask: match cfg.ask.as_deref() {
            Some("off") => ExecAsk::Off,
            Some("always") => ExecAsk::Always,
            _ => ExecAsk::OnMiss,
        },
        ..ExecPolicy::default()
    };
    if let Some(extra) = &cfg.safe_bins {
        p.safe_bins.extend(extra.iter().cloned());
    }
    if let Some(mode) = cfg.sandbox.as_deref().and_then(SandboxMode::parse) {
        p.sandbox = mode;
    }
    p.network = cfg.network.unwrap_or(false);
    if let Some(t) = cfg.timeout_seconds.or(cfg.timeout_sec).filter(|t| *t > 0) {
        p.default_timeout = Duration::from_secs(t);
    }
    p
}
