#!/usr/bin/env bash
# How big chatd's write-ahead log (chatd.db-wal) gets under the heaviest
# write load there is: clients storing MSGs for an offline user as fast as
# they are acknowledged (each MSG logs the message, its participants and a
# pending row, and moves the sender's clock). Prints the largest WAL size
# seen (the file is sampled every few milliseconds), the WAL bytes each
# message cost, the slowest acknowledgement (a stalled loop shows there),
# the WAL after two idle seconds, how long a restart after kill -9 took,
# and whether any command got ERR STORAGE. Asserts nothing (speed is not a
# test); protocol section 7 wants the WAL bounded, wal_limit (64 MiB by
# default) is the bound.
#
#   scripts/bench-wal.sh [SECONDS] [CLIENTS] [WINDOW] [WAL_LIMIT]
#
# SECONDS of load (default 60), from CLIENTS connections (default 1), each
# with WINDOW MSGs in flight (default 1: the next one is sent when the last
# is acknowledged). WAL_LIMIT sets wal_limit in the config (default: not
# set, so the server's default applies; a chatd without that key refuses
# it). CHATD=path runs that chatd binary instead of building this tree's,
# to compare with another version; RUST_LOG sets the server's log level
# (RUST_LOG=warn,chatd::store=debug shows every emptying of the WAL) and
# KEEP_LOG=file keeps the server's log there.
#
# Loopback only; the server is started on a free port with a temporary
# database and stopped by its PID; the run is bounded in time (SECONDS,
# at most 600) and in count (at most 5 million messages).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
clients=${2:-1}
window=${3:-1}
wal_limit=${4:-}
[ "$secs" -le 600 ] || { echo "at most 600 seconds" >&2; exit 2; }
if [ -n "${CHATD:-}" ]; then
    bin=$CHATD
else
    cargo build --release --quiet
    bin=target/release/chatd
fi
work=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && { kill "$pid" && wait "$pid"; } 2>/dev/null || true
    [ -n "${KEEP_LOG:-}" ] && cp "$work/chatd.log" "$KEEP_LOG"
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'flood_rate = 0\n' >"$work/chatd.toml"
[ -n "$wal_limit" ] && printf 'wal_limit = %s\n' "$wal_limit" >>"$work/chatd.toml"
start() {
    RUST_LOG=${RUST_LOG:-warn} "$bin" -c "$work/chatd.toml" -l "127.0.0.1:$port" -d "$work/chatd.db" \
        </dev/null 2>>"$work/chatd.log" &
    pid=$!
}
# Seconds from $1 (seconds since the epoch) until the server answers on
# its port (at most 60).
wait_up() {
    python3 - "$port" "$1" <<'EOF'
import socket, sys, time
t0 = float(sys.argv[2])
while time.time() - t0 < 60:
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
        if s.recv(100).startswith(b"HELLO"):
            print(f"{time.time() - t0:.2f}")
            sys.exit(0)
    except OSError:
        time.sleep(0.01)
sys.exit("the server did not come up within 60 s")
EOF
}
start
wait_up "$(date +%s.%N)" >/dev/null

python3 - "$port" "$work/chatd.db-wal" "$pid" "$secs" "$clients" "$window" <<'EOF'
import os, selectors, socket, sys, time

port, wal, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
secs, nclients, window = float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
MAX_MESSAGES = 5_000_000
text = "x" * 64
reply_ok = b"OK MSG bob stored\r\n"

def loop_wchar():
    # Bytes the server's event loop (its main thread) has written: WAL
    # frames (SQLite's commits) and socket replies; the checkpoint
    # thread's copies into the database file are counted on its own task.
    with open(f"/proc/{pid}/task/{pid}/io") as f:
        return int(next(l for l in f if l.startswith("wchar:")).split()[1])

def wal_size():
    try:
        return os.stat(wal).st_size
    except FileNotFoundError:
        return 0

def join(name):
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    assert f.readline().startswith(b"HELLO"), "no HELLO"
    s.sendall(f"JOIN {name}\n".encode())
    line = f.readline()
    assert line.startswith(b"OK JOIN"), line
    return s, f

# bob has joined once and is offline: every MSG to him is stored.
s, f = join("bob")
s.sendall(b"QUIT\n")
f.readline()
s.close()

sel = selectors.DefaultSelector()
clients = []
for i in range(nclients):
    s, f = join(f"s{i}")
    s.setblocking(False)
    c = {"sock": s, "buf": b"", "sent": [], "acked": 0}
    clients.append(c)
    sel.register(s, selectors.EVENT_READ, c)

line = f"MSG bob {text}\n".encode()
sent = acked = errors = storage_errors = 0
largest = wal_size()
latencies = []
wchar0 = loop_wchar()
t0 = time.monotonic()
end = t0 + secs
next_sample = t0
stopping = False

def fill(c, now):
    global sent
    while len(c["sent"]) < window and sent < MAX_MESSAGES:
        c["sock"].sendall(line)
        c["sent"].append(now)
        sent += 1

now = t0
for c in clients:
    fill(c, now)
while True:
    now = time.monotonic()
    if now >= next_sample:
        largest = max(largest, wal_size())
        next_sample = now + 0.002
    if now >= end or sent >= MAX_MESSAGES:
        stopping = True
    if stopping and all(not c["sent"] for c in clients):
        break
    if now > end + 30:
        sys.exit("replies still missing 30 s after the end")
    for key, _ in sel.select(timeout=0.002):
        c = key.data
        data = c["sock"].recv(65536)
        if not data:
            sys.exit("the server closed a connection")
        c["buf"] += data
        *lines, c["buf"] = c["buf"].split(b"\n")
        now = time.monotonic()
        for l in lines:
            if not (l.startswith(b"OK ") or l.startswith(b"ERR ")) or not c["sent"]:
                continue  # an event (another sender's JOINED), not a reply
            latencies.append(now - c["sent"].pop(0))
            if l + b"\n" == reply_ok:
                acked += 1
            elif l.startswith(b"ERR STORAGE"):
                storage_errors += 1
            else:
                errors += 1
        if not stopping:
            fill(c, now)
elapsed = time.monotonic() - t0
wal_per_msg = (loop_wchar() - wchar0 - acked * len(reply_ok)) / max(acked, 1)
latencies.sort()
p99 = latencies[int(len(latencies) * 0.99)] if latencies else 0
print(f"load: {nclients} client(s), {window} in flight each, MSG to an offline user, {elapsed:.1f} s")
print(f"stored: {acked} in {elapsed:.1f} s = {acked / elapsed:.0f} messages/s")
print(f"largest WAL seen: {largest / 1048576:.1f} MiB ({largest} bytes)")
print(f"WAL bytes per message: {wal_per_msg:.0f}")
print(f"acknowledgement: p99 {p99 * 1000:.1f} ms, slowest {latencies[-1] * 1000 if latencies else 0:.1f} ms")
print(f"ERR STORAGE: {storage_errors}{' (none)' if storage_errors == 0 else ''}; other unexpected replies: {errors}")
for c in clients:
    c["sock"].close()
time.sleep(2)
print(f"WAL after 2 s idle: {wal_size() / 1048576:.1f} MiB")
EOF

{ kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
printf 'WAL left by kill -9: %.1f MiB\n' "$(stat -c %s "$work/chatd.db-wal" 2>/dev/null | awk '{print $1 / 1048576}')"
t=$(date +%s.%N)
start
printf 'restart after kill -9: up in %s s\n' "$(wait_up "$t")"
printf 'database: %.1f MiB\n' "$(stat -c %s "$work/chatd.db" | awk '{print $1 / 1048576}')"
