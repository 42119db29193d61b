/* Internals shared by the HTTP API's files: the api object, the store-handle
 * pool, and the reply a handler builds.
 *
 * Main idea: handlers never touch MHD responses. They fill a vigil__reply_t
 * (status, body, content type, a few headers) and server.c turns it into an
 * MHD response, logs it and counts it. That keeps the handlers testable in
 * one place and the MHD plumbing in another. */
#ifndef VIGIL_API_INT_H
#define VIGIL_API_INT_H

#include <microhttpd.h>
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>

#include "vigil/api.h"
#include "vigil/store.h"

typedef struct vigil__store_slot {
    struct vigil__store_slot *next;
    vigil_store_t *store;
} vigil__store_slot_t;

struct vigil_api {
    char *listen;     /* as configured, for messages */
    char host[64];    /* IPv4 literal */
    int listen_port;  /* as configured; 0 = any */
    int port;         /* bound, after start */
    char *store_url;
    char *data_dir;
    struct MHD_Daemon *daemon;
    pthread_mutex_t pool_lock;
    vigil__store_slot_t *pool; /* idle store handles */
};

typedef struct vigil__reply {
    int status;
    char *body; /* malloc'd; handed to MHD */
    size_t len;
    const char *static_body;   /* used when body is NULL (len bytes); NULL = empty */
    const char *content_type;  /* static string */
    const char *cache_control; /* static string or NULL */
    const char *allow;         /* static string or NULL (405) */
    char error[320];           /* the error message, for the log; "" if none */
} vigil__reply_t;

/* --- replies (server.c) --------------------------------------------------------
 * Thread: any request worker. On allocation failure they fall back to a
 * static 500 body. */

/* Takes ownership of `json` (decrefs it) and serialises it as the body. */
void vigil__reply_json(vigil__reply_t *reply, int status, json_t *json);
/* {"error":MSG} plus "parameter":PARAM when param is not NULL. */
void vigil__reply_error(vigil__reply_t *reply, int status, const char *param, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
/* Takes ownership of the malloc'd `body`. */
void vigil__reply_bytes(vigil__reply_t *reply, int status, const char *content_type, void *body,
                        size_t len);

/* --- store-handle pool (server.c) -----------------------------------------------
 * _acquire returns an idle handle or opens a new one (migrate=0) outside the
 * lock; NULL with errstr if the store cannot be opened. _release gives it
 * back. Thread: any request worker; takes pool_lock briefly. */
vigil_store_t *vigil__api_store_acquire(vigil_api_t *api, char *errstr, size_t errstr_size);
void vigil__api_store_release(vigil_api_t *api, vigil_store_t *store);

/* A float (score, box coordinate) as a JSON real with no binary noise:
 * 0.9f becomes 0.9, not 0.89999997615814209. */
json_t *vigil__json_float(double v);
/* t_us as RFC 3339 ("2026-11-21T05:31:02.123Z"), or JSON null when 0. */
json_t *vigil__json_time(int64_t t_us);

/* --- handlers -------------------------------------------------------------------
 * Each fills *reply. `conn` is only used to read query arguments. */
void vigil__api_cameras(vigil_api_t *api, struct MHD_Connection *conn, vigil__reply_t *reply);
void vigil__api_detections(vigil_api_t *api, struct MHD_Connection *conn,
                           vigil__reply_t *reply);
/* `url` is the whole path, "/api/v1/frames/{id}.jpg". */
void vigil__api_frame(vigil_api_t *api, const char *url, vigil__reply_t *reply);
void vigil__api_stats(vigil_api_t *api, struct MHD_Connection *conn, vigil__reply_t *reply);

#endif
