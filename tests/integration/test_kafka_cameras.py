#!/usr/bin/env python3
"""The camera split on a real 3-broker Kafka cluster: camera commands on topic
control drive the ingest instances (docs/kafka.md, "The camera split").

Starts its own cluster (private ports and dir), `vigil kafka init` with 4
partitions, then runs preprocess, sink and two ingest instances (no cameras
in their configuration) as separate processes and:

1. `vigil camera add` 4 cameras (vtest.avi looped, 2 fps) whose ids hash to the
   4 different control partitions: every camera is run by exactly one
   instance (its frames counter, vigil_stage_out_total{stage="ingest",
   camera}, grows on one instance's /metrics only), both instances run some,
   and the warehouse has frames of every camera (preprocess stored them).
2. kill -9 one instance: the other takes its cameras over after the session
   timeout: their counters grow on the survivor, which then runs all 4.
3. `vigil camera stop` one camera: its counter stops growing and the warehouse
   shows it "stopped" (the camera.stopped event reached the sink).
4. `vigil camera remove` another, then start a third instance: it replays the
   compacted control log, takes some partitions over (their cameras move to
   it), runs none of the stopped or removed cameras, and still every running
   camera runs on exactly one instance.
Exit 77 when java/mvn, the binary or vtest.avi are missing.
"""
import os
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import test_kafka_failures as kf  # noqa: E402  (shared helpers)

PORT_BASE = int(os.environ.get("VIGIL_KAFKA_CAMTEST_PORT_BASE") or "27092")
kf.CLUSTER_ENV.update(VIGIL_KAFKA_DIR="/tmp/vigil-kafka-camtest-%s" % os.environ.get("USER", os.getuid()),
                      VIGIL_KAFKA_PORT_BASE=str(PORT_BASE),
                      VIGIL_KAFKA_CONTROLLER_PORT_BASE=str(PORT_BASE + 100))
VIGIL = kf.VIGIL
PARTITIONS = 4


def frames_by_camera(port):
    """{camera: frames published} from one ingest instance's /metrics; None if it is down."""
    try:
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    except Exception:
        return None
    out = {}
    for line in text.splitlines():
        if line.startswith("vigil_stage_out_total{") and 'stage="ingest"' in line and 'camera="' in line:
            cam = line.split('camera="', 1)[1].split('"', 1)[0]
            out[cam] = int(float(line.rsplit(" ", 1)[1]))
    return out


def running_where(ports, cams, window=4.0):
    """{camera: [ports whose counter for it grew during the window]}."""
    before = {p: frames_by_camera(p) for p in ports}
    time.sleep(window * kf.MULT)
    after = {p: frames_by_camera(p) for p in ports}
    where = {c: [] for c in cams}
    for p in ports:
        if before[p] is None or after[p] is None:
            continue
        for c in cams:
            if after[p].get(c, 0) > before[p].get(c, 0):
                where[c].append(p)
    return where


def wait_split(what, ports, cams, check, timeout):
    deadline = time.time() + timeout * kf.MULT
    last = None
    while time.time() < deadline:
        last = running_where(ports, cams)
        if check(last):
            return last
    raise AssertionError("timed out waiting for %s; last seen: %s" % (what, last))


