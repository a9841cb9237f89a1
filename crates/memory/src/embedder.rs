//! What turns text into vectors, as the index sees it.

use std::future::Future;
use std::pin::Pin;

use openclaw_llm::EmbeddingClient;

use crate::settings::EmbeddingSettings;

/// A batch of vectors, or why there are none.
pub type EmbedFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<Vec<f32>>, String>> + Send + 'a>>;

/// Makes one vector per text.
pub trait Embedder: Send + Sync {
    /// Names the vectors (`ollama/all-minilm:l6-v2`): vectors of different identities are
    /// never compared, and a change re-embeds the index.
    fn identity(&self) -> String;
    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a>;
}

/// An embedding model served by Ollama or an OpenAI-compatible server.
pub struct ModelEmbedder {
    settings: EmbeddingSettings,
    client: EmbeddingClient,
}

impl ModelEmbedder {
    pub fn new(settings: EmbeddingSettings) -> Self {
        let client = EmbeddingClient::new(settings.endpoint.clone());
        Self { settings, client }
    }
}

impl Embedder for ModelEmbedder {
    fn identity(&self) -> String {
        self.settings.identity()
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
        Box::pin(async move {
            self.client
                .embed(&self.settings.model, texts)
                .await
                .map_err(|e| e.to_string())
        })
    }
}
