//! Keeping the conversation inside the model's context window.
//!
//! Local models have small windows and servers truncate silently, so the agent budgets every
//! request itself: when the estimated prompt nears the effective context (Ollama's `num_ctx`
//! for the native API, the catalog's `contextWindow` otherwise), the older turns are replaced
//! by a summary the model writes, stored as one `compaction` entry in the transcript.

use openclaw_llm::{ChatMessage, ChatRequest, ModelClient, ToolSpec};

use crate::session::{now_ms, Entry, Session};

/// Rough token count: ~4 characters a token, plus per-message framing. Deliberately
/// pessimistic for code and non-English text is not attempted; the reserve absorbs the error.
pub fn estimate_tokens(messages: &[ChatMessage], tools: &[ToolSpec]) -> u64 {
    let chars: usize = messages
        .iter()
        .map(|m| {
            m.content.len()
                + m.tool_calls
                    .iter()
                    .map(|c| c.name.len() + c.raw_arguments.len() + 16)
                    .sum::<usize>()
                + 16
        })
        .sum::<usize>()
        + tools
            .iter()
            .map(|t| t.name.len() + t.description.len() + t.parameters.to_string().len() + 16)
            .sum::<usize>();
    (chars as u64).div_ceil(4)
}

/// Tokens kept free for the reply.
pub fn reply_reserve(budget: u64, max_tokens: u64) -> u64 {
    (budget / 4).min(max_tokens.max(256)).min(4096)
}

/// Whether a prompt of `estimate` tokens needs compaction under `budget`.
pub fn needs_compaction(estimate: u64, budget: u64, max_tokens: u64) -> bool {
    estimate + reply_reserve(budget, max_tokens) > budget
}

/// The instruction given to the model that writes the summary.
const SUMMARY_PROMPT: &str = "You are compacting a conversation so it fits in a small context window. \
Summarize the conversation below in a few short paragraphs: the user's goals, facts learned \
(file contents, command results), decisions made, and open questions. Keep names, paths and numbers exact. \
Write only the summary.";

/// Replaces all but the most recent messages with a summary; returns the entry written.
///
/// Keeps the current turn (from the last user message on). If the model cannot write the
/// summary, a plain note stands in, so compaction never blocks the conversation.
pub async fn compact(
    session: &mut Session,
    client: &ModelClient,
    model: &str,
    budget: u64,
) -> std::io::Result<Option<Entry>> {
    let convo_total = session.message_count();
    let history = session.history();
    let already = session.replaced_so_far();
    let kept_from_end = keep_count(&history);
    let replaced = convo_total.saturating_sub(kept_from_end);
    if replaced <= already {
        return Ok(None); // nothing older than the current turn to fold in
    }
    let to_summarize = &history[..history.len().saturating_sub(kept_from_end)];
    let mut transcript = String::new();
    for m in to_summarize {
        let who = match m.role {
            openclaw_llm::Role::User => "User",
            openclaw_llm::Role::Assistant => "Assistant",
            openclaw_llm::Role::Tool => "Tool result",
            openclaw_llm::Role::System => "System",
        };
        transcript.push_str(&format!("{who}: {}\n", m.content));
        for c in &m.tool_calls {
            transcript.push_str(&format!(
                "Assistant called {}({})\n",
                c.name, c.raw_arguments
            ));
        }
    }
    // The summary request itself must fit: keep the newest part of the text.
    let max_chars = (budget as usize).saturating_mul(4) / 2;
    if transcript.len() > max_chars {
        let mut cut = transcript.len() - max_chars;
        while !transcript.is_char_boundary(cut) {
            cut += 1;
        }
        transcript = format!("[…older part omitted…]\n{}", &transcript[cut..]);
    }
    let request = ChatRequest {
        model: model.to_string(),
        messages: vec![
            ChatMessage::system(SUMMARY_PROMPT),
            ChatMessage::user(transcript),
        ],
        tools: Vec::new(),
        thinking: None,
        max_tokens: Some((budget / 4).clamp(128, 1024)),
        num_ctx: None,
        temperature: Some(0.0),
    };
    let summary = match client.stream_chat(&request, &mut |_| {}).await {
        Ok(resp) if !resp.text.trim().is_empty() => resp.text.trim().to_string(),
        _ => format!(
            "{} earlier messages were dropped to fit the model's context window.",
            to_summarize.len()
        ),
    };
    let entry = Entry::Compaction {
        summary,
        replaced,
        ts: now_ms(),
    };
    session.append(entry.clone())?;
    Ok(Some(entry))
}

/// How many messages at the end of `history` to keep: the current turn, at least the last one.
fn keep_count(history: &[ChatMessage]) -> usize {
    match history
        .iter()
        .rposition(|m| m.role == openclaw_llm::Role::User)
    {
        Some(i) => history.len() - i,
        None => 1.min(history.len()),
    }
}

/// The messages a request carries: system prompt, then history.
pub fn request_messages(system: &str, session: &Session) -> Vec<ChatMessage> {
    let mut out = vec![ChatMessage::system(system)];
    out.extend(session.history());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_grow_with_content_and_compaction_triggers_near_the_budget() {
        let small = estimate_tokens(&[ChatMessage::user("hi")], &[]);
        let big = estimate_tokens(&[ChatMessage::user("x".repeat(4000))], &[]);
        assert!(small < 10 && big > 1000, "{small} {big}");
        assert!(!needs_compaction(1000, 8192, 8192));
        assert!(needs_compaction(7000, 8192, 8192));
    }

    #[test]
    fn keeps_the_current_turn() {
        let h = vec![
            ChatMessage::user("old"),
            ChatMessage::assistant("a", vec![]),
            ChatMessage::user("new"),
            ChatMessage::assistant("calling", vec![]),
        ];
        assert_eq!(keep_count(&h), 2);
    }
}
