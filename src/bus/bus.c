/* The bus front end: picks a backend by URL scheme and forwards every call to
 * it through its operations table (bus_int.h).
 *
 * Main idea: the table `backends` below is the only place that knows which
 * schemes exist. A scheme may be listed without a constructor (a backend not
 * compiled into this binary); it then fails with a message saying so instead
 * of "unknown scheme". Arguments every backend checks alike (NULL handles,
 * empty topic or group names) are checked here once. Also home of the
 * partitioner both backends share (vigil_bus_partition_for). */
#include <stdio.h>
#include <string.h>

#include "bus/bus_int.h"
#include "vigil/clock.h"
#include "vigil/kafka.h"
#include "vigil/metrics.h"
#include "vigil/redact.h"

typedef struct backend {
    const char *scheme;      /* with "://" */
    vigil__bus_open_fn open; /* NULL: known but not built in */
    const char *missing;     /* the error when open is NULL */
    unsigned caps;           /* VIGIL_BUS_CAP_* of its buses */
} backend_t;

static const backend_t backends[] = {
    {"inproc://", vigil__inproc_open, NULL, VIGIL_BUS_CAP_BOUNDED},
#ifdef VIGIL_BUS_HAVE_KAFKA
    {"kafka://", vigil__kafka_open, NULL, VIGIL_BUS_CAP_EXACTLY_ONCE},
#else
    {"kafka://", NULL, "kafka bus not built into this binary", 0},
#endif
};
#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

void vigil_bus_conf_init(vigil_bus_conf_t *conf)
{
    conf->partitions = 4;
    conf->capacity = 256;
    conf->client_id = NULL;
    conf->delivery = VIGIL_BUS_AT_LEAST_ONCE;
}

int32_t vigil_bus_partition_for(const void *key, size_t key_len, int32_t partitions)
{
    const unsigned char *p = key;
    uint32_t h = 2166136261u; /* FNV-1a 32-bit offset basis */

    if (partitions <= 1)
        return 0;
    for (size_t i = 0; i < key_len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return (int32_t)(h % (uint32_t)partitions);
}

static void accepted_schemes(char *buf, size_t size)
{
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < NBACKENDS && off < size; i++) {
        int n = snprintf(buf + off, size - off, "%s%s", i ? ", " : "", backends[i].scheme);
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

vigil_bus_t *vigil_bus_new(const char *url, const vigil_bus_conf_t *conf, char *errstr,
                           size_t errstr_size)
{
    vigil_bus_conf_t c;
    char accepted[128], shown[512];

    if (conf)
        c = *conf;
    else
        vigil_bus_conf_init(&c);
    if (!url) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "bus url missing");
        return NULL;
    }
    if (c.delivery != VIGIL_BUS_AT_LEAST_ONCE && c.delivery != VIGIL_BUS_EXACTLY_ONCE) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                     "bus delivery %d unknown (accepted: 0 at-least-once, 1 exactly-once)",
                     c.delivery);
        return NULL;
    }
    if (c.partitions < 1 || c.partitions > VIGIL__BUS_MAX_PARTITIONS) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                     "bus partitions %d out of range (1..%d)", c.partitions,
                     VIGIL__BUS_MAX_PARTITIONS);
        return NULL;
    }
    if (c.capacity < 1 || c.capacity > VIGIL__BUS_MAX_CAPACITY) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "bus capacity %d out of range (1..%d)",
                     c.capacity, VIGIL__BUS_MAX_CAPACITY);
        return NULL;
    }
    for (size_t i = 0; i < NBACKENDS; i++) {
        const backend_t *b = &backends[i];
        size_t n = strlen(b->scheme);

        if (strncmp(url, b->scheme, n) != 0)
            continue;
        if (!b->open) {
            vigil_url_redact(url, shown, sizeof(shown)); /* bus.url is sensitive */
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED, "%s (url \"%s\")",
                         b->missing, shown);
            return NULL;
        }
        {
            vigil_bus_t *bus = b->open(url, url + n, &c, errstr, errstr_size);
            if (bus) /* exactly-once only where asked for (and supported) */
                bus->caps = b->caps & (c.delivery == VIGIL_BUS_EXACTLY_ONCE
                                           ? ~0u
                                           : ~(unsigned)VIGIL_BUS_CAP_EXACTLY_ONCE);
            return bus;
        }
    }
    accepted_schemes(accepted, sizeof(accepted));
    vigil_url_redact(url, shown, sizeof(shown));
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                 "unknown bus scheme \"%s\" (accepted: %s)", shown, accepted);
    return NULL;
}

unsigned vigil_bus_caps(const vigil_bus_t *bus)
{
    return bus ? bus->caps : 0;
}

vigil_err_t vigil_bus_publish(vigil_bus_t *bus, const char *topic, const void *key, size_t key_len,
                              const void *value, size_t value_len, int timeout_ms)
{
    if (!bus || !topic || !topic[0] || (!key && key_len) || (!value && value_len))
        return VIGIL_ERR_INVALID;
    return bus->ops->publish(bus, topic, key, key_len, value, value_len, timeout_ms);
}

vigil_err_t vigil_bus_flush(vigil_bus_t *bus, int timeout_ms)
{
    if (!bus)
        return VIGIL_ERR_INVALID;
    return bus->ops->flush(bus, timeout_ms);
}

