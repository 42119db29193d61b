"""End to end: live views of `vigil run` on the sample video.

GET /api/v1/cameras/{id}/live.mjpeg sends valid JPEGs of the camera's size,
and ?boxes=1 draws into them (the configured zone and line, the motion
boxes); GET /api/v1/stream delivers detections and analytics events as
Server-Sent Events, and with analytics running its boxes carry track ids; and clients that connect and then stop reading neither
grow vigil's memory (VmRSS) nor slow the pipeline (ingest keeps the
camera's rate). JPEGs are decoded with ffmpeg, the only image decoder the
machine is sure to have."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
from vigil_harness import MULT, Vigil, check, media, run_tests, skip  # noqa: E402

FPS = 10


def config(video):
    return f"""
ingest:
  realtime: true
infer:
  model: motion
preprocess:
  motion_threshold: 0.003
analytics:
  enabled: true
  min_hits: 2
cameras:
  - id: street
    name: Street
    url: "{video}"
    fps: {FPS}
    loop: true
    zones:
      - id: walk
        polygon: [[0.1, 0.4], [0.9, 0.4], [0.9, 0.95], [0.1, 0.95]]
    lines:
      - id: middle
        points: [[0.5, 0.0], [0.5, 1.0]]
"""


def open_stream(v, path, rcvbuf=0):
    """A socket with the request sent (HTTP/1.0: no chunked framing) and
    the response head read; returns (sock, status, head, rest of the bytes)."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(15 * MULT)
    s.connect(("127.0.0.1", v.port))
    auth = f"Authorization: Bearer {v.token}\r\n" if getattr(v, "token", None) else ""
    s.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{v.port}\r\n{auth}\r\n".encode())
    if rcvbuf:
        return s, None, "", b""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        check(chunk, f"{path}: closed before the response head")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    head = head.decode("latin-1")
    status = int(head.split()[1])
    return s, status, head, rest


class Parts:
    """Reads multipart/x-mixed-replace parts from a socket."""

    def __init__(self, sock, rest):
        self.sock, self.buf = sock, rest

    def next(self):
        while True:
            self.buf = self.buf.lstrip(b"\r\n")
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                head = self.buf[:end].decode("latin-1")
                check(head.startswith("--vigil-live-frame\r\n"), f"part head {head!r}")
                n = int(re.search(r"Content-Length: (\d+)", head).group(1))
                seq = int(re.search(r"X-Sequence: (\d+)", head).group(1))
                if len(self.buf) >= end + 4 + n + 2:
                    body = self.buf[end + 4:end + 4 + n]
                    self.buf = self.buf[end + 4 + n:]
                    return seq, body
            chunk = self.sock.recv(1 << 20)
            check(chunk, "the MJPEG stream ended")
            self.buf += chunk


def decode_rgb(jpeg, tmp):
    """(width, height, rgb bytes) of a JPEG, via ffprobe and ffmpeg."""
    path = os.path.join(tmp, "part.jpg")
    with open(path, "wb") as f:
        f.write(jpeg)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=width,height,codec_name",
                            "-of", "json", path], capture_output=True, timeout=30)
    check(probe.returncode == 0, f"ffprobe refused a part: {probe.stderr.decode()[-300:]}")
    st = json.loads(probe.stdout)["streams"][0]
    check(st["codec_name"] == "mjpeg", f"not a JPEG: {st}")
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "-"], capture_output=True, timeout=30)
    check(raw.returncode == 0, f"ffmpeg cannot decode a part: {raw.stderr.decode()[-300:]}")
    check(len(raw.stdout) == st["width"] * st["height"] * 3, "decoded size")
    return st["width"], st["height"], raw.stdout


def need_tools():
    for tool in ("ffmpeg", "ffprobe"):
        if not shutil.which(tool):
            skip(f"{tool} not installed (Debian package ffmpeg)")


