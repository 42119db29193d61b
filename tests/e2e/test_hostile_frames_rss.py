"""End to end: 1,000 hostile frames leave the peak RSS of `vigil run` flat.

A camera URL points at a local MJPEG server (multipart/x-mixed-replace) that
sends 1,000 crafted parts: JPEGs whose SOF declares 65000x65000 or 4096x4096
over 64x48 data, truncated JPEGs, JPEG headers followed by garbage, plain
garbage, and every tenth part a valid 64x48 JPEG so that the stream goes on.
What ffmpeg can demux goes on as frame messages with the JPEG passed through
(preprocess refuses the corrupt ones: counted failed), the rest fails in
ingest; both counts are checked, so the parts were really consumed.
VmHWM of the process is read after the first 100 parts and after all 1,000:
the growth must stay under a fixed bound (16 MiB), whatever the count."""
import http.server
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time

from vigil_harness import MULT, Vigil, check, run_tests, skip

PARTS = 1000
BOUND_KB = 16 * 1024


def vm(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def small_jpeg(tmp):
    path = os.path.join(tmp, "small.jpg")
    r = subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc=size=64x48:rate=1", "-frames:v", "1", path],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"ffmpeg: {r.stderr}")
    with open(path, "rb") as f:
        return f.read()


def with_size(jpeg, w, h):
    """The JPEG with its SOF0 marker's declared size replaced."""
    b = bytearray(jpeg)
    i = b.find(b"\xff\xc0")
    if i < 0:
        return bytes(b)
    b[i + 5:i + 7] = h.to_bytes(2, "big")
    b[i + 7:i + 9] = w.to_bytes(2, "big")
    return bytes(b)


def hostile_parts(good):
    rnd = random.Random(11)
    kinds = [lambda: with_size(good, 65000, 65000), lambda: with_size(good, 4096, 4096),
             lambda: good[:len(good) // 2], lambda: good[:200] + os.urandom(2000),
             lambda: os.urandom(rnd.randrange(1, 5000)), lambda: b"\xff\xd8\xff\xd9"]
    for n in range(PARTS):
        yield good if n % 10 == 0 else kinds[rnd.randrange(len(kinds))]()


class Feed:
    def __init__(self, good):
        self.parts = hostile_parts(good)
        self.sent = 0
        self.lock = threading.Lock()
        feed = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace;boundary=frame")
                self.end_headers()
                try:
                    while True:
                        with feed.lock:
                            part = next(feed.parts, None)
                            if part is None:
                                return
                            feed.sent += 1
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                                         + b"Content-Length: %d\r\n\r\n" % len(part)
                                         + part + b"\r\n")
                        time.sleep(0.005)
                except OSError:
                    return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_peak_rss_flat_over_1000_hostile_frames():
    if not shutil.which("ffmpeg"):
        skip("ffmpeg is not installed (needed to make the valid part)")
    tmp = tempfile.mkdtemp(prefix="vigil-hostile-")
    try:
        feed = Feed(small_jpeg(tmp))
        cfg = f"""
infer: {{ model: motion }}
cameras:
  - {{ id: hostile, url: "http://127.0.0.1:{feed.port}/stream.mjpg", fps: 0 }}
"""
        # under ASan freed blocks wait in a quarantine (256 MiB) and RSS would
        # measure it: without one, the growth is the program's own
        asan = os.environ.get("ASAN_OPTIONS", "")
        asan = (asan + ":" if asan else "") + "quarantine_size_mb=0"
        with Vigil([], config=cfg, env={"ASAN_OPTIONS": asan}) as v:
            pid = v.proc.pid
            deadline = time.time() + 120 * MULT
            while feed.sent < 100 and time.time() < deadline:
                check(v.proc.poll() is None, "vigil exited")
                time.sleep(0.1)
            check(feed.sent >= 100, f"only {feed.sent} parts taken in time")
            time.sleep(1)
            before = vm(pid, "VmHWM")
            deadline = time.time() + 300 * MULT
            while feed.sent < PARTS and time.time() < deadline:
                check(v.proc.poll() is None, "vigil exited")
                time.sleep(0.2)
            check(feed.sent >= PARTS, f"only {feed.sent} of {PARTS} parts taken in time")
            time.sleep(2)
            after = vm(pid, "VmHWM")
            st = v.json("/api/v1/stats")["stages"]
            print("stages:", {k: st.get(k) for k in ("ingest", "preprocess")})
            # every part was read: decoded and published (hostile JPEGs go on
            # to preprocess as frame messages, which refuses them) or failed
            ing, pre = st["ingest"], st["preprocess"]
            check(ing["out"] + ing["failed"] >= PARTS * 0.9,
                  f"ingest accounted for {ing['out'] + ing['failed']} of {PARTS} parts")
            check(pre["failed"] > 0, "no hostile frame reached preprocess")
            print(f"VmHWM after 100 parts: {before} kB, after {PARTS}: {after} kB "
                  f"(+{after - before} kB); VmRSS now {vm(pid, 'VmRSS')} kB")
            check(after - before <= BOUND_KB,
                  f"peak RSS grew by {after - before} kB over {PARTS - 100} hostile parts "
                  f"(bound {BOUND_KB} kB)")
            code = v.stop()
            check(code == 0, f"exit code {code} after SIGTERM")
        feed.server.shutdown()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_peak_rss_flat_over_1000_hostile_frames])
