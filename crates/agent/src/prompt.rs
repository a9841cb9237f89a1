//! The system prompt, with the workspace files in it, sized for the model's context.
//!
//! What makes the agent a personal assistant is its workspace: `AGENTS.md` (how it works),
//! `SOUL.md` (its persona), `IDENTITY.md` (its name), `USER.md` (the user), `TOOLS.md` (notes
//! about local tools, from older workspaces), `BOOTSTRAP.md` (a first-run ritual) and
//! `MEMORY.md` (lasting facts) — the original OpenClaw's files, names and meaning, so an
//! existing workspace works unchanged. The original puts up to 20,000 characters of each, and
//! 60,000 in all, on top of a long prompt: ~13k tokens before the user says a word, more than a
//! small local model's whole 4K–8K window.
//!
//! Here the whole system prompt — our instructions, the workspace files and the tool schemas —
//! is held to a share of the context the agent actually sends ([`DEFAULT_PROMPT_SHARE`] of
//! `num_ctx`, `agents.defaults.promptShare`). The instructions and schemas come first; the
//! files share what is left, small files whole and large ones cut (head and tail kept, the cut
//! marked in the prompt with where to read the rest). The original's per-file and total
//! character caps still apply on top. [`PromptReport`] says, per file, how much was there and
//! how much went in (`openclaw context`).
//!
//! `MEMORY.md` goes only into the main, private session, as in the original: daily notes
//! (`memory/*.md`) never do — `memory_search` finds them on demand.

use std::path::Path;

use openclaw_llm::ToolSpec;

/// Share of the context the whole system prompt may take by default.
pub const DEFAULT_PROMPT_SHARE: f64 = 0.25;
/// The original's default cap on one file's characters in the prompt.
pub const DEFAULT_FILE_MAX_CHARS: usize = 20_000;
/// The original's default cap on all files' characters together.
pub const DEFAULT_TOTAL_MAX_CHARS: usize = 60_000;
/// Characters per token the budget assumes for text: below English prose's ~4, because
/// Markdown, punctuation and names cost more tokens per character (SmolLM2's tokenizer gives
/// ~3 on a realistic workspace; larger vocabularies do better, so the budget errs on the safe side).
pub const CHARS_PER_TOKEN: f64 = 2.9;
/// The same for tool schemas: JSON is dense in tokens, and chat templates wrap it in more.
pub const TOOL_CHARS_PER_TOKEN: f64 = 2.4;
/// Most bytes of one workspace file read (far more than any prompt can hold).
const MAX_READ_BYTES: u64 = 4 * 1024 * 1024;
/// A file gets at least this much room when it is cut, or is left out with a note.
const MIN_FILE_CHARS: usize = 160;

/// The workspace files put into the prompt, in this order.
pub const WORKSPACE_FILES: &[&str] = &[
    "AGENTS.md",
    "SOUL.md",
    "IDENTITY.md",
    "USER.md",
    "TOOLS.md",
    "BOOTSTRAP.md",
    "MEMORY.md",
];

/// Files a brand-new workspace starts with, and their templates (our own wording).
pub const TEMPLATES: &[(&str, &str)] = &[
    ("AGENTS.md", include_str!("../templates/AGENTS.md")),
    ("SOUL.md", include_str!("../templates/SOUL.md")),
    ("IDENTITY.md", include_str!("../templates/IDENTITY.md")),
    ("USER.md", include_str!("../templates/USER.md")),
    ("BOOTSTRAP.md", include_str!("../templates/BOOTSTRAP.md")),
];

/// Who the session is with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    /// The owner's own conversation: everything, `MEMORY.md` included.
    Main,
    /// A conversation others can read: no `MEMORY.md`.
    Shared,
}

/// How big the prompt may get.
#[derive(Debug, Clone, Copy)]
pub struct PromptLimits {
    pub share: f64,
    pub file_max_chars: usize,
    pub total_max_chars: usize,
}

impl Default for PromptLimits {
    fn default() -> Self {
        Self {
            share: DEFAULT_PROMPT_SHARE,
            file_max_chars: DEFAULT_FILE_MAX_CHARS,
            total_max_chars: DEFAULT_TOTAL_MAX_CHARS,
        }
    }
}

