#!/usr/bin/env python3
"""Synthetic camera scenes with exact ground truth, for vigil's analytics.

A scene is a short video (768x576, 5 fps, MJPEG in AVI) made by FFmpeg
filters only: object crops cut from Debian darknet's sample images (the
person in person.jpg, the pickup in dog.jpg) are overlaid on a background
and moved along known paths at known frames. The background is a still of
vtest.avi's street without its walkers (the temporal median of 28 frames
spread over the clip), its top rows (the parked vans) cropped away, slightly
darkened. Everything comes from sample media (scripts/setup.sh media);
nothing is committed but this file.

Main ideas:
 - Paths are written in terms of the object's *anchor*, the bottom-centre of
   its box (vigil's default zone and line anchor), in frame pixels, as
   waypoints (frame, x, y) joined by straight lines; equal consecutive
   waypoints mean standing still, with a tiny deterministic jitter (2 px).
   Each frame's integer sprite position is computed here and handed to
   FFmpeg's overlay as an expression of the frame number n, so the video
   and the ground truth agree to the pixel.
 - The expected events are derived from the scene definition, never typed
   in: the reference rules below (anchor side of each line with hysteresis,
   anchor inside each zone with inertia, time inside against
   loiter_seconds) run over the ground-truth anchors. `check_margins`
   refuses a scene whose outcome would hinge on a pixel or a frame (an
   object turning back within reach of the far hysteresis band, a stay
   within 1.5 s of loiter_seconds, a rule reached before a track can be
   confirmed), so that detector noise cannot change the right answer.
 - Objects appear and vanish inside the frame (no half-visible objects at
   the edges), so every ground-truth box is the whole object.

Usage:
  scenegen.py OUTDIR [SCENE...]          render scenes (default: all)
  scenegen.py --check VIGIL OUTDIR [SCENE...]
        also run `VIGIL detect` on every frame and print, per object, how
        often the detector found it (IoU >= 0.5, same label) and how far
        its detected anchor was from the truth.
Per scene it writes OUTDIR/NAME.avi, OUTDIR/NAME.gt.jsonl (one line per
frame: {"frame","time_s","objects":[{"id","label","box"}]}) and
OUTDIR/NAME.json (rules, objects, expected counts)."""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

WIDTH, HEIGHT, FPS = 768, 576, 5

# Tracker settings the scenes are run with. CenterNet (vigil's default
# detector) scores the person crop 0.5-0.7 and the pickup 0.4-0.6 (people
# in vtest.avi 0.3-0.7), so ByteTrack's usual 0.5 / 0.6 thresholds (tuned
# for YOLOX scores) would leave the car without a track; these sit below
# CenterNet's range for the objects.
TRACKER = {"high_score": 0.35, "low_score": 0.1, "new_track_score": 0.4}

LINE_HYSTERESIS = 0.02  # vigil's default (normalised distance)
ZONE_INERTIA = 2        # vigil's default (frames)
MARGIN_LINE = 0.006     # normalised: ~4.6 px of a 768-wide frame
MARGIN_LOITER_S = 1.5
MIN_FRAMES_BEFORE_RULE = 5  # min_hits (3) plus two frames
MIN_RUN_FRAMES = ZONE_INERTIA + 3


class Sprite:
    """An object crop: source image, crop rectangle, the object's tight box
    inside the crop (from `vigil detect` on the source image), scale, mirror."""

    def __init__(self, name, image, crop, box, label, scale, hflip=False):
        self.name, self.image, self.crop, self.label = name, image, crop, label
        self.scale, self.hflip = scale, hflip
        cw, ch = crop[2], crop[3]
        self.w = int(round(cw * scale / 2)) * 2
        self.h = int(round(ch * scale / 2)) * 2
        sx, sy = self.w / cw, self.h / ch
        x1, y1, x2, y2 = box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy
        if hflip:
            x1, x2 = self.w - x2, self.w - x1
        self.box = (x1, y1, x2, y2)  # in sprite pixels

    def filter(self):
        x, y, w, h = self.crop
        f = f"crop={w}:{h}:{x}:{y},scale={self.w}:{self.h}"
        return f + (",hflip" if self.hflip else "")


