//! The agent: a loop over a model and four tools, with transcripts, compaction and fallback.

mod compaction;
mod exec;
pub mod health;
mod runner;
mod session;
mod setup;
mod tools;
mod workspace;

pub use compaction::{estimate_tokens, needs_compaction};
pub use exec::{ExecAsk, ExecPolicy, ExecSecurity, DEFAULT_SAFE_BINS};
pub use runner::*;
pub use session::{new_session_id, now_ms, Entry, Session, SessionError, TRANSCRIPT_VERSION};
pub use setup::{assemble_agent, exec_policy, workspace_dir, Assembled, SetupError};
pub use tools::{
    run_tool, tool_specs, Approval, ApprovalRequest, Approver, Decision, NoApprover, ToolContext,
    ToolOutcome,
};
pub use workspace::{OutsideWorkspace, Workspace};
