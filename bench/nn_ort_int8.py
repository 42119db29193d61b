#!/usr/bin/env python3
"""ONNX Runtime's own INT8 model of CenterNet for bench/nn.sh, in the reference venv.

usage: nn_ort_int8.py FLOAT.onnx OUT.onnx CALIB [--start 400] [--step 12] [--frames 24] [--no-augment]

Quantizes FLOAT.onnx (CenterNet as `vigil nn export` writes it: one input
[1, 512, 512, 3], float RGB 0..255, NHWC) with onnxruntime.quantization's
quantize_static into QDQ format, calibrated on the inputs vigil's default
`vigil models quantize centernet --calibrate CALIB --frames FRAMES` makes:

  CALIB a directory: its *.jpg / *.jpeg sorted by name, the first FRAMES
    (vigil's rule). bench/nn.sh passes the directory of JPEGs it hands vigil
    (vtest.avi frames 400, 412, ..., 676, as bench/nn_int8.py), so both
    engines calibrate on the same files.
  CALIB a video: every STEP-th frame from START on, FRAMES of them, decoded
    by ffmpeg straight to RGB (vigil would read a video's first FRAMES frames
    through YUV -> JPEG -> RGB; use a directory to match vigil exactly).

Preprocessing is vigil's (src/infer/model_prep.c, models/centernet.yaml:
resize stretch, scale 1, mean 0, std 1), redone in numpy float32: the
TF-legacy bilinear sample (source x = dst x * w / 512, no half-pixel offset,
indices clamped), values 0..255. Augmentation is vigil's default
(src/cli/cmd_quantize.c, off with --no-augment, as vigil's flag): after each
image k also its quadrant k % 4 (half width and height, zoomed 2x by the
resize) and a colour variant (channels rotated by k % 3, saturation 2.5x,
contrast 1.3x, in vigil's integer arithmetic), so 3 x FRAMES inputs.
JPEGs are decoded by libturbojpeg through ctypes, the library and flags vigil
decodes with (src/media/image.c); where ctypes cannot find it, by ffmpeg,
whose mjpeg decoder and YUV -> RGB differ from it (up to 49 levels, 1 on
average, on a vtest.avi frame) and the header line says which decoder ran.
Checked on frame 400: ORT float on this input gives vigil detect's scores and
boxes to the digits it prints (4 and 1 decimals). What still differs from vigil: float
rounding in the lerp (vigil's C may contract it into FMAs), and for a video
CALIB the frames skip vigil's JPEG round trip.

Settings (ORT's own advice in quantize_static's docstring for x86 CPUs with
VNNI, as this bench's Zen 4 and the EPYC dev machine have): QuantFormat.QDQ,
u8 activations (QuantType.QUInt8), s8 weights (QuantType.QInt8), per-channel
symmetric weights, reduce_range off; CalibrationMethod.MinMax (vigil's default
method `minmax`). The model first goes through quant_pre_process (ONNX shape
inference and ORT's graph optimisations, as ORT recommends before
quantization) without its symbolic shape inference (that needs sympy, not in
the venv; the exported model's shapes are static); if it fails, the model as
exported is quantized and a note says so. Unlike vigil's defaults, every
Conv is quantized, the detector heads included (ORT's default).

Prints one line:  ort-int8 OUT inputs N (F images x A, DECODER) max_abs_diff HEAD D, ...
where D is the largest |int8 - float| of each dense head (box sizes, the
class heatmap) on the first calibration image (ORT float against ORT QDQ),
for information. Timing is bench/nn_ort.py's, run by bench/nn.sh on OUT (the
same session options and protocol as every other ORT row). Exit 1 with a
message on stderr when something is missing (ffmpeg, CALIB, onnx)."""
import argparse
import ctypes
import ctypes.util
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

SIZE = 512  # CenterNet's input, width and height


def _turbojpeg():
    """libturbojpeg through ctypes (the library vigil decodes with), or None."""
    name = ctypes.util.find_library("turbojpeg")
    if not name:
        return None
    try:
        tj = ctypes.CDLL(name)
        tj.tjInitDecompress.restype = ctypes.c_void_p
        tj.tjDecompressHeader3.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong] + \
            [ctypes.POINTER(ctypes.c_int)] * 4
        tj.tjDecompress2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p] + \
            [ctypes.c_int] * 5
        tj.tjDestroy.argtypes = [ctypes.c_void_p]
        return tj
    except (OSError, AttributeError):
        return None


