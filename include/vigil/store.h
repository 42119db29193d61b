/* The warehouse: cameras, frames, detections and events.
 *
 * Two implementations side by side behind this header:
 *   src/store/sqlite.c    SQLite in WAL mode (embedded default)
 *   src/store/postgres.c  PostgreSQL via libpq (distributed mode; later)
 * Frame JPEGs live in a directory tree under the data dir, not in the
 * database: DATA_DIR/frames/CAMERA/YYYY/MM/DD/HH/SEQUENCE.jpg (src/store/framefs.c).
 * Both implementations pass the same conformance suite (tests/conformance/store/).
 *
 * Idempotence: frames are unique by (camera, sequence); detections by
 * (camera, sequence, model, idx). Writing the same key again is a no-op that
 * succeeds, so that at-least-once delivery on the bus leaves each result in
 * the warehouse exactly once.
 *
 * Schema: versioned migrations (vigil_store_migrate()); opening a store whose
 * schema is older than the binary's fails with VIGIL_ERR_STORE asking for
 * `vigil db migrate`, newer fails too.
 *
 * Thread: a vigil_store_t is one connection, used by one thread at a time.
 * Each stage worker and each HTTP worker opens its own. */
#ifndef VIGIL_STORE_H
#define VIGIL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/analytics.h"
#include "vigil/auth.h"
#include "vigil/err.h"

typedef struct vigil_store vigil_store_t;

typedef struct vigil_store_conf {
    const char *url;      /* "sqlite" = DATA_DIR/vigil.db, "sqlite:PATH", "postgres://..." */
    const char *data_dir; /* frame files (and the default sqlite db) */
    int busy_timeout_ms;  /* sqlite: wait for the writer lock; default 5000 */
    int migrate;          /* apply pending migrations on open (1) or refuse to open (0) */
} vigil_store_conf_t;

typedef struct vigil_camera_row {
    char id[64];
    char name[128];
    char url[1024];
    double fps;
    int enabled;
    char status[32];      /* "starting", "online", "retrying", "stopped", "failed" */
    char last_error[256]; /* empty if none */
    int64_t updated_us;
} vigil_camera_row_t;

typedef struct vigil_frame_row {
    int64_t id;
    char camera_id[64];
    uint64_t sequence;
    int64_t capture_time_us;
    int width, height;
    int64_t size_bytes;
    float motion_score;
    int keyframe;
    char path[512]; /* relative to data_dir */
    int64_t detection_count; /* how many detections its inference found, written by
                              * vigil_store_results_put; -1 while not processed */
} vigil_frame_row_t;

typedef struct vigil_detection_row {
    int64_t id; /* set by the store */
    char camera_id[64];
    uint64_t sequence;
    int64_t frame_id; /* 0 if unknown */
    int64_t capture_time_us;
    char model[64];
    int idx; /* index of the detection within the frame's result */
    char label[64];
    float score;
    float x1, y1, x2, y2; /* frame pixels */
} vigil_detection_row_t;

typedef struct vigil_event_row {
    int64_t id;
    char camera_id[64];
    char type[64];
    int64_t time_us;
    uint64_t sequence;
    char message[512];
    char *payload_json; /* owned by the row; may be NULL */
} vigil_event_row_t;

typedef struct vigil_detection_query {
    const char *camera; /* NULL = all */
    const char *label;  /* NULL = all */
    int64_t since_us;   /* inclusive; 0 = no bound */
    int64_t until_us;   /* exclusive; 0 = no bound */
    float min_score;
    int limit;          /* 1..1000 */
    int64_t after_id;   /* cursor: only rows with id < after_id (newest first); 0 = start */
} vigil_detection_query_t;

typedef struct vigil_store_counts {
    int64_t cameras, frames, detections, events;
    int64_t frame_bytes;
} vigil_store_counts_t;

typedef struct vigil_sweep_result {
    int64_t frames_deleted, files_deleted, detections_deleted, events_deleted;
    int64_t analytics_events_deleted, track_points_deleted, counts_deleted, clips_deleted;
    int64_t sessions_deleted, challenges_deleted; /* expired ones (accounts) */
} vigil_sweep_result_t;

/* ---- analytics (docs/analytics.md) ---------------------------------------
 * Tables: analytics_events (unique by camera, kind, track, zone, line,
 * start_sequence), analytics_counts (one row per camera x minute x zone or
 * line x label), track_points (unique by camera, track, sequence) and
 * analytics_state (one checkpoint per camera). */

/* What the analytics stage writes for one camera in one commit. */
typedef struct vigil_analytics_camera_batch {
    const char *camera_id;
    const vigil_analytics_event_t *events; /* upserted by key; a report replaces the stored one
                                            * unless the stored one has a larger
                                            * updated_sequence */
    size_t nevents;
    const vigil_track_point_t *points;     /* existing (camera, track, sequence) skipped */
    size_t npoints;
    const vigil_count_bucket_t *counts;    /* each column keeps the larger of stored and given */
    size_t ncounts;
    const uint8_t *state;                  /* checkpoint (vigil_analyzer_save); NULL = none */
    size_t state_len;
    uint64_t last_sequence;                /* of the state: replaces a stored checkpoint only if
                                            * larger (a late writer never rolls it back) */
} vigil_analytics_camera_batch_t;

