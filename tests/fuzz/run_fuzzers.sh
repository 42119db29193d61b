#!/usr/bin/env bash
# Builds and runs fuzz drivers of tests/fuzz for a bounded time each; the
# tests/integration/test_fuzz_*.sh scripts that `make test` runs call it:
#
#   tests/fuzz/run_fuzzers.sh TEST SECONDS DRIVER[:RUNS]...
#
# (RUNS: that driver's run count for a slow driver, see VIGIL_FUZZ_SEED)
# For each DRIVER (tests/fuzz/fuzz_DRIVER.c -> fuzz_DRIVER):
#  1. every kept reproducer tests/fuzz/crashes/DRIVER-* is replayed once (the
#     regression inputs: each once crashed, leaked or broke a promise);
#  2. the driver fuzzes for SECONDS from a copy of its committed seed corpus
#     tests/fuzz/corpus/DRIVER/ (every seed runs first; what the run adds to
#     the copy is not kept). SECONDS 0 runs the seeds only.
# Any crash, leak, timeout or sanitizer report fails the test; the input is
# kept as tests/fuzz/crashes/DRIVER-crash-<sha1> (commit it with the fix).
#
# The drivers are built first in one fuzz tree (VIGIL_FUZZ_BUILD, default
# build-fuzz beside the source) with its own configure: clang + libFuzzer
# when clang's fuzzer runtime links, else gcc + tests/fuzz/standalone_main.c
# (a mutation loop) under ASan+UBSan; with neither, exit 77 (skipped).
# Configure and build hold a lock on the tree, so the test_fuzz_*.sh that
# ctest runs at the same time share it (one build of vigil-nn, not two).
#
# VIGIL_FUZZ_SEED: unset by default: seed 1 and a fixed number of runs per
# driver (VIGIL_FUZZ_RUNS, default SECONDS x 20000), so that a run over the
# same code tries the same inputs in the same order and CI does not turn red
# at random (a time-limited run reaches further on a faster machine: two CI
# runs of the same commit once differed that way). SECONDS x 3 still caps the
# time; a slower machine then stops early, on a prefix of the same inputs.
# "random" (or a number) fuzzes for SECONDS from that seed: open-ended
# fuzzing, as developers do before a change lands (docs/testing.md).
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: run_fuzzers.sh TEST SECONDS DRIVER..." >&2; exit 2; }
TEST=$1 SECS=$2
shift 2
DRIVERS=()
declare -A DRIVER_RUNS=()
for a in "$@"; do
    DRIVERS+=("${a%%:*}")
    [ "$a" = "${a%%:*}" ] || DRIVER_RUNS[${a%%:*}]=${a#*:}
done
SRC=${VIGIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${VIGIL_FUZZ_BUILD:-$SRC/build-fuzz}
SEED=${VIGIL_FUZZ_SEED:-}
RUNS=
if [ -z "$SEED" ]; then SEED=1 RUNS=${VIGIL_FUZZ_RUNS:-$((SECS * 20000))}
elif [ "$SEED" = random ]; then SEED=$RANDOM
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

have_libfuzzer() {
    command -v clang >/dev/null || return 1
    printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$WORK/probe.c"
    clang -fsanitize=fuzzer,address,undefined "$WORK/probe.c" -o "$WORK/probe" >/dev/null 2>&1
}

mkdir -p "$BUILD"
locked=0
if command -v flock >/dev/null; then
    exec 9>"$BUILD/.fuzz-build.lock"
    flock 9
    locked=1
fi
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    if have_libfuzzer; then cc=clang
    elif command -v gcc >/dev/null; then cc=gcc
    else echo "SKIP: $TEST: no clang with libFuzzer and no gcc"; exit 77
    fi
    gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
    CC=$cc cmake -S "$SRC" -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DVIGIL_FUZZ=ON -DVIGIL_WERROR=OFF >"$WORK/configure.log" 2>&1 || { cat "$WORK/configure.log"; exit 1; }
fi
targets=()
for d in "${DRIVERS[@]}"; do targets+=("fuzz_$d"); done
cmake --build "$BUILD" --target "${targets[@]}" -j2 >"$WORK/build.log" 2>&1 || { tail -50 "$WORK/build.log"; exit 1; }
if [ $locked = 1 ]; then flock -u 9; exec 9>&-; fi
libfuzzer=$(grep -c '^VIGIL_HAVE_LIBFUZZER:INTERNAL=1' "$BUILD/CMakeCache.txt" || true)

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=2048}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0

# Keeps what a failed run left in $WORK as tests/fuzz/crashes/DRIVER-*.
keep_artifacts() {
    local d=$1 c
    mkdir -p "$SRC/tests/fuzz/crashes"
    for c in "$WORK"/crash-* "$WORK"/timeout-* "$WORK"/oom-* "$WORK"/leak-*; do
        [ -e "$c" ] || continue
        cp "$c" "$SRC/tests/fuzz/crashes/$d-$(basename "$c")"
        echo "kept $SRC/tests/fuzz/crashes/$d-$(basename "$c")"
    done
    rm -f "$WORK"/crash-* "$WORK"/timeout-* "$WORK"/oom-* "$WORK"/leak-*
}

for d in "${DRIVERS[@]}"; do
    bin=$BUILD/fuzz_$d
    ok=1
    repro=("$SRC/tests/fuzz/crashes/$d-"*)
    if [ -e "${repro[0]}" ]; then
        set +e
        (cd "$WORK" && "$bin" "${repro[@]}" >"$WORK/$d-replay.log" 2>&1)
        rc=$?
        set -e
        if [ $rc -ne 0 ]; then
            ok=0
            tail -40 "$WORK/$d-replay.log"
            echo "FAIL: fuzz_$d: a kept reproducer crashes again (exit $rc)"
        else
            echo "fuzz_$d: ${#repro[@]} kept reproducers replayed, no crash"
        fi
        rm -f "$WORK"/crash-* "$WORK"/timeout-* "$WORK"/oom-* "$WORK"/leak-*
    fi
    mkdir -p "$WORK/corpus-$d"
    cp "$SRC/tests/fuzz/corpus/$d/"* "$WORK/corpus-$d/"
    nseeds=$(ls "$WORK/corpus-$d" | wc -l)
    runs=$RUNS
    [ -n "$RUNS" ] && [ -z "${VIGIL_FUZZ_RUNS:-}" ] && runs=${DRIVER_RUNS[$d]:-$RUNS}
    if [ -n "$runs" ]; then echo "fuzz_$d: $nseeds seeds, seed $SEED, $runs runs (at most $((SECS * 3))s)"
    else echo "fuzz_$d: $nseeds seeds, seed $SEED, ${SECS}s"
    fi
    set +e
    if [ "$libfuzzer" = 1 ]; then
        limit=(-max_total_time="$SECS")
        [ -n "$runs" ] && limit=(-runs="$runs" -max_total_time=$((SECS * 3)) -reload=0)
        [ "$SECS" = 0 ] && limit=(-runs=0)
        (cd "$WORK" && "$bin" -seed="$SEED" "${limit[@]}" -timeout=20 -rss_limit_mb=4096 \
            -malloc_limit_mb=4096 -max_len=65536 -print_final_stats=1 "$WORK/corpus-$d" \
            >"$WORK/$d.log" 2>&1)
    else
        limit=(-max_total_time="$SECS")
        [ -n "$runs" ] && limit=(-runs="$runs" -max_total_time=$((SECS * 3)))
        (cd "$WORK" && "$bin" "${limit[@]}" -seed="$SEED" "$WORK/corpus-$d" \
            >"$WORK/$d.log" 2>&1)
    fi
    rc=$?
    set -e
    grep -E 'stat::number_of_executed_units|standalone fuzz:' "$WORK/$d.log" || true
    units=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$d.log" | tail -1)
    if [ -n "$runs" ] && [ -n "$units" ] && [ "$units" -lt "$runs" ] && [ $rc -eq 0 ]; then
        echo "fuzz_$d: stopped at the time cap after $units of $runs runs (a slow machine)"
    fi
    if [ $rc -ne 0 ]; then
        ok=0
        tail -60 "$WORK/$d.log"
        echo "FAIL: fuzz_$d crashed (exit $rc)"
    fi
    keep_artifacts "$d"
    [ $ok = 1 ] || failed=$((failed + 1))
done
echo "$((${#DRIVERS[@]} - failed)) passed, $failed failed"
[ $failed -eq 0 ] || { echo "$TEST: fuzzing found a crash"; exit 1; }
