//! `openclaw memory status | index | search`: the memory index from the command line.
//!
//! The same index and search the agent's `memory_search` tool uses (`openclaw_memory`), so
//! what a person finds here is what the model finds. Indexing shows its progress on stderr
//! (a bar on a terminal, a line per phase otherwise); results go to stdout, as JSON with
//! `--json`.

use crate::exit::Exit;
use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context as _, Result};
use openclaw_config::{vars, DEFAULT_AGENT_ID};
use openclaw_memory::{
    Embedder, IndexStatus, MemoryIndex, MemorySettings, SearchHit, SearchMode, SyncProgress,
    SyncReport,
};
use serde::Serialize;

use crate::args::{MemoryCommand, SearchModeArg};
use crate::context::{runtime, Context};
use crate::output::{self, paint, BOLD, DIM, GOOD};

pub fn run(ctx: &Context, cmd: MemoryCommand) -> Result<Exit> {
    let loaded = ctx.load_config()?;
    let env = &ctx.env;
    let settings = openclaw_memory::resolve_settings(&loaded.config, env);
    let home = ctx.env.get(vars::HOME).map(std::path::PathBuf::from);
    let workspace = openclaw_agent::workspace_dir(&loaded.config, &ctx.paths, home.as_deref());
    let index_path = openclaw_memory::index_path(&ctx.paths.state_dir, DEFAULT_AGENT_ID);
    let memory = Memory {
        settings,
        workspace,
        index_path,
    };
    match cmd {
        MemoryCommand::Status { json } => memory.status(ctx, json),
        MemoryCommand::Index { force, json } => memory.index(ctx, force, json),
        MemoryCommand::Search {
            query,
            max_results,
            mode,
            json,
        } => memory.search(ctx, &query.join(" "), max_results, mode, json),
    }
}

struct Memory {
    settings: MemorySettings,
    workspace: std::path::PathBuf,
    index_path: std::path::PathBuf,
}

impl Memory {
    fn open(&self) -> Result<MemoryIndex> {
        Ok(MemoryIndex::open(&self.index_path)?)
    }