/* Writes every camera's batch in ONE transaction: all or nothing. */
vigil_err_t vigil_store_analytics_commit(vigil_store_t *store,
                                         const vigil_analytics_camera_batch_t *batches, size_t n,
                                         char *errstr, size_t errstr_size);

/* The checkpoint of a camera: *state malloc'd. VIGIL_ERR_NOT_FOUND if none. */
vigil_err_t vigil_store_analytics_state_get(vigil_store_t *store, const char *camera_id,
                                            uint8_t **state, size_t *len,
                                            uint64_t *last_sequence);

/* The largest track id the warehouse has for the camera (track points and
 * events), 0 if none: where a camera whose checkpoint is lost goes on. */
vigil_err_t vigil_store_analytics_max_track_id(vigil_store_t *store, const char *camera_id,
                                               uint64_t *max);

typedef struct vigil_analytics_event_row {
    int64_t id; /* set by the store, stable across upserts of the same key */
    vigil_analytics_event_t ev;
    int reviewed;
    int64_t reviewed_us;  /* when it was last marked (reviewed or not); 0 = never */
    char reviewed_by[64]; /* who marked it ("" = unknown) */
} vigil_analytics_event_row_t;

typedef struct vigil_event_query {
    const char *camera; /* NULL = all, for every string field */
    const char *kind;   /* "zone_enter", ... */
    const char *label;
    const char *zone;
    const char *line;
    int64_t since_us;   /* events whose start is >= since (0 = no bound) */
    int64_t until_us;   /* and < until (0 = no bound) */
    int limit;          /* 1..1000 */
    /* cursor: newest first by (start_us, id); only rows strictly after
     * (after_start_us, after_id) in that order; after_id 0 = from the start */
    int64_t after_start_us;
    int64_t after_id;
    int reviewed; /* VIGIL_REVIEWED_ANY (0), _YES or _NO */
} vigil_event_query_t;

/* The `reviewed` filter of event queries and searches. */
#define VIGIL_REVIEWED_ANY 0
#define VIGIL_REVIEWED_YES 1
#define VIGIL_REVIEWED_NO 2

/* Newest first. *rows malloc'd. *next_start_us / *next_id: the cursor of the
 * next page (*next_id 0 when there is none). */
vigil_err_t vigil_store_analytics_events_query(vigil_store_t *store, const vigil_event_query_t *q,
                                               vigil_analytics_event_row_t **rows, size_t *n,
                                               int64_t *next_start_us, int64_t *next_id);
/* VIGIL_ERR_NOT_FOUND if there is no such event. */
vigil_err_t vigil_store_analytics_event_get(vigil_store_t *store, int64_t id,
                                            vigil_analytics_event_row_t *row);

typedef struct vigil_count_query {
    const char *camera, *zone, *line, *label; /* NULL = all */
    int64_t since_us, until_us;               /* minutes in [since, until); 0 = no bound */
    int64_t bucket_us; /* 0: totals over the range; else 60e6, 3600e6 or 86400e6 (UTC) */
} vigil_count_query_t;

typedef struct vigil_count_row {
    char camera_id[64];
    char zone[VIGIL_RULE_ID_MAX]; /* one of zone, line is set */
    char line[VIGIL_RULE_ID_MAX];
    char label[VIGIL_LABEL_MAX];
    int64_t bucket_us; /* start of the bucket; 0 for totals */
    int64_t entered, peak, in, out; /* sums over the bucket's minutes; peak is the max */
} vigil_count_row_t;

/* Ordered by camera, zone, line, label, bucket. *rows malloc'd; at most
 * 100000 rows (VIGIL_ERR_INVALID beyond, asking for a larger bucket). */
vigil_err_t vigil_store_counts_query(vigil_store_t *store, const vigil_count_query_t *q,
                                     vigil_count_row_t **rows, size_t *n);

/* A track's boxes in sequence order, at most `limit` (1..100000). *points
 * malloc'd. VIGIL_ERR_NOT_FOUND if the track has no point. */
vigil_err_t vigil_store_track_points(vigil_store_t *store, const char *camera_id,
                                     uint64_t track_id, int limit, vigil_track_point_t **points,
                                     size_t *n);

/* Frames of a camera with capture time in [since_us, until_us), oldest
 * first, at most `limit`. *rows malloc'd. */
vigil_err_t vigil_store_frames_range(vigil_store_t *store, const char *camera_id, int64_t since_us,
                                     int64_t until_us, int limit, vigil_frame_row_t **rows,
                                     size_t *n);

/* Where an event's cached clip lives: DATA_DIR/clips/CAMERA/ID.mp4. The
 * sweep deletes the clip files of the events it deletes. */
vigil_err_t vigil_store_clip_path(vigil_store_t *store, const char *camera_id, int64_t event_id,
                                  char *path, size_t size);

/* The message of the last failure of an operation that has no errstr
 * argument (camera_*, event_put, frame_get, ...; "store error" if none was
 * recorded). Valid until the next call on the handle. */
const char *vigil_store_last_error(vigil_store_t *store);

