/* Unit tests of the analytics side of the configuration: the analytics.*
 * rows, zones and lines per camera in YAML (src/core/config_yaml.c), their
 * checks and defaults (src/core/config_rules.c), and what the environment,
 * --set, validation and the docs make of them. Run under ASan, the teardown
 * of every test proves that the zones and lines are freed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/config.h"

static char err[1024];

static int setup(void **state)
{
    vigil_config_t *cfg = malloc(sizeof(*cfg));
    if (!cfg) return -1;
    vigil_config_init(cfg);
    err[0] = '\0';
    *state = cfg;
    return 0;
}

static int teardown(void **state)
{
    vigil_config_release(*state);
    free(*state);
    return 0;
}

static vigil_err_t load(vigil_config_t *cfg, const char *yaml)
{
    err[0] = '\0';
    return vigil_config_load_string(cfg, yaml, "cfg.yaml", err, sizeof(err));
}

#define assert_contains(haystack, needle)                                                       \
    do {                                                                                        \
        if (!strstr((haystack), (needle)))                                                      \
            fail_msg("\"%s\" does not contain \"%s\"", (haystack), (needle));                  \
    } while (0)

/* Loads yaml, which must fail with a message containing each of the
 * NULL-terminated needles. */
static void assert_load_fails(vigil_config_t *cfg, const char *yaml, ...)
{
    va_list ap;
    if (load(cfg, yaml) != VIGIL_ERR_CONFIG) fail_msg("loaded, expected an error:\n%s", yaml);
    va_start(ap, yaml);
    for (const char *needle; (needle = va_arg(ap, const char *));) assert_contains(err, needle);
    va_end(ap);
}

/* The camera of the examples, line 1-3, with `zones:` on line 4. */
#define CAM "cameras:\n  - id: gate\n    url: /videos/gate.mp4\n"
#define ZONES CAM "    zones:\n"
#define LINES CAM "    lines:\n"

static const char example_yaml[] =
    "cameras:\n"
    "  - id: gate\n"
    "    url: /videos/gate.mp4\n"
    "    zones:\n"
    "      - id: dock                # 1-63 of A-Z a-z 0-9 _ . -\n"
    "        polygon: [[0.1, 0.5], [0.4, 0.5], [0.4, 0.9], [0.1, 0.9]]\n"
    "        labels: [person]        # empty or absent: every label\n"
    "        min_score: 0.4\n"
    "        loiter_seconds: 30\n"
    "        inertia: 2              # optional\n"
    "        anchor: bottom_center   # optional: bottom_center|center|top_center\n"
    "    lines:\n"
    "      - id: gate\n"
    "        points: [[0.5, 0.0], [0.5, 1.0]]\n"
    "        labels: [person, car]\n"
    "        min_score: 0.3          # optional\n"
    "        hysteresis: 0.02        # optional\n"
    "        anchor: bottom_center   # optional\n";

/* ---- loading ------------------------------------------------------------- */

