/* Unit tests of store URL dispatch, conf defaults, data dir creation, and
 * the per-operation metrics. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_unit_support.h"
#include "vigil/metrics.h"
#include "vigil/store.h"

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

static vigil_store_t *open_url(const char *url, const char *data_dir, char *err, size_t size)
{
    vigil_store_conf_t conf;
    vigil_store_conf_init(&conf);
    conf.url = url;
    conf.data_dir = data_dir;
    return vigil_store_open(&conf, err, size);
}

static void test_store_conf_init_defaults_to_sqlite_with_migrate(void **state)
{
    (void)state;
    vigil_store_conf_t conf;
    memset(&conf, 0x5a, sizeof(conf));
    vigil_store_conf_init(&conf);
    assert_string_equal(conf.url, "sqlite");
    assert_non_null(conf.data_dir);
    assert_int_equal(conf.busy_timeout_ms, 5000);
    assert_int_equal(conf.migrate, 1);
}

/* Built with libpq: a postgres url is opened (here: nothing listens on
 * port 1, so it is refused naming the address and not the password);
 * built without: refused as not built, the password redacted too. */
static void test_store_postgres_url_is_opened_or_refused_as_not_built(void **state)
{
    (void)state;
    const char *urls[] = {"postgres://vigil:s3cret-pw@127.0.0.1:1/vigil",
                          "postgresql://vigil:s3cret-pw@127.0.0.1:1/vigil"};
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/data", tmp);
    for (int i = 0; i < 2; i++) {
        char err[512] = "";
        assert_null(open_url(urls[i], dir, err, sizeof(err)));
#ifdef VIGIL_STORE_HAVE_POSTGRES
        if (!strstr(err, "127.0.0.1") || !strstr(err, "1")) fail_msg("%s", err);
#else
        assert_non_null(strstr(err, "postgres store not built into this binary"));
#endif
        if (strstr(err, "s3cret-pw")) fail_msg("the password is in the error: %s", err);
    }
}

static void test_store_unknown_or_empty_sqlite_url_is_refused(void **state)
{
    (void)state;
    char err[512] = "", dir[512];
    snprintf(dir, sizeof(dir), "%s/data", tmp);
    assert_null(open_url("redis://x", dir, err, sizeof(err)));
    assert_non_null(strstr(err, "redis://x"));
    assert_non_null(strstr(err, "sqlite:PATH"));
    assert_null(open_url("sqlite:", dir, err, sizeof(err)));
    assert_non_null(strstr(err, "sqlite:"));
}

static void test_store_sqlite_default_creates_data_dir_and_db_inside(void **state)
{
    (void)state;
    char err[512] = "", dir[512], db[600];
    snprintf(dir, sizeof(dir), "%s/a/b/data", tmp);
    vigil_store_t *s = open_url("sqlite", dir, err, sizeof(err));
    assert_non_null(s);
    snprintf(db, sizeof(db), "%s/vigil.db", dir);
    assert_true(su_exists(db));
    vigil_store_close(s);
}

static void test_store_sqlite_path_url_puts_db_there(void **state)
{
    (void)state;
    char err[512] = "", dir[512], db[600], url[700], inside[600];
    snprintf(dir, sizeof(dir), "%s/data", tmp);
    snprintf(db, sizeof(db), "%s/elsewhere.db", tmp);
    snprintf(url, sizeof(url), "sqlite:%s", db);
    vigil_store_t *s = open_url(url, dir, err, sizeof(err));
    assert_non_null(s);
    assert_true(su_exists(db));
    snprintf(inside, sizeof(inside), "%s/vigil.db", dir);
    assert_false(su_exists(inside));
    assert_true(su_exists(dir));
    vigil_store_close(s);
}

static void test_store_uncreatable_data_dir_is_refused_naming_it(void **state)
{
    (void)state;
    char err[512] = "", file[512], dir[600];
    snprintf(file, sizeof(file), "%s/plain", tmp);
    int fd = open(file, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    close(fd);
    snprintf(dir, sizeof(dir), "%s/data", file);
    assert_null(open_url("sqlite", dir, err, sizeof(err)));
    assert_non_null(strstr(err, dir));
    assert_non_null(strstr(err, "Not a directory"));
}

static void test_store_operations_are_counted_and_timed_by_op(void **state)
{
    (void)state;
    char err[512] = "", dir[512];
    snprintf(dir, sizeof(dir), "%s/data", tmp);
    vigil_store_t *s = open_url("sqlite", dir, err, sizeof(err));
    assert_non_null(s);
    uint64_t ops0 = vigil_metrics_sum("vigil_store_ops_total", "op", "frame_put", NULL, NULL);
    uint64_t errs0 = vigil_metrics_sum("vigil_store_errors_total", "op", "frame_put", NULL, NULL);
    vigil_histogram_t *h =
        vigil_metrics_histogram("vigil_store_seconds", "", "op", "frame_put", NULL, NULL);
    assert_non_null(h);
    uint64_t h0 = vigil_histogram_count(h);

    vigil_frame_row_t f;
    memset(&f, 0, sizeof(f));
    snprintf(f.camera_id, sizeof(f.camera_id), "cam");
    f.sequence = 1;
    f.capture_time_us = INT64_C(1788220800000000);
    const char jpeg[] = "\xff\xd8 not really";
    assert_int_equal(vigil_store_frame_put(s, &f, jpeg, sizeof(jpeg), err, sizeof(err)), VIGIL_OK);
    /* a failing put: frames/bad is a file */
    char bad[600];
    snprintf(bad, sizeof(bad), "%s/frames/bad", dir);
    int fd = open(bad, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    close(fd);
    snprintf(f.camera_id, sizeof(f.camera_id), "bad");
    assert_int_equal(vigil_store_frame_put(s, &f, jpeg, sizeof(jpeg), err, sizeof(err)),
                     VIGIL_ERR_IO);

    assert_int_equal(vigil_metrics_sum("vigil_store_ops_total", "op", "frame_put", NULL, NULL),
                     ops0 + 2);
    assert_int_equal(vigil_metrics_sum("vigil_store_errors_total", "op", "frame_put", NULL, NULL),
                     errs0 + 1);
    assert_int_equal(vigil_histogram_count(h), h0 + 2);
    vigil_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_conf_init_defaults_to_sqlite_with_migrate),
        cmocka_unit_test_setup_teardown(test_store_postgres_url_is_opened_or_refused_as_not_built, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_unknown_or_empty_sqlite_url_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_sqlite_default_creates_data_dir_and_db_inside,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_sqlite_path_url_puts_db_there, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_uncreatable_data_dir_is_refused_naming_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_operations_are_counted_and_timed_by_op, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
