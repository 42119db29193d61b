/* Read routing to a PostgreSQL streaming replica (store.read_url): the API's
 * read-only requests take their store handles from a second pool opened on
 * the replica; everything else keeps the primary's pool (server.c).
 *
 * Main idea: a request is a replica read when its route is GET (or HEAD) and
 * not one of the reads that must see a client's own writes at once (sign-in,
 * sessions, tokens, passkeys, users, audit, push, readiness), and when the
 * client did not write within store.read_max_lag_s (read-your-writes: a
 * write is on the replica by then, or the replica counts as lagging).
 * dispatch() calls vigil__replica_begin before the handler and
 * vigil__replica_end after it; in between, vigil__api_store_acquire asks
 * vigil__replica_acquire first (a thread-local says which request the
 * thread runs).
 *
 * A probe thread asks both servers where their WAL is once per
 * REPLICA_PROBE_MS (vigil_store_wal) and keeps the replica's state: up,
 * lagging (more than store.read_max_lag_s behind) or down (does not answer).
 * Reads go to the primary at once while it is not up, and back when it is;
 * each read that goes to the primary instead is counted by reason, each
 * switch is counted and logged. A replica read that fails (a 5xx: the
 * connection died before the probe saw it) marks the replica down and is
 * run again on the primary, so a client never sees the replica die.
 *
 * Lag: 0 when the replica has replayed the primary's current WAL position;
 * else the smaller of the age of its last replayed commit and how long the
 * probe has seen it behind without a break (the first alone is large after
 * an idle spell, the second alone when writes never stop).
 *
 * Thread: begin/end/acquire/release on request workers, the probe on its own
 * thread; the state and the pools under r->lock. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_int.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/metrics.h"
#include "vigil/redact.h"

#define REPLICA_PROBE_MS 500
#define WRITERS_MAX 64 /* clients remembered for read-your-writes */

typedef enum { REPLICA_DOWN, REPLICA_LAGGING, REPLICA_UP } replica_state_t;

static const char *const state_names[] = {"down", "lagging", "up"};

typedef struct idle_handle {
    struct idle_handle *next;
    vigil_store_t *store;
} idle_handle_t;

/* A client that wrote lately: its reads go to the primary until `until_us`. */
typedef struct writer {
    char key[72]; /* "u:USER_ID" or "ip:ADDRESS"; "" = free */
    int64_t until_us;
} writer_t;

struct vigil__replica {
    char *url;        /* store.read_url, password included: only given to the store */
    char shown[256];  /* redacted, for messages */
    double max_lag_s; /* store.read_max_lag_s */
    pthread_mutex_t lock;
    pthread_cond_t wake; /* CLOCK_MONOTONIC; the probe waits on it */
    pthread_t thread;
    int running, stopping;
    int probed; /* the probe has answered once (the first state is no switch) */
    replica_state_t state;
    double lag_s; /* -1 unknown */
    char reason[256]; /* why it is down (the store's message: no password) */
    idle_handle_t *idle;
    vigil_store_t **busy; /* handed out, not yet back */
    size_t nbusy, capbusy;
    writer_t writers[WRITERS_MAX];
    /* the probe's own (its thread only) */
    vigil_store_t *probe_primary, *probe_replica;
    uint64_t behind_lsn; /* the primary's position the replica is behind (0 = not behind) */
    int64_t behind_since_us;
    vigil_gauge_t *up_gauge, *lag_gauge;
    vigil_counter_t *reads_replica, *reads_primary;
    vigil_counter_t *fb_down, *fb_lagging, *fb_failed, *fb_own_write;
    vigil_counter_t *to_primary, *to_replica;
};

/* What the request this thread runs does with the replica. */
static _Thread_local struct {
    vigil_api_t *api;
    int eligible; /* a read route, with a replica configured */
    int read;     /* handles come from the replica */
    int used;     /* a replica handle was handed out */
} tl;

/* Routes that are GET but must see the client's own writes at once, or say
 * something about this process or the primary. */
static const char *const primary_reads[] = {
    "healthz", "metrics", "readyz", "auth_me", "auth_setup", "sessions", "passkeys",
    "users", "tokens", "audit", "push_vapid", "push_subscriptions", "config", "openapi",
    "stream",
};

