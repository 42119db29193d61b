/* Unit tests of URL redaction (src/core/redact.c) and of the property
 * table's sensitive flag: every form of credential vigil accepts in a URL
 * is replaced, nothing else is touched, and no buffer size lets a part of a
 * secret through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/config.h"
#include "vigil/redact.h"

static void assert_redacted(const char *url, const char *want)
{
    char out[512];
    int red = vigil_url_redact(url, out, sizeof out);
    if (strcmp(out, want) != 0) fail_msg("redact(\"%s\") = \"%s\", want \"%s\"", url, out, want);
    assert_int_equal(red, strcmp(url, want) != 0);
}

static void test_redact_userinfo_password_keeps_the_user(void **state)
{
    assert_redacted("rtsp://user:hunter2@192.0.2.10:554/stream1",
                    "rtsp://user:***@192.0.2.10:554/stream1");
    assert_redacted("rtsp://admin:@cam/x", "rtsp://admin:***@cam/x");
    /* the last '@' of the authority ends the userinfo */
    assert_redacted("rtsp://user:pa@ss@cam/x", "rtsp://user:***@cam/x");
}

static void test_redact_userinfo_token_goes_whole(void **state)
{
    assert_redacted("rtsp://hunter2token@127.0.0.1:1/x", "rtsp://***@127.0.0.1:1/x");
    assert_redacted("https://hunter2@cam.example/mjpg", "https://***@cam.example/mjpg");
}

static void test_redact_secret_query_parameters(void **state)
{
    assert_redacted("http://cam.local/mjpg?password=hunter2", "http://cam.local/mjpg?password=***");
    assert_redacted("http://cam/v?user=bob&token=hunter2&fps=5",
                    "http://cam/v?user=bob&token=***&fps=5");
    assert_redacted("http://cam/v?key=hunter2", "http://cam/v?key=***");
    assert_redacted("http://cam/v?API_KEY=hunter2;pwd=hunter2#access_token=hunter2",
                    "http://cam/v?API_KEY=***;pwd=***#access_token=***");
    assert_redacted("kafka://b1:9092?sasl.password=hunter2&compression=lz4",
                    "kafka://b1:9092?sasl.password=***&compression=lz4");
    assert_redacted("http://u:hunter2@cam/v?Signature=hunter2",
                    "http://u:***@cam/v?Signature=***");
}

static void test_redact_file_path_with_a_query(void **state)
{
    assert_redacted("/videos/gate.mp4?token=hunter2", "/videos/gate.mp4?token=***");
    assert_redacted("file:///videos/gate.mp4?passwd=hunter2", "file:///videos/gate.mp4?passwd=***");
}

static void test_redact_leaves_urls_without_secrets_alone(void **state)
{
    const char *same[] = {
        "sample", "testsrc", "/videos/a@b.mp4", "http://cam/a@b?fps=5&user=bob",
        "rtsp://cam:554/stream1", "inproc://", "sqlite", "sqlite:/data/x.db",
        "kafka://b1:9092,b2:9092?compression=zstd", "http://cam/v?token", "http://cam/v?key=",
        "",
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) assert_redacted(same[i], same[i]);
    char out[8] = "x";
    assert_int_equal(vigil_url_redact(NULL, out, sizeof out), 0);
    assert_string_equal(out, "");
}

static void test_redact_no_buffer_size_lets_part_of_a_secret_through(void **state)
{
    const char *urls[] = {"rtsp://user:hunter2@host/x", "rtsp://hunter2@host/x",
                          "http://h/x?a=1&password=hunter2&b=2", "/x.mp4?token=hunter2"};
    char out[128];
    for (size_t u = 0; u < sizeof urls / sizeof urls[0]; u++)
        for (size_t size = 1; size <= strlen(urls[u]) + 8; size++) {
            memset(out, 'Z', sizeof out);
            vigil_url_redact(urls[u], out, size);
            assert_true(strlen(out) < size);
            for (size_t k = 2; k <= 7; k++) /* "hu".."hunter2": no fragment of it */
                if (strstr(out, strndupa("hunter2", k)))
                    fail_msg("size %zu: \"%s\" shows part of the secret", size, out);
        }
}

static void test_redact_text_finds_urls_in_a_line(void **state)
{
    char out[512];
    assert_int_equal(vigil_text_redact("cannot open rtsp://u:hunter2@h/x: refused (see "
                                       "\"http://c/m?token=hunter2\")",
                                       out, sizeof out),
                     1);
    assert_string_equal(out, "cannot open rtsp://u:***@h/x: refused (see \"http://c/m?token=***\")");
    assert_int_equal(vigil_text_redact("plain words, no url", out, sizeof out), 0);
    assert_string_equal(out, "plain words, no url");
}

static void test_redact_property_table_marks_urls_sensitive(void **state)
{
    const char *sensitive[] = {"cameras[].url", "bus.url", "store.url"};
    for (size_t i = 0; i < 3; i++) {
        const vigil_prop_t *p = vigil_prop_find(sensitive[i]);
        assert_non_null(p);
        assert_true(p->flags & VIGIL_PROP_SENSITIVE);
    }
    assert_false(vigil_prop_find("cameras[].name")->flags & VIGIL_PROP_SENSITIVE);
    assert_false(vigil_prop_find("http.listen")->flags & VIGIL_PROP_SENSITIVE);
    char out[128];
    assert_int_equal(vigil_prop_shown(vigil_prop_find("cameras[].url"), "rtsp://a:hunter2@h/",
                                      out, sizeof out),
                     1);
    assert_string_equal(out, "rtsp://a:***@h/");
    /* a row that is not sensitive is shown as it is */
    assert_int_equal(vigil_prop_shown(vigil_prop_find("cameras[].name"), "a:b@c?token=x", out,
                                      sizeof out),
                     0);
    assert_string_equal(out, "a:b@c?token=x");
}

static void test_redact_config_messages_never_show_a_secret(void **state)
{
    vigil_config_t cfg;
    char err[512];
    vigil_config_init(&cfg);
    for (int i = 0; i < VIGIL_CAMERAS_MAX; i++)
        assert_int_equal(vigil_config_add_source(&cfg, "sample", err, sizeof err), VIGIL_OK);
    assert_int_equal(vigil_config_add_source(&cfg, "rtsp://u:hunter2@h/x", err, sizeof err),
                     VIGIL_ERR_CONFIG);
    assert_null(strstr(err, "hunter2"));
    assert_non_null(strstr(err, "rtsp://u:***@h/x"));
    vigil_config_release(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact_userinfo_password_keeps_the_user),
        cmocka_unit_test(test_redact_userinfo_token_goes_whole),
        cmocka_unit_test(test_redact_secret_query_parameters),
        cmocka_unit_test(test_redact_file_path_with_a_query),
        cmocka_unit_test(test_redact_leaves_urls_without_secrets_alone),
        cmocka_unit_test(test_redact_no_buffer_size_lets_part_of_a_secret_through),
        cmocka_unit_test(test_redact_text_finds_urls_in_a_line),
        cmocka_unit_test(test_redact_property_table_marks_urls_sensitive),
        cmocka_unit_test(test_redact_config_messages_never_show_a_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
