#!/usr/bin/env python3
"""How long a well-behaved client waits for PONG while others abuse chatd.

Scenarios (protocol section 7, "no client can hold the server"):
  quiet   the probe alone: the floor;
  churn   NONREADERS joined clients that never read, dropped for sendq and
          rejoining, while one client broadcasts RATE messages/s of SIZE bytes;
  stream  one client streams bytes with no newline, as fast as it can.

A probe client sends PING every 10 ms and times each PONG. Prints p50, p99
and max per scenario and per binary; with two binaries (--bin A --bin B) the
runs alternate A B A B so the machine's drift hits both alike. Asserts
nothing: speed is not a test. Loopback only; every server is started on a
free port with a temporary database and stopped by its PID; every loop is
bounded in time.

  scripts/bench-isolation.py --bin target/release/chatd [--bin OTHER] [--seconds 15]
"""
import argparse
import os
import selectors
import signal
import socket
import subprocess
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Chatd:
    def __init__(self, binary):
        self.dir = tempfile.TemporaryDirectory(prefix="chatd-iso-")
        conf = os.path.join(self.dir.name, "chatd.toml")
        with open(conf, "w") as f:
            f.write("flood_rate = 0\n")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, "-c", conf, "-l", f"127.0.0.1:{self.port}", "-d", os.path.join(self.dir.name, "chatd.db")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": "error"})
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("chatd did not start")

    def connect(self, name=None):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        if name:
            s.sendall(f"JOIN {name}\n".encode())
        return s

    def stop(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.dir.cleanup()


def probe(server, stop, rtts):
    s = server.connect("probe")
    f = s.makefile("rb")
    f.readline()  # HELLO
    f.readline()  # OK JOIN
    n = 0
    while not stop.is_set():
        token = f"p{n}".encode()
        t = time.perf_counter()
        s.sendall(b"PING " + token + b"\n")
        while True:
            line = f.readline()
            if not line:
                return
            if line.rstrip() == b"PONG " + token:
                break
        rtts.append(time.perf_counter() - t)
        n += 1
        time.sleep(0.01)
    s.close()


def broadcaster(server, stop, rate, size):
    s = server.connect("bcast")
    drain = threading.Thread(target=lambda: [None for _ in iter(lambda: s.recv(65536), b"")], daemon=True)
    drain.start()
    line = b"ALL " + b"x" * (size - 6) + b"\n"
    tick = 0.01
    per_tick = max(1, int(rate * tick))
    next_t = time.perf_counter()
    while not stop.is_set():
        try:
            s.sendall(line * per_tick)
        except OSError:
            return
        next_t += tick
        time.sleep(max(0.0, next_t - time.perf_counter()))
    s.close()


def nonreaders(server, stop, count, counts):
    """Joined clients that never read; when the server drops one (a send
    fails), it comes back under a new name."""
    gen = [0]

    def fresh():
        gen[0] += 1
        s = server.connect(f"n{gen[0]:x}"[:8])
        s.setblocking(False)
        return s

    socks = [fresh() for _ in range(count)]
    while not stop.is_set():
        for i, s in enumerate(socks):
            try:
                s.send(b"PING\n")
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                counts["rejoined"] += 1
                socks[i] = fresh()
        stop.wait(0.2)
    for s in socks:
        s.close()


def streamer(server, stop):
    s = server.connect()
    chunk = b"x" * (1 << 20)
    sent = 0
    while not stop.is_set():
        try:
            s.sendall(chunk)
            sent += len(chunk)
        except OSError:
            break
    s.close()


def run(binary, scenario, args):
    server = Chatd(binary)
    stop = threading.Event()
    rtts = []
    counts = {"rejoined": 0}
    load = []
    if scenario == "churn":
        load.append(threading.Thread(target=nonreaders, args=(server, stop, args.nonreaders, counts)))
        load.append(threading.Thread(target=broadcaster, args=(server, stop, args.rate, args.size)))
    elif scenario == "stream":
        load.append(threading.Thread(target=streamer, args=(server, stop)))
    for t in load:
        t.start()
    time.sleep(1.0 if load else 0)  # let the load build up
    p = threading.Thread(target=probe, args=(server, stop, rtts))
    p.start()
    time.sleep(args.seconds)
    stop.set()
    p.join(30)
    for t in load:
        t.join(30)
    server.stop()
    rtts.sort()
    if not rtts:
        return f"{scenario:7} {binary}: no PONG at all"
    q = lambda x: rtts[min(len(rtts) - 1, int(x * len(rtts)))] * 1000
    extra = f" rejoined={counts['rejoined']}" if scenario == "churn" else ""
    return (f"{scenario:7} {binary}: pings={len(rtts)} p50={q(0.5):.2f}ms p99={q(0.99):.2f}ms "
            f"max={rtts[-1] * 1000:.2f}ms{extra}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", action="append", required=True, help="chatd binary (give two to compare)")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--nonreaders", type=int, default=500)
    ap.add_argument("--rate", type=int, default=2000, help="broadcasts per second in churn")
    ap.add_argument("--size", type=int, default=900, help="bytes per broadcast line")
    ap.add_argument("--scenarios", default="quiet,churn,stream")
    args = ap.parse_args()
    for scenario in args.scenarios.split(","):
        for r in range(args.rounds):
            for binary in args.bin:
                print(f"round {r + 1} {run(binary, scenario, args)}", flush=True)


if __name__ == "__main__":
    main()
