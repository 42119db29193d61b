/* Where push alerts may go: the address classifier and the endpoint rules
 * (docs/push.md, "Destinations").
 *
 * Main idea: any signed-in user chooses the URL the server POSTs to, so the
 * server must not become a way into the networks only it can reach
 * (loopback services, the LAN, a cloud's metadata service at
 * 169.254.169.254). Real push services are public hosts. Two checks:
 *
 *  - at subscribe time (vigil_push_endpoint_check), an endpoint whose host
 *    is an IP literal (any form libcurl reads: "10.1", "0x7f.1", "[::1]",
 *    "[::ffff:10.0.0.1]") or a localhost name is classified and refused
 *    unless allowed: a clear 400 for the user;
 *  - at connect time (sender.c's socket callback), every address libcurl
 *    is about to connect to is classified the same way and refused unless
 *    allowed. This is the check that holds: a name that resolved to a
 *    public address at subscribe time and to 10.0.0.1 now (DNS rebinding)
 *    is caught here, whatever the URL looked like.
 *
 * The classifier knows IPv4 and IPv6 special ranges (RFC 6890 and the IANA
 * special-purpose registries) and looks through the IPv6 forms that carry an
 * IPv4 address (mapped ::ffff:0:0/96, translated ::ffff:0:0:0/96, NAT64
 * 64:ff9b::/96, 6to4 2002::/16). IPv6 outside 2000::/3 is not global
 * unicast and so never public. Pure functions, any thread. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "push/push_int.h"

static int v4_in(const uint8_t a[4], uint32_t net, int bits)
{
    uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
    uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
    return (v & mask) == (net & mask);
}

#define V4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static vigil_push_addr_class_t classify_v4(const uint8_t a[4])
{
    static const struct {
        uint32_t net;
        int bits;
        vigil_push_addr_class_t cls;
    } ranges[] = {
        /* "this network": a connect to 0.0.0.0 reaches loopback on Linux */
        {V4(0, 0, 0, 0), 8, VIGIL_PUSH_ADDR_UNSPECIFIED},
        {V4(127, 0, 0, 0), 8, VIGIL_PUSH_ADDR_LOOPBACK},
        {V4(10, 0, 0, 0), 8, VIGIL_PUSH_ADDR_PRIVATE},
        {V4(172, 16, 0, 0), 12, VIGIL_PUSH_ADDR_PRIVATE},
        {V4(192, 168, 0, 0), 16, VIGIL_PUSH_ADDR_PRIVATE},
        {V4(100, 64, 0, 0), 10, VIGIL_PUSH_ADDR_SHARED},     /* RFC 6598 carrier-grade NAT */
        {V4(169, 254, 0, 0), 16, VIGIL_PUSH_ADDR_LINK_LOCAL}, /* cloud metadata lives here */
        {V4(192, 0, 0, 0), 24, VIGIL_PUSH_ADDR_RESERVED},     /* IETF protocol assignments */
        {V4(192, 0, 2, 0), 24, VIGIL_PUSH_ADDR_RESERVED},     /* documentation */
        {V4(198, 51, 100, 0), 24, VIGIL_PUSH_ADDR_RESERVED},
        {V4(203, 0, 113, 0), 24, VIGIL_PUSH_ADDR_RESERVED},
        {V4(192, 88, 99, 0), 24, VIGIL_PUSH_ADDR_RESERVED},   /* 6to4 relay anycast (gone) */
        {V4(198, 18, 0, 0), 15, VIGIL_PUSH_ADDR_RESERVED},    /* benchmarking */
        {V4(224, 0, 0, 0), 4, VIGIL_PUSH_ADDR_MULTICAST},
        {V4(240, 0, 0, 0), 4, VIGIL_PUSH_ADDR_RESERVED},      /* and 255.255.255.255 */
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
        if (v4_in(a, ranges[i].net, ranges[i].bits)) return ranges[i].cls;
    return VIGIL_PUSH_ADDR_PUBLIC;
}

/* Whether the first `bits` bits of a equal those of prefix. */
static int v6_in(const uint8_t a[16], const uint8_t prefix[16], int bits)
{
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a, prefix, (size_t)full) != 0) return 0;
    if (!rest) return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[full] & mask) == (prefix[full] & mask);
}

