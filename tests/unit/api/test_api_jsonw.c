/* Unit tests of the API's JSON text writer (src/api/jsonw.c): its floats,
 * strings and times are byte for byte what the jansson path wrote before
 * (vigil__json_float: "%.6g" and strtod, dumped with JSON_REAL_PRECISION(15);
 * json_string; vigil_format_time), on edge cases and millions of random
 * values; commas and nesting; sticky errors (size cap, depth, unbalanced);
 * a detection and an event written as text parse to the objects the API
 * documents. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/api_int.h"
#include "api/jsonw.h"

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* What the API wrote for v before the writer: jansson's text of the double
 * nearest printf's 6 digits. */
static void reference_float(double v, char *out, size_t size)
{
    char tmp[64];
    json_t *real;
    char *text;

    snprintf(tmp, sizeof(tmp), "%.6g", v);
    real = json_real(strtod(tmp, NULL));
    assert_non_null(real);
    text = json_dumps(real, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    assert_non_null(text);
    snprintf(out, size, "%s", text);
    free(text);
    json_decref(real);
}

static void check_float(double v)
{
    char want[64], got[VIGIL__JW_FLOAT_MAX + 8], tmp[64];
    double r;
    size_t n;

    if (!isfinite(v)) return;
    reference_float(v, want, sizeof(want));
    memset(got, 'x', sizeof(got));
    n = vigil__jw_format_float(v, got);
    if (strcmp(want, got) != 0 || n != strlen(got))
        fail_msg("%.17g (%a): writer \"%s\", jansson \"%s\"", v, v, got, want);
    snprintf(tmp, sizeof(tmp), "%.6g", v);
    r = vigil__jw_round6(v);
    if (memcmp(&r, &(double){strtod(tmp, NULL)}, sizeof(r)) != 0)
        fail_msg("%.17g: round6 %.17g, strtod of %s", v, r, tmp);
}

static void test_jsonw_float_matches_jansson_on_edge_cases(void **state)
{
    static const double cases[] = {
        0.0, -0.0, 1, -1, 0.5, 0.1, 0.9, 0.25, 123456.5, 123457.5, 999999.5, 999999.4,
        999999.49999999994, 99999.95, 99999.949999999997, 9.999995, 9.9999949999999994,
        0.0001, 0.00009999995, 0.000099999949999999, 0.00001, 0.000009999995, 1e-5, 1e-4,
        1e6, 1e5, 1e7, 1e15, 1e16, 1e300, -1e300, 5e-324, 2.2250738585072014e-308, 1e-7,
        0.251737, 176.263, 189.169, 437.954, 0.89999997615814209, 3.4028234663852886e38,
        1234567, 0.000123456789, 100000, 10, 100, 1000, 10000, 12.5, 0.125, 2.5, 3.5,
        65504, 16777216, 16777217, 0.30000000000000004, 1.0000005, 1.0000015, 1.0000025,
        1024, 1920, 1080, 0.0625, 8191.5, 8192.5, 24.999999, 25.0000005};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_float(cases[i]);
        check_float(-cases[i]);
    }
}

static void test_jsonw_float_matches_jansson_on_random_values(void **state)
{
    /* the API's floats come from C floats: every float bit pattern in the
     * fast range is equally likely here, then doubles of any magnitude,
     * then decimals of few digits and their neighbours (ties and near
     * ties), then halves (exact binary ties at 6 digits) */
    for (int i = 0; i < 400000; i++) {
        uint32_t bits = (uint32_t)next_u64();
        float f;

        memcpy(&f, &bits, sizeof(f));
        check_float(f);
    }
    for (int i = 0; i < 200000; i++) {
        uint64_t bits = next_u64();
        double d;

        memcpy(&d, &bits, sizeof(d));
        check_float(d);
        check_float(ldexp((double)(next_u64() >> 11), -53) * pow(10, (int)(next_u64() % 14) - 6));
    }
    for (int i = 0; i < 200000; i++) {
        double base = (double)(next_u64() % 10000000) * pow(10, (int)(next_u64() % 12) - 11);

        check_float(base);
        check_float(nextafter(base, 0));
        check_float(nextafter(base, 1e9));
        check_float((double)(float)base);
        check_float((double)(next_u64() % 4000000) / 2.0 + 0.5);
    }
}

