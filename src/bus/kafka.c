/* The Kafka bus ("kafka://HOST:PORT[,HOST:PORT...][?OPTIONS]") over
 * librdkafka: the bus object, its producer, topics, flush, drain and close.
 * Consumers are in kafka_consumer.c, admin requests in kafka_admin.c.
 *
 * Main idea:
 *  - One idempotent producer per bus (acks=all, zstd, linger 5 ms, 1 MB
 *    batches, 4 MB messages; see docs/kafka.md for each setting and why). A
 *    thread serves its delivery reports: a failed delivery is logged with
 *    topic, partition and key (the camera), counted in
 *    vigil_bus_delivery_failed_total{topic} and remembered, so the next
 *    vigil_bus_flush() returns VIGIL_ERR_BUS: no loss is silent.
 *  - The partition is chosen here, not by librdkafka: vigil_bus_partition_for
 *    (FNV-1a of the key modulo the topic's partition count, which the topic
 *    cache knows), so a key lands on the same partition number as on the
 *    in-process bus, and a NULL/empty key too (librdkafka would randomise it).
 *  - Topics are created on demand when first used (conf.partitions,
 *    RF = min(3, brokers), max.message.bytes = 4 MB) unless they exist;
 *    deployments create them up front (vigil_kafka_create_topics).
 *  - Capacity is Kafka's retention, not conf.capacity: publish blocks only
 *    while librdkafka's local queue is full (VIGIL_ERR_FULL at the timeout).
 *  - The publish time travels in a header in microseconds (Kafka timestamps
 *    are milliseconds).
 *  - drain(topic): every group subscribed to topic through this bus has
 *    committed up to the high watermark of every partition, and nothing
 *    published to topic is still waiting for its delivery report. Live local
 *    consumers of those groups commit their stored offsets first.
 *  - vigil_bus_new fails within ?connect_timeout_ms (default 10 s) if no
 *    broker answers a metadata request.
 *
 * Thread: every function here is safe from any thread (bus lock for the
 * topic cache and lists; librdkafka handles are thread-safe). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/kafka_int.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/redact.h"

/* --- URL --------------------------------------------------------------------- */

void kafka__url_release(kafka_url_t *url)
{
    free(url->brokers);
    url->brokers = NULL;
}

static int parse_int_opt(const char *name, const char *val, int min, int max, int *out,
                         char *errstr, size_t errstr_size)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(val, &end, 10);
    if (errno || end == val || *end || v < min || v > max) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                     "kafka url option %s=\"%s\" is not an integer in %d..%d", name, val, min, max);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Checks one "HOST:PORT" (HOST may be "[v6addr]"). */
static int check_broker(const char *b, size_t len, char *errstr, size_t errstr_size)
{
    const char *colon = NULL;
    long port = 0;

    for (size_t i = 0; i < len; i++)
        if (b[i] == ':')
            colon = b + i;
    if (!colon || colon == b || (size_t)(colon - b) + 1 >= len || (b[0] == '[' && colon[-1] != ']'))
        goto bad;
    for (const char *p = colon + 1; p < b + len; p++) {
        if (*p < '0' || *p > '9')
            goto bad;
        port = port * 10 + (*p - '0');
        if (port > 65535)
            goto bad;
    }
    if (port < 1)
        goto bad;
    for (const char *p = b; p < colon; p++)
        if (*p == '/' || *p == '?' || *p == '@' || *p == ' ')
            goto bad;
    return 0;
bad:
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                 "kafka broker \"%.*s\" is not HOST:PORT (port 1..65535)", (int)len, b);
    return -1;
}

