//! `openclaw completions SHELL`: a script for each shell that knows the real commands.

use super::support::Env;

#[test]
fn every_shell_gets_a_script_that_knows_the_commands() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = env.ok(&["completions", shell]);
        assert!(run.stdout.len() > 500, "{shell}: {}", run.stdout);
        for word in ["models", "config", "onboard", "pull", "fallbacks"] {
            assert!(run.stdout.contains(word), "{shell} script lacks `{word}`");
        }
        assert!(run.stderr.is_empty(), "{shell}: {}", run.stderr);
    }
}

#[test]
fn the_bash_script_is_valid_bash() {
    let env = Env::new();
    let script = env.home().join("openclaw.bash");
    std::fs::write(&script, env.ok(&["completions", "bash"]).stdout).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Sourcing it registers the completion function.
    let source = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p openclaw",
            script.display()
        ))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&source.stdout).contains("openclaw"),
        "{}",
        String::from_utf8_lossy(&source.stderr)
    );
}

#[test]
fn an_unknown_shell_is_refused_with_the_choices() {
    let run = Env::new().run(&["completions", "tcsh"]);
    run.assert_code(2)
        .assert_stderr_contains("bash")
        .assert_stderr_contains("zsh")
        .assert_stderr_contains("fish");
}
