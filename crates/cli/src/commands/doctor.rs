//! `openclaw doctor`: every check of the troubleshooting section of OpenClaw's Ollama page, each with a
//! verdict and the exact fix; `--fix` repairs what is safe after showing the change.

use crate::exit::Exit;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use openclaw_config::{ApiKind, AuthProfiles, LoadedConfig, DEFAULT_AGENT_ID};
use openclaw_models::{
    context_mismatches, probe_provider, Catalog, DiscoveryOutcome, ProbeResult, ProviderInfo,
    ProviderSource, Selection, SkipReason, OLLAMA,
};
use serde::Serialize;

use crate::args::DoctorArgs;
use crate::context::{runtime, Context};
use openclaw_sandbox::SandboxMode;

use crate::output::{self, paint, BAD, BOLD, DIM, GOOD, WARN};

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Info,
    Warn,
    Error,
}

/// One check: what was looked at, what was found, and how to fix it.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub status: Status,
    /// Human text: paths in it are painted for the terminal, plain in JSON.
    #[serde(serialize_with = "output::plain")]
    pub title: String,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "output::plain_opt"
    )]
    pub detail: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "output::plain_opt"
    )]
    pub fix: Option<String>,
}

impl Check {
    fn new(id: &'static str, status: Status, title: impl Into<String>) -> Self {
        Self {
            id,
            status,
            title: title.into(),
            detail: None,
            fix: None,
        }
    }
    fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
    fn fix(mut self, f: impl Into<String>) -> Self {
        self.fix = Some(f.into());
        self
    }
}

/// All checks of one run, and the repairs `--fix` made.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DoctorReport {
    pub checks: Vec<Check>,
    pub fixed: Vec<String>,
}

impl DoctorReport {
    /// True when nothing is broken.
    pub fn ok(&self) -> bool {
        !self.checks.iter().any(|c| c.status == Status::Error)
    }
}

/// `openclaw doctor --json`.
#[derive(Serialize)]
struct DoctorJson<'a> {
    ok: bool,
    checks: &'a [Check],
    fixed: &'a [String],
}