static vigil_push_addr_class_t classify_v6(const uint8_t a[16])
{
    static const uint8_t zero[16] = {0};
    static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t translated[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[16] = {0, 0x64, 0xff, 0x9b};
    static const uint8_t nat64_local[16] = {0, 0x64, 0xff, 0x9b, 0, 1};
    static const uint8_t sixtofour[16] = {0x20, 0x02};
    static const uint8_t teredo[16] = {0x20, 0x01, 0, 0};
    static const uint8_t bench[16] = {0x20, 0x01, 0, 0x02, 0, 0};
    static const uint8_t orchid[16] = {0x20, 0x01, 0, 0x10};
    static const uint8_t orchid2[16] = {0x20, 0x01, 0, 0x20};
    static const uint8_t doc[16] = {0x20, 0x01, 0x0d, 0xb8};
    static const uint8_t doc2[16] = {0x3f, 0xff};
    static const uint8_t ula[16] = {0xfc};
    static const uint8_t link[16] = {0xfe, 0x80};
    static const uint8_t site[16] = {0xfe, 0xc0};
    static const uint8_t multicast[16] = {0xff};
    static const uint8_t global[16] = {0x20};

    if (memcmp(a, zero, 15) == 0 && a[15] <= 1)
        return a[15] ? VIGIL_PUSH_ADDR_LOOPBACK : VIGIL_PUSH_ADDR_UNSPECIFIED;
    /* the forms that carry an IPv4 address: the IPv4 rules decide */
    if (v6_in(a, mapped, 96) || v6_in(a, translated, 96) || v6_in(a, nat64, 96))
        return classify_v4(a + 12);
    if (v6_in(a, sixtofour, 16)) return classify_v4(a + 2);
    if (v6_in(a, zero, 96)) return VIGIL_PUSH_ADDR_RESERVED; /* IPv4-compatible (deprecated) */
    if (v6_in(a, nat64_local, 48)) return VIGIL_PUSH_ADDR_PRIVATE; /* RFC 8215 local-use */
    if (v6_in(a, ula, 7) || v6_in(a, site, 10)) return VIGIL_PUSH_ADDR_PRIVATE;
    if (v6_in(a, link, 10)) return VIGIL_PUSH_ADDR_LINK_LOCAL;
    if (v6_in(a, multicast, 8)) return VIGIL_PUSH_ADDR_MULTICAST;
    if (v6_in(a, teredo, 32) || v6_in(a, bench, 48) || v6_in(a, orchid, 28) ||
        v6_in(a, orchid2, 28) ||
        v6_in(a, doc, 32) || v6_in(a, doc2, 20))
        return VIGIL_PUSH_ADDR_RESERVED;
    /* 100::/64 (discard) and everything else outside 2000::/3 */
    if (!v6_in(a, global, 3)) return VIGIL_PUSH_ADDR_RESERVED;
    return VIGIL_PUSH_ADDR_PUBLIC;
}

vigil_push_addr_class_t vigil_push_addr_classify(int family, const void *addr)
{
    if (family == AF_INET) return classify_v4(addr);
    if (family == AF_INET6) return classify_v6(addr);
    return VIGIL_PUSH_ADDR_RESERVED;
}

const char *vigil_push_addr_class_str(vigil_push_addr_class_t cls)
{
    switch (cls) {
    case VIGIL_PUSH_ADDR_PUBLIC: return "public";
    case VIGIL_PUSH_ADDR_LOOPBACK: return "loopback";
    case VIGIL_PUSH_ADDR_PRIVATE: return "private";
    case VIGIL_PUSH_ADDR_SHARED: return "shared (carrier-grade NAT)";
    case VIGIL_PUSH_ADDR_LINK_LOCAL: return "link-local";
    case VIGIL_PUSH_ADDR_UNSPECIFIED: return "unspecified";
    case VIGIL_PUSH_ADDR_MULTICAST: return "multicast";
    case VIGIL_PUSH_ADDR_RESERVED: return "reserved";
    }
    return "reserved";
}

int vigil_push_addr_allowed(vigil_push_addr_class_t cls, int allow)
{
    switch (cls) {
    case VIGIL_PUSH_ADDR_PUBLIC: return 1;
    case VIGIL_PUSH_ADDR_LOOPBACK:
        return (allow & (VIGIL_PUSH_ALLOW_LOOPBACK | VIGIL_PUSH_ALLOW_PRIVATE)) != 0;
    case VIGIL_PUSH_ADDR_PRIVATE:
    case VIGIL_PUSH_ADDR_SHARED: return (allow & VIGIL_PUSH_ALLOW_PRIVATE) != 0;
    default: return 0; /* link-local (metadata), unspecified, multicast, reserved: never */
    }
}

const char *vigil__push_refusal_hint(vigil_push_addr_class_t cls)
{
    switch (cls) {
    case VIGIL_PUSH_ADDR_LOOPBACK:
        return "allowed only with push.allow_http_loopback or push.allow_private_endpoints";
    case VIGIL_PUSH_ADDR_PRIVATE:
    case VIGIL_PUSH_ADDR_SHARED: return "allowed only with push.allow_private_endpoints";
    default: return "never allowed";
    }
}

static int is_localhost_name(const char *host, size_t len)
{
    if (len && host[len - 1] == '.') len--; /* "localhost." */
    if (len == 9 && strncmp(host, "localhost", 9) == 0) return 1;
    return len > 10 && strncmp(host + len - 10, ".localhost", 10) == 0; /* RFC 6761 */
}

/* The host of origin ("scheme://host[:port]", lowercased): checks its
 * syntax and, when it is an IP literal or a localhost name, its class into
 * *cls (else PUBLIC: a name, decided at connect time). 0, or -1 with the
 * reason in errstr. */
static int origin_host(const char *origin, vigil_push_addr_class_t *cls, int *is_literal,
                       char *errstr, size_t errstr_size)
{
    const char *host = strstr(origin, "://") + 3, *port;
    char text[256];
    size_t hlen;
    uint8_t a6[16];
    struct in_addr a4;

    *cls = VIGIL_PUSH_ADDR_PUBLIC;
    *is_literal = 0;
    if (*host == '[') {
        const char *close = strchr(host, ']');
        size_t n;
        if (!close) goto bad;
        n = (size_t)(close - host - 1);
        port = close + 1;
        if (*port && *port != ':') goto bad;
        if (n == 0 || n >= sizeof(text)) goto bad;
        memcpy(text, host + 1, n);
        text[n] = '\0';
        /* a zone ("fe80::1%25eth0") only goes with link-local addresses */
        char *zone = strchr(text, '%');
        if (zone) *zone = '\0';
        if (inet_pton(AF_INET6, text, a6) != 1) goto bad;
        *cls = zone ? VIGIL_PUSH_ADDR_LINK_LOCAL : vigil_push_addr_classify(AF_INET6, a6);
        *is_literal = 1;
    } else {
        port = strchr(host, ':');
        hlen = port ? (size_t)(port - host) : strlen(host);
        if (!port) port = host + hlen;
        if (hlen == 0 || hlen >= sizeof(text) || host[0] == '.' || host[0] == '-') goto bad;
        for (size_t i = 0; i < hlen; i++) {
            char c = host[i];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
                goto bad;
        }
        memcpy(text, host, hlen);
        text[hlen] = '\0';
        if (hlen > 1 && text[hlen - 1] == '.') text[hlen - 1] = '\0'; /* "10.0.0.1." too */
        /* inet_aton reads every form libcurl and the resolver accept as an
         * IPv4 address: "127.1", "0x7f000001", "2130706433", "017700000001" */
        if (inet_aton(text, &a4)) {
            *cls = vigil_push_addr_classify(AF_INET, &a4.s_addr);
            *is_literal = 1;
        } else if (is_localhost_name(text, strlen(text))) {
            *cls = VIGIL_PUSH_ADDR_LOOPBACK;
        }
    }
    if (*port == ':') {
        long p = 0;
        size_t digits = 0;
        for (const char *c = port + 1; *c; c++, digits++) {
            if (*c < '0' || *c > '9' || digits >= 5) goto bad;
            p = p * 10 + (*c - '0');
        }
        if (digits == 0 || p < 1 || p > 65535) goto bad;
    }
    return 0;
bad:
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                 "endpoint: the host must be a DNS name or an IP address, with an optional "
                 "port 1..65535");
    return -1;
}

