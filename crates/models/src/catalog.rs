//! The model catalog: explicit `models.providers.*` entries plus the implicit Ollama provider.
//!
//! Discovery runs live on every command (no cache to go stale: `ollama pull X` shows up on the
//! next command). The rules for when it runs follow OpenClaw's Ollama page: it needs an
//! opt-in (`OLLAMA_API_KEY`, an `ollama` auth profile, or `models.providers.ollama.apiKey`) and
//! is skipped only when `models.providers.ollama` lists `models`; an entry without `models`
//! keeps discovery on and lends it its apiKey, baseUrl, api, headers and timeoutSeconds.

use std::collections::BTreeMap;
use std::time::Duration;

use openclaw_config::{
    vars, ApiKind, AuthProfile, Cost, Env, InputKind, OpenClawConfig, ProviderConfig,
};

use crate::discovery::{
    discover_ollama_models, host_of, DiscoveredModel, DiscoveryError, DiscoveryReport,
    DiscoveryRequest,
};
use crate::ollama_host::{base_from_ollama_host, native_base, DEFAULT_OLLAMA_BASE};

/// Provider id of Ollama.
pub const OLLAMA: &str = "ollama";
/// Context window of an explicit model that does not set one.
pub const DEFAULT_EXPLICIT_CONTEXT_WINDOW: u64 = 8192;
/// maxTokens of an explicit model that does not set one.
pub const DEFAULT_EXPLICIT_MAX_TOKENS: u64 = 8192;

/// Where a provider's API key comes from; resolved when a request is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiKeySource {
    /// Written in the config.
    Literal(String),
    /// The name of an environment variable (`"OLLAMA_API_KEY"`), read at request time; when it
    /// is not set, the name itself is sent, as the original does.
    EnvVar(String),
    /// An auth profile (`ollama:default`).
    Profile { id: String, key: Option<String> },
}

impl ApiKeySource {
    /// From a config `apiKey` value: all-capitals names are environment variables.
    pub fn from_config(value: &str) -> Self {
        let is_env_name = !value.is_empty()
            && value.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && value
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if is_env_name {
            ApiKeySource::EnvVar(value.to_string())
        } else {
            ApiKeySource::Literal(value.to_string())
        }
    }

    /// The key to send now.
    pub fn resolve(&self, env: &Env) -> Option<String> {
        match self {
            ApiKeySource::Literal(k) => Some(k.clone()),
            ApiKeySource::EnvVar(name) => env
                .non_empty(name)
                .map(str::to_string)
                .or_else(|| Some(name.clone())),
            ApiKeySource::Profile { key, .. } => key.clone(),
        }
    }

    /// Where the key comes from, for status output (never the key itself).
    pub fn describe(&self) -> String {
        match self {
            ApiKeySource::Literal(_) => "config (apiKey)".to_string(),
            ApiKeySource::EnvVar(name) => format!("env {name}"),
            ApiKeySource::Profile { id, .. } => format!("auth profile {id}"),
        }
    }
}

/// How a provider got into the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderSource {
    Explicit,
    Discovered,
}

/// One provider the catalog can call.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderInfo {
    pub id: String,
    /// The API base: `…/v1` for `openai-completions`, Ollama's native base for `ollama`.
    pub base_url: Option<String>,
    pub api: ApiKind,
    pub api_key: Option<ApiKeySource>,
    pub headers: BTreeMap<String, String>,
    pub timeout_seconds: Option<u64>,
    pub source: ProviderSource,
}

impl ProviderInfo {
    /// True when the provider runs on this machine or the local network.
    pub fn is_local(&self) -> bool {
        self.base_url.as_deref().is_some_and(is_local_url)
    }
}

/// A model the agent can use.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogModel {
    pub provider: String,
    pub id: String,
    pub name: String,
    pub reasoning: bool,
    pub input: Vec<InputKind>,
    pub context_window: u64,
    pub max_tokens: u64,
    pub cost: Cost,
    pub api: ApiKind,
    /// Set for models found by Ollama discovery.
    pub discovered: Option<DiscoveredModel>,
}

