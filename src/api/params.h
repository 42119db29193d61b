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
/* RFC 3339 or integer microseconds since the epoch, >= 0. */
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

/* The {id} of /api/v1/frames/{id}.jpg: a positive decimal int64. */
int vigil__api_parse_frame_id(const char *s, int64_t *id, vigil__param_error_t *err);

/* Defaults: every camera and label, no time bounds, min_score 0, limit 100. */
void vigil__detection_params_init(vigil__detection_params_t *p);
/* Applies one key=value pair (value may be NULL for "?key" with no '=').
 * Unknown keys and repeated keys fail, naming the key. */
int vigil__detection_params_set(vigil__detection_params_t *p, const char *key,
                                const char *value, vigil__param_error_t *err);
/* Cross-parameter checks (since < until); fixes up the q.camera/q.label
 * pointers. Call once after the last _set. */
int vigil__detection_params_finish(vigil__detection_params_t *p, vigil__param_error_t *err);

#endif
