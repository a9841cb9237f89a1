//! One model call on a client's behalf, with the client's own tools: no agent loop, no
//! transcript. The client sent the whole conversation (its tool results included) and gets
//! the model's reply — text, or calls of its tools — to act on itself.
//!
//! What it shares with an agent turn: the model is chosen the same way (`openclaw` means the
//! configured default; the configured fallbacks follow), a model that fails before saying
//! anything hands over to the next one, models cooling down after recent failures are skipped
//! (the same health file as the agent's), textual tool calls of small models are recovered by
//! the model client, and the run is registered like any other, so a client that goes away or a
//! shutdown stops it. Its events are the agent's [`ChatEvent`]s, so both OpenAI endpoints
//! render either kind of run.

use std::sync::Arc;

use openclaw_agent::health::{self, ModelHealth, HEALTH_FILE};
use openclaw_agent::{now_ms, resolve_candidates, Candidate};
use openclaw_config::InputKind;
use openclaw_llm::{
    Backlog, ChatMessage, ChatRequest, ModelClient, RequestOptions, StreamEvent, ThinkingLevel,
    ToolChoice, ToolSpec,
};
use openclaw_models::{Catalog, Selection};
use serde_json::Value;
use tokio::sync::Notify;

use crate::completion::unsupported;
use crate::error::GatewayError;
use crate::run::{check_model, ChatEvent, EventSink, ModelChoice};
use crate::state::{signalled, AppState};

/// What the request needs from its model, checked before anything is started.
pub struct Needs<'a> {
    /// Where the request's first image is, when it has one.
    pub image_param: Option<&'a str>,
    pub options: &'a RequestOptions,
}

/// The models a request may use, first choice first: the chosen one (or the default), then
/// the configured fallbacks that can take the request. A first choice that cannot take it
/// (images for a text-only model, a tool choice its wire cannot carry) is a 400 naming it.
pub async fn candidates(
    state: &AppState,
    choice: &ModelChoice,
    needs: &Needs<'_>,
) -> Result<Vec<Candidate>, GatewayError> {
    let catalog = state.catalog().await;
    let selection = Selection::from_config(&state.config);
    let chosen = match choice {
        ModelChoice::Default => None,
        ModelChoice::Ref(m) => {
            check_model(&catalog, state, m)?;
            Some(
                selection
                    .resolve(m)
                    .map_err(|_| GatewayError::ModelNotFound(m.clone()))?,
            )
        }
    };
    let env = &state.env;
    let (all, notes) =
        resolve_candidates(&catalog, &state.config, &selection, chosen.as_ref(), env);
    for note in &notes {
        tracing::info!("{note}");
    }
    let Some(first) = all.first() else {
        return Err(GatewayError::NoModel(
            "no model to use: the catalog has no usable model\n  hint: `openclaw models list` shows what is available; with Ollama, `export OLLAMA_API_KEY=ollama-local` and pull a tools-capable model".into(),
        ));
    };
    if let Some(refusal) = refusal(&catalog, first, needs) {
        return Err(refusal);
    }
    let usable: Vec<Candidate> = all
        .iter()
        .enumerate()
        .filter(|(i, c)| *i == 0 || refusal(&catalog, c, needs).is_none())
        .map(|(_, c)| c.clone())
        .collect();
    Ok(usable)
}

/// Why `candidate` cannot take a request with these needs.
fn refusal(catalog: &Catalog, candidate: &Candidate, needs: &Needs<'_>) -> Option<GatewayError> {
    let model = candidate.model_ref.to_string();
    if let Some(param) = needs.image_param {
        let takes_images = catalog
            .find(&candidate.model_ref.provider, &candidate.model_ref.model)
            .is_some_and(|m| m.input.contains(&InputKind::Image));
        if !takes_images {
            return Some(GatewayError::InvalidParam {
                param: param.to_owned(),
                code: "image_input_not_supported",
                message: format!(
                    "model `{model}` takes text only (its catalog entry's `input` has no \"image\"), so it cannot be sent an image\n  hint: choose a vision model (Ollama reports the `vision` capability), or list `input: [\"text\", \"image\"]` in the model's entry under `models.providers`"
                ),
            });
        }
    }
    let (param, why) = needs.options.unsupported_on(candidate.endpoint.api)?;
    Some(unsupported(param, &format!("model `{model}`: {why}")))
}

/// A model call to run.
pub struct ModelCallSpec {
    pub candidates: Vec<Candidate>,
    pub messages: Vec<ChatMessage>,
    pub tools: Vec<ToolSpec>,
    pub options: RequestOptions,
    pub thinking: Option<ThinkingLevel>,
    /// Paces the model to a streaming client.
    pub backlog: Option<Arc<Backlog>>,
}

/// Unregisters the call however its task ends.
struct Registered {
    state: Arc<AppState>,
    run_id: String,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.state.unregister_run(&self.run_id);
    }
}

