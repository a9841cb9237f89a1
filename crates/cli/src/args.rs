//! The command line as parsed, kept apart from what the commands do.

use clap::{Args, Parser, Subcommand};

const ABOUT: &str =
    "OpenClaw, the personal AI assistant gateway, built for local models through Ollama.";

const AFTER_HELP: &str = "\
Quick start with Ollama:
  ollama pull llama3.3
  export OLLAMA_API_KEY=ollama-local
  openclaw models list
(or keep the key in the config instead of the environment:
  openclaw config set models.providers.ollama.apiKey ollama-local)

Or let `openclaw onboard` do it: find Ollama, pick the models, enable discovery.

Files live in ~/.openclaw (move them with OPENCLAW_STATE_DIR;
the config alone with OPENCLAW_CONFIG_PATH).";

/// `openclaw`.
#[derive(Debug, Parser)]
#[command(name = "openclaw", version, about = ABOUT, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read and change openclaw.json (keeps your comments and layout)
    #[command(subcommand)]
    Config(ConfigCommand),
    /// List models, pick the default and fallbacks
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Run one agent turn: the model answers, using tools (read, write, edit, exec) as needed
    #[command(
        after_help = "Examples:\n  openclaw agent --message \"What is in notes.txt?\"\n  openclaw agent -m \"and now summarise it\" --session-id 1763770000000-a1b2c3\n  openclaw agent -m \"think hard: 17*23?\" --model ollama/qwen3:8b --thinking high\n\nThe answer streams to stdout; thinking (dimmed), tool activity and notes go to stderr.\nTranscripts: ~/.openclaw/agents/main/sessions/<session-id>.jsonl"
    )]
    Agent(AgentArgs),
    /// Check config, providers and Ollama discovery; explain each problem and its fix
    #[command(
        after_help = "Examples:\n  openclaw doctor\n  openclaw doctor --fix      # repairs what is safe (e.g. creates the ollama auth profile)\n  openclaw doctor --json\n\nExit code 1 when something is broken."
    )]
    Doctor(DoctorArgs),
    /// First run: find Ollama, pick the default and fallback models, enable discovery, check
    #[command(
        after_help = "Examples:\n  openclaw onboard                                  # asks, with the answers suggested\n  openclaw onboard --non-interactive                # the first tools-capable model, no fallbacks\n  openclaw onboard --non-interactive --primary ollama/qwen3:8b --fallback ollama/llama3.3 --json\n  openclaw onboard --base-url http://gpu-box:11434  # Ollama on another machine\n\nWrites agents.defaults.model in openclaw.json (your comments are kept) and the auth profile\nollama:default (the opt-in to Ollama discovery, like OLLAMA_API_KEY), then runs `openclaw doctor`.\nOllama is looked for at models.providers.ollama.baseUrl, else OLLAMA_HOST, else http://127.0.0.1:11434."
    )]
    Onboard(OnboardArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(
        after_help = "Examples:\n  openclaw completions bash > ~/.local/share/bash-completion/completions/openclaw\n  openclaw completions zsh > \"${fpath[1]}/_openclaw\"\n  openclaw completions fish > ~/.config/fish/completions/openclaw.fish\n  source <(openclaw completions bash)                # this shell only"
    )]
    Completions(CompletionsArgs),
    /// Talk with the agent interactively (line editing, history, /model, /new, /compact, /quit)
    Chat(ChatArgs),
    /// Run the gateway: OpenAI-compatible API, WebSocket and web chat on one port
    #[command(
        after_help = "Examples:\n  openclaw gateway                      # http://127.0.0.1:18789, token generated on first start\n  openclaw gateway --port 0             # any free port (the real one is printed)\n  openclaw gateway status\n  openclaw gateway stop\n  openclaw gateway install --print     # a systemd user unit\n\nThe token: gateway.auth.token, else OPENCLAW_GATEWAY_TOKEN, else ~/.openclaw/gateway/token.\nLogs: --verbose, or RUST_LOG (e.g. RUST_LOG=openclaw_gateway=debug)."
    )]
    Gateway(GatewayArgs),
    /// Search and index the agent's memory (MEMORY.md and memory/*.md)
    #[command(
        subcommand,
        after_help = "Examples:\n  openclaw memory status\n  openclaw memory index            # incremental: only changed notes are embedded again\n  openclaw memory index --force    # read every note again\n  openclaw memory search \"what did we decide about the trip\"\n  openclaw memory search wifi password --json\n\nVectors come from memory.search.model, an Ollama embedding model:\n  ollama pull nomic-embed-text\n  openclaw config set memory.search.model nomic-embed-text\nWithout one, search is by keywords.\nThe index: ~/.openclaw/memory/main.sqlite (only an index: delete it to rebuild)."
    )]
    Memory(MemoryCommand),
    /// Show what the agent's system prompt is made of: instructions, workspace files, tool schemas
    #[command(
        after_help = "Examples:\n  openclaw context                     # per file: raw vs injected characters and tokens\n  openclaw context --show-prompt       # and the prompt itself\n  openclaw context --model ollama/qwen3:8b --json\n\nThe whole system prompt is held to agents.defaults.promptShare (default 0.25)\nof the context the agent sends the model (num_ctx for the native Ollama API,\nelse the context window). Workspace files that do not fit are cut (head and\ntail kept, the cut marked) or left out; the model can read them."
    )]
    Context(ContextArgs),
}

