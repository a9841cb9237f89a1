//! Turning a [`Behaviour`] into what the client sees: a late answer, no answer, an error
//! status or a broken body.
//!
//! Every endpoint that honours a behaviour asks [`gate`] first; only `Garbage` needs the
//! endpoint's cooperation, because the broken body is the real body cut short.

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::spec::{Behaviour, RawEnd, RawReply, RawTotal};

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
        Behaviour::Raw(raw) => Gate::Answer(raw_response(raw)),
    }
}

/// Where a [`RawReply`] is in its body.
struct RawState {
    body: Bytes,
    chunk: usize,
    delay: std::time::Duration,
    /// Bytes to write in all; `None`: forever.
    limit: Option<u64>,
    end: RawEnd,
    written: u64,
    offset: usize,
    ended: bool,
}

/// Streams a [`RawReply`] from one copy of its body, so a huge or endless reply costs the
/// server no memory.
fn raw_response(raw: &RawReply) -> Response {
    let state = RawState {
        body: Bytes::from(raw.body.clone()),
        chunk: raw.chunk,
        delay: raw.delay,
        limit: match raw.total {
            RawTotal::Once => Some(raw.body.len() as u64),
            RawTotal::Bytes(n) => Some(n),
            RawTotal::Forever => None,
        },
        end: raw.end,
        written: 0,
        offset: 0,
        ended: false,
    };
    let stream = futures_util::stream::unfold(state, |mut s| async move {
        if s.ended {
            return None;
        }
        let remaining = s.limit.map_or(u64::MAX, |l| l.saturating_sub(s.written));
        if remaining == 0 || s.body.is_empty() {
            s.ended = true;
            if s.end != RawEnd::Close && !s.delay.is_zero() {
                // Let what was written reach the client before the cut or the stall.
                tokio::time::sleep(s.delay).await;
            }
            return match s.end {
                RawEnd::Close => None,
                RawEnd::Cut => Some((
                    Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "cut by the test",
                    )),
                    s,
                )),
                RawEnd::Hang => std::future::pending().await,
            };
        }
        if s.written > 0 && !s.delay.is_zero() {
            tokio::time::sleep(s.delay).await;
        }
        let mut n = s.body.len() - s.offset;
        if s.chunk > 0 {
            n = n.min(s.chunk);
        }
        n = n.min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let piece = s.body.slice(s.offset..s.offset + n);
        s.offset = (s.offset + n) % s.body.len();
        s.written += n as u64;
        Some((Ok::<Bytes, std::io::Error>(piece), s))
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() =
        StatusCode::from_u16(raw.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(content_type) = raw
        .content_type
        .as_deref()
        .and_then(|c| header::HeaderValue::from_str(c).ok())
    {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    response
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
    use std::time::Duration;

    async fn body_of(raw: RawReply) -> (StatusCode, Option<String>, Result<Vec<u8>, String>) {
        let response = raw_response(&raw);
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .map(|b| b.to_vec())
            .map_err(|e| e.to_string());
        (status, content_type, body)
    }

    #[tokio::test]
    async fn raw_replies_are_written_as_scripted() {
        let (status, content_type, body) =
            body_of(RawReply::new("text/plain", "abc").chunked(1, Duration::from_millis(1))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type.as_deref(), Some("text/plain"));
        assert_eq!(body.unwrap(), b"abc");
        let (_, _, body) = body_of(RawReply::new("x/y", "abc").repeat_until(7)).await;
        assert_eq!(body.unwrap(), b"abcabca");
        let (status, content_type, body) = body_of(
            RawReply::new("x/y", vec![0xff, 0xfe])
                .status(500)
                .without_content_type(),
        )
        .await;
        assert_eq!(
            (status, content_type),
            (StatusCode::INTERNAL_SERVER_ERROR, None)
        );
        assert_eq!(body.unwrap(), [0xff, 0xfe]);
        let (_, _, body) = body_of(RawReply::new("x/y", "abc").then_cut()).await;
        assert!(body.unwrap_err().contains("cut by the test"));
        let endless = raw_response(&RawReply::new("x/y", "ab").forever());
        let first = axum::body::to_bytes(endless.into_body(), 1000).await;
        assert!(first.is_err(), "an endless body has no end");
    }

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
