/* JSON-lines logging. Each record is built in a stack buffer and written with
 * one write(2), so records from different threads never interleave.
 * vigil_log_limited() (log.h) keeps an error that repeats for every frame
 * to one record per interval, with the count of those it held back. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <ctype.h>

#include "vigil/clock.h"
#include "vigil/log.h"

volatile int vigil_log_min_level = VIGIL_LOG_INFO;
static int log_fd = 2;
/* the hook is read under the read lock by every record, changed under the
 * write lock: a hook being removed is never running once the change returns */
static pthread_rwlock_t hook_lock = PTHREAD_RWLOCK_INITIALIZER;
static vigil_log_hook_fn hook_fn;
static void *hook_opaque;
static atomic_int hook_set;
static atomic_ulong log_counts[VIGIL_LOG_OFF];

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

int vigil_log_level_parse(const char *name)
{
    for (int i = 0; i <= VIGIL_LOG_OFF; i++)
        if (name && strcmp(name, level_names[i]) == 0) return i;
    if (name && strcmp(name, "warning") == 0) return VIGIL_LOG_WARN;
    return -1;
}

const char *vigil_log_level_name(vigil_log_level_t level)
{
    return (level >= 0 && level <= VIGIL_LOG_OFF) ? level_names[level] : "?";
}

void vigil_log_set_level(vigil_log_level_t level)
{
    vigil_log_min_level = level;
}

void vigil_log_set_fd(int fd)
{
    log_fd = fd;
}

void vigil_log_set_hook(vigil_log_hook_fn fn, void *opaque)
{
    pthread_rwlock_wrlock(&hook_lock);
    hook_fn = fn;
    hook_opaque = opaque;
    atomic_store(&hook_set, fn != NULL);
    pthread_rwlock_unlock(&hook_lock);
}

unsigned long vigil_log_count(vigil_log_level_t level)
{
    return (level >= 0 && level < VIGIL_LOG_OFF) ? atomic_load(&log_counts[level]) : 0;
}

size_t vigil__json_escape(char *buf, size_t len, size_t cap, const char *s)
{
    for (; *s && len + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[len++] = '\\';
            buf[len++] = (char)c;
        } else if (c == '\n') {
            buf[len++] = '\\';
            buf[len++] = 'n';
        } else if (c < 0x20) {
            len += (size_t)snprintf(buf + len, cap - len, "\\u%04x", c);
        } else {
            buf[len++] = (char)c;
        }
    }
    return len;
}

static size_t append(char *buf, size_t len, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (len + 1 >= cap) return len;
    if (n > cap - len - 1) n = cap - len - 1;
    memcpy(buf + len, s, n);
    return len + n;
}

void vigil_log_vwrite(vigil_log_level_t level, const char *stage, const char *camera,
                      const char *fields, const char *fmt, va_list ap)
{
    char msg[2048], ts[40], buf[4096];
    size_t cap = sizeof(buf) - 2, len = 0;

    /* Direct calls (not through the macros) are filtered too. */
    if (level < 0 || level >= VIGIL_LOG_OFF || (int)level < vigil_log_min_level) return;
    atomic_fetch_add(&log_counts[level], 1);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    vigil_format_time(vigil_now_us(), ts, sizeof(ts));

    len = append(buf, len, cap, "{\"ts\":\"");
    len = append(buf, len, cap, ts);
    len = append(buf, len, cap, "\",\"level\":\"");
    len = append(buf, len, cap, level_names[level]);
    len = append(buf, len, cap, "\"");
    if (stage) {
        len = append(buf, len, cap, ",\"stage\":\"");
        len = vigil__json_escape(buf, len, cap, stage);
        len = append(buf, len, cap, "\"");
    }
    if (camera) {
        len = append(buf, len, cap, ",\"camera\":\"");
        len = vigil__json_escape(buf, len, cap, camera);
        len = append(buf, len, cap, "\"");
    }
    len = append(buf, len, cap, ",\"msg\":\"");
    len = vigil__json_escape(buf, len, cap, msg);
    len = append(buf, len, cap, "\"");
    if (fields && *fields) {
        len = append(buf, len, cap, ",");
        len = append(buf, len, cap, fields);
    }
    buf[len++] = '}';
    if (atomic_load(&hook_set)) {
        pthread_rwlock_rdlock(&hook_lock);
        if (hook_fn) hook_fn(hook_opaque, buf, len);
        pthread_rwlock_unlock(&hook_lock);
    }
    buf[len++] = '\n';
    ssize_t off = 0;
    while (off < (ssize_t)len) {
        ssize_t w = write(log_fd, buf + off, len - (size_t)off);
        if (w <= 0) break;
        off += w;
    }
}

