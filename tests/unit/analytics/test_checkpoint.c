/* Unit tests of checkpoints (src/analytics/checkpoint*.c): a restored
 * analyzer continues exactly like the original; corrupt, newer, foreign and
 * inconsistent checkpoints are refused; state of rules that are gone is
 * dropped and their open events closed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analytics_support.h"
#include "vigil/v1/analytics.pb-c.h"

typedef struct rec {
    uint8_t *bytes;
    size_t len;
} rec_t;

static void put(rec_t *r, const void *p, size_t n)
{
    r->bytes = realloc(r->bytes, r->len + n + 1);
    assert_non_null(r->bytes);
    if (n) memcpy(r->bytes + r->len, p, n);
    r->len += n;
}

/* Every byte of one frame's output. */
static rec_t record(const vigil_analytics_out_t *out, size_t ndets)
{
    rec_t r = {NULL, 0};
    put(&r, &out->ntracks, sizeof out->ntracks);
    put(&r, out->det_track, ndets * sizeof *out->det_track);
    put(&r, &out->npoints, sizeof out->npoints);
    put(&r, out->points, out->npoints * sizeof *out->points);
    put(&r, &out->nevents, sizeof out->nevents);
    put(&r, out->events, out->nevents * sizeof *out->events);
    put(&r, &out->ncounts, sizeof out->ncounts);
    put(&r, out->counts, out->ncounts * sizeof *out->counts);
    return r;
}

enum { NZ = 6, NL = 5 };

static void rules(vigil_zone_conf_t *z, vigil_line_conf_t *l)
{
    at_scene_rules(z, NZ, l, NL);
}

static vigil_analyzer_t *fresh(void)
{
    vigil_zone_conf_t z[NZ];
    vigil_line_conf_t l[NL];
    rules(z, l);
    return at_analyzer(z, NZ, l, NL, 3);
}

static vigil_analyzer_t *restore(const uint8_t *buf, size_t len, char *err, size_t errsize)
{
    vigil_zone_conf_t z[NZ];
    vigil_line_conf_t l[NL];
    rules(z, l);
    vigil_tracker_conf_t conf;
    vigil_tracker_conf_init(&conf);
    return vigil_analyzer_load("cam1", &conf, z, NZ, l, NL, buf, len, err, errsize);
}

static void run(vigil_analyzer_t *a, const at_scene_t *s, size_t f, vigil_analytics_out_t *out)
{
    size_t rejected = 0;
    assert_int_equal(vigil_analyzer_frame(a, &s->frames[f], s->dets + s->first[f], s->ndets[f],
                                          out, &rejected),
                     VIGIL_OK);
}

static void test_checkpoint_restored_analyzer_continues_exactly_like_the_original(void **state)
{
    enum { N = 400 };
    static const size_t ks[] = {1, 2, 3, 50, 123, 200, 271, 333, 399};
    enum { NK = sizeof ks / sizeof ks[0] };
    at_scene_t s;
    at_scene_make(&s, 777, N, 8);
    vigil_analyzer_t *a = fresh();
    rec_t *recs = calloc(N, sizeof *recs);
    rec_t cps[NK];
    size_t kinds[5] = {0}, ki = 0;
    vigil_analytics_out_t out;
    for (size_t f = 0; f < N; f++) {
        run(a, &s, f, &out);
        recs[f] = record(&out, s.ndets[f]);
        for (size_t e = 0; e < out.nevents; e++) kinds[out.events[e].kind]++;
        if (ki < NK && f + 1 == ks[ki]) {
            cps[ki].bytes = NULL;
            assert_int_equal(vigil_analyzer_save(a, &cps[ki].bytes, &cps[ki].len), VIGIL_OK);
            ki++;
        }
    }
    /* the scene exercises everything being restored */
    for (int k = 1; k <= 4; k++) assert_true(kinds[k] >= 3);
    uint8_t *final_a;
    size_t final_alen;
    assert_int_equal(vigil_analyzer_save(a, &final_a, &final_alen), VIGIL_OK);

    for (size_t k = 0; k < NK; k++) {
        char err[256] = "";
        vigil_analyzer_t *b = restore(cps[k].bytes, cps[k].len, err, sizeof err);
        if (!b) fprintf(stderr, "restore at %zu: %s\n", ks[k], err);
        assert_non_null(b);
        assert_int_equal(vigil_analyzer_last_sequence(b), ks[k]);
        /* saving the restored analyzer gives the same bytes */
        uint8_t *again;
        size_t againlen;
        assert_int_equal(vigil_analyzer_save(b, &again, &againlen), VIGIL_OK);
        assert_int_equal(againlen, cps[k].len);
        assert_memory_equal(again, cps[k].bytes, againlen);
        free(again);
        for (size_t f = ks[k]; f < N; f++) {
            run(b, &s, f, &out);
            rec_t r = record(&out, s.ndets[f]);
            if (r.len != recs[f].len || memcmp(r.bytes, recs[f].bytes, r.len) != 0)
                fail_msg("restored at frame %zu: frame %zu differs", ks[k], f + 1);
            free(r.bytes);
        }
        uint8_t *final_b;
        size_t final_blen;
        assert_int_equal(vigil_analyzer_save(b, &final_b, &final_blen), VIGIL_OK);
        assert_int_equal(final_blen, final_alen);
        assert_memory_equal(final_b, final_a, final_alen);
        free(final_b);
        vigil_analyzer_free(b);
        free(cps[k].bytes);
    }
    free(final_a);
    for (size_t f = 0; f < N; f++) free(recs[f].bytes);
    free(recs);
    vigil_analyzer_free(a);
    at_scene_free(&s);
}

