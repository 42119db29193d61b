/* `vigil models quantize NAME --calibrate DIR_OR_VIDEO [--frames N]
 * [--method minmax|percentile|entropy] [--quantize-heads]
 * [--keep-float depthwise,first,NAME...] [--threads N]`:
 * INT8 post-training quantization of a registry model (vigil/nn_quant.h).
 *
 * Calibration inputs are JPEG images (a directory's *.jpg / *.jpeg, sorted
 * by name) or a video's first N frames (any file the sources read, or
 * "sample"), each preprocessed exactly as the pipeline does (a video frame
 * goes YUV -> JPEG -> RGB as through ingest and preprocess). Writes
 * NAME-int8.vq next to the float model and $VIGIL_MODELS/NAME-int8.yaml: the
 * float entry's text with its name, description and `quant:` key, so
 * `infer.model: NAME-int8` runs it.
 *
 * Thread: main thread only. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_models.h"
#include "infer/model_nn.h"
#include "infer/model_prep.h"
#include "infer/model_registry.h"
#include "vigil/file.h"
#include "vigil/image.h"
#include "vigil/nn_quant.h"
#include "vigil/source.h"

#define FRAMES_MAX 10000
#define NAMES_MAX 100000 /* directory entries looked at */

typedef struct calib_run {
    vigil__nnm_t *m;
    vigil_nn_calib_t *c;
    float *buf;
    vigil_jpeg_t *jpeg;
    vigil_image_t img;
    size_t used, unreadable;
} calib_run_t;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_jpeg_name(const char *n)
{
    size_t l = strlen(n);
    return (l > 4 && !strcasecmp(n + l - 4, ".jpg")) || (l > 5 && !strcasecmp(n + l - 5, ".jpeg"));
}

/* The sorted *.jpg / *.jpeg names of dir, at most max. */
static char **list_images(const char *dir, int max, size_t *n, char *err, size_t errsz)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errsz, "cannot read directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    size_t cap = 64, seen = 0;
    char **v = malloc(cap * sizeof *v);
    struct dirent *de;
    while (v && (de = readdir(d)) && seen++ < NAMES_MAX) {
        if (de->d_name[0] == '.' || !is_jpeg_name(de->d_name)) continue;
        if (*n == cap) {
            char **g = realloc(v, 2 * cap * sizeof *v);
            if (!g) break;
            v = g;
            cap *= 2;
        }
        if (!(v[*n] = strdup(de->d_name))) break;
        (*n)++;
    }
    closedir(d);
    if (!v) {
        snprintf(err, errsz, "out of memory listing %s", dir);
        return NULL;
    }
    qsort(v, *n, sizeof *v, cmp_str);
    for (size_t i = (size_t)max; i < *n; i++) free(v[i]);
    if (*n > (size_t)max) *n = (size_t)max;
    return v;
}

/* Preprocesses r->img and adds it to the calibration. */
static int add_image(calib_run_t *r, const char *what)
{
    const vigil__model_entry_t *e = &r->m->entry;
    vigil__geom_t geom;
    vigil__prep_image(e, &r->img, e->width, e->height, r->buf, &geom);
    vigil_nn_tensor_t in = {.dtype = VIGIL_NN_FLOAT32, .ndim = 4, .data = r->buf};
    in.dims[0] = 1;
    in.dims[1] = e->nchw ? 3 : e->height;
    in.dims[2] = e->nchw ? e->height : e->width;
    in.dims[3] = e->nchw ? e->width : 3;
    char err[512];
    if (vigil_nn_calib_add(r->c, &in, err, sizeof err)) {
        fprintf(stderr, "vigil models quantize: %s: %s\n", what, err);
        return -1;
    }
    r->used++;
    return 0;
}

static int run_dir(calib_run_t *r, const char *dir, char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (cli_read_image(r->jpeg, "models quantize", path, &r->img)) { /* printed why */
            r->unreadable++;
            continue;
        }
        if (add_image(r, path)) return -1;
    }
    return 0;
}

