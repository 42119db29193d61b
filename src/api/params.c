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

#include "vigil/analytics.h"

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
    /* until=0 is "before the epoch": nothing. The store reads an until of 0
     * as "no bound", so it gets -1, which no stored time is below. */
    if (v == 0 && name && strcmp(name, "until") == 0) v = -1;
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

/* Unpadded base64url of raw[0..n) into buf, truncated to size. */
static void b64url_encode(const char *raw, size_t n, char *buf, size_t size)
{
    vigil__api_b64url_encode(raw, n, buf, size);
}

void vigil__api_b64url_encode(const char *raw, size_t n, char *buf, size_t size)
{
    size_t o = 0;

    if (!size) return;
    for (size_t i = 0; i < n && o + 1 < size; i += 3) {
        unsigned v = (unsigned char)raw[i] << 16;
        size_t left = n - i;
        if (left > 1) v |= (unsigned char)raw[i + 1] << 8;
        if (left > 2) v |= (unsigned char)raw[i + 2];
        size_t chars = left >= 3 ? 4 : left + 1;
        for (size_t k = 0; k < chars && o + 1 < size; k++)
            buf[o++] = b64url[(v >> (18 - 6 * k)) & 63];
    }
    buf[o] = '\0';
}

/* Decodes canonical unpadded base64url of at most VIGIL__API_CURSOR_MAX
 * characters into raw (NUL-terminated; VIGIL__API_CURSOR_MAX bytes). Returns
 * the length, or -1 if s is not that or decodes to a NUL byte. */
static int b64url_decode(const char *s, char *raw)
{
    return vigil__api_b64url_decode(s, VIGIL__API_CURSOR_MAX, raw);
}

int vigil__api_b64url_decode(const char *s, size_t max_chars, char *raw)
{
    size_t n = s ? strnlen(s, max_chars + 1) : 0, o = 0;

    if (n < 2 || n > max_chars || n % 4 == 1) return -1;
    for (size_t i = 0; i < n; i += 4) {
        unsigned acc = 0;
        size_t chars = n - i < 4 ? n - i : 4;
        for (size_t k = 0; k < 4; k++) {
            int d = k < chars ? b64url_value(s[i + k]) : 0;
            if (d < 0) return -1;
            acc = (acc << 6) | (unsigned)d;
        }
        size_t bytes = chars - 1;
        /* The unused low bits of a short group must be zero (canonical form). */
        if (bytes < 3 && (acc & ((1u << (8 * (3 - bytes))) - 1))) return -1;
        for (size_t k = 0; k < bytes; k++) raw[o++] = (char)(acc >> (16 - 8 * k));
    }
    raw[o] = '\0';
    if (memchr(raw, '\0', o)) return -1;
    return (int)o;
}

/* A canonical decimal in s[0..n): digits, no leading zero but "0" itself. */
static int parse_canonical(const char *s, size_t n, int64_t *out)
{
    char buf[24];

    if (n < 1 || n >= sizeof(buf) || (s[0] == '0' && n > 1)) return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return parse_u63(buf, out);
}

void vigil__api_format_cursor(int64_t after_id, char *buf, size_t size)
{
    char raw[32];
    int n = snprintf(raw, sizeof(raw), "v1:%" PRId64, after_id);

    b64url_encode(raw, (size_t)n, buf, size);
}

int vigil__api_parse_cursor(const char *s, int64_t *after_id, vigil__param_error_t *err)
{
    char raw[VIGIL__API_CURSOR_MAX];
    int n = b64url_decode(s, raw);
    int64_t v;

    if (n < 4 || memcmp(raw, "v1:", 3) != 0) goto bad;
    if (parse_canonical(raw + 3, (size_t)n - 3, &v) || v < 1) goto bad;
    *after_id = v;
    return 0;
bad:
    return fail(err, "cursor", "must be a next_cursor value returned by this endpoint");
}

void vigil__api_format_event_cursor(int64_t start_us, int64_t id, char *buf, size_t size)
{
    char raw[64];
    int n = snprintf(raw, sizeof(raw), "e1:%" PRId64 ":%" PRId64, start_us, id);

    b64url_encode(raw, (size_t)n, buf, size);
}

