/* The store conformance suite: cases written against include/vigil/store.h
 * only, run by one small main per backend (test_store_conformance_*.c).
 *
 * Each case gets a fresh temp directory (the frame data dir and, for sqlite,
 * the database) and camera ids unique to the run, so that the same cases can
 * run against a shared PostgreSQL database without seeing each other's rows.
 * Times of rows that a sweep of every camera may delete are in 1971; every
 * other case writes rows in 2026, so a shared database is never swept by
 * accident. */
#ifndef VIGIL_TEST_STORE_CONFORMANCE_H
#define VIGIL_TEST_STORE_CONFORMANCE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/store.h"

/* Runs every case against url: "sqlite" (database in each case's data dir),
 * "sqlite:ANYTHING" (replaced by sqlite:TMP/vigil.db per case), or a server
 * url used as is. Returns cmocka's result (0 = all passed). */
int vigil_store_conformance_run(const char *group_name, const char *url);

/* --- fixture, for the case files -------------------------------------- */

typedef struct cs_ctx {
    char tmp[1024];          /* per-case temp dir, removed afterwards */
    char data_dir[PATH_MAX]; /* tmp/data */
    char url[PATH_MAX];      /* the url this case opens */
    vigil_store_t *store;    /* opened with migrate = 1 */
    char mount[PATH_MAX];    /* a tmpfs this case mounted (unmounted in teardown) */
} cs_ctx_t;

/* 2026-09-01T00:00:00Z: rows of ordinary cases are written after it. */
#define CS_T0 INT64_C(1788220800000000)
/* 1971-01-01T00:00:00Z: rows of the sweep case. */
#define CS_OLD INT64_C(31536000000000)

/* The backend url under test (for cases that open more handles). */
const char *cs_url(void);
/* Whether the url is a sqlite one (a fresh database per case). */
int cs_is_sqlite(void);
/* Set by a server backend's main (NULL otherwise): writes into url the url
 * of an empty database (no schema) on the same server; 0 or -1. */
extern int (*cs_fresh_url)(char *url, size_t size);
/* A camera id unique to this run and case: "<run>-<suffix>" in out (64). */
const char *cs_camera(cs_ctx_t *ctx, const char *suffix, char *out);
/* Opens another handle on the case's store. */
vigil_store_t *cs_open(cs_ctx_t *ctx, int migrate, char *errstr, size_t errstr_size);
/* Deterministic pseudo-JPEG bytes (the store does not decode them). */
void cs_fill_bytes(void *buf, size_t len, uint32_t seed);
/* A detection row with the given key fields. */
vigil_detection_row_t cs_detection(const char *camera, uint64_t seq, const char *model, int idx,
                                   const char *label, float score, int64_t t_us);
/* A frame row for camera/sequence at t_us. */
vigil_frame_row_t cs_frame(const char *camera, uint64_t seq, int64_t t_us);
/* Number of regular files under dir (recursively) whose name contains
 * `part` (NULL = all). */
int cs_count_files(const char *dir, const char *part);
/* Whether path exists. */
int cs_exists(const char *path);

int cs_setup(void **state);
int cs_teardown(void **state);

/* --- the cases (store_cases_*_support.c) ------------------------------ */
void test_store_open_creates_schema_at_expected_version(void **state);
void test_store_reopen_without_migrate_on_current_schema_opens(void **state);
void test_store_fresh_store_without_migrate_is_refused_with_migrate_hint(void **state);
void test_store_unknown_url_scheme_is_refused_listing_accepted_schemes(void **state);
void test_store_camera_upsert_list_and_status(void **state);
void test_store_counts_follow_commits_of_another_handle(void **state);
void test_store_frame_put_get_read_round_trip_at_documented_path(void **state);
void test_store_frame_put_same_key_twice_keeps_one_row_and_one_file(void **state);
void test_store_frame_get_unknown_id_is_not_found(void **state);
void test_store_frame_put_into_unwritable_dir_fails_without_row_or_temp_file(void **state);
void test_store_frame_put_on_full_disk_fails_with_full_and_keeps_old_frames(void **state);
void test_store_concurrent_puts_of_same_frame_keep_one_row_and_file(void **state);
void test_store_detections_put_same_batch_twice_inserts_nothing_second_time(void **state);
void test_store_detections_partial_overlap_inserts_only_new_rows(void **state);
void test_store_detections_query_filters_match_brute_force(void **state);
void test_store_detections_pagination_covers_every_row_once_newest_first(void **state);
void test_store_detections_query_rejects_bad_limit(void **state);
void test_store_threads_with_own_handles_write_detections_concurrently_all_land(void **state);
void test_store_sweep_deletes_old_rows_and_files_keeps_new_and_other_cameras(void **state);
void test_store_counts_per_camera_and_all(void **state);
/* store_cases_analytics_support.c */
void test_store_analytics_commit_and_query_round_trip(void **state);
void test_store_analytics_open_event_then_closed_is_one_row_with_the_same_id(void **state);
void test_store_analytics_stale_event_report_does_not_roll_back(void **state);
void test_store_analytics_same_batch_twice_leaves_the_same_rows(void **state);
void test_store_analytics_counts_keep_the_largest_value_per_column(void **state);
void test_store_analytics_counts_by_minute_hour_day_and_totals(void **state);
void test_store_analytics_counts_query_refuses_bad_buckets_and_too_many_rows(void **state);
void test_store_analytics_events_query_filters_and_order_match_brute_force(void **state);
void test_store_analytics_events_pagination_across_equal_start_times(void **state);
void test_store_analytics_events_query_rejects_bad_limit(void **state);
void test_store_analytics_state_is_replaced_only_by_a_larger_sequence(void **state);
void test_store_analytics_not_found_cases(void **state);
void test_store_analytics_failing_batch_leaves_nothing_of_the_commit(void **state);
void test_store_analytics_sweep_deletes_closed_events_clips_points_and_minutes(void **state);
void test_store_frames_range_oldest_first_bounded(void **state);
void test_store_clip_path_is_under_the_data_dir_and_refuses_bad_ids(void **state);
/* store_cases_results_support.c */
void test_store_ids_are_never_reused_after_a_sweep_empties_the_tables(void **state);
void test_store_results_mark_frames_processed_and_keep_the_first_inference(void **state);
void test_store_frames_unprocessed_lists_frames_without_results_oldest_first(void **state);
/* store_cases_retention_support.c */
void test_store_frame_usage_follows_puts_repeats_and_age_sweeps(void **state);
void test_store_budget_sweep_deletes_the_oldest_frames_first_with_their_files(void **state);
void test_store_budget_per_camera_first_then_the_globally_oldest(void **state);
void test_store_budget_sweep_keeps_the_frames_events_need(void **state);
void test_store_budget_smaller_than_one_frame_is_refused_and_deletes_nothing(void **state);
void test_store_budget_sweep_never_lets_frame_ids_be_reused(void **state);

#endif
