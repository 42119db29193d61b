/* Internals shared by the bus front end (bus.c) and its backends (inproc.c,
 * later kafka.c): the operations table each backend fills in.
 *
 * Main idea: vigil_bus_t and vigil_consumer_t are a small base struct holding
 * a pointer to the backend's operations; a backend embeds the base as the
 * FIRST member of its own struct and casts back. bus.c validates arguments
 * that every backend would validate the same way (NULL handles, empty topic
 * names) and forwards the call. A backend is found by URL scheme in the table
 * in bus.c; adding one is a row there plus a file here. */
#ifndef VIGIL_BUS_INT_H
#define VIGIL_BUS_INT_H

#include "vigil/bus.h"

typedef struct vigil__bus_ops {
    vigil_err_t (*publish)(vigil_bus_t *bus, const char *topic, const void *key, size_t key_len,
                           const void *value, size_t value_len, int timeout_ms);
    vigil_err_t (*flush)(vigil_bus_t *bus, int timeout_ms);
    /* NULL: always reachable (in-process) */
    vigil_err_t (*ping)(vigil_bus_t *bus, int timeout_ms);
    vigil_err_t (*drain)(vigil_bus_t *bus, const char *topic, int timeout_ms);
    void (*close)(vigil_bus_t *bus);
    void (*free)(vigil_bus_t *bus);
    vigil_consumer_t *(*subscribe)(vigil_bus_t *bus, const char *group, const char *const *topics,
                                   size_t ntopics, char *errstr, size_t errstr_size);

    vigil_err_t (*poll)(vigil_consumer_t *consumer, vigil_bus_msg_t **msg, int timeout_ms);
    vigil_err_t (*ack)(vigil_consumer_t *consumer, vigil_bus_msg_t *msg);
    void (*release)(vigil_consumer_t *consumer, vigil_bus_msg_t *msg);
    vigil_err_t (*commit)(vigil_consumer_t *consumer);
    int64_t (*lag)(vigil_consumer_t *consumer);
    /* Leaves the group and frees the consumer; abandon != 0: commit nothing more. */
    void (*leave)(vigil_consumer_t *consumer, int abandon);
    /* vigil_consumer_publish; NULL: vigil_bus_publish on the consumer's bus */
    vigil_err_t (*consumer_publish)(vigil_consumer_t *consumer, const char *topic,
                                    const void *key, size_t key_len, const void *value,
                                    size_t value_len, int timeout_ms);
    /* Cheap lag for metrics (no network round trip), also updating per-partition
     * gauges; NULL: lag. */
    int64_t (*report_lag)(vigil_consumer_t *consumer);
    /* vigil_consumer_set_rebalance_cb: stores cb/opaque in the base (under the
     * backend's lock) and makes the next poll report current ownership */
    void (*set_rebalance_cb)(vigil_consumer_t *consumer, vigil_bus_rebalance_fn cb, void *opaque);
} vigil__bus_ops_t;

/* The base of every backend's bus and consumer object. */
struct vigil_bus {
    const vigil__bus_ops_t *ops;
    unsigned caps; /* VIGIL_BUS_CAP_*, set by vigil_bus_new from the backend table */
};

struct vigil_consumer {
    const vigil__bus_ops_t *ops;
    vigil_bus_t *bus;            /* set by vigil_bus_subscribe (bus.c) */
    int64_t lag_reported_us;     /* vigil_consumer_report_lag rate limit (bus.c) */
    vigil_bus_rebalance_fn rebalance_cb; /* set by the backend's set_rebalance_cb */
    void *rebalance_opaque;
};

/* A backend's constructor. `rest` is the URL after "scheme://"; conf is
 * already validated and defaulted (never NULL). NULL on failure with errstr
 * filled. */
typedef vigil_bus_t *(*vigil__bus_open_fn)(const char *url, const char *rest,
                                            const vigil_bus_conf_t *conf, char *errstr,
                                            size_t errstr_size);

vigil_bus_t *vigil__inproc_open(const char *url, const char *rest, const vigil_bus_conf_t *conf,
                                char *errstr, size_t errstr_size);

#ifdef VIGIL_BUS_HAVE_KAFKA
vigil_bus_t *vigil__kafka_open(const char *url, const char *rest, const vigil_bus_conf_t *conf,
                               char *errstr, size_t errstr_size);
#endif

/* Bounds on vigil_bus_conf_t values, checked by vigil_bus_new. */
#define VIGIL__BUS_MAX_PARTITIONS 1024
#define VIGIL__BUS_MAX_CAPACITY (1 << 20)

#endif
