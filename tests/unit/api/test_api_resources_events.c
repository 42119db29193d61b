/* The API's event review and delete, search, and system routes end to end
 * over real sockets, on a real SQLite store in a temp data dir filled
 * through store.h: two cameras, frames, detections and analytics events
 * whose times tie on purpose (an event and a detection at the same
 * instant), so that the search's one cursor over both tables is tested
 * where it is easiest to get wrong. test_api_resources_events_postgres runs
 * it all on PostgreSQL (VIGIL_STORE_URL; tests/store_backend.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_support.h"
#include "store_backend.h"
#include "vigil/api.h"
#include "vigil/config.h"
#include "vigil/store.h"

#define JSON_HDR "Content-Type: application/json\r\n"
#define BASE_US INT64_C(1795239062000000) /* 2026-11-21T05:31:02Z */
#define T(seq) (BASE_US + (int64_t)(seq) * 1000000)

static const char *const config_yaml =
    "http: {listen: \"127.0.0.1:0\"}\n"
    "auth: {enabled: false}\n"
    "bus: {url: \"kafka://svc:busword@broker.local:9092\"}\n"
    "store: {retention_hours: 48, max_bytes: 1e9}\n"
    "cameras:\n"
    "  - id: lobby\n"
    "    url: \"rtsp://cfguser:cfgsecret@10.1.1.1/live\"\n"
    "    retention_hours: 12\n"
    "    max_bytes: 2097152\n";

enum { EV_ENTER, EV_CROSS, EV_LOITER, EV_POOL, NEVENTS };

typedef struct fixture {
    char dir[64];
    vigil_config_t cfg;
    vigil_api_t *api;
    int port;
    int64_t ids[NEVENTS];
    int64_t lobby_bytes;
    vigil_test_store_t backend; /* SQLite in dir, or a PostgreSQL schema */
} fixture_t;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static vigil_store_t *open_store(const char *dir, const char *url)
{
    char errstr[256] = "";
    vigil_store_conf_t conf;
    vigil_store_conf_init(&conf);
    conf.url = url;
    conf.data_dir = dir;
    vigil_store_t *store = vigil_store_open(&conf, errstr, sizeof(errstr));
    if (!store) fail_msg("cannot open the store: %s", errstr);
    return store;
}

static void camera(vigil_store_t *store, const char *id, const char *name)
{
    vigil_camera_row_t c = {.fps = 5, .enabled = 1};
    snprintf(c.id, sizeof(c.id), "%s", id);
    snprintf(c.name, sizeof(c.name), "%s", name);
    snprintf(c.status, sizeof(c.status), "online");
    assert_int_equal(vigil_store_camera_upsert(store, &c), VIGIL_OK);
}

static int64_t frame(vigil_store_t *store, const char *cam, int seq, size_t len)
{
    unsigned char jpeg[512];
    char errstr[256];
    memset(jpeg, seq, sizeof(jpeg));
    jpeg[0] = 0xff, jpeg[1] = 0xd8, jpeg[len - 2] = 0xff, jpeg[len - 1] = 0xd9;
    vigil_frame_row_t f = {.sequence = (uint64_t)seq, .capture_time_us = T(seq), .width = 64,
                           .height = 48, .size_bytes = (int64_t)len};
    snprintf(f.camera_id, sizeof(f.camera_id), "%s", cam);
    if (vigil_store_frame_put(store, &f, jpeg, len, errstr, sizeof(errstr)))
        fail_msg("frame: %s", errstr);
    return f.id;
}

static void detection(vigil_store_t *store, const char *cam, int seq, int64_t frame_id,
                      const char *label, float score)
{
    char errstr[256];
    vigil_detection_row_t d = {.sequence = (uint64_t)seq, .frame_id = frame_id,
                               .capture_time_us = T(seq), .score = score, .x1 = 1, .y1 = 2,
                               .x2 = 30, .y2 = 40};
    snprintf(d.camera_id, sizeof(d.camera_id), "%s", cam);
    snprintf(d.model, sizeof(d.model), "testnet");
    snprintf(d.label, sizeof(d.label), "%s", label);
    if (vigil_store_detections_put(store, &d, 1, NULL, errstr, sizeof(errstr)))
        fail_msg("detection: %s", errstr);
}

