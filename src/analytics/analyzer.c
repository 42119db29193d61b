/* The analyzer: one camera's tracking, zones, lines, events and counts
 * (vigil/analytics.h; layout and bounds in analyzer_int.h).
 *
 * This file holds the lifecycle, the label table, rule changes, the checks
 * of a frame's input and the order of a frame's work:
 *   pending reports (closed by a rule change) -> detections checked ->
 *   tracker.c (expire, predict, associate, update, births, then each
 *   confirmed track's points, zones and lines) -> peaks and old buckets.
 * Labels are interned (a small id per distinct label, in order of first
 * appearance) so that tracks compare labels as integers and each label
 * carries the bitmask of the zones and lines that accept it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analyzer_int.h"

int vigil__ana_reserve(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need) n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q) return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* ---- labels ----------------------------------------------------------------- */

static uint32_t hash_label(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static int accepts(const char (*labels)[VIGIL_LABEL_MAX], size_t n, const char *name)
{
    if (n == 0) return 1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(labels[i], name) == 0) return 1;
    return 0;
}

static void label_mask(vigil_analyzer_t *a, vigil__label_t *l)
{
    l->zmask = l->lmask = 0;
    for (size_t k = 0; k < a->nzones; k++)
        if (accepts(a->zones[k].conf.labels, a->zones[k].conf.nlabels, l->name))
            l->zmask |= 1u << k;
    for (size_t k = 0; k < a->nlines; k++)
        if (accepts(a->lines[k].conf.labels, a->lines[k].conf.nlabels, l->name))
            l->lmask |= 1u << k;
}

void vigil__ana_label_masks(vigil_analyzer_t *a)
{
    for (size_t i = 0; i < a->nlabels; i++) label_mask(a, &a->labels[i]);
}

int vigil__ana_label(vigil_analyzer_t *a, const char *name)
{
    size_t len = strnlen(name, VIGIL_LABEL_MAX);
    if (len == 0 || len >= VIGIL_LABEL_MAX) return -1;
    uint32_t h = hash_label(name) & (VIGIL__ANA_LABEL_HASH - 1);
    for (;; h = (h + 1) & (VIGIL__ANA_LABEL_HASH - 1)) {
        int32_t id = a->label_hash[h];
        if (id < 0) break;
        if (strcmp(a->labels[id].name, name) == 0) return id;
    }
    if (a->nlabels >= VIGIL__ANA_LABELS_MAX ||
        vigil__ana_reserve((void **)&a->labels, &a->caplabels, a->nlabels + 1,
                           sizeof *a->labels))
        return -1;
    vigil__label_t *l = &a->labels[a->nlabels];
    memset(l, 0, sizeof *l);
    memcpy(l->name, name, len);
    label_mask(a, l);
    a->label_hash[h] = (int32_t)a->nlabels;
    return (int)a->nlabels++;
}

/* ---- lifecycle ------------------------------------------------------------------ */

vigil_err_t vigil__ana_check_conf(const vigil_tracker_conf_t *c, char *errstr,
                                  size_t errstr_size)
{
#define UNIT(f)                                                                                 \
    if (!(c->f >= 0 && c->f <= 1))                                                              \
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,                             \
                            "tracker: " #f " %g outside 0..1", (double)c->f);
    UNIT(high_score)
    UNIT(low_score)
    UNIT(new_track_score)
    UNIT(match_iou)
    UNIT(low_match_iou)
    UNIT(buffer)
#undef UNIT
    if (c->low_score > c->high_score)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "tracker: low_score %g above high_score %g", (double)c->low_score,
                            (double)c->high_score);
    if (c->min_hits < 1 || c->min_hits > VIGIL__ANA_MIN_HITS_MAX)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "tracker: min_hits %d outside 1..%d", c->min_hits,
                            VIGIL__ANA_MIN_HITS_MAX);
    if (!(c->lost_seconds >= 0 && c->lost_seconds <= 86400))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "tracker: lost_seconds %g outside 0..86400", c->lost_seconds);
    return VIGIL_OK;
}

