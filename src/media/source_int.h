/* Internals shared by the source's files:
 *   source.c       FFmpeg: open, demux, decode, loop, deadlines
 *   source_http.c  why an http(s) source failed, when FFmpeg does not say */
#ifndef VIGIL_SOURCE_INT_H
#define VIGIL_SOURCE_INT_H

#include <stddef.h>

/* FFmpeg answers "input/output error" for an HTTP camera that redirects
 * more than 8 times (a redirect loop) and says nothing else. This asks the
 * URL again, with libcurl, following redirects as FFmpeg does, stopping at
 * the first byte of a body. Returns 1 and fills why ("redirected more than
 * 8 times, last to http://host/...", redacted) when the redirects are the
 * reason, else 0 (why untouched). Gives up after timeout_ms, or as soon as
 * cancel(opaque) returns non-zero. Any thread. */
int vigil__source_http_why(const char *url, int timeout_ms, int (*cancel)(void *opaque),
                           void *opaque, char *why, size_t why_size);

#endif
