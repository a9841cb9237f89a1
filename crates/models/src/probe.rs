//! A quick "is this provider there, and does it accept our key?" check for `models status`.

use std::time::Duration;

use openclaw_config::{ApiKind, Env};

use crate::catalog::ProviderInfo;
use crate::discovery::{describe_transport_error, http_client};

/// The outcome of probing one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeResult {
    /// Answered; `authenticated` is false on 401/403.
    Reachable {
        status: u16,
        authenticated: bool,
    },
    Unreachable(String),
    /// No base URL to call.
    NotConfigured,
}

/// GETs the provider's model list (`/models` on the OpenAI wire, `/api/tags` natively).
pub async fn probe_provider(info: &ProviderInfo, env: &Env, timeout: Duration) -> ProbeResult {
    let Some(base) = info.base_url.as_deref() else {
        return ProbeResult::NotConfigured;
    };
    let url = match info.api {
        ApiKind::Ollama => format!("{base}/api/tags"),
        _ => format!("{base}/models"),
    };
    let client = http_client(base, timeout);
    let mut req = client.get(&url).timeout(timeout);
    for (k, v) in &info.headers {
        req = req.header(k, v);
    }
    if let Some(key) = info.api_key.as_ref().and_then(|k| k.resolve(env)) {
        req = req.bearer_auth(key);
    }
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            ProbeResult::Reachable {
                status,
                authenticated: status != 401 && status != 403,
            }
        }
        Err(e) => ProbeResult::Unreachable(describe_transport_error(&e)),
    }
}

/// A model Ollama has loaded, with the context it actually runs with (`/api/ps`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedModel {
    pub name: String,
    pub context_length: u64,
}

/// Ollama's loaded models (`GET {native_base}/api/ps`); empty when it cannot say.
///
/// Ollama's OpenAI-compatible endpoint cannot set the context length per request, so a model
/// loaded through `/v1` runs with Ollama's default context whatever the catalog says; this is
/// how `models status` finds out.
pub async fn ollama_loaded_models(
    native_base: &str,
    api_key: Option<&str>,
    timeout: Duration,
) -> Vec<LoadedModel> {
    let client = http_client(native_base, timeout);
    let mut req = client.get(format!("{native_base}/api/ps")).timeout(timeout);
    if let Some(k) = api_key {
        req = req.bearer_auth(k);
    }
    let Ok(resp) = req.send().await else {
        return Vec::new();
    };
    let Ok(value) = resp.json::<serde_json::Value>().await else {
        return Vec::new();
    };
    value
        .get("models")
        .and_then(serde_json::Value::as_array)
        .map(|models| {
            models
                .iter()
                .filter_map(|m| {
                    Some(LoadedModel {
                        name: m
                            .get("name")
                            .or_else(|| m.get("model"))?
                            .as_str()?
                            .to_string(),
                        context_length: m.get("context_length")?.as_u64()?,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A loaded model whose effective context is smaller than the catalog's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextMismatch {
    pub model: String,
    pub effective: u64,
    pub catalog: u64,
}

/// Loaded Ollama models that run with less context than the catalog says. Only
/// meaningful over the OpenAI-compatible API, where Ollama ignores the requested context and
/// truncates prompts silently; empty for the native API (which sends `num_ctx`).
pub async fn context_mismatches(catalog: &crate::Catalog, env: &Env) -> Vec<ContextMismatch> {
    let Some(provider) = catalog.provider(crate::OLLAMA) else {
        return Vec::new();
    };
    if provider.api != ApiKind::OpenAiCompletions
        || !matches!(catalog.discovery, crate::DiscoveryOutcome::Ran(_))
    {
        return Vec::new();
    }
    let key = provider.api_key.as_ref().and_then(|k| k.resolve(env));
    ollama_loaded_models(&catalog.ollama_base, key.as_deref(), Duration::from_secs(3))
        .await
        .into_iter()
        .filter_map(|l| {
            let model = catalog.find(crate::OLLAMA, &l.name)?;
            (l.context_length < model.context_window).then(|| ContextMismatch {
                model: l.name.clone(),
                effective: l.context_length,
                catalog: model.context_window,
            })
        })
        .collect()
}

impl std::fmt::Display for ContextMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Ollama runs `{}` with a {}-token context (from /api/ps), but the catalog says {}: over the OpenAI-compatible API longer prompts are silently truncated\n  hint: use Ollama's native API, which sends `num_ctx`: `openclaw config set models.providers.ollama.api ollama`",
            self.model, self.effective, self.catalog
        )
    }
}