TJ = _turbojpeg()
DECODER = "libturbojpeg" if TJ else "ffmpeg"


def decode(path):
    """RGB uint8 [h, w, 3] of a JPEG: libturbojpeg's tjDecompress2 at full size with the flags that change
    no pixel left out, as vigil_jpeg_decode (src/media/image.c: accurate IDCT, fancy upsampling); without
    the library, ffmpeg's decoder (a PPM on a pipe carries the size)."""
    with open(path, "rb") as f:
        data = f.read()
    if TJ:
        h = TJ.tjInitDecompress()
        w_, h_, ss, cs = (ctypes.c_int() for _ in range(4))
        try:
            if TJ.tjDecompressHeader3(h, data, len(data), ctypes.byref(w_), ctypes.byref(h_), ctypes.byref(ss),
                                      ctypes.byref(cs)) == 0:
                out = np.empty((h_.value, w_.value, 3), dtype=np.uint8)
                # TJPF_RGB = 0, pitch 0 = width * 3, flags 0
                if TJ.tjDecompress2(h, data, len(data), out.ctypes.data, w_.value, 0, h_.value, 0, 0) == 0:
                    return out
        finally:
            TJ.tjDestroy(h)
        sys.exit("nn_ort_int8.py: libturbojpeg cannot decode %s" % path)
    ppm = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", path, "-frames:v", "1", "-f", "image2pipe",
                          "-c:v", "ppm", "-"], capture_output=True, check=True).stdout
    fields, at = [], 0
    while len(fields) < 4:  # P6 W H MAXVAL, whitespace separated (ffmpeg writes no comments)
        while ppm[at:at + 1].isspace():
            at += 1
        end = at
        while not ppm[end:end + 1].isspace():
            end += 1
        fields.append(ppm[at:end])
        at = end
    w, h = int(fields[1]), int(fields[2])
    return np.frombuffer(ppm[at + 1: at + 1 + w * h * 3], dtype=np.uint8).reshape(h, w, 3)


def images(calib, start, step, count):
    """The calibration images, RGB uint8 at their own size: see the module docstring."""
    if os.path.isdir(calib):
        names = sorted(n for n in os.listdir(calib)
                       if not n.startswith(".") and n.lower().endswith((".jpg", ".jpeg")))[:count]
        return [decode(os.path.join(calib, n)) for n in names]
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height", "-of", "csv=p=0", calib], capture_output=True, text=True, check=True)
    w, h = (int(v) for v in probe.stdout.strip().split(",")[:2])
    sel = "select='gte(n\\,%d)*not(mod(n-%d\\,%d))'" % (start, start, step)
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", calib, "-vf", sel, "-vsync", "0", "-frames:v",
                          str(count), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    n = len(raw) // (w * h * 3)
    return list(np.frombuffer(raw[: n * w * h * 3], dtype=np.uint8).reshape(n, h, w, 3))


def prep(img):
    """vigil__prep_image for CenterNet (resize stretch: TF legacy bilinear), float32 [1, 512, 512, 3]."""
    h, w = img.shape[:2]

    def taps(n_src):
        f = np.arange(SIZE, dtype=np.float32) * (np.float32(n_src) / np.float32(SIZE))
        i0 = np.floor(f).astype(np.int64)
        a = (f - i0.astype(np.float32)).astype(np.float32)
        return np.clip(i0, 0, n_src - 1), np.clip(i0 + 1, 0, n_src - 1), a

    x0, x1, ax = taps(w)
    y0, y1, ay = taps(h)
    src = img.astype(np.float32)
    r0, r1 = src[y0], src[y1]  # [512, w, 3]
    ax = ax[None, :, None]
    top = r0[:, x0] + ax * (r0[:, x1] - r0[:, x0])
    bot = r1[:, x0] + ax * (r1[:, x1] - r1[:, x0])
    return (top + ay[:, None, None] * (bot - top)).astype(np.float32)[None]


