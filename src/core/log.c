/* JSON-lines logging. Each record is built in a stack buffer and written with
 * one write(2), so records from different threads never interleave. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vigil/clock.h"
#include "vigil/log.h"

volatile int vigil_log_min_level = VIGIL_LOG_INFO;
static int log_fd = 2;
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

unsigned long vigil_log_count(vigil_log_level_t level)
{
    return (level >= 0 && level < VIGIL_LOG_OFF) ? atomic_load(&log_counts[level]) : 0;
}

/* Appends s as JSON string contents (no quotes); returns the new length. */
static size_t json_escape(char *buf, size_t len, size_t cap, const char *s)
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
        len = json_escape(buf, len, cap, stage);
        len = append(buf, len, cap, "\"");
    }
    if (camera) {
        len = append(buf, len, cap, ",\"camera\":\"");
        len = json_escape(buf, len, cap, camera);
        len = append(buf, len, cap, "\"");
    }
    len = append(buf, len, cap, ",\"msg\":\"");
    len = json_escape(buf, len, cap, msg);
    len = append(buf, len, cap, "\"");
    if (fields && *fields) {
        len = append(buf, len, cap, ",");
        len = append(buf, len, cap, fields);
    }
    buf[len++] = '}';
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
