/* Frame JPEGs on disk: DATA_DIR/frames/CAMERA/YYYY/MM/DD/HH/SEQUENCE.jpg.
 *
 * The main idea: a file appears at its final path only complete. It is
 * written to a temp file in the same directory and renamed into place; on any
 * failure the temp file is unlinked, so a full or read-only disk leaves
 * nothing behind. No fsync: a frame lost to a power cut is acceptable, a
 * torn one is not (rename is atomic; the row is written after the rename).
 *
 * Sweeps remove files and then the hour/day/month/year directories that
 * became empty. Because a sweep may rmdir a directory a concurrent writer has
 * just created, the writer retries the mkdir+open a few times on ENOENT.
 *
 * Thread: every function may be called from any thread. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store_int.h"

static atomic_uint_fast64_t framefs_tmp_counter;

static vigil_err_t framefs_errno_err(int e)
{
    return (e == ENOSPC || e == EDQUOT || e == EFBIG) ? VIGIL_ERR_FULL : VIGIL_ERR_IO;
}

int vigil__framefs_path(const char *camera_id, int64_t capture_time_us, uint64_t sequence,
                        char *out, size_t out_size)
{
    /* floor division so that times before 1970 still land in a valid hour */
    int64_t s = capture_time_us / 1000000;
    if (capture_time_us % 1000000 < 0) s--;
    time_t t = (time_t)s;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) return -1;
    int n = snprintf(out, out_size, "frames/%s/%04d/%02d/%02d/%02d/%" PRIu64 ".jpg", camera_id,
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, sequence);
    return (n < 0 || (size_t)n >= out_size) ? -1 : 0;
}

int vigil__mkdirs(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST) return -1;
        buf[i] = saved;
    }
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* Writes all of data to fd; -1 with errno on failure. */
static int framefs_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (w == 0) {
            errno = ENOSPC;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

vigil_err_t vigil__framefs_write(const char *data_dir, const char *relpath, const void *data,
                                 size_t len, char *errstr, size_t errstr_size)
{
    char full[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX];
    int fd = -1, e = 0;
    const char *what = "write";
    int n = snprintf(full, sizeof(full), "%s/%s", data_dir, relpath);
    if (n < 0 || (size_t)n >= sizeof(full))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "frame path too long: %s/%s",
                            data_dir, relpath);
    memcpy(dir, full, (size_t)n + 1);
    char *slash = strrchr(dir, '/');
    *slash = '\0';
    n = snprintf(tmp, sizeof(tmp), "%s/.%s.tmp-%ld-%" PRIuFAST64, dir, slash + 1, (long)getpid(),
                 (uint_fast64_t)atomic_fetch_add(&framefs_tmp_counter, 1));
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "frame path too long: %s", full);

    for (int attempt = 0; attempt < 4 && fd < 0; attempt++) {
        if (vigil__mkdirs(dir, 0755) != 0) {
            e = errno;
            what = "create directory for";
            if (e == ENOENT) continue; /* a sweep pruned a parent meanwhile */
            goto fail;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
            e = errno;
            what = "create";
            if (e != ENOENT) goto fail;
        }
    }
    if (fd < 0) goto fail;
    what = "write";
    if (framefs_write_all(fd, data, len) != 0) {
        e = errno;
        goto fail_unlink;
    }
    if (close(fd) != 0) {
        fd = -1;
        e = errno;
        goto fail_unlink;
    }
    fd = -1;
    if (rename(tmp, full) != 0) {
        e = errno;
        what = "rename into place";
        goto fail_unlink;
    }
    return VIGIL_OK;

fail_unlink:
    if (fd >= 0) close(fd);
    unlink(tmp);
fail:
    return vigil_seterr(errstr, errstr_size, framefs_errno_err(e), "cannot %s frame file %s: %s",
                        what, full, strerror(e));
}

vigil_err_t vigil__framefs_read(const char *data_dir, const char *relpath, void **data,
                                size_t *len, char *errstr, size_t errstr_size)
{
    char full[PATH_MAX];
    char *buf = NULL;
    int e = 0;
    vigil_err_t err = VIGIL_ERR_IO;
    *data = NULL;
    *len = 0;
    int n = snprintf(full, sizeof(full), "%s/%s", data_dir, relpath);
    if (n < 0 || (size_t)n >= sizeof(full))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "frame path too long: %s/%s",
                            data_dir, relpath);
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        e = errno;
        if (e == ENOENT) err = VIGIL_ERR_NOT_FOUND;
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        e = errno;
        goto fail;
    }
    size_t size = (size_t)st.st_size, got = 0;
    buf = malloc(size ? size : 1);
    if (!buf) {
        e = ENOMEM;
        err = VIGIL_ERR_NOMEM;
        goto fail;
    }
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            e = errno;
            goto fail;
        }
        if (r == 0) break; /* truncated under us: return what is there */
        got += (size_t)r;
    }
    close(fd);
    *data = buf;
    *len = got;
    return VIGIL_OK;

fail:
    if (fd >= 0) close(fd);
    free(buf);
    return vigil_seterr(errstr, errstr_size, err, "cannot read frame file %s: %s", full,
                        strerror(e));
}

int vigil__framefs_remove(const char *data_dir, const char *relpath)
{
    char full[PATH_MAX];
    int n = snprintf(full, sizeof(full), "%s/%s", data_dir, relpath);
    if (n < 0 || (size_t)n >= sizeof(full)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (unlink(full) == 0) return 1;
    return errno == ENOENT ? 0 : -1;
}

void vigil__framefs_prune(const char *data_dir, const char *relpath)
{
    char full[PATH_MAX];
    int n = snprintf(full, sizeof(full), "%s/%s", data_dir, relpath);
    if (n < 0 || (size_t)n >= sizeof(full)) return;
    /* frames/CAMERA/YYYY/MM/DD/HH/SEQ.jpg: only the four time levels go */
    for (int level = 0; level < 4; level++) {
        char *slash = strrchr(full, '/');
        if (!slash) return;
        *slash = '\0';
        if (rmdir(full) != 0) return;
    }
}
