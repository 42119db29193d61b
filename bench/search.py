#!/usr/bin/env python3
"""bench/search: vigil on OpenSearch at about a million documents (issue 13's numbers).

1. the warehouse: bench_api_seed (vigil's own store and analyzer) at CAMERAS x FRAMES x OBJECTS,
   by default 8 x 2000 x 64, which gives about 1 M detections and 0.1 M analytics events;
2. a private OpenSearch 2.19 node (scripts/opensearch, port 19700, heap 1g, in the work dir);
3. the indexing rate: bench_search_index replays the warehouse onto an in-process bus as the
   pipeline publishes it, and vigil's indexer (the object `vigil run` starts) sends it to the
   node; documents/s from the indexer's start to the last message acknowledged; the node's
   _count must equal what was published;
4. /api/v1/search p50/p99: two `vigil api` on the same warehouse, one with search.url (the node
   answers) and one without (SQLite answers), the same queries, requests alternated between the
   two so both see the same noise; first pages compared (items and cursors) before timing.

Prints the machine, the sizes, the figures (medians / percentiles) and the ratios. Never
asserts on time. BENCH_SEARCH_WORK=DIR keeps the warehouse between runs (the node's data is
always new)."""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from benchlib import cpu_model, free_port, pct, stop_group  # noqa: E402
PREFIX = "bench"

# Each a user's query: a plain list, full text over camera / zone / line names, filters, facets.
QUERIES = [
    "limit=50",
    "q=dock&limit=50",
    "q=desk&type=events&limit=50",
    "labels=car&min_score=0.8&type=detections&limit=50",
    "zones=stairs&limit=50",
    "cameras=yard&type=detections&facets=false&limit=50",
]


def http(method, url, body=None, timeout=120):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:
        return 0, str(e).encode()


