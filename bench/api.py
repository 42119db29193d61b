#!/usr/bin/env python3
"""bench/api.py: vigil's HTTP API against FastAPI + uvicorn on one warehouse.

Started by bench/api.sh, which makes the warehouse (bench_api_seed) and the
peers' venv (bench/api_peers.sh); standard library only.

Main idea: the three servers run side by side on loopback, each on its own
port, over the SAME SQLite file: `vigil api`, and bench/api_peer.py under
uvicorn with 2 workers (one per core, the seed's deployment) and with 1.
First their answers are compared (the three routes and a second page: the
same JSON, or the differences are printed and the run says so). Then wrk
(Debian's; C, epoll, one thread, so that the load generator is never the
bottleneck: it does 50k+ requests/s on one core) drives each route at each
concurrency, with keep-alive and with `Connection: close` (a new TCP
connection per request), for ROUNDS rounds; within a round the servers take
turns for each cell, so that drift on a shared machine falls on all of them.
The table shows medians over the rounds of requests/s, p50 and p99 latency,
and the ratios vigil / peer. Nothing is asserted on time.

Authentication (--auth): `on` creates a viewer and a read token for it with
`vigil user add` and `vigil token create` on the warehouse, and every
request to every server carries the token (vigil checks it, the peer looks
its SHA-256 up in api_tokens); `off` runs all three open (vigil with auth.enabled=false); `auto` is `on` when the
vigil binary has `token create`, else `off`, said in the header.

MJPEG viewers are bench/api_live.py's, which bench/api.sh runs after this.
"""

import argparse
import base64
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
from benchlib import cpu_model, free_port, tool_version  # noqa: E402
ROUTES = ["/api/v1/detections?limit=50", "/api/v1/events?limit=50", "/api/v1/stats"]


PORT_NEXT = [0]  # --port-base: the next port to hand out (0: any free one)


def next_port():
    if PORT_NEXT[0]:
        PORT_NEXT[0] += 1
        return PORT_NEXT[0] - 1
    return free_port()


class Server:
    def __init__(self, name, argv, port, env=None):
        self.name, self.argv, self.port = name, argv, port
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-api-{name.replace(' ', '-')}-",
                                               suffix=".log", delete=False)
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})}, start_new_session=True)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, headers, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            status, _ = http_get(self.url("/api/v1/stats"), headers)
            if status == 200:
                return
            time.sleep(0.2)
        with open(self.log.name, errors="replace") as f:
            tail = f.read()[-2000:]
        self.stop()
        raise SystemExit(f"bench/api: {self.name} did not answer /api/v1/stats within "
                         f"{timeout} s (status {status}); its log:\n{tail}")

    def stop(self):
        benchlib.stop_group(self.proc, 10)
        if os.path.exists(self.log.name):
            os.unlink(self.log.name)


def http_get(url, headers, timeout=10):
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return 0, b""


def keeps_alive(server, headers):
    """Whether the server answers two requests on one connection."""
    req = (f"GET /api/v1/stats HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n" +
           "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()
    answered = 0
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=3) as s:
            for _ in range(2):
                s.sendall(req)
                buf = b""
                while b"\r\n\r\n" not in buf:
                    chunk = s.recv(65536)
                    if not chunk:
                        return answered == 2
                    buf += chunk
                head, body = buf.split(b"\r\n\r\n", 1)
                m = re.search(rb"(?i)content-length:\s*(\d+)", head)
                need = int(m.group(1)) if m else 0
                while len(body) < need:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    body += chunk
                answered += 1
    except OSError:
        pass
    return answered == 2


def first_difference(a, b, where="$"):
    """Where two decoded JSON values first differ, as a path and the two values."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{where}.{k}: only in {'the first' if k in a else 'the second'}"
            d = first_difference(a[k], b[k], f"{where}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{where}[{i}]")
            if d:
                return d
        return None if len(a) == len(b) else f"{where}: {len(a)} vs {len(b)} items"
    return None if a == b else f"{where}: {json.dumps(a)[:80]} vs {json.dumps(b)[:80]}"


def compare(servers, headers):
    """The three routes and each list's second page from every server: same JSON?"""
    ok = True
    ref = servers[0]
    for path in ROUTES:
        _, body = http_get(ref.url(path), headers)
        want = json.loads(body or b"null")
        paths = [path]
        if isinstance(want, dict) and want.get("next_cursor"):
            paths.append(f"{path}&cursor={want['next_cursor']}")
        for p in paths:
            want_status, want_body = http_get(ref.url(p), headers)
            for s in servers[1:]:
                status, body = http_get(s.url(p), headers)
                diff = (f"status {want_status} vs {status}" if status != want_status else
                        first_difference(json.loads(want_body or b"null"),
                                         json.loads(body or b"null")))
                if diff:
                    ok = False
                    print(f"  DIFFERENT {p}, {ref.name} vs {s.name}: {diff}")
    return ok


