/* Zones and lines, the per-camera analytics rules: their defaults, their
 * checks, and the rows that document them.
 *
 * Main idea: a rule is checked the same way wherever it comes from (the YAML
 * file, JSON on the control topic, the API), by vigil__zone_check and
 * vigil__line_check, which report the field at fault separately from the
 * reason so that each caller can name it in its own terms
 * ("cfg.yaml:12: key \"cameras[0].zones[1].polygon\": ...",
 * "zones[1].polygon: ..."). The limits live in the macros below, used by
 * both the checks and the rows of vigil__rule_rows, so the generated docs
 * state exactly what the checks accept.
 *
 * A polygon must be simple: no two non-adjacent edges may meet, not even by
 * touching or overlapping on a common line, and no corner may repeat. An
 * O(n^2) edge-pair test is plenty for 32 points.
 *
 * Thread: any; no shared state. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/config_int.h"

#define XSTR(x) #x
#define STR(x) XSTR(x)

/* Defaults and ranges of the rule fields (vigil/config.h). */
#define MIN_SCORE_DEF 0
#define LOITER_DEF 0
#define LOITER_MAX 86400
#define INERTIA_DEF 2
#define INERTIA_MIN 1
#define INERTIA_MAX 30
#define HYSTERESIS_DEF 0.02
#define HYSTERESIS_MAX 0.5

/* Below this (in normalised units) a polygon has no area and a line no length. */
#define EPSILON 1e-12

#define ACC_ID "1 to 63 of A-Z a-z 0-9 _ . -"
#define ACC_POLYGON "a simple polygon of 3 to " STR(VIGIL_POLYGON_MAX) " points in 0..1"
#define ACC_POINTS "two distinct points in 0..1"
#define ACC_LABELS "at most " STR(VIGIL_RULE_LABELS_MAX) " distinct labels of 1 to 63 characters"

#define ZONE "cameras[].zones[]."
#define LINE "cameras[].lines[]."

static const char anchors[] = "bottom_center|center|top_center"; /* vigil_anchor_t order */

