/* Kafka bus consumers: one librdkafka consumer handle per vigil consumer
 * (one group member), with at-least-once bookkeeping on top.
 *
 * Main idea:
 *  - Settings: enable.auto.offset.store=false (an offset is stored only when
 *    its message and every earlier one of the partition were acknowledged),
 *    enable.auto.commit=false: stored offsets are committed by this file —
 *    every second from poll, on vigil_consumer_commit, on revoke (rebalance
 *    callback), on close, and by drain. Manual commits let abandon leave
 *    without committing anything more. cooperative-sticky assignment,
 *    auto.offset.reset=earliest.
 *  - Per owned partition (kpart_t) a sorted list of the offsets handed out
 *    and not yet covered by the stored offset, each in flight, acked or
 *    released. ack marks acked and pops the acked prefix; the stored offset
 *    is one past the last popped, so a commit never passes an unacked
 *    message. release marks released and seeks the partition back to the
 *    smallest released offset; on the way back, offsets still in flight or
 *    already acked are skipped, released ones are handed out again, so the
 *    partition's order holds.
 *  - Each assignment of a partition gets a new epoch; a message remembers its
 *    epoch, and an ack/release of a message whose partition was revoked (or
 *    revoked and given back) since is ignored: the new owner redelivers it.
 *  - Group joins are asynchronous in Kafka, but the bus contract is that a
 *    member owns partitions once subscribe returns. kafka__group_settle
 *    polls every local member of the group (trylock: a member its owner is
 *    polling drives itself) until the local members own all partitions of
 *    the group's topics, or, with members in other processes, until no
 *    rebalance happened for 2 s (bounded by ?join_wait_ms). Messages fetched
 *    meanwhile wait in the member's `pending` list. close does the same for
 *    the members that remain, so they take over at once.
 *  - abandon leaves without committing (revoke callback does not commit),
 *    so the next owner restarts at the last committed offset.
 *
 * Thread: a consumer is used by one thread at a time (bus.h); its lock is
 * also taken (trylock) by settle in other threads. */
#include <stdlib.h>
#include <string.h>

#include "bus/kafka_int.h"
#include "vigil/clock.h"
#include "vigil/log.h"

/* --- partitions ------------------------------------------------------------------- */

static kpart_t *part_find(kconsumer_t *c, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i].partition == partition && strcmp(c->parts[i].topic, topic) == 0)
            return &c->parts[i];
    return NULL;
}

static void part_add(kconsumer_t *c, const char *topic, int32_t partition)
{
    kpart_t *p;

    if (part_find(c, topic, partition))
        return;
    if (c->nparts == c->capparts) {
        size_t cap = c->capparts ? c->capparts * 2 : 8;
        kpart_t *np = realloc(c->parts, cap * sizeof(*np));
        if (!np)
            return; /* out of memory: messages of it are dropped, redelivered later */
        c->parts = np;
        c->capparts = cap;
    }
    p = &c->parts[c->nparts];
    memset(p, 0, sizeof(*p));
    p->topic = strdup(topic);
    if (!p->topic)
        return;
    p->partition = partition;
    p->epoch = ++c->epochs;
    p->stored = -1;
    p->next = -1;
    p->txn_sent = -1;
    {
        char num[16];
        snprintf(num, sizeof(num), "%d", (int)partition);
        p->lag = vigil_metrics_gauge("vigil_consumer_lag",
                                     "Messages of a partition this process owns not yet handed "
                                     "to its consumer (Kafka, from cached watermarks).",
                                     "topic", topic, "partition", num);
    }
    c->nparts++;
}

static void msg_unlink(kmsg_t **head, kmsg_t **tail, kmsg_t *m)
{
    if (m->prev)
        m->prev->next = m->next;
    else
        *head = m->next;
    if (m->next)
        m->next->prev = m->prev;
    else if (tail)
        *tail = m->prev;
    m->prev = m->next = NULL;
}

static void msg_free(kmsg_t *m)
{
    rd_kafka_message_destroy(m->rkm);
    free(m);
}

/* Drops pending messages of (topic, partition), or of every partition if topic is NULL. */
void kafka__pending_purge(kconsumer_t *c, const char *topic, int32_t partition, int64_t from)
{
    kmsg_t *m = c->pending, *nx;

    for (; m; m = nx) {
        nx = m->next;
        if (!topic || (m->pub.partition == partition && strcmp(m->pub.topic, topic) == 0 &&
                       m->pub.offset >= from)) {
            msg_unlink(&c->pending, &c->pending_tail, m);
            msg_free(m);
        }
    }
}