vigil_analyzer_t *vigil__ana_alloc(const char *camera_id, const vigil_tracker_conf_t *conf,
                                   char *errstr, size_t errstr_size)
{
    if (!camera_id || !vigil_camera_id_valid(camera_id)) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                     "analyzer: invalid camera id \"%.64s\"", camera_id ? camera_id : "");
        return NULL;
    }
    vigil_tracker_conf_t def;
    if (!conf) {
        vigil_tracker_conf_init(&def);
        conf = &def;
    }
    if (vigil__ana_check_conf(conf, errstr, errstr_size)) return NULL;
    vigil_analyzer_t *a = calloc(1, sizeof *a);
    if (!a || !(a->label_hash = malloc(VIGIL__ANA_LABEL_HASH * sizeof *a->label_hash))) {
        free(a);
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "analyzer: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < VIGIL__ANA_LABEL_HASH; i++) a->label_hash[i] = -1;
    snprintf(a->camera_id, sizeof a->camera_id, "%s", camera_id);
    a->conf = *conf;
    a->next_track_id = 1;
    vigil__lap_init(&a->lap);
    return a;
}

vigil__track_t *vigil__ana_track_alloc(vigil_analyzer_t *a)
{
    if (a->nspare) return a->spare[--a->nspare];
    return malloc(sizeof(vigil__track_t));
}

void vigil__ana_track_free(vigil_analyzer_t *a, vigil__track_t *t)
{
    /* keep a few for reuse; the rest go back to the allocator */
    if (a->nspare < 64 && !vigil__ana_reserve((void **)&a->spare, &a->capspare, a->nspare + 1,
                                              sizeof *a->spare)) {
        a->spare[a->nspare++] = t;
        return;
    }
    free(t);
}

vigil_analyzer_t *vigil_analyzer_new(const char *camera_id, const vigil_tracker_conf_t *conf,
                                     const vigil_zone_conf_t *zones, size_t nzones,
                                     const vigil_line_conf_t *lines, size_t nlines,
                                     char *errstr, size_t errstr_size)
{
    vigil_analyzer_t *a = vigil__ana_alloc(camera_id, conf, errstr, errstr_size);
    if (!a) return NULL;
    if (vigil__ana_set_rules(a, zones, nzones, lines, nlines, errstr, errstr_size)) {
        vigil_analyzer_free(a);
        return NULL;
    }
    return a;
}

void vigil_analyzer_free(vigil_analyzer_t *a)
{
    if (!a) return;
    for (size_t i = 0; i < a->ntracks; i++) free(a->tracks[i]);
    for (size_t i = 0; i < a->nspare; i++) free(a->spare[i]);
    free(a->tracks);
    free(a->spare);
    free(a->labels);
    free(a->label_hash);
    free(a->ev);
    free(a->ev_free);
    free(a->pending);
    free(a->buckets);
    free(a->occ);
    free(a->dets);
    free(a->cost);
    free(a->iscratch);
    vigil__lap_release(&a->lap);
    free(a->det_track);
    free(a->points);
    free(a->out_ev);
    free(a->out_counts);
    free(a);
}

vigil_err_t vigil_analyzer_set_rules(vigil_analyzer_t *a, const vigil_zone_conf_t *zones,
                                     size_t nzones, const vigil_line_conf_t *lines, size_t nlines,
                                     char *errstr, size_t errstr_size)
{
    if (!a) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "analyzer: NULL");
    return vigil__ana_set_rules(a, zones, nzones, lines, nlines, errstr, errstr_size);
}

/* ---- one frame ------------------------------------------------------------------ */

static int det_valid(const vigil_analytics_det_t *d)
{
    if (!isfinite(d->x1) || !isfinite(d->y1) || !isfinite(d->x2) || !isfinite(d->y2) ||
        !isfinite(d->score))
        return 0;
    if (d->score < 0 || d->score > 1) return 0;
    if (d->x1 < 0 || d->y1 < 0 || !(d->x2 > d->x1) || !(d->y2 > d->y1)) return 0;
    return d->label && d->label[0];
}

static void out_clear(vigil_analytics_out_t *out)
{
    memset(out, 0, sizeof *out);
}

