/* Store conformance cases: retention by size (store.h, "retention by
 * size"): the running totals of the frame store, the oldest frames going
 * first, per-camera budgets before the global one, the frames events need
 * surviving, a budget smaller than one frame refused, ids never reused.
 *
 * A case that sweeps every camera (the global budget) writes its frames in
 * 1970, before any other case's rows, and sets the budget from the total it
 * reads first, so that on a shared database the oldest frames are its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_conformance.h"

#define SEC INT64_C(1000000)
/* 1970-06-01: older than every other case's rows */
#define CS_ANCIENT INT64_C(13046400000000)

static vigil_frame_row_t put_sized(cs_ctx_t *ctx, const char *cam, uint64_t seq, int64_t t,
                                   size_t size)
{
    char err[512] = "";
    unsigned char *buf = malloc(size);
    assert_non_null(buf);
    cs_fill_bytes(buf, size, (uint32_t)seq);
    vigil_frame_row_t f = cs_frame(cam, seq, t);
    if (vigil_store_frame_put(ctx->store, &f, buf, size, err, sizeof(err)) != VIGIL_OK)
        fail_msg("frame_put %s/%llu: %s", cam, (unsigned long long)seq, err);
    free(buf);
    return f;
}

static int64_t usage_bytes(cs_ctx_t *ctx, const char *cam, int64_t *frames, int64_t *total)
{
    char err[512] = "";
    vigil_frame_usage_t *rows = NULL;
    size_t n = 0;
    int64_t bytes = 0;
    if (frames) *frames = 0;
    if (vigil_store_frame_usage(ctx->store, &rows, &n, total, err, sizeof(err)) != VIGIL_OK)
        fail_msg("frame_usage: %s", err);
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].camera_id, cam) == 0) {
            bytes = rows[i].bytes;
            if (frames) *frames = rows[i].frames;
        }
    free(rows);
    return bytes;
}

static int frame_exists(cs_ctx_t *ctx, const vigil_frame_row_t *f)
{
    vigil_frame_row_t row;
    vigil_err_t err = vigil_store_frame_get(ctx->store, f->id, &row);
    if (err == VIGIL_ERR_NOT_FOUND) return 0;
    assert_int_equal(err, VIGIL_OK);
    return 1;
}

static int file_exists(cs_ctx_t *ctx, const vigil_frame_row_t *f)
{
    char path[PATH_MAX + 600];
    snprintf(path, sizeof(path), "%s/%s", ctx->data_dir, f->path);
    return cs_exists(path);
}

static vigil_budget_result_t sweep(cs_ctx_t *ctx, vigil_frame_budget_t *b, vigil_err_t want)
{
    char err[512] = "";
    vigil_budget_result_t r;
    vigil_err_t got = vigil_store_sweep_budget(ctx->store, b, &r, err, sizeof(err));
    if (got != want)
        fail_msg("sweep_budget: %s, wanted %s: %s", vigil_err_str(got), vigil_err_str(want), err);
    return r;
}

void test_store_frame_usage_follows_puts_repeats_and_age_sweeps(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64], other[64];
    cs_camera(ctx, "use", cam);
    cs_camera(ctx, "use2", other);
    int64_t frames = -1;
    assert_int_equal(usage_bytes(ctx, cam, &frames, NULL), 0);
    assert_int_equal(frames, 0);
    for (uint64_t s = 1; s <= 4; s++) put_sized(ctx, cam, s, CS_OLD + (int64_t)s * SEC, 100 * s);
    put_sized(ctx, other, 1, CS_OLD, 777);
    put_sized(ctx, cam, 2, CS_OLD + 2 * SEC, 200); /* the same key again: nothing added */
    assert_int_equal(usage_bytes(ctx, cam, &frames, NULL), 1000);
    assert_int_equal(frames, 4);
    assert_int_equal(usage_bytes(ctx, other, &frames, NULL), 777);
    assert_int_equal(frames, 1);
    /* the age sweep's deletes count out too */
    vigil_sweep_result_t r;
    assert_int_equal(vigil_store_sweep(ctx->store, cam, CS_OLD + 3 * SEC, &r), VIGIL_OK);
    assert_int_equal(r.frames_deleted, 2);
    assert_int_equal(usage_bytes(ctx, cam, &frames, NULL), 700);
    assert_int_equal(frames, 2);
    /* and another handle (another process) reads the same */
    char err[512] = "";
    vigil_store_t *h = cs_open(ctx, 0, err, sizeof(err));
    assert_non_null(h);
    vigil_frame_usage_t *rows = NULL;
    size_t n = 0;
    int64_t total = 0;
    assert_int_equal(vigil_store_frame_usage(h, &rows, &n, &total, err, sizeof(err)), VIGIL_OK);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].camera_id, cam) == 0) seen += rows[i].bytes == 700;
        if (i) assert_true(strcmp(rows[i - 1].camera_id, rows[i].camera_id) < 0);
    }
    assert_int_equal(seen, 1);
    assert_true(total >= 700 + 777);
    free(rows);
    vigil_store_close(h);
}

