/* Events, count buckets and occupancy of one analyzer (analyzer_int.h).
 *
 * Open events (zone_enter, loiter) live in slots referenced from the track's
 * zone state. A change is reported by rendering the event into this frame's
 * out->events; an event reported twice in one frame keeps one row (its
 * out_idx), the latest. Instant events (zone_leave, line_cross) are rendered
 * straight into the output.
 *
 * Count buckets are kept per (minute, zone or line, label) for the minutes
 * up to VIGIL__ANA_BUCKET_KEEP_US before the current frame's, so that an
 * event dated back (inertia, confirmation) still adds to its own minute's
 * bucket; the values are cumulative, reported when they change. (An event
 * dated back further than that, possible only when frames are minutes apart,
 * starts a fresh bucket for its old minute, which a writer keeping the larger
 * value may then ignore.) */
#include <string.h>

#include "analytics/analyzer_int.h"

int64_t vigil__minute(int64_t time_us)
{
    int64_t q = time_us / VIGIL__ANA_MINUTE_US;
    if (time_us % VIGIL__ANA_MINUTE_US < 0) q--; /* floor for times before 1970 */
    return q * VIGIL__ANA_MINUTE_US;
}

void vigil__snap_of(const vigil__obs_t *o, vigil__snap_t *s)
{
    s->score = o->score;
    memcpy(s->box, o->box, sizeof s->box);
    s->seq = o->seq;
    s->frame_id = o->frame_id;
}

int vigil__ev_open(vigil_analyzer_t *a, int kind, const vigil__track_t *t, int zone,
                   uint64_t start_seq, int64_t start_us, const vigil__snap_t *snap)
{
    int i;
    if (a->nev_free) {
        i = a->ev_free[--a->nev_free];
    } else {
        if (vigil__ana_reserve((void **)&a->ev, &a->capev, a->nev + 1, sizeof *a->ev) ||
            vigil__ana_reserve((void **)&a->ev_free, &a->capev_free, a->nev + 1,
                               sizeof *a->ev_free)) {
            a->oom = 1;
            return -1;
        }
        i = (int)a->nev++;
    }
    vigil__event_t *ev = &a->ev[i];
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    ev->label = t->label;
    ev->zone = zone;
    ev->track_id = t->id;
    ev->start_seq = start_seq;
    ev->start_us = start_us;
    ev->snap = *snap;
    return i;
}

void vigil__ev_free_slot(vigil_analyzer_t *a, int i)
{
    a->ev[i].kind = 0;
    a->ev_free[a->nev_free++] = i; /* capev_free >= nev: always room */
}

static void render_snap(const vigil__snap_t *s, vigil_analytics_event_t *e)
{
    e->snapshot_frame_id = s->frame_id;
    e->snapshot_sequence = s->seq;
    e->peak_score = s->score;
    e->x1 = s->box[0];
    e->y1 = s->box[1];
    e->x2 = s->box[2];
    e->y2 = s->box[3];
}

void vigil__ev_render(const vigil_analyzer_t *a, int i, uint64_t end_seq, int64_t end_us,
                      vigil_analytics_event_t *e)
{
    const vigil__event_t *ev = &a->ev[i];
    memset(e, 0, sizeof *e);
    e->kind = ev->kind;
    memcpy(e->camera_id, a->camera_id, sizeof e->camera_id);
    memcpy(e->label, a->labels[ev->label].name, sizeof e->label);
    e->track_id = ev->track_id;
    memcpy(e->zone, a->zones[ev->zone].conf.id, sizeof e->zone);
    e->start_sequence = ev->start_seq;
    e->start_us = ev->start_us;
    if (end_seq) {
        e->end_sequence = end_seq;
        e->end_us = end_us < ev->start_us ? ev->start_us : end_us;
    } else {
        e->open = 1;
    }
    render_snap(&ev->snap, e);
    e->updated_sequence = a->frame ? a->frame->sequence : 0;
}

void vigil__ev_out(vigil_analyzer_t *a, const vigil_analytics_event_t *e)
{
    if (vigil__ana_reserve((void **)&a->out_ev, &a->capout_ev, a->nout_ev + 1,
                           sizeof *a->out_ev)) {
        a->oom = 1;
        return;
    }
    a->out_ev[a->nout_ev++] = *e;
}

/* Puts slot i's report in this frame's output, replacing an earlier one. */
static void place(vigil_analyzer_t *a, int i, uint64_t end_seq, int64_t end_us)
{
    vigil__event_t *ev = &a->ev[i];
    vigil_analytics_event_t e;
    vigil__ev_render(a, i, end_seq, end_us, &e);
    if (ev->out_seq == a->frame->sequence && ev->out_idx < a->nout_ev) {
        a->out_ev[ev->out_idx] = e;
        return;
    }
    size_t n = a->nout_ev;
    vigil__ev_out(a, &e);
    if (a->nout_ev > n) {
        ev->out_seq = a->frame->sequence;
        ev->out_idx = n;
    }
}

void vigil__ev_report(vigil_analyzer_t *a, int i)
{
    place(a, i, 0, 0);
}

void vigil__ev_close(vigil_analyzer_t *a, int i, uint64_t end_seq, int64_t end_us)
{
    place(a, i, end_seq, end_us);
    vigil__ev_free_slot(a, i);
}

