#!/usr/bin/env python3
"""`vigil models quantize` on the real PP-OCRv4 detector and recognizer (issue 10 item 3),
in a throwaway $VIGIL_MODELS linked to the fetched float models, on text rendered by
ffmpeg's drawtext (nothing committed):

- ppocr_det calibrates on images of different sizes, each input at its own fit32 size
  (--save-inputs writes 1x3x160x640 and 1x3x224x480 tensors for 640x160 and 480x220
  images), writes ppocr_det-int8.vq beside the float model and ppocr_det-int8.yaml, and
  `vigil models list` shows it;
- ppocr_rec calibrates on the text lines the float detector cuts out of the same images
  (its summary counts them; its saved inputs are 48 high and as wide as the lines);
- `vigil ocr --det ppocr_det-int8 --rec ppocr_rec-int8` reads an easy image (black on white,
  not in the calibration set, at 3 positions 1 px apart) as rendered (spaces and case aside,
  as test_ocr_cli compares) and as float does, with its box within 4 px of float's;
- bad input, each a non-zero exit saying what and why, nothing registered: a calibration
  directory with no images, one whose only image is not a JPEG, images without text for
  the recognizer (the detector finds no line), `vigil ocr --det ppocr_rec` (not a
  detector), `vigil ocr --rec nosuchmodel`, `vigil ocr --bogus`.

Skips (exit 77, saying why) when the PP-OCR models (`vigil models fetch`) or ffmpeg are
missing.
"""
import json
import os
import re
import shutil
import subprocess
import sys

from quantize_support import MODELS, Checks, Workspace, run


# (lines, width, height, font size, background, colour): the calibration images
CALIB = [
    (["NORTH GATE 12", "parking level 3"], 640, 160, 40, "white", "black"),
    (["LOADING DOCK 7", "camera 42 lobby"], 480, 220, 36, "black", "white"),
    (["EXIT 2026", "Platform 9 west"], 560, 200, 44, "0xdde6f0", "0x102040"),
    (["ZONE B17", "office hall 5"], 640, 240, 32, "0x202830", "0xffff80"),
]
# the easy image: test_ocr_cli's second case, black on white, not in the calibration set,
# at 3 positions 1 px apart. (Its first case, "HELLO VIGIL 2026", is not easy: float
# itself reads "VGIL" at 3 of 15 positions 1 px apart, docs/nn.md "PP-OCR INT8".)
EASY = ("camera 42 lobby", 560, 140, 48, 40, 40)
SHIFTS = [(0, 0), (1, 0), (0, 1)]


def render(path, lines, w, h, size, bg, fg, x=20, y=20):
    draw = ",".join("drawtext=text='%s':fontsize=%d:fontcolor=%s:x=%d:y=%d" % (t, size, fg, x, y + i * int(size * 1.8))
                    for i, t in enumerate(lines))
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "color=%s:s=%dx%d" % (bg, w, h)] + (["-vf", draw] if draw else []) +
                   ["-frames:v", "1", "-q:v", "2", path], check=True)


def norm(t):
    return re.sub(r"\s+", "", t).lower()


