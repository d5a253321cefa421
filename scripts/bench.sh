#!/usr/bin/env bash
# chatd's performance figures, side by side with ngIRCd when asked.
#
#   scripts/bench.sh [--vs-ngircd] [--vs-relay] [--vs-chatd BIN] [--irc] [--runs N] [--quick]
#   scripts/bench.sh --tls [--vs-ngircd] [--runs N] [--quick]
#   scripts/bench.sh --scale [--scale-n 200,1000,4000,10000] [--scale-secs 20] [--vs-...] [--runs N]
#
# Workloads (chatd-bench, one fresh server per run, store on):
#   W1  100 clients each send 200 broadcasts of 64 B, 8 in flight: deliveries/s,
#       and deliveries per second of the server's own CPU time (all its
#       threads, from /proc): how much the server does for its CPU, which
#       still compares servers when the load generator's core is the limit
#   W2  200 clients, 20 send 50 msg/s for 10 s: one-way latency p50/p99
#   W3  5000 idle joined connections: server RSS per connection
#   JS  join storm: 5000 clients join, every join announced to all
# --scale runs the scale workload instead: for each N in --scale-n, N joined
#   users, 10 senders at 5 broadcasts/s each (50 ALL/s fanned out to N) for
#   --scale-secs; once every join is announced, the server's CPU time
#   (utime+stime, /proc/PID/stat) over that steady phase per delivery, p50/p99
#   latency, and a check that every receiver got every message once, in
#   order. ngIRCd gets 90 s for its joins and is marked when it does not
#   get through them.
# Each workload runs N times (default 3), servers alternating when compared;
# the table shows medians. --vs-relay adds W1, W2 (and scale) against `chatd-bench
# relay`, a bare mio relay (no parsing beyond JOIN/ALL/PING, no storage):
# the load generator's own ceiling. --vs-chatd BIN runs another chatd build
# (say, main before a change) as a second server, alternating with this one.
# --irc runs W1 and W2 over IRC instead: chatd's IRC listener (irc_channel
# = #bench) and, with --vs-ngircd, ngIRCd, with the same load generator in
# its --irc mode (NICK/USER, PRIVMSG #bench, PING as acknowledgement).
# --tls runs W1, W2 and W3 over TLS (a self-signed certificate made by
# scripts/dev-cert.sh in the work directory; chatd-bench --tls trusts it):
# chatd's line protocol over plain TCP and over TLS (tls_listen), chatd's
# IRC over TLS (irc_tls_listen) and, with --vs-ngircd, ngIRCd over TLS (its
# [SSL] port, the same certificate), so that IRC over TLS is compared
# protocol for protocol. W3 is then RSS per idle connection after the
# handshake (IRC: registered, in no channel), over 2000 connections.
# Server and load generator are pinned to
# different cores when the machine has two. Loopback only; every server is
# started on a free port and stopped by its PID; every run has a time bound.
# Prints figures, asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3 vs=0 vs_relay=0 quick=0 other= scale=0 scale_n=200,1000,4000,10000 scale_secs=20 irc=0 tls=0
while [ $# -gt 0 ]; do
    case $1 in
        --vs-ngircd) vs=1 ;;
        --runs) runs=$2; shift ;;
        --quick) quick=1 ;;
        --vs-relay) vs_relay=1 ;;
        --vs-chatd) other=$(realpath "$2"); shift ;;
        --scale) scale=1 ;;
        --scale-n) scale=1 scale_n=$2; shift ;;
        --scale-secs) scale=1 scale_secs=$2; shift ;;
        --irc) irc=1 ;;
        --tls) tls=1 ;;
        -h|--help) sed -n '2,41p' "$0"; exit 0 ;;
        *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

if [ "$tls" = 1 ] && { [ "$scale" = 1 ] || [ "$irc" = 1 ] || [ "$vs_relay" = 1 ] || [ -n "$other" ]; }; then
    echo "bench.sh: --tls runs its own set of servers; it goes with --vs-ngircd, --runs and --quick only" >&2
    exit 2