void vigil_store_conf_init(vigil_store_conf_t *conf);

/* Opens (and, if conf->migrate, migrates) a store. NULL on failure with errstr. */
vigil_store_t *vigil_store_open(const vigil_store_conf_t *conf, char *errstr, size_t errstr_size);
void vigil_store_close(vigil_store_t *store);

/* Applies pending migrations. *from, *to (may be NULL) get the versions. */
vigil_err_t vigil_store_migrate(vigil_store_t *store, int *from, int *to, char *errstr,
                                size_t errstr_size);
int vigil_store_schema_version(vigil_store_t *store);
/* The schema version this binary expects. */
int vigil_store_expected_version(void);

vigil_err_t vigil_store_camera_upsert(vigil_store_t *store, const vigil_camera_row_t *camera);
vigil_err_t vigil_store_camera_set_status(vigil_store_t *store, const char *camera_id,
                                          const char *status, const char *last_error);
/* *rows is malloc'd (free it); ordered by id. */
vigil_err_t vigil_store_camera_list(vigil_store_t *store, vigil_camera_row_t **rows, size_t *n);

/* Writes the JPEG file then the row. row->id, row->path and row->detection_count
 * (-1: not processed yet) are set on success.
 * An existing (camera, sequence) returns VIGIL_OK with the existing id and path
 * (nothing rewritten). VIGIL_ERR_FULL / VIGIL_ERR_IO when the disk refuses: no
 * row is written and no partial file is left. */
vigil_err_t vigil_store_frame_put(vigil_store_t *store, vigil_frame_row_t *row, const void *jpeg,
                                  size_t jpeg_len, char *errstr, size_t errstr_size);
vigil_err_t vigil_store_frame_get(vigil_store_t *store, int64_t id, vigil_frame_row_t *row);
/* Reads the JPEG of frame id into a malloc'd buffer. */
vigil_err_t vigil_store_frame_read(vigil_store_t *store, int64_t id, void **jpeg, size_t *len);

/* Writes a batch in one transaction; existing keys are skipped. *inserted
 * (may be NULL) gets how many rows were new. */
vigil_err_t vigil_store_detections_put(vigil_store_t *store, const vigil_detection_row_t *rows,
                                       size_t n, size_t *inserted, char *errstr,
                                       size_t errstr_size);
/* The outcome of one frame's inference: its detections, possibly none. */
typedef struct vigil_frame_result {
    const char *camera_id;
    uint64_t sequence;
    const vigil_detection_row_t *rows; /* n rows of this frame (same camera and sequence) */
    size_t n;
} vigil_frame_result_t;

/* Writes the results of several frames in ONE transaction: for each frame
 * its rows and its processed mark (frames.detection_count = n) together, so
 * a crash leaves a frame either processed with all its rows or not at all.
 * A frame already processed keeps its rows and the new ones are skipped: a
 * second inference of a frame (redelivered, or sent again at start-up) never
 * mixes its rows with the first's. The rows of a frame the store has no row
 * for are written as vigil_store_detections_put writes them. *inserted (may
 * be NULL) gets how many rows were new. Errors as detections_put; a frame
 * whose rows name another camera or sequence is VIGIL_ERR_INVALID. */
vigil_err_t vigil_store_results_put(vigil_store_t *store, const vigil_frame_result_t *results,
                                    size_t n, size_t *inserted, char *errstr,
                                    size_t errstr_size);

/* Frames stored but not processed yet (no vigil_store_results_put for them:
 * detection_count -1) with id > after_id, oldest first, at most limit
 * (1..100000). *rows malloc'd. */
vigil_err_t vigil_store_frames_unprocessed(vigil_store_t *store, int64_t after_id, int limit,
                                           vigil_frame_row_t **rows, size_t *n);

/* Newest first. *rows is malloc'd. *next_after_id is the cursor for the next
 * page (0 when there is none). */
vigil_err_t vigil_store_detections_query(vigil_store_t *store, const vigil_detection_query_t *q,
                                         vigil_detection_row_t **rows, size_t *n,
                                         int64_t *next_after_id);

vigil_err_t vigil_store_event_put(vigil_store_t *store, const vigil_event_row_t *event);

vigil_err_t vigil_store_counts(vigil_store_t *store, const char *camera_id,
                               vigil_store_counts_t *counts);

/* Deletes frames (rows and files), detections and events of camera_id older
 * than before_us; and analytics events that ended (closed) before it (with
 * their clip files), track points and count minutes older than it.
 * camera_id NULL = every camera. */
vigil_err_t vigil_store_sweep(vigil_store_t *store, const char *camera_id, int64_t before_us,
                              vigil_sweep_result_t *result);

