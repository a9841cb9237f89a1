//! `memory_search` and `memory_get`: the agent's way back into its notes.
//!
//! Daily notes never go into the prompt; the model asks for what it needs. Before each search
//! the index is brought up to date (cheap when nothing changed: a stat per file), so a note
//! the model wrote a moment ago is already findable. Output is bounded: a few snippets with
//! `path#Lstart-Lend` and a score, or a range of lines of one memory file.

use std::path::PathBuf;

use openclaw_llm::{ToolCall, ToolSpec};
use openclaw_memory::{Embedder, MemoryIndex, MemorySettings, ModelEmbedder, SearchHit};
use serde_json::{json, Value};

use crate::tools::ToolOutcome;

/// Most characters of one snippet in `memory_search`'s answer.
const SNIPPET_CHARS: usize = 600;
/// Most results one search returns, whatever the call asks.
const MAX_RESULTS: usize = 10;
/// Lines `memory_get` returns when the call names none; and the most it returns.
const DEFAULT_GET_LINES: usize = 60;
const MAX_GET_LINES: usize = 300;
/// Most characters `memory_get` returns.
const MAX_GET_CHARS: usize = 12_000;

/// The memory tools of one agent.
pub struct MemoryTools {
    settings: MemorySettings,
    index_path: PathBuf,
    workspace: PathBuf,
    embedder: Option<ModelEmbedder>,
}

impl MemoryTools {
    pub fn new(settings: MemorySettings, index_path: PathBuf, workspace: PathBuf) -> Self {
        let embedder = settings.embedder();
        Self {
            settings,
            index_path,
            workspace,
            embedder,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &MemorySettings {
        &self.settings
    }

    /// The two tools' schemas.
    pub fn specs() -> Vec<ToolSpec> {
        vec![
            ToolSpec {
                name: "memory_search".into(),
                description: "Search your notes (MEMORY.md, memory/*.md) by meaning and keywords. Returns snippets with path#Lstart-Lend.".into(),
                parameters: json!({
                    "type": "object",
                    "properties": {
                        "query": {"type": "string", "description": "What to look for"},
                        "maxResults": {"type": "integer", "description": "How many snippets (default 6)"}
                    },
                    "required": ["query"]
                }),
            },
            ToolSpec {
                name: "memory_get".into(),
                description: "Read lines of a memory file (MEMORY.md or memory/...md).".into(),
                parameters: json!({
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "description": "e.g. memory/2026-03-01.md"},
                        "from": {"type": "integer", "description": "First line (1-based)"},
                        "lines": {"type": "integer", "description": "How many lines"}
                    },
                    "required": ["path"]
                }),
            },
        ]
    }

    /// Runs `call` if it is a memory tool; `None` for any other tool.
    pub async fn run(&self, call: &ToolCall) -> Option<ToolOutcome> {
        let result = match call.name.as_str() {
            "memory_search" => self.search(&call.arguments).await,
            "memory_get" => self.get(&call.arguments),
            _ => return None,
        };
        Some(match result {
            Ok(text) => ToolOutcome::ok(text),
            Err(text) => ToolOutcome::error(text),
        })
    }

