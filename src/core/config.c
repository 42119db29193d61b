/* Configuration values: defaults, parsing one value against its property row,
 * setting by dotted name, the VIGIL_* environment, cameras added from the
 * command line, and the cross-field checks.
 *
 * Main idea: every way of setting a value ends in vigil__prop_apply(), which
 * parses the text against the row's type and range and writes the field at
 * the row's offset; so YAML, environment and --set accept exactly the same
 * values and fail with the same messages. Zones and lines are lists, read
 * only from YAML (config_yaml.c) and checked by config_rules.c. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config_int.h"

extern char **environ;

/* --- parsing one value --------------------------------------------------- */

static vigil_err_t bad_value(const vigil_prop_t *p, const char *where, const char *key,
                             char *errstr, size_t errstr_size, const char *fmt, const char *value)
{
    char accepted[256], reason[160], shown[256];
    vigil__prop_accepted(p, accepted, sizeof(accepted));
    vigil_prop_shown(p, value, shown, sizeof(shown)); /* no secret in a message */
    snprintf(reason, sizeof(reason), fmt, shown);
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "%s: key \"%s\": %s (accepted: %s)",
                        where, key, reason, accepted);
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0) return *out = 0, 0;
    }
    return -1;
}

static int enum_has(const char *values, const char *s)
{
    size_t n = strlen(s);
    for (const char *v = values; *v;) {
        size_t len = strcspn(v, "|");
        if (len == n && n && strncmp(v, s, n) == 0) return 1;
        v += len;
        if (*v == '|') v++;
    }
    return 0;
}

/* HOST:PORT, [V6]:PORT; host non-empty, port 0..65535. */
static int listen_valid(const char *s)
{
    const char *colon;
    if (!s || !*s) return 0;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close == s + 1 || close[1] != ':') return 0;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s || memchr(s, ':', (size_t)(colon - s))) return 0;
    }
    const char *port = colon + 1;
    if (!*port || strlen(port) > 5) return 0;
    for (const char *c = port; *c; c++)
        if (!isdigit((unsigned char)*c)) return 0;
    return atol(port) <= 65535;
}

vigil_err_t vigil__prop_apply(const vigil_prop_t *p, void *base, const char *value,
                              const char *where, const char *key, char *errstr,
                              size_t errstr_size)
{
    char *field = (char *)base + p->offset;
    char *end = NULL;

    if (!value) value = "";
    switch (p->type) {
    case VIGIL_PROP_INT: {
        errno = 0;
        long v = strtol(value, &end, 10);
        if (end == value || *end || isspace((unsigned char)*value))
            return bad_value(p, where, key, errstr, errstr_size, "\"%.64s\" is not an integer",
                             value);
        if (errno == ERANGE || v < (long)p->min || v > (long)p->max)
            return bad_value(p, where, key, errstr, errstr_size, "%.64s is out of range", value);
        *(int *)field = (int)v;
        break;
    }
    case VIGIL_PROP_DOUBLE: {
        double v = strtod(value, &end);
        if (end == value || *end || isspace((unsigned char)*value) || !isfinite(v))
            return bad_value(p, where, key, errstr, errstr_size, "\"%.64s\" is not a number",
                             value);
        if (v < p->min || v > p->max)
            return bad_value(p, where, key, errstr, errstr_size, "%.64s is out of range", value);
        *(double *)field = v;
        break;
    }
    case VIGIL_PROP_BOOL: {
        int v;
        if (parse_bool(value, &v))
            return bad_value(p, where, key, errstr, errstr_size, "\"%.64s\" is not a boolean",
                             value);
        *(int *)field = v;
        break;
    }
    case VIGIL_PROP_ENUM:
        if (!enum_has(p->values, value))
            return bad_value(p, where, key, errstr, errstr_size, "unknown value \"%.64s\"",
                             value);
        __attribute__((fallthrough)); /* stored as a string */
    case VIGIL_PROP_STRING: {
        if (strcmp(p->name, "cameras[].id") == 0) { /* the only fixed-size string */
            if (!vigil_camera_id_valid(value))
                return bad_value(p, where, key, errstr, errstr_size,
                                 "invalid camera id \"%.64s\"", value);
            snprintf(field, VIGIL_CAMERA_ID_MAX, "%s", value);
            break;
        }
        if (strcmp(p->name, "http.listen") == 0 && !listen_valid(value))
            return bad_value(p, where, key, errstr, errstr_size, "\"%.64s\" is not HOST:PORT",
                             value);
        if (strcmp(p->name, "cameras[].url") == 0 && !*value)
            return bad_value(p, where, key, errstr, errstr_size, "empty url%s", "");
        char *copy = strdup(value);
        if (!copy)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                                "%s: key \"%s\": out of memory", where, key);
        free(*(char **)field);
        *(char **)field = copy;
        break;
    }
    }
    return VIGIL_OK;
}