static void test_config_rules_example_loads_with_its_values(void **state)
{
    vigil_config_t *cfg = *state;
    if (load(cfg, example_yaml) != VIGIL_OK) fail_msg("%s", err);
    assert_int_equal(cfg->ncameras, 1);
    const vigil_camera_conf_t *cam = vigil_config_camera(cfg, "gate");
    assert_non_null(cam);

    assert_int_equal(cam->nzones, 1);
    const vigil_zone_conf_t *z = &cam->zones[0];
    assert_string_equal(z->id, "dock");
    assert_int_equal(z->npoints, 4);
    static const double poly[4][2] = {{0.1, 0.5}, {0.4, 0.5}, {0.4, 0.9}, {0.1, 0.9}};
    for (size_t i = 0; i < 4; i++) {
        assert_float_equal(z->polygon[i].x, poly[i][0], 0);
        assert_float_equal(z->polygon[i].y, poly[i][1], 0);
    }
    assert_int_equal(z->nlabels, 1);
    assert_string_equal(z->labels[0], "person");
    assert_float_equal(z->min_score, 0.4, 0);
    assert_float_equal(z->loiter_seconds, 30, 0);
    assert_int_equal(z->inertia, 2);
    assert_int_equal(z->anchor, VIGIL_ANCHOR_BOTTOM_CENTER);

    assert_int_equal(cam->nlines, 1);
    const vigil_line_conf_t *l = &cam->lines[0];
    assert_string_equal(l->id, "gate");
    assert_float_equal(l->a.x, 0.5, 0);
    assert_float_equal(l->a.y, 0.0, 0);
    assert_float_equal(l->b.x, 0.5, 0);
    assert_float_equal(l->b.y, 1.0, 0);
    assert_int_equal(l->nlabels, 2);
    assert_string_equal(l->labels[0], "person");
    assert_string_equal(l->labels[1], "car");
    assert_float_equal(l->min_score, 0.3, 0);
    assert_float_equal(l->hysteresis, 0.02, 0);
    assert_int_equal(l->anchor, VIGIL_ANCHOR_BOTTOM_CENTER);

    assert_int_equal(vigil_zone_conf_check(z, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_line_conf_check(l, err, sizeof(err)), VIGIL_OK);
    if (vigil_config_validate(cfg, err, sizeof(err)) != VIGIL_OK) fail_msg("%s", err);
}

static void test_config_rules_omitted_keys_take_defaults(void **state)
{
    vigil_config_t *cfg = *state;
    if (load(cfg, ZONES "      - id: a\n        polygon: [[0, 0], [1, 0], [0, 1]]\n"
                        "      - id: b\n        polygon: [[0, 0], [1, 0], [0, 1]]\n"
                        "        labels: []\n        anchor: top_center\n"
                        "    lines:\n      - {id: l, points: [[0, 0.5], [1, 0.5]]}\n") !=
        VIGIL_OK)
        fail_msg("%s", err);
    const vigil_camera_conf_t *cam = &cfg->cameras[0];
    assert_int_equal(cam->nzones, 2);
    for (size_t i = 0; i < 2; i++) {
        const vigil_zone_conf_t *z = &cam->zones[i];
        assert_int_equal(z->inertia, 2);
        assert_float_equal(z->min_score, 0, 0);
        assert_float_equal(z->loiter_seconds, 0, 0);
        assert_int_equal(z->nlabels, 0); /* every label */
    }
    assert_int_equal(cam->zones[0].anchor, VIGIL_ANCHOR_BOTTOM_CENTER);
    assert_int_equal(cam->zones[1].anchor, VIGIL_ANCHOR_TOP_CENTER);
    assert_int_equal(cam->nlines, 1);
    assert_float_equal(cam->lines[0].hysteresis, 0.02, 0);
    assert_float_equal(cam->lines[0].min_score, 0, 0);
    assert_int_equal(cam->lines[0].anchor, VIGIL_ANCHOR_BOTTOM_CENTER);
    assert_int_equal(cam->lines[0].nlabels, 0);

    vigil_zone_conf_t z;
    vigil_line_conf_t l;
    memset(&z, 0xff, sizeof(z));
    memset(&l, 0xff, sizeof(l));
    vigil_zone_conf_init(&z);
    vigil_line_conf_init(&l);
    assert_int_equal(z.inertia, 2);
    assert_int_equal(z.anchor, VIGIL_ANCHOR_BOTTOM_CENTER);
    assert_float_equal(z.min_score, 0, 0);
    assert_float_equal(z.loiter_seconds, 0, 0);
    assert_int_equal(z.npoints, 0);
    assert_int_equal(z.nlabels, 0);
    assert_string_equal(z.id, "");
    assert_float_equal(l.hysteresis, 0.02, 0);
    assert_float_equal(l.min_score, 0, 0);
    assert_int_equal(l.anchor, VIGIL_ANCHOR_BOTTOM_CENTER);
    assert_int_equal(l.nlabels, 0);
}

static void test_config_rules_camera_without_rules_has_none(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, CAM "    zones: []\n    lines:\n"), VIGIL_OK);
    assert_int_equal(cfg->cameras[0].nzones, 0);
    assert_null(cfg->cameras[0].zones);
    assert_int_equal(cfg->cameras[0].nlines, 0);
    assert_null(cfg->cameras[0].lines);
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_OK);
}

/* ---- bad zones in YAML: file, line and key in every message ---------------- */

static void test_config_rules_polygon_of_two_points_is_an_error(void **state)
{
    vigil_config_t *cfg = *state;
    assert_load_fails(cfg, ZONES "      - id: dock\n        polygon: [[0.1, 0.5], [0.4, 0.5]]\n",
                      "cfg.yaml:6: key \"cameras[0].zones[0].polygon\": 2 points (accepted: a "
                      "simple polygon of 3 to 32 points in 0..1)",
                      NULL);
}

static void test_config_rules_bow_tie_polygon_is_self_intersecting(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, ZONES "      - id: ok\n"
                                     "        polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]\n"
                                     "      - id: bow\n"
                                     "        polygon: [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], "
                                     "[0.1, 0.9]]\n"),
                     VIGIL_ERR_CONFIG);
    assert_string_equal(err, "cfg.yaml:8: key \"cameras[0].zones[1].polygon\": self-intersecting: "
                             "edge 0-1 crosses edge 2-3 (accepted: a simple polygon of 3 to 32 "
                             "points in 0..1)");
}

static void test_config_rules_point_outside_the_frame_is_an_error(void **state)
{
    vigil_config_t *cfg = *state;
    assert_load_fails(cfg,
                      ZONES "      - id: dock\n        polygon:\n          - [0.1, 0.5]\n"
                            "          - [1.2, 0.5]\n          - [0.4, 0.9]\n",
                      "cfg.yaml:8: key \"cameras[0].zones[0].polygon[1]\": point [1.2, 0.5] is "
                      "outside 0..1",
                      "accepted: a simple polygon", NULL);
    assert_load_fails(cfg,
                      ZONES "      - id: dock\n        polygon: [[0.1, -0.01], [1, 1], [0, 1]]\n",
                      "cfg.yaml:6: key \"cameras[0].zones[0].polygon[0]\": point [0.1, -0.01] is "
                      "outside 0..1",
                      NULL);
}

static void test_config_rules_nan_coordinate_is_an_error(void **state)
{
    vigil_config_t *cfg = *state;
    assert_load_fails(cfg,
                      ZONES "      - id: dock\n        polygon: [[0.1, .nan], [1, 1], [0, 1]]\n",
                      "cfg.yaml:6: key \"cameras[0].zones[0].polygon[0]\": point [0.1, nan] is "
                      "not finite",
                      NULL);
    assert_load_fails(cfg, LINES "      - id: l\n        points: [[-.inf, 0], [1, 1]]\n",
                      "cfg.yaml:6: key \"cameras[0].lines[0].points[0]\": point [-inf, 0] is not "
                      "finite (accepted: two distinct points in 0..1)",
                      NULL);
    assert_load_fails(cfg, ZONES "      - id: dock\n        polygon: [[0, 0], [1, 0], [0, 1]]\n"
                                 "        min_score: .NaN\n",
                      "cfg.yaml:7: key \"cameras[0].zones[0].min_score\": nan is not a finite "
                      "number (accepted: a number from 0 to 1)",
                      NULL);
}