void vigil__ev_instant(vigil_analyzer_t *a, int kind, const vigil__track_t *t, int rule,
                       int direction, const vigil__obs_t *o)
{
    vigil_analytics_event_t e;
    memset(&e, 0, sizeof e);
    e.kind = kind;
    memcpy(e.camera_id, a->camera_id, sizeof e.camera_id);
    memcpy(e.label, a->labels[t->label].name, sizeof e.label);
    e.track_id = t->id;
    if (kind == VIGIL_EVENT_LINE_CROSS)
        memcpy(e.line, a->lines[rule].conf.id, sizeof e.line);
    else
        memcpy(e.zone, a->zones[rule].conf.id, sizeof e.zone);
    e.direction = direction;
    e.start_sequence = e.end_sequence = o->seq;
    e.start_us = e.end_us = o->time_us;
    vigil__snap_t s;
    vigil__snap_of(o, &s);
    render_snap(&s, &e);
    e.updated_sequence = a->frame->sequence;
    vigil__ev_out(a, &e);
}

/* ---- count buckets --------------------------------------------------------- */

vigil__bucket_t *vigil__bucket_get(vigil_analyzer_t *a, int64_t time_us, int is_line, int rule,
                                   int label)
{
    int64_t minute = vigil__minute(time_us);
    for (size_t i = a->nbuckets; i-- > 0;) {
        vigil__bucket_t *b = &a->buckets[i];
        if (b->minute_us == minute && b->rule == rule && b->label == label &&
            b->is_line == is_line)
            return b;
    }
    if (a->nbuckets == VIGIL__ANA_BUCKETS_MAX) { /* the oldest goes */
        memmove(a->buckets, a->buckets + 1, (a->nbuckets - 1) * sizeof *a->buckets);
        a->nbuckets--;
    }
    if (vigil__ana_reserve((void **)&a->buckets, &a->capbuckets, a->nbuckets + 1,
                           sizeof *a->buckets)) {
        a->oom = 1;
        return NULL;
    }
    vigil__bucket_t *b = &a->buckets[a->nbuckets++];
    memset(b, 0, sizeof *b);
    b->minute_us = minute;
    b->is_line = is_line;
    b->rule = rule;
    b->label = label;
    return b;
}

void vigil__bucket_report(vigil_analyzer_t *a, vigil__bucket_t *b)
{
    vigil_count_bucket_t c;
    memset(&c, 0, sizeof c);
    c.minute_us = b->minute_us;
    if (b->is_line)
        memcpy(c.line, a->lines[b->rule].conf.id, sizeof c.line);
    else
        memcpy(c.zone, a->zones[b->rule].conf.id, sizeof c.zone);
    memcpy(c.label, a->labels[b->label].name, sizeof c.label);
    c.entered = b->entered;
    c.peak = b->peak;
    c.in = b->in;
    c.out = b->out;
    if (b->out_seq == a->frame->sequence && b->out_idx < a->nout_counts) {
        a->out_counts[b->out_idx] = c;
        return;
    }
    if (vigil__ana_reserve((void **)&a->out_counts, &a->capout_counts, a->nout_counts + 1,
                           sizeof *a->out_counts)) {
        a->oom = 1;
        return;
    }
    b->out_seq = a->frame->sequence;
    b->out_idx = a->nout_counts;
    a->out_counts[a->nout_counts++] = c;
}

void vigil__occ_add(vigil_analyzer_t *a, int zone, int label, int delta)
{
    size_t i = 0;
    while (i < a->nocc && (a->occ[i].zone < zone ||
                           (a->occ[i].zone == zone && a->occ[i].label < label)))
        i++;
    if (i < a->nocc && a->occ[i].zone == zone && a->occ[i].label == label) {
        a->occ[i].count += delta;
        if (a->occ[i].count <= 0) {
            memmove(a->occ + i, a->occ + i + 1, (a->nocc - i - 1) * sizeof *a->occ);
            a->nocc--;
        }
        return;
    }
    if (delta <= 0) return;
    if (vigil__ana_reserve((void **)&a->occ, &a->capocc, a->nocc + 1, sizeof *a->occ)) {
        a->oom = 1;
        return;
    }
    memmove(a->occ + i + 1, a->occ + i, (a->nocc - i) * sizeof *a->occ);
    a->nocc++;
    a->occ[i].zone = zone;
    a->occ[i].label = label;
    a->occ[i].count = delta;
}

void vigil__buckets_frame(vigil_analyzer_t *a)
{
    for (size_t i = 0; i < a->nocc; i++) {
        vigil__bucket_t *b = vigil__bucket_get(a, a->frame->time_us, 0, a->occ[i].zone,
                                               a->occ[i].label);
        if (b && a->occ[i].count > b->peak) {
            b->peak = a->occ[i].count;
            vigil__bucket_report(a, b);
        }
    }
    int64_t cutoff = vigil__minute(a->frame->time_us) - VIGIL__ANA_BUCKET_KEEP_US;
    size_t n = 0;
    for (size_t i = 0; i < a->nbuckets; i++)
        if (a->buckets[i].minute_us >= cutoff) a->buckets[n++] = a->buckets[i];
    a->nbuckets = n;
}
