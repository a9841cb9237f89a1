//! `openclaw gateway install`: a systemd user unit that runs the gateway, and the private
//! environment file that unit reads its keys and tokens from.
//!
//! A unit file is the wrong place for a secret: `--print` shows it on a terminal, people paste
//! units into bug reports and dotfile repositories, and unit files are commonly left readable
//! by everyone. So the unit carries only locations (state dir, config path, Ollama's address)
//! and names `<state>/gateway/gateway.env` in `EnvironmentFile=`; the keys (`OLLAMA_API_KEY`,
//! `OPENCLAW_GATEWAY_TOKEN`, and every `${VAR}` the config reads) go into that file, mode 0600.
//! Paths are quoted and escaped the way systemd reads each setting, so a home directory with
//! spaces, `%` or `$` works; an executable path systemd will not run (one with a quote or a
//! backslash) is refused with a hint rather than written into a unit that never starts.

use crate::exit::Exit;
use openclaw_config::vars;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use openclaw_gateway::settings::gateway_dir;

use crate::context::Context;
use crate::output;

/// The unit's file name under `~/.config/systemd/user/`.
const UNIT_NAME: &str = "openclaw-gateway.service";
/// The environment file's name under `<state>/gateway/`.
const ENV_FILE_NAME: &str = "gateway.env";
/// Where files and servers are: safe to show, so they stay in the unit.
const LOCATION_VARS: [&str; 3] = [
    vars::OPENCLAW_STATE_DIR,
    vars::OPENCLAW_CONFIG_PATH,
    vars::OLLAMA_HOST,
];
/// Keys and tokens the gateway reads from its environment.
const SECRET_VARS: [&str; 2] = [vars::OLLAMA_API_KEY, vars::OPENCLAW_GATEWAY_TOKEN];
/// The first lines of the environment file we write (recognised and replaced on a rewrite).
const ENV_FILE_HEADER: [&str; 3] = [
    "# Environment of the openclaw gateway service (EnvironmentFile= of openclaw-gateway.service).",
    "# Keys and tokens live here, not in the unit: keep this file private (mode 0600).",
    "# One NAME=\"value\" a line; `openclaw gateway install` rewrites the names it sets.",
];

/// `openclaw gateway install [--print] [--port N]`.
pub fn install(ctx: &Context, print: bool, port: Option<u16>) -> Result<Exit> {
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .context("cannot find the openclaw executable")?;
    let env_file = absolute(&gateway_dir(&ctx.paths).join(ENV_FILE_NAME))?;
    let secrets = secret_values(ctx);
    let unit = unit_text(ctx, &exe, port, &env_file, &secrets, print)?;
    if print {
        out!("{unit}");
        return Ok(Exit::Success);
    }
    write_env_file(&env_file, &secrets.set)?;
    errln!(
        "wrote {} (mode 0600{})",
        ctx.show_path(&env_file),
        if secrets.set.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = secrets.set.iter().map(|(n, _)| n.as_str()).collect();
            format!(": {}", names.join(", "))
        }
    );
    let config_home = ctx
        .env
        .get(vars::XDG_CONFIG_HOME)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            ctx.env
                .get(vars::HOME)
                .map(|h| PathBuf::from(h).join(".config"))
        })
        .context("neither XDG_CONFIG_HOME nor HOME is set")?;
    let dir = config_home.join("systemd").join("user");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(UNIT_NAME);
    openclaw_config::write_atomic(&path, &unit, false)?;
    errln!("wrote {}", ctx.show_path(&path));
    for name in &secrets.missing {
        output::warn(format!(
            "the config reads ${{{name}}}, which is not set here: add `{name}=\"…\"` to {}",
            env_file.display()
        ));
    }
    errln!("start it now and at every login with:\n  systemctl --user daemon-reload\n  systemctl --user enable --now openclaw-gateway");
    Ok(Exit::Success)
}

/// The secrets the service needs: set here (name, value), and read by the config but unset.
struct Secrets {
    set: Vec<(String, String)>,
    missing: Vec<String>,
}

