#!/usr/bin/env python3
"""bench/analytics.py: tracking and counting quality of vigil's analyzer, next
to a peer, on the synthetic scenes and on vtest.avi. Run by bench/analytics.sh
with the venv of scripts/ref/analytics-peers.sh (motmetrics, trackers,
supervision).

Detections: CenterNet as vigil runs it, through `vigil detect` on every frame
of the video (extracted as JPEG by FFmpeg: the scenes at their 5 fps, vtest.avi
sampled from 10 to 5 fps, vigil's default camera rate). Not through the
pipeline: this way both trackers get exactly the same detections, frame for
frame, and the figures do not depend on the motion gate or on timing.

  vigil:  the detections through `vigil analytics replay --timing` with the
          scene's zones and lines and scenegen.TRACKER's thresholds (what the
          e2e tests use); tracks = detections that got a confirmed track id.
  peer:   the same detections through the `trackers` package's ByteTrack, one
          tracker per label (vigil associates per class), with the same
          thresholds (high 0.35, activation 0.4, 3 frames to confirm, IoU 0.2,
          3 s lost buffer at 5 fps), and supervision's LineZone (bottom-centre
          anchor, fed confirmed ids only: supervision issue #2578) and
          PolygonZone (bottom-centre) for counts. PolygonZone only says who is
          inside in a frame; entries, leaves and loiters are counted here from
          that, per track, without inertia.

Metrics with motmetrics against the scenes' ground truth (IoU >= 0.5): MOTA,
IDF1, ID switches, false positives, misses, fragmentations. On vtest.avi
there is no ground truth: the script prints the tracks' count and lengths and
two observed kinds of id change: a handover (a track ends and a new one of
the same label starts within 2 s where the old one was heading) and a jump
(a track's box moves by more than 0.75 of its height, or changes height by
more than 40 %, in one frame: it took over another object), and the
crossings of a line drawn across the road.

Timings: medians per frame of vigil_analyzer_frame (--timing) and of the
peer's ByteTrack updates plus LineZone/PolygonZone triggers (Python).
Prints; asserts nothing.

usage: analytics.py [--vigil BIN] [--work DIR] [--no-vtest] [SCENE...]
(--work keeps the rendered scenes and the detections and reuses them.)"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "analytics"))

import replay  # noqa: E402
import scenegen  # noqa: E402

try:
    import motmetrics as mm
    import numpy as np
    import supervision as sv
    import trackers
except ImportError as e:  # pragma: no cover
    print(f"bench/analytics.py: {e} (run scripts/ref/analytics-peers.sh and use its venv)")
    sys.exit(1)

VTEST_FPS = 5
VTEST_LINE = {"id": "road", "points": [[0.5, 0.2], [0.5, 0.7]], "labels": ["person"],
              "hysteresis": 0.02}
MOT_LABELS = ("person", "car")


# ---- detections ---------------------------------------------------------------------

def detect_video(vigil, video, work, name, select=None):
    """[[{label, score, box}] per frame] of `vigil detect` over every frame
    (cached in work/NAME.dets.jsonl when newer than the video)."""
    cache = os.path.join(work, name + ".dets.jsonl")
    if os.path.exists(cache) and os.path.getmtime(cache) >= os.path.getmtime(video):
        with open(cache) as f:
            return [json.loads(l) for l in f]
    fdir = os.path.join(work, name + ".frames")
    shutil.rmtree(fdir, ignore_errors=True)
    os.makedirs(fdir)
    vf = ["-vf", select] if select else []
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", video] + vf +
                   ["-vsync", "0", "-q:v", "2", "-start_number", "0",
                    os.path.join(fdir, "%05d.jpg")], check=True)
    names = sorted(os.listdir(fdir))
    out = []
    for k in range(0, len(names), 50):
        r = subprocess.run([vigil, "detect"] + [os.path.join(fdir, n) for n in names[k:k + 50]],
                           capture_output=True, text=True, check=True)
        out += [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    shutil.rmtree(fdir, ignore_errors=True)
    frames = [{"width": d["width"], "height": d["height"], "detections": d["detections"]}
              for d in out]
    with open(cache, "w") as f:
        for fr in frames:
            f.write(json.dumps(fr) + "\n")
    return frames


# ---- vigil ------------------------------------------------------------------------------

def vigil_track(vigil, frames, config, camera, fps):
    """Runs the replay; returns (per frame [(track id, label, box)], summary,
    [analyzer ms per frame])."""
    lines = []
    for i, fr in enumerate(frames):
        lines.append(json.dumps({
            "sequence": i + 1, "time_us": replay.T0_US + i * 1_000_000 // fps, "frame_id": i + 1,
            "width": fr["width"], "height": fr["height"],
            "detections": [{"box": d["box"], "score": d["score"], "label": d["label"]}
                           for d in fr["detections"]]}))
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "vigil.yaml")
        with open(cfg, "w") as f:
            f.write(config)
        r = subprocess.run([vigil, "analytics", "replay", "--config", cfg, "--camera", camera,
                            "--timing"], input="\n".join(lines) + "\n", capture_output=True,
                           text=True)
    if r.returncode != 0:
        raise RuntimeError(f"vigil analytics replay: exit {r.returncode}: {r.stderr[-2000:]}")
    recs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    recs_frames = [x for x in recs if x["type"] == "frame"]
    out, ms = [], []
    for fr, rec in zip(frames, recs_frames):
        out.append([(tid, d["label"], d["box"]) for tid, d in zip(rec["tracks"], fr["detections"])
                    if tid])
        ms.append(rec["analyzer_ms"])
    return out, recs[-1], ms


# ---- the peer ---------------------------------------------------------------------------

class Peer:
    """ByteTrack (trackers) per label + supervision LineZone / PolygonZone."""

    def __init__(self, width, height, fps, lines, zones, tracker=None):
        t = dict(scenegen.TRACKER)
        t.update(tracker or {})
        self.t, self.fps, self.w, self.h = t, fps, width, height
        self.trackers = {}
        self.labels = {}
        self.lines = []
        for ln in lines:
            (ax, ay), (bx, by) = ln["points"]
            self.lines.append((ln, sv.LineZone(
                start=sv.Point(ax * width, ay * height), end=sv.Point(bx * width, by * height),
                triggering_anchors=[sv.Position.BOTTOM_CENTER])))
        self.zones = []
        for z in zones:
            poly = np.array([[x * width, y * height] for x, y in z["polygon"]]).round().astype(int)
            self.zones.append((z, sv.PolygonZone(polygon=poly,
                                                 triggering_anchors=(sv.Position.BOTTOM_CENTER,)),
                               {}))  # track -> [inside now, frames inside]
        self.zone_counts = {z["id"]: {} for z in zones}
        self.frame = 0

    def _tracker(self, label):
        if label not in self.trackers:
            self.labels[label] = len(self.labels)
            self.trackers[label] = trackers.ByteTrackTracker(
                lost_track_buffer=int(round(30 * self.t.get("lost_seconds", 3.0))),
                frame_rate=self.fps,
                track_activation_threshold=self.t["new_track_score"],
                minimum_consecutive_frames=self.t.get("min_hits", 3),
                minimum_iou_threshold=self.t.get("match_iou", 0.2),
                high_conf_det_threshold=self.t["high_score"])
        return self.trackers[label]

    def step(self, dets):
        """One frame: [(track id, label, box)] of confirmed tracks."""
        out = []
        by_label = {}
        for d in dets:
            if d["score"] >= self.t.get("low_score", 0.1):
                by_label.setdefault(d["label"], []).append(d)
        for label in list(self.trackers) + [l for l in by_label if l not in self.trackers]:
            ds = by_label.get(label, [])
            tr = self._tracker(label)
            det = sv.Detections(
                xyxy=np.array([d["box"] for d in ds], dtype=float).reshape(-1, 4),
                confidence=np.array([d["score"] for d in ds], dtype=float),
                class_id=np.full(len(ds), self.labels[label], dtype=int))
            res = tr.update(det)
            for box, tid in zip(res.xyxy, res.tracker_id):
                if tid >= 0:  # confirmed: #2578, LineZone gets real ids only
                    out.append((int(tid) + 1 + 1_000_000 * self.labels[label], label,
                                [float(v) for v in box]))
        if out:
            det = sv.Detections(xyxy=np.array([b for _, _, b in out], dtype=float),
                                class_id=np.array([self.labels[l] for _, l, _ in out]),
                                tracker_id=np.array([t for t, _, _ in out]))
            for ln, lz in self.lines:
                keep = np.array([not ln["labels"] or l in ln["labels"] for _, l, _ in out])
                if keep.any():
                    lz.trigger(det[keep])
            for z, pz, state in self.zones:
                keep = np.array([not z["labels"] or l in z["labels"] for _, l, _ in out])
                inside = np.zeros(len(out), dtype=bool)
                if keep.any():
                    inside[keep] = pz.trigger(det[keep])
                self._zone_step(z, state, out, inside)
        else:
            for z, pz, state in self.zones:
                self._zone_step(z, state, out, np.zeros(0, dtype=bool))
        self.frame += 1
        return out

    def _zone_step(self, z, state, out, inside):
        counts = self.zone_counts[z["id"]]
        seen = set()
        for (tid, label, _), ins in zip(out, inside):
            seen.add(tid)
            st = state.setdefault(tid, {"in": False, "frames": 0, "loitered": False,
                                        "label": label})
            c = counts.setdefault(label, {"entered": 0, "left": 0, "loiter": 0})
            if ins and not st["in"]:
                c["entered"] += 1
                st.update({"in": True, "frames": 0, "loitered": False})
            elif not ins and st["in"]:
                c["left"] += 1
                st["in"] = False
            if st["in"]:
                st["frames"] += 1
                if z["loiter_seconds"] > 0 and not st["loitered"] and \
                        st["frames"] / self.fps > z["loiter_seconds"]:
                    st["loitered"] = True
                    c["loiter"] += 1

    def counts(self):
        lines = {}
        names = {v: k for k, v in self.labels.items()}
        for ln, lz in self.lines:
            per = lines.setdefault(ln["id"], {lab: {"in": 0, "out": 0} for lab in ln["labels"]})
            for cid, n in lz.in_count_per_class.items():
                per.setdefault(names[cid], {"in": 0, "out": 0})["in"] += n
            for cid, n in lz.out_count_per_class.items():
                per.setdefault(names[cid], {"in": 0, "out": 0})["out"] += n
        zones = {}
        for z, _, _ in self.zones:
            per = zones.setdefault(z["id"], {lab: {"entered": 0, "left": 0, "loiter": 0}
                                             for lab in z["labels"]})
            for lab, c in self.zone_counts[z["id"]].items():
                per[lab] = dict(c)
        return {"lines": lines, "zones": zones}


def peer_track(frames, fps, lines, zones):
    w, h = frames[0]["width"], frames[0]["height"]
    p = Peer(w, h, fps, lines, zones)
    out, ms = [], []
    for fr in frames:
        t0 = time.perf_counter()
        out.append(p.step(fr["detections"]))
        ms.append((time.perf_counter() - t0) * 1e3)
    return out, p.counts(), ms


# ---- metrics ------------------------------------------------------------------------------

def iou_distance(gt_boxes, hyp_boxes, max_dist=0.5):
    """1 - IoU of xyxy boxes, NaN beyond max_dist: motmetrics.distances.iou_matrix
    (max_iou=0.5) without its np.asfarray, which NumPy 2 removed and
    motmetrics 1.4.0 (the last release) still calls; trackers needs NumPy 2."""
    g = np.asarray(gt_boxes, dtype=float).reshape(-1, 4)
    h = np.asarray(hyp_boxes, dtype=float).reshape(-1, 4)
    ix = np.minimum(g[:, None, 2], h[None, :, 2]) - np.maximum(g[:, None, 0], h[None, :, 0])
    iy = np.minimum(g[:, None, 3], h[None, :, 3]) - np.maximum(g[:, None, 1], h[None, :, 1])
    ix, iy = np.clip(ix, 0, None), np.clip(iy, 0, None)
    inter = ix * iy
    area_g = (g[:, 2] - g[:, 0]) * (g[:, 3] - g[:, 1])
    area_h = (h[:, 2] - h[:, 0]) * (h[:, 3] - h[:, 1])
    d = 1.0 - inter / (area_g[:, None] + area_h[None, :] - inter)
    d[d > max_dist] = np.nan
    return d


def mot_metrics(gt, hyp):
    acc = mm.MOTAccumulator(auto_id=True)
    for row, h in zip(gt, hyp):
        g = row["objects"]
        hh = [x for x in h if x[1] in MOT_LABELS]
        acc.update([o["id"] for o in g], [t for t, _, _ in hh],
                   iou_distance([o["box"] for o in g], [b for _, _, b in hh]))
    mh = mm.metrics.create()
    s = mh.compute(acc, metrics=["mota", "idf1", "num_switches", "num_false_positives",
                                 "num_misses", "num_fragmentations", "num_unique_objects"],
                   name="x")
    return {k: float(s[k].iloc[0]) for k in s.columns}


def track_stats(frames, fps):
    """Tracks seen in per-frame [(id, label, box)]: lengths and observed id changes."""
    tracks = {}
    for i, fr in enumerate(frames):
        for tid, label, box in fr:
            tracks.setdefault(tid, {"label": label, "points": []})["points"].append((i, box))
    lengths = [t["points"][-1][0] - t["points"][0][0] + 1 for t in tracks.values()]
    jumps = 0
    for t in tracks.values():
        pts = t["points"]
        for (f0, a), (f1, b) in zip(pts, pts[1:]):
            if f1 - f0 != 1:
                continue
            ha, hb = a[3] - a[1], b[3] - b[1]
            dc = ((a[0] + a[2] - b[0] - b[2]) ** 2 + (a[1] + a[3] - b[1] - b[3]) ** 2) ** 0.5 / 2
            if dc > 0.75 * ha or abs(hb - ha) > 0.4 * ha:
                jumps += 1
    handovers = 0
    ends = [(t["points"][-1], t["points"][-2] if len(t["points"]) > 1 else t["points"][-1],
             t["label"], tid) for tid, t in tracks.items()]
    starts = [(t["points"][0], t["label"], tid) for tid, t in tracks.items()]
    for (fe, be), (fp, bp), label, tid in ends:
        vx = ((be[0] + be[2]) - (bp[0] + bp[2])) / 2 / max(1, fe - fp)
        vy = ((be[1] + be[3]) - (bp[1] + bp[3])) / 2 / max(1, fe - fp)
        for (fs, bs), l2, tid2 in starts:
            gap = fs - fe
            if tid2 == tid or l2 != label or not 0 < gap <= 2 * fps:
                continue
            px = (be[0] + be[2]) / 2 + vx * gap
            py = (be[1] + be[3]) / 2 + vy * gap
            cx, cy = (bs[0] + bs[2]) / 2, (bs[1] + bs[3]) / 2
            if ((px - cx) ** 2 + (py - cy) ** 2) ** 0.5 < 1.0 * (be[3] - be[1]):
                handovers += 1
                break
    return {"tracks": len(tracks), "mean_len": statistics.mean(lengths) if lengths else 0,
            "median_len": statistics.median(lengths) if lengths else 0,
            "jumps": jumps, "handovers": handovers}


# ---- printing -----------------------------------------------------------------------------

def fmt_ms(v):
    return f"{v * 1e3:.1f} us" if v < 0.1 else f"{v:.3f} ms"


def print_counts(rows):
    print(f"  {'rule':<14} {'label':<8} {'count':<8} {'truth':>6} {'vigil':>6} {'peer':>6}")
    for r in rows:
        flag = "" if r[3] is None or (r[3] == r[4] and r[3] == r[5]) else \
            ("  <- vigil off" if r[3] != r[4] else "") + ("  <- peer off" if r[3] != r[5] else "")
        print(f"  {r[0]:<14} {r[1]:<8} {r[2]:<8} {'-' if r[3] is None else r[3]:>6} "
              f"{r[4]:>6} {r[5]:>6}{flag}")


def count_rows(scene_lines, scene_zones, truth, vig, peer):
    rows = []
    for ln in scene_lines:
        labels = sorted(set(ln["labels"]) | set(vig["lines"].get(ln["id"], {}))
                        | set(peer["lines"].get(ln["id"], {})))
        for lab in labels:
            for k in ("in", "out"):
                t = truth["lines"].get(ln["id"], {}).get(lab, {}).get(k, 0) if truth else None
                rows.append((f"line {ln['id']}", lab, k, t,
                             vig["lines"].get(ln["id"], {}).get(lab, {}).get(k, 0),
                             peer["lines"].get(ln["id"], {}).get(lab, {}).get(k, 0)))
    for z in scene_zones:
        for lab in z["labels"] or sorted(vig["zones"].get(z["id"], {})):
            for k in ("entered", "left", "loiter"):
                t = truth["zones"].get(z["id"], {}).get(lab, {}).get(k, 0) if truth else None
                rows.append((f"zone {z['id']}", lab, k, t,
                             vig["zones"].get(z["id"], {}).get(lab, {}).get(k, 0),
                             peer["zones"].get(z["id"], {}).get(lab, {}).get(k, 0)))
    return rows


def same_scene(scene, work):
    """Whether work holds this scene's video as it is defined now."""
    try:
        with open(os.path.join(work, scene.name + ".json")) as f:
            old = json.load(f)
    except (OSError, ValueError):
        return False
    old.pop("video", None)
    return os.path.exists(os.path.join(work, scene.name + ".avi")) and \
        json.loads(json.dumps(scenegen.describe(scene))) == old


