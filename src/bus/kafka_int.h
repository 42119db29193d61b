/* Internals of the Kafka bus backend, shared by its files:
 *   kafka.c           URL, the bus object, producer (publish, flush, close, drain)
 *   kafka_consumer.c  consumers: group membership, poll, ack/release bookkeeping
 *   kafka_admin.c     topic creation and committed-offset queries (admin API)
 *   kafka_txn.c       exactly-once: a transactional producer per consumer
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
    int transaction_timeout_ms; /* ?transaction_timeout_ms= exactly-once: how long a dead
                                 * worker's open transaction blocks read_committed readers;
                                 * default 60000 */
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

/* --- consumers (kafka_consumer.c, kafka_txn.c) --- */

enum { ST_INFLIGHT, ST_ACKED, ST_RELEASED };

typedef struct kentry {
    int64_t offset;
    int state;
} kentry_t;

typedef struct kpart {
    char *topic;
    int32_t partition;
    uint64_t epoch;
    kentry_t *e; /* ascending offsets >= stored */
    size_t n, cap;
    int64_t stored;    /* next offset to commit; -1 until something is acked */
    int64_t next;      /* next offset to hand out; -1 unknown (committed / earliest) */
    int64_t txn_sent;  /* exactly-once: offset committed by the last transaction; -1 none */
    vigil_gauge_t *lag; /* vigil_consumer_lag{topic,partition} */
    int told;          /* reported VIGIL_BUS_ASSIGNED to the rebalance callback */
} kpart_t;

typedef struct kmsg {
    vigil_bus_msg_t pub;
    rd_kafka_message_t *rkm;
    uint64_t epoch;
    struct kmsg *prev, *next;
} kmsg_t;

struct kconsumer {
    vigil_consumer_t base;
    kbus_t *bus;
    char *group;
    rd_kafka_t *rk;
    pthread_mutex_t lock;
    kpart_t *parts;
    size_t nparts, capparts;
    uint64_t epochs;
    kmsg_t *pending, *pending_tail; /* fetched, not handed out */
    kmsg_t *held;                   /* handed out */
    int assign_events;
    int64_t last_rebalance_us;
    int abandoning;
    int dirty; /* stored offsets not committed */
    int64_t last_commit_us;
    int64_t last_marker_check_us; /* skip_markers rate limit */
    /* exactly-once (bus conf.delivery): NULL txp when at-least-once */
    rd_kafka_t *txp;      /* transactional producer of this member */
    int txn_open;         /* a transaction was begun and not yet ended */
    int txn_acks;         /* acks in the open transaction */
    int txn_tail;         /* publishes since the last ack (outputs of unacked messages) */
    int64_t txn_begin_us;
    int txn_fatal;        /* the producer was fenced or failed for good */
    kconsumer_t *next; /* in bus->consumers */
};

/* Exactly-once (kafka_txn.c). Every function: consumer lock held. */
/* Creates c->txp and runs InitTransactions. */
vigil_err_t kafka__txn_init(kconsumer_t *c, char *errstr, size_t errstr_size);
/* Begins a transaction if none is open. */
vigil_err_t kafka__txn_begin(kconsumer_t *c);
/* Commits the open transaction with the acked offsets of every owned
 * partition; on an abortable error aborts and rewinds the partitions to the
 * last committed offsets (their messages are delivered again). */
vigil_err_t kafka__txn_commit(kconsumer_t *c);
/* Aborts the open transaction and rewinds like a failed commit. */
void kafka__txn_abort(kconsumer_t *c);
/* Commits if the open transaction is old or big enough (poll, ack). */
void kafka__txn_maybe_commit(kconsumer_t *c);
/* Aborts the open transaction (abandon) and destroys c->txp. */
void kafka__txn_close(kconsumer_t *c, int abort);
/* Drops the pending messages of a partition from offset `from` on. */
void kafka__pending_purge(kconsumer_t *c, const char *topic, int32_t partition, int64_t from);

/* Produces one message with bus's partitioning on handle rk (the bus
 * producer, or a consumer's transactional producer: track = 0, no delivery
 * report bookkeeping). */
vigil_err_t kafka__produce(kbus_t *bus, rd_kafka_t *rk, int track, const char *topic,
                           const void *key, size_t key_len, const void *value, size_t value_len,
                           int timeout_ms);
/* Sets the producer settings vigil uses (kafka.c) on conf. */
int kafka__producer_conf(kbus_t *bus, rd_kafka_conf_t *conf, char *errstr, size_t errstr_size);

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
int64_t kafka__report_lag(vigil_consumer_t *consumer);
vigil_err_t kafka__consumer_publish(vigil_consumer_t *consumer, const char *topic,
                                    const void *key, size_t key_len, const void *value,
                                    size_t value_len, int timeout_ms);
void kafka__leave(vigil_consumer_t *consumer, int abandon);
void kafka__set_rebalance_cb(vigil_consumer_t *consumer, vigil_bus_rebalance_fn cb, void *opaque);
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
                                int min_isr, int64_t retention_ms, int64_t segment_ms,
                                const char *cleanup_policy, int timeout_ms, char *errstr,
                                size_t errstr_size);
/* Partition count of an existing topic: >0, 0 if it does not exist, -1 on error. */
int kafka__partition_count(rd_kafka_t *rk, const char *name, int timeout_ms, char *errstr,
                           size_t errstr_size);
/* committed[p] for p in 0..nparts-1 of group on topic; -1 where none. */
vigil_err_t kafka__committed(rd_kafka_t *rk, const char *group, const char *topic, int nparts,
                             int64_t *committed, int timeout_ms, char *errstr, size_t errstr_size);

/* Maps a librdkafka error to a vigil error. */
vigil_err_t kafka__err(rd_kafka_resp_err_t err);

/* rd_kafka_conf_set with vigil's error message ("kafka setting NAME=VALUE: why").
 * Returns 0, or -1 with errstr filled. */
int vigil__kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                          size_t errstr_size);

#endif