static int is_read_method(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

static int primary_route(const char *name)
{
    for (size_t i = 0; i < sizeof(primary_reads) / sizeof(primary_reads[0]); i++)
        if (strcmp(name, primary_reads[i]) == 0) return 1;
    return 0;
}

static void writer_key(const vigil__req_t *req, char *out, size_t size)
{
    if (req->who.user_id > 0)
        snprintf(out, size, "u:%lld", (long long)req->who.user_id);
    else
        snprintf(out, size, "ip:%s", req->client_ip);
}

/* --- state (r->lock held) ---------------------------------------------------------- */

static void idle_drain_locked(vigil__replica_t *r, idle_handle_t **out)
{
    *out = r->idle;
    r->idle = NULL;
}

static void idle_close(idle_handle_t *h)
{
    while (h) {
        idle_handle_t *next = h->next;
        vigil_store_close(h->store);
        free(h);
        h = next;
    }
}

/* Sets the state; logs and counts a switch. Returns the idle handles to
 * close (outside the lock) when the replica went down. */
static idle_handle_t *set_state_locked(vigil__replica_t *r, replica_state_t st, double lag_s,
                                       const char *reason)
{
    idle_handle_t *drop = NULL;
    replica_state_t was = r->state;

    r->state = st;
    r->lag_s = lag_s;
    if (st == REPLICA_DOWN) {
        snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
        idle_drain_locked(r, &drop); /* their connections are gone or soon will be */
    }
    vigil_gauge_set(r->up_gauge, st == REPLICA_DOWN ? 0 : 1);
    vigil_gauge_set(r->lag_gauge, lag_s < 0 ? -1 : (int64_t)(lag_s * 1e3 + 0.5));
    if (was == st && r->probed) return drop;
    if (!r->probed) { /* the first answer: no switch */
        r->probed = 1;
        if (st == REPLICA_UP)
            vigil_info("api", NULL, "read replica %s answers (lag %.3f s): reads go to it",
                       r->shown, lag_s < 0 ? 0 : lag_s);
        else if (st == REPLICA_DOWN)
            vigil_warn("api", NULL, "read replica %s is down (%s): reads go to the primary",
                       r->shown, r->reason);
        else
            vigil_warn("api", NULL,
                       "read replica %s lags %.3f s (store.read_max_lag_s %g): reads go to "
                       "the primary",
                       r->shown, lag_s, r->max_lag_s);
        return drop;
    }
    if (st == REPLICA_UP) {
        vigil_counter_inc(r->to_replica);
        vigil_info("api", NULL, "read replica %s: %s (lag %.3f s): reads go to it again",
                   r->shown, was == REPLICA_DOWN ? "answers" : "caught up", lag_s < 0 ? 0 : lag_s);
    } else if (was == REPLICA_UP) {
        vigil_counter_inc(r->to_primary);
        if (st == REPLICA_DOWN)
            vigil_warn("api", NULL, "read replica %s is down (%s): reads go to the primary",
                       r->shown, r->reason);
        else
            vigil_warn("api", NULL,
                       "read replica %s lags %.3f s (store.read_max_lag_s %g): reads go to "
                       "the primary",
                       r->shown, lag_s, r->max_lag_s);
    } else {
        vigil_info("api", NULL, "read replica %s: %s -> %s", r->shown, state_names[was],
                   state_names[st]);
    }
    return drop;
}

static void set_state(vigil__replica_t *r, replica_state_t st, double lag_s, const char *reason)
{
    pthread_mutex_lock(&r->lock);
    idle_handle_t *drop = set_state_locked(r, st, lag_s, reason);
    pthread_mutex_unlock(&r->lock);
    idle_close(drop);
}

/* --- the probe ------------------------------------------------------------------------ */

static vigil_store_t *probe_open(vigil_api_t *api, const char *url, char *errstr,
                                 size_t errstr_size)
{
    vigil_store_conf_t conf;

    vigil_store_conf_init(&conf);
    conf.url = url;
    conf.data_dir = api->data_dir;
    conf.migrate = 0;
    return vigil_store_open(&conf, errstr, errstr_size);
}

/* Where a server is; reopens the handle when it is gone. */
static vigil_err_t probe_wal(vigil_api_t *api, vigil_store_t **h, const char *url,
                             vigil_store_wal_t *wal, char *errstr, size_t errstr_size)
{
    vigil_err_t err;

    if (!*h && !(*h = probe_open(api, url, errstr, errstr_size))) return VIGIL_ERR_AGAIN;
    err = vigil_store_wal(*h, wal, errstr, errstr_size);
    if (err == VIGIL_ERR_AGAIN) /* the connection died: the next statement reconnects */
        err = vigil_store_wal(*h, wal, errstr, errstr_size);
    return err;
}

static void probe_once(vigil_api_t *api, vigil__replica_t *r)
{
    vigil_store_wal_t rw, pw;
    char errstr[256];
    double lag;
    int64_t now = vigil_mono_us();

    if (probe_wal(api, &r->probe_replica, r->url, &rw, errstr, sizeof(errstr)) != VIGIL_OK) {
        r->behind_lsn = 0;
        set_state(r, REPLICA_DOWN, -1, errstr);
        return;
    }
    if (!rw.standby) {
        lag = 0; /* promoted, or not a standby at all: as fresh as it gets */
    } else if (probe_wal(api, &r->probe_primary, api->store_url, &pw, errstr, sizeof(errstr)) !=
               VIGIL_OK) {
        /* no primary to compare with: nothing new is written either */
        lag = -1;
    } else if (rw.lsn >= pw.lsn) {
        r->behind_lsn = 0;
        lag = 0;
    } else {
        if (!r->behind_lsn) r->behind_since_us = now;
        r->behind_lsn = pw.lsn;
        lag = (double)(now - r->behind_since_us) / 1e6;
        if (rw.replay_age_s >= 0 && rw.replay_age_s < lag) lag = rw.replay_age_s;
    }
    set_state(r, lag > r->max_lag_s ? REPLICA_LAGGING : REPLICA_UP, lag, NULL);
}

static void *probe_main(void *arg)
{
    vigil_api_t *api = arg;
    vigil__replica_t *r = api->replica;
    struct timespec ts;

    pthread_mutex_lock(&r->lock);
    while (!r->stopping) {
        pthread_mutex_unlock(&r->lock);
        probe_once(api, r);
        pthread_mutex_lock(&r->lock);
        if (r->stopping) break;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += (long)REPLICA_PROBE_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&r->wake, &r->lock, &ts);
    }
    pthread_mutex_unlock(&r->lock);
    vigil_store_close(r->probe_primary);
    vigil_store_close(r->probe_replica);
    r->probe_primary = r->probe_replica = NULL;
    return NULL;
}

