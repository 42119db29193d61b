/* Installing and changing one analyzer's zones and lines (analyzer_int.h).
 *
 * Rules are checked with the config's own checks (vigil_zone_conf_check,
 * vigil_line_conf_check) plus unique ids, then copied with what the hot
 * path wants precomputed (a polygon's bounding box, a line's direction).
 * A change maps old rules to new ones by id: a kept id keeps every track's
 * state for it (who is inside, which side of a line), its occupancy and
 * its count buckets; a rule that goes closes its open events, reported at
 * the next frame with end = the last frame processed; a new rule starts
 * empty. Either all of it happens or, on error, nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analyzer_int.h"

/* dst (size bytes) = src, zero after the end: rendered ids are compared and
 * stored byte for byte */
static void copy_id(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    memset(dst + n, 0, size - n);
}

static void zone_prepare(vigil__zone_t *z, const vigil_zone_conf_t *conf)
{
    z->conf = *conf;
    copy_id(z->conf.id, sizeof z->conf.id, conf->id);
    z->minx = z->maxx = conf->polygon[0].x;
    z->miny = z->maxy = conf->polygon[0].y;
    for (size_t i = 1; i < conf->npoints; i++) {
        const vigil_point_t *p = &conf->polygon[i];
        if (p->x < z->minx) z->minx = p->x;
        if (p->x > z->maxx) z->maxx = p->x;
        if (p->y < z->miny) z->miny = p->y;
        if (p->y > z->maxy) z->maxy = p->y;
    }
}

static void line_prepare(vigil__line_t *l, const vigil_line_conf_t *conf)
{
    l->conf = *conf;
    copy_id(l->conf.id, sizeof l->conf.id, conf->id);
    l->dx = conf->b.x - conf->a.x;
    l->dy = conf->b.y - conf->a.y;
    l->len2 = l->dx * l->dx + l->dy * l->dy;
    l->len = sqrt(l->len2);
}

static vigil_err_t check(const vigil_zone_conf_t *zones, size_t nzones,
                         const vigil_line_conf_t *lines, size_t nlines, char *errstr,
                         size_t errstr_size)
{
    char msg[512];
    if (nzones > VIGIL_ZONES_MAX || (nzones && !zones))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "zones: %zu zones (accepted: at most %d)", nzones, VIGIL_ZONES_MAX);
    if (nlines > VIGIL_LINES_MAX || (nlines && !lines))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "lines: %zu lines (accepted: at most %d)", nlines, VIGIL_LINES_MAX);
    for (size_t i = 0; i < nzones; i++) {
        if (vigil_zone_conf_check(&zones[i], msg, sizeof msg))
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "zones[%zu]: %s", i, msg);
        for (size_t j = 0; j < i; j++)
            if (strcmp(zones[j].id, zones[i].id) == 0)
                return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                    "zones[%zu].id: duplicate id \"%s\", also zones[%zu]", i,
                                    zones[i].id, j);
    }
    for (size_t i = 0; i < nlines; i++) {
        if (vigil_line_conf_check(&lines[i], msg, sizeof msg))
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "lines[%zu]: %s", i, msg);
        for (size_t j = 0; j < i; j++)
            if (strcmp(lines[j].id, lines[i].id) == 0)
                return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                    "lines[%zu].id: duplicate id \"%s\", also lines[%zu]", i,
                                    lines[i].id, j);
    }
    return VIGIL_OK;
}

/* Renders open event slot i closed at the last frame into a->pending
 * (capacity reserved by the caller) and frees the slot. */
static void close_pending(vigil_analyzer_t *a, int i)
{
    vigil__ev_render(a, i, a->last_seq, a->last_time_us, &a->pending[a->npending++]);
    vigil__ev_free_slot(a, i);
}

