#!/usr/bin/env python3
"""Writes the TF.js seed corpus (corpus/tfjs/*.bin) for fuzz_tfjs: each file
is a 4-byte little-endian JSON length, model.json, then the weight bytes.
Tiny graphs covering the op mapper: fused conv, depthwise, pools, resize,
concat, mean, strided slice, topk/gather/floor ops, quantised weights."""
import json, os, struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "tfjs")
B64 = {"SAME": "U0FNRQ==", "VALID": "VkFMSUQ=", "BiasAdd": "Qmlhc0FkZA==", "Relu": "UmVsdQ==", "Relu6": "UmVsdTY="}


def ph(name, shape, dt="DT_FLOAT"):
    return {"name": name, "op": "Placeholder", "attr": {"dtype": {"type": dt},
            "shape": {"shape": {"dim": [{"size": str(s)} for s in shape]}}}}


def const(name):
    return {"name": name, "op": "Const"}


def ints(*v):
    return {"list": {"i": [str(x) for x in v]}}


def f32(vals):
    return struct.pack("<%df" % len(vals), *vals)


def i32(vals):
    return struct.pack("<%di" % len(vals), *vals)


def write(name, nodes, weights, outputs=None):
    man = [{"paths": ["w.bin"], "weights": [w for w, _ in weights]}]
    model = {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": man}
    if outputs:
        model["signature"] = {"outputs": {o: {"name": o} for o in outputs}}
    js = json.dumps(model, separators=(",", ":")).encode()
    data = b"".join(d for _, d in weights)
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        f.write(struct.pack("<I", len(js)) + js + data)


def w(name, shape, dtype="float32", q=None):
    d = {"name": name, "shape": shape, "dtype": dtype}
    if q:
        d["quantization"] = q
    return d


os.makedirs(OUT, exist_ok=True)
n = lambda *s: 1 if not s else s[0] * n(*s[1:])
write("fused_conv", [ph("x", [1, 4, 4, 2]), const("f"), const("b"),
      {"name": "c", "op": "_FusedConv2D", "input": ["x", "f", "b"], "attr": {"padding": {"s": B64["SAME"]},
       "strides": ints(1, 2, 2, 1), "fused_ops": {"list": {"s": [B64["BiasAdd"], B64["Relu6"]]}}, "num_args": {"i": "1"}}}],
      [(w("f", [3, 3, 2, 3]), f32([0.1 * i for i in range(54)])), (w("b", [3]), f32([0.5, -0.5, 1]))])
write("depthwise_pool", [ph("x", [1, 5, 5, 2]), const("f"),
      {"name": "d", "op": "DepthwiseConv2dNative", "input": ["x", "f"], "attr": {"padding": {"s": B64["VALID"]}, "strides": ints(1, 1, 1, 1)}},
      {"name": "p", "op": "MaxPool", "input": ["d"], "attr": {"ksize": ints(1, 2, 2, 1), "strides": ints(1, 1, 1, 1), "padding": {"s": B64["SAME"]}}},
      {"name": "r", "op": "Relu", "input": ["p", "^d"]}],
      [(w("f", [3, 3, 2, 1], q={"dtype": "float16"}), struct.pack("<18H", *([0x3c00, 0xb800] * 9)))])
write("resize_concat_mean", [ph("x", [1, 2, 2, 3]), const("sz"), const("ax"), const("mi"),
      {"name": "u", "op": "ResizeBilinear", "input": ["x", "sz"], "attr": {"align_corners": {"b": False}, "half_pixel_centers": {"b": False}}},
      {"name": "c", "op": "ConcatV2", "input": ["u", "u", "ax"], "attr": {"N": {"i": "2"}}},
      {"name": "m", "op": "Mean", "input": ["c", "mi"], "attr": {"keep_dims": {"b": True}}}],
      [(w("sz", [2], "int32"), i32([4, 4])), (w("ax", [], "int32"), i32([3])), (w("mi", [2], "int32"), i32([1, 2]))])
write("slice_topk_gather", [ph("x", [1, 4, 3]), const("b"), const("e"), const("s"), const("k"), const("d"), const("gx"),
      {"name": "ss", "op": "StridedSlice", "input": ["x", "b", "e", "s"], "attr": {"begin_mask": {"i": "3"}, "end_mask": {"i": "3"},
       "shrink_axis_mask": {"i": "0"}, "new_axis_mask": {"i": "0"}, "ellipsis_mask": {"i": "0"}}},
      {"name": "t", "op": "TopKV2", "input": ["ss", "k"], "attr": {"sorted": {"b": True}}},
      {"name": "fd", "op": "FloorDiv", "input": ["t:1", "d"]}, {"name": "fm", "op": "FloorMod", "input": ["t:1", "d"]},
      {"name": "g", "op": "GatherV2", "input": ["x", "fm", "gx"], "attr": {"batch_dims": {"i": "0"}}},
      {"name": "cast", "op": "Cast", "input": ["fd"], "attr": {"DstT": {"type": "DT_FLOAT"}}}],
      [(w("b", [3], "int32"), i32([0, 0, 1])), (w("e", [3], "int32"), i32([0, 0, 3])), (w("s", [3], "int32"), i32([1, 1, 1])),
       (w("k", [], "int32"), i32([1])), (w("d", [], "int32"), i32([2])), (w("gx", [], "int32"), i32([2]))], ["g", "cast"])
write("reshape_expand_quant", [ph("x", [2, 3]), const("q8"), const("q16"), const("sh"), const("dim"),
      {"name": "a", "op": "Mul", "input": ["x", "q8"]}, {"name": "b", "op": "Sub", "input": ["a", "q16"]},
      {"name": "r", "op": "Reshape", "input": ["b", "sh"]}, {"name": "e", "op": "ExpandDims", "input": ["r", "dim"]},
      {"name": "eq", "op": "Equal", "input": ["e", "e"]}, {"name": "sg", "op": "Sigmoid", "input": ["e"]},
      {"name": "id", "op": "Identity", "input": ["sg"]}],
      [(w("q8", [3], q={"dtype": "uint8", "min": -1.0, "scale": 0.5}), bytes([0, 2, 255])),
       (w("q16", [3], q={"dtype": "uint16", "min": 0.0, "scale": 0.25}), struct.pack("<3H", 1, 2, 65535)),
       (w("sh", [1], "int32"), i32([-1])), (w("dim", [], "int32"), i32([0]))])
write("conv_add_hardswish", [ph("x", [1, 3, 3, 1]), const("f"), const("three"), const("sixth"),
      {"name": "c", "op": "Conv2D", "input": ["x", "f"], "attr": {"padding": {"s": B64["SAME"]}, "strides": ints(1, 1, 1, 1), "dilations": ints(1, 1, 1, 1)}},
      {"name": "m", "op": "Mul", "input": ["sixth", "c"]}, {"name": "a", "op": "AddV2", "input": ["c", "three"]},
      {"name": "r6", "op": "Relu6", "input": ["a"]}, {"name": "hs", "op": "Mul", "input": ["m", "r6"]}],
      [(w("f", [1, 1, 1, 2]), f32([1.0, -2.0])), (w("three", []), f32([3.0])), (w("sixth", []), f32([1 / 6]))])
write("cycle", [ph("x", [2]), {"name": "a", "op": "Add", "input": ["x", "b"]}, {"name": "b", "op": "Relu", "input": ["a"]}], [])
write("unknown_op", [ph("x", [2]), {"name": "f", "op": "FancyOp", "input": ["x"]}], [])