void test_store_budget_sweep_deletes_the_oldest_frames_first_with_their_files(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64];
    cs_camera(ctx, "old", cam);
    /* written out of capture order: the oldest by capture time go, not by id */
    vigil_frame_row_t f[10];
    static const int order[10] = {3, 0, 1, 2, 7, 4, 5, 6, 9, 8};
    for (int i = 0; i < 10; i++)
        f[order[i]] = put_sized(ctx, cam, (uint64_t)order[i] + 1,
                                CS_T0 + (int64_t)order[i] * SEC, 1000);
    const char *ids[] = {cam};
    int64_t max[] = {6000};
    vigil_frame_budget_t b = {.camera_ids = ids, .camera_max_bytes = max, .ncameras = 1,
                              .low_water = 1.0};
    vigil_budget_result_t r = sweep(ctx, &b, VIGIL_OK);
    assert_int_equal(r.frames_deleted, 4);
    assert_int_equal(r.files_deleted, 4);
    assert_int_equal(r.bytes_freed, 4000);
    assert_int_equal(r.over_bytes, 0);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(frame_exists(ctx, &f[i]), i >= 4);
        assert_int_equal(file_exists(ctx, &f[i]), i >= 4);
    }
    assert_int_equal(usage_bytes(ctx, cam, NULL, NULL), 6000);
    /* within budget: a second sweep deletes nothing */
    r = sweep(ctx, &b, VIGIL_OK);
    assert_int_equal(r.frames_deleted, 0);
    /* the default low water (95%) goes a little below the budget */
    max[0] = 5000;
    b.low_water = 0;
    r = sweep(ctx, &b, VIGIL_OK);
    assert_int_equal(r.frames_deleted, 2); /* 6000 -> 4750 at most: two frames */
    assert_int_equal(usage_bytes(ctx, cam, NULL, NULL), 4000);
    assert_false(frame_exists(ctx, &f[5]));
    assert_true(frame_exists(ctx, &f[6]));
}

void test_store_budget_per_camera_first_then_the_globally_oldest(void **state)
{
    cs_ctx_t *ctx = *state;
    char a[64], b2[64];
    cs_camera(ctx, "ga", a);
    cs_camera(ctx, "gb", b2);
    int64_t before = 0;
    usage_bytes(ctx, a, NULL, &before);
    /* a: old frames, no budget of its own; b: newer frames over its budget */
    vigil_frame_row_t fa[6], fb[6];
    for (int i = 0; i < 6; i++) {
        fa[i] = put_sized(ctx, a, (uint64_t)i + 1, CS_ANCIENT + (int64_t)i * SEC, 1000);
        fb[i] = put_sized(ctx, b2, (uint64_t)i + 1, CS_ANCIENT + (int64_t)(100 + i) * SEC, 1000);
    }
    const char *ids[] = {a, b2};
    int64_t max[] = {0, 4000};
    vigil_frame_budget_t b = {.camera_ids = ids, .camera_max_bytes = max, .ncameras = 2,
                              .low_water = 1.0, .max_bytes = before + 12000};
    vigil_budget_result_t r = sweep(ctx, &b, VIGIL_OK);
    /* b over its own budget loses its two oldest, though a's are older */
    assert_int_equal(r.frames_deleted, 2);
    for (int i = 0; i < 6; i++) {
        assert_true(frame_exists(ctx, &fa[i]));
        assert_int_equal(frame_exists(ctx, &fb[i]), i >= 2);
    }
    /* the whole store over: the oldest of any camera go, a's first */
    b.max_bytes = before + 7000;
    r = sweep(ctx, &b, VIGIL_OK);
    assert_int_equal(r.frames_deleted, 3);
    assert_int_equal(r.bytes_freed, 3000);
    for (int i = 0; i < 6; i++) assert_int_equal(frame_exists(ctx, &fa[i]), i >= 3);
    assert_int_equal(usage_bytes(ctx, b2, NULL, NULL), 4000);
    assert_int_equal(r.bytes_after, r.bytes_before - 3000);
}

