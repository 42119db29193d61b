/* `vigil models quantize NAME --calibrate DIR_OR_VIDEO [--frames N]
 * [--method minmax|percentile|entropy] [--quantize-heads]
 * [--keep-float depthwise,first,auto[:N],=NAME,NAME...] [--sensitivity one|all-but-one]
 * [--sens-images N] [--no-augment] [--threads N] [--save-inputs DIR]`:
 * INT8 post-training quantization of a registry model (vigil/nn_quant.h).
 *
 * Calibration inputs are JPEG images (a directory's *.jpg / *.jpeg, sorted
 * by name) or a video's first N frames (any file the sources read, or
 * "sample"), each preprocessed exactly as the pipeline does (a video frame
 * goes YUV -> JPEG -> RGB as through ingest and preprocess). Models whose
 * input size follows the image (resize fit32: PP-OCR det; height: rec) get
 * each input at its own size (vigil__prep_size), as `vigil ocr` gives them;
 * a text recognizer (ocr_rec) calibrates on the text lines the OCR stage
 * would give it: ppocr_det and ppocr_cls run on each image first and every
 * line's crop is an input (src/infer/model_ocr.c). Writes
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
#include "infer/model_ocr.h"
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
    size_t buf_cap;  /* floats */
    int max_w;       /* vigil__prep_size's cap on a dynamic width (0: none) */
    vigil_jpeg_t *jpeg;
    vigil_image_t img;
    size_t used, unreadable;
    size_t images;   /* images / frames read this pass */
    /* inputs kept for the sensitivity step (first pass), each with its dims */
    vigil_nn_tensor_t *sens;
    size_t nsens, sens_max, sens_every;
    int augment;       /* also a zoomed quadrant and a colour variant of each input */
    int per;           /* inputs added per image: 3 with augment (2 for text lines: no quadrant), else 1 */
    /* a text recognizer: the OCR stage's detector cuts the images into lines
     * (collected once, before the passes) */
    vigil__ocr_t *ocr;
    vigil_image_t *lines;
    size_t nlines, lines_cap;
    vigil_image_t col; /* the colour variant */
    const char *save;  /* --save-inputs DIR: each input as raw float32, or NULL */
} calib_run_t;

/* Writes input k (its dims in the name) under --save-inputs, so that
 * another engine can calibrate on exactly these tensors (bench/nn_ort_int8.py). */