fi
if ! [[ $scale_n =~ ^[0-9]+(,[0-9]+)*$ ]] || ! [[ $scale_secs =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    echo "bench.sh: --scale-n takes numbers separated by commas, --scale-secs a number of seconds" >&2
    exit 2
fi
IFS=, read -r -a scale_ns <<<"$scale_n"
scale_max=$(printf '%s\n' "${scale_ns[@]}" | sort -n | tail -1)
if [ "$scale_max" -gt 50000 ] || [ "${scale_ns[0]}" -lt 11 ]; then
    echo "bench.sh: --scale-n values must be 11..50000 (10 senders and at least one receiver)" >&2
    exit 2
fi
# Each connection is a descriptor in the server and in the load generator.
if [ "$scale" = 1 ]; then
    need=$((scale_max + 300))
    if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$need" ]; then
        ulimit -Hn "$need" 2>/dev/null || { echo "bench.sh: --scale-n $scale_max needs a descriptor limit of $need (ulimit -Hn)" >&2; exit 2; }
    fi
    ulimit -n "$(ulimit -Hn)"
fi
max_clients=$(( scale_max + 100 > 12000 ? scale_max + 100 : 12000 ))

# W3's idle connections: over TLS, 2000 (each costs the server a handshake,
# some milliseconds of CPU: 5000 would take minutes a run).
w3_clients=5000
[ "$tls" = 1 ] && w3_clients=2000

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
    printf 'flood_rate = 0\nmax_clients = %d\n' "$max_clients" >"$work/chatd/chatd.toml"
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
    start_ngircd_conf
    "${server_pin[@]}" ngircd -n -f "$work/ngircd/ngircd.conf" </dev/null >"$work/ngircd/log" 2>&1 &
    pid=$!
    wait_port "$port"
}

# ngIRCd's configuration for the benchmark, listening on $port.
start_ngircd_conf() {
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
}

# The TLS certificate every TLS server presents and chatd-bench trusts.
cert=$work/cert/cert.pem key=$work/cert/key.pem
if [ "$tls" = 1 ]; then
    bash scripts/dev-cert.sh "$work/cert" >/dev/null
    chmod 0644 "$key" # ngIRCd may read it after giving up root
fi
tls_args=(--tls-cert "$cert" --tls-key "$key")

# chatd with its line protocol over TLS on $port.
start_chatd_tls() {
    port=$(free_port)
    rm -rf "$work/chatd" && mkdir -p "$work/chatd"
    printf 'flood_rate = 0\nmax_clients = %d\n' "$max_clients" >"$work/chatd/chatd.toml"
    RUST_LOG=warn "${server_pin[@]}" "$chatd" -c "$work/chatd/chatd.toml" -l "127.0.0.1:$(free_port)" \
        --tls-listen "127.0.0.1:$port" "${tls_args[@]}" -d "$work/chatd/chatd.db" </dev/null 2>"$work/chatd/log" &
    pid=$!
    wait_port "$port"
}

# chatd with its IRC listener over TLS on $port.
start_chatd_irc_tls() {
    port=$(free_port)
    rm -rf "$work/chatd" && mkdir -p "$work/chatd"
    printf 'flood_rate = 0\nmax_clients = 12000\nirc_channel = "#bench"\n' >"$work/chatd/chatd.toml"
    RUST_LOG=warn "${server_pin[@]}" "$chatd" -c "$work/chatd/chatd.toml" -l "127.0.0.1:$(free_port)" \
        --irc-tls-listen "127.0.0.1:$port" "${tls_args[@]}" -d "$work/chatd/chatd.db" </dev/null 2>"$work/chatd/log" &
    pid=$!
    wait_port "$port"
}

# ngIRCd with its SSL port on $port (and a plain one nobody uses).
start_ngircd_tls() {
    local plain
    start_ngircd_conf
    plain=$port port=$(free_port)
    sed -i "s/^Ports = .*/Ports = $plain/" "$work/ngircd/ngircd.conf"
    cat >>"$work/ngircd/ngircd.conf" <<EOF
[SSL]
CertFile = $cert
KeyFile = $key
Ports = $port
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
    [[ $server = ngircd* ]] || [[ $server = chatd_irc* ]] && proto=(--irc)
    [[ $server = *_tls ]] && proto+=(--tls --tls-ca "$cert")
    # run is called as $(run ...), a subshell the script's own EXIT trap
    # does not cover: stop this server even if the run fails half-way.
    trap stop_server EXIT
    "start_$server"
    case $workload in
        W1) args=(-c 100 -m 200 -s 64 -w 8 -t 120 broadcast) ;;
        W2) args=(-c 200 --senders 20 --rate 50 --seconds "$([ "$quick" = 1 ] && echo 3 || echo 10)" -t 120 latency) ;;
        W3) args=(-c "$w3_clients" --seconds 3 --pid "$pid" -t "$([[ $server = ngircd* ]] && echo 60 || echo 120)" idle) ;;
        JS) args=(-c 5000 --pid "$pid" -t "$([ "$server" = ngircd ] && echo 60 || echo 120)" joinstorm) ;;
        N*) args=(-c "${workload#N}" --senders 10 --rate 5 --seconds "$scale_secs" --pid "$pid"
                  -t "$([ "$server" = ngircd ] && echo 90 || echo 300)" scale) ;;
    esac
    local line cpu_before
    cpu_before=$(cpu_ns "$pid")
    if ! line=$(timeout "$(awk -v s="$scale_secs" 'BEGIN { printf "%d", 400 + s }')" "${client_pin[@]}" "$bench" -a "127.0.0.1:$port" "${proto[@]}" "${args[@]}" 2>&1); then
        line="failed: ${line##*chatd-bench: }"
    fi
    # The scale workload reads the server's CPU time itself, over its
    # steady phase only.
    if [[ $workload = N* ]]; then
        stop_server
        echo "$line"
        return
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

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print v[int((NR + 1) / 2)] }'; }
figure() {   # WORKLOAD SERVER FIELD -> median of that field over the runs
    local lines=${results[$1,$2]:-}
    { grep -v '^failed' <<<"$lines" | grep . | while read -r l; do field "$3" "$l"; done | grep . || true; } | median
}

