//! `openclaw completions SHELL`: tab completion for every command and flag.
//!
//! The script is generated from the same clap definitions the binary parses with
//! (`clap_complete`, clap's own generator), so it can never fall behind the real command line.

use std::process::ExitCode;

use anyhow::Result;
use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs};

pub fn run(args: CompletionsArgs) -> Result<ExitCode> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "openclaw", &mut script);
    // Written in one go: a closed pipe (`| head`) is an error to report, not a panic.
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&script)?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
