/* Helpers shared by the analytics unit tests (analytics_support.h). */
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

vigil_analytics_det_t at_det(double x, double y, double w, double h, float score,
                             const char *label)
{
    vigil_analytics_det_t d = {(float)(x - w / 2), (float)(y - h), (float)(x + w / 2), (float)y,
                               score, label};
    return d;
}

void at_frame_at(vigil_analyzer_t *a, uint64_t seq, int64_t time_us,
                 const vigil_analytics_det_t *dets, size_t n, vigil_analytics_out_t *out)
{
    vigil_analytics_frame_t f = {seq, time_us, (int64_t)seq * 10, AT_W, AT_H};
    size_t rejected = 99;
    assert_int_equal(vigil_analyzer_frame(a, &f, dets, n, out, &rejected), VIGIL_OK);
    assert_int_equal(rejected, 0);
}

void at_frame(vigil_analyzer_t *a, uint64_t seq, const vigil_analytics_det_t *dets, size_t n,
              vigil_analytics_out_t *out)
{
    at_frame_at(a, seq, AT_T0 + (int64_t)(seq - 1) * AT_STEP_US, dets, n, out);
}

vigil_zone_conf_t at_zone(const char *id, double x1, double y1, double x2, double y2,
                          int inertia)
{
    vigil_zone_conf_t z;
    vigil_zone_conf_init(&z);
    snprintf(z.id, sizeof z.id, "%s", id);
    vigil_point_t p[4] = {{x1, y1}, {x2, y1}, {x2, y2}, {x1, y2}};
    memcpy(z.polygon, p, sizeof p);
    z.npoints = 4;
    z.inertia = inertia;
    return z;
}

vigil_line_conf_t at_line(const char *id, double ax, double ay, double bx, double by,
                          double hysteresis)
{
    vigil_line_conf_t l;
    vigil_line_conf_init(&l);
    snprintf(l.id, sizeof l.id, "%s", id);
    l.a.x = ax;
    l.a.y = ay;
    l.b.x = bx;
    l.b.y = by;
    l.hysteresis = hysteresis;
    return l;
}

vigil_analyzer_t *at_analyzer(const vigil_zone_conf_t *zones, size_t nzones,
                              const vigil_line_conf_t *lines, size_t nlines, int min_hits)
{
    vigil_tracker_conf_t conf;
    vigil_tracker_conf_init(&conf);
    conf.min_hits = min_hits;
    char err[256] = "";
    vigil_analyzer_t *a =
        vigil_analyzer_new("cam1", &conf, zones, nzones, lines, nlines, err, sizeof err);
    if (!a) fprintf(stderr, "analyzer: %s\n", err);
    assert_non_null(a);
    return a;
}

size_t at_count(const vigil_analytics_out_t *out, int kind, int direction)
{
    size_t n = 0;
    for (size_t i = 0; i < out->nevents; i++)
        if (out->events[i].kind == kind && (!direction || out->events[i].direction == direction))
            n++;
    return n;
}

const vigil_analytics_event_t *at_find(const vigil_analytics_out_t *out, int kind)
{
    for (size_t i = 0; i < out->nevents; i++)
        if (out->events[i].kind == kind) return &out->events[i];
    return NULL;
}

const vigil_count_bucket_t *at_bucket(const vigil_analytics_out_t *out, const char *rule,
                                      const char *label)
{
    for (size_t i = 0; i < out->ncounts; i++) {
        const vigil_count_bucket_t *c = &out->counts[i];
        if ((strcmp(c->zone, rule) == 0 || strcmp(c->line, rule) == 0) &&
            strcmp(c->label, label) == 0)
            return c;
    }
    return NULL;
}

int64_t at_occupancy(const vigil_analyzer_t *a, const char *zone, const char *label)
{
    vigil_zone_occupancy_t *rows = NULL;
    size_t n = 0;
    assert_int_equal(vigil_analyzer_occupancy(a, &rows, &n), VIGIL_OK);
    int64_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].zone, zone) == 0 && strcmp(rows[i].label, label) == 0)
            count = rows[i].count;
    free(rows);
    return count;
}

/* ---- scenes ------------------------------------------------------------------ */

static uint32_t lcg(uint32_t *st)
{
    *st = *st * 1664525u + 1013904223u;
    return *st >> 8;
}

static double unif(uint32_t *st)
{
    return (double)lcg(st) / (double)(1u << 24);
}

typedef struct walker {
    double x, y, vx, vy; /* bottom centre, px and px/s */
    double w, h;
    const char *label;
    double life; /* seconds left */
} walker_t;

static void spawn(walker_t *w, uint32_t *st)
{
    int car = unif(st) < 0.3;
    w->label = car ? "car" : "person";
    w->w = car ? 120 + 40 * unif(st) : 40 + 20 * unif(st);
    w->h = car ? 60 + 20 * unif(st) : 100 + 40 * unif(st);
    w->x = 50 + 900 * unif(st);
    w->y = 150 + 800 * unif(st);
    double speed = 50 + 200 * unif(st), dir = 6.283185307179586 * unif(st);
    w->vx = speed * cos(dir);
    w->vy = speed * sin(dir);
    w->life = 3 + 20 * unif(st);
}

