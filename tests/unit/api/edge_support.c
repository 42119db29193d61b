/* Raw-socket helpers for the HTTP edge tests (see edge_support.h). */
#include "edge_support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

long long edge_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int edge_connect(const char *host, int port, const char *src)
{
    struct sockaddr_storage ss, local;
    socklen_t len;
    struct timeval tv = {.tv_sec = 10};
    int fd, family = strchr(host, ':') ? AF_INET6 : AF_INET;

    memset(&ss, 0, sizeof(ss));
    memset(&local, 0, sizeof(local));
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) return -1;
        len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) return -1;
        len = sizeof(*s4);
    }
    fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (src) {
        struct sockaddr_in *l4 = (struct sockaddr_in *)&local;
        l4->sin_family = AF_INET;
        if (inet_pton(AF_INET, src, &l4->sin_addr) != 1 ||
            bind(fd, (struct sockaddr *)l4, sizeof(*l4)) != 0) {
            close(fd);
            return -1;
        }
    }
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int edge_send(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int edge_read_response(int fd, http_resp_t *resp, int head_only)
{
    char *buf = NULL, *sep = NULL;
    size_t len = 0, cap = 0, want = (size_t)-1;

    memset(resp, 0, sizeof(*resp));
    resp->status = -1;
    for (;;) {
        if (sep && (head_only || len >= want)) break;
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 16384;
            char *nb = realloc(buf, cap + 1);
            if (!nb) goto fail;
            buf = nb;
        }
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) goto fail;
        if (r == 0) {
            if (!sep) goto fail;
            break;
        }
        len += (size_t)r;
        buf[len] = '\0';
        if (!sep && (sep = strstr(buf, "\r\n\r\n"))) {
            size_t head = (size_t)(sep - buf) + 4;
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            if (cl && cl < sep) want = head + (size_t)strtoull(cl + 17, NULL, 10);
        }
    }
    buf[len] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &resp->status) != 1) goto fail;
    resp->head = strndup(buf, (size_t)(sep - buf + 2));
    size_t start = (size_t)(sep - buf) + 4, end = want < len ? want : len;
    if (head_only) end = start;
    resp->body_len = end > start ? end - start : 0;
    resp->body = malloc(resp->body_len + 1);
    if (!resp->head || !resp->body) goto fail;
    memcpy(resp->body, buf + start, resp->body_len);
    resp->body[resp->body_len] = '\0';
    free(buf);
    return 0;
fail:
    free(buf);
    http_resp_free(resp);
    resp->status = -1;
    return -1;
}

int edge_exchange(int port, const void *request, size_t n, http_resp_t *resp)
{
    int fd = edge_connect("127.0.0.1", port, NULL), rc;

    memset(resp, 0, sizeof(*resp));
    resp->status = -1;
    if (fd < 0) return -1;
    rc = edge_send(fd, request, n) == 0 ? edge_read_response(fd, resp, 0) : -1;
    close(fd);
    return rc;
}

int edge_ms_until_closed(int fd, int max_ms)
{
    long long t0 = edge_now_ms();
    char buf[4096];

    for (;;) {
        long long left = max_ms - (edge_now_ms() - t0);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0) return -1;
        if (poll(&p, 1, (int)left) <= 0) continue;
        ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r <= 0 && !(r < 0 && (errno == EAGAIN || errno == EINTR)))
            return (int)(edge_now_ms() - t0);
    }
}

int edge_header_has(const http_resp_t *resp, const char *name, const char *part)
{
    char v[1024];
    return http_header(resp, name, v, sizeof(v)) && strstr(v, part);
}
