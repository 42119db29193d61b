/* Helpers shared by the model commands (cmd_models.c, cmd_ocr.c). */
#ifndef VIGIL_CLI_CMD_MODELS_H
#define VIGIL_CLI_CMD_MODELS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vigil/image.h"

/* Writes s as a JSON string (quoted, escaped; UTF-8 passes through). */
void cli_json_string(FILE *out, const char *s);
/* Reads the JPEG file at path and decodes it to RGB into img (reused across
 * calls). On failure prints "vigil CMD: PATH: why" and returns -1. */
int cli_read_image(vigil_jpeg_t *jpeg, const char *cmd, const char *path, vigil_image_t *img);

/* `vigil models quantize ...` (cmd_quantize.c); argv[0] is "quantize". */
int cli_models_quantize(int argc, char **argv);

#endif
