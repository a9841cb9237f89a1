//! The agent loop: send the conversation and the tools, stream the reply, run the requested
//! tools, feed the results back, and repeat until the model answers without tool calls.
//! A turn's tool work is bounded — calls per reply, calls per turn, output bytes per turn — so
//! a reply with a thousand tool calls costs a bounded amount of memory and transcript.
//!
//! The turn walks the fallback chain on failures that another model may not have (connection,
//! timeout, 5xx, 429, 401/403, model not found), telling the user which model answered and why the others
//! were skipped; a context overflow compacts the history and retries instead.

use openclaw_llm::{
    ChatRequest, Endpoint, LlmError, ModelClient, StreamEvent, ThinkingLevel, ToolCall, ToolSpec,
    Usage,
};
use openclaw_models::ModelRef;

use crate::approval::Approver;
use crate::compaction::{compact, estimate_tokens, needs_compaction, request_messages};
use crate::context::AgentContext;
use crate::exec::ExecPolicy;
use crate::health::{self, ModelHealth};
use crate::memory_tools::MemoryTools;
use crate::prompt::PromptReport;
use crate::session::{now_ms, Entry, Session};
use crate::tools::{run_tool, tool_specs, ToolContext, ToolOutcome};
use crate::workspace::Workspace;

/// Model rounds in one turn before the agent stops.
pub const DEFAULT_MAX_ROUNDS: usize = 24;
/// Tool calls run from one model reply; the rest are answered with an error the model can read.
pub const MAX_TOOL_CALLS_PER_REPLY: usize = 32;
/// Tool calls run in one turn, all rounds together.
pub const MAX_TOOL_CALLS_PER_TURN: usize = 128;
/// Bytes of tool output fed back to the model in one turn; past it results are cut short.
/// With the per-call caps this bounds what one turn adds to memory and to the transcript,
/// however many calls a (hostile) reply makes.
pub const MAX_TOOL_OUTPUT_PER_TURN: usize = 2 * 1024 * 1024;

/// One model the turn may use, ready to call.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub model_ref: ModelRef,
    /// The provider's id for the model (`llama3.3:latest`).
    pub model_id: String,
    pub reasoning: bool,
    pub context_window: u64,
    pub max_tokens: u64,
    pub endpoint: Endpoint,
    /// Ollama native: `options.num_ctx`.
    pub num_ctx: Option<u64>,
    pub temperature: Option<f64>,
}

impl Candidate {
    /// The context the agent budgets with: what the server will actually use.
    pub fn budget(&self) -> u64 {
        self.num_ctx.unwrap_or(self.context_window)
    }
}

/// Something the user should see while a turn runs.
#[derive(Debug, Clone)]
pub enum AgentEvent {
    /// A model is being asked (first attempt or after a fallback).
    Model {
        model: String,
    },
    /// A model failed in a way that moves on to the next one.
    FallingBack {
        from: String,
        kind: &'static str,
        message: String,
        to: String,
    },
    Text(String),
    Thinking(String),
    ToolCall(ToolCall),
    ToolResult {
        call: ToolCall,
        outcome: ToolOutcome,
    },
    /// Older turns were summarised.
    Compacted {
        replaced: usize,
    },
}

/// A failed attempt, as reported to the user.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FallbackNote {
    pub model: String,
    pub kind: &'static str,
    pub message: String,
}

/// The result of one turn.
#[derive(Debug, Clone, Default)]
pub struct TurnOutcome {
    pub answer: String,
    pub thinking: String,
    pub model: String,
    pub tool_calls: Vec<(ToolCall, ToolOutcome)>,
    pub fallbacks: Vec<FallbackNote>,
    pub usage: Usage,
    pub rounds: usize,
    /// Why the final reply ended (`stop`, `length`, …), as the model's server said.
    pub finish_reason: Option<String>,
}

/// Why a turn failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("no model to use: {0}")]
    NoModel(String),
    #[error("{}", render_all_failed(.0))]
    AllFailed(Vec<FallbackNote>),
    #[error("{model}: {error}")]
    Fatal { model: String, error: LlmError },
    #[error("cannot write the session transcript: {0}")]
    Transcript(#[from] std::io::Error),
    #[error(
        "stopped after {0} model rounds without a final answer (the model kept calling tools)"
    )]
    TooManyRounds(usize),
}

fn render_all_failed(notes: &[FallbackNote]) -> String {
    let mut s = String::from("every model failed:");
    for n in notes {
        s.push_str(&format!("\n  {} ({}): {}", n.model, n.kind, n.message));
    }
    s.push_str("\n  hint: `openclaw models status` checks each provider; for Ollama, is `ollama serve` running?");
    s
}