def main():
    if not os.path.exists(os.path.join(MODELS, "ppocr", "ch_PP-OCRv4_rec_infer.onnx")):
        print("SKIP: PP-OCR models missing from %s (vigil models fetch)" % MODELS)
        return 77
    if not shutil.which("ffmpeg"):
        print("SKIP: ffmpeg not installed (scripts/setup.sh test)")
        return 77
    ws = Workspace("vigil-ocr-quantize-", "ppocr", lambda f: f.endswith((".onnx", ".txt")))
    work, mdir, env = ws.work, ws.models, ws.env
    check = Checks()
    try:
        calib = os.path.join(work, "calib")
        os.makedirs(calib)
        for i, (lines, w, h, size, bg, fg) in enumerate(CALIB):
            render(os.path.join(calib, "text%d.jpg" % i), lines, w, h, size, bg, fg)
        text, w, h, size, x, y = EASY
        easies = []
        for dx, dy in SHIFTS:
            easies.append(os.path.join(work, "easy-%d-%d.jpg" % (dx, dy)))
            render(easies[-1], [text], w, h, size, "white", "black", x + dx, y + dy)
        easy = easies[0]

        # bad input first: nothing may be registered by any of these
        empty = os.path.join(work, "empty")
        os.makedirs(empty)
        notjpeg = os.path.join(work, "notjpeg")
        os.makedirs(notjpeg)
        with open(os.path.join(notjpeg, "broken.jpg"), "wb") as f:
            f.write(b"this is not a JPEG")
        blank = os.path.join(work, "blank")
        os.makedirs(blank)
        render(os.path.join(blank, "blank.jpg"), [], 320, 240, 0, "white", "black")
        cases = [
            (("models", "quantize", "ppocr_det", "--calibrate", empty), "has no images"),
            (("models", "quantize", "ppocr_rec", "--calibrate", empty), "has no images"),
            (("models", "quantize", "ppocr_det", "--calibrate", notjpeg), "no readable images"),
            (("models", "quantize", "ppocr_rec", "--calibrate", notjpeg), "no readable images"),
            (("models", "quantize", "ppocr_rec", "--calibrate", blank), "the text detector found none"),
            (("ocr", "--det", "ppocr_rec", easy), "is not a text detection (ocr_det) model"),
            (("ocr", "--rec", "nosuchmodel", easy), "nosuchmodel"),
            (("ocr", "--bogus", easy), "unknown option --bogus"),
        ]
        for args, why in cases:
            r = run(env, *args)
            check(r.returncode != 0 and why in r.stderr, "%s -> exit %d, %r" % (" ".join(args), r.returncode,
                                                                               r.stderr.strip()[-200:]))
        names = sorted(os.listdir(mdir))
        check(names == ["ppocr"] and not any("int8" in f for f in os.listdir(os.path.join(mdir, "ppocr"))),
              "bad input registered nothing: %s" % names)

        # the detector: each input at its own fit32 size
        saved = os.path.join(work, "saved-det")
        os.makedirs(saved)
        r = run(env, "models", "quantize", "ppocr_det", "--calibrate", calib, "--sens-images", "4", "--save-inputs",
                saved)
        check(r.returncode == 0 and "ppocr_det-int8: " in r.stdout and "on 4 images of %s" % calib in r.stdout,
              "quantize ppocr_det: exit %d, %s" % (r.returncode, (r.stdout + r.stderr).strip()[-600:]))
        dims = sorted(set(f.split("-", 2)[2] for f in os.listdir(saved)))
        check({"1x3x160x640.f32", "1x3x224x480.f32", "1x3x192x576.f32", "1x3x256x640.f32"} <= set(dims),
              "det inputs follow the images' fit32 sizes (and their half-size quadrants): %s" % dims)
        check(os.path.exists(os.path.join(mdir, "ppocr", "ppocr_det-int8.vq")) and
              os.path.exists(os.path.join(mdir, "ppocr_det-int8.yaml")), "wrote ppocr_det-int8.vq and .yaml")

        # the recognizer: on the float detector's text lines
        saved = os.path.join(work, "saved-rec")
        os.makedirs(saved)
        r = run(env, "models", "quantize", "ppocr_rec", "--calibrate", calib, "--sens-images", "4", "--save-inputs",
                saved)
        m = re.search(r"on (\d+) text lines \(ppocr_det\) of 4 images", r.stdout)
        nlines = int(m.group(1)) if m else 0
        check(r.returncode == 0 and 6 <= nlines <= 12, "quantize ppocr_rec on the detector's lines: exit %d, %s" %
              (r.returncode, (r.stdout + r.stderr).strip()[-600:]))
        files = os.listdir(saved)
        shapes = [f.split("-", 2)[2] for f in files]
        check(len(files) == 2 * nlines and all(re.fullmatch(r"1x3x48x\d+\.f32", s) for s in shapes) and
              len(set(shapes)) > 1, "rec inputs: each line and its colour variant, 48 high, own widths: %s" %
              sorted(set(shapes)))
        r = run(env, "models", "list")
        check("ppocr_det-int8" in r.stdout and "ppocr_rec-int8" in r.stdout, "vigil models list shows both")
        r = run(env, "models", "quantize", "ppocr_rec-int8", "--calibrate", calib)
        check(r.returncode != 0 and "already quantized" in r.stderr, "quantizing ppocr_rec-int8 again refused")

        # int8 reads the easy image as rendered and as float does
        out = {}
        for det, rec in (("ppocr_det", "ppocr_rec"), ("ppocr_det-int8", "ppocr_rec-int8")):
            r = run(env, "ocr", "--det", det, "--rec", rec, *easies)
            check(r.returncode == 0, "vigil ocr --det %s --rec %s: exit %d %s" % (det, rec, r.returncode,
                                                                                r.stderr.strip()))
            res = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
            out[det] = [x["lines"] for x in res] if len(res) == len(easies) else [[] for _ in easies]
        for k, (dx, dy) in enumerate(SHIFTS):
            got, ref = out["ppocr_det-int8"][k], out["ppocr_det"][k]
            check(len(got) == 1 and norm(got[0]["text"]) == norm(text) and len(ref) == 1 and
                  norm(ref[0]["text"]) == norm(got[0]["text"]),
                  "int8 det + rec read %r (moved %d,%d px) as %r, float as %r" %
                  (text, dx, dy, [l["text"] for l in got], [l["text"] for l in ref]))
            if got and ref:
                d = max(abs(a - b) for a, b in zip(ref[0]["box"], got[0]["box"]))
                check(d <= 4, "int8 box within 4 px of float's: %s vs %s" % (got[0]["box"], ref[0]["box"]))
    finally:
        ws.close()
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
