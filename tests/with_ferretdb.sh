#!/usr/bin/env bash
# Runs a test program against the throwaway FerretDB of the ctest fixture
# ferretdb_server (CMakeLists.txt: scripts/ferretdb start before, stop after,
# on VIGIL_FERRET_PORT of this build tree) with VIGIL_STORE_URL set to its
# URL: the store tests then open MongoDB instead of SQLite, each fixture in a
# database of its own (tests/store_backend.h).
#
#   tests/with_ferretdb.sh PROGRAM [ARGS...]
#
# No server is a failure, never a skip: the fixture builds and starts it.
set -euo pipefail
src=${VIGIL_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
if ! url=$("$src/scripts/ferretdb" url 2>/dev/null | tail -1) || [ -z "$url" ]; then
  echo "with_ferretdb: no FerretDB on port ${VIGIL_FERRET_PORT:-27117}" \
       "(the ferretdb_server fixture starts it: scripts/ferretdb start)" >&2
  exit 1
fi
VIGIL_STORE_URL=$url exec "$@"
