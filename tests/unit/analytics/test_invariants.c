/* Invariants of the analyzer's reports over a long busy scene (10 zones, 10
 * lines, ~20 objects, misses, clutter, gated gaps): what a consumer of the
 * reports relies on, checked frame by frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analytics_support.h"

typedef struct open_ev {
    vigil_analytics_event_t e;
    int open;
} open_ev_t;

static int same_key(const vigil_analytics_event_t *a, const vigil_analytics_event_t *b)
{
    return a->kind == b->kind && a->track_id == b->track_id &&
           a->start_sequence == b->start_sequence && strcmp(a->zone, b->zone) == 0 &&
           strcmp(a->line, b->line) == 0;
}

static int same_bucket(const vigil_count_bucket_t *a, const vigil_count_bucket_t *b)
{
    return a->minute_us == b->minute_us && strcmp(a->zone, b->zone) == 0 &&
           strcmp(a->line, b->line) == 0 && strcmp(a->label, b->label) == 0;
}

static void test_reports_are_consistent_over_a_long_busy_scene(void **state)
{
    enum { N = 1500, NZ = 10, NL = 10 };
    at_scene_t s;
    at_scene_make(&s, 31337, N, 20);
    vigil_zone_conf_t z[NZ];
    vigil_line_conf_t l[NL];
    at_scene_rules(z, NZ, l, NL);
    vigil_analyzer_t *a = at_analyzer(z, NZ, l, NL, 3);
    size_t cap = 1 << 14, nev = 0, nb = 0;
    open_ev_t *evs = calloc(cap, sizeof *evs);
    vigil_count_bucket_t *bs = calloc(cap, sizeof *bs);
    uint64_t max_id = 0;
    vigil_analytics_out_t out;
    for (size_t f = 0; f < N; f++) {
        const vigil_analytics_frame_t *fr = &s.frames[f];
        assert_int_equal(vigil_analyzer_frame(a, fr, s.dets + s.first[f], s.ndets[f], &out, NULL),
                         VIGIL_OK);
        /* ids: dense, from 1, each new one the next */
        for (size_t i = 0; i < s.ndets[f]; i++) {
            uint64_t id = (uint64_t)out.det_track[i];
            assert_true(id < vigil_analyzer_next_track_id(a));
            if (id > max_id) {
                assert_true(id == max_id + 1 || id <= max_id + s.ndets[f]);
                max_id = id;
            }
        }
        assert_int_equal(max_id + 1, vigil_analyzer_next_track_id(a));
        for (size_t i = 0; i < out.npoints; i++) {
            assert_true(out.points[i].track_id >= 1 && out.points[i].track_id <= max_id);
            assert_true(out.points[i].sequence <= fr->sequence);
        }
        for (size_t i = 0; i < out.nevents; i++) {
            const vigil_analytics_event_t *e = &out.events[i];
            assert_int_equal(e->updated_sequence, fr->sequence);
            assert_string_equal(e->camera_id, "cam1");
            assert_true(e->start_sequence <= fr->sequence);
            assert_true((e->zone[0] != 0) != (e->line[0] != 0));
            assert_true(e->snapshot_sequence >= e->start_sequence ||
                        e->kind == VIGIL_EVENT_LOITER || e->kind == VIGIL_EVENT_ZONE_ENTER);
            assert_true(e->peak_score > 0 && e->peak_score <= 1);
            for (size_t j = i + 1; j < out.nevents; j++) /* one report per event and frame */
                assert_false(same_key(e, &out.events[j]));
            if (e->kind == VIGIL_EVENT_LINE_CROSS)
                assert_true(e->direction == VIGIL_DIR_IN || e->direction == VIGIL_DIR_OUT);
            else
                assert_int_equal(e->direction, VIGIL_DIR_NONE);
            if (!e->open) {
                assert_true(e->end_sequence >= e->start_sequence);
                assert_true(e->end_us >= e->start_us);
                assert_true(e->end_sequence <= fr->sequence);
            } else {
                assert_true(e->kind == VIGIL_EVENT_ZONE_ENTER || e->kind == VIGIL_EVENT_LOITER);
                assert_int_equal(e->end_us, 0);
                assert_int_equal(e->end_sequence, 0);
            }
            size_t k = 0;
            while (k < nev && !same_key(&evs[k].e, e)) k++;
            if (k < nev) {
                assert_true(evs[k].open); /* nothing is reported after it closed */
                assert_true(e->peak_score >= evs[k].e.peak_score);
            } else {
                assert_true(nev < cap);
                nev++;
            }
            evs[k].e = *e;
            evs[k].open = e->open;
        }
        /* occupancy = open zone_enter events, per zone and label */
        vigil_zone_occupancy_t *rows;
        size_t nrows;
        assert_int_equal(vigil_analyzer_occupancy(a, &rows, &nrows), VIGIL_OK);
        size_t open_enters = 0;
        for (size_t k = 0; k < nev; k++) {
            if (!evs[k].open || evs[k].e.kind != VIGIL_EVENT_ZONE_ENTER) continue;
            open_enters++;
            int found = 0;
            for (size_t r = 0; r < nrows; r++)
                found |= strcmp(rows[r].zone, evs[k].e.zone) == 0 &&
                         strcmp(rows[r].label, evs[k].e.label) == 0;
            assert_true(found);
        }
        int64_t total = 0;
        for (size_t r = 0; r < nrows; r++) total += rows[r].count;
        assert_int_equal(total, open_enters);
        free(rows);
        /* buckets: cumulative within their minute, never older than 10 minutes */
        for (size_t i = 0; i < out.ncounts; i++) {
            const vigil_count_bucket_t *c = &out.counts[i];
            assert_true(c->minute_us % 60000000 == 0);
            assert_true((c->zone[0] != 0) != (c->line[0] != 0));
            size_t k = 0;
            while (k < nb && !same_bucket(&bs[k], c)) k++;
            if (k < nb) {
                assert_true(c->entered >= bs[k].entered && c->peak >= bs[k].peak &&
                            c->in >= bs[k].in && c->out >= bs[k].out);
            } else {
                assert_true(nb < cap);
                nb++;
            }
            bs[k] = *c;
        }
    }
    assert_true(max_id > 50);
    vigil_analyzer_free(a);
    free(evs);
    free(bs);
    at_scene_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reports_are_consistent_over_a_long_busy_scene),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