/* --- lifecycle ------------------------------------------------------------- */

void vigil__camera_defaults(vigil_camera_conf_t *cam)
{
    memset(cam, 0, sizeof(*cam));
    for (const vigil_prop_t *p = vigil_props; p->name; p++)
        if (vigil__prop_is_camera(p) && p->def)
            vigil__prop_apply(p, cam, p->def, "default", p->name, NULL, 0);
}

void vigil__camera_release(vigil_camera_conf_t *cam)
{
    free(cam->name);
    free(cam->url);
    free(cam->zones);
    free(cam->lines);
    cam->name = cam->url = NULL;
    cam->zones = NULL;
    cam->lines = NULL;
    cam->nzones = cam->nlines = 0;
}

vigil_err_t vigil__camera_finish(vigil_camera_conf_t *cam)
{
    if (cam->name) return VIGIL_OK;
    cam->name = strdup(cam->id);
    return cam->name ? VIGIL_OK : VIGIL_ERR_NOMEM;
}

void vigil_config_init(vigil_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (const vigil_prop_t *p = vigil_props; p->name; p++)
        if (!vigil__prop_is_camera(p) && p->def)
            vigil__prop_apply(p, cfg, p->def, "default", p->name, NULL, 0);
}

void vigil_config_release(vigil_config_t *cfg)
{
    if (!cfg) return;
    for (const vigil_prop_t *p = vigil_props; p->name; p++)
        if (!vigil__prop_is_camera(p) &&
            (p->type == VIGIL_PROP_STRING || p->type == VIGIL_PROP_ENUM))
            free(*(char **)((char *)cfg + p->offset));
    for (size_t i = 0; i < cfg->ncameras && i < VIGIL_CAMERAS_MAX; i++)
        vigil__camera_release(&cfg->cameras[i]);
    memset(cfg, 0, sizeof(*cfg));
}

const vigil_camera_conf_t *vigil_config_camera(const vigil_config_t *cfg, const char *id)
{
    if (!cfg || !id) return NULL;
    for (size_t i = 0; i < cfg->ncameras; i++)
        if (strcmp(cfg->cameras[i].id, id) == 0) return &cfg->cameras[i];
    return NULL;
}

/* --- setting by name ------------------------------------------------------- */

static vigil_err_t unknown_key(const char *where, const char *name, char *errstr,
                               size_t errstr_size)
{
    char section[64], keys[1024];
    size_t sl = strcspn(name, ".[");
    snprintf(section, sizeof(section), "%.*s", (int)(sl < 63 ? sl : 63), name);
    vigil__section_keys(section, keys, sizeof(keys));
    if (keys[0])
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "%s: key \"%s\": unknown key (accepted: %s)", where, name, keys);
    vigil__sections(keys, sizeof(keys));
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                        "%s: key \"%s\": unknown section \"%s\" (accepted: %s)", where, name,
                        section, keys);
}

/* Whether a camera key ("zones[0].polygon", "lines") names one of the lists
 * of vigil__rule_rows. */
static int is_list_key(const char *key)
{
    for (const vigil__rule_row_t *r = vigil__rule_rows; r->name; r++) {
        if (!r->list || strncmp(r->name, VIGIL__CAMERA_PREFIX, strlen(VIGIL__CAMERA_PREFIX)))
            continue;
        const char *list = r->name + strlen(VIGIL__CAMERA_PREFIX);
        size_t n = strlen(list);
        if (strpbrk(list, ".[")) continue; /* a list inside a rule (polygon, labels) */
        if (strncmp(key, list, n) == 0 && (!key[n] || key[n] == '[' || key[n] == '.')) return 1;
    }
    return 0;
}

