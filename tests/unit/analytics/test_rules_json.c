/* Unit tests of rules as JSON (src/analytics/rules_json.c): round trip,
 * defaults, errors naming the field from the root, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analytics_support.h"

static vigil_err_t parse(const char *json, vigil_rules_t *r, char *err, size_t errsize)
{
    err[0] = '\0';
    return vigil_rules_from_json(json, strlen(json), r, err, errsize);
}

static void test_rules_json_round_trip_is_exact(void **state)
{
    vigil_zone_conf_t z[4];
    vigil_line_conf_t l[3];
    at_scene_rules(z, 4, l, 3);
    z[1].polygon[2].y = 0.1 + 0.2 + 0.1; /* 0.40000000000000002: needs 17 digits */
    z[1].min_score = 1.0 / 3;
    l[2].anchor = VIGIL_ANCHOR_TOP_CENTER;
    char *json = vigil_rules_to_json(z, 4, l, 3);
    assert_non_null(json);
    vigil_rules_t r;
    char err[256];
    assert_int_equal(parse(json, &r, err, sizeof err), VIGIL_OK);
    assert_int_equal(r.nzones, 4);
    assert_int_equal(r.nlines, 3);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(r.zones[i].id, z[i].id);
        assert_int_equal(r.zones[i].npoints, z[i].npoints);
        for (size_t k = 0; k < z[i].npoints; k++) {
            assert_true(r.zones[i].polygon[k].x == z[i].polygon[k].x);
            assert_true(r.zones[i].polygon[k].y == z[i].polygon[k].y);
        }
        assert_int_equal(r.zones[i].nlabels, z[i].nlabels);
        for (size_t k = 0; k < z[i].nlabels; k++)
            assert_string_equal(r.zones[i].labels[k], z[i].labels[k]);
        assert_true(r.zones[i].min_score == z[i].min_score);
        assert_true(r.zones[i].loiter_seconds == z[i].loiter_seconds);
        assert_int_equal(r.zones[i].inertia, z[i].inertia);
        assert_int_equal(r.zones[i].anchor, z[i].anchor);
    }
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(r.lines[i].id, l[i].id);
        assert_true(r.lines[i].a.x == l[i].a.x && r.lines[i].a.y == l[i].a.y);
        assert_true(r.lines[i].b.x == l[i].b.x && r.lines[i].b.y == l[i].b.y);
        assert_int_equal(r.lines[i].nlabels, l[i].nlabels);
        assert_true(r.lines[i].min_score == l[i].min_score);
        assert_true(r.lines[i].hysteresis == l[i].hysteresis);
        assert_int_equal(r.lines[i].anchor, l[i].anchor);
    }
    char *again = vigil_rules_to_json(r.zones, r.nzones, r.lines, r.nlines);
    assert_string_equal(again, json);
    free(again);
    free(json);
    vigil_rules_release(&r);
    assert_null(r.zones);
    assert_int_equal(r.nzones, 0);
}

static void test_rules_json_fills_defaults_and_accepts_empty(void **state)
{
    vigil_rules_t r;
    char err[256];
    assert_int_equal(parse("{\"zones\":[{\"id\":\"dock\",\"polygon\":[[0.1,0.5],[0.4,0.5],[0.4,"
                           "0.9]]}],\"lines\":[{\"id\":\"gate\",\"points\":[[0.5,0],[0.5,1]]}]}",
                           &r, err, sizeof err),
                     VIGIL_OK);
    assert_int_equal(r.nzones, 1);
    assert_int_equal(r.zones[0].inertia, 2);
    assert_int_equal(r.zones[0].anchor, VIGIL_ANCHOR_BOTTOM_CENTER);
    assert_int_equal(r.zones[0].nlabels, 0);
    assert_true(r.lines[0].hysteresis == 0.02);
    assert_true(r.lines[0].b.y == 1.0);
    vigil_rules_release(&r);
    assert_int_equal(parse("{}", &r, err, sizeof err), VIGIL_OK);
    assert_int_equal(r.nzones + r.nlines, 0);
    assert_int_equal(parse("{\"zones\":[],\"lines\":[]}", &r, err, sizeof err), VIGIL_OK);
    vigil_rules_release(&r);
    char *json = vigil_rules_to_json(NULL, 0, NULL, 0);
    assert_string_equal(json, "{\"zones\":[],\"lines\":[]}");
    free(json);
    /* numbers as short as they can be and still read back exactly */
    vigil_line_conf_t l = at_line("g", 0.1, 0.25, 0.9, 0.75, 0.02);
    json = vigil_rules_to_json(NULL, 0, &l, 1);
    assert_string_equal(json, "{\"zones\":[],\"lines\":[{\"id\":\"g\",\"points\":[[0.1,0.25],"
                              "[0.9,0.75]],\"labels\":[],\"min_score\":0.0,\"hysteresis\":0.02,"
                              "\"anchor\":\"bottom_center\"}]}");
    free(json);
}

