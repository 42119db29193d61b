/* Plans: concrete shapes, plan-time constants and the arena layout of one
 * graph for one set of input shapes (and small input values).
 *
 * Main idea: walking the sorted graph, each live node's prepare computes its
 * output shapes from its input shapes. A node whose inputs are all known at
 * plan time (graph constants, shape-only ops such as Shape, small graph
 * inputs whose values the plan was built for) is run right away into a
 * plan-owned buffer ("folded"), so shape computations (Shape -> Gather ->
 * Concat -> Reshape) cost nothing per run. Every other value gets an offset
 * in one arena from the memory planner (planner.c). */
#ifndef VIGIL_NN_PLAN_H
#define VIGIL_NN_PLAN_H

#include "nn/ir.h"

/* constness of a value in a plan */
enum { NN_DYN = 0, NN_CONST_GRAPH = 1, NN_CONST_PLAN = 2 };

/* graph inputs of at most this many elements are plan constants */
#define NN_PLAN_SMALL_INPUT 16

typedef struct nn_plan {
    const nn_graph_t *g;
    vigil_nn_tensor_t *t; /* per value: dtype, shape, data (const data or arena view) */
    uint8_t *konst;       /* per value: NN_DYN / NN_CONST_* */
    void **owned;         /* per value: buffer owned by the plan (folded values) */
    uint8_t *folded;      /* per node: computed at plan time */
    void **params;        /* per node: op->params_size bytes */
    size_t *scratch;      /* per node: scratch bytes asked by prepare */
    size_t *offset;       /* per value: arena offset or SIZE_MAX */
    size_t *scratch_off;  /* per node */
    size_t arena_bytes;
    size_t folded_bytes; /* plan-owned buffers of values folded while planning */
    size_t max_memory;   /* 0 = no budget (vigil_nn_session_opts_t.max_memory) */
    size_t sum_bytes;     /* what the arena values would take without reuse */
    int stopped;          /* validation stopped at a node needing a runtime value */
} nn_plan_t;

/* Builds a plan. inputs[i] gives graph input i's dtype and shape, and its
 * data when it has at most NN_PLAN_SMALL_INPUT elements (may be NULL data:
 * then such an input stays dynamic). validate != 0: a node needing a value
 * only known at run time stops planning (plan->stopped) instead of failing.
 * Returns VIGIL_OK or an error naming node/op. */
vigil_err_t vigil__nn_plan_build(nn_plan_t *plan, const nn_graph_t *g,
                                 const vigil_nn_tensor_t *inputs, int validate, size_t max_memory,
                                 char *errstr, size_t errstr_size);
void vigil__nn_plan_release(nn_plan_t *plan);

/* Memory planner: assigns plan->offset / scratch_off / arena_bytes. */
vigil_err_t vigil__nn_plan_memory(nn_plan_t *plan);

/* Runs one node of a plan (all of its inputs/outputs have data). */
vigil_err_t vigil__nn_plan_run_node(nn_plan_t *plan, int node, void *scratch, struct nn_pool *pool,
                                    char *errstr, size_t errstr_size);

/* Graph passes (passes.c). */
vigil_err_t vigil__nn_pass_toposort(nn_graph_t *g, char *errstr, size_t errstr_size);
vigil_err_t vigil__nn_pass_fold_constants(nn_graph_t *g, char *errstr, size_t errstr_size);
vigil_err_t vigil__nn_pass_fuse(nn_graph_t *g, char *errstr, size_t errstr_size);
void vigil__nn_pass_dead_nodes(nn_graph_t *g);
/* Packs the constant weights of every live group-1 Conv into the GEMM's
 * A-panel layout, and every MatMul's constant 2-D B into its B-panel
 * layout, once (node->packed_w), so runs skip packing them. Returns
 * VIGIL_ERR_NOMEM or VIGIL_OK. */
vigil_err_t vigil__nn_pass_pack(nn_graph_t *g, char *errstr, size_t errstr_size);

#endif