/* --- lifecycle ---------------------------------------------------------------------- */

vigil_err_t vigil__replica_new(vigil_api_t *api, const vigil_config_t *cfg, char *errstr,
                               size_t errstr_size)
{
    vigil__replica_t *r;
    pthread_condattr_t ca;

    if (!cfg->store_read_url || !*cfg->store_read_url) return VIGIL_OK;
    if (!(r = calloc(1, sizeof(*r))) || !(r->url = strdup(cfg->store_read_url))) {
        free(r);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "api: out of memory");
    }
    vigil_url_redact(r->url, r->shown, sizeof(r->shown));
    r->max_lag_s = cfg->store_read_max_lag_s > 0 ? cfg->store_read_max_lag_s : 10;
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->wake, &ca);
    pthread_condattr_destroy(&ca);
    r->state = REPLICA_DOWN; /* until the first probe answers */
    r->lag_s = -1;
    snprintf(r->reason, sizeof(r->reason), "not probed yet");
    r->up_gauge = vigil_metrics_gauge("vigil_api_replica_up",
                                      "1 while the read replica (store.read_url) answers, else 0.",
                                      NULL, NULL, NULL, NULL);
    r->lag_gauge = vigil_metrics_gauge(
        "vigil_api_replica_lag_ms",
        "How far the read replica is behind the primary, in milliseconds; -1 when unknown.",
        NULL, NULL, NULL, NULL);
    vigil_gauge_set(r->lag_gauge, -1);
#define READS(target)                                                                             \
    vigil_metrics_counter("vigil_api_replica_reads_total",                                      \
                          "Read requests the replica could serve, by where they went.",           \
                          "target", target, NULL, NULL)
    r->reads_replica = READS("replica");
    r->reads_primary = READS("primary");
#undef READS
#define FALLBACK(reason)                                                                          \
    vigil_metrics_counter("vigil_api_replica_fallbacks_total",                                  \
                          "Read requests sent to the primary instead of the replica, by why.",    \
                          "reason", reason, NULL, NULL)
    r->fb_down = FALLBACK("down");
    r->fb_lagging = FALLBACK("lagging");
    r->fb_failed = FALLBACK("failed");
    r->fb_own_write = FALLBACK("own_write");
#undef FALLBACK
#define SWITCH(to)                                                                                \
    vigil_metrics_counter("vigil_api_replica_switches_total",                                   \
                          "Times reads switched between the replica and the primary.", "to", to, \
                          NULL, NULL)
    r->to_primary = SWITCH("primary");
    r->to_replica = SWITCH("replica");
#undef SWITCH
    api->replica = r;
    return VIGIL_OK;
}