def bench_scenes(args, work):
    print("== synthetic scenes (tests/analytics/scenegen.py), 768x576 at 5 fps, CenterNet "
          "detections from `vigil detect`")
    rows, vig_ms, peer_ms = [], [], []
    for name in args.scenes:
        scene = scenegen.SCENES[name]
        video = os.path.join(work, name + ".avi")
        if not same_scene(scene, work):
            scenegen.render(scene, work)
        frames = detect_video(args.vigil, video, work, name)
        gt = scenegen.ground_truth(scene)
        cfg = scenegen.config_yaml(scene, name)
        v_frames, summary, ms = vigil_track(args.vigil, frames, cfg, name, scenegen.FPS)
        p_frames, p_counts, pms = peer_track(frames, scenegen.FPS, scene.lines, scene.zones)
        vig_ms += ms
        peer_ms += pms
        vm, pm = mot_metrics(gt, v_frames), mot_metrics(gt, p_frames)
        rows.append((name, "vigil", vm, track_stats(v_frames, scenegen.FPS)["tracks"]))
        rows.append((name, "bytetrack", pm, track_stats(p_frames, scenegen.FPS)["tracks"]))
        truth = replay.expected_counts(scene)
        print(f"-- {name}: {scene.description}")
        print_counts(count_rows(scene.lines, scene.zones, truth, replay.summary_counts(summary),
                                p_counts))
    print()
    print(f"  {'scene':<10} {'tracker':<10} {'MOTA':>7} {'IDF1':>7} {'IDsw':>5} {'FP':>5} "
          f"{'FN':>5} {'frag':>5} {'tracks':>6} {'objects':>7}")
    for name, who, m, ntracks in rows:
        print(f"  {name:<10} {who:<10} {m['mota']:7.3f} {m['idf1']:7.3f} "
              f"{int(m['num_switches']):5d} {int(m['num_false_positives']):5d} "
              f"{int(m['num_misses']):5d} {int(m['num_fragmentations']):5d} {ntracks:6d} "
              f"{int(m['num_unique_objects']):7d}")
    print(f"  (tracks: confirmed tracks of any label; MOTA/IDF1 over {', '.join(MOT_LABELS)} "
          "tracks against the ground truth, IoU >= 0.5)")
    print(f"  per frame, median over {len(vig_ms)} frames: vigil analyzer "
          f"{fmt_ms(statistics.median(vig_ms))} (C, tracking + zones + lines); "
          f"peer {fmt_ms(statistics.median(peer_ms))} (Python: ByteTrack + LineZone + "
          "PolygonZone)")


