/* Loading the YAML configuration file.
 *
 * Main idea: libyaml's document API parses the whole file into a node tree
 * that keeps each node's line; the walk below only accepts the shape
 *   SECTION: { KEY: SCALAR, ... }      for every section of the property table
 *   cameras: [ { KEY: SCALAR, ..., zones: [ RULE, ... ], lines: [ RULE, ... ] }, ... ]
 * and hands every scalar to vigil__prop_apply() with "FILE:LINE" as where it
 * came from, so errors name the file, the line and the key. A RULE (zone or
 * line) is a mapping of scalars, label lists and [x, y] lists, read into a
 * vigil_zone_conf_t / vigil_line_conf_t and checked by config_rules.c.
 *
 * Before that, an event-parser pass refuses nesting deeper than
 * VIGIL_CONFIG_DEPTH_MAX, so that libyaml never builds (slowly: 15 s for
 * 100k levels in 200 KB) a tree no configuration has; and the walk refuses a
 * key given twice in one mapping, naming both lines, where YAML's "the last
 * wins" would hide a mistake.
 *
 * A `cameras:` list in the file replaces the cameras cfg had; every other
 * key overrides only its own value. On error cfg keeps what was applied
 * before the bad key and stays valid for vigil_config_release().
 *
 * Thread: any; no shared state. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/config_int.h"
#include "vigil/file.h"

typedef struct loader {
    vigil_config_t *cfg;
    yaml_document_t *doc;
    const char *origin;
    char *errstr;
    size_t errstr_size;
} loader_t;

static unsigned long line_of(const yaml_node_t *node)
{
    return (unsigned long)node->start_mark.line + 1;
}

static const char *scalar(const yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

/* A plain empty, ~ or null scalar: "section:" with nothing under it. */
static int is_null(const yaml_node_t *node)
{
    const char *s = scalar(node);
    return s && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
            strcmp(s, "NULL") == 0);
}

static vigil_err_t fail(loader_t *ld, const yaml_node_t *node, const char *fmt, const char *a,
                        const char *b)
{
    char msg[768];
    snprintf(msg, sizeof(msg), fmt, a, b);
    return vigil_seterr(ld->errstr, ld->errstr_size, VIGIL_ERR_CONFIG, "%s:%lu: %s", ld->origin,
                        line_of(node), msg);
}

/* Applies one "key: scalar" pair to base. `section` is "bus" or "cameras[]";
 * `shown` the section as messages name it ("bus", "cameras[2]"). */
static vigil_err_t apply_pair(loader_t *ld, void *base, const char *section, const char *shown,
                              yaml_node_pair_t *pair)
{
    yaml_node_t *k = yaml_document_get_node(ld->doc, pair->key);
    yaml_node_t *v = yaml_document_get_node(ld->doc, pair->value);
    const char *key = scalar(k);
    char row[128], display[160], keys[1024], where[512];

    if (!key || !*key)
        return fail(ld, k, "%s: keys must be plain names%s", shown, "");
    snprintf(row, sizeof(row), "%s.%s", section, key);
    snprintf(display, sizeof(display), "%s.%s", shown, key);
    const vigil_prop_t *p = vigil__prop_find(row);
    if (!p) {
        vigil__section_keys(strcmp(section, "cameras[]") == 0 ? "cameras" : section, keys,
                            sizeof(keys));
        return fail(ld, k, "key \"%s\": unknown key (accepted: %s)", display, keys);
    }
    if (!scalar(v)) {
        vigil__prop_accepted(p, keys, sizeof(keys));
        return fail(ld, v, "key \"%s\": expected a single value, not a list or mapping "
                           "(accepted: %s)",
                    display, keys);
    }
    snprintf(where, sizeof(where), "%s:%lu", ld->origin, line_of(v));
    return vigil__prop_apply(p, base, scalar(v), where, display, ld->errstr, ld->errstr_size);
}

