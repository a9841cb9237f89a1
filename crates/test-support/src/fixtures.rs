//! The recorded Ollama shapes in `fixtures/`, and a model set built from them.
//!
//! Tests across the workspace compare their parsing against these files, so they are found
//! through this crate's manifest directory rather than through relative paths that depend on
//! where `cargo test` runs.

use std::path::{Path, PathBuf};

use crate::spec::ModelSpec;

/// Absolute path of a fixture, e.g. `fixture_path("ollama/tags.json")`.
pub fn fixture_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// Contents of a fixture, e.g. `fixture("ollama/chat-stream-toolcall.sse")`.
///
/// # Panics
///
/// If the file cannot be read: a missing fixture is a broken test, and the message says which.
pub fn fixture(rel: &str) -> String {
    let path = fixture_path(rel);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read fixture {}: {err}", path.display()))
}

/// Models whose names, sizes, digests, details, capabilities and context lengths are taken
/// from the fixtures (the file is named beside each), plus `llama3.3`, the project's default
/// local model. Used by `ollama-test-server --fixtures`.
pub fn fixture_models() -> Vec<ModelSpec> {
    vec![
        // Not in the fixtures: Ollama's library page for llama3.3 (70B, Q4_K_M, 128k context).
        ModelSpec::new("llama3.3")
            .size(42_520_413_916)
            .parameter_size("70.6B")
            .context_length(131_072),
        // ollama/tags.json (second entry); capabilities as used in api-chat-stream-toolcall.ndjson.
        ModelSpec::new("llama3.2")
            .size(2_019_393_189)
            .digest("a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72")
            .parameter_size("3.2B")
            .modified_at("2025-05-04T17:37:44.706015396-07:00")
            .context_length(131_072),
        // ollama/tags.json (first entry): a qwen2-architecture thinking model.
        ModelSpec::new("deepseek-r1")
            .architecture("qwen2")
            .capabilities(&["completion", "thinking"])
            .size(4_683_075_271)
            .digest("0a8c266910232fd3291e71e5ba1e058cc5af9d411192cf88b6d30e92b6e73163")
            .parameter_size("7.6B")
            .modified_at("2025-05-10T08:06:48.639712648-07:00")
            .context_length(131_072),
        // ollama/show-qwen3-thinking.json (synthesised there; size illustrative).
        ModelSpec::new("qwen3:8b")
            .architecture("qwen3")
            .capabilities(&["completion", "tools", "thinking"])
            .size(5_225_376_047)
            .parameter_size("8.2B")
            .modified_at("2025-06-04T10:00:00.000000000Z")
            .context_length(40_960),
        // ollama/tags-openapi-gemma4.json + show-gemma4-openapi.json.
        ModelSpec::new("gemma4")
            .architecture("gemma4")
            .capabilities(&["completion", "vision"])
            .size(9_608_350_245)
            .digest("c6eb396dbd5992bbe3f5cdb947e8bbc0ee413d7c17e2beaae69f5d569cf982eb")
            .parameter_size("8.0B")
            .modified_at("2025-10-03T23:34:03.409490317-07:00")
            .context_length(131_072),
        // ollama/show-llava-docs.json: an 8B llama with vision, 8k context, Q4_0.
        ModelSpec::new("llava")
            .capabilities(&["completion", "vision"])
            .parameter_size("8.0B")
            .quantization("Q4_0")
            .context_length(8192),
        // llamacpp-shim/api-tags.json: the tiny models of the local llama.cpp test backend.
        ModelSpec::new("smollm2:135m")
            .size(98_362_432)
            .digest("b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")
            .parameter_size("135M")
            .quantization("Q4_1")
            .modified_at("2026-11-21T23:40:36.587468+00:00")
            .context_length(8192),
        ModelSpec::new("smollm2-think:135m")
            .capabilities(&["completion", "tools", "thinking"])
            .size(98_362_432)
            .digest("b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")
            .parameter_size("135M")
            .quantization("Q4_1")
            .modified_at("2026-11-21T23:40:36.587468+00:00")
            .context_length(8192),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn json(rel: &str) -> Value {
        serde_json::from_str(&fixture(rel)).unwrap()
    }

    #[test]
    fn fixture_files_are_found() {
        assert!(fixture_path("ollama/tags.json").is_file());
        assert!(fixture("ollama/chat-stream-toolcall.sse").contains("data: [DONE]"));
    }

    /// The hard-coded fixture models must not drift from the files they cite.
    #[test]
    fn fixture_models_match_their_fixture_files() {
        let models = fixture_models();
        let by_name = |name: &str| {
            models
                .iter()
                .find(|m| m.listed_name() == name)
                .unwrap()
                .clone()
        };
        let mut tag_items: Vec<Value> = Vec::new();
        for rel in [
            "ollama/tags.json",
            "ollama/tags-openapi-gemma4.json",
            "llamacpp-shim/api-tags.json",
        ] {
            tag_items.extend(json(rel)["models"].as_array().unwrap().iter().cloned());
        }
        for item in &tag_items {
            let name = item["name"].as_str().unwrap();
            let spec = by_name(&crate::spec::normalize_name(name));
            assert_eq!(item["size"].as_u64().unwrap(), spec.size, "{name}");
            assert_eq!(
                item["digest"].as_str().unwrap(),
                spec.digest_hex(),
                "{name}"
            );
            assert_eq!(item["modified_at"].as_str().unwrap(), spec.modified_at);
            let details = &item["details"];
            assert_eq!(details["family"].as_str().unwrap(), spec.family_name());
            assert_eq!(
                details["parameter_size"].as_str().unwrap(),
                spec.parameter_size
            );
            assert_eq!(
                details["quantization_level"].as_str().unwrap(),
                spec.quantization
            );
            if let Some(caps) = item.get("capabilities") {
                let caps: Vec<String> = serde_json::from_value(caps.clone()).unwrap();
                assert_eq!(caps, spec.capability_list(), "{name}");
            }
        }
        for (rel, name) in [
            ("ollama/show-qwen3-thinking.json", "qwen3:8b"),
            ("ollama/show-gemma4-openapi.json", "gemma4:latest"),
            ("ollama/show-llava-docs.json", "llava:latest"),
        ] {
            let show = json(rel);
            let spec = by_name(name);
            let arch = show["model_info"]["general.architecture"].as_str().unwrap();
            assert_eq!(arch, spec.architecture, "{rel}");
            assert_eq!(
                show["model_info"][format!("{arch}.context_length")].as_u64(),
                spec.advertised_context_length(),
                "{rel}"
            );
            let caps: Vec<String> = serde_json::from_value(show["capabilities"].clone()).unwrap();
            assert_eq!(caps, spec.capability_list(), "{rel}");
            assert_eq!(
                show["details"]["quantization_level"].as_str().unwrap(),
                spec.quantization
            );
        }
    }
}
