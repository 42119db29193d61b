/* The client of a request behind reverse proxies (forwarded.h): the walk of
 * X-Forwarded-For from the right over http.trusted_proxies, X-Forwarded-Proto,
 * and the one place a request's client address is decided. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "api/api_int.h"
#include "api/forwarded.h"
#include "vigil/metrics.h"

static int blank(char c)
{
    return c == ' ' || c == '\t';
}

int vigil__fwd_parse_addr(const char *s, size_t n, uint8_t out[16])
{
    char buf[VIGIL__FWD_ENTRY_MAX + 1];
    char *host, *end;
    struct in_addr a4;

    if (n > VIGIL__FWD_ENTRY_MAX) return -1; /* blanks included */
    while (n && blank(*s)) s++, n--;
    while (n && blank(s[n - 1])) n--;
    /* a NUL inside would end the text early: "1.2.3.4\0junk" is not 1.2.3.4 */
    if (n == 0 || memchr(s, '\0', n)) return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    host = buf;
    if (buf[0] == '[') { /* [v6] or [v6]:port */
        end = strchr(buf, ']');
        if (!end) return -1;
        *end++ = '\0';
        host = buf + 1;
        if (*end == ':') {
            if (!end[1] || strspn(end + 1, "0123456789") != strlen(end + 1) || strlen(end + 1) > 5)
                return -1;
        } else if (*end) {
            return -1;
        }
        return inet_pton(AF_INET6, host, out) == 1 ? 0 : -1;
    }
    end = strchr(buf, ':');
    if (end && !strchr(end + 1, ':')) { /* one colon: v4:port */
        if (!end[1] || strspn(end + 1, "0123456789") != strlen(end + 1) || strlen(end + 1) > 5)
            return -1;
        *end = '\0';
    }
    if (inet_pton(AF_INET, host, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        return 0;
    }
    if (end && !strchr(end + 1, ':')) return -1; /* "name:port" */
    return inet_pton(AF_INET6, host, out) == 1 ? 0 : -1;
}

int vigil__fwd_in_nets(const vigil__edge_net_t *nets, size_t n, const uint8_t a[16])
{
    for (size_t i = 0; i < n; i++) {
        int full = nets[i].bits / 8, rest = nets[i].bits % 8;
        if (memcmp(a, nets[i].addr, (size_t)full) != 0) continue;
        if (!rest) return 1;
        uint8_t mask = (uint8_t)(0xff << (8 - rest));
        if ((a[full] & mask) == (nets[i].addr[full] & mask)) return 1;
    }
    return 0;
}

vigil__fwd_t vigil__fwd_client(const vigil__edge_net_t *trusted, size_t ntrusted,
                               const uint8_t peer[16], const char *xff, size_t xff_len, int cut,
                               uint8_t client[16])
{
    size_t end = xff_len, blanks = 0;
    int hops = 0;

    memcpy(client, peer, 16);
    if (!xff || !vigil__fwd_in_nets(trusted, ntrusted, peer)) return VIGIL__FWD_PEER;
    while (blanks < xff_len && (blank(xff[blanks]) || xff[blanks] == ',')) blanks++;
    if (blanks == xff_len) return VIGIL__FWD_PEER; /* present but empty: as absent */
    for (;;) {
        size_t start = end;
        uint8_t a[16];
        while (start > 0 && xff[start - 1] != ',') start--;
        /* the first entry of a cut header may be a piece of an address */
        if (start == 0 && cut) return VIGIL__FWD_OVERSIZE;
        if (++hops > VIGIL__FWD_HOPS_MAX) return VIGIL__FWD_OVERSIZE;
        if (vigil__fwd_parse_addr(xff + start, end - start, a) != 0) return VIGIL__FWD_MALFORMED;
        if (!vigil__fwd_in_nets(trusted, ntrusted, a) || start == 0) {
            /* the first untrusted address, or the leftmost when every hop
             * is a trusted proxy (as nginx's real_ip_recursive does) */
            memcpy(client, a, 16);
            return VIGIL__FWD_CLIENT;
        }
        end = start - 1; /* before the comma */
    }
}

int vigil__fwd_proto(const char *v)
{
    size_t n;

    if (!v) return -1;
    while (blank(*v)) v++;
    n = strlen(v);
    while (n && blank(v[n - 1])) n--;
    if (n == 5 && strncasecmp(v, "https", 5) == 0) return 1;
    if (n == 4 && strncasecmp(v, "http", 4) == 0) return 0;
    return -1;
}

