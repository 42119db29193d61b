/* Unit tests of the whole-file reader (src/core/file.c): whole files with a
 * NUL after them, the size cap on regular files and on pipes, and failed
 * allocations reported as VIGIL_ERR_NOMEM instead of a truncated file.
 *
 * This binary is linked with -Wl,--wrap=malloc,--wrap=realloc (CMakeLists.txt)
 * so that a test can make the Nth allocation of file.c fail. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/file.h"

/* ---- allocation failures on demand ---------------------------------------- */
void *__real_malloc(size_t size);
void *__real_realloc(void *p, size_t size);
static int fail_after = -1; /* allocations left before one fails; -1: never */

static int alloc_fails(void)
{
    if (fail_after < 0) return 0;
    if (fail_after == 0) {
        fail_after = -1;
        return 1;
    }
    fail_after--;
    return 0;
}

void *__wrap_malloc(size_t size)
{
    return alloc_fails() ? NULL : __real_malloc(size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return alloc_fails() ? NULL : __real_realloc(p, size);
}

/* ---- helpers --------------------------------------------------------------- */
static char dir[256];
static char err[256];

static int setup(void **state)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof dir, "/tmp/vigil-test-file-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) fputc((int)('a' + i % 26), f);
    assert_int_equal(fclose(f), 0);
}

typedef struct writer {
    int fd;
    size_t n;
} writer_t;

static void *write_pipe(void *arg)
{
    writer_t *w = arg;
    char chunk[4096];
    size_t done = 0;
    while (done < w->n) {
        size_t k = w->n - done < sizeof chunk ? w->n - done : sizeof chunk;
        for (size_t i = 0; i < k; i++) chunk[i] = (char)('a' + (done + i) % 26);
        ssize_t r = write(w->fd, chunk, k);
        if (r <= 0) break; /* the reader gave up (EPIPE) */
        done += (size_t)r;
    }
    close(w->fd);
    return NULL;
}

/* Reads n bytes written into a pipe by a thread, with cap max. */
static vigil_err_t read_pipe(size_t n, size_t max, char **data, size_t *len)
{
    int fds[2];
    pthread_t th;
    assert_int_equal(pipe(fds), 0);
    writer_t w = {fds[1], n};
    assert_int_equal(pthread_create(&th, NULL, write_pipe, &w), 0);
    vigil_err_t e = vigil_file_read_fd(fds[0], "pipe", max, data, len, err, sizeof err);
    close(fds[0]);
    pthread_join(th, NULL);
    return e;
}

static void assert_pattern(const char *data, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (data[i] != (char)('a' + i % 26)) fail_msg("byte %zu differs", i);
    assert_int_equal(data[n], '\0');
}

/* ---- tests ----------------------------------------------------------------- */
static void test_file_read_returns_the_whole_file_followed_by_nul(void **state)
{
    char path[300], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/whole", dir);
    write_file(path, 200000);
    assert_int_equal(vigil_file_read(path, 1 << 20, &data, &len, err, sizeof err), VIGIL_OK);
    assert_int_equal(len, 200000);
    assert_pattern(data, len);
    free(data);
}

static void test_file_read_empty_file_is_an_empty_string(void **state)
{
    char path[300], *data = NULL;
    size_t len = 99;
    snprintf(path, sizeof path, "%s/empty", dir);
    write_file(path, 0);
    assert_int_equal(vigil_file_read(path, 10, &data, &len, err, sizeof err), VIGIL_OK);
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    free(data);
}

static void test_file_read_exactly_the_cap_is_accepted(void **state)
{
    char path[300], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/cap", dir);
    write_file(path, 1000);
    assert_int_equal(vigil_file_read(path, 1000, &data, &len, err, sizeof err), VIGIL_OK);
    assert_int_equal(len, 1000);
    free(data);
}

static void test_file_read_missing_file_is_not_found_with_the_path(void **state)
{
    char *data = (char *)"untouched";
    size_t len = 7;
    assert_int_equal(vigil_file_read("/nonexistent/vigil-file", 10, &data, &len, err, sizeof err),
                     VIGIL_ERR_NOT_FOUND);
    assert_string_equal(err, "/nonexistent/vigil-file: no such file");
    assert_string_equal(data, "untouched");
    assert_int_equal(len, 7);
}

static void test_file_read_directory_is_an_io_error(void **state)
{
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(vigil_file_read(dir, 1 << 20, &data, &len, err, sizeof err), VIGIL_ERR_IO);
    assert_non_null(strstr(err, "is a directory"));
    assert_null(data);
}

static void test_file_read_file_over_the_cap_is_refused_without_reading(void **state)
{
    char path[300], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/big", dir);
    write_file(path, 5000);
    fail_after = 0; /* any allocation would fail: the size alone must refuse it */
    vigil_err_t e = vigil_file_read(path, 4999, &data, &len, err, sizeof err);
    fail_after = -1;
    assert_int_equal(e, VIGIL_ERR_TOO_LARGE);
    assert_non_null(strstr(err, "larger than 4999 bytes"));
    assert_null(data);
}

static void test_file_read_pipe_is_read_to_its_end(void **state)
{
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(read_pipe(300000, 1 << 20, &data, &len), VIGIL_OK);
    assert_int_equal(len, 300000);
    assert_pattern(data, len);
    free(data);
}

static void test_file_read_pipe_over_the_cap_is_refused(void **state)
{
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(read_pipe(1 << 20, 100000, &data, &len), VIGIL_ERR_TOO_LARGE);
    assert_string_equal(err, "pipe: larger than 100000 bytes");
    assert_null(data);
}

static void test_file_read_failed_growth_is_nomem_not_a_truncated_file(void **state)
{
    char *data = NULL;
    size_t len = 0;
    /* the first buffer is allocated, the first realloc (at 64 KiB) fails */
    fail_after = 1;
    vigil_err_t e = read_pipe(200000, 1 << 20, &data, &len);
    fail_after = -1;
    assert_int_equal(e, VIGIL_ERR_NOMEM);
    assert_string_equal(err, "pipe: out of memory");
    assert_null(data);
    assert_int_equal(len, 0);
}

static void test_file_read_failed_first_allocation_is_nomem(void **state)
{
    char path[300], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/nomem", dir);
    write_file(path, 100);
    fail_after = 0;
    vigil_err_t e = vigil_file_read(path, 1000, &data, &len, err, sizeof err);
    fail_after = -1;
    assert_int_equal(e, VIGIL_ERR_NOMEM);
    assert_null(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_read_returns_the_whole_file_followed_by_nul),
        cmocka_unit_test(test_file_read_empty_file_is_an_empty_string),
        cmocka_unit_test(test_file_read_exactly_the_cap_is_accepted),
        cmocka_unit_test(test_file_read_missing_file_is_not_found_with_the_path),
        cmocka_unit_test(test_file_read_directory_is_an_io_error),
        cmocka_unit_test(test_file_read_file_over_the_cap_is_refused_without_reading),
        cmocka_unit_test(test_file_read_pipe_is_read_to_its_end),
        cmocka_unit_test(test_file_read_pipe_over_the_cap_is_refused),
        cmocka_unit_test(test_file_read_failed_growth_is_nomem_not_a_truncated_file),
        cmocka_unit_test(test_file_read_failed_first_allocation_is_nomem),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
