"""bench/store: the warehouse's limits, SQLite against PostgreSQL (issue 12,
"the seed's warehouse tests"). Run by bench/store.sh; bench/README.md says
what is measured and how.

For each backend (sqlite; postgres with fsync and synchronous_commit on;
postgres with synchronous_commit off; mongo, a throwaway FerretDB from
scripts/ferretdb, when asked for), on a fresh warehouse seeded by
bench_api_seed:
  (a) bench_store rate: frames/s alone (frame_put), then detection rows/s in
      the sink's batches (results_put); medians of --rounds runs;
  (c) bench_store limit: the incoming limit, paced write steps of growing
      rate until the lag grows;
  (b) `vigil api` on the warehouse: p50/p99 of the API's main queries with
      wrk, idle and with bench_store load writing at --load-fraction (50%) of
      the incoming limit;
  (d) the outgoing limit: with that write load, the detections and events
      lists in turn at growing concurrency; the most requests/s whose p99
      stays under --p99-ms (stats and search, about the bound or slower on
      their own here, are left out of the mix).
Prints numbers, asserts nothing."""
import argparse
import json
import os
import re
import signal
import sqlite3
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
from benchlib import cpu_model, tool_version  # noqa: E402

ROUTES = ["/api/v1/detections?limit=50", "/api/v1/events?limit=50", "/api/v1/stats",
          "/api/v1/search?q=person&limit=50"]
# the outgoing limit's mix: the dashboard's two lists, newest first. /stats
# (count(*) of every table on each request) and /search (its facets count up
# to 10000 newest matches of each type) alone take about the bound or more on
# this machine; (b) reports them.
OUT_ROUTES = ROUTES[:2]
T_WRITE0_US = 1736157600000000  # 2025-01-06T10:00:00Z: after the seed's rows, the same day


def redact(url):
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def parse_results(text):
    out = []
    for line in text.splitlines():
        if line.startswith("RESULT "):
            kv = dict(f.split("=", 1) for f in line.split()[1:])
            out.append({k: (v if k == "kind" else float(v)) for k, v in kv.items()})
    return out


