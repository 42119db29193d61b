/* The HTTP edge: what every request and connection passes before routing.
 *
 * Main idea: the API's handlers assume a well-formed request from a client
 * that plays fair; the edge makes that true or answers first. It owns
 *   - the listen address (IPv4 or [IPv6]) and the listening socket (edge_listen.c),
 *   - TLS (tls.c: certificate and key files, GnuTLS through libmicrohttpd),
 *   - connections (edge_conn.c): a global and a per-client connection limit,
 *     a deadline for a request's headers (which also ends idle keep-alive
 *     connections) and for its body, and a per-client request rate (token
 *     bucket, 429 with Retry-After), all in one bounded table of clients,
 *   - requests (edge.c): the Host check against DNS rebinding, size limits
 *     (414, 431, 413), query arguments (how many, embedded NUL bytes,
 *     unknown names), CORS, and the security headers of every response.
 *
 * Limits and deadlines apply per client address: an IPv4 address, or the
 * /64 of an IPv6 one. http.limits_exempt names clients they do not apply to
 * (loopback by default: a reverse proxy on the same host, or a local tool).
 * Connections are counted per peer (at accept, before any header); the
 * request rate per client, which behind a proxy in http.trusted_proxies is
 * the address X-Forwarded-For names (forwarded.h).
 *
 * Thread: _new/_free and _start/_stop from the API's controlling thread;
 * everything else from libmicrohttpd's threads (the client table and the
 * connection list have one mutex each, held briefly). */
#ifndef VIGIL_API_EDGE_H
#define VIGIL_API_EDGE_H

#include <microhttpd.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "vigil/config.h"
#include "vigil/err.h"

struct vigil_api;
struct vigil__reply;
struct vigil__req;

#define VIGIL__EDGE_URL_MAX 8192       /* request target (path and query), else 414 */
#define VIGIL__EDGE_HEADERS_MAX 16384  /* all request header lines together, else 431 */
#define VIGIL__EDGE_HEADER_LINES_MAX 100
#define VIGIL__EDGE_ARGS_MAX 64        /* query arguments, else 400 */
/* libmicrohttpd's per-connection memory: the request line, the headers and
 * MHD's records of them, and the response headers. Large enough that every
 * request within the limits above reaches the edge (which then answers
 * in JSON: an 8 KiB target with 16 KB of headers in 99 lines still does);
 * beyond it MHD answers 414 / 431 itself. Not above 32 KiB: libmicrohttpd
 * 0.9 takes a bigger pool from mmap for each connection and unmaps it at
 * close, so every new connection paid page faults and a TLB shootdown
 * (a third of the API's CPU with Connection: close at 96 KiB). */
#define VIGIL__EDGE_CONN_MEMORY (32 * 1024)

typedef struct vigil__edge vigil__edge_t;

/* --- configuration and lifecycle (edge.c) --------------------------------------- */

/* Reads the http.* settings (limits, hosts, origins, TLS files) from cfg.
 * NULL with errstr naming the setting on a bad value. */
vigil__edge_t *vigil__edge_new(const vigil_config_t *cfg, char *errstr, size_t errstr_size);
void vigil__edge_free(vigil__edge_t *edge);
/* Starts / stops the deadline watchdog thread; _stop before MHD_stop_daemon. */
vigil_err_t vigil__edge_start(vigil__edge_t *edge, char *errstr, size_t errstr_size);
void vigil__edge_stop(vigil__edge_t *edge);
/* The bound port (for the Host check); set once the daemon listens. */
void vigil__edge_set_port(vigil__edge_t *edge, int port, int family, const char *host);
/* The certificate chain and key (PEM) for MHD_OPTION_HTTPS_MEM_CERT / _KEY;
 * NULL when TLS is off (http.tls_cert empty). */
const char *vigil__edge_tls_cert(const vigil__edge_t *edge);
const char *vigil__edge_tls_key(const vigil__edge_t *edge);
/* The global connection limit (http.max_connections). */
unsigned vigil__edge_max_connections(const vigil__edge_t *edge);

/* --- listening (edge_listen.c) ----------------------------------------------------- */

/* Splits "HOST:PORT" / "[V6]:PORT" into api->host (a literal, IPv6 without
 * brackets) and api->listen_port; "localhost" is 127.0.0.1, "" and "*" are
 * 0.0.0.0. *family is AF_INET or AF_INET6. */
vigil_err_t vigil__edge_parse_listen(const char *listen, char *host, size_t host_size, int *port,
                                     int *family, char *errstr, size_t errstr_size);
/* Opens n sockets bound to host:port and listening (n > 1 only where
 * SO_REUSEPORT exists: they share the port and the kernel spreads new
 * connections over them; elsewhere n is 1). The count opened into fds, or -1
 * with errstr naming the address (a port in use is refused, also when its
 * holder uses SO_REUSEPORT). */
#define VIGIL__EDGE_DEFER_ACCEPT_S 2 /* Linux: a silent connection waits this long for accept */
int vigil__edge_listen_sockets(const char *configured, const char *host, int port, int family,
                               int n, int *fds, char *errstr, size_t errstr_size);
