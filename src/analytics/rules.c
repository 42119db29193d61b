/* Zones and lines applied to confirmed tracks (analyzer_int.h).
 *
 * Both work on the track's matched detection, through an anchor point of
 * its box (bottom-centre by default) divided by the frame's width / height,
 * so rules are in the same normalised coordinates as the config.
 *
 * Zones: the anchor is inside by the even-odd rule. A detection of a label
 * the zone does not take, or scoring below its min_score, is "outside".
 * Belief changes only after `inertia` consecutive SEEN frames say so (frames
 * where the track is not matched count neither way). zone_enter starts at
 * the first of those inertia frames (the object was there from then on:
 * the inertia only delays the decision) and is reported when believed;
 * zone_leave is an instant at the frame where leaving is believed (as
 * analytics.h says), which also ends zone_enter and loiter. A track removed
 * as lost ends them at its last seen frame, without a zone_leave.
 * Occupancy = open zone_enter events, so a lost track counts until removed.
 *
 * Lines: the side of the anchor P is the sign of (B-A)x(P-A) in image
 * coordinates (y down); the signed distance is that over |B-A|. A track is
 * armed on a side once seen at least `hysteresis` from the line on it. A
 * crossing counts when an armed track is seen at least `hysteresis` on the
 * other side and its last change of side (the step between the last two
 * frames it was seen off the line on different sides) went through the
 * segment itself; it then is armed on the new side. So jitter inside the
 * band, and approaching then turning back, never count, while crossing and
 * coming back counts in then out. `in` = from > 0 to < 0. */
#include <math.h>
#include <string.h>

#include "analytics/analyzer_int.h"

void vigil__anchor(int anchor, const float box[4], int width, int height, double *x, double *y)
{
    *x = ((double)box[0] + box[2]) / 2 / width;
    switch (anchor) {
    case VIGIL_ANCHOR_CENTER: *y = ((double)box[1] + box[3]) / 2 / height; break;
    case VIGIL_ANCHOR_TOP_CENTER: *y = (double)box[1] / height; break;
    default: *y = (double)box[3] / height; break;
    }
}

int vigil__zone_contains(const vigil__zone_t *z, double x, double y)
{
    if (x < z->minx || x > z->maxx || y < z->miny || y > z->maxy) return 0;
    const vigil_point_t *p = z->conf.polygon;
    size_t n = z->conf.npoints;
    int in = 0;
    for (size_t i = 0, j = n - 1; i < n; j = i++) {
        if ((p[i].y > y) != (p[j].y > y) &&
            x < (p[j].x - p[i].x) * (y - p[i].y) / (p[j].y - p[i].y) + p[i].x)
            in = !in;
    }
    return in;
}

static void update_snap(vigil_analyzer_t *a, int slot, const vigil__obs_t *o)
{
    if (slot < 0) return;
    vigil__event_t *ev = &a->ev[slot];
    if (o->score > ev->snap.score) {
        vigil__snap_of(o, &ev->snap);
        vigil__ev_report(a, slot);
    }
}

static void zone_leave(vigil_analyzer_t *a, vigil__track_t *t, int k, uint64_t seq, int64_t us)
{
    vigil__zstate_t *zs = &t->z[k];
    if (zs->loiter_ev >= 0) vigil__ev_close(a, zs->loiter_ev, seq, us);
    if (zs->enter_ev >= 0) {
        vigil__occ_add(a, k, a->ev[zs->enter_ev].label, -1);
        vigil__ev_close(a, zs->enter_ev, seq, us);
    }
    zs->loiter_ev = zs->enter_ev = -1;
    zs->inside = 0;
}

