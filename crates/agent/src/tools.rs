//! The agent's tools: `read`, `write`, `edit`, `exec`.
//!
//! Every failure — bad arguments, a path outside the workspace, a missing file, a denied
//! command — becomes a tool result marked as an error that goes back to the model, which can
//! then correct itself. Nothing here panics or aborts the turn.

use std::time::Duration;

use openclaw_llm::{ToolCall, ToolSpec};
use serde_json::{json, Value};

use crate::approval::Approver;
use crate::exec::{run_exec, ExecPolicy};
use crate::workspace::Workspace;

/// Largest output of one `read`; longer content is cut with a note saying where to go on.
const READ_LIMIT_BYTES: usize = 256 * 1024;
/// After the lines asked for, `read` counts the rest of the file's lines only when this much is
/// left (so a huge file costs no full scan); otherwise it says the file goes on.
const COUNT_REST_BYTES: u64 = 16 * 1024 * 1024;
/// Largest file `edit` loads whole.
const EDIT_LIMIT_BYTES: u64 = 16 * 1024 * 1024;

/// What a tool produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutcome {
    pub content: String,
    pub is_error: bool,
}

impl ToolOutcome {
    pub(crate) fn ok(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            is_error: false,
        }
    }
    pub(crate) fn error(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            is_error: true,
        }
    }
}

/// Everything a tool needs.
pub struct ToolContext<'a> {
    pub workspace: &'a Workspace,
    pub exec: &'a ExecPolicy,
    pub approver: &'a mut dyn Approver,
}

/// The tools offered to the model.
pub fn tool_specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "read".into(),
            description: "Read a text file from the workspace. Returns its lines; use offset (first line, 1-based) and limit (number of lines) for large files.".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "File path, relative to the workspace"},
                    "offset": {"type": "integer", "description": "First line to return (1-based)"},
                    "limit": {"type": "integer", "description": "How many lines to return"}
                },
                "required": ["path"]
            }),
        },
        ToolSpec {
            name: "write".into(),
            description: "Create or overwrite a file in the workspace with the given content.".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "File path, relative to the workspace"},
                    "content": {"type": "string", "description": "The whole new content"}
                },
                "required": ["path", "content"]
            }),
        },
        ToolSpec {
            name: "edit".into(),
            description: "Edit a file in the workspace by replacing exact text. Each oldText must appear exactly once.".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "File path, relative to the workspace"},
                    "edits": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "oldText": {"type": "string"},
                                "newText": {"type": "string"}
                            },
                            "required": ["oldText", "newText"]
                        }
                    }
                },
                "required": ["path", "edits"]
            }),
        },
        ToolSpec {
            name: "exec".into(),
            description: "Run a shell command in the workspace and return its output and exit code.".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "command": {"type": "string", "description": "The shell command"},
                    "workdir": {"type": "string", "description": "Directory to run in, relative to the workspace"},
                    "timeout": {"type": "integer", "description": "Seconds before the command is stopped"}
                },
                "required": ["command"]
            }),
        },
    ]
}

/// Runs one tool call.
pub async fn run_tool(call: &ToolCall, ctx: &mut ToolContext<'_>) -> ToolOutcome {
    if let Some(err) = &call.arguments_error {
        return ToolOutcome::error(format!(
            "the arguments of `{}` are not a JSON object ({err}); received: {}. Call the tool again with valid JSON arguments.",
            call.name,
            truncate(&call.raw_arguments, 300)
        ));
    }
    let args = &call.arguments;
    let result = match call.name.as_str() {
        "read" | "write" | "edit" => {
            file_tool(call.name.clone(), args.clone(), ctx.workspace.clone()).await
        }
        "exec" => exec(args, ctx).await,
        other => Err(format!(
            "there is no tool named `{other}`; the tools are read, write, edit and exec"
        )),
    };
    match result {
        Ok(text) => ToolOutcome::ok(text),
        Err(text) => ToolOutcome::error(text),
    }
}

/// Runs a file tool on a blocking thread: file I/O can stall (a slow disk, a network mount),
/// and the async workers — a gateway's other streams and its `/health`, a terminal's Ctrl-C —
/// must never wait on it.
async fn file_tool(name: String, args: Value, ws: Workspace) -> Result<String, String> {
    let tool = name.clone();
    tokio::task::spawn_blocking(move || match name.as_str() {
        "read" => read(&args, &ws),
        "write" => write(&args, &ws),
        _ => edit(&args, &ws),
    })
    .await
    .unwrap_or_else(|e| Err(format!("`{tool}` failed: {e}")))
}

