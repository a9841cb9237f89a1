//! What a test says about one model: its identity, what `/api/show` reports, how it misbehaves
//! and what its chat endpoints reply.
//!
//! A [`ModelSpec`] is plain data; the server turns it into Ollama's JSON shapes in
//! `ollama_api` and `chat`, so tests describe models in Ollama's own vocabulary (capabilities,
//! architecture, context length) rather than in JSON.

use std::time::Duration;

/// How an endpoint answers for one model (or for `/api/tags` itself).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Behaviour {
    /// Answer at once, like a healthy Ollama.
    #[default]
    Normal,
    /// Sleep this long, then answer normally.
    Delay(Duration),
    /// Never answer. The request stays open until the client gives up or the server is dropped.
    Hang,
    /// Answer with this HTTP status and body (sent as JSON if it parses as JSON, else as text).
    Status(u16, String),
    /// Answer `200` with `content-type: application/json` and a body that is not valid JSON
    /// (the real response cut in half).
    Garbage,
    /// Answer with exactly these bytes, written as the [`RawReply`] says: the faults a healthy
    /// server never shows (a trickle, a stall or a cut mid-body, invalid UTF-8, a wrong
    /// content type, a huge or endless body).
    Raw(RawReply),
}

/// A reply written byte for byte, for fault tests. Built with chained setters:
///
/// ```
/// # use openclaw_test_support::{Behaviour, RawReply};
/// # use std::time::Duration;
/// // 100 MB of NDJSON records, never held in memory whole by the server.
/// let huge = RawReply::new("application/x-ndjson", "{\"done\":false}\n").repeat_until(100 << 20);
/// // A slowloris-style trickle: one byte every 5 ms.
/// let trickle = RawReply::new("text/event-stream", "data: [DONE]\n\n").chunked(1, Duration::from_millis(5));
/// // Half a reply, then the connection is cut.
/// let cut = RawReply::new("application/x-ndjson", "{\"mess").then_cut();
/// # let _ = (Behaviour::Raw(huge), trickle, cut);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawReply {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
    pub(crate) chunk: usize,
    pub(crate) delay: Duration,
    pub(crate) total: RawTotal,
    pub(crate) end: RawEnd,
}

/// How much of a [`RawReply`]'s body is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RawTotal {
    Once,
    Bytes(u64),
    Forever,
}

/// What a [`RawReply`] does once its body is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RawEnd {
    /// End the body properly.
    Close,
    /// Abort the connection, so the client sees a body cut short.
    Cut,
    /// Send nothing more and keep the connection open.
    Hang,
}

impl RawReply {
    /// `200` with this content type and body, written at once.
    pub fn new(content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            content_type: Some(content_type.to_owned()),
            body: body.into(),
            chunk: 0,
            delay: Duration::ZERO,
            total: RawTotal::Once,
            end: RawEnd::Close,
        }
    }

    /// Another status code.
    pub fn status(mut self, code: u16) -> Self {
        self.status = code;
        self
    }

    /// No `content-type` header at all.
    pub fn without_content_type(mut self) -> Self {
        self.content_type = None;
        self
    }

    /// Write `bytes` bytes at a time (0: the whole body), pausing `delay` before every write
    /// after the first (and before a [`RawReply::then_cut`] or [`RawReply::then_hang`]).
    pub fn chunked(mut self, bytes: usize, delay: Duration) -> Self {
        self.chunk = bytes;
        self.delay = delay;
        self
    }

    /// Repeat the body until `bytes` bytes are written in all (the last copy cut to fit).
    pub fn repeat_until(mut self, bytes: u64) -> Self {
        self.total = RawTotal::Bytes(bytes);
        self
    }

    /// Repeat the body forever: a stream that never ends.
    pub fn forever(mut self) -> Self {
        self.total = RawTotal::Forever;
        self
    }

    /// After the body, abort the connection instead of ending the body.
    pub fn then_cut(mut self) -> Self {
        self.end = RawEnd::Cut;
        self
    }

    /// After the body, send nothing more and keep the connection open.
    pub fn then_hang(mut self) -> Self {
        self.end = RawEnd::Hang;
        self
    }
}

/// In a scripted reply, replaced by the time each chunk is written: microseconds since the Unix
/// epoch. Benchmarks put it in the content to measure the latency a relay (the gateway) adds.
pub const SENT_AT_PLACEHOLDER: &str = "{{sent_at_us}}";

/// A scripted chat reply, served byte for byte by whichever chat endpoint is called.
///
/// Bodies are sent in chunks (one SSE event or one NDJSON line per chunk), with
/// [`ModelSpec::chunk_delay`] between chunks, so clients see a real stream.
/// [`SENT_AT_PLACEHOLDER`] in a chunk is replaced by the moment it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A raw SSE body (`data: …\n\n` events), served as `text/event-stream`.
    Sse(String),
    /// A raw NDJSON body (one JSON object per line), served as `application/x-ndjson`.
    Ndjson(String),
    /// A JSON body, served whole as `application/json; charset=utf-8`.
    Json(String),
}

