/* The search indexer: topics detections, events and tracks -> the search
 * node's daily indices, through _bulk (docs/search.md).
 *
 * One thread, member of consumer group "search". Messages are held while
 * their documents (docs.c) collect in one _bulk body, which is sent when it
 * has search.batch_size documents, MAX_HELD messages, when its oldest
 * message waited search.flush_ms, or when the topics have nothing more right
 * now. The messages are acknowledged only once every document of the body
 * is settled, so the bus offsets committed never pass a document the node
 * has not taken: after a crash or a restart the indexer resumes from them,
 * and what it sends again overwrites the same ids.
 *
 * Settling, per answer:
 *   no answer (connection refused, timeout), 429, 5xx for the whole request:
 *     the same body again after 200 ms doubling to search.retry_max_ms, for
 *     as long as it takes (the held messages are the backpressure: nothing
 *     new is polled meanwhile); /healthz says degraded, the log says it once
 *     per 10 s with a count;
 *   200 with item errors: an item answered 429 or 5xx is sent again (only the
 *     items still pending, same backoff); 409 (an older report of an event
 *     than the node has) is a duplicate, counted dropped; any other item error
 *     (a mapping conflict: mapper_parsing_exception, a bad value) is refused
 *     for good: counted failed, logged with the document id and the node's
 *     reason, never retried;
 *   any other status for the whole request (400, 413): every document of it
 *     is refused, counted and logged.
 * Memory is bounded by the batch (documents and MAX_HELD messages); the node
 * being down stops the indexer polling, not vigil's other consumers (on the
 * in-process bus the bounded topics then hold the pipeline back, as a
 * warehouse that is down does).
 *
 * Metrics stage "search": in = messages acknowledged, out = documents the
 * node took, dropped = duplicates (409), failed = documents refused and
 * messages that could not be decoded; vigil_search_bulk_total{result} counts
 * requests (ok, retried, refused). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/search_int.h"
#include "vigil/clock.h"
#include "vigil/health.h"
#include "vigil/log.h"
#include "vigil/metrics.h"
#include "vigil/search.h"
#include "vigil/workers.h"

#define STAGE "search"
#define POLL_MS 100
#define BACKOFF_MIN_US 200000
/* held messages are not committed and count against a bounded bus partition */
#define MAX_HELD 128
#define SWEEP_EVERY_US (3600 * (int64_t)1000000)
#define BULK_PATH                                                                                \
    "/_bulk?filter_path=errors,items.*.status,items.*._id,items.*.error.type,"                 \
    "items.*.error.reason"

struct vigil_search_indexer {
    const vigil_config_t *cfg;
    vigil_bus_t *bus;
    vigil_consumer_t *consumer;
    vigil_workers_t thread;
    vigil__os_t os;
    vigil_stage_metrics_t m;
    vigil_counter_t *bulk_ok, *bulk_retried, *bulk_refused;
    int64_t lag_reported;
    vigil_bus_msg_t *held[MAX_HELD];
    size_t nheld;
    int64_t first_held_us;
    vigil__bulk_t bulk;   /* every document of the held messages */
    vigil__bulk_t resend; /* the pending ones, when a retry sends part of it */
    size_t *pending;      /* indexes into bulk.docs still to settle */
    size_t npending, cappending;
    int templates_ok;
    int64_t next_sweep_us; /* monotonic */
    int64_t backoff_us;
    uint64_t retries;
    vigil_log_limit_t errlog, itemlog;
};

static double retention_hours(const vigil_config_t *cfg)
{
    double longest = cfg->store_retention_hours;
    if (longest <= 0) return 0;
    for (size_t i = 0; i < cfg->ncameras; i++) {
        if (cfg->cameras[i].retention_hours == 0) return 0; /* kept forever */
        if (cfg->cameras[i].retention_hours > longest) longest = cfg->cameras[i].retention_hours;
    }
    return longest;
}

