/* Store conformance cases: ids never reused, frame results (detections
 * written with the frame's processed mark) and the frames not processed
 * yet that `vigil run` sends to infer again at start-up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_conformance.h"

static vigil_frame_row_t put_frame(cs_ctx_t *ctx, const char *cam, uint64_t seq, int64_t t)
{
    char err[512] = "";
    unsigned char buf[321];
    cs_fill_bytes(buf, sizeof(buf), (uint32_t)seq);
    vigil_frame_row_t f = cs_frame(cam, seq, t);
    if (vigil_store_frame_put(ctx->store, &f, buf, sizeof(buf), err, sizeof(err)) != VIGIL_OK)
        fail_msg("frame_put: %s", err);
    return f;
}

static int64_t newest_detection_id(cs_ctx_t *ctx, const char *cam)
{
    vigil_detection_query_t q = {.camera = cam, .limit = 1};
    vigil_detection_row_t *rows = NULL;
    size_t n = 0;
    int64_t next = 0, id = 0;
    assert_int_equal(vigil_store_detections_query(ctx->store, &q, &rows, &n, &next), VIGIL_OK);
    if (n) id = rows[0].id;
    free(rows);
    return id;
}

void test_store_ids_are_never_reused_after_a_sweep_empties_the_tables(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64], err[512] = "";
    cs_camera(ctx, "ids", cam);
    vigil_frame_row_t last = {0};
    for (uint64_t s = 1; s <= 3; s++) last = put_frame(ctx, cam, s, CS_OLD + (int64_t)s);
    vigil_detection_row_t d[3];
    for (int i = 0; i < 3; i++) d[i] = cs_detection(cam, 1, "m", i, "car", 0.5f, CS_OLD);
    assert_int_equal(vigil_store_detections_put(ctx->store, d, 3, NULL, err, sizeof(err)),
                     VIGIL_OK);
    int64_t last_detection = newest_detection_id(ctx, cam);
    assert_true(last_detection > 0);

    /* retention empties both tables (of this camera; on sqlite, all of them) */
    vigil_sweep_result_t r;
    assert_int_equal(vigil_store_sweep(ctx->store, cam, CS_OLD + 1000, &r), VIGIL_OK);
    assert_int_equal(r.frames_deleted, 3);
    assert_int_equal(r.detections_deleted, 3);
    if (cs_is_sqlite()) {
        vigil_store_counts_t c;
        assert_int_equal(vigil_store_counts(ctx->store, NULL, &c), VIGIL_OK);
        assert_int_equal(c.frames + c.detections, 0);
    }

    /* a cached /api/v1/frames/ID.jpg or a detections cursor must never
     * point at another row: new rows get larger ids */
    vigil_frame_row_t again = put_frame(ctx, cam, 4, CS_OLD + 4);
    if (again.id <= last.id)
        fail_msg("frame id %lld reused (the last before the sweep was %lld)",
                 (long long)again.id, (long long)last.id);
    d[0] = cs_detection(cam, 4, "m", 0, "car", 0.5f, CS_OLD);
    assert_int_equal(vigil_store_detections_put(ctx->store, d, 1, NULL, err, sizeof(err)),
                     VIGIL_OK);
    int64_t id = newest_detection_id(ctx, cam);
    if (id <= last_detection)
        fail_msg("detection id %lld reused (the last before the sweep was %lld)", (long long)id,
                 (long long)last_detection);

    /* and so through another handle (a new process) too */
    vigil_store_t *other = cs_open(ctx, 0, err, sizeof(err));
    assert_non_null(other);
    assert_int_equal(vigil_store_sweep(other, cam, CS_OLD + 1000, &r), VIGIL_OK);
    vigil_store_close(other);
    vigil_frame_row_t third = put_frame(ctx, cam, 5, CS_OLD + 5);
    assert_true(third.id > again.id);
}

static int64_t count_of(cs_ctx_t *ctx, int64_t frame_id)
{
    vigil_frame_row_t row;
    assert_int_equal(vigil_store_frame_get(ctx->store, frame_id, &row), VIGIL_OK);
    return row.detection_count;
}

