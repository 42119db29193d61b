/* Exactly-once for the Kafka bus: each consumer (group member) of a bus
 * opened with conf.delivery = VIGIL_BUS_EXACTLY_ONCE owns a transactional
 * producer, and what it publishes through vigil_consumer_publish() commits
 * atomically with the input offsets it acknowledged (Kafka transactions,
 * KIP-98, with consumer-group fencing, KIP-447).
 *
 * Main idea:
 *  - transactional.id = "<client id>-<group>-<host>-<pid>-<n>": unique per
 *    member. Zombie fencing does not rely on the id but on the group
 *    generation sent with the offsets (rd_kafka_send_offsets_to_transaction
 *    with the consumer's group metadata): a member that lost its partitions
 *    cannot commit offsets for them any more.
 *  - A transaction may hold only outputs of acknowledged messages when it
 *    commits: txn_tail counts the publishes since the last ack (a stage
 *    publishes a message's outputs, then acks it). Periodic commits wait for
 *    txn_tail == 0; a commit forced with txn_tail > 0 (revoke, close) aborts
 *    instead and rewinds, so the unacknowledged messages are processed again
 *    with their outputs.
 *  - A transaction is begun lazily by the first publish or ack and committed
 *    when it holds KAFKA_TXN_MAX_ACKS acks, when it is KAFKA_TXN_MAX_MS old
 *    (checked from ack and poll), on vigil_consumer_commit, on revoke and on
 *    close. Its offsets are the acked prefix of every owned partition (the
 *    same bookkeeping as at-least-once; nothing goes to librdkafka's offset
 *    store).
 *  - A failed commit that requires an abort is aborted, and every owned
 *    partition is rewound to the offset the last successful transaction
 *    committed (or the group's committed offset): its messages are delivered
 *    again and their outputs published again, in a new transaction. Held
 *    messages of the old epoch are ignored on ack, as after a rebalance.
 *  - A crashed member leaves its transaction open; the broker aborts it after
 *    transaction.timeout.ms (?transaction_timeout_ms=, default 60 s), and
 *    until then read_committed consumers of the output partitions wait at
 *    the open transaction (the latency price of exactly-once, docs/kafka.md).
 *
 * Thread: every function runs with the consumer's lock held (kafka_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/kafka_int.h"
#include "vigil/clock.h"
#include "vigil/log.h"

#define KAFKA_TXN_MAX_ACKS 64
#define KAFKA_TXN_MAX_MS 100

static atomic_int txn_serial;

static int tset(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                size_t errstr_size)
{
    char buf[256];

    if (rd_kafka_conf_set(conf, name, value, buf, sizeof(buf)) == RD_KAFKA_CONF_OK)
        return 0;
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "kafka setting %s=%s: %s", name, value,
                 buf);
    return -1;
}

vigil_err_t kafka__txn_init(kconsumer_t *c, char *errstr, size_t errstr_size)
{
    kbus_t *bus = c->bus;
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    rd_kafka_error_t *e;
    char id[256], host[64] = "host", num[32], buf[512];

    gethostname(host, sizeof(host) - 1);
    snprintf(id, sizeof(id), "%s-%s-%s-%ld-%d", bus->client_id, c->group, host, (long)getpid(),
             atomic_fetch_add(&txn_serial, 1));
    snprintf(num, sizeof(num), "%d", bus->url.transaction_timeout_ms);
    if (kafka__producer_conf(bus, kc, errstr, errstr_size) ||
        tset(kc, "transactional.id", id, errstr, errstr_size) ||
        tset(kc, "transaction.timeout.ms", num, errstr, errstr_size) ||
        tset(kc, "message.timeout.ms", num, errstr, errstr_size)) {
        rd_kafka_conf_destroy(kc);
        return VIGIL_ERR_CONFIG;
    }
    c->txp = rd_kafka_new(RD_KAFKA_PRODUCER, kc, buf, sizeof(buf));
    if (!c->txp) {
        rd_kafka_conf_destroy(kc);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_BUS,
                            "group \"%s\": transactional producer: %s", c->group, buf);
    }
    e = rd_kafka_init_transactions(c->txp, bus->url.connect_timeout_ms);
    if (e) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_BUS,
                     "group \"%s\": transactional id \"%s\": init transactions: %s", c->group, id,
                     rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        rd_kafka_destroy(c->txp);
        c->txp = NULL;
        return VIGIL_ERR_BUS;
    }
    vigil_debug(KAFKA_STAGE, NULL, "group \"%s\": exactly-once, transactional id \"%s\"",
                c->group, id);
    return VIGIL_OK;
}

vigil_err_t kafka__txn_begin(kconsumer_t *c)
{
    rd_kafka_error_t *e;

    if (c->txn_open)
        return VIGIL_OK;
    if (c->txn_fatal)
        return VIGIL_ERR_BUS;
    e = rd_kafka_begin_transaction(c->txp);
    if (e) {
        vigil_error(KAFKA_STAGE, NULL, "group \"%s\": begin transaction: %s", c->group,
                    rd_kafka_error_string(e));
        if (rd_kafka_error_is_fatal(e))
            c->txn_fatal = 1;
        rd_kafka_error_destroy(e);
        return VIGIL_ERR_BUS;
    }
    c->txn_open = 1;
    c->txn_acks = 0;
    c->txn_tail = 0;
    c->txn_begin_us = vigil_mono_us();
    return VIGIL_OK;
}

/* Rewinds every owned partition to what the last committed transaction (or
 * the group) committed; held messages become stale (new epoch). */
