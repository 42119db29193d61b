#!/usr/bin/env python3
"""Cameras changed through the API in distributed mode, on a real 3-broker
Kafka cluster (docs/api.md, "Cameras through the API").

Runs `vigil api`, `vigil ingest` (no cameras in its configuration),
preprocess and sink as separate processes on one Kafka bus and warehouse:

1. /readyz of the API says the bus answers.
2. POST /api/v1/cameras: the API publishes on topic control and the ingest
   instance runs the camera (its frames counter grows on ingest's /metrics)
   and the warehouse stores its frames; the reply says "applied": true.
3. PATCH enabled false: the counter stops; true: it grows again.
4. PUT of the camera's rule set: stored and published ("applied": true).
5. kill -9 ingest and start a new instance: it replays the compacted
   control log and runs the API's camera again.
6. DELETE: the camera stops.
7. The brokers stop: /readyz turns 503 saying no broker answered.
Exit 77 when java/mvn, the binary or vtest.avi are missing.
"""
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import test_kafka_failures as kf  # noqa: E402  (shared helpers)
import kafka_api_support as kas  # noqa: E402
import test_kafka_cameras as kc  # noqa: E402

kas.use_cluster("apitest", "VIGIL_KAFKA_APITEST_PORT_BASE", 28092)
CAMERA = "api-gate"


def call(port, method, path, body=None, headers=None):
    h = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data, method=method,
                                 headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30 * kf.MULT) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def grows(port):
    before = (kc.frames_by_camera(port) or {}).get(CAMERA, 0)
    time.sleep(3 * kf.MULT)
    return (kc.frames_by_camera(port) or {}).get(CAMERA, 0) > before


def run(work, bus):
    cfg = os.path.join(work, "api.yaml")
    with open(cfg, "w") as f:
        f.write("ingest:\n  realtime: true\npreprocess:\n  motion_threshold: 0\n"
                "auth:\n  enabled: false\n")
    db = os.path.join(work, "data", "vigil.db")
    s = kf.Services(work, bus, cfg)
    try:
        s.start("sink", "sink")
        s.start("preprocess", "pre")
        ing = s.start("ingest", "ingest0", extra_args=["--http", "127.0.0.1:0"])
        iport = kf.service_port(work, "ingest0")
        s.start("api", "api", extra_args=["--http", "127.0.0.1:0"])
        port = kas.api_port(work, "api", 30)
        kf.wait_for("ingest0 to join group ingest", lambda: "following topic control" in
                    open(os.path.join(work, "ingest0.log")).read(), 60)

        # 1. ready
        st, ready = call(port, "GET", "/readyz")
        assert st == 200 and ready["checks"]["bus"] == "ok", (st, ready)

        # 2. a camera added through the API runs on the ingest instance
        st, cam = call(port, "POST", "/api/v1/cameras",
                       {"id": CAMERA, "url": kf.VIDEO, "fps": 2})
        assert st == 201 and cam["applied"] is True, (st, cam)
        kf.wait_for("ingest0 to run %s" % CAMERA, lambda: grows(iport), 60)
        kf.wait_for("frames of %s stored" % CAMERA,
                    lambda: CAMERA in {c for c, _ in kf.frames_stored(db)}, 60)
        kf.wait_for("the warehouse to show %s online" % CAMERA, lambda: kf.db_rows(
            db, "SELECT status FROM cameras WHERE id = '%s'" % CAMERA) == [("online",)], 60)

        # 3. disabled and enabled again
        st, cam = call(port, "PATCH", "/api/v1/cameras/" + CAMERA, {"enabled": False})
        assert st == 200 and cam["applied"] is True, (st, cam)
        kf.wait_for("%s to stop" % CAMERA, lambda: not grows(iport), 60)
        st, cam = call(port, "PATCH", "/api/v1/cameras/" + CAMERA, {"enabled": True})
        assert st == 200, (st, cam)
        kf.wait_for("%s to run again" % CAMERA, lambda: grows(iport), 60)

        # 4. its rule set
        rules = {"zones": [{"id": "road", "polygon": [[0, 0.5], [1, 0.5], [1, 1]]}]}
        st, out = call(port, "PUT", "/api/v1/cameras/%s/rules" % CAMERA, rules,
                       headers={"If-Match": '"0"'})
        assert st == 200 and out["applied"] is True and out["version"] == 1, (st, out)

        # 5. a new ingest instance replays the compacted control log
        ing.send_signal(signal.SIGKILL)
        ing.wait()
        s.start("ingest", "ingest1", extra_args=["--http", "127.0.0.1:0"])
        iport = kf.service_port(work, "ingest1")
        kf.wait_for("ingest1 to run %s from the control log" % CAMERA, lambda: grows(iport), 90)

        # 6. removed: it stops
        st, out = call(port, "DELETE", "/api/v1/cameras/" + CAMERA)
        assert st == 200 and out["applied"] is True, (st, out)
        kf.wait_for("%s to stop after the removal" % CAMERA, lambda: not grows(iport), 60)
        st, _ = call(port, "GET", "/api/v1/cameras/" + CAMERA)
        assert st == 404, st

        # 7. no broker: not ready
        kf.cluster("stop")
        kf.wait_for("/readyz to say no broker answered", lambda: call(port, "GET", "/readyz") ==
                    (503, {"status": "not ready",
                           "checks": {"store": "ok", "store_replica": "none",
                                      "bus": "no broker answered"}}), 60)
        for p in s.procs:  # nothing left to drain without brokers
            p.kill()
    finally:
        s.stop_all()


def main():
    kas.run_on_cluster("api", run)


if __name__ == "__main__":
    main()
