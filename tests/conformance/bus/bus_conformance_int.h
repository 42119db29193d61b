/* Helpers shared by the files of the bus conformance suite (not a public
 * interface: only the *_support.c files of this directory include it). */
#ifndef VIGIL_BUS_CONFORMANCE_INT_H
#define VIGIL_BUS_CONFORMANCE_INT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vigil/bus.h"

#define BC_PARTITIONS 4

/* A wait of ms milliseconds scaled by VIGIL_TEST_TIMEOUT_MULTIPLIER. */
int bc_wait_ms(int ms);

/* A topic or group name unique to this run: "vigil-conf-<what>-<pid>-<n>". */
void bc_name(char *buf, size_t size, const char *what);

/* Opens the bus under test with `partitions` and `capacity`; fails the test
 * (with the bus's error) if it cannot. */
vigil_bus_t *bc_open(int partitions, int capacity);

/* Subscribes a new member of group to one topic; fails the test on error. */
vigil_consumer_t *bc_subscribe(vigil_bus_t *bus, const char *group, const char *topic);

/* Publishes a NUL-terminated key and value (without the NULs), waiting forever. */
void bc_publish(vigil_bus_t *bus, const char *topic, const char *key, const char *value);

/* Polls one message, failing the test if none comes within the (scaled) wait. */
vigil_bus_msg_t *bc_poll(vigil_consumer_t *consumer);

/* Whether msg's value equals the string s. */
int bc_value_is(const vigil_bus_msg_t *msg, const char *s);

/* Writes into buf a key that vigil_bus_partition_for puts on partition p. */
void bc_key_for_partition(char *buf, size_t size, int32_t p, int32_t partitions);

/* The cases, by file. */
extern const struct CMUnitTest bc_basic_tests[];
extern const size_t bc_basic_ntests;
extern const struct CMUnitTest bc_group_tests[];
extern const size_t bc_group_ntests;
extern const struct CMUnitTest bc_publish_tests[];
extern const size_t bc_publish_ntests;
extern const struct CMUnitTest bc_rebalance_tests[];
extern const size_t bc_rebalance_ntests;

/* The URL under test (bus_conformance_support.c). */
const char *vigil_bus_conformance_url_int(void);

#endif
