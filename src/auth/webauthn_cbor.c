/* Bounded CBOR for WebAuthn: one pass that checks, then libcbor's decoder.
 *
 * libcbor's cbor_load allocates what an item declares before it knows the
 * bytes are there (a 5-byte map header may declare 2^32 entries), and it
 * knows no nesting bound. So every CBOR input is first walked with libcbor's
 * streaming decoder, which allocates nothing: definite lengths only (CTAP2's
 * canonical form has no other), no tags, at most max_depth containers deep,
 * and no array or map declaring more entries than there are bytes left
 * (each entry takes at least one). Only then is the item handed to
 * cbor_load, whose allocations are now bounded by the input's size. The same
 * walk gives the item's length, which authenticatorData needs: a COSE key
 * is followed by more bytes and carries no length of its own. */
#include <string.h>

#include "auth/webauthn_int.h"

#define CHECK_STACK 16

typedef struct check_ctx {
    size_t left;               /* bytes from the current item's start to the end */
    int max_depth;
    int sp;                    /* open containers */
    uint64_t remain[CHECK_STACK]; /* entries still to come in each */
    const char *bad;           /* why the walk stopped, NULL while fine */
} check_ctx_t;

/* One item begins: it fills a slot of the innermost open container. */
static void slot(check_ctx_t *c)
{
    if (c->sp > 0) c->remain[c->sp - 1]--;
}

static void close_done(check_ctx_t *c)
{
    while (c->sp > 0 && c->remain[c->sp - 1] == 0) c->sp--;
}

static void scalar(check_ctx_t *c)
{
    slot(c);
    close_done(c);
}

static void container(check_ctx_t *c, uint64_t entries)
{
    slot(c);
    if (entries > 0) {
        if (c->sp >= c->max_depth || c->sp >= CHECK_STACK) {
            c->bad = "nested too deep";
            return;
        }
        if (entries > c->left) {
            c->bad = "an array or map declares more entries than there are bytes";
            return;
        }
        c->remain[c->sp++] = entries;
    }
    close_done(c);
}

static void cb_u8(void *c, uint8_t v) { (void)v; scalar(c); }
static void cb_u16(void *c, uint16_t v) { (void)v; scalar(c); }
static void cb_u32(void *c, uint32_t v) { (void)v; scalar(c); }
static void cb_u64(void *c, uint64_t v) { (void)v; scalar(c); }
static void cb_str(void *c, cbor_data d, size_t n) { (void)d; (void)n; scalar(c); }
static void cb_simple(void *c) { scalar(c); }
static void cb_bool(void *c, bool v) { (void)v; scalar(c); }
static void cb_f(void *c, float v) { (void)v; scalar(c); }
static void cb_d(void *c, double v) { (void)v; scalar(c); }
static void cb_array(void *c, size_t n) { container(c, n); }

static void cb_map(void *vc, size_t n)
{
    check_ctx_t *c = vc;
    if (n > c->left / 2 + 1) { /* also keeps 2 * n from overflowing */
        c->bad = "a map declares more entries than there are bytes";
        return;
    }
    container(c, (uint64_t)n * 2);
}

static void cb_indef(void *vc)
{
    ((check_ctx_t *)vc)->bad = "an indefinite-length item (not canonical CBOR)";
}

static void cb_tag(void *vc, uint64_t t)
{
    (void)t;
    ((check_ctx_t *)vc)->bad = "a tag (not used by WebAuthn)";
}

static void cb_break(void *vc)
{
    ((check_ctx_t *)vc)->bad = "a stray break";
}

static const struct cbor_callbacks check_callbacks = {
    .uint8 = cb_u8,
    .uint16 = cb_u16,
    .uint32 = cb_u32,
    .uint64 = cb_u64,
    .negint8 = cb_u8,
    .negint16 = cb_u16,
    .negint32 = cb_u32,
    .negint64 = cb_u64,
    .byte_string_start = cb_indef,
    .byte_string = cb_str,
    .string = cb_str,
    .string_start = cb_indef,
    .indef_array_start = cb_indef,
    .array_start = cb_array,
    .indef_map_start = cb_indef,
    .map_start = cb_map,
    .tag = cb_tag,
    .float2 = cb_f,
    .float4 = cb_f,
    .float8 = cb_d,
    .undefined = cb_simple,
    .null = cb_simple,
    .boolean = cb_bool,
    .indef_break = cb_break,
};