const vigil__rule_row_t vigil__rule_rows[] = {
    {"cameras[].zones", VIGIL_PROP_STRING, "list of mappings", NULL, 0, 0, NULL,
     "at most " STR(VIGIL_ZONES_MAX) " zones",
     "Zones of this camera for the analytics stage: polygons in which tracked objects raise "
     "zone_enter, zone_leave and loiter events and are counted (docs/analytics.md). Lists are "
     "set in the YAML file only, not from the environment or `--set`."},
    {ZONE "id", VIGIL_PROP_STRING, NULL, NULL, 0, 0, NULL, ACC_ID,
     "Zone id (required), unique within the camera; names the zone in events and counts."},
    {ZONE "polygon", VIGIL_PROP_STRING, "list of [x, y]", NULL, 0, 0, NULL, ACC_POLYGON,
     "Corners of the zone in order (required), as [x, y] pairs normalised to the frame: x from 0 "
     "(left) to 1 (right), y from 0 (top) to 1 (bottom), so the zone survives a change of "
     "resolution. The last corner joins the first. Edges must not cross or touch, and the "
     "area must not be zero."},
    {ZONE "labels", VIGIL_PROP_STRING, "list of strings", "[]", 0, 0, NULL, ACC_LABELS,
     "Labels the zone considers, e.g. [person, car]; empty or absent: every label."},
    {ZONE "min_score", VIGIL_PROP_DOUBLE, NULL, STR(MIN_SCORE_DEF), 0, 1, NULL, NULL,
     "Detections scoring below this are not considered in the zone."},
    {ZONE "loiter_seconds", VIGIL_PROP_DOUBLE, NULL, STR(LOITER_DEF), 0, LOITER_MAX, NULL, NULL,
     "A track inside the zone longer than this raises a loiter event; 0 never does."},
    {ZONE "inertia", VIGIL_PROP_INT, NULL, STR(INERTIA_DEF), INERTIA_MIN, INERTIA_MAX, NULL, NULL,
     "Consecutive frames an object must be seen inside (outside) before it is believed to have "
     "entered (left), so that a box jittering on the edge does not enter and leave every "
     "frame."},
    {ZONE "anchor", VIGIL_PROP_ENUM, NULL, "bottom_center", 0, 0, anchors, NULL,
     "Point of the box that must be inside the polygon: bottom_center (where a person or car "
     "touches the ground), center, or top_center."},
    {"cameras[].lines", VIGIL_PROP_STRING, "list of mappings", NULL, 0, 0, NULL,
     "at most " STR(VIGIL_LINES_MAX) " lines",
     "Lines of this camera for the analytics stage: tracked objects crossing one raise "
     "line_cross events with a direction, in or out, and are counted per direction "
     "(docs/analytics.md). Lists are set in the YAML file only, not from the environment or "
     "`--set`."},
    {LINE "id", VIGIL_PROP_STRING, NULL, NULL, 0, 0, NULL, ACC_ID,
     "Line id (required), unique within the camera; names the line in events and counts."},
    {LINE "points", VIGIL_PROP_STRING, "list of [x, y]", NULL, 0, 0, NULL, ACC_POINTS,
     "The two ends A and B of the line (required), normalised as for zones. A crossing is "
     "`in` when the anchor goes from the side where (B-A)x(P-A) > 0 to the side where it is "
     "< 0: for a line drawn from top to bottom, from left to right."},
    {LINE "labels", VIGIL_PROP_STRING, "list of strings", "[]", 0, 0, NULL, ACC_LABELS,
     "Labels the line considers, e.g. [person, car]; empty or absent: every label."},
    {LINE "min_score", VIGIL_PROP_DOUBLE, NULL, STR(MIN_SCORE_DEF), 0, 1, NULL, NULL,
     "Detections scoring below this are not considered for crossings."},
    {LINE "hysteresis", VIGIL_PROP_DOUBLE, NULL, STR(HYSTERESIS_DEF), 0, HYSTERESIS_MAX, NULL,
     NULL,
     "Distance from the line, normalised to the frame, that the anchor must reach on the far "
     "side before a crossing counts (and back on the near side before another one can), so "
     "that an object standing on the line is not counted again and again."},
    {LINE "anchor", VIGIL_PROP_ENUM, NULL, "bottom_center", 0, 0, anchors, NULL,
     "Point of the box whose side of the line counts: bottom_center, center or top_center."},
    {NULL, 0, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

/* --- the rows -------------------------------------------------------------- */

const vigil__rule_row_t *vigil__rule_row_find(const char *name)
{
    if (!name) return NULL;
    for (const vigil__rule_row_t *r = vigil__rule_rows; r->name; r++)
        if (strcmp(r->name, name) == 0) return r;
    return NULL;
}

void vigil__rule_row_accepted(const vigil__rule_row_t *r, char *buf, size_t size)
{
    if (r->accepted) {
        snprintf(buf, size, "%s", r->accepted);
        return;
    }
    vigil_prop_t p = {r->name, r->type, 0, r->def, r->min, r->max, r->values, r->desc, 0};
    vigil__prop_accepted(&p, buf, size);
}

void vigil__rule_keys(const char *prefix, char *buf, size_t size)
{
    size_t n = 0, pl = strlen(prefix);
    if (size) buf[0] = '\0';
    for (const vigil__rule_row_t *r = vigil__rule_rows; r->name && size; r++) {
        const char *key = r->name + pl;
        if (strncmp(r->name, prefix, pl) != 0 || strpbrk(key, ".[")) continue;
        n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "", key);
        if (n >= size) n = size - 1;
    }
}

int vigil__anchor_parse(const char *name)
{
    size_t n = name ? strlen(name) : 0, index = 0;
    for (const char *v = anchors; *v; index++) {
        size_t len = strcspn(v, "|");
        if (len == n && n && strncmp(v, name, n) == 0) return (int)index;
        v += len;
        if (*v == '|') v++;
    }
    return -1;
}

/* --- defaults -------------------------------------------------------------- */

void vigil_zone_conf_init(vigil_zone_conf_t *zone)
{
    memset(zone, 0, sizeof(*zone));
    zone->min_score = MIN_SCORE_DEF;
    zone->loiter_seconds = LOITER_DEF;
    zone->inertia = INERTIA_DEF;
    zone->anchor = VIGIL_ANCHOR_BOTTOM_CENTER;
}

void vigil_line_conf_init(vigil_line_conf_t *line)
{
    memset(line, 0, sizeof(*line));
    line->min_score = MIN_SCORE_DEF;
    line->hysteresis = HYSTERESIS_DEF;
    line->anchor = VIGIL_ANCHOR_BOTTOM_CENTER;
}

/* --- checks ---------------------------------------------------------------- */

typedef struct report {
    char *field;
    size_t field_size;
    char *reason;
    size_t reason_size;
} report_t;

static vigil_err_t bad(report_t *rp, const char *field, const char *reason)
{
    if (rp->field_size) snprintf(rp->field, rp->field_size, "%s", field);
    if (rp->reason_size) snprintf(rp->reason, rp->reason_size, "%s", reason);
    return VIGIL_ERR_CONFIG;
}

static vigil_err_t check_id(report_t *rp, const char *id)
{
    char reason[160];
    if (memchr(id, '\0', VIGIL_RULE_ID_MAX) && vigil_camera_id_valid(id)) return VIGIL_OK;
    snprintf(reason, sizeof(reason), "invalid id \"%.*s\" (accepted: " ACC_ID ")",
             VIGIL_RULE_ID_MAX - 1, id);
    return bad(rp, "id", reason);
}

static vigil_err_t check_labels(report_t *rp, const char labels[][VIGIL_LABEL_MAX], size_t n)
{
    char field[32], reason[256];
    if (n > VIGIL_RULE_LABELS_MAX) {
        snprintf(reason, sizeof(reason), "%zu labels (accepted: " ACC_LABELS ")", n);
        return bad(rp, "labels", reason);
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(field, sizeof(field), "labels[%zu]", i);
        size_t len = strnlen(labels[i], VIGIL_LABEL_MAX);
        if (len == 0 || len == VIGIL_LABEL_MAX)
            return bad(rp, field, len ? "label too long (accepted: " ACC_LABELS ")"
                                      : "empty label (accepted: " ACC_LABELS ")");
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[j], labels[i]) == 0) {
                snprintf(reason, sizeof(reason),
                         "duplicate label \"%s\", also labels[%zu] (accepted: " ACC_LABELS ")",
                         labels[i], j);
                return bad(rp, field, reason);
            }
    }
    return VIGIL_OK;
}