static void ack_all(vigil_search_indexer_t *ix)
{
    for (size_t i = 0; i < ix->nheld; i++) {
        vigil_err_t err = vigil_consumer_ack(ix->consumer, ix->held[i]);
        if (err)
            vigil_warn(STAGE, NULL, "cannot ack a message: %s", vigil_err_str(err));
    }
    vigil_counter_add(ix->m.in, ix->nheld);
    ix->nheld = 0;
    vigil__bulk_reset(&ix->bulk);
    ix->npending = 0;
}

static void release_all(vigil_search_indexer_t *ix)
{
    for (size_t i = 0; i < ix->nheld; i++) vigil_consumer_release(ix->consumer, ix->held[i]);
    ix->nheld = 0;
    vigil__bulk_reset(&ix->bulk);
    ix->npending = 0;
}

static void note_retriable(vigil_search_indexer_t *ix, const char *what, const char *errstr)
{
    char problem[640];
    int64_t cap = (int64_t)ix->cfg->search_retry_max_ms * 1000;
    ix->backoff_us = ix->backoff_us ? ix->backoff_us * 2 : BACKOFF_MIN_US;
    if (ix->backoff_us > cap) ix->backoff_us = cap;
    ix->retries++;
    vigil_log_limited(&ix->errlog, VIGIL_LOG_ERROR, STAGE, NULL, NULL,
                      "cannot index %s (will retry in %.1f s): %s", what,
                      (double)ix->backoff_us / 1e6, errstr);
    snprintf(problem, sizeof problem, "cannot index %s, retrying: %s", what, errstr);
    vigil_health_set(STAGE, NULL, VIGIL_HEALTH_DEGRADED, problem);
}

static void note_indexed(vigil_search_indexer_t *ix)
{
    if (!ix->retries) return;
    vigil_log_limit_flush(&ix->errlog);
    vigil_info(STAGE, NULL, "indexing into %s again after %llu failed tries", ix->os.shown,
               (unsigned long long)ix->retries);
    vigil_health_clear(STAGE, NULL);
    ix->retries = 0;
    ix->backoff_us = 0;
}

/* Waits the current backoff in slices, so that a stop is not delayed. */
static void back_off(vigil_search_indexer_t *ix)
{
    int64_t until = vigil_mono_us() + (ix->backoff_us ? ix->backoff_us : BACKOFF_MIN_US);
    while (!vigil_workers_stopping(&ix->thread)) {
        int64_t left = until - vigil_mono_us();
        if (left <= 0) break;
        vigil_sleep_us(left < POLL_MS * 1000 ? left : POLL_MS * 1000);
    }
}

/* A document the node will never take: counted, logged with its id. */
static void refuse_doc(vigil_search_indexer_t *ix, size_t d, const char *why)
{
    char fields[320];
    const struct vigil__bulk_doc *doc = &ix->bulk.docs[d];
    vigil_counter_inc(ix->m.failed);
    json_t *f = json_pack("{s:s}", "doc_id", doc->id);
    char *s = f ? json_dumps(f, JSON_COMPACT) : NULL;
    /* the object's braces off: log fields are the inside of an object */
    snprintf(fields, sizeof fields, "%.*s", s ? (int)strlen(s) - 2 : 0, s ? s + 1 : "");
    vigil_log_limited(&ix->itemlog, VIGIL_LOG_ERROR, STAGE, NULL, fields,
                      "document %s refused by %s, not retried: %s", doc->id, ix->os.shown, why);
    free(s);
    json_decref(f);
}

/* The body of the documents still pending: the whole batch on the first
 * try, else the pending ones copied into ix->resend. */
static const vigil__bulk_t *pending_body(vigil_search_indexer_t *ix, int first)
{
    if (first) return &ix->bulk;
    vigil__bulk_reset(&ix->resend);
    for (size_t i = 0; i < ix->npending; i++) {
        const struct vigil__bulk_doc *d = &ix->bulk.docs[ix->pending[i]];
        if (ix->resend.len + d->len + 1 > ix->resend.cap) {
            size_t cap = ix->resend.cap ? ix->resend.cap : 65536;
            while (cap < ix->resend.len + d->len + 1) cap *= 2;
            char *grown = realloc(ix->resend.buf, cap);
            if (!grown) return NULL;
            ix->resend.buf = grown;
            ix->resend.cap = cap;
        }
        memcpy(ix->resend.buf + ix->resend.len, ix->bulk.buf + d->off, d->len);
        ix->resend.len += d->len;
    }
    return &ix->resend;
}

