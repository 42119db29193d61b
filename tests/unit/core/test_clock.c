/* Unit tests of the time helpers (src/core/clock.c): RFC 3339 formatting and
 * parsing, offsets, rejected inputs, deadlines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "vigil/clock.h"

/* 2026-11-21T05:31:02.123Z */
#define T0 ((int64_t)1795239062 * 1000000 + 123000)

static void test_clock_format_gives_utc_milliseconds(void **state)
{
    char buf[40];
    vigil_format_time(T0, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-21T05:31:02.123Z");
    vigil_format_time(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    /* before the epoch rounds down, not towards zero */
    vigil_format_time(-1500, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.998Z");
}

/* The fast path (1970..9999, no gmtime_r) against gmtime_r: every day
 * boundary of the range's leap-year rules, and random instants. */
static void test_clock_format_matches_gmtime(void **state)
{
    uint64_t r = 88172645463325252u;
    const int64_t edges[] = {0, 951782400, 951868800, 4107542400, 4107628800, 253402300799,
                             253402300800, 68256000000, 1795239062};

    for (int i = 0; i < 2000000; i++) {
        int64_t t_us;
        time_t secs;
        struct tm tm;
        char want[64], got[64];

        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        if (i < (int)(sizeof(edges) / sizeof(edges[0])) * 3)
            t_us = (edges[i / 3] + (i % 3) - 1) * INT64_C(1000000) + 999999;
        else if (i % 2)
            t_us = (int64_t)(r % UINT64_C(253402300800000000));
        else
            t_us = (int64_t)(r % UINT64_C(4102444800000000)); /* to 2100 */
        if (t_us < 0) continue; /* before 1970: gmtime_r's path, tested above */
        secs = (time_t)(t_us / 1000000);
        gmtime_r(&secs, &tm);
        snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(t_us % 1000000 / 1000));
        vigil_format_time(t_us, got, sizeof(got));
        if (strcmp(want, got) != 0) fail_msg("%lld: %s, gmtime_r %s", (long long)t_us, got, want);
    }
}

static void test_clock_format_parse_round_trip(void **state)
{
    const int64_t times[] = {0, T0, (int64_t)951782400 * 1000000 /* 2000-02-29 */,
                             (int64_t)4102444799 * 1000000 + 999000, -86400000000LL};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        char buf[40];
        int64_t back = -1;
        vigil_format_time(times[i], buf, sizeof(buf));
        assert_int_equal(vigil_parse_time(buf, &back), 0);
        assert_int_equal(back, times[i]);
    }
}

static void test_clock_parse_applies_offsets(void **state)
{
    int64_t t;
    assert_int_equal(vigil_parse_time("2026-11-21T06:31:02.123+01:00", &t), 0);
    assert_int_equal(t, T0);
    assert_int_equal(vigil_parse_time("2026-11-21T00:01:02.123-05:30", &t), 0);
    assert_int_equal(t, T0);
    assert_int_equal(vigil_parse_time("2026-11-21t05:31:02.123z", &t), 0);
    assert_int_equal(t, T0);
    assert_int_equal(vigil_parse_time("2026-11-21 05:31:02Z", &t), 0);
    assert_int_equal(t, T0 - 123000);
}

static void test_clock_parse_keeps_microseconds_and_drops_finer(void **state)
{
    int64_t t;
    assert_int_equal(vigil_parse_time("2026-11-21T05:31:02.123456Z", &t), 0);
    assert_int_equal(t, T0 + 456);
    assert_int_equal(vigil_parse_time("2026-11-21T05:31:02.1234569Z", &t), 0);
    assert_int_equal(t, T0 + 456);
    assert_int_equal(vigil_parse_time("2026-11-21T05:31:02.1Z", &t), 0);
    assert_int_equal(t, T0 - 23000);
}

static void test_clock_parse_accepts_integer_microseconds(void **state)
{
    int64_t t;
    assert_int_equal(vigil_parse_time("1795239062123000", &t), 0);
    assert_int_equal(t, T0);
    assert_int_equal(vigil_parse_time("-5", &t), 0);
    assert_int_equal(t, -5);
}

static void test_clock_parse_rejects_malformed(void **state)
{
    const char *bad[] = {
        "",
        "yesterday",
        "2026-11-21",                 /* no time */
        "2026-11-21T05:31:02",        /* no zone */
        "2026-13-01T00:00:00Z",       /* month */
        "2026-11-00T00:00:00Z",       /* day */
        "2026-02-30T00:00:00Z",       /* no such day */
        "2025-02-29T00:00:00Z",       /* not a leap year */
        "2026-11-21T24:00:00Z",       /* hour */
        "2026-11-21T05:61:00Z",       /* minute */
        "2026-11-21T05:31:02.Z",      /* empty fraction */
        "2026-11-21T05:31:02+0100",   /* offset without colon */
        "2026-11-21T05:31:02+25:00",  /* offset hours */
        "2026-11-21T05:31:02Z trailing",
        "-",
        "12abc",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t t = 42;
        if (vigil_parse_time(bad[i], &t) != -1) fail_msg("accepted \"%s\"", bad[i]);
    }
    int64_t t;
    assert_int_equal(vigil_parse_time(NULL, &t), -1);
}

static void test_clock_deadline_is_in_the_future_and_normalised(void **state)
{
    struct timespec now, d;
    clock_gettime(CLOCK_REALTIME, &now);
    d = vigil_deadline_ms(1999);
    assert_true(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
    int64_t dn = (int64_t)d.tv_sec * 1000000000LL + d.tv_nsec;
    int64_t nn = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
    assert_true(dn - nn >= 1999000000LL);
}

static void test_clock_monotonic_never_goes_back(void **state)
{
    int64_t a = vigil_mono_us();
    vigil_sleep_us(1000);
    int64_t b = vigil_mono_us();
    assert_true(b >= a + 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_format_gives_utc_milliseconds),
        cmocka_unit_test(test_clock_format_matches_gmtime),
        cmocka_unit_test(test_clock_format_parse_round_trip),
        cmocka_unit_test(test_clock_parse_applies_offsets),
        cmocka_unit_test(test_clock_parse_keeps_microseconds_and_drops_finer),
        cmocka_unit_test(test_clock_parse_accepts_integer_microseconds),
        cmocka_unit_test(test_clock_parse_rejects_malformed),
        cmocka_unit_test(test_clock_deadline_is_in_the_future_and_normalised),
        cmocka_unit_test(test_clock_monotonic_never_goes_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
