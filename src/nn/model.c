/* vigil-nn public API: loading models, model info, sessions and runs.
 *
 * A model is an optimised, immutable graph. A session holds what running
 * needs: a plan for the current input shapes (rebuilt when they change, e.g.
 * another batch size), the arena the plan lays values out in, and a thread
 * pool. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil/clock.h"
#include "vigil/file.h"
#include "nn/cpu/kernels.h"
#include "nn/macs.h"
#include "nn/model.h"
#include "nn/onnx/onnx.h"

struct vigil_nn_session {
    const vigil_nn_model_t *model;
    nn_pool_t *pool;
    nn_plan_t plan;
    int have_plan;
    vigil_nn_tensor_t *key; /* inputs the plan was built for (small ones with data) */
    void **key_data;
    void *arena;
    size_t arena_cap;
    int profile;
    size_t max_memory;
    double *node_ms;
    int64_t *node_calls;
};

void vigil_nn_load_opts_init(vigil_nn_load_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->optimize = 1;
}

void vigil_nn_session_opts_init(vigil_nn_session_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->threads = 1;
}

vigil_nn_model_t *vigil_nn_model_load(const char *path, const vigil_nn_load_opts_t *opts,
                                      char *errstr, size_t errstr_size)
{
    if (!path) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "nn: no model path");
        return NULL;
    }
    vigil_nn_format_t fmt = opts ? opts->format : VIGIL_NN_FORMAT_AUTO;
    size_t pl = strlen(path);
    if (fmt == VIGIL_NN_FORMAT_TFJS || (fmt == VIGIL_NN_FORMAT_AUTO && pl >= 5 &&
                                        !strcmp(path + pl - 5, ".json")))
        return vigil__nn_tfjs_load_path(path, opts, errstr, errstr_size);
    char *buf = NULL;
    size_t len = 0;
    if (vigil_file_read(path, VIGIL_NN_MODEL_FILE_MAX, &buf, &len, errstr, errstr_size))
        return NULL;
    char sub[512];
    vigil_nn_model_t *m = vigil_nn_model_load_onnx(buf, len, opts, sub, sizeof sub);
    if (!m) vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "%s: %s", path, sub);
    free(buf);
    return m;
}

vigil_nn_model_t *vigil_nn_model_load_onnx(const void *buf, size_t len,
                                           const vigil_nn_load_opts_t *opts, char *errstr,
                                           size_t errstr_size)
{
    nn_graph_t g;
    vigil__nn_graph_init(&g);
    if (vigil__onnx_load(buf, len, &g, errstr, errstr_size)) {
        vigil__nn_graph_release(&g);
        return NULL;
    }
    return vigil__nn_model_from_graph(&g, opts, errstr, errstr_size);
}

void vigil_nn_model_free(vigil_nn_model_t *m)
{
    if (!m) return;
    vigil__nn_graph_release(&m->g);
    free(m->in_info);
    free(m->out_info);
    free(m);
}

/* Input shapes for a validation plan: dynamic dims as d. */
static void concrete_inputs(const vigil_nn_model_t *m, vigil_nn_tensor_t *in, int64_t d)
{
    for (int i = 0; i < m->g.ninputs; i++) {
        in[i] = m->in_info[i];
        in[i].data = NULL;
        for (int k = 0; k < in[i].ndim; k++)
            if (in[i].dims[k] < 0) in[i].dims[k] = d;
    }
}