/* A checkpoint of a busy moment of the scene. */
static void busy_checkpoint(uint8_t **buf, size_t *len)
{
    at_scene_t s;
    at_scene_make(&s, 99, 120, 8);
    vigil_analyzer_t *a = fresh();
    vigil_analytics_out_t out;
    for (size_t f = 0; f < s.nframes; f++) run(a, &s, f, &out);
    assert_int_equal(vigil_analyzer_save(a, buf, len), VIGIL_OK);
    vigil_analyzer_free(a);
    at_scene_free(&s);
}

static void test_checkpoint_of_another_camera_is_refused(void **state)
{
    uint8_t *buf;
    size_t len;
    busy_checkpoint(&buf, &len);
    vigil_zone_conf_t z[NZ];
    vigil_line_conf_t l[NL];
    rules(z, l);
    char err[256] = "";
    vigil_analyzer_t *b =
        vigil_analyzer_load("cam2", NULL, z, NZ, l, NL, buf, len, err, sizeof err);
    assert_null(b);
    assert_non_null(strstr(err, "of camera \"cam1\", not \"cam2\""));
    free(buf);
}

/* Unpacks buf, lets edit change it, packs it again and loads that. */
static vigil_analyzer_t *edited(const uint8_t *buf, size_t len,
                                void (*edit)(Vigil__V1__AnalyzerCheckpoint *), char *err,
                                size_t errsize)
{
    Vigil__V1__AnalyzerCheckpoint *cp = vigil__v1__analyzer_checkpoint__unpack(NULL, len, buf);
    assert_non_null(cp);
    edit(cp);
    size_t n = vigil__v1__analyzer_checkpoint__get_packed_size(cp);
    uint8_t *out = malloc(n + 1);
    vigil__v1__analyzer_checkpoint__pack(cp, out);
    vigil__v1__analyzer_checkpoint__free_unpacked(cp, NULL);
    vigil_analyzer_t *a = restore(out, n, err, errsize);
    free(out);
    return a;
}

static void newer(Vigil__V1__AnalyzerCheckpoint *cp)
{
    cp->schema_version = 2;
}
static void nan_kalman(Vigil__V1__AnalyzerCheckpoint *cp)
{
    cp->tracks[0]->kalman_mean[1] = NAN;
}
static void short_kalman(Vigil__V1__AnalyzerCheckpoint *cp)
{
    cp->tracks[0]->n_kalman_cov = 11;
}
static void duplicate_id(Vigil__V1__AnalyzerCheckpoint *cp)
{
    size_t j = 1;
    while (cp->tracks[j]->id == 0 || cp->tracks[j]->id == cp->tracks[0]->id) j++;
    cp->tracks[j]->id = cp->tracks[0]->id;
}
static void id_from_the_future(Vigil__V1__AnalyzerCheckpoint *cp)
{
    cp->next_track_id = 1;
}
static void unknown_label(Vigil__V1__AnalyzerCheckpoint *cp)
{
    cp->tracks[0]->label = 5000;
}
static void event_of_no_track(Vigil__V1__AnalyzerCheckpoint *cp)
{
    cp->events[0]->track_id = 999999;
}
static void inside_without_event(Vigil__V1__AnalyzerCheckpoint *cp)
{
    for (size_t i = 0; i < cp->n_events; i++)
        vigil__v1__analytics_event_state__free_unpacked(cp->events[i], NULL);
    cp->n_events = 0;
}
static void bad_state(Vigil__V1__AnalyzerCheckpoint *cp)
{
    cp->tracks[0]->state = 7;
}
static void negative_count(Vigil__V1__AnalyzerCheckpoint *cp)
{
    cp->buckets[0]->entered = -1;
}

