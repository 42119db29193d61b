"""The MongoDB warehouse while vigil runs (issue 13, "Bad input and faults"):
the server stopped and started again mid-stream loses and duplicates
nothing, and the outage is reported naming the server, never the password.

A real server: scripts/ferretdb starts a throwaway FerretDB (MongoDB wire
protocol) on 127.0.0.1:$VIGIL_MONGO_FAULTS_PORT (27260) in its own
directory; `down` stops it keeping its data, `start` brings it back on the
same port with the same data, and the test removes it at the end. (The
store's own fault cases, a wrong password and an unreachable host, are
test_store_mongo_faults.) The warehouse is read back through vigil's API:
the test has no MongoDB client of its own."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from vigil_harness import (BINARY, MULT, Vigil, check, media, metrics_values, run_tests,  # noqa: E402
                           skip)

SRC = os.environ.get("VIGIL_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
PORT = os.environ.get("VIGIL_MONGO_FAULTS_PORT", "27260")
ENV = dict(os.environ, VIGIL_FERRET_PORT=PORT, VIGIL_FERRET_DIR=f"/tmp/vigil-ferret-e2e-{PORT}")
SCRIPT = os.path.join(SRC, "scripts", "ferretdb")
URL = None


def ferret(verb):
    return subprocess.run(["bash", SCRIPT, verb], env=ENV, capture_output=True, text=True,
                          timeout=600)


def password_of(url):
    return url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


def stage_count(v, field, stage, camera):
    _, _, body = v.get("/metrics")
    m = metrics_values(body.decode())
    return int(m.get((f"vigil_stage_{field}_total",
                      frozenset({("stage", stage), ("camera", camera)})), 0))


def stats(v):
    status, _, body = v.get("/api/v1/stats")
    check(status == 200, f"/api/v1/stats: {status} {body[:300]!r}")
    return json.loads(body)


def frames_stored(v):
    return int(stats(v)["store"]["frames"])


def all_detections(v):
    """Every detection row, through the API's cursor pagination."""
    rows, cursor = [], None
    for _ in range(10000):
        path = "/api/v1/detections?camera=cam&limit=500" + (f"&cursor={cursor}" if cursor else "")
        status, _, body = v.get(path)
        check(status == 200, f"{path}: {status} {body[:300]!r}")
        page = json.loads(body)
        rows += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return rows
    raise AssertionError("the detections never end")


def test_server_stopped_mid_stream_then_back_loses_and_duplicates_nothing():
    """FerretDB stopped for 4 s while a 20 fps camera streams: preprocess
    waits for it with the frame it holds (unacknowledged) and stores it once
    the server is back; every frame ingest published is stored exactly once
    (the unique index on camera and sequence refuses a second copy, so as
    many frames as published is each once), and their detections once."""
    video = media("vtest.avi")
    cfg = f"""
ingest: {{ realtime: true }}
infer: {{ model: motion }}
preprocess: {{ motion_threshold: 0.0 }}
cameras:
  - {{ id: cam, url: "{video}", fps: 20, loop: false }}
"""
    with Vigil(["--store", URL], config=cfg) as v:
        v.wait_for("frames in MongoDB", lambda: frames_stored(v) > 60, timeout=120 * MULT)
        down = ferret("down")
        check(down.returncode == 0, f"scripts/ferretdb down: {down.stderr}")
        waiting, deadline = None, time.time() + 4
        while time.time() < deadline:
            _, _, body = v.get("/healthz")
            for p in json.loads(body).get("problems", []):
                if p["component"] == "preprocess" and p["camera"] == "cam":
                    waiting = p["error"]
            time.sleep(0.25)
        up = ferret("start")
        check(up.returncode == 0 and up.stdout.strip().splitlines()[-1] == URL,
              f"scripts/ferretdb start after down: {up.stdout} {up.stderr[-500:]}")
        check(waiting and "frames wait for the warehouse" in waiting,
              f"/healthz during the outage: {waiting!r}")
        check(password_of(URL) not in (waiting or ""), "the password in /healthz")
        v.wait_for("the source to end", lambda: "every source has ended" in v.log_text(),
                   timeout=300 * MULT)
        published = stage_count(v, "out", "ingest", "cam")
        v.wait_for("preprocess to take every published frame",
                   lambda: stage_count(v, "in", "preprocess", "cam") == published,
                   timeout=120 * MULT)
        v.wait_for("every published frame in the warehouse",
                   lambda: frames_stored(v) >= published, timeout=120 * MULT)
        counts = {f: stage_count(v, f, "preprocess", "cam")
                  for f in ("in", "out", "dropped", "failed")}
        frames = frames_stored(v)
        last = [-1]

        def detections_still():  # the same count over a second
            time.sleep(1)
            n = int(stats(v)["store"]["detections"])
            still, last[0] = n == last[0], n
            return still
        v.wait_for("the detections to stop changing", detections_still, timeout=120 * MULT)
        dets = all_detections(v)
        check(len(dets) == last[0], f"{len(dets)} detections listed, stats say {last[0]}")
        check(v.stop() == 0, "exit code after SIGTERM")
        log = v.log_text()
    check("cannot store frame yet, retrying in" in log, "no frame retry in the log")
    check("frames are stored again after" in log, "no recovery in the log")
    check(password_of(URL) not in log, "the password in vigil's log")
    check(counts["in"] == published and counts["failed"] == 0 and counts["dropped"] == 0 and
          counts["out"] == published, f"ingest published {published}, preprocess {counts}")
    check(frames == published, f"{frames} frames stored of {published} published")
    keys = [(d["camera"], d["sequence"], d["model"], d["label"], d["score"],
             json.dumps(d["box"])) for d in dets]
    check(len(keys) == len(set(keys)), f"{len(keys) - len(set(keys))} detections stored twice")
    print(f"restart: {published} frames published, {frames} stored; {len(dets)} detections, "
          f"each once; {log.count('cannot store frame yet')} retry records in the log")


if __name__ == "__main__":
    if not os.path.exists(BINARY):
        skip(f"no vigil binary at {BINARY}")
    r = ferret("start")
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or not lines or not lines[-1].startswith("mongodb://"):
        print(r.stdout, r.stderr[-2000:])
        ferret("stop")
        skip("scripts/ferretdb start could not start FerretDB")
    URL = lines[-1]
    probe = subprocess.run([BINARY, "db", "version", "--store", URL], capture_output=True,
                           text=True, timeout=120)
    if "not built into this binary" in probe.stderr:
        ferret("stop")
        skip("vigil was built without MongoDB (libmongoc-dev missing)")
    try:
        run_tests([f for n, f in list(globals().items()) if n.startswith("test_")])
    finally:
        ferret("stop")
