/* Saving and loading an analyzer (proto/vigil/v1/analytics.proto).
 *
 * Save writes every piece of state that a later frame can observe, in the
 * analyzer's own order, so that a loaded analyzer fed the same frames
 * produces byte-identical outputs and saves byte-identical checkpoints.
 * What is derived is rebuilt on load instead of saved: the label hash, each
 * label's rule masks, the occupancy table (= open zone_enter events) and
 * the links from a track's zone state to its event slots.
 *
 * A checkpoint comes from outside (the warehouse), so load checks all of
 * it: sizes against the analyzer's bounds, ids unique and below
 * next_track_id, labels and states in range, Kalman values finite with
 * positive variances, every open event belonging to a confirmed track that
 * is inside its zone and every track inside a zone having its open event.
 * State of zones and lines the given rules no longer have is dropped, and
 * their open events are closed at the checkpoint's last frame (reported by
 * the next frame), as vigil_analyzer_set_rules does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analyzer_int.h"
#include "vigil/v1/analytics.pb-c.h"

/* ---- a bump allocator for the message tree ------------------------------------ */

typedef struct chunk {
    struct chunk *next;
    size_t used, size;
    max_align_t data[];
} chunk_t;

typedef struct arena {
    chunk_t *head;
    int oom;
} arena_t;

static void *arena_alloc(arena_t *ar, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (size == 0) size = sizeof(max_align_t);
    if (!ar->head || ar->head->size - ar->head->used < size) {
        size_t cap = size > 65536 ? size : 65536;
        chunk_t *c = malloc(sizeof *c + cap);
        if (!c) {
            ar->oom = 1;
            return NULL;
        }
        c->next = ar->head;
        c->used = 0;
        c->size = cap;
        ar->head = c;
    }
    void *p = (char *)ar->head->data + ar->head->used;
    ar->head->used += size;
    memset(p, 0, size);
    return p;
}

static void arena_free(arena_t *ar)
{
    while (ar->head) {
        chunk_t *c = ar->head;
        ar->head = c->next;
        free(c);
    }
}

/* ---- save ------------------------------------------------------------------------ */

static Vigil__V1__AnalyticsSnapshot *snap_msg(arena_t *ar, const vigil__snap_t *s)
{
    Vigil__V1__AnalyticsSnapshot *m = arena_alloc(ar, sizeof *m);
    if (!m) return NULL;
    vigil__v1__analytics_snapshot__init(m);
    m->score = s->score;
    m->sequence = s->seq;
    m->frame_id = s->frame_id;
    m->x1 = s->box[0];
    m->y1 = s->box[1];
    m->x2 = s->box[2];
    m->y2 = s->box[3];
    return m;
}

static Vigil__V1__AnalyticsObservation *obs_msg(arena_t *ar, const vigil__obs_t *o)
{
    Vigil__V1__AnalyticsObservation *m = arena_alloc(ar, sizeof *m);
    if (!m) return NULL;
    vigil__v1__analytics_observation__init(m);
    m->sequence = o->seq;
    m->time_us = o->time_us;
    m->frame_id = o->frame_id;
    m->x1 = o->box[0];
    m->y1 = o->box[1];
    m->x2 = o->box[2];
    m->y2 = o->box[3];
    m->score = o->score;
    m->label = (uint32_t)o->label;
    return m;
}

static Vigil__V1__AnalyticsTrack *track_msg(const vigil_analyzer_t *a, arena_t *ar,
                                            const vigil__track_t *t)
{
    Vigil__V1__AnalyticsTrack *m = arena_alloc(ar, sizeof *m);
    if (!m) return NULL;
    vigil__v1__analytics_track__init(m);
    m->id = t->id;
    m->state = (uint32_t)t->state;
    m->label = (uint32_t)t->label;
    m->hits = (uint32_t)t->hits;
    m->n_kalman_mean = 8;
    m->kalman_mean = (double *)t->kf.x;
    m->n_kalman_cov = 12;
    m->kalman_cov = (double *)&t->kf.p[0][0];
    m->kalman_time_us = t->kf_time_us;
    m->last = obs_msg(ar, &t->last);
    if (t->nhist) {
        m->history = arena_alloc(ar, (size_t)t->nhist * sizeof *m->history);
        if (!m->history) return NULL;
        for (int h = 0; h < t->nhist; h++) m->history[m->n_history++] = obs_msg(ar, &t->hist[h]);
    }
    m->zones = arena_alloc(ar, (a->nzones + 1) * sizeof *m->zones);
    m->lines = arena_alloc(ar, (a->nlines + 1) * sizeof *m->lines);
    if (!m->zones || !m->lines) return NULL;
    for (size_t k = 0; k < a->nzones; k++) {
        const vigil__zstate_t *zs = &t->z[k];
        if (!zs->inside && !zs->streak) continue;
        Vigil__V1__AnalyticsZoneState *z = arena_alloc(ar, sizeof *z);
        if (!z) return NULL;
        vigil__v1__analytics_zone_state__init(z);
        z->zone = (char *)a->zones[k].conf.id;
        z->inside = zs->inside;
        z->streak = zs->streak;
        if (zs->streak) {
            z->streak_sequence = zs->streak_seq;
            z->streak_us = zs->streak_us;
            z->streak_best = snap_msg(ar, &zs->streak_best);
        }
        m->zones[m->n_zones++] = z;
    }
    for (size_t k = 0; k < a->nlines; k++) {
        const vigil__lstate_t *ls = &t->l[k];
        if (!ls->armed && !ls->last_side) continue;
        Vigil__V1__AnalyticsLineState *l = arena_alloc(ar, sizeof *l);
        if (!l) return NULL;
        vigil__v1__analytics_line_state__init(l);
        l->line = (char *)a->lines[k].conf.id;
        l->armed = ls->armed;
        l->last_side = ls->last_side;
        l->crossed_segment = ls->xing_ok;
        l->last_x = ls->last_x;
        l->last_y = ls->last_y;
        m->lines[m->n_lines++] = l;
    }
    return m;
}