static void rewind_all(kconsumer_t *c)
{
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_error_t *e;

    if (c->nparts == 0)
        return;
    l = rd_kafka_topic_partition_list_new((int)c->nparts);
    for (size_t i = 0; i < c->nparts; i++)
        rd_kafka_topic_partition_list_add(l, c->parts[i].topic, c->parts[i].partition);
    if (rd_kafka_committed(c->rk, l, c->bus->url.connect_timeout_ms))
        vigil_warn(KAFKA_STAGE, NULL, "group \"%s\": rewind: committed offsets unknown", c->group);
    for (int i = 0; i < l->cnt; i++) {
        kpart_t *p = NULL;
        for (size_t k = 0; k < c->nparts; k++)
            if (c->parts[k].partition == l->elems[i].partition &&
                strcmp(c->parts[k].topic, l->elems[i].topic) == 0)
                p = &c->parts[k];
        if (!p)
            continue;
        if (l->elems[i].err || l->elems[i].offset < 0)
            l->elems[i].offset = p->txn_sent >= 0 ? p->txn_sent : RD_KAFKA_OFFSET_BEGINNING;
        kafka__pending_purge(c, p->topic, p->partition, 0);
        p->n = 0;
        p->epoch = ++c->epochs;
        p->stored = l->elems[i].offset >= 0 ? l->elems[i].offset : -1;
        p->txn_sent = p->stored;
        p->next = p->stored;
    }
    e = rd_kafka_seek_partitions(c->rk, l, c->bus->url.connect_timeout_ms);
    if (e) {
        vigil_warn(KAFKA_STAGE, NULL, "group \"%s\": rewind: %s", c->group,
                   rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

vigil_err_t kafka__txn_commit(kconsumer_t *c)
{
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_error_t *e = NULL;
    int timeout = c->bus->url.connect_timeout_ms;

    if (!c->txn_open)
        return c->txn_fatal ? VIGIL_ERR_BUS : VIGIL_OK;
    if (c->txn_tail > 0) {
        /* outputs of a message not acknowledged yet: committing them would
         * publish them without their input's offset (a duplicate later) */
        vigil_debug(KAFKA_STAGE, NULL, "group \"%s\": %d outputs of unacknowledged messages: "
                    "transaction aborted", c->group, c->txn_tail);
        kafka__txn_abort(c);
        return VIGIL_OK;
    }
    l = rd_kafka_topic_partition_list_new((int)c->nparts + 1);
    for (size_t i = 0; i < c->nparts; i++) {
        kpart_t *p = &c->parts[i];
        if (p->stored >= 0 && p->stored != p->txn_sent)
            rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->stored;
    }
    if (l->cnt > 0) {
        rd_kafka_consumer_group_metadata_t *md = rd_kafka_consumer_group_metadata(c->rk);
        e = rd_kafka_send_offsets_to_transaction(c->txp, l, md, timeout);
        rd_kafka_consumer_group_metadata_destroy(md);
    }
    if (!e)
        e = rd_kafka_commit_transaction(c->txp, timeout);
    if (e && rd_kafka_error_is_retriable(e)) {
        rd_kafka_error_destroy(e);
        e = rd_kafka_commit_transaction(c->txp, timeout);
    }
    c->txn_open = 0;
    c->last_commit_us = vigil_mono_us();
    if (!e) {
        for (int i = 0; i < l->cnt; i++)
            for (size_t k = 0; k < c->nparts; k++)
                if (c->parts[k].partition == l->elems[i].partition &&
                    strcmp(c->parts[k].topic, l->elems[i].topic) == 0)
                    c->parts[k].txn_sent = l->elems[i].offset;
        c->dirty = 0;
        rd_kafka_topic_partition_list_destroy(l);
        return VIGIL_OK;
    }
    rd_kafka_topic_partition_list_destroy(l);
    vigil_error(KAFKA_STAGE, NULL, "group \"%s\": commit transaction: %s", c->group,
                rd_kafka_error_string(e));
    if (rd_kafka_error_txn_requires_abort(e)) {
        rd_kafka_error_t *a = rd_kafka_abort_transaction(c->txp, timeout);
        if (a) {
            vigil_error(KAFKA_STAGE, NULL, "group \"%s\": abort transaction: %s", c->group,
                        rd_kafka_error_string(a));
            rd_kafka_error_destroy(a);
        }
        rewind_all(c);
    } else if (rd_kafka_error_is_fatal(e)) {
        c->txn_fatal = 1;
    }
    rd_kafka_error_destroy(e);
    return VIGIL_ERR_BUS;
}

void kafka__txn_abort(kconsumer_t *c)
{
    rd_kafka_error_t *e;

    if (!c->txn_open)
        return;
    e = rd_kafka_abort_transaction(c->txp, c->bus->url.connect_timeout_ms);
    if (e) {
        vigil_warn(KAFKA_STAGE, NULL, "group \"%s\": abort transaction: %s", c->group,
                   rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    c->txn_open = 0;
    c->txn_tail = 0;
    rewind_all(c);
}

void kafka__txn_maybe_commit(kconsumer_t *c)
{
    if (c->txn_open && c->txn_tail == 0 && (c->txn_acks >= KAFKA_TXN_MAX_ACKS ||
                        vigil_mono_us() - c->txn_begin_us >= KAFKA_TXN_MAX_MS * 1000))
        kafka__txn_commit(c);
}

void kafka__txn_close(kconsumer_t *c, int abort)
{
    if (!c->txp)
        return;
    if (c->txn_open) {
        if (abort) {
            rd_kafka_error_t *e = rd_kafka_abort_transaction(c->txp, c->bus->url.connect_timeout_ms);
            if (e)
                rd_kafka_error_destroy(e);
            c->txn_open = 0;
        } else {
            kafka__txn_commit(c);
        }
    }
    rd_kafka_destroy(c->txp);
    c->txp = NULL;
}
