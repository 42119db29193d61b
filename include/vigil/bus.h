/* The bus: how stages pass messages to each other.
 *
 * A Kafka-shaped interface with two implementations side by side:
 *   src/bus/inproc.c   bounded in-process logs (embedded mode, `vigil run`)
 *   src/bus/kafka.c    librdkafka against Apache Kafka (distributed mode; docs/kafka.md)
 * Both pass the same conformance suite (tests/conformance/bus/).
 *
 * Model:
 *  - A topic has a fixed number of partitions. A message goes to the partition
 *    chosen by a hash of its key (the camera id), so all messages of one key
 *    keep their order.
 *  - A consumer subscribes as a member of a group. The partitions of its
 *    topics are divided among the group's live members; every group sees every
 *    message (groups are independent). A member receives the messages of each
 *    partition it owns in offset order.
 *  - At-least-once: the consumer acknowledges a message after it is done with
 *    it (its output published and acknowledged). Acknowledgement stores the
 *    offset; commits are of the contiguous acknowledged prefix. A message
 *    delivered but not acknowledged when its member leaves (or dies) is
 *    delivered again to the member that takes the partition over.
 *  - Bounded capacity: a partition holds at most `capacity` messages not yet
 *    committed by every subscribed group; publish blocks (backpressure) up to
 *    its timeout, then fails with VIGIL_ERR_FULL. A topic no group has ever
 *    subscribed to keeps only its newest `capacity` messages (older ones are
 *    dropped and counted, like size-based retention).
 *  - Shutdown: vigil_bus_close() makes every poll return VIGIL_ERR_CLOSED once
 *    the messages already published are consumed (drain), and every publish
 *    fail with VIGIL_ERR_CLOSED.
 *
 * URLs: "inproc://" (optionally "inproc://NAME"), "kafka://HOST:PORT[,HOST:PORT...]".
 *
 * Thread: a vigil_bus_t is safe from any thread. A vigil_consumer_t is used by
 * one thread at a time (the stage worker that polls it). */
#ifndef VIGIL_BUS_H
#define VIGIL_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

/* Topic names used by the pipeline. */
#define VIGIL_TOPIC_FRAMES "frames"
#define VIGIL_TOPIC_GATED "frames.gated"
#define VIGIL_TOPIC_DETECTIONS "detections"
#define VIGIL_TOPIC_EVENTS "events"
#define VIGIL_TOPIC_CONTROL "control"
/* Each analysed frame's boxes with their track ids (Detections with
 * track_id set), written by analytics for the live views; not stored. */
#define VIGIL_TOPIC_TRACKS "tracks"

typedef struct vigil_bus vigil_bus_t;
typedef struct vigil_consumer vigil_consumer_t;

/* Delivery guarantee of a consume-transform-publish step (vigil_consumer_publish
 * followed by vigil_consumer_ack). */
typedef enum vigil_bus_delivery {
    VIGIL_BUS_AT_LEAST_ONCE = 0, /* outputs may be published again after a crash (default) */
    VIGIL_BUS_EXACTLY_ONCE = 1,  /* Kafka: outputs and input offsets commit atomically
                                  * (transactions); inproc: same as at-least-once */
} vigil_bus_delivery_t;

typedef struct vigil_bus_conf {
    int partitions;      /* per topic, for topics the bus creates (inproc); default 4 */
    int capacity;        /* messages per partition (inproc); default 256 */
    const char *client_id; /* for logs; may be NULL */
    int delivery;        /* vigil_bus_delivery_t; default VIGIL_BUS_AT_LEAST_ONCE */
} vigil_bus_conf_t;

/* A received message. Owned by the consumer until vigil_consumer_ack() or
 * vigil_consumer_release(); key and value stay valid until then. */
typedef struct vigil_bus_msg {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    int64_t timestamp_us; /* when it was published */
} vigil_bus_msg_t;

void vigil_bus_conf_init(vigil_bus_conf_t *conf);

/* Opens a bus. conf may be NULL for defaults. NULL on failure, with errstr
 * filled (unknown scheme, unreachable brokers, ...). */