/// `OLLAMA_API_KEY`, the gateway token, an `OLLAMA_HOST` with credentials in it, and every
/// variable the config file reads with `${VAR}` (`apiKey: "${OPENAI_API_KEY}"`).
fn secret_values(ctx: &Context) -> Secrets {
    let mut names: BTreeSet<String> = SECRET_VARS.iter().map(|s| s.to_string()).collect();
    if ctx
        .env
        .get(vars::OLLAMA_HOST)
        .is_some_and(|h| h.contains('@'))
    {
        names.insert(vars::OLLAMA_HOST.into());
    }
    let referenced = config_variables(&ctx.paths.config_file);
    names.extend(referenced.iter().cloned());
    let mut set = Vec::new();
    let mut missing = Vec::new();
    for name in names {
        match ctx.env.non_empty(&name) {
            Some(value) => set.push((name.clone(), value.to_string())),
            None if referenced.contains(&name) => missing.push(name),
            None => {}
        }
    }
    Secrets { set, missing }
}

/// The `${VAR}` names used in the config file's strings (none when it is absent or broken:
/// the gateway reports a broken config itself when it starts).
fn config_variables(path: &Path) -> BTreeSet<String> {
    let Ok(Some(text)) = openclaw_config::read_text(path) else {
        return BTreeSet::new();
    };
    let Ok(checked) = openclaw_config::check(&text, &path.display().to_string(), None) else {
        return BTreeSet::new();
    };
    let Some(root) = checked.document.root().map(|n| n.to_value()) else {
        return BTreeSet::new();
    };
    let mut strings = Vec::new();
    collect_strings(&root, &mut strings);
    // The config's own `${VAR}` parser names them.
    strings
        .into_iter()
        .flat_map(openclaw_config::variables_in)
        .collect()
}