fn string_arg<'a>(args: &'a Value, name: &str, tool: &str) -> Result<&'a str, String> {
    match args.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!(
            "`{tool}`: argument `{name}` must be a string, got {other}"
        )),
        None => Err(format!("`{tool}`: missing required argument `{name}`")),
    }
}

fn int_arg(args: &Value, name: &str, tool: &str) -> Result<Option<u64>, String> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or_else(|| format!("`{tool}`: argument `{name}` must be a non-negative integer")),
        // Small models often quote numbers.
        Some(Value::String(s)) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("`{tool}`: argument `{name}` must be an integer, got \"{s}\"")),
        Some(other) => Err(format!(
            "`{tool}`: argument `{name}` must be an integer, got {other}"
        )),
    }
}

fn read(args: &Value, ws: &Workspace) -> Result<String, String> {
    use std::io::BufRead;
    let path = string_arg(args, "path", "read")?;
    let offset = int_arg(args, "offset", "read")?.unwrap_or(1).max(1);
    let limit = int_arg(args, "limit", "read")?;
    let real = ws.resolve(path).map_err(|e| e.to_string())?;
    let (file, size) = ws
        .open_regular(&real)
        .map_err(|e| io_message("read", path, &e))?;
    let skip = usize::try_from(offset - 1).unwrap_or(usize::MAX);
    let take = limit
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(usize::MAX);
    let end = skip.saturating_add(take);
    let binary = || format!("`{path}` is a binary file; read only works on text");
    let io = |e: std::io::Error| io_message("read", path, &e);

    // One pass that keeps only the lines asked for: a file of gigabytes costs a buffer, not
    // its size, whatever offset and limit say.
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, file);
    let mut out = String::new();
    let mut line: Vec<u8> = Vec::new();
    let mut index = 0usize; // of the line being read
    let mut shown = 0usize;
    let mut cut = false; // the output cap was reached
    let mut scanned: u64 = 0;
    let mut partial = false; // bytes of a line without its newline yet
    loop {
        let buf = reader.fill_buf().map_err(io)?;
        if buf.is_empty() {
            break;
        }
        let (len, ends_line) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let chunk = &buf[..len];
        if chunk.contains(&0) {
            return Err(binary());
        }
        let wanted = index >= skip && index < end && !cut;
        if wanted && line.len() <= READ_LIMIT_BYTES {
            let body = if ends_line { &chunk[..len - 1] } else { chunk };
            let room = READ_LIMIT_BYTES + 1 - line.len();
            line.extend_from_slice(&body[..body.len().min(room)]);
        }
        reader.consume(len);
        scanned += len as u64;
        partial = !ends_line;
        if ends_line {
            if wanted {
                cut = !push_line(&mut out, &line);
                if !cut {
                    shown += 1;
                }
            }
            line.clear();
            index += 1;
            if index >= end || cut {
                break;
            }
        }
    }
    // A last line without a newline.
    if partial && index >= skip && index < end && !cut {
        cut = !push_line(&mut out, &line);
        if !cut {
            shown += 1;
        }
    }
    if partial {
        index += 1;
        partial = false;
    }
    // How many lines the file has: counted on when little is left, else said to be more.
    let mut total = Some(index);
    if scanned < size {
        if size - scanned <= COUNT_REST_BYTES {
            let mut rest = index;
            loop {
                let buf = reader.fill_buf().map_err(io)?;
                if buf.is_empty() {
                    break;
                }
                let n = buf.iter().filter(|b| **b == b'\n').count();
                rest += n;
                partial = buf.last() != Some(&b'\n');
                let len = buf.len();
                reader.consume(len);
            }
            total = Some(rest + usize::from(partial));
        } else {
            total = None;
        }
    }
    let next = skip + shown + 1;
    if cut {
        out.push_str(&format!(
            "\n[cut at {} KiB; read again with offset {next}]",
            READ_LIMIT_BYTES / 1024
        ));
        return Ok(out);
    }
    match total {
        Some(total) if shown == 0 && total > 0 && skip >= total => Err(format!(
            "`{path}` has {total} lines; offset {offset} is past the end"
        )),
        Some(total) if skip + shown < total => {
            out.push_str(&format!(
                "[lines {}-{} of {total}; read again with offset {next} for more]",
                skip + 1,
                skip + shown
            ));
            Ok(out)
        }
        None => {
            out.push_str(&format!(
                "[lines {}-{}; the file goes on ({} MiB in all); read again with offset {next} for more]",
                skip + 1,
                skip + shown,
                size / (1024 * 1024)
            ));
            Ok(out)
        }
        _ => Ok(out),
    }
}