    fn embedding_json(&self) -> Option<EmbeddingJson<'_>> {
        self.settings.embedding.as_ref().map(|e| EmbeddingJson {
            provider: &e.provider,
            model: &e.model,
            url: &e.endpoint.base_url,
        })
    }

    fn status(&self, ctx: &Context, as_json: bool) -> Result<Exit> {
        let status = if self.index_path.exists() {
            Some(self.open()?.status()?)
        } else {
            None
        };
        if as_json {
            output::json(&StatusJson {
                enabled: self.settings.enabled,
                workspace: &self.workspace,
                index: &self.index_path,
                embedding: self.embedding_json(),
                keyword_only_reason: self.settings.keyword_only_reason.as_deref(),
                weights: WeightsJson {
                    vector: self.settings.vector_weight,
                    text: self.settings.text_weight,
                },
                max_results: self.settings.max_results,
                status,
            })?;
            return Ok(Exit::Success);
        }
        let onoff = if self.settings.enabled {
            paint(GOOD, "on")
        } else {
            paint(output::WARN, "off (memory.search.enabled is false)")
        };
        output::out(format!("{} {onoff}", paint(BOLD, "Memory search:")));
        output::out(format!("  workspace   {}", ctx.show_path(&self.workspace)));
        output::out(format!("  index       {}", ctx.show_path(&self.index_path)));
        match &self.settings.embedding {
            Some(e) => output::out(format!(
                "  embeddings  {} via {} ({})",
                e.model, e.provider, e.endpoint.base_url
            )),
            None => output::out(format!(
                "  embeddings  none: keyword search only — {}\n              for search by meaning too: {}",
                self.settings
                    .keyword_only_reason
                    .as_deref()
                    .unwrap_or("no embedding model"),
                openclaw_memory::ADD_EMBEDDING_MODEL_HINT
            )),
        }
        output::out(format!(
            "  ranking     {:.2} × vector + {:.2} × keyword, {} results",
            self.settings.vector_weight, self.settings.text_weight, self.settings.max_results
        ));
        match status {
            None => output::out(format!(
                "  {}",
                paint(DIM, "not indexed yet: `openclaw memory index` builds it")
            )),
            Some(s) => print_status(&s),
        }
        Ok(Exit::Success)
    }

    fn sync(&self, index: &mut MemoryIndex, force: bool, quiet: bool) -> Result<SyncReport> {
        let embedder = self.settings.embedder();
        let embedder = embedder.as_ref().map(|e| e as &dyn Embedder);
        let rt = runtime()?;
        let mut progress = Progress::new(quiet, embedder.map(|e| e.identity()));
        let report = rt.block_on(index.sync(&self.workspace, embedder, force, &mut |p| {
            progress.update(p)
        }))?;
        progress.finish();
        Ok(report)
    }

    fn index(&self, ctx: &Context, force: bool, as_json: bool) -> Result<Exit> {
        if !self.settings.enabled {
            output::warn("memory.search.enabled is false: the agent has no memory tools, but the index is built anyway");
        }
        let mut index = self.open()?;
        let report = self.sync(&mut index, force, as_json)?;
        for note in &report.notes {
            output::warn(note);
        }
        if as_json {
            output::json(&IndexJson {
                report: &report,
                status: index.status()?,
            })?;
        } else {
            output::out(format!(
                "indexed {} memory files from {}: {} changed, {} removed; {} chunks, {} embedded now ({:.1} s)",
                report.files,
                ctx.show_path(&self.workspace),
                report.changed_files,
                report.removed_files,
                report.chunks,
                report.embedded_chunks,
                report.elapsed_ms as f64 / 1000.0
            ));
            if report.embedding_model.is_none() {
                output::out(format!(
                    "  {}",
                    paint(
                        DIM,
                        format!(
                            "keyword search only: {}",
                            self.settings.keyword_only_reason.as_deref().unwrap_or("")
                        )
                    )
                ));
            }
        }
        if let Some(e) = &report.embedding_error {
            output::warn(format!(
                "embedding failed, so search is keyword-only until it works: {e}\n  hint: is the model pulled (`ollama pull {}`) and the server up?",
                self.settings
                    .embedding
                    .as_ref()
                    .map_or("MODEL", |e| e.model.as_str())
            ));
            return Ok(Exit::Failure);
        }
        Ok(Exit::Success)
    }

    fn search(
        &self,
        _ctx: &Context,
        query: &str,
        max_results: Option<usize>,
        mode: Option<SearchModeArg>,
        as_json: bool,
    ) -> Result<Exit> {
        if query.trim().is_empty() {
            anyhow::bail!("give the text to search for: `openclaw memory search \"what we decided about the trip\"`");
        }
        let mut index = self.open()?;
        let report = self.sync(&mut index, false, true)?;
        let mut note = report.embedding_error.clone();
        let embedder = self.settings.embedder();
        let query_vector = match (&embedder, &note) {
            (Some(e), None) => {
                let rt = runtime()?;
                match rt.block_on(e.embed(&[query.to_owned()])) {
                    Ok(mut v) => v.pop(),
                    Err(why) => {
                        note = Some(why);
                        None
                    }
                }
            }
            _ => None,
        };
        let mut options = self
            .settings
            .search_options(max_results.unwrap_or(self.settings.max_results));
        if let Some(m) = mode {
            options.mode = match m {
                SearchModeArg::Hybrid => SearchMode::Hybrid,
                SearchModeArg::Keyword => SearchMode::KeywordOnly,
                SearchModeArg::Vector => SearchMode::VectorOnly,
            };
        }
        if options.mode == SearchMode::VectorOnly && query_vector.is_none() {
            anyhow::bail!(
                "vector search needs an embedding model: {}",
                note.as_deref()
                    .or(self.settings.keyword_only_reason.as_deref())
                    .unwrap_or("none configured")
            );
        }
        let mode_used = match (options.mode, query_vector.is_some()) {
            (SearchMode::VectorOnly, _) => "vector",
            (SearchMode::Hybrid, true) => "hybrid",
            _ => "keyword",
        };
        let hits = index
            .search(query, query_vector.as_deref(), &options)
            .context("searching the memory index")?;
        if let Some(why) = &note {
            output::warn(format!(
                "the embedding model failed, keyword results only: {why}"
            ));
        }
        if as_json {
            output::json(&SearchJson {
                query,
                mode: mode_used,
                embedding_model: report.embedding_model.as_deref(),
                results: hits.iter().map(HitJson::from).collect(),
            })?;
            return Ok(Exit::Success);
        }
        if hits.is_empty() {
            output::out(paint(
                DIM,
                format!("no notes match \"{query}\" ({mode_used} search)"),
            ));
            return Ok(Exit::Success);
        }
        for hit in &hits {
            let parts: Vec<String> = [("vector", hit.vector), ("keyword", hit.keyword)]
                .iter()
                .filter_map(|(n, s)| s.map(|s| format!("{n} {s:.2}")))
                .collect();
            output::out(format!(
                "{}  {:.2}  {}",
                paint(output::PATH, hit.citation()),
                hit.score,
                paint(DIM, parts.join(", "))
            ));
            for line in openclaw_untrusted::terminal::text(hit.text.trim())
                .lines()
                .take(6)
            {
                output::out(format!("    {line}"));
            }
        }
        Ok(Exit::Success)
    }
}

