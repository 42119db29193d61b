#!/usr/bin/env python3
"""How many concurrent MJPEG viewers at 5 fps one core sustains.

Runs `vigil run` pinned to one core (taskset) on the sample video (768x576,
10 fps, looping, motion model) and opens N viewers of
/api/v1/cameras/street/live.mjpeg?fps=5 from an asyncio client pinned to the
other cores. For each N it measures, over a window, the parts each viewer
got per second, vigil's CPU use (of the one core) and ingest's frame rate.
N is sustained when every viewer gets at least 90% of 5 fps and ingest keeps
90% of the camera's rate. Prints a table and the largest N sustained; never
asserts (bench/ rule).

  python3 bench/api_live.py [--binary build/vigil] [--video PATH] [--boxes]
                            [--counts 1,8,16,...] [--window 10]

The client parses each part's Content-Length and skips its bytes without
copying them, so it is not the bottleneck (check its own CPU column)."""
import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CAMERA_FPS = 10
VIEW_FPS = 5


def media_video():
    d = os.environ.get("VIGIL_MEDIA") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "vigil", "media")
    return os.path.join(d, "vtest.avi")


def config(video):
    return f"""
http:
  live_max_streams: 4096
ingest:
  realtime: true
infer:
  model: motion
analytics:
  enabled: false
cameras:
  - id: street
    url: "{video}"
    fps: {CAMERA_FPS}
    loop: true
"""


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=60, **kw)


