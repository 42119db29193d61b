/* `vigil ocr [--det NAME] [--cls NAME|none] [--rec NAME] [--threads N] IMAGE...`:
 * text lines with their boxes, one JSON line per image (the pipeline is in
 * src/infer/model_ocr.c). The model names let float and `vigil models
 * quantize`'s NAME-int8 be compared on the same images. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_models.h"
#include "vigil/clock.h"
#include "infer/model_ocr.h"
#include "vigil/image.h"

static int usage(FILE *out)
{
    fprintf(out, "usage: vigil ocr [--det NAME] [--cls NAME|none] [--rec NAME] [--threads N] IMAGE.jpg...\n"
                 "prints one JSON line per image: {\"image\":PATH,\"width\":W,\"height\":H,"
                 "\"lines\":[{\"text\":T,\"score\":S,\"box\":[x1,y1,...,x4,y4]}],\"ms\":T}\n"
                 "models (registry names, `vigil models list`): --det text detection (default ppocr_det),\n"
                 "--cls direction classifier (default ppocr_cls; none: lines are read as cut out),\n"
                 "--rec recognition (default ppocr_rec); e.g. --det ppocr_det-int8 --rec ppocr_rec-int8\n"
                 "after `vigil models quantize`. --threads: workers per model (default 1).\n"
                 "the float models come from `vigil models fetch`\n");
    return out == stdout ? CLI_OK : CLI_USAGE;
}

int cli_ocr_main(const cli_cmd_t *cmd, int argc, char **argv)
{
    (void)cmd;
    const char *det = "ppocr_det", *cls = "ppocr_cls", *rec = "ppocr_rec";
    int threads = 1, first = argc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout);
        if (!strcmp(argv[i], "--det") && i + 1 < argc) det = argv[++i];
        else if (!strcmp(argv[i], "--cls") && i + 1 < argc) cls = argv[++i];
        else if (!strcmp(argv[i], "--rec") && i + 1 < argc) rec = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--")) {
            first = i + 1;
            break;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            int known = !strcmp(argv[i], "--det") || !strcmp(argv[i], "--cls") || !strcmp(argv[i], "--rec") ||
                        !strcmp(argv[i], "--threads");
            fprintf(stderr, "vigil ocr: %s %s\n", known ? "missing value for" : "unknown option", argv[i]);
            return usage(stderr);
        } else {
            first = i;
            break;
        }
    }
    if (first >= argc) return usage(stderr);
    if (threads < 1 || threads > 64) {
        fprintf(stderr, "vigil ocr: --threads must be 1..64\n");
        return CLI_USAGE;
    }
    if (!strcmp(cls, "none")) cls = NULL;
    char err[512];
    vigil__ocr_t *ocr = vigil__ocr_open_models(det, cls, rec, threads, err, sizeof err);
    if (!ocr) {
        fprintf(stderr, "vigil ocr: %s\n", err);
        return CLI_FAIL;
    }
    vigil_jpeg_t *jpeg = vigil_jpeg_new();
    vigil_image_t img = {0};
    int rc = jpeg ? CLI_OK : CLI_FAIL;
    for (int i = first; jpeg && i < argc; i++) {
        if (cli_read_image(jpeg, "ocr", argv[i], &img)) {
            rc = CLI_FAIL;
            continue;
        }
        vigil__ocr_line_t *lines = NULL;
        size_t n = 0;
        double t0 = (double)vigil_mono_us() / 1e3;
        if (vigil__ocr_run(ocr, &img, &lines, &n, err, sizeof err)) {
            fprintf(stderr, "vigil ocr: %s: %s\n", argv[i], err);
            rc = CLI_FAIL;
            continue;
        }
        double ms = (double)vigil_mono_us() / 1e3 - t0;
        printf("{\"image\":");
        cli_json_string(stdout, argv[i]);
        printf(",\"width\":%d,\"height\":%d,\"lines\":[", img.width, img.height);
        for (size_t k = 0; k < n; k++) {
            printf("%s{\"text\":", k ? "," : "");
            cli_json_string(stdout, lines[k].text);
            printf(",\"score\":%.4f,\"box\":[", lines[k].score);
            for (int c = 0; c < 4; c++)
                printf("%s%.0f,%.0f", c ? "," : "", lines[k].quad.x[c], lines[k].quad.y[c]);
            printf("]}");
        }
        printf("],\"ms\":%.1f}\n", ms);
        fflush(stdout);
        free(lines);
    }
    vigil_image_release(&img);
    vigil_jpeg_free(jpeg);
    vigil__ocr_close(ocr);
    return rc;
}
