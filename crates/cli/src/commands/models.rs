//! `openclaw models list|status|set|fallbacks`.

use crate::exit::Exit;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use futures_util::future::join_all;
use openclaw_config::{ApiKind, ConfigEditor, ConfigPath, Cost, InputKind, LoadedConfig};
use openclaw_models::{
    probe_provider, Catalog, DiscoveryOutcome, ModelRef, ProbeResult, ProviderInfo, ProviderSource,
    Selection, SkipReason,
};
use serde::Serialize;
use serde_json::{json, Value};

use crate::args::{FallbacksCommand, ListArgs, ModelsCommand, StatusArgs};
use crate::context::{runtime, Context};
use crate::output::{self, paint, BAD, DIM, GOOD};

pub fn run(ctx: &Context, cmd: ModelsCommand) -> Result<Exit> {
    match cmd {
        ModelsCommand::List(args) => list(ctx, &args),
        ModelsCommand::Status(args) => status(ctx, &args),
        ModelsCommand::Set { model } => set_default(ctx, &model),
        ModelsCommand::Fallbacks(cmd) => fallbacks(ctx, cmd),
        ModelsCommand::Pull(args) => super::pull::run(ctx, &args),
    }
}

/// One line of `models list`, also its `--json` form.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ModelRow {
    key: String,
    provider: String,
    id: String,
    name: Option<String>,
    api: Option<&'static str>,
    reasoning: Option<bool>,
    input: Option<Vec<InputKind>>,
    context_window: Option<u64>,
    max_tokens: Option<u64>,
    cost: Option<Cost>,
    local: Option<bool>,
    /// A key is at hand (or none is needed), so the model can be called.
    available: bool,
    tags: Vec<String>,
    missing: bool,
}

/// `models list --json`.
#[derive(Debug, Serialize)]
struct ListJson<'a> {
    count: usize,
    models: &'a [ModelRow],
    discovery: DiscoveryJson<'a>,
    warnings: &'a [String],
    /// Only with `--all`.
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<&'a [SkippedRow]>,
}

#[derive(Debug, Serialize)]
struct SkippedRow {
    key: String,
    name: String,
    reason: String,
}

