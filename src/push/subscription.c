/* A push subscription as the API takes it: the body of
 * POST /api/v1/push/subscriptions parsed and validated (docs/push.md, "API").
 *
 * Main idea: the body is a browser's PushSubscription.toJSON() plus the
 * user's filters, and it is outside input from any signed-in user, so it is
 * checked strictly here, apart from the HTTP route, where the fuzz driver
 * tests/fuzz/fuzz_push_sub.c can reach it directly: only the known members;
 * the endpoint by vigil_push_endpoint_check (dest.c: scheme, host syntax,
 * IP literals of forbidden classes); keys that decode to a P-256 point and a
 * 16-byte secret; filters of at most 32 entries of 1..64 bytes per list,
 * made canonical (every list present, duplicates dropped, order kept).
 * Errors never echo the endpoint or the keys. Pure: any thread. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "push/push_int.h"

#define FILTER_KEYS 5
static const char *const filter_keys[FILTER_KEYS] = {"cameras", "zones", "lines", "labels",
                                                     "kinds"};

static void set_field(char *field, size_t field_size, const char *name)
{
    if (field_size) snprintf(field, field_size, "%s", name);
}

/* The key `name` of keys: base64url decoding to exactly len bytes into out,
 * its text into text. 0, or -1 with errstr. */
static int key_member(json_t *keys, const char *name, size_t len, char *text, size_t text_size,
                      uint8_t *out, char *field, size_t field_size, char *errstr,
                      size_t errstr_size)
{
    json_t *v = json_object_get(keys, name);
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    size_t sl = s ? json_string_length(v) : 0;

    if (!s || sl >= text_size || strlen(s) != sl ||
        vigil_push_b64url_decode(s, sl, out, len) != (int)len) {
        set_field(field, field_size, name);
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                     "keys.%s: must be base64url of %zu bytes", name, len);
        return -1;
    }
    memcpy(text, s, sl + 1);
    return 0;
}

/* The filters object f (NULL or null: none) made canonical; NULL with
 * errstr (*nomem set when memory was short). */
static json_t *filters_parse(json_t *f, int *nomem, char *errstr, size_t errstr_size)
{
    json_t *out = json_object(), *list, *it;
    const char *key;
    size_t i;

    if (!out) goto nomem;
    if (f && !json_is_null(f) && !json_is_object(f)) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "filters: must be an object");
        goto fail;
    }
    if (f && json_is_object(f)) {
        json_object_foreach(f, key, list) {
            int known = 0;
            for (int k = 0; k < FILTER_KEYS; k++) known |= strcmp(key, filter_keys[k]) == 0;
            if (!known) {
                vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                             "filters: unknown member (allowed: cameras, zones, lines, labels, "
                             "kinds)");
                goto fail;
            }
        }
    }
    for (int k = 0; k < FILTER_KEYS; k++) {
        json_t *src = f && json_is_object(f) ? json_object_get(f, filter_keys[k]) : NULL;
        json_t *dst = json_array();
        if (!dst || json_object_set_new(out, filter_keys[k], dst)) goto nomem;
        if (!src || json_is_null(src)) continue;
        if (!json_is_array(src) || json_array_size(src) > VIGIL__PUSH_FILTER_ITEMS) {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                         "filters.%s: must be a list of at most %d strings", filter_keys[k],
                         VIGIL__PUSH_FILTER_ITEMS);
            goto fail;
        }
        json_array_foreach(src, i, it) {
            const char *s = json_is_string(it) ? json_string_value(it) : NULL;
            size_t len = s ? json_string_length(it) : 0;
            int bad = !s || len == 0 || len > VIGIL__PUSH_FILTER_LEN || strlen(s) != len;
            for (size_t c = 0; !bad && c < len; c++)
                bad = (unsigned char)s[c] < 0x20 || s[c] == 0x7f;
            if (bad) {
                vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                             "filters.%s: entries are 1..%d bytes of text", filter_keys[k],
                             VIGIL__PUSH_FILTER_LEN);
                goto fail;
            }
            int dup = 0;
            json_t *seen;
            size_t j;
            json_array_foreach(dst, j, seen) dup |= strcmp(json_string_value(seen), s) == 0;
            if (!dup && json_array_append_new(dst, json_string(s))) goto nomem;
        }
    }
    return out;
