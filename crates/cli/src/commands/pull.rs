//! `openclaw models pull NAME`: download a model into Ollama, with progress.
//!
//! The seed's way to add a model is `ollama pull X`; this does the same through Ollama's
//! `/api/pull`, against the Ollama that discovery uses, and then says whether the model made it
//! into the catalog (discovery keeps only `tools`-capable models, which surprises people). On a
//! terminal every layer gets a progress bar (bytes, rate, ETA) on stderr; in a pipe or a log
//! there are plain lines instead — one per step and per layer at 0/25/50/75/100 % — so CI logs
//! stay readable. Ctrl-C stops cleanly (exit 130); Ollama keeps the partial download.

use crate::exit::Exit;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{bail, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use openclaw_config::{vars, LoadedConfig};
use openclaw_models::{
    ollama_api_key, ollama_native_base, pull_ollama_model, same_model, DiscoveryOutcome,
    LayerProgress, ModelRef, PullEvent, PullRequest, SkipReason, OLLAMA,
};

use crate::args::PullArgs;
use crate::context::{runtime, Context};
use crate::output::{self, paint, DIM, GOOD};

pub fn run(ctx: &Context, args: &PullArgs) -> Result<Exit> {
    let loaded = ctx.load_config()?;
    let name = model_name(&args.model)?;
    let target = OllamaTarget::resolve(ctx, &loaded, None);
    let summary = match pull_with_progress(ctx, &target, &name)? {
        PullOutcome::Pulled(summary) => summary,
        PullOutcome::Interrupted => return Ok(Exit::Interrupted),
    };
    output::out(format!(
        "{} `{name}` ({}) into Ollama at {}",
        paint(GOOD, "Pulled"),
        summary.describe(),
        target.base
    ));
    after_pull_hints(ctx, &loaded, &name);
    Ok(Exit::Success)
}

/// The model name as Ollama wants it: trimmed, without an `ollama/` prefix.
pub(crate) fn model_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    let name = name.strip_prefix("ollama/").unwrap_or(name);
    if name.is_empty() {
        bail!("no model name given\n  hint: e.g. `openclaw models pull llama3.3`");
    }
    if name.chars().any(char::is_whitespace) {
        bail!("`{name}` is not a model name (it contains spaces)\n  hint: names look like `llama3.3` or `qwen2.5-coder:32b`");
    }
    Ok(name.to_string())
}

