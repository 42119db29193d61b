/* Unit tests of the API's query-parameter parsers (src/api/params.c): bad
 * numbers, ranges, times, cursors, camera ids, unknown and repeated keys;
 * event cursors, kinds, zone and line ids, buckets, byte ranges, path
 * segments, the events and counts queries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/params.h"

static void test_api_params_limit_accepts_1_to_1000_only(void **state)
{
    vigil__param_error_t err;
    int limit = -1;

    assert_int_equal(vigil__api_parse_limit("1", &limit, &err), 0);
    assert_int_equal(limit, 1);
    assert_int_equal(vigil__api_parse_limit("1000", &limit, &err), 0);
    assert_int_equal(limit, 1000);
    const char *bad[] = {"0", "1001", "-1", "abc", "", " 5", "5 ", "10x", "+5", "1e2",
                         "99999999999999999999999", NULL};
    for (int i = 0; bad[i]; i++) {
        memset(&err, 0, sizeof(err));
        limit = 42;
        assert_int_equal(vigil__api_parse_limit(bad[i], &limit, &err), -1);
        assert_int_equal(limit, 42);
        assert_string_equal(err.parameter, "limit");
        assert_string_equal(err.message,
                            "invalid parameter \"limit\": must be an integer in 1..1000");
    }
    assert_int_equal(vigil__api_parse_limit(NULL, &limit, &err), -1);
}

static void test_api_params_min_score_must_be_within_0_and_1(void **state)
{
    vigil__param_error_t err;
    float score = -1;

    assert_int_equal(vigil__api_parse_score("0", &score, &err, "min_score"), 0);
    assert_true(score == 0.0f);
    assert_int_equal(vigil__api_parse_score("0.25", &score, &err, "min_score"), 0);
    assert_true(score == 0.25f);
    assert_int_equal(vigil__api_parse_score("1", &score, &err, "min_score"), 0);
    assert_true(score == 1.0f);
    const char *bad[] = {"2", "-0.1", "1.0001", "nan", "inf", "abc", "", " 0.5", "0.5x", NULL};
    for (int i = 0; bad[i]; i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(vigil__api_parse_score(bad[i], &score, &err, "min_score"), -1);
        assert_string_equal(err.parameter, "min_score");
        assert_non_null(strstr(err.message, "0..1"));
    }
}

static void test_api_params_times_accept_rfc3339_and_microseconds(void **state)
{
    vigil__param_error_t err;
    int64_t t = 0;

    assert_int_equal(vigil__api_parse_time("2026-11-21T05:31:02Z", &t, &err, "since"), 0);
    assert_true(t == INT64_C(1795239062) * 1000000);
    assert_int_equal(vigil__api_parse_time("2026-11-21T06:31:02.5+01:00", &t, &err, "since"), 0);
    assert_true(t == INT64_C(1795239062) * 1000000 + 500000);
    assert_int_equal(vigil__api_parse_time("1700000000000000", &t, &err, "until"), 0);
    assert_true(t == INT64_C(1700000000000000));

    const char *bad[] = {"yesterday", "", "2026-13-01T00:00:00Z", "2026-11-21", "-5",
                         "2026-11-21T05:31:02", "12abc", NULL};
    for (int i = 0; bad[i]; i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(vigil__api_parse_time(bad[i], &t, &err, "until"), -1);
        assert_string_equal(err.parameter, "until");
        assert_non_null(strstr(err.message, "invalid parameter \"until\""));
    }
}

static void test_api_params_camera_ids_refuse_paths(void **state)
{
    vigil__param_error_t err;
    char out[64];

    assert_int_equal(vigil__api_parse_camera("lobby-2.cam_A", out, &err), 0);
    assert_string_equal(out, "lobby-2.cam_A");
    const char *bad[] = {"../x", "a/b", "..", ".", "", "a b", "caf\xc3\xa9",
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL};
    for (int i = 0; bad[i]; i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(vigil__api_parse_camera(bad[i], out, &err), -1);
        assert_string_equal(err.parameter, "camera");
    }
}

static void test_api_params_label_refuses_empty_long_and_control(void **state)
{
    vigil__param_error_t err;
    char out[64];

    assert_int_equal(vigil__api_parse_label("traffic light", out, &err), 0);
    assert_string_equal(out, "traffic light");
    assert_int_equal(vigil__api_parse_label("", out, &err), -1);
    assert_string_equal(err.parameter, "label");
    assert_int_equal(vigil__api_parse_label("a\nb", out, &err), -1);
    char long_label[80];
    memset(long_label, 'x', sizeof(long_label) - 1);
    long_label[sizeof(long_label) - 1] = '\0';
    assert_int_equal(vigil__api_parse_label(long_label, out, &err), -1);
}

static void test_api_params_cursor_round_trips_and_rejects_garbage(void **state)
{
    vigil__param_error_t err;
    char buf[VIGIL__API_CURSOR_MAX];
    int64_t ids[] = {1, 2, 9, 10, 99, 12345, 999999, INT64_MAX};
    int64_t id;

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        vigil__api_format_cursor(ids[i], buf, sizeof(buf));
        assert_true(strlen(buf) > 0);
        /* opaque: the decimal id is not the cursor */
        assert_null(strchr(buf, ':'));
        id = 0;
        assert_int_equal(vigil__api_parse_cursor(buf, &id, &err), 0);
        assert_true(id == ids[i]);
    }
    char zero[VIGIL__API_CURSOR_MAX], neg[VIGIL__API_CURSOR_MAX];
    vigil__api_format_cursor(0, zero, sizeof(zero));
    vigil__api_format_cursor(-5, neg, sizeof(neg));
    /* "v1:12" with a non-canonical last char, "v2:12", "v1:", "12", base64 of "v1:1x" */
    const char *bad[] = {"zzz", "", "a", "12345", "djE6MTJ", "djI6MTI", "djE6", "MTI",
                         "djE6MXg", "djE6MTI=", "djE6MTI!", zero, neg, NULL};
    for (int i = 0; bad[i]; i++) {
        memset(&err, 0, sizeof(err));
        id = 77;
        assert_int_equal(vigil__api_parse_cursor(bad[i], &id, &err), -1);
        assert_true(id == 77);
        assert_string_equal(err.parameter, "cursor");
    }
    /* The canonical form of "v1:12" does parse. */
    assert_int_equal(vigil__api_parse_cursor("djE6MTI", &id, &err), 0);
    assert_true(id == 12);
    char long_cursor[100];
    memset(long_cursor, 'A', sizeof(long_cursor) - 1);
    long_cursor[sizeof(long_cursor) - 1] = '\0';
    assert_int_equal(vigil__api_parse_cursor(long_cursor, &id, &err), -1);
}