/* Reads a 200 answer of _bulk: settles each pending item, keeps those the
 * node asks to send again (429, 5xx). Returns how many are still pending,
 * with the first reason in why. */
static size_t settle_items(vigil_search_indexer_t *ix, const vigil__os_reply_t *reply,
                           char *why, size_t why_size)
{
    json_error_t jerr;
    json_t *root = json_loads(reply->body ? reply->body : "", 0, &jerr);
    json_t *items = json_object_get(root, "items");
    size_t keep = 0;
    why[0] = '\0';
    if (!json_is_true(json_object_get(root, "errors"))) {
        /* filter_path drops items when none failed: every document is in */
        vigil_counter_add(ix->m.out, ix->npending);
        json_decref(root);
        ix->npending = 0;
        return 0;
    }
    for (size_t i = 0; i < ix->npending; i++) {
        json_t *item = json_array_get(items, i);
        json_t *op = item ? json_object_get(item, "index") : NULL;
        json_int_t status = json_integer_value(json_object_get(op, "status"));
        json_t *error = json_object_get(op, "error");
        char reason[320];
        const char *type = json_string_value(json_object_get(error, "type"));
        const char *text = json_string_value(json_object_get(error, "reason"));
        snprintf(reason, sizeof reason, "HTTP %lld %s: %s", (long long)status,
                 type ? type : "?", text ? text : "");
        if (!op) {
            /* fewer items than documents: not an answer to this body; again */
            ix->pending[keep++] = ix->pending[i];
            if (!why[0]) snprintf(why, why_size, "the answer lists fewer items than were sent");
        } else if (status == 200 || status == 201) {
            vigil_counter_inc(ix->m.out);
        } else if (status == 409) {
            vigil_counter_inc(ix->m.dropped); /* a newer report of the event is there */
        } else if (status == 429 || status >= 500) {
            ix->pending[keep++] = ix->pending[i];
            if (!why[0]) snprintf(why, why_size, "%s", reason);
        } else {
            refuse_doc(ix, ix->pending[i], reason);
        }
    }
    json_decref(root);
    ix->npending = keep;
    return keep;
}

/* Sends the held documents until every one is settled, or the indexer is
 * stopping (then what is not settled goes back to the bus). */
static void flush(vigil_search_indexer_t *ix)
{
    char errstr[512], why[384], what[96];
    vigil__os_reply_t reply = {0};
    int first = 1;
    int64_t t0 = vigil_mono_us();

    if (ix->nheld == 0) return;
    if (ix->bulk.ndocs > ix->cappending) {
        size_t *grown = realloc(ix->pending, ix->bulk.ndocs * sizeof *grown);
        if (!grown) {
            note_retriable(ix, "a batch", "out of memory");
            release_all(ix);
            return;
        }
        ix->pending = grown;
        ix->cappending = ix->bulk.ndocs;
    }
    for (size_t i = 0; i < ix->bulk.ndocs; i++) ix->pending[i] = i;
    ix->npending = ix->bulk.ndocs;
    while (ix->npending) {
        if (!first || !ix->templates_ok) {
            if (!first) back_off(ix);
            if (vigil_workers_stopping(&ix->thread) && !first) break;
        }
        snprintf(what, sizeof what, "%zu documents of %zu messages", ix->npending, ix->nheld);
        if (!ix->templates_ok) {
            if (vigil__os_install_templates(&ix->os, ix->cfg->search_index_prefix,
                                            retention_hours(ix->cfg), errstr, sizeof errstr)) {
                note_retriable(ix, what, errstr);
                first = 0;
                continue;
            }
            ix->templates_ok = 1;
            vigil_info(STAGE, NULL, "index templates %s-* in place on %s",
                       ix->cfg->search_index_prefix, ix->os.shown);
        }
        const vigil__bulk_t *body = pending_body(ix, first);
        first = 0;
        if (!body) {
            note_retriable(ix, what, "out of memory");
            continue;
        }
        vigil_err_t err = vigil__os_request(&ix->os, "POST", BULK_PATH, body->buf, body->len, 1,
                                            &reply, errstr, sizeof errstr);
        if (err) {
            vigil_counter_inc(ix->bulk_retried);
            note_retriable(ix, what, errstr);
            continue;
        }
        if (reply.status == 429 || reply.status >= 500) {
            vigil__os_reply_error(&reply, why, sizeof why);
            snprintf(errstr, sizeof errstr, "%s: %s", ix->os.shown, why);
            vigil_counter_inc(ix->bulk_retried);
            note_retriable(ix, what, errstr);
            continue;
        }
        if (reply.status != 200) {
            vigil__os_reply_error(&reply, why, sizeof why);
            vigil_counter_inc(ix->bulk_refused);
            for (size_t i = 0; i < ix->npending; i++) refuse_doc(ix, ix->pending[i], why);
            ix->npending = 0;
            break;
        }
        if (settle_items(ix, &reply, why, sizeof why)) {
            snprintf(errstr, sizeof errstr, "%s: %s", ix->os.shown, why);
            vigil_counter_inc(ix->bulk_retried);
            note_retriable(ix, what, errstr);
            continue;
        }
        vigil_counter_inc(ix->bulk_ok);
        note_indexed(ix);
    }
    vigil__os_reply_release(&reply);
    vigil_histogram_observe(ix->m.processing, (double)(vigil_mono_us() - t0) / 1e6);
    if (ix->npending) release_all(ix); /* stopping: the bus delivers them again */
    else ack_all(ix);
}

