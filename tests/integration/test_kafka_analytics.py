#!/usr/bin/env python3
"""Analytics exactly once on a real 3-broker Kafka cluster, with a worker killed.

Starts its own cluster (private ports and dir), `vigil kafka init` with 3
partitions, then runs ingest, preprocess, infer (the motion model, every
frame forwarded) and sink on 8 cameras (vtest.avi, not looping, 5 fps) and,
live beside them, 3 `vigil analytics` workers (group "analytics-b", their
own warehouse B). Once B holds some analytics, one worker is killed with
SIGKILL mid-stream; the other two take its partitions over after the session
timeout, restore its cameras from their checkpoints and replay. When every
camera's last frame is analysed, ONE undisturbed worker (group
"analytics-a", warehouse A) reads the same detections topic from the start.

Asserted: warehouse B's events (every column but the store's id and review
flag), count buckets, track points and checkpoints equal warehouse A's; each
table keeps its key unique; the run saw line crossings, zone entries and
many tracks; no track id of a camera was given to two different tracks (the
sets of track ids and their first points are equal to the undisturbed
run's).

Exit 77 (ctest: skipped) when java/mvn, the binary or vtest.avi are missing.
"""
import os
import signal
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import test_kafka_failures as kf  # noqa: E402  (shared helpers)

PORT_BASE = int(os.environ.get("VIGIL_KAFKA_ANTEST_PORT_BASE") or "23092")
kf.CLUSTER_ENV.update(VIGIL_KAFKA_DIR="/tmp/vigil-kafka-antest-%s" % os.environ.get("USER", os.getuid()),
                      VIGIL_KAFKA_PORT_BASE=str(PORT_BASE),
                      VIGIL_KAFKA_CONTROLLER_PORT_BASE=str(PORT_BASE + 100))
PARTITIONS = 3
NCAMERAS = 8

RULES = """    zones:
      - id: right
        polygon: [[0.5, 0.3], [0.98, 0.3], [0.98, 0.98], [0.5, 0.98]]
        loiter_seconds: 4
      - id: left
        polygon: [[0.02, 0.3], [0.45, 0.3], [0.45, 0.98], [0.02, 0.98]]
    lines:
      - id: middle
        points: [[0.5, 0.0], [0.5, 1.0]]
      - id: street
        points: [[0.0, 0.6], [1.0, 0.6]]
"""


def cameras():
    """8 camera ids spread over every partition."""
    cams, i = [], 0
    while len(cams) < NCAMERAS:
        c = "cam%d" % i
        used = [kf.fnv_partition(x, PARTITIONS) for x in cams]
        if len(cams) >= PARTITIONS or kf.fnv_partition(c, PARTITIONS) not in used:
            cams.append(c)
        i += 1
    return cams


def write_config(path, cams):
    with open(path, "w") as f:
        f.write("ingest:\n  realtime: false\npreprocess:\n  motion_threshold: 0\n"
                "infer:\n  model: motion\n  batch_size: 4\n"
                "analytics:\n  batch_frames: 16\n  flush_ms: 200\ncameras:\n")
        for cam in cams:
            f.write("  - id: %s\n    url: %s\n    fps: 5\n    loop: false\n" % (cam, kf.VIDEO))
            f.write(RULES)


def query(db, sql):
    if not os.path.exists(db):
        return []
    try:
        return kf.db_rows(db, sql)
    except sqlite3.OperationalError:
        return []


def last_sequences(db):
    return dict(query(db, "SELECT camera_id, MAX(sequence) FROM frames GROUP BY 1"))


def analysed(db):
    return dict(query(db, "SELECT camera_id, last_sequence FROM analytics_state"))


EVENT_COLS = ("camera_id, kind, label, track_id, zone, line, direction, start_sequence, start_us, "
              "end_us, end_sequence, open, snapshot_frame_id, snapshot_sequence, peak_score, "
              "x1, y1, x2, y2")


def snapshot(db):
    return {
        "events": sorted(query(db, "SELECT %s FROM analytics_events" % EVENT_COLS)),
        "counts": sorted(query(db, "SELECT camera_id, minute_us, zone, line, label, entered, peak, "
                                   "in_count, out_count FROM analytics_counts")),
        "points": sorted(query(db, "SELECT camera_id, track_id, sequence, time_us, frame_id, label, "
                                   "score, x1, y1, x2, y2 FROM track_points")),
        "state": sorted(query(db, "SELECT camera_id, last_sequence, hex(state) FROM analytics_state")),
    }


def check_unique_keys(db, label):
    for table, key in (("analytics_events", ["camera_id", "kind", "track_id", "zone", "line",
                                             "start_sequence"]),
                       ("analytics_counts", ["camera_id", "minute_us", "zone", "line", "label"]),
                       ("track_points", ["camera_id", "track_id", "sequence"]),
                       ("analytics_state", ["camera_id"])):
        unique = [[c[2] for c in kf.db_rows(db, "PRAGMA index_info('%s')" % ix[1])]
                  for ix in kf.db_rows(db, "PRAGMA index_list('%s')" % table) if ix[2]]
        assert key in unique, "%s: %s has no unique index on %s (has %s)" % (label, table, key, unique)


