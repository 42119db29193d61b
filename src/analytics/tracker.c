/* Multi-object tracking for one camera, ByteTrack-class (analyzer_int.h).
 *
 * Each frame: lost tracks older than lost_seconds (capture time) are
 * removed; every track's Kalman filter is predicted to the frame's time;
 * then detections are associated in three stages, each an optimal
 * assignment (lap.c) on buffered IoU (C-BIoU: both boxes grow by `buffer`
 * of their width / height on each side, since at 5 fps objects move far
 * between frames):
 *   1. score >= high_score  x  confirmed tracks, seen or lost   (IoU >= match_iou)
 *   2. low_score <= score < high_score  x  confirmed tracks still unmatched
 *      that were seen in the previous frame                     (IoU >= low_match_iou)
 *   3. high detections still unmatched  x  tentative tracks     (IoU >= match_iou)
 * With per_class, a detection only pairs with tracks of its label. Unmatched
 * detections scoring >= new_track_score start tentative tracks; a tentative
 * track missing a frame dies, one matched min_hits frames in a row is
 * confirmed and only then gets its id (next_track_id), so ids are dense and
 * never reused. A confirmed track missing a frame is lost (still counted,
 * still matchable in stage 1) until lost_seconds after it was last seen.
 *
 * Determinism: tracks are kept in creation order and detections in input
 * order; every loop runs in that order and the assignment breaks ties by
 * index. Nothing reads a clock. */
#include <math.h>
#include <string.h>

#include "analytics/analyzer_int.h"

static void buffered(const float box[4], float buffer, float out[4])
{
    float w = box[2] - box[0], h = box[3] - box[1];
    out[0] = box[0] - buffer * w;
    out[1] = box[1] - buffer * h;
    out[2] = box[2] + buffer * w;
    out[3] = box[3] + buffer * h;
}

static float iou(const float a[4], const float b[4])
{
    float iw = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
    float ih = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    if (!(iw > 0) || !(ih > 0)) return 0;
    float inter = iw * ih;
    float uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return uni > 0 ? inter / uni : 0;
}

void vigil__trk_reset_rules(vigil__track_t *t)
{
    memset(t->z, 0, sizeof t->z);
    memset(t->l, 0, sizeof t->l);
    for (size_t k = 0; k < VIGIL_ZONES_MAX; k++) {
        t->z[k].enter_ev = -1;
        t->z[k].loiter_ev = -1;
    }
}

static void remove_track(vigil_analyzer_t *a, size_t i)
{
    vigil__ana_track_free(a, a->tracks[i]);
    memmove(a->tracks + i, a->tracks + i + 1, (a->ntracks - i - 1) * sizeof *a->tracks);
    a->ntracks--;
}

/* Lost tracks past lost_seconds go, closing their events (end = last seen). */
static void expire(vigil_analyzer_t *a)
{
    double keep_us = a->conf.lost_seconds * 1e6;
    for (size_t i = 0; i < a->ntracks;) {
        vigil__track_t *t = a->tracks[i];
        if (t->state == VIGIL__TRK_LOST &&
            (double)(a->frame->time_us - t->last.time_us) > keep_us) {
            vigil__rules_track_gone(a, t);
            remove_track(a, i);
        } else {
            i++;
        }
    }
}

static void predict(vigil_analyzer_t *a)
{
    int64_t now = a->frame->time_us;
    for (size_t i = 0; i < a->ntracks; i++) {
        vigil__track_t *t = a->tracks[i];
        t->det = -1;
        t->confirmed_now = 0;
        if (now > t->kf_time_us) {
            if (t->state == VIGIL__TRK_LOST) t->kf.x[7] = 0; /* as ByteTrack: h frozen when lost */
            vigil__kf_predict(&t->kf, (double)(now - t->kf_time_us) / 1e6);
            t->kf_time_us = now;
        }
        float box[4];
        vigil__kf_box(&t->kf, box);
        buffered(box, a->conf.buffer, t->pbox);
    }
}

/* Optimal assignment of the listed tracks (rows) to the listed detections
 * (cols) at least min_iou apart; records the matches. */
