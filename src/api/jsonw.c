/* A JSON text writer for the API's big list responses (jsonw.h).
 *
 * Floats: the API shows a float rounded to 6 significant digits, as
 * vigil__json_float does with snprintf("%.6g") and strtod, after which
 * jansson prints it with "%.15g" and appends ".0" to a whole number. For
 * 1e-4 <= |v| < 1e6 (scores, box corners, fps, hours: nearly every float
 * the API sends) digits6 computes the same 6 digits exactly with integer
 * arithmetic: v is m * 2^-sh exactly, so v * 10^s rounded half to even (as
 * glibc's printf rounds) is (m * 10^s) >> sh with the remainder deciding;
 * the text then follows from the digits and the exponent, because "%.15g"
 * of the double nearest a decimal of at most 6 digits prints that decimal.
 * Anything else takes printf's path. */
#include "api/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/clock.h"

void vigil__jw_init(vigil__jw_t *jw, size_t max)
{
    memset(jw, 0, sizeof(*jw));
    jw->max = max;
}

void vigil__jw_free(vigil__jw_t *jw)
{
    free(jw->buf);
    vigil__jw_init(jw, jw->max);
}

char *vigil__jw_take(vigil__jw_t *jw, size_t *len)
{
    char *text = jw->failed || jw->depth != 0 ? NULL : jw->buf;

    if (text) {
        *len = jw->len;
        jw->buf = NULL;
    }
    vigil__jw_free(jw);
    return text;
}

/* Room for n more bytes and a NUL; 0, or -1 (and failed) when not. */
static int reserve(vigil__jw_t *jw, size_t n)
{
    size_t need, cap;
    char *buf;

    if (jw->failed) return -1;
    if (n > SIZE_MAX / 4 - jw->len || (jw->max && jw->len + n > jw->max)) {
        jw->failed = 1;
        return -1;
    }
    need = jw->len + n + 1;
    if (need <= jw->cap) return 0;
    cap = jw->cap ? jw->cap : 4096;
    while (cap < need) cap *= 2;
    if (!(buf = realloc(jw->buf, cap))) {
        jw->failed = 1;
        return -1;
    }
    jw->buf = buf;
    jw->cap = cap;
    return 0;
}

static void put(vigil__jw_t *jw, const char *s, size_t n)
{
    if (reserve(jw, n) != 0) return;
    memcpy(jw->buf + jw->len, s, n);
    jw->len += n;
    jw->buf[jw->len] = '\0';
}

/* The comma before a member or element, where one is due. */
static void separate(vigil__jw_t *jw)
{
    if (jw->after_key) {
        jw->after_key = 0;
        return;
    }
    if (jw->depth > 0) {
        if (jw->used[jw->depth - 1]) put(jw, ",", 1);
        jw->used[jw->depth - 1] = 1;
    }
}

static void open_level(vigil__jw_t *jw, char c)
{
    separate(jw);
    if (jw->depth >= VIGIL__JW_DEPTH) {
        jw->failed = 1;
        return;
    }
    put(jw, &c, 1);
    jw->used[jw->depth++] = 0;
}

static void close_level(vigil__jw_t *jw, char c)
{
    if (jw->depth == 0 || jw->after_key) {
        jw->failed = 1;
        return;
    }
    jw->depth--;
    put(jw, &c, 1);
}

void vigil__jw_object(vigil__jw_t *jw) { open_level(jw, '{'); }
void vigil__jw_object_end(vigil__jw_t *jw) { close_level(jw, '}'); }
void vigil__jw_array(vigil__jw_t *jw) { open_level(jw, '['); }
void vigil__jw_array_end(vigil__jw_t *jw) { close_level(jw, ']'); }

void vigil__jw_key(vigil__jw_t *jw, const char *key)
{
    size_t n = strlen(key);

    separate(jw);
    if (reserve(jw, n + 3) != 0) return;
    jw->buf[jw->len++] = '"';
    memcpy(jw->buf + jw->len, key, n);
    jw->len += n;
    jw->buf[jw->len++] = '"';
    jw->buf[jw->len++] = ':';
    jw->buf[jw->len] = '\0';
    jw->after_key = 1;
}

void vigil__jw_null(vigil__jw_t *jw)
{
    separate(jw);
    put(jw, "null", 4);
}

void vigil__jw_bool(vigil__jw_t *jw, int v)
{
    separate(jw);
    if (v)
        put(jw, "true", 4);
    else
        put(jw, "false", 5);
}

