//! SIGKILL at random moments while the CLI writes its files, 200+ times per kind: afterwards
//! every file parses and holds either the old or the new state. `config set` is covered in
//! `crash_safety.rs`; here are session transcripts (`openclaw agent`, appending while a slow
//! reply with tool calls streams) and the auth-profile store (`openclaw doctor --fix`).

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use openclaw_test_support::{fixture, ModelSpec, Reply, TestServer};
use serde_json::Value;

use super::support::Env;

/// xorshift64*, so a failing delay can be replayed from the printed seed.
struct Delays(u64);

impl Delays {
    fn below(&mut self, limit: Duration) -> Duration {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let micros = u64::try_from(limit.as_micros()).unwrap().max(1);
        Duration::from_micros(self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % micros)
    }
}

/// Kills `child` after `delay` (or lets it finish); true when it ran to the end by itself.
fn kill_after(mut child: Child, delay: Duration) -> bool {
    std::thread::sleep(delay);
    let _ = child.kill();
    child.wait().unwrap().success()
}

/// A model that calls `read` twice, then answers slowly in many chunks.
fn agent_model() -> ModelSpec {
    let call = fixture("ollama/chat-stream-toolcall.sse")
        .replace("get_weather", "read")
        .replace(r#"{\"city\":\"Tokyo\"}"#, r#"{\"path\":\"notes.txt\"}"#);
    let mut slow = String::new();
    for i in 0..12 {
        slow.push_str(&format!(
            "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"w{i} \"}}}}]}}\n\n"
        ));
    }
    slow.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
    ModelSpec::new("m")
        .reply(Reply::Sse(call.clone()))
        .reply(Reply::Sse(call))
        .reply(Reply::Sse(slow))
        .chunk_delay(Duration::from_millis(2))
}

/// 220 runs of `openclaw agent` on one session, killed at random points of the turn: the
/// transcript only ever grows by whole lines, each a valid entry, and reopens without a
/// skipped line.
#[test]
fn killing_the_agent_never_tears_the_transcript() {
    const RUNS: u32 = 220;
    let server = TestServer::builder()
        .model(agent_model())
        .start_blocking()
        .unwrap();
    let env = Env::new().api_key("ollama-local").ollama(&server);
    let workspace = env.state_dir().join("workspace");
    std::fs::create_dir_all(&workspace).unwrap();
    std::fs::write(workspace.join("notes.txt"), "The launch code is 4242.\n").unwrap();
    let sessions = env.state_dir().join("agents/main/sessions");
    let transcript = sessions.join("kill-loop.jsonl");
    let agent = |env: &Env| {
        env.std_command(&[
            "agent",
            "-m",
            "read notes.txt",
            "--model",
            "ollama/m",
            "--session-id",
            "kill-loop",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
    };

    // One whole turn, to time it.
    let started = Instant::now();
    assert!(agent(&env).wait().unwrap().success());
    let turn = started.elapsed();
    let mut previous = std::fs::read(&transcript).unwrap();

    let mut delays = Delays(0x9e37_79b9_7f4a_7c15);
    let (mut finished, mut grew) = (0, 0);
    let started = Instant::now();
    for i in 0..RUNS {
        server.add_model(agent_model()); // the script starts again with the tool calls
        let delay = delays.below(turn.mul_f64(1.2));
        let done = kill_after(agent(&env), delay);
        finished += u32::from(done);
        let now = std::fs::read(&transcript).unwrap();
        assert!(
            now.starts_with(&previous),
            "run {i} ({delay:?}): the transcript was rewritten, not appended to"
        );
        let added = String::from_utf8(now[previous.len()..].to_vec())
            .unwrap_or_else(|e| panic!("run {i}: not UTF-8: {e}"));
        assert!(
            added.is_empty() || added.ends_with('\n'),
            "run {i}: torn line {added:?}"
        );
        for line in added.lines() {
            let entry: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("run {i} ({delay:?}): bad line {line:?}: {e}"));
            assert!(entry["type"].is_string(), "run {i}: {line}");
        }
        grew += u32::from(!added.is_empty());
        previous = now;
        // A guard against a hang, not a timing goal: far above a loaded machine's pace.
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "hung? {i} runs in {:?}",
            started.elapsed()
        );
    }
    let session = openclaw_agent::Session::open(&sessions, "kill-loop", &workspace).unwrap();
    assert_eq!(session.skipped_lines, 0);
    assert!(finished < RUNS, "no run was killed");
    assert!(
        grew > RUNS / 4,
        "few kills landed mid-turn ({grew} of {RUNS} runs wrote)"
    );
    eprintln!(
        "agent kill loop: {RUNS} runs in {:?} (turn {turn:?}), {finished} finished, {grew} appended, {} entries",
        started.elapsed(),
        session.entries().len()
    );
    // A valid conversation for the next request: every tool call answered, right after it
    // (the kills that landed during a tool were repaired when the session was opened).
    let history = session.history();
    for (i, m) in history.iter().enumerate() {
        let ids: Vec<&str> = m.tool_calls.iter().map(|c| c.id.as_str()).collect();
        let results: Vec<&str> = history[i + 1..]
            .iter()
            .take_while(|r| r.role == openclaw_llm::Role::Tool)
            .filter_map(|r| r.tool_call_id.as_deref())
            .collect();
        assert_eq!(
            ids.len(),
            results.len(),
            "message {i}: calls {ids:?}, results {results:?}"
        );
    }
    drop(session); // one writer per session: the test's own reader lets go first
                   // And the session still works.
    server.add_model(agent_model());
    env.ok(&[
        "agent",
        "-m",
        "again",
        "--model",
        "ollama/m",
        "--session-id",
        "kill-loop",
    ]);
}

const OTHER_PROFILES: &str = r#"{
  "version": 1,
  "profiles": {
    "anthropic:me": { "type": "oauth", "provider": "anthropic", "access": "keep-me" }
  },
  "lastGood": { "anthropic": "anthropic:me" }
}
"#;

