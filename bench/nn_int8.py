#!/usr/bin/env python3
"""CenterNet-int8 against CenterNet float: accuracy per calibration method, and latency.

usage: bench/nn_int8.py [--vigil build/vigil] [--frames 200] [--methods minmax,percentile,entropy]
                        [--calib-frames 24] [--calib-start 400] [--calib-step 12] [--no-augment] [--heads]
                        [--keep-float LIST] [--variant "QUANTIZE ARGS"]... [--latency-runs 5]

Float is the truth: on the darknet sample images and on FRAMES frames of vtest.avi
(extracted with ffmpeg to JPEG once), each model's detections (vigil detect, the
registry's score threshold 0.3) are matched to float's by label and IoU >= 0.5
(greedy, highest IoU first); F1 = 2 matched / (float + int8 detections), and the
matched pairs' score differences (mean and max abs). Calibration uses other frames
of the same video (every CALIB_STEP-th frame from CALIB_START on, at most CALIB_FRAMES:
never one evaluated, CALIB_START >= FRAMES is checked) so the numbers are not
measured on the calibration set. Each --variant (extra `vigil models quantize`
arguments, e.g. "--keep-float depthwise,first,auto:8") is measured with the first
method; its row names the INT8 and float Conv counts. --heads also measures the first
method with the detector heads quantized (--quantize-heads). Latency: the engine alone
(vigil nn run on a 1x512x512x3 input, --quant for int8), float and int8 alternated
LATENCY_RUNS times at 1 and 2 threads in the same run, median of the medians.

Runs in a throwaway models directory ($VIGIL_MODELS linked to the fetched float
model); needs ffmpeg, the fetched centernet (vigil models fetch) and the sample
media. Prints a Markdown table (docs/nn.md "INT8" has the numbers)."""
import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile


def cache_dir():
    return os.environ.get("XDG_CACHE_HOME") or os.path.join(os.environ.get("HOME", "."), ".cache")


def detect(vigil, env, model, images, threads=1):
    out = {}
    # chunks keep argv short
    for i in range(0, len(images), 50):
        r = subprocess.run([vigil, "detect", "--model", model, "--threads", str(threads)] + images[i:i + 50],
                           env=env, capture_output=True, text=True)
        if r.returncode:
            sys.exit("vigil detect --model %s failed: %s" % (model, r.stderr.strip()))
        for line in r.stdout.splitlines():
            d = json.loads(line)
            out[d["image"]] = d
    return out


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua > 0 else 0.0