/* origin_host: what follows "http://", with an optional :port */
static int host_is_loopback(const char *origin_host)
{
    static const char *const names[] = {"127.0.0.1", "localhost", "[::1]"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t n = strlen(names[i]);
        if (strncmp(origin_host, names[i], n) == 0 &&
            (origin_host[n] == '\0' || origin_host[n] == ':'))
            return 1;
    }
    return 0;
}

int vigil_push_endpoint_check(const char *endpoint, int allow, char *errstr, size_t errstr_size)
{
    char origin[VIGIL_PUSH_ENDPOINT_MAX + 1];
    size_t len = strnlen(endpoint, VIGIL_PUSH_ENDPOINT_MAX + 1);
    vigil_push_addr_class_t cls;
    int literal;

    if (len > VIGIL_PUSH_ENDPOINT_MAX) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "endpoint: longer than %d bytes",
                     VIGIL_PUSH_ENDPOINT_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)endpoint[i] <= 0x20 || (unsigned char)endpoint[i] >= 0x7f ||
            endpoint[i] == '\\') {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                         "endpoint: spaces, controls, backslashes and non-ASCII are not allowed");
            return -1;
        }
    if (vigil_push_origin(endpoint, origin, sizeof(origin))) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                     "endpoint: must be an https:// URL with a host and no credentials");
        return -1;
    }
    if (strncmp(origin, "https://", 8) != 0 &&
        !((allow & VIGIL_PUSH_ALLOW_LOOPBACK) && host_is_loopback(origin + 7))) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                     "endpoint: must be https:// (http:// only to a loopback host with "
                     "push.allow_http_loopback)");
        return -1;
    }
    if (origin_host(origin, &cls, &literal, errstr, errstr_size)) return -1;
    if (!vigil_push_addr_allowed(cls, allow)) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                     "endpoint: its host is %s (address class %s: %s); push services are "
                     "public hosts",
                     literal ? "an IP address" : "a localhost name",
                     vigil_push_addr_class_str(cls), vigil__push_refusal_hint(cls));
        return -1;
    }
    return 0;
}

int vigil_push_dest_allow(const vigil_push_t *push)
{
    if (!push) return 0;
    return (push->conf.allow_http_loopback ? VIGIL_PUSH_ALLOW_LOOPBACK : 0) |
           (push->conf.allow_private_endpoints ? VIGIL_PUSH_ALLOW_PRIVATE : 0);
}

int vigil_push_endpoint_ok(const vigil_push_t *push, const char *endpoint, char *errstr,
                           size_t errstr_size)
{
    return vigil_push_endpoint_check(endpoint, vigil_push_dest_allow(push), errstr, errstr_size);
}
