#!/usr/bin/env python3
"""Distributed vigil on a real 3-broker Kafka cluster: scale-out, retention,
bad input, unreachable bootstrap. Starts and stops its own cluster.

- scale out: frames has 6 partitions; a backlog of frames from 6 cameras (one
  per partition) is consumed by 1, 2 and 3 preprocess processes in turn;
  every frame is processed once (sum of vigil_stage_in_total over the
  workers = backlog), every worker processed some (work spread), and the
  frames/s of each run is printed (no timing assertion).
- retention: a topic with retention.ms=3000 and segment.ms=500 loses its old
  messages: its low watermark moves above 0.
- bad input: garbage, a truncated protobuf and a frame with a corrupt JPEG on
  frames are logged with topic/partition/offset (or the camera and
  sequence), counted failed, skipped; the worker goes on and stores the next
  good frames.
- unreachable bootstrap: a stage exits non-zero with "no broker reachable"
  within a bounded time.
Exit 77 when java/mvn, the binary or vtest.avi are missing.
"""
import os
import re
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import test_kafka_failures as kf  # noqa: E402  (shared helpers)

PORT_BASE = int(os.environ.get("VIGIL_KAFKA_OPSTEST_PORT_BASE") or "25092")
kf.CLUSTER_ENV.update(VIGIL_KAFKA_DIR="/tmp/vigil-kafka-opstest-%s" % os.environ.get("USER", os.getuid()),
                      VIGIL_KAFKA_PORT_BASE=str(PORT_BASE),
                      VIGIL_KAFKA_CONTROLLER_PORT_BASE=str(PORT_BASE + 100))
MULT = kf.MULT
VIGIL = kf.VIGIL


def metric(port, family, stage):
    try:
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    except Exception:
        return 0
    total = 0
    for line in text.splitlines():
        if line.startswith(family + "{") and 'stage="%s"' % stage in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def lag_partitions(port):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    return {int(m) for m in re.findall(r'vigil_consumer_lag\{topic="frames",partition="(\d+)"\}', text)}


def cameras_for(n):
    cams, i = [], 0
    while len(cams) < n:
        c = "cam%d" % i
        if kf.fnv_partition(c, n) not in [kf.fnv_partition(x, n) for x in cams]:
            cams.append(c)
        i += 1
    return cams


def scale_out(work, bus):
    cams = cameras_for(6)
    cfg = os.path.join(work, "scale.yaml")
    with open(cfg, "w") as f:
        f.write("ingest:\n  realtime: false\npreprocess:\n  motion_threshold: 0\ncameras:\n")
        for c in cams:
            f.write("  - id: %s\n    url: %s\n    fps: 1\n    loop: false\n" % (c, kf.VIDEO))
    def frames_high():
        return sum(int(l.split()[-1]) for l in subprocess.run(
            [VIGIL, "kafka", "describe", "--bus", bus, "frames"], capture_output=True, text=True,
            check=True).stdout.splitlines())
    before = frames_high()  # what earlier cases published (and group "preprocess" consumed)
    for k in (1, 2, 3):
        s = kf.Services(work, bus, cfg)
        try:
            # the workers join first (each owns partitions), then the frames come
            t0 = time.time()
            names = ["scale-pre%d-%d" % (k, i) for i in range(k)]
            for name in names:
                s.start("preprocess", name, extra_args=["--http", "127.0.0.1:0"])
            ports = [kf.service_port(work, name) for name in names]

            def joined():
                try:
                    return all(lag_partitions(p) for p in ports)
                except Exception:
                    return False
            kf.wait_for("%d workers to join" % k, joined, 60)
            time.sleep(3)  # cooperative rebalancing settles
            t_ing = time.time()
            ing = s.start("ingest", "scale-ingest%d" % k)
            kf.wait_for("the frames", lambda: ing.poll() is not None or "every source has ended" in
                        open(os.path.join(work, "scale-ingest%d.log" % k)).read(), 120)
            ing.terminate()
            ing.wait()
            high = frames_high()
            backlog, before = high - before, high
            first = [None]
            counts = [0] * k

            def done():
                counts[:] = [metric(p, "vigil_stage_in_total", "preprocess") for p in ports]
                total = sum(counts)
                if total > 0 and first[0] is None:
                    first[0] = (time.time(), total)
                return total >= backlog
            kf.wait_for("%d workers to consume the backlog of %d frames" % (k, backlog), done, 180)
            t1 = time.time()
            owned = set()
            for p in ports:
                owned |= lag_partitions(p)
            total = sum(counts)
            rate = total / (t1 - t_ing)  # ingest -> preprocess, bounded by ingest's own rate
            print("scale out: %d preprocess worker(s): %s frames each (total %d of %d), partitions "
                  "%s, %.0f frames/s (ingest start to last frame processed), %.1f s from start (with group join)" %
                  (k, counts, total, backlog, sorted(owned), rate, t1 - t0))
            assert total == backlog, "frames processed %d != published %d" % (total, backlog)
            assert owned == set(range(6)), "not every partition consumed: %s" % sorted(owned)
            assert all(c > 0 for c in counts), "work not spread: %s" % counts
        finally:
            s.stop_all()


