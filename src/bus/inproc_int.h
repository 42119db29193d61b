/* Internals of the in-process bus, shared by inproc.c (topics, partition
 * logs, publish, drain, close) and inproc_group.c (groups, members,
 * assignment, poll/ack/release). The design is described at the top of
 * inproc.c. Every field is guarded by the bus mutex `mu` unless said. */
#ifndef VIGIL_BUS_INPROC_INT_H
#define VIGIL_BUS_INPROC_INT_H

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "bus/bus_int.h"
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
    gpart_t **told;      /* partitions the rebalance callback was told this member owns */
    size_t ntold, captold;
};

extern const vigil__bus_ops_t vigil__inproc_ops;

/* Drops one reference; the last frees the entry. Locks: bus->mu held. */
static inline void entry_unref(entry_t *e)
{
    if (--e->refs == 0)
        free(e);
}

/* Waits on cv; returns 1 if the deadline passed. timeout_ms < 0: no deadline. */
static inline int cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu, int timeout_ms,
                            const struct timespec *deadline)
{
    if (timeout_ms < 0) {
        pthread_cond_wait(cv, mu);
        return 0;
    }
    return pthread_cond_timedwait(cv, mu, deadline) == ETIMEDOUT;
}

static inline unsigned char *state_at(const bus_t *bus, gpart_t *gp, int64_t offset)
{
    return &gp->state[offset % bus->capacity];
}

static inline void counter_add(vigil_counter_t *c, uint64_t n)
{
    if (c)
        vigil_counter_add(c, n);
}

static inline void gauge_add(vigil_gauge_t *g, int64_t n)
{
    if (g)
        vigil_gauge_add(g, n);
}

/* inproc.c. Locks: bus->mu held. */
topic_t *vigil__inproc_topic_get(bus_t *bus, const char *name, int create);
void vigil__inproc_gpart_commit(bus_t *bus, gpart_t *gp);

/* inproc_group.c. */
void vigil__inproc_group_free(group_t *g);
vigil_consumer_t *vigil__inproc_subscribe(vigil_bus_t *b, const char *group,
                                          const char *const *topics, size_t ntopics,
                                          char *errstr, size_t errstr_size);
vigil_err_t vigil__inproc_poll(vigil_consumer_t *cb, vigil_bus_msg_t **msg, int timeout_ms);
vigil_err_t vigil__inproc_ack(vigil_consumer_t *cb, vigil_bus_msg_t *msg);
void vigil__inproc_release(vigil_consumer_t *cb, vigil_bus_msg_t *msg);
vigil_err_t vigil__inproc_commit(vigil_consumer_t *cb);
int64_t vigil__inproc_lag(vigil_consumer_t *cb);
void vigil__inproc_leave(vigil_consumer_t *cb, int abandon);
void vigil__inproc_set_rebalance_cb(vigil_consumer_t *cb, vigil_bus_rebalance_fn fn, void *opaque);

#endif