static void test_rules_json_errors_name_the_field(void **state)
{
    static const struct {
        const char *json, *says;
    } cases[] = {
        {"{\"zones\":[{\"id\":\"a\",\"polygon\":[[0,0],[1,0],[0,1]]},"
         "{\"id\":\"b\",\"polygon\":[[0,0],[1,1],[1,0],[0,1]]}]}",
         "zones[1].polygon: self-intersecting"},
        {"{\"zones\":[{\"id\":\"a\",\"polygon\":[[0,0],[1,0],[0,1]]},"
         "{\"id\":\"a\",\"polygon\":[[0,0],[1,0],[0,1]]}]}",
         "zones[1].id: duplicate id \"a\", also zones[0]"},
        {"{\"zones\":[{\"id\":\"a\",\"polygon\":[[0,0],[1,0],[0,1]],\"colour\":1}]}",
         "zones[0].colour: unknown key"},
        {"{\"zones\":[{\"id\":\"a\",\"polygon\":[[0,0],[1,0],[0,1.5]]}]}",
         "zones[0].polygon[2]: point [0, 1.5] is outside 0..1"},
        {"{\"zones\":[{\"id\":\"a\",\"polygon\":[[0,0],[1,0]]}]}", "zones[0].polygon: 2 points"},
        {"{\"zones\":[{\"id\":\"a\",\"polygon\":[[0,0],[1,0],[0]]}]}",
         "zones[0].polygon[2]: expected [x, y]"},
        {"{\"zones\":[{\"polygon\":[[0,0],[1,0],[0,1]]}]}", "zones[0].id: missing"},
        {"{\"zones\":[{\"id\":\"a b\",\"polygon\":[[0,0],[1,0],[0,1]]}]}",
         "zones[0].id: invalid id"},
        {"{\"zones\":[{\"id\":\"a\",\"polygon\":[[0,0],[1,0],[0,1]],\"inertia\":0}]}",
         "zones[0].inertia: 0 is out of range"},
        {"{\"zones\":[{\"id\":\"a\",\"polygon\":[[0,0],[1,0],[0,1]],\"inertia\":1.5}]}",
         "zones[0].inertia: expected an integer"},
        {"{\"zones\":[{\"id\":\"a\",\"polygon\":[[0,0],[1,0],[0,1]],\"min_score\":\"x\"}]}",
         "zones[0].min_score: expected a number"},
        {"{\"zones\":[{\"id\":\"a\",\"polygon\":[[0,0],[1,0],[0,1]],\"anchor\":\"feet\"}]}",
         "zones[0].anchor: expected one of"},
        {"{\"zones\":[{\"id\":\"a\",\"polygon\":[[0,0],[1,0],[0,1]],\"labels\":[\"car\",\"car\"]"
         "}]}",
         "zones[0].labels[1]: duplicate label"},
        {"{\"zones\":[{\"id\":\"a\",\"polygon\":[[0,0],[1,0],[0,1]],\"labels\":\"car\"}]}",
         "zones[0].labels: expected a list of strings"},
        {"{\"lines\":[{\"id\":\"g\",\"points\":[[0.5,0.5],[0.5,0.5]]}]}",
         "lines[0].points: zero-length line"},
        {"{\"lines\":[{\"id\":\"g\",\"points\":[[0.5,0.5]]}]}", "lines[0].points: expected two"},
        {"{\"lines\":[{\"id\":\"g\",\"points\":[[0,0],[1,1]],\"hysteresis\":0.9}]}",
         "lines[0].hysteresis: 0.9 is out of range"},
        {"{\"lines\":[{\"id\":\"g\",\"points\":[[0,0],[1,1]]},{\"id\":\"g\",\"points\":[[0,0],[1,"
         "1]]}]}",
         "lines[1].id: duplicate id \"g\", also lines[0]"},
        {"{\"zones\":{}}", "rules.zones: expected a list"},
        {"{\"cameras\":[]}", "rules.cameras: unknown key (accepted: zones, lines)"},
        {"[]", "rules: expected an object"},
        {"{\"zones\":[", "rules: invalid JSON at line 1"},
        {"{\"zones\":[],\"zones\":[]}", "rules: invalid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vigil_rules_t r;
        char err[512];
        vigil_err_t e = parse(cases[i].json, &r, err, sizeof err);
        if (e == VIGIL_OK || strncmp(err, cases[i].says, strlen(cases[i].says)) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err, cases[i].says);
        assert_null(r.zones);
        assert_null(r.lines);
    }
}

static void test_rules_json_bounds_sizes_before_copying(void **state)
{
    /* 33 zones, 33 points, 17 labels: refused with the bound */
    char *json = malloc(20000);
    size_t n = (size_t)sprintf(json, "{\"zones\":[");
    for (int i = 0; i < 33; i++)
        n += (size_t)sprintf(json + n, "%s{\"id\":\"z%d\",\"polygon\":[[0,0],[1,0],[0,1]]}",
                             i ? "," : "", i);
    sprintf(json + n, "]}");
    vigil_rules_t r;
    char err[256];
    assert_int_equal(parse(json, &r, err, sizeof err), VIGIL_ERR_INVALID);
    assert_string_equal(err, "rules.zones: 33 entries (accepted: at most 32)");
    n = (size_t)sprintf(json, "{\"zones\":[{\"id\":\"z\",\"polygon\":[");
    for (int i = 0; i < 33; i++) n += (size_t)sprintf(json + n, "%s[0.%d,0.5]", i ? "," : "", i);
    sprintf(json + n, "]}]}");
    assert_int_equal(parse(json, &r, err, sizeof err), VIGIL_ERR_INVALID);
    assert_non_null(strstr(err, "zones[0].polygon: 33 points"));
    n = (size_t)sprintf(json, "{\"lines\":[{\"id\":\"l\",\"points\":[[0,0],[1,1]],\"labels\":[");
    for (int i = 0; i < 17; i++) n += (size_t)sprintf(json + n, "%s\"l%d\"", i ? "," : "", i);
    sprintf(json + n, "]}]}");
    assert_int_equal(parse(json, &r, err, sizeof err), VIGIL_ERR_INVALID);
    assert_non_null(strstr(err, "lines[0].labels: 17 labels"));
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_json_round_trip_is_exact),
        cmocka_unit_test(test_rules_json_fills_defaults_and_accepts_empty),
        cmocka_unit_test(test_rules_json_errors_name_the_field),
        cmocka_unit_test(test_rules_json_bounds_sizes_before_copying),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
