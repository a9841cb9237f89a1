//! `openclaw onboard`: the first run as one guided step.
//!
//! Getting started from OpenClaw's Ollama page means five separate things — install Ollama, pull a
//! model, opt in with `OLLAMA_API_KEY`, write `agents.defaults.model`, then find out why
//! nothing shows up (Ollama not running, or no model with the `tools` capability). Onboarding
//! does them in order and explains each failure where it happens: it finds Ollama where
//! discovery would look (and says where that is), lists the models the agent can actually use
//! with their size and context, offers to pull one when there is none, writes the choice into
//! `openclaw.json` without touching the user's comments, creates the `ollama:default` auth
//! profile (the opt-in; no key goes into the config), and ends with `openclaw doctor`.
//!
//! Questions go to stderr and answers are read line by line from stdin, so it works on a
//! terminal and with piped answers alike; `--non-interactive` never asks and fails with the
//! reason instead.

use crate::exit::Exit;
use std::io::{BufRead, IsTerminal};

use anyhow::{anyhow, bail, Result};
use openclaw_config::{
    vars, AuthProfiles, ConfigEditor, ConfigPath, LoadedConfig, DEFAULT_AGENT_ID,
};
use openclaw_models::discovery::{discover_ollama_models, DiscoveryError};
use openclaw_models::ollama_host::{base_from_ollama_host, native_base};
use openclaw_models::{
    same_model, DiscoveredModel, DiscoveryReport, DiscoveryRequest, ModelRef, OLLAMA,
};
use serde::Serialize;
use serde_json::{json, Value};

use crate::args::{DoctorArgs, OnboardArgs};
use crate::commands::doctor;
use crate::commands::pull::{
    human_bytes, model_name, pull_with_progress, OllamaTarget, PullOutcome,
};
use crate::context::{runtime, Context};
use crate::output::{self, paint, BOLD, DIM, GOOD};

/// The model offered for download when none of the installed ones can use tools (the seed's).
const SUGGESTED_MODEL: &str = "llama3.3";
/// The auth profile that opts into discovery, as the seed and OpenClaw write it.
const PROFILE_ID: &str = "ollama:default";
const PROFILE_KEY: &str = "ollama-local";

/// `openclaw onboard --json`: what was found, what was written, and the doctor's verdict.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OnboardJson<'a> {
    ollama: OllamaJson<'a>,
    primary: &'a str,
    fallbacks: &'a [String],
    config_path: &'a std::path::Path,
    auth_profiles_path: std::path::PathBuf,
    auth_profile_created: bool,
    base_url_saved: Option<&'a str>,
    doctor: DoctorJson<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OllamaJson<'a> {
    base_url: &'a str,
    installed: usize,
    tools_capable: Vec<&'a str>,
}

#[derive(Serialize)]
struct DoctorJson<'a> {
    ok: bool,
    checks: &'a [doctor::Check],
}

