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
 * The per-client limit (vigil__edge_accept) still runs: MHD calls its accept
 * policy inside MHD_add_connection. A failed accept for want of descriptors
 * or memory is counted (vigil_http_accept_failed_total{reason}), logged at
 * most once a minute, and waited out briefly so that the thread does not
 * spin; the connection stays in the kernel's backlog until then. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/edge.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/metrics.h"

struct vigil__acceptor {
    int fd;      /* the listening socket, non-blocking; closed by stop */
    int wake[2]; /* a pipe: stop writes, the thread leaves its poll */
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
        /* refused (the per-client limit, every pool thread full) or out of
         * memory: MHD has closed the socket and counted what it refused */
        MHD_add_connection(a->daemon, c, (struct sockaddr *)&ss, len);
    }
    return NULL;
}

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
    ssize_t w;

    if (!a) return;
    do w = write(a->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(a->thread, NULL);
    close(a->wake[0]);
    close(a->wake[1]);
    close(a->fd);
    free(a);
}
