/* The HTTP API end to end over real sockets: a real SQLite store in a temp
 * data dir, filled through store.h, served by vigil_api on 127.0.0.1 port 0,
 * queried with the tiny client in api_support.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_support.h"
#include "vigil/api.h"
#include "vigil/clock.h"
#include "vigil/config.h"
#include "vigil/health.h"
#include "vigil/log.h"
#include "vigil/metrics.h"
#include "vigil/store.h"

#define NFRAMES 5 /* per camera */
#define BASE_US INT64_C(1795239062000000) /* 2026-11-21T05:31:02Z */

typedef struct det {
    int64_t id;
    char camera[64];
    char label[64];
    float score;
    int64_t time_us;
    int64_t frame_id;
    int seen;
} det_t;

typedef struct fixture {
    char dir[64];
    vigil_config_t cfg;
    vigil_api_t *api;
    int port;
    int64_t frame_ids[2 * NFRAMES];
    unsigned char jpeg[2 * NFRAMES][300];
    int64_t frame_bytes;
    det_t dets[64];
    size_t ndets;
} fixture_t;

static const char *const cameras[2] = {"lobby", "yard"};
static const char *const lobby_labels[3] = {"person", "car", "dog"};
static const float lobby_scores[3] = {0.3f, 0.6f, 0.9f};
static const char *const yard_labels[2] = {"person", "cat"};
static const float yard_scores[2] = {0.4f, 0.8f};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void fill_store(fixture_t *fx)
{
    char errstr[256] = "";
    vigil_store_conf_t conf;
    vigil_store_t *store;

    vigil_store_conf_init(&conf);
    conf.url = "sqlite";
    conf.data_dir = fx->dir;
    conf.migrate = 1;
    store = vigil_store_open(&conf, errstr, sizeof(errstr));
    if (!store) fail_msg("cannot open the store: %s", errstr);

    for (int c = 0; c < 2; c++) {
        vigil_camera_row_t cam = {.fps = c ? 2.5 : 5, .enabled = !c, .updated_us = BASE_US};
        snprintf(cam.id, sizeof(cam.id), "%s", cameras[c]);
        snprintf(cam.name, sizeof(cam.name), "%s", c ? "Yard" : "Lobby");
        snprintf(cam.url, sizeof(cam.url), "%s",
                 c ? "file:///videos/yard.avi" : "rtsp://admin:secret@10.0.0.5/stream");
        snprintf(cam.status, sizeof(cam.status), "%s", c ? "retrying" : "online");
        snprintf(cam.last_error, sizeof(cam.last_error), "%s", c ? "connection refused" : "");
        assert_int_equal(vigil_store_camera_upsert(store, &cam), VIGIL_OK);

        for (int s = 1; s <= NFRAMES; s++) {
            int fi = c * NFRAMES + (s - 1);
            size_t len = 200 + (size_t)fi * 7;
            unsigned char *jpeg = fx->jpeg[fi];
            /* Not a decodable image, but JPEG-framed and different per frame. */
            for (size_t i = 0; i < len; i++) jpeg[i] = (unsigned char)(i * 31 + fi * 17);
            jpeg[0] = 0xff, jpeg[1] = 0xd8, jpeg[len - 2] = 0xff, jpeg[len - 1] = 0xd9;
            vigil_frame_row_t fr = {.sequence = (uint64_t)s,
                                    .capture_time_us = BASE_US + s * INT64_C(1000000),
                                    .width = 64, .height = 48, .size_bytes = (int64_t)len};
            snprintf(fr.camera_id, sizeof(fr.camera_id), "%s", cameras[c]);
            if (vigil_store_frame_put(store, &fr, jpeg, len, errstr, sizeof(errstr)))
                fail_msg("frame_put: %s", errstr);
            fx->frame_ids[fi] = fr.id;
            fx->frame_bytes += (int64_t)len;

            int nd = c ? 2 : 3;
            vigil_detection_row_t rows[3];
            memset(rows, 0, sizeof(rows));
            for (int k = 0; k < nd; k++) {
                vigil_detection_row_t *d = &rows[k];
                snprintf(d->camera_id, sizeof(d->camera_id), "%s", cameras[c]);
                d->sequence = (uint64_t)s;
                d->frame_id = fr.id;
                d->capture_time_us = fr.capture_time_us;
                snprintf(d->model, sizeof(d->model), "testnet");
                d->idx = k;
                snprintf(d->label, sizeof(d->label), "%s", c ? yard_labels[k] : lobby_labels[k]);
                d->score = c ? yard_scores[k] : lobby_scores[k];
                d->x1 = 1.5f + k, d->y1 = 2.25f, d->x2 = 30.0f, d->y2 = 40.75f;
            }
            size_t inserted = 0;
            if (vigil_store_detections_put(store, rows, (size_t)nd, &inserted, errstr,
                                           sizeof(errstr)))
                fail_msg("detections_put: %s", errstr);
            assert_int_equal(inserted, nd);
        }
    }
    /* Learn the ids the store gave the detections. */
    vigil_detection_query_t q = {.limit = 1000};
    vigil_detection_row_t *rows = NULL;
    size_t n = 0;
    int64_t next = -1;
    assert_int_equal(vigil_store_detections_query(store, &q, &rows, &n, &next), VIGIL_OK);
    assert_int_equal(n, 25);
    for (size_t i = 0; i < n; i++) {
        det_t *d = &fx->dets[fx->ndets++];
        d->id = rows[i].id;
        snprintf(d->camera, sizeof(d->camera), "%s", rows[i].camera_id);
        snprintf(d->label, sizeof(d->label), "%s", rows[i].label);
        d->score = rows[i].score;
        d->time_us = rows[i].capture_time_us;
        d->frame_id = rows[i].frame_id;
    }
    free(rows);
    vigil_store_close(store);
}

