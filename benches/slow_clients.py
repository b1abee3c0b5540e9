#!/usr/bin/env python3
"""Slow-client and connection-exhaustion measurements against a real release server.

Starts `target/release/secretctl serve` itself (127.0.0.1, port 0, a temporary data dir,
rate limits off so the limiter does not mask what is measured), seeds a user and two
secrets, then runs these scenarios one after another, each bounded in time:

  1  baseline        50 sequential GET /secrets/{id}, a fresh connection each
  2  slowloris       500 connections that send a partial header, then one byte every 2 s
  2b burst           idle and legitimate connections accepted in the same burst
  3  slow bodies     --workers 8: POSTs whose body trickles 1 byte/s; Content-Length 1000
                     (W and 5W+1 of them) and 4096 (W-1, W, W+1, 5W = workers + queue, 5W+1)
  4  idle flood      2000 connections that send nothing; then the thread count afterwards
  4b idle flood      600 idle connections against a server whose fd limit is 1024 (a
                     common default soft limit)
  5  slow readers    --workers 8: GETs of a 64 KiB secret that are never read
  6  big header      one connection sending 64 MiB of header line with no CRLF

During each, legitimate GET /secrets/{id} requests are timed (per-request timeout 5 s)
and the server's thread count and RSS are read from /proc/PID/status.

Usage:   cargo build --release --features test-hooks && python3 benches/slow_clients.py
         (test-hooks: the servers run with the test-only --insecure-fast-kdf for quick setup)
Python 3.11+, standard library only, Linux only (/proc). Runs in about 2 minutes.
Everything it starts it kills at exit; all traffic goes to 127.0.0.1.
"""

import atexit
import collections
import concurrent.futures as cf
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "secretctl")
HOST = "127.0.0.1"
GET_TIMEOUT = 5.0
SLOW_WORKERS = 8
USERNAME = "bench-user"
PASSWORD = "slow-clients-bench-pw-7d1f"

# --------------------------------------------------------------------------- plumbing

_servers = []
_tmpdirs = []


def _cleanup():
    for s in _servers:
        s.stop()
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)
for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, lambda *_: sys.exit(130))