def wrk(server, path, conns, seconds, headers, close):
    """One wrk run: dict(rps, p50_ms, p99_ms, errors) or None when wrk failed."""
    if close:
        headers = {**headers, "Connection": "close"}
    return benchlib.wrk(server.url(path), conns, seconds, headers, name=f"{server.name} {path}")


def make_token(vigil, data_dir):
    """A read token of a new viewer `bench-api` (`vigil user add`, `vigil token create`,
    which prints it on its last line), or (None, why) when vigil cannot make one."""
    password = base64.urlsafe_b64encode(os.urandom(24)).decode()
    subprocess.run([vigil, "user", "add", "bench-api", "--role", "viewer", "--data-dir", data_dir],
                   input=password + "\n", capture_output=True, text=True, timeout=60)
    out = subprocess.run([vigil, "token", "create", "bench-api", "--scope", "read",
                          "--data-dir", data_dir], capture_output=True, text=True, timeout=60)
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        first = (out.stderr.strip().splitlines() or ["no output"])[0]
        return None, f"`vigil token create` failed: {first}"
    return lines[-1].strip(), None


def fmt_ratio(a, b):
    return f"{a / b:5.1f}x" if a and b else "    -"


def print_table(results, servers, conc, mode, rounds, measured):
    vigil, peers = servers[0], servers[1:]
    print(f"\n{mode} (medians of {rounds} rounds; req/s, p50 and p99 in ms):")
    head = f"{'route':<20}{'c':>4} | {vigil.name:>23}"
    for p in peers:
        head += f" | {p.name:>23}"
    for p in peers:
        head += f" | {'vigil/' + p.name.split()[-1]:>13}"
    print(head)
    sub = f"{'':<20}{'':>4} | {'req/s':>7}{'p50':>8}{'p99':>8}"
    for _ in peers:
        sub += f" | {'req/s':>7}{'p50':>8}{'p99':>8}"
    for _ in peers:
        sub += f" | {'req/s':>6}{'p99':>7}"
    print(sub)
    noisy = []
    for path in measured:
        for c in conc:
            cells = {}
            for s in servers:
                runs = [r for r in results.get((s.name, path, c, mode), []) if r]
                cells[s.name] = ({k: statistics.median(r[k] for r in runs)
                                  for k in ("rps", "p50", "p99")} if runs else None)
                cells[s.name + "/err"] = sum(r["errors"] for r in runs)
                rps = [r["rps"] for r in runs]
                if len(rps) > 1:
                    noisy.append((max(rps) - min(rps)) / statistics.median(rps))
            line = f"{path.replace('/api/v1/', ''):<20}{c:>4}"
            for s in servers:
                m = cells[s.name]
                line += (f" | {m['rps']:7.0f}{m['p50']:8.2f}{m['p99']:8.2f}" if m
                         else f" | {'-':>23}")
            v = cells[vigil.name]
            for p in peers:
                m = cells[p.name]
                if v and m:
                    line += f" | {fmt_ratio(v['rps'], m['rps']):>6}{fmt_ratio(m['p99'], v['p99']):>7}"
                else:
                    line += f" | {'-':>13}"
            errs = [f"{s.name}: {cells[s.name + '/err']}" for s in servers if cells[s.name + "/err"]]
            print(line + (f"   errors {', '.join(errs)}" if errs else ""))
    print("  ratios: req/s vigil / peer (higher is better for vigil), p99 peer / vigil "
          "(higher: vigil's tail is shorter)")
    if noisy:
        bad = sum(1 for x in noisy if x > 0.25)
        print(f"  spread of req/s over the rounds (max - min) / median: median "
              f"{statistics.median(noisy):.0%}, worst {max(noisy):.0%}; {bad} of {len(noisy)} "
              "server cells above 25%" + (" (a busy machine: see the load average)" if bad else ""))