def bench_vtest(args, work):
    video = os.path.join(scenegen.media_dir(), "vtest.avi")
    if not os.path.exists(video):
        print(f"== vtest.avi: {video} missing (scripts/setup.sh media): skipped")
        return
    frames = detect_video(args.vigil, video, work, "vtest5",
                          select="select='not(mod(n\\,2))'")
    w, h = frames[0]["width"], frames[0]["height"]
    persons = [d for fr in frames for d in fr["detections"] if d["label"] == "person"]
    print(f"\n== vtest.avi sampled at {VTEST_FPS} fps: {len(frames)} frames {w}x{h}, "
          f"{len(persons)} person detections (median score "
          f"{statistics.median(d['score'] for d in persons):.2f})")
    print(f"   line \"road\" drawn from {VTEST_LINE['points'][0]} to {VTEST_LINE['points'][1]} "
          "(normalised; a vertical cut across the road: in = left to right)")
    stats_rows = []
    for label, tracker in (("scene thresholds", None),
                           ("vigil defaults", {"high_score": 0.5, "new_track_score": 0.6})):
        cfg_tracker = dict(scenegen.TRACKER)
        cfg_tracker.update(tracker or {})
        cfg = ("analytics:\n" + "".join(f"  {k}: {v}\n" for k, v in cfg_tracker.items())
               + "cameras:\n  - id: street\n    url: testsrc\n    enabled: false\n    lines:\n"
               f"      - id: road\n        points: {json.dumps(VTEST_LINE['points'])}\n"
               f"        labels: {json.dumps(VTEST_LINE['labels'])}\n")
        v_frames, summary, ms = vigil_track(args.vigil, frames, cfg, "street", VTEST_FPS)
        pk = Peer(w, h, VTEST_FPS, [VTEST_LINE], [], tracker)
        p_frames, pms = [], []
        for fr in frames:
            t0 = time.perf_counter()
            p_frames.append(pk.step(fr["detections"]))
            pms.append((time.perf_counter() - t0) * 1e3)
        vc = summary["lines"]["road"].get("person", {"in": 0, "out": 0})
        pc = pk.counts()["lines"]["road"]["person"]
        thr = (f"high {cfg_tracker['high_score']}, new track {cfg_tracker['new_track_score']}")
        for who, fr_, ms_, c in (("vigil", v_frames, ms, vc), ("bytetrack", p_frames, pms, pc)):
            st = track_stats([[x for x in f if x[1] == "person"] for f in fr_], VTEST_FPS)
            covered = sum(len([x for x in f if x[1] == "person"]) for f in fr_)
            stats_rows.append((label, thr, who, st, covered, c, statistics.median(ms_)))
    print(f"  {'settings':<17} {'tracker':<10} {'tracks':>6} {'mean len':>9} {'median':>7} "
          f"{'handover':>8} {'jumps':>5} {'tracked dets':>12} {'in':>4} {'out':>4} "
          f"{'per frame':>10}")
    for label, thr, who, st, covered, c, med in stats_rows:
        print(f"  {label:<17} {who:<10} {st['tracks']:6d} {st['mean_len']:9.1f} "
              f"{st['median_len']:7.1f} {st['handovers']:8d} {st['jumps']:5d} "
              f"{covered:12d} {c['in']:4d} {c['out']:4d} {fmt_ms(med):>10}")
    print(f"  (person tracks; lengths in frames at {VTEST_FPS} fps, first to last point; "
          "handover: a track ends and a new one starts within 2 s where it was heading; "
          "jump: a box moves > 0.75 of its height or changes height > 40 % in one frame; "
          f"tracked dets: person detections with a confirmed track, of {len(persons)}; "
          "per frame: median time of the tracker and the line)")
    for label, thr, _, _, _, _, _ in stats_rows[::2]:
        print(f"  {label}: {thr}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vigil", default=os.environ.get("VIGIL_BINARY")
                    or os.path.join(HERE, "..", "build", "vigil"))
    ap.add_argument("--work", help="keep scenes and detections here and reuse them")
    ap.add_argument("--no-vtest", action="store_true")
    ap.add_argument("scenes", nargs="*")
    args = ap.parse_args()
    args.scenes = args.scenes or list(scenegen.SCENES)
    miss = scenegen.missing_media()
    if miss:
        print("bench/analytics.py: sample media missing (scripts/setup.sh media): "
              + ", ".join(miss))
        return 0
    work = args.work or tempfile.mkdtemp(prefix="vigil-bench-analytics-")
    os.makedirs(work, exist_ok=True)
    try:
        print(f"peer: trackers {metadata.version('trackers')} ByteTrack, supervision "
              f"{metadata.version('supervision')}; metrics: motmetrics "
              f"{metadata.version('motmetrics')}")
        bench_scenes(args, work)
        if not args.no_vtest:
            bench_vtest(args, work)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