vigil_nn_model_t *vigil__nn_model_from_graph(nn_graph_t *g, const vigil_nn_load_opts_t *opts,
                                             char *errstr, size_t errstr_size)
{
    vigil_nn_load_opts_t def;
    if (!opts) {
        vigil_nn_load_opts_init(&def);
        opts = &def;
    }
    vigil_nn_tensor_t *shapes = NULL;
    nn_plan_t p1, p2;
    int have1 = 0, have2 = 0;
    vigil_nn_model_t *m = calloc(1, sizeof *m);
    if (!m) {
        vigil__nn_graph_release(g);
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "nn: out of memory");
        return NULL;
    }
    m->g = *g;
    memset(g, 0, sizeof *g);
    g = &m->g;
    m->in_info = calloc((size_t)g->ninputs + 1, sizeof *m->in_info);
    m->out_info = calloc((size_t)g->noutputs + 1, sizeof *m->out_info);
    shapes = calloc((size_t)g->ninputs + 1, sizeof *shapes);
    if (!m->in_info || !m->out_info || !shapes) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "nn: out of memory");
        goto fail;
    }
    for (int i = 0; i < g->ninputs; i++) {
        nn_value_t *v = &g->values[g->inputs[i]];
        for (int j = 0; j < i; j++)
            if (g->inputs[j] == g->inputs[i]) { /* fuzz: the plan's copy of the first leaked */
                vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "input \"%s\" is listed twice",
                             v->name);
                goto fail;
            }
        if (v->ndim < 0 || !vigil_nn_dtype_size(v->dtype)) {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                         "unsupported: input \"%s\": no tensor shape or dtype declared", v->name);
            goto fail;
        }
        if ((size_t)i < opts->ninput_shapes && opts->input_shapes &&
            opts->input_shapes[i].ndim > 0) {
            const vigil_nn_tensor_t *s = &opts->input_shapes[i];
            char a[96], b[96];
            int ok = s->ndim == v->ndim;
            for (int k = 0; ok && k < v->ndim; k++) ok = v->dims[k] < 0 || v->dims[k] == s->dims[k];
            if (!ok) {
                vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                             "input \"%s\": shape %s does not fit the model's %s", v->name,
                             vigil__nn_shape_str(s->ndim, s->dims, a, sizeof a),
                             vigil__nn_shape_str(v->ndim, v->dims, b, sizeof b));
                goto fail;
            }
            memcpy(v->dims, s->dims, sizeof v->dims);
        }
        m->in_info[i].dtype = v->dtype;
        m->in_info[i].ndim = v->ndim;
        memcpy(m->in_info[i].dims, v->dims, sizeof v->dims);
    }
    /* arity first: every later pass and prepare may index a node's inputs
     * up to its op's max_in */
    for (int ni = 0; ni < g->nnodes; ni++)
        if (vigil__nn_node_check_arity(&g->nodes[ni], errstr, errstr_size)) goto fail;
    /* single assignment: a value is a graph input, a constant or one node's
     * output, never two of these (fuzz: a node writing a graph input leaked
     * the plan's copy of it) */
    {
        uint8_t *set = calloc((size_t)g->nvalues + 1, 1);
        if (!set) {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "nn: out of memory");
            goto fail;
        }
        for (int i = 0; i < g->ninputs; i++) set[g->inputs[i]] = 1;
        for (int v = 0; v < g->nvalues; v++) set[v] |= g->values[v].data != NULL;
        for (int ni = 0; ni < g->nnodes; ni++)
            for (int j = 0; j < g->nodes[ni].noutputs; j++) {
                int v = g->nodes[ni].outputs[j];
                if (v < 0) continue;
                if (set[v]) {
                    vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                 "node \"%s\" (op %s): output \"%s\" is already a graph input, a "
                                 "constant or another node's output",
                                 g->nodes[ni].name, g->nodes[ni].op_type, g->values[v].name);
                    free(set);
                    goto fail;
                }
                set[v] = 1;
            }
        free(set);
    }
    if (vigil__nn_pass_toposort(g, errstr, errstr_size)) goto fail;
    if (opts->optimize) {
        if (vigil__nn_pass_fold_constants(g, errstr, errstr_size)) goto fail;
        if (vigil__nn_pass_fuse(g, errstr, errstr_size)) goto fail;
        vigil__nn_pass_dead_nodes(g);
        if (vigil__nn_pass_pack(g, errstr, errstr_size)) goto fail;
    }
    /* validate every node (attributes, shapes) with the dynamic dims set to
     * a trial size (small sizes may be too small for a network's pools:
     * larger ones are tried), then at twice that size to tell which output
     * dims follow the dynamic ones. An unsupported op/attribute fails the
     * load; a shape error with dynamic inputs is left to run time. */
    int dynamic = 0;
    for (int i = 0; i < g->ninputs; i++)
        for (int k = 0; k < m->in_info[i].ndim; k++) dynamic |= m->in_info[i].dims[k] < 0;
    static const int64_t trial[] = {1, 64, 320, 1024};
    vigil_err_t verr = VIGIL_OK;
    int64_t d1 = 1;
    for (size_t t = 0; t < (dynamic ? sizeof trial / sizeof trial[0] : 1); t++) {
        d1 = trial[t];
        concrete_inputs(m, shapes, d1);
        verr = vigil__nn_plan_build(&p1, g, shapes, 1, 0, errstr, errstr_size);
        if (!verr) break;
        if (verr == VIGIL_ERR_UNSUPPORTED || verr == VIGIL_ERR_NOMEM) goto fail;
    }
    if (verr && !dynamic) goto fail;
    have1 = !verr;
    if (have1 && dynamic && !p1.stopped) {
        concrete_inputs(m, shapes, d1 * 2);
        if (!vigil__nn_plan_build(&p2, g, shapes, 1, 0, NULL, 0)) have2 = !p2.stopped ? 1 : 2;
    }
    if (!have1) { /* describe outputs from the file's declarations */
        memset(&p1, 0, sizeof p1);
        p1.stopped = 1;
    }
    for (int i = 0; i < g->noutputs; i++) {
        int v = g->outputs[i];
        vigil_nn_tensor_t *o = &m->out_info[i];
        const nn_value_t *val = &g->values[v];
        if (!p1.stopped && p1.t[v].dtype) {
            o->dtype = p1.t[v].dtype;
            o->ndim = p1.t[v].ndim;
            for (int k = 0; k < o->ndim; k++)
                o->dims[k] = (have2 == 1 && p2.t[v].dims[k] != p1.t[v].dims[k]) ||
                                     (dynamic && have2 != 1)
                                 ? -1
                                 : p1.t[v].dims[k];
        } else {
            o->dtype = val->dtype;
            o->ndim = val->ndim < 0 ? 0 : val->ndim;
            memcpy(o->dims, val->dims, sizeof o->dims);
        }
    }
    if (have2) vigil__nn_plan_release(&p2);
    if (have1) vigil__nn_plan_release(&p1);
    free(shapes);
    return m;
