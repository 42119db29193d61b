/* Optimal assignment with a cost threshold (the tracker's matching step).
 *
 * Given an n x m cost matrix and a threshold, finds a one-to-one matching of
 * rows to columns that uses only pairs with cost <= thr and minimises
 *     sum over matched pairs of cost  +  thr * (unmatched rows)
 * i.e. it maximises the total saving (thr - cost) over matched pairs: the
 * objective of ByteTrack's lapjv(extend_cost=True, cost_limit=thr) up to a
 * constant. Among equal optima the result is deterministic (depends on the
 * matrix only). */
#ifndef VIGIL_ANALYTICS_LAP_H
#define VIGIL_ANALYTICS_LAP_H

#include <stddef.h>

/* Scratch memory, reused across calls (no allocation once warm). */
typedef struct vigil__lap {
    double *d;
    size_t capd;
    int *iv;
    size_t capiv;
} vigil__lap_t;

void vigil__lap_init(vigil__lap_t *lap);
void vigil__lap_release(vigil__lap_t *lap);

/* cost: n x m, row-major; a NaN entry is never matched. Fills row_col[n]
 * (matched column or -1) and col_row[m] (matched row or -1). Returns the
 * number of matched pairs, or -1 if scratch memory could not be allocated. */
int vigil__lap_solve(vigil__lap_t *lap, const float *cost, int n, int m, float thr, int *row_col,
                     int *col_row);

#endif