class Backend:
    """One row of the table: a store URL on a fresh warehouse."""

    def __init__(self, name, work, port):
        self.name, self.work, self.port = name, work, port
        self.data_dir = os.path.join(work, name)
        self.pg_dir = os.path.join(work, "pg")
        self.url = "sqlite"
        self.settings = {}
        self.runs = 0  # bench_store runs so far: each gets its own keys

    def server(self, *args, check=True):
        """scripts/postgres ARGS (postgres, postgres-async: fsync on, the
        figures are for a durable server) or scripts/ferretdb ARGS (mongo) on
        this bench's port and directory; its stdout, stripped. A failure ends
        the bench unless check is False."""
        if self.name == "mongo":
            script, timeout = "ferretdb", 900
            env = dict(os.environ, VIGIL_FERRET_PORT=str(self.port + 2),
                       VIGIL_FERRET_DIR=os.path.join(self.work, "ferret"))
        else:
            script, timeout = "postgres", 600
            env = dict(os.environ, VIGIL_PG_PORT=str(self.port), VIGIL_PG_DIR=self.pg_dir)
            env.pop("VIGIL_PG_FAST", None)
        out = subprocess.run(["bash", os.path.join(SRC, "scripts", script), *args], env=env,
                             capture_output=True, text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise SystemExit(f"bench/store: scripts/{script} {args[0]}: "
                             f"{redact(out.stderr.strip()[-500:])}")
        return out.stdout.strip()

    def start(self):
        os.makedirs(self.data_dir, exist_ok=True)
        if self.name == "sqlite":
            return
        self.server("stop", check=False)
        self.url = self.server("start").splitlines()[-1]
        if self.name == "postgres-async":
            self.server("psql", "-c", "ALTER SYSTEM SET synchronous_commit = off")
            self.server("psql", "-c", "SELECT pg_reload_conf()")

    def stop(self):
        if self.name != "sqlite":
            self.server("stop", check=False)

    def settle(self):
        """A warehouse at rest before measuring: statistics gathered, the seed's
        WAL checkpointed, so that no step pays for the seeding."""
        if self.name == "sqlite":
            db = sqlite3.connect(os.path.join(self.data_dir, "vigil.db"))
            db.execute("ANALYZE")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
            return
        if self.name == "mongo":
            return
        self.server("psql", "-d", "vigil", "-c", "VACUUM ANALYZE")
        self.server("psql", "-c", "CHECKPOINT")

    def read_settings(self):
        if self.name == "sqlite":
            db = sqlite3.connect(os.path.join(self.data_dir, "vigil.db"))
            s = {k: db.execute(f"PRAGMA {k}").fetchone()[0]
                 for k in ("journal_mode", "page_size", "wal_autocheckpoint", "auto_vacuum")}
            db.close()
            # synchronous is per connection: what vigil sets on each (src/store/sqlite.c)
            with open(os.path.join(SRC, "src", "store", "sqlite.c")) as f:
                m = re.search(r"PRAGMA synchronous = (\w+)", f.read())
            s["synchronous"] = f"{m.group(1) if m else '?'} (vigil's, per connection)"
            self.settings = s
            return
        if self.name == "mongo":
            binary = self.server("build").splitlines()[-1]
            self.settings = {"server": os.path.basename(binary) + " (FerretDB, SQLite handler: "
                             "one SQLite database per MongoDB database, its own settings)",
                             "client": "libmongoc " + tool_version(["pkg-config", "--modversion",
                                                                    "libmongoc-1.0"])}
            return
        names = ["fsync", "synchronous_commit", "full_page_writes", "wal_level", "shared_buffers",
                 "max_wal_size", "checkpoint_timeout", "wal_compression", "autovacuum",
                 "server_version"]
        q = "SELECT " + ", ".join(f"current_setting('{n}')" for n in names)
        vals = self.server("psql", "-d", "vigil", "-At", "-F", "|", "-c", q).split("|")
        self.settings = dict(zip(names, vals))
        ff = self.server("psql", "-d", "vigil", "-At", "-c",
                     "SELECT coalesce(array_to_string(reloptions, ','), 'defaults') FROM pg_class "
                     "WHERE relname = 'detections'")
        self.settings["detections reloptions"] = ff or "?"

    def bench_store(self, args, build, wait=True, seconds_hint=60):
        self.runs += 1
        argv = [os.path.join(build, "bench_store"), *args, "--store", self.url, "--data-dir",
                self.data_dir, "--seq-base", str(10_000_000 * self.runs), "--time-base-us",
                str(T_WRITE0_US + self.runs * 1_800_000_000)]
        if not wait:
            return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
        out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds_hint + 120)
        for line in out.stdout.splitlines():
            if not line.startswith("RESULT "):
                print("    " + line.strip())
        if out.returncode != 0:
            print(f"    bench_store {args[0]} failed: {redact(out.stderr.strip()[-400:])}")
        return parse_results(out.stdout)


def wrk(url, conns, seconds, token, paths=None):
    return benchlib.wrk(url, conns, seconds, {"Authorization": f"Bearer {token}"},
                        script="store_wrk.lua" if paths else "api_wrk.lua", script_args=paths,
                        indent="    ")


def vigil_cmd(vigil, b, *args, stdin=None):
    return subprocess.run([vigil, *args, "--data-dir", b.data_dir, "--store", b.url],
                          input=stdin, capture_output=True, text=True, timeout=60)


def make_token(vigil, b):
    vigil_cmd(vigil, b, "user", "add", "bench-store", "--role", "viewer",
              stdin=os.urandom(12).hex() + "\n")
    out = vigil_cmd(vigil, b, "token", "create", "bench-store", "--scope", "read")
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        raise SystemExit(f"bench/store: vigil token create failed: "
                         f"{redact(out.stderr.strip()[:300])}")
    return lines[-1].strip()