static void test_config_rules_zero_length_line_is_an_error(void **state)
{
    vigil_config_t *cfg = *state;
    assert_load_fails(cfg, LINES "      - id: l\n        points: [[0.5, 0.5], [0.5, 0.5]]\n",
                      "cfg.yaml:6: key \"cameras[0].lines[0].points\": zero-length line: both "
                      "points are [0.5, 0.5] (accepted: two distinct points in 0..1)",
                      NULL);
    assert_load_fails(cfg, LINES "      - id: l\n        points: [[0.5, 0.5]]\n",
                      "cfg.yaml:6: key \"cameras[0].lines[0].points\": 1 point (accepted: two "
                      "distinct points in 0..1)",
                      NULL);
    assert_load_fails(cfg, LINES "      - id: l\n        points: [[0, 0], [1, 1], [0, 1]]\n",
                      "cfg.yaml:6: key \"cameras[0].lines[0].points[2]\": too many points",
                      NULL);
}

static void test_config_rules_duplicate_ids_name_the_second(void **state)
{
    vigil_config_t *cfg = *state;
    assert_load_fails(cfg,
                      ZONES "      - id: dock\n        polygon: [[0, 0], [1, 0], [0, 1]]\n"
                            "      - id: yard\n        polygon: [[0, 0], [1, 0], [0, 1]]\n"
                            "      - polygon: [[0, 0], [1, 0], [0, 1]]\n        id: dock\n",
                      "cfg.yaml:10: key \"cameras[0].zones[2].id\": duplicate zone id \"dock\", "
                      "also cameras[0].zones[0] (accepted: zone ids unique within a camera)",
                      NULL);
    assert_load_fails(cfg,
                      LINES "      - {id: in, points: [[0, 0], [1, 1]]}\n"
                            "      - {id: in, points: [[0, 1], [1, 0]]}\n",
                      "cfg.yaml:6: key \"cameras[0].lines[1].id\": duplicate line id \"in\", also "
                      "cameras[0].lines[0]",
                      NULL);
    /* a zone and a line may share an id, and two cameras their zone ids */
    assert_int_equal(load(cfg, ZONES "      - {id: a, polygon: [[0, 0], [1, 0], [0, 1]]}\n"
                                     "    lines:\n      - {id: a, points: [[0, 0], [1, 1]]}\n"
                                     "  - id: door\n    url: x\n    zones:\n"
                                     "      - {id: a, polygon: [[0, 0], [1, 0], [0, 1]]}\n"),
                     VIGIL_OK);
}

static void test_config_rules_unknown_key_in_a_zone_lists_zone_keys(void **state)
{
    vigil_config_t *cfg = *state;
    assert_load_fails(cfg, ZONES "      - id: dock\n        colour: red\n",
                      "cfg.yaml:6: key \"cameras[0].zones[0].colour\": unknown key (accepted: "
                      "id, polygon, labels, min_score, loiter_seconds, inertia, anchor)",
                      NULL);
    assert_load_fails(cfg, LINES "      - id: l\n        polygon: [[0, 0], [1, 1]]\n",
                      "cfg.yaml:6: key \"cameras[0].lines[0].polygon\": unknown key (accepted: "
                      "id, points, labels, min_score, hysteresis, anchor)",
                      NULL);
}

static void test_config_rules_more_than_max_zones_is_an_error(void **state)
{
    vigil_config_t *cfg = *state;
    char yaml[8192];
    size_t n = (size_t)snprintf(yaml, sizeof(yaml), ZONES);
    for (int i = 0; i <= VIGIL_ZONES_MAX; i++)
        n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
                              "      - {id: z%d, polygon: [[0, 0], [1, 0], [0, 1]]}\n", i);
    char line[64];
    snprintf(line, sizeof(line), "cfg.yaml:%d: ", 5 + VIGIL_ZONES_MAX);
    assert_load_fails(cfg, yaml, line, "key \"cameras[0].zones[32]\": too many zones (accepted: "
                                       "at most 32 zones per camera)",
                      NULL);
    /* exactly the most is fine */
    yaml[strlen(yaml) - 1] = '\0';
    *strrchr(yaml, '\n') = '\0';
    if (load(cfg, yaml) != VIGIL_OK) fail_msg("%s", err);
    assert_int_equal(cfg->cameras[0].nzones, VIGIL_ZONES_MAX);
}

static void test_config_rules_more_than_max_points_or_labels_is_an_error(void **state)
{
    vigil_config_t *cfg = *state;
    char yaml[8192];
    size_t n = (size_t)snprintf(yaml, sizeof(yaml), ZONES "      - id: round\n        polygon:\n");
    for (int i = 0; i <= VIGIL_POLYGON_MAX; i++) { /* a circle of 33 points */
        double a = 2 * M_PI * i / (VIGIL_POLYGON_MAX + 1);
        n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "          - [%.6f, %.6f]\n",
                              0.5 + 0.4 * cos(a), 0.5 + 0.4 * sin(a));
    }
    char line[64];
    snprintf(line, sizeof(line), "cfg.yaml:%d: ", 7 + VIGIL_POLYGON_MAX);
    assert_load_fails(cfg, yaml, line, "key \"cameras[0].zones[0].polygon[32]\": too many points",
                      "accepted: a simple polygon of 3 to 32 points", NULL);

    n = (size_t)snprintf(yaml, sizeof(yaml),
                         ZONES "      - id: z\n        polygon: [[0, 0], [1, 0], [0, 1]]\n"
                               "        labels: [");
    for (int i = 0; i <= VIGIL_RULE_LABELS_MAX; i++)
        n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%sl%d", i ? ", " : "", i);
    snprintf(yaml + n, sizeof(yaml) - n, "]\n");
    assert_load_fails(cfg, yaml,
                      "cfg.yaml:7: key \"cameras[0].zones[0].labels[16]\": too many labels",
                      "accepted: at most 16 distinct labels of 1 to 63 characters", NULL);
}

