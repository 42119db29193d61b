/* libFuzzer driver: who the client is behind reverse proxies (src/api/forwarded.c)
 * and the http.trusted_proxies list it walks against (vigil__edge_parse_nets,
 * src/api/edge.c). The first byte picks what the rest is:
 *   0  one X-Forwarded-For entry (vigil__fwd_parse_addr)
 *   1  a trusted-proxies list "ADDR[/BITS], ..." (vigil__edge_parse_nets)
 *   2  a whole walk: a flags byte (bit 0: the header was cut), the peer's 16
 *      bytes, a trusted list up to the first '\n', then the X-Forwarded-For
 *      value (vigil__fwd_client)
 *   3  an X-Forwarded-Proto value (vigil__fwd_proto)
 * Besides "no crash, no leak", it checks the promises: an entry taken as an
 * address holds only address characters (no NUL, no name) within
 * VIGIL__FWD_ENTRY_MAX bytes and formats back to the same address; a prefix
 * taken from the list has 0..128 bits written as plain digits, and holds its
 * own address; a walk gives the peer unless it says CLIENT, gives PEER for an
 * untrusted peer, and a CLIENT is an untrusted address or the leftmost entry
 * of a header not cut; X-Forwarded-Proto is "https" or "http" only. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/forwarded.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_forwarded: broken promise: %s\n", what);
    abort();
}

static char *text(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) abort();
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static void entry(const uint8_t *p, size_t n)
{
    uint8_t a[16], b[16];
    char shown[64];

    if (vigil__fwd_parse_addr((const char *)p, n, a) != 0) return;
    if (n > VIGIL__FWD_ENTRY_MAX) broken("an entry longer than VIGIL__FWD_ENTRY_MAX taken");
    for (size_t i = 0; i < n; i++)
        if (!p[i] || (!isxdigit(p[i]) && !strchr(".:[] \t", p[i])))
            broken("an entry with a byte that is no address's taken");
    vigil__fwd_format(a, shown, sizeof shown);
    if (vigil__fwd_parse_addr(shown, strlen(shown), b) != 0 || memcmp(a, b, 16) != 0)
        broken("an address does not read back from its own text");
}

/* The list's items as vigil__edge_split cuts them: each '/' suffix is digits. */
static void check_bits_text(const char *list)
{
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *slash = memchr(p, '/', len);
        if (slash) {
            size_t k = (size_t)(slash + 1 - p), digits = 0;
            while (k < len && isdigit((unsigned char)p[k])) k++, digits++;
            while (k < len && isspace((unsigned char)p[k])) k++;
            if (!digits || k != len) broken("a prefix length that is not plain digits taken");
        }
        p = end ? end + 1 : p + len;
    }
}

static vigil__edge_net_t *nets(const char *list, size_t *n)
{
    vigil__edge_net_t *out = NULL;
    char err[256];

    err[0] = '\0';
    if (vigil__edge_parse_nets("http.trusted_proxies", list, &out, n, err, sizeof err) != 0) {
        if (!err[0]) broken("a list refused without a message");
        if (!strstr(err, "http.trusted_proxies")) broken("a refusal that does not name the key");
        return NULL;
    }
    check_bits_text(list);
    for (size_t i = 0; i < *n; i++) {
        if (out[i].bits < 0 || out[i].bits > 128) broken("a prefix outside 0..128 bits");
        if (!vigil__fwd_in_nets(&out[i], 1, out[i].addr))
            broken("a prefix does not hold its own address");
    }
    return out;
}

static void walk(const uint8_t *p, size_t n)
{
    uint8_t peer[16], client[16];
    size_t ntrusted = 0;

    if (n < 17) return;
    int cut = p[0] & 1;
    memcpy(peer, p + 1, 16);
    p += 17, n -= 17;
    const uint8_t *nl = memchr(p, '\n', n);
    size_t llen = nl ? (size_t)(nl - p) : n;
    char *list = text(p, llen);
    vigil__edge_net_t *trusted = nets(list, &ntrusted);
    free(list);
    if (!trusted) return;
    const uint8_t *x = nl ? nl + 1 : p + n;
    size_t xlen = (size_t)(p + n - x);
    char *xff = text(x, xlen); /* as forwarded.c hands it: NUL-terminated */
    vigil__fwd_t how = vigil__fwd_client(trusted, ntrusted, peer, xff, xlen, cut, client);
    if (!vigil__fwd_in_nets(trusted, ntrusted, peer) && how != VIGIL__FWD_PEER)
        broken("an untrusted peer's header was read");
    if (how != VIGIL__FWD_CLIENT && memcmp(client, peer, 16) != 0)
        broken("a walk that found no client did not give the peer");
    if (how == VIGIL__FWD_CLIENT && vigil__fwd_in_nets(trusted, ntrusted, client)) {
        /* every hop trusted: the leftmost entry, never the piece of a cut one */
        uint8_t first[16];
        const char *comma = memchr(xff, ',', xlen);
        size_t flen = comma ? (size_t)(comma - xff) : xlen;
        if (cut) broken("a trusted client taken from a cut header");
        if (vigil__fwd_parse_addr(xff, flen, first) != 0 || memcmp(first, client, 16) != 0)
            broken("a trusted client that is not the leftmost entry");
    }
    free(xff);
    free(trusted);
}

static void proto(const uint8_t *p, size_t n)
{
    char *v = text(p, n);
    int r = vigil__fwd_proto(v);
    const char *s = v;
    while (*s == ' ' || *s == '\t') s++;
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
    if (r == 1 && !(len == 5 && strncasecmp(s, "https", 5) == 0)) broken("https from another value");
    if (r == 0 && !(len == 4 && strncasecmp(s, "http", 4) == 0)) broken("http from another value");
    if (r < -1 || r > 1) broken("a proto outside -1..1");
    free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 4) {
    case 0:
        entry(p, n);
        break;
    case 1: {
        char *list = text(p, n);
        size_t count = 0;
        free(nets(list, &count));
        free(list);
        break;
    }
    case 2:
        walk(p, n);
        break;
    default:
        proto(p, n);
        break;
    }
    return 0;
}
