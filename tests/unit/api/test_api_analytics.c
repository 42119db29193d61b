/* The analytics routes of the HTTP API end to end over real sockets: events,
 * one event, its snapshot and clip, counts and tracks, from a real SQLite
 * store in a temp data dir filled through vigil_store_analytics_commit, with
 * real JPEG frames (so that clips can be encoded and read back with
 * libavformat). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "api/api_int.h" /* clip_busy, for the busy test */
#include "api_support.h"
#include "vigil/api.h"
#include "vigil/clock.h"
#include "vigil/config.h"
#include "vigil/image.h"
#include "vigil/log.h"
#include "vigil/store.h"

#define NFRAMES 20                         /* lobby frames, every 200 ms */
#define FRAME_US INT64_C(200000)
#define BASE_US INT64_C(1795239062000000)  /* 2026-11-21T05:31:02Z */
#define MINUTE_US INT64_C(60000000)
#define M0 (BASE_US - BASE_US % MINUTE_US) /* 05:31:00 */
#define T(seq) (BASE_US + (int64_t)(seq) * FRAME_US)

/* The fixture's events, by what the tests call them. */
enum {
    EV_ENTER,     /* lobby zone_enter door person track 1, seq 3..8, snapshot seq 5 */
    EV_LEAVE,     /* lobby zone_leave door person track 1, instant at seq 8, no snapshot */
    EV_CROSS,     /* lobby line_cross gate car track 2 "in", instant at seq 10 */
    EV_LOITER,    /* lobby loiter door person track 3, open since seq 12, snapshot seq 14 */
    EV_GONE,      /* lobby zone_enter door person track 9, seq 15..16, snapshot frame gone */
    EV_YARD_A,    /* yard zone_enter pool dog tracks 5, 6, 7: equal start times */
    EV_YARD_B,
    EV_YARD_C,
    EV_YARD_OUT,  /* yard line_cross fence dog track 8 "out" */
    NEVENTS
};

typedef struct fixture {
    char dir[64];
    vigil_config_t cfg;
    vigil_api_t *api;
    int port;
    int64_t frame_ids[NFRAMES + 1]; /* by sequence */
    uint8_t *jpeg[NFRAMES + 1];
    size_t jpeg_len[NFRAMES + 1];
    vigil_analytics_event_t events[NEVENTS];
    int64_t ids[NEVENTS];
    int seen[NEVENTS];
} fixture_t;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static vigil_store_t *open_store(const char *dir, int migrate)
{
    char errstr[256] = "";
    vigil_store_conf_t conf;
    vigil_store_t *store;

    vigil_store_conf_init(&conf);
    conf.url = "sqlite";
    conf.data_dir = dir;
    conf.migrate = migrate;
    store = vigil_store_open(&conf, errstr, sizeof(errstr));
    if (!store) fail_msg("cannot open the store: %s", errstr);
    return store;
}

/* A decodable JPEG: a gradient that moves with seq; odd frames 64x48, even
 * ones 96x72 (a clip scales them to the first one's size). */
static void make_jpeg(fixture_t *fx, vigil_jpeg_t *codec, int seq)
{
    vigil_image_t img = {0};
    char errstr[256] = "";
    int w = seq % 2 ? 64 : 96, h = seq % 2 ? 48 : 72;

    assert_int_equal(vigil_image_alloc(&img, w, h, VIGIL_PIX_RGB24), VIGIL_OK);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img.data + (size_t)y * img.stride + (size_t)x * 3;
            p[0] = (uint8_t)(x * 4 + seq * 9);
            p[1] = (uint8_t)(y * 3);
            p[2] = (uint8_t)(seq * 12);
        }
    if (vigil_jpeg_encode(codec, &img, 80, &fx->jpeg[seq], &fx->jpeg_len[seq], errstr,
                          sizeof(errstr)))
        fail_msg("jpeg: %s", errstr);
    vigil_image_release(&img);
}

static vigil_analytics_event_t event(const char *camera, int kind, const char *label,
                                     uint64_t track, const char *zone, const char *line,
                                     int direction, int start_seq, int end_seq, int64_t snapshot)
{
    vigil_analytics_event_t ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    snprintf(ev.camera_id, sizeof(ev.camera_id), "%s", camera);
    snprintf(ev.label, sizeof(ev.label), "%s", label);
    ev.track_id = track;
    snprintf(ev.zone, sizeof(ev.zone), "%s", zone);
    snprintf(ev.line, sizeof(ev.line), "%s", line);
    ev.direction = direction;
    ev.start_sequence = (uint64_t)start_seq;
    ev.start_us = T(start_seq);
    ev.open = end_seq == 0;
    ev.end_sequence = (uint64_t)end_seq;
    ev.end_us = end_seq ? T(end_seq) : 0;
    ev.snapshot_frame_id = snapshot;
    ev.peak_score = 0.875f;
    ev.x1 = 10.5f, ev.y1 = 4.25f, ev.x2 = 40, ev.y2 = 44.75f;
    ev.updated_sequence = (uint64_t)(end_seq ? end_seq : start_seq + 2);
    return ev;
}

static vigil_count_bucket_t zone_count(int64_t minute, const char *zone, const char *label,
                                       int64_t entered, int64_t peak)
{
    vigil_count_bucket_t c;

    memset(&c, 0, sizeof(c));
    c.minute_us = minute;
    snprintf(c.zone, sizeof(c.zone), "%s", zone);
    snprintf(c.label, sizeof(c.label), "%s", label);
    c.entered = entered;
    c.peak = peak;
    return c;
}

static vigil_count_bucket_t line_count(int64_t minute, const char *line, const char *label,
                                       int64_t in, int64_t out)
{
    vigil_count_bucket_t c;

    memset(&c, 0, sizeof(c));
    c.minute_us = minute;
    snprintf(c.line, sizeof(c.line), "%s", line);
    snprintf(c.label, sizeof(c.label), "%s", label);
    c.in = in;
    c.out = out;
    return c;
}

static vigil_track_point_t point(uint64_t track, int seq, int64_t frame_id, const char *label,
                                 float x)
{
    vigil_track_point_t p;

    memset(&p, 0, sizeof(p));
    p.track_id = track;
    p.sequence = (uint64_t)seq;
    p.time_us = T(seq);
    p.frame_id = frame_id;
    snprintf(p.label, sizeof(p.label), "%s", label);
    p.score = 0.5f + 0.0625f * (float)(seq % 4);
    p.x1 = x, p.y1 = 2.5f, p.x2 = x + 20, p.y2 = 30;
    return p;
}

