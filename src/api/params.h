/* Query-parameter parsing and validation for the HTTP API.
 *
 * Pure functions: no I/O, no MHD, no store. Each parser takes the raw
 * (already percent-decoded) text and either fills its output and returns 0,
 * or returns -1 and fills a vigil__param_error_t naming the parameter and
 * saying what it must be. The server turns that into
 *   400 {"error":"invalid parameter \"limit\": must be an integer in 1..1000",
 *        "parameter":"limit"}.
 *
 * Thread: any; nothing here keeps state between calls. */
#ifndef VIGIL_API_PARAMS_H
#define VIGIL_API_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/store.h"

#define VIGIL__API_LIMIT_DEFAULT 100
#define VIGIL__API_LIMIT_MAX 1000
#define VIGIL__API_CURSOR_MAX 64

typedef struct vigil__param_error {
    char parameter[72]; /* printable ASCII (sanitized client text) */
    char message[320];  /* whole message: invalid parameter "x": must be ... */
} vigil__param_error_t;

/* The parsed parameters of GET /api/v1/detections. `q.camera` and `q.label`
 * point into this struct (or are NULL): do not copy the struct after a call
 * to _set without calling vigil__detection_params_finish again. */
typedef struct vigil__detection_params {
    vigil_detection_query_t q;
    char camera[64];
    char label[64];
    unsigned seen; /* bit per parameter, to refuse repeats */
} vigil__detection_params_t;

/* Copies s into dst (size > 0) keeping printable ASCII and writing '?' for
 * anything else, truncated with "..." if long, so that client text can be put
 * into JSON and logs safely. */
void vigil__api_sanitize(char *dst, size_t size, const char *s);

/* "1".."1000" (decimal, no sign, no spaces). */
int vigil__api_parse_limit(const char *s, int *limit, vigil__param_error_t *err);
/* A number in 0..1 ("0.5", "1", "1e-1"). */
int vigil__api_parse_score(const char *s, float *score, vigil__param_error_t *err,
                           const char *name);
/* RFC 3339 or integer microseconds since the epoch, >= 0. An "until" of 0
 * (before the epoch: nothing matches) comes back as -1, because the store
 * reads an until_us of 0 as "no bound". */
int vigil__api_parse_time(const char *s, int64_t *t_us, vigil__param_error_t *err,
                          const char *name);
/* A camera id ([A-Za-z0-9_.-]{1,63}, not "." or ".."). `out` has 64 bytes. */
int vigil__api_parse_camera(const char *s, char *out, vigil__param_error_t *err);
/* A label: 1..63 bytes with no control characters. `out` has 64 bytes. */
int vigil__api_parse_label(const char *s, char *out, vigil__param_error_t *err);

/* Cursors are opaque to clients: base64url (no padding) of "v1:<after_id>".
 * _format writes one (buf >= VIGIL__API_CURSOR_MAX); _parse accepts only
 * what _format produces for a positive id. */
void vigil__api_format_cursor(int64_t after_id, char *buf, size_t size);
int vigil__api_parse_cursor(const char *s, int64_t *after_id, vigil__param_error_t *err);

/* "true" or "false". */
int vigil__api_parse_bool(const char *s, int *v, vigil__param_error_t *err, const char *name);

/* Unpadded base64url, for cursors of other shapes (cameras, search):
 * _encode writes raw[0..n) into buf (truncated to size); _decode reads
 * canonical text of at most max_chars characters into raw (max_chars * 3 / 4
 * + 1 bytes), NUL-terminated; returns the length, or -1 if s is not that or
 * decodes to a NUL byte. */
void vigil__api_b64url_encode(const char *raw, size_t n, char *buf, size_t size);
int vigil__api_b64url_decode(const char *s, size_t max_chars, char *raw);

/* The {id} of /api/v1/frames/{id}.jpg: a positive decimal int64. */
int vigil__api_parse_frame_id(const char *s, int64_t *id, vigil__param_error_t *err);
/* The same rule for any {id} of a path (events, tracks); the error names "id". */
int vigil__api_parse_id(const char *s, int64_t *id, vigil__param_error_t *err);

