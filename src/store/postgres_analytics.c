/* Analytics in PostgreSQL: the commit of the analytics stage, the reads of
 * the API (events, counts, track points, checkpoints) and the sweep of
 * closed events; the same statements as sqlite_analytics.c (max() spelled
 * GREATEST(), numbered parameters), whose comment says what each write
 * keeps:
 *   events  the report with the larger updated_sequence wins;
 *   counts  each column keeps the larger of stored and given;
 *   points  an existing (camera, track, sequence, time) is skipped;
 *   state   replaced only by a larger last_sequence.
 * One transaction per commit, every statement prepared once per
 * connection. track_points and analytics_counts are partitioned by day
 * (postgres_partitions.c): the days of a commit's points and minutes get
 * their partitions before the transaction opens.
 *
 * Thread: the handle's thread. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_int.h"

enum {
    PGA_EVENT_UPSERT = VIGIL__PG_SLOTS_ANALYTICS,
    PGA_POINT_INSERT,
    PGA_COUNT_UPSERT,
    PGA_STATE_UPSERT,
    PGA_STATE_GET,
    PGA_MAX_TRACK,
    PGA_EVENT_GET,
    PGA_TRACK_POINTS,
};

static const char pga_event_upsert[] =
    "INSERT INTO analytics_events (camera_id, kind, label, track_id, zone, line, direction, "
    "start_sequence, start_us, end_us, end_sequence, open, snapshot_frame_id, "
    "snapshot_sequence, peak_score, x1, y1, x2, y2, updated_sequence) VALUES ($1, $2, $3, $4, "
    "$5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) "
    "ON CONFLICT (camera_id, kind, track_id, zone, line, start_sequence) DO UPDATE SET "
    "label = excluded.label, direction = excluded.direction, start_us = excluded.start_us, "
    "end_us = excluded.end_us, end_sequence = excluded.end_sequence, open = excluded.open, "
    "snapshot_frame_id = excluded.snapshot_frame_id, "
    "snapshot_sequence = excluded.snapshot_sequence, peak_score = excluded.peak_score, "
    "x1 = excluded.x1, y1 = excluded.y1, x2 = excluded.x2, y2 = excluded.y2, "
    "updated_sequence = excluded.updated_sequence "
    "WHERE excluded.updated_sequence >= analytics_events.updated_sequence";

static const char pga_point_insert[] =
    "INSERT INTO track_points (camera_id, track_id, sequence, time_us, frame_id, label, "
    "score, x1, y1, x2, y2) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
    "ON CONFLICT (camera_id, track_id, sequence, time_us) DO NOTHING";

static const char pga_count_upsert[] =
    "INSERT INTO analytics_counts (camera_id, minute_us, zone, line, label, entered, peak, "
    "in_count, out_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
    "ON CONFLICT (camera_id, minute_us, zone, line, label) DO UPDATE SET "
    "entered = GREATEST(analytics_counts.entered, excluded.entered), "
    "peak = GREATEST(analytics_counts.peak, excluded.peak), "
    "in_count = GREATEST(analytics_counts.in_count, excluded.in_count), "
    "out_count = GREATEST(analytics_counts.out_count, excluded.out_count) "
    "WHERE excluded.entered > analytics_counts.entered "
    "OR excluded.peak > analytics_counts.peak "
    "OR excluded.in_count > analytics_counts.in_count "
    "OR excluded.out_count > analytics_counts.out_count";

static const char pga_state_upsert[] =
    "INSERT INTO analytics_state (camera_id, last_sequence, updated_us, state) "
    "VALUES ($1, $2, $3, $4) ON CONFLICT (camera_id) DO UPDATE SET "
    "last_sequence = excluded.last_sequence, updated_us = excluded.updated_us, "
    "state = excluded.state WHERE excluded.last_sequence > analytics_state.last_sequence";

/* A frame id: NULL for 0 (unknown). */
static void pga_param_frame_id(vigil__pg_params_t *p, int64_t frame_id)
{
    if (frame_id > 0)
        vigil__pg_param_int(p, frame_id);
    else
        vigil__pg_param_text(p, NULL);
}

