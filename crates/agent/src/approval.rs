//! Asking a person before a command runs: the question ([`ApprovalRequest`]), the answer
//! ([`Decision`]) and whoever is asked ([`Approver`]).
//!
//! Its own module because both sides use it and neither owns it: `exec` asks when its policy
//! says a command needs a question, `tools` carries the approver to `exec` in its `ToolContext`,
//! and the runner, the CLI and the gateway each supply one.

/// What a person decided about a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Do not run it.
    Deny,
    /// Run it (inside the sandbox when the request says it is sandboxed).
    Run,
    /// Run it outside the sandbox: a separate, explicit choice, never a default.
    RunUnsandboxed,
}

/// A command waiting for a person's decision.
#[derive(Debug, Clone, Copy)]
pub struct ApprovalRequest<'a> {
    /// Exactly what will run (`sh -c` of this text).
    pub command: &'a str,
    /// Whether it will run inside the OS sandbox if approved with [`Decision::Run`]. `false`
    /// when the sandbox is off or this machine cannot provide it: then the person should know
    /// that an approval lets it run unconfined.
    pub sandboxed: bool,
}

/// The answer to an approval request, once a person (or nobody) has answered.
pub type Approval<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Option<Decision>> + Send + 'a>>;

/// Asks a person whether a command may run. Async, so that a gateway can wait for a web
/// client's answer without blocking its runtime.
pub trait Approver: Send {
    /// `None` when nobody can be asked (no terminal, no connected client).
    fn approve<'a>(&'a mut self, request: ApprovalRequest<'a>) -> Approval<'a>;
}

/// Nobody to ask: every question is answered "no one is here".
pub struct NoApprover;

impl Approver for NoApprover {
    fn approve<'a>(&'a mut self, _: ApprovalRequest<'a>) -> Approval<'a> {
        Box::pin(async { None })
    }
}