static vigil_analytics_event_t event(const char *cam, int kind, const char *label, int track,
                                     const char *zone, const char *line, int seq, int open,
                                     float score)
{
    vigil_analytics_event_t ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    snprintf(ev.camera_id, sizeof(ev.camera_id), "%s", cam);
    snprintf(ev.label, sizeof(ev.label), "%s", label);
    ev.track_id = (uint64_t)track;
    snprintf(ev.zone, sizeof(ev.zone), "%s", zone);
    snprintf(ev.line, sizeof(ev.line), "%s", line);
    ev.direction = line[0] ? VIGIL_DIR_IN : VIGIL_DIR_NONE;
    ev.start_sequence = (uint64_t)seq;
    ev.start_us = T(seq);
    ev.open = open;
    ev.end_sequence = open ? 0 : (uint64_t)seq + 1;
    ev.end_us = open ? 0 : T(seq + 1);
    ev.peak_score = score;
    ev.x2 = 10, ev.y2 = 10;
    ev.updated_sequence = (uint64_t)seq + 1;
    return ev;
}

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    char errstr[512] = "";

    snprintf(fx->dir, sizeof(fx->dir), "/tmp/vigil-api-rev-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    assert_int_equal(vigil_test_store_init(&fx->backend), 0);
    vigil_config_init(&fx->cfg);
    if (vigil_config_load_string(&fx->cfg, config_yaml, "test", errstr, sizeof(errstr)) ||
        vigil_config_set(&fx->cfg, "store.data_dir", fx->dir, "test", errstr, sizeof(errstr)) ||
        vigil_config_set(&fx->cfg, "store.url", fx->backend.url, "test", errstr, sizeof(errstr)))
        fail_msg("config: %s", errstr);

    vigil_store_t *store = open_store(fx->dir, fx->backend.url);
    camera(store, "lobby", "Front Lobby");
    camera(store, "yard", "Back Yard");
    int64_t l1 = frame(store, "lobby", 1, 300), l2 = frame(store, "lobby", 2, 310);
    frame(store, "lobby", 3, 320);
    fx->lobby_bytes = 300 + 310 + 320;
    int64_t y1 = frame(store, "yard", 1, 200), y2 = frame(store, "yard", 2, 210);
    detection(store, "lobby", 1, l1, "person", 0.9f);
    detection(store, "lobby", 2, l2, "car", 0.5f);
    detection(store, "lobby", 3, 0, "person", 0.6f);
    detection(store, "yard", 1, y1, "dog", 0.8f);
    detection(store, "yard", 2, y2, "50%_off", 0.7f);
    vigil_analytics_event_t lobby[3] = {
        event("lobby", VIGIL_EVENT_ZONE_ENTER, "person", 1, "door", "", 1, 0, 0.95f),
        event("lobby", VIGIL_EVENT_LINE_CROSS, "car", 2, "", "gate", 2, 0, 0.55f),
        event("lobby", VIGIL_EVENT_LOITER, "person", 3, "door", "", 3, 1, 0.65f),
    };
    vigil_analytics_event_t yard[1] = {
        event("yard", VIGIL_EVENT_ZONE_ENTER, "dog", 4, "pool", "", 1, 0, 0.85f),
    };
    vigil_analytics_camera_batch_t b[2] = {
        {.camera_id = "lobby", .events = lobby, .nevents = 3},
        {.camera_id = "yard", .events = yard, .nevents = 1},
    };
    if (vigil_store_analytics_commit(store, b, 2, errstr, sizeof(errstr)))
        fail_msg("commit: %s", errstr);
    vigil_event_query_t q = {.limit = 10};
    vigil_analytics_event_row_t *rows = NULL;
    size_t n = 0;
    int64_t ns, ni;
    assert_int_equal(vigil_store_analytics_events_query(store, &q, &rows, &n, &ns, &ni), VIGIL_OK);
    assert_int_equal(n, NEVENTS);
    for (size_t i = 0; i < n; i++) {
        const vigil_analytics_event_t *ev = &rows[i].ev;
        int k = !strcmp(ev->camera_id, "yard") ? EV_POOL
                : ev->kind == VIGIL_EVENT_LINE_CROSS ? EV_CROSS
                : ev->kind == VIGIL_EVENT_LOITER     ? EV_LOITER
                                                     : EV_ENTER;
        fx->ids[k] = rows[i].id;
    }
    free(rows);
    vigil_store_close(store);

    fx->api = vigil_api_new(&fx->cfg, errstr, sizeof(errstr));
    assert_non_null(fx->api);
    if (vigil_api_start(fx->api, errstr, sizeof(errstr))) fail_msg("api: %s", errstr);
    fx->port = vigil_api_port(fx->api);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    vigil_api_free(fx->api);
    vigil_config_release(&fx->cfg);
    vigil_test_store_release(&fx->backend);
    nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

static json_t *call(fixture_t *fx, const char *method, const char *target, const char *body,
                    int want)
{
    http_resp_t r;
    assert_int_equal(http_request_headers(fx->port, method, target, body ? JSON_HDR : NULL, body,
                                          &r),
                     0);
    if (r.status != want)
        fail_msg("%s %s: status %d, wanted %d: %s", method, target, r.status, want, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    http_resp_free(&r);
    return j;
}

static void bad_param(fixture_t *fx, const char *target, const char *param)
{
    json_t *j = call(fx, "GET", target, NULL, 400);
    const char *p = json_string_value(json_object_get(j, "parameter"));
    if (!p || strcmp(p, param) != 0)
        fail_msg("%s: parameter %s, wanted %s", target, p ? p : "(none)", param);
    json_decref(j);
}

static size_t count_items(fixture_t *fx, const char *target)
{
    json_t *j = call(fx, "GET", target, NULL, 200);
    size_t n = json_array_size(json_object_get(j, "items"));
    json_decref(j);
    return n;
}

/* ---- review ---------------------------------------------------------------------- */

static void test_api_event_review_marks_who_and_when(void **state)
{
    fixture_t *fx = *state;
    char target[96], body[128];

    snprintf(target, sizeof(target), "/api/v1/events/%lld", (long long)fx->ids[EV_ENTER]);
    json_t *j = call(fx, "PATCH", target, "{\"reviewed\":true}", 200);
    assert_true(json_is_true(json_object_get(j, "reviewed")));
    assert_string_equal(json_string_value(json_object_get(j, "reviewed_by")), "local");
    assert_true(json_is_string(json_object_get(j, "reviewed_at")));
    json_decref(j);
    assert_int_equal(count_items(fx, "/api/v1/events?reviewed=true"), 1);
    assert_int_equal(count_items(fx, "/api/v1/events?reviewed=false"), 3);
    assert_int_equal(count_items(fx, "/api/v1/events?reviewed=false&camera=yard"), 1);
    bad_param(fx, "/api/v1/events?reviewed=yes", "reviewed");

    json_decref(call(fx, "PATCH", target, "{\"reviewed\":\"yes\"}", 400));
    json_decref(call(fx, "PATCH", target, "{\"reviewed\":true,\"note\":1}", 400));
    json_decref(call(fx, "PATCH", "/api/v1/events/999999", "{\"reviewed\":true}", 404));
    json_decref(call(fx, "PATCH", "/api/v1/events/abc", "{\"reviewed\":true}", 400));

    snprintf(body, sizeof(body), "{\"ids\":[%lld,%lld,999999],\"reviewed\":true}",
             (long long)fx->ids[EV_CROSS], (long long)fx->ids[EV_POOL]);
    j = call(fx, "POST", "/api/v1/events/review", body, 200);
    assert_int_equal(json_integer_value(json_object_get(j, "requested")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "updated")), 2);
    json_decref(j);
    assert_int_equal(count_items(fx, "/api/v1/events?reviewed=true"), 3);
    json_decref(call(fx, "POST", "/api/v1/events/review", "{\"ids\":[],\"reviewed\":true}", 400));
    json_decref(call(fx, "POST", "/api/v1/events/review", "{\"ids\":[\"1\"],\"reviewed\":true}",
                     400));
    json_decref(call(fx, "POST", "/api/v1/events/review", "{\"ids\":[1]}", 400));
    /* at most 1000 at once */
    char *many = malloc(1001 * 8 + 64);
    size_t o = (size_t)sprintf(many, "{\"reviewed\":true,\"ids\":[");
    for (int i = 1; i <= 1001; i++) o += (size_t)sprintf(many + o, "%s%d", i > 1 ? "," : "", i);
    sprintf(many + o, "]}");
    json_decref(call(fx, "POST", "/api/v1/events/review", many, 400));
    free(many);
    /* and back */
    snprintf(body, sizeof(body), "{\"ids\":[%lld,%lld,%lld],\"reviewed\":false}",
             (long long)fx->ids[EV_ENTER], (long long)fx->ids[EV_CROSS],
             (long long)fx->ids[EV_POOL]);
    json_decref(call(fx, "POST", "/api/v1/events/review", body, 200));
    assert_int_equal(count_items(fx, "/api/v1/events?reviewed=false"), NEVENTS);
}

/* ---- search ----------------------------------------------------------------------- */

/* Every item of a search, page by page (limit per page); the items' "type:id"
 * keys in order into keys (at most max). Returns the count. */
static size_t search_all(fixture_t *fx, const char *query, int limit, char keys[][32],
                         size_t max)
{
    char target[512];
    size_t n = 0;
    snprintf(target, sizeof(target), "/api/v1/search?limit=%d%s%s", limit, query[0] ? "&" : "",
             query);
    for (int page = 0; page < 50; page++) {
        json_t *j = call(fx, "GET", target, NULL, 200), *it;
        size_t i;
        json_array_foreach(json_object_get(j, "items"), i, it)
        {
            assert_true(n < max);
            snprintf(keys[n++], 32, "%s:%lld", json_string_value(json_object_get(it, "type")),
                     (long long)json_integer_value(json_object_get(it, "id")));
        }
        json_t *next = json_object_get(j, "next_cursor");
        if (json_is_null(next)) {
            json_decref(j);
            return n;
        }
        snprintf(target, sizeof(target), "/api/v1/search?limit=%d%s%s&cursor=%s", limit,
                 query[0] ? "&" : "", query, json_string_value(next));
        json_decref(j);
    }
    fail_msg("search %s: more than 50 pages", query);
    return n;
}

static void test_api_search_pages_both_tables_with_one_cursor(void **state)
{
    fixture_t *fx = *state;
    char all[32][32], paged[32][32];

    size_t n = search_all(fx, "", 100, all, 32);
    assert_int_equal(n, NEVENTS + 5);
    /* newest first; at equal times events before detections */
    json_t *j = call(fx, "GET", "/api/v1/search?limit=3", NULL, 200);
    json_t *items = json_object_get(j, "items");
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "type")),
                        "event"); /* the loiter at seq 3 */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 0), "id")),
                     fx->ids[EV_LOITER]);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "type")),
                        "detection"); /* lobby's seq 3 person */
    json_decref(j);
    for (int limit = 1; limit <= 4; limit++) {
        size_t m = search_all(fx, "", limit, paged, 32);
        assert_int_equal(m, n);
        for (size_t i = 0; i < n; i++) assert_string_equal(paged[i], all[i]);
    }
    n = search_all(fx, "type=detections", 2, all, 32);
    assert_int_equal(n, 5);
    n = search_all(fx, "type=events&zones=door", 1, all, 32);
    assert_int_equal(n, 2);
}

