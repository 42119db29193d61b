/* What is wrong in this process, for /healthz and the CLI.
 *
 * A small registry of problems, each keyed by (component, camera): the code
 * that sees a failure sets its problem, and clears it when the same work
 * succeeds again. A problem is
 *   degraded  the process serves, but part of its work fails (frames are not
 *             stored on a full disk, a store write is being retried);
 *   failed    a component stopped and will not resume without an operator
 *             (the sink met a fatal store error): `vigil run` and the stage
 *             services stop, saying why, and exit 1.
 * /healthz renders the registry (vigil_health_json), so it never says "ok"
 * while frames fail. In distributed mode each process reports its own
 * problems on its own /healthz.
 *
 * The registry is bounded (VIGIL_HEALTH_MAX problems; more are counted, not
 * kept): camera ids come from the bus.
 *
 * Thread: every function may be called from any thread; each takes the
 * registry lock briefly. */
#ifndef VIGIL_HEALTH_H
#define VIGIL_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#define VIGIL_HEALTH_MAX 256

typedef enum vigil_health_level {
    VIGIL_HEALTH_OK = 0,
    VIGIL_HEALTH_DEGRADED = 1,
    VIGIL_HEALTH_FAILED = 2,
} vigil_health_level_t;

/* Sets (or updates) the problem of (component, camera); camera may be NULL
 * for the component as a whole. `error` says what fails, as logged. The
 * first time records `since`; each call counts one more occurrence. A
 * failed problem stays failed, with its error, even if set again as
 * degraded. */
void vigil_health_set(const char *component, const char *camera, vigil_health_level_t level,
                      const char *error);
/* Clears the problem of (component, camera), if any. */
void vigil_health_clear(const char *component, const char *camera);

/* The worst level of all problems; if error is not NULL it gets that
 * problem as "component: camera \"ID\": error". */
vigil_health_level_t vigil_health_level(char *error, size_t error_size);
const char *vigil_health_level_name(vigil_health_level_t level); /* "ok", "degraded", "failed" */

/* The registry as JSON, malloc'd, NUL-terminated:
 *   {"status":"ok"}
 *   {"status":"degraded","problems":[{"component":"preprocess","camera":"lobby",
 *    "level":"degraded","error":"...","since":"2026-...Z","last":"2026-...Z",
 *    "count":57}, ...]}
 * (plus "more":N when problems were not kept). NULL when out of memory. */
char *vigil_health_json(size_t *len);

/* Forgets every problem (tests). */
void vigil_health_reset(void);

#endif
