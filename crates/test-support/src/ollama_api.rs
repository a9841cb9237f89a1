//! Ollama's native model-management endpoints: `/`, `/api/version`, `/api/tags`, `/api/show`
//! and `/api/ps`, plus the JSON error and body conventions they share with `/api/chat`.
//!
//! Field names and order follow Ollama's `api/types.go` as described in
//! `fixtures/ollama/README.md`; each builder below names the fixture it mirrors.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::behaviour::{self, Gate};
use crate::clock;
use crate::spec::ModelSpec;
use crate::state::ServerState;

/// `GET /` and `HEAD /`: the plain-text liveness answer real Ollama gives.
pub(crate) async fn root() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Ollama is running",
    )
        .into_response()
}

/// `GET /api/version`.
pub(crate) async fn version() -> Response {
    json_response(StatusCode::OK, &json!({ "version": crate::OLLAMA_VERSION }))
}

/// `GET /api/tags`: every model, shaped like `fixtures/ollama/tags.json` items plus
/// `capabilities` (as in `fixtures/llamacpp-shim/api-tags.json`).
pub(crate) async fn tags(State(state): State<Arc<ServerState>>) -> Response {
    let behaviour = state.tags_behaviour.clone();
    let gate = behaviour::gate(&behaviour).await;
    // Built after the gate, so a delayed answer lists models added in the meantime.
    let body = || {
        let models: Vec<Value> = state.models().iter().map(|m| tag_item(&m.spec)).collect();
        json!({ "models": models })
    };
    match gate {
        Gate::Proceed => json_response(StatusCode::OK, &body()),
        Gate::Garbage => behaviour::garbage(&body().to_string()),
        Gate::Answer(response) => response,
    }
}

/// `POST /api/show` with `{"model": ...}` (or the legacy `{"name": ...}`).
pub(crate) async fn show(State(state): State<Arc<ServerState>>, body: Bytes) -> Response {
    let request = match parse_object(&body) {
        Ok(request) => request,
        Err(message) => return ollama_error(StatusCode::BAD_REQUEST, &message),
    };
    let (model, name) = match (
        string_field(&request, "model"),
        string_field(&request, "name"),
    ) {
        (Ok(model), Ok(name)) => (model, name),
        (Err(message), _) | (_, Err(message)) => {
            return ollama_error(StatusCode::BAD_REQUEST, &message)
        }
    };
    let Some(requested) = [model, name]
        .into_iter()
        .flatten()
        .find(|s| !s.is_empty())
        .map(str::to_owned)
    else {
        return ollama_error(StatusCode::BAD_REQUEST, "model is required");
    };
    let Some(entry) = state.find(&requested) else {
        return model_not_found(&requested);
    };
    match behaviour::gate(&entry.spec.behaviour).await {
        Gate::Proceed => json_response(StatusCode::OK, &show_body(&entry.spec)),
        Gate::Garbage => behaviour::garbage(&show_body(&entry.spec).to_string()),
        Gate::Answer(response) => response,
    }
}

/// `GET /api/ps`: every model as loaded, shaped like `fixtures/ollama/ps-openapi-gemma4.json`,
/// with `context_length` set to the server's effective `num_ctx`.
pub(crate) async fn ps(State(state): State<Arc<ServerState>>) -> Response {
    // Ollama keeps a model loaded for 5 minutes after its last use.
    let expires_at = clock::rfc3339_nano(clock::now() + Duration::from_secs(300));
    let models: Vec<Value> = state
        .models()
        .iter()
        .map(|entry| {
            let spec = &entry.spec;
            let name = spec.listed_name();
            json!({
                "name": name,
                "model": name,
                "size": spec.size,
                "digest": spec.digest_hex(),
                "details": details(spec),
                "expires_at": expires_at,
                "size_vram": spec.size,
                "context_length": state.ps_context_length,
            })
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "models": models }))
}

/// Any path or method Ollama does not serve: gin's default 404.
pub(crate) async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain")],
        "404 page not found",
    )
        .into_response()
}

