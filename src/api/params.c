/* Query-parameter parsing for the HTTP API (see params.h).
 *
 * Main idea: every parser is strict — the whole string must be the value, no
 * leading spaces or trailing garbage, no silent clamping — because a filter
 * that is quietly ignored returns plausible but wrong results. Errors carry
 * the parameter's name and what the value must be, never the value itself
 * unsanitized. */
#include "api/params.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/clock.h"
#include "vigil/config.h"

void vigil__api_sanitize(char *dst, size_t size, const char *s)
{
    size_t i = 0;

    if (!size) return;
    if (!s) s = "";
    for (; *s && i + 1 < size; s++, i++) {
        unsigned char c = (unsigned char)*s;
        dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[i] = '\0';
    if (*s && size >= 4) memcpy(dst + size - 4, "...", 4);
}

static int fail(vigil__param_error_t *err, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills err with `invalid parameter "NAME": <fmt...>`; returns -1. */
static int fail(vigil__param_error_t *err, const char *name, const char *fmt, ...)
{
    char what[200];
    va_list ap;

    if (!err) return -1;
    vigil__api_sanitize(err->parameter, sizeof(err->parameter), name);
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(err->message, sizeof(err->message), "invalid parameter \"%s\": %s", err->parameter,
             what);
    return -1;
}

/* Strict decimal int64 >= 0: digits only, no sign, no overflow. */
static int parse_u63(const char *s, int64_t *out)
{
    int64_t v = 0;

    if (!s || !*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        int d = *s - '0';
        if (v > (INT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int vigil__api_parse_limit(const char *s, int *limit, vigil__param_error_t *err)
{
    int64_t v;

    if (parse_u63(s, &v) || v < 1 || v > VIGIL__API_LIMIT_MAX)
        return fail(err, "limit", "must be an integer in 1..%d", VIGIL__API_LIMIT_MAX);
    *limit = (int)v;
    return 0;
}

int vigil__api_parse_score(const char *s, float *score, vigil__param_error_t *err,
                           const char *name)
{
    char *end;
    double v;

    if (!s || !*s || isspace((unsigned char)*s)) goto bad;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < 0.0 || v > 1.0) goto bad;
    *score = (float)v;
    return 0;
bad:
    return fail(err, name, "must be a number in 0..1");
}

int vigil__api_parse_time(const char *s, int64_t *t_us, vigil__param_error_t *err,
                          const char *name)
{
    int64_t v;

    if (!s || vigil_parse_time(s, &v) != 0 || v < 0)
        return fail(err, name,
                    "must be an RFC 3339 time (2026-11-21T05:31:02Z) or integer microseconds "
                    "since the epoch");
    *t_us = v;
    return 0;
}

int vigil__api_parse_camera(const char *s, char *out, vigil__param_error_t *err)
{
    if (!s || !vigil_camera_id_valid(s))
        return fail(err, "camera", "must be a camera id ([A-Za-z0-9_.-], 1..63 characters)");
    snprintf(out, 64, "%s", s);
    return 0;
}

int vigil__api_parse_label(const char *s, char *out, vigil__param_error_t *err)
{
    size_t n = s ? strlen(s) : 0;

    if (n < 1 || n > 63) goto bad;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) goto bad;
    memcpy(out, s, n + 1);
    return 0;
bad:
    return fail(err, "label", "must be 1..63 characters without control characters");
}

/* --- cursors ------------------------------------------------------------------ */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_value(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;
    return p ? (int)(p - b64url) : -1;
}

void vigil__api_format_cursor(int64_t after_id, char *buf, size_t size)
{
    char raw[32];
    int n = snprintf(raw, sizeof(raw), "v1:%" PRId64, after_id);
    size_t o = 0;

    if (!size) return;
    for (int i = 0; i < n && o + 1 < size; i += 3) {
        unsigned v = (unsigned char)raw[i] << 16;
        int left = n - i;
        if (left > 1) v |= (unsigned char)raw[i + 1] << 8;
        if (left > 2) v |= (unsigned char)raw[i + 2];
        int chars = left >= 3 ? 4 : left + 1;
        for (int k = 0; k < chars && o + 1 < size; k++)
            buf[o++] = b64url[(v >> (18 - 6 * k)) & 63];
    }
    buf[o] = '\0';
}

int vigil__api_parse_cursor(const char *s, int64_t *after_id, vigil__param_error_t *err)
{
    unsigned char raw[VIGIL__API_CURSOR_MAX];
    size_t n = s ? strlen(s) : 0, o = 0;
    int64_t v;

    if (n < 2 || n > VIGIL__API_CURSOR_MAX || n % 4 == 1) goto bad;
    for (size_t i = 0; i < n; i += 4) {
        unsigned acc = 0;
        size_t chars = n - i < 4 ? n - i : 4;
        for (size_t k = 0; k < 4; k++) {
            int d = k < chars ? b64url_value(s[i + k]) : 0;
            if (d < 0) goto bad;
            acc = (acc << 6) | (unsigned)d;
        }
        size_t bytes = chars - 1;
        /* The unused low bits of a short group must be zero (canonical form). */
        if (bytes < 3 && (acc & ((1u << (8 * (3 - bytes))) - 1))) goto bad;
        for (size_t k = 0; k < bytes; k++) raw[o++] = (unsigned char)(acc >> (16 - 8 * k));
    }
    raw[o] = '\0';
    if (o < 4 || memcmp(raw, "v1:", 3) != 0) goto bad;
    if (memchr(raw, '\0', o)) goto bad;
    if (raw[3] == '0' || parse_u63((const char *)raw + 3, &v) || v < 1) goto bad;
    *after_id = v;
    return 0;
bad:
    return fail(err, "cursor", "must be a next_cursor value returned by this endpoint");
}

int vigil__api_parse_frame_id(const char *s, int64_t *id, vigil__param_error_t *err)
{
    int64_t v;

    if (parse_u63(s, &v) || v < 1) return fail(err, "id", "must be a positive integer");
    *id = v;
    return 0;
}

/* --- the detections query ------------------------------------------------------ */

enum {
    P_CAMERA = 1u << 0,
    P_LABEL = 1u << 1,
    P_SINCE = 1u << 2,
    P_UNTIL = 1u << 3,
    P_MIN_SCORE = 1u << 4,
    P_LIMIT = 1u << 5,
    P_CURSOR = 1u << 6,
};

void vigil__detection_params_init(vigil__detection_params_t *p)
{
    memset(p, 0, sizeof(*p));
    p->q.limit = VIGIL__API_LIMIT_DEFAULT;
}

int vigil__detection_params_set(vigil__detection_params_t *p, const char *key,
                                const char *value, vigil__param_error_t *err)
{
    static const struct {
        const char *name;
        unsigned bit;
    } known[] = {{"camera", P_CAMERA}, {"label", P_LABEL},   {"since", P_SINCE},
                 {"until", P_UNTIL},   {"min_score", P_MIN_SCORE}, {"limit", P_LIMIT},
                 {"cursor", P_CURSOR}};
    unsigned bit = 0;

    if (!key) key = "";
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(key, known[i].name) == 0) bit = known[i].bit;
    if (!bit) {
        if (err) {
            vigil__api_sanitize(err->parameter, sizeof(err->parameter), key);
            snprintf(err->message, sizeof(err->message),
                     "unknown parameter \"%s\" (accepted: camera, label, since, until, "
                     "min_score, limit, cursor)",
                     err->parameter);
        }
        return -1;
    }
    if (p->seen & bit) return fail(err, key, "given more than once");
    p->seen |= bit;

    switch (bit) {
    case P_CAMERA: return vigil__api_parse_camera(value, p->camera, err);
    case P_LABEL: return vigil__api_parse_label(value, p->label, err);
    case P_SINCE: return vigil__api_parse_time(value, &p->q.since_us, err, "since");
    case P_UNTIL: return vigil__api_parse_time(value, &p->q.until_us, err, "until");
    case P_MIN_SCORE: return vigil__api_parse_score(value, &p->q.min_score, err, "min_score");
    case P_LIMIT: return vigil__api_parse_limit(value, &p->q.limit, err);
    default: return vigil__api_parse_cursor(value, &p->q.after_id, err);
    }
}

int vigil__detection_params_finish(vigil__detection_params_t *p, vigil__param_error_t *err)
{
    p->q.camera = (p->seen & P_CAMERA) ? p->camera : NULL;
    p->q.label = (p->seen & P_LABEL) ? p->label : NULL;
    if (p->q.since_us > 0 && p->q.until_us > 0 && p->q.until_us <= p->q.since_us)
        return fail(err, "until", "must be later than since");
    return 0;
}
