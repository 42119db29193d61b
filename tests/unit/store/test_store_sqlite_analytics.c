/* Unit tests of the SQLite analytics tables: migration from every older
 * schema, a failure inside a commit's transaction (forced with a trigger)
 * rolling back every batch, what an upsert must not touch, the names kinds
 * are stored under, and the query plans of the statements the store runs
 * (every read and sweep served by an index, no sort for the events pages). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/sqlite_int.h"
#include "store_unit_support.h"
#include "vigil/store.h"

#define T0 INT64_C(1788220800000000) /* 2026-09-01T00:00:00Z */

typedef su_fixture_t fixture_t;
#define setup su_setup
#define teardown su_teardown

#define open_store su_open_store

static sqlite3 *raw_open(fixture_t *fx)
{
    sqlite3 *conn = NULL;
    assert_int_equal(sqlite3_open(fx->db, &conn), SQLITE_OK);
    sqlite3_busy_timeout(conn, 30000);
    return conn;
}

static void raw_exec(sqlite3 *conn, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(conn, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("%s: %s", sql, msg);
}

/* The first column of the first row as an integer (0 if no row). */
static long long raw_int(sqlite3 *conn, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(conn, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(conn));
    long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return v;
}

static long long analytics_rows(sqlite3 *conn)
{
    return raw_int(conn, "SELECT (SELECT count(*) FROM analytics_events) + "
                         "(SELECT count(*) FROM analytics_counts) + "
                         "(SELECT count(*) FROM track_points) + "
                         "(SELECT count(*) FROM analytics_state)");
}

static vigil_analytics_event_t line_event(const char *cam, uint64_t track, uint64_t seq)
{
    vigil_analytics_event_t ev;
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.camera_id, sizeof(ev.camera_id), "%s", cam);
    ev.kind = VIGIL_EVENT_LINE_CROSS;
    snprintf(ev.label, sizeof(ev.label), "car");
    ev.track_id = track;
    snprintf(ev.line, sizeof(ev.line), "gate");
    ev.direction = VIGIL_DIR_OUT;
    ev.start_sequence = seq;
    ev.start_us = T0 + (int64_t)seq;
    ev.end_us = ev.start_us;
    ev.end_sequence = seq;
    ev.updated_sequence = seq;
    return ev;
}

/* A batch of camera cam with one of everything. */
typedef struct one_of_each {
    vigil_analytics_event_t ev;
    vigil_track_point_t pt;
    vigil_count_bucket_t count;
    uint8_t state[4];
    vigil_analytics_camera_batch_t batch;
} one_of_each_t;

static void one_of_each_init(one_of_each_t *o, const char *cam)
{
    memset(o, 0, sizeof(*o));
    o->ev = line_event(cam, 1, 10);
    o->pt.track_id = 1;
    o->pt.sequence = 10;
    o->pt.time_us = T0;
    snprintf(o->pt.label, sizeof(o->pt.label), "car");
    o->count.minute_us = T0;
    snprintf(o->count.line, sizeof(o->count.line), "gate");
    snprintf(o->count.label, sizeof(o->count.label), "car");
    o->count.out = 1;
    memcpy(o->state, "ckpt", 4);
    o->batch = (vigil_analytics_camera_batch_t){.camera_id = cam,
                                                .events = &o->ev,
                                                .nevents = 1,
                                                .points = &o->pt,
                                                .npoints = 1,
                                                .counts = &o->count,
                                                .ncounts = 1,
                                                .state = o->state,
                                                .state_len = 4,
                                                .last_sequence = 10};
}

