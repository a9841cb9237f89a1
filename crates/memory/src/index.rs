//! The index itself: one SQLite file with the chunks, an FTS5 table over them, and a cache of
//! embedding vectors keyed by (chunk text hash, embedding model).
//!
//! Keying vectors by the text's hash, not by file and line, makes updates cheap: editing one
//! paragraph of a note re-embeds that paragraph's chunk only, and moving text around (a new
//! line at the top shifts every line number) re-embeds nothing. A different embedding model
//! has different keys, so switching models re-embeds everything once (and vectors of the old
//! model are dropped). The file is created 0600 in a 0700 directory: it holds the user's notes.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::{params, Connection, OptionalExtension};

use crate::chunk::{chunk_markdown, hash_hex};
use crate::embedder::Embedder;
use crate::files::{list_memory_files, read_memory_file};
use crate::MemoryError;

/// Bumped when the tables change shape: an index of another version is rebuilt.
const SCHEMA_VERSION: &str = "1";
/// Chunks sent to the embedding model per request.
const EMBED_BATCH: usize = 32;

/// An open memory index.
pub struct MemoryIndex {
    conn: Connection,
    path: PathBuf,
}

/// What `memory status` shows.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexStatus {
    pub files: usize,
    pub chunks: usize,
    /// Chunks that have a vector of `embedding_model`.
    pub embedded_chunks: usize,
    /// The model the vectors were made with, if any.
    pub embedding_model: Option<String>,
    pub dimensions: Option<usize>,
    /// The workspace the index was built from.
    pub workspace: Option<String>,
    /// When the last sync finished (ms since the epoch).
    pub synced_at_ms: Option<i64>,
    pub bytes: u64,
}

/// Progress of a sync, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncProgress {
    /// `done` of `total` files read and chunked.
    Files { done: usize, total: usize },
    /// `done` of `total` new chunks embedded.
    Embedding { done: usize, total: usize },
}

/// What a sync did.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    pub files: usize,
    pub changed_files: usize,
    pub removed_files: usize,
    pub chunks: usize,
    /// Chunks embedded by this sync (the rest had a cached vector).
    pub embedded_chunks: usize,
    pub embedding_model: Option<String>,
    /// Why vectors are missing: keyword-only, or the embedding request failed.
    pub embedding_error: Option<String>,
    /// Files left out (too big, too many).
    pub notes: Vec<String>,
    pub elapsed_ms: u64,
}

/// One search result.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    pub path: String,
    pub start_line: usize,
    pub end_line: usize,
    /// The hybrid score: `vectorWeight × vector + textWeight × keyword`.
    pub score: f64,
    /// Keyword score, 0–1 (BM25 relative to the best hit), when the keyword search found it.
    pub keyword: Option<f64>,
    /// Cosine similarity to the query, when the vector search found it.
    pub vector: Option<f64>,
    pub text: String,
}

impl SearchHit {
    /// `memory/2026-03-01.md#L3-L9`.
    pub fn citation(&self) -> String {
        if self.start_line == self.end_line {
            format!("{}#L{}", self.path, self.start_line)
        } else {
            format!("{}#L{}-L{}", self.path, self.start_line, self.end_line)
        }
    }
}

/// Which scores rank the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    Hybrid,
    KeywordOnly,
    VectorOnly,
}

/// How to search.
#[derive(Debug, Clone, Copy)]
pub struct SearchOptions {
    pub limit: usize,
    pub vector_weight: f64,
    pub text_weight: f64,
    pub min_score: f64,
    pub mode: SearchMode,
}

