/* Store conformance cases: analytics (events upserted by key, cumulative
 * per-minute counts, track points, checkpoints), the reads the API makes of
 * them, one-transaction commits, and their sweep.
 *
 * Rows of a case are told apart from other runs' (a shared database) by
 * run-unique camera ids, and, where a query has no camera filter, by
 * run-unique labels and zone ids. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "store_conformance.h"

#define MINUTE INT64_C(60000000)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

/* An event of camera cam as the analyzer reports it when it starts: zone
 * kinds in zone `rule`, line_cross on line `rule` (direction in); enter and
 * loiter open, the others instant. */
static vigil_analytics_event_t an_event(const char *cam, int kind, uint64_t track,
                                        const char *rule, const char *label, uint64_t start_seq,
                                        int64_t start_us)
{
    vigil_analytics_event_t ev;
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.camera_id, sizeof(ev.camera_id), "%s", cam);
    ev.kind = kind;
    snprintf(ev.label, sizeof(ev.label), "%s", label);
    ev.track_id = track;
    if (kind == VIGIL_EVENT_LINE_CROSS) {
        snprintf(ev.line, sizeof(ev.line), "%s", rule);
        ev.direction = VIGIL_DIR_IN;
    } else {
        snprintf(ev.zone, sizeof(ev.zone), "%s", rule);
    }
    ev.start_sequence = start_seq;
    ev.start_us = start_us;
    ev.open = kind == VIGIL_EVENT_ZONE_ENTER || kind == VIGIL_EVENT_LOITER;
    if (!ev.open) {
        ev.end_us = start_us;
        ev.end_sequence = start_seq;
    }
    ev.snapshot_frame_id = 1000 + (int64_t)start_seq;
    ev.snapshot_sequence = start_seq;
    ev.peak_score = 0.625f;
    ev.x1 = 10.5f;
    ev.y1 = 20.25f;
    ev.x2 = 110.0f + (float)track;
    ev.y2 = 220.75f;
    ev.updated_sequence = start_seq;
    return ev;
}

static vigil_track_point_t an_point(uint64_t track, uint64_t seq, int64_t t_us, const char *label)
{
    vigil_track_point_t p;
    memset(&p, 0, sizeof(p));
    p.track_id = track;
    p.sequence = seq;
    p.time_us = t_us;
    p.frame_id = seq % 3 == 0 ? 0 : 5000 + (int64_t)seq;
    snprintf(p.label, sizeof(p.label), "%s", label);
    p.score = 0.5f + (float)(seq % 4) / 8.0f;
    p.x1 = (float)seq;
    p.y1 = 2.5f;
    p.x2 = (float)seq + 40.0f;
    p.y2 = 90.25f;
    return p;
}

static vigil_count_bucket_t an_zone_count(int64_t minute_us, const char *zone, const char *label,
                                          int64_t entered, int64_t peak)
{
    vigil_count_bucket_t c;
    memset(&c, 0, sizeof(c));
    c.minute_us = minute_us;
    snprintf(c.zone, sizeof(c.zone), "%s", zone);
    snprintf(c.label, sizeof(c.label), "%s", label);
    c.entered = entered;
    c.peak = peak;
    return c;
}

static vigil_count_bucket_t an_line_count(int64_t minute_us, const char *line, const char *label,
                                          int64_t in, int64_t out)
{
    vigil_count_bucket_t c;
    memset(&c, 0, sizeof(c));
    c.minute_us = minute_us;
    snprintf(c.line, sizeof(c.line), "%s", line);
    snprintf(c.label, sizeof(c.label), "%s", label);
    c.in = in;
    c.out = out;
    return c;
}

static void an_commit(vigil_store_t *s, const vigil_analytics_camera_batch_t *b, size_t n)
{
    char err[512] = "";
    vigil_err_t rc = vigil_store_analytics_commit(s, b, n, err, sizeof(err));
    if (rc != VIGIL_OK) fail_msg("analytics commit: %s (%s)", err, vigil_err_str(rc));
}

/* Commits one camera's events only. */
static void an_commit_events(vigil_store_t *s, const char *cam, const vigil_analytics_event_t *ev,
                             size_t n)
{
    vigil_analytics_camera_batch_t b = {.camera_id = cam, .events = ev, .nevents = n};
    an_commit(s, &b, 1);
}

static void an_assert_event(const vigil_analytics_event_t *got,
                            const vigil_analytics_event_t *want)
{
    assert_string_equal(got->camera_id, want->camera_id);
    assert_int_equal(got->kind, want->kind);
    assert_string_equal(got->label, want->label);
    assert_int_equal(got->track_id, want->track_id);
    assert_string_equal(got->zone, want->zone);
    assert_string_equal(got->line, want->line);
    assert_int_equal(got->direction, want->direction);
    assert_int_equal(got->start_sequence, want->start_sequence);
    assert_int_equal(got->start_us, want->start_us);
    assert_int_equal(got->end_us, want->end_us);
    assert_int_equal(got->end_sequence, want->end_sequence);
    assert_int_equal(got->open, want->open);
    assert_int_equal(got->snapshot_frame_id, want->snapshot_frame_id);
    assert_int_equal(got->snapshot_sequence, want->snapshot_sequence);
    assert_true(got->peak_score == want->peak_score);
    assert_true(got->x1 == want->x1 && got->y1 == want->y1 && got->x2 == want->x2 &&
                got->y2 == want->y2);
    assert_int_equal(got->updated_sequence, want->updated_sequence);
}

/* Pages through q (limit `page`) checking newest-first order by (start_us,
 * id) and the cursors; returns the rows (malloc'd) in the order returned. */
static vigil_analytics_event_row_t *an_query_all(vigil_store_t *s, vigil_event_query_t q,
                                                 int page, size_t *total)
{
    vigil_analytics_event_row_t *all = NULL;
    size_t count = 0;
    q.limit = page;
    q.after_start_us = 0;
    q.after_id = 0;
    for (int pages = 0;; pages++) {
        assert_true(pages < 100000);
        vigil_analytics_event_row_t *rows = NULL;
        size_t n = 0;
        int64_t next_start = -1, next_id = -1;
        assert_int_equal(
            vigil_store_analytics_events_query(s, &q, &rows, &n, &next_start, &next_id), VIGIL_OK);
        assert_true(n <= (size_t)page);
        all = realloc(all, (count + n + 1) * sizeof(*all));
        for (size_t i = 0; i < n; i++) {
            if (count + i > 0) {
                const vigil_analytics_event_row_t *prev = i ? &rows[i - 1] : &all[count - 1];
                assert_true(rows[i].ev.start_us < prev->ev.start_us ||
                            (rows[i].ev.start_us == prev->ev.start_us && rows[i].id < prev->id));
            }
            all[count + i] = rows[i];
        }
        count += n;
        if (next_id == 0) {
            free(rows);
            break;
        }
        assert_int_equal(n, (size_t)page); /* only a full page has a successor */
        assert_int_equal(next_id, rows[n - 1].id);
        assert_int_equal(next_start, rows[n - 1].ev.start_us);
        q.after_start_us = next_start;
        q.after_id = next_id;
        free(rows);
    }
    *total = count;
    return all;
}

