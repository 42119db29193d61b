/* Calibration and writing of a quantized-layer file (quant_int.h).
 *
 * The calibrator runs the float model node by node on its own plan (as
 * vigil_nn_run does) and, before each quantizable Conv runs, reads the
 * Conv's input: pass 1 records its min and max; the histogram methods then
 * take a second pass filling a histogram of NN_CALIB_BINS bins over that
 * range. The chosen range [lo, hi] (always containing 0, so zero padding is
 * exact) gives scale (hi - lo) / 255 and zero point round(-lo / scale).
 * Weights are quantized per output channel: scale max|w| / 127. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/cpu/kernels.h"
#include "nn/cpu/qconv.h"
#include "nn/quant_int.h"
#include "vigil/nn_quant.h"

#define NN_CALIB_BINS 2048

typedef struct clayer {
    int node;
    double mn, mx;
    uint64_t *hist; /* pass 2 */
    double lo, hi;  /* histogram range */
} clayer_t;

struct vigil_nn_calib {
    const vigil_nn_model_t *model;
    vigil_nn_calib_method_t method;
    clayer_t *L;
    int nl, kept;
    int *layer_of; /* per node: layer index or -1 */
    int pass;
    size_t added;
    nn_pool_t *pool;
    nn_plan_t plan;
    int have_plan;
    vigil_nn_tensor_t key;
    void *arena;
};

int vigil_nn_calib_method_parse(const char *name)
{
    if (!strcmp(name, "minmax")) return VIGIL_NN_CALIB_MINMAX;
    if (!strcmp(name, "percentile")) return VIGIL_NN_CALIB_PERCENTILE;
    if (!strcmp(name, "entropy")) return VIGIL_NN_CALIB_ENTROPY;
    return -1;
}

/* Convs whose output reaches a graph output through non-Conv nodes only. */
static void mark_heads(const nn_graph_t *g, uint8_t *head)
{
    uint8_t *reach = calloc((size_t)g->nvalues + 1, 1);
    if (!reach) return;
    for (int i = 0; i < g->noutputs; i++) reach[g->outputs[i]] = 1;
    for (int ni = g->nnodes - 1; ni >= 0; ni--) { /* sorted: consumers after producers */
        const nn_node_t *n = &g->nodes[ni];
        if (n->dead) continue;
        int r = 0;
        for (int o = 0; o < n->noutputs; o++) r |= n->outputs[o] >= 0 && reach[n->outputs[o]];
        if (!r) continue;
        if (!strcmp(n->op_type, "Conv")) {
            head[ni] = 1;
            continue;
        }
        for (int k = 0; k < n->ninputs; k++)
            if (n->inputs[k] >= 0) reach[n->inputs[k]] = 1;
    }
    free(reach);
}

vigil_nn_calib_t *vigil_nn_calib_new(const vigil_nn_model_t *m, vigil_nn_calib_method_t method, int quantize_heads,
                                     int threads, char *errstr, size_t errstr_size)
{
    const nn_graph_t *g = &m->g;
    if (g->ninputs != 1) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED, "calibration: the model has %d inputs (one supported)",
                     g->ninputs);
        return NULL;
    }
    vigil_nn_calib_t *c = calloc(1, sizeof *c);
    uint8_t *head = calloc((size_t)g->nnodes + 1, 1);
    if (!c || !head) goto nomem;
    c->model = m;
    c->method = method;
    c->layer_of = malloc(sizeof(int) * ((size_t)g->nnodes + 1));
    c->L = calloc((size_t)g->nnodes + 1, sizeof *c->L);
    c->pool = vigil__nn_pool_new(threads > 0 ? threads : 1);
    if (!c->layer_of || !c->L || !c->pool) goto nomem;
    mark_heads(g, head);
    for (int ni = 0; ni < g->nnodes; ni++) {
        c->layer_of[ni] = -1;
        if (!vigil__nn_quant_conv_ok(g, ni)) continue;
        if (head[ni] && !quantize_heads) {
            c->kept++;
            continue;
        }
        c->layer_of[ni] = c->nl;
        c->L[c->nl].node = ni;
        c->L[c->nl].mn = INFINITY;
        c->L[c->nl].mx = -INFINITY;
        c->nl++;
    }
    free(head);
    if (!c->nl) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED, "calibration: the model has no Conv the INT8 path can run");
        vigil_nn_calib_free(c);
        return NULL;
    }
    return c;
