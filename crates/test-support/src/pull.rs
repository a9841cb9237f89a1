//! `POST /api/pull`: plays a [`PullScript`] (see `pull_script` for the records) as Ollama
//! answers a pull.
//!
//! Errors are sent *in the stream* with HTTP 200
//! (`{"error":"pull model manifest: file does not exist"}` for an unknown name, as Ollama says
//! when the registry has no manifest); a bad request is a 400 with an `{"error"}` body. With
//! `"stream": false` the whole pull runs first and one object answers (500 on failure), as in
//! Ollama's `waitForStream`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::ollama_api::{json_response, ollama_error, parse_object, string_field};
use crate::pull_script::{steps, unknown_model_steps, PullFailure, PullScript, Step};
use crate::state::ServerState;

/// `POST /api/pull` with `{"model": …}` (or the legacy `{"name": …}`) and optional `stream`.
pub(crate) async fn pull(State(state): State<Arc<ServerState>>, body: Bytes) -> Response {
    let request = match parse_object(&body) {
        Ok(request) => request,
        Err(message) => return ollama_error(StatusCode::BAD_REQUEST, &message),
    };
    let requested = match (
        string_field(&request, "model"),
        string_field(&request, "name"),
    ) {
        (Ok(model), Ok(name)) => [model, name]
            .into_iter()
            .flatten()
            .find(|s| !s.trim().is_empty())
            .map(str::to_owned),
        (Err(message), _) | (_, Err(message)) => {
            return ollama_error(StatusCode::BAD_REQUEST, &message)
        }
    };
    let Some(requested) = requested else {
        // errtypes.InvalidModelNameErrMsg
        return ollama_error(StatusCode::BAD_REQUEST, "invalid model name");
    };
    let stream = !matches!(request.get("stream"), Some(Value::Bool(false)));
    let script = state.pull_script(&requested);
    let steps = match (&script, state.find(&requested)) {
        (Some(script), _) => {
            if let Some(PullFailure::Http { status, message }) = &script.failure {
                let status =
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return ollama_error(status, message);
            }
            steps(script, &requested, false)
        }
        // Pulling an installed model again: every blob is already there.
        (None, Some(entry)) => steps(
            &PullScript::new().model(entry.spec.clone()),
            &requested,
            true,
        ),
        (None, None) => unknown_model_steps(),
    };
    let delay = script.as_ref().and_then(|s| s.record_delay);
    if stream {
        streamed(state, steps, delay)
    } else {
        waited(&state, steps)
    }
}

/// NDJSON, one record per chunk, `delay` between records.
fn streamed(state: Arc<ServerState>, steps: Vec<Step>, delay: Option<Duration>) -> Response {
    let body = futures_util::stream::unfold(
        (state, steps.into_iter(), false),
        move |(state, mut steps, started)| async move {
            loop {
                match steps.next()? {
                    Step::Install(spec) => state.upsert(*spec),
                    Step::Line(line) => {
                        if let (Some(delay), true) = (delay, started) {
                            tokio::time::sleep(delay).await;
                        }
                        let chunk = Bytes::from(format!("{line}\n"));
                        return Some((Ok::<Bytes, Infallible>(chunk), (state, steps, true)));
                    }
                }
            }
        },
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(body),
    )
        .into_response()
}

/// `"stream": false`: the last record alone, or the error with 500.
fn waited(state: &ServerState, steps: Vec<Step>) -> Response {
    let mut last = json!({ "status": "success" });
    for step in steps {
        match step {
            Step::Install(spec) => state.upsert(*spec),
            Step::Line(line) => {
                if let Some(error) = line.get("error").and_then(Value::as_str) {
                    return ollama_error(StatusCode::INTERNAL_SERVER_ERROR, error);
                }
                last = line;
            }
        }
    }
    json_response(StatusCode::OK, &last)
}