static int run_video(calib_run_t *r, const char *url, int frames)
{
    char err[512];
    vigil_source_opts_t so = {0};
    vigil_source_t *src = vigil_source_open(url, &so, err, sizeof err);
    if (!src) {
        fprintf(stderr, "vigil models quantize: %s\n", err);
        return -1;
    }
    int rc = 0, bad = 0;
    while ((int)r->used < frames) {
        vigil_source_frame_t f;
        vigil_err_t e = vigil_source_read(src, &f, err, sizeof err);
        if (e == VIGIL_ERR_CLOSED) break;
        if (e == VIGIL_ERR_DECODE && ++bad < 100) {
            r->unreadable++;
            continue;
        }
        if (e) {
            fprintf(stderr, "vigil models quantize: %s\n", err);
            rc = -1;
            break;
        }
        uint8_t *jpg = NULL;
        size_t len = 0;
        if (vigil_jpeg_encode_yuv420(r->jpeg, f.planes, f.strides, f.width, f.height, 90, &jpg, &len, err,
                                     sizeof err) ||
            vigil_jpeg_decode(r->jpeg, jpg, len, VIGIL_PIX_RGB24, 1, &r->img, err, sizeof err)) {
            free(jpg);
            fprintf(stderr, "vigil models quantize: %s frame %zu: %s\n", url, r->used, err);
            rc = -1;
            break;
        }
        free(jpg);
        char what[64];
        snprintf(what, sizeof what, "frame %zu", r->used);
        if (add_image(r, what)) {
            rc = -1;
            break;
        }
    }
    vigil_source_close(src);
    return rc;
}

/* The entry's YAML text with name, description and quant set. */
static char *derived_yaml(const vigil__model_entry_t *e, const char *qname, const char *quant_rel,
                          const char *method, char *err, size_t errsz)
{
    char *text = NULL;
    size_t len = 0;
    if (!strncmp(e->origin, "builtin:", 8)) {
        for (const vigil__builtin_yaml_t *b = vigil__builtin_models; b->file; b++)
            if (!strcmp(b->file, e->origin + 8)) text = strdup(b->text);
        if (!text) {
            snprintf(err, errsz, "no built-in text for %s", e->origin);
            return NULL;
        }
        len = strlen(text);
    } else if (vigil_file_read(e->origin, (size_t)1 << 20, &text, &len, err, errsz)) {
        return NULL;
    }
    size_t cap = len + 1024;
    char *out = malloc(cap);
    if (!out) {
        free(text);
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    size_t o = (size_t)snprintf(out, cap,
                                "# written by `vigil models quantize %s --method %s`: the float model with its\n"
                                "# Convs in INT8 from %s (docs/nn.md \"INT8\")\n",
                                e->name, method, quant_rel);
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        size_t l = next ? (size_t)(next - line) : strlen(line);
        if (next) next++;
        if (!strncmp(line, "name:", 5)) {
            o += (size_t)snprintf(out + o, cap - o, "name: %s\n", qname);
        } else if (!strncmp(line, "description:", 12)) {
            o += (size_t)snprintf(out + o, cap - o, "description: %.100s (INT8)\n", e->description);
        } else if (!strncmp(line, "quant:", 6)) {
            continue;
        } else {
            if (o + l + 2 >= cap) break; /* cap has len + 1024: never */
            memcpy(out + o, line, l);
            o += l;
            out[o++] = '\n';
        }
    }
    snprintf(out + o, cap - o, "quant: %s\n", quant_rel);
    free(text);
    return out;
}

