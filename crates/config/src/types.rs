//! The typed view of a validated config: what the rest of the program reads.
//!
//! Only the parts openclaw-rs implements are typed; validation has already warned about the
//! rest. Field names follow OpenClaw's camelCase keys.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::choices::{
    ignoring_unknown, ExecAsk, ExecSandbox, ExecSecurity, GatewayAuthMode, ThinkingLevel,
};

/// The effective `openclaw.json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OpenClawConfig {
    pub models: ModelsConfig,
    pub agents: AgentsConfig,
    pub gateway: GatewayConfig,
    pub tools: ToolsConfig,
    pub memory: MemoryConfig,
}

/// `memory`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MemoryConfig {
    pub search: Option<MemorySearchConfig>,
}

/// `memory.search` (or the older `agents.defaults.memorySearch`): the memory index and the
/// `memory_search` tool.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MemorySearchConfig {
    pub enabled: Option<bool>,
    /// `ollama`, `openai-compatible`, `none`, or a `models.providers` id.
    pub provider: Option<String>,
    /// The embedding model, as the provider names it (`nomic-embed-text`).
    pub model: Option<String>,
    pub remote: Option<MemoryRemoteConfig>,
    pub query: MemoryQueryConfig,
}

/// `memory.search.remote`: an embeddings endpoint of its own.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MemoryRemoteConfig {
    pub base_url: Option<String>,
    pub api_key: Option<String>,
    pub headers: BTreeMap<String, String>,
}

/// `memory.search.query`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MemoryQueryConfig {
    pub max_results: Option<u64>,
    pub min_score: Option<f64>,
    pub hybrid: MemoryHybridConfig,
}

/// `memory.search.query.hybrid`: how keyword and vector scores are mixed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MemoryHybridConfig {
    pub enabled: Option<bool>,
    pub vector_weight: Option<f64>,
    pub text_weight: Option<f64>,
}

/// `tools`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ToolsConfig {
    pub exec: ExecConfig,
}

/// `tools.exec`: the `exec` tool's policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecConfig {
    pub security: Option<ExecSecurity>,
    pub ask: Option<ExecAsk>,
    /// Programs allowed without asking, added to the built-in read-only list.
    pub safe_bins: Option<Vec<String>>,
    pub timeout_seconds: Option<u64>,
    /// The original's older name of `timeoutSeconds`.
    pub timeout_sec: Option<u64>,
    /// The OS sandbox around commands.
    pub sandbox: Option<ExecSandbox>,
    /// Whether sandboxed commands may use the network (default false).
    pub network: Option<bool>,
}

/// `models`: explicit providers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ModelsConfig {
    /// Provider entries in file order.
    pub providers: indexmap::IndexMap<String, ProviderConfig>,
}

/// Wire protocol of a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ApiKind {
    /// POST `{baseUrl}/chat/completions`, SSE streaming.
    #[default]
    #[serde(rename = "openai-completions")]
    OpenAiCompletions,
    /// Ollama's native POST `{base}/api/chat`, NDJSON streaming, honours `num_ctx`.
    #[serde(rename = "ollama")]
    Ollama,
    /// An API the original OpenClaw speaks and we don't yet (validation warned about it).
    #[serde(other, rename = "unsupported")]
    Unsupported,
}

impl ApiKind {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKind::OpenAiCompletions => "openai-completions",
            ApiKind::Ollama => "ollama",
            ApiKind::Unsupported => "unsupported",
        }
    }
}

/// `models.providers.<id>`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProviderConfig {
    pub base_url: Option<String>,
    pub api_key: Option<String>,
    pub api: Option<ApiKind>,
    pub headers: BTreeMap<String, String>,
    /// `None` when the key is absent: for `ollama` that keeps implicit discovery on.
    pub models: Option<Vec<ModelDefinition>>,
    pub timeout_seconds: Option<u64>,
}

/// Input kinds a model accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    Text,
    Image,
    /// An input the original accepts that we don't use yet (`video`, `audio`).
    #[serde(other)]
    Other,
}

/// USD per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Cost {
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
    pub cache_write: f64,
}

