//! One agent turn run on behalf of a client, as a task of its own.
//!
//! Both front doors (the OpenAI-compatible HTTP API and the WebSocket protocol) start runs the
//! same way and read the same wire-neutral [`ChatEvent`]s; each turns them into its own frames.
//! A run can be stopped three ways — `chat.abort`, the client going away, the end of the
//! shutdown grace period — and always ends with exactly one terminal event (`final`, `error`
//! or `aborted`). The transcript is the CLI's (`<state>/agents/main/sessions/<id>.jsonl`), so
//! a session started with `openclaw agent` continues here and the other way round.

use std::sync::Arc;

use openclaw_agent::{
    assemble_agent, now_ms, AgentError, AgentEvent, Approval, ApprovalRequest, Approver, Decision,
    Entry, NoApprover, Session, TurnOutcome,
};
use openclaw_llm::{Backlog, RequestOptions, Role, ThinkingLevel};
use openclaw_models::{Catalog, Selection};
use serde_json::Value;
use tokio::sync::Notify;

use crate::approvals::ExecApprovals;
use crate::error::GatewayError;
use crate::state::{signalled, AppState, RunControl};

/// What a run reports while it goes and when it ends.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// The model being asked.
    Model { model: String },
    /// Answer text.
    Delta(String),
    /// Reasoning text.
    Thinking(String),
    /// The model asked for a tool.
    ToolCall {
        id: String,
        name: String,
        arguments: Value,
    },
    /// A tool finished.
    ToolResult {
        id: String,
        name: String,
        arguments: Value,
        result: String,
        is_error: bool,
    },
    /// An `exec` waits for a person's answer.
    Approval {
        approval_id: String,
        command: String,
        /// Whether it runs inside the OS sandbox once approved.
        sandboxed: bool,
    },
    /// Nobody answered that approval in time: the command was denied.
    ApprovalExpired { approval_id: String },
    /// A model failed and the next one is tried.
    Fallback {
        from: String,
        to: String,
        kind: String,
        message: String,
    },
    /// Terminal: the answer.
    Final {
        answer: String,
        thinking: String,
        model: String,
        prompt_tokens: u64,
        completion_tokens: u64,
        /// Why the last reply ended (`stop`, `length`, `tool_calls`), when the server said.
        finish_reason: Option<String>,
    },
    /// Terminal: the run failed.
    Error { message: String, kind: String },
    /// Terminal: the run was stopped.
    Aborted,
}

impl ChatEvent {
    /// Whether this event ends the run.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            ChatEvent::Final { .. } | ChatEvent::Error { .. } | ChatEvent::Aborted
        )
    }
}

/// Where a run's events go. Called from the run's task; must not block.
pub type EventSink = Arc<dyn Fn(ChatEvent) + Send + Sync>;

/// Which model a run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelChoice {
    /// The agent's default model (and its fallbacks).
    Default,
    /// A catalog ref or alias, tried first; the configured fallbacks follow.
    Ref(String),
}

impl ModelChoice {
    /// `openclaw`, `openclaw/main`, `openclaw/default` → the default; `openclaw/<other>` →
    /// unknown agent; anything else is a model ref.
    pub fn parse(model: Option<&str>) -> Result<Self, GatewayError> {
        let Some(m) = model.map(str::trim).filter(|m| !m.is_empty()) else {
            return Ok(ModelChoice::Default);
        };
        if m == "openclaw" {
            return Ok(ModelChoice::Default);
        }
        if let Some(agent) = m.strip_prefix("openclaw/") {
            return if agent == openclaw_config::DEFAULT_AGENT_ID || agent == "default" {
                Ok(ModelChoice::Default)
            } else {
                Err(GatewayError::ModelNotFound(m.to_string()))
            };
        }
        Ok(ModelChoice::Ref(m.to_string()))
    }
}

/// An earlier message to put in a fresh session before the turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedMessage {
    pub role: Role,
    pub content: String,
}

/// What to run.
pub struct RunSpec {
    pub session_id: String,
    pub message: String,
    pub model: ModelChoice,
    pub thinking: Option<ThinkingLevel>,
    /// Added to a session that has no messages yet.
    pub seed: Vec<SeedMessage>,
    /// The client's own system prompt, added after the agent's.
    pub system: Option<String>,
    pub approvals: Approvals,
    /// Wait for a busy session (HTTP) instead of refusing at once (WebSocket).
    pub wait_for_session: bool,
    /// Paces the model to the client: text is read from the model only while the client is
    /// at most the backlog's limit behind (streamed HTTP).
    pub backlog: Option<Arc<Backlog>>,
    /// Generation settings for every model call of the run (the OpenAI API's `max_tokens`,
    /// `temperature`, images, …).
    pub options: RequestOptions,
}