# person.jpg: `vigil detect` finds the person at [186.5,108.8,275.9,375.1];
# dog.jpg: the pickup at [473.3,81.4,683.1,165.0] (as car, and as truck).
SPRITES = {
    "walker": Sprite("walker", "person.jpg", (182, 104, 98, 276), (4.5, 4.8, 93.9, 271.1),
                     "person", 0.8),
    "walker_back": Sprite("walker_back", "person.jpg", (182, 104, 98, 276),
                          (4.5, 4.8, 93.9, 271.1), "person", 0.8, hflip=True),
    "pickup": Sprite("pickup", "dog.jpg", (466, 74, 224, 98), (7.3, 7.4, 217.1, 91.0), "car",
                     1.5, hflip=True),
}


class Obj:
    def __init__(self, oid, sprite, path):
        self.id, self.sprite, self.path = oid, SPRITES[sprite], path

    @property
    def label(self):
        return self.sprite.label


class Scene:
    def __init__(self, name, frames, description, objects, zones=(), lines=()):
        self.name, self.frames, self.description = name, frames, description
        self.objects, self.zones, self.lines = list(objects), list(zones), list(lines)


def zone(zid, polygon, labels=(), loiter_seconds=0.0, min_score=0.0):
    return {"id": zid, "polygon": [list(p) for p in polygon], "labels": list(labels),
            "min_score": min_score, "loiter_seconds": loiter_seconds, "inertia": ZONE_INERTIA}


def line(lid, a, b, labels=()):
    return {"id": lid, "points": [list(a), list(b)], "labels": list(labels),
            "hysteresis": LINE_HYSTERESIS}


def rect(x1, y1, x2, y2):
    return [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]


GATE = line("gate", (0.5, 0.02), (0.5, 0.98), ["person", "car"])

SCENES = {s.name: s for s in [
    Scene("crossing", 40,
          "a person walks left to right across a vertical line (in) and through a zone; "
          "a car drives right to left across it (out)",
          [Obj(1, "walker", [(3, 60, 470), (35, 710, 470)]),
           Obj(2, "pickup", [(10, 590, 200), (32, 180, 200)])],
          zones=[zone("lawn", rect(0.56, 0.6, 0.76, 0.95), ["person"], loiter_seconds=5)],
          lines=[GATE]),
    Scene("turnback", 40,
          "a person walks up to the line, stands on it, turns back; a car drives up to "
          "the line from the other side and backs off: no crossing",
          [Obj(1, "walker", [(3, 100, 470), (17, 384, 470), (22, 384, 470), (36, 100, 470)]),
           Obj(2, "pickup", [(8, 590, 200), (20, 384, 200), (23, 384, 200), (35, 590, 200)])],
          lines=[GATE]),
    Scene("passing", 40,
          "two people pass each other at the line in opposite directions, one above the "
          "other (ids must not swap): 1 in, 1 out",
          [Obj(1, "walker", [(3, 60, 272), (35, 710, 272)]),
           Obj(2, "walker_back", [(3, 710, 505), (35, 60, 505)])],
          lines=[GATE]),
    Scene("loiter", 64,
          "a person walks into a zone, stands there 5 s (tiny jitter), walks out and across "
          "a line: 1 zone_enter, 1 loiter, 1 zone_leave, 1 in",
          [Obj(1, "walker", [(3, 60, 480), (19, 384, 480), (44, 384, 480), (60, 710, 480)])],
          zones=[zone("bench", rect(0.35, 0.7, 0.65, 0.95), ["person"], loiter_seconds=3)],
          lines=[line("exit", (0.8, 0.02), (0.8, 0.98), ["person"])]),
]}

JITTER = [(0, 0), (2, 1), (-1, -1), (1, 2), (-2, 0), (0, -2), (1, 1), (-1, 0), (2, -1),
          (-2, 1), (0, 1), (1, -2)]


# ---- ground truth -------------------------------------------------------------

