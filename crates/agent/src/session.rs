//! Session transcripts: `agents/<agentId>/sessions/<sessionId>.jsonl`.
//!
//! One JSON object per line, appended and flushed as the turn goes (the user's message before
//! the model is called, each tool result as soon as it exists), so a crash or a kill loses at
//! most the reply being streamed. Reading is forgiving: a torn last line from a crash is
//! skipped, never fatal.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use openclaw_llm::{ChatMessage, Role, ToolCall};
use serde::{Deserialize, Serialize};

/// Transcript format version.
pub const TRANSCRIPT_VERSION: u32 = 1;

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entry {
    /// First line: what this file is.
    Session {
        id: String,
        version: u32,
        ts: u64,
        workspace: String,
    },
    /// A user or assistant message.
    Message {
        role: Role,
        content: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "toolCalls")]
        tool_calls: Vec<ToolCall>,
        /// Shown to the user, never sent back to a model.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thinking: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        ts: u64,
    },
    /// The result of one tool call.
    ToolResult {
        #[serde(rename = "toolCallId")]
        tool_call_id: String,
        #[serde(rename = "toolName")]
        tool_name: String,
        content: String,
        #[serde(rename = "isError")]
        is_error: bool,
        ts: u64,
    },
    /// The model that answers changed (fallback, `--model`, `/model`).
    ModelChange {
        model: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        ts: u64,
    },
    /// Older conversation replaced by a summary: the first `replaced` conversation messages
    /// (user, assistant and tool-result entries, in order) are represented by `summary`.
    Compaction {
        summary: String,
        replaced: usize,
        ts: u64,
    },
}

/// Why a session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("invalid session id `{0}`: use letters, digits, `.`, `_` and `-` (at most 128)")]
    BadId(String),
    #[error("session `{0}` is in use by another running agent; wait for its turn to end, or use another session id")]
    Busy(String),
    #[error("cannot open the transcript {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An open transcript.
