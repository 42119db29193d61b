/* Analytics in MongoDB: the commit of the analytics stage, the reads of the
 * API (events, counts, track points, checkpoints), and the same rules as
 * sqlite_analytics.c for what each write keeps:
 *   events  the report with the larger updated_sequence wins (an update
 *           filtered on updated_sequence <= the report's); the id is taken
 *           once, when the key is first inserted, and stays;
 *   counts  each column keeps the larger of stored and given (inserted;
 *           a key already there: $max in an upsert);
 *   points  an existing (camera, track, sequence, time) is skipped (unique
 *           index, duplicate keys ignored);
 *   state   replaced only by a larger last_sequence (an upsert filtered on
 *           last_sequence < the new one: a stored larger one makes it a
 *           duplicate _id, which is the "keep" answer).
 * No transaction: store_analytics.c validates every batch before anything is
 * written, and each write is idempotent, so a commit that fails half-way on
 * a lost connection is retried whole and leaves every row once.
 *
 * Count queries group in C, not in $group: FerretDB's $group lacks $max and
 * gets multiple accumulators wrong (docs/warehouse.md); the minutes are read
 * in key order (index an_count_key) and summed into buckets as they come,
 * stopping past max_rows.
 *
 * Thread: the handle's thread. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/mongo_int.h"

static bson_t *mg_event_key(const char *camera_id, const vigil_analytics_event_t *ev)
{
    return BCON_NEW("camera_id", BCON_UTF8(camera_id), "kind",
                    BCON_UTF8(vigil_event_kind_name(ev->kind)), "track_id",
                    BCON_INT64((int64_t)ev->track_id), "zone", BCON_UTF8(ev->zone), "line",
                    BCON_UTF8(ev->line), "start_sequence",
                    BCON_INT64((int64_t)ev->start_sequence));
}

static void mg_event_fields(bson_t *doc, const vigil_analytics_event_t *ev)
{
    BSON_APPEND_UTF8(doc, "label", ev->label);
    BSON_APPEND_UTF8(doc, "direction", vigil_direction_name(ev->direction));
    BSON_APPEND_INT64(doc, "start_us", ev->start_us);
    BSON_APPEND_INT64(doc, "end_us", ev->end_us);
    BSON_APPEND_INT64(doc, "end_sequence", (int64_t)ev->end_sequence);
    BSON_APPEND_INT32(doc, "open", ev->open ? 1 : 0);
    BSON_APPEND_INT64(doc, "snapshot_frame_id", ev->snapshot_frame_id);
    BSON_APPEND_INT64(doc, "snapshot_sequence", (int64_t)ev->snapshot_sequence);
    BSON_APPEND_DOUBLE(doc, "peak_score", ev->peak_score);
    BSON_APPEND_DOUBLE(doc, "x1", ev->x1);
    BSON_APPEND_DOUBLE(doc, "y1", ev->y1);
    BSON_APPEND_DOUBLE(doc, "x2", ev->x2);
    BSON_APPEND_DOUBLE(doc, "y2", ev->y2);
    BSON_APPEND_INT64(doc, "updated_sequence", (int64_t)ev->updated_sequence);
}

static vigil_err_t mg_put_event(vigil__mongo_t *mg, const char *camera_id,
                                const vigil_analytics_event_t *ev, char *errstr,
                                size_t errstr_size)
{
    char what[384];
    snprintf(what, sizeof(what),
             "camera \"%s\": upsert %s event of track %" PRIu64 " in %s \"%s\" started at "
             "sequence %" PRIu64,
             camera_id, vigil_event_kind_name(ev->kind), ev->track_id,
             ev->zone[0] ? "zone" : "line", ev->zone[0] ? ev->zone : ev->line,
             ev->start_sequence);
    mongoc_collection_t *coll = vigil__mongo_coll(mg, VIGIL__MG_AN_EVENTS);
    vigil_err_t err = VIGIL_OK;
    bson_error_t error;
    for (int attempt = 0; attempt < 2 && !err; attempt++) {
        /* an existing event: updated when the report is not older */
        bson_t *filter = mg_event_key(camera_id, ev);
        bson_t lte;
        bson_append_document_begin(filter, "updated_sequence", -1, &lte);
        BSON_APPEND_INT64(&lte, "$lte", (int64_t)ev->updated_sequence);
        bson_append_document_end(filter, &lte);
        bson_t update = BSON_INITIALIZER, set;
        bson_append_document_begin(&update, "$set", -1, &set);
        mg_event_fields(&set, ev);
        bson_append_document_end(&update, &set);
        bson_t reply;
        bool ok = mongoc_collection_update_one(coll, filter, &update, NULL, &reply, &error);
        int64_t matched = ok ? vigil__mongo_i64(&reply, "matchedCount") : 0;
        bson_destroy(&reply);
        bson_destroy(&update);
        bson_destroy(filter);
        if (!ok) return vigil__mongo_fail(mg, 0, &error, errstr, errstr_size, "%s", what);
        if (matched) return VIGIL_OK;
        /* none, or a newer one: insert; a duplicate key says it exists (newer,
         * or inserted meanwhile by another writer: then once more) */
        int64_t id;
        if ((err = vigil__mongo_next_ids(mg, "analytics_events", 1, &id, errstr, errstr_size)))
            return err;
        bson_t *doc = mg_event_key(camera_id, ev);
        BSON_APPEND_INT64(doc, "_id", id);
        mg_event_fields(doc, ev);
        BSON_APPEND_INT32(doc, "reviewed", 0);
        BSON_APPEND_INT64(doc, "reviewed_us", 0);
        BSON_APPEND_UTF8(doc, "reviewed_by", "");
        ok = mongoc_collection_insert_one(coll, doc, NULL, NULL, &error);
        bson_destroy(doc);
        if (ok) return VIGIL_OK;
        err = vigil__mongo_err(&error);
        if (err != VIGIL_ERR_EXISTS)
            return vigil__mongo_fail(mg, err, &error, errstr, errstr_size, "%s", what);
        err = VIGIL_OK; /* a stored newer report (kept), or a race: try the update again */
    }
    return VIGIL_OK;
}

