//! What a test says about one `POST /api/pull`, and the records it turns into: a scripted
//! model download, so `openclaw models pull` and `onboard` can be tested for progress, mid-way
//! failures and "the model shows up afterwards" without a registry.
//!
//! The record sequence follows Ollama's `server/images.go` `PullModel` and
//! `server/download.go`: `{"status":"pulling manifest"}`, then for each layer in turn records
//! `{"status":"pulling <digest[7:19]>","digest":"sha256:…","total":N,"completed":M}` (with
//! `completed` omitted while it is 0, Go's `omitempty`), then `verifying sha256 digest`,
//! `writing manifest`, `success`. No bytes are transferred: ~10 records per layer stand for a
//! download of any size.
//!
//! Apart from the handler (`pull`) because the server's shared state keeps the scripts the
//! handler reads: the script is data both use, the handler is HTTP only one of them serves.

use std::time::Duration;

use serde_json::{json, Value};

use crate::spec::{derive_digest, ModelSpec};

/// Sizes of the small layers of an Ollama library model: template, license, params
/// (illustrative; real ones are a few bytes to a few KB).
const SMALL_LAYERS: [u64; 3] = [1_481, 12_403, 96];

/// How a pull of one model goes. Built with chained setters.
///
/// ```no_run
/// # use openclaw_test_support::{ModelSpec, PullScript, TestServer};
/// # use std::time::Duration;
/// let server = TestServer::builder()
///     .pull_script("llama3.3", PullScript::new())
///     .pull_script(
///         "broken",
///         PullScript::new().fail_after(15, "max retries exceeded: unexpected EOF"),
///     )
///     .start_blocking()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct PullScript {
    model: Option<ModelSpec>,
    layers: Option<Vec<u64>>,
    records_per_layer: Option<usize>,
    pub(crate) record_delay: Option<Duration>,
    pub(crate) failure: Option<PullFailure>,
}

/// How a scripted pull fails, if it does.
#[derive(Clone, Debug)]
pub(crate) enum PullFailure {
    InStream { after: usize, message: String },
    Http { status: u16, message: String },
}

impl PullScript {
    /// A successful pull of a tools-capable 8B model (`ModelSpec::new(<requested name>)`) in
    /// four layers, ten records each, no delay.
    pub fn new() -> Self {
        Self::default()
    }

    /// The model installed on success (default: `ModelSpec::new(<the name pulled>)`).
    pub fn model(mut self, spec: ModelSpec) -> Self {
        self.model = Some(spec);
        self
    }

    /// Layer sizes in bytes, in download order. Default: the weights (the model's size less
    /// the small layers) then a template, a license and params.
    pub fn layers(mut self, sizes: &[u64]) -> Self {
        self.layers = Some(sizes.to_vec());
        self
    }

    /// Progress records per layer (default 10, at least 1): evenly spaced from 0 to the size.
    pub fn records_per_layer(mut self, n: usize) -> Self {
        self.records_per_layer = Some(n.max(1));
        self
    }

    /// Pause before every record after the first.
    pub fn record_delay(mut self, d: Duration) -> Self {
        self.record_delay = Some(d);
        self
    }

    /// After `records` layer progress records, send `{"error": message}` in the stream (HTTP
    /// 200) and stop, like a download that dies half-way. Nothing is installed.
    pub fn fail_after(mut self, records: usize, message: &str) -> Self {
        self.failure = Some(PullFailure::InStream {
            after: records,
            message: message.to_owned(),
        });
        self
    }

    /// Answer at once with this HTTP status and `{"error": message}`.
    pub fn http_error(mut self, status: u16, message: &str) -> Self {
        self.failure = Some(PullFailure::Http {
            status,
            message: message.to_owned(),
        });
        self
    }

    fn spec_for(&self, requested: &str) -> ModelSpec {
        self.model
            .clone()
            .unwrap_or_else(|| ModelSpec::new(requested))
    }

    fn layer_sizes(&self, spec: &ModelSpec) -> Vec<u64> {
        self.layers.clone().unwrap_or_else(|| {
            let small: u64 = SMALL_LAYERS.iter().sum();
            let mut sizes = vec![spec.size.saturating_sub(small).max(1)];
            sizes.extend(SMALL_LAYERS);
            sizes
        })
    }
}

/// One thing the handler does, in order.
pub(crate) enum Step {
    Line(Value),
    /// The manifest is written: the model is listed from now on.
    Install(Box<ModelSpec>),
}