static void zone_observe(vigil_analyzer_t *a, vigil__track_t *t, int k, int accepted,
                         const vigil__obs_t *o)
{
    const vigil__zone_t *z = &a->zones[k];
    vigil__zstate_t *zs = &t->z[k];
    update_snap(a, zs->enter_ev, o);
    update_snap(a, zs->loiter_ev, o);

    int in = 0;
    if (accepted && o->score >= z->conf.min_score) {
        double x, y;
        vigil__anchor(z->conf.anchor, o->box, a->frame->width, a->frame->height, &x, &y);
        in = vigil__zone_contains(z, x, y);
    }
    if (in == zs->inside) {
        zs->streak = 0;
    } else {
        if (zs->streak == 0) {
            zs->streak_seq = o->seq;
            zs->streak_us = o->time_us;
            vigil__snap_of(o, &zs->streak_best);
        } else if (o->score > zs->streak_best.score) {
            vigil__snap_of(o, &zs->streak_best);
        }
        zs->streak++;
        int inertia = z->conf.inertia > 0 ? z->conf.inertia : 1;
        if (zs->streak >= inertia) {
            if (in) {
                int slot = vigil__ev_open(a, VIGIL_EVENT_ZONE_ENTER, t, k, zs->streak_seq,
                                          zs->streak_us, &zs->streak_best);
                if (slot < 0) return; /* out of memory: believed later */
                zs->streak = 0;
                zs->inside = 1;
                zs->enter_ev = slot;
                vigil__ev_report(a, slot);
                vigil__occ_add(a, k, t->label, +1);
                vigil__bucket_t *b = vigil__bucket_get(a, zs->streak_us, 0, k, t->label);
                if (b) {
                    b->entered++;
                    vigil__bucket_report(a, b);
                }
            } else {
                zs->streak = 0;
                zone_leave(a, t, k, o->seq, o->time_us);
                vigil__ev_instant(a, VIGIL_EVENT_ZONE_LEAVE, t, k, VIGIL_DIR_NONE, o);
            }
        }
    }
    if (zs->inside && zs->loiter_ev < 0 && z->conf.loiter_seconds > 0) {
        const vigil__event_t *enter = &a->ev[zs->enter_ev];
        if ((double)(o->time_us - enter->start_us) >= z->conf.loiter_seconds * 1e6) {
            vigil__snap_t snap = enter->snap;
            int slot = vigil__ev_open(a, VIGIL_EVENT_LOITER, t, k, enter->start_seq,
                                      enter->start_us, &snap);
            if (slot >= 0) {
                zs->loiter_ev = slot;
                vigil__ev_report(a, slot);
            }
        }
    }
}

/* Where the step from (qx,qy) to (px,py), which changes side, meets the
 * line: within the segment A-B or not. */
static int through_segment(const vigil__line_t *l, double qx, double qy, double dq, double px,
                           double py, double dp)
{
    double f = dq / (dq - dp); /* dq and dp have opposite signs */
    double x = qx + (px - qx) * f, y = qy + (py - qy) * f;
    double t = ((x - l->conf.a.x) * l->dx + (y - l->conf.a.y) * l->dy) / l->len2;
    return t >= 0 && t <= 1;
}

static void line_observe(vigil_analyzer_t *a, vigil__track_t *t, int k, const vigil__obs_t *o)
{
    const vigil__line_t *l = &a->lines[k];
    vigil__lstate_t *ls = &t->l[k];
    double x, y;
    vigil__anchor(l->conf.anchor, o->box, a->frame->width, a->frame->height, &x, &y);
    double d = (l->dx * (y - l->conf.a.y) - l->dy * (x - l->conf.a.x)) / l->len;
    int side = d > 0 ? 1 : d < 0 ? -1 : 0;
    if (side == 0) return; /* on the line: neither side */
    if (ls->last_side != 0 && side != ls->last_side) {
        double dq = (l->dx * (ls->last_y - l->conf.a.y) - l->dy * (ls->last_x - l->conf.a.x)) /
                    l->len;
        ls->xing_ok = (uint8_t)through_segment(l, ls->last_x, ls->last_y, dq, x, y, d);
    }
    ls->last_side = (int8_t)side;
    ls->last_x = x;
    ls->last_y = y;
    if (fabs(d) < l->conf.hysteresis) return;
    if (ls->armed == 0) {
        ls->armed = (int8_t)side;
    } else if (side != ls->armed) {
        if (ls->xing_ok) {
            int dir = ls->armed > 0 ? VIGIL_DIR_IN : VIGIL_DIR_OUT;
            vigil__ev_instant(a, VIGIL_EVENT_LINE_CROSS, t, k, dir, o);
            vigil__bucket_t *b = vigil__bucket_get(a, o->time_us, 1, k, t->label);
            if (b) {
                if (dir == VIGIL_DIR_IN)
                    b->in++;
                else
                    b->out++;
                vigil__bucket_report(a, b);
            }
        }
        ls->armed = (int8_t)side;
        ls->xing_ok = 0;
    }
}

void vigil__rules_observe(vigil_analyzer_t *a, vigil__track_t *t, const vigil__obs_t *o)
{
    const vigil__label_t *lab = &a->labels[o->label];
    for (size_t k = 0; k < a->nzones; k++)
        zone_observe(a, t, (int)k, (int)((lab->zmask >> k) & 1u), o);
    for (size_t k = 0; k < a->nlines; k++)
        if (((lab->lmask >> k) & 1u) && o->score >= a->lines[k].conf.min_score)
            line_observe(a, t, (int)k, o);
}

void vigil__rules_track_gone(vigil_analyzer_t *a, vigil__track_t *t)
{
    if (t->state == VIGIL__TRK_TENTATIVE) return;
    for (size_t k = 0; k < a->nzones; k++)
        if (t->z[k].inside) zone_leave(a, t, (int)k, t->last.seq, t->last.time_us);
}
