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
#include <stdint.h>

#include "api/jsonw.h"
#include "vigil/api.h"
#include "vigil/auth.h"
#include "vigil/store.h"

#define VIGIL__API_THREADS 4 /* serving threads: at most this many requests at once */
/* Clips encoded at once: an encode holds an MHD thread (and the connections
 * it serves) for seconds, so half the threads stay free for the rest. */
#define VIGIL__API_CLIPS_MAX (VIGIL__API_THREADS / 2)

/* Sign-in attempts of one client address in the current minute. */
typedef struct vigil__login_slot {
    char ip[64];
    int64_t window_start_us;
    int count;
} vigil__login_slot_t;
#define VIGIL__LOGIN_SLOTS 256

/* The accounts side of the API (auth_conf.c). */
typedef struct vigil__api_auth {
    int enabled;               /* auth.enabled */
    char rp_id[256];           /* WebAuthn relying party id */
    char origins[1024];        /* auth.origins as configured; "" = from http.listen */
    int64_t ttl_s, idle_s;     /* session lifetime and idle limit */
    pthread_mutex_t lock;      /* setup_token and login */
    char setup_token[64];      /* the first admin's one-time token; "" = none */
    vigil__login_slot_t login[VIGIL__LOGIN_SLOTS];
} vigil__api_auth_t;

typedef struct vigil__replica vigil__replica_t; /* replica.c */
struct vigil__req;

typedef struct vigil__store_slot {
    struct vigil__store_slot *next;
    vigil_store_t *store;
} vigil__store_slot_t;

struct vigil_api {
    char *listen;     /* as configured, for messages */
    char host[64];    /* address literal: IPv4, or IPv6 without brackets */
    int listen_port;  /* as configured; 0 = any */
    int port;         /* bound, after start */
    char *store_url;
    char *data_dir;
    struct vigil_bus *bus; /* borrowed; NULL = none (vigil_api_set_bus) */
    const vigil_config_t *cfg; /* borrowed from vigil_api_new's caller, who keeps it for the
                                * API's life: GET /api/v1/config, the configuration's cameras */
    vigil__api_auth_t auth;
    int tls; /* served over TLS (http.tls_cert) */
    struct vigil__edge *edge; /* limits, Host, CORS, TLS files (edge.h) */
    int family;               /* AF_INET or AF_INET6 (http.listen) */
    /* Health and metrics only (vigil_api_new_monitor: a stage service's
     * --http): /healthz, /readyz, /metrics; no warehouse, no accounts. */
    int monitor;
    /* The listening sockets and the daemons serving them (daemons.c): one of
     * each per thread on Linux, one daemon with a pool elsewhere. */
    int listen_fds[VIGIL__API_THREADS];
    int n_listen;
    struct MHD_Daemon *daemons[VIGIL__API_THREADS];
    pthread_mutex_t pool_lock;
    vigil__store_slot_t *pool; /* idle store handles */
    int64_t clip_preroll_us;   /* analytics.clip_preroll_s */
    int64_t clip_postroll_us;  /* analytics.clip_postroll_s */
    /* Clips being made now, one slot per MHD thread (0 = free): the event id
     * of a clip that will be cached, minus the id of one made for a single
     * request. A second request for a cached-to-be clip waits on clip_cond
     * and then serves the file instead of encoding it again; at most
     * VIGIL__API_CLIPS_MAX clips are made at once (events.c). */
    pthread_mutex_t clip_lock;
    pthread_cond_t clip_cond;
    int64_t clip_busy[VIGIL__API_THREADS];
    struct vigil__live *live; /* live views: frames, SSE ring, streams (live_int.h) */
    vigil__replica_t *replica; /* reads on store.read_url (replica.c); NULL = none */
    int web_fd; /* the dashboard's built files (web.c, http.web_root); -1 = none */
    struct vigil_push *push; /* Web Push (push_routes.c, vigil/push.h); NULL = off */
    char push_error[256];    /* why push is off, for the routes' 503 ("" = push.enabled false) */
};