/// The default system prompt: short, because small local models follow short prompts best.
pub fn default_system_prompt(workspace: &Workspace) -> String {
    format!(
        "You are OpenClaw, a personal assistant running on the user's own computer. \
         Use the tools when they help: read, write and edit files, and exec to run commands. \
         File paths are relative to the workspace ({}). Answer concisely.",
        workspace.root().display()
    )
}

/// What one turn has spent on tools.
#[derive(Default)]
struct TurnBudget {
    calls: usize,
    output: usize,
}

impl TurnBudget {
    /// Counts a result's size against the turn's output budget, cutting it where the budget
    /// ends (on a character boundary, with a note the model can read).
    fn charge(&mut self, mut result: ToolOutcome) -> ToolOutcome {
        let left = MAX_TOOL_OUTPUT_PER_TURN.saturating_sub(self.output);
        if result.content.len() > left {
            let mut cut = left;
            while !result.content.is_char_boundary(cut) {
                cut -= 1;
            }
            result.content.truncate(cut);
            result.content.push_str(&format!(
                "\n[cut: this turn's tool output reached {} MiB, the most one turn may return]",
                MAX_TOOL_OUTPUT_PER_TURN / (1024 * 1024)
            ));
        }
        self.output += result.content.len();
        result
    }
}

/// Runs turns of the agent.
pub struct Agent {
    pub candidates: Vec<Candidate>,
    pub workspace: Workspace,
    pub exec: ExecPolicy,
    pub approver: Box<dyn Approver>,
    pub thinking: Option<ThinkingLevel>,
    pub max_rounds: usize,
    pub system_prompt: String,
    /// Models that failed recently, skipped while they cool down.
    pub health: ModelHealth,
    /// Workspace files in the prompt and the memory tools (see [`crate::context`]); without
    /// it `system_prompt` is sent alone.
    pub context: Option<AgentContext>,
    /// Generation settings for every model call of a turn (a gateway client's `max_tokens`,
    /// `temperature`, …); none by default.
    pub request_options: openclaw_llm::RequestOptions,
    /// Index of the model that answered last; later rounds start there.
    active: usize,
    /// One client per candidate, so connections are reused across rounds and turns.
    clients: Vec<ModelClient>,
}

impl Agent {
    pub fn new(
        candidates: Vec<Candidate>,
        workspace: Workspace,
        exec: ExecPolicy,
        approver: Box<dyn Approver>,
    ) -> Self {
        let system_prompt = default_system_prompt(&workspace);
        let clients = candidates
            .iter()
            .map(|c| ModelClient::new(c.endpoint.clone()))
            .collect();
        Self {
            clients,
            candidates,
            workspace,
            exec,
            approver,
            thinking: None,
            max_rounds: DEFAULT_MAX_ROUNDS,
            system_prompt,
            health: ModelHealth::in_memory(),
            context: None,
            request_options: openclaw_llm::RequestOptions::default(),
            active: 0,
        }
    }

    /// Paces the reading of every model's replies to the consumer of the streamed text (the
    /// gateway's slow clients): see [`openclaw_llm::Backlog`].
    pub fn set_backlog(&mut self, backlog: std::sync::Arc<openclaw_llm::Backlog>) {
        self.clients = std::mem::take(&mut self.clients)
            .into_iter()
            .map(|c| c.with_backlog(backlog.clone()))
            .collect();
    }

    /// The model that answered last.
    pub fn active_model(&self) -> Option<&Candidate> {
        self.candidates.get(self.active)
    }

    /// The tools offered to the model: the file and exec tools, plus the memory tools when on.
    pub fn tool_list(&self) -> Vec<ToolSpec> {
        let mut tools = tool_specs();
        if self.context.as_ref().is_some_and(|c| c.memory.is_some()) {
            tools.extend(MemoryTools::specs());
        }
        tools
    }

    /// The system prompt for a model whose context is `context_tokens`, with its report (no
    /// report without a workspace context).
    pub fn system_prompt_for(
        &self,
        context_tokens: u64,
        tools: &[ToolSpec],
    ) -> (String, Option<PromptReport>) {
        let Some(context) = &self.context else {
            return (self.system_prompt.clone(), None);
        };
        let (prompt, report) = context.system_prompt(
            &self.system_prompt,
            self.workspace.root(),
            context_tokens,
            tools,
        );
        (prompt, Some(report))
    }