def anchor_at(obj, frame):
    """The anchor (float pixels) of obj at frame, or None when not visible."""
    p = obj.path
    if frame < p[0][0] or frame > p[-1][0]:
        return None
    for (f0, x0, y0), (f1, x1, y1) in zip(p, p[1:]):
        if f0 <= frame <= f1:
            if (x0, y0) == (x1, y1):
                jx, jy = JITTER[frame % len(JITTER)] if f0 < frame < f1 else (0, 0)
                return float(x0 + jx), float(y0 + jy)
            a = (frame - f0) / (f1 - f0)
            return x0 + a * (x1 - x0), y0 + a * (y1 - y0)
    return float(p[-1][1]), float(p[-1][2])


def sprite_pos(obj, frame):
    """Integer top-left corner of the sprite so that its box's bottom-centre
    is at the anchor; None when not visible."""
    a = anchor_at(obj, frame)
    if a is None:
        return None
    bx1, _, bx2, by2 = obj.sprite.box
    return int(round(a[0] - (bx1 + bx2) / 2)), int(round(a[1] - by2))


def gt_box(obj, frame):
    pos = sprite_pos(obj, frame)
    if pos is None:
        return None
    x1, y1, x2, y2 = obj.sprite.box
    box = [pos[0] + x1, pos[1] + y1, pos[0] + x2, pos[1] + y2]
    return [round(max(0.0, min(v, WIDTH if i % 2 == 0 else HEIGHT)), 1) for i, v in enumerate(box)]


def ground_truth(scene):
    """[{frame, time_s, objects: [{id, label, box}]}] for every frame."""
    out = []
    for f in range(scene.frames):
        objs = []
        for o in scene.objects:
            b = gt_box(o, f)
            if b is not None:
                objs.append({"id": o.id, "label": o.label, "box": b})
        out.append({"frame": f, "time_s": f / FPS, "objects": objs})
    return out


def box_anchor(box):
    return ((box[0] + box[2]) / 2 / WIDTH, box[3] / HEIGHT)


# ---- the reference rules --------------------------------------------------------

def _labels_ok(rule, label):
    return not rule["labels"] or label in rule["labels"]


def line_distance(ln, p):
    """Signed normalised distance of p from the line: > 0 on the side where
    (B-A)x(P-A) > 0 (where `in` crossings start), and the position of p's
    projection along the segment (0 at A, 1 at B)."""
    (ax, ay), (bx, by) = ln["points"]
    dx, dy = bx - ax, by - ay
    n = math.hypot(dx, dy)
    cross = dx * (p[1] - ay) - dy * (p[0] - ax)
    along = ((p[0] - ax) * dx + (p[1] - ay) * dy) / (n * n)
    return cross / n, along


def point_in_polygon(p, poly):
    x, y = p
    inside = False
    for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1]):
        if (y1 > y) != (y2 > y):
            xc = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < xc:
                inside = not inside
    return inside


def object_anchors(scene, obj):
    """[(frame, anchor)] of the frames where obj is visible."""
    out = []
    for f in range(scene.frames):
        b = gt_box(obj, f)
        if b is not None:
            out.append((f, box_anchor(b)))
    return out


def line_crossings(ln, anchors):
    """[(frame, 'in'|'out')] of one object's anchors: the side is known once
    the anchor is more than the hysteresis away; a change of known side
    within the segment's extent is a crossing."""
    h = ln.get("hysteresis", LINE_HYSTERESIS)
    side, out = 0, []
    for f, p in anchors:
        d, along = line_distance(ln, p)
        s = 1 if d > h else -1 if d < -h else 0
        if s == 0:
            continue
        if side and s != side and 0.0 <= along <= 1.0:
            out.append((f, "in" if side > 0 else "out"))
        side = s
    return out


