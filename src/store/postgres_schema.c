/* The PostgreSQL schema as an ordered list of migrations, and the code that
 * applies them.
 *
 * The same steps as sqlite_schema.c (VIGIL__STORE_SCHEMA_VERSION of them),
 * the same tables and columns, in PostgreSQL's types: BIGINT times, ids and
 * counters, DOUBLE PRECISION reals, TEXT, BYTEA blobs, and bigserial ids
 * (a sequence: never reused, also after retention emptied a table; step 3,
 * which rebuilds SQLite's tables for AUTOINCREMENT, only adds a column here).
 *
 * The five tables that grow with time -- frames, detections, events,
 * track_points and analytics_counts -- are partitioned by range of their
 * time column (one partition per UTC day, made by postgres_partitions.c
 * before rows of a new day are written), so that retention drops whole
 * days instead of deleting rows one by one (docs/warehouse.md). PostgreSQL
 * wants the partition key in every unique constraint, so those keys carry
 * the time column: (camera, sequence, capture time) for frames, (camera,
 * sequence, model, idx, capture time) for detections. A redelivered row
 * carries the same time, so ON CONFLICT still makes every write idempotent.
 *
 * The version is the one row of vigil_schema (no table = version 0). Each
 * step runs in its own transaction, which first takes a transaction-level
 * advisory lock and reads the version again, so that several processes
 * starting at once apply each step exactly once; a failed step leaves the
 * previous version intact. A database with a newer version is refused.
 *
 * Never edit a released step: append a new one and bump
 * VIGIL__STORE_SCHEMA_VERSION (store_int.h) with sqlite_schema.c. */
#include <stdio.h>
#include <stdlib.h>

#include "store/postgres_int.h"

/* pg_advisory_xact_lock key of migrations: "vigil" in ASCII (0x766967696c). */
#define PG_MIGRATE_LOCK "508574525804"