vigil_err_t vigil_bus_ping(vigil_bus_t *bus, int timeout_ms)
{
    if (!bus)
        return VIGIL_ERR_INVALID;
    return bus->ops->ping ? bus->ops->ping(bus, timeout_ms) : VIGIL_OK;
}

vigil_err_t vigil_bus_drain(vigil_bus_t *bus, const char *topic, int timeout_ms)
{
    if (!bus || !topic || !topic[0])
        return VIGIL_ERR_INVALID;
    return bus->ops->drain(bus, topic, timeout_ms);
}

void vigil_bus_close(vigil_bus_t *bus)
{
    if (bus)
        bus->ops->close(bus);
}

void vigil_bus_free(vigil_bus_t *bus)
{
    if (bus)
        bus->ops->free(bus);
}

vigil_consumer_t *vigil_bus_subscribe(vigil_bus_t *bus, const char *group,
                                      const char *const *topics, size_t ntopics, char *errstr,
                                      size_t errstr_size)
{
    if (!bus) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "subscribe: no bus");
        return NULL;
    }
    if (!group || !group[0]) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "subscribe: empty group name");
        return NULL;
    }
    if (!topics || ntopics == 0) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "group \"%s\": no topics", group);
        return NULL;
    }
    for (size_t i = 0; i < ntopics; i++) {
        if (!topics[i] || !topics[i][0]) {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                         "group \"%s\": empty topic name (topic #%zu)", group, i);
            return NULL;
        }
    }
    vigil_consumer_t *c = bus->ops->subscribe(bus, group, topics, ntopics, errstr, errstr_size);
    if (c) c->bus = bus;
    return c;
}

vigil_err_t vigil_consumer_publish(vigil_consumer_t *consumer, const char *topic, const void *key,
                                   size_t key_len, const void *value, size_t value_len,
                                   int timeout_ms)
{
    if (!consumer)
        return VIGIL_ERR_INVALID;
    if (!topic || !topic[0] || (!key && key_len) || (!value && value_len))
        return VIGIL_ERR_INVALID;
    if (consumer->ops->consumer_publish)
        return consumer->ops->consumer_publish(consumer, topic, key, key_len, value, value_len,
                                               timeout_ms);
    return vigil_bus_publish(consumer->bus, topic, key, key_len, value, value_len, timeout_ms);
}

vigil_err_t vigil_consumer_poll(vigil_consumer_t *consumer, vigil_bus_msg_t **msg, int timeout_ms)
{
    if (!consumer || !msg)
        return VIGIL_ERR_INVALID;
    *msg = NULL;
    return consumer->ops->poll(consumer, msg, timeout_ms);
}

vigil_err_t vigil_consumer_ack(vigil_consumer_t *consumer, vigil_bus_msg_t *msg)
{
    if (!consumer || !msg)
        return VIGIL_ERR_INVALID;
    return consumer->ops->ack(consumer, msg);
}

void vigil_consumer_release(vigil_consumer_t *consumer, vigil_bus_msg_t *msg)
{
    if (consumer && msg)
        consumer->ops->release(consumer, msg);
}

vigil_err_t vigil_consumer_commit(vigil_consumer_t *consumer)
{
    if (!consumer)
        return VIGIL_ERR_INVALID;
    return consumer->ops->commit(consumer);
}

int64_t vigil_consumer_lag(vigil_consumer_t *consumer)
{
    if (!consumer)
        return -1;
    return consumer->ops->lag(consumer);
}

void vigil_consumer_set_rebalance_cb(vigil_consumer_t *consumer, vigil_bus_rebalance_fn cb,
                                     void *opaque)
{
    if (consumer)
        consumer->ops->set_rebalance_cb(consumer, cb, opaque);
}

void vigil_consumer_close(vigil_consumer_t *consumer)
{
    if (consumer)
        consumer->ops->leave(consumer, 0);
}

void vigil_consumer_abandon(vigil_consumer_t *consumer)
{
    if (consumer)
        consumer->ops->leave(consumer, 1);
}

void vigil_consumer_report_lag(vigil_consumer_t *consumer, vigil_gauge_t *gauge, int64_t *last)
{
    int64_t lag, now;
    if (!consumer) return;
    /* stages call this after every poll: at most 4 looks a second, and the
     * backend's cheap variant (Kafka: cached watermarks, no round trip) */
    now = vigil_mono_us();
    if (consumer->lag_reported_us && now - consumer->lag_reported_us < 250000) return;
    consumer->lag_reported_us = now;
    lag = consumer->ops->report_lag ? consumer->ops->report_lag(consumer)
                                    : vigil_consumer_lag(consumer);
    if (lag < 0 || !gauge) return;
    vigil_gauge_add(gauge, lag - *last);
    *last = lag;
}

#ifndef VIGIL_BUS_HAVE_KAFKA
/* Built without librdkafka: the admin helpers of kafka.h say so. */
vigil_err_t vigil_kafka_create_topics(const char *bootstrap, const vigil_kafka_topic_spec_t *specs,
                                      size_t nspecs, int timeout_ms, size_t *existed, char *errstr,
                                      size_t errstr_size)
{
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                        "kafka bus not built into this binary");
}

vigil_err_t vigil_kafka_describe_topic(const char *bootstrap, const char *topic,
                                       vigil_kafka_partition_info_t *out, size_t max, size_t *n,
                                       int timeout_ms, char *errstr, size_t errstr_size)
{
    *n = 0;
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                        "kafka bus not built into this binary");
}
#endif