def quadrant(img, k):
    """Quadrant k % 4 of img, as cmd_quantize.c's add_image: k odd the right half, (k / 2) odd the bottom."""
    h, w = img.shape[:2]
    qw, qh = max(w // 2, 1), max(h // 2, 1)
    x = w - qw if k % 2 else 0
    y = h - qh if (k // 2) % 2 else 0
    return img[y:y + qh, x:x + qw]


def colour(img, k):
    """cmd_quantize.c's colour variant: channels rotated by k % 3, saturation 2.5x, contrast 1.3x (C's
    integer division, which truncates toward zero)."""
    s = img.astype(np.int32)
    g = (s[..., 0] * 77 + s[..., 1] * 150 + s[..., 2] * 29) >> 8
    rot = k % 3
    out = np.empty_like(img)
    for c in range(3):
        d = (s[..., (c + rot) % 3] - g) * 5
        v = g + np.sign(d) * (np.abs(d) // 2)
        e = (v - 128) * 13
        out[..., c] = np.clip(128 + np.sign(e) * (np.abs(e) // 10), 0, 255).astype(np.uint8)
    return out


class Reader:
    """quantize_static's CalibrationDataReader: each image, then (augmented) its quadrant and colour
    variant, preprocessed one at a time (vigil's order; MinMax does not depend on it)."""

    def __init__(self, name, imgs, augment):
        self.name, self.imgs, self.augment = name, imgs, augment
        self.rewind()

    def _inputs(self):
        for k, img in enumerate(self.imgs):
            yield prep(img)
            if self.augment:
                yield prep(quadrant(img, k))
                yield prep(colour(img, k))

    def get_next(self):
        x = next(self.it, None)
        return None if x is None else {self.name: x}

    def rewind(self):
        self.it = self._inputs()


def main():
    ap = argparse.ArgumentParser(description="ONNX Runtime's quantize_static QDQ model of CenterNet (see the "
                                 "module docstring)")
    ap.add_argument("float_model")
    ap.add_argument("out")
    ap.add_argument("calib", help="a directory of JPEGs (as vigil's --calibrate DIR) or a video")
    ap.add_argument("--start", type=int, default=400, help="video only: the first frame")
    ap.add_argument("--step", type=int, default=12, help="video only: every STEP-th frame")
    ap.add_argument("--frames", type=int, default=24, help="images (or frames) to calibrate on")
    ap.add_argument("--no-augment", action="store_true", help="no quadrant and colour variants (vigil's flag)")
    a = ap.parse_args()
    try:
        from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType, quantize_static)
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as e:
        sys.exit("nn_ort_int8.py: onnxruntime.quantization needs the onnx package (scripts/ref/setup.sh): %s" % e)
    if not shutil.which("ffmpeg"):
        sys.exit("nn_ort_int8.py: ffmpeg not found")
    if not os.path.exists(a.calib):
        sys.exit("nn_ort_int8.py: no calibration directory or video %s" % a.calib)
    imgs = images(a.calib, a.start, a.step, a.frames)
    if not imgs:
        sys.exit("nn_ort_int8.py: no calibration images in %s" % a.calib)
    fs = ort.InferenceSession(a.float_model, providers=["CPUExecutionProvider"])
    inp = fs.get_inputs()[0]
    if [d for d in inp.shape] != [1, SIZE, SIZE, 3]:
        sys.exit("nn_ort_int8.py: %s's input %s is %s, not [1, %d, %d, 3]" % (a.float_model, inp.name, inp.shape,
                                                                              SIZE, SIZE))
    with tempfile.TemporaryDirectory() as tmp:
        pre = os.path.join(tmp, "pre.onnx")
        try:
            quant_pre_process(a.float_model, pre, skip_symbolic_shape=True)
        except Exception as e:  # the model as exported still quantizes
            print("note: quant_pre_process failed (%s); quantizing the model as exported" % e, file=sys.stderr)
            pre = a.float_model
        reader = Reader(inp.name, imgs, not a.no_augment)
        quantize_static(pre, a.out, reader, quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
    x = {inp.name: prep(imgs[0])}
    f = fs.run(None, x)
    q = ort.InferenceSession(a.out, providers=["CPUExecutionProvider"]).run(None, x)
    # the dense heads (box sizes, class heatmap); the detections list is a
    # top-100 whose order changes with any score, so |diff| says nothing there
    diffs = ["%s %.4g" % (o.name.split("/")[-1], float(np.max(np.abs(fa.astype(np.float64) - qa.astype(np.float64)))))
             for o, fa, qa in zip(fs.get_outputs(), f, q) if fa.shape == qa.shape and fa.ndim == 4]
    per = 1 if a.no_augment else 3
    print("ort-int8 %s inputs %d (%d images x %d, %s) max_abs_diff %s" % (
        os.path.basename(a.out), len(imgs) * per, len(imgs), per,
        DECODER if os.path.isdir(a.calib) else "ffmpeg video", ", ".join(diffs) or "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