static int save_input(const calib_run_t *r, const vigil_nn_tensor_t *in)
{
    char path[1024];
    int n = snprintf(path, sizeof path, "%s/input-%04zu-%lldx%lldx%lldx%lld.f32", r->save, r->used,
                     (long long)in->dims[0], (long long)in->dims[1], (long long)in->dims[2], (long long)in->dims[3]);
    FILE *f = n > 0 && (size_t)n < sizeof path ? fopen(path, "wb") : NULL;
    size_t count = (size_t)vigil_nn_tensor_numel(in);
    int ok = f && fwrite(in->data, sizeof(float), count, f) == count;
    if (f && fclose(f)) ok = 0;
    if (!ok) fprintf(stderr, "vigil models quantize: --save-inputs: cannot write %s: %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

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

/* Preprocesses img at the size the pipeline gives it (fixed, or following
 * the image for fit32 / height) and adds it to the calibration. */
static int add_one(calib_run_t *r, const vigil_image_t *img, const char *what)
{
    const vigil__model_entry_t *e = &r->m->entry;
    vigil__geom_t geom;
    int w, h;
    vigil__prep_size(e, img->width, img->height, r->max_w, &w, &h);
    size_t n = (size_t)3 * (size_t)w * (size_t)h;
    if (n > r->buf_cap) {
        float *b = realloc(r->buf, sizeof(float) * n);
        if (!b) {
            fprintf(stderr, "vigil models quantize: %s: out of memory\n", what);
            return -1;
        }
        r->buf = b;
        r->buf_cap = n;
    }
    vigil__prep_image(e, img, w, h, r->buf, &geom);
    vigil_nn_tensor_t in = {.dtype = VIGIL_NN_FLOAT32, .ndim = 4, .data = r->buf};
    in.dims[0] = 1;
    in.dims[1] = e->nchw ? 3 : h;
    in.dims[2] = e->nchw ? h : w;
    in.dims[3] = e->nchw ? w : 3;
    char err[512];
    if (r->save && save_input(r, &in)) return -1;
    if (vigil_nn_calib_add(r->c, &in, err, sizeof err)) {
        fprintf(stderr, "vigil models quantize: %s: %s\n", what, err);
        return -1;
    }
    if (r->sens && r->nsens < r->sens_max && r->used % r->sens_every == 0) {
        vigil_nn_tensor_t *t = &r->sens[r->nsens];
        *t = in;
        if ((t->data = malloc(sizeof(float) * n))) {
            memcpy(t->data, r->buf, sizeof(float) * n);
            r->nsens++;
        }
    }
    r->used++;
    return 0;
}

static uint8_t clamp_u8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Adds im and, with --augment, variants of it (the k-th input): its
 * quadrant k % 4 (the model's resize zooms it 2x: objects closer than the
 * video shows them; not for text lines, whose text it would cut) and a
 * colour variant (channels rotated by k % 3, saturation 2.5x and contrast
 * 1.3x: colours the scene lacks), so that the ranges cover more than one
 * scene's statistics. */
static int add_variants(calib_run_t *r, const vigil_image_t *im, const char *what)
{
    size_t k = r->used / (size_t)r->per;
    if (add_one(r, im, what)) return -1;
    if (!r->augment) return 0;
    int bpp = im->fmt == VIGIL_PIX_RGB24 ? 3 : 0;
    if (r->per == 3) {
        vigil_image_t q = *im;
        q.owned = 0;
        q.width = im->width / 2 > 0 ? im->width / 2 : 1;
        q.height = im->height / 2 > 0 ? im->height / 2 : 1;
        if (bpp)
            q.data = im->data + (size_t)(k % 2 ? im->width - q.width : 0) * 3 +
                     (size_t)((k / 2) % 2 ? im->height - q.height : 0) * (size_t)im->stride;
        if (add_one(r, &q, what)) return -1;
    }
    if (!bpp) return add_one(r, im, what); /* the same count of inputs on every pass */
    if (r->col.width != im->width || r->col.height != im->height) {
        vigil_image_release(&r->col);
        if (vigil_image_alloc(&r->col, im->width, im->height, VIGIL_PIX_RGB24)) {
            fprintf(stderr, "vigil models quantize: %s: out of memory\n", what);
            return -1;
        }
    }
    int rot = (int)(k % 3);
    for (int y = 0; y < im->height; y++) {
        const uint8_t *s = im->data + (size_t)y * (size_t)im->stride;
        uint8_t *d = r->col.data + (size_t)y * (size_t)r->col.stride;
        for (int x = 0; x < im->width; x++, s += 3, d += 3) {
            int g = (s[0] * 77 + s[1] * 150 + s[2] * 29) >> 8;
            for (int c = 0; c < 3; c++) {
                int v = g + (s[(c + rot) % 3] - g) * 5 / 2; /* saturation 2.5x */
                d[c] = clamp_u8(128 + (v - 128) * 13 / 10); /* contrast 1.3x */
            }
        }
    }
    return add_one(r, &r->col, what);
}

/* Text lines of r->img as the OCR stage cuts them (detection, DB boxes, crop,
 * direction), kept in r->lines for the calibration passes. */
static int collect_lines(calib_run_t *r, const char *what)
{
    char err[512];
    vigil__quad_t *quads = NULL;
    size_t nq = 0;
    if (vigil__ocr_detect(r->ocr, &r->img, &quads, &nq, err, sizeof err)) {
        fprintf(stderr, "vigil models quantize: %s: text detection: %s\n", what, err);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < nq && !rc; i++) {
        if (r->nlines == r->lines_cap) {
            size_t cap = r->lines_cap ? 2 * r->lines_cap : 64;
            vigil_image_t *g = realloc(r->lines, cap * sizeof *g);
            if (!g) {
                fprintf(stderr, "vigil models quantize: %s: out of memory\n", what);
                rc = -1;
                break;
            }
            r->lines = g;
            r->lines_cap = cap;
        }
        vigil_image_t *l = &r->lines[r->nlines];
        memset(l, 0, sizeof *l);
        if (vigil__ocr_line_image(r->ocr, &r->img, &quads[i], l, err, sizeof err)) {
            fprintf(stderr, "vigil models quantize: %s: text line %zu: %s\n", what, i, err);
            rc = -1;
        } else {
            r->nlines++;
        }
    }
    free(quads);
    return rc;
}

/* One image or frame read (in r->img): its inputs, or its text lines. */
static int add_image(calib_run_t *r, const char *what)
{
    r->images++;
    return r->ocr ? collect_lines(r, what) : add_variants(r, &r->img, what);
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
    while ((int)r->images < frames) {
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
        snprintf(what, sizeof what, "frame %zu", r->images);
        if (add_image(r, what)) {
            rc = -1;
            break;
        }
    }
    vigil_source_close(src);
    return rc;
}

typedef struct sens_rank {
    size_t layer;
    double err;
} sens_rank_t;

static vigil_nn_sens_mode_t sort_mode;

static int cmp_rank(const void *a, const void *b)
{
    const sens_rank_t *x = a, *y = b;
    double d = sort_mode == VIGIL_NN_SENS_ALL_BUT_ONE ? x->err - y->err : y->err - x->err;
    return d < 0 ? -1 : d > 0 ? 1 : (x->layer > y->layer) - (x->layer < y->layer);
}

/* The sensitivity step: ranks the calibrated layers (most sensitive first),
 * writes the ranking beside the .vq (NAME-int8.sens), and with auto_n >= 0
 * keeps the auto_n most sensitive float. */
static int sensitivity(calib_run_t *r, vigil_nn_sens_mode_t mode, long auto_n, int threads, const char *vq_path)
{
    const vigil__model_entry_t *e = &r->m->entry;
    size_t nl = vigil_nn_calib_nlayers(r->c);
    vigil_nn_tensor_t *in = calloc(r->nsens + 1, sizeof *in);
    sens_rank_t *rk = calloc(nl + 1, sizeof *rk);
    double *errs = calloc(nl + 1, sizeof *errs), base = 0;
    char err[1024], path[1100];
    int rc = -1;
    FILE *f = NULL;
    char *keep = NULL;
    if (!in || !rk || !errs) {
        fprintf(stderr, "vigil models quantize: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < r->nsens; i++) in[i] = r->sens[i]; /* each with its own dims */
    vigil_nn_format_t fmt = !strcmp(e->format, "tfjs") ? VIGIL_NN_FORMAT_TFJS : VIGIL_NN_FORMAT_ONNX;
    if (vigil_nn_calib_sensitivity(r->c, r->m->path, fmt, in, r->nsens, mode, threads, errs, &base, err, sizeof err)) {
        fprintf(stderr, "vigil models quantize: %s\n", err);
        goto out;
    }
    for (size_t i = 0; i < nl; i++) rk[i] = (sens_rank_t){i, errs[i]};
    sort_mode = mode;
    qsort(rk, nl, sizeof *rk, cmp_rank);
    size_t pl = strlen(vq_path);
    snprintf(path, sizeof path, "%.*s.sens", (int)(pl > 3 && !strcmp(vq_path + pl - 3, ".vq") ? pl - 3 : pl), vq_path);
    if (!(f = fopen(path, "w"))) {
        fprintf(stderr, "vigil models quantize: cannot write %s: %s\n", path, strerror(errno));
        goto out;
    }
    fprintf(f, "# vigil models quantize --sensitivity %s: %zu layers on %zu inputs, most sensitive first;\n"
               "# heads' relative RMS error with every layer in INT8: %.6f\n# rank error layer\n",
            mode == VIGIL_NN_SENS_ONE ? "one" : "all-but-one", nl, r->nsens, base);
    for (size_t i = 0; i < nl; i++)
        fprintf(f, "%zu %.6f %s\n", i + 1, rk[i].err, vigil_nn_calib_layer_name(r->c, rk[i].layer));
    if (fclose(f)) {
        f = NULL;
        fprintf(stderr, "vigil models quantize: cannot write %s: %s\n", path, strerror(errno));
        goto out;
    }
    f = NULL;
    printf("sensitivity (%s, %zu inputs): heads' relative RMS error %.4f with all %zu layers in INT8; ranking in %s\n",
           mode == VIGIL_NN_SENS_ONE ? "one" : "all-but-one", r->nsens, base, nl, path);
    if (auto_n > 0) {
        size_t n = (size_t)auto_n < nl ? (size_t)auto_n : nl, cap = 1, o = 0;
        for (size_t i = 0; i < n; i++) cap += strlen(vigil_nn_calib_layer_name(r->c, rk[i].layer)) + 2;
        if (!(keep = malloc(cap))) {
            fprintf(stderr, "vigil models quantize: out of memory\n");
            goto out;
        }
        keep[0] = 0;
        for (size_t i = 0; i < n; i++)
            o += (size_t)snprintf(keep + o, cap - o, "%s=%s", i ? "," : "", vigil_nn_calib_layer_name(r->c, rk[i].layer));
        size_t kept = vigil_nn_calib_keep_float(r->c, keep);
        printf("kept float by sensitivity: %zu layers (auto:%ld)\n", kept, auto_n);
    }
    rc = 0;
out:
    if (f) fclose(f);
    free(keep);
    free(errs);
    free(rk);
    free(in);
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
                 "                              [--keep-float depthwise,first,auto[:N],=NAME,NAME...]\n"
                 "                              [--sensitivity one|all-but-one] [--sens-images N] [--no-augment]\n"
                 "                              [--threads N] [--save-inputs DIR]\n"
                 "  INT8 post-training quantization: calibrates on up to N (default 32) images of\n"
                 "  DIR (*.jpg) or frames of a video, writes NAME-int8.vq next to the float model\n"
                 "  and registers NAME-int8 ($VIGIL_MODELS/NAME-int8.yaml). The detector heads stay\n"
                 "  float unless --quantize-heads; --keep-float keeps more float: depthwise Convs,\n"
                 "  the first (reading the input), Convs whose names contain NAME, =NAME: that\n"
                 "  Conv exactly, auto:N: the N most sensitive (none: only the heads; default\n"
                 "  depthwise,first,auto:8). Default method: minmax. --sensitivity measures, on N\n"
                 "  (default 8) of the calibration inputs, the error each layer in INT8 adds to\n"
                 "  the heads' outputs (one: that layer alone in INT8; all-but-one: every layer\n"
                 "  but it) and writes the ranking to NAME-int8.sens (auto:N runs it too).\n"
                 "  Each input is also calibrated as a quadrant (zoomed by the resize) and a\n"
                 "  colour variant unless --no-augment. --save-inputs writes every calibration\n"
                 "  input tensor to DIR as raw float32 (input-K-DIMS.f32), for other engines.\n"
                 "  Inputs of varying size (fit32: ppocr_det; height: ppocr_rec, ppocr_cls) take\n"
                 "  each image's own size; ppocr_rec and ppocr_cls calibrate on the text lines\n"
                 "  the float ppocr_det finds in the images (as `vigil ocr` cuts them), each\n"
                 "  with a colour variant unless --no-augment.\n");
    return out == stdout ? CLI_OK : CLI_USAGE;
}

int cli_models_quantize(int argc, char **argv)
{
    const char *name = NULL, *calib = NULL, *method_s = "minmax", *keep = NULL, *save = NULL;
    const char *sens_s = NULL;
    int frames = 32, heads = 0, threads = 2, sens_images = 8, augment = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--calibrate") && i + 1 < argc) calib = argv[++i];
        else if (!strcmp(argv[i], "--frames") && i + 1 < argc) frames = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--method") && i + 1 < argc) method_s = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quantize-heads")) heads = 1;
        else if (!strcmp(argv[i], "--augment")) augment = 1;
        else if (!strcmp(argv[i], "--no-augment")) augment = 0;
        else if (!strcmp(argv[i], "--save-inputs") && i + 1 < argc) save = argv[++i];
        else if (!strcmp(argv[i], "--keep-float") && i + 1 < argc) keep = argv[++i];
        else if (!strcmp(argv[i], "--sensitivity") && i + 1 < argc) sens_s = argv[++i];
        else if (!strcmp(argv[i], "--sens-images") && i + 1 < argc) sens_images = atoi(argv[++i]);
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
    vigil_nn_sens_mode_t sens_mode = VIGIL_NN_SENS_ONE;
    if (sens_s && !strcmp(sens_s, "all-but-one")) sens_mode = VIGIL_NN_SENS_ALL_BUT_ONE;
    else if (sens_s && strcmp(sens_s, "one")) {
        fprintf(stderr, "vigil models quantize: --sensitivity %s: expected one or all-but-one\n", sens_s);
        return CLI_USAGE;
    }
    if (sens_images < 1 || sens_images > 256) {
        fprintf(stderr, "vigil models quantize: --sens-images must be 1..256\n");
        return CLI_USAGE;
    }
    /* auto[:N] in --keep-float: taken out of the list (the rest applies before calibration) */
    char keep_rest[2048] = "";
    long auto_n = -1;
    if (keep) {
        if (strlen(keep) >= sizeof keep_rest) {
            fprintf(stderr, "vigil models quantize: --keep-float list too long\n");
            return CLI_USAGE;
        }
        size_t o = 0;
        for (const char *it = keep; *it;) {
            const char *c = strchr(it, ',');
            size_t len = c ? (size_t)(c - it) : strlen(it);
            if ((len == 4 && !strncmp(it, "auto", 4)) || (len > 5 && !strncmp(it, "auto:", 5))) {
                char *end;
                auto_n = len == 4 ? 8 : strtol(it + 5, &end, 10);
                if (auto_n < 0 || auto_n > 100000 || (len > 4 && end != it + len)) {
                    fprintf(stderr, "vigil models quantize: --keep-float %.*s: expected auto or auto:N (N >= 0)\n",
                            (int)len, it);
                    return CLI_USAGE;
                }
            } else if (len) {
                o += (size_t)snprintf(keep_rest + o, sizeof keep_rest - o, "%s%.*s", o ? "," : "", (int)len, it);
            }
            it = c ? c + 1 : it + len;
        }
        keep = keep_rest[0] ? keep_rest : "none";
    } else {
        keep = "depthwise,first";
        auto_n = 8;
    }
    int want_sens = sens_s || auto_n >= 0;
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
    r.augment = augment;
    r.save = save;
    char qname[80], vq_rel[300], vq_path[1024], yaml_path[1024], dir[512];
    if (!(r.m = vigil__nnm_open(name, threads, err, sizeof err))) {
        fprintf(stderr, "vigil models quantize: %s\n", err);
        goto done;
    }
    const vigil__model_entry_t *e = &r.m->entry;
    /* fit32 / height inputs take each image's own size (vigil__prep_size), capped as `vigil ocr` caps them */
    r.max_w = e->post == VIGIL_POST_OCR_REC ? VIGIL__OCR_REC_MAX_WIDTH : e->post == VIGIL_POST_OCR_CLS ? e->width : 0;
    r.per = !augment ? 1 : e->post == VIGIL_POST_OCR_REC || e->post == VIGIL_POST_OCR_CLS ? 2 : 3;
    if (e->post == VIGIL_POST_OCR_REC || e->post == VIGIL_POST_OCR_CLS) {
        /* text lines as the OCR stage cuts them, by the float detector (and the classifier for rec) */
        if (!(r.ocr = vigil__ocr_open_models("ppocr_det", e->post == VIGIL_POST_OCR_REC ? "ppocr_cls" : NULL, NULL,
                                             threads, err, sizeof err))) {
            fprintf(stderr, "vigil models quantize: model \"%s\" calibrates on text lines: %s\n", name, err);
            goto done;
        }
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
    /* by default (keep_rest empty, auto_n 8) the depthwise Convs, the first Conv and the 8
     * layers the sensitivity step finds most sensitive stay float: with a per-tensor input
     * scale the depthwise ones cost CenterNet most of its INT8 error, and with --augment and
     * the 8 most sensitive float F1 against float reaches 1.000 on the darknet images and
     * 0.980 on 200 vtest frames (docs/nn.md "INT8": 0.918 / 0.958 without both) */
    if (strcmp(keep, "none")) vigil_nn_calib_keep_float(r.c, keep);
    r.jpeg = vigil_jpeg_new();
    if (!r.jpeg) {
        fprintf(stderr, "vigil models quantize: out of memory\n");
        goto done;
    }
    size_t nimages = 0; /* images / frames read (text models: once, before the passes) */
    if (r.ocr) {
        if (is_dir ? run_dir(&r, calib, names, nnames) : run_video(&r, calib, frames)) goto done;
        nimages = r.images;
        if (!nimages) {
            fprintf(stderr, "vigil models quantize: no readable %s in %s (%zu unreadable)\n",
                    is_dir ? "images" : "frames", calib, r.unreadable);
            goto done;
        }
        if (!r.nlines) {
            fprintf(stderr, "vigil models quantize: model \"%s\" calibrates on text lines, and the text detector "
                            "found none in the %zu %s of %s\n", name, nimages, is_dir ? "images" : "frames", calib);
            goto done;
        }
    }
    if (want_sens) {
        r.sens_max = (size_t)sens_images;
        size_t total = (r.ocr ? r.nlines : nnames) * (size_t)r.per;
        r.sens_every = (is_dir || r.ocr) && total > r.sens_max ? total / r.sens_max : 1; /* spread over the inputs */
        r.sens = calloc(r.sens_max, sizeof *r.sens);
        if (!r.sens) {
            fprintf(stderr, "vigil models quantize: out of memory\n");
            goto done;
        }
    }
    for (int pass = 0; pass < vigil_nn_calib_passes(r.c); pass++) {
        if (pass) vigil_nn_calib_next_pass(r.c);
        size_t used = r.used;
        r.used = 0;
        if (pass) r.sens_max = r.nsens, r.save = NULL; /* kept / saved from the first pass only */
        if (r.ocr) {
            for (size_t i = 0; i < r.nlines; i++) {
                char what[64];
                snprintf(what, sizeof what, "text line %zu", i);
                if (add_variants(&r, &r.lines[i], what)) goto done;
            }
        } else {
            r.unreadable = r.images = 0;
            if (is_dir ? run_dir(&r, calib, names, nnames) : run_video(&r, calib, frames)) goto done;
            nimages = r.images;
        }
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
    if (nimages == 1)
        fprintf(stderr, "vigil models quantize: warning: ranges from a single input may not fit other scenes\n");
    if (want_sens && sensitivity(&r, sens_mode, auto_n, threads, vq_path)) goto done;
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
    if (r.ocr)
        printf("%s: %zu Convs in INT8, %zu kept float, calibrated (%s) on %zu text lines (ppocr_det) of %zu %s of "
               "%s%s\n  %s\n  %s\n",
               qname, nq, nf, method_s, r.nlines, nimages, is_dir ? "images" : "frames", calib,
               augment ? " and a colour variant of each" : "", vq_path, yaml_path);
    else
        printf("%s: %zu Convs in INT8, %zu kept float, calibrated (%s) on %zu %s of %s%s\n  %s\n  %s\n", qname, nq,
               nf, method_s, nimages, is_dir ? "images" : "frames", calib, augment ? " and 2 variants of each" : "",
               vq_path, yaml_path);
    rc = CLI_OK;
done:
    if (names)
        for (size_t i = 0; i < nnames; i++) free(names[i]);
    free(names);
    for (size_t i = 0; i < r.nsens; i++) free(r.sens[i].data);
    for (size_t i = 0; i < r.nlines; i++) vigil_image_release(&r.lines[i]);
    free(r.lines);
    vigil__ocr_close(r.ocr);
    free(r.sens);
    vigil_image_release(&r.img);
    vigil_image_release(&r.col);
    vigil_jpeg_free(r.jpeg);
    free(r.buf);
    vigil_nn_calib_free(r.c);
    vigil__nnm_close(r.m);
    return rc;
}
