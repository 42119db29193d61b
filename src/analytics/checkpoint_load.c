/* Loading an analyzer from a checkpoint (see checkpoint.c for the format's
 * idea). Everything read is checked before it is used; the first problem
 * refuses the whole checkpoint with "checkpoint: <what>: <why>" in errstr. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analyzer_int.h"
#include "vigil/v1/analytics.pb-c.h"

#define STREAK_MAX 1000        /* far above the largest inertia */
#define COUNT_MAX (INT64_C(1) << 53)

typedef struct loader {
    vigil_analyzer_t *a;
    const Vigil__V1__AnalyzerCheckpoint *cp;
    char *errstr;
    size_t errstr_size;
} loader_t;

static int fail(loader_t *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(loader_t *ld, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vigil_seterr(ld->errstr, ld->errstr_size, VIGIL_ERR_DECODE, "checkpoint: %s", msg);
    return -1;
}

static int box_ok(float x1, float y1, float x2, float y2)
{
    return isfinite(x1) && isfinite(y1) && isfinite(x2) && isfinite(y2);
}

static int label_ok(loader_t *ld, uint32_t label)
{
    return label < ld->a->nlabels;
}

static int read_snap(loader_t *ld, const Vigil__V1__AnalyticsSnapshot *m, vigil__snap_t *s,
                     const char *what)
{
    memset(s, 0, sizeof *s);
    if (!m) return 0;
    if (!box_ok(m->x1, m->y1, m->x2, m->y2) || !(m->score >= 0 && m->score <= 1))
        return fail(ld, "%s: bad snapshot", what);
    s->score = m->score;
    s->box[0] = m->x1;
    s->box[1] = m->y1;
    s->box[2] = m->x2;
    s->box[3] = m->y2;
    s->seq = m->sequence;
    s->frame_id = m->frame_id;
    return 0;
}

static int read_obs(loader_t *ld, const Vigil__V1__AnalyticsObservation *m, vigil__obs_t *o,
                    const char *what)
{
    if (!m) return fail(ld, "%s: missing observation", what);
    if (!box_ok(m->x1, m->y1, m->x2, m->y2) || !(m->x2 > m->x1) || !(m->y2 > m->y1) ||
        !(m->score >= 0 && m->score <= 1) || !label_ok(ld, m->label))
        return fail(ld, "%s: bad observation", what);
    o->seq = m->sequence;
    o->time_us = m->time_us;
    o->frame_id = m->frame_id;
    o->box[0] = m->x1;
    o->box[1] = m->y1;
    o->box[2] = m->x2;
    o->box[3] = m->y2;
    o->score = m->score;
    o->label = (int)m->label;
    return 0;
}

static int zone_index(const vigil_analyzer_t *a, const char *id)
{
    for (size_t k = 0; k < a->nzones; k++)
        if (strcmp(a->zones[k].conf.id, id) == 0) return (int)k;
    return -1;
}

static int line_index(const vigil_analyzer_t *a, const char *id)
{
    for (size_t k = 0; k < a->nlines; k++)
        if (strcmp(a->lines[k].conf.id, id) == 0) return (int)k;
    return -1;
}

static int read_track(loader_t *ld, size_t i, const Vigil__V1__AnalyticsTrack *m,
                      vigil__track_t *t)
{
    vigil_analyzer_t *a = ld->a;
    char what[48];
    snprintf(what, sizeof what, "tracks[%zu]", i);
    if (!m) return fail(ld, "%s: missing", what);
    if (m->state < VIGIL__TRK_TENTATIVE || m->state > VIGIL__TRK_LOST)
        return fail(ld, "%s: unknown state %u", what, m->state);
    int tentative = m->state == VIGIL__TRK_TENTATIVE;
    if (tentative ? m->id != 0 : (m->id == 0 || m->id >= a->next_track_id))
        return fail(ld, "%s: id %llu inconsistent with its state and next_track_id %llu", what,
                    (unsigned long long)m->id, (unsigned long long)a->next_track_id);
    for (size_t j = 0; j < i && m->id; j++)
        if (a->tracks[j]->id == m->id)
            return fail(ld, "%s: duplicate id %llu", what, (unsigned long long)m->id);
    if (!label_ok(ld, m->label)) return fail(ld, "%s: unknown label %u", what, m->label);
    if (m->hits < 1 || m->hits > VIGIL__ANA_MIN_HITS_MAX)
        return fail(ld, "%s: hits %u out of range", what, m->hits);
    if (m->n_kalman_mean != 8 || m->n_kalman_cov != 12)
        return fail(ld, "%s: kalman state of %zu + %zu values, not 8 + 12", what,
                    m->n_kalman_mean, m->n_kalman_cov);
    memset(t, 0, sizeof *t);
    t->id = m->id;
    t->state = (int)m->state;
    t->label = (int)m->label;
    t->hits = (int)m->hits < a->conf.min_hits ? (int)m->hits : a->conf.min_hits;
    memcpy(t->kf.x, m->kalman_mean, sizeof t->kf.x);
    memcpy(&t->kf.p[0][0], m->kalman_cov, sizeof t->kf.p);
    if (!vigil__kf_valid(&t->kf)) return fail(ld, "%s: kalman state not finite", what);
    t->kf_time_us = m->kalman_time_us;
    t->det = -1;
    vigil__trk_reset_rules(t);
    if (read_obs(ld, m->last, &t->last, what)) return -1;
    if (m->n_history > (tentative ? (size_t)VIGIL__ANA_MIN_HITS_MAX : 0))
        return fail(ld, "%s: %zu history entries", what, m->n_history);
    for (size_t h = 0; h < m->n_history; h++)
        if (read_obs(ld, m->history[h], &t->hist[t->nhist++], what)) return -1;
    if (tentative && (m->n_zones || m->n_lines))
        return fail(ld, "%s: a tentative track with zone or line state", what);
    if (m->n_zones > VIGIL_ZONES_MAX * 4 || m->n_lines > VIGIL_LINES_MAX * 4)
        return fail(ld, "%s: too many zone or line states", what);
    uint32_t seen = 0;
    for (size_t j = 0; j < m->n_zones; j++) {
        const Vigil__V1__AnalyticsZoneState *z = m->zones[j];
        if (!z || !z->zone) return fail(ld, "%s.zones[%zu]: missing", what, j);
        int k = zone_index(a, z->zone);
        if (k < 0) continue; /* the zone is gone: so is its state (events: see read_event) */
        if (seen >> k & 1u) return fail(ld, "%s.zones[%zu]: zone repeated", what, j);
        seen |= 1u << k;
        if (z->streak > STREAK_MAX) return fail(ld, "%s.zones[%zu]: bad streak", what, j);
        vigil__zstate_t *zs = &t->z[k];
        zs->inside = z->inside;
        zs->streak = (uint16_t)z->streak;
        zs->streak_seq = z->streak_sequence;
        zs->streak_us = z->streak_us;
        if (read_snap(ld, z->streak_best, &zs->streak_best, what)) return -1;
    }
    seen = 0;
    for (size_t j = 0; j < m->n_lines; j++) {
        const Vigil__V1__AnalyticsLineState *l = m->lines[j];
        if (!l || !l->line) return fail(ld, "%s.lines[%zu]: missing", what, j);
        int k = line_index(a, l->line);
        if (k < 0) continue;
        if (seen >> k & 1u) return fail(ld, "%s.lines[%zu]: line repeated", what, j);
        seen |= 1u << k;
        if (l->armed < -1 || l->armed > 1 || l->last_side < -1 || l->last_side > 1 ||
            !isfinite(l->last_x) || !isfinite(l->last_y))
            return fail(ld, "%s.lines[%zu]: bad line state", what, j);
        vigil__lstate_t *ls = &t->l[k];
        ls->armed = (int8_t)l->armed;
        ls->last_side = (int8_t)l->last_side;
        ls->xing_ok = l->crossed_segment ? 1 : 0;
        ls->last_x = l->last_x;
        ls->last_y = l->last_y;
    }
    return 0;
}

static vigil__track_t *track_of(vigil_analyzer_t *a, uint64_t id)
{
    for (size_t i = 0; i < a->ntracks; i++)
        if (a->tracks[i]->id == id && id) return a->tracks[i];
    return NULL;
}

static int read_event(loader_t *ld, size_t i, const Vigil__V1__AnalyticsEventState *m)
{
    vigil_analyzer_t *a = ld->a;
    char what[48];
    snprintf(what, sizeof what, "events[%zu]", i);
    if (!m || !m->zone) return fail(ld, "%s: missing", what);
    if (m->kind != VIGIL_EVENT_ZONE_ENTER && m->kind != VIGIL_EVENT_LOITER)
        return fail(ld, "%s: kind %u cannot be open", what, m->kind);
    if (!label_ok(ld, m->label)) return fail(ld, "%s: unknown label %u", what, m->label);
    if (strnlen(m->zone, VIGIL_RULE_ID_MAX) >= VIGIL_RULE_ID_MAX)
        return fail(ld, "%s: zone id too long", what);
    vigil__snap_t snap;
    if (read_snap(ld, m->snapshot, &snap, what)) return -1;
    vigil__track_t *t = track_of(a, m->track_id);
    int k = zone_index(a, m->zone);
    if (m->open && !t) return fail(ld, "%s: of no live track", what);
    if (!m->open && (m->end_sequence == 0 || m->end_sequence < m->start_sequence))
        return fail(ld, "%s: closed without an end", what);
    /* nothing in a checkpoint can come from a frame after the last one */
    if (m->start_sequence > a->last_seq || (!m->open && m->end_sequence > a->last_seq))
        return fail(ld, "%s: from sequence %llu, after the checkpoint's last frame %llu", what,
                    (unsigned long long)(m->start_sequence > a->last_seq ? m->start_sequence
                                                                         : m->end_sequence),
                    (unsigned long long)a->last_seq);
    if (m->open && k >= 0) { /* re-link to its track's zone state */
        vigil__zstate_t *zs = &t->z[k];
        int32_t *slot = m->kind == VIGIL_EVENT_ZONE_ENTER ? &zs->enter_ev : &zs->loiter_ev;
        if (!zs->inside || *slot >= 0 || (m->kind == VIGIL_EVENT_LOITER && zs->enter_ev < 0))
            return fail(ld, "%s: inconsistent with its track's zone state", what);
        if (vigil__ana_reserve((void **)&a->ev, &a->capev, a->nev + 1, sizeof *a->ev) ||
            vigil__ana_reserve((void **)&a->ev_free, &a->capev_free, a->nev + 1,
                               sizeof *a->ev_free))
            return fail(ld, "out of memory");
        vigil__event_t *ev = &a->ev[a->nev];
        memset(ev, 0, sizeof *ev);
        ev->kind = (int)m->kind;
        ev->label = (int)m->label;
        ev->zone = k;
        ev->track_id = m->track_id;
        ev->start_seq = m->start_sequence;
        ev->start_us = m->start_us;
        ev->snap = snap;
        *slot = (int32_t)a->nev++;
        if (m->kind == VIGIL_EVENT_ZONE_ENTER) vigil__occ_add(a, k, ev->label, +1);
        return a->oom ? fail(ld, "out of memory") : 0;
    }
    /* a due report, or open in a zone that is gone: closed at the last frame */
    if (vigil__ana_reserve((void **)&a->pending, &a->cappending, a->npending + 1,
                           sizeof *a->pending))
        return fail(ld, "out of memory");
    vigil_analytics_event_t *e = &a->pending[a->npending++];
    memset(e, 0, sizeof *e);
    e->kind = (int)m->kind;
    memcpy(e->camera_id, a->camera_id, sizeof e->camera_id);
    memcpy(e->label, a->labels[m->label].name, sizeof e->label);
    e->track_id = m->track_id;
    memcpy(e->zone, m->zone, strlen(m->zone));
    e->start_sequence = m->start_sequence;
    e->start_us = m->start_us;
    e->end_sequence = m->open ? a->last_seq : m->end_sequence;
    e->end_us = m->open ? a->last_time_us : m->end_us;
    if (e->end_us < e->start_us) e->end_us = e->start_us;
    e->snapshot_frame_id = snap.frame_id;
    e->snapshot_sequence = snap.seq;
    e->peak_score = snap.score;
    e->x1 = snap.box[0];
    e->y1 = snap.box[1];
    e->x2 = snap.box[2];
    e->y2 = snap.box[3];
    return 0;
}

static int read_bucket(loader_t *ld, size_t i, const Vigil__V1__AnalyticsCountBucket *m)
{
    vigil_analyzer_t *a = ld->a;
    if (!m || !m->zone || !m->line) return fail(ld, "buckets[%zu]: missing", i);
    int is_line = m->line[0] != 0;
    if (is_line == (m->zone[0] != 0))
        return fail(ld, "buckets[%zu]: not exactly one of zone and line", i);
    if (!label_ok(ld, m->label)) return fail(ld, "buckets[%zu]: unknown label %u", i, m->label);
    if (m->minute_us % VIGIL__ANA_MINUTE_US != 0)
        return fail(ld, "buckets[%zu]: minute not on a minute", i);
    if (m->entered < 0 || m->peak < 0 || m->count_in < 0 || m->count_out < 0 ||
        m->entered > COUNT_MAX || m->peak > COUNT_MAX || m->count_in > COUNT_MAX ||
        m->count_out > COUNT_MAX)
        return fail(ld, "buckets[%zu]: count out of range", i);
    int rule = is_line ? line_index(a, m->line) : zone_index(a, m->zone);
    if (rule < 0) return 0; /* its rule is gone */
    for (size_t j = 0; j < a->nbuckets; j++) {
        const vigil__bucket_t *b = &a->buckets[j];
        if (b->minute_us == m->minute_us && b->is_line == is_line && b->rule == rule &&
            b->label == (int)m->label)
            return fail(ld, "buckets[%zu]: repeated", i);
    }
    vigil__bucket_t *b = &a->buckets[a->nbuckets++]; /* reserved by the caller */
    memset(b, 0, sizeof *b);
    b->minute_us = m->minute_us;
    b->is_line = is_line;
    b->rule = rule;
    b->label = (int)m->label;
    b->entered = m->entered;
    b->peak = m->peak;
    b->in = m->count_in;
    b->out = m->count_out;
    return 0;
}

static int read_all(loader_t *ld)
{
    vigil_analyzer_t *a = ld->a;
    const Vigil__V1__AnalyzerCheckpoint *cp = ld->cp;
    a->last_seq = cp->last_sequence;
    a->last_time_us = cp->last_time_us;
    if (cp->next_track_id == 0) return fail(ld, "next_track_id 0");
    a->next_track_id = cp->next_track_id;

    if (cp->n_labels > VIGIL__ANA_LABELS_MAX)
        return fail(ld, "%zu labels (at most %d)", cp->n_labels, VIGIL__ANA_LABELS_MAX);
    for (size_t i = 0; i < cp->n_labels; i++) {
        const char *name = cp->labels[i];
        if (!name || vigil__ana_label(a, name) != (int)i)
            return fail(ld, "labels[%zu]: empty, too long, repeated or out of memory", i);
    }

    if (cp->n_tracks > VIGIL__ANA_TRACKS_MAX)
        return fail(ld, "%zu tracks (at most %d)", cp->n_tracks, VIGIL__ANA_TRACKS_MAX);
    if (vigil__ana_reserve((void **)&a->tracks, &a->captracks, cp->n_tracks + 1,
                           sizeof *a->tracks))
        return fail(ld, "out of memory");
    for (size_t i = 0; i < cp->n_tracks; i++) {
        vigil__track_t *t = malloc(sizeof *t);
        if (!t) return fail(ld, "out of memory");
        if (read_track(ld, i, cp->tracks[i], t)) {
            free(t);
            return -1;
        }
        a->tracks[a->ntracks++] = t;
    }

    size_t max_events = cp->n_tracks * VIGIL_ZONES_MAX * 4 + 64;
    if (cp->n_events > max_events) return fail(ld, "%zu events", cp->n_events);
    for (size_t i = 0; i < cp->n_events; i++)
        if (read_event(ld, i, cp->events[i])) return -1;
    for (size_t i = 0; i < a->ntracks; i++) /* every belief inside has its zone_enter */
        for (size_t k = 0; k < a->nzones; k++)
            if (a->tracks[i]->z[k].inside && a->tracks[i]->z[k].enter_ev < 0)
                return fail(ld, "tracks[%zu]: inside zone \"%s\" without its zone_enter", i,
                            a->zones[k].conf.id);

    if (cp->n_buckets > VIGIL__ANA_BUCKETS_MAX)
        return fail(ld, "%zu buckets (at most %d)", cp->n_buckets, VIGIL__ANA_BUCKETS_MAX);
    if (vigil__ana_reserve((void **)&a->buckets, &a->capbuckets, cp->n_buckets + 1,
                           sizeof *a->buckets))
        return fail(ld, "out of memory");
    for (size_t i = 0; i < cp->n_buckets; i++)
        if (read_bucket(ld, i, cp->buckets[i])) return -1;
    return 0;
}

vigil_analyzer_t *vigil_analyzer_load(const char *camera_id, const vigil_tracker_conf_t *conf,
                                      const vigil_zone_conf_t *zones, size_t nzones,
                                      const vigil_line_conf_t *lines, size_t nlines,
                                      const uint8_t *buf, size_t len, char *errstr,
                                      size_t errstr_size)
{
    if (!buf && len) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "checkpoint: NULL buffer");
        return NULL;
    }
    Vigil__V1__AnalyzerCheckpoint *cp =
        vigil__v1__analyzer_checkpoint__unpack(NULL, len, buf ? buf : (const uint8_t *)"");
    if (!cp) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                     "checkpoint: malformed protobuf (%zu bytes)", len);
        return NULL;
    }
    vigil_analyzer_t *a = NULL;
    if (cp->schema_version == 0) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                     "checkpoint: no schema_version (not an analyzer checkpoint)");
        goto fail;
    }
    if (cp->schema_version > VIGIL__ANA_CHECKPOINT_VERSION) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                     "checkpoint: schema_version %u is newer than this build's %d",
                     cp->schema_version, VIGIL__ANA_CHECKPOINT_VERSION);
        goto fail;
    }
    if (!camera_id || !cp->camera_id || strcmp(cp->camera_id, camera_id) != 0) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                     "checkpoint: of camera \"%.64s\", not \"%.64s\"",
                     cp->camera_id ? cp->camera_id : "", camera_id ? camera_id : "");
        goto fail;
    }
    a = vigil_analyzer_new(camera_id, conf, zones, nzones, lines, nlines, errstr, errstr_size);
    if (!a) goto fail;
    loader_t ld = {a, cp, errstr, errstr_size};
    if (read_all(&ld)) goto fail;
    vigil__v1__analyzer_checkpoint__free_unpacked(cp, NULL);
    return a;
fail:
    vigil_analyzer_free(a);
    vigil__v1__analyzer_checkpoint__free_unpacked(cp, NULL);
    return NULL;
}
