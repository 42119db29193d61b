/* Plans (see plan.h): shape resolution with plan-time folding, and the
 * memory planner that lays the remaining values out in one arena.
 *
 * Memory planner: each arena value lives from the node that writes it to
 * the last node that reads it (graph outputs to the end); a node's scratch
 * lives during that node only. Buffers are placed largest first, each at the
 * best-fitting gap among the already-placed buffers whose lifetimes overlap
 * (greedy by size, best fit), so values that never live at the same time
 * share bytes. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/kernels.h"
#include "nn/plan.h"

#define ALIGN 64

void vigil__nn_plan_release(nn_plan_t *plan)
{
    if (plan->owned)
        for (int i = 0; i < plan->g->nvalues; i++) free(plan->owned[i]);
    if (plan->params)
        for (int i = 0; i < plan->g->nnodes; i++) free(plan->params[i]);
    free(plan->t);
    free(plan->konst);
    free(plan->owned);
    free(plan->folded);
    free(plan->params);
    free(plan->scratch);
    free(plan->offset);
    free(plan->scratch_off);
    memset(plan, 0, sizeof *plan);
}

static vigil_nn_tensor_t dummy_out;

/* Builds the in/out pointer arrays of node ni; in[] has
 * vigil__nn_in_slots(n) entries, NULL past the node's inputs. */
static void node_io(nn_plan_t *plan, const nn_node_t *n, vigil_nn_tensor_t **in,
                    vigil_nn_tensor_t **out, vigil_nn_tensor_t *dummies)
{
    int slots = vigil__nn_in_slots(n);
    for (int j = 0; j < slots; j++)
        in[j] = j < n->ninputs && n->inputs[j] >= 0 ? &plan->t[n->inputs[j]] : NULL;
    for (int j = 0; j < n->noutputs; j++)
        out[j] = n->outputs[j] >= 0 ? &plan->t[n->outputs[j]] : &dummies[j];
}

/* The scratch of a node that asked for none: kernels compute pointers from
 * it (ix + dim with dim 0), which is undefined on NULL (fuzz: TopK on an
 * empty axis, ConvTranspose on an empty input). One byte, so that ASan's
 * redzone still catches a kernel that writes scratch it did not ask for. */
static _Alignas(64) unsigned char no_scratch[1];

vigil_err_t vigil__nn_plan_run_node(nn_plan_t *plan, int ni, void *scratch, struct nn_pool *pool,
                                    char *errstr, size_t errstr_size)
{
    const nn_node_t *n = &plan->g->nodes[ni];
    if (!scratch) scratch = no_scratch;
    int slots = vigil__nn_in_slots(n);
    vigil_nn_tensor_t *in[slots + 1], *out[n->noutputs + 1], dummies[n->noutputs + 1];
    node_io(plan, n, in, out, dummies);
    for (int j = 0; j < n->noutputs; j++)
        if (n->outputs[j] < 0) {
            dummies[j] = dummy_out;
            dummies[j].data = NULL;
        }
    nn_exec_t e = {.node = n, .params = plan->params[ni], .in = in, .nin = slots,
                   .out = out, .nout = n->noutputs, .scratch = scratch, .pool = pool,
                   .errstr = errstr, .errstr_size = errstr_size};
    return n->op->run(&e);
}

/* Runs node ni now (all inputs known): outputs go to plan-owned buffers.
 * in/out are the arrays prepare saw (left-out outputs point at dummies that
 * carry their prepared shapes). */
static vigil_err_t fold_node(nn_plan_t *plan, int ni, vigil_nn_tensor_t **in,
                             vigil_nn_tensor_t **out, char *errstr, size_t errstr_size)
{
    const nn_node_t *n = &plan->g->nodes[ni];
    vigil_err_t err = VIGIL_OK;
    void *scratch = NULL;
    void *dummy_bufs[n->noutputs + 1];
    memset(dummy_bufs, 0, sizeof dummy_bufs);
    size_t need = 0;
    for (int j = 0; j < n->noutputs; j++) need += vigil__nn_bytes(out[j]);
    if (plan->max_memory && need > plan->max_memory - plan->folded_bytes)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                            "node \"%s\" (op %s): %zu bytes of plan-time results exceed the "
                            "session's memory budget of %zu bytes",
                            n->name, n->op_type, need, plan->max_memory);
    plan->folded_bytes += need;
    for (int j = 0; j < n->noutputs; j++) {
        int v = n->outputs[j];
        size_t b = vigil__nn_bytes(out[j]);
        void *buf = calloc(1, b ? b : 1);
        if (!buf) goto nomem;
        if (v >= 0) plan->owned[v] = buf;
        else dummy_bufs[j] = buf;
        out[j]->data = buf;
    }
    if (plan->scratch[ni] && !(scratch = malloc(plan->scratch[ni]))) goto nomem;
    nn_exec_t e = {.node = n, .params = plan->params[ni], .in = in, .nin = vigil__nn_in_slots(n),
                   .out = out, .nout = n->noutputs, .scratch = scratch ? scratch : no_scratch,
                   .pool = NULL,
                   .errstr = errstr, .errstr_size = errstr_size};
    err = n->op->run(&e);
    goto done;