/* Runs one write of the commit (p bound to sql's parameters); VIGIL_OK or
 * the error, errstr saying what was written (fmt: the row, as the camera,
 * track, zone and sequence name it). */
static vigil_err_t pga_write(vigil__pg_t *pg, int slot, const char *sql,
                             const vigil__pg_params_t *p, char *errstr, size_t errstr_size,
                             const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static vigil_err_t pga_write(vigil__pg_t *pg, int slot, const char *sql,
                             const vigil__pg_params_t *p, char *errstr, size_t errstr_size,
                             const char *fmt, ...)
{
    char what[384];
    va_list ap;
    vigil_err_t err;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    PGresult *res = vigil__pg_exec_prepared(pg, slot, sql, p, what, &err, errstr, errstr_size);
    PQclear(res);
    return err;
}

static vigil_err_t pga_put_event(vigil__pg_t *pg, vigil__pg_params_t *p, const char *camera_id,
                                 const vigil_analytics_event_t *ev, char *errstr,
                                 size_t errstr_size)
{
    vigil__pg_params_clear(p);
    vigil__pg_param_text(p, camera_id);
    vigil__pg_param_text(p, vigil_event_kind_name(ev->kind));
    vigil__pg_param_text(p, ev->label);
    vigil__pg_param_uint(p, ev->track_id);
    vigil__pg_param_text(p, ev->zone);
    vigil__pg_param_text(p, ev->line);
    vigil__pg_param_text(p, vigil_direction_name(ev->direction));
    vigil__pg_param_uint(p, ev->start_sequence);
    vigil__pg_param_int(p, ev->start_us);
    vigil__pg_param_int(p, ev->end_us);
    vigil__pg_param_uint(p, ev->end_sequence);
    vigil__pg_param_bool(p, ev->open);
    pga_param_frame_id(p, ev->snapshot_frame_id);
    vigil__pg_param_uint(p, ev->snapshot_sequence);
    vigil__pg_param_double(p, ev->peak_score);
    vigil__pg_param_double(p, ev->x1);
    vigil__pg_param_double(p, ev->y1);
    vigil__pg_param_double(p, ev->x2);
    vigil__pg_param_double(p, ev->y2);
    vigil__pg_param_uint(p, ev->updated_sequence);
    return pga_write(pg, PGA_EVENT_UPSERT, pga_event_upsert, p, errstr, errstr_size,
                     "camera \"%s\": upsert %s event of track %" PRIu64 " in %s \"%s\" "
                     "started at sequence %" PRIu64,
                     camera_id, vigil_event_kind_name(ev->kind), ev->track_id,
                     ev->zone[0] ? "zone" : "line", ev->zone[0] ? ev->zone : ev->line,
                     ev->start_sequence);
}

static vigil_err_t pga_put_point(vigil__pg_t *pg, vigil__pg_params_t *p, const char *camera_id,
                                 const vigil_track_point_t *pt, char *errstr, size_t errstr_size)
{
    vigil__pg_params_clear(p);
    vigil__pg_param_text(p, camera_id);
    vigil__pg_param_uint(p, pt->track_id);
    vigil__pg_param_uint(p, pt->sequence);
    vigil__pg_param_int(p, pt->time_us);
    pga_param_frame_id(p, pt->frame_id);
    vigil__pg_param_text(p, pt->label);
    vigil__pg_param_double(p, pt->score);
    vigil__pg_param_double(p, pt->x1);
    vigil__pg_param_double(p, pt->y1);
    vigil__pg_param_double(p, pt->x2);
    vigil__pg_param_double(p, pt->y2);
    return pga_write(pg, PGA_POINT_INSERT, pga_point_insert, p, errstr, errstr_size,
                     "camera \"%s\": insert track point of track %" PRIu64 " at sequence %" PRIu64,
                     camera_id, pt->track_id, pt->sequence);
}

static vigil_err_t pga_put_count(vigil__pg_t *pg, vigil__pg_params_t *p, const char *camera_id,
                                 const vigil_count_bucket_t *c, char *errstr, size_t errstr_size)
{
    vigil__pg_params_clear(p);
    vigil__pg_param_text(p, camera_id);
    vigil__pg_param_int(p, c->minute_us);
    vigil__pg_param_text(p, c->zone);
    vigil__pg_param_text(p, c->line);
    vigil__pg_param_text(p, c->label);
    vigil__pg_param_int(p, c->entered);
    vigil__pg_param_int(p, c->peak);
    vigil__pg_param_int(p, c->in);
    vigil__pg_param_int(p, c->out);
    return pga_write(pg, PGA_COUNT_UPSERT, pga_count_upsert, p, errstr, errstr_size,
                     "camera \"%s\": upsert counts of %s \"%s\" label \"%s\" minute %" PRId64,
                     camera_id, c->zone[0] ? "zone" : "line", c->zone[0] ? c->zone : c->line,
                     c->label, c->minute_us);
}

/* The partitions of every day a commit writes points or minutes of. */
static vigil_err_t pga_ensure_days(vigil__pg_t *pg, const vigil_analytics_camera_batch_t *batches,
                                   size_t n, char *errstr, size_t errstr_size)
{
    int64_t last = INT64_MIN;
    vigil_err_t err = VIGIL_OK;
    for (size_t b = 0; b < n && !err; b++) {
        for (size_t i = 0; i < batches[b].npoints && !err; i++) {
            const int64_t *t = &batches[b].points[i].time_us;
            if (vigil__pg_day_of(*t) == last) continue;
            last = vigil__pg_day_of(*t);
            err = vigil__pg_partitions_ensure(pg, t, 1, errstr, errstr_size);
        }
        for (size_t i = 0; i < batches[b].ncounts && !err; i++) {
            const int64_t *t = &batches[b].counts[i].minute_us;
            if (vigil__pg_day_of(*t) == last) continue;
            last = vigil__pg_day_of(*t);
            err = vigil__pg_partitions_ensure(pg, t, 1, errstr, errstr_size);
        }
    }
    return err;
}

vigil_err_t vigil__pg_analytics_commit(vigil_store_t *store,
                                       const vigil_analytics_camera_batch_t *batches, size_t n,
                                       int64_t now_us, char *errstr, size_t errstr_size)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil_err_t err = pga_ensure_days(pg, batches, n, errstr, errstr_size);
    if (!err) err = vigil__pg_begin(pg, errstr, errstr_size);
    for (size_t bi = 0; bi < n && !err; bi++) {
        const vigil_analytics_camera_batch_t *b = &batches[bi];
        for (size_t i = 0; i < b->nevents && !err; i++)
            err = pga_put_event(pg, &p, b->camera_id, &b->events[i], errstr, errstr_size);
        for (size_t i = 0; i < b->npoints && !err; i++)
            err = pga_put_point(pg, &p, b->camera_id, &b->points[i], errstr, errstr_size);
        for (size_t i = 0; i < b->ncounts && !err; i++)
            err = pga_put_count(pg, &p, b->camera_id, &b->counts[i], errstr, errstr_size);
        if (b->state && !err) {
            vigil__pg_params_clear(&p);
            vigil__pg_param_text(&p, b->camera_id);
            vigil__pg_param_uint(&p, b->last_sequence);
            vigil__pg_param_int(&p, now_us);
            vigil__pg_param_bytea(&p, b->state, b->state_len);
            err = pga_write(pg, PGA_STATE_UPSERT, pga_state_upsert, &p, errstr, errstr_size,
                            "camera \"%s\": save checkpoint at sequence %" PRIu64, b->camera_id,
                            b->last_sequence);
        }
    }
    if (!err) err = vigil__pg_commit(pg, errstr, errstr_size);
    if (err) vigil__pg_rollback(pg);
    vigil__pg_params_release(&p);
    return err;
}

