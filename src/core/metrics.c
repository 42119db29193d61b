/* The metrics registry: counters, gauges and latency histograms, rendered in
 * Prometheus text exposition format 0.0.4.
 *
 * Main idea: registration is rare and takes one registry mutex; updates are
 * frequent and are one relaxed atomic operation on a metric that never moves.
 * A family (name, help, type) owns a list of series, each identified by up to
 * two label pairs; the metric value is embedded in the series node, so the
 * pointer handed out stays valid until vigil_metrics_reset(). Looking up the
 * same family and labels again returns the same pointer.
 *
 * Histograms keep per-bucket (non-cumulative) counts; the renderer makes them
 * cumulative and derives _count from the buckets so that a scrape racing with
 * observations is still self-consistent (+Inf bucket == _count).
 *
 * Per-camera label sets come and go: each registration holds its series and
 * vigil_*_release() lets it go; a series whose every holder let it go is
 * hidden (not rendered, not visited; registering it again shows it with its
 * values), and a family holds at most VIGIL_METRICS_SERIES_MAX series:
 * beyond it a new label set gets the family's one overflow series (label
 * overflow="true") and counts in vigil_metrics_series_overflow_total. Hidden
 * series keep their memory (a stage may still hold the pointer), so the cap
 * is what bounds the registry.
 *
 * Thread: every function may be called from any thread. Registration, render,
 * sum, foreach and reset take the registry lock; updates take no lock. */
#include <math.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/metrics.h"

/* Upper bounds (seconds) of the finite buckets; +Inf is implicit. */
static const double bucket_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                       0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
#define NBUCKETS (sizeof(bucket_bounds) / sizeof(bucket_bounds[0]))

typedef enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM } metric_type_t;

struct vigil_counter {
    _Atomic uint64_t value;
};

struct vigil_gauge {
    _Atomic int64_t value;
};

struct vigil_histogram {
    _Atomic uint64_t buckets[NBUCKETS + 1]; /* last one: above the largest bound */
    _Atomic uint64_t sum_bits;              /* a double, updated by compare-and-swap */
};

typedef struct series {
    struct series *next;
    char *l1, *v1, *l2, *v2; /* NULL when unused */
    /* registrations not yet released; hidden when the last is released.
     * @guarded registry_lock */
    size_t refs;
    int hidden;
    union {
        struct vigil_counter counter;
        struct vigil_gauge gauge;
        struct vigil_histogram histogram;
    } m;
} series_t;

typedef struct family {
    struct family *next;
    char *name, *help;
    metric_type_t type;
    series_t *series, **series_tail; /* in registration order */
    size_t nseries;                  /* overflow series not counted */
    series_t *overflow;              /* NULL until the cap was met */
} family_t;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static family_t *families, **families_tail = &families;

static const char *type_name(metric_type_t t)
{
    switch (t) {
    case METRIC_COUNTER: return "counter";
    case METRIC_GAUGE: return "gauge";
    case METRIC_HISTOGRAM: return "histogram";
    }
    return "untyped";
}

static int str_eq(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

static char *dup_or_null(const char *s, int *oom)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *oom = 1;
    return d;
}

/* Normalises a label pair: no name means the pair is unused; a name without
 * a value means the empty value. */
static void norm_pair(const char **l, const char **v)
{
    if (!*l || !**l) {
        *l = NULL;
        *v = NULL;
    } else if (!*v) {
        *v = "";
    }
}

static void series_free(series_t *s)
{
    free(s->l1);
    free(s->v1);
    free(s->l2);
    free(s->v2);
    free(s);
}

/* The family's overflow series (made once); NULL on allocation failure.
 * @locks registry_lock (held) */
static series_t *overflow_series(family_t *f)
{
    if (!f->overflow) {
        series_t *o = calloc(1, sizeof(*o));
        if (!o || !(o->l1 = strdup("overflow")) || !(o->v1 = strdup("true"))) {
            if (o) series_free(o);
            return NULL;
        }
        *f->series_tail = o;
        f->series_tail = &o->next;
        f->overflow = o;
    }
    return f->overflow;
}

/* Finds or creates the series; returns NULL on allocation failure or when the
 * family already exists with another type (a programming error).
 * @locks registry_lock */
