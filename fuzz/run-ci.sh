#!/usr/bin/env bash
# Runs every fuzz target briefly: a smoke test that the targets build and that the seeds plus
# a few seconds of mutation find nothing. The long runs are documented in RELIABILITY.md.
#
#   fuzz/run-ci.sh                                  # 25 s per target: ~2 min after the build
#   FUZZ_SECONDS=600 fuzz/run-ci.sh                 # longer
#   FUZZ_RUNS=10000000 nice -n 19 fuzz/run-ci.sh    # the local run: 10 million inputs each
#   FUZZ_TARGETS="sse_decoder" fuzz/run-ci.sh       # some targets only
#   FUZZ_CORPUS=/tmp/c fuzz/run-ci.sh               # another working corpus (default fuzz/corpus)
#   FUZZ_DEV=1 fuzz/run-ci.sh                       # unoptimised build: compiles in half the
#                                                   # time, runs slower (the CI smoke test)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). libFuzzer needs nightly-only flags,
# so the stable compiler is told to accept them with RUSTC_BOOTSTRAP=1 (no nightly toolchain
# is installed on our machines). Exits non-zero on the first crash; the input is then under
# fuzz/artifacts/<target>/ and the command to replay it is printed.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-25}"
corpus="${FUZZ_CORPUS:-corpus}"
read -r -a targets <<<"${FUZZ_TARGETS:-config_load config_edit sse_decoder ndjson_decoder tool_call_args ws_frames}"
if [[ -n "${FUZZ_RUNS:-}" ]]; then
  budget=(-runs="$FUZZ_RUNS")
else
  budget=(-max_total_time="$seconds")
fi
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz/run-ci.sh: cargo-fuzz is not installed (cargo install cargo-fuzz --locked)" >&2
  exit 2
fi

# Safe Rust: AddressSanitizer finds little and halves the speed; debug assertions (overflow
# checks included) stay on.
flags=(--sanitizer none --debug-assertions)
if [[ -n "${FUZZ_DEV:-}" ]]; then
  flags+=(--dev)
fi
cargo fuzz build "${flags[@]}"

summary=()
for target in "${targets[@]}"; do
  mkdir -p "$corpus/$target"
  log="$(mktemp)"
  if ! cargo fuzz run "${flags[@]}" "$target" "$corpus/$target" "seeds/$target" -- \
      "${budget[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
      >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz/run-ci.sh: $target FAILED (input saved under fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
  took="$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -n 1 | grep -o 'in [0-9]*' | grep -o '[0-9]*' || echo "$seconds")"
  summary+=("$target: $execs execs in ${took}s, no crash")
  if [[ -n "${FUZZ_LOG_DIR:-}" ]]; then
    mkdir -p "$FUZZ_LOG_DIR" && cp "$log" "$FUZZ_LOG_DIR/$target.log"
  fi
  rm -f "$log"
done
printf 'fuzz: %s\n' "${summary[@]}"