vigil_err_t vigil__wa_cbor_check(const char *what, const char *part, const uint8_t *buf,
                                 size_t len, int max_depth, size_t *used, char *errstr,
                                 size_t errstr_size)
{
    check_ctx_t c = {.max_depth = max_depth};
    size_t off = 0;
    if (!buf || len == 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "%s: %s: no CBOR (0 bytes)",
                            what, part);
    do {
        if (off >= len)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                                "%s: %s: CBOR truncated at byte %zu", what, part, off);
        c.left = len - off;
        struct cbor_decoder_result r = cbor_stream_decode(buf + off, len - off, &check_callbacks, &c);
        if (r.status == CBOR_DECODER_NEDATA)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                                "%s: %s: CBOR truncated at byte %zu", what, part, off);
        if (r.status != CBOR_DECODER_FINISHED || r.read == 0)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                                "%s: %s: malformed CBOR at byte %zu", what, part, off);
        if (c.bad)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "%s: %s: %s at byte %zu",
                                what, part, c.bad, off);
        off += r.read;
    } while (c.sp > 0);
    *used = off;
    return VIGIL_OK;
}

vigil_err_t vigil__wa_cbor_load(const char *what, const char *part, const uint8_t *buf,
                                size_t len, int max_depth, int whole, cbor_item_t **item,
                                size_t *used, char *errstr, size_t errstr_size)
{
    size_t n = 0;
    vigil_err_t err = vigil__wa_cbor_check(what, part, buf, len, max_depth, &n, errstr, errstr_size);
    if (err) return err;
    if (whole && n != len)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                            "%s: %s: %zu bytes after the CBOR item", what, part, len - n);
    struct cbor_load_result r;
    *item = cbor_load(buf, n, &r);
    if (!*item) {
        if (r.error.code == CBOR_ERR_MEMERROR)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s: %s: out of memory",
                                what, part);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                            "%s: %s: malformed CBOR at byte %zu", what, part, r.error.position);
    }
    if (used) *used = n;
    return VIGIL_OK;
}

int vigil__wa_cbor_int(const cbor_item_t *it, int64_t *v)
{
    if (!it) return 0;
    if (cbor_isa_uint(it)) {
        uint64_t u = cbor_get_int(it);
        if (u > (uint64_t)INT64_MAX) return 0;
        *v = (int64_t)u;
        return 1;
    }
    if (cbor_isa_negint(it)) {
        uint64_t u = cbor_get_int(it); /* the value is -1 - u */
        if (u > (uint64_t)INT64_MAX) return 0;
        *v = -1 - (int64_t)u;
        return 1;
    }
    return 0;
}

cbor_item_t *vigil__wa_map_str(const cbor_item_t *map, const char *key, int *dup)
{
    cbor_item_t *found = NULL;
    size_t klen = strlen(key);
    struct cbor_pair *p = cbor_map_handle(map);
    for (size_t i = 0, n = cbor_map_size(map); i < n; i++) {
        const cbor_item_t *k = p[i].key;
        if (!k || !cbor_isa_string(k) || cbor_string_length(k) != klen) continue;
        if (klen && memcmp(cbor_string_handle(k), key, klen) != 0) continue;
        if (found) {
            *dup = 1;
            return NULL;
        }
        found = p[i].value;
    }
    return found;
}

cbor_item_t *vigil__wa_map_int(const cbor_item_t *map, int64_t ikey, int *dup)
{
    cbor_item_t *found = NULL;
    struct cbor_pair *p = cbor_map_handle(map);
    for (size_t i = 0, n = cbor_map_size(map); i < n; i++) {
        int64_t k;
        if (!vigil__wa_cbor_int(p[i].key, &k) || k != ikey) continue;
        if (found) {
            *dup = 1;
            return NULL;
        }
        found = p[i].value;
    }
    return found;
}
