/* Unit tests of the configuration (src/core/config*.c): defaults, YAML
 * loading and its error messages, environment, --set, cameras, validation
 * and the generated docs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/clock.h"
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
    return vigil_config_load_string(cfg, yaml, "test.yaml", err, sizeof(err));
}

#define assert_contains(haystack, needle)                                                       \
    do {                                                                                        \
        if (!strstr((haystack), (needle)))                                                      \
            fail_msg("\"%s\" does not contain \"%s\"", (haystack), (needle));                  \
    } while (0)

static void test_config_init_sets_documented_defaults(void **state)
{
    vigil_config_t *cfg = *state;
    assert_string_equal(cfg->log_level, "info");
    assert_string_equal(cfg->http_listen, "127.0.0.1:8080");
    assert_string_equal(cfg->bus_url, "inproc://");
    assert_int_equal(cfg->bus_partitions, 4);
    assert_int_equal(cfg->bus_capacity, 256);
    assert_string_equal(cfg->store_url, "sqlite");
    assert_string_equal(cfg->data_dir, "./data");
    assert_float_equal(cfg->store_retention_hours, 24, 0);
    assert_int_equal(cfg->store_sweep_interval_s, 60);
    assert_int_equal(cfg->ingest_jpeg_quality, 85);
    assert_int_equal(cfg->ingest_reconnect_min_ms, 500);
    assert_int_equal(cfg->ingest_reconnect_max_ms, 30000);
    assert_int_equal(cfg->ingest_realtime, 1);
    assert_int_equal(cfg->preprocess_workers, 1);
    assert_float_equal(cfg->preprocess_motion_threshold, 0.003, 1e-12);
    assert_float_equal(cfg->preprocess_keyframe_interval_s, 10, 0);
    assert_int_equal(cfg->preprocess_motion_width, 160);
    assert_string_equal(cfg->infer_model, "centernet");
    assert_int_equal(cfg->infer_workers, 1);
    assert_int_equal(cfg->infer_batch_size, 4);
    assert_int_equal(cfg->infer_batch_timeout_ms, 20);
    assert_float_equal(cfg->infer_min_score, 0.3, 1e-12);
    assert_int_equal(cfg->sink_batch_size, 64);
    assert_int_equal(cfg->sink_flush_ms, 200);
    assert_int_equal(cfg->analytics_enabled, 1);
    assert_float_equal(cfg->analytics_high_score, 0.35, 1e-12);
    assert_float_equal(cfg->analytics_low_score, 0.1, 1e-12);
    assert_float_equal(cfg->analytics_new_track_score, 0.4, 1e-12);
    assert_float_equal(cfg->analytics_match_iou, 0.2, 1e-12);
    assert_float_equal(cfg->analytics_low_match_iou, 0.4, 1e-12);
    assert_float_equal(cfg->analytics_buffer, 0.3, 1e-12);
    assert_int_equal(cfg->analytics_min_hits, 3);
    assert_float_equal(cfg->analytics_lost_seconds, 3, 0);
    assert_int_equal(cfg->analytics_per_class, 1);
    assert_int_equal(cfg->analytics_batch_frames, 64);
    assert_int_equal(cfg->analytics_flush_ms, 500);
    assert_float_equal(cfg->analytics_clip_preroll_s, 3, 0);
    assert_float_equal(cfg->analytics_clip_postroll_s, 3, 0);
    assert_int_equal(cfg->ingest_max_cameras, 64);
    assert_int_equal(cfg->limits_max_frame_pixels, 7680 * 4320);
    assert_int_equal(cfg->limits_max_cameras, 1024);
    assert_float_equal(cfg->limits_camera_forget_s, 600, 0);
    assert_int_equal(cfg->ncameras, 0);
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_OK);
}

static void test_config_props_table_defaults_parse_and_describe(void **state)
{
    vigil_config_t *cfg = *state;
    int rows = 0;
    for (const vigil_prop_t *p = vigil_props; p->name; p++, rows++) {
        assert_non_null(p->desc);
        assert_true(strlen(p->desc) > 10);
        if (p->type == VIGIL_PROP_ENUM) assert_non_null(p->values);
        if (strncmp(p->name, "cameras[].", 10) == 0 || !p->def) continue;
        /* every default is accepted by its own row */
        if (vigil_config_set(cfg, p->name, p->def, "default", err, sizeof(err)) != VIGIL_OK)
            fail_msg("default of %s rejected: %s", p->name, err);
    }
    /* 49 fields of vigil_config_t and 7 of vigil_camera_conf_t (zones and lines are
     * lists, documented by rows of their own: test_config_rules.c), then auth.* (5),
     * http.live_max_streams and the HTTP edge's http.* (12), http.web_root (1), push.* (10),
     * the frame budgets store.max_bytes and cameras[].max_bytes (2), the read replica's
     * store.read_url and store.read_max_lag_s (2), search.* (6) and the log shipper's
     * log.sink and log.queue_max (2), grpc.* (5) */
    assert_int_equal(rows, 49 + 7 + 5 + 1 + 12 + 1 + 10 + 2 + 2 + 6 + 2 + 5);
}

