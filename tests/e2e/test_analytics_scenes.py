"""End to end: the synthetic scenes through the whole pipeline, counted exactly.

tests/analytics/scenegen.py renders each scene (object crops from darknet's
sample images moving over vtest.avi's empty street, 5 fps) to a video file;
one `vigil run` watches all of them as non-looping file cameras (camera id =
scene name) with the scenes' zones and lines, through the real detector
(CenterNet on vigil-nn), the tracker and the analytics stage. Then, per
scene, GET /api/v1/counts and GET /api/v1/events must show exactly what the
scene definition implies (scenegen's reference rules on the ground truth):
crossings per line, label and direction; zone entries; zone leaves and
loiters; and GET /api/v1/tracks/{camera}/{id} must show each crossing track
following one object (in the passing scene: the upper walker's track stays
in the upper band, the lower one's in the lower band).

Pipeline settings, and why:
 - ingest.realtime true: frames are stamped when ingest publishes them, so
   only real-time pacing gives them 200 ms apart (loiter_seconds and the
   tracker's lost_seconds are about capture time);
 - preprocess.motion_threshold 0: every frame reaches the detector, also
   while the loiterer stands still;
 - the analytics thresholds of scenegen.TRACKER (CenterNet's scores).
Skipped (the harness's skip()) when the sample media or CenterNet is not
installed."""
import os
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analytics"))

import replay  # noqa: E402
import scenegen  # noqa: E402
from vigil_harness import MULT, Vigil, check, run_tests, skip  # noqa: E402


def models_dir():
    return os.environ.get("VIGIL_MODELS") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "vigil", "models")


def pipeline_config(videos):
    cams = []
    for name, video in videos.items():
        scene = scenegen.SCENES[name]
        cams.append(f"  - id: {name}\n    url: \"{video}\"\n    fps: 0\n    loop: false\n"
                    + scenegen.rules_yaml(scene))
    return ("ingest:\n  realtime: true\n"
            "preprocess:\n  motion_threshold: 0\n"
            + scenegen.analytics_yaml() + "cameras:\n" + "".join(cams))


def settled(v, ncams):
    """The stats once every camera ended and every frame went through
    detection and analytics; None before."""
    cams = v.json("/api/v1/cameras")["items"]
    if len(cams) != ncams or any(c["status"] != "ended" for c in cams):
        return None
    s = v.json("/api/v1/stats")
    st = s["stages"]
    ing = st.get("ingest", {}).get("out", 0)
    pre = st.get("preprocess", {})
    inf = st.get("infer", {})
    ana = st.get("analytics", {})
    if ing == 0 or pre.get("out", 0) + pre.get("dropped", 0) + pre.get("failed", 0) != ing:
        return None
    if inf.get("in", 0) != pre.get("out", 0) or \
            inf.get("out", 0) + inf.get("failed", 0) != inf.get("in", 0):
        return None
    if ana.get("in", 0) + ana.get("dropped", 0) < inf.get("out", 0):
        return None
    return s


def all_events(v, camera):
    items, cursor = [], None
    while True:
        page = v.json(f"/api/v1/events?camera={camera}&limit=500"
                      + (f"&cursor={cursor}" if cursor else ""))
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def counts_from_api(v, scene):
    """/api/v1/counts of one camera in the shape of scenegen.expected()
    (lines in/out, zones entered; left and loiter are events, not counts)."""
    items = v.json(f"/api/v1/counts?camera={scene.name}")["items"]
    lines = {ln["id"]: {lab: {"in": 0, "out": 0} for lab in ln["labels"]} for ln in scene.lines}
    zones = {z["id"]: {lab: {"entered": 0} for lab in z["labels"]} for z in scene.zones}
    for it in items:
        check(it["camera"] == scene.name, f"counts for camera {scene.name} list {it}")
        if it.get("line"):
            c = lines.setdefault(it["line"], {}).setdefault(it["label"], {"in": 0, "out": 0})
            c["in"] += it["in"]
            c["out"] += it["out"]
        else:
            c = zones.setdefault(it["zone"], {}).setdefault(it["label"], {"entered": 0})
            c["entered"] += it["entered"]
    return {"lines": lines, "zones": zones}


