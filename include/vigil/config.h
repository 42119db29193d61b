/* vigil's configuration: one YAML file, overridden by environment variables,
 * overridden by command-line flags.
 *
 * Every setting is a row of one property table (src/core/config_props.c):
 * dotted name, type, default, range or accepted values, description. The
 * YAML loader, the environment and `--set` all go through that table, and
 * `vigil config docs` renders it as docs/configuration.md, so the docs cannot
 * drift from the code.
 *
 * YAML shape:
 *   log:        { level: info }
 *   http:       { listen: "127.0.0.1:8080" }
 *   bus:        { url: "inproc://", partitions: 4, capacity: 256 }
 *   store:      { url: "sqlite", data_dir: "./data", retention_hours: 24, ... }
 *   ingest: / preprocess: / infer: / sink: { ... }
 *   cameras:
 *     - { id: lobby, name: Lobby, url: "rtsp://...", fps: 5, enabled: true }
 *
 * Environment: VIGIL_<SECTION>_<KEY>, e.g. VIGIL_PREPROCESS_MOTION_THRESHOLD=0.02.
 *
 * Errors: an unknown key or a bad value fails with a message naming the file,
 * line, key and the accepted values; the CLI exits with code 2. */
#ifndef VIGIL_CONFIG_H
#define VIGIL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

#define VIGIL_CAMERA_ID_MAX 64
#define VIGIL_CAMERAS_MAX 64
/* Largest configuration file vigil_config_load_file reads (and YAML text
 * vigil_config_load_string parses). */
#define VIGIL_CONFIG_FILE_MAX ((size_t)4 << 20)
/* Deepest nesting of lists and mappings a configuration may have (the
 * real ones have 6: cameras, a camera, zones, a zone, polygon, a point). */
#define VIGIL_CONFIG_DEPTH_MAX 64

/* ---- zones and lines (analytics rules; docs/analytics.md) ----------------
 * Coordinates are normalised to the frame: x 0..1 left to right, y 0..1 top
 * to bottom, so that rules survive a change of resolution. */
#define VIGIL_RULE_ID_MAX 64       /* zone and line ids: [A-Za-z0-9_.-]{1,63} */
#define VIGIL_LABEL_MAX 64
#define VIGIL_ZONES_MAX 32         /* per camera */
#define VIGIL_LINES_MAX 32         /* per camera */
#define VIGIL_POLYGON_MAX 32       /* points of a zone */
#define VIGIL_RULE_LABELS_MAX 16   /* labels of one zone or line */

/* The point of a box that decides whether an object is in a zone or on which
 * side of a line it is. */
typedef enum vigil_anchor {
    VIGIL_ANCHOR_BOTTOM_CENTER = 0, /* default: where a person or car touches the ground */
    VIGIL_ANCHOR_CENTER = 1,
    VIGIL_ANCHOR_TOP_CENTER = 2,
} vigil_anchor_t;

typedef struct vigil_point {
    double x, y; /* normalised, 0..1 */
} vigil_point_t;

typedef struct vigil_zone_conf {
    char id[VIGIL_RULE_ID_MAX];
    vigil_point_t polygon[VIGIL_POLYGON_MAX]; /* simple polygon, 3..VIGIL_POLYGON_MAX points */
    size_t npoints;
    char labels[VIGIL_RULE_LABELS_MAX][VIGIL_LABEL_MAX]; /* none = every label */
    size_t nlabels;
    double min_score;      /* detections below it are not considered in the zone; 0..1, default 0 */
    double loiter_seconds; /* a track inside longer than this raises `loiter`; 0 = never (default) */
    int inertia;           /* consecutive frames inside (outside) before enter (leave) is believed;
                            * 1..30, default 2 */
    int anchor;            /* vigil_anchor_t */
} vigil_zone_conf_t;

typedef struct vigil_line_conf {
    char id[VIGIL_RULE_ID_MAX];
    vigil_point_t a, b; /* `in` is from the side where (B-A)x(P-A) > 0 to where it is < 0 */
    char labels[VIGIL_RULE_LABELS_MAX][VIGIL_LABEL_MAX];
    size_t nlabels;
    double min_score;  /* 0..1, default 0 */
    double hysteresis; /* normalised distance from the line the anchor must reach on the far side
                        * before a crossing counts (and on the near side before it is armed
                        * again); 0..0.5, default 0.02 */
    int anchor;        /* vigil_anchor_t */
} vigil_line_conf_t;

