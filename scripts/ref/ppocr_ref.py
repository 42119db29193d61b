#!/usr/bin/env python3
"""Reference for vigil-nn on PP-OCR: ONNX Runtime (CPU) on fixed inputs.

usage: ppocr_ref.py MODELS_DIR OUTDIR

Builds deterministic inputs (a synthetic page: dark strokes in text-like rows
on a light background, normalised as the registry says: BGR, ImageNet
mean/std for detection, (x/255 - 0.5)/0.5 for recognition and the
classifier), runs ppocr/ch_PP-OCRv4_det_infer.onnx, ..._rec_infer.onnx and
ch_ppocr_mobile_v2.0_cls_infer.onnx, and writes OUTDIR/<model>_input.f32 and
OUTDIR/<model>_output.f32 (raw little-endian float32). Prints one JSON line
per model: {"model", "input_dims", "output_dims", "input", "output"}.
Needs numpy and onnxruntime only (scripts/ref/setup.sh installs them into a
test-only virtualenv).
"""
import json
import os
import sys

import numpy as np
import onnxruntime as ort


def page(h, w, seed):
    """A light page with rows of dark 'glyphs' (uint8 HxWx3, BGR)."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 235, np.uint8)
    y = 8
    while y + 20 < h:
        x = 6
        while x + 14 < w:
            gw = int(rng.integers(4, 12))
            gh = int(rng.integers(10, 18))
            img[y : y + gh, x : x + gw] = rng.integers(10, 60)
            x += gw + int(rng.integers(2, 6))
            if rng.random() < 0.1:
                x += 14
        y += 30
    noise = rng.integers(-8, 8, img.shape)
    return np.clip(img.astype(np.int32) + noise, 0, 255).astype(np.uint8)


def det_input(img):
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    x = (img.astype(np.float32) / 255.0 - mean) / std
    return x.transpose(2, 0, 1)[None].astype(np.float32)


def line_input(img):
    x = (img.astype(np.float32) / 255.0 - 0.5) / 0.5
    return x.transpose(2, 0, 1)[None].astype(np.float32)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    models, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    cases = [
        ("ppocr_det", "ppocr/ch_PP-OCRv4_det_infer.onnx", det_input(page(320, 480, 1))),
        ("ppocr_rec", "ppocr/ch_PP-OCRv4_rec_infer.onnx", line_input(page(48, 320, 2))),
        ("ppocr_cls", "ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx", line_input(page(48, 192, 3))),
    ]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    for name, rel, x in cases:
        sess = ort.InferenceSession(os.path.join(models, rel), opts, providers=["CPUExecutionProvider"])
        y = sess.run(None, {sess.get_inputs()[0].name: x})[0].astype(np.float32)
        xin = os.path.join(out, name + "_input.f32")
        yout = os.path.join(out, name + "_output.f32")
        x.astype("<f4").tofile(xin)
        y.astype("<f4").tofile(yout)
        print(json.dumps({"model": name, "input_dims": list(x.shape), "output_dims": list(y.shape),
                          "input": xin, "output": yout}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
