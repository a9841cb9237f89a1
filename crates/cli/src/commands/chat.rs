//! `openclaw chat`: an interactive session with the agent.

use crate::exit::Exit;

use anyhow::Result;
use openclaw_agent::{new_session_id, Session};
use openclaw_config::DEFAULT_AGENT_ID;
use rustyline::error::ReadlineError;

use crate::args::ChatArgs;
use crate::commands::agent::{build_agent, thinking_level, Printer};
use crate::context::{runtime, Context};
use crate::output::{self, paint, DIM};

const HELP: &str = "/model REF   switch model (provider/model or alias)\n/new         start a new session\n/compact     summarise older turns now\n/quit        leave (also Ctrl-D)";

pub fn run(ctx: &Context, args: ChatArgs) -> Result<Exit> {
    let loaded = ctx.load_config()?;
    let thinking = args.thinking.map(thinking_level);
    let mut agent = build_agent(ctx, &loaded, args.model.as_deref())?;
    if thinking.is_some() {
        agent.thinking = thinking;
    }
    let sessions = ctx.paths.sessions_dir(DEFAULT_AGENT_ID);
    let mut session = Session::open(
        &sessions,
        &args.session_id.unwrap_or_else(new_session_id),
        agent.workspace.root(),
    )?;
    let rt = runtime()?;
    let mut editor = rustyline::DefaultEditor::new()?;
    let history = ctx.paths.state_dir.join("chat-history.txt");
    let _ = editor.load_history(&history);
    let model = agent
        .candidates
        .first()
        .map(|c| c.model_ref.to_string())
        .unwrap_or_else(|| "no model".into());
    errln!(
        "{}",
        paint(
            DIM,
            format!(
                "openclaw chat · {model} · session {} · /help for commands",
                session.id()
            )
        )
    );
    loop {
        let line = match editor.readline("› ") {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(line);
        match line
            .split_once(' ')
            .map_or((line, ""), |(c, r)| (c, r.trim()))
        {
            ("/quit" | "/exit", _) => break,
            ("/help", _) => errln!("{HELP}"),
            ("/new", _) => {
                session = Session::open(&sessions, &new_session_id(), agent.workspace.root())?;
                errln!("{}", paint(DIM, format!("new session {}", session.id())));
            }
            ("/model", r) if !r.is_empty() => match build_agent(ctx, &loaded, Some(r)) {
                Ok(mut a) => {
                    if thinking.is_some() {
                        a.thinking = thinking;
                    }
                    agent = a;
                    errln!("{}", paint(DIM, format!("model: {r}")));
                }
                Err(e) => output::error(e),
            },
            ("/compact", _) => match rt.block_on(agent.compact_now(&mut session)) {
                Ok(Some(n)) => {
                    errln!("{}", paint(DIM, format!("compacted {n} messages")))
                }
                Ok(None) => errln!("{}", paint(DIM, "nothing to compact yet")),
                Err(e) => output::error(e),
            },
            (cmd, _) if cmd.starts_with('/') => {
                output::error(format!("unknown command `{cmd}`\n{HELP}"))
            }
            _ => {
                let mut printer = Printer::new(false);
                let result = rt.block_on(async {
                    let mut on_event = |e| printer.event(e);
                    tokio::select! {
                        r = agent.run_turn(&mut session, line, &mut on_event) => Some(r),
                        _ = tokio::signal::ctrl_c() => None,
                    }
                });
                printer.finish_stream();
                match result {
                    None => output::warn("interrupted"),
                    Some(Err(e)) => output::error(e),
                    Some(Ok(_)) => {}
                }
            }
        }
    }
    let _ = editor.save_history(&history);
    errln!("{}", paint(DIM, format!("session {} saved", session.id())));
    Ok(Exit::Success)
}
