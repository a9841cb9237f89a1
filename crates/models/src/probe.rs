//! A quick "is this provider there, and does it accept our key?" check for `models status`.

use std::time::Duration;

use openclaw_config::{ApiKind, EnvLookup};

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
pub async fn probe_provider(
    info: &ProviderInfo,
    env: EnvLookup<'_>,
    timeout: Duration,
) -> ProbeResult {
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
