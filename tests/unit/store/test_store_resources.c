/* The warehouse's resources (store.h, "resources"; schema step 5) on real
 * SQLite files: the migration from 4 keeps every camera and event, API
 * cameras are created once, replaced and removed only when they are the
 * API's, the sink's upsert leaves their fields alone and a late one does
 * not bring a removed camera back, rule sets are written only at the
 * version given, reviews are one transaction, open events are not deleted,
 * and the reads the API pages with use indexes; replicas racing on one row
 * (several handles, one thread each) see one winner. The same cases run on
 * PostgreSQL (test_store_resources_postgres, VIGIL_STORE_URL); the
 * migration from SQLite's step 4 and SQLite's query plan are SQLite's own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "store_unit_support.h"
#include "vigil/store.h"

static void raw_exec(sqlite3 *conn, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(conn, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("%s: %s", sql, msg);
}

static vigil_store_t *open_store(su_fixture_t *fx)
{
    char err[512] = "";
    vigil_store_t *s = su_open_store(fx, 1, err, sizeof(err));
    if (!s) fail_msg("open: %s", err);
    return s;
}

static void test_store_migration_from_4_keeps_cameras_and_events(void **state)
{
    su_fixture_t *fx = *state;
    sqlite3 *conn = NULL;

    assert_int_equal(sqlite3_open(fx->db, &conn), SQLITE_OK);
    raw_exec(conn, "PRAGMA journal_mode = WAL");
    for (int v = 1; v <= 4; v++) raw_exec(conn, vigil__sq_migration_sql(v));
    raw_exec(conn, "PRAGMA user_version = 4");
    raw_exec(conn,
             "INSERT INTO cameras (id, name, url, fps, enabled, status) VALUES "
             "('door', 'Door', 'rtsp://u:***@h/s', 5, 1, 'online');"
             "INSERT INTO analytics_events (camera_id, kind, label, track_id, zone, "
             "start_sequence, start_us, updated_sequence, reviewed) VALUES "
             "('door', 'zone_enter', 'person', 1, 'mat', 1, 1000, 1, 1);");
    sqlite3_close(conn);

    vigil_store_t *s = open_store(fx);
    assert_int_equal(vigil_store_schema_version(s), vigil_store_expected_version());
    vigil_camera_record_t rec;
    char err[256];
    assert_int_equal(vigil_store_camera_get(s, "door", 1, &rec, err, sizeof(err)), VIGIL_OK);
    assert_string_equal(rec.row.name, "Door");
    assert_string_equal(rec.origin, "");
    assert_string_equal(rec.source_url, "");
    assert_true(rec.retention_hours < 0);
    vigil_event_query_t q = {.limit = 10, .reviewed = VIGIL_REVIEWED_YES};
    vigil_analytics_event_row_t *rows = NULL;
    size_t n = 0;
    int64_t a, b;
    assert_int_equal(vigil_store_analytics_events_query(s, &q, &rows, &n, &a, &b), VIGIL_OK);
    assert_int_equal(n, 1);
    assert_true(rows[0].reviewed);
    assert_int_equal(rows[0].reviewed_us, 0);
    free(rows);
    vigil_store_close(s);
}

static vigil_camera_record_t api_camera(const char *id, const char *secret_url)
{
    vigil_camera_record_t rec;
    memset(&rec, 0, sizeof(rec));
    snprintf(rec.row.id, sizeof(rec.row.id), "%s", id);
    snprintf(rec.row.name, sizeof(rec.row.name), "Cam %s", id);
    snprintf(rec.row.url, sizeof(rec.row.url), "rtsp://u:***@h/%s", id);
    snprintf(rec.source_url, sizeof(rec.source_url), "%s", secret_url);
    snprintf(rec.row.status, sizeof(rec.row.status), "starting");
    rec.row.fps = 5;
    rec.row.enabled = 1;
    rec.retention_hours = 72;
    return rec;
}

static void test_store_api_cameras_are_the_apis_alone(void **state)
{
    su_fixture_t *fx = *state;
    vigil_store_t *s = open_store(fx);
    vigil_camera_record_t rec = api_camera("gate", "rtsp://u:pw@h/gate"), got;
    char err[256];

    assert_int_equal(vigil_store_camera_put(s, &rec, 1, 100, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_store_camera_put(s, &rec, 1, 101, err, sizeof(err)), VIGIL_ERR_EXISTS);
    /* the sink's upsert (ingest's status events): status only */
    vigil_camera_row_t ev = {.fps = 1, .enabled = 0};
    snprintf(ev.id, sizeof(ev.id), "gate");
    snprintf(ev.name, sizeof(ev.name), "from the bus");
    snprintf(ev.status, sizeof(ev.status), "online");
    assert_int_equal(vigil_store_camera_upsert(s, &ev), VIGIL_OK);
    assert_int_equal(vigil_store_camera_set_status(s, "gate", "online", ""), VIGIL_OK);
    assert_int_equal(vigil_store_camera_get(s, "gate", 0, &got, err, sizeof(err)), VIGIL_OK);
    assert_string_equal(got.row.name, "Cam gate");
    assert_string_equal(got.row.status, "online");
    assert_true(got.row.enabled);
    assert_string_equal(got.source_url, ""); /* not asked for */
    assert_true(got.retention_hours == 72);
    assert_int_equal(got.created_us, 100);
    assert_int_equal(vigil_store_camera_get(s, "gate", 1, &got, err, sizeof(err)), VIGIL_OK);
    assert_string_equal(got.source_url, "rtsp://u:pw@h/gate");

    /* a camera that is not the API's is neither replaced nor removed */
    vigil_camera_row_t cfg = {.fps = 5, .enabled = 1};
    snprintf(cfg.id, sizeof(cfg.id), "lobby");
    assert_int_equal(vigil_store_camera_upsert(s, &cfg), VIGIL_OK);
    vigil_camera_record_t other = api_camera("lobby", "rtsp://x/y");
    assert_int_equal(vigil_store_camera_put(s, &other, 0, 102, err, sizeof(err)),
                     VIGIL_ERR_EXISTS);
    assert_int_equal(vigil_store_camera_put(s, &other, 1, 102, err, sizeof(err)),
                     VIGIL_ERR_EXISTS);
    assert_int_equal(vigil_store_camera_remove(s, "lobby", 102, err, sizeof(err)),
                     VIGIL_ERR_EXISTS);
    other = api_camera("nope", "rtsp://x/y");
    assert_int_equal(vigil_store_camera_put(s, &other, 0, 102, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);

    /* removed: gone from the lists, its URL and rules with it; a late
     * status event does not bring it back; it can be made again */
    int64_t v = 0;
    assert_int_equal(vigil_store_rules_put(s, "gate", "{\"zones\":[]}", &v, 103, "ann", err,
                                           sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_store_camera_remove(s, "gate", 104, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_store_camera_remove(s, "gate", 104, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_store_camera_upsert(s, &ev), VIGIL_OK);
    assert_int_equal(vigil_store_camera_get(s, "gate", 1, &got, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    vigil_rules_row_t row;
    assert_int_equal(vigil_store_rules_get(s, "gate", &row, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    vigil_camera_record_t *list = NULL;
    size_t n = 0;
    int more = 0;
    assert_int_equal(vigil_store_camera_records(s, NULL, 10, &list, &n, &more, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].row.id, "lobby");
    free(list);
    assert_int_equal(vigil_store_camera_list_api(s, &list, &n, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(n, 0);
    free(list);
    assert_int_equal(vigil_store_camera_put(s, &rec, 1, 105, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_store_camera_list_api(s, &list, &n, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].source_url, "rtsp://u:pw@h/gate");
    free(list);
    /* pages */
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof(id), "p%d", i);
        vigil_camera_record_t r = api_camera(id, "rtsp://h/p");
        assert_int_equal(vigil_store_camera_put(s, &r, 1, 106, err, sizeof(err)), VIGIL_OK);
    }
    assert_int_equal(vigil_store_camera_records(s, "lobby", 3, &list, &n, &more, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(n, 3);
    assert_true(more);
    assert_string_equal(list[0].row.id, "p0");
    free(list);
    assert_int_equal(vigil_store_camera_records(s, "p2", 3, &list, &n, &more, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(n, 2);
    assert_false(more);
    free(list);
    assert_int_equal(vigil_store_camera_records(s, "../x", 3, &list, &n, &more, err, sizeof(err)),
                     VIGIL_ERR_INVALID);
    vigil_store_close(s);
}

static void test_store_rules_are_written_at_the_version_given(void **state)
{
    su_fixture_t *fx = *state;
    vigil_store_t *s = open_store(fx);
    char err[256];
    int64_t v = 0;
    vigil_rules_row_t row;

    assert_int_equal(vigil_store_rules_put(s, "door", "A", &v, 1, "ann", err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(v, 1);
    v = 0; /* stale */
    assert_int_equal(vigil_store_rules_put(s, "door", "B", &v, 2, "bob", err, sizeof(err)),
                     VIGIL_ERR_AGAIN);
    assert_int_equal(v, 1); /* the current one */
    assert_int_equal(vigil_store_rules_put(s, "door", "B", &v, 2, "bob", err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(v, 2);
    v = -1; /* whatever it is */
    assert_int_equal(vigil_store_rules_put(s, "door", "C", &v, 3, NULL, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(v, 3);
    assert_int_equal(vigil_store_rules_get(s, "door", &row, err, sizeof(err)), VIGIL_OK);
    assert_string_equal(row.json, "C");
    assert_int_equal(row.version, 3);
    assert_int_equal(row.updated_us, 3);
    free(row.json);
    vigil_rules_row_t *rows = NULL;
    size_t n = 0;
    assert_int_equal(vigil_store_rules_list(s, &rows, &n, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(n, 1);
    vigil_rules_rows_free(rows, n);
    v = -2;
    assert_int_equal(vigil_store_rules_put(s, "door", "D", &v, 4, NULL, err, sizeof(err)),
                     VIGIL_ERR_INVALID);
    v = 3;
    assert_int_equal(vigil_store_rules_put(s, "a b", "D", &v, 4, NULL, err, sizeof(err)),
                     VIGIL_ERR_INVALID);
    vigil_store_close(s);
}

static void test_store_review_and_delete_events(void **state)
{
    su_fixture_t *fx = *state;
    vigil_store_t *s = open_store(fx);
    char err[256];
    vigil_analytics_event_t ev[2];

    memset(ev, 0, sizeof(ev));
    for (int i = 0; i < 2; i++) {
        ev[i].kind = VIGIL_EVENT_ZONE_ENTER;
        snprintf(ev[i].camera_id, sizeof(ev[i].camera_id), "door");
        snprintf(ev[i].label, sizeof(ev[i].label), "person");
        snprintf(ev[i].zone, sizeof(ev[i].zone), "mat");
        ev[i].track_id = (uint64_t)i + 1;
        ev[i].start_sequence = (uint64_t)i + 1;
        ev[i].start_us = 1000 + i;
        ev[i].open = i; /* the second is open */
        ev[i].end_us = i ? 0 : 2000;
        ev[i].end_sequence = i ? 0 : 5;
        ev[i].updated_sequence = 5;
    }
    vigil_analytics_camera_batch_t b = {.camera_id = "door", .events = ev, .nevents = 2};
    assert_int_equal(vigil_store_analytics_commit(s, &b, 1, err, sizeof(err)), VIGIL_OK);
    vigil_event_query_t q = {.limit = 10};
    vigil_analytics_event_row_t *rows = NULL;
    size_t n = 0, updated = 0;
    int64_t a, c;
    assert_int_equal(vigil_store_analytics_events_query(s, &q, &rows, &n, &a, &c), VIGIL_OK);
    assert_int_equal(n, 2);
    int64_t open_id = rows[0].id, closed_id = rows[1].id, ids[3] = {open_id, closed_id, 999};
    free(rows);

    assert_int_equal(vigil_store_events_review(s, ids, 3, 1, 77, "ann", &updated, err,
                                               sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(updated, 2);
    vigil_analytics_event_row_t row;
    assert_int_equal(vigil_store_analytics_event_get(s, closed_id, &row), VIGIL_OK);
    assert_true(row.reviewed);
    assert_int_equal(row.reviewed_us, 77);
    assert_string_equal(row.reviewed_by, "ann");
    /* an update of the event by analytics keeps the review */
    ev[1].updated_sequence = 6;
    b.events = &ev[1];
    b.nevents = 1;
    assert_int_equal(vigil_store_analytics_commit(s, &b, 1, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_store_analytics_event_get(s, open_id, &row), VIGIL_OK);
    assert_true(row.reviewed);
    q.reviewed = VIGIL_REVIEWED_NO;
    assert_int_equal(vigil_store_analytics_events_query(s, &q, &rows, &n, &a, &c), VIGIL_OK);
    assert_int_equal(n, 0);
    free(rows);

    int64_t zero = 0;
    assert_int_equal(vigil_store_events_review(s, &zero, 1, 1, 78, NULL, &updated, err,
                                               sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_int_equal(vigil_store_event_delete(s, open_id, err, sizeof(err)), VIGIL_ERR_INVALID);
    assert_int_equal(vigil_store_event_delete(s, closed_id, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_store_event_delete(s, closed_id, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_store_analytics_event_get(s, closed_id, &row), VIGIL_ERR_NOT_FOUND);
    /* an id given twice counts twice, on every backend; one that is gone, never */
    int64_t twice[3] = {open_id, open_id, closed_id};
    assert_int_equal(vigil_store_events_review(s, twice, 3, 0, 79, "bo", &updated, err,
                                               sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(updated, 2);
    assert_int_equal(vigil_store_analytics_event_get(s, open_id, &row), VIGIL_OK);
    assert_false(row.reviewed);
    assert_string_equal(row.reviewed_by, "bo");
    vigil_store_close(s);
}

/* ---- replicas racing -------------------------------------------------------- */

#define RACERS 6

typedef struct racer {
    su_fixture_t *fx;
    pthread_barrier_t *go;
    vigil_err_t create, rules; /* what each write answered */
} racer_t;

/* One API replica: its own handle; the same camera create and the same
 * first rule set as every other, at once. */
static void *race(void *arg)
{
    racer_t *r = arg;
    char err[256] = "";
    vigil_store_t *s = su_open_store(r->fx, 0, err, sizeof(err));
    if (!s) {
        r->create = r->rules = VIGIL_ERR_STORE;
        pthread_barrier_wait(r->go);
        return NULL;
    }
    vigil_camera_record_t rec = api_camera("race", "rtsp://u:pw@h/race");
    int64_t version = 0;
    pthread_barrier_wait(r->go);
    r->create = vigil_store_camera_put(s, &rec, 1, 500, err, sizeof(err));
    r->rules = vigil_store_rules_put(s, "race", "{\"zones\":[]}", &version, 501, "racer", err,
                                     sizeof(err));
    vigil_store_close(s);
    return NULL;
}

static void test_store_racing_replicas_have_one_winner(void **state)
{
    su_fixture_t *fx = *state;
    pthread_t t[RACERS];
    racer_t r[RACERS];
    pthread_barrier_t go;
    int created = 0, exists = 0, written = 0, stale = 0;

    vigil_store_close(open_store(fx)); /* migrated once, before the race */
    pthread_barrier_init(&go, NULL, RACERS);
    for (int i = 0; i < RACERS; i++) {
        r[i] = (racer_t){.fx = fx, .go = &go};
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < RACERS; i++) {
        pthread_join(t[i], NULL);
        created += r[i].create == VIGIL_OK;
        exists += r[i].create == VIGIL_ERR_EXISTS;
        written += r[i].rules == VIGIL_OK;
        stale += r[i].rules == VIGIL_ERR_AGAIN; /* version 0 was taken: an ETag mismatch */
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(created, 1);
    assert_int_equal(exists, RACERS - 1);
    assert_int_equal(written, 1);
    assert_int_equal(stale, RACERS - 1);
    vigil_store_t *s = open_store(fx);
    vigil_rules_row_t rules;
    char err[256];
    assert_int_equal(vigil_store_rules_get(s, "race", &rules, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(rules.version, 1);
    free(rules.json);
    vigil_store_close(s);
}

/* The plan of sql (EXPLAIN QUERY PLAN), lines joined. */
static void plan_of(sqlite3 *conn, const char *sql, char *out, size_t size)
{
    char q[2048];
    sqlite3_stmt *st = NULL;
    size_t o = 0;
    snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
    if (sqlite3_prepare_v2(conn, q, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", q, sqlite3_errmsg(conn));
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW && o + 2 < size)
        o += (size_t)snprintf(out + o, size - o, "%s\n", (const char *)sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
}

static void test_store_unreviewed_events_page_by_their_index(void **state)
{
    su_fixture_t *fx = *state;
    char sql[1024], plan[2048];
    vigil_store_close(open_store(fx));
    sqlite3 *conn = NULL;
    assert_int_equal(sqlite3_open(fx->db, &conn), SQLITE_OK);
    assert_int_equal(
        vigil__sq_events_query_sql(SQA_E_UNREVIEWED | SQA_E_AFTER, sql, sizeof(sql)), 0);
    plan_of(conn, sql, plan, sizeof(plan));
    if (!strstr(plan, "analytics_events_unreviewed") || strstr(plan, "TEMP B-TREE"))
        fail_msg("%s\nplan:\n%s", sql, plan);
    sqlite3_close(conn);
}

int main(void)
{
    const struct CMUnitTest both[] = {
        cmocka_unit_test_setup_teardown(test_store_api_cameras_are_the_apis_alone, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_rules_are_written_at_the_version_given,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_review_and_delete_events, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_racing_replicas_have_one_winner, su_setup,
                                        su_teardown),
    };
    const struct CMUnitTest sqlite_only[] = {
        cmocka_unit_test_setup_teardown(test_store_migration_from_4_keeps_cameras_and_events,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_unreviewed_events_page_by_their_index,
                                        su_setup, su_teardown),
    };
    int failed = cmocka_run_group_tests_name("resources", both, NULL, NULL);
    /* SQLite's own: its migration from step 4 and its query plans */
    if (!vigil_test_store_is_pg() && !vigil_test_store_is_mongo())
        failed += cmocka_run_group_tests_name("resources (sqlite)", sqlite_only, NULL, NULL);
    return failed;
}
