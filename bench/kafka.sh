#!/usr/bin/env bash
# bench/kafka.sh: runs bench_kafka (bench/kafka.c) against a private 3-node
# Kafka cluster that it starts with scripts/kafka-cluster and stops on exit.
#
#   bench/kafka.sh [BUILD_DIR]        default: build
#
# The cluster gets its own runtime dir and ports (23092.. / 23192.., below the ephemeral port range), so the
# test cluster (29092..) and a developer's own cluster (19092..) are left
# alone. VIGIL_KAFKA_BOOTSTRAP set = use that cluster instead (not stopped).
# Other environment: BENCH_SECONDS, BENCH_MB (see bench/kafka.c),
# VIGIL_KAFKA_BENCH_PORT_BASE, VIGIL_KAFKA_BENCH_CONTROLLER_PORT_BASE,
# VIGIL_KAFKA_BENCH_DIR.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
bin=$build/bench_kafka
[ -x "$bin" ] || { echo "bench/kafka.sh: $bin not built" >&2; exit 1; }

if [ -z "${VIGIL_KAFKA_BOOTSTRAP:-}" ]; then
  for tool in java mvn; do
    command -v $tool >/dev/null || { echo "bench/kafka.sh: $tool not installed (scripts/setup.sh test)" >&2; exit 1; }
  done
  export VIGIL_KAFKA_DIR=${VIGIL_KAFKA_BENCH_DIR:-/tmp/vigil-kafka-bench-${USER:-$(id -un)}}
  export VIGIL_KAFKA_PORT_BASE=${VIGIL_KAFKA_BENCH_PORT_BASE:-23092}
  export VIGIL_KAFKA_CONTROLLER_PORT_BASE=${VIGIL_KAFKA_BENCH_CONTROLLER_PORT_BASE:-23192}
  trap '"$src/scripts/kafka-cluster" stop >/dev/null 2>&1 || true' EXIT INT TERM
  VIGIL_KAFKA_BOOTSTRAP=$("$src/scripts/kafka-cluster" start 3)
  export VIGIL_KAFKA_BOOTSTRAP
fi
echo "bench/kafka.sh: cluster $VIGIL_KAFKA_BOOTSTRAP"
"$bin"