fail:
    if (have1) vigil__nn_plan_release(&p1);
    free(shapes);
    vigil_nn_model_free(m);
    return NULL;
}

size_t vigil_nn_model_ninputs(const vigil_nn_model_t *m) { return (size_t)m->g.ninputs; }
size_t vigil_nn_model_noutputs(const vigil_nn_model_t *m) { return (size_t)m->g.noutputs; }

const char *vigil_nn_model_input_name(const vigil_nn_model_t *m, size_t i)
{
    return i < (size_t)m->g.ninputs ? m->g.values[m->g.inputs[i]].name : NULL;
}

const char *vigil_nn_model_output_name(const vigil_nn_model_t *m, size_t i)
{
    return i < (size_t)m->g.noutputs ? m->g.values[m->g.outputs[i]].name : NULL;
}

void vigil_nn_model_input_info(const vigil_nn_model_t *m, size_t i, vigil_nn_tensor_t *shape)
{
    memset(shape, 0, sizeof *shape);
    if (i < (size_t)m->g.ninputs) *shape = m->in_info[i];
}

void vigil_nn_model_output_info(const vigil_nn_model_t *m, size_t i, vigil_nn_tensor_t *shape)
{
    memset(shape, 0, sizeof *shape);
    if (i < (size_t)m->g.noutputs) *shape = m->out_info[i];
}

char *vigil_nn_model_op_types(const vigil_nn_model_t *m)
{
    size_t cap = 1, len = 0;
    for (int i = 0; i < m->g.nnodes; i++) cap += strlen(m->g.nodes[i].op_type) + 1;
    char *s = malloc(cap + 1);
    if (!s) return NULL;
    for (int i = 0; i < m->g.nnodes; i++) {
        const nn_node_t *n = &m->g.nodes[i];
        if (n->dead) continue;
        int seen = 0;
        for (size_t p = 0; p < len && !seen; p += strlen(s + p) + 1) seen = !strcmp(s + p, n->op_type);
        if (seen) continue;
        strcpy(s + len, n->op_type);
        len += strlen(n->op_type) + 1;
    }
    s[len] = 0;
    return s;
}

/* ---- sessions ------------------------------------------------------------------------ */