/* "cameras[ID].key" or "cameras[N].key": finds the camera and the row. */
static vigil_err_t set_camera(vigil_config_t *cfg, const char *name, const char *value,
                              const char *where, char *errstr, size_t errstr_size)
{
    const char *open = name + strlen("cameras"), *close = strchr(open, ']');
    char sel[VIGIL_CAMERA_ID_MAX], row[96], ids[1024];
    vigil_camera_conf_t *cam = NULL;
    size_t n = 0;

    if (*open != '[' || !close || close[1] != '.' || (size_t)(close - open - 1) >= sizeof(sel))
        return unknown_key(where, name, errstr, errstr_size);
    snprintf(sel, sizeof(sel), "%.*s", (int)(close - open - 1), open + 1);
    snprintf(row, sizeof(row), VIGIL__CAMERA_PREFIX "%s", close + 2);
    if (is_list_key(close + 2))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "%s: key \"%s\": zones and lines are lists and cannot be set from "
                            "the command line or the environment (accepted: cameras[].zones and "
                            "cameras[].lines in the YAML file)",
                            where, name);
    const vigil_prop_t *p = vigil__prop_find(row);
    if (!p) return unknown_key(where, name, errstr, errstr_size);
    for (size_t i = 0; i < cfg->ncameras && !cam; i++)
        if (strcmp(cfg->cameras[i].id, sel) == 0) cam = &cfg->cameras[i];
    if (!cam && sel[0] && strspn(sel, "0123456789") == strlen(sel) &&
        strtoul(sel, NULL, 10) < cfg->ncameras)
        cam = &cfg->cameras[strtoul(sel, NULL, 10)];
    if (!cam) {
        ids[0] = '\0';
        for (size_t i = 0; i < cfg->ncameras && n + 2 < sizeof(ids); i++)
            n += (size_t)snprintf(ids + n, sizeof(ids) - n, "%s%s", i ? ", " : "",
                                  cfg->cameras[i].id);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "%s: key \"%s\": no camera \"%s\" (accepted: %s)", where, name, sel,
                            cfg->ncameras ? ids : "no cameras configured");
    }
    return vigil__prop_apply(p, cam, value, where, name, errstr, errstr_size);
}

vigil_err_t vigil_config_set(vigil_config_t *cfg, const char *name, const char *value,
                             const char *origin, char *errstr, size_t errstr_size)
{
    const char *where = origin ? origin : "--set";
    if (!name) name = "";
    if (strncmp(name, "cameras[", 8) == 0)
        return set_camera(cfg, name, value, where, errstr, errstr_size);
    const vigil_prop_t *p = vigil__prop_find(name);
    if (!p || vigil__prop_is_camera(p)) return unknown_key(where, name, errstr, errstr_size);
    return vigil__prop_apply(p, cfg, value, where, name, errstr, errstr_size);
}

vigil_err_t vigil_config_apply_env(vigil_config_t *cfg, char *errstr, size_t errstr_size)
{
    char env[128], where[160];

    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "VIGIL_", 6) != 0) continue;
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        size_t nl = (size_t)(eq - *e);
        /* Only variables naming a property; others (VIGIL_MEDIA, ...) are not ours. */
        for (const vigil_prop_t *p = vigil_props; p->name; p++) {
            if (vigil__prop_is_camera(p)) continue;
            vigil__prop_env_name(p, env, sizeof(env));
            if (strlen(env) != nl || strncmp(env, *e, nl) != 0) continue;
            snprintf(where, sizeof(where), "env %s", env);
            vigil_err_t err = vigil__prop_apply(p, cfg, eq + 1, where, p->name, errstr,
                                                errstr_size);
            if (err) return err;
            break;
        }
    }
    return VIGIL_OK;
}

/* --- cameras from the command line ----------------------------------------- */

vigil_err_t vigil_config_add_source(vigil_config_t *cfg, const char *url, char *errstr,
                                    size_t errstr_size)
{
    char id[VIGIL_CAMERA_ID_MAX];
    vigil_camera_conf_t cam;
    vigil_err_t err;

    char shown[256];

    if (!url || !*url)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "source: empty url (accepted: " VIGIL__URL_ACCEPTED ")");
    vigil_prop_shown(vigil__prop_find("cameras[].url"), url, shown, sizeof(shown));
    if (cfg->ncameras >= VIGIL_CAMERAS_MAX)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "source \"%.128s\": too many cameras (at most %d)", shown,
                            VIGIL_CAMERAS_MAX);
    for (unsigned n = 0;; n++) { /* the first free camN */
        snprintf(id, sizeof(id), "cam%u", n);
        if (!vigil_config_camera(cfg, id)) break;
    }
    vigil__camera_defaults(&cam);
    snprintf(cam.id, sizeof(cam.id), "%s", id);
    cam.url = strdup(url);
    if (!cam.url || vigil__camera_finish(&cam)) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                           "source \"%.128s\": out of memory", shown);
        goto fail;
    }
    cfg->cameras[cfg->ncameras++] = cam;
    return VIGIL_OK;