/* --- zones and lines -------------------------------------------------------
 * cameras[].zones and cameras[].lines are lists of mappings whose values are
 * scalars, lists of scalars (labels) or lists of [x, y] pairs. Each rule is
 * read into its struct, checked by vigil__zone_check / vigil__line_check,
 * and the field a check names is traced back to the node it came from for
 * the line in the message. */

#define RULE_KEYS_MAX 16

/* The nodes of one rule's keys, as read. */
typedef struct rule_nodes {
    const char *key[RULE_KEYS_MAX];
    yaml_node_t *node[RULE_KEYS_MAX];
    size_t n;
} rule_nodes_t;

static vigil_err_t failf(loader_t *ld, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static vigil_err_t failf(loader_t *ld, const yaml_node_t *node, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return vigil_seterr(ld->errstr, ld->errstr_size, VIGIL_ERR_CONFIG, "%s:%lu: %s", ld->origin,
                        line_of(node), msg);
}

/* Refuses pair's key if an earlier pair of map has it, naming both lines.
 * Called before a pair is applied, so the pairs before it were all accepted
 * (known, distinct keys): the scan stays short whatever the file holds.
 * `shown` is the mapping as messages name it ("" for the top level). */
static vigil_err_t unique_key(loader_t *ld, const yaml_node_t *map, const yaml_node_pair_t *pair,
                              const char *shown)
{
    yaml_node_t *k = yaml_document_get_node(ld->doc, pair->key);
    const char *key = scalar(k);
    if (!key) return VIGIL_OK; /* not a plain key: refused where it is applied */
    for (const yaml_node_pair_t *p = map->data.mapping.pairs.start; p < pair; p++) {
        yaml_node_t *earlier = yaml_document_get_node(ld->doc, p->key);
        if (scalar(earlier) && strcmp(scalar(earlier), key) == 0)
            return failf(ld, k, "key \"%s%s%s\": given twice, first on line %lu (accepted: "
                                "each key once in a mapping)",
                         shown, *shown ? "." : "", key, line_of(earlier));
    }
    return VIGIL_OK;
}

/* "FILE:LINE: key \"cameras[0].zones[1].FIELD\": REASON (accepted: ...)", the
 * accepted values from the row `list``key` ("cameras[].zones[]." "polygon"). */
static vigil_err_t rule_fail(loader_t *ld, const yaml_node_t *node, const char *shown,
                             const char *field, const char *list, const char *key,
                             const char *reason)
{
    char row[96], accepted[256] = "";
    snprintf(row, sizeof(row), "%s%s", list, key);
    const vigil__rule_row_t *r = vigil__rule_row_find(row);
    if (r) vigil__rule_row_accepted(r, accepted, sizeof(accepted));
    return failf(ld, node, "key \"%s.%s\": %s (accepted: %s)", shown, field, reason, accepted);
}

/* A YAML number: what strtod reads, plus YAML's .nan and .inf spellings (so
 * that the checks can say "not finite" rather than "not a number"). */
static int yaml_number(const char *s, double *out)
{
    static const char *const nans[] = {".nan", ".NaN", ".NAN"};
    static const char *const infs[] = {".inf", ".Inf", ".INF"};
    char *end;
    int sign = 1;

    for (size_t i = 0; i < 3; i++)
        if (strcmp(s, nans[i]) == 0) return *out = NAN, 0;
    const char *t = s;
    if (*t == '-' || *t == '+') sign = *t++ == '-' ? -1 : 1;
    for (size_t i = 0; i < 3; i++)
        if (strcmp(t, infs[i]) == 0) return *out = sign * INFINITY, 0;
    if (!*s || isspace((unsigned char)*s)) return -1;
    *out = strtod(s, &end);
    return *end ? -1 : 0;
}

static vigil_err_t rule_number(loader_t *ld, yaml_node_t *v, const char *shown, const char *list,
                               const char *key, double *out)
{
    char reason[128];
    if (!scalar(v))
        return rule_fail(ld, v, shown, key, list, key,
                         "expected a single value, not a list or mapping");
    if (yaml_number(scalar(v), out)) {
        snprintf(reason, sizeof(reason), "\"%.64s\" is not a number", scalar(v));
        return rule_fail(ld, v, shown, key, list, key, reason);
    }
    return VIGIL_OK;
}

static vigil_err_t rule_int(loader_t *ld, yaml_node_t *v, const char *shown, const char *list,
                            const char *key, int *out)
{
    char reason[128], *end;
    const char *s = scalar(v);
    if (!s)
        return rule_fail(ld, v, shown, key, list, key,
                         "expected a single value, not a list or mapping");
    errno = 0;
    long n = strtol(s, &end, 10);
    if (end == s || *end || isspace((unsigned char)*s)) {
        snprintf(reason, sizeof(reason), "\"%.64s\" is not an integer", s);
        return rule_fail(ld, v, shown, key, list, key, reason);
    }
    if (errno == ERANGE || n < INT_MIN || n > INT_MAX) {
        snprintf(reason, sizeof(reason), "%.64s is out of range", s);
        return rule_fail(ld, v, shown, key, list, key, reason);
    }
    *out = (int)n;
    return VIGIL_OK;
}

static vigil_err_t rule_anchor(loader_t *ld, yaml_node_t *v, const char *shown, const char *list,
                               int *out)
{
    char reason[128];
    if (!scalar(v))
        return rule_fail(ld, v, shown, "anchor", list, "anchor",
                         "expected a single value, not a list or mapping");
    if ((*out = vigil__anchor_parse(scalar(v))) < 0) {
        snprintf(reason, sizeof(reason), "unknown value \"%.64s\"", scalar(v));
        return rule_fail(ld, v, shown, "anchor", list, "anchor", reason);
    }
    return VIGIL_OK;
}

static vigil_err_t rule_id(loader_t *ld, yaml_node_t *v, const char *shown, const char *list,
                           char id[VIGIL_RULE_ID_MAX])
{
    char reason[128];
    const char *s = scalar(v);
    if (!s)
        return rule_fail(ld, v, shown, "id", list, "id",
                         "expected a single value, not a list or mapping");
    if (strlen(s) >= VIGIL_RULE_ID_MAX || !vigil_camera_id_valid(s)) {
        snprintf(reason, sizeof(reason), "invalid id \"%.64s\"", s);
        return rule_fail(ld, v, shown, "id", list, "id", reason);
    }
    snprintf(id, VIGIL_RULE_ID_MAX, "%s", s);
    return VIGIL_OK;
}

/* labels: [a, b]; empty, null or absent: none. */
static vigil_err_t rule_labels(loader_t *ld, yaml_node_t *v, const char *shown, const char *list,
                               char labels[][VIGIL_LABEL_MAX], size_t *nlabels)
{
    char field[32], reason[128];
    size_t n = 0;

    *nlabels = 0;
    if (is_null(v)) return VIGIL_OK;
    if (v->type != YAML_SEQUENCE_NODE)
        return rule_fail(ld, v, shown, "labels", list, "labels",
                         "expected a list of labels, e.g. [person, car]");
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++, n++) {
        yaml_node_t *item = yaml_document_get_node(ld->doc, *it);
        const char *s = scalar(item);
        snprintf(field, sizeof(field), "labels[%zu]", n);
        if (n >= VIGIL_RULE_LABELS_MAX) {
            snprintf(reason, sizeof(reason), "too many labels, more than %d",
                     VIGIL_RULE_LABELS_MAX);
            return rule_fail(ld, item, shown, field, list, "labels", reason);
        }
        if (!s)
            return rule_fail(ld, item, shown, field, list, "labels",
                             "expected a label, not a list or mapping");
        if (!*s)
            return rule_fail(ld, item, shown, field, list, "labels", "empty label");
        if (strlen(s) >= VIGIL_LABEL_MAX) {
            snprintf(reason, sizeof(reason), "label \"%.64s...\" is too long", s);
            return rule_fail(ld, item, shown, field, list, "labels", reason);
        }
        snprintf(labels[n], VIGIL_LABEL_MAX, "%s", s);
    }
    *nlabels = n;
    return VIGIL_OK;
}

