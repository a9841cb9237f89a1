//! The shape of `openclaw.json`: what we implement, plus every key the original OpenClaw
//! defines (its `src/config/zod-schema*.ts`, 2026.3–2026.9; see `openclaw_keys.md` beside this
//! file for the research), so an existing config loads with warnings instead of failing.

use super::{field, required, Field, Shape};
use crate::choices::{ExecAsk, ExecSandbox, ExecSecurity, GatewayAuthMode, ThinkingLevel};
use Shape::*;

/// Model APIs we speak.
const OUR_APIS: &[&str] = &["openai-completions", "ollama"];
/// Model APIs the original speaks that we don't yet.
const THEIR_APIS: &[&str] = &[
    "openai-responses",
    "openai-chatgpt-responses",
    "openai-codex-responses",
    "azure-openai-responses",
    "anthropic-messages",
    "google-generative-ai",
    "google-vertex",
    "google-antigravity",
    "github-copilot",
    "bedrock-converse-stream",
];

/// Model inputs; the original's newest schema adds video and audio.
const INPUT: Shape = Array(&EnumWithKnown {
    ours: &["text", "image"],
    theirs: &["video", "audio"],
});

const COST: Shape = Object(&[
    field("input", Number),
    field("output", Number),
    field("cacheRead", Number),
    field("cacheWrite", Number),
]);

const MODEL_DEFINITION: Shape = Object(&[
    required("id", String),
    field("name", String),
    field(
        "api",
        EnumWithKnown {
            ours: OUR_APIS,
            theirs: THEIR_APIS,
        },
    ),
    field("reasoning", Bool),
    field("input", INPUT),
    field("cost", COST),
    field("contextWindow", Integer),
    field("maxTokens", Integer),
    field("headers", Record(&String)),
    field("compat", Known),
    field("baseUrl", Known),
    field("contextTokens", Known),
    field("thinkingLevelMap", Known),
    field("params", Known),
    field("agentRuntime", Known),
    field("mediaInput", Known),
    field("streaming", Known),
]);

const PROVIDER: Shape = Object(&[
    field("baseUrl", String),
    field("apiKey", String),
    field(
        "api",
        EnumWithKnown {
            ours: OUR_APIS,
            theirs: THEIR_APIS,
        },
    ),
    field("headers", Record(&String)),
    field("models", Array(&MODEL_DEFINITION)),
    // Beyond the seed: slow local models need more than a short idle timeout.
    field("timeoutSeconds", Integer),
    field("auth", Known),
    field("authHeader", Known),
    field("injectNumCtxForOpenAICompat", Known),
    field("contextWindow", Known),
    field("contextTokens", Known),
    field("maxTokens", Known),
    field("region", Known),
    field("params", Known),
    field("agentRuntime", Known),
    field("localService", Known),
    field("request", Known),
    field("project", Known),
    field("location", Known),
]);

const MODELS: Shape = Object(&[
    field("mode", Enum(&["merge", "replace"])),
    field("providers", Record(&PROVIDER)),
    field("bedrockDiscovery", Known),
    field("catalogRefresh", Known),
    field("pricing", Known),
    field("proxy", Known),
]);

const MODEL_LIST: Shape = OneOf(&[String, Array(&String)]);

const MODEL_SELECTION: Shape = OneOf(&[
    String,
    Object(&[
        field("primary", String),
        field("fallbacks", Array(&String)),
        // OpenClaw's Ollama page spells it `fallback`; accept both.
        field("fallback", MODEL_LIST),
    ]),
]);

const MODEL_ENTRY: Shape = Object(&[
    field("alias", String),
    field("params", Record(&Any)),
    field("streaming", Known),
    field("agentRuntime", Known),
    field("pickerRuntimes", Known),
    field("codeMode", Known),
]);

