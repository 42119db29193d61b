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
#include <stddef.h>
#include <stdint.h>

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
/* A second destination for every record written (log.sink: opensearch,
 * src/search/logship.c): fn gets the JSON line, without its newline, on the
 * thread that logs, and must neither block nor log. NULL turns it off; once
 * vigil_log_set_hook returns, no call of the previous hook is running.
 * Thread: any (records in flight finish before a change takes effect). */
typedef void (*vigil_log_hook_fn)(void *opaque, const char *line, size_t len);
void vigil_log_set_hook(vigil_log_hook_fn fn, void *opaque);

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

/* Appends s to buf[len..cap) as the contents of a JSON string (no quotes),
 * stopping before cap - 7; returns the new length. Shared by the JSON
 * writers of core (health.c). */
size_t vigil__json_escape(char *buf, size_t len, size_t cap, const char *s);

/* ---- repeated errors ------------------------------------------------------
 * An error that repeats for every frame (a full disk, a broken store) must
 * not flood the log. A vigil_log_limit_t writes the first record of similar
 * messages and holds back (counts) the next ones for interval_us; the run
 * of held-back records ends when the interval is over, when a message that
 * is not similar comes, or at vigil_log_limit_flush(), and is then written
 * as ONE record: the last of them with the count appended,
 *   camera "lobby": sequence 1733: cannot store frame: ... (repeated 57 times in 10 s)
 * and "repeated":57 among its fields. So a record with "repeated": N stands
 * for N occurrences (itself the last), any other for one, and the log says
 * how many there were in all. Messages are similar when they differ only in
 * their digits (sequence numbers, dated paths, counts).
 *
 * Thread: a limit is used by one thread at a time (keep one per worker, or
 * per worker and camera). Zero-initialised it is ready, with a 10 s
 * interval. */
#define VIGIL_LOG_LIMIT_INTERVAL_US 10000000

typedef struct vigil_log_limit {
    int64_t interval_us;      /* 0 = VIGIL_LOG_LIMIT_INTERVAL_US */
    int64_t written_us;       /* monotonic time of the last record written */
    int64_t suppressed_since; /* monotonic time of the first suppressed record of the run */
    unsigned long suppressed; /* similar records not written since the last one */
    int level;
    char stage[24];
    char camera[64];
    char fields[192];
    char msg[768]; /* the last message (written or not) */
} vigil_log_limit_t;

/* Logs the record through lim (above); a record below the log level is
 * neither written nor counted. `fields` as for vigil_log_write. */
void vigil_log_limited(vigil_log_limit_t *lim, vigil_log_level_t level, const char *stage,
                       const char *camera, const char *fields, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Writes the count of the run lim is suppressing, if any (the error went
 * away, or its owner is going); the next record starts a new run. */
void vigil_log_limit_flush(vigil_log_limit_t *lim);

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
