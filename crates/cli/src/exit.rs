//! The exit codes of `openclaw`, all of them: scripts branch on these, so a new meaning gets a
//! new variant here (and a line in docs/cli.md), never a number at the call site.

use std::process::ExitCode;

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// It did what was asked. Also when stdout was closed early (`| head`).
    Success = 0,
    /// It failed, or the check it ran found a problem (`doctor`, `config validate`, a provider
    /// that `models list` could not reach, a failed onboarding step); stderr says what and
    /// what to do.
    Failure = 1,
    /// The command line itself was wrong: unknown flag, missing argument (clap's code).
    Usage = 2,
    /// `gateway status`: no gateway is running.
    NotRunning = 3,
    /// Stopped by Ctrl-C before it finished: 128 + SIGINT, as shells report it.
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_the_code_clap_exits_with() {
        use clap::CommandFactory;
        let err = crate::args::Cli::command()
            .try_get_matches_from(["openclaw", "--no-such-flag"])
            .unwrap_err();
        assert_eq!(err.exit_code(), Exit::Usage as i32);
    }
}
