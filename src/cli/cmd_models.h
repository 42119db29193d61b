/* Helpers shared by the model commands (cmd_models.c, cmd_ocr.c). */
#ifndef VIGIL_CLI_CMD_MODELS_H
#define VIGIL_CLI_CMD_MODELS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes s as a JSON string (quoted, escaped; UTF-8 passes through). */
void cli_json_string(FILE *out, const char *s);
/* Reads a whole file (malloc'd into *data); -1 with errno on failure. */
int cli_read_file(const char *path, uint8_t **data, size_t *len);
/* Monotonic milliseconds. */
double cli_now_ms(void);

#endif