static vigil_err_t mg_put_points(vigil__mongo_t *mg, const vigil_analytics_camera_batch_t *b,
                                 char *errstr, size_t errstr_size)
{
    if (b->npoints == 0) return VIGIL_OK;
    bson_t **docs = calloc(b->npoints, sizeof(*docs));
    if (!docs)
        return vigil__mongo_fail(mg, VIGIL_ERR_NOMEM, NULL, errstr, errstr_size,
                                 "camera \"%s\": out of memory for %zu track points",
                                 b->camera_id, b->npoints);
    for (size_t i = 0; i < b->npoints; i++) {
        const vigil_track_point_t *pt = &b->points[i];
        docs[i] = BCON_NEW("camera_id", BCON_UTF8(b->camera_id), "track_id",
                           BCON_INT64((int64_t)pt->track_id), "sequence",
                           BCON_INT64((int64_t)pt->sequence), "time_us", BCON_INT64(pt->time_us),
                           "frame_id", BCON_INT64(pt->frame_id), "label", BCON_UTF8(pt->label),
                           "score", BCON_DOUBLE(pt->score), "x1", BCON_DOUBLE(pt->x1), "y1",
                           BCON_DOUBLE(pt->y1), "x2", BCON_DOUBLE(pt->x2), "y2",
                           BCON_DOUBLE(pt->y2));
    }
    char what[192];
    snprintf(what, sizeof(what), "camera \"%s\": insert %zu track points", b->camera_id,
             b->npoints);
    vigil_err_t err = vigil__mongo_insert_many(mg, VIGIL__MG_TRACK_POINTS, (const bson_t **)docs,
                                               b->npoints, NULL, what, errstr, errstr_size);
    for (size_t i = 0; i < b->npoints; i++) bson_destroy(docs[i]);
    free(docs);
    return err;
}

/* The _id of a count row: its key (FerretDB-on-SQLite finds by _id through
 * its primary key, other filters by a scan). */
static void mg_count_key(const char *camera_id, const vigil_count_bucket_t *c, char *key,
                         size_t size)
{
    snprintf(key, size, "%s\x1f%s\x1f%s\x1f%s\x1f%" PRId64, camera_id, c->zone, c->line,
             c->label, c->minute_us);
}

/* The counts at which[0..n) in one unordered bulk of upserts ($max per
 * column). Two upserts of a new key that race make a duplicate key: the
 * bulk runs once more (then they match the row; $max is idempotent). */