static void test_config_rules_labels_must_be_a_list_of_distinct_names(void **state)
{
    vigil_config_t *cfg = *state;
    assert_load_fails(cfg, ZONES "      - id: dock\n        labels: person\n",
                      "cfg.yaml:6: key \"cameras[0].zones[0].labels\": expected a list of labels",
                      "accepted: at most 16 distinct labels", NULL);
    assert_load_fails(cfg, ZONES "      - id: dock\n        labels: {person: 1}\n",
                      "cfg.yaml:6: key \"cameras[0].zones[0].labels\": expected a list", NULL);
    assert_load_fails(cfg,
                      ZONES "      - id: dock\n        polygon: [[0, 0], [1, 0], [0, 1]]\n"
                            "        labels:\n          - person\n          - car\n"
                            "          - person\n",
                      "cfg.yaml:10: key \"cameras[0].zones[0].labels[2]\": duplicate label "
                      "\"person\", also labels[0]",
                      NULL);
    assert_load_fails(cfg, LINES "      - id: l\n        labels: [person, [car]]\n",
                      "cfg.yaml:6: key \"cameras[0].lines[0].labels[1]\": expected a label", NULL);
    assert_load_fails(cfg, LINES "      - id: l\n        labels: [\"\"]\n",
                      "cfg.yaml:6: key \"cameras[0].lines[0].labels[0]\": empty label", NULL);
}

static void test_config_rules_polygon_must_be_a_list_of_pairs(void **state)
{
    vigil_config_t *cfg = *state;
    assert_load_fails(cfg, ZONES "      - id: dock\n        polygon: [0.1, 0.5, 0.4, 0.5]\n",
                      "cfg.yaml:6: key \"cameras[0].zones[0].polygon[0]\": expected an [x, y] "
                      "pair of numbers (accepted: a simple polygon",
                      NULL);
    assert_load_fails(cfg, ZONES "      - id: dock\n        polygon: [[0.1, 0.5, 0.2], [0, 1]]\n",
                      "cfg.yaml:6: key \"cameras[0].zones[0].polygon[0]\": expected an [x, y] pair",
                      NULL);
    assert_load_fails(cfg, ZONES "      - id: dock\n        polygon: square\n",
                      "cfg.yaml:6: key \"cameras[0].zones[0].polygon\": expected a list of [x, y] "
                      "pairs",
                      NULL);
    assert_load_fails(cfg, ZONES "      - id: dock\n        polygon: [[0, 0], [1, left], [0, 1]]\n",
                      "cfg.yaml:6: key \"cameras[0].zones[0].polygon[1]\": \"left\" is not a "
                      "number",
                      NULL);
}

static void test_config_rules_missing_id_or_points_and_bad_values(void **state)
{
    vigil_config_t *cfg = *state;
    assert_load_fails(cfg, ZONES "      - polygon: [[0, 0], [1, 0], [0, 1]]\n",
                      "cfg.yaml:5: key \"cameras[0].zones[0].id\": missing, every zone needs an id",
                      NULL);
    assert_load_fails(cfg, ZONES "      - id: dock\n",
                      "cfg.yaml:5: key \"cameras[0].zones[0].polygon\": missing, every zone needs "
                      "a polygon",
                      NULL);
    assert_load_fails(cfg, LINES "      - id: l\n",
                      "cfg.yaml:5: key \"cameras[0].lines[0].points\": missing, every line needs "
                      "two points",
                      NULL);
    assert_load_fails(cfg, ZONES "      - id: \"dock 1\"\n",
                      "cfg.yaml:5: key \"cameras[0].zones[0].id\": invalid id \"dock 1\" "
                      "(accepted: 1 to 63 of A-Z a-z 0-9 _ . -)",
                      NULL);
    assert_load_fails(cfg, ZONES "      - id: dock\n        anchor: feet\n",
                      "cfg.yaml:6: key \"cameras[0].zones[0].anchor\": unknown value \"feet\" "
                      "(accepted: bottom_center, center, top_center)",
                      NULL);
    assert_load_fails(cfg,
                      ZONES "      - id: dock\n        polygon: [[0, 0], [1, 0], [0, 1]]\n"
                            "        inertia: 31\n",
                      "cfg.yaml:7: key \"cameras[0].zones[0].inertia\": 31 is out of range "
                      "(accepted: an integer from 1 to 30)",
                      NULL);
    assert_load_fails(cfg, ZONES "      - id: dock\n        inertia: 1.5\n",
                      "cfg.yaml:6: key \"cameras[0].zones[0].inertia\": \"1.5\" is not an integer "
                      "(accepted: an integer from 1 to 30)",
                      NULL);
    assert_load_fails(cfg,
                      ZONES "      - id: dock\n        polygon: [[0, 0], [1, 0], [0, 1]]\n"
                            "        loiter_seconds: 86401\n",
                      "cfg.yaml:7: key \"cameras[0].zones[0].loiter_seconds\": 86401 is out of "
                      "range (accepted: a number from 0 to 86400)",
                      NULL);
    assert_load_fails(cfg, LINES "      - id: l\n        points: [[0, 0], [1, 1]]\n"
                                 "        hysteresis: 0.6\n",
                      "cfg.yaml:7: key \"cameras[0].lines[0].hysteresis\": 0.6 is out of range "
                      "(accepted: a number from 0 to 0.5)",
                      NULL);
    assert_load_fails(cfg, LINES "      - id: l\n        min_score: [1]\n",
                      "cfg.yaml:6: key \"cameras[0].lines[0].min_score\": expected a single value",
                      NULL);
    assert_load_fails(cfg, CAM "    zones: {id: dock}\n",
                      "cfg.yaml:4: key \"cameras[0].zones\": expected a list of zones", NULL);
    assert_load_fails(cfg, CAM "    lines:\n      - l\n",
                      "cfg.yaml:5: key \"cameras[0].lines[0]\": expected a mapping of line "
                      "settings (accepted: id, points, labels, min_score, hysteresis, anchor)",
                      NULL);
}

