//! Reading transcripts for the protocol: the session list and one session's history.
//!
//! Read-only and forgiving, like the CLI's reader: a torn last line (a crash mid-write) or a
//! line from a newer version is skipped, never fatal; a missing session is `not_found`, and
//! nothing here creates a file.
//!
//! Memory per request does not grow with the transcript: the history is read backward from the
//! end, up to [`HISTORY_MESSAGES`] messages and [`HISTORY_BYTES`] bytes; the list reads each
//! file's head for the title and counts messages while streaming through it.

use std::path::Path;
use std::time::UNIX_EPOCH;

use openclaw_agent::Entry;
use openclaw_llm::Role;
use serde_json::Value;

use crate::error::GatewayError;
use crate::protocol::{ContentPart, TranscriptMessage};
use crate::run::valid_session_id;

/// Characters of the first user message shown as a session's title.
const TITLE_CHARS: usize = 80;
/// Sessions listed at most (newest first).
const MAX_LISTED: usize = 500;
/// Messages `chat.history` returns at most (the newest).
pub const HISTORY_MESSAGES: usize = 500;
/// Bytes of transcript `chat.history` reads at most, from the end.
pub const HISTORY_BYTES: u64 = 8 * 1024 * 1024;
/// A line longer than this is left out of the history (a huge tool result, say).
const MAX_LINE: usize = 1024 * 1024;
/// Bytes of a transcript's head searched for its title.
const TITLE_HEAD: u64 = 64 * 1024;
/// Read size of the streaming readers.
const CHUNK: usize = 64 * 1024;

/// One transcript, as the session list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub session_id: String,
    /// The first user message, at most 80 characters; `None` before there is one.
    pub title: Option<String>,
    /// Last modified, in milliseconds since the epoch.
    pub updated_at: u64,
    /// Messages and tool results.
    pub messages: usize,
}

/// The transcripts in `dir`, newest first (at most 500).
pub fn list_sessions(dir: &Path) -> Vec<SessionInfo> {
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
            let modified = modified_ms(&entry);
            found.push((modified, id.to_string(), path));
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    found.truncate(MAX_LISTED);
    found
        .into_iter()
        .map(|(updated_at, session_id, path)| {
            let title = head_entries(&path, TITLE_HEAD)
                .unwrap_or_default()
                .iter()
                .find_map(|e| match e {
                    Entry::Message {
                        role: Role::User,
                        content,
                        ..
                    } => Some(title_of(content)),
                    _ => None,
                });
            SessionInfo {
                messages: count_messages(&path).unwrap_or(0),
                session_id,
                title,
                updated_at,
            }
        })
        .collect()
}

/// When a directory entry last changed, in ms since the epoch (0 when unknown).
fn modified_ms(entry: &std::fs::DirEntry) -> u64 {
    entry
        .metadata()
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64)
}

/// How many transcripts `dir` holds and the `n` most recently changed (id, modified ms),
/// newest first: only the directory and file times are read.
pub fn recent_sessions(dir: &Path, n: usize) -> (usize, Vec<(String, u64)>) {
    let mut found: Vec<(String, u64)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".jsonl")) else {
                continue;
            };
            if !valid_session_id(id) {
                continue;
            }
            let modified = modified_ms(&entry);
            found.push((id.to_string(), modified));
        }
    }
    let count = found.len();
    found.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    found.truncate(n);
    (count, found)
}

/// One transcript's list entry; `None` when it does not exist.
pub fn describe_session(dir: &Path, session_id: &str) -> Option<SessionInfo> {
    if !valid_session_id(session_id) {
        return None;
    }
    let path = dir.join(format!("{session_id}.jsonl"));
    let meta = std::fs::metadata(&path).ok()?;
    let updated_at = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64);
    let title = head_entries(&path, TITLE_HEAD)
        .unwrap_or_default()
        .iter()
        .find_map(|e| match e {
            Entry::Message {
                role: Role::User,
                content,
                ..
            } => Some(title_of(content)),
            _ => None,
        });
    Some(SessionInfo {
        session_id: session_id.to_string(),
        title,
        updated_at,
        messages: count_messages(&path).unwrap_or(0),
    })
}