vigil_err_t kafka__url_parse(const char *rest, kafka_url_t *url, char *errstr, size_t errstr_size)
{
    const char *q = strchr(rest, '?');
    size_t blen = q ? (size_t)(q - rest) : strlen(rest);
    char *opts = NULL, *save = NULL;

    memset(url, 0, sizeof(*url));
    url->connect_timeout_ms = 10000;
    url->session_timeout_ms = 6000;
    url->join_wait_ms = 15000;
    url->transaction_timeout_ms = 60000;
    snprintf(url->compression, sizeof(url->compression), "zstd");
    if (blen == 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "kafka url \"kafka://%s\" names no broker (kafka://HOST:PORT[,...])",
                            rest);
    for (size_t start = 0, i = 0; i <= blen; i++) {
        if (i == blen || rest[i] == ',') {
            if (i == start) {
                vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                             "kafka url \"kafka://%s\" has an empty broker", rest);
                return VIGIL_ERR_CONFIG;
            }
            if (check_broker(rest + start, i - start, errstr, errstr_size))
                return VIGIL_ERR_CONFIG;
            start = i + 1;
        }
    }
    url->brokers = strndup(rest, blen);
    if (!url->brokers)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "kafka url: out of memory");
    if (!q || !q[1])
        return VIGIL_OK;
    opts = strdup(q + 1);
    if (!opts)
        goto nomem;
    for (char *kv = strtok_r(opts, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        int r = 0;
        if (!eq) {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                         "kafka url option \"%s\" is not NAME=VALUE", kv);
            goto fail;
        }
        *eq = '\0';
        if (strcmp(kv, "connect_timeout_ms") == 0)
            r = parse_int_opt(kv, eq + 1, 100, 600000, &url->connect_timeout_ms, errstr,
                              errstr_size);
        else if (strcmp(kv, "session_timeout_ms") == 0)
            r = parse_int_opt(kv, eq + 1, 1000, 600000, &url->session_timeout_ms, errstr,
                              errstr_size);
        else if (strcmp(kv, "join_wait_ms") == 0)
            r = parse_int_opt(kv, eq + 1, 0, 600000, &url->join_wait_ms, errstr, errstr_size);
        else if (strcmp(kv, "transaction_timeout_ms") == 0)
            r = parse_int_opt(kv, eq + 1, 1000, 900000, &url->transaction_timeout_ms, errstr,
                              errstr_size);
        else if (strcmp(kv, "compression") == 0) {
            if (strcmp(eq + 1, "lz4") && strcmp(eq + 1, "zstd") && strcmp(eq + 1, "none")) {
                vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                             "kafka url option compression=\"%s\" (accepted: lz4, zstd, none)",
                             eq + 1);
                goto fail;
            }
            snprintf(url->compression, sizeof(url->compression), "%s", eq + 1);
        } else {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                         "kafka url option \"%s\" unknown (accepted: connect_timeout_ms, "
                         "session_timeout_ms, join_wait_ms, compression, transaction_timeout_ms)",
                         kv);
            goto fail;
        }
        if (r)
            goto fail;
    }
    free(opts);
    return VIGIL_OK;
nomem:
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "kafka url: out of memory");
fail:
    free(opts);
    kafka__url_release(url);
    return VIGIL_ERR_CONFIG;
}

/* --- producer callbacks ------------------------------------------------------------ */

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    if (level <= 3)
        vigil_error(KAFKA_STAGE, NULL, "librdkafka %s: %s: %s", rd_kafka_name(rk), fac, buf);
    else if (level <= 4)
        vigil_warn(KAFKA_STAGE, NULL, "librdkafka %s: %s: %s", rd_kafka_name(rk), fac, buf);
    else
        vigil_debug(KAFKA_STAGE, NULL, "librdkafka %s: %s: %s", rd_kafka_name(rk), fac, buf);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    /* transport errors are retried by librdkafka; fatal ones (idempotence
     * broken) make every later publish and flush fail */
    if (err == RD_KAFKA_RESP_ERR__FATAL)
        vigil_error(KAFKA_STAGE, NULL, "kafka %s: fatal: %s", rd_kafka_name(rk), reason);
    else
        vigil_warn(KAFKA_STAGE, NULL, "kafka %s: %s", rd_kafka_name(rk), reason);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    kbus_t *bus = opaque;
    ktopic_t *t = m->_private;

    if (m->err) {
        char key[96];
        size_t n = m->key_len < sizeof(key) - 1 ? m->key_len : sizeof(key) - 1;
        for (size_t i = 0; i < n; i++) {
            char ch = ((const char *)m->key)[i];
            key[i] = (ch >= 32 && ch < 127 && ch != '"' && ch != '\\') ? ch : '?';
        }
        key[n] = '\0';
        VIGIL_LOGF(VIGIL_LOG_ERROR, KAFKA_STAGE, key, NULL,
                   "delivery failed: topic \"%s\" partition %d key \"%s\" (%zu bytes): %s",
                   t ? t->name : rd_kafka_topic_name(m->rkt), (int)m->partition, key, m->len,
                   rd_kafka_err2str(m->err));
        if (t && t->failed)
            vigil_counter_inc(t->failed);
        atomic_fetch_add(&bus->failed_since_flush, 1);
    } else if (t && t->published) {
        vigil_counter_inc(t->published);
    }
    if (t)
        atomic_fetch_sub(&t->inflight, 1);
}

