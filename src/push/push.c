/* The push service: configuration, the bounded alert queue, alert payloads,
 * subscription filters, and the test alert (docs/push.md).
 *
 * The queue is a ring of conf.queue_max alerts. Whatever arrives (events
 * from the bus, test requests), memory stays bounded: when it is full the
 * oldest alert is dropped, counted in vigil_push_dropped_total and logged
 * (rate-limited). Nothing of an endpoint but its origin is ever logged. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "push/push_int.h"
#include "vigil/clock.h"

#define QUEUE_LIMIT 100000

static char *dup_or(const char *s, const char *def)
{
    return strdup(s && *s ? s : def);
}

vigil_push_t *vigil_push_new(const vigil_push_conf_t *conf, char *errstr, size_t errstr_size)
{
    vigil_push_t *push = calloc(1, sizeof(*push));
    pthread_condattr_t ca;
    uint8_t pub[VIGIL_PUSH_KEY_LEN];
    char path[PATH_MAX];

    if (!push) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "push: out of memory");
        return NULL;
    }
    pthread_mutex_init(&push->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&push->wake, &ca);
    pthread_condattr_destroy(&ca);
    push->conf = *conf;
    push->subject = dup_or(conf->subject, "mailto:vigil@localhost");
    push->data_dir = dup_or(conf->data_dir, "./data");
    push->store_url = dup_or(conf->store_url, "sqlite");
    if (!push->subject || !push->data_dir || !push->store_url) goto nomem;
    if (strncmp(push->subject, "mailto:", 7) != 0 && strncmp(push->subject, "https://", 8) != 0) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                     "push.subject \"%s\": must be a mailto: or https: URL", push->subject);
        goto fail;
    }
    if (conf->vapid_key && *conf->vapid_key)
        snprintf(path, sizeof(path), "%s", conf->vapid_key);
    else
        snprintf(path, sizeof(path), "%s/push_vapid.pem", push->data_dir);
    if (!(push->key_path = strdup(path))) goto nomem;
    if (push->conf.queue_max <= 0) push->conf.queue_max = 1024;
    if (push->conf.queue_max > QUEUE_LIMIT) push->conf.queue_max = QUEUE_LIMIT;
    if (push->conf.retry_base_ms <= 0) push->conf.retry_base_ms = 1000;
    if (push->conf.retry_max_ms < push->conf.retry_base_ms)
        push->conf.retry_max_ms = push->conf.retry_base_ms;
    if (push->conf.retries < 0) push->conf.retries = 0;
    if (push->conf.timeout_ms <= 0) push->conf.timeout_ms = 10000;
    push->conf.subject = push->subject;
    push->conf.vapid_key = push->key_path;
    push->conf.data_dir = push->data_dir;
    push->conf.store_url = push->store_url;
    if (!(push->queue = calloc((size_t)push->conf.queue_max, sizeof(*push->queue)))) goto nomem;
    if (!(push->key = vigil_push_key_load(push->key_path, 1, errstr, errstr_size))) goto fail;
    vigil_push_key_public(push->key, pub);
    vigil_push_b64url_encode(pub, sizeof(pub), push->public_b64, sizeof(push->public_b64));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    push->m_sent = vigil_metrics_counter("vigil_push_sent_total",
                                         "push alerts a push service accepted", NULL, NULL, NULL,
                                         NULL);
    push->m_failed = vigil_metrics_counter("vigil_push_failed_total",
                                           "push alerts given up on (refused, or out of retries)",
                                           NULL, NULL, NULL, NULL);
    push->m_retries = vigil_metrics_counter("vigil_push_retries_total",
                                            "push sends tried again after 429, 5xx or a network "
                                            "error", NULL, NULL, NULL, NULL);
    push->m_dropped = vigil_metrics_counter("vigil_push_dropped_total",
                                            "push alerts dropped from a full queue (or at stop)",
                                            NULL, NULL, NULL, NULL);
    push->m_removed = vigil_metrics_counter("vigil_push_removed_total",
                                            "push subscriptions removed after 404 or 410", NULL,
                                            NULL, NULL, NULL);
    push->m_refused = vigil_metrics_counter("vigil_push_refused_total",
                                            "push sends refused before connecting: the "
                                            "endpoint's address is loopback, private, "
                                            "link-local or reserved (docs/push.md)",
                                            NULL, NULL, NULL, NULL);
    push->m_matched = vigil_metrics_counter("vigil_push_matched_total",
                                            "alerts queued for events matching a subscription",
                                            NULL, NULL, NULL, NULL);
    push->m_queue = vigil_metrics_gauge("vigil_push_queue", "push alerts waiting to be sent",
                                        NULL, NULL, NULL, NULL);
    return push;
nomem:
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "push: out of memory");
fail:
    vigil_push_free(push);
    return NULL;
}

vigil_err_t vigil_push_start(vigil_push_t *push, struct vigil_bus *bus, char *errstr,
                             size_t errstr_size)
{
    push->bus = bus;
    push->start_us = vigil_now_us();
    if (vigil__push_sender_start(push, errstr, errstr_size)) return VIGIL_ERR_NOMEM;
    if (bus && push->conf.enabled && vigil__push_feed_start(push, errstr, errstr_size)) {
        vigil__push_sender_stop(push);
        return VIGIL_ERR_BUS;
    }
    return VIGIL_OK;
}

static void job_free(vigil__push_job_t *job)
{
    if (!job) return;
    free(job->payload);
    OPENSSL_cleanse(job, sizeof(*job));
    free(job);
}

void vigil_push_stop(vigil_push_t *push)
{
    size_t dropped = 0;

    if (!push) return;
    vigil__push_feed_stop(push);
    vigil__push_sender_stop(push);
    pthread_mutex_lock(&push->lock);
    while (push->count) {
        job_free(push->queue[push->head]);
        push->queue[push->head] = NULL;
        push->head = (push->head + 1) % (size_t)push->conf.queue_max;
        push->count--;
        dropped++;
    }
    pthread_mutex_unlock(&push->lock);
    if (dropped) {
        vigil_counter_add(push->m_dropped, dropped);
        vigil_gauge_set(push->m_queue, 0);
        vigil_warn("push", NULL, "stopping: %zu push alerts not sent", dropped);
    }
}

void vigil_push_free(vigil_push_t *push)
{
    if (!push) return;
    vigil_push_stop(push);
    vigil_log_limit_flush(&push->queue_limit);
    vigil_push_key_free(push->key);
    free(push->queue);
    free(push->subject);
    free(push->key_path);
    free(push->data_dir);
    free(push->store_url);
    pthread_mutex_destroy(&push->lock);
    pthread_cond_destroy(&push->wake);
    free(push);
}

const char *vigil_push_public_key(const vigil_push_t *push)
{
    return push->public_b64;
}

int vigil_push_allow_http_loopback(const vigil_push_t *push)
{
    return push->conf.allow_http_loopback;
}

vigil_store_t *vigil__push_store_open(vigil_push_t *push, char *errstr, size_t errstr_size)
{
    vigil_store_conf_t sc;
    vigil_store_conf_init(&sc);
    sc.url = push->store_url;
    sc.data_dir = push->data_dir;
    sc.migrate = 0;
    return vigil_store_open(&sc, errstr, errstr_size);
}

int vigil__push_enqueue(vigil_push_t *push, const vigil_push_sub_t *sub, const char *payload)
{
    vigil__push_job_t *job = calloc(1, sizeof(*job)), *old = NULL;
    size_t qmax = (size_t)push->conf.queue_max;

    if (!job) return -1;
    if (vigil_push_b64url_decode(sub->p256dh, strlen(sub->p256dh), job->p256dh,
                            sizeof(job->p256dh)) != VIGIL_PUSH_KEY_LEN ||
        vigil_push_b64url_decode(sub->auth, strlen(sub->auth), job->auth, sizeof(job->auth)) !=
            VIGIL_PUSH_AUTH_LEN ||
        vigil_push_origin(sub->endpoint, job->origin, sizeof(job->origin)) ||
        !(job->payload = strdup(payload))) {
        job_free(job);
        return -1;
    }
    snprintf(job->endpoint, sizeof(job->endpoint), "%s", sub->endpoint);
    job->len = strlen(payload);
    job->due_us = vigil_mono_us();
    pthread_mutex_lock(&push->lock);
    if (push->stopping) {
        pthread_mutex_unlock(&push->lock);
        job_free(job);
        return -1;
    }
    if (push->count == qmax) {
        old = push->queue[push->head];
        push->queue[push->head] = NULL;
        push->head = (push->head + 1) % qmax;
        push->count--;
    }
    push->queue[(push->head + push->count) % qmax] = job;
    push->count++;
    vigil_gauge_set(push->m_queue, (int64_t)push->count);
    if (old)
        vigil_log_limited(&push->queue_limit, VIGIL_LOG_WARN, "push", NULL, NULL,
                          "push queue full (%zu alerts): dropped the oldest, to %s", qmax,
                          old->origin);
    pthread_cond_signal(&push->wake);
    pthread_mutex_unlock(&push->lock);
    if (old) {
        vigil_counter_inc(push->m_dropped);
        job_free(old);
    }
    return 0;
}

/* Copies at most max bytes of s into a JSON string, cut on a UTF-8
 * boundary. */
