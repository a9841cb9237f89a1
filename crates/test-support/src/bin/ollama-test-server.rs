//! `ollama-test-server`: the test server as a process, for benchmarks and scripts that need a
//! URL rather than a library. Prints `listening on http://127.0.0.1:PORT` once it accepts
//! connections, then serves until killed.
// A small tool whose whole output is its usage and its address.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::process::ExitCode;

use openclaw_test_support::{fixture_models, mixed_models, Behaviour, ModelSpec, TestServer};

const USAGE: &str = "\
Usage: ollama-test-server [OPTIONS]

An Ollama-compatible test server on 127.0.0.1.

Options:
  --port N                 Port to listen on (default 0: any free port)
  --models N               Serve N tools-capable models named model-0 .. model-<N-1>
  --mixed                  With --models N: serve the deterministic mix of
                           openclaw_test_support::mixed_models(N) instead
  --fixtures               Serve the models described by the fixtures (llama3.3,
                           llama3.2, deepseek-r1, qwen3:8b, gemma4, llava, smollm2...)
                           This is the default when no other model option is given.
  --hang NAME              Model NAME never answers /api/show or chat (added if absent;
                           repeatable)
  --ps-context-length N    context_length reported by /api/ps (default 4096)
  -h, --help               Print this help";

/// The flags as given.
#[derive(Debug, Default, PartialEq)]
struct Args {
    port: u16,
    models: Option<usize>,
    mixed: bool,
    fixtures: bool,
    hang: Vec<String>,
    ps_context_length: Option<u64>,
    help: bool,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args::default();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("`{flag}` needs a value"));
        match flag.as_str() {
            "--port" => parsed.port = number(&flag, &value(&flag)?)?,
            "--models" => parsed.models = Some(number(&flag, &value(&flag)?)?),
            "--mixed" => parsed.mixed = true,
            "--fixtures" => parsed.fixtures = true,
            "--hang" => parsed.hang.push(value(&flag)?),
            "--ps-context-length" => {
                parsed.ps_context_length = Some(number(&flag, &value(&flag)?)?);
            }
            "-h" | "--help" => parsed.help = true,
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    if parsed.mixed && parsed.models.is_none() {
        return Err("`--mixed` needs `--models N`".to_owned());
    }
    Ok(parsed)
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("`{flag}` needs a number, got `{value}`"))
}

/// The models the flags ask for.
fn models(args: &Args) -> Vec<ModelSpec> {
    let mut specs = Vec::new();
    if args.fixtures || args.models.is_none() {
        specs.extend(fixture_models());
    }
    match (args.models, args.mixed) {
        (Some(n), true) => specs.extend(mixed_models(n)),
        (Some(n), false) => specs.extend((0..n).map(|i| ModelSpec::new(&format!("model-{i}")))),
        (None, _) => {}
    }
    for name in &args.hang {
        let listed = ModelSpec::new(name).listed_name();
        let hang = |spec: ModelSpec| {
            spec.behaviour(Behaviour::Hang)
                .chat_behaviour(Behaviour::Hang)
        };
        match specs.iter().position(|s| s.listed_name() == listed) {
            Some(i) => specs[i] = hang(specs[i].clone()),
            None => specs.push(hang(ModelSpec::new(name))),
        }
    }
    specs
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let mut builder = TestServer::builder().port(args.port).models(models(&args));
    if let Some(n) = args.ps_context_length {
        builder = builder.ps_context_length(n);
    }
    let server = match builder.start_blocking() {
        Ok(server) => server,
        Err(err) => {
            eprintln!(
                "error: cannot listen on 127.0.0.1:{}: {err}\nhint: pick another `--port`, or 0 for any free port",
                args.port
            );
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "listening on {}", server.url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    // Serve until killed; the server runs on its own threads.
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, String> {
        parse(s.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn parses_flags() {
        let a = args("--port 11435 --models 3 --hang slow --hang other").unwrap();
        assert_eq!(a.port, 11435);
        assert_eq!(a.models, Some(3));
        assert_eq!(a.hang, ["slow", "other"]);
        assert!(args("--models").is_err());
        assert!(args("--models x").is_err());
        assert!(args("--mixed").is_err());
        assert!(args("--bogus").is_err());
    }

    #[test]
    fn chooses_models() {
        let names = |s: &str| -> Vec<String> {
            models(&args(s).unwrap())
                .iter()
                .map(ModelSpec::listed_name)
                .collect()
        };
        assert_eq!(names("--models 2"), ["model-0:latest", "model-1:latest"]);
        assert_eq!(names("--models 2 --mixed").len(), 2);
        assert!(names("").contains(&"llama3.3:latest".to_owned()));
        assert_eq!(
            names("--models 2 --fixtures").len(),
            2 + fixture_models().len()
        );
        let hung = models(&args("--models 1 --hang model-0 --hang extra").unwrap());
        assert_eq!(hung.len(), 2);
        assert!(hung
            .iter()
            .all(|m| format!("{m:?}").contains("behaviour: Hang")));
    }
}
