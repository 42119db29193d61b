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
 * Locking: one mutex per bus guards everything (topics, groups, members,
 * entry reference counts); condvars: per partition `space` (publishers), per
 * member `data` (pollers), per bus `progress` (drain). Metric updates are
 * lock-free atomics, registration happens under the bus mutex.
 * Out of memory: the call fails with VIGIL_ERR_NOMEM / NULL; state stays
 * consistent (a topic or group created before the failure remains, empty). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus_int.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/metrics.h"

enum { ST_NEW = 0, ST_INFLIGHT = 1, ST_ACKED = 2 };

typedef struct entry {
    int refs; /* the log's reference + one per delivery; under bus->mu */
    int64_t offset, timestamp_us;
    size_t key_len, value_len;
    unsigned char data[]; /* key, then value */
} entry_t;

typedef struct gpart gpart_t;
typedef struct inproc_consumer consumer_t;

typedef struct part {
    entry_t **ring;        /* capacity slots; offset o lives in ring[o % capacity] */
    int64_t start, end;    /* retained offsets [start, end) */
    gpart_t *gparts;       /* every group's state for this partition */
    pthread_cond_t space;  /* publishers wait here while the partition is full */
} part_t;

typedef struct topic {
    struct topic *next;
    char *name;
    part_t *parts;
    int subscribed; /* a group has subscribed: backpressure instead of dropping */
    vigil_counter_t *published, *delivered, *dropped;
    vigil_gauge_t *depth;
} topic_t;

struct gpart {
    gpart_t *next_in_part;
    topic_t *topic;
    int32_t partition;
    int64_t committed;     /* every offset below is acked by the group */
    int64_t fetch;         /* owner's next offset to look at */
    unsigned char *state;  /* ST_* per offset, index offset % capacity */
    consumer_t *owner;     /* NULL while no member is subscribed to topic */
    uint64_t generation;   /* bumped whenever owner changes */
};

typedef struct group {
    struct group *next;
    char *name;
    gpart_t **gparts; /* sorted by (topic name, partition) */
    size_t ngparts;
    consumer_t *members; /* in join order */
} group_t;

typedef struct delivery {
    vigil_bus_msg_t msg; /* first member: what the consumer sees */
    entry_t *entry;
    gpart_t *gp;
    uint64_t generation; /* gp->generation when delivered */
    consumer_t *holder;
    struct delivery *prev, *next; /* the holder's list of held messages */
} delivery_t;

typedef struct inproc_bus {
    struct vigil_bus base;
    pthread_mutex_t mu;
    pthread_cond_t progress; /* broadcast when a committed offset advances, or on close */
    int partitions, capacity;
    char *name;
    int closed;
    topic_t *topics;
    group_t *groups;
} bus_t;

struct inproc_consumer {
    struct vigil_consumer base;
    bus_t *bus;
    group_t *group;
    consumer_t *next_member;
    topic_t **topics;
    size_t ntopics;
    pthread_cond_t data; /* pollers wait here */
    size_t rr;           /* round-robin cursor into group->gparts */
    delivery_t held;     /* sentinel of the list of held messages */
};

static const vigil__bus_ops_t inproc_ops;

static void entry_unref(entry_t *e)
{
    if (--e->refs == 0)
        free(e);
}

/* Waits on cv; returns 1 if the deadline passed. timeout_ms < 0: no deadline. */
static int cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu, int timeout_ms,
                     const struct timespec *deadline)
{
    if (timeout_ms < 0) {
        pthread_cond_wait(cv, mu);
        return 0;
    }
    return pthread_cond_timedwait(cv, mu, deadline) == ETIMEDOUT;
}

static unsigned char *state_at(const bus_t *bus, gpart_t *gp, int64_t offset)
{
    return &gp->state[offset % bus->capacity];
}


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
static topic_t *topic_get(bus_t *bus, const char *name, int create)
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

static void counter_add(vigil_counter_t *c, uint64_t n)
{
    if (c)
        vigil_counter_add(c, n);
}

