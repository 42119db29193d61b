/* Fault injection for the failure tests, kept out of the product.
 *
 * The Kafka failure tests (tests/integration/test_kafka_failures.py) need a
 * worker that dies between publishing its output and acknowledging its
 * input, and an ingest that writes down every frame the cluster
 * acknowledged. Those hooks live here and nowhere else:
 *
 *   VIGIL_TEST_CRASH_AFTER_PROCESSING=N  the Nth message processed in the
 *       process (preprocess and infer messages counted together) ends it
 *       with _exit(137) after its output was published and flushed, before
 *       the message is acknowledged.
 *   VIGIL_TEST_ACKED_FILE=PATH           ingest flushes every frame after its
 *       publish and appends "CAMERA SEQUENCE\n" to PATH when the bus
 *       confirmed it.
 *
 * Only the `vigil-fault` binary has them: it is built, next to `vigil`, by
 * trees configured with -DVIGIL_FAULT_INJECTION=ON (`make test` configures
 * its trees so). Every other binary, `vigil` of every tree included, is
 * linked with stubs that read no variable, return 0 and do nothing (they
 * only warn once, from vigil_fault_init(), that a VIGIL_TEST_* variable set
 * in the environment is ignored). docs/testing.md explains the choice.
 *
 * The variables are read once: by vigil_fault_init() (main() calls it
 * before any thread starts) or else by the first call of any function here
 * (pthread_once). Thread: every function may be called from any thread. */
#ifndef VIGIL_FAULT_H
#define VIGIL_FAULT_H

#include <stdint.h>

/* Reads the variables (once; later calls do nothing). */
void vigil_fault_init(void);

/* 1 in a fault-injection binary, 0 in every other. */
int vigil_fault_enabled(void);

/* Counts one processed message of the process. Returns 1 for exactly one
 * call, the Nth of VIGIL_TEST_CRASH_AFTER_PROCESSING=N; 0 otherwise and
 * always when the variable is unset. The caller then flushes its outputs
 * and calls vigil_fault_crash(). */
int vigil_fault_crash_due(void);

/* Logs "STAGE: VIGIL_TEST_CRASH_AFTER_PROCESSING=N: exiting before the ack"
 * and ends the process with _exit(137). Does nothing in stub builds. */
void vigil_fault_crash(const char *stage);

/* Whether VIGIL_TEST_ACKED_FILE is set: the caller then flushes each frame
 * it published and, when the bus confirmed it, calls vigil_fault_note_acked. */
int vigil_fault_acked_wanted(void);

/* Appends "CAMERA SEQUENCE\n" to the file of VIGIL_TEST_ACKED_FILE (one
 * write under a lock; lines never interleave). */
void vigil_fault_note_acked(const char *camera_id, uint64_t sequence);

#endif
