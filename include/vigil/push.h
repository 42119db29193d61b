/* Web Push: the server sends alerts to browsers itself (docs/push.md).
 *
 * Main idea: a subscription (the browser's push endpoint URL, its P-256 key
 * and auth secret, and the filters the user chose) lives in the warehouse
 * (store.h, "push subscriptions"). The push service reads analytics events
 * from the bus in a consumer group of its own, matches them against the
 * subscriptions' filters, and queues one alert per match; a sender thread
 * encrypts each (RFC 8291 aes128gcm), signs a VAPID token (RFC 8292, ES256)
 * and POSTs it to the endpoint, retrying 429, 5xx and network errors with
 * exponential backoff. A subscription the push service answers 404 or 410
 * is deleted.
 *
 * Secrets: endpoint URLs and keys belong to the browser. They never appear
 * in logs (only the endpoint's origin), metrics or error replies.
 *
 * Memory: the queue is bounded (conf.queue_max); when full, the oldest alert
 * is dropped, counted (vigil_push_dropped_total) and logged.
 *
 * Thread safety: vigil_push_* lifecycle calls from one controlling thread;
 * vigil_push_public_key, vigil_push_send_test and vigil_push_event from any. */
#ifndef VIGIL_PUSH_H
#define VIGIL_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

struct vigil_bus;
struct vigil_store;
struct vigil_push_sub;

/* --- building blocks (ece.c, vapid.c): pure functions, any thread ------------ */

#define VIGIL_PUSH_KEY_LEN 65   /* an uncompressed P-256 point: 0x04 || X || Y */
#define VIGIL_PUSH_AUTH_LEN 16  /* the subscription's auth secret */
#define VIGIL_PUSH_SALT_LEN 16
/* One aes128gcm record: the plaintext (+1 delimiter) must fit the record
 * size 4096 minus the 16-byte tag (RFC 8291 section 4). */
#define VIGIL_PUSH_PLAINTEXT_MAX 3993

/* Base64url without padding (RFC 4648 section 5). _encode writes a
 * NUL-terminated string and returns its length, or -1 when out is too small;
 * _decode returns the byte count, or -1 on a bad character, bad length or
 * too small a buffer (padding '=' accepted at the end only). */
int vigil_push_b64url_encode(const uint8_t *in, size_t len, char *out, size_t out_size);
int vigil_push_b64url_decode(const char *in, size_t len, uint8_t *out, size_t out_size);

/* 1 when key is a valid uncompressed P-256 point on the curve, else 0. */
int vigil_push_key_valid(const uint8_t key[VIGIL_PUSH_KEY_LEN]);

/* Encrypts plaintext for a subscription (RFC 8291 with RFC 8188 aes128gcm,
 * one record of size 4096): *out (malloc'd, the caller frees) is the whole
 * request body: salt || rs || idlen || as_public || ciphertext. as_private
 * (32 bytes) and salt may be NULL: a fresh key pair and a random salt are
 * made (given only by tests, for the RFC's worked example). */
vigil_err_t vigil_push_encrypt(const uint8_t ua_public[VIGIL_PUSH_KEY_LEN],
                               const uint8_t auth[VIGIL_PUSH_AUTH_LEN],
                               const uint8_t *as_private, const uint8_t *salt,
                               const void *plaintext, size_t len, uint8_t **out,
                               size_t *out_len, char *errstr, size_t errstr_size);

/* The VAPID signing key (a P-256 key pair). */
typedef struct vigil_push_key vigil_push_key_t;

/* Loads the PEM private key at path; when the file does not exist and create
 * is set, makes a new key and writes it there with mode 0600 (O_EXCL: two
 * processes starting at once end with one key). */
vigil_push_key_t *vigil_push_key_load(const char *path, int create, char *errstr,
                                      size_t errstr_size);
/* A key from its 32-byte private scalar (tests). */
vigil_push_key_t *vigil_push_key_from_private(const uint8_t d[32], char *errstr,
                                              size_t errstr_size);
void vigil_push_key_free(vigil_push_key_t *key);
/* The public key, uncompressed (65 bytes). */
void vigil_push_key_public(const vigil_push_key_t *key, uint8_t out[VIGIL_PUSH_KEY_LEN]);