/* ---- accounts ------------------------------------------------------------
 * The rows behind vigil/auth.h (schema version 4): users, sessions,
 * api_tokens, passkeys, challenges, audit_log. These entry points are for
 * src/auth only; everyone else calls vigil/auth.h, which validates names,
 * hashes secrets and decides the policy. Here rows are stored and fetched as
 * given: secrets arrive hashed (a password's Argon2id string; SHA-256 hex of
 * a session id, token or challenge). Deleting a user deletes its sessions,
 * tokens, passkeys and challenges in the same transaction. vigil_store_sweep
 * also deletes expired sessions and challenges (whatever camera_id).
 *
 * Errors: VIGIL_ERR_NOT_FOUND (no such row), VIGIL_ERR_EXISTS (a unique
 * name, hash or credential id taken), VIGIL_ERR_INVALID (a bad argument, or
 * the last admin), else the store's codes; errstr (may be NULL) says which.
 * Lists are malloc'd (free; passkeys: vigil_passkey_list_free, audit rows:
 * vigil_audit_rows_free). */

#define VIGIL_STORE_HASH_HEX 65 /* SHA-256 in hex and a NUL */

vigil_err_t vigil_store_user_insert(vigil_store_t *store, const char *name, vigil_role_t role,
                                    const char *password_hash, int64_t now_us, int64_t *id,
                                    char *errstr, size_t errstr_size);
/* By name (name not NULL) or by id. hash (may be NULL) gets the stored
 * password hash. */
vigil_err_t vigil_store_user_get(vigil_store_t *store, const char *name, int64_t id,
                                 vigil_user_t *user, char *hash, size_t hash_size, char *errstr,
                                 size_t errstr_size);
/* Ordered by name. */
vigil_err_t vigil_store_user_list(vigil_store_t *store, vigil_user_t **users, size_t *n,
                                  char *errstr, size_t errstr_size);
vigil_err_t vigil_store_user_count(vigil_store_t *store, int64_t *n, char *errstr,
                                   size_t errstr_size);
/* Sets the role (VIGIL_ROLE_NONE = unchanged) and/or the password hash (NULL
 * = unchanged) in one transaction. A new hash also clears the lockout and
 * deletes the user's sessions. Taking the role of the last admin is refused. */
vigil_err_t vigil_store_user_update(vigil_store_t *store, const char *name, vigil_role_t role,
                                    const char *password_hash, char *errstr, size_t errstr_size);
/* Deletes the user and everything of it; the last admin is refused. */
vigil_err_t vigil_store_user_delete(vigil_store_t *store, const char *name, char *errstr,
                                    size_t errstr_size);

/* Lockout policy of vigil_store_user_login_result. */
typedef struct vigil_store_lockout {
    int max_failures;    /* failures in a row that lock */
    int64_t lock_us;     /* the first lock; doubled for each further one */
    int64_t max_lock_us; /* at most */
} vigil_store_lockout_t;

/* Records a password check of user id in one statement (replicas share the
 * counters): ok clears failed_logins and the lock count; a failure adds one,
 * and the max_failures-th locks the user until now + lock_us * 2^(locks so
 * far) (at most max_lock_us) and starts the count again. A failure while
 * locked changes nothing. *user (may be NULL) gets the row after. */
vigil_err_t vigil_store_user_login_result(vigil_store_t *store, int64_t id, int ok,
                                          int64_t now_us, const vigil_store_lockout_t *policy,
                                          vigil_user_t *user, char *errstr, size_t errstr_size);

/* A session row with what a check needs of its user. */
typedef struct vigil_store_session {
    vigil_session_info_t info;
    vigil_role_t role; /* the user's, now */
    char csrf[48];
} vigil_store_session_t;

/* Inserts a session (info.id and info.user are ignored) under sid_hash; in
 * the same transaction deletes up to 100 sessions expired by
 * info.created_us. *id gets the row id. VIGIL_ERR_NOT_FOUND: no such user. */
vigil_err_t vigil_store_session_insert(vigil_store_t *store, const vigil_store_session_t *row,
                                       const char *sid_hash, int64_t *id, char *errstr,
                                       size_t errstr_size);
vigil_err_t vigil_store_session_get(vigil_store_t *store, const char *sid_hash,
                                    vigil_store_session_t *row, char *errstr, size_t errstr_size);
vigil_err_t vigil_store_session_touch(vigil_store_t *store, int64_t id, int64_t now_us,
                                      char *errstr, size_t errstr_size);
/* Sessions with expires_us > now_us, newest first; user_id 0 = all. */
vigil_err_t vigil_store_session_list(vigil_store_t *store, int64_t user_id, int64_t now_us,
                                     vigil_session_info_t **rows, size_t *n, char *errstr,
                                     size_t errstr_size);
/* By sid_hash if not NULL, else by row id (and of user_id unless 0). */
vigil_err_t vigil_store_session_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                                       const char *sid_hash, char *errstr, size_t errstr_size);

/* A token row with its user's role. */
typedef struct vigil_store_token {
    vigil_token_info_t info;
    vigil_role_t role;
} vigil_store_token_t;

/* info->id, ->user and ->last_used_us are ignored. */
vigil_err_t vigil_store_token_insert(vigil_store_t *store, const vigil_token_info_t *info,
                                     const char *token_hash, int64_t *id, char *errstr,
                                     size_t errstr_size);
vigil_err_t vigil_store_token_get(vigil_store_t *store, const char *token_hash,
                                  vigil_store_token_t *row, char *errstr, size_t errstr_size);
vigil_err_t vigil_store_token_touch(vigil_store_t *store, int64_t id, int64_t now_us,
                                    char *errstr, size_t errstr_size);
