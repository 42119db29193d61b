#!/usr/bin/env bash
# The bus conformance suite on a real 3-node Kafka cluster: starts one with
# scripts/kafka-cluster (unless VIGIL_KAFKA_BOOTSTRAP names a running one),
# runs test_bus_conformance_kafka against it, stops the cluster it started.
# Exit 77 (ctest: skipped) when java/mvn or the kafka test binary are missing.
set -euo pipefail
src=${VIGIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=$(dirname "${VIGIL_BINARY:-$src/build/vigil}")
bin=$builddir/test_bus_conformance_kafka

[ -x "$bin" ] || { echo "skip: $bin not built (cmocka missing?)"; exit 77; }
for tool in java mvn; do
  command -v $tool >/dev/null || { echo "skip: $tool not installed (scripts/setup.sh test)"; exit 77; }
done
if ! grep -q "VIGIL_BUS_HAVE_KAFKA" "$builddir/CMakeCache.txt" 2>/dev/null &&
   ! grep -q "RDKAFKA_FOUND:INTERNAL=1" "$builddir/CMakeCache.txt" 2>/dev/null; then
  echo "skip: librdkafka not found at configure time (kafka bus not built)"; exit 77
fi

started=0
if [ -z "${VIGIL_KAFKA_BOOTSTRAP:-}" ]; then
  # a private runtime dir and ports, so a developer's own cluster is left alone
  export VIGIL_KAFKA_DIR=${VIGIL_KAFKA_TEST_DIR:-/tmp/vigil-kafka-test-${USER:-$(id -un)}}
  export VIGIL_KAFKA_PORT_BASE=${VIGIL_KAFKA_TEST_PORT_BASE:-29092}
  export VIGIL_KAFKA_CONTROLLER_PORT_BASE=${VIGIL_KAFKA_TEST_CONTROLLER_PORT_BASE:-29192}
  trap '"$src/scripts/kafka-cluster" stop >/dev/null 2>&1 || true' EXIT
  started=1
  VIGIL_KAFKA_BOOTSTRAP=$("$src/scripts/kafka-cluster" start 3)
  export VIGIL_KAFKA_BOOTSTRAP
fi
echo "kafka: $VIGIL_KAFKA_BOOTSTRAP (started here: $started)"
"$bin"