void vigil__fwd_format(const uint8_t a[16], char *out, size_t size)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    snprintf(out, size, "?");
    if (memcmp(a, mapped, 12) == 0)
        inet_ntop(AF_INET, a + 12, out, (socklen_t)size);
    else
        inet_ntop(AF_INET6, a, out, (socklen_t)size);
}

/* --- per request ------------------------------------------------------------------ */

static void count(const char *result)
{
    vigil_counter_t *c = vigil_metrics_counter(
        "vigil_http_forwarded_total",
        "Requests that carried X-Forwarded-For or X-Forwarded-Proto, by what was made of them "
        "(client: the client read from the header; untrusted_peer: ignored, the peer is not "
        "in http.trusted_proxies; malformed, oversize: the peer's address used instead; "
        "proto_malformed: X-Forwarded-Proto ignored).",
        "result", result, NULL, NULL);
    if (c) vigil_counter_inc(c);
}

/* X-Forwarded-For's lines joined by ",", the rightmost VIGIL__FWD_HEADER_MAX
 * bytes of them (MHD_KeyValueIterator). */
typedef struct xff_buf {
    char text[VIGIL__FWD_HEADER_MAX + 1];
    size_t len;
    int lines;
    int cut;
} xff_buf_t;

static void xff_append(xff_buf_t *b, const char *s, size_t n)
{
    if (n >= VIGIL__FWD_HEADER_MAX) { /* only its tail can stay */
        memcpy(b->text, s + n - VIGIL__FWD_HEADER_MAX, VIGIL__FWD_HEADER_MAX);
        b->len = VIGIL__FWD_HEADER_MAX;
        b->cut = 1;
        return;
    }
    if (b->len + n > VIGIL__FWD_HEADER_MAX) { /* drop the oldest bytes */
        size_t drop = b->len + n - VIGIL__FWD_HEADER_MAX;
        memmove(b->text, b->text + drop, b->len - drop);
        b->len -= drop;
        b->cut = 1;
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
}

static enum MHD_Result xff_line(void *cls, enum MHD_ValueKind kind, const char *key,
                                size_t key_size, const char *value, size_t value_size)
{
    xff_buf_t *b = cls;

    (void)kind;
    (void)key_size;
    if (!key || strcasecmp(key, "X-Forwarded-For") != 0) return MHD_YES;
    if (b->lines++) xff_append(b, ",", 1);
    if (value) xff_append(b, value, value_size);
    return MHD_YES;
}

void vigil__fwd_request(vigil_api_t *api, vigil__req_t *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const vigil__edge_t *edge = api->edge;
    const char *proto =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
    uint8_t peer[16];
    xff_buf_t xff = {.len = 0};
    vigil__fwd_t how;

    req->https = api->tls;
    req->client_known = 0;
    snprintf(req->client_ip, sizeof(req->client_ip), "?");
    if (!ci || vigil__edge_addr16(ci->client_addr, peer) != 0) return; /* not IP */
    req->client_known = 1;
    memcpy(req->client_addr, peer, 16);
    vigil__fwd_format(peer, req->client_ip, sizeof(req->client_ip));
    MHD_get_connection_values_n(req->conn, MHD_HEADER_KIND, xff_line, &xff);
    if (!xff.lines && !proto) return;
    if (!vigil__fwd_in_nets(edge->trusted, edge->ntrusted, peer)) {
        count("untrusted_peer"); /* a client's own header, or a proxy not configured */
        return;
    }
    if (proto && !api->tls) {
        int https = vigil__fwd_proto(proto);
        if (https < 0)
            count("proto_malformed");
        else
            req->https = https;
    }
    if (!xff.lines) return;
    xff.text[xff.len] = '\0';
    how = vigil__fwd_client(edge->trusted, edge->ntrusted, peer, xff.text, xff.len, xff.cut,
                            req->client_addr);
    vigil__fwd_format(req->client_addr, req->client_ip, sizeof(req->client_ip));
    count(how == VIGIL__FWD_CLIENT      ? "client"
          : how == VIGIL__FWD_MALFORMED ? "malformed"
          : how == VIGIL__FWD_OVERSIZE  ? "oversize"
                                        : "empty");
}
