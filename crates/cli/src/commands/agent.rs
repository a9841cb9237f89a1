//! `openclaw agent`: one turn of the agent, streamed to the terminal.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use openclaw_agent::{
    assemble_agent, new_session_id, Agent, AgentEvent, Approval, ApprovalRequest, Approver,
    Decision, Session,
};
use openclaw_config::{LoadedConfig, DEFAULT_AGENT_ID};
use openclaw_llm::ThinkingLevel;
use serde_json::json;

use crate::args::{AgentArgs, ThinkingArg};
use crate::context::{runtime, Context};
use crate::output::{self, paint, BAD, DIM, GOOD};

/// Exit code after Ctrl-C, as shells expect.
const INTERRUPTED: u8 = 130;

pub fn run(ctx: &Context, args: AgentArgs) -> Result<ExitCode> {
    let loaded = ctx.load_config()?;
    let mut agent = build_agent(ctx, &loaded, args.model.as_deref())?;
    agent.thinking = args.thinking.map(thinking_level);
    let session_id = args.session_id.clone().unwrap_or_else(new_session_id);
    let mut session = Session::open(
        &ctx.paths.sessions_dir(DEFAULT_AGENT_ID),
        &session_id,
        agent.workspace.root(),
    )?;
    if session.skipped_lines > 0 {
        output::warn(format!(
            "{} unreadable line(s) in {} were skipped (a crash mid-write?)",
            session.skipped_lines,
            session.path().display()
        ));
    }
    let started = Instant::now();
    let mut printer = Printer::new(args.json);
    let rt = runtime()?;
    let result = rt.block_on(async {
        let mut on_event = |e| printer.event(e);
        tokio::select! {
            r = agent.run_turn(&mut session, &args.message, &mut on_event) => Some(r),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    printer.finish_stream();
    let Some(result) = result else {
        output::warn(format!(
            "interrupted; the transcript keeps everything up to now (session {session_id})"
        ));
        return Ok(ExitCode::from(INTERRUPTED));
    };
    let outcome = result?;
    if args.json {
        let tool_calls: Vec<_> = outcome
            .tool_calls
            .iter()
            .map(|(c, o)| json!({"id": c.id, "name": c.name, "arguments": c.arguments, "isError": o.is_error, "result": o.content}))
            .collect();
        output::out(serde_json::to_string_pretty(&json!({
            "sessionId": session_id,
            "model": outcome.model,
            "answer": outcome.answer,
            "thinking": outcome.thinking,
            "toolCalls": tool_calls,
            "fallbacks": outcome.fallbacks,
            "usage": {"promptTokens": outcome.usage.prompt_tokens, "completionTokens": outcome.usage.completion_tokens},
            "rounds": outcome.rounds,
            "transcript": session.path(),
        }))?);
    } else {
        anstream::eprintln!(
            "{}",
            paint(
                DIM,
                format!(
                    "— {} · session {session_id} · {:.1} s",
                    outcome.model,
                    started.elapsed().as_secs_f64()
                )
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The `--thinking` flag as the client's level.
pub fn thinking_level(t: ThinkingArg) -> ThinkingLevel {
    match t {
        ThinkingArg::Off => ThinkingLevel::Off,
        ThinkingArg::Low => ThinkingLevel::Low,
        ThinkingArg::Medium => ThinkingLevel::Medium,
        ThinkingArg::High => ThinkingLevel::High,
    }
}

/// Config + catalog → a ready agent (fallback chain, workspace, exec policy).
pub fn build_agent(ctx: &Context, loaded: &LoadedConfig, model: Option<&str>) -> Result<Agent> {
    let catalog = ctx.catalog(loaded, None)?;
    let env = |k: &str| ctx.var(k);
    let assembled = assemble_agent(
        &catalog,
        &loaded.config,
        &ctx.paths,
        &env,
        model,
        Box::new(TerminalApprover),
    )?;
    for n in assembled.notes {
        output::warn(n);
    }
    Ok(assembled.agent)
}

/// Asks on the terminal; nobody to ask when stdin or stderr is not one.
struct TerminalApprover;

impl Approver for TerminalApprover {
    fn approve<'a>(&'a mut self, request: ApprovalRequest<'a>) -> Approval<'a> {
        let command = request.command;
        Box::pin(async move {
            if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
                return None;
            }
            let question = if request.sandboxed {
                "run it inside the sandbox? [y/N, or `unsandboxed` to run it outside the sandbox]"
            } else {
                "there is no sandbox: it runs UNCONFINED with your permissions. Run it? [y/N]"
            };
            anstream::eprint!(
                "\n{} the model wants to run `{}`\n{question} ",
                paint(output::WARN, "exec:"),
                command
            );
            let _ = std::io::stderr().flush();
            // Nothing else runs while the user decides, so a blocking read is fine here.
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).ok()?;
            Some(match line.trim().to_ascii_lowercase().as_str() {
                "y" | "yes" => Decision::Run,
                "unsandboxed" if request.sandboxed => Decision::RunUnsandboxed,
                _ => Decision::Deny,
            })
        })
    }
}

/// Streams events: answer text to stdout, everything else to stderr.
pub struct Printer {
    json: bool,
    /// What the last printed piece was, to place line breaks.
    last: Last,
}

#[derive(PartialEq)]
enum Last {
    Nothing,
    Text,
    Thinking,
    Note,
}

impl Printer {
    pub fn new(json: bool) -> Self {
        Self {
            json,
            last: Last::Nothing,
        }
    }

    fn note(&mut self, line: String) {
        if self.last == Last::Text || self.last == Last::Thinking {
            if self.last == Last::Text {
                println!();
            } else {
                eprintln!();
            }
        }
        anstream::eprintln!("{line}");
        self.last = Last::Note;
    }

    pub fn event(&mut self, e: AgentEvent) {
        match e {
            AgentEvent::Text(t) if !self.json => {
                if self.last == Last::Thinking {
                    eprintln!();
                }
                print!("{t}");
                let _ = std::io::stdout().flush();
                self.last = Last::Text;
            }
            AgentEvent::Thinking(t) if !self.json => {
                anstream::eprint!("{}", paint(DIM, t));
                self.last = Last::Thinking;
            }
            AgentEvent::Text(_) | AgentEvent::Thinking(_) => {}
            AgentEvent::Model { model } => self.note(paint(DIM, format!("→ {model}"))),
            AgentEvent::FallingBack {
                from,
                kind,
                message,
                to,
            } if kind == "cooldown" => self.note(format!(
                "{}: {from} skipped (cooldown: {}); using {to}",
                paint(output::WARN, "fallback"),
                message.lines().next().unwrap_or("")
            )),
            AgentEvent::FallingBack {
                from,
                kind,
                message,
                to,
            } => self.note(format!(
                "{}: {from} failed ({kind}): {}; falling back to {to}",
                paint(output::WARN, "fallback"),
                message.lines().next().unwrap_or("")
            )),
            AgentEvent::ToolCall(_) => {}
            AgentEvent::ToolResult { call, outcome } => {
                let args = tool_args(&call.arguments, &call.raw_arguments);
                let first = outcome.content.lines().next().unwrap_or("").to_string();
                let status = if outcome.is_error {
                    paint(BAD, format!("error: {first}"))
                } else {
                    paint(GOOD, format!("{} bytes", outcome.content.len()))
                };
                self.note(format!(
                    "{} {}({}) → {status}",
                    paint(output::BOLD, "⚙"),
                    call.name,
                    args
                ));
            }
            AgentEvent::Compacted { replaced } => self.note(paint(
                DIM,
                format!("(compacted {replaced} older messages into a summary to fit the context)"),
            )),
        }
    }

    /// Ends a streamed answer with a newline.
    pub fn finish_stream(&mut self) {
        if self.last == Last::Text {
            println!();
        } else if self.last == Last::Thinking {
            eprintln!();
        }
        self.last = Last::Nothing;
    }
}

fn tool_args(args: &serde_json::Value, raw: &str) -> String {
    let s = if args.is_null() {
        raw.to_string()
    } else {
        args.to_string()
    };
    truncate(&s, 80)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}
