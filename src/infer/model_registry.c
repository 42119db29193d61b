/* The model registry: parsing registry YAML, finding entries by name.
 *
 * Main idea: the YAML of one entry is a mapping of mappings; the walk
 * flattens it into dotted keys ("input.width", "postprocess.kind") and
 * applies each to the entry through one table-free switch of strcmp, so
 * an unknown key is an error naming the file, the line and the key, as the
 * configuration loader does (src/core/config_yaml.c). Lists are accepted for
 * mean, std and labels.
 *
 * Thread: any; no shared state. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "infer/model_registry.h"
#include "vigil/file.h"

typedef struct parser {
    yaml_document_t *doc;
    const char *origin;
    vigil__model_entry_t *e;
    char *errstr;
    size_t errstr_size;
} parser_t;

static unsigned long line_of(const yaml_node_t *n)
{
    return (unsigned long)n->start_mark.line + 1;
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static vigil_err_t bad(parser_t *p, const yaml_node_t *n, const char *key, const char *why)
{
    return vigil_seterr(p->errstr, p->errstr_size, VIGIL_ERR_CONFIG, "%s:%lu: %s: %s", p->origin,
                        line_of(n), key, why);
}

static int parse_float(const char *s, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return -1;
    *out = (float)v;
    return 0;
}

static int parse_int(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < -1000000 || v > 1000000) return -1;
    *out = (int)v;
    return 0;
}

static vigil_err_t set_str(parser_t *p, const yaml_node_t *n, const char *key, char *dst,
                           size_t size)
{
    const char *s = scalar(n);
    if (!s) return bad(p, n, key, "expected a string");
    if (strlen(s) >= size) return bad(p, n, key, "value too long");
    memcpy(dst, s, strlen(s) + 1);
    return VIGIL_OK;
}

static vigil_err_t set_float(parser_t *p, const yaml_node_t *n, const char *key, float *dst)
{
    const char *s = scalar(n);
    if (!s || parse_float(s, dst)) return bad(p, n, key, "expected a number");
    return VIGIL_OK;
}

static vigil_err_t set_int(parser_t *p, const yaml_node_t *n, const char *key, int *dst, int lo,
                           int hi)
{
    const char *s = scalar(n);
    if (!s || parse_int(s, dst) || *dst < lo || *dst > hi)
        return bad(p, n, key, "expected an integer in range");
    return VIGIL_OK;
}

static vigil_err_t set_triple(parser_t *p, const yaml_node_t *n, const char *key, float v[3])
{
    if (n->type == YAML_SCALAR_NODE) { /* one value for every channel */
        if (set_float(p, n, key, &v[0])) return VIGIL_ERR_CONFIG;
        v[1] = v[2] = v[0];
        return VIGIL_OK;
    }
    if (n->type != YAML_SEQUENCE_NODE ||
        n->data.sequence.items.top - n->data.sequence.items.start != 3)
        return bad(p, n, key, "expected a list of 3 numbers");
    for (int i = 0; i < 3; i++) {
        yaml_node_t *it = yaml_document_get_node(p->doc, n->data.sequence.items.start[i]);
        if (set_float(p, it, key, &v[i])) return VIGIL_ERR_CONFIG;
    }
    return VIGIL_OK;
}

static vigil_err_t set_labels(parser_t *p, const yaml_node_t *n)
{
    if (n->type != YAML_SEQUENCE_NODE) return bad(p, n, "labels", "expected a list");
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    vigil__model_entry_t *e = p->e;
    for (size_t i = 0; i < e->nlabels; i++) free(e->labels[i]);
    free(e->labels);
    e->nlabels = 0;
    e->labels = calloc(cnt ? cnt : 1, sizeof *e->labels);
    if (!e->labels) return vigil_seterr(p->errstr, p->errstr_size, VIGIL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = yaml_document_get_node(p->doc, n->data.sequence.items.start[i]);
        const char *s = scalar(it);
        if (!s) return bad(p, it, "labels", "expected a list of strings");
        if (!(e->labels[i] = strdup(s)))
            return vigil_seterr(p->errstr, p->errstr_size, VIGIL_ERR_NOMEM, "out of memory");
        e->nlabels++;
    }
    return VIGIL_OK;
}