def zone_stays(zn, anchors):
    """[(enter_frame, leave_frame or None)] with inertia: `inertia`
    consecutive frames inside (outside) make an enter (leave), dated at the
    first of them."""
    inertia = zn.get("inertia", ZONE_INERTIA)
    poly = [tuple(p) for p in zn["polygon"]]
    inside, run, run_start, stays = False, 0, None, []
    for f, p in anchors:
        now = point_in_polygon(p, poly)
        if now != inside:
            if run == 0:
                run_start = f
            run += 1
            if run >= inertia:
                inside, run = now, 0
                if inside:
                    stays.append([run_start, None])
                else:
                    stays[-1][1] = run_start
        else:
            run = 0
    return [tuple(s) for s in stays]


def expected(scene):
    """What vigil must report for the scene, from the definition alone:
    {"lines": {ID: {LABEL: {"in", "out"}}}, "zones": {ID: {LABEL: {"entered",
    "left", "loiter"}}}, "events": {kind: n}, "crossings": [...], "stays": [...]}"""
    lines, zones, crossings, stays = {}, {}, [], []
    for ln in scene.lines:
        per = lines.setdefault(ln["id"], {})
        for lab in ln["labels"]:
            per.setdefault(lab, {"in": 0, "out": 0})
        for o in scene.objects:
            if not _labels_ok(ln, o.label):
                continue
            for f, d in line_crossings(ln, object_anchors(scene, o)):
                per.setdefault(o.label, {"in": 0, "out": 0})[d] += 1
                crossings.append({"line": ln["id"], "object": o.id, "label": o.label,
                                  "frame": f, "direction": d})
    for zn in scene.zones:
        per = zones.setdefault(zn["id"], {})
        for lab in zn["labels"]:
            per.setdefault(lab, {"entered": 0, "left": 0, "loiter": 0})
        for o in scene.objects:
            if not _labels_ok(zn, o.label):
                continue
            for enter, leave in zone_stays(zn, object_anchors(scene, o)):
                c = per.setdefault(o.label, {"entered": 0, "left": 0, "loiter": 0})
                c["entered"] += 1
                c["left"] += leave is not None
                end = leave if leave is not None else o.path[-1][0] + 1
                lo = zn["loiter_seconds"] > 0 and (end - enter) / FPS > zn["loiter_seconds"]
                c["loiter"] += lo
                stays.append({"zone": zn["id"], "object": o.id, "label": o.label,
                              "enter": enter, "leave": leave, "loiter": bool(lo)})
    events = {
        "line_cross": sum(c["in"] + c["out"] for per in lines.values() for c in per.values()),
        "zone_enter": sum(c["entered"] for per in zones.values() for c in per.values()),
        "zone_leave": sum(c["left"] for per in zones.values() for c in per.values()),
        "loiter": sum(c["loiter"] for per in zones.values() for c in per.values()),
    }
    return {"lines": lines, "zones": zones, "events": events, "crossings": crossings,
            "stays": stays}