static void *poller_main(void *arg)
{
    kbus_t *bus = arg;

    while (!atomic_load(&bus->stop_poller))
        rd_kafka_poll(bus->producer, 100);
    return NULL;
}

/* --- topics ------------------------------------------------------------------------- */

ktopic_t *kafka__topic(kbus_t *bus, const char *name, char *errstr, size_t errstr_size)
{
    ktopic_t *t;
    int n, rf;
    int64_t deadline;
    vigil_err_t err;

    pthread_mutex_lock(&bus->lock);
    for (t = bus->topics; t && strcmp(t->name, name) != 0; t = t->next)
        ;
    pthread_mutex_unlock(&bus->lock);
    if (t)
        return t;

    n = kafka__partition_count(bus->producer, name, bus->url.connect_timeout_ms, errstr,
                               errstr_size);
    if (n < 0)
        return NULL;
    if (n == 0) {
        rf = bus->brokers < 3 ? bus->brokers : 3;
        err = kafka__create_topic(bus->producer, name, bus->conf.partitions, rf > 0 ? rf : 1, 0, 0,
                                  0, NULL, bus->url.connect_timeout_ms, errstr, errstr_size);
        if (err != VIGIL_OK && err != VIGIL_ERR_EXISTS)
            return NULL;
        if (err == VIGIL_OK)
            vigil_info(KAFKA_STAGE, NULL, "created topic \"%s\" (%d partitions, rf %d)", name,
                       bus->conf.partitions, rf);
        /* wait until every partition has a leader */
        deadline = vigil_mono_us() + (int64_t)bus->url.connect_timeout_ms * 1000;
        while ((n = kafka__partition_count(bus->producer, name, bus->url.connect_timeout_ms,
                                           errstr, errstr_size)) == 0 &&
               vigil_mono_us() < deadline)
            vigil_sleep_us(20000);
        if (n <= 0) {
            if (n == 0)
                vigil_seterr(errstr, errstr_size, VIGIL_ERR_TIMED_OUT,
                             "topic \"%s\": created but no leaders within %d ms", name,
                             bus->url.connect_timeout_ms);
            return NULL;
        }
        /* brokers learn of a new topic one by one (KRaft metadata log): a
         * consumer asking a late broker would drop the topic again. Wait until
         * answers (from whichever broker librdkafka asks) agree for 500 ms. */
        for (int64_t since = vigil_mono_us(); vigil_mono_us() - since < 500000;) {
            vigil_sleep_us(50000);
            if (kafka__partition_count(bus->producer, name, bus->url.connect_timeout_ms, errstr,
                                       errstr_size) != n) {
                if (vigil_mono_us() >= deadline)
                    break;
                since = vigil_mono_us();
            }
        }
    }

    pthread_mutex_lock(&bus->lock);
    for (t = bus->topics; t && strcmp(t->name, name) != 0; t = t->next)
        ;
    if (!t && (t = calloc(1, sizeof(*t))) && (t->name = strdup(name))) {
        t->partitions = n;
        atomic_init(&t->inflight, 0);
        t->published = vigil_metrics_counter("vigil_bus_delivered_total",
                                             "messages the Kafka cluster acknowledged", "topic",
                                             name, NULL, NULL);
        t->failed = vigil_metrics_counter("vigil_bus_delivery_failed_total",
                                          "messages the Kafka cluster did not accept", "topic",
                                          name, NULL, NULL);
        t->next = bus->topics;
        bus->topics = t;
    } else if (!t || !t->name) {
        if (t)
            free(t);
        t = NULL;
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "topic \"%s\": out of memory", name);
    }
    pthread_mutex_unlock(&bus->lock);
    return t;
}

/* --- bus operations ----------------------------------------------------------------- */

