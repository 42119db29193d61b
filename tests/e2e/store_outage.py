"""The warehouse server stopped and started again while vigil runs: the
part test_postgres_faults.py and test_mongo_faults.py share (issues 12 and
13, "Bad input and faults"). Each reads the warehouse back its own way
(psql on PostgreSQL, vigil's API on MongoDB) and checks what it stored.

The server is a Server: scripts/postgres or scripts/ferretdb on the test's
own port and directory (its env)."""
import json
import os
import subprocess
import time

from vigil_harness import BINARY, MULT, check, media, metrics_values, skip


class Server:
    """server(verb): `bash SCRIPT VERB` (start, down, stop) with `env`, a
    CompletedProcess with text output; name is scripts/NAME."""

    def __init__(self, script, env, timeout):
        self.script, self.env, self.timeout = script, env, timeout
        self.name = "scripts/" + os.path.basename(script)

    def __call__(self, verb):
        return subprocess.run(["bash", self.script, verb], env=self.env, capture_output=True,
                              text=True, timeout=self.timeout)


def password_of(url):
    return url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


def stage_count(v, field, stage, camera):
    _, _, body = v.get("/metrics")
    m = metrics_values(body.decode())
    return int(m.get((f"vigil_stage_{field}_total",
                      frozenset({("stage", stage), ("camera", camera)})), 0))


def camera_config():
    """One 20 fps camera (vtest.avi, played once, in real time) whose every
    frame preprocess passes on, with the motion model."""
    video = media("vtest.avi")
    return f"""
ingest: {{ realtime: true }}
infer: {{ model: motion }}
preprocess: {{ motion_threshold: 0.0 }}
cameras:
  - {{ id: cam, url: "{video}", fps: 20, loop: false }}
"""


def stop_for_4s_mid_stream(v, server, name, url, stored, must_name=None):
    """With more than 60 frames `stored()` in the warehouse, stops it for
    4 s (server("down")), checks /healthz said the camera's frames wait for
    it (naming `must_name` when given, never the password of `url`), starts
    it again on the same url and waits for the source to end and preprocess
    to take every frame ingest published. Returns that count."""
    v.wait_for(f"frames in {name}", lambda: stored() > 60, timeout=120 * MULT)
    down = server("down")
    check(down.returncode == 0, f"{server.name} down: {down.stderr}")
    # while it is down, /healthz says the camera's frames wait for it
    waiting, deadline = None, time.time() + 4
    while time.time() < deadline:
        _, _, body = v.get("/healthz")
        for p in json.loads(body).get("problems", []):
            if p["component"] == "preprocess" and p["camera"] == "cam":
                waiting = p["error"]
        time.sleep(0.25)
    up = server("start")
    check(up.returncode == 0 and up.stdout.strip().splitlines()[-1] == url,
          f"{server.name} start after down: {up.stdout} {up.stderr[-500:]}")
    check(waiting and "frames wait for the warehouse" in waiting
          and (must_name is None or must_name in waiting),
          f"/healthz during the outage: {waiting!r}")
    check(password_of(url) not in (waiting or ""), "the password in /healthz")
    v.wait_for("the source to end", lambda: "every source has ended" in v.log_text(),
               timeout=300 * MULT)
    published = stage_count(v, "out", "ingest", "cam")
    v.wait_for("preprocess to take every published frame",
               lambda: stage_count(v, "in", "preprocess", "cam") == published,
               timeout=120 * MULT)
    return published


def preprocess_counts(v):
    return {f: stage_count(v, f, "preprocess", "cam") for f in ("in", "out", "dropped", "failed")}


def check_outage_survived(log, url, counts, published):
    """The outage was seen, retried and survived, without the password in
    the log; every frame ingest published went through preprocess once,
    none failed or dropped."""
    check("cannot store frame yet, retrying in" in log, "no frame retry in the log")
    check("frames are stored again after" in log, "no recovery in the log")
    check(password_of(url) not in log, "the password in vigil's log")
    check(counts["in"] == published and counts["failed"] == 0 and counts["dropped"] == 0 and
          counts["out"] == published, f"ingest published {published}, preprocess {counts}")


def start_server(server, scheme, what, without):
    """Starts the server and returns its url; skips (stopping it) when there
    is no vigil binary, the server does not start (`what`: its name), or
    vigil was built without its store (`without`: which, and why)."""
    if not os.path.exists(BINARY):
        skip(f"no vigil binary at {BINARY}")
    r = server("start")
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or not lines or not lines[-1].startswith(scheme):
        print(r.stdout, r.stderr[-2000:])
        server("stop")
        skip(f"{server.name} start could not start {what}")
    url = lines[-1]
    probe = subprocess.run([BINARY, "db", "version", "--store", url], capture_output=True,
                           text=True, timeout=120)
    if "not built into this binary" in probe.stderr:
        server("stop")
        skip(f"vigil was built without {without}")
    return url
