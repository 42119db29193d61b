/* Unit tests of schema step 3 of the SQLite store (sqlite_schema.c): frames
 * and detections rebuilt with AUTOINCREMENT from a version 2 database,
 * keeping every row, its id and the indexes; ids not reused after the rows
 * are gone; frames.detection_count of the rows that were there; and the
 * start-up look for frames not processed served by its partial index. */
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

typedef su_fixture_t fixture_t;
#define setup su_setup
#define teardown su_teardown

static vigil_store_t *open_store(fixture_t *fx, char *err, size_t err_size)
{
    return su_open_store(fx, 1, err, err_size);
}

static void raw_exec(sqlite3 *conn, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(conn, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("%s: %s", sql, msg);
}

/* The first column of the first row as an integer (-1: no row), or its
 * text into text. */
static long long raw_one(sqlite3 *conn, const char *sql, char *text, size_t text_size)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(conn, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(conn));
    if (sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
        if (text) {
            const unsigned char *s = sqlite3_column_text(st, 0);
            snprintf(text, text_size, "%s", s ? (const char *)s : "");
        }
    }
    sqlite3_finalize(st);
    return v;
}

/* Names of the explicit indexes on a table, sorted, joined with ' '. */
static void indexes_of(sqlite3 *conn, const char *table, char *out, size_t size)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE "
             "type = 'index' AND tbl_name = '%s' AND sql IS NOT NULL ORDER BY name)",
             table);
    raw_one(conn, sql, out, size);
}

/* A database as vigil of schema version 2 left it: ids with holes (rows
 * deleted), a frame with two detections, one without, one detection of a
 * frame it never stored. */
static void make_v2(fixture_t *fx)
{
    sqlite3 *conn = NULL;
    assert_int_equal(sqlite3_open(fx->db, &conn), SQLITE_OK);
    raw_exec(conn, "PRAGMA journal_mode = WAL");
    raw_exec(conn, vigil__sq_migration_sql(1));
    raw_exec(conn, vigil__sq_migration_sql(2));
    raw_exec(conn, "PRAGMA user_version = 2");
    raw_exec(conn,
             "INSERT INTO frames (id, camera_id, sequence, capture_time_us, width, height, "
             "size_bytes, motion_score, keyframe, path) VALUES "
             "(3, 'door', 30, 31536000000000, 640, 480, 100, 0.5, 1, 'frames/door/30.jpg'),"
             "(7, 'door', 70, 31536000000001, 640, 480, 200, 0.25, 0, 'frames/door/70.jpg');"
             "INSERT INTO detections (id, camera_id, sequence, frame_id, capture_time_us, model, "
             "idx, label, score, x1, y1, x2, y2) VALUES "
             "(5, 'door', 70, 7, 31536000000001, 'm', 0, 'car', 0.5, 1, 2, 3, 4),"
             "(11, 'door', 70, 7, 31536000000001, 'm', 1, 'dog', 0.75, 5, 6, 7, 8),"
             "(12, 'door', 99, NULL, 31536000000002, 'm', 0, 'cat', 0.5, 1, 1, 2, 2);");
    sqlite3_close(conn);
}