if [ "$scale" = 1 ]; then
    # For each N, the servers alternate run by run: A B C A B C ...
    for n in "${scale_ns[@]}"; do
        for r in $(seq "$runs"); do
            for server in "${servers[@]}"; do
                line=$(run "$server" "N$n")
                echo "scale N=$n $server run $r: $line"
                results[N$n,$server]+="$line"$'\n'
            done
        done
    done
    echo
    echo "scale: 10 senders x 5 broadcasts/s to N joined users, ${scale_secs} s steady phase; medians of $runs run(s);"
    echo "$(nproc) cores; $( [ ${#server_pin[@]} -gt 0 ] && echo 'server on core 0, load on core 1' || echo 'unpinned'); server CPU = utime+stime over the steady phase"
    printf '%-8s %-10s %22s %10s %10s  %s\n' N server "CPU us per delivery" "p50 ms" "p99 ms" "every delivery once, in order"
    for n in "${scale_ns[@]}"; do
        for server in "${servers[@]}"; do
            lines=${results[N$n,$server]:-}
            good=$(grep -c ' check=ok' <<<"$lines" || true)
            failed=$(grep -c '^failed' <<<"$lines" || true)
            bad=$(grep -c ' check=FAILED' <<<"$lines" || true)
            name=${server/relay/bare relay}
            if [ "$failed" = "$runs" ]; then
                why=$(grep '^failed' <<<"$lines" | head -1)
                case $why in
                    *joining*|*timed\ out*) why="did not get through its joins (bound $([ "$server" = ngircd ] && echo 90 || echo 300) s)" ;;
                esac
                printf '%-8s %-10s %s\n' "$n" "$name" "$why"
                continue
            fi
            check="ok in $good/$runs runs"
            [ "$bad" != 0 ] && check="LOSS/DUP/REORDER in $bad/$runs runs"
            [ "$failed" != 0 ] && check+=", $failed run(s) failed"
            printf '%-8s %-10s %22s %10s %10s  %s\n' "$n" "$name" "$(figure "N$n" "$server" cpu_us_per_delivery)" \
                "$(figure "N$n" "$server" p50_ms)" "$(figure "N$n" "$server" p99_ms)" "$check"
        done
    done
    for s in ngircd relay other; do
        [[ " ${servers[*]} " = *" $s "* ]] || continue
        printf 'chatd / %-7s CPU per delivery:' "${s/relay/relay}"
        for n in "${scale_ns[@]}"; do
            a=$(figure "N$n" chatd cpu_us_per_delivery) b=$(figure "N$n" "$s" cpu_us_per_delivery)
            if [ "$a" = - ] || [ "$b" = - ]; then printf '  N=%s -' "$n"
            else awk -v n="$n" -v a="$a" -v b="$b" 'BEGIN { printf "  N=%s %.2f", n, (b > 0 ? a / b : 0) }'; fi
        done
        echo
    done
    exit 0
