#!/usr/bin/env python3
"""How long `secretctl serve` takes to exit after SIGTERM while slow clients hold requests.

For each count N in (0, 40, 160): starts the server (127.0.0.1, port 0, a temporary data
dir, rate limits off), logs in once, opens one idle kept-alive connection and N connections
that each POST a 4 KiB body trickled at one byte per second (never idle long enough for
--client-timeout), waits until the server has read the first byte of each, sends SIGTERM,
and measures the time until the process has exited. Also reports whether the idle
kept-alive connection was closed at once (within 1 s of the signal), and then, over a
number of fresh servers each still receiving one slow request, what a request sent on a
kept-alive connection 0-50 ms after SIGTERM gets back: an answer, or a connection the server had closed before reading it
(never silence on an open connection).

Usage:   cargo build --release && python3 benches/shutdown_time.py [--bin PATH] [-- FLAGS...]
         FLAGS are extra `serve` flags (e.g. --shutdown-timeout 5).
Python 3.11+, standard library only, Linux only. Takes about a minute with the defaults
(each run with slow clients lasts --shutdown-timeout); an older binary without a drain
deadline takes minutes. Everything it starts it kills at exit; all traffic is on 127.0.0.1.
"""

import argparse
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "127.0.0.1"
PASSWORD = "shutdown-bench-password-4c2e"
LIMIT = 600.0  # a run is abandoned (and the server killed) after this many seconds


def request(port, method, path, body=None, token=None):
    """One request on a fresh connection; returns (status, parsed JSON or None)."""
    s = socket.create_connection((HOST, port), timeout=30)
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    s.sendall(head.encode() + b"\r\n" + data)
    out = b""
    while chunk := s.recv(65536):
        out += chunk
    s.close()
    head, _, rest = out.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    try:
        return status, json.loads(rest)
    except ValueError:
        return status, None


def run(binary, n, extra):
    tmp = tempfile.mkdtemp(prefix="secretctl-shutdown-")
    log = open(os.path.join(tmp, "server.log"), "w+")
    proc = subprocess.Popen(
        [binary, "serve", "--addr", f"{HOST}:0", "--data-dir", os.path.join(tmp, "data"),
         "--rate-limit", "0", "--auth-rate-limit", "0", "--share-rate-limit", "0", *extra],
        stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env={"PATH": os.environ["PATH"]},
    )
    try:
        line = proc.stdout.readline().decode().strip()
        port = int(line.rsplit(":", 1)[1])
        creds = {"username": "bench", "password": PASSWORD}
        assert request(port, "POST", "/register", creds)[0] == 201
        status, login = request(port, "POST", "/login", creds)
        assert status == 200, status
        token = login["token"]

        idle = socket.create_connection((HOST, port))
        idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        idle.recv(4096)

        slow = []
        head = (f"POST /secrets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                "Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n{").encode()
        for _ in range(n):
            c = socket.create_connection((HOST, port))
            c.sendall(head)
            slow.append(c)
        stop = threading.Event()

        def trickle():
            while not stop.is_set() and slow:
                for c in list(slow):
                    try:
                        c.send(b" ")
                    except OSError:
                        slow.remove(c)
                stop.wait(1.0)

        t = threading.Thread(target=trickle, daemon=True)
        t.start()
        time.sleep(1.5)  # every slow client has sent its headers and a body byte by now

        proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        idle.settimeout(5)
        try:
            idle_closed = idle.recv(1) == b"" and time.monotonic() - t0 < 1.0
        except OSError:
            idle_closed = False
        idle_after = time.monotonic() - t0
        try:
            proc.wait(timeout=LIMIT)
            exit_s = time.monotonic() - t0
        except subprocess.TimeoutExpired:
            exit_s = float("inf")
        stop.set()
        for c in slow:
            c.close()
        return exit_s, idle_closed, idle_after, proc.returncode
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def keepalive_trials(binary, trials):
    """A request sent on a kept-alive connection 0-50 ms after SIGTERM, while another
    request is still arriving: what comes back."""
    outcomes = {}
    for i in range(trials):
        tmp = tempfile.mkdtemp(prefix="secretctl-shutdown-")
        proc = subprocess.Popen(
            [binary, "serve", "--addr", f"{HOST}:0", "--data-dir", os.path.join(tmp, "data")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            env={"PATH": os.environ["PATH"]},
        )
        try:
            port = int(proc.stdout.readline().decode().strip().rsplit(":", 1)[1])
            c = socket.create_connection((HOST, port), timeout=5)
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            c.recv(4096)
            # One request still arriving keeps the server busy through the signal, as under
            # real load; it is abandoned once the outcome is known, so the server can exit.
            busy = socket.create_connection((HOST, port))
            busy.sendall(b"POST /secrets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 4096\r\n\r\n{")
            time.sleep(0.2)
            delay_ms = (i % 6) * 10
            proc.send_signal(signal.SIGTERM)
            time.sleep(delay_ms / 1000)
            try:
                c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                data = c.recv(4096)
                outcome = data.split(b"\r\n")[0].decode() if data else "closed before it was read"
            except socket.timeout:
                outcome = "NO ANSWER on an open connection"
            except OSError as e:
                outcome = f"closed before it was read ({type(e).__name__})"
            outcomes.setdefault(outcome, []).append(delay_ms)
            busy.close()
            proc.wait(timeout=LIMIT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"request on a kept-alive connection 0-50 ms after SIGTERM ({trials} trials):")
    for outcome, delays in sorted(outcomes.items()):
        print(f"  {len(delays):3} x {outcome}  (delays ms: {sorted(delays)})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "secretctl"))
    ap.add_argument("--counts", default="0,40,160")
    ap.add_argument("--keepalive-trials", type=int, default=24)
    ap.add_argument("extra", nargs="*")
    args = ap.parse_args()
    print(f"binary: {args.bin}  extra flags: {args.extra or '-'}")
    print("slow clients | exit after SIGTERM | idle keep-alive closed | exit code")
    for n in (int(x) for x in args.counts.split(",")):
        exit_s, idle_closed, idle_after, code = run(args.bin, n, args.extra)
        idle = f"yes ({idle_after * 1000:.0f} ms)" if idle_closed else f"no ({idle_after:.1f} s)"
        print(f"{n:12} | {exit_s:17.2f} s | {idle:22} | {code}", flush=True)
    if args.keepalive_trials:
        keepalive_trials(args.bin, args.keepalive_trials)


if __name__ == "__main__":
    sys.exit(main())
