/* A JSON text writer for the API's big list responses.
 *
 * Main idea: a page of 1,000 detections built as jansson objects costs a
 * hash table, a dozen mallocs and two printf/strtod round trips per float for
 * each row, then a dump; written straight as text it costs a memcpy per
 * field. The writer appends to one growing buffer, puts the commas itself
 * (it keeps, per nesting level, whether a member was written), and formats
 * floats and times without printf in the common case, byte for byte as
 * jansson writes the same values (vigil__json_float, vigil__json_time):
 * tests/unit/api/test_api_jsonw.c compares the two on millions of values.
 *
 * Errors (out of memory, more than max bytes, nesting deeper than
 * VIGIL__JW_DEPTH) are sticky: later calls do nothing and vigil__jw_take
 * returns NULL. Strings are escaped as jansson does (", \, control
 * characters; '/' is not escaped); bytes that are not UTF-8 become U+FFFD
 * where jansson would have refused the whole value. */
#ifndef VIGIL_API_JSONW_H
#define VIGIL_API_JSONW_H

#include <stddef.h>
#include <stdint.h>

#define VIGIL__JW_DEPTH 16
/* vigil__jw_float writes at most this many bytes. */
#define VIGIL__JW_FLOAT_MAX 32

typedef struct vigil__jw {
    char *buf;
    size_t len, cap, max;
    int failed;
    int depth;
    int after_key;                  /* a key was written, its value not yet */
    uint8_t used[VIGIL__JW_DEPTH];  /* a member was written at this level */
} vigil__jw_t;

/* max: the most bytes the text may take (0 = no limit but memory). */
void vigil__jw_init(vigil__jw_t *jw, size_t max);
void vigil__jw_free(vigil__jw_t *jw);
/* The NUL-terminated text (malloc'd, the caller frees it) and its length,
 * or NULL after any error; the writer is empty afterwards. */
char *vigil__jw_take(vigil__jw_t *jw, size_t *len);

void vigil__jw_object(vigil__jw_t *jw);
void vigil__jw_object_end(vigil__jw_t *jw);
void vigil__jw_array(vigil__jw_t *jw);
void vigil__jw_array_end(vigil__jw_t *jw);
/* key: a plain ASCII name (a literal); written as is, not escaped. */
void vigil__jw_key(vigil__jw_t *jw, const char *key);

void vigil__jw_null(vigil__jw_t *jw);
void vigil__jw_bool(vigil__jw_t *jw, int v);
void vigil__jw_int(vigil__jw_t *jw, int64_t v);
/* s NULL writes null. */
void vigil__jw_string(vigil__jw_t *jw, const char *s);
/* NULL or "" writes null. */
void vigil__jw_string_or_null(vigil__jw_t *jw, const char *s);
/* v rounded to 6 significant digits, as vigil__json_float; NaN and
 * infinities write null. */
void vigil__jw_float(vigil__jw_t *jw, double v);
/* The UTC time of t_us as vigil__json_time: null for 0. */
void vigil__jw_time(vigil__jw_t *jw, int64_t t_us);

/* The text jansson writes (JSON_REAL_PRECISION(15)) for v rounded to 6
 * significant digits; v finite. Returns the length (< VIGIL__JW_FLOAT_MAX). */
size_t vigil__jw_format_float(double v, char *out);
/* v rounded to 6 significant digits, the double nearest that decimal
 * (what strtod would give for printf's "%.6g" of v); v finite. */
double vigil__jw_round6(double v);

#endif