static vigil_err_t mg_upsert_counts(vigil__mongo_t *mg, const vigil_analytics_camera_batch_t *b,
                                    const size_t *which, size_t n, char *errstr,
                                    size_t errstr_size)
{
    if (n == 0) return VIGIL_OK;
    bson_t *upsert = BCON_NEW("upsert", BCON_BOOL(true));
    bson_t *ordered = BCON_NEW("ordered", BCON_BOOL(false));
    vigil_err_t err = VIGIL_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        mongoc_bulk_operation_t *bulk = mongoc_collection_create_bulk_operation_with_opts(
            vigil__mongo_coll(mg, VIGIL__MG_AN_COUNTS), ordered);
        bson_error_t error;
        for (size_t i = 0; i < n; i++) {
            const vigil_count_bucket_t *c = &b->counts[which[i]];
            char key[512];
            mg_count_key(b->camera_id, c, key, sizeof(key));
            bson_t *filter = BCON_NEW("_id", BCON_UTF8(key));
            bson_t *update = BCON_NEW("$set", "{", "camera_id", BCON_UTF8(b->camera_id), "zone",
                                      BCON_UTF8(c->zone), "line", BCON_UTF8(c->line), "label",
                                      BCON_UTF8(c->label), "minute_us", BCON_INT64(c->minute_us),
                                      "}", "$max", "{", "entered", BCON_INT64(c->entered), "peak",
                                      BCON_INT64(c->peak), "in_count", BCON_INT64(c->in),
                                      "out_count", BCON_INT64(c->out), "}");
            mongoc_bulk_operation_update_one_with_opts(bulk, filter, update, upsert, &error);
            bson_destroy(filter);
            bson_destroy(update);
        }
        bson_t reply;
        bool ok = mongoc_bulk_operation_execute(bulk, &reply, &error) != 0;
        int dup = !ok && vigil__mongo_only_duplicates(&reply);
        bson_destroy(&reply);
        mongoc_bulk_operation_destroy(bulk);
        if (ok) {
            err = VIGIL_OK;
            break;
        }
        err = vigil__mongo_fail(mg, dup ? VIGIL_ERR_AGAIN : 0, &error, errstr, errstr_size,
                                "camera \"%s\": upsert %zu counts (the first: minute %" PRId64
                                ")",
                                b->camera_id, n, b->counts[which[0]].minute_us);
        if (!dup) break;
    }
    bson_destroy(upsert);
    bson_destroy(ordered);
    return err;
}

/* The counts of a batch: first one unordered insertMany of them all (new
 * minutes: one round trip, fast on FerretDB where 100000 upserts took over
 * 5 minutes), then the $max upserts of those whose key was there. */
static vigil_err_t mg_put_counts(vigil__mongo_t *mg, const vigil_analytics_camera_batch_t *b,
                                 char *errstr, size_t errstr_size)
{
    if (b->ncounts == 0) return VIGIL_OK;
    bson_t **docs = calloc(b->ncounts, sizeof(*docs));
    size_t *dups = calloc(b->ncounts, sizeof(*dups));
    vigil_err_t err = VIGIL_OK;
    size_t ndups = 0;
    if (!docs || !dups) {
        err = vigil__mongo_fail(mg, VIGIL_ERR_NOMEM, NULL, errstr, errstr_size,
                                "camera \"%s\": out of memory for %zu counts", b->camera_id,
                                b->ncounts);
        goto out;
    }
    for (size_t i = 0; i < b->ncounts; i++) {
        const vigil_count_bucket_t *c = &b->counts[i];
        char key[512];
        mg_count_key(b->camera_id, c, key, sizeof(key));
        docs[i] = BCON_NEW("_id", BCON_UTF8(key), "camera_id", BCON_UTF8(b->camera_id), "zone",
                           BCON_UTF8(c->zone), "line", BCON_UTF8(c->line), "label",
                           BCON_UTF8(c->label), "minute_us", BCON_INT64(c->minute_us), "entered",
                           BCON_INT64(c->entered), "peak", BCON_INT64(c->peak), "in_count",
                           BCON_INT64(c->in), "out_count", BCON_INT64(c->out));
    }
    bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
    bson_t reply;
    bson_error_t error;
    bool ok = mongoc_collection_insert_many(vigil__mongo_coll(mg, VIGIL__MG_AN_COUNTS),
                                            (const bson_t **)docs, b->ncounts, opts, &reply,
                                            &error);
    if (!ok && !vigil__mongo_only_duplicates(&reply)) {
        err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size,
                                "camera \"%s\": insert %zu counts", b->camera_id, b->ncounts);
    } else if (!ok) {
        bson_iter_t it, errs;
        if (bson_iter_init_find(&it, &reply, "writeErrors") && bson_iter_recurse(&it, &errs))
            while (bson_iter_next(&errs)) {
                bson_iter_t f;
                if (bson_iter_recurse(&errs, &f) && bson_iter_find(&f, "index")) {
                    int64_t k = bson_iter_as_int64(&f);
                    if (k >= 0 && (size_t)k < b->ncounts) dups[ndups++] = (size_t)k;
                }
            }
    }
    bson_destroy(&reply);
    bson_destroy(opts);
    if (!err) err = mg_upsert_counts(mg, b, dups, ndups, errstr, errstr_size);
