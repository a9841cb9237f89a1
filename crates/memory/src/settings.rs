//! `memory.search` resolved: whether memory search is on, which embedding model (if any)
//! turns text into vectors and where it is served, and how results are ranked.
//!
//! The embedding model is the one choice with no safe default here: the original OpenClaw
//! falls back to a cloud provider, which a local-first setup must not call silently. So
//! without `memory.search.model` (or with `provider: "none"`) the index works on keywords
//! alone, and `doctor` and `memory status` say so and how to add vectors.

use std::collections::BTreeMap;
use std::time::Duration;

use openclaw_config::{ApiKind, Env, MemorySearchConfig, OpenClawConfig};
use openclaw_llm::{Endpoint, DEFAULT_EMBED_TIMEOUT};

/// Results `memory_search` returns unless the call asks for another number.
pub const DEFAULT_MAX_RESULTS: usize = 6;
/// Weight of the vector (cosine) score in the hybrid rank.
pub const DEFAULT_VECTOR_WEIGHT: f64 = 0.7;
/// Weight of the keyword (BM25) score in the hybrid rank.
pub const DEFAULT_TEXT_WEIGHT: f64 = 0.3;

/// How memory search runs for one agent.
#[derive(Debug, Clone)]
pub struct MemorySettings {
    pub enabled: bool,
    /// `None`: keyword search only; [`MemorySettings::keyword_only_reason`] says why.
    pub embedding: Option<EmbeddingSettings>,
    pub keyword_only_reason: Option<String>,
    pub max_results: usize,
    /// Hits scoring below this are left out.
    pub min_score: f64,
    pub vector_weight: f64,
    pub text_weight: f64,
}

/// Where and with which model vectors are made.
#[derive(Debug, Clone)]
pub struct EmbeddingSettings {
    /// `ollama`, `openai-compatible`, or the `models.providers` id used.
    pub provider: String,
    pub model: String,
    pub endpoint: Endpoint,
}

impl EmbeddingSettings {
    /// What identifies the vectors in the index: a change means re-embedding everything.
    pub fn identity(&self) -> String {
        format!("{}/{}", self.provider, self.model)
    }
}

impl Default for MemorySettings {
    fn default() -> Self {
        Self {
            enabled: true,
            embedding: None,
            keyword_only_reason: Some(NO_MODEL.to_owned()),
            max_results: DEFAULT_MAX_RESULTS,
            min_score: 0.0,
            vector_weight: DEFAULT_VECTOR_WEIGHT,
            text_weight: DEFAULT_TEXT_WEIGHT,
        }
    }
}

const NO_MODEL: &str = "no embedding model is configured (memory.search.model)";

/// How to add one, for the messages that say it is missing.
pub const ADD_EMBEDDING_MODEL_HINT: &str = "`ollama pull nomic-embed-text`, then \
     `openclaw config set memory.search.model nomic-embed-text`";

/// The memory search settings of `config`: `memory.search`, else the older
/// `agents.defaults.memorySearch`.
pub fn resolve_settings(config: &OpenClawConfig, env: &Env) -> MemorySettings {
    let raw = config
        .memory
        .search
        .as_ref()
        .or(config.agents.defaults.memory_search.as_ref());
    let Some(raw) = raw else {
        return MemorySettings::default();
    };
    let hybrid = &raw.query.hybrid;
    let (vector_weight, text_weight) = match hybrid.enabled {
        Some(false) => (0.0, 1.0),
        _ => (
            hybrid
                .vector_weight
                .filter(|w| w.is_finite() && *w >= 0.0)
                .unwrap_or(DEFAULT_VECTOR_WEIGHT),
            hybrid
                .text_weight
                .filter(|w| w.is_finite() && *w >= 0.0)
                .unwrap_or(DEFAULT_TEXT_WEIGHT),
        ),
    };
    let (embedding, keyword_only_reason) = match embedding(config, raw, env) {
        Ok(e) => (Some(e), None),
        Err(why) => (None, Some(why)),
    };
    MemorySettings {
        enabled: raw.enabled != Some(false),
        embedding,
        keyword_only_reason,
        max_results: raw
            .query
            .max_results
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_MAX_RESULTS),
        min_score: raw.query.min_score.filter(|s| s.is_finite()).unwrap_or(0.0),
        vector_weight,
        text_weight,
    }
}