/* A list of [x, y] pairs, at most `max`. */
static vigil_err_t rule_points(loader_t *ld, yaml_node_t *v, const char *shown, const char *list,
                               const char *key, vigil_point_t *pts, size_t max, size_t *npts)
{
    char field[48], reason[128];
    size_t n = 0;

    *npts = 0;
    if (is_null(v)) return VIGIL_OK;
    if (v->type != YAML_SEQUENCE_NODE)
        return rule_fail(ld, v, shown, key, list, key,
                         "expected a list of [x, y] pairs, e.g. [[0.1, 0.5], [0.4, 0.5], ...]");
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++, n++) {
        yaml_node_t *item = yaml_document_get_node(ld->doc, *it);
        snprintf(field, sizeof(field), "%s[%zu]", key, n);
        if (n >= max) {
            snprintf(reason, sizeof(reason), "too many points, more than %zu", max);
            return rule_fail(ld, item, shown, field, list, key, reason);
        }
        if (item->type != YAML_SEQUENCE_NODE ||
            item->data.sequence.items.top - item->data.sequence.items.start != 2)
            return rule_fail(ld, item, shown, field, list, key,
                             "expected an [x, y] pair of numbers");
        double xy[2];
        for (int i = 0; i < 2; i++) {
            yaml_node_t *c = yaml_document_get_node(ld->doc, item->data.sequence.items.start[i]);
            if (!scalar(c))
                return rule_fail(ld, c, shown, field, list, key,
                                 "expected an [x, y] pair of numbers");
            if (yaml_number(scalar(c), &xy[i])) {
                snprintf(reason, sizeof(reason), "\"%.64s\" is not a number", scalar(c));
                return rule_fail(ld, c, shown, field, list, key, reason);
            }
        }
        pts[n].x = xy[0];
        pts[n].y = xy[1];
    }
    *npts = n;
    return VIGIL_OK;
}

