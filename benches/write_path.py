#!/usr/bin/env python3
"""The write path under load: req/s and p50/p99 latency of GET /secrets/{id} (an audited read),
POST /secrets (a write) and share-link redemption (an exactly-once write), with 1, 16 and 64
connections, plus the bytes of database file each audited read costs.

Usage: python3 benches/write_path.py --bin target/release/secretctl [--bin OTHER ...]
          [--seconds 5] [--conns 1,16,64]

Each binary gets a fresh server and data dir (rate limits off: one benchmark client stands
for many). Prints one markdown table per binary. Needs wrk. Numbers from one run on one
machine compare binaries with each other, not with another host.
"""
import argparse, concurrent.futures, json, os, re, signal, subprocess, sys, tempfile, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def http(method, url, body=None, token=None):
    h = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    with urllib.request.urlopen(req, timeout=30) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


def wrk(url, conns, seconds, script=None, headers=(), env=None):
    threads = min(2, conns)
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True,
                         env={**os.environ, "THREADS": str(threads), **(env or {})}).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def pct(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out)
        return float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(2)]

    return {"rps": rps, "p50": pct(50), "p99": pct(99), "total": total,
            "bad": int(bad.group(1)) if bad else 0}


def links(base, token, sid, n):
    def one(_):
        return http("POST", f"{base}/secrets/{sid}/share", {"max_views": 1}, token)["token"]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        return ["/share/" + t for t in pool.map(one, range(n))]


def bench(binary, seconds, conns_list):
    d = tempfile.mkdtemp(prefix="sc-wp.")
    limits = ["--rate-limit", "0", "--share-rate-limit", "0", "--auth-rate-limit", "0"]
    p = subprocess.Popen([binary, "serve", "--addr", "127.0.0.1:0", "--data-dir", d, *limits],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    base = re.search(r"listening on (http://\S+)", p.stdout.readline()).group(1)
    rows = []
    try:
        creds = {"username": "bench", "password": "correct horse battery staple"}
        http("POST", base + "/register", creds)
        token = http("POST", base + "/login", creds)["token"]
        sid = http("POST", base + "/secrets", {"name": "bench", "value": "v" * 1024}, token)["id"]
        auth = "Authorization: Bearer " + token
        db = os.path.join(d, "secretctl.redb")
        for conns in conns_list:
            size = os.path.getsize(db)
            r = wrk(f"{base}/secrets/{sid}", conns, seconds, headers=[auth])
            r["bytes_per_read"] = (os.path.getsize(db) - size) / max(r["total"], 1)
            rows.append(("GET /secrets/{id}", conns, r))
            r = wrk(f"{base}/secrets", conns, seconds, os.path.join(HERE, "post_secret.lua"),
                    headers=[auth, "Content-Type: application/json"],
                    env={"VALUE_BYTES": "1024", "RUN": str(conns)})
            rows.append(("POST /secrets", conns, r))
            # Enough one-view links for the run at twice the write rate just measured.
            n = min(60000, int(r["rps"] * seconds * 2) + 200)
            with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
                f.write("\n".join(links(base, token, sid, n)) + "\n")
            r = wrk(base, conns, seconds, os.path.join(HERE, "redeem_links.lua"),
                    env={"LINKS": f.name})
            os.unlink(f.name)
            rows.append(("redeem /share/{token}", conns, r))
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait()
    print(f"\n{binary}\n")
    print("| workload | conns | req/s | p50 ms | p99 ms | non-2xx | file bytes / audited read |")
    print("|---|---|---|---|---|---|---|")
    for name, conns, r in rows:
        per_read = f"{r['bytes_per_read']:.0f}" if "bytes_per_read" in r else ""
        print(f"| {name} | {conns} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} "
              f"| {r['bad']} | {per_read} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append", required=True)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--conns", default="1,16,64")
    a = ap.parse_args()
    for b in a.bin:
        bench(b, a.seconds, [int(c) for c in a.conns.split(",")])


if __name__ == "__main__":
    sys.exit(main())