void at_scene_make(at_scene_t *s, uint32_t seed, size_t nframes, size_t walkers)
{
    uint32_t st = seed;
    size_t cap = nframes * (walkers + 8);
    s->nframes = nframes;
    s->frames = calloc(nframes, sizeof *s->frames);
    s->first = calloc(nframes, sizeof *s->first);
    s->ndets = calloc(nframes, sizeof *s->ndets);
    s->dets = calloc(cap, sizeof *s->dets);
    walker_t *w = calloc(walkers, sizeof *w);
    assert_true(s->frames && s->first && s->ndets && s->dets && w);
    for (size_t i = 0; i < walkers; i++) spawn(&w[i], &st);
    int64_t t = AT_T0 + 17000000; /* not on a minute */
    size_t n = 0;
    for (size_t f = 0; f < nframes; f++) {
        double r = unif(&st);
        double dt = r < 0.9 ? 0.2 : r < 0.98 ? 1.0 : 4.0;
        if (f) t += (int64_t)(dt * 1e6);
        s->frames[f].sequence = f + 1;
        s->frames[f].time_us = t;
        s->frames[f].frame_id = (int64_t)f * 7 + 3;
        s->frames[f].width = AT_W;
        s->frames[f].height = AT_H;
        s->first[f] = n;
        for (size_t i = 0; i < walkers; i++) {
            walker_t *k = &w[i];
            if (f) {
                k->x += k->vx * dt;
                k->y += k->vy * dt;
                k->life -= dt;
                if (k->life <= 0 || k->x < 0 || k->x > AT_W || k->y < k->h || k->y > AT_H)
                    spawn(k, &st);
            }
            if (unif(&st) < 0.08) continue; /* missed */
            double jx = 4 * unif(&st) - 2, jy = 4 * unif(&st) - 2;
            float score = (float)(0.25 + 0.7 * unif(&st));
            vigil_analytics_det_t d = at_det(k->x + jx, k->y + jy, k->w, k->h, score, k->label);
            if (d.x1 < 0) d.x1 = 0;
            if (d.y1 < 0) d.y1 = 0;
            s->dets[n++] = d;
        }
        int clutter = (int)(unif(&st) * 4);
        for (int c = 0; c < clutter; c++) {
            double x = 30 + 940 * unif(&st), y = 80 + 900 * unif(&st);
            s->dets[n++] = at_det(x, y, 30, 60, (float)(0.15 + 0.6 * unif(&st)), "person");
        }
        s->ndets[f] = n - s->first[f];
    }
    free(w);
}

void at_scene_free(at_scene_t *s)
{
    free(s->frames);
    free(s->first);
    free(s->ndets);
    free(s->dets);
    memset(s, 0, sizeof *s);
}

void at_scene_rules(vigil_zone_conf_t *zones, size_t nzones, vigil_line_conf_t *lines,
                    size_t nlines)
{
    for (size_t i = 0; i < nzones; i++) {
        double x = 0.05 + 0.3 * (double)(i % 3), y = 0.1 + 0.2 * (double)(i / 3 % 4);
        char id[16];
        snprintf(id, sizeof id, "zone%zu", i);
        zones[i] = at_zone(id, x, y, x + 0.3, y + 0.3, 1 + (int)(i % 3));
        if (i % 2 == 0) zones[i].loiter_seconds = 1.5 + (double)i;
        if (i % 4 == 1) {
            snprintf(zones[i].labels[0], VIGIL_LABEL_MAX, "car");
            zones[i].nlabels = 1;
        }
        if (i % 5 == 3) { /* a pentagon */
            vigil_point_t p[5] = {{x, y}, {x + 0.3, y}, {x + 0.35, y + 0.15}, {x + 0.3, y + 0.3},
                                  {x, y + 0.3}};
            memcpy(zones[i].polygon, p, sizeof p);
            zones[i].npoints = 5;
            zones[i].min_score = 0.5;
        }
    }
    for (size_t i = 0; i < nlines; i++) {
        char id[16];
        snprintf(id, sizeof id, "line%zu", i);
        double u = 0.1 + 0.08 * (double)i;
        if (i % 3 == 0)
            lines[i] = at_line(id, u, 0.05, u, 0.95, 0.02);
        else if (i % 3 == 1)
            lines[i] = at_line(id, 0.95, u, 0.05, u, 0.01);
        else
            lines[i] = at_line(id, 0.1, u, 0.9, u + 0.1, 0.0);
        if (i % 4 == 2) {
            snprintf(lines[i].labels[0], VIGIL_LABEL_MAX, "person");
            lines[i].nlabels = 1;
            lines[i].anchor = VIGIL_ANCHOR_CENTER;
        }
    }
}
