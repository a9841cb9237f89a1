//! Ollama's native `/api/chat` reply decoder: NDJSON (and a body announced as one JSON
//! document). Input: one byte picking the framing and where the body is cut, then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openclaw_fuzz::whole_versus_pieces;
use openclaw_llm::WireFormat;

fuzz_target!(|data: &[u8]| {
    let Some((&control, body)) = data.split_first() else {
        return;
    };
    let format = if control & 0x80 == 0 {
        WireFormat::OllamaNdjson
    } else {
        WireFormat::OllamaJson
    };
    whole_versus_pieces(format, body, control);
});
