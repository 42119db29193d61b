/* The API's acceptor: one thread takes new connections off the listening
 * socket and hands each to libmicrohttpd (MHD_add_connection), which gives it
 * to a pool thread with room.
 *
 * Why not let MHD accept: in thread-pool mode every pool thread watches the
 * listening socket in its own epoll set without EPOLLEXCLUSIVE, so each new
 * connection woke all four threads, three of which found nothing to accept
 * (four context switches and three failed accept4 calls per connection; a
 * third of vigil's CPU under `Connection: close`). Here one thread wakes, and
 * the pool thread that gets the socket is woken by MHD's own inter-thread
 * channel.
 *
 * On Linux the thread blocks in accept4 itself (one system call a connection,
 * not poll and then accept4; queued connections are taken one after the other
 * without sleeping) and stop wakes it with shutdown(SHUT_RD), after which
 * accept4 fails. The listening socket also gets TCP_DEFER_ACCEPT: the kernel
 * queues a connection for accept once its first bytes (the request, or TLS's
 * ClientHello) are in, so the pool thread that gets it reads the request at
 * once instead of finding nothing, waiting in epoll and being woken again. A
 * client that connects and sends nothing is still accepted, after about
 * DEFER_ACCEPT_S seconds (the kernel's SYN-ACK retries), and then meets the
 * edge's header deadline as before. Elsewhere the thread polls the socket
 * and a pipe that stop writes to.
 *
 * The per-client limit (vigil__edge_accept) still runs: MHD calls its accept
 * policy inside MHD_add_connection. A failed accept for want of descriptors
 * or memory is counted (vigil_http_accept_failed_total{reason}), logged at
 * most once a minute, and waited out briefly so that the thread does not
 * spin; the connection stays in the kernel's backlog until then. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/edge.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/metrics.h"

/* how long the kernel holds a connection that has sent nothing (Linux) */
#define DEFER_ACCEPT_S 2

struct vigil__acceptor {
    int fd;      /* the listening socket (blocking on Linux); closed by stop */
    int wake[2]; /* a pipe: stop writes, the thread leaves its poll */
    atomic_bool stopping; /* Linux: set by stop before its shutdown */
    struct MHD_Daemon *daemon;
    pthread_t thread;
    int64_t last_log_us;
};

static void count_failed(const char *reason)
{
    vigil_counter_t *c = vigil_metrics_counter(
        "vigil_http_accept_failed_total",
        "New HTTP connections the API could not accept at once (the kernel keeps them queued).",
        "reason", reason, NULL, NULL);
    if (c) vigil_counter_inc(c);
}

/* errno of a failed accept: 1 when the thread should wait before the next
 * try (out of descriptors or memory), 0 when it can go on at once. */
static int accept_failed(vigil__acceptor_t *a, int err)
{
    int64_t now = vigil_mono_us();
    int scarce = err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;

    if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR || err == ECONNABORTED) return 0;
    count_failed(scarce ? "resources" : "other");
    if (now - a->last_log_us >= 60 * 1000000LL || !a->last_log_us) {
        a->last_log_us = now;
        vigil_warn("api", NULL, "cannot accept a new HTTP connection: %s%s", strerror(err),
                   scarce ? " (waiting 100 ms; it stays queued)" : "");
    }
    return scarce;
}

/* Hands an accepted socket to MHD. Refused (the per-client limit, every pool
 * thread full) or out of memory: MHD has closed the socket and counted what it
 * refused. */
static void hand_over(vigil__acceptor_t *a, int c, struct sockaddr_storage *ss, socklen_t len)
{
    MHD_add_connection(a->daemon, c, (struct sockaddr *)ss, len);
}

#ifdef __linux__
static void *acceptor_main(void *arg)
{
    vigil__acceptor_t *a = arg;

    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int c = accept4(a->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (c >= 0) {
            hand_over(a, c, &ss, len);
            continue;
        }
        if (atomic_load(&a->stopping)) break;
        if (accept_failed(a, errno)) poll(NULL, 0, 100);
    }
    return NULL;
}

/* The listening socket for acceptor_main: blocking, connections queued once
 * their first bytes are in. 0, or -1 with errno. */
static int prepare_socket(int fd)
{
    int secs = DEFER_ACCEPT_S, fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) return -1;
    return setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs));
}

/* Wakes acceptor_main from accept4 for good. */
static void wake_for_stop(vigil__acceptor_t *a)
{
    atomic_store(&a->stopping, true);
    shutdown(a->fd, SHUT_RD);
}
#else
static void *acceptor_main(void *arg)
{
    vigil__acceptor_t *a = arg;
    struct pollfd pf[2] = {{.fd = a->fd, .events = POLLIN}, {.fd = a->wake[0], .events = POLLIN}};

    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int c;

        if (poll(pf, 2, -1) < 0 && errno != EINTR) break;
        if (pf[1].revents) break;
        if (!(pf[0].revents & POLLIN)) continue;
#ifdef SOCK_CLOEXEC
        c = accept4(a->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
#else
        c = accept(a->fd, (struct sockaddr *)&ss, &len);
        if (c >= 0) fcntl(c, F_SETFD, FD_CLOEXEC);
#endif
        if (c < 0) {
            if (accept_failed(a, errno)) poll(pf + 1, 1, 100);
            continue;
        }
        hand_over(a, c, &ss, len);
    }
    return NULL;
}

static int prepare_socket(int fd)
{
    (void)fd;
    return 0;
}

static void wake_for_stop(vigil__acceptor_t *a)
{
    ssize_t w;

    do w = write(a->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
}
#endif

vigil__acceptor_t *vigil__acceptor_start(int fd, struct MHD_Daemon *daemon, char *errstr,
                                         size_t errstr_size)
{
    vigil__acceptor_t *a = calloc(1, sizeof(*a));
    int err;

    if (!a) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "api: out of memory");
        return NULL;
    }
    a->fd = fd;
    a->daemon = daemon;
    atomic_init(&a->stopping, false);
    if (prepare_socket(fd) != 0) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO,
                     "api: cannot prepare the listening socket: %s", strerror(errno));
        free(a);
        return NULL;
    }
    if (pipe(a->wake) != 0) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "api: cannot make the acceptor's pipe: %s",
                     strerror(errno));
        free(a);
        return NULL;
    }
    fcntl(a->wake[0], F_SETFD, FD_CLOEXEC);
    fcntl(a->wake[1], F_SETFD, FD_CLOEXEC);
    if ((err = pthread_create(&a->thread, NULL, acceptor_main, a)) != 0) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "api: cannot start the acceptor: %s",
                     strerror(err));
        close(a->wake[0]);
        close(a->wake[1]);
        free(a);
        return NULL;
    }
    return a;
}

void vigil__acceptor_stop(vigil__acceptor_t *a)
{
    if (!a) return;
    wake_for_stop(a);
    pthread_join(a->thread, NULL);
    close(a->wake[0]);
    close(a->wake[1]);
    close(a->fd);
    free(a);
}