/* An event of cam on zone z, open or closed, with a snapshot frame. */
static vigil_analytics_event_t ret_event(const char *cam, uint64_t track, int64_t start_us,
                                         int64_t end_us, int64_t snapshot_id)
{
    vigil_analytics_event_t ev;
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.camera_id, sizeof(ev.camera_id), "%s", cam);
    ev.kind = VIGIL_EVENT_ZONE_ENTER;
    snprintf(ev.label, sizeof(ev.label), "person");
    snprintf(ev.zone, sizeof(ev.zone), "door");
    ev.track_id = track;
    ev.start_sequence = track * 100;
    ev.start_us = start_us;
    ev.open = end_us == 0;
    ev.end_us = end_us;
    ev.end_sequence = end_us ? track * 100 + 1 : 0;
    ev.snapshot_frame_id = snapshot_id;
    ev.snapshot_sequence = track * 100;
    ev.peak_score = 0.9f;
    ev.updated_sequence = track * 100 + 1;
    return ev;
}

void test_store_budget_sweep_keeps_the_frames_events_need(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64], err[512] = "";
    cs_camera(ctx, "ev", cam);
    /* frames at 0..39 s */
    vigil_frame_row_t f[40];
    for (int i = 0; i < 40; i++)
        f[i] = put_sized(ctx, cam, (uint64_t)i + 1, CS_T0 + (int64_t)i * SEC, 1000);
    /* event 1: closed 10..12 s, clip window 9..13 s (1 s pre and post roll);
     * event 2: snapshot at frame 2, closed 30..31 s (window 29..32 s);
     * event 3: closed long ago (ended before the cut): needs nothing;
     * event 4: open since 36 s: 35 s on */
    vigil_analytics_event_t ev[4] = {
        ret_event(cam, 1, CS_T0 + 10 * SEC, CS_T0 + 12 * SEC, f[11].id),
        ret_event(cam, 2, CS_T0 + 30 * SEC, CS_T0 + 31 * SEC, f[2].id),
        ret_event(cam, 3, CS_T0 + 0 * SEC, CS_T0 + 5 * SEC, f[3].id),
        ret_event(cam, 4, CS_T0 + 36 * SEC, 0, f[37].id),
    };
    vigil_analytics_camera_batch_t batch = {.camera_id = cam, .events = ev, .nevents = 4};
    assert_int_equal(vigil_store_analytics_commit(ctx->store, &batch, 1, err, sizeof(err)),
                     VIGIL_OK);
    const char *ids[] = {cam};
    int64_t max[] = {1000}; /* far less than what events need */
    vigil_frame_budget_t b = {.camera_ids = ids, .camera_max_bytes = max, .ncameras = 1,
                              .low_water = 1.0, .preroll_us = SEC, .postroll_us = SEC,
                              .events_ended_before_us = CS_T0 + 8 * SEC};
    vigil_budget_result_t r = sweep(ctx, &b, VIGIL_OK);
    int needed[40] = {0};
    needed[2] = 1;
    for (int i = 9; i <= 13; i++) needed[i] = 1;
    for (int i = 29; i <= 32; i++) needed[i] = 1;
    for (int i = 35; i < 40; i++) needed[i] = 1;
    int kept = 0;
    for (int i = 0; i < 40; i++) {
        if (needed[i] && !frame_exists(ctx, &f[i]))
            fail_msg("frame at %d s was deleted though an event needs it", i);
        if (!needed[i] && frame_exists(ctx, &f[i]))
            fail_msg("frame at %d s was kept though no event needs it", i);
        assert_int_equal(file_exists(ctx, &f[i]), needed[i]);
        kept += needed[i];
    }
    assert_int_equal(r.frames_deleted, 40 - kept);
    /* still over: says by how much and whose */
    assert_int_equal(r.over_bytes, (int64_t)kept * 1000 - 1000);
    assert_string_equal(r.over_camera, cam);
    /* once the open event closes and they all end before the cut, they go */
    ev[3] = ret_event(cam, 4, CS_T0 + 36 * SEC, CS_T0 + 37 * SEC, f[37].id);
    ev[3].updated_sequence += 10;
    batch.events = &ev[3];
    batch.nevents = 1;
    assert_int_equal(vigil_store_analytics_commit(ctx->store, &batch, 1, err, sizeof(err)),
                     VIGIL_OK);
    b.events_ended_before_us = CS_T0 + 100 * SEC;
    r = sweep(ctx, &b, VIGIL_OK);
    assert_int_equal(r.frames_deleted, kept - 1);
    assert_int_equal(r.over_bytes, 0);
    assert_true(frame_exists(ctx, &f[39])); /* the newest stays: one frame's worth */
}

