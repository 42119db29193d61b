/* Unit tests of the frame file tree (src/store/framefs.c): path layout in
 * UTC, atomic writes that leave nothing behind on failure, reads, removal
 * and pruning of emptied time directories. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store_int.h"
#include "store_unit_support.h"

static char tmp[256];

static int setup(void **state)
{
    (void)state;
    return su_tmpdir(tmp, sizeof(tmp));
}

static int teardown(void **state)
{
    (void)state;
    su_rmrf(tmp);
    return 0;
}

static void test_store_framefs_path_is_camera_then_utc_hour(void **state)
{
    (void)state;
    char p[512];
    /* 2026-11-21T05:31:02.123Z, whatever the local time zone */
    setenv("TZ", "Asia/Kolkata", 1);
    assert_int_equal(vigil__framefs_path("lobby", INT64_C(1795239062123000), 812, p, sizeof(p)), 0);
    assert_string_equal(p, "frames/lobby/2026/11/21/05/812.jpg");
    /* just before the epoch still names a real hour */
    assert_int_equal(vigil__framefs_path("c", -1, 0, p, sizeof(p)), 0);
    assert_string_equal(p, "frames/c/1969/12/31/23/0.jpg");
    assert_int_equal(vigil__framefs_path("c", 0, UINT64_MAX, p, sizeof(p)), 0);
    assert_string_equal(p, "frames/c/1970/01/01/00/18446744073709551615.jpg");
    assert_int_equal(vigil__framefs_path("c", 0, 1, p, 10), -1);
    unsetenv("TZ");
}

static void test_store_framefs_write_then_read_round_trips(void **state)
{
    (void)state;
    char err[512] = "";
    unsigned char data[10000];
    for (size_t i = 0; i < sizeof(data); i++) data[i] = (unsigned char)(i * 7);
    const char *rel = "frames/cam/2026/11/21/05/1.jpg";
    assert_int_equal(vigil__framefs_write(tmp, rel, data, sizeof(data), err, sizeof(err)),
                     VIGIL_OK);
    void *back = NULL;
    size_t len = 0;
    assert_int_equal(vigil__framefs_read(tmp, rel, &back, &len, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(len, sizeof(data));
    assert_memory_equal(back, data, sizeof(data));
    free(back);
    /* overwriting replaces the whole file */
    assert_int_equal(vigil__framefs_write(tmp, rel, data, 10, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil__framefs_read(tmp, rel, &back, &len, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(len, 10);
    free(back);
    assert_int_equal(vigil__framefs_read(tmp, "frames/cam/none.jpg", &back, &len, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_null(back);
    assert_non_null(strstr(err, "frames/cam/none.jpg"));
}

static void test_store_framefs_failed_write_leaves_no_file_and_names_path(void **state)
{
    (void)state;
    char err[512] = "", file[512];
    snprintf(file, sizeof(file), "%s/frames", tmp);
    int fd = open(file, O_WRONLY | O_CREAT, 0644); /* frames is a file: no dirs below */
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(vigil__framefs_write(tmp, "frames/cam/2026/01/01/00/5.jpg", "x", 1, err,
                                          sizeof(err)),
                     VIGIL_ERR_IO);
    assert_non_null(strstr(err, "frames/cam/2026/01/01/00/5.jpg"));
    assert_non_null(strstr(err, strerror(ENOTDIR)));
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_size, 0);
}

static void test_store_framefs_remove_and_prune_only_empty_time_dirs(void **state)
{
    (void)state;
    char err[512] = "", p[600];
    const char *a = "frames/cam/2026/11/21/05/1.jpg", *b = "frames/cam/2026/11/21/06/2.jpg";
    assert_int_equal(vigil__framefs_write(tmp, a, "a", 1, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil__framefs_write(tmp, b, "b", 1, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil__framefs_remove(tmp, a), 1);
    assert_int_equal(vigil__framefs_remove(tmp, a), 0); /* already gone is not an error */
    vigil__framefs_prune(tmp, a);
    snprintf(p, sizeof(p), "%s/frames/cam/2026/11/21/05", tmp);
    assert_false(su_exists(p));
    snprintf(p, sizeof(p), "%s/frames/cam/2026/11/21/06", tmp); /* a sibling hour stays */
    assert_true(su_exists(p));
    assert_int_equal(vigil__framefs_remove(tmp, b), 1);
    vigil__framefs_prune(tmp, b);
    snprintf(p, sizeof(p), "%s/frames/cam/2026", tmp);
    assert_false(su_exists(p));
    snprintf(p, sizeof(p), "%s/frames/cam", tmp); /* the camera dir is kept */
    assert_true(su_exists(p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_framefs_path_is_camera_then_utc_hour),
        cmocka_unit_test_setup_teardown(test_store_framefs_write_then_read_round_trips, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_store_framefs_failed_write_leaves_no_file_and_names_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_framefs_remove_and_prune_only_empty_time_dirs,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
