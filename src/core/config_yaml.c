/* Loading the YAML configuration file.
 *
 * Main idea: libyaml's document API parses the whole file into a node tree
 * that keeps each node's line; the walk below only accepts the shape
 *   SECTION: { KEY: SCALAR, ... }      for every section of the property table
 *   cameras: [ { KEY: SCALAR, ... }, ... ]
 * and hands every scalar to vigil__prop_apply() with "FILE:LINE" as where it
 * came from, so errors name the file, the line and the key.
 *
 * A `cameras:` list in the file replaces the cameras cfg had; every other
 * key overrides only its own value. On error cfg keeps what was applied
 * before the bad key and stays valid for vigil_config_release().
 *
 * Thread: any; no shared state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/config_int.h"

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

static vigil_err_t load_camera(loader_t *ld, yaml_node_t *item, size_t index)
{
    vigil_config_t *cfg = ld->cfg;
    char shown[32], accepted[256];
    vigil_err_t err;

    snprintf(shown, sizeof(shown), "cameras[%zu]", index);
    if (item->type != YAML_MAPPING_NODE)
        return fail(ld, item, "key \"%s\": expected a mapping of camera settings (accepted: %s)",
                    shown, "id, name, url, fps, enabled, loop, retention_hours");
    if (cfg->ncameras >= VIGIL_CAMERAS_MAX) {
        snprintf(accepted, sizeof(accepted), "at most %d cameras", VIGIL_CAMERAS_MAX);
        return fail(ld, item, "key \"%s\": too many cameras (accepted: %s)", shown, accepted);
    }
    vigil_camera_conf_t *cam = &cfg->cameras[cfg->ncameras++];
    vigil__camera_defaults(cam);
    for (yaml_node_pair_t *pair = item->data.mapping.pairs.start;
         pair < item->data.mapping.pairs.top; pair++)
        if ((err = apply_pair(ld, cam, "cameras[]", shown, pair))) return err;
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
            if ((err = apply_pair(ld, ld->cfg, section, section, sp))) return err;
    }
    return VIGIL_OK;
}

vigil_err_t vigil_config_load_string(vigil_config_t *cfg, const char *yaml, const char *origin,
                                     char *errstr, size_t errstr_size)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    loader_t ld = {cfg, &doc, origin ? origin : "<string>", errstr, errstr_size};
    vigil_err_t err = VIGIL_OK;

    if (!yaml) yaml = "";
    if (!yaml_parser_initialize(&parser))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory",
                            ld.origin);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, strlen(yaml));
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
    char *buf = NULL;
    size_t size = 0, n;
    vigil_err_t err;
    FILE *f = fopen(path, "rb");

    if (!f)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "%s: cannot open config file: %s", path, strerror(errno));
    FILE *mem = open_memstream(&buf, &size);
    if (!mem) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    char chunk[8192];
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) fwrite(chunk, 1, n, mem);
    int read_error = ferror(f);
    if (fclose(mem) != 0) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    if (read_error) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                           "%s: cannot read config file", path);
        goto fail;
    }
    if (memchr(buf, '\0', size)) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                           "%s:1: not a text file (accepted: a YAML mapping of sections)", path);
        goto fail;
    }
    err = vigil_config_load_string(cfg, buf, path, errstr, errstr_size);
fail:
    free(buf);
    fclose(f);
    return err;
}
