#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (framing, command, irc_line, http_head) for a bounded time
# each and reports how many inputs each tried and what it found.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (SECONDS: default 60, 1 to 3600)
#
# Installs cargo-fuzz if it is missing. cargo-fuzz needs nightly compiler
# features (sanitizers, -Z flags); with only a stable toolchain they are
# unlocked with RUSTC_BOOTSTRAP=1. FUZZ_TOOLCHAIN picks a rustup toolchain
# (default: stable when rustup has it, else whatever `cargo` is).
# The seed inputs are fuzz/corpus/<target>/ (committed); what libFuzzer finds
# on the way goes to fuzz/work/<target>/ and crashing inputs to
# fuzz/artifacts/<target>/ (both ignored by git).
# Exit status: 0 if no target found anything, 1 if one did, 2 on bad usage.
# The first build of the targets takes about 4 minutes on 2 cores.
set -euo pipefail

cd "$(dirname "$0")/.."

die() { printf 'fuzz.sh: %s\n' "$*" >&2; exit 2; }

seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] && ((seconds >= 1 && seconds <= 3600)) \
    || die "SECONDS must be a whole number from 1 to 3600, not '$seconds'"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(framing command irc_line http_head)

if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found"

toolchain=()
if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then
    toolchain=("+$FUZZ_TOOLCHAIN")
elif command -v rustup >/dev/null 2>&1 && rustup run stable rustc --version >/dev/null 2>&1; then
    toolchain=(+stable)
fi
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

for t in "${targets[@]}"; do
    [ -f "fuzz/fuzz_targets/$t.rs" ] || die "no fuzz target '$t' (fuzz/fuzz_targets/$t.rs)"
done

echo "==> building fuzz targets: ${targets[*]}"
for t in "${targets[@]}"; do
    cargo "${toolchain[@]}" fuzz build "$t"
done

logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
found=0
summary=()
for t in "${targets[@]}"; do
    mkdir -p "fuzz/work/$t" "fuzz/artifacts/$t"
    log="$logdir/$t.log"
    echo "==> fuzzing $t for ${seconds}s"
    before=$(find "fuzz/artifacts/$t" -type f | sort)
    set +e
    # The outer timeout is a backstop: libFuzzer stops itself at
    # -max_total_time.
    timeout --kill-after=10 $((seconds + 120)) \
        cargo "${toolchain[@]}" fuzz run "$t" "fuzz/work/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1
    status=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    corpus=$(find "fuzz/work/$t" -type f | wc -l)
    after=$(find "fuzz/artifacts/$t" -type f | sort)
    new=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed '/^$/d')
    if [ "$status" -eq 0 ] && [ -z "$new" ]; then
        line="$t: ${execs:-?} executions (${speed:-?}/s) in ${seconds}s, corpus $corpus inputs, no findings"
    else
        found=1
        line="$t: FINDING after ${execs:-?} executions (exit status $status)"
        saved="fuzz/artifacts/$t/log-$(date +%Y%m%d-%H%M%S).txt"
        cp "$log" "$saved"
        echo "---- $t: what libFuzzer reported (whole log: $saved)"
        grep -E -A1 "panicked at" "$log" | head -10 || true
        grep -E "ERROR: libFuzzer|SUMMARY: |Test unit written to" "$log" | head -10 || true
        for f in $new; do
            echo "---- crashing input $f ($(wc -c <"$f") bytes), as hex:"
            od -An -tx1 -v "$f" | head -20
            echo "replay: RUSTC_BOOTSTRAP=1 cargo ${toolchain[*]} fuzz run $t $f"
        done
    fi
    echo "$line"
    summary+=("$line")
done

echo "==> summary"
printf '%s\n' "${summary[@]}"
exit "$found"