fail:
    vigil__camera_release(&cam);
    return err;
}

/* --- cross-field checks ---------------------------------------------------- */

/* A camera's zones and lines, for configurations not built by the YAML
 * loader (which checks them as it reads them, with their lines). */
static vigil_err_t validate_rules(const vigil_camera_conf_t *cam, size_t index, char *errstr,
                                  size_t errstr_size)
{
    char field[32], reason[384];

    if (cam->nzones > VIGIL_ZONES_MAX || (cam->nzones && !cam->zones))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "camera \"%s\": key \"cameras[%zu].zones\": %zu zones (accepted: "
                            "at most %d zones)",
                            cam->id, index, cam->nzones, VIGIL_ZONES_MAX);
    if (cam->nlines > VIGIL_LINES_MAX || (cam->nlines && !cam->lines))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "camera \"%s\": key \"cameras[%zu].lines\": %zu lines (accepted: "
                            "at most %d lines)",
                            cam->id, index, cam->nlines, VIGIL_LINES_MAX);
    for (size_t z = 0; z < cam->nzones; z++) {
        if (vigil__zone_check(&cam->zones[z], field, sizeof(field), reason, sizeof(reason)))
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                                "camera \"%s\": key \"cameras[%zu].zones[%zu].%s\": %s",
                                cam->id, index, z, field, reason);
        for (size_t j = 0; j < z; j++)
            if (strcmp(cam->zones[j].id, cam->zones[z].id) == 0)
                return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                                    "camera \"%s\": key \"cameras[%zu].zones[%zu].id\": "
                                    "duplicate zone id \"%s\", also cameras[%zu].zones[%zu] "
                                    "(accepted: zone ids unique within a camera)",
                                    cam->id, index, z, cam->zones[z].id, index, j);
    }
    for (size_t l = 0; l < cam->nlines; l++) {
        if (vigil__line_check(&cam->lines[l], field, sizeof(field), reason, sizeof(reason)))
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                                "camera \"%s\": key \"cameras[%zu].lines[%zu].%s\": %s",
                                cam->id, index, l, field, reason);
        for (size_t j = 0; j < l; j++)
            if (strcmp(cam->lines[j].id, cam->lines[l].id) == 0)
                return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                                    "camera \"%s\": key \"cameras[%zu].lines[%zu].id\": "
                                    "duplicate line id \"%s\", also cameras[%zu].lines[%zu] "
                                    "(accepted: line ids unique within a camera)",
                                    cam->id, index, l, cam->lines[l].id, index, j);
    }
    return VIGIL_OK;
}

static int is_postgres_url(const char *url)
{
    return url && (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0);
}

/* The schemes src/search/client.c takes, with a host after them. */
static int search_url_valid(const char *url)
{
    static const char *const schemes[] = {"opensearch://", "elasticsearch://", "opensearchs://",
                                          "elasticsearchs://"};
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i]);
        if (strncmp(url, schemes[i], n) == 0) return url[n] && url[n] != '/';
    }
    return 0;
}

static int search_prefix_valid(const char *p)
{
    size_t n = p ? strlen(p) : 0;
    if (n < 1 || n > 64 || p[0] == '-' || p[0] == '_') return 0;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-' ||
              p[i] == '_'))
            return 0;
    return 1;
}