nomem:
    err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "node \"%s\": out of memory",
                       n->name);
done:
    for (int j = 0; j < n->noutputs; j++) free(dummy_bufs[j]);
    free(scratch);
    return err;
}

vigil_err_t vigil__nn_plan_build(nn_plan_t *plan, const nn_graph_t *g,
                                 const vigil_nn_tensor_t *inputs, int validate, size_t max_memory,
                                 char *errstr, size_t errstr_size)
{
    vigil_err_t err = VIGIL_OK;
    int nv = g->nvalues, nn = g->nnodes;
    memset(plan, 0, sizeof *plan);
    plan->g = g;
    plan->max_memory = max_memory;
    plan->t = calloc((size_t)nv + 1, sizeof *plan->t);
    plan->konst = calloc((size_t)nv + 1, 1);
    plan->owned = calloc((size_t)nv + 1, sizeof(void *));
    plan->offset = calloc((size_t)nv + 1, sizeof(size_t));
    plan->folded = calloc((size_t)nn + 1, 1);
    plan->params = calloc((size_t)nn + 1, sizeof(void *));
    plan->scratch = calloc((size_t)nn + 1, sizeof(size_t));
    plan->scratch_off = calloc((size_t)nn + 1, sizeof(size_t));
    if (!plan->t || !plan->konst || !plan->owned || !plan->offset || !plan->folded ||
        !plan->params || !plan->scratch || !plan->scratch_off)
        goto nomem;
    for (int v = 0; v < nv; v++) {
        const nn_value_t *val = &g->values[v];
        plan->offset[v] = SIZE_MAX;
        if (val->data) {
            plan->t[v].dtype = val->dtype;
            plan->t[v].ndim = val->ndim;
            memcpy(plan->t[v].dims, val->dims, sizeof val->dims);
            plan->t[v].data = val->data;
            plan->konst[v] = NN_CONST_GRAPH;
        }
    }
    for (int i = 0; i < g->ninputs; i++) {
        int v = g->inputs[i];
        plan->t[v] = inputs[i];
        plan->t[v].data = NULL;
        if (inputs[i].data && vigil_nn_tensor_numel(&inputs[i]) <= NN_PLAN_SMALL_INPUT) {
            size_t b = vigil__nn_bytes(&inputs[i]);
            if (!(plan->owned[v] = malloc(b ? b : 1))) goto nomem;
            memcpy(plan->owned[v], inputs[i].data, b);
            plan->t[v].data = plan->owned[v];
            plan->konst[v] = NN_CONST_PLAN;
        }
    }
    for (int ni = 0; ni < nn; ni++) {
        const nn_node_t *n = &g->nodes[ni];
        if (n->dead) continue;
        if (n->op->params_size && !(plan->params[ni] = calloc(1, n->op->params_size))) goto nomem;
        if ((err = vigil__nn_node_check_arity(n, errstr, errstr_size))) goto fail;
        int slots = vigil__nn_in_slots(n);
        vigil_nn_tensor_t *in[slots + 1], *out[n->noutputs + 1], dummies[n->noutputs + 1];
        memset(dummies, 0, sizeof dummies);
        node_io(plan, n, in, out, dummies);
        int all_const = 1, level = NN_CONST_GRAPH;
        for (int j = 0; j < n->ninputs; j++) {
            int v = n->inputs[j];
            if (v < 0) continue;
            if (plan->t[v].ndim < 0 || (plan->t[v].dtype == VIGIL_NN_UNDEFINED)) {
                err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                   "node \"%s\" (op %s): input \"%s\" has no known shape",
                                   n->name, n->op_type, g->values[v].name);
                goto fail;
            }
            if (!plan->konst[v]) all_const = 0;
            else if (plan->konst[v] > level) level = plan->konst[v];
        }
        if (n->op->flags & NN_OP_SHAPE_ONLY) {
            all_const = 1;
            for (int j = 0; j < n->ninputs; j++)
                if (n->inputs[j] >= 0 && plan->konst[n->inputs[j]] != NN_CONST_GRAPH)
                    level = NN_CONST_PLAN;
        }
        nn_prep_t p = {.graph = g, .node = n, .in = in, .nin = slots, .out = out,
                       .nout = n->noutputs, .params = plan->params[ni], .errstr = errstr,
                       .errstr_size = errstr_size};
        for (int j = 0; j < n->noutputs; j++) {
            out[j]->dtype = VIGIL_NN_UNDEFINED;
            out[j]->ndim = 0;
            out[j]->data = NULL;
        }
        err = n->op->prepare(&p);
        if (err == VIGIL_ERR_AGAIN && validate) {
            plan->stopped = 1;
            err = VIGIL_OK;
            break;
        }
        if (err == VIGIL_ERR_AGAIN) err = VIGIL_ERR_INVALID;
        if (err) goto fail;
        for (int j = 0; j < n->noutputs; j++) {
            vigil_nn_tensor_t *o = out[j];
            int64_t numel = 1;
            int bad = o->ndim < 0 || o->ndim > VIGIL_NN_MAX_DIMS || !vigil_nn_dtype_size(o->dtype);
            for (int d = 0; !bad && d < o->ndim; d++) {
                if (o->dims[d] < 0 || (o->dims[d] && numel > ((int64_t)1 << 40) / o->dims[d]))
                    bad = 1;
                else numel *= o->dims[d];
            }
            if (bad) {
                err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                   "node \"%s\" (op %s): output %d has an invalid shape or dtype",
                                   n->name, n->op_type, j);
                goto fail;
            }
        }
        plan->scratch[ni] = p.scratch_bytes;
        if (all_const) {
            err = fold_node(plan, ni, in, out, errstr, errstr_size);
            if (err) goto fail;
            plan->folded[ni] = 1;
            for (int j = 0; j < n->noutputs; j++)
                if (n->outputs[j] >= 0) plan->konst[n->outputs[j]] = (uint8_t)level;
        }
    }
    return VIGIL_OK;