static void associate(vigil_analyzer_t *a, const int *rows, int nr, const int *cols, int nc,
                      float min_iou)
{
    if (nr == 0 || nc == 0) return;
    size_t need = (size_t)nr * (size_t)nc;
    if (vigil__ana_reserve((void **)&a->cost, &a->capcost, need, sizeof(float))) {
        a->oom = 1;
        return;
    }
    for (int r = 0; r < nr; r++) {
        const vigil__track_t *t = a->tracks[rows[r]];
        float *row = a->cost + (size_t)r * nc;
        for (int c = 0; c < nc; c++) {
            const vigil__det_t *d = &a->dets[cols[c]];
            float v = NAN;
            if (!a->conf.per_class || t->label == d->label) {
                float o = iou(t->pbox, d->ebox);
                if (o > 0 && o >= min_iou) v = 1.0f - o;
            }
            row[c] = v;
        }
    }
    if (vigil__lap_solve(&a->lap, a->cost, nr, nc, 1.0f - min_iou, a->row_match, a->col_match) <
        0) {
        a->oom = 1;
        return;
    }
    for (int r = 0; r < nr; r++) {
        int c = a->row_match[r];
        if (c < 0) continue;
        a->tracks[rows[r]]->det = cols[c];
        a->dets[cols[c]].track = rows[r];
    }
}

static void obs_of(const vigil_analyzer_t *a, const vigil__det_t *d, vigil__obs_t *o)
{
    o->seq = a->frame->sequence;
    o->time_us = a->frame->time_us;
    o->frame_id = a->frame->frame_id;
    memcpy(o->box, d->box, sizeof o->box);
    o->score = d->score;
    o->label = d->label;
}

static void confirm(vigil_analyzer_t *a, vigil__track_t *t)
{
    t->id = a->next_track_id++;
    t->state = VIGIL__TRK_TRACKED;
    t->confirmed_now = 1;
}

static void point(vigil_analyzer_t *a, const vigil__track_t *t, const vigil__obs_t *o)
{
    if (vigil__ana_reserve((void **)&a->points, &a->cappoints, a->npoints + 1,
                           sizeof *a->points)) {
        a->oom = 1;
        return;
    }
    vigil_track_point_t *p = &a->points[a->npoints++];
    memset(p, 0, sizeof *p);
    p->track_id = t->id;
    p->sequence = o->seq;
    p->time_us = o->time_us;
    p->frame_id = o->frame_id;
    memcpy(p->label, a->labels[o->label].name, sizeof p->label);
    p->score = o->score;
    p->x1 = o->box[0];
    p->y1 = o->box[1];
    p->x2 = o->box[2];
    p->y2 = o->box[3];
}

/* Matched tracks take their detection; unmatched ones are lost or die. */
static void update(vigil_analyzer_t *a)
{
    for (size_t i = 0; i < a->ntracks;) {
        vigil__track_t *t = a->tracks[i];
        if (t->det < 0) {
            if (t->state == VIGIL__TRK_TENTATIVE) {
                remove_track(a, i); /* never confirmed: no id, no events */
                continue;
            }
            t->state = VIGIL__TRK_LOST;
            i++;
            continue;
        }
        vigil__det_t *d = &a->dets[t->det];
        d->track = (int)i; /* indices shift as tentative tracks die */
        double z[4];
        vigil__kf_measure(d->box, z);
        vigil__kf_update(&t->kf, z);
        obs_of(a, d, &t->last);
        if (!a->conf.per_class) t->label = d->label;
        if (t->hits < a->conf.min_hits) t->hits++;
        if (t->state == VIGIL__TRK_TENTATIVE) {
            if (t->nhist == VIGIL__ANA_MIN_HITS_MAX) { /* only after min_hits was lowered */
                memmove(t->hist, t->hist + 1, (size_t)(t->nhist - 1) * sizeof *t->hist);
                t->nhist--;
            }
            t->hist[t->nhist++] = t->last;
            if (t->hits >= a->conf.min_hits) confirm(a, t);
        } else {
            t->state = VIGIL__TRK_TRACKED;
        }
        i++;
    }
}