def check_margins(scene):
    """Raises ValueError when the scene's outcome would hinge on a pixel or
    a frame (see the module comment)."""
    errs = []
    for o in scene.objects:
        anchors = object_anchors(scene, o)
        first, last = anchors[0][0], anchors[-1][0]
        for f, (x, y) in anchors:
            b = gt_box(o, f)
            pos = sprite_pos(o, f)
            if pos[0] < 0 or pos[1] < 0 or pos[0] + o.sprite.w > WIDTH or \
                    pos[1] + o.sprite.h > HEIGHT:
                errs.append(f"object {o.id}: sprite leaves the frame at frame {f} ({b})")
                break
        for ln in scene.lines:
            h = ln.get("hysteresis", LINE_HYSTERESIS)
            d = [(f, line_distance(ln, p)[0]) for f, p in anchors]
            if abs(d[0][1]) <= h + MARGIN_LINE or abs(d[-1][1]) <= h + MARGIN_LINE:
                errs.append(f"object {o.id}: starts or ends near line {ln['id']}")
            # each run of frames near the line: a clean crossing, or a clean touch
            i = 0
            while i < len(d):
                if abs(d[i][1]) > h + MARGIN_LINE:
                    i += 1
                    continue
                j = i
                while j < len(d) and abs(d[j][1]) <= h + MARGIN_LINE:
                    j += 1
                s0 = 1 if d[max(i - 1, 0)][1] > 0 else -1
                s1 = 1 if d[min(j, len(d) - 1)][1] > 0 else -1
                if s0 == s1:
                    beyond = max(-s0 * v for _, v in d[i:j])
                    if beyond > h - MARGIN_LINE:
                        errs.append(f"object {o.id}: turns back {beyond:.4f} past line "
                                    f"{ln['id']} (hysteresis {h}): too close to call")
                if d[i][0] - first < MIN_FRAMES_BEFORE_RULE:
                    errs.append(f"object {o.id}: reaches line {ln['id']} before it can be "
                                "confirmed")
                i = j
        for zn in scene.zones:
            stays = zone_stays(zn, anchors)
            for enter, leave in stays:
                if enter - first < MIN_FRAMES_BEFORE_RULE:
                    errs.append(f"object {o.id}: enters zone {zn['id']} before it can be "
                                "confirmed")
                if leave is None or last - leave < MIN_RUN_FRAMES:
                    errs.append(f"object {o.id}: does not leave zone {zn['id']} well before "
                                "it vanishes")
                    continue
                if leave - enter < MIN_RUN_FRAMES:
                    errs.append(f"object {o.id}: stays in zone {zn['id']} only "
                                f"{leave - enter} frames")
                if zn["loiter_seconds"] > 0 and \
                        abs((leave - enter) / FPS - zn["loiter_seconds"]) < MARGIN_LOITER_S:
                    errs.append(f"object {o.id}: stays {(leave - enter) / FPS:.1f} s in zone "
                                f"{zn['id']}, too close to loiter_seconds")
    if errs:
        raise ValueError(f"scene {scene.name}: " + "; ".join(errs))


# ---- configuration ----------------------------------------------------------------

def _yaml_list(items):
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def rules_yaml(scene, indent="    "):
    """The camera's `zones:` and `lines:` in vigil's YAML shape."""
    out = []
    if scene.zones:
        out.append(f"{indent}zones:")
        for z in scene.zones:
            out.append(f"{indent}  - id: {z['id']}")
            out.append(f"{indent}    polygon: {_yaml_list(z['polygon'])}")
            if z["labels"]:
                out.append(f"{indent}    labels: {_yaml_list(z['labels'])}")
            out.append(f"{indent}    min_score: {z['min_score']}")
            out.append(f"{indent}    loiter_seconds: {z['loiter_seconds']}")
            out.append(f"{indent}    inertia: {z['inertia']}")
    if scene.lines:
        out.append(f"{indent}lines:")
        for ln in scene.lines:
            out.append(f"{indent}  - id: {ln['id']}")
            out.append(f"{indent}    points: {_yaml_list(ln['points'])}")
            if ln["labels"]:
                out.append(f"{indent}    labels: {_yaml_list(ln['labels'])}")
            out.append(f"{indent}    hysteresis: {ln['hysteresis']}")
    return "\n".join(out) + "\n"


def analytics_yaml(tracker=None):
    t = dict(TRACKER)
    t.update(tracker or {})
    return "analytics:\n" + "".join(f"  {k}: {v}\n" for k, v in t.items())


def config_yaml(scene, camera_id, url=None, extra=""):
    """A whole vigil config with the scene as one non-looping camera."""
    cam = [f"  - id: {camera_id}"]
    if url:
        cam += [f"    url: {json.dumps(url)}", "    fps: 0", "    loop: false"]
    else:
        cam += ["    url: testsrc", "    enabled: false"]
    return extra + analytics_yaml() + "cameras:\n" + "\n".join(cam) + "\n" + rules_yaml(scene)


# ---- rendering --------------------------------------------------------------------

def media_dir():
    d = os.environ.get("VIGIL_MEDIA")
    if d:
        return d
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "vigil", "media")


def missing_media():
    """The sample files the scenes need that are not installed."""
    m = media_dir()
    need = {"vtest.avi"} | {s.image for s in SPRITES.values()}
    return sorted(os.path.join(m, n) for n in need if not os.path.exists(os.path.join(m, n)))