static void part_remove(kconsumer_t *c, const char *topic, int32_t partition)
{
    kpart_t *p = part_find(c, topic, partition);

    kafka__pending_purge(c, topic, partition, 0);
    if (!p)
        return;
    if (p->lag)
        vigil_gauge_set(p->lag, 0);
    free(p->topic);
    free(p->e);
    *p = c->parts[--c->nparts];
}

/* Stores the committable offset of p (the acked prefix) in librdkafka. */
static void part_store(kconsumer_t *c, kpart_t *p)
{
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_resp_err_t err;

    if (p->stored < 0)
        return;
    if (c->txp) { /* exactly-once: the offsets go into the transaction */
        c->dirty = 1;
        return;
    }
    l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->stored;
    err = rd_kafka_offsets_store(c->rk, l);
    if (err)
        vigil_warn(KAFKA_STAGE, NULL, "group \"%s\": store offset %s[%d]@%lld: %s", c->group,
                   p->topic, (int)p->partition, (long long)p->stored, rd_kafka_err2str(err));
    else
        c->dirty = 1;
    rd_kafka_topic_partition_list_destroy(l);
}

static kentry_t *entry_find(kpart_t *p, int64_t offset)
{
    size_t lo = 0, hi = p->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->e[mid].offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->n && p->e[lo].offset == offset ? &p->e[lo] : NULL;
}

/* Records offset as handed out; 0 if it must not be handed out (in flight,
 * acked, or below the stored prefix). */
static int entry_deliver(kpart_t *p, int64_t offset)
{
    kentry_t *e = entry_find(p, offset);
    size_t at;

    if (e) {
        if (e->state != ST_RELEASED)
            return 0;
        e->state = ST_INFLIGHT;
        return 1;
    }
    if (p->stored >= 0 && offset < p->stored)
        return 0;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        kentry_t *ne = realloc(p->e, cap * sizeof(*ne));
        if (!ne)
            return 0;
        p->e = ne;
        p->cap = cap;
    }
    for (at = p->n; at > 0 && p->e[at - 1].offset > offset; at--)
        ;
    memmove(&p->e[at + 1], &p->e[at], (p->n - at) * sizeof(*p->e));
    p->e[at].offset = offset;
    p->e[at].state = ST_INFLIGHT;
    p->n++;
    return 1;
}

/* --- rebalance ------------------------------------------------------------------------ */

static void commit_stored(kconsumer_t *c, int async)
{
    rd_kafka_resp_err_t err;

    if (c->txp) {
        kafka__txn_commit(c);
        return;
    }
    if (!c->dirty)
        return;
    /* an input offset is committed only after the outputs published before
     * its ack were delivered: flush first (at-least-once, docs/kafka.md) */
    if (rd_kafka_flush(c->bus->producer, c->bus->url.connect_timeout_ms)) {
        vigil_warn(KAFKA_STAGE, NULL, "group \"%s\": outputs not delivered within %d ms: "
                   "commit postponed", c->group, c->bus->url.connect_timeout_ms);
        return;
    }
    err = rd_kafka_commit(c->rk, NULL, async);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        vigil_warn(KAFKA_STAGE, NULL, "group \"%s\": commit: %s", c->group, rd_kafka_err2str(err));
    else
        c->dirty = 0;
    c->last_commit_us = vigil_mono_us();
}

/* Tells the rebalance callback about the partitions it was not told of yet
 * (lock held). */
