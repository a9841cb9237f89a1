//! Decoding a reply body, fed in whatever pieces the network delivers.
//!
//! This is the part of [`crate::ModelClient::stream_chat`] that does not touch the network,
//! made public so a recorded reply can be replayed byte for byte (tests, benchmarks, a proxy
//! that already holds the body). It picks the framing (SSE, NDJSON, one JSON document), enforces
//! the size caps, and decides whether the reply ended properly.

use openclaw_untrusted::json::Error as JsonError;
use serde_json::Value;

use crate::classify::{classify_stream_error, truncate, Context};
use crate::error::LlmError;
use crate::ndjson::LineSplitter;
use crate::ollama::NativeStream;
use crate::openai::OpenAiStream;
use crate::reply::{Assembler, Emit};
use crate::sse::{LineTooLong, SseEvent, SseParser};
use crate::types::{ChatRequest, ChatResponse, StreamEvent};

/// How many characters of an unparsable payload an error quotes.
const QUOTE_CHARS: usize = 200;

/// How a reply body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    /// `chat/completions` streamed as Server-Sent Events (`data: {chunk}` … `data: [DONE]`).
    OpenAiSse,
    /// `chat/completions` answered as one JSON completion (the server ignored `stream`).
    OpenAiJson,
    /// Ollama `/api/chat` streamed as NDJSON records.
    OllamaNdjson,
    /// Ollama `/api/chat` answered as one JSON record.
    OllamaJson,
}

/// Caps that keep a broken or hostile server from exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// The longest SSE line, SSE event data or NDJSON line.
    pub max_line_bytes: usize,
    /// The most bytes one reply may have in all.
    pub max_reply_bytes: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            max_line_bytes: 16 * 1024 * 1024,
            max_reply_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Framing state: what is buffered until the next complete unit.
#[derive(Debug)]
enum Framing {
    Sse(SseParser),
    Ndjson(LineSplitter),
    /// A whole JSON document, parsed at the end.
    Whole(Vec<u8>),
}

/// Decodes one reply body fed in pieces: see [`ReplyDecoder::feed`] and [`ReplyDecoder::finish`].
#[derive(Debug)]
pub struct ReplyDecoder {
    format: WireFormat,
    ctx: Context,
    limits: StreamLimits,
    received: usize,
    framing: Framing,
    assembler: Assembler,
    openai: OpenAiStream,
    native: NativeStream,
    /// `data: [DONE]` was received; anything after it is ignored.
    done_marker: bool,
    /// How many SSE events or NDJSON records arrived.
    units: usize,
}

impl ReplyDecoder {
    /// A decoder for the reply to `request`, fetched from `url` (named in errors).
    pub fn new(format: WireFormat, request: &ChatRequest, url: impl Into<String>) -> Self {
        Self::with_limits(format, request, url, StreamLimits::default())
    }

    /// [`ReplyDecoder::new`] with other size caps.
    pub fn with_limits(
        format: WireFormat,
        request: &ChatRequest,
        url: impl Into<String>,
        limits: StreamLimits,
    ) -> Self {
        let framing = match format {
            WireFormat::OpenAiSse => Framing::Sse(SseParser::new(limits.max_line_bytes)),
            WireFormat::OllamaNdjson => Framing::Ndjson(LineSplitter::new(limits.max_line_bytes)),
            WireFormat::OpenAiJson | WireFormat::OllamaJson => Framing::Whole(Vec::new()),
        };
        Self {
            format,
            ctx: Context {
                url: url.into(),
                model: request.model.clone(),
            },
            limits,
            received: 0,
            framing,
            assembler: Assembler::new(&request.tools),
            openai: OpenAiStream::default(),
            native: NativeStream::default(),
            done_marker: false,
            units: 0,
        }
    }

    /// The framing this decoder reads.
    pub fn format(&self) -> WireFormat {
        self.format
    }

    /// Feeds the next bytes of the body; `on_event` sees what they completed.
    pub fn feed(
        &mut self,
        bytes: &[u8],
        on_event: &mut dyn FnMut(StreamEvent),
    ) -> Result<(), LlmError> {
        self.received = self.received.saturating_add(bytes.len());
        if self.received > self.limits.max_reply_bytes {
            return Err(self.too_large(self.limits.max_reply_bytes));
        }
        // Taken out while events are handled (they need `self`); `Vec::new` does not allocate.
        let mut framing = std::mem::replace(&mut self.framing, Framing::Whole(Vec::new()));
        let result = self.feed_framing(&mut framing, bytes, on_event);
        self.framing = framing;
        result
    }