out:
    for (size_t i = 0; docs && i < b->ncounts; i++)
        if (docs[i]) bson_destroy(docs[i]);
    free(docs);
    free(dups);
    return err;
}

static vigil_err_t mg_put_state(vigil__mongo_t *mg, const vigil_analytics_camera_batch_t *b,
                                int64_t now_us, char *errstr, size_t errstr_size)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(b->camera_id), "last_sequence", "{", "$lt",
                              BCON_INT64((int64_t)b->last_sequence), "}");
    bson_t *update = BCON_NEW("$set", "{", "last_sequence", BCON_INT64((int64_t)b->last_sequence),
                              "updated_us", BCON_INT64(now_us), "state",
                              BCON_BIN(BSON_SUBTYPE_BINARY, b->state, (uint32_t)b->state_len),
                              "}");
    bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
    bson_error_t error;
    vigil_err_t err = VIGIL_OK;
    if (!mongoc_collection_update_one(vigil__mongo_coll(mg, VIGIL__MG_AN_STATE), filter, update,
                                      opts, NULL, &error)) {
        err = vigil__mongo_err(&error);
        if (err == VIGIL_ERR_EXISTS)
            err = VIGIL_OK; /* a checkpoint of a larger sequence is stored: it stays */
        else
            err = vigil__mongo_fail(mg, err, &error, errstr, errstr_size,
                                    "camera \"%s\": save checkpoint at sequence %" PRIu64,
                                    b->camera_id, b->last_sequence);
    }
    bson_destroy(filter);
    bson_destroy(update);
    bson_destroy(opts);
    return err;
}

vigil_err_t vigil__mongo_analytics_commit(vigil_store_t *store,
                                          const vigil_analytics_camera_batch_t *batches, size_t n,
                                          int64_t now_us, char *errstr, size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    vigil_err_t err = VIGIL_OK;
    for (size_t bi = 0; bi < n && !err; bi++) {
        const vigil_analytics_camera_batch_t *b = &batches[bi];
        for (size_t i = 0; i < b->nevents && !err; i++)
            err = mg_put_event(mg, b->camera_id, &b->events[i], errstr, errstr_size);
        if (!err) err = mg_put_points(mg, b, errstr, errstr_size);
        if (!err) err = mg_put_counts(mg, b, errstr, errstr_size);
        if (b->state && !err) err = mg_put_state(mg, b, now_us, errstr, errstr_size);
    }
    return err;
}

/* ---- checkpoints --------------------------------------------------------- */

/* The largest track_id of camera_id in coll (0 if none). */
static vigil_err_t mg_max_track(vigil__mongo_t *mg, vigil__mongo_coll_t coll,
                                const char *camera_id, int64_t *max)
{
    bson_t *filter = BCON_NEW("camera_id", BCON_UTF8(camera_id));
    bson_t *opts = BCON_NEW("sort", "{", "track_id", BCON_INT32(-1), "}", "limit", BCON_INT64(1),
                            "projection", "{", "track_id", BCON_INT32(1), "}");
    mongoc_cursor_t *cur =
        mongoc_collection_find_with_opts(vigil__mongo_coll(mg, coll), filter, opts, NULL);
    const bson_t *doc;
    *max = 0;
    if (mongoc_cursor_next(cur, &doc)) *max = vigil__mongo_i64(doc, "track_id");
    bson_error_t error;
    vigil_err_t err = VIGIL_OK;
    if (mongoc_cursor_error(cur, &error))
        err = vigil__mongo_fail(mg, 0, &error, NULL, 0, "read the largest track id");
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    bson_destroy(opts);
    return err;
}

