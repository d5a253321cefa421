#!/usr/bin/env bash
# Checks conf/chatd.service and conf/chatd.socket with `systemd-analyze verify`
# and fails on any complaint (verify exits 0 on unknown keys and bad values,
# printing only a warning, so any output at all counts as a failure). Then
# checks that the service's hardening stays at systemd's "OK" exposure level.
#
# verify insists that ExecStart's binary exists. /usr/local/bin/chatd does not
# on a build machine, so the units are checked as a copy in a temporary
# directory with ExecStart pointing at a built binary: $CHATD_BIN if set, else
# target/debug/chatd or target/release/chatd (built with `cargo build` if
# neither exists). Nothing else in the units is changed.
#
# Usage: scripts/verify-units.sh        (as root it installs systemd if missing)
set -euo pipefail

cd "$(dirname "$0")/.."

die() { printf 'verify-units: %s\n' "$*" >&2; exit 1; }
say() { printf 'verify-units: %s\n' "$*"; }

# `systemd-analyze security --threshold` counts exposure from 0 (locked
# down) to 100 and prints it divided by ten; chatd.service is at 1.1 ("OK").
# 20 leaves a little room and catches a lost hardening line.
MAX_EXPOSURE=20

if ! command -v systemd-analyze >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || die "systemd-analyze not found; install it with: apt-get install -y systemd"
    say "systemd-analyze not found: installing the systemd package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends systemd </dev/null
    command -v systemd-analyze >/dev/null 2>&1 || die "systemd-analyze still missing after installing systemd"
fi

bin=${CHATD_BIN:-}
if [ -z "$bin" ]; then
    for candidate in target/debug/chatd target/release/chatd; do
        if [ -x "$candidate" ]; then bin=$candidate; break; fi
    done
fi
if [ -z "$bin" ]; then
    say "no built chatd: running cargo build --bin chatd"
    cargo build --bin chatd
    bin=target/debug/chatd
fi
[ -x "$bin" ] || die "$bin is not an executable file"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp conf/chatd.service conf/chatd.socket "$tmp/"
grep -q '^ExecStart=/usr/local/bin/chatd ' "$tmp/chatd.service" \
    || die "conf/chatd.service: ExecStart does not start /usr/local/bin/chatd"
sed -i "s|^ExecStart=/usr/local/bin/chatd |ExecStart=$bin |" "$tmp/chatd.service"

say "systemd-analyze verify chatd.service chatd.socket (ExecStart -> $bin)"
status=0
out=$(cd "$tmp" && systemd-analyze verify chatd.service chatd.socket 2>&1) || status=$?
if [ "$status" -ne 0 ] || [ -n "$out" ]; then
    printf '%s\n' "$out" >&2
    die "systemd-analyze verify complained (exit status $status)"
fi

say "systemd-analyze security --offline=true --threshold=$MAX_EXPOSURE chatd.service"
status=0
out=$(cd "$tmp" && systemd-analyze security --offline=true --threshold="$MAX_EXPOSURE" --no-pager chatd.service 2>&1) \
    || status=$?
if [ "$status" -ne 0 ]; then
    printf '%s\n' "$out" >&2
    die "chatd.service exposure is above $MAX_EXPOSURE (the table above lists each setting)"
fi
printf '%s\n' "$out" | tail -n 1

say "units are clean"
