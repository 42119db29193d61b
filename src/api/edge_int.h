/* The layout of the HTTP edge (edge.h), shared by edge.c, edge_conn.c and
 * edge_listen.c only. */
#ifndef VIGIL_API_EDGE_INT_H
#define VIGIL_API_EDGE_INT_H

#include <pthread.h>
#include <stdint.h>

#include "api/edge.h"

/* The client table: open addressing over a fixed array, probing this many
 * slots; a slot is reused once its client has no connection and a full
 * bucket (it is then indistinguishable from a new client). Bounded memory
 * whatever the number of addresses that connect. */
#define VIGIL__EDGE_CLIENTS 4096
#define VIGIL__EDGE_PROBE 16

typedef struct vigil__edge_client {
    uint8_t key[16]; /* IPv4 as ::ffff:a.b.c.d, IPv6 as its /64 */
    int used;
    int conns;      /* open connections */
    double tokens;  /* the rate bucket */
    int64_t t_us;   /* when `tokens` was computed (monotonic) */
} vigil__edge_client_t;

/* What the edge keeps per connection (MHD's socket_context). */
enum { VIGIL__EDGE_HEADERS, VIGIL__EDGE_BODY, VIGIL__EDGE_REPLY };
typedef struct vigil__edge_conn {
    struct vigil__edge_conn *prev, *next; /* the edge's list, under its lock */
    struct vigil__edge *edge;
    int fd;
    int client;          /* slot in clients[]; -1 = exempt or not tracked */
    int phase;           /* VIGIL__EDGE_HEADERS, _BODY, _REPLY */
    int64_t deadline_us; /* monotonic; 0 = none */
    int killed;          /* shut down by the watchdog */
    /* The request being parsed (MHD's thread only, no lock): query
     * arguments seen and whether a decoded path, name or value held a NUL. */
    int nargs;
    int nul;
} vigil__edge_conn_t;

/* An address prefix (http.limits_exempt, http.trusted_proxies). */
typedef struct vigil__edge_net {
    uint8_t addr[16]; /* IPv4 as ::ffff:a.b.c.d */
    int bits;
} vigil__edge_net_t;

struct vigil__edge {
    /* settings */
    unsigned max_connections;
    int max_per_client;  /* 0 = no limit */
    double rate, burst;  /* requests per second and burst per client; rate 0 = off */
    int64_t header_timeout_us, body_timeout_us;
    vigil__edge_net_t *exempt;
    size_t nexempt;
    vigil__edge_net_t *trusted; /* http.trusted_proxies (forwarded.c) */
    size_t ntrusted;
    char **hosts; /* http.allowed_hosts, lowercase */
    size_t nhosts;
    char **origins; /* http.cors_origins */
    size_t norigins;
    char *tls_cert, *tls_key; /* PEM; NULL = no TLS */
    /* file-system paths that must not reach an error body, and what they
     * become there (vigil__edge_scrub) */
    char *paths[4];
    const char *path_names[4];
    int npaths;
    /* the bound address */
    int port, family;
    char host[64];
    /* clients and connections */
    pthread_mutex_t lock;
    vigil__edge_client_t *clients; /* VIGIL__EDGE_CLIENTS */
    vigil__edge_conn_t *conns;
    size_t nconns;
    /* the deadline watchdog */
    pthread_cond_t cond;
    pthread_t watchdog;
    int running, stopping;
};

/* Splits a comma-separated list into trimmed, non-empty malloc'd items
 * (lowercased when `lower`). 0 ok, -1 out of memory. */
int vigil__edge_split(const char *list, int lower, char ***items, size_t *n);
void vigil__edge_split_free(char **items, size_t n);
/* Parses the "ADDR[/BITS]" entries of the setting `key` (http.limits_exempt,
 * http.trusted_proxies); -1 with errstr naming key and entry. */
int vigil__edge_parse_nets(const char *key, const char *list, vigil__edge_net_t **nets,
                           size_t *n, char *errstr, size_t errstr_size);
/* The local address a connection was accepted on (for the Host check); 0
 * with *ss filled, -1 if unknown. */
int vigil__edge_conn_local(struct MHD_Connection *conn, struct sockaddr_storage *ss);
/* The 16-byte form of a socket address (IPv4 mapped); -1 if not IP. */
int vigil__edge_addr16(const struct sockaddr *sa, uint8_t out[16]);

#endif
