/* Unit tests of the SQLite backend's schema handling: versions older or
 * newer than the binary, the connection pragmas, the tables and indexes, and
 * several handles migrating a fresh file at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store_unit_support.h"
#include "vigil/store.h"

typedef su_fixture_t fixture_t;
#define setup su_setup
#define teardown su_teardown

#define open_store su_open_store

/* Runs one SQL statement on the file with a plain connection; returns the
 * first column of the first row as an integer, or -1. */
static long long raw_sql(const char *db, const char *sql, char *text, size_t text_size)
{
    sqlite3 *conn = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_open(db, &conn) != SQLITE_OK) goto out;
    if (sqlite3_prepare_v2(conn, sql, -1, &st, NULL) != SQLITE_OK) goto out;
    if (sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
        if (text) {
            const unsigned char *s = sqlite3_column_text(st, 0);
            snprintf(text, text_size, "%s", s ? (const char *)s : "");
        }
    } else {
        v = 0;
    }
out:
    sqlite3_finalize(st);
    sqlite3_close(conn);
    return v;
}

static void test_store_sqlite_newer_schema_is_refused_even_with_migrate(void **state)
{
    fixture_t *fx = *state;
    char err[512] = "", sql[64];
    vigil_store_t *s = open_store(fx, 1, err, sizeof(err));
    assert_non_null(s);
    vigil_store_close(s);
    int newer = vigil_store_expected_version() + 1;
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", newer);
    assert_true(raw_sql(fx->db, sql, NULL, 0) >= 0);

    assert_null(open_store(fx, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "newer"));
    assert_non_null(strstr(err, fx->db));
    err[0] = '\0';
    assert_null(open_store(fx, 1, err, sizeof(err)));
    assert_non_null(strstr(err, "newer"));
    /* and it was left alone */
    assert_int_equal(raw_sql(fx->db, "PRAGMA user_version", NULL, 0), newer);
}

static void test_store_sqlite_old_schema_is_refused_naming_versions_and_the_command(void **state)
{
    fixture_t *fx = *state;
    /* an existing file at version 0 holding someone's data */
    assert_true(raw_sql(fx->db, "CREATE TABLE notes (t TEXT)", NULL, 0) >= 0);
    char err[512] = "", want[128];
    assert_null(open_store(fx, 0, err, sizeof(err)));
    snprintf(want, sizeof(want),
             "store schema version 0, this vigil needs %d: run `vigil db migrate`",
             vigil_store_expected_version());
    assert_non_null(strstr(err, want));
    assert_int_equal(raw_sql(fx->db, "PRAGMA user_version", NULL, 0), 0);

    vigil_store_t *s = open_store(fx, 1, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(vigil_store_schema_version(s), vigil_store_expected_version());
    vigil_store_close(s);
    assert_int_equal(raw_sql(fx->db, "SELECT count(*) FROM sqlite_master WHERE name = 'notes'",
                             NULL, 0),
                     1);
}

static void test_store_sqlite_uses_wal_and_creates_tables_and_indexes(void **state)
{
    fixture_t *fx = *state;
    char err[512] = "", text[64];
    vigil_store_t *s = open_store(fx, 1, err, sizeof(err));
    assert_non_null(s);
    raw_sql(fx->db, "PRAGMA journal_mode", text, sizeof(text));
    assert_string_equal(text, "wal");
    const char *names[] = {"cameras",
                           "frames",
                           "detections",
                           "events",
                           "frames_camera_time",
                           "detections_camera_time",
                           "detections_label",
                           "detections_camera",
                           "events_camera_time",
                           "analytics_events",
                           "analytics_events_time",
                           "analytics_events_camera_time",
                           "analytics_events_camera_rule",
                           "analytics_counts",
                           "analytics_counts_minute",
                           "track_points",
                           "track_points_camera_time",
                           "track_points_time",
                           "analytics_state"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_master WHERE name = '%s'",
                 names[i]);
        if (raw_sql(fx->db, sql, NULL, 0) != 1) fail_msg("missing %s", names[i]);
    }
    assert_int_equal(raw_sql(fx->db, "PRAGMA user_version", NULL, 0),
                     vigil_store_expected_version());
    vigil_store_close(s);
}

#define OPENERS 6

typedef struct opener {
    fixture_t *fx;
    int ok, version;
    char err[512];
} opener_t;

static void *opener_thread(void *p)
{
    opener_t *o = p;
    vigil_store_t *s = open_store(o->fx, 1, o->err, sizeof(o->err));
    if (s) {
        o->ok = 1;
        o->version = vigil_store_schema_version(s);
        vigil_store_close(s);
    }
    return NULL;
}

static void test_store_sqlite_concurrent_first_opens_all_migrate_cleanly(void **state)
{
    fixture_t *fx = *state;
    pthread_t th[OPENERS];
    opener_t o[OPENERS];
    memset(o, 0, sizeof(o));
    for (int i = 0; i < OPENERS; i++) {
        o[i].fx = fx;
        assert_int_equal(pthread_create(&th[i], NULL, opener_thread, &o[i]), 0);
    }
    for (int i = 0; i < OPENERS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < OPENERS; i++) {
        if (!o[i].ok) fail_msg("opener %d: %s", i, o[i].err);
        assert_int_equal(o[i].version, vigil_store_expected_version());
    }
    assert_int_equal(raw_sql(fx->db, "SELECT count(*) FROM sqlite_master WHERE name = 'frames'",
                             NULL, 0),
                     1);
}

static void test_store_sqlite_garbage_file_is_refused_naming_it(void **state)
{
    fixture_t *fx = *state;
    FILE *f = fopen(fx->db, "wb");
    assert_non_null(f);
    for (int i = 0; i < 512; i++) fputs("this is not a database ", f);
    fclose(f);
    char err[512] = "";
    assert_null(open_store(fx, 1, err, sizeof(err)));
    assert_non_null(strstr(err, fx->db));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_sqlite_newer_schema_is_refused_even_with_migrate,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_store_sqlite_old_schema_is_refused_naming_versions_and_the_command, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_store_sqlite_uses_wal_and_creates_tables_and_indexes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_store_sqlite_concurrent_first_opens_all_migrate_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_sqlite_garbage_file_is_refused_naming_it, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
