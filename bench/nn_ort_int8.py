#!/usr/bin/env python3
"""ONNX Runtime's own INT8 model of CenterNet for bench/nn.sh, in the reference venv.

usage: nn_ort_int8.py FLOAT.onnx OUT.onnx VIDEO [--start 400] [--step 12] [--frames 24]

Quantizes FLOAT.onnx (CenterNet as `vigil nn export` writes it: one input
[1, 512, 512, 3], float RGB 0..255, NHWC) with onnxruntime.quantization's
quantize_static into QDQ format, calibrated on the frames vigil's default
quantize uses in bench/nn.sh and bench/nn_int8.py: every STEP-th frame of
VIDEO from START on, FRAMES of them. Settings: MinMax calibration (vigil's
default method), per-channel symmetric s8 weights, u8 activations (ORT's
recommended QDQ setting for x86: its u8 x s8 kernels are the VNNI ones), the
model first run through quant_pre_process (shape inference and ORT's graph
optimisations, as ORT recommends before quantization).

Preprocessing: ffmpeg decodes the frame and scales it to 512x512 with its
bilinear filter; vigil goes YUV -> JPEG -> RGB -> its own bilinear resize
(models/centernet.yaml: resize stretch). So the calibration inputs are the
same frames, not the same bits: ranges differ by resampling noise only.

Prints one line:  ort-int8 OUT frames N max_abs_diff HEAD D, ...
where D is the largest |int8 - float| of each dense head (box sizes, the
class heatmap) on the first calibration frame (ORT float against ORT QDQ),
for information. quant_pre_process runs without symbolic shape inference
(it needs sympy; the exported model's shapes are static). Timing is
bench/nn_ort.py's, run by bench/nn.sh on OUT. Exit 1 with a message on stderr
when something is missing (ffmpeg, the video, onnx)."""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort


def frames(video, start, step, count, size=512):
    """RGB uint8 [count, size, size, 3] of frames start, start+step, ... of video."""
    sel = "select='gte(n\\,%d)*not(mod(n-%d\\,%d))'" % (start, start, step)
    cmd = ["ffmpeg", "-loglevel", "error", "-i", video, "-vf", "%s,scale=%d:%d:flags=bilinear" % (sel, size, size),
           "-vsync", "0", "-frames:v", str(count), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    n = len(raw) // (size * size * 3)
    return np.frombuffer(raw[: n * size * size * 3], dtype=np.uint8).reshape(n, size, size, 3)


class Reader:
    """quantize_static's CalibrationDataReader over the frames, one at a time."""

    def __init__(self, name, imgs):
        self.name, self.imgs, self.i = name, imgs, 0

    def get_next(self):
        if self.i >= len(self.imgs):
            return None
        x = self.imgs[self.i][None].astype(np.float32)
        self.i += 1
        return {self.name: x}

    def rewind(self):
        self.i = 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("float_model")
    ap.add_argument("out")
    ap.add_argument("video")
    ap.add_argument("--start", type=int, default=400)
    ap.add_argument("--step", type=int, default=12)
    ap.add_argument("--frames", type=int, default=24)
    a = ap.parse_args()
    try:
        from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType, quantize_static)
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as e:
        sys.exit("nn_ort_int8.py: onnxruntime.quantization needs the onnx package (scripts/ref/setup.sh): %s" % e)
    if not os.path.exists(a.video):
        sys.exit("nn_ort_int8.py: no video %s" % a.video)
    imgs = frames(a.video, a.start, a.step, a.frames)
    if len(imgs) == 0:
        sys.exit("nn_ort_int8.py: no frames from %s at %d + k * %d" % (a.video, a.start, a.step))
    name = ort.InferenceSession(a.float_model, providers=["CPUExecutionProvider"]).get_inputs()[0].name
    with tempfile.TemporaryDirectory() as tmp:
        pre = os.path.join(tmp, "pre.onnx")
        try:
            quant_pre_process(a.float_model, pre, skip_symbolic_shape=True)
        except Exception as e:  # the model as exported still quantizes
            print("note: quant_pre_process failed (%s); quantizing the model as exported" % e, file=sys.stderr)
            pre = a.float_model
        quantize_static(pre, a.out, Reader(name, imgs), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
    x = {name: imgs[0][None].astype(np.float32)}
    fs = ort.InferenceSession(a.float_model, providers=["CPUExecutionProvider"])
    f = fs.run(None, x)
    q = ort.InferenceSession(a.out, providers=["CPUExecutionProvider"]).run(None, x)
    # the dense heads (box sizes, class heatmap); the detections list is a
    # top-100 whose order changes with any score, so |diff| says nothing there
    diffs = ["%s %.4g" % (o.name.split("/")[-1], float(np.max(np.abs(fa.astype(np.float64) - qa.astype(np.float64)))))
             for o, fa, qa in zip(fs.get_outputs(), f, q) if fa.shape == qa.shape and fa.ndim == 4]
    print("ort-int8 %s frames %d max_abs_diff %s" % (os.path.basename(a.out), len(imgs), ", ".join(diffs) or "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
