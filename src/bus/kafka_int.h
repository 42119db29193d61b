/* Internals of the Kafka bus backend, shared by its files:
 *   kafka.c           URL, the bus object, producer (publish, flush, close, drain)
 *   kafka_consumer.c  consumers: group membership, poll, ack/release bookkeeping
 *   kafka_admin.c     topic creation and committed-offset queries (admin API)
 *
 * Locking: kbus_t.lock guards the topic cache, the (group, topic) list and
 * the list of live consumers. kconsumer_t.lock is held by whichever thread is
 * inside librdkafka's consumer poll for that consumer (its owner, or
 * kafka__group_settle() with trylock), so the rebalance callback and the
 * partition bookkeeping run under it. Order: bus lock, then consumer lock
 * (trylock only). */
#ifndef VIGIL_BUS_KAFKA_INT_H
#define VIGIL_BUS_KAFKA_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "bus/bus_int.h"
#include "vigil/metrics.h"

#define KAFKA_STAGE "bus"
#define KAFKA_MAX_MESSAGE_BYTES 4194304 /* producer message.max.bytes = topic max.message.bytes */
#define KAFKA_TS_HEADER "vigil-ts-us"    /* publish time in microseconds, 8 bytes big-endian */

/* A parsed "kafka://" URL: kafka://HOST:PORT[,HOST:PORT...][?NAME=VALUE&...]. */
typedef struct kafka_url {
    char *brokers;          /* "HOST:PORT,HOST:PORT" (malloc'd) */
    int connect_timeout_ms; /* ?connect_timeout_ms= bound on reaching a broker; default 10000 */
    int session_timeout_ms; /* ?session_timeout_ms= consumer group session; default 6000 */
    int join_wait_ms;       /* ?join_wait_ms= how long subscribe waits for its partitions; 15000 */
    char compression[8];    /* ?compression= zstd (default), lz4, none */
} kafka_url_t;

/* Parses `rest` (the URL after "kafka://") into url. VIGIL_ERR_CONFIG with
 * errstr naming the bad part. On success the caller calls kafka__url_release. */
vigil_err_t kafka__url_parse(const char *rest, kafka_url_t *url, char *errstr, size_t errstr_size);
void kafka__url_release(kafka_url_t *url);

/* A topic known to exist on the cluster, with its partition count. */
typedef struct ktopic {
    char *name;
    int partitions;
    atomic_long inflight; /* published, no delivery report yet */
    vigil_counter_t *published, *failed;
    struct ktopic *next;
} ktopic_t;

/* A (group, topic) pair subscribed through this bus: what drain waits for. */
typedef struct kgroupref {
    char *group, *topic;
    struct kgroupref *next;
} kgroupref_t;

typedef struct kconsumer kconsumer_t;

typedef struct kbus {
    vigil_bus_t base;
    kafka_url_t url;
    vigil_bus_conf_t conf;
    char client_id[128];
    rd_kafka_t *producer; /* also the handle for admin and watermark requests */
    pthread_t poller;     /* serves the producer's delivery reports */
    atomic_int stop_poller;
    atomic_int closed;
    atomic_long failed_since_flush;
    int brokers; /* brokers in the first metadata answer */
    pthread_mutex_t lock;
    ktopic_t *topics;
    kgroupref_t *groups;
    kconsumer_t *consumers;
} kbus_t;

/* The operations table (kafka.c); consumers share it with the bus. */
extern const vigil__bus_ops_t kafka__ops;

/* Consumer side (kafka_consumer.c). */
vigil_consumer_t *kafka__subscribe(vigil_bus_t *bus, const char *group, const char *const *topics,
                                   size_t ntopics, char *errstr, size_t errstr_size);
vigil_err_t kafka__poll(vigil_consumer_t *consumer, vigil_bus_msg_t **msg, int timeout_ms);
vigil_err_t kafka__ack(vigil_consumer_t *consumer, vigil_bus_msg_t *msg);
void kafka__release(vigil_consumer_t *consumer, vigil_bus_msg_t *msg);
vigil_err_t kafka__commit(vigil_consumer_t *consumer);
int64_t kafka__lag(vigil_consumer_t *consumer);
void kafka__leave(vigil_consumer_t *consumer, int abandon);
/* Commits the stored offsets of every live consumer of `group` in this bus
 * (drain calls it so that acknowledged work is visible to the broker).
 * Called with bus->lock held. */
void kafka__commit_group(kbus_t *bus, const char *group);

/* The topic cache (kafka.c): finds topic or creates it on the cluster with
 * conf.partitions partitions. NULL on failure with errstr filled. */
ktopic_t *kafka__topic(kbus_t *bus, const char *name, char *errstr, size_t errstr_size);

/* Flushes the producer up to timeout_ms (lag and close use it). */
void kafka__flush_quiet(kbus_t *bus, int timeout_ms);

/* Admin (kafka_admin.c), on any handle. */
vigil_err_t kafka__create_topic(rd_kafka_t *rk, const char *name, int partitions, int rf,
                                int min_isr, int64_t retention_ms, int timeout_ms, char *errstr,
                                size_t errstr_size);
/* Partition count of an existing topic: >0, 0 if it does not exist, -1 on error. */
int kafka__partition_count(rd_kafka_t *rk, const char *name, int timeout_ms, char *errstr,
                           size_t errstr_size);
/* committed[p] for p in 0..nparts-1 of group on topic; -1 where none. */
vigil_err_t kafka__committed(rd_kafka_t *rk, const char *group, const char *topic, int nparts,
                             int64_t *committed, int timeout_ms, char *errstr, size_t errstr_size);

/* Maps a librdkafka error to a vigil error. */
vigil_err_t kafka__err(rd_kafka_resp_err_t err);

#endif