/// Appends one line (lossily decoded) to the output; false when it would pass the cap. A
/// single line longer than the whole cap (minified JSON, say) is shown cut rather than not at
/// all.
fn push_line(out: &mut String, line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    if out.len() + text.len() > READ_LIMIT_BYTES {
        if !out.is_empty() {
            return false;
        }
        let mut cut = READ_LIMIT_BYTES.min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&text[..cut]);
        out.push_str(&format!(
            "…[this line is longer than {} KiB and was cut]\n",
            READ_LIMIT_BYTES / 1024
        ));
        return true;
    }
    out.push_str(&text);
    out.push('\n');
    true
}

fn write(args: &Value, ws: &Workspace) -> Result<String, String> {
    let path = string_arg(args, "path", "write")?;
    let content = string_arg(args, "content", "write")?;
    let real = ws.resolve(path).map_err(|e| e.to_string())?;
    ws.write_atomic(&real, content.as_bytes())
        .map_err(|e| io_message("write", path, &e))?;
    Ok(format!(
        "wrote {} bytes to {}",
        content.len(),
        ws.display(&real)
    ))
}

fn edit(args: &Value, ws: &Workspace) -> Result<String, String> {
    let path = string_arg(args, "path", "edit")?;
    let edits = match args.get("edits") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) => {
            return Err("`edit`: `edits` is empty; give at least one {oldText, newText}".into())
        }
        // Accept a single edit given flat, as small models often do.
        _ if args.get("oldText").is_some() => {
            return edit(&json!({"path": path, "edits": [args]}), ws)
        }
        _ => {
            return Err(
                "`edit`: missing required argument `edits` (an array of {oldText, newText})".into(),
            )
        }
    };
    let real = ws.resolve(path).map_err(|e| e.to_string())?;
    let bytes = ws
        .read(&real, EDIT_LIMIT_BYTES)
        .map_err(|e| io_message("edit", path, &e))?;
    let mut text = String::from_utf8(bytes).map_err(|_| {
        format!("`edit`: `{path}` is not UTF-8 text; edit only works on text files")
    })?;
    for (i, e) in edits.iter().enumerate() {
        let old = string_arg(e, "oldText", "edit").map_err(|m| format!("{m} (edit #{})", i + 1))?;
        let new = string_arg(e, "newText", "edit").map_err(|m| format!("{m} (edit #{})", i + 1))?;
        if old.is_empty() {
            return Err(format!("`edit`: edit #{}: oldText is empty", i + 1));
        }
        match text.matches(old).count() {
            0 => return Err(format!("`edit`: edit #{}: oldText not found in `{path}`; read the file and copy the exact text", i + 1)),
            1 => text = text.replacen(old, new, 1),
            n => return Err(format!("`edit`: edit #{}: oldText appears {n} times in `{path}`; include more surrounding text so it is unique", i + 1)),
        }
    }
    ws.write_atomic(&real, text.as_bytes())
        .map_err(|e| io_message("edit", path, &e))?;
    Ok(format!(
        "applied {} edit(s) to {}",
        edits.len(),
        ws.display(&real)
    ))
}

async fn exec(args: &Value, ctx: &mut ToolContext<'_>) -> Result<String, String> {
    let command = string_arg(args, "command", "exec")?;
    let workdir = match args.get("workdir") {
        Some(Value::String(w)) if !w.trim().is_empty() => {
            ctx.workspace.resolve(w).map_err(|e| e.to_string())?
        }
        _ => ctx.workspace.resolve(".").map_err(|e| e.to_string())?,
    };
    let timeout = int_arg(args, "timeout", "exec")?.map(Duration::from_secs);
    // Entered through a handle opened beneath the workspace root, not by name again: a
    // directory swapped for a symlink in between cannot move the command outside.
    let entered = ctx
        .workspace
        .enter_dir(&workdir)
        .map_err(|e| io_message("exec", &ctx.workspace.display(&workdir), &e))?;
    run_exec(
        command,
        entered.path(),
        ctx.workspace.root(),
        timeout,
        ctx.exec,
        ctx.approver,
    )
    .await
}

