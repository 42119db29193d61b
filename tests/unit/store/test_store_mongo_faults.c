/* Faults of the MongoDB store on a real server (a FerretDB of its own,
 * scripts/ferretdb, on VIGIL_FERRET_PORT + 50 wrapped into 27100-27199):
 * a wrong password and an unreachable host fail the open naming the host and
 * never the password; a server stopped under a writer makes the write fail
 * retriable (VIGIL_ERR_AGAIN), and the same batch written again once the
 * server is back lands once.
 *
 * Exits 77 (skipped) when the store is not built with MongoDB or no server
 * starts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_backend.h"
#include "vigil/store.h"

static char mf_port[16], mf_dir[128], mf_url[1024], mf_data[256];

/* Runs `scripts/ferretdb VERB` on this test's server; the last line in last. */
static int mf_script(const char *verb, char *last, size_t last_size)
{
    char env[256];
    snprintf(env, sizeof(env), "VIGIL_FERRET_PORT=%s VIGIL_FERRET_DIR=%s", mf_port, mf_dir);
    return vigil_test_server_script(env, "ferretdb", verb, last, last_size);
}

static vigil_store_t *mf_open(const char *url, char *err, size_t err_size)
{
    vigil_store_conf_t conf;
    vigil_store_conf_init(&conf);
    conf.url = url;
    conf.data_dir = mf_data;
    conf.migrate = 1;
    return vigil_store_open(&conf, err, err_size);
}

static void test_mongo_wrong_password_is_refused_naming_the_host_not_the_password(void **state)
{
    (void)state;
    char url[1024], err[512] = "";
    const char *at = strchr(mf_url, '@');
    assert_non_null(at);
    snprintf(url, sizeof(url), "mongodb://vigil:WrongSecret42%s", at);
    vigil_store_t *s = mf_open(url, err, sizeof(err));
    assert_null(s);
    print_message("wrong password: %s\n", err);
    char host[64];
    snprintf(host, sizeof(host), "127.0.0.1:%s", mf_port);
    assert_non_null(strstr(err, host));
    assert_non_null(strstr(err, "login refused"));
    assert_null(strstr(err, "WrongSecret42"));
}

static void test_mongo_unreachable_host_fails_fast_naming_it_not_the_password(void **state)
{
    (void)state;
    char err[512] = "";
    vigil_store_t *s = mf_open("mongodb://vigil:TopSecret99@127.0.0.1:1/vigil?"
                               "serverSelectionTimeoutMS=1000",
                               err, sizeof(err));
    assert_null(s);
    print_message("unreachable: %s\n", err);
    assert_non_null(strstr(err, "127.0.0.1:1"));
    assert_non_null(strstr(err, "cannot connect"));
    assert_null(strstr(err, "TopSecret99"));
}

static void test_mongo_server_stopped_mid_stream_is_retriable_and_nothing_doubles(void **state)
{
    (void)state;
    char err[512] = "";
    vigil_store_t *s = mf_open(mf_url, err, sizeof(err));
    if (!s) fail_msg("open: %s", err);
    vigil_detection_row_t rows[20];
    memset(rows, 0, sizeof(rows));
    for (int i = 0; i < 20; i++) {
        snprintf(rows[i].camera_id, sizeof(rows[i].camera_id), "fault-cam");
        rows[i].sequence = (uint64_t)(i / 4 + 1);
        rows[i].capture_time_us = INT64_C(1788220800000000) + i;
        snprintf(rows[i].model, sizeof(rows[i].model), "m");
        rows[i].idx = i % 4;
        snprintf(rows[i].label, sizeof(rows[i].label), "person");
        rows[i].score = 0.5f;
    }
    size_t inserted = 0;
    assert_int_equal(vigil_store_detections_put(s, rows, 10, &inserted, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(inserted, 10);
    assert_int_equal(mf_script("down", NULL, 0), 0);
    vigil_err_t e = vigil_store_detections_put(s, rows, 20, &inserted, err, sizeof(err));
    print_message("server down: %s\n", err);
    assert_int_equal(e, VIGIL_ERR_AGAIN);
    char password[128];
    const char *colon = strchr(mf_url + 10, ':'), *at = strchr(mf_url, '@');
    assert_true(colon && at && at > colon);
    snprintf(password, sizeof(password), "%.*s", (int)(at - colon - 1), colon + 1);
    assert_null(strstr(err, password));
    char url[1024];
    assert_int_equal(mf_script("start", url, sizeof(url)), 0);
    /* the writer retries the whole batch: the 10 new rows land, none twice */
    int tries = 0;
    do {
        e = vigil_store_detections_put(s, rows, 20, &inserted, err, sizeof(err));
        if (e == VIGIL_ERR_AGAIN) usleep(200000);
    } while (e == VIGIL_ERR_AGAIN && ++tries < 50);
    if (e) fail_msg("after restart: %s", err);
    assert_int_equal(inserted, 10);
    vigil_store_counts_t c;
    assert_int_equal(vigil_store_counts(s, "fault-cam", &c), VIGIL_OK);
    assert_int_equal(c.detections, 20);
    vigil_store_close(s);
}

int main(void)
{
#ifndef VIGIL_STORE_HAVE_MONGO
    fprintf(stderr, "SKIP: the MongoDB store is not built into this tree\n");
    return 77;
#else
    const char *p = getenv("VIGIL_FERRET_PORT");
    int base = p && *p ? atoi(p) : 27141;
    snprintf(mf_port, sizeof(mf_port), "%d", 27100 + (base - 27100 + 50) % 100);
    snprintf(mf_dir, sizeof(mf_dir), "/tmp/vigil-ferret-faults-%s", mf_port);
    snprintf(mf_data, sizeof(mf_data), "/tmp/vigil-ferret-faults-data-%s", mf_port);
    mf_script("stop", NULL, 0);
    if (mf_script("start", mf_url, sizeof(mf_url)) != 0 || strncmp(mf_url, "mongodb://", 10)) {
        fprintf(stderr, "SKIP: scripts/ferretdb start could not start FerretDB on port %s\n",
                mf_port);
        mf_script("stop", NULL, 0);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mongo_wrong_password_is_refused_naming_the_host_not_the_password),
        cmocka_unit_test(test_mongo_unreachable_host_fails_fast_naming_it_not_the_password),
        cmocka_unit_test(test_mongo_server_stopped_mid_stream_is_retriable_and_nothing_doubles),
    };
    int rc = cmocka_run_group_tests_name("store_mongo_faults", tests, NULL, NULL);
    mf_script("stop", NULL, 0);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", mf_data);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", mf_data);
    return rc;
#endif
}