nomem:
    free(head);
    vigil_nn_calib_free(c);
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "calibration: out of memory");
    return NULL;
}

static int keep_matches(const nn_graph_t *g, int ni, const char *item, size_t len)
{
    const nn_node_t *n = &g->nodes[ni];
    if (len == 9 && !strncmp(item, "depthwise", 9)) {
        const nn_value_t *w = &g->values[n->inputs[1]];
        return w->dims[1] == 1 && vigil__nn_attr_int(n, "group", 1) == w->dims[0] && w->dims[0] > 1;
    }
    if (len == 5 && !strncmp(item, "first", 5)) {
        for (int i = 0; i < g->ninputs; i++)
            if (n->inputs[0] == g->inputs[i]) return 1;
        /* through layout ops only (TF.js NHWC input -> Transpose -> Conv) */
        int p = g->values[n->inputs[0]].producer;
        if (p >= 0 && !strcmp(g->nodes[p].op_type, "Transpose"))
            for (int i = 0; i < g->ninputs; i++)
                if (g->nodes[p].inputs[0] == g->inputs[i]) return 1;
        return 0;
    }
    const char *name = n->name ? n->name : "";
    if (item[0] == '=') /* the whole name (as the sensitivity step prints it) */
        return strlen(name) == len - 1 && !strncmp(name, item + 1, len - 1);
    for (const char *p = name; *p; p++)
        if (!strncmp(p, item, len)) return 1;
    return 0;
}

size_t vigil_nn_calib_keep_float(vigil_nn_calib_t *c, const char *keep)
{
    const nn_graph_t *g = &c->model->g;
    size_t kept = 0;
    int o = 0;
    for (int i = 0; i < c->nl; i++) {
        int ni = c->L[i].node, drop = 0;
        for (const char *it = keep; it && *it && !drop;) {
            const char *e = strchr(it, ',');
            size_t len = e ? (size_t)(e - it) : strlen(it);
            if (len) drop = keep_matches(g, ni, it, len);
            it = e ? e + 1 : it + len;
        }
        if (drop) {
            c->layer_of[ni] = -1;
            free(c->L[i].hist);
            kept++;
            continue;
        }
        c->L[o] = c->L[i];
        c->layer_of[ni] = o++;
    }
    c->nl = o;
    c->kept += (int)kept;
    return kept;
}

void vigil_nn_calib_free(vigil_nn_calib_t *c)
{
    if (!c) return;
    if (c->have_plan) vigil__nn_plan_release(&c->plan);
    for (int i = 0; c->L && i < c->nl; i++) free(c->L[i].hist);
    free(c->L);
    free(c->layer_of);
    free(c->arena);
    vigil__nn_pool_free(c->pool);
    free(c);
}

int vigil_nn_calib_passes(const vigil_nn_calib_t *c)
{
    return c->method == VIGIL_NN_CALIB_MINMAX ? 1 : 2;
}

void vigil_nn_calib_next_pass(vigil_nn_calib_t *c)
{
    c->pass++;
    for (int i = 0; i < c->nl; i++) {
        clayer_t *l = &c->L[i];
        l->lo = l->mn < 0 ? l->mn : 0;
        l->hi = l->mx > 0 ? l->mx : 0;
        if (!(l->hi > l->lo)) l->hi = l->lo + 1;
        free(l->hist);
        l->hist = calloc(NN_CALIB_BINS, sizeof *l->hist); /* NULL: that layer falls back to minmax */
    }
}