class Api:
    def __init__(self, name, vigil, data_dir, extra):
        self.name, self.port = name, free_port()
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-search-{name}-", suffix=".log",
                                               delete=False)
        argv = [vigil, "api", "--data-dir", data_dir, "--http", f"127.0.0.1:{self.port}",
                "--log-level", "warn", "--set", "auth.enabled=false",
                "--set", "store.retention_hours=0"] + extra
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            if http("GET", self.url("/healthz"), timeout=5)[0] in (200, 503):
                return
            time.sleep(0.2)
        self.stop()
        sys.exit(f"bench/search: vigil api ({name}) did not start: {self.tail()}")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def tail(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()[-1500:]

    def get(self, path):
        t = time.perf_counter()
        st, body = http("GET", self.url(path))
        dt = time.perf_counter() - t
        if st != 200:
            sys.exit(f"bench/search: {self.name} {path}: HTTP {st}: {body[:300]!r}")
        return dt, json.loads(body)

    def stop(self):
        stop_group(self.proc, 15)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"))
    ap.add_argument("--cameras", type=int, default=8)
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--objects", type=int, default=64)
    ap.add_argument("--port", type=int, default=int(os.environ.get("VIGIL_OS_PORT", "19700")))
    ap.add_argument("--heap", default=os.environ.get("VIGIL_OS_HEAP", "1g"))
    ap.add_argument("--requests", type=int, default=60, help="per query and backend, at most")
    ap.add_argument("--query-seconds", type=float, default=25,
                    help="per query and backend, at most (then fewer requests)")
    args = ap.parse_args()
    build = os.path.abspath(os.path.join(SRC, args.build) if not os.path.isabs(args.build)
                            else args.build)
    vigil = os.path.join(build, "vigil")
    seed, index = os.path.join(build, "bench_api_seed"), os.path.join(build, "bench_search_index")
    for b in (vigil, seed, index):
        if not os.access(b, os.X_OK):
            sys.exit(f"bench/search: {b} not built (cmake --build {build} --target vigil "
                     "bench_api_seed bench_search_index)")
    keep = os.environ.get("BENCH_SEARCH_WORK")
    work = keep or tempfile.mkdtemp(prefix="vigil-bench-search-")
    os.makedirs(work, exist_ok=True)
    os.chmod(work, 0o755)  # the node runs as nobody under it
    data = os.path.join(work, "data")
    node_dir = os.path.join(work, "opensearch")
    node_env = dict(os.environ, VIGIL_OS_PORT=str(args.port), VIGIL_OS_DIR=node_dir,
                    VIGIL_OS_HEAP=args.heap)
    node_url = f"http://127.0.0.1:{args.port}"
    print(f"bench/search: {cpu_model()}, {os.cpu_count()} cores; vigil {vigil}")
    cfg = subprocess.run(["grep", "-m1", "CMAKE_BUILD_TYPE:", os.path.join(build, "CMakeCache.txt")],
                         capture_output=True, text=True).stdout.strip()
    print(f"  build: {cfg or 'unknown'}; node heap {args.heap}")

    # 1. the warehouse
    if not os.path.exists(os.path.join(data, "vigil.db")):
        os.makedirs(data, exist_ok=True)
        t = time.monotonic()
        r = subprocess.run([seed, data, str(args.cameras), str(args.frames), str(args.objects)],
                           capture_output=True, text=True)
        if r.returncode:
            sys.exit(f"bench/search: bench_api_seed failed: {r.stderr[-1000:]}")
        print(f"  {r.stdout.strip()} ({time.monotonic() - t:.0f} s)")
    else:
        print(f"  warehouse kept from {data}")
    db = os.path.join(data, "vigil.db")
    print(f"  warehouse {os.path.getsize(db) / 1e6:.0f} MB")

    # 2. the node
    r = subprocess.run(["bash", os.path.join(SRC, "scripts", "opensearch"), "start"],
                       capture_output=True, text=True, env=node_env, timeout=900)
    if r.returncode:
        sys.exit(f"bench/search: scripts/opensearch start failed: {r.stderr[-1500:]}")
    apis = []
    try:
        http("DELETE", f"{node_url}/{PREFIX}-*")
        http("DELETE", f"{node_url}/_index_template/{PREFIX}-*")

        # 3. indexing
        r = subprocess.run([index, data, f"opensearch://127.0.0.1:{args.port}", PREFIX],
                           capture_output=True, text=True)
        if r.returncode:
            sys.exit(f"bench/search: bench_search_index failed: {r.stderr[-1500:]}")
        line = r.stdout.strip().splitlines()[-1]
        print(f"  {line}")
        docs = int(line.split(":", 1)[1].split()[0])
        http("POST", f"{node_url}/{PREFIX}-*/_refresh")
        st, body = http("GET", f"{node_url}/{PREFIX}-*/_count")
        have = json.loads(body).get("count") if st == 200 else None
        print(f"  the node's _count over {PREFIX}-*: {have} "
              f"({'equal to' if have == docs else 'DIFFERENT from'} the documents published)")
        st, body = http("GET", f"{node_url}/_cat/indices/{PREFIX}-*?h=index,docs.count,store.size"
                        "&bytes=mb&s=index")
        size = sum(float(x.split()[2]) for x in body.decode().splitlines() if x.strip())
        print(f"  indices: {len(body.decode().splitlines())}, {size:.0f} MB on the node")

        # 4. the API
        apis = [Api("opensearch", vigil, data,
                    ["--set", f"search.url=opensearch://127.0.0.1:{args.port}",
                     "--set", f"search.index_prefix={PREFIX}"]),
                Api("sqlite", vigil, data, [])]
        same = 0
        for q in QUERIES:
            _, a = apis[0].get("/api/v1/search?" + q)
            _, b = apis[1].get("/api/v1/search?" + q)
            ok = a["items"] == b["items"] and a.get("next_cursor") == b.get("next_cursor")
            same += ok
            trunc = b.get("facets_truncated")
            print(f"  {q}: {len(a['items'])} items, "
                  f"{'same items and cursor on both' if ok else 'ITEMS DIFFER'}"
                  + (f"; SQLite's facets count the newest 10000 per kind ({trunc})"
                     if trunc else ""))
        print(f"  {same}/{len(QUERIES)} first pages equal")
        print(f"\n  {'query':54} {'node p50':>9} {'p99':>8} {'SQLite p50':>11} {'p99':>8} "
              f"{'n':>4} {'SQLite/node p50':>16}")
        ratios = []
        for q in QUERIES:
            path = "/api/v1/search?" + q
            for s in apis:
                s.get(path)  # warm: the node's caches, SQLite's page cache
            times = {s.name: [] for s in apis}
            start = time.monotonic()
            budget = args.query_seconds * 2
            while (len(times["sqlite"]) < args.requests
                   and (time.monotonic() - start < budget or len(times["sqlite"]) < 5)):
                for s in apis:
                    times[s.name].append(s.get(path)[0] * 1e3)
            o, s_ = times["opensearch"], times["sqlite"]
            ratio = statistics.median(s_) / statistics.median(o)
            ratios.append(ratio)
            print(f"  {q:54} {statistics.median(o):7.1f}ms {pct(o, 99):6.1f}ms "
                  f"{statistics.median(s_):9.1f}ms {pct(s_, 99):6.1f}ms {len(o):4d} "
                  f"{ratio:15.2f}x")
        print(f"  median of the ratios (SQLite p50 / node p50): {statistics.median(ratios):.2f}x")
    finally:
        for s in apis:
            s.stop()
        subprocess.run(["bash", os.path.join(SRC, "scripts", "opensearch"), "stop"],
                       capture_output=True, text=True, env=node_env, timeout=120)
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
