/* libFuzzer driver: the HTTP API's query-parameter parsers (src/api/params.c),
 * everything there that takes a client's text. The first byte picks what:
 *   0, 1, 2  the rest is a query string "k=v&k&k=v..." for GET
 *            /api/v1/detections, /events, /counts (_init, _set per pair,
 *            _finish), as the server hands them over, already decoded
 *   3        a Range header against a body size (8 bytes, then the header)
 *   4        a path segment (index byte, size byte, then the path)
 *   5        a detections cursor and an events cursor
 *   6        each single-value parser and the sanitizer on the rest
 *   7        cursors formatted from numbers (16 bytes) must parse back
 * Besides "no crash, no leak", it checks what the parsers promise: a range
 * lies inside the body, a segment fits its buffer, a cursor that parses is
 * exactly the one _format writes for its values (cursors are canonical),
 * and parsed values are in their documented ranges. A broken promise
 * aborts with what broke. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *input)
{
    fprintf(stderr, "fuzz_params: broken promise: %s (input \"%s\")\n", what, input);
    abort();
}

/* A parse error must name a printable parameter and say something. */
static void check_err(const vigil__param_error_t *err, const char *input)
{
    for (const char *p = err->parameter; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            broken("error names a parameter with unprintable text", input);
    if (!err->message[0]) broken("error without a message", input);
}

/* Splits text (modified) into key=value pairs and applies them with set. */
static void query(char *text, int (*set)(void *, const char *, const char *,
                                        vigil__param_error_t *),
                  int (*finish)(void *, vigil__param_error_t *), void *p)
{
    vigil__param_error_t err;
    char *save = NULL;
    int ok = 1;
    for (char *pair = strtok_r(text, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (eq) *eq = '\0';
        memset(&err, 0, sizeof err);
        if (set(p, pair, eq ? eq + 1 : NULL, &err)) {
            check_err(&err, pair);
            ok = 0;
            break; /* the server stops at the first bad parameter */
        }
    }
    memset(&err, 0, sizeof err);
    if (ok && finish(p, &err)) check_err(&err, "finish");
}

static int det_set(void *p, const char *k, const char *v, vigil__param_error_t *e)
{
    return vigil__detection_params_set(p, k, v, e);
}
static int det_finish(void *p, vigil__param_error_t *e)
{
    vigil__detection_params_t *d = p;
    int rc = vigil__detection_params_finish(d, e);
    if (!rc && (d->q.limit < 1 || d->q.limit > VIGIL__API_LIMIT_MAX || d->q.min_score < 0 ||
                d->q.min_score > 1 || d->q.since_us < 0 || d->q.until_us < -1))
        broken("detections query out of range", "");
    return rc;
}
static int ev_set(void *p, const char *k, const char *v, vigil__param_error_t *e)
{
    return vigil__event_params_set(p, k, v, e);
}
static int ev_finish(void *p, vigil__param_error_t *e)
{
    vigil__event_params_t *ev = p;
    int rc = vigil__event_params_finish(ev, e);
    if (!rc && ((ev->q.zone && ev->q.line) || ev->q.limit < 1 ||
                ev->q.limit > VIGIL__API_LIMIT_MAX))
        broken("events query out of range", "");
    return rc;
}
static int cnt_set(void *p, const char *k, const char *v, vigil__param_error_t *e)
{
    return vigil__count_params_set(p, k, v, e);
}
static int cnt_finish(void *p, vigil__param_error_t *e)
{
    vigil__count_params_t *c = p;
    int rc = vigil__count_params_finish(c, e);
    if (!rc && c->q.zone && c->q.line) broken("counts query with zone and line", "");
    return rc;
}

static void range(const uint8_t *data, size_t size, char *text)
{
    uint64_t body = 0, first = 0, last = 0;
    if (size < 8) return;
    memcpy(&body, data, 8);
    body >>= (data[0] & 63); /* small sizes too, where the interesting edges are */
    int rc = vigil__api_parse_range(text + 8, body, &first, &last);
    if (rc == 1 && !(first <= last && last < body)) broken("range outside the body", text + 8);
    if (rc < -1 || rc > 1) broken("range result not -1, 0 or 1", text + 8);
}

static void segment(const uint8_t *data, size_t size, char *text)
{
    char out[256];
    if (size < 2) return;
    size_t cap = data[1] % sizeof out;
    int n = vigil__api_path_segment(text + 2, data[0] % 16, out, cap);
    if (n >= 0 && ((size_t)n >= cap || strlen(out) != (size_t)n))
        broken("segment longer than its buffer", text + 2);
}

static void cursors(const char *s)
{
    vigil__param_error_t err;
    char again[VIGIL__API_CURSOR_MAX + 8];
    int64_t id = 0, start = 0;
    if (vigil__api_parse_cursor(s, &id, &err) == 0) {
        if (id < 1) broken("cursor with an id < 1", s);
        vigil__api_format_cursor(id, again, sizeof again);
        if (strcmp(again, s) != 0) broken("cursor parses but is not canonical", s);
    } else {
        check_err(&err, s);
    }
    if (vigil__api_parse_event_cursor(s, &start, &id, &err) == 0) {
        if (id < 1 || start < 0) broken("event cursor out of range", s);
        vigil__api_format_event_cursor(start, id, again, sizeof again);
        if (strcmp(again, s) != 0) broken("event cursor parses but is not canonical", s);
    } else {
        check_err(&err, s);
    }
}

static void singles(const char *s)
{
    vigil__param_error_t err;
    char out[64], small[8];
    int limit;
    float score;
    int64_t v;
    const char *kind;
    if (vigil__api_parse_limit(s, &limit, &err) == 0 && (limit < 1 || limit > VIGIL__API_LIMIT_MAX))
        broken("limit out of range", s);
    if (vigil__api_parse_score(s, &score, &err, "min_score") == 0 && !(score >= 0 && score <= 1))
        broken("score out of range", s);
    if (vigil__api_parse_time(s, &v, &err, "since") == 0 && v < 0) broken("negative time", s);
    if (vigil__api_parse_camera(s, out, &err) == 0 && strlen(out) > 63)
        broken("camera id too long", s);
    if (vigil__api_parse_label(s, out, &err) == 0 && strlen(out) > 63)
        broken("label too long", s);
    if (vigil__api_parse_rule_id(s, out, &err, "zone") == 0 && strlen(out) > 63)
        broken("zone id too long", s);
    vigil__api_parse_kind(s, &kind, &err);
    vigil__api_parse_bucket(s, &v, &err);
    if (vigil__api_parse_id(s, &v, &err) == 0 && v < 1) broken("id < 1", s);
    if (vigil__api_parse_frame_id(s, &v, &err) == 0 && v < 1) broken("frame id < 1", s);
    vigil__api_sanitize(out, sizeof out, s);
    vigil__api_sanitize(small, sizeof small, s);
    vigil__api_sanitize(small, 1, s);
    if (strlen(out) >= sizeof out || strlen(small) != 0) broken("sanitize overran", s);
}

static void formatted(const uint8_t *data, size_t size)
{
    int64_t a, b, id, start;
    char buf[VIGIL__API_CURSOR_MAX];
    vigil__param_error_t err;
    if (size < 16) return;
    memcpy(&a, data, 8);
    memcpy(&b, data + 8, 8);
    a = a < 0 ? -(a + 1) : a; /* >= 0 */
    b = b < 0 ? -(b + 1) : b;
    if (b == 0) b = 1;
    vigil__api_format_cursor(b, buf, sizeof buf);
    if (vigil__api_parse_cursor(buf, &id, &err) != 0 || id != b)
        broken("a formatted cursor does not parse back", buf);
    vigil__api_format_event_cursor(a, b, buf, sizeof buf);
    if (vigil__api_parse_event_cursor(buf, &start, &id, &err) != 0 || start != a || id != b)
        broken("a formatted event cursor does not parse back", buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) return 0;
    char *text = malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1); /* NUL-terminated: the server's strings are C strings */
    text[size - 1] = '\0';
    switch (data[0] % 8) {
    case 0: {
        vigil__detection_params_t p;
        vigil__detection_params_init(&p);
        query(text, det_set, det_finish, &p);
        break;
    }
    case 1: {
        vigil__event_params_t p;
        vigil__event_params_init(&p);
        query(text, ev_set, ev_finish, &p);
        break;
    }
    case 2: {
        vigil__count_params_t p;
        vigil__count_params_init(&p);
        query(text, cnt_set, cnt_finish, &p);
        break;
    }
    case 3: range(data + 1, size - 1, text); break;
    case 4: segment(data + 1, size - 1, text); break;
    case 5: cursors(text); break;
    case 6: singles(text); break;
    default: formatted(data + 1, size - 1); break;
    }
    free(text);
    return 0;
}