static series_t *lookup(metric_type_t type, const char *name, const char *help, const char *l1,
                        const char *v1, const char *l2, const char *v2)
{
    family_t *f;
    series_t *s = NULL;
    int oom = 0, overflowed = 0;

    if (!name) return NULL;
    norm_pair(&l1, &v1);
    norm_pair(&l2, &v2);
    if (!l1 && l2) { /* keep the used pair first */
        l1 = l2;
        v1 = v2;
        l2 = v2 = NULL;
    }

    pthread_mutex_lock(&registry_lock);
    for (f = families; f; f = f->next)
        if (strcmp(f->name, name) == 0) break;
    if (f && f->type != type) {
        f = NULL;
        goto done;
    }
    if (!f) {
        f = calloc(1, sizeof(*f));
        if (!f) goto done;
        f->name = dup_or_null(name, &oom);
        f->help = dup_or_null(help ? help : "", &oom);
        if (oom) {
            free(f->name);
            free(f->help);
            free(f);
            goto done;
        }
        f->type = type;
        f->series_tail = &f->series;
        *families_tail = f;
        families_tail = &f->next;
    }
    for (s = f->series; s; s = s->next)
        if (s != f->overflow && str_eq(s->l1, l1) && str_eq(s->v1, v1) && str_eq(s->l2, l2) &&
            str_eq(s->v2, v2)) {
            s->refs++;
            s->hidden = 0;
            goto done;
        }
    if (f->nseries >= VIGIL_METRICS_SERIES_MAX) {
        s = overflow_series(f);
        overflowed = 1;
        goto done;
    }
    s = calloc(1, sizeof(*s));
    if (!s) goto done;
    s->l1 = dup_or_null(l1, &oom);
    s->v1 = dup_or_null(v1, &oom);
    s->l2 = dup_or_null(l2, &oom);
    s->v2 = dup_or_null(v2, &oom);
    if (oom) {
        series_free(s);
        s = NULL;
        goto done;
    }
    *f->series_tail = s;
    f->series_tail = &s->next;
    f->nseries++;
    s->refs = 1;
done:
    pthread_mutex_unlock(&registry_lock);
    if (overflowed) /* a family of its own, one series per capped family */
        vigil_counter_inc(vigil_metrics_counter(
            "vigil_metrics_series_overflow_total",
            "Label sets refused because their family held VIGIL_METRICS_SERIES_MAX series; "
            "they were counted in the family's overflow=\"true\" series",
            "family", name, NULL, NULL));
    return s;
}

vigil_counter_t *vigil_metrics_counter(const char *family, const char *help, const char *l1,
                                       const char *v1, const char *l2, const char *v2)
{
    series_t *s = lookup(METRIC_COUNTER, family, help, l1, v1, l2, v2);
    return s ? &s->m.counter : NULL;
}

vigil_gauge_t *vigil_metrics_gauge(const char *family, const char *help, const char *l1,
                                   const char *v1, const char *l2, const char *v2)
{
    series_t *s = lookup(METRIC_GAUGE, family, help, l1, v1, l2, v2);
    return s ? &s->m.gauge : NULL;
}

vigil_histogram_t *vigil_metrics_histogram(const char *family, const char *help, const char *l1,
                                           const char *v1, const char *l2, const char *v2)
{
    series_t *s = lookup(METRIC_HISTOGRAM, family, help, l1, v1, l2, v2);
    return s ? &s->m.histogram : NULL;
}

/* --- updates: no lock ------------------------------------------------------ */

void vigil_counter_add(vigil_counter_t *c, uint64_t n)
{
    if (c) atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

uint64_t vigil_counter_value(const vigil_counter_t *c)
{
    return c ? atomic_load_explicit(&((vigil_counter_t *)c)->value, memory_order_relaxed) : 0;
}

void vigil_gauge_set(vigil_gauge_t *g, int64_t v)
{
    if (g) atomic_store_explicit(&g->value, v, memory_order_relaxed);
}

void vigil_gauge_add(vigil_gauge_t *g, int64_t delta)
{
    if (g) atomic_fetch_add_explicit(&g->value, delta, memory_order_relaxed);
}

int64_t vigil_gauge_value(const vigil_gauge_t *g)
{
    return g ? atomic_load_explicit(&((vigil_gauge_t *)g)->value, memory_order_relaxed) : 0;
}

static double bits_to_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof(d));
    return d;
}

static uint64_t double_to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof(b));
    return b;
}