static void test_api_search_filters_text_and_facets(void **state)
{
    fixture_t *fx = *state;
    char keys[32][32];

    /* free text over camera ids and names, zones, lines and labels */
    assert_int_equal(search_all(fx, "q=lobby", 100, keys, 32), 3 + 3);
    assert_int_equal(search_all(fx, "q=FRONT", 100, keys, 32), 3 + 3); /* "Front Lobby" */
    assert_int_equal(search_all(fx, "q=door", 100, keys, 32), 2);
    assert_int_equal(search_all(fx, "q=gate", 100, keys, 32), 1);
    assert_int_equal(search_all(fx, "q=%25", 100, keys, 32), 1); /* a literal %: "50%_off" */
    assert_int_equal(search_all(fx, "q=_", 100, keys, 32), 1);
    assert_int_equal(search_all(fx, "q=nothing-like-it", 100, keys, 32), 0);
    /* lists, scores, time, review */
    assert_int_equal(search_all(fx, "cameras=yard,lobby&labels=person", 100, keys, 32), 2 + 2);
    assert_int_equal(search_all(fx, "min_score=0.85", 100, keys, 32), 2 + 1);
    assert_int_equal(search_all(fx, "lines=gate&zones=pool", 100, keys, 32), 2);
    assert_int_equal(search_all(fx, "reviewed=false", 100, keys, 32), NEVENTS);
    char q[128];
    snprintf(q, sizeof(q), "since=%lld&until=%lld", (long long)T(2), (long long)T(3));
    assert_int_equal(search_all(fx, q, 100, keys, 32), 1 + 2);

    json_t *j = call(fx, "GET", "/api/v1/search?cameras=lobby", NULL, 200);
    json_t *f = json_object_get(j, "facets");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(f, "cameras"), "lobby")),
                     6);
    assert_null(json_object_get(json_object_get(f, "cameras"), "yard"));
    json_t *kinds = json_object_get(f, "kinds");
    assert_int_equal(json_integer_value(json_object_get(kinds, "zone_enter")), 1);
    assert_int_equal(json_integer_value(json_object_get(kinds, "loiter")), 1);
    assert_int_equal(json_integer_value(json_object_get(kinds, "line_cross")), 1);
    assert_int_equal(json_integer_value(json_object_get(kinds, "detection")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(f, "labels"), "person")),
                     4);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(f, "zones"), "door")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(f, "lines"), "gate")), 1);
    assert_true(json_is_false(json_object_get(j, "facets_truncated")));
    json_decref(j);
    j = call(fx, "GET", "/api/v1/search?facets=false", NULL, 200);
    assert_null(json_object_get(j, "facets"));
    json_decref(j);

    bad_param(fx, "/api/v1/search?type=all,events", "type");
    bad_param(fx, "/api/v1/search?cameras=", "cameras");
    bad_param(fx, "/api/v1/search?cameras=a,,b", "cameras");
    bad_param(fx, "/api/v1/search?cameras=..", "cameras");
    bad_param(fx, "/api/v1/search?zones=a%20b", "zones");
    bad_param(fx, "/api/v1/search?colour=red", "colour");
    bad_param(fx, "/api/v1/search?cursor=abc", "cursor");
    bad_param(fx, "/api/v1/search?limit=1001", "limit");
    bad_param(fx, "/api/v1/search?q=", "q");
    bad_param(fx, "/api/v1/search?since=10&until=5", "until");
    bad_param(fx, "/api/v1/search?q=a&q=b", "q");
    char target[2048];
    size_t o = (size_t)snprintf(target, sizeof(target), "/api/v1/search?cameras=c0");
    for (int i = 1; i < 33; i++) o += (size_t)snprintf(target + o, sizeof(target) - o, ",c%d", i);
    bad_param(fx, target, "cameras");
    o = (size_t)snprintf(target, sizeof(target), "/api/v1/search?q=");
    for (int i = 0; i < 129; i++) target[o++] = 'x';
    target[o] = '\0';
    bad_param(fx, target, "q");
}

