"""The dashboard in a real browser: `vigil run` on the sample video (camera
`street`, looping at real time so live views have frames, analytics on with
a zone and a line) serving a dashboard build (http.web_root), users admin,
operator and viewer made with the CLI, and headless Chromium driven by
tests/browser/dashboard/run.mjs through every area module
(tests/browser/dashboard/areas/*.mjs). Passes when every area passed with no
console error in any page.

The build: $VIGIL_WEB_DIST if set; else web/dist when it is newer than every
source of web/ (make web built it); else `npx vite build` into a temporary
directory. Screenshots go to $VIGIL_SCREENSHOT_DIR or a temporary directory
that is kept and printed. VIGIL_DASHBOARD_AREAS=live,review runs a subset.

Skips (77), saying why, when node, web/node_modules, playwright-core
(tests/browser/node_modules, scripts/setup.sh test) or Chromium
(/usr/bin/chromium, $VIGIL_CHROMIUM) is absent, or without the sample media.
Runs in the release tree only (CMakeLists.txt): a sanitizer build only slows
the server the browser waits on, and the C paths it uses are covered by the
API tests there."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from api_roles import cli  # noqa: E402
from vigil_harness import MULT, Failure, Vigil, check, media, run_tests, skip  # noqa: E402

ROOT = os.path.abspath(os.environ.get("VIGIL_SOURCE_DIR") or
                       os.path.join(os.path.dirname(__file__), "..", ".."))
WEB = os.path.join(ROOT, "web")
BROWSER = os.path.join(ROOT, "tests", "browser")
RUNNER = os.path.join(BROWSER, "dashboard", "run.mjs")
PASSWORD = "dashboard-password-1"
USERS = {"admin": "dash-admin", "operator": "dash-operator", "viewer": "dash-viewer"}

CONFIG = """
ingest:
  realtime: true
infer:
  model: motion
preprocess:
  motion_threshold: 0.003
analytics:
  enabled: true
  min_hits: 2
http:
  web_root: "{web_root}"
cameras:
  - id: street
    name: Street
    url: "{video}"
    fps: 0
    loop: true
    zones:
      - id: walk
        polygon: [[0.1, 0.4], [0.9, 0.4], [0.9, 0.95], [0.1, 0.95]]
    lines:
      - id: middle
        points: [[0.5, 0.0], [0.5, 1.0]]