    /// The report for the first model of the chain (what `openclaw context` shows).
    pub fn prompt_report(&self) -> Option<(String, PromptReport)> {
        let first = self.candidates.first()?;
        let tools = self.tool_list();
        let (prompt, report) = self.system_prompt_for(first.budget(), &tools);
        report.map(|r| (prompt, r))
    }

    /// Compacts the session now (`/compact`), with the active model; returns how many
    /// messages the summary replaced.
    pub async fn compact_now(
        &mut self,
        session: &mut Session,
    ) -> Result<Option<usize>, AgentError> {
        let (Some(cand), Some(client)) = (
            self.candidates.get(self.active),
            self.clients.get(self.active),
        ) else {
            return Err(AgentError::NoModel("no model to write the summary".into()));
        };
        Ok(
            match compact(session, client, &cand.model_id, cand.budget()).await? {
                Some(Entry::Compaction { replaced, .. }) => Some(replaced),
                _ => None,
            },
        )
    }

    /// One user turn: appends the message, loops model ↔ tools, returns the final answer.
    pub async fn run_turn(
        &mut self,
        session: &mut Session,
        user: &str,
        on_event: &mut (dyn FnMut(AgentEvent) + Send),
    ) -> Result<TurnOutcome, AgentError> {
        if self.candidates.is_empty() {
            return Err(AgentError::NoModel(
                "the catalog has no usable model\n  hint: `openclaw models list` shows what is available; with Ollama, `export OLLAMA_API_KEY=ollama-local` and pull a tools-capable model".into(),
            ));
        }
        session.append(Entry::Message {
            role: openclaw_llm::Role::User,
            content: user.to_string(),
            tool_calls: vec![],
            thinking: None,
            model: None,
            ts: now_ms(),
        })?;
        let mut outcome = TurnOutcome::default();
        let mut budget = TurnBudget::default();
        let tools = self.tool_list();
        self.active = 0;
        let mut announced: Option<usize> = None;
        for round in 1..=self.max_rounds {
            outcome.rounds = round;
            let (resp, cand) = self
                .call_with_fallback(session, &tools, &mut outcome, &mut announced, on_event)
                .await?;
            outcome.model = cand.model_ref.to_string();
            if let Some(u) = resp.usage {
                outcome.usage.prompt_tokens += u.prompt_tokens;
                outcome.usage.completion_tokens += u.completion_tokens;
            }
            outcome.thinking.push_str(&resp.thinking);
            session.append(Entry::Message {
                role: openclaw_llm::Role::Assistant,
                content: resp.text.clone(),
                tool_calls: resp.tool_calls.clone(),
                thinking: (!resp.thinking.is_empty()).then(|| resp.thinking.clone()),
                model: Some(cand.model_ref.to_string()),
                ts: now_ms(),
            })?;
            if resp.tool_calls.is_empty() {
                outcome.answer = resp.text;
                outcome.finish_reason = resp.finish_reason;
                session.sync().await?;
                return Ok(outcome);
            }
            for (index, call) in resp.tool_calls.iter().enumerate() {
                let result = if index >= MAX_TOOL_CALLS_PER_REPLY {
                    ToolOutcome::error(format!(
                        "not run: one reply may make at most {MAX_TOOL_CALLS_PER_REPLY} tool calls; \
                         ask for this one again in your next reply"
                    ))
                } else if budget.calls >= MAX_TOOL_CALLS_PER_TURN {
                    ToolOutcome::error(format!(
                        "not run: this turn already ran {MAX_TOOL_CALLS_PER_TURN} tool calls, the most \
                         one turn may; answer the user with what you have"
                    ))
                } else {
                    budget.calls += 1;
                    let mut ctx = ToolContext {
                        workspace: &self.workspace,
                        exec: &self.exec,
                        approver: self.approver.as_mut(),
                    };
                    let memory = self.context.as_ref().and_then(|c| c.memory.as_ref());
                    let answered = match memory {
                        Some(memory) => memory.run(call).await,
                        None => None,
                    };
                    let result = match answered {
                        Some(result) => result,
                        None => run_tool(call, &mut ctx).await,
                    };
                    budget.charge(result)
                };
                session.append(Entry::ToolResult {
                    tool_call_id: call.id.clone(),
                    tool_name: call.name.clone(),
                    content: result.content.clone(),
                    is_error: result.is_error,
                    ts: now_ms(),
                })?;
                on_event(AgentEvent::ToolResult {
                    call: call.clone(),
                    outcome: result.clone(),
                });
                outcome.tool_calls.push((call.clone(), result));
            }
        }
        session.sync().await?;
        Err(AgentError::TooManyRounds(self.max_rounds))
    }

