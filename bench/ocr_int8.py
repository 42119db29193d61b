#!/usr/bin/env python3
"""PP-OCRv4 det-int8 and rec-int8 against float (issue 10 item 3): identical text?

Renders two deterministic sets of text images with ffmpeg's drawtext (never committed):
a calibration set and a separate evaluation set (other strings, seeds and backgrounds),
each image a few lines of various strings, sizes, fonts and positions on light and dark
backgrounds, a few of them over frames of vtest.avi. For each method (minmax, percentile,
entropy) it runs `vigil models quantize ppocr_det` and `ppocr_rec` on the calibration set
(rec on the float detector's crops of it), then `vigil ocr` on the evaluation set with
float det + rec (the truth) and with
  det-int8 + rec (float), det (float) + rec-int8, det-int8 + rec-int8,
and prints per configuration: lines found, the fraction of images whose text is
identical to float's (every line, in order), the fraction of float's lines read
identically (matched by box IoU >= 0.5), the character error rate vs float (edit
distance over float's characters, the image's lines joined), the box differences of
matched lines (mean and max corner distance, px), and the fraction matching the rendered
ground truth for float and int8; beside each row the median of `vigil ocr`'s own ms per image
(1 thread: det, cls, rec and post-processing), one pass, so only a rough whole-pipeline figure. Then latency of each model alone, float vs int8:
`vigil nn run MODEL --quant FILE.vq --threads 1 --runs 20` (median) on det 1x3x640x640
and rec 1x3x48x320, alternated --rounds times, and the CPU model. Prints, never asserts
on time.

usage: bench/ocr_int8.py [--vigil build/vigil] [--methods minmax,percentile,entropy]
                         [--calib-images 24] [--eval-images 40] [--rounds 3] [--no-latency]
                         [--keep-float LIST] [--work DIR]
Quantizes into a throwaway $VIGIL_MODELS linked to the fetched float models, so the
user's own models directory is not touched.
"""
import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

from benchlib import cpu_model

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "vigil")
MODELS = os.environ.get("VIGIL_MODELS", os.path.join(CACHE, "models"))
MEDIA = os.environ.get("VIGIL_MEDIA", os.path.join(CACHE, "media"))
FONTS = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
         "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"]
WORDS = ("camera lobby gate north south east west parking entrance exit door zone level floor dock bay "
         "store office hall room loading area main side back front street avenue road park lane office "
         "warehouse garage terminal platform station").split()
LIGHT = ["white", "0xf4f1e8", "0xdde6f0", "lightyellow", "0xe8e8e8"]
DARK = ["black", "0x202830", "0x103060", "0x402020", "0x303030"]


def line_text(rnd):
    kind = rnd.randrange(4)
    if kind == 0:
        return "%s %d" % (rnd.choice(WORDS).upper(), rnd.randrange(1, 999))
    if kind == 1:
        return "%s %s %d" % (rnd.choice(WORDS).capitalize(), rnd.choice(WORDS), rnd.randrange(10, 99))
    if kind == 2:
        return "%02d-%02d %s" % (rnd.randrange(24), rnd.randrange(60), rnd.choice(WORDS))
    return "%s%d %s" % (rnd.choice("ABCDEFGHKLMNPRSTUVWXYZ"), rnd.randrange(100, 9999), rnd.choice(WORDS).upper())