static void gauge_add(vigil_gauge_t *g, int64_t n)
{
    if (g)
        vigil_gauge_add(g, n);
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
static void gpart_commit(bus_t *bus, gpart_t *gp)
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
    t = topic_get(bus, topic, 1);
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
    t = topic_get(bus, topic, 0);
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

static void group_free(group_t *g)
{
    for (size_t i = 0; i < g->ngparts; i++) {
        free(g->gparts[i]->state);
        free(g->gparts[i]);
    }
    free(g->gparts);
    free(g->name);
    free(g);
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
        group_free(g);
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

/* --- groups and members ---------------------------------------------------- */

static int gpart_cmp(const void *a, const void *b)
{
    const gpart_t *x = *(gpart_t *const *)a, *y = *(gpart_t *const *)b;
    int c = strcmp(x->topic->name, y->topic->name);

    if (c)
        return c;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

static group_t *group_get(bus_t *bus, const char *name)
{
    group_t *g;

    for (g = bus->groups; g; g = g->next)
        if (strcmp(g->name, name) == 0)
            return g;
    g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->name = strdup(name);
    if (!g->name) {
        free(g);
        return NULL;
    }
    g->next = bus->groups;
    bus->groups = g;
    return g;
}

/* Gives group g a gpart for every partition of t (once), starting at the
 * earliest retained offset. Locks: bus->mu held. */
static vigil_err_t group_add_topic(bus_t *bus, group_t *g, topic_t *t)
{
    size_t n = (size_t)bus->partitions;
    gpart_t **grown, **fresh = calloc(n, sizeof(*fresh));
    vigil_err_t err = VIGIL_ERR_NOMEM;

    if (!fresh)
        return err;
    for (size_t i = 0; i < g->ngparts; i++)
        if (g->gparts[i]->topic == t) {
            err = VIGIL_OK;
            goto fail;
        }
    for (size_t p = 0; p < n; p++) {
        fresh[p] = calloc(1, sizeof(*fresh[p]));
        if (!fresh[p])
            goto fail;
        fresh[p]->state = calloc((size_t)bus->capacity, 1);
        if (!fresh[p]->state)
            goto fail;
    }
    grown = realloc(g->gparts, (g->ngparts + n) * sizeof(*grown));
    if (!grown)
        goto fail;
    g->gparts = grown;
    for (size_t p = 0; p < n; p++) {
        gpart_t *gp = fresh[p];
        part_t *part = &t->parts[p];
        gp->topic = t;
        gp->partition = (int32_t)p;
        gp->committed = gp->fetch = part->start;
        gp->next_in_part = part->gparts;
        part->gparts = gp;
        g->gparts[g->ngparts++] = gp;
    }
    qsort(g->gparts, g->ngparts, sizeof(*g->gparts), gpart_cmp);
    t->subscribed = 1;
    free(fresh);
    return VIGIL_OK;
fail:
    for (size_t p = 0; p < n; p++) {
        if (fresh[p])
            free(fresh[p]->state);
        free(fresh[p]);
    }
    free(fresh);
    return err;
}

static int member_has_topic(const consumer_t *c, const topic_t *t)
{
    for (size_t i = 0; i < c->ntopics; i++)
        if (c->topics[i] == t)
            return 1;
    return 0;
}

/* The k-th (mod their count) member of g subscribed to t, NULL if none. */
static consumer_t *nth_member_for(group_t *g, topic_t *t, size_t k)
{
    size_t n = 0;

    for (consumer_t *c = g->members; c; c = c->next_member)
        n += (size_t)member_has_topic(c, t);
    if (n == 0)
        return NULL;
    k %= n;
    for (consumer_t *c = g->members; c; c = c->next_member)
        if (member_has_topic(c, t) && k-- == 0)
            return c;
    return NULL;
}

/* Reassigns g's partitions round-robin over the sorted partition list. A
 * partition that changes owner restarts at the committed offset and forgets
 * what was in flight, so it is delivered again. Locks: bus->mu held. */
static void group_rebalance(bus_t *bus, group_t *g)
{
    for (size_t i = 0; i < g->ngparts; i++) {
        gpart_t *gp = g->gparts[i];
        consumer_t *owner = nth_member_for(g, gp->topic, i);
        part_t *part = &gp->topic->parts[gp->partition];

        if (owner == gp->owner)
            continue;
        gp->owner = owner;
        gp->generation++;
        gp->fetch = gp->committed;
        for (int64_t o = gp->committed; o < part->end; o++) {
            unsigned char *st = state_at(bus, gp, o);
            if (*st == ST_INFLIGHT)
                *st = ST_NEW;
        }
        if (owner)
            pthread_cond_signal(&owner->data);
    }
}

static vigil_consumer_t *inproc_subscribe(vigil_bus_t *b, const char *group,
                                          const char *const *topics, size_t ntopics,
                                          char *errstr, size_t errstr_size)
{
    bus_t *bus = (bus_t *)b;
    consumer_t *c = calloc(1, sizeof(*c));
    group_t *g;

    if (!c || !(c->topics = calloc(ntopics, sizeof(*c->topics)))) {
        free(c);
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "group \"%s\": out of memory", group);
        return NULL;
    }
    c->base.ops = &inproc_ops;
    c->bus = bus;
    c->held.next = c->held.prev = &c->held;
    pthread_cond_init(&c->data, NULL);

    pthread_mutex_lock(&bus->mu);
    if (bus->closed) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_CLOSED,
                     "group \"%s\": bus \"%s\" is closed", group, bus->name);
        goto fail;
    }
    g = group_get(bus, group);
    if (!g)
        goto nomem;
    for (size_t i = 0; i < ntopics; i++) {
        topic_t *t = topic_get(bus, topics[i], 1);
        if (!t || group_add_topic(bus, g, t) != VIGIL_OK)
            goto nomem;
        c->topics[c->ntopics++] = t;
    }
    c->group = g;
    {
        consumer_t **tail = &g->members;
        while (*tail)
            tail = &(*tail)->next_member;
        *tail = c;
    }
    group_rebalance(bus, g);
    pthread_mutex_unlock(&bus->mu);
    return &c->base;
nomem:
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "group \"%s\": out of memory", group);
fail:
    pthread_mutex_unlock(&bus->mu);
    pthread_cond_destroy(&c->data);
    free(c->topics);
    free(c);
    return NULL;
}

