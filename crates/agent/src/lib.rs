//! The agent: a loop over a model and four tools, with transcripts, compaction and fallback.

mod compaction;
pub mod context;
mod exec;
pub mod health;
mod memory_tools;
pub mod prompt;
mod runner;
mod session;
mod setup;
mod tools;
mod workspace;

pub use compaction::{estimate_tokens, needs_compaction};
pub use context::{attach_context, AgentContext};
pub use exec::{ExecAsk, ExecPolicy, ExecSecurity, DEFAULT_SAFE_BINS};
pub use memory_tools::MemoryTools;
pub use prompt::{PromptReport, SessionKind};
pub use runner::*;
pub use session::{new_session_id, now_ms, Entry, Session, SessionError, TRANSCRIPT_VERSION};
pub use setup::{assemble_agent, exec_policy, workspace_dir, Assembled, SetupError};
pub use tools::{
    run_tool, tool_specs, Approval, ApprovalRequest, Approver, Decision, NoApprover, ToolContext,
    ToolOutcome,
};
pub use workspace::{OutsideWorkspace, Workspace};
