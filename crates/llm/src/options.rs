//! Generation settings a caller adds to a [`crate::ChatRequest`]: sampling, stop sequences,
//! output format, how tools may be used, and images.
//!
//! They live apart from the request because most callers (the agent's turns, compaction)
//! never set them, while the gateway's OpenAI-compatible API passes a client's settings
//! through for every call. Each wire maps them its own way — `max_tokens` becomes Ollama's
//! `options.num_predict`, `response_format` becomes Ollama's `format`, an image becomes a
//! content part on the OpenAI wire and an `images` entry natively — and
//! [`RequestOptions::unsupported_on`] says which settings a wire cannot carry, so a caller can
//! refuse them instead of having them dropped.

use std::collections::BTreeMap;

use openclaw_config::ApiKind;
use serde_json::Value;

/// Settings applied on top of a [`crate::ChatRequest`]. `None`/empty leaves the server's
/// default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestOptions {
    /// Most tokens to generate (OpenAI `max_tokens`, Ollama `options.num_predict`); replaces
    /// the request's own.
    pub max_tokens: Option<u64>,
    /// Replaces the request's own (a per-model configured value).
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// Up to four sequences that end the reply.
    pub stop: Vec<String>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub response_format: Option<ResponseFormat>,
    pub tool_choice: Option<ToolChoice>,
    /// `Some(false)`: the model may call at most one tool per reply.
    pub parallel_tool_calls: Option<bool>,
    /// Images by user message, counted from the newest (`0` is the newest user message): that
    /// way a caller whose history is built elsewhere (the agent's transcript) can still attach
    /// the images of the message it is sending.
    pub images: BTreeMap<usize, Vec<Image>>,
}

/// What shape the reply's text must have.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    /// Any JSON object.
    JsonObject,
    /// JSON matching `schema`.
    JsonSchema {
        name: String,
        schema: Value,
        strict: Option<bool>,
    },
}

/// Whether and which tools the model may call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    /// No tool: the tools are not offered at all.
    None,
    /// The model decides (the default when tools are offered).
    Auto,
    /// The model must call some tool.
    Required,
    /// The model must call this tool.
    Function(String),
}

/// An image sent to a model: its media type and its bytes in base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub media_type: String,
    pub base64: String,
}

impl Image {
    /// Reads a `data:<type>;base64,<data>` URL. Other URLs are refused: the model servers take
    /// image bytes, and fetching a URL on a client's behalf is not the gateway's job.
    pub fn from_data_url(url: &str) -> Result<Self, String> {
        let Some(rest) = url.strip_prefix("data:") else {
            let shown: String = url.chars().take(40).collect();
            return Err(format!(
                "only `data:` image URLs are accepted (`data:image/png;base64,…`), not `{shown}…`: local models take the image's bytes and the gateway does not fetch URLs"
            ));
        };
        let Some((meta, data)) = rest.split_once(',') else {
            return Err("the image's data URL has no `,` before its data".into());
        };
        let Some(media_type) = meta.strip_suffix(";base64") else {
            return Err("the image's data URL must be base64-encoded (`;base64,`)".into());
        };
        if !media_type.starts_with("image/") {
            return Err(format!(
                "the data URL holds `{media_type}`, not an image (`image/png`, `image/jpeg`, …)"
            ));
        }
        let data = data.trim();
        let valid = !data.is_empty()
            && data
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
        if !valid {
            return Err("the image's data is not base64".into());
        }
        Ok(Self {
            media_type: media_type.to_owned(),
            base64: data.to_owned(),
        })
    }

    /// `data:<type>;base64,<data>`.
    pub fn data_url(&self) -> String {
        format!("data:{};base64,{}", self.media_type, self.base64)
    }
}

impl RequestOptions {
    /// Why these settings cannot be sent on `api`, naming the setting; `None` when they can.
    pub fn unsupported_on(&self, api: ApiKind) -> Option<(&'static str, String)> {
        if api != ApiKind::Ollama {
            return None;
        }
        match &self.tool_choice {
            Some(ToolChoice::Required) | Some(ToolChoice::Function(_)) => Some((
                "tool_choice",
                "Ollama's native API (`api: \"ollama\"`) cannot force a tool call; use `auto` or `none`, or a provider with `api: \"openai-completions\"`".into(),
            )),
            _ => None,
        }
    }

    /// Whether the tools are to be offered at all.
    pub(crate) fn offers_tools(&self) -> bool {
        self.tool_choice != Some(ToolChoice::None)
    }

    /// The images of `messages[index]`, when it is a user message that has some.
    pub(crate) fn images_for<'a>(
        &'a self,
        messages: &[crate::ChatMessage],
        index: usize,
    ) -> &'a [Image] {
        if self.images.is_empty() || messages.get(index).map(|m| m.role) != Some(crate::Role::User)
        {
            return &[];
        }
        let newer_users = messages
            .iter()
            .skip(index + 1)
            .filter(|m| m.role == crate::Role::User)
            .count();
        self.images.get(&newer_users).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatMessage;

    #[test]
    fn data_urls_are_read_and_other_urls_refused() {
        let image = Image::from_data_url("data:image/png;base64,iVBORw0KGgo=").unwrap();
        assert_eq!(image.media_type, "image/png");
        assert_eq!(image.base64, "iVBORw0KGgo=");
        assert_eq!(image.data_url(), "data:image/png;base64,iVBORw0KGgo=");
        for (bad, says) in [
            ("https://example.com/cat.png", "only `data:`"),
            ("data:image/png,raw", "base64"),
            ("data:text/plain;base64,aGk=", "not an image"),
            ("data:image/png;base64,not base64!", "not base64"),
            ("data:image/png;base64", "no `,`"),
        ] {
            let e = Image::from_data_url(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn images_attach_to_user_messages_counted_from_the_newest() {
        let image = |n: &str| Image {
            media_type: "image/png".into(),
            base64: n.into(),
        };
        let options = RequestOptions {
            images: BTreeMap::from([(0, vec![image("new")]), (1, vec![image("old")])]),
            ..RequestOptions::default()
        };
        let messages = vec![
            ChatMessage::system("s"),
            ChatMessage::user("first"),
            ChatMessage::assistant("a", vec![]),
            ChatMessage::user("second"),
        ];
        assert_eq!(options.images_for(&messages, 0), &[]);
        assert_eq!(options.images_for(&messages, 1), &[image("old")]);
        assert_eq!(options.images_for(&messages, 2), &[]);
        assert_eq!(options.images_for(&messages, 3), &[image("new")]);
    }

    #[test]
    fn native_ollama_cannot_force_a_tool() {
        let forced = RequestOptions {
            tool_choice: Some(ToolChoice::Required),
            ..RequestOptions::default()
        };
        assert_eq!(
            forced.unsupported_on(ApiKind::Ollama).map(|(p, _)| p),
            Some("tool_choice")
        );
        assert_eq!(forced.unsupported_on(ApiKind::OpenAiCompletions), None);
        assert_eq!(
            RequestOptions::default().unsupported_on(ApiKind::Ollama),
            None
        );
    }
}