static void fill_store(fixture_t *fx)
{
    char errstr[256] = "";
    vigil_store_t *store = open_store(fx->dir, 1);
    vigil_jpeg_t *codec = vigil_jpeg_new();

    for (int s = 1; s <= NFRAMES; s++) {
        make_jpeg(fx, codec, s);
        vigil_frame_row_t fr = {.sequence = (uint64_t)s, .capture_time_us = T(s),
                                .width = s % 2 ? 64 : 96, .height = s % 2 ? 48 : 72,
                                .size_bytes = (int64_t)fx->jpeg_len[s]};
        snprintf(fr.camera_id, sizeof(fr.camera_id), "lobby");
        if (vigil_store_frame_put(store, &fr, fx->jpeg[s], fx->jpeg_len[s], errstr,
                                  sizeof(errstr)))
            fail_msg("frame_put: %s", errstr);
        fx->frame_ids[s] = fr.id;
    }
    vigil_jpeg_free(codec);

    vigil_analytics_event_t *e = fx->events;
    e[EV_ENTER] = event("lobby", VIGIL_EVENT_ZONE_ENTER, "person", 1, "door", "", 0, 3, 8,
                        fx->frame_ids[5]);
    e[EV_LEAVE] = event("lobby", VIGIL_EVENT_ZONE_LEAVE, "person", 1, "door", "", 0, 8, 8, 0);
    e[EV_CROSS] = event("lobby", VIGIL_EVENT_LINE_CROSS, "car", 2, "", "gate", VIGIL_DIR_IN, 10,
                        10, fx->frame_ids[10]);
    e[EV_LOITER] = event("lobby", VIGIL_EVENT_LOITER, "person", 3, "door", "", 0, 12, 0,
                         fx->frame_ids[14]);
    e[EV_GONE] = event("lobby", VIGIL_EVENT_ZONE_ENTER, "person", 9, "door", "", 0, 15, 16,
                       INT64_C(987654321));
    e[EV_YARD_A] = event("yard", VIGIL_EVENT_ZONE_ENTER, "dog", 5, "pool", "", 0, 2, 4, 0);
    e[EV_YARD_B] = event("yard", VIGIL_EVENT_ZONE_ENTER, "dog", 6, "pool", "", 0, 2, 5, 0);
    e[EV_YARD_C] = event("yard", VIGIL_EVENT_ZONE_ENTER, "dog", 7, "pool", "", 0, 2, 6, 0);
    e[EV_YARD_OUT] = event("yard", VIGIL_EVENT_LINE_CROSS, "dog", 8, "", "fence", VIGIL_DIR_OUT,
                           7, 7, 0);

    vigil_track_point_t lobby_points[8], yard_points[2];
    size_t nlp = 0;
    for (int s = 3; s <= 8; s++)
        lobby_points[nlp++] = point(1, s, fx->frame_ids[s], "person", (float)s);
    lobby_points[nlp++] = point(2, 10, fx->frame_ids[10], "car", 1);
    lobby_points[nlp++] = point(2, 11, 0, "car", 2);
    yard_points[0] = point(1, 2, 0, "dog", 0);
    yard_points[1] = point(1, 3, 0, "dog", 1);

    vigil_count_bucket_t lobby_counts[] = {
        zone_count(M0, "door", "person", 2, 1),
        zone_count(M0 + MINUTE_US, "door", "person", 1, 2),
        zone_count(M0 + 61 * MINUTE_US, "door", "person", 4, 3),
        line_count(M0, "gate", "car", 1, 0),
        line_count(M0 + 2 * MINUTE_US, "gate", "car", 2, 3),
    };
    vigil_count_bucket_t yard_counts[] = {zone_count(M0, "pool", "dog", 1, 1)};

    vigil_analytics_camera_batch_t batches[2] = {
        {.camera_id = "lobby", .events = e, .nevents = EV_YARD_A, .points = lobby_points,
         .npoints = nlp, .counts = lobby_counts,
         .ncounts = sizeof(lobby_counts) / sizeof(lobby_counts[0])},
        {.camera_id = "yard", .events = e + EV_YARD_A, .nevents = NEVENTS - EV_YARD_A,
         .points = yard_points, .npoints = 2, .counts = yard_counts, .ncounts = 1},
    };
    if (vigil_store_analytics_commit(store, batches, 2, errstr, sizeof(errstr)))
        fail_msg("analytics_commit: %s", errstr);

    /* Learn the ids the store gave the events. */
    vigil_event_query_t q = {.limit = 1000};
    vigil_analytics_event_row_t *rows = NULL;
    size_t n = 0;
    int64_t ns, ni;
    assert_int_equal(vigil_store_analytics_events_query(store, &q, &rows, &n, &ns, &ni),
                     VIGIL_OK);
    assert_int_equal(n, NEVENTS);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < NEVENTS; k++)
            if (rows[i].ev.kind == e[k].kind && rows[i].ev.track_id == e[k].track_id &&
                strcmp(rows[i].ev.camera_id, e[k].camera_id) == 0)
                fx->ids[k] = rows[i].id;
    for (int k = 0; k < NEVENTS; k++) assert_true(fx->ids[k] > 0);
    free(rows);
    vigil_store_close(store);
}

static int group_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    char errstr[256] = "";

    if (!fx) return -1;
    vigil_log_set_level(getenv("API_TEST_DEBUG") ? VIGIL_LOG_DEBUG : VIGIL_LOG_ERROR);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/vigil-api-an-test-XXXXXX");
    if (!mkdtemp(fx->dir)) return -1;
    fill_store(fx);
    fx->cfg.http_listen = "127.0.0.1:0";
    fx->cfg.store_url = "sqlite";
    fx->cfg.data_dir = fx->dir;
    fx->cfg.analytics_clip_preroll_s = 0.4;  /* two frames before */
    fx->cfg.analytics_clip_postroll_s = 0.4; /* two frames after */
    fx->api = vigil_api_new(&fx->cfg, errstr, sizeof(errstr));
    if (!fx->api) fail_msg("vigil_api_new: %s", errstr);
    if (vigil_api_start(fx->api, errstr, sizeof(errstr))) fail_msg("start: %s", errstr);
    fx->port = vigil_api_port(fx->api);
    assert_true(fx->port > 0);
    *state = fx;
    return 0;
}

static int group_teardown(void **state)
{
    fixture_t *fx = *state;

    vigil_api_free(fx->api);
    nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    for (int s = 0; s <= NFRAMES; s++) free(fx->jpeg[s]);
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
    if (r.status != status)
        fail_msg("GET %s: status %d, want %d: %s", target, r.status, status, r.body);
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
    char quoted[80];

    if (!p || strcmp(p, param) != 0) fail_msg("GET %s: parameter %s, want %s", target, p, param);
    assert_non_null(e);
    snprintf(quoted, sizeof(quoted), "\"%s\"", param);
    if (!strstr(e, quoted)) fail_msg("GET %s: error does not name %s: %s", target, param, e);
    json_decref(j);
}