/* The one event of camera cam (asserts there is exactly one). */
static vigil_analytics_event_row_t an_only_event(vigil_store_t *s, const char *cam)
{
    vigil_event_query_t q = {.camera = cam};
    size_t n = 0;
    vigil_analytics_event_row_t *rows = an_query_all(s, q, 10, &n);
    assert_int_equal(n, 1);
    vigil_analytics_event_row_t r = rows[0];
    free(rows);
    return r;
}

/* Counts rows of q; *rows malloc'd. */
static size_t an_counts(vigil_store_t *s, vigil_count_query_t q, vigil_count_row_t **rows)
{
    size_t n = 0;
    assert_int_equal(vigil_store_counts_query(s, &q, rows, &n), VIGIL_OK);
    return n;
}

static void an_assert_count(const vigil_count_row_t *r, int64_t bucket, int64_t entered,
                            int64_t peak, int64_t in, int64_t out)
{
    if (r->bucket_us != bucket || r->entered != entered || r->peak != peak || r->in != in ||
        r->out != out)
        fail_msg("count row %s/%s/%s/%s bucket %" PRId64 ": entered %" PRId64 " peak %" PRId64
                 " in %" PRId64 " out %" PRId64 "; want bucket %" PRId64 ": %" PRId64
                 " %" PRId64 " %" PRId64 " %" PRId64,
                 r->camera_id, r->zone, r->line, r->label, r->bucket_us, r->entered, r->peak,
                 r->in, r->out, bucket, entered, peak, in, out);
}

void test_store_analytics_commit_and_query_round_trip(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64];
    cs_camera(ctx, "rt", cam);
    vigil_analytics_event_t ev[3] = {
        an_event(cam, VIGIL_EVENT_ZONE_ENTER, 7, "door", "person", 100, CS_T0 + 10 * MINUTE),
        an_event(cam, VIGIL_EVENT_LINE_CROSS, 8, "gate", "car", 120, CS_T0 + 11 * MINUTE),
        an_event(cam, VIGIL_EVENT_ZONE_LEAVE, 7, "door", "person", 130, CS_T0 + 12 * MINUTE),
    };
    ev[1].direction = VIGIL_DIR_OUT;
    ev[2].snapshot_frame_id = 0; /* unknown */
    vigil_track_point_t pts[5];
    for (int i = 0; i < 5; i++)
        pts[i] = an_point(i < 3 ? 7 : 8, 100 + (uint64_t)i, CS_T0 + 10 * MINUTE + i, "person");
    vigil_count_bucket_t counts[2] = {
        an_zone_count(CS_T0 + 10 * MINUTE, "door", "person", 1, 1),
        an_line_count(CS_T0 + 11 * MINUTE, "gate", "car", 0, 1),
    };
    const uint8_t ckpt[5] = {1, 2, 0, 4, 5};
    vigil_analytics_camera_batch_t b = {.camera_id = cam,
                                        .events = ev,
                                        .nevents = 3,
                                        .points = pts,
                                        .npoints = 5,
                                        .counts = counts,
                                        .ncounts = 2,
                                        .state = ckpt,
                                        .state_len = sizeof(ckpt),
                                        .last_sequence = 130};
    an_commit(ctx->store, &b, 1);

    /* events: newest first, every field back, each by its id too */
    vigil_event_query_t q = {.camera = cam};
    size_t n = 0;
    vigil_analytics_event_row_t *rows = an_query_all(ctx->store, q, 10, &n);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        an_assert_event(&rows[i].ev, &ev[2 - i]);
        assert_true(rows[i].id > 0);
        assert_int_equal(rows[i].reviewed, 0);
        vigil_analytics_event_row_t one;
        assert_int_equal(vigil_store_analytics_event_get(ctx->store, rows[i].id, &one), VIGIL_OK);
        assert_int_equal(one.id, rows[i].id);
        an_assert_event(&one.ev, &ev[2 - i]);
    }
    free(rows);

    /* track points of a track, in sequence order */
    vigil_track_point_t *got = NULL;
    assert_int_equal(vigil_store_track_points(ctx->store, cam, 7, 100, &got, &n), VIGIL_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i].track_id, 7);
        assert_int_equal(got[i].sequence, pts[i].sequence);
        assert_int_equal(got[i].time_us, pts[i].time_us);
        assert_int_equal(got[i].frame_id, pts[i].frame_id);
        assert_string_equal(got[i].label, "person");
        assert_true(got[i].score == pts[i].score);
        assert_true(got[i].x1 == pts[i].x1 && got[i].y1 == pts[i].y1 && got[i].x2 == pts[i].x2 &&
                    got[i].y2 == pts[i].y2);
    }
    free(got);
    assert_int_equal(vigil_store_track_points(ctx->store, cam, 8, 1, &got, &n), VIGIL_OK);
    assert_int_equal(n, 1); /* the limit */
    assert_int_equal(got[0].sequence, 103);
    free(got);

    /* counts per minute: line rows (zone '') sort before zone rows */
    vigil_count_row_t *cr = NULL;
    vigil_count_query_t cq = {.camera = cam, .bucket_us = MINUTE};
    assert_int_equal(an_counts(ctx->store, cq, &cr), 2);
    assert_string_equal(cr[0].camera_id, cam);
    assert_string_equal(cr[0].line, "gate");
    assert_string_equal(cr[0].zone, "");
    assert_string_equal(cr[0].label, "car");
    an_assert_count(&cr[0], CS_T0 + 11 * MINUTE, 0, 0, 0, 1);
    assert_string_equal(cr[1].zone, "door");
    assert_string_equal(cr[1].line, "");
    an_assert_count(&cr[1], CS_T0 + 10 * MINUTE, 1, 1, 0, 0);
    free(cr);

    /* the checkpoint */
    uint8_t *blob = NULL;
    size_t len = 0;
    uint64_t last = 0;
    assert_int_equal(vigil_store_analytics_state_get(ctx->store, cam, &blob, &len, &last),
                     VIGIL_OK);
    assert_int_equal(len, sizeof(ckpt));
    assert_memory_equal(blob, ckpt, sizeof(ckpt));
    assert_int_equal(last, 130);
    free(blob);
}

void test_store_analytics_open_event_then_closed_is_one_row_with_the_same_id(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64];
    cs_camera(ctx, "openclose", cam);
    vigil_analytics_event_t ev =
        an_event(cam, VIGIL_EVENT_ZONE_ENTER, 3, "yard", "person", 50, CS_T0);
    an_commit_events(ctx->store, cam, &ev, 1);
    vigil_analytics_event_row_t first = an_only_event(ctx->store, cam);
    assert_int_equal(first.ev.open, 1);
    assert_int_equal(first.ev.end_us, 0);

    /* changed while open (a better snapshot), then closed */
    ev.updated_sequence = 60;
    ev.snapshot_frame_id = 1060;
    ev.snapshot_sequence = 60;
    ev.peak_score = 0.875f;
    an_commit_events(ctx->store, cam, &ev, 1);
    ev.updated_sequence = 75;
    ev.open = 0;
    ev.end_sequence = 75;
    ev.end_us = CS_T0 + 25 * 1000000;
    an_commit_events(ctx->store, cam, &ev, 1);

    vigil_analytics_event_row_t last = an_only_event(ctx->store, cam);
    assert_int_equal(last.id, first.id);
    an_assert_event(&last.ev, &ev);
    assert_int_equal(last.ev.open, 0);

    /* several reports of one event in one batch: the newest stands, in any order */
    vigil_analytics_event_t reports[3];
    char cam2[64];
    cs_camera(ctx, "openclose2", cam2);
    for (int i = 0; i < 3; i++) {
        reports[i] = an_event(cam2, VIGIL_EVENT_LOITER, 4, "yard", "person", 10, CS_T0);
        reports[i].updated_sequence = 10 + (uint64_t)i * 10;
        reports[i].peak_score = 0.25f * (float)(i + 1);
    }
    reports[2].open = 0;
    reports[2].end_us = CS_T0 + 2000000;
    reports[2].end_sequence = 30;
    vigil_analytics_event_t shuffled[3] = {reports[1], reports[2], reports[0]};
    an_commit_events(ctx->store, cam2, shuffled, 3);
    last = an_only_event(ctx->store, cam2);
    an_assert_event(&last.ev, &reports[2]);
}