impl PromptLimits {
    /// `agents.defaults.{promptShare, bootstrapMaxChars, bootstrapTotalMaxChars}`.
    pub fn from_config(config: &openclaw_config::OpenClawConfig) -> Self {
        let d = &config.agents.defaults;
        Self {
            share: d
                .prompt_share
                .filter(|s| s.is_finite() && *s > 0.0 && *s <= 1.0)
                .unwrap_or(DEFAULT_PROMPT_SHARE),
            file_max_chars: d
                .bootstrap_max_chars
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(DEFAULT_FILE_MAX_CHARS),
            total_max_chars: d
                .bootstrap_total_max_chars
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(DEFAULT_TOTAL_MAX_CHARS),
        }
    }
}

/// One workspace file's part in the prompt.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileReport {
    pub name: String,
    /// Characters in the file (0 when missing).
    pub raw_chars: usize,
    /// Characters of it in the prompt.
    pub injected_chars: usize,
    pub raw_tokens: u64,
    pub injected_tokens: u64,
    pub truncated: bool,
    /// Why it is not in the prompt, when it is not.
    pub left_out: Option<String>,
}

/// What the system prompt is made of, for `openclaw context`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptReport {
    /// The context the budget derives from (`num_ctx` sent, else the context window).
    pub context_tokens: u64,
    pub share: f64,
    /// `share × context_tokens`: what the whole system prompt may take.
    pub budget_tokens: u64,
    pub instructions_chars: usize,
    pub instructions_tokens: u64,
    pub tools: usize,
    pub tools_chars: usize,
    pub tools_tokens: u64,
    pub files: Vec<FileReport>,
    /// Everything: instructions, files and tool schemas.
    pub total_tokens: u64,
    pub session: SessionKind,
}

impl PromptReport {
    /// What the user should know: workspace files cut or left out to fit (one note).
    pub fn notes(&self) -> Vec<String> {
        let parts: Vec<String> = self
            .files
            .iter()
            .filter_map(|f| {
                if f.truncated {
                    Some(format!(
                        "{} ({} of {} characters)",
                        f.name, f.injected_chars, f.raw_chars
                    ))
                } else if f.raw_chars > 0 && f.left_out.is_some() {
                    Some(format!("{} (left out)", f.name))
                } else {
                    None
                }
            })
            .collect();
        if parts.is_empty() {
            return Vec::new();
        }
        vec![format!(
            "workspace files cut to fit the {}-token prompt budget ({:.0} % of the model's {} tokens): {}; `openclaw context` shows the breakdown, agents.defaults.promptShare sets the share",
            self.budget_tokens,
            self.share * 100.0,
            self.context_tokens,
            parts.join(", ")
        )]
    }
}

/// Estimated tokens of `chars` characters.
pub fn tokens_for_chars(chars: usize) -> u64 {
    (chars as f64 / CHARS_PER_TOKEN).ceil() as u64
}

/// Estimated tokens of tool schemas of `chars` characters.
pub fn tool_tokens(chars: usize) -> u64 {
    (chars as f64 / TOOL_CHARS_PER_TOKEN).ceil() as u64
}

/// Characters of the tool schemas as sent (name, description, JSON parameters).
pub fn tool_chars(tools: &[ToolSpec]) -> usize {
    tools
        .iter()
        .map(|t| t.name.len() + t.description.len() + t.parameters.to_string().len() + 40)
        .sum()
}

/// A workspace file as read.
#[derive(Debug, Clone)]
pub struct WorkspaceFile {
    pub name: &'static str,
    pub text: String,
}

/// Reads the workspace files present (text, invalid UTF-8 replaced), leaving out
/// `BOOTSTRAP.md` once the first run is over and `MEMORY.md` outside the main session.
/// Returns the files and, for each standard file not read, why.
pub fn read_workspace_files(
    root: &Path,
    session: SessionKind,
) -> (Vec<WorkspaceFile>, Vec<(&'static str, String)>) {
    let dir = cap_std::fs::Dir::open_ambient_dir(root, cap_std::ambient_authority()).ok();
    let read = |name: &str| -> Option<String> {
        let dir = dir.as_ref()?;
        // A symlink leading out of the workspace is not followed (cap-std refuses it), and
        // only the start of a huge file is read: no more can go into the prompt anyway.
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(dir.open(name).ok()?, MAX_READ_BYTES),
            &mut bytes,
        )
        .ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    };
    let mut files = Vec::new();
    let mut left_out = Vec::new();
    for name in WORKSPACE_FILES {
        if *name == "MEMORY.md" && session != SessionKind::Main {
            left_out.push((*name, "only in the main, private session".to_owned()));
            continue;
        }
        let Some(text) =
            read(name).or_else(|| (*name == "MEMORY.md").then(|| read("memory.md")).flatten())
        else {
            left_out.push((*name, "missing".to_owned()));
            continue;
        };
        if *name == "BOOTSTRAP.md" && !first_run_pending(&text, &read) {
            left_out.push((*name, "the first run is done".to_owned()));
            continue;
        }
        if text.trim().is_empty() {
            left_out.push((*name, "empty".to_owned()));
            continue;
        }
        files.push(WorkspaceFile { name, text });
    }
    (files, left_out)
}

