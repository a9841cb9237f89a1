//! `openclaw context`: what the agent's system prompt is made of, and what it costs.
//!
//! The prompt of a turn is built for the model's effective context (`openclaw_agent::prompt`);
//! this command builds it the same way, for the default model (or `--model`), and shows per
//! workspace file how many characters and tokens it has and how many went in — so a user
//! whose `MEMORY.md` keeps growing sees it being cut before the model forgets things.

use crate::exit::Exit;

use anyhow::Result;
use openclaw_agent::PromptReport;
use serde::Serialize;

use crate::args::ContextArgs;
use crate::commands::agent::build_agent;
use crate::context::Context;
use crate::output::{self, paint, BOLD, DIM};

/// The context assumed when no model can be called (none configured or discovered).
const FALLBACK_CONTEXT: u64 = 8192;

/// `openclaw context --json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContextJson<'a> {
    model: Option<&'a str>,
    context_source: &'a str,
    workspace: &'a std::path::Path,
    report: &'a PromptReport,
    /// With `--show-prompt` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<&'a str>,
}

pub fn run(ctx: &Context, args: ContextArgs) -> Result<Exit> {
    let loaded = ctx.load_config()?;
    let agent = build_agent(ctx, &loaded, args.model.as_deref())?;
    let tools = agent.tool_list();
    let (model, context_tokens, source) = match agent.candidates.first() {
        Some(c) if c.num_ctx.is_some() => {
            (Some(c.model_ref.to_string()), c.budget(), "num_ctx sent")
        }
        Some(c) => (Some(c.model_ref.to_string()), c.budget(), "context window"),
        None => (None, FALLBACK_CONTEXT, "assumed"),
    };
    let (prompt, report) = agent.system_prompt_for(context_tokens, &tools);
    let Some(report) = report else {
        anyhow::bail!("this agent has no workspace context");
    };
    if args.json {
        output::json(&ContextJson {
            model: model.as_deref(),
            context_source: source,
            workspace: agent.workspace.root(),
            report: &report,
            prompt: args.show_prompt.then_some(prompt.as_str()),
        })?;
        return Ok(Exit::Success);
    }
    output::out(render(
        &report,
        model.as_deref(),
        source,
        &ctx.show_path(agent.workspace.root()),
    ));
    if args.show_prompt {
        output::out(format!("\n{}\n", paint(BOLD, "System prompt:")));
        output::out(openclaw_untrusted::terminal::text(&prompt));
        output::out(format!(
            "\n{}",
            paint(
                DIM,
                format!(
                    "(+ {} tool schemas, {} characters)",
                    report.tools, report.tools_chars
                )
            )
        ));
    }
    Ok(Exit::Success)
}

/// The breakdown as a table.
pub fn render(report: &PromptReport, model: Option<&str>, source: &str, workspace: &str) -> String {
    let mut out = String::new();
    let model = match model {
        Some(m) => m.to_owned(),
        None => format!("no model (assuming {FALLBACK_CONTEXT} tokens)"),
    };
    out.push_str(&format!(
        "{} {model}: context {} tokens ({source}), prompt budget {:.0} % = {} tokens ({} session)\n",
        paint(BOLD, "System prompt for"),
        report.context_tokens,
        report.share * 100.0,
        report.budget_tokens,
        match report.session {
            openclaw_agent::SessionKind::Main => "main",
            openclaw_agent::SessionKind::Shared => "shared",
        }
    ));
    out.push_str(&format!("workspace {workspace}\n\n"));
    let mut rows = vec![
        vec![
            "instructions".to_owned(),
            report.instructions_chars.to_string(),
            report.instructions_tokens.to_string(),
            report.instructions_chars.to_string(),
            report.instructions_tokens.to_string(),
            String::new(),
        ],
        vec![
            format!("tool schemas ({})", report.tools),
            report.tools_chars.to_string(),
            report.tools_tokens.to_string(),
            report.tools_chars.to_string(),
            report.tools_tokens.to_string(),
            String::new(),
        ],
    ];
    for f in &report.files {
        let state = if f.truncated {
            paint(output::WARN, "cut")
        } else if let Some(why) = &f.left_out {
            paint(DIM, why)
        } else {
            "whole".to_owned()
        };
        let raw = |n: usize| {
            if f.raw_chars == 0 {
                "-".to_owned()
            } else {
                n.to_string()
            }
        };
        rows.push(vec![
            f.name.clone(),
            raw(f.raw_chars),
            if f.raw_chars == 0 {
                "-".to_owned()
            } else {
                f.raw_tokens.to_string()
            },
            raw(f.injected_chars),
            if f.raw_chars == 0 {
                "-".to_owned()
            } else {
                f.injected_tokens.to_string()
            },
            state,
        ]);
    }
    rows.push(vec![
        paint(BOLD, "total"),
        String::new(),
        String::new(),
        String::new(),
        paint(
            BOLD,
            format!("{} / {}", report.total_tokens, report.budget_tokens),
        ),
        String::new(),
    ]);
    out.push_str(&output::table(
        &["part", "chars", "tokens", "in prompt", "tokens in", ""],
        &rows,
    ));
    out.push_str(&paint(
        DIM,
        format!(
            "tokens are estimated ({} characters a token, {} for tool schemas); memory/*.md notes are never in the prompt (memory_search finds them)",
            openclaw_agent::prompt::CHARS_PER_TOKEN,
            openclaw_agent::prompt::TOOL_CHARS_PER_TOKEN
        ),
    ));
    out
}