void test_store_analytics_stale_event_report_does_not_roll_back(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64];
    cs_camera(ctx, "stale", cam);
    vigil_analytics_event_t open_ev =
        an_event(cam, VIGIL_EVENT_ZONE_ENTER, 9, "dock", "truck", 200, CS_T0);
    vigil_analytics_event_t closed = open_ev;
    closed.open = 0;
    closed.end_sequence = 260;
    closed.end_us = CS_T0 + 60 * 1000000;
    closed.updated_sequence = 260;
    closed.peak_score = 0.9f;
    an_commit_events(ctx->store, cam, &closed, 1);
    vigil_analytics_event_row_t before = an_only_event(ctx->store, cam);

    /* a late writer replays the open report of frame 200 */
    an_commit_events(ctx->store, cam, &open_ev, 1);
    vigil_analytics_event_row_t after = an_only_event(ctx->store, cam);
    assert_int_equal(after.id, before.id);
    an_assert_event(&after.ev, &closed);

    /* the same report again is a no-op that succeeds */
    an_commit_events(ctx->store, cam, &closed, 1);
    after = an_only_event(ctx->store, cam);
    assert_int_equal(after.id, before.id);
    an_assert_event(&after.ev, &closed);
}

void test_store_analytics_same_batch_twice_leaves_the_same_rows(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64];
    cs_camera(ctx, "twice", cam);
    vigil_analytics_event_t ev[4];
    for (int i = 0; i < 4; i++)
        ev[i] = an_event(cam, i % 2 ? VIGIL_EVENT_LINE_CROSS : VIGIL_EVENT_ZONE_LEAVE,
                         (uint64_t)i + 1, i % 2 ? "gate" : "door", "person", 10 + (uint64_t)i,
                         CS_T0 + i * 1000000);
    enum { NP = 200 };
    vigil_track_point_t *pts = calloc(NP, sizeof(*pts));
    for (int i = 0; i < NP; i++)
        pts[i] = an_point(1 + (uint64_t)i % 4, 10 + (uint64_t)i / 4, CS_T0 + i, "person");
    vigil_count_bucket_t counts[2] = {an_zone_count(CS_T0, "door", "person", 2, 3),
                                      an_line_count(CS_T0, "gate", "person", 4, 5)};
    vigil_analytics_camera_batch_t b = {.camera_id = cam,
                                        .events = ev,
                                        .nevents = 4,
                                        .points = pts,
                                        .npoints = NP,
                                        .counts = counts,
                                        .ncounts = 2};
    an_commit(ctx->store, &b, 1);
    vigil_event_query_t q = {.camera = cam};
    size_t n1 = 0, n2 = 0;
    vigil_analytics_event_row_t *first = an_query_all(ctx->store, q, 3, &n1);
    an_commit(ctx->store, &b, 1);
    vigil_analytics_event_row_t *second = an_query_all(ctx->store, q, 3, &n2);
    assert_int_equal(n1, 4);
    assert_int_equal(n2, 4);
    for (size_t i = 0; i < n1; i++) {
        assert_int_equal(second[i].id, first[i].id);
        an_assert_event(&second[i].ev, &first[i].ev);
    }
    free(first);
    free(second);

    size_t total = 0;
    for (uint64_t track = 1; track <= 4; track++) {
        vigil_track_point_t *got = NULL;
        size_t n = 0;
        assert_int_equal(vigil_store_track_points(ctx->store, cam, track, 100000, &got, &n),
                         VIGIL_OK);
        assert_int_equal(n, NP / 4);
        for (size_t i = 1; i < n; i++) assert_true(got[i].sequence > got[i - 1].sequence);
        total += n;
        free(got);
    }
    assert_int_equal(total, NP);
    /* an existing point is skipped, not replaced */
    vigil_track_point_t moved = pts[0];
    moved.score = 0.03125f;
    moved.x1 = -1.0f;
    vigil_analytics_camera_batch_t again = {.camera_id = cam, .points = &moved, .npoints = 1};
    an_commit(ctx->store, &again, 1);
    vigil_track_point_t *got = NULL;
    size_t n = 0;
    assert_int_equal(vigil_store_track_points(ctx->store, cam, pts[0].track_id, 1, &got, &n),
                     VIGIL_OK);
    assert_int_equal(got[0].sequence, pts[0].sequence);
    assert_true(got[0].score == pts[0].score && got[0].x1 == pts[0].x1);
    free(got);

    vigil_count_row_t *cr = NULL;
    vigil_count_query_t cq = {.camera = cam};
    assert_int_equal(an_counts(ctx->store, cq, &cr), 2);
    an_assert_count(&cr[0], 0, 0, 0, 4, 5); /* not doubled */
    an_assert_count(&cr[1], 0, 2, 3, 0, 0);
    free(cr);
    free(pts);
}

void test_store_analytics_counts_keep_the_largest_value_per_column(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64];
    cs_camera(ctx, "max", cam);
    vigil_count_bucket_t c[3] = {
        an_zone_count(CS_T0, "hall", "person", 3, 1),
        an_zone_count(CS_T0, "hall", "person", 2, 4), /* an older report of entered */
        an_line_count(CS_T0, "exit", "person", 5, 1),
    };
    vigil_analytics_camera_batch_t b = {.camera_id = cam, .counts = c, .ncounts = 3};
    an_commit(ctx->store, &b, 1);
    vigil_count_bucket_t later[2] = {an_zone_count(CS_T0, "hall", "person", 1, 2),
                                     an_line_count(CS_T0, "exit", "person", 4, 6)};
    b.counts = later;
    b.ncounts = 2;
    an_commit(ctx->store, &b, 1);
    vigil_count_row_t *cr = NULL;
    vigil_count_query_t cq = {.camera = cam, .bucket_us = MINUTE};
    assert_int_equal(an_counts(ctx->store, cq, &cr), 2);
    assert_string_equal(cr[0].line, "exit");
    an_assert_count(&cr[0], CS_T0, 0, 0, 5, 6);
    assert_string_equal(cr[1].zone, "hall");
    an_assert_count(&cr[1], CS_T0, 3, 4, 0, 0);
    free(cr);
}

