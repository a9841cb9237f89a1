//! What the agent knows beyond the conversation: its workspace files in the system prompt and
//! its memory tools. Attached by [`crate::assemble_agent`]; an [`Agent`] built directly has
//! none and sends its `system_prompt` alone.

use openclaw_config::{EnvLookup, OpenClawConfig, StatePaths};
use openclaw_llm::ToolSpec;

use crate::memory_tools::MemoryTools;
use crate::prompt::{
    build_system_prompt, read_workspace_files, seed_new_workspace, PromptLimits, PromptReport,
    SessionKind,
};
use crate::runner::Agent;
use crate::tools::tool_specs;

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

impl Agent {
    /// The tools offered to the model: the file and exec tools, plus the memory tools when on.
    pub fn tool_list(&self) -> Vec<ToolSpec> {
        let mut tools = tool_specs();
        if self.context.as_ref().is_some_and(|c| c.memory.is_some()) {
            tools.extend(MemoryTools::specs());
        }
        tools
    }

    /// The system prompt for a model whose context is `context_tokens`, with its report (no
    /// report without a workspace context).
    pub fn system_prompt_for(
        &self,
        context_tokens: u64,
        tools: &[ToolSpec],
    ) -> (String, Option<PromptReport>) {
        let Some(context) = &self.context else {
            return (self.system_prompt.clone(), None);
        };
        let mut instructions = self.system_prompt.clone();
        if context.memory.is_some() {
            instructions.push_str(&MEMORY_GUIDANCE.replace("{today}", &today()));
        }
        let (files, left_out) = read_workspace_files(self.workspace.root(), context.session);
        let (prompt, report) = build_system_prompt(
            &instructions,
            &files,
            &left_out,
            tools,
            context_tokens,
            context.limits,
            context.session,
        );
        (prompt, Some(report))
    }

    /// The report for the first model of the chain (what `openclaw context` shows).
    pub fn prompt_report(&self) -> Option<(String, PromptReport)> {
        let first = self.candidates.first()?;
        let tools = self.tool_list();
        let (prompt, report) = self.system_prompt_for(first.budget(), &tools);
        report.map(|r| (prompt, r))
    }
}

/// Gives `agent` its workspace context: seeds a brand-new workspace (unless
/// `agents.defaults.skipBootstrap`), sets up the memory tools, and returns notes for the user
/// (workspace files cut to fit the first model's context).
pub fn attach_context(
    agent: &mut Agent,
    config: &OpenClawConfig,
    paths: &StatePaths,
    env: EnvLookup<'_>,
    session: SessionKind,
) -> Vec<String> {
    let mut notes = Vec::new();
    if config.agents.defaults.skip_bootstrap != Some(true) {
        if let Err(e) = seed_new_workspace(agent.workspace.root()) {
            notes.push(format!(
                "could not create the workspace files in {}: {e}",
                agent.workspace.root().display()
            ));
        }
    }
    let settings = openclaw_memory::resolve_settings(config, env);
    let memory = settings.enabled.then(|| {
        MemoryTools::new(
            settings,
            openclaw_memory::index_path(&paths.state_dir, openclaw_config::DEFAULT_AGENT_ID),
            agent.workspace.root().to_path_buf(),
        )
    });
    agent.context = Some(AgentContext {
        limits: PromptLimits::from_config(config),
        session,
        memory,
    });
    if let Some((_, report)) = agent.prompt_report() {
        notes.extend(report.notes());
    }
    notes
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