void test_store_results_mark_frames_processed_and_keep_the_first_inference(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64], err[512] = "";
    cs_camera(ctx, "res", cam);
    vigil_frame_row_t a = put_frame(ctx, cam, 1, CS_T0 + 1);
    vigil_frame_row_t b = put_frame(ctx, cam, 2, CS_T0 + 2);
    assert_int_equal(a.detection_count, -1); /* stored, not processed */
    assert_int_equal(count_of(ctx, a.id), -1);
    assert_int_equal(count_of(ctx, b.id), -1);

    /* frame 1: three detections; frame 2: none; frame 9: not in the store */
    vigil_detection_row_t d1[3], d9[2];
    for (int i = 0; i < 3; i++) d1[i] = cs_detection(cam, 1, "m", i, "car", 0.5f, CS_T0 + 1);
    for (int i = 0; i < 2; i++) d9[i] = cs_detection(cam, 9, "m", i, "dog", 0.5f, CS_T0 + 9);
    vigil_frame_result_t res[3] = {
        {.camera_id = cam, .sequence = 1, .rows = d1, .n = 3},
        {.camera_id = cam, .sequence = 2, .rows = NULL, .n = 0},
        {.camera_id = cam, .sequence = 9, .rows = d9, .n = 2},
    };
    size_t inserted = 0;
    assert_int_equal(vigil_store_results_put(ctx->store, res, 3, &inserted, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(inserted, 5);
    assert_int_equal(count_of(ctx, a.id), 3);
    assert_int_equal(count_of(ctx, b.id), 0);

    /* a second inference of frame 1 (sent again after a crash) found two:
     * nothing of it is written, the first stays whole */
    vigil_detection_row_t again[2];
    for (int i = 0; i < 2; i++) again[i] = cs_detection(cam, 1, "m", i, "bus", 0.9f, CS_T0 + 1);
    vigil_frame_result_t second = {.camera_id = cam, .sequence = 1, .rows = again, .n = 2};
    assert_int_equal(vigil_store_results_put(ctx->store, &second, 1, &inserted, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(inserted, 0);
    assert_int_equal(count_of(ctx, a.id), 3);
    vigil_detection_query_t q = {.camera = cam, .limit = 100};
    vigil_detection_row_t *rows = NULL;
    size_t n = 0;
    int64_t next = 0;
    assert_int_equal(vigil_store_detections_query(ctx->store, &q, &rows, &n, &next), VIGIL_OK);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++)
        if (rows[i].sequence == 1) assert_string_equal(rows[i].label, "car");
    free(rows);

    /* rows that are not of their frame are refused, and nothing is written */
    vigil_frame_result_t bad = {.camera_id = cam, .sequence = 2, .rows = d1, .n = 1};
    assert_int_equal(vigil_store_results_put(ctx->store, &bad, 1, &inserted, err, sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_non_null(strstr(err, "of another frame"));
    assert_int_equal(count_of(ctx, b.id), 0);
}

void test_store_frames_unprocessed_lists_frames_without_results_oldest_first(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64], err[512] = "";
    cs_camera(ctx, "unp", cam);
    vigil_frame_row_t f[5];
    for (int i = 0; i < 5; i++) f[i] = put_frame(ctx, cam, 10 + (uint64_t)i, CS_T0 + i);
    vigil_frame_result_t done[2] = {{.camera_id = cam, .sequence = 11},
                                    {.camera_id = cam, .sequence = 13}};
    assert_int_equal(vigil_store_results_put(ctx->store, done, 2, NULL, err, sizeof(err)),
                     VIGIL_OK);
    vigil_frame_row_t *rows = NULL;
    size_t n = 0;
    /* other cases' frames may be there on a shared server: keep this camera's */
    int64_t after = f[0].id - 1;
    uint64_t seen[8];
    size_t nseen = 0;
    for (;;) {
        assert_int_equal(vigil_store_frames_unprocessed(ctx->store, after, 2, &rows, &n), VIGIL_OK);
        for (size_t i = 0; i < n; i++) {
            assert_true(rows[i].id > after);
            after = rows[i].id;
            assert_int_equal(rows[i].detection_count, -1);
            if (strcmp(rows[i].camera_id, cam) == 0 && nseen < 8) seen[nseen++] = rows[i].sequence;
        }
        free(rows);
        if (n < 2) break;
    }
    assert_int_equal(nseen, 3);
    assert_int_equal(seen[0], 10);
    assert_int_equal(seen[1], 12);
    assert_int_equal(seen[2], 14);
    assert_int_equal(vigil_store_frames_unprocessed(ctx->store, 0, 0, &rows, &n),
                     VIGIL_ERR_INVALID);
}