    async fn search(&self, args: &Value) -> Result<String, String> {
        let query = match args.get("query") {
            Some(Value::String(q)) if !q.trim().is_empty() => q.trim().to_owned(),
            _ => return Err("`memory_search`: give `query`, the text to look for".into()),
        };
        let limit = args
            .get("maxResults")
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            })
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n > 0)
            .unwrap_or(self.settings.max_results)
            .min(MAX_RESULTS);
        let (hits, note) = self.find(&query, limit).await?;
        Ok(render_hits(&query, &hits, note.as_deref()))
    }

    /// Syncs the index, then searches it; the note says why vectors were not used.
    pub async fn find(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<(Vec<SearchHit>, Option<String>), String> {
        let mut index = MemoryIndex::open(&self.index_path).map_err(|e| e.to_string())?;
        let embedder = self.embedder.as_ref().map(|e| e as &dyn Embedder);
        let report = index
            .sync(&self.workspace, embedder, false, &mut |_| {})
            .await
            .map_err(|e| e.to_string())?;
        let mut note = report.embedding_error.clone();
        let query_vector = match embedder {
            Some(e) if note.is_none() => match e.embed(&[query.to_owned()]).await {
                Ok(mut v) => v.pop(),
                Err(why) => {
                    note = Some(why);
                    None
                }
            },
            _ => None,
        };
        let hits = index
            .search(
                query,
                query_vector.as_deref(),
                &self.settings.search_options(limit),
            )
            .map_err(|e| e.to_string())?;
        Ok((hits, note))
    }

    fn get(&self, args: &Value) -> Result<String, String> {
        let path = match args.get("path") {
            Some(Value::String(p)) => p.trim().trim_start_matches("./").to_owned(),
            _ => return Err("`memory_get`: give `path`, e.g. `memory/2026-03-01.md`".into()),
        };
        if !openclaw_memory::files::is_memory_path(&path) {
            return Err(format!(
                "`memory_get`: `{path}` is not a memory file; it reads MEMORY.md and memory/*.md (use `read` for other files)"
            ));
        }
        let number = |name: &str| {
            args.get(name)
                .and_then(|v| {
                    v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                })
                .and_then(|n| usize::try_from(n).ok())
        };
        let from = number("from").unwrap_or(1).max(1);
        let count = number("lines")
            .unwrap_or(DEFAULT_GET_LINES)
            .clamp(1, MAX_GET_LINES);
        let text = openclaw_memory::files::read_memory_file(&self.workspace, &path).map_err(
            |e| match e.kind() {
                std::io::ErrorKind::NotFound => format!("`memory_get`: `{path}` does not exist"),
                _ => format!("`memory_get`: `{path}`: {e}"),
            },
        )?;
        let total = text.lines().count();
        if from > total.max(1) {
            return Err(format!(
                "`memory_get`: `{path}` has {total} lines; `from` {from} is past the end"
            ));
        }
        let mut out = String::new();
        let mut last = from - 1;
        for (i, line) in text.lines().enumerate().skip(from - 1).take(count) {
            if out.len() + line.len() > MAX_GET_CHARS {
                break;
            }
            out.push_str(line);
            out.push('\n');
            last = i + 1;
        }
        let mut header = format!("{path}#L{from}-L{last} ({total} lines)\n");
        if last < total {
            out.push_str(&format!(
                "[more: call memory_get with from {} for the next lines]",
                last + 1
            ));
        }
        header.push_str(&out);
        Ok(header)
    }
}

/// The answer to the model: one block per hit, best first.
fn render_hits(query: &str, hits: &[SearchHit], note: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(why) = note {
        out.push_str(&format!(
            "(keyword search only: the embedding model failed: {})\n",
            crate::tools::truncate(why, 200)
        ));
    }
    if hits.is_empty() {
        out.push_str(&format!("no notes match \"{query}\""));
        return out;
    }
    for hit in hits {
        let snippet = crate::tools::truncate(hit.text.trim(), SNIPPET_CHARS);
        out.push_str(&format!(
            "{} (score {:.2})\n{snippet}\n\n",
            hit.citation(),
            hit.score
        ));
    }
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Value) -> ToolCall {
        ToolCall {
            id: "c".into(),
            name: name.into(),
            raw_arguments: args.to_string(),
            arguments: args,
            arguments_error: None,
        }
    }

    #[tokio::test]
    async fn keyword_search_and_get_with_bounds() {
        let ws = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        std::fs::create_dir(ws.path().join("memory")).unwrap();
        let lines: Vec<String> = (1..=400).map(|i| format!("line {i}")).collect();
        std::fs::write(ws.path().join("memory/long.md"), lines.join("\n")).unwrap();
        std::fs::write(
            ws.path().join("memory/2026-03-02.md"),
            "# Dinner\n\nBooked Marcello's for Friday.\n",
        )
        .unwrap();
        let tools = MemoryTools::new(
            MemorySettings::default(),
            openclaw_memory::index_path(state.path(), "main"),
            ws.path().to_path_buf(),
        );
        let out = tools
            .run(&call("memory_search", json!({"query": "Marcello"})))
            .await
            .unwrap();
        assert!(!out.is_error, "{}", out.content);
        assert!(
            out.content
                .starts_with("memory/2026-03-02.md#L1-L3 (score 1.00)"),
            "{}",
            out.content
        );
        let out = tools
            .run(&call(
                "memory_get",
                json!({"path": "memory/long.md", "from": 390}),
            ))
            .await
            .unwrap();
        assert!(out
            .content
            .starts_with("memory/long.md#L390-L400 (400 lines)"));
        let out = tools
            .run(&call("memory_get", json!({"path": "memory/long.md"})))
            .await
            .unwrap();
        assert!(out.content.contains("call memory_get with from 61"));
        let out = tools
            .run(&call("memory_get", json!({"path": "../secret.md"})))
            .await
            .unwrap();
        assert!(out.is_error && out.content.contains("not a memory file"));
        assert!(tools.run(&call("read", json!({}))).await.is_none());
    }
}