vigil_nn_session_t *vigil_nn_session_new(const vigil_nn_model_t *m,
                                         const vigil_nn_session_opts_t *opts, char *errstr,
                                         size_t errstr_size)
{
    vigil_nn_session_opts_t def;
    if (!opts) {
        vigil_nn_session_opts_init(&def);
        opts = &def;
    }
    if (!m) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "nn: no model");
        return NULL;
    }
    /* a VIGIL_NN_ISA this CPU cannot run (the best tier would run instead):
     * refused here, before anything is computed, naming it */
    if (opts->backend == VIGIL_NN_BACKEND_CPU && vigil_nn_isa_check(errstr, errstr_size)) return NULL;
    if (opts->backend != VIGIL_NN_BACKEND_CPU) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                     "unsupported: nn: backend %d (this build has the CPU backend only)",
                     (int)opts->backend);
        return NULL;
    }
    vigil_nn_session_t *s = calloc(1, sizeof *s);
    if (!s) goto nomem;
    s->model = m;
    s->profile = opts->profile;
    s->max_memory = opts->max_memory;
    s->key = calloc((size_t)m->g.ninputs + 1, sizeof *s->key);
    s->key_data = calloc((size_t)m->g.ninputs + 1, sizeof *s->key_data);
    s->node_ms = calloc((size_t)m->g.nnodes + 1, sizeof *s->node_ms);
    s->node_calls = calloc((size_t)m->g.nnodes + 1, sizeof *s->node_calls);
    s->pool = vigil__nn_pool_new(opts->threads);
    if (!s->key || !s->key_data || !s->node_ms || !s->node_calls || !s->pool) {
        vigil_nn_session_free(s);
        goto nomem;
    }
    return s;
nomem:
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "nn: out of memory");
    return NULL;
}

void vigil_nn_session_free(vigil_nn_session_t *s)
{
    if (!s) return;
    if (s->have_plan) vigil__nn_plan_release(&s->plan);
    if (s->key_data)
        for (int i = 0; i < s->model->g.ninputs; i++) free(s->key_data[i]);
    free(s->key);
    free(s->key_data);
    free(s->arena);
    free(s->node_ms);
    free(s->node_calls);
    vigil__nn_pool_free(s->pool);
    free(s);
}

size_t vigil_nn_session_arena_bytes(const vigil_nn_session_t *s)
{
    return s && s->have_plan ? s->plan.arena_bytes : 0;
}

static int key_matches(const vigil_nn_session_t *s, const vigil_nn_tensor_t *in)
{
    if (!s->have_plan) return 0;
    for (int i = 0; i < s->model->g.ninputs; i++) {
        const vigil_nn_tensor_t *k = &s->key[i];
        if (k->dtype != in[i].dtype || k->ndim != in[i].ndim ||
            memcmp(k->dims, in[i].dims, sizeof(int64_t) * (size_t)k->ndim))
            return 0;
        if (s->key_data[i] && memcmp(s->key_data[i], in[i].data, vigil__nn_bytes(k))) return 0;
    }
    return 1;
}

static vigil_err_t replan(vigil_nn_session_t *s, const vigil_nn_tensor_t *in, char *errstr,
                          size_t errstr_size)
{
    const nn_graph_t *g = &s->model->g;
    if (s->have_plan) vigil__nn_plan_release(&s->plan);
    s->have_plan = 0;
    vigil_err_t err = vigil__nn_plan_build(&s->plan, g, in, 0, s->max_memory, errstr, errstr_size);
    if (err) return err;
    s->have_plan = 1;
    if ((err = vigil__nn_plan_memory(&s->plan)))
        return vigil_seterr(errstr, errstr_size, err, "nn: out of memory planning the arena");
    if (s->max_memory && s->plan.arena_bytes > s->max_memory - s->plan.folded_bytes) {
        size_t need = s->plan.arena_bytes;
        s->have_plan = 0;
        vigil__nn_plan_release(&s->plan);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                            "nn: an arena of %zu bytes exceeds the session's memory budget of %zu bytes",
                            need, s->max_memory);
    }
    if (s->plan.arena_bytes > s->arena_cap) {
        free(s->arena);
        s->arena = NULL;
        s->arena_cap = 0;
        if (posix_memalign(&s->arena, 64, s->plan.arena_bytes))
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                                "nn: cannot allocate an arena of %zu bytes", s->plan.arena_bytes);
        s->arena_cap = s->plan.arena_bytes;
    }
    for (int i = 0; i < g->ninputs; i++) {
        free(s->key_data[i]);
        s->key_data[i] = NULL;
        s->key[i] = in[i];
        s->key[i].data = NULL;
        if (vigil_nn_tensor_numel(&in[i]) <= NN_PLAN_SMALL_INPUT) {
            size_t b = vigil__nn_bytes(&in[i]);
            if (!(s->key_data[i] = malloc(b ? b : 1))) {
                s->have_plan = 0;
                vigil__nn_plan_release(&s->plan);
                return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "nn: out of memory");
            }
            memcpy(s->key_data[i], in[i].data, b);
        }
    }
    return VIGIL_OK;
}