void test_store_analytics_counts_by_minute_hour_day_and_totals(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64], other[64];
    cs_camera(ctx, "buckets", cam);
    cs_camera(ctx, "buckets-other", other);
    /* CS_T0 is midnight UTC */
    const int64_t d0 = CS_T0;
    vigil_count_bucket_t c[] = {
        an_zone_count(d0, "lobby", "person", 1, 2),
        an_zone_count(d0 + MINUTE, "lobby", "person", 2, 5),
        an_zone_count(d0 + 61 * MINUTE, "lobby", "person", 4, 3),
        an_zone_count(d0 + DAY + 5 * MINUTE, "lobby", "person", 8, 1),
        an_zone_count(d0 + MINUTE, "lobby", "dog", 16, 7),
        an_line_count(d0 + 59 * MINUTE, "gate", "person", 1, 2),
        an_line_count(d0 + 60 * MINUTE, "gate", "person", 10, 20),
    };
    vigil_analytics_camera_batch_t b[2] = {
        {.camera_id = cam, .counts = c, .ncounts = sizeof(c) / sizeof(c[0])},
        {.camera_id = other, .counts = c, .ncounts = 2},
    };
    an_commit(ctx->store, b, 2);

    vigil_count_row_t *r = NULL;
    vigil_count_query_t q = {.camera = cam, .bucket_us = HOUR};
    /* rows: gate/person (2 hours), lobby/dog (1), lobby/person (2 hours of day 0, 1 of day 1) */
    assert_int_equal(an_counts(ctx->store, q, &r), 6);
    assert_string_equal(r[0].line, "gate");
    an_assert_count(&r[0], d0, 0, 0, 1, 2);
    an_assert_count(&r[1], d0 + HOUR, 0, 0, 10, 20);
    assert_string_equal(r[2].label, "dog");
    an_assert_count(&r[2], d0, 16, 7, 0, 0);
    assert_string_equal(r[3].label, "person");
    assert_string_equal(r[3].zone, "lobby");
    an_assert_count(&r[3], d0, 3, 5, 0, 0);
    an_assert_count(&r[4], d0 + HOUR, 4, 3, 0, 0);
    an_assert_count(&r[5], d0 + DAY, 8, 1, 0, 0);
    free(r);

    q.bucket_us = DAY;
    q.zone = "lobby";
    q.label = "person";
    assert_int_equal(an_counts(ctx->store, q, &r), 2);
    an_assert_count(&r[0], d0, 7, 5, 0, 0);
    an_assert_count(&r[1], d0 + DAY, 8, 1, 0, 0);
    free(r);

    q.bucket_us = MINUTE;
    assert_int_equal(an_counts(ctx->store, q, &r), 4);
    an_assert_count(&r[1], d0 + MINUTE, 2, 5, 0, 0);
    free(r);

    /* totals over the whole range, and over [d0 + 1 min, d0 + 1 day) */
    q.bucket_us = 0;
    assert_int_equal(an_counts(ctx->store, q, &r), 1);
    an_assert_count(&r[0], 0, 15, 5, 0, 0);
    free(r);
    q.since_us = d0 + MINUTE;
    q.until_us = d0 + DAY;
    assert_int_equal(an_counts(ctx->store, q, &r), 1);
    an_assert_count(&r[0], 0, 6, 5, 0, 0);
    free(r);

    /* a line, and every camera by a zone only these two cameras have */
    vigil_count_query_t ql = {.camera = cam, .line = "gate"};
    assert_int_equal(an_counts(ctx->store, ql, &r), 1);
    an_assert_count(&r[0], 0, 0, 0, 11, 22);
    free(r);
    vigil_count_query_t qa = {.zone = "lobby", .label = "person", .until_us = d0 + DAY};
    qa.camera = NULL;
    size_t n = an_counts(ctx->store, qa, &r);
    size_t ours = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(r[i].camera_id, cam) == 0) {
            an_assert_count(&r[i], 0, 7, 5, 0, 0);
            ours++;
        } else if (strcmp(r[i].camera_id, other) == 0) {
            an_assert_count(&r[i], 0, 3, 5, 0, 0);
            ours++;
        }
    }
    assert_int_equal(ours, 2);
    free(r);
}

void test_store_analytics_counts_query_refuses_bad_buckets_and_too_many_rows(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64];
    cs_camera(ctx, "cap", cam);
    vigil_count_row_t *r = NULL;
    size_t n = 0;
    const int64_t bad[] = {1, -MINUTE, 2 * MINUTE, 7 * DAY, 30 * MINUTE};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vigil_count_query_t q = {.camera = cam, .bucket_us = bad[i]};
        assert_int_equal(vigil_store_counts_query(ctx->store, &q, &r, &n), VIGIL_ERR_INVALID);
        assert_null(r);
    }
    /* 100001 minutes: too many rows by the minute, fine by the hour */
    enum { NC = 100001 };
    vigil_count_bucket_t *c = calloc(NC, sizeof(*c));
    for (int i = 0; i < NC; i++) c[i] = an_zone_count(CS_T0 + i * MINUTE, "z", "person", 1, 1);
    vigil_analytics_camera_batch_t b = {.camera_id = cam, .counts = c, .ncounts = NC};
    an_commit(ctx->store, &b, 1);
    free(c);
    vigil_count_query_t q = {.camera = cam, .bucket_us = MINUTE};
    assert_int_equal(vigil_store_counts_query(ctx->store, &q, &r, &n), VIGIL_ERR_INVALID);
    assert_null(r);
    assert_int_equal(n, 0);
    q.until_us = CS_T0 + (NC - 1) * MINUTE; /* exactly at the cap */
    assert_int_equal(vigil_store_counts_query(ctx->store, &q, &r, &n), VIGIL_OK);
    assert_int_equal(n, NC - 1);
    free(r);
    q.until_us = 0;
    q.bucket_us = HOUR;
    assert_int_equal(vigil_store_counts_query(ctx->store, &q, &r, &n), VIGIL_OK);
    assert_int_equal(n, (NC + 59) / 60);
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += r[i].entered;
    assert_int_equal(sum, NC);
    free(r);
}

static int an_matches(const vigil_analytics_event_t *ev, const vigil_event_query_t *q)
{
    static const char *const kinds[] = {"", "zone_enter", "zone_leave", "loiter", "line_cross"};
    return (!q->camera || strcmp(ev->camera_id, q->camera) == 0) &&
           (!q->kind || strcmp(kinds[ev->kind], q->kind) == 0) &&
           (!q->label || strcmp(ev->label, q->label) == 0) &&
           (!q->zone || strcmp(ev->zone, q->zone) == 0) &&
           (!q->line || strcmp(ev->line, q->line) == 0) &&
           (!q->since_us || ev->start_us >= q->since_us) &&
           (!q->until_us || ev->start_us < q->until_us);
}

static int an_same_key(const vigil_analytics_event_t *a, const vigil_analytics_event_t *b)
{
    return strcmp(a->camera_id, b->camera_id) == 0 && a->kind == b->kind &&
           a->track_id == b->track_id && strcmp(a->zone, b->zone) == 0 &&
           strcmp(a->line, b->line) == 0 && a->start_sequence == b->start_sequence;
}

typedef struct an_ided {
    int64_t id;
    vigil_analytics_event_t ev;
} an_ided_t;