/* Expects a 404 whose message contains `what`. */
static void expect_not_found(fixture_t *fx, const char *target, const char *what)
{
    json_t *j = get_json(fx, target, 404);
    const char *e = json_string_value(json_object_get(j, "error"));

    if (!e || !strstr(e, what)) fail_msg("GET %s: error %s, want it to say %s", target, e, what);
    json_decref(j);
}

static int event_index(fixture_t *fx, int64_t id)
{
    for (int k = 0; k < NEVENTS; k++)
        if (fx->ids[k] == id) return k;
    fail_msg("unknown event id %" PRId64, id);
    return -1;
}

static int64_t json_int(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v)) fail_msg("\"%s\" is not an integer", key);
    return json_integer_value(v);
}

static const char *json_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) fail_msg("\"%s\" is not a string", key);
    return json_string_value(v);
}

/* Checks that one item is the fixture's event k, field by field. */
static void check_event(fixture_t *fx, json_t *it, int k)
{
    static const char *const kinds[] = {NULL, "zone_enter", "zone_leave", "loiter",
                                        "line_cross"};
    static const char *const fields[] = {
        "id", "camera", "kind", "label", "track", "zone", "line", "direction", "start",
        "start_us", "end", "end_us", "open", "start_sequence", "end_sequence", "peak_score",
        "box", "snapshot_frame_id", "reviewed", "snapshot_url", "clip_url"};
    const vigil_analytics_event_t *ev = &fx->events[k];
    char want[96];
    int64_t t = 0;

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (!json_object_get(it, fields[i])) fail_msg("event %d: no \"%s\"", k, fields[i]);
    assert_int_equal(json_int(it, "id"), fx->ids[k]);
    assert_string_equal(json_str(it, "camera"), ev->camera_id);
    assert_string_equal(json_str(it, "kind"), kinds[ev->kind]);
    assert_string_equal(json_str(it, "label"), ev->label);
    assert_int_equal(json_int(it, "track"), ev->track_id);
    if (ev->zone[0])
        assert_string_equal(json_str(it, "zone"), ev->zone);
    else
        assert_true(json_is_null(json_object_get(it, "zone")));
    if (ev->line[0])
        assert_string_equal(json_str(it, "line"), ev->line);
    else
        assert_true(json_is_null(json_object_get(it, "line")));
    if (ev->direction)
        assert_string_equal(json_str(it, "direction"), ev->direction == 1 ? "in" : "out");
    else
        assert_true(json_is_null(json_object_get(it, "direction")));
    assert_int_equal(vigil_parse_time(json_str(it, "start"), &t), 0);
    assert_int_equal(t, ev->start_us);
    assert_int_equal(json_int(it, "start_us"), ev->start_us);
    assert_int_equal(json_int(it, "start_sequence"), ev->start_sequence);
    if (ev->open) {
        assert_true(json_is_true(json_object_get(it, "open")));
        assert_true(json_is_null(json_object_get(it, "end")));
        assert_true(json_is_null(json_object_get(it, "end_us")));
        assert_true(json_is_null(json_object_get(it, "end_sequence")));
    } else {
        assert_true(json_is_false(json_object_get(it, "open")));
        assert_int_equal(vigil_parse_time(json_str(it, "end"), &t), 0);
        assert_int_equal(t, ev->end_us);
        assert_int_equal(json_int(it, "end_us"), ev->end_us);
        assert_int_equal(json_int(it, "end_sequence"), ev->end_sequence);
    }
    assert_true(json_number_value(json_object_get(it, "peak_score")) == 0.875);
    json_t *box = json_object_get(it, "box");
    assert_int_equal(json_array_size(box), 4);
    assert_true(json_number_value(json_array_get(box, 0)) == 10.5);
    assert_true(json_number_value(json_array_get(box, 1)) == 4.25);
    assert_true(json_number_value(json_array_get(box, 2)) == 40);
    assert_true(json_number_value(json_array_get(box, 3)) == 44.75);
    assert_true(json_is_false(json_object_get(it, "reviewed")));
    if (ev->snapshot_frame_id) {
        assert_int_equal(json_int(it, "snapshot_frame_id"), ev->snapshot_frame_id);
        snprintf(want, sizeof(want), "/api/v1/events/%" PRId64 "/snapshot.jpg", fx->ids[k]);
        assert_string_equal(json_str(it, "snapshot_url"), want);
    } else {
        assert_true(json_is_null(json_object_get(it, "snapshot_frame_id")));
        assert_true(json_is_null(json_object_get(it, "snapshot_url")));
    }
    snprintf(want, sizeof(want), "/api/v1/events/%" PRId64 "/clip.mp4", fx->ids[k]);
    assert_string_equal(json_str(it, "clip_url"), want);
}

/* ---- GET /api/v1/events ------------------------------------------------------ */

static void test_api_events_list_every_field_newest_first(void **state)
{
    fixture_t *fx = *state;
    json_t *j = get_json(fx, "/api/v1/events", 200), *it;
    json_t *items = json_object_get(j, "items");
    int64_t prev_start = INT64_MAX, prev_id = INT64_MAX;
    size_t i;

    assert_int_equal(json_array_size(items), NEVENTS);
    assert_true(json_is_null(json_object_get(j, "next_cursor")));
    json_array_foreach(items, i, it) {
        int64_t start = json_int(it, "start_us"), id = json_int(it, "id");
        /* newest first by (start, id) */
        assert_true(start < prev_start || (start == prev_start && id < prev_id));
        prev_start = start;
        prev_id = id;
        check_event(fx, it, event_index(fx, id));
    }
    json_decref(j);
}

/* GETs target and checks that exactly the events `want` (a -1-terminated
 * list of fixture indexes) come back. */
static void check_events(fixture_t *fx, const char *target, const int *want)
{
    json_t *j = get_json(fx, target, 200), *it;
    json_t *items = json_object_get(j, "items");
    size_t i, nwant = 0;

    memset(fx->seen, 0, sizeof(fx->seen));
    json_array_foreach(items, i, it) fx->seen[event_index(fx, json_int(it, "id"))]++;
    for (; want[nwant] >= 0; nwant++)
        if (fx->seen[want[nwant]] != 1) fail_msg("GET %s: event %d missing", target, want[nwant]);
    if (json_array_size(items) != nwant)
        fail_msg("GET %s: %zu items, want %zu", target, json_array_size(items), nwant);
    json_decref(j);
}

