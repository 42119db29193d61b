#!/usr/bin/env bash
# Runs a test program against the throwaway server of a ctest fixture with
# VIGIL_STORE_URL set to its URL: the store tests then open that server
# instead of SQLite, each fixture in a schema (PostgreSQL) or database
# (MongoDB) of its own (tests/store_backend.h).
#
#   tests/with_server.sh postgres PROGRAM [ARGS...]
#       fixture postgres_server (CMakeLists.txt: scripts/postgres start
#       before, stop after, on VIGIL_PG_PORT / VIGIL_PG_DIR of this tree)
#   tests/with_server.sh ferretdb PROGRAM [ARGS...]
#       fixture ferretdb_server (scripts/ferretdb start before, stop after,
#       on VIGIL_FERRET_PORT of this build tree)
#
# No server is a failure, never a skip: the fixture installs and starts it.
set -euo pipefail
src=${VIGIL_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
case ${1:-} in
  postgres) what="PostgreSQL server"; port=${VIGIL_PG_PORT:-19132} ;;
  ferretdb) what="FerretDB"; port=${VIGIL_FERRET_PORT:-27117} ;;
  *) echo "usage: with_server.sh postgres|ferretdb PROGRAM [ARGS...]" >&2; exit 2 ;;
esac
server=$1
shift
if ! url=$("$src/scripts/$server" url 2>/dev/null | tail -1) || [ -z "$url" ]; then
  echo "with_server: no $what on port $port" \
       "(the ${server}_server fixture starts it: scripts/$server start)" >&2
  exit 1
fi
VIGIL_STORE_URL=$url exec "$@"