/* By id; user_id 0 = all. */
vigil_err_t vigil_store_token_list(vigil_store_t *store, int64_t user_id,
                                   vigil_token_info_t **rows, size_t *n, char *errstr,
                                   size_t errstr_size);
vigil_err_t vigil_store_token_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                                     char *errstr, size_t errstr_size);

/* pk->id and ->last_used_us are ignored. */
vigil_err_t vigil_store_passkey_insert(vigil_store_t *store, const vigil_passkey_t *pk,
                                       int64_t *id, char *errstr, size_t errstr_size);
vigil_err_t vigil_store_passkey_get(vigil_store_t *store, const uint8_t *cred_id, size_t len,
                                    vigil_passkey_t *pk, char *errstr, size_t errstr_size);
vigil_err_t vigil_store_passkey_list(vigil_store_t *store, int64_t user_id, vigil_passkey_t **rows,
                                     size_t *n, char *errstr, size_t errstr_size);
/* VIGIL_ERR_INVALID if sign_count does not grow (0 after 0 is accepted). */
vigil_err_t vigil_store_passkey_update_count(vigil_store_t *store, int64_t id,
                                             uint32_t sign_count, int64_t now_us, char *errstr,
                                             size_t errstr_size);
vigil_err_t vigil_store_passkey_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                                       char *errstr, size_t errstr_size);

/* Inserts a challenge (user_id 0 = none); in the same transaction deletes up
 * to 100 challenges expired by now_us. */
vigil_err_t vigil_store_challenge_insert(vigil_store_t *store, const char *purpose,
                                         const char *challenge_hash, int64_t user_id,
                                         int64_t now_us, int64_t expires_us, char *errstr,
                                         size_t errstr_size);
/* Deletes the challenge in one statement; VIGIL_ERR_NOT_FOUND if there was
 * none or it had expired by now_us. */
vigil_err_t vigil_store_challenge_take(vigil_store_t *store, const char *purpose,
                                       const char *challenge_hash, int64_t now_us,
                                       int64_t *user_id, char *errstr, size_t errstr_size);

/* row->id is ignored. */
vigil_err_t vigil_store_audit_insert(vigil_store_t *store, const vigil_audit_row_t *row,
                                     char *errstr, size_t errstr_size);
/* Newest first, id < before_id (0 = from the newest), limit 1..1000. */
vigil_err_t vigil_store_audit_list(vigil_store_t *store, int64_t before_id, int limit,
                                   vigil_audit_row_t **rows, size_t *n, char *errstr,
                                   size_t errstr_size);
/* ---- end of accounts ---------------------------------------------------- */

/* ---- resources (the API's writes, search, storage; schema version 5) ------
 * Cameras the API manages, per-camera rule sets with a version, event
 * review and deletion, one search over events and detections, storage per
 * camera. docs/api.md says how the API uses them.
 *
 * Cameras: the `cameras` table is the list of record. A row is written by
 * three hands: `vigil run` registers the configuration's cameras, the sink
 * records what ingest reports (status, and name/url/fps for cameras it
 * never saw), and the API creates, changes and removes the cameras it
 * manages (origin "api"). The sink's upsert leaves an API camera's name,
 * url, fps and enabled alone (its status it still sets). An API camera
 * keeps its URL twice: `url` redacted, for every output, and the source URL
 * with its credentials, which only vigil_store_camera_get(..., with_secret)
 * and vigil_store_camera_list_api return, for the control topic and the
 * connection test. Removing an API camera marks its row removed (a status
 * event arriving after would otherwise bring it back) and deletes its rule
 * set; its frames and events stay until retention.
 *
 * Errors: VIGIL_ERR_NOT_FOUND (no such camera, rule set or event),
 * VIGIL_ERR_EXISTS (a camera id taken; a camera that is not the API's),
 * VIGIL_ERR_AGAIN (a rule set changed since the version given: *version
 * gets the current one), VIGIL_ERR_INVALID (a bad argument), else the
 * store's codes; errstr (may be NULL) says which. Thread: as every store
 * call, one thread per handle. */

#define VIGIL_CAMERA_ORIGIN_API "api"
/* A camera the API did not create (a configuration file's) whose `enabled`
 * the API has switched: its enabled (and the status that follows from it)
 * is the API's from then on, also after a restart; the rest is the file's.
 * The sink's and `vigil run`'s upserts leave that enabled alone. */
#define VIGIL_CAMERA_ORIGIN_SWITCHED "switched"

typedef struct vigil_camera_record {
    vigil_camera_row_t row; /* row.url redacted */
    char origin[16];        /* "api", "switched", or "" (the configuration, or seen on the bus) */
    double retention_hours; /* < 0: store.retention_hours */
    int64_t created_us;     /* API cameras; 0 for others */
    /* the URL with its credentials: filled only where a function says so,
     * else "". Never to be shown (vigil/redact.h). */
    char source_url[1024];
} vigil_camera_record_t;

/* Cameras not removed, ordered by id, those after `after_id` (NULL = from
 * the first), at most limit (1..1000). *more is set when there are more.
 * *rows malloc'd; source_url is "". */