/* ---- checkpoints ------------------------------------------------------- */

vigil_err_t vigil__pg_analytics_max_track_id(vigil_store_t *store, const char *camera_id,
                                             uint64_t *max)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil__pg_param_text(&p, camera_id);
    vigil_err_t err;
    PGresult *res = vigil__pg_exec_prepared(
        pg, PGA_MAX_TRACK,
        "SELECT GREATEST(coalesce((SELECT max(track_id) FROM track_points WHERE camera_id = $1), "
        "0), coalesce((SELECT max(track_id) FROM analytics_events WHERE camera_id = $1), 0))",
        &p, "read the largest track id", &err, NULL, 0);
    vigil__pg_params_release(&p);
    if (!res) return err;
    *max = (uint64_t)vigil__pg_int64(res, 0, 0);
    PQclear(res);
    return VIGIL_OK;
}

vigil_err_t vigil__pg_analytics_state_get(vigil_store_t *store, const char *camera_id,
                                          uint8_t **state, size_t *len, uint64_t *last_sequence)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil__pg_param_text(&p, camera_id);
    vigil_err_t err;
    PGresult *res = vigil__pg_exec_prepared(
        pg, PGA_STATE_GET, "SELECT state, last_sequence FROM analytics_state WHERE camera_id = $1",
        &p, "read checkpoint", &err, NULL, 0);
    vigil__pg_params_release(&p);
    if (!res) return err;
    if (PQntuples(res) == 0) {
        snprintf(store->errbuf, sizeof(store->errbuf), "camera \"%.64s\": no checkpoint",
                 camera_id);
        err = VIGIL_ERR_NOT_FOUND;
    } else if (vigil__pg_bytea(res, 0, 0, state, len) != 0) {
        err = VIGIL_ERR_NOMEM;
    } else {
        if (!*state && !(*state = malloc(1))) err = VIGIL_ERR_NOMEM;
        *last_sequence = (uint64_t)vigil__pg_int64(res, 0, 1);
    }
    PQclear(res);
    return err;
}