void vigil__jw_int(vigil__jw_t *jw, int64_t v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    separate(jw);
    put(jw, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* The length of the UTF-8 sequence at s that jansson accepts (no overlong
 * form, no surrogate, at most U+10FFFF), or 0. */
static size_t utf8_length(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n, i;
    uint32_t cp;

    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void vigil__jw_string(vigil__jw_t *jw, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s, *run;

    if (!s) {
        vigil__jw_null(jw);
        return;
    }
    separate(jw);
    put(jw, "\"", 1);
    while (*p) {
        size_t n;

        for (run = p; *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\'; p++) {}
        if (p > run) put(jw, (const char *)run, (size_t)(p - run));
        if (!*p) break;
        if (*p >= 0x80) {
            if ((n = utf8_length(p)) != 0) {
                put(jw, (const char *)p, n);
                p += n;
            } else {
                put(jw, "\\ufffd", 6);
                p++;
            }
            continue;
        }
        switch (*p) {
        case '"': put(jw, "\\\"", 2); break;
        case '\\': put(jw, "\\\\", 2); break;
        case '\b': put(jw, "\\b", 2); break;
        case '\f': put(jw, "\\f", 2); break;
        case '\n': put(jw, "\\n", 2); break;
        case '\r': put(jw, "\\r", 2); break;
        case '\t': put(jw, "\\t", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            put(jw, u, 6);
        }
        }
        p++;
    }
    put(jw, "\"", 1);
}

void vigil__jw_string_or_null(vigil__jw_t *jw, const char *s)
{
    if (s && *s)
        vigil__jw_string(jw, s);
    else
        vigil__jw_null(jw);
}

/* --- floats ------------------------------------------------------------------- */

/* v > 0 and finite. Sets *n (100000..999999) and *x so that v rounded half
 * to even to 6 significant digits is n * 10^(x - 5); 0, or -1 when x is not
 * in -4..5 (printf's exponent style or its path) or there is no 128-bit
 * arithmetic here. */
static int digits6(double v, uint32_t *n, int *x)
{
#ifdef __SIZEOF_INT128__
    static const uint64_t pow10[] = {1,       10,       100,       1000,       10000,     100000,
                                     1000000, 10000000, 100000000, 1000000000, 10000000000};
    static const double tens[] = {1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    int e2, sh, e;
    uint64_t m;

    if (!(v >= 1e-5 && v < 1e6)) return -1;
    m = (uint64_t)ldexp(frexp(v, &e2), 53); /* v = m * 2^(e2 - 53) exactly */
    sh = 53 - e2;                           /* 33..70 in this range */
    /* a first guess of the exponent; the rounding below corrects it */
    for (e = -5; e < 5 && v >= tens[e + 6]; e++) {}
    for (int tries = 0; tries < 4; tries++) {
        unsigned __int128 p, q, rem, half;

        if (e < -5 || e > 5) return -1;
        p = (unsigned __int128)m * pow10[5 - e];
        q = p >> sh;
        rem = p - (q << sh);
        half = (unsigned __int128)1 << (sh - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        if (q >= 1000000) {
            e++;
        } else if (q < 100000) {
            e--;
        } else {
            if (e < -4) return -1;
            *n = (uint32_t)q;
            *x = e;
            return 0;
        }
    }
    return -1;
#else
    (void)v;
    (void)n;
    (void)x;
    return -1;
#endif
}

/* printf's path: "%.6g", strtod, then jansson's "%.15g" and its fix-ups. */
static size_t format_slow(double v, char *out)
{
    char tmp[40], *e, *start, *end;
    size_t len;

    snprintf(tmp, sizeof(tmp), "%.6g", v);
    len = (size_t)snprintf(out, VIGIL__JW_FLOAT_MAX - 2, "%.15g", strtod(tmp, NULL));
    if (!strchr(out, '.') && !strchr(out, 'e')) {
        memcpy(out + len, ".0", 3);
        len += 2;
    }
    if ((e = strchr(out, 'e')) != NULL) {
        start = e + 1;
        end = start + 1;
        if (*start == '-') start++;
        while (*end == '0') end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - out) + 1);
            len -= (size_t)(end - start);
        }
    }
    return len;
}

size_t vigil__jw_format_float(double v, char *out)
{
    char d[6], *p = out;
    uint32_t n;
    int x, nd;

    if (v == 0) {
        strcpy(out, signbit(v) ? "-0.0" : "0.0");
        return strlen(out);
    }
    if (digits6(fabs(v), &n, &x) != 0) return format_slow(v, out);
    if (v < 0) *p++ = '-';
    for (int i = 5; i >= 0; i--, n /= 10) d[i] = (char)('0' + n % 10);
    for (nd = 6; nd > 1 && d[nd - 1] == '0'; nd--) {}
    if (x >= 0) {
        memcpy(p, d, (size_t)x + 1);
        p += x + 1;
        if (nd > x + 1) {
            *p++ = '.';
            memcpy(p, d + x + 1, (size_t)(nd - x - 1));
            p += nd - x - 1;
        } else {
            memcpy(p, ".0", 2);
            p += 2;
        }
    } else {
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -x - 1; i++) *p++ = '0';
        memcpy(p, d, (size_t)nd);
        p += nd;
    }
    *p = '\0';
    return (size_t)(p - out);
}

double vigil__jw_round6(double v)
{
    static const double pow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    char tmp[40];
    uint32_t n;
    int x;

    /* n / 10^(5-x): both exact, and IEEE division rounds the exact quotient
     * to the nearest double, as strtod does with the decimal */
    if (v != 0 && isfinite(v) && digits6(fabs(v), &n, &x) == 0)
        return (v < 0 ? -1.0 : 1.0) * ((double)n / pow10[5 - x]);
    snprintf(tmp, sizeof(tmp), "%.6g", v);
    return strtod(tmp, NULL);
}

void vigil__jw_float(vigil__jw_t *jw, double v)
{
    char buf[VIGIL__JW_FLOAT_MAX];

    if (!isfinite(v)) {
        vigil__jw_null(jw);
        return;
    }
    separate(jw);
    put(jw, buf, vigil__jw_format_float(v, buf));
}

void vigil__jw_time(vigil__jw_t *jw, int64_t t_us)
{
    char buf[48];
    size_t n;

    if (!t_us) {
        vigil__jw_null(jw);
        return;
    }
    buf[0] = '"';
    vigil_format_time(t_us, buf + 1, sizeof(buf) - 2);
    n = strlen(buf);
    buf[n++] = '"';
    separate(jw);
    put(jw, buf, n);
}
