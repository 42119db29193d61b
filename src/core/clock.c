/* Wall and monotonic clocks, deadlines, RFC 3339 formatting and parsing. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil/clock.h"

static int64_t ts_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t vigil_now_us(void)
{
    return ts_us(CLOCK_REALTIME);
}

int64_t vigil_mono_us(void)
{
    return ts_us(CLOCK_MONOTONIC);
}

void vigil_sleep_us(int64_t us)
{
    if (us <= 0) return;
    struct timespec req = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000}, rem;
    while (nanosleep(&req, &rem) == -1 && errno == EINTR) req = rem;
}

struct timespec vigil_deadline_ms(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* buf[0..n) = v in n decimal digits, zero-padded. */
static void put_digits(char *buf, int n, unsigned v)
{
    while (n-- > 0) {
        buf[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* 1970 to 9999 without gmtime_r (whose time-zone lock the API's threads
 * would share for every timestamp of a page): the civil date of a day
 * count by the era arithmetic of the proleptic Gregorian calendar (400-year
 * eras of 146097 days, years starting on March 1). 0, or -1 outside. */
static int format_fast(int64_t t_us, char *buf, size_t size)
{
    int64_t secs, days, rem;
    unsigned doe, yoe, doy, mp, y, m, d;

    if (t_us < 0 || t_us >= INT64_C(253402300800000000) || size < 25) return -1;
    secs = t_us / 1000000;
    days = secs / 86400;
    rem = secs % 86400;
    doe = (unsigned)((days + 719468) % 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = yoe + 400 * (unsigned)((days + 719468) / 146097) + (m <= 2);
    put_digits(buf, 4, y);
    buf[4] = '-';
    put_digits(buf + 5, 2, m);
    buf[7] = '-';
    put_digits(buf + 8, 2, d);
    buf[10] = 'T';
    put_digits(buf + 11, 2, (unsigned)(rem / 3600));
    buf[13] = ':';
    put_digits(buf + 14, 2, (unsigned)(rem / 60 % 60));
    buf[16] = ':';
    put_digits(buf + 17, 2, (unsigned)(rem % 60));
    buf[19] = '.';
    put_digits(buf + 20, 3, (unsigned)(t_us % 1000000 / 1000));
    buf[23] = 'Z';
    buf[24] = '\0';
    return 0;
}

void vigil_format_time(int64_t t_us, char *buf, size_t size)
{
    if (format_fast(t_us, buf, size) == 0) return;
    time_t secs = (time_t)(t_us / 1000000);
    int ms = (int)((t_us % 1000000) / 1000);
    if (t_us < 0 && t_us % 1000000) {
        secs--;
        ms = (int)((1000000 + t_us % 1000000) / 1000);
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int vigil_parse_time(const char *s, int64_t *t_us)
{
    if (!s || !*s) return -1;
    const char *p = s;
    int all_digits = 1;
    for (const char *q = (*p == '-') ? p + 1 : p; *q; q++)
        if (!isdigit((unsigned char)*q)) all_digits = 0;
    if (all_digits && strlen(s) < 20) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || *end) return -1;
        *t_us = v;
        return 0;
    }
    int Y, M, D, h, m, sec;
    if (digits(&p, 4, &Y) || *p++ != '-' || digits(&p, 2, &M) || *p++ != '-' ||
        digits(&p, 2, &D) || (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &m) || *p++ != ':' ||
        digits(&p, 2, &sec))
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 60) return -1;
    if (M == 2 && D == 29 && !((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0)) return -1;
    int64_t frac_us = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        int64_t scale = 100000;
        if (!isdigit((unsigned char)*p)) return -1;
        while (isdigit((unsigned char)*p)) {
            if (n++ < 6) {
                frac_us += (*p - '0') * scale;
                scale /= 10;
            }
            p++;
        }
    }
    int offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset_s = sign * (oh * 3600 + om * 60);
    } else {
        return -1;
    }
    if (*p) return -1;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D,
                    .tm_hour = h, .tm_min = m, .tm_sec = sec};
    time_t t = timegm(&tm);
    *t_us = ((int64_t)t - offset_s) * 1000000 + frac_us;
    return 0;
}