/* --- consuming ------------------------------------------------------------- */

/* The next new offset of gp at or after its fetch position, or -1; moves the
 * fetch position up to it. Locks: bus->mu held. */
static int64_t gpart_next(bus_t *bus, gpart_t *gp)
{
    part_t *part = &gp->topic->parts[gp->partition];
    int64_t o = gp->fetch > gp->committed ? gp->fetch : gp->committed;

    while (o < part->end && *state_at(bus, gp, o) != ST_NEW)
        o++;
    gp->fetch = o;
    return o < part->end ? o : -1;
}

static vigil_err_t inproc_poll(vigil_consumer_t *cb, vigil_bus_msg_t **msg, int timeout_ms)
{
    consumer_t *c = (consumer_t *)cb;
    bus_t *bus = c->bus;
    struct timespec deadline = {0};
    vigil_err_t err;
    int expired = 0;

    if (timeout_ms > 0)
        deadline = vigil_deadline_ms(timeout_ms);
    pthread_mutex_lock(&bus->mu);
    for (;;) {
        group_t *g = c->group;
        for (size_t k = 0; k < g->ngparts; k++) {
            size_t i = (c->rr + k) % g->ngparts;
            gpart_t *gp = g->gparts[i];
            int64_t o;
            delivery_t *d;
            entry_t *e;

            if (gp->owner != c || (o = gpart_next(bus, gp)) < 0)
                continue;
            d = calloc(1, sizeof(*d));
            if (!d) {
                err = VIGIL_ERR_NOMEM;
                goto out;
            }
            e = gp->topic->parts[gp->partition].ring[o % bus->capacity];
            e->refs++;
            *state_at(bus, gp, o) = ST_INFLIGHT;
            gp->fetch = o + 1;
            d->entry = e;
            d->gp = gp;
            d->generation = gp->generation;
            d->holder = c;
            d->msg.topic = gp->topic->name;
            d->msg.partition = gp->partition;
            d->msg.offset = o;
            d->msg.key = e->data;
            d->msg.key_len = e->key_len;
            d->msg.value = e->data + e->key_len;
            d->msg.value_len = e->value_len;
            d->msg.timestamp_us = e->timestamp_us;
            d->next = c->held.next;
            d->prev = &c->held;
            c->held.next->prev = d;
            c->held.next = d;
            c->rr = i + 1;
            counter_add(gp->topic->delivered, 1);
            *msg = &d->msg;
            err = VIGIL_OK;
            goto out;
        }
        if (bus->closed) {
            err = VIGIL_ERR_CLOSED;
            goto out;
        }
        if (timeout_ms == 0 || expired) {
            err = VIGIL_ERR_TIMED_OUT;
            goto out;
        }
        expired = cond_wait(&c->data, &bus->mu, timeout_ms, &deadline);
    }
out:
    pthread_mutex_unlock(&bus->mu);
    return err;
}

