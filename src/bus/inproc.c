/* The in-process bus ("inproc://[NAME]"): Kafka's model (topics, partitions,
 * consumer groups, committed offsets) on bounded in-memory logs, for running
 * every stage in one process.
 *
 * Main idea:
 *  - A topic is created on first publish or subscribe (no topic admin) with
 *    conf.partitions partitions. A partition is a ring of at most
 *    conf.capacity retained messages with increasing offsets [start, end).
 *  - A message is retained until every group subscribed to its topic has
 *    committed past it: start = min over those groups of their committed
 *    offset. A publish to a full partition waits on the partition's `space`
 *    condvar up to its timeout, then fails with VIGIL_ERR_FULL (backpressure).
 *    A topic no group has ever subscribed to instead drops its oldest message
 *    (counted in vigil_bus_dropped_total{topic}), like size-based retention.
 *  - A group keeps, per partition of its topics (a gpart), the committed
 *    offset, the owner member, the owner's fetch position and a state per
 *    retained offset (new, in flight, acked), indexed offset % capacity: the
 *    offsets that matter are [committed, end) and end <= start + capacity
 *    <= committed + capacity, so the slots never collide.
 *  - Members joining or leaving reassign the group's partitions round-robin
 *    over the list sorted by (topic, partition), each partition going to a
 *    member subscribed to its topic. A partition whose owner changes restarts
 *    at the committed offset with in-flight states cleared, so what the old
 *    owner had not acknowledged is delivered again (at-least-once).
 *  - poll hands out the next new offset of an owned partition, taking the
 *    partitions in turn (fairness) and each in offset order; it waits on the
 *    member's `data` condvar. ack marks the offset acked and commits at once:
 *    the committed offset advances over the contiguous acked prefix, an
 *    out-of-order ack waits for the gap to fill (and the acked offset is not
 *    delivered again to a later owner). release marks it new again and
 *    rewinds the fetch position to it so the partition's order is kept.
 *    Because ack commits at once, vigil_consumer_commit is a no-op and
 *    abandon differs from close only in name.
 *  - A new group starts at the earliest retained offset.
 *  - A message handed out is a `delivery` pointing at a reference-counted
 *    entry (one allocation: header, key, value), so trimming the log never
 *    frees data a consumer still holds. Messages a member still holds when it
 *    leaves are freed with it.
 *  - NAME in the URL only labels the bus in logs: every vigil_bus_new makes an
 *    independent bus.
 *
 * Files: this one holds topics, partition logs, publish, drain, close;
 * inproc_group.c the consumer side (groups, assignment, poll, ack, release);
 * inproc_int.h the types both share.
 *
 * Locking: one mutex per bus guards everything (topics, groups, members,
 * entry reference counts); condvars: per partition `space` (publishers), per
 * member `data` (pollers), per bus `progress` (drain). Metric updates are
 * lock-free atomics, registration happens under the bus mutex. Metric
 * pointers are looked up when a topic is created, so vigil_metrics_reset()
 * (tests only) must not run while a bus is open.
 * Out of memory: the call fails with VIGIL_ERR_NOMEM / NULL; state stays
 * consistent (a topic or group created before the failure remains, empty). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bus/inproc_int.h"
#include "vigil/clock.h"
#include "vigil/log.h"

/* --- topics and the log ---------------------------------------------------- */

static void topic_free(bus_t *bus, topic_t *t)
{
    if (!t)
        return;
    for (int p = 0; t->parts && p < bus->partitions; p++) {
        part_t *part = &t->parts[p];
        if (part->ring) {
            for (int64_t o = part->start; o < part->end; o++)
                entry_unref(part->ring[o % bus->capacity]);
            free(part->ring);
            pthread_cond_destroy(&part->space);
        }
    }
    free(t->parts);
    free(t->name);
    free(t);
}

/* The topic named `name`, created if `create`. NULL if absent or out of
 * memory. Locks: bus->mu held. */
