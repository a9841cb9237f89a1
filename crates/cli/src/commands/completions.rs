//! `openclaw completions SHELL`: tab completion for every command and flag.
//!
//! The script is generated from the same clap definitions the binary parses with
//! (`clap_complete`, clap's own generator), so it can never fall behind the real command line.

use crate::exit::Exit;

use anyhow::Result;
use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs};

pub fn run(args: CompletionsArgs) -> Result<Exit> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "openclaw", &mut script);
    // Generated into memory (clap_complete panics on a failed write), then written in one go
    // through the printer, which ends quietly on a closed pipe (`| head`).
    out!("{}", String::from_utf8_lossy(&script));
    Ok(Exit::Success)
}
