/* Time helpers. Wall-clock microseconds since the Unix epoch are what crosses
 * the bus and lands in the warehouse; monotonic time measures durations. */
#ifndef VIGIL_CLOCK_H
#define VIGIL_CLOCK_H

#include <stdint.h>
#include <time.h>

int64_t vigil_now_us(void);      /* CLOCK_REALTIME, microseconds */
int64_t vigil_mono_us(void);     /* CLOCK_MONOTONIC, microseconds */
void vigil_sleep_us(int64_t us); /* restarts on EINTR until the time has passed */

/* An absolute CLOCK_REALTIME deadline timeout_ms from now, for
 * pthread_cond_timedwait. timeout_ms < 0 is not allowed. */
struct timespec vigil_deadline_ms(int timeout_ms);

/* Formats t (us since epoch) as "2026-11-21T05:31:02.123Z" into buf (>= 32 bytes). */
void vigil_format_time(int64_t t_us, char *buf, size_t size);

/* Parses an RFC 3339 time ("2026-11-21T05:31:02Z", fractional seconds and
 * numeric offsets allowed) or an integer of microseconds since the epoch.
 * Returns 0 on success, -1 if s is not one of those. */
int vigil_parse_time(const char *s, int64_t *t_us);

#endif