const MEMORY_SEARCH: Shape = Object(&[
    field("enabled", Bool),
    field("provider", String),
    field("model", String),
    field(
        "remote",
        Object(&[
            field("baseUrl", String),
            field("apiKey", String),
            field("headers", Record(&String)),
            field("batch", Known),
        ]),
    ),
    field(
        "query",
        Object(&[
            field("maxResults", Integer),
            field("minScore", Number),
            field(
                "hybrid",
                Object(&[
                    field("enabled", Bool),
                    field("vectorWeight", Number),
                    field("textWeight", Number),
                    field("candidateMultiplier", Known),
                    field("mmr", Known),
                    field("temporalDecay", Known),
                ]),
            ),
        ]),
    ),
    field("fallback", Known),
    field("extraPaths", Known),
    field("sources", Known),
    field("experimental", Known),
    field("cache", Known),
    field("local", Known),
    field("multimodal", Known),
    field("store", Known),
    field("sync", Known),
    field("chunking", Known),
    field("rememberAcrossConversations", Known),
    field("inputType", Known),
    field("queryInputType", Known),
    field("documentInputType", Known),
    field("outputDimensionality", Known),
]);

const AGENT_DEFAULTS: &[Field] = &[
    field("model", MODEL_SELECTION),
    field("models", Record(&MODEL_ENTRY)),
    field("workspace", String),
    field("timeoutSeconds", Integer),
    field("contextTokens", Integer),
    field(
        "thinkingDefault",
        EnumWithKnown {
            ours: ThinkingLevel::VALUES,
            theirs: ThinkingLevel::IGNORED,
        },
    ),
    field("params", Known),
    field("modelSelectionScope", Known),
    field("utilityModel", Known),
    field("imageModel", Known),
    field("imageGenerationModel", Known),
    field("mediaModels", Known),
    field("voiceModel", Known),
    field("pdfModel", Known),
    field("pdfMaxMb", Known),
    field("pdfMaxBytesMb", Known),
    field("pdfMaxPages", Known),
    field("modelPolicy", Known),
    field("cwd", Known),
    field("skills", Known),
    field("silentReply", Known),
    field("repoRoot", Known),
    field("skipBootstrap", Bool),
    field("skipOptionalBootstrapFiles", Known),
    field("contextInjection", Known),
    field("bootstrapMaxChars", Integer),
    field("bootstrapTotalMaxChars", Integer),
    // Ours: the share of the context the system prompt may take (default 0.25).
    field("promptShare", Number),
    field("bootstrapPromptTruncationWarning", Known),
    field("experimental", Known),
    field("userTimezone", Known),
    field("timeFormat", Known),
    field("envelopeTimezone", Known),
    field("envelopeTimestamp", Known),
    field("envelopeElapsed", Known),
    field("cliBackends", Known),
    field("memorySearch", MEMORY_SEARCH),
    field("startupContext", Known),
    field("contextLimits", Known),
    field("contextPruning", Known),
    field("compaction", Known),
    field("embeddedAgent", Known),
    field("embeddedPi", Known),
    field("fastModeDefault", Known),
    field("verboseDefault", Known),
    field("toolProgressDetail", Known),
    field("reasoningDefault", Known),
    field("elevatedDefault", Known),
    field("blockStreamingDefault", Known),
    field("blockStreamingBreak", Known),
    field("blockStreamingChunk", Known),
    field("blockStreamingCoalesce", Known),
    field("humanDelay", Known),
    field("mediaMaxMb", Known),
    field("imageMaxDimensionPx", Known),
    field("imageQuality", Known),
    field("typingIntervalSeconds", Known),
    field("typingMode", Known),
    field("heartbeat", Known),
    field("systemAgent", Known),
    field("authInheritance", Known),
    field("sessionStore", Known),
    field("maxConcurrent", Known),
    field("subagents", Known),
    field("additionalSystemPrompt", Known),
    field("sandbox", Known),
];

const AGENTS: Shape = Object(&[
    field("defaults", Object(AGENT_DEFAULTS)),
    field("list", Known),
    field("entries", Known),
    field("ownership", Known),
]);

const GATEWAY_AUTH: Shape = Object(&[
    field(
        "mode",
        EnumWithKnown {
            ours: GatewayAuthMode::IMPLEMENTED,
            theirs: GatewayAuthMode::NOT_IMPLEMENTED,
        },
    ),
    field("token", String),
    field("password", Known),
    field("allowTailscale", Known),
    field("trustedProxy", Known),
    field("rateLimit", Known),
]);