#[derive(Debug)]
pub struct Session {
    id: String,
    path: PathBuf,
    file: File,
    entries: Vec<Entry>,
    /// Lines that could not be read (a torn last line after a crash, say).
    pub skipped_lines: usize,
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A fresh, sortable session id.
pub fn new_session_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(now_ms());
    h.write_u32(std::process::id());
    format!("{}-{:06x}", now_ms(), h.finish() & 0xff_ffff)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl Session {
    /// Opens `<dir>/<id>.jsonl`, creating it (with its header line) if new.
    pub fn open(dir: &Path, id: &str, workspace: &Path) -> Result<Self, SessionError> {
        if !valid_id(id) {
            return Err(SessionError::BadId(id.to_string()));
        }
        let path = dir.join(format!("{id}.jsonl"));
        let io = |source| SessionError::Io {
            path: path.clone(),
            source,
        };
        // Transcripts hold whole conversations: private to the user (dir 0700, file 0600).
        openclaw_config::create_private_dir(dir).map_err(io)?;
        let mut file = openclaw_config::private_file_options()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        // One writer per session, across processes (CLI runs, the gateway): two agents on one
        // transcript would interleave their turns. The kernel drops the lock with its holder,
        // so a crash never leaves a session stuck.
        lock_exclusive(&file).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock => SessionError::Busy(id.to_string()),
            _ => io(e),
        })?;
        // Read after the lock: what the previous writer left is complete.
        let existing = match std::fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(e)),
        };
        let mut session = Session {
            id: id.to_string(),
            path: path.clone(),
            file: file.try_clone().map_err(io)?,
            entries: Vec::new(),
            skipped_lines: 0,
        };
        match existing {
            Some(bytes) if !bytes.is_empty() => {
                for line in String::from_utf8_lossy(&bytes).lines() {
                    if line.trim().is_empty() {
                        continue;
                    }
                    match serde_json::from_str::<Entry>(line) {
                        Ok(e) => session.entries.push(e),
                        Err(_) => session.skipped_lines += 1,
                    }
                }
                // A torn last line: start the next entry on a line of its own.
                if !bytes.ends_with(b"\n") {
                    file.write_all(b"\n").map_err(io)?;
                }
                // A turn that was killed or interrupted during its tools: every call it made
                // gets a result, so the next request to a model is a valid conversation.
                for (call_id, tool_name) in session.unanswered_tail_calls() {
                    session
                        .append(Entry::ToolResult {
                            tool_call_id: call_id,
                            tool_name,
                            content: INTERRUPTED.into(),
                            is_error: true,
                            ts: now_ms(),
                        })
                        .map_err(io)?;
                }
            }
            _ => session
                .append(Entry::Session {
                    id: id.to_string(),
                    version: TRANSCRIPT_VERSION,
                    ts: now_ms(),
                    workspace: workspace.display().to_string(),
                })
                .map_err(io)?,
        }
        Ok(session)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Appends one entry as one line and flushes it.
    pub fn append(&mut self, entry: Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        // One write of the whole line: with O_APPEND it lands whole or not at all.
        self.file.write_all(&line)?;
        self.file.flush()?;
        self.entries.push(entry);
        Ok(())
    }

    /// Forces the transcript to disk (end of a turn).
    ///
    /// The flush runs on a blocking thread: under load a disk sync can take milliseconds, and
    /// a gateway must not stall the streams it relays while it waits.
    pub async fn sync(&self) -> std::io::Result<()> {
        let file = self.file.try_clone()?;
        tokio::task::spawn_blocking(move || file.sync_data())
            .await
            .map_err(std::io::Error::other)?
    }

    /// The conversation as the model should see it: the latest compaction summary, then the
    /// messages after it. Thinking is left out.
    pub fn history(&self) -> Vec<ChatMessage> {
        let convo: Vec<ChatMessage> = self.entries.iter().filter_map(entry_message).collect();
        let last_compaction = self.entries.iter().rev().find_map(|e| match e {
            Entry::Compaction {
                summary, replaced, ..
            } => Some((summary.clone(), *replaced)),
            _ => None,
        });
        let convo = match last_compaction {
            None => convo,
            Some((summary, replaced)) => {
                // Never past the newest user message, whatever the entry says.
                let newest_user = convo
                    .iter()
                    .rposition(|m| m.role == Role::User)
                    .unwrap_or(convo.len());
                let mut out = vec![summary_message(&summary)];
                out.extend(convo.into_iter().skip(replaced.min(newest_user)));
                out
            }
        };
        answer_every_call(convo)
    }

    /// Tool calls of the last assistant message that have no result in the transcript.
    fn unanswered_tail_calls(&self) -> Vec<(String, String)> {
        let Some(last_call) = self.entries.iter().rposition(|e| {
            matches!(e, Entry::Message { role: Role::Assistant, tool_calls, .. } if !tool_calls.is_empty())
        }) else {
            return Vec::new();
        };
        let Entry::Message { tool_calls, .. } = &self.entries[last_call] else {
            return Vec::new();
        };
        let answered: std::collections::HashSet<&str> = self.entries[last_call..]
            .iter()
            .filter_map(|e| match e {
                Entry::ToolResult { tool_call_id, .. } => Some(tool_call_id.as_str()),
                _ => None,
            })
            .collect();
        tool_calls
            .iter()
            .filter(|c| !answered.contains(c.id.as_str()))
            .map(|c| (c.id.clone(), c.name.clone()))
            .collect()
    }

    /// Number of conversation messages (what `Compaction::replaced` counts).
    pub fn message_count(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| entry_message(e).is_some())
            .count()
    }

    /// Conversation messages the latest compaction replaced (0 without one).
    pub fn replaced_so_far(&self) -> usize {
        self.entries
            .iter()
            .rev()
            .find_map(|e| match e {
                Entry::Compaction { replaced, .. } => Some(*replaced),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// How many compaction entries the transcript holds.
    pub fn compactions(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e, Entry::Compaction { .. }))
            .count()
    }
}

/// The result recorded for a tool call whose turn was interrupted before it had one.
pub const INTERRUPTED: &str =
    "interrupted: this tool call did not finish (the turn was stopped before it had a result)";