/// Who answers an `exec` outside the allowlist.
#[derive(Clone)]
pub enum Approvals {
    /// Nobody: the command is refused with a hint (the HTTP API).
    Nobody,
    /// The WebSocket clients that may approve, through `exec.approval.requested` events and
    /// `exec.approval.resolve`.
    Ask(Arc<ExecApprovals>),
}

impl Approvals {
    fn approver(&self, state: &Arc<AppState>, sink: &EventSink) -> Box<dyn Approver> {
        match self {
            Approvals::Nobody => Box::new(NoApprover),
            Approvals::Ask(pending) => Box::new(ClientApprover {
                pending: pending.clone(),
                sink: sink.clone(),
                state: state.clone(),
            }),
        }
    }
}

/// Asks the clients through an [`ChatEvent::Approval`] and waits for one to answer.
struct ClientApprover {
    pending: Arc<ExecApprovals>,
    sink: EventSink,
    state: Arc<AppState>,
}

/// Takes an approval off the list however the wait ends (answered, timed out, run stopped).
struct Waiting<'a>(&'a ExecApprovals, &'a str);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.forget(self.1);
    }
}

impl Approver for ClientApprover {
    fn approve<'a>(&'a mut self, request: ApprovalRequest<'a>) -> Approval<'a> {
        let command = request.command;
        let sandboxed = request.sandboxed;
        Box::pin(async move {
            let approval_id = self.state.next_id("approval");
            let rx = self.pending.wait_for(&approval_id)?;
            let _waiting = Waiting(&self.pending, &approval_id);
            (self.sink)(ChatEvent::Approval {
                approval_id: approval_id.clone(),
                command: command.to_string(),
                sandboxed,
            });
            // A client approves or denies; running outside the sandbox is only offered on a
            // terminal.
            match tokio::time::timeout(self.state.limits.approval_timeout, rx).await {
                Ok(Ok(true)) => Some(Decision::Run),
                Ok(Ok(false)) => Some(Decision::Deny),
                Ok(Err(_)) => None,
                Err(_) => {
                    tracing::info!(command, "no answer to an exec approval in time; denied");
                    (self.sink)(ChatEvent::ApprovalExpired {
                        approval_id: approval_id.clone(),
                    });
                    Some(Decision::Deny)
                }
            }
        })
    }
}

/// A started run.
#[derive(Debug, Clone)]
pub struct RunHandle {
    pub run_id: String,
    pub session_id: String,
}

/// Stops the run when dropped (an HTTP client that went away).
pub struct AbortOnDrop {
    state: Arc<AppState>,
    run_id: String,
}

impl AbortOnDrop {
    pub fn new(state: Arc<AppState>, run_id: String) -> Self {
        Self { state, run_id }
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if self.state.abort_run(&self.run_id) {
            tracing::debug!(run = %self.run_id, "client went away; run stopped");
        }
    }
}

/// Unregisters the run however its task ends (even if the task is cancelled).
struct Registered {
    state: Arc<AppState>,
    run_id: String,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.state.unregister_run(&self.run_id);
    }
}

/// Checks that a chosen model can be run: its ref parses and the catalog knows its provider
/// (and, for a provider whose models are listed, the model).
pub fn check_model(catalog: &Catalog, state: &AppState, model: &str) -> Result<(), GatewayError> {
    let selection = Selection::from_config(&state.config);
    let r = selection
        .resolve(model)
        .map_err(|_| GatewayError::ModelNotFound(model.to_string()))?;
    if catalog.provider(&r.provider).is_none() {
        return Err(GatewayError::ModelNotFound(model.to_string()));
    }
    let listed = catalog.models.iter().any(|m| m.provider == r.provider);
    if listed && catalog.find(&r.provider, &r.model).is_none() {
        return Err(GatewayError::ModelNotFound(model.to_string()));
    }
    Ok(())
}

/// A run that is registered (so `chat.abort` finds it) but not started yet: the caller can
/// tell its client the run id before the first event can possibly arrive.
pub struct PreparedRun {
    state: Arc<AppState>,
    spec: RunSpec,
    handle: RunHandle,
    cancel: Arc<Notify>,
    lock: Arc<tokio::sync::Mutex<()>>,
    held: Option<tokio::sync::OwnedMutexGuard<()>>,
    registered: Registered,
}

/// Registers a run for `spec`: refuses when shutting down, or (without
/// `wait_for_session`) when the session is busy.
pub fn prepare_run(state: &Arc<AppState>, spec: RunSpec) -> Result<PreparedRun, GatewayError> {
    let run_id = state.next_id("run");
    prepare_run_as(state, spec, run_id)
}

