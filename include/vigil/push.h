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

/* --- the service (push.c, feed.c, sender.c) ----------------------------------- */

typedef struct vigil_push_conf {
    int enabled;             /* push.enabled: 0 = no feed, no sender (the routes still work) */
    const char *subject;     /* push.subject: mailto: or https: URL (VAPID sub) */
    const char *vapid_key;   /* push.vapid_key: PEM path; "" = DATA_DIR/push_vapid.pem */
    const char *data_dir;    /* store.data_dir */
    const char *store_url;   /* store.url */
    int allow_http_loopback; /* push.allow_http_loopback: http:// to 127.0.0.1/::1/localhost */
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

/* Whether endpoint is acceptable: https with a host, or http to a loopback
 * host when allowed; at most 1024 bytes, no credentials, no spaces or
 * controls. 0 or -1 with the reason in errstr (without the URL). */
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