static const char *const pg_migrations[] = {
    /* 1: cameras, frames, detections, events */
    "CREATE TABLE vigil_schema (version INTEGER NOT NULL);"
    "INSERT INTO vigil_schema VALUES (0);"
    "CREATE TABLE cameras ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  url TEXT NOT NULL DEFAULT '',"
    "  fps DOUBLE PRECISION NOT NULL DEFAULT 0,"
    "  enabled INTEGER NOT NULL DEFAULT 1,"
    "  status TEXT NOT NULL DEFAULT '',"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  updated_us BIGINT NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE frames ("
    "  id BIGSERIAL NOT NULL,"
    "  camera_id TEXT NOT NULL,"
    "  sequence BIGINT NOT NULL,"
    "  capture_time_us BIGINT NOT NULL,"
    "  width INTEGER NOT NULL DEFAULT 0,"
    "  height INTEGER NOT NULL DEFAULT 0,"
    "  size_bytes BIGINT NOT NULL DEFAULT 0,"
    "  motion_score DOUBLE PRECISION NOT NULL DEFAULT 0,"
    "  keyframe INTEGER NOT NULL DEFAULT 0,"
    "  path TEXT NOT NULL,"
    "  PRIMARY KEY (id, capture_time_us),"
    /* frame_lookup (camera, sequence) is its prefix */
    "  UNIQUE (camera_id, sequence, capture_time_us)"
    ") PARTITION BY RANGE (capture_time_us);"
    "CREATE INDEX frames_camera_time ON frames (camera_id, capture_time_us, id);"
    "CREATE INDEX frames_time ON frames (capture_time_us);"
    /* frame_id is informative (NULL = unknown), not a foreign key */
    "CREATE TABLE detections ("
    "  id BIGSERIAL NOT NULL,"
    "  camera_id TEXT NOT NULL,"
    "  sequence BIGINT NOT NULL,"
    "  frame_id BIGINT,"
    "  capture_time_us BIGINT NOT NULL,"
    "  model TEXT NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  label TEXT NOT NULL,"
    "  score DOUBLE PRECISION NOT NULL,"
    "  x1 DOUBLE PRECISION NOT NULL, y1 DOUBLE PRECISION NOT NULL,"
    "  x2 DOUBLE PRECISION NOT NULL, y2 DOUBLE PRECISION NOT NULL,"
    "  PRIMARY KEY (id, capture_time_us),"
    "  UNIQUE (camera_id, sequence, model, idx, capture_time_us)"
    ") PARTITION BY RANGE (capture_time_us);"
    /* newest first (id DESC) of everything, of a camera, of a label: each
     * partition's index hands rows in id order and a Merge Append keeps it;
     * (camera, time) and (time) serve time ranges and sweeps */
    "CREATE INDEX detections_camera ON detections (camera_id, id);"
    "CREATE INDEX detections_camera_time ON detections (camera_id, capture_time_us);"
    "CREATE INDEX detections_label ON detections (label, id);"
    "CREATE INDEX detections_time ON detections (capture_time_us);"
    "CREATE TABLE events ("
    "  id BIGSERIAL NOT NULL,"
    "  camera_id TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  time_us BIGINT NOT NULL,"
    "  sequence BIGINT NOT NULL DEFAULT 0,"
    "  message TEXT NOT NULL DEFAULT '',"
    "  payload_json TEXT,"
    "  PRIMARY KEY (id, time_us)"
    ") PARTITION BY RANGE (time_us);"
    "CREATE INDEX events_camera_time ON events (camera_id, time_us);"
    "CREATE INDEX events_time ON events (time_us);",

    /* 2: analytics (docs/analytics.md): events, per-minute counts, track
     * points, checkpoints. analytics_events is not partitioned: an event is
     * upserted by its key for as long as it is open, keeps its id, and is
     * swept by when it ended, not by a time the partition key could hold. */
    "CREATE TABLE analytics_events ("
    "  id BIGSERIAL PRIMARY KEY," /* never reused: snapshots and clips are cached by id */
    "  camera_id TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  label TEXT NOT NULL DEFAULT '',"
    "  track_id BIGINT NOT NULL,"
    "  zone TEXT NOT NULL DEFAULT '',"
    "  line TEXT NOT NULL DEFAULT '',"
    "  direction TEXT NOT NULL DEFAULT '',"
    "  start_sequence BIGINT NOT NULL,"
    "  start_us BIGINT NOT NULL,"
    "  end_us BIGINT NOT NULL DEFAULT 0,"
    "  end_sequence BIGINT NOT NULL DEFAULT 0,"
    "  open INTEGER NOT NULL DEFAULT 0,"
    "  snapshot_frame_id BIGINT,"
    "  snapshot_sequence BIGINT NOT NULL DEFAULT 0,"
    "  peak_score DOUBLE PRECISION NOT NULL DEFAULT 0,"
    "  x1 DOUBLE PRECISION NOT NULL DEFAULT 0, y1 DOUBLE PRECISION NOT NULL DEFAULT 0,"
    "  x2 DOUBLE PRECISION NOT NULL DEFAULT 0, y2 DOUBLE PRECISION NOT NULL DEFAULT 0,"
    "  updated_sequence BIGINT NOT NULL,"
    "  reviewed INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (camera_id, kind, track_id, zone, line, start_sequence)"
    ");"
    "CREATE INDEX analytics_events_time ON analytics_events (start_us, id);"
    "CREATE INDEX analytics_events_camera_time ON analytics_events (camera_id, start_us, id);"
    "CREATE INDEX analytics_events_camera_rule ON analytics_events "
    "  (camera_id, zone, line, start_us, id);"
    /* the sweep of closed events by when they ended */
    "CREATE INDEX analytics_events_closed_end ON analytics_events (end_us) WHERE open = 0;"
    "CREATE TABLE analytics_counts ("
    "  camera_id TEXT NOT NULL,"
    "  minute_us BIGINT NOT NULL,"
    "  zone TEXT NOT NULL DEFAULT '',"
    "  line TEXT NOT NULL DEFAULT '',"
    "  label TEXT NOT NULL,"
    "  entered BIGINT NOT NULL DEFAULT 0,"
    "  peak BIGINT NOT NULL DEFAULT 0,"
    "  in_count BIGINT NOT NULL DEFAULT 0,"
    "  out_count BIGINT NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (camera_id, minute_us, zone, line, label)"
    ") PARTITION BY RANGE (minute_us);"
    "CREATE INDEX analytics_counts_minute ON analytics_counts (minute_us);"
    "CREATE TABLE track_points ("
    "  camera_id TEXT NOT NULL,"
    "  track_id BIGINT NOT NULL,"
    "  sequence BIGINT NOT NULL,"
    "  time_us BIGINT NOT NULL,"
    "  frame_id BIGINT,"
    "  label TEXT NOT NULL DEFAULT '',"
    "  score DOUBLE PRECISION NOT NULL DEFAULT 0,"
    "  x1 DOUBLE PRECISION NOT NULL, y1 DOUBLE PRECISION NOT NULL,"
    "  x2 DOUBLE PRECISION NOT NULL, y2 DOUBLE PRECISION NOT NULL,"
    "  PRIMARY KEY (camera_id, track_id, sequence, time_us)"
    ") PARTITION BY RANGE (time_us);"
    "CREATE INDEX track_points_camera_time ON track_points (camera_id, time_us);"
    "CREATE INDEX track_points_time ON track_points (time_us);"
    "CREATE TABLE analytics_state ("
    "  camera_id TEXT PRIMARY KEY,"
    "  last_sequence BIGINT NOT NULL,"
    "  updated_us BIGINT NOT NULL,"
    "  state BYTEA NOT NULL"
    ");",

    /* 3: frames know whether their results are in (docs/architecture.md,
     * "Delivery"): detection_count NULL = stored but not processed. Frames
     * stored before this step count as processed. (Ids are bigserial from
     * step 1: never reused, nothing to rebuild.) */
    "ALTER TABLE frames ADD COLUMN detection_count BIGINT;"
    "UPDATE frames f SET detection_count = (SELECT count(*) FROM detections d"
    "  WHERE d.camera_id = f.camera_id AND d.sequence = f.sequence);"
    "CREATE INDEX frames_unprocessed ON frames (id) WHERE detection_count IS NULL;",

    /* 4: accounts (vigil/auth.h, docs/security.md "Accounts"), as
     * sqlite_schema.c step 4: secrets only hashed, ids never reused, a
     * user's rows go with it. role: 1 viewer, 2 operator, 3 admin. */
    "CREATE TABLE users ("
    "  id BIGSERIAL PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  role INTEGER NOT NULL CHECK (role BETWEEN 1 AND 3),"
    "  password_hash TEXT NOT NULL,"
    "  created_us BIGINT NOT NULL,"
    "  failed_logins BIGINT NOT NULL DEFAULT 0,"
    "  lock_count BIGINT NOT NULL DEFAULT 0,"
    "  locked_until_us BIGINT NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX users_role ON users (role);"
    "CREATE TABLE sessions ("
    "  id BIGSERIAL PRIMARY KEY,"
    "  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    "  sid_hash TEXT NOT NULL UNIQUE,"
    "  csrf TEXT NOT NULL,"
    "  created_us BIGINT NOT NULL,"
    "  last_seen_us BIGINT NOT NULL,"
    "  expires_us BIGINT NOT NULL,"
    "  client_ip TEXT NOT NULL DEFAULT '',"
    "  user_agent TEXT NOT NULL DEFAULT ''"
    ");"
    "CREATE INDEX sessions_user ON sessions (user_id);"
    "CREATE INDEX sessions_expires ON sessions (expires_us);"
    "CREATE TABLE api_tokens ("
    "  id BIGSERIAL PRIMARY KEY,"
    "  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  prefix TEXT NOT NULL,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  write_scope INTEGER NOT NULL DEFAULT 0,"
    "  created_us BIGINT NOT NULL,"
    "  expires_us BIGINT NOT NULL DEFAULT 0,"
    "  last_used_us BIGINT NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX api_tokens_user ON api_tokens (user_id);"
    "CREATE TABLE passkeys ("
    "  id BIGSERIAL PRIMARY KEY,"
    "  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  cred_id BYTEA NOT NULL UNIQUE,"
    "  cose_key BYTEA NOT NULL,"
    "  sign_count BIGINT NOT NULL DEFAULT 0,"
    "  created_us BIGINT NOT NULL,"
    "  last_used_us BIGINT NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX passkeys_user ON passkeys (user_id);"
    "CREATE TABLE challenges ("
    "  id BIGSERIAL PRIMARY KEY,"
    "  purpose TEXT NOT NULL,"
    "  challenge_hash TEXT NOT NULL,"
    "  user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,"
    "  created_us BIGINT NOT NULL,"
    "  expires_us BIGINT NOT NULL,"
    "  UNIQUE (purpose, challenge_hash)"
    ");"
    "CREATE INDEX challenges_user ON challenges (user_id);"
    "CREATE INDEX challenges_expires ON challenges (expires_us);"
    "CREATE TABLE audit_log ("
    "  id BIGSERIAL PRIMARY KEY,"
    "  time_us BIGINT NOT NULL,"
    "  user_name TEXT NOT NULL DEFAULT '',"
    "  client_ip TEXT NOT NULL DEFAULT '',"
    "  action TEXT NOT NULL,"
    "  target TEXT NOT NULL DEFAULT '',"
    "  detail TEXT"
    ");",

    /* 5: the API's resources (store.h, "resources"), as sqlite_schema.c
     * step 5. */
    "ALTER TABLE cameras ADD COLUMN origin TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE cameras ADD COLUMN source_url TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE cameras ADD COLUMN retention_hours DOUBLE PRECISION NOT NULL DEFAULT -1;"
    "ALTER TABLE cameras ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE cameras ADD COLUMN created_us BIGINT NOT NULL DEFAULT 0;"
    "CREATE TABLE camera_rules ("
    "  camera_id TEXT PRIMARY KEY,"
    "  version BIGINT NOT NULL,"
    "  rules_json TEXT NOT NULL,"
    "  updated_us BIGINT NOT NULL,"
    "  updated_by TEXT NOT NULL DEFAULT ''"
    ");"
    "ALTER TABLE analytics_events ADD COLUMN reviewed_us BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE analytics_events ADD COLUMN reviewed_by TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX analytics_events_unreviewed ON analytics_events (start_us, id) "
    "  WHERE reviewed = 0;",

    /* 6: Web Push subscriptions (store.h, "push subscriptions"). */
    "CREATE TABLE push_subscriptions ("
    "  id BIGSERIAL PRIMARY KEY,"
    "  user_id BIGINT NOT NULL,"
    "  endpoint TEXT NOT NULL UNIQUE,"
    "  p256dh TEXT NOT NULL,"
    "  auth TEXT NOT NULL,"
    "  filters TEXT NOT NULL DEFAULT '{}',"
    "  created_us BIGINT NOT NULL"
    ");"
    "CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id, id);",

    /* 7: retention by size (store.h, "retention by size"), as
     * sqlite_schema.c step 7: frame_usage (frames and bytes per camera) kept
     * by a row trigger on frames (PostgreSQL clones it onto every partition;
     * only emptied frame partitions are dropped, so no row leaves unseen),
     * and the index of event snapshots. */
    "CREATE TABLE frame_usage ("
    "  camera_id TEXT PRIMARY KEY,"
    "  frames BIGINT NOT NULL DEFAULT 0,"
    "  bytes BIGINT NOT NULL DEFAULT 0"
    ");"
    "INSERT INTO frame_usage (camera_id, frames, bytes) "
    "  SELECT camera_id, count(*), coalesce(sum(size_bytes), 0) FROM frames GROUP BY camera_id;"
    "CREATE FUNCTION vigil_frames_usage() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    "  IF TG_OP IN ('DELETE', 'UPDATE') THEN"
    "    UPDATE frame_usage SET frames = frames - 1, bytes = bytes - OLD.size_bytes"
    "    WHERE camera_id = OLD.camera_id;"
    "  END IF;"
    "  IF TG_OP IN ('INSERT', 'UPDATE') THEN"
    "    INSERT INTO frame_usage (camera_id, frames, bytes) VALUES (NEW.camera_id, 1, NEW.size_bytes)"
    "    ON CONFLICT (camera_id) DO UPDATE SET frames = frame_usage.frames + 1,"
    "    bytes = frame_usage.bytes + excluded.bytes;"
    "  END IF;"
    "  RETURN NULL;"
    " END $$;"
    "CREATE TRIGGER frames_usage AFTER INSERT OR DELETE OR UPDATE OF camera_id, size_bytes "
    "  ON frames FOR EACH ROW EXECUTE FUNCTION vigil_frames_usage();"
    "CREATE INDEX analytics_events_snapshot ON analytics_events (snapshot_frame_id) "
    "  WHERE snapshot_frame_id IS NOT NULL;",
};

_Static_assert(sizeof(pg_migrations) / sizeof(pg_migrations[0]) == VIGIL__STORE_SCHEMA_VERSION,
               "one postgres migration per schema version");

const char *vigil__pg_migration_sql(int version)
{
    return version >= 1 && version <= VIGIL__STORE_SCHEMA_VERSION ? pg_migrations[version - 1]
                                                                   : NULL;
}

int vigil__pg_read_version(vigil__pg_t *pg, char *errstr, size_t errstr_size)
{
    /* two statements: a query naming a missing table fails at parse time */
    PGresult *res = vigil__pg_exec(pg, "SELECT to_regclass('vigil_schema') IS NOT NULL", NULL,
                                   "read schema version", NULL, errstr, errstr_size);
    if (!res) return -1;
    int exists = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!exists) return 0;
    res = vigil__pg_exec(pg, "SELECT max(version) FROM vigil_schema", NULL,
                         "read schema version", NULL, errstr, errstr_size);
    if (!res) return -1;
    int v = PQntuples(res) == 1 ? (int)vigil__pg_int64(res, 0, 0) : 0;
    PQclear(res);
    return v;
}

