#!/usr/bin/env python3
"""Writes the seeds of tests/fuzz/corpus/quant: quantized-layer files (src/nn/quant_int.h,
version 1) for the model fuzz_quant builds (conv_a 8x27, conv_b depthwise 8x9, conv_c 4x8):
all three layers, two, one, and one with a bad zero point (valid checksum)."""
import os
import struct
import sys


def fnv1a(b):
    h = 2166136261
    for c in b:
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return h


def layer(name, m, k, xs=0.02, zp=64, seed=1):
    out = struct.pack("<H", len(name)) + name.encode() + struct.pack("<IIfi", m, k, xs, zp)
    out += b"".join(struct.pack("<f", 0.01 * (i + 1)) for i in range(m))
    out += bytes(((i * 37 + seed) % 255 - 127) & 0xFF for i in range(m * k))
    return out


def vq(layers):
    body = b"VGQ8" + struct.pack("<II", 1, len(layers)) + b"".join(layers)
    return body + struct.pack("<I", fnv1a(body))


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "quant")
    os.makedirs(d, exist_ok=True)
    a, b, c = layer("conv_a", 8, 27), layer("conv_b", 8, 9, 0.05, 0), layer("conv_c", 4, 8, 0.1, 128)
    seeds = {"all3.vq": vq([a, b, c]), "two.vq": vq([a, b]), "one.vq": vq([b]),
             "bad_zp.vq": vq([layer("conv_a", 8, 27, zp=300)])}
    for n, data in seeds.items():
        with open(os.path.join(d, n), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