/* ---- ownership ------------------------------------------------------------- */

static void test_config_rules_release_frees_every_array(void **state)
{
    vigil_config_t *cfg = *state;
    /* loaded twice: the second `cameras:` list releases the first one's rules */
    assert_int_equal(load(cfg, example_yaml), VIGIL_OK);
    assert_int_equal(load(cfg, example_yaml), VIGIL_OK);
    /* a key given twice is refused (it used to replace the first list);
     * what the first one loaded is released with the rest */
    assert_int_equal(load(cfg, ZONES "      - {id: a, polygon: [[0, 0], [1, 0], [0, 1]]}\n"
                                     "    zones:\n"
                                     "      - {id: b, polygon: [[0, 0], [1, 0], [0, 1]]}\n"),
                     VIGIL_ERR_CONFIG);
    if (!strstr(err, "key \"cameras[0].zones\": given twice, first on line"))
        fail_msg("%s", err);
    /* an error half way through leaves a configuration that releases cleanly */
    assert_int_equal(load(cfg, example_yaml), VIGIL_OK);
    assert_int_not_equal(load(cfg, CAM "    lines:\n      - {id: a, points: [[0, 0], [1, 1]]}\n"
                                       "    zones:\n      - {id: a, polygon: [[0, 0], [1, 0]]}\n"),
                         VIGIL_OK);
    assert_int_equal(cfg->cameras[0].nlines, 1);
    /* and one camera released by hand leaves nothing behind */
    vigil_config_t other;
    vigil_config_init(&other);
    assert_int_equal(vigil_config_load_string(&other, example_yaml, "x", err, sizeof(err)),
                     VIGIL_OK);
    vigil_config_release(&other);
    assert_int_equal(other.ncameras, 0);
    /* a camera added from the command line has no rules */
    assert_int_equal(vigil_config_add_source(cfg, "b.mp4", err, sizeof(err)), VIGIL_OK);
    assert_null(cfg->cameras[cfg->ncameras - 1].zones);
    assert_null(cfg->cameras[cfg->ncameras - 1].lines);
}

/* ---- the checks, as other callers (rules in JSON) use them ----------------- */

static vigil_zone_conf_t zone_of(const double (*pts)[2], size_t n)
{
    vigil_zone_conf_t z;
    vigil_zone_conf_init(&z);
    snprintf(z.id, sizeof(z.id), "z");
    for (size_t i = 0; i < n; i++) z.polygon[i] = (vigil_point_t){pts[i][0], pts[i][1]};
    z.npoints = n;
    return z;
}

static void assert_zone_fails(const vigil_zone_conf_t *z, const char *needle)
{
    if (vigil_zone_conf_check(z, err, sizeof(err)) != VIGIL_ERR_CONFIG)
        fail_msg("accepted, expected \"%s\"", needle);
    assert_contains(err, needle);
}