void vigil_nn_calib_counts(const vigil_nn_calib_t *c, size_t *quantized, size_t *kept_float)
{
    *quantized = (size_t)c->nl;
    *kept_float = (size_t)c->kept;
}

static void observe(vigil_nn_calib_t *c, clayer_t *l, const vigil_nn_tensor_t *t)
{
    const float *x = t->data;
    int64_t n = vigil_nn_tensor_numel(t);
    if (c->pass == 0) {
        double mn = l->mn, mx = l->mx;
        for (int64_t i = 0; i < n; i++) {
            if (!isfinite(x[i])) continue;
            if (x[i] < mn) mn = x[i];
            if (x[i] > mx) mx = x[i];
        }
        l->mn = mn;
        l->mx = mx;
        return;
    }
    if (!l->hist) return;
    double k = NN_CALIB_BINS / (l->hi - l->lo);
    /* exact zeros (ReLU's spike) are exact at any scale (the zero point):
     * left out, they would make KL favour tiny ranges */
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || x[i] == 0) continue;
        double b = (x[i] - l->lo) * k;
        int64_t bi = b < 0 ? 0 : b >= NN_CALIB_BINS ? NN_CALIB_BINS - 1 : (int64_t)b;
        l->hist[bi]++;
    }
}

vigil_err_t vigil_nn_calib_add(vigil_nn_calib_t *c, const vigil_nn_tensor_t *in, char *errstr, size_t errstr_size)
{
    const nn_graph_t *g = &c->model->g;
    vigil_err_t err;
    int same = c->have_plan && c->key.dtype == in->dtype && c->key.ndim == in->ndim &&
               !memcmp(c->key.dims, in->dims, sizeof(int64_t) * (size_t)in->ndim);
    if (!same) {
        if (c->have_plan) vigil__nn_plan_release(&c->plan);
        c->have_plan = 0;
        free(c->arena);
        c->arena = NULL;
        if ((err = vigil__nn_plan_build(&c->plan, g, in, 0, 0, errstr, errstr_size))) return err;
        c->have_plan = 1;
        if (vigil__nn_plan_memory(&c->plan) ||
            posix_memalign(&c->arena, 64, c->plan.arena_bytes ? c->plan.arena_bytes : 64))
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "calibration: out of memory for the arena");
        c->key = *in;
        c->key.data = NULL;
    }
    nn_plan_t *p = &c->plan;
    if (!p->konst[g->inputs[0]]) p->t[g->inputs[0]].data = in->data;
    for (int v = 0; v < g->nvalues; v++)
        if (p->offset[v] != SIZE_MAX) p->t[v].data = (char *)c->arena + p->offset[v];
    for (int ni = 0; ni < g->nnodes; ni++) {
        if (g->nodes[ni].dead || p->folded[ni]) continue;
        int li = c->layer_of[ni];
        if (li >= 0) {
            const vigil_nn_tensor_t *x = &p->t[g->nodes[ni].inputs[0]];
            if (x->dtype == VIGIL_NN_FLOAT32 && x->data) observe(c, &c->L[li], x);
        }
        err = vigil__nn_plan_run_node(p, ni, p->scratch[ni] ? (char *)c->arena + p->scratch_off[ni] : NULL, c->pool,
                                      errstr, errstr_size);
        if (err) return err;
    }
    if (c->pass == 0) c->added++;
    return VIGIL_OK;
}

/* ---- ranges ---------------------------------------------------------------------------- */

/* value at quantile q of the histogram (bin edges, linear in the bin) */
static double hist_quantile(const clayer_t *l, double q)
{
    uint64_t total = 0;
    for (int i = 0; i < NN_CALIB_BINS; i++) total += l->hist[i];
    double want = q * (double)total, acc = 0, w = (l->hi - l->lo) / NN_CALIB_BINS;
    for (int i = 0; i < NN_CALIB_BINS; i++) {
        if (acc + (double)l->hist[i] >= want && l->hist[i])
            return l->lo + w * (i + (want - acc) / (double)l->hist[i]);
        acc += (double)l->hist[i];
    }
    return l->hi;
}

