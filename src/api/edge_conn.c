/* Connections at the HTTP edge: how many each client may hold, how long a
 * request may take to arrive, and how fast a client may send requests.
 *
 * Main idea: libmicrohttpd's own timeout is per inactivity, so a client that
 * sends one header byte every few seconds holds its connection forever, and
 * about a thousand of them fill every slot (the "slowloris" attack). Here
 * each connection carries a deadline: its request headers must be in within
 * http.header_timeout_s of the connection (or of the previous response:
 * this is also the keep-alive idle timeout), and a body within
 * http.body_timeout_s of the headers. A watchdog thread shuts down the
 * socket of a connection past its deadline; libmicrohttpd then sees the
 * end of the stream and closes it as usual. shutdown(2), not close(2): the
 * descriptor stays libmicrohttpd's, and the connection is removed from the
 * list (under the lock) before libmicrohttpd closes it, so the watchdog
 * never touches a descriptor that was reused.
 *
 * Per client (an IPv4 address or an IPv6 /64), one slot of a bounded table
 * counts open connections (at most http.max_connections_per_client: a
 * connection beyond it is refused at accept) and holds a token bucket
 * (http.rate_limit requests per second, bursts of http.rate_burst; beyond
 * it requests are answered 429 with Retry-After). Clients in
 * http.limits_exempt are not counted.
 *
 * Thread: the callbacks run on libmicrohttpd's threads, the watchdog on its
 * own; edge->lock guards the table and the list. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "api/edge_int.h"
#include "api/forwarded.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/metrics.h"

#define WATCHDOG_PERIOD_MS 200

static void count_refused(const char *reason)
{
    vigil_counter_t *c = vigil_metrics_counter(
        "vigil_http_refused_total",
        "HTTP connections and requests the edge refused or cut off, by reason.", "reason",
        reason, NULL, NULL);
    if (c) vigil_counter_inc(c);
}

static void set_open_gauge(size_t n)
{
    vigil_gauge_t *g = vigil_metrics_gauge("vigil_http_connections",
                                           "Open HTTP connections of the API.", NULL, NULL, NULL,
                                           NULL);
    if (g) vigil_gauge_set(g, (int64_t)n);
}

int vigil__edge_addr16(const struct sockaddr *sa, uint8_t out[16])
{
    if (!sa) return -1;
    if (sa->sa_family == AF_INET) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return 0;
    }
    return -1;
}

static int is_v4_mapped(const uint8_t a[16])
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a, prefix, 12) == 0;
}

/* The client key of an address (16 bytes, IPv4 mapped): IPv4 whole, IPv6
 * by its /64 (one host usually holds a whole /64). -1 if exempt. */
static int client_key16(const vigil__edge_t *edge, const uint8_t addr[16], uint8_t key[16])
{
    memcpy(key, addr, 16);
    if (vigil__fwd_in_nets(edge->exempt, edge->nexempt, key)) return -1;
    if (!is_v4_mapped(key)) memset(key + 8, 0, 8);
    return 0;
}

/* The same for a socket address; -1 also if it is not an IP address. */
static int client_key(const vigil__edge_t *edge, const struct sockaddr *sa, uint8_t key[16])
{
    uint8_t addr[16];

    if (vigil__edge_addr16(sa, addr) != 0) return -1;
    return client_key16(edge, addr, key);
}

static uint32_t key_hash(const uint8_t key[16])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 16; i++) h = (h ^ key[i]) * 16777619u;
    return h;
}

/* Tokens of slot c now (refilled since c->t_us, at most burst). Lock held. */
static double tokens_now(const vigil__edge_t *edge, vigil__edge_client_t *c, int64_t now)
{
    double t = c->tokens + (double)(now - c->t_us) / 1e6 * edge->rate;
    c->tokens = t > edge->burst ? edge->burst : t;
    c->t_us = now;
    return c->tokens;
}

/* The slot of `key`, made when absent (reusing an idle one in the probe
 * window); -1 when the window is full of busy clients (then the client is
 * not limited: fail open rather than refuse everyone). Lock held. */
static int client_slot(vigil__edge_t *edge, const uint8_t key[16], int64_t now)
{
    uint32_t h = key_hash(key);
    int free_slot = -1;

    for (int i = 0; i < VIGIL__EDGE_PROBE; i++) {
        int s = (int)((h + (uint32_t)i) % VIGIL__EDGE_CLIENTS);
        vigil__edge_client_t *c = &edge->clients[s];
        if (c->used && memcmp(c->key, key, 16) == 0) return s;
        if (free_slot < 0 &&
            (!c->used || (c->conns == 0 && (edge->rate <= 0 || tokens_now(edge, c, now) >= edge->burst))))
            free_slot = s;
    }
    if (free_slot >= 0) {
        vigil__edge_client_t *c = &edge->clients[free_slot];
        memcpy(c->key, key, 16);
        c->used = 1;
        c->conns = 0;
        c->tokens = edge->burst;
        c->t_us = now;
    }
    return free_slot;
}