static void test_config_rules_zone_check_finds_every_non_simple_polygon(void **state)
{
    (void)state;
    static const double square[][2] = {{0.1, 0.1}, {0.9, 0.1}, {0.9, 0.9}, {0.1, 0.9}};
    static const double concave[][2] = {{0, 0}, {1, 0}, {1, 1}, {0.5, 0.2}, {0, 1}};
    static const double bow[][2] = {{0.1, 0.1}, {0.9, 0.9}, {0.9, 0.1}, {0.1, 0.9}};
    /* a corner that touches another edge */
    static const double touch[][2] = {{0, 0}, {1, 0}, {1, 1}, {0.5, 0}, {0, 1}};
    /* an edge that doubles back over the one before it */
    static const double spike[][2] = {{0, 0}, {1, 0}, {0.5, 0}, {0.5, 1}};
    /* two non-adjacent edges on one line, overlapping */
    static const double overlap[][2] = {{0, 0}, {0.6, 0}, {0.6, 0.5}, {0.8, 0.5},
                                        {0.8, 0},  {0.4, 0}, {0.4, 1},   {0, 1}};
    static const double repeat[][2] = {{0, 0}, {1, 0}, {1, 0}, {0, 1}};
    static const double flat[][2] = {{0, 0}, {0.5, 0.5}, {1, 1}};

    vigil_zone_conf_t z = zone_of(square, 4);
    assert_int_equal(vigil_zone_conf_check(&z, err, sizeof(err)), VIGIL_OK);
    z = zone_of(concave, 5);
    assert_int_equal(vigil_zone_conf_check(&z, err, sizeof(err)), VIGIL_OK);
    z = zone_of(square, 4); /* clockwise or not does not matter */
    for (size_t i = 0; i < 2; i++) {
        vigil_point_t t = z.polygon[i];
        z.polygon[i] = z.polygon[3 - i];
        z.polygon[3 - i] = t;
    }
    assert_int_equal(vigil_zone_conf_check(&z, err, sizeof(err)), VIGIL_OK);

    z = zone_of(bow, 4);
    assert_zone_fails(&z, "key \"polygon\": self-intersecting: edge 0-1 crosses edge 2-3 "
                          "(accepted: a simple polygon of 3 to 32 points in 0..1)");
    z = zone_of(touch, 5);
    assert_zone_fails(&z, "key \"polygon\": self-intersecting: edge 0-1 touches edge 2-3");
    z = zone_of(spike, 4);
    assert_zone_fails(&z, "key \"polygon\": self-intersecting: edge 0-1 touches edge 2-3");
    z = zone_of(overlap, 8);
    assert_zone_fails(&z, "key \"polygon\": self-intersecting: edge 0-1 overlaps edge 4-5");
    z = zone_of(repeat, 4);
    assert_zone_fails(&z, "key \"polygon[2]\": point [1, 0] repeats point 1");
    z = zone_of(flat, 3);
    assert_zone_fails(&z, "key \"polygon\": zero area");
    z = zone_of(square, 2);
    assert_zone_fails(&z, "key \"polygon\": 2 points");
    z = zone_of(square, 4);
    z.npoints = VIGIL_POLYGON_MAX + 1;
    assert_zone_fails(&z, "key \"polygon\": 33 points");
    z = zone_of(square, 4);
    z.polygon[3].x = INFINITY;
    assert_zone_fails(&z, "key \"polygon[3]\": point [inf, 0.9] is not finite");
}

static void test_config_rules_zone_check_fields(void **state)
{
    (void)state;
    static const double tri[][2] = {{0, 0}, {1, 0}, {0, 1}};
    vigil_zone_conf_t z = zone_of(tri, 3);

    z.id[0] = '\0';
    assert_zone_fails(&z, "key \"id\": invalid id \"\" (accepted: 1 to 63 of A-Z a-z 0-9 _ . -)");
    z = zone_of(tri, 3);
    memset(z.id, 'a', sizeof(z.id)); /* not terminated */
    assert_zone_fails(&z, "key \"id\": invalid id");
    z = zone_of(tri, 3);
    snprintf(z.id, sizeof(z.id), "a/b");
    assert_zone_fails(&z, "key \"id\": invalid id \"a/b\"");
    z = zone_of(tri, 3);
    z.nlabels = 2;
    snprintf(z.labels[0], sizeof(z.labels[0]), "car");
    snprintf(z.labels[1], sizeof(z.labels[1]), "car");
    assert_zone_fails(&z, "key \"labels[1]\": duplicate label \"car\", also labels[0]");
    z.labels[1][0] = '\0';
    assert_zone_fails(&z, "key \"labels[1]\": empty label");
    memset(z.labels[1], 'x', sizeof(z.labels[1]));
    assert_zone_fails(&z, "key \"labels[1]\": label too long");
    z.nlabels = VIGIL_RULE_LABELS_MAX + 1;
    assert_zone_fails(&z, "key \"labels\": 17 labels");
    z = zone_of(tri, 3);
    z.min_score = 1.01;
    assert_zone_fails(&z,
                      "key \"min_score\": 1.01 is out of range (accepted: a number from 0 to 1)");
    z.min_score = NAN;
    assert_zone_fails(&z, "key \"min_score\": nan is not a finite number");
    z = zone_of(tri, 3);
    z.loiter_seconds = -1;
    assert_zone_fails(&z, "key \"loiter_seconds\": -1 is out of range");
    z = zone_of(tri, 3);
    z.inertia = 0;
    assert_zone_fails(&z, "key \"inertia\": 0 is out of range (accepted: an integer from 1 to 30)");
    z = zone_of(tri, 3);
    z.anchor = 3;
    assert_zone_fails(&z, "key \"anchor\": unknown anchor 3 (accepted: bottom_center, center, "
                          "top_center)");
    assert_int_equal(vigil_zone_conf_check(NULL, err, sizeof(err)), VIGIL_ERR_CONFIG);
}