/// `openclaw context`.
#[derive(Debug, Args)]
pub struct ContextArgs {
    /// The model whose context sets the budget (`provider/model` or an alias); default: the default model
    #[arg(long, value_name = "REF")]
    pub model: Option<String>,
    /// Also print the system prompt itself
    #[arg(long)]
    pub show_prompt: bool,
    /// Machine-readable report
    #[arg(long)]
    pub json: bool,
}

/// `openclaw memory`.
#[derive(Debug, Subcommand)]
pub enum MemoryCommand {
    /// The embedding model, ranking weights and what the index holds
    Status {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Bring the index up to date with the memory files (progress on stderr)
    Index {
        /// Read and chunk every file again (vectors of unchanged text are kept)
        #[arg(long)]
        force: bool,
        /// Machine-readable report
        #[arg(long)]
        json: bool,
    },
    /// Search the notes as the agent's memory_search tool does
    Search {
        /// What to look for
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        /// How many results (default: memory.search.query.maxResults, else 6)
        #[arg(long, value_name = "N")]
        max_results: Option<usize>,
        /// Ranking: hybrid (default with an embedding model), keyword or vector
        #[arg(long, value_enum)]
        mode: Option<SearchModeArg>,
        /// Machine-readable results
        #[arg(long)]
        json: bool,
    },
}

/// `memory search --mode`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SearchModeArg {
    Hybrid,
    Keyword,
    Vector,
}

/// `openclaw gateway`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct GatewayArgs {
    #[command(subcommand)]
    pub command: Option<GatewayCommand>,
    #[command(flatten)]
    pub run: GatewayRunArgs,
}

/// `openclaw gateway [--port] [--bind] [--verbose]`.
#[derive(Debug, Args)]
pub struct GatewayRunArgs {
    /// Port to listen on (default: gateway.port, else 18789; 0 picks a free port)
    #[arg(long)]
    pub port: Option<u16>,
    /// `loopback` (default), `lan` (every interface; needs the token) or an IP address
    #[arg(long, value_name = "loopback|lan|ADDR")]
    pub bind: Option<String>,
    /// Log requests and runs to stderr (RUST_LOG overrides)
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// Whether a gateway runs for this state directory, where, and its page URL
    Status {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Stop the gateway running for this state directory (SIGTERM; running answers may finish)
    Stop,
    /// Install a systemd user service that runs the gateway
    Install {
        /// Print the unit instead of writing it
        #[arg(long)]
        print: bool,
        /// Port for the service (default: from the config)
        #[arg(long)]
        port: Option<u16>,
    },
}

/// `openclaw onboard`.
#[derive(Debug, Args)]
pub struct OnboardArgs {
    /// Never prompt: use the flags and defaults, and fail with a message where a question would be asked
    #[arg(long)]
    pub non_interactive: bool,
    /// Default model (`ollama/NAME` or `NAME`); default: the first tools-capable model
    #[arg(long, value_name = "REF")]
    pub primary: Option<String>,
    /// A fallback model, tried when the default fails (repeatable, in order)
    #[arg(long = "fallback", value_name = "REF")]
    pub fallbacks: Vec<String>,
    /// Where Ollama listens, e.g. `http://gpu-box:11434`; saved as models.providers.ollama.baseUrl
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Print one JSON object describing what was found and written (needs --non-interactive)
    #[arg(long, requires = "non_interactive")]
    pub json: bool,
}

/// `openclaw completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print the script for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `openclaw doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Machine-readable report
    #[arg(long)]
    pub json: bool,
    /// Apply the safe repairs (after saying what will change), then check again
    #[arg(long)]
    pub fix: bool,
}

/// `openclaw chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Model to start with (`provider/model` or an alias)
    #[arg(long, value_name = "REF")]
    pub model: Option<String>,
    /// Continue this session
    #[arg(long, value_name = "ID")]
    pub session_id: Option<String>,
    /// Thinking level for reasoning models
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub thinking: Option<ThinkingArg>,
}

/// `openclaw agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The message to send
    #[arg(short, long)]
    pub message: String,
    /// Model to use instead of the default (`provider/model` or an alias); fallbacks still apply
    #[arg(long, value_name = "REF")]
    pub model: Option<String>,
    /// Continue this session (its id is printed at the end of every turn)
    #[arg(long, value_name = "ID")]
    pub session_id: Option<String>,
    /// Ask a reasoning model to think (or not); ignored for models without reasoning
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub thinking: Option<ThinkingArg>,
    /// Print one JSON object with the answer, tool calls and model when done
    #[arg(long)]
    pub json: bool,
    /// Accepted for compatibility: the agent always runs in this process
    #[arg(long)]
    pub local: bool,
}