/* Checks one zone / line as the config loader does: id syntax, 3..32 points
 * inside 0..1, a simple (not self-intersecting) polygon of non-zero area;
 * two distinct points; labels non-empty and unique; ranges. On failure
 * fills errstr with "key \"FIELD\": REASON (accepted: ...)" where FIELD is
 * relative to the zone ("polygon", "labels[2]", ...) and returns
 * VIGIL_ERR_CONFIG. Thread: any. */
vigil_err_t vigil_zone_conf_check(const vigil_zone_conf_t *zone, char *errstr, size_t errstr_size);
vigil_err_t vigil_line_conf_check(const vigil_line_conf_t *line, char *errstr, size_t errstr_size);
/* Defaults for a zone / line (no id, no points). */
void vigil_zone_conf_init(vigil_zone_conf_t *zone);
void vigil_line_conf_init(vigil_line_conf_t *line);

/* The smallest frame store budget (store.max_bytes, cameras[].max_bytes)
 * other than 0: below a megabyte one frame may not fit. */
#define VIGIL_FRAME_BUDGET_MIN ((int64_t)1 << 20)

typedef struct vigil_camera_conf {
    char id[VIGIL_CAMERA_ID_MAX]; /* [A-Za-z0-9_.-]{1,63} */
    char *name;                   /* display name (default: id) */
    char *url;                    /* file path, rtsp://, http(s)://, "sample", "testsrc" */
    double fps;                   /* target frames per second; 0 = the source's rate */
    int enabled;
    int loop;               /* files: start again at the end */
    double retention_hours; /* < 0: the store default */
    double max_bytes;       /* frame store budget of this camera; 0 = none (store.h) */
    vigil_zone_conf_t *zones; /* malloc'd array, owned by the camera; ids unique per camera */
    size_t nzones;
    vigil_line_conf_t *lines; /* malloc'd array, owned by the camera; ids unique per camera */
    size_t nlines;
} vigil_camera_conf_t;

