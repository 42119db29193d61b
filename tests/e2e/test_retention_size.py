"""Retention by size (docs/warehouse.md, "Retention"; Frigate #994): `vigil run`
on the sample video, as fast as it decodes, with store.max_bytes well under a
small tmpfs holding the whole data directory (frames and database). While it
runs, the disk never fills (statvfs), /healthz stays ok, the API answers and
frames keep being stored; what goes is the oldest frames. Without the budget
the frames written would not fit on the tmpfs (checked from the counters).
A budget smaller than one frame is refused at start, naming the key.

Needs root for the tmpfs mount (exits 77 saying so otherwise)."""
import os
import shutil
import subprocess
import tempfile
import time

from vigil_harness import (BINARY, MULT, Vigil, check, media, metrics_values, run_tests, skip)

MIB = 1 << 20
TMPFS = 24 * MIB
BUDGET = 4 * MIB
RUN_S = 20       # at least; then until more than the tmpfs was written
RUN_MAX_S = 55


def mount_tmpfs(path):
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS}", "tmpfs", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        skip(f"cannot mount a tmpfs at {path} (needs root): {r.stderr.strip()}")


def used_bytes(path):
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def metrics(v):
    status, _, body = v.get("/metrics")
    check(status == 200, f"/metrics: {status}")
    vals = metrics_values(body.decode())
    return lambda name, **labels: vals.get((name, frozenset(labels.items())), 0.0)


def test_budget_keeps_a_small_tmpfs_from_filling_and_deletes_the_oldest_frames():
    video = media("vtest.avi")
    tmp = tempfile.mkdtemp(prefix="vigil-e2e-retention-")
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    mount_tmpfs(data)
    try:
        cfg = f"""
ingest: {{ realtime: false }}
infer: {{ model: motion }}
preprocess: {{ motion_threshold: 0.0 }}
store: {{ max_bytes: {BUDGET}, sweep_interval_s: 3600 }}
cameras:
  - {{ id: lot, url: "{video}", fps: 0, loop: true }}
"""
        with Vigil([], data_dir=data, config=cfg) as v:
            start = time.time()
            peak = 0
            stored = []   # (time, frames stored by preprocess so far)
            oldest = []   # oldest capture time in the store
            while True:
                m = metrics(v)
                written = m("vigil_retention_deleted_total", kind="bytes_for_size")
                in_store = m("vigil_frame_store_all_bytes")
                elapsed = time.time() - start
                if (elapsed >= RUN_S and written + in_store > TMPFS) or elapsed >= RUN_MAX_S:
                    break
                used = used_bytes(data)
                peak = max(peak, used)
                check(used < TMPFS - 2 * MIB,
                      f"the tmpfs is filling: {used} of {TMPFS} bytes used")
                health = v.json("/healthz")
                check(health["status"] == "ok", f"/healthz: {health}")
                st = v.json("/api/v1/storage")
                check(st["totals"]["max_bytes"] == BUDGET, f"storage totals: {st['totals']}")
                cams = {c["camera"]: c for c in st["cameras"]}
                if "lot" in cams and cams["lot"]["oldest_us"]:
                    oldest.append(cams["lot"]["oldest_us"])
                stats = v.json("/api/v1/stats")
                stored.append((time.time(), stats["stages"].get("preprocess", {}).get("out", 0)))
                time.sleep(0.5)
            deleted = m("vigil_retention_deleted_total", kind="frames_for_size")
            print(f"peak tmpfs use {peak / MIB:.1f} MiB of {TMPFS / MIB:.0f}; "
                  f"{int(deleted)} frames ({written / MIB:.1f} MiB) deleted for size; "
                  f"{in_store / MIB:.2f} MiB in store; {stored[-1][1]} frames stored "
                  f"in {elapsed:.0f} s")
            # the budget did the work: what was written would not have fit
            check(deleted > 0, "no frame was deleted for size")
            check(written + in_store > TMPFS,
                  f"only {(written + in_store) / MIB:.1f} MiB written: the run did not "
                  f"outgrow the {TMPFS / MIB:.0f} MiB tmpfs")
            check(in_store <= BUDGET * 2.5, f"frame store at {in_store} bytes, budget {BUDGET}")
            check(m("vigil_frame_store_all_budget_bytes") == BUDGET, "budget metric")
            check(m("vigil_frame_store_bytes", camera="lot") == in_store,
                  "the one camera's bytes are not the store's")
            # frames kept being stored to the end (the last seconds too)
            half = [n for t, n in stored if t >= stored[-1][0] - 5]
            check(half[-1] > half[0], f"frames stopped being stored: {stored[-6:]}")
            # the oldest went: the first frames are gone, the oldest kept moved on
            status, _, _ = v.get("/api/v1/frames/1.jpg")
            check(status == 404, f"frame 1 still served ({status})")
            check(len(oldest) > 2 and oldest[-1] > oldest[0],
                  f"the oldest stored frame did not move: {oldest[:2]} .. {oldest[-2:]}")
            newest = v.json("/api/v1/storage")["cameras"][0]["newest_us"]
            check(newest >= oldest[-1], "newest before oldest")
            check(v.stop() == 0, "exit code after SIGTERM")
            logs = [r for r in v.log_records() if "frame budget: deleted" in r.get("msg", "")]
            check(logs, "no log record of the budget sweeps")
    finally:
        subprocess.run(["umount", "-l", data])
        shutil.rmtree(tmp, ignore_errors=True)


def test_budget_smaller_than_one_frame_is_refused_at_start():
    tmp = tempfile.mkdtemp(prefix="vigil-e2e-retention-")
    try:
        path = os.path.join(tmp, "vigil.yaml")
        with open(path, "w") as f:
            f.write("store: { max_bytes: 20000 }\ncameras:\n  - { id: lot, url: sample }\n")
        r = subprocess.run([BINARY, "run", "--config", path, "--data-dir",
                            os.path.join(tmp, "data"), "--http", "127.0.0.1:0"],
                           capture_output=True, text=True, timeout=60 * MULT)
        check(r.returncode != 0, f"vigil run started with a 20000-byte budget: {r.returncode}")
        out = r.stdout + r.stderr
        check('key "store.max_bytes": 20000 bytes is smaller than one frame may be' in out,
              f"the refusal does not name the key and why: {out[-800:]}")
        check(not os.path.exists(os.path.join(tmp, "data", "frames")), "frames were written")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_budget_keeps_a_small_tmpfs_from_filling_and_deletes_the_oldest_frames,
               test_budget_smaller_than_one_frame_is_refused_at_start])
