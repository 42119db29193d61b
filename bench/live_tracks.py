#!/usr/bin/env python3
"""What showing track ids costs the live views in time.

Runs `vigil run` on the sample video (768x576, 10 fps, looping, motion
model) twice: with analytics off, the SSE stream shows infer's detections;
with analytics on, it shows analytics' frames from topic tracks (the same
boxes with track ids). For each run it reads N detection messages of
/api/v1/stream and prints the delay from the frame's capture time to the
message's arrival at the client (median, p90, max), and with analytics how
many carried at least one track id. The difference of the medians is what
analytics adds. Prints, never asserts (bench/ rule).

  VIGIL_BINARY=build/vigil python3 bench/live_tracks.py [--frames 100]
"""
import argparse
import json
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
sys.dont_write_bytecode = True
from vigil_harness import Vigil, media  # noqa: E402

CONFIG = """
ingest:
  realtime: true
infer:
  model: motion
preprocess:
  motion_threshold: 0.003
analytics:
  enabled: {analytics}
  min_hits: 2
cameras:
  - id: street
    url: "{video}"
    fps: 10
    loop: true
"""


def delays(v, n):
    s = socket.create_connection(("127.0.0.1", v.port), timeout=30)
    auth = f"Authorization: Bearer {v.token}\r\n" if getattr(v, "token", None) else ""
    s.sendall(f"GET /api/v1/stream?types=detections HTTP/1.0\r\nHost: 127.0.0.1:{v.port}\r\n"
              f"{auth}\r\n".encode())
    buf, out, tracked = b"", [], 0
    while len(out) < n:
        while b"\n\n" in buf and len(out) < n:
            block, buf = buf.split(b"\n\n", 1)
            data = [l[6:] for l in block.decode("latin-1").split("\n") if l.startswith("data: ")]
            if data and data[0].startswith("{"):
                det = json.loads(data[0])
                out.append(time.time() * 1e6 - det["time_us"])
                tracked += any("track" in i for i in det["items"])
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return sorted(out), tracked


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=100)
    args = ap.parse_args()
    video = media("vtest.avi")
    print(f"{'analytics':>9} | {'frames':>6} | {'with ids':>8} | {'median ms':>9} | "
          f"{'p90 ms':>6} | {'max ms':>6}")
    for analytics in ("false", "true"):
        with Vigil([], config=CONFIG.format(analytics=analytics, video=video)) as v:
            v.wait_for("frames", lambda: v.json("/api/v1/stats")["stages"].get("ingest", {})
                       .get("out", 0) > 20)
            d, tracked = delays(v, args.frames)
            v.stop()
        if not d:
            print(f"{analytics:>9} | no detections")
            continue
        print(f"{analytics:>9} | {len(d):>6} | {tracked:>8} | {d[len(d) // 2] / 1e3:>9.0f} | "
              f"{d[int(len(d) * 0.9)] / 1e3:>6.0f} | {d[-1] / 1e3:>6.0f}")


if __name__ == "__main__":
    main()