/* The node a check's field ("polygon[2]", "labels", "id") came from; the
 * rule's mapping if it was not given. */
static yaml_node_t *field_node(loader_t *ld, const rule_nodes_t *nodes, yaml_node_t *rule,
                               const char *field)
{
    size_t bl = strcspn(field, "[");
    for (size_t i = 0; i < nodes->n; i++) {
        if (strlen(nodes->key[i]) != bl || strncmp(nodes->key[i], field, bl) != 0) continue;
        yaml_node_t *node = nodes->node[i];
        if (field[bl] == '[' && node->type == YAML_SEQUENCE_NODE) {
            size_t index = strtoul(field + bl + 1, NULL, 10);
            if (index < (size_t)(node->data.sequence.items.top - node->data.sequence.items.start))
                return yaml_document_get_node(ld->doc, node->data.sequence.items.start[index]);
        }
        return node;
    }
    return rule;
}

/* Reads the pairs of one rule mapping: checks each key is known and notes
 * its node. `read` stores one key's value. */
typedef vigil_err_t (*rule_read_fn)(loader_t *ld, void *rule, const char *key, yaml_node_t *v,
                                    const char *shown);

static vigil_err_t rule_pairs(loader_t *ld, yaml_node_t *map, const char *shown,
                              const char *list, const char *what, void *rule, rule_read_fn read,
                              rule_nodes_t *nodes)
{
    char row[96], keys[256];
    vigil_err_t err;

    vigil__rule_keys(list, keys, sizeof(keys));
    if (map->type != YAML_MAPPING_NODE)
        return failf(ld, map, "key \"%s\": expected a mapping of %s settings (accepted: %s)",
                     shown, what, keys);
    nodes->n = 0;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = yaml_document_get_node(ld->doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(ld->doc, pair->value);
        const char *key = scalar(k);
        if (!key || !*key)
            return failf(ld, k, "%s: keys must be plain names (accepted: %s)", shown, keys);
        if ((err = unique_key(ld, map, pair, shown))) return err;
        snprintf(row, sizeof(row), "%s%s", list, key);
        if (!vigil__rule_row_find(row) || strpbrk(key, ".[]"))
            return failf(ld, k, "key \"%s.%s\": unknown key (accepted: %s)", shown, key, keys);
        if ((err = read(ld, rule, key, v, shown))) return err;
        if (nodes->n < RULE_KEYS_MAX) {
            nodes->key[nodes->n] = key;
            nodes->node[nodes->n++] = v;
        }
    }
    return VIGIL_OK;
}