vigil_err_t vigil__replica_start(vigil_api_t *api, char *errstr, size_t errstr_size)
{
    vigil__replica_t *r = api->replica;

    if (!r || r->running) return VIGIL_OK;
    r->stopping = 0;
    if (pthread_create(&r->thread, NULL, probe_main, api) != 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                            "api: cannot start the read replica's probe thread");
    r->running = 1;
    vigil_info("api", NULL, "read replica %s: reads go to it while it lags at most %g s",
               r->shown, r->max_lag_s);
    return VIGIL_OK;
}

void vigil__replica_stop(vigil_api_t *api)
{
    vigil__replica_t *r = api->replica;
    idle_handle_t *drop = NULL;

    if (!r) return;
    if (r->running) {
        pthread_mutex_lock(&r->lock);
        r->stopping = 1;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
        r->running = 0;
    }
    pthread_mutex_lock(&r->lock);
    idle_drain_locked(r, &drop);
    pthread_mutex_unlock(&r->lock);
    idle_close(drop);
}

void vigil__replica_free(vigil_api_t *api)
{
    vigil__replica_t *r = api->replica;

    if (!r) return;
    vigil__replica_stop(api);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->wake);
    memset(r->url, 0, strlen(r->url)); /* the password */
    free(r->url);
    free(r->busy);
    free(r);
    api->replica = NULL;
}

/* --- per request ------------------------------------------------------------------------ */

void vigil__replica_begin(vigil_api_t *api, const vigil__req_t *req, const char *route,
                          const char *method)
{
    vigil__replica_t *r = api->replica;
    char key[72];
    int64_t now;
    vigil_counter_t *why = NULL;

    memset(&tl, 0, sizeof(tl));
    if (!r || !is_read_method(method) || primary_route(route)) return;
    tl.api = api;
    tl.eligible = 1;
    writer_key(req, key, sizeof(key));
    now = vigil_mono_us();
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < WRITERS_MAX && !why; i++)
        if (r->writers[i].key[0] && r->writers[i].until_us > now &&
            strcmp(r->writers[i].key, key) == 0)
            why = r->fb_own_write;
    if (!why && r->state == REPLICA_DOWN) why = r->fb_down;
    if (!why && r->state == REPLICA_LAGGING) why = r->fb_lagging;
    pthread_mutex_unlock(&r->lock);
    if (why) {
        vigil_counter_inc(why);
        vigil_counter_inc(r->reads_primary);
    } else {
        tl.read = 1;
    }
}

/* Whether the replica answers a query now, on an idle handle of the pool
 * (one whose connection died reconnects) or a new one; else why not. */
static int replica_answers(vigil_api_t *api, vigil__replica_t *r, char *why, size_t why_size)
{
    idle_handle_t *h;
    vigil_store_t *store;
    vigil_store_wal_t wal;

    pthread_mutex_lock(&r->lock);
    if ((h = r->idle)) r->idle = h->next;
    pthread_mutex_unlock(&r->lock);
    if (h) {
        store = h->store;
    } else if (!(store = probe_open(api, r->url, why, why_size))) {
        return 0;
    } else if (!(h = malloc(sizeof(*h)))) {
        vigil_store_close(store);
        return 1; /* no memory to keep it; the replica did answer */
    }
    if (vigil_store_wal(store, &wal, why, why_size) != VIGIL_OK) {
        vigil_store_close(store);
        free(h);
        return 0;
    }
    h->store = store;
    pthread_mutex_lock(&r->lock);
    if (r->state != REPLICA_DOWN) { /* a pool drained meanwhile stays empty */
        h->next = r->idle;
        r->idle = h;
        h = NULL;
    }
    pthread_mutex_unlock(&r->lock);
    if (h) {
        vigil_store_close(h->store);
        free(h);
    }
    return 1;
}

int vigil__replica_end(vigil_api_t *api, const vigil__req_t *req, const char *method, int status)
{
    vigil__replica_t *r = api->replica;
    int again = 0;

    if (!r) return 0;
    if (tl.read && tl.used && status >= 500) {
        /* the replica may have failed under the request (its connection
         * died before the probe saw it): this read runs again on the
         * primary, and when the replica does not answer either, reads go to
         * the primary until the probe says otherwise */
        char reason[320];
        if (!replica_answers(api, r, reason, sizeof(reason)))
            set_state(r, REPLICA_DOWN, -1, reason);
        vigil_counter_inc(r->fb_failed);
        vigil_counter_inc(r->reads_primary);
        again = 1;
    } else if (tl.read) {
        vigil_counter_inc(r->reads_replica);
    }
    if (!is_read_method(method) && status < 400) {
        /* read-your-writes: this client's reads go to the primary for as
         * long as the replica may lag */
        char key[72];
        int64_t now = vigil_mono_us(), until = now + (int64_t)(r->max_lag_s * 1e6) +
                                                   REPLICA_PROBE_MS * 1000;
        int slot = 0;
        writer_key(req, key, sizeof(key));
        pthread_mutex_lock(&r->lock);
        for (int i = 0; i < WRITERS_MAX; i++) {
            if (strcmp(r->writers[i].key, key) == 0) {
                slot = i;
                break;
            }
            if (r->writers[i].until_us < r->writers[slot].until_us) slot = i; /* oldest */
        }
        snprintf(r->writers[slot].key, sizeof(r->writers[slot].key), "%s", key);
        r->writers[slot].until_us = until;
        pthread_mutex_unlock(&r->lock);
    }
    memset(&tl, 0, sizeof(tl));
    return again;
}

