/* vigil_file_read: a whole file into memory, bounded (vigil/file.h).
 *
 * Main idea: a regular file's size is known from fstat, so it is refused
 * before anything is read when it exceeds the cap, and read into one buffer
 * of its size plus one byte (the extra byte sees a file that grew meanwhile).
 * Pipes and other streams grow a buffer by doubling, never past cap + 1
 * bytes: reading byte cap + 1 proves the input too large. Every failure,
 * allocation included, frees what was read and returns an error; the caller
 * never sees part of a file. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/file.h"

#define STREAM_CHUNK ((size_t)64 << 10)

vigil_err_t vigil_file_read_fd(int fd, const char *name, size_t max_bytes, char **data,
                               size_t *len, char *errstr, size_t errstr_size)
{
    struct stat st;
    size_t cap = STREAM_CHUNK, n = 0;
    char *buf = NULL;
    vigil_err_t err;

    if (!name) name = "input";
    if (fd < 0 || !data || !len)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "%s: invalid arguments",
                            name);
    if (max_bytes > SIZE_MAX - 2) max_bytes = SIZE_MAX - 2;
    if (fstat(fd, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "%s: is a directory", name);
        if (S_ISREG(st.st_mode)) {
            if ((uintmax_t)st.st_size > (uintmax_t)max_bytes)
                return vigil_seterr(errstr, errstr_size, VIGIL_ERR_TOO_LARGE,
                                    "%s: larger than %zu bytes (%jd bytes)", name, max_bytes,
                                    (intmax_t)st.st_size);
            cap = (size_t)st.st_size + 1;
        }
    }
    if (cap > max_bytes + 1) cap = max_bytes + 1;
    if (!(buf = malloc(cap + 1))) goto nomem; /* + the NUL */
    for (;;) {
        if (n == cap) {
            if (n > max_bytes) {
                err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_TOO_LARGE,
                                   "%s: larger than %zu bytes", name, max_bytes);
                goto fail;
            }
            size_t grown = cap > (max_bytes + 1) / 2 ? max_bytes + 1 : cap * 2;
            char *nb = realloc(buf, grown + 1);
            if (!nb) goto nomem;
            buf = nb;
            cap = grown;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "%s: cannot read: %s", name,
                               strerror(errno));
            goto fail;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return VIGIL_OK;
nomem:
    err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory", name);
fail:
    free(buf);
    return err;
}

vigil_err_t vigil_file_read(const char *path, size_t max_bytes, char **data, size_t *len,
                            char *errstr, size_t errstr_size)
{
    if (!path || !*path)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "empty file name");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "%s: no such file",
                                path);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "%s: cannot open: %s", path,
                            strerror(errno));
    }
    vigil_err_t err = vigil_file_read_fd(fd, path, max_bytes, data, len, errstr, errstr_size);
    close(fd);
    return err;
}