static void test_api_params_frame_id_must_be_positive_integer(void **state)
{
    vigil__param_error_t err;
    int64_t id = 0;

    assert_int_equal(vigil__api_parse_frame_id("42", &id, &err), 0);
    assert_true(id == 42);
    const char *bad[] = {"0", "-1", "abc", "", "1.5", "99999999999999999999", NULL};
    for (int i = 0; bad[i]; i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(vigil__api_parse_frame_id(bad[i], &id, &err), -1);
        assert_string_equal(err.parameter, "id");
    }
}

static void test_api_params_detection_query_collects_every_filter(void **state)
{
    vigil__detection_params_t p;
    vigil__param_error_t err;
    char cursor[VIGIL__API_CURSOR_MAX];

    vigil__detection_params_init(&p);
    assert_int_equal(vigil__detection_params_finish(&p, &err), 0);
    assert_int_equal(p.q.limit, 100);
    assert_null(p.q.camera);
    assert_null(p.q.label);
    assert_true(p.q.after_id == 0 && p.q.since_us == 0 && p.q.until_us == 0);

    vigil__api_format_cursor(500, cursor, sizeof(cursor));
    vigil__detection_params_init(&p);
    assert_int_equal(vigil__detection_params_set(&p, "camera", "lobby", &err), 0);
    assert_int_equal(vigil__detection_params_set(&p, "label", "person", &err), 0);
    assert_int_equal(vigil__detection_params_set(&p, "since", "1000", &err), 0);
    assert_int_equal(vigil__detection_params_set(&p, "until", "2000", &err), 0);
    assert_int_equal(vigil__detection_params_set(&p, "min_score", "0.5", &err), 0);
    assert_int_equal(vigil__detection_params_set(&p, "limit", "7", &err), 0);
    assert_int_equal(vigil__detection_params_set(&p, "cursor", cursor, &err), 0);
    assert_int_equal(vigil__detection_params_finish(&p, &err), 0);
    assert_string_equal(p.q.camera, "lobby");
    assert_string_equal(p.q.label, "person");
    assert_true(p.q.since_us == 1000 && p.q.until_us == 2000);
    assert_true(p.q.min_score == 0.5f);
    assert_int_equal(p.q.limit, 7);
    assert_true(p.q.after_id == 500);
}