static int has_key(const rule_nodes_t *nodes, const char *key)
{
    for (size_t i = 0; i < nodes->n; i++)
        if (strcmp(nodes->key[i], key) == 0) return 1;
    return 0;
}

#define ZONE_ROWS "cameras[].zones[]."
#define LINE_ROWS "cameras[].lines[]."

static vigil_err_t read_zone_key(loader_t *ld, void *rule, const char *key, yaml_node_t *v,
                                 const char *shown)
{
    vigil_zone_conf_t *zone = rule;
    if (strcmp(key, "id") == 0) return rule_id(ld, v, shown, ZONE_ROWS, zone->id);
    if (strcmp(key, "polygon") == 0)
        return rule_points(ld, v, shown, ZONE_ROWS, key, zone->polygon, VIGIL_POLYGON_MAX,
                           &zone->npoints);
    if (strcmp(key, "labels") == 0)
        return rule_labels(ld, v, shown, ZONE_ROWS, zone->labels, &zone->nlabels);
    if (strcmp(key, "min_score") == 0)
        return rule_number(ld, v, shown, ZONE_ROWS, key, &zone->min_score);
    if (strcmp(key, "loiter_seconds") == 0)
        return rule_number(ld, v, shown, ZONE_ROWS, key, &zone->loiter_seconds);
    if (strcmp(key, "inertia") == 0) return rule_int(ld, v, shown, ZONE_ROWS, key, &zone->inertia);
    if (strcmp(key, "anchor") == 0) return rule_anchor(ld, v, shown, ZONE_ROWS, &zone->anchor);
    return failf(ld, v, "key \"%s.%s\": not read (a row without a reader)", shown, key);
}

static vigil_err_t read_line_key(loader_t *ld, void *rule, const char *key, yaml_node_t *v,
                                 const char *shown)
{
    vigil_line_conf_t *line = rule;
    vigil_point_t pts[2];
    size_t n;
    vigil_err_t err;

    if (strcmp(key, "id") == 0) return rule_id(ld, v, shown, LINE_ROWS, line->id);
    if (strcmp(key, "points") == 0) {
        char reason[64];
        if ((err = rule_points(ld, v, shown, LINE_ROWS, key, pts, 2, &n))) return err;
        if (n != 2) {
            snprintf(reason, sizeof(reason), "%zu point%s", n, n == 1 ? "" : "s");
            return rule_fail(ld, v, shown, key, LINE_ROWS, key, reason);
        }
        line->a = pts[0];
        line->b = pts[1];
        return VIGIL_OK;
    }
    if (strcmp(key, "labels") == 0)
        return rule_labels(ld, v, shown, LINE_ROWS, line->labels, &line->nlabels);
    if (strcmp(key, "min_score") == 0)
        return rule_number(ld, v, shown, LINE_ROWS, key, &line->min_score);
    if (strcmp(key, "hysteresis") == 0)
        return rule_number(ld, v, shown, LINE_ROWS, key, &line->hysteresis);
    if (strcmp(key, "anchor") == 0) return rule_anchor(ld, v, shown, LINE_ROWS, &line->anchor);
    return failf(ld, v, "key \"%s.%s\": not read (a row without a reader)", shown, key);
}

