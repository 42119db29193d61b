/* Kafka administration helpers for distributed mode (`vigil kafka init`).
 *
 * The bus (bus.h, "kafka://" URLs) creates a missing topic on demand with the
 * bus conf's partitions and RF = min(3, brokers); deployments create their
 * topics up front with vigil_kafka_create_topics(), which also sets
 * min.insync.replicas and retention. Available only when vigil is built with
 * librdkafka (VIGIL_BUS_HAVE_KAFKA defined); otherwise the function fails
 * with VIGIL_ERR_UNSUPPORTED. See docs/kafka.md.
 *
 * Thread: any. */
#ifndef VIGIL_KAFKA_H
#define VIGIL_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

typedef struct vigil_kafka_topic_spec {
    const char *name;
    int partitions;          /* >= 1 */
    int replication_factor;  /* >= 1; 0 = min(3, brokers) */
    int min_insync_replicas; /* 0 = broker default */
    int64_t retention_ms;    /* 0 = broker default; -1 = forever */
    int64_t segment_ms;      /* 0 = broker default; small values let retention act quickly */
    const char *cleanup_policy; /* NULL = broker default ("delete"); "compact" for control */
} vigil_kafka_topic_spec_t;

/* Creates every topic in specs that does not exist yet on the cluster at
 * `bootstrap` ("kafka://HOST:PORT,..." or "HOST:PORT,..."). Idempotent: an
 * existing topic is left as it is (*existed, if not NULL, counts them).
 * Errors: VIGIL_ERR_CONFIG (bad URL or spec), VIGIL_ERR_TIMED_OUT (no broker
 * within timeout_ms), VIGIL_ERR_BUS (the cluster refused), with errstr naming
 * the topic. */
vigil_err_t vigil_kafka_create_topics(const char *bootstrap, const vigil_kafka_topic_spec_t *specs,
                                      size_t nspecs, int timeout_ms, size_t *existed, char *errstr,
                                      size_t errstr_size);

/* One partition of a topic as the cluster reports it. */
typedef struct vigil_kafka_partition_info {
    int32_t partition;
    int32_t leader;         /* broker id; -1 when the partition has no leader */
    char leader_host[128];  /* "" when no leader */
    int leader_port;
    int replicas, isrs;     /* replica count, in-sync replica count */
    int64_t low, high;      /* watermarks; -1 when they could not be read */
} vigil_kafka_partition_info_t;

/* Describes every partition of topic (at most max of them into out; *n gets
 * the topic's partition count). Errors: VIGIL_ERR_CONFIG (bad URL),
 * VIGIL_ERR_TIMED_OUT (no broker within timeout_ms), VIGIL_ERR_NOT_FOUND
 * (no such topic), VIGIL_ERR_UNSUPPORTED (built without librdkafka). */
vigil_err_t vigil_kafka_describe_topic(const char *bootstrap, const char *topic,
                                       vigil_kafka_partition_info_t *out, size_t max, size_t *n,
                                       int timeout_ms, char *errstr, size_t errstr_size);

#endif
