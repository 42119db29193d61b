#!/usr/bin/env bash
# bench/store.sh: the warehouse's limits, SQLite against PostgreSQL, through
# vigil's own store code (issue 12, "the seed's warehouse tests").
# bench/README.md says what is measured and how.
#
# For each backend (sqlite; postgres with fsync and synchronous_commit on, the
# durable defaults; postgres with synchronous_commit off), on a fresh warehouse
# that bench_api_seed fills (4 cameras, ~32k detections, ~2.7k analytics events):
#   (a) bench_store rate: sustained frame rows/s (vigil_store_frame_put) and
#       detection rows/s in the sink's batches (vigil_store_results_put),
#       medians of 3 rounds;
#   (b) `vigil api` on the warehouse: p50/p99 of /api/v1/detections, /events,
#       /stats and /search with wrk, idle and while bench_store writes at half
#       the incoming limit;
#   (c) the incoming limit: paced write steps (a preprocess-like and a
#       sink-like writer) of growing rate; the last one whose lag does not grow;
#   (d) the outgoing limit: the detections and events lists in turn at growing
#       concurrency (stats and search alone are about the bound or slower
#       here: (b) shows them), with the writer at half the incoming limit; the
#       most requests/s whose p99 stays under 50 ms.
# PostgreSQL comes from scripts/postgres (a throwaway cluster on 127.0.0.1:19850
# under the work dir, fsync on); the API listens on 127.0.0.1:19851.
# BENCH_STORE_BACKENDS=...,mongo adds the MongoDB store on a throwaway FerretDB
# (scripts/ferretdb, SQLite handler) on 127.0.0.1:19852.
#
# Prints numbers, asserts nothing; about 5 minutes. Env: BUILD (default build),
# BENCH_STORE_BACKENDS (sqlite,postgres,postgres-async), BENCH_STORE_SECONDS
# (each sustained-rate phase, 3), BENCH_STORE_ROUNDS (of them, 3),
# BENCH_STORE_STEP_SECONDS (each load step, 3), BENCH_STORE_API_SECONDS (each
# wrk run, 3), BENCH_STORE_P99_MS (50),
# BENCH_STORE_SEED_FRAMES (per camera, 1000), BENCH_STORE_PORT (19850).
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build}
case "$build" in /*) ;; *) build=$src/$build ;; esac
for bin in vigil bench_store bench_api_seed; do
  [ -x "$build/$bin" ] || { echo "bench/store.sh: $build/$bin not built (make build)"; exit 1; }
done
command -v wrk >/dev/null || "$src/scripts/setup.sh" pkg wrk >&2 || true
command -v wrk >/dev/null || { echo "bench/store.sh: no wrk: skipped"; exit 0; }

exec python3 "$src/bench/store.py" --build "$build" \
  --backends "${BENCH_STORE_BACKENDS:-sqlite,postgres,postgres-async}" \
  --rate-seconds "${BENCH_STORE_SECONDS:-3}" --rounds "${BENCH_STORE_ROUNDS:-3}" \
  --step-seconds "${BENCH_STORE_STEP_SECONDS:-3}" \
  --api-seconds "${BENCH_STORE_API_SECONDS:-3}" --p99-ms "${BENCH_STORE_P99_MS:-50}" \
  --seed-frames "${BENCH_STORE_SEED_FRAMES:-1000}" --port-base "${BENCH_STORE_PORT:-19850}"