/// One `/api/tags` item (`ListModelResponse`).
fn tag_item(spec: &ModelSpec) -> Value {
    let name = spec.listed_name();
    let mut item = json!({
        "name": name,
        "model": name,
        "modified_at": spec.modified_at,
        "size": spec.size,
        "digest": spec.digest_hex(),
        "details": details(spec),
    });
    // `capabilities` is `omitempty` in Ollama.
    if let (Some(object), false) = (item.as_object_mut(), spec.capabilities.is_empty()) {
        object.insert("capabilities".to_owned(), json!(spec.capabilities));
    }
    item
}

/// `ModelDetails`, as in every fixture.
fn details(spec: &ModelSpec) -> Value {
    json!({
        "parent_model": "",
        "format": "gguf",
        "family": spec.family_name(),
        "families": [spec.family_name()],
        "parameter_size": spec.parameter_size,
        "quantization_level": spec.quantization,
    })
}

/// The `/api/show` body, with the keys of `fixtures/ollama/show-qwen3-thinking.json` in its
/// order. The template is consistent with the capabilities: Ollama derives `tools` from a
/// template mentioning tools and `thinking` from `<think>`/`</think>`.
pub(crate) fn show_body(spec: &ModelSpec) -> Value {
    let template = template(spec);
    let name = spec.listed_name();
    let modelfile = format!(
        "# Modelfile generated by \"ollama show\"\n\
         # To build a new Modelfile based on this one, replace the FROM line with:\n\
         # FROM {name}\n\n\
         FROM /usr/share/ollama/.ollama/models/blobs/sha256-{digest}\n\
         TEMPLATE \"\"\"{template}\"\"\"\n\
         PARAMETER stop <|im_end|>\n\
         PARAMETER temperature 0.7\n",
        digest = spec.digest_hex(),
    );
    // `ollama show` pads parameter names to 31 columns.
    let parameters = format!(
        "{:<31}{}\n{:<31}{}",
        "stop", "\"<|im_end|>\"", "temperature", "0.7"
    );
    json!({
        "license": license(spec),
        "modelfile": modelfile,
        "parameters": parameters,
        "template": template,
        "details": details(spec),
        "model_info": model_info(spec),
        "capabilities": spec.capabilities,
        "modified_at": spec.modified_at,
    })
}

fn template(spec: &ModelSpec) -> String {
    let mut template = String::from("{{- if .Messages }}...");
    if spec.has_capability("tools") {
        template.push_str(
            "{{- if .Tools }}<tools>{{ range .Tools }}{{ . }}{{ end }}</tools>{{- end }}...",
        );
    }
    if spec.has_capability("thinking") {
        template.push_str("{{- if .Thinking }}<think>{{ .Thinking }}</think>{{- end }}...");
    }
    template.push_str("{{ .Response }}");
    template
}

fn license(spec: &ModelSpec) -> &'static str {
    match spec.family_name() {
        "llama" => "LLAMA 3.3 COMMUNITY LICENSE AGREEMENT\n...",
        "gemma" | "gemma2" | "gemma3" | "gemma4" => {
            "Gemma Terms of Use \n\nLast modified: February 21, 2024..."
        }
        _ => "Apache License\nVersion 2.0, January 2004\n...",
    }
}

