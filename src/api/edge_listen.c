/* The API's listen address: "HOST:PORT" with an IPv4 address (or
 * "localhost", "*", "") or "[IPV6]:PORT", and the listening socket.
 *
 * Main idea: we bind the socket ourselves (so that a bind failure is an
 * error naming the address and errno, not a line in libmicrohttpd's log)
 * and hand it to libmicrohttpd. "[::]" listens on every IPv6 and, dual
 * stack, every IPv4 address too; any other IPv6 address only on itself.
 *
 * On Linux the API listens on one socket per serving thread, all bound to
 * the same address with SO_REUSEPORT: the kernel spreads new connections
 * over them, and the thread whose socket a connection reaches accepts and
 * serves it (daemons.c). Each socket has TCP_DEFER_ACCEPT: a connection is
 * queued for accept once its first bytes (the request, or TLS's ClientHello)
 * are in; one that sends nothing is still accepted after about
 * VIGIL__EDGE_DEFER_ACCEPT_S seconds (the kernel's SYN-ACK retries) and then
 * meets the edge's header deadline. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

/* Fills ss with host:port; its length. */
static socklen_t make_addr(const char *host, int port, int family, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, host, &s6->sin6_addr);
        return sizeof(*s6);
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &s4->sin_addr);
    return sizeof(*s4);
}

/* A socket bound to host:port, listening unless probe; SO_REUSEPORT when
 * shared. The socket, or -1 with errno and *what the call that failed. */
static int open_socket(const char *host, int port, int family, int shared, int probe,
                       const char **what)
{
    struct sockaddr_storage ss;
    socklen_t len = make_addr(host, port, family, &ss);
    int fd, one = 1, zero = 0, err;

    *what = "socket";
#ifdef SOCK_CLOEXEC
    fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
#else /* macOS: no type flags, set them right after (one thread at start-up) */
    fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) goto fail;
#endif
    *what = "setsockopt";
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) goto fail;
#ifdef SO_REUSEPORT
    if (shared && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) goto fail;
#endif
    /* "[::]" is every address, IPv4 included (whatever net.ipv6.bindv6only says) */
    if (family == AF_INET6 && strcmp(host, "::") == 0 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)
        goto fail;
    *what = "bind";
    if (bind(fd, (struct sockaddr *)&ss, len) < 0) goto fail;
    if (probe) return fd;
#ifdef TCP_DEFER_ACCEPT
    /* queued for accept once the first bytes are in: the thread that accepts
     * reads the request at once instead of waiting for it */
    int secs = VIGIL__EDGE_DEFER_ACCEPT_S;
    if (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs)) < 0) goto fail;
#endif
    *what = "listen";
    if (listen(fd, 128) < 0) goto fail;
    return fd;
fail:
    err = errno;
    close(fd);
    errno = err;
    return -1;
}

int vigil__edge_listen_sockets(const char *configured, const char *host, int port, int family,
                               int n, int *fds, char *errstr, size_t errstr_size)
{
    const char *what = "socket";
    char addr[96];
    int i = 0;

#ifndef SO_REUSEPORT
    n = 1;
#endif
    if (n > 1) {
        /* SO_REUSEPORT would also join a group that another process of this
         * user holds (a second vigil on the same port): a socket without it
         * binds first, which fails on a port in use. It also picks port 0's. */
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int probe = open_socket(host, port, family, 0, 1, &what);

        if (probe < 0) goto fail;
        if (port == 0 && getsockname(probe, (struct sockaddr *)&ss, &len) == 0)
            port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                  : ((struct sockaddr_in *)&ss)->sin_port);
        close(probe);
    }
    for (i = 0; i < n; i++)
        if ((fds[i] = open_socket(host, port, family, n > 1, 0, &what)) < 0) goto fail;
    return n;
fail:
    vigil__edge_format_addr(host, port, family, addr, sizeof(addr));
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "http.listen \"%s\": cannot %s %s: %s",
                 configured, what, addr, strerror(errno));
    while (i-- > 0) close(fds[i]);
    return -1;
}