pub fn run(ctx: &Context, args: OnboardArgs) -> Result<Exit> {
    let loaded = ctx.load_config()?;
    let mut prompt = Prompt::new(!args.non_interactive);
    say(paint(BOLD, "OpenClaw setup: local models through Ollama"));
    say(format!("Config: {}", ctx.show_path(&ctx.paths.config_file)));

    // 1. Find Ollama.
    let (mut base, mut source) = initial_base(ctx, &loaded, args.base_url.as_deref())?;
    let mut save_base = args.base_url.is_some();
    let report = loop {
        let target = OllamaTarget::resolve(ctx, &loaded, Some(base.clone()));
        say(format!("Looking for Ollama at {base} ({source})…"));
        match discover(ctx, &target) {
            Ok(report) => break report,
            Err(e) => {
                output::error(format!(
                    "{e}\n  Not installed yet? https://ollama.com/download"
                ));
                if !prompt.interactive {
                    return Ok(Exit::Failure);
                }
                let answer = prompt.ask(
                    "Press Enter to try again, type where Ollama listens (e.g. http://gpu-box:11434), or q to quit: ",
                )?;
                match answer.as_deref().map(str::trim) {
                    None | Some("q" | "quit" | "n" | "no") => {
                        say("Stopped: nothing was written.");
                        return Ok(Exit::Failure);
                    }
                    Some("") => {}
                    Some(url) => {
                        base = parse_base_url(url)?;
                        source = "as typed".to_string();
                        save_base = true;
                    }
                }
            }
        }
    };
    let target = OllamaTarget::resolve(ctx, &loaded, Some(base.clone()));

    // 2. The models the agent can use; pull one if there is none.
    let mut report = report;
    loop {
        show_models(&report);
        if !report.models.is_empty() {
            break;
        }
        if !prompt.interactive {
            bail!(
                "none of the {} model(s) installed at {base} reports the `tools` capability, which the agent needs\n  hint: `openclaw models pull {SUGGESTED_MODEL}` (or a smaller one, e.g. `qwen3:8b`), then run `openclaw onboard` again",
                report.installed
            );
        }
        let answer = prompt.ask(&format!(
            "No model here can use tools. Pull `{SUGGESTED_MODEL}` now (70B, about 43 GB)? Enter = yes, or type another name (e.g. qwen3:8b), n = stop: "
        ))?;
        let name = match answer.as_deref().map(str::trim) {
            None | Some("n" | "no" | "q" | "quit") => {
                say(format!("Stopped: nothing was written. Pull a tools-capable model (`openclaw models pull {SUGGESTED_MODEL}`) and run `openclaw onboard` again."));
                return Ok(Exit::Failure);
            }
            Some("" | "y" | "yes") => SUGGESTED_MODEL.to_string(),
            Some(other) => match model_name(other) {
                Ok(name) => name,
                Err(e) => {
                    output::error(format!("{e:#}"));
                    continue;
                }
            },
        };
        match pull_with_progress(ctx, &target, &name) {
            Ok(PullOutcome::Interrupted) => return Ok(Exit::Interrupted),
            Ok(PullOutcome::Pulled(summary)) => {
                say(format!("Pulled `{name}` ({}).", summary.describe()));
            }
            // Shown, then the question again (another name may work).
            Err(e) => output::error(format!("{e:#}")),
        }
        report = discover(ctx, &target)?;
    }
    let models = &report.models;

    // 3. Primary and fallbacks.
    let primary = match &args.primary {
        Some(r) => choose_by_ref(r, &report)?,
        None if prompt.interactive && models.len() > 1 => ask_primary(&mut prompt, models)?,
        None => ollama_ref(&models[0].name),
    };
    let fallbacks = if !args.fallbacks.is_empty() {
        let mut out = Vec::new();
        for r in &args.fallbacks {
            let chosen = choose_by_ref(r, &report)?;
            if chosen == primary {
                bail!("`{chosen}` is the default model; a fallback must be a different model");
            }
            if !out.contains(&chosen) {
                out.push(chosen);
            }
        }
        out
    } else if prompt.interactive && models.iter().any(|m| ollama_ref(&m.name) != primary) {
        ask_fallbacks(&mut prompt, models, &primary)?
    } else {
        Vec::new()
    };

    // 4. Write the config and the auth profile.
    let saved_base = save_base.then(|| format!("{base}/v1"));
    let written = write_setup(ctx, &loaded, &primary, &fallbacks, saved_base.as_deref())?;

    // 5. Check.
    if args.json {
        let report_json = doctor::run_checks(ctx, false)?;
        output::json(&OnboardJson {
            ollama: OllamaJson {
                base_url: &base,
                installed: report.installed,
                tools_capable: report.models.iter().map(|m| m.name.as_str()).collect(),
            },
            primary: &primary,
            fallbacks: &fallbacks,
            config_path: &ctx.paths.config_file,
            auth_profiles_path: ctx.paths.auth_profiles(DEFAULT_AGENT_ID),
            auth_profile_created: written.profile_created,
            base_url_saved: saved_base.as_deref(),
            doctor: DoctorJson {
                ok: report_json.ok(),
                checks: &report_json.checks,
            },
        })?;
        return Ok(if report_json.ok() {
            Exit::Success
        } else {
            Exit::Failure
        });
    }
    print_written(ctx, &written);
    output::out("");
    output::out(paint(BOLD, "Checking the setup (openclaw doctor):"));
    doctor::run(
        ctx,
        DoctorArgs {
            json: false,
            fix: false,
        },
    )
}

