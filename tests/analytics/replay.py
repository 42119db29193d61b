"""Helpers shared by the analytics tests and bench/analytics.py: detections
made from a scene's ground truth, `vigil analytics replay` runs, and tallies
of what vigil reported.

Standard library only (the e2e tests run on the system python3)."""
import json
import os
import random
import subprocess
import tempfile

import scenegen

T0_US = 1_800_000_000_000_000  # a fixed capture time for frame 0 (2027-01-15)
SEQ0 = 1000                     # sequence of frame 0


def frame_time_us(frame):
    return T0_US + frame * 1_000_000 // scenegen.FPS


def noisy_detections(scene, seed=7, jitter_px=2.0, drop_every=9, clutter=True):
    """Detector-like input from the ground truth, deterministic for a seed:
    each box corner moved by up to jitter_px, scores 0.55..0.9, one
    detection in about drop_every left out (never two frames running for an
    object, never in its first four frames), and, with clutter, a static
    low-score detection (0.2..0.3, below any track's birth) away from every
    path. Returns (input lines as dicts, owners) where owners[i][k] is the
    object id behind detection k of frame i (None for clutter)."""
    rng = random.Random(f"{scene.name}/{seed}")
    lines, owners, last_drop = [], [], {}
    gt = scenegen.ground_truth(scene)
    first = {o.id: o.path[0][0] for o in scene.objects}
    for row in gt:
        f = row["frame"]
        dets, own = [], []
        for obj in row["objects"]:
            oid = obj["id"]
            if f - first[oid] >= 4 and last_drop.get(oid, -9) < f - 1 and \
                    rng.randrange(drop_every) == 0:
                last_drop[oid] = f
                continue
            b = [v + rng.uniform(-jitter_px, jitter_px) for v in obj["box"]]
            dets.append({"box": [round(v, 1) for v in b], "score": round(rng.uniform(0.55, 0.9), 3),
                         "label": obj["label"]})
            own.append(oid)
        if clutter:
            dets.append({"box": [20.0, 20.0, 60.0, 70.0], "score": round(rng.uniform(0.2, 0.3), 3),
                         "label": "person"})
            own.append(None)
        # the detector's order is not the objects' order
        order = list(range(len(dets)))
        rng.shuffle(order)
        lines.append({"sequence": SEQ0 + f, "time_us": frame_time_us(f), "frame_id": 0,
                      "width": scenegen.WIDTH, "height": scenegen.HEIGHT,
                      "detections": [dets[i] for i in order]})
        owners.append([own[i] for i in order])
    return lines, owners


def run_replay(binary, config_text, camera, input_text, timeout=120):
    """Runs `vigil analytics replay`; returns (exit code, output records, stderr)."""
    with tempfile.TemporaryDirectory(prefix="vigil-replay-") as tmp:
        cfg = os.path.join(tmp, "vigil.yaml")
        with open(cfg, "w") as f:
            f.write(config_text)
        r = subprocess.run([binary, "analytics", "replay", "--config", cfg, "--camera", camera],
                           input=input_text, capture_output=True, text=True, timeout=timeout)
    records = []
    for line in r.stdout.splitlines():
        if line.strip():
            records.append(json.loads(line))
    return r.returncode, records, r.stderr


def event_key(e):
    return (e["kind"], e["track_id"], e["zone"], e["line"], e["start_sequence"])


def latest_events(records):
    """The last report of each distinct event, in order of first report."""
    out = {}
    for rec in records:
        if rec.get("type") == "event":
            out[event_key(rec)] = rec
    return list(out.values())


def tally_events(events, scene):
    """Counts in the shape of scenegen.expected() from event records (or the
    API's event items, normalised by the caller to the same field names)."""
    lines = {ln["id"]: {lab: {"in": 0, "out": 0} for lab in ln["labels"]} for ln in scene.lines}
    zones = {z["id"]: {lab: {"entered": 0, "left": 0, "loiter": 0} for lab in z["labels"]}
             for z in scene.zones}
    kinds = {"line_cross": 0, "zone_enter": 0, "zone_leave": 0, "loiter": 0}
    for e in events:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
        if e["kind"] == "line_cross":
            c = lines.setdefault(e["line"], {}).setdefault(e["label"], {"in": 0, "out": 0})
            c[e["direction"]] += 1
        else:
            c = zones.setdefault(e["zone"], {}).setdefault(
                e["label"], {"entered": 0, "left": 0, "loiter": 0})
            c[{"zone_enter": "entered", "zone_leave": "left", "loiter": "loiter"}[e["kind"]]] += 1
    return {"lines": lines, "zones": zones, "events": kinds}


def summary_counts(summary):
    """The summary record's counts, without the peak (not part of expected())."""
    zones = {z: {lab: {k: c[k] for k in ("entered", "left", "loiter")} for lab, c in per.items()}
             for z, per in summary["zones"].items()}
    return {"lines": summary["lines"], "zones": zones,
            "events": {k: summary["events"].get(k, 0)
                       for k in ("line_cross", "zone_enter", "zone_leave", "loiter")}}


def expected_counts(scene):
    exp = scenegen.expected(scene)
    return {"lines": exp["lines"], "zones": exp["zones"], "events": exp["events"]}


def track_assignments(frames, owners):
    """{object id: set of track ids its detections got (0 = none)} and
    {track id: set of object ids} from the replay's frame records."""
    by_obj, by_track = {}, {}
    for rec, own in zip(frames, owners):
        for tid, oid in zip(rec["tracks"], own):
            by_obj.setdefault(oid, set()).add(tid)
            if tid:
                by_track.setdefault(tid, set()).add(oid)
    return by_obj, by_track


def diff(want, got, path=""):
    """Human-readable differences between two nested count dicts."""
    out = []
    for k in sorted(set(want) | set(got), key=str):
        w, g = want.get(k), got.get(k)
        p = f"{path}.{k}" if path else str(k)
        if isinstance(w, dict) or isinstance(g, dict):
            out += diff(w or {}, g or {}, p)
        elif (w or 0) != (g or 0):
            out.append(f"{p}: want {w}, got {g}")
    return out