static int an_newest_first(const void *pa, const void *pb)
{
    const an_ided_t *a = pa, *b = pb;
    if (a->ev.start_us != b->ev.start_us) return a->ev.start_us > b->ev.start_us ? -1 : 1;
    return a->id > b->id ? -1 : a->id < b->id;
}

void test_store_analytics_events_query_filters_and_order_match_brute_force(void **state)
{
    cs_ctx_t *ctx = *state;
    char a[64], b[64], person[64], car[64], door[64], yard[64], gate[64];
    cs_camera(ctx, "eva", a);
    cs_camera(ctx, "evb", b);
    cs_camera(ctx, "person", person);
    cs_camera(ctx, "car", car);
    cs_camera(ctx, "door", door);
    cs_camera(ctx, "yard", yard);
    cs_camera(ctx, "gate", gate);
    const char *labels[2] = {person, car};
    const char *zones[2] = {door, yard};
    enum { N = 160 };
    an_ided_t *all = calloc(N, sizeof(*all));
    uint32_t x = 777;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        int kind = 1 + (int)((x >> 10) % 4);
        const char *rule = kind == VIGIL_EVENT_LINE_CROSS ? gate : zones[(x >> 14) % 2];
        /* start times with many ties: 40 distinct values */
        all[i].ev = an_event(i % 3 ? a : b, kind, 1 + (uint64_t)i, rule, labels[(x >> 18) % 2],
                             1000 + (uint64_t)i, CS_T0 + (int64_t)((x >> 20) % 40) * 1000000);
    }
    for (int i = 0; i < N; i += 50) {
        vigil_analytics_event_t evs[50];
        size_t n = N - i < 50 ? (size_t)(N - i) : 50;
        for (size_t k = 0; k < n; k++) evs[k] = all[i + (int)k].ev;
        /* one commit, both cameras */
        vigil_analytics_event_t ea[50], eb[50];
        size_t na = 0, nb = 0;
        for (size_t k = 0; k < n; k++) {
            if (strcmp(evs[k].camera_id, a) == 0)
                ea[na++] = evs[k];
            else
                eb[nb++] = evs[k];
        }
        vigil_analytics_camera_batch_t batches[2] = {
            {.camera_id = a, .events = ea, .nevents = na},
            {.camera_id = b, .events = eb, .nevents = nb},
        };
        an_commit(ctx->store, batches, 2);
    }
    /* learn the ids */
    for (int c = 0; c < 2; c++) {
        vigil_event_query_t q = {.camera = c ? b : a};
        size_t n = 0;
        vigil_analytics_event_row_t *rows = an_query_all(ctx->store, q, 1000, &n);
        for (size_t k = 0; k < n; k++)
            for (int i = 0; i < N; i++)
                if (an_same_key(&rows[k].ev, &all[i].ev)) all[i].id = rows[k].id;
        free(rows);
    }
    for (int i = 0; i < N; i++) assert_true(all[i].id > 0);
    qsort(all, N, sizeof(*all), an_newest_first);

    const int64_t since = CS_T0 + 10 * 1000000, until = CS_T0 + 30 * 1000000;
    const vigil_event_query_t queries[] = {
        {.camera = a},
        {.camera = b, .kind = "line_cross"},
        {.label = car},
        {.camera = a, .zone = door},
        {.camera = a, .zone = door, .kind = "zone_enter", .since_us = since},
        {.camera = b, .line = gate, .until_us = until},
        {.zone = yard, .label = person, .since_us = since, .until_us = until},
        {.label = person, .kind = "loiter"},
        {.camera = a, .since_us = since, .until_us = until},
    };
    for (size_t qi = 0; qi < sizeof(queries) / sizeof(queries[0]); qi++) {
        for (int page = 1; page <= 64; page *= 8) {
            size_t got_n = 0, want_n = 0;
            vigil_analytics_event_row_t *got = an_query_all(ctx->store, queries[qi], page, &got_n);
            for (int i = 0; i < N; i++) {
                if (!an_matches(&all[i].ev, &queries[qi])) continue;
                assert_true(want_n < got_n);
                assert_int_equal(got[want_n].id, all[i].id);
                an_assert_event(&got[want_n].ev, &all[i].ev);
                want_n++;
            }
            if (got_n != want_n)
                print_error("query %zu page %d: got %zu rows, want %zu\n", qi, page, got_n,
                            want_n);
            assert_int_equal(got_n, want_n);
            assert_true(want_n > 0);
            free(got);
        }
    }
    /* a zone and a line at once: no event has both */
    vigil_event_query_t both = {.camera = a, .zone = door, .line = gate};
    size_t n = 0;
    vigil_analytics_event_row_t *rows = an_query_all(ctx->store, both, 10, &n);
    assert_int_equal(n, 0);
    free(rows);
    free(all);
}

void test_store_analytics_events_pagination_across_equal_start_times(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64];
    cs_camera(ctx, "ties", cam);
    enum { N = 25 };
    vigil_analytics_event_t ev[N];
    for (int i = 0; i < N; i++) /* three start times, ids in insertion order */
        ev[i] = an_event(cam, VIGIL_EVENT_ZONE_LEAVE, 1 + (uint64_t)i, "door", "person",
                         (uint64_t)i, CS_T0 + (i % 3) * 1000000);
    for (int i = 0; i < N; i++) an_commit_events(ctx->store, cam, &ev[i], 1);
    vigil_event_query_t q = {.camera = cam};
    const int pages[] = {1, 4, 8, 25, 1000};
    for (size_t p = 0; p < sizeof(pages) / sizeof(pages[0]); p++) {
        size_t n = 0;
        vigil_analytics_event_row_t *rows = an_query_all(ctx->store, q, pages[p], &n);
        assert_int_equal(n, N);
        /* start 2 s: i = 23, 20, ..., 2; then 1 s: 22, ..., 1; then 0 s: 24, ..., 0 */
        size_t k = 0;
        for (int t = 2; t >= 0; t--)
            for (int i = N - 1; i >= 0; i--)
                if (i % 3 == t) {
                    assert_int_equal(rows[k].ev.track_id, (uint64_t)i + 1);
                    k++;
                }
        free(rows);
    }
    /* an exact last page says there is no next one */
    vigil_analytics_event_row_t *rows = NULL;
    size_t n = 0;
    int64_t ns = 0, ni = 0;
    q.limit = 20;
    assert_int_equal(vigil_store_analytics_events_query(ctx->store, &q, &rows, &n, &ns, &ni),
                     VIGIL_OK);
    assert_int_equal(n, 20);
    assert_true(ni > 0);
    q.after_start_us = ns;
    q.after_id = ni;
    q.limit = 5;
    free(rows);
    assert_int_equal(vigil_store_analytics_events_query(ctx->store, &q, &rows, &n, &ns, &ni),
                     VIGIL_OK);
    assert_int_equal(n, 5);
    assert_int_equal(ni, 0);
    assert_int_equal(ns, 0);
    free(rows);
}