vigil_err_t vigil_analyzer_frame(vigil_analyzer_t *a, const vigil_analytics_frame_t *frame,
                                 const vigil_analytics_det_t *dets, size_t ndets,
                                 vigil_analytics_out_t *out, size_t *rejected)
{
    if (rejected) *rejected = 0;
    if (out) out_clear(out);
    if (!a || !frame || !out || (ndets && !dets)) return VIGIL_ERR_INVALID;
    if (frame->width <= 0 || frame->height <= 0) return VIGIL_ERR_INVALID;
    if (frame->sequence <= a->last_seq) return VIGIL_ERR_INVALID;
    size_t nkeep = ndets < VIGIL__ANA_DETS_MAX ? ndets : VIGIL__ANA_DETS_MAX;
    if (vigil__ana_reserve((void **)&a->det_track, &a->capdet_track, ndets + 1,
                           sizeof *a->det_track) ||
        vigil__ana_reserve((void **)&a->dets, &a->capdets, nkeep + 1, sizeof *a->dets))
        return VIGIL_ERR_NOMEM; /* nothing changed yet */

    a->frame = frame;
    a->oom = 0;
    a->npoints = a->nout_ev = a->nout_counts = 0;
    for (size_t i = 0; i < a->npending; i++) {
        a->pending[i].updated_sequence = frame->sequence;
        vigil__ev_out(a, &a->pending[i]);
    }
    a->npending = 0;

    size_t nrej = 0;
    a->ndets = 0;
    for (size_t i = 0; i < ndets; i++) {
        const vigil_analytics_det_t *d = &dets[i];
        a->det_track[i] = 0;
        if (!det_valid(d) || a->ndets >= VIGIL__ANA_DETS_MAX) {
            nrej++;
            continue;
        }
        if (d->score < a->conf.low_score) continue; /* ignored, not wrong */
        int label = vigil__ana_label(a, d->label);
        if (label < 0) { /* too long, or one label too many */
            nrej++;
            continue;
        }
        vigil__det_t *k = &a->dets[a->ndets++];
        k->box[0] = d->x1;
        k->box[1] = d->y1;
        k->box[2] = d->x2;
        k->box[3] = d->y2;
        k->score = d->score;
        k->label = label;
        k->input = (int)i;
        k->track = -1;
    }

    vigil__trk_frame(a);
    vigil__buckets_frame(a);
    a->last_seq = frame->sequence;
    a->last_time_us = frame->time_us;

    size_t ntracks = 0;
    for (size_t i = 0; i < a->ntracks; i++)
        if (a->tracks[i]->state != VIGIL__TRK_TENTATIVE) ntracks++;
    out->det_track = a->det_track;
    out->points = a->points;
    out->npoints = a->npoints;
    out->events = a->out_ev;
    out->nevents = a->nout_ev;
    out->counts = a->out_counts;
    out->ncounts = a->nout_counts;
    out->ntracks = ntracks;
    if (rejected) *rejected = nrej;
    a->frame = NULL;
    return a->oom ? VIGIL_ERR_NOMEM : VIGIL_OK;
}

/* ---- accessors -------------------------------------------------------------------- */

uint64_t vigil_analyzer_last_sequence(const vigil_analyzer_t *a)
{
    return a ? a->last_seq : 0;
}

uint64_t vigil_analyzer_next_track_id(const vigil_analyzer_t *a)
{
    return a ? a->next_track_id : 0;
}

vigil_err_t vigil_analyzer_set_next_track_id(vigil_analyzer_t *a, uint64_t next_id)
{
    if (!a || next_id == 0 || next_id < a->next_track_id) return VIGIL_ERR_INVALID;
    a->next_track_id = next_id;
    return VIGIL_OK;
}

const char *vigil_analyzer_camera(const vigil_analyzer_t *a)
{
    return a ? a->camera_id : NULL;
}

vigil_err_t vigil_analyzer_occupancy(const vigil_analyzer_t *a, vigil_zone_occupancy_t **rows,
                                     size_t *n)
{
    if (!a || !rows || !n) return VIGIL_ERR_INVALID;
    *rows = NULL;
    *n = 0;
    if (a->nocc == 0) return VIGIL_OK;
    vigil_zone_occupancy_t *r = calloc(a->nocc, sizeof *r);
    if (!r) return VIGIL_ERR_NOMEM;
    for (size_t i = 0; i < a->nocc; i++) {
        memcpy(r[i].zone, a->zones[a->occ[i].zone].conf.id, sizeof r[i].zone);
        memcpy(r[i].label, a->labels[a->occ[i].label].name, sizeof r[i].label);
        r[i].count = a->occ[i].count;
    }
    *rows = r;
    *n = a->nocc;
    return VIGIL_OK;
}