def _ffmpeg(args):
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y"] + args,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("ffmpeg " + " ".join(args) + ": " + r.stderr[-2000:])


def background(outdir):
    """The street of vtest.avi without its walkers, as a PNG (cached in outdir)."""
    path = os.path.join(outdir, "background.png")
    if os.path.exists(path):
        return path
    tmp = path + ".tmp.png"
    # 28 frames 29 apart; the temporal median of all of them keeps only what
    # stands still. Crop the parked vans at the top, stretch back to 4:3,
    # paint out (delogo) the litter and the rock that CenterNet calls a bird,
    # a sports ball or a dog, darken a little.
    litter = "".join(f",delogo=x={x}:y={y}:w={w}:h={h}"
                     for x, y, w, h in ((322, 402, 34, 30), (62, 464, 104, 50),
                                        (154, 130, 46, 46)))
    _ffmpeg(["-i", os.path.join(media_dir(), "vtest.avi"), "-vf",
             "select='not(mod(n\\,29))',setpts=N/TB,tmedian=radius=13,"
             f"crop=768:426:0:150,scale={WIDTH}:{HEIGHT}{litter},eq=brightness=-0.06",
             "-frames:v", "1", "-update", "1", tmp])
    os.replace(tmp, path)
    return path


def _position_expr(positions, axis):
    """An FFmpeg expression giving the sprite's x or y in each frame: exact
    integers where visible, far off-screen elsewhere. The frame number is
    taken from the time t (overlay's n counts from 1 in some FFmpeg
    versions, from 0 in others)."""
    off = -4000
    fno = f"floor(t*{FPS}+0.5)"
    terms = [f"eq({fno}\\,{f})*{p[axis] - off}" for f, p in positions if p is not None]
    return f"{off}+" + "+".join(terms) if terms else str(off)


def render(scene, outdir):
    """Writes the scene's video, ground truth and description into outdir;
    returns the description (dict, also in NAME.json)."""
    check_margins(scene)
    os.makedirs(outdir, exist_ok=True)
    bg = background(outdir)
    video = os.path.join(outdir, scene.name + ".avi")
    inputs = ["-loop", "1", "-framerate", str(FPS), "-i", bg]
    graph, last = [], "0:v"
    for k, o in enumerate(scene.objects):
        inputs += ["-i", os.path.join(media_dir(), o.sprite.image)]
        pos = [(f, sprite_pos(o, f)) for f in range(scene.frames)]
        graph.append(f"[{k + 1}:v]{o.sprite.filter()},format=rgb24[s{k}]")
        graph.append(f"[{last}][s{k}]overlay=x='{_position_expr(pos, 0)}':"
                     f"y='{_position_expr(pos, 1)}':eval=frame:format=rgb[v{k}]")
        last = f"v{k}"
    graph.append(f"[{last}]format=yuvj420p[out]")
    with tempfile.NamedTemporaryFile("w", suffix=".ffgraph", delete=False) as g:
        g.write(";\n".join(graph))
        graph_path = g.name
    try:
        _ffmpeg(inputs + ["-filter_complex_script", graph_path, "-map", "[out]",
                          "-frames:v", str(scene.frames), "-r", str(FPS), "-c:v", "mjpeg",
                          "-q:v", "3", video])
    finally:
        os.unlink(graph_path)
    gt = ground_truth(scene)
    with open(os.path.join(outdir, scene.name + ".gt.jsonl"), "w") as f:
        for row in gt:
            f.write(json.dumps(row) + "\n")
    desc = describe(scene)
    desc["video"] = video
    with open(os.path.join(outdir, scene.name + ".json"), "w") as f:
        json.dump(desc, f, indent=1)
    return desc


def describe(scene):
    return {"name": scene.name, "description": scene.description, "fps": FPS,
            "width": WIDTH, "height": HEIGHT, "frames": scene.frames,
            "objects": [{"id": o.id, "label": o.label, "sprite": o.sprite.name,
                         "path": o.path} for o in scene.objects],
            "zones": scene.zones, "lines": scene.lines, "tracker": TRACKER,
            "expected": expected(scene)}


