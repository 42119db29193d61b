#!/usr/bin/env bash
# vigil-nn conformance: runs ONNX's backend node tests from Debian's
# libonnx-testdata through `vigil nn conformance` and fails on any failure
# not listed in tests/nn/conformance_expected_failures.txt, or when fewer
# than 300 tests pass, on every kernel tier this CPU runs (generic, avx2,
# avx512). Skips (exit 77, ctest: Skipped) when the data is absent.
set -euo pipefail
src=${VIGIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${VIGIL_BINARY:-$src/build/vigil}
data=${VIGIL_ONNX_TESTDATA:-/usr/share/libonnx-testdata/data/node}
if [ ! -d "$data" ]; then
  echo "SKIP: $data not found (scripts/setup.sh test installs libonnx-testdata)"
  exit 77
fi
# every kernel tier this CPU and build run (src/nn/cpu/isa.c), each forced
# with VIGIL_NN_ISA, so that no tier rots; VIGIL_NN_TIERS=best runs only the
# default tier (sanitizer trees)
tiers=$("$bin" nn isa | awk '$1 == "tier" && $3 == "supported" { print $2 }')
if [ -z "$tiers" ]; then
  echo "FAIL: \`$bin nn isa\` lists no supported tier"
  exit 1
fi
if [ "${VIGIL_NN_TIERS:-all}" = best ]; then
  tiers=$("$bin" nn isa | awk 'NR == 1 { print $2 }')
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
for tier in $tiers; do
  rc=0
  VIGIL_NN_ISA=$tier "$bin" nn conformance "$data" --expected "$src/tests/nn/conformance_expected_failures.txt" >"$out" || rc=$?
  head -n 1 "$out"
  grep -E '^FAIL' "$out" | grep -v '\[expected\]' | sed "s/^/[$tier] /" || true
  last=$(tail -n 1 "$out")
  echo "[$tier] $last"
  passed=$(echo "$last" | sed -E 's/^([0-9]+) passed.*/\1/')
  if [ "$rc" -ne 0 ]; then
    echo "FAIL: [$tier] unexpected conformance failures (see above)"
    status=1
  elif ! [ "$passed" -ge 300 ] 2>/dev/null; then
    echo "FAIL: [$tier] only $passed tests passed (want >= 300)"
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "ok"
exit "$status"