/* cameras[i].zones or cameras[i].lines: `list` is "zones" or "lines". */
static vigil_err_t load_rules(loader_t *ld, vigil_camera_conf_t *cam, const char *cam_shown,
                              const char *list, yaml_node_t *seq)
{
    int zones = strcmp(list, "zones") == 0;
    const char *rows = zones ? ZONE_ROWS : LINE_ROWS, *what = zones ? "zone" : "line";
    size_t max = zones ? VIGIL_ZONES_MAX : VIGIL_LINES_MAX;
    char shown[64], field[32], reason[384];
    rule_nodes_t nodes;
    vigil_err_t err;

    if (zones) {
        free(cam->zones);
        cam->zones = NULL;
        cam->nzones = 0;
    } else {
        free(cam->lines);
        cam->lines = NULL;
        cam->nlines = 0;
    }
    if (is_null(seq)) return VIGIL_OK;
    if (seq->type != YAML_SEQUENCE_NODE)
        return failf(ld, seq, "key \"%s.%s\": expected a list of %ss (accepted: - { id: ..., "
                              "%s: [[x, y], ...], ... })",
                     cam_shown, list, what, zones ? "polygon" : "points");
    size_t count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (count > max)
        return failf(ld, yaml_document_get_node(ld->doc, seq->data.sequence.items.start[max]),
                     "key \"%s.%s[%zu]\": too many %ss (accepted: at most %zu %ss per camera)",
                     cam_shown, list, max, what, max, what);
    if (count == 0) return VIGIL_OK;
    if (zones ? !(cam->zones = calloc(count, sizeof(*cam->zones)))
              : !(cam->lines = calloc(count, sizeof(*cam->lines))))
        return vigil_seterr(ld->errstr, ld->errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory",
                            ld->origin);
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = yaml_document_get_node(ld->doc, seq->data.sequence.items.start[i]);
        void *rule = zones ? (void *)&cam->zones[i] : (void *)&cam->lines[i];
        snprintf(shown, sizeof(shown), "%s.%s[%zu]", cam_shown, list, i);
        if (zones) {
            vigil_zone_conf_init(&cam->zones[i]);
            cam->nzones = i + 1;
        } else {
            vigil_line_conf_init(&cam->lines[i]);
            cam->nlines = i + 1;
        }
        if ((err = rule_pairs(ld, item, shown, rows, what, rule,
                              zones ? read_zone_key : read_line_key, &nodes)))
            return err;
        if (!has_key(&nodes, "id"))
            return rule_fail(ld, item, shown, "id", rows, "id",
                             zones ? "missing, every zone needs an id"
                                   : "missing, every line needs an id");
        if (!has_key(&nodes, zones ? "polygon" : "points"))
            return rule_fail(ld, item, shown, zones ? "polygon" : "points", rows,
                             zones ? "polygon" : "points",
                             zones ? "missing, every zone needs a polygon"
                                   : "missing, every line needs two points");
        if (zones ? vigil__zone_check(&cam->zones[i], field, sizeof(field), reason,
                                      sizeof(reason))
                  : vigil__line_check(&cam->lines[i], field, sizeof(field), reason,
                                      sizeof(reason)))
            return failf(ld, field_node(ld, &nodes, item, field), "key \"%s.%s\": %s", shown,
                         field, reason);
        const char *id = zones ? cam->zones[i].id : cam->lines[i].id;
        for (size_t j = 0; j < i; j++)
            if (strcmp(zones ? cam->zones[j].id : cam->lines[j].id, id) == 0)
                return failf(ld, field_node(ld, &nodes, item, "id"),
                             "key \"%s.id\": duplicate %s id \"%s\", also %s.%s[%zu] "
                             "(accepted: %s ids unique within a camera)",
                             shown, what, id, cam_shown, list, j, what);
    }
    return VIGIL_OK;
}