vigil_err_t kafka__produce(kbus_t *bus, rd_kafka_t *rk, int track, const char *topic,
                           const void *key, size_t key_len, const void *value, size_t value_len,
                           int timeout_ms)
{
    char err[256];
    ktopic_t *t;
    int32_t p;
    int64_t deadline = vigil_mono_us() + (int64_t)timeout_ms * 1000;
    unsigned char ts[8];
    uint64_t now = (uint64_t)vigil_now_us();

    if (atomic_load(&bus->closed))
        return VIGIL_ERR_CLOSED;
    t = kafka__topic(bus, topic, err, sizeof(err));
    if (!t) {
        vigil_error(KAFKA_STAGE, NULL, "publish: %s", err);
        return VIGIL_ERR_BUS;
    }
    p = vigil_bus_partition_for(key, key_len, t->partitions);
    for (int i = 0; i < 8; i++)
        ts[i] = (unsigned char)(now >> (56 - 8 * i));
    for (;;) {
        rd_kafka_resp_err_t rerr;

        if (track)
            atomic_fetch_add(&t->inflight, 1);
        rerr = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(p),
            RD_KAFKA_V_KEY((void *)key, key_len), RD_KAFKA_V_VALUE((void *)value, value_len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP((int64_t)(now / 1000)),
            RD_KAFKA_V_HEADER(KAFKA_TS_HEADER, ts, (ssize_t)sizeof(ts)),
            RD_KAFKA_V_OPAQUE((track ? t : NULL)), RD_KAFKA_V_END);
        if (rerr == RD_KAFKA_RESP_ERR_NO_ERROR)
            return VIGIL_OK;
        if (track)
            atomic_fetch_sub(&t->inflight, 1);
        if (rerr != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            vigil_error(KAFKA_STAGE, NULL, "publish to topic \"%s\" (%zu bytes): %s", topic,
                        value_len, rd_kafka_err2str(rerr));
            return kafka__err(rerr) == VIGIL_ERR_INVALID ? VIGIL_ERR_INVALID : VIGIL_ERR_BUS;
        }
        if (atomic_load(&bus->closed))
            return VIGIL_ERR_CLOSED;
        if (timeout_ms == 0 || (timeout_ms > 0 && vigil_mono_us() >= deadline))
            return VIGIL_ERR_FULL;
        if (!track)
            rd_kafka_poll(rk, 5); /* a transactional producer has no poller thread */
        else
            vigil_sleep_us(5000); /* the poller thread frees space as reports arrive */
    }
}

static vigil_err_t k_publish(vigil_bus_t *b, const char *topic, const void *key, size_t key_len,
                             const void *value, size_t value_len, int timeout_ms)
{
    kbus_t *bus = (kbus_t *)b;
    return kafka__produce(bus, bus->producer, 1, topic, key, key_len, value, value_len,
                          timeout_ms);
}

void kafka__flush_quiet(kbus_t *bus, int timeout_ms)
{
    rd_kafka_flush(bus->producer, timeout_ms);
}

static vigil_err_t k_flush(vigil_bus_t *b, int timeout_ms)
{
    kbus_t *bus = (kbus_t *)b;
    rd_kafka_resp_err_t rerr = rd_kafka_flush(bus->producer, timeout_ms < 0 ? -1 : timeout_ms);
    long failed = atomic_exchange(&bus->failed_since_flush, 0);

    if (failed > 0) {
        vigil_error(KAFKA_STAGE, NULL, "flush: %ld messages were not delivered since the last flush",
                    failed);
        return VIGIL_ERR_BUS;
    }
    return rerr ? VIGIL_ERR_TIMED_OUT : VIGIL_OK;
}

/* One look at whether topic is drained: VIGIL_OK, VIGIL_ERR_TIMED_OUT (not
 * yet) or another error. */