/// [`prepare_run`] under a run id the client chose (its idempotency key); refused when a run
/// with that id is going.
pub fn prepare_run_as(
    state: &Arc<AppState>,
    spec: RunSpec,
    run_id: String,
) -> Result<PreparedRun, GatewayError> {
    if state.is_draining() {
        return Err(GatewayError::ShuttingDown);
    }
    let lock = state.session_lock(&spec.session_id);
    let held = if spec.wait_for_session {
        None
    } else {
        Some(
            lock.clone()
                .try_lock_owned()
                .map_err(|_| GatewayError::SessionBusy(spec.session_id.clone()))?,
        )
    };
    let cancel = Arc::new(Notify::new());
    if !state.register_run(
        &run_id,
        RunControl {
            cancel: cancel.clone(),
            session_id: spec.session_id.clone(),
        },
    ) {
        return Err(GatewayError::BadRequest(format!(
            "run `{run_id}` is already going"
        )));
    }
    Ok(PreparedRun {
        handle: RunHandle {
            run_id: run_id.clone(),
            session_id: spec.session_id.clone(),
        },
        registered: Registered {
            state: state.clone(),
            run_id,
        },
        state: state.clone(),
        spec,
        cancel,
        lock,
        held,
    })
}

impl PreparedRun {
    pub fn handle(&self) -> &RunHandle {
        &self.handle
    }

    /// Starts the run; its events go to `sink`, ending with exactly one terminal event.
    pub fn spawn(self, sink: EventSink) -> RunHandle {
        let PreparedRun {
            state,
            spec,
            handle,
            cancel,
            lock,
            held,
            registered,
        } = self;
        tokio::spawn(async move {
            let _registered = registered;
            let hard_stop = state.hard_stop_signal();
            let session_guard = match held {
                Some(guard) => Some(guard),
                None => tokio::select! {
                    biased;
                    _ = cancel.notified() => None,
                    _ = signalled(hard_stop.clone()) => None,
                    guard = lock.lock_owned() => Some(guard),
                },
            };
            let end = match session_guard {
                None => Ended::Aborted,
                Some(guard) => {
                    let end = tokio::select! {
                        biased;
                        _ = cancel.notified() => Ended::Aborted,
                        _ = signalled(hard_stop) => Ended::Failed(
                            "the gateway is shutting down; the transcript keeps what was said so far".into(),
                            "shutdown".into(),
                        ),
                        end = execute(&state, spec, &sink) => end,
                    };
                    // Free the session before the client hears the run is over, so its next
                    // message on the same session is never refused as busy.
                    drop(guard);
                    end
                }
            };
            sink(match end {
                Ended::Done(outcome) => ChatEvent::Final {
                    answer: outcome.answer,
                    thinking: outcome.thinking,
                    model: outcome.model,
                    prompt_tokens: outcome.usage.prompt_tokens,
                    completion_tokens: outcome.usage.completion_tokens,
                    finish_reason: outcome.finish_reason,
                },
                Ended::Failed(message, kind) => ChatEvent::Error { message, kind },
                Ended::Aborted => ChatEvent::Aborted,
            });
        });
        handle
    }
}

/// [`prepare_run`] and [`PreparedRun::spawn`] in one.
pub fn start_run(
    state: &Arc<AppState>,
    spec: RunSpec,
    sink: EventSink,
) -> Result<RunHandle, GatewayError> {
    Ok(prepare_run(state, spec)?.spawn(sink))
}

enum Ended {
    Done(TurnOutcome),
    /// message, kind
    Failed(String, String),
    Aborted,
}

fn failed(e: GatewayError) -> Ended {
    let kind = match &e {
        GatewayError::ModelNotFound(_) => "model-not-found",
        GatewayError::NoModel(_) => "no-model",
        GatewayError::BadRequest(_) => "bad-request",
        _ => "internal",
    };
    Ended::Failed(e.to_string(), kind.into())
}

