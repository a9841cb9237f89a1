//! The gateway: one port for the OpenAI-compatible HTTP API, OpenClaw's WebSocket protocol
//! (its CLI, its terminal UI and our web chat page speak it on `/`), and the page itself
//! (docs/gateway-protocol.md).
//!
//! [`app`] builds the router (tests call it with `tower::ServiceExt::oneshot`, no socket);
//! [`serve`] runs it on a socket with limits, timeouts and a graceful shutdown. Every route
//! but the page and `/health` needs the token; every route checks `Host` and `Origin`.
//! Runs of the agent are the CLI's (same config, catalog, tools, transcripts), started by
//! either front door and streamed back as it goes.

pub mod approvals;
mod assets;
pub mod auth;
pub mod completion;
pub mod error;
pub mod guard;
pub mod ledger;
pub mod model_call;
pub mod openai;
pub mod origin_policy;
pub mod protocol;
pub mod responses;
pub mod run;
pub mod server;
pub mod session_settings;
pub mod sessions;
pub mod settings;
pub mod state;
pub mod ws;

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::{header, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::json;

pub use error::GatewayError;
pub use server::{bind, raise_fd_limit};
pub use settings::{AuthMode, ResolvedAuth, TokenSource};
pub use state::{AppState, GatewayOptions, Limits};

/// The routes, with the `Host`/`Origin` guard around all of them and the token check around
/// the API.
pub fn app(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/v1/models", get(openai::list_models))
        .route("/v1/models/{*id}", get(openai::get_model))
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/responses", post(responses::create))
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/health", get(health))
        .route("/", any(root))
        .merge(api)
        .fallback(assets::serve)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::check_request,
        ))
        .with_state(state)
}

/// Serves [`app`] on `listener` until `shutdown` resolves; returns once the shutdown is done.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let router = app(state.clone());
    server::serve(listener, state, router, shutdown).await;
}

/// `/`: a WebSocket upgrade starts the protocol (the token is checked by its `connect`);
/// anything else is the page.
async fn root(
    State(state): State<Arc<AppState>>,
    ws::PeerIp(peer): ws::PeerIp,
    method: Method,
    uri: Uri,
    request: Request,
) -> Response {
    let wants_upgrade = request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !wants_upgrade {
        return assets::serve(method, uri).await;
    }
    let (mut parts, _body) = request.into_parts();
    match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(upgrade) => ws::upgrade(state, peer, upgrade),
        Err(rejection) => rejection.into_response(),
    }
}

/// `GET /health`: no token needed.
async fn health() -> Json<serde_json::Value> {
    Json(json!({"ok": true}))
}

async fn method_not_allowed() -> Response {
    GatewayError::MethodNotAllowed.into_response()
}

/// Middleware: `Authorization: Bearer <token>`, braked per client address.
async fn require_token(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let token = auth::bearer_token(request.headers());
    match state.brake.authenticate(&state.auth, peer, token) {
        Ok(()) => next.run(request).await,
        Err(e) => {
            tracing::warn!(peer = ?peer, path = %request.uri().path(), "{e}");
            e.into_response()
        }
    }
}
