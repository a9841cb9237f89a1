//! `openclaw-bench prompt`: how many tokens the agent sends before the conversation, with a
//! full workspace, counted by the model itself.
//!
//! The workspace has every standard file (AGENTS, SOUL, IDENTITY, USER, TOOLS, HEARTBEAT,
//! BOOTSTRAP, MEMORY), each about 2 KB of realistic text. The agent is assembled as
//! `openclaw agent` assembles it, for SmolLM2-135M on the native Ollama API with an 8192-token
//! context (so it sends `num_ctx` 8192 and the default budget is 25 % = 2048 tokens). Its
//! system prompt and tool schemas are sent to the real model (llama.cpp behind the local
//! backend's front, prompt cache off) with a one-word user message, and the server's
//! `prompt_eval_count` is read; the same message sent alone is subtracted, leaving what comes
//! before the history.
//!
//! The original OpenClaw's figure for the same workspace is computed, not run: its documented
//! caps (20,000 characters per file, 60,000 in all) let all eight files in whole, on top of its
//! ~40 KB system prompt; the files are counted with the same tokenizer (each file sent alone,
//! the empty request's tokens subtracted), the 40 KB at the tokens per character measured on
//! our own instructions.

use std::collections::BTreeMap;

use openclaw_agent::{assemble_agent, NoApprover};
use openclaw_config::{OpenClawConfig, StatePaths};
use openclaw_models::{build_catalog, CatalogOptions, CatalogSources};
use openclaw_test_support::local_backend::LocalBackend;
use serde_json::{json, Value};

const MODEL: &str = "smollm2:135m";
/// The original's system prompt without workspace files, as its documentation puts it.
const ORIGINAL_BASE_PROMPT_BYTES: usize = 40_000;