static void test_api_events_filter_by_camera_kind_label_zone_line_and_time(void **state)
{
    fixture_t *fx = *state;
    char target[256];

    check_events(fx, "/api/v1/events?camera=yard",
                 (int[]){EV_YARD_A, EV_YARD_B, EV_YARD_C, EV_YARD_OUT, -1});
    check_events(fx, "/api/v1/events?kind=line_cross", (int[]){EV_CROSS, EV_YARD_OUT, -1});
    check_events(fx, "/api/v1/events?kind=loiter", (int[]){EV_LOITER, -1});
    check_events(fx, "/api/v1/events?label=car", (int[]){EV_CROSS, -1});
    check_events(fx, "/api/v1/events?zone=door",
                 (int[]){EV_ENTER, EV_LEAVE, EV_LOITER, EV_GONE, -1});
    check_events(fx, "/api/v1/events?line=fence", (int[]){EV_YARD_OUT, -1});
    check_events(fx, "/api/v1/events?camera=lobby&kind=zone_enter&zone=door&label=person",
                 (int[]){EV_ENTER, EV_GONE, -1});
    check_events(fx, "/api/v1/events?camera=nosuchcam", (int[]){-1});
    /* start in [since, until): RFC 3339 since, microseconds until */
    snprintf(target, sizeof(target),
             "/api/v1/events?since=2026-11-21T05:31:03.600Z&until=%" PRId64, T(15));
    check_events(fx, target, (int[]){EV_LEAVE, EV_CROSS, EV_LOITER, -1});
    snprintf(target, sizeof(target), "/api/v1/events?camera=lobby&since=%" PRId64, T(8));
    check_events(fx, target, (int[]){EV_LEAVE, EV_CROSS, EV_LOITER, EV_GONE, -1});
}

static void paginate(fixture_t *fx, const char *first, size_t limit, const int *want)
{
    char target[512];
    size_t pages = 0, total = 0, nwant = 0;
    int64_t prev_start = INT64_MAX, prev_id = INT64_MAX;

    memset(fx->seen, 0, sizeof(fx->seen));
    snprintf(target, sizeof(target), "%s", first);
    for (;;) {
        json_t *j = get_json(fx, target, 200), *it;
        json_t *items = json_object_get(j, "items");
        size_t i;
        assert_true(json_array_size(items) <= limit);
        json_array_foreach(items, i, it) {
            int64_t start = json_int(it, "start_us"), id = json_int(it, "id");
            assert_true(start < prev_start || (start == prev_start && id < prev_id));
            prev_start = start;
            prev_id = id;
            int k = event_index(fx, id);
            assert_int_equal(fx->seen[k], 0);
            fx->seen[k] = 1;
            total++;
        }
        pages++;
        assert_true(pages < 50);
        json_t *next = json_object_get(j, "next_cursor");
        if (json_is_null(next)) {
            json_decref(j);
            break;
        }
        assert_true(json_is_string(next));
        snprintf(target, sizeof(target), "%s&cursor=%s", first, json_string_value(next));
        json_decref(j);
    }
    for (; want[nwant] >= 0; nwant++) assert_int_equal(fx->seen[want[nwant]], 1);
    assert_int_equal(total, nwant);
}

static void test_api_events_pagination_over_equal_start_times_returns_each_once(void **state)
{
    fixture_t *fx = *state;
    const int all[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, -1};
    const int yard[] = {EV_YARD_A, EV_YARD_B, EV_YARD_C, EV_YARD_OUT, -1};

    assert_int_equal(fx->events[EV_YARD_A].start_us, fx->events[EV_YARD_B].start_us);
    assert_int_equal(fx->events[EV_YARD_B].start_us, fx->events[EV_YARD_C].start_us);
    /* the page boundary falls between events of the same start */
    paginate(fx, "/api/v1/events?limit=1", 1, all);
    paginate(fx, "/api/v1/events?limit=2", 2, all);
    paginate(fx, "/api/v1/events?camera=yard&limit=2", 2, yard);
    paginate(fx, "/api/v1/events?camera=yard&kind=zone_enter&limit=1", 1,
             (const int[]){EV_YARD_A, EV_YARD_B, EV_YARD_C, -1});
    paginate(fx, "/api/v1/events?limit=9", 9, all);
}

static void test_api_events_bad_parameters_are_400_naming_them(void **state)
{
    fixture_t *fx = *state;
    json_t *j;

    expect_bad_param(fx, "/api/v1/events?kind=zone_exit", "kind");
    expect_bad_param(fx, "/api/v1/events?kind=", "kind");
    expect_bad_param(fx, "/api/v1/events?kind", "kind");
    expect_bad_param(fx, "/api/v1/events?zone=a/b", "zone");
    expect_bad_param(fx, "/api/v1/events?zone=", "zone");
    expect_bad_param(fx, "/api/v1/events?line=a%20b", "line");
    expect_bad_param(fx, "/api/v1/events?line=" /* 64 characters */
                     "0123456789012345678901234567890123456789012345678901234567890123",
                     "line");
    expect_bad_param(fx, "/api/v1/events?zone=door&line=gate", "line");
    expect_bad_param(fx, "/api/v1/events?camera=../x", "camera");
    expect_bad_param(fx, "/api/v1/events?label=", "label");
    expect_bad_param(fx, "/api/v1/events?since=yesterday", "since");
    expect_bad_param(fx, "/api/v1/events?since=2000&until=1000", "until");
    expect_bad_param(fx, "/api/v1/events?limit=0", "limit");
    expect_bad_param(fx, "/api/v1/events?limit=1001", "limit");
    expect_bad_param(fx, "/api/v1/events?cursor=zzz", "cursor");
    expect_bad_param(fx, "/api/v1/events?cursor=djE6MTI", "cursor"); /* a detections cursor */
    expect_bad_param(fx, "/api/v1/events?min_score=0.5", "min_score");
    expect_bad_param(fx, "/api/v1/events?kind=loiter&kind=loiter", "kind");

    j = get_json(fx, "/api/v1/events?kind=bogus", 400);
    assert_string_equal(json_str(j, "error"),
                        "invalid parameter \"kind\": must be one of zone_enter, zone_leave, "
                        "loiter, line_cross");
    json_decref(j);
}

/* ---- GET /api/v1/events/{id} ---------------------------------------------------- */

static void test_api_event_by_id_is_the_list_item_404_and_400(void **state)
{
    fixture_t *fx = *state;
    char target[96];

    for (int k = 0; k < NEVENTS; k++) {
        snprintf(target, sizeof(target), "/api/v1/events/%" PRId64, fx->ids[k]);
        json_t *j = get_json(fx, target, 200);
        check_event(fx, j, k);
        json_decref(j);
    }
    expect_not_found(fx, "/api/v1/events/99999999", "event 99999999 not found");
    expect_bad_param(fx, "/api/v1/events/abc", "id");
    expect_bad_param(fx, "/api/v1/events/0", "id");
    expect_bad_param(fx, "/api/v1/events/-4", "id");
    expect_bad_param(fx, "/api/v1/events/12x", "id");
    expect_bad_param(fx, "/api/v1/events/123456789012345678901234567890123456789", "id");
    expect_bad_param(fx, "/api/v1/events/abc/clip.mp4", "id");
    expect_bad_param(fx, "/api/v1/events/abc/snapshot.jpg", "id");
    expect_not_found(fx, "/api/v1/events/", "no such path");
    expect_not_found(fx, "/api/v1/events/1/other", "no such path");
    expect_not_found(fx, "/api/v1/events/1/clip.mp4/x", "no such path");
}