static vigil_err_t load_camera(loader_t *ld, yaml_node_t *item, size_t index)
{
    vigil_config_t *cfg = ld->cfg;
    char shown[32], accepted[256];
    vigil_err_t err;

    snprintf(shown, sizeof(shown), "cameras[%zu]", index);
    if (item->type != YAML_MAPPING_NODE) {
        vigil__section_keys("cameras", accepted, sizeof(accepted));
        return fail(ld, item, "key \"%s\": expected a mapping of camera settings (accepted: %s)",
                    shown, accepted);
    }
    if (cfg->ncameras >= VIGIL_CAMERAS_MAX) {
        snprintf(accepted, sizeof(accepted), "at most %d cameras", VIGIL_CAMERAS_MAX);
        return fail(ld, item, "key \"%s\": too many cameras (accepted: %s)", shown, accepted);
    }
    vigil_camera_conf_t *cam = &cfg->cameras[cfg->ncameras++];
    vigil__camera_defaults(cam);
    for (yaml_node_pair_t *pair = item->data.mapping.pairs.start;
         pair < item->data.mapping.pairs.top; pair++) {
        const char *key = scalar(yaml_document_get_node(ld->doc, pair->key));
        if ((err = unique_key(ld, item, pair, shown))) return err;
        if (key && (strcmp(key, "zones") == 0 || strcmp(key, "lines") == 0))
            err = load_rules(ld, cam, shown, key, yaml_document_get_node(ld->doc, pair->value));
        else
            err = apply_pair(ld, cam, "cameras[]", shown, pair);
        if (err) return err;
    }
    if (!cam->url) {
        snprintf(shown, sizeof(shown), "cameras[%zu].url", index);
        return fail(ld, item, "key \"%s\": missing, every camera needs a url (accepted: %s)",
                    shown, VIGIL__URL_ACCEPTED);
    }
    if (!cam->id[0]) snprintf(cam->id, sizeof(cam->id), "cam%zu", index);
    if (vigil__camera_finish(cam))
        return vigil_seterr(ld->errstr, ld->errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory",
                            ld->origin);
    return VIGIL_OK;
}

static vigil_err_t load_cameras(loader_t *ld, yaml_node_t *list)
{
    vigil_err_t err;

    for (size_t i = 0; i < ld->cfg->ncameras; i++) vigil__camera_release(&ld->cfg->cameras[i]);
    ld->cfg->ncameras = 0;
    if (is_null(list)) return VIGIL_OK;
    if (list->type != YAML_SEQUENCE_NODE)
        return fail(ld, list, "key \"cameras\": expected a list of cameras (accepted: %s%s)",
                    "- { id: ..., url: ... }", "");
    size_t index = 0;
    for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top;
         it++, index++)
        if ((err = load_camera(ld, yaml_document_get_node(ld->doc, *it), index))) return err;
    return VIGIL_OK;
}

static vigil_err_t load_root(loader_t *ld, yaml_node_t *root)
{
    char sections[512], keys[1024];
    vigil_err_t err;

    vigil__sections(sections, sizeof(sections));
    if (is_null(root)) return VIGIL_OK; /* an empty file */
    if (root->type != YAML_MAPPING_NODE)
        return fail(ld, root, "expected a mapping of sections at the top level (accepted: %s)%s",
                    sections, "");
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = yaml_document_get_node(ld->doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(ld->doc, pair->value);
        const char *section = scalar(k);
        if (!section || !*section)
            return fail(ld, k, "section names must be plain names (accepted: %s)%s", sections,
                        "");
        if ((err = unique_key(ld, root, pair, ""))) return err;
        if (strcmp(section, "cameras") == 0) {
            if ((err = load_cameras(ld, v))) return err;
            continue;
        }
        vigil__section_keys(section, keys, sizeof(keys));
        if (!keys[0] || strchr(section, '.'))
            return fail(ld, k, "key \"%s\": unknown section (accepted: %s)", section, sections);
        if (is_null(v)) continue;
        if (v->type != YAML_MAPPING_NODE)
            return fail(ld, v, "key \"%s\": expected a mapping of settings (accepted: %s)",
                        section, keys);
        for (yaml_node_pair_t *sp = v->data.mapping.pairs.start; sp < v->data.mapping.pairs.top;
             sp++)
            if ((err = unique_key(ld, v, sp, section)) ||
                (err = apply_pair(ld, ld->cfg, section, section, sp)))
                return err;
    }
    return VIGIL_OK;
}

