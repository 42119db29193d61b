/* Test helpers for the HTTP API: a tiny HTTP/1.1 client over a TCP socket.
 *
 * One request per connection ("Connection: close"); the whole response is
 * read until the server closes, then split into status, headers and body.
 * No timing assumptions: reads block (with a generous socket timeout so a
 * hung server fails the test instead of hanging it). */
#ifndef VIGIL_TEST_API_SUPPORT_H
#define VIGIL_TEST_API_SUPPORT_H

#include <stddef.h>

typedef struct http_resp {
    int status;      /* -1 if the request could not be made or parsed */
    char *head;      /* status line + headers, NUL-terminated */
    char *body;      /* NUL-terminated (the NUL is not counted in body_len) */
    size_t body_len;
} http_resp_t;

/* Sends METHOD TARGET to 127.0.0.1:port with an optional body and reads the
 * response. Returns 0 on success (resp->status set), -1 on socket errors. */
int http_request(int port, const char *method, const char *target, const char *body,
                 http_resp_t *resp);
/* The same with extra request header lines ("Range: bytes=0-9\r\n"; NULL = none). */
int http_request_headers(int port, const char *method, const char *target, const char *headers,
                         const char *body, http_resp_t *resp);
/* Shorthand for a GET; aborts the test's expectations by returning status -1. */
int http_get(int port, const char *target, http_resp_t *resp);
/* The value of header `name` (case-insensitive) copied into buf, or NULL. */
const char *http_header(const http_resp_t *resp, const char *name, char *buf, size_t size);
void http_resp_free(http_resp_t *resp);

#endif
