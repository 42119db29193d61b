#!/usr/bin/env bash
# bench/api.sh: vigil's HTTP API against FastAPI + uvicorn on the same SQLite
# warehouse (issue 8, "Benchmark"). bench/README.md says what is measured and how.
#
#   1. bench_api_seed (bench/api_seed.c) makes the warehouse through vigil's
#      store and analyzer: 4 cameras, ~43k detections, ~3.8k analytics events
#      (in API_WORK, default a temp dir removed at the end);
#   2. bench/api_peers.sh installs wrk and the peer's venv (pinned, under
#      ~/.cache/vigil) on first use;
#   3. bench/api.py runs `vigil api` and the peer (uvicorn, 2 workers and 1)
#      side by side, checks they answer the same JSON, drives
#      /api/v1/detections?limit=50, /api/v1/events?limit=50 and /api/v1/stats
#      with wrk at concurrency 1, 16, 64, with and without keep-alive, and
#      prints medians and ratios;
#   4. bench/api_live.py (the live views' own benchmark): concurrent MJPEG
#      viewers at 5 fps on one core, plain and with boxes=1.
#
# Prints numbers, asserts nothing. Env: BUILD (default build), API_WORK (keep
# and reuse the warehouse there), BENCH_API_SECONDS (per wrk run, default 3),
# BENCH_API_ROUNDS (default 3), BENCH_API_CONC (default 1,16,64),
# BENCH_API_ROUTES (default detections,events,stats),
# BENCH_API_AUTH (auto|on|off, default auto: on once `vigil token create`
# exists), BENCH_API_MJPEG (auto|off: step 4), BENCH_API_PORT_BASE (servers on
# this port and the next ones; default any free port).
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build}
case "$build" in /*) ;; *) build=$src/$build ;; esac
for bin in vigil bench_api_seed; do
  [ -x "$build/$bin" ] || { echo "bench/api.sh: $build/$bin not built (make build)"; exit 1; }
done

venv=$("$src/bench/api_peers.sh" 2>&1 | tail -n 1)
if [ ! -x "$venv/bin/uvicorn" ] || ! command -v wrk >/dev/null; then
  echo "bench/api.sh: no peer or no wrk (bench/api_peers.sh said: $venv): skipped"
  exit 0
fi

if [ -n "${API_WORK:-}" ]; then
  work=$API_WORK
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/bench-api-XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
if [ ! -f "$work/vigil.db" ]; then
  "$build/bench_api_seed" "$work" || exit 1
fi

python3 "$src/bench/api.py" --vigil "$build/vigil" --data-dir "$work" --venv "$venv" \
  --seconds "${BENCH_API_SECONDS:-3}" --rounds "${BENCH_API_ROUNDS:-3}" \
  --conc "${BENCH_API_CONC:-1,16,64}" --routes "${BENCH_API_ROUTES:-detections,events,stats}" --auth "${BENCH_API_AUTH:-auto}" \
  ${BENCH_API_PORT_BASE:+--port-base "$BENCH_API_PORT_BASE"}

if [ "${BENCH_API_MJPEG:-auto}" != off ] && [ -f "$src/bench/api_live.py" ]; then
  echo
  echo "MJPEG viewers (bench/api_live.py):"
  python3 "$src/bench/api_live.py" --binary "$build/vigil"
  python3 "$src/bench/api_live.py" --binary "$build/vigil" --boxes
fi