def compare(truth, got):
    nt = ng = nm = 0
    diffs = []
    for img, t in truth.items():
        td, gd = t["detections"], got[img]["detections"]
        nt += len(td)
        ng += len(gd)
        pairs = sorted(((iou(a["box"], b["box"]), i, j) for i, a in enumerate(td) for j, b in enumerate(gd)
                        if a["label"] == b["label"]), reverse=True)
        ut, ug = set(), set()
        for v, i, j in pairs:
            if v < 0.5 or i in ut or j in ug:
                continue
            ut.add(i)
            ug.add(j)
            nm += 1
            diffs.append(abs(td[i]["score"] - gd[j]["score"]))
    f1 = 2 * nm / (nt + ng) if nt + ng else 1.0
    return f1, nt, ng, nm, (statistics.mean(diffs) if diffs else 0.0), (max(diffs) if diffs else 0.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigil", default="build/vigil")
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--methods", default="minmax,percentile,entropy")
    ap.add_argument("--calib-frames", type=int, default=24)
    ap.add_argument("--calib-start", type=int, default=400)
    ap.add_argument("--calib-step", type=int, default=12)
    ap.add_argument("--no-augment", action="store_true",
                    help="quantize --no-augment: without the zoomed quadrant and colour variant of each calibration frame")
    ap.add_argument("--variant", action="append", default=[], help="extra quantize arguments (repeatable)")
    ap.add_argument("--heads", action="store_true")
    ap.add_argument("--keep-float", default="", help="passed to vigil models quantize")
    ap.add_argument("--latency-runs", type=int, default=5)
    a = ap.parse_args()
    if a.calib_start < a.frames:
        sys.exit("--calib-start %d must be >= --frames %d (calibration and evaluation frames disjoint)" %
                 (a.calib_start, a.frames))
    vigil = os.path.abspath(a.vigil)
    models = os.environ.get("VIGIL_MODELS") or os.path.join(cache_dir(), "vigil", "models")
    media = os.environ.get("VIGIL_MEDIA") or os.path.join(cache_dir(), "vigil", "media")
    video = os.path.join(media, "vtest.avi")
    for need in (os.path.join(models, "centernet", "centernet.json"), video):
        if not os.path.exists(need):
            sys.exit("missing %s (vigil models fetch; scripts/setup.sh fetches the sample media)" % need)
    if not shutil.which("ffmpeg"):
        sys.exit("ffmpeg not found")
    work = tempfile.mkdtemp(prefix="vigil-int8-")
    try:
        mdir = os.path.join(work, "models")
        os.makedirs(os.path.join(mdir, "centernet"))
        for f in ("centernet.json", "centernet.bin"):
            os.symlink(os.path.join(models, "centernet", f), os.path.join(mdir, "centernet", f))
        env = dict(os.environ, VIGIL_MODELS=mdir)
        frames = os.path.join(work, "frames")
        calib = os.path.join(work, "calib")
        os.makedirs(frames)
        os.makedirs(calib)
        subprocess.run(["ffmpeg", "-loglevel", "error", "-i", video, "-frames:v", str(a.frames), "-q:v", "2",
                        os.path.join(frames, "f%04d.jpg")], check=True)
        sel = "not(mod(n-%d\\,%d))*gte(n\\,%d)" % (a.calib_start, a.calib_step, a.calib_start)
        subprocess.run(["ffmpeg", "-loglevel", "error", "-i", video, "-vf", "select=" + sel, "-vsync", "vfr",
                        "-frames:v", str(a.calib_frames), "-q:v", "2", os.path.join(calib, "c%04d.jpg")], check=True)
        darknet = sorted(os.path.join(media, f) for f in os.listdir(media) if f.endswith(".jpg"))
        vframes = sorted(os.path.join(frames, f) for f in os.listdir(frames))
        sets = [("darknet images (%d)" % len(darknet), darknet), ("vtest.avi frames (%d)" % len(vframes), vframes)]
        truth = [detect(vigil, env, "centernet", imgs) for _, imgs in sets]
        rows = []
        ncal = len(os.listdir(calib))
        print("calibration: %d images from vtest.avi (every %dth frame from frame %d%s); evaluation: frames 0-%d and "
              "%d darknet images" % (ncal, a.calib_step, a.calib_start, ", with a zoomed quadrant and a colour variant "
                                     "of each" if not a.no_augment else "", a.frames - 1, len(darknet)), file=sys.stderr)
        first = a.methods.split(",")[0]
        variants = [(m, False, []) for m in a.methods.split(",")] if not a.variant else []
        if a.heads:  # the heads quantized too, with the first method
            variants.append((first, True, []))
        variants += [(first, False, shlex.split(v)) for v in a.variant]
        for method, heads, extra in variants:
            cmd = [vigil, "models", "quantize", "centernet", "--calibrate", calib, "--frames", str(ncal),
                   "--method", method] + (["--no-augment"] if a.no_augment else []) + (["--quantize-heads"] if heads else []) + \
                (["--keep-float", a.keep_float] if a.keep_float and not extra else []) + extra
            r = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if r.returncode:
                sys.exit("%s failed: %s" % (" ".join(cmd), r.stderr.strip()))
            counts = [ln for ln in r.stdout.splitlines() if "Convs in INT8" in ln][0]
            print(r.stdout.strip(), file=sys.stderr)
            name = method + (" +heads" if heads else "") + (" " + " ".join(extra) if extra else "")
            name += " (%s INT8 / %s float)" % (counts.split(": ")[1].split(" Convs")[0],
                                               counts.split("INT8, ")[1].split(" kept")[0])
            for (label, imgs), t in zip(sets, truth):
                got = detect(vigil, env, "centernet-int8", imgs)
                m, label, f1, nt, ng, nm, md, mx = (name, label) + compare(t, got)
                if not rows:
                    print("| method | images | F1 (IoU 0.5) | float dets | int8 dets | matched | mean abs score diff | max |")
                    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
                rows.append(m)
                print("| %s | %s | %.3f | %d | %d | %d | %.4f | %.4f |" % (m, label, f1, nt, ng, nm, md, mx), flush=True)
        # latency of the engine alone (vigil nn run, median of RUNS, float and int8
        # alternated so both see the same load) with the default (minmax, heads
        # float) quantization, and of vigil detect per image
        if a.latency_runs:
            lat_extra = shlex.split(a.variant[-1]) if a.variant else \
                (["--keep-float", a.keep_float] if a.keep_float else [])
            r = subprocess.run([vigil, "models", "quantize", "centernet", "--calibrate", calib, "--frames",
                                str(ncal)] + (["--no-augment"] if a.no_augment else []) + lat_extra,
                               env=env, capture_output=True, text=True)
            if r.returncode:
                sys.exit("quantize failed: " + r.stderr)
            vq = os.path.join(mdir, "centernet", "centernet-int8.vq")
            fjson = os.path.join(mdir, "centernet", "centernet.json")
            print("\nload average before: %.2f %.2f %.2f" % os.getloadavg())
            print("\n| threads | float ms (median) | int8 ms (median) | int8 / float |")
            print("| --- | --- | --- | --- |")
            for th in (1, 2):
                med = {0: [], 1: []}
                for rep in range(a.latency_runs):
                    for q in (0, 1):
                        cmd = [vigil, "nn", "run", fjson, "--shape", "1x512x512x3", "--threads", str(th), "--runs", "3"]
                        out = subprocess.run(cmd + (["--quant", vq] if q else []), capture_output=True, text=True,
                                             check=True).stdout
                        med[q].append(float(out.split("median ")[1].split(" ms")[0]))
                f, i = statistics.median(med[0]), statistics.median(med[1])
                print("| %d | %.1f | %.1f | %.2f |" % (th, f, i, i / f))
            print("load average after: %.2f %.2f %.2f" % os.getloadavg())
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