vigil_bus_t *vigil_bus_new(const char *url, const vigil_bus_conf_t *conf, char *errstr,
                           size_t errstr_size);

/* Publishes a copy of key/value to topic. Blocks while the target partition
 * is full, at most timeout_ms (-1 = forever, 0 = do not wait).
 * Errors: VIGIL_ERR_FULL (still full at the timeout), VIGIL_ERR_CLOSED,
 * VIGIL_ERR_INVALID (empty topic), VIGIL_ERR_BUS. On success the message is
 * accepted: it will be delivered to every group subscribed to the topic. */
vigil_err_t vigil_bus_publish(vigil_bus_t *bus, const char *topic, const void *key, size_t key_len,
                              const void *value, size_t value_len, int timeout_ms);

/* Waits until every published message is durably accepted (Kafka: delivery
 * reports received). inproc: returns at once. */
vigil_err_t vigil_bus_flush(vigil_bus_t *bus, int timeout_ms);

/* Whether the bus answers now (GET /readyz): Kafka asks a broker for its
 * metadata, waiting at most timeout_ms; in-process is always there.
 * VIGIL_ERR_BUS when no broker answered. Thread: any. */
vigil_err_t vigil_bus_ping(vigil_bus_t *bus, int timeout_ms);

/* Waits until every message published to topic so far has been acknowledged
 * and committed by every group subscribed to it (used to drain the pipeline
 * stage by stage on shutdown). VIGIL_ERR_TIMED_OUT if not within timeout_ms. */
vigil_err_t vigil_bus_drain(vigil_bus_t *bus, const char *topic, int timeout_ms);

/* Starts shutdown: wakes blocked publishers (VIGIL_ERR_CLOSED) and lets
 * consumers drain what is already published, then get VIGIL_ERR_CLOSED. */
void vigil_bus_close(vigil_bus_t *bus);

/* Frees the bus. Every consumer must have been freed first. */
void vigil_bus_free(vigil_bus_t *bus);

/* Joins `group` as a new member consuming `topics`. NULL on failure. */
vigil_consumer_t *vigil_bus_subscribe(vigil_bus_t *bus, const char *group,
                                      const char *const *topics, size_t ntopics, char *errstr,
                                      size_t errstr_size);

/* Waits up to timeout_ms for the next message of a partition this member owns.
 * Returns VIGIL_OK with *msg set, VIGIL_ERR_TIMED_OUT, or VIGIL_ERR_CLOSED once
 * the bus is closed and nothing is left for this member. */
vigil_err_t vigil_consumer_poll(vigil_consumer_t *consumer, vigil_bus_msg_t **msg, int timeout_ms);

/* Marks msg processed and frees it. Its offset (and every earlier
 * acknowledged one of that partition) will be committed. */
vigil_err_t vigil_consumer_ack(vigil_consumer_t *consumer, vigil_bus_msg_t *msg);

/* Publishes key/value to topic as the output of the message(s) this consumer
 * is processing: call it before acknowledging them. Same arguments and errors
 * as vigil_bus_publish, on the consumer's bus.
 *  - inproc, and Kafka at-least-once: a plain vigil_bus_publish. Kafka commits
 *    an input offset only after the outputs published before its ack were
 *    delivered, so a crash republishes them (duplicates, never losses).
 *  - Kafka exactly-once (conf.delivery): the output joins the consumer's open
 *    transaction, and the acknowledged input offsets are committed in the same
 *    transaction (a batch of messages per transaction); a crash aborts both,
 *    so downstream read_committed consumers see each output once.
 * Thread: the consumer's thread. */
vigil_err_t vigil_consumer_publish(vigil_consumer_t *consumer, const char *topic, const void *key,
                                   size_t key_len, const void *value, size_t value_len,
                                   int timeout_ms);

/* Frees msg WITHOUT acknowledging it: it will be delivered again (to this
 * member or to the next owner of its partition). */
void vigil_consumer_release(vigil_consumer_t *consumer, vigil_bus_msg_t *msg);