static Vigil__V1__AnalyticsEventState *event_msg(const vigil_analyzer_t *a, arena_t *ar, int slot)
{
    const vigil__event_t *ev = &a->ev[slot];
    Vigil__V1__AnalyticsEventState *m = arena_alloc(ar, sizeof *m);
    if (!m) return NULL;
    vigil__v1__analytics_event_state__init(m);
    m->kind = (uint32_t)ev->kind;
    m->track_id = ev->track_id;
    m->zone = (char *)a->zones[ev->zone].conf.id;
    m->label = (uint32_t)ev->label;
    m->start_sequence = ev->start_seq;
    m->start_us = ev->start_us;
    m->snapshot = snap_msg(ar, &ev->snap);
    m->open = 1;
    return m;
}

static int label_index(const vigil_analyzer_t *a, const char *name)
{
    for (size_t i = 0; i < a->nlabels; i++)
        if (strcmp(a->labels[i].name, name) == 0) return (int)i;
    return 0; /* cannot happen: a reported label is interned */
}

static Vigil__V1__AnalyticsEventState *pending_msg(const vigil_analyzer_t *a, arena_t *ar,
                                                   const vigil_analytics_event_t *e)
{
    Vigil__V1__AnalyticsEventState *m = arena_alloc(ar, sizeof *m);
    if (!m) return NULL;
    vigil__v1__analytics_event_state__init(m);
    m->kind = (uint32_t)e->kind;
    m->track_id = e->track_id;
    m->zone = (char *)e->zone;
    m->label = (uint32_t)label_index(a, e->label);
    m->start_sequence = e->start_sequence;
    m->start_us = e->start_us;
    vigil__snap_t s = {e->peak_score, {e->x1, e->y1, e->x2, e->y2}, e->snapshot_sequence,
                       e->snapshot_frame_id};
    m->snapshot = snap_msg(ar, &s);
    m->open = 0;
    m->end_sequence = e->end_sequence;
    m->end_us = e->end_us;
    return m;
}

vigil_err_t vigil_analyzer_save(const vigil_analyzer_t *a, uint8_t **buf, size_t *len)
{
    if (!a || !buf || !len) return VIGIL_ERR_INVALID;
    arena_t ar = {NULL, 0};
    Vigil__V1__AnalyzerCheckpoint cp = VIGIL__V1__ANALYZER_CHECKPOINT__INIT;
    cp.schema_version = VIGIL__ANA_CHECKPOINT_VERSION;
    cp.camera_id = (char *)a->camera_id;
    cp.last_sequence = a->last_seq;
    cp.last_time_us = a->last_time_us;
    cp.next_track_id = a->next_track_id;
    cp.labels = arena_alloc(&ar, (a->nlabels + 1) * sizeof *cp.labels);
    cp.tracks = arena_alloc(&ar, (a->ntracks + 1) * sizeof *cp.tracks);
    size_t nevents = a->npending;
    for (size_t i = 0; i < a->nev; i++) nevents += a->ev[i].kind != 0;
    cp.events = arena_alloc(&ar, (nevents + 1) * sizeof *cp.events);
    cp.buckets = arena_alloc(&ar, (a->nbuckets + 1) * sizeof *cp.buckets);
    if (ar.oom) goto fail;
    for (size_t i = 0; i < a->nlabels; i++) cp.labels[cp.n_labels++] = (char *)a->labels[i].name;
    for (size_t i = 0; i < a->ntracks; i++) {
        const vigil__track_t *t = a->tracks[i];
        cp.tracks[cp.n_tracks++] = track_msg(a, &ar, t);
        for (size_t k = 0; k < a->nzones; k++) {
            if (t->z[k].enter_ev >= 0)
                cp.events[cp.n_events++] = event_msg(a, &ar, t->z[k].enter_ev);
            if (t->z[k].loiter_ev >= 0)
                cp.events[cp.n_events++] = event_msg(a, &ar, t->z[k].loiter_ev);
        }
    }
    for (size_t i = 0; i < a->npending; i++)
        cp.events[cp.n_events++] = pending_msg(a, &ar, &a->pending[i]);
    for (size_t i = 0; i < a->nbuckets; i++) {
        const vigil__bucket_t *b = &a->buckets[i];
        Vigil__V1__AnalyticsCountBucket *m = arena_alloc(&ar, sizeof *m);
        if (!m) goto fail;
        vigil__v1__analytics_count_bucket__init(m);
        m->minute_us = b->minute_us;
        if (b->is_line)
            m->line = (char *)a->lines[b->rule].conf.id;
        else
            m->zone = (char *)a->zones[b->rule].conf.id;
        m->label = (uint32_t)b->label;
        m->entered = b->entered;
        m->peak = b->peak;
        m->count_in = b->in;
        m->count_out = b->out;
        cp.buckets[cp.n_buckets++] = m;
    }
    if (ar.oom) goto fail;
    size_t n = vigil__v1__analyzer_checkpoint__get_packed_size(&cp);
    uint8_t *out = malloc(n ? n : 1);
    if (!out) goto fail;
    *len = vigil__v1__analyzer_checkpoint__pack(&cp, out);
    *buf = out;
    arena_free(&ar);
    return VIGIL_OK;
fail:
    arena_free(&ar);
    return VIGIL_ERR_NOMEM;
}