typedef struct vigil_config {
    /* log */
    char *log_level; /* debug|info|warn|error */
    char *log_sink;  /* stderr|opensearch (also to search.url's node; src/search/logship.c) */
    int log_queue_max; /* log lines held for the log shipper before it drops */
    /* http */
    char *http_listen; /* HOST:PORT */
    int http_live_max_streams; /* concurrent MJPEG + SSE streams; <= 0 = the default (32) */
    /* http edge (src/api/edge*.c); 0 / NULL in a hand-built config = the
     * built-in default, or no limit where the property says 0 is none */
    int http_max_connections;            /* global connection limit */
    int http_max_connections_per_client; /* per IPv4 address or IPv6 /64; 0 = none */
    double http_rate_limit;              /* requests/s per client; 0 = none */
    int http_rate_burst;                 /* token bucket size */
    char *http_limits_exempt;            /* comma-separated ADDR[/BITS] the limits skip */
    char *http_trusted_proxies;          /* comma-separated ADDR[/BITS] whose X-Forwarded-* count */
    int http_header_timeout_s;           /* request headers (and keep-alive idle) deadline */
    int http_body_timeout_s;             /* request body deadline */
    char *http_allowed_hosts;            /* comma-separated Host names besides the address */
    char *http_web_root;                 /* the built dashboard's directory; "" = beside the binary */
    char *http_cors_origins;             /* comma-separated origins given CORS access */
    char *http_tls_cert;                 /* PEM certificate chain file; "" = no TLS */
    char *http_tls_key;                  /* PEM private key file */
    /* auth (docs/security.md) */
    int auth_enabled;            /* 0 only with a loopback http.listen */
    char *auth_rp_id;            /* WebAuthn relying party id; "" = from http.listen */
    char *auth_origins;          /* comma-separated allowed origins; "" = from http.listen */
    int auth_session_hours;      /* a session's absolute lifetime */
    int auth_session_idle_hours; /* a session unused this long ends */
    /* grpc (docs/grpc.md) */
    char *grpc_listen;          /* HOST:PORT; "" = off */
    int grpc_threads;           /* event loops */
    int grpc_max_message_bytes; /* a message taken or sent */
    int grpc_max_streams;       /* per connection */
    int grpc_max_connections;
    /* push (docs/push.md) */
    int push_enabled;
    char *push_subject;          /* VAPID sub: mailto: or https: */
    char *push_vapid_key;        /* PEM path; "" = DATA_DIR/push_vapid.pem */
    int push_allow_http_loopback;   /* loopback endpoints, http:// to them (tests) */
    int push_allow_private_endpoints; /* loopback, private and CGNAT endpoints */
    int push_retries;
    int push_retry_base_ms;
    int push_retry_max_ms;
    int push_queue_max;
    int push_ttl_s;
    /* bus */
    char *bus_url; /* inproc:// (kafka:// later) */
    int bus_partitions;
    int bus_capacity; /* messages per partition before publishers block */
    char *bus_delivery;          /* at_least_once|exactly_once (preprocess, infer on Kafka) */
    int bus_replication_factor;  /* vigil kafka init: 0 = min(3, brokers) */
    int bus_min_insync_replicas; /* vigil kafka init: 0 = broker default */
    double bus_retention_hours;  /* vigil kafka init: data topics; 0 = broker default */
    /* store */
    char *store_url; /* "sqlite" (data_dir/vigil.db) or sqlite:PATH */
    char *data_dir;
    double store_retention_hours;
    int store_sweep_interval_s;
    double store_max_bytes; /* frame store budget, every camera together; 0 = none */
    char *store_read_url;      /* a streaming replica the API reads from; "" = none */
    double store_read_max_lag_s; /* replica lag beyond which reads go to the primary */
    /* ingest */
    int ingest_jpeg_quality;
    int ingest_reconnect_min_ms;
    int ingest_reconnect_max_ms;
    int ingest_realtime; /* files: pace at the native rate (1) or as fast as possible (0) */
    int ingest_max_cameras; /* cameras one ingest instance runs (one thread each) */
    int ingest_read_timeout_ms; /* a camera's open and each read give up after this */
    /* preprocess */
    int preprocess_workers;
    double preprocess_motion_threshold; /* mean abs gray difference / 255, 0..1 */
    double preprocess_keyframe_interval_s;
    int preprocess_motion_width; /* width of the downscaled grayscale image */
    /* infer */
    char *infer_model; /* "motion" */
    int infer_workers;
    int infer_batch_size;
    int infer_batch_timeout_ms;
    int infer_threads; /* model threads per worker; 0 = one per CPU core */
    double infer_min_score;
    /* sink */
    int sink_batch_size;
    int sink_flush_ms;
    /* search (docs/search.md) */
    char *search_url;          /* opensearch://HOST:PORT or elasticsearch://...; "" = none */
    char *search_index_prefix; /* indices PREFIX-{detections,events,tracks,logs}-YYYY.MM.DD */
    int search_batch_size;     /* documents per _bulk request */
    int search_flush_ms;       /* longest a held document waits */
    int search_timeout_ms;     /* one HTTP request */
    int search_retry_max_ms;   /* backoff cap after 429, 5xx, connection errors */
    /* analytics (docs/analytics.md) */
    int analytics_enabled;
    char *analytics_group;            /* consumer group of the analytics workers on detections */
    double analytics_high_score;      /* first association stage: detections scoring >= this */
    double analytics_low_score;       /* second stage: detections from this up to high_score */
    double analytics_new_track_score; /* an unmatched detection starts a track if >= this */
    double analytics_match_iou;       /* least (buffered) IoU to match in the first stage */
    double analytics_low_match_iou;   /* least (buffered) IoU to match in the second stage */
    double analytics_buffer;          /* boxes grow by this fraction of w and h for matching */
    int analytics_min_hits;           /* consecutive hits before a track is confirmed */
    double analytics_lost_seconds;    /* a lost track is kept this long before it is removed */
    int analytics_per_class;          /* associate detections only with tracks of their label */
    int analytics_batch_frames;       /* detection messages per checkpoint transaction */
    int analytics_flush_ms;           /* longest wait before a checkpoint transaction */
    double analytics_clip_preroll_s;  /* clips start this long before their event */
    double analytics_clip_postroll_s; /* and end this long after it */
    /* limits: bounds on what comes from outside (docs/security.md) */
    int limits_max_frame_pixels;    /* width x height of a frame's JPEG, checked before decoding */
    int limits_max_cameras;         /* distinct cameras whose state a stage keeps (per worker) */
    double limits_camera_forget_s;  /* a camera's state is dropped after this long unseen */
    /* cameras */
    vigil_camera_conf_t cameras[VIGIL_CAMERAS_MAX];
    size_t ncameras;
} vigil_config_t;