pub fn run() -> Result<(), String> {
    let backend = LocalBackend::acquire()?;
    let tmp = std::env::temp_dir().join(format!("openclaw-bench-prompt-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(tmp.clone());
    let workspace = tmp.join("workspace");
    std::fs::create_dir_all(&workspace).map_err(|e| e.to_string())?;
    let mut file_bytes = BTreeMap::new();
    for (name, text) in realistic_workspace() {
        std::fs::write(workspace.join(name), &text).map_err(|e| e.to_string())?;
        file_bytes.insert(name, text);
    }

    let config: OpenClawConfig = serde_json::from_value(json!({
        "models": {"providers": {"ollama": {"api": "ollama"}}},
        "agents": {"defaults": {"workspace": workspace}},
    }))
    .map_err(|e| e.to_string())?;
    let host = backend.host().to_owned();
    let env = openclaw_config::Env::from_vars([
        (openclaw_config::vars::OLLAMA_HOST, host),
        (
            openclaw_config::vars::OLLAMA_API_KEY,
            "ollama-local".to_owned(),
        ),
    ]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let catalog = rt.block_on(build_catalog(
        &CatalogSources {
            config: &config,
            ollama_profile: None,
            env: &env,
        },
        &CatalogOptions::default(),
    ));
    let paths = StatePaths::in_dir(tmp.join("state"));
    let assembled = assemble_agent(
        &catalog,
        &config,
        &paths,
        &env,
        Some(&format!("ollama/{MODEL}")),
        Box::new(NoApprover),
    )
    .map_err(|e| e.to_string())?;
    let agent = assembled.agent;
    let candidate = agent
        .candidates
        .first()
        .ok_or("the local backend's model was not discovered")?;
    let tools = agent.tool_list();
    let (system, report) = agent.system_prompt_for(candidate.budget(), &tools);
    let report = report.ok_or("no prompt report")?;

    let http = loopback_client()?;
    let url = format!("{}/api/chat", backend.url());
    let tool_json: Vec<Value> = tools
        .iter()
        .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
        .collect();
    let count = |messages: Value, tools: &[Value]| -> Result<u64, String> {
        let mut body = json!({
            "model": MODEL, "stream": false, "messages": messages,
            "options": {"num_predict": 1, "num_ctx": candidate.budget()},
        });
        if !tools.is_empty() {
            body["tools"] = json!(tools);
        }
        let reply: Value = rt
            .block_on(async { http.post(&url).json(&body).send().await?.json().await })
            .map_err(|e| format!("{url}: {e}"))?;
        reply["prompt_eval_count"]
            .as_u64()
            .ok_or_else(|| format!("no prompt_eval_count in {reply}"))
    };
    let user = json!({"role": "user", "content": "hi"});
    let with_prompt = count(
        json!([{"role": "system", "content": system}, user]),
        &tool_json,
    )?;
    let bare = count(json!([user]), &[])?;
    let before_history = with_prompt - bare;

    // The original: every file whole (under its caps), counted with the same tokenizer.
    let empty_system = count(json!([{"role": "system", "content": ""}, user]), &[])?;
    let mut original_file_tokens = 0;
    let mut original_file_bytes = 0;
    for text in file_bytes.values() {
        let n = count(json!([{"role": "system", "content": text}, user]), &[])?;
        original_file_tokens += n.saturating_sub(empty_system);
        original_file_bytes += text.len().min(20_000);
    }
    let instructions_tokens = count(
        json!([{"role": "system", "content": &system[..report.instructions_chars.min(system.len())]}, user]),
        &[],
    )?
    .saturating_sub(empty_system);
    let bytes_per_token = report.instructions_chars as f64 / instructions_tokens.max(1) as f64;
    let tools_tokens = count(json!([user]), &tool_json)?.saturating_sub(bare);
    let files_tokens = before_history.saturating_sub(tools_tokens + instructions_tokens);
    let original_base_tokens = (ORIGINAL_BASE_PROMPT_BYTES as f64 / bytes_per_token).round() as u64;

    println!(
        "workspace: {} files, {} bytes ({})",
        file_bytes.len(),
        file_bytes.values().map(String::len).sum::<usize>(),
        file_bytes
            .iter()
            .map(|(n, t)| format!("{n} {}", t.len()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "model: ollama/{MODEL}, native API, num_ctx {} → prompt budget {} tokens ({:.0} %)\n",
        candidate.budget(),
        report.budget_tokens,
        report.share * 100.0
    );
    println!(
        "measured parts: instructions {instructions_tokens} tokens (estimate {}), tool schemas as the chat template renders them {tools_tokens} (estimate {}), workspace files ~{files_tokens} (estimate {})\n",
        report.instructions_tokens,
        report.tools_tokens,
        report.files.iter().map(|f| f.injected_tokens).sum::<u64>()
    );
    println!("| | openclaw-rs (measured) | original OpenClaw (computed) |");
    println!("|---|---|---|");
    println!(
        "| workspace files in the prompt | {} of {} bytes ({}) | {original_file_bytes} bytes (all, under 20,000/60,000 caps) |",
        report.files.iter().map(|f| f.injected_chars).sum::<usize>(),
        report.files.iter().map(|f| f.raw_chars).sum::<usize>(),
        report
            .files
            .iter()
            .filter(|f| f.raw_chars > 0)
            .map(|f| format!(
                "{} {}",
                f.name,
                if f.truncated {
                    "cut"
                } else if f.left_out.is_some() {
                    "out"
                } else {
                    "whole"
                }
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "| tokens before history | **{before_history}** (prompt_eval_count {with_prompt} − {bare} for the bare message; estimate {}) | ~{} ({original_base_tokens} for the ~40 KB base prompt + {original_file_tokens} for the files, tool schemas not counted) |",
        report.total_tokens,
        original_base_tokens + original_file_tokens
    );
    println!(
        "| share of an 8K context | {:.1} % | {:.0} % |",
        100.0 * before_history as f64 / 8192.0,
        100.0 * (original_base_tokens + original_file_tokens) as f64 / 8192.0
    );
    if before_history > 2000 {
        return Err(format!(
            "{before_history} tokens before history: over the 2,000 the default budget promises"
        ));
    }
    Ok(())
}

/// About 2 KB of plausible text per standard file, as a workspace looks after a few weeks.
fn realistic_workspace() -> Vec<(&'static str, String)> {
    let pad = |head: &str, lines: &[&str]| {
        let mut text = head.to_owned();
        let mut i = 0;
        while text.len() < 2000 {
            text.push_str(lines[i % lines.len()]);
            text.push('\n');
            i += 1;
        }
        text
    };
    vec![
        ("AGENTS.md", pad("# AGENTS.md — how I work here\n\n", &[
            "- Start from the context given; read a file again only when something is missing.",
            "- Day-to-day notes go to memory/YYYY-MM-DD.md; lasting facts to MEMORY.md.",
            "- Before answering about the past or a preference, search memory first.",
            "- Ask before sending anything off this machine or deleting files.",
            "- Keep replies short unless asked for detail; use lists for steps.",
            "- When a task takes several steps, say what is done and what is left.",
            "- Prefer the metric system and 24-hour times in answers.",
        ])),
        ("SOUL.md", pad("# SOUL.md — who I am\n\n", &[
            "- Helpful in substance, not in ceremony.",
            "- Honest about uncertainty; I say when I do not know.",
            "- Calm, a little dry, never sycophantic.",
            "- I try first (read, search) and ask second.",
            "- Private things stay private.",
        ])),
        ("IDENTITY.md", pad("# IDENTITY.md\n\n- **Name:** Pip\n- **Creature:** a helpful otter\n- **Vibe:** calm and practical\n- **Emoji:** 🦦\n\n", &[
            "Pip keeps the household running: calendars, bills, school forms and the odd recipe.",
            "Pip writes things down the moment they are learned.",
        ])),
        ("USER.md", pad("# USER.md — about Sam\n\n## Directives\n", &[
            "- (2026-01-12) Prefer short answers in the morning.",
            "- (2026-01-20) Always list prices in euros.",
            "- (2026-02-02) Sam's partner is Robin; kids Mia (9) and Leo (6).",
            "- (2026-02-15) Never book anything before 9 am on weekends.",
            "- (2026-03-01) Prefer vegetarian recipes on weekdays.",
        ])),
        ("TOOLS.md", pad("# TOOLS.md — this machine\n\n", &[
            "- The printer is `office-laser` (duplex by default).",
            "- Photos live in ~/Pictures/library, sorted by year.",
            "- The NAS is mounted at /mnt/nas; backups run nightly at 02:00.",
            "- Use `rg` for searching text, it is faster than grep here.",
        ])),
        ("HEARTBEAT.md", pad("# HEARTBEAT.md — periodic checks\n\n", &[
            "- Check whether any bill is due within three days.",
            "- Remind about school forms on Sunday evening.",
            "- Look for calendar clashes in the coming week.",
        ])),
        ("BOOTSTRAP.md", pad("# BOOTSTRAP.md — first run\n\n", &[
            "1. Do what the user asks first.",
            "2. Then introduce yourself and ask what to be called.",
            "3. Write the answers to IDENTITY.md and USER.md.",
        ])),
        ("MEMORY.md", pad("# MEMORY.md — lasting facts\n\n", &[
            "- The house insurance renews every March; policy HX-22-90417.",
            "- Robin's parents visit every other Easter.",
            "- The car is a 2019 estate; next service due at 90,000 km.",
            "- Mia has swimming on Tuesdays, Leo football on Saturdays.",
            "- The allotment is plot 14; the key is in the blue tin.",
            "- Decided in January: no new subscriptions this year.",
        ])),
    ]
}

struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A client that does not go through a proxy for the loopback backend.
fn loopback_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(600))
        .build()
        .map_err(|e| e.to_string())
}
