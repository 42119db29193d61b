/* Unit tests of the health registry (src/core/health.c) and of the error
 * classes (src/core/err.c) that decide what a failure does to it. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/err.h"
#include "vigil/health.h"

#define assert_contains(haystack, needle)                                                       \
    do {                                                                                        \
        if (!strstr((haystack), (needle)))                                                      \
            fail_msg("\"%s\" does not contain \"%s\"", (haystack), (needle));                  \
    } while (0)

static int setup(void **state)
{
    (void)state;
    vigil_health_reset();
    return 0;
}

static void test_health_is_ok_until_a_problem_and_again_once_cleared(void **state)
{
    char why[256], *json = vigil_health_json(NULL);
    assert_string_equal(json, "{\"status\":\"ok\"}\n");
    free(json);
    assert_int_equal(vigil_health_level(why, sizeof why), VIGIL_HEALTH_OK);
    assert_string_equal(why, "");

    vigil_health_set("preprocess", "lobby", VIGIL_HEALTH_DEGRADED,
                     "frames are not stored: \"disk\" full");
    vigil_health_set("preprocess", "lobby", VIGIL_HEALTH_DEGRADED, "frames are not stored: full");
    vigil_health_set("sink", NULL, VIGIL_HEALTH_DEGRADED, "cannot write detections, retrying");
    assert_int_equal(vigil_health_level(why, sizeof why), VIGIL_HEALTH_DEGRADED);
    size_t len = 0;
    json = vigil_health_json(&len);
    assert_int_equal(len, strlen(json));
    assert_contains(json, "{\"status\":\"degraded\",\"problems\":[");
    assert_contains(json, "{\"component\":\"preprocess\",\"camera\":\"lobby\",\"level\":"
                          "\"degraded\",\"error\":\"frames are not stored: full\",\"since\":\"");
    assert_contains(json, "\"count\":2}");
    assert_contains(json, "{\"component\":\"sink\",\"camera\":null,");
    free(json);

    vigil_health_clear("preprocess", "lobby");
    vigil_health_clear("preprocess", "lobby"); /* twice is fine */
    vigil_health_clear("sink", NULL);
    assert_int_equal(vigil_health_level(NULL, 0), VIGIL_HEALTH_OK);
}

static void test_health_failed_wins_and_names_the_component(void **state)
{
    char why[256];
    vigil_health_set("preprocess", "lobby", VIGIL_HEALTH_DEGRADED, "disk full");
    vigil_health_set("sink", NULL, VIGIL_HEALTH_FAILED, "stopped: no such table: detections");
    vigil_health_set("sink", NULL, VIGIL_HEALTH_DEGRADED, "retrying"); /* never back down */
    assert_int_equal(vigil_health_level(why, sizeof why), VIGIL_HEALTH_FAILED);
    assert_string_equal(why, "sink: stopped: no such table: detections");
    char *json = vigil_health_json(NULL);
    assert_contains(json, "\"status\":\"failed\"");
    free(json);
}

static void test_health_registry_is_bounded_and_says_how_many_it_did_not_keep(void **state)
{
    char camera[32];
    for (int i = 0; i < VIGIL_HEALTH_MAX + 10; i++) {
        snprintf(camera, sizeof camera, "cam%d", i);
        vigil_health_set("preprocess", camera, VIGIL_HEALTH_DEGRADED, "disk full");
    }
    char *json = vigil_health_json(NULL);
    assert_contains(json, ",\"more\":10}");
    free(json);
    /* a hostile error text stays valid JSON, cut to fit */
    char big[4096];
    memset(big, '"', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    vigil_health_reset();
    vigil_health_set("x", "y", VIGIL_HEALTH_DEGRADED, big);
    json = vigil_health_json(NULL);
    assert_contains(json, "\\\"\\\"");
    assert_contains(json, "\",\"since\":\"");
    assert_contains(json, "}]}\n");
    free(json);
}

static void *setter(void *arg)
{
    char camera[32];
    snprintf(camera, sizeof camera, "cam%d", (int)(intptr_t)arg);
    for (int i = 0; i < 2000; i++) {
        vigil_health_set("preprocess", camera, VIGIL_HEALTH_DEGRADED, "disk full");
        free(vigil_health_json(NULL));
        vigil_health_clear("preprocess", camera);
    }
    return NULL;
}

static void test_health_may_be_set_and_read_from_many_threads(void **state)
{
    pthread_t t[4];
    for (intptr_t i = 0; i < 4; i++) pthread_create(&t[i], NULL, setter, (void *)i);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    assert_int_equal(vigil_health_level(NULL, 0), VIGIL_HEALTH_OK);
}

static void test_err_classes_say_retry_skip_or_stop(void **state)
{
    const vigil_err_t retriable[] = {VIGIL_ERR_TIMED_OUT, VIGIL_ERR_FULL, VIGIL_ERR_AGAIN,
                                     VIGIL_ERR_IO,        VIGIL_ERR_NOMEM, VIGIL_ERR_BUS};
    const vigil_err_t refused[] = {VIGIL_ERR_INVALID, VIGIL_ERR_DECODE, VIGIL_ERR_TOO_LARGE,
                                   VIGIL_ERR_NOT_FOUND, VIGIL_ERR_EXISTS};
    const vigil_err_t fatal[] = {VIGIL_ERR_STORE, VIGIL_ERR_CONFIG, VIGIL_ERR_UNSUPPORTED,
                                 VIGIL_ERR_CLOSED};
    for (size_t i = 0; i < sizeof retriable / sizeof *retriable; i++) {
        assert_int_equal(vigil_err_class(retriable[i]), VIGIL_ERR_CLASS_RETRIABLE);
        assert_true(vigil_err_is_retriable(retriable[i]));
        assert_false(vigil_err_is_fatal(retriable[i]));
    }
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        assert_int_equal(vigil_err_class(refused[i]), VIGIL_ERR_CLASS_REFUSED);
        assert_false(vigil_err_is_retriable(refused[i]));
        assert_false(vigil_err_is_fatal(refused[i]));
    }
    for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++) {
        assert_int_equal(vigil_err_class(fatal[i]), VIGIL_ERR_CLASS_FATAL);
        assert_true(vigil_err_is_fatal(fatal[i]));
    }
    assert_int_equal(vigil_err_class(VIGIL_OK), VIGIL_ERR_CLASS_NONE);
    assert_int_equal(vigil_err_class((vigil_err_t)-99), VIGIL_ERR_CLASS_FATAL);
    assert_string_equal(vigil_err_class_name(VIGIL_ERR_CLASS_REFUSED), "refused");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, NULL)
    const struct CMUnitTest tests[] = {
        T(test_health_is_ok_until_a_problem_and_again_once_cleared),
        T(test_health_failed_wins_and_names_the_component),
        T(test_health_registry_is_bounded_and_says_how_many_it_did_not_keep),
        T(test_health_may_be_set_and_read_from_many_threads),
        T(test_err_classes_say_retry_skip_or_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