/// A line of the conversation (stderr, so stdout keeps only results).
fn say(text: impl std::fmt::Display) {
    errln!("{text}");
}

/// Where to look first, and how that was decided (shown to the user).
fn initial_base(
    ctx: &Context,
    loaded: &LoadedConfig,
    flag: Option<&str>,
) -> Result<(String, String)> {
    if let Some(url) = flag {
        return Ok((parse_base_url(url)?, "--base-url".to_string()));
    }
    let env = &ctx.env;
    let base = openclaw_models::ollama_native_base(&loaded.config, env);
    let source = if loaded
        .config
        .models
        .providers
        .get(OLLAMA)
        .is_some_and(|e| e.base_url.is_some())
    {
        "from models.providers.ollama.baseUrl".to_string()
    } else if ctx
        .env
        .get(vars::OLLAMA_HOST)
        .is_some_and(|h| !h.trim().is_empty())
    {
        "from OLLAMA_HOST".to_string()
    } else {
        "Ollama's default address; set OLLAMA_HOST or pass --base-url to look elsewhere".to_string()
    };
    Ok((base, source))
}

/// `http://gpu-box:11434[/v1]` as given, or `gpu-box[:port]` read the way `OLLAMA_HOST` is.
fn parse_base_url(raw: &str) -> Result<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.chars().any(char::is_whitespace) {
        bail!("`{raw}` is not an address\n  hint: e.g. `http://gpu-box:11434`");
    }
    let lower = raw.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Ok(native_base(raw))
    } else if raw.contains("://") {
        bail!("`{raw}` is not an http(s) address\n  hint: e.g. `http://gpu-box:11434`")
    } else {
        Ok(native_base(&base_from_ollama_host(raw)))
    }
}

fn discover(ctx: &Context, target: &OllamaTarget) -> Result<DiscoveryReport, DiscoveryError> {
    let mut request = DiscoveryRequest::new(target.base.clone());
    request.api_key = target.api_key.clone();
    request.headers = target.headers.clone();
    request.timeout = ctx.discovery_timeout();
    let _spinner = output::Spinner::start("Asking Ollama for its models…");
    match runtime() {
        Ok(rt) => rt.block_on(discover_ollama_models(&request)),
        Err(e) => Err(DiscoveryError::Unreachable {
            base: target.base.clone(),
            detail: format!("cannot start the network runtime: {e}"),
            failure: openclaw_models::discovery::ConnectFailure::Other,
        }),
    }
}

/// The numbered list the questions refer to, and what was left out.
fn show_models(report: &DiscoveryReport) {
    say(format!(
        "{} Ollama at {}: {} model(s) installed, {} can use tools.",
        paint(GOOD, "Found"),
        report.base,
        report.installed,
        report.models.len()
    ));
    let width = report
        .models
        .iter()
        .map(|m| display_name(&m.name).chars().count())
        .max()
        .unwrap_or(0);
    for (i, m) in report.models.iter().enumerate() {
        say(format!(
            "  {:>2}) {:<width$}  {:>7}  {:>5} context{}",
            i + 1,
            display_name(&m.name),
            m.size.map(gigabytes).unwrap_or_else(|| "-".to_string()),
            context_label(m.context_window),
            traits(m),
        ));
    }
    if !report.skipped.is_empty() {
        say(paint(DIM, "  Left out (the agent cannot use them):"));
        for s in &report.skipped {
            say(paint(
                DIM,
                format!("      {:<width$}  {}", display_name(&s.name), s.reason),
            ));
        }
    }
}

/// Size in GB with one decimal, as the question asks for.
fn gigabytes(bytes: u64) -> String {
    if bytes < 100_000_000 {
        return human_bytes(bytes);
    }
    format!("{:.1} GB", bytes as f64 / 1e9)
}

