#!/usr/bin/env python3
"""ONNX Runtime (CPU) latency for bench/nn.sh, in the reference venv.

usage: nn_ort.py MODEL SHAPE THREADS [RUNS]

Same protocol as bench_nn: one warm-up run, then RUNS (default 20) timed runs
on a fixed pseudo-random input; SessionOptions intra_op_num_threads=THREADS,
inter_op_num_threads=1, sequential execution, all graph optimisations on.
Prints one line (C: median CPU time of the process a run, see bench/nn.c):
  ort MODEL SHAPE threads T runs R median_ms M min_ms m arena_mib - maxrss_mib S cpu_ms C
"""
import os
import resource
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    model, shape, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    dims = [int(d) for d in shape.replace(",", "x").split("x")]
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    x = (np.random.default_rng(12345).random(dims, dtype=np.float32) * 2 - 1).astype(np.float32)
    feed = {sess.get_inputs()[0].name: x}
    sess.run(None, feed)
    ms, cms = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        sess.run(None, feed)
        ms.append((time.perf_counter() - t0) * 1e3)
        cms.append((time.process_time() - c0) * 1e3)
    ms.sort()
    cms.sort()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("ort %s %s threads %d runs %d median_ms %.2f min_ms %.2f arena_mib - maxrss_mib %.1f cpu_ms %.2f"
          % (os.path.basename(model), shape, threads, runs, ms[runs // 2], ms[0], rss, cms[runs // 2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