static void test_api_params_detection_query_refuses_unknown_repeated_and_inverted(void **state)
{
    vigil__detection_params_t p;
    vigil__param_error_t err;

    vigil__detection_params_init(&p);
    assert_int_equal(vigil__detection_params_set(&p, "unknown", "1", &err), -1);
    assert_string_equal(err.parameter, "unknown");
    assert_non_null(strstr(err.message, "unknown parameter \"unknown\""));

    vigil__detection_params_init(&p);
    assert_int_equal(vigil__detection_params_set(&p, "bad\xff\"key", "1", &err), -1);
    assert_string_equal(err.parameter, "bad?\"key");

    vigil__detection_params_init(&p);
    assert_int_equal(vigil__detection_params_set(&p, "limit", "5", &err), 0);
    assert_int_equal(vigil__detection_params_set(&p, "limit", "6", &err), -1);
    assert_string_equal(err.parameter, "limit");
    assert_non_null(strstr(err.message, "more than once"));

    vigil__detection_params_init(&p);
    assert_int_equal(vigil__detection_params_set(&p, "limit", NULL, &err), -1);
    assert_string_equal(err.parameter, "limit");

    vigil__detection_params_init(&p);
    assert_int_equal(vigil__detection_params_set(&p, "since", "2000", &err), 0);
    assert_int_equal(vigil__detection_params_set(&p, "until", "1000", &err), 0);
    assert_int_equal(vigil__detection_params_finish(&p, &err), -1);
    assert_string_equal(err.parameter, "until");
}

/* Unpadded base64url, to build cursors by hand. */
static void b64url(const char *raw, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(raw), o = 0;

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)raw[i] << 16;
        if (i + 1 < n) v |= (unsigned char)raw[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)raw[i + 2];
        size_t chars = n - i >= 3 ? 4 : n - i + 1;
        for (size_t k = 0; k < chars; k++) out[o++] = a[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = '\0';
}

static void test_api_params_event_cursor_round_trips_and_rejects_other_forms(void **state)
{
    vigil__param_error_t err;
    char buf[VIGIL__API_CURSOR_MAX], enc[VIGIL__API_CURSOR_MAX * 2];
    const int64_t starts[] = {0, 1, 1795239062000000, INT64_MAX};
    const int64_t ids[] = {1, 7, 1000000, INT64_MAX};
    int64_t start, id;

    for (size_t i = 0; i < 4; i++) {
        vigil__api_format_event_cursor(starts[i], ids[i], buf, sizeof(buf));
        assert_null(strchr(buf, ':'));
        assert_int_equal(vigil__api_parse_event_cursor(buf, &start, &id, &err), 0);
        assert_true(start == starts[i] && id == ids[i]);
        /* an events cursor is not a detections cursor */
        assert_int_equal(vigil__api_parse_cursor(buf, &id, &err), -1);
    }
    vigil__api_format_cursor(12, buf, sizeof(buf));
    assert_int_equal(vigil__api_parse_event_cursor(buf, &start, &id, &err), -1);
    assert_string_equal(err.parameter, "cursor");

    const char *bad_raw[] = {"e1:5",    "e1:5:",      "e1::5",  "e1:05:5", "e1:5:05",
                             "e1:5:0",  "e1:-5:5",    "e1:5:-5", "e2:5:5", "e1:5:5:5",
                             "e1:5:5x", "e1:5 :5",    "v1:5",    "e1:99999999999999999999:1",
                             NULL};
    for (int i = 0; bad_raw[i]; i++) {
        b64url(bad_raw[i], enc);
        start = id = 77;
        memset(&err, 0, sizeof(err));
        if (vigil__api_parse_event_cursor(enc, &start, &id, &err) != -1)
            fail_msg("cursor of \"%s\" accepted", bad_raw[i]);
        assert_true(start == 77 && id == 77);
        assert_string_equal(err.parameter, "cursor");
    }
    b64url("e1:0:3", enc);
    assert_int_equal(vigil__api_parse_event_cursor(enc, &start, &id, &err), 0);
    assert_true(start == 0 && id == 3);
    assert_int_equal(vigil__api_parse_event_cursor(NULL, &start, &id, &err), -1);
    assert_int_equal(vigil__api_parse_event_cursor("", &start, &id, &err), -1);
}