static void tell_assigned(kconsumer_t *c)
{
    if (!c->base.rebalance_cb)
        return;
    /* by index: the callback may not touch this consumer, so parts is stable */
    for (size_t i = 0; i < c->nparts; i++) {
        kpart_t *p = &c->parts[i];
        if (p->told)
            continue;
        p->told = 1;
        c->base.rebalance_cb(c->base.rebalance_opaque, &c->base, VIGIL_BUS_ASSIGNED, p->topic,
                             p->partition);
    }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    kconsumer_t *c = opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *e = NULL;

    c->last_rebalance_us = vigil_mono_us();
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++)
            part_add(c, parts->elems[i].topic, parts->elems[i].partition);
        tell_assigned(c); /* before any message of them is fetched */
        if (cooperative)
            e = rd_kafka_incremental_assign(rk, parts);
        else
            rd_kafka_assign(rk, parts);
        c->assign_events++;
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        /* the callback first: whatever the member does for these partitions
         * stops before they are released to the group */
        for (int i = 0; c->base.rebalance_cb && i < parts->cnt; i++) {
            kpart_t *p = part_find(c, parts->elems[i].topic, parts->elems[i].partition);
            if (!p || !p->told)
                continue;
            p->told = 0;
            c->base.rebalance_cb(c->base.rebalance_opaque, &c->base, VIGIL_BUS_REVOKED, p->topic,
                                 p->partition);
        }
        if (!c->abandoning && !rd_kafka_assignment_lost(rk))
            commit_stored(c, 0);
        else if (c->txp && c->txn_open) /* cannot commit for partitions it lost */
            kafka__txn_abort(c);
        for (int i = 0; i < parts->cnt; i++)
            part_remove(c, parts->elems[i].topic, parts->elems[i].partition);
        if (cooperative)
            e = rd_kafka_incremental_unassign(rk, parts);
        else
            rd_kafka_assign(rk, NULL);
    } else {
        vigil_warn(KAFKA_STAGE, NULL, "group \"%s\": rebalance: %s", c->group,
                   rd_kafka_err2str(err));
        rd_kafka_assign(rk, NULL);
    }
    if (e) {
        vigil_warn(KAFKA_STAGE, NULL, "group \"%s\": (un)assign: %s", c->group,
                   rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

/* --- fetching ------------------------------------------------------------------------- */

/* Turns a fetched message into a kmsg_t (NULL: error event or dropped). */
static kmsg_t *wrap(kconsumer_t *c, rd_kafka_message_t *rkm)
{
    kmsg_t *m;
    const void *ts = NULL;
    size_t tslen = 0;
    rd_kafka_headers_t *hdrs = NULL;

    if (rkm->err) {
        if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            vigil_warn(KAFKA_STAGE, NULL, "group \"%s\": consume: %s", c->group,
                       rd_kafka_message_errstr(rkm));
        rd_kafka_message_destroy(rkm);
        return NULL;
    }
    m = calloc(1, sizeof(*m));
    if (!m) {
        rd_kafka_message_destroy(rkm);
        return NULL;
    }
    m->rkm = rkm;
    m->pub.topic = rd_kafka_topic_name(rkm->rkt);
    m->pub.partition = rkm->partition;
    m->pub.offset = rkm->offset;
    m->pub.key = rkm->key;
    m->pub.key_len = rkm->key_len;
    m->pub.value = rkm->payload;
    m->pub.value_len = rkm->len;
    m->pub.timestamp_us = rd_kafka_message_timestamp(rkm, NULL) * 1000;
    if (rd_kafka_message_headers(rkm, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(hdrs, KAFKA_TS_HEADER, &ts, &tslen) ==
            RD_KAFKA_RESP_ERR_NO_ERROR &&
        tslen == 8) {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
            v = v << 8 | ((const unsigned char *)ts)[i];
        m->pub.timestamp_us = (int64_t)v;
    }
    return m;
}

/* One librdkafka poll of c (lock held); a message goes to c->pending. */
static void fetch(kconsumer_t *c, int timeout_ms)
{
    rd_kafka_message_t *rkm = rd_kafka_consumer_poll(c->rk, timeout_ms);
    kmsg_t *m;

    if (!rkm || !(m = wrap(c, rkm)))
        return;
    m->prev = c->pending_tail;
    if (c->pending_tail)
        c->pending_tail->next = m;
    else
        c->pending = m;
    c->pending_tail = m;
}

/* Takes the first pending message that may be handed out (lock held). */
static kmsg_t *take(kconsumer_t *c)
{
    kmsg_t *m;

    while ((m = c->pending)) {
        kpart_t *p = part_find(c, m->pub.topic, m->pub.partition);
        msg_unlink(&c->pending, &c->pending_tail, m);
        if (p && entry_deliver(p, m->pub.offset)) {
            m->epoch = p->epoch;
            p->next = m->pub.offset + 1;
            m->next = c->held;
            if (c->held)
                c->held->prev = m;
            c->held = m;
            return m;
        }
        msg_free(m);
    }
    return NULL;
}

/* The next offset p will hand out: its own record, else the group's
 * committed offset, else the low watermark. -1 if unknown. */
static int64_t part_position(kconsumer_t *c, kpart_t *p)
{
    rd_kafka_topic_partition_list_t *l;
    int64_t lo = -1, hi = -1;

    if (p->next >= 0)
        return p->next;
    l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
    if (rd_kafka_committed(c->rk, l, c->bus->url.connect_timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        l->elems[0].err == RD_KAFKA_RESP_ERR_NO_ERROR && l->elems[0].offset >= 0)
        p->next = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    if (p->next < 0 && rd_kafka_query_watermark_offsets(c->rk, p->topic, p->partition, &lo, &hi,
                                                        c->bus->url.connect_timeout_ms) == 0)
        p->next = lo;
    return p->next;
}

/* Messages in c's partitions not yet handed out; -1 if unknown (lock held). */
static int64_t lag_locked(kconsumer_t *c)
{
    int64_t lag = 0;

    for (size_t i = 0; i < c->nparts; i++) {
        kpart_t *p = &c->parts[i];
        int64_t lo, hi, pos;
        if (rd_kafka_query_watermark_offsets(c->rk, p->topic, p->partition, &lo, &hi,
                                             c->bus->url.connect_timeout_ms))
            return -1;
        pos = part_position(c, p);
        if (pos < 0)
            return -1;
        if (pos < lo)
            pos = lo;
        if (hi > pos)
            lag += hi - pos;
        for (size_t j = 0; j < p->n; j++) /* released, waiting to be redelivered */
            if (p->e[j].state == ST_RELEASED && p->e[j].offset < pos)
                lag++;
    }
    return lag;
}

/* --- group settling ----------------------------------------------------------------- */

/* Whether the local members of group own their partitions (bus lock held). */
static int group_settled(kbus_t *bus, const char *group, kconsumer_t *self, int64_t now)
{
    int members = 0, total = 0, owned = 0, empty = 0;
    int64_t last = 0;

    for (kconsumer_t *m = bus->consumers; m; m = m->next) {
        if (strcmp(m->group, group) != 0)
            continue;
        members++;
        if (m->assign_events == 0)
            return 0;
        owned += (int)m->nparts;
        empty += m->nparts == 0;
        if (m->last_rebalance_us > last)
            last = m->last_rebalance_us;
    }
    for (kgroupref_t *g = bus->groups; g; g = g->next) {
        if (strcmp(g->group, group) != 0)
            continue;
        for (ktopic_t *t = bus->topics; t; t = t->next)
            if (strcmp(t->name, g->topic) == 0)
                total += t->partitions;
    }
    if (self && self->assign_events == 0)
        return 0;
    if (members == 0)
        return 1;
    if (owned == total && (members > total || empty == 0))
        return 1;
    /* members elsewhere own the rest: settled once rebalancing stopped */
    return owned < total && now - last >= 2000000;
}

static void group_settle(kbus_t *bus, const char *group, kconsumer_t *self, int wait_ms)
{
    int64_t deadline = vigil_mono_us() + (int64_t)wait_ms * 1000;

    for (;;) {
        int polled = 0, done;

        pthread_mutex_lock(&bus->lock);
        for (kconsumer_t *m = bus->consumers; m; m = m->next) {
            if (strcmp(m->group, group) != 0 || pthread_mutex_trylock(&m->lock) != 0)
                continue;
            fetch(m, 10);
            pthread_mutex_unlock(&m->lock);
            polled++;
        }
        done = group_settled(bus, group, self, vigil_mono_us());
        pthread_mutex_unlock(&bus->lock);
        if (done)
            return;
        if (vigil_mono_us() >= deadline) {
            vigil_warn(KAFKA_STAGE, NULL, "group \"%s\": partitions not settled after %d ms",
                       group, wait_ms);
            return;
        }
        if (!polled)
            vigil_sleep_us(10000);
    }
}

/* --- subscribe ------------------------------------------------------------------------ */


static int add_groupref(kbus_t *bus, const char *group, const char *topic)
{
    kgroupref_t *g;

    for (g = bus->groups; g; g = g->next)
        if (strcmp(g->group, group) == 0 && strcmp(g->topic, topic) == 0)
            return 0;
    g = calloc(1, sizeof(*g));
    if (!g || !(g->group = strdup(group)) || !(g->topic = strdup(topic))) {
        if (g)
            free(g->group);
        free(g);
        return -1;
    }
    g->next = bus->groups;
    bus->groups = g;
    return 0;
}

vigil_consumer_t *kafka__subscribe(vigil_bus_t *b, const char *group, const char *const *topics,
                                   size_t ntopics, char *errstr, size_t errstr_size)
{
    kbus_t *bus = (kbus_t *)b;
    kconsumer_t *c = NULL;
    rd_kafka_conf_t *kc = NULL;
    rd_kafka_topic_partition_list_t *sub = NULL;
    rd_kafka_resp_err_t rerr;
    char buf[512], num[32];

    for (size_t i = 0; i < ntopics; i++)
        if (!kafka__topic(bus, topics[i], errstr, errstr_size))
            return NULL;
    c = calloc(1, sizeof(*c));
    if (!c || !(c->group = strdup(group))) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "group \"%s\": out of memory", group);
        goto fail;
    }
    c->base.ops = &kafka__ops;
    c->bus = bus;
    pthread_mutex_init(&c->lock, NULL);
    kc = rd_kafka_conf_new();
    snprintf(num, sizeof(num), "%d", bus->url.session_timeout_ms);
    if (vigil__kafka_conf_set(kc, "bootstrap.servers", bus->url.brokers, errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "client.id", bus->client_id, errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "group.id", group, errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "enable.auto.commit", "false", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "enable.auto.offset.store", "false", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "auto.offset.reset", "earliest", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "partition.assignment.strategy", "cooperative-sticky", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "session.timeout.ms", num, errstr, errstr_size))
        goto fail;
    snprintf(num, sizeof(num), "%d", bus->url.session_timeout_ms / 10 > 100
                                         ? bus->url.session_timeout_ms / 10 : 100);
    if (vigil__kafka_conf_set(kc, "heartbeat.interval.ms", num, errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "fetch.wait.max.ms", "100", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "fetch.max.bytes", "52428800", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "max.partition.fetch.bytes", "4194304", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "queued.max.messages.kbytes", "16384", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "isolation.level", "read_committed", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "socket.connection.setup.timeout.ms", "5000", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "topic.metadata.refresh.interval.ms", "2000", errstr, errstr_size))
        goto fail;
    rd_kafka_conf_set_opaque(kc, c);
    rd_kafka_conf_set_rebalance_cb(kc, on_rebalance);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, buf, sizeof(buf));
    if (!c->rk) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_BUS, "group \"%s\": %s", group, buf);
        goto fail;
    }
    kc = NULL;
    rd_kafka_poll_set_consumer(c->rk);
    /* the group leader assigns only topics its metadata knows: make this
     * handle see every topic (just created by the bus) before joining */
    for (size_t i = 0; i < ntopics; i++) {
        int64_t until = vigil_mono_us() + (int64_t)bus->url.connect_timeout_ms * 1000;
        int n;
        while ((n = kafka__partition_count(c->rk, topics[i], bus->url.connect_timeout_ms, errstr,
                                           errstr_size)) == 0 &&
               vigil_mono_us() < until)
            vigil_sleep_us(20000);
        if (n <= 0) {
            if (n == 0)
                vigil_seterr(errstr, errstr_size, VIGIL_ERR_TIMED_OUT,
                             "group \"%s\": topic \"%s\" not visible within %d ms", group,
                             topics[i], bus->url.connect_timeout_ms);
            goto fail;
        }
    }
    sub = rd_kafka_topic_partition_list_new((int)ntopics);
    for (size_t i = 0; i < ntopics; i++)
        rd_kafka_topic_partition_list_add(sub, topics[i], RD_KAFKA_PARTITION_UA);
    rerr = rd_kafka_subscribe(c->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (rerr) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_BUS, "group \"%s\": subscribe: %s", group,
                     rd_kafka_err2str(rerr));
        goto fail;
    }
    c->last_commit_us = vigil_mono_us();
    if (bus->conf.delivery == VIGIL_BUS_EXACTLY_ONCE && kafka__txn_init(c, errstr, errstr_size))
        goto fail;
    pthread_mutex_lock(&bus->lock);
    for (size_t i = 0; i < ntopics; i++)
        if (add_groupref(bus, group, topics[i])) {
            pthread_mutex_unlock(&bus->lock);
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "group \"%s\": out of memory",
                         group);
            goto fail;
        }
    c->next = bus->consumers;
    bus->consumers = c;
    pthread_mutex_unlock(&bus->lock);
    group_settle(bus, group, c, bus->url.join_wait_ms);
    return &c->base;
