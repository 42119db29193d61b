/* log.sink: opensearch: vigil's own JSON log lines into PREFIX-logs-DAY.
 *
 * A log hook (vigil/log.h) copies each record into a ring of
 * log.queue_max lines under a mutex held for that copy only; when the ring
 * is full the record is dropped and counted
 * (vigil_log_shipped_total{result="dropped"}): logging never waits for the
 * node. A thread of its own takes what the ring holds every 500 ms (or when
 * it is half full) and sends it in one _bulk request; a failed request is
 * tried again with the next batch (its lines stay queued, so a node that
 * is down fills the ring and then drops). Records the shipper itself would
 * log about its failures are not written (they would feed themselves):
 * vigil_log_shipped_total{result="failed"} counts lines the node refused.
 *
 * Thread: the hook runs on any logging thread; start/stop from one. */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/search_int.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/metrics.h"
#include "vigil/search.h"
#include "vigil/workers.h"

#define LINE_MAX_BYTES 4096
#define TICK_MS 500

struct vigil_logship {
    const vigil_config_t *cfg;
    vigil__os_t os;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    char **lines; /* ring of cap lines, each malloc'd */
    size_t *lens;
    size_t cap, head, n;
    int stop;
    int templates_ok; /* the logs template goes in before the first line */
    pthread_t thread;
    vigil_counter_t *shipped, *dropped, *failed;
};

static void hook(void *opaque, const char *line, size_t len)
{
    vigil_logship_t *ls = opaque;
    if (len > LINE_MAX_BYTES) len = LINE_MAX_BYTES;
    char *copy = malloc(len + 1);
    if (!copy) {
        vigil_counter_inc(ls->dropped);
        return;
    }
    memcpy(copy, line, len);
    copy[len] = '\0';
    pthread_mutex_lock(&ls->lock);
    if (ls->n == ls->cap) {
        pthread_mutex_unlock(&ls->lock);
        free(copy);
        vigil_counter_inc(ls->dropped);
        return;
    }
    size_t at = (ls->head + ls->n) % ls->cap;
    ls->lines[at] = copy;
    ls->lens[at] = len;
    ls->n++;
    if (ls->n >= ls->cap / 2) pthread_cond_signal(&ls->wake);
    pthread_mutex_unlock(&ls->lock);
}

/* Sends the first n queued lines; on success they leave the queue. */
static void ship(vigil_logship_t *ls, vigil__bulk_t *b)
{
    char errstr[256];
    vigil__os_reply_t reply = {0};
    size_t n;

    if (!ls->templates_ok) {
        if (vigil__os_install_templates(&ls->os, ls->cfg->search_index_prefix, 0, errstr,
                                        sizeof errstr))
            return; /* queued lines wait for the node */
        ls->templates_ok = 1;
    }
    pthread_mutex_lock(&ls->lock);
    n = ls->n;
    vigil__bulk_reset(b);
    for (size_t i = 0; i < n; i++) {
        size_t at = (ls->head + i) % ls->cap;
        if (vigil__bulk_add_log(b, ls->cfg->search_index_prefix, ls->lines[at], ls->lens[at],
                                vigil_now_us())) {
            n = i;
            break;
        }
    }
    pthread_mutex_unlock(&ls->lock);
    if (!n) return;
    /* the lines stay queued while they are sent: the hook may add more */
    vigil_err_t err = vigil__os_request(&ls->os, "POST", "/_bulk?filter_path=errors,items.*.status",
                                        b->buf, b->len, 1, &reply, errstr, sizeof errstr);
    int sent = !err && reply.status == 200;
    if (sent) {
        json_error_t jerr;
        json_t *root = json_loads(reply.body ? reply.body : "", 0, &jerr);
        size_t i, refused = 0;
        json_t *item;
        json_array_foreach(json_object_get(root, "items"), i, item) {
            json_int_t st = json_integer_value(json_object_get(json_object_get(item, "index"),
                                                               "status"));
            if (st != 200 && st != 201) refused++;
        }
        json_decref(root);
        vigil_counter_add(ls->shipped, n - refused);
        vigil_counter_add(ls->failed, refused);
    } else if (!err && reply.status != 429 && reply.status < 500) {
        /* refused whole (400, 413): retrying cannot help */
        vigil_counter_add(ls->failed, n);
        sent = 1;
    }
    vigil__os_reply_release(&reply);
    if (!sent) return;
    pthread_mutex_lock(&ls->lock);
    for (size_t i = 0; i < n; i++) {
        free(ls->lines[ls->head]);
        ls->lines[ls->head] = NULL;
        ls->head = (ls->head + 1) % ls->cap;
    }
    ls->n -= n;
    pthread_mutex_unlock(&ls->lock);
}

