/* Runs the bus conformance suite (bus_conformance_support.c) against a real
 * Kafka cluster: kafka://$VIGIL_KAFKA_BOOTSTRAP (or $VIGIL_BUS_URL when set).
 * Skips (exit 77) with a message when neither is set or the kafka bus is not
 * built in; tests/integration/test_kafka_bus.sh starts a 3-node cluster and
 * runs it (it is not a ctest test of its own). Cases that need per-partition
 * capacity (VIGIL_BUS_CAP_BOUNDED) do not apply on Kafka, whose capacity is
 * retention: they pass saying "not applicable". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "bus_conformance_support.h"

static void test_bus_conformance_kafka_needs_a_cluster(void **state)
{
#ifndef VIGIL_BUS_HAVE_KAFKA
    print_message("skipped: kafka bus not built into this binary (librdkafka missing)\n");
#else
    print_message("skipped: set VIGIL_KAFKA_BOOTSTRAP=HOST:PORT[,...] (scripts/kafka-cluster "
                  "start prints it) to run the bus conformance suite on Kafka\n");
#endif
    skip();
}

int main(void)
{
    static char url[1024];
    const char *bootstrap = getenv("VIGIL_KAFKA_BOOTSTRAP");
    const char *env = getenv("VIGIL_BUS_URL");
    const struct CMUnitTest none[] = {
        cmocka_unit_test(test_bus_conformance_kafka_needs_a_cluster),
    };

#ifdef VIGIL_BUS_HAVE_KAFKA
    if (env && env[0])
        return vigil_bus_conformance_run("bus conformance (kafka)", env);
    if (bootstrap && bootstrap[0]) {
        snprintf(url, sizeof(url), "kafka://%s", bootstrap);
        return vigil_bus_conformance_run("bus conformance (kafka)", url);
    }
#else
    (void)env;
    (void)bootstrap;
    (void)url;
#endif
    return cmocka_run_group_tests_name("bus conformance (kafka)", none, NULL, NULL);
}