fail:
    if (kc)
        rd_kafka_conf_destroy(kc);
    if (c) {
        if (c->rk) {
            rd_kafka_consumer_close(c->rk);
            rd_kafka_destroy(c->rk);
        }
        kafka__txn_close(c, 1);
        pthread_mutex_destroy(&c->lock);
        free(c->group);
        free(c);
    }
    return NULL;
}

void kafka__commit_group(kbus_t *bus, const char *group)
{
    for (kconsumer_t *c = bus->consumers; c; c = c->next)
        if (strcmp(c->group, group) == 0 && !c->txp) { /* transactions commit from poll */
            /* rd_kafka_commit is thread-safe; the member stays alive while
             * the bus lock is held (leave unlinks it under that lock first) */
            rd_kafka_resp_err_t err = rd_kafka_commit(c->rk, NULL, 0);
            if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
                vigil_warn(KAFKA_STAGE, NULL, "group \"%s\": commit: %s", group,
                           rd_kafka_err2str(err));
        }
}

/* --- consumer operations ------------------------------------------------------------- */

static int64_t fetch_position(kconsumer_t *c, kpart_t *p);

/* Moves the stored offset of every idle partition past transaction markers
 * (lock held). A transactional producer's commit marker occupies an offset
 * after its last message, and read_committed consumers never see it, so
 * the acked prefix would stop one below the high watermark and drain would
 * wait forever. When a partition has nothing in flight, nothing released
 * and nothing pending, librdkafka's position (one past the last record it
 * consumed, markers included) is safe to store. At most 5 looks a second. */
