//! What every request shares: the config, the lazily built model catalog, the runs in flight,
//! which sessions are busy, the auth brake, and the shutdown signals.
//!
//! The catalog is built on first use, not at start-up (Ollama discovery can take seconds and
//! the gateway must listen at once), and kept for a few seconds so that a burst of requests
//! costs one discovery, while a model pulled a moment ago still shows up soon.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use openclaw_config::{Env, OpenClawConfig, StatePaths, DEFAULT_AGENT_ID};
use openclaw_models::{assemble_catalog, Catalog, Selection};
use tokio::sync::{broadcast, watch, Notify};

use crate::approvals::ExecApprovals;
use crate::auth::{AuthBrake, BrakeSettings};
use crate::ledger::RunLedger;
use crate::origin_policy::OriginPolicy;
use crate::protocol::Scope;
use crate::session_settings::SessionSettings;
use crate::settings::AuthMode;

/// Sizes and times the gateway enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest HTTP request body.
    pub max_body_bytes: usize,
    /// Largest WebSocket frame or message.
    pub max_ws_frame_bytes: usize,
    /// How long an `exec` approval waits for `exec.approve` before it is denied.
    pub approval_timeout: Duration,
    /// How long running streams may go on after a shutdown signal.
    pub shutdown_grace: Duration,
    /// How long a built catalog is reused.
    pub catalog_ttl: Duration,
    /// Time allowed for a client to send a request's headers.
    pub header_read_timeout: Duration,
    /// Time allowed for a client to send a request's body.
    pub body_read_timeout: Duration,
    /// Time a WebSocket has to send `connect`.
    pub ws_connect_timeout: Duration,
    /// How often a connected WebSocket gets a `tick` event.
    pub ws_tick_interval: Duration,
    /// The longest `agent.wait` waits.
    pub agent_wait_max: Duration,
    /// Open connections at most; further ones wait to be accepted.
    pub max_connections: usize,
    pub brake: BrakeSettings,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 2 * 1024 * 1024,
            max_ws_frame_bytes: 1024 * 1024,
            approval_timeout: Duration::from_secs(120),
            shutdown_grace: Duration::from_secs(10),
            catalog_ttl: Duration::from_secs(5),
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(30),
            ws_connect_timeout: Duration::from_secs(10),
            ws_tick_interval: Duration::from_secs(30),
            agent_wait_max: Duration::from_secs(600),
            max_connections: 8192,
            brake: BrakeSettings::default(),
        }
    }
}

/// Everything [`AppState::new`] needs.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    pub config: OpenClawConfig,
    pub paths: StatePaths,
    /// The environment, captured once (`OLLAMA_HOST`, `OLLAMA_API_KEY`, …).
    pub env: Env,
    pub auth: AuthMode,
    /// The address listened on (its IP decides which `Host` values are ours).
    pub bind: SocketAddr,
    /// `gateway.controlUi.allowedOrigins`.
    pub allowed_origins: Vec<String>,
    pub limits: Limits,
}

/// State shared by every request.
pub struct AppState {
    pub config: OpenClawConfig,
    pub paths: StatePaths,
    pub env: Env,
    pub auth: AuthMode,
    pub limits: Limits,
    pub origin_policy: OriginPolicy,
    pub brake: AuthBrake,
    pub started: Instant,
    catalog: tokio::sync::Mutex<Option<(Instant, Arc<Catalog>)>>,
    pub(crate) runs: Mutex<HashMap<String, RunControl>>,
    runs_changed: Notify,
    sessions: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
    next_id: AtomicU64,
    next_connection: AtomicU64,
    /// Set when a shutdown signal arrived: no new runs, WebSockets close once idle.
    draining: watch::Sender<bool>,
    /// Set when the grace period is over: runs still going are ended.
    hard_stop: watch::Sender<bool>,
    ws_open: AtomicUsize,
    ws_changed: Notify,
    /// Exec approvals waiting for a person.
    pub approvals: Arc<ExecApprovals>,
    /// How protocol runs ended (`agent.wait`, idempotent retries).
    pub ledger: RunLedger,
    /// `sessions.patch` settings.
    pub session_settings: SessionSettings,
    /// Events for every WebSocket (runs' events reach the other connections this way).
    pub bus: broadcast::Sender<Arc<Broadcast>>,
}

/// An event published to every WebSocket connection but the one it came from.
#[derive(Debug)]
pub struct Broadcast {
    /// The connection that sent it already (0: none).
    pub from: u64,
    pub event: &'static str,
    /// The payload, as JSON text.
    pub payload: Arc<str>,
    /// The scope a connection needs to receive it.
    pub scope: Scope,
}

/// How many broadcast events a slow connection may fall behind before it misses some.
const BUS_CAPACITY: usize = 1024;

/// How to stop one run, and which session it runs in.
pub(crate) struct RunControl {
    pub cancel: Arc<Notify>,
    pub session_id: String,
}

impl AppState {
    pub fn new(options: GatewayOptions) -> Arc<Self> {
        let origin_policy = OriginPolicy::new(options.bind.ip(), &options.allowed_origins);
        let settings_path = options
            .paths
            .state_dir
            .join("gateway")
            .join("session-settings.json");
        Arc::new(Self {
            brake: AuthBrake::new(options.limits.brake),
            config: options.config,
            paths: options.paths,
            env: options.env,
            auth: options.auth,
            limits: options.limits,
            origin_policy,
            started: Instant::now(),
            catalog: tokio::sync::Mutex::new(None),
            runs: Mutex::new(HashMap::new()),
            runs_changed: Notify::new(),
            sessions: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            next_connection: AtomicU64::new(1),
            draining: watch::channel(false).0,
            hard_stop: watch::channel(false).0,
            ws_open: AtomicUsize::new(0),
            ws_changed: Notify::new(),
            approvals: Arc::new(ExecApprovals::default()),
            ledger: RunLedger::default(),
            session_settings: SessionSettings::new(settings_path),
            bus: broadcast::channel(BUS_CAPACITY).0,
        })
    }

