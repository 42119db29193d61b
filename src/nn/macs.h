/* Multiply-accumulates of a planned graph, counted from the graph (the
 * direct count: Winograd and other fast algorithms do fewer multiplies, but
 * achieved GFLOP/s are quoted against this count, as is usual). For the
 * benchmark's "fraction of peak" and the profile's per-node GFLOP/s. */
#ifndef VIGIL_NN_MACS_H
#define VIGIL_NN_MACS_H

#include <stdint.h>

#include "nn/ir.h"
#include "nn/plan.h"

/* MACs of node i under plan p (shapes resolved): Conv (output elements x
 * input channels per group x kernel taps), ConvTranspose (input elements x
 * output channels per group x taps), MatMul and Gemm (output elements x K);
 * 0 for every other op and for a node the plan folded. */
int64_t vigil__nn_node_macs(const nn_graph_t *g, const nn_plan_t *p, int i);
/* Sum over the live nodes of g. */
int64_t vigil__nn_plan_macs(const nn_graph_t *g, const nn_plan_t *p);

#endif