static void skip_markers(kconsumer_t *c)
{
    int64_t now = vigil_mono_us();

    if (now - c->last_marker_check_us < 200000)
        return;
    c->last_marker_check_us = now;
    for (size_t i = 0; i < c->nparts; i++) {
        kpart_t *p = &c->parts[i];
        int has_pending = 0;
        int64_t pos;

        if (p->n > 0 || (p->stored < 0 && p->next < 0))
            continue;
        for (kmsg_t *m = c->pending; m && !has_pending; m = m->next)
            has_pending = m->pub.partition == p->partition && strcmp(m->pub.topic, p->topic) == 0;
        if (has_pending || (pos = fetch_position(c, p)) < 0 || pos <= p->stored ||
            pos <= p->next)
            continue;
        p->stored = p->next = pos;
        if (c->txp && kafka__txn_begin(c) == VIGIL_OK)
            c->txn_acks++; /* an offsets-only transaction, committed by maybe_commit */
        part_store(c, p);
    }
}

/* Whether c has handed out everything in its partitions (closed bus). */
static int caught_up(kconsumer_t *c)
{
    return !c->pending && lag_locked(c) == 0;
}

vigil_err_t kafka__poll(vigil_consumer_t *consumer, vigil_bus_msg_t **msg, int timeout_ms)
{
    kconsumer_t *c = (kconsumer_t *)consumer;
    int64_t deadline = vigil_mono_us() + (int64_t)timeout_ms * 1000;
    vigil_err_t ret = VIGIL_ERR_TIMED_OUT;
    kmsg_t *m;

    pthread_mutex_lock(&c->lock);
    for (;;) {
        int64_t left;
        tell_assigned(c);
        if ((m = take(c))) {
            *msg = &m->pub;
            ret = VIGIL_OK;
            break;
        }
        if (atomic_load(&c->bus->closed)) {
            fetch(c, 0);
            if ((m = take(c))) {
                *msg = &m->pub;
                ret = VIGIL_OK;
                break;
            }
            if (caught_up(c)) {
                ret = VIGIL_ERR_CLOSED;
                break;
            }
        }
        skip_markers(c);
        if (c->txp)
            kafka__txn_maybe_commit(c);
        else if (c->dirty && vigil_mono_us() - c->last_commit_us >= 1000000)
            commit_stored(c, 1);
        left = timeout_ms < 0 ? 100 : (deadline - vigil_mono_us()) / 1000;
        fetch(c, left > 100 ? 100 : left > 0 ? (int)left : 0);
        if (!c->pending && timeout_ms >= 0 && vigil_mono_us() >= deadline)
            break;
    }
    pthread_mutex_unlock(&c->lock);
    return ret;
}