def render_set(out_dir, n, seed, fonts=None, video=None):
    """n JPEGs of 2-4 text lines each in out_dir; returns [(path, [lines])]. Deterministic
    for a seed (same strings, fonts, places; ffmpeg's rendering of them)."""
    rnd = random.Random(seed)
    fonts = [f for f in (fonts or FONTS) if os.path.exists(f)]
    os.makedirs(out_dir, exist_ok=True)
    res = []
    for i in range(n):
        w, h = rnd.choice([(640, 360), (800, 480), (480, 320), (960, 540), (640, 480)])
        over_video = video and i % 5 == 4
        dark = rnd.random() < 0.4
        bg = rnd.choice(DARK if dark else LIGHT)
        fg = rnd.choice(["white", "0xffff80", "0xe0e0e0"] if dark or over_video else ["black", "0x102040", "0x602010"])
        nlines = rnd.randrange(2, 5)
        size = rnd.randrange(22, 50)
        y = rnd.randrange(10, max(11, h // 6))
        filters, lines = [], []
        for _ in range(nlines):
            if y + size > h - 8:
                break
            t = line_text(rnd)
            x = rnd.randrange(8, max(9, w - int(len(t) * size * 0.62) - 8))
            font = rnd.choice(fonts)
            box = ":box=1:boxcolor=black@0.55:boxborderw=6" if over_video else ""
            filters.append("drawtext=fontfile=%s:text='%s':fontsize=%d:fontcolor=%s:x=%d:y=%d%s" %
                           (font, t, size, fg, x, y, box))
            lines.append(t)
            y += int(size * rnd.uniform(1.6, 2.4))
            size = max(20, min(56, size + rnd.randrange(-8, 9)))
        path = os.path.join(out_dir, "text-%03d.jpg" % i)
        if over_video:
            inp = ["-ss", "%.2f" % (2 + (seed * 7 + i * 3) % 60), "-i", video]
            filters.insert(0, "scale=%d:%d" % (w, h))
        else:
            inp = ["-f", "lavfi", "-i", "color=%s:s=%dx%d" % (bg, w, h)]
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"] + inp +
                       ["-vf", ",".join(filters), "-frames:v", "1", "-q:v", "3", path], check=True)
        res.append((path, lines))
    return res


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def quad_iou(a, b):
    ax, ay, bx, by = a[0::2], a[1::2], b[0::2], b[1::2]
    r1 = (min(ax), min(ay), max(ax), max(ay))
    r2 = (min(bx), min(by), max(bx), max(by))
    ix = max(0, min(r1[2], r2[2]) - max(r1[0], r2[0]))
    iy = max(0, min(r1[3], r2[3]) - max(r1[1], r2[1]))
    u = (r1[2] - r1[0]) * (r1[3] - r1[1]) + (r2[2] - r2[0]) * (r2[3] - r2[1]) - ix * iy
    return ix * iy / u if u > 0 else 0


def norm(t):
    return re.sub(r"\s+", "", t).lower()


def ocr(vigil, env, det, rec, images):
    r = subprocess.run([vigil, "ocr", "--det", det, "--rec", rec] + images, env=env, capture_output=True,
                       text=True, timeout=3600)
    if r.returncode:
        sys.exit("vigil ocr --det %s --rec %s: exit %d: %s" % (det, rec, r.returncode, r.stderr[-500:]))
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def compare(ref, got, truth):
    """float results ref vs got (per image), truth: rendered lines per image."""
    nl_ref = sum(len(x["lines"]) for x in ref)
    nl_got = sum(len(x["lines"]) for x in got)
    same_img = sum(1 for a, b in zip(ref, got) if [l["text"] for l in a["lines"]] == [l["text"] for l in b["lines"]])
    same_nospace = sum(1 for a, b in zip(ref, got)
                       if [norm(l["text"]) for l in a["lines"]] == [norm(l["text"]) for l in b["lines"]])
    chars = errs = 0
    matched = same_line = 0
    dists = []
    for a, b in zip(ref, got):
        ta = " ".join(l["text"] for l in a["lines"])
        tb = " ".join(l["text"] for l in b["lines"])
        chars += len(ta)
        errs += edit_distance(ta, tb)
        used = set()
        for la in a["lines"]:
            best = max(((quad_iou(la["box"], lb["box"]), j) for j, lb in enumerate(b["lines"]) if j not in used),
                       default=(0, -1))
            if best[0] >= 0.5:
                used.add(best[1])
                lb = b["lines"][best[1]]
                matched += 1
                same_line += la["text"] == lb["text"]
                for c in range(4):
                    dists.append(((la["box"][2 * c] - lb["box"][2 * c]) ** 2 +
                                  (la["box"][2 * c + 1] - lb["box"][2 * c + 1]) ** 2) ** 0.5)
    gt = sum(1 for b, t in zip(got, truth) if sorted(norm(l["text"]) for l in b["lines"]) == sorted(norm(x) for x in t))
    return {
        "lines": nl_got, "lines_float": nl_ref, "identical_images": same_img / max(1, len(ref)),
        "identical_lines": same_line / max(1, nl_ref), "identical_nospace": same_nospace / max(1, len(ref)), "matched": matched, "cer": errs / max(1, chars),
        "box_mean": statistics.mean(dists) if dists else 0.0, "box_max": max(dists) if dists else 0.0,
        "truth_images": gt / max(1, len(truth)),
        "ms": statistics.median(x["ms"] for x in got) if got else 0.0,
    }


def nn_median(vigil, env, model, shape, quant, runs):
    args = [vigil, "nn", "run", model, "--shape", shape, "--threads", "1", "--runs", str(runs)]
    if quant:
        args += ["--quant", quant]
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=1200)
    if r.returncode:
        sys.exit("%s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr[-400:]))
    m = re.search(r"median ([0-9.]+) ms", r.stdout + r.stderr)
    if not m:
        sys.exit("no median in `%s` output: %s" % (" ".join(args), (r.stdout + r.stderr)[-400:]))
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vigil", default=os.environ.get("VIGIL_BINARY", os.path.join(SRC, "build", "vigil")))
    ap.add_argument("--methods", default="minmax,percentile,entropy")
    ap.add_argument("--calib-images", type=int, default=24)
    ap.add_argument("--eval-images", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--no-latency", action="store_true")
    ap.add_argument("--keep-float", default=None, help="passed to vigil models quantize (default: its default)")
    ap.add_argument("--det-keep-float", default=None)
    ap.add_argument("--rec-keep-float", default=None)
    ap.add_argument("--work", default=None, help="keep the images and models here (default: a temporary dir)")
    a = ap.parse_args()
    ppocr = os.path.join(MODELS, "ppocr")
    if not os.path.exists(os.path.join(ppocr, "ch_PP-OCRv4_rec_infer.onnx")):
        sys.exit("PP-OCR models missing from %s (vigil models fetch)" % ppocr)
    if not shutil.which("ffmpeg"):
        sys.exit("ffmpeg not installed")
    work = a.work or tempfile.mkdtemp(prefix="vigil-ocr-int8-")
    os.makedirs(work, exist_ok=True)
    mdir = os.path.join(work, "models")
    os.makedirs(os.path.join(mdir, "ppocr"), exist_ok=True)
    for f in os.listdir(ppocr):
        if f.endswith((".onnx", ".txt")) and not os.path.exists(os.path.join(mdir, "ppocr", f)):
            os.symlink(os.path.join(ppocr, f), os.path.join(mdir, "ppocr", f))
    env = dict(os.environ, VIGIL_MODELS=mdir)
    video = os.path.join(MEDIA, "vtest.avi")
    video = video if os.path.exists(video) else None
    calib = render_set(os.path.join(work, "calib"), a.calib_images, 1, video=video)
    evals = render_set(os.path.join(work, "eval"), a.eval_images, 2, video=video)
    images = [p for p, _ in evals]
    truth = [t for _, t in evals]
    print("CPU: %s; calibration %d images, evaluation %d images (%d rendered lines), %s" %
          (cpu_model(), len(calib), len(evals), sum(len(t) for t in truth), work))
    ref = ocr(a.vigil, env, "ppocr_det", "ppocr_rec", images)
    base = compare(ref, ref, truth)
    print("float: %d lines (rendered %d), images read as rendered: %.3f" %
          (base["lines"], sum(len(t) for t in truth), base["truth_images"]))
    # float's own jitter, for scale: the evaluation images moved 1 px (their first column and
    # row cropped, re-encoded), read by float, compared with float on the originals
    moved_dir = os.path.join(work, "eval-moved")
    os.makedirs(moved_dir, exist_ok=True)
    moved = []
    for p in images:
        moved.append(os.path.join(moved_dir, os.path.basename(p)))
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", p, "-vf", "crop=iw-1:ih-1:1:1",
                        "-q:v", "3", moved[-1]], check=True)
    got = ocr(a.vigil, env, "ppocr_det", "ppocr_rec", moved)
    for res in got:
        for l in res["lines"]:
            l["box"] = [v + 1 for v in l["box"]]
    jit = compare(ref, got, truth)
    jitter_row = "| - | float, image moved 1 px | float | %d (%d) | %.3f | %.3f | %.3f | %.4f | %.2f / %.1f | %.3f |" % (
        jit["lines"], jit["lines_float"], jit["identical_images"], jit["identical_lines"], jit["identical_nospace"],
        jit["cer"], jit["box_mean"], jit["box_max"], jit["truth_images"])
    print(jitter_row, flush=True)
    hdr = ("| method | det | rec | lines (float) | identical text, images | identical lines | identical but spaces | "
           "CER vs float | box diff mean / max px | read as rendered |")
    rows = []
    for method in a.methods.split(","):
        kept = {}
        for model, kf in (("ppocr_det", a.det_keep_float or a.keep_float), ("ppocr_rec", a.rec_keep_float or a.keep_float)):
            args = [a.vigil, "models", "quantize", model, "--calibrate", os.path.join(work, "calib"), "--method", method,
                    "--frames", str(a.calib_images)]
            if kf:
                args += ["--keep-float", kf]
            r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600)
            if r.returncode:
                sys.exit("%s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr[-800:]))
            m = re.search(r"(\d+) Convs in INT8, (\d+) kept float", r.stdout)
            kept[model] = "%s/%s" % (m.group(1), m.group(2)) if m else "?"
            print("  %s %s: %s" % (model, method, r.stdout.strip().splitlines()[-3].strip() if r.stdout else ""))
            for suffix in ("vq", "sens"):
                src = os.path.join(mdir, "ppocr", "%s-int8.%s" % (model, suffix))
                if os.path.exists(src):
                    shutil.copy(src, os.path.join(mdir, "ppocr", "%s-int8-%s.%s" % (model, method, suffix)))
        for det, rec in (("ppocr_det-int8", "ppocr_rec"), ("ppocr_det", "ppocr_rec-int8"),
                         ("ppocr_det-int8", "ppocr_rec-int8")):
            c = compare(ref, ocr(a.vigil, env, det, rec, images), truth)
            rows.append("| %s | %s | %s | %d (%d) | %.3f | %.3f | %.3f | %.4f | %.2f / %.1f | %.3f |" % (
                method, "int8 (%s)" % kept["ppocr_det"] if det.endswith("int8") else "float",
                "int8 (%s)" % kept["ppocr_rec"] if rec.endswith("int8") else "float", c["lines"], c["lines_float"],
                c["identical_images"], c["identical_lines"], c["identical_nospace"], c["cer"], c["box_mean"], c["box_max"], c["truth_images"]))
            print(rows[-1] + "  vigil ocr ms/image median: %.1f (float %.1f)" % (c["ms"], base["ms"]), flush=True)
    print("\n(int8 (A/B): A Convs in INT8, B kept float; float read as rendered: %.3f)" % base["truth_images"])
    print(hdr)
    print("| --- " * 10 + "|")
    print(jitter_row)
    for row in rows:
        print(row)
    if a.no_latency:
        return 0
    print("\nlatency, `vigil nn run --threads 1 --runs %d`, median ms, float and int8 alternated %d times (CPU: %s)" %
          (a.runs, a.rounds, cpu_model()))
    for model, onnx, shape in (("ppocr_det", "ch_PP-OCRv4_det_infer.onnx", "1x3x640x640"),
                               ("ppocr_rec", "ch_PP-OCRv4_rec_infer.onnx", "1x3x48x320")):
        path = os.path.join(mdir, "ppocr", onnx)
        for method in a.methods.split(","):
            vq = os.path.join(mdir, "ppocr", "%s-int8-%s.vq" % (model, method))
            f, q = [], []
            for _ in range(a.rounds):
                f.append(nn_median(a.vigil, env, path, shape, None, a.runs))
                q.append(nn_median(a.vigil, env, path, shape, vq, a.runs))
            print("%s %s %s: float %.2f ms (%s), int8 %.2f ms (%s), int8/float %.2f" % (
                model, shape, method, statistics.median(f), " ".join("%.1f" % x for x in f), statistics.median(q),
                " ".join("%.1f" % x for x in q), statistics.median(q) / statistics.median(f)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