def test_mjpeg_parts_are_jpegs_and_boxes_are_drawn_into_them():
    need_tools()
    video = media("vtest.avi")
    tmp = tempfile.mkdtemp(prefix="vigil-live-")
    with Vigil([], config=config(video)) as v:
        v.wait_for("frames", lambda: v.json("/api/v1/stats")["stages"].get("ingest", {})
                   .get("out", 0) > 5)
        plain_s, status, head, rest = open_stream(v, "/api/v1/cameras/street/live.mjpeg?fps=5")
        check(status == 200, f"status {status}: {head}")
        check("multipart/x-mixed-replace; boundary=vigil-live-frame" in head, head)
        plain = Parts(plain_s, rest)
        boxed_s, status, head, rest = open_stream(v, "/api/v1/cameras/street/live.mjpeg?boxes=1&fps=5")
        check(status == 200, f"status {status}: {head}")
        boxed = Parts(boxed_s, rest)

        seqs, t0 = [], time.time()
        for _ in range(6):
            seq, jpeg = plain.next()
            check(jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9", "not JPEG-framed")
            w, h, _ = decode_rgb(jpeg, tmp)
            check((w, h) == (768, 576), f"part of {w}x{h}, the camera is 768x576")
            seqs.append(seq)
        secs = time.time() - t0
        check(seqs == sorted(seqs) and len(set(seqs)) == len(seqs), f"sequences {seqs}")
        # fps=5: 6 parts take about a second (the first is due at once)
        check(secs >= 0.8, f"6 parts in {secs:.2f} s at fps=5")

        # the same frame drawn and not: the zone's top edge (y = 0.4 of 576) and
        # the line (x = 0.5 of 768) are coloured in the drawn one only
        plain_frames, boxed_frames, common = {}, {}, set()
        for _ in range(40):
            seq, jpeg = plain.next()
            plain_frames[seq] = jpeg
            bseq, bjpeg = boxed.next()
            boxed_frames[bseq] = bjpeg
            common = set(plain_frames) & set(boxed_frames)
            if common:
                break
        check(common, "no frame arrived on both streams")
        bseq = max(common)
        bjpeg = boxed_frames[bseq]
        _, _, a = decode_rgb(plain_frames[bseq], tmp)
        _, _, b = decode_rgb(bjpeg, tmp)
        def diff_at(x, y):
            i = (y * 768 + x) * 3
            return sum(abs(a[i + k] - b[i + k]) for k in range(3))
        zone = max(diff_at(x, y) for x in range(200, 600, 7) for y in (229, 230, 231))
        line = max(diff_at(x, y) for x in (383, 384, 385) for y in range(20, 200, 7))
        check(zone > 150, f"the zone's edge is not drawn (difference {zone})")
        check(line > 150, f"the line is not drawn (difference {line})")
        changed = sum(1 for i in range(0, len(a), 3 * 16)
                      if abs(a[i] - b[i]) + abs(a[i + 1] - b[i + 1]) + abs(a[i + 2] - b[i + 2]) > 120)
        check(changed > 50, f"only {changed} sampled pixels differ between boxes=1 and boxes=0")
        plain_s.close()
        boxed_s.close()

        st, _, body = v.get("/api/v1/cameras/nowhere/live.mjpeg")
        check(st == 404, f"unknown camera: {st} {body[:200]!r}")
        st, _, body = v.get("/api/v1/cameras/street/live.mjpeg?fps=30")
        check(st == 400 and b'"parameter":"fps"' in body, f"fps=30: {st} {body[:200]!r}")
        check(v.stop() == 0, "exit code after SIGTERM")
    shutil.rmtree(tmp, ignore_errors=True)


def read_sse(sock, rest, want, timeout):
    """Reads SSE blocks until every event name in `want` was seen; returns
    {event: [(id, data)]}."""
    seen, buf = {}, rest
    deadline = time.time() + timeout * MULT
    while not all(w in seen for w in want):
        check(time.time() < deadline, f"SSE: saw {sorted(seen)} of {want} in time")
        while b"\n\n" in buf:
            block, buf = buf.split(b"\n\n", 1)
            ev, eid, data = None, None, None
            for line in block.decode().split("\n"):
                if line.startswith("event: "):
                    ev = line[7:]
                elif line.startswith("id: "):
                    eid = int(line[4:])
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
            if ev:
                seen.setdefault(ev, []).append((eid, data))
        chunk = sock.recv(65536)
        check(chunk, "the event stream ended")
        buf += chunk
    return seen


def test_sse_delivers_detections_and_events():
    video = media("vtest.avi")
    with Vigil([], config=config(video)) as v:
        s, status, head, rest = open_stream(v, "/api/v1/stream?cameras=street")
        check(status == 200 and "text/event-stream" in head, f"{status}: {head}")
        seen = read_sse(s, rest, ("detection", "event"), 120)
        s.close()
        eid, det = seen["detection"][0]
        check(eid and det["camera"] == "street" and det["items"], f"detection {det}")
        check(all(i["label"] == "motion" and len(i["box"]) == 4 for i in det["items"]),
              f"detection items {det['items']}")
        eid, ev = seen["event"][0]
        check(ev["type"] in ("zone_enter", "zone_leave", "line_cross", "loiter"), f"event {ev}")
        check(ev["payload"]["camera"] == "street", f"event payload {ev}")
        ids = [i for lst in seen.values() for i, _ in lst if i]
        check(len(ids) == len(set(ids)), "an id was sent twice")

        last = max(ids)

        # analytics' tracks reach the stream: boxes with "track" ids within a
        # few seconds, each frame shown once from then on (its plain
        # detections are not sent as well); capture-to-SSE delay printed
        s, status, head, rest = open_stream(v, "/api/v1/stream?cameras=street&types=detections")
        check(status == 200, f"{status}: {head}")
        t0, tracked, seqs, delays, buf = time.time(), None, [], [], rest
        while tracked is None or len(delays) < 30:
            check(time.time() - t0 < (10 if tracked is None else 60) * MULT,
                  "no detection with a track id within 10 s" if tracked is None
                  else f"only {len(delays)} tracked frames in 60 s")
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                data = [l[6:] for l in block.decode().split("\n") if l.startswith("data: ")]
                if not data:
                    continue
                det = json.loads(data[0])
                if tracked is None and any("track" in i for i in det["items"]):
                    tracked = time.time() - t0
                if tracked is not None:
                    seqs.append(det["sequence"])
                    delays.append(time.time() * 1e6 - det["time_us"])
                    for i in det["items"]:
                        check("track" not in i or (isinstance(i["track"], int) and i["track"] > 0),
                              f"track id {i}")
            chunk = s.recv(65536)
            check(chunk, "the event stream ended")
            buf += chunk
        s.close()
        check(seqs == sorted(set(seqs)), f"a frame shown twice or out of order: {seqs}")
        delays.sort()
        print(f"first box with a track id {tracked:.2f} s after the stream opened; capture to "
              f"SSE delay of tracked frames: median {delays[len(delays) // 2] / 1e3:.0f} ms, "
              f"max {delays[-1] / 1e3:.0f} ms ({len(delays)} frames)")

        # resume: the last id seen gives exactly what came after it
        s, status, head, rest = open_stream(v, f"/api/v1/stream?cameras=street&last_event_id={last - 3}")
        got = read_sse(s, rest, ("detection",), 30)
        s.close()
        first = min(i for lst in got.values() for i, _ in lst if i)
        check(first == last - 2 or "reset" in got, f"resumed at {first}, want {last - 2}")
        check(v.stop() == 0, "exit code after SIGTERM")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))