pub fn run(ctx: &Context, args: DoctorArgs) -> Result<Exit> {
    let report = run_checks(ctx, args.fix)?;
    if args.json {
        output::json(&DoctorJson {
            ok: report.ok(),
            checks: &report.checks,
            fixed: &report.fixed,
        })?;
    } else {
        print_report(&report);
    }
    Ok(if report.ok() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// Runs every check (and, with `fix`, the safe repairs, then the checks again).
pub fn run_checks(ctx: &Context, fix: bool) -> Result<DoctorReport> {
    let mut report = checks(ctx)?;
    if fix {
        let fixed = apply_fixes(ctx, &report)?;
        if !fixed.is_empty() {
            report = checks(ctx)?;
            report.fixed = fixed;
        }
    }
    Ok(report)
}

fn checks(ctx: &Context) -> Result<DoctorReport> {
    let mut out = Vec::new();
    let env = &ctx.env;
    let file = ctx.show_path(&ctx.paths.config_file);

    // 1. The config.
    let loaded = match openclaw_config::load(&ctx.paths.config_file, env) {
        Ok(l) => {
            let title = if l.exists {
                format!("config {file} is valid")
            } else {
                format!("no config file at {file} yet (an empty config is valid)")
            };
            let mut c = Check::new("config", Status::Ok, title);
            if !l.warnings.is_empty() {
                c.status = Status::Info;
                c.detail = Some(
                    l.warnings
                        .iter()
                        .map(|w| w.message.clone())
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
            }
            out.push(c);
            l
        }
        Err(e) => {
            out.push(
                Check::new("config", Status::Error, format!("config {file} cannot be used"))
                    .detail(e.to_string())
                    .fix("correct the file at the line and column shown; `openclaw config validate` lists every problem"),
            );
            // The other checks still run, on an empty config.
            LoadedConfig {
                path: ctx.paths.config_file.clone(),
                exists: true,
                document: openclaw_config::Document::parse("", "empty")?,
                config: Default::default(),
                warnings: Vec::new(),
            }
        }
    };

    // 2. The state directory.
    out.push(state_dir_check(ctx, &ctx.paths.state_dir));

    // 3. The OS sandbox around the agent's commands.
    out.push(sandbox_check(&loaded.config.tools.exec));

    // 3b. Memory search: hybrid with an embedding model that answers, else keyword-only.
    out.push(memory_check(&loaded.config, env)?);

    // 4. Providers, Ollama first.
    let catalog = ctx.catalog(&loaded, None)?;
    let selection = Selection::from_config(&loaded.config);
    let rt = runtime()?;
    let base = catalog.ollama_base.clone();
    let ollama_probe = rt.block_on(probe_provider(
        &ProviderInfo {
            id: OLLAMA.into(),
            base_url: Some(base.clone()),
            api: ApiKind::Ollama,
            api_key: None,
            headers: BTreeMap::new(),
            timeout_seconds: None,
            source: ProviderSource::Discovered,
        },
        env,
        Duration::from_secs(3),
    ));
    let ollama_used = catalog.provider(OLLAMA).is_some()
        || loaded.config.models.providers.is_empty()
        || selection.referenced().iter().any(|r| r.provider == OLLAMA);
    out.extend(ollama_checks(&catalog, &ollama_probe, &base, ollama_used));

    for p in catalog
        .providers
        .iter()
        .filter(|p| p.source == ProviderSource::Explicit)
    {
        let probe = rt.block_on(probe_provider(p, env, Duration::from_secs(3)));
        out.push(provider_check(p, &probe, &catalog));
    }

    // 5. Default and fallbacks exist.
    out.extend(selection_checks(&catalog, &selection));

    // 6. Effective context vs catalog.
    let mismatches = rt.block_on(context_mismatches(&catalog, env));
    if !mismatches.is_empty() {
        let lines: Vec<String> = mismatches
            .iter()
            .map(|m| {
                format!(
                    "{}: runs with {} tokens, the catalog says {}",
                    m.model, m.effective, m.catalog
                )
            })
            .collect();
        out.push(
            Check::new("context", Status::Warn, format!("{} loaded model(s) run with less context than the catalog says; longer prompts are silently truncated", mismatches.len()))
                .detail(format!("{}\n(Ollama's /api/ps shows the effective context; its OpenAI-compatible API cannot change it per request)", lines.join("\n")))
                .fix("use Ollama's native API, which sends num_ctx: `openclaw config set models.providers.ollama.api ollama`"),
        );
    }
    Ok(DoctorReport {
        checks: out,
        fixed: Vec::new(),
    })
}

/// Whether the commands the model runs will be confined, and by what.
fn sandbox_check(exec: &openclaw_config::ExecConfig) -> Check {
    let policy = openclaw_agent::exec_policy(exec);
    let support = openclaw_sandbox::support();
    let detail = format!(
        "kernel: {}; network for commands: {}",
        support.describe(),
        if policy.network { "allowed" } else { "off" }
    );
    match policy.sandbox {
        SandboxMode::Off => Check::new(
            "sandbox",
            Status::Warn,
            "tools.exec.sandbox is \"off\": commands the model runs are not confined",
        )
        .detail(detail)
        .fix("`openclaw config unset tools.exec.sandbox` (the default confines commands to the workspace)"),
        mode if support.complete() => Check::new(
            "sandbox",
            Status::Ok,
            format!("commands run inside the OS sandbox ({})", mode.as_str()),
        )
        .detail(detail),
        _ => Check::new(
            "sandbox",
            Status::Warn,
            "this machine cannot sandbox commands: every command the model wants to run is asked for",
        )
        .detail(detail)
        .fix("use a Linux kernel with Landlock (5.13+, `lsm=` including `landlock`) and seccomp; in a container, allow the landlock_* system calls"),
    }
}

/// How `memory_search` will rank: hybrid when the embedding model answers, keyword-only (and
/// why) otherwise.
fn memory_check(
    config: &openclaw_config::OpenClawConfig,
    env: &openclaw_config::Env,
) -> Result<Check> {
    use openclaw_memory::Embedder;
    let settings = openclaw_memory::resolve_settings(config, env);
    if !settings.enabled {
        return Ok(Check::new(
            "memory",
            Status::Info,
            "memory search is off (memory.search.enabled is false): the agent has no memory tools",
        ));
    }
    let Some(embedding) = settings.embedding.clone() else {
        let why = settings.keyword_only_reason.unwrap_or_default();
        return Ok(Check::new(
            "memory",
            Status::Info,
            "memory search works by keywords only: no embedding model",
        )
        .detail(why)
        .fix("for search by meaning too: `ollama pull nomic-embed-text`, then `openclaw config set memory.search.model nomic-embed-text`"));
    };
    let embedder = openclaw_memory::ModelEmbedder::new(embedding.clone());
    let rt = runtime()?;
    let probe = rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(10),
            embedder.embed(&["ping".to_owned()]),
        )
        .await
    });
    Ok(match probe {
        Ok(Ok(v)) => Check::new(
            "memory",
            Status::Ok,
            format!(
                "memory search is hybrid: keywords + vectors from {} ({} dimensions)",
                embedding.model,
                v.first().map_or(0, Vec::len)
            ),
        ),
        Ok(Err(e)) => Check::new(
            "memory",
            Status::Warn,
            format!(
                "the embedding model {} does not answer: memory search falls back to keywords",
                embedding.model
            ),
        )
        .detail(e)
        .fix(format!(
            "`ollama pull {}` (or correct memory.search.model), then `openclaw memory index`",
            embedding.model
        )),
        Err(_) => Check::new(
            "memory",
            Status::Warn,
            format!(
                "the embedding model {} did not answer within 10 s: memory search falls back to keywords",
                embedding.model
            ),
        ),
    })
}

