#!/usr/bin/env bash
# chatd's performance figures, side by side with ngIRCd when asked.
#
#   scripts/bench.sh [--vs-ngircd] [--vs-relay] [--vs-chatd BIN] [--irc] [--runs N] [--quick]
#
# Workloads (chatd-bench, one fresh server per run, store on):
#   W1  100 clients each send 200 broadcasts of 64 B, 8 in flight: deliveries/s,
#       and deliveries per second of the server's own CPU time (all its
#       threads, from /proc): how much the server does for its CPU, which
#       still compares servers when the load generator's core is the limit
#   W2  200 clients, 20 send 50 msg/s for 10 s: one-way latency p50/p99
#   W3  5000 idle joined connections: server RSS per connection
#   JS  join storm: 5000 clients join, every join announced to all
# Each workload runs N times (default 3), servers alternating when compared;
# the table shows medians. --vs-relay adds W1 and W2 against `chatd-bench
# relay`, a bare mio relay (no parsing beyond JOIN/ALL/PING, no storage):
# the load generator's own ceiling. --vs-chatd BIN runs another chatd build
# (say, main before a change) as a second server, alternating with this one.
# --irc runs W1 and W2 over IRC instead: chatd's IRC listener (irc_channel
# = #bench) and, with --vs-ngircd, ngIRCd, with the same load generator in
# its --irc mode (NICK/USER, PRIVMSG #bench, PING as acknowledgement).
# Server and load generator are pinned to
# different cores when the machine has two. Loopback only; every server is
# started on a free port and stopped by its PID; every run has a time bound.
# Prints figures, asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3 vs=0 vs_relay=0 quick=0 other= irc=0
while [ $# -gt 0 ]; do
    case $1 in
        --vs-ngircd) vs=1 ;;
        --runs) runs=$2; shift ;;
        --quick) quick=1 ;;
        --vs-relay) vs_relay=1 ;;
        --vs-chatd) other=$(realpath "$2"); shift ;;
        --irc) irc=1 ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
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

if [ "$vs" = 1 ] && ! command -v ngircd >/dev/null; then
    echo "installing Debian's ngircd (needs root)" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y --no-install-recommends ngircd </dev/null >/dev/null
    "${SUDO[@]}" systemctl stop ngircd 2>/dev/null || true
fi

cores=$(nproc)
server_pin=() client_pin=()
if [ "$cores" -ge 2 ]; then server_pin=(taskset -c 0); client_pin=(taskset -c 1); fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "server did not start on port $1" >&2
    return 1
}

start_chatd() { start_chatd_bin "$chatd"; }
start_other() { start_chatd_bin "$other"; }
start_chatd_bin() {
    port=$(free_port)
    rm -rf "$work/chatd" && mkdir -p "$work/chatd"
    printf 'flood_rate = 0\nmax_clients = 12000\n' >"$work/chatd/chatd.toml"
    RUST_LOG=warn "${server_pin[@]}" "$1" -c "$work/chatd/chatd.toml" -l "127.0.0.1:$port" \
        -d "$work/chatd/chatd.db" </dev/null 2>"$work/chatd/log" &
    pid=$!
    wait_port "$port"
}

# chatd with its IRC listener on $port (the line protocol on another port).
start_chatd_irc() {
    port=$(free_port)
    rm -rf "$work/chatd" && mkdir -p "$work/chatd"
    printf 'flood_rate = 0\nmax_clients = 12000\nirc_channel = "#bench"\n' >"$work/chatd/chatd.toml"
    RUST_LOG=warn "${server_pin[@]}" "$chatd" -c "$work/chatd/chatd.toml" -l "127.0.0.1:$(free_port)" \
        --irc-listen "127.0.0.1:$port" -d "$work/chatd/chatd.db" </dev/null 2>"$work/chatd/log" &
    pid=$!
    wait_port "$port"
}

start_ngircd() {
    port=$(free_port)
    rm -rf "$work/ngircd" && mkdir -p "$work/ngircd"
    cat >"$work/ngircd/ngircd.conf" <<EOF
[Global]
Name = bench.chatd.test
Info = bench
Listen = 127.0.0.1
Ports = $port
MotdPhrase = bench
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxNickLength = 9
MaxPenaltyTime = 0
PingTimeout = 600
PongTimeout = 600
[Options]
DNS = no
Ident = no
PAM = no
EOF
    "${server_pin[@]}" ngircd -n -f "$work/ngircd/ngircd.conf" </dev/null >"$work/ngircd/log" 2>&1 &
    pid=$!
    wait_port "$port"
}

start_relay() {
    port=$(free_port)
    "${server_pin[@]}" "$bench" -a "127.0.0.1:$port" -t 900 relay </dev/null >"$work/relay.log" 2>&1 &
    pid=$!
    wait_port "$port"
}

# CPU time a process and all its threads have used, in nanoseconds.
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ n += $1 } END { printf "%.0f\n", n }'; }

