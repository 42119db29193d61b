#!/usr/bin/env bash
# Fuzzes the vigil-nn loaders (ONNX, TF.js) for a bounded time each, from the
# committed seed corpus in tests/fuzz/corpus/; fails on any crash or
# sanitizer report. Builds the drivers first (build-fuzz beside the source,
# its own configure): clang + libFuzzer when clang's fuzzer runtime links,
# else gcc + tests/fuzz/standalone_main.c (a mutation loop) under ASan+UBSan.
# VIGIL_FUZZ_SECONDS (default 30) per fuzzer; VIGIL_FUZZ_BUILD overrides the
# build dir. A crashing input is kept in tests/fuzz/crashes/ and replayed
# by every later run (the regression inputs).
set -euo pipefail
SRC=${VIGIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${VIGIL_FUZZ_BUILD:-$SRC/build-fuzz}
SECS=${VIGIL_FUZZ_SECONDS:-30}
# A fixed seed by default, so that a run over the same code explores the same
# inputs and CI does not turn red at random; VIGIL_FUZZ_SEED=random (or a
# number) for open-ended fuzzing, as developers do before a change lands.
SEED=${VIGIL_FUZZ_SEED:-1}
[ "$SEED" = random ] && SEED=$RANDOM
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

have_libfuzzer() {
    command -v clang >/dev/null || return 1
    printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$WORK/probe.c"
    clang -fsanitize=fuzzer,address,undefined "$WORK/probe.c" -o "$WORK/probe" >/dev/null 2>&1
}

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    if have_libfuzzer; then cc=clang
    elif command -v gcc >/dev/null; then cc=gcc
    else echo "SKIP: test_fuzz_loaders: no clang with libFuzzer and no gcc"; exit 77
    fi
    gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
    CC=$cc cmake -S "$SRC" -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DVIGIL_FUZZ=ON -DVIGIL_WERROR=OFF >"$WORK/configure.log" 2>&1 || { cat "$WORK/configure.log"; exit 1; }
fi
cmake --build "$BUILD" --target fuzz_onnx fuzz_tfjs -j2 >"$WORK/build.log" 2>&1 || { tail -50 "$WORK/build.log"; exit 1; }
libfuzzer=$(grep -c '^VIGIL_HAVE_LIBFUZZER:INTERNAL=1' "$BUILD/CMakeCache.txt" || true)

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=2048}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fail=0
# Regression inputs first: every reproducer kept in tests/fuzz/crashes/
# (named <loader>-*) is replayed once; any sanitizer report fails the test.
for f in onnx tfjs; do
    repro=("$SRC/tests/fuzz/crashes/$f-"*)
    [ -e "${repro[0]}" ] || continue
    set +e
    (cd "$WORK" && "$BUILD/fuzz_$f" "${repro[@]}" >"$WORK/$f-replay.log" 2>&1)
    rc=$?
    set -e
    if [ $rc -ne 0 ]; then
        fail=1
        tail -40 "$WORK/$f-replay.log"
        echo "FAIL: fuzz_$f: a kept reproducer crashes again (exit $rc)"
    else
        echo "fuzz_$f: ${#repro[@]} kept reproducers replayed, no crash"
    fi
    rm -f "$WORK"/crash-*
done
for f in onnx tfjs; do
    mkdir -p "$WORK/$f"
    cp "$SRC/tests/fuzz/corpus/$f/"* "$WORK/$f/"
    echo "fuzz_$f: ${SECS}s"
    set +e
    if [ "$libfuzzer" = 1 ]; then
        (cd "$WORK" && "$BUILD/fuzz_$f" -seed="$SEED" -max_total_time="$SECS" -timeout=20 -rss_limit_mb=4096 -malloc_limit_mb=4096 \
            -max_len=65536 -print_final_stats=1 "$WORK/$f" >"$WORK/$f.log" 2>&1)
    else
        (cd "$WORK" && "$BUILD/fuzz_$f" -max_total_time="$SECS" -seed="$SEED" "$WORK/$f" >"$WORK/$f.log" 2>&1)
    fi
    rc=$?
    set -e
    grep -E 'stat::number_of_executed_units|standalone fuzz:' "$WORK/$f.log" || true
    if [ $rc -ne 0 ]; then
        fail=1
        tail -60 "$WORK/$f.log"
        mkdir -p "$SRC/tests/fuzz/crashes"
        for c in "$WORK"/crash-* "$WORK"/timeout-* "$WORK"/oom-* "$WORK"/leak-*; do
            [ -e "$c" ] && cp "$c" "$SRC/tests/fuzz/crashes/$f-$(basename "$c")" && echo "kept $SRC/tests/fuzz/crashes/$f-$(basename "$c")"
        done
        rm -f "$WORK"/crash-* "$WORK"/timeout-* "$WORK"/oom-* "$WORK"/leak-*
        echo "FAIL: fuzz_$f crashed (exit $rc)"
    fi
done
[ $fail -eq 0 ] && echo "2 passed, 0 failed" || { echo "fuzzing found a crash"; exit 1; }