static void test_store_sqlite_migrates_each_older_schema_keeping_its_rows(void **state)
{
    fixture_t *fx = *state;
    const int want = vigil_store_expected_version();
    assert_true(want >= 2);
    for (int old = 1; old < want; old++) {
        su_rmrf(fx->dir);
        assert_int_equal(su_tmpdir(fx->dir, sizeof(fx->dir)), 0);
        snprintf(fx->db, sizeof(fx->db), "%s/vigil.db", fx->dir);
        /* a database as a vigil of schema `old` left it, with rows in it */
        sqlite3 *conn = raw_open(fx);
        raw_exec(conn, "PRAGMA journal_mode = WAL");
        for (int v = 1; v <= old; v++) raw_exec(conn, vigil__sq_migration_sql(v));
        char sql[128];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", old);
        raw_exec(conn, sql);
        raw_exec(conn, "INSERT INTO cameras (id, name) VALUES ('lobby', 'Lobby');"
                       "INSERT INTO frames (camera_id, sequence, capture_time_us, path) "
                       "VALUES ('lobby', 1, 1788220800000000, 'frames/lobby/1.jpg');"
                       "INSERT INTO detections (camera_id, sequence, capture_time_us, model, idx, "
                       "label, score, x1, y1, x2, y2) "
                       "VALUES ('lobby', 1, 1788220800000000, 'm', 0, 'car', 0.5, 1, 2, 3, 4);");
        sqlite3_close(conn);

        char err[512] = "", expect[128];
        assert_null(open_store(fx, 0, err, sizeof(err)));
        snprintf(expect, sizeof(expect), "store schema version %d, this vigil needs %d", old, want);
        if (!strstr(err, expect)) fail_msg("\"%s\" does not say \"%s\"", err, expect);

        vigil_store_t *s = open_store(fx, 1, err, sizeof(err));
        if (!s) fail_msg("migrating from %d: %s", old, err);
        assert_int_equal(vigil_store_schema_version(s), want);
        int from = -1, to = -1;
        assert_int_equal(vigil_store_migrate(s, &from, &to, err, sizeof(err)), VIGIL_OK);
        assert_int_equal(from, old);
        assert_int_equal(to, want);
        vigil_store_counts_t c;
        assert_int_equal(vigil_store_counts(s, "lobby", &c), VIGIL_OK);
        assert_int_equal(c.cameras, 1);
        assert_int_equal(c.frames, 1);
        assert_int_equal(c.detections, 1);
        /* and the new tables work */
        one_of_each_t o;
        one_of_each_init(&o, "lobby");
        assert_int_equal(vigil_store_analytics_commit(s, &o.batch, 1, err, sizeof(err)), VIGIL_OK);
        vigil_store_close(s);
        conn = raw_open(fx);
        assert_int_equal(analytics_rows(conn), 4);
        sqlite3_close(conn);
    }
}