    /// One model round, walking the fallback chain from the active model.
    async fn call_with_fallback(
        &mut self,
        session: &mut Session,
        tools: &[openclaw_llm::ToolSpec],
        outcome: &mut TurnOutcome,
        announced: &mut Option<usize>,
        on_event: &mut (dyn FnMut(AgentEvent) + Send),
    ) -> Result<(openclaw_llm::ChatResponse, Candidate), AgentError> {
        let mut i = self.active;
        let mut overflow_retried = false;
        loop {
            // A model cooling down after recent failures is skipped while another is left to
            // try; when all are cooling, they are tried anyway.
            while i + 1 < self.candidates.len() {
                let model = self.candidates[i].model_ref.to_string();
                let Some(cooling) = self.health.cooling(&model, now_ms()) else {
                    break;
                };
                let note = FallbackNote {
                    model: model.clone(),
                    kind: "cooldown",
                    message: format!(
                        "failed {} time(s) in a row recently (last: {}); skipped for {} more s, then tried again",
                        cooling.failures,
                        cooling.kind,
                        cooling.until_ms.saturating_sub(now_ms()).div_ceil(1000)
                    ),
                };
                outcome.fallbacks.push(note.clone());
                i += 1;
                on_event(AgentEvent::FallingBack {
                    from: note.model,
                    kind: note.kind,
                    message: note.message,
                    to: self.candidates[i].model_ref.to_string(),
                });
            }
            let cand = self.candidates[i].clone();
            let client = &self.clients[i];
            if *announced != Some(i) {
                on_event(AgentEvent::Model {
                    model: cand.model_ref.to_string(),
                });
                *announced = Some(i);
            }
            // Budget before sending: compact when the prompt nears the effective context.
            // The workspace files are sized for this model's context.
            let system = self.system_prompt_for(cand.budget(), tools).0;
            let messages = request_messages(&system, session);
            if needs_compaction(
                estimate_tokens(&messages, tools),
                cand.budget(),
                cand.max_tokens,
            ) {
                if let Some(Entry::Compaction { replaced, .. }) =
                    compact(session, client, &cand.model_id, cand.budget()).await?
                {
                    on_event(AgentEvent::Compacted { replaced });
                }
            }
            let request = ChatRequest {
                model: cand.model_id.clone(),
                messages: request_messages(&system, session),
                tools: tools.to_vec(),
                thinking: if cand.reasoning { self.thinking } else { None },
                max_tokens: None,
                num_ctx: cand.num_ctx,
                temperature: cand.temperature,
            };
            let mut forward = |e: StreamEvent| match e {
                StreamEvent::Text(t) => on_event(AgentEvent::Text(t)),
                StreamEvent::Thinking(t) => on_event(AgentEvent::Thinking(t)),
                StreamEvent::ToolCall(c) => on_event(AgentEvent::ToolCall(c)),
            };
            match client
                .stream_chat_with(&request, &self.request_options, &mut forward)
                .await
            {
                Ok(resp) => {
                    self.active = i;
                    self.health.succeeded(&cand.model_ref.to_string());
                    return Ok((resp, cand));
                }
                Err(LlmError::ContextOverflow { .. }) if !overflow_retried => {
                    overflow_retried = true;
                    if let Some(Entry::Compaction { replaced, .. }) =
                        compact(session, client, &cand.model_id, cand.budget() / 2).await?
                    {
                        on_event(AgentEvent::Compacted { replaced });
                    }
                }
                Err(e) if e.should_fall_back() => {
                    if health::counts(&e) {
                        self.health
                            .failed(&cand.model_ref.to_string(), e.kind(), now_ms());
                    }
                    let note = FallbackNote {
                        model: cand.model_ref.to_string(),
                        kind: e.kind(),
                        message: e.to_string(),
                    };
                    outcome.fallbacks.push(note.clone());
                    if i + 1 >= self.candidates.len() {
                        return Err(AgentError::AllFailed(outcome.fallbacks.clone()));
                    }
                    i += 1;
                    let next = self.candidates[i].model_ref.to_string();
                    session.append(Entry::ModelChange {
                        model: next.clone(),
                        reason: Some(format!(
                            "{} failed ({}): {}",
                            note.model, note.kind, note.message
                        )),
                        ts: now_ms(),
                    })?;
                    on_event(AgentEvent::FallingBack {
                        from: note.model,
                        kind: note.kind,
                        message: note.message,
                        to: next,
                    });
                    overflow_retried = false;
                }
                Err(error) => {
                    return Err(AgentError::Fatal {
                        model: cand.model_ref.to_string(),
                        error,
                    })
                }
            }
        }
    }
}