static void check_string(const char *s)
{
    json_t *str = json_string(s);
    char *want;
    vigil__jw_t jw;
    size_t len;
    char *got;

    assert_non_null(str);
    want = json_dumps(str, JSON_COMPACT | JSON_ENCODE_ANY);
    vigil__jw_init(&jw, 0);
    vigil__jw_string(&jw, s);
    got = vigil__jw_take(&jw, &len);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
    free(got);
    free(want);
    json_decref(str);
}

static void test_jsonw_string_escapes_as_jansson(void **state)
{
    char s[64];

    check_string("");
    check_string("dock");
    check_string("a\"b\\c/d");
    check_string("tab\there\nline\r\b\f\x01\x1f\x7f end");
    check_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xb7 \xef\xbf\xbf");
    /* every valid string of random ASCII and short UTF-8 sequences */
    for (int i = 0; i < 20000; i++) {
        size_t n = 0;

        while (n < sizeof(s) - 5) {
            unsigned r = (unsigned)(next_u64() % 100);

            if (r < 80) {
                s[n++] = (char)(1 + next_u64() % 127);
            } else if (r < 95) {
                unsigned cp = 0x80 + (unsigned)(next_u64() % 0x780);
                s[n++] = (char)(0xC0 | (cp >> 6));
                s[n++] = (char)(0x80 | (cp & 0x3F));
            } else {
                break;
            }
        }
        s[n] = '\0';
        check_string(s);
    }
}

static void test_jsonw_string_replaces_bytes_that_are_not_utf8(void **state)
{
    static const char *bad[] = {("a\xff" "b"), "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                "\xe2\x82", "\x80"};
    static const char *want[] = {"\"a\\ufffdb\"", "\"\\ufffd\\ufffd\"",
                                 "\"\\ufffd\\ufffd\\ufffd\"", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"",
                                 "\"\\ufffd\\ufffd\"", "\"\\ufffd\""};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vigil__jw_t jw;
        size_t len;
        char *got;

        assert_null(json_string(bad[i])); /* jansson refuses them */
        vigil__jw_init(&jw, 0);
        vigil__jw_string(&jw, bad[i]);
        got = vigil__jw_take(&jw, &len);
        assert_non_null(got);
        assert_string_equal(got, want[i]);
        free(got);
    }
}

static void test_jsonw_puts_commas_and_nests(void **state)
{
    vigil__jw_t jw;
    size_t len;
    char *got;

    vigil__jw_init(&jw, 0);
    vigil__jw_object(&jw);
    vigil__jw_key(&jw, "a");
    vigil__jw_array(&jw);
    vigil__jw_int(&jw, INT64_MIN);
    vigil__jw_int(&jw, INT64_MAX);
    vigil__jw_int(&jw, 0);
    vigil__jw_array(&jw);
    vigil__jw_array_end(&jw);
    vigil__jw_object(&jw);
    vigil__jw_object_end(&jw);
    vigil__jw_bool(&jw, 1);
    vigil__jw_bool(&jw, 0);
    vigil__jw_null(&jw);
    vigil__jw_float(&jw, NAN);
    vigil__jw_float(&jw, INFINITY);
    vigil__jw_array_end(&jw);
    vigil__jw_key(&jw, "b");
    vigil__jw_string_or_null(&jw, "");
    vigil__jw_key(&jw, "c");
    vigil__jw_time(&jw, 0);
    vigil__jw_key(&jw, "d");
    vigil__jw_time(&jw, INT64_C(1788220800123456));
    vigil__jw_object_end(&jw);
    got = vigil__jw_take(&jw, &len);
    assert_non_null(got);
    assert_string_equal(got, "{\"a\":[-9223372036854775808,9223372036854775807,0,[],{},true,"
                             "false,null,null,null],\"b\":null,\"c\":null,"
                             "\"d\":\"2026-09-01T00:00:00.123Z\"}");
    assert_int_equal(len, strlen(got));
    free(got);
}