static void test_store_sqlite_failure_inside_the_commit_rolls_back_every_batch(void **state)
{
    fixture_t *fx = *state;
    char err[512] = "";
    vigil_store_t *s = open_store(fx, 1, err, sizeof(err));
    assert_non_null(s);
    sqlite3 *conn = raw_open(fx);
    /* valid input the database refuses, late in the second batch */
    raw_exec(conn, "CREATE TRIGGER refuse BEFORE INSERT ON track_points "
                   "WHEN NEW.camera_id = 'cam-b' BEGIN SELECT RAISE(ABORT, 'forced'); END");
    one_of_each_t a, b;
    one_of_each_init(&a, "cam-a");
    one_of_each_init(&b, "cam-b");
    vigil_analytics_camera_batch_t batches[2] = {a.batch, b.batch};
    vigil_err_t rc = vigil_store_analytics_commit(s, batches, 2, err, sizeof(err));
    assert_int_equal(rc, VIGIL_ERR_INVALID); /* a row refused: the refused class, not fatal */
    if (!strstr(err, "camera \"cam-b\"") || !strstr(err, "track point") || !strstr(err, "forced"))
        fail_msg("the message does not say what failed: %s", err);
    assert_int_equal(analytics_rows(conn), 0);

    /* the handle is not left inside a transaction: it writes again */
    raw_exec(conn, "DROP TRIGGER refuse");
    assert_int_equal(vigil_store_analytics_commit(s, batches, 2, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(analytics_rows(conn), 8);
    sqlite3_close(conn);
    vigil_store_close(s);
}

static void test_store_sqlite_event_upsert_keeps_id_and_reviewed(void **state)
{
    fixture_t *fx = *state;
    char err[512] = "";
    vigil_store_t *s = open_store(fx, 1, err, sizeof(err));
    assert_non_null(s);
    vigil_analytics_event_t ev = line_event("cam", 3, 20);
    vigil_analytics_camera_batch_t b = {.camera_id = "cam", .events = &ev, .nevents = 1};
    assert_int_equal(vigil_store_analytics_commit(s, &b, 1, err, sizeof(err)), VIGIL_OK);
    sqlite3 *conn = raw_open(fx);
    long long id = raw_int(conn, "SELECT id FROM analytics_events");
    raw_exec(conn, "UPDATE analytics_events SET reviewed = 1");
    ev.updated_sequence = 30;
    ev.peak_score = 0.75f;
    assert_int_equal(vigil_store_analytics_commit(s, &b, 1, err, sizeof(err)), VIGIL_OK);
    vigil_analytics_event_row_t row;
    assert_int_equal(vigil_store_analytics_event_get(s, id, &row), VIGIL_OK);
    assert_int_equal(row.reviewed, 1);
    assert_int_equal(row.ev.updated_sequence, 30);
    assert_true(row.ev.peak_score == 0.75f);
    assert_int_equal(raw_int(conn, "SELECT count(*) FROM analytics_events"), 1);

    /* kinds and directions are stored by their names */
    sqlite3_stmt *st = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(conn, "SELECT kind, direction FROM analytics_events", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "line_cross");
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "out");
    sqlite3_finalize(st);
    sqlite3_close(conn);
    vigil_store_close(s);
}

/* EXPLAIN QUERY PLAN of sql, its lines joined by '\n' into out. */
static void plan_of(sqlite3 *conn, const char *sql, char *out, size_t size)
{
    char eqp[2048];
    snprintf(eqp, sizeof(eqp), "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(conn, eqp, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(conn));
    size_t len = 0;
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(st, 3);
        int n = snprintf(out + len, size - len, "%s\n", detail ? detail : "");
        if (n > 0 && (size_t)n < size - len) len += (size_t)n;
    }
    sqlite3_finalize(st);
}

/* Fails unless every table access in the plan goes through an index (a
 * SEARCH, or a SCAN in index order) and nothing is sorted, unless
 * sort_ok. */
static void assert_indexed(sqlite3 *conn, const char *sql, int sort_ok)
{
    char plan[4096];
    plan_of(conn, sql, plan, sizeof(plan));
    for (const char *line = plan; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        int scan = strncmp(line, "SCAN ", 5) == 0;
        int bad = (scan && !memmem(line, n, " INDEX ", 7)) ||
                  (!sort_ok && memmem(line, n, "TEMP B-TREE", 11));
        if (bad) {
            print_error("%s\nplan:\n%s", sql, plan);
            fail();
        }
        line += n + (end ? 1 : 0);
    }
}

static void test_store_sqlite_analytics_statements_use_indexes(void **state)
{
    fixture_t *fx = *state;
    char err[512] = "", sql[1024];
    vigil_store_t *s = open_store(fx, 1, err, sizeof(err));
    assert_non_null(s);
    sqlite3 *conn = raw_open(fx);
    /* every filter combination of the events query pages without sorting */
    for (int mask = 0; mask < SQA_E_VARIANTS; mask++) {
        assert_int_equal(vigil__sq_events_query_sql(mask, sql, sizeof(sql)), 0);
        assert_indexed(conn, sql, 0);
    }
    /* the ones a camera filter narrows start from the camera */
    char plan[4096];
    assert_int_equal(vigil__sq_events_query_sql(SQA_E_CAMERA | SQA_E_AFTER, sql, sizeof(sql)), 0);
    plan_of(conn, sql, plan, sizeof(plan));
    if (!strstr(plan, "INDEX analytics_events_camera_time (camera_id=? AND start_us<?)"))
        fail_msg("%s\nplan:\n%s", sql, plan);
    assert_int_equal(
        vigil__sq_events_query_sql(SQA_E_CAMERA | SQA_E_ZONE | SQA_E_KIND, sql, sizeof(sql)), 0);
    plan_of(conn, sql, plan, sizeof(plan));
    if (!strstr(plan, "INDEX analytics_events_camera_rule (camera_id=? AND zone=? AND line=?)"))
        fail_msg("%s\nplan:\n%s", sql, plan);
    /* counts: grouping sorts, but rows are found by index when a camera or
     * a start is given (an end alone keeps most rows: a scan is right) */
    for (int mask = 0; mask < SQA_C_VARIANTS; mask++) {
        if (!(mask & (SQA_C_CAMERA | SQA_C_SINCE))) continue;
        assert_int_equal(vigil__sq_counts_query_sql(mask, sql, sizeof(sql)), 0);
        assert_indexed(conn, sql, 1);
    }
    /* reads by key and every sweep */
    const vigil__sqa_stmt_t indexed[] = {
        SQA_STATE_GET,        SQA_EVENT_GET,           SQA_TRACK_POINTS,
        SQA_SWEEP_EVENTS_ALL, SQA_SWEEP_EVENTS_CAMERA, SQA_SWEEP_POINTS_ALL,
        SQA_SWEEP_POINTS_CAMERA, SQA_SWEEP_COUNTS_ALL, SQA_SWEEP_COUNTS_CAMERA,
    };
    for (size_t i = 0; i < sizeof(indexed) / sizeof(indexed[0]); i++)
        assert_indexed(conn, vigil__sqa_sql(indexed[i]), 0);
    assert_indexed(conn, vigil__sq_sql(SQ_FRAMES_RANGE), 0);
    /* and the writes prepare (their conflict targets name unique keys) */
    const vigil__sqa_stmt_t writes[] = {SQA_EVENT_UPSERT, SQA_POINT_INSERT, SQA_COUNT_UPSERT,
                                        SQA_STATE_UPSERT};
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(conn, vigil__sqa_sql(writes[i]), -1, &st, NULL) != SQLITE_OK)
            fail_msg("%s: %s", vigil__sqa_sql(writes[i]), sqlite3_errmsg(conn));
        sqlite3_finalize(st);
    }
    sqlite3_close(conn);
    vigil_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_store_sqlite_migrates_each_older_schema_keeping_its_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_store_sqlite_failure_inside_the_commit_rolls_back_every_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_sqlite_event_upsert_keeps_id_and_reviewed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_sqlite_analytics_statements_use_indexes, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