/// Moves a transcript aside as `<id>.jsonl.<why>-<ms>` (the original keeps the conversation
/// of a reset or deleted session too); false when there was none.
pub fn retire_session(dir: &Path, session_id: &str, why: &str) -> Result<bool, GatewayError> {
    if !valid_session_id(session_id) {
        return Err(GatewayError::BadRequest(format!(
            "invalid session id `{session_id}`"
        )));
    }
    let path = dir.join(format!("{session_id}.jsonl"));
    let aside = dir.join(format!(
        "{session_id}.jsonl.{why}-{}",
        openclaw_agent::now_ms()
    ));
    match std::fs::rename(&path, &aside) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(GatewayError::Internal(format!(
            "cannot move {} aside: {e}",
            path.display()
        ))),
    }
}

/// One session's newest messages.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub messages: Vec<TranscriptMessage>,
    /// Older messages exist that are not in `messages`.
    pub truncated: bool,
    /// Whether the transcript exists at all.
    pub exists: bool,
}

/// `chat.history`: the newest `limit` messages (at most [`HISTORY_MESSAGES`]). A session with
/// no transcript yet has no messages.
pub fn session_history(
    dir: &Path,
    session_id: &str,
    limit: usize,
) -> Result<History, GatewayError> {
    if !valid_session_id(session_id) {
        return Err(GatewayError::BadRequest(format!(
            "invalid session id `{session_id}`: use letters, digits, `.`, `_` and `-` (at most 128)"
        )));
    }
    let limit = limit.clamp(1, HISTORY_MESSAGES);
    let path = dir.join(format!("{session_id}.jsonl"));
    let (entries, truncated) = match tail_entries(&path, limit, HISTORY_BYTES) {
        Ok(found) => found,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(History {
                messages: Vec::new(),
                truncated: false,
                exists: false,
            })
        }
        Err(e) => {
            return Err(GatewayError::Internal(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    let mut messages: Vec<TranscriptMessage> = entries.iter().filter_map(history_message).collect();
    let cut = messages.len().saturating_sub(limit);
    messages.drain(..cut);
    Ok(History {
        truncated: truncated || cut > 0,
        messages,
        exists: true,
    })
}

/// The entries in the first `max_bytes` of a transcript (a line cut there is left out).
fn head_entries(path: &Path, max_bytes: u64) -> std::io::Result<Vec<Entry>> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path)?
        .take(max_bytes)
        .read_to_end(&mut head)?;
    let complete = head.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    Ok(String::from_utf8_lossy(&head[..complete])
        .lines()
        .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
        .collect())
}

/// Conversation entries (messages and tool results) in a transcript, counted while streaming
/// through it: lines that start like one.
fn count_messages(path: &Path) -> std::io::Result<usize> {
    use std::io::Read;
    const STARTS: [&[u8]; 2] = [b"{\"type\":\"message\"", b"{\"type\":\"tool_result\""];
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; CHUNK];
    // The start of the current line, kept until it is long enough to decide.
    let mut line_start: Vec<u8> = Vec::with_capacity(32);
    let mut at_line_start = true;
    let mut count = 0;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            if b == b'\n' {
                at_line_start = true;
                line_start.clear();
                continue;
            }
            if at_line_start {
                line_start.push(b);
                if let Some(prefix) = STARTS.iter().find(|p| p.len() == line_start.len()) {
                    if line_start == *prefix {
                        count += 1;
                        at_line_start = false;
                    }
                }
                if line_start.len() >= STARTS.iter().map(|p| p.len()).max().unwrap_or(0) {
                    at_line_start = false;
                }
            }
        }
    }
    Ok(count)
}