def camera_cmd(bus, *args):
    r = subprocess.run([VIGIL, "camera"] + list(args[:1]) + ["--bus", bus] + list(args[1:]),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def pick_cameras():
    cams, i = [], 0
    while len(cams) < PARTITIONS:  # one camera per control partition
        c = "gate%d" % i
        if kf.fnv_partition(c, PARTITIONS) not in [kf.fnv_partition(x, PARTITIONS) for x in cams]:
            cams.append(c)
        i += 1
    return cams


def run(work, bus):
    cfg = os.path.join(work, "cameras.yaml")
    with open(cfg, "w") as f:
        f.write("ingest:\n  realtime: true\npreprocess:\n  motion_threshold: 0\n")
    db = os.path.join(work, "data", "vigil.db")
    s = kf.Services(work, bus, cfg)
    cams = pick_cameras()
    ports = []
    try:
        s.start("sink", "sink")
        s.start("preprocess", "pre")
        ing = [s.start("ingest", "ingest%d" % i, extra_args=["--http", "127.0.0.1:0"])
               for i in range(2)]
        ports += [kf.service_port(work, "ingest%d" % i) for i in range(2)]
        kf.wait_for("both ingest instances to join group ingest", lambda: all(
            "following topic control" in open(os.path.join(work, "ingest%d.log" % i)).read()
            for i in range(2)), 60)
        time.sleep(3)  # the second join's cooperative rebalance settles
        for c in cams:
            print(camera_cmd(bus, "add", c, kf.VIDEO, "--fps", "2").strip())

        # 1. each camera on exactly one instance, both instances busy
        where = wait_split("every camera to run on exactly one instance", ports[:2], cams,
                           lambda w: all(len(w[c]) == 1 for c in cams), 90)
        per = {p: [c for c in cams if where[c] == [p]] for p in ports[:2]}
        print("split: %s" % {("ingest%d" % i): per[ports[i]] for i in range(2)})
        assert all(per[p] for p in ports[:2]), "one instance runs no camera: %s" % per
        kf.wait_for("frames of every camera stored", lambda: {c for c, _ in kf.frames_stored(db)} >= set(cams), 60)

        # 2. kill -9 instance 0: instance 1 takes its cameras over
        moved = per[ports[0]]
        ing[0].send_signal(signal.SIGKILL)
        ing[0].wait()
        t0 = time.time()
        print("killed ingest0 (ran %s)" % moved)
        where = wait_split("the survivor to run every camera", ports[1:2], cams,
                           lambda w: all(w[c] == [ports[1]] for c in cams), 60)
        print("ingest1 runs all %d cameras %.0f s after the kill" % (len(cams), time.time() - t0))

        # 3. stop one camera
        stopped = cams[0]
        print(camera_cmd(bus, "stop", stopped).strip())
        where = wait_split("%s to stop" % stopped, ports[1:2], cams,
                           lambda w: w[stopped] == [] and all(w[c] == [ports[1]] for c in cams[1:]), 60)
        kf.wait_for("the warehouse to show %s stopped" % stopped, lambda: kf.db_rows(
            db, "SELECT status FROM cameras WHERE id = '%s'" % stopped) == [("stopped",)], 60)

        # 4. remove another; a third instance replays control and takes partitions over
        removed = cams[1]
        print(camera_cmd(bus, "remove", removed).strip())
        live = cams[2:]
        wait_split("%s to stop" % removed, ports[1:2], cams,
                   lambda w: w[removed] == [] and all(w[c] == [ports[1]] for c in live), 60)
        ing.append(s.start("ingest", "ingest2", extra_args=["--http", "127.0.0.1:0"]))
        ports.append(kf.service_port(work, "ingest2"))
        kf.wait_for("ingest2 to join", lambda: "following topic control" in
                    open(os.path.join(work, "ingest2.log")).read(), 60)
        time.sleep(3)
        where = wait_split("ingest2 to take partitions over", ports[1:], cams,
                           lambda w: all(len(w[c]) == 1 for c in live) and
                           any(w[c] == [ports[2]] for c in live), 60)
        assert where[stopped] == [] and where[removed] == [], "a stopped/removed camera runs: %s" % where
        log2 = open(os.path.join(work, "ingest2.log")).read()
        assert '"%s": starting' % stopped not in log2 and '"%s": starting' % removed not in log2, \
            "ingest2 started a stopped or removed camera"
        print("after ingest2 joined: %s" % {c: ["ingest%d" % ports.index(p) for p in where[c]] for c in live})
    finally:
        s.stop_all()


def main():
    kf.run_on_cluster("cameras", "session_timeout_ms=3000&join_wait_ms=8000",
                      ["bus.partitions=%d" % PARTITIONS, "bus.replication_factor=3",
                       "bus.min_insync_replicas=2"], run)


if __name__ == "__main__":
    main()
