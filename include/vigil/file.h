/* Reading a whole file into memory, with a size cap.
 *
 * One helper for every "read the file" in vigil (config YAML, model registry
 * entries, model graphs and weights, images and tensors given to the CLI,
 * rules files, stdin): the file either comes back whole, or the call fails
 * with a reason. A file larger than max_bytes is refused before more than
 * max_bytes + 1 bytes are read (outside input cannot make vigil allocate
 * what it asks for); a failed allocation is VIGIL_ERR_NOMEM, never a
 * truncated file returned as success.
 *
 * Thread: any. */
#ifndef VIGIL_FILE_H
#define VIGIL_FILE_H

#include <stddef.h>

#include "vigil/err.h"

/* Reads the file at path into *data (malloc'd; the caller frees it) and its
 * size into *len. A NUL byte follows the data (not counted in *len), so text
 * parsers may use *data as a string. max_bytes is the largest size accepted
 * (SIZE_MAX - 1 at most).
 *
 * Errors, with "PATH: reason" in errstr; *data and *len are untouched:
 *   VIGIL_ERR_NOT_FOUND  no such file
 *   VIGIL_ERR_IO         cannot open (permissions, a directory) or read
 *   VIGIL_ERR_TOO_LARGE  larger than max_bytes ("larger than 4194304 bytes")
 *   VIGIL_ERR_NOMEM      out of memory */
vigil_err_t vigil_file_read(const char *path, size_t max_bytes, char **data, size_t *len,
                            char *errstr, size_t errstr_size);

/* The same from an open descriptor (a pipe, stdin: fd 0), read to its end.
 * `name` names it in messages. The descriptor is not closed. */
vigil_err_t vigil_file_read_fd(int fd, const char *name, size_t max_bytes, char **data,
                               size_t *len, char *errstr, size_t errstr_size);

#endif