typedef enum vigil_prop_type {
    VIGIL_PROP_INT,
    VIGIL_PROP_DOUBLE,
    VIGIL_PROP_BOOL,
    VIGIL_PROP_STRING,
    VIGIL_PROP_ENUM, /* a string from `values` */
} vigil_prop_type_t;

/* Flags of a property row. */
#define VIGIL_PROP_SENSITIVE 0x1u /* its value may hold credentials (a URL): every output
                                   * shows vigil_prop_shown()'s redacted copy, never the
                                   * value (docs/security.md; librdkafka's _RK_SENSITIVE) */

typedef struct vigil_prop {
    const char *name; /* dotted: "preprocess.motion_threshold"; "cameras[].fps" */
    vigil_prop_type_t type;
    size_t offset; /* into vigil_config_t, or vigil_camera_conf_t for cameras[] */
    const char *def;
    double min, max;    /* INT/DOUBLE range, inclusive */
    const char *values; /* ENUM: "a|b|c" */
    const char *desc;
    unsigned flags; /* VIGIL_PROP_* */
} vigil_prop_t;

/* The property table, terminated by a row with name == NULL. */
extern const vigil_prop_t vigil_props[];

/* The row named `name` ("bus.url", "cameras[].url"), or NULL. Thread: any. */
const vigil_prop_t *vigil_prop_find(const char *name);

/* Writes value as it may be shown anywhere (log, error, API, warehouse)
 * into out: vigil_url_redact()'s copy when the row is VIGIL_PROP_SENSITIVE,
 * else the value. Returns 1 if something was redacted. Thread: any. */
int vigil_prop_shown(const vigil_prop_t *p, const char *value, char *out, size_t size);

/* Fills cfg with every default. No cameras. */
void vigil_config_init(vigil_config_t *cfg);
/* Frees the strings cfg owns. */
void vigil_config_release(vigil_config_t *cfg);

/* Loads a YAML file on top of cfg. On error fills errstr with
 * "FILE:LINE: key \"K\": REASON (accepted: ...)" and returns VIGIL_ERR_CONFIG
 * (VIGIL_ERR_NOMEM when out of memory). A file larger than
 * VIGIL_CONFIG_FILE_MAX is refused before it is read, one nested deeper
 * than VIGIL_CONFIG_DEPTH_MAX before it is loaded, and a key given twice in
 * one mapping with both lines named. */
vigil_err_t vigil_config_load_file(vigil_config_t *cfg, const char *path, char *errstr,
                                   size_t errstr_size);
/* Same, from a string (tests); `origin` names it in messages. */
vigil_err_t vigil_config_load_string(vigil_config_t *cfg, const char *yaml, const char *origin,
                                     char *errstr, size_t errstr_size);

/* Applies VIGIL_* variables from environ. */
vigil_err_t vigil_config_apply_env(vigil_config_t *cfg, char *errstr, size_t errstr_size);

/* Sets one property by dotted name from text ("infer.batch_size", "8").
 * `origin` names where it came from in messages ("--set", "env VIGIL_X"). */
vigil_err_t vigil_config_set(vigil_config_t *cfg, const char *name, const char *value,
                             const char *origin, char *errstr, size_t errstr_size);

/* Adds a camera from a URL or file (id derived: cam0, cam1, ...). */
vigil_err_t vigil_config_add_source(vigil_config_t *cfg, const char *url, char *errstr,
                                    size_t errstr_size);

/* Cross-field checks (unique camera ids, reconnect_min <= max, ...). */
vigil_err_t vigil_config_validate(const vigil_config_t *cfg, char *errstr, size_t errstr_size);

/* Renders the property table as Markdown (docs/configuration.md). malloc'd. */
char *vigil_config_docs_markdown(void);

const vigil_camera_conf_t *vigil_config_camera(const vigil_config_t *cfg, const char *id);

/* Checks a camera id: [A-Za-z0-9_.-]{1,63}. */
int vigil_camera_id_valid(const char *id);

#endif