def start_api(vigil, b, port, log_path):
    log = open(log_path, "w")
    p = subprocess.Popen([vigil, "api", "--http", f"127.0.0.1:{port}", "--data-dir", b.data_dir,
                          "--store", b.url, "--log-level", "warn"], stdout=log,
                         stderr=subprocess.STDOUT)
    log.close()
    deadline = time.time() + 30
    while time.time() < deadline:
        if p.poll() is not None:
            raise SystemExit(f"bench/store: vigil api exited {p.returncode} ({log_path})")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return p
        except OSError:
            pass
        time.sleep(0.1)
    p.kill()
    raise SystemExit(f"bench/store: vigil api on :{port} not ready in 30 s ({log_path})")


def warehouse_size(base, token):
    req = urllib.request.Request(base + "/api/v1/stats",
                                 headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            st = json.load(r)
    except (OSError, ValueError) as e:
        return f"? ({e})"
    st = st.get("store", st)
    return ", ".join(f"{st[k]} {k}" for k in ("frames", "detections") if k in st)


def stop_proc(p, sig=signal.SIGTERM, timeout=20):
    if p.poll() is None:
        p.send_signal(sig)
    try:
        return p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.communicate()


def fdatasync_rate(d, seconds=1.0):
    """8 KiB writes each followed by fdatasync, for a second: what a commit that
    waits for the disk can do at most here."""
    path = os.path.join(d, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    n, t0 = 0, time.time()
    try:
        while time.time() - t0 < seconds:
            os.pwrite(fd, b"\0" * 8192, (n % 64) * 8192)
            os.fdatasync(fd)
            n += 1
    finally:
        os.close(fd)
        os.unlink(path)
    return n / (time.time() - t0)


def run_backend(b, args, port_api):
    print(f"\n== {b.name} ==")
    t0 = time.time()
    row = {"name": b.name, "settings": {}}
    try:
        b.start()
        measure(b, args, port_api, row)
    finally:
        b.stop()
    print(f"  ({time.time() - t0:.0f} s)")
    return row


def measure(b, args, port_api, row):
    t0 = time.time()
    env = dict(os.environ, BENCH_SEED_STORE=b.url)
    out = subprocess.run([os.path.join(args.build, "bench_api_seed"), b.data_dir, "4",
                          str(args.seed_frames)], env=env, capture_output=True, text=True,
                         timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"bench/store: seeding {b.name}: {redact(out.stderr.strip()[-400:])}")
    print(f"  seed ({time.time() - t0:.1f} s): {out.stdout.strip().split(': ', 2)[-1]}")
    b.settle()
    b.read_settings()
    print("  settings: " + ", ".join(f"{k}={v}" for k, v in b.settings.items()))
    row["settings"] = b.settings

    print(f"  (a) sustained writes, {args.rounds} rounds of {args.rate_seconds} s (frames, then "
          "detections on them):")
    rounds = []
    for _ in range(args.rounds):
        rounds += [r for r in b.bench_store(["rate", "--seconds", str(args.rate_seconds)],
                                            args.build) if r["kind"] == "rate"]
    if not rounds:
        return
    rate = {k: statistics.median(r[k] for r in rounds) for k in rounds[0] if k != "kind"}
    row["rate"] = rate
    # what the two writers together could do if they did not share anything
    combined = 1 / (1 / rate["frames_per_s"] + rate["dets"] / rate["det_rows_per_s"])
    start = max(10.0, round(combined * 0.25))
    print(f"  (c) incoming limit: steps of {args.step_seconds} s from {start:.0f} frames/s "
          f"x{args.factor}:")
    res = b.bench_store(["limit", "--start", str(start), "--factor", str(args.factor),
                         "--step-seconds", str(args.step_seconds), "--max-steps",
                         str(args.max_steps)], args.build,
                        seconds_hint=int(args.step_seconds * (args.max_steps + 1)))
    lim = next((r for r in res if r["kind"] == "limit"), None)
    if not lim or lim["limit_fps"] <= 0:
        return
    row["limit"] = lim
    row["steps"] = [r for r in res if r["kind"] == "step"]

    token = make_token(args.vigil, b)
    api = start_api(args.vigil, b, port_api, os.path.join(args.work, f"api-{b.name}.log"))
    loader = None
    try:
        base = f"http://127.0.0.1:{port_api}"
        print(f"  (b) API p50/p99 (ms), wrk c={args.conc}, {args.api_seconds} s per route:")
        for path in ROUTES:  # warm the caches, then idle
            wrk(base + path, 2, 1, token)
        row["size"] = warehouse_size(base, token)
        print(f"    warehouse now: {row['size']}")
        idle = {p: wrk(base + p, args.conc, args.api_seconds, token) for p in ROUTES}
        load_fps = lim["limit_fps"] * args.load_fraction
        loader = b.bench_store(["load", "--rate", f"{load_fps:.1f}", "--seconds", "3600"],
                               args.build, wait=False)
        time.sleep(1.0)
        busy = {p: wrk(base + p, args.conc, args.api_seconds, token) for p in ROUTES}
        for p in ROUTES:
            i, w = idle[p], busy[p]
            fmt = (lambda r: f"{r['rps']:7.0f} req/s  p50 {r['p50']:7.2f}  p99 {r['p99']:7.2f}"
                   if r else "failed")
            print(f"    {p:34} idle {fmt(i)} | writing {load_fps:.0f} frames/s {fmt(w)}")
        row["idle"], row["busy"], row["load_fps"] = idle, busy, load_fps

        print(f"  (d) outgoing limit: {', '.join(p.split('/api/v1/')[1] for p in OUT_ROUTES)} "
              f"in turn, p99 <= {args.p99_ms} ms, writing {load_fps:.0f} frames/s:")
        best, steps, over = None, [], 0
        for c in args.out_conc:  # until two steps in a row are over the bound
            r = wrk(base + OUT_ROUTES[0], c, args.api_seconds, token, paths=OUT_ROUTES)
            if not r:
                break
            ok = r["p99"] <= args.p99_ms and r["errors"] == 0
            steps.append((c, r, ok))
            print(f"    c={c:3}  {r['rps']:7.0f} req/s  p50 {r['p50']:7.2f}  p99 {r['p99']:7.2f} "
                  f"errors {r['errors']}  {'ok' if ok else 'over the bound'}")
            if ok and (not best or r["rps"] > best[1]["rps"]):
                best = (c, r)
            over = 0 if ok else over + 1
            if over == 2:
                break
        row["out"], row["out_steps"] = best, steps
    finally:
        if loader:
            so, se = stop_proc(loader)
            lr = next((r for r in parse_results(so) if r["kind"] == "load"), None)
            row["load"] = lr
            if lr:
                print(f"    the writer meanwhile: offered {lr['offered_fps']:.0f} frames/s, "
                      f"committed {lr['achieved_fps']:.0f}, lag at end {lr['lag_end_s']:.2f} s "
                      f"(max {lr['lag_max_s']:.2f} s): "
                      f"{'kept up' if lr['keeps_up'] else 'fell behind'}")
            elif se.strip():
                print(f"    the writer: {redact(se.strip()[-300:])}")
        stop_proc(api)


def print_table(rows, args):
    def g(d, *ks, fmt="{:.0f}"):
        for k in ks:
            if not d or k not in d or d[k] is None:
                return "-"
            d = d[k]
        return fmt.format(d)

    print(f"\nsummary (frames of 4 cameras, {args.dets} detections per frame, sink batches of "
          f"64 rows; API wrk c={args.conc}; p in ms)")
    head = ["", *(r["name"] for r in rows)]
    lines = [
        ("frames/s (frame_put alone, median)", lambda r: g(r, "rate", "frames_per_s")),
        ("  frame_put p50 / p99 ms", lambda r: g(r, "rate", "frame_put_p50_ms", fmt="{:.2f}") +
         " / " + g(r, "rate", "frame_put_p99_ms", fmt="{:.2f}")),
        ("detection rows/s (batches alone, median)", lambda r: g(r, "rate", "det_rows_per_s")),
        ("  results_put p50 / p99 ms", lambda r: g(r, "rate", "results_put_p50_ms", fmt="{:.2f}")
         + " / " + g(r, "rate", "results_put_p99_ms", fmt="{:.2f}")),
        ("incoming limit frames/s (both writers)", lambda r: g(r, "limit", "limit_fps")),
        ("  = detection rows/s", lambda r: g(r, "limit", "limit_det_rows_per_s")),
        ("write load for (b), (d): frames/s", lambda r: g(r, "load_fps")),
    ]
    for p in ROUTES:
        short = p.split("/api/v1/")[1].split("&")[0]
        lines.append((f"{short} p50/p99 idle", lambda r, p=p: g(r, "idle", p, "p50",
                                                               fmt="{:.2f}") + " / " +
                      g(r, "idle", p, "p99", fmt="{:.2f}")))
        lines.append((f"{short} p50/p99 writing", lambda r, p=p: g(r, "busy", p, "p50",
                                                                  fmt="{:.2f}") + " / " +
                      g(r, "busy", p, "p99", fmt="{:.2f}")))
    lines.append((f"outgoing limit req/s (lists, p99 <= {args.p99_ms:g} ms)",
                  lambda r: (f"{r['out'][1]['rps']:.0f} (c={r['out'][0]})" if r.get("out")
                             else "-")))
    lines.append(("writer lag during (b)+(d) end/max s",
                  lambda r: g(r, "load", "lag_end_s", fmt="{:.2f}") + " / " +
                  g(r, "load", "lag_max_s", fmt="{:.2f}")))
    w0 = max(len(label) for label, _ in lines)
    cells = [[f(r) for r in rows] for _, f in lines]
    w = max([len(h) for h in head[1:]] + [len(c) for cs in cells for c in cs])
    print(f"{'':{w0}} | " + " | ".join(f"{h:>{w}}" for h in head[1:]))
    for (label, _), cs in zip(lines, cells):
        print(f"{label:{w0}} | " + " | ".join(f"{c:>{w}}" for c in cs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--backends", default="sqlite,postgres,postgres-async")
    ap.add_argument("--rate-seconds", type=float, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--step-seconds", type=float, default=3)
    ap.add_argument("--factor", type=float, default=1.4)
    ap.add_argument("--max-steps", type=int, default=8)
    ap.add_argument("--api-seconds", type=int, default=3)
    ap.add_argument("--conc", type=int, default=4)
    ap.add_argument("--out-conc", default="1,2,4,8,16,32,64")
    ap.add_argument("--p99-ms", type=float, default=50)
    ap.add_argument("--load-fraction", type=float, default=0.5)
    ap.add_argument("--seed-frames", type=int, default=1000)
    ap.add_argument("--port-base", type=int, default=19850,
                    help="PostgreSQL on BASE, vigil api on BASE+1, FerretDB on BASE+2")
    args = ap.parse_args()
    args.vigil = os.path.join(args.build, "vigil")
    args.dets = 8
    args.out_conc = [int(c) for c in args.out_conc.split(",")]
    backends = [n for n in args.backends.split(",") if n]
    for n in backends:
        if n not in ("sqlite", "postgres", "postgres-async", "mongo"):
            raise SystemExit(f"bench/store: unknown backend \"{n}\" "
                             "(sqlite, postgres, postgres-async, mongo)")

    args.work = tempfile.mkdtemp(prefix="bench-store-")
    os.chmod(args.work, 0o755)  # the PostgreSQL cluster under it runs as user postgres
    load0 = os.getloadavg()
    t0 = time.time()
    print(f"bench/store: {cpu_model()}, {os.cpu_count()} CPUs, load average "
          f"{load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    print(f"  work dir {args.work}: fdatasync of 8 KiB {fdatasync_rate(args.work):.0f}/s; "
          f"{tool_version(['wrk', '-v']).split(' Copyright')[0]}")
    rows = []
    try:
        for n in backends:
            rows.append(run_backend(Backend(n, args.work, args.port_base), args,
                                    args.port_base + 1))
        print_table(rows, args)
        load1 = os.getloadavg()
        print(f"\nload average at the end {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} "
              f"(start {load0[0]:.2f}); {time.time() - t0:.0f} s in all")
        for r in rows:
            print(f"  {r['name']}: " + ", ".join(f"{k}={v}" for k, v in r["settings"].items()))
        sys.stdout.flush()
    finally:
        subprocess.run(["rm", "-rf", args.work])  # tens of thousands of frame files


if __name__ == "__main__":
    main()