fn collect_strings<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
    match value {
        serde_json::Value::String(s) => out.push(s),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// The unit. Locations as `Environment=`, secrets only by the name of the file holding them.
fn unit_text(
    ctx: &Context,
    exe: &Path,
    port: Option<u16>,
    env_file: &Path,
    secrets: &Secrets,
    print: bool,
) -> Result<String> {
    let exe_text = path_text(exe)?;
    // systemd refuses to run an executable whose path holds a quote or a backslash, however
    // it is escaped: say so now rather than leave a unit that never starts.
    if exe_text.contains(['"', '\'', '\\']) {
        bail!(
            "systemd cannot run {exe_text}: it refuses executables whose path holds a quote or a backslash\n  hint: put the openclaw binary at a plain path (such as ~/.local/bin/openclaw) and run `openclaw gateway install` from there"
        );
    }
    let mut exec = format!("{} gateway", exec_word(&exe_text));
    if let Some(p) = port {
        exec.push_str(&format!(" --port {p}"));
    }
    let mut environment = String::new();
    for name in LOCATION_VARS {
        let value = match name {
            vars::OPENCLAW_STATE_DIR if ctx.env.non_empty(name).is_some() => {
                path_text(&absolute(&ctx.paths.state_dir)?)?
            }
            vars::OPENCLAW_CONFIG_PATH if ctx.env.non_empty(name).is_some() => {
                path_text(&absolute(&ctx.paths.config_file)?)?
            }
            vars::OLLAMA_HOST => match ctx.env.non_empty(name).filter(|v| !v.contains('@')) {
                Some(v) => v.to_string(),
                None => continue,
            },
            _ => continue,
        };
        environment.push_str(&format!(
            "Environment={}\n",
            quoted(&format!("{name}={value}"), false)?
        ));
    }
    let file = path_text(env_file)?;
    let names: Vec<&str> = secrets
        .set
        .iter()
        .map(|(n, _)| n.as_str())
        .chain(secrets.missing.iter().map(String::as_str))
        .collect();
    let mut about =
        format!("# Keys and tokens are not written here: the service reads them from\n# {file}\n");
    if print {
        about.push_str(&format!(
            "# `openclaw gateway install` writes that file (mode 0600); to make it by hand:\n#   install -m 600 /dev/null {}\n# then add one NAME=\"value\" line for each of: {}\n",
            shell_quoted(&file),
            if names.is_empty() {
                "(none needed now; the config's ${VAR} keys, if you add any)".to_string()
            } else {
                names.join(", ")
            }
        ));
    }
    Ok(format!(
        "[Unit]\n\
         Description=OpenClaw gateway (openclaw-rs)\n\
         After=network-online.target\n\
         Wants=network-online.target\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={exec}\n\
         {environment}\
         {about}\
         EnvironmentFile=-{}\n\
         Restart=on-failure\n\
         RestartSec=2\n\
         KillSignal=SIGTERM\n\
         TimeoutStopSec=15\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        // EnvironmentFile= takes the rest of the line as the path, unquoted.
        file.replace('%', "%%")
    ))
}

/// Writes the environment file (0600, its directory 0700), keeping lines for other names that
/// someone added by hand.
fn write_env_file(path: &Path, secrets: &[(String, String)]) -> Result<()> {
    let ours: BTreeSet<&str> = secrets.iter().map(|(n, _)| n.as_str()).collect();
    let mut text: String = ENV_FILE_HEADER.iter().map(|l| format!("{l}\n")).collect();
    if let Ok(existing) = std::fs::read_to_string(path) {
        for line in existing.lines() {
            let name = line.split_once('=').map(|(n, _)| n.trim());
            if ENV_FILE_HEADER.contains(&line) || name.is_some_and(|n| ours.contains(n)) {
                continue;
            }
            text.push_str(line);
            text.push('\n');
        }
        tighten(path)?;
    }
    for (name, value) in secrets {
        if value.contains(['\n', '\r', '\0']) {
            output::warn(format!(
                "{name} holds a line break, which an environment file cannot carry; it is left out"
            ));
            continue;
        }
        text.push_str(&format!("{name}={}\n", quoted(value, true)?));
    }
    if let Some(dir) = path.parent() {
        openclaw_config::create_private_dir(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    openclaw_config::write_atomic(path, &text, false)?;
    Ok(())
}

/// An environment file someone made readable by others becomes private before secrets are
/// written into it (a rewrite otherwise keeps a file's mode).
fn tighten(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {} private", path.display()))?;
        output::warn(format!(
            "{} was readable by others (mode {:o}); it is now 0600",
            path.display(),
            mode & 0o777
        ));
    }
    Ok(())
}

/// `path` made absolute against the current directory (the service runs elsewhere).
fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
}

/// A path as text for the unit; paths systemd cannot carry are refused, saying which.
fn path_text(path: &Path) -> Result<String> {
    let Some(text) = path.to_str() else {
        bail!(
            "{} is not valid UTF-8, which a systemd unit cannot hold\n  hint: move it (or OPENCLAW_STATE_DIR) to a plain path",
            path.display()
        );
    };
    if text.chars().any(char::is_control) {
        bail!(
            "{} holds a control character (a line break?), which a systemd unit cannot hold\n  hint: move it (or OPENCLAW_STATE_DIR) to a plain path",
            path.display()
        );
    }
    Ok(text.to_string())
}

/// The executable as the first word of `ExecStart=`: quoted, `\` and `"` escaped, `%` doubled
/// (systemd expands specifiers on the whole line; variables only in the arguments, so a `$` in
/// the path stays as it is).
fn exec_word(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A double-quoted value: for an `Environment=` assignment (`%` doubled: specifiers are
/// expanded there) or for a line of an environment file (`$` and `` ` `` escaped).
fn quoted(text: &str, env_file: bool) -> Result<String> {
    if text.chars().any(|c| matches!(c, '\n' | '\r' | '\0')) {
        bail!("a value with a line break cannot be written into a systemd unit");
    }
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' if !env_file => out.push_str("%%"),
            '$' if env_file => out.push_str("\\$"),
            '`' if env_file => out.push_str("\\`"),
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// `text` in single quotes for a shell command shown to the user.
fn shell_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_quoting() {
        assert_eq!(
            exec_word("/home/a b/100%/$x/\"q\"\\"),
            r#""/home/a b/100%%/$x/\"q\"\\""#
        );
        assert_eq!(
            quoted("OPENCLAW_STATE_DIR=/a b/50%", false).unwrap(),
            r#""OPENCLAW_STATE_DIR=/a b/50%%""#
        );
        assert_eq!(quoted(r#"k$y"`\"#, true).unwrap(), r#""k\$y\"\`\\""#);
        assert!(quoted("a\nb", true).is_err());
        assert_eq!(shell_quoted("/it's here"), r"'/it'\''s here'");
        assert!(path_text(Path::new("/a\nb")).is_err());
    }
}
