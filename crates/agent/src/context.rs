//! What the agent knows beyond the conversation: its workspace files in the system prompt and
//! its memory tools. Attached by `assemble_agent` (`attach_context`, in `setup`); an agent
//! built directly has none and sends its `system_prompt` alone.
//!
//! It knows nothing of the agent loop: the runner holds an [`AgentContext`] and asks it for
//! the prompt, so the two depend one way.

use std::path::Path;

use openclaw_llm::ToolSpec;

use crate::memory_tools::MemoryTools;
use crate::prompt::{
    build_system_prompt, read_workspace_files, PromptLimits, PromptReport, SessionKind,
};

/// The workspace files and memory tools of an agent.
pub struct AgentContext {
    pub limits: PromptLimits,
    pub session: SessionKind,
    /// `None` when memory search is off (`memory.search.enabled: false`).
    pub memory: Option<MemoryTools>,
}

/// Memory guidance, in the prompt when the memory tools are offered.
const MEMORY_GUIDANCE: &str = "\n\nMemory: you remember nothing between sessions except what is \
written in the workspace. Before answering about past events, people, plans or the user's \
preferences, call memory_search (then memory_get for more lines). To remember something, write \
it down with write or edit: day-to-day notes in memory/{today}.md, lasting facts and decisions in \
MEMORY.md, the user's stable preferences in USER.md. Never store passwords or keys.";

impl AgentContext {
    /// The system prompt built on `instructions` for a model whose context is
    /// `context_tokens`: the memory guidance when memory is on, then the workspace files under
    /// `root`, cut to fit.
    pub fn system_prompt(
        &self,
        instructions: &str,
        root: &Path,
        context_tokens: u64,
        tools: &[ToolSpec],
    ) -> (String, PromptReport) {
        let mut instructions = instructions.to_owned();
        if self.memory.is_some() {
            instructions.push_str(&MEMORY_GUIDANCE.replace("{today}", &today()));
        }
        let (files, left_out) = read_workspace_files(root, self.session);
        build_system_prompt(
            &instructions,
            &files,
            &left_out,
            tools,
            context_tokens,
            self.limits,
            self.session,
        )
    }
}

/// Today's date, `YYYY-MM-DD` (UTC), for the daily note's name.
pub fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    civil_date(i64::try_from(days).unwrap_or(0))
}

/// Days since 1970-01-01 as a calendar date (Howard Hinnant's algorithm).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_513), "2026-03-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
    }
}