/// Registers and starts the call; its events go to `sink`, ending with exactly one terminal
/// event. Returns the run id (for [`crate::run::AbortOnDrop`]).
pub fn spawn(
    state: &Arc<AppState>,
    spec: ModelCallSpec,
    sink: EventSink,
) -> Result<String, GatewayError> {
    if state.is_draining() {
        return Err(GatewayError::ShuttingDown);
    }
    let run_id = state.next_id("run");
    let cancel = Arc::new(Notify::new());
    state.register_detached_run(&run_id, cancel.clone());
    let registered = Registered {
        state: state.clone(),
        run_id: run_id.clone(),
    };
    let state = state.clone();
    tokio::spawn(async move {
        let _registered = registered;
        let hard_stop = state.hard_stop_signal();
        let end = tokio::select! {
            biased;
            _ = cancel.notified() => ChatEvent::Aborted,
            _ = signalled(hard_stop) => ChatEvent::Error {
                message: "the gateway is shutting down".into(),
                kind: "shutdown".into(),
            },
            end = execute(&state, spec, &sink) => end,
        };
        sink(end);
    });
    Ok(run_id)
}

/// Walks the candidates until one answers; returns the terminal event.
async fn execute(state: &AppState, spec: ModelCallSpec, sink: &EventSink) -> ChatEvent {
    let mut health = ModelHealth::at(
        state
            .paths
            .agent_dir(openclaw_config::DEFAULT_AGENT_ID)
            .join(HEALTH_FILE),
    );
    let one_call_only = spec.options.parallel_tool_calls == Some(false);
    let tools = if spec.options.tool_choice == Some(ToolChoice::None) {
        Vec::new()
    } else {
        spec.tools
    };
    let candidates = &spec.candidates;
    let mut i = 0;
    loop {
        // Like the agent: a model cooling down is skipped while another is left.
        while i + 1 < candidates.len() {
            let model = candidates[i].model_ref.to_string();
            let Some(cooling) = health.cooling(&model, now_ms()) else {
                break;
            };
            i += 1;
            sink(ChatEvent::Fallback {
                from: model,
                to: candidates[i].model_ref.to_string(),
                kind: "cooldown".into(),
                message: format!(
                    "failed {} time(s) in a row recently (last: {}); skipped for now",
                    cooling.failures, cooling.kind
                ),
            });
        }
        let Some(candidate) = candidates.get(i) else {
            return ChatEvent::Error {
                message: "no model to use".into(),
                kind: "no-model".into(),
            };
        };
        let model = candidate.model_ref.to_string();
        sink(ChatEvent::Model {
            model: model.clone(),
        });
        let mut client = ModelClient::new(candidate.endpoint.clone());
        if let Some(backlog) = &spec.backlog {
            client = client.with_backlog(backlog.clone());
        }
        let request = ChatRequest {
            model: candidate.model_id.clone(),
            messages: spec.messages.clone(),
            tools: tools.clone(),
            thinking: if candidate.reasoning {
                spec.thinking
            } else {
                None
            },
            max_tokens: None,
            num_ctx: candidate.num_ctx,
            temperature: candidate.temperature,
        };
        let mut said_something = false;
        let mut calls = 0usize;
        let result = {
            let mut forward = |e: StreamEvent| match e {
                StreamEvent::Text(t) => {
                    said_something = true;
                    sink(ChatEvent::Delta(t));
                }
                StreamEvent::Thinking(t) => {
                    said_something = true;
                    sink(ChatEvent::Thinking(t));
                }
                StreamEvent::ToolCall(call) => {
                    // `parallel_tool_calls: false`: the first call only.
                    if one_call_only && calls >= 1 {
                        return;
                    }
                    calls += 1;
                    said_something = true;
                    let arguments = if call.arguments.is_null() {
                        Value::String(call.raw_arguments)
                    } else {
                        call.arguments
                    };
                    sink(ChatEvent::ToolCall {
                        id: call.id,
                        name: call.name,
                        arguments,
                    });
                }
            };
            client
                .stream_chat_with(&request, &spec.options, &mut forward)
                .await
        };
        match result {
            Ok(reply) => {
                health.succeeded(&model);
                let finish_reason = if calls > 0 {
                    "tool_calls"
                } else {
                    match reply.finish_reason.as_deref() {
                        Some("length") => "length",
                        Some("content_filter") => "content_filter",
                        _ => "stop",
                    }
                };
                let usage = reply.usage.unwrap_or_default();
                return ChatEvent::Final {
                    answer: reply.text,
                    thinking: reply.thinking,
                    model,
                    prompt_tokens: usage.prompt_tokens,
                    completion_tokens: usage.completion_tokens,
                    finish_reason: Some(finish_reason.into()),
                };
            }
            Err(error) => {
                if error.should_fall_back() && health::counts(&error) {
                    health.failed(&model, error.kind(), now_ms());
                }
                // Once the client has seen part of a reply, another model cannot take over.
                if error.should_fall_back() && !said_something && i + 1 < candidates.len() {
                    i += 1;
                    sink(ChatEvent::Fallback {
                        from: model,
                        to: candidates[i].model_ref.to_string(),
                        kind: error.kind().into(),
                        message: error.to_string(),
                    });
                    continue;
                }
                return ChatEvent::Error {
                    message: format!("{model}: {error}"),
                    kind: error.kind().into(),
                };
            }
        }
    }
}