void test_store_budget_smaller_than_one_frame_is_refused_and_deletes_nothing(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64], err[512] = "";
    cs_camera(ctx, "tiny", cam);
    for (uint64_t s = 1; s <= 5; s++) put_sized(ctx, cam, s, CS_T0 + (int64_t)s * SEC, 2000);
    const char *ids[] = {cam};
    int64_t max[] = {1500};
    vigil_frame_budget_t b = {.camera_ids = ids, .camera_max_bytes = max, .ncameras = 1};
    vigil_budget_result_t r;
    assert_int_equal(vigil_store_sweep_budget(ctx->store, &b, &r, err, sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_non_null(strstr(err, cam));
    assert_non_null(strstr(err, "smaller than one of its frames"));
    assert_non_null(strstr(err, "1500"));
    assert_int_equal(r.frames_deleted, 0);
    assert_int_equal(usage_bytes(ctx, cam, NULL, NULL), 10000);
    /* bad budgets */
    int64_t neg[] = {-1};
    b.camera_max_bytes = neg;
    assert_int_equal(vigil_store_sweep_budget(ctx->store, &b, &r, err, sizeof(err)),
                     VIGIL_ERR_INVALID);
    const char *bad[] = {"no/such"};
    b.camera_ids = bad;
    b.camera_max_bytes = max;
    assert_int_equal(vigil_store_sweep_budget(ctx->store, &b, &r, err, sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_int_equal(usage_bytes(ctx, cam, NULL, NULL), 10000);
}

void test_store_budget_sweep_never_lets_frame_ids_be_reused(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64];
    cs_camera(ctx, "rid", cam);
    vigil_frame_row_t last = {0};
    for (uint64_t s = 1; s <= 6; s++) last = put_sized(ctx, cam, s, CS_T0 + (int64_t)s * SEC, 500);
    const char *ids[] = {cam};
    int64_t max[] = {500};
    vigil_frame_budget_t b = {.camera_ids = ids, .camera_max_bytes = max, .ncameras = 1,
                              .low_water = 1.0};
    vigil_budget_result_t r = sweep(ctx, &b, VIGIL_OK);
    assert_int_equal(r.frames_deleted, 5);
    assert_true(frame_exists(ctx, &last));
    vigil_frame_row_t next = put_sized(ctx, cam, 7, CS_T0 + 7 * SEC, 500);
    if (next.id <= last.id)
        fail_msg("frame id %lld reused (the last before the sweep was %lld)", (long long)next.id,
                 (long long)last.id);
    /* the newest went now (the oldest of two): its id does not come back */
    r = sweep(ctx, &b, VIGIL_OK);
    assert_int_equal(r.frames_deleted, 1);
    assert_false(frame_exists(ctx, &last));
    vigil_frame_row_t third = put_sized(ctx, cam, 8, CS_T0 + 8 * SEC, 500);
    assert_true(third.id > next.id);
}