/// The newest entries of a transcript, read backward from its end: at most `max_entries`
/// conversation entries and `max_bytes` bytes. Also says whether older ones were left.
fn tail_entries(
    path: &Path,
    max_entries: usize,
    max_bytes: u64,
) -> std::io::Result<(Vec<Entry>, bool)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let floor = size.saturating_sub(max_bytes);
    let mut pos = size;
    // Bytes after the last newline seen so far (a line being assembled right to left).
    let mut pending: Vec<u8> = Vec::new();
    let mut skipping = false; // the current line is too long: dropped
    let mut newest_first: Vec<Entry> = Vec::new();
    let mut conversation = 0;
    let mut buf = vec![0u8; CHUNK];
    let take_line = |line: &[u8], out: &mut Vec<Entry>, conversation: &mut usize| {
        if let Ok(entry) = serde_json::from_slice::<Entry>(line) {
            if history_message(&entry).is_some() {
                *conversation += 1;
            }
            out.push(entry);
        }
    };
    while pos > floor && conversation < max_entries {
        let len = ((pos - floor) as usize).min(CHUNK);
        pos -= len as u64;
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut buf[..len])?;
        let mut end = len;
        while let Some(nl) = buf[..end].iter().rposition(|b| *b == b'\n') {
            if !skipping {
                let mut line = buf[nl + 1..end].to_vec();
                line.extend_from_slice(&pending);
                if !line.is_empty() {
                    take_line(&line, &mut newest_first, &mut conversation);
                }
            }
            pending.clear();
            skipping = false;
            end = nl;
            if conversation >= max_entries {
                break;
            }
        }
        if conversation >= max_entries {
            break;
        }
        if !skipping {
            let mut joined = buf[..end].to_vec();
            joined.extend_from_slice(&pending);
            pending = joined;
            if pending.len() > MAX_LINE {
                pending.clear();
                skipping = true;
            }
        }
    }
    // The first line of the file has no newline before it.
    if pos == 0 && !skipping && !pending.is_empty() && conversation < max_entries {
        take_line(&pending, &mut newest_first, &mut conversation);
    }
    let truncated = pos > 0 || conversation >= max_entries;
    newest_first.reverse();
    Ok((newest_first, truncated))
}

/// One transcript entry as clients render it; `None` for bookkeeping entries.
fn history_message(e: &Entry) -> Option<TranscriptMessage> {
    match e {
        Entry::Message {
            role,
            content,
            tool_calls,
            thinking,
            model,
            ts,
        } => match role {
            Role::User => Some(TranscriptMessage::User {
                content: content.clone(),
                timestamp: *ts,
            }),
            Role::Assistant => {
                let mut parts = Vec::new();
                if let Some(t) = thinking.as_ref().filter(|t| !t.is_empty()) {
                    parts.push(ContentPart::Thinking {
                        thinking: t.clone(),
                    });
                }
                if !content.is_empty() {
                    parts.push(ContentPart::Text {
                        text: content.clone(),
                    });
                }
                for c in tool_calls {
                    parts.push(ContentPart::ToolCall {
                        id: c.id.clone(),
                        name: c.name.clone(),
                        arguments: if c.arguments.is_null() {
                            Value::String(c.raw_arguments.clone())
                        } else {
                            c.arguments.clone()
                        },
                    });
                }
                let (provider, model) = match model.as_deref().map(split_model) {
                    Some((p, m)) => (p, Some(m)),
                    None => (None, None),
                };
                Some(TranscriptMessage::Assistant {
                    content: parts,
                    timestamp: *ts,
                    provider,
                    model,
                    stop_reason: None,
                    usage: None,
                })
            }
            _ => None,
        },
        Entry::ToolResult {
            tool_call_id,
            tool_name,
            content,
            is_error,
            ts,
        } => Some(TranscriptMessage::ToolResult {
            tool_call_id: tool_call_id.clone(),
            tool_name: tool_name.clone(),
            content: vec![ContentPart::Text {
                text: content.clone(),
            }],
            is_error: *is_error,
            timestamp: *ts,
        }),
        _ => None,
    }
}

