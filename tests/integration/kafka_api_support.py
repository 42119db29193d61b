"""What the Kafka tests of `vigil api` share (test_kafka_api_cameras.py,
test_kafka_api_live.py): a cluster of their own, the port an API process
bound, and the run on a 3-broker cluster with the API's consumer settings.
Not a test itself (ctest runs test_*.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import test_kafka_failures as kf  # noqa: E402  (shared helpers)


def use_cluster(tag, port_env, port_base):
    """Points kf's cluster at a run dir and ports of the test's own, so that
    tests on their own clusters can run side by side: /tmp/vigil-kafka-TAG-USER,
    brokers from $PORT_ENV (default port_base), controllers 100 above."""
    base = int(os.environ.get(port_env) or str(port_base))
    kf.CLUSTER_ENV.update(
        VIGIL_KAFKA_DIR="/tmp/vigil-kafka-%s-%s" % (tag, os.environ.get("USER", os.getuid())),
        VIGIL_KAFKA_PORT_BASE=str(base),
        VIGIL_KAFKA_CONTROLLER_PORT_BASE=str(base + 100))
    return base


def api_port(work, name, timeout):
    """The port the API process `name` (log WORK/NAME.log) says it listens on."""
    return kf.service_port(work, name, timeout, says="api listening on")


def run_on_cluster(name, body):
    """kf.run_on_cluster with the API tests' bus: 4 partitions, replication 3,
    min ISR 2, consumers with a 3 s session and an 8 s join wait."""
    kf.run_on_cluster(name, "session_timeout_ms=3000&join_wait_ms=8000",
                      ["bus.partitions=4", "bus.replication_factor=3",
                       "bus.min_insync_replicas=2"], body)
