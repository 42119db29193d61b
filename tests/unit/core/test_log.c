/* Unit tests of JSON-lines logging (src/core/log.c): the shape of a record,
 * escaping, extra fields, level filtering and counts, and repeated errors
 * held back with a count (vigil_log_limited). Records are captured
 * through a pipe given to vigil_log_set_fd(). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/log.h"

static int fds[2];
static char out[16384];

static int setup(void **state)
{
    if (pipe(fds) != 0) return -1;
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    vigil_log_set_fd(fds[1]);
    vigil_log_set_level(VIGIL_LOG_DEBUG);
    return 0;
}

static int teardown(void **state)
{
    vigil_log_set_fd(2);
    vigil_log_set_level(VIGIL_LOG_INFO);
    close(fds[0]);
    close(fds[1]);
    return 0;
}

/* Everything written so far (NUL-terminated in `out`). */
static const char *drain(void)
{
    size_t n = 0;
    ssize_t r;
    while (n + 1 < sizeof(out) && (r = read(fds[0], out + n, sizeof(out) - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    return out;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

#define assert_contains(haystack, needle)                                                       \
    do {                                                                                        \
        if (!strstr((haystack), (needle)))                                                      \
            fail_msg("\"%s\" does not contain \"%s\"", (haystack), (needle));                  \
    } while (0)

static void test_log_record_is_one_json_line(void **state)
{
    vigil_info("ingest", "lobby", "opened %s at %d fps", "rtsp://x", 5);
    const char *line = drain();
    assert_int_equal(count_lines(line), 1);
    assert_true(strncmp(line, "{\"ts\":\"", 7) == 0);
    /* ts is RFC 3339 UTC with milliseconds: "YYYY-MM-DDTHH:MM:SS.mmmZ" */
    assert_int_equal(line[7 + 4], '-');
    assert_int_equal(line[7 + 10], 'T');
    assert_int_equal(line[7 + 19], '.');
    assert_int_equal(line[7 + 23], 'Z');
    assert_int_equal(line[7 + 24], '"');
    assert_contains(line, ",\"level\":\"info\",\"stage\":\"ingest\",\"camera\":\"lobby\","
                          "\"msg\":\"opened rtsp://x at 5 fps\"}\n");
}

static void test_log_omits_missing_stage_and_camera(void **state)
{
    vigil_warn(NULL, NULL, "plain");
    const char *line = drain();
    assert_null(strstr(line, "\"stage\""));
    assert_null(strstr(line, "\"camera\""));
    assert_contains(line, "\"level\":\"warn\",\"msg\":\"plain\"}\n");
}

static void test_log_escapes_quotes_backslashes_and_control_characters(void **state)
{
    vigil_error("api", "cam\"0", "say \"hi\"\\ now\nnext\tcol\x01");
    const char *line = drain();
    assert_int_equal(count_lines(line), 1); /* the newline in msg is escaped */
    assert_contains(line, "\"camera\":\"cam\\\"0\"");
    assert_contains(line, "\"msg\":\"say \\\"hi\\\"\\\\ now\\nnext\\u0009col\\u0001\"}");
}

static void test_log_appends_extra_fields(void **state)
{
    VIGIL_LOGF(VIGIL_LOG_INFO, "sink", "lobby", "\"seq\":12,\"bytes\":300", "wrote %d rows", 3);
    const char *line = drain();
    assert_contains(line, "\"msg\":\"wrote 3 rows\",\"seq\":12,\"bytes\":300}\n");
}

static int evaluated;
static int side_effect(void)
{
    evaluated++;
    return 1;
}

static void test_log_level_filters_records_and_skips_arguments(void **state)
{
    vigil_log_set_level(VIGIL_LOG_WARN);
    unsigned long infos = vigil_log_count(VIGIL_LOG_INFO);
    unsigned long warns = vigil_log_count(VIGIL_LOG_WARN);
    evaluated = 0;
    vigil_debug("x", NULL, "debug %d", side_effect());
    vigil_info("x", NULL, "info %d", side_effect());
    assert_int_equal(evaluated, 0); /* arguments of filtered records are not evaluated */
    /* a direct call below the level is filtered too */
    vigil_log_write(VIGIL_LOG_INFO, "x", NULL, NULL, "direct");
    vigil_warn("x", NULL, "warned");
    vigil_error("x", NULL, "failed");
    const char *text = drain();
    assert_int_equal(count_lines(text), 2);
    assert_null(strstr(text, "\"level\":\"info\""));
    assert_null(strstr(text, "\"level\":\"debug\""));
    assert_contains(text, "\"msg\":\"warned\"");
    assert_contains(text, "\"msg\":\"failed\"");
    assert_int_equal(vigil_log_count(VIGIL_LOG_INFO), infos);
    assert_int_equal(vigil_log_count(VIGIL_LOG_WARN), warns + 1);

    vigil_log_set_level(VIGIL_LOG_OFF);
    vigil_error("x", NULL, "silenced");
    assert_string_equal(drain(), "");
}

static void test_log_long_message_stays_one_complete_line(void **state)
{
    char big[3000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    vigil_info("x", NULL, "%s", big);
    const char *line = drain();
    assert_int_equal(count_lines(line), 1);
    size_t n = strlen(line);
    assert_true(n > 2000);
    assert_string_equal(line + n - 3, "\"}\n");
}

static void test_log_level_names_parse_both_ways(void **state)
{
    assert_int_equal(vigil_log_level_parse("debug"), VIGIL_LOG_DEBUG);
    assert_int_equal(vigil_log_level_parse("info"), VIGIL_LOG_INFO);
    assert_int_equal(vigil_log_level_parse("warn"), VIGIL_LOG_WARN);
    assert_int_equal(vigil_log_level_parse("warning"), VIGIL_LOG_WARN);
    assert_int_equal(vigil_log_level_parse("error"), VIGIL_LOG_ERROR);
    assert_int_equal(vigil_log_level_parse("off"), VIGIL_LOG_OFF);
    assert_int_equal(vigil_log_level_parse("loud"), -1);
    assert_int_equal(vigil_log_level_parse(NULL), -1);
    assert_string_equal(vigil_log_level_name(VIGIL_LOG_ERROR), "error");
}

static void test_log_repeated_error_is_one_record_per_interval_with_its_count(void **state)
{
    vigil_log_limit_t lim = {.interval_us = 200000};
    /* a run of similar errors (they differ in numbers only) */
    for (int i = 0; i < 50; i++)
        vigil_log_limited(&lim, VIGIL_LOG_ERROR, "preprocess", "lobby", "\"sequence\":1",
                          "sequence %d: cannot store frame 2026/12/%02d/%d.jpg: disk full", 1000 + i,
                          i % 28 + 1, 1000 + i);
    const char *s = drain();
    assert_int_equal(count_lines(s), 1); /* the first only */
    assert_contains(s, "sequence 1000: cannot store frame");

    /* after the interval the next one ends the run: the run's record, with
     * its count, then the new one */
    usleep(250000);
    vigil_log_limited(&lim, VIGIL_LOG_ERROR, "preprocess", "lobby", NULL,
                      "sequence %d: cannot store frame 2026/12/01/%d.jpg: disk full", 2000, 2000);
    s = drain();
    assert_int_equal(count_lines(s), 2);
    assert_contains(s, "sequence 1049: cannot store frame 2026/12/22/1049.jpg: disk full "
                       "(repeated 49 times in ");
    assert_contains(s, "\"sequence\":1,\"repeated\":49}");
    assert_contains(s, "\"camera\":\"lobby\"");
    assert_contains(s, "sequence 2000: cannot store frame");

    /* a different message ends a run at once, and a flush ends the last */
    vigil_log_limited(&lim, VIGIL_LOG_ERROR, "preprocess", "lobby", NULL, "sequence 2001: x");
    vigil_log_limited(&lim, VIGIL_LOG_ERROR, "preprocess", "lobby", NULL, "sequence 2002: x");
    vigil_log_limited(&lim, VIGIL_LOG_ERROR, "preprocess", "lobby", NULL, "sequence 2003: x");
    s = drain();
    assert_int_equal(count_lines(s), 1);
    assert_contains(s, "sequence 2001: x");
    vigil_log_limit_flush(&lim);
    s = drain();
    assert_int_equal(count_lines(s), 1);
    assert_contains(s, "sequence 2003: x (repeated 2 times in 1 s)");
    vigil_log_limit_flush(&lim); /* nothing held back: nothing written */
    assert_int_equal(count_lines(drain()), 0);

    /* the same text for another camera is not the same error */
    vigil_log_limited(&lim, VIGIL_LOG_ERROR, "preprocess", "yard", NULL, "sequence 2003: x");
    assert_int_equal(count_lines(drain()), 1);

    /* below the level: neither written nor counted */
    vigil_log_set_level(VIGIL_LOG_OFF);
    vigil_log_limited(&lim, VIGIL_LOG_ERROR, "preprocess", "yard", NULL, "sequence 2004: x");
    vigil_log_set_level(VIGIL_LOG_DEBUG);
    vigil_log_limit_flush(&lim);
    assert_int_equal(count_lines(drain()), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_log_record_is_one_json_line),
        T(test_log_omits_missing_stage_and_camera),
        T(test_log_escapes_quotes_backslashes_and_control_characters),
        T(test_log_appends_extra_fields),
        T(test_log_level_filters_records_and_skips_arguments),
        T(test_log_long_message_stays_one_complete_line),
        T(test_log_level_names_parse_both_ways),
        T(test_log_repeated_error_is_one_record_per_interval_with_its_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
