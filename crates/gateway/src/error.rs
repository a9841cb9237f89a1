//! Everything that can go wrong in the gateway, written for the person who reads it.
//!
//! One enum for start-up refusals (an unsafe bind, an unreadable token file) and for request
//! failures (bad token, bad JSON, unknown model). Each request failure knows its HTTP status,
//! its OpenAI error `type`/`code` (the shape OpenAI clients parse) and its WebSocket protocol
//! code (`unauthorized|bad_request|not_found|internal`, docs/gateway-protocol.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A gateway failure.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(
        "refusing to listen on {addr} without authentication: `gateway.auth.mode` is \"none\", which is allowed on loopback only\n  hint: remove `gateway.auth.mode` (a token is then required and generated), or listen on loopback with `--bind loopback`"
    )]
    UnauthenticatedNonLoopback { addr: SocketAddr },
    #[error(
        "refusing to listen on {addr} with a weak gateway token (set in {from}): {reason}; anyone who can reach that address could guess it\n  hint: {hint}"
    )]
    WeakToken {
        addr: SocketAddr,
        from: String,
        reason: String,
        hint: String,
    },
    #[error("`{value}` is not a bind address: {reason}\n  hint: use `loopback` (the default), `lan` (every interface) or an IP address such as `192.168.1.10`")]
    BadBind { value: String, reason: &'static str },
    #[error("`gateway.auth.mode` \"{0}\" is not supported by openclaw-rs\n  hint: use \"token\" (the default) or, on loopback only, \"none\"")]
    UnsupportedAuthMode(String),
    #[error("cannot listen on {addr}: {source}{}", bind_hint(source))]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot {action} the gateway token file {}: {source}", path.display())]
    TokenFile {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("missing or invalid gateway token\n  hint: send `Authorization: Bearer <token>`; the token is in `gateway.auth.token`, `OPENCLAW_GATEWAY_TOKEN` or <state>/gateway/token")]
    Unauthorized,
    #[error("too many failed authentication attempts from this address; retry in {} s", retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    #[error("this request's origin is not allowed ({0}); add it to `gateway.controlUi.allowedOrigins` to allow it")]
    ForbiddenOrigin(String),
    #[error("this request's Host header is not allowed ({0}): the gateway answers only to its own addresses (a DNS-rebinding defence)")]
    ForbiddenHost(String),
    /// A `Host` or `Origin` header that is not plain visible ASCII: it cannot be checked, so it
    /// is not taken as absent either.
    #[error("this request's {0} header is not valid: it must be visible ASCII (a browser sends international names in their `xn--` form)")]
    UnreadableHeader(&'static str),
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("{0}")]
    BadRequest(String),
    /// A request field that is refused (not supported, or a bad value), named in the OpenAI
    /// error's `param`.
    #[error("{message}")]
    InvalidParam {
        param: String,
        code: &'static str,
        message: String,
    },
    #[error("this method is not allowed on this path")]
    MethodNotAllowed,
    #[error("model `{0}` is not in the catalog\n  hint: GET /v1/models lists the models; `openclaw` runs the agent's default model")]
    ModelNotFound(String),
    /// A run's own model-not-found message, passed on as is.
    #[error("{0}")]
    RunModelNotFound(String),
    #[error("no such {what}: `{id}`")]
    NotFound { what: &'static str, id: String },
    #[error("unknown method `{0}`; the methods are connect, health, models.list, sessions.list, chat.history, chat.send, chat.abort and exec.approve")]
    UnknownMethod(String),
    #[error("session `{0}` already has a run going; wait for it or abort it")]
    SessionBusy(String),
    #[error("the gateway is shutting down")]
    ShuttingDown,
    #[error("{0}")]
    NoModel(String),
    #[error("{0}")]
    Upstream(String),
    /// A model server's failure whose class a client can act on (rate limited, the request
    /// refused, a timeout), with its message kept.
    #[error("{message}")]
    UpstreamStatus {
        status: u16,
        code: &'static str,
        message: String,
    },
    #[error("{0}")]
    Internal(String),
}

fn bind_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => "\n  hint: another program (maybe another gateway: `openclaw gateway status`) uses this port; pick another with `--port`",
        std::io::ErrorKind::AddrNotAvailable => "\n  hint: this machine has no such address; use `--bind loopback` or `--bind lan`",
        std::io::ErrorKind::PermissionDenied => "\n  hint: ports below 1024 need privileges; pick a higher one with `--port`",
        _ => "",
    }
}