static void test_api_params_kind_zone_line_and_bucket_values(void **state)
{
    vigil__param_error_t err;
    const char *kind = NULL;
    char out[64];
    int64_t bucket = 0;

    const char *kinds[] = {"zone_enter", "zone_leave", "loiter", "line_cross"};
    for (int k = 0; k < 4; k++) {
        assert_int_equal(vigil__api_parse_kind(kinds[k], &kind, &err), 0);
        assert_string_equal(kind, kinds[k]);
    }
    const char *bad_kinds[] = {"", "ZONE_ENTER", "zone", "line_cross ", NULL};
    for (int i = 0; bad_kinds[i]; i++) {
        assert_int_equal(vigil__api_parse_kind(bad_kinds[i], &kind, &err), -1);
        assert_string_equal(err.parameter, "kind");
    }
    assert_int_equal(vigil__api_parse_kind(NULL, &kind, &err), -1);

    assert_int_equal(vigil__api_parse_rule_id("door-1.a_B", out, &err, "zone"), 0);
    assert_string_equal(out, "door-1.a_B");
    const char *bad_ids[] = {"", "a b", "a/b", "é", "a:b",
                             "0123456789012345678901234567890123456789012345678901234567890123",
                             NULL};
    for (int i = 0; bad_ids[i]; i++) {
        assert_int_equal(vigil__api_parse_rule_id(bad_ids[i], out, &err, "line"), -1);
        assert_string_equal(err.parameter, "line");
        assert_non_null(strstr(err.message, "must be a line id"));
    }

    assert_int_equal(vigil__api_parse_bucket("minute", &bucket, &err), 0);
    assert_true(bucket == INT64_C(60000000));
    assert_int_equal(vigil__api_parse_bucket("hour", &bucket, &err), 0);
    assert_true(bucket == INT64_C(3600000000));
    assert_int_equal(vigil__api_parse_bucket("day", &bucket, &err), 0);
    assert_true(bucket == INT64_C(86400000000));
    const char *bad_buckets[] = {"", "week", "Hour", "60", NULL};
    for (int i = 0; bad_buckets[i]; i++) {
        assert_int_equal(vigil__api_parse_bucket(bad_buckets[i], &bucket, &err), -1);
        assert_string_equal(err.parameter, "bucket");
    }
}

static void test_api_params_range_header_single_ranges_only(void **state)
{
    uint64_t a = 0, b = 0;

    assert_int_equal(vigil__api_parse_range("bytes=0-99", 1000, &a, &b), 1);
    assert_true(a == 0 && b == 99);
    assert_int_equal(vigil__api_parse_range("bytes=900-", 1000, &a, &b), 1);
    assert_true(a == 900 && b == 999);
    assert_int_equal(vigil__api_parse_range("bytes=900-5000", 1000, &a, &b), 1);
    assert_true(a == 900 && b == 999);
    assert_int_equal(vigil__api_parse_range("bytes=-100", 1000, &a, &b), 1);
    assert_true(a == 900 && b == 999);
    assert_int_equal(vigil__api_parse_range("bytes=-5000", 1000, &a, &b), 1);
    assert_true(a == 0 && b == 999);
    /* unsatisfiable */
    assert_int_equal(vigil__api_parse_range("bytes=1000-", 1000, &a, &b), -1);
    assert_int_equal(vigil__api_parse_range("bytes=-0", 1000, &a, &b), -1);
    assert_int_equal(vigil__api_parse_range("bytes=0-", 0, &a, &b), -1);
    /* ignored: the whole body */
    const char *ignored[] = {"", "bytes=", "bytes=a-b", "bytes=5-1", "bytes=0-1,5-9",
                             "items=0-5", "bytes=-", "bytes= 0-5", "bytes=99999999999999999999-",
                             NULL};
    for (int i = 0; ignored[i]; i++)
        assert_int_equal(vigil__api_parse_range(ignored[i], 1000, &a, &b), 0);
    assert_int_equal(vigil__api_parse_range(NULL, 1000, &a, &b), 0);
}

