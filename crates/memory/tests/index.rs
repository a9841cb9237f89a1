//! The memory index on real files, with the real embedding model of the project's local
//! backend (all-MiniLM-L6-v2 served by llama.cpp behind the Ollama-shaped front): incremental
//! updates re-embed only what changed, a model change re-embeds everything, search finds notes
//! by meaning and by keyword. Without the backend the embedding tests skip loudly (fail under
//! CI); the keyword-only ones always run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use openclaw_config::ApiKind;
use openclaw_llm::Endpoint;
use openclaw_memory::{
    EmbedFuture, Embedder, EmbeddingSettings, MemoryIndex, ModelEmbedder, SearchMode,
    SearchOptions, SyncProgress,
};
use openclaw_test_support::local_backend::{LocalBackend, INSTALL_HINT};
use openclaw_test_support::requirement::missing;

const MODEL: &str = "all-minilm:l6-v2";

fn backend() -> Option<LocalBackend> {
    match LocalBackend::acquire() {
        Ok(b) => Some(b),
        Err(why) => {
            missing(
                &format!(
                    "the local model backend (with its embedding model) could not start: {why}"
                ),
                INSTALL_HINT,
            );
            None
        }
    }
}

fn embedder(backend: &LocalBackend, model: &str) -> ModelEmbedder {
    ModelEmbedder::new(EmbeddingSettings {
        provider: "ollama".into(),
        model: model.into(),
        endpoint: Endpoint {
            api: ApiKind::Ollama,
            base_url: backend.url(),
            api_key: None,
            headers: BTreeMap::new(),
            idle_timeout: Duration::from_secs(120),
        },
    })
}

/// The same model under another name: what a model change looks like to the index.
struct Renamed<'a>(&'a ModelEmbedder, &'static str);

impl Embedder for Renamed<'_> {
    fn identity(&self) -> String {
        self.1.to_owned()
    }
    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
        self.0.embed(texts)
    }
}

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "MEMORY.md",
        "# Long-term\n\nThe user's partner is called Robin.\nThey live in Ghent.\n",
    );
    write(
        root,
        "memory/2026-03-01.md",
        "# 2026-03-01\n\nFixed the leaking kitchen faucet with a new washer.\n",
    );
    write(
        root,
        "memory/2026-03-02.md",
        "# 2026-03-02\n\nBooked a table at Marcello's for Robin's birthday, Friday 8 pm.\n",
    );
    write(
        root,
        "memory/projects/bike.md",
        "# Bike\n\nThe road bike needs new brake pads; part number SH-R55C4.\n",
    );
    dir
}

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn options(mode: SearchMode) -> SearchOptions {
    SearchOptions {
        limit: 3,
        vector_weight: 0.7,
        text_weight: 0.3,
        min_score: 0.0,
        mode,
    }
}

fn no_progress() -> impl FnMut(SyncProgress) + Send {
    |_| {}
}

#[test]
fn keyword_only_index_finds_words_keeps_line_ranges_and_is_private() {
    let ws = workspace();
    let state = tempfile::tempdir().unwrap();
    let path = openclaw_memory::index_path(state.path(), "main");
    let mut index = MemoryIndex::open(&path).unwrap();
    let report = block_on(index.sync(ws.path(), None, false, &mut no_progress())).unwrap();
    assert_eq!((report.files, report.changed_files), (4, 4));
    assert_eq!(report.embedded_chunks, 0);
    let hits = index
        .search("brake pads part number", None, &options(SearchMode::Hybrid))
        .unwrap();
    assert_eq!(hits[0].path, "memory/projects/bike.md");
    assert_eq!(hits[0].citation(), "memory/projects/bike.md#L1-L3");
    assert!(hits[0].vector.is_none());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }
    // A second sync with nothing changed reads nothing; a removed file leaves the index.
    let report = block_on(index.sync(ws.path(), None, false, &mut no_progress())).unwrap();
    assert_eq!(report.changed_files, 0);
    std::fs::remove_file(ws.path().join("memory/projects/bike.md")).unwrap();
    let report = block_on(index.sync(ws.path(), None, false, &mut no_progress())).unwrap();
    assert_eq!((report.files, report.removed_files), (3, 1));
    assert!(index
        .search("brake pads", None, &options(SearchMode::Hybrid))
        .unwrap()
        .is_empty());
}