/* ---- events ------------------------------------------------------------ */

void vigil__pg_event_from_row(const PGresult *res, int row, int c,
                              vigil_analytics_event_row_t *r)
{
    vigil_analytics_event_t *ev = &r->ev;
    memset(r, 0, sizeof(*r));
    r->id = vigil__pg_int64(res, row, c + 0);
    vigil__pg_text(res, row, c + 1, ev->camera_id, sizeof(ev->camera_id));
    ev->kind = vigil_event_kind_parse(PQgetvalue(res, row, c + 2));
    vigil__pg_text(res, row, c + 3, ev->label, sizeof(ev->label));
    ev->track_id = (uint64_t)vigil__pg_int64(res, row, c + 4);
    vigil__pg_text(res, row, c + 5, ev->zone, sizeof(ev->zone));
    vigil__pg_text(res, row, c + 6, ev->line, sizeof(ev->line));
    int dir = vigil_direction_parse(PQgetvalue(res, row, c + 7));
    ev->direction = dir < 0 ? VIGIL_DIR_NONE : dir;
    ev->start_sequence = (uint64_t)vigil__pg_int64(res, row, c + 8);
    ev->start_us = vigil__pg_int64(res, row, c + 9);
    ev->end_us = vigil__pg_int64(res, row, c + 10);
    ev->end_sequence = (uint64_t)vigil__pg_int64(res, row, c + 11);
    ev->open = (int)vigil__pg_int64(res, row, c + 12);
    ev->snapshot_frame_id = vigil__pg_int64(res, row, c + 13);
    ev->snapshot_sequence = (uint64_t)vigil__pg_int64(res, row, c + 14);
    ev->peak_score = (float)vigil__pg_double(res, row, c + 15);
    ev->x1 = (float)vigil__pg_double(res, row, c + 16);
    ev->y1 = (float)vigil__pg_double(res, row, c + 17);
    ev->x2 = (float)vigil__pg_double(res, row, c + 18);
    ev->y2 = (float)vigil__pg_double(res, row, c + 19);
    ev->updated_sequence = (uint64_t)vigil__pg_int64(res, row, c + 20);
    r->reviewed = (int)vigil__pg_int64(res, row, c + 21);
    r->reviewed_us = vigil__pg_int64(res, row, c + 22);
    vigil__pg_text(res, row, c + 23, r->reviewed_by, sizeof(r->reviewed_by));
}