int vigil__api_parse_event_cursor(const char *s, int64_t *start_us, int64_t *id,
                                  vigil__param_error_t *err)
{
    char raw[VIGIL__API_CURSOR_MAX];
    int n = b64url_decode(s, raw);
    const char *colon;
    int64_t t, v;

    if (n < 6 || memcmp(raw, "e1:", 3) != 0) goto bad;
    colon = strchr(raw + 3, ':');
    if (!colon) goto bad;
    if (parse_canonical(raw + 3, (size_t)(colon - raw - 3), &t)) goto bad;
    if (parse_canonical(colon + 1, strlen(colon + 1), &v) || v < 1) goto bad;
    *start_us = t;
    *id = v;
    return 0;
bad:
    return fail(err, "cursor", "must be a next_cursor value returned by this endpoint");
}

int vigil__api_parse_bool(const char *s, int *v, vigil__param_error_t *err, const char *name)
{
    if (s && strcmp(s, "true") == 0) *v = 1;
    else if (s && strcmp(s, "false") == 0) *v = 0;
    else return fail(err, name, "must be true or false");
    return 0;
}

int vigil__api_parse_id(const char *s, int64_t *id, vigil__param_error_t *err)
{
    int64_t v;

    if (parse_u63(s, &v) || v < 1) return fail(err, "id", "must be a positive integer");
    *id = v;
    return 0;
}

int vigil__api_parse_frame_id(const char *s, int64_t *id, vigil__param_error_t *err)
{
    return vigil__api_parse_id(s, id, err);
}

int vigil__api_path_segment(const char *path, int index, char *out, size_t size)
{
    const char *p = path, *end;
    size_t n;

    if (!p || !size) return -1;
    for (int i = 0;; i++) {
        if (*p != '/') return -1;
        p++;
        end = strchr(p, '/');
        n = end ? (size_t)(end - p) : strlen(p);
        if (i == index) break;
        if (!end) return -1;
        p = end;
    }
    if (n >= size) return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return (int)n;
}

/* Strict decimal uint64 of s[0..n) (digits only, no overflow). */
static int parse_range_number(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    if (!n || n > 19) return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

int vigil__api_parse_range(const char *s, uint64_t size, uint64_t *first, uint64_t *last)
{
    const char *dash;
    uint64_t a, b;

    if (!s || strncmp(s, "bytes=", 6) != 0) return 0;
    s += 6;
    if (strchr(s, ',') || !(dash = strchr(s, '-'))) return 0;
    if (dash == s) { /* suffix: the last N bytes */
        if (parse_range_number(dash + 1, strlen(dash + 1), &b)) return 0;
        if (b == 0 || size == 0) return -1;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return 1;
    }
    if (parse_range_number(s, (size_t)(dash - s), &a)) return 0;
    if (dash[1]) {
        if (parse_range_number(dash + 1, strlen(dash + 1), &b) || b < a) return 0;
    } else {
        b = UINT64_MAX;
    }
    if (a >= size) return -1;
    *first = a;
    *last = b >= size ? size - 1 : b;
    return 1;
}

/* --- analytics values ------------------------------------------------------------- */

int vigil__api_parse_kind(const char *s, const char **kind, vigil__param_error_t *err)
{
    int k = vigil_event_kind_parse(s);
    if (k) {
        *kind = vigil_event_kind_name(k);
        return 0;
    }
    return fail(err, "kind", "must be one of zone_enter, zone_leave, loiter, line_cross");
}

int vigil__api_parse_rule_id(const char *s, char *out, vigil__param_error_t *err,
                             const char *name)
{
    size_t n = s ? strlen(s) : 0;

    if (n < 1 || n > 63) goto bad;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            goto bad;
    }
    memcpy(out, s, n + 1);
    return 0;
bad:
    return fail(err, name, "must be a %s id ([A-Za-z0-9_.-], 1..63 characters)", name);
}