static void test_checkpoint_newer_corrupt_or_inconsistent_is_refused(void **state)
{
    uint8_t *buf;
    size_t len;
    busy_checkpoint(&buf, &len);
    char err[256] = "";
    /* sanity: the checkpoint itself loads and has what the edits need */
    vigil_analyzer_t *b = restore(buf, len, err, sizeof err);
    assert_non_null(b);
    vigil_analyzer_free(b);
    Vigil__V1__AnalyzerCheckpoint *cp = vigil__v1__analyzer_checkpoint__unpack(NULL, len, buf);
    assert_true(cp->n_tracks >= 3 && cp->n_events >= 1 && cp->n_buckets >= 1);
    assert_true(cp->tracks[0]->id != 0);
    vigil__v1__analyzer_checkpoint__free_unpacked(cp, NULL);

    static const struct {
        void (*edit)(Vigil__V1__AnalyzerCheckpoint *);
        const char *says;
    } cases[] = {
        {newer, "schema_version 2 is newer than this build's 1"},
        {nan_kalman, "tracks[0]: kalman state not finite"},
        {short_kalman, "tracks[0]: kalman state of 8 + 11 values"},
        {duplicate_id, "duplicate id"},
        {id_from_the_future, "inconsistent with its state and next_track_id"},
        {unknown_label, "tracks[0]: unknown label 5000"},
        {event_of_no_track, "events[0]: of no live track"},
        {inside_without_event, "without its zone_enter"},
        {bad_state, "tracks[0]: unknown state 7"},
        {negative_count, "buckets[0]: count out of range"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        b = edited(buf, len, cases[i].edit, err, sizeof err);
        if (b || !strstr(err, cases[i].says))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].says);
        assert_non_null(strstr(err, "checkpoint: "));
    }

    /* not protobuf at all, empty, truncated */
    b = restore((const uint8_t *)"\xff\xff\xff\xff", 4, err, sizeof err);
    assert_null(b);
    assert_non_null(strstr(err, "checkpoint: malformed protobuf"));
    b = restore(NULL, 0, err, sizeof err);
    assert_null(b);
    assert_non_null(strstr(err, "no schema_version"));
    b = restore(buf, len / 2, err, sizeof err);
    assert_null(b);
    free(buf);
}

static void test_checkpoint_mutated_bytes_never_crash(void **state)
{
    uint8_t *buf;
    size_t len;
    busy_checkpoint(&buf, &len);
    uint8_t *m = malloc(len);
    uint32_t st = 4242;
    size_t loaded = 0;
    at_scene_t s;
    at_scene_make(&s, 5, 8, 6);
    for (int trial = 0; trial < 400; trial++) {
        memcpy(m, buf, len);
        for (int k = 0; k < 1 + trial % 4; k++) {
            st = st * 1664525u + 1013904223u;
            m[(st >> 8) % len] ^= (uint8_t)(1u << (st >> 29));
        }
        char err[256] = "";
        vigil_analyzer_t *b = restore(m, len, err, sizeof err);
        if (!b) {
            assert_true(strncmp(err, "checkpoint: ", 12) == 0);
            continue;
        }
        loaded++; /* accepted: it must work */
        vigil_analytics_out_t out;
        for (size_t f = 0; f < s.nframes; f++) {
            vigil_analytics_frame_t fr = s.frames[f];
            fr.sequence += vigil_analyzer_last_sequence(b);
            fr.time_us += 60000000;
            vigil_analyzer_frame(b, &fr, s.dets + s.first[f], s.ndets[f], &out, NULL);
        }
        uint8_t *again;
        size_t againlen;
        assert_int_equal(vigil_analyzer_save(b, &again, &againlen), VIGIL_OK);
        free(again);
        vigil_analyzer_free(b);
    }
    assert_true(loaded > 0); /* flips in floats and times are fine */
    at_scene_free(&s);
    free(m);
    free(buf);
}