/* Finds the partition state of m if m is still from its current assignment. */
static kpart_t *owner_part(kconsumer_t *c, kmsg_t *m)
{
    kpart_t *p = part_find(c, m->pub.topic, m->pub.partition);
    return p && p->epoch == m->epoch ? p : NULL;
}

vigil_err_t kafka__ack(vigil_consumer_t *consumer, vigil_bus_msg_t *msg)
{
    kconsumer_t *c = (kconsumer_t *)consumer;
    kmsg_t *m = (kmsg_t *)msg;
    kpart_t *p;
    kentry_t *e;

    pthread_mutex_lock(&c->lock);
    p = owner_part(c, m);
    if (p && (e = entry_find(p, m->pub.offset)) && e->state == ST_INFLIGHT) {
        size_t k = 0;
        e->state = ST_ACKED;
        while (k < p->n && p->e[k].state == ST_ACKED)
            k++;
        if (k > 0) {
            p->stored = p->e[k - 1].offset + 1;
            memmove(p->e, p->e + k, (p->n - k) * sizeof(*p->e));
            p->n -= k;
            part_store(c, p);
        }
        if (c->txp && kafka__txn_begin(c) == VIGIL_OK) {
            c->txn_acks++;
            c->txn_tail = 0;
            kafka__txn_maybe_commit(c);
        }
    }
    /* else: the partition moved to another member, which will deliver it again */
    msg_unlink(&c->held, NULL, m);
    msg_free(m);
    pthread_mutex_unlock(&c->lock);
    return VIGIL_OK;
}

