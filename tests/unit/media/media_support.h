/* Helpers shared by the media unit tests: where the sample media lives. */
#ifndef VIGIL_TEST_MEDIA_SUPPORT_H
#define VIGIL_TEST_MEDIA_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/* Writes the path of sample file `name` into buf; returns 0 if it exists,
 * -1 (with a message printed) if the sample media is not installed. */
int media_path(const char *name, char *buf, size_t size);

/* Reads a whole file into a malloc'd buffer; NULL on failure. */
uint8_t *media_read_file(const char *path, size_t *len);

#endif
