"""kill -9 of `vigil run` at random moments loses no stored frame.

In one process the bus is in memory, so a kill -9 loses what it held: frames
preprocess had stored (JPEG and row) whose detections the sink had not
committed yet. At the next start they go to infer again (src/pipeline/
recover.c), and the sink writes each frame's detections with its processed
mark (frames.detection_count) in one transaction, keeping only the first
inference of a frame. So after any number of kills and one clean run, every
stored frame is processed exactly once: it has a detection_count, and its
detections are exactly that many rows, of one inference."""
import os
import random
import shutil
import sqlite3
import tempfile
import time

from vigil_harness import MULT, Vigil, check, media, run_tests

KILLS = 5


def db_rows(db, sql):
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def unprocessed(db):
    return db_rows(db, "SELECT count(*) FROM frames WHERE detection_count IS NULL")[0][0]


def recovered(v):
    return sum(int(r["msg"].split()[1]) for r in v.log_records()
               if r.get("msg", "").startswith("recovered "))


def test_kill_9_of_vigil_run_leaves_every_stored_frame_processed_once():
    video = media("vtest.avi")
    seed = int(os.environ.get("VIGIL_TEST_SEED") or time.time())
    rng = random.Random(seed)
    print(f"seed {seed} (VIGIL_TEST_SEED to repeat)", flush=True)
    tmp = tempfile.mkdtemp(prefix="vigil-kill9-")
    data = os.path.join(tmp, "data")
    db = os.path.join(data, "vigil.db")
    # every frame stored (threshold 0), as fast as the pipeline goes: many
    # frames are in flight at any moment
    cfg = f"""
ingest: {{ realtime: false }}
infer: {{ model: motion }}
preprocess: {{ motion_threshold: 0.0 }}
analytics: {{ enabled: false }}
cameras:
  - {{ id: crash, url: "{video}", fps: 0, loop: true }}
"""
    try:
        t_start = time.time()
        left_behind = 0
        sent_again = 0
        for i in range(KILLS):
            with Vigil([], data_dir=data, config=cfg) as v:
                sent_again += recovered(v)
                time.sleep(rng.uniform(0.3, 2.0) * MULT)
                v.proc.kill()  # SIGKILL: nothing is drained, nothing flushed
                v.proc.wait()
            n = unprocessed(db)
            print(f"kill {i + 1}: {db_rows(db, 'SELECT count(*) FROM frames')[0][0]} frames "
                  f"stored, {n} not processed", flush=True)
            left_behind += n
        check(left_behind > 0, "no kill left a stored frame unprocessed: the test did not "
              "test anything (the pipeline is slower than expected?)")
        # a clean run without cameras: only what the kills left behind
        with Vigil([], data_dir=data, config="infer: { model: motion }\n"
                                               "analytics: { enabled: false }\n") as v:
            sent_again += recovered(v)
            v.wait_for("every stored frame to be processed", lambda: unprocessed(db) == 0,
                       timeout=30)
            check(v.stop() == 0, "exit code after SIGTERM")
        check(sent_again == left_behind, f"{sent_again} frames sent again, "
              f"{left_behind} were left unprocessed by the kills")

        frames = db_rows(db, "SELECT count(*), sum(detection_count IS NULL) FROM frames")[0]
        check(frames[0] > 100, f"only {frames[0]} frames stored")
        check(frames[1] == 0, f"{frames[1]} stored frames never processed")
        # each frame's rows are those of one inference: as many as its mark
        # says, indexes 0..n-1, one model
        bad = db_rows(db, """
            SELECT f.id, f.sequence, f.detection_count, count(d.id), max(d.idx),
                   count(DISTINCT d.model)
            FROM frames f LEFT JOIN detections d
              ON d.camera_id = f.camera_id AND d.sequence = f.sequence
            GROUP BY f.id
            HAVING count(d.id) != f.detection_count
                OR (count(d.id) > 0 AND (max(d.idx) != count(d.id) - 1
                                         OR count(DISTINCT d.model) != 1))""")
        check(not bad, f"frames whose detections are not of one inference: {bad[:10]}")
        orphans = db_rows(db, """
            SELECT count(*) FROM detections d WHERE NOT EXISTS
              (SELECT 1 FROM frames f WHERE f.camera_id = d.camera_id
                                        AND f.sequence = d.sequence)""")[0][0]
        check(orphans == 0, f"{orphans} detections of frames that were never stored")
        took = time.time() - t_start
        print(f"{frames[0]} frames, {left_behind} left behind by {KILLS} kills and sent again; "
              f"{took:.1f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_kill_9_of_vigil_run_leaves_every_stored_frame_processed_once])
