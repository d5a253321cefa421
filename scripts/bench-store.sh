#!/usr/bin/env bash
# How many logged broadcasts per second chatd sustains with its SQLite store
# on (WAL, group commit, fsync by the checkpoint thread), and how many commits per second
# that took. Prints figures; asserts nothing (speed is not a test).
#
#   scripts/bench-store.sh [CLIENTS] [MESSAGES_PER_CLIENT]
#
# Loopback only; the server is started on a free port with a temporary
# database and stopped by its PID; every run is bounded in count and time.
set -euo pipefail
cd "$(dirname "$0")/.."

clients=${1:-50}
messages=${2:-400}
cargo build --release --quiet
bin=target/release
work=$(mktemp -d)
cleanup() {
    [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'flood_rate = 0\n' >"$work/chatd.toml"
RUST_LOG=warn "$bin/chatd" -c "$work/chatd.toml" -l "127.0.0.1:$port" -d "$work/chatd.db" \
    --admin-socket "$work/admin.sock" </dev/null 2>"$work/chatd.log" &
pid=$!
for _ in $(seq 50); do [ -S "$work/admin.sock" ] && break; sleep 0.1; done

# The STATS line, over the admin socket (python3 rather than nc, which not
# every machine has).
stats() {
    timeout 5 python3 - "$work/admin.sock" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"STATS\n")
print(next(l for l in s.makefile("rb") if l.startswith(b"OK STATS")).decode().strip())
EOF
}
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }

before=$(stats)
result=$(timeout 300 "$bin/chatd-bench" -a "127.0.0.1:$port" -c "$clients" -m "$messages" -w 8 -t 240 broadcast)
after=$(stats)

secs=$(sed -n 's/.* secs=\([0-9.]*\).*/\1/p' <<<"$result")
logged=$(( $(field messages_since_start <<<"$after") - $(field messages_since_start <<<"$before") ))
commits=$(( $(field commits_since_start <<<"$after") - $(field commits_since_start <<<"$before") ))
echo "$result"
awk -v l="$logged" -v c="$commits" -v s="$secs" -v b="$(field store_bytes <<<"$after")" -v w="$(field wal_bytes <<<"$after")" 'BEGIN {
    printf "store on (WAL, group commit): %d broadcasts logged in %.2f s = %.0f logged broadcasts/s\n", l, s, l / s
    printf "commits: %d in %.2f s = %.0f commits/s (%.1f messages per commit); store %.1f MiB, of which WAL %.1f MiB\n", c, s, c / s, l / (c > 0 ? c : 1), b / 1048576, w / 1048576
}'
