//! `openclaw agent`: one turn of the agent, streamed to the terminal.
//!
//! Everything the model wrote is shown through `openclaw_untrusted::terminal`: the answer and
//! thinking with control characters made visible (newlines and tabs kept), tool summaries on
//! one line, and a command it wants to run exactly as it will run. This holds for every human
//! output, terminal or not (a file or pipe is often shown on a terminal later); `--json` alone
//! carries the exact text, JSON-escaped.

use crate::exit::Exit;
use std::io::{BufRead, IsTerminal};
use std::time::Instant;

use anyhow::Result;
use openclaw_agent::{
    assemble_agent, new_session_id, Agent, AgentEvent, Approval, ApprovalRequest, Approver,
    Decision, Session,
};
use openclaw_config::{LoadedConfig, DEFAULT_AGENT_ID};
use openclaw_llm::ThinkingLevel;
use openclaw_untrusted::terminal;
use serde::Serialize;

use crate::args::{AgentArgs, ThinkingArg};
use crate::context::{runtime, Context};
use crate::output::{self, paint, BAD, DIM, GOOD};

/// `openclaw agent --json`: the turn's result, for scripts.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TurnJson<'a> {
    session_id: &'a str,
    model: &'a str,
    answer: &'a str,
    thinking: &'a str,
    tool_calls: Vec<ToolCallJson<'a>>,
    fallbacks: &'a [openclaw_agent::FallbackNote],
    usage: UsageJson,
    rounds: usize,
    transcript: &'a std::path::Path,
}

/// One tool call of the turn and what it gave back to the model.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolCallJson<'a> {
    id: &'a str,
    name: &'a str,
    arguments: &'a serde_json::Value,
    is_error: bool,
    result: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UsageJson {
    prompt_tokens: u64,
    completion_tokens: u64,
}

pub fn run(ctx: &Context, args: AgentArgs) -> Result<Exit> {
    let loaded = ctx.load_config()?;
    let mut agent = build_agent(ctx, &loaded, args.model.as_deref())?;
    if let Some(level) = args.thinking {
        agent.thinking = Some(thinking_level(level));
    }
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
        // Whatever still runs on a blocking thread (a file on a stalled disk) is not waited for.
        rt.shutdown_background();
        output::warn(format!(
            "interrupted; the transcript keeps everything up to now (session {session_id})"
        ));
        return Ok(Exit::Interrupted);
    };
    let outcome = result?;
    if args.json {
        output::json(&TurnJson {
            session_id: &session_id,
            model: &outcome.model,
            answer: &outcome.answer,
            thinking: &outcome.thinking,
            tool_calls: outcome
                .tool_calls
                .iter()
                .map(|(call, result)| ToolCallJson {
                    id: &call.id,
                    name: &call.name,
                    arguments: &call.arguments,
                    is_error: result.is_error,
                    result: &result.content,
                })
                .collect(),
            fallbacks: &outcome.fallbacks,
            usage: UsageJson {
                prompt_tokens: outcome.usage.prompt_tokens,
                completion_tokens: outcome.usage.completion_tokens,
            },
            rounds: outcome.rounds,
            transcript: session.path(),
        })?;
    } else {
        errln!(
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
    Ok(Exit::Success)
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
    let env = &ctx.env;
    let assembled = assemble_agent(
        &catalog,
        &loaded.config,
        &ctx.paths,
        env,
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
            err!("{}", approval_prompt(command, request.sandboxed));
            let line = read_answer().await?;
            Some(match line.trim().to_ascii_lowercase().as_str() {
                "y" | "yes" => Decision::Run,
                "unsandboxed" if request.sandboxed => Decision::RunUnsandboxed,
                _ => Decision::Deny,
            })
        })
    }
}