vigil_err_t vigil_store_camera_records(vigil_store_t *store, const char *after_id, int limit,
                                       vigil_camera_record_t **rows, size_t *n, int *more,
                                       char *errstr, size_t errstr_size);
/* One camera (not removed). with_secret: fill source_url too. */
vigil_err_t vigil_store_camera_get(vigil_store_t *store, const char *id, int with_secret,
                                   vigil_camera_record_t *rec, char *errstr, size_t errstr_size);
/* Creates (create = 1) or replaces an API camera from rec->row (id, name,
 * url redacted, fps, enabled, status), rec->retention_hours and
 * rec->source_url, in one transaction. Create: VIGIL_ERR_EXISTS if a camera
 * of that id is there and not removed (a removed one is made again).
 * Replace: VIGIL_ERR_NOT_FOUND if none, VIGIL_ERR_EXISTS if it is not an
 * API camera. VIGIL_ERR_FULL: a create beyond VIGIL_CAMERAS_MAX * 16 API
 * cameras. now_us: updated_us (and created_us). */
vigil_err_t vigil_store_camera_put(vigil_store_t *store, const vigil_camera_record_t *rec,
                                   int create, int64_t now_us, char *errstr, size_t errstr_size);
/* Marks an API camera removed and deletes its rule set, in one transaction.
 * VIGIL_ERR_NOT_FOUND, VIGIL_ERR_EXISTS (not an API camera). */
vigil_err_t vigil_store_camera_remove(vigil_store_t *store, const char *id, int64_t now_us,
                                      char *errstr, size_t errstr_size);
/* Sets the `enabled` of a camera the API did not create (a configuration
 * camera) from row->enabled, with row->status and row->last_error, and marks
 * it "switched", in one transaction. A camera without a row yet gets one
 * from row (id, name, url redacted, fps). VIGIL_ERR_EXISTS: an API camera
 * (vigil_store_camera_put changes those). now_us: updated_us. */
vigil_err_t vigil_store_camera_switch(vigil_store_t *store, const vigil_camera_row_t *row,
                                      int64_t now_us, char *errstr, size_t errstr_size);
/* Every API camera not removed, with source_url (for `vigil run` to put
 * them on its control topic at start). At most VIGIL_CAMERAS_MAX * 16. */
vigil_err_t vigil_store_camera_list_api(vigil_store_t *store, vigil_camera_record_t **rows,
                                        size_t *n, char *errstr, size_t errstr_size);

/* A camera's rule set (vigil_rules_to_json's text). Version 1 is the first
 * one written; each write adds one. */
typedef struct vigil_rules_row {
    char camera_id[64];
    int64_t version;
    int64_t updated_us;
    char updated_by[64];
    char *json; /* malloc'd (vigil_rules_rows_free) */
} vigil_rules_row_t;

/* VIGIL_ERR_NOT_FOUND when the camera has none. row->json malloc'd (free). */
vigil_err_t vigil_store_rules_get(vigil_store_t *store, const char *camera_id,
                                  vigil_rules_row_t *row, char *errstr, size_t errstr_size);
/* Writes json as the camera's rule set if its version is *version (0: it
 * has none yet; -1: whatever it is), in one transaction; *version gets the
 * new version. VIGIL_ERR_AGAIN when the version differs (*version gets the
 * current one, 0 if none). json at most VIGIL_MSG_JSON_MAX (1 MiB). */
vigil_err_t vigil_store_rules_put(vigil_store_t *store, const char *camera_id, const char *json,
                                  int64_t *version, int64_t now_us, const char *by,
                                  char *errstr, size_t errstr_size);
/* Every rule set, at most VIGIL_CAMERAS_MAX * 16. */
vigil_err_t vigil_store_rules_list(vigil_store_t *store, vigil_rules_row_t **rows, size_t *n,
                                   char *errstr, size_t errstr_size);
void vigil_rules_rows_free(vigil_rules_row_t *rows, size_t n);

/* Marks events reviewed (or not) in one transaction: n ids (1..1000),
 * reviewed_us = now_us, reviewed_by = by. *updated gets how many exist;
 * ids of no event are skipped (not an error). */
vigil_err_t vigil_store_events_review(vigil_store_t *store, const int64_t *ids, size_t n,
                                      int reviewed, int64_t now_us, const char *by,
                                      size_t *updated, char *errstr, size_t errstr_size);
/* Deletes one closed analytics event and its cached clip file.
 * VIGIL_ERR_NOT_FOUND; VIGIL_ERR_INVALID if it is still open (analytics
 * would write it again). */
vigil_err_t vigil_store_event_delete(vigil_store_t *store, int64_t id, char *errstr,
                                     size_t errstr_size);

/* ---- search -------------------------------------------------------------- */
#define VIGIL_SEARCH_LIST_MAX 32        /* values of each list filter */
#define VIGIL_SEARCH_TEXT_MAX 128       /* bytes of the free text */
#define VIGIL_SEARCH_LIMIT_MAX 1000
#define VIGIL_SEARCH_FACET_ROWS 10000   /* newest matching rows a facet count looks at */
#define VIGIL_SEARCH_FACET_VALUES 100   /* values per facet, most frequent first */

