//! Turning a [`Behaviour`] into what the client sees: a late answer, no answer, an error
//! status or a broken body.
//!
//! Every endpoint that honours a behaviour asks [`gate`] first; only `Garbage` needs the
//! endpoint's cooperation, because the broken body is the real body cut short.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::spec::Behaviour;

/// What an endpoint does after its behaviour has been applied.
pub(crate) enum Gate {
    /// Answer normally (any delay has already passed).
    Proceed,
    /// Answer `200` with the normal body made invalid: see [`garbage`].
    Garbage,
    /// Answer with this response instead.
    Answer(Response),
}

/// Applies `behaviour`: sleeps for `Delay`, never returns for `Hang` (the task is dropped when
/// the client goes away or the server shuts down), builds the response for `Status`.
pub(crate) async fn gate(behaviour: &Behaviour) -> Gate {
    match behaviour {
        Behaviour::Normal => Gate::Proceed,
        Behaviour::Delay(d) => {
            tokio::time::sleep(*d).await;
            Gate::Proceed
        }
        Behaviour::Hang => std::future::pending().await,
        Behaviour::Status(code, body) => Gate::Answer(status(*code, body)),
        Behaviour::Garbage => Gate::Garbage,
    }
}

/// `200`, `content-type: application/json`, and the first half of `real_body`: what a client
/// sees when a connection or proxy cuts a response short.
pub(crate) fn garbage(real_body: &str) -> Response {
    let mut cut = real_body.len() / 2;
    while !real_body.is_char_boundary(cut) {
        cut -= 1;
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        real_body[..cut].to_owned(),
    )
        .into_response()
}

/// An arbitrary status with a body, typed as JSON when it is JSON. An invalid status code
/// becomes 500 rather than a panic.
fn status(code: u16, body: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if serde_json::from_str::<serde_json::Value>(body).is_ok() {
        "application/json; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    (
        status,
        [(header::CONTENT_TYPE, content_type)],
        body.to_owned(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn garbage_is_never_valid_json() {
        for body in [r#"{"models":[]}"#, r#"{"a":"ü"}"#, "{}", ""] {
            let response = garbage(body);
            assert_eq!(response.status(), StatusCode::OK);
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            assert!(body.starts_with(std::str::from_utf8(&bytes).unwrap()));
            assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_err());
        }
    }
}