/* "127.0.0.1:8080" or "[::1]:8080" into buf. */
void vigil__edge_format_addr(const char *host, int port, int family, char *buf, size_t size);

/* --- TLS (tls.c) ---------------------------------------------------------------------
 * The certificate chain and key as PEM text for MHD_OPTION_HTTPS_MEM_CERT /
 * _KEY (NULL when TLS is off). A key file that others may read is warned
 * about; one that does not parse fails the start. */
vigil_err_t vigil__tls_load(const char *cert_path, const char *key_path, char **cert_pem,
                            char **key_pem, char *errstr, size_t errstr_size);
/* Wipes and frees the key. */
void vigil__tls_free_key(char *key_pem);

/* --- connections (edge_conn.c): libmicrohttpd callbacks ------------------------------ */

/* MHD_AcceptPolicyCallback: refuses a client already at its connection limit. */
enum MHD_Result vigil__edge_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);
/* MHD_NotifyConnectionCallback: tracks connections (cls = the edge). */
void vigil__edge_notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                                   enum MHD_ConnectionNotificationCode toe);
/* The request's headers are in: the header deadline is replaced by the body
 * deadline when a body follows (`body` != 0), else by none. */
void vigil__edge_conn_headers_done(vigil__edge_t *edge, struct MHD_Connection *conn, int body);
/* The request was answered: the next one's headers must come within the
 * header deadline (which thereby ends idle keep-alive connections). */
void vigil__edge_conn_request_done(vigil__edge_t *edge, struct MHD_Connection *conn);
/* MHD_OPTION_UNESCAPE_CALLBACK: percent-decodes like libmicrohttpd, noting a
 * decoded NUL byte (see vigil__edge_conn_nul) and cutting off a request line
 * that hides too many query arguments. */
size_t vigil__edge_unescape(void *cls, struct MHD_Connection *conn, char *s);
/* Whether the request's decoded path or a query name or value held a NUL. */
int vigil__edge_conn_nul(struct MHD_Connection *conn);
/* Takes one request from the token bucket of `client` (the request's
 * client, 16 bytes, IPv4 mapped: behind a trusted proxy the forwarded one,
 * forwarded.h; NULL = unknown, not limited): 1 allowed, 0 over the rate
 * (*retry_after_s: seconds until the next one is). */
int vigil__edge_rate_take(vigil__edge_t *edge, const uint8_t *client, int *retry_after_s);

/* --- requests (edge.c) ---------------------------------------------------------------- */

/* The request line as received, before MHD parses it (MHD_OPTION_URI_LOG_CALLBACK
 * calls server.c, which calls this): its length, and whether its query has
 * more than VIGIL__EDGE_ARGS_MAX arguments. An over-long or over-full query is
 * cut off here so that libmicrohttpd 0.9.75 does not run out of connection
 * memory parsing it (which leaves the request unanswered until the
 * connection times out); the request is then answered 414 or 400.
 * Returns the flags to keep with the request: */
#define VIGIL__EDGE_URI_TOO_LONG 1
#define VIGIL__EDGE_URI_TOO_MANY_ARGS 2
int vigil__edge_uri(const char *uri, size_t *uri_len);

/* Checks a request whose headers are in, before it is routed: Host, rate,
 * sizes, query arguments (`params`: the names the route accepts, comma
 * separated; "*" = its handler checks them; NULL = none), CORS preflight.
 * `uri_flags` and `uri_len` are what vigil__edge_uri said. Returns 1 to go
 * on, 0 with *reply filled (answer it now). */
int vigil__edge_check(struct vigil_api *api, struct vigil__req *req, int uri_flags, size_t uri_len,
                      const char *params, struct vigil__reply *reply);
/* The query parameters a route accepts, by its path pattern in server.c's
 * routes[] ("*" = its handler checks them; NULL = none). */
const char *vigil__edge_route_params(const char *path);
/* Answers a CORS preflight (OPTIONS with Origin and
 * Access-Control-Request-Method) for a path whose methods are `allow`: 1
 * when it was one (*reply filled: 204, or 403 for an origin not in
 * http.cors_origins), else 0. */
int vigil__edge_preflight(struct vigil_api *api, struct vigil__req *req, const char *allow,
                          struct vigil__reply *reply);
/* Takes the warehouse's file-system paths (the data directory, an sqlite:
 * file) out of an error reply's body: "DATA_DIR/vigil.db" instead of
 * "/srv/vigil/data/vigil.db". 1 when something was taken out (the caller
 * logs the whole message, which reply->error still holds), else 0. */
int vigil__edge_scrub(struct vigil_api *api, struct vigil__reply *reply);
/* Adds the security headers (and CORS headers for an allowed Origin) to a
 * response; HSTS when `https` (the client used HTTPS: req->https). */
void vigil__edge_response_headers(struct vigil_api *api, struct MHD_Connection *conn, int https,
                                  struct MHD_Response *resp);

#endif