/// `ollama/llama3.3:latest` → (`ollama`, `llama3.3:latest`); a ref without a provider keeps
/// it whole.
pub fn split_model(model: &str) -> (Option<String>, String) {
    match model.split_once('/') {
        Some((p, m)) if !p.is_empty() && !m.is_empty() => (Some(p.to_string()), m.to_string()),
        _ => (None, model.to_string()),
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

        let sessions = list_sessions(dir.path());
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0].session_id, "s1");
        assert_eq!(sessions[0].messages, 2);
        assert_eq!(sessions[0].title.as_ref().unwrap().chars().count(), 80);

        let h = session_history(dir.path(), "s1", 100).unwrap();
        assert!(h.exists);
        assert_eq!(
            h.messages[1],
            TranscriptMessage::Assistant {
                content: vec![
                    ContentPart::Thinking {
                        thinking: "hmm".into()
                    },
                    ContentPart::Text { text: "hi".into() }
                ],
                timestamp: 6,
                provider: Some("ollama".into()),
                model: Some("m".into()),
                stop_reason: None,
                usage: None,
            }
        );
        let none = session_history(dir.path(), "nope", 100).unwrap();
        assert!(!none.exists && none.messages.is_empty());
        assert!(matches!(
            session_history(dir.path(), "../etc", 100),
            Err(GatewayError::BadRequest(_))
        ));
        let newest = session_history(dir.path(), "s1", 1).unwrap();
        assert_eq!(newest.messages.len(), 1);
        assert!(newest.truncated);
        assert!(list_sessions(&dir.path().join("missing")).is_empty());
    }

    fn message_line(i: usize) -> String {
        let e = Entry::Message {
            role: if i.is_multiple_of(2) {
                Role::User
            } else {
                Role::Assistant
            },
            content: format!("m{i}"),
            tool_calls: vec![],
            thinking: None,
            model: None,
            ts: i as u64,
        };
        format!("{}\n", serde_json::to_string(&e).unwrap())
    }

    #[test]
    fn history_is_read_from_the_end_in_bounded_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.jsonl");
        // 1 GB of transcript without a line break (sparse: no disk used), then real lines, one
        // of them longer than a line may be.
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(1 << 30).unwrap();
        drop(f);
        let mut tail = String::from("\n");
        for i in 0..700 {
            tail.push_str(&message_line(i));
            if i == 650 {
                let huge = Entry::ToolResult {
                    tool_call_id: "c".into(),
                    tool_name: "read".into(),
                    content: "x".repeat(2 * MAX_LINE),
                    is_error: false,
                    ts: 1,
                };
                tail.push_str(&serde_json::to_string(&huge).unwrap());
                tail.push('\n');
            }
        }
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(tail.as_bytes())
            .unwrap();
        let h = session_history(dir.path(), "big", usize::MAX).unwrap();
        let text = |m: &TranscriptMessage| match m {
            TranscriptMessage::User { content, .. } => content.clone(),
            TranscriptMessage::Assistant { content, .. } => match &content[..] {
                [ContentPart::Text { text }] => text.clone(),
                other => panic!("{other:?}"),
            },
            TranscriptMessage::ToolResult { .. } => "tool".into(),
        };
        assert_eq!(h.messages.len(), HISTORY_MESSAGES);
        assert_eq!(text(h.messages.last().unwrap()), "m699");
        assert_eq!(text(&h.messages[0]), "m200");
        assert!(
            h.messages.iter().all(|m| text(m) != "tool"),
            "the huge line is left out"
        );
        assert!(h.truncated);

        // A small transcript comes back whole, first line included.
        let small = dir.path().join("small.jsonl");
        std::fs::write(&small, (0..3).map(message_line).collect::<String>()).unwrap();
        let h = session_history(dir.path(), "small", 200).unwrap();
        assert_eq!(h.messages.len(), 3);
        assert_eq!(text(&h.messages[0]), "m0");
        assert!(!h.truncated);
        assert_eq!(count_messages(&small).unwrap(), 3);
    }
}