/* The Authorization header value "vapid t=<JWT>, k=<public key>" for the
 * push service at origin `aud` ("https://push.example.net"), subject `sub`
 * ("mailto:ops@example.com"), expiring at exp (seconds since the epoch).
 * The JWT is {"typ":"JWT","alg":"ES256"}.{"aud","exp","sub"}.sig. */
vigil_err_t vigil_push_vapid_header(const vigil_push_key_t *key, const char *aud,
                                    const char *sub, int64_t exp, char *out, size_t out_size,
                                    char *errstr, size_t errstr_size);

/* The origin ("https://host[:port]") of an http(s) endpoint URL, lowercased
 * scheme and host; -1 when url is not an absolute http(s) URL with a host. */
int vigil_push_origin(const char *url, char *out, size_t out_size);

/* --- where alerts may go (dest.c): pure functions, any thread --------------- */

/* What an address is, for the destination rules (docs/push.md,
 * "Destinations"). IPv6 forms that carry an IPv4 address (::ffff:a.b.c.d,
 * ::ffff:0:a.b.c.d, 64:ff9b::a.b.c.d, 2002:AABB:CCDD::) are classified by
 * that IPv4 address. */
typedef enum vigil_push_addr_class {
    VIGIL_PUSH_ADDR_PUBLIC = 0,  /* anything not below */
    VIGIL_PUSH_ADDR_LOOPBACK,    /* 127.0.0.0/8, ::1 */
    VIGIL_PUSH_ADDR_PRIVATE,     /* 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10,
                                    64:ff9b:1::/48 */
    VIGIL_PUSH_ADDR_SHARED,      /* 100.64.0.0/10 (carrier-grade NAT, RFC 6598) */
    VIGIL_PUSH_ADDR_LINK_LOCAL,  /* 169.254.0.0/16 (cloud metadata), fe80::/10 */
    VIGIL_PUSH_ADDR_UNSPECIFIED, /* 0.0.0.0/8, :: */
    VIGIL_PUSH_ADDR_MULTICAST,   /* 224.0.0.0/4, ff00::/8 */
    VIGIL_PUSH_ADDR_RESERVED     /* documentation, benchmarking, 192.0.0/24, 240/4 and
                                    255.255.255.255, IPv6 outside 2000::/3, Teredo,
                                    ORCHID, ::a.b.c.d, other families */
} vigil_push_addr_class_t;

/* The class of addr: family AF_INET (4 bytes, network order) or AF_INET6
 * (16 bytes); any other family is RESERVED. */
vigil_push_addr_class_t vigil_push_addr_classify(int family, const void *addr);
/* "public", "loopback", "private", ... (static). */
const char *vigil_push_addr_class_str(vigil_push_addr_class_t cls);

/* What is allowed beyond public addresses (a bit set). */
#define VIGIL_PUSH_ALLOW_LOOPBACK 1 /* push.allow_http_loopback: loopback, http:// to it */
#define VIGIL_PUSH_ALLOW_PRIVATE 2  /* push.allow_private_endpoints: loopback, private,
                                       shared (link-local and the rest: never) */

/* 1 when an address of class cls may be connected to under allow. */
int vigil_push_addr_allowed(vigil_push_addr_class_t cls, int allow);

/* Whether endpoint is acceptable under allow: https with a host (a DNS
 * name or an IP literal, an optional port), or http to 127.0.0.1, ::1 or
 * localhost with VIGIL_PUSH_ALLOW_LOOPBACK; at most 1024 bytes, no
 * credentials, no spaces, controls or backslashes; a host that is an IP
 * literal (in any form libcurl reads) or a localhost name must be of an
 * allowed class. Names are checked again, by their addresses, at connect
 * time. 0, or -1 with the reason in errstr (never the URL). */
int vigil_push_endpoint_check(const char *endpoint, int allow, char *errstr,
                              size_t errstr_size);