vigil_err_t vigil__ana_set_rules(vigil_analyzer_t *a, const vigil_zone_conf_t *zones,
                                 size_t nzones, const vigil_line_conf_t *lines, size_t nlines,
                                 char *errstr, size_t errstr_size)
{
    vigil_err_t err = check(zones, nzones, lines, nlines, errstr, errstr_size);
    if (err) return err;

    /* old index -> new index (-1: gone), and new -> old (-1: new) */
    int zold[VIGIL_ZONES_MAX], lold[VIGIL_LINES_MAX];
    int znew[VIGIL_ZONES_MAX], lnew[VIGIL_LINES_MAX];
    for (size_t k = 0; k < a->nzones; k++) znew[k] = -1;
    for (size_t k = 0; k < a->nlines; k++) lnew[k] = -1;
    for (size_t j = 0; j < nzones; j++) {
        zold[j] = -1;
        for (size_t k = 0; k < a->nzones; k++)
            if (strcmp(a->zones[k].conf.id, zones[j].id) == 0) {
                zold[j] = (int)k;
                znew[k] = (int)j;
            }
    }
    for (size_t j = 0; j < nlines; j++) {
        lold[j] = -1;
        for (size_t k = 0; k < a->nlines; k++)
            if (strcmp(a->lines[k].conf.id, lines[j].id) == 0) {
                lold[j] = (int)k;
                lnew[k] = (int)j;
            }
    }

    /* room for the closing reports first: after this nothing can fail */
    size_t nclose = 0;
    for (size_t i = 0; i < a->ntracks; i++)
        for (size_t k = 0; k < a->nzones; k++)
            if (znew[k] < 0)
                nclose += (a->tracks[i]->z[k].enter_ev >= 0) + (a->tracks[i]->z[k].loiter_ev >= 0);
    if (vigil__ana_reserve((void **)&a->pending, &a->cappending, a->npending + nclose + 1,
                           sizeof *a->pending))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "rules: out of memory");

    for (size_t i = 0; i < a->ntracks; i++) {
        vigil__track_t *t = a->tracks[i];
        for (size_t k = 0; k < a->nzones; k++) {
            if (znew[k] >= 0) continue;
            if (t->z[k].loiter_ev >= 0) close_pending(a, t->z[k].loiter_ev);
            if (t->z[k].enter_ev >= 0) close_pending(a, t->z[k].enter_ev);
        }
        vigil__zstate_t z[VIGIL_ZONES_MAX];
        vigil__lstate_t l[VIGIL_LINES_MAX];
        memcpy(z, t->z, sizeof z);
        memcpy(l, t->l, sizeof l);
        vigil__trk_reset_rules(t);
        for (size_t j = 0; j < nzones; j++)
            if (zold[j] >= 0) t->z[j] = z[zold[j]];
        for (size_t j = 0; j < nlines; j++)
            if (lold[j] >= 0) t->l[j] = l[lold[j]];
    }
    for (size_t i = 0; i < a->nev; i++)
        if (a->ev[i].kind) a->ev[i].zone = znew[a->ev[i].zone];

    /* occupancy: drop gone zones, renumber, keep sorted by (zone, label) */
    size_t n = 0;
    for (size_t i = 0; i < a->nocc; i++) {
        vigil__occ_t o = a->occ[i];
        if (znew[o.zone] < 0) continue;
        o.zone = znew[o.zone];
        size_t p = n++;
        while (p > 0 && (a->occ[p - 1].zone > o.zone ||
                         (a->occ[p - 1].zone == o.zone && a->occ[p - 1].label > o.label))) {
            a->occ[p] = a->occ[p - 1];
            p--;
        }
        a->occ[p] = o;
    }
    a->nocc = n;

    n = 0;
    for (size_t i = 0; i < a->nbuckets; i++) {
        vigil__bucket_t b = a->buckets[i];
        int to = b.is_line ? lnew[b.rule] : znew[b.rule];
        if (to < 0) continue;
        b.rule = to;
        b.out_seq = 0;
        a->buckets[n++] = b;
    }
    a->nbuckets = n;

    for (size_t j = 0; j < nzones; j++) zone_prepare(&a->zones[j], &zones[j]);
    for (size_t j = 0; j < nlines; j++) line_prepare(&a->lines[j], &lines[j]);
    a->nzones = nzones;
    a->nlines = nlines;
    vigil__ana_label_masks(a);
    return VIGIL_OK;
}