static int write_text(const char *path, const char *text)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f || fputs(text, f) < 0 || fclose(f)) {
        fprintf(stderr, "vigil models quantize: cannot write %s: %s\n", tmp, strerror(errno));
        if (f) unlink(tmp);
        return -1;
    }
    if (rename(tmp, path)) {
        fprintf(stderr, "vigil models quantize: cannot rename %s to %s: %s\n", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int usage(FILE *out)
{
    fprintf(out, "usage: vigil models quantize NAME --calibrate DIR_OR_VIDEO [--frames N]\n"
                 "                              [--method minmax|percentile|entropy] [--quantize-heads]\n"
                 "                              [--keep-float depthwise,first,NAME...] [--threads N]\n"
                 "  INT8 post-training quantization: calibrates on up to N (default 32) images of\n"
                 "  DIR (*.jpg) or frames of a video, writes NAME-int8.vq next to the float model\n"
                 "  and registers NAME-int8 ($VIGIL_MODELS/NAME-int8.yaml). The detector heads stay\n"
                 "  float unless --quantize-heads; --keep-float keeps more float: depthwise Convs,\n"
                 "  the first (reading the input), or Convs whose names contain NAME (default\n"
                 "  depthwise,first; none: only the heads). Default method: minmax.\n");
    return out == stdout ? CLI_OK : CLI_USAGE;
}

int cli_models_quantize(int argc, char **argv)
{
    const char *name = NULL, *calib = NULL, *method_s = "minmax", *keep = NULL;
    int frames = 32, heads = 0, threads = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--calibrate") && i + 1 < argc) calib = argv[++i];
        else if (!strcmp(argv[i], "--frames") && i + 1 < argc) frames = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--method") && i + 1 < argc) method_s = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quantize-heads")) heads = 1;
        else if (!strcmp(argv[i], "--keep-float") && i + 1 < argc) keep = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout);
        else if (argv[i][0] != '-' && !name) name = argv[i];
        else {
            fprintf(stderr, "vigil models quantize: unknown argument %s\n", argv[i]);
            return usage(stderr);
        }
    }
    if (!name || !calib) return usage(stderr);
    int method = vigil_nn_calib_method_parse(method_s);
    if (method < 0) {
        fprintf(stderr, "vigil models quantize: --method %s: expected minmax, percentile or entropy\n", method_s);
        return CLI_USAGE;
    }
    if (frames < 1 || frames > FRAMES_MAX || threads < 1 || threads > 64) {
        fprintf(stderr, "vigil models quantize: --frames must be 1..%d, --threads 1..64\n", FRAMES_MAX);
        return CLI_USAGE;
    }
    char err[1024];
    vigil__model_entry_t probe;
    if (vigil__model_lookup(name, &probe, err, sizeof err)) {
        fprintf(stderr, "vigil models quantize: %s\n", err);
        return CLI_FAIL;
    }
    int already = probe.quant[0] != 0;
    vigil__model_entry_release(&probe);
    if (already) {
        fprintf(stderr, "vigil models quantize: model \"%s\" is already quantized: quantize its float model\n", name);
        return CLI_FAIL;
    }
    /* the calibration inputs: a directory of images, else a video */
    struct stat st;
    int is_dir = stat(calib, &st) == 0 && S_ISDIR(st.st_mode);
    char **names = NULL;
    size_t nnames = 0;
    if (is_dir) {
        if (!(names = list_images(calib, frames, &nnames, err, sizeof err))) {
            fprintf(stderr, "vigil models quantize: %s\n", err);
            return CLI_FAIL;
        }
        if (!nnames) {
            fprintf(stderr, "vigil models quantize: %s has no images (*.jpg, *.jpeg) to calibrate on\n", calib);
            free(names);
            return CLI_FAIL;
        }
    }
    int rc = CLI_FAIL;
    calib_run_t r = {0};
    char qname[80], vq_rel[300], vq_path[1024], yaml_path[1024], dir[512];
    if (!(r.m = vigil__nnm_open(name, threads, err, sizeof err))) {
        fprintf(stderr, "vigil models quantize: %s\n", err);
        goto done;
    }
    const vigil__model_entry_t *e = &r.m->entry;
    if (e->resize == VIGIL_RESIZE_FIT32 || e->resize == VIGIL_RESIZE_HEIGHT) {
        fprintf(stderr, "vigil models quantize: model \"%s\": inputs of varying size (resize fit32/height) are not "
                        "supported yet\n", name);
        goto done;
    }
    snprintf(qname, sizeof qname, "%s-int8", e->name);
    if (strlen(qname) >= sizeof e->name) {
        fprintf(stderr, "vigil models quantize: name %s too long\n", qname);
        goto done;
    }
    /* NAME-int8.vq beside the float file, same directory relative to the models dir */
    {
        const char *slash = strrchr(e->file, '/');
        int dl = slash ? (int)(slash - e->file) + 1 : 0;
        snprintf(vq_rel, sizeof vq_rel, "%.*s%s.vq", dl, e->file, qname);
    }
    vigil__models_path(vq_rel, vq_path, sizeof vq_path);
    snprintf(yaml_path, sizeof yaml_path, "%s/%s.yaml", vigil__models_dir(dir, sizeof dir), qname);
    if (!(r.c = vigil_nn_calib_new(r.m->model, (vigil_nn_calib_method_t)method, heads, threads, err, sizeof err))) {
        fprintf(stderr, "vigil models quantize: model \"%s\": %s\n", name, err);
        goto done;
    }
    /* depthwise Convs and the first Conv stay float unless asked: with a per-tensor input
     * scale the depthwise ones cost CenterNet most of its INT8 error (docs/nn.md "INT8": F1 on
     * 200 vtest frames 0.881 all INT8, 0.949 depthwise float, 0.958 and the first too) */
    if (!keep) keep = "depthwise,first";
    if (strcmp(keep, "none")) vigil_nn_calib_keep_float(r.c, keep);
    r.jpeg = vigil_jpeg_new();
    r.buf = malloc(sizeof(float) * 3 * (size_t)e->width * (size_t)e->height);
    if (!r.jpeg || !r.buf) {
        fprintf(stderr, "vigil models quantize: out of memory\n");
        goto done;
    }
    for (int pass = 0; pass < vigil_nn_calib_passes(r.c); pass++) {
        if (pass) vigil_nn_calib_next_pass(r.c);
        size_t used = r.used;
        r.used = r.unreadable = 0;
        if (is_dir ? run_dir(&r, calib, names, nnames) : run_video(&r, calib, frames)) goto done;
        if (pass && r.used != used) {
            fprintf(stderr, "vigil models quantize: %s gave %zu inputs on the second pass, %zu on the first\n", calib,
                    r.used, used);
            goto done;
        }
        if (!r.used) {
            fprintf(stderr, "vigil models quantize: no readable %s in %s (%zu unreadable)\n",
                    is_dir ? "images" : "frames", calib, r.unreadable);
            goto done;
        }
    }
    if (r.unreadable) fprintf(stderr, "vigil models quantize: %zu unreadable inputs skipped\n", r.unreadable);
    if (r.used == 1)
        fprintf(stderr, "vigil models quantize: warning: ranges from a single input may not fit other scenes\n");
    if (vigil_nn_calib_write(r.c, vq_path, err, sizeof err)) {
        fprintf(stderr, "vigil models quantize: %s\n", err);
        goto done;
    }
    char *yaml = derived_yaml(e, qname, vq_rel, method_s, err, sizeof err);
    if (!yaml) {
        fprintf(stderr, "vigil models quantize: %s\n", err);
        goto done;
    }
    int wr = write_text(yaml_path, yaml);
    free(yaml);
    if (wr) goto done;
    /* the written model must load */
    vigil__nnm_t *check = vigil__nnm_open(qname, 1, err, sizeof err);
    if (!check) {
        fprintf(stderr, "vigil models quantize: the written model does not load: %s\n", err);
        goto done;
    }
    vigil__nnm_close(check);
    size_t nq, nf;
    vigil_nn_calib_counts(r.c, &nq, &nf);
    printf("%s: %zu Convs in INT8, %zu kept float, calibrated (%s) on %zu %s of %s\n  %s\n  %s\n", qname, nq, nf,
           method_s, r.used, is_dir ? "images" : "frames", calib, vq_path, yaml_path);
    rc = CLI_OK;
done:
    if (names)
        for (size_t i = 0; i < nnames; i++) free(names[i]);
    free(names);
    vigil_image_release(&r.img);
    vigil_jpeg_free(r.jpeg);
    free(r.buf);
    vigil_nn_calib_free(r.c);
    vigil__nnm_close(r.m);
    return rc;
}