#[test]
fn real_embeddings_are_incremental_and_a_model_change_re_embeds_everything() {
    let Some(backend) = backend() else {
        return;
    };
    let ws = workspace();
    let state = tempfile::tempdir().unwrap();
    let mut index = MemoryIndex::open(&openclaw_memory::index_path(state.path(), "main")).unwrap();
    let model = embedder(&backend, MODEL);
    let mut seen = Vec::new();
    let report =
        block_on(index.sync(ws.path(), Some(&model), false, &mut |p| seen.push(p))).unwrap();
    assert_eq!(report.embedding_error, None);
    assert_eq!(report.embedded_chunks, report.chunks);
    assert!(seen.contains(&SyncProgress::Embedding {
        done: report.chunks,
        total: report.chunks
    }));
    let status = index.status().unwrap();
    assert_eq!(status.embedded_chunks, status.chunks);
    assert_eq!(status.dimensions, Some(384));
    assert_eq!(
        status.embedding_model.as_deref(),
        Some("ollama/all-minilm:l6-v2")
    );

    // By meaning: no word of the question is in the note.
    let query = "restaurant reservation for my partner's celebration";
    let qv = block_on(model.embed(&[query.to_owned()])).unwrap();
    let hits = index
        .search(query, Some(&qv[0]), &options(SearchMode::VectorOnly))
        .unwrap();
    assert_eq!(hits[0].path, "memory/2026-03-02.md", "{hits:#?}");
    assert!(hits[0].vector.unwrap() > 0.0);

    // One note edited: only its chunk is embedded again; unchanged text moved down a line
    // keeps its vector.
    write(
        ws.path(),
        "memory/2026-03-01.md",
        "# 2026-03-01\n\nFixed the leaking kitchen faucet with a new washer. It took an hour.\n",
    );
    write(
        ws.path(),
        "MEMORY.md",
        "\n# Long-term\n\nThe user's partner is called Robin.\nThey live in Ghent.\n",
    );
    let report = block_on(index.sync(ws.path(), Some(&model), false, &mut no_progress())).unwrap();
    assert_eq!(report.changed_files, 2);
    assert_eq!(report.embedded_chunks, 1, "{report:#?}");
    let hits = index
        .search("Robin", None, &options(SearchMode::KeywordOnly))
        .unwrap();
    assert_eq!(hits[0].citation(), "MEMORY.md#L2-L5");

    // Another model: every chunk is embedded again, and status names the new model.
    let other = Renamed(&model, "ollama/other-embedder");
    let report = block_on(index.sync(ws.path(), Some(&other), false, &mut no_progress())).unwrap();
    assert_eq!(report.embedded_chunks, report.chunks);
    let status = index.status().unwrap();
    assert_eq!(
        status.embedding_model.as_deref(),
        Some("ollama/other-embedder")
    );
    assert_eq!(status.embedded_chunks, status.chunks);
}

#[test]
fn an_unreachable_embedding_model_leaves_a_complete_keyword_index_and_says_why() {
    let ws = workspace();
    let state = tempfile::tempdir().unwrap();
    let mut index = MemoryIndex::open(&openclaw_memory::index_path(state.path(), "main")).unwrap();
    let dead = ModelEmbedder::new(EmbeddingSettings {
        provider: "ollama".into(),
        model: MODEL.into(),
        endpoint: Endpoint {
            api: ApiKind::Ollama,
            base_url: "http://127.0.0.1:9".into(),
            api_key: None,
            headers: BTreeMap::new(),
            idle_timeout: Duration::from_secs(5),
        },
    });
    let report = block_on(index.sync(ws.path(), Some(&dead), false, &mut no_progress())).unwrap();
    let error = report.embedding_error.unwrap();
    assert!(error.contains("127.0.0.1:9"), "{error}");
    assert_eq!(report.chunks, 4);
    assert_eq!(
        index
            .search("faucet", None, &options(SearchMode::Hybrid))
            .unwrap()[0]
            .path,
        "memory/2026-03-01.md"
    );
}

/// An `openai-completions` provider gets its vectors from `{baseUrl}/embeddings`: the same
/// model through the front's `/v1/embeddings` gives the same ranking as through `/api/embed`.
#[test]
fn the_openai_wire_embeds_through_v1_embeddings() {
    let Some(backend) = backend() else {
        return;
    };
    let openai = ModelEmbedder::new(EmbeddingSettings {
        provider: "local".into(),
        model: MODEL.into(),
        endpoint: Endpoint {
            api: ApiKind::OpenAiCompletions,
            base_url: format!("{}/v1", backend.url()),
            api_key: Some("unused".into()),
            headers: BTreeMap::new(),
            idle_timeout: Duration::from_secs(120),
        },
    });
    let native = embedder(&backend, MODEL);
    let texts = vec![
        "the leaking kitchen faucet".to_owned(),
        "a birthday dinner".to_owned(),
    ];
    let a = block_on(openai.embed(&texts)).unwrap();
    let b = block_on(native.embed(&texts)).unwrap();
    assert_eq!((a.len(), a[0].len()), (2, 384));
    for (x, y) in a.iter().zip(&b) {
        let dot: f32 = x.iter().zip(y).map(|(p, q)| p * q).sum();
        assert!(dot > 0.999, "the two wires disagree: cosine {dot}");
    }
    let ws = workspace();
    let state = tempfile::tempdir().unwrap();
    let mut index = MemoryIndex::open(&openclaw_memory::index_path(state.path(), "main")).unwrap();
    let report = block_on(index.sync(ws.path(), Some(&openai), false, &mut no_progress())).unwrap();
    assert_eq!(report.embedding_error, None);
    assert_eq!(report.embedded_chunks, report.chunks);
    let query = "who fixed the tap";
    let qv = block_on(openai.embed(&[query.to_owned()])).unwrap();
    let hits = index
        .search(query, Some(&qv[0]), &options(SearchMode::Hybrid))
        .unwrap();
    assert_eq!(hits[0].path, "memory/2026-03-01.md", "{hits:#?}");
}