static const char full_yaml[] = "# a full configuration\n"
                                "log:\n"
                                "  level: debug\n"
                                "http:\n"
                                "  listen: \"0.0.0.0:9090\"\n"
                                "bus:\n"
                                "  url: inproc://\n"
                                "  partitions: 8\n"
                                "  capacity: 16\n"
                                "store:\n"
                                "  url: \"sqlite:/tmp/x.db\"\n"
                                "  data_dir: /var/lib/vigil\n"
                                "  retention_hours: 1.5\n"
                                "  sweep_interval_s: 5\n"
                                "ingest:\n"
                                "  jpeg_quality: 70\n"
                                "  reconnect_min_ms: 100\n"
                                "  reconnect_max_ms: 2000\n"
                                "  realtime: false\n"
                                "preprocess:\n"
                                "  workers: 2\n"
                                "  motion_threshold: 0.05\n"
                                "  keyframe_interval_s: 0\n"
                                "  motion_width: 320\n"
                                "infer:\n"
                                "  model: motion\n"
                                "  workers: 3\n"
                                "  batch_size: 8\n"
                                "  batch_timeout_ms: 0\n"
                                "  min_score: 0.5\n"
                                "sink:\n"
                                "  batch_size: 10\n"
                                "  flush_ms: 50\n"
                                "cameras:\n"
                                "  - id: lobby\n"
                                "    name: Front lobby\n"
                                "    url: rtsp://192.0.2.1/s\n"
                                "    fps: 2.5\n"
                                "    enabled: no\n"
                                "    loop: off\n"
                                "    retention_hours: 48\n"
                                "  - url: sample\n";

static void test_config_load_full_yaml_sets_every_section(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, full_yaml), VIGIL_OK);
    assert_string_equal(cfg->log_level, "debug");
    assert_string_equal(cfg->http_listen, "0.0.0.0:9090");
    assert_int_equal(cfg->bus_partitions, 8);
    assert_int_equal(cfg->bus_capacity, 16);
    assert_string_equal(cfg->store_url, "sqlite:/tmp/x.db");
    assert_string_equal(cfg->data_dir, "/var/lib/vigil");
    assert_float_equal(cfg->store_retention_hours, 1.5, 0);
    assert_int_equal(cfg->store_sweep_interval_s, 5);
    assert_int_equal(cfg->ingest_jpeg_quality, 70);
    assert_int_equal(cfg->ingest_reconnect_min_ms, 100);
    assert_int_equal(cfg->ingest_reconnect_max_ms, 2000);
    assert_int_equal(cfg->ingest_realtime, 0);
    assert_int_equal(cfg->preprocess_workers, 2);
    assert_float_equal(cfg->preprocess_motion_threshold, 0.05, 1e-12);
    assert_float_equal(cfg->preprocess_keyframe_interval_s, 0, 0);
    assert_int_equal(cfg->preprocess_motion_width, 320);
    assert_int_equal(cfg->infer_workers, 3);
    assert_int_equal(cfg->infer_batch_size, 8);
    assert_int_equal(cfg->infer_batch_timeout_ms, 0);
    assert_float_equal(cfg->infer_min_score, 0.5, 0);
    assert_int_equal(cfg->sink_batch_size, 10);
    assert_int_equal(cfg->sink_flush_ms, 50);

    assert_int_equal(cfg->ncameras, 2);
    const vigil_camera_conf_t *lobby = vigil_config_camera(cfg, "lobby");
    assert_non_null(lobby);
    assert_string_equal(lobby->name, "Front lobby");
    assert_string_equal(lobby->url, "rtsp://192.0.2.1/s");
    assert_float_equal(lobby->fps, 2.5, 0);
    assert_int_equal(lobby->enabled, 0);
    assert_int_equal(lobby->loop, 0);
    assert_float_equal(lobby->retention_hours, 48, 0);
    /* the second camera gets the camera defaults and an id by position */
    const vigil_camera_conf_t *second = &cfg->cameras[1];
    assert_string_equal(second->id, "cam1");
    assert_string_equal(second->name, "cam1");
    assert_string_equal(second->url, "sample");
    assert_float_equal(second->fps, 5, 0);
    assert_int_equal(second->enabled, 1);
    assert_int_equal(second->loop, 1);
    assert_true(second->retention_hours < 0);
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_OK);
}