/* Segment `index` of a path ("/api/v1/events/12" has "api", "v1", "events",
 * "12" at 0..3) copied into out. Returns its length, or -1 if the path has
 * no such segment or it does not fit (size includes the NUL). */
int vigil__api_path_segment(const char *path, int index, char *out, size_t size);

/* An HTTP Range header ("bytes=A-B", "bytes=A-", "bytes=-N") against a
 * body of `size` bytes. Returns 1 with the inclusive [*first, *last] for one
 * satisfiable range; 0 when the header is to be ignored (absent, malformed,
 * several ranges: the whole body is sent); -1 when it cannot be satisfied
 * (416). */
int vigil__api_parse_range(const char *s, uint64_t size, uint64_t *first, uint64_t *last);

/* A zone or line id ([A-Za-z0-9_.-]{1,63}); `name` is the parameter ("zone",
 * "line"). `out` has 64 bytes. */
int vigil__api_parse_rule_id(const char *s, char *out, vigil__param_error_t *err,
                             const char *name);
/* An event kind: zone_enter, zone_leave, loiter, line_cross. *kind is the
 * static name. */
int vigil__api_parse_kind(const char *s, const char **kind, vigil__param_error_t *err);
/* bucket=minute|hour|day -> 60e6, 3600e6, 86400e6 microseconds. */
int vigil__api_parse_bucket(const char *s, int64_t *bucket_us, vigil__param_error_t *err);

/* Event cursors: base64url of "e1:<start_us>:<id>", the keyset (start, id) of
 * the newest-first order. A detections cursor is not an events cursor and
 * the other way round. _parse accepts only what _format produces for
 * start_us >= 0 and id > 0. */
void vigil__api_format_event_cursor(int64_t start_us, int64_t id, char *buf, size_t size);
int vigil__api_parse_event_cursor(const char *s, int64_t *start_us, int64_t *id,
                                  vigil__param_error_t *err);

/* Defaults: every camera and label, no time bounds, min_score 0, limit 100. */
void vigil__detection_params_init(vigil__detection_params_t *p);
/* Applies one key=value pair (value may be NULL for "?key" with no '=').
 * Unknown keys and repeated keys fail, naming the key. */
int vigil__detection_params_set(vigil__detection_params_t *p, const char *key,
                                const char *value, vigil__param_error_t *err);
/* Cross-parameter checks (since < until); fixes up the q.camera/q.label
 * pointers. Call once after the last _set. */
int vigil__detection_params_finish(vigil__detection_params_t *p, vigil__param_error_t *err);

/* The parsed parameters of GET /api/v1/events (same conventions as the
 * detection params: pointers into the struct, set after _finish). */
typedef struct vigil__event_params {
    vigil_event_query_t q;
    char camera[64];
    char label[64];
    char zone[64];
    char line[64];
    const char *kind; /* static */
    unsigned seen;
} vigil__event_params_t;

void vigil__event_params_init(vigil__event_params_t *p);
int vigil__event_params_set(vigil__event_params_t *p, const char *key, const char *value,
                            vigil__param_error_t *err);
/* since < until; zone and line are not both given ("line" is named). */
int vigil__event_params_finish(vigil__event_params_t *p, vigil__param_error_t *err);

/* The parsed parameters of GET /api/v1/counts. */
typedef struct vigil__count_params {
    vigil_count_query_t q;
    char camera[64];
    char zone[64];
    char line[64];
    char label[64];
    unsigned seen;
} vigil__count_params_t;

void vigil__count_params_init(vigil__count_params_t *p);
int vigil__count_params_set(vigil__count_params_t *p, const char *key, const char *value,
                            vigil__param_error_t *err);
/* since < until; zone and line are not both given ("line" is named). */
int vigil__count_params_finish(vigil__count_params_t *p, vigil__param_error_t *err);

#endif
