//! `provider/model` references.
//!
//! Split at the first `/` only: Ollama model names may themselves contain slashes
//! (`ollama/hf.co/org/repo:Q4_K_M` is provider `ollama`, model `hf.co/org/repo:Q4_K_M`).

use std::fmt;

/// A parsed model reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelRef {
    pub provider: String,
    pub model: String,
}

/// Why a string is not a model reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a model reference: {reason}\n  hint: write `provider/model`, e.g. `ollama/llama3.3` or `ollama/qwen2.5-coder:32b`")]
pub struct ModelRefError {
    pub input: String,
    pub reason: &'static str,
}

impl ModelRef {
    /// Parses `provider/model`.
    pub fn parse(input: &str) -> Result<Self, ModelRefError> {
        let trimmed = input.trim();
        let err = |reason| ModelRefError {
            input: input.to_string(),
            reason,
        };
        let (provider, model) = trimmed
            .split_once('/')
            .ok_or_else(|| err("it has no `/` between provider and model"))?;
        if provider.is_empty() {
            return Err(err("the provider part is empty"));
        }
        if model.is_empty() {
            return Err(err("the model part is empty"));
        }
        if provider.chars().any(char::is_whitespace) {
            return Err(err("the provider contains whitespace"));
        }
        Ok(Self {
            provider: provider.to_string(),
            model: model.to_string(),
        })
    }

    /// Builds a reference from its parts.
    pub fn new(provider: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            provider: provider.into(),
            model: model.into(),
        }
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.provider, self.model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_first_slash_only() {
        assert_eq!(
            ModelRef::parse("ollama/qwen2.5-coder:32b").unwrap(),
            ModelRef::new("ollama", "qwen2.5-coder:32b")
        );
        assert_eq!(
            ModelRef::parse("ollama/hf.co/org/repo:Q4_K_M").unwrap(),
            ModelRef::new("ollama", "hf.co/org/repo:Q4_K_M")
        );
        assert_eq!(
            ModelRef::parse("ollama/hf.co/org/repo:Q4_K_M")
                .unwrap()
                .to_string(),
            "ollama/hf.co/org/repo:Q4_K_M"
        );
    }

    #[test]
    fn rejects_incomplete_refs_with_a_hint() {
        for bad in ["llama3.3", "/llama3.3", "ollama/", ""] {
            let err = ModelRef::parse(bad).unwrap_err().to_string();
            assert!(err.contains("hint: write `provider/model`"), "{bad}: {err}");
        }
    }
}
