#!/usr/bin/env bash
# bench/api_replicas.sh: the HTTP API through nginx with 1 and 3 `vigil api`
# replicas on one warehouse, and direct (issue 12, "API req/s through nginx
# with 1 and 3 replicas"). bench/README.md says what is measured and how.
#
#   1. bench_api_seed (bench/api_seed.c) makes the warehouse bench/api.sh uses
#      (in API_WORK, default a temp dir removed at the end);
#   2. bench/api_peers.sh installs wrk, scripts/nginx installs nginx (Debian);
#   3. bench/api_replicas.py starts three `vigil api` on the warehouse and a
#      private nginx (scripts/nginx) on 127.0.0.1:19450 (replicas :19451-19453),
#      drives GET /api/v1/events?limit=50 and GET /api/v1/stats with wrk
#      (keep-alive) direct, through nginx to one replica and to three, and
#      prints medians and ratios.
#
# Prints numbers, asserts nothing. Env: BUILD (default build), API_WORK (keep
# and reuse the warehouse there), BENCH_API_SECONDS (per wrk run, default 3),
# BENCH_API_ROUNDS (default 3), BENCH_REPLICAS_CONC (default 16,64).
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build}
case "$build" in /*) ;; *) build=$src/$build ;; esac
[ -x "$build/vigil" ] || { echo "bench/api_replicas.sh: $build/vigil not built (make build)"; exit 1; }

command -v wrk >/dev/null || "$src/bench/api_peers.sh" >/dev/null 2>&1 || true
command -v wrk >/dev/null || { echo "bench/api_replicas.sh: no wrk: skipped"; exit 0; }

if [ -n "${API_WORK:-}" ]; then
  work=$API_WORK
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/bench-replicas-XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
if [ ! -f "$work/vigil.db" ]; then
  [ -x "$build/bench_api_seed" ] || { echo "bench/api_replicas.sh: $build/bench_api_seed not built"; exit 1; }
  "$build/bench_api_seed" "$work" || exit 1
fi

python3 "$src/bench/api_replicas.py" --vigil "$build/vigil" --data-dir "$work" \
  --seconds "${BENCH_API_SECONDS:-3}" --rounds "${BENCH_API_ROUNDS:-3}" \
  --conc "${BENCH_REPLICAS_CONC:-16,64}"