static int flush_due(const vigil_search_indexer_t *ix, int idle)
{
    if (ix->nheld == 0) return 0;
    if (idle || ix->nheld >= MAX_HELD || ix->bulk.ndocs >= (size_t)ix->cfg->search_batch_size)
        return 1;
    return vigil_mono_us() - ix->first_held_us >= (int64_t)ix->cfg->search_flush_ms * 1000;
}

static void take(vigil_search_indexer_t *ix, vigil_bus_msg_t *msg)
{
    char errstr[256] = "";
    size_t ndocs = 0;
    size_t mark = ix->bulk.ndocs, len = ix->bulk.len;
    vigil_err_t err = vigil__bulk_add_message(&ix->bulk, ix->cfg->search_index_prefix, msg,
                                              ix->nheld, &ndocs, errstr, sizeof errstr);
    if (err == VIGIL_ERR_DECODE) {
        vigil_counter_inc(ix->m.failed);
        vigil_counter_inc(ix->m.in);
        vigil_log_limited(&ix->errlog, VIGIL_LOG_ERROR, STAGE, NULL, NULL,
                          "bad message at %s[%d]@%lld, not indexed: %s", msg->topic,
                          (int)msg->partition, (long long)msg->offset, errstr);
        ix->bulk.ndocs = mark;
        ix->bulk.len = len;
        vigil_consumer_ack(ix->consumer, msg);
        return;
    }
    if (err) { /* out of memory: send what is held, take it again later */
        ix->bulk.ndocs = mark;
        ix->bulk.len = len;
        vigil_consumer_release(ix->consumer, msg);
        flush(ix);
        return;
    }
    if (ix->nheld == 0) ix->first_held_us = vigil_mono_us();
    ix->held[ix->nheld++] = msg;
}

static void sweep_if_due(vigil_search_indexer_t *ix)
{
    char errstr[512];
    int deleted = 0;
    if (!ix->templates_ok || vigil_mono_us() < ix->next_sweep_us) return;
    ix->next_sweep_us = vigil_mono_us() + SWEEP_EVERY_US;
    if (vigil__os_sweep(&ix->os, ix->cfg->search_index_prefix, retention_hours(ix->cfg),
                        vigil_now_us(), &deleted, errstr, sizeof errstr))
        vigil_warn(STAGE, NULL, "retention: %s", errstr);
    else if (deleted)
        vigil_info(STAGE, NULL, "retention: deleted %d daily indices past %.0f hours", deleted,
                   retention_hours(ix->cfg));
}