fn context_label(n: u64) -> String {
    if n >= 1024 {
        format!("{}k", (n + 512) / 1024)
    } else {
        n.to_string()
    }
}

fn traits(m: &DiscoveredModel) -> String {
    let mut t = Vec::new();
    if m.reasoning {
        t.push("thinking");
    }
    if m.vision {
        t.push("vision");
    }
    if !m.context_reported {
        t.push("context not reported, 8k assumed");
    }
    if t.is_empty() {
        String::new()
    } else {
        format!("  {}", t.join(", "))
    }
}

/// `llama3.3:latest` → `llama3.3`, as the seed writes refs.
fn display_name(name: &str) -> &str {
    name.strip_suffix(":latest").unwrap_or(name)
}

fn ollama_ref(name: &str) -> String {
    format!("{OLLAMA}/{}", display_name(name))
}

/// A ref given on the command line: an installed tools-capable Ollama model, or another
/// provider's ref (taken as given).
fn choose_by_ref(raw: &str, report: &DiscoveryReport) -> Result<String> {
    let raw = raw.trim();
    let with_provider = if raw.contains('/') && !raw.starts_with("hf.co/") {
        raw.to_string()
    } else {
        format!("{OLLAMA}/{raw}")
    };
    let r = ModelRef::parse(&with_provider).map_err(|e| anyhow!("{e}"))?;
    if r.provider != OLLAMA {
        output::warn(format!(
            "`{r}` is not an Ollama model; it is saved as given (onboarding cannot check it)"
        ));
        return Ok(r.to_string());
    }
    if let Some(m) = report
        .models
        .iter()
        .find(|m| same_model(&r, OLLAMA, &m.name))
    {
        return Ok(ollama_ref(&m.name));
    }
    if let Some(s) = report
        .skipped
        .iter()
        .find(|s| same_model(&r, OLLAMA, &s.name))
    {
        bail!(
            "`{r}` is installed but the agent cannot use it: {}\n  hint: pick one of: {}",
            s.reason,
            usable_list(report)
        );
    }
    bail!(
        "`{}` is not installed at {}\n  hint: `openclaw models pull {}`, or pick one of: {}",
        r,
        report.base,
        r.model,
        usable_list(report)
    )
}