fn embedding(
    config: &OpenClawConfig,
    raw: &MemorySearchConfig,
    env: &Env,
) -> Result<EmbeddingSettings, String> {
    let provider = raw
        .provider
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != "auto");
    if provider == Some("none") {
        return Err("memory.search.provider is \"none\" (keyword search only, as asked)".into());
    }
    let Some(model) = raw
        .model
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    else {
        return Err(NO_MODEL.to_owned());
    };
    let model = model.strip_prefix("ollama/").unwrap_or(model).to_owned();
    let remote = raw.remote.clone().unwrap_or_default();
    let provider = provider.unwrap_or(openclaw_models::OLLAMA).to_owned();
    let entry = config.models.providers.get(&provider);
    let api = match provider.as_str() {
        "ollama" => ApiKind::Ollama,
        "openai-compatible" | "openai" => ApiKind::OpenAiCompletions,
        _ => match entry {
            Some(e) => e.api.unwrap_or_default(),
            None => {
                return Err(format!(
                    "memory.search.provider `{provider}` is neither `ollama`, `openai-compatible` \
                     nor a provider in models.providers"
                ))
            }
        },
    };
    let base_url = match (&remote.base_url, entry.and_then(|e| e.base_url.as_deref())) {
        (Some(url), _) => url.trim().trim_end_matches('/').to_owned(),
        (None, _) if provider == openclaw_models::OLLAMA => {
            openclaw_models::ollama_native_base(config, env)
        }
        (None, Some(url)) => url.trim().trim_end_matches('/').to_owned(),
        (None, None) => {
            return Err(format!(
                "memory.search.provider `{provider}` has no URL: set memory.search.remote.baseUrl"
            ))
        }
    };
    let api_key = remote
        .api_key
        .clone()
        .or_else(|| entry.and_then(|e| e.api_key.clone()))
        .map(|k| resolve_key(&k, env))
        .or_else(|| {
            (provider == openclaw_models::OLLAMA)
                .then(|| openclaw_models::ollama_api_key(config, None, env))
                .flatten()
        });
    let mut headers: BTreeMap<String, String> =
        entry.map(|e| e.headers.clone()).unwrap_or_default();
    headers.extend(remote.headers.clone());
    let idle_timeout = entry
        .and_then(|e| e.timeout_seconds)
        .filter(|s| *s > 0)
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_EMBED_TIMEOUT);
    Ok(EmbeddingSettings {
        provider,
        model,
        endpoint: Endpoint {
            api,
            base_url,
            api_key,
            headers,
            idle_timeout,
        },
    })
}

/// A key given as the name of an environment variable (`OPENAI_API_KEY`) is read from it.
fn resolve_key(key: &str, env: &Env) -> String {
    let looks_like_var = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && key.contains('_');
    match looks_like_var.then(|| env.get(key)).flatten() {
        Some(value) => value,
        None => key.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: serde_json::Value) -> OpenClawConfig {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn without_a_model_it_is_keyword_only_and_says_how_to_fix_it() {
        let none = Env::default();
        let s = resolve_settings(&OpenClawConfig::default(), &none);
        assert!(s.enabled && s.embedding.is_none());
        assert!(s
            .keyword_only_reason
            .unwrap()
            .contains("memory.search.model"));
        let s = resolve_settings(
            &config(serde_json::json!({"memory": {"search": {"provider": "none", "model": "x"}}})),
            &none,
        );
        assert!(s.embedding.is_none());
    }

    #[test]
    fn an_ollama_model_uses_ollama_host_and_the_configured_weights() {
        let env = Env::from_vars([(openclaw_config::vars::OLLAMA_HOST, "127.0.0.1:4321")]);
        let s = resolve_settings(
            &config(serde_json::json!({"memory": {"search": {
                "model": "all-minilm:l6-v2",
                "query": {"maxResults": 3, "hybrid": {"vectorWeight": 0.5, "textWeight": 0.5}}
            }}})),
            &env,
        );
        let e = s.embedding.unwrap();
        assert_eq!(e.endpoint.api, ApiKind::Ollama);
        assert_eq!(e.endpoint.base_url, "http://127.0.0.1:4321");
        assert_eq!(e.identity(), "ollama/all-minilm:l6-v2");
        assert_eq!(
            (s.max_results, s.vector_weight, s.text_weight),
            (3, 0.5, 0.5)
        );
    }

    #[test]
    fn the_older_agents_defaults_spelling_and_a_custom_provider_work() {
        let none = Env::default();
        let s = resolve_settings(
            &config(serde_json::json!({
                "models": {"providers": {"gpu": {"baseUrl": "http://gpu:8080/v1", "api": "openai-completions", "apiKey": "k"}}},
                "agents": {"defaults": {"memorySearch": {"provider": "gpu", "model": "bge-m3"}}}
            })),
            &none,
        );
        let e = s.embedding.unwrap();
        assert_eq!(e.endpoint.api, ApiKind::OpenAiCompletions);
        assert_eq!(e.endpoint.base_url, "http://gpu:8080/v1");
        assert_eq!(e.endpoint.api_key.as_deref(), Some("k"));
    }
}