static vigil_err_t apply(parser_t *p, const char *key, yaml_node_t *n)
{
    vigil__model_entry_t *e = p->e;
    const char *s = scalar(n);
    if (!strcmp(key, "name")) return set_str(p, n, key, e->name, sizeof e->name);
    if (!strcmp(key, "description"))
        return set_str(p, n, key, e->description, sizeof e->description);
    if (!strcmp(key, "format")) {
        if (!s || (strcmp(s, "onnx") && strcmp(s, "tfjs")))
            return bad(p, n, key, "expected onnx or tfjs");
        return set_str(p, n, key, e->format, sizeof e->format);
    }
    if (!strcmp(key, "file")) return set_str(p, n, key, e->file, sizeof e->file);
    if (!strcmp(key, "quant")) return set_str(p, n, key, e->quant, sizeof e->quant);
    if (!strcmp(key, "input.name")) return set_str(p, n, key, e->input_name, sizeof e->input_name);
    if (!strcmp(key, "input.width")) return set_int(p, n, key, &e->width, 1, 8192);
    if (!strcmp(key, "input.height")) return set_int(p, n, key, &e->height, 1, 8192);
    if (!strcmp(key, "input.max_side")) return set_int(p, n, key, &e->max_side, 32, 8192);
    if (!strcmp(key, "input.layout")) {
        if (s && !strcmp(s, "nchw")) e->nchw = 1;
        else if (s && !strcmp(s, "nhwc")) e->nchw = 0;
        else return bad(p, n, key, "expected nchw or nhwc");
        return VIGIL_OK;
    }
    if (!strcmp(key, "input.color")) {
        if (s && !strcmp(s, "rgb")) e->bgr = 0;
        else if (s && !strcmp(s, "bgr")) e->bgr = 1;
        else return bad(p, n, key, "expected rgb or bgr");
        return VIGIL_OK;
    }
    if (!strcmp(key, "input.resize")) {
        if (s && !strcmp(s, "stretch")) e->resize = VIGIL_RESIZE_STRETCH;
        else if (s && !strcmp(s, "letterbox")) e->resize = VIGIL_RESIZE_LETTERBOX;
        else if (s && !strcmp(s, "fit32")) e->resize = VIGIL_RESIZE_FIT32;
        else if (s && !strcmp(s, "height")) e->resize = VIGIL_RESIZE_HEIGHT;
        else return bad(p, n, key, "expected stretch, letterbox, fit32 or height");
        return VIGIL_OK;
    }
    if (!strcmp(key, "input.pad")) return set_float(p, n, key, &e->pad);
    if (!strcmp(key, "input.scale")) return set_float(p, n, key, &e->scale);
    if (!strcmp(key, "input.mean")) return set_triple(p, n, key, e->mean);
    if (!strcmp(key, "input.std")) {
        vigil_err_t err = set_triple(p, n, key, e->std);
        if (!err && (e->std[0] == 0 || e->std[1] == 0 || e->std[2] == 0))
            return bad(p, n, key, "std must not be 0");
        return err;
    }
    if (!strcmp(key, "output.name"))
        return set_str(p, n, key, e->output_name, sizeof e->output_name);
    if (!strcmp(key, "postprocess.kind")) {
        if (s && !strcmp(s, "centernet")) e->post = VIGIL_POST_CENTERNET;
        else if (s && !strcmp(s, "yolo")) e->post = VIGIL_POST_YOLO;
        else if (s && !strcmp(s, "ocr_det")) e->post = VIGIL_POST_OCR_DET;
        else if (s && !strcmp(s, "ocr_rec")) e->post = VIGIL_POST_OCR_REC;
        else if (s && !strcmp(s, "ocr_cls")) e->post = VIGIL_POST_OCR_CLS;
        else return bad(p, n, key, "expected centernet, yolo, ocr_det, ocr_rec or ocr_cls");
        return VIGIL_OK;
    }
    if (!strcmp(key, "postprocess.score")) return set_float(p, n, key, &e->score_threshold);
    if (!strcmp(key, "postprocess.iou")) return set_float(p, n, key, &e->iou_threshold);
    if (!strcmp(key, "postprocess.max_detections"))
        return set_int(p, n, key, &e->max_detections, 0, 100000);
    if (!strcmp(key, "postprocess.threshold")) return set_float(p, n, key, &e->db_threshold);
    if (!strcmp(key, "postprocess.box_threshold"))
        return set_float(p, n, key, &e->db_box_threshold);
    if (!strcmp(key, "postprocess.unclip_ratio"))
        return set_float(p, n, key, &e->db_unclip_ratio);
    if (!strcmp(key, "labels")) return set_labels(p, n);
    if (!strcmp(key, "labels_file"))
        return set_str(p, n, key, e->labels_file, sizeof e->labels_file);
    return bad(p, n, key, "unknown key");
}