nomem:
    *nomem = 1;
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "out of memory");
fail:
    json_decref(out);
    return NULL;
}

vigil_err_t vigil_push_sub_parse(const char *json, size_t len, int allow, vigil_push_sub_t *sub,
                                 char *field, size_t field_size, char *errstr,
                                 size_t errstr_size)
{
    static const char *const allowed[] = {"endpoint", "keys", "filters", "expirationTime"};
    uint8_t p256dh[VIGIL_PUSH_KEY_LEN], auth[VIGIL_PUSH_AUTH_LEN];
    json_t *body = NULL, *ep, *keys, *exp, *filters = NULL, *v;
    const char *key;
    int nomem = 0;
    vigil_err_t err = VIGIL_ERR_INVALID;

    set_field(field, field_size, "");
    sub->filters = NULL;
    body = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(body)) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                     "the body must be a JSON object");
        goto out;
    }
    json_object_foreach(body, key, v) {
        int known = 0;
        for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
            known |= strcmp(key, allowed[i]) == 0;
        if (!known) {
            char safe[40];
            size_t k = 0;
            for (const char *c = key; *c && k < sizeof(safe) - 1; c++)
                safe[k++] = (*c >= 0x20 && *c < 0x7f && *c != '"' && *c != '\\') ? *c : '?';
            safe[k] = '\0';
            set_field(field, field_size, safe);
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "unknown field \"%s\"", safe);
            goto out;
        }
    }
    ep = json_object_get(body, "endpoint");
    if (!json_is_string(ep) || strlen(json_string_value(ep)) != json_string_length(ep)) {
        set_field(field, field_size, "endpoint");
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "endpoint: must be a string");
        goto out;
    }
    if (vigil_push_endpoint_check(json_string_value(ep), allow, errstr, errstr_size)) {
        set_field(field, field_size, "endpoint");
        goto out;
    }
    keys = json_object_get(body, "keys");
    if (!json_is_object(keys) || json_object_size(keys) != 2) {
        set_field(field, field_size, "keys");
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                     "keys: must be an object with p256dh and auth only");
        goto out;
    }
    if (key_member(keys, "p256dh", sizeof(p256dh), sub->p256dh, sizeof(sub->p256dh), p256dh,
                   field, field_size, errstr, errstr_size) ||
        key_member(keys, "auth", sizeof(auth), sub->auth, sizeof(sub->auth), auth, field,
                   field_size, errstr, errstr_size))
        goto out;
    if (!vigil_push_key_valid(p256dh)) {
        set_field(field, field_size, "p256dh");
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                     "keys.p256dh: not an uncompressed P-256 point");
        goto out;
    }
    exp = json_object_get(body, "expirationTime");
    if (exp && !json_is_null(exp) && !json_is_number(exp)) {
        set_field(field, field_size, "expirationTime");
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                     "expirationTime: must be null or a number");
        goto out;
    }
    if (!(filters = filters_parse(json_object_get(body, "filters"), &nomem, errstr,
                                  errstr_size))) {
        set_field(field, field_size, "filters");
        if (nomem) err = VIGIL_ERR_NOMEM;
        goto out;
    }
    if (!(sub->filters = json_dumps(filters, JSON_COMPACT))) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* checked above: at most VIGIL_PUSH_ENDPOINT_MAX bytes, fits */
    snprintf(sub->endpoint, sizeof(sub->endpoint), "%s", json_string_value(ep));
    err = VIGIL_OK;
out:
    OPENSSL_cleanse(p256dh, sizeof(p256dh));
    OPENSSL_cleanse(auth, sizeof(auth));
    json_decref(filters);
    json_decref(body);
    return err;
}