enum MHD_Result vigil__edge_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    vigil__edge_t *edge = cls;
    uint8_t key[16];
    int refuse = 0;

    (void)addrlen;
    if (edge->max_per_client <= 0 || client_key(edge, addr, key) != 0) return MHD_YES;
    pthread_mutex_lock(&edge->lock);
    int s = client_slot(edge, key, vigil_mono_us());
    if (s >= 0 && edge->clients[s].conns >= edge->max_per_client) refuse = 1;
    pthread_mutex_unlock(&edge->lock);
    if (refuse) count_refused("connections_per_client");
    return refuse ? MHD_NO : MHD_YES;
}

static vigil__edge_conn_t *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        conn ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
    return ci ? ci->socket_context : NULL;
}

/* Tracks a new connection: counted for its client (and cut off at once if
 * that passes the limit: the accept check is not atomic across MHD's
 * threads), in the list with the header deadline. */
static void conn_started(vigil__edge_t *edge, struct MHD_Connection *conn, void **socket_context)
{
    const union MHD_ConnectionInfo *fdi =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *ai =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    vigil__edge_conn_t *ec = calloc(1, sizeof(*ec));
    uint8_t key[16];
    int64_t now = vigil_mono_us();
    int over = 0;

    if (!ec) return; /* untracked: no deadline, no count */
    ec->edge = edge;
    ec->fd = fdi ? fdi->connect_fd : -1;
    ec->client = -1;
    ec->phase = VIGIL__EDGE_HEADERS;
    ec->deadline_us = now + edge->header_timeout_us;
    pthread_mutex_lock(&edge->lock);
    if (edge->max_per_client > 0 && ai && client_key(edge, ai->client_addr, key) == 0) {
        ec->client = client_slot(edge, key, now);
        if (ec->client >= 0) over = ++edge->clients[ec->client].conns > edge->max_per_client;
    }
    ec->next = edge->conns;
    if (edge->conns) edge->conns->prev = ec;
    edge->conns = ec;
    edge->nconns++;
    if (over && ec->fd >= 0) {
        shutdown(ec->fd, SHUT_RDWR);
        ec->killed = 1;
    }
    size_t n = edge->nconns;
    pthread_mutex_unlock(&edge->lock);
    if (over) count_refused("connections_per_client");
    set_open_gauge(n);
    *socket_context = ec;
}

static void conn_closed(vigil__edge_t *edge, void **socket_context)
{
    vigil__edge_conn_t *ec = *socket_context;

    if (!ec) return;
    pthread_mutex_lock(&edge->lock);
    if (ec->prev) ec->prev->next = ec->next;
    else edge->conns = ec->next;
    if (ec->next) ec->next->prev = ec->prev;
    edge->nconns--;
    if (ec->client >= 0 && edge->clients[ec->client].conns > 0) edge->clients[ec->client].conns--;
    size_t n = edge->nconns;
    pthread_mutex_unlock(&edge->lock);
    set_open_gauge(n);
    free(ec);
    *socket_context = NULL;
}

void vigil__edge_notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                                   enum MHD_ConnectionNotificationCode toe)
{
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        conn_started(cls, conn, socket_context);
    else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
        conn_closed(cls, socket_context);
}

static void set_phase(vigil__edge_t *edge, struct MHD_Connection *conn, int phase)
{
    vigil__edge_conn_t *ec = conn_of(conn);
    int64_t now = vigil_mono_us();

    if (!ec) return;
    pthread_mutex_lock(&edge->lock);
    ec->phase = phase;
    ec->deadline_us = phase == VIGIL__EDGE_HEADERS ? now + edge->header_timeout_us
                      : phase == VIGIL__EDGE_BODY  ? now + edge->body_timeout_us
                                                   : 0;
    pthread_mutex_unlock(&edge->lock);
}

void vigil__edge_conn_headers_done(vigil__edge_t *edge, struct MHD_Connection *conn, int body)
{
    set_phase(edge, conn, body ? VIGIL__EDGE_BODY : VIGIL__EDGE_REPLY);
}

void vigil__edge_conn_request_done(vigil__edge_t *edge, struct MHD_Connection *conn)
{
    vigil__edge_conn_t *ec = conn_of(conn);

    if (ec) {
        ec->nargs = 0;
        ec->nul = 0;
    }
    set_phase(edge, conn, VIGIL__EDGE_HEADERS);
}