static int group_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    char errstr[256] = "";

    if (!fx) return -1;
    vigil_log_set_level(getenv("API_TEST_DEBUG") ? VIGIL_LOG_DEBUG : VIGIL_LOG_ERROR);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/vigil-api-test-XXXXXX");
    if (!mkdtemp(fx->dir)) return -1;
    fill_store(fx);
    fx->cfg.http_listen = "127.0.0.1:0";
    fx->cfg.store_url = "sqlite";
    fx->cfg.data_dir = fx->dir;
    fx->api = vigil_api_new(&fx->cfg, errstr, sizeof(errstr));
    if (!fx->api) fail_msg("vigil_api_new: %s", errstr);
    if (vigil_api_start(fx->api, errstr, sizeof(errstr))) fail_msg("start: %s", errstr);
    fx->port = vigil_api_port(fx->api);
    assert_true(fx->port > 0 && fx->port < 65536);
    *state = fx;
    return 0;
}

static int group_teardown(void **state)
{
    fixture_t *fx = *state;

    vigil_api_free(fx->api);
    nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

/* GETs target, expects `status` and a JSON body; returns the parsed JSON. */
static json_t *get_json(fixture_t *fx, const char *target, int status)
{
    http_resp_t r;
    json_error_t jerr;
    char ct[128];
    json_t *j;

    assert_int_equal(http_get(fx->port, target, &r), 0);
    if (r.status != status) fail_msg("GET %s: status %d, want %d: %s", target, r.status, status, r.body);
    assert_non_null(http_header(&r, "Content-Type", ct, sizeof(ct)));
    assert_string_equal(ct, "application/json");
    j = json_loadb(r.body, r.body_len, 0, &jerr);
    if (!j) fail_msg("GET %s: not JSON (%s): %s", target, jerr.text, r.body);
    http_resp_free(&r);
    return j;
}

/* Expects a 400 naming `param`. */
static void expect_bad_param(fixture_t *fx, const char *target, const char *param)
{
    json_t *j = get_json(fx, target, 400);
    const char *p = json_string_value(json_object_get(j, "parameter"));
    const char *e = json_string_value(json_object_get(j, "error"));

    if (!p || strcmp(p, param) != 0) fail_msg("GET %s: parameter %s, want %s", target, p, param);
    assert_non_null(e);
    char quoted[80];
    snprintf(quoted, sizeof(quoted), "\"%s\"", param);
    if (!strstr(e, quoted)) fail_msg("GET %s: error does not name %s: %s", target, param, e);
    json_decref(j);
}

static void test_api_healthz_says_ok(void **state)
{
    fixture_t *fx = *state;
    json_t *j = get_json(fx, "/healthz", 200);

    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    json_decref(j);
}

static void test_api_healthz_says_what_is_wrong(void **state)
{
    fixture_t *fx = *state;
    vigil_health_reset();
    vigil_health_set("preprocess", "lobby", VIGIL_HEALTH_DEGRADED,
                     "frames are not stored (full): No space left on device");
    /* degraded: it still serves (200), and says what fails */
    json_t *j = get_json(fx, "/healthz", 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "degraded");
    json_t *p = json_array_get(json_object_get(j, "problems"), 0);
    assert_string_equal(json_string_value(json_object_get(p, "component")), "preprocess");
    assert_string_equal(json_string_value(json_object_get(p, "camera")), "lobby");
    assert_non_null(strstr(json_string_value(json_object_get(p, "error")), "No space left"));
    json_decref(j);
    /* failed: 503, for a load balancer or an orchestrator */
    vigil_health_set("sink", NULL, VIGIL_HEALTH_FAILED, "stopped: no such table: detections");
    j = get_json(fx, "/healthz", 503);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "failed");
    json_decref(j);
    vigil_health_reset();
    j = get_json(fx, "/healthz", 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    json_decref(j);
}

static void test_api_cameras_lists_store_rows_with_password_hidden(void **state)
{
    fixture_t *fx = *state;
    json_t *j = get_json(fx, "/api/v1/cameras", 200);
    json_t *items = json_object_get(j, "items");

    assert_int_equal(json_array_size(items), 2);
    json_t *lobby = json_array_get(items, 0), *yard = json_array_get(items, 1);
    assert_string_equal(json_string_value(json_object_get(lobby, "id")), "lobby");
    assert_string_equal(json_string_value(json_object_get(lobby, "name")), "Lobby");
    assert_string_equal(json_string_value(json_object_get(lobby, "url")),
                        "rtsp://admin:***@10.0.0.5/stream");
    assert_true(json_real_value(json_object_get(lobby, "fps")) == 5.0 ||
                json_integer_value(json_object_get(lobby, "fps")) == 5);
    assert_true(json_is_true(json_object_get(lobby, "enabled")));
    assert_string_equal(json_string_value(json_object_get(lobby, "status")), "online");
    assert_true(json_is_null(json_object_get(lobby, "last_error")));
    assert_non_null(json_string_value(json_object_get(lobby, "updated")));

    assert_string_equal(json_string_value(json_object_get(yard, "id")), "yard");
    assert_string_equal(json_string_value(json_object_get(yard, "url")), "file:///videos/yard.avi");
    assert_true(json_real_value(json_object_get(yard, "fps")) == 2.5);
    assert_true(json_is_false(json_object_get(yard, "enabled")));
    assert_string_equal(json_string_value(json_object_get(yard, "status")), "retrying");
    assert_string_equal(json_string_value(json_object_get(yard, "last_error")),
                        "connection refused");
    json_decref(j);
}

static void test_api_detections_default_page_has_every_field_newest_first(void **state)
{
    fixture_t *fx = *state;
    json_t *j = get_json(fx, "/api/v1/detections", 200);
    json_t *items = json_object_get(j, "items"), *it;
    size_t i;
    int64_t prev = INT64_MAX;

    assert_int_equal(json_array_size(items), 25);
    assert_true(json_is_null(json_object_get(j, "next_cursor")));
    json_array_foreach(items, i, it) {
        /* newest first = highest id first (the store's keyset order) */
        int64_t id = json_integer_value(json_object_get(it, "id"));
        assert_true(id < prev);
        prev = id;
        int64_t t = json_integer_value(json_object_get(it, "time_us"));
        const char *time = json_string_value(json_object_get(it, "time"));
        int64_t parsed = 0;
        assert_non_null(time);
        assert_int_equal(vigil_parse_time(time, &parsed), 0);
        assert_true(parsed == t);
        assert_string_equal(json_string_value(json_object_get(it, "model")), "testnet");
        assert_true(json_integer_value(json_object_get(it, "sequence")) >= 1);
        json_t *box = json_object_get(it, "box");
        assert_int_equal(json_array_size(box), 4);
        assert_true(json_number_value(json_array_get(box, 1)) == 2.25);
        assert_true(json_number_value(json_array_get(box, 3)) == 40.75);
        int64_t fid = json_integer_value(json_object_get(it, "frame_id"));
        char want[64];
        snprintf(want, sizeof(want), "/api/v1/frames/%" PRId64 ".jpg", fid);
        assert_string_equal(json_string_value(json_object_get(it, "frame_url")), want);
        double score = json_number_value(json_object_get(it, "score"));
        assert_true(score == 0.3 || score == 0.6 || score == 0.9 || score == 0.4 || score == 0.8);
    }
    json_decref(j);
}

/* Counts fixture rows matching the filters (NULL / 0 = any). */
static size_t expected(fixture_t *fx, const char *camera, const char *label, float min_score,
                       int64_t since, int64_t until)
{
    size_t n = 0;
    for (size_t i = 0; i < fx->ndets; i++) {
        det_t *d = &fx->dets[i];
        if (camera && strcmp(d->camera, camera) != 0) continue;
        if (label && strcmp(d->label, label) != 0) continue;
        if (d->score < min_score) continue;
        if (since && d->time_us < since) continue;
        if (until && d->time_us >= until) continue;
        n++;
    }
    return n;
}

static void check_filter(fixture_t *fx, const char *target, size_t want, const char *camera,
                         const char *label, float min_score, int64_t since, int64_t until)
{
    json_t *j = get_json(fx, target, 200), *it;
    json_t *items = json_object_get(j, "items");
    size_t i;

    if (json_array_size(items) != want)
        fail_msg("GET %s: %zu items, want %zu", target, json_array_size(items), want);
    json_array_foreach(items, i, it) {
        if (camera) assert_string_equal(json_string_value(json_object_get(it, "camera")), camera);
        if (label) assert_string_equal(json_string_value(json_object_get(it, "label")), label);
        assert_true(json_number_value(json_object_get(it, "score")) >= min_score);
        int64_t t = json_integer_value(json_object_get(it, "time_us"));
        if (since) assert_true(t >= since);
        if (until) assert_true(t < until);
    }
    json_decref(j);
}

static void test_api_detections_filters_by_camera_label_score_and_time(void **state)
{
    fixture_t *fx = *state;
    int64_t since = BASE_US + 2 * INT64_C(1000000), until = BASE_US + 4 * INT64_C(1000000);
    char target[256];

    check_filter(fx, "/api/v1/detections?camera=lobby", expected(fx, "lobby", NULL, 0, 0, 0),
                 "lobby", NULL, 0, 0, 0);
    assert_int_equal(expected(fx, "lobby", NULL, 0, 0, 0), 15);
    check_filter(fx, "/api/v1/detections?label=person", expected(fx, NULL, "person", 0, 0, 0),
                 NULL, "person", 0, 0, 0);
    check_filter(fx, "/api/v1/detections?min_score=0.5", expected(fx, NULL, NULL, 0.5f, 0, 0),
                 NULL, NULL, 0.5f, 0, 0);
    check_filter(fx, "/api/v1/detections?camera=nosuchcam", 0, NULL, NULL, 0, 0, 0);
    /* RFC 3339 since, integer-microsecond until */
    snprintf(target, sizeof(target),
             "/api/v1/detections?since=2026-11-21T05:31:04Z&until=%" PRId64, until);
    check_filter(fx, target, expected(fx, NULL, NULL, 0, since, until), NULL, NULL, 0, since,
                 until);
    assert_int_equal(expected(fx, NULL, NULL, 0, since, until), 10);
    snprintf(target, sizeof(target),
             "/api/v1/detections?camera=yard&label=cat&min_score=0.7&since=%" PRId64, since);
    check_filter(fx, target, expected(fx, "yard", "cat", 0.7f, since, 0), "yard", "cat", 0.7f,
                 since, 0);
}

/* Follows next_cursor from `first` until null; every matching row exactly once. */
static void paginate(fixture_t *fx, const char *first, const char *camera, size_t page_limit)
{
    char target[512];
    size_t pages = 0, total = 0;

    for (size_t i = 0; i < fx->ndets; i++) fx->dets[i].seen = 0;
    snprintf(target, sizeof(target), "%s", first);
    for (;;) {
        json_t *j = get_json(fx, target, 200), *it;
        json_t *items = json_object_get(j, "items");
        size_t i;
        assert_true(json_array_size(items) <= page_limit);
        json_array_foreach(items, i, it) {
            int64_t id = json_integer_value(json_object_get(it, "id"));
            size_t k;
            for (k = 0; k < fx->ndets && fx->dets[k].id != id; k++) {}
            assert_true(k < fx->ndets);
            assert_int_equal(fx->dets[k].seen, 0);
            fx->dets[k].seen = 1;
            total++;
        }
        pages++;
        assert_true(pages < 100);
        json_t *next = json_object_get(j, "next_cursor");
        if (json_is_null(next)) {
            json_decref(j);
            break;
        }
        assert_true(json_is_string(next));
        snprintf(target, sizeof(target), "%s&cursor=%s", first, json_string_value(next));
        json_decref(j);
    }
    assert_int_equal(total, expected(fx, camera, NULL, 0, 0, 0));
    for (size_t i = 0; i < fx->ndets; i++)
        if (!camera || strcmp(fx->dets[i].camera, camera) == 0) assert_int_equal(fx->dets[i].seen, 1);
    assert_true(pages >= total / page_limit);
}

static void test_api_detections_pagination_returns_every_row_once(void **state)
{
    fixture_t *fx = *state;

    paginate(fx, "/api/v1/detections?limit=4", NULL, 4);
    paginate(fx, "/api/v1/detections?limit=1", NULL, 1);
    paginate(fx, "/api/v1/detections?camera=lobby&limit=2", "lobby", 2);
    paginate(fx, "/api/v1/detections?limit=25", NULL, 25);
}

static void test_api_detections_bad_parameters_are_400_naming_them(void **state)
{
    fixture_t *fx = *state;

    expect_bad_param(fx, "/api/v1/detections?limit=0", "limit");
    expect_bad_param(fx, "/api/v1/detections?limit=abc", "limit");
    expect_bad_param(fx, "/api/v1/detections?limit=1001", "limit");
    expect_bad_param(fx, "/api/v1/detections?limit=", "limit");
    expect_bad_param(fx, "/api/v1/detections?min_score=2", "min_score");
    expect_bad_param(fx, "/api/v1/detections?since=yesterday", "since");
    expect_bad_param(fx, "/api/v1/detections?until=2026-99-01T00:00:00Z", "until");
    expect_bad_param(fx, "/api/v1/detections?since=2000&until=1000", "until");
    expect_bad_param(fx, "/api/v1/detections?camera=..%2Fx", "camera");
    expect_bad_param(fx, "/api/v1/detections?camera=../x", "camera");
    expect_bad_param(fx, "/api/v1/detections?cursor=zzz", "cursor");
    expect_bad_param(fx, "/api/v1/detections?unknown=1", "unknown");
    expect_bad_param(fx, "/api/v1/detections?limit=5&limit=6", "limit");

    json_t *j = get_json(fx, "/api/v1/detections?limit=0", 400);
    assert_string_equal(json_string_value(json_object_get(j, "error")),
                        "invalid parameter \"limit\": must be an integer in 1..1000");
    json_decref(j);
}

static void test_api_frame_serves_the_stored_jpeg_bytes(void **state)
{
    fixture_t *fx = *state;
    char target[64], hdr[128];
    http_resp_t r;

    for (int fi = 0; fi < 2 * NFRAMES; fi++) {
        snprintf(target, sizeof(target), "/api/v1/frames/%" PRId64 ".jpg", fx->frame_ids[fi]);
        assert_int_equal(http_get(fx->port, target, &r), 0);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, 200 + (size_t)fi * 7);
        assert_memory_equal(r.body, fx->jpeg[fi], r.body_len);
        assert_string_equal(http_header(&r, "Content-Type", hdr, sizeof(hdr)), "image/jpeg");
        assert_non_null(http_header(&r, "Cache-Control", hdr, sizeof(hdr)));
        assert_non_null(strstr(hdr, "immutable"));
        http_resp_free(&r);
    }
    /* HEAD: the headers without the body */
    assert_int_equal(http_request(fx->port, "HEAD", target, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    http_resp_free(&r);
}

static void test_api_frame_unknown_is_404_and_bad_id_is_400(void **state)
{
    fixture_t *fx = *state;
    json_t *j = get_json(fx, "/api/v1/frames/999999.jpg", 404);

    assert_string_equal(json_string_value(json_object_get(j, "error")), "frame 999999 not found");
    json_decref(j);
    expect_bad_param(fx, "/api/v1/frames/abc.jpg", "id");
    expect_bad_param(fx, "/api/v1/frames/0.jpg", "id");
    expect_bad_param(fx, "/api/v1/frames/-3.jpg", "id");
    expect_bad_param(fx, "/api/v1/frames/.jpg", "id");
    json_decref(get_json(fx, "/api/v1/frames/12.png", 404));
    json_decref(get_json(fx, "/api/v1/nothing", 404));
}

static void test_api_post_is_405_with_allow_header(void **state)
{
    fixture_t *fx = *state;
    const char *targets[] = {"/api/v1/detections", "/healthz", "/api/v1/frames/1.jpg"};
    char hdr[128], ct[128];
    http_resp_t r;

    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        assert_int_equal(http_request(fx->port, "POST", targets[i], "{\"x\":1}", &r), 0);
        assert_int_equal(r.status, 405);
        assert_string_equal(http_header(&r, "Allow", hdr, sizeof(hdr)), "GET, HEAD");
        assert_string_equal(http_header(&r, "Content-Type", ct, sizeof(ct)), "application/json");
        assert_non_null(strstr(r.body, "\"error\""));
        http_resp_free(&r);
    }
    assert_int_equal(http_request(fx->port, "DELETE", "/api/v1/cameras", NULL, &r), 0);
    assert_int_equal(r.status, 405);
    http_resp_free(&r);
}

static void test_api_metrics_counts_requests_by_route_and_code(void **state)
{
    fixture_t *fx = *state;
    char ct[128];
    http_resp_t r;

    json_decref(get_json(fx, "/healthz", 200));
    json_decref(get_json(fx, "/api/v1/detections?limit=0", 400));
    assert_int_equal(http_get(fx->port, "/metrics", &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(http_header(&r, "Content-Type", ct, sizeof(ct)));
    assert_non_null(strstr(ct, "text/plain; version=0.0.4"));
    assert_non_null(strstr(r.body, "vigil_http_requests_total{route=\"healthz\",code=\"200\"}"));
    assert_non_null(strstr(r.body, "vigil_http_requests_total{route=\"detections\",code=\"400\"}"));
    assert_non_null(strstr(r.body, "vigil_http_request_seconds_bucket{route=\"healthz\""));
    http_resp_free(&r);
    /* the counter itself moves */
    uint64_t before = vigil_metrics_sum("vigil_http_requests_total", "route", "healthz", "code",
                                        "200");
    json_decref(get_json(fx, "/healthz", 200));
    assert_true(vigil_metrics_sum("vigil_http_requests_total", "route", "healthz", "code",
                                  "200") == before + 1);
}

static void test_api_stats_reflects_stage_counters_and_store_counts(void **state)
{
    fixture_t *fx = *state;
    vigil_stage_metrics_t lobby, yard, whole;

    vigil_stage_metrics_init(&lobby, "apitest_ingest", "lobby");
    vigil_stage_metrics_init(&yard, "apitest_ingest", "yard");
    vigil_stage_metrics_init(&whole, "apitest_infer", NULL);
    vigil_counter_add(lobby.in, 7);
    vigil_counter_add(lobby.out, 5);
    vigil_counter_add(lobby.dropped, 1);
    vigil_counter_add(lobby.failed, 1);
    vigil_counter_add(yard.in, 3);
    vigil_counter_add(yard.out, 3);
    vigil_counter_add(whole.in, 2);

    json_t *j = get_json(fx, "/api/v1/stats", 200);
    json_t *ingest = json_object_get(json_object_get(j, "stages"), "apitest_ingest");
    assert_int_equal(json_integer_value(json_object_get(ingest, "in")), 10);
    assert_int_equal(json_integer_value(json_object_get(ingest, "out")), 8);
    assert_int_equal(json_integer_value(json_object_get(ingest, "dropped")), 1);
    assert_int_equal(json_integer_value(json_object_get(ingest, "failed")), 1);
    json_t *infer = json_object_get(json_object_get(j, "stages"), "apitest_infer");
    assert_int_equal(json_integer_value(json_object_get(infer, "in")), 2);
    assert_int_equal(json_integer_value(json_object_get(infer, "out")), 0);

    json_t *cams = json_object_get(j, "cameras");
    json_t *lobby_ingest = json_object_get(json_object_get(cams, "lobby"), "apitest_ingest");
    assert_int_equal(json_integer_value(json_object_get(lobby_ingest, "in")), 7);
    assert_int_equal(json_integer_value(json_object_get(lobby_ingest, "failed")), 1);
    json_t *yard_ingest = json_object_get(json_object_get(cams, "yard"), "apitest_ingest");
    assert_int_equal(json_integer_value(json_object_get(yard_ingest, "in")), 3);
    assert_null(json_object_get(json_object_get(cams, "lobby"), "apitest_infer"));

    json_t *store = json_object_get(j, "store");
    assert_int_equal(json_integer_value(json_object_get(store, "cameras")), 2);
    assert_int_equal(json_integer_value(json_object_get(store, "frames")), 2 * NFRAMES);
    assert_int_equal(json_integer_value(json_object_get(store, "detections")), 25);
    assert_int_equal(json_integer_value(json_object_get(store, "events")), 0);
    assert_int_equal(json_integer_value(json_object_get(store, "frame_bytes")), fx->frame_bytes);
    json_decref(j);

    /* Counting on moves the figures. */
    vigil_counter_inc(yard.failed);
    j = get_json(fx, "/api/v1/stats", 200);
    ingest = json_object_get(json_object_get(j, "stages"), "apitest_ingest");
    assert_int_equal(json_integer_value(json_object_get(ingest, "failed")), 2);
    json_decref(j);
}

typedef struct hammer {
    fixture_t *fx;
    int ok;
} hammer_t;

static void *hammer_run(void *arg)
{
    hammer_t *h = arg;
    http_resp_t r;

    for (int i = 0; i < 10; i++) {
        const char *t = (i % 2) ? "/api/v1/detections?limit=3" : "/api/v1/cameras";
        if (http_get(h->fx->port, t, &r) == 0 && r.status == 200) h->ok++;
        http_resp_free(&r);
    }
    return NULL;
}

static void test_api_concurrent_requests_all_succeed(void **state)
{
    fixture_t *fx = *state;
    pthread_t threads[8];
    hammer_t h[8];

    for (int i = 0; i < 8; i++) {
        h[i] = (hammer_t){.fx = fx};
        assert_int_equal(pthread_create(&threads[i], NULL, hammer_run, &h[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(h[i].ok, 10);
    }
}

static void test_api_store_without_schema_is_503_but_healthz_ok(void **state)
{
    char dir[64] = "/tmp/vigil-api-empty-XXXXXX", errstr[256] = "";
    vigil_config_t cfg = {.http_listen = "127.0.0.1:0", .store_url = "sqlite"};
    fixture_t tmp = {.port = 0};

    (void)state;
    assert_non_null(mkdtemp(dir));
    cfg.data_dir = dir;
    vigil_api_t *api = vigil_api_new(&cfg, errstr, sizeof(errstr));
    assert_non_null(api);
    assert_int_equal(vigil_api_start(api, errstr, sizeof(errstr)), VIGIL_OK);
    tmp.port = vigil_api_port(api);
    json_t *j = get_json(&tmp, "/api/v1/cameras", 503);
    const char *e = json_string_value(json_object_get(j, "error"));
    assert_non_null(e);
    assert_non_null(strstr(e, "store unavailable"));
    json_decref(j);
    json_decref(get_json(&tmp, "/api/v1/stats", 503));
    json_decref(get_json(&tmp, "/api/v1/detections", 503));
    json_decref(get_json(&tmp, "/healthz", 200));

    /* Once someone migrates, the same running API serves the store. */
    vigil_store_conf_t conf;
    vigil_store_conf_init(&conf);
    conf.url = "sqlite";
    conf.data_dir = dir;
    conf.migrate = 1;
    vigil_store_t *store = vigil_store_open(&conf, errstr, sizeof(errstr));
    if (!store) fail_msg("migrate: %s", errstr);
    vigil_store_close(store);
    j = get_json(&tmp, "/api/v1/cameras", 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
    json_decref(j);
    vigil_api_free(api);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_api_bind_failure_names_the_address(void **state)
{
    fixture_t *fx = *state;
    char addr[64], errstr[256] = "";
    vigil_config_t cfg = {.store_url = "sqlite", .data_dir = fx->dir};

    snprintf(addr, sizeof(addr), "127.0.0.1:%d", fx->port);
    cfg.http_listen = addr;
    vigil_api_t *api = vigil_api_new(&cfg, errstr, sizeof(errstr));
    assert_non_null(api);
    assert_int_not_equal(vigil_api_start(api, errstr, sizeof(errstr)), VIGIL_OK);
    if (!strstr(errstr, addr)) fail_msg("error does not name %s: %s", addr, errstr);
    vigil_api_free(api);

    /* A port held by a socket with SO_REUSEPORT (another process of this user
     * would be let into the group by the API's own SO_REUSEPORT sockets) */
    int one = 1, holder = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof(sa);
    assert_true(holder >= 0);
    assert_int_equal(setsockopt(holder, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
    assert_int_equal(bind(holder, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(holder, 4), 0);
    assert_int_equal(getsockname(holder, (struct sockaddr *)&sa, &salen), 0);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(sa.sin_port));
    api = vigil_api_new(&cfg, errstr, sizeof(errstr));
    assert_non_null(api);
    assert_int_not_equal(vigil_api_start(api, errstr, sizeof(errstr)), VIGIL_OK);
    if (!strstr(errstr, addr) || !strstr(errstr, "bind"))
        fail_msg("error does not name %s and bind: %s", addr, errstr);
    vigil_api_free(api);
    close(holder);

    const char *bad[] = {"nonsense", "127.0.0.1", "127.0.0.1:99999", "example.com:80",
                         "127.0.0.1:80x", "::1:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg.http_listen = (char *)bad[i];
        errstr[0] = '\0';
        assert_null(vigil_api_new(&cfg, errstr, sizeof(errstr)));
        if (!strstr(errstr, bad[i])) fail_msg("error does not name %s: %s", bad[i], errstr);
    }
    /* "localhost" is accepted; stopping closes the listener */
    cfg.http_listen = "localhost:0";
    api = vigil_api_new(&cfg, errstr, sizeof(errstr));
    assert_non_null(api);
    assert_int_equal(vigil_api_start(api, errstr, sizeof(errstr)), VIGIL_OK);
    int port = vigil_api_port(api);
    assert_true(port > 0);
    http_resp_t r;
    assert_int_equal(http_get(port, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    vigil_api_stop(api);
    assert_int_equal(http_get(port, "/healthz", &r), -1);
    /* and it starts again on the same port, answering */
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    cfg.http_listen = addr;
    vigil_api_free(api);
    api = vigil_api_new(&cfg, errstr, sizeof(errstr));
    assert_non_null(api);
    if (vigil_api_start(api, errstr, sizeof(errstr))) fail_msg("restart: %s", errstr);
    for (int i = 0; i < 16; i++) { /* new connections, over whichever sockets the kernel picks */
        assert_int_equal(http_get(port, "/healthz", &r), 0);
        assert_int_equal(r.status, 200);
        http_resp_free(&r);
    }
    vigil_api_free(api);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_healthz_says_ok),
        cmocka_unit_test(test_api_healthz_says_what_is_wrong),
        cmocka_unit_test(test_api_cameras_lists_store_rows_with_password_hidden),
        cmocka_unit_test(test_api_detections_default_page_has_every_field_newest_first),
        cmocka_unit_test(test_api_detections_filters_by_camera_label_score_and_time),
        cmocka_unit_test(test_api_detections_pagination_returns_every_row_once),
        cmocka_unit_test(test_api_detections_bad_parameters_are_400_naming_them),
        cmocka_unit_test(test_api_frame_serves_the_stored_jpeg_bytes),
        cmocka_unit_test(test_api_frame_unknown_is_404_and_bad_id_is_400),
        cmocka_unit_test(test_api_post_is_405_with_allow_header),
        cmocka_unit_test(test_api_metrics_counts_requests_by_route_and_code),
        cmocka_unit_test(test_api_stats_reflects_stage_counters_and_store_counts),
        cmocka_unit_test(test_api_concurrent_requests_all_succeed),
        cmocka_unit_test(test_api_store_without_schema_is_503_but_healthz_ok),
        cmocka_unit_test(test_api_bind_failure_names_the_address),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