/* ---- delete ------------------------------------------------------------------------ */

static void test_api_event_delete_closed_only_with_its_clip(void **state)
{
    fixture_t *fx = *state;
    char target[96], clip[4096];

    /* a cached clip to go with it */
    vigil_store_t *store = open_store(fx->dir, fx->backend.url);
    assert_int_equal(vigil_store_clip_path(store, "yard", fx->ids[EV_POOL], clip, sizeof(clip)),
                     VIGIL_OK);
    vigil_store_close(store);
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/clips", fx->dir);
    mkdir(dir, 0755);
    snprintf(dir, sizeof(dir), "%s/clips/yard", fx->dir);
    mkdir(dir, 0755);
    FILE *f = fopen(clip, "w");
    assert_non_null(f);
    fputs("not really an mp4", f);
    fclose(f);

    snprintf(target, sizeof(target), "/api/v1/events/%lld", (long long)fx->ids[EV_LOITER]);
    json_t *j = call(fx, "DELETE", target, NULL, 409);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "still open"));
    json_decref(j);
    snprintf(target, sizeof(target), "/api/v1/events/%lld", (long long)fx->ids[EV_POOL]);
    j = call(fx, "DELETE", target, NULL, 200);
    assert_true(json_is_true(json_object_get(j, "deleted")));
    json_decref(j);
    assert_int_equal(access(clip, F_OK), -1);
    json_decref(call(fx, "GET", target, NULL, 404));
    json_decref(call(fx, "DELETE", target, NULL, 404));
    json_decref(call(fx, "DELETE", "/api/v1/events/0", NULL, 400));
    assert_int_equal(count_items(fx, "/api/v1/events"), NEVENTS - 1);
}

