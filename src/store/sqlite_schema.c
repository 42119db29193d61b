/* The SQLite schema as an ordered list of migrations, and the code that
 * applies them.
 *
 * The version is PRAGMA user_version (0 = empty database). Step i takes the
 * schema from version i to i+1; each runs in its own BEGIN IMMEDIATE
 * transaction together with the user_version bump, so a failed step leaves
 * the previous version intact. The version is re-read inside the transaction,
 * so several processes or handles migrating the same file at once apply each
 * step exactly once.
 *
 * Never edit a released step: append a new one and bump
 * VIGIL__STORE_SCHEMA_VERSION (store_int.h); postgres.c keeps a list with
 * the same versions. */
#include <stdio.h>

#include "store/sqlite_int.h"

static const char *const sq_migrations[] = {
    /* 1: cameras, frames, detections, events */
    "CREATE TABLE cameras ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  url TEXT NOT NULL DEFAULT '',"
    "  fps REAL NOT NULL DEFAULT 0,"
    "  enabled INTEGER NOT NULL DEFAULT 1,"
    "  status TEXT NOT NULL DEFAULT '',"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  updated_us INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE frames ("
    "  id INTEGER PRIMARY KEY,"
    "  camera_id TEXT NOT NULL,"
    "  sequence INTEGER NOT NULL,"
    "  capture_time_us INTEGER NOT NULL,"
    "  width INTEGER NOT NULL DEFAULT 0,"
    "  height INTEGER NOT NULL DEFAULT 0,"
    "  size_bytes INTEGER NOT NULL DEFAULT 0,"
    "  motion_score REAL NOT NULL DEFAULT 0,"
    "  keyframe INTEGER NOT NULL DEFAULT 0,"
    "  path TEXT NOT NULL,"
    "  UNIQUE (camera_id, sequence)"
    ");"
    "CREATE INDEX frames_camera_time ON frames (camera_id, capture_time_us);"
    "CREATE INDEX frames_time ON frames (capture_time_us);"
    /* frame_id is informative (NULL = unknown), not a foreign key: results
     * may arrive for frames this store never saw, and are swept with them */
    "CREATE TABLE detections ("
    "  id INTEGER PRIMARY KEY,"
    "  camera_id TEXT NOT NULL,"
    "  sequence INTEGER NOT NULL,"
    "  frame_id INTEGER,"
    "  capture_time_us INTEGER NOT NULL,"
    "  model TEXT NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  label TEXT NOT NULL,"
    "  score REAL NOT NULL,"
    "  x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,"
    "  UNIQUE (camera_id, sequence, model, idx)"
    ");"
    /* (camera_id) is (camera_id, id) to SQLite: "newest of camera X" pages
     * without sorting; (camera_id, capture_time_us) serves time ranges */
    "CREATE INDEX detections_camera ON detections (camera_id);"
    "CREATE INDEX detections_camera_time ON detections (camera_id, capture_time_us);"
    "CREATE INDEX detections_label ON detections (label);"
    "CREATE INDEX detections_time ON detections (capture_time_us);"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  camera_id TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  time_us INTEGER NOT NULL,"
    "  sequence INTEGER NOT NULL DEFAULT 0,"
    "  message TEXT NOT NULL DEFAULT '',"
    "  payload_json TEXT"
    ");"
    "CREATE INDEX events_camera_time ON events (camera_id, time_us);"
    "CREATE INDEX events_time ON events (time_us);",

    /* 2: analytics (docs/analytics.md): events, per-minute counts, track
     * points, checkpoints. Every write is an INSERT ... ON CONFLICT on the
     * natural key, so that PostgreSQL runs the same statements. */
    /* kind and direction are the names of analytics.h ("zone_enter", "in");
     * exactly one of zone and line is set (the other ''), which the events
     * query relies on to use analytics_events_camera_rule in time order;
     * snapshot_frame_id NULL = unknown, as detections.frame_id; end_us and
     * end_sequence 0 while open */
    "CREATE TABLE analytics_events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT," /* never reused: snapshots and clips are cached by id */
    "  camera_id TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  label TEXT NOT NULL DEFAULT '',"
    "  track_id INTEGER NOT NULL,"
    "  zone TEXT NOT NULL DEFAULT '',"
    "  line TEXT NOT NULL DEFAULT '',"
    "  direction TEXT NOT NULL DEFAULT '',"
    "  start_sequence INTEGER NOT NULL,"
    "  start_us INTEGER NOT NULL,"
    "  end_us INTEGER NOT NULL DEFAULT 0,"
    "  end_sequence INTEGER NOT NULL DEFAULT 0,"
    "  open INTEGER NOT NULL DEFAULT 0,"
    "  snapshot_frame_id INTEGER,"
    "  snapshot_sequence INTEGER NOT NULL DEFAULT 0,"
    "  peak_score REAL NOT NULL DEFAULT 0,"
    "  x1 REAL NOT NULL DEFAULT 0, y1 REAL NOT NULL DEFAULT 0,"
    "  x2 REAL NOT NULL DEFAULT 0, y2 REAL NOT NULL DEFAULT 0,"
    "  updated_sequence INTEGER NOT NULL,"
    "  reviewed INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (camera_id, kind, track_id, zone, line, start_sequence)"
    ");"
    /* newest first by (start_us, id): everything, one camera, one zone or
     * line of a camera (with the other '' so that the order is the index's);
     * kind and label (a handful of values each) are filtered on the way.
     * The sweep ranges over start_us too (an event ends after it starts). */
    "CREATE INDEX analytics_events_time ON analytics_events (start_us, id);"
    "CREATE INDEX analytics_events_camera_time ON analytics_events (camera_id, start_us, id);"
    "CREATE INDEX analytics_events_camera_rule ON analytics_events "
    "  (camera_id, zone, line, start_us, id);"
    /* counts are cumulative within the minute: a writer keeps the larger
     * value of each column; zone or line '' as in analytics_events */
    "CREATE TABLE analytics_counts ("
    "  camera_id TEXT NOT NULL,"
    "  minute_us INTEGER NOT NULL,"
    "  zone TEXT NOT NULL DEFAULT '',"
    "  line TEXT NOT NULL DEFAULT '',"
    "  label TEXT NOT NULL,"
    "  entered INTEGER NOT NULL DEFAULT 0,"
    "  peak INTEGER NOT NULL DEFAULT 0,"
    "  in_count INTEGER NOT NULL DEFAULT 0,"
    "  out_count INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (camera_id, minute_us, zone, line, label)"
    ") WITHOUT ROWID;"
    /* queries and sweeps of every camera by time (one camera: the key) */
    "CREATE INDEX analytics_counts_minute ON analytics_counts (minute_us);"
    /* the most written table: WITHOUT ROWID so that the key is the table
     * (one b-tree less per point); frame_id NULL = unknown */
    "CREATE TABLE track_points ("
    "  camera_id TEXT NOT NULL,"
    "  track_id INTEGER NOT NULL,"
    "  sequence INTEGER NOT NULL,"
    "  time_us INTEGER NOT NULL,"
    "  frame_id INTEGER,"
    "  label TEXT NOT NULL DEFAULT '',"
    "  score REAL NOT NULL DEFAULT 0,"
    "  x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,"
    "  PRIMARY KEY (camera_id, track_id, sequence)"
    ") WITHOUT ROWID;"
    /* sweeps: one camera, and every camera */
    "CREATE INDEX track_points_camera_time ON track_points (camera_id, time_us);"
    "CREATE INDEX track_points_time ON track_points (time_us);"
    "CREATE TABLE analytics_state ("
    "  camera_id TEXT PRIMARY KEY,"
    "  last_sequence INTEGER NOT NULL,"
    "  updated_us INTEGER NOT NULL,"
    "  state BLOB NOT NULL"
    ");",

    /* 3: frame and detection ids are never reused, and frames know whether
     * their results are in (docs/architecture.md, "Delivery").
     * Without AUTOINCREMENT SQLite hands out max(id) + 1, so once retention
     * had emptied a table its ids came again, while frames are served
     * `immutable` for a year and ids are page cursors. SQLite cannot add
     * AUTOINCREMENT to a table, so both are rebuilt, keeping every row with
     * its id (sqlite_sequence starts at the largest) and the same indexes.
     * frames.detection_count: how many detections the frame's inference
     * found, written with them by the sink; NULL = stored but not processed
     * yet, which `vigil run` sends to infer again at start-up (a kill -9
     * loses what its in-process bus held). Frames stored before this step
     * count as processed: they get the number of their rows. */
    "CREATE TABLE frames_v3 ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  camera_id TEXT NOT NULL,"
    "  sequence INTEGER NOT NULL,"
    "  capture_time_us INTEGER NOT NULL,"
    "  width INTEGER NOT NULL DEFAULT 0,"
    "  height INTEGER NOT NULL DEFAULT 0,"
    "  size_bytes INTEGER NOT NULL DEFAULT 0,"
    "  motion_score REAL NOT NULL DEFAULT 0,"
    "  keyframe INTEGER NOT NULL DEFAULT 0,"
    "  path TEXT NOT NULL,"
    "  detection_count INTEGER,"
    "  UNIQUE (camera_id, sequence)"
    ");"
    "INSERT INTO frames_v3 (id, camera_id, sequence, capture_time_us, width, height, size_bytes,"
    "  motion_score, keyframe, path, detection_count) "
    "SELECT id, camera_id, sequence, capture_time_us, width, height, size_bytes, motion_score,"
    "  keyframe, path, (SELECT count(*) FROM detections d"
    "  WHERE d.camera_id = f.camera_id AND d.sequence = f.sequence) "
    "FROM frames f ORDER BY id;"
    "DROP TABLE frames;"
    "ALTER TABLE frames_v3 RENAME TO frames;"
    "CREATE INDEX frames_camera_time ON frames (camera_id, capture_time_us);"
    "CREATE INDEX frames_time ON frames (capture_time_us);"
    /* start-up looks for the few frames not processed, in id order */
    "CREATE INDEX frames_unprocessed ON frames (id) WHERE detection_count IS NULL;"
    "CREATE TABLE detections_v3 ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  camera_id TEXT NOT NULL,"
    "  sequence INTEGER NOT NULL,"
    "  frame_id INTEGER,"
    "  capture_time_us INTEGER NOT NULL,"
    "  model TEXT NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  label TEXT NOT NULL,"
    "  score REAL NOT NULL,"
    "  x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,"
    "  UNIQUE (camera_id, sequence, model, idx)"
    ");"
    "INSERT INTO detections_v3 (id, camera_id, sequence, frame_id, capture_time_us, model, idx,"
    "  label, score, x1, y1, x2, y2) "
    "SELECT id, camera_id, sequence, frame_id, capture_time_us, model, idx, label, score,"
    "  x1, y1, x2, y2 FROM detections ORDER BY id;"
    "DROP TABLE detections;"
    "ALTER TABLE detections_v3 RENAME TO detections;"
    "CREATE INDEX detections_camera ON detections (camera_id);"
    "CREATE INDEX detections_camera_time ON detections (camera_id, capture_time_us);"
    "CREATE INDEX detections_label ON detections (label);"
    "CREATE INDEX detections_time ON detections (capture_time_us);",

    /* 4: accounts (vigil/auth.h, docs/security.md "Accounts"). Secrets only
     * hashed: users.password_hash is an Argon2id string; sid_hash,
     * token_hash and challenge_hash are SHA-256 hex. Ids AUTOINCREMENT:
     * never reused, since a deleted user's or token's id must not come back
     * to someone else. A user's rows go with it (ON DELETE CASCADE, and
     * user_delete deletes them explicitly too); every child table is indexed
     * by user_id for that and for the per-user lists. role: 1 viewer,
     * 2 operator, 3 admin (vigil_role_t). Times in microseconds; expires_us
     * 0 = never (tokens). */
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL UNIQUE,"
    "  role INTEGER NOT NULL CHECK (role BETWEEN 1 AND 3),"
    "  password_hash TEXT NOT NULL,"
    "  created_us INTEGER NOT NULL,"
    "  failed_logins INTEGER NOT NULL DEFAULT 0,"
    "  lock_count INTEGER NOT NULL DEFAULT 0,"
    "  locked_until_us INTEGER NOT NULL DEFAULT 0"
    ");"
    /* last admin checks count admins */
    "CREATE INDEX users_role ON users (role);"
    "CREATE TABLE sessions ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    "  sid_hash TEXT NOT NULL UNIQUE,"
    "  csrf TEXT NOT NULL,"
    "  created_us INTEGER NOT NULL,"
    "  last_seen_us INTEGER NOT NULL,"
    "  expires_us INTEGER NOT NULL,"
    "  client_ip TEXT NOT NULL DEFAULT '',"
    "  user_agent TEXT NOT NULL DEFAULT ''"
    ");"
    "CREATE INDEX sessions_user ON sessions (user_id);"
    "CREATE INDEX sessions_expires ON sessions (expires_us);"
    "CREATE TABLE api_tokens ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  prefix TEXT NOT NULL,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  write_scope INTEGER NOT NULL DEFAULT 0,"
    "  created_us INTEGER NOT NULL,"
    "  expires_us INTEGER NOT NULL DEFAULT 0,"
    "  last_used_us INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX api_tokens_user ON api_tokens (user_id);"
    "CREATE TABLE passkeys ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  cred_id BLOB NOT NULL UNIQUE,"
    "  cose_key BLOB NOT NULL,"
    "  sign_count INTEGER NOT NULL DEFAULT 0,"
    "  created_us INTEGER NOT NULL,"
    "  last_used_us INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX passkeys_user ON passkeys (user_id);"
    /* user_id NULL = none (a login before the user is known, the setup
     * token); take() finds by (purpose, challenge_hash) */
    "CREATE TABLE challenges ("
    "  id INTEGER PRIMARY KEY,"
    "  purpose TEXT NOT NULL,"
    "  challenge_hash TEXT NOT NULL,"
    "  user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,"
    "  created_us INTEGER NOT NULL,"
    "  expires_us INTEGER NOT NULL,"
    "  UNIQUE (purpose, challenge_hash)"
    ");"
    "CREATE INDEX challenges_user ON challenges (user_id);"
    "CREATE INDEX challenges_expires ON challenges (expires_us);"
    /* names the user (not its id) so that a row outlives it; newest first
     * by id (the key) */
    "CREATE TABLE audit_log ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  time_us INTEGER NOT NULL,"
    "  user_name TEXT NOT NULL DEFAULT '',"
    "  client_ip TEXT NOT NULL DEFAULT '',"
    "  action TEXT NOT NULL,"
    "  target TEXT NOT NULL DEFAULT '',"
    "  detail TEXT"
    ");",

    /* 5: the API's resources (store.h, "resources"). cameras: origin 'api'
     * for the cameras the API manages (else '': the configuration's, or
     * seen on the bus), source_url their URL with its credentials (only
     * theirs: the configuration has its own), retention_hours (-1 = the
     * store's), removed (an API camera deleted: kept so that a late status
     * event does not bring it back; the list skips it). camera_rules: the
     * rule set the API gave a camera, with a version for ETag/If-Match.
     * analytics_events: who marked an event reviewed, and when; the
     * unreviewed ones, newest first, have an index of their own (the
     * dashboard's inbox). */
    "ALTER TABLE cameras ADD COLUMN origin TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE cameras ADD COLUMN source_url TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE cameras ADD COLUMN retention_hours REAL NOT NULL DEFAULT -1;"
    "ALTER TABLE cameras ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE cameras ADD COLUMN created_us INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE camera_rules ("
    "  camera_id TEXT PRIMARY KEY,"
    "  version INTEGER NOT NULL,"
    "  rules_json TEXT NOT NULL,"
    "  updated_us INTEGER NOT NULL,"
    "  updated_by TEXT NOT NULL DEFAULT ''"
    ");"
    "ALTER TABLE analytics_events ADD COLUMN reviewed_us INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE analytics_events ADD COLUMN reviewed_by TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX analytics_events_unreviewed ON analytics_events (start_us, id) "
    "  WHERE reviewed = 0;",

    /* 6: Web Push subscriptions (store.h, "push subscriptions"; docs/push.md):
     * a browser's endpoint (unique: the same browser subscribing again
     * replaces its row), its keys (base64url) and the user's filters. */
    "CREATE TABLE push_subscriptions ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  user_id INTEGER NOT NULL,"
    "  endpoint TEXT NOT NULL UNIQUE,"
    "  p256dh TEXT NOT NULL,"
    "  auth TEXT NOT NULL,"
    "  filters TEXT NOT NULL DEFAULT '{}',"
    "  created_us INTEGER NOT NULL"
    ");"
    "CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id, id);",

    /* 7: retention by size (store.h, "retention by size"; docs/warehouse.md).
     * frame_usage: frames and bytes (sum of size_bytes) per camera, kept by
     * triggers on every insert, delete and size change of a frame row, so
     * that the budget check reads a handful of rows instead of summing the
     * frames. analytics_events_snapshot: the sweep asks, per frame it would
     * delete, whether an event keeps it as its snapshot. */
    "CREATE TABLE frame_usage ("
    "  camera_id TEXT PRIMARY KEY,"
    "  frames INTEGER NOT NULL DEFAULT 0,"
    "  bytes INTEGER NOT NULL DEFAULT 0"
    ");"
    "INSERT INTO frame_usage (camera_id, frames, bytes) "
    "  SELECT camera_id, count(*), coalesce(sum(size_bytes), 0) FROM frames GROUP BY camera_id;"
    "CREATE TRIGGER frames_usage_insert AFTER INSERT ON frames BEGIN"
    "  INSERT INTO frame_usage (camera_id, frames, bytes) VALUES (new.camera_id, 1, new.size_bytes)"
    "  ON CONFLICT (camera_id) DO UPDATE SET frames = frames + 1, bytes = bytes + excluded.bytes;"
    " END;"
    "CREATE TRIGGER frames_usage_delete AFTER DELETE ON frames BEGIN"
    "  UPDATE frame_usage SET frames = frames - 1, bytes = bytes - old.size_bytes"
    "  WHERE camera_id = old.camera_id;"
    " END;"
    "CREATE TRIGGER frames_usage_update AFTER UPDATE OF camera_id, size_bytes ON frames BEGIN"
    "  UPDATE frame_usage SET frames = frames - 1, bytes = bytes - old.size_bytes"
    "  WHERE camera_id = old.camera_id;"
    "  INSERT INTO frame_usage (camera_id, frames, bytes) VALUES (new.camera_id, 1, new.size_bytes)"
    "  ON CONFLICT (camera_id) DO UPDATE SET frames = frames + 1, bytes = bytes + excluded.bytes;"
    " END;"
    "CREATE INDEX analytics_events_snapshot ON analytics_events (snapshot_frame_id) "
    "  WHERE snapshot_frame_id IS NOT NULL;",
};

_Static_assert(sizeof(sq_migrations) / sizeof(sq_migrations[0]) == VIGIL__STORE_SCHEMA_VERSION,
               "one sqlite migration per schema version");

const char *vigil__sq_migration_sql(int version)
{
    return version >= 1 && version <= VIGIL__STORE_SCHEMA_VERSION ? sq_migrations[version - 1]
                                                                   : NULL;
}

/* Reads PRAGMA user_version; -1 on error (message in errbuf). */
static int sq_read_version(vigil__sqlite_t *sq)
{
    sqlite3_stmt *st = vigil__sq_stmt(sq, SQ_USER_VERSION);
    if (!st) return -1;
    int rc = sqlite3_step(st);
    int v = -1;
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    else
        vigil__sq_error(sq, rc, "read schema version", NULL, 0);
    sqlite3_reset(st);
    return v;
}

int vigil__sq_schema_version(vigil_store_t *store)
{
    return sq_read_version(vigil__sq(store));
}

vigil_err_t vigil__sq_migrate(vigil_store_t *store, int *from, int *to, char *errstr,
                              size_t errstr_size)
{
    vigil__sqlite_t *sq = vigil__sq(store);
    const int want = VIGIL__STORE_SCHEMA_VERSION;
    char *msg = NULL;
    vigil_err_t err = VIGIL_OK;
    int v = sq_read_version(sq);
    if (v < 0) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_STORE, "%s", store->errbuf);
        goto out;
    }
    if (from) *from = v;
    if (v > want) {
        err = vigil__store_version_error(v, errstr, errstr_size);
        goto out;
    }
    while (v < want) {
        int rc = vigil__sq_begin(sq);
        if (rc != SQLITE_OK) {
            err = vigil__sq_error(sq, rc, "begin migration", errstr, errstr_size);
            goto out;
        }
        int cur = sq_read_version(sq);
        if (cur < 0 || cur > want) {
            vigil__sq_rollback(sq);
            err = cur < 0 ? vigil_seterr(errstr, errstr_size, VIGIL_ERR_STORE, "%s", store->errbuf)
                          : vigil__store_version_error(cur, errstr, errstr_size);
            goto out;
        }
        if (cur < want) {
            char bump[64];
            snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", cur + 1);
            rc = sqlite3_exec(sq->db, sq_migrations[cur], NULL, NULL, &msg);
            if (rc == SQLITE_OK) rc = sqlite3_exec(sq->db, bump, NULL, NULL, &msg);
            if (rc != SQLITE_OK) {
                vigil__sq_rollback(sq);
                err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_STORE,
                                   "sqlite %s: migration to schema version %d failed: %s",
                                   sq->path, cur + 1, msg ? msg : sqlite3_errstr(rc));
                goto out;
            }
        }
        rc = vigil__sq_commit(sq);
        if (rc != SQLITE_OK) {
            vigil__sq_rollback(sq);
            err = vigil__sq_error(sq, rc, "commit migration", errstr, errstr_size);
            goto out;
        }
        v = cur < want ? cur + 1 : cur;
    }
out:
    sqlite3_free(msg);
    if (to) *to = err == VIGIL_OK ? v : sq_read_version(sq);
    return err;
}