void test_store_analytics_events_query_rejects_bad_limit(void **state)
{
    cs_ctx_t *ctx = *state;
    vigil_analytics_event_row_t *rows = NULL;
    size_t n = 0;
    int64_t ns = 0, ni = 0;
    const int bad[3] = {0, -1, 1001};
    for (int i = 0; i < 3; i++) {
        vigil_event_query_t q = {.limit = bad[i]};
        assert_int_equal(vigil_store_analytics_events_query(ctx->store, &q, &rows, &n, &ns, &ni),
                         VIGIL_ERR_INVALID);
    }
    vigil_event_query_t q = {.camera = "nobody-at-all", .limit = 1000, .after_id = -1};
    assert_int_equal(vigil_store_analytics_events_query(ctx->store, &q, &rows, &n, &ns, &ni),
                     VIGIL_ERR_INVALID);
    q.after_id = 0;
    assert_int_equal(vigil_store_analytics_events_query(ctx->store, &q, &rows, &n, &ns, &ni),
                     VIGIL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(ni, 0);
    free(rows);
}

void test_store_analytics_state_is_replaced_only_by_a_larger_sequence(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64], other[64];
    cs_camera(ctx, "ckpt", cam);
    cs_camera(ctx, "ckpt-other", other);
    uint8_t *blob = (uint8_t *)"x";
    size_t len = 99;
    uint64_t last = 99;
    assert_int_equal(vigil_store_analytics_state_get(ctx->store, cam, &blob, &len, &last),
                     VIGIL_ERR_NOT_FOUND);
    assert_null(blob);
    assert_int_equal(len, 0);

    uint8_t v1[300], v2[200], v0[10];
    cs_fill_bytes(v1, sizeof(v1), 1);
    cs_fill_bytes(v2, sizeof(v2), 2);
    cs_fill_bytes(v0, sizeof(v0), 3);
    vigil_analytics_camera_batch_t b = {
        .camera_id = cam, .state = v1, .state_len = sizeof(v1), .last_sequence = 100};
    an_commit(ctx->store, &b, 1);
    b.state = v2;
    b.state_len = sizeof(v2);
    b.last_sequence = 200;
    an_commit(ctx->store, &b, 1);
    /* a late writer with an older checkpoint, and one at the same sequence */
    b.state = v0;
    b.state_len = sizeof(v0);
    b.last_sequence = 150;
    an_commit(ctx->store, &b, 1);
    b.last_sequence = 200;
    an_commit(ctx->store, &b, 1);
    /* no checkpoint in a batch leaves the stored one */
    vigil_analytics_camera_batch_t none = {.camera_id = cam, .last_sequence = 900};
    an_commit(ctx->store, &none, 1);
    assert_int_equal(vigil_store_analytics_state_get(ctx->store, cam, &blob, &len, &last),
                     VIGIL_OK);
    assert_int_equal(last, 200);
    assert_int_equal(len, sizeof(v2));
    assert_memory_equal(blob, v2, sizeof(v2));
    free(blob);
    assert_int_equal(vigil_store_analytics_state_get(ctx->store, other, &blob, &len, &last),
                     VIGIL_ERR_NOT_FOUND);

    /* an empty checkpoint is a checkpoint */
    b.camera_id = other;
    b.state = v0;
    b.state_len = 0;
    b.last_sequence = 1;
    an_commit(ctx->store, &b, 1);
    assert_int_equal(vigil_store_analytics_state_get(ctx->store, other, &blob, &len, &last),
                     VIGIL_OK);
    assert_int_equal(len, 0);
    assert_int_equal(last, 1);
    free(blob);
}

void test_store_analytics_not_found_cases(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64];
    cs_camera(ctx, "nf", cam);
    vigil_analytics_event_row_t row;
    assert_int_equal(vigil_store_analytics_event_get(ctx->store, INT64_MAX - 7, &row),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_store_analytics_event_get(ctx->store, 0, &row), VIGIL_ERR_NOT_FOUND);
    vigil_track_point_t pt = an_point(5, 1, CS_T0, "person");
    vigil_analytics_camera_batch_t b = {.camera_id = cam, .points = &pt, .npoints = 1};
    an_commit(ctx->store, &b, 1);
    vigil_track_point_t *pts = NULL;
    size_t n = 99;
    assert_int_equal(vigil_store_track_points(ctx->store, cam, 6, 10, &pts, &n),
                     VIGIL_ERR_NOT_FOUND);
    assert_null(pts);
    assert_int_equal(n, 0);
    assert_int_equal(vigil_store_track_points(ctx->store, "nobody-at-all", 5, 10, &pts, &n),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_store_track_points(ctx->store, cam, 5, 0, &pts, &n), VIGIL_ERR_INVALID);
    assert_int_equal(vigil_store_track_points(ctx->store, cam, 5, 100001, &pts, &n),
                     VIGIL_ERR_INVALID);
    assert_int_equal(vigil_store_track_points(ctx->store, cam, 5, 100000, &pts, &n), VIGIL_OK);
    assert_int_equal(n, 1);
    free(pts);
    /* a query that matches nothing is not an error */
    vigil_count_row_t *cr = NULL;
    vigil_count_query_t cq = {.camera = cam};
    assert_int_equal(an_counts(ctx->store, cq, &cr), 0);
    free(cr);
}

/* Whether camera cam has any analytics row (events, points, counts, state). */
static int an_has_anything(vigil_store_t *s, const char *cam)
{
    vigil_event_query_t q = {.camera = cam};
    size_t ne = 0, nc = 0, np = 0;
    vigil_analytics_event_row_t *rows = an_query_all(s, q, 10, &ne);
    free(rows);
    vigil_count_row_t *cr = NULL;
    vigil_count_query_t cq = {.camera = cam};
    nc = an_counts(s, cq, &cr);
    free(cr);
    vigil_track_point_t *pts = NULL;
    vigil_err_t perr = vigil_store_track_points(s, cam, 1, 10, &pts, &np);
    free(pts);
    uint8_t *blob = NULL;
    size_t len = 0;
    uint64_t last = 0;
    vigil_err_t serr = vigil_store_analytics_state_get(s, cam, &blob, &len, &last);
    free(blob);
    return ne || nc || perr != VIGIL_ERR_NOT_FOUND || serr != VIGIL_ERR_NOT_FOUND;
}