static void test_config_example_file_loads_and_validates(void **state)
{
    vigil_config_t *cfg = *state;
    const char *src = getenv("VIGIL_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/config/vigil.example.yaml", src ? src : ".");
    if (access(path, R_OK) != 0) {
        print_message("config/vigil.example.yaml not found (set VIGIL_SOURCE_DIR)\n");
        skip();
    }
    if (vigil_config_load_file(cfg, path, err, sizeof(err)) != VIGIL_OK) fail_msg("%s", err);
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_OK);
    assert_true(cfg->ncameras >= 1);
}

static void test_config_load_file_missing_names_path(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_not_equal(vigil_config_load_file(cfg, "/nonexistent/vigil.yaml", err, sizeof(err)),
                         VIGIL_OK);
    assert_contains(err, "/nonexistent/vigil.yaml");
}

static void test_config_file_larger_than_the_cap_is_refused_unread(void **state)
{
    vigil_config_t *cfg = *state;
    char path[] = "/tmp/vigil-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    /* valid YAML (comments) one line past the cap: its size alone refuses it */
    const char *line = "# ..........................................................\n";
    size_t written = (size_t)fprintf(f, "log: { level: debug }\n");
    while (written <= VIGIL_CONFIG_FILE_MAX) written += (size_t)fprintf(f, "%s", line);
    assert_int_equal(fclose(f), 0);
    vigil_err_t e = vigil_config_load_file(cfg, path, err, sizeof(err));
    unlink(path);
    assert_int_equal(e, VIGIL_ERR_CONFIG);
    assert_contains(err, path);
    assert_contains(err, "larger than 4194304 bytes");
    assert_string_equal(cfg->log_level, "info"); /* nothing applied */
    char *big = malloc(VIGIL_CONFIG_FILE_MAX + 2);
    assert_non_null(big);
    memset(big, '#', VIGIL_CONFIG_FILE_MAX + 1);
    big[VIGIL_CONFIG_FILE_MAX + 1] = '\0';
    assert_int_equal(load(cfg, big), VIGIL_ERR_CONFIG);
    free(big);
    assert_contains(err, "too large");
}