typedef struct vigil__reply {
    int status;
    char *body; /* malloc'd; handed to MHD */
    size_t len;
    const char *static_body;   /* used when body is NULL (len bytes); NULL = empty */
    const char *content_type;  /* static string */
    const char *cache_control; /* static string or NULL */
    const char *allow;         /* static string or NULL (405) */
    /* A body read from a file: when fd >= 0 (set only by vigil__reply_file),
     * the body is len bytes of fd from offset, and MHD closes fd. */
    int fd;
    uint64_t offset;
    const char *accept_ranges; /* static string or NULL */
    const char *retry_after;   /* static string or NULL (503 when busy) */
    char content_range[96];    /* "" if none */
    char error[320];           /* the error message, for the log; "" if none */
    char allow_buf[64];        /* where `allow` points when built per request */
    struct {
        const char *name; /* static strings */
        char value[200];
    } headers[4];              /* further response headers (vigil__reply_header) */
    int nheaders;
    /* A streamed body of unknown length (live views; vigil__reply_stream):
     * when stream_fn is set, MHD calls it for the body's bytes and
     * stream_free(stream_cls) once it is done with them, also when the
     * response is never sent. */
    MHD_ContentReaderCallback stream_fn;
    MHD_ContentReaderFreeCallback stream_free;
    void *stream_cls;
} vigil__reply_t;

/* Adds a response header (name static; value copied, truncated at 199 bytes);
 * ignored beyond 4. */
void vigil__reply_header(vigil__reply_t *reply, const char *name, const char *value);


/* --- replies (server.c) --------------------------------------------------------
 * Thread: any request worker. On allocation failure they fall back to a
 * static 500 body. */

/* Takes ownership of `json` (decrefs it) and serialises it as the body. */
void vigil__reply_json(vigil__reply_t *reply, int status, json_t *json);
/* Takes the text of `jw` (which is empty afterwards) as a JSON body; a
 * writer that failed gives the static 500. */