def ingest_out(v):
    return v.json("/api/v1/stats")["stages"].get("ingest", {}).get("out", 0)


def test_stalled_clients_grow_no_memory_and_do_not_slow_the_pipeline():
    video = media("vtest.avi")
    with Vigil([], config=config(video)) as v:
        v.wait_for("frames", lambda: ingest_out(v) > 2 * FPS)
        # the pipeline's pace with nobody watching
        n0, t0 = ingest_out(v), time.time()
        time.sleep(5)
        base_rate = (ingest_out(v) - n0) / (time.time() - t0)

        # clients with a 4 KiB window that never read
        stalled = [open_stream(v, p, rcvbuf=4096)[0] for p in (
            "/api/v1/cameras/street/live.mjpeg?fps=15",
            "/api/v1/cameras/street/live.mjpeg?fps=15&boxes=1",
            "/api/v1/cameras/street/live.mjpeg?fps=5",
            "/api/v1/stream",
            "/api/v1/stream?types=detections",
        )]
        time.sleep(4)  # their buffers fill up
        rss0 = rss_kb(v.proc.pid)
        n1, t1 = ingest_out(v), time.time()
        time.sleep(15)
        rate = (ingest_out(v) - n1) / (time.time() - t1)
        rss1 = rss_kb(v.proc.pid)
        print(f"ingest {base_rate:.1f} fps alone, {rate:.1f} fps with 5 stalled clients; "
              f"VmRSS {rss0} kB -> {rss1} kB")
        # 15 s of 10 fps 768x576 frames is 150 frames (~10 MB): a queue per
        # client would grow by that much per client
        check(rss1 - rss0 < 8 * 1024, f"VmRSS grew {rss1 - rss0} kB in 15 s with stalled clients")
        check(rate >= 0.8 * base_rate and rate >= 0.8 * FPS,
              f"ingest slowed to {rate:.1f} fps with stalled clients (alone {base_rate:.1f})")
        # and the API still answers at once
        t = time.time()
        check(v.json("/healthz")["status"] in ("ok", "degraded"), "healthz")
        check(time.time() - t < 2 * MULT, "healthz was slow with stalled streams")
        for s in stalled:
            s.close()
        check(v.stop() == 0, "exit code after SIGTERM with stalled streams")


if __name__ == "__main__":
    run_tests([test_mjpeg_parts_are_jpegs_and_boxes_are_drawn_into_them,
               test_sse_delivers_detections_and_events,
               test_stalled_clients_grow_no_memory_and_do_not_slow_the_pipeline])
