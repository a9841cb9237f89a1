//! Embeddings: text in, vectors out, over either wire.
//!
//! The memory index turns note chunks and search queries into vectors through the same
//! providers the chat models use: Ollama natively (`POST /api/embed`, `{model, input: [..]}` →
//! `{embeddings: [[..]]}`) or any OpenAI-compatible server (`POST {base}/embeddings`,
//! `{model, input}` → `{data: [{index, embedding}]}`). Errors are classified like chat errors,
//! so a missing model reads as one and the user learns which URL and model failed.

use std::time::Duration;

use openclaw_config::ApiKind;
use serde_json::{json, Value};

use crate::classify::{classify_status, describe_transport_error, Context};
use crate::{is_loopback_url, read_error_body, within, Endpoint, LlmError};

/// The largest embeddings reply read, in bytes (a few thousand 1024-d vectors as JSON).
const MAX_REPLY_BYTES: usize = 64 * 1024 * 1024;

/// A client for one embeddings endpoint.
#[derive(Debug, Clone)]
pub struct EmbeddingClient {
    endpoint: Endpoint,
    http: Result<reqwest::Client, String>,
}

impl EmbeddingClient {
    pub fn new(endpoint: Endpoint) -> Self {
        let mut builder = reqwest::Client::builder();
        if is_loopback_url(&endpoint.base_url) {
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| describe_transport_error(&e));
        Self { endpoint, http }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// `{root}/api/embed` natively, `{base}/embeddings` for OpenAI-compatible servers.
    pub fn embed_url(&self) -> Result<String, LlmError> {
        let base = self.endpoint.base_url.trim().trim_end_matches('/');
        match self.endpoint.api {
            ApiKind::Ollama => {
                let root = base.strip_suffix("/v1").unwrap_or(base);
                Ok(format!("{root}/api/embed"))
            }
            ApiKind::OpenAiCompletions => Ok(format!("{base}/embeddings")),
            ApiKind::Unsupported => Err(LlmError::Connect {
                url: base.to_owned(),
                detail: "the provider's `api` is not supported for embeddings; use `ollama` or \
                         `openai-completions`"
                    .to_owned(),
            }),
        }
    }

    /// One vector per input, in input order.
    pub async fn embed(&self, model: &str, inputs: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let url = self.embed_url()?;
        let http = self.http.as_ref().map_err(|detail| LlmError::Connect {
            url: url.clone(),
            detail: detail.clone(),
        })?;
        let body = match self.endpoint.api {
            ApiKind::Ollama => json!({"model": model, "input": inputs}),
            _ => json!({"model": model, "input": inputs, "encoding_format": "float"}),
        };
        let mut request = http.post(&url).json(&body);
        if let Some(key) = self.endpoint.api_key.as_deref().map(str::trim) {
            if !key.is_empty() {
                request = request.bearer_auth(key);
            }
        }
        for (name, value) in &self.endpoint.headers {
            request = request.header(name, value);
        }
        let idle = self.endpoint.idle_timeout;
        let timeout = || LlmError::Timeout {
            url: url.clone(),
            idle,
        };
        let mut response = match within(idle, request.send()).await {
            None => return Err(timeout()),
            Some(Err(e)) => {
                return Err(LlmError::Connect {
                    url: url.clone(),
                    detail: describe_transport_error(&e),
                })
            }
            Some(Ok(r)) => r,
        };
        let status = response.status();
        if !status.is_success() {
            let body = read_error_body(&mut response, idle).await;
            let ctx = Context {
                url: url.clone(),
                model: model.to_owned(),
            };
            return Err(classify_status(&ctx, status.as_u16(), &body));
        }
        let mut bytes = Vec::new();
        loop {
            match within(idle, response.chunk()).await {
                None => return Err(timeout()),
                Some(Err(e)) => {
                    return Err(LlmError::MalformedStream {
                        url: url.clone(),
                        detail: describe_transport_error(&e),
                    })
                }
                Some(Ok(None)) => break,
                Some(Ok(Some(chunk))) => {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > MAX_REPLY_BYTES {
                        return Err(LlmError::TooLarge {
                            url: url.clone(),
                            limit: MAX_REPLY_BYTES,
                        });
                    }
                }
            }
        }
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| LlmError::MalformedStream {
                url: url.clone(),
                detail: format!("the embeddings reply is not JSON: {e}"),
            })?;
        let vectors = parse_vectors(&value).ok_or_else(|| LlmError::MalformedStream {
            url: url.clone(),
            detail: "the reply has neither `embeddings` nor `data[].embedding` arrays of numbers"
                .to_owned(),
        })?;
        if vectors.len() != inputs.len() {
            return Err(LlmError::MalformedStream {
                url,
                detail: format!(
                    "{} inputs were sent but {} vectors came back",
                    inputs.len(),
                    vectors.len()
                ),
            });
        }
        Ok(vectors)
    }
}

/// Ollama's `{embeddings: [[..]]}` or OpenAI's `{data: [{index, embedding: [..]}]}`.
fn parse_vectors(value: &Value) -> Option<Vec<Vec<f32>>> {
    let numbers = |v: &Value| -> Option<Vec<f32>> {
        v.as_array()?
            .iter()
            .map(|x| x.as_f64().map(|f| f as f32))
            .collect()
    };
    if let Some(list) = value.get("embeddings").and_then(Value::as_array) {
        return list.iter().map(numbers).collect();
    }
    let data = value.get("data")?.as_array()?;
    let mut indexed: Vec<(u64, Vec<f32>)> = data
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let index = d.get("index").and_then(Value::as_u64).unwrap_or(i as u64);
            numbers(d.get("embedding")?).map(|v| (index, v))
        })
        .collect::<Option<_>>()?;
    indexed.sort_by_key(|(i, _)| *i);
    Some(indexed.into_iter().map(|(_, v)| v).collect())
}

/// How long an embeddings request may stay silent when the provider sets no timeout: a cold
/// model load plus a batch of chunks on a slow CPU.
pub const DEFAULT_EMBED_TIMEOUT: Duration = Duration::from_secs(120);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn client(api: ApiKind, base: &str) -> EmbeddingClient {
        EmbeddingClient::new(Endpoint {
            api,
            base_url: base.into(),
            api_key: None,
            headers: BTreeMap::new(),
            idle_timeout: Duration::from_secs(1),
        })
    }

    #[test]
    fn urls_follow_the_wire() {
        assert_eq!(
            client(ApiKind::Ollama, "http://h:11434/v1")
                .embed_url()
                .unwrap(),
            "http://h:11434/api/embed"
        );
        assert_eq!(
            client(ApiKind::OpenAiCompletions, "http://h:8080/v1/")
                .embed_url()
                .unwrap(),
            "http://h:8080/v1/embeddings"
        );
    }

    #[test]
    fn both_reply_shapes_parse_in_input_order() {
        let ollama = json!({"embeddings": [[1.0, 0.0], [0.0, 1.0]]});
        assert_eq!(
            parse_vectors(&ollama).unwrap(),
            vec![vec![1.0, 0.0], vec![0.0, 1.0]]
        );
        let openai = json!({"data": [
            {"index": 1, "embedding": [0.0, 1.0]},
            {"index": 0, "embedding": [1.0, 0.0]}
        ]});
        assert_eq!(
            parse_vectors(&openai).unwrap(),
            vec![vec![1.0, 0.0], vec![0.0, 1.0]]
        );
        assert!(parse_vectors(&json!({"data": [{"embedding": "x"}]})).is_none());
    }
}
