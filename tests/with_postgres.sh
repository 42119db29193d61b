#!/usr/bin/env bash
# Runs a test program against the throwaway PostgreSQL server of the ctest
# fixture postgres_server (CMakeLists.txt: scripts/postgres start before,
# scripts/postgres stop after, on VIGIL_PG_PORT / VIGIL_PG_DIR of this build
# tree) with VIGIL_STORE_URL set to its URL: the store tests then open that
# server instead of SQLite, each fixture in a schema of its own
# (tests/store_backend.h).
#
#   tests/with_postgres.sh PROGRAM [ARGS...]
#
# No server is a failure, never a skip: the fixture installs and starts it.
set -euo pipefail
src=${VIGIL_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
if ! url=$("$src/scripts/postgres" url 2>/dev/null | tail -1) || [ -z "$url" ]; then
  echo "with_postgres: no PostgreSQL server on port ${VIGIL_PG_PORT:-19132}" \
       "(the postgres_server fixture starts it: scripts/postgres start)" >&2
  exit 1
fi
VIGIL_STORE_URL=$url exec "$@"