vigil_err_t vigil__mongo_analytics_max_track_id(vigil_store_t *store, const char *camera_id,
                                                uint64_t *max)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    int64_t a = 0, b = 0;
    vigil_err_t err = mg_max_track(mg, VIGIL__MG_TRACK_POINTS, camera_id, &a);
    if (!err) err = mg_max_track(mg, VIGIL__MG_AN_EVENTS, camera_id, &b);
    if (!err) *max = (uint64_t)(a > b ? a : b);
    return err;
}

vigil_err_t vigil__mongo_analytics_state_get(vigil_store_t *store, const char *camera_id,
                                             uint8_t **state, size_t *len,
                                             uint64_t *last_sequence)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(camera_id));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(
        vigil__mongo_coll(mg, VIGIL__MG_AN_STATE), filter, NULL, NULL);
    const bson_t *doc;
    vigil_err_t err = VIGIL_ERR_NOT_FOUND;
    if (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        const uint8_t *data = NULL;
        uint32_t dlen = 0;
        bson_subtype_t sub;
        if (bson_iter_init_find(&it, doc, "state") && BSON_ITER_HOLDS_BINARY(&it))
            bson_iter_binary(&it, &sub, &dlen, &data);
        *state = malloc(dlen ? dlen : 1);
        if (!*state) {
            err = VIGIL_ERR_NOMEM;
        } else {
            if (dlen) memcpy(*state, data, dlen);
            *len = dlen;
            *last_sequence = (uint64_t)vigil__mongo_i64(doc, "last_sequence");
            err = VIGIL_OK;
        }
    }
    bson_error_t error;
    if (mongoc_cursor_error(cur, &error))
        err = vigil__mongo_fail(mg, 0, &error, NULL, 0, "camera \"%s\": read checkpoint",
                                camera_id);
    else if (err == VIGIL_ERR_NOT_FOUND)
        snprintf(store->errbuf, sizeof(store->errbuf), "camera \"%.64s\": no checkpoint",
                 camera_id);
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    return err;
}

/* ---- events -------------------------------------------------------------- */

void vigil__mongo_an_event_read(const bson_t *doc, vigil_analytics_event_row_t *r)
{
    vigil_analytics_event_t *ev = &r->ev;
    char s[64];
    memset(r, 0, sizeof(*r));
    r->id = vigil__mongo_i64(doc, "_id");
    vigil__mongo_str(doc, "camera_id", ev->camera_id, sizeof(ev->camera_id));
    vigil__mongo_str(doc, "kind", s, sizeof(s));
    ev->kind = vigil_event_kind_parse(s);
    vigil__mongo_str(doc, "label", ev->label, sizeof(ev->label));
    ev->track_id = (uint64_t)vigil__mongo_i64(doc, "track_id");
    vigil__mongo_str(doc, "zone", ev->zone, sizeof(ev->zone));
    vigil__mongo_str(doc, "line", ev->line, sizeof(ev->line));
    vigil__mongo_str(doc, "direction", s, sizeof(s));
    int dir = vigil_direction_parse(s);
    ev->direction = dir < 0 ? VIGIL_DIR_NONE : dir;
    ev->start_sequence = (uint64_t)vigil__mongo_i64(doc, "start_sequence");
    ev->start_us = vigil__mongo_i64(doc, "start_us");
    ev->end_us = vigil__mongo_i64(doc, "end_us");
    ev->end_sequence = (uint64_t)vigil__mongo_i64(doc, "end_sequence");
    ev->open = (int)vigil__mongo_i64(doc, "open");
    ev->snapshot_frame_id = vigil__mongo_i64(doc, "snapshot_frame_id");
    ev->snapshot_sequence = (uint64_t)vigil__mongo_i64(doc, "snapshot_sequence");
    ev->peak_score = (float)vigil__mongo_dbl(doc, "peak_score");
    ev->x1 = (float)vigil__mongo_dbl(doc, "x1");
    ev->y1 = (float)vigil__mongo_dbl(doc, "y1");
    ev->x2 = (float)vigil__mongo_dbl(doc, "x2");
    ev->y2 = (float)vigil__mongo_dbl(doc, "y2");
    ev->updated_sequence = (uint64_t)vigil__mongo_i64(doc, "updated_sequence");
    r->reviewed = (int)vigil__mongo_i64(doc, "reviewed");
    r->reviewed_us = vigil__mongo_i64(doc, "reviewed_us");
    vigil__mongo_str(doc, "reviewed_by", r->reviewed_by, sizeof(r->reviewed_by));
}