/// GGUF metadata in GGUF key names, sorted like Go's map encoding. Empty when the spec says
/// so; Ollama always sends the key.
fn model_info(spec: &ModelSpec) -> Value {
    if !spec.model_info {
        return Value::Object(Map::new());
    }
    let arch = spec.architecture.as_str();
    let mut info: BTreeMap<String, Value> = BTreeMap::new();
    let mut put = |key: &str, value: Value| {
        info.insert(key.to_owned(), value);
    };
    put("general.architecture", json!(arch));
    put("general.file_type", json!(file_type(&spec.quantization)));
    put("general.parameter_count", json!(spec.parameter_count()));
    put("general.quantization_version", json!(2));
    put(&format!("{arch}.attention.head_count"), json!(32));
    put(&format!("{arch}.attention.head_count_kv"), json!(8));
    put(
        &format!("{arch}.attention.layer_norm_rms_epsilon"),
        json!(1e-5),
    );
    put(&format!("{arch}.block_count"), json!(32));
    if let Some(n) = spec.context_length {
        put(&format!("{arch}.context_length"), json!(n));
    }
    put(&format!("{arch}.embedding_length"), json!(4096));
    put(&format!("{arch}.feed_forward_length"), json!(14336));
    put(&format!("{arch}.rope.freq_base"), json!(500_000));
    // The metadata Ollama reads the other capabilities from (`server/images.go`).
    if spec.has_capability("vision") {
        put(&format!("{arch}.vision.block_count"), json!(16));
    }
    if spec.has_capability("audio") {
        put(&format!("{arch}.audio.block_count"), json!(12));
    }
    if spec.has_capability("embedding") {
        put(&format!("{arch}.pooling_type"), json!(1));
    }
    put("tokenizer.ggml.bos_token_id", json!(1));
    put("tokenizer.ggml.eos_token_id", json!(2));
    // Nulled unless `verbose: true`, as in show-qwen3-thinking.json.
    put("tokenizer.ggml.merges", Value::Null);
    put("tokenizer.ggml.model", json!("gpt2"));
    put("tokenizer.ggml.pre", json!("default"));
    put("tokenizer.ggml.token_type", Value::Null);
    put("tokenizer.ggml.tokens", Value::Null);
    Value::Object(info.into_iter().collect())
}

/// `general.file_type` (llama.cpp's `llama_ftype`) for a quantization name.
fn file_type(quantization: &str) -> u32 {
    match quantization.to_ascii_uppercase().as_str() {
        "F32" => 0,
        "F16" => 1,
        "Q4_0" => 2,
        "Q4_1" => 3,
        "Q8_0" => 7,
        "Q5_0" => 8,
        "Q5_1" => 9,
        "Q2_K" => 10,
        "Q3_K_M" => 12,
        "Q4_K_S" => 14,
        "Q5_K_S" => 16,
        "Q5_K_M" => 17,
        "Q6_K" => 18,
        "BF16" => 32,
        _ => 15, // Q4_K_M, Ollama's default pull
    }
}

/// A JSON response with gin's `c.JSON` content type.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// Ollama's native error body: `{"error": "..."}`.
pub(crate) fn ollama_error(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

/// The native API's answer for a model it does not have (`server/routes.go`).
pub(crate) fn model_not_found(requested: &str) -> Response {
    ollama_error(
        StatusCode::NOT_FOUND,
        &format!("model '{requested}' not found"),
    )
}

/// Parses a request body that must be a JSON object; the error is the message for a 400
/// (`missing request body` for an empty body, as Ollama's handlers say).
pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("missing request body".to_owned());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(format!(
            "json: cannot unmarshal {} into request object",
            json_kind(&other)
        )),
        Err(err) => Err(err.to_string()),
    }
}

/// A string field of a request: `Ok(None)` when absent or null, `Err` when of another type.
pub(crate) fn string_field<'a>(
    object: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!(
            "json: cannot unmarshal {} into field {key} of type string",
            json_kind(other)
        )),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_info_follows_the_spec() {
        let spec = ModelSpec::new("q")
            .architecture("qwen3")
            .context_length(40960);
        let info = model_info(&spec);
        assert_eq!(info["general.architecture"], "qwen3");
        assert_eq!(info["qwen3.context_length"], 40960);
        let keys: Vec<&String> = info.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "Go sorts map keys");

        let info = model_info(&spec.clone().without_context_length());
        assert!(info.get("qwen3.context_length").is_none());
        assert!(info.get("general.architecture").is_some());
        assert_eq!(model_info(&spec.without_model_info()), json!({}));
    }

    #[test]
    fn template_implies_the_capabilities() {
        let plain = template(&ModelSpec::new("a").capabilities(&["completion"]));
        assert!(!plain.contains("tools") && !plain.contains("<think>"));
        let rich =
            template(&ModelSpec::new("a").capabilities(&["completion", "tools", "thinking"]));
        assert!(rich.contains("tools") && rich.contains("<think>") && rich.contains("</think>"));
    }

    #[test]
    fn bodies_must_be_json_objects() {
        assert_eq!(parse_object(b"").unwrap_err(), "missing request body");
        assert!(parse_object(b"{").is_err());
        assert!(parse_object(b"[]").is_err());
        assert!(parse_object(br#"{"model":"x"}"#).is_ok());
    }
}