/* Unmatched detections scoring >= new_track_score start tentative tracks. */
static void births(vigil_analyzer_t *a)
{
    for (size_t j = 0; j < a->ndets; j++) {
        vigil__det_t *d = &a->dets[j];
        if (d->track >= 0 || d->score < a->conf.new_track_score) continue;
        if (a->ntracks >= VIGIL__ANA_TRACKS_MAX) break;
        if (vigil__ana_reserve((void **)&a->tracks, &a->captracks, a->ntracks + 1,
                               sizeof *a->tracks)) {
            a->oom = 1;
            return;
        }
        vigil__track_t *t = vigil__ana_track_alloc(a);
        if (!t) {
            a->oom = 1;
            return;
        }
        double z[4];
        vigil__kf_measure(d->box, z);
        vigil__kf_init(&t->kf, z);
        t->kf_time_us = a->frame->time_us;
        t->id = 0;
        t->state = VIGIL__TRK_TENTATIVE;
        t->label = d->label;
        t->hits = 1;
        t->det = (int)j;
        t->confirmed_now = 0;
        obs_of(a, d, &t->last);
        t->nhist = 0;
        t->hist[t->nhist++] = t->last;
        vigil__trk_reset_rules(t);
        d->track = (int)a->ntracks;
        a->tracks[a->ntracks++] = t;
        if (t->hits >= a->conf.min_hits) confirm(a, t);
    }
}

void vigil__trk_frame(vigil_analyzer_t *a)
{
    expire(a);
    predict(a);
    for (size_t j = 0; j < a->ndets; j++) {
        vigil__det_t *d = &a->dets[j];
        d->track = -1;
        buffered(d->box, a->conf.buffer, d->ebox);
    }
    size_t nt = a->ntracks, nd = a->ndets;
    if (vigil__ana_reserve((void **)&a->iscratch, &a->capiscratch, 2 * (nt + nd) + 4,
                           sizeof(int))) {
        a->oom = 1;
        return;
    }
    a->rows = a->iscratch;
    a->row_match = a->rows + nt + 1;
    a->cols = a->row_match + nt + 1;
    a->col_match = a->cols + nd + 1;

    /* stage 1: high detections x confirmed tracks (seen or lost) */
    int nr = 0, nc = 0;
    for (size_t i = 0; i < nt; i++)
        if (a->tracks[i]->state != VIGIL__TRK_TENTATIVE) a->rows[nr++] = (int)i;
    for (size_t j = 0; j < nd; j++)
        if (a->dets[j].score >= a->conf.high_score) a->cols[nc++] = (int)j;
    associate(a, a->rows, nr, a->cols, nc, a->conf.match_iou);

    /* stage 2: low detections x confirmed tracks seen last frame, still unmatched */
    nr = nc = 0;
    for (size_t i = 0; i < nt; i++)
        if (a->tracks[i]->state == VIGIL__TRK_TRACKED && a->tracks[i]->det < 0)
            a->rows[nr++] = (int)i;
    for (size_t j = 0; j < nd; j++)
        if (a->dets[j].score < a->conf.high_score) a->cols[nc++] = (int)j;
    associate(a, a->rows, nr, a->cols, nc, a->conf.low_match_iou);

    /* stage 3: high detections still unmatched x tentative tracks */
    nr = nc = 0;
    for (size_t i = 0; i < nt; i++)
        if (a->tracks[i]->state == VIGIL__TRK_TENTATIVE) a->rows[nr++] = (int)i;
    for (size_t j = 0; j < nd; j++)
        if (a->dets[j].score >= a->conf.high_score && a->dets[j].track < 0)
            a->cols[nc++] = (int)j;
    associate(a, a->rows, nr, a->cols, nc, a->conf.match_iou);

    update(a);
    births(a);

    /* points, zones and lines of the confirmed tracks seen, in track order */
    for (size_t i = 0; i < a->ntracks; i++) {
        vigil__track_t *t = a->tracks[i];
        if (t->det < 0 || t->state == VIGIL__TRK_TENTATIVE) continue;
        a->det_track[a->dets[t->det].input] = (int64_t)t->id;
        if (t->confirmed_now) {
            /* its tentative frames, as if it had been confirmed all along */
            for (int h = 0; h < t->nhist; h++) {
                point(a, t, &t->hist[h]);
                vigil__rules_observe(a, t, &t->hist[h]);
            }
            t->nhist = 0;
        } else {
            point(a, t, &t->last);
            vigil__rules_observe(a, t, &t->last);
        }
    }
}