static void test_api_params_path_segments(void **state)
{
    char out[8];

    assert_int_equal(vigil__api_path_segment("/api/v1/events/12", 3, out, sizeof(out)), 2);
    assert_string_equal(out, "12");
    assert_int_equal(vigil__api_path_segment("/api/v1/events/12/clip.mp4", 2, out, sizeof(out)),
                     6);
    assert_string_equal(out, "events");
    assert_int_equal(vigil__api_path_segment("/api/v1/events/", 3, out, sizeof(out)), 0);
    assert_int_equal(vigil__api_path_segment("/api/v1/events", 3, out, sizeof(out)), -1);
    assert_int_equal(vigil__api_path_segment("/api/v1/events/12345678", 3, out, sizeof(out)), -1);
    assert_int_equal(vigil__api_path_segment("api", 0, out, sizeof(out)), -1);
    assert_int_equal(vigil__api_path_segment(NULL, 0, out, sizeof(out)), -1);
}

static void test_api_params_event_query_collects_and_refuses(void **state)
{
    vigil__event_params_t p;
    vigil__param_error_t err;
    char cursor[VIGIL__API_CURSOR_MAX];

    vigil__event_params_init(&p);
    assert_int_equal(vigil__event_params_finish(&p, &err), 0);
    assert_int_equal(p.q.limit, 100);
    assert_true(!p.q.camera && !p.q.kind && !p.q.label && !p.q.zone && !p.q.line);
    assert_true(p.q.after_id == 0 && p.q.after_start_us == 0);

    vigil__api_format_event_cursor(5000, 42, cursor, sizeof(cursor));
    vigil__event_params_init(&p);
    assert_int_equal(vigil__event_params_set(&p, "camera", "lobby", &err), 0);
    assert_int_equal(vigil__event_params_set(&p, "kind", "loiter", &err), 0);
    assert_int_equal(vigil__event_params_set(&p, "label", "person", &err), 0);
    assert_int_equal(vigil__event_params_set(&p, "zone", "door", &err), 0);
    assert_int_equal(vigil__event_params_set(&p, "since", "1000", &err), 0);
    assert_int_equal(vigil__event_params_set(&p, "until", "2026-11-21T05:31:02Z", &err), 0);
    assert_int_equal(vigil__event_params_set(&p, "limit", "3", &err), 0);
    assert_int_equal(vigil__event_params_set(&p, "cursor", cursor, &err), 0);
    assert_int_equal(vigil__event_params_finish(&p, &err), 0);
    assert_string_equal(p.q.camera, "lobby");
    assert_string_equal(p.q.kind, "loiter");
    assert_string_equal(p.q.label, "person");
    assert_string_equal(p.q.zone, "door");
    assert_null(p.q.line);
    assert_true(p.q.since_us == 1000 && p.q.until_us == INT64_C(1795239062000000));
    assert_int_equal(p.q.limit, 3);
    assert_true(p.q.after_start_us == 5000 && p.q.after_id == 42);

    vigil__event_params_init(&p);
    assert_int_equal(vigil__event_params_set(&p, "zone", "door", &err), 0);
    assert_int_equal(vigil__event_params_set(&p, "line", "gate", &err), 0);
    assert_int_equal(vigil__event_params_finish(&p, &err), -1);
    assert_string_equal(err.parameter, "line");

    vigil__event_params_init(&p);
    assert_int_equal(vigil__event_params_set(&p, "min_score", "0.5", &err), -1);
    assert_string_equal(err.parameter, "min_score");
    assert_non_null(strstr(err.message, "accepted: camera, kind, label, zone, line"));

    vigil__event_params_init(&p);
    assert_int_equal(vigil__event_params_set(&p, "kind", "loiter", &err), 0);
    assert_int_equal(vigil__event_params_set(&p, "kind", "loiter", &err), -1);
    assert_non_null(strstr(err.message, "more than once"));
}

