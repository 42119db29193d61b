#!/usr/bin/env python3
"""Distributed vigil on a real 3-broker Kafka cluster, with failures.

Starts its own cluster (scripts/kafka-cluster, private ports and dir), creates
the topics with `vigil kafka init` (RF 3, min ISR 2, 3 partitions), runs
ingest, preprocess, infer and sink as separate processes on vtest.avi, and:

1. broker killed: kill -9 the leader of the camera's frames partition
   mid-stream (found with `vigil kafka describe`). Every frame ingest saw
   acknowledged by the cluster (VIGIL_TEST_ACKED_FILE) must be a row of the
   frames table, and no (camera, sequence) has two frame rows or two
   detection rows of one index, and every frame's detection indexes are
   0..n-1 (one inference's result, not two merged).
2. worker killed: two preprocess and two infer processes, exactly-once
   delivery; one of each dies with _exit(137) between publishing a message's
   output and acknowledging it (VIGIL_TEST_CRASH_AFTER_PROCESSING); the other
   member takes the partitions over; same checks.

The processes given a hook (VIGIL_TEST_*) run vigil-fault, the only binary
that has the hooks (include/vigil/fault.h, docs/testing.md).

Exit 77 (ctest: skipped) when java/mvn, the binaries or vtest.avi are missing.
"""
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("VIGIL_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VIGIL = os.environ.get("VIGIL_BINARY") or os.path.join(SRC, "build", "vigil")
# the hooks (VIGIL_TEST_*) exist only in vigil-fault, built by trees configured
# with -DVIGIL_FAULT_INJECTION=ON (docs/testing.md); ctest sets the variable
FAULT_VIGIL = os.environ.get("VIGIL_FAULT_BINARY") or os.path.join(SRC, "build", "vigil-fault")
MEDIA = os.environ.get("VIGIL_MEDIA") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "vigil", "media")
VIDEO = os.path.join(MEDIA, "vtest.avi")
MULT = int(os.environ.get("VIGIL_TEST_TIMEOUT_MULTIPLIER") or "1")
PORT_BASE = int(os.environ.get("VIGIL_KAFKA_FAILTEST_PORT_BASE") or "31092")
CLUSTER_ENV = dict(os.environ,
                   VIGIL_KAFKA_DIR="/tmp/vigil-kafka-failtest-%s" % os.environ.get("USER", os.getuid()),
                   VIGIL_KAFKA_PORT_BASE=str(PORT_BASE),
                   VIGIL_KAFKA_CONTROLLER_PORT_BASE=str(PORT_BASE + 100))
PARTITIONS = 3


def skip(why):
    print("skip: " + why)
    sys.exit(77)


def fnv_partition(key, n):
    h = 2166136261
    for b in key.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h % n


def cluster(*args):
    return subprocess.run([os.path.join(SRC, "scripts", "kafka-cluster")] + list(args), env=CLUSTER_ENV,
                          check=True, capture_output=True, text=True).stdout.strip()


class Services:
    def __init__(self, work, bus, config):
        self.work, self.bus, self.config = work, bus, config
        self.procs = []

    def start(self, stage, name, extra_env=None, sets=(), extra_args=()):
        env = dict(os.environ, **(extra_env or {}))
        # a process given a test hook runs the fault-injection binary
        hooked = any(k.startswith("VIGIL_TEST_") for k in (extra_env or {}))
        args = [FAULT_VIGIL if hooked else VIGIL, stage, "--bus", self.bus, "--config", self.config, "--data-dir",
                os.path.join(self.work, "data"), "--log-level", "info"]
        for s in sets:
            args += ["--set", s]
        args += list(extra_args)
        log = open(os.path.join(self.work, name + ".log"), "w")
        p = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        p.name = name
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=60 * MULT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []


def wait_for(what, cond, timeout, state=None):
    """Waits for cond(); on time-out the error says what, and state() if given."""
    deadline = time.time() + timeout * MULT
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.5)
    raise AssertionError("timed out waiting for " + what + (": " + state() if state else ""))


def service_port(work, name, timeout=30, says="metrics on"):
    """The HTTP port a service started with `--http 127.0.0.1:0` bound, read from
    its log line "SAYS http://HOST:PORT (port N)". Fixed ports would race with
    the ephemeral ports of the Kafka clients' own connections."""
    path = os.path.join(work, name + ".log")
    found = []

    def bound():
        with open(path) as f:
            m = re.search(re.escape(says) + r" http://\S+ \(port (\d+)\)", f.read())
        if m:
            found.append(int(m.group(1)))
        return bool(m)
    wait_for("%s to listen" % name, bound, timeout)
    return found[0]