fn io_message(tool: &str, path: &str, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => format!("`{tool}`: `{path}` does not exist"),
        std::io::ErrorKind::PermissionDenied if e.to_string() == crate::workspace::OUTSIDE => {
            format!("`{tool}`: `{path}` leads outside the workspace (through a symlink); file tools only work inside it")
        }
        std::io::ErrorKind::PermissionDenied => format!("`{tool}`: permission denied for `{path}`"),
        _ if e.raw_os_error() == Some(21) => format!("`{tool}`: `{path}` is a directory"),
        std::io::ErrorKind::InvalidInput => format!("`{tool}`: `{path}` is {e}"),
        _ => format!("`{tool}`: `{path}`: {e}"),
    }
}

/// At most `n` characters of `s`.
pub fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::NoApprover;

    fn call(name: &str, args: Value) -> ToolCall {
        ToolCall {
            id: "c1".into(),
            name: name.into(),
            raw_arguments: args.to_string(),
            arguments: args,
            arguments_error: None,
        }
    }

    async fn run(ws: &Workspace, name: &str, args: Value) -> ToolOutcome {
        let policy = ExecPolicy::default();
        let mut approver = NoApprover;
        let mut ctx = ToolContext {
            workspace: ws,
            exec: &policy,
            approver: &mut approver,
        };
        run_tool(&call(name, args), &mut ctx).await
    }

    #[tokio::test]
    async fn write_read_edit_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        assert!(
            !run(
                &ws,
                "write",
                json!({"path": "d/notes.txt", "content": "one\ntwo\nthree\n"})
            )
            .await
            .is_error
        );
        assert_eq!(
            run(&ws, "read", json!({"path": "d/notes.txt"}))
                .await
                .content,
            "one\ntwo\nthree\n"
        );
        let part = run(
            &ws,
            "read",
            json!({"path": "d/notes.txt", "offset": "2", "limit": 1}),
        )
        .await;
        assert_eq!(
            part.content,
            "two\n[lines 2-2 of 3; read again with offset 3 for more]"
        );
        let ok = run(
            &ws,
            "edit",
            json!({"path": "d/notes.txt", "edits": [{"oldText": "two", "newText": "2"}]}),
        )
        .await;
        assert!(!ok.is_error, "{}", ok.content);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("d/notes.txt")).unwrap(),
            "one\n2\nthree\n"
        );
    }

    #[tokio::test]
    async fn read_streams_the_lines_asked_for_and_refuses_what_is_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        let text: String = (1..=1000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(dir.path().join("f.txt"), &text).unwrap();
        let out = run(
            &ws,
            "read",
            json!({"path": "f.txt", "offset": 500, "limit": 2}),
        )
        .await;
        assert_eq!(
            out.content,
            "line 500\nline 501\n[lines 500-501 of 1000; read again with offset 502 for more]"
        );
        let out = run(&ws, "read", json!({"path": "f.txt", "offset": 999})).await;
        assert_eq!(out.content, "line 999\nline 1000\n");
        let out = run(&ws, "read", json!({"path": "f.txt", "offset": 1001})).await;
        assert!(
            out.is_error && out.content.contains("past the end"),
            "{out:?}"
        );
        // No newline at the end; one line longer than the whole output cap.
        std::fs::write(dir.path().join("g.txt"), "a\nb").unwrap();
        assert_eq!(
            run(&ws, "read", json!({"path": "g.txt"})).await.content,
            "a\nb\n"
        );
        std::fs::write(
            dir.path().join("long.txt"),
            "x".repeat(READ_LIMIT_BYTES * 3),
        )
        .unwrap();
        let out = run(&ws, "read", json!({"path": "long.txt"})).await;
        assert!(
            !out.is_error && out.content.contains("was cut"),
            "{}",
            &out.content[..100]
        );
        assert!(out.content.len() < READ_LIMIT_BYTES + 200);
        // A FIFO with no writer: refused at once, never waited on.
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a path we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for tool in ["read", "edit"] {
            let args = if tool == "read" {
                json!({"path": "pipe"})
            } else {
                json!({"path": "pipe", "edits": [{"oldText": "a", "newText": "b"}]})
            };
            let out =
                tokio::time::timeout(std::time::Duration::from_secs(10), run(&ws, tool, args))
                    .await
                    .expect("a FIFO hung the tool");
            assert!(out.is_error && out.content.contains("FIFO"), "{out:?}");
        }
        std::fs::create_dir(dir.path().join("d")).unwrap();
        let out = run(&ws, "read", json!({"path": "d"})).await;
        assert!(out.is_error && out.content.contains("directory"), "{out:?}");
    }

    #[tokio::test]
    async fn bad_arguments_are_tool_errors() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        let out = run(&ws, "read", json!({"file": "x"})).await;
        assert!(
            out.is_error && out.content.contains("missing required argument `path`"),
            "{}",
            out.content
        );
        let out = run(&ws, "read", json!({"path": "../x"})).await;
        assert!(
            out.is_error && out.content.contains("outside the workspace"),
            "{}",
            out.content
        );
        let out = run(
            &ws,
            "edit",
            json!({"path": "nope.txt", "edits": [{"oldText": "a", "newText": "b"}]}),
        )
        .await;
        assert!(
            out.is_error && out.content.contains("does not exist"),
            "{}",
            out.content
        );
        let out = run(&ws, "fly", json!({})).await;
        assert!(out.is_error && out.content.contains("no tool named `fly`"));
        let mut bad = call("read", Value::Null);
        bad.arguments_error = Some("expected value at line 1".into());
        bad.raw_arguments = "{path:".into();
        let policy = ExecPolicy::default();
        let mut approver = NoApprover;
        let mut ctx = ToolContext {
            workspace: &ws,
            exec: &policy,
            approver: &mut approver,
        };
        let out = run_tool(&bad, &mut ctx).await;
        assert!(
            out.is_error && out.content.contains("not a JSON object"),
            "{}",
            out.content
        );
    }

    #[tokio::test]
    async fn edit_requires_a_unique_match() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "a a").unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        let out = run(
            &ws,
            "edit",
            json!({"path": "f", "oldText": "a", "newText": "b"}),
        )
        .await;
        assert!(
            out.is_error && out.content.contains("appears 2 times"),
            "{}",
            out.content
        );
    }

    #[cfg(unix)]
    fn mode(path: &std::path::Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    /// `write` and `edit` replace a file whole; the replacement keeps the file's mode.
    #[cfg(unix)]
    #[tokio::test]
    async fn write_and_edit_keep_the_file_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        for (name, m) in [("secret.env", 0o600), ("run.sh", 0o755)] {
            let path = dir.path().join(name);
            std::fs::write(&path, "one\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m)).unwrap();
            let out = run(&ws, "write", json!({"path": name, "content": "two\n"})).await;
            assert!(!out.is_error, "{}", out.content);
            assert_eq!(mode(&path), m, "{name} after write: {:o}", mode(&path));
            let out = run(
                &ws,
                "edit",
                json!({"path": name, "oldText": "two", "newText": "three"}),
            )
            .await;
            assert!(!out.is_error, "{}", out.content);
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "three\n");
            assert_eq!(mode(&path), m, "{name} after edit: {:o}", mode(&path));
        }
    }

    /// A symlink in the workspace to a file outside it: `write` and `edit` refuse it, and the
    /// outside file keeps its content and mode.
    #[cfg(unix)]
    #[tokio::test]
    async fn write_and_edit_refuse_a_symlink_to_an_outside_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.txt");
        std::fs::write(&outside, "secret\n").unwrap();
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o640)).unwrap();
        let ws = Workspace::open(&dir.path().join("ws")).unwrap();
        let link = dir.path().join("ws/link.txt");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        for (tool, args) in [
            ("write", json!({"path": "link.txt", "content": "pwned\n"})),
            (
                "edit",
                json!({"path": "link.txt", "oldText": "secret", "newText": "pwned"}),
            ),
        ] {
            let out = run(&ws, tool, args).await;
            assert!(
                out.is_error && out.content.contains("outside the workspace"),
                "{tool}: {}",
                out.content
            );
        }
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "secret\n");
        assert_eq!(mode(&outside), 0o640);
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }
}