/* ---- system ---------------------------------------------------------------------------- */

static void test_api_readyz_config_and_storage(void **state)
{
    fixture_t *fx = *state;
    http_resp_t r;

    json_t *j = call(fx, "GET", "/readyz", NULL, 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ready");
    json_t *checks = json_object_get(j, "checks");
    assert_string_equal(json_string_value(json_object_get(checks, "store")), "ok");
    assert_string_equal(json_string_value(json_object_get(checks, "bus")), "none");
    json_decref(j);
    json_decref(call(fx, "GET", "/readyz?x=1", NULL, 400)); /* takes no parameters */

    /* the configuration, every secret redacted */
    assert_int_equal(http_get(fx->port, "/api/v1/config", &r), 0);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "busword"));
    assert_null(strstr(r.body, "cfgsecret"));
    j = json_loads(r.body, 0, NULL);
    http_resp_free(&r);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "bus"), "url")),
                        "kafka://svc:***@broker.local:9092");
    assert_true(json_number_value(json_object_get(json_object_get(j, "store"),
                                                  "retention_hours")) == 48);
    assert_true(json_is_false(json_object_get(json_object_get(j, "auth"), "enabled")));
    json_t *cam = json_array_get(json_object_get(j, "cameras"), 0);
    assert_string_equal(json_string_value(json_object_get(cam, "id")), "lobby");
    assert_string_equal(json_string_value(json_object_get(cam, "url")),
                        "rtsp://cfguser:***@10.1.1.1/live");
    assert_true(json_is_array(json_object_get(cam, "zones")));
    json_decref(j);

    /* storage per camera */
    j = call(fx, "GET", "/api/v1/storage", NULL, 200);
    json_t *cams = json_object_get(j, "cameras");
    assert_int_equal(json_array_size(cams), 2);
    json_t *lobby = json_array_get(cams, 0), *yard = json_array_get(cams, 1);
    assert_string_equal(json_string_value(json_object_get(lobby, "camera")), "lobby");
    assert_int_equal(json_integer_value(json_object_get(lobby, "frames")), 3);
    assert_int_equal(json_integer_value(json_object_get(lobby, "frame_bytes")), fx->lobby_bytes);
    assert_int_equal(json_integer_value(json_object_get(lobby, "detections")), 3);
    assert_int_equal(json_integer_value(json_object_get(lobby, "oldest_us")), T(1));
    assert_int_equal(json_integer_value(json_object_get(lobby, "newest_us")), T(3));
    assert_true(json_number_value(json_object_get(lobby, "retention_hours")) == 12);
    assert_string_equal(json_string_value(json_object_get(lobby, "retention_source")), "camera");
    assert_true(json_number_value(json_object_get(yard, "retention_hours")) == 48);
    assert_string_equal(json_string_value(json_object_get(yard, "retention_source")), "store");
    /* the byte budgets: the camera's own, none for the other, the store's */
    assert_int_equal(json_integer_value(json_object_get(lobby, "max_bytes")), 2097152);
    assert_true(json_is_null(json_object_get(yard, "max_bytes")));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "totals"), "max_bytes")),
        1000000000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "totals"), "frames")),
                     5);
    assert_true(json_integer_value(json_object_get(json_object_get(j, "disk"), "total_bytes")) >
                0);
    json_decref(j);
}