static void test_jsonw_errors_are_sticky(void **state)
{
    vigil__jw_t jw;
    size_t len;

    /* over the size cap */
    vigil__jw_init(&jw, 64);
    vigil__jw_array(&jw);
    for (int i = 0; i < 100; i++) vigil__jw_int(&jw, 123456789);
    vigil__jw_array_end(&jw);
    assert_true(jw.failed);
    assert_null(vigil__jw_take(&jw, &len));
    /* deeper than VIGIL__JW_DEPTH */
    vigil__jw_init(&jw, 0);
    for (int i = 0; i <= VIGIL__JW_DEPTH; i++) vigil__jw_array(&jw);
    assert_true(jw.failed);
    assert_null(vigil__jw_take(&jw, &len));
    /* unbalanced: an open array, a close too many, a key without value */
    vigil__jw_init(&jw, 0);
    vigil__jw_array(&jw);
    assert_null(vigil__jw_take(&jw, &len));
    vigil__jw_init(&jw, 0);
    vigil__jw_array_end(&jw);
    assert_null(vigil__jw_take(&jw, &len));
    vigil__jw_init(&jw, 0);
    vigil__jw_object(&jw);
    vigil__jw_key(&jw, "k");
    vigil__jw_object_end(&jw);
    assert_null(vigil__jw_take(&jw, &len));
}

static void test_jsonw_detection_and_event_parse_to_the_documented_objects(void **state)
{
    vigil_detection_row_t d = {.id = 7, .sequence = 42, .frame_id = 9,
                               .capture_time_us = INT64_C(1788220800500000), .score = 0.9f,
                               .x1 = 1.5f, .y1 = 2, .x2 = 300.25f, .y2 = 400};
    vigil_analytics_event_row_t e = {.id = 11, .reviewed = 0};
    json_t *got, *want;

    snprintf(d.camera_id, sizeof(d.camera_id), "dock");
    snprintf(d.model, sizeof(d.model), "centernet");
    snprintf(d.label, sizeof(d.label), "person");
    got = vigil__api_detection_json(&d);
    want = json_pack("{s:I, s:s, s:I, s:I, s:s, s:I, s:s, s:s, s:f, s:[f,f,f,f], s:s}", "id",
                     (json_int_t)7, "camera", "dock", "sequence", (json_int_t)42, "frame_id",
                     (json_int_t)9, "time", "2026-09-01T00:00:00.500Z", "time_us",
                     (json_int_t)INT64_C(1788220800500000), "model", "centernet", "label",
                     "person", "score", 0.9, "box", 1.5, 2.0, 300.25, 400.0, "frame_url",
                     "/api/v1/frames/9.jpg");
    assert_true(json_equal(got, want));
    json_decref(got);
    json_decref(want);

    snprintf(e.ev.camera_id, sizeof(e.ev.camera_id), "dock");
    snprintf(e.ev.label, sizeof(e.ev.label), "car");
    snprintf(e.ev.line, sizeof(e.ev.line), "kerb");
    e.ev.kind = VIGIL_EVENT_LINE_CROSS;
    e.ev.direction = 1;
    e.ev.track_id = 5;
    e.ev.open = 1;
    e.ev.start_us = INT64_C(1788220800000000);
    e.ev.start_sequence = 3;
    e.ev.peak_score = 0.5f;
    got = vigil__api_event_json(&e);
    assert_non_null(got);
    assert_string_equal(json_string_value(json_object_get(got, "kind")), "line_cross");
    assert_string_equal(json_string_value(json_object_get(got, "line")), "kerb");
    assert_true(json_is_null(json_object_get(got, "zone")));
    assert_true(json_is_null(json_object_get(got, "end")));
    assert_true(json_is_null(json_object_get(got, "end_us")));
    assert_true(json_is_null(json_object_get(got, "end_sequence")));
    assert_true(json_is_null(json_object_get(got, "snapshot_url")));
    assert_true(json_is_null(json_object_get(got, "reviewed_by")));
    assert_true(json_is_true(json_object_get(got, "open")));
    assert_string_equal(json_string_value(json_object_get(got, "clip_url")),
                        "/api/v1/events/11/clip.mp4");
    assert_int_equal(json_object_size(got), 23);
    json_decref(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonw_float_matches_jansson_on_edge_cases),
        cmocka_unit_test(test_jsonw_float_matches_jansson_on_random_values),
        cmocka_unit_test(test_jsonw_string_escapes_as_jansson),
        cmocka_unit_test(test_jsonw_string_replaces_bytes_that_are_not_utf8),
        cmocka_unit_test(test_jsonw_puts_commas_and_nests),
        cmocka_unit_test(test_jsonw_errors_are_sticky),
        cmocka_unit_test(test_jsonw_detection_and_event_parse_to_the_documented_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