/// One line from the terminal, read on a thread of its own so that the runtime stays free to
/// notice a Ctrl-C while the person thinks. The thread waits with `poll` and gives up as soon
/// as the question is dropped (a Ctrl-C), so no stray reader is left to swallow the next line
/// typed (in `openclaw chat`).
async fn read_answer() -> Option<String> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    struct CancelOnDrop(Arc<AtomicBool>);
    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let cancelled = Arc::new(AtomicBool::new(false));
    let _cancel = CancelOnDrop(cancelled.clone());
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || loop {
        if cancelled.load(Ordering::Relaxed) {
            return;
        }
        let mut fds = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one descriptor we pass by reference.
        let ready = unsafe { libc::poll(&mut fds, 1, 100) };
        if ready > 0 {
            let mut line = String::new();
            let read = std::io::stdin().lock().read_line(&mut line).map(|_| line);
            let _ = tx.send(read.ok());
            return;
        }
        if ready < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            let _ = tx.send(None);
            return;
        }
    });
    rx.await.ok().flatten()
}

/// The question before a command runs: the command exactly as `sh -c` gets it, every line
/// shown and every control or invisible character made visible (see
/// [`terminal::command_block`]), so the person approves what runs, not what the model wanted
/// them to see.
fn approval_prompt(command: &str, sandboxed: bool) -> String {
    let question = if sandboxed {
        "run it inside the sandbox? [y/N, or `unsandboxed` to run it outside the sandbox]"
    } else {
        "there is no sandbox: it runs UNCONFINED with your permissions. Run it? [y/N]"
    };
    format!(
        "\n{} the model wants to run this command:\n{}{question} ",
        paint(output::WARN, "exec:"),
        terminal::command_block(command)
    )
}

/// Streams events: answer text to stdout, everything else to stderr. What came from the
/// model or a server is made safe for the terminal first (see the module docs).
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
                outln!();
            } else {
                errln!();
            }
        }
        errln!("{line}");
        self.last = Last::Note;
    }

    pub fn event(&mut self, e: AgentEvent) {
        match e {
            AgentEvent::Text(t) if !self.json => {
                if self.last == Last::Thinking {
                    errln!();
                }
                out!("{}", terminal::text(&t));
                self.last = Last::Text;
            }
            AgentEvent::Thinking(t) if !self.json => {
                err!("{}", paint(DIM, terminal::text(&t)));
                self.last = Last::Thinking;
            }
            AgentEvent::Text(_) | AgentEvent::Thinking(_) => {}
            AgentEvent::Model { model } => {
                self.note(paint(DIM, format!("→ {}", terminal::line(&model))))
            }
            AgentEvent::FallingBack {
                from,
                kind: "cooldown",
                message,
                to,
            } => self.note(format!(
                "{}: {} skipped (cooldown: {}); using {}",
                paint(output::WARN, "fallback"),
                terminal::line(&from),
                terminal::line(message.lines().next().unwrap_or("")),
                terminal::line(&to),
            )),
            AgentEvent::FallingBack {
                from,
                kind,
                message,
                to,
            } => self.note(format!(
                "{}: {} failed ({kind}): {}; falling back to {}",
                paint(output::WARN, "fallback"),
                terminal::line(&from),
                terminal::line(message.lines().next().unwrap_or("")),
                terminal::line(&to),
            )),
            AgentEvent::ToolCall(_) => {}
            AgentEvent::ToolResult { call, outcome } => {
                let args = tool_args(&call.arguments, &call.raw_arguments);
                let first = terminal::line(outcome.content.lines().next().unwrap_or(""));
                let status = if outcome.is_error {
                    paint(BAD, format!("error: {first}"))
                } else {
                    paint(GOOD, format!("{} bytes", outcome.content.len()))
                };
                self.note(format!(
                    "{} {}({}) → {status}",
                    paint(output::BOLD, "⚙"),
                    terminal::line(&call.name),
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
            outln!();
        } else if self.last == Last::Thinking {
            errln!();
        }
        self.last = Last::Nothing;
    }
}

/// The arguments of a call for its one-line summary: at most 80 characters of their JSON (or
/// of the raw text when it was not JSON), made safe to print.
fn tool_args(args: &serde_json::Value, raw: &str) -> String {
    if args.is_null() {
        openclaw_untrusted::quote(raw, 80)
    } else {
        openclaw_untrusted::quote(&args.to_string(), 80)
    }
}
