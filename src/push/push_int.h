/* Internals of the push module: the service object, its queue, and the
 * OpenSSL helpers ece.c shares with vapid.c.
 *
 * Locking: one mutex (`lock`) guards the queue and the dedup ring; the
 * sender waits on `wake`. The feed thread and request handlers only ever
 * enqueue (bounded, never blocking on the network). */
#ifndef VIGIL_PUSH_INT_H
#define VIGIL_PUSH_INT_H

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>

#include "vigil/log.h"
#include "vigil/metrics.h"
#include "vigil/push.h"
#include "vigil/store.h"

#define VIGIL__PUSH_PAYLOAD_MAX 3072 /* the alert JSON, before encryption */
#define VIGIL__PUSH_DEDUP 512        /* events remembered so that each alerts once */
#define VIGIL__PUSH_FILTER_ITEMS 32  /* entries per filter list */
#define VIGIL__PUSH_FILTER_LEN 64    /* bytes per entry */

/* One alert to one subscription. Owned by the queue, then by the sender. */
typedef struct vigil__push_job {
    char endpoint[VIGIL_PUSH_ENDPOINT_MAX + 1];
    char origin[256];
    uint8_t p256dh[VIGIL_PUSH_KEY_LEN];
    uint8_t auth[VIGIL_PUSH_AUTH_LEN];
    char *payload; /* malloc'd JSON */
    size_t len;
    int attempt;    /* sends tried so far */
    int64_t due_us; /* monotonic: not before */
} vigil__push_job_t;

struct vigil_push {
    vigil_push_conf_t conf; /* strings below are owned copies */
    char *subject, *key_path, *data_dir, *store_url;
    vigil_push_key_t *key;
    char public_b64[96];
    struct vigil_bus *bus;

    pthread_mutex_t lock;
    pthread_cond_t wake; /* CLOCK_MONOTONIC */
    vigil__push_job_t **queue; /* ring of conf.queue_max */
    size_t head, count;
    int stopping;
    pthread_t sender;
    int sender_started;

    /* the feed (feed.c) */
    void *consumer; /* vigil_consumer_t */
    pthread_t feed;
    int feed_started;
    atomic_int feed_stop;
    int64_t start_us;
    uint64_t dedup[VIGIL__PUSH_DEDUP];
    size_t dedup_next;
    vigil_log_limit_t feed_limit;   /* the feed thread's */
    vigil_log_limit_t sender_limit; /* the sender thread's */
    vigil_log_limit_t queue_limit;  /* drops (under lock) */

    vigil_counter_t *m_sent, *m_failed, *m_retries, *m_dropped, *m_removed, *m_matched;
    vigil_counter_t *m_refused; /* sends refused at connect time: a forbidden address */
    vigil_gauge_t *m_queue;
};

/* ece.c: OpenSSL helpers */
int vigil__push_hmac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                     uint8_t out[32]);
EVP_PKEY *vigil__push_pkey_public(const uint8_t key[VIGIL_PUSH_KEY_LEN]);
EVP_PKEY *vigil__push_pkey_private(const uint8_t d[32]);
int vigil__push_pkey_public_bytes(EVP_PKEY *pkey, uint8_t out[VIGIL_PUSH_KEY_LEN]);

/* dest.c: why an address of class cls is refused ("allowed only with
 * push.allow_private_endpoints", "never allowed"), for errors and logs. */
const char *vigil__push_refusal_hint(vigil_push_addr_class_t cls);

/* push.c: queues an alert of payload (copied) to sub. 0, or -1 when the
 * subscription's keys do not decode or memory is short. A full queue drops
 * its oldest alert (counted, logged). Thread: any. */
int vigil__push_enqueue(vigil_push_t *push, const vigil_push_sub_t *sub, const char *payload);
/* Opens a store handle of the push service's own (no migration). */
vigil_store_t *vigil__push_store_open(vigil_push_t *push, char *errstr, size_t errstr_size);

/* sender.c: the thread that sends the queue. */
vigil_err_t vigil__push_sender_start(vigil_push_t *push, char *errstr, size_t errstr_size);
void vigil__push_sender_stop(vigil_push_t *push);

/* feed.c: the bus reader. */
vigil_err_t vigil__push_feed_start(vigil_push_t *push, char *errstr, size_t errstr_size);
void vigil__push_feed_stop(vigil_push_t *push);

#endif