void kafka__release(vigil_consumer_t *consumer, vigil_bus_msg_t *msg)
{
    kconsumer_t *c = (kconsumer_t *)consumer;
    kmsg_t *m = (kmsg_t *)msg;
    kpart_t *p;
    kentry_t *e;

    pthread_mutex_lock(&c->lock);
    p = owner_part(c, m);
    if (p && (e = entry_find(p, m->pub.offset)) && e->state == ST_INFLIGHT) {
        int64_t to = m->pub.offset;
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_error_t *err;

        e->state = ST_RELEASED;
        for (size_t i = 0; i < p->n; i++)
            if (p->e[i].state == ST_RELEASED && p->e[i].offset < to)
                to = p->e[i].offset;
        kafka__pending_purge(c, p->topic, p->partition, to);
        rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = to;
        err = rd_kafka_seek_partitions(c->rk, l, c->bus->url.connect_timeout_ms);
        if (err || l->elems[0].err)
            vigil_warn(KAFKA_STAGE, NULL, "group \"%s\": seek %s[%d] to %lld: %s", c->group,
                       p->topic, (int)p->partition, (long long)to,
                       err ? rd_kafka_error_string(err) : rd_kafka_err2str(l->elems[0].err));
        if (err)
            rd_kafka_error_destroy(err);
        rd_kafka_topic_partition_list_destroy(l);
        p->next = to;
    }
    msg_unlink(&c->held, NULL, m);
    msg_free(m);
    pthread_mutex_unlock(&c->lock);
}

vigil_err_t kafka__commit(vigil_consumer_t *consumer)
{
    kconsumer_t *c = (kconsumer_t *)consumer;
    rd_kafka_resp_err_t err;

    pthread_mutex_lock(&c->lock);
    if (c->txp) {
        vigil_err_t verr = kafka__txn_commit(c);
        pthread_mutex_unlock(&c->lock);
        return verr;
    }
    if (rd_kafka_flush(c->bus->producer, c->bus->url.connect_timeout_ms))
        err = RD_KAFKA_RESP_ERR__TIMED_OUT; /* outputs first (see commit_stored) */
    else
        err = rd_kafka_commit(c->rk, NULL, 0);
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!err)
        c->dirty = 0;
    c->last_commit_us = vigil_mono_us();
    pthread_mutex_unlock(&c->lock);
    if (err) {
        vigil_warn(KAFKA_STAGE, NULL, "group \"%s\": commit: %s", c->group, rd_kafka_err2str(err));
        return VIGIL_ERR_BUS;
    }
    return VIGIL_OK;
}

int64_t kafka__lag(vigil_consumer_t *consumer)
{
    kconsumer_t *c = (kconsumer_t *)consumer;
    int64_t lag;

    /* count what this process published too, not only what reached the log */
    kafka__flush_quiet(c->bus, c->bus->url.connect_timeout_ms);
    pthread_mutex_lock(&c->lock);
    lag = lag_locked(c);
    pthread_mutex_unlock(&c->lock);
    return lag;
}