static void *indexer_main(void *arg)
{
    vigil_search_indexer_t *ix = arg;
    while (!vigil_workers_stopping(&ix->thread)) {
        vigil_bus_msg_t *msg = NULL;
        vigil_err_t err = vigil_consumer_poll(ix->consumer, &msg, ix->nheld ? 0 : POLL_MS);
        vigil_consumer_report_lag(ix->consumer, ix->m.queue_depth, &ix->lag_reported);
        if (err == VIGIL_ERR_CLOSED) break;
        if (err == VIGIL_OK) take(ix, msg);
        else if (err != VIGIL_ERR_TIMED_OUT) {
            vigil_log_limited(&ix->errlog, VIGIL_LOG_WARN, STAGE, NULL, NULL, "poll failed: %s",
                              vigil_err_str(err));
            vigil_sleep_us(POLL_MS * 1000);
        }
        if (flush_due(ix, err == VIGIL_ERR_TIMED_OUT)) flush(ix);
        if (err == VIGIL_ERR_TIMED_OUT && ix->nheld == 0) sweep_if_due(ix);
    }
    /* what is held: one more try, else back to the bus */
    if (ix->nheld) flush(ix);
    vigil_log_limit_flush(&ix->errlog);
    vigil_log_limit_flush(&ix->itemlog);
    return NULL;
}

vigil_search_indexer_t *vigil_search_indexer_new(const vigil_config_t *cfg, vigil_bus_t *bus,
                                                 char *errstr, size_t errstr_size)
{
    if (!cfg || !bus || !cfg->search_url || !*cfg->search_url) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                     "search: no search.url (opensearch://HOST:PORT) configured");
        return NULL;
    }
    vigil_search_indexer_t *ix = calloc(1, sizeof *ix);
    if (!ix) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "search: out of memory");
        return NULL;
    }
    ix->cfg = cfg;
    ix->bus = bus;
    vigil_stage_metrics_init(&ix->m, STAGE, NULL);
    const char *help = "_bulk requests of the search indexer by outcome: ok, retried (429, 5xx, "
                       "no answer, items to send again), refused (4xx for the whole request).";
    ix->bulk_ok = vigil_metrics_counter("vigil_search_bulk_total", help, "result", "ok", NULL,
                                        NULL);
    ix->bulk_retried = vigil_metrics_counter("vigil_search_bulk_total", help, "result",
                                             "retried", NULL, NULL);
    ix->bulk_refused = vigil_metrics_counter("vigil_search_bulk_total", help, "result",
                                             "refused", NULL, NULL);
    if (vigil__os_open(&ix->os, cfg->search_url, cfg->search_timeout_ms, errstr, errstr_size))
        goto fail;
    const char *topics[] = {VIGIL_TOPIC_DETECTIONS, VIGIL_TOPIC_EVENTS, VIGIL_TOPIC_TRACKS};
    if (!(ix->consumer = vigil_bus_subscribe(bus, "search", topics, 3, errstr, errstr_size)))
        goto fail;
    return ix;
fail:
    vigil_search_indexer_free(ix);
    return NULL;
}

vigil_err_t vigil_search_indexer_start(vigil_search_indexer_t *ix)
{
    vigil_err_t err = vigil_workers_start(&ix->thread, 1, indexer_main, ix, 0, STAGE);
    if (err) return err;
    vigil_info(STAGE, NULL, "indexing detections, events and tracks into %s (%s-*, batches of "
               "%d documents, flush every %d ms)",
               ix->os.shown, ix->cfg->search_index_prefix, ix->cfg->search_batch_size,
               ix->cfg->search_flush_ms);
    return VIGIL_OK;
}

void vigil_search_indexer_stop(vigil_search_indexer_t *ix)
{
    if (ix) vigil_workers_stop(&ix->thread);
}

void vigil_search_indexer_free(vigil_search_indexer_t *ix)
{
    if (!ix) return;
    vigil_search_indexer_stop(ix);
    if (ix->consumer) vigil_consumer_close(ix->consumer);
    vigil__os_close(&ix->os);
    vigil__bulk_free(&ix->bulk);
    vigil__bulk_free(&ix->resend);
    free(ix->pending);
    free(ix);
}