/* v in lo..hi, and not NaN. */
static vigil_err_t check_range(report_t *rp, const char *field, double v, double lo, double hi,
                               const char *accepted)
{
    char reason[192];
    if (v >= lo && v <= hi) return VIGIL_OK;
    if (isfinite(v))
        snprintf(reason, sizeof(reason), "%g is out of range (accepted: %s)", v, accepted);
    else
        snprintf(reason, sizeof(reason), "%g is not a finite number (accepted: %s)", v, accepted);
    return bad(rp, field, reason);
}

static vigil_err_t check_anchor(report_t *rp, int anchor)
{
    char reason[128];
    if (anchor >= VIGIL_ANCHOR_BOTTOM_CENTER && anchor <= VIGIL_ANCHOR_TOP_CENTER)
        return VIGIL_OK;
    snprintf(reason, sizeof(reason),
             "unknown anchor %d (accepted: bottom_center, center, top_center)", anchor);
    return bad(rp, "anchor", reason);
}

/* A point: finite and inside the frame. */
static vigil_err_t check_point(report_t *rp, const char *field, vigil_point_t p,
                               const char *accepted)
{
    char reason[256];
    if (p.x >= 0 && p.x <= 1 && p.y >= 0 && p.y <= 1) return VIGIL_OK;
    snprintf(reason, sizeof(reason), "point [%g, %g] %s (accepted: %s)", p.x, p.y,
             isfinite(p.x) && isfinite(p.y) ? "is outside 0..1" : "is not finite", accepted);
    return bad(rp, field, reason);
}