/* Appends p to the array and as its element *k. */
static void mg_and_add(bson_t *and, uint32_t *k, const bson_t *p)
{
    char key[16];
    const char *kp;
    bson_uint32_to_string((*k)++, &kp, key, sizeof(key));
    bson_append_document(and, kp, -1, p);
}

vigil_err_t vigil__mongo_analytics_events_query(vigil_store_t *store,
                                                const vigil_event_query_t *q,
                                                vigil_analytics_event_row_t **rows_out,
                                                size_t *n_out, int64_t *next_start_us,
                                                int64_t *next_id)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    bson_t filter = BSON_INITIALIZER;
    if (q->camera) BSON_APPEND_UTF8(&filter, "camera_id", q->camera);
    if (q->kind) BSON_APPEND_UTF8(&filter, "kind", q->kind);
    if (q->label) BSON_APPEND_UTF8(&filter, "label", q->label);
    if (q->zone) {
        BSON_APPEND_UTF8(&filter, "zone", q->zone);
        BSON_APPEND_UTF8(&filter, "line", "");
    }
    if (q->line) {
        BSON_APPEND_UTF8(&filter, "line", q->line);
        BSON_APPEND_UTF8(&filter, "zone", "");
    }
    if (q->reviewed == VIGIL_REVIEWED_YES) BSON_APPEND_INT32(&filter, "reviewed", 1);
    if (q->reviewed == VIGIL_REVIEWED_NO) BSON_APPEND_INT32(&filter, "reviewed", 0);
    /* start_us bounds and the cursor (start_us, id) < (a, b), as $and parts */
    bson_t and;
    bson_append_array_begin(&filter, "$and", -1, &and);
    uint32_t k = 0;
    bson_t *p;
    if (q->since_us) {
        p = BCON_NEW("start_us", "{", "$gte", BCON_INT64(q->since_us), "}");
        mg_and_add(&and, &k, p);
        bson_destroy(p);
    }
    if (q->until_us) {
        p = BCON_NEW("start_us", "{", "$lt", BCON_INT64(q->until_us), "}");
        mg_and_add(&and, &k, p);
        bson_destroy(p);
    }
    if (q->after_id > 0) {
        p = BCON_NEW("$or", "[", "{", "start_us", "{", "$lt", BCON_INT64(q->after_start_us), "}",
                     "}", "{", "start_us", BCON_INT64(q->after_start_us), "_id", "{", "$lt",
                     BCON_INT64(q->after_id), "}", "}", "]");
        mg_and_add(&and, &k, p);
        bson_destroy(p);
    }
    if (k == 0) {
        p = bson_new(); /* $and wants one part at least */
        mg_and_add(&and, &k, p);
        bson_destroy(p);
    }
    bson_append_array_end(&filter, &and);
    bson_t *opts = BCON_NEW("sort", "{", "start_us", BCON_INT32(-1), "_id", BCON_INT32(-1), "}",
                            "limit", BCON_INT64((int64_t)q->limit + 1));
    size_t limit = (size_t)q->limit, n = 0, seen = 0;
    vigil_analytics_event_row_t *rows = calloc(limit, sizeof(*rows));
    vigil_err_t err = rows ? VIGIL_OK : VIGIL_ERR_NOMEM;
    if (!err) {
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(
            vigil__mongo_coll(mg, VIGIL__MG_AN_EVENTS), &filter, opts, NULL);
        const bson_t *doc;
        while (mongoc_cursor_next(cur, &doc))
            if (seen++ < limit) vigil__mongo_an_event_read(doc, &rows[n++]);
        bson_error_t error;
        if (mongoc_cursor_error(cur, &error))
            err = vigil__mongo_fail(mg, 0, &error, NULL, 0, "query analytics events");
        mongoc_cursor_destroy(cur);
    }
    bson_destroy(&filter);
    bson_destroy(opts);
    if (err) {
        free(rows);
        return err;
    }
    int more = seen > n && n > 0;
    *rows_out = rows;
    *n_out = n;
    *next_start_us = more ? rows[n - 1].ev.start_us : 0;
    *next_id = more ? rows[n - 1].id : 0;
    return VIGIL_OK;
}

