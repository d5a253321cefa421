#!/usr/bin/env bash
# 10 000 concurrent joined connections against one chatd: the server's RSS
# per connection, and whether one broadcast reaches every other client.
#
#   scripts/stress.sh [CLIENTS]      (default 10000)
#
# Loopback only; the server is started on a free port with a temporary
# database and stopped by its PID; the run is bounded (chatd-bench -t).
# Prints figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

clients=${1:-10000}
cargo build --release --quiet
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

# Both processes need a descriptor per connection (chatd raises its own
# soft limit to the hard one; the shell's hard limit is what counts).
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $((clients + 200)) ]; then
    echo "stress.sh: the descriptor limit ($hard) is below $((clients + 200)); raise it (ulimit -Hn) first" >&2
    exit 2
fi
ulimit -n "$hard"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'flood_rate = 0\nmax_clients = %d\n' $((clients + 100)) >"$work/chatd.toml"
RUST_LOG=warn target/release/chatd -c "$work/chatd.toml" -l "127.0.0.1:$port" -d "$work/chatd.db" \
    </dev/null 2>"$work/chatd.log" &
pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done

line=$(timeout 600 target/release/chatd-bench -a "127.0.0.1:$port" -c "$clients" --seconds 3 --pid "$pid" -t 300 idle)
echo "$line"
echo "server RSS now: $(awk '/VmRSS/ { print $2 " kB" }' "/proc/$pid/status")"
grep -q "broadcast_reached=$((clients - 1))/$((clients - 1))" <<<"$line" \
    && echo "every client got the broadcast" || echo "NOT every client got the broadcast"
if grep -q -E 'ERROR|panicked' "$work/chatd.log"; then echo "server log has errors:"; grep -E 'ERROR|panicked' "$work/chatd.log" | head; fi