/* Refuses lists and mappings nested deeper than VIGIL_CONFIG_DEPTH_MAX,
 * reading events only up to the first level too deep: libyaml's scanner and
 * loader take time that grows with the square of the depth. A syntax error
 * is left to the loader, which reports it with its line. */
static vigil_err_t check_depth(const char *yaml, size_t len, const char *origin, char *errstr,
                               size_t errstr_size)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    vigil_err_t err = VIGIL_OK;
    int depth = 0, done = 0;

    if (!yaml_parser_initialize(&parser))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory", origin);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    while (!done && yaml_parser_parse(&parser, &ev)) {
        unsigned long line = (unsigned long)ev.start_mark.line + 1;
        switch (ev.type) {
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (++depth > VIGIL_CONFIG_DEPTH_MAX) {
                err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                                   "%s:%lu: lists and mappings nested deeper than %d levels "
                                   "(accepted: at most %d levels)",
                                   origin, line, VIGIL_CONFIG_DEPTH_MAX, VIGIL_CONFIG_DEPTH_MAX);
                done = 1;
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: depth--; break;
        case YAML_STREAM_END_EVENT: done = 1; break;
        default: break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return err;
}

vigil_err_t vigil_config_load_string(vigil_config_t *cfg, const char *yaml, const char *origin,
                                     char *errstr, size_t errstr_size)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    loader_t ld = {cfg, &doc, origin ? origin : "<string>", errstr, errstr_size};
    vigil_err_t err = VIGIL_OK;

    if (!yaml) yaml = "";
    size_t len = strlen(yaml);
    if (len > VIGIL_CONFIG_FILE_MAX)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "%s: configuration of %zu bytes is too large (accepted: at most "
                            "%zu bytes)",
                            ld.origin, len, (size_t)VIGIL_CONFIG_FILE_MAX);
    if ((err = check_depth(yaml, len, ld.origin, errstr, errstr_size))) return err;
    if (!yaml_parser_initialize(&parser))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory",
                            ld.origin);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                           "%s:%lu: yaml syntax error: %s%s%s (accepted: a YAML mapping of "
                           "sections)",
                           ld.origin, (unsigned long)parser.problem_mark.line + 1,
                           parser.problem ? parser.problem : "cannot parse",
                           parser.context ? " " : "", parser.context ? parser.context : "");
        goto done;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root) err = load_root(&ld, root);
    yaml_document_delete(&doc);
done:
    yaml_parser_delete(&parser);
    return err;
}

vigil_err_t vigil_config_load_file(vigil_config_t *cfg, const char *path, char *errstr,
                                   size_t errstr_size)
{
    char *buf = NULL, why[512];
    size_t size = 0;
    vigil_err_t err = vigil_file_read(path, VIGIL_CONFIG_FILE_MAX, &buf, &size, why, sizeof why);

    if (err == VIGIL_ERR_NOMEM)
        return vigil_seterr(errstr, errstr_size, err, "%s: out of memory", path);
    if (err == VIGIL_ERR_TOO_LARGE)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "%s: config file larger than %zu bytes (accepted: a YAML mapping of "
                            "sections, at most %zu bytes)",
                            path, (size_t)VIGIL_CONFIG_FILE_MAX, (size_t)VIGIL_CONFIG_FILE_MAX);
    if (err)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "config file %s",
                            why);
    if (memchr(buf, '\0', size)) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                           "%s:1: not a text file (accepted: a YAML mapping of sections)", path);
        goto fail;
    }
    err = vigil_config_load_string(cfg, buf, path, errstr, errstr_size);
fail:
    free(buf);
    return err;
}
