/* Store conformance cases: detections (idempotent batches, query filters,
 * pagination, concurrent writers) and retention sweeps. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_conformance.h"

void test_store_detections_put_same_batch_twice_inserts_nothing_second_time(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64], err[512] = "";
    cs_camera(ctx, "dup", cam);
    vigil_detection_row_t d[10];
    for (int i = 0; i < 10; i++)
        d[i] = cs_detection(cam, (uint64_t)(i / 3), "centernet", i % 3, "person", 0.9f, CS_T0);
    size_t inserted = 99;
    assert_int_equal(vigil_store_detections_put(ctx->store, d, 10, &inserted, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(inserted, 10);
    vigil_store_counts_t c1, c2;
    assert_int_equal(vigil_store_counts(ctx->store, cam, &c1), VIGIL_OK);
    assert_int_equal(c1.detections, 10);
    inserted = 99;
    assert_int_equal(vigil_store_detections_put(ctx->store, d, 10, &inserted, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(inserted, 0);
    assert_int_equal(vigil_store_counts(ctx->store, cam, &c2), VIGIL_OK);
    assert_int_equal(c2.detections, 10);
    /* another model on the same frame is another key */
    snprintf(d[0].model, sizeof(d[0].model), "yolo");
    assert_int_equal(vigil_store_detections_put(ctx->store, d, 1, &inserted, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(inserted, 1);
    /* an empty batch is fine */
    assert_int_equal(vigil_store_detections_put(ctx->store, d, 0, &inserted, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(inserted, 0);
}

void test_store_detections_partial_overlap_inserts_only_new_rows(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64], err[512] = "";
    cs_camera(ctx, "overlap", cam);
    vigil_detection_row_t d[8];
    for (int i = 0; i < 8; i++) d[i] = cs_detection(cam, 5, "m", i, "car", 0.5f, CS_T0);
    size_t inserted = 0;
    assert_int_equal(vigil_store_detections_put(ctx->store, d, 5, &inserted, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(inserted, 5);
    /* rows 3..7: 3 and 4 exist (with another label now: the first write wins) */
    d[3].score = 0.1f;
    snprintf(d[3].label, sizeof(d[3].label), "truck");
    assert_int_equal(vigil_store_detections_put(ctx->store, d + 3, 5, &inserted, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(inserted, 3);
    vigil_store_counts_t c;
    assert_int_equal(vigil_store_counts(ctx->store, cam, &c), VIGIL_OK);
    assert_int_equal(c.detections, 8);
    vigil_detection_query_t q = {.camera = cam, .label = "truck", .limit = 10};
    vigil_detection_row_t *rows = NULL;
    size_t n = 0;
    int64_t next = -1;
    assert_int_equal(vigil_store_detections_query(ctx->store, &q, &rows, &n, &next), VIGIL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(next, 0);
    free(rows);
}

/* Pages through q (limit `page`), checking newest-first order and cursors;
 * returns the rows (malloc'd) in the order returned. */
static vigil_detection_row_t *query_all(vigil_store_t *s, vigil_detection_query_t q, int page,
                                        size_t *total)
{
    vigil_detection_row_t *all = NULL;
    size_t count = 0;
    q.limit = page;
    q.after_id = 0;
    for (int pages = 0;; pages++) {
        assert_true(pages < 100000);
        vigil_detection_row_t *rows = NULL;
        size_t n = 0;
        int64_t next = -1;
        assert_int_equal(vigil_store_detections_query(s, &q, &rows, &n, &next), VIGIL_OK);
        assert_true(n <= (size_t)page);
        all = realloc(all, (count + n + 1) * sizeof(*all));
        for (size_t i = 0; i < n; i++) {
            if (count + i > 0) {
                const vigil_detection_row_t *prev = i ? &rows[i - 1] : &all[count - 1];
                assert_true(rows[i].id < prev->id); /* newest first, no repeats */
            }
            all[count + i] = rows[i];
        }
        count += n;
        if (next == 0) {
            free(rows);
            break;
        }
        assert_int_equal(n, (size_t)page); /* only a full page has a successor */
        assert_int_equal(next, rows[n - 1].id);
        q.after_id = next;
        free(rows);
    }
    *total = count;
    return all;
}

static int same_key(const vigil_detection_row_t *a, const vigil_detection_row_t *b)
{
    return strcmp(a->camera_id, b->camera_id) == 0 && a->sequence == b->sequence &&
           strcmp(a->model, b->model) == 0 && a->idx == b->idx;
}

static int matches(const vigil_detection_row_t *d, const vigil_detection_query_t *q)
{
    return (!q->camera || strcmp(d->camera_id, q->camera) == 0) &&
           (!q->label || strcmp(d->label, q->label) == 0) &&
           (!q->since_us || d->capture_time_us >= q->since_us) &&
           (!q->until_us || d->capture_time_us < q->until_us) && d->score >= q->min_score;
}

void test_store_detections_query_filters_match_brute_force(void **state)
{
    cs_ctx_t *ctx = *state;
    char a[64], b[64], person[64], car[64], dog[64], err[512] = "";
    cs_camera(ctx, "qa", a);
    cs_camera(ctx, "qb", b);
    cs_camera(ctx, "person", person);
    cs_camera(ctx, "car", car);
    cs_camera(ctx, "dog", dog);
    const char *labels[3] = {person, car, dog};
    enum { N = 150 };
    vigil_detection_row_t *d = calloc(N, sizeof(*d));
    uint32_t x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        float score = (float)((x >> 8) % 1000) / 1000.0f;
        d[i] = cs_detection(i % 3 == 0 ? b : a, (uint64_t)(i / 4), "m", i % 4, labels[(i / 2) % 3],
                            score, CS_T0 + (int64_t)(i / 4) * 1000000);
        d[i].frame_id = i % 5 == 0 ? 0 : 1000 + i;
    }
    /* inserted in batches, in order: id order is insertion order */
    for (int i = 0; i < N; i += 40) {
        size_t n = N - i < 40 ? (size_t)(N - i) : 40, inserted = 0;
        assert_int_equal(
            vigil_store_detections_put(ctx->store, d + i, n, &inserted, err, sizeof(err)),
            VIGIL_OK);
        assert_int_equal(inserted, n);
    }

    const int64_t since = CS_T0 + 10 * 1000000, until = CS_T0 + 25 * 1000000;
    const vigil_detection_query_t queries[] = {
        {.camera = a},
        {.camera = b},
        {.label = car},
        {.label = dog, .min_score = 0.5f},
        {.camera = a, .since_us = since},
        {.camera = a, .until_us = until},
        {.camera = b, .since_us = since, .until_us = until},
        {.camera = a, .label = person, .since_us = since, .until_us = until, .min_score = 0.3f},
        {.label = person, .since_us = since},
    };
    for (size_t qi = 0; qi < sizeof(queries) / sizeof(queries[0]); qi++) {
        size_t got_n = 0, want_n = 0;
        vigil_detection_row_t *got = query_all(ctx->store, queries[qi], 7, &got_n);
        for (int i = N - 1; i >= 0; i--) {
            if (!matches(&d[i], &queries[qi])) continue;
            assert_true(want_n < got_n);
            assert_true(same_key(&got[want_n], &d[i]));
            const vigil_detection_row_t *g = &got[want_n];
            assert_string_equal(g->label, d[i].label);
            assert_true(g->score == d[i].score);
            assert_int_equal(g->capture_time_us, d[i].capture_time_us);
            assert_int_equal(g->frame_id, d[i].frame_id);
            assert_true(g->x1 == d[i].x1 && g->y1 == d[i].y1 && g->x2 == d[i].x2 &&
                        g->y2 == d[i].y2);
            want_n++;
        }
        if (got_n != want_n) print_error("query %zu: got %zu rows, want %zu\n", qi, got_n, want_n);
        assert_int_equal(got_n, want_n);
        assert_true(want_n > 0); /* every query above selects something */
        free(got);
    }
    free(d);
}

void test_store_detections_pagination_covers_every_row_once_newest_first(void **state)
{
    cs_ctx_t *ctx = *state;
    const int sizes[2] = {237, 100}; /* a ragged last page and an exact one */
    for (int k = 0; k < 2; k++) {
        char cam[64], err[512] = "";
        cs_camera(ctx, k ? "exact" : "ragged", cam);
        vigil_detection_row_t *d = calloc((size_t)sizes[k], sizeof(*d));
        for (int i = 0; i < sizes[k]; i++)
            d[i] = cs_detection(cam, (uint64_t)i, "m", 0, "person", 0.5f, CS_T0 + i);
        size_t inserted = 0;
        assert_int_equal(vigil_store_detections_put(ctx->store, d, (size_t)sizes[k], &inserted,
                                                    err, sizeof(err)),
                         VIGIL_OK);
        assert_int_equal(inserted, (size_t)sizes[k]);
        vigil_detection_query_t q = {.camera = cam};
        size_t n = 0;
        vigil_detection_row_t *all = query_all(ctx->store, q, 50, &n);
        assert_int_equal(n, (size_t)sizes[k]);
        for (size_t i = 0; i < n; i++) /* newest (last written) first, each once */
            assert_int_equal(all[i].sequence, (uint64_t)(sizes[k] - 1) - i);
        free(all);
        free(d);

        /* the exact case: the second page of 50 is the last and says so */
        if (k == 1) {
            vigil_detection_row_t *rows = NULL;
            int64_t next = 0;
            q.limit = 50;
            assert_int_equal(vigil_store_detections_query(ctx->store, &q, &rows, &n, &next),
                             VIGIL_OK);
            assert_int_equal(n, 50);
            assert_true(next > 0);
            q.after_id = next;
            free(rows);
            assert_int_equal(vigil_store_detections_query(ctx->store, &q, &rows, &n, &next),
                             VIGIL_OK);
            assert_int_equal(n, 50);
            assert_int_equal(next, 0);
            free(rows);
        }
    }
}

void test_store_detections_query_rejects_bad_limit(void **state)
{
    cs_ctx_t *ctx = *state;
    vigil_detection_row_t *rows = NULL;
    size_t n = 0;
    int64_t next = 0;
    const int bad[3] = {0, -1, 1001};
    for (int i = 0; i < 3; i++) {
        vigil_detection_query_t q = {.limit = bad[i]};
        assert_int_equal(vigil_store_detections_query(ctx->store, &q, &rows, &n, &next),
                         VIGIL_ERR_INVALID);
    }
    vigil_detection_query_t q = {.camera = "nobody-at-all", .limit = 1000};
    assert_int_equal(vigil_store_detections_query(ctx->store, &q, &rows, &n, &next), VIGIL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(next, 0);
    free(rows);
}

#define DT_THREADS 4
#define DT_BATCHES 25
#define DT_BATCH 40
#define DT_SHARED 100

typedef struct det_thread_arg {
    cs_ctx_t *ctx;
    const char *camera;
    int t;
    size_t inserted;
    int failures;
    char err[512];
} det_thread_arg_t;

static void *det_thread(void *p)
{
    det_thread_arg_t *arg = p;
    vigil_store_t *s = cs_open(arg->ctx, 0, arg->err, sizeof(arg->err));
    if (!s) {
        arg->failures = 1;
        return NULL;
    }
    vigil_detection_row_t batch[DT_SHARED > DT_BATCH ? DT_SHARED : DT_BATCH];
    for (int b = 0; b < DT_BATCHES; b++) {
        for (int i = 0; i < DT_BATCH; i++)
            batch[i] = cs_detection(arg->camera, (uint64_t)(arg->t * 1000 + b), "m", i, "person",
                                    0.5f, CS_T0 + b);
        size_t ins = 0;
        if (vigil_store_detections_put(s, batch, DT_BATCH, &ins, arg->err, sizeof(arg->err)) !=
            VIGIL_OK)
            arg->failures++;
        arg->inserted += ins;
        if (b == DT_BATCHES / 2) { /* every thread also writes the same shared batch */
            for (int i = 0; i < DT_SHARED; i++)
                batch[i] = cs_detection(arg->camera, 999999, "m", i, "car", 0.5f, CS_T0);
            if (vigil_store_detections_put(s, batch, DT_SHARED, &ins, arg->err,
                                           sizeof(arg->err)) != VIGIL_OK)
                arg->failures++;
            arg->inserted += ins;
        }
    }
    vigil_store_close(s);
    return NULL;
}

void test_store_threads_with_own_handles_write_detections_concurrently_all_land(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64];
    cs_camera(ctx, "threads", cam);
    pthread_t th[DT_THREADS];
    det_thread_arg_t args[DT_THREADS];
    memset(args, 0, sizeof(args));
    for (int t = 0; t < DT_THREADS; t++) {
        args[t].ctx = ctx;
        args[t].camera = cam;
        args[t].t = t;
        assert_int_equal(pthread_create(&th[t], NULL, det_thread, &args[t]), 0);
    }
    for (int t = 0; t < DT_THREADS; t++) pthread_join(th[t], NULL);
    size_t total = 0;
    for (int t = 0; t < DT_THREADS; t++) {
        if (args[t].failures) print_error("thread %d: %s\n", t, args[t].err);
        assert_int_equal(args[t].failures, 0);
        total += args[t].inserted;
    }
    const size_t want = DT_THREADS * DT_BATCHES * DT_BATCH + DT_SHARED;
    assert_int_equal(total, want);
    vigil_store_counts_t c;
    assert_int_equal(vigil_store_counts(ctx->store, cam, &c), VIGIL_OK);
    assert_int_equal(c.detections, (int64_t)want);
    vigil_detection_query_t q = {.camera = cam};
    size_t n = 0;
    vigil_detection_row_t *all = query_all(ctx->store, q, 1000, &n);
    assert_int_equal(n, want);
    free(all);
}

/* Writes a frame for the sweep case; returns its row. */
static vigil_frame_row_t sweep_frame(cs_ctx_t *ctx, const char *cam, uint64_t seq, int64_t t)
{
    char err[512] = "";
    unsigned char buf[777];
    cs_fill_bytes(buf, sizeof(buf), (uint32_t)seq);
    vigil_frame_row_t f = cs_frame(cam, seq, t);
    assert_int_equal(vigil_store_frame_put(ctx->store, &f, buf, sizeof(buf), err, sizeof(err)),
                     VIGIL_OK);
    return f;
}

static void sweep_rows(cs_ctx_t *ctx, const char *cam, int n_det, int n_ev, uint64_t seq0,
                       int64_t t)
{
    char err[512] = "";
    vigil_detection_row_t *d = calloc((size_t)n_det, sizeof(*d));
    for (int i = 0; i < n_det; i++)
        d[i] = cs_detection(cam, seq0 + (uint64_t)i / 10, "m", i % 10, "person", 0.5f, t);
    size_t inserted = 0;
    assert_int_equal(
        vigil_store_detections_put(ctx->store, d, (size_t)n_det, &inserted, err, sizeof(err)),
        VIGIL_OK);
    assert_int_equal(inserted, (size_t)n_det);
    free(d);
    for (int i = 0; i < n_ev; i++) {
        vigil_event_row_t ev;
        memset(&ev, 0, sizeof(ev));
        snprintf(ev.camera_id, sizeof(ev.camera_id), "%s", cam);
        snprintf(ev.type, sizeof(ev.type), "zone_enter");
        ev.time_us = t;
        ev.sequence = seq0;
        assert_int_equal(vigil_store_event_put(ctx->store, &ev), VIGIL_OK);
    }
}

static int file_of(cs_ctx_t *ctx, const vigil_frame_row_t *f)
{
    char full[PATH_MAX * 2];
    snprintf(full, sizeof(full), "%s/%s", ctx->data_dir, f->path);
    return cs_exists(full);
}

void test_store_sweep_deletes_old_rows_and_files_keeps_new_and_other_cameras(void **state)
{
    cs_ctx_t *ctx = *state;
    char a[64], b[64], full[PATH_MAX * 2];
    cs_camera(ctx, "sweep-a", a);
    cs_camera(ctx, "sweep-b", b);
    const int64_t hour = INT64_C(3600000000), day = 24 * hour;
    const int64_t cut = CS_OLD + 5 * day;
    vigil_frame_row_t a_old[3], a_new[2], b_old[2], b_new;
    for (int i = 0; i < 3; i++) a_old[i] = sweep_frame(ctx, a, (uint64_t)i, CS_OLD + i * hour);
    for (int i = 0; i < 2; i++)
        a_new[i] = sweep_frame(ctx, a, 10 + (uint64_t)i, cut + 1 + i * hour);
    for (int i = 0; i < 2; i++) b_old[i] = sweep_frame(ctx, b, (uint64_t)i, CS_OLD + i * hour);
    b_new = sweep_frame(ctx, b, 10, cut + day);
    sweep_rows(ctx, a, 1204, 2, 0, CS_OLD); /* more than one sweep batch */
    sweep_rows(ctx, a, 3, 1, 50000, cut);   /* exactly at the cut: kept */
    sweep_rows(ctx, b, 3, 1, 0, CS_OLD + day);
    sweep_rows(ctx, b, 1, 1, 50000, cut + day);

    /* a file already gone is tolerated */
    snprintf(full, sizeof(full), "%s/%s", ctx->data_dir, a_old[1].path);
    assert_int_equal(unlink(full), 0);

    vigil_sweep_result_t r;
    assert_int_equal(vigil_store_sweep(ctx->store, a, cut, &r), VIGIL_OK);
    assert_int_equal(r.frames_deleted, 3);
    assert_int_equal(r.files_deleted, 2);
    assert_int_equal(r.detections_deleted, 1204);
    assert_int_equal(r.events_deleted, 2);
    vigil_store_counts_t c;
    assert_int_equal(vigil_store_counts(ctx->store, a, &c), VIGIL_OK);
    assert_int_equal(c.frames, 2);
    assert_int_equal(c.detections, 3);
    assert_int_equal(c.events, 1);
    for (int i = 0; i < 3; i++) {
        vigil_frame_row_t row;
        assert_int_equal(vigil_store_frame_get(ctx->store, a_old[i].id, &row), VIGIL_ERR_NOT_FOUND);
        assert_false(file_of(ctx, &a_old[i]));
    }
    /* the emptied hour directory of the first old frame went with it */
    snprintf(full, sizeof(full), "%s/frames/%s/1971/01/01/00", ctx->data_dir, a);
    assert_false(cs_exists(full));
    for (int i = 0; i < 2; i++) {
        void *data = NULL;
        size_t len = 0;
        assert_true(file_of(ctx, &a_new[i]));
        assert_int_equal(vigil_store_frame_read(ctx->store, a_new[i].id, &data, &len), VIGIL_OK);
        assert_int_equal(len, 777);
        free(data);
    }
    /* the other camera is untouched */
    assert_int_equal(vigil_store_counts(ctx->store, b, &c), VIGIL_OK);
    assert_int_equal(c.frames, 3);
    assert_int_equal(c.detections, 4);
    assert_int_equal(c.events, 2);
    for (int i = 0; i < 2; i++) assert_true(file_of(ctx, &b_old[i]));

    /* a second sweep finds nothing */
    assert_int_equal(vigil_store_sweep(ctx->store, a, cut, &r), VIGIL_OK);
    assert_int_equal(r.frames_deleted + r.files_deleted + r.detections_deleted + r.events_deleted,
                     0);

    /* every camera */
    assert_int_equal(vigil_store_sweep(ctx->store, NULL, cut, &r), VIGIL_OK);
    assert_true(r.frames_deleted >= 2);
    assert_true(r.files_deleted >= 2);
    assert_true(r.detections_deleted >= 3);
    assert_true(r.events_deleted >= 1);
    assert_int_equal(vigil_store_counts(ctx->store, b, &c), VIGIL_OK);
    assert_int_equal(c.frames, 1);
    assert_int_equal(c.detections, 1);
    assert_int_equal(c.events, 1);
    for (int i = 0; i < 2; i++) assert_false(file_of(ctx, &b_old[i]));
    assert_true(file_of(ctx, &b_new));
    assert_int_equal(vigil_store_counts(ctx->store, a, &c), VIGIL_OK);
    assert_int_equal(c.frames, 2);
    assert_int_equal(c.detections, 3);
}