int vigil__api_parse_bucket(const char *s, int64_t *bucket_us, vigil__param_error_t *err)
{
    static const struct {
        const char *name;
        int64_t us;
    } buckets[] = {{"minute", INT64_C(60000000)},
                   {"hour", INT64_C(3600000000)},
                   {"day", INT64_C(86400000000)}};

    for (size_t i = 0; s && i < sizeof(buckets) / sizeof(buckets[0]); i++)
        if (strcmp(s, buckets[i].name) == 0) {
            *bucket_us = buckets[i].us;
            return 0;
        }
    return fail(err, "bucket", "must be one of minute, hour, day");
}

/* --- parameter sets ---------------------------------------------------------------- */

typedef struct param_def {
    const char *name;
    unsigned bit;
} param_def_t;

/* The bit of `key` among defs, marked seen; 0 with err filled if the key is
 * unknown (the message lists `accepted`) or was given before. */
static unsigned param_bit(const param_def_t *defs, size_t ndefs, const char *accepted,
                          unsigned *seen, const char *key, vigil__param_error_t *err)
{
    unsigned bit = 0;

    if (!key) key = "";
    for (size_t i = 0; i < ndefs; i++)
        if (strcmp(key, defs[i].name) == 0) bit = defs[i].bit;
    if (!bit) {
        if (err) {
            vigil__api_sanitize(err->parameter, sizeof(err->parameter), key);
            snprintf(err->message, sizeof(err->message),
                     "unknown parameter \"%s\" (accepted: %s)", err->parameter, accepted);
        }
        return 0;
    }
    if (*seen & bit) {
        fail(err, key, "given more than once");
        return 0;
    }
    *seen |= bit;
    return bit;
}

/* --- the detections, events and counts queries ----------------------------------------- */