void vigil_histogram_observe(vigil_histogram_t *h, double seconds)
{
    size_t i = 0;

    if (!h) return;
    if (!(seconds >= 0)) seconds = 0; /* negative or NaN: clock went backwards */
    while (i < NBUCKETS && seconds > bucket_bounds[i]) i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&h->sum_bits, &old,
                                                  double_to_bits(bits_to_double(old) + seconds),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

/* Copies the bucket counts; returns the total. */
static uint64_t histogram_snapshot(const vigil_histogram_t *h, uint64_t out[NBUCKETS + 1])
{
    uint64_t total = 0;
    vigil_histogram_t *mh = (vigil_histogram_t *)h;
    for (size_t i = 0; i <= NBUCKETS; i++) {
        out[i] = atomic_load_explicit(&mh->buckets[i], memory_order_relaxed);
        total += out[i];
    }
    return total;
}

uint64_t vigil_histogram_count(const vigil_histogram_t *h)
{
    uint64_t b[NBUCKETS + 1];
    return h ? histogram_snapshot(h, b) : 0;
}

double vigil_histogram_sum(const vigil_histogram_t *h)
{
    if (!h) return 0;
    return bits_to_double(
        atomic_load_explicit(&((vigil_histogram_t *)h)->sum_bits, memory_order_relaxed));
}

/* Linear interpolation inside the bucket holding the q-th observation, as
 * Prometheus' histogram_quantile() does. Observations above the largest bound
 * are reported as that bound. */
double vigil_histogram_quantile(const vigil_histogram_t *h, double q)
{
    uint64_t b[NBUCKETS + 1];
    uint64_t total;

    if (!h) return 0;
    total = histogram_snapshot(h, b);
    if (total == 0) return 0;
    if (q < 0) q = 0;
    if (q > 1) q = 1;
    double rank = q * (double)total, cum = 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        if (b[i] && cum + (double)b[i] >= rank) {
            double lo = i ? bucket_bounds[i - 1] : 0, hi = bucket_bounds[i];
            return lo + (hi - lo) * ((rank - cum) / (double)b[i]);
        }
        cum += (double)b[i];
    }
    return bucket_bounds[NBUCKETS - 1];
}

/* --- reading the registry ---------------------------------------------------- */

/* Whether series s has label `name` with value `value`. */
static int has_label(const series_t *s, const char *name, const char *value)
{
    if (s->l1 && strcmp(s->l1, name) == 0) return str_eq(s->v1, value ? value : "");
    if (s->l2 && strcmp(s->l2, name) == 0) return str_eq(s->v2, value ? value : "");
    return 0;
}

uint64_t vigil_metrics_sum(const char *family, const char *l1, const char *v1, const char *l2,
                           const char *v2)
{
    uint64_t total = 0;

    if (!family) return 0;
    pthread_mutex_lock(&registry_lock);
    for (family_t *f = families; f; f = f->next) {
        if (strcmp(f->name, family) != 0) continue;
        for (series_t *s = f->series; s; s = s->next) {
            if (l1 && !has_label(s, l1, v1)) continue;
            if (l2 && !has_label(s, l2, v2)) continue;
            switch (f->type) {
            case METRIC_COUNTER: total += vigil_counter_value(&s->m.counter); break;
            case METRIC_GAUGE: {
                int64_t g = vigil_gauge_value(&s->m.gauge);
                if (g > 0) total += (uint64_t)g;
                break;
            }
            case METRIC_HISTOGRAM: total += vigil_histogram_count(&s->m.histogram); break;
            }
        }
    }
    pthread_mutex_unlock(&registry_lock);
    return total;
}

void vigil_metrics_foreach_counter(vigil_metrics_visit_cb cb, void *opaque)
{
    if (!cb) return;
    /* The callback runs under the registry lock: it must not register metrics. */
    pthread_mutex_lock(&registry_lock);
    for (family_t *f = families; f; f = f->next) {
        if (f->type != METRIC_COUNTER) continue;
        for (series_t *s = f->series; s; s = s->next)
            if (!s->hidden)
                cb(opaque, f->name, s->l1, s->v1, s->l2, s->v2,
                   vigil_counter_value(&s->m.counter));
    }
    pthread_mutex_unlock(&registry_lock);
}

/* Writes s escaped for a HELP line (\\ and \n) or a label value (also \"). */
static void put_escaped(FILE *out, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", out);
        else if (*s == '\n')
            fputs("\\n", out);
        else if (quote && *s == '"')
            fputs("\\\"", out);
        else
            fputc(*s, out);
    }
}

/* Writes {l1="v1",l2="v2"[,le="x"]} or nothing when there are no labels. */
static void put_labels(FILE *out, const series_t *s, const char *le)
{
    int n = 0;
    if (!s->l1 && !s->l2 && !le) return;
    fputc('{', out);
    if (s->l1) {
        fprintf(out, "%s=\"", s->l1);
        put_escaped(out, s->v1, 1);
        fputc('"', out);
        n++;
    }
    if (s->l2) {
        fprintf(out, "%s%s=\"", n ? "," : "", s->l2);
        put_escaped(out, s->v2, 1);
        fputc('"', out);
        n++;
    }
    if (le) fprintf(out, "%sle=\"%s\"", n ? "," : "", le);
    fputc('}', out);
}