vigil_err_t vigil__mongo_analytics_event_get(vigil_store_t *store, int64_t id,
                                             vigil_analytics_event_row_t *row)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    bson_t *filter = BCON_NEW("_id", BCON_INT64(id));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(
        vigil__mongo_coll(mg, VIGIL__MG_AN_EVENTS), filter, NULL, NULL);
    const bson_t *doc;
    vigil_err_t err = VIGIL_ERR_NOT_FOUND;
    if (mongoc_cursor_next(cur, &doc)) {
        vigil__mongo_an_event_read(doc, row);
        err = VIGIL_OK;
    }
    bson_error_t error;
    if (mongoc_cursor_error(cur, &error))
        err = vigil__mongo_fail(mg, 0, &error, NULL, 0, "read analytics event %" PRId64, id);
    else if (err == VIGIL_ERR_NOT_FOUND)
        snprintf(store->errbuf, sizeof(store->errbuf), "no analytics event with id %" PRId64, id);
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    return err;
}

/* ---- counts -------------------------------------------------------------- */

typedef struct mg_count_acc {
    vigil_count_row_t *rows;
    size_t n, cap, max_rows;
    int64_t bucket_us;
} mg_count_acc_t;

static int64_t mg_floor_bucket(int64_t minute, int64_t bucket)
{
    return minute - (((minute % bucket) + bucket) % bucket);
}

/* Adds one minute's document to the rows (the last row when it is the same
 * key and bucket, else a new row); stops (TOO_LARGE) past max_rows + 1. */
static vigil_err_t mg_count_add(void *arg, const bson_t *doc)
{
    mg_count_acc_t *a = arg;
    vigil_count_row_t r;
    memset(&r, 0, sizeof(r));
    vigil__mongo_str(doc, "camera_id", r.camera_id, sizeof(r.camera_id));
    vigil__mongo_str(doc, "zone", r.zone, sizeof(r.zone));
    vigil__mongo_str(doc, "line", r.line, sizeof(r.line));
    vigil__mongo_str(doc, "label", r.label, sizeof(r.label));
    int64_t minute = vigil__mongo_i64(doc, "minute_us");
    r.bucket_us = a->bucket_us ? mg_floor_bucket(minute, a->bucket_us) : 0;
    int64_t entered = vigil__mongo_i64(doc, "entered"), peak = vigil__mongo_i64(doc, "peak");
    int64_t in = vigil__mongo_i64(doc, "in_count"), out = vigil__mongo_i64(doc, "out_count");
    vigil_count_row_t *last = a->n ? &a->rows[a->n - 1] : NULL;
    if (last && last->bucket_us == r.bucket_us && strcmp(last->camera_id, r.camera_id) == 0 &&
        strcmp(last->zone, r.zone) == 0 && strcmp(last->line, r.line) == 0 &&
        strcmp(last->label, r.label) == 0) {
        last->entered += entered;
        if (peak > last->peak) last->peak = peak;
        last->in += in;
        last->out += out;
        return VIGIL_OK;
    }
    if (a->n > a->max_rows) return VIGIL_ERR_TOO_LARGE; /* max_rows + 1 made: enough */
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        vigil_count_row_t *p = realloc(a->rows, cap * sizeof(*p));
        if (!p) return VIGIL_ERR_NOMEM;
        a->rows = p;
        a->cap = cap;
    }
    r.entered = entered;
    r.peak = peak;
    r.in = in;
    r.out = out;
    a->rows[a->n++] = r;
    return VIGIL_OK;
}