topic_t *vigil__inproc_topic_get(bus_t *bus, const char *name, int create)
{
    topic_t *t;

    for (t = bus->topics; t; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t;
    if (!create)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->name = strdup(name);
    t->parts = calloc((size_t)bus->partitions, sizeof(*t->parts));
    if (!t->name || !t->parts)
        goto fail;
    for (int p = 0; p < bus->partitions; p++) {
        t->parts[p].ring = calloc((size_t)bus->capacity, sizeof(entry_t *));
        if (!t->parts[p].ring)
            goto fail;
        pthread_cond_init(&t->parts[p].space, NULL);
    }
    t->published = vigil_metrics_counter("vigil_bus_published_total",
                                         "Messages published to the bus", "topic", name, NULL,
                                         NULL);
    t->delivered = vigil_metrics_counter("vigil_bus_delivered_total",
                                         "Messages handed to consumers (redeliveries included)",
                                         "topic", name, NULL, NULL);
    t->dropped = vigil_metrics_counter("vigil_bus_dropped_total",
                                       "Messages dropped from topics no group subscribes to",
                                       "topic", name, NULL, NULL);
    t->depth = vigil_metrics_gauge("vigil_bus_queue_depth", "Messages retained by the bus",
                                   "topic", name, NULL, NULL);
    t->next = bus->topics;
    bus->topics = t;
    return t;
fail:
    topic_free(bus, t);
    return NULL;
}


/* Frees the messages every group of the partition has committed and wakes
 * publishers if space was made. Locks: bus->mu held. */
static void part_trim(bus_t *bus, topic_t *t, part_t *part)
{
    int64_t low = part->end, n = 0;

    if (!part->gparts)
        return;
    for (gpart_t *gp = part->gparts; gp; gp = gp->next_in_part)
        if (gp->committed < low)
            low = gp->committed;
    while (part->start < low) {
        entry_t **slot = &part->ring[part->start % bus->capacity];
        entry_unref(*slot);
        *slot = NULL;
        part->start++;
        n++;
    }
    if (n) {
        gauge_add(t->depth, -n);
        pthread_cond_broadcast(&part->space);
    }
}

/* Advances the committed offset over the acked prefix. Locks: bus->mu held. */
void vigil__inproc_gpart_commit(bus_t *bus, gpart_t *gp)
{
    part_t *part = &gp->topic->parts[gp->partition];
    int64_t before = gp->committed;

    while (gp->committed < part->end && *state_at(bus, gp, gp->committed) == ST_ACKED) {
        *state_at(bus, gp, gp->committed) = ST_NEW;
        gp->committed++;
    }
    if (gp->committed != before) {
        part_trim(bus, gp->topic, part);
        pthread_cond_broadcast(&bus->progress);
    }
}

static vigil_err_t inproc_publish(vigil_bus_t *b, const char *topic, const void *key,
                                  size_t key_len, const void *value, size_t value_len,
                                  int timeout_ms)
{
    bus_t *bus = (bus_t *)b;
    entry_t *e = malloc(sizeof(*e) + key_len + value_len);
    struct timespec deadline = {0};
    vigil_err_t err = VIGIL_OK;
    int expired = 0;
    topic_t *t;
    part_t *part;

    if (!e)
        return VIGIL_ERR_NOMEM;
    e->refs = 1;
    e->key_len = key_len;
    e->value_len = value_len;
    e->timestamp_us = vigil_now_us();
    if (key_len)
        memcpy(e->data, key, key_len);
    if (value_len)
        memcpy(e->data + key_len, value, value_len);
    if (timeout_ms > 0)
        deadline = vigil_deadline_ms(timeout_ms);

    pthread_mutex_lock(&bus->mu);
    if (bus->closed) {
        err = VIGIL_ERR_CLOSED;
        goto out;
    }
    t = vigil__inproc_topic_get(bus, topic, 1);
    if (!t) {
        err = VIGIL_ERR_NOMEM;
        goto out;
    }
    part = &t->parts[vigil_bus_partition_for(key, key_len, bus->partitions)];
    while (part->end - part->start >= bus->capacity) {
        if (!t->subscribed) {
            /* nobody will ever read it: keep the newest `capacity` */
            entry_t **slot = &part->ring[part->start % bus->capacity];
            entry_unref(*slot);
            *slot = NULL;
            part->start++;
            gauge_add(t->depth, -1);
            counter_add(t->dropped, 1);
            break;
        }
        if (bus->closed) {
            err = VIGIL_ERR_CLOSED;
            goto out;
        }
        if (timeout_ms == 0 || expired) {
            err = VIGIL_ERR_FULL;
            goto out;
        }
        expired = cond_wait(&part->space, &bus->mu, timeout_ms, &deadline);
    }
    e->offset = part->end;
    part->ring[part->end % bus->capacity] = e;
    part->end++;
    e = NULL;
    counter_add(t->published, 1);
    gauge_add(t->depth, 1);
    for (gpart_t *gp = part->gparts; gp; gp = gp->next_in_part)
        if (gp->owner)
            pthread_cond_signal(&gp->owner->data);
out:
    pthread_mutex_unlock(&bus->mu);
    free(e);
    return err;
}

static vigil_err_t inproc_flush(vigil_bus_t *b, int timeout_ms)
{
    return VIGIL_OK; /* publish is synchronous: nothing is ever in flight */
}

/* Whether every group of t has committed up to target[p] in every partition.
 * Locks: bus->mu held. */
static int topic_drained(bus_t *bus, topic_t *t, const int64_t *target)
{
    for (int p = 0; p < bus->partitions; p++)
        for (gpart_t *gp = t->parts[p].gparts; gp; gp = gp->next_in_part)
            if (gp->committed < target[p])
                return 0;
    return 1;
}

static vigil_err_t inproc_drain(vigil_bus_t *b, const char *topic, int timeout_ms)
{
    bus_t *bus = (bus_t *)b;
    int64_t *target = malloc((size_t)bus->partitions * sizeof(*target));
    struct timespec deadline = {0};
    vigil_err_t err = VIGIL_OK;
    int expired = 0;
    topic_t *t;

    if (!target)
        return VIGIL_ERR_NOMEM;
    if (timeout_ms > 0)
        deadline = vigil_deadline_ms(timeout_ms);
    pthread_mutex_lock(&bus->mu);
    t = vigil__inproc_topic_get(bus, topic, 0);
    if (!t)
        goto out; /* never published to nor subscribed: nothing to wait for */
    for (int p = 0; p < bus->partitions; p++)
        target[p] = t->parts[p].end;
    while (!topic_drained(bus, t, target)) {
        if (timeout_ms == 0 || expired) {
            err = VIGIL_ERR_TIMED_OUT;
            goto out;
        }
        expired = cond_wait(&bus->progress, &bus->mu, timeout_ms, &deadline);
    }
out:
    pthread_mutex_unlock(&bus->mu);
    free(target);
    return err;
}

static void inproc_close(vigil_bus_t *b)
{
    bus_t *bus = (bus_t *)b;

    pthread_mutex_lock(&bus->mu);
    bus->closed = 1;
    for (topic_t *t = bus->topics; t; t = t->next)
        for (int p = 0; p < bus->partitions; p++)
            pthread_cond_broadcast(&t->parts[p].space);
    for (group_t *g = bus->groups; g; g = g->next)
        for (consumer_t *c = g->members; c; c = c->next_member)
            pthread_cond_broadcast(&c->data);
    pthread_cond_broadcast(&bus->progress);
    pthread_mutex_unlock(&bus->mu);
}

static void inproc_free(vigil_bus_t *b)
{
    bus_t *bus = (bus_t *)b;

    while (bus->groups) {
        group_t *g = bus->groups;
        if (g->members)
            vigil_error("bus", NULL, "bus \"%s\" freed while group \"%s\" has members (leaked)",
                        bus->name, g->name);
        bus->groups = g->next;
        vigil__inproc_group_free(g);
    }
    while (bus->topics) {
        topic_t *t = bus->topics;
        bus->topics = t->next;
        for (int p = 0; p < bus->partitions; p++)
            gauge_add(t->depth, -(t->parts[p].end - t->parts[p].start));
        topic_free(bus, t);
    }
    pthread_cond_destroy(&bus->progress);
    pthread_mutex_destroy(&bus->mu);
    free(bus->name);
    free(bus);
}

const vigil__bus_ops_t vigil__inproc_ops = {
    .publish = inproc_publish,
    .flush = inproc_flush,
    .drain = inproc_drain,
    .close = inproc_close,
    .free = inproc_free,
    .subscribe = vigil__inproc_subscribe,
    .poll = vigil__inproc_poll,
    .ack = vigil__inproc_ack,
    .release = vigil__inproc_release,
    .commit = vigil__inproc_commit,
    .lag = vigil__inproc_lag,
    .leave = vigil__inproc_leave,
    .set_rebalance_cb = vigil__inproc_set_rebalance_cb,
};

vigil_bus_t *vigil__inproc_open(const char *url, const char *rest, const vigil_bus_conf_t *conf,
                                char *errstr, size_t errstr_size)
{
    bus_t *bus = calloc(1, sizeof(*bus));

    if (!bus || !(bus->name = strdup(rest[0] ? rest : "default"))) {
        free(bus);
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "bus \"%s\": out of memory", url);
        return NULL;
    }
    bus->base.ops = &vigil__inproc_ops;
    bus->partitions = conf->partitions;
    bus->capacity = conf->capacity;
    pthread_mutex_init(&bus->mu, NULL);
    pthread_cond_init(&bus->progress, NULL);
    vigil_debug("bus", NULL, "inproc bus \"%s\" opened: %d partitions per topic, capacity %d",
                bus->name, bus->partitions, bus->capacity);
    return &bus->base;
}