/// One entry of `models.providers.<id>.models`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelDefinition {
    pub id: String,
    pub name: Option<String>,
    pub api: Option<ApiKind>,
    #[serde(default)]
    pub reasoning: bool,
    pub input: Option<Vec<InputKind>>,
    #[serde(default)]
    pub cost: Cost,
    pub context_window: Option<u64>,
    pub max_tokens: Option<u64>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// `agents`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AgentsConfig {
    pub defaults: AgentDefaults,
}

/// `agents.defaults`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AgentDefaults {
    pub model: Option<ModelSelection>,
    /// Per-model settings keyed by ref (`ollama/llama3.3`): alias and params.
    pub models: indexmap::IndexMap<String, ModelEntry>,
    pub workspace: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub context_tokens: Option<u64>,
    /// `None` also for the original's levels we ignore (`adaptive`, …; validation warned).
    #[serde(deserialize_with = "ignoring_unknown")]
    pub thinking_default: Option<ThinkingLevel>,
    /// Do not create the workspace files of a new workspace.
    pub skip_bootstrap: Option<bool>,
    /// Most characters of one workspace file put into the system prompt.
    pub bootstrap_max_chars: Option<u64>,
    /// Most characters of all workspace files together in the system prompt.
    pub bootstrap_total_max_chars: Option<u64>,
    /// Share of the model's context the system prompt (instructions, workspace files, tool
    /// schemas) may take, 0–1 (default 0.25).
    pub prompt_share: Option<f64>,
    /// The older spelling of `memory.search`.
    pub memory_search: Option<MemorySearchConfig>,
}

/// `agents.defaults.models["provider/model"]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ModelEntry {
    pub alias: Option<String>,
    pub params: serde_json::Map<String, Value>,
}

/// `agents.defaults.model`: a ref, or `{ primary, fallbacks }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ModelSelection {
    Ref(String),
    Detailed(DetailedSelection),
}

/// The object form of [`ModelSelection`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct DetailedSelection {
    pub primary: Option<String>,
    pub fallbacks: Option<Vec<String>>,
    /// The spelling on OpenClaw's Ollama page.
    pub fallback: Option<OneOrMany>,
}

/// `"a"` or `["a", "b"]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl ModelSelection {
    /// The primary model ref, if one is set.
    pub fn primary(&self) -> Option<&str> {
        match self {
            ModelSelection::Ref(r) => Some(r),
            ModelSelection::Detailed(d) => d.primary.as_deref(),
        }
    }

    /// Fallback refs in order; `fallbacks` and the seed's `fallback` are merged.
    pub fn fallbacks(&self) -> Vec<String> {
        let ModelSelection::Detailed(d) = self else {
            return Vec::new();
        };
        let mut out: Vec<String> = d.fallbacks.clone().unwrap_or_default();
        let extra = match &d.fallback {
            Some(OneOrMany::One(r)) => vec![r.clone()],
            Some(OneOrMany::Many(v)) => v.clone(),
            None => Vec::new(),
        };
        for r in extra {
            if !out.contains(&r) {
                out.push(r);
            }
        }
        out
    }
}

/// `gateway`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GatewayConfig {
    pub port: Option<u16>,
    pub bind: Option<String>,
    pub auth: GatewayAuth,
}

/// `gateway.auth`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GatewayAuth {
    pub mode: Option<GatewayAuthMode>,
    pub token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_spellings_merge_in_order() {
        let sel: ModelSelection = serde_json::from_value(serde_json::json!({
            "primary": "ollama/llama3.3",
            "fallbacks": ["a/b"],
            "fallback": ["ollama/qwen2.5-coder:32b", "a/b"]
        }))
        .unwrap();
        assert_eq!(sel.primary(), Some("ollama/llama3.3"));
        assert_eq!(sel.fallbacks(), vec!["a/b", "ollama/qwen2.5-coder:32b"]);
    }

    #[test]
    fn string_selection_has_no_fallbacks() {
        let sel: ModelSelection = serde_json::from_value(serde_json::json!("ollama/x")).unwrap();
        assert_eq!(sel.primary(), Some("ollama/x"));
        assert!(sel.fallbacks().is_empty());
    }

    #[test]
    fn unsupported_api_deserialises() {
        let p: ProviderConfig =
            serde_json::from_value(serde_json::json!({"api": "anthropic-messages"})).unwrap();
        assert_eq!(p.api, Some(ApiKind::Unsupported));
    }
}