void vigil__reply_jw(vigil__reply_t *reply, int status, vigil__jw_t *jw);
/* The most bytes a JSON body written with vigil__jw may take. */
#define VIGIL__API_JSON_MAX ((size_t)64 << 20)
/* {"error":MSG} plus "parameter":PARAM when param is not NULL. */
void vigil__reply_error(vigil__reply_t *reply, int status, const char *param, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
/* Takes ownership of the malloc'd `body`. */
void vigil__reply_bytes(vigil__reply_t *reply, int status, const char *content_type, void *body,
                        size_t len);
/* Takes ownership of the open file `fd`: the body is its bytes [offset,
 * offset + len). */
void vigil__reply_file(vigil__reply_t *reply, int status, const char *content_type, int fd,
                       uint64_t offset, uint64_t len);
/* A 200 whose body fn produces as MHD's content reader (chunked; fn may
 * return 0 only after suspending the connection). Takes cls: free_fn(cls)
 * runs when MHD is done with the response, or at once if it cannot be made. */
void vigil__reply_stream(vigil__reply_t *reply, const char *content_type,
                         MHD_ContentReaderCallback fn, MHD_ContentReaderFreeCallback free_fn,
                         void *cls);

/* --- store-handle pool (server.c) -----------------------------------------------
 * _acquire returns an idle handle or opens a new one (migrate=0) outside the
 * lock; NULL with errstr if the store cannot be opened. _release gives it
 * back. Thread: any request worker; takes pool_lock briefly. */
vigil_store_t *vigil__api_store_acquire(vigil_api_t *api, char *errstr, size_t errstr_size);
void vigil__api_store_release(vigil_api_t *api, vigil_store_t *store);

/* --- read replica (replica.c): store.read_url ------------------------------------
 * _new does nothing without store.read_url; _start runs the probe thread,
 * _stop ends it and closes the idle replica handles. Per request, in
 * dispatch: _begin decides (thread-local) whether the handler's handles come
 * from the replica, _end counts it, remembers a client's write, and returns
 * 1 when a replica read failed and the handler must run again on the
 * primary (after _retry). _acquire: a replica handle for the request this
 * thread runs, NULL when it reads from the primary; _release: 1 when the
 * handle was the replica's (taken back). */
vigil_err_t vigil__replica_new(vigil_api_t *api, const vigil_config_t *cfg, char *errstr,
                               size_t errstr_size);
vigil_err_t vigil__replica_start(vigil_api_t *api, char *errstr, size_t errstr_size);
void vigil__replica_stop(vigil_api_t *api);
void vigil__replica_free(vigil_api_t *api);
void vigil__replica_begin(vigil_api_t *api, const struct vigil__req *req, const char *route,
                          const char *method);
int vigil__replica_end(vigil_api_t *api, const struct vigil__req *req, const char *method,
                       int status);
void vigil__replica_retry(vigil_api_t *api);
vigil_store_t *vigil__replica_acquire(vigil_api_t *api);
int vigil__replica_release(vigil_api_t *api, vigil_store_t *store);
/* The replica's line of /readyz: "none", "ok (lag 0.004 s)", "lagging ...", "down ...". */
void vigil__replica_ready(vigil_api_t *api, char *out, size_t size);

/* A float (score, box coordinate) as a JSON real with no binary noise:
 * 0.9f becomes 0.9, not 0.89999997615814209. */
json_t *vigil__json_float(double v);
/* t_us as RFC 3339 ("2026-11-21T05:31:02.123Z"), or JSON null when 0. */
json_t *vigil__json_time(int64_t t_us);
/* The value jw wrote, parsed (jw is empty afterwards); NULL on any error.
 * One serializer per resource: the text writer, whose output a handler
 * that needs a json_t (to embed it) parses. */
json_t *vigil__jw_json(vigil__jw_t *jw);

/* --- requests ---------------------------------------------------------------------
 * What a handler sees of a request. The body is read (up to
 * VIGIL__API_BODY_MAX, else 413) before the handler runs and is
 * NUL-terminated; NULL when the request has none. */
#define VIGIL__API_BODY_MAX (1024 * 1024)

typedef struct vigil__req {
    struct MHD_Connection *conn; /* query arguments and request headers only */
    const char *method;          /* "GET", "POST", ... */
    const char *url;             /* the whole decoded path, "/api/v1/events/42" */
    const char *body;            /* NUL-terminated, or NULL */
    size_t body_len;
    /* The client (forwarded.c): the peer, or behind a proxy in
     * http.trusted_proxies the address its X-Forwarded-For names; for
     * logs, limits, sessions and the audit log. */
    char client_ip[64];          /* as text ("?" when not an IP peer) */
    uint8_t client_addr[16];     /* IPv4 mapped; valid when client_known */
    int client_known;
    int https;                   /* the client used HTTPS: vigil's TLS, or X-Forwarded-Proto */
    vigil_principal_t who;       /* who it acts for (set by vigil__api_authorize) */
    char sid[96];                /* the session id of a cookie-authenticated request */
} vigil__req_t;

/* --- the dashboard's static files (web.c) -------------------------------------------- */
/* Finds the built dashboard (http.web_root, or beside the executable). */
void vigil__web_init(vigil_api_t *api, const char *configured);
void vigil__web_free(vigil_api_t *api);
/* Whether a path no API route has is the dashboard's to answer (not /api/...). */
int vigil__web_claims(const vigil_api_t *api, const char *url);
/* GET/HEAD of a dashboard file (public). Thread: any request worker. */
void vigil__web_serve(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);

/* The least role a route needs (the values of vigil_role_t, vigil/auth.h). */
#define VIGIL__ROLE_PUBLIC 0
#define VIGIL__ROLE_VIEWER 1
#define VIGIL__ROLE_OPERATOR 2
#define VIGIL__ROLE_ADMIN 3

/* Decides whether the request may run a route that needs `role`: 1 yes,
 * 0 no with *reply filled (401, 403). (auth.c) */
int vigil__api_authorize(vigil_api_t *api, vigil__req_t *req, int role, vigil__reply_t *reply);

/* The request body as a JSON object (jansson, duplicate keys refused, no
 * trailing bytes); NULL with a 400 (or 415 when Content-Type is not JSON) in
 * *reply. The caller decrefs. (server.c) */
json_t *vigil__api_body_json(vigil__req_t *req, vigil__reply_t *reply);

/* Records who (req->who, req->client_ip) did `action` ("camera.update") to
 * `target` ("lobby") in the audit log; detail is JSON or NULL and never
 * holds a secret. A failure to record is logged, not returned. (auth_conf.c) */
void vigil__api_audit(vigil_api_t *api, vigil__req_t *req, const char *action, const char *target,
                      const char *detail);
/* JSON body helpers (auth_routes.c): a string member of 1..max bytes (NULL
 * with a 400 in *reply; NULL without a reply when absent and not required);
 * every member named in the NULL-terminated allowed list (else 400). */
const char *vigil__api_json_str(json_t *obj, const char *key, size_t max, int required,
                                vigil__reply_t *reply);
int vigil__api_json_keys(json_t *obj, const char *const *allowed, vigil__reply_t *reply);
/* 1 when the request has no query parameters, else 0 with a 400. (users.c) */
int vigil__api_no_params(vigil__req_t *req, vigil__reply_t *reply);

typedef void (*vigil__handler_fn)(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);

/* --- handlers -------------------------------------------------------------------
 * Each fills *reply. Routes with ids in the path read them from req->url. */
void vigil__api_cameras(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_detections(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
/* GET /api/v1/frames/{id}.jpg (frames.c) */
void vigil__api_frame(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_stats(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
/* GET /api/v1/events (events.c) */
void vigil__api_events(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
/* GET /api/v1/events/{id} (events.c) */
void vigil__api_event(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
/* An analytics event as the API shows it: written to jw, or as a json_t
 * (NULL when it cannot be encoded). (events.c) */
void vigil__api_event_write(vigil__jw_t *jw, const vigil_analytics_event_row_t *row);
json_t *vigil__api_event_json(const vigil_analytics_event_row_t *row);
/* A detection as the API shows it, the same two ways. (detections.c) */
void vigil__api_detection_write(vigil__jw_t *jw, const vigil_detection_row_t *row);
json_t *vigil__api_detection_json(const vigil_detection_row_t *row);
/* GET /api/v1/events/{id}/snapshot.jpg (events.c) */
void vigil__api_event_snapshot(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
/* GET /api/v1/events/{id}/clip.mp4 (events.c) */
void vigil__api_event_clip(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
/* GET /api/v1/counts (counts.c) */
void vigil__api_counts(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
/* GET /api/v1/tracks/{camera}/{id} (tracks.c) */
void vigil__api_track(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
/* Resources (docs/api.md): cameras (cameras.c, cameras_write.c, camera_test.c), zones and
 * lines (rules.c, rules_items.c), event review (review.c), search (search.c), system
 * (system.c). */
void vigil__api_camera(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_camera_create(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_camera_update(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_camera_delete(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_camera_test(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_camera_test_url(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_rules_get(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_rules_put(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_rule_items(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_rule_item(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_rule_item_add(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_rule_item_put(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_rule_item_delete(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_event_review(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_events_review(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_event_delete(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_search(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_readyz(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_config(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_storage(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
/* Web Push (push_routes.c) */
void vigil__api_push_vapid(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_push_subs(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_push_sub_add(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_push_sub_delete(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
void vigil__api_push_test(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
/* GET /api/v1/cameras/{id}/live.mjpeg (live_mjpeg.c) */
void vigil__api_live_mjpeg(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
/* GET /api/v1/stream: Server-Sent Events (live_sse.c) */
void vigil__api_live_stream(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
/* GET /api/v1/openapi.json (openapi.c) */
void vigil__api_openapi(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply);
/* The embedded OpenAPI document (api/openapi.json), NUL-terminated; *len
 * without the NUL. (openapi.c) */
const char *vigil__api_openapi_document(size_t *len);
/* Row i of the route table (server.c): 0 with its method, path pattern
 * ('*' = one segment), prefix flag and least role; -1 past the end. For
 * tests that check the table against the OpenAPI document. */
int vigil__api_route_at(size_t i, const char **method, const char **path, int *prefix,
                        int *role);

/* Starts a daemon on each of api->listen_fds (daemons.c) with flags, the
 * common options opts (MHD_OPTION_END-terminated) and handler; on failure
 * stops those started and closes every socket. */
vigil_err_t vigil__daemons_start(vigil_api_t *api, unsigned int flags,
                                 const struct MHD_OptionItem *opts, MHD_AccessHandlerCallback handler);
/* Stops accepting everywhere, stops the daemons, closes the sockets. */
void vigil__daemons_stop(vigil_api_t *api);

#endif