const GATEWAY: Shape = Object(&[
    field("port", Integer),
    field("bind", String),
    field("auth", GATEWAY_AUTH),
    field("mode", Known),
    field("customBindHost", Known),
    field(
        "controlUi",
        Object(&[
            field("allowedOrigins", Array(&String)),
            field("enabled", Known),
            field("basePath", Known),
            field("root", Known),
            field("embedSandbox", Known),
            field("allowExternalEmbedUrls", Known),
            field("chatMessageMaxWidth", Known),
            field("dangerouslyAllowHostHeaderOriginFallback", Known),
            field("allowInsecureAuth", Known),
            field("dangerouslyDisableDeviceAuth", Known),
        ]),
    ),
    field("http", Known),
    field("trustedProxies", Known),
    field("allowRealIpFallback", Known),
    field("tools", TOOLS),
    field("webchat", Known),
    field("handshakeTimeoutMs", Known),
    field("channelHealthCheckMinutes", Known),
    field("channelStaleEventThresholdMinutes", Known),
    field("channelMaxRestartsPerHour", Known),
    field("tls", Known),
    field("remote", Known),
    field("reload", Known),
    field("tailscale", Known),
    field("push", Known),
    field("nodes", Known),
]);

const TOOLS_EXEC: Shape = Object(&[
    field("security", Enum(ExecSecurity::VALUES)),
    field("ask", Enum(ExecAsk::VALUES)),
    field("safeBins", Array(&String)),
    field("timeoutSeconds", Integer),
    field("timeoutSec", Integer),
    field("sandbox", Enum(ExecSandbox::VALUES)),
    field("network", Bool),
    field("host", Known),
    field("mode", Known),
    field("node", Known),
    field("pathPrepend", Known),
    field("strictInlineEval", Known),
    field("commandHighlighting", Known),
    field("grantExpiryDays", Known),
    field("safeBinTrustedDirs", Known),
    field("safeBinProfiles", Known),
    field("reviewer", Known),
    field("backgroundMs", Known),
    field("approvalRunningNoticeMs", Known),
    field("cleanupMs", Known),
    field("notifyOnExit", Known),
    field("notifyOnExitEmptySuccess", Known),
    field("applyPatch", Known),
]);

const TOOLS: Shape = Object(&[
    field("exec", TOOLS_EXEC),
    field("profile", Known),
    field("allow", Known),
    field("alsoAllow", Known),
    field("deny", Known),
    field("byProvider", Known),
    field("toolsBySender", Known),
    field("web", Known),
    field("github", Known),
    field("media", Known),
    field("links", Known),
    field("sessions", Known),
    field("loopDetection", Known),
    field("toolSearch", Known),
    field("codeMode", Known),
    field("swarm", Known),
    field("message", Known),
    field("agentToAgent", Known),
    field("elevated", Known),
    field("fs", Known),
    field("subagents", Known),
    field("sandbox", Known),
    field("sessions_spawn", Known),
    field("updatePlan", Known),
    field("experimental", Known),
]);

/// The whole file.
pub const ROOT: Shape = Object(&[
    field("$schema", String),
    field("models", MODELS),
    field("agents", AGENTS),
    field("gateway", GATEWAY),
    field("meta", Known),
    field("env", Known),
    field("wizard", Known),
    field("diagnostics", Known),
    field("logging", Known),
    field("cli", Known),
    field("crestodian", Known),
    field("update", Known),
    field("browser", Known),
    field("ui", Known),
    field("secrets", Known),
    field("auth", Known),
    field("accessGroups", Known),
    field("acp", Known),
    field("nodeHost", Known),
    field("tools", TOOLS),
    field("security", Known),
    field("bindings", Known),
    field("broadcast", Known),
    field("audio", Known),
    field("media", Known),
    field("messages", Known),
    field("commands", Known),
    field("approvals", Known),
    field("session", Known),
    field("cron", Known),
    field("tasks", Known),
    field("commitments", Known),
    field("hooks", Known),
    field("web", Known),
    field("channels", Known),
    field("discovery", Known),
    field("canvasHost", Known),
    field("talk", Known),
    field(
        "memory",
        Object(&[
            field("search", MEMORY_SEARCH),
            field("backend", Known),
            field("citations", Known),
            field("qmd", Known),
        ]),
    ),
    field("mcp", Known),
    field("skills", Known),
    field("plugins", Known),
    field("surfaces", Known),
    field("proxy", Known),
]);