def raise_own_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 6000 if hard == resource.RLIM_INFINITY else min(hard, 6000)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Server:
    """One `secretctl serve` process with a seeded user and secrets."""

    def __init__(self, workers, nofile=None):
        self.workers = workers
        self.dir = tempfile.mkdtemp(prefix="secretctl-slow-")
        _tmpdirs.append(self.dir)
        out = os.path.join(self.dir, "stdout")
        self.log = os.path.join(self.dir, "stderr.log")
        def preexec():
            if nofile is not None:
                _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))
        cmd = [BIN, "serve", "--addr", f"{HOST}:0",
               "--data-dir", os.path.join(self.dir, "d"), "--insecure-fast-kdf",
               "--rate-limit", "0", "--auth-rate-limit", "0", "--share-rate-limit", "0",
               "--workers", str(workers)]
        with open(out, "wb") as o, open(self.log, "wb") as e:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                                         preexec_fn=preexec)
        _servers.append(self)
        deadline = time.monotonic() + 15
        self.port = None
        while time.monotonic() < deadline and self.port is None:
            with open(out) as f:
                line = f.readline()
            if line.endswith("\n") and "listening on http://" in line:
                self.port = int(line.strip().rsplit(":", 1)[1])
            elif self.proc.poll() is not None:
                break
            else:
                time.sleep(0.05)
        if self.port is None:
            self.stop()
            sys.exit(f"server did not start; see {self.log}")
        self.seed()

    def seed(self):
        st, _ = request(self.port, "POST", "/register",
                        {"username": USERNAME, "password": PASSWORD})
        assert st in (200, 201), f"register: {st}"
        st, body = request(self.port, "POST", "/login",
                           {"username": USERNAME, "password": PASSWORD})
        assert st == 200, f"login: {st}"
        self.token = json.loads(body)["token"]
        st, body = request(self.port, "POST", "/secrets",
                           {"name": "small", "value": "s" * 32}, token=self.token)
        assert st in (200, 201), f"create small: {st}"
        self.small = json.loads(body)["id"]
        st, body = request(self.port, "POST", "/secrets",
                           {"name": "large", "value": "L" * 65536}, token=self.token)
        assert st in (200, 201), f"create large: {st}"
        self.large = json.loads(body)["id"]

    def status(self):
        """(threads, RSS MiB) from /proc, or (None, None) if gone."""
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                fields = dict(l.split(":", 1) for l in f if ":" in l)
            return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) / 1024
        except (OSError, KeyError, ValueError):
            return None, None

    def fds(self):
        try:
            return len(os.listdir(f"/proc/{self.proc.pid}/fd"))
        except OSError:
            return None

    def accept_errors(self):
        try:
            with open(self.log, errors="replace") as f:
                return [l.strip() for l in f if "accept error" in l or "panicked" in l
                        or "Too many open files" in l]
        except OSError:
            return []

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def request(port, method, path, body=None, token=None, timeout=GET_TIMEOUT):
    """One request on a fresh connection. Returns (status, body) where status is an int,
    'timeout' or 'error'."""
    deadline = time.monotonic() + timeout
    data = b"" if body is None else json.dumps(body).encode()
    head = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: close"]
    if token:
        head.append(f"Authorization: Bearer {token}")
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    raw = ("\r\n".join(head) + "\r\n\r\n").encode() + data
    try:
        s = socket.create_connection((HOST, port), timeout=timeout)
    except socket.timeout:
        return "timeout", b""
    except ConnectionRefusedError:
        return "refused", b""
    except OSError:
        return "error", b""
    buf = b""
    try:
        s.sendall(raw)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout", b""
            s.settimeout(left)
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            if b"\r\n\r\n" in buf:
                hdr, _, rest = buf.partition(b"\r\n\r\n")
                cl = [l for l in hdr.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if cl and len(rest) >= int(cl[0].split(b":")[1]):
                    break
    except socket.timeout:
        return "timeout", b""
    except ConnectionResetError:
        if not buf:
            return "reset", b""
    except OSError:
        if not buf:
            return "error", b""
    finally:
        s.close()
    try:
        status = int(buf.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return "error", b""
    return status, buf.partition(b"\r\n\r\n")[2]


def timed_get(srv, sid=None, timeout=GET_TIMEOUT):
    t = time.monotonic()
    st, _ = request(srv.port, "GET", f"/secrets/{sid or srv.small}", token=srv.token,
                    timeout=timeout)
    return st, (time.monotonic() - t) * 1000


class Probe:
    """Outcome of a batch of legitimate GETs."""

    def __init__(self, results):
        self.n = len(results)
        self.ok = [ms for st, ms in results if st == 200]
        self.n503 = sum(1 for st, _ in results if st == 503)
        self.ms503 = [ms for st, ms in results if st == 503]
        self.timeouts = sum(1 for st, _ in results if st == "timeout")
        self.errors = sum(1 for st, _ in results if st not in (200, 503, "timeout"))
        self.kinds = dict(collections.Counter(str(st) for st, _ in results))

    def cells(self):
        ok = self.ok
        p50 = f"{statistics.median(ok):.1f}" if ok else "-"
        mx = f"{max(ok):.1f}" if ok else "-"
        return [f"{len(ok)}/{self.n}", str(self.n503), str(self.timeouts), str(self.errors),
                p50, mx]


def probe_sequential(srv, n=50, timeout=GET_TIMEOUT, budget=None):
    """n GETs one after another; stops early once `budget` seconds have gone."""
    start = time.monotonic()
    res = []
    for _ in range(n):
        if budget is not None and time.monotonic() - start > budget:
            break
        res.append(timed_get(srv, timeout=timeout))
    return Probe(res)


def probe_concurrent(srv, n=10, timeout=GET_TIMEOUT):
    """n GETs at once (wall time at most `timeout`)."""
    with cf.ThreadPoolExecutor(n) as ex:
        return Probe(list(ex.map(lambda _: timed_get(srv, timeout=timeout), range(n))))


class Trickler(threading.Thread):
    """Sends one byte to every socket every `interval` seconds until stopped."""

    def __init__(self, socks, interval, byte=b"a"):
        super().__init__(daemon=True)
        self.socks, self.interval, self.byte = socks, interval, byte
        self.stop_ev = threading.Event()
        self.sent = 0

    def run(self):
        while not self.stop_ev.wait(self.interval):
            for s in list(self.socks):
                try:
                    s.send(self.byte)
                    self.sent += 1
                except OSError:
                    pass

    def stop(self):
        self.stop_ev.set()
        self.join(timeout=5)


def open_conns(port, n, first=b"", rcvbuf=None, pace_s=0.0):
    """n connections, each sending `first` once, `pace_s` apart. Returns (sockets,
    connect failures)."""
    socks, failed = [], 0
    for _ in range(n):
        if pace_s:
            time.sleep(pace_s)
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.settimeout(5)
            s.connect((HOST, port))
            if first:
                s.sendall(first)
            socks.append(s)
        except OSError:
            failed += 1
            try:
                s.close()
            except OSError:
                pass
    return socks, failed


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass
    socks.clear()


def answered(socks):
    """How many of `socks` have received bytes (or EOF/reset) from the server; and how
    many of those answers were a 503."""
    got, n503 = 0, 0
    for s in socks:
        s.setblocking(False)
        try:
            data = s.recv(4096)
            got += 1
            if data.startswith(b"HTTP/1.1 503") or data.startswith(b"HTTP/1.0 503"):
                n503 += 1
        except BlockingIOError:
            pass
        except OSError:
            got += 1
        finally:
            s.setblocking(True)
    return got, n503


def recovery(srv, limit_s=10.0):
    """Polls GET until one returns 200. Returns (ms until then or None, statuses seen)."""
    t0 = time.monotonic()
    seen = []
    while time.monotonic() - t0 < limit_s:
        st, _ = timed_get(srv, timeout=max(0.5, min(2.0, limit_s - (time.monotonic() - t0))))
        if st == 200:
            return (time.monotonic() - t0) * 1000, seen
        seen.append(st)
        time.sleep(0.2)
    return None, seen


def recovery_text(srv, limit_s=10.0):
    ms, seen = recovery(srv, limit_s)
    first = f" (first failures: {dict(collections.Counter(map(str, seen)))})" if seen else ""
    if ms is None:
        return f"GETs still failing after {limit_s:.0f} s{first}"
    return f"first 200 after {ms:.0f} ms{first}"


def wait_threads(srv, target, limit_s):
    """Polls the thread count until it is <= target or limit_s passes. Returns
    (threads, seconds waited)."""
    t0 = time.monotonic()
    while True:
        th, _ = srv.status()
        if th is None or th <= target or time.monotonic() - t0 >= limit_s:
            return th, time.monotonic() - t0
        time.sleep(0.5)


# --------------------------------------------------------------------------- table

HEADER = ["scenario", "held", "GET ok", "503", "t/o", "err", "p50 ms", "max ms",
          "threads", "RSS MiB"]
ROWS = []
NOTES = []
FACTS = {}


def row(name, held, probe, srv, threads=None, rss=None):
    if threads is None:
        threads, rss = srv.status()
    r = [name, str(held)] + probe.cells() + [
        "-" if threads is None else str(threads), "-" if rss is None else f"{rss:.1f}"]
    ROWS.append(r)
    print("  " + " | ".join(r), flush=True)


def note(text):
    NOTES.append(text)
    print("  note: " + text, flush=True)


def print_table():
    widths = [max(len(HEADER[i]), *(len(r[i]) for r in ROWS)) for i in range(len(HEADER))]
    fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                              for i, (c, w) in enumerate(zip(r, widths)))
    print(fmt(HEADER))
    print("  ".join("-" * w for w in widths))
    for r in ROWS:
        print(fmt(r))


# --------------------------------------------------------------------------- scenarios

def s1_baseline(srv):
    print("[1] baseline", flush=True)
    p = probe_sequential(srv, 50)
    row("1 baseline (workers 32)", 0, p, srv)
    FACTS["base_p50"] = statistics.median(p.ok) if p.ok else None


def s2_slowloris(srv, n=500, hold_s=8.0):
    print(f"[2] slowloris: {n} connections, partial header, 1 byte / 2 s", flush=True)
    th0, rss0 = srv.status()
    partial = (f"GET /secrets/{srv.small} HTTP/1.1\r\nHost: {HOST}\r\nX-Slow: ").encode()
    socks, failed = open_conns(srv.port, n, partial)
    tr = Trickler(socks, 2.0)
    tr.start()
    time.sleep(1.0)
    # 50 GETs spread over hold_s, so the trickle runs while they are measured.
    res, t0 = [], time.monotonic()
    for i in range(50):
        time.sleep(max(0.0, t0 + i * hold_s / 50 - time.monotonic()))
        res.append(timed_get(srv))
    p = Probe(res)
    th, rss = srv.status()
    got, _ = answered(socks)
    row(f"2 slowloris x{n}", len(socks), p, srv, th, rss)
    FACTS["loris"] = (len(p.ok), p.n, statistics.median(p.ok) if p.ok else None,
                      th - th0, len(socks))
    # Idle tiny_http threads (4) take the first connections; beyond that each connection
    # should add one thread. Fewer means connections waiting in the TaskPool queue unread.
    unthreaded = max(0, len(socks) - 4 - (th - th0))
    tr.stop()
    note(f"slowloris: threads {th0} -> {th} (+{th - th0}), RSS {rss0:.1f} -> {rss:.1f} MiB "
         f"({(rss - rss0) * 1024 / max(1, len(socks)):.0f} KiB/conn); {failed} connect "
         f"failures; {got} slow connections answered or closed by the server; "
         f"{tr.sent} trickle bytes sent over {time.monotonic() - t0 + 1:.0f} s; "
         f"~{unthreaded} connections had no thread (queued unread in tiny_http's pool)")
    close_all(socks)
    th_after, waited = wait_threads(srv, th0, 15)
    note(f"slowloris: after closing them, threads {th_after} within {waited:.1f} s")


def s2b_burst_starvation(modes=("natural", "compressed", "natural", "compressed"),
                         idle=16, legit=8, wait_s=2.0):
    """Legitimate connections accepted in the same burst as idle ones, on a fresh server
    (tiny_http's pool then has 4 idle threads, as after any quiet period). The pool queues
    a new connection instead of starting a thread while it counts idle threads, and a
    thread stops counting as idle only once it has woken up; connections queued in that
    window wait, unread, until some connection thread finishes. 'compressed' pauses the
    server (SIGSTOP) while the burst connects, so that the accept thread takes the whole
    burst at once, as after any moment the process was not scheduled."""
    print(f"[2b] bursts of {idle} idle + {legit} legitimate connections, interleaved, "
          f"each on a fresh server", flush=True)
    per_trial, all_res = [], []
    every = (idle + legit) // legit
    for mode in modes:
        srv = Server(32)
        req = (f"GET /secrets/{srv.small} HTTP/1.1\r\nHost: {HOST}\r\n"
               f"Connection: close\r\nAuthorization: Bearer {srv.token}\r\n\r\n").encode()
        th0, _ = srv.status()
        idle_socks, legit_socks = [], []
        if mode == "compressed":
            os.kill(srv.proc.pid, signal.SIGSTOP)
        try:
            for i in range(idle + legit):
                s = socket.create_connection((HOST, srv.port), timeout=5)
                (legit_socks if i % every == every - 1 and len(legit_socks) < legit
                 else idle_socks).append(s)
            for s in legit_socks:
                s.sendall(req)
        finally:
            if mode == "compressed":
                os.kill(srv.proc.pid, signal.SIGCONT)
        t0 = time.monotonic()
        pending, done = list(legit_socks), []
        while pending and time.monotonic() - t0 < wait_s:
            for s in list(pending):
                s.settimeout(0.01)
                try:
                    data = s.recv(16)
                except (socket.timeout, BlockingIOError):
                    continue
                except OSError:
                    data = b""
                ms = (time.monotonic() - t0) * 1000
                done.append((200 if data.startswith(b"HTTP/1.1 200") else "error", ms))
                pending.remove(s)
        res = done + [("timeout", wait_s * 1000)] * len(pending)
        th, rss = srv.status()
        # Starved requests were queued, not lost: they are served once the idle ones close.
        close_all(idle_socks)
        late = 0
        for s in pending:
            s.settimeout(1.0)
            try:
                late += s.recv(16).startswith(b"HTTP/1.1 200")
            except OSError:
                pass
        per_trial.append(f"{mode} {sum(1 for r in res if r[0] == 200)}/{legit} "
                         f"(threads {th0}->{th}"
                         + (f"; {late} more answered once the idle ones closed)"
                            if pending else ")"))
        all_res += res
        close_all(legit_socks)
        srv.stop()
    p = Probe(all_res)
    FACTS["burst"] = (len(p.ok), p.n, per_trial)
    row(f"2b burst {idle} idle+{legit} legit x{len(modes)}", idle, p, None, th, rss)
    note(f"burst starvation: legitimate requests answered within {wait_s:.0f} s per burst: "
         + ", ".join(per_trial))


def slow_body_conns(srv, n, length):
    head = (f"POST /secrets HTTP/1.1\r\nHost: {HOST}\r\n"
            f"Authorization: Bearer {srv.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n{{").encode()
    # Paced, so that every connection gets its own tiny_http thread (see scenario 2b).
    return open_conns(srv.port, n, head, pace_s=0.02)


def s3_slow_bodies():
    w = SLOW_WORKERS
    print(f"[3] slow bodies: --workers {w} (queue {4 * w}), body trickled 1 byte/s",
          flush=True)
    cases = [(1000, n) for n in (w, 5 * w + 1)] + \
            [(4096, n) for n in (w - 1, w, w + 1, 5 * w, 5 * w + 1)]
    for length, n in cases:
        srv = Server(w)
        th0, _ = srv.status()
        socks, failed = slow_body_conns(srv, n, length)
        tr = Trickler(socks, 1.0)
        tr.start()
        time.sleep(0.5)
        p = probe_concurrent(srv, 10)
        th, rss = srv.status()
        got, n503 = answered(socks)
        row(f"3 slow bodies x{n}, CL {length}", len(socks), p, srv, th, rss)
        FACTS[("body", length, n)] = (len(p.ok), p.n503, p.timeouts, p.n)
        extra = f", 503 p50 {statistics.median(p.ms503):.1f} ms" if p.ms503 else ""
        note(f"slow bodies x{n} (Content-Length {length}, W={w}): 10 concurrent GETs "
             f"-> {p.kinds}{extra}; {got} of the slow POSTs answered so far "
             f"({n503} of them 503); server threads {th0} -> {th}")
        tr.stop()
        close_all(socks)
        note(f"slow bodies x{n} (Content-Length {length}): after closing them, "
             f"{recovery_text(srv)}")
        srv.stop()


def s4_idle_flood(srv, n=2000):
    print(f"[4] idle flood: {n} connections sending nothing", flush=True)
    th0, rss0 = srv.status()
    t0 = time.monotonic()
    socks, failed = open_conns(srv.port, n)
    opened_s = time.monotonic() - t0
    time.sleep(1.0)
    th, rss = srv.status()
    p = probe_sequential(srv, 50, budget=40)
    row(f"4 idle flood x{n}", len(socks), p, srv, th, rss)
    FACTS["idle"] = (len(p.ok), p.n, statistics.median(p.ok) if p.ok else None,
                     th - th0, rss - rss0, len(socks))
    note(f"idle flood: {len(socks)} open ({failed} failed) in {opened_s:.1f} s; threads "
         f"{th0} -> {th} (+{th - th0}); RSS {rss0:.1f} -> {rss:.1f} MiB "
         f"({(rss - rss0) * 1024 / max(1, len(socks)):.0f} KiB/conn)")
    close_all(socks)
    th_after, waited = wait_threads(srv, th0, 15)
    _, rss_after = srv.status()
    FACTS["idle_back"] = (th_after, th0, waited)
    note(f"idle flood: after closing them, threads {th} -> {th_after} within {waited:.1f} s "
         f"(before the flood {th0}); RSS {rss_after:.1f} MiB")


def s4b_fd_limit(nofile=1024, n=600):
    print(f"[4b] idle flood x{n} against a server with RLIMIT_NOFILE={nofile}", flush=True)
    srv = Server(32, nofile=nofile)
    th0, _ = srv.status()
    before = probe_sequential(srv, 5)
    socks, failed = open_conns(srv.port, n)
    held = len(socks)
    time.sleep(1.5)
    th, rss = srv.status()
    fds = srv.fds()
    p = probe_sequential(srv, 10, timeout=2.0)
    row(f"4b idle x{n}, nofile {nofile}", held, p, srv, th, rss)
    close_all(socks)
    time.sleep(2.0)
    after = probe_sequential(srv, 10, timeout=2.0)
    row("4b   ... 2 s after closing them", 0, after, srv)
    errs = srv.accept_errors()
    alive = srv.proc.poll() is None
    FACTS["fd"] = (nofile, held, len(p.ok), len(after.ok), alive, fds)
    note(f"fd limit {nofile}: before the flood {len(before.ok)}/{before.n} GETs ok; with "
         f"{held} idle conns (server threads {th0} -> {th}, {fds} fds open) GETs -> "
         f"{p.kinds}; 2 s after "
         f"closing them GETs -> {after.kinds}; server process still alive: {alive}")
    if errs:
        note("fd limit: server log: " + " / ".join(e[:150] for e in errs[:3]))
    srv.stop()


def s5_slow_readers(hold_s=40.0):
    w = SLOW_WORKERS
    print(f"[5] slow readers: --workers {w}, GET of a 64 KiB secret, response never read",
          flush=True)
    cases = [
        (f"{w} conns x 1 req", w, 1, None),
        (f"{w} conns x 1 req, rcvbuf 4K", w, 1, 4096),
        ("1 conn x 100 pipelined", 1, 100, None),
    ]
    for label, conns, per_conn, rcvbuf in cases:
        srv = Server(w)
        req = (f"GET /secrets/{srv.large} HTTP/1.1\r\nHost: {HOST}\r\n"
               f"Authorization: Bearer {srv.token}\r\n\r\n").encode()
        stall = time.monotonic()
        socks, failed = open_conns(srv.port, conns, req * per_conn, rcvbuf=rcvbuf)
        time.sleep(1.5)
        p = probe_concurrent(srv, 10)
        th, rss = srv.status()
        row(f"5 slow read: {label}", len(socks), p, srv, th, rss)
        FACTS[("read", label)] = (len(p.ok), p.n)
        note(f"slow readers ({label}): 10 concurrent GETs -> {p.kinds}")
        if not p.ok:
            # Does the 30 s send timeout end the stall while the reader stays connected?
            first_ok, tries, oks = None, 0, 0
            while time.monotonic() - stall < hold_s:
                tries += 1
                if timed_get(srv, timeout=1.5)[0] == 200:
                    oks += 1
                    if first_ok is None:
                        first_ok = time.monotonic() - stall
                time.sleep(0.5)
            FACTS["pipe_hold"] = (oks, tries, hold_s)
            note(f"slow readers ({label}): reader kept connected for {hold_s:.0f} s: "
                 f"{oks}/{tries} GETs ok (1.5 s timeout), first ok "
                 + ("never" if first_ok is None else f"{first_ok:.1f} s after the stall")
                 + " (the write timeout is 30 s)")
        close_all(socks)
        note(f"slow readers ({label}): after closing them, {recovery_text(srv)}")
        srv.stop()


def s6_big_header(srv, mib=64):
    print(f"[6] one connection sending {mib} MiB of header line without CRLF", flush=True)
    th0, rss0 = srv.status()
    s = socket.create_connection((HOST, srv.port), timeout=20)
    s.sendall(f"GET /secrets/{srv.small} HTTP/1.1\r\nX-Big: ".encode())
    chunk = b"b" * (1 << 20)
    sent = 0
    t0 = time.monotonic()
    outcome = "all bytes accepted"
    try:
        for _ in range(mib):
            s.sendall(chunk)
            sent += 1
            if time.monotonic() - t0 > 20:
                outcome = "stopped at the 20 s budget"
                break
    except OSError as e:
        outcome = f"server cut the connection ({e.__class__.__name__})"
    time.sleep(1.0)
    th, rss = srv.status()
    p = probe_sequential(srv, 20)
    row(f"6 header line {sent} MiB", 1, p, srv, th, rss)
    FACTS["header"] = (sent, rss - rss0)
    note(f"big header: {sent} MiB sent in {time.monotonic() - t0:.1f} s, {outcome}; "
         f"RSS {rss0:.1f} -> {rss:.1f} MiB (+{rss - rss0:.1f})")
    s.close()
    time.sleep(0.5)
    _, rss_after = srv.status()
    note(f"big header: RSS after closing {rss_after:.1f} MiB")


# --------------------------------------------------------------------------- conclusions

def conclude():
    """What a deployment must put in front, each point tied to the measurement behind it."""
    f = FACTS
    w = SLOW_WORKERS
    out = []

    lo = f.get("loris")
    if lo:
        ok, n, p50, dth, held = lo
        base = f.get("base_p50")
        degr = ok < n or (p50 and base and p50 > max(5 * base, base + 20))
        out.append(f"Slowloris ({held} conns): GETs {ok}/{n} ok"
                   + (f", p50 {p50:.1f} ms" if p50 else "")
                   + (" -- service DEGRADED" if degr else " -- service not degraded")
                   + f", but each held connection costs a server thread (+{dth}) for as long "
                   "as it keeps trickling (each read is bounded by --client-timeout, the "
                   "trickle is not), and there is no connection cap.")
    b = f.get("burst")
    if b and b[0] < b[1]:
        out.append(f"Burst starvation: {b[1] - b[0]}/{b[1]} legitimate requests accepted in "
                   "the same burst as idle connections got no answer ("
                   + "; ".join(b[2]) + "): tiny_http's TaskPool can queue a connection "
                   "behind connections that never finish, with no thread to read it.")
    small = f.get(("body", 1000, 5 * w + 1))
    if small:
        out.append(f"Slow bodies with Content-Length <= 1024: {small[0]}/{small[3]} GETs ok "
                   f"with {5 * w + 1} of them -- tiny_http reads such bodies on the "
                   "connection thread, so they cost threads, not workers.")
    bw = f.get(("body", 4096, w))
    if bw:
        out.append(f"Slow bodies > 1 KiB: {w} (= --workers) of them left {bw[0]}/{bw[3]} "
                   f"GETs ok ({bw[2]} timed out): each one holds a worker until its body "
                   "arrives or twice --client-timeout passes (408).")
    shed = f.get(("body", 4096, 5 * w))
    frz = f.get(("body", 4096, 5 * w + 1))
    if shed and frz:
        if frz[2]:
            out.append(f"503 shedding: with {5 * w} slow bodies (workers + queue full) "
                       f"{shed[1]}/{shed[3]} GETs got a fast 503; with {5 * w + 1}, "
                       f"{frz[2]}/{frz[3]} timed out instead: answering the refused slow POST "
                       "stalled dispatch for everyone.")
        else:
            out.append(f"503 shedding: with {5 * w} and {5 * w + 1} slow bodies (workers + "
                       f"queue full) {shed[1]}/{shed[3]} and {frz[1]}/{frz[3]} GETs got a "
                       "fast 503.")
    idle = f.get("idle")
    if idle:
        ok, n, p50, dth, drss, held = idle
        base = f.get("base_p50")
        degr = ok < n or (p50 and base and p50 > max(5 * base, base + 20))
        back = f.get("idle_back")
        out.append(f"Idle flood ({held} conns): GETs {ok}/{n} ok"
                   + (f", p50 {p50:.1f} ms" if p50 else "")
                   + (" -- service DEGRADED" if degr else " -- service not degraded")
                   + f"; +{dth} threads, +{drss:.0f} MiB RSS"
                   + (f"; threads back to {back[0]} within {back[2]:.0f} s of closing."
                      if back else "."))
    fd = f.get("fd")
    if fd:
        nofile, held, ok, ok_after, alive, fds = fd
        if ok_after == 0:
            out.append(f"File descriptors: with RLIMIT_NOFILE={nofile}, {held} idle "
                       f"connections (2 fds each in tiny_http; {fds} fds open) killed the "
                       "accept thread for good (it unwraps try_clone(), which fails with "
                       "EMFILE): the listener is closed, every later connection is refused, "
                       f"and the process is still alive: {alive}.")
    ph = f.get("pipe_hold")
    if ph:
        out.append(f"Slow reader: one connection pipelining 100 GETs of a 64 KiB secret "
                   f"without reading stopped the server: {ph[0]}/{ph[1]} GETs ok over "
                   f"{ph[2]:.0f} s despite the 30 s write timeout: the accept loop answers "
                   "the overflow with 503 itself, and tiny_http writes responses on one "
                   "connection in order, so that 503 waits behind the blocked response and "
                   "dispatch stops for everyone. One unpipelined 64 KiB response per "
                   "connection did nothing on loopback: socket buffers absorb it.")
    hd = f.get("header")
    if hd:
        out.append(f"Header size: one {hd[0]} MiB header line grew RSS by {hd[1]:.0f} MiB"
                   + ("; the header line is not bounded." if hd[1] >= 1 else
                      " (header lines are capped at 8 KiB)."))
    print("Findings:")
    for line in out:
        print("  * " + line)
    print("""
What a deployment must put in front (e.g. nginx; secretctl must not face clients itself):
  * Request buffering with read timeouts: proxy_request_buffering on (the default),
    client_body_timeout 10s, client_max_body_size 1m, client_header_timeout 10s,
    large_client_header_buffers 4 8k -- the proxy, not a secretctl worker or thread, waits
    for slow headers and bodies and refuses huge header lines.
  * Connection caps: limit_conn per client address (e.g. 20) and a total cap at or below
    what secretctl can hold (threads, fds); upstream connections come only from the proxy.
  * Response buffering and no client pipelining reaching secretctl: proxy_buffering on
    (the default); nginx reads pipelined requests itself and forwards them one at a time.
  * A generous fd limit for secretctl (LimitNOFILE=65536 under systemd) and a supervisor
    whose health check connects to /healthz, since a dead listener leaves the process
    running. Behind the proxy, use --trust-proxy so per-client rate limits still work.""")


# --------------------------------------------------------------------------- main

def main():
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} not found: run `cargo build --release --features test-hooks` first")
    fds = raise_own_fd_limit()
    if fds < 2300:
        sys.exit(f"need at least 2300 file descriptors for the idle flood; have {fds}")
    started = time.monotonic()
    print(f"secretctl slow-client bench: {BIN}, {os.cpu_count()} cpus", flush=True)

    srv = Server(32)
    th, rss = srv.status()
    print(f"server pid {srv.proc.pid} port {srv.port}: {th} threads, {rss:.1f} MiB", flush=True)
    s1_baseline(srv)
    s2_slowloris(srv)
    s2b_burst_starvation()
    s3_slow_bodies()
    s4_idle_flood(srv)
    s4b_fd_limit()
    s5_slow_readers()
    s6_big_header(srv)
    srv.stop()

    print()
    print_table()
    print()
    print("held = attacker connections open while probing; GET ok = legitimate GETs that "
          "got 200; t/o = no answer within the per-request timeout")
    print("(5 s; 2 s in 2b and 4b); err = refused/reset/unparsable (kinds in the notes); "
          "p50/max = latency of the successful GETs;")
    print("threads/RSS = server process while the attack connections were open.")
    print()
    for n in NOTES:
        print("- " + n)
    print()
    conclude()
    print(f"\ntotal {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