static double now_ms(void)
{
    return (double)vigil_mono_us() / 1e3;
}

vigil_err_t vigil_nn_run(vigil_nn_session_t *s, const vigil_nn_tensor_t *inputs, size_t ninputs,
                         vigil_nn_tensor_t *outputs, size_t noutputs, char *errstr,
                         size_t errstr_size)
{
    if (!s || (ninputs && !inputs) || (noutputs && !outputs))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "nn: invalid arguments");
    const vigil_nn_model_t *m = s->model;
    const nn_graph_t *g = &m->g;
    if (ninputs != (size_t)g->ninputs || noutputs > (size_t)g->noutputs)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "nn: model takes %d inputs and gives %d outputs (got %zu, %zu)",
                            g->ninputs, g->noutputs, ninputs, noutputs);
    for (int i = 0; i < g->ninputs; i++) {
        const vigil_nn_tensor_t *want = &m->in_info[i], *got = &inputs[i];
        int ok = got->dtype == want->dtype && got->ndim == want->ndim &&
                 (got->data || !vigil_nn_tensor_numel(got));
        for (int k = 0; ok && k < want->ndim; k++)
            ok = got->dims[k] >= 0 && (want->dims[k] < 0 || want->dims[k] == got->dims[k]);
        if (!ok) {
            char a[128], b[128];
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                "nn: input \"%s\": got %s %s%s, the model takes %s %s",
                                g->values[g->inputs[i]].name, vigil_nn_dtype_name(got->dtype),
                                vigil__nn_shape_str(got->ndim, got->dims, a, sizeof a),
                                got->data ? "" : " without data", vigil_nn_dtype_name(want->dtype),
                                vigil__nn_shape_str(want->ndim, want->dims, b, sizeof b));
        }
    }
    vigil_err_t err;
    if (!key_matches(s, inputs) && (err = replan(s, inputs, errstr, errstr_size))) return err;
    nn_plan_t *p = &s->plan;
    for (int i = 0; i < g->ninputs; i++)
        if (!p->konst[g->inputs[i]]) p->t[g->inputs[i]].data = inputs[i].data;
    for (int v = 0; v < g->nvalues; v++)
        if (p->offset[v] != SIZE_MAX) p->t[v].data = (char *)s->arena + p->offset[v];
    for (int ni = 0; ni < g->nnodes; ni++) {
        if (g->nodes[ni].dead || p->folded[ni]) continue;
        double t0 = s->profile ? now_ms() : 0;
        err = vigil__nn_plan_run_node(p, ni, p->scratch[ni] ? (char *)s->arena + p->scratch_off[ni]
                                                          : NULL,
                                      s->pool, errstr, errstr_size);
        if (err) return err;
        if (s->profile) {
            s->node_ms[ni] += now_ms() - t0;
            s->node_calls[ni]++;
        }
    }
    for (size_t i = 0; i < noutputs; i++) outputs[i] = p->t[g->outputs[i]];
    return VIGIL_OK;
}

#define PROFILE_TOP 12