def acked(path):
    if not os.path.exists(path):
        return set()
    with open(path) as f:
        return {(l.split()[0], int(l.split()[1])) for l in f if len(l.split()) == 2}


def db_rows(db, sql):
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def frames_stored(db):
    if not os.path.exists(db):
        return set()
    try:
        return {(c, s) for c, s in db_rows(db, "SELECT camera_id, sequence FROM frames")}
    except sqlite3.OperationalError:
        return set()


def check_warehouse(db, acked_set, label):
    stored = frames_stored(db)
    missing = acked_set - stored
    assert not missing, "%s: %d acknowledged frames missing from the warehouse, e.g. %s" % (
        label, len(missing), sorted(missing)[:5])
    # Rows cannot repeat a key while the warehouse enforces it, so check the
    # enforcement itself rather than counting rows per key (which could never
    # find a duplicate): a unique index on each idempotence key.
    for table, key in (("frames", ["camera_id", "sequence"]),
                       ("detections", ["camera_id", "sequence", "model", "idx"])):
        unique = [db_rows(db, "PRAGMA index_info('%s')" % ix[1])
                  for ix in db_rows(db, "PRAGMA index_list('%s')" % table) if ix[2]]
        assert any([c[2] for c in cols] == key for cols in unique), \
            "%s: %s has no unique index on %s" % (label, table, key)
    # A frame redelivered to infer after a crash must not leave detections of
    # two different inferences: its rows are exactly indexes 0..n-1.
    gaps = db_rows(db, "SELECT camera_id, sequence, COUNT(*), MAX(idx) FROM detections "
                       "GROUP BY 1, 2 HAVING COUNT(*) != MAX(idx) + 1")
    assert not gaps, "%s: detections of one frame from two inferences %s" % (label, gaps[:5])
    ndet = db_rows(db, "SELECT COUNT(DISTINCT camera_id || ':' || sequence) FROM detections")[0][0]
    print("%s: %d frames acknowledged by the cluster, %d stored, %d frames with detections, "
          "no duplicates" % (label, len(acked_set), len(stored), ndet))
    assert ndet > 0, "%s: no detections at all: infer/sink did not run" % label


def write_config(path, cameras):
    with open(path, "w") as f:
        f.write("ingest:\n  realtime: false\npreprocess:\n  motion_threshold: 0\n"
                "infer:\n  model: motion\n  batch_size: 4\ncameras:\n")
        for cam in cameras:
            f.write("  - id: %s\n    url: %s\n    fps: 0\n    loop: false\n" % (cam, VIDEO))


def broker_killed(work, bus):
    cam = "lobby"
    cfg = os.path.join(work, "broker.yaml")
    write_config(cfg, [cam])
    s = Services(work, bus, cfg)
    ackfile = os.path.join(work, "acked-broker.txt")
    db = os.path.join(work, "data", "vigil.db")
    try:
        s.start("sink", "sink1")
        s.start("infer", "infer1")
        s.start("preprocess", "pre1")
        time.sleep(3)
        ing = s.start("ingest", "ingest1", {"VIGIL_TEST_ACKED_FILE": ackfile})
        wait_for("200 acknowledged frames", lambda: len(acked(ackfile)) >= 200, 120)
        part = fnv_partition(cam, PARTITIONS)
        desc = subprocess.run([VIGIL, "kafka", "describe", "--bus", bus, "frames"], check=True,
                              capture_output=True, text=True).stdout.splitlines()
        line = [l for l in desc if l.startswith("partition %d " % part)][0]
        port = int(line.split()[4].rsplit(":", 1)[1])
        node = port - PORT_BASE + 1
        at = len(acked(ackfile))
        print("killing broker node %d (leader of frames[%d], %s) after %d acknowledged frames" % (node, part, line.split()[4], at))
        cluster("kill", str(node))
        wait_for("ingest to reach the end of the video", lambda: ing.poll() is not None or
                 "every source has ended" in open(os.path.join(work, "ingest1.log")).read(), 240)
        final = acked(ackfile)
        assert len(final) > at, "no frame acknowledged after the broker was killed"
        wait_for("every acknowledged frame stored", lambda: final <= frames_stored(db), 180)
        time.sleep(3)  # let infer and sink finish the tail
    finally:
        s.stop_all()
    check_warehouse(db, acked(ackfile), "broker killed")
    print("restarting node %d" % node)
    cluster("restart", str(node))