impl Reply {
    /// The `content-type` this reply is served with (the ones Ollama sends).
    pub fn content_type(&self) -> &'static str {
        match self {
            Reply::Sse(_) => "text/event-stream",
            Reply::Ndjson(_) => "application/x-ndjson",
            Reply::Json(_) => "application/json; charset=utf-8",
        }
    }

    /// The body split into the pieces that are written (and flushed) one at a time.
    pub(crate) fn chunks(&self) -> Vec<String> {
        match self {
            Reply::Sse(body) => body.split_inclusive("\n\n").map(str::to_owned).collect(),
            Reply::Ndjson(body) => body.split_inclusive('\n').map(str::to_owned).collect(),
            Reply::Json(body) => vec![body.clone()],
        }
    }
}

/// One model the test server lists, shows and chats with. Built with chained setters.
#[derive(Clone, Debug)]
pub struct ModelSpec {
    pub(crate) name: String,
    pub(crate) capabilities: Vec<String>,
    pub(crate) architecture: String,
    pub(crate) context_length: Option<u64>,
    pub(crate) model_info: bool,
    pub(crate) behaviour: Behaviour,
    pub(crate) chat_behaviour: Behaviour,
    pub(crate) size: u64,
    pub(crate) parameter_size: String,
    pub(crate) quantization: String,
    pub(crate) family: Option<String>,
    pub(crate) digest: Option<String>,
    pub(crate) modified_at: String,
    pub(crate) replies: Vec<Reply>,
    pub(crate) chunk_delay: Option<Duration>,
}

/// `/api/show` default for `<arch>.context_length` (Llama 3.x's trained context).
pub const DEFAULT_CONTEXT_LENGTH: u64 = 131_072;

impl ModelSpec {
    /// A tools-capable 8B llama-architecture model called `name` (`"llama3.3"`,
    /// `"qwen2.5-coder:32b"`). A name without a tag is listed as `name:latest`, as Ollama does.
    pub fn new(name: &str) -> Self {
        ModelSpec {
            name: name.to_owned(),
            capabilities: vec!["completion".to_owned(), "tools".to_owned()],
            architecture: "llama".to_owned(),
            context_length: Some(DEFAULT_CONTEXT_LENGTH),
            model_info: true,
            behaviour: Behaviour::Normal,
            chat_behaviour: Behaviour::Normal,
            // llama3.1:8b Q4_K_M, as `ollama list` shows it.
            size: 4_920_753_328,
            parameter_size: "8.0B".to_owned(),
            quantization: "Q4_K_M".to_owned(),
            family: None,
            digest: None,
            // tags.json's first entry.
            modified_at: "2025-05-10T08:06:48.639712648-07:00".to_owned(),
            replies: Vec::new(),
            chunk_delay: None,
        }
    }

