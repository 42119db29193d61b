#!/usr/bin/env python3
"""No camera credential leaves vigil (issue 11, item 2; docs/security.md).

Runs `vigil run` (debug log) with cameras whose URLs carry a secret in every
form vigil accepts -- rtsp://user:SECRET@host, rtsp://SECRET@host (a token),
?password=, ?token=, ?key=, a file path with a query -- plus a test pattern
that keeps frames flowing, waits until every secret camera has failed to open
at least once (so its error went through the log, the camera state and the
warehouse), then greps for the secret: every log line, every API body
(/api/v1/cameras, /api/v1/stats, /metrics and its labels, /api/v1/events,
/healthz), every warehouse row (SQLite dump of every table and column) and
every other file under the data directory. Also the messages of `vigil config
check` and of a configuration error that names a camera's URL.
"""
import os
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigil_harness import BINARY, Vigil, check, run_tests  # noqa: E402

SECRET = "hunter2"
SECRET_URLS = {
    "pw": "rtsp://user:%s@127.0.0.1:1/x" % SECRET,
    "tok": "rtsp://%stoken@127.0.0.1:1/y" % SECRET,
    "query": "http://127.0.0.1:1/mjpg?user=bob&password=%s" % SECRET,
    "mixed": "http://viewer:%s@127.0.0.1:1/v?token=%s&key=%s" % (SECRET, SECRET, SECRET),
    "file": "/nonexistent/vigil/gate.mp4?token=%s" % SECRET,
}


def config():
    lines = ["infer: { model: motion }", "ingest: { reconnect_min_ms: 200 }", "cameras:",
             "  - { id: pattern, url: testsrc, fps: 5 }"]
    for cam, url in SECRET_URLS.items():
        lines.append('  - { id: %s, url: "%s", fps: 2 }' % (cam, url))
    return "\n".join(lines) + "\n"


def leaks(what, text):
    """The lines of text that show the secret (or part of a redaction gone wrong)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return ["%s: %s" % (what, l.strip()[:300]) for l in text.splitlines() if SECRET in l]


def every_secret_camera_failed(v):
    cams = {c["id"]: c for c in v.json("/api/v1/cameras")["items"]}
    want = set(SECRET_URLS)
    done = {c for c in want if c in cams and cams[c].get("last_error")}
    return cams if done == want else None


def test_no_secret_in_any_output():
    found = []
    with Vigil(["--log-level", "debug"], config=config()) as v:
        cams = v.wait_for("every secret camera to fail once", lambda: every_secret_camera_failed(v),
                          timeout=90)
        # redacted, and still recognisable
        check(cams["pw"]["url"] == "rtsp://user:***@127.0.0.1:1/x", cams["pw"]["url"])
        check(cams["tok"]["url"] == "rtsp://***@127.0.0.1:1/y", cams["tok"]["url"])
        check(cams["query"]["url"] == "http://127.0.0.1:1/mjpg?user=bob&password=***",
              cams["query"]["url"])
        v.wait_for("frames from the test pattern",
                   lambda: v.json("/api/v1/stats")["stages"].get("preprocess", {}).get("out", 0) > 3,
                   timeout=60)
        for path in ("/api/v1/cameras", "/api/v1/stats", "/metrics", "/healthz",
                     "/api/v1/events?limit=1000", "/api/v1/detections?limit=100"):
            status, _, body = v.get(path)
            check(status in (200, 404), "GET %s: status %d" % (path, status))
            found += leaks("GET " + path, body)
        for cam in SECRET_URLS:
            status, _, body = v.get("/api/v1/cameras?camera=" + cam)
            found += leaks("GET /api/v1/cameras?camera=" + cam, body)
        check(v.stop() == 0, "exit code after SIGTERM")
        log = v.log_text()
        check("cannot open" in log, "no camera error was logged: the test saw nothing")
        found += leaks("log", log)
        db = os.path.join(v.data_dir, "vigil.db")
        con = sqlite3.connect(db)
        dump = "\n".join(con.iterdump())
        con.close()
        check("127.0.0.1:1" in dump, "the cameras are not in the warehouse: nothing was checked")
        found += leaks("warehouse", dump)
        for root, _, files in os.walk(v.data_dir):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    if SECRET.encode() in f.read():
                        found.append("file %s holds the secret" % os.path.join(root, name))
    check(not found, "the secret was shown:\n" + "\n".join(found[:20]))


def test_no_secret_in_config_messages():
    tmp = tempfile.mkdtemp(prefix="vigil-secrets-")
    path = os.path.join(tmp, "vigil.yaml")
    with open(path, "w") as f:
        f.write(config())
    found = []
    r = subprocess.run([BINARY, "config", "check", path], capture_output=True, text=True)
    check(r.returncode == 0, "config check: %s" % r.stderr)
    found += leaks("config check", r.stdout + r.stderr)
    # too many cameras: the error names the URL it refused
    args = [BINARY, "run", "--duration", "1", "--data-dir", os.path.join(tmp, "d")]
    for i in range(64):
        args += ["--source", "testsrc"]
    args += ["--source", SECRET_URLS["pw"]]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    check(r.returncode == 2 and "too many cameras" in r.stderr, "exit %d: %s" % (r.returncode,
                                                                               r.stderr))
    found += leaks("--source error", r.stdout + r.stderr)
    # a bad bus URL with a secret in its query
    r = subprocess.run([BINARY, "run", "--duration", "1", "--data-dir", os.path.join(tmp, "d"),
                        "--bus", "nats://u:%s@h/x?token=%s" % (SECRET, SECRET)],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode != 0, "an unknown bus scheme was accepted")
    found += leaks("--bus error", r.stdout + r.stderr)
    check(not found, "the secret was shown:\n" + "\n".join(found[:20]))


if __name__ == "__main__":
    run_tests([test_no_secret_in_any_output, test_no_secret_in_config_messages])