static void test_config_duplicate_key_is_refused_naming_both_lines(void **state)
{
    vigil_config_t *cfg = *state;
    /* in a section: the last would have won */
    assert_int_equal(load(cfg, "bus:\n  partitions: 2\n  capacity: 64\n  partitions: 3\n"),
                     VIGIL_ERR_CONFIG);
    assert_string_equal(err, "test.yaml:4: key \"bus.partitions\": given twice, first on line 2 "
                             "(accepted: each key once in a mapping)");
    /* a section given twice, in flow and block style */
    assert_int_equal(load(cfg, "log: {level: debug}\nhttp:\n  listen: 127.0.0.1:0\nlog:\n"
                               "  level: warn\n"),
                     VIGIL_ERR_CONFIG);
    assert_contains(err, "test.yaml:4: key \"log\": given twice, first on line 1");
    /* a camera's key, and a zone's */
    assert_int_equal(load(cfg, "cameras:\n  - id: door\n    url: a.mp4\n    url: b.mp4\n"),
                     VIGIL_ERR_CONFIG);
    assert_contains(err, "test.yaml:4: key \"cameras[0].url\": given twice, first on line 3");
    assert_int_equal(load(cfg, "cameras:\n  - id: door\n    url: a.mp4\n    zones:\n"
                               "      - id: z\n        polygon: [[0, 0], [1, 0], [1, 1]]\n"
                               "        id: y\n"),
                     VIGIL_ERR_CONFIG);
    assert_contains(err,
                    "test.yaml:7: key \"cameras[0].zones[0].id\": given twice, first on line 5");
    /* the same key in two different mappings is fine */
    assert_int_equal(load(cfg, "cameras:\n  - {id: a, url: a.mp4}\n  - {id: b, url: b.mp4}\n"),
                     VIGIL_OK);
}

static void test_config_nesting_deeper_than_the_bound_is_refused_before_loading(void **state)
{
    vigil_config_t *cfg = *state;
    /* 100k levels of flow lists in 200 KB took libyaml 15 s to load and
     * refuse; the depth check stops at the first level too deep */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 16);
    assert_non_null(deep);
    size_t n = (size_t)sprintf(deep, "log: ");
    memset(deep + n, '[', depth);
    memset(deep + n + depth, ']', depth);
    deep[n + 2 * depth] = '\0';
    int64_t t0 = vigil_mono_us();
    assert_int_equal(load(cfg, deep), VIGIL_ERR_CONFIG);
    int64_t took_us = vigil_mono_us() - t0;
    free(deep);
    assert_contains(err, "test.yaml:1: lists and mappings nested deeper than 64 levels");
    /* loosely: the point is that it does not take seconds */
    if (took_us > 2000000) fail_msg("refusing took %lld us", (long long)took_us);
    /* 64 levels are a shape error, not a depth error; 65 are a depth error */
    char ok[256];
    n = (size_t)sprintf(ok, "log: ");
    memset(ok + n, '[', 63);
    memset(ok + n + 63, ']', 63);
    ok[n + 126] = '\0';
    assert_int_equal(load(cfg, ok), VIGIL_ERR_CONFIG); /* the top mapping is level 1 */
    assert_contains(err, "expected a mapping of settings");
    n = (size_t)sprintf(ok, "log: ");
    memset(ok + n, '[', 64);
    memset(ok + n + 64, ']', 64);
    ok[n + 128] = '\0';
    assert_int_equal(load(cfg, ok), VIGIL_ERR_CONFIG);
    assert_contains(err, "nested deeper than 64 levels");
    /* block style counts the same */
    char block[8192];
    n = 0;
    for (int i = 0; i < 70; i++) n += (size_t)sprintf(block + n, "%*sk%d:\n", 2 * i, "", i);
    assert_int_equal(load(cfg, block), VIGIL_ERR_CONFIG);
    assert_contains(err, "test.yaml:65: lists and mappings nested deeper than 64 levels");
}

static void test_config_unknown_key_names_file_line_key_and_accepted(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, "log:\n  level: info\nbus:\n  partitions: 2\n  partitons: 3\n"),
                     VIGIL_ERR_CONFIG);
    assert_string_equal(err, "test.yaml:5: key \"bus.partitons\": unknown key "
                             "(accepted: url, delivery, replication_factor, min_insync_replicas, "
                             "retention_hours, partitions, capacity)");
}

static void test_config_unknown_section_lists_sections(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, "\n\ncamera:\n  - url: x\n"), VIGIL_ERR_CONFIG);
    assert_contains(err, "test.yaml:3: key \"camera\": unknown section");
    assert_contains(err, "accepted: log, http, auth, grpc, push, bus, store, ingest, preprocess, infer, sink, search, "
                         "analytics, limits, cameras)");
}