/* TensorRT-style: the upper cut (in bins) whose 256-level quantization of
 * the clipped histogram is closest (KL divergence) to it. */
static double entropy_hi(const clayer_t *l)
{
    enum { LEVELS = 256 };
    double best = INFINITY;
    int best_i = NN_CALIB_BINS;
    double *P = malloc(sizeof(double) * NN_CALIB_BINS), *Q = malloc(sizeof(double) * NN_CALIB_BINS);
    if (!P || !Q) {
        free(P);
        free(Q);
        return l->hi;
    }
    for (int i = LEVELS; i <= NN_CALIB_BINS; i += 16) {
        double outl = 0;
        for (int k = 0; k < NN_CALIB_BINS; k++) {
            if (k < i) P[k] = (double)l->hist[k];
            else outl += (double)l->hist[k];
        }
        P[i - 1] += outl;
        /* Q: the clipped histogram (without the outliers P folded into its
         * last bin: clipping them costs) merged into LEVELS groups, each
         * group's mass spread over its non-empty bins */
        for (int gq = 0; gq < LEVELS; gq++) {
            int b0 = (int)((int64_t)gq * i / LEVELS), b1 = (int)((int64_t)(gq + 1) * i / LEVELS);
            double s = 0;
            int nz = 0;
            for (int k = b0; k < b1; k++) {
                s += (double)l->hist[k];
                nz += l->hist[k] > 0;
            }
            for (int k = b0; k < b1; k++) Q[k] = l->hist[k] > 0 ? s / nz : 0;
        }
        double sp = 0, sq = 0, kl = 0;
        for (int k = 0; k < i; k++) sp += P[k], sq += Q[k];
        if (sp <= 0 || sq <= 0) continue;
        for (int k = 0; k < i; k++)
            if (P[k] > 0) kl += P[k] / sp * log((P[k] / sp) / (Q[k] > 0 ? Q[k] / sq : 1e-12));
        if (kl < best) best = kl, best_i = i;
    }
    free(P);
    free(Q);
    return l->lo + (l->hi - l->lo) * best_i / NN_CALIB_BINS;
}

static void layer_range(const vigil_nn_calib_t *c, const clayer_t *l, double *lo, double *hi)
{
    *lo = l->mn < 0 ? l->mn : 0;
    *hi = l->mx > 0 ? l->mx : 0;
    if (c->method == VIGIL_NN_CALIB_MINMAX || !l->hist) return;
    if (c->method == VIGIL_NN_CALIB_PERCENTILE) {
        double a = hist_quantile(l, 1e-4), b = hist_quantile(l, 1 - 1e-4);
        *lo = a < 0 ? a : 0;
        *hi = b > 0 ? b : 0;
    } else {
        double b = entropy_hi(l);
        *hi = b > 0 ? b : 0;
    }
}

/* ---- writing ---------------------------------------------------------------------------- */

typedef struct wbuf {
    uint8_t *p;
    size_t n, cap;
    int failed;
} wbuf_t;

static void put(wbuf_t *w, const void *src, size_t n)
{
    if (w->failed) return;
    if (w->n + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->n + n) cap *= 2;
        uint8_t *p = realloc(w->p, cap);
        if (!p) {
            w->failed = 1;
            return;
        }
        w->p = p;
        w->cap = cap;
    }
    memcpy(w->p + w->n, src, n);
    w->n += n;
}

static void put_u32(wbuf_t *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(w, b, 4);
}

static void put_f32(wbuf_t *w, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    put_u32(w, u);
}

/* The layers with use[i] set (all when use is NULL) as a quantized-layer
 * file without its checksum, in *w. */
