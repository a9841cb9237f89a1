//! The gateway: one port for the OpenAI-compatible HTTP API, the WebSocket protocol of the web
//! chat page, and the page itself (SPEC §7, docs/gateway-protocol.md).
//!
//! [`app`] builds the router (tests call it with `tower::ServiceExt::oneshot`, no socket);
//! [`serve`] runs it on a socket with limits, timeouts and a graceful shutdown. Every route
//! but the page and `/health` needs the token; every route checks `Host` and `Origin`.
//! Runs of the agent are the CLI's (same config, catalog, tools, transcripts), started by
//! either front door and streamed back as it goes.

mod assets;
pub mod auth;
pub mod completion;
pub mod error;
pub mod guard;
pub mod model_call;
pub mod openai;
pub mod responses;
pub mod run;
pub mod server;
pub mod sessions;
pub mod settings;
pub mod state;
pub mod ws;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
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
        .route("/ws", get(ws::upgrade))
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