static void test_config_unknown_camera_key_lists_camera_keys(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, "cameras:\n  - id: a\n    url: x\n  - id: b\n    uri: y\n"),
                     VIGIL_ERR_CONFIG);
    assert_contains(err, "test.yaml:5: key \"cameras[1].uri\": unknown key");
    assert_contains(err, "accepted: id, name, url, fps, enabled, loop, retention_hours, max_bytes, "
                         "zones, lines)");
}

static void test_config_bad_enum_names_values(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, "log:\n  level: loud\n"), VIGIL_ERR_CONFIG);
    assert_string_equal(err, "test.yaml:2: key \"log.level\": unknown value \"loud\" "
                             "(accepted: debug, info, warn, error)");
    assert_string_equal(cfg->log_level, "info"); /* unchanged */
}

static void test_config_out_of_range_int_names_range(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, "infer:\n  batch_size: 0\n"), VIGIL_ERR_CONFIG);
    assert_string_equal(err, "test.yaml:2: key \"infer.batch_size\": 0 is out of range "
                             "(accepted: an integer from 1 to 256)");
    assert_int_equal(load(cfg, "ingest:\n  jpeg_quality: high\n"), VIGIL_ERR_CONFIG);
    assert_contains(err, "key \"ingest.jpeg_quality\": \"high\" is not an integer");
    assert_contains(err, "accepted: an integer from 1 to 100");
    assert_int_equal(load(cfg, "bus:\n  capacity: 1.5\n"), VIGIL_ERR_CONFIG);
    assert_contains(err, "not an integer");
    assert_int_equal(cfg->bus_capacity, 256);
}

static void test_config_bad_double_and_bool_name_accepted(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, "preprocess:\n  motion_threshold: 1.5\n"), VIGIL_ERR_CONFIG);
    assert_contains(err, "test.yaml:2: key \"preprocess.motion_threshold\": 1.5 is out of range");
    assert_contains(err, "accepted: a number from 0 to 1");
    assert_int_equal(load(cfg, "preprocess:\n  motion_threshold: nan\n"), VIGIL_ERR_CONFIG);
    assert_int_equal(load(cfg, "ingest:\n  realtime: maybe\n"), VIGIL_ERR_CONFIG);
    assert_contains(err, "key \"ingest.realtime\": \"maybe\" is not a boolean");
    assert_contains(err, "accepted: true, false");
    assert_int_equal(load(cfg, "cameras:\n  - url: x\n    fps: -1\n"), VIGIL_ERR_CONFIG);
    assert_contains(err, "test.yaml:3: key \"cameras[0].fps\": -1 is out of range");
}

static void test_config_yaml_syntax_error_gives_line(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, "log:\n  level: info\nbus:\n  partitions: [1, 2\n"),
                     VIGIL_ERR_CONFIG);
    assert_contains(err, "test.yaml:");
    assert_contains(err, "yaml syntax error");
    /* a tab indentation error on line 3 */
    assert_int_equal(load(cfg, "log:\n  level: info\n\tbus: 1\n"), VIGIL_ERR_CONFIG);
    assert_contains(err, "test.yaml:3:");
}

static void test_config_wrong_shapes_are_errors(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, "- a\n- b\n"), VIGIL_ERR_CONFIG);
    assert_contains(err, "test.yaml:1:");
    assert_int_equal(load(cfg, "bus: 4\n"), VIGIL_ERR_CONFIG);
    assert_contains(err, "key \"bus\": expected a mapping");
    assert_int_equal(load(cfg, "bus:\n  partitions: [1]\n"), VIGIL_ERR_CONFIG);
    assert_contains(err, "key \"bus.partitions\": expected a single value");
    assert_int_equal(load(cfg, "cameras:\n  url: x\n"), VIGIL_ERR_CONFIG);
    assert_contains(err, "key \"cameras\": expected a list");
    assert_int_equal(load(cfg, "cameras:\n  - id: a\n"), VIGIL_ERR_CONFIG);
    assert_contains(err, "key \"cameras[0].url\": missing");
    assert_int_equal(load(cfg, "cameras:\n  - id: \"bad id\"\n    url: x\n"), VIGIL_ERR_CONFIG);
    assert_contains(err, "key \"cameras[0].id\": invalid camera id \"bad id\"");
}

