/* `vigil ocr IMAGE...`: text lines with their boxes, one JSON line per image
 * (the pipeline is in src/infer/model_ocr.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_models.h"
#include "vigil/clock.h"
#include "infer/model_ocr.h"
#include "vigil/image.h"

int cli_ocr_main(const cli_cmd_t *cmd, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        FILE *out = argc < 2 ? stderr : stdout;
        fprintf(out, "usage: vigil ocr IMAGE.jpg...\n"
                     "prints one JSON line per image: {\"image\":PATH,\"width\":W,\"height\":H,"
                     "\"lines\":[{\"text\":T,\"score\":S,\"box\":[x1,y1,...,x4,y4]}],\"ms\":T}\n"
                     "models: ppocr_det, ppocr_cls, ppocr_rec (`vigil models fetch`)\n");
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    char err[512];
    vigil__ocr_t *ocr = vigil__ocr_open(1, err, sizeof err);
    if (!ocr) {
        fprintf(stderr, "vigil ocr: %s\n", err);
        return CLI_FAIL;
    }
    vigil_jpeg_t *jpeg = vigil_jpeg_new();
    vigil_image_t img = {0};
    int rc = jpeg ? CLI_OK : CLI_FAIL;
    for (int i = 1; jpeg && i < argc; i++) {
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
