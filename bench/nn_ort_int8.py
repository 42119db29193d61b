#!/usr/bin/env python3
"""ONNX Runtime's own INT8 model of CenterNet or PP-OCRv4 det / rec for bench/nn.sh, in
the reference venv.

usage: nn_ort_int8.py FLOAT.onnx OUT.onnx INPUTS_DIR

Quantizes FLOAT.onnx (CenterNet as `vigil nn export` writes it: one input
[1, 512, 512, 3], float RGB 0..255, NHWC; or a PP-OCRv4 ONNX file as fetched,
one NCHW input whose height and width vary) with onnxruntime.quantization's
quantize_static into QDQ format, calibrated on exactly the tensors vigil
calibrated on: INPUTS_DIR is what `vigil models quantize ... --save-inputs
INPUTS_DIR` wrote (input-K-DIMS.f32, raw float32, after vigil's decoding,
resize and augmentation), read in K order. So the two engines see the same
bits; no preprocessing is redone here.

Settings (ORT's own advice in quantize_static's docstring for x86 CPUs with
VNNI): QuantFormat.QDQ, u8 activations (QuantType.QUInt8), s8 weights
(QuantType.QInt8), per-channel symmetric weights, reduce_range off;
CalibrationMethod.MinMax (vigil's default method `minmax`). The model first
is brought to opset 13 when older (PP-OCR's files are older; per-channel
DequantizeLinear needs 13), then goes through quant_pre_process (ONNX shape inference and ORT's graph
optimisations, as ORT recommends before quantization) without its symbolic
shape inference (that needs sympy, not in the venv; the exported model's
shapes are static); if it fails, the model as exported is quantized and a
note says so. Unlike vigil's defaults, every Conv is quantized, the detector
heads included (ORT's default).

Prints one line:  ort-int8 OUT inputs N max_abs_diff OUTPUT D, ...
where D is the largest |int8 - float| of each output on the first input (ORT
float against ORT QDQ), for information: CenterNet's dense heads (box sizes,
class heatmap; not its top-100 list, whose order changes with any score),
PP-OCR det's probability map, rec's class probabilities. Timing is bench/nn_ort.py's, run by bench/nn.sh on OUT (the same
session options and protocol as every other ORT row). Exit 1 with a message
on stderr when something is missing (INPUTS_DIR, onnx)."""
import argparse
import glob
import os
import re
import sys
import tempfile

import numpy as np
import onnxruntime as ort


def inputs(d):
    """The saved tensors of d in vigil's order, each shaped by its file name."""
    out = []
    for path in sorted(glob.glob(os.path.join(d, "input-*.f32"))):
        m = re.search(r"input-(\d+)-([\dx]+)\.f32$", path)
        if not m:
            continue
        dims = [int(v) for v in m.group(2).split("x")]
        x = np.fromfile(path, dtype="<f4")
        if x.size != int(np.prod(dims)):
            sys.exit("nn_ort_int8.py: %s has %d floats, its name says %s" % (path, x.size, m.group(2)))
        out.append(x.reshape(dims))
    return out


class Reader:
    """quantize_static's CalibrationDataReader over the saved tensors."""

    def __init__(self, name, xs):
        self.name, self.xs = name, xs
        self.rewind()

    def get_next(self):
        x = next(self.it, None)
        return None if x is None else {self.name: x}

    def rewind(self):
        self.it = iter(self.xs)


def main():
    ap = argparse.ArgumentParser(description="ONNX Runtime's quantize_static QDQ model (see the module docstring)")
    ap.add_argument("float_model")
    ap.add_argument("out")
    ap.add_argument("inputs", help="the directory `vigil models quantize --save-inputs` wrote")
    a = ap.parse_args()
    try:
        from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType, quantize_static)
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as e:
        sys.exit("nn_ort_int8.py: onnxruntime.quantization needs the onnx package (scripts/ref/setup.sh): %s" % e)
    xs = inputs(a.inputs) if os.path.isdir(a.inputs) else []
    if not xs:
        sys.exit("nn_ort_int8.py: no input-*.f32 in %s (vigil models quantize --save-inputs)" % a.inputs)
    fs = ort.InferenceSession(a.float_model, providers=["CPUExecutionProvider"])
    inp = fs.get_inputs()[0]
    want = list(inp.shape)  # a dimension named instead of numbered varies
    if len(want) != xs[0].ndim or any(isinstance(w, int) and w != g for w, g in zip(want, xs[0].shape)):
        sys.exit("nn_ort_int8.py: %s's input %s is %s, the saved inputs %s" % (a.float_model, inp.name, inp.shape,
                                                                               list(xs[0].shape)))
    with tempfile.TemporaryDirectory() as tmp:
        src = a.float_model
        # per-channel DequantizeLinear (its axis) needs opset 13; PP-OCR's files
        # are older: ONNX's version converter brings them there first
        import onnx
        from onnx import version_converter
        model = onnx.load(src)
        opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
        if opset < 13:
            src = os.path.join(tmp, "opset13.onnx")
            onnx.save(version_converter.convert_version(model, 13), src)
            print("note: %s is opset %d, converted to 13 before quantization" % (os.path.basename(a.float_model),
                                                                                   opset), file=sys.stderr)
        pre = os.path.join(tmp, "pre.onnx")
        try:
            quant_pre_process(src, pre, skip_symbolic_shape=True)
        except Exception as e:  # the model as exported still quantizes
            print("note: quant_pre_process failed (%s); quantizing the model as exported" % e, file=sys.stderr)
            pre = src
        quantize_static(pre, a.out, Reader(inp.name, xs), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
    x = {inp.name: xs[0]}
    f = fs.run(None, x)
    q = ort.InferenceSession(a.out, providers=["CPUExecutionProvider"]).run(None, x)
    # CenterNet's detections list is a top-100 whose order changes with any
    # score, so |diff| says nothing there
    diffs = ["%s %.4g" % (o.name.split("/")[-1], float(np.max(np.abs(fa.astype(np.float64) - qa.astype(np.float64)))))
             for o, fa, qa in zip(fs.get_outputs(), f, q)
             if fa.shape == qa.shape and not o.name.endswith("detections")]
    print("ort-int8 %s inputs %d max_abs_diff %s" % (os.path.basename(a.out), len(xs), ", ".join(diffs) or "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
