/* Who the client of a request is when it came through reverse proxies
 * (http.trusted_proxies, X-Forwarded-For and X-Forwarded-Proto).
 *
 * Main idea: an address in X-Forwarded-For is only as good as the hop that
 * wrote it. Each proxy appends the address it got the request from, so the
 * header read from the right is a chain of claims, each made by the hop to
 * its right: the peer (a trusted proxy) vouches for the rightmost entry; if
 * that is a trusted proxy too, it vouches for the next one; the first
 * untrusted address is the client, and what lies left of it is the client's
 * own say, never read (the standard walk: nginx's real_ip_recursive,
 * Rails' ActionDispatch::RemoteIp). A client that sends its own
 * X-Forwarded-For through a trusted proxy therefore gets the address the
 * proxy appended, whatever it wrote.
 *
 * Bounds: only the rightmost VIGIL__FWD_HEADER_MAX bytes of the header are
 * looked at and at most VIGIL__FWD_HOPS_MAX entries walked; a walk that
 * reaches either bound, or an entry that is not an address, gives the
 * peer's address (counted by the caller), never a guess.
 *
 * Pure functions of their arguments: any thread. */
#ifndef VIGIL_API_FORWARDED_H
#define VIGIL_API_FORWARDED_H

#include <stddef.h>
#include <stdint.h>

#include "api/edge_int.h"

#define VIGIL__FWD_HEADER_MAX 2048 /* bytes of X-Forwarded-For looked at, its rightmost */
#define VIGIL__FWD_HOPS_MAX 16     /* entries walked from the right */
#define VIGIL__FWD_ENTRY_MAX 64    /* bytes of one entry, "[v6]:port" with blanks */

typedef enum vigil__fwd {
    VIGIL__FWD_PEER,      /* no trusted peer, or no X-Forwarded-For: the peer is the client */
    VIGIL__FWD_CLIENT,    /* the client was read from X-Forwarded-For */
    VIGIL__FWD_MALFORMED, /* an entry walked is not an address: the peer */
    VIGIL__FWD_OVERSIZE,  /* the walk passed VIGIL__FWD_HOPS_MAX entries or the
                           * VIGIL__FWD_HEADER_MAX bytes looked at: the peer */
} vigil__fwd_t;

/* One X-Forwarded-For entry of n bytes as 16 bytes (IPv4 as ::ffff:a.b.c.d):
 * "1.2.3.4", "1.2.3.4:8080", "2001:db8::1", "[2001:db8::1]" or
 * "[2001:db8::1]:443", blanks around it allowed. 0 ok; -1 for anything
 * else ("unknown", an obfuscated RFC 7239 name, a zone id, a host name). */
int vigil__fwd_parse_addr(const char *s, size_t n, uint8_t out[16]);

/* Whether a is in one of the n prefixes. */
int vigil__fwd_in_nets(const vigil__edge_net_t *nets, size_t n, const uint8_t a[16]);

/* The client of a request from `peer`. xff is the X-Forwarded-For value
 * (several header lines joined by ","), xff_len bytes, NULL when absent;
 * `cut` says it is the rightmost part of a longer value (its first entry
 * may be partial). *client is the client's address: from the header when
 * VIGIL__FWD_CLIENT (every entry trusted: the leftmost), else the peer's. */
vigil__fwd_t vigil__fwd_client(const vigil__edge_net_t *trusted, size_t ntrusted,
                               const uint8_t peer[16], const char *xff, size_t xff_len, int cut,
                               uint8_t client[16]);

/* An X-Forwarded-Proto value: 1 "https", 0 "http" (any case, blanks
 * around), -1 anything else (a list "https, http" included). */
int vigil__fwd_proto(const char *v);

/* a as text: dotted IPv4 for an IPv4(-mapped) address, else RFC 5952 IPv6. */
void vigil__fwd_format(const uint8_t a[16], char *out, size_t size);

/* Fills req->client_ip, req->client_addr, req->client_known and req->https
 * for a request of req->conn whose headers are in: the one place that says
 * who the client is (the sign-in throttle, the rate limit, the audit log,
 * sessions and log lines all read it). Counts what it did with the headers
 * in vigil_http_forwarded_total{result}. Thread: an MHD thread. */
struct vigil_api;
struct vigil__req;
void vigil__fwd_request(struct vigil_api *api, struct vigil__req *req);

#endif