static void test_config_rules_line_check_fields(void **state)
{
    (void)state;
    vigil_line_conf_t l;
    vigil_line_conf_init(&l);
    snprintf(l.id, sizeof(l.id), "door.in");
    l.a = (vigil_point_t){0, 0.5};
    l.b = (vigil_point_t){1, 0.5};
    assert_int_equal(vigil_line_conf_check(&l, err, sizeof(err)), VIGIL_OK);

    l.b = l.a;
    assert_int_equal(vigil_line_conf_check(&l, err, sizeof(err)), VIGIL_ERR_CONFIG);
    assert_string_equal(err, "key \"points\": zero-length line: both points are [0, 0.5] "
                             "(accepted: two distinct points in 0..1)");
    l.b = (vigil_point_t){1.5, 0.5};
    assert_int_equal(vigil_line_conf_check(&l, err, sizeof(err)), VIGIL_ERR_CONFIG);
    assert_contains(err, "key \"points[1]\": point [1.5, 0.5] is outside 0..1");
    l.b = (vigil_point_t){1, 0.5};
    l.hysteresis = 0.51;
    assert_int_equal(vigil_line_conf_check(&l, err, sizeof(err)), VIGIL_ERR_CONFIG);
    assert_contains(err, "key \"hysteresis\": 0.51 is out of range (accepted: a number from 0 to "
                         "0.5)");
    l.hysteresis = 0;
    l.min_score = -0.1;
    assert_int_equal(vigil_line_conf_check(&l, err, sizeof(err)), VIGIL_ERR_CONFIG);
    assert_contains(err, "key \"min_score\"");
    l.min_score = 0;
    l.anchor = -1;
    assert_int_equal(vigil_line_conf_check(&l, err, sizeof(err)), VIGIL_ERR_CONFIG);
    assert_contains(err, "key \"anchor\"");
    l.anchor = VIGIL_ANCHOR_CENTER;
    l.nlabels = 1;
    assert_int_equal(vigil_line_conf_check(&l, err, sizeof(err)), VIGIL_ERR_CONFIG);
    assert_contains(err, "key \"labels[0]\": empty label");
    assert_int_equal(vigil_line_conf_check(NULL, err, sizeof(err)), VIGIL_ERR_CONFIG);
}

static void test_config_rules_validate_checks_rules_built_in_code(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, example_yaml), VIGIL_OK);
    vigil_camera_conf_t *cam = &cfg->cameras[0];
    cam->zones[0].polygon[2] = (vigil_point_t){0.1, 0.5}; /* repeats point 0 */
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_ERR_CONFIG);
    assert_contains(err, "camera \"gate\": key \"cameras[0].zones[0].polygon[2]\": point [0.1, "
                         "0.5] repeats point 0");
    cam->zones[0].polygon[2] = (vigil_point_t){0.4, 0.9};
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_OK);

    vigil_line_conf_t *lines = realloc(cam->lines, 2 * sizeof(*lines));
    assert_non_null(lines);
    cam->lines = lines;
    cam->lines[1] = cam->lines[0];
    cam->nlines = 2;
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_ERR_CONFIG);
    assert_contains(err, "key \"cameras[0].lines[1].id\": duplicate line id \"gate\"");
}

/* ---- analytics.* ------------------------------------------------------------ */

static void test_config_rules_analytics_settable_by_env_set_and_yaml(void **state)
{
    vigil_config_t *cfg = *state;
    setenv("VIGIL_ANALYTICS_MIN_HITS", "5", 1);
    setenv("VIGIL_ANALYTICS_PER_CLASS", "false", 1);
    vigil_err_t e = vigil_config_apply_env(cfg, err, sizeof(err));
    unsetenv("VIGIL_ANALYTICS_MIN_HITS");
    unsetenv("VIGIL_ANALYTICS_PER_CLASS");
    if (e != VIGIL_OK) fail_msg("%s", err);
    assert_int_equal(cfg->analytics_min_hits, 5);
    assert_int_equal(cfg->analytics_per_class, 0);

    assert_int_equal(vigil_config_set(cfg, "analytics.buffer", "0.5", "--set", err, sizeof(err)),
                     VIGIL_OK);
    assert_float_equal(cfg->analytics_buffer, 0.5, 0);
    assert_int_equal(vigil_config_set(cfg, "analytics.enabled", "off", "--set", err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(cfg->analytics_enabled, 0);
    assert_int_equal(vigil_config_set(cfg, "analytics.buffer", "2.5", "--set", err, sizeof(err)),
                     VIGIL_ERR_CONFIG);
    assert_string_equal(err, "--set: key \"analytics.buffer\": 2.5 is out of range (accepted: a "
                             "number from 0 to 2)");
    assert_int_equal(vigil_config_set(cfg, "analytics.min_hits", "31", "--set", err, sizeof(err)),
                     VIGIL_ERR_CONFIG);
    assert_contains(err, "accepted: an integer from 1 to 30");

    setenv("VIGIL_ANALYTICS_BATCH_FRAMES", "0", 1);
    e = vigil_config_apply_env(cfg, err, sizeof(err));
    unsetenv("VIGIL_ANALYTICS_BATCH_FRAMES");
    assert_int_equal(e, VIGIL_ERR_CONFIG);
    assert_string_equal(err, "env VIGIL_ANALYTICS_BATCH_FRAMES: key \"analytics.batch_frames\": 0 "
                             "is out of range (accepted: an integer from 1 to 10000)");

    assert_int_equal(load(cfg, "analytics:\n  flush_ms: 250\n  clip_preroll_s: 5\n"
                               "  lost_seconds: 600\n  mach_iou: 1\n"),
                     VIGIL_ERR_CONFIG);
    assert_contains(err, "cfg.yaml:5: key \"analytics.mach_iou\": unknown key (accepted: enabled, group, "
                         "high_score, low_score, new_track_score, match_iou, low_match_iou, "
                         "buffer, min_hits, lost_seconds, per_class, batch_frames, flush_ms, "
                         "clip_preroll_s, clip_postroll_s)");
    assert_int_equal(cfg->analytics_flush_ms, 250);
    assert_float_equal(cfg->analytics_clip_preroll_s, 5, 0);
    assert_float_equal(cfg->analytics_lost_seconds, 600, 0);
}

static void test_config_rules_validate_low_score_above_high_score(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, "analytics:\n  low_score: 0.5\n  high_score: 0.5\n"), VIGIL_OK);
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_config_set(cfg, "analytics.low_score", "0.6", NULL, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_ERR_CONFIG);
    assert_string_equal(err, "key \"analytics.low_score\": 0.6 is greater than "
                             "analytics.high_score 0.5 (accepted: at most analytics.high_score)");
}

