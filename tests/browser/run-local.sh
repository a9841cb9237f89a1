#!/usr/bin/env bash
# By-hand end-to-end run of chat.test.mjs against the REAL gateway and the Ollama test server.
# The test server has no scripted tool-call or slow-streaming replies, so this run:
#   - does not require a tool call (OPENCLAW_TEST_EXPECT_TOOL=none),
#   - uses a model the test server never answers (`--hang slowpoke`, listed explicitly in a
#     temporary openclaw.json) as the "slow" model, so Stop aborts a run that has no text yet.
# CI runs the same test with a scripted model instead (see README.md).
#
#   bash tests/browser/run-local.sh        (after cargo build -p openclaw-test-support and
#                                            cargo build --release -p openclaw-cli)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
openclaw="${OPENCLAW_BIN:-$repo/target/release/openclaw}"
testserver="${OLLAMA_TEST_SERVER_BIN:-$repo/target/debug/ollama-test-server}"
for bin in "$openclaw" "$testserver"; do
  [ -x "$bin" ] || { echo "missing $bin (build it first)" >&2; exit 1; }
done
[ -d "$here/node_modules/playwright-core" ] || (cd "$here" && npm ci --no-audit --no-fund)

tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

wait_for() { # file pattern
  for _ in $(seq 1 100); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for /$2/ in $1:" >&2; cat "$1" >&2; return 1
}

"$testserver" --port 0 --fixtures --hang slowpoke >"$tmp/ollama.log" 2>&1 &
pids+=($!)
wait_for "$tmp/ollama.log" 'listening on http://127\.0\.0\.1:[0-9]+'
ollama="$(grep -oE '127\.0\.0\.1:[0-9]+' "$tmp/ollama.log" | head -1)"

mkdir -p "$tmp/state"
cat >"$tmp/state/openclaw.json" <<EOF
{
  models: { providers: { ollama: {
    baseUrl: "http://$ollama/v1", apiKey: "ollama-local", api: "openai-completions",
    models: [
      { id: "llama3.3:latest", name: "llama3.3", contextWindow: 8192 },
      { id: "slowpoke", name: "slowpoke", contextWindow: 8192 },
    ],
  } } },
  agents: { defaults: { model: { primary: "ollama/llama3.3:latest" } } },
}
EOF

OLLAMA_API_KEY=ollama-local OLLAMA_HOST="$ollama" OPENCLAW_STATE_DIR="$tmp/state" \
  "$openclaw" gateway --port 0 >"$tmp/gateway.log" 2>&1 &
pids+=($!)
wait_for "$tmp/gateway.log" '#token=[0-9A-Za-z_-]+'
url="$(grep -oE 'http://[^ ]+#token=[0-9A-Za-z_-]+' "$tmp/gateway.log" | head -1)"
echo "gateway: ${url%%#*}"

GATEWAY_URL="$url" \
OPENCLAW_TEST_EXPECT_TOOL=none \
OPENCLAW_TEST_SLOW_MODEL=ollama/slowpoke \
OPENCLAW_TEST_SLOW_STREAMS=0 \
  node --test "$here/chat.test.mjs"
echo "screenshots: $repo/target/browser/chat.png, chat-narrow.png"
