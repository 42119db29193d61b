"""End to end: cameras and zones changed through the API of a running `vigil run`.

A camera added through the API goes online without a restart, and frames
arrive; rules put through the API reach the analytics stage within a
second; a camera disabled stops and enabled starts again; after a restart
of `vigil run` on the same warehouse the API's camera runs again and its
rule set is the API's; a camera removed goes away. Two editors of the same
rule-set version: one 412. The camera's password is in no API body and no
log line. A camera of the configuration (`--source sample`) is switched off
and on by an operator (PATCH {"enabled"}), stays off across a restart, and
the rest of it stays the file's (409). Needs the sample video
(scripts/setup.sh media)."""
import json
import os
import re
import shutil
import signal
import tempfile
import threading
import time

from vigil_harness import MULT, Vigil, check, media, run_tests

CONFIG = """
ingest:
  realtime: true
infer:
  model: motion
"""

SECRET = "hunter2-e2e"


def call(v, method, path, body=None, headers=None, expect=None):
    status, hdrs, data = v.request(method, path, body=body, headers=headers)
    if expect is not None:
        check(status == expect,
              f"{method} {path}: status {status}, want {expect}: {data[:400]!r}")
    check(SECRET.encode() not in data, f"{method} {path}: the camera's password in the body")
    return status, hdrs, json.loads(data) if data else None


def frames_of(v, camera):
    for c in v.json("/api/v1/storage")["cameras"]:
        if c["camera"] == camera:
            return c["frames"]
    return 0


def status_of(v, camera):
    status, _, body = v.get(f"/api/v1/cameras/{camera}")
    return json.loads(body).get("status") if status == 200 else None


def check_no_more_frames(v, camera, after):
    """Once what was on its way is stored, no frame of camera comes."""
    time.sleep(1.5 * MULT)
    n = frames_of(v, camera)
    time.sleep(2 * MULT)
    m = frames_of(v, camera)
    check(m == n, f"{m - n} frames of {camera} stored 1.5 s and more after {after}")


def log_has(v, pattern, since=0):
    return re.search(pattern, v.log_text()[since:]) is not None