/// Where Ollama's own API is and how to call it, by the discovery rules.
#[derive(Debug, Clone)]
pub(crate) struct OllamaTarget {
    /// Native base, no `/v1`.
    pub base: String,
    pub api_key: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl OllamaTarget {
    /// From the config entry, `OLLAMA_HOST`, `OLLAMA_API_KEY` and the auth profile; `base`
    /// overrides where Ollama is looked for.
    pub fn resolve(ctx: &Context, loaded: &LoadedConfig, base: Option<String>) -> Self {
        let env = &ctx.env;
        let profile = ctx.auth_profiles().and_then(|p| p.for_provider(OLLAMA));
        let headers = loaded
            .config
            .models
            .providers
            .get(OLLAMA)
            .map(|e| {
                e.headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            base: base.unwrap_or_else(|| ollama_native_base(&loaded.config, env)),
            api_key: ollama_api_key(&loaded.config, profile.as_ref(), env),
            headers,
        }
    }
}

/// How a pull ended (errors are returned as errors).
pub(crate) enum PullOutcome {
    Pulled(PullSummary),
    Interrupted,
}

/// What was downloaded, for the closing line.
#[derive(Debug, Default)]
pub(crate) struct PullSummary {
    layers: HashMap<String, u64>,
}

impl PullSummary {
    fn record(&mut self, event: &PullEvent) {
        if let PullEvent::Layer(l) = event {
            let size = self.layers.entry(l.digest.clone()).or_insert(0);
            *size = (*size).max(l.total);
        }
    }

    /// `4 layers, 4.9 GB`.
    pub fn describe(&self) -> String {
        let bytes: u64 = self.layers.values().sum();
        let n = self.layers.len();
        format!(
            "{n} layer{}, {}",
            if n == 1 { "" } else { "s" },
            human_bytes(bytes)
        )
    }
}

/// Pulls `name`, drawing progress on stderr; Ctrl-C ends it with [`PullOutcome::Interrupted`]
/// after saying so.
pub(crate) fn pull_with_progress(
    ctx: &Context,
    target: &OllamaTarget,
    name: &str,
) -> Result<PullOutcome> {
    let mut request = PullRequest::new(target.base.clone(), name);
    request.api_key = target.api_key.clone();
    request.headers = target.headers.clone();
    request.idle_timeout = idle_timeout(ctx);

    let mut view = ProgressView::for_stderr();
    let mut summary = PullSummary::default();
    let result = runtime()?.block_on(async {
        let pull = pull_ollama_model(&request, |event| {
            summary.record(&event);
            view.show(&event);
        });
        tokio::select! {
            result = pull => Some(result),
            () = ctrl_c() => None,
        }
    });
    restore_default_ctrl_c();
    match result {
        Some(Ok(())) => {
            view.finish();
            Ok(PullOutcome::Pulled(summary))
        }
        Some(Err(e)) => {
            view.abandon();
            Err(e.into())
        }
        None => {
            view.abandon();
            output::warn(format!(
                "interrupted: the pull of `{name}` stopped\n  hint: Ollama keeps what it downloaded; `openclaw models pull {name}` resumes"
            ));
            Ok(PullOutcome::Interrupted)
        }
    }
}

/// Resolves on Ctrl-C; never, if the handler cannot be installed.
async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Gives Ctrl-C back its default meaning (end the process). Tokio's handler stays installed
/// after its runtime is gone and would silently swallow Ctrl-C at `onboard`'s later questions.
fn restore_default_ctrl_c() {
    // SAFETY: `signal` with `SIG_DFL` installs no Rust code as a handler; the runtime that
    // listened for SIGINT has been dropped, so nothing relies on its handler any more.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
}

/// `OPENCLAW_PULL_IDLE_TIMEOUT` (seconds), else the library default.
fn idle_timeout(ctx: &Context) -> Duration {
    ctx.env
        .seconds(vars::OPENCLAW_PULL_IDLE_TIMEOUT)
        .unwrap_or(openclaw_models::pull::DEFAULT_PULL_IDLE_TIMEOUT)
}

/// Says whether the pulled model is now in the catalog, and if not, why.
fn after_pull_hints(ctx: &Context, loaded: &LoadedConfig, name: &str) {
    let short = name.strip_suffix(":latest").unwrap_or(name);
    let next = format!(
        "next: `openclaw models list` shows it; `openclaw models set ollama/{short}` makes it the default"
    );
    let Ok(catalog) = ctx.catalog(loaded, Some(OLLAMA.to_string())) else {
        note(&next);
        return;
    };
    let pulled = ModelRef::parse(&format!("{OLLAMA}/{name}")).ok();
    let is_pulled = |id: &str| pulled.as_ref().is_some_and(|r| same_model(r, OLLAMA, id));
    match &catalog.discovery {
        DiscoveryOutcome::Ran(report) => {
            if let Some(skipped) = report.skipped.iter().find(|s| is_pulled(&s.name)) {
                let why = match &skipped.reason {
                    SkipReason::NoTools { .. } => format!("discovery leaves it out: {}", skipped.reason),
                    other => format!("discovery could not inspect it: {other}"),
                };
                output::warn(format!(
                    "`{short}` is installed, but {why}\n  hint: `openclaw models list --all` shows it; to use it anyway, declare it under `models.providers.ollama.models`"
                ));
            } else {
                note(&next);
            }
        }
        DiscoveryOutcome::NotEnabled => output::warn(format!(
            "`{short}` is installed, but Ollama discovery is off, so `openclaw models list` does not show Ollama models\n  hint: run `openclaw onboard`, or `export OLLAMA_API_KEY=ollama-local` (any value works)"
        )),
        DiscoveryOutcome::ExplicitModels => output::warn(format!(
            "`{short}` is installed, but `models.providers.ollama` lists its models explicitly (discovery is off)\n  hint: add `{{ id: \"{name}\" }}` to `models.providers.ollama.models` to use it"
        )),
        DiscoveryOutcome::Failed(_) | DiscoveryOutcome::Filtered => note(&next),
    }
}

fn note(text: &str) {
    errln!("{}", paint(DIM, text));
}

/// `4920753328` → `4.9 GB`, `12403` → `12 KB` (decimal units, as Ollama prints sizes).
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 || value >= 10.0 {
        format!("{} {}", value.round(), UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Progress on stderr: bars on a terminal, plain lines otherwise.
enum ProgressView {
    Bars(Bars),
    Plain(Plain),
}

impl ProgressView {
    fn for_stderr() -> Self {
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        if std::io::stderr().is_terminal() && !dumb {
            ProgressView::Bars(Bars::new())
        } else {
            ProgressView::Plain(Plain::default())
        }
    }

    fn show(&mut self, event: &PullEvent) {
        match self {
            ProgressView::Bars(b) => b.show(event),
            ProgressView::Plain(p) => p.show(event),
        }
    }

    fn finish(&mut self) {
        if let ProgressView::Bars(b) = self {
            b.end(true);
        }
    }

    fn abandon(&mut self) {
        if let ProgressView::Bars(b) = self {
            b.end(false);
        }
    }
}

/// Percentages at which a layer gets a plain line.
const MILESTONES: [u64; 5] = [0, 25, 50, 75, 100];

/// Lines for logs and pipes: each step once, each layer at the milestones it passes.
#[derive(Default)]
struct Plain {
    last_status: Option<String>,
    /// Highest milestone printed per layer.
    printed: HashMap<String, u64>,
}

impl Plain {
    fn show(&mut self, event: &PullEvent) {
        match event {
            PullEvent::Status(status) => {
                if self.last_status.as_deref() != Some(status) {
                    errln!("{status}");
                    self.last_status = Some(status.clone());
                }
            }
            PullEvent::Layer(layer) => {
                self.last_status = None;
                let pct = layer.percent();
                let milestone = MILESTONES
                    .iter()
                    .rev()
                    .find(|m| pct >= **m)
                    .copied()
                    .unwrap_or(0);
                let seen = self.printed.get(&layer.digest).copied();
                if seen.is_some_and(|s| s >= milestone) {
                    return;
                }
                self.printed.insert(layer.digest.clone(), milestone);
                errln!("{}", plain_layer_line(layer, milestone));
            }
            PullEvent::Success => errln!("success"),
        }
    }
}

fn plain_layer_line(layer: &LayerProgress, milestone: u64) -> String {
    let size = if layer.total == 0 {
        "unknown size".to_string()
    } else {
        human_bytes(layer.total)
    };
    format!(
        "pulling {}: {milestone:>3}% of {size}",
        layer.short_digest()
    )
}

/// A bar per layer and a spinner per step, like `ollama pull`.
struct Bars {
    multi: MultiProgress,
    step: Option<(String, ProgressBar)>,
    layers: HashMap<String, ProgressBar>,
}

impl Bars {
    fn new() -> Self {
        Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            step: None,
            layers: HashMap::new(),
        }
    }

    fn show(&mut self, event: &PullEvent) {
        match event {
            PullEvent::Status(status) => {
                if self.step.as_ref().is_some_and(|(s, _)| s == status) {
                    return;
                }
                self.end_step();
                let spinner = self.multi.add(ProgressBar::new_spinner());
                spinner.set_style(step_style());
                spinner.set_message(status.clone());
                spinner.enable_steady_tick(Duration::from_millis(100));
                self.step = Some((status.clone(), spinner));
            }
            PullEvent::Layer(layer) => {
                self.end_step();
                let bar = match self.layers.get(&layer.digest) {
                    Some(bar) => bar.clone(),
                    None => {
                        let bar = self.multi.add(ProgressBar::new(layer.total));
                        bar.set_style(layer_style());
                        bar.set_prefix(layer.short_digest().to_string());
                        self.layers.insert(layer.digest.clone(), bar.clone());
                        bar
                    }
                };
                if bar.length() != Some(layer.total) {
                    bar.set_length(layer.total);
                }
                bar.set_position(layer.completed.min(layer.total));
                if layer.total > 0 && layer.completed >= layer.total && !bar.is_finished() {
                    bar.finish();
                }
            }
            PullEvent::Success => {
                self.end_step();
                let done = self.multi.add(ProgressBar::new_spinner());
                done.set_style(step_style());
                done.finish_with_message("success");
            }
        }
    }

    fn end_step(&mut self) {
        if let Some((_, spinner)) = self.step.take() {
            spinner.finish();
        }
    }

    /// Leaves everything drawn; unfinished bars stay where they stopped.
    fn end(&mut self, success: bool) {
        if let Some((_, spinner)) = self.step.take() {
            if success {
                spinner.finish();
            } else {
                spinner.abandon();
            }
        }
        for bar in self.layers.values() {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}

fn step_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg}")
        .map(|s| s.tick_strings(&["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏", "✓"]))
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn layer_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "  pulling {prefix}: {percent:>3}% [{bar:25}] {decimal_bytes}/{decimal_total_bytes}  {decimal_bytes_per_sec}  eta {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_ollamas() {
        assert_eq!(human_bytes(4_920_753_328), "4.9 GB");
        assert_eq!(human_bytes(42_520_413_916), "43 GB");
        assert_eq!(human_bytes(12_403), "12 KB");
        assert_eq!(human_bytes(96), "96 B");
        assert_eq!(human_bytes(0), "0 B");
    }

    #[test]
    fn names_are_cleaned_or_refused() {
        assert_eq!(model_name(" ollama/llama3.3 ").unwrap(), "llama3.3");
        assert_eq!(
            model_name("hf.co/org/repo:Q4_K_M").unwrap(),
            "hf.co/org/repo:Q4_K_M"
        );
        assert!(model_name("  ").is_err());
        assert!(model_name("llama 3").is_err());
    }

    #[test]
    fn plain_lines_appear_at_milestones_only() {
        let layer = |completed| LayerProgress {
            digest: "sha256:667b0c1932bc6ffc593ed1d03f895bf2dc8dc6df21db3042284a6f4416b06a29"
                .into(),
            total: 400,
            completed,
        };
        assert_eq!(
            plain_layer_line(&layer(0), 0),
            "pulling 667b0c1932bc:   0% of 400 B"
        );
        let mut plain = Plain::default();
        let mut milestones = Vec::new();
        for completed in [0, 10, 99, 100, 150, 390, 400, 400] {
            let before = plain.printed.get(&layer(0).digest).copied();
            plain.show(&PullEvent::Layer(layer(completed)));
            let after = plain.printed.get(&layer(0).digest).copied();
            if after != before {
                milestones.extend(after);
            }
        }
        assert_eq!(milestones, [0, 25, 75, 100]);
    }
}