vigil_err_t vigil__pg_analytics_events_query(vigil_store_t *store, const vigil_event_query_t *q,
                                             vigil_analytics_event_row_t **rows_out,
                                             size_t *n_out, int64_t *next_start_us,
                                             int64_t *next_id)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    char sql[1536];
    size_t len = (size_t)snprintf(sql, sizeof(sql),
                                  "SELECT " VIGIL__PG_EVENT_COLS " FROM analytics_events "
                                  "WHERE true");
    VIGIL__PG_FILTER(q->camera, " AND camera_id = $%d", vigil__pg_param_text(&p, q->camera));
    VIGIL__PG_FILTER(q->kind, " AND kind = $%d", vigil__pg_param_text(&p, q->kind));
    VIGIL__PG_FILTER(q->label, " AND label = $%d", vigil__pg_param_text(&p, q->label));
    VIGIL__PG_FILTER(q->zone, " AND zone = $%d AND line = ''", vigil__pg_param_text(&p, q->zone));
    VIGIL__PG_FILTER(q->line, " AND line = $%d AND zone = ''", vigil__pg_param_text(&p, q->line));
    VIGIL__PG_FILTER(q->since_us, " AND start_us >= $%d", vigil__pg_param_int(&p, q->since_us));
    VIGIL__PG_FILTER(q->until_us, " AND start_us < $%d", vigil__pg_param_int(&p, q->until_us));
    if (q->after_id > 0) {
        vigil__pg_param_int(&p, q->after_start_us);
        vigil__pg_param_int(&p, q->after_id);
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND (start_us, id) < ($%d, $%d)",
                                p.n - 1, p.n);
    }
    if (q->reviewed == VIGIL_REVIEWED_YES)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND reviewed = 1");
    if (q->reviewed == VIGIL_REVIEWED_NO)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND reviewed = 0");
    VIGIL__PG_FILTER(1, " ORDER BY start_us DESC, id DESC LIMIT $%d",
                     vigil__pg_param_int(&p, (int64_t)q->limit + 1));
    vigil_err_t err;
    PGresult *res = vigil__pg_exec(pg, sql, &p, "query analytics events", &err, NULL, 0);
    vigil__pg_params_release(&p);
    if (!res) return err;
    size_t limit = (size_t)q->limit, n = (size_t)PQntuples(res);
    int more = n > limit;
    if (more) n = limit;
    vigil_analytics_event_row_t *rows = calloc(n ? n : 1, sizeof(*rows));
    if (!rows) {
        PQclear(res);
        return VIGIL_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) vigil__pg_event_from_row(res, (int)i, 0, &rows[i]);
    PQclear(res);
    *rows_out = rows;
    *n_out = n;
    *next_start_us = more ? rows[n - 1].ev.start_us : 0;
    *next_id = more ? rows[n - 1].id : 0;
    return VIGIL_OK;
}

