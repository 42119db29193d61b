/* The gRPC server's parsers of outside input: the 5-byte message prefix,
 * grpc-timeout, grpc-message's percent-encoding, and a walk over the
 * embedded FileDescriptorSet for reflection (the protobuf wire format read
 * by hand: protobuf-c has no descriptor.proto messages).
 *
 * Pure functions: no I/O, no state; tests/fuzz/fuzz_grpc.c drives them.
 * Thread: any. */
#include <stdio.h>
#include <string.h>

#include "grpc/grpc_int.h"

int vigil__grpc_deframe(const uint8_t *buf, size_t len, size_t max, int *compressed,
                        const uint8_t **msg, uint32_t *msg_len, size_t *used)
{
    uint32_t n;

    if (len < 5) return 0;
    n = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | buf[4];
    *msg_len = n;
    *compressed = buf[0] & 1;
    if (n > max) return -1;
    if (len - 5 < n) return 0;
    *msg = buf + 5;
    *used = 5 + (size_t)n;
    return 1;
}

int vigil__grpc_timeout_parse(const char *s, int64_t *us)
{
    int64_t v = 0;
    size_t i = 0;

    while (s[i] >= '0' && s[i] <= '9') {
        if (i == 8) return -1;
        v = v * 10 + (s[i] - '0');
        i++;
    }
    if (i == 0 || !s[i] || s[i + 1]) return -1;
    switch (s[i]) {
    case 'H': v *= INT64_C(3600000000); break;
    case 'M': v *= INT64_C(60000000); break;
    case 'S': v *= INT64_C(1000000); break;
    case 'm': v *= 1000; break;
    case 'u': break;
    case 'n': v /= 1000; break;
    default: return -1;
    }
    *us = v > 0 ? v : 1;
    return 0;
}

void vigil__grpc_percent_encode(const char *in, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    if (!size) return;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
            if (o + 1 >= size) break;
            out[o++] = (char)*p;
        } else {
            if (o + 3 >= size) break;
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

/* --- the protobuf wire format, just enough for descriptors ------------------ */

typedef struct wire {
    const uint8_t *p, *end;
} wire_t;

static int varint(wire_t *w, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (w->p >= w->end) return -1;
        uint8_t b = *w->p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 0;
    }
    return -1;
}

/* The next field: 0 with its number, and for length-delimited ones the
 * bytes; others are skipped (*data NULL). 1 at the end; -1 malformed. */
static int field(wire_t *w, uint32_t *num, const uint8_t **data, size_t *len)
{
    uint64_t key, v;

    if (w->p == w->end) return 1;
    if (varint(w, &key)) return -1;
    *num = (uint32_t)(key >> 3);
    *data = NULL;
    *len = 0;
    switch (key & 7) {
    case 0: return varint(w, &v);
    case 1:
        if (w->end - w->p < 8) return -1;
        w->p += 8;
        return 0;
    case 5:
        if (w->end - w->p < 4) return -1;
        w->p += 4;
        return 0;
    case 2:
        if (varint(w, &v) || v > (uint64_t)(w->end - w->p)) return -1;
        *data = w->p;
        *len = (size_t)v;
        w->p += v;
        return 0;
    default: return -1;
    }
}

/* The string field `num` of a message (the first), copied; "" if absent. */
static int string_field(const uint8_t *msg, size_t len, uint32_t num, char *out, size_t size)
{
    wire_t w = {msg, msg + len};
    const uint8_t *d;
    size_t n;
    uint32_t f;
    int r;

    out[0] = '\0';
    while ((r = field(&w, &f, &d, &n)) == 0) {
        if (f == num && d) {
            if (n >= size) return -1;
            memcpy(out, d, n);
            out[n] = '\0';
            return 0;
        }
    }
    return r < 0 ? -1 : 0;
}

/* Whether `symbol` is `prefix` or starts with `prefix` and a dot. */
static int names(const char *symbol, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(symbol, prefix, n) == 0 && (symbol[n] == '\0' || symbol[n] == '.');
}

/* Whether the FileDescriptorProto fd defines symbol: a top-level message,
 * enum or service of its package (or something inside one). */
static int defines(const uint8_t *fd, size_t fd_len, const char *symbol)
{
    char pkg[256], name[256], full[520];
    wire_t w = {fd, fd + fd_len};
    const uint8_t *d;
    size_t n;
    uint32_t f;

    if (string_field(fd, fd_len, 2, pkg, sizeof(pkg))) return 0;
    while (field(&w, &f, &d, &n) == 0) {
        if (!d || (f != 4 && f != 5 && f != 6)) continue; /* message, enum, service */
        if (string_field(d, n, 1, name, sizeof(name)) || !name[0]) continue;
        snprintf(full, sizeof(full), "%s%s%s", pkg, pkg[0] ? "." : "", name);
        if (names(symbol, full)) return 1;
    }
    return 0;
}

int vigil__grpc_descriptor_find(const uint8_t *set, size_t set_len, const char *file,
                                const char *symbol, const uint8_t **fd, size_t *fd_len)
{
    wire_t w = {set, set + set_len};
    const uint8_t *d;
    size_t n;
    uint32_t f;
    int r;
    char name[256];

    while ((r = field(&w, &f, &d, &n)) == 0) {
        if (f != 1 || !d) continue;
        if (file) {
            if (string_field(d, n, 1, name, sizeof(name)) == 0 && strcmp(name, file) == 0)
                goto found;
        } else if (symbol && defines(d, n, symbol)) {
            goto found;
        }
    }
    return -1;
found:
    *fd = d;
    *fd_len = n;
    return 0;
}

int vigil__grpc_descriptor_services(const uint8_t *set, size_t set_len,
                                    void (*fn)(void *cls, const char *name), void *cls)
{
    wire_t w = {set, set + set_len}, fw;
    const uint8_t *d, *sd;
    size_t n, sn;
    uint32_t f, sf;
    int r;
    char pkg[256], name[256], full[520];

    while ((r = field(&w, &f, &d, &n)) == 0) {
        if (f != 1 || !d) continue;
        if (string_field(d, n, 2, pkg, sizeof(pkg))) return -1;
        fw = (wire_t){d, d + n};
        while ((r = field(&fw, &sf, &sd, &sn)) == 0) {
            if (sf != 6 || !sd) continue;
            if (string_field(sd, sn, 1, name, sizeof(name)) || !name[0]) return -1;
            snprintf(full, sizeof(full), "%s%s%s", pkg, pkg[0] ? "." : "", name);
            fn(cls, full);
        }
        if (r < 0) return -1;
    }
    return r < 0 ? -1 : 0;
}

const char *vigil__grpc_code_name(int code)
{
    static const char *const names_[VIGIL__GRPC_CODES] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED"};
    return code >= 0 && code < VIGIL__GRPC_CODES ? names_[code] : "UNKNOWN";
}
