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
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from store_outage import (Server, camera_config, check_outage_survived,  # noqa: E402
                          preprocess_counts, start_server, stop_for_4s_mid_stream)
from vigil_harness import MULT, Vigil, check, run_tests  # noqa: E402

SRC = os.environ.get("VIGIL_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
PORT = os.environ.get("VIGIL_MONGO_FAULTS_PORT", "27260")
ENV = dict(os.environ, VIGIL_FERRET_PORT=PORT, VIGIL_FERRET_DIR=f"/tmp/vigil-ferret-e2e-{PORT}")
SERVER = Server(os.path.join(SRC, "scripts", "ferretdb"), ENV, timeout=600)
URL = None


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
    with Vigil(["--store", URL], config=camera_config()) as v:
        published = stop_for_4s_mid_stream(v, SERVER, "MongoDB", URL, lambda: frames_stored(v))
        v.wait_for("every published frame in the warehouse",
                   lambda: frames_stored(v) >= published, timeout=120 * MULT)
        counts = preprocess_counts(v)
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
    check_outage_survived(log, URL, counts, published)
    check(frames == published, f"{frames} frames stored of {published} published")
    keys = [(d["camera"], d["sequence"], d["model"], d["label"], d["score"],
             json.dumps(d["box"])) for d in dets]
    check(len(keys) == len(set(keys)), f"{len(keys) - len(set(keys))} detections stored twice")
    print(f"restart: {published} frames published, {frames} stored; {len(dets)} detections, "
          f"each once; {log.count('cannot store frame yet')} retry records in the log")


if __name__ == "__main__":
    URL = start_server(SERVER, "mongodb://", "FerretDB", "MongoDB (libmongoc-dev missing)")
    try:
        run_tests([f for n, f in list(globals().items()) if n.startswith("test_")])
    finally:
        SERVER("stop")