/// A conversation every model accepts: each assistant tool call followed by exactly one result
/// (a missing one stands in as interrupted), and no result without its call.
fn answer_every_call(convo: Vec<ChatMessage>) -> Vec<ChatMessage> {
    let mut out: Vec<ChatMessage> = Vec::with_capacity(convo.len());
    let mut open: Vec<(String, String)> = Vec::new();
    let close = |out: &mut Vec<ChatMessage>, open: &mut Vec<(String, String)>| {
        for (id, name) in open.drain(..) {
            out.push(ChatMessage {
                role: Role::Tool,
                content: INTERRUPTED.into(),
                tool_calls: Vec::new(),
                tool_call_id: Some(id),
                tool_name: Some(name),
            });
        }
    };
    for m in convo {
        if m.role == Role::Tool {
            let id = m.tool_call_id.clone().unwrap_or_default();
            // A result without its call (cut by a compaction) is left out.
            if let Some(i) = open.iter().position(|(open_id, _)| *open_id == id) {
                open.remove(i);
                out.push(m);
            }
            continue;
        }
        close(&mut out, &mut open);
        if m.role == Role::Assistant {
            open = m
                .tool_calls
                .iter()
                .map(|c| (c.id.clone(), c.name.clone()))
                .collect();
        }
        out.push(m);
    }
    close(&mut out, &mut open);
    out
}