void test_store_analytics_failing_batch_leaves_nothing_of_the_commit(void **state)
{
    cs_ctx_t *ctx = *state;
    char a[64], b[64], err[512];
    cs_camera(ctx, "atomic-a", a);
    cs_camera(ctx, "atomic-b", b);
    vigil_analytics_event_t ev = an_event(a, VIGIL_EVENT_ZONE_ENTER, 1, "door", "person", 1, CS_T0);
    vigil_track_point_t pt = an_point(1, 1, CS_T0, "person");
    vigil_count_bucket_t ct = an_zone_count(CS_T0, "door", "person", 1, 1);
    const uint8_t ckpt[3] = {9, 9, 9};
    vigil_analytics_camera_batch_t good = {.camera_id = a,
                                           .events = &ev,
                                           .nevents = 1,
                                           .points = &pt,
                                           .npoints = 1,
                                           .counts = &ct,
                                           .ncounts = 1,
                                           .state = ckpt,
                                           .state_len = sizeof(ckpt),
                                           .last_sequence = 1};

    vigil_analytics_event_t bad_kind = an_event(b, VIGIL_EVENT_ZONE_LEAVE, 2, "door", "car", 5,
                                                CS_T0);
    bad_kind.kind = 42;
    vigil_analytics_event_t zone_and_line = an_event(b, VIGIL_EVENT_LINE_CROSS, 2, "gate", "car",
                                                     5, CS_T0);
    snprintf(zone_and_line.zone, sizeof(zone_and_line.zone), "door");
    vigil_analytics_event_t wrong_camera = an_event(a, VIGIL_EVENT_ZONE_LEAVE, 2, "door", "car",
                                                    5, CS_T0);
    vigil_count_bucket_t unaligned = an_zone_count(CS_T0 + 1, "door", "person", 1, 1);
    vigil_count_bucket_t no_rule = an_zone_count(CS_T0, "", "person", 1, 1);
    struct {
        vigil_analytics_camera_batch_t second;
        const char *want; /* in errstr */
    } cases[] = {
        {{.camera_id = NULL}, "no camera id"},
        {{.camera_id = "../etc"}, "../etc"},
        {{.camera_id = b, .events = &bad_kind, .nevents = 1}, b},
        {{.camera_id = b, .events = &zone_and_line, .nevents = 1}, b},
        {{.camera_id = b, .events = &wrong_camera, .nevents = 1}, b},
        {{.camera_id = b, .counts = &unaligned, .ncounts = 1}, b},
        {{.camera_id = b, .counts = &no_rule, .ncounts = 1}, b},
        {{.camera_id = b, .points = NULL, .npoints = 3}, b},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vigil_analytics_camera_batch_t batches[2] = {good, cases[i].second};
        err[0] = '\0';
        assert_int_equal(vigil_store_analytics_commit(ctx->store, batches, 2, err, sizeof(err)),
                         VIGIL_ERR_INVALID);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: \"%s\" does not name \"%s\"", i, err, cases[i].want);
        assert_false(an_has_anything(ctx->store, a));
        assert_false(an_has_anything(ctx->store, b));
    }
    /* and the good batch alone goes in whole */
    an_commit(ctx->store, &good, 1);
    assert_true(an_has_anything(ctx->store, a));
    assert_int_equal(vigil_store_analytics_commit(ctx->store, NULL, 0, err, sizeof(err)),
                     VIGIL_OK);
}

static void an_touch(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0755);
            *p = '/';
        }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("mp4", f);
    fclose(f);
}

void test_store_analytics_sweep_deletes_closed_events_clips_points_and_minutes(void **state)
{
    cs_ctx_t *ctx = *state;
    char a[64], b[64], path[PATH_MAX];
    cs_camera(ctx, "asweep-a", a);
    cs_camera(ctx, "asweep-b", b);
    const int64_t cut = CS_OLD + 5 * DAY;
    /* camera a: closed long ago (with a clip), closed long ago (no clip),
     * closed exactly at the cut, open since long ago, started before and
     * closed after the cut */
    vigil_analytics_event_t ev[5] = {
        an_event(a, VIGIL_EVENT_ZONE_LEAVE, 1, "door", "person", 1, CS_OLD),
        an_event(a, VIGIL_EVENT_LINE_CROSS, 2, "gate", "person", 2, CS_OLD + HOUR),
        an_event(a, VIGIL_EVENT_ZONE_LEAVE, 3, "door", "person", 3, cut),
        an_event(a, VIGIL_EVENT_ZONE_ENTER, 4, "door", "person", 4, CS_OLD),
        an_event(a, VIGIL_EVENT_ZONE_ENTER, 5, "door", "person", 5, cut - DAY),
    };
    ev[4].open = 0;
    ev[4].end_us = cut + 1;
    ev[4].end_sequence = 500;
    ev[4].updated_sequence = 500;
    enum { NP = 1204 }; /* more than one sweep batch */
    vigil_track_point_t *pts = calloc(NP + 3, sizeof(*pts));
    for (int i = 0; i < NP; i++)
        pts[i] = an_point(1 + (uint64_t)i % 7, (uint64_t)i, CS_OLD + i, "person");
    for (int i = 0; i < 3; i++) pts[NP + i] = an_point(9, 5000 + (uint64_t)i, cut + i, "person");
    vigil_count_bucket_t counts[4] = {
        an_zone_count(CS_OLD, "door", "person", 1, 1),
        an_zone_count(cut - MINUTE, "door", "person", 2, 2), /* ends at the cut: goes */
        an_zone_count(cut, "door", "person", 4, 4),          /* kept */
        an_line_count(cut - MINUTE, "gate", "person", 8, 8), /* goes */
    };
    vigil_analytics_camera_batch_t ba = {.camera_id = a,
                                         .events = ev,
                                         .nevents = 5,
                                         .points = pts,
                                         .npoints = NP + 3,
                                         .counts = counts,
                                         .ncounts = 4,
                                         .state = (const uint8_t *)"s",
                                         .state_len = 1,
                                         .last_sequence = 5};
    /* camera b: one of each, old */
    vigil_analytics_event_t evb = an_event(b, VIGIL_EVENT_ZONE_LEAVE, 1, "door", "car", 1, CS_OLD);
    vigil_track_point_t ptb = an_point(1, 1, CS_OLD, "car");
    vigil_count_bucket_t ctb = an_zone_count(CS_OLD, "door", "car", 1, 1);
    vigil_analytics_camera_batch_t bb = {.camera_id = b,
                                         .events = &evb,
                                         .nevents = 1,
                                         .points = &ptb,
                                         .npoints = 1,
                                         .counts = &ctb,
                                         .ncounts = 1};
    vigil_analytics_camera_batch_t both[2] = {ba, bb};
    an_commit(ctx->store, both, 2);

    /* clips for the first and third events of a and b's event */
    int64_t ids[5] = {0};
    vigil_event_query_t q = {.camera = a};
    size_t n = 0;
    vigil_analytics_event_row_t *rows = an_query_all(ctx->store, q, 10, &n);
    assert_int_equal(n, 5);
    for (size_t k = 0; k < n; k++) ids[rows[k].ev.track_id - 1] = rows[k].id;
    free(rows);
    vigil_analytics_event_row_t eb = an_only_event(ctx->store, b);
    char clip0[PATH_MAX], clip2[PATH_MAX], clipb[PATH_MAX];
    assert_int_equal(vigil_store_clip_path(ctx->store, a, ids[0], clip0, sizeof(clip0)), VIGIL_OK);
    assert_int_equal(vigil_store_clip_path(ctx->store, a, ids[2], clip2, sizeof(clip2)), VIGIL_OK);
    assert_int_equal(vigil_store_clip_path(ctx->store, b, eb.id, clipb, sizeof(clipb)), VIGIL_OK);
    an_touch(clip0);
    an_touch(clip2);
    an_touch(clipb);

    vigil_sweep_result_t r;
    assert_int_equal(vigil_store_sweep(ctx->store, a, cut, &r), VIGIL_OK);
    assert_int_equal(r.analytics_events_deleted, 2);
    assert_int_equal(r.clips_deleted, 1);
    assert_int_equal(r.track_points_deleted, NP);
    assert_int_equal(r.counts_deleted, 3);
    assert_false(cs_exists(clip0));
    assert_true(cs_exists(clip2));
    assert_true(cs_exists(clipb));
    rows = an_query_all(ctx->store, q, 10, &n);
    assert_int_equal(n, 3); /* at the cut, open, closed after the cut */
    for (size_t k = 0; k < n; k++) assert_true(rows[k].ev.track_id >= 3);
    free(rows);
    vigil_analytics_event_row_t gone;
    assert_int_equal(vigil_store_analytics_event_get(ctx->store, ids[0], &gone),
                     VIGIL_ERR_NOT_FOUND);
    vigil_track_point_t *got = NULL;
    for (uint64_t track = 1; track <= 7; track++)
        assert_int_equal(vigil_store_track_points(ctx->store, a, track, 10, &got, &n),
                         VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_store_track_points(ctx->store, a, 9, 10, &got, &n), VIGIL_OK);
    assert_int_equal(n, 3);
    free(got);
    vigil_count_row_t *cr = NULL;
    vigil_count_query_t cq = {.camera = a, .bucket_us = MINUTE};
    assert_int_equal(an_counts(ctx->store, cq, &cr), 1);
    an_assert_count(&cr[0], cut, 4, 4, 0, 0);
    free(cr);
    /* the checkpoint is not history: it stays */
    uint8_t *blob = NULL;
    size_t len = 0;
    uint64_t last = 0;
    assert_int_equal(vigil_store_analytics_state_get(ctx->store, a, &blob, &len, &last), VIGIL_OK);
    free(blob);
    /* camera b untouched */
    assert_true(an_has_anything(ctx->store, b));
    assert_int_equal(an_only_event(ctx->store, b).id, eb.id);

    /* a second sweep finds nothing */
    assert_int_equal(vigil_store_sweep(ctx->store, a, cut, &r), VIGIL_OK);
    assert_int_equal(r.analytics_events_deleted + r.clips_deleted + r.track_points_deleted +
                         r.counts_deleted,
                     0);

    /* the open event goes once it has closed before the cut */
    ev[3].open = 0;
    ev[3].end_us = CS_OLD + DAY;
    ev[3].end_sequence = 400;
    ev[3].updated_sequence = 400;
    an_commit_events(ctx->store, a, &ev[3], 1);

    /* every camera */
    assert_int_equal(vigil_store_sweep(ctx->store, NULL, cut, &r), VIGIL_OK);
    assert_true(r.analytics_events_deleted >= 2);
    assert_true(r.clips_deleted >= 1);
    assert_true(r.track_points_deleted >= 1);
    assert_true(r.counts_deleted >= 1);
    assert_false(cs_exists(clipb));
    assert_true(cs_exists(clip2));
    assert_false(an_has_anything(ctx->store, b));
    rows = an_query_all(ctx->store, q, 10, &n);
    assert_int_equal(n, 2);
    free(rows);
    snprintf(path, sizeof(path), "%s/clips/%s", ctx->data_dir, a);
    assert_true(cs_exists(path));
    free(pts);
}

