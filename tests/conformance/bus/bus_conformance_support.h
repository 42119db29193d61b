/* The bus conformance suite: behaviour every bus backend must show, written
 * against include/vigil/bus.h only.
 *
 * One suite, many backends: a test program per backend (test_bus_conformance_
 * inproc.c, later ..._kafka.c) calls vigil_bus_conformance_run() with its
 * default URL; the environment variable VIGIL_BUS_URL overrides it. Topic and
 * group names are made unique per run (pid + counter) so that a backend with
 * persistent topics (Kafka) can run the suite repeatedly against one cluster.
 * Waits scale with VIGIL_TEST_TIMEOUT_MULTIPLIER; no test asserts on time. */
#ifndef VIGIL_BUS_CONFORMANCE_SUPPORT_H
#define VIGIL_BUS_CONFORMANCE_SUPPORT_H

#include <stddef.h>

/* Runs every conformance case against getenv("VIGIL_BUS_URL") or, if unset,
 * default_url. Returns the number of failed tests (cmocka's result). */
int vigil_bus_conformance_run(const char *group_name, const char *default_url);

/* The URL the suite runs against (valid after vigil_bus_conformance_run started). */
const char *vigil_bus_conformance_url(void);

#endif
