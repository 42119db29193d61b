/* The HTTP daemons: libmicrohttpd serving the API's listening sockets.
 *
 * Main idea: the thread that accepts a connection serves it. On Linux the
 * edge opens one SO_REUSEPORT socket per serving thread (edge_listen.c) and
 * each socket gets its own single-threaded daemon: the kernel picks a socket
 * for each new connection, and that socket's thread wakes, accepts, reads the
 * request (TCP_DEFER_ACCEPT: it is already in) and answers it. No thread
 * hands a connection to another: against one acceptor thread feeding MHD's
 * pool that is one context switch and three system calls less a request
 * (bench/README.md). Elsewhere: one socket and one daemon with a pool of
 * VIGIL__API_THREADS threads (each of which wakes for every new connection).
 *
 * Limits: each daemon holds its share of http.max_connections, as MHD's own
 * pool divides it among its threads; the per-client limit, the rate and the
 * deadlines are the edge's and count every daemon's connections together
 * (its accept policy and notify callbacks run on every daemon). A daemon busy
 * with a slow request (a clip) delays the other connections it serves, as a
 * pool thread did; clips take at most half the threads (events.c).
 *
 * Stop: every daemon stops accepting (MHD_quiesce_daemon), the sockets are
 * shut for reading so the kernel refuses new connections at once, each
 * daemon finishes and joins its thread, and only then are the sockets closed
 * (libmicrohttpd's rule: not while a thread may still use them). */
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_int.h"
#include "api/edge.h"

/* Whether fd is still the socket described by st (MHD closes the listening
 * socket on some of its start failures and not on others). */
static int same_socket(int fd, const struct stat *st)
{
    struct stat now;
    return fstat(fd, &now) == 0 && now.st_ino == st->st_ino && now.st_dev == st->st_dev;
}

vigil_err_t vigil__daemons_start(vigil_api_t *api, unsigned int flags,
                                 const struct MHD_OptionItem *opts, MHD_AccessHandlerCallback handler)
{
    unsigned int n = (unsigned int)api->n_listen, limit = vigil__edge_max_connections(api->edge);

    for (unsigned int i = 0; i < n; i++) {
        int fd = api->listen_fds[i];
        unsigned int share = limit / n + (i < limit % n ? 1 : 0);
        struct MHD_OptionItem own[] = {
            {MHD_OPTION_LISTEN_SOCKET, fd, NULL},
            {MHD_OPTION_CONNECTION_LIMIT, share ? share : 1, NULL},
            {n == 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, VIGIL__API_THREADS, NULL},
            {MHD_OPTION_END, 0, NULL}};
        struct stat st;
        int known = fstat(fd, &st) == 0;

        api->daemons[i] = MHD_start_daemon(flags, 0, vigil__edge_accept, api->edge, handler, api,
                                           MHD_OPTION_ARRAY, own, MHD_OPTION_ARRAY, opts,
                                           MHD_OPTION_END);
        if (!api->daemons[i]) {
            if (known && same_socket(fd, &st)) close(fd);
            for (unsigned int j = i + 1; j < n; j++) close(api->listen_fds[j]);
            api->n_listen = (int)i; /* the sockets of the daemons started */
            vigil__daemons_stop(api);
            return VIGIL_ERR_IO;
        }
    }
    return VIGIL_OK;
}

void vigil__daemons_stop(vigil_api_t *api)
{
    int n = api->n_listen;

    for (int i = 0; i < n; i++)
        if (api->daemons[i]) MHD_quiesce_daemon(api->daemons[i]);
    for (int i = 0; i < n; i++) shutdown(api->listen_fds[i], SHUT_RD);
    for (int i = 0; i < n; i++) {
        if (api->daemons[i]) MHD_stop_daemon(api->daemons[i]); /* waits for its thread */
        api->daemons[i] = NULL;
    }
    for (int i = 0; i < n; i++) close(api->listen_fds[i]);
    api->n_listen = 0;
}
