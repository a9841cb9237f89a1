//! The provider catalog: which models exist, where, and which one the agent uses.
//!
//! Explicit `models.providers.*` entries come from the config; the implicit Ollama provider is
//! discovered live from Ollama's `/api/tags` and `/api/show` (see [`discovery`]).

mod assembly;
mod catalog;
pub mod discovery;
mod model_ref;
pub mod ollama_host;
mod probe;
pub mod pull;
mod selection;

pub use assembly::{assemble_catalog, discovery_timeout, AssembledCatalog};
pub use catalog::*;
pub use discovery::{
    DiscoveredModel, DiscoveryError, DiscoveryReport, DiscoveryRequest, SkipReason, SkippedModel,
};
pub use model_ref::{ModelRef, ModelRefError};
pub use probe::{
    context_mismatches, ollama_loaded_models, probe_provider, ContextMismatch, LoadedModel,
    ProbeResult,
};
pub use pull::{pull_ollama_model, LayerProgress, PullError, PullEvent, PullRequest};
pub use selection::{same_model, Selection};