void kafka__set_rebalance_cb(vigil_consumer_t *consumer, vigil_bus_rebalance_fn cb, void *opaque)
{
    kconsumer_t *c = (kconsumer_t *)consumer;

    pthread_mutex_lock(&c->lock);
    c->base.rebalance_cb = cb;
    c->base.rebalance_opaque = opaque;
    for (size_t i = 0; i < c->nparts; i++)
        c->parts[i].told = 0; /* the next poll reports what it owns */
    pthread_mutex_unlock(&c->lock);
}

void kafka__leave(vigil_consumer_t *consumer, int abandon)
{
    kconsumer_t *c = (kconsumer_t *)consumer;
    kbus_t *bus = c->bus;
    int others = 0;

    pthread_mutex_lock(&c->lock);
    c->base.rebalance_cb = NULL; /* close does not report (bus.h) */
    pthread_mutex_unlock(&c->lock);

    pthread_mutex_lock(&bus->lock);
    for (kconsumer_t **pp = &bus->consumers; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    for (kconsumer_t *m = bus->consumers; m; m = m->next)
        others += strcmp(m->group, c->group) == 0;
    pthread_mutex_unlock(&bus->lock);

    pthread_mutex_lock(&c->lock);
    while (c->held) {
        kmsg_t *m = c->held;
        msg_unlink(&c->held, NULL, m);
        msg_free(m);
    }
    kafka__pending_purge(c, NULL, 0, 0);
    c->abandoning = abandon;
    if (abandon)
        kafka__txn_close(c, 1); /* as if it died: its transaction is aborted */
    else
        commit_stored(c, 0);
    rd_kafka_consumer_close(c->rk); /* revoke callback: commits unless abandoning */
    rd_kafka_destroy(c->rk);
    kafka__txn_close(c, 0);
    while (c->nparts)
        part_remove(c, c->parts[0].topic, c->parts[0].partition);
    pthread_mutex_unlock(&c->lock);
    if (others)
        group_settle(bus, c->group, NULL, bus->url.join_wait_ms);
    pthread_mutex_destroy(&c->lock);
    free(c->parts);
    free(c->group);
    free(c);
}

vigil_err_t kafka__consumer_publish(vigil_consumer_t *consumer, const char *topic,
                                    const void *key, size_t key_len, const void *value,
                                    size_t value_len, int timeout_ms)
{
    kconsumer_t *c = (kconsumer_t *)consumer;
    vigil_err_t err;

    if (!c->txp)
        return kafka__produce(c->bus, c->bus->producer, 1, topic, key, key_len, value, value_len,
                              timeout_ms);
    pthread_mutex_lock(&c->lock);
    err = kafka__txn_begin(c);
    if (err == VIGIL_OK)
        err = kafka__produce(c->bus, c->txp, 0, topic, key, key_len, value, value_len,
                             timeout_ms);
    if (err == VIGIL_OK)
        c->txn_tail++;
    pthread_mutex_unlock(&c->lock);
    return err;
}

/* The fetch position librdkafka holds for p (past control records of
 * transactions); -1 if unknown. */
static int64_t fetch_position(kconsumer_t *c, kpart_t *p)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    int64_t pos = -1;

    rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
    if (rd_kafka_position(c->rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR && l->elems[0].offset >= 0)
        pos = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    return pos;
}

int64_t kafka__report_lag(vigil_consumer_t *consumer)
{
    kconsumer_t *c = (kconsumer_t *)consumer;
    int64_t total = 0;

    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nparts; i++) {
        kpart_t *p = &c->parts[i];
        int64_t lo = -1, hi = -1, pos = p->next, fpos;
        int has_pending = 0;

        /* cached by fetch responses: no round trip */
        if (rd_kafka_get_watermark_offsets(c->rk, p->topic, p->partition, &lo, &hi) || hi < 0)
            continue;
        for (kmsg_t *m = c->pending; m && !has_pending; m = m->next)
            has_pending = m->pub.partition == p->partition && strcmp(m->pub.topic, p->topic) == 0;
        fpos = fetch_position(c, p);
        if (pos < 0 || (!has_pending && fpos > pos))
            pos = fpos; /* caught up: skips a transaction's commit marker */
        if (pos < 0)
            continue;
        if (pos < lo)
            pos = lo;
        if (p->lag)
            vigil_gauge_set(p->lag, hi > pos ? hi - pos : 0);
        total += hi > pos ? hi - pos : 0;
    }
    pthread_mutex_unlock(&c->lock);
    return total;
}