/* Walks a mapping; nested mappings extend the dotted prefix. */
static vigil_err_t walk(parser_t *p, yaml_node_t *map, const char *prefix)
{
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
        const char *ks = scalar(k);
        if (!ks) return bad(p, k, prefix[0] ? prefix : "entry", "keys must be strings");
        char key[128];
        snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "." : "", ks);
        vigil_err_t err = v->type == YAML_MAPPING_NODE && !prefix[0] ? walk(p, v, key)
                                                                     : apply(p, key, v);
        if (err) return err;
    }
    return VIGIL_OK;
}

static void entry_defaults(vigil__model_entry_t *e)
{
    memset(e, 0, sizeof *e);
    e->scale = 1.0f;
    e->std[0] = e->std[1] = e->std[2] = 1.0f;
    e->resize = VIGIL_RESIZE_STRETCH;
    e->score_threshold = 0.3f;
    e->iou_threshold = 0.5f;
    e->db_threshold = 0.3f;
    e->db_box_threshold = 0.6f;
    e->db_unclip_ratio = 1.5f;
}

void vigil__model_entry_release(vigil__model_entry_t *e)
{
    if (!e) return;
    for (size_t i = 0; i < e->nlabels; i++) free(e->labels[i]);
    free(e->labels);
    e->labels = NULL;
    e->nlabels = 0;
}

vigil_err_t vigil__model_entry_parse(const char *text, size_t len, const char *origin,
                                     vigil__model_entry_t *e, char *errstr, size_t errstr_size)
{
    yaml_parser_t yp;
    yaml_document_t doc;
    vigil_err_t err;
    entry_defaults(e);
    snprintf(e->origin, sizeof e->origin, "%s", origin);
    if (!yaml_parser_initialize(&yp))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory", origin);
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    if (!yaml_parser_load(&yp, &doc)) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "%s:%lu: %s", origin,
                           (unsigned long)yp.problem_mark.line + 1,
                           yp.problem ? yp.problem : "invalid YAML");
        yaml_parser_delete(&yp);
        return err;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    parser_t p = {&doc, origin, e, errstr, errstr_size};
    if (!root || root->type != YAML_MAPPING_NODE) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                           "%s: a registry entry must be a mapping", origin);
        goto done;
    }
    if ((err = walk(&p, root, ""))) goto done;
    const char *missing = !e->name[0] ? "name" : !e->format[0] ? "format"
                        : !e->file[0] ? "file" : !e->post ? "postprocess.kind" : NULL;
    if (missing) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "%s: missing key %s", origin,
                           missing);
        goto done;
    }
    if (e->resize == VIGIL_RESIZE_FIT32 && !e->max_side) e->max_side = e->width ? e->width : 960;
    if (!e->width || !e->height) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                           "%s: missing key input.width or input.height", origin);
        goto done;
    }
