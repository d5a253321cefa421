#!/usr/bin/env bash
# 50 000 concurrent joined connections against one chatd on one core: the
# server's RSS per connection, and how long one broadcast takes to reach
# every other client.
#
#   scripts/stress.sh [--vs-relay] [CLIENTS [SOURCES]]      (default 50000; SOURCES: see below)
#
# --vs-relay runs the same afterwards against `chatd-bench relay` (a bare
# mio relay that announces no joins and stores nothing): how long one
# broadcast takes when the kernel and the load generator are all there is.
#
# Loopback has about 28 000 ephemeral ports per source address
# (/proc/sys/net/ipv4/ip_local_port_range), so past 20 000 clients the load
# generator spreads its connections over source addresses 127.0.0.2,
# 127.0.0.3, ... (chatd-bench --sources: bound before connect), one per
# 20 000 unless SOURCES says how many. Each connection is a descriptor in
# the server and in the load generator: the script raises ulimit -n to
# CLIENTS + 80 (the hard limit too when it must, which needs root with
# CAP_SYS_RESOURCE; at most /proc/sys/fs/nr_open), and writes max_clients =
# CLIENTS + 16 into the run's chatd.toml (chatd lowers max_clients to its
# descriptor limit minus 64, so that fits). Every join is announced to
# every user already joined, N(N-1)/2 JOINED lines (1.25 billion at 50 000):
# RSS is measured once the last one has arrived, then 3 s later.
# Server on core 0, load generator on core 1 when there are two.
#
# Targets (reported, not asserted): RSS <= 1.5 KiB per connection; one
# broadcast reaches all the others within 2 s.
#
# Loopback only; the server is started on a free port with a temporary
# database and stopped by its PID; every wait is bounded (chatd-bench -t,
# timeout). Prints figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

vs_relay=0
if [ "${1:-}" = --vs-relay ]; then vs_relay=1; shift; fi
clients=${1:-50000} sources=${2:-auto}
if ! [[ $clients =~ ^[0-9]+$ ]] || [ "$clients" -lt 2 ] || [ "$clients" -gt 60000 ]; then
    echo "stress.sh: CLIENTS must be a number 2..60000" >&2
    exit 2
fi
if [ "$sources" != auto ] && { ! [[ $sources =~ ^[0-9]+$ ]] || [ "$sources" -gt 250 ]; }; then
    echo "stress.sh: SOURCES must be a number 0..250 (0: the kernel's choice of one address)" >&2
    exit 2
fi

# Descriptors: one per connection in each process, chatd's 64 spare.
need=$((clients + 80))
nr_open=$(cat /proc/sys/fs/nr_open)
if [ "$need" -gt "$nr_open" ]; then
    echo "stress.sh: $need descriptors needed, above /proc/sys/fs/nr_open ($nr_open)" >&2
    exit 2
fi
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
    if ! ulimit -Hn "$need" 2>/dev/null; then
        echo "stress.sh: $clients clients need a descriptor limit of $need, the hard limit is $hard and cannot be raised here" \
            "(it takes CAP_SYS_RESOURCE: ulimit -Hn $need as root); at most $((hard - 80)) clients fit" >&2
        exit 2
    fi
fi
ulimit -n "$need"

# Source addresses: one per 20 000 clients, well within the port range.
read -r port_lo port_hi </proc/sys/net/ipv4/ip_local_port_range
ports=$((port_hi - port_lo + 1))
per_source=$((ports < 20000 ? ports * 7 / 10 : 20000))
if [ "$sources" = auto ]; then
    sources=0
    [ "$clients" -gt "$per_source" ] && sources=$(((clients + per_source - 1) / per_source))
fi
addresses=$((sources > 0 ? sources : 1))
if [ "$clients" -gt $((addresses * ports)) ]; then
    echo "stress.sh: $clients clients do not fit the $ports ephemeral ports of $addresses source address(es)" >&2
    exit 2
fi

cargo build --release --quiet
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
server_pin=() client_pin=()
if [ "$(nproc)" -ge 2 ]; then server_pin=(taskset -c 0); client_pin=(taskset -c 1); fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
bound=$((clients / 50 > 300 ? clients / 50 : 300))
others=$((clients - 1))
echo "clients=$clients sources=$sources (127.0.0.2..) descriptors=$(ulimit -n) nr_open=$nr_open ports=$port_lo-$port_hi ($ports per source address) cores=$(nproc)"

# measure NAME: the idle workload against the server $pid on $port, and its figures.
measure() {
    local name=$1 start line per secs
    start=$(date +%s)
    line=$(timeout $((bound + 120)) "${client_pin[@]}" target/release/chatd-bench -a "127.0.0.1:$port" -c "$clients" \
        --sources "$sources" --seconds 3 --pid "$pid" -t "$bound" idle) || line="chatd-bench failed (rc $?)"
    echo "$name: $line"
    echo "$name: run took $(($(date +%s) - start)) s"
    awk -v n="$name" '/VmRSS|VmHWM/ { printf "%s: server %s %s kB\n", n, $1, $2 }' "/proc/$pid/status"
    if grep -q "broadcast_reached=$others/$others" <<<"$line"; then
        echo "$name: every client got the broadcast"
    else
        echo "$name: NOT every client got the broadcast"
    fi
    per=$(sed -n 's/.* rss_per_conn_kib=\([0-9.]*\).*/\1/p' <<<"$line")
    secs=$(sed -n 's/.* broadcast_secs=\([0-9.]*\).*/\1/p' <<<"$line")
    [ -n "$per" ] && awk -v n="$name" -v v="$per" 'BEGIN { printf "%s: RSS per connection %.2f KiB: target <= 1.5 KiB %s\n", n, v, (v <= 1.5 ? "met" : "NOT met") }'
    local after
    after=$(sed -n 's/.* server_rss_after_broadcast_kib=\([0-9]*\).*/\1/p' <<<"$line")
    [ -n "$after" ] && [ -n "$per" ] && awk -v n="$name" -v a="$after" -v c="$clients" -v b="$(sed -n 's/.* server_rss_before_kib=\([0-9]*\).*/\1/p' <<<"$line")" \
        'BEGIN { printf "%s: RSS per connection 2 s after the broadcast: %.2f KiB\n", n, (a - b) / c }'
    [ -n "$secs" ] && awk -v n="$name" -v v="$secs" -v o="$others" 'BEGIN { printf "%s: one broadcast to all %d others in %.2f s: target <= 2 s %s\n", n, o, v, (v <= 2 ? "met" : "NOT met") }'
    return 0
}

port=$(free_port)
printf 'flood_rate = 0\nmax_clients = %d\n' $((clients + 16)) >"$work/chatd.toml"
RUST_LOG=warn "${server_pin[@]}" target/release/chatd -c "$work/chatd.toml" -l "127.0.0.1:$port" -d "$work/chatd.db" \
    </dev/null 2>"$work/chatd.log" &
pid=$!
wait_port "$port"
measure chatd
if grep -q -E 'ERROR|WARN|panicked' "$work/chatd.log"; then echo "chatd: server log has warnings or errors:"; grep -E 'ERROR|WARN|panicked' "$work/chatd.log" | head; fi
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

if [ "$vs_relay" = 1 ]; then
    port=$(free_port)
    "${server_pin[@]}" target/release/chatd-bench -a "127.0.0.1:$port" -t $((bound + 200)) relay </dev/null >/dev/null 2>&1 &
    pid=$!
    wait_port "$port"
    measure relay
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
fi
