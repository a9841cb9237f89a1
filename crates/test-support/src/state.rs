//! What the server's handlers share: the models being served, the log of requests, the pull
//! scripts and the server-wide settings.
//!
//! Its own module so that the handlers (`ollama_api`, `chat`, `pull`) depend on it and the
//! server that routes to them does too, while no handler reaches back into the server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::pull_script::PullScript;
use crate::spec::{normalize_name, Behaviour, ModelSpec, Reply};

/// One request as the server received it, recorded before it was handled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path without the query string, e.g. `/api/show`.
    pub path: String,
    /// Header names (lower case) and values, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, decoded as UTF-8 (lossily).
    pub body: String,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// A model being served, with the count of chat requests that have used its script.
pub(crate) struct ModelEntry {
    pub(crate) spec: ModelSpec,
    chat_calls: AtomicUsize,
}

impl ModelEntry {
    pub(crate) fn new(spec: ModelSpec) -> Self {
        ModelEntry {
            spec,
            chat_calls: AtomicUsize::new(0),
        }
    }

    /// The scripted reply for the next chat request: replies in order, then the last again.
    pub(crate) fn next_reply(&self) -> Option<&Reply> {
        let call = self.chat_calls.fetch_add(1, Ordering::Relaxed);
        self.spec
            .replies
            .get(call)
            .or_else(|| self.spec.replies.last())
    }
}

/// State shared by all handlers.
pub(crate) struct ServerState {
    models: RwLock<Vec<Arc<ModelEntry>>>,
    requests: Mutex<Vec<RecordedRequest>>,
    pub(crate) tags_behaviour: Behaviour,
    pub(crate) ps_context_length: u64,
    completions: AtomicUsize,
    /// `/api/pull` scripts by normalized model name (`llama3.3:latest`).
    pull_scripts: RwLock<Vec<(String, PullScript)>>,
    /// Requests to this path are held until this many have arrived: see
    /// [`crate::TestServerBuilder::rendezvous`].
    rendezvous: Option<(String, usize)>,
    /// How many requests have arrived at the rendezvous path.
    rendezvous_arrived: tokio::sync::watch::Sender<usize>,
}

impl ServerState {
    /// An empty server: no models, no requests, no pull scripts.
    pub(crate) fn new(
        tags_behaviour: Behaviour,
        ps_context_length: u64,
        rendezvous: Option<(String, usize)>,
    ) -> Self {
        ServerState {
            models: RwLock::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            tags_behaviour,
            ps_context_length,
            completions: AtomicUsize::new(0),
            pull_scripts: RwLock::new(Vec::new()),
            rendezvous,
            rendezvous_arrived: tokio::sync::watch::channel(0).0,
        }
    }

    /// Holds a request to the rendezvous path until enough of them have arrived; returns at
    /// once for any other path.
    pub(crate) async fn rendezvous(&self, path: &str) {
        let Some((_, wanted)) = self.rendezvous.as_ref().filter(|(p, _)| p == path) else {
            return;
        };
        self.rendezvous_arrived.send_modify(|n| *n += 1);
        let mut arrived = self.rendezvous_arrived.subscribe();
        // An error means the sender is gone: the server is shutting down anyway.
        let _ = arrived.wait_for(|n| n >= wanted).await;
    }

    /// A snapshot of the served models, in the order they were added.
    pub(crate) fn models(&self) -> Vec<Arc<ModelEntry>> {
        self.models
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The model a request names, by Ollama's matching rule.
    pub(crate) fn find(&self, requested: &str) -> Option<Arc<ModelEntry>> {
        self.models
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|m| m.spec.matches(requested))
            .cloned()
    }

    /// A sequence number for `chatcmpl-` ids.
    pub(crate) fn next_completion_id(&self) -> usize {
        self.completions.fetch_add(1, Ordering::Relaxed)
    }

    /// The `/api/pull` script for a requested name, by Ollama's matching rule.
    pub(crate) fn pull_script(&self, requested: &str) -> Option<PullScript> {
        let wanted = normalize_name(requested);
        self.pull_scripts
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(&wanted))
            .map(|(_, script)| script.clone())
    }

    pub(crate) fn set_pull_script(&self, name: &str, script: PullScript) {
        let name = normalize_name(name);
        let mut scripts = self
            .pull_scripts
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        scripts.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        scripts.push((name, script));
    }

    /// Adds a model, replacing one with the same listed name (like re-pulling it).
    pub(crate) fn upsert(&self, spec: ModelSpec) {
        let entry = Arc::new(ModelEntry::new(spec));
        let mut models = self.models.write().unwrap_or_else(PoisonError::into_inner);
        let listed = entry.spec.listed_name();
        match models.iter_mut().find(|m| m.spec.listed_name() == listed) {
            Some(slot) => *slot = entry,
            None => models.push(entry),
        }
    }

    pub(crate) fn remove(&self, name: &str) {
        self.models
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|m| !m.spec.matches(name));
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request);
    }

    pub(crate) fn recorded(&self) -> Vec<RecordedRequest> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn recorded_count(&self) -> usize {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}
