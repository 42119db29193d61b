/* The search on MongoDB gives what it gives on SQLite: the same events and
 * detections seeded into a SQLite store and into a MongoDB store
 * (VIGIL_STORE_URL mongodb://, tests/with_server.sh ferretdb: ctest runs
 * this as test_store_search_backends_mongo), then a dozen queries - each
 * filter, free text with regex metacharacters, cursor paging through both
 * tables to the end, facets - compared item by item (type, id, time, in
 * order) and facet by facet, the backends' own functions called directly
 * (vigil__sq_search, vigil__mongo_search).
 *
 * Exits 77 (skipped) when VIGIL_STORE_URL is not a mongodb:// URL or the
 * store is built without MongoDB: on SQLite alone there is nothing to
 * compare with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_resources_int.h"
#include "store_backend.h"
#include "vigil/store.h"

vigil_err_t vigil__mongo_search(vigil_store_t *store, const vigil_search_query_t *q,
                                vigil_search_result_t *res, char *errstr, size_t errstr_size);

static vigil_store_t *sb_sq, *sb_mg;
static vigil_test_store_t sb_t;
static char sb_dir[128];

#define T0 1700000000000000LL

static vigil_store_t *sb_open(const char *url)
{
    char err[512];
    vigil_store_conf_t conf;
    vigil_store_conf_init(&conf);
    conf.url = url;
    conf.data_dir = sb_dir;
    conf.migrate = 1;
    vigil_store_t *s = vigil_store_open(&conf, err, sizeof(err));
    if (!s) fprintf(stderr, "open %s: %s\n", url, err);
    return s;
}

static const char *const sb_cams[] = {"cam.a", "cam-b", "camx"};
static const char *const sb_names[] = {"Front a.b*Door", "Back", "Yard"};
static const char *const sb_labels[] = {"person", "car", "a.b*c", "aXbbc"};

static void sb_seed(vigil_store_t *s)
{
    char err[512];
    for (int c = 0; c < 3; c++) {
        vigil_camera_row_t cam = {0};
        snprintf(cam.id, sizeof(cam.id), "%s", sb_cams[c]);
        snprintf(cam.name, sizeof(cam.name), "%s", sb_names[c]);
        snprintf(cam.status, sizeof(cam.status), "online");
        cam.fps = 5;
        cam.enabled = 1;
        assert_int_equal(vigil_store_camera_upsert(s, &cam), VIGIL_OK);
    }
    /* 3 x 14 events, times in steps of 1 s with equal times across tables */
    for (int c = 0; c < 3; c++) {
        vigil_analytics_event_t ev[14];
        memset(ev, 0, sizeof(ev));
        for (int i = 0; i < 14; i++) {
            vigil_analytics_event_t *e = &ev[i];
            e->kind = i % 3 == 0 ? VIGIL_EVENT_LINE_CROSS : (i % 3 == 1 ? VIGIL_EVENT_ZONE_ENTER
                                                                        : VIGIL_EVENT_LOITER);
            snprintf(e->camera_id, sizeof(e->camera_id), "%s", sb_cams[c]);
            snprintf(e->label, sizeof(e->label), "%s", sb_labels[(i + c) % 4]);
            e->track_id = (uint64_t)(i + 1);
            if (e->kind == VIGIL_EVENT_LINE_CROSS) {
                snprintf(e->line, sizeof(e->line), "%s", i % 2 ? "Line1" : "gate");
                e->direction = 1;
            } else {
                snprintf(e->zone, sizeof(e->zone), "%s", i % 2 ? "zone1" : "Dock");
            }
            e->start_sequence = (uint64_t)(i * 10 + 1);
            e->start_us = T0 + (int64_t)((i * 3 + c) % 20) * 1000000;
            e->end_us = e->start_us + 500000;
            e->end_sequence = e->start_sequence + 5;
            e->peak_score = 0.3f + 0.05f * (float)i;
            e->updated_sequence = e->end_sequence;
        }
        vigil_analytics_camera_batch_t b = {.camera_id = sb_cams[c], .events = ev, .nevents = 14};
        assert_int_equal(vigil_store_analytics_commit(s, &b, 1, err, sizeof(err)), VIGIL_OK);
    }
    /* 60 detections */
    vigil_detection_row_t d[60];
    memset(d, 0, sizeof(d));
    for (int i = 0; i < 60; i++) {
        snprintf(d[i].camera_id, sizeof(d[i].camera_id), "%s", sb_cams[i % 3]);
        d[i].sequence = (uint64_t)(i / 3 + 1);
        d[i].capture_time_us = T0 + (int64_t)(i % 20) * 1000000;
        snprintf(d[i].model, sizeof(d[i].model), "m");
        d[i].idx = i % 2;
        snprintf(d[i].label, sizeof(d[i].label), "%s", sb_labels[(i / 2) % 4]);
        d[i].score = 0.2f + 0.013f * (float)i;
        d[i].x2 = d[i].y2 = 10;
    }
    size_t ins = 0;
    assert_int_equal(vigil_store_detections_put(s, d, 60, &ins, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(ins, 60);
}

static int sb_setup(void **state)
{
    (void)state;
    if (!vigil_test_store_is_mongo()) return -1;
    snprintf(sb_dir, sizeof(sb_dir), "/tmp/vigil-search-be-%ld", (long)getpid());
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", sb_dir, sb_dir);
    if (system(cmd) != 0) return -1;
    if (vigil_test_store_init(&sb_t) != 0) return -1;
    sb_sq = sb_open("sqlite");
    sb_mg = sb_open(sb_t.url);
    if (!sb_sq || !sb_mg) return -1;
    sb_seed(sb_sq);
    sb_seed(sb_mg);
    return 0;
}

static int sb_teardown(void **state)
{
    (void)state;
    char cmd[256];
    if (sb_sq) vigil_store_close(sb_sq);
    if (sb_mg) vigil_store_close(sb_mg);
    vigil_test_store_release(&sb_t);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sb_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void sb_query_init(vigil_search_query_t *q)
{
    memset(q, 0, sizeof(*q));
    q->types = VIGIL_SEARCH_EVENTS | VIGIL_SEARCH_DETECTIONS;
    q->limit = 500;
    q->facets = 1;
}

static int64_t sb_time(const vigil_search_item_t *it)
{
    return it->is_event ? it->event.ev.start_us : it->detection.capture_time_us;
}

static int64_t sb_id(const vigil_search_item_t *it)
{
    return it->is_event ? it->event.id : it->detection.id;
}

/* Runs q on both stores and compares; returns the item count. */
static size_t sb_compare(const char *what, const vigil_search_query_t *q, int *more)
{
    vigil_search_result_t a = {0}, b = {0};
    char ea[512] = "", eb[512] = "";
    vigil_err_t ra = vigil__sq_search(sb_sq, q, &a, ea, sizeof(ea));
    vigil_err_t rb = vigil__mongo_search(sb_mg, q, &b, eb, sizeof(eb));
    if (ra || rb) fprintf(stderr, "%s: sqlite %d %s / mongo %d %s\n", what, ra, ea, rb, eb);
    assert_int_equal(ra, VIGIL_OK);
    assert_int_equal(rb, VIGIL_OK);
    if (a.nitems != b.nitems || a.more != b.more)
        fprintf(stderr, "%s: sqlite %zu items more %d, mongo %zu more %d\n", what, a.nitems,
                a.more, b.nitems, b.more);
    assert_int_equal(a.nitems, b.nitems);
    assert_int_equal(a.more, b.more);
    for (size_t i = 0; i < a.nitems; i++) {
        assert_int_equal(a.items[i].is_event, b.items[i].is_event);
        assert_int_equal(sb_id(&a.items[i]), sb_id(&b.items[i]));
        assert_int_equal(sb_time(&a.items[i]), sb_time(&b.items[i]));
    }
    assert_int_equal(a.nfacets, b.nfacets);
    assert_int_equal(a.facets_truncated, b.facets_truncated);
    for (size_t i = 0; i < a.nfacets; i++) {
        assert_int_equal(a.facets[i].dim, b.facets[i].dim);
        assert_string_equal(a.facets[i].value, b.facets[i].value);
        assert_int_equal(a.facets[i].count, b.facets[i].count);
    }
    size_t n = a.nitems;
    if (more) *more = a.more;
    printf("%-28s %3zu items, %2zu facets: same\n", what, n, a.nfacets);
    vigil_search_result_release(&a);
    vigil_search_result_release(&b);
    return n;
}

static void test_search_filters_agree(void **state)
{
    (void)state;
    vigil_search_query_t q;
    static const char *const cams[] = {"cam.a", "camx"};
    static const char *const labels[] = {"a.b*c", "person"};
    static const char *const zones[] = {"zone1"};
    static const char *const lines[] = {"gate"};

    sb_query_init(&q);
    assert_int_equal(sb_compare("all", &q, NULL), 102);
    sb_query_init(&q);
    q.cameras = cams, q.ncameras = 2;
    assert_true(sb_compare("cameras", &q, NULL) > 0);
    sb_query_init(&q);
    q.labels = labels, q.nlabels = 2;
    assert_true(sb_compare("labels", &q, NULL) > 0);
    sb_query_init(&q);
    q.zones = zones, q.nzones = 1;
    assert_true(sb_compare("zones", &q, NULL) > 0);
    q.lines = lines, q.nlines = 1;
    assert_true(sb_compare("zones or lines", &q, NULL) > 0);
    sb_query_init(&q);
    q.lines = lines, q.nlines = 1;
    assert_true(sb_compare("lines", &q, NULL) > 0);
    sb_query_init(&q);
    q.since_us = T0 + 5000000, q.until_us = T0 + 12000000;
    assert_true(sb_compare("time range", &q, NULL) > 0);
    sb_query_init(&q);
    q.min_score = 0.6;
    assert_true(sb_compare("min score", &q, NULL) > 0);
    sb_query_init(&q);
    q.reviewed = VIGIL_REVIEWED_NO;
    assert_true(sb_compare("unreviewed", &q, NULL) > 0);
    q.reviewed = VIGIL_REVIEWED_YES;
    assert_int_equal(sb_compare("reviewed", &q, NULL), 0);
    sb_query_init(&q);
    q.types = VIGIL_SEARCH_EVENTS;
    assert_int_equal(sb_compare("events only", &q, NULL), 42);
    q.types = VIGIL_SEARCH_DETECTIONS;
    assert_int_equal(sb_compare("detections only", &q, NULL), 60);
}

static void test_search_text_agrees(void **state)
{
    (void)state;
    vigil_search_query_t q;
    /* a.b* literally: the label a.b*c and camera cam.a's name, never aXbbc */
    sb_query_init(&q);
    q.text = "a.b*";
    size_t n = sb_compare("text a.b*", &q, NULL);
    assert_true(n > 0);
    sb_query_init(&q);
    q.text = "A.B*C";
    assert_true(sb_compare("text A.B*C (case)", &q, NULL) > 0);
    sb_query_init(&q);
    q.text = "ZONE1";
    assert_true(sb_compare("text ZONE1", &q, NULL) > 0);
    sb_query_init(&q);
    q.text = "yard";
    assert_true(sb_compare("text yard (camera name)", &q, NULL) > 0);
    sb_query_init(&q);
    q.text = "(x|[y]^$)+?{1}\\";
    assert_int_equal(sb_compare("text metacharacters", &q, NULL), 0);
    sb_query_init(&q);
    q.text = "a_b%";
    assert_int_equal(sb_compare("text a_b%", &q, NULL), 0);
}

static void test_search_pages_agree_to_the_end(void **state)
{
    (void)state;
    vigil_search_query_t q;
    int64_t seen_ev[64] = {0}, seen_det[64] = {0};
    size_t total = 0, pages = 0;
    int more = 1;
    sb_query_init(&q);
    q.limit = 7;
    q.facets = 0;
    while (more) {
        char what[32];
        snprintf(what, sizeof(what), "page %zu", pages++);
        vigil_search_result_t a = {0};
        char ea[256];
        size_t n = sb_compare(what, &q, &more);
        assert_int_equal(vigil__sq_search(sb_sq, &q, &a, ea, sizeof(ea)), VIGIL_OK);
        assert_int_equal(a.nitems, n);
        for (size_t i = 0; i < a.nitems; i++) {
            int64_t id = sb_id(&a.items[i]);
            assert_true(id > 0 && id < 64);
            int64_t *seen = a.items[i].is_event ? seen_ev : seen_det;
            assert_int_equal(seen[id], 0); /* no repeat */
            seen[id] = 1;
        }
        total += a.nitems;
        if (a.nitems) {
            const vigil_search_item_t *last = &a.items[a.nitems - 1];
            q.after_time_us = sb_time(last);
            q.after_event = last->is_event;
            q.after_id = sb_id(last);
        }
        vigil_search_result_release(&a);
        assert_true(pages < 100);
    }
    assert_int_equal(total, 102); /* no skip */
    printf("paged %zu items in %zu pages of 7\n", total, pages);
}

#ifdef VIGIL_STORE_HAVE_MONGO
/* Whether the detections collection of t's database has the index name. */
static int sb_has_index(mongoc_client_t *c, const char *name)
{
    mongoc_collection_t *coll = mongoc_client_get_collection(c, sb_t.db, "detections");
    mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
    const bson_t *doc;
    int found = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, doc, "name") && BSON_ITER_HOLDS_UTF8(&it) &&
            strcmp(bson_iter_utf8(&it, NULL), name) == 0)
            found = 1;
    }
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    return found;
}