static json_t *json_cut(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max) {
        n = max;
        while (n && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
    }
    return json_stringn(s, n);
}

char *vigil_push_payload(const char *title, const char *body, int64_t event_id,
                         const char *camera, const char *kind)
{
    char url[64];
    json_t *o;
    char *s;

    if (event_id > 0) snprintf(url, sizeof(url), "/#/review?event=%lld", (long long)event_id);
    else snprintf(url, sizeof(url), "/#/review");
    o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "title", json_cut(title ? title : "", 200));
    json_object_set_new(o, "body", json_cut(body ? body : "", 1024));
    json_object_set_new(o, "event_id", event_id > 0 ? json_integer(event_id) : json_null());
    json_object_set_new(o, "camera", json_cut(camera ? camera : "", 64));
    json_object_set_new(o, "kind", json_cut(kind ? kind : "", 64));
    json_object_set_new(o, "url", json_string(url));
    s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    /* \u escapes can grow the text up to 6x; past the cap, the body goes */
    if (s && strlen(s) > VIGIL__PUSH_PAYLOAD_MAX) {
        free(s);
        return vigil_push_payload(title, "", event_id, camera, kind);
    }
    return s;
}

/* Whether the filter list `key` of f is absent, empty, or holds value. */
static int list_allows(json_t *f, const char *key, const char *value)
{
    json_t *list = json_object_get(f, key), *it;
    size_t i;

    if (!list || json_is_null(list)) return 1;
    if (!json_is_array(list)) return 0;
    if (json_array_size(list) == 0) return 1;
    if (!value || !*value) return 0;
    json_array_foreach(list, i, it) {
        if (json_is_string(it) && strcmp(json_string_value(it), value) == 0) return 1;
    }
    return 0;
}

