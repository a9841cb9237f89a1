//! The server's lifecycle: building, binding, routing (with every request recorded), changing
//! the model list while running, and shutting down on drop. What the handlers share lives in
//! `state`.
//!
//! The server runs on a Tokio runtime of its own rather than the caller's. Dropping the
//! [`TestServer`] shuts that runtime down in the background, which drops every connection
//! task — including requests parked forever by [`Behaviour::Hang`] — without blocking, and
//! works the same from async tests, sync tests and the `ollama-test-server` binary.

use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::pull_script::PullScript;
use crate::spec::{Behaviour, ModelSpec};
use crate::state::{RecordedRequest, ServerState};
use crate::{chat, ollama_api, pull};

/// Bodies larger than this are refused with 413 (chat requests with long histories fit).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The routes, with request recording wrapped around all of them (unknown paths included).
pub(crate) fn app(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/", get(ollama_api::root))
        .route("/api/version", get(ollama_api::version))
        .route("/api/tags", get(ollama_api::tags))
        .route("/api/show", post(ollama_api::show))
        .route("/api/ps", get(ollama_api::ps))
        .route("/api/pull", post(pull::pull))
        .route("/api/chat", post(chat::native_chat))
        .route("/v1/chat/completions", post(chat::openai_chat))
        .fallback(ollama_api::not_found)
        .method_not_allowed_fallback(ollama_api::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), record))
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// Records the request (body included) before any handler runs, so requests that hang or
/// fail are in the log too.
async fn record(State(state): State<Arc<ServerState>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES).await;
    let path = parts.uri.path().to_owned();
    state.record(RecordedRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        headers,
        body: match &bytes {
            Ok(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            Err(_) => String::new(),
        },
    });
    state.rendezvous(&path).await;
    match bytes {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(_) => ollama_api::ollama_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large or unreadable",
        ),
    }
}

/// Configures a [`TestServer`]: its models and server-wide behaviour.
#[derive(Clone, Debug)]
pub struct TestServerBuilder {
    models: Vec<ModelSpec>,
    tags_behaviour: Behaviour,
    ps_context_length: u64,
    port: u16,
    pull_scripts: Vec<(String, PullScript)>,
    rendezvous: Option<(String, usize)>,
}

impl Default for TestServerBuilder {
    fn default() -> Self {
        TestServerBuilder {
            models: Vec::new(),
            tags_behaviour: Behaviour::Normal,
            ps_context_length: 4096,
            port: 0,
            pull_scripts: Vec::new(),
            rendezvous: None,
        }
    }
}

impl TestServerBuilder {
    /// Serve this model.
    pub fn model(mut self, m: ModelSpec) -> Self {
        self.models.push(m);
        self
    }

    /// Serve these models.
    pub fn models(mut self, ms: impl IntoIterator<Item = ModelSpec>) -> Self {
        self.models.extend(ms);
        self
    }

    /// How `/api/tags` itself answers.
    pub fn tags_behaviour(mut self, b: Behaviour) -> Self {
        self.tags_behaviour = b;
        self
    }

    /// The `context_length` `/api/ps` reports for loaded models: Ollama's effective `num_ctx`
    /// (default 4096, Ollama's default).
    pub fn ps_context_length(mut self, n: u64) -> Self {
        self.ps_context_length = n;
        self
    }

    /// How `POST /api/pull` of `name` goes (`llama3.3` also answers `llama3.3:latest`). Without
    /// a script, pulling an installed model succeeds at once and any other name fails like
    /// Ollama's unknown-model pull.
    pub fn pull_script(mut self, name: &str, script: PullScript) -> Self {
        self.pull_scripts.push((name.to_owned(), script));
        self
    }

    /// Holds every request to `path` (`/api/tags`) unanswered until `count` of them have
    /// arrived, then lets them all through. A client that sends them one after another never
    /// gets an answer (its first request waits for one that is only sent after it), so this
    /// proves by behaviour, not by timing, that a client has the requests in flight at once.
    pub fn rendezvous(mut self, path: &str, count: usize) -> Self {
        self.rendezvous = Some((path.to_owned(), count));
        self
    }

    /// Listen on this port of 127.0.0.1 (default 0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Binds 127.0.0.1 and starts serving. Returns once the socket is bound, so requests made
    /// right after are answered.
    pub async fn start(self) -> std::io::Result<TestServer> {
        self.launch()
    }

    /// [`TestServerBuilder::start`] for synchronous tests (for example ones that run the CLI
    /// binary with `assert_cmd`): the server runs on its own threads either way.
    pub fn start_blocking(self) -> std::io::Result<TestServer> {
        self.launch()
    }

    fn launch(self) -> std::io::Result<TestServer> {
        let listener = TcpListener::bind(("127.0.0.1", self.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ollama-test-server")
            .enable_all()
            .build()?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let state = Arc::new(ServerState::new(
            self.tags_behaviour,
            self.ps_context_length,
            self.rendezvous,
        ));
        for spec in self.models {
            state.upsert(spec);
        }
        for (name, script) in self.pull_scripts {
            state.set_pull_script(&name, script);
        }
        let router = app(state.clone());
        runtime.spawn(async move {
            // Only returns on a fatal accept error; the test then sees connection failures.
            let _ = axum::serve(listener, router).await;
        });
        Ok(TestServer {
            addr,
            state,
            runtime: Some(runtime),
        })
    }
}

/// A running Ollama-compatible server on 127.0.0.1. Dropping it shuts it down, closing open
/// connections (hanging requests included) without waiting for them.
pub struct TestServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestServer {
    /// Starts configuring a server.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, in order, including ones still being answered.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.recorded()
    }

    /// How many requests have been received.
    pub fn request_count(&self) -> usize {
        self.state.recorded_count()
    }

    /// Adds a model while running (as `ollama pull` would); replaces one with the same name.
    pub fn add_model(&self, m: ModelSpec) {
        self.state.upsert(m);
    }

    /// Sets how `POST /api/pull` of `name` goes from now on (see
    /// [`TestServerBuilder::pull_script`]).
    pub fn set_pull_script(&self, name: &str, script: PullScript) {
        self.state.set_pull_script(name, script);
    }

    /// Removes a model while running (as `ollama rm` would); `llama3.3` removes
    /// `llama3.3:latest`.
    pub fn remove_model(&self, name: &str) {
        self.state.remove(name);
    }

    /// The listed names of the models currently served.
    pub fn model_names(&self) -> Vec<String> {
        self.state
            .models()
            .iter()
            .map(|m| m.spec.listed_name())
            .collect()
    }
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestServer")
            .field("url", &self.url())
            .field("requests", &self.request_count())
            .finish_non_exhaustive()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Never blocks, and is allowed inside another runtime's async context.
            runtime.shutdown_background();
        }
    }
}