"""


def newest_mtime(paths):
    newest = 0.0
    for p in paths:
        if os.path.isfile(p):
            newest = max(newest, os.path.getmtime(p))
        for d, dirs, files in os.walk(p):
            dirs[:] = [x for x in dirs if x != "node_modules"]
            for f in files:
                newest = max(newest, os.path.getmtime(os.path.join(d, f)))
    return newest


def requirements():
    node = shutil.which("node")
    if not node:
        skip("node is not installed (the dashboard's build and browser tests need it)")
    if not os.path.isdir(os.path.join(WEB, "node_modules")):
        skip("web/node_modules is absent (npm ci in web/, or make web)")
    if not os.path.isdir(os.path.join(BROWSER, "node_modules", "playwright-core")):
        skip("playwright-core is absent from tests/browser/node_modules (scripts/setup.sh test)")
    chromium = os.environ.get("VIGIL_CHROMIUM") or "/usr/bin/chromium"
    if not os.access(chromium, os.X_OK):
        skip(f"no Chromium at {chromium} (apt install chromium, or set VIGIL_CHROMIUM)")
    return node


def dashboard_build(tmp):
    """The directory of a dashboard build to serve (see the docstring)."""
    given = os.environ.get("VIGIL_WEB_DIST")
    if given:
        check(os.path.isfile(os.path.join(given, "index.html")), f"VIGIL_WEB_DIST={given} has no index.html")
        return given
    dist = os.path.join(WEB, "dist")
    sources = [os.path.join(WEB, p) for p in ("src", "index.html", "package-lock.json", "vite.config.ts",
                                              "public")]
    if os.path.isfile(os.path.join(dist, "index.html")) and \
            os.path.getmtime(os.path.join(dist, "index.html")) >= newest_mtime(sources):
        print(f"dashboard: web/dist (newer than web/'s sources)")
        return dist
    out = os.path.join(tmp, "dist")
    t0 = time.time()
    r = subprocess.run(["npx", "vite", "build", "--outDir", out, "--emptyOutDir", "--logLevel", "warn"],
                       cwd=WEB, capture_output=True, text=True, timeout=300 * MULT)
    check(r.returncode == 0, f"vite build: exit {r.returncode}: {(r.stderr or r.stdout)[-2000:]}")
    print(f"dashboard: built into {out} in {time.time() - t0:.1f} s")
    return out


def wait_live(v):
    """The sample camera online with frames in the warehouse."""
    def ready():
        status, _, body = v.get("/api/v1/cameras/street")
        if status != 200 or json.loads(body).get("status") != "online":
            return None
        stats = v.json("/api/v1/stats")
        return stats if stats["store"]["frames"] > 0 else None
    v.wait_for("camera street online with frames stored", ready, 60)


def test_dashboard_in_chromium():
    node = requirements()
    video = media("vtest.avi")
    tmp = tempfile.mkdtemp(prefix="vigil-dashboard-")
    try:
        web_root = dashboard_build(tmp)
        shots = os.environ.get("VIGIL_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="vigil-dashboard-shots-")
        with Vigil([], config=CONFIG.format(video=video, web_root=web_root)) as v:
            for role, name in USERS.items():
                cli(v, "user", "add", name, "--role", role, stdin=(PASSWORD + "\n").encode())
            status, headers, body = v.request("GET", "/", token="")
            check(status == 200 and b"<script" in body,
                  f"GET / serves the dashboard's shell: {status} {body[:200]!r}")
            wait_live(v)
            cfg = {
                "base": v.url(""),
                "token": v.token,
                "camera": "street",
                "screenshotDir": shots,
                "credentials": {role: {"name": name, "password": PASSWORD} for role, name in USERS.items()},
            }
            cfg_path = os.path.join(tmp, "dashboard.json")
            with open(cfg_path, "w") as f:
                json.dump(cfg, f)
            env = dict(os.environ, VIGIL_SAMPLE_VIDEO=video, VIGIL_SCREENSHOT_DIR=shots)
            t0 = time.time()
            try:
                r = subprocess.run([node, RUNNER, cfg_path], capture_output=True, text=True, env=env,
                                   timeout=540 * MULT)
            except subprocess.TimeoutExpired as e:
                out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
                raise Failure(f"run.mjs did not finish in {540 * MULT:.0f} s:\n{out[-3000:]}")
            wall = time.time() - t0
            sys.stdout.write(r.stderr[-6000:] if r.returncode else "")
            lines = r.stdout.strip().splitlines()
            for line in lines[:-1]:
                print("  " + line)
            print(f"run.mjs: exit {r.returncode} in {wall:.1f} s; screenshots in {shots}")
            try:
                summary = json.loads(lines[-1]) if lines else None
            except ValueError:
                summary = None
            check(summary is not None, f"run.mjs printed no JSON summary (exit {r.returncode}):\n"
                  + r.stdout[-2000:] + r.stderr[-3000:])
            failed = [a for a in summary.get("areas", []) if not a.get("ok")]
            problems = ([summary["error"]] if summary.get("error") else []) + \
                [f"{a['name']}: {a.get('error')}" for a in failed] + \
                list(summary.get("console_errors_outside_areas") or [])
            check(r.returncode == 0 and summary.get("ok"),
                  f"run.mjs: exit {r.returncode}: " + "; ".join(problems))
            check(summary.get("areas"), "no area ran")
            check(v.proc.poll() is None, "vigil exited during the browser tests")
            check(v.stop() == 0, "vigil did not exit cleanly after the browser tests")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_tests([test_dashboard_in_chromium])
