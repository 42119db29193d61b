/* Zones and lines as JSON (vigil/analytics.h), for topic control and the API.
 *
 * The shape and the checks are the YAML config's: each rule is read into a
 * vigil_zone_conf_t / vigil_line_conf_t on top of its defaults, then checked
 * by vigil_zone_conf_check / vigil_line_conf_check, whose `key "FIELD":
 * REASON` is reworded as "zones[1].FIELD: REASON" so that every error names
 * the field at fault from the root of the document. Sizes are bounded
 * before anything is copied (VIGIL_ZONES_MAX, VIGIL_POLYGON_MAX, ...). */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/analytics.h"

static const char *const anchors[] = {"bottom_center", "center", "top_center"};

#define ZONE_KEYS "id, polygon, labels, min_score, loiter_seconds, inertia, anchor"
#define LINE_KEYS "id, points, labels, min_score, hysteresis, anchor"

typedef struct ctx {
    char *errstr;
    size_t errstr_size;
    char path[48]; /* "zones[3]" */
} ctx_t;

static vigil_err_t bad(ctx_t *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static vigil_err_t bad(ctx_t *c, const char *field, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vigil_seterr(c->errstr, c->errstr_size, VIGIL_ERR_INVALID, "%s%s%s: %s", c->path,
                        field && *field ? "." : "", field ? field : "", msg);
}

static vigil_err_t get_string(ctx_t *c, const char *field, json_t *v, char *dst, size_t size)
{
    if (!json_is_string(v)) return bad(c, field, "expected a string");
    const char *s = json_string_value(v);
    if (json_string_length(v) >= size || strlen(s) != json_string_length(v))
        return bad(c, field, "too long or contains NUL (accepted: at most %zu characters)",
                   size - 1);
    memcpy(dst, s, strlen(s) + 1);
    return VIGIL_OK;
}

static vigil_err_t get_number(ctx_t *c, const char *field, json_t *v, double *dst)
{
    if (!json_is_number(v)) return bad(c, field, "expected a number");
    *dst = json_number_value(v);
    return VIGIL_OK;
}

static vigil_err_t get_point(ctx_t *c, const char *field, json_t *v, vigil_point_t *p)
{
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_number(json_array_get(v, 0)) ||
        !json_is_number(json_array_get(v, 1)))
        return bad(c, field, "expected [x, y] (two numbers)");
    p->x = json_number_value(json_array_get(v, 0));
    p->y = json_number_value(json_array_get(v, 1));
    return VIGIL_OK;
}

static vigil_err_t get_labels(ctx_t *c, json_t *v, char (*labels)[VIGIL_LABEL_MAX], size_t *n)
{
    if (!json_is_array(v)) return bad(c, "labels", "expected a list of strings");
    if (json_array_size(v) > VIGIL_RULE_LABELS_MAX)
        return bad(c, "labels", "%zu labels (accepted: at most %d)", json_array_size(v),
                   VIGIL_RULE_LABELS_MAX);
    char field[32];
    for (size_t i = 0; i < json_array_size(v); i++) {
        snprintf(field, sizeof field, "labels[%zu]", i);
        if (get_string(c, field, json_array_get(v, i), labels[i], VIGIL_LABEL_MAX))
            return VIGIL_ERR_INVALID;
    }
    *n = json_array_size(v);
    return VIGIL_OK;
}

static vigil_err_t get_anchor(ctx_t *c, json_t *v, int *anchor)
{
    const char *s = json_string_value(v);
    for (int i = 0; s && i < 3; i++)
        if (strcmp(s, anchors[i]) == 0) {
            *anchor = i;
            return VIGIL_OK;
        }
    return bad(c, "anchor", "expected one of bottom_center, center, top_center");
}

/* The check's `key "FIELD": REASON` as "PATH.FIELD: REASON". */
static vigil_err_t checked(ctx_t *c, vigil_err_t err, const char *msg)
{
    if (!err) return VIGIL_OK;
    const char *q;
    if (strncmp(msg, "key \"", 5) == 0 && (q = strstr(msg + 5, "\": ")) != NULL) {
        char field[64];
        snprintf(field, sizeof field, "%.*s", (int)(q - msg - 5), msg + 5);
        return bad(c, field, "%s", q + 3);
    }
    return bad(c, NULL, "%s", msg);
}

