//! The catalog as every command and the gateway build it, from what they have at hand: the
//! config, the state directory and the environment.
//!
//! The CLI and the gateway used to assemble it each in their own way (which auth profile,
//! which discovery timeout, which environment), so they could drift apart; this is the one
//! place. It is an ordinary `Send` future over a `Sync` [`Env`], so the gateway awaits it on
//! its own runtime.

use std::time::Duration;

use openclaw_config::{
    vars, AuthProfiles, ConfigError, Env, OpenClawConfig, StatePaths, DEFAULT_AGENT_ID,
};

use crate::catalog::{build_catalog, Catalog, CatalogOptions, CatalogSources, OLLAMA};

/// A catalog, and what the caller should tell the user about how it was assembled.
#[derive(Debug)]
pub struct AssembledCatalog {
    pub catalog: Catalog,
    /// The default agent's `auth-profiles.json` could not be read; it counted as empty (so a
    /// broken file never blocks a command that does not need it).
    pub auth_profiles_error: Option<ConfigError>,
}

/// The catalog for `config`: explicit providers, plus live Ollama discovery when it applies,
/// opted in by the config, `OLLAMA_API_KEY` or the default agent's `ollama` auth profile, with
/// `OPENCLAW_DISCOVERY_TIMEOUT` per request. `only_provider` leaves the others out.
pub async fn assemble_catalog(
    config: &OpenClawConfig,
    paths: &StatePaths,
    env: &Env,
    only_provider: Option<String>,
) -> AssembledCatalog {
    let (profiles, auth_profiles_error) =
        match AuthProfiles::load(&paths.auth_profiles(DEFAULT_AGENT_ID)) {
            Ok(profiles) => (Some(profiles), None),
            Err(e) => (None, Some(e)),
        };
    let sources = CatalogSources {
        config,
        ollama_profile: profiles.and_then(|p| p.for_provider(OLLAMA)),
        env,
    };
    let options = CatalogOptions {
        discovery_timeout: discovery_timeout(env),
        only_provider,
        ..CatalogOptions::default()
    };
    AssembledCatalog {
        catalog: build_catalog(&sources, &options).await,
        auth_profiles_error,
    }
}

/// Per-request timeout of Ollama discovery: `OPENCLAW_DISCOVERY_TIMEOUT` (seconds), else
/// [`crate::discovery::DEFAULT_TIMEOUT`].
pub fn discovery_timeout(env: &Env) -> Duration {
    env.seconds(vars::OPENCLAW_DISCOVERY_TIMEOUT)
        .unwrap_or(crate::discovery::DEFAULT_TIMEOUT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DiscoveryOutcome;
    use openclaw_test_support::{ModelSpec, TestServer};

    fn state(profiles: Option<&str>) -> (tempfile::TempDir, StatePaths) {
        let dir = tempfile::tempdir().unwrap();
        let paths = StatePaths::in_dir(dir.path());
        if let Some(text) = profiles {
            let file = paths.auth_profiles(DEFAULT_AGENT_ID);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        (dir, paths)
    }

    /// What lets the gateway await it on its own runtime instead of a throw-away one.
    #[test]
    fn the_future_can_move_between_threads() {
        fn send<T: Send>(_: &T) {}
        let (config, paths, env) = (
            OpenClawConfig::default(),
            StatePaths::in_dir("."),
            Env::default(),
        );
        send(&assemble_catalog(&config, &paths, &env, None));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_ollama_auth_profile_opts_in_to_discovery() {
        let server = TestServer::builder()
            .model(ModelSpec::new("llama3.3"))
            .start()
            .await
            .unwrap();
        let (_dir, paths) = state(Some(
            r#"{"version":1,"profiles":{"ollama:default":{"type":"api_key","provider":"ollama","key":"k"}}}"#,
        ));
        let env = Env::from_vars([(vars::OLLAMA_HOST, server.addr().to_string())]);
        let assembled = tokio::spawn(async move {
            assemble_catalog(&OpenClawConfig::default(), &paths, &env, None).await
        })
        .await
        .unwrap();
        assert!(assembled.auth_profiles_error.is_none());
        assert!(
            matches!(assembled.catalog.discovery, DiscoveryOutcome::Ran(_)),
            "{:?}",
            assembled.catalog.discovery
        );
        assert_eq!(assembled.catalog.models.len(), 1);
    }

    #[tokio::test]
    async fn a_broken_auth_profiles_file_is_reported_and_counts_as_empty() {
        let (_dir, paths) = state(Some("{ not json"));
        let assembled =
            assemble_catalog(&OpenClawConfig::default(), &paths, &Env::default(), None).await;
        let error = assembled.auth_profiles_error.unwrap().to_string();
        assert!(error.contains("auth-profiles.json"), "{error}");
        assert!(matches!(
            assembled.catalog.discovery,
            DiscoveryOutcome::NotEnabled
        ));
    }

    #[test]
    fn discovery_timeout_reads_the_environment() {
        assert_eq!(
            discovery_timeout(&Env::from_vars([(vars::OPENCLAW_DISCOVERY_TIMEOUT, "0.5")])),
            Duration::from_millis(500)
        );
        assert_eq!(
            discovery_timeout(&Env::default()),
            crate::discovery::DEFAULT_TIMEOUT
        );
    }
}