int vigil__edge_rate_take(vigil__edge_t *edge, const uint8_t *client, int *retry_after_s)
{
    uint8_t key[16];
    int ok = 1;

    if (edge->rate <= 0 || !client || client_key16(edge, client, key) != 0) return 1;
    pthread_mutex_lock(&edge->lock);
    int64_t now = vigil_mono_us();
    int s = client_slot(edge, key, now);
    if (s >= 0) {
        vigil__edge_client_t *c = &edge->clients[s];
        if (tokens_now(edge, c, now) >= 1.0) {
            c->tokens -= 1.0;
        } else {
            ok = 0;
            *retry_after_s = (int)ceil((1.0 - c->tokens) / edge->rate);
            if (*retry_after_s < 1) *retry_after_s = 1;
        }
    }
    pthread_mutex_unlock(&edge->lock);
    if (!ok) count_refused("rate");
    return ok;
}

/* MHD_OPTION_UNESCAPE_CALLBACK: decodes like libmicrohttpd does, and notes
 * on the connection what the decoded text hides from C strings (a NUL) and
 * how many query arguments it has seen. The query was already cut to
 * VIGIL__EDGE_ARGS_MAX arguments (vigil__edge_uri) unless the request line
 * hid it behind a raw NUL byte: such a request is cut off here, before
 * libmicrohttpd runs out of connection memory on it. */
size_t vigil__edge_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    vigil__edge_conn_t *ec = conn_of(conn);
    size_t n = MHD_http_unescape(s);

    (void)cls;
    if (!ec) return n;
    if (strlen(s) != n) ec->nul = 1;
    /* a name and a value per argument, and the path once */
    if (++ec->nargs == 2 * VIGIL__EDGE_ARGS_MAX + 3 && ec->fd >= 0) {
        pthread_mutex_lock(&ec->edge->lock); /* `killed` is the watchdog's too */
        shutdown(ec->fd, SHUT_RDWR);
        ec->killed = 1;
        pthread_mutex_unlock(&ec->edge->lock);
        count_refused("malformed");
    }
    return n;
}

int vigil__edge_conn_local(struct MHD_Connection *conn, struct sockaddr_storage *ss)
{
    const union MHD_ConnectionInfo *fdi =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    socklen_t len = sizeof(*ss);

    if (!fdi || getsockname(fdi->connect_fd, (struct sockaddr *)ss, &len) != 0) return -1;
    return 0;
}

int vigil__edge_conn_nul(struct MHD_Connection *conn)
{
    vigil__edge_conn_t *ec = conn_of(conn);
    return ec ? ec->nul : 0;
}

/* --- the watchdog ------------------------------------------------------------------ */

static void *watchdog_main(void *arg)
{
    vigil__edge_t *edge = arg;

    pthread_mutex_lock(&edge->lock);
    while (!edge->stopping) {
        struct timespec ts;
        int64_t now = vigil_mono_us();
        int headers = 0, bodies = 0;

        for (vigil__edge_conn_t *ec = edge->conns; ec; ec = ec->next) {
            if (ec->killed || !ec->deadline_us || now < ec->deadline_us || ec->fd < 0) continue;
            shutdown(ec->fd, SHUT_RDWR);
            ec->killed = 1;
            if (ec->phase == VIGIL__EDGE_BODY) bodies++;
            else headers++;
        }
        if (headers || bodies) {
            pthread_mutex_unlock(&edge->lock);
            for (int i = 0; i < headers; i++) count_refused("header_timeout");
            for (int i = 0; i < bodies; i++) count_refused("body_timeout");
            VIGIL_LOGF(VIGIL_LOG_DEBUG, "api", NULL, NULL,
                       "closed %d connection(s) past the header deadline, %d past the body "
                       "deadline",
                       headers, bodies);
            pthread_mutex_lock(&edge->lock);
        }
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += WATCHDOG_PERIOD_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&edge->cond, &edge->lock, &ts);
    }
    pthread_mutex_unlock(&edge->lock);
    return NULL;
}

vigil_err_t vigil__edge_start(vigil__edge_t *edge, char *errstr, size_t errstr_size)
{
    int rc;

    if (edge->running) return VIGIL_OK;
    edge->stopping = 0;
    rc = pthread_create(&edge->watchdog, NULL, watchdog_main, edge);
    if (rc)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO,
                            "api: cannot start the connection watchdog: %s", strerror(rc));
    edge->running = 1;
    return VIGIL_OK;
}

void vigil__edge_stop(vigil__edge_t *edge)
{
    if (!edge || !edge->running) return;
    pthread_mutex_lock(&edge->lock);
    edge->stopping = 1;
    pthread_cond_signal(&edge->cond);
    pthread_mutex_unlock(&edge->lock);
    pthread_join(edge->watchdog, NULL);
    edge->running = 0;
}
