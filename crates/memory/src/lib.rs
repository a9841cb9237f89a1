//! Memory: what the agent wrote down, findable again.
//!
//! The agent keeps its long-term memory as Markdown in the workspace — `MEMORY.md` for durable
//! facts and `memory/YYYY-MM-DD.md` daily notes — exactly as the original OpenClaw does, so an
//! existing workspace works unchanged. Daily notes are never put into the prompt (a small
//! local model has no room for them); instead this crate indexes them, and the
//! `memory_search` tool finds the few lines that matter:
//!
//! - [`files`]: which files are memory, read beneath the workspace root;
//! - [`chunk`]: notes cut into line-ranged chunks;
//! - [`MemoryIndex`]: SQLite with an FTS5 table (BM25 keywords) and embedding vectors cached
//!   by text hash, updated incrementally;
//! - hybrid ranking: `vectorWeight × cosine + textWeight × BM25` (both 0–1), keyword-only when
//!   no embedding model is configured ([`MemorySettings`]).

pub mod chunk;
mod embedder;
pub mod files;
mod index;
mod settings;

use std::path::{Path, PathBuf};

pub use embedder::{EmbedFuture, Embedder, ModelEmbedder};
pub use index::{
    IndexStatus, MemoryIndex, SearchHit, SearchMode, SearchOptions, SyncProgress, SyncReport,
};
pub use settings::{
    resolve_settings, EmbeddingSettings, MemorySettings, ADD_EMBEDDING_MODEL_HINT,
    DEFAULT_MAX_RESULTS, DEFAULT_TEXT_WEIGHT, DEFAULT_VECTOR_WEIGHT,
};

/// Why the memory index could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("memory index {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("memory index {}: {message}\n  hint: it is only an index of your notes; delete it and run `openclaw memory index` to rebuild it", path.display())]
    Sqlite { path: PathBuf, message: String },
}

impl MemoryError {
    fn sqlite(path: &Path, e: rusqlite::Error) -> Self {
        MemoryError::Sqlite {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}

/// `<state>/memory/<agent>.sqlite`, where the original OpenClaw kept its memory index too.
pub fn index_path(state_dir: &Path, agent_id: &str) -> PathBuf {
    state_dir.join("memory").join(format!("{agent_id}.sqlite"))
}

impl MemorySettings {
    /// The search options these settings give, for `limit` results.
    pub fn search_options(&self, limit: usize) -> SearchOptions {
        SearchOptions {
            limit,
            vector_weight: self.vector_weight,
            text_weight: self.text_weight,
            min_score: self.min_score,
            mode: if self.embedding.is_some() {
                SearchMode::Hybrid
            } else {
                SearchMode::KeywordOnly
            },
        }
    }

    /// The embedder, when a model is configured.
    pub fn embedder(&self) -> Option<ModelEmbedder> {
        self.embedding.clone().map(ModelEmbedder::new)
    }
}