static vigil_err_t drain_check(kbus_t *bus, const char *topic)
{
    char err[256];
    ktopic_t *t;
    int64_t *committed = NULL;
    int64_t *low = NULL, *high = NULL;
    vigil_err_t ret = VIGIL_OK;
    size_t ngroups = 0;
    char **groups = NULL;

    pthread_mutex_lock(&bus->lock);
    for (t = bus->topics; t && strcmp(t->name, topic) != 0; t = t->next)
        ;
    for (kgroupref_t *g = bus->groups; g; g = g->next)
        if (strcmp(g->topic, topic) == 0)
            ngroups++;
    if (t && atomic_load(&t->inflight) > 0)
        ret = VIGIL_ERR_TIMED_OUT;
    if (ret == VIGIL_OK && t && ngroups > 0) {
        groups = calloc(ngroups, sizeof(*groups));
        ngroups = 0;
        for (kgroupref_t *g = bus->groups; groups && g; g = g->next)
            if (strcmp(g->topic, topic) == 0) {
                groups[ngroups++] = g->group;
                kafka__commit_group(bus, g->group);
            }
    }
    pthread_mutex_unlock(&bus->lock);
    if (ret != VIGIL_OK || !t || ngroups == 0)
        goto done; /* nothing published through this bus, or no group: drained */
    if (!groups)
        return VIGIL_ERR_NOMEM;
    committed = calloc((size_t)t->partitions, sizeof(*committed));
    low = calloc((size_t)t->partitions, sizeof(*low));
    high = calloc((size_t)t->partitions, sizeof(*high));
    if (!committed || !low || !high) {
        ret = VIGIL_ERR_NOMEM;
        goto done;
    }
    for (int p = 0; p < t->partitions; p++) {
        rd_kafka_resp_err_t rerr = rd_kafka_query_watermark_offsets(
            bus->producer, topic, p, &low[p], &high[p], bus->url.connect_timeout_ms);
        if (rerr) {
            vigil_warn(KAFKA_STAGE, NULL, "drain: topic \"%s\" partition %d watermarks: %s", topic,
                       p, rd_kafka_err2str(rerr));
            ret = VIGIL_ERR_TIMED_OUT;
            goto done;
        }
    }
    /* group names stay valid: kgroupref_t entries are freed only with the bus */
    for (size_t g = 0; g < ngroups && ret == VIGIL_OK; g++) {
        if (kafka__committed(bus->producer, groups[g], topic, t->partitions, committed,
                             bus->url.connect_timeout_ms, err, sizeof(err)) != VIGIL_OK) {
            vigil_warn(KAFKA_STAGE, NULL, "drain: %s", err);
            ret = VIGIL_ERR_TIMED_OUT;
            break;
        }
        for (int p = 0; p < t->partitions; p++)
            if (high[p] > low[p] && committed[p] < high[p])
                ret = VIGIL_ERR_TIMED_OUT;
    }
done:
    free(groups);
    free(committed);
    free(low);
    free(high);
    return ret;
}

static vigil_err_t k_drain(vigil_bus_t *b, const char *topic, int timeout_ms)
{
    kbus_t *bus = (kbus_t *)b;
    int64_t deadline = vigil_mono_us() + (int64_t)timeout_ms * 1000;
    vigil_err_t err;

    for (;;) {
        err = drain_check(bus, topic);
        if (err != VIGIL_ERR_TIMED_OUT)
            return err;
        if (timeout_ms >= 0 && vigil_mono_us() >= deadline)
            return VIGIL_ERR_TIMED_OUT;
        vigil_sleep_us(50000);
    }
}

static void k_close(vigil_bus_t *b)
{
    kbus_t *bus = (kbus_t *)b;

    if (atomic_exchange(&bus->closed, 1))
        return;
    /* what was published before close must reach the log so consumers drain it */
    if (rd_kafka_flush(bus->producer, bus->url.connect_timeout_ms))
        vigil_warn(KAFKA_STAGE, NULL, "close: %d messages still undelivered after %d ms",
                   rd_kafka_outq_len(bus->producer), bus->url.connect_timeout_ms);
}

static void k_free(vigil_bus_t *b)
{
    kbus_t *bus = (kbus_t *)b;

    if (bus->consumers)
        vigil_error(KAFKA_STAGE, NULL, "bus freed while consumers are open");
    if (bus->producer) {
        if (rd_kafka_flush(bus->producer, bus->url.connect_timeout_ms))
            vigil_error(KAFKA_STAGE, NULL, "free: %d messages undelivered (dropped)",
                        rd_kafka_outq_len(bus->producer));
        atomic_store(&bus->stop_poller, 1);
        pthread_join(bus->poller, NULL);
        rd_kafka_destroy(bus->producer);
    }
    while (bus->topics) {
        ktopic_t *t = bus->topics;
        bus->topics = t->next;
        free(t->name);
        free(t);
    }
    while (bus->groups) {
        kgroupref_t *g = bus->groups;
        bus->groups = g->next;
        free(g->group);
        free(g->topic);
        free(g);
    }
    kafka__url_release(&bus->url);
    pthread_mutex_destroy(&bus->lock);
    free(bus);
}

/* One metadata request to any broker. */
static vigil_err_t k_ping(vigil_bus_t *b, int timeout_ms)
{
    kbus_t *bus = (kbus_t *)b;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t rerr = rd_kafka_metadata(bus->producer, 0, NULL, &md, timeout_ms);

    if (md)
        rd_kafka_metadata_destroy(md);
    return rerr ? VIGIL_ERR_BUS : VIGIL_OK;
}