impl CatalogModel {
    /// `provider/id`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.provider, self.id)
    }
}

/// What happened with Ollama discovery on this run.
#[derive(Debug, Clone)]
pub enum DiscoveryOutcome {
    /// No opt-in: no `OLLAMA_API_KEY`, no `ollama` auth profile, no `models.providers.ollama.apiKey`.
    NotEnabled,
    /// `models.providers.ollama.models` is set: the explicit list is used as given.
    ExplicitModels,
    /// Left out by a `--provider` filter.
    Filtered,
    Ran(DiscoveryReport),
    Failed(DiscoveryError),
}

/// The catalog for one command.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub providers: Vec<ProviderInfo>,
    pub models: Vec<CatalogModel>,
    pub discovery: DiscoveryOutcome,
    /// The Ollama base URL discovery used or would use.
    pub ollama_base: String,
}

/// Inputs of [`build_catalog`].
pub struct CatalogSources<'a> {
    pub config: &'a OpenClawConfig,
    /// The `ollama` auth profile, if any.
    pub ollama_profile: Option<AuthProfile>,
    pub env: &'a Env,
}

/// Knobs of [`build_catalog`].
#[derive(Debug, Clone)]
pub struct CatalogOptions {
    pub discovery_timeout: Duration,
    pub discovery_concurrency: usize,
    /// Only this provider (`models list --provider`).
    pub only_provider: Option<String>,
}

impl Default for CatalogOptions {
    fn default() -> Self {
        Self {
            discovery_timeout: crate::discovery::DEFAULT_TIMEOUT,
            discovery_concurrency: crate::discovery::DEFAULT_CONCURRENCY,
            only_provider: None,
        }
    }
}

/// Builds the catalog, running Ollama discovery when it applies.
pub async fn build_catalog(sources: &CatalogSources<'_>, options: &CatalogOptions) -> Catalog {
    let config = sources.config;
    let env = sources.env;
    let wanted = |id: &str| options.only_provider.as_deref().is_none_or(|p| p == id);
    let mut providers = Vec::new();
    let mut models = Vec::new();

    let ollama_entry = config.models.providers.get(OLLAMA);
    let ollama_base = ollama_native_base(config, env);
    let env_key = env.non_empty(vars::OLLAMA_API_KEY);

    for (id, entry) in &config.models.providers {
        if id == OLLAMA && entry.models.is_none() {
            continue; // settings for the discovered provider, handled below
        }
        if !wanted(id) {
            continue;
        }
        let mut info = explicit_provider(id, entry, &ollama_base);
        if id == OLLAMA && info.api_key.is_none() {
            // "If OLLAMA_API_KEY is set, you can omit apiKey in the provider entry."
            info.api_key = env_key
                .as_ref()
                .map(|_| ApiKeySource::EnvVar(vars::OLLAMA_API_KEY.to_string()))
                .or_else(|| sources.ollama_profile.as_ref().map(profile_key));
        }
        for def in entry.models.iter().flatten() {
            let context_window = def
                .context_window
                .unwrap_or(DEFAULT_EXPLICIT_CONTEXT_WINDOW);
            models.push(CatalogModel {
                provider: id.clone(),
                id: def.id.clone(),
                name: def.name.clone().unwrap_or_else(|| def.id.clone()),
                reasoning: def.reasoning,
                input: supported_inputs(def.input.as_deref()),
                context_window,
                max_tokens: def.max_tokens.unwrap_or(DEFAULT_EXPLICIT_MAX_TOKENS),
                cost: def.cost,
                api: def.api.unwrap_or(info.api),
                discovered: None,
            });
        }
        providers.push(info);
    }

    let explicit_ollama_models = ollama_entry.is_some_and(|e| e.models.is_some());
    let opt_in = ollama_entry
        .and_then(|e| e.api_key.as_deref())
        .map(ApiKeySource::from_config)
        .or_else(|| {
            env_key
                .as_ref()
                .map(|_| ApiKeySource::EnvVar(vars::OLLAMA_API_KEY.to_string()))
        })
        .or_else(|| sources.ollama_profile.as_ref().map(profile_key));

    let discovery = if explicit_ollama_models {
        DiscoveryOutcome::ExplicitModels
    } else if !wanted(OLLAMA) {
        DiscoveryOutcome::Filtered
    } else if let Some(key) = opt_in {
        let entry = ollama_entry.cloned().unwrap_or_default();
        let api = entry.api.unwrap_or_default();
        let mut request = DiscoveryRequest::new(ollama_base.clone());
        request.api_key = key.resolve(env);
        request.headers = entry
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        request.timeout = options.discovery_timeout;
        request.concurrency = options.discovery_concurrency;
        let info = ProviderInfo {
            id: OLLAMA.to_string(),
            base_url: Some(api_base(&ollama_base, api)),
            api,
            api_key: Some(key),
            headers: entry.headers.clone(),
            timeout_seconds: entry.timeout_seconds,
            source: ProviderSource::Discovered,
        };
        providers.push(info);
        match discover_ollama_models(&request).await {
            Ok(report) => {
                models.extend(report.models.iter().map(|m| discovered_model(m, api)));
                DiscoveryOutcome::Ran(report)
            }
            Err(e) => DiscoveryOutcome::Failed(e),
        }
    } else {
        DiscoveryOutcome::NotEnabled
    };

    Catalog {
        providers,
        models,
        discovery,
        ollama_base,
    }
}

