/* Unit tests of the API's query-parameter parsers (src/api/params.c): bad
 * numbers, ranges, times, cursors, camera ids, unknown and repeated keys. */
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
        cmocka_unit_test(test_api_params_sanitize_keeps_printable_ascii),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
