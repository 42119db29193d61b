/* The in-process bus, consumer side: groups, members, partition assignment,
 * and poll / ack / release / lag. See inproc.c for the design; the types are
 * in inproc_int.h.
 *
 * Thread: every function takes the bus mutex; a consumer is used by one
 * thread at a time (bus.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bus/inproc_int.h"
#include "vigil/clock.h"

void vigil__inproc_group_free(group_t *g)
{
    for (size_t i = 0; i < g->ngparts; i++) {
        free(g->gparts[i]->state);
        free(g->gparts[i]);
    }
    free(g->gparts);
    free(g->name);
    free(g);
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

vigil_consumer_t *vigil__inproc_subscribe(vigil_bus_t *b, const char *group,
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
    c->base.ops = &vigil__inproc_ops;
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
        topic_t *t = vigil__inproc_topic_get(bus, topics[i], 1);
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

/* --- rebalance callback ----------------------------------------------------- */

typedef struct change {
    vigil_bus_rebalance_t what;
    const char *topic; /* topic_t names live as long as the bus */
    int32_t partition;
} change_t;

static int told_has(const consumer_t *c, const gpart_t *gp)
{
    for (size_t i = 0; i < c->ntold; i++)
        if (c->told[i] == gp)
            return 1;
    return 0;
}

/* Compares what c's callback was told with what c owns now, updates the
 * record and returns the changes (revoked first; malloc'd, *n of them; NULL
 * if none or out of memory, then retried at the next poll). Locks: bus->mu held. */
static change_t *changes_locked(consumer_t *c, size_t *n)
{
    group_t *g = c->group;
    size_t cap = c->ntold + g->ngparts, k = 0;
    change_t *ch;

    *n = 0;
    if (!c->base.rebalance_cb || cap == 0)
        return NULL;
    if (c->captold < g->ngparts) {
        gpart_t **grown = realloc(c->told, g->ngparts * sizeof(*grown));
        if (!grown)
            return NULL;
        c->told = grown;
        c->captold = g->ngparts;
    }
    if (!(ch = malloc(cap * sizeof(*ch))))
        return NULL;
    for (size_t i = 0; i < c->ntold;) {
        gpart_t *gp = c->told[i];
        if (gp->owner == c) {
            i++;
            continue;
        }
        ch[k++] = (change_t){VIGIL_BUS_REVOKED, gp->topic->name, gp->partition};
        c->told[i] = c->told[--c->ntold];
    }
    for (size_t i = 0; i < g->ngparts; i++) {
        gpart_t *gp = g->gparts[i];
        if (gp->owner != c || told_has(c, gp))
            continue;
        ch[k++] = (change_t){VIGIL_BUS_ASSIGNED, gp->topic->name, gp->partition};
        c->told[c->ntold++] = gp;
    }
    if (k == 0) {
        free(ch);
        return NULL;
    }
    *n = k;
    return ch;
}

/* Reports c's ownership changes to its callback, without the lock (the
 * callback may publish). Returns 1 if it called it. Locks: bus->mu held on
 * entry and on return; released meanwhile. */
static int report_changes_locked(consumer_t *c)
{
    size_t n;
    change_t *ch = changes_locked(c, &n);
    vigil_bus_rebalance_fn fn = c->base.rebalance_cb;
    void *opaque = c->base.rebalance_opaque;

    if (!ch)
        return 0;
    pthread_mutex_unlock(&c->bus->mu);
    for (size_t i = 0; i < n; i++)
        fn(opaque, &c->base, ch[i].what, ch[i].topic, ch[i].partition);
    free(ch);
    pthread_mutex_lock(&c->bus->mu);
    return 1;
}

void vigil__inproc_set_rebalance_cb(vigil_consumer_t *cb, vigil_bus_rebalance_fn fn, void *opaque)
{
    consumer_t *c = (consumer_t *)cb;

    pthread_mutex_lock(&c->bus->mu);
    c->base.rebalance_cb = fn;
    c->base.rebalance_opaque = opaque;
    c->ntold = 0; /* the next poll reports what it owns */
    pthread_mutex_unlock(&c->bus->mu);
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

vigil_err_t vigil__inproc_poll(vigil_consumer_t *cb, vigil_bus_msg_t **msg, int timeout_ms)
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
        if (report_changes_locked(c))
            continue; /* ownership may have changed again meanwhile */
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

vigil_err_t vigil__inproc_ack(vigil_consumer_t *cb, vigil_bus_msg_t *msg)
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
        vigil__inproc_gpart_commit(bus, gp);
    }
    delivery_drop(d);
    pthread_mutex_unlock(&bus->mu);
    free(d);
    return VIGIL_OK;
}

void vigil__inproc_release(vigil_consumer_t *cb, vigil_bus_msg_t *msg)
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

vigil_err_t vigil__inproc_commit(vigil_consumer_t *cb)
{
    return VIGIL_OK; /* ack commits at once */
}

int64_t vigil__inproc_lag(vigil_consumer_t *cb)
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

void vigil__inproc_leave(vigil_consumer_t *cb, int abandon)
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
    free(c->told);
    free(c->topics);
    free(c);
}