/// `--thinking` levels.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ThinkingArg {
    Off,
    Low,
    Medium,
    High,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a value (secrets such as apiKey and tokens are redacted)
    #[command(
        after_help = "Examples:\n  openclaw config get gateway.port\n  openclaw config get models.providers.ollama\n  openclaw config get 'agents.defaults.models[\"ollama/llama3.3\"].alias'"
    )]
    Get {
        /// Dotted path, with [n] for array items: `models.providers.ollama.baseUrl`, `a.b[0].c`
        path: String,
        /// Print JSON even for plain strings
        #[arg(long)]
        json: bool,
    },
    /// Set a value; VALUE is read as JSON5 when it parses, else as a plain string
    #[command(
        after_help = "Examples:\n  openclaw config set models.providers.ollama.apiKey \"ollama-local\"\n  openclaw config set gateway.port 19001            # stored as a number\n  openclaw config set agents.defaults.model '{primary: \"ollama/llama3.3\"}'\n\nThe file is validated before it is replaced; the previous version is kept as openclaw.json.bak."
    )]
    Set {
        path: String,
        value: String,
        /// Store VALUE as a string even if it looks like JSON5 (`true`, `123`)
        #[arg(long)]
        string: bool,
    },
    /// Remove a value
    Unset { path: String },
    /// Print the path of the config file in use
    File,
    /// Check the config: syntax, unknown keys, types; exit 1 if invalid
    Validate {
        /// Machine-readable result
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Show the model catalog (explicit providers + live Ollama discovery)
    #[command(
        after_help = "Examples:\n  openclaw models list\n  openclaw models list --all            # also the installed models left out, with the reason\n  openclaw models list --json | jq '.models[].key'\n\nOllama models are discovered live from /api/tags and /api/show when OLLAMA_API_KEY is set,\nan ollama auth profile exists, or models.providers.ollama.apiKey is set — unless\nmodels.providers.ollama lists `models`. Only models that report the `tools` capability are\nkept; `--all` shows the others with the reason.\n\nEnvironment: OLLAMA_HOST (where Ollama listens), OPENCLAW_DISCOVERY_TIMEOUT (seconds per request, default 5)."
    )]
    List(ListArgs),
    /// Default model, fallbacks, providers and whether each is reachable
    Status(StatusArgs),
    /// Set the default model (`provider/model` or an alias)
    #[command(after_help = "Example:\n  openclaw models set ollama/llama3.3")]
    Set {
        /// Model reference, e.g. `ollama/qwen2.5-coder:32b`
        model: String,
    },
    /// Manage the fallback models tried when the default fails
    #[command(subcommand)]
    Fallbacks(FallbacksCommand),
    /// Download a model into Ollama (`POST /api/pull`), with progress
    #[command(
        after_help = "Examples:\n  openclaw models pull llama3.3\n  openclaw models pull qwen2.5-coder:32b\n  openclaw models pull hf.co/bartowski/Qwen2.5-7B-Instruct-GGUF:Q4_K_M\n\nThe model shows up in `openclaw models list` right after (discovery is live), if it reports the\n`tools` capability. Ctrl-C stops the download; Ollama keeps what it has, and pulling again resumes.\nOllama is reached at models.providers.ollama.baseUrl (without /v1), else OLLAMA_HOST, else\nhttp://127.0.0.1:11434.\n\nEnvironment: OPENCLAW_PULL_IDLE_TIMEOUT (seconds without any progress before giving up, default 300)."
    )]
    Pull(PullArgs),
}

/// `openclaw models pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The model as Ollama names it: `llama3.3`, `qwen2.5-coder:32b` (an `ollama/` prefix is accepted)
    pub model: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Machine-readable output
    #[arg(long, conflicts_with = "plain")]
    pub json: bool,
    /// One model reference per line
    #[arg(long)]
    pub plain: bool,
    /// Only this provider's models
    #[arg(long, value_name = "ID")]
    pub provider: Option<String>,
    /// Only models served from this machine or the local network
    #[arg(long)]
    pub local: bool,
    /// Accepted for compatibility: discovery always runs live
    #[arg(long)]
    pub refresh: bool,
    /// Also list installed Ollama models that discovery left out, with the reason
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Machine-readable output
    #[arg(long, conflicts_with = "plain")]
    pub json: bool,
    /// Print only the default model
    #[arg(long)]
    pub plain: bool,
}

#[derive(Debug, Subcommand)]
pub enum FallbacksCommand {
    /// List the fallbacks in the order they are tried
    List {
        #[arg(long)]
        json: bool,
    },
    /// Append a fallback
    Add { model: String },
    /// Remove a fallback
    Remove { model: String },
    /// Remove all fallbacks
    Clear,
}
