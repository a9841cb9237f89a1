//! `openclaw`: a thin command line over the library crates.

// First, so that its print macros (`outln!`, `errln!`, ...) are in scope everywhere below.
#[macro_use]
mod output;
mod args;
mod commands;
mod context;
mod exit;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::context::Context;

fn main() -> ExitCode {
    // Before anything reads keys or tokens: no other process of this user (a command the
    // agent runs included) may read this one's memory or environment, and no core file.
    openclaw_sandbox::harden_current_process();
    let cli = Cli::parse();
    let ctx = Context::from_process();
    let result = match cli.command {
        Command::Config(cmd) => commands::config::run(&ctx, cmd),
        Command::Models(cmd) => commands::models::run(&ctx, cmd),
        Command::Agent(args) => commands::agent::run(&ctx, args),
        Command::Chat(args) => commands::chat::run(&ctx, args),
        Command::Doctor(args) => commands::doctor::run(&ctx, args),
        Command::Onboard(args) => commands::onboard::run(&ctx, args),
        Command::Completions(args) => commands::completions::run(args),
        Command::Gateway(args) => commands::gateway::run(&ctx, args),
        Command::Memory(cmd) => commands::memory::run(&ctx, cmd),
        Command::Context(args) => commands::context::run(&ctx, args),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(e) => {
            output::error(format!("{e:#}"));
            exit::Exit::Failure.into()
        }
    }
}