static void test_config_empty_document_and_empty_sections_keep_defaults(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, ""), VIGIL_OK);
    assert_int_equal(load(cfg, "# only a comment\n"), VIGIL_OK);
    assert_int_equal(load(cfg, "bus:\nstore: ~\n"), VIGIL_OK);
    assert_int_equal(cfg->bus_partitions, 4);
}

static void test_config_yaml_cameras_replace_earlier_cameras(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(vigil_config_add_source(cfg, "a.mp4", err, sizeof(err)), VIGIL_OK);
    assert_int_equal(load(cfg, "cameras:\n  - {id: door, url: b.mp4}\n"), VIGIL_OK);
    assert_int_equal(cfg->ncameras, 1);
    assert_string_equal(cfg->cameras[0].id, "door");
    assert_null(vigil_config_camera(cfg, "cam0"));
}

static void test_config_env_overrides_and_ignores_other_vigil_vars(void **state)
{
    vigil_config_t *cfg = *state;
    setenv("VIGIL_INFER_BATCH_SIZE", "16", 1);
    setenv("VIGIL_PREPROCESS_MOTION_THRESHOLD", "0.02", 1);
    setenv("VIGIL_STORE_DATA_DIR", "/srv/vigil", 1);
    setenv("VIGIL_INGEST_REALTIME", "off", 1);
    setenv("VIGIL_MEDIA", "/somewhere", 1);    /* not a property: ignored */
    setenv("VIGIL_NO_SUCH_THING", "zzz", 1);    /* looks like one: still ignored */
    setenv("VIGIL_CAMERAS_FPS", "bad", 1);      /* cameras are not settable from env */
    vigil_err_t e = vigil_config_apply_env(cfg, err, sizeof(err));
    unsetenv("VIGIL_INFER_BATCH_SIZE");
    unsetenv("VIGIL_PREPROCESS_MOTION_THRESHOLD");
    unsetenv("VIGIL_STORE_DATA_DIR");
    unsetenv("VIGIL_INGEST_REALTIME");
    unsetenv("VIGIL_NO_SUCH_THING");
    unsetenv("VIGIL_CAMERAS_FPS");
    if (e != VIGIL_OK) fail_msg("%s", err);
    assert_int_equal(cfg->infer_batch_size, 16);
    assert_float_equal(cfg->preprocess_motion_threshold, 0.02, 1e-12);
    assert_string_equal(cfg->data_dir, "/srv/vigil");
    assert_int_equal(cfg->ingest_realtime, 0);
}

static void test_config_env_bad_value_names_variable(void **state)
{
    vigil_config_t *cfg = *state;
    setenv("VIGIL_BUS_PARTITIONS", "many", 1);
    vigil_err_t e = vigil_config_apply_env(cfg, err, sizeof(err));
    unsetenv("VIGIL_BUS_PARTITIONS");
    assert_int_equal(e, VIGIL_ERR_CONFIG);
    assert_contains(err, "env VIGIL_BUS_PARTITIONS: key \"bus.partitions\": \"many\" is not an "
                         "integer (accepted: an integer from 1 to 256)");
    assert_int_equal(cfg->bus_partitions, 4);
}