static void test_api_readyz_is_503_on_a_warehouse_without_schema(void **state)
{
    char dir[64] = "/tmp/vigil-api-ready-XXXXXX", errstr[256] = "";
    vigil_config_t cfg;
    vigil_test_store_t empty; /* an empty data dir, or an empty schema */
    (void)state;

    assert_non_null(mkdtemp(dir));
    assert_int_equal(vigil_test_store_init(&empty), 0);
    vigil_config_init(&cfg);
    if (vigil_config_load_string(&cfg, "http: {listen: \"127.0.0.1:0\"}\nauth: {enabled: false}\n",
                                 "test", errstr, sizeof(errstr)) ||
        vigil_config_set(&cfg, "store.data_dir", dir, "test", errstr, sizeof(errstr)) ||
        vigil_config_set(&cfg, "store.url", empty.url, "test", errstr, sizeof(errstr)))
        fail_msg("config: %s", errstr);
    vigil_api_t *api = vigil_api_new(&cfg, errstr, sizeof(errstr));
    assert_non_null(api);
    assert_int_equal(vigil_api_start(api, errstr, sizeof(errstr)), VIGIL_OK);
    fixture_t tmp = {.port = vigil_api_port(api)};
    http_resp_t r;
    assert_int_equal(http_get(tmp.port, "/readyz", &r), 0);
    assert_int_equal(r.status, 503);
    assert_null(strstr(r.body, dir)); /* no path */
    json_t *j = json_loads(r.body, 0, NULL);
    http_resp_free(&r);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "not ready");
    assert_string_not_equal(
        json_string_value(json_object_get(json_object_get(j, "checks"), "store")), "ok");
    json_decref(j);
    vigil_api_free(api);
    vigil_config_release(&cfg);
    vigil_test_store_release(&empty);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_event_review_marks_who_and_when),
        cmocka_unit_test(test_api_search_pages_both_tables_with_one_cursor),
        cmocka_unit_test(test_api_search_filters_text_and_facets),
        cmocka_unit_test(test_api_readyz_config_and_storage),
        cmocka_unit_test(test_api_event_delete_closed_only_with_its_clip),
        cmocka_unit_test(test_api_readyz_is_503_on_a_warehouse_without_schema),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