static void test_api_params_count_query_collects_and_refuses(void **state)
{
    vigil__count_params_t p;
    vigil__param_error_t err;

    vigil__count_params_init(&p);
    assert_int_equal(vigil__count_params_finish(&p, &err), 0);
    assert_true(p.q.bucket_us == 0 && !p.q.camera && !p.q.zone && !p.q.line && !p.q.label);

    vigil__count_params_init(&p);
    assert_int_equal(vigil__count_params_set(&p, "camera", "lobby", &err), 0);
    assert_int_equal(vigil__count_params_set(&p, "line", "gate", &err), 0);
    assert_int_equal(vigil__count_params_set(&p, "label", "car", &err), 0);
    assert_int_equal(vigil__count_params_set(&p, "bucket", "hour", &err), 0);
    assert_int_equal(vigil__count_params_set(&p, "since", "60000000", &err), 0);
    assert_int_equal(vigil__count_params_finish(&p, &err), 0);
    assert_string_equal(p.q.camera, "lobby");
    assert_string_equal(p.q.line, "gate");
    assert_string_equal(p.q.label, "car");
    assert_null(p.q.zone);
    assert_true(p.q.bucket_us == INT64_C(3600000000) && p.q.since_us == 60000000);

    vigil__count_params_init(&p);
    assert_int_equal(vigil__count_params_set(&p, "line", "gate", &err), 0);
    assert_int_equal(vigil__count_params_set(&p, "zone", "door", &err), 0);
    assert_int_equal(vigil__count_params_finish(&p, &err), -1);
    assert_string_equal(err.parameter, "line");

    vigil__count_params_init(&p);
    assert_int_equal(vigil__count_params_set(&p, "cursor", "x", &err), -1);
    assert_string_equal(err.parameter, "cursor");
    vigil__count_params_init(&p);
    assert_int_equal(vigil__count_params_set(&p, "bucket", "week", &err), -1);
    assert_string_equal(err.parameter, "bucket");
}

static void test_api_params_sanitize_keeps_printable_ascii(void **state)
{
    char out[8];

    vigil__api_sanitize(out, sizeof(out), "ab\x01\xc3\xa9");
    assert_string_equal(out, "ab???");
    vigil__api_sanitize(out, sizeof(out), "abcdefghij");
    assert_string_equal(out, "abcd...");
    vigil__api_sanitize(out, sizeof(out), NULL);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_params_limit_accepts_1_to_1000_only),
        cmocka_unit_test(test_api_params_min_score_must_be_within_0_and_1),
        cmocka_unit_test(test_api_params_times_accept_rfc3339_and_microseconds),
        cmocka_unit_test(test_api_params_camera_ids_refuse_paths),
        cmocka_unit_test(test_api_params_label_refuses_empty_long_and_control),
        cmocka_unit_test(test_api_params_cursor_round_trips_and_rejects_garbage),
        cmocka_unit_test(test_api_params_frame_id_must_be_positive_integer),
        cmocka_unit_test(test_api_params_detection_query_collects_every_filter),
        cmocka_unit_test(test_api_params_detection_query_refuses_unknown_repeated_and_inverted),
        cmocka_unit_test(test_api_params_event_cursor_round_trips_and_rejects_other_forms),
        cmocka_unit_test(test_api_params_kind_zone_line_and_bucket_values),
        cmocka_unit_test(test_api_params_range_header_single_ranges_only),
        cmocka_unit_test(test_api_params_path_segments),
        cmocka_unit_test(test_api_params_event_query_collects_and_refuses),
        cmocka_unit_test(test_api_params_count_query_collects_and_refuses),
        cmocka_unit_test(test_api_params_sanitize_keeps_printable_ascii),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