static void test_store_sqlite_migration_from_2_keeps_rows_ids_and_indexes(void **state)
{
    fixture_t *fx = *state;
    char err[512] = "", before_f[512], before_d[512], after[512], text[2048];
    make_v2(fx);
    sqlite3 *conn = NULL;
    assert_int_equal(sqlite3_open(fx->db, &conn), SQLITE_OK);
    indexes_of(conn, "frames", before_f, sizeof(before_f));
    indexes_of(conn, "detections", before_d, sizeof(before_d));
    sqlite3_close(conn);

    vigil_store_t *s = open_store(fx, err, sizeof(err));
    if (!s) fail_msg("migrating from 2: %s", err);
    assert_int_equal(vigil_store_schema_version(s), vigil_store_expected_version());

    assert_int_equal(sqlite3_open(fx->db, &conn), SQLITE_OK);
    sqlite3_busy_timeout(conn, 30000);
    raw_one(conn, "SELECT sql FROM sqlite_master WHERE name = 'frames'", text, sizeof(text));
    assert_non_null(strstr(text, "AUTOINCREMENT"));
    raw_one(conn, "SELECT sql FROM sqlite_master WHERE name = 'detections'", text, sizeof(text));
    assert_non_null(strstr(text, "AUTOINCREMENT"));
    /* the same indexes (frames gains the one for start-up), the same keys */
    indexes_of(conn, "frames", after, sizeof(after));
    char want[600];
    snprintf(want, sizeof(want), "%s frames_unprocessed", before_f);
    assert_string_equal(after, want);
    indexes_of(conn, "detections", after, sizeof(after));
    assert_string_equal(after, before_d);
    assert_int_equal(raw_one(conn, "SELECT count(*) FROM pragma_index_list('frames') WHERE "
                                   "\"unique\" = 1 AND origin = 'u'",
                             NULL, 0),
                     1);
    assert_int_equal(raw_one(conn, "SELECT count(*) FROM pragma_index_list('detections') WHERE "
                                   "\"unique\" = 1 AND origin = 'u'",
                             NULL, 0),
                     1);
    /* every row with its id; the frames count as processed with their rows */
    assert_int_equal(raw_one(conn, "SELECT group_concat(id || ':' || sequence || ':' || "
                                   "coalesce(detection_count, 'null'), ' ') FROM "
                                   "(SELECT * FROM frames ORDER BY id)",
                             text, sizeof(text)),
                     3);
    assert_string_equal(text, "3:30:0 7:70:2");
    raw_one(conn, "SELECT group_concat(id || ':' || label || ':' || coalesce(frame_id, 0), ' ') "
                  "FROM (SELECT * FROM detections ORDER BY id)",
            text, sizeof(text));
    assert_string_equal(text, "5:car:7 11:dog:7 12:cat:0");
    assert_int_equal(raw_one(conn, "SELECT seq FROM sqlite_sequence WHERE name = 'frames'", NULL,
                             0),
                     7);
    assert_int_equal(raw_one(conn, "SELECT seq FROM sqlite_sequence WHERE name = 'detections'",
                             NULL, 0),
                     12);
    /* nothing left of the rebuild */
    assert_int_equal(raw_one(conn, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_v3'",
                             NULL, 0),
                     0);
    assert_int_equal(raw_one(conn, "PRAGMA integrity_check", text, sizeof(text)), 0);
    assert_string_equal(text, "ok");

    /* retention empties both tables; new rows still get larger ids */
    vigil_sweep_result_t r;
    assert_int_equal(vigil_store_sweep(s, NULL, 31536000000000 + 1000, &r), VIGIL_OK);
    assert_int_equal(r.frames_deleted, 2);
    assert_int_equal(r.detections_deleted, 3);
    assert_int_equal(raw_one(conn, "SELECT count(*) FROM frames", NULL, 0), 0);
    assert_int_equal(raw_one(conn, "SELECT count(*) FROM detections", NULL, 0), 0);
    static const unsigned char jpeg[] = {0xff, 0xd8, 0xff, 0xd9};
    vigil_frame_row_t f = {0};
    snprintf(f.camera_id, sizeof(f.camera_id), "door");
    f.sequence = 80;
    f.capture_time_us = 31536000000003;
    assert_int_equal(vigil_store_frame_put(s, &f, jpeg, sizeof(jpeg), err, sizeof(err)), VIGIL_OK);
    assert_int_equal(f.id, 8);
    vigil_detection_row_t d = {0};
    snprintf(d.camera_id, sizeof(d.camera_id), "door");
    snprintf(d.model, sizeof(d.model), "m");
    d.sequence = 80;
    vigil_frame_result_t res = {.camera_id = "door", .sequence = 80, .rows = &d, .n = 1};
    assert_int_equal(vigil_store_results_put(s, &res, 1, NULL, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(raw_one(conn, "SELECT max(id) FROM detections", NULL, 0), 13);
    sqlite3_close(conn);
    vigil_store_close(s);
}

/* EXPLAIN QUERY PLAN of sql, its lines joined into out. */
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

static void test_store_sqlite_start_up_look_for_unprocessed_frames_uses_its_index(void **state)
{
    fixture_t *fx = *state;
    char err[512] = "", plan[2048];
    vigil_store_t *s = open_store(fx, err, sizeof(err));
    assert_non_null(s);
    sqlite3 *conn = NULL;
    assert_int_equal(sqlite3_open(fx->db, &conn), SQLITE_OK);
    plan_of(conn, vigil__sq_sql(SQ_FRAMES_UNPROCESSED), plan, sizeof(plan));
    if (!strstr(plan, "frames_unprocessed") || strstr(plan, "TEMP B-TREE"))
        fail_msg("plan of the unprocessed frames look:\n%s", plan);
    plan_of(conn, vigil__sq_sql(SQ_FRAME_MARK_PROCESSED), plan, sizeof(plan));
    if (!strstr(plan, "sqlite_autoindex_frames"))
        fail_msg("plan of the processed mark:\n%s", plan);
    sqlite3_close(conn);
    vigil_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_store_sqlite_migration_from_2_keeps_rows_ids_and_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_store_sqlite_start_up_look_for_unprocessed_frames_uses_its_index, setup,
            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