    /// Capabilities reported by `/api/tags` and `/api/show` (default `["completion","tools"]`).
    /// Ollama's strings: `completion, tools, insert, vision, embedding, thinking, image, audio`.
    pub fn capabilities(mut self, caps: &[&str]) -> Self {
        self.capabilities = caps.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    /// GGUF architecture (default `"llama"`): `model_info["general.architecture"]` and the
    /// prefix of the architecture keys. Also the family unless [`ModelSpec::family`] is set.
    pub fn architecture(mut self, arch: &str) -> Self {
        self.architecture = arch.to_owned();
        self
    }

    /// `model_info["<arch>.context_length"]` (default 131072).
    pub fn context_length(mut self, n: u64) -> Self {
        self.context_length = Some(n);
        self
    }

    /// `/api/show` answers with `"model_info": {}` (Ollama always sends the key).
    pub fn without_model_info(mut self) -> Self {
        self.model_info = false;
        self
    }

    /// `model_info` is present but has no `<arch>.context_length`.
    pub fn without_context_length(mut self) -> Self {
        self.context_length = None;
        self
    }

    /// How `/api/show` answers for this model.
    pub fn behaviour(mut self, b: Behaviour) -> Self {
        self.behaviour = b;
        self
    }

    /// How `/api/chat` and `/v1/chat/completions` answer for this model (applied after the
    /// model is found, before any reply is sent).
    pub fn chat_behaviour(mut self, b: Behaviour) -> Self {
        self.chat_behaviour = b;
        self
    }

    /// Size on disk in bytes (`/api/tags` `size`).
    pub fn size(mut self, bytes: u64) -> Self {
        self.size = bytes;
        self
    }

    /// `details.parameter_size`, e.g. `"8.0B"`, `"135M"` (default `"8.0B"`).
    pub fn parameter_size(mut self, s: &str) -> Self {
        self.parameter_size = s.to_owned();
        self
    }

    /// `details.quantization_level`, e.g. `"Q4_K_M"` (the default).
    pub fn quantization(mut self, q: &str) -> Self {
        self.quantization = q.to_owned();
        self
    }

    /// `details.family` (and `families`); defaults to the architecture.
    pub fn family(mut self, f: &str) -> Self {
        self.family = Some(f.to_owned());
        self
    }

    /// Use this digest instead of the one derived from the name (64 hex digits).
    pub fn digest(mut self, hex: &str) -> Self {
        self.digest = Some(hex.to_owned());
        self
    }

    /// `modified_at`, as Ollama prints it (RFC 3339 with nanoseconds).
    pub fn modified_at(mut self, timestamp: &str) -> Self {
        self.modified_at = timestamp.to_owned();
        self
    }

    /// Script a chat reply. Each chat request takes the next scripted reply; the last one is
    /// repeated once the script runs out. Without any, a default `"Hello from <model>"` is sent.
    pub fn reply(mut self, r: Reply) -> Self {
        self.replies.push(r);
        self
    }

    /// Pause between the chunks of a streamed reply (scripted or default).
    pub fn chunk_delay(mut self, d: Duration) -> Self {
        self.chunk_delay = Some(d);
        self
    }

    /// The name as given to [`ModelSpec::new`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name as `/api/tags` lists it: `:latest` added when the name has no tag.
    pub fn listed_name(&self) -> String {
        normalize_name(&self.name)
    }

    /// The `digest` reported for this model: the one set, or 64 hex digits derived from the name.
    pub fn digest_hex(&self) -> String {
        match &self.digest {
            Some(d) => d.clone(),
            None => derive_digest(&self.listed_name()),
        }
    }

    /// The capabilities reported for this model.
    pub fn capability_list(&self) -> &[String] {
        &self.capabilities
    }

    /// Whether the model reports capability `cap`.
    pub fn has_capability(&self, cap: &str) -> bool {
        self.capabilities.iter().any(|c| c == cap)
    }

    /// The context length `/api/show` reports, if it reports one.
    pub fn advertised_context_length(&self) -> Option<u64> {
        if self.model_info {
            self.context_length
        } else {
            None
        }
    }

    /// `details.family`.
    pub fn family_name(&self) -> &str {
        self.family.as_deref().unwrap_or(&self.architecture)
    }

    /// Whether a request for `requested` addresses this model (`llama3.3` finds `llama3.3:latest`;
    /// case-insensitive, like Ollama's name lookup).
    pub(crate) fn matches(&self, requested: &str) -> bool {
        normalize_name(requested).eq_ignore_ascii_case(&self.listed_name())
    }

    /// The fully qualified name Ollama uses in some errors
    /// (`registry.ollama.ai/library/llama3.3:latest`).
    pub(crate) fn qualified_name(&self) -> String {
        let listed = self.listed_name();
        match listed.matches('/').count() {
            0 => format!("registry.ollama.ai/library/{listed}"),
            1 => format!("registry.ollama.ai/{listed}"),
            _ => listed,
        }
    }

    /// `general.parameter_count` derived from `parameter_size` (`"8.2B"` → 8_200_000_000).
    pub(crate) fn parameter_count(&self) -> u64 {
        let s = self.parameter_size.trim();
        let (number, scale) = match s.char_indices().last() {
            Some((i, 'B' | 'b')) => (&s[..i], 1e9),
            Some((i, 'M' | 'm')) => (&s[..i], 1e6),
            Some((i, 'K' | 'k')) => (&s[..i], 1e3),
            _ => (s, 1.0),
        };
        // Saturating float-to-int cast; parameter counts are far below u64::MAX.
        number
            .parse::<f64>()
            .map_or(0, |n| (n * scale).round() as u64)
    }
}

/// Ollama's short-name rule: a name whose last path segment has no tag gets `:latest`.
pub(crate) fn normalize_name(name: &str) -> String {
    let last_segment = name.rsplit('/').next().unwrap_or(name);
    if last_segment.contains(':') {
        name.to_owned()
    } else {
        format!("{name}:latest")
    }
}

/// A stable 64-hex-digit stand-in for a sha256 digest (FNV-1a over four seeds), so the same
/// name gets the same digest in every run without a hashing dependency.
pub(crate) fn derive_digest(name: &str) -> String {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut out = String::with_capacity(64);
    for seed in 0u64..4 {
        let mut hash = 0xcbf2_9ce4_8422_2325_u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for byte in name.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
        out.push_str(&format!("{hash:016x}"));
    }
    out
}

/// A deterministic mix of `n` models for large tests. Model `i` (0-based) is built so:
///
/// | rule | effect |
/// | --- | --- |
/// | name | `mixed-<i>` for even `i` (listed as `mixed-<i>:latest`), `mixed-<i>:q4` for odd `i` |
/// | architecture (= family) | `["llama","qwen2","qwen3","gemma3","mistral"][i % 5]` |
/// | context length | `[4096, 8192, 32768, 131072][i % 4]` |
/// | capabilities | `completion`, plus `tools` unless `i % 3 == 0`, plus `thinking` if `i % 5 == 0` |
/// | embedding model | `i % 13 == 12`: capabilities are just `["embedding"]` |
/// | no `model_info` | `i % 7 == 6`: `/api/show` sends `"model_info": {}` |
/// | no context length | `i % 11 == 10`: `model_info` without `<arch>.context_length` |
/// | size | `parameter_size` `["1.5B","3.2B","7.6B","14.8B"][i % 4]`, size ≈ 0.6 byte/param |
///
/// So `mixed_models(250)` has 96 models without tools (embedding ones included), 46 thinking
/// ones, 19 embedding ones, 35 without `model_info` and 22 without a context length. The first model (`i = 0`) is a
/// plain chat model with `model_info`, which keeps small slices useful.
pub fn mixed_models(n: usize) -> Vec<ModelSpec> {
    const ARCHS: [&str; 5] = ["llama", "qwen2", "qwen3", "gemma3", "mistral"];
    const CONTEXTS: [u64; 4] = [4096, 8192, 32_768, 131_072];
    const PARAMS: [(&str, u64); 4] = [
        ("1.5B", 986_061_472),
        ("3.2B", 2_019_393_189),
        ("7.6B", 4_683_075_271),
        ("14.8B", 8_988_124_069),
    ];
    (0..n)
        .map(|i| {
            let name = if i % 2 == 0 {
                format!("mixed-{i}")
            } else {
                format!("mixed-{i}:q4")
            };
            let mut caps = vec!["completion"];
            if i % 3 != 0 {
                caps.push("tools");
            }
            if i % 5 == 0 {
                caps.push("thinking");
            }
            if i % 13 == 12 {
                caps = vec!["embedding"];
            }
            let (params, size) = PARAMS[i % 4];
            let mut spec = ModelSpec::new(&name)
                .architecture(ARCHS[i % 5])
                .context_length(CONTEXTS[i % 4])
                .capabilities(&caps)
                .parameter_size(params)
                .size(size);
            if i % 7 == 6 {
                spec = spec.without_model_info();
            }
            if i % 11 == 10 {
                spec = spec.without_context_length();
            }
            spec
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untagged_names_are_listed_as_latest() {
        assert_eq!(ModelSpec::new("llama3.3").listed_name(), "llama3.3:latest");
        assert_eq!(
            ModelSpec::new("qwen2.5-coder:32b").listed_name(),
            "qwen2.5-coder:32b"
        );
        assert_eq!(
            ModelSpec::new("hf.co/org/model").listed_name(),
            "hf.co/org/model:latest"
        );
        assert!(ModelSpec::new("llama3.3").matches("llama3.3"));
        assert!(ModelSpec::new("llama3.3").matches("Llama3.3:latest"));
        assert!(!ModelSpec::new("llama3.3").matches("llama3.3:70b"));
    }

    #[test]
    fn digests_are_stable_64_hex() {
        let a = ModelSpec::new("llama3.3").digest_hex();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a, ModelSpec::new("llama3.3:latest").digest_hex());
        assert_ne!(a, ModelSpec::new("llama3.2").digest_hex());
    }

    #[test]
    fn parameter_count_follows_parameter_size() {
        let spec = |s: &str| ModelSpec::new("m").parameter_size(s).parameter_count();
        assert_eq!(spec("8.2B"), 8_200_000_000);
        assert_eq!(spec("135M"), 135_000_000);
        assert_eq!(spec("weird"), 0);
    }

    #[test]
    fn mixed_models_follow_the_documented_rule() {
        let models = mixed_models(250);
        assert_eq!(models.len(), 250);
        let count = |f: &dyn Fn(&ModelSpec) -> bool| models.iter().filter(|m| f(m)).count();
        assert_eq!(count(&|m| !m.has_capability("tools")), 96);
        assert_eq!(count(&|m| m.has_capability("thinking")), 46);
        assert_eq!(count(&|m| m.has_capability("embedding")), 19);
        assert_eq!(count(&|m| !m.model_info), 35);
        assert_eq!(count(&|m| m.context_length.is_none()), 22);
        assert_eq!(models[0].listed_name(), "mixed-0:latest");
        assert_eq!(models[1].listed_name(), "mixed-1:q4");
        let first = &models[0];
        assert!(first.has_capability("completion") && first.model_info);
    }
}
