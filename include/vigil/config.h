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

typedef struct vigil_camera_conf {
    char id[VIGIL_CAMERA_ID_MAX]; /* [A-Za-z0-9_.-]{1,63} */
    char *name;                   /* display name (default: id) */
    char *url;                    /* file path, rtsp://, http(s)://, "sample", "testsrc" */
    double fps;                   /* target frames per second; 0 = the source's rate */
    int enabled;
    int loop;               /* files: start again at the end */
    double retention_hours; /* < 0: the store default */
} vigil_camera_conf_t;

typedef struct vigil_config {
    /* log */
    char *log_level; /* debug|info|warn|error */
    /* http */
    char *http_listen; /* HOST:PORT */
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
    /* ingest */
    int ingest_jpeg_quality;
    int ingest_reconnect_min_ms;
    int ingest_reconnect_max_ms;
    int ingest_realtime; /* files: pace at the native rate (1) or as fast as possible (0) */
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

typedef struct vigil_prop {
    const char *name; /* dotted: "preprocess.motion_threshold"; "cameras[].fps" */
    vigil_prop_type_t type;
    size_t offset; /* into vigil_config_t, or vigil_camera_conf_t for cameras[] */
    const char *def;
    double min, max;    /* INT/DOUBLE range, inclusive */
    const char *values; /* ENUM: "a|b|c" */
    const char *desc;
} vigil_prop_t;

/* The property table, terminated by a row with name == NULL. */
extern const vigil_prop_t vigil_props[];

/* Fills cfg with every default. No cameras. */
void vigil_config_init(vigil_config_t *cfg);
/* Frees the strings cfg owns. */
void vigil_config_release(vigil_config_t *cfg);

/* Loads a YAML file on top of cfg. On error fills errstr with
 * "FILE:LINE: key \"K\": REASON (accepted: ...)" and returns VIGIL_ERR_CONFIG. */
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