static void test_config_set_by_dotted_name(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(vigil_config_set(cfg, "infer.batch_size", "8", "--set", err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(cfg->infer_batch_size, 8);
    assert_int_equal(vigil_config_set(cfg, "http.listen", "[::1]:0", NULL, err, sizeof(err)),
                     VIGIL_OK);
    assert_string_equal(cfg->http_listen, "[::1]:0");
    assert_int_equal(vigil_config_set(cfg, "log.level", "warn", NULL, err, sizeof(err)), VIGIL_OK);
    assert_string_equal(cfg->log_level, "warn");

    assert_int_equal(vigil_config_set(cfg, "infer.batchsize", "8", "--set", err, sizeof(err)),
                     VIGIL_ERR_CONFIG);
    assert_contains(err, "--set: key \"infer.batchsize\": unknown key (accepted: model, workers, "
                         "batch_size, batch_timeout_ms, threads, min_score)");
    assert_int_equal(vigil_config_set(cfg, "http.listen", "8080", NULL, err, sizeof(err)),
                     VIGIL_ERR_CONFIG);
    assert_contains(err, "key \"http.listen\": \"8080\" is not HOST:PORT");
    assert_int_equal(vigil_config_set(cfg, "http.listen", "h:70000", NULL, err, sizeof(err)),
                     VIGIL_ERR_CONFIG);
    assert_string_equal(cfg->http_listen, "[::1]:0");
}

static void test_config_set_camera_property_by_id_or_index(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, "cameras:\n  - {id: lobby, url: x}\n  - {id: door, url: y}\n"),
                     VIGIL_OK);
    assert_int_equal(vigil_config_set(cfg, "cameras[door].fps", "1", NULL, err, sizeof(err)),
                     VIGIL_OK);
    assert_float_equal(vigil_config_camera(cfg, "door")->fps, 1, 0);
    assert_int_equal(vigil_config_set(cfg, "cameras[0].enabled", "false", NULL, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_config_camera(cfg, "lobby")->enabled, 0);
    assert_int_equal(vigil_config_set(cfg, "cameras[hall].fps", "1", NULL, err, sizeof(err)),
                     VIGIL_ERR_CONFIG);
    assert_contains(err, "no camera \"hall\" (accepted: lobby, door)");
}

static void test_config_add_source_derives_unique_ids(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(vigil_config_add_source(cfg, "sample", err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_config_add_source(cfg, "/tmp/a.mp4", err, sizeof(err)), VIGIL_OK);
    assert_int_equal(cfg->ncameras, 2);
    assert_string_equal(cfg->cameras[0].id, "cam0");
    assert_string_equal(cfg->cameras[0].url, "sample");
    assert_string_equal(cfg->cameras[0].name, "cam0");
    assert_float_equal(cfg->cameras[0].fps, 5, 0);
    assert_string_equal(cfg->cameras[1].id, "cam1");
    /* ids stay unique when a camera already holds the next number */
    assert_int_equal(vigil_config_set(cfg, "cameras[cam0].id", "cam2", NULL, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_config_add_source(cfg, "c.mp4", err, sizeof(err)), VIGIL_OK);
    assert_string_equal(cfg->cameras[2].id, "cam0");
    assert_int_equal(vigil_config_add_source(cfg, "d.mp4", err, sizeof(err)), VIGIL_OK);
    assert_string_equal(cfg->cameras[3].id, "cam3");
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_OK);
    assert_int_not_equal(vigil_config_add_source(cfg, "", err, sizeof(err)), VIGIL_OK);
}

static void test_config_add_source_rejects_more_than_max(void **state)
{
    vigil_config_t *cfg = *state;
    for (int i = 0; i < VIGIL_CAMERAS_MAX; i++)
        assert_int_equal(vigil_config_add_source(cfg, "sample", err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_config_add_source(cfg, "sample", err, sizeof(err)), VIGIL_ERR_CONFIG);
    assert_contains(err, "too many cameras");
    assert_int_equal(cfg->ncameras, VIGIL_CAMERAS_MAX);
}

static void test_config_validate_rejects_duplicate_camera_ids(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, "cameras:\n  - {id: lobby, url: x}\n  - {id: lobby, url: y}\n"),
                     VIGIL_OK);
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_ERR_CONFIG);
    assert_contains(err, "camera \"lobby\"");
    assert_contains(err, "duplicate camera id");
}

static void test_config_validate_checks_cross_field_rules(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, "ingest:\n  reconnect_min_ms: 5000\n  reconnect_max_ms: 1000\n"),
                     VIGIL_OK);
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_ERR_CONFIG);
    assert_contains(err, "ingest.reconnect_min_ms");
    cfg->ingest_reconnect_min_ms = 1000;
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_OK);
    /* a listen address set around the setter is still checked */
    free(cfg->http_listen);
    cfg->http_listen = strdup("localhost");
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_ERR_CONFIG);
    assert_contains(err, "http.listen");
}

/* A frame budget smaller than one frame may be would make the sweeper delete
 * every frame at each sweep: refused at start, naming the key. */