#define VIGIL_SEARCH_EVENTS 1u
#define VIGIL_SEARCH_DETECTIONS 2u

typedef struct vigil_search_query {
    const char *text; /* NULL = none: camera ids and names, zone and line ids, labels contain it
                       * (case-insensitive for ASCII; % and _ are plain characters) */
    const char *const *cameras; size_t ncameras; /* each list: none = any */
    const char *const *labels; size_t nlabels;
    const char *const *zones; size_t nzones;     /* events only: given, no detection matches */
    const char *const *lines; size_t nlines;     /* events only */
    int64_t since_us, until_us; /* [since, until); 0 = no bound (events: their start) */
    double min_score;           /* events: peak score; detections: score */
    int reviewed;               /* VIGIL_REVIEWED_*; not ANY: events only */
    unsigned types;             /* VIGIL_SEARCH_EVENTS | VIGIL_SEARCH_DETECTIONS */
    int limit;                  /* 1..VIGIL_SEARCH_LIMIT_MAX */
    /* cursor: newest first by (time, type, id) with events before
     * detections at equal times; only items after it (after_id 0 = none) */
    int64_t after_time_us;
    int after_event;
    int64_t after_id;
    int facets; /* count facets (bounded: VIGIL_SEARCH_FACET_ROWS of each type) */
} vigil_search_query_t;

typedef struct vigil_search_item {
    int is_event;
    vigil_analytics_event_row_t event;  /* is_event */
    vigil_detection_row_t detection;    /* !is_event */
} vigil_search_item_t;

typedef enum vigil_facet_dim {
    VIGIL_FACET_CAMERA,
    VIGIL_FACET_LABEL,
    VIGIL_FACET_ZONE,
    VIGIL_FACET_LINE,
    VIGIL_FACET_KIND, /* event kinds, and "detection" */
    VIGIL_FACET_DIMS_
} vigil_facet_dim_t;

typedef struct vigil_facet {
    vigil_facet_dim_t dim;
    char value[64];
    int64_t count;
} vigil_facet_t;

typedef struct vigil_search_result {
    vigil_search_item_t *items; /* malloc'd, newest first */
    size_t nitems;
    int more;                   /* a next page exists: its cursor is the last item */
    vigil_facet_t *facets;      /* malloc'd */
    size_t nfacets;
    int facets_truncated;       /* a facet count stopped at VIGIL_SEARCH_FACET_ROWS */
} vigil_search_result_t;

vigil_err_t vigil_store_search(vigil_store_t *store, const vigil_search_query_t *q,
                               vigil_search_result_t *res, char *errstr, size_t errstr_size);
void vigil_search_result_release(vigil_search_result_t *res);
/* The order of search items and of the cursor (qsort's comparator): newest
 * first by time, events before detections at equal times, then by id
 * descending. Every search backend (the warehouse's, the search node's)
 * pages by it. */
int vigil_search_item_cmp(const void *a, const void *b);

/* ---- storage ------------------------------------------------------------- */
typedef struct vigil_storage_row {
    char camera_id[64];
    int64_t frames, frame_bytes;
    int64_t oldest_us, newest_us; /* capture times; 0 when no frame */
    int64_t detections, events;   /* rows; events: analytics events */
} vigil_storage_row_t;

/* Per camera that has frames, detections or events, ordered by id; at most
 * 10000 cameras. *rows malloc'd. */
vigil_err_t vigil_store_storage(vigil_store_t *store, vigil_storage_row_t **rows, size_t *n,
                                char *errstr, size_t errstr_size);
/* ---- end of resources ---------------------------------------------------- */

/* ---- retention by size (store_retention.c; docs/warehouse.md, "Retention")
 * The frame store's size is the sum of its frame rows' size_bytes (the JPEG
 * files), kept by the backend as a running total per camera as rows are
 * written and deleted, so that reading it never scans the frames.
 *
 * What an analytics event needs, and what a size sweep therefore never
 * deletes while the event is open or ended at or after
 * events_ended_before_us: its snapshot frame, and the frames of its camera
 * its clip is cut from, captured in [start - preroll, end + postroll]
 * (an open event: from start - preroll on). */
/* (the smallest budget a configuration may set: VIGIL_FRAME_BUDGET_MIN, vigil/config.h) */

typedef struct vigil_frame_usage {
    char camera_id[64];
    int64_t frames, bytes;
} vigil_frame_usage_t;

/* Frames and bytes per camera that has frames, ordered by id (at most 10000
 * cameras); *total_bytes (may be NULL) their sum. *rows malloc'd. */
vigil_err_t vigil_store_frame_usage(vigil_store_t *store, vigil_frame_usage_t **rows, size_t *n,
                                    int64_t *total_bytes, char *errstr, size_t errstr_size);

typedef struct vigil_frame_budget {
    int64_t max_bytes; /* every camera's frames together; 0 = no bound */
    /* per camera budgets (0 = none): camera_ids[i] may keep camera_max_bytes[i] */
    const char *const *camera_ids;
    const int64_t *camera_max_bytes;
    size_t ncameras;
    /* what events need (above) */
    int64_t preroll_us, postroll_us;
    int64_t events_ended_before_us; /* closed events that ended before it need nothing */
    /* a sweep deletes down to this share of a budget, so that it does not
     * run again at every frame: 0 = 0.95; else 0.5 .. 1 */
    double low_water;
} vigil_frame_budget_t;