# run SERVER WORKLOAD -> one chatd-bench summary line (or "failed ...")
run() {
    local server=$1 workload=$2 proto=() args=()
    [ "$server" = ngircd ] || [ "$server" = chatd_irc ] && proto=(--irc)
    # run is called as $(run ...), a subshell the script's own EXIT trap
    # does not cover: stop this server even if the run fails half-way.
    trap stop_server EXIT
    "start_$server"
    case $workload in
        W1) args=(-c 100 -m 200 -s 64 -w 8 -t 120 broadcast) ;;
        W2) args=(-c 200 --senders 20 --rate 50 --seconds "$([ "$quick" = 1 ] && echo 3 || echo 10)" -t 120 latency) ;;
        W3) args=(-c 5000 --seconds 3 --pid "$pid" -t "$([ "$server" = ngircd ] && echo 60 || echo 120)" idle) ;;
        JS) args=(-c 5000 --pid "$pid" -t "$([ "$server" = ngircd ] && echo 60 || echo 120)" joinstorm) ;;
    esac
    local line cpu_before
    cpu_before=$(cpu_ns "$pid")
    if ! line=$(timeout 300 "${client_pin[@]}" "$bench" -a "127.0.0.1:$port" "${proto[@]}" "${args[@]}" 2>&1); then
        line="failed: ${line##*chatd-bench: }"
    fi
    # The server's own CPU time for the run: what it costs, whether or not
    # the load generator's core was the limit.
    local cpu_ms=$(( ($(cpu_ns "$pid") - cpu_before) / 1000000 )) deliveries
    line+=" server_cpu_ms=$cpu_ms"
    deliveries=$(field deliveries "$line")
    if [ -n "$deliveries" ] && [ "$cpu_ms" -gt 0 ]; then
        line+=" deliveries_per_cpu_s=$(( deliveries * 1000 / cpu_ms ))"
    fi
    stop_server
    echo "$line"
}

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }

main=chatd
[ "$irc" = 1 ] && main=chatd_irc
servers=("$main")
[ "$vs" = 1 ] && servers+=(ngircd)
[ "$vs_relay" = 1 ] && servers+=(relay)
[ -n "$other" ] && servers+=(other)
declare -A results
workloads=(W1 W2 W3 JS)
[ "$irc" = 1 ] && workloads=(W1 W2)
for workload in "${workloads[@]}"; do
    for r in $(seq "$runs"); do
        for server in "${servers[@]}"; do
            [ "$server" = relay ] && [ "$workload" != W1 ] && [ "$workload" != W2 ] && continue
            line=$(run "$server" "$workload")
            echo "$workload $server run $r: $line"
            results[$workload,$server]+="$line"$'\n'
        done
    done
done

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print v[int((NR + 1) / 2)] }'; }
figure() {   # WORKLOAD SERVER FIELD -> median of that field over the runs
    local lines=${results[$1,$2]:-}
    { grep -v '^failed' <<<"$lines" | grep . | while read -r l; do field "$3" "$l"; done | grep . || true; } | median
}

echo
echo "medians of $runs run(s); $(nproc) cores; $( [ ${#server_pin[@]} -gt 0 ] && echo 'server on core 0, load on core 1' || echo 'unpinned')"
printf '%-44s' "workload"; for s in "${servers[@]}"; do printf '%16s' "${s/relay/bare relay}"; done
[ "$vs" = 1 ] && printf '%16s' "chatd/ngircd"
[ -n "$other" ] && printf '%16s' "chatd/other"
echo
row() {   # LABEL WORKLOAD FIELD SCALE
    local label=$1 w=$2 f=$3 scale=$4
    local -A vals
    printf '%-44s' "$label"
    for s in "${servers[@]}"; do
        v=$(figure "$w" "$s" "$f")
        vals[$s]=$v
        if [ "$v" = "-" ]; then printf '%16s' "-"; else awk -v v="$v" -v k="$scale" 'BEGIN { printf "%16.2f", v / k }'; fi
    done
    if [ "$vs" = 1 ]; then
        if [ "${vals[$main]}" = "-" ] || [ "${vals[ngircd]}" = "-" ]; then printf '%16s' "-"
        else awk -v a="${vals[$main]}" -v b="${vals[ngircd]}" 'BEGIN { printf "%16.2f", (b > 0 ? a / b : 0) }'; fi
    fi
    if [ -n "$other" ]; then
        if [ "${vals[chatd]}" = "-" ] || [ "${vals[other]}" = "-" ]; then printf '%16s' "-"
        else awk -v a="${vals[chatd]}" -v b="${vals[other]}" 'BEGIN { printf "%16.2f", (b > 0 ? a / b : 0) }'; fi
    fi
    echo
}
row "W1 deliveries/s (millions)" W1 deliveries_per_s 1000000
row "W1 deliveries per server CPU-s (millions)" W1 deliveries_per_cpu_s 1000000
row "W2 latency p50 (ms)" W2 p50_ms 1
row "W2 latency p99 (ms)" W2 p99_ms 1
if [ "$irc" = 0 ]; then
    row "W3 RSS per idle joined connection (KiB)" W3 rss_per_conn_kib 1
    row "join storm 5000: seconds" JS secs 1
    row "join storm 5000: server RSS at end (MiB)" JS server_rss_mib 1
    row "join storm 5000: server RSS 2 s later (MiB)" JS server_rss_2s_later_mib 1
fi
for w in W1 W2; do
    for s in "${servers[@]}"; do
        lost=$({ grep -v '^failed' <<<"${results[$w,$s]:-}" | grep -o ' lost=[0-9]*\| dup=[0-9]*\| reordered=[0-9]*' || true; } | awk -F= '{ n += $2 } END { print n + 0 }')
        echo "$w $s: lost+duplicated+reordered over all runs = $lost"
    done
done
