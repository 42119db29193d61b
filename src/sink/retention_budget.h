/* The frame store's byte budgets, kept by the retention sweeper (internal to
 * src/sink; docs/warehouse.md, "Retention").
 *
 * store.max_bytes bounds every camera's frames together, cameras[].max_bytes
 * one camera's. A check reads the store's running totals (a few rows),
 * publishes them as metrics and, when a budget is exceeded, runs
 * vigil_store_sweep_budget: the oldest frames no event needs go first. The
 * retention thread runs a check every 250 ms (frames are written by
 * preprocess, perhaps in another process, so the writer cannot call it) and
 * after each age sweep.
 *
 * Which events need frames: every event still in the warehouse, that is
 * open or younger than its retention (the age sweep deletes the others
 * first): events_ended_before_us 0.
 *
 * Thread: one thread at a time (the retention thread, or a test). */
#ifndef VIGIL_SINK_RETENTION_BUDGET_H
#define VIGIL_SINK_RETENTION_BUDGET_H

#include "vigil/config.h"
#include "vigil/err.h"
#include "vigil/store.h"

typedef struct vigil__budget vigil__budget_t;

/* NULL when out of memory. A configuration without any budget gives a
 * budget that only publishes the metrics. */
vigil__budget_t *vigil__budget_new(const vigil_config_t *cfg);
void vigil__budget_free(vigil__budget_t *b);
/* Whether any budget is set. */
int vigil__budget_active(const vigil__budget_t *b);

/* Reads the totals and, if a budget is exceeded (or `force` and any is
 * set), sweeps. *res (may be NULL) gets what the sweep did. Errors are
 * logged (once per 10 s), counted and shown on /healthz as degraded
 * ("frame_budget"); the error is returned. */
vigil_err_t vigil__budget_check(vigil__budget_t *b, vigil_store_t *store, int force,
                                vigil_budget_result_t *res);

#endif