def viewer_token(binary, data_dir, cfg):
    common = ["--data-dir", data_dir, "--config", cfg]
    r = run([binary, "user", "add", "bench-viewer", "--role", "viewer"] + common,
            input=b"bench-password-1\n")
    if r.returncode != 0 and b"exists" not in r.stdout + r.stderr:
        sys.exit(f"vigil user add: {r.stderr.decode()[-400:]}")
    r = run([binary, "token", "create", "bench-viewer", "--scope", "read"] + common)
    if r.returncode != 0:
        sys.exit(f"vigil token create: {r.stderr.decode()[-400:]}")
    return r.stdout.decode().strip().splitlines()[-1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


class Viewer:
    def __init__(self):
        self.parts = 0
        self.bytes = 0
        self.error = None


async def view(port, path, token, v, stop):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n"
                     f"Authorization: Bearer {token}\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            v.error = head.split(b"\r\n", 1)[0].decode()
            return
        while not stop.is_set():
            line = await reader.readuntil(b"\r\n\r\n")  # a part's head (after a CRLF)
            m = re.search(rb"Content-Length: (\d+)", line)
            if not m:
                continue
            n = int(m.group(1)) + 2
            while n:
                chunk = await reader.read(min(n, 1 << 20))
                if not chunk:
                    raise ConnectionError("closed")
                n -= len(chunk)
                v.bytes += len(chunk)
            v.parts += 1
        writer.close()
    except Exception as e:  # noqa: BLE001 -- reported in the table
        if not stop.is_set():
            v.error = repr(e)


async def measure(port, token, n, boxes, window, pid, stats):
    path = f"/api/v1/cameras/street/live.mjpeg?fps={VIEW_FPS}" + ("&boxes=1" if boxes else "")
    stop = asyncio.Event()
    viewers = [Viewer() for _ in range(n)]
    tasks = [asyncio.create_task(view(port, path, token, v, stop)) for v in viewers]
    await asyncio.sleep(5)  # connect, first parts, socket buffers settle
    p0 = [v.parts for v in viewers]
    b0 = sum(v.bytes for v in viewers)
    c0, i0, t0 = cpu_seconds(pid), stats(), time.time()
    me0 = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.sleep(window)
    dt = time.time() - t0
    c1, i1 = cpu_seconds(pid), stats()
    me1 = resource.getrusage(resource.RUSAGE_SELF)
    rates = sorted((v.parts - a) / dt for v, a in zip(viewers, p0))
    mb = (sum(v.bytes for v in viewers) - b0) / dt / 1e6
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    errors = [v.error for v in viewers if v.error]
    client_cpu = (me1.ru_utime + me1.ru_stime - me0.ru_utime - me0.ru_stime) / dt
    return {
        "n": n, "min_fps": rates[0], "median_fps": rates[len(rates) // 2],
        "mb_s": mb, "vigil_cpu": (c1 - c0) / dt, "ingest_fps": (i1 - i0) / dt,
        "client_cpu": client_cpu, "errors": errors, "rss_mb": rss_mb(pid),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "vigil"))
    ap.add_argument("--video", default=media_video())
    ap.add_argument("--boxes", action="store_true", help="viewers ask for boxes=1")
    ap.add_argument("--counts", default="1,8,16,32,64,128,256,512")
    ap.add_argument("--window", type=float, default=10)
    ap.add_argument("--core", type=int, default=0, help="the core vigil runs on")
    args = ap.parse_args()
    if not os.path.exists(args.video):
        sys.exit(f"{args.video} missing (scripts/setup.sh media)")
    if not shutil.which("taskset"):
        sys.exit("taskset missing (util-linux)")
    ncpu = os.cpu_count() or 1
    others = {c for c in range(ncpu) if c != args.core} or {args.core}
    os.sched_setaffinity(0, others)

    tmp = tempfile.mkdtemp(prefix="vigil-bench-live-")
    data, cfg, log_path = (os.path.join(tmp, x) for x in ("data", "vigil.yaml", "vigil.log"))
    with open(cfg, "w") as f:
        f.write(config(args.video))
    token = viewer_token(args.binary, data, cfg)
    log = open(log_path, "w+")
    proc = subprocess.Popen(["taskset", "-c", str(args.core), args.binary, "run", "--http",
                             "127.0.0.1:0", "--data-dir", data, "--config", cfg],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        port = None
        for _ in range(300):
            m = re.search(r"api listening on http://[^ ]+ \(port (\d+)\)", open(log_path).read())
            if m:
                port = int(m.group(1))
                break
            if proc.poll() is not None:
                sys.exit("vigil exited:\n" + open(log_path).read()[-2000:])
            time.sleep(0.1)
        if not port:
            sys.exit("vigil did not listen")

        def ingest_out():
            req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/stats",
                                         headers={"Authorization": "Bearer " + token})
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.load(r)["stages"].get("ingest", {}).get("out", 0)

        time.sleep(3)
        print(f"vigil run on core {args.core}, sample video 768x576 at {CAMERA_FPS} fps; viewers "
              f"at fps={VIEW_FPS}{' with boxes=1' if args.boxes else ''}; {args.window:.0f} s "
              "windows")
        print(f"{'viewers':>8} {'min fps':>8} {'median':>8} {'MB/s':>7} {'vigil cpu':>10} "
              f"{'ingest fps':>11} {'RSS MB':>7} {'client cpu':>11} {'errors':>7}")
        best = 0
        for n in (int(x) for x in args.counts.split(",")):
            r = asyncio.run(measure(port, token, n, args.boxes, args.window, proc.pid,
                                    ingest_out))
            ok = (not r["errors"] and r["min_fps"] >= 0.9 * VIEW_FPS and
                  r["ingest_fps"] >= 0.9 * CAMERA_FPS)
            print(f"{n:>8} {r['min_fps']:>8.2f} {r['median_fps']:>8.2f} {r['mb_s']:>7.1f} "
                  f"{100 * r['vigil_cpu']:>9.0f}% {r['ingest_fps']:>11.1f} {r['rss_mb']:>7.1f} "
                  f"{100 * r['client_cpu']:>10.0f}% {len(r['errors']):>7}"
                  + ("" if ok else "   (not sustained)"), flush=True)
            if r["errors"]:
                print("   first error:", r["errors"][0])
            if ok:
                best = n
            elif r["client_cpu"] > 0.9 * len(others):
                print("   the client is saturated: this row measures the client, not vigil")
        print(f"sustained: {best} viewers at {VIEW_FPS} fps on one core")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