# --- main ----------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vigil", required=True, help="the vigil binary")
    ap.add_argument("--data-dir", required=True, help="the warehouse (bench_api_seed)")
    ap.add_argument("--venv", required=True, help="the peers' venv (bench/api_peers.sh)")
    ap.add_argument("--seconds", type=int, default=3, help="per wrk run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conc", default="1,16,64")
    ap.add_argument("--modes", default="keep-alive,close")
    ap.add_argument("--routes", default="detections,events,stats",
                    help="which of the three routes to drive (all are still compared)")
    ap.add_argument("--auth", choices=("auto", "on", "off"), default="auto")
    ap.add_argument("--peer-workers", default="2,1")
    ap.add_argument("--vigil-base", help="another vigil binary (say, the previous commit's), "
                    "served as one more peer `vigil base` on the same warehouse: an A/B in one run")
    ap.add_argument("--port-base", type=int, default=0,
                    help="servers listen on this port and the next ones (default: any free port)")
    args = ap.parse_args()
    PORT_NEXT[0] = args.port_base
    if not shutil.which("wrk"):
        raise SystemExit("bench/api: wrk not installed (bench/api_peers.sh installs it)")
    conc = [int(c) for c in args.conc.split(",")]
    wanted = set(args.routes.split(","))
    measured = [p for p in ROUTES if p.split("/")[3].split("?")[0] in wanted]
    if not measured:
        raise SystemExit(f"bench/api: --routes {args.routes!r} names none of detections, events, stats")
    modes = args.modes.split(",")
    db = os.path.join(args.data_dir, "vigil.db")

    token, why = (None, "--auth off")
    if args.auth != "off":
        token, why = make_token(args.vigil, args.data_dir)
        if not token and args.auth == "on":
            raise SystemExit(f"bench/api: --auth on, but `vigil token create` failed: {why}")
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    py = os.path.join(args.venv, "bin", "python")
    versions = subprocess.run([py, "-c", "import fastapi, uvicorn, uvloop, httptools, sys; "
                               "print(f'fastapi {fastapi.__version__}, uvicorn "
                               "{uvicorn.__version__} (uvloop {uvloop.__version__}, httptools "
                               "{httptools.__version__}), Python {sys.version.split()[0]}')"],
                              capture_output=True, text=True).stdout.strip()
    print(f"bench/api: {cpu_model()}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"  vigil: {tool_version([args.vigil, 'version'])}; peer: {versions}; "
          f"load: {tool_version(['wrk', '-v']).split(' Copyright')[0]}, one thread")
    print(f"  warehouse {db}: {os.path.getsize(db) / 1e6:.1f} MB")
    print(f"  authentication: " + ("bearer token on every request (vigil: its check; peer: "
                                   "SHA-256 looked up in api_tokens)" if token else
                                   f"OFF on all servers ({why})"))

    vport = next_port()
    vargv = [args.vigil, "api", "--data-dir", args.data_dir, "--http", f"127.0.0.1:{vport}",
             "--log-level", "warn", "--set", "store.retention_hours=0"]
    if not token:
        vargv += ["--set", "auth.enabled=false"]
    servers = [Server("vigil", vargv, vport)]
    if args.vigil_base:
        bport = next_port()
        bargv = [args.vigil_base] + vargv[1:]
        bargv[bargv.index(f"127.0.0.1:{vport}")] = f"127.0.0.1:{bport}"
        servers.append(Server("vigil base", bargv, bport))
    for w in (int(x) for x in args.peer_workers.split(",")):
        port = next_port()
        servers.append(Server(
            f"fastapi x{w}",
            [os.path.join(args.venv, "bin", "uvicorn"), "--app-dir", HERE, "api_peer:app",
             "--host", "127.0.0.1", "--port", str(port), "--workers", str(w),
             "--no-access-log", "--log-level", "warning"],
            port, env={"VIGIL_PEER_DB": db, "VIGIL_PEER_AUTH": "1" if token else "0"}))
    try:
        for s in servers:
            s.wait_ready(headers)
        if headers:
            for s in servers:
                status, _ = http_get(s.url(ROUTES[0]), {})
                print(f"  {s.name} without the token: {status}")
        same = compare(servers, headers)
        print("  answers: " + ("the same JSON from every server (3 routes, second pages)" if same
                               else "DIFFERENT (above): the figures compare unlike work"))
        print("  keep-alive: " + ", ".join(
            f"{s.name} {'yes' if keeps_alive(s, headers) else 'no'}" for s in servers))
        for s in servers:  # warm-up: caches, every worker, statement caches
            for path in ROUTES:
                wrk(s, path, 16, 1, headers, False)
        results = {}
        total = args.rounds * len(measured) * len(conc) * len(modes) * len(servers)
        print(f"  {total} wrk runs of {args.seconds} s (about {total * args.seconds // 60 + 1} "
              "min)", flush=True)
        for r in range(args.rounds):
            order = servers[r % len(servers):] + servers[:r % len(servers)]
            for mode in modes:
                for path in measured:
                    for c in conc:
                        for s in order:
                            results.setdefault((s.name, path, c, mode), []).append(
                                wrk(s, path, c, args.seconds, headers, mode == "close"))
            print(f"  round {r + 1}/{args.rounds} done", flush=True)
        for mode in modes:
            print_table(results, servers, conc, mode, args.rounds, measured)
        print(f"\n  load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        for s in servers:
            s.stop()


if __name__ == "__main__":
    main()