/// An exclusive, non-blocking `flock` on `file`.
fn lock_exclusive(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The message that stands for compacted history.
pub fn summary_message(summary: &str) -> ChatMessage {
    ChatMessage::user(format!("[Summary of the earlier conversation]\n{summary}"))
}

fn entry_message(e: &Entry) -> Option<ChatMessage> {
    match e {
        Entry::Message {
            role,
            content,
            tool_calls,
            ..
        } => Some(match role {
            Role::Assistant => ChatMessage::assistant(content.clone(), tool_calls.clone()),
            Role::System => ChatMessage::system(content.clone()),
            _ => ChatMessage::user(content.clone()),
        }),
        Entry::ToolResult {
            tool_call_id,
            tool_name,
            content,
            ..
        } => Some(ChatMessage {
            role: Role::Tool,
            content: content.clone(),
            tool_calls: Vec::new(),
            tool_call_id: Some(tool_call_id.clone()),
            tool_name: Some(tool_name.clone()),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> Entry {
        Entry::Message {
            role: Role::User,
            content: text.into(),
            tool_calls: vec![],
            thinking: None,
            model: None,
            ts: 1,
        }
    }

    #[test]
    fn appends_reopens_and_survives_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Session::open(dir.path(), "abc", dir.path()).unwrap();
        s.append(user("hello")).unwrap();
        drop(s);
        // Simulate a crash in the middle of writing a line.
        let path = dir.path().join("abc.jsonl");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"type\":\"message\",\"role\":\"assis")
            .unwrap();
        drop(f);
        let mut s = Session::open(dir.path(), "abc", dir.path()).unwrap();
        assert_eq!(s.skipped_lines, 1);
        assert_eq!(s.history(), vec![ChatMessage::user("hello")]);
        s.append(user("again")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let good = text
            .lines()
            .filter(|l| serde_json::from_str::<Entry>(l).is_ok())
            .count();
        assert_eq!(good, 3, "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn transcripts_and_their_directories_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let sessions = dir.path().join("agents/main/sessions");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        Session::open(&sessions, "s1", dir.path()).unwrap();
        assert_eq!(mode(&sessions.join("s1.jsonl")), 0o600);
        assert_eq!(mode(&sessions), 0o700);
        assert_eq!(mode(&dir.path().join("agents")), 0o700);
        // A transcript its owner opened up keeps that mode when appended to.
        let path = sessions.join("s1.jsonl");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        Session::open(&sessions, "s1", dir.path())
            .unwrap()
            .append(user("again"))
            .unwrap();
        assert_eq!(mode(&path), 0o640);
    }

    #[test]
    fn history_starts_at_the_last_compaction_and_drops_thinking() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Session::open(dir.path(), "c", dir.path()).unwrap();
        s.append(user("one")).unwrap();
        s.append(Entry::Message {
            role: Role::Assistant,
            content: "a1".into(),
            tool_calls: vec![],
            thinking: Some("hmm".into()),
            model: None,
            ts: 1,
        })
        .unwrap();
        s.append(Entry::Compaction {
            summary: "talked about one".into(),
            replaced: 2,
            ts: 1,
        })
        .unwrap();
        s.append(user("two")).unwrap();
        let h = s.history();
        assert_eq!(h.len(), 2);
        assert!(h[0].content.contains("talked about one"));
        assert_eq!(h[1], ChatMessage::user("two"));
        assert_eq!(s.compactions(), 1);
    }

    fn assistant_calling(ids: &[&str]) -> Entry {
        Entry::Message {
            role: Role::Assistant,
            content: String::new(),
            tool_calls: ids
                .iter()
                .map(|id| ToolCall {
                    id: id.to_string(),
                    name: "exec".into(),
                    arguments: serde_json::json!({}),
                    raw_arguments: "{}".into(),
                    arguments_error: None,
                })
                .collect(),
            thinking: None,
            model: None,
            ts: 1,
        }
    }

    fn result(id: &str) -> Entry {
        Entry::ToolResult {
            tool_call_id: id.into(),
            tool_name: "exec".into(),
            content: "ok".into(),
            is_error: false,
            ts: 1,
        }
    }

    #[test]
    fn an_interrupted_turn_is_repaired_on_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Session::open(dir.path(), "i", dir.path()).unwrap();
        s.append(user("run two things")).unwrap();
        s.append(assistant_calling(&["a", "b"])).unwrap();
        s.append(result("a")).unwrap();
        drop(s); // killed while `b` ran
        let s = Session::open(dir.path(), "i", dir.path()).unwrap();
        let h = s.history();
        let tools: Vec<_> = h.iter().filter(|m| m.role == Role::Tool).collect();
        assert_eq!(tools.len(), 2);
        assert_eq!(tools[1].tool_call_id.as_deref(), Some("b"));
        assert_eq!(tools[1].content, INTERRUPTED);
        // Written to the transcript, once.
        drop(s);
        let s = Session::open(dir.path(), "i", dir.path()).unwrap();
        let interrupted = s
            .entries()
            .iter()
            .filter(|e| matches!(e, Entry::ToolResult { content, .. } if content == INTERRUPTED))
            .count();
        assert_eq!(interrupted, 1);
    }

    #[test]
    fn history_answers_every_call_and_drops_orphan_results() {
        let convo = vec![
            ChatMessage::user("u"),
            ChatMessage {
                role: Role::Tool,
                content: "orphan".into(),
                tool_calls: vec![],
                tool_call_id: Some("zzz".into()),
                tool_name: Some("exec".into()),
            },
        ];
        let fixed = answer_every_call(convo);
        assert_eq!(fixed, vec![ChatMessage::user("u")]);
        let dir = tempfile::tempdir().unwrap();
        let mut s = Session::open(dir.path(), "h", dir.path()).unwrap();
        s.append(user("u1")).unwrap();
        s.append(assistant_calling(&["x"])).unwrap();
        s.append(user("u2")).unwrap(); // an old transcript with a missing result mid-way
        let h = s.history();
        assert_eq!(h.len(), 4);
        assert_eq!(h[2].role, Role::Tool);
        assert_eq!(h[3], ChatMessage::user("u2"));
    }

    #[test]
    fn a_compaction_never_hides_the_newest_user_message() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Session::open(dir.path(), "k", dir.path()).unwrap();
        s.append(user("old")).unwrap();
        s.append(user("newest")).unwrap();
        s.append(Entry::Compaction {
            summary: "sum".into(),
            replaced: 99,
            ts: 1,
        })
        .unwrap();
        let h = s.history();
        assert_eq!(h.last(), Some(&ChatMessage::user("newest")));
    }

    #[test]
    fn one_writer_per_session() {
        let dir = tempfile::tempdir().unwrap();
        let first = Session::open(dir.path(), "w", dir.path()).unwrap();
        assert!(matches!(
            Session::open(dir.path(), "w", dir.path()),
            Err(SessionError::Busy(_))
        ));
        drop(first);
        Session::open(dir.path(), "w", dir.path()).unwrap();
    }

    #[test]
    fn ids_cannot_escape_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["../x", "a/b", "", ".."] {
            assert!(
                matches!(
                    Session::open(dir.path(), bad, dir.path()),
                    Err(SessionError::BadId(_))
                ),
                "{bad}"
            );
        }
        assert!(valid_id(&new_session_id()));
    }
}