/// The turn itself: catalog → agent → session → `run_turn`.
async fn execute(state: &Arc<AppState>, spec: RunSpec, sink: &EventSink) -> Ended {
    let catalog = state.catalog().await;
    let model = match &spec.model {
        ModelChoice::Default => None,
        ModelChoice::Ref(m) => {
            if let Err(e) = check_model(&catalog, state, m) {
                return failed(e);
            }
            Some(m.as_str())
        }
    };
    let env = &state.env;
    let assembled = match assemble_agent(
        &catalog,
        &state.config,
        &state.paths,
        env,
        model,
        spec.approvals.approver(state, sink),
    ) {
        Ok(a) => a,
        Err(e) => return failed(GatewayError::BadRequest(e.to_string())),
    };
    for note in &assembled.notes {
        tracing::info!("{note}");
    }
    let mut agent = assembled.agent;
    // The request's level, else the config's `thinkingDefault` (set by `assemble_agent`).
    if spec.thinking.is_some() {
        agent.thinking = spec.thinking;
    }
    agent.request_options = spec.options;
    if let Some(backlog) = &spec.backlog {
        agent.set_backlog(backlog.clone());
    }
    if let Some(system) = spec.system.filter(|s| !s.trim().is_empty()) {
        agent.system_prompt.push_str("\n\n");
        agent.system_prompt.push_str(&system);
    }
    let mut session = match Session::open(
        &state.sessions_dir(),
        &spec.session_id,
        agent.workspace.root(),
    ) {
        Ok(s) => s,
        // Another process (a CLI run) holds the transcript.
        Err(openclaw_agent::SessionError::Busy(id)) => {
            return failed(GatewayError::SessionBusy(id))
        }
        Err(e) => return failed(GatewayError::BadRequest(e.to_string())),
    };
    if session.message_count() == 0 {
        for m in spec.seed {
            let entry = Entry::Message {
                role: m.role,
                content: m.content,
                tool_calls: vec![],
                thinking: None,
                model: None,
                ts: now_ms(),
            };
            if let Err(e) = session.append(entry) {
                return failed(GatewayError::Internal(format!(
                    "cannot write the session transcript: {e}"
                )));
            }
        }
    }
    let mut on_event = |e: AgentEvent| {
        if let Some(event) = chat_event(e) {
            sink(event);
        }
    };
    match agent
        .run_turn(&mut session, &spec.message, &mut on_event)
        .await
    {
        Ok(outcome) => Ended::Done(outcome),
        Err(e) => {
            let kind = match &e {
                AgentError::NoModel(_) => "no-model".to_string(),
                // The last model's failure decides what the client is told (a lone model
                // that was rate limited is a 429, not a generic failure).
                AgentError::AllFailed(notes) => {
                    notes.last().map_or("all-failed", |n| n.kind).to_string()
                }
                AgentError::Fatal { error, .. } => error.kind().to_string(),
                AgentError::Transcript(_) => "transcript".to_string(),
                AgentError::TooManyRounds(_) => "too-many-rounds".to_string(),
            };
            Ended::Failed(e.to_string(), kind)
        }
    }
}

/// The agent's events as chat events (compaction is not part of the protocol).
fn chat_event(e: AgentEvent) -> Option<ChatEvent> {
    Some(match e {
        AgentEvent::Model { model } => ChatEvent::Model { model },
        AgentEvent::FallingBack {
            from,
            kind,
            message,
            to,
        } => ChatEvent::Fallback {
            from,
            to,
            kind: kind.to_string(),
            message,
        },
        AgentEvent::Text(t) => ChatEvent::Delta(t),
        AgentEvent::Thinking(t) => ChatEvent::Thinking(t),
        AgentEvent::ToolCall(call) => ChatEvent::ToolCall {
            arguments: shown_arguments(&call.arguments, &call.raw_arguments),
            id: call.id,
            name: call.name,
        },
        AgentEvent::ToolResult { call, outcome } => ChatEvent::ToolResult {
            arguments: shown_arguments(&call.arguments, &call.raw_arguments),
            id: call.id,
            name: call.name,
            result: outcome.content,
            is_error: outcome.is_error,
        },
        AgentEvent::Compacted { replaced } => {
            tracing::info!(replaced, "compacted older messages into a summary");
            return None;
        }
    })
}

/// The parsed arguments, or the raw text when they did not parse.
fn shown_arguments(arguments: &Value, raw: &str) -> Value {
    if arguments.is_null() {
        Value::String(raw.to_string())
    } else {
        arguments.clone()
    }
}

/// Whether `id` is a valid session id (the transcript's own rule: letters, digits, `.`, `_`,
/// `-`, at most 128, not `.`/`..`).
pub fn valid_session_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_choices() {
        assert_eq!(ModelChoice::parse(None).unwrap(), ModelChoice::Default);
        assert_eq!(
            ModelChoice::parse(Some("openclaw")).unwrap(),
            ModelChoice::Default
        );
        assert_eq!(
            ModelChoice::parse(Some("openclaw/main")).unwrap(),
            ModelChoice::Default
        );
        assert_eq!(
            ModelChoice::parse(Some("openclaw/default")).unwrap(),
            ModelChoice::Default
        );
        assert!(matches!(
            ModelChoice::parse(Some("openclaw/other")),
            Err(GatewayError::ModelNotFound(_))
        ));
        assert_eq!(
            ModelChoice::parse(Some("ollama/llama3.3")).unwrap(),
            ModelChoice::Ref("ollama/llama3.3".into())
        );
    }

    #[test]
    fn session_ids() {
        assert!(valid_session_id("openai-alice_1.2"));
        assert!(!valid_session_id("../x"));
        assert!(!valid_session_id(""));
        assert!(!valid_session_id(&"a".repeat(129)));
    }
}
