/* Fixture and runner of the store conformance suite (see
 * store_conformance.h): a fresh temp dir and store per case, run-unique
 * camera ids, and small helpers the case files share. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_conformance.h"
#include "vigil/redact.h"

static const char *cs_backend_url = "sqlite";
int (*cs_fresh_url)(char *url, size_t size);
static unsigned cs_case_counter;
static char cs_run_id[24];

const char *cs_url(void)
{
    return cs_backend_url;
}

int cs_is_sqlite(void)
{
    return strcmp(cs_backend_url, "sqlite") == 0 || strncmp(cs_backend_url, "sqlite:", 7) == 0;
}

const char *cs_camera(cs_ctx_t *ctx, const char *suffix, char *out)
{
    (void)ctx;
    snprintf(out, 64, "%s-%u-%s", cs_run_id, cs_case_counter, suffix);
    return out;
}

vigil_store_t *cs_open(cs_ctx_t *ctx, int migrate, char *errstr, size_t errstr_size)
{
    vigil_store_conf_t conf;
    vigil_store_conf_init(&conf);
    conf.url = ctx->url;
    conf.data_dir = ctx->data_dir;
    conf.busy_timeout_ms = 30000; /* sanitizer builds on a loaded machine are slow */
    conf.migrate = migrate;
    return vigil_store_open(&conf, errstr, errstr_size);
}

void cs_fill_bytes(void *buf, size_t len, uint32_t seed)
{
    unsigned char *p = buf;
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
    if (len >= 2) {
        p[0] = 0xff; /* looks like a JPEG to a human with a hex dump */
        p[1] = 0xd8;
    }
}

vigil_detection_row_t cs_detection(const char *camera, uint64_t seq, const char *model, int idx,
                                   const char *label, float score, int64_t t_us)
{
    vigil_detection_row_t d;
    memset(&d, 0, sizeof(d));
    snprintf(d.camera_id, sizeof(d.camera_id), "%s", camera);
    d.sequence = seq;
    d.capture_time_us = t_us;
    snprintf(d.model, sizeof(d.model), "%s", model);
    d.idx = idx;
    snprintf(d.label, sizeof(d.label), "%s", label);
    d.score = score;
    d.x1 = 1.5f + (float)idx;
    d.y1 = 2.25f;
    d.x2 = 100.0f + (float)idx;
    d.y2 = 200.5f;
    return d;
}

vigil_frame_row_t cs_frame(const char *camera, uint64_t seq, int64_t t_us)
{
    vigil_frame_row_t f;
    memset(&f, 0, sizeof(f));
    snprintf(f.camera_id, sizeof(f.camera_id), "%s", camera);
    f.sequence = seq;
    f.capture_time_us = t_us;
    f.width = 640;
    f.height = 480;
    f.motion_score = 0.25f;
    f.keyframe = (int)(seq % 2);
    return f;
}

static const char *cs_walk_part;
static int cs_walk_count;

static int cs_walk_count_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    if (type == FTW_F) {
        const char *base = path + ftw->base;
        if (!cs_walk_part || strstr(base, cs_walk_part)) cs_walk_count++;
    }
    return 0;
}

int cs_count_files(const char *dir, const char *part)
{
    cs_walk_part = part;
    cs_walk_count = 0;
    if (nftw(dir, cs_walk_count_cb, 16, FTW_PHYS) != 0 && errno != ENOENT) return -1;
    return cs_walk_count;
}

int cs_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int cs_rm_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DP || type == FTW_D)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

