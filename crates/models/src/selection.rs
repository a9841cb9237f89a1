//! The agent's model choice: primary, fallbacks and aliases from `agents.defaults`.

use std::collections::BTreeMap;

use openclaw_config::OpenClawConfig;

use crate::catalog::OLLAMA;
use crate::model_ref::{ModelRef, ModelRefError};

/// Primary, fallbacks and aliases, resolved from the config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    pub primary: Option<ModelRef>,
    pub fallbacks: Vec<ModelRef>,
    /// alias → ref, from `agents.defaults.models[ref].alias`.
    pub aliases: BTreeMap<String, ModelRef>,
    /// Keys of `agents.defaults.models`.
    pub configured: Vec<ModelRef>,
    /// Refs in the config that do not parse, with the error.
    pub invalid: Vec<ModelRefError>,
}

impl Selection {
    /// Reads `agents.defaults.model` and `agents.defaults.models`.
    pub fn from_config(config: &OpenClawConfig) -> Self {
        let defaults = &config.agents.defaults;
        let mut sel = Selection::default();
        for (key, entry) in &defaults.models {
            match ModelRef::parse(key) {
                Ok(r) => {
                    if let Some(alias) = entry.alias.as_deref().filter(|a| !a.trim().is_empty()) {
                        sel.aliases.insert(alias.trim().to_string(), r.clone());
                    }
                    sel.configured.push(r);
                }
                Err(e) => sel.invalid.push(e),
            }
        }
        if let Some(model) = &defaults.model {
            if let Some(p) = model.primary() {
                match sel.resolve(p) {
                    Ok(r) => sel.primary = Some(r),
                    Err(e) => sel.invalid.push(e),
                }
            }
            for f in model.fallbacks() {
                match sel.resolve(&f) {
                    Ok(r) if !sel.fallbacks.contains(&r) => sel.fallbacks.push(r),
                    Ok(_) => {}
                    Err(e) => sel.invalid.push(e),
                }
            }
        }
        sel
    }

    /// An alias or a `provider/model` ref.
    pub fn resolve(&self, input: &str) -> Result<ModelRef, ModelRefError> {
        match self.aliases.get(input.trim()) {
            Some(r) => Ok(r.clone()),
            None => ModelRef::parse(input),
        }
    }

    /// The tags `models list` shows for a model: `default`, `fallback#N`, `configured`, `alias:…`.
    pub fn tags_for(&self, provider: &str, id: &str) -> Vec<String> {
        let mut tags = Vec::new();
        if self
            .primary
            .as_ref()
            .is_some_and(|p| same_model(p, provider, id))
        {
            tags.push("default".to_string());
        }
        for (i, f) in self.fallbacks.iter().enumerate() {
            if same_model(f, provider, id) {
                tags.push(format!("fallback#{}", i + 1));
            }
        }
        if self.configured.iter().any(|c| same_model(c, provider, id)) {
            tags.push("configured".to_string());
        }
        let aliases: Vec<&str> = self
            .aliases
            .iter()
            .filter(|(_, r)| same_model(r, provider, id))
            .map(|(a, _)| a.as_str())
            .collect();
        if !aliases.is_empty() {
            tags.push(format!("alias:{}", aliases.join(",")));
        }
        tags
    }

    /// Every ref the selection names: primary, then fallbacks, then configured entries.
    pub fn referenced(&self) -> Vec<&ModelRef> {
        let mut out: Vec<&ModelRef> = Vec::new();
        for r in self
            .primary
            .iter()
            .chain(&self.fallbacks)
            .chain(&self.configured)
        {
            if !out.contains(&r) {
                out.push(r);
            }
        }
        out
    }
}

/// Whether `r` names the model `provider/id`; for Ollama, `llama3.3` is `llama3.3:latest`.
pub fn same_model(r: &ModelRef, provider: &str, id: &str) -> bool {
    if r.provider != provider {
        return false;
    }
    if r.model == id {
        return true;
    }
    provider == OLLAMA && ollama_full_name(&r.model) == ollama_full_name(id)
}

fn ollama_full_name(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(v: serde_json::Value) -> OpenClawConfig {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn seed_selection_with_fallback_spelling() {
        let sel = Selection::from_config(&config(json!({"agents": {"defaults": {"model": {
            "primary": "ollama/llama3.3", "fallback": ["ollama/qwen2.5-coder:32b"]}}}})));
        assert_eq!(sel.primary, Some(ModelRef::new("ollama", "llama3.3")));
        assert_eq!(
            sel.fallbacks,
            vec![ModelRef::new("ollama", "qwen2.5-coder:32b")]
        );
        assert_eq!(sel.tags_for("ollama", "llama3.3:latest"), vec!["default"]);
        assert_eq!(
            sel.tags_for("ollama", "qwen2.5-coder:32b"),
            vec!["fallback#1"]
        );
        assert!(sel.tags_for("ollama", "qwen2.5-coder:7b").is_empty());
    }

    #[test]
    fn aliases_resolve_and_tag() {
        let sel = Selection::from_config(&config(json!({"agents": {"defaults": {
            "model": "fast",
            "models": {"ollama/llama3.2:3b": {"alias": "fast"}}}}})));
        assert_eq!(sel.primary, Some(ModelRef::new("ollama", "llama3.2:3b")));
        assert_eq!(
            sel.tags_for("ollama", "llama3.2:3b"),
            vec!["default", "configured", "alias:fast"]
        );
    }

    #[test]
    fn bad_refs_are_collected_not_fatal() {
        let sel = Selection::from_config(&config(
            json!({"agents": {"defaults": {"model": "llama3.3"}}}),
        ));
        assert!(sel.primary.is_none());
        assert_eq!(sel.invalid.len(), 1);
    }

    #[test]
    fn latest_tag_is_implicit_for_ollama_only() {
        assert!(same_model(
            &ModelRef::new("ollama", "llama3.3"),
            "ollama",
            "llama3.3:latest"
        ));
        assert!(same_model(
            &ModelRef::new("ollama", "hf.co/org/repo"),
            "ollama",
            "hf.co/org/repo:latest"
        ));
        assert!(!same_model(
            &ModelRef::new("other", "llama3.3"),
            "other",
            "llama3.3:latest"
        ));
    }
}