impl MemoryIndex {
    /// Opens (creating) the index at `path`: the directory 0700, the file 0600.
    pub fn open(path: &Path) -> Result<Self, MemoryError> {
        let io = |source| MemoryError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            create_private_dir(dir).map_err(io)?;
        }
        // Created by us first, so SQLite (which gives its journal files the database's mode)
        // never makes it with the umask's mode.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(path).map_err(io)?;
        let conn = Connection::open(path).map_err(|e| MemoryError::sqlite(path, e))?;
        let mut index = Self {
            conn,
            path: path.to_path_buf(),
        };
        index.prepare().map_err(|e| MemoryError::sqlite(path, e))?;
        Ok(index)
    }

    /// Where the index lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn prepare(&mut self) -> rusqlite::Result<()> {
        self.conn.busy_timeout(std::time::Duration::from_secs(10))?;
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);",
        )?;
        let version: Option<String> = self.meta("schema")?;
        if version.as_deref() != Some(SCHEMA_VERSION) {
            self.conn.execute_batch(
                "DROP TABLE IF EXISTS files; DROP TABLE IF EXISTS chunks;
                 DROP TABLE IF EXISTS chunks_fts; DROP TABLE IF EXISTS vectors;
                 DELETE FROM meta;",
            )?;
        }
        self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS files(
                 path TEXT PRIMARY KEY, hash TEXT NOT NULL, size INTEGER NOT NULL,
                 mtime_ms INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS chunks(
                 id INTEGER PRIMARY KEY, path TEXT NOT NULL, start_line INTEGER NOT NULL,
                 end_line INTEGER NOT NULL, hash TEXT NOT NULL, text TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS chunks_by_path ON chunks(path);
             CREATE INDEX IF NOT EXISTS chunks_by_hash ON chunks(hash);
             CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
                 text, path, tokenize = 'porter unicode61 remove_diacritics 2');
             CREATE TABLE IF NOT EXISTS vectors(
                 hash TEXT NOT NULL, model TEXT NOT NULL, dims INTEGER NOT NULL,
                 vector BLOB NOT NULL, PRIMARY KEY(hash, model));",
        )?;
        self.set_meta("schema", SCHEMA_VERSION)?;
        Ok(())
    }

    fn meta(&self, key: &str) -> rusqlite::Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
    }

    fn set_meta(&self, key: &str, value: &str) -> rusqlite::Result<()> {
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES(?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    fn sqlite(&self, e: rusqlite::Error) -> MemoryError {
        MemoryError::sqlite(&self.path, e)
    }

    /// Counts and the model in use.
    pub fn status(&self) -> Result<IndexStatus, MemoryError> {
        let inner = || -> rusqlite::Result<IndexStatus> {
            let count = |sql: &str| -> rusqlite::Result<usize> {
                self.conn
                    .query_row(sql, [], |r| r.get::<_, i64>(0))
                    .map(|n| usize::try_from(n).unwrap_or(0))
            };
            let model = self.meta("embedding_model")?;
            let (embedded, dims) = match &model {
                Some(m) => {
                    let embedded: i64 = self.conn.query_row(
                        "SELECT count(*) FROM chunks c JOIN vectors v
                         ON v.hash = c.hash AND v.model = ?1",
                        [m],
                        |r| r.get(0),
                    )?;
                    let dims: Option<i64> = self
                        .conn
                        .query_row(
                            "SELECT dims FROM vectors WHERE model = ?1 LIMIT 1",
                            [m],
                            |r| r.get(0),
                        )
                        .optional()?;
                    (
                        usize::try_from(embedded).unwrap_or(0),
                        dims.and_then(|d| usize::try_from(d).ok()),
                    )
                }
                None => (0, None),
            };
            Ok(IndexStatus {
                files: count("SELECT count(*) FROM files")?,
                chunks: count("SELECT count(*) FROM chunks")?,
                embedded_chunks: embedded,
                embedding_model: model,
                dimensions: dims,
                workspace: self.meta("workspace")?,
                synced_at_ms: self.meta("synced_at_ms")?.and_then(|v| v.parse().ok()),
                bytes: 0,
            })
        };
        let mut status = inner().map_err(|e| self.sqlite(e))?;
        status.bytes = ["", "-wal"]
            .iter()
            .filter_map(|suffix| {
                let mut p = self.path.as_os_str().to_owned();
                p.push(suffix);
                std::fs::metadata(PathBuf::from(p)).ok()
            })
            .map(|m| m.len())
            .sum();
        Ok(status)
    }

    /// Brings the index up to date with the memory files of `workspace`: re-chunks changed
    /// files, drops removed ones, and embeds chunks that have no vector of `embedder`'s model
    /// yet. `force` re-reads every file. Without an embedder, or when embedding fails, the
    /// keyword index is still complete; the report says what is missing.
    pub async fn sync(
        &mut self,
        workspace: &Path,
        embedder: Option<&dyn Embedder>,
        force: bool,
        progress: &mut (dyn FnMut(SyncProgress) + Send),
    ) -> Result<SyncReport, MemoryError> {
        let started = Instant::now();
        let mut report = SyncReport::default();
        // Kept out of this async fn: its borrows of the connection must not live across an
        // await (the connection is not Sync).
        self.sync_files(workspace, force, progress, &mut report)?;

        // Vectors: every chunk without one of this model's.
        match embedder {
            None => {
                self.conn
                    .execute("DELETE FROM meta WHERE key = 'embedding_model'", [])
                    .map_err(|e| self.sqlite(e))?;
            }
            Some(embedder) => {
                let model = embedder.identity();
                report.embedding_model = Some(model.clone());
                if self
                    .meta("embedding_model")
                    .map_err(|e| self.sqlite(e))?
                    .as_deref()
                    != Some(model.as_str())
                {
                    // Another model's vectors are never compared with this one's.
                    self.conn
                        .execute("DELETE FROM vectors WHERE model <> ?1", [&model])
                        .map_err(|e| self.sqlite(e))?;
                    self.set_meta("embedding_model", &model)
                        .map_err(|e| self.sqlite(e))?;
                }
                let missing = self.missing_vectors(&model)?;
                let total = missing.len();
                for batch in missing.chunks(EMBED_BATCH) {
                    progress(SyncProgress::Embedding {
                        done: report.embedded_chunks,
                        total,
                    });
                    let texts: Vec<String> = batch.iter().map(|(_, t)| t.clone()).collect();
                    match embedder.embed(&texts).await {
                        Ok(vectors) => {
                            self.store_vectors(&model, batch, &vectors)?;
                            report.embedded_chunks += batch.len();
                        }
                        Err(e) => {
                            report.embedding_error = Some(e);
                            break;
                        }
                    }
                }
                progress(SyncProgress::Embedding {
                    done: report.embedded_chunks,
                    total,
                });
                // Vectors of text no chunk has any more.
                self.conn
                    .execute(
                        "DELETE FROM vectors WHERE hash NOT IN (SELECT hash FROM chunks)",
                        [],
                    )
                    .map_err(|e| self.sqlite(e))?;
            }
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        self.set_meta("synced_at_ms", &now.to_string())
            .map_err(|e| self.sqlite(e))?;
        report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(report)
    }

    /// The file half of [`MemoryIndex::sync`]: chunks and keywords up to date.
    fn sync_files(
        &mut self,
        workspace: &Path,
        force: bool,
        progress: &mut (dyn FnMut(SyncProgress) + Send),
        report: &mut SyncReport,
    ) -> Result<(), MemoryError> {
        let root = workspace
            .canonicalize()
            .unwrap_or_else(|_| workspace.to_path_buf());
        let root_text = root.display().to_string();
        let (files, notes) = list_memory_files(&root).map_err(|source| MemoryError::Io {
            path: root.clone(),
            source,
        })?;
        report.notes = notes;
        report.files = files.len();
        let moved = self
            .meta("workspace")
            .map_err(|e| self.sqlite(e))?
            .as_deref()
            != Some(root_text.as_str());
        let known: HashMap<String, (String, i64, i64)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT path, hash, size, mtime_ms FROM files")
                .map_err(|e| self.sqlite(e))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
                })
                .map_err(|e| self.sqlite(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.sqlite(e))?
        };

        // Files: read those whose size or time changed (all with `force` or a moved workspace),
        // re-chunk those whose content changed.
        let total = files.len();
        let tx = self
            .conn
            .transaction()
            .map_err(|e| MemoryError::sqlite(&self.path, e))?;
        let present: HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
        for path in known.keys() {
            if !present.contains(path.as_str()) || moved {
                delete_file(&tx, path).map_err(|e| MemoryError::sqlite(&self.path, e))?;
                if !present.contains(path.as_str()) {
                    report.removed_files += 1;
                }
            }
        }
        for (i, file) in files.iter().enumerate() {
            progress(SyncProgress::Files { done: i + 1, total });
            let size = i64::try_from(file.size).unwrap_or(i64::MAX);
            let previous = if moved { None } else { known.get(&file.path) };
            if !force && previous.is_some_and(|(_, s, m)| *s == size && *m == file.mtime_ms) {
                continue;
            }
            let Ok(text) = read_memory_file(&root, &file.path) else {
                report
                    .notes
                    .push(format!("{}: could not be read, left out", file.path));
                continue;
            };
            let hash = hash_hex(text.as_bytes());
            if previous.is_some_and(|(h, _, _)| *h == hash) {
                tx.execute(
                    "UPDATE files SET size = ?2, mtime_ms = ?3 WHERE path = ?1",
                    params![file.path, size, file.mtime_ms],
                )
                .map_err(|e| MemoryError::sqlite(&self.path, e))?;
                continue;
            }
            report.changed_files += 1;
            replace_file(&tx, &file.path, &hash, size, file.mtime_ms, &text)
                .map_err(|e| MemoryError::sqlite(&self.path, e))?;
        }
        let set = |key: &str, value: &str| {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES(?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
        };
        set("workspace", &root_text).map_err(|e| MemoryError::sqlite(&self.path, e))?;
        tx.commit()
            .map_err(|e| MemoryError::sqlite(&self.path, e))?;
        report.chunks = self.status()?.chunks;
        Ok(())
    }

    /// (hash, text) of every distinct chunk text without a vector of `model`.
    fn missing_vectors(&self, model: &str) -> Result<Vec<(String, String)>, MemoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.hash, min(c.text) FROM chunks c
                 WHERE NOT EXISTS (SELECT 1 FROM vectors v WHERE v.hash = c.hash AND v.model = ?1)
                 GROUP BY c.hash ORDER BY min(c.id)",
            )
            .map_err(|e| self.sqlite(e))?;
        let rows = stmt
            .query_map([model], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.sqlite(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.sqlite(e))
    }

    fn store_vectors(
        &mut self,
        model: &str,
        batch: &[(String, String)],
        vectors: &[Vec<f32>],
    ) -> Result<(), MemoryError> {
        let tx = self
            .conn
            .transaction()
            .map_err(|e| MemoryError::sqlite(&self.path, e))?;
        for ((hash, _), vector) in batch.iter().zip(vectors) {
            tx.execute(
                "INSERT OR REPLACE INTO vectors(hash, model, dims, vector) VALUES(?1, ?2, ?3, ?4)",
                params![hash, model, vector.len() as i64, to_blob(vector)],
            )
            .map_err(|e| MemoryError::sqlite(&self.path, e))?;
        }
        tx.commit().map_err(|e| MemoryError::sqlite(&self.path, e))
    }

    /// The best chunks for `query`. `query_vector` (the query embedded with the index's model)
    /// enables the vector half; without it the search is keyword-only whatever `options` say.
    pub fn search(
        &self,
        query: &str,
        query_vector: Option<&[f32]>,
        options: &SearchOptions,
    ) -> Result<Vec<SearchHit>, MemoryError> {
        let limit = options.limit.max(1);
        let pool = (limit * 10).max(50);
        let use_keyword = options.mode != SearchMode::VectorOnly;
        let use_vector = options.mode != SearchMode::KeywordOnly && query_vector.is_some();
        let mut scores: HashMap<i64, (Option<f64>, Option<f64>)> = HashMap::new();
        if use_keyword {
            for (id, score) in self.keyword_scores(query, pool)? {
                scores.entry(id).or_default().0 = Some(score);
            }
        }
        if let (true, Some(qv)) = (use_vector, query_vector) {
            for (id, score) in self.vector_scores(qv, pool)? {
                scores.entry(id).or_default().1 = Some(score);
            }
        }
        let (wv, wt) = match (use_keyword, use_vector) {
            (true, true) => (options.vector_weight, options.text_weight),
            (false, true) => (1.0, 0.0),
            _ => (0.0, 1.0),
        };
        let total = (wv + wt).max(f64::EPSILON);
        let mut ranked: Vec<(i64, f64, Option<f64>, Option<f64>)> = scores
            .into_iter()
            .map(|(id, (kw, vec))| {
                let score = (wv * vec.unwrap_or(0.0) + wt * kw.unwrap_or(0.0)) / total;
                (id, score, kw, vec)
            })
            .filter(|(_, score, _, _)| *score >= options.min_score && *score > 0.0)
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(limit);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT path, start_line, end_line, text FROM chunks WHERE id = ?1")
            .map_err(|e| self.sqlite(e))?;
        let mut hits = Vec::with_capacity(ranked.len());
        for (id, score, keyword, vector) in ranked {
            let hit = stmt
                .query_row([id], |r| {
                    Ok(SearchHit {
                        path: r.get(0)?,
                        start_line: usize::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                        end_line: usize::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                        score,
                        keyword,
                        vector,
                        text: r.get(3)?,
                    })
                })
                .map_err(|e| self.sqlite(e))?;
            hits.push(hit);
        }
        Ok(hits)
    }

    /// BM25 over the FTS table, as 0–1 relative to the best match.
    fn keyword_scores(&self, query: &str, pool: usize) -> Result<Vec<(i64, f64)>, MemoryError> {
        let Some(fts) = fts_query(query) else {
            return Ok(Vec::new());
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT rowid, bm25(chunks_fts, 1.0, 0.5) AS rank FROM chunks_fts
                 WHERE chunks_fts MATCH ?1 ORDER BY rank LIMIT ?2",
            )
            .map_err(|e| self.sqlite(e))?;
        let rows = stmt
            .query_map(params![fts, pool as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?))
            })
            .map_err(|e| self.sqlite(e))?;
        let raw: Vec<(i64, f64)> = rows
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.sqlite(e))?;
        // bm25() is negative, lower is better.
        let best = raw.iter().map(|(_, r)| -r).fold(0.0_f64, f64::max);
        if best <= 0.0 {
            return Ok(Vec::new());
        }
        Ok(raw.into_iter().map(|(id, r)| (id, (-r) / best)).collect())
    }

    /// Cosine similarity of every embedded chunk with the query, best first.
    fn vector_scores(&self, query: &[f32], pool: usize) -> Result<Vec<(i64, f64)>, MemoryError> {
        let Some(model) = self.meta("embedding_model").map_err(|e| self.sqlite(e))? else {
            return Ok(Vec::new());
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT c.id, v.vector FROM chunks c JOIN vectors v
                 ON v.hash = c.hash AND v.model = ?1",
            )
            .map_err(|e| self.sqlite(e))?;
        let rows = stmt
            .query_map([&model], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(|e| self.sqlite(e))?;
        let qnorm = norm(query);
        let mut scored = Vec::new();
        for row in rows {
            let (id, blob) = row.map_err(|e| self.sqlite(e))?;
            let v = from_blob(&blob);
            if v.len() != query.len() || qnorm == 0.0 {
                continue;
            }
            let dot: f64 = v
                .iter()
                .zip(query)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum();
            let n = norm(&v);
            if n > 0.0 {
                scored.push((id, (dot / (n * qnorm)).max(0.0)));
            }
        }
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.truncate(pool);
        Ok(scored)
    }
}