static vigil_err_t calib_serialize(const vigil_nn_calib_t *c, const uint8_t *use, wbuf_t *w, char *errstr,
                                   size_t errstr_size)
{
    const nn_graph_t *g = &c->model->g;
    uint32_t count = 0;
    for (int i = 0; i < c->nl; i++) count += !use || use[i];
    put(w, NN_QUANT_MAGIC, 4);
    put_u32(w, NN_QUANT_VERSION);
    put_u32(w, count);
    int8_t *q = NULL;
    for (int i = 0; i < c->nl && !w->failed; i++) {
        if (use && !use[i]) continue;
        const clayer_t *l = &c->L[i];
        const nn_node_t *n = &g->nodes[l->node];
        const nn_value_t *wv = &g->values[n->inputs[1]];
        const float *wf = wv->data;
        int64_t M = wv->dims[0], K = wv->dims[1] * wv->dims[2] * wv->dims[3];
        double lo, hi;
        layer_range(c, l, &lo, &hi);
        float xs = (float)((hi - lo) / 255.0);
        if (!(xs > 0) || !isfinite(xs)) xs = 1.0f; /* input always 0 (or never seen): any scale */
        long zp = lrint(-lo / xs);
        zp = zp < 0 ? 0 : zp > 255 ? 255 : zp;
        const char *name = n->name ? n->name : "";
        size_t nl = strlen(name);
        if (nl == 0 || nl > NN_QUANT_NAME_MAX) {
            free(q);
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                                "calibration: Conv node %d has a name of %zu bytes (1..%d)", l->node, nl, NN_QUANT_NAME_MAX);
        }
        uint8_t nb[2] = {(uint8_t)nl, (uint8_t)(nl >> 8)};
        put(w, nb, 2);
        put(w, name, nl);
        put_u32(w, (uint32_t)M);
        put_u32(w, (uint32_t)K);
        put_f32(w, xs);
        put_u32(w, (uint32_t)zp);
        int8_t *nq = realloc(q, (size_t)(M * K));
        if (!nq) {
            w->failed = 1;
            break;
        }
        q = nq;
        for (int64_t m = 0; m < M; m++) {
            float mx = 0;
            for (int64_t k = 0; k < K; k++)
                if (fabsf(wf[m * K + k]) > mx) mx = fabsf(wf[m * K + k]);
            float s = mx > 0 && isfinite(mx) ? mx / 127.0f : 1.0f;
            put_f32(w, s);
            for (int64_t k = 0; k < K; k++) {
                float v = wf[m * K + k] / s;
                long r = isfinite(v) ? lrintf(v) : 0;
                q[m * K + k] = (int8_t)(r < -127 ? -127 : r > 127 ? 127 : r);
            }
        }
        put(w, q, (size_t)(M * K));
    }
    free(q);
    if (w->failed) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "calibration: out of memory");
    put_u32(w, vigil__nn_fnv1a(w->p, w->n));
    return VIGIL_OK;
}

vigil_err_t vigil_nn_calib_write(vigil_nn_calib_t *c, const char *path, char *errstr, size_t errstr_size)
{
    if (!c->added)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "calibration: no input was added");
    wbuf_t w = {0};
    vigil_err_t serr = calib_serialize(c, NULL, &w, errstr, errstr_size);
    if (serr) {
        free(w.p);
        return serr;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    vigil_err_t err = VIGIL_OK;
    if (!f || fwrite(w.p, 1, w.n, f) != w.n || fflush(f)) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "cannot write %s: %s", f ? tmp : path, strerror(errno));
    }
    if (f && fclose(f) && !err) err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    if (!err && rename(tmp, path))
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (err) unlink(tmp);
    free(w.p);
    return err;
}

/* ---- sensitivity ------------------------------------------------------------------------ */

size_t vigil_nn_calib_nlayers(const vigil_nn_calib_t *c)
{
    return (size_t)c->nl;
}

const char *vigil_nn_calib_layer_name(const vigil_nn_calib_t *c, size_t i)
{
    if (i >= (size_t)c->nl) return NULL;
    const char *n = c->model->g.nodes[c->L[i].node].name;
    return n ? n : "";
}

