#!/usr/bin/env bash
# Fuzzes the vigil-nn model loaders (ONNX, TF.js, INT8 quantized-layer files) for a bounded time each,
# from the committed seed corpora in tests/fuzz/corpus/{onnx,tfjs,quant}, after
# replaying the kept reproducers tests/fuzz/crashes/{onnx,tfjs,quant}-*; fails on
# any crash or sanitizer report. tests/fuzz/run_fuzzers.sh builds and runs
# the drivers (build-fuzz beside the source; clang + libFuzzer, else gcc +
# tests/fuzz/standalone_main.c; exit 77 with neither).
# VIGIL_FUZZ_SECONDS (default 30) per fuzzer; VIGIL_FUZZ_BUILD overrides the
# build dir; VIGIL_FUZZ_SEED=random for open-ended fuzzing.
set -euo pipefail
SRC=${VIGIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
exec bash "$SRC/tests/fuzz/run_fuzzers.sh" test_fuzz_loaders "${VIGIL_FUZZ_SECONDS:-30}" onnx tfjs quant
