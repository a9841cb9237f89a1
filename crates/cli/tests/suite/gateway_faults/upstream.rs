//! Upstream faults: every fault of the chat matrix (a model server that refuses, cuts its
//! reply before or after the headers, stalls, sends garbage, bad UTF-8, a wrong content type,
//! an error inside a `200`, a `500`, or trickles) relayed to an OpenAI client as a readable
//! error, or as the reply, in bounded time, with the gateway staying healthy.

use std::time::{Duration, Instant};

use openclaw_test_support::{Behaviour, ModelSpec, RawReply};

use super::{
    check_completion, check_streamed, complete, stream_chat, AssertHealthy, Expect, Upstream, Wire,
    IDLE_SECS,
};

trait WireUpstream {
    fn provider(self) -> &'static str;
    /// A server-side failure reported inside a `200`.
    fn error_in_200(self) -> &'static str;
}

impl WireUpstream for Wire {
    fn provider(self) -> &'static str {
        match self {
            Wire::OpenAi => "sse",
            Wire::Native => "native",
        }
    }

    fn error_in_200(self) -> &'static str {
        match self {
            Wire::OpenAi => {
                "data: {\"error\":{\"message\":\"model runner crashed\",\"code\":500}}\n\n"
            }
            Wire::Native => "{\"error\":\"model runner crashed\"}\n",
        }
    }
}

/// Deterministic noise with some line ends in it (xorshift).
fn noise() -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Every fault of the chat matrix on one wire: (model name, its behaviour, what the gateway's
/// client must get).
fn fault_cases(wire: Wire) -> Vec<(&'static str, Behaviour, Expect)> {
    let error = |needle, partial| Expect::Error { needle, partial };
    let whole = wire.reply(&["Hel", "lo"]);
    let mut bad_utf8_in_string: Vec<u8> = wire
        .reply(&["caf\u{e9}", "!"])
        .replace('\u{e9}', "\u{1}")
        .into_bytes();
    for b in &mut bad_utf8_in_string {
        if *b == 1 {
            *b = 0xff;
        }
    }
    let mut bad_utf8_in_structure = wire.record("a").into_bytes();
    bad_utf8_in_structure.extend_from_slice(match wire {
        Wire::OpenAi => b"data: \xff\xfe\xfd{\n\n",
        Wire::Native => b"\xff\xfe\xfd{\n",
    });
    bad_utf8_in_structure.extend_from_slice(wire.finish().as_bytes());
    vec![
        (
            "cut-mid-stream",
            Behaviour::Raw(
                wire.raw(wire.record("Hel"))
                    .chunked(0, Duration::from_millis(50))
                    .then_cut(),
            ),
            error("broke mid-reply", "Hel"),
        ),
        (
            "cut-before-headers",
            Behaviour::Raw(wire.raw("").then_cut()),
            error("closed before message completed", ""),
        ),
        (
            "stall-before-headers",
            Behaviour::Hang,
            error("no data from", ""),
        ),
        (
            "stall-between-chunks",
            Behaviour::Raw(wire.raw(wire.record("Hello")).then_hang()),
            error("no data from", "Hello"),
        ),
        (
            "garbage",
            Behaviour::Raw(wire.raw(noise())),
            error(
                match wire {
                    Wire::OpenAi => "sent no events",
                    Wire::Native => "is not JSON",
                },
                "",
            ),
        ),
        (
            "utf8-in-string",
            Behaviour::Raw(wire.raw(bad_utf8_in_string)),
            Expect::Answer("caf\u{fffd}!"),
        ),
        (
            "utf8-in-structure",
            Behaviour::Raw(wire.raw(bad_utf8_in_structure)),
            error("is not JSON", "a"),
        ),
        (
            "wrong-content-type",
            Behaviour::Raw(RawReply::new("text/html; charset=utf-8", whole.clone())),
            Expect::Answer("Hello"),
        ),
        (
            "no-content-type",
            Behaviour::Raw(wire.raw(whole.clone()).without_content_type()),
            Expect::Answer("Hello"),
        ),
        (
            "error-in-200",
            Behaviour::Raw(wire.raw(wire.error_in_200())),
            error("model runner crashed", ""),
        ),
        (
            "status-500",
            Behaviour::Status(500, r#"{"error":"out of memory"}"#.into()),
            error("out of memory", ""),
        ),
        (
            "trickle",
            Behaviour::Raw(wire.raw(whole).chunked(1, Duration::from_millis(1))),
            Expect::Answer("Hello"),
        ),
    ]
}

/// Every fault of the chat matrix, on both upstream wires, through `/v1/chat/completions`
/// streamed and not, all at once against one gateway: each client gets a readable error (or
/// the reply) within the idle timeout and a bit, and the gateway stays healthy.
#[test]
fn chat_completions_relay_every_upstream_fault_as_a_readable_error() {
    let specs = |wire: Wire| {
        fault_cases(wire)
            .into_iter()
            .map(|(name, b, _)| ModelSpec::new(name).chat_behaviour(b))
            .collect::<Vec<_>>()
    };
    let upstream = Upstream::new(specs(Wire::OpenAi), specs(Wire::Native));
    let env = upstream.env();
    let mut gw = env.start_gateway();
    let port = gw.port();
    let mut cases: Vec<(String, String, Expect)> = Vec::new();
    for wire in [Wire::OpenAi, Wire::Native] {
        cases.push((
            format!("{wire:?} refused"),
            format!("gone/{}", wire.provider()),
            Expect::Error {
                needle: "onnection refused",
                partial: "",
            },
        ));
        for (name, _, expect) in fault_cases(wire) {
            cases.push((
                format!("{wire:?} {name}"),
                format!("{}/{name}", wire.provider()),
                expect,
            ));
        }
    }
    let started = Instant::now();
    let threads: Vec<_> = cases
        .into_iter()
        .flat_map(|(what, model, expect)| {
            let (w, m) = (what.clone(), model.clone());
            [
                std::thread::spawn(move || {
                    let t = Instant::now();
                    check_completion(&what, &complete(port, &model), expect);
                    (what, t.elapsed())
                }),
                std::thread::spawn(move || {
                    let t = Instant::now();
                    check_streamed(&w, &stream_chat(port, &m, || {}), expect);
                    (format!("{w} (streamed)"), t.elapsed())
                }),
            ]
        })
        .collect();
    let mut failures = Vec::new();
    let mut slowest = Duration::ZERO;
    for t in threads {
        match t.join() {
            Ok((what, took)) => {
                slowest = slowest.max(took);
                assert!(
                    took < Duration::from_secs(IDLE_SECS + 15),
                    "{what}: {took:?}"
                );
            }
            Err(e) => failures.push(
                e.downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| "a case panicked".into()),
            ),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!(
        "fault matrix through the gateway: all cases in {:?}, slowest {slowest:?}",
        started.elapsed()
    );
    gw.assert_healthy();
}
