#!/usr/bin/env bash
# The browser client's transport against plain TCP, with chatd-bench --ws.
#
#   scripts/bench-web.sh [--runs N]
#
# W1  100 clients each send 200 broadcasts of 64 B, 8 in flight: deliveries/s,
#     all clients on TCP (nc's transport) or all on WebSocket (the page's);
#     and deliveries per second of the server's own CPU time
# W3  5000 idle joined connections: server RSS per connection, TCP or WebSocket
# Each runs N times (default 3), transports alternating, one fresh chatd per run
# (temporary database, flood_rate = 0); the table shows medians and the
# WebSocket/TCP ratio. Server on core 0, load generator on core 1 when there
# are two. Loopback only; every server is started on free ports and stopped by
# its PID; every run has a time bound. Prints figures, asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3
while [ $# -gt 0 ]; do
    case $1 in
        --runs) runs=$2; shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "bench-web.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

cargo build --release --quiet
bench=$PWD/target/release/chatd-bench
chatd=$PWD/target/release/chatd
work=$(mktemp -d)
pid=
stop_server() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=
    fi
}
trap 'stop_server; rm -rf "$work"' EXIT

server_pin=() client_pin=()
if [ "$(nproc)" -ge 2 ]; then server_pin=(taskset -c 0); client_pin=(taskset -c 1); fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "server did not start on port $1" >&2
    return 1
}
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ n += $1 } END { printf "%.0f\n", n }'; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }

# run TRANSPORT WORKLOAD -> one chatd-bench summary line
run() {
    local transport=$1 workload=$2 args=() ws=()
    trap stop_server EXIT
    port=$(free_port) http=$(free_port)
    rm -rf "$work/chatd" && mkdir -p "$work/chatd"
    printf 'flood_rate = 0\nmax_clients = 12000\n' >"$work/chatd/chatd.toml"
    RUST_LOG=warn "${server_pin[@]}" "$chatd" -c "$work/chatd/chatd.toml" -l "127.0.0.1:$port" \
        --http "127.0.0.1:$http" -d "$work/chatd/chatd.db" </dev/null 2>"$work/chatd/log" &
    pid=$!
    wait_port "$port"
    wait_port "$http"
    local addr=127.0.0.1:$port
    if [ "$transport" = ws ]; then addr=127.0.0.1:$http ws=(--ws); fi
    case $workload in
        W1) args=(-c 100 -m 200 -s 64 -w 8 -t 120 broadcast) ;;
        W3) args=(-c 5000 --seconds 3 --pid "$pid" -t 120 idle) ;;
    esac
    local line cpu_before
    cpu_before=$(cpu_ns "$pid")
    if ! line=$(timeout 300 "${client_pin[@]}" "$bench" -a "$addr" "${ws[@]}" "${args[@]}" 2>&1); then
        line="failed: ${line##*chatd-bench: }"
    fi
    local cpu_ms=$(( ($(cpu_ns "$pid") - cpu_before) / 1000000 )) deliveries
    line+=" server_cpu_ms=$cpu_ms"
    deliveries=$(field deliveries "$line")
    if [ -n "$deliveries" ] && [ "$cpu_ms" -gt 0 ]; then
        line+=" deliveries_per_cpu_s=$(( deliveries * 1000 / cpu_ms ))"
    fi
    stop_server
    echo "$line"
}

declare -A results
for workload in W1 W3; do
    for r in $(seq "$runs"); do
        for transport in tcp ws; do
            line=$(run "$transport" "$workload")
            echo "$workload $transport run $r: $line"
            results[$workload,$transport]+="$line"$'\n'
        done
    done
done

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print v[int((NR + 1) / 2)] }'; }
figure() {
    local lines=${results[$1,$2]:-}
    { grep -v '^failed' <<<"$lines" | grep . | while read -r l; do field "$3" "$l"; done | grep . || true; } | median
}
row() {   # LABEL WORKLOAD FIELD SCALE
    local tcp ws
    tcp=$(figure "$2" tcp "$3") ws=$(figure "$2" ws "$3")
    printf '%-44s' "$1"
    for v in "$tcp" "$ws"; do
        if [ "$v" = "-" ]; then printf '%12s' "-"; else awk -v v="$v" -v k="$4" 'BEGIN { printf "%12.2f", v / k }'; fi
    done
    if [ "$tcp" = "-" ] || [ "$ws" = "-" ]; then printf '%12s\n' "-"
    else awk -v a="$ws" -v b="$tcp" 'BEGIN { printf "%12.2f\n", (b > 0 ? a / b : 0) }'; fi
}
echo
echo "medians of $runs run(s); $(nproc) cores; $( [ ${#server_pin[@]} -gt 0 ] && echo 'server on core 0, load on core 1' || echo 'unpinned')"
printf '%-44s%12s%12s%12s\n' workload tcp websocket ws/tcp
row "W1 deliveries/s (millions)" W1 deliveries_per_s 1000000
row "W1 deliveries per server CPU-s (millions)" W1 deliveries_per_cpu_s 1000000
row "W3 RSS per idle joined connection (KiB)" W3 rss_per_conn_kib 1
