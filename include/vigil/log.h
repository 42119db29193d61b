/* JSON-lines logging on stderr.
 *
 * Every record is one line: {"ts":"2026-11-21T05:31:02.123Z","level":"info",
 * "stage":"ingest","camera":"lobby","msg":"...", ...fields}. The level is
 * checked before the arguments are evaluated (VIGIL_LOG is a macro), so a
 * debug call on a hot path costs one comparison when debug is off.
 *
 * Thread: every function may be called from any thread; a record is written
 * with a single write(2) so lines never interleave. */
#ifndef VIGIL_LOG_H
#define VIGIL_LOG_H

#include <stdarg.h>

typedef enum vigil_log_level {
    VIGIL_LOG_DEBUG = 0,
    VIGIL_LOG_INFO = 1,
    VIGIL_LOG_WARN = 2,
    VIGIL_LOG_ERROR = 3,
    VIGIL_LOG_OFF = 4,
} vigil_log_level_t;

extern volatile int vigil_log_min_level;

/* Parses "debug", "info", "warn", "error", "off"; returns -1 if unknown. */
int vigil_log_level_parse(const char *name);
const char *vigil_log_level_name(vigil_log_level_t level);
void vigil_log_set_level(vigil_log_level_t level);

/* Redirect output (default: fd 2). For tests. */
void vigil_log_set_fd(int fd);

/* Writes one record. stage and camera may be NULL. `fields` is either NULL or
 * a string of extra JSON members without braces, e.g. "\"seq\":12,\"bytes\":300".
 * Prefer the macros below. */
void vigil_log_write(vigil_log_level_t level, const char *stage, const char *camera,
                     const char *fields, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void vigil_log_vwrite(vigil_log_level_t level, const char *stage, const char *camera,
                      const char *fields, const char *fmt, va_list ap);

/* Number of records written at each level since start (for tests and /metrics). */
unsigned long vigil_log_count(vigil_log_level_t level);

#define VIGIL_LOG(level, stage, camera, ...)                                                      \
    do {                                                                                          \
        if ((int)(level) >= vigil_log_min_level)                                                  \
            vigil_log_write((level), (stage), (camera), NULL, __VA_ARGS__);                       \
    } while (0)
#define VIGIL_LOGF(level, stage, camera, fields, ...)                                             \
    do {                                                                                          \
        if ((int)(level) >= vigil_log_min_level)                                                  \
            vigil_log_write((level), (stage), (camera), (fields), __VA_ARGS__);                   \
    } while (0)

#define vigil_debug(stage, camera, ...) VIGIL_LOG(VIGIL_LOG_DEBUG, stage, camera, __VA_ARGS__)
#define vigil_info(stage, camera, ...)  VIGIL_LOG(VIGIL_LOG_INFO, stage, camera, __VA_ARGS__)
#define vigil_warn(stage, camera, ...)  VIGIL_LOG(VIGIL_LOG_WARN, stage, camera, __VA_ARGS__)
#define vigil_error(stage, camera, ...) VIGIL_LOG(VIGIL_LOG_ERROR, stage, camera, __VA_ARGS__)

#endif
