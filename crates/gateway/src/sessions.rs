//! Reading transcripts for the page: the session list and one session's history.
//!
//! Read-only and forgiving, like the CLI's reader: a torn last line (a crash mid-write) or a
//! line from a newer version is skipped, never fatal; a missing session is `not_found`, and
//! nothing here creates a file.

use std::path::Path;
use std::time::UNIX_EPOCH;

use openclaw_agent::Entry;
use openclaw_llm::Role;
use serde_json::{json, Value};

use crate::error::GatewayError;
use crate::run::valid_session_id;

/// Characters of the first user message shown as a session's title.
const TITLE_CHARS: usize = 80;
/// Sessions listed at most (newest first).
const MAX_LISTED: usize = 500;

/// `sessions.list`: `{sessions: [{sessionId, title, updatedAt, messages}]}`, newest first.
pub fn list_sessions(dir: &Path) -> Value {
    let mut found: Vec<(u64, String, std::path::PathBuf)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".jsonl"))
            else {
                continue;
            };
            if !valid_session_id(id) {
                continue;
            }
            let modified = entry
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as u64);
            found.push((modified, id.to_string(), path));
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    found.truncate(MAX_LISTED);
    let sessions: Vec<Value> = found
        .into_iter()
        .map(|(updated, id, path)| {
            let entries = read_entries(&path).unwrap_or_default();
            let title = entries
                .iter()
                .find_map(|e| match e {
                    Entry::Message {
                        role: Role::User,
                        content,
                        ..
                    } => Some(title_of(content)),
                    _ => None,
                })
                .unwrap_or_default();
            let messages = entries
                .iter()
                .filter(|e| history_message(e).is_some())
                .count();
            json!({"sessionId": id, "title": title, "updatedAt": updated, "messages": messages})
        })
        .collect();
    json!({ "sessions": sessions })
}

/// `chat.history`: `{sessionId, messages: [...]}`.
pub fn session_history(dir: &Path, session_id: &str) -> Result<Value, GatewayError> {
    if !valid_session_id(session_id) {
        return Err(GatewayError::BadRequest(format!(
            "invalid session id `{session_id}`: use letters, digits, `.`, `_` and `-` (at most 128)"
        )));
    }
    let path = dir.join(format!("{session_id}.jsonl"));
    let entries = read_entries(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            GatewayError::NotFound {
                what: "session",
                id: session_id.to_string(),
            }
        } else {
            GatewayError::Internal(format!("cannot read {}: {e}", path.display()))
        }
    })?;
    let messages: Vec<Value> = entries.iter().filter_map(history_message).collect();
    Ok(json!({ "sessionId": session_id, "messages": messages }))
}

/// The entries of a transcript, skipping lines that do not parse.
fn read_entries(path: &Path) -> std::io::Result<Vec<Entry>> {
    let bytes = std::fs::read(path)?;
    Ok(String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
        .collect())
}

/// One transcript entry as the page shows it; `None` for bookkeeping entries.
fn history_message(e: &Entry) -> Option<Value> {
    match e {
        Entry::Message {
            role,
            content,
            tool_calls,
            thinking,
            model,
            ts,
        } => {
            let role = match role {
                Role::User => "user",
                Role::Assistant => "assistant",
                _ => return None,
            };
            let mut m = json!({"role": role, "content": content, "ts": ts});
            if let Some(t) = thinking {
                m["thinking"] = json!(t);
            }
            if !tool_calls.is_empty() {
                m["toolCalls"] = Value::Array(
                    tool_calls
                        .iter()
                        .map(|c| {
                            let arguments = if c.arguments.is_null() {
                                Value::String(c.raw_arguments.clone())
                            } else {
                                c.arguments.clone()
                            };
                            json!({"id": c.id, "name": c.name, "arguments": arguments})
                        })
                        .collect(),
                );
            }
            if let Some(model) = model {
                m["model"] = json!(model);
            }
            Some(m)
        }
        Entry::ToolResult {
            tool_call_id,
            tool_name,
            content,
            is_error,
            ts,
        } => Some(json!({
            "role": "tool",
            "content": content,
            "toolCallId": tool_call_id,
            "toolName": tool_name,
            "isError": is_error,
            "ts": ts,
        })),
        _ => None,
    }
}

/// The first line-ish of a message, at most [`TITLE_CHARS`] characters.
fn title_of(content: &str) -> String {
    let flat: String = content.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= TITLE_CHARS {
        flat
    } else {
        let mut t: String = flat.chars().take(TITLE_CHARS - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openclaw_agent::Session;

    #[test]
    fn lists_and_reads_cli_transcripts() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Session::open(dir.path(), "s1", dir.path()).unwrap();
        let long = "x ".repeat(100);
        s.append(Entry::Message {
            role: Role::User,
            content: long.clone(),
            tool_calls: vec![],
            thinking: None,
            model: None,
            ts: 5,
        })
        .unwrap();
        s.append(Entry::Message {
            role: Role::Assistant,
            content: "hi".into(),
            tool_calls: vec![],
            thinking: Some("hmm".into()),
            model: Some("ollama/m".into()),
            ts: 6,
        })
        .unwrap();
        drop(s);
        // A torn line and a stray file are ignored.
        let path = dir.path().join("s1.jsonl");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"type\":\"mess");
        std::fs::write(&path, text).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();

        let list = list_sessions(dir.path());
        let sessions = list["sessions"].as_array().unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0]["sessionId"], "s1");
        assert_eq!(sessions[0]["messages"], 2);
        assert_eq!(sessions[0]["title"].as_str().unwrap().chars().count(), 80);

        let h = session_history(dir.path(), "s1").unwrap();
        assert_eq!(h["messages"][1]["thinking"], "hmm");
        assert_eq!(h["messages"][1]["model"], "ollama/m");
        assert!(matches!(
            session_history(dir.path(), "nope"),
            Err(GatewayError::NotFound { .. })
        ));
        assert!(matches!(
            session_history(dir.path(), "../etc"),
            Err(GatewayError::BadRequest(_))
        ));
        assert!(list_sessions(&dir.path().join("missing"))["sessions"]
            .as_array()
            .unwrap()
            .is_empty());
    }
}