fn state_dir_check(ctx: &Context, dir: &Path) -> Check {
    let shown = ctx.show_path(dir);
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    let result = openclaw_config::create_private_dir(dir)
        .and_then(|()| {
            openclaw_config::private_file_options()
                .write(true)
                .create_new(true)
                .open(&probe)
        })
        .and_then(|_| std::fs::remove_file(&probe));
    match result {
        Ok(()) => Check::new("state-dir", Status::Ok, format!("state directory {shown} is writable")),
        Err(e) => Check::new("state-dir", Status::Error, format!("state directory {shown} is not writable"))
            .detail(e.to_string())
            .fix(format!("fix the permissions of {shown}, or move OpenClaw's files with OPENCLAW_STATE_DIR=/some/writable/dir")),
    }
}

fn in_container() -> bool {
    Path::new("/.dockerenv").exists() || Path::new("/run/.containerenv").exists()
}

fn ollama_checks(catalog: &Catalog, probe: &ProbeResult, base: &str, used: bool) -> Vec<Check> {
    let mut out = Vec::new();
    match probe {
        ProbeResult::Reachable { status: 200, .. } => {
            out.push(Check::new("ollama", Status::Ok, format!("Ollama is running at {base}")));
        }
        ProbeResult::Reachable { status, .. } => out.push(
            Check::new("ollama", if used { Status::Error } else { Status::Info }, format!("{base} answered /api/tags with HTTP {status}: is it an Ollama server?"))
                .fix(format!("check `curl {base}/api/tags`; set OLLAMA_HOST or models.providers.ollama.baseUrl to where Ollama listens")),
        ),
        ProbeResult::Unreachable(_) | ProbeResult::NotConfigured if !used => {
            out.push(Check::new("ollama", Status::Info, format!("Ollama is not running at {base} (not used by this config)")));
            return out;
        }
        ProbeResult::Unreachable(detail) => {
            let mut fix = format!("start it with `ollama serve` (is it running? `ps aux | grep ollama`), then check `curl {base}/api/tags`");
            if in_container() && openclaw_models::discovery::is_loopback_url(base) {
                fix.push_str("\ninside a container, localhost is the container itself: point OLLAMA_HOST (or models.providers.ollama.baseUrl) at the host, e.g. http://host.docker.internal:11434");
            }
            out.push(Check::new("ollama", Status::Error, format!("Ollama is not reachable at {base} ({detail})")).fix(fix));
            return out;
        }
        ProbeResult::NotConfigured => {}
    }
    match &catalog.discovery {
        DiscoveryOutcome::NotEnabled => out.push(
            Check::new("discovery", Status::Error, "Ollama is running, but model discovery is not enabled")
                .detail("discovery needs an opt-in: OLLAMA_API_KEY, an `ollama` auth profile, or models.providers.ollama.apiKey (any value; Ollama needs no real key)")
                .fix("`export OLLAMA_API_KEY=ollama-local`, or `openclaw config set models.providers.ollama.apiKey \"ollama-local\"`, or `openclaw doctor --fix` (creates the ollama:default auth profile)"),
        ),
        DiscoveryOutcome::ExplicitModels => out.push(
            Check::new("discovery", Status::Info, "discovery is off: models.providers.ollama lists its models (explicit setup), which are used as given")
                .fix("to discover the installed models instead, remove `models` from models.providers.ollama: `openclaw config unset models.providers.ollama.models`"),
        ),
        DiscoveryOutcome::Filtered => {}
        DiscoveryOutcome::Failed(e) => out.push(Check::new("discovery", Status::Error, "Ollama discovery failed").detail(e.to_string())),
        DiscoveryOutcome::Ran(r) if r.installed == 0 => out.push(
            Check::new("discovery", Status::Error, "Ollama has no models installed").fix("pull a tools-capable model: `ollama pull llama3.3` (or `openclaw models pull llama3.3`)"),
        ),
        DiscoveryOutcome::Ran(r) if r.models.is_empty() => {
            let skipped: Vec<String> = r.skipped.iter().map(|s| format!("{}: {}", s.name, s.reason)).collect();
            out.push(
                Check::new("discovery", Status::Error, format!("no tools-capable model: none of the {} installed models reports the `tools` capability", r.installed))
                    .detail(skipped.join("\n"))
                    .fix("pull a tools-capable model (`ollama pull llama3.3`), or declare the model explicitly under models.providers.ollama.models (the explicit setup)"),
            );
        }
        DiscoveryOutcome::Ran(r) => {
            out.push(Check::new("discovery", Status::Ok, format!("discovery found {} tools-capable model(s) of {} installed", r.models.len(), r.installed)));
            for s in r.skipped.iter().filter(|s| !matches!(s.reason, SkipReason::NoTools { .. })) {
                out.push(Check::new("discovery", Status::Warn, format!("Ollama model `{}` was skipped: {}", s.name, s.reason)).fix(format!("check `curl {base}/api/show -d '{{\"model\": \"{}\"}}'`", s.name)));
            }
        }
    }
    out
}

