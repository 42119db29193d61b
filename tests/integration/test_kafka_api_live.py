#!/usr/bin/env python3
"""Live views in distributed mode, on a real 3-broker Kafka cluster
(docs/api.md, "Live views").

Runs ingest (the sample video, looping at 5 fps), preprocess, infer (motion)
and sink as separate processes, and two `vigil api` replicas on the same bus:

1. each replica reads the bus with a consumer group of its own, so each
   streams MJPEG parts and SSE detections of the camera, and both see the
   same frames (their part sequences overlap);
2. a third replica started a while later shows only what is new: its first
   part is not older than what the others showed before it started, and its
   first detection is recent, although its new group starts at the earliest
   retained offset.
Exit 77 when java/mvn, the binary or vtest.avi are missing.
"""
import json
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import test_kafka_failures as kf  # noqa: E402  (shared helpers)
import kafka_api_support as kas  # noqa: E402

kas.use_cluster("livetest", "VIGIL_KAFKA_LIVETEST_PORT_BASE", 29092)
CAMERA = "street"


def stream(port, path):
    """A socket with GET path sent (HTTP/1.0: no chunked framing), the head read."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60 * kf.MULT)
    s.sendall(("GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n" % (path, port)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        assert chunk, "%s: closed before the head" % path
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    assert b" 200 " in head.split(b"\r\n")[0], head
    return s, rest


def parts(port, n):
    """Sequences and capture times of the next n MJPEG parts of CAMERA."""
    s, buf = stream(port, "/api/v1/cameras/%s/live.mjpeg?fps=15" % CAMERA)
    out = []
    while len(out) < n:
        buf = buf.lstrip(b"\r\n")
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = buf[:end].decode("latin-1")
            size = int(re.search(r"Content-Length: (\d+)", head).group(1))
            if len(buf) >= end + 4 + size + 2:
                jpeg = buf[end + 4:end + 4 + size]
                assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9", "not a JPEG"
                out.append((int(re.search(r"X-Sequence: (\d+)", head).group(1)),
                            int(re.search(r"X-Timestamp-Us: (\d+)", head).group(1))))
                buf = buf[end + 4 + size + 2:]
                continue
        chunk = s.recv(1 << 20)
        assert chunk, "the MJPEG stream ended"
        buf += chunk
    s.close()
    return out


def first_detection(port, timeout=120):
    s, buf = stream(port, "/api/v1/stream?types=detections&cameras=" + CAMERA)
    deadline = time.time() + timeout * kf.MULT
    try:
        while time.time() < deadline:
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                lines = block.decode().split("\n")
                if "event: detection" in lines:
                    data = [l[6:] for l in lines if l.startswith("data: ")][0]
                    return json.loads(data)
            chunk = s.recv(65536)
            assert chunk, "the event stream ended"
            buf += chunk
    finally:
        s.close()
    raise AssertionError("no detection on replica port %d within %d s" % (port, timeout))


def run(work, bus):
    cfg = os.path.join(work, "live.yaml")
    with open(cfg, "w") as f:
        f.write("auth:\n  enabled: false\ningest:\n  realtime: true\ninfer:\n  model: motion\n"
                "preprocess:\n  motion_threshold: 0.003\n"
                "cameras:\n  - id: %s\n    url: %s\n    fps: 5\n    loop: true\n"
                % (CAMERA, kf.VIDEO))
    s = kf.Services(work, bus, cfg)
    try:
        s.start("sink", "sink")
        s.start("infer", "infer")
        s.start("preprocess", "pre")
        s.start("api", "api1", extra_args=["--http", "127.0.0.1:0"])
        s.start("api", "api2", extra_args=["--http", "127.0.0.1:0"])
        p1, p2 = kas.api_port(work, "api1", 60), kas.api_port(work, "api2", 60)
        s.start("ingest", "ingest")

        # 1. both replicas stream the camera, and the same frames
        d1, d2 = first_detection(p1), first_detection(p2)
        for d in (d1, d2):
            assert d["camera"] == CAMERA and d["items"], d
            assert all(i["label"] == "motion" for i in d["items"]), d
        a = parts(p1, 4)
        b = parts(p2, 4)
        seq_a, seq_b = [q for q, _ in a], [q for q, _ in b]
        assert seq_a == sorted(set(seq_a)) and seq_b == sorted(set(seq_b)), (seq_a, seq_b)
        later = parts(p1, 1)[0][0]
        assert later > seq_a[-1], (later, seq_a)
        print("replica 1 parts %s, replica 2 parts %s" % (seq_a, seq_b))
        # replica 2's parts fall inside what replica 1 showed around them
        assert seq_a[0] - 20 <= seq_b[0] <= later + 20, (seq_a, seq_b, later)

        # 2. a replica that joins late skips what was published before it started
        # (messages up to 5 s older than the start still count as live, for
        # clocks a little apart: the frame compared with is older than that)
        newest_before = parts(p1, 1)[0][0]
        time.sleep(6)
        t_start_us = int(time.time() * 1e6)
        s.start("api", "api3", extra_args=["--http", "127.0.0.1:0"])
        p3 = kas.api_port(work, "api3", 60)
        first = parts(p3, 1)[0]
        assert first[0] >= newest_before, ("replica 3 showed an old frame", first, newest_before)
        d3 = first_detection(p3)
        age_s = (t_start_us - d3["time_us"]) / 1e6
        assert age_s < 8, "replica 3's first detection is %.1f s older than its start" % age_s
        print("replica 3: first part %d (newest before it started %d), first detection %.1f s "
              "before its start" % (first[0], newest_before, max(age_s, 0)))
    finally:
        s.stop_all()


def main():
    kas.run_on_cluster("live", run)


if __name__ == "__main__":
    main()