vigil_err_t vigil__mongo_counts_query(vigil_store_t *store, const vigil_count_query_t *q,
                                      size_t max_rows, vigil_count_row_t **rows_out,
                                      size_t *n_out)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    bson_t filter = BSON_INITIALIZER;
    if (q->camera) BSON_APPEND_UTF8(&filter, "camera_id", q->camera);
    if (q->zone) BSON_APPEND_UTF8(&filter, "zone", q->zone);
    if (q->line) BSON_APPEND_UTF8(&filter, "line", q->line);
    if (q->label) BSON_APPEND_UTF8(&filter, "label", q->label);
    if (q->since_us || q->until_us) {
        bson_t t;
        bson_append_document_begin(&filter, "minute_us", -1, &t);
        if (q->since_us) BSON_APPEND_INT64(&t, "$gte", q->since_us);
        if (q->until_us) BSON_APPEND_INT64(&t, "$lt", q->until_us);
        bson_append_document_end(&filter, &t);
    }
    /* key order: a bucket's minutes come together */
    bson_t *opts = BCON_NEW("sort", "{", "camera_id", BCON_INT32(1), "zone", BCON_INT32(1), "line",
                            BCON_INT32(1), "label", BCON_INT32(1), "minute_us", BCON_INT32(1), "}");
    mg_count_acc_t a = {NULL, 0, 0, max_rows, q->bucket_us};
    vigil_err_t err = vigil__mongo_find(mg, VIGIL__MG_AN_COUNTS, &filter, opts, mg_count_add, &a,
                                        "query counts", NULL, 0);
    bson_destroy(&filter);
    bson_destroy(opts);
    if (err == VIGIL_ERR_TOO_LARGE) err = VIGIL_OK; /* max_rows + 1 rows: the caller refuses */
    if (err) {
        free(a.rows);
        return err;
    }
    if (a.n == 0) {
        free(a.rows);
        a.rows = NULL;
    }
    *rows_out = a.rows;
    *n_out = a.n;
    return VIGIL_OK;
}

/* ---- track points -------------------------------------------------------- */

vigil_err_t vigil__mongo_track_points(vigil_store_t *store, const char *camera_id,
                                      uint64_t track_id, int limit,
                                      vigil_track_point_t **points_out, size_t *n_out)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    bson_t *filter = BCON_NEW("camera_id", BCON_UTF8(camera_id), "track_id",
                              BCON_INT64((int64_t)track_id));
    bson_t *opts = BCON_NEW("sort", "{", "sequence", BCON_INT32(1), "}", "limit",
                            BCON_INT64(limit));
    vigil_track_point_t *points = calloc((size_t)limit, sizeof(*points));
    size_t n = 0;
    vigil_err_t err = points ? VIGIL_OK : VIGIL_ERR_NOMEM;
    if (!err) {
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(
            vigil__mongo_coll(mg, VIGIL__MG_TRACK_POINTS), filter, opts, NULL);
        const bson_t *doc;
        while (n < (size_t)limit && mongoc_cursor_next(cur, &doc)) {
            vigil_track_point_t *pt = &points[n++];
            pt->track_id = (uint64_t)vigil__mongo_i64(doc, "track_id");
            pt->sequence = (uint64_t)vigil__mongo_i64(doc, "sequence");
            pt->time_us = vigil__mongo_i64(doc, "time_us");
            pt->frame_id = vigil__mongo_i64(doc, "frame_id");
            vigil__mongo_str(doc, "label", pt->label, sizeof(pt->label));
            pt->score = (float)vigil__mongo_dbl(doc, "score");
            pt->x1 = (float)vigil__mongo_dbl(doc, "x1");
            pt->y1 = (float)vigil__mongo_dbl(doc, "y1");
            pt->x2 = (float)vigil__mongo_dbl(doc, "x2");
            pt->y2 = (float)vigil__mongo_dbl(doc, "y2");
        }
        bson_error_t error;
        if (mongoc_cursor_error(cur, &error))
            err = vigil__mongo_fail(mg, 0, &error, NULL, 0, "read track points");
        mongoc_cursor_destroy(cur);
    }
    bson_destroy(filter);
    bson_destroy(opts);
    if (err || n == 0) {
        free(points);
        points = NULL;
    }
    if (err) return err;
    *points_out = points;
    *n_out = n;
    return VIGIL_OK;
}
