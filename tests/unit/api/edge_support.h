/* Test helpers for the HTTP edge: raw sockets, so that a test can send what a
 * well-behaved client never would (a NUL in the request line, a lying
 * Content-Length, one header line every so often), choose its source
 * address (127.0.0.2 is another client than 127.0.0.1), keep a connection
 * open for a second request, and see when the server closes it. */
#ifndef VIGIL_TEST_EDGE_SUPPORT_H
#define VIGIL_TEST_EDGE_SUPPORT_H

#include <stddef.h>

#include "api_support.h"

/* Connects to host:port (an IPv4 or IPv6 literal) from source address `src`
 * (NULL = any). Blocking, with a receive timeout of 10 s. -1 on failure. */
int edge_connect(const char *host, int port, const char *src);
/* Sends all n bytes; 0 or -1. */
int edge_send(int fd, const void *data, size_t n);
/* Reads one response (headers, then Content-Length bytes of body, or up to
 * the close when there is none; only the headers when `head_only`). 0 with
 * *resp filled, -1 if the connection closed or failed first. */
int edge_read_response(int fd, http_resp_t *resp, int head_only);
/* Sends `request` on a new connection to 127.0.0.1:port and reads the
 * response. 0 or -1. */
int edge_exchange(int port, const void *request, size_t n, http_resp_t *resp);
/* Milliseconds until the server closes fd (recv returns 0 or an error),
 * waiting at most max_ms; -1 if still open then. Data that arrives is read
 * and dropped. */
int edge_ms_until_closed(int fd, int max_ms);
/* Monotonic milliseconds. */
long long edge_now_ms(void);
/* Whether a response header `name` exists with a value containing `part`. */
int edge_header_has(const http_resp_t *resp, const char *name, const char *part);

#endif
