#!/usr/bin/env python3
"""`vigil models quantize` on the real CenterNet (issue 10 item 2), in a throwaway
$VIGIL_MODELS linked to the fetched float model:

- calibrated on one image (warns that one input may not fit other scenes), it writes
  centernet-int8.vq next to the float model and centernet-int8.yaml, `vigil models
  list` shows centernet-int8, and `vigil detect --model centernet-int8` runs with
  detections close to float's on the darknet images (same labels found, F1 at IoU 0.5
  against float >= 0.6: a one-image calibration; bench/nn_int8.py measures the real
  accuracy) and names the model in its output;
- bad input, each a non-zero exit with a message saying what and why, nothing
  registered: an unknown model, a calibration directory with no images, one whose only
  image is not a JPEG, a missing path, an unknown --method, --frames 0, quantizing the
  quantized model again, and a corrupt centernet-int8.vq (truncated) makes `vigil
  detect --model centernet-int8` fail naming the file, not crash; an unknown
  --sensitivity mode, --keep-float auto:x and --sens-images 0;
- the sensitivity step (`--keep-float depthwise,first,auto:3 --sens-images 1 --no-augment`): the
  ranking of the 60 INT8 candidates written to centernet-int8.sens (most sensitive
  first: errors not increasing, every layer once), the 3 first of it kept float
  (57 INT8, 32 float) and the model loads; `--sensitivity all-but-one` ranks too, and
  by default each image is calibrated with 2 variants of it.

Skips (exit 77, saying why) when the float model (`vigil models fetch`) or the sample
images are missing.
"""
import json
import os
import shutil
import sys

from quantize_support import MODELS, MEDIA, Checks, Workspace, run


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / u if u > 0 else 0.0


def detections(env, model, images):
    r = run(env, "detect", "--model", model, *images)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()]


