//! `openclaw-bench memory`: recall of memory search on a year of daily notes.
//!
//! The set (`data/memory-recall/`, made by its `generate.py`) is 220 daily notes and 64
//! questions whose answer lies in exactly one note. Each question is searched keyword-only,
//! vector-only and hybrid (the default weights, then a few others for comparison); recall@5 is
//! the share of questions whose note is among the first five results. Vectors come from the
//! local backend's real embedding model (all-MiniLM-L6-v2 through the Ollama-shaped front,
//! `scripts/local-llm`), the same way the agent gets them. Index time is a full build from an
//! empty index (reading, chunking, FTS, embedding) and an incremental sync after one note
//! changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use openclaw_config::ApiKind;
use openclaw_llm::Endpoint;
use openclaw_memory::{
    Embedder, EmbeddingSettings, MemoryIndex, ModelEmbedder, SearchMode, SearchOptions,
    DEFAULT_TEXT_WEIGHT, DEFAULT_VECTOR_WEIGHT,
};
use openclaw_test_support::local_backend::LocalBackend;

const MODEL: &str = "all-minilm:l6-v2";

#[derive(serde::Deserialize)]
struct Question {
    question: String,
    note: String,
}

pub fn run(runs: usize) -> Result<(), String> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/memory-recall");
    let questions: Vec<Question> = serde_json::from_str(
        &std::fs::read_to_string(data.join("questions.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let backend = LocalBackend::acquire()?;
    let embedder = ModelEmbedder::new(EmbeddingSettings {
        provider: "ollama".into(),
        model: MODEL.into(),
        endpoint: Endpoint {
            api: ApiKind::Ollama,
            base_url: backend.url(),
            api_key: None,
            headers: BTreeMap::new(),
            idle_timeout: Duration::from_secs(300),
        },
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;

    let tmp = std::env::temp_dir().join(format!("openclaw-bench-memory-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(tmp.clone());
    let workspace = tmp.join("workspace");
    copy_dir(&data.join("memory"), &workspace.join("memory"))?;
    let notes = std::fs::read_dir(workspace.join("memory"))
        .map_err(|e| e.to_string())?
        .count();

    // Index time: full builds from scratch (median of `runs`), then one incremental sync.
    let mut builds = Vec::new();
    let mut index_path = PathBuf::new();
    for run in 0..runs.max(1) {
        index_path = tmp.join(format!("index-{run}.sqlite"));
        let mut index = MemoryIndex::open(&index_path).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let report = rt
            .block_on(index.sync(&workspace, Some(&embedder), false, &mut |_| {}))
            .map_err(|e| e.to_string())?;
        builds.push(started.elapsed());
        if let Some(e) = report.embedding_error {
            return Err(format!("embedding failed: {e}"));
        }
    }
    builds.sort();
    let mut index = MemoryIndex::open(&index_path).map_err(|e| e.to_string())?;
    let status = index.status().map_err(|e| e.to_string())?;
    let changed = workspace.join("memory/2026-02-14.md");
    let mut text = std::fs::read_to_string(&changed).map_err(|e| e.to_string())?;
    text.push_str("- Bought tulips on the way home.\n");
    std::fs::write(&changed, text).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let incremental = rt
        .block_on(index.sync(&workspace, Some(&embedder), false, &mut |_| {}))
        .map_err(|e| e.to_string())?;
    let incremental_time = started.elapsed();

    // The questions, embedded once.
    let texts: Vec<String> = questions.iter().map(|q| q.question.clone()).collect();
    let started = Instant::now();
    let mut vectors = Vec::new();
    for batch in texts.chunks(32) {
        vectors.extend(rt.block_on(embedder.embed(batch))?);
    }
    let embed_queries = started.elapsed();

    let recall = |mode: SearchMode, vw: f64, tw: f64| -> Result<(usize, f64), String> {
        let options = SearchOptions {
            limit: 5,
            vector_weight: vw,
            text_weight: tw,
            min_score: 0.0,
            mode,
        };
        let mut found = 0;
        let mut reciprocal = 0.0;
        for (q, v) in questions.iter().zip(&vectors) {
            let hits = index
                .search(&q.question, Some(v), &options)
                .map_err(|e| e.to_string())?;
            let mut seen = Vec::new();
            for h in &hits {
                if !seen.contains(&h.path) {
                    seen.push(h.path.clone());
                }
            }
            if let Some(rank) = seen.iter().position(|p| *p == q.note) {
                found += 1;
                reciprocal += 1.0 / (rank as f64 + 1.0);
            }
        }
        Ok((found, reciprocal / questions.len() as f64))
    };

    println!(
        "data: {notes} notes ({} chunks), {} questions; embedding model {MODEL} ({} dimensions) via the local backend",
        status.chunks,
        questions.len(),
        status.dimensions.unwrap_or(0)
    );
    println!(
        "index: full build {:.2} s (median of {}; {} chunks embedded), incremental after one edited note {:.3} s ({} chunk embedded); {} questions embedded in {:.2} s\n",
        builds[builds.len() / 2].as_secs_f64(),
        builds.len(),
        status.chunks,
        incremental_time.as_secs_f64(),
        incremental.embedded_chunks,
        questions.len(),
        embed_queries.as_secs_f64()
    );
    println!("| ranking | recall@5 | MRR@5 |");
    println!("|---|---|---|");
    let n = questions.len();
    let row = |name: String, (found, mrr): (usize, f64)| {
        println!(
            "| {name} | {found}/{n} = {:.1} % | {mrr:.3} |",
            100.0 * found as f64 / n as f64
        );
    };
    row(
        "keyword only (BM25)".into(),
        recall(SearchMode::KeywordOnly, 0.0, 1.0)?,
    );
    row(
        "vector only (cosine)".into(),
        recall(SearchMode::VectorOnly, 1.0, 0.0)?,
    );
    row(
        format!("**hybrid, default {DEFAULT_VECTOR_WEIGHT} × vector + {DEFAULT_TEXT_WEIGHT} × keyword**"),
        recall(SearchMode::Hybrid, DEFAULT_VECTOR_WEIGHT, DEFAULT_TEXT_WEIGHT)?,
    );
    for (vw, tw) in [(0.5, 0.5), (0.3, 0.7), (0.9, 0.1)] {
        row(
            format!("hybrid, {vw} × vector + {tw} × keyword"),
            recall(SearchMode::Hybrid, vw, tw)?,
        );
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| e.to_string())?;
    for entry in std::fs::read_dir(from).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        std::fs::copy(entry.path(), to.join(entry.file_name())).map_err(|e| e.to_string())?;
    }
    Ok(())
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
