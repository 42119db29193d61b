#!/usr/bin/env python3
"""bench/grpc_bench.py: ListDetections calls/s through gRPC (grpcio) next to REST's
GET /api/v1/detections for the same query, from the same client language
(Python), against one `vigil api` serving both from one SQLite warehouse.

    bench/grpc_bench.py --vigil build/vigil --seed build/bench_api_seed

Steps: bench_api_seed makes the warehouse of bench/api (4 cameras, 43k
detections) in a temp dir; a viewer and its read token are made with the CLI;
`vigil api` runs with --http and grpc.listen on loopback ports 19600/19601
(both with the token checked on every call); the two answers are checked to
hold the same ids; then for each query and each concurrency (threads, each
with its own keep-alive HTTP connection or its own gRPC channel) calls are
made for --seconds, --rounds times, and the median calls/s is printed.

Python's client costs are in both numbers (json.loads for REST, protobuf
decoding for gRPC): this compares the two paths as a Python client sees them,
not the server alone (bench/api measures REST's server with wrk). Prints
numbers, asserts nothing. Needs grpcio and grpcio-tools (scripts/api-test)."""
import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

try:
    import grpc
except ImportError:
    cache = os.environ.get("VIGIL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                          "vigil")
    py = os.path.join(cache, "api-test-venv", "bin", "python")
    if os.environ.get("BENCH_GRPC_REEXEC") or not os.path.exists(py):
        sys.exit("bench/grpc: grpcio not found: run scripts/api-test/setup.sh")
    os.execve(py, [py] + sys.argv, dict(os.environ, BENCH_GRPC_REEXEC="1"))

GEN = tempfile.mkdtemp(prefix="vigil-grpc-bench-")
subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT}/proto",
                f"--python_out={GEN}", f"--grpc_python_out={GEN}",
                f"{ROOT}/proto/vigil/v1/api.proto"], check=True)
sys.path.insert(0, GEN)
from vigil.v1 import api_pb2 as pb, api_pb2_grpc as pbg  # noqa: E402

QUERIES = [("limit=50", dict(limit=50)),
           ("camera=lobby&label=person&limit=100", dict(camera="lobby", label="person", limit=100)),
           ("limit=1000", dict(limit=1000))]


def run(argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kw).stdout


def drive(make_call, threads, seconds):
    """calls/s of `threads` threads each calling its own make_call()() for `seconds`."""
    counts = [0] * threads
    stop = time.time() + seconds
    errors = []

    def worker(i):
        call = make_call()
        try:
            while time.time() < stop:
                call()
                counts[i] += 1
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    t0 = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise SystemExit(f"bench/grpc: a call failed: {errors[0]}")
    return sum(counts) / (time.time() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigil", default=os.path.join(ROOT, "build", "vigil"))
    ap.add_argument("--seed", default=os.path.join(ROOT, "build", "bench_api_seed"))
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,4")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="vigil-grpc-bench-data-")
    proc = None
    try:
        run([args.seed, work])
        run([args.vigil, "user", "add", "bench-grpc", "--role", "viewer", "--data-dir", work],
            input="bench-password-1\n")
        token = run([args.vigil, "token", "create", "bench-grpc", "--scope", "read", "--data-dir",
                     work]).strip().splitlines()[-1]
        log = open(os.path.join(work, "vigil.log"), "w")
        proc = subprocess.Popen([args.vigil, "api", "--data-dir", work, "--http", "127.0.0.1:19600",
                                 "--log-level", "warn", "--set", "grpc.listen=127.0.0.1:19601",
                                 "--set", "store.retention_hours=0"],
                                stdout=log, stderr=subprocess.STDOUT)
        md = (("authorization", "Bearer " + token),)
        hdr = {"Authorization": "Bearer " + token}
        deadline = time.time() + 30
        while True:
            try:
                ch = grpc.insecure_channel("127.0.0.1:19601")
                pbg.DetectionServiceStub(ch).ListDetections(pb.ListDetectionsRequest(limit=1),
                                                            metadata=md, timeout=2)
                break
            except grpc.RpcError:
                if time.time() > deadline or proc.poll() is not None:
                    raise SystemExit("bench/grpc: vigil api did not answer gRPC")
                time.sleep(0.2)

        def rest_call(q):
            def make():
                c = http.client.HTTPConnection("127.0.0.1", 19600)

                def call():
                    c.request("GET", "/api/v1/detections?" + q, headers=hdr)
                    r = c.getresponse()
                    body = r.read()
                    assert r.status == 200, (r.status, body[:200])
                    return json.loads(body)
                return call
            return make

        def grpc_call(kw):
            req = pb.ListDetectionsRequest(**kw)

            def make():
                stub = pbg.DetectionServiceStub(grpc.insecure_channel("127.0.0.1:19601"))
                return lambda: stub.ListDetections(req, metadata=md)
            return make

        print(f"bench/grpc: ListDetections, {args.seconds:g} s x {args.rounds} rounds, medians; "
              f"Python client (http.client + json / grpcio), bearer token checked")
        print(f"{'query':42} {'threads':>7} {'REST calls/s':>13} {'gRPC calls/s':>13} "
              f"{'gRPC/REST':>9}")
        for q, kw in QUERIES:
            r_ = rest_call(q)()()
            g_ = grpc_call(kw)()()
            same = [d["id"] for d in r_["items"]] == [d.id for d in g_.items]
            if not same or r_["next_cursor"] != (g_.next_cursor or None):
                raise SystemExit(f"bench/grpc: {q}: REST and gRPC answers differ")
            for th in [int(t) for t in args.threads.split(",")]:
                rs = [drive(rest_call(q), th, args.seconds) for _ in range(args.rounds)]
                gs = [drive(grpc_call(kw), th, args.seconds) for _ in range(args.rounds)]
                rm, gm = statistics.median(rs), statistics.median(gs)
                print(f"{q + f' ({len(g_.items)} rows)':42} {th:>7} {rm:>13.0f} {gm:>13.0f} "
                      f"{gm / rm:>9.2f}", flush=True)
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(GEN, ignore_errors=True)


if __name__ == "__main__":
    main()
