#!/usr/bin/env bash
# bench/search.sh: vigil on OpenSearch at about a million documents (issue 13's numbers):
# the indexing rate through vigil's own indexer and /api/v1/search p50/p99 on the node next
# to the same searches answered by SQLite, in the same run (bench/search.py; bench/README.md
# says what is measured and how). Builds nothing (say which tree with BUILD); installs nothing
# but the node (scripts/opensearch start: JDK 17 and Maven Central jars, cached). About 12
# minutes on 2 cores.
# Env: BUILD (default build), BENCH_SEARCH_WORK (keep the warehouse there between runs),
# VIGIL_OS_PORT (19700; transport on +1), VIGIL_OS_HEAP (1g). Arguments go to search.py
# (--cameras 8 --frames 2000 --objects 64 --requests 60 --query-seconds 25).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-build}
for b in vigil bench_api_seed bench_search_index; do
    [ -x "$build/$b" ] || { echo "bench/search.sh: $build/$b is not built (cmake --build $build" \
        "--target vigil bench_api_seed bench_search_index)" >&2; exit 1; }
done
exec python3 "$here/search.py" --build "$build" "$@"