done:
    if (err) vigil__model_entry_release(e);
    yaml_document_delete(&doc);
    yaml_parser_delete(&yp);
    return err;
}

const char *vigil__models_dir(char *buf, size_t size)
{
    const char *env = getenv("VIGIL_MODELS");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (env && *env) snprintf(buf, size, "%s", env);
    else if (xdg && *xdg) snprintf(buf, size, "%s/vigil/models", xdg);
    else snprintf(buf, size, "%s/.cache/vigil/models", home && *home ? home : ".");
    return buf;
}

void vigil__models_path(const char *rel, char *buf, size_t size)
{
    char dir[512];
    if (rel[0] == '/') snprintf(buf, size, "%s", rel);
    else snprintf(buf, size, "%s/%s", vigil__models_dir(dir, sizeof dir), rel);
}

#define ENTRY_FILE_MAX ((size_t)1 << 20) /* a registry entry or a labels file */

static int has_yaml_ext(const char *name)
{
    size_t l = strlen(name);
    return (l > 5 && !strcmp(name + l - 5, ".yaml")) || (l > 4 && !strcmp(name + l - 4, ".yml"));
}

/* Calls fn for each user entry (*.yaml in the models directory), in
 * directory order; parse errors are reported through errstr and stop. */
static vigil_err_t each_user_entry(vigil_err_t (*fn)(void *, vigil__model_entry_t *), void *arg,
                                   char *errstr, size_t errstr_size)
{
    char dir[512];
    vigil__models_dir(dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d) return VIGIL_OK; /* nothing fetched or added yet */
    vigil_err_t err = VIGIL_OK;
    struct dirent *de;
    while (!err && (de = readdir(d))) {
        if (de->d_name[0] == '.' || !has_yaml_ext(de->d_name)) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t len;
        char *text = NULL;
        if ((err = vigil_file_read(path, ENTRY_FILE_MAX, &text, &len, errstr, errstr_size)))
            break;
        vigil__model_entry_t e;
        err = vigil__model_entry_parse(text, len, path, &e, errstr, errstr_size);
        free(text);
        if (!err) err = fn(arg, &e);
    }
    closedir(d);
    return err;
}

typedef struct find_ctx {
    const char *name;
    vigil__model_entry_t *out;
    int found;
} find_ctx_t;

static vigil_err_t find_cb(void *arg, vigil__model_entry_t *e)
{
    find_ctx_t *c = arg;
    if (!c->found && !strcmp(e->name, c->name)) {
        *c->out = *e;
        c->found = 1;
    } else {
        vigil__model_entry_release(e);
    }
    return VIGIL_OK;
}

vigil_err_t vigil__model_lookup(const char *name, vigil__model_entry_t *e, char *errstr,
                                size_t errstr_size)
{
    find_ctx_t c = {name, e, 0};
    vigil_err_t err = each_user_entry(find_cb, &c, errstr, errstr_size);
    if (err) {
        if (c.found) vigil__model_entry_release(e);
        return err;
    }
    if (c.found) return VIGIL_OK;
    for (const vigil__builtin_yaml_t *b = vigil__builtin_models; b->file; b++) {
        char origin[128];
        snprintf(origin, sizeof origin, "builtin:%s", b->file);
        if ((err = vigil__model_entry_parse(b->text, strlen(b->text), origin, e, errstr,
                                            errstr_size)))
            return err;
        if (!strcmp(e->name, name)) return VIGIL_OK;
        vigil__model_entry_release(e);
    }
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND,
                        "model \"%s\": not in the model registry (`vigil models list`)", name);
}