static vigil_err_t zone_from(ctx_t *c, json_t *o, vigil_zone_conf_t *z)
{
    const char *key;
    json_t *v;
    char msg[512];
    vigil_zone_conf_init(z);
    if (!json_is_object(o)) return bad(c, NULL, "expected an object");
    if (!json_object_get(o, "id")) return bad(c, "id", "missing");
    if (!json_object_get(o, "polygon")) return bad(c, "polygon", "missing");
    json_object_foreach(o, key, v)
    {
        if (strcmp(key, "id") == 0) {
            if (get_string(c, key, v, z->id, sizeof z->id)) return VIGIL_ERR_INVALID;
        } else if (strcmp(key, "polygon") == 0) {
            if (!json_is_array(v)) return bad(c, key, "expected a list of [x, y]");
            if (json_array_size(v) > VIGIL_POLYGON_MAX)
                return bad(c, key, "%zu points (accepted: 3 to %d)", json_array_size(v),
                           VIGIL_POLYGON_MAX);
            char field[32];
            for (size_t i = 0; i < json_array_size(v); i++) {
                snprintf(field, sizeof field, "polygon[%zu]", i);
                if (get_point(c, field, json_array_get(v, i), &z->polygon[i]))
                    return VIGIL_ERR_INVALID;
            }
            z->npoints = json_array_size(v);
        } else if (strcmp(key, "labels") == 0) {
            if (get_labels(c, v, z->labels, &z->nlabels)) return VIGIL_ERR_INVALID;
        } else if (strcmp(key, "min_score") == 0) {
            if (get_number(c, key, v, &z->min_score)) return VIGIL_ERR_INVALID;
        } else if (strcmp(key, "loiter_seconds") == 0) {
            if (get_number(c, key, v, &z->loiter_seconds)) return VIGIL_ERR_INVALID;
        } else if (strcmp(key, "inertia") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < -1000000 ||
                json_integer_value(v) > 1000000)
                return bad(c, key, "expected an integer (accepted: 1 to 30)");
            z->inertia = (int)json_integer_value(v);
        } else if (strcmp(key, "anchor") == 0) {
            if (get_anchor(c, v, &z->anchor)) return VIGIL_ERR_INVALID;
        } else {
            return bad(c, key, "unknown key (accepted: " ZONE_KEYS ")");
        }
    }
    return checked(c, vigil_zone_conf_check(z, msg, sizeof msg), msg);
}

static vigil_err_t line_from(ctx_t *c, json_t *o, vigil_line_conf_t *l)
{
    const char *key;
    json_t *v;
    char msg[512];
    vigil_line_conf_init(l);
    if (!json_is_object(o)) return bad(c, NULL, "expected an object");
    if (!json_object_get(o, "id")) return bad(c, "id", "missing");
    if (!json_object_get(o, "points")) return bad(c, "points", "missing");
    json_object_foreach(o, key, v)
    {
        if (strcmp(key, "id") == 0) {
            if (get_string(c, key, v, l->id, sizeof l->id)) return VIGIL_ERR_INVALID;
        } else if (strcmp(key, "points") == 0) {
            if (!json_is_array(v) || json_array_size(v) != 2)
                return bad(c, key, "expected two points [[x, y], [x, y]]");
            if (get_point(c, "points[0]", json_array_get(v, 0), &l->a) ||
                get_point(c, "points[1]", json_array_get(v, 1), &l->b))
                return VIGIL_ERR_INVALID;
        } else if (strcmp(key, "labels") == 0) {
            if (get_labels(c, v, l->labels, &l->nlabels)) return VIGIL_ERR_INVALID;
        } else if (strcmp(key, "min_score") == 0) {
            if (get_number(c, key, v, &l->min_score)) return VIGIL_ERR_INVALID;
        } else if (strcmp(key, "hysteresis") == 0) {
            if (get_number(c, key, v, &l->hysteresis)) return VIGIL_ERR_INVALID;
        } else if (strcmp(key, "anchor") == 0) {
            if (get_anchor(c, v, &l->anchor)) return VIGIL_ERR_INVALID;
        } else {
            return bad(c, key, "unknown key (accepted: " LINE_KEYS ")");
        }
    }
    return checked(c, vigil_line_conf_check(l, msg, sizeof msg), msg);
}

static vigil_err_t parse(ctx_t *c, json_t *root, vigil_rules_t *r)
{
    const char *key;
    json_t *v;
    if (!json_is_object(root))
        return bad(c, NULL, "expected an object {\"zones\":..,\"lines\":..}");
    json_object_foreach(root, key, v)
    {
        int is_zones = strcmp(key, "zones") == 0;
        if (!is_zones && strcmp(key, "lines") != 0)
            return bad(c, key, "unknown key (accepted: zones, lines)");
        if (!json_is_array(v)) return bad(c, key, "expected a list");
        size_t n = json_array_size(v), max = is_zones ? VIGIL_ZONES_MAX : VIGIL_LINES_MAX;
        if (n > max) return bad(c, key, "%zu entries (accepted: at most %zu)", n, max);
        if (n == 0) continue;
        if (is_zones) {
            if (!(r->zones = calloc(n, sizeof *r->zones))) return bad(c, key, "out of memory");
        } else if (!(r->lines = calloc(n, sizeof *r->lines))) {
            return bad(c, key, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            snprintf(c->path, sizeof c->path, "%s[%zu]", key, i);
            if (is_zones ? zone_from(c, json_array_get(v, i), &r->zones[i])
                         : line_from(c, json_array_get(v, i), &r->lines[i]))
                return VIGIL_ERR_INVALID;
            const char *id = is_zones ? r->zones[i].id : r->lines[i].id;
            for (size_t j = 0; j < i; j++)
                if (strcmp(is_zones ? r->zones[j].id : r->lines[j].id, id) == 0)
                    return bad(c, "id", "duplicate id \"%s\", also %s[%zu]", id, key, j);
            if (is_zones)
                r->nzones = i + 1;
            else
                r->nlines = i + 1;
        }
        c->path[0] = '\0';
    }
    return VIGIL_OK;
}

vigil_err_t vigil_rules_from_json(const char *json, size_t len, vigil_rules_t *rules,
                                  char *errstr, size_t errstr_size)
{
    if (!rules) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "rules: NULL");
    memset(rules, 0, sizeof *rules);
    if (!json) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "rules: no JSON");
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "rules: invalid JSON at line %d column %d: %s", jerr.line,
                            jerr.column, jerr.text);
    ctx_t c = {errstr, errstr_size, "rules"};
    vigil_err_t err = parse(&c, root, rules);
    json_decref(root);
    if (err) vigil_rules_release(rules);
    return err;
}