def retention(work, bus):
    subprocess.run([VIGIL, "kafka", "create", "--bus", bus, "short-lived", "--partitions", "1",
                    "--retention-ms", "3000", "--segment-ms", "500"], check=True)
    for i in range(3):
        subprocess.run([VIGIL, "kafka", "produce", "--bus", bus, "short-lived", "k"],
                       input=b"x" * 1000, check=True)
        time.sleep(1)

    def low():
        out = subprocess.run([VIGIL, "kafka", "describe", "--bus", bus, "short-lived"],
                             capture_output=True, text=True, check=True).stdout.split()
        return int(out[out.index("low") + 1]), int(out[out.index("high") + 1])
    print("retention: before purge low/high = %s" % (low(),))
    kf.wait_for("the low watermark to move", lambda: low()[0] > 0, 90)
    print("retention: after purge low/high = %s" % (low(),))


def pb_varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb_frame(cam, seq, jpeg):
    def field(n, wt, payload):
        return pb_varint(n << 3 | wt) + payload
    return (field(1, 0, pb_varint(1)) + field(2, 2, pb_varint(len(cam)) + cam.encode()) +
            field(3, 0, pb_varint(seq)) + field(4, 0, pb_varint(int(time.time() * 1e6))) +
            field(5, 0, pb_varint(768)) + field(6, 0, pb_varint(576)) +
            field(7, 2, pb_varint(len(jpeg)) + jpeg))


def bad_input(work, bus):
    cfg = os.path.join(work, "bad.yaml")
    with open(cfg, "w") as f:
        f.write("ingest:\n  realtime: false\ncameras:\n  - id: badcam\n    url: %s\n    fps: 1\n"
                "    loop: false\n" % kf.VIDEO)
    s = kf.Services(work, bus, cfg)
    db = os.path.join(work, "data", "vigil.db")
    try:
        pre = s.start("preprocess", "bad-pre")
        time.sleep(4)
        good = pb_frame("badcam", 1, b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9")
        for value in (b"\x00garbage\xff\xfe" * 10, good[:25], good):
            subprocess.run([VIGIL, "kafka", "produce", "--bus", bus, "frames", "badcam"], input=value,
                           check=True)
        s.start("ingest", "bad-ingest")
        kf.wait_for("good frames after the bad ones stored",
                    lambda: any(c == "badcam" for c, _ in kf.frames_stored(db)), 120)
        assert pre.poll() is None, "preprocess died on bad input"
        # the whole video published and consumed before stopping: scale_out counts
        # its backlog from the high watermark, so nothing may be left unconsumed here
        kf.wait_for("bad-ingest to reach the end of its video", lambda: "every source has ended" in
                    open(os.path.join(work, "bad-ingest.log")).read(), 120)
        time.sleep(3)
    finally:
        s.stop_all()
    log = open(os.path.join(work, "bad-pre.log")).read()
    bad = re.findall(r"bad frame message at frames\[\d+\]@\d+", log)
    assert len(bad) >= 2, "garbage and truncated messages not logged with topic/partition/offset"
    assert "corrupt jpeg" in log, "the corrupt JPEG was not reported"
    print("bad input: logged %s and a corrupt jpeg; later frames stored" % bad[:2])


def unreachable():
    t0 = time.time()
    r = subprocess.run([VIGIL, "preprocess", "--bus", "kafka://127.0.0.1:1?connect_timeout_ms=3000"],
                       capture_output=True, text=True, timeout=60 * MULT)
    took = time.time() - t0
    assert r.returncode != 0, "a stage with an unreachable bootstrap list did not fail"
    assert "no broker reachable" in r.stderr + r.stdout, r.stderr[-500:]
    print("unreachable bootstrap: exit %d after %.1f s with a clear error" % (r.returncode, took))


def main():
    def body(work, bus):
        retention(work, bus)
        bad_input(work, bus)
        scale_out(work, bus)
    unreachable()
    kf.run_on_cluster("ops", "session_timeout_ms=3000&join_wait_ms=8000", ["bus.partitions=6"], body)


if __name__ == "__main__":
    main()