/* Sign of the turn a -> b -> c: > 0 counter-clockwise, < 0 clockwise, 0 collinear. */
static int orient(vigil_point_t a, vigil_point_t b, vigil_point_t c)
{
    double v = (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
    return (v > 0) - (v < 0);
}

/* p, known to be collinear with segment a-b, lies within its bounding box. */
static int on_segment(vigil_point_t a, vigil_point_t b, vigil_point_t p)
{
    return fmin(a.x, b.x) <= p.x && p.x <= fmax(a.x, b.x) && fmin(a.y, b.y) <= p.y &&
           p.y <= fmax(a.y, b.y);
}

/* How segments p1-p2 and q1-q2 meet: 0 not at all, 1 they cross, 2 they
 * touch (an end on the other segment), 3 they overlap along a common line. */
static int segments_meet(vigil_point_t p1, vigil_point_t p2, vigil_point_t q1, vigil_point_t q2)
{
    int o1 = orient(p1, p2, q1), o2 = orient(p1, p2, q2);
    int o3 = orient(q1, q2, p1), o4 = orient(q1, q2, p2);
    if (o1 && o2 && o3 && o4) return o1 != o2 && o3 != o4;
    if (!o1 && !o2) { /* on one line: compare their extents along its longer axis */
        int use_x = fabs(p2.x - p1.x) >= fabs(p2.y - p1.y);
        double a1 = use_x ? p1.x : p1.y, a2 = use_x ? p2.x : p2.y;
        double b1 = use_x ? q1.x : q1.y, b2 = use_x ? q2.x : q2.y;
        double lo = fmax(fmin(a1, a2), fmin(b1, b2)), hi = fmin(fmax(a1, a2), fmax(b1, b2));
        return hi > lo ? 3 : hi == lo ? 2 : 0;
    }
    if ((!o1 && on_segment(p1, p2, q1)) || (!o2 && on_segment(p1, p2, q2)) ||
        (!o3 && on_segment(q1, q2, p1)) || (!o4 && on_segment(q1, q2, p2)))
        return 2;
    return o1 != o2 && o3 != o4;
}

static vigil_err_t check_polygon(report_t *rp, const vigil_point_t *pts, size_t n)
{
    static const char *const how[] = {"", "crosses", "touches", "overlaps"};
    char field[32], reason[256];

    if (n < 3 || n > VIGIL_POLYGON_MAX) {
        snprintf(reason, sizeof(reason), "%zu points (accepted: " ACC_POLYGON ")", n);
        return bad(rp, "polygon", reason);
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(field, sizeof(field), "polygon[%zu]", i);
        if (check_point(rp, field, pts[i], ACC_POLYGON)) return VIGIL_ERR_CONFIG;
        for (size_t j = 0; j < i; j++)
            if (pts[j].x == pts[i].x && pts[j].y == pts[i].y) {
                snprintf(reason, sizeof(reason),
                         "point [%g, %g] repeats point %zu (accepted: " ACC_POLYGON ")",
                         pts[i].x, pts[i].y, j);
                return bad(rp, field, reason);
            }
    }
    /* Edge i runs from point i to point i+1 (the last one back to 0). */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 2; j < n; j++) {
            if (i == 0 && j == n - 1) continue; /* adjacent through point 0 */
            int meet = segments_meet(pts[i], pts[(i + 1) % n], pts[j], pts[(j + 1) % n]);
            if (!meet) continue;
            snprintf(reason, sizeof(reason),
                     "self-intersecting: edge %zu-%zu %s edge %zu-%zu (accepted: " ACC_POLYGON ")",
                     i, (i + 1) % n, how[meet], j, (j + 1) % n);
            return bad(rp, "polygon", reason);
        }
    double area2 = 0;
    for (size_t i = 0; i < n; i++) {
        vigil_point_t a = pts[i], b = pts[(i + 1) % n];
        area2 += a.x * b.y - b.x * a.y;
    }
    if (fabs(area2) / 2 < EPSILON)
        return bad(rp, "polygon",
                   "zero area: the points are on one line (accepted: " ACC_POLYGON ")");
    return VIGIL_OK;
}