typedef struct vigil_budget_result {
    int64_t frames_deleted, files_deleted, bytes_freed;
    int64_t bytes_before, bytes_after; /* every camera's frames */
    /* a budget still exceeded after the sweep because events need the rest:
     * by how much, and whose ("" = store.max_bytes) */
    int64_t over_bytes;
    char over_camera[64];
} vigil_budget_result_t;

/* Brings the frame store within its budgets: first each camera over its own
 * budget loses its oldest frames (capture time, then id) that no event
 * needs, then, while every camera together is over max_bytes, the oldest of
 * every camera go. Rows first, in bounded batches, then their files (as
 * vigil_store_sweep). Frames' detections stay (age retention takes them).
 * VIGIL_ERR_INVALID (naming the budget) when a budget is smaller than one
 * frame of what it bounds (the mean of its stored frames): nothing is
 * deleted for it, rather than every frame at each sweep. A budget that
 * events keep exceeded is not an error: res->over_bytes says it. */
vigil_err_t vigil_store_sweep_budget(vigil_store_t *store, const vigil_frame_budget_t *budget,
                                     vigil_budget_result_t *res, char *errstr,
                                     size_t errstr_size);
/* ---- end of retention by size -------------------------------------------- */

/* ---- push subscriptions (store_push.c; docs/push.md) ------------------------
 * A browser's Web Push subscription of a user. endpoint and the keys are the
 * browser's secrets: never log or show them (only the endpoint's origin).
 * Subscriptions of a deleted user are not listed with user_id 0 (the push
 * service's reads), so that they receive nothing. */
#define VIGIL_PUSH_ENDPOINT_MAX 1024
#define VIGIL_PUSH_FILTERS_MAX 8192 /* filters JSON text */
#define VIGIL_PUSH_SUBS_PER_USER 32
#define VIGIL_PUSH_SUBS_MAX 100000  /* rows one list returns at most */

typedef struct vigil_push_sub {
    int64_t id;
    int64_t user_id;
    char endpoint[VIGIL_PUSH_ENDPOINT_MAX + 1];
    char p256dh[96];  /* base64url of the 65-byte point */
    char auth[32];    /* base64url of the 16-byte secret */
    char *filters;    /* JSON text, malloc'd (vigil_push_subs_free) */
    int64_t created_us;
} vigil_push_sub_t;

/* Inserts sub (filters given) or, when its endpoint is already there,
 * replaces that row's owner, keys and filters; *id gets the row's id.
 * VIGIL_ERR_FULL when the user already has VIGIL_PUSH_SUBS_PER_USER others. */
vigil_err_t vigil_store_push_sub_put(vigil_store_t *store, const vigil_push_sub_t *sub,
                                     int64_t *id, char *errstr, size_t errstr_size);
/* Subscriptions of user_id (> 0), or every live user's (0), by id; *rows
 * malloc'd (vigil_push_subs_free). */
vigil_err_t vigil_store_push_sub_list(vigil_store_t *store, int64_t user_id,
                                      vigil_push_sub_t **rows, size_t *n, char *errstr,
                                      size_t errstr_size);
/* Deletes subscription id, of user_id when > 0; VIGIL_ERR_NOT_FOUND if none. */
vigil_err_t vigil_store_push_sub_delete(vigil_store_t *store, int64_t id, int64_t user_id,
                                        char *errstr, size_t errstr_size);
/* Deletes the subscription with this endpoint (the push service said 404/410). */
vigil_err_t vigil_store_push_sub_delete_endpoint(vigil_store_t *store, const char *endpoint,
                                                 char *errstr, size_t errstr_size);
void vigil_push_subs_free(vigil_push_sub_t *rows, size_t n);
/* ---- end of push subscriptions ------------------------------------------- */

/* ---- replication (PostgreSQL streaming replicas; docs/warehouse.md) -------
 * What the API's read routing (src/api/replica.c) asks of the primary and
 * of a hot standby to say how far behind the standby is. */
typedef struct vigil_store_wal {
    int standby;         /* 1: a hot standby replaying a primary's WAL */
    uint64_t lsn;        /* primary: where its WAL is written to (pg_current_wal_lsn);
                          * standby: how far it has replayed (pg_last_wal_replay_lsn) */
    double replay_age_s; /* standby: seconds since the commit time of the last transaction
                          * it replayed, -1 when it has replayed none since it started;
                          * 0 on a primary */
} vigil_store_wal_t;

/* Where the server behind the handle is in its write-ahead log: one query.
 * VIGIL_ERR_UNSUPPORTED for SQLite, VIGIL_ERR_AGAIN when the server does not
 * answer. */
vigil_err_t vigil_store_wal(vigil_store_t *store, vigil_store_wal_t *wal, char *errstr,
                            size_t errstr_size);
/* ---- end of replication ---------------------------------------------------- */

#endif