void vigil_log_write(vigil_log_level_t level, const char *stage, const char *camera,
                     const char *fields, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vigil_log_vwrite(level, stage, camera, fields, fmt, ap);
    va_end(ap);
}

/* Whether a and b differ only in their digits: each run of digits matches
 * any other run of digits. */
static int log_similar(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (isdigit((unsigned char)*a)) a++;
            while (isdigit((unsigned char)*b)) b++;
            continue;
        }
        if (*a++ != *b++) return 0;
    }
    return *a == *b;
}

/* Writes lim->msg with the count of the run it ends. */
static void log_limit_write_run(vigil_log_limit_t *lim, int64_t now)
{
    char fields[sizeof lim->fields + 32];
    double secs = (double)(now - lim->suppressed_since) / 1e6;
    snprintf(fields, sizeof fields, "%s%s\"repeated\":%lu", lim->fields,
             lim->fields[0] ? "," : "", lim->suppressed);
    vigil_log_write((vigil_log_level_t)lim->level, lim->stage[0] ? lim->stage : NULL,
                    lim->camera[0] ? lim->camera : NULL, fields, "%s (repeated %lu time%s in %.0f s)",
                    lim->msg, lim->suppressed, lim->suppressed == 1 ? "" : "s",
                    secs < 1 ? 1 : secs);
    lim->suppressed = 0;
    lim->written_us = now;
}

void vigil_log_limit_flush(vigil_log_limit_t *lim)
{
    if (lim && lim->suppressed) log_limit_write_run(lim, vigil_mono_us());
}

void vigil_log_limited(vigil_log_limit_t *lim, vigil_log_level_t level, const char *stage,
                       const char *camera, const char *fields, const char *fmt, ...)
{
    char msg[sizeof lim->msg];
    va_list ap;
    if (level < 0 || level >= VIGIL_LOG_OFF || (int)level < vigil_log_min_level) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int64_t now = vigil_mono_us();
    int64_t interval = lim->interval_us > 0 ? lim->interval_us : VIGIL_LOG_LIMIT_INTERVAL_US;
    int same = lim->written_us && (int)level == lim->level && log_similar(msg, lim->msg) &&
               strcmp(stage ? stage : "", lim->stage) == 0 &&
               strcmp(camera ? camera : "", lim->camera) == 0;
    if (same && now - lim->written_us < interval) {
        if (lim->suppressed++ == 0) lim->suppressed_since = now;
        snprintf(lim->msg, sizeof lim->msg, "%s", msg); /* the latest, for the count's record */
        snprintf(lim->fields, sizeof lim->fields, "%s", fields ? fields : "");
        return;
    }
    /* the run this one ends (a different message, or the interval is over) */
    if (lim->suppressed) log_limit_write_run(lim, now);
    lim->level = (int)level;
    snprintf(lim->stage, sizeof lim->stage, "%s", stage ? stage : "");
    snprintf(lim->camera, sizeof lim->camera, "%s", camera ? camera : "");
    snprintf(lim->msg, sizeof lim->msg, "%s", msg);
    snprintf(lim->fields, sizeof lim->fields, "%s", fields ? fields : "");
    vigil_log_write(level, stage, camera, fields, "%s", msg);
    lim->written_us = now;
}