fn list(ctx: &Context, args: &ListArgs) -> Result<Exit> {
    let loaded = ctx.load_config()?;
    let selection = Selection::from_config(&loaded.config);
    for e in &selection.invalid {
        output::warn(e);
    }
    let catalog = ctx.catalog(&loaded, args.provider.clone())?;
    let mut rows = model_rows(ctx, &catalog, &selection, args.provider.as_deref());
    if args.local {
        rows.retain(|r| r.local == Some(true));
    }
    let skipped: Vec<SkippedRow> = match (&catalog.discovery, args.all) {
        (DiscoveryOutcome::Ran(report), true) => report
            .skipped
            .iter()
            .map(|s| SkippedRow {
                key: format!("{}/{}", openclaw_models::OLLAMA, s.name),
                name: s.name.clone(),
                reason: s.reason.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    };
    let notes = discovery_notes(&catalog, rows.is_empty());
    for note in &notes {
        output::warn(note);
    }
    let failed = rows.is_empty() && matches!(catalog.discovery, DiscoveryOutcome::Failed(_));

    if args.json {
        output::json(&ListJson {
            count: rows.len(),
            models: &rows,
            discovery: discovery_json(&catalog),
            warnings: &notes,
            skipped: args.all.then_some(skipped.as_slice()),
        })?;
    } else if args.plain {
        for r in &rows {
            output::out(&r.key);
        }
        for s in &skipped {
            output::out(&s.key);
        }
    } else {
        if rows.is_empty() {
            output::out("No models found.");
        } else {
            let table_rows: Vec<Vec<String>> = rows.iter().map(table_row).collect();
            out!(
                "{}",
                output::table(
                    &["Model", "Input", "Ctx", "Local", "Auth", "Tags"],
                    &table_rows
                )
            );
        }
        if !skipped.is_empty() {
            output::out(format!("\nLeft out by discovery ({}):", skipped.len()));
            let table_rows: Vec<Vec<String>> = skipped
                .iter()
                .map(|s| vec![s.key.clone(), paint(DIM, &s.reason)])
                .collect();
            out!("{}", output::table(&["Model", "Reason"], &table_rows));
        } else if let DiscoveryOutcome::Ran(report) = &catalog.discovery {
            let no_tools = report
                .skipped
                .iter()
                .filter(|s| matches!(s.reason, SkipReason::NoTools { .. }))
                .count();
            if no_tools > 0 && !report.models.is_empty() {
                errln!(
                    "{}",
                    paint(DIM, format!("{no_tools} installed Ollama model(s) without the `tools` capability are not listed; `--all` shows them"))
                );
            }
        }
    }
    Ok(if failed { Exit::Failure } else { Exit::Success })
}

fn model_rows(
    ctx: &Context,
    catalog: &Catalog,
    selection: &Selection,
    only_provider: Option<&str>,
) -> Vec<ModelRow> {
    let env = &ctx.env;
    let mut rows: Vec<ModelRow> = catalog
        .models
        .iter()
        .map(|m| {
            let provider = catalog.provider(&m.provider);
            let mut tags = selection.tags_for(&m.provider, &m.id);
            if m.reasoning {
                tags.push("reasoning".to_string());
            }
            ModelRow {
                key: m.key(),
                provider: m.provider.clone(),
                id: m.id.clone(),
                name: Some(m.name.clone()),
                api: Some(m.api.as_str()),
                reasoning: Some(m.reasoning),
                input: Some(m.input.clone()),
                context_window: Some(m.context_window),
                max_tokens: Some(m.max_tokens),
                cost: Some(m.cost),
                local: Some(provider.is_some_and(ProviderInfo::is_local)),
                available: provider.is_some_and(|p| auth_state(p, env) != AuthState::Missing),
                tags,
                missing: false,
            }
        })
        .collect();
    for r in selection.referenced() {
        if only_provider.is_some_and(|p| p != r.provider)
            || catalog.find(&r.provider, &r.model).is_some()
        {
            continue;
        }
        let mut tags = selection.tags_for(&r.provider, &r.model);
        tags.push("missing".to_string());
        rows.push(ModelRow {
            key: r.to_string(),
            provider: r.provider.clone(),
            id: r.model.clone(),
            name: None,
            api: None,
            reasoning: None,
            input: None,
            context_window: None,
            max_tokens: None,
            cost: None,
            local: catalog.provider(&r.provider).map(ProviderInfo::is_local),
            available: false,
            tags,
            missing: true,
        });
    }
    rows
}

fn table_row(r: &ModelRow) -> Vec<String> {
    let yes_no = |b: Option<bool>| match b {
        Some(true) => paint(GOOD, "yes"),
        Some(false) => "no".to_string(),
        None => "-".to_string(),
    };
    let input = r
        .input
        .as_ref()
        .map(|i| {
            i.iter()
                .map(|k| {
                    serde_json::to_value(k)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .unwrap_or_else(|| "-".to_string());
    let tags = r.tags.join(",");
    vec![
        if r.missing {
            paint(BAD, &r.key)
        } else {
            r.key.clone()
        },
        input,
        r.context_window
            .map(format_ctx)
            .unwrap_or_else(|| "-".to_string()),
        yes_no(r.local),
        if r.missing {
            "-".to_string()
        } else {
            yes_no(Some(r.available))
        },
        if r.missing { paint(BAD, tags) } else { tags },
    ]
}

/// `8192` → `8k`, `131072` → `128k`.
fn format_ctx(n: u64) -> String {
    if n >= 1024 {
        format!("{}k", (n + 512) / 1024)
    } else {
        n.to_string()
    }
}

#[derive(Debug, PartialEq, Eq)]
enum AuthState {
    Present,
    NotNeeded,
    Missing,
}

fn auth_state(p: &ProviderInfo, env: &openclaw_config::Env) -> AuthState {
    match p.api_key.as_ref().and_then(|k| k.resolve(env)) {
        Some(_) => AuthState::Present,
        None if p.is_local() => AuthState::NotNeeded,
        None => AuthState::Missing,
    }
}

/// What the user should know about discovery, as warning texts (with hints).
fn discovery_notes(catalog: &Catalog, nothing_listed: bool) -> Vec<String> {
    let mut notes = Vec::new();
    match &catalog.discovery {
        DiscoveryOutcome::Failed(e) => notes.push(e.to_string()),
        DiscoveryOutcome::Ran(report) => {
            for s in &report.skipped {
                if !matches!(s.reason, SkipReason::NoTools { .. }) {
                    notes.push(format!("Ollama model `{}` was skipped: {}", s.name, s.reason));
                }
            }
            if report.models.is_empty() && report.installed == 0 {
                notes.push(format!(
                    "Ollama at {} has no models installed\n  hint: pull a tools-capable model, e.g. `ollama pull llama3.3`, then run this again",
                    report.base
                ));
            } else if report.models.is_empty() {
                let names: Vec<&str> = report.skipped.iter().map(|s| s.name.as_str()).take(10).collect();
                let more = report.skipped.len().saturating_sub(names.len());
                notes.push(format!(
                    "no Ollama model qualifies: discovery keeps only models that report the `tools` capability, and none of the {} installed does ({}{})\n  hint: pull a tools-capable model (`ollama pull llama3.3`), or declare the model explicitly under `models.providers.ollama.models`; `openclaw models list --all` shows why each was left out",
                    report.installed,
                    names.join(", "),
                    if more > 0 { format!(", and {more} more") } else { String::new() }
                ));
            }
        }
        DiscoveryOutcome::NotEnabled if nothing_listed => notes.push(
            "no models configured, and Ollama discovery is off\n  hint: to use Ollama, `export OLLAMA_API_KEY=ollama-local` (any value works) or run `openclaw config set models.providers.ollama.apiKey \"ollama-local\"`"
                .to_string(),
        ),
        _ => {}
    }
    notes
}

/// The `discovery` object of `models list --json` and `models status --json`.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
enum DiscoveryJson<'a> {
    #[serde(rename_all = "camelCase")]
    NotEnabled {
        base_url: &'a str,
    },
    ExplicitModels,
    Filtered,
    #[serde(rename_all = "camelCase")]
    Failed {
        base_url: &'a str,
        error: String,
    },
    #[serde(rename_all = "camelCase")]
    Ran {
        base_url: &'a str,
        installed: usize,
        inspected: usize,
        kept: usize,
        skipped: Vec<SkippedJson<'a>>,
    },
}

/// A model discovery left out, in [`DiscoveryJson::Ran`].
#[derive(Debug, Serialize)]
struct SkippedJson<'a> {
    name: &'a str,
    reason: String,
    kind: SkipKind,
}

/// Why discovery left a model out, as a stable word for scripts.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "kebab-case")]
enum SkipKind {
    NoTools,
    ShowFailed,
    ShowTimedOut,
}

impl From<&SkipReason> for SkipKind {
    fn from(reason: &SkipReason) -> Self {
        match reason {
            SkipReason::NoTools { .. } => SkipKind::NoTools,
            SkipReason::ShowFailed(_) => SkipKind::ShowFailed,
            SkipReason::ShowTimedOut(_) => SkipKind::ShowTimedOut,
        }
    }
}

fn discovery_json(catalog: &Catalog) -> DiscoveryJson<'_> {
    let base_url = catalog.ollama_base.as_str();
    match &catalog.discovery {
        DiscoveryOutcome::NotEnabled => DiscoveryJson::NotEnabled { base_url },
        DiscoveryOutcome::ExplicitModels => DiscoveryJson::ExplicitModels,
        DiscoveryOutcome::Filtered => DiscoveryJson::Filtered,
        DiscoveryOutcome::Failed(e) => DiscoveryJson::Failed {
            base_url,
            error: e.to_string(),
        },
        DiscoveryOutcome::Ran(r) => DiscoveryJson::Ran {
            base_url,
            installed: r.installed,
            inspected: r.models.len() + r.skipped.len(),
            kept: r.models.len(),
            skipped: r
                .skipped
                .iter()
                .map(|s| SkippedJson {
                    name: &s.name,
                    reason: s.reason.to_string(),
                    kind: SkipKind::from(&s.reason),
                })
                .collect(),
        },
    }
}

/// `models status --json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusJson<'a> {
    config_path: &'a PathBuf,
    config_exists: bool,
    agent_dir: PathBuf,
    default_model: Option<String>,
    default_in_catalog: Option<bool>,
    fallbacks: Vec<String>,
    aliases: BTreeMap<&'a str, String>,
    providers: Vec<ProviderJson<'a>>,
    discovery: DiscoveryJson<'a>,
    catalog_size: usize,
    warnings: &'a [String],
}

/// One provider of [`StatusJson`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProviderJson<'a> {
    id: &'a str,
    source: SourceJson,
    base_url: Option<&'a str>,
    api: &'static str,
    auth: AuthJson,
    reachable: bool,
    authenticated: Option<bool>,
    error: Option<String>,
    models: usize,
}

/// Where a provider in the catalog comes from.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
enum SourceJson {
    Explicit,
    Discovered,
}

impl From<&ProviderSource> for SourceJson {
    fn from(source: &ProviderSource) -> Self {
        match source {
            ProviderSource::Explicit => SourceJson::Explicit,
            ProviderSource::Discovered => SourceJson::Discovered,
        }
    }
}

/// A provider's key: where it comes from and whether it is at hand.
#[derive(Debug, Serialize)]
struct AuthJson {
    source: Option<String>,
    present: bool,
}

/// Loaded Ollama models that run with less context than the catalog says.
fn context_warnings(ctx: &Context, catalog: &Catalog) -> Result<Vec<String>> {
    let env = &ctx.env;
    let found = runtime()?.block_on(openclaw_models::context_mismatches(catalog, env));
    Ok(found.iter().map(ToString::to_string).collect())
}

fn status(ctx: &Context, args: &StatusArgs) -> Result<Exit> {
    let loaded = ctx.load_config()?;
    let selection = Selection::from_config(&loaded.config);
    for e in &selection.invalid {
        output::warn(e);
    }
    if args.plain {
        output::out(
            selection
                .primary
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        );
        return Ok(Exit::Success);
    }
    let catalog = ctx.catalog(&loaded, None)?;
    let env = &ctx.env;
    let probe_timeout = Duration::from_secs(3);
    let probes: Vec<ProbeResult> = runtime()?.block_on(async {
        let futures = catalog.providers.iter().map(|p| async {
            match (&p.source, &catalog.discovery) {
                (ProviderSource::Discovered, DiscoveryOutcome::Ran(_)) => ProbeResult::Reachable {
                    status: 200,
                    authenticated: true,
                },
                (ProviderSource::Discovered, DiscoveryOutcome::Failed(e)) => {
                    ProbeResult::Unreachable(e.to_string())
                }
                _ => probe_provider(p, env, probe_timeout).await,
            }
        });
        // All at once: a slow or unreachable provider costs its own timeout, not everyone's.
        join_all(futures).await
    });
    let default_in_catalog = selection
        .primary
        .as_ref()
        .map(|r| catalog.find(&r.provider, &r.model).is_some());
    let providers: Vec<ProviderJson> = catalog
        .providers
        .iter()
        .zip(&probes)
        .map(|(p, probe)| ProviderJson {
            id: &p.id,
            source: SourceJson::from(&p.source),
            base_url: p.base_url.as_deref(),
            api: p.api.as_str(),
            auth: AuthJson {
                source: p.api_key.as_ref().map(|k| k.describe()),
                present: auth_state(p, env) == AuthState::Present,
            },
            reachable: matches!(probe, ProbeResult::Reachable { .. }),
            authenticated: match probe {
                ProbeResult::Reachable { authenticated, .. } => Some(*authenticated),
                _ => None,
            },
            error: match probe {
                ProbeResult::Unreachable(e) => Some(e.clone()),
                ProbeResult::NotConfigured => Some("no baseUrl configured".to_string()),
                ProbeResult::Reachable { .. } => None,
            },
            models: catalog.models.iter().filter(|m| m.provider == p.id).count(),
        })
        .collect();
    let mut notes = discovery_notes(&catalog, catalog.models.is_empty());
    notes.extend(context_warnings(ctx, &catalog)?);
    if args.json {
        output::json(&StatusJson {
            config_path: &loaded.path,
            config_exists: loaded.exists,
            agent_dir: ctx.paths.agent_dir(openclaw_config::DEFAULT_AGENT_ID),
            default_model: selection.primary.as_ref().map(ToString::to_string),
            default_in_catalog,
            fallbacks: selection
                .fallbacks
                .iter()
                .map(ToString::to_string)
                .collect(),
            aliases: selection
                .aliases
                .iter()
                .map(|(a, r)| (a.as_str(), r.to_string()))
                .collect(),
            providers,
            discovery: discovery_json(&catalog),
            catalog_size: catalog.models.len(),
            warnings: &notes,
        })?;
        return Ok(Exit::Success);
    }
    for note in &notes {
        output::warn(note);
    }
    print_status(
        ctx,
        &loaded,
        &selection,
        &catalog,
        &probes,
        default_in_catalog,
    );
    Ok(Exit::Success)
}

fn print_status(
    ctx: &Context,
    loaded: &LoadedConfig,
    selection: &Selection,
    catalog: &Catalog,
    probes: &[ProbeResult],
    default_in_catalog: Option<bool>,
) {
    let env = &ctx.env;
    let config_note = if loaded.exists {
        String::new()
    } else {
        paint(DIM, " (not created yet)")
    };
    output::out(format!(
        "Config       : {}{config_note}",
        ctx.show_path(&loaded.path)
    ));
    output::out(format!(
        "Agent dir    : {}",
        ctx.show_path(&ctx.paths.agent_dir(openclaw_config::DEFAULT_AGENT_ID))
    ));
    let default = match (&selection.primary, default_in_catalog) {
        (Some(r), Some(true)) => r.to_string(),
        (Some(r), _) => format!("{} {}", r, paint(BAD, "(not in the catalog)")),
        (None, _) => paint(DIM, "not set (`openclaw models set provider/model`)"),
    };
    output::out(format!("Default      : {default}"));
    let fallbacks: Vec<String> = selection
        .fallbacks
        .iter()
        .map(ToString::to_string)
        .collect();
    output::out(format!(
        "Fallbacks ({}): {}",
        fallbacks.len(),
        if fallbacks.is_empty() {
            "-".to_string()
        } else {
            fallbacks.join(", ")
        }
    ));
    let aliases: Vec<String> = selection
        .aliases
        .iter()
        .map(|(a, r)| format!("{a} -> {r}"))
        .collect();
    output::out(format!(
        "Aliases ({})  : {}",
        aliases.len(),
        if aliases.is_empty() {
            "-".to_string()
        } else {
            aliases.join(", ")
        }
    ));
    output::out(format!("Catalog      : {} model(s)", catalog.models.len()));
    output::out("Providers:");
    if catalog.providers.is_empty() {
        output::out(paint(
            DIM,
            "  none (set OLLAMA_API_KEY to discover Ollama models)",
        ));
    }
    for (p, probe) in catalog.providers.iter().zip(probes) {
        let source = match p.source {
            ProviderSource::Explicit => "explicit",
            ProviderSource::Discovered => "discovered",
        };
        let auth = match (p.api_key.as_ref(), auth_state(p, env)) {
            (Some(k), _) => k.describe(),
            (None, AuthState::NotNeeded) => "none needed (local)".to_string(),
            (None, _) => paint(BAD, "missing"),
        };
        let state = match probe {
            ProbeResult::Reachable {
                authenticated: true,
                ..
            } => paint(GOOD, "reachable"),
            ProbeResult::Reachable { status, .. } => paint(
                BAD,
                format!("reachable, but the key was refused (HTTP {status})"),
            ),
            ProbeResult::Unreachable(e) => paint(
                BAD,
                format!("unreachable: {}", e.lines().next().unwrap_or("")),
            ),
            ProbeResult::NotConfigured => paint(BAD, "no baseUrl configured"),
        };
        let count = catalog.models.iter().filter(|m| m.provider == p.id).count();
        let discovered = match (&p.source, &catalog.discovery) {
            (ProviderSource::Discovered, DiscoveryOutcome::Ran(r)) => {
                format!(" of {} installed", r.installed)
            }
            _ => String::new(),
        };
        output::out(format!(
            "  {} ({source}, {}) {}\n    auth: {auth} · {state} · {count} model(s){discovered}",
            output::paint(output::BOLD, &p.id),
            p.api.as_str(),
            p.base_url.as_deref().unwrap_or("-"),
        ));
        if p.api == ApiKind::Unsupported {
            output::out(paint(
                DIM,
                "    this provider's api is not supported by openclaw-rs yet",
            ));
        }
    }
}

/// Resolves a ref or alias typed by the user, warning when the catalog doesn't have it.
fn resolve_for_write(ctx: &Context, loaded: &LoadedConfig, input: &str) -> Result<ModelRef> {
    let selection = Selection::from_config(&loaded.config);
    let r = selection.resolve(input)?;
    let catalog = ctx.catalog(loaded, Some(r.provider.clone()))?;
    if catalog.find(&r.provider, &r.model).is_none() {
        let why = match &catalog.discovery {
            DiscoveryOutcome::Failed(e) => {
                format!("\n  ({})", e.to_string().lines().next().unwrap_or(""))
            }
            _ => String::new(),
        };
        output::warn(format!("`{r}` is not in the model catalog right now; it is saved anyway{why}\n  hint: `openclaw models list` shows the models that can be used"));
    }
    Ok(r)
}

fn set_default(ctx: &Context, model: &str) -> Result<Exit> {
    let loaded = ctx.load_config()?;
    let r = resolve_for_write(ctx, &loaded, model)?;
    let mut editor = ConfigEditor::open(&ctx.paths.config_file)?;
    let model_path = ConfigPath::parse("agents.defaults.model")?;
    match editor.get(&model_path) {
        Some(Value::Object(_)) | None => editor.set(
            &ConfigPath::parse("agents.defaults.model.primary")?,
            &json!(r.to_string()),
        )?,
        Some(_) => editor.set(&model_path, &json!({ "primary": r.to_string() }))?,
    }
    for w in editor.save()? {
        output::warn(w);
    }
    output::out(format!("{} {r}", paint(GOOD, "Default model:")));
    Ok(Exit::Success)
}

fn fallbacks(ctx: &Context, cmd: FallbacksCommand) -> Result<Exit> {
    let loaded = ctx.load_config()?;
    let selection = Selection::from_config(&loaded.config);
    match cmd {
        FallbacksCommand::List { json } => {
            let list: Vec<String> = selection
                .fallbacks
                .iter()
                .map(ToString::to_string)
                .collect();
            if json {
                output::json(&FallbacksJson { fallbacks: &list })?;
            } else if list.is_empty() {
                output::out(
                    "No fallbacks (add one with `openclaw models fallbacks add provider/model`).",
                );
            } else {
                output::out(format!("Fallbacks ({}):", list.len()));
                for f in &list {
                    output::out(format!("- {f}"));
                }
            }
            return Ok(Exit::Success);
        }
        FallbacksCommand::Add { model } => {
            let r = resolve_for_write(ctx, &loaded, &model)?;
            if selection.primary.as_ref() == Some(&r) {
                bail!("`{r}` is the default model; a fallback must be a different model");
            }
            if selection.fallbacks.contains(&r) {
                output::out(format!("`{r}` is already a fallback."));
                return Ok(Exit::Success);
            }
            let mut editor = ConfigEditor::open(&ctx.paths.config_file)?;
            add_fallback(&mut editor, &r.to_string())?;
            for w in editor.save()? {
                output::warn(w);
            }
            output::out(format!("{} {r}", paint(GOOD, "Added fallback")));
        }
        FallbacksCommand::Remove { model } => {
            let r = selection.resolve(&model)?;
            let mut editor = ConfigEditor::open(&ctx.paths.config_file)?;
            if !remove_fallback(&mut editor, &r)? {
                bail!(
                    "`{r}` is not a fallback\n  hint: `openclaw models fallbacks list` shows them"
                );
            }
            for w in editor.save()? {
                output::warn(w);
            }
            output::out(format!("{} {r}", paint(GOOD, "Removed fallback")));
        }
        FallbacksCommand::Clear => {
            let mut editor = ConfigEditor::open(&ctx.paths.config_file)?;
            let mut changed = false;
            for key in [
                "agents.defaults.model.fallbacks",
                "agents.defaults.model.fallback",
            ] {
                let path = ConfigPath::parse(key)?;
                if editor.get(&path).is_some() {
                    editor.unset(&path)?;
                    changed = true;
                }
            }
            if changed {
                for w in editor.save()? {
                    output::warn(w);
                }
            }
            output::out(format!("{} all fallbacks", paint(GOOD, "Cleared")));
        }
    }
    Ok(Exit::Success)
}

/// `models fallbacks list --json`.
#[derive(Debug, Serialize)]
struct FallbacksJson<'a> {
    fallbacks: &'a [String],
}