const vigil__bus_ops_t kafka__ops = {
    .publish = k_publish,
    .flush = k_flush,
    .ping = k_ping,
    .drain = k_drain,
    .close = k_close,
    .free = k_free,
    .subscribe = kafka__subscribe,
    .poll = kafka__poll,
    .ack = kafka__ack,
    .release = kafka__release,
    .commit = kafka__commit,
    .lag = kafka__lag,
    .leave = kafka__leave,
    .consumer_publish = kafka__consumer_publish,
    .report_lag = kafka__report_lag,
    .set_rebalance_cb = kafka__set_rebalance_cb,
};

/* --- open --------------------------------------------------------------------------- */

int vigil__kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                          size_t errstr_size)
{
    char buf[256];

    if (rd_kafka_conf_set(conf, name, value, buf, sizeof(buf)) == RD_KAFKA_CONF_OK)
        return 0;
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "kafka setting %s=%s: %s", name, value,
                 buf);
    return -1;
}

int kafka__producer_conf(kbus_t *bus, rd_kafka_conf_t *kc, char *errstr, size_t errstr_size)
{
    char num[32];

    snprintf(num, sizeof(num), "%d", KAFKA_MAX_MESSAGE_BYTES);
    if (vigil__kafka_conf_set(kc, "bootstrap.servers", bus->url.brokers, errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "client.id", bus->client_id, errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "enable.idempotence", "true", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "acks", "all", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "compression.codec", bus->url.compression, errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "linger.ms", "5", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "batch.size", "1048576", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "message.max.bytes", num, errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "queue.buffering.max.kbytes", "65536", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "queue.buffering.max.messages", "20000", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "message.timeout.ms", "120000", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "socket.connection.setup.timeout.ms", "5000", errstr, errstr_size) ||
        vigil__kafka_conf_set(kc, "reconnect.backoff.max.ms", "1000", errstr, errstr_size))
        return -1;
    rd_kafka_conf_set_error_cb(kc, on_error);
    rd_kafka_conf_set_log_cb(kc, on_log);
    return 0;
}

vigil_bus_t *vigil__kafka_open(const char *urlstr, const char *rest, const vigil_bus_conf_t *conf,
                               char *errstr, size_t errstr_size)
{
    char buf[512], shown[512];
    kbus_t *bus = calloc(1, sizeof(*bus));
    rd_kafka_conf_t *kc = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t rerr;
    int poller_started = 0;

    if (!bus) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "kafka bus: out of memory");
        return NULL;
    }
    pthread_mutex_init(&bus->lock, NULL);
    bus->base.ops = &kafka__ops;
    bus->conf = *conf;
    snprintf(bus->client_id, sizeof(bus->client_id), "vigil-%s",
             conf->client_id ? conf->client_id : "bus");
    bus->conf.client_id = bus->client_id;
    if (kafka__url_parse(rest, &bus->url, errstr, errstr_size) != VIGIL_OK)
        goto fail;

    kc = rd_kafka_conf_new();
    if (kafka__producer_conf(bus, kc, errstr, errstr_size))
        goto fail;
    rd_kafka_conf_set_opaque(kc, bus);
    rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
    bus->producer = rd_kafka_new(RD_KAFKA_PRODUCER, kc, buf, sizeof(buf));
    if (!bus->producer) {
        vigil_url_redact(urlstr, shown, sizeof(shown)); /* bus.url is sensitive */
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_BUS, "kafka bus \"%s\": %s", shown, buf);
        goto fail;
    }
    kc = NULL; /* owned by the producer now */
    if (pthread_create(&bus->poller, NULL, poller_main, bus) != 0) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "kafka bus: cannot start a thread");
        goto fail;
    }
    poller_started = 1;
    rerr = rd_kafka_metadata(bus->producer, 0, NULL, &md, bus->url.connect_timeout_ms);
    if (rerr) {
        vigil_url_redact(urlstr, shown, sizeof(shown));
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_BUS,
                     "kafka bus \"%s\": no broker reachable within %d ms: %s", shown,
                     bus->url.connect_timeout_ms, rd_kafka_err2str(rerr));
        goto fail;
    }
    bus->brokers = md->broker_cnt;
    rd_kafka_metadata_destroy(md);
    return &bus->base;
fail:
    if (kc)
        rd_kafka_conf_destroy(kc);
    if (bus->producer) {
        if (poller_started) {
            atomic_store(&bus->stop_poller, 1);
            pthread_join(bus->poller, NULL);
        }
        rd_kafka_destroy(bus->producer);
    }
    kafka__url_release(&bus->url);
    pthread_mutex_destroy(&bus->lock);
    free(bus);
    return NULL;
}