/* The trial model: a fresh load of the float file with the layers of use
 * in INT8, the head Convs' outputs added to its graph outputs, and a
 * session. */
typedef struct trial {
    vigil_nn_model_t *m;
    vigil_nn_session_t *s;
} trial_t;

static void trial_free(trial_t *t)
{
    vigil_nn_session_free(t->s);
    vigil_nn_model_free(t->m);
    t->s = NULL;
    t->m = NULL;
}

static vigil_err_t trial_open(const vigil_nn_calib_t *c, const char *path, vigil_nn_format_t format,
                              const uint8_t *use, const int *heads, int nheads, int threads, trial_t *t,
                              char *errstr, size_t errstr_size)
{
    vigil_nn_load_opts_t lo;
    vigil_nn_load_opts_init(&lo);
    lo.format = format;
    char err[512];
    vigil_err_t e;
    t->s = NULL;
    if (!(t->m = vigil_nn_model_load(path, &lo, err, sizeof err)))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "sensitivity: %s", err);
    nn_graph_t *g = &t->m->g;
    if (g->nvalues != c->model->g.nvalues || g->nnodes != c->model->g.nnodes) {
        trial_free(t);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "sensitivity: %s does not load as the calibrated model", path);
    }
    int any = 0;
    for (int i = 0; use && i < c->nl; i++) any |= use[i];
    if (any) {
        wbuf_t w = {0};
        if ((e = calib_serialize(c, use, &w, errstr, errstr_size)) ||
            (e = vigil_nn_model_apply_quant_buf(t->m, w.p, w.n, "sensitivity trial", errstr, errstr_size))) {
            free(w.p);
            trial_free(t);
            return e;
        }
        free(w.p);
    }
    int *outs = realloc(g->outputs, sizeof(int) * (size_t)(g->noutputs + nheads + 1));
    if (!outs) {
        trial_free(t);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "sensitivity: out of memory");
    }
    g->outputs = outs;
    for (int h = 0; h < nheads; h++) g->outputs[g->noutputs++] = heads[h];
    vigil_nn_session_opts_t so;
    vigil_nn_session_opts_init(&so);
    so.threads = threads;
    if (!(t->s = vigil_nn_session_new(t->m, &so, err, sizeof err))) {
        trial_free(t);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "sensitivity: %s", err);
    }
    return VIGIL_OK;
}

/* Runs the inputs through t: the heads' outputs (the last nheads graph
 * outputs) copied into ref (when ref[..] is NULL: allocated) or compared
 * with ref: returns the mean over inputs and heads of
 * sum (y - ref)^2 / sum ref^2 in *rel. */
static vigil_err_t trial_run(trial_t *t, const vigil_nn_tensor_t *inputs, size_t ninputs, int nheads, float **ref,
                             size_t *ref_n, double *rel, char *errstr, size_t errstr_size)
{
    size_t nout = (size_t)t->m->g.noutputs;
    vigil_nn_tensor_t *outs = calloc(nout + 1, sizeof *outs);
    if (!outs) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "sensitivity: out of memory");
    double acc = 0;
    vigil_err_t e = VIGIL_OK;
    for (size_t i = 0; i < ninputs && !e; i++) {
        if ((e = vigil_nn_run(t->s, &inputs[i], 1, outs, nout, errstr, errstr_size))) break;
        for (int h = 0; h < nheads; h++) {
            const vigil_nn_tensor_t *y = &outs[nout - (size_t)nheads + (size_t)h];
            size_t n = y->dtype == VIGIL_NN_FLOAT32 ? (size_t)vigil_nn_tensor_numel(y) : 0;
            float **r = &ref[i * (size_t)nheads + (size_t)h];
            size_t *rn = &ref_n[i * (size_t)nheads + (size_t)h];
            if (!*r) {
                if (!(*r = malloc(sizeof(float) * (n + 1)))) {
                    e = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "sensitivity: out of memory");
                    break;
                }
                if (n) memcpy(*r, y->data, sizeof(float) * n);
                *rn = n;
                continue;
            }
            if (n != *rn) {
                e = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "sensitivity: head %d changed size", h);
                break;
            }
            const float *a = y->data, *b = *r;
            double d2 = 0, r2 = 0;
            for (size_t k = 0; k < n; k++) {
                double d = (double)a[k] - b[k];
                if (isfinite(d)) d2 += d * d;
                else d2 += 1.0 + (double)b[k] * b[k]; /* a NaN/inf output: a whole error */
                r2 += (double)b[k] * b[k];
            }
            acc += r2 > 0 ? d2 / r2 : d2 > 0;
        }
    }
    free(outs);
    *rel = ninputs && nheads ? acc / ((double)ninputs * nheads) : 0;
    return e;
}