def test_camera_and_rules_live_and_after_a_restart():
    video = media("vtest.avi")
    tmp = tempfile.mkdtemp(prefix="vigil-e2e-res-")
    data = os.path.join(tmp, "data")
    # a copy whose name carries a token, and a second camera with a password
    # in its URL that cannot open: neither secret may leak
    try:
        with Vigil([], data_dir=data, config=CONFIG) as v:
            _, hdrs, cam = call(v, "POST", "/api/v1/cameras",
                                {"id": "api-street", "name": "Street (API)", "url": video,
                                 "fps": 5}, expect=201)
            check(cam["applied"] is True, f"not applied: {cam}")
            check(cam["source"] == "api", f"source: {cam}")
            call(v, "POST", "/api/v1/cameras",
                 {"id": "api-locked", "url": f"rtsp://viewer:{SECRET}@127.0.0.1:9/live",
                  "fps": 1}, expect=201)
            v.wait_for("api-street online", lambda: status_of(v, "api-street") == "online",
                       timeout=30)
            v.wait_for("frames of api-street", lambda: frames_of(v, "api-street") > 5, timeout=30)
            v.wait_for("api-locked retrying", lambda: status_of(v, "api-locked") == "retrying",
                       timeout=30)

            # rules: If-Match required, then effective in analytics within a second
            rules = {"zones": [{"id": "road", "polygon": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]],
                                "labels": ["motion"]}],
                     "lines": [{"id": "curb", "points": [[0, 0.6], [1, 0.6]]}]}
            call(v, "PUT", "/api/v1/cameras/api-street/rules", rules, expect=428)
            mark = len(v.log_text())
            _, hdrs, out = call(v, "PUT", "/api/v1/cameras/api-street/rules", rules,
                                headers={"If-Match": '"0"'}, expect=200)
            check(hdrs.get("ETag") == '"1"', f"ETag after the first write: {hdrs.get('ETag')}")
            t0 = time.time()
            v.wait_for("analytics applies the rules",
                       lambda: log_has(v, r'api-street\\?": 1 zone\(s\) and 1 line\(s\) from '
                                          r'topic control', mark), timeout=1)
            print(f"rules applied in analytics {time.time() - t0:.3f} s after the reply")

            # two editors from the same version: one 412
            results = []

            def edit(poly):
                s, _, _ = v.request("PUT", "/api/v1/cameras/api-street/zones/road",
                                    body={"polygon": poly}, headers={"If-Match": '"1"'})
                results.append(s)

            ts = [threading.Thread(target=edit, args=(p,)) for p in
                  ([[0, 0.4], [1, 0.4], [1, 1]], [[0, 0.3], [1, 0.3], [1, 1]])]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            check(sorted(results) == [200, 412], f"two concurrent edits: {results}")

            # disabled: it stops; enabled: it runs again
            call(v, "PATCH", "/api/v1/cameras/api-street", {"enabled": False}, expect=200)
            v.wait_for("api-street stopping", lambda: log_has(
                v, r'camera \\?"api-street\\?": stopping', mark), timeout=15)
            check(status_of(v, "api-street") == "stopped", "status after the stop")
            check_no_more_frames(v, "api-street", "the stop")
            call(v, "PATCH", "/api/v1/cameras/api-street", {"enabled": True}, expect=200)
            v.wait_for("api-street online again",
                       lambda: status_of(v, "api-street") == "online", timeout=30)
            check(v.stop() == 0, "vigil run did not exit cleanly")
            log1 = v.log_text()

        # a new process on the same warehouse: the API's camera and rules come back
        with Vigil([], data_dir=data, config=CONFIG) as v:
            v.wait_for("restored", lambda: log_has(
                v, r"restored from the warehouse: 2 camera\(s\) and 1 rule set\(s\)"), timeout=10)
            v.wait_for("api-street online after the restart",
                       lambda: status_of(v, "api-street") == "online", timeout=30)
            v.wait_for("the rules in analytics after the restart",
                       lambda: log_has(v, r'api-street\\?": 1 zone\(s\) and 1 line\(s\) from '
                                          r'topic control'), timeout=10)
            _, hdrs, got = call(v, "GET", "/api/v1/cameras/api-street/rules", expect=200)
            check(hdrs.get("ETag") == '"2"', f"ETag after the restart: {hdrs.get('ETag')}")
            check([z["id"] for z in got["zones"]] == ["road"], f"rules after restart: {got}")

            # removed: it stops and is gone
            _, _, out = call(v, "DELETE", "/api/v1/cameras/api-street", expect=200)
            check(out["applied"] is True, f"delete not applied: {out}")
            v.wait_for("api-street stopping", lambda: log_has(
                v, r'camera \\?"api-street\\?": stopping'), timeout=15)
            call(v, "GET", "/api/v1/cameras/api-street", expect=404)
            ids = [c["id"] for c in call(v, "GET", "/api/v1/cameras", expect=200)[2]["items"]]
            check("api-street" not in ids, f"removed camera still listed: {ids}")
            check_no_more_frames(v, "api-street", "the removal")
            call(v, "DELETE", "/api/v1/cameras/api-locked", expect=200)
            check(v.stop() == 0, "vigil run did not exit cleanly")
            for text in (log1, v.log_text()):
                check(SECRET not in text, "the camera's password in the log")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_configuration_camera_switched_off_and_on_across_a_restart():
    from api_roles import make_token, make_user

    tmp = tempfile.mkdtemp(prefix="vigil-e2e-cfgcam-")
    data = os.path.join(tmp, "data")
    try:
        with Vigil(["--source", "sample"], data_dir=data, config=CONFIG) as v:
            make_user(v, "cfg-operator", "operator")
            op = {"Authorization": "Bearer " + make_token(v, "cfg-operator")}
            v.wait_for("cam0 online", lambda: status_of(v, "cam0") == "online", timeout=30)
            v.wait_for("frames of cam0", lambda: frames_of(v, "cam0") > 5, timeout=30)
            _, _, cam = call(v, "GET", "/api/v1/cameras/cam0", expect=200)
            check(cam["source"] == "config" and cam["enabled"] is True, f"cam0: {cam}")

            # the operator's Disable: it stops, and no frame of it is stored any more
            _, _, out = call(v, "PATCH", "/api/v1/cameras/cam0", {"enabled": False}, headers=op,
                             expect=200)
            check(out["applied"] is True and out["enabled"] is False, f"disable: {out}")
            v.wait_for("cam0 stopped", lambda: status_of(v, "cam0") == "stopped", timeout=10)
            check_no_more_frames(v, "cam0", "the disable")
            _, _, cam = call(v, "GET", "/api/v1/cameras/cam0", expect=200)
            check(cam["enabled"] is False and cam["source"] == "config", f"cam0 off: {cam}")

            # the file owns the rest
            for body in ({"name": "Renamed"}, {"enabled": True, "fps": 2}):
                _, _, err = call(v, "PATCH", "/api/v1/cameras/cam0", body, expect=409)
                check("comes from the configuration file" in err["error"]["message"]
                      if isinstance(err.get("error"), dict) else
                      "comes from the configuration file" in json.dumps(err), f"409: {err}")
            call(v, "DELETE", "/api/v1/cameras/cam0", expect=409)
            check(v.stop() == 0, "vigil run did not exit cleanly")

        # a restart: the configuration says the camera exists; the disable holds
        with Vigil(["--source", "sample"], data_dir=data, config=CONFIG) as v:
            v.wait_for("restored", lambda: log_has(
                v, r"restored from the warehouse: 1 camera\(s\)"), timeout=10)
            before = frames_of(v, "cam0")
            time.sleep(3 * MULT)
            check(frames_of(v, "cam0") == before, "cam0 ran after the restart though disabled")
            check(status_of(v, "cam0") == "stopped", f"status after restart: {status_of(v, 'cam0')}")
            check(not log_has(v, r'camera \\?"cam0\\?": online'), "cam0 came online at start")

            # Enable: frames flow again
            op = {"Authorization": "Bearer " + make_token(v, "cfg-operator")}
            _, _, out = call(v, "PATCH", "/api/v1/cameras/cam0", {"enabled": True}, headers=op,
                             expect=200)
            check(out["applied"] is True and out["enabled"] is True, f"enable: {out}")
            v.wait_for("cam0 online again", lambda: status_of(v, "cam0") == "online", timeout=30)
            v.wait_for("frames of cam0 again", lambda: frames_of(v, "cam0") > before + 5,
                       timeout=30)
            check(v.stop() == 0, "vigil run did not exit cleanly")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_readyz_and_config_redacted():
    with Vigil([], config=CONFIG + 'bus: {url: "inproc://"}\n') as v:
        status, _, body = v.get("/readyz", token="")
        check(status == 200, f"/readyz: {status} {body[:200]!r}")
        ready = json.loads(body)
        check(ready["checks"] == {"store": "ok", "store_replica": "none", "bus": "ok"},
              f"/readyz: {ready}")
        cfg = v.json("/api/v1/config")
        check(cfg["http"]["listen"] == "127.0.0.1:0", f"config http: {cfg['http']}")
        check(cfg["cameras"] == [], f"config cameras: {cfg['cameras']}")
        status, _, _ = v.get("/api/v1/config", token="")
        check(status == 401, f"/api/v1/config without a credential: {status}")
        v.stop()


if __name__ == "__main__":
    run_tests([test_camera_and_rules_live_and_after_a_restart,
               test_configuration_camera_switched_off_and_on_across_a_restart,
               test_readyz_and_config_redacted])