    /// `<state>/agents/main/sessions`.
    pub fn sessions_dir(&self) -> PathBuf {
        self.paths.sessions_dir(DEFAULT_AGENT_ID)
    }

    /// The agent's configured primary model, as written (`ollama/llama3.3`).
    pub fn default_model(&self) -> Option<String> {
        Selection::from_config(&self.config)
            .primary
            .map(|r| r.to_string())
    }

    /// A process-unique id: `<prefix>-<start-ms in hex>-<n>`.
    pub fn next_id(&self, prefix: &str) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}-{:x}-{n}", openclaw_agent::now_ms())
    }

    /// A number for a new WebSocket connection (from 1).
    pub fn next_connection(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    /// The catalog, built now if the cached one is missing or too old. Concurrent callers
    /// share one build.
    pub async fn catalog(&self) -> Arc<Catalog> {
        let mut slot = self.catalog.lock().await;
        if let Some((built, catalog)) = slot.as_ref() {
            if built.elapsed() < self.limits.catalog_ttl {
                return catalog.clone();
            }
        }
        let started = Instant::now();
        let catalog = Arc::new(self.build_catalog().await);
        tracing::debug!(
            models = catalog.models.len(),
            ms = started.elapsed().as_millis() as u64,
            "built the model catalog"
        );
        *slot = Some((Instant::now(), catalog.clone()));
        catalog
    }

    /// Runs discovery, as every command does.
    async fn build_catalog(&self) -> Catalog {
        let assembled = assemble_catalog(&self.config, &self.paths, &self.env, None).await;
        // A broken auth-profiles file counts as empty, as for every command; the log says why.
        if let Some(e) = assembled.auth_profiles_error {
            tracing::warn!("{e}");
        }
        assembled.catalog
    }

    /// The lock of one session's transcript: one run at a time per session.
    pub fn session_lock(&self, session_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lock) = map.get(session_id).and_then(Weak::upgrade) {
            return lock;
        }
        if map.len() >= 1024 {
            map.retain(|_, w| w.strong_count() > 0);
        }
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        map.insert(session_id.to_string(), Arc::downgrade(&lock));
        lock
    }

    /// Registers a run; false when a run with this id is going already.
    pub(crate) fn register_run(&self, run_id: &str, control: RunControl) -> bool {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        if runs.contains_key(run_id) {
            return false;
        }
        runs.insert(run_id.to_string(), control);
        true
    }

    /// The runs going in a session.
    pub fn session_runs(&self, session_id: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .runs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, c)| c.session_id == session_id)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Publishes an event to every WebSocket connection but `from`.
    pub fn publish(&self, from: u64, event: &'static str, payload: Arc<str>, scope: Scope) {
        // No receiver (no connection) is not an error.
        let _ = self.bus.send(Arc::new(Broadcast {
            from,
            event,
            payload,
            scope,
        }));
    }

    pub(crate) fn unregister_run(&self, run_id: &str) {
        self.runs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(run_id);
        self.runs_changed.notify_waiters();
    }

    /// Registers a run that belongs to no session (a model call with a client's own tools),
    /// so that aborts and the shutdown find it. Its id must be fresh ([`AppState::next_id`]).
    pub(crate) fn register_detached_run(&self, run_id: &str, cancel: Arc<Notify>) {
        let _fresh = self.register_run(
            run_id,
            RunControl {
                cancel,
                session_id: String::new(),
            },
        );
    }

    /// Asks a run to stop; false when no such run is going.
    pub fn abort_run(&self, run_id: &str) -> bool {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        match runs.get(run_id) {
            Some(control) => {
                control.cancel.notify_one();
                true
            }
            None => false,
        }
    }

    /// Whether this run is still going.
    pub fn is_run_active(&self, run_id: &str) -> bool {
        self.runs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(run_id)
    }

    /// How many runs are going.
    pub fn active_runs(&self) -> usize {
        self.runs.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Waits until no run is going.
    pub async fn runs_idle(&self) {
        loop {
            let changed = self.runs_changed.notified();
            if self.active_runs() == 0 {
                return;
            }
            changed.await;
        }
    }

    /// Whether a shutdown has begun.
    pub fn is_draining(&self) -> bool {
        *self.draining.borrow()
    }

    /// Begins the shutdown: no new runs; WebSockets close once their runs are done.
    pub fn begin_drain(&self) {
        self.draining.send_replace(true);
    }

    /// Ends the runs that are still going.
    pub fn stop_hard(&self) {
        self.hard_stop.send_replace(true);
    }

    pub fn draining_signal(&self) -> watch::Receiver<bool> {
        self.draining.subscribe()
    }

    pub fn hard_stop_signal(&self) -> watch::Receiver<bool> {
        self.hard_stop.subscribe()
    }

    pub(crate) fn ws_opened(&self) {
        self.ws_open.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn ws_closed(&self) {
        self.ws_open.fetch_sub(1, Ordering::SeqCst);
        self.ws_changed.notify_waiters();
    }

    /// Open WebSocket connections.
    pub fn open_websockets(&self) -> usize {
        self.ws_open.load(Ordering::SeqCst)
    }

    /// Waits until every WebSocket has closed.
    pub async fn websockets_closed(&self) {
        loop {
            let changed = self.ws_changed.notified();
            if self.open_websockets() == 0 {
                return;
            }
            changed.await;
        }
    }
}

/// Resolves once `rx` reads true (or its sender is gone).
pub async fn signalled(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}
