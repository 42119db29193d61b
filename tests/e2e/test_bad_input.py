"""Bad input through the whole process: each case gives a clear logged error
naming the camera (or file, line and key), a counter, and the rest of the
pipeline goes on without losing what was already stored."""
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time

from vigil_harness import BINARY, Vigil, check, media, run_tests


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def camera(v, cid):
    for c in v.json("/api/v1/cameras")["items"]:
        if c["id"] == cid:
            return c
    return None


def error_records(v, cid):
    return [r for r in v.log_records() if r.get("camera") == cid and r["level"] in ("warn", "error")]


def test_invalid_config_names_file_line_key_and_exits_2():
    tmp = tempfile.mkdtemp()
    try:
        path = os.path.join(tmp, "bad.yaml")
        with open(path, "w") as f:
            f.write("http:\n  listen: 127.0.0.1:0\npreprocess:\n  motion_treshold: 0.1\n")
        r = subprocess.run([BINARY, "run", "--config", path, "--duration", "1"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 2, f"exit code {r.returncode}, want 2: {r.stderr}")
        check(f"{path}:4" in r.stderr, f"no file:line in {r.stderr!r}")
        check("motion_treshold" in r.stderr and "motion_threshold" in r.stderr,
              f"message does not name the key and the accepted keys: {r.stderr!r}")

        with open(path, "w") as f:
            f.write("infer:\n  batch_size: lots\n")
        r = subprocess.run([BINARY, "config", "check", path], capture_output=True, text=True)
        check(r.returncode == 2 and "batch_size" in r.stderr and f"{path}:2" in r.stderr,
              f"bad value: {r.returncode} {r.stderr!r}")

        r = subprocess.run([BINARY, "run", "--set", "infer.batch_size=0", "--duration", "1"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 2 and "infer.batch_size" in r.stderr, f"--set range: {r.stderr!r}")
    finally:
        shutil.rmtree(tmp)


def test_broken_cameras_are_reported_and_the_good_one_goes_on():
    video = media("vtest.avi")
    tmp = tempfile.mkdtemp()
    try:
        truncated = os.path.join(tmp, "truncated.avi")
        with open(video, "rb") as f:
            data = f.read()
        with open(truncated, "wb") as f:
            f.write(data[: len(data) * 2 // 5])
        garbage = os.path.join(tmp, "garbage.avi")
        with open(garbage, "wb") as f:
            f.write(os.urandom(200000))
        port = closed_port()
        cfg = f"""
ingest: {{ realtime: false, reconnect_min_ms: 100, reconnect_max_ms: 400 }}
infer: {{ model: motion }}
cameras:
  - {{ id: good, url: "{video}", fps: 0, loop: true }}
  - {{ id: truncated, url: "{truncated}", fps: 0, loop: false }}
  - {{ id: bogus, url: "foo://nowhere/stream", fps: 5 }}
  - {{ id: dead, url: "rtsp://127.0.0.1:{port}/live", fps: 5 }}
  - {{ id: garbage, url: "{garbage}", fps: 5 }}
"""
        with Vigil([], config=cfg) as v:
            v.wait_for("the broken cameras to be reported", lambda: all(
                (camera(v, c) or {}).get("status") in ("retrying", "failed")
                for c in ("bogus", "dead", "garbage")), timeout=60)
            bogus, dead, garbage_cam = camera(v, "bogus"), camera(v, "dead"), camera(v, "garbage")
            check("foo" in bogus["last_error"], f"bogus last_error {bogus['last_error']!r}")
            check(str(port) in dead["last_error"] or "rtsp" in dead["last_error"],
                  f"dead last_error {dead['last_error']!r}")
            check(garbage_cam["last_error"] != "", "garbage camera has no error")
            for cid in ("bogus", "dead", "garbage"):
                check(error_records(v, cid), f"no warn/error log record with camera={cid}")

            # the truncated file plays what it has, then ends
            v.wait_for("the truncated file to end", lambda: (camera(v, "truncated") or {}).get(
                "status") == "ended", timeout=120)
            s = v.json("/api/v1/stats")
            per_cam = s.get("cameras", {})
            check(per_cam.get("truncated", {}).get("ingest", {}).get("out", 0) > 50,
                  f"truncated camera published too few frames: {per_cam.get('truncated')}")
            # the good camera keeps going
            before = per_cam.get("good", {}).get("ingest", {}).get("out", 0)
            v.wait_for("the good camera to keep publishing", lambda: v.json("/api/v1/stats").get(
                "cameras", {}).get("good", {}).get("ingest", {}).get("out", 0) > before + 20)
            failed = sum(val.get("ingest", {}).get("failed", 0) for val in per_cam.values())
            check(failed >= 3, f"ingest failures not counted: {failed}")
            check(v.stop() == 0, "exit code after SIGTERM")
    finally:
        shutil.rmtree(tmp)


def test_full_disk_counts_failures_says_so_on_health_and_camera_and_logs_once():
    video = media("vtest.avi")
    tmp = tempfile.mkdtemp()
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", data],
                             capture_output=True).returncode == 0
    try:
        if not mounted:
            # No mount rights: make the frame directory tree unwritable by
            # putting a regular file where the camera's directory must go.
            os.makedirs(os.path.join(data, "frames"))
            with open(os.path.join(data, "frames", "full"), "w") as f:
                f.write("not a directory")
        cfg = f"""
ingest: {{ realtime: false }}
infer: {{ model: motion }}
preprocess: {{ motion_threshold: 0.0 }}
cameras:
  - {{ id: full, url: "{video}", fps: 0, loop: false }}
"""
        db = os.path.join(tmp, "vigil.db")
        with Vigil(["--store", "sqlite:" + db], data_dir=data, config=cfg) as v:
            s = v.wait_for("frames to fail on the full disk", lambda: (lambda st: st if st[
                "stages"].get("preprocess", {}).get("failed", 0) > 10 else None)(
                v.json("/api/v1/stats")), timeout=120)
            stored = s["store"]["frames"]
            if mounted:
                check(stored > 0, "nothing was stored before the disk filled")
            fails = [r for r in v.log_records() if r.get("camera") == "full" and r["level"] == "error"]
            check(fails, "no error logged with the camera id")
            check(any("sequence" in r["msg"] or "seq" in r for r in fails),
                  f"error does not name the frame: {fails[0]}")
            # the API serves (200) and says what is wrong: never "ok" while frames fail
            health = v.json("/healthz")
            check(health["status"] == "degraded", f"/healthz on a full disk: {health}")
            problems = [p for p in health.get("problems", [])
                        if p["component"] == "preprocess" and p["camera"] == "full"]
            disk_error = "No space left on device" if mounted else "Not a directory"
            check(problems and "frames are not stored" in problems[0]["error"]
                  and disk_error in problems[0]["error"],
                  f"/healthz does not name the camera and the disk error: {health}")
            # so does the camera (ingest's "online" may land first: it is set
            # again while the frames fail)
            cam = v.wait_for("the camera to say it is degraded", lambda: (lambda c: c if c and c[
                "status"] == "degraded" else None)(camera(v, "full")), timeout=30)
            check(disk_error in (cam["last_error"] or ""), f"camera last_error: {cam}")
            # what was stored before the disk filled is still there, byte for byte readable
            for fid in range(1, stored + 1):
                status, _, body = v.get(f"/api/v1/frames/{fid}.jpg")
                check(status == 200 and body[:2] == b"\xff\xd8", f"stored frame {fid}: {status}")
            v.wait_for("the source to end", lambda: "every source has ended" in v.log_text(),
                       timeout=300)
            # the source has ended; preprocess may still be failing frames
            # that were queued: count once its numbers stand still
            def settled():
                before = v.json("/api/v1/stats")["stages"]["preprocess"]
                time.sleep(1.0)
                after = v.json("/api/v1/stats")["stages"]["preprocess"]
                return after if after == before else None
            failed = v.wait_for("preprocess to settle", settled, timeout=120)["failed"]
            check(v.stop() == 0, "exit code after SIGTERM")
            # one error per frame used to flood the log: now a run of them is
            # one record per 10 s, and one with the count of those held back
            # (a record with "repeated": N stands for N, any other for one)
            store_errors = [r for r in v.log_records() if r.get("camera") == "full"
                            and r["level"] == "error" and "cannot store frame" in r["msg"]]
            counted = sum(r.get("repeated", 1) for r in store_errors)
            check(len(store_errors) < max(10, failed // 10),
                  f"{len(store_errors)} error records for {failed} failed frames")
            check(any("(repeated " in r["msg"] and r.get("repeated", 0) > 0
                      for r in store_errors), f"no record with a count: {store_errors[:3]}")
            check(counted == failed, f"the records count {counted} failures, preprocess {failed}")
    finally:
        if mounted:
            subprocess.run(["umount", data])
        shutil.rmtree(tmp, ignore_errors=True)


def test_fatal_store_error_stops_vigil_run_saying_why():
    video = media("vtest.avi")
    cfg = f"""
ingest: {{ realtime: false }}
infer: {{ model: motion }}
preprocess: {{ motion_threshold: 0.0 }}
cameras:
  - {{ id: lost, url: "{video}", fps: 0, loop: true }}
"""
    with Vigil([], config=cfg) as v:
        v.wait_for("detections to be stored", lambda: v.json("/api/v1/stats")["store"][
            "detections"] > 0, timeout=60)
        # someone drops a table: no retry can help, and acking would lose
        # every detection from here on
        conn = sqlite3.connect(os.path.join(v.data_dir, "vigil.db"), timeout=30)
        conn.execute("DROP TABLE detections")
        conn.commit()
        conn.close()
        try:
            code = v.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            code = None
        check(code == 1, f"exit code {code}, want 1 (None: it kept running)")
        stop = [r for r in v.log_records() if r["msg"].startswith("stopping: sink: stopped")]
        check(stop and "no such table: detections" in stop[0]["msg"],
              f"no clear message: {v.log_text()[-2000:]}")


if __name__ == "__main__":
    run_tests([test_invalid_config_names_file_line_key_and_exits_2,
               test_broken_cameras_are_reported_and_the_good_one_goes_on,
               test_full_disk_counts_failures_says_so_on_health_and_camera_and_logs_once,
               test_fatal_store_error_stops_vigil_run_saying_why])