/* Commits acknowledged offsets now (they are also committed periodically). */
vigil_err_t vigil_consumer_commit(vigil_consumer_t *consumer);

/* Number of messages in this member's partitions not yet delivered to it
 * (consumer lag). -1 if unknown. */
int64_t vigil_consumer_lag(vigil_consumer_t *consumer);

/* Reports this member's lag into a stage-wide gauge: adds the change since
 * the member's previous report (*last, start at 0), so that the gauge holds
 * the sum over the stage's workers. Thread: the consumer's thread. */
struct vigil_gauge;
void vigil_consumer_report_lag(vigil_consumer_t *consumer, struct vigil_gauge *gauge,
                               int64_t *last);

/* Leaves the group: commits, then hands its partitions to the other members.
 * Unacknowledged messages will be redelivered to them. Frees the consumer,
 * and with it every message it still holds (neither acked nor released). */
void vigil_consumer_close(vigil_consumer_t *consumer);

/* Leaves the group as if the process died: nothing is committed beyond what
 * was already committed. For tests of redelivery. Frees the consumer and the
 * messages it still holds. */
void vigil_consumer_abandon(vigil_consumer_t *consumer);

/* A change of the partitions a consumer owns (vigil_consumer_set_rebalance_cb). */
typedef enum vigil_bus_rebalance {
    VIGIL_BUS_ASSIGNED = 1, /* the member now owns (topic, partition) */
    VIGIL_BUS_REVOKED = 2,  /* the member no longer owns it */
} vigil_bus_rebalance_t;

typedef void (*vigil_bus_rebalance_fn)(void *opaque, vigil_consumer_t *consumer,
                                       vigil_bus_rebalance_t change, const char *topic,
                                       int32_t partition);

/* Tells cb about every change of the partitions this member owns, one call
 * per (topic, partition). The partitions it owns when cb is set are reported
 * as VIGIL_BUS_ASSIGNED from the next vigil_consumer_poll; later changes as
 * they happen. A partition is reported assigned before any of its messages
 * is handed out, and revoked only if it was reported assigned.
 *  - Kafka: cb runs inside the rebalance, before the revoked partitions are
 *    released to the group (so whatever the member does for a partition can
 *    stop before another member starts it) and before assigned ones are
 *    fetched. Lost partitions (session timed out) are reported revoked too.
 *  - inproc: a rebalance happens at once when a member joins or leaves; cb
 *    learns of it at the member's next poll (revoked ones after the fact).
 * Thread: cb is called from within vigil_consumer_poll on the consumer's
 * thread (Kafka: also from vigil_bus_subscribe / vigil_consumer_close of
 * another member of the same group in this process, which drive local
 * members' rebalances). cb must not call functions of this consumer.
 * vigil_consumer_close/abandon do not call cb. cb = NULL turns it off. */
void vigil_consumer_set_rebalance_cb(vigil_consumer_t *consumer, vigil_bus_rebalance_fn cb,
                                     void *opaque);

/* What a backend can do beyond the common contract (bit flags).
 * VIGIL_BUS_CAP_BOUNDED: a partition holds at most conf.capacity messages not
 * yet committed by every subscribed group, and publish blocks / fails with
 * VIGIL_ERR_FULL on it (inproc). Without it (Kafka), capacity is the
 * cluster's retention and publish blocks only while the client's local send
 * queue is full. */
#define VIGIL_BUS_CAP_BOUNDED 0x1u
/* VIGIL_BUS_CAP_EXACTLY_ONCE: the bus was opened with conf.delivery =
 * VIGIL_BUS_EXACTLY_ONCE and the backend honours it (Kafka): an output of
 * vigil_consumer_publish is visible downstream once, even if the consumer
 * dies before acknowledging its input. */
#define VIGIL_BUS_CAP_EXACTLY_ONCE 0x2u
unsigned vigil_bus_caps(const vigil_bus_t *bus);

/* FNV-1a of the key modulo partitions; the partitioner both backends share
 * so that a key lands on the same partition number everywhere. */
int32_t vigil_bus_partition_for(const void *key, size_t key_len, int32_t partitions);

#endif