nomem:
    err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "plan: out of memory");
fail:
    vigil__nn_plan_release(plan);
    return err;
}

/* ---- memory planner ------------------------------------------------------------------ */

typedef struct buf {
    size_t size, off;
    int start, end; /* node positions, inclusive */
    int value;      /* value index, or -1 - node for a scratch buffer */
} buf_t;

static int by_size_desc(const void *a, const void *b)
{
    const buf_t *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return x->start - y->start;
}

static int by_off(const void *a, const void *b)
{
    const buf_t *x = *(buf_t *const *)a, *y = *(buf_t *const *)b;
    return x->off < y->off ? -1 : x->off > y->off;
}

vigil_err_t vigil__nn_plan_memory(nn_plan_t *plan)
{
    const nn_graph_t *g = plan->g;
    int nv = g->nvalues, nn = g->nnodes;
    int *start = malloc(sizeof(int) * (size_t)(nv + 1)), *end = malloc(sizeof(int) * (size_t)(nv + 1));
    buf_t *bufs = malloc(sizeof *bufs * (size_t)(nv + nn + 1));
    buf_t **placed = malloc(sizeof *placed * (size_t)(nv + nn + 1));
    vigil_err_t err = VIGIL_ERR_NOMEM;
    int nb = 0, np;
    if (!start || !end || !bufs || !placed) goto done;
    for (int v = 0; v < nv; v++) start[v] = end[v] = -1;
    for (int ni = 0; ni < nn; ni++) {
        const nn_node_t *n = &g->nodes[ni];
        if (n->dead || plan->folded[ni]) continue;
        for (int j = 0; j < n->noutputs; j++)
            if (n->outputs[j] >= 0) start[n->outputs[j]] = end[n->outputs[j]] = ni;
        for (int j = 0; j < n->ninputs; j++)
            if (n->inputs[j] >= 0) end[n->inputs[j]] = ni;
        if (plan->scratch[ni])
            bufs[nb++] = (buf_t){.size = (plan->scratch[ni] + ALIGN - 1) & ~(size_t)(ALIGN - 1),
                                 .start = ni, .end = ni, .value = -1 - ni};
    }
    for (int i = 0; i < g->noutputs; i++) end[g->outputs[i]] = INT_MAX;
    plan->sum_bytes = 0;
    for (int v = 0; v < nv; v++) {
        if (start[v] < 0 || plan->konst[v]) continue;
        size_t size = vigil__nn_bytes(&plan->t[v]);
        size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
        if (!size) size = ALIGN;
        bufs[nb++] = (buf_t){.size = size, .start = start[v], .end = end[v], .value = v};
    }
    qsort(bufs, (size_t)nb, sizeof *bufs, by_size_desc);
    size_t total = 0;
    for (int i = 0; i < nb; i++) {
        buf_t *b = &bufs[i];
        plan->sum_bytes += b->size;
        np = 0;
        for (int j = 0; j < i; j++)
            if (bufs[j].start <= b->end && b->start <= bufs[j].end) placed[np++] = &bufs[j];
        qsort(placed, (size_t)np, sizeof *placed, by_off);
        size_t best = SIZE_MAX, best_gap = SIZE_MAX, cur = 0;
        for (int j = 0; j < np; j++) {
            if (placed[j]->off > cur) {
                size_t gap = placed[j]->off - cur;
                if (gap >= b->size && gap < best_gap) {
                    best = cur;
                    best_gap = gap;
                }
            }
            size_t e = placed[j]->off + placed[j]->size;
            if (e > cur) cur = e;
        }
        b->off = best != SIZE_MAX ? best : cur;
        if (b->off + b->size > total) total = b->off + b->size;
    }
    for (int i = 0; i < nb; i++) {
        if (bufs[i].value >= 0) plan->offset[bufs[i].value] = bufs[i].off;
        else plan->scratch_off[-1 - bufs[i].value] = bufs[i].off;
    }
    plan->arena_bytes = total;
    err = VIGIL_OK;
done:
    free(start);
    free(end);
    free(bufs);
    free(placed);
    return err;
}