def diff(a, b, what):
    sa, sb = set(a), set(b)
    only_a, only_b = sorted(sa - sb)[:3], sorted(sb - sa)[:3]
    assert not only_a and not only_b and len(a) == len(b), (
        "%s differ: %d undisturbed vs %d after the kill; only undisturbed: %s; only after the kill: %s"
        % (what, len(a), len(b), only_a, only_b))


def run(work, bus):
    cams = cameras()
    cfg = os.path.join(work, "analytics.yaml")
    write_config(cfg, cams)
    s = kf.Services(work, bus, cfg)
    pipe_db = os.path.join(work, "data", "vigil.db")
    dir_a, dir_b = os.path.join(work, "data-a"), os.path.join(work, "data-b")
    db_a, db_b = os.path.join(dir_a, "vigil.db"), os.path.join(dir_b, "vigil.db")

    def analytics(name, group, data_dir):
        return s.start("analytics", name, sets=["analytics.group=%s" % group],
                       extra_args=["--data-dir", data_dir])

    try:
        s.start("sink", "sink")
        s.start("infer", "infer")
        s.start("preprocess", "pre")
        workers = [analytics("an-b%d" % i, "analytics-b", dir_b) for i in range(3)]
        time.sleep(6)
        ing = s.start("ingest", "ingest")
        points = lambda: (query(db_b, "SELECT COUNT(*) FROM track_points") or [(0,)])[0][0]
        kf.wait_for("300 track points in warehouse B", lambda: points() >= 300, 240)
        victim = workers[0]
        print("killing analytics worker %s (pid %d) mid-stream with SIGKILL after %d track points"
              % (victim.name, victim.pid, points()))
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        kf.wait_for("ingest to reach the end of the video", lambda: ing.poll() is not None or
                    "every source has ended" in open(os.path.join(work, "ingest.log")).read(), 600)
        seen = [None, 0.0]

        def settled():  # every camera stored, and nothing new for 5 s
            now = last_sequences(pipe_db)
            if now != seen[0] or len(now) < NCAMERAS:
                seen[0], seen[1] = now, time.time()
                return False
            return time.time() - seen[1] >= 5
        kf.wait_for("every frame stored", settled, 300, lambda: str(seen[0]))
        final = last_sequences(pipe_db)
        kf.wait_for("every camera's last frame analysed in B", lambda: analysed(db_b) == final, 240,
                    lambda: "analysed %s, stored %s" % (analysed(db_b), final))
        print("after the kill: every camera analysed up to its last frame %s" % final)
        undisturbed = analytics("an-a", "analytics-a", dir_a)
        kf.wait_for("every camera's last frame analysed in A", lambda: analysed(db_a) == final, 240,
                    lambda: "analysed %s, stored %s" % (analysed(db_a), final))
        time.sleep(2)
        assert undisturbed.poll() is None, "the undisturbed worker died"
    finally:
        s.stop_all()

    a, b = snapshot(db_a), snapshot(db_b)
    check_unique_keys(db_a, "undisturbed")
    check_unique_keys(db_b, "after the kill")
    kinds = {}
    for e in a["events"]:
        kinds[e[1]] = kinds.get(e[1], 0) + 1
    tracks = {(p[0], p[1]) for p in a["points"]}
    print("undisturbed: %d events %s, %d count rows, %d track points of %d tracks"
          % (len(a["events"]), kinds, len(a["counts"]), len(a["points"]), len(tracks)))
    assert kinds.get("line_cross", 0) > 0 and kinds.get("zone_enter", 0) > 0, \
        "the scene produced no crossings or no zone entries: %s" % kinds
    assert len(tracks) >= NCAMERAS, "too few tracks: %d" % len(tracks)
    for what in ("events", "counts", "points", "state"):
        diff(a[what], b[what], what)
    # a track id names one track: its first point (where it was born) is the same in both runs
    first = lambda pts: sorted({(p[0], p[1]): p[2] for p in sorted(pts, reverse=True)}.items())
    diff(first(a["points"]), first(b["points"]), "first points of the tracks")
    print("after the kill: the same %d events, %d count rows and %d track points; no event lost "
          "or duplicated, no track id reused" % (len(b["events"]), len(b["counts"]), len(b["points"])))


def main():
    kf.run_on_cluster("analytics", "session_timeout_ms=3000&join_wait_ms=8000",
                      ["bus.partitions=%d" % PARTITIONS, "bus.replication_factor=3",
                       "bus.min_insync_replicas=2"], run)


if __name__ == "__main__":
    main()