# ---- detector check -----------------------------------------------------------------

def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / u if u > 0 else 0.0


def detect_frames(vigil, video, workdir):
    """Runs `vigil detect` on every frame of video; [detections per frame]."""
    fdir = os.path.join(workdir, "frames")
    shutil.rmtree(fdir, ignore_errors=True)
    os.makedirs(fdir)
    _ffmpeg(["-i", video, "-q:v", "2", "-start_number", "0", os.path.join(fdir, "%05d.jpg")])
    names = sorted(os.listdir(fdir))
    r = subprocess.run([vigil, "detect"] + [os.path.join(fdir, n) for n in names],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"vigil detect: {r.stderr[-2000:]}")
    out = [json.loads(l)["detections"] for l in r.stdout.splitlines() if l.strip()]
    shutil.rmtree(fdir, ignore_errors=True)
    return out


def match_detections(dets, row):
    """Pairs one frame's detections with its ground-truth objects (same
    label, IoU >= 0.5, best first). Returns ({object id: detection},
    [unmatched detections])."""
    pairs = sorted(((iou(d["box"], g["box"]), k, g["id"]) for k, d in enumerate(dets)
                    for g in row["objects"] if d["label"] == g["label"]), reverse=True)
    matched, used = {}, set()
    for v, k, oid in pairs:
        if v >= 0.5 and oid not in matched and k not in used:
            matched[oid] = dets[k]
            used.add(k)
    return matched, [d for k, d in enumerate(dets) if k not in used]


def check_detector(vigil, scene, outdir):
    desc = render(scene, outdir)
    dets = detect_frames(vigil, desc["video"], outdir)
    gt = ground_truth(scene)
    print(f"{scene.name}: {len(dets)} frames")
    stats = {o.id: {"seen": 0, "scores": [], "dx": [], "dy": []} for o in scene.objects}
    others, strong = 0, 0
    for f, row in enumerate(gt):
        matched, rest = match_detections(dets[f], row)
        for g in row["objects"]:
            st = stats[g["id"]]
            st["seen"] += 1
            d = matched.get(g["id"])
            if d:
                st["scores"].append(d["score"])
                ga, da = box_anchor(g["box"]), box_anchor(d["box"])
                st["dx"].append(abs(da[0] - ga[0]) * WIDTH)
                st["dy"].append(abs(da[1] - ga[1]) * HEIGHT)
        others += len(rest)
        strong += sum(1 for d in rest if d["score"] >= TRACKER["new_track_score"])
    for o in scene.objects:
        st = stats[o.id]
        sc = sorted(st["scores"]) or [0.0]
        print(f"  object {o.id} ({o.label}): found in {len(st['scores'])}/{st['seen']} frames; "
              f"score min {sc[0]:.2f} median {sc[len(sc) // 2]:.2f}; anchor error max "
              f"x {max(st['dx'], default=0):.1f} px, y {max(st['dy'], default=0):.1f} px")
    print(f"  other detections: {others}, of them scoring >= new_track_score "
          f"({TRACKER['new_track_score']}): {strong}")


def main(argv):
    check = None
    if len(argv) > 1 and argv[1] == "--check":
        check = argv[2]
        argv = argv[:1] + argv[3:]
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    miss = missing_media()
    if miss:
        print("scenegen: missing sample media (scripts/setup.sh media): " + ", ".join(miss),
              file=sys.stderr)
        return 1
    outdir = argv[1]
    names = argv[2:] or list(SCENES)
    for n in names:
        if n not in SCENES:
            print(f"scenegen: unknown scene \"{n}\" (known: {', '.join(SCENES)})",
                  file=sys.stderr)
            return 2
    for n in names:
        if check:
            check_detector(check, SCENES[n], outdir)
        else:
            d = render(SCENES[n], outdir)
            print(json.dumps({"scene": n, "video": d["video"],
                              "expected": d["expected"]["events"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
