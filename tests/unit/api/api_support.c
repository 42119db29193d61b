/* A tiny HTTP/1.1 client for the API tests (see api_support.h). */
#include "api_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int http_request(int port, const char *method, const char *target, const char *body,
                 http_resp_t *resp)
{
    return http_request_headers(port, method, target, NULL, body, resp);
}

int http_request_headers(int port, const char *method, const char *target, const char *headers,
                         const char *body, http_resp_t *resp)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {.tv_sec = 60};
    char req[4096];
    char *buf = NULL, *sep;
    size_t len = 0, cap = 0;
    int fd = -1, n;

    memset(resp, 0, sizeof(*resp));
    resp->status = -1;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) goto fail;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) goto fail;
    n = snprintf(req, sizeof(req),
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
                 "%sContent-Length: %zu\r\n\r\n",
                 method, target, port, headers ? headers : "", body ? strlen(body) : 0);
    if (n < 0 || (size_t)n >= sizeof(req)) goto fail;
    if (write_all(fd, req, (size_t)n) || (body && write_all(fd, body, strlen(body)))) goto fail;
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 16384;
            char *nb = realloc(buf, cap + 1);
            if (!nb) goto fail;
            buf = nb;
        }
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r < 0) goto fail;
        if (r == 0) break;
        len += (size_t)r;
    }
    close(fd);
    fd = -1;
    if (!buf) goto fail;
    buf[len] = '\0';
    sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &resp->status) != 1) goto fail;
    resp->head = strndup(buf, (size_t)(sep - buf + 2));
    resp->body_len = len - (size_t)(sep + 4 - buf);
    resp->body = malloc(resp->body_len + 1);
    if (!resp->head || !resp->body) goto fail;
    memcpy(resp->body, sep + 4, resp->body_len);
    resp->body[resp->body_len] = '\0';
    free(buf);
    return 0;
fail:
    if (fd >= 0) close(fd);
    free(buf);
    http_resp_free(resp);
    resp->status = -1;
    return -1;
}

int http_get(int port, const char *target, http_resp_t *resp)
{
    return http_request(port, "GET", target, NULL, resp);
}

const char *http_header(const http_resp_t *resp, const char *name, char *buf, size_t size)
{
    size_t nl = strlen(name);
    const char *line = resp->head ? strstr(resp->head, "\r\n") : NULL;

    while (line && line[2]) {
        line += 2;
        const char *end = strstr(line, "\r\n");
        if (!end) break;
        if ((size_t)(end - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ') v++;
            snprintf(buf, size, "%.*s", (int)(end - v), v);
            return buf;
        }
        line = end;
    }
    return NULL;
}

void http_resp_free(http_resp_t *resp)
{
    free(resp->head);
    free(resp->body);
    resp->head = NULL;
    resp->body = NULL;
    resp->body_len = 0;
}