int cs_setup(void **state)
{
    cs_ctx_t *ctx = calloc(1, sizeof(*ctx));
    if (!ctx) return -1;
    cs_case_counter++;
    const char *base = getenv("TMPDIR");
    snprintf(ctx->tmp, sizeof(ctx->tmp), "%s/vigil-store-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(ctx->tmp)) {
        print_error("mkdtemp %s: %s\n", ctx->tmp, strerror(errno));
        free(ctx);
        return -1;
    }
    snprintf(ctx->data_dir, sizeof(ctx->data_dir), "%s/data", ctx->tmp);
    if (strcmp(cs_backend_url, "sqlite") == 0)
        snprintf(ctx->url, sizeof(ctx->url), "sqlite");
    else if (cs_is_sqlite())
        snprintf(ctx->url, sizeof(ctx->url), "sqlite:%s/vigil.db", ctx->tmp);
    else
        snprintf(ctx->url, sizeof(ctx->url), "%s", cs_backend_url);
    char err[512] = "";
    ctx->store = cs_open(ctx, 1, err, sizeof(err));
    if (!ctx->store) {
        char shown[PATH_MAX]; /* a server url carries its password */
        vigil_url_redact(ctx->url, shown, sizeof(shown));
        print_error("cannot open store %s in %s: %s\n", shown, ctx->data_dir, err);
        nftw(ctx->tmp, cs_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
        free(ctx);
        return -1;
    }
    *state = ctx;
    return 0;
}

int cs_teardown(void **state)
{
    cs_ctx_t *ctx = *state;
    if (!ctx) return 0;
    vigil_store_close(ctx->store);
    if (ctx->mount[0]) umount2(ctx->mount, MNT_DETACH);
    /* make everything removable again (cases chmod things) */
    chmod(ctx->data_dir, 0755);
    nftw(ctx->tmp, cs_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(ctx);
    return 0;
}

#define CS_CASE(f) cmocka_unit_test_setup_teardown(f, cs_setup, cs_teardown)

int vigil_store_conformance_run(const char *group_name, const char *url)
{
    if (url && *url) cs_backend_url = url;
    snprintf(cs_run_id, sizeof(cs_run_id), "c%lx-%lx", (unsigned long)getpid() & 0xfffff,
             (unsigned long)time(NULL) & 0xffffff);
    const struct CMUnitTest tests[] = {
        CS_CASE(test_store_open_creates_schema_at_expected_version),
        CS_CASE(test_store_reopen_without_migrate_on_current_schema_opens),
        CS_CASE(test_store_fresh_store_without_migrate_is_refused_with_migrate_hint),
        CS_CASE(test_store_unknown_url_scheme_is_refused_listing_accepted_schemes),
        CS_CASE(test_store_camera_upsert_list_and_status),
        CS_CASE(test_store_frame_put_get_read_round_trip_at_documented_path),
        CS_CASE(test_store_frame_put_same_key_twice_keeps_one_row_and_one_file),
        CS_CASE(test_store_frame_get_unknown_id_is_not_found),
        CS_CASE(test_store_frame_put_into_unwritable_dir_fails_without_row_or_temp_file),
        CS_CASE(test_store_frame_put_on_full_disk_fails_with_full_and_keeps_old_frames),
        CS_CASE(test_store_concurrent_puts_of_same_frame_keep_one_row_and_file),
        CS_CASE(test_store_detections_put_same_batch_twice_inserts_nothing_second_time),
        CS_CASE(test_store_detections_partial_overlap_inserts_only_new_rows),
        CS_CASE(test_store_detections_query_filters_match_brute_force),
        CS_CASE(test_store_detections_pagination_covers_every_row_once_newest_first),
        CS_CASE(test_store_detections_query_rejects_bad_limit),
        CS_CASE(test_store_threads_with_own_handles_write_detections_concurrently_all_land),
        CS_CASE(test_store_sweep_deletes_old_rows_and_files_keeps_new_and_other_cameras),
        CS_CASE(test_store_counts_per_camera_and_all),
        CS_CASE(test_store_counts_follow_commits_of_another_handle),
        CS_CASE(test_store_analytics_commit_and_query_round_trip),
        CS_CASE(test_store_analytics_open_event_then_closed_is_one_row_with_the_same_id),
        CS_CASE(test_store_analytics_stale_event_report_does_not_roll_back),
        CS_CASE(test_store_analytics_same_batch_twice_leaves_the_same_rows),
        CS_CASE(test_store_analytics_counts_keep_the_largest_value_per_column),
        CS_CASE(test_store_analytics_counts_by_minute_hour_day_and_totals),
        CS_CASE(test_store_analytics_counts_query_refuses_bad_buckets_and_too_many_rows),
        CS_CASE(test_store_analytics_events_query_filters_and_order_match_brute_force),
        CS_CASE(test_store_analytics_events_pagination_across_equal_start_times),
        CS_CASE(test_store_analytics_events_query_rejects_bad_limit),
        CS_CASE(test_store_analytics_state_is_replaced_only_by_a_larger_sequence),
        CS_CASE(test_store_analytics_not_found_cases),
        CS_CASE(test_store_analytics_failing_batch_leaves_nothing_of_the_commit),
        CS_CASE(test_store_analytics_sweep_deletes_closed_events_clips_points_and_minutes),
        CS_CASE(test_store_frames_range_oldest_first_bounded),
        CS_CASE(test_store_clip_path_is_under_the_data_dir_and_refuses_bad_ids),
        CS_CASE(test_store_ids_are_never_reused_after_a_sweep_empties_the_tables),
        CS_CASE(test_store_results_mark_frames_processed_and_keep_the_first_inference),
        CS_CASE(test_store_frames_unprocessed_lists_frames_without_results_oldest_first),
        CS_CASE(test_store_frame_usage_follows_puts_repeats_and_age_sweeps),
        CS_CASE(test_store_budget_sweep_deletes_the_oldest_frames_first_with_their_files),
        CS_CASE(test_store_budget_per_camera_first_then_the_globally_oldest),
        CS_CASE(test_store_budget_sweep_keeps_the_frames_events_need),
        CS_CASE(test_store_budget_smaller_than_one_frame_is_refused_and_deletes_nothing),
        CS_CASE(test_store_budget_sweep_never_lets_frame_ids_be_reused),
    };
    return _cmocka_run_group_tests(group_name, tests, sizeof(tests) / sizeof(tests[0]), NULL,
                                   NULL);
}