static void test_config_frame_budget_smaller_than_one_frame_is_refused(void **state)
{
    vigil_config_t *cfg = *state;
    assert_int_equal(load(cfg, "store:\n  max_bytes: 1000\n"), VIGIL_OK);
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_ERR_CONFIG);
    assert_string_equal(err, "key \"store.max_bytes\": 1000 bytes is smaller than one frame may "
                             "be (accepted: 0 for no bound, or at least 1048576)");
    assert_int_equal(load(cfg, "store:\n  max_bytes: 1048576\n"), VIGIL_OK);
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(load(cfg, "store:\n  max_bytes: 0\ncameras:\n  - id: gate\n    url: sample\n"
                               "    max_bytes: 65536\n"),
                     VIGIL_OK);
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_ERR_CONFIG);
    assert_string_equal(err, "camera \"gate\": key \"cameras[0].max_bytes\": 65536 bytes is "
                             "smaller than one frame may be (accepted: 0 for no bound, or at "
                             "least 1048576)");
    cfg->cameras[0].max_bytes = 5e9;
    assert_int_equal(vigil_config_validate(cfg, err, sizeof(err)), VIGIL_OK);
    /* negative sizes never reach validation */
    assert_int_equal(load(cfg, "store:\n  max_bytes: -5\n"), VIGIL_ERR_CONFIG);
    assert_contains(err, "store.max_bytes");
}

static void test_config_docs_markdown_lists_every_property(void **state)
{
    char *md = vigil_config_docs_markdown();
    char env[128];
    assert_non_null(md);
    assert_contains(md, "# Configuration");
    assert_contains(md, "```yaml");
    assert_contains(md, "VIGIL_<SECTION>_<KEY>");
    assert_contains(md, "| key | type | default | range / values | environment | description |");
    for (const vigil_prop_t *p = vigil_props; p->name; p++) {
        char cell[160];
        snprintf(cell, sizeof(cell), "| `%s` |", p->name);
        assert_contains(md, cell);
        if (strncmp(p->name, "cameras[]", 9) == 0) continue;
        /* its environment variable */
        size_t n = (size_t)snprintf(env, sizeof(env), "`VIGIL_");
        for (const char *c = p->name; *c; c++)
            env[n++] = *c == '.' ? '_' : (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
        env[n++] = '`';
        env[n] = '\0';
        assert_contains(md, env);
    }
    assert_contains(md, "`debug`, `info`, `warn`, `error`");
    free(md);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_config_init_sets_documented_defaults),
        T(test_config_props_table_defaults_parse_and_describe),
        T(test_config_load_full_yaml_sets_every_section),
        T(test_config_example_file_loads_and_validates),
        T(test_config_load_file_missing_names_path),
        T(test_config_file_larger_than_the_cap_is_refused_unread),
        T(test_config_duplicate_key_is_refused_naming_both_lines),
        T(test_config_nesting_deeper_than_the_bound_is_refused_before_loading),
        T(test_config_unknown_key_names_file_line_key_and_accepted),
        T(test_config_unknown_section_lists_sections),
        T(test_config_unknown_camera_key_lists_camera_keys),
        T(test_config_bad_enum_names_values),
        T(test_config_out_of_range_int_names_range),
        T(test_config_bad_double_and_bool_name_accepted),
        T(test_config_yaml_syntax_error_gives_line),
        T(test_config_wrong_shapes_are_errors),
        T(test_config_empty_document_and_empty_sections_keep_defaults),
        T(test_config_yaml_cameras_replace_earlier_cameras),
        T(test_config_env_overrides_and_ignores_other_vigil_vars),
        T(test_config_env_bad_value_names_variable),
        T(test_config_set_by_dotted_name),
        T(test_config_set_camera_property_by_id_or_index),
        T(test_config_add_source_derives_unique_ids),
        T(test_config_add_source_rejects_more_than_max),
        T(test_config_validate_rejects_duplicate_camera_ids),
        T(test_config_validate_checks_cross_field_rules),
        T(test_config_frame_budget_smaller_than_one_frame_is_refused),
        T(test_config_docs_markdown_lists_every_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