void test_store_frames_range_oldest_first_bounded(void **state)
{
    cs_ctx_t *ctx = *state;
    char a[64], b[64], err[512] = "";
    cs_camera(ctx, "range-a", a);
    cs_camera(ctx, "range-b", b);
    unsigned char buf[100];
    /* written out of time order; two frames share a capture time */
    const int64_t t[6] = {5, 1, 3, 3, 9, 7};
    int64_t id_of[6];
    for (int i = 0; i < 6; i++) {
        vigil_frame_row_t f = cs_frame(a, (uint64_t)i + 1, CS_T0 + t[i] * 1000000);
        cs_fill_bytes(buf, sizeof(buf), (uint32_t)i);
        assert_int_equal(vigil_store_frame_put(ctx->store, &f, buf, sizeof(buf), err, sizeof(err)),
                         VIGIL_OK);
        id_of[i] = f.id;
    }
    vigil_frame_row_t fb = cs_frame(b, 1, CS_T0 + 4 * 1000000);
    assert_int_equal(vigil_store_frame_put(ctx->store, &fb, buf, sizeof(buf), err, sizeof(err)),
                     VIGIL_OK);

    vigil_frame_row_t *rows = NULL;
    size_t n = 0;
    assert_int_equal(vigil_store_frames_range(ctx->store, a, CS_T0 + 3 * 1000000,
                                              CS_T0 + 9 * 1000000, 100, &rows, &n),
                     VIGIL_OK);
    assert_int_equal(n, 4); /* 3, 3, 5, 7 */
    const int want[4] = {2, 3, 0, 5};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rows[i].id, id_of[want[i]]);
        assert_string_equal(rows[i].camera_id, a);
        assert_int_equal(rows[i].capture_time_us, CS_T0 + t[want[i]] * 1000000);
        assert_true(rows[i].path[0] != '\0');
    }
    free(rows);
    assert_int_equal(vigil_store_frames_range(ctx->store, a, CS_T0, CS_T0 + 10 * 1000000, 2, &rows,
                                              &n),
                     VIGIL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].id, id_of[1]);
    free(rows);
    /* no frame in the range: an empty answer */
    assert_int_equal(vigil_store_frames_range(ctx->store, a, CS_T0 + 100 * 1000000,
                                              CS_T0 + 200 * 1000000, 10, &rows, &n),
                     VIGIL_OK);
    assert_int_equal(n, 0);
    free(rows);
    rows = NULL;
    assert_int_equal(vigil_store_frames_range(ctx->store, a, 0, 0, 0, &rows, &n),
                     VIGIL_ERR_INVALID);
    assert_int_equal(vigil_store_frames_range(ctx->store, a, 0, 0, 100001, &rows, &n),
                     VIGIL_ERR_INVALID);
    assert_int_equal(vigil_store_frames_range(ctx->store, NULL, 0, 0, 10, &rows, &n),
                     VIGIL_ERR_INVALID);
    assert_null(rows);
}

void test_store_clip_path_is_under_the_data_dir_and_refuses_bad_ids(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64], path[PATH_MAX], want[PATH_MAX + 128];
    cs_camera(ctx, "clip", cam);
    assert_int_equal(vigil_store_clip_path(ctx->store, cam, 42, path, sizeof(path)), VIGIL_OK);
    snprintf(want, sizeof(want), "%s/clips/%s/42.mp4", ctx->data_dir, cam);
    assert_string_equal(path, want);
    const char *bad_cams[] = {"..", "../etc", "a/b", "", "a b"};
    for (size_t i = 0; i < sizeof(bad_cams) / sizeof(bad_cams[0]); i++)
        assert_int_equal(vigil_store_clip_path(ctx->store, bad_cams[i], 42, path, sizeof(path)),
                         VIGIL_ERR_INVALID);
    assert_int_equal(vigil_store_clip_path(ctx->store, NULL, 42, path, sizeof(path)),
                     VIGIL_ERR_INVALID);
    assert_int_equal(vigil_store_clip_path(ctx->store, cam, 0, path, sizeof(path)),
                     VIGIL_ERR_INVALID);
    assert_int_equal(vigil_store_clip_path(ctx->store, cam, -5, path, sizeof(path)),
                     VIGIL_ERR_INVALID);
    assert_int_equal(vigil_store_clip_path(ctx->store, cam, 42, path, 8), VIGIL_ERR_INVALID);
    assert_string_equal(path, "");
}