vigil_err_t vigil__zone_check(const vigil_zone_conf_t *zone, char *field, size_t field_size,
                              char *reason, size_t reason_size)
{
    report_t rp = {field, field_size, reason, reason_size};
    char reason_buf[96];

    if (check_id(&rp, zone->id) || check_polygon(&rp, zone->polygon, zone->npoints) ||
        check_labels(&rp, zone->labels, zone->nlabels) ||
        check_range(&rp, "min_score", zone->min_score, 0, 1, "a number from 0 to 1") ||
        check_range(&rp, "loiter_seconds", zone->loiter_seconds, 0, LOITER_MAX,
                    "a number from 0 to " STR(LOITER_MAX)))
        return VIGIL_ERR_CONFIG;
    if (zone->inertia < INERTIA_MIN || zone->inertia > INERTIA_MAX) {
        snprintf(reason_buf, sizeof(reason_buf),
                 "%d is out of range (accepted: an integer from %d to %d)", zone->inertia,
                 INERTIA_MIN, INERTIA_MAX);
        return bad(&rp, "inertia", reason_buf);
    }
    return check_anchor(&rp, zone->anchor);
}

vigil_err_t vigil__line_check(const vigil_line_conf_t *line, char *field, size_t field_size,
                              char *reason, size_t reason_size)
{
    report_t rp = {field, field_size, reason, reason_size};
    char buf[256];

    if (check_id(&rp, line->id) || check_point(&rp, "points[0]", line->a, ACC_POINTS) ||
        check_point(&rp, "points[1]", line->b, ACC_POINTS))
        return VIGIL_ERR_CONFIG;
    if (hypot(line->b.x - line->a.x, line->b.y - line->a.y) < EPSILON) {
        snprintf(buf, sizeof(buf),
                 "zero-length line: both points are [%g, %g] (accepted: " ACC_POINTS ")",
                 line->a.x, line->a.y);
        return bad(&rp, "points", buf);
    }
    if (check_labels(&rp, line->labels, line->nlabels) ||
        check_range(&rp, "min_score", line->min_score, 0, 1, "a number from 0 to 1") ||
        check_range(&rp, "hysteresis", line->hysteresis, 0, HYSTERESIS_MAX,
                    "a number from 0 to " STR(HYSTERESIS_MAX)))
        return VIGIL_ERR_CONFIG;
    return check_anchor(&rp, line->anchor);
}

vigil_err_t vigil_zone_conf_check(const vigil_zone_conf_t *zone, char *errstr, size_t errstr_size)
{
    char field[32], reason[384];
    if (!zone)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "zone: none given");
    if (!vigil__zone_check(zone, field, sizeof(field), reason, sizeof(reason))) return VIGIL_OK;
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "key \"%s\": %s", field, reason);
}

vigil_err_t vigil_line_conf_check(const vigil_line_conf_t *line, char *errstr, size_t errstr_size)
{
    char field[32], reason[384];
    if (!line)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "line: none given");
    if (!vigil__line_check(line, field, sizeof(field), reason, sizeof(reason))) return VIGIL_OK;
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "key \"%s\": %s", field, reason);
}