/// Ollama's native base URL (no `/v1`), by the discovery rules: the `models.providers.ollama`
/// entry's `baseUrl` without its `/v1`, else `OLLAMA_HOST` read as Ollama reads it, else
/// `http://127.0.0.1:11434`. Everything that talks to Ollama's own API (`/api/tags`,
/// `/api/pull`, …) uses this, so `models pull` and `onboard` look where discovery looks.
pub fn ollama_native_base(config: &OpenClawConfig, env: &Env) -> String {
    config
        .models
        .providers
        .get(OLLAMA)
        .and_then(|e| e.base_url.as_deref())
        .map(native_base)
        .or_else(|| {
            env.get_str(vars::OLLAMA_HOST)
                .filter(|h| !h.trim().is_empty())
                .map(base_from_ollama_host)
        })
        .unwrap_or_else(|| DEFAULT_OLLAMA_BASE.to_string())
}

/// The key to send to Ollama's own API, if one is known: the entry's `apiKey`, else
/// `OLLAMA_API_KEY`, else the `ollama` auth profile. Ollama itself needs none; a proxy in front
/// of it may.
pub fn ollama_api_key(
    config: &OpenClawConfig,
    profile: Option<&AuthProfile>,
    env: &Env,
) -> Option<String> {
    config
        .models
        .providers
        .get(OLLAMA)
        .and_then(|e| e.api_key.as_deref())
        .map(ApiKeySource::from_config)
        .and_then(|k| k.resolve(env))
        .or_else(|| env.non_empty(vars::OLLAMA_API_KEY).map(str::to_string))
        .or_else(|| profile.and_then(|p| p.key.clone()))
}

fn profile_key(p: &AuthProfile) -> ApiKeySource {
    ApiKeySource::Profile {
        id: p.id.clone(),
        key: p.key.clone(),
    }
}

fn explicit_provider(id: &str, entry: &ProviderConfig, ollama_base: &str) -> ProviderInfo {
    let api = entry.api.unwrap_or_default();
    let base_url = match (&entry.base_url, id) {
        (Some(url), _) if api == ApiKind::Ollama => Some(native_base(url)),
        (Some(url), _) => Some(url.trim().trim_end_matches('/').to_string()),
        (None, OLLAMA) => Some(api_base(ollama_base, api)),
        (None, _) => None,
    };
    ProviderInfo {
        id: id.to_string(),
        base_url,
        api,
        api_key: entry.api_key.as_deref().map(ApiKeySource::from_config),
        headers: entry.headers.clone(),
        timeout_seconds: entry.timeout_seconds,
        source: ProviderSource::Explicit,
    }
}