/* The page's sort has its index (detection_time_id), also on a database
 * made before it: without the "search" mark a migrating open adds it. */
static void test_search_index_is_made_on_an_older_database(void **state)
{
    (void)state;
    mongoc_client_t *c = mongoc_client_new(sb_t.url);
    assert_non_null(c);
    assert_true(sb_has_index(c, "detection_time_id"));
    bson_error_t error;
    mongoc_database_t *db = mongoc_client_get_database(c, sb_t.db);
    bson_t *cmd = BCON_NEW("dropIndexes", BCON_UTF8("detections"), "index",
                           BCON_UTF8("detection_time_id"));
    assert_true(mongoc_database_write_command_with_opts(db, cmd, NULL, NULL, &error));
    bson_destroy(cmd);
    mongoc_collection_t *meta = mongoc_client_get_collection(c, sb_t.db, "vigil_meta");
    bson_t *mark = BCON_NEW("_id", BCON_UTF8("search"));
    assert_true(mongoc_collection_delete_one(meta, mark, NULL, NULL, &error));
    bson_destroy(mark);
    mongoc_collection_destroy(meta);
    mongoc_database_destroy(db);
    assert_false(sb_has_index(c, "detection_time_id"));
    vigil_store_close(sb_mg);
    sb_mg = sb_open(sb_t.url);
    assert_non_null(sb_mg);
    assert_true(sb_has_index(c, "detection_time_id"));
    vigil_store_close(sb_mg); /* again: the index exists, nothing asked for */
    sb_mg = sb_open(sb_t.url);
    assert_non_null(sb_mg);
    mongoc_client_destroy(c);
    vigil_search_query_t q;
    sb_query_init(&q);
    assert_int_equal(sb_compare("after the reopen", &q, NULL), 102);
}
#endif

int main(void)
{
#ifndef VIGIL_STORE_HAVE_MONGO
    printf("skip: the store is built without MongoDB\n");
    return 77;
#else
    if (!vigil_test_store_is_mongo()) {
        printf("skip: VIGIL_STORE_URL is not a mongodb:// URL (run as "
               "test_store_search_backends_mongo)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_filters_agree),
        cmocka_unit_test(test_search_text_agrees),
        cmocka_unit_test(test_search_pages_agree_to_the_end),
        cmocka_unit_test(test_search_index_is_made_on_an_older_database),
    };
    return cmocka_run_group_tests(tests, sb_setup, sb_teardown);
#endif
}