/// `dir` and its missing parents, each new one 0700 (existing ones keep their mode).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn delete_file(tx: &rusqlite::Transaction<'_>, path: &str) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE path = ?1)",
        [path],
    )?;
    tx.execute("DELETE FROM chunks WHERE path = ?1", [path])?;
    tx.execute("DELETE FROM files WHERE path = ?1", [path])?;
    Ok(())
}

fn replace_file(
    tx: &rusqlite::Transaction<'_>,
    path: &str,
    hash: &str,
    size: i64,
    mtime_ms: i64,
    text: &str,
) -> rusqlite::Result<()> {
    delete_file(tx, path)?;
    tx.execute(
        "INSERT INTO files(path, hash, size, mtime_ms) VALUES(?1, ?2, ?3, ?4)",
        params![path, hash, size, mtime_ms],
    )?;
    for chunk in chunk_markdown(text) {
        tx.execute(
            "INSERT INTO chunks(path, start_line, end_line, hash, text) VALUES(?1, ?2, ?3, ?4, ?5)",
            params![
                path,
                chunk.start_line as i64,
                chunk.end_line as i64,
                chunk.hash,
                chunk.text
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO chunks_fts(rowid, text, path) VALUES(?1, ?2, ?3)",
            params![id, chunk.text, path],
        )?;
    }
    Ok(())
}

/// Words too common to tell notes apart; left out of keyword queries.
const STOPWORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "did", "do", "does", "for", "from", "had",
    "has", "have", "how", "i", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our", "so",
    "that", "the", "their", "there", "this", "to", "us", "was", "we", "were", "what", "when",
    "where", "which", "who", "why", "will", "with", "you", "your",
];

/// The FTS5 query for free text: each word quoted (so no FTS syntax comes from the user),
/// joined with OR; BM25 then favours chunks matching more and rarer words.
fn fts_query(query: &str) -> Option<String> {
    let mut seen = HashSet::new();
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| !w.is_empty() && !STOPWORDS.contains(&w.as_str()))
        .filter(|w| seen.insert(w.clone()))
        .take(32)
        .map(|w| format!("\"{w}\""))
        .collect();
    (!words.is_empty()).then(|| words.join(" OR "))
}

fn norm(v: &[f32]) -> f64 {
    v.iter()
        .map(|x| f64::from(*x) * f64::from(*x))
        .sum::<f64>()
        .sqrt()
}

fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_queries_quote_words_and_drop_stopwords() {
        assert_eq!(
            fts_query("What is the wifi password?").unwrap(),
            "\"wifi\" OR \"password\""
        );
        assert_eq!(fts_query("\"NEAR(\" OR *").unwrap(), "\"near\"");
        assert!(fts_query("what is it?").is_none());
    }

    #[test]
    fn vectors_round_trip_through_blobs() {
        let v = vec![0.5_f32, -1.25, 3.0];
        assert_eq!(from_blob(&to_blob(&v)), v);
    }
}