/// Appends to `fallbacks` (OpenClaw's key), or to the seed's `fallback` when that is the
/// spelling the file already uses.
fn add_fallback(editor: &mut ConfigEditor, r: &str) -> Result<()> {
    let model_path = ConfigPath::parse("agents.defaults.model")?;
    let current = editor.get(&model_path);
    let (key, existing) = match &current {
        Some(Value::String(primary)) => {
            editor.set(
                &model_path,
                &json!({ "primary": primary, "fallbacks": [r] }),
            )?;
            return Ok(());
        }
        Some(Value::Object(m)) if m.contains_key("fallbacks") || !m.contains_key("fallback") => {
            ("fallbacks", m.get("fallbacks").cloned())
        }
        Some(Value::Object(m)) => ("fallback", m.get("fallback").cloned()),
        _ => ("fallbacks", None),
    };
    let path = format!("agents.defaults.model.{key}");
    match existing {
        Some(Value::Array(items)) => editor.set(
            &ConfigPath::parse(&format!("{path}[{}]", items.len()))?,
            &json!(r),
        )?,
        Some(Value::String(one)) => editor.set(&ConfigPath::parse(&path)?, &json!([one, r]))?,
        _ => editor.set(&ConfigPath::parse(&path)?, &json!([r]))?,
    }
    Ok(())
}

/// Removes `r` from `fallbacks` or `fallback`; false when it is in neither.
fn remove_fallback(editor: &mut ConfigEditor, r: &ModelRef) -> Result<bool> {
    for key in ["fallbacks", "fallback"] {
        let path = format!("agents.defaults.model.{key}");
        let matches = |v: &Value| {
            v.as_str()
                .and_then(|s| ModelRef::parse(s).ok())
                .is_some_and(|x| &x == r)
        };
        match editor.get(&ConfigPath::parse(&path)?) {
            Some(Value::Array(items)) => {
                if let Some(i) = items.iter().position(matches) {
                    editor.unset(&ConfigPath::parse(&format!("{path}[{i}]"))?)?;
                    return Ok(true);
                }
            }
            Some(v @ Value::String(_)) if matches(&v) => {
                editor.unset(&ConfigPath::parse(&path)?)?;
                return Ok(true);
            }
            _ => {}
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_sizes_read_like_the_original() {
        assert_eq!(format_ctx(8192), "8k");
        assert_eq!(format_ctx(131072), "128k");
        assert_eq!(format_ctx(40960), "40k");
        assert_eq!(format_ctx(512), "512");
    }
}