int vigil__pg_schema_version(vigil_store_t *store)
{
    return vigil__pg_read_version(vigil__pg(store), NULL, 0);
}

vigil_err_t vigil__pg_migrate(vigil_store_t *store, int *from, int *to, char *errstr,
                              size_t errstr_size)
{
    vigil__pg_t *pg = vigil__pg(store);
    const int want = VIGIL__STORE_SCHEMA_VERSION;
    vigil_err_t err = VIGIL_OK;
    int v = vigil__pg_read_version(pg, errstr, errstr_size);
    if (v < 0) return vigil__pg_sqlstate_err(pg->sqlstate);
    if (from) *from = v;
    if (v > want) {
        char msg[256];
        err = vigil__store_version_error(v, msg, sizeof(msg));
        vigil__pg_error(pg, err, errstr, errstr_size, "%s", msg);
        goto out;
    }
    while (v < want) {
        if ((err = vigil__pg_begin(pg, errstr, errstr_size))) goto out;
        err = vigil__pg_command(pg, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")",
                                "lock for migration", errstr, errstr_size);
        int cur = err == VIGIL_OK ? vigil__pg_read_version(pg, errstr, errstr_size) : -1;
        if (cur < 0 || cur > want) {
            vigil__pg_rollback(pg);
            if (cur > want) {
                char msg[256];
                err = vigil__store_version_error(cur, msg, sizeof(msg));
                vigil__pg_error(pg, err, errstr, errstr_size, "%s", msg);
            } else if (err == VIGIL_OK) {
                err = vigil__pg_sqlstate_err(pg->sqlstate);
            }
            goto out;
        }
        if (cur < want) {
            char what[64], bump[96];
            snprintf(what, sizeof(what), "migration to schema version %d", cur + 1);
            snprintf(bump, sizeof(bump), "UPDATE vigil_schema SET version = %d", cur + 1);
            err = vigil__pg_command(pg, pg_migrations[cur], what, errstr, errstr_size);
            if (err == VIGIL_OK) err = vigil__pg_command(pg, bump, what, errstr, errstr_size);
            if (err != VIGIL_OK) {
                vigil__pg_rollback(pg);
                goto out;
            }
        }
        if ((err = vigil__pg_commit(pg, errstr, errstr_size))) goto out;
        v = cur < want ? cur + 1 : cur;
    }
out:
    if (to) *to = err == VIGIL_OK ? v : vigil__pg_read_version(pg, NULL, 0);
    return err;
}