/// The base a client calls: `…/v1` for the OpenAI wire, the native base for `ollama`.
fn api_base(native: &str, api: ApiKind) -> String {
    match api {
        ApiKind::Ollama => native.to_string(),
        _ => format!("{native}/v1"),
    }
}

fn discovered_model(m: &DiscoveredModel, api: ApiKind) -> CatalogModel {
    let mut input = vec![InputKind::Text];
    if m.vision {
        input.push(InputKind::Image);
    }
    CatalogModel {
        provider: OLLAMA.to_string(),
        id: m.name.clone(),
        name: m.name.clone(),
        reasoning: m.reasoning,
        input,
        context_window: m.context_window,
        max_tokens: m.context_window.saturating_mul(10),
        cost: Cost::default(),
        api,
        discovered: Some(m.clone()),
    }
}

fn supported_inputs(input: Option<&[InputKind]>) -> Vec<InputKind> {
    let mut out: Vec<InputKind> = input
        .unwrap_or(&[InputKind::Text])
        .iter()
        .copied()
        .filter(|k| *k != InputKind::Other)
        .collect();
    out.dedup();
    if out.is_empty() {
        out.push(InputKind::Text);
    }
    out
}

/// True for loopback, private-network and `.local` hosts.
pub fn is_local_url(url: &str) -> bool {
    let host = host_of(url);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host == "localhost" || host.ends_with(".local") || host.ends_with(".localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        Ok(std::net::IpAddr::V6(ip)) => ip.is_loopback() || (ip.segments()[0] & 0xfe00) == 0xfc00,
        Err(_) => false,
    }
}

impl Catalog {
    /// The model with this key (`provider/id`).
    pub fn find(&self, provider: &str, id: &str) -> Option<&CatalogModel> {
        self.models
            .iter()
            .find(|m| m.provider == provider && m.id == id)
            .or_else(|| {
                // `ollama/llama3.3` means `llama3.3:latest`, as in Ollama itself.
                (provider == OLLAMA && !id.contains(':'))
                    .then(|| format!("{id}:latest"))
                    .and_then(|full| {
                        self.models
                            .iter()
                            .find(|m| m.provider == provider && m.id == full)
                    })
            })
    }

    /// The provider with this id.
    pub fn provider(&self, id: &str) -> Option<&ProviderInfo> {
        self.providers.iter().find(|p| p.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_names_are_env_vars() {
        assert_eq!(
            ApiKeySource::from_config("OLLAMA_API_KEY"),
            ApiKeySource::EnvVar("OLLAMA_API_KEY".into())
        );
        assert_eq!(
            ApiKeySource::from_config("ollama-local"),
            ApiKeySource::Literal("ollama-local".into())
        );
        let env = Env::from_vars([("MY_KEY", "secret")]);
        assert_eq!(
            ApiKeySource::EnvVar("MY_KEY".into())
                .resolve(&env)
                .as_deref(),
            Some("secret")
        );
        assert_eq!(
            ApiKeySource::EnvVar("UNSET_KEY".into())
                .resolve(&env)
                .as_deref(),
            Some("UNSET_KEY")
        );
    }

    #[test]
    fn local_urls() {
        for url in [
            "http://127.0.0.1:11434/v1",
            "http://localhost:1",
            "http://192.168.1.5:11434",
            "http://box.local:1",
            "http://[::1]:1",
        ] {
            assert!(is_local_url(url), "{url}");
        }
        for url in [
            "https://api.openai.com/v1",
            "http://ollama-host:11434/v1",
            "http://8.8.8.8",
        ] {
            assert!(!is_local_url(url), "{url}");
        }
    }
}