typedef struct list_ctx {
    vigil__model_entry_t *v;
    size_t n, cap;
} list_ctx_t;

static vigil_err_t list_add(void *arg, vigil__model_entry_t *e)
{
    list_ctx_t *c = arg;
    for (size_t i = 0; i < c->n; i++) {
        if (!strcmp(c->v[i].name, e->name)) { /* first one wins: user entries come first */
            vigil__model_entry_release(e);
            return VIGIL_OK;
        }
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        vigil__model_entry_t *v = realloc(c->v, cap * sizeof *v);
        if (!v) {
            vigil__model_entry_release(e);
            return VIGIL_ERR_NOMEM;
        }
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = *e;
    return VIGIL_OK;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const vigil__model_entry_t *)a)->name, ((const vigil__model_entry_t *)b)->name);
}

vigil_err_t vigil__model_list(vigil__model_entry_t **entries, size_t *n, char *errstr,
                              size_t errstr_size)
{
    list_ctx_t c = {0};
    vigil_err_t err = each_user_entry(list_add, &c, errstr, errstr_size);
    for (const vigil__builtin_yaml_t *b = vigil__builtin_models; !err && b->file; b++) {
        char origin[128];
        vigil__model_entry_t e;
        snprintf(origin, sizeof origin, "builtin:%s", b->file);
        err = vigil__model_entry_parse(b->text, strlen(b->text), origin, &e, errstr, errstr_size);
        if (!err) err = list_add(&c, &e);
    }
    if (err) {
        vigil__model_entries_free(c.v, c.n);
        if (err == VIGIL_ERR_NOMEM)
            vigil_seterr(errstr, errstr_size, err, "model registry: out of memory");
        return err;
    }
    if (c.n) qsort(c.v, c.n, sizeof *c.v, entry_cmp);
    *entries = c.v;
    *n = c.n;
    return VIGIL_OK;
}

void vigil__model_entries_free(vigil__model_entry_t *entries, size_t n)
{
    for (size_t i = 0; i < n; i++) vigil__model_entry_release(&entries[i]);
    free(entries);
}

vigil_err_t vigil__model_load_labels(vigil__model_entry_t *e, char *errstr, size_t errstr_size)
{
    if (e->nlabels || !e->labels_file[0]) return VIGIL_OK;
    char path[1024];
    vigil__models_path(e->labels_file, path, sizeof path);
    size_t len;
    char *text = NULL, why[512];
    vigil_err_t err = vigil_file_read(path, ENTRY_FILE_MAX, &text, &len, why, sizeof why);
    if (err)
        return vigil_seterr(errstr, errstr_size, err,
                            "model \"%s\": cannot read labels: %s (run `vigil models fetch`)",
                            e->name, why);
    size_t cnt = 0;
    for (size_t i = 0; i < len; i++) cnt += text[i] == '\n';
    e->labels = calloc(cnt + 1, sizeof *e->labels);
    if (!e->labels) goto oom;
    char *line = text, *end = text + len;
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t l = nl ? (size_t)(nl - line) : (size_t)(end - line);
        if (l && line[l - 1] == '\r') l--;
        if (!(e->labels[e->nlabels] = strndup(line, l))) goto oom;
        e->nlabels++;
        line = nl ? nl + 1 : end;
    }
    free(text);
    return VIGIL_OK;
oom:
    free(text);
    vigil__model_entry_release(e);
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "model \"%s\": out of memory",
                        e->name);
}

const char *vigil__post_kind_name(vigil__post_kind_t k)
{
    switch (k) {
    case VIGIL_POST_CENTERNET: return "centernet";
    case VIGIL_POST_YOLO: return "yolo";
    case VIGIL_POST_OCR_DET: return "ocr_det";
    case VIGIL_POST_OCR_REC: return "ocr_rec";
    case VIGIL_POST_OCR_CLS: return "ocr_cls";
    }
    return "?";
}