/* Parses and validates a subscription request body (JSON text of len
 * bytes; docs/push.md "API"): {"endpoint", "keys": {"p256dh", "auth"},
 * "filters", "expirationTime"}, nothing else. On success fills sub's
 * endpoint, p256dh, auth and filters (canonical JSON, malloc'd: the caller
 * frees sub->filters) and returns VIGIL_OK. Else VIGIL_ERR_INVALID (or
 * VIGIL_ERR_NOMEM) with the reason in errstr, never echoing the endpoint or
 * keys, and the member at fault in field ("" when none); sub->filters is
 * then NULL. user_id, id and created_us are left alone. Any thread. */
vigil_err_t vigil_push_sub_parse(const char *json, size_t len, int allow,
                                 struct vigil_push_sub *sub, char *field, size_t field_size,
                                 char *errstr, size_t errstr_size);

/* --- the service (push.c, feed.c, sender.c) ----------------------------------- */

typedef struct vigil_push_conf {
    int enabled;             /* push.enabled: 0 = no feed, no sender (the routes still work) */
    const char *subject;     /* push.subject: mailto: or https: URL (VAPID sub) */
    const char *vapid_key;   /* push.vapid_key: PEM path; "" = DATA_DIR/push_vapid.pem */
    const char *data_dir;    /* store.data_dir */
    const char *store_url;   /* store.url */
    int allow_http_loopback; /* push.allow_http_loopback: loopback endpoints, http:// too */
    int allow_private_endpoints; /* push.allow_private_endpoints: loopback, private, CGNAT */
    int retries;             /* push.retries: further attempts after the first */
    int retry_base_ms;       /* push.retry_base_ms: the first wait, doubled each time */
    int retry_max_ms;        /* push.retry_max_ms: the longest wait */
    int queue_max;           /* push.queue_max: alerts waiting to be sent */
    int ttl_s;               /* push.ttl_s: the TTL header */
    int timeout_ms;          /* one POST's deadline; 0 = 10 s */
} vigil_push_conf_t;

typedef struct vigil_push vigil_push_t;

/* Loads (or makes) the VAPID key and checks the configuration; no threads
 * yet. NULL with errstr on failure. conf's strings are copied. */
vigil_push_t *vigil_push_new(const vigil_push_conf_t *conf, char *errstr, size_t errstr_size);
/* Starts the sender and, when bus is not NULL and push.enabled, the event
 * feed (consumer group "vigil-push": with several API processes on one
 * Kafka bus each event reaches one of them). */
vigil_err_t vigil_push_start(vigil_push_t *push, struct vigil_bus *bus, char *errstr,
                             size_t errstr_size);
/* Stops the threads; alerts still queued are dropped (and counted). */
void vigil_push_stop(vigil_push_t *push);
void vigil_push_free(vigil_push_t *push);

/* The VAPID public key, base64url (the browser's applicationServerKey). */
const char *vigil_push_public_key(const vigil_push_t *push);
int vigil_push_allow_http_loopback(const vigil_push_t *push);
/* The VIGIL_PUSH_ALLOW_* bits of push's configuration (0 when push is NULL). */
int vigil_push_dest_allow(const vigil_push_t *push);

/* vigil_push_endpoint_check under push's configuration. */
int vigil_push_endpoint_ok(const vigil_push_t *push, const char *endpoint, char *errstr,
                           size_t errstr_size);

/* Queues a test alert to every subscription of user_id, read through store
 * (the caller's handle); *n gets how many. VIGIL_ERR_NOT_FOUND when the user
 * has none. */
vigil_err_t vigil_push_send_test(vigil_push_t *push, struct vigil_store *store, int64_t user_id,
                                 int *n, char *errstr, size_t errstr_size);

/* The payload JSON of an alert (malloc'd; at most 3 KB: long names are cut):
 * {"title","body","event_id","camera","kind","url":"/#/review?event=ID"}. */
char *vigil_push_payload(const char *title, const char *body, int64_t event_id,
                         const char *camera, const char *kind);

/* Filters as the API takes them: {"cameras":[],"zones":[],"lines":[],
 * "labels":[],"kinds":[]} (every member optional; empty = any). 1 when the
 * event matches, 0 when not; a filter that cannot be parsed matches nothing. */
int vigil_push_filters_match(const char *filters_json, const char *camera, const char *kind,
                             const char *label, const char *zone, const char *line);

#endif