/// The first-run ritual is pending while `BOOTSTRAP.md` has text and neither `IDENTITY.md`
/// nor `USER.md` has been written since the workspace was created (each is missing or still
/// its template). Writing either ends it, as in the original.
fn first_run_pending(bootstrap: &str, read: &dyn Fn(&str) -> Option<String>) -> bool {
    if bootstrap.trim().is_empty() {
        return false;
    }
    ["IDENTITY.md", "USER.md"].iter().all(|name| {
        let template = TEMPLATES.iter().find(|(n, _)| n == name).map(|(_, t)| *t);
        match read(name) {
            None => true,
            Some(text) => Some(text.as_str()) == template,
        }
    })
}

/// Creates the template files in a brand-new workspace — one with none of the workspace
/// files and no memory — and nothing otherwise, so a user's own files are never touched.
/// Returns the names written.
pub fn seed_new_workspace(root: &Path) -> std::io::Result<Vec<&'static str>> {
    let dir = cap_std::fs::Dir::open_ambient_dir(root, cap_std::ambient_authority())?;
    let exists = |name: &str| dir.symlink_metadata(name).is_ok();
    let brand_new =
        !WORKSPACE_FILES.iter().any(|n| exists(n)) && !exists("memory.md") && !exists("memory");
    if !brand_new {
        return Ok(Vec::new());
    }
    let mut written = Vec::new();
    for (name, text) in TEMPLATES {
        let mut options = cap_std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        match dir.open_with(name, &options) {
            Ok(mut file) => {
                std::io::Write::write_all(&mut file, text.as_bytes())?;
                written.push(*name);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

/// Builds the system prompt: `instructions` (with the memory guidance when memory tools are
/// offered), then the workspace files within the budget. Returns it with its report.
pub fn build_system_prompt(
    instructions: &str,
    files: &[WorkspaceFile],
    left_out: &[(&'static str, String)],
    tools: &[ToolSpec],
    context_tokens: u64,
    limits: PromptLimits,
    session: SessionKind,
) -> (String, PromptReport) {
    let budget_tokens = (context_tokens as f64 * limits.share).floor() as u64;
    let tools_chars = tool_chars(tools);
    let header = files_header(!files.is_empty());
    let fixed_chars = instructions.len() + header.len();
    let budget_chars = (budget_tokens as f64 * CHARS_PER_TOKEN).floor() as usize;
    // Per file: its heading and, when cut, the marker line.
    let overhead = |name: &str| name.len() + 8;
    let tools_as_text = (tool_tokens(tools_chars) as f64 * CHARS_PER_TOKEN).ceil() as usize;
    let room = budget_chars
        .saturating_sub(fixed_chars + tools_as_text)
        .saturating_sub(files.iter().map(|f| overhead(f.name)).sum::<usize>())
        .min(limits.total_max_chars);
    // The estimate of the markers and headings is rough: when the result is over budget, the
    // files get less room and are cut again.
    let mut room = room;
    let mut built = assemble(
        instructions,
        files,
        left_out,
        tools,
        &header,
        room,
        budget_tokens,
        limits,
        session,
    );
    for _ in 0..4 {
        if built.1.total_tokens <= budget_tokens || room == 0 {
            break;
        }
        let over =
            ((built.1.total_tokens - budget_tokens) as f64 * CHARS_PER_TOKEN).ceil() as usize + 32;
        room = room.saturating_sub(over);
        built = assemble(
            instructions,
            files,
            left_out,
            tools,
            &header,
            room,
            budget_tokens,
            limits,
            session,
        );
    }
    let (prompt, mut report) = built;
    report.context_tokens = context_tokens;
    (prompt, report)
}

#[allow(clippy::too_many_arguments)]
fn assemble(
    instructions: &str,
    files: &[WorkspaceFile],
    left_out: &[(&'static str, String)],
    tools: &[ToolSpec],
    header: &str,
    room: usize,
    budget_tokens: u64,
    limits: PromptLimits,
    session: SessionKind,
) -> (String, PromptReport) {
    let tools_chars = tool_chars(tools);
    let wants: Vec<usize> = files
        .iter()
        .map(|f| f.text.trim_end().len().min(limits.file_max_chars.max(1)))
        .collect();
    let allowed = share_out(&wants, room);

    let mut prompt = String::from(instructions.trim_end());
    let mut reports = Vec::new();
    let mut body = String::new();
    for (file, allow) in files.iter().zip(&allowed) {
        let text = file.text.trim_end();
        let raw = text.chars().count();
        let (shown, truncated, left) = if *allow >= text.len() {
            (text.to_owned(), false, None)
        } else if *allow >= MIN_FILE_CHARS {
            (cut(file.name, text, *allow), true, None)
        } else {
            (
                String::new(),
                false,
                Some(format!(
                    "no room left in the {budget_tokens}-token prompt budget; the model can read it"
                )),
            )
        };
        if left.is_none() {
            body.push_str(&format!("\n\n## {}\n\n{shown}", file.name));
        } else {
            body.push_str(&format!(
                "\n\n## {}\n\n[not shown for lack of room: read `{}` when you need it]",
                file.name, file.name
            ));
        }
        let injected = if left.is_none() {
            shown.chars().count()
        } else {
            0
        };
        reports.push(FileReport {
            name: file.name.to_owned(),
            raw_chars: raw,
            injected_chars: injected,
            raw_tokens: tokens_for_chars(text.len()),
            injected_tokens: tokens_for_chars(if left.is_none() { shown.len() } else { 0 }),
            truncated,
            left_out: left,
        });
    }
    for (name, why) in left_out {
        reports.push(FileReport {
            name: (*name).to_owned(),
            raw_chars: 0,
            injected_chars: 0,
            raw_tokens: 0,
            injected_tokens: 0,
            truncated: false,
            left_out: Some(why.clone()),
        });
    }
    reports.sort_by_key(|r| {
        WORKSPACE_FILES
            .iter()
            .position(|n| *n == r.name)
            .unwrap_or(usize::MAX)
    });
    if !files.is_empty() {
        let any_cut = reports
            .iter()
            .any(|r| r.truncated || (r.raw_chars > 0 && r.left_out.is_some()));
        prompt.push_str("\n\n");
        prompt.push_str(header);
        if any_cut {
            prompt.push_str(
                " Some were cut to fit the context (marked); read a file when you need all of it.",
            );
        }
        prompt.push_str(&body);
    }
    let instructions_chars = prompt.len() - body.len();
    let report = PromptReport {
        context_tokens: 0,
        share: limits.share,
        budget_tokens,
        instructions_chars,
        instructions_tokens: tokens_for_chars(instructions_chars),
        tools: tools.len(),
        tools_chars,
        tools_tokens: tool_tokens(tools_chars),
        total_tokens: tokens_for_chars(prompt.len()) + tool_tokens(tools_chars),
        files: reports,
        session,
    };
    (prompt, report)
}

fn files_header(any: bool) -> String {
    if any {
        "# Workspace files\n\nThese files from your workspace are part of your instructions.".into()
    } else {
        String::new()
    }
}

/// Water-filling: every file gets what it wants if all fit; otherwise small files stay whole
/// and the large ones share the rest equally.
fn share_out(wants: &[usize], room: usize) -> Vec<usize> {
    let mut allowed = vec![0; wants.len()];
    let mut order: Vec<usize> = (0..wants.len()).collect();
    order.sort_by_key(|i| wants[*i]);
    let mut left = room;
    let mut remaining = wants.len();
    for i in order {
        let fair = left / remaining.max(1);
        let give = wants[i].min(fair);
        allowed[i] = give;
        left -= give;
        remaining -= 1;
    }
    allowed
}

/// `text` cut to about `allow` characters: its head and tail, with a marker in between that
/// says what is missing and where to find it.
fn cut(name: &str, text: &str, allow: usize) -> String {
    let marker_room = 60 + name.len();
    let keep = allow.saturating_sub(marker_room).max(MIN_FILE_CHARS / 2);
    let head_len = floor_boundary(text, keep * 3 / 4);
    let tail_start = ceil_boundary(text, text.len() - (keep - keep * 3 / 4).min(text.len()));
    let tail_start = tail_start.max(head_len);
    let omitted = text[head_len..tail_start].chars().count();
    format!(
        "{}\n[… {omitted} characters cut to fit; read `{name}` for the rest …]\n{}",
        text[..head_len].trim_end(),
        text[tail_start..].trim_start()
    )
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &'static str, len: usize) -> WorkspaceFile {
        WorkspaceFile {
            name,
            text: format!("{name}\n{}", "é".repeat(len / 2)),
        }
    }

    #[test]
    fn small_files_stay_whole_and_large_ones_share_the_rest() {
        assert_eq!(share_out(&[100, 5000, 5000], 3100), vec![100, 1500, 1500]);
        assert_eq!(share_out(&[100, 200], 10_000), vec![100, 200]);
    }

    #[test]
    fn the_whole_prompt_stays_within_the_share_and_cuts_are_marked_and_reported() {
        let files = vec![
            file("AGENTS.md", 2000),
            file("SOUL.md", 2000),
            file("USER.md", 30_000),
            file("MEMORY.md", 9000),
        ];
        let tools = crate::tools::tool_specs();
        let (prompt, report) = build_system_prompt(
            "You are a test.",
            &files,
            &[],
            &tools,
            8192,
            PromptLimits::default(),
            SessionKind::Main,
        );
        assert_eq!(report.budget_tokens, 2048);
        assert!(
            report.total_tokens <= report.budget_tokens,
            "{} > {}",
            report.total_tokens,
            report.budget_tokens
        );
        let user = report.files.iter().find(|f| f.name == "USER.md").unwrap();
        assert!(user.truncated && user.injected_chars < user.raw_chars);
        assert!(prompt.contains("characters cut to fit; read `USER.md` for the rest"));
        assert!(prompt.contains("Some were cut to fit the context"));
        let notes = report.notes();
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains("USER.md (") && notes[0].contains("2048-token"),
            "{notes:?}"
        );
        // A bigger context: everything fits, up to the original's 20,000-character file cap.
        let (_, big) = build_system_prompt(
            "You are a test.",
            &files,
            &[],
            &tools,
            131_072,
            PromptLimits::default(),
            SessionKind::Main,
        );
        let user = big.files.iter().find(|f| f.name == "USER.md").unwrap();
        assert!(user.truncated && user.injected_chars <= DEFAULT_FILE_MAX_CHARS + 200);
        assert!(
            !big.files
                .iter()
                .find(|f| f.name == "SOUL.md")
                .unwrap()
                .truncated
        );
    }

    #[test]
    fn no_room_leaves_files_out_with_a_note_instead_of_overflowing() {
        let files = vec![file("AGENTS.md", 4000)];
        let (prompt, report) = build_system_prompt(
            &"x".repeat(2000),
            &files,
            &[],
            &crate::tools::tool_specs(),
            2048,
            PromptLimits::default(),
            SessionKind::Main,
        );
        let agents = &report.files[0];
        assert_eq!(agents.injected_chars, 0);
        assert!(agents.left_out.as_deref().unwrap().contains("no room"));
        assert!(prompt.contains("[not shown for lack of room: read `AGENTS.md`"));
    }

    #[test]
    fn a_new_workspace_gets_the_templates_once_and_bootstrap_ends_when_identity_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("notes.txt"), "mine").unwrap();
        let written = seed_new_workspace(root).unwrap();
        assert_eq!(written.len(), TEMPLATES.len());
        assert!(seed_new_workspace(root).unwrap().is_empty());
        let names = |session| {
            read_workspace_files(root, session)
                .0
                .iter()
                .map(|f| f.name)
                .collect::<Vec<_>>()
        };
        assert!(names(SessionKind::Main).contains(&"BOOTSTRAP.md"));
        std::fs::write(root.join("IDENTITY.md"), "- **Name:** Pip\n").unwrap();
        std::fs::write(root.join("MEMORY.md"), "- likes tea\n").unwrap();
        let main = names(SessionKind::Main);
        assert!(!main.contains(&"BOOTSTRAP.md") && main.contains(&"MEMORY.md"));
        assert!(!names(SessionKind::Shared).contains(&"MEMORY.md"));
        // An existing workspace (here: only a memory folder) is never seeded.
        let other = tempfile::tempdir().unwrap();
        std::fs::create_dir(other.path().join("memory")).unwrap();
        assert!(seed_new_workspace(other.path()).unwrap().is_empty());
    }
}