/// The profile store after a run: the old content, or the old content plus `ollama:default`.
fn check_profiles(path: &Path, run: u32, delay: Duration) -> bool {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("run {run} ({delay:?}): the store is gone: {e}"));
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("run {run} ({delay:?}): not JSON ({e}):\n{text}"));
    assert_eq!(
        value["profiles"]["anthropic:me"]["access"], "keep-me",
        "run {run}: {text}"
    );
    assert_eq!(
        value["lastGood"]["anthropic"], "anthropic:me",
        "run {run}: {text}"
    );
    match &value["profiles"]["ollama:default"] {
        Value::Null => false,
        profile => {
            assert_eq!(profile["key"], "ollama-local", "run {run}: {text}");
            true
        }
    }
}

/// 220 runs of `openclaw doctor --fix`, each starting from a store without the ollama profile
/// and killed at a random point: the store is always whole JSON, with the other profiles
/// intact, and either without or with the new profile.
#[test]
fn killing_doctor_fix_never_breaks_the_auth_profiles() {
    const RUNS: u32 = 220;
    let server = TestServer::builder()
        .model(ModelSpec::new("llama3.3"))
        .start_blocking()
        .unwrap();
    let env = Env::new().ollama(&server);
    let dir = env.state_dir().join("agents/main/agent");
    let store = dir.join("auth-profiles.json");
    let doctor = |env: &Env| {
        env.std_command(&["doctor", "--fix"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };

    env.write_auth_profiles(OTHER_PROFILES);
    let started = Instant::now();
    doctor(&env).wait().unwrap();
    let run_time = started.elapsed();
    assert!(
        check_profiles(&store, 0, run_time),
        "doctor --fix did not add the profile"
    );

    let mut delays = Delays(0x2545_f491_4f6c_dd1d);
    let (mut added, mut finished) = (0, 0);
    let started = Instant::now();
    for i in 1..=RUNS {
        env.write_auth_profiles(OTHER_PROFILES);
        let delay = delays.below(run_time.mul_f64(1.2));
        let done = kill_after(doctor(&env), delay);
        finished += u32::from(done);
        let has = check_profiles(&store, i, delay);
        added += u32::from(has);
        let stray: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "auth-profiles.json" && !n.starts_with("auth-profiles.json.tmp-"))
            .collect();
        assert!(stray.is_empty(), "run {i}: {stray:?}");
        // A guard against a hang, not a timing goal: far above a loaded machine's pace.
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "hung? {i} runs in {:?}",
            started.elapsed()
        );
    }
    assert!(
        added > 0 && added < RUNS,
        "{added} of {RUNS} runs wrote the profile: the kills missed the write"
    );
    eprintln!(
        "doctor --fix kill loop: {RUNS} runs in {:?} (run {run_time:?}), {finished} finished, {added} stores with the new profile",
        started.elapsed()
    );
}