/// `openclaw memory status --json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusJson<'a> {
    enabled: bool,
    workspace: &'a Path,
    index: &'a Path,
    embedding: Option<EmbeddingJson<'a>>,
    keyword_only_reason: Option<&'a str>,
    weights: WeightsJson,
    max_results: usize,
    /// `None` before the first `memory index`.
    status: Option<IndexStatus>,
}

#[derive(Serialize)]
struct EmbeddingJson<'a> {
    provider: &'a str,
    model: &'a str,
    url: &'a str,
}

#[derive(Serialize)]
struct WeightsJson {
    vector: f64,
    text: f64,
}

/// `openclaw memory index --json`.
#[derive(Serialize)]
struct IndexJson<'a> {
    report: &'a SyncReport,
    status: IndexStatus,
}

/// `openclaw memory search --json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SearchJson<'a> {
    query: &'a str,
    mode: &'a str,
    embedding_model: Option<&'a str>,
    results: Vec<HitJson<'a>>,
}

/// One search hit, scores rounded to four decimals.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HitJson<'a> {
    citation: String,
    path: &'a str,
    start_line: usize,
    end_line: usize,
    score: f64,
    vector: Option<f64>,
    keyword: Option<f64>,
    text: &'a str,
}

impl<'a> From<&'a SearchHit> for HitJson<'a> {
    fn from(hit: &'a SearchHit) -> Self {
        Self {
            citation: hit.citation(),
            path: &hit.path,
            start_line: hit.start_line,
            end_line: hit.end_line,
            score: round(hit.score),
            vector: hit.vector.map(round),
            keyword: hit.keyword.map(round),
            text: &hit.text,
        }
    }
}

/// Four decimals: enough to rank, stable enough to compare.
fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn print_status(s: &IndexStatus) {
    output::out(format!(
        "  indexed     {} files, {} chunks, {} with vectors{}",
        s.files,
        s.chunks,
        s.embedded_chunks,
        match (&s.embedding_model, s.dimensions) {
            (Some(m), Some(d)) => format!(" ({m}, {d} dimensions)"),
            (Some(m), None) => format!(" ({m})"),
            _ => String::new(),
        }
    ));
    if s.embedding_model.is_some() && s.embedded_chunks < s.chunks {
        output::out(format!(
            "  {}",
            paint(
                output::WARN,
                format!(
                    "{} chunks have no vector yet: `openclaw memory index` embeds them",
                    s.chunks - s.embedded_chunks
                )
            )
        ));
    }
    output::out(format!("  size        {} KiB", s.bytes.div_ceil(1024)));
}

/// Indexing progress on stderr: a bar on a terminal, a line per phase otherwise.
struct Progress {
    quiet: bool,
    bar: Option<indicatif::ProgressBar>,
    model: Option<String>,
    embedding_told: bool,
}

impl Progress {
    fn new(quiet: bool, model: Option<String>) -> Self {
        Self {
            quiet,
            bar: None,
            model,
            embedding_told: false,
        }
    }

    fn update(&mut self, p: SyncProgress) {
        if self.quiet {
            return;
        }
        let terminal = std::io::stderr().is_terminal();
        match p {
            SyncProgress::Files { done, total } => {
                if terminal {
                    let bar = self.bar.get_or_insert_with(|| bar(total as u64, "reading"));
                    bar.set_position(done as u64);
                }
            }
            SyncProgress::Embedding { done, total } => {
                if total == 0 {
                    return;
                }
                if !self.embedding_told {
                    self.embedding_told = true;
                    if let Some(b) = self.bar.take() {
                        b.finish_and_clear();
                    }
                    let model = self.model.as_deref().unwrap_or("the embedding model");
                    if terminal {
                        self.bar = Some(bar(total as u64, &format!("embedding with {model}")));
                    } else {
                        errln!("embedding {total} chunks with {model}…");
                    }
                }
                if let Some(b) = &self.bar {
                    b.set_position(done as u64);
                }
            }
        }
    }

    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

fn bar(total: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} {bar:30} {pos}/{len}") {
        bar.set_style(style);
    }
    bar.set_message(what.to_owned());
    bar
}