fn provider_check(p: &ProviderInfo, probe: &ProbeResult, catalog: &Catalog) -> Check {
    let count = catalog.models.iter().filter(|m| m.provider == p.id).count();
    let base = p.base_url.clone().unwrap_or_default();
    match probe {
        ProbeResult::NotConfigured => Check::new(
            "provider",
            Status::Error,
            format!("provider `{}` has no baseUrl", p.id),
        )
        .fix(format!(
            "`openclaw config set models.providers.{}.baseUrl http://host:port/v1`",
            p.id
        )),
        ProbeResult::Unreachable(d) => Check::new(
            "provider",
            Status::Error,
            format!("provider `{}` is not reachable at {base} ({d})", p.id),
        )
        .fix(format!(
            "check that the server runs and `models.providers.{}.baseUrl` is right",
            p.id
        )),
        ProbeResult::Reachable {
            authenticated: false,
            status,
        } => Check::new(
            "provider",
            Status::Error,
            format!("provider `{}` refused the key (HTTP {status})", p.id),
        )
        .fix(format!(
            "check `models.providers.{}.apiKey` ({})",
            p.id,
            p.api_key
                .as_ref()
                .map_or("not set".to_string(), |k| k.describe())
        )),
        ProbeResult::Reachable { .. } => Check::new(
            "provider",
            Status::Ok,
            format!(
                "provider `{}` is reachable at {base}, {count} model(s) configured",
                p.id
            ),
        ),
    }
}