static void test_checkpoint_drops_state_of_rules_that_are_gone(void **state)
{
    vigil_zone_conf_t z[2] = {at_zone("keep", 0.0, 0.0, 0.5, 1.0, 1),
                              at_zone("gone", 0.0, 0.0, 0.5, 1.0, 1)};
    vigil_line_conf_t l = at_line("gate", 0.7, 0.0, 0.7, 1.0, 0.02);
    vigil_analyzer_t *a = at_analyzer(z, 2, &l, 1, 1);
    vigil_analytics_out_t out;
    vigil_analytics_det_t d = at_det(300, 500, 60, 120, 0.9f, "person");
    at_frame(a, 1, &d, 1, &out);
    at_frame(a, 2, &d, 1, &out);
    assert_int_equal(at_occupancy(a, "gone", "person"), 1);
    uint8_t *buf;
    size_t len;
    assert_int_equal(vigil_analyzer_save(a, &buf, &len), VIGIL_OK);
    vigil_analyzer_free(a);

    /* restored with "gone" removed and a new zone "new" */
    vigil_zone_conf_t z2[2] = {at_zone("new", 0.0, 0.0, 0.5, 1.0, 1), z[0]};
    char err[256] = "";
    vigil_analyzer_t *b = vigil_analyzer_load("cam1", NULL, z2, 2, &l, 1, buf, len, err,
                                              sizeof err);
    assert_non_null(b);
    assert_int_equal(at_occupancy(b, "keep", "person"), 1);
    assert_int_equal(at_occupancy(b, "gone", "person"), 0);
    at_frame(b, 3, &d, 1, &out);
    /* "gone"'s zone_enter closed at the checkpoint's last frame; "new" entered now */
    int closed = 0, entered = 0;
    for (size_t i = 0; i < out.nevents; i++) {
        const vigil_analytics_event_t *e = &out.events[i];
        if (strcmp(e->zone, "gone") == 0) {
            assert_false(e->open);
            assert_int_equal(e->end_sequence, 2);
            assert_int_equal(e->updated_sequence, 3);
            closed++;
        }
        if (strcmp(e->zone, "new") == 0) {
            assert_true(e->open);
            assert_int_equal(e->start_sequence, 3);
            entered++;
        }
        assert_string_not_equal(e->zone, "keep"); /* still inside, nothing new */
    }
    assert_int_equal(closed, 1);
    assert_int_equal(entered, 1);
    assert_int_equal(at_occupancy(b, "new", "person"), 1);
    vigil_analyzer_free(b);
    free(buf);
}

static void test_checkpoint_between_a_rule_change_and_the_next_frame_keeps_the_reports(
    void **state)
{
    vigil_zone_conf_t z[2] = {at_zone("a", 0.0, 0.0, 0.5, 1.0, 1),
                              at_zone("b", 0.0, 0.0, 0.5, 1.0, 1)};
    vigil_analyzer_t *a = at_analyzer(z, 2, NULL, 0, 1);
    vigil_analytics_out_t out;
    vigil_analytics_det_t d = at_det(300, 500, 60, 120, 0.9f, "person");
    at_frame(a, 1, &d, 1, &out);
    char err[256] = "";
    assert_int_equal(vigil_analyzer_set_rules(a, &z[1], 1, NULL, 0, err, sizeof err), VIGIL_OK);
    uint8_t *buf;
    size_t len;
    assert_int_equal(vigil_analyzer_save(a, &buf, &len), VIGIL_OK);
    vigil_analyzer_t *b =
        vigil_analyzer_load("cam1", NULL, &z[1], 1, NULL, 0, buf, len, err, sizeof err);
    assert_non_null(b);
    vigil_analytics_out_t out_b;
    at_frame(a, 2, &d, 1, &out);
    at_frame(b, 2, &d, 1, &out_b);
    assert_int_equal(out.nevents, 1);
    assert_string_equal(out.events[0].zone, "a");
    assert_false(out.events[0].open);
    rec_t ra = record(&out, 1), rb = record(&out_b, 1);
    assert_int_equal(ra.len, rb.len);
    assert_memory_equal(ra.bytes, rb.bytes, ra.len);
    free(ra.bytes);
    free(rb.bytes);
    free(buf);
    vigil_analyzer_free(a);
    vigil_analyzer_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoint_restored_analyzer_continues_exactly_like_the_original),
        cmocka_unit_test(test_checkpoint_of_another_camera_is_refused),
        cmocka_unit_test(test_checkpoint_newer_corrupt_or_inconsistent_is_refused),
        cmocka_unit_test(test_checkpoint_mutated_bytes_never_crash),
        cmocka_unit_test(test_checkpoint_drops_state_of_rules_that_are_gone),
        cmocka_unit_test(
            test_checkpoint_between_a_rule_change_and_the_next_frame_keeps_the_reports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
