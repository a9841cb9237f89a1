//! From config and catalog to a ready [`Agent`]: the fallback chain ([`resolve_candidates`]),
//! the workspace, the exec policy and the workspace context ([`attach_context`]). Shared by
//! `openclaw agent`, `openclaw chat` and the gateway, so they all run the same agent for the
//! same config.

use std::path::{Path, PathBuf};
use std::time::Duration;

use openclaw_config::{vars, ApiKind, Env, ExecConfig, ExecSandbox, OpenClawConfig, StatePaths};
use openclaw_llm::Endpoint;
use openclaw_models::{same_model, Catalog, ModelRef, ModelRefError, Selection};

use openclaw_sandbox::SandboxMode;

use crate::approval::Approver;
use crate::context::AgentContext;
use crate::exec::{ExecPolicy, ExecSecurity};
use crate::health::ModelHealth;
use crate::memory_tools::MemoryTools;
use crate::prompt::{seed_new_workspace, PromptLimits, SessionKind};
use crate::runner::{Agent, Candidate};
use crate::workspace::Workspace;

/// Idle timeout when neither the provider nor `agents.defaults` sets one: long enough for a
/// cold model load on a laptop.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// `num_ctx` sent to Ollama when the config doesn't set one: the context window, capped.
pub const NATIVE_NUM_CTX_CAP: u64 = 32768;
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
    env: &Env,
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
    let dir = workspace_dir(config, paths, env.get_str(vars::HOME).map(Path::new));
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
    // What a run that names no level gets; `--thinking` and the gateway's levels override it.
    agent.thinking = config
        .agents
        .defaults
        .thinking_default
        .map(openclaw_llm::ThinkingLevel::from);
    agent.health = ModelHealth::at(
        paths
            .agent_dir(openclaw_config::DEFAULT_AGENT_ID)
            .join(crate::health::HEALTH_FILE),
    );
    // The owner's own conversation: every workspace file, MEMORY.md included.
    notes.extend(attach_context(
        &mut agent,
        config,
        paths,
        env,
        SessionKind::Main,
    ));
    Ok(Assembled { agent, notes })
}

/// Builds the fallback chain: `--model` (or the primary), then the configured fallbacks.
/// Refs that cannot be called are left out, each with a note saying why.
pub fn resolve_candidates(
    catalog: &Catalog,
    config: &OpenClawConfig,
    selection: &Selection,
    override_model: Option<&ModelRef>,
    env: &Env,
) -> (Vec<Candidate>, Vec<String>) {
    let mut notes = Vec::new();
    let mut chain: Vec<ModelRef> = Vec::new();
    match override_model.or(selection.primary.as_ref()) {
        Some(r) => chain.push(r.clone()),
        None => {
            if let Some(first) = catalog.models.first() {
                notes.push(format!("no default model is set; using {} (choose one with `openclaw models set provider/model`)", first.key()));
                chain.push(ModelRef::new(first.provider.clone(), first.id.clone()));
            }
        }
    }
    for f in &selection.fallbacks {
        if !chain.contains(f) {
            chain.push(f.clone());
        }
    }
    let defaults = &config.agents.defaults;
    let mut out = Vec::new();
    for r in chain {
        let Some(provider) = catalog.provider(&r.provider) else {
            notes.push(format!(
                "{r}: provider `{}` is not configured (nor discovered), skipped",
                r.provider
            ));
            continue;
        };
        let Some(base_url) = provider.base_url.clone() else {
            notes.push(format!(
                "{r}: provider `{}` has no baseUrl, skipped",
                r.provider
            ));
            continue;
        };
        let model = catalog.find(&r.provider, &r.model);
        let api = model.map_or(provider.api, |m| m.api);
        if api == ApiKind::Unsupported {
            notes.push(format!(
                "{r}: this provider's api is not supported by openclaw-rs yet, skipped"
            ));
            continue;
        }
        let params = defaults
            .models
            .iter()
            .find(|(k, _)| ModelRef::parse(k).is_ok_and(|k| same_model(&k, &r.provider, &r.model)))
            .map(|(_, e)| &e.params);
        let context_window = model.map_or(openclaw_models::DEFAULT_EXPLICIT_CONTEXT_WINDOW, |m| {
            m.context_window
        });
        let num_ctx = (api == ApiKind::Ollama).then(|| {
            params
                .and_then(|p| p.get("num_ctx"))
                .and_then(serde_json::Value::as_u64)
                .unwrap_or_else(|| context_window.min(NATIVE_NUM_CTX_CAP))
        });
        let idle = provider
            .timeout_seconds
            .or(defaults.timeout_seconds)
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_IDLE_TIMEOUT);
        out.push(Candidate {
            model_id: model.map_or_else(|| r.model.clone(), |m| m.id.clone()),
            reasoning: model.is_some_and(|m| m.reasoning),
            context_window,
            max_tokens: model.map_or(openclaw_models::DEFAULT_EXPLICIT_MAX_TOKENS, |m| {
                m.max_tokens
            }),
            endpoint: Endpoint {
                api,
                base_url,
                api_key: provider.api_key.as_ref().and_then(|k| k.resolve(env)),
                headers: provider.headers.clone(),
                idle_timeout: idle,
            },
            num_ctx,
            temperature: params
                .and_then(|p| p.get("temperature"))
                .and_then(serde_json::Value::as_f64),
            model_ref: r,
        });
    }
    (out, notes)
}

/// Gives `agent` its workspace context: seeds a brand-new workspace (unless
/// `agents.defaults.skipBootstrap`), sets up the memory tools, and returns notes for the user
/// (workspace files cut to fit the first model's context).
pub fn attach_context(
    agent: &mut Agent,
    config: &OpenClawConfig,
    paths: &StatePaths,
    env: &Env,
    session: SessionKind,
) -> Vec<String> {
    let mut notes = Vec::new();
    if config.agents.defaults.skip_bootstrap != Some(true) {
        if let Err(e) = seed_new_workspace(agent.workspace.root()) {
            notes.push(format!(
                "could not create the workspace files in {}: {e}",
                agent.workspace.root().display()
            ));
        }
    }
    let settings = openclaw_memory::resolve_settings(config, env);
    let memory = settings.enabled.then(|| {
        MemoryTools::new(
            settings,
            openclaw_memory::index_path(&paths.state_dir, openclaw_config::DEFAULT_AGENT_ID),
            agent.workspace.root().to_path_buf(),
        )
    });
    agent.context = Some(AgentContext {
        limits: PromptLimits::from_config(config),
        session,
        memory,
    });
    if let Some((_, report)) = agent.prompt_report() {
        notes.extend(report.notes());
    }
    notes
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
        security: cfg.security.unwrap_or_default(),
        ask: cfg.ask.unwrap_or_default(),
        ..ExecPolicy::default()
    };
    if let Some(extra) = &cfg.safe_bins {
        p.safe_bins.extend(extra.iter().cloned());
    }
    if let Some(mode) = cfg.sandbox {
        p.sandbox = match mode {
            ExecSandbox::WorkspaceWrite => SandboxMode::WorkspaceWrite,
            ExecSandbox::ReadOnly => SandboxMode::ReadOnly,
            ExecSandbox::Off => SandboxMode::Off,
        };
    }
    p.network = cfg.network.unwrap_or(false);
    if let Some(t) = cfg.timeout_seconds.or(cfg.timeout_sec).filter(|t| *t > 0) {
        p.default_timeout = Duration::from_secs(t);
    }
    p
}