fn selection_checks(catalog: &Catalog, selection: &Selection) -> Vec<Check> {
    let mut out = Vec::new();
    let pull_hint = |r: &openclaw_models::ModelRef| {
        if r.provider == OLLAMA {
            format!("pull it (`ollama pull {}`), or choose another: `openclaw models set <ref>` (see `openclaw models list`)", r.model)
        } else {
            "add it to the provider's `models`, or choose another: `openclaw models set <ref>`"
                .to_string()
        }
    };
    match &selection.primary {
        None => {
            let mut c = Check::new("default-model", Status::Warn, "no default model is set");
            if let Some(first) = catalog.models.first() {
                c = c.fix(format!("`openclaw models set {}`", first.key()));
            }
            out.push(c);
        }
        Some(r) if catalog.find(&r.provider, &r.model).is_none() => {
            out.push(
                Check::new(
                    "default-model",
                    Status::Error,
                    format!("the default model {r} is not in the catalog"),
                )
                .fix(pull_hint(r)),
            );
        }
        Some(r) => out.push(Check::new(
            "default-model",
            Status::Ok,
            format!("default model {r} is available"),
        )),
    }
    for (i, r) in selection.fallbacks.iter().enumerate() {
        if catalog.find(&r.provider, &r.model).is_none() {
            out.push(
                Check::new(
                    "fallback",
                    Status::Warn,
                    format!("fallback #{} {r} is not in the catalog", i + 1),
                )
                .fix(pull_hint(r)),
            );
        }
    }
    for e in &selection.invalid {
        out.push(Check::new("default-model", Status::Error, e.to_string()));
    }
    out
}

/// Safe repairs: the `ollama:default` auth profile when Ollama runs but discovery is off.
fn apply_fixes(ctx: &Context, report: &DoctorReport) -> Result<Vec<String>> {
    let mut fixed = Vec::new();
    if report.checks.iter().any(|c| {
        c.id == "discovery" && c.status == Status::Error && c.title.contains("not enabled")
    }) {
        let path = ctx.paths.auth_profiles(DEFAULT_AGENT_ID);
        let mut store = AuthProfiles::load(&path)?;
        let change = format!(
            "add auth profile ollama:default (api_key \"ollama-local\") to {}",
            ctx.show_path(&path)
        );
        errln!("{} {change}", paint(BOLD, "fix:"));
        store.set_api_key("ollama:default", OLLAMA, "ollama-local");
        store.save()?;
        fixed.push(change);
    }
    Ok(fixed)
}

/// Prints the report for people.
pub fn print_report(report: &DoctorReport) {
    for c in &report.checks {
        let mark = match c.status {
            Status::Ok => paint(GOOD, "✔"),
            Status::Info => paint(DIM, "i"),
            Status::Warn => paint(WARN, "!"),
            Status::Error => paint(BAD, "✖"),
        };
        output::out(format!("{mark} {:<14} {}", c.id, c.title));
        for line in c.detail.iter().flat_map(|d| d.lines()) {
            output::out(format!("  {:<14} {}", "", paint(DIM, line)));
        }
        if let Some(fix) = &c.fix {
            for (i, line) in fix.lines().enumerate() {
                let label = if i == 0 { "fix:" } else { "" };
                output::out(format!(
                    "  {:<14} {} {line}",
                    "",
                    paint(BOLD, format!("{label:<4}"))
                ));
            }
        }
    }
    for f in &report.fixed {
        output::out(format!("{} {f}", paint(GOOD, "fixed:")));
    }
    let errors = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Error)
        .count();
    let warnings = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Warn)
        .count();
    if errors + warnings == 0 {
        output::out(paint(GOOD, "\nEverything looks good."));
    } else {
        output::out(format!("\n{errors} error(s), {warnings} warning(s)."));
    }
}
