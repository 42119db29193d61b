/* The retention sweeper's byte budgets (src/sink/retention_budget.c): a
 * sweep after the age sweep brings the frame store under store.max_bytes
 * and cameras[].max_bytes, oldest first; the metrics show use and budget; a
 * budget smaller than one frame (set around the configuration's check) is a
 * precise error on /healthz and deletes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sink/retention.h"
#include "unit/preprocess/stages_support.h"
#include "vigil/clock.h"
#include "vigil/health.h"
#include "vigil/metrics.h"

#define KB 1024
#define FRAME (100 * KB)

typedef struct fixture {
    char *dir;
    vigil_config_t cfg;
    vigil_store_t *store;
} fixture_t;

static int setup(void **state)
{
    char err[256] = "";
    fixture_t *f = calloc(1, sizeof *f);
    f->dir = vt_tmpdir();
    vt_config(&f->cfg, f->dir);
    assert_int_equal(vigil_config_load_string(&f->cfg,
                                               "cameras:\n"
                                               "  - {id: front, url: sample, max_bytes: 1048576}\n"
                                               "  - {id: back, url: sample}\n",
                                               "test", err, sizeof err),
                     VIGIL_OK);
    f->store = vt_store(&f->cfg);
    vigil_health_reset();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    vigil_store_close(f->store);
    vigil_config_release(&f->cfg);
    vt_rmtree(f->dir);
    free(f->dir);
    free(f);
    vigil_health_reset();
    return 0;
}

static void put(fixture_t *f, const char *cam, uint64_t seq, int64_t t)
{
    char err[256] = "";
    static uint8_t jpeg[FRAME];
    vigil_frame_row_t fr = {0};
    snprintf(fr.camera_id, sizeof fr.camera_id, "%s", cam);
    fr.sequence = seq;
    fr.capture_time_us = t;
    memset(jpeg, (int)seq, sizeof jpeg);
    if (vigil_store_frame_put(f->store, &fr, jpeg, sizeof jpeg, err, sizeof err) != VIGIL_OK)
        fail_msg("frame_put: %s", err);
}

static int64_t frames_of(fixture_t *f, const char *cam)
{
    vigil_store_counts_t c;
    assert_int_equal(vigil_store_counts(f->store, cam, &c), VIGIL_OK);
    return c.frames;
}

static int64_t gauge(const char *family, const char *camera)
{
    return vigil_gauge_value(
        vigil_metrics_gauge(family, "x", camera ? "camera" : NULL, camera, NULL, NULL));
}

static void test_retention_budget_sweeps_each_camera_then_the_store_oldest_first(void **state)
{
    fixture_t *f = *state;
    char err[256] = "";
    int64_t now = vigil_now_us();
    /* front: 16 frames of 100 KiB (its budget: 1 MiB); back: 16 older ones */
    for (uint64_t s = 1; s <= 16; s++) {
        put(f, "back", s, now - 100000000 + (int64_t)s * 1000);
        put(f, "front", s, now - 50000000 + (int64_t)s * 1000);
    }
    f->cfg.store_max_bytes = 2 * 1048576;
    vigil_retention_t *ret = vigil__retention_new(&f->cfg, err, sizeof err);
    if (!ret) fail_msg("retention: %s", err);
    vigil_sweep_result_t total = {0};
    assert_int_equal(vigil__retention_sweep_once(ret, now, &total), VIGIL_OK);
    vigil__retention_free(ret);
    /* front: down to 95% of 1 MiB = 9 frames; then the store: 9 + 16 frames
     * of 100 KiB over 2 MiB, down to 95% of it (19 frames): back's oldest go */
    assert_int_equal(frames_of(f, "front"), 9);
    assert_int_equal(frames_of(f, "back"), 10);
    assert_int_equal(total.frames_deleted, 7 + 6);
    assert_int_equal(total.files_deleted, 13);
    assert_int_equal(gauge("vigil_frame_store_all_bytes", NULL), 19 * FRAME);
    assert_int_equal(gauge("vigil_frame_store_bytes", "front"), 9 * FRAME);
    assert_int_equal(gauge("vigil_frame_store_budget_bytes", "front"), 1048576);
    assert_int_equal(gauge("vigil_frame_store_all_budget_bytes", NULL), 2 * 1048576);
    assert_int_equal(vigil_health_level(NULL, 0), VIGIL_HEALTH_OK);
    /* back's newest are the ones left */
    vigil_frame_row_t *rows = NULL;
    size_t n = 0;
    assert_int_equal(vigil_store_frames_range(f->store, "back", 0, INT64_MAX, 100, &rows, &n),
                     VIGIL_OK);
    assert_int_equal(n, 10);
    assert_int_equal(rows[0].sequence, 7);
    free(rows);
}

static void test_retention_budget_smaller_than_one_frame_is_a_health_error_and_deletes_nothing(
    void **state)
{
    fixture_t *f = *state;
    char err[256] = "", why[512] = "";
    int64_t now = vigil_now_us();
    for (uint64_t s = 1; s <= 4; s++) put(f, "back", s, now - 1000000 + (int64_t)s);
    /* around the configuration's check (which refuses it at start) */
    f->cfg.store_max_bytes = 50 * KB;
    vigil_retention_t *ret = vigil__retention_new(&f->cfg, err, sizeof err);
    if (!ret) fail_msg("retention: %s", err);
    uint64_t errors0 = vigil_counter_value(vigil_metrics_counter(
        "vigil_retention_budget_errors_total", "x", NULL, NULL, NULL, NULL));
    assert_int_equal(vigil__retention_sweep_once(ret, now, NULL), VIGIL_OK);
    assert_int_equal(vigil__retention_sweep_once(ret, now, NULL), VIGIL_OK);
    vigil__retention_free(ret);
    assert_int_equal(frames_of(f, "back"), 4);
    assert_int_equal(vigil_health_level(why, sizeof why), VIGIL_HEALTH_DEGRADED);
    if (!strstr(why, "budget of the whole frame store (51200 bytes) is smaller than one frame "
                     "(102400 bytes on average over 4)"))
        fail_msg("health: %s", why);
    assert_int_equal(vigil_counter_value(vigil_metrics_counter(
                         "vigil_retention_budget_errors_total", "x", NULL, NULL, NULL, NULL)),
                     errors0 + 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_retention_budget_sweeps_each_camera_then_the_store_oldest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_retention_budget_smaller_than_one_frame_is_a_health_error_and_deletes_nothing,
            setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