static void render_histogram(FILE *out, const family_t *f, const series_t *s)
{
    uint64_t b[NBUCKETS + 1], cum = 0, total;
    char le[32];

    total = histogram_snapshot(&s->m.histogram, b);
    for (size_t i = 0; i < NBUCKETS; i++) {
        cum += b[i];
        snprintf(le, sizeof(le), "%g", bucket_bounds[i]);
        fprintf(out, "%s_bucket", f->name);
        put_labels(out, s, le);
        fprintf(out, " %llu\n", (unsigned long long)cum);
    }
    fprintf(out, "%s_bucket", f->name);
    put_labels(out, s, "+Inf");
    fprintf(out, " %llu\n", (unsigned long long)total);
    fprintf(out, "%s_sum", f->name);
    put_labels(out, s, NULL);
    fprintf(out, " %.9g\n", vigil_histogram_sum(&s->m.histogram));
    fprintf(out, "%s_count", f->name);
    put_labels(out, s, NULL);
    fprintf(out, " %llu\n", (unsigned long long)total);
}

char *vigil_metrics_render(size_t *len)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);

    if (!out) return NULL;
    pthread_mutex_lock(&registry_lock);
    for (family_t *f = families; f; f = f->next) {
        fprintf(out, "# HELP %s ", f->name);
        put_escaped(out, f->help, 0);
        fprintf(out, "\n# TYPE %s %s\n", f->name, type_name(f->type));
        for (series_t *s = f->series; s; s = s->next) {
            if (s->hidden) continue;
            switch (f->type) {
            case METRIC_COUNTER:
                fputs(f->name, out);
                put_labels(out, s, NULL);
                fprintf(out, " %llu\n", (unsigned long long)vigil_counter_value(&s->m.counter));
                break;
            case METRIC_GAUGE:
                fputs(f->name, out);
                put_labels(out, s, NULL);
                fprintf(out, " %lld\n", (long long)vigil_gauge_value(&s->m.gauge));
                break;
            case METRIC_HISTOGRAM: render_histogram(out, f, s); break;
            }
        }
    }
    pthread_mutex_unlock(&registry_lock);
    if (fclose(out) != 0) {
        free(buf);
        return NULL;
    }
    if (len) *len = size;
    return buf;
}

/* The series a metric pointer lies in. */
static series_t *series_of(const void *metric)
{
    return (series_t *)((char *)metric - offsetof(series_t, m));
}

static void release(const void *metric)
{
    if (!metric) return;
    series_t *s = series_of(metric);
    pthread_mutex_lock(&registry_lock);
    if (s->refs > 0 && --s->refs == 0) s->hidden = 1;
    pthread_mutex_unlock(&registry_lock);
}

void vigil_counter_release(vigil_counter_t *c)
{
    release(c);
}

void vigil_gauge_release(vigil_gauge_t *g)
{
    release(g);
}

void vigil_histogram_release(vigil_histogram_t *h)
{
    release(h);
}

void vigil_stage_metrics_release(vigil_stage_metrics_t *m)
{
    if (!m) return;
    vigil_counter_release(m->in);
    vigil_counter_release(m->out);
    vigil_counter_release(m->dropped);
    vigil_counter_release(m->failed);
    vigil_histogram_release(m->processing);
    vigil_gauge_release(m->queue_depth);
    memset(m, 0, sizeof(*m));
}

void vigil_metrics_reset(void)
{
    pthread_mutex_lock(&registry_lock);
    family_t *f = families;
    while (f) {
        family_t *fn = f->next;
        series_t *s = f->series;
        while (s) {
            series_t *sn = s->next;
            series_free(s);
            s = sn;
        }
        free(f->name);
        free(f->help);
        free(f);
        f = fn;
    }
    families = NULL;
    families_tail = &families;
    pthread_mutex_unlock(&registry_lock);
}

void vigil_stage_metrics_init(vigil_stage_metrics_t *m, const char *stage, const char *camera)
{
    const char *cl = camera ? "camera" : NULL;

    m->in = vigil_metrics_counter("vigil_stage_in_total", "Messages received by a stage.",
                                  "stage", stage, cl, camera);
    m->out = vigil_metrics_counter("vigil_stage_out_total",
                                   "Messages a stage produced or passed on.", "stage", stage, cl,
                                   camera);
    m->dropped = vigil_metrics_counter("vigil_stage_dropped_total",
                                       "Messages a stage dropped on purpose (gating, "
                                       "backpressure, sampling).",
                                       "stage", stage, cl, camera);
    m->failed = vigil_metrics_counter("vigil_stage_failed_total",
                                      "Messages a stage could not process because of an error.",
                                      "stage", stage, cl, camera);
    m->processing = vigil_metrics_histogram("vigil_stage_processing_seconds",
                                            "Time a stage spent on one message or batch.",
                                            "stage", stage, cl, camera);
    m->queue_depth = vigil_metrics_gauge("vigil_stage_queue_depth",
                                         "Messages waiting in a stage's input queue.", "stage",
                                         stage, cl, camera);
}
