#!/usr/bin/env bash
# vigil-nn conformance: runs ONNX's backend node tests from Debian's
# libonnx-testdata through `vigil nn conformance` and fails on any failure
# not listed in tests/nn/conformance_expected_failures.txt, or when fewer
# than 300 tests pass. Skips (exit 77, ctest: Skipped) when the data is absent.
set -euo pipefail
src=${VIGIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${VIGIL_BINARY:-$src/build/vigil}
data=${VIGIL_ONNX_TESTDATA:-/usr/share/libonnx-testdata/data/node}
if [ ! -d "$data" ]; then
  echo "SKIP: $data not found (scripts/setup.sh test installs libonnx-testdata)"
  exit 77
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
"$bin" nn conformance "$data" --expected "$src/tests/nn/conformance_expected_failures.txt" >"$out" || rc=$?
grep -E '^FAIL' "$out" | grep -v '\[expected\]' || true
last=$(tail -n 1 "$out")
echo "$last"
passed=$(echo "$last" | sed -E 's/^([0-9]+) passed.*/\1/')
if [ "$rc" -ne 0 ]; then
  echo "FAIL: unexpected conformance failures (see above)"
  exit 1
fi
if [ "$passed" -lt 300 ]; then
  echo "FAIL: only $passed tests passed (want >= 300)"
  exit 1
fi
echo "ok"