void vigil__replica_retry(vigil_api_t *api)
{
    memset(&tl, 0, sizeof(tl));
    tl.api = api; /* not a replica read: the primary's pool */
}

/* --- handles ------------------------------------------------------------------------------ */

static int busy_add_locked(vigil__replica_t *r, vigil_store_t *store)
{
    if (r->nbusy == r->capbusy) {
        size_t cap = r->capbusy ? r->capbusy * 2 : 8;
        vigil_store_t **b = realloc(r->busy, cap * sizeof(*b));
        if (!b) return -1;
        r->busy = b;
        r->capbusy = cap;
    }
    r->busy[r->nbusy++] = store;
    return 0;
}

vigil_store_t *vigil__replica_acquire(vigil_api_t *api)
{
    vigil__replica_t *r = api->replica;
    idle_handle_t *h = NULL;
    vigil_store_t *store = NULL;
    char errstr[256];

    if (!r || !tl.read || tl.api != api) return NULL;
    pthread_mutex_lock(&r->lock);
    if (r->state == REPLICA_DOWN) { /* went down since the request began */
        pthread_mutex_unlock(&r->lock);
        return NULL;
    }
    if ((h = r->idle)) r->idle = h->next;
    pthread_mutex_unlock(&r->lock);
    if (h) {
        store = h->store;
        free(h);
    } else if (!(store = probe_open(api, r->url, errstr, sizeof(errstr)))) {
        set_state(r, REPLICA_DOWN, -1, errstr);
        vigil_counter_inc(r->fb_failed);
        tl.read = 0; /* this request: the primary, counted there */
        vigil_counter_inc(r->reads_primary);
        return NULL;
    }
    pthread_mutex_lock(&r->lock);
    if (busy_add_locked(r, store) != 0) {
        pthread_mutex_unlock(&r->lock);
        vigil_store_close(store);
        return NULL;
    }
    pthread_mutex_unlock(&r->lock);
    tl.used = 1;
    return store;
}

int vigil__replica_release(vigil_api_t *api, vigil_store_t *store)
{
    vigil__replica_t *r = api->replica;
    idle_handle_t *h;
    size_t i;

    if (!r || !store) return 0;
    pthread_mutex_lock(&r->lock);
    for (i = 0; i < r->nbusy && r->busy[i] != store; i++) {
    }
    if (i == r->nbusy) {
        pthread_mutex_unlock(&r->lock);
        return 0; /* the primary's */
    }
    r->busy[i] = r->busy[--r->nbusy];
    if (r->state == REPLICA_DOWN || !(h = malloc(sizeof(*h)))) {
        pthread_mutex_unlock(&r->lock);
        vigil_store_close(store);
        return 1;
    }
    h->store = store;
    h->next = r->idle;
    r->idle = h;
    pthread_mutex_unlock(&r->lock);
    return 1;
}

/* --- /readyz ---------------------------------------------------------------------------- */

void vigil__replica_ready(vigil_api_t *api, char *out, size_t size)
{
    vigil__replica_t *r = api->replica;

    if (!r) {
        snprintf(out, size, "none");
        return;
    }
    pthread_mutex_lock(&r->lock);
    if (r->state == REPLICA_UP && r->lag_s >= 0)
        snprintf(out, size, "ok (lag %.3f s)", r->lag_s);
    else if (r->state == REPLICA_UP)
        snprintf(out, size, "ok (lag unknown: the primary does not answer)");
    else if (r->state == REPLICA_LAGGING)
        snprintf(out, size, "lagging %.1f s (more than %g s): reads go to the primary", r->lag_s,
                 r->max_lag_s);
    else
        snprintf(out, size, "down: reads go to the primary");
    pthread_mutex_unlock(&r->lock);
}