vigil_err_t vigil_config_validate(const vigil_config_t *cfg, char *errstr, size_t errstr_size)
{
    if (cfg->ingest_reconnect_min_ms > cfg->ingest_reconnect_max_ms)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "key \"ingest.reconnect_min_ms\": %d is greater than "
                            "ingest.reconnect_max_ms %d (accepted: at most "
                            "ingest.reconnect_max_ms)",
                            cfg->ingest_reconnect_min_ms, cfg->ingest_reconnect_max_ms);
    if (cfg->store_max_bytes != 0 && !(cfg->store_max_bytes >= (double)VIGIL_FRAME_BUDGET_MIN))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "key \"store.max_bytes\": %.0f bytes is smaller than one frame may "
                            "be (accepted: 0 for no bound, or at least %lld)",
                            cfg->store_max_bytes, (long long)VIGIL_FRAME_BUDGET_MIN);
    if (cfg->store_read_url && *cfg->store_read_url &&
        (!is_postgres_url(cfg->store_read_url) || !is_postgres_url(cfg->store_url)))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "key \"store.read_url\": a read replica needs PostgreSQL: both "
                            "store.read_url and store.url must be postgres:// URLs (accepted: "
                            "empty, or postgres://USER:PASSWORD@HOST:PORT/DB with store.url "
                            "one too)");
    if (cfg->search_url && *cfg->search_url && !search_url_valid(cfg->search_url))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "key \"search.url\": not an OpenSearch or Elasticsearch URL "
                            "(accepted: empty, or opensearch://HOST:PORT, elasticsearch://, "
                            "opensearchs://, elasticsearchs://)");
    if (!search_prefix_valid(cfg->search_index_prefix))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "key \"search.index_prefix\": \"%.64s\" is not an index name "
                            "prefix (accepted: 1..64 of a-z, 0-9, - and _, not starting with - "
                            "or _)",
                            cfg->search_index_prefix ? cfg->search_index_prefix : "");
    if (cfg->log_sink && strcmp(cfg->log_sink, "opensearch") == 0 &&
        !(cfg->search_url && *cfg->search_url))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "key \"log.sink\": opensearch needs search.url (accepted: stderr, "
                            "or opensearch with search.url set)");
    if (cfg->grpc_listen && *cfg->grpc_listen && !listen_valid(cfg->grpc_listen))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "key \"grpc.listen\": \"%.64s\" is not HOST:PORT (accepted: empty, "
                            "or HOST:PORT with a port from 0 to 65535)",
                            cfg->grpc_listen);
    if (!listen_valid(cfg->http_listen))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "key \"http.listen\": \"%.64s\" is not HOST:PORT (accepted: HOST:PORT "
                            "with a port from 0 to 65535)",
                            cfg->http_listen ? cfg->http_listen : "");
    if (!cfg->log_level || !enum_has(vigil__prop_find("log.level")->values, cfg->log_level))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "key \"log.level\": \"%.32s\" is not a level (accepted: debug, "
                            "info, warn, error)",
                            cfg->log_level ? cfg->log_level : "");
    if (cfg->analytics_low_score > cfg->analytics_high_score)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "key \"analytics.low_score\": %g is greater than "
                            "analytics.high_score %g (accepted: at most analytics.high_score)",
                            cfg->analytics_low_score, cfg->analytics_high_score);
    if (cfg->ncameras > VIGIL_CAMERAS_MAX)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "cameras: %zu cameras (accepted: at most %d)", cfg->ncameras,
                            VIGIL_CAMERAS_MAX);
    if (cfg->ncameras > (size_t)cfg->ingest_max_cameras)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "cameras: %zu cameras, more than ingest.max_cameras %d (accepted: "
                            "at most ingest.max_cameras cameras)",
                            cfg->ncameras, cfg->ingest_max_cameras);
    for (size_t i = 0; i < cfg->ncameras; i++) {
        const vigil_camera_conf_t *cam = &cfg->cameras[i];
        if (!vigil_camera_id_valid(cam->id))
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                                "key \"cameras[%zu].id\": invalid camera id \"%.64s\" "
                                "(accepted: 1 to %d of A-Z a-z 0-9 _ . -)",
                                i, cam->id, VIGIL_CAMERA_ID_MAX - 1);
        if (!cam->url || !*cam->url)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                                "camera \"%s\": key \"cameras[%zu].url\": missing url "
                                "(accepted: " VIGIL__URL_ACCEPTED ")",
                                cam->id, i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->cameras[j].id, cam->id) == 0)
                return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                                    "camera \"%s\": key \"cameras[%zu].id\": duplicate camera id, "
                                    "also cameras[%zu] (accepted: unique ids)",
                                    cam->id, i, j);
        if (cam->max_bytes != 0 && !(cam->max_bytes >= (double)VIGIL_FRAME_BUDGET_MIN))
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                                "camera \"%s\": key \"cameras[%zu].max_bytes\": %.0f bytes is "
                                "smaller than one frame may be (accepted: 0 for no bound, or at "
                                "least %lld)",
                                cam->id, i, cam->max_bytes, (long long)VIGIL_FRAME_BUDGET_MIN);
        vigil_err_t err = validate_rules(cam, i, errstr, errstr_size);
        if (err) return err;
    }
    return VIGIL_OK;
}