def normalise_api_event(e):
    return {"kind": e["kind"], "label": e["label"], "zone": e.get("zone") or "",
            "line": e.get("line") or "", "direction": e.get("direction") or "",
            "track_id": e["track"], "open": e["open"]}


def check_scene(v, scene):
    exp = scenegen.expected(scene)
    want_counts = {"lines": exp["lines"],
                   "zones": {z: {lab: {"entered": c["entered"]} for lab, c in per.items()}
                             for z, per in exp["zones"].items()}}
    d = replay.diff(want_counts, counts_from_api(v, scene))
    check(not d, f"{scene.name}: /api/v1/counts differs from the ground truth: " + "; ".join(d))

    events = [normalise_api_event(e) for e in all_events(v, scene.name)]
    got = replay.tally_events(events, scene)
    d = replay.diff({"lines": exp["lines"], "zones": exp["zones"], "events": exp["events"]}, got)
    check(not d, f"{scene.name}: /api/v1/events differs from the ground truth: " + "; ".join(d))
    check(not any(e["open"] for e in events if e["kind"] in ("zone_enter", "loiter")),
          f"{scene.name}: zone events still open after every object left")

    # each crossing track follows its object: its anchors stay near that
    # object's path (the ground truth at the same point along x)
    crossings = [e for e in events if e["kind"] == "line_cross"]
    check(len({e["track_id"] for e in crossings}) == len(crossings),
          f"{scene.name}: one track crossed twice or two crossings share a track: {crossings}")
    for c in exp["crossings"]:
        obj = next(o for o in scene.objects if o.id == c["object"])
        mine = [e for e in crossings if e["direction"] == c["direction"]
                and e["label"] == c["label"] and e["line"] == c["line"]]
        check(len(mine) == 1, f"{scene.name}: crossing {c}: {len(mine)} events")
        track = v.json(f"/api/v1/tracks/{scene.name}/{mine[0]['track_id']}")
        ys = [p["box"][3] for p in track["points"]]
        y_truth = [a[1] * scenegen.HEIGHT for _, a in scenegen.object_anchors(scene, obj)]
        lo, hi = min(y_truth) - 25, max(y_truth) + 25
        check(track["label"] == obj.label and len(ys) >= 10 and all(lo <= y <= hi for y in ys),
              f"{scene.name}: track {mine[0]['track_id']} of object {obj.id} strays from its "
              f"path (bottom y {min(ys, default=0):.0f}..{max(ys, default=0):.0f}, object "
              f"{lo:.0f}..{hi:.0f}, {len(ys)} points)")
        xs = [(p["box"][0] + p["box"][2]) / 2 for p in track["points"]]
        moving = xs[-1] - xs[0]
        check((moving > 0) == (c["direction"] == "in"),
              f"{scene.name}: track {mine[0]['track_id']} moves {moving:+.0f} px but crossed "
              f"{c['direction']}")


def test_scenes_through_the_pipeline_count_exactly():
    miss = scenegen.missing_media()
    if miss:
        skip("sample media missing (run scripts/setup.sh media): " + ", ".join(miss))
    if not os.path.exists(os.path.join(models_dir(), "centernet", "centernet.json")):
        skip("CenterNet not installed (run `vigil models fetch`)")
    with tempfile.TemporaryDirectory(prefix="vigil-scenes-") as tmp:
        videos = {}
        for name, scene in scenegen.SCENES.items():
            videos[name] = scenegen.render(scene, tmp)["video"]
        t0 = time.time()
        with Vigil([], config=pipeline_config(videos)) as v:
            s = v.wait_for("every scene through detection and analytics",
                           lambda: settled(v, len(videos)), timeout=600)
            check(s["stages"]["infer"]["failed"] == 0, f"infer failed: {s['stages']['infer']}")
            check(s["stages"]["analytics"]["failed"] == 0,
                  f"analytics failed: {s['stages']['analytics']}")
            time.sleep(1.0 * MULT)  # the stage's last commit (analytics.flush_ms)
            print(f"scenes settled after {time.time() - t0:.0f} s")
            failures = []
            for scene in scenegen.SCENES.values():
                try:
                    check_scene(v, scene)
                except AssertionError as e:
                    failures.append(str(e))
            check(not failures, "\n  ".join(failures))
            check(v.stop() == 0, "exit code after SIGTERM")


if __name__ == "__main__":
    run_tests([test_scenes_through_the_pipeline_count_exactly])