/// Builds the steps of a pull; `cache_hit` makes every layer a single complete record, as
/// Ollama reports blobs it already has.
pub(crate) fn steps(script: &PullScript, requested: &str, cache_hit: bool) -> Vec<Step> {
    let spec = script.spec_for(requested);
    let per_layer = if cache_hit {
        1
    } else {
        script.records_per_layer.unwrap_or(10)
    };
    let mut out = vec![Step::Line(json!({ "status": "pulling manifest" }))];
    let mut sent = 0usize;
    let fail_after = match &script.failure {
        Some(PullFailure::InStream { after, message }) => Some((*after, message.clone())),
        _ => None,
    };
    for (i, total) in script.layer_sizes(&spec).into_iter().enumerate() {
        let digest = format!(
            "sha256:{}",
            derive_digest(&format!("layer{i}#{}", spec.listed_name()))
        );
        for r in 0..per_layer {
            if let Some((after, message)) = &fail_after {
                if sent == *after {
                    out.push(Step::Line(json!({ "error": message })));
                    return out;
                }
            }
            let completed = if cache_hit || per_layer == 1 {
                total
            } else {
                // u128: sizes times record counts overflow u64 only for absurd sizes.
                u64::try_from(u128::from(total) * r as u128 / (per_layer as u128 - 1).max(1))
                    .unwrap_or(total)
            };
            let mut record = json!({
                "status": format!("pulling {}", &digest[7..19]),
                "digest": digest,
                "total": total,
            });
            if completed > 0 {
                record["completed"] = json!(completed);
            }
            out.push(Step::Line(record));
            sent += 1;
        }
    }
    if let Some((_, message)) = fail_after {
        // The failure was asked for after more records than the pull has: fail at the end.
        out.push(Step::Line(json!({ "error": message })));
        return out;
    }
    out.push(Step::Line(json!({ "status": "verifying sha256 digest" })));
    out.push(Step::Line(json!({ "status": "writing manifest" })));
    out.push(Step::Install(Box::new(spec)));
    out.push(Step::Line(json!({ "status": "success" })));
    out
}

/// Ollama's answer for a name the registry does not have.
pub(crate) fn unknown_model_steps() -> Vec<Step> {
    vec![
        Step::Line(json!({ "status": "pulling manifest" })),
        Step::Line(json!({ "error": "pull model manifest: file does not exist" })),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(steps: &[Step]) -> Vec<Value> {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Line(v) => Some(v.clone()),
                Step::Install(_) => None,
            })
            .collect()
    }

    #[test]
    fn a_pull_reads_like_ollamas() {
        let all = steps(&PullScript::new(), "llama3.3", false);
        let lines = lines(&all);
        assert_eq!(lines.first().unwrap()["status"], "pulling manifest");
        let statuses: Vec<&str> = lines[lines.len() - 3..]
            .iter()
            .map(|l| l["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            statuses,
            ["verifying sha256 digest", "writing manifest", "success"]
        );
        let layers: Vec<&Value> = lines.iter().filter(|l| l.get("digest").is_some()).collect();
        assert_eq!(layers.len(), 40, "4 layers x 10 records");
        let first = layers[0];
        let digest = first["digest"].as_str().unwrap();
        assert_eq!(digest.len(), 7 + 64);
        assert_eq!(first["status"], format!("pulling {}", &digest[7..19]));
        assert!(first.get("completed").is_none(), "omitempty while 0");
        assert_eq!(layers[9]["completed"], layers[9]["total"]);
        let total: u64 = layers
            .iter()
            .step_by(10)
            .map(|l| l["total"].as_u64().unwrap())
            .sum();
        assert_eq!(total, ModelSpec::new("x").size);
        assert!(matches!(all[all.len() - 2], Step::Install(_)));
    }

    #[test]
    fn failures_stop_the_stream_without_installing() {
        let all = steps(&PullScript::new().fail_after(15, "boom"), "m", false);
        assert!(!all.iter().any(|s| matches!(s, Step::Install(_))));
        let lines = lines(&all);
        assert_eq!(lines.len(), 1 + 15 + 1);
        assert_eq!(lines.last().unwrap()["error"], "boom");
        let cached = lines_of_cache_hit();
        assert!(cached
            .iter()
            .filter(|l| l.get("digest").is_some())
            .all(|l| l["completed"] == l["total"]));
    }

    fn lines_of_cache_hit() -> Vec<Value> {
        lines(&steps(&PullScript::new(), "m", true))
    }
}
