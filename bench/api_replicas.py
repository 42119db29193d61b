"""bench/api_replicas: the API through nginx with 1 and 3 `vigil api`
replicas, and direct (no proxy), on one warehouse (issue 12, "API req/s
through nginx with 1 and 3 replicas"). Run by bench/api_replicas.sh, which
makes the warehouse; bench/README.md says what is measured.

Three set-ups, each measured with wrk (bench/api_wrk.lua, keep-alive) on
GET /api/v1/events?limit=50 and GET /api/v1/stats at each concurrency:
  direct     wrk -> one replica
  nginx x1   wrk -> nginx -> the same replica
  nginx x3   wrk -> nginx -> three replicas (round robin)
The set-ups take turns within a round (the order rotates), so drift on a
shared machine falls on all of them. Medians over rounds; prints numbers,
asserts nothing."""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
from api import make_token  # noqa: E402
from benchlib import cpu_model, tool_version  # noqa: E402

PATHS = ["/api/v1/events?limit=50", "/api/v1/stats"]


def wrk(url, conns, seconds, token):
    return benchlib.wrk(url, conns, seconds, {"Authorization": f"Bearer {token}"})


def wait_ready(port, token, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bench/api_replicas: vigil api on :{port} exited {proc.returncode}")
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/readyz")
            with urllib.request.urlopen(req, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"bench/api_replicas: vigil api on :{port} not ready in {timeout} s")


def nginx(action, d, *args):
    out = subprocess.run(["bash", os.path.join(SRC, "scripts", "nginx"), action, "--dir", d, *args],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise SystemExit(f"bench/api_replicas: scripts/nginx {action}: {out.stderr.strip()[-500:]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conc", default="16,64")
    ap.add_argument("--port-base", type=int, default=19450,
                    help="nginx on BASE, the replicas on BASE+1..BASE+3")
    args = ap.parse_args()
    conc = [int(c) for c in args.conc.split(",")]
    base = args.port_base
    token, why = make_token(args.vigil, args.data_dir)
    if not token:
        raise SystemExit(f"bench/api_replicas: {why}")
    load = os.getloadavg()
    print(f"bench/api_replicas: {cpu_model()}, {os.cpu_count()} CPUs, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"  {tool_version(['nginx', '-v'])}; "
          f"load: {tool_version(['wrk', '-v']).split(' Copyright')[0]}, one thread, keep-alive")

    tmp = tempfile.mkdtemp(prefix="bench-replicas-")
    procs = []
    try:
        for i in range(3):
            port = base + 1 + i
            log = open(os.path.join(tmp, f"api-{port}.log"), "w")
            p = subprocess.Popen([args.vigil, "api", "--http", f"127.0.0.1:{port}",
                                  "--data-dir", args.data_dir, "--log-level", "warn",
                                  "--set", f"http.allowed_hosts=127.0.0.1:{base}"],
                                 stdout=log, stderr=subprocess.STDOUT)
            log.close()
            procs.append(p)
            wait_ready(port, token, p)
        d1, d3 = os.path.join(tmp, "nginx1"), os.path.join(tmp, "nginx3")
        limits = ["--rate", "1000000", "--burst", "1000000", "--conn", "60000"]
        setups = [("direct", f"http://127.0.0.1:{base + 1}", None),
                  ("nginx x1", f"http://127.0.0.1:{base}", (d1, [base + 1])),
                  ("nginx x3", f"http://127.0.0.1:{base}", (d3, [base + 1, base + 2, base + 3]))]
        results = {}
        for r in range(args.rounds):
            order = setups[r % 3:] + setups[:r % 3]
            for name, url, ng in order:
                if ng:
                    ups = sum((["--upstream", f"127.0.0.1:{p}"] for p in ng[1]), [])
                    nginx("start", ng[0], "--listen", f"127.0.0.1:{base}", *limits, *ups)
                for path in PATHS:
                    if r == 0:
                        wrk(url + path, 16, 1, token)  # warm-up
                    for c in conc:
                        res = wrk(url + path, c, args.seconds, token)
                        if res:
                            results.setdefault((name, path, c), []).append(res)
                if ng:
                    nginx("stop", ng[0])
        print(f"\nmedians of {args.rounds} rounds of {args.seconds} s: req/s, p50 and p99 (ms), "
              "errors (socket errors + non-2xx)")
        print(f"{'route':26} {'conc':>4} | {'setup':9} {'req/s':>8} {'p50':>7} {'p99':>7} "
              f"{'err':>4} | {'vs direct':>9}")
        for path in PATHS:
            for c in conc:
                direct = None
                for name, _, _ in setups:
                    rs = results.get((name, path, c), [])
                    if not rs:
                        continue
                    rps = statistics.median(x["rps"] for x in rs)
                    p50 = statistics.median(x["p50"] for x in rs)
                    p99 = statistics.median(x["p99"] for x in rs)
                    err = sum(x["errors"] for x in rs)
                    if name == "direct":
                        direct = rps
                    ratio = f"{rps / direct:8.2f}x" if direct else "        -"
                    print(f"{path:26} {c:4} | {name:9} {rps:8.0f} {p50:7.2f} {p99:7.2f} "
                          f"{err:4} | {ratio}")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