vigil_err_t vigil__pg_analytics_event_get(vigil_store_t *store, int64_t id,
                                          vigil_analytics_event_row_t *row)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil__pg_param_int(&p, id);
    vigil_err_t err;
    PGresult *res = vigil__pg_exec_prepared(
        pg, PGA_EVENT_GET, "SELECT " VIGIL__PG_EVENT_COLS " FROM analytics_events WHERE id = $1",
        &p, "read analytics event", &err, NULL, 0);
    vigil__pg_params_release(&p);
    if (!res) return err;
    if (PQntuples(res) == 1) {
        vigil__pg_event_from_row(res, 0, 0, row);
    } else {
        snprintf(store->errbuf, sizeof(store->errbuf), "no analytics event with id %" PRId64, id);
        err = VIGIL_ERR_NOT_FOUND;
    }
    PQclear(res);
    return err;
}

/* ---- counts ------------------------------------------------------------ */

vigil_err_t vigil__pg_counts_query(vigil_store_t *store, const vigil_count_query_t *q,
                                   size_t max_rows, vigil_count_row_t **rows_out, size_t *n_out)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    char sql[1536], bucket[128] = "0::bigint";
    if (q->bucket_us) {
        /* the bucket of a minute, floored (also before 1970) */
        vigil__pg_param_int(&p, q->bucket_us);
        snprintf(bucket, sizeof(bucket), "(minute_us - (((minute_us %% $1) + $1) %% $1))");
    }
    const char *by = q->bucket_us ? ", bucket" : "";
    size_t len = (size_t)snprintf(sql, sizeof(sql),
                                  "SELECT camera_id, zone, line, label, %s AS bucket, "
                                  "sum(entered), max(peak), sum(in_count), sum(out_count) "
                                  "FROM analytics_counts WHERE true",
                                  bucket);
    VIGIL__PG_FILTER(q->camera, " AND camera_id = $%d", vigil__pg_param_text(&p, q->camera));
    VIGIL__PG_FILTER(q->zone, " AND zone = $%d", vigil__pg_param_text(&p, q->zone));
    VIGIL__PG_FILTER(q->line, " AND line = $%d", vigil__pg_param_text(&p, q->line));
    VIGIL__PG_FILTER(q->label, " AND label = $%d", vigil__pg_param_text(&p, q->label));
    VIGIL__PG_FILTER(q->since_us, " AND minute_us >= $%d", vigil__pg_param_int(&p, q->since_us));
    VIGIL__PG_FILTER(q->until_us, " AND minute_us < $%d", vigil__pg_param_int(&p, q->until_us));
    len += (size_t)snprintf(sql + len, sizeof(sql) - len,
                            " GROUP BY camera_id, zone, line, label%s "
                            "ORDER BY camera_id, zone, line, label%s",
                            by, by);
    VIGIL__PG_FILTER(1, " LIMIT $%d",
                     vigil__pg_param_int(&p, max_rows < (size_t)INT64_MAX
                                                 ? (int64_t)max_rows + 1
                                                 : INT64_MAX));
    vigil_err_t err;
    PGresult *res = vigil__pg_exec(pg, sql, &p, "query counts", &err, NULL, 0);
    vigil__pg_params_release(&p);
    if (!res) return err;
    size_t n = (size_t)PQntuples(res);
    vigil_count_row_t *rows = calloc(n ? n : 1, sizeof(*rows));
    if (!rows) {
        PQclear(res);
        return VIGIL_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        vigil_count_row_t *r = &rows[i];
        int k = (int)i;
        vigil__pg_text(res, k, 0, r->camera_id, sizeof(r->camera_id));
        vigil__pg_text(res, k, 1, r->zone, sizeof(r->zone));
        vigil__pg_text(res, k, 2, r->line, sizeof(r->line));
        vigil__pg_text(res, k, 3, r->label, sizeof(r->label));
        r->bucket_us = vigil__pg_int64(res, k, 4);
        r->entered = vigil__pg_int64(res, k, 5);
        r->peak = vigil__pg_int64(res, k, 6);
        r->in = vigil__pg_int64(res, k, 7);
        r->out = vigil__pg_int64(res, k, 8);
    }
    PQclear(res);
    if (n == 0) {
        free(rows);
        rows = NULL;
    }
    *rows_out = rows;
    *n_out = n;
    return VIGIL_OK;
}

