#!/usr/bin/env bash
# bench/analytics.sh: the analytics benchmark, in two parts.
#
#   bench_analytics (bench/analytics.c)   time per frame of one camera's analyzer
#       (tracking + zones + lines) at 5, 50 and 500 detections per frame with
#       10 zones and 10 lines, synthetic input with a fixed seed; medians.
#   bench/analytics.py   tracking and counting quality on the synthetic scenes
#       (tests/analytics/scenegen.py) and on vtest.avi, CenterNet detections:
#       MOTA, IDF1, ID switches (motmetrics) and line/zone counts of vigil
#       next to the same detections through ByteTrack (`trackers`) and
#       supervision's LineZone/PolygonZone. Its venv comes from
#       scripts/ref/analytics-peers.sh (installed on first use).
#
# Prints numbers, asserts nothing. Env: BUILD (default build), BENCH_FRAMES,
# BENCH_REPEATS (bench_analytics), ANALYTICS_WORK (a directory to keep and
# reuse the rendered scenes and detections).
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build}
case "$build" in /*) ;; *) build=$src/$build ;; esac

if [ -x "$build/bench_analytics" ]; then
  "$build/bench_analytics"
else
  echo "bench/analytics.sh: $build/bench_analytics not built (make build)"
fi
echo

[ -x "$build/vigil" ] || { echo "bench/analytics.sh: $build/vigil not built (make build)"; exit 1; }
venv=$("$src/scripts/ref/analytics-peers.sh" 2>&1 | tail -n 1)
if [ ! -x "$venv/bin/python" ]; then
  echo "note: no peers' venv (scripts/ref/analytics-peers.sh said: $venv): quality part skipped"
  exit 0
fi
work=()
[ -n "${ANALYTICS_WORK:-}" ] && work=(--work "$ANALYTICS_WORK")
"$venv/bin/python" "$src/bench/analytics.py" --vigil "$build/vigil" "${work[@]}"