def main():
    float_json = os.path.join(MODELS, "centernet", "centernet.json")
    if not os.path.exists(float_json):
        print("SKIP: %s missing (vigil models fetch)" % float_json)
        return 77
    images = sorted(os.path.join(MEDIA, f) for f in os.listdir(MEDIA) if f.endswith(".jpg")) if os.path.isdir(MEDIA) else []
    if len(images) < 3:
        print("SKIP: the darknet sample images are missing from %s (scripts/setup.sh)" % MEDIA)
        return 77
    ws = Workspace("vigil-quantize-", "centernet", lambda f: f in ("centernet.json", "centernet.bin"))
    work, mdir, env = ws.work, ws.models, ws.env
    check = Checks()
    try:
        yaml = os.path.join(mdir, "centernet-int8.yaml")
        vq = os.path.join(mdir, "centernet", "centernet-int8.vq")

        # bad input first: nothing may be registered by any of these
        empty = os.path.join(work, "empty")
        os.makedirs(empty)
        notjpeg = os.path.join(work, "notjpeg")
        os.makedirs(notjpeg)
        with open(os.path.join(notjpeg, "broken.jpg"), "wb") as f:
            f.write(b"this is not a JPEG")
        cases = [
            (("models", "quantize", "nosuchmodel", "--calibrate", empty), "not in the model registry"),
            (("models", "quantize", "centernet", "--calibrate", empty), "has no images"),
            (("models", "quantize", "centernet", "--calibrate", notjpeg), "no readable images"),
            (("models", "quantize", "centernet", "--calibrate", os.path.join(work, "missing.avi")), "missing.avi"),
            (("models", "quantize", "centernet", "--calibrate", empty, "--method", "kl"), "expected minmax"),
            (("models", "quantize", "centernet", "--calibrate", empty, "--frames", "0"), "--frames"),
            (("models", "quantize", "centernet", "--calibrate", empty, "--sensitivity", "two"), "expected one or all"),
            (("models", "quantize", "centernet", "--calibrate", empty, "--keep-float", "first,auto:x"),
             "expected auto or auto:N"),
            (("models", "quantize", "centernet", "--calibrate", empty, "--sens-images", "0"), "--sens-images"),
        ]
        for args, why in cases:
            r = run(env, *args)
            check(r.returncode != 0 and why in r.stderr, "%s -> exit %d, %r" % (" ".join(args[2:]), r.returncode,
                                                                               r.stderr.strip()[-200:]))
        check(not os.path.exists(yaml) and not os.path.exists(vq), "bad input registered nothing")

        # one image
        one = os.path.join(work, "one")
        os.makedirs(one)
        shutil.copy(images[0], one)
        saved = os.path.join(work, "saved")
        os.makedirs(saved)
        r = run(env, "models", "quantize", "centernet", "--calibrate", one, "--save-inputs", saved)
        check(r.returncode == 0 and "single input" in r.stderr, "calibration on one image: exit %d, %s" %
              (r.returncode, (r.stdout + r.stderr).strip()))
        files = sorted(os.listdir(saved))
        check(files == ["input-%04d-1x512x512x3.f32" % k for k in range(3)] and
              all(os.path.getsize(os.path.join(saved, f)) == 4 * 512 * 512 * 3 for f in files) and
              len(set(open(os.path.join(saved, f), "rb").read() for f in files)) == 3,
              "--save-inputs wrote the image and its two variants as three different float32 tensors: %s" % files)
        r = run(env, "models", "quantize", "centernet", "--calibrate", one, "--save-inputs",
                os.path.join(work, "no", "such", "dir"))
        check(r.returncode != 0 and "--save-inputs: cannot write" in r.stderr,
              "--save-inputs into a missing directory refused: exit %d, %s" % (r.returncode, r.stderr.strip()))
        r = run(env, "models", "quantize", "centernet", "--calibrate", one)
        check(r.returncode == 0, "calibration on one image again, nothing saved: exit %d" % r.returncode)
        check("kept float by sensitivity: 8 layers" in r.stdout and "52 Convs in INT8, 37 kept float" in r.stdout and
              "on 1 images of %s and 2 variants of each" % one in r.stdout,
              "the default: depthwise, first and the 8 most sensitive float, augmented calibration")
        check(os.path.exists(yaml) and os.path.exists(vq), "wrote %s and %s" % (vq, yaml))
        r = run(env, "models", "list")
        check("centernet-int8" in r.stdout, "vigil models list shows centernet-int8")
        r = run(env, "models", "quantize", "centernet-int8", "--calibrate", one)
        check(r.returncode != 0 and "already quantized" in r.stderr, "quantizing the quantized model refused: %s" %
              r.stderr.strip())

        ref = detections(env, "centernet", images)
        got = detections(env, "centernet-int8", images)
        nt = sum(len(d["detections"]) for d in ref)
        ng = sum(len(d["detections"]) for d in got)
        nm = 0
        for a, b in zip(ref, got):
            used = set()
            for x in a["detections"]:
                best = max(((iou(x["box"], y["box"]), j) for j, y in enumerate(b["detections"])
                            if y["label"] == x["label"] and j not in used), default=(0, -1))
                if best[0] >= 0.5:
                    used.add(best[1])
                    nm += 1
        f1 = 2 * nm / (nt + ng) if nt + ng else 1
        check(f1 >= 0.6, "int8 vs float on %d darknet images: F1 %.3f (%d float, %d int8, %d matched)" %
              (len(images), f1, nt, ng, nm))

        # the sensitivity step: rank, keep the 3 most sensitive float
        two = os.path.join(work, "two")
        os.makedirs(two)
        shutil.copy(images[1], two)
        shutil.copy(images[2], two)
        sens = os.path.join(mdir, "centernet", "centernet-int8.sens")
        r = run(env, "models", "quantize", "centernet", "--calibrate", two, "--keep-float", "depthwise,first,auto:3",
                "--sens-images", "1", "--no-augment")
        check(r.returncode == 0 and "kept float by sensitivity: 3 layers" in r.stdout and
              "57 Convs in INT8, 32 kept float" in r.stdout and "variants" not in r.stdout, "--keep-float depthwise,first,auto:3: exit %d, %s" %
              (r.returncode, (r.stdout + r.stderr).strip()))
        rows = []
        if os.path.exists(sens):
            with open(sens) as f:
                rows = [ln.split(" ", 2) for ln in f.read().splitlines() if not ln.startswith("#")]
        errs = [float(x[1]) for x in rows]
        check(len(rows) == 60 and len(set(x[2] for x in rows)) == 60 and errs == sorted(errs, reverse=True) and
              errs[0] > 0, "%s ranks the 60 INT8 candidates, most sensitive first (%d rows, top %s)" %
              (sens, len(rows), rows[0] if rows else None))
        with open(vq, "rb") as f:
            data = f.read()
        check(all(x[2].encode() not in data for x in rows[:3]) and all(x[2].encode() in data for x in rows[3:]),
              "the 3 most sensitive layers are not in the .vq, the 57 others are")
        r = run(env, "models", "quantize", "centernet", "--calibrate", two, "--sensitivity", "all-but-one",
                "--sens-images", "1", "--keep-float", "depthwise,first")
        with open(sens) as f:
            head = f.read()
        check(r.returncode == 0 and "all-but-one" in head and "60 Convs in INT8" in r.stdout and
              "on 2 images of %s and 2 variants of each" % two in r.stdout,
              "--sensitivity all-but-one --keep-float depthwise,first: exit %d, %s" % (r.returncode, (r.stdout + r.stderr).strip()))

        # a corrupt quantized file: refused naming it
        with open(vq, "rb") as f:
            data = f.read()
        with open(vq, "wb") as f:
            f.write(data[: len(data) // 2])
        r = run(env, "detect", "--model", "centernet-int8", images[0])
        check(r.returncode != 0 and "centernet-int8.vq" in r.stderr and r.returncode < 128,
              "truncated .vq: exit %d, %s" % (r.returncode, r.stderr.strip()))
    finally:
        ws.close()
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