/* ---- track points ------------------------------------------------------ */

vigil_err_t vigil__pg_track_points(vigil_store_t *store, const char *camera_id,
                                   uint64_t track_id, int limit, vigil_track_point_t **points_out,
                                   size_t *n_out)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil__pg_param_text(&p, camera_id);
    vigil__pg_param_uint(&p, track_id);
    vigil__pg_param_int(&p, limit);
    vigil_err_t err;
    PGresult *res = vigil__pg_exec_prepared(
        pg, PGA_TRACK_POINTS,
        "SELECT track_id, sequence, time_us, coalesce(frame_id, 0), label, score, x1, y1, x2, y2 "
        "FROM track_points WHERE camera_id = $1 AND track_id = $2 ORDER BY sequence LIMIT $3",
        &p, "read track points", &err, NULL, 0);
    vigil__pg_params_release(&p);
    if (!res) return err;
    size_t n = (size_t)PQntuples(res);
    vigil_track_point_t *points = n ? calloc(n, sizeof(*points)) : NULL;
    if (n && !points) {
        PQclear(res);
        return VIGIL_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        vigil_track_point_t *pt = &points[i];
        int k = (int)i;
        pt->track_id = (uint64_t)vigil__pg_int64(res, k, 0);
        pt->sequence = (uint64_t)vigil__pg_int64(res, k, 1);
        pt->time_us = vigil__pg_int64(res, k, 2);
        pt->frame_id = vigil__pg_int64(res, k, 3);
        vigil__pg_text(res, k, 4, pt->label, sizeof(pt->label));
        pt->score = (float)vigil__pg_double(res, k, 5);
        pt->x1 = (float)vigil__pg_double(res, k, 6);
        pt->y1 = (float)vigil__pg_double(res, k, 7);
        pt->x2 = (float)vigil__pg_double(res, k, 8);
        pt->y2 = (float)vigil__pg_double(res, k, 9);
    }
    PQclear(res);
    *points_out = points;
    *n_out = n;
    return VIGIL_OK;
}

/* ---- sweeps ------------------------------------------------------------ */

vigil_err_t vigil__pg_sweep_analytics_events(vigil_store_t *store, const char *camera_id,
                                             int64_t before_us, size_t limit,
                                             vigil__swept_event_t **events_out, size_t *n_out)
{
    vigil__pg_t *pg = vigil__pg(store);
    *events_out = NULL;
    *n_out = 0;
    vigil_err_t err;
    /* start_us < $1 is implied (an event ends after it starts) and lets the
     * time indexes bound the scan */
    PGresult *res = vigil__pg_sweep_exec(
        pg,
        "DELETE FROM analytics_events WHERE id IN (SELECT id FROM analytics_events "
        "WHERE start_us < $1 AND open = 0 AND end_us < $1 LIMIT $2) RETURNING camera_id, id",
        "DELETE FROM analytics_events WHERE id IN (SELECT id FROM analytics_events "
        "WHERE camera_id = $3 AND start_us < $1 AND open = 0 AND end_us < $1 LIMIT $2) "
        "RETURNING camera_id, id",
        camera_id, before_us, limit, "sweep analytics events", &err);
    if (!res) return err;
    size_t n = (size_t)PQntuples(res);
    vigil__swept_event_t *events = calloc(n ? n : 1, sizeof(*events));
    if (!events) {
        PQclear(res);
        return VIGIL_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        vigil__pg_text(res, (int)i, 0, events[i].camera_id, sizeof(events[i].camera_id));
        events[i].id = vigil__pg_int64(res, (int)i, 1);
    }
    PQclear(res);
    *events_out = events;
    *n_out = n;
    return VIGIL_OK;
}