def worker_killed(work, bus):
    cams = []
    i = 0
    while len(cams) < PARTITIONS:  # one camera per partition
        c = "door%d" % i
        if fnv_partition(c, PARTITIONS) not in [fnv_partition(x, PARTITIONS) for x in cams]:
            cams.append(c)
        i += 1
    cfg = os.path.join(work, "worker.yaml")
    write_config(cfg, cams)
    s = Services(work, bus, cfg)
    ackfile = os.path.join(work, "acked-worker.txt")
    db = os.path.join(work, "data", "vigil.db")
    eos = ["bus.delivery=exactly_once"]
    crash = {"VIGIL_TEST_CRASH_AFTER_PROCESSING": "40"}
    try:
        s.start("sink", "sink2")
        inf_a = s.start("infer", "infer-a", crash, eos)
        s.start("infer", "infer-b", None, eos)
        pre_a = s.start("preprocess", "pre-a", crash, eos)
        s.start("preprocess", "pre-b", None, eos)
        time.sleep(4)
        ing = s.start("ingest", "ingest2", {"VIGIL_TEST_ACKED_FILE": ackfile})
        wait_for("the preprocess worker to crash", lambda: pre_a.poll() is not None, 180)
        wait_for("the infer worker to crash", lambda: inf_a.poll() is not None, 180)
        assert pre_a.returncode == 137, "preprocess worker exit %s" % pre_a.returncode
        assert inf_a.returncode == 137, "infer worker exit %s" % inf_a.returncode
        print("preprocess and infer workers died between processing and commit (exit 137)")
        wait_for("ingest to reach the end", lambda: ing.poll() is not None or
                 "every source has ended" in open(os.path.join(work, "ingest2.log")).read(), 300)
        final = acked(ackfile)
        wait_for("every acknowledged frame stored", lambda: final <= frames_stored(db), 180)
        time.sleep(5)
    finally:
        s.stop_all()
    rows = {k for k in acked(ackfile)}
    check_warehouse(db, rows, "worker killed (exactly-once)")


def run_on_cluster(name, query, init_sets, body):
    """Starts a 3-node cluster, creates vigil's topics (`vigil kafka init` with
    init_sets), runs body(work_dir, bus_url), then stops the cluster. On
    failure prints the tail of every service log in the work dir. Skips when
    java, maven, the binary, the sample video or the kafka command are missing."""
    for tool in ("java", "mvn"):
        if not shutil.which(tool):
            skip("%s not installed (scripts/setup.sh test)" % tool)
    if not os.access(VIGIL, os.X_OK):
        skip("%s not built" % VIGIL)
    if not os.path.exists(VIDEO):
        skip("%s missing (scripts/setup.sh media)" % VIDEO)
    if subprocess.run([VIGIL, "kafka", "--help"], capture_output=True).returncode != 0:
        skip("vigil has no kafka command")
    work = tempfile.mkdtemp(prefix="vigil-kafka-%s-" % name)
    t0 = time.time()
    try:
        boot = cluster("start", "3")
        bus = "kafka://%s?%s" % (boot, query)
        init = [VIGIL, "kafka", "init", "--bus", bus]
        for kv in init_sets:
            init += ["--set", kv]
        subprocess.run(init, check=True)
        body(work, bus)
        print("ok (%.0f s)" % (time.time() - t0))
    except Exception:
        for log in sorted(os.listdir(work)):
            if log.endswith(".log"):
                print("---- %s (tail)" % log)
                with open(os.path.join(work, log)) as f:
                    print("".join(f.readlines()[-15:]))
        raise
    finally:
        try:
            cluster("stop")
        except Exception:
            pass
        if os.environ.get("VIGIL_KEEP_TEST_DIR") is None:
            shutil.rmtree(work, ignore_errors=True)


def main():
    if not os.access(FAULT_VIGIL, os.X_OK):
        skip("%s not built (configure with -DVIGIL_FAULT_INJECTION=ON; `make test` does)"
             % FAULT_VIGIL)

    def body(work, bus):
        broker_killed(work, bus)
        worker_killed(work, bus)
    run_on_cluster("failures", "session_timeout_ms=3000&join_wait_ms=8000&transaction_timeout_ms=10000",
                   ["bus.partitions=%d" % PARTITIONS, "bus.replication_factor=3",
                    "bus.min_insync_replicas=2"], body)


if __name__ == "__main__":
    main()
