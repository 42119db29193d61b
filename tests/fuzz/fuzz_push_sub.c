/* libFuzzer driver: the push subscription body parser and validator
 * (vigil_push_sub_parse, src/push/subscription.c, and the endpoint rules of
 * src/push/dest.c), which read what any signed-in user posts to
 * POST /api/v1/push/subscriptions. The route sits behind sign-in, so the
 * parser is called directly.
 *
 * Input: the first byte's low two bits are the VIGIL_PUSH_ALLOW_* flags
 * (push.allow_http_loopback, push.allow_private_endpoints); the rest is the
 * body. Seeds: tests/fuzz/corpus/push_sub (browser subscriptions of the
 * real push services, loopback and private endpoints, IP literal forms,
 * filters).
 *
 * Promises checked besides the sanitizers':
 *  - an accepted subscription's endpoint passes vigil_push_endpoint_check
 *    again under the same flags, its origin is what vigil_push_origin gives,
 *    and when its host is an IP literal that inet_pton reads, that
 *    address's class is allowed under the flags;
 *  - its keys decode to 65 and 16 bytes, the point is on P-256;
 *  - its filters are canonical: parsing a body made of them again gives
 *    the same text;
 *  - a refusal names a field that exists or none, and never echoes the
 *    endpoint (a refused https:// endpoint of 24 or more bytes is not a
 *    substring of the error). */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "vigil/push.h"
#include "vigil/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_push_sub: broken promise: %s: %s\n", what, detail);
    abort();
}

/* When endpoint's host is a bracketed IPv6 or a dotted-quad IPv4 literal,
 * checks its class is allowed. */
static void check_literal(const char *origin, int allow)
{
    const char *host = strstr(origin, "://") + 3;
    char text[256];
    uint8_t a[16];
    size_t n;

    if (*host == '[') {
        n = strcspn(host + 1, "]%");
        if (n >= sizeof(text)) return;
        memcpy(text, host + 1, n);
        text[n] = '\0';
        if (host[1 + n] == '%') broken("a zoned IPv6 literal accepted", origin);
        if (inet_pton(AF_INET6, text, a) == 1 &&
            !vigil_push_addr_allowed(vigil_push_addr_classify(AF_INET6, a), allow))
            broken("an IPv6 literal of a forbidden class accepted", origin);
        return;
    }
    n = strcspn(host, ":");
    if (n >= sizeof(text)) return;
    memcpy(text, host, n);
    text[n] = '\0';
    if (inet_pton(AF_INET, text, a) == 1 &&
        !vigil_push_addr_allowed(vigil_push_addr_classify(AF_INET, a), allow))
        broken("an IPv4 literal of a forbidden class accepted", origin);
}

static void check_accepted(const vigil_push_sub_t *sub, int allow)
{
    char errstr[256], origin[VIGIL_PUSH_ENDPOINT_MAX + 1], field[48];
    uint8_t key[VIGIL_PUSH_KEY_LEN + 8];
    vigil_push_sub_t again;

    if (vigil_push_endpoint_check(sub->endpoint, allow, errstr, sizeof(errstr)))
        broken("an accepted endpoint fails the check", errstr);
    if (vigil_push_origin(sub->endpoint, origin, sizeof(origin)))
        broken("an accepted endpoint has no origin", sub->endpoint);
    if (strncmp(origin, "https://", 8) != 0 &&
        !(strncmp(origin, "http://", 7) == 0 && (allow & VIGIL_PUSH_ALLOW_LOOPBACK)))
        broken("a plain http endpoint accepted without push.allow_http_loopback", origin);
    check_literal(origin, allow);
    if (vigil_push_b64url_decode(sub->p256dh, strlen(sub->p256dh), key, sizeof(key)) !=
            VIGIL_PUSH_KEY_LEN ||
        !vigil_push_key_valid(key))
        broken("accepted p256dh is not a P-256 point", sub->p256dh);
    if (vigil_push_b64url_decode(sub->auth, strlen(sub->auth), key, sizeof(key)) !=
        VIGIL_PUSH_AUTH_LEN)
        broken("accepted auth is not 16 bytes", sub->auth);

    /* canonical filters: a round trip keeps them as they are */
    json_t *body = json_pack("{s:s, s:{s:s, s:s}}", "endpoint", sub->endpoint, "keys", "p256dh",
                             sub->p256dh, "auth", sub->auth);
    json_t *filters = json_loads(sub->filters, JSON_REJECT_DUPLICATES, NULL);
    if (!filters || json_object_size(filters) != 5)
        broken("accepted filters are not an object of five lists", sub->filters);
    if (!body) return; /* out of memory */
    json_object_set_new(body, "filters", filters);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) return;
    memset(&again, 0, sizeof(again));
    if (vigil_push_sub_parse(text, strlen(text), allow, &again, field, sizeof(field), errstr,
                             sizeof(errstr)) != VIGIL_OK)
        broken("an accepted subscription, written back, is refused", errstr);
    if (strcmp(again.filters, sub->filters) != 0)
        broken("filters are not canonical", again.filters);
    if (strcmp(again.endpoint, sub->endpoint) != 0)
        broken("the endpoint changed on the way back", again.endpoint);
    free(again.filters);
    free(text);
}

static void check_refused(const uint8_t *body, size_t len, const char *field,
                          const char *errstr)
{
    static const char *const fields[] = {"", "endpoint", "keys", "p256dh", "auth",
                                         "expirationTime", "filters"};
    json_t *root, *ep;
    int known = 0;

    if (!errstr[0]) broken("a refusal without a reason", field);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        known |= strcmp(field, fields[i]) == 0;
    if (!known && strncmp(errstr, "unknown field", 13) != 0)
        broken("a refusal names no known field", field);
    root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL);
    ep = json_object_get(root, "endpoint");
    if (known && json_is_string(ep) && json_string_length(ep) >= 24 &&
        strncmp(json_string_value(ep), "https://", 8) == 0 &&
        strstr(errstr, json_string_value(ep)))
        broken("an error echoes the endpoint", errstr);
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vigil_push_sub_t sub;
    char field[48], errstr[256];
    int allow;

    if (size < 1 || size > 65536) return 0;
    allow = data[0] & 3;
    memset(&sub, 0, sizeof(sub));
    vigil_err_t err = vigil_push_sub_parse((const char *)data + 1, size - 1, allow, &sub, field,
                                           sizeof(field), errstr, sizeof(errstr));
    if (err == VIGIL_OK) {
        if (!sub.filters) broken("accepted without filters", "");
        check_accepted(&sub, allow);
        free(sub.filters);
    } else {
        if (sub.filters) broken("refused but filters left allocated", errstr);
        if (err == VIGIL_ERR_INVALID) check_refused(data + 1, size - 1, field, errstr);
    }
    return 0;
}