/* ---- snapshots ------------------------------------------------------------------------ */

static void test_api_event_snapshot_is_the_stored_frame(void **state)
{
    fixture_t *fx = *state;
    char target[96], hdr[128];
    http_resp_t r;

    snprintf(target, sizeof(target), "/api/v1/events/%" PRId64 "/snapshot.jpg", fx->ids[EV_ENTER]);
    assert_int_equal(http_get(fx->port, target, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, fx->jpeg_len[5]);
    assert_memory_equal(r.body, fx->jpeg[5], r.body_len);
    assert_string_equal(http_header(&r, "Content-Type", hdr, sizeof(hdr)), "image/jpeg");
    assert_non_null(http_header(&r, "Cache-Control", hdr, sizeof(hdr)));
    assert_non_null(strstr(hdr, "immutable"));
    http_resp_free(&r);

    /* an open event may still choose another snapshot: not cached */
    snprintf(target, sizeof(target), "/api/v1/events/%" PRId64 "/snapshot.jpg", fx->ids[EV_LOITER]);
    assert_int_equal(http_get(fx->port, target, &r), 0);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, fx->jpeg[14], fx->jpeg_len[14]);
    assert_string_equal(http_header(&r, "Cache-Control", hdr, sizeof(hdr)), "no-store");
    http_resp_free(&r);

    /* HEAD: headers, no body */
    assert_int_equal(http_request(fx->port, "HEAD", target, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    http_resp_free(&r);

    snprintf(target, sizeof(target), "/api/v1/events/%" PRId64 "/snapshot.jpg", fx->ids[EV_LEAVE]);
    expect_not_found(fx, target, "has no snapshot frame");
    snprintf(target, sizeof(target), "/api/v1/events/%" PRId64 "/snapshot.jpg", fx->ids[EV_GONE]);
    expect_not_found(fx, target, "snapshot frame 987654321 is gone");
    expect_not_found(fx, "/api/v1/events/99999999/snapshot.jpg", "event 99999999 not found");
}

/* ---- clips ------------------------------------------------------------------------------ */

typedef struct mp4_probe {
    enum AVCodecID codec;
    int width, height, packets;
    double duration_s;
} mp4_probe_t;

/* Writes the bytes to a file and reads them back with libavformat. */
static void probe_mp4(fixture_t *fx, const void *data, size_t len, mp4_probe_t *p)
{
    char path[128];
    AVFormatContext *fmt = NULL;
    AVPacket *pkt = av_packet_alloc();
    FILE *f;

    snprintf(path, sizeof(path), "%s/probe.mp4", fx->dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    memset(p, 0, sizeof(*p));
    assert_int_equal(avformat_open_input(&fmt, path, NULL, NULL), 0);
    assert_true(avformat_find_stream_info(fmt, NULL) >= 0);
    assert_int_equal(fmt->nb_streams, 1);
    p->codec = fmt->streams[0]->codecpar->codec_id;
    p->width = fmt->streams[0]->codecpar->width;
    p->height = fmt->streams[0]->codecpar->height;
    p->duration_s = (double)fmt->duration / AV_TIME_BASE;
    while (av_read_frame(fmt, pkt) >= 0) {
        p->packets++;
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    unlink(path);
}

/* The offset of top-level box `type` in an MP4 in memory, or -1. */
static long mp4_box(const unsigned char *d, size_t len, const char *type)
{
    size_t off = 0;

    while (off + 8 <= len) {
        uint64_t size = (uint64_t)d[off] << 24 | (uint64_t)d[off + 1] << 16 |
                        (uint64_t)d[off + 2] << 8 | d[off + 3];
        if (memcmp(d + off + 4, type, 4) == 0) return (long)off;
        if (size == 1 && off + 16 <= len) {
            size = 0;
            for (int i = 8; i < 16; i++) size = size << 8 | d[off + i];
        }
        if (size < 8) break;
        off += size;
    }
    return -1;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Files in DIR/clips/CAMERA whose name contains `part`. */
static int clip_files(fixture_t *fx, const char *camera, const char *part)
{
    char d[160];
    DIR *dp;
    struct dirent *e;
    int n = 0;

    snprintf(d, sizeof(d), "%s/clips/%s", fx->dir, camera);
    if (!(dp = opendir(d))) return 0;
    while ((e = readdir(dp)))
        if (e->d_name[0] != '.' && strstr(e->d_name, part)) n++;
    closedir(dp);
    return n;
}

static void test_api_event_clip_is_a_playable_mp4_cached_after_the_first_request(void **state)
{
    fixture_t *fx = *state;
    char target[96], hdr[128], cached[160];
    http_resp_t r, r2;
    mp4_probe_t p;
    size_t len = 0;
    struct stat st;

    snprintf(target, sizeof(target), "/api/v1/events/%" PRId64 "/clip.mp4", fx->ids[EV_ENTER]);
    snprintf(cached, sizeof(cached), "%s/clips/lobby/%" PRId64 ".mp4", fx->dir, fx->ids[EV_ENTER]);
    assert_int_not_equal(stat(cached, &st), 0);

    assert_int_equal(http_get(fx->port, target, &r), 0);
    if (r.status != 200) fail_msg("GET %s: %d %s", target, r.status, r.body);
    assert_string_equal(http_header(&r, "Content-Type", hdr, sizeof(hdr)), "video/mp4");
    assert_string_equal(http_header(&r, "Accept-Ranges", hdr, sizeof(hdr)), "bytes");
    assert_non_null(strstr(http_header(&r, "Cache-Control", hdr, sizeof(hdr)), "immutable"));
    /* moov before mdat: a browser can play while loading */
    long moov = mp4_box((const unsigned char *)r.body, r.body_len, "moov");
    long mdat = mp4_box((const unsigned char *)r.body, r.body_len, "mdat");
    assert_true(moov > 0 && mdat > 0 && moov < mdat);
    /* seq 3..8 with 0.4 s of preroll and postroll: frames 1..10, at the first one's size */
    probe_mp4(fx, r.body, r.body_len, &p);
    assert_int_equal(p.codec, AV_CODEC_ID_H264);
    assert_int_equal(p.packets, 10);
    assert_int_equal(p.width, 64);
    assert_int_equal(p.height, 48);
    if (p.duration_s < 1.9 || p.duration_s > 2.1)
        fail_msg("clip lasts %.3f s, want 2.0 (10 frames of 0.2 s)", p.duration_s);

    /* cached at the store's clip path, byte for byte */
    char *file = read_file(cached, &len);
    assert_non_null(file);
    assert_int_equal(len, r.body_len);
    assert_memory_equal(file, r.body, len);
    free(file);
    assert_int_equal(clip_files(fx, "lobby", "tmp"), 0);
    assert_int_equal(clip_files(fx, "lobby", "live"), 0);

    /* the second request is served from that file: replace it and see */
    FILE *f = fopen(cached, "wb");
    assert_non_null(f);
    fwrite(r.body, 1, r.body_len / 2, f);
    fclose(f);
    assert_int_equal(http_get(fx->port, target, &r2), 0);
    assert_int_equal(r2.status, 200);
    assert_int_equal(r2.body_len, r.body_len / 2);
    assert_memory_equal(r2.body, r.body, r2.body_len);
    http_resp_free(&r2);
    /* put the whole clip back for the range checks */
    f = fopen(cached, "wb");
    assert_non_null(f);
    fwrite(r.body, 1, r.body_len, f);
    fclose(f);

    /* byte ranges, as a browser seeking in the video asks for them */
    assert_int_equal(http_request_headers(fx->port, "GET", target, "Range: bytes=100-199\r\n",
                                          NULL, &r2),
                     0);
    assert_int_equal(r2.status, 206);
    assert_int_equal(r2.body_len, 100);
    assert_memory_equal(r2.body, r.body + 100, 100);
    char want[64];
    snprintf(want, sizeof(want), "bytes 100-199/%zu", r.body_len);
    assert_string_equal(http_header(&r2, "Content-Range", hdr, sizeof(hdr)), want);
    http_resp_free(&r2);
    assert_int_equal(http_request_headers(fx->port, "GET", target, "Range: bytes=-10\r\n", NULL,
                                          &r2),
                     0);
    assert_int_equal(r2.status, 206);
    assert_int_equal(r2.body_len, 10);
    assert_memory_equal(r2.body, r.body + r.body_len - 10, 10);
    http_resp_free(&r2);
    snprintf(want, sizeof(want), "Range: bytes=%zu-\r\n", r.body_len + 5);
    assert_int_equal(http_request_headers(fx->port, "GET", target, want, NULL, &r2), 0);
    assert_int_equal(r2.status, 416);
    snprintf(want, sizeof(want), "bytes */%zu", r.body_len);
    assert_string_equal(http_header(&r2, "Content-Range", hdr, sizeof(hdr)), want);
    http_resp_free(&r2);

    /* HEAD: the length without the body */
    assert_int_equal(http_request(fx->port, "HEAD", target, NULL, &r2), 0);
    assert_int_equal(r2.status, 200);
    assert_int_equal(r2.body_len, 0);
    snprintf(want, sizeof(want), "%zu", r.body_len);
    assert_string_equal(http_header(&r2, "Content-Length", hdr, sizeof(hdr)), want);
    http_resp_free(&r2);
    http_resp_free(&r);
}

static void test_api_open_event_clip_runs_to_the_newest_frame_and_is_not_cached(void **state)
{
    fixture_t *fx = *state;
    char target[96], hdr[128], cached[160];
    http_resp_t r;
    mp4_probe_t p;
    struct stat st;

    snprintf(target, sizeof(target), "/api/v1/events/%" PRId64 "/clip.mp4", fx->ids[EV_LOITER]);
    assert_int_equal(http_get(fx->port, target, &r), 0);
    if (r.status != 200) fail_msg("GET %s: %d %s", target, r.status, r.body);
    assert_string_equal(http_header(&r, "Cache-Control", hdr, sizeof(hdr)), "no-store");
    /* from seq 12 - 2 to the newest stored frame, 20 */
    probe_mp4(fx, r.body, r.body_len, &p);
    assert_int_equal(p.codec, AV_CODEC_ID_H264);
    assert_int_equal(p.packets, NFRAMES - 10 + 1);
    assert_int_equal(p.width, 96); /* seq 10 is 96x72 */
    http_resp_free(&r);
    snprintf(cached, sizeof(cached), "%s/clips/lobby/%" PRId64 ".mp4", fx->dir,
             fx->ids[EV_LOITER]);
    assert_int_not_equal(stat(cached, &st), 0);
    assert_int_equal(clip_files(fx, "lobby", "live"), 0); /* unlinked once open */
    assert_int_equal(clip_files(fx, "lobby", "tmp"), 0);
}

static void test_api_event_clip_without_frames_is_404(void **state)
{
    fixture_t *fx = *state;
    char target[96];

    /* the yard camera stored no frames */
    snprintf(target, sizeof(target), "/api/v1/events/%" PRId64 "/clip.mp4", fx->ids[EV_YARD_A]);
    expect_not_found(fx, target, "no stored frames of camera \"yard\" from "
                                 "2026-11-21T05:31:02.000Z to ");
    expect_not_found(fx, "/api/v1/events/99999999/clip.mp4", "event 99999999 not found");
    assert_int_equal(clip_files(fx, "yard", ""), 0);
}

typedef struct clip_getter {
    fixture_t *fx;
    const char *target;
    http_resp_t r;
} clip_getter_t;

static void *clip_get(void *arg)
{
    clip_getter_t *g = arg;
    http_get(g->fx->port, g->target, &g->r);
    return NULL;
}

static void test_api_concurrent_first_clip_requests_get_the_same_whole_file(void **state)
{
    fixture_t *fx = *state;
    char target[96];
    pthread_t threads[4];
    clip_getter_t g[4];
    mp4_probe_t p;

    snprintf(target, sizeof(target), "/api/v1/events/%" PRId64 "/clip.mp4", fx->ids[EV_CROSS]);
    for (int i = 0; i < 4; i++) {
        g[i] = (clip_getter_t){.fx = fx, .target = target};
        assert_int_equal(pthread_create(&threads[i], NULL, clip_get, &g[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(threads[i], NULL);
    for (int i = 0; i < 4; i++) {
        if (g[i].r.status != 200) fail_msg("request %d: %d %s", i, g[i].r.status, g[i].r.body);
        assert_int_equal(g[i].r.body_len, g[0].r.body_len);
        assert_memory_equal(g[i].r.body, g[0].r.body, g[0].r.body_len);
    }
    /* seq 10 with 2 frames either side */
    probe_mp4(fx, g[0].r.body, g[0].r.body_len, &p);
    assert_int_equal(p.packets, 5);
    for (int i = 0; i < 4; i++) http_resp_free(&g[i].r);
    assert_int_equal(clip_files(fx, "lobby", "tmp"), 0);
    char name[32];
    snprintf(name, sizeof(name), "%" PRId64 ".mp4", fx->ids[EV_CROSS]);
    assert_int_equal(clip_files(fx, "lobby", name), 1);
}

static void test_api_clip_beyond_the_encode_limit_is_503_with_retry_after(void **state)
{
    fixture_t *fx = *state;
    char target[96], hdr[32];
    http_resp_t r;

    /* as if other requests were making VIGIL__API_CLIPS_MAX clips */
    pthread_mutex_lock(&fx->api->clip_lock);
    for (int i = 0; i < VIGIL__API_CLIPS_MAX; i++) fx->api->clip_busy[i] = -1000 - i;
    pthread_mutex_unlock(&fx->api->clip_lock);
    snprintf(target, sizeof(target), "/api/v1/events/%" PRId64 "/clip.mp4", fx->ids[EV_GONE]);
    assert_int_equal(http_get(fx->port, target, &r), 0);
    assert_int_equal(r.status, 503);
    assert_string_equal(http_header(&r, "Retry-After", hdr, sizeof(hdr)), "5");
    assert_non_null(strstr(r.body, "other clips are being made"));
    http_resp_free(&r);
    /* a clip already cached is still served */
    snprintf(target, sizeof(target), "/api/v1/events/%" PRId64 "/clip.mp4", fx->ids[EV_ENTER]);
    assert_int_equal(http_get(fx->port, target, &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);

    pthread_mutex_lock(&fx->api->clip_lock);
    for (int i = 0; i < VIGIL__API_CLIPS_MAX; i++) fx->api->clip_busy[i] = 0;
    pthread_mutex_unlock(&fx->api->clip_lock);
    snprintf(target, sizeof(target), "/api/v1/events/%" PRId64 "/clip.mp4", fx->ids[EV_GONE]);
    assert_int_equal(http_get(fx->port, target, &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
}

/* ---- GET /api/v1/counts -------------------------------------------------------------- */

/* The item of counts response j for (camera, zone or line, label[, bucket]). */
static json_t *find_count(json_t *j, const char *camera, const char *key, const char *id,
                          const char *label, int64_t bucket_us)
{
    json_t *it;
    size_t i;

    json_array_foreach(json_object_get(j, "items"), i, it) {
        const char *v = json_string_value(json_object_get(it, key));
        if (strcmp(json_str(it, "camera"), camera) == 0 && v && strcmp(v, id) == 0 &&
            strcmp(json_str(it, "label"), label) == 0 &&
            (!bucket_us || json_int(it, "bucket_us") == bucket_us))
            return it;
    }
    fail_msg("no count for %s %s=%s %s bucket %" PRId64, camera, key, id, label, bucket_us);
    return NULL;
}

static void check_zone(json_t *j, const char *camera, const char *zone, const char *label,
                       int64_t bucket_us, int64_t entered, int64_t peak)
{
    json_t *it = find_count(j, camera, "zone", zone, label, bucket_us);

    assert_int_equal(json_int(it, "entered"), entered);
    assert_int_equal(json_int(it, "peak"), peak);
    assert_null(json_object_get(it, "line"));
    assert_null(json_object_get(it, "in"));
    if (bucket_us) {
        int64_t t = 0;
        assert_int_equal(vigil_parse_time(json_str(it, "bucket"), &t), 0);
        assert_int_equal(t, bucket_us);
    } else {
        assert_null(json_object_get(it, "bucket"));
    }
}

static void check_line(json_t *j, const char *camera, const char *line, const char *label,
                       int64_t bucket_us, int64_t in, int64_t out)
{
    json_t *it = find_count(j, camera, "line", line, label, bucket_us);

    assert_int_equal(json_int(it, "in"), in);
    assert_int_equal(json_int(it, "out"), out);
    assert_null(json_object_get(it, "zone"));
    assert_null(json_object_get(it, "entered"));
}

static void test_api_counts_totals_and_buckets(void **state)
{
    fixture_t *fx = *state;
    int64_t h0 = M0 - M0 % (60 * MINUTE_US), d0 = M0 - M0 % (1440 * MINUTE_US);
    char target[160];
    json_t *j;

    /* totals over everything: peak is the largest minute, the rest sums */
    j = get_json(fx, "/api/v1/counts", 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 3);
    check_zone(j, "lobby", "door", "person", 0, 7, 3);
    check_line(j, "lobby", "gate", "car", 0, 3, 3);
    check_zone(j, "yard", "pool", "dog", 0, 1, 1);
    json_decref(j);

    j = get_json(fx, "/api/v1/counts?camera=lobby&zone=door&bucket=minute", 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 3);
    check_zone(j, "lobby", "door", "person", M0, 2, 1);
    check_zone(j, "lobby", "door", "person", M0 + MINUTE_US, 1, 2);
    check_zone(j, "lobby", "door", "person", M0 + 61 * MINUTE_US, 4, 3);
    json_decref(j);

    j = get_json(fx, "/api/v1/counts?zone=door&bucket=hour", 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
    check_zone(j, "lobby", "door", "person", h0, 3, 2);
    check_zone(j, "lobby", "door", "person", h0 + 60 * MINUTE_US, 4, 3);
    json_decref(j);

    j = get_json(fx, "/api/v1/counts?camera=lobby&bucket=day", 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
    check_zone(j, "lobby", "door", "person", d0, 7, 3);
    check_line(j, "lobby", "gate", "car", d0, 3, 3);
    json_decref(j);

    j = get_json(fx, "/api/v1/counts?line=gate&label=car", 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    check_line(j, "lobby", "gate", "car", 0, 3, 3);
    json_decref(j);

    /* minutes in [since, until) */
    snprintf(target, sizeof(target), "/api/v1/counts?camera=lobby&since=%" PRId64 "&until=%" PRId64,
             M0 + MINUTE_US, M0 + 61 * MINUTE_US);
    j = get_json(fx, target, 200);
    check_zone(j, "lobby", "door", "person", 0, 1, 2);
    check_line(j, "lobby", "gate", "car", 0, 2, 3);
    json_decref(j);

    j = get_json(fx, "/api/v1/counts?camera=nosuchcam", 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
    json_decref(j);
}

static void test_api_counts_bad_parameters_are_400_naming_them(void **state)
{
    fixture_t *fx = *state;

    expect_bad_param(fx, "/api/v1/counts?zone=door&line=gate", "line");
    expect_bad_param(fx, "/api/v1/counts?bucket=week", "bucket");
    expect_bad_param(fx, "/api/v1/counts?bucket=", "bucket");
    expect_bad_param(fx, "/api/v1/counts?bucket=Minute", "bucket");
    expect_bad_param(fx, "/api/v1/counts?zone=a%2Fb", "zone");
    expect_bad_param(fx, "/api/v1/counts?line=", "line");
    expect_bad_param(fx, "/api/v1/counts?camera=a%20b", "camera");
    expect_bad_param(fx, "/api/v1/counts?since=soon", "since");
    expect_bad_param(fx, "/api/v1/counts?since=5&until=5", "until");
    expect_bad_param(fx, "/api/v1/counts?limit=5", "limit");
    expect_bad_param(fx, "/api/v1/counts?bucket=hour&bucket=day", "bucket");
}

/* ---- GET /api/v1/tracks/{camera}/{id} --------------------------------------------------- */

static void test_api_track_points_in_order_404_and_400(void **state)
{
    fixture_t *fx = *state;
    json_t *j = get_json(fx, "/api/v1/tracks/lobby/1", 200), *it;
    size_t i;
    int64_t t = 0;

    assert_string_equal(json_str(j, "camera"), "lobby");
    assert_int_equal(json_int(j, "track"), 1);
    assert_string_equal(json_str(j, "label"), "person");
    assert_int_equal(vigil_parse_time(json_str(j, "first"), &t), 0);
    assert_int_equal(t, T(3));
    assert_int_equal(vigil_parse_time(json_str(j, "last"), &t), 0);
    assert_int_equal(t, T(8));
    assert_true(json_is_false(json_object_get(j, "truncated")));
    json_t *points = json_object_get(j, "points");
    assert_int_equal(json_array_size(points), 6);
    json_array_foreach(points, i, it) {
        int seq = 3 + (int)i;
        assert_int_equal(json_int(it, "sequence"), seq);
        assert_int_equal(vigil_parse_time(json_str(it, "time"), &t), 0);
        assert_int_equal(t, T(seq));
        assert_int_equal(json_int(it, "time_us"), T(seq));
        assert_int_equal(json_int(it, "frame_id"), fx->frame_ids[seq]);
        assert_true(json_number_value(json_object_get(it, "score")) ==
                    0.5 + 0.0625 * (seq % 4));
        json_t *box = json_object_get(it, "box");
        assert_int_equal(json_array_size(box), 4);
        assert_true(json_number_value(json_array_get(box, 0)) == seq);
        assert_true(json_number_value(json_array_get(box, 1)) == 2.5);
        assert_true(json_number_value(json_array_get(box, 2)) == seq + 20);
        assert_true(json_number_value(json_array_get(box, 3)) == 30);
    }
    json_decref(j);

    /* track ids are per camera; a point without a stored frame has frame_id null */
    j = get_json(fx, "/api/v1/tracks/yard/1", 200);
    assert_string_equal(json_str(j, "label"), "dog");
    assert_int_equal(json_array_size(json_object_get(j, "points")), 2);
    json_decref(j);
    j = get_json(fx, "/api/v1/tracks/lobby/2", 200);
    assert_true(json_is_null(json_object_get(json_array_get(json_object_get(j, "points"), 1),
                                             "frame_id")));
    json_decref(j);

    expect_not_found(fx, "/api/v1/tracks/lobby/77", "track 77 of camera \"lobby\" not found");
    expect_not_found(fx, "/api/v1/tracks/nosuchcam/1", "not found");
    expect_bad_param(fx, "/api/v1/tracks/lobby/abc", "id");
    expect_bad_param(fx, "/api/v1/tracks/lobby/0", "id");
    expect_bad_param(fx, "/api/v1/tracks/lob%24by/1", "camera");
    expect_bad_param(fx, "/api/v1/tracks/../1", "camera");
    expect_bad_param(fx, "/api/v1/tracks/" /* 64 characters */
                     "0123456789012345678901234567890123456789012345678901234567890123/1",
                     "camera");
    expect_not_found(fx, "/api/v1/tracks/lobby", "no such path");
    expect_not_found(fx, "/api/v1/tracks/lobby/1/2", "no such path");
}

/* ---- methods and metrics ----------------------------------------------------------------- */

static void test_api_analytics_routes_refuse_post_and_are_counted(void **state)
{
    fixture_t *fx = *state;
    const char *targets[] = {"/api/v1/events", "/api/v1/events/1", "/api/v1/events/1/clip.mp4",
                             "/api/v1/events/1/snapshot.jpg", "/api/v1/counts",
                             "/api/v1/tracks/lobby/1"};
    char hdr[64];
    http_resp_t r;

    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        assert_int_equal(http_request(fx->port, "POST", targets[i], "{}", &r), 0);
        assert_int_equal(r.status, 405);
        /* an event is also reviewed (PATCH) and deleted (DELETE): review.c */
        assert_string_equal(http_header(&r, "Allow", hdr, sizeof(hdr)),
                            i == 1 ? "GET, HEAD, PATCH, DELETE" : "GET, HEAD");
        http_resp_free(&r);
    }
    json_decref(get_json(fx, "/api/v1/counts", 200));
    assert_int_equal(http_get(fx->port, "/metrics", &r), 0);
    assert_non_null(strstr(r.body, "vigil_http_requests_total{route=\"counts\",code=\"200\"}"));
    assert_non_null(strstr(r.body, "vigil_http_requests_total{route=\"event_clip\",code=\"405\"}"));
    assert_non_null(strstr(r.body, "vigil_http_requests_total{route=\"track\",code=\"405\"}"));
    http_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_events_list_every_field_newest_first),
        cmocka_unit_test(test_api_events_filter_by_camera_kind_label_zone_line_and_time),
        cmocka_unit_test(test_api_events_pagination_over_equal_start_times_returns_each_once),
        cmocka_unit_test(test_api_events_bad_parameters_are_400_naming_them),
        cmocka_unit_test(test_api_event_by_id_is_the_list_item_404_and_400),
        cmocka_unit_test(test_api_event_snapshot_is_the_stored_frame),
        cmocka_unit_test(test_api_event_clip_is_a_playable_mp4_cached_after_the_first_request),
        cmocka_unit_test(test_api_open_event_clip_runs_to_the_newest_frame_and_is_not_cached),
        cmocka_unit_test(test_api_event_clip_without_frames_is_404),
        cmocka_unit_test(test_api_concurrent_first_clip_requests_get_the_same_whole_file),
        cmocka_unit_test(test_api_clip_beyond_the_encode_limit_is_503_with_retry_after),
        cmocka_unit_test(test_api_counts_totals_and_buckets),
        cmocka_unit_test(test_api_counts_bad_parameters_are_400_naming_them),
        cmocka_unit_test(test_api_track_points_in_order_404_and_400),
        cmocka_unit_test(test_api_analytics_routes_refuse_post_and_are_counted),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