static void *ship_main(void *arg)
{
    vigil_logship_t *ls = arg;
    vigil__bulk_t b = {0};
    vigil_thread_name("vigil-logship");
    pthread_mutex_lock(&ls->lock);
    while (!ls->stop) {
        struct timespec until = vigil_deadline_ms(TICK_MS);
        pthread_cond_timedwait(&ls->wake, &ls->lock, &until);
        if (ls->stop) break;
        pthread_mutex_unlock(&ls->lock);
        ship(ls, &b);
        pthread_mutex_lock(&ls->lock);
    }
    pthread_mutex_unlock(&ls->lock);
    vigil__bulk_free(&b);
    return NULL;
}

vigil_logship_t *vigil_logship_start(const vigil_config_t *cfg, char *errstr, size_t errstr_size)
{
    vigil_logship_t *ls = calloc(1, sizeof *ls);
    if (!ls) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "log.sink: out of memory");
        return NULL;
    }
    ls->cfg = cfg;
    ls->cap = cfg->log_queue_max > 0 ? (size_t)cfg->log_queue_max : 4096;
    ls->lines = calloc(ls->cap, sizeof *ls->lines);
    ls->lens = calloc(ls->cap, sizeof *ls->lens);
    pthread_mutex_init(&ls->lock, NULL);
    pthread_cond_init(&ls->wake, NULL);
    const char *help = "vigil's log lines sent to the search node (log.sink: opensearch): "
                       "shipped, dropped (the queue was full), failed (the node refused them).";
    ls->shipped = vigil_metrics_counter("vigil_log_shipped_total", help, "result", "shipped",
                                        NULL, NULL);
    ls->dropped = vigil_metrics_counter("vigil_log_shipped_total", help, "result", "dropped",
                                        NULL, NULL);
    ls->failed = vigil_metrics_counter("vigil_log_shipped_total", help, "result", "failed",
                                       NULL, NULL);
    if (!ls->lines || !ls->lens) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "log.sink: out of memory");
        goto fail;
    }
    if (vigil__os_open(&ls->os, cfg->search_url, cfg->search_timeout_ms, errstr, errstr_size))
        goto fail;
    if (pthread_create(&ls->thread, NULL, ship_main, ls)) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "log.sink: cannot start its thread");
        goto fail;
    }
    vigil_log_set_hook(hook, ls);
    return ls;
fail:
    vigil__os_close(&ls->os);
    free(ls->lines);
    free(ls->lens);
    free(ls);
    return NULL;
}

void vigil_logship_stop(vigil_logship_t *ls, int timeout_ms)
{
    if (!ls) return;
    vigil_log_set_hook(NULL, NULL);
    pthread_mutex_lock(&ls->lock);
    ls->stop = 1;
    pthread_cond_signal(&ls->wake);
    pthread_mutex_unlock(&ls->lock);
    pthread_join(ls->thread, NULL);
    /* one last try for what is queued, within timeout_ms */
    if (ls->n && timeout_ms > 0) {
        vigil__bulk_t b = {0};
        ls->os.timeout_ms = timeout_ms;
        ship(ls, &b);
        vigil__bulk_free(&b);
    }
    for (size_t i = 0; i < ls->n; i++) free(ls->lines[(ls->head + i) % ls->cap]);
    vigil__os_close(&ls->os);
    pthread_mutex_destroy(&ls->lock);
    pthread_cond_destroy(&ls->wake);
    free(ls->lines);
    free(ls->lens);
    free(ls);
}