vigil_err_t vigil_nn_calib_sensitivity(vigil_nn_calib_t *c, const char *model_path, vigil_nn_format_t format,
                                       const vigil_nn_tensor_t *inputs, size_t ninputs, vigil_nn_sens_mode_t mode,
                                       int threads, double *err, double *base, char *errstr, size_t errstr_size)
{
    const nn_graph_t *g = &c->model->g;
    if (!ninputs)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "sensitivity: no input");
    if (!c->nl) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "sensitivity: no INT8 layer");
    uint8_t *head = calloc((size_t)g->nnodes + 1, 1);
    int *hv = malloc(sizeof(int) * ((size_t)g->nnodes + 1)), nh = 0;
    uint8_t *use = malloc((size_t)c->nl + 1);
    float **ref = calloc(ninputs * ((size_t)g->nnodes + 1), sizeof *ref);
    size_t *ref_n = calloc(ninputs * ((size_t)g->nnodes + 1), sizeof *ref_n);
    trial_t t = {0};
    vigil_err_t e = VIGIL_OK;
    if (!head || !hv || !use || !ref || !ref_n) {
        e = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "sensitivity: out of memory");
        goto done;
    }
    mark_heads(g, head);
    for (int ni = 0; ni < g->nnodes; ni++)
        if (head[ni] && !g->nodes[ni].dead && g->nodes[ni].noutputs > 0 && g->nodes[ni].outputs[0] >= 0)
            hv[nh++] = g->nodes[ni].outputs[0];
    if (!nh) {
        e = vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED, "sensitivity: the model has no head Conv");
        goto done;
    }
    /* float reference */
    double rel;
    if ((e = trial_open(c, model_path, format, NULL, hv, nh, threads, &t, errstr, errstr_size)) ||
        (e = trial_run(&t, inputs, ninputs, nh, ref, ref_n, &rel, errstr, errstr_size)))
        goto done;
    trial_free(&t);
    memset(use, 1, (size_t)c->nl);
    if ((e = trial_open(c, model_path, format, use, hv, nh, threads, &t, errstr, errstr_size)) ||
        (e = trial_run(&t, inputs, ninputs, nh, ref, ref_n, &rel, errstr, errstr_size)))
        goto done;
    trial_free(&t);
    *base = sqrt(rel);
    for (int i = 0; i < c->nl; i++) {
        memset(use, mode == VIGIL_NN_SENS_ALL_BUT_ONE, (size_t)c->nl);
        use[i] = mode != VIGIL_NN_SENS_ALL_BUT_ONE;
        if ((e = trial_open(c, model_path, format, use, hv, nh, threads, &t, errstr, errstr_size)) ||
            (e = trial_run(&t, inputs, ninputs, nh, ref, ref_n, &rel, errstr, errstr_size)))
            goto done;
        trial_free(&t);
        err[i] = sqrt(rel);
    }
done:
    trial_free(&t);
    if (ref)
        for (size_t i = 0; i < ninputs * ((size_t)g->nnodes + 1); i++) free(ref[i]);
    free(ref);
    free(ref_n);
    free(use);
    free(hv);
    free(head);
    return e;
}
