/* The API's listen address: "HOST:PORT" with an IPv4 address (or
 * "localhost", "*", "") or "[IPV6]:PORT", and the listening socket.
 *
 * Main idea: we bind the socket ourselves (so that a bind failure is an
 * error naming the address and errno, not a line in libmicrohttpd's log)
 * and hand it to libmicrohttpd. "[::]" listens on every IPv6 and, dual
 * stack, every IPv4 address too; any other IPv6 address only on itself. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/edge.h"

vigil_err_t vigil__edge_parse_listen(const char *listen, char *host, size_t host_size, int *port,
                                     int *family, char *errstr, size_t errstr_size)
{
    const char *colon, *start = listen, *end;
    struct in6_addr a6;
    struct in_addr a4;
    char h[64];
    long p = 0;

    if (!listen) goto bad;
    if (listen[0] == '[') { /* [V6]:PORT */
        start = listen + 1;
        end = strchr(start, ']');
        if (!end || end[1] != ':') goto bad;
        colon = end + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon || memchr(listen, ':', (size_t)(colon - listen))) goto bad; /* bare IPv6 */
        end = colon;
    }
    if ((size_t)(end - start) >= sizeof(h) || !colon[1] || strlen(colon + 1) > 5) goto bad;
    memcpy(h, start, (size_t)(end - start));
    h[end - start] = '\0';
    for (const char *s = colon + 1; *s; s++) {
        if (*s < '0' || *s > '9') goto bad;
        p = p * 10 + (*s - '0');
    }
    if (p > 65535) goto bad;
    if (listen[0] == '[') {
        if (inet_pton(AF_INET6, h, &a6) != 1) goto bad;
        *family = AF_INET6;
    } else {
        if (strcmp(h, "localhost") == 0) snprintf(h, sizeof(h), "127.0.0.1");
        if (!h[0] || strcmp(h, "*") == 0) snprintf(h, sizeof(h), "0.0.0.0");
        if (inet_pton(AF_INET, h, &a4) != 1) goto bad;
        *family = AF_INET;
    }
    if (strlen(h) >= host_size) goto bad;
    snprintf(host, host_size, "%s", h);
    *port = (int)p;
    return VIGIL_OK;
bad:
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                        "http.listen \"%s\": expected HOST:PORT with an IPv4 address or "
                        "localhost, or [IPV6]:PORT, and a port in 0..65535",
                        listen ? listen : "(null)");
}

void vigil__edge_format_addr(const char *host, int port, int family, char *buf, size_t size)
{
    if (family == AF_INET6)
        snprintf(buf, size, "[%s]:%d", host, port);
    else
        snprintf(buf, size, "%s:%d", host, port);
}

int vigil__edge_listen_socket(const char *configured, const char *host, int port, int family,
                              char *errstr, size_t errstr_size)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, one = 1, zero = 0;
    const char *what = "socket";
    char addr[96];

    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, host, &s6->sin6_addr);
        len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, host, &s4->sin_addr);
        len = sizeof(*s4);
    }
#ifdef SOCK_CLOEXEC
    fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) goto fail;
#else /* macOS: no type flags, set them right after (one thread at start-up) */
    fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0) goto fail;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) goto fail;
#endif
    what = "setsockopt";
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) goto fail;
    /* "[::]" is every address, IPv4 included (whatever net.ipv6.bindv6only says) */
    if (family == AF_INET6 && strcmp(host, "::") == 0 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)
        goto fail;
    what = "bind";
    if (bind(fd, (struct sockaddr *)&ss, len) < 0) goto fail;
    what = "listen";
    if (listen(fd, 128) < 0) goto fail;
    return fd;
fail:
    vigil__edge_format_addr(host, port, family, addr, sizeof(addr));
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "http.listen \"%s\": cannot %s %s: %s",
                 configured, what, addr, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
}