char *vigil_nn_session_profile(const vigil_nn_session_t *s)
{
    const nn_graph_t *g = &s->model->g;
    int n = g->nnodes;
    const char **types = calloc((size_t)n + 1, sizeof *types);
    double *ms = calloc((size_t)n + 1, sizeof *ms);
    int64_t *calls = calloc((size_t)n + 1, sizeof *calls);
    char *out = NULL;
    int nt = 0, *np = NULL;
    double total = 0;
    if (!types || !ms || !calls) goto done;
    for (int i = 0; i < n; i++) {
        if (!s->node_calls[i]) continue;
        int k = 0;
        while (k < nt && strcmp(types[k], g->nodes[i].op_type)) k++;
        if (k == nt) types[nt++] = g->nodes[i].op_type;
        ms[k] += s->node_ms[i];
        calls[k] += s->node_calls[i];
        total += s->node_ms[i];
    }
    /* sort by time, descending */
    for (int i = 0; i < nt; i++)
        for (int j = i + 1; j < nt; j++)
            if (ms[j] > ms[i]) {
                double t = ms[i]; ms[i] = ms[j]; ms[j] = t;
                int64_t c = calls[i]; calls[i] = calls[j]; calls[j] = c;
                const char *x = types[i]; types[i] = types[j]; types[j] = x;
            }
    size_t cap = 128 + (size_t)nt * 96, len = 0;
    if (!(out = malloc(cap))) goto done;
    len += (size_t)snprintf(out, cap, "%-24s %8s %12s %7s\n", "op", "calls", "total ms", "share");
    for (int i = 0; i < nt; i++)
        len += (size_t)snprintf(out + len, cap - len, "%-24s %8lld %12.3f %6.1f%%\n", types[i],
                                (long long)calls[i], ms[i], total > 0 ? 100 * ms[i] / total : 0);
    len += (size_t)snprintf(out + len, cap - len, "%-24s %8s %12.3f %6.1f%%\n", "total", "", total, 100.0);
    /* the slowest single nodes, with what makes a conv fast or slow */
    if (!(np = malloc(((size_t)n + 1) * sizeof *np))) goto done;
    int nn = 0;
    for (int i = 0; i < n; i++)
        if (s->node_calls[i]) np[nn++] = i;
    for (int i = 0; i < nn && i < PROFILE_TOP; i++)
        for (int j = i + 1; j < nn; j++)
            if (s->node_ms[np[j]] > s->node_ms[np[i]]) {
                int t = np[i]; np[i] = np[j]; np[j] = t;
            }
    char *grown = realloc(out, cap + 180 * PROFILE_TOP + 192);
    if (!grown) goto done;
    out = grown;
    cap += 180 * PROFILE_TOP + 192;
    /* multiply-accumulates counted from the graph (nn/macs.h): what the
     * time bought, as GFLOP/s overall and per node */
    int64_t run_macs = s->have_plan ? vigil__nn_plan_macs(g, &s->plan) : 0;
    int64_t nruns = 0;
    for (int i = 0; i < n; i++)
        if (s->node_calls[i] > nruns) nruns = s->node_calls[i];
    if (run_macs > 0 && total > 0)
        len += (size_t)snprintf(out + len, cap - len, "%.3f GMAC a run, %.1f GFLOP/s over the %lld runs\n",
                                run_macs / 1e9, 2.0 * (double)run_macs * (double)nruns / (total * 1e6),
                                (long long)nruns);
    len += (size_t)snprintf(out + len, cap - len, "slowest nodes (GFLOP/s from the graph's MACs):\n");
    for (int i = 0; i < nn && i < PROFILE_TOP; i++) {
        const nn_node_t *nd = &g->nodes[np[i]];
        const int64_t *ks = NULL;
        size_t nks = vigil__nn_attr_ints(nd, "kernel_shape", &ks);
        char kind[64] = "";
        const int64_t *st = NULL;
        size_t nst = vigil__nn_attr_ints(nd, "strides", &st);
        const nn_value_t *wv = nd->ninputs > 1 && nd->inputs[1] >= 0 ? &g->values[nd->inputs[1]] : NULL;
        if (nks == 2 && wv && wv->ndim == 4)
            snprintf(kind, sizeof kind, "w%lldx%lldx%lldx%lld s%lld g%lld", (long long)wv->dims[0],
                     (long long)wv->dims[1], (long long)ks[0], (long long)ks[1], (long long)(nst ? st[0] : 1),
                     (long long)vigil__nn_attr_int(nd, "group", 1));
        else if (nks == 2)
            snprintf(kind, sizeof kind, "k%lldx%lld s%lld", (long long)ks[0], (long long)ks[1],
                     (long long)(nst ? st[0] : 1));
        int64_t macs = s->have_plan ? vigil__nn_node_macs(g, &s->plan, np[i]) : 0;
        char gf[24] = "";
        if (macs > 0 && s->node_ms[np[i]] > 0)
            snprintf(gf, sizeof gf, "%7.1f GFLOP/s",
                     2.0 * (double)macs * (double)s->node_calls[np[i]] / (s->node_ms[np[i]] * 1e6));
        len += (size_t)snprintf(out + len, cap - len, "  %-14.14s %-36.36s %-24s %9.3f ms %5.1f%% %s\n",
                                nd->op_type, nd->name ? nd->name : "", kind, s->node_ms[np[i]],
                                total > 0 ? 100 * s->node_ms[np[i]] / total : 0, gf);
    }
done:
    free(np);
    free(types);
    free(ms);
    free(calls);
    return out;
}