static void test_config_rules_lists_cannot_be_set_from_the_command_line(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, example_yaml), VIGIL_OK);
    static const char *const keys[] = {"cameras[gate].zones", "cameras[gate].zones[0].min_score",
                                       "cameras[0].lines", "cameras[0].lines[gate].hysteresis",
                                       "cameras[nope].zones"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        assert_int_equal(vigil_config_set(cfg, keys[i], "0.5", "--set", err, sizeof(err)),
                         VIGIL_ERR_CONFIG);
        char want[160];
        snprintf(want, sizeof(want), "--set: key \"%s\": zones and lines are lists and cannot be "
                                     "set from the command line",
                 keys[i]);
        assert_contains(err, want);
        assert_contains(err, "(accepted: cameras[].zones and cameras[].lines in the YAML file)");
    }
    assert_float_equal(cfg->cameras[0].zones[0].min_score, 0.4, 0);
    /* a camera key that merely starts like one is still unknown */
    assert_int_equal(vigil_config_set(cfg, "cameras[gate].zonesx", "1", NULL, err, sizeof(err)),
                     VIGIL_ERR_CONFIG);
    assert_contains(err, "unknown key (accepted: id, name, url, fps, enabled, loop, "
                         "retention_hours, max_bytes, zones, lines)");
}

/* ---- docs --------------------------------------------------------------------- */

static void test_config_rules_docs_list_zone_and_line_keys(void **state)
{
    (void)state;
    static const char *const rows[] = {
        "| `cameras[].zones` | list of mappings | — | at most 32 zones | — |",
        "| `cameras[].zones[].id` | string | — | 1 to 63 of A-Z a-z 0-9 _ . - | — |",
        "| `cameras[].zones[].polygon` | list of [x, y] | — | a simple polygon of 3 to 32 points "
        "in 0..1 | — |",
        "| `cameras[].zones[].labels` | list of strings | `[]` |",
        "| `cameras[].zones[].min_score` | number | `0` | 0 .. 1 | — |",
        "| `cameras[].zones[].loiter_seconds` | number | `0` | 0 .. 86400 | — |",
        "| `cameras[].zones[].inertia` | int | `2` | 1 .. 30 | — |",
        "| `cameras[].zones[].anchor` | enum | `bottom_center` | `bottom_center`, `center`, "
        "`top_center` | — |",
        "| `cameras[].lines` | list of mappings | — | at most 32 lines | — |",
        "| `cameras[].lines[].id` | string |",
        "| `cameras[].lines[].points` | list of [x, y] | — | two distinct points in 0..1 | — |",
        "| `cameras[].lines[].labels` | list of strings | `[]` |",
        "| `cameras[].lines[].min_score` | number | `0` | 0 .. 1 | — |",
        "| `cameras[].lines[].hysteresis` | number | `0.02` | 0 .. 0.5 | — |",
        "| `cameras[].lines[].anchor` | enum | `bottom_center` |",
        "| `analytics.min_hits` | int | `3` | 1 .. 30 | `VIGIL_ANALYTICS_MIN_HITS` |",
        "| `analytics.buffer` | number | `0.3` | 0 .. 2 | `VIGIL_ANALYTICS_BUFFER` |",
        "## analytics",
        "    zones:\n      - id: dock\n        polygon: [[0.1, 0.5],",
    };
    char *md = vigil_config_docs_markdown();
    assert_non_null(md);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) assert_contains(md, rows[i]);
    /* the rules come after the camera's own keys, in the cameras section */
    assert_true(strstr(md, "| `cameras[].retention_hours` |") <
                strstr(md, "| `cameras[].zones` |"));
    assert_true(strstr(md, "## cameras") < strstr(md, "| `cameras[].retention_hours` |"));
    free(md);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_config_rules_example_loads_with_its_values),
        T(test_config_rules_omitted_keys_take_defaults),
        T(test_config_rules_camera_without_rules_has_none),
        T(test_config_rules_polygon_of_two_points_is_an_error),
        T(test_config_rules_bow_tie_polygon_is_self_intersecting),
        T(test_config_rules_point_outside_the_frame_is_an_error),
        T(test_config_rules_nan_coordinate_is_an_error),
        T(test_config_rules_zero_length_line_is_an_error),
        T(test_config_rules_duplicate_ids_name_the_second),
        T(test_config_rules_unknown_key_in_a_zone_lists_zone_keys),
        T(test_config_rules_more_than_max_zones_is_an_error),
        T(test_config_rules_more_than_max_points_or_labels_is_an_error),
        T(test_config_rules_labels_must_be_a_list_of_distinct_names),
        T(test_config_rules_polygon_must_be_a_list_of_pairs),
        T(test_config_rules_missing_id_or_points_and_bad_values),
        T(test_config_rules_release_frees_every_array),
        T(test_config_rules_zone_check_finds_every_non_simple_polygon),
        T(test_config_rules_zone_check_fields),
        T(test_config_rules_line_check_fields),
        T(test_config_rules_validate_checks_rules_built_in_code),
        T(test_config_rules_analytics_settable_by_env_set_and_yaml),
        T(test_config_rules_validate_low_score_above_high_score),
        T(test_config_rules_lists_cannot_be_set_from_the_command_line),
        T(test_config_rules_docs_list_zone_and_line_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