enum {
    P_CAMERA = 1u << 0,
    P_LABEL = 1u << 1,
    P_SINCE = 1u << 2,
    P_UNTIL = 1u << 3,
    P_MIN_SCORE = 1u << 4,
    P_LIMIT = 1u << 5,
    P_CURSOR = 1u << 6,
    P_KIND = 1u << 7,
    P_ZONE = 1u << 8,
    P_LINE = 1u << 9,
    P_BUCKET = 1u << 10,
    P_REVIEWED = 1u << 11,
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* since < until when both are given: the error names "until". */
static int check_range(int64_t since_us, int64_t until_us, vigil__param_error_t *err)
{
    if (since_us > 0 && until_us > 0 && until_us <= since_us)
        return fail(err, "until", "must be later than since");
    return 0;
}

void vigil__detection_params_init(vigil__detection_params_t *p)
{
    memset(p, 0, sizeof(*p));
    p->q.limit = VIGIL__API_LIMIT_DEFAULT;
}

int vigil__detection_params_set(vigil__detection_params_t *p, const char *key,
                                const char *value, vigil__param_error_t *err)
{
    static const param_def_t known[] = {
        {"camera", P_CAMERA}, {"label", P_LABEL},         {"since", P_SINCE},  {"until", P_UNTIL},
        {"min_score", P_MIN_SCORE}, {"limit", P_LIMIT}, {"cursor", P_CURSOR}};

    switch (param_bit(known, COUNT_OF(known),
                      "camera, label, since, until, min_score, limit, cursor", &p->seen, key,
                      err)) {
    case 0: return -1;
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
    return check_range(p->q.since_us, p->q.until_us, err);
}

void vigil__event_params_init(vigil__event_params_t *p)
{
    memset(p, 0, sizeof(*p));
    p->q.limit = VIGIL__API_LIMIT_DEFAULT;
}

int vigil__event_params_set(vigil__event_params_t *p, const char *key, const char *value,
                            vigil__param_error_t *err)
{
    static const param_def_t known[] = {
        {"camera", P_CAMERA}, {"kind", P_KIND},   {"label", P_LABEL}, {"zone", P_ZONE},
        {"line", P_LINE},     {"since", P_SINCE}, {"until", P_UNTIL}, {"limit", P_LIMIT},
        {"cursor", P_CURSOR}, {"reviewed", P_REVIEWED}};
    int b = 0;

    switch (param_bit(known, COUNT_OF(known),
                      "camera, kind, label, zone, line, since, until, reviewed, limit, cursor",
                      &p->seen, key, err)) {
    case 0: return -1;
    case P_CAMERA: return vigil__api_parse_camera(value, p->camera, err);
    case P_KIND: return vigil__api_parse_kind(value, &p->kind, err);
    case P_LABEL: return vigil__api_parse_label(value, p->label, err);
    case P_ZONE: return vigil__api_parse_rule_id(value, p->zone, err, "zone");
    case P_LINE: return vigil__api_parse_rule_id(value, p->line, err, "line");
    case P_SINCE: return vigil__api_parse_time(value, &p->q.since_us, err, "since");
    case P_UNTIL: return vigil__api_parse_time(value, &p->q.until_us, err, "until");
    case P_LIMIT: return vigil__api_parse_limit(value, &p->q.limit, err);
    case P_REVIEWED:
        if (vigil__api_parse_bool(value, &b, err, "reviewed")) return -1;
        p->q.reviewed = b ? VIGIL_REVIEWED_YES : VIGIL_REVIEWED_NO;
        return 0;
    default:
        return vigil__api_parse_event_cursor(value, &p->q.after_start_us, &p->q.after_id, err);
    }
}

int vigil__event_params_finish(vigil__event_params_t *p, vigil__param_error_t *err)
{
    p->q.camera = (p->seen & P_CAMERA) ? p->camera : NULL;
    p->q.kind = (p->seen & P_KIND) ? p->kind : NULL;
    p->q.label = (p->seen & P_LABEL) ? p->label : NULL;
    p->q.zone = (p->seen & P_ZONE) ? p->zone : NULL;
    p->q.line = (p->seen & P_LINE) ? p->line : NULL;
    if (p->q.zone && p->q.line)
        return fail(err, "line", "cannot be combined with zone (an event is of one zone or "
                                 "one line)");
    return check_range(p->q.since_us, p->q.until_us, err);
}

void vigil__count_params_init(vigil__count_params_t *p)
{
    memset(p, 0, sizeof(*p));
}

int vigil__count_params_set(vigil__count_params_t *p, const char *key, const char *value,
                            vigil__param_error_t *err)
{
    static const param_def_t known[] = {{"camera", P_CAMERA}, {"zone", P_ZONE},
                                        {"line", P_LINE},     {"label", P_LABEL},
                                        {"since", P_SINCE},   {"until", P_UNTIL},
                                        {"bucket", P_BUCKET}};

    switch (param_bit(known, COUNT_OF(known), "camera, zone, line, label, since, until, bucket",
                      &p->seen, key, err)) {
    case 0: return -1;
    case P_CAMERA: return vigil__api_parse_camera(value, p->camera, err);
    case P_ZONE: return vigil__api_parse_rule_id(value, p->zone, err, "zone");
    case P_LINE: return vigil__api_parse_rule_id(value, p->line, err, "line");
    case P_LABEL: return vigil__api_parse_label(value, p->label, err);
    case P_SINCE: return vigil__api_parse_time(value, &p->q.since_us, err, "since");
    case P_UNTIL: return vigil__api_parse_time(value, &p->q.until_us, err, "until");
    default: return vigil__api_parse_bucket(value, &p->q.bucket_us, err);
    }
}

int vigil__count_params_finish(vigil__count_params_t *p, vigil__param_error_t *err)
{
    p->q.camera = (p->seen & P_CAMERA) ? p->camera : NULL;
    p->q.zone = (p->seen & P_ZONE) ? p->zone : NULL;
    p->q.line = (p->seen & P_LINE) ? p->line : NULL;
    p->q.label = (p->seen & P_LABEL) ? p->label : NULL;
    if (p->q.zone && p->q.line)
        return fail(err, "line", "cannot be combined with zone (a count is of one zone or one "
                                 "line)");
    return check_range(p->q.since_us, p->q.until_us, err);
}
