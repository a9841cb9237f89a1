//! Browser-facing defences that run before any route: the `Host` check (DNS rebinding), the
//! `Origin` check (cross-site requests and cross-site WebSockets) and CORS (closed unless
//! `gateway.controlUi.allowedOrigins` lists the origin).
//!
//! Why: a web page the user visits can make the browser talk to `127.0.0.1`. A page cannot set
//! `Authorization`, but it can open a WebSocket (browsers send `Origin`, which we check) and it
//! can point its own domain name at 127.0.0.1 (the browser then sends that name as `Host`,
//! which we refuse). Clients that are not browsers send neither header, or send them right.
//!
//! A `Host` or `Origin` header that is present but not visible ASCII (raw UTF-8 or Latin-1
//! bytes, inner spaces) is refused `400`: it cannot be compared with our names, and taking it
//! as absent would skip the check a browser-made request needs.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::GatewayError;
use crate::state::AppState;

/// Middleware: refuses foreign `Host`/`Origin`, answers CORS preflights for listed origins and
/// adds CORS headers to their responses.
pub async fn check_request(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let policy = &state.origin_policy;
    let headers = request.headers();
    let (host, origin) = match (
        readable_header(headers, header::HOST, "Host"),
        readable_header(headers, header::ORIGIN, "Origin"),
    ) {
        (Ok(host), Ok(origin)) => (host.map(str::to_string), origin.map(str::to_string)),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!("refused a request: {e}");
            return e.into_response();
        }
    };
    if let Some(h) = &host {
        if !policy.host_allowed(h) {
            tracing::warn!(host = %h, "refused a request with a foreign Host header");
            return GatewayError::ForbiddenHost(h.clone()).into_response();
        }
    }
    let Some(origin) = origin else {
        return next.run(request).await;
    };
    if !policy.origin_allowed(&origin, host.as_deref()) {
        tracing::warn!(origin = %origin, "refused a cross-origin request");
        return GatewayError::ForbiddenOrigin(origin).into_response();
    }
    let listed = policy.is_listed(&origin);
    if listed && request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        add_cors(response.headers_mut(), &origin);
        let h = response.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            allowed_headers(
                request
                    .headers()
                    .get(header::ACCESS_CONTROL_REQUEST_HEADERS),
            ),
        );
        h.append(
            header::VARY,
            HeaderValue::from_static("Access-Control-Request-Headers"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return response;
    }
    let mut response = next.run(request).await;
    if listed {
        add_cors(response.headers_mut(), &origin);
    }
    response
}

/// The headers a preflight allows: the ones the browser asks for (SDKs send their own, such
/// as the `openai` package's `x-stainless-*`), when they are a plain list of header names;
/// else the ones the gateway reads. Only configured origins get this far, and every header is
/// still subject to the token check.
fn allowed_headers(requested: Option<&HeaderValue>) -> HeaderValue {
    const OURS: &str = "authorization, content-type, x-openclaw-model";
    let names = requested
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|list| {
            !list.is_empty()
                && list.len() <= 4096
                && list.split(',').all(|name| {
                    let name = name.trim();
                    !name.is_empty()
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
                })
        });
    names
        .and_then(|list| HeaderValue::from_str(list).ok())
        .unwrap_or(HeaderValue::from_static(OURS))
}

fn add_cors(headers: &mut HeaderMap, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// The first `name` header as text: `Ok(None)` when absent, an error when present but not
/// visible ASCII (spaces and tabs only around the value, where HTTP allows them).
fn readable_header<'h>(
    headers: &'h HeaderMap,
    name: header::HeaderName,
    shown: &'static str,
) -> Result<Option<&'h str>, GatewayError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    let inner = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .map_or(&bytes[..0], |start| {
            let end = bytes
                .iter()
                .rposition(|b| !matches!(b, b' ' | b'\t'))
                .map_or(start, |e| e + 1);
            &bytes[start..end]
        });
    if !inner.iter().all(|b| b.is_ascii_graphic()) {
        return Err(GatewayError::UnreadableHeader(shown));
    }
    // Visible ASCII is UTF-8.
    std::str::from_utf8(inner)
        .map(Some)
        .map_err(|_| GatewayError::UnreadableHeader(shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_origins_must_be_visible_ascii() {
        let check = |name: header::HeaderName, value: &[u8]| {
            let mut h = HeaderMap::new();
            h.insert(name.clone(), HeaderValue::from_bytes(value).unwrap());
            readable_header(&h, name, "X")
                .map(|v| v.map(str::to_string))
                .map_err(|e| e.status())
        };
        for bad in [
            "évil.example".as_bytes(),
            b"127.0.0.1\xe9:1",
            b"\xff",
            b"127.0.0.1 :1",
            "localhost\u{a0}".as_bytes(),
        ] {
            for name in [header::HOST, header::ORIGIN] {
                assert_eq!(
                    check(name, bad),
                    Err(StatusCode::BAD_REQUEST),
                    "{}",
                    String::from_utf8_lossy(bad)
                );
            }
        }
        assert_eq!(
            check(header::HOST, b" 127.0.0.1:1\t"),
            Ok(Some("127.0.0.1:1".into()))
        );
        assert_eq!(check(header::ORIGIN, b""), Ok(Some(String::new())));
        assert_eq!(
            readable_header(&HeaderMap::new(), header::HOST, "Host").unwrap(),
            None
        );
    }

    #[test]
    fn preflights_allow_the_requested_headers() {
        let asked = HeaderValue::from_static("authorization, content-type, x-stainless-os");
        assert_eq!(
            allowed_headers(Some(&asked)),
            "authorization, content-type, x-stainless-os"
        );
        let odd = HeaderValue::from_static("authorization, bad header");
        assert_eq!(
            allowed_headers(Some(&odd)),
            "authorization, content-type, x-openclaw-model"
        );
        assert_eq!(
            allowed_headers(None),
            "authorization, content-type, x-openclaw-model"
        );
    }
}