    fn feed_framing(
        &mut self,
        framing: &mut Framing,
        bytes: &[u8],
        emit: Emit<'_>,
    ) -> Result<(), LlmError> {
        match framing {
            Framing::Sse(parser) => {
                let mut events = Vec::new();
                let pushed = parser.push(bytes, &mut events);
                // Events completed before an over-long line still count.
                self.sse_events(events, emit)?;
                pushed.map_err(|e| self.line_too_long(e))
            }
            Framing::Ndjson(splitter) => {
                let mut lines = Vec::new();
                let pushed = splitter.push(bytes, &mut lines);
                self.ndjson_lines(lines, emit)?;
                pushed.map_err(|e| self.line_too_long(e))
            }
            Framing::Whole(buffer) => {
                buffer.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    /// The body ended: returns the whole reply, or why it is not a complete one.
    pub fn finish(
        mut self,
        on_event: &mut dyn FnMut(StreamEvent),
    ) -> Result<ChatResponse, LlmError> {
        match std::mem::replace(&mut self.framing, Framing::Whole(Vec::new())) {
            Framing::Sse(mut parser) => {
                let mut events = Vec::new();
                let finished = parser.finish(&mut events);
                self.sse_events(events, on_event)?;
                finished.map_err(|e| self.line_too_long(e))?;
            }
            Framing::Ndjson(mut splitter) => {
                let mut lines = Vec::new();
                splitter.finish(&mut lines);
                self.ndjson_lines(lines, on_event)?;
            }
            Framing::Whole(buffer) => self.whole(&buffer, on_event)?,
        }
        self.check_complete()?;
        self.openai.flush(&mut self.assembler, on_event);
        Ok(self.assembler.finish(on_event))
    }

    fn check_complete(&self) -> Result<(), LlmError> {
        let detail = match self.format {
            WireFormat::OpenAiSse | WireFormat::OpenAiJson => {
                if self.done_marker || self.openai.finished() {
                    return Ok(());
                }
                if self.units == 0 {
                    "the server sent no events".to_owned()
                } else {
                    format!(
                        "the stream ended before a `finish_reason` or `data: [DONE]` (after {} events); the server may have crashed or the connection was cut",
                        self.units
                    )
                }
            }
            WireFormat::OllamaNdjson | WireFormat::OllamaJson => {
                if self.native.done() {
                    return Ok(());
                }
                if self.units == 0 {
                    "the server sent no records".to_owned()
                } else {
                    format!(
                        "stream ended before the final record (`done: true`) after {} records; the server may have crashed or the connection was cut",
                        self.units
                    )
                }
            }
        };
        Err(self.malformed(detail))
    }

    fn sse_events(&mut self, events: Vec<SseEvent>, emit: Emit<'_>) -> Result<(), LlmError> {
        for event in events {
            if self.done_marker {
                break;
            }
            self.units += 1;
            let data = event.data.trim();
            if data == "[DONE]" {
                self.done_marker = true;
                continue;
            }
            if event.event.as_deref() == Some("error") {
                let value = openclaw_untrusted::json::from_str(data)
                    .unwrap_or_else(|_| Value::String(data.to_owned()));
                return Err(classify_stream_error(&self.ctx, &value));
            }
            let value = self.parse(data, "an SSE `data:` payload")?;
            self.openai
                .chunk(&value, &self.ctx, &mut self.assembler, emit)?;
        }
        Ok(())
    }

    fn ndjson_lines(&mut self, lines: Vec<String>, emit: Emit<'_>) -> Result<(), LlmError> {
        for line in lines {
            self.units += 1;
            let value = self.parse(&line, "a line of the NDJSON stream")?;
            self.native
                .record(&value, &self.ctx, &mut self.assembler, emit)?;
        }
        Ok(())
    }

    /// A body that was announced as one JSON document.
    fn whole(&mut self, body: &[u8], emit: Emit<'_>) -> Result<(), LlmError> {
        let text = String::from_utf8_lossy(body);
        let trimmed = text.trim_start();
        // Servers that label a stream `application/json`: decode it as what it is.
        if self.format == WireFormat::OpenAiJson && trimmed.starts_with("data:") {
            let mut parser = SseParser::new(self.limits.max_line_bytes);
            let mut events = Vec::new();
            let pushed = parser
                .push(body, &mut events)
                .and_then(|()| parser.finish(&mut events));
            pushed.map_err(|e| self.line_too_long(e))?;
            return self.sse_events(events, emit);
        }
        if trimmed.is_empty() {
            return Ok(());
        }
        match openclaw_untrusted::json::from_str::<Value>(trimmed) {
            Ok(value) => {
                self.units += 1;
                match self.format {
                    WireFormat::OpenAiSse | WireFormat::OpenAiJson => {
                        self.openai
                            .chunk(&value, &self.ctx, &mut self.assembler, emit)?;
                        // A whole completion is complete even without a finish reason.
                        self.done_marker = true;
                        Ok(())
                    }
                    WireFormat::OllamaNdjson | WireFormat::OllamaJson => {
                        self.native
                            .record(&value, &self.ctx, &mut self.assembler, emit)
                    }
                }
            }
            Err(_) if self.format == WireFormat::OllamaJson && trimmed.contains('\n') => {
                // NDJSON labelled `application/json`.
                let mut splitter = LineSplitter::new(self.limits.max_line_bytes);
                let mut lines = Vec::new();
                splitter
                    .push(body, &mut lines)
                    .map_err(|e| self.line_too_long(e))?;
                splitter.finish(&mut lines);
                self.ndjson_lines(lines, emit)
            }
            Err(err @ JsonError::TooManyValues { .. }) => {
                Err(self.malformed(format!("the reply was refused: {err}")))
            }
            Err(err) => Err(self.malformed(format!(
                "the reply is not valid JSON ({err}): `{}`",
                truncate(trimmed, QUOTE_CHARS)
            ))),
        }
    }

    fn parse(&self, text: &str, what: &str) -> Result<Value, LlmError> {
        openclaw_untrusted::json::from_str(text).map_err(|err| {
            self.malformed(match err {
                JsonError::TooManyValues { .. } => format!("{what} was refused: {err}"),
                JsonError::Json(err) => format!(
                    "{what} is not JSON ({err}): `{}`",
                    truncate(text, QUOTE_CHARS)
                ),
            })
        })
    }

    fn malformed(&self, detail: String) -> LlmError {
        LlmError::MalformedStream {
            url: self.ctx.url.clone(),
            detail,
        }
    }

    fn too_large(&self, limit: usize) -> LlmError {
        LlmError::TooLarge {
            url: self.ctx.url.clone(),
            limit,
        }
    }

    fn line_too_long(&self, error: LineTooLong) -> LlmError {
        self.too_large(error.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages: Vec::new(),
            tools: Vec::new(),
            thinking: None,
            max_tokens: None,
            num_ctx: None,
            temperature: None,
        }
    }

    fn decode(format: WireFormat, body: &str) -> Result<ChatResponse, LlmError> {
        let mut decoder = ReplyDecoder::new(format, &request(), "http://h/x");
        let mut ignore = |_: StreamEvent| {};
        decoder.feed(body.as_bytes(), &mut ignore)?;
        decoder.finish(&mut ignore)
    }

    const TEXT_CHUNK: &str = r#"data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}"#;
    const FINISH_CHUNK: &str =
        r#"data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;

    #[test]
    fn an_sse_stream_may_end_after_finish_without_done() {
        let body = format!("{TEXT_CHUNK}\n\n{FINISH_CHUNK}\n\n");
        let response = decode(WireFormat::OpenAiSse, &body).unwrap();
        assert_eq!(response.text, "hi");
        assert_eq!(response.finish_reason.as_deref(), Some("stop"));
        let body = format!("{TEXT_CHUNK}\n\ndata: [DONE]\n\n");
        assert_eq!(decode(WireFormat::OpenAiSse, &body).unwrap().text, "hi");
    }

    #[test]
    fn a_truncated_sse_stream_is_malformed() {
        let body = format!("{TEXT_CHUNK}\n\n");
        let error = decode(WireFormat::OpenAiSse, &body).unwrap_err();
        assert_eq!(error.kind(), "malformed-stream");
        assert!(
            error.to_string().contains("before a `finish_reason`"),
            "{error}"
        );
        let error = decode(WireFormat::OpenAiSse, "").unwrap_err();
        assert!(error.to_string().contains("no events"), "{error}");
    }

    #[test]
    fn a_payload_that_is_not_json_is_quoted() {
        let junk = format!("data: <html>{}</html>\n\n", "x".repeat(500));
        let error = decode(WireFormat::OpenAiSse, &junk).unwrap_err();
        let LlmError::MalformedStream { detail, url } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(url, "http://h/x");
        assert!(detail.contains("`<html>xxx"), "{detail}");
        assert!(detail.len() < 400, "{detail}");
    }

    #[test]
    fn events_after_done_are_ignored() {
        let body = format!("{TEXT_CHUNK}\n\ndata: [DONE]\n\ndata: not json\n\n");
        assert_eq!(decode(WireFormat::OpenAiSse, &body).unwrap().text, "hi");
    }

    #[test]
    fn an_error_mid_stream_is_classified() {
        let body = format!(
            "{TEXT_CHUNK}\n\ndata: {{\"error\":{{\"code\":500,\"message\":\"kaput\"}}}}\n\n"
        );
        let error = decode(WireFormat::OpenAiSse, &body).unwrap_err();
        assert_eq!(error.kind(), "server");
        let body = "event: error\ndata: {\"message\":\"the request exceeds the available context size\"}\n\n";
        let error = decode(WireFormat::OpenAiSse, body).unwrap_err();
        assert_eq!(error.kind(), "context-overflow");
        let error = decode(
            WireFormat::OpenAiSse,
            "event: error\ndata: upstream died\n\n",
        )
        .unwrap_err();
        assert_eq!(error.kind(), "server");
        assert!(error.to_string().ends_with("upstream died"), "{error}");
        let native = "{\"message\":{\"content\":\"a\"},\"done\":false}\n{\"error\":\"model runner has unexpectedly stopped\"}\n";
        let error = decode(WireFormat::OllamaNdjson, native).unwrap_err();
        assert_eq!(error.kind(), "server");
        assert!(error.to_string().contains("unexpectedly stopped"));
    }

    #[test]
    fn a_native_stream_needs_its_final_record() {
        let body = "{\"message\":{\"content\":\"a\"},\"done\":false}\n";
        let error = decode(WireFormat::OllamaNdjson, body).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("stream ended before the final record"),
            "{error}"
        );
        let body = "{\"message\":{\"content\":\"a\"},\"done\":false}\n\n{\"message\":{\"content\":\"\"},\"done\":true,\"done_reason\":\"length\",\"eval_count\":3}";
        let response = decode(WireFormat::OllamaNdjson, body).unwrap();
        assert_eq!(response.text, "a");
        assert_eq!(response.finish_reason.as_deref(), Some("length"));
        assert_eq!(response.usage.unwrap().completion_tokens, 3);
    }

    #[test]
    fn whole_documents_are_parsed_at_the_end() {
        let error = decode(WireFormat::OpenAiJson, "{\"choices\":[{\"mess").unwrap_err();
        assert_eq!(error.kind(), "malformed-stream");
        let error = decode(WireFormat::OllamaJson, "{\"message\":").unwrap_err();
        assert_eq!(error.kind(), "malformed-stream");
        let error = decode(
            WireFormat::OpenAiJson,
            "{\"error\":{\"message\":\"m\",\"code\":401}}",
        )
        .unwrap_err();
        assert_eq!(error.kind(), "auth");
        // A stream labelled as JSON is still read.
        let body = format!("{TEXT_CHUNK}\n\n{FINISH_CHUNK}\n\n");
        assert_eq!(decode(WireFormat::OpenAiJson, &body).unwrap().text, "hi");
        let ndjson = "{\"message\":{\"content\":\"a\"}}\n{\"done\":true}\n";
        assert_eq!(decode(WireFormat::OllamaJson, ndjson).unwrap().text, "a");
    }

    #[test]
    fn caps_are_enforced() {
        let limits = StreamLimits {
            max_line_bytes: 64,
            max_reply_bytes: 1000,
        };
        let mut ignore = |_: StreamEvent| {};
        let mut decoder = ReplyDecoder::with_limits(WireFormat::OpenAiSse, &request(), "u", limits);
        let long_line = format!("data: \"{}\"\n\n", "x".repeat(100));
        let error = decoder.feed(long_line.as_bytes(), &mut ignore).unwrap_err();
        assert!(
            matches!(error, LlmError::TooLarge { limit: 64, .. }),
            "{error:?}"
        );

        let mut decoder = ReplyDecoder::with_limits(WireFormat::OpenAiSse, &request(), "u", limits);
        let chunk = format!("{TEXT_CHUNK}\n\n");
        let error = (0..100)
            .find_map(|_| decoder.feed(chunk.as_bytes(), &mut ignore).err())
            .unwrap();
        assert!(
            matches!(error, LlmError::TooLarge { limit: 1000, .. }),
            "{error:?}"
        );

        let mut decoder =
            ReplyDecoder::with_limits(WireFormat::OllamaNdjson, &request(), "u", limits);
        let error = decoder.feed(&[b'{'; 65], &mut ignore).unwrap_err();
        assert!(
            matches!(error, LlmError::TooLarge { limit: 64, .. }),
            "{error:?}"
        );
    }
}
