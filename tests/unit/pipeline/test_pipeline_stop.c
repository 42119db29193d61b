/* The embedded pipeline's draining stop: whatever ingest published before
 * the stop is in the warehouse (or counted as gated/failed) when
 * vigil_pipeline_stop returns, and each detection row is there once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit/preprocess/stages_support.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/pipeline.h"
#include "vigil/source.h"

static char *sample_video(void)
{
    char err[256];
    char *path = vigil_source_resolve("sample", err, sizeof err);
    if (!path) {
        print_message("skipping: %s\n", err);
        return NULL;
    }
    return path;
}

static void run_and_stop(int stop_after_frames, int workers)
{
    char *video = sample_video();
    if (!video) skip();
    char *dir = vt_tmpdir();
    vigil_config_t cfg;
    char err[512], value[16];
    vt_config(&cfg, dir);
    snprintf(value, sizeof value, "%d", workers);
    assert_int_equal(vigil_config_set(&cfg, "ingest.realtime", "false", "test", err, sizeof err), 0);
    assert_int_equal(vigil_config_set(&cfg, "preprocess.workers", value, "test", err, sizeof err), 0);
    assert_int_equal(vigil_config_set(&cfg, "infer.workers", value, "test", err, sizeof err), 0);
    assert_int_equal(vigil_config_set(&cfg, "bus.capacity", "8", "test", err, sizeof err), 0);
    assert_int_equal(vigil_config_add_source(&cfg, video, err, sizeof err), 0);
    assert_int_equal(vigil_config_add_source(&cfg, video, err, sizeof err), 0);
    cfg.cameras[0].fps = cfg.cameras[1].fps = 0;
    cfg.cameras[0].loop = cfg.cameras[1].loop = 0;
    vigil_metrics_reset();

    vigil_pipeline_t *p =
        vigil_pipeline_new(&cfg, VIGIL_STAGE_ALL & ~VIGIL_STAGE_API, err, sizeof err);
    assert_non_null(p);
    assert_int_equal(vigil_pipeline_start(p, err, sizeof err), VIGIL_OK);
    int64_t deadline = vigil_mono_us() + 120 * 1000000LL;
    while (vt_stage_count("vigil_stage_out_total", "ingest", NULL) < (uint64_t)stop_after_frames &&
           !vigil_pipeline_finished(p) && vigil_mono_us() < deadline)
        vigil_sleep_us(1000);
    vigil_pipeline_stop(p, 60000);

    uint64_t ingested = vt_stage_count("vigil_stage_out_total", "ingest", NULL);
    uint64_t stored = vt_stage_count("vigil_stage_out_total", "preprocess", NULL);
    uint64_t gated = vt_stage_count("vigil_stage_dropped_total", "preprocess", NULL);
    uint64_t failed = vt_stage_count("vigil_stage_failed_total", "preprocess", NULL);
    uint64_t inferred = vt_stage_count("vigil_stage_out_total", "infer", NULL);
    uint64_t sunk = vt_stage_count("vigil_stage_in_total", "sink", NULL);
    uint64_t rows = vt_stage_count("vigil_stage_out_total", "sink", NULL);
    print_message("ingested %llu stored %llu gated %llu failed %llu inferred %llu sunk %llu\n",
                  (unsigned long long)ingested, (unsigned long long)stored,
                  (unsigned long long)gated, (unsigned long long)failed,
                  (unsigned long long)inferred, (unsigned long long)sunk);
    assert_true(ingested >= (uint64_t)stop_after_frames);
    assert_int_equal(failed, 0);
    assert_int_equal(stored + gated, ingested);
    assert_int_equal(inferred, stored);
    assert_int_equal(sunk, inferred);

    vigil_store_t *store = vt_store(&cfg);
    vigil_store_counts_t counts;
    assert_int_equal(vigil_store_counts(store, NULL, &counts), VIGIL_OK);
    assert_int_equal(counts.frames, (int64_t)stored);
    assert_int_equal(counts.detections, (int64_t)rows);
    assert_true(counts.detections > 0);
    vigil_store_close(store);

    vigil_pipeline_free(p);
    vigil_config_release(&cfg);
    vt_rmtree(dir);
    free(dir);
    free(video);
}

static void test_pipeline_stop_mid_stream_drains_every_queue(void **state)
{
    run_and_stop(150, 1);
}

static void test_pipeline_stop_with_several_workers_drains_every_queue(void **state)
{
    run_and_stop(300, 2);
}

int main(void)
{
    vigil_log_set_level(VIGIL_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_stop_mid_stream_drains_every_queue),
        cmocka_unit_test(test_pipeline_stop_with_several_workers_drains_every_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