void vigil_rules_release(vigil_rules_t *rules)
{
    if (!rules) return;
    free(rules->zones);
    free(rules->lines);
    memset(rules, 0, sizeof *rules);
}

/* ---- to JSON ------------------------------------------------------------------ */

static json_t *point_json(vigil_point_t p)
{
    return json_pack("[ff]", p.x, p.y);
}

static json_t *labels_json(const char (*labels)[VIGIL_LABEL_MAX], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) json_array_append_new(a, json_string(labels[i]));
    return a;
}

static const char *anchor_name(int anchor)
{
    return anchor >= 0 && anchor < 3 ? anchors[anchor] : anchors[0];
}

/* Digits (15..17) that make v read back exactly. */
static int digits(double v)
{
    char buf[40];
    for (int p = 15; p < 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, v);
        if (strtod(buf, NULL) == v) return p;
    }
    return 17;
}

/* The fewest digits for which every number of the rules reads back exactly
 * (jansson has one precision per document). */
static int precision(const vigil_zone_conf_t *zones, size_t nzones,
                     const vigil_line_conf_t *lines, size_t nlines)
{
    int p = 15;
#define NUM(v)                                                                                  \
    do {                                                                                        \
        int d_ = digits(v);                                                                     \
        if (d_ > p) p = d_;                                                                     \
    } while (0)
    for (size_t i = 0; i < nzones; i++) {
        for (size_t k = 0; k < zones[i].npoints && k < VIGIL_POLYGON_MAX; k++) {
            NUM(zones[i].polygon[k].x);
            NUM(zones[i].polygon[k].y);
        }
        NUM(zones[i].min_score);
        NUM(zones[i].loiter_seconds);
    }
    for (size_t i = 0; i < nlines; i++) {
        NUM(lines[i].a.x);
        NUM(lines[i].a.y);
        NUM(lines[i].b.x);
        NUM(lines[i].b.y);
        NUM(lines[i].min_score);
        NUM(lines[i].hysteresis);
    }
#undef NUM
    return p;
}

char *vigil_rules_to_json(const vigil_zone_conf_t *zones, size_t nzones,
                          const vigil_line_conf_t *lines, size_t nlines)
{
    json_t *root = json_object(), *jz = json_array(), *jl = json_array();
    char *text = NULL;
    if (!root || !jz || !jl) goto done;
    json_object_set(root, "zones", jz);
    json_object_set(root, "lines", jl);
    for (size_t i = 0; i < nzones; i++) {
        const vigil_zone_conf_t *z = &zones[i];
        json_t *poly = json_array();
        for (size_t k = 0; poly && k < z->npoints && k < VIGIL_POLYGON_MAX; k++)
            json_array_append_new(poly, point_json(z->polygon[k]));
        size_t nl = z->nlabels < VIGIL_RULE_LABELS_MAX ? z->nlabels : VIGIL_RULE_LABELS_MAX;
        json_t *o = json_pack("{s:s%, s:o*, s:o*, s:f, s:f, s:i, s:s}", "id", z->id,
                              strnlen(z->id, VIGIL_RULE_ID_MAX - 1), "polygon", poly, "labels",
                              labels_json(z->labels, nl), "min_score", z->min_score,
                              "loiter_seconds", z->loiter_seconds, "inertia", z->inertia,
                              "anchor", anchor_name(z->anchor));
        if (!o || json_array_append_new(jz, o)) goto done;
    }
    for (size_t i = 0; i < nlines; i++) {
        const vigil_line_conf_t *l = &lines[i];
        size_t nl = l->nlabels < VIGIL_RULE_LABELS_MAX ? l->nlabels : VIGIL_RULE_LABELS_MAX;
        json_t *o = json_pack("{s:s%, s:[o*o*], s:o*, s:f, s:f, s:s}", "id", l->id,
                              strnlen(l->id, VIGIL_RULE_ID_MAX - 1), "points", point_json(l->a),
                              point_json(l->b), "labels", labels_json(l->labels, nl),
                              "min_score", l->min_score, "hysteresis", l->hysteresis, "anchor",
                              anchor_name(l->anchor));
        if (!o || json_array_append_new(jl, o)) goto done;
    }
    text = json_dumps(root, JSON_COMPACT |
                                JSON_REAL_PRECISION(precision(zones, nzones, lines, nlines)));
done:
    json_decref(jz);
    json_decref(jl);
    json_decref(root);
    return text;
}