impl GatewayError {
    /// The HTTP status of a request failure.
    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::Unauthorized => StatusCode::UNAUTHORIZED,
            GatewayError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            GatewayError::ForbiddenOrigin(_) | GatewayError::ForbiddenHost(_) => {
                StatusCode::FORBIDDEN
            }
            GatewayError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::BadRequest(_)
            | GatewayError::BadBind { .. }
            | GatewayError::UnreadableHeader(_) => StatusCode::BAD_REQUEST,
            GatewayError::InvalidParam { .. } => StatusCode::BAD_REQUEST,
            GatewayError::ModelNotFound(_)
            | GatewayError::RunModelNotFound(_)
            | GatewayError::UnknownMethod(_)
            | GatewayError::NotFound { .. } => StatusCode::NOT_FOUND,
            GatewayError::SessionBusy(_) => StatusCode::CONFLICT,
            GatewayError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            GatewayError::ShuttingDown | GatewayError::NoModel(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            GatewayError::Upstream(_) => StatusCode::BAD_GATEWAY,
            GatewayError::UpstreamStatus { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// OpenAI's error `type`.
    pub fn openai_type(&self) -> &'static str {
        match self.status().as_u16() {
            401 => "authentication_error",
            403 => "permission_error",
            404 if matches!(self, GatewayError::NotFound { .. }) => "not_found_error",
            429 => "rate_limit_error",
            400..=499 => "invalid_request_error",
            _ => "server_error",
        }
    }

    /// OpenAI's error `code`, where one applies.
    pub fn openai_code(&self) -> Option<&'static str> {
        Some(match self {
            GatewayError::Unauthorized => "invalid_api_key",
            GatewayError::RateLimited { .. } => "rate_limit_exceeded",
            GatewayError::ModelNotFound(_) | GatewayError::RunModelNotFound(_) => "model_not_found",
            GatewayError::BodyTooLarge { .. } => "payload_too_large",
            GatewayError::SessionBusy(_) => "session_busy",
            GatewayError::ShuttingDown => "shutting_down",
            GatewayError::NoModel(_) => "no_model",
            GatewayError::Upstream(_) => "upstream_failed",
            GatewayError::InvalidParam { code, .. } | GatewayError::UpstreamStatus { code, .. } => {
                *code
            }
            _ => return None,
        })
    }

    /// The WebSocket protocol's error code.
    pub fn ws_code(&self) -> &'static str {
        match self.status().as_u16() {
            401 | 403 | 429 => "unauthorized",
            404 => "not_found",
            400..=499 => "bad_request",
            _ => "internal",
        }
    }

    /// The OpenAI error body: `{"error":{"message","type","param","code"}}`.
    pub fn openai_body(&self) -> serde_json::Value {
        json!({
            "error": {
                "message": self.to_string(),
                "type": self.openai_type(),
                "param": match self {
                    GatewayError::InvalidParam { param, .. } => Some(param.as_str()),
                    _ => None,
                },
                "code": self.openai_code(),
            }
        })
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.openai_body())).into_response();
        let headers = response.headers_mut();
        match &self {
            GatewayError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            GatewayError::RateLimited { retry_after } => {
                let secs = retry_after.as_secs().max(1).to_string();
                if let Ok(v) = HeaderValue::from_str(&secs) {
                    headers.insert(header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_failures_map_to_both_protocols() {
        let e = GatewayError::ModelNotFound("ollama/nope".into());
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        assert_eq!(e.openai_type(), "invalid_request_error");
        assert_eq!(e.openai_code(), Some("model_not_found"));
        assert_eq!(e.ws_code(), "not_found");
        assert_eq!(GatewayError::Unauthorized.ws_code(), "unauthorized");
        assert_eq!(
            GatewayError::BadRequest("x".into()).ws_code(),
            "bad_request"
        );
        assert_eq!(GatewayError::Internal("x".into()).ws_code(), "internal");
        let body = GatewayError::Unauthorized.openai_body();
        assert_eq!(body["error"]["type"], "authentication_error");
        assert!(body["error"]["param"].is_null());
    }
}