fn usable_list(report: &DiscoveryReport) -> String {
    report
        .models
        .iter()
        .map(|m| ollama_ref(&m.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ask_primary(prompt: &mut Prompt, models: &[DiscoveredModel]) -> Result<String> {
    loop {
        let answer = prompt.require(&format!(
            "Default model, 1-{} [Enter = 1, {}]: ",
            models.len(),
            display_name(&models[0].name)
        ))?;
        let answer = answer.trim();
        if answer.is_empty() {
            return Ok(ollama_ref(&models[0].name));
        }
        match pick(answer, models) {
            Some(i) => return Ok(ollama_ref(&models[i].name)),
            None => say(format!(
                "`{answer}` is not on the list: type a number from 1 to {}.",
                models.len()
            )),
        }
    }
}

fn ask_fallbacks(
    prompt: &mut Prompt,
    models: &[DiscoveredModel],
    primary: &str,
) -> Result<Vec<String>> {
    'ask: loop {
        let answer = prompt.require(
            "Fallbacks, tried in order when the default fails: numbers separated by commas [Enter = none]: ",
        )?;
        let mut chosen = Vec::new();
        for part in answer
            .split([',', ' '])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let Some(i) = pick(part, models) else {
                say(format!(
                    "`{part}` is not on the list: type numbers from 1 to {}, e.g. `2,3`.",
                    models.len()
                ));
                continue 'ask;
            };
            let r = ollama_ref(&models[i].name);
            if r == primary {
                say(format!("`{r}` is the default already; pick other models."));
                continue 'ask;
            }
            if !chosen.contains(&r) {
                chosen.push(r);
            }
        }
        return Ok(chosen);
    }
}

/// A 1-based number, or a model name, → an index.
fn pick(answer: &str, models: &[DiscoveredModel]) -> Option<usize> {
    if let Ok(n) = answer.parse::<usize>() {
        return (1..=models.len()).contains(&n).then(|| n - 1);
    }
    let r = ModelRef::parse(&format!(
        "{OLLAMA}/{}",
        answer.strip_prefix("ollama/").unwrap_or(answer)
    ))
    .ok()?;
    models.iter().position(|m| same_model(&r, OLLAMA, &m.name))
}

/// Questions on stderr, answers from stdin lines.
struct Prompt {
    interactive: bool,
}

impl Prompt {
    fn new(interactive: bool) -> Self {
        Self { interactive }
    }

    /// One answer; `None` when stdin is closed.
    fn ask(&mut self, question: &str) -> Result<Option<String>> {
        err!("{question}");
        let mut line = String::new();
        let n = std::io::stdin().lock().read_line(&mut line)?;
        if n == 0 {
            // Keep the next message off the question's line.
            say("");
            return Ok(None);
        }
        let answer = line.trim_end_matches(['\r', '\n']).to_string();
        if !std::io::stdin().is_terminal() {
            // A terminal echoes what is typed; piped answers are shown so the transcript reads right.
            say(&answer);
        }
        Ok(Some(answer))
    }

    /// An answer that must come: a closed stdin is an error that says what to do.
    fn require(&mut self, question: &str) -> Result<String> {
        self.ask(question)?.ok_or_else(|| {
            anyhow!("no answer: stdin closed before the question was answered; nothing was written\n  hint: for scripts, use `openclaw onboard --non-interactive [--primary REF] [--fallback REF]`")
        })
    }
}

/// What `write_setup` changed, for the summary.
struct Written {
    config: Vec<(String, Value)>,
    profile_created: bool,
    explicit_models_warning: bool,
}

fn write_setup(
    ctx: &Context,
    loaded: &LoadedConfig,
    primary: &str,
    fallbacks: &[String],
    base_url: Option<&str>,
) -> Result<Written> {
    // The auth profile is checked first: a broken file stops us before the config changes.
    let profiles_path = ctx.paths.auth_profiles(DEFAULT_AGENT_ID);
    let mut profiles = AuthProfiles::load(&profiles_path)?;
    let profile_created = profiles.for_provider(OLLAMA).is_none();

    let mut editor = ConfigEditor::open(&ctx.paths.config_file)?;
    let mut changes = Vec::new();
    let model_path = ConfigPath::parse("agents.defaults.model")?;
    match editor.get(&model_path) {
        Some(Value::Object(current)) => {
            // Keep the object (and any comments in it); use the spelling the file uses.
            let key = if current.contains_key("fallback") && !current.contains_key("fallbacks") {
                "fallback"
            } else {
                "fallbacks"
            };
            let primary_path = "agents.defaults.model.primary".to_string();
            editor.set(&ConfigPath::parse(&primary_path)?, &json!(primary))?;
            changes.push((primary_path, json!(primary)));
            let fallbacks_path = format!("agents.defaults.model.{key}");
            editor.set(&ConfigPath::parse(&fallbacks_path)?, &json!(fallbacks))?;
            changes.push((fallbacks_path, json!(fallbacks)));
        }
        _ => {
            let value = json!({ "primary": primary, "fallbacks": fallbacks });
            editor.set(&model_path, &value)?;
            changes.push(("agents.defaults.model.primary".into(), json!(primary)));
            changes.push(("agents.defaults.model.fallbacks".into(), json!(fallbacks)));
        }
    }
    if let Some(url) = base_url {
        let path = "models.providers.ollama.baseUrl".to_string();
        editor.set(&ConfigPath::parse(&path)?, &json!(url))?;
        changes.push((path, json!(url)));
    }
    for w in editor.save()? {
        output::warn(w);
    }

    if profile_created {
        profiles.set_api_key(PROFILE_ID, OLLAMA, PROFILE_KEY);
        profiles.save()?;
    }
    let explicit_models_warning = loaded
        .config
        .models
        .providers
        .get(OLLAMA)
        .is_some_and(|e| e.models.is_some());
    Ok(Written {
        config: changes,
        profile_created,
        explicit_models_warning,
    })
}

fn print_written(ctx: &Context, written: &Written) {
    output::out(format!(
        "{} {}",
        paint(GOOD, "Wrote"),
        ctx.show_path(&ctx.paths.config_file)
    ));
    let width = written
        .config
        .iter()
        .map(|(p, _)| p.len())
        .max()
        .unwrap_or(0);
    for (path, value) in &written.config {
        output::out(format!("  {path:<width$}  {value}"));
    }
    let profiles = ctx.show_path(&ctx.paths.auth_profiles(DEFAULT_AGENT_ID));
    if written.profile_created {
        output::out(format!("{} {profiles}", paint(GOOD, "Wrote")));
        output::out(format!(
            "  {PROFILE_ID}  api_key \"{PROFILE_KEY}\" for provider ollama: turns on Ollama discovery (no key goes into openclaw.json)"
        ));
    } else {
        output::out(format!(
            "Kept the ollama auth profile in {profiles} (discovery is already on)"
        ));
    }
    if written.explicit_models_warning {
        output::warn("`models.providers.ollama` lists its models explicitly, so discovery is off and only those models can be used\n  hint: remove `models.providers.ollama.models` to use every tools-capable model Ollama has");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str) -> DiscoveredModel {
        DiscoveredModel {
            name: name.into(),
            reasoning: false,
            vision: false,
            context_window: 8192,
            context_reported: true,
            capabilities: vec!["tools".into()],
            size: Some(4_920_753_328),
            parameter_size: None,
            quantization: None,
        }
    }

    #[test]
    fn answers_pick_by_number_or_name() {
        let models = [model("llama3.3:latest"), model("qwen3:8b")];
        assert_eq!(pick("1", &models), Some(0));
        assert_eq!(pick("2", &models), Some(1));
        assert_eq!(pick("3", &models), None);
        assert_eq!(pick("0", &models), None);
        assert_eq!(pick("llama3.3", &models), Some(0));
        assert_eq!(pick("ollama/qwen3:8b", &models), Some(1));
        assert_eq!(pick("-1", &models), None);
    }

    #[test]
    fn refs_drop_latest_like_the_seed() {
        assert_eq!(ollama_ref("llama3.3:latest"), "ollama/llama3.3");
        assert_eq!(ollama_ref("qwen3:8b"), "ollama/qwen3:8b");
        assert_eq!(gigabytes(4_920_753_328), "4.9 GB");
        assert_eq!(context_label(131_072), "128k");
    }

    #[test]
    fn addresses_read_like_ollama_host() {
        assert_eq!(
            parse_base_url("http://gpu-box:11434/v1").unwrap(),
            "http://gpu-box:11434"
        );
        assert_eq!(parse_base_url("gpu-box").unwrap(), "http://gpu-box:11434");
        assert!(parse_base_url("ftp://x").is_err());
        assert!(parse_base_url("a b").is_err());
    }

    #[test]
    fn given_refs_must_be_usable() {
        let report = DiscoveryReport {
            base: "http://h:1".into(),
            installed: 2,
            models: vec![model("llama3.3:latest")],
            skipped: vec![openclaw_models::SkippedModel {
                name: "gemma4:latest".into(),
                reason: openclaw_models::SkipReason::NoTools {
                    capabilities: vec!["completion".into()],
                },
            }],
        };
        assert_eq!(
            choose_by_ref("ollama/llama3.3", &report).unwrap(),
            "ollama/llama3.3"
        );
        assert_eq!(
            choose_by_ref("llama3.3:latest", &report).unwrap(),
            "ollama/llama3.3"
        );
        let err = choose_by_ref("gemma4", &report).unwrap_err().to_string();
        assert!(
            err.contains("cannot use it") && err.contains("tools"),
            "{err}"
        );
        let err = choose_by_ref("nope", &report).unwrap_err().to_string();
        assert!(
            err.contains("not installed") && err.contains("models pull nope"),
            "{err}"
        );
    }
}