fi

if [ "$tls" = 1 ]; then
    # chatd over plain TCP and over TLS; IRC over TLS, chatd's and ngIRCd's.
    servers=(chatd chatd_tls chatd_irc_tls)
    [ "$vs" = 1 ] && servers+=(ngircd_tls)
    for workload in W1 W2 W3; do
        for r in $(seq "$runs"); do
            for server in "${servers[@]}"; do
                line=$(run "$server" "$workload")
                echo "$workload $server run $r: $line"
                results[$workload,$server]+="$line"$'\n'
            done
        done
    done
    echo
    echo "TLS: medians of $runs run(s); $(nproc) cores; $( [ ${#server_pin[@]} -gt 0 ] && echo 'server on core 0, load on core 1' || echo 'unpinned')"
    printf '%-42s%12s%12s%14s' workload "chatd TCP" "chatd TLS" "chatd IRC/TLS"
    [ "$vs" = 1 ] && printf '%13s' "ngIRCd TLS"
    printf '%10s' "TLS/TCP"
    [ "$vs" = 1 ] && printf '%22s' "IRC/TLS chatd/ngIRCd"
    echo
    ratio() { if [ "$1" = - ] || [ "$2" = - ]; then printf "$3" -; else awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { printf f, (b > 0 ? sprintf("%.2f", a / b) : "-") }'; fi; }
    tls_row() {   # LABEL WORKLOAD FIELD SCALE
        local label=$1 w=$2 f=$3 scale=$4 s v
        local -A vals
        printf '%-42s' "$label"
        for s in "${servers[@]}"; do
            v=$(figure "$w" "$s" "$f")
            vals[$s]=$v
            local width=12
            [ "$s" = chatd_irc_tls ] && width=14
            [ "$s" = ngircd_tls ] && width=13
            if [ "$v" = - ]; then printf "%${width}s" -; else awk -v v="$v" -v k="$scale" -v w="$width" 'BEGIN { printf "%" w ".2f", v / k }'; fi
        done
        ratio "${vals[chatd_tls]}" "${vals[chatd]}" '%10s'
        [ "$vs" = 1 ] && ratio "${vals[chatd_irc_tls]}" "${vals[ngircd_tls]}" '%22s'
        echo
    }
    tls_row "W1 deliveries/s (millions)" W1 deliveries_per_s 1000000
    tls_row "W1 deliveries per server CPU-s (millions)" W1 deliveries_per_cpu_s 1000000
    tls_row "W2 latency p50 (ms)" W2 p50_ms 1
    tls_row "W2 latency p99 (ms)" W2 p99_ms 1
    tls_row "W3 RSS per idle connection (KiB)" W3 rss_per_conn_kib 1
    for w in W1 W2; do
        for s in "${servers[@]}"; do
            lost=$({ grep -v '^failed' <<<"${results[$w,$s]:-}" | grep -o ' lost=[0-9]*\| dup=[0-9]*\| reordered=[0-9]*' || true; } | awk -F= '{ n += $2 } END { print n + 0 }')
            echo "$w $s: lost+duplicated+reordered over all runs = $lost"
        done
    done
    exit 0
fi

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
