//! The agent: a loop over a model and four tools, with transcripts, compaction and fallback.

mod approval;
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

pub use approval::{Approval, ApprovalRequest, Approver, Decision, NoApprover};
pub use compaction::{estimate_tokens, needs_compaction};
pub use context::AgentContext;
pub use exec::{ExecAsk, ExecPolicy, ExecSecurity, DEFAULT_SAFE_BINS};
pub use memory_tools::MemoryTools;
pub use prompt::{PromptReport, SessionKind};
pub use runner::*;
pub use session::{new_session_id, now_ms, Entry, Session, SessionError, TRANSCRIPT_VERSION};
pub use setup::{
    assemble_agent, attach_context, exec_policy, resolve_candidates, workspace_dir, Assembled,
    SetupError, DEFAULT_IDLE_TIMEOUT, NATIVE_NUM_CTX_CAP,
};
pub use tools::{run_tool, tool_specs, ToolContext, ToolOutcome};
pub use workspace::{OutsideWorkspace, Workspace};