/* Unlinks d from its holder and drops its entry. Locks: bus->mu held. */
static void delivery_drop(delivery_t *d)
{
    d->prev->next = d->next;
    d->next->prev = d->prev;
    entry_unref(d->entry);
}

static vigil_err_t inproc_ack(vigil_consumer_t *cb, vigil_bus_msg_t *msg)
{
    consumer_t *c = (consumer_t *)cb;
    delivery_t *d = (delivery_t *)msg;
    bus_t *bus = c->bus;
    gpart_t *gp = d->gp;

    if (d->holder != c)
        return VIGIL_ERR_INVALID;
    pthread_mutex_lock(&bus->mu);
    /* An ack from a member that lost the partition still counts: the message
     * was processed, and committing it spares the new owner a duplicate. */
    if (msg->offset >= gp->committed) {
        *state_at(bus, gp, msg->offset) = ST_ACKED;
        gpart_commit(bus, gp);
    }
    delivery_drop(d);
    pthread_mutex_unlock(&bus->mu);
    free(d);
    return VIGIL_OK;
}

static void inproc_release(vigil_consumer_t *cb, vigil_bus_msg_t *msg)
{
    consumer_t *c = (consumer_t *)cb;
    delivery_t *d = (delivery_t *)msg;
    bus_t *bus = c->bus;
    gpart_t *gp = d->gp;

    if (d->holder != c)
        return;
    pthread_mutex_lock(&bus->mu);
    /* only if the partition is still ours: otherwise the rebalance already
     * made the new owner start over */
    if (gp->owner == c && gp->generation == d->generation && msg->offset >= gp->committed &&
        *state_at(bus, gp, msg->offset) == ST_INFLIGHT) {
        *state_at(bus, gp, msg->offset) = ST_NEW;
        if (msg->offset < gp->fetch)
            gp->fetch = msg->offset;
    }
    delivery_drop(d);
    pthread_mutex_unlock(&bus->mu);
    free(d);
}

static vigil_err_t inproc_commit(vigil_consumer_t *cb)
{
    return VIGIL_OK; /* ack commits at once */
}

static int64_t inproc_lag(vigil_consumer_t *cb)
{
    consumer_t *c = (consumer_t *)cb;
    bus_t *bus = c->bus;
    int64_t lag = 0;

    pthread_mutex_lock(&bus->mu);
    for (size_t i = 0; i < c->group->ngparts; i++) {
        gpart_t *gp = c->group->gparts[i];
        int64_t end = gp->topic->parts[gp->partition].end;
        if (gp->owner != c)
            continue;
        for (int64_t o = gp->fetch > gp->committed ? gp->fetch : gp->committed; o < end; o++)
            lag += *state_at(bus, gp, o) == ST_NEW;
    }
    pthread_mutex_unlock(&bus->mu);
    return lag;
}

static void inproc_leave(vigil_consumer_t *cb, int abandon)
{
    consumer_t *c = (consumer_t *)cb;
    bus_t *bus = c->bus;
    consumer_t **link;

    (void)abandon; /* ack commits at once: nothing is pending either way */
    pthread_mutex_lock(&bus->mu);
    while (c->held.next != &c->held) {
        delivery_t *d = c->held.next;
        delivery_drop(d);
        free(d);
    }
    for (link = &c->group->members; *link; link = &(*link)->next_member)
        if (*link == c) {
            *link = c->next_member;
            break;
        }
    group_rebalance(bus, c->group);
    pthread_mutex_unlock(&bus->mu);
    pthread_cond_destroy(&c->data);
    free(c->topics);
    free(c);
}

static const vigil__bus_ops_t inproc_ops = {
    .publish = inproc_publish,
    .flush = inproc_flush,
    .drain = inproc_drain,
    .close = inproc_close,
    .free = inproc_free,
    .subscribe = inproc_subscribe,
    .poll = inproc_poll,
    .ack = inproc_ack,
    .release = inproc_release,
    .commit = inproc_commit,
    .lag = inproc_lag,
    .leave = inproc_leave,
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
    bus->base.ops = &inproc_ops;
    bus->partitions = conf->partitions;
    bus->capacity = conf->capacity;
    pthread_mutex_init(&bus->mu, NULL);
    pthread_cond_init(&bus->progress, NULL);
    vigil_debug("bus", NULL, "inproc bus \"%s\" opened: %d partitions per topic, capacity %d",
                bus->name, bus->partitions, bus->capacity);
    return &bus->base;
}