int vigil_push_filters_match(const char *filters_json, const char *camera, const char *kind,
                             const char *label, const char *zone, const char *line)
{
    json_t *f = json_loads(filters_json ? filters_json : "{}", JSON_REJECT_DUPLICATES, NULL);
    int ok;

    if (!json_is_object(f)) {
        json_decref(f);
        return 0;
    }
    ok = list_allows(f, "cameras", camera) && list_allows(f, "kinds", kind) &&
         list_allows(f, "labels", label) && list_allows(f, "zones", zone) &&
         list_allows(f, "lines", line);
    json_decref(f);
    return ok;
}

vigil_err_t vigil_push_send_test(vigil_push_t *push, struct vigil_store *store, int64_t user_id,
                                 int *n, char *errstr, size_t errstr_size)
{
    vigil_push_sub_t *subs = NULL;
    size_t nsubs = 0;
    char *payload;
    vigil_err_t err;

    *n = 0;
    err = vigil_store_push_sub_list(store, user_id, &subs, &nsubs, errstr, errstr_size);
    if (err) return err;
    if (!nsubs) {
        vigil_push_subs_free(subs, nsubs);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND,
                            "you have no push subscription");
    }
    payload = vigil_push_payload("vigil: test alert", "Push alerts reach this browser.", 0, "",
                                 "test");
    for (size_t i = 0; payload && i < nsubs; i++)
        if (vigil__push_enqueue(push, &subs[i], payload) == 0) (*n)++;
    free(payload);
    vigil_push_subs_free(subs, nsubs);
    if (!*n)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "push: cannot queue the alert");
    return VIGIL_OK;
}
