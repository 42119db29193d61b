/* The client of a request behind reverse proxies (src/api/forwarded.c):
 * the X-Forwarded-For walk over http.trusted_proxies (chains, IPv6, prefix
 * edges, malformed and oversized headers, a client's own header sent
 * through a trusted proxy), X-Forwarded-Proto, and then a real API: the
 * request rate limit per forwarded client, HSTS for a client that used
 * HTTPS at the proxy, the counts in /metrics, and a bad entry refused at
 * start naming the setting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/forwarded.h"
#include "edge_support.h"
#include "vigil/api.h"
#include "vigil/log.h"
#include "vigil/metrics.h"
#include "vigil/store.h"

/* --- the walk ------------------------------------------------------------------------ */

typedef struct nets {
    vigil__edge_net_t *v;
    size_t n;
} nets_t;

static nets_t nets(const char *list)
{
    nets_t t = {0};
    char errstr[256];
    if (vigil__edge_parse_nets("http.trusted_proxies", list, &t.v, &t.n, errstr, sizeof(errstr)))
        fail_msg("%s: %s", list, errstr);
    return t;
}

static void addr(const char *text, uint8_t out[16])
{
    if (vigil__fwd_parse_addr(text, strlen(text), out)) fail_msg("not an address: %s", text);
}

/* The walk for a peer and header: the result, and the client as text in out. */
static vigil__fwd_t walk_cut(const char *trusted, const char *peer, const char *xff, int cut,
                             char *out, size_t size)
{
    nets_t t = nets(trusted);
    uint8_t p[16], c[16];
    addr(peer, p);
    vigil__fwd_t how = vigil__fwd_client(t.v, t.n, p, xff, xff ? strlen(xff) : 0, cut, c);
    vigil__fwd_format(c, out, size);
    free(t.v);
    return how;
}

static vigil__fwd_t walk(const char *trusted, const char *peer, const char *xff, char *out,
                         size_t size)
{
    return walk_cut(trusted, peer, xff, 0, out, size);
}

#define TRUSTED "10.0.0.0/8, 192.168.1.1, fd00::/8"

static void test_forwarded_untrusted_peer_or_no_list_ignores_the_header(void **state)
{
    char c[64];
    (void)state;
    assert_int_equal(walk(TRUSTED, "203.0.113.5", "198.51.100.7", c, sizeof(c)), VIGIL__FWD_PEER);
    assert_string_equal(c, "203.0.113.5");
    /* the default: trust no one, not even loopback */
    assert_int_equal(walk("", "127.0.0.1", "198.51.100.7", c, sizeof(c)), VIGIL__FWD_PEER);
    assert_string_equal(c, "127.0.0.1");
    /* a trusted peer without the header, or with an empty one, is the client */
    assert_int_equal(walk(TRUSTED, "10.0.0.1", NULL, c, sizeof(c)), VIGIL__FWD_PEER);
    assert_string_equal(c, "10.0.0.1");
    assert_int_equal(walk(TRUSTED, "10.0.0.1", " , ", c, sizeof(c)), VIGIL__FWD_PEER);
    assert_string_equal(c, "10.0.0.1");
}

static void test_forwarded_trusted_chain_gives_the_first_untrusted_from_the_right(void **state)
{
    char c[64];
    (void)state;
    assert_int_equal(walk(TRUSTED, "10.0.0.1", "198.51.100.7", c, sizeof(c)), VIGIL__FWD_CLIENT);
    assert_string_equal(c, "198.51.100.7");
    /* CDN -> nginx -> vigil: each trusted hop skipped */
    assert_int_equal(walk(TRUSTED, "10.0.0.1", "198.51.100.7,10.9.9.9,  192.168.1.1", c,
                          sizeof(c)),
                     VIGIL__FWD_CLIENT);
    assert_string_equal(c, "198.51.100.7");
    /* an untrusted hop in the middle is where the walk stops */
    assert_int_equal(walk(TRUSTED, "10.0.0.1", "198.51.100.7, 203.0.113.1, 10.2.2.2", c,
                          sizeof(c)),
                     VIGIL__FWD_CLIENT);
    assert_string_equal(c, "203.0.113.1");
    /* every hop trusted: the leftmost (nginx's real_ip_recursive) */
    assert_int_equal(walk(TRUSTED, "10.0.0.1", "10.0.0.3, 10.0.0.4", c, sizeof(c)),
                     VIGIL__FWD_CLIENT);
    assert_string_equal(c, "10.0.0.3");
    /* ports and blanks as some proxies write them */
    assert_int_equal(walk(TRUSTED, "10.0.0.1", "\t198.51.100.7:4711 ", c, sizeof(c)),
                     VIGIL__FWD_CLIENT);
    assert_string_equal(c, "198.51.100.7");
}

static void test_forwarded_ipv6_clients_and_proxies(void **state)
{
    char c[64];
    (void)state;
    assert_int_equal(walk(TRUSTED, "fd00::1", "2001:db8::7, fd12:3456::3", c, sizeof(c)),
                     VIGIL__FWD_CLIENT);
    assert_string_equal(c, "2001:db8::7");
    assert_int_equal(walk(TRUSTED, "fd00::1", "[2001:DB8:0:0::7]:443", c, sizeof(c)),
                     VIGIL__FWD_CLIENT);
    assert_string_equal(c, "2001:db8::7"); /* one spelling per address */
    assert_int_equal(walk(TRUSTED, "fd00::1", "[2001:db8::8]", c, sizeof(c)), VIGIL__FWD_CLIENT);
    assert_string_equal(c, "2001:db8::8");
    /* an IPv4 client through an IPv6 proxy, and the other way round */
    assert_int_equal(walk(TRUSTED, "fd00::1", "198.51.100.7", c, sizeof(c)), VIGIL__FWD_CLIENT);
    assert_string_equal(c, "198.51.100.7");
    assert_int_equal(walk(TRUSTED, "10.0.0.1", "2001:db8::9", c, sizeof(c)), VIGIL__FWD_CLIENT);
    assert_string_equal(c, "2001:db8::9");
    /* an IPv4-mapped IPv6 address is that IPv4 address: trusted as such */
    assert_int_equal(walk(TRUSTED, "::ffff:10.0.0.1", "198.51.100.7, ::ffff:10.1.1.1", c,
                          sizeof(c)),
                     VIGIL__FWD_CLIENT);
    assert_string_equal(c, "198.51.100.7");
}

static void test_forwarded_prefix_edges(void **state)
{
    char c[64];
    (void)state;
    /* 10.0.0.0/31 holds .0 and .1, not .2 */
    assert_int_equal(walk("10.0.0.0/31", "10.0.0.1", "198.51.100.7", c, sizeof(c)),
                     VIGIL__FWD_CLIENT);
    assert_int_equal(walk("10.0.0.0/31", "10.0.0.2", "198.51.100.7", c, sizeof(c)),
                     VIGIL__FWD_PEER);
    /* /32 and no prefix are one host; 172.16.0.0/12 ends at 172.31.255.255 */
    assert_int_equal(walk("10.0.0.1/32", "10.0.0.1", "198.51.100.7", c, sizeof(c)),
                     VIGIL__FWD_CLIENT);
    assert_int_equal(walk("172.16.0.0/12", "172.31.255.255", "198.51.100.7", c, sizeof(c)),
                     VIGIL__FWD_CLIENT);
    assert_int_equal(walk("172.16.0.0/12", "172.32.0.0", "198.51.100.7", c, sizeof(c)),
                     VIGIL__FWD_PEER);
    assert_int_equal(walk("172.16.0.0/12", "172.15.255.255", "198.51.100.7", c, sizeof(c)),
                     VIGIL__FWD_PEER);
    /* 0.0.0.0/0 is every IPv4 address and no IPv6 one */
    assert_int_equal(walk("0.0.0.0/0", "203.0.113.9", "198.51.100.7", c, sizeof(c)),
                     VIGIL__FWD_CLIENT);
    assert_int_equal(walk("0.0.0.0/0", "2001:db8::1", "198.51.100.7", c, sizeof(c)),
                     VIGIL__FWD_PEER);
    /* IPv6: a /127 holds ::0 and ::1 of its pair; /64 stops at its last bit */
    assert_int_equal(walk("2001:db8::/127", "2001:db8::1", "198.51.100.7", c, sizeof(c)),
                     VIGIL__FWD_CLIENT);
    assert_int_equal(walk("2001:db8::/127", "2001:db8::2", "198.51.100.7", c, sizeof(c)),
                     VIGIL__FWD_PEER);
    assert_int_equal(walk("2001:db8:0:1::/64", "2001:db8:0:1:ffff:ffff:ffff:ffff", "198.51.100.7",
                          c, sizeof(c)),
                     VIGIL__FWD_CLIENT);
    assert_int_equal(walk("2001:db8:0:1::/64", "2001:db8:0:2::", "198.51.100.7", c, sizeof(c)),
                     VIGIL__FWD_PEER);
    /* a bad entry in the setting is an error naming the setting and the entry */
    vigil__edge_net_t *v = NULL;
    size_t n = 0;
    char errstr[256];
    assert_int_equal(vigil__edge_parse_nets("http.trusted_proxies", "10.0.0.0/8, 10.0.0.0/33",
                                            &v, &n, errstr, sizeof(errstr)),
                     -1);
    assert_non_null(strstr(errstr, "http.trusted_proxies"));
    assert_non_null(strstr(errstr, "10.0.0.0/33"));
    assert_int_equal(vigil__edge_parse_nets("http.trusted_proxies", "proxy.example", &v, &n,
                                            errstr, sizeof(errstr)),
                     -1);
    assert_non_null(strstr(errstr, "proxy.example"));
    /* a prefix length is plain digits (fuzz_forwarded: "/-1" was taken as no
     * prefix, so 10.0.0.0/-1 trusted 10.0.0.0/32; "+8" and " 8" were 8) */
    static const char *const lengths[] = {"10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/ 8", "::1/-0",
                                          "10.0.0.0/", "10.0.0.0/0x8", "fd00::/0008"};
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++)
        if (vigil__edge_parse_nets("http.trusted_proxies", lengths[i], &v, &n, errstr,
                                   sizeof(errstr)) != -1)
            fail_msg("\"%s\" taken as a prefix", lengths[i]);
}

static void test_forwarded_malformed_entries_fall_back_to_the_peer(void **state)
{
    static const char *const bad[] = {
        "unknown",        "_hidden",          "1.2.3",          "1.2.3.4.5",
        "256.1.1.1",      "[2001:db8::1",     "2001:db8::1]",   "[2001:db8::1]x",
        "1.2.3.4:",       "1.2.3.4:123456",   "1.2.3.4:http",   "fe80::1%eth0",
        "host.example",   "host.example:80",  "198.51.100.7,",  "198.51.100.7, , 10.0.0.2",
        "[1.2.3.4]",      "1.2.3.4 5.6.7.8",  "for=198.51.100.7",
    };
    char c[64];
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vigil__fwd_t how = walk(TRUSTED, "10.0.0.1", bad[i], c, sizeof(c));
        if (how != VIGIL__FWD_MALFORMED) fail_msg("\"%s\": %d, not malformed", bad[i], how);
        assert_string_equal(c, "10.0.0.1");
    }
    /* what lies left of the client is never read */
    assert_int_equal(walk(TRUSTED, "10.0.0.1", "garbage, \x01\x02, 198.51.100.7", c, sizeof(c)),
                     VIGIL__FWD_CLIENT);
    assert_string_equal(c, "198.51.100.7");
    /* an entry past 64 bytes is not an address, whatever follows */
    char longentry[128];
    memset(longentry, ' ', sizeof(longentry));
    memcpy(longentry + 100, "198.51.100.7", 13);
    assert_int_equal(walk(TRUSTED, "10.0.0.1", longentry, c, sizeof(c)), VIGIL__FWD_MALFORMED);
    /* a NUL inside an entry ends no address early (fuzz_forwarded) */
    uint8_t a[16];
    assert_int_equal(vigil__fwd_parse_addr("1.2.3.4\0junk", 12, a), -1);
    assert_int_equal(vigil__fwd_parse_addr("::1\0", 4, a), -1);
}

static void test_forwarded_oversized_walks_fall_back_to_the_peer(void **state)
{
    char c[64], xff[1024] = "198.51.100.7";
    (void)state;
    /* VIGIL__FWD_HOPS_MAX entries are walked: the client behind 15 proxies is found */
    for (int i = 0; i < VIGIL__FWD_HOPS_MAX - 1; i++)
        snprintf(xff + strlen(xff), sizeof(xff) - strlen(xff), ", 10.0.0.%d", i + 2);
    assert_int_equal(walk(TRUSTED, "10.0.0.1", xff, c, sizeof(c)), VIGIL__FWD_CLIENT);
    assert_string_equal(c, "198.51.100.7");
    /* one more trusted hop and the walk stops: the peer */
    snprintf(xff + strlen(xff), sizeof(xff) - strlen(xff), ", 10.0.0.99");
    assert_int_equal(walk(TRUSTED, "10.0.0.1", xff, c, sizeof(c)), VIGIL__FWD_OVERSIZE);
    assert_string_equal(c, "10.0.0.1");
    /* a header cut to its tail: the client found before the cut counts; a
     * walk that reaches the cut (a piece of an address) does not */
    assert_int_equal(walk_cut(TRUSTED, "10.0.0.1", "0.0.1, 198.51.100.7, 10.0.0.2", 1, c,
                              sizeof(c)),
                     VIGIL__FWD_CLIENT);
    assert_string_equal(c, "198.51.100.7");
    assert_int_equal(walk_cut(TRUSTED, "10.0.0.1", "0.0.1, 10.0.0.2", 1, c, sizeof(c)),
                     VIGIL__FWD_OVERSIZE);
    assert_string_equal(c, "10.0.0.1");
    assert_int_equal(walk_cut(TRUSTED, "10.0.0.1", "10.0.0.2", 1, c, sizeof(c)),
                     VIGIL__FWD_OVERSIZE);
}

/* A client behind a trusted proxy that appends (nginx's
 * $proxy_add_x_forwarded_for) cannot be any address but its own, whatever
 * it sends: trusted addresses, other clients' addresses, garbage, long
 * lists. So it cannot leave its own sign-in throttle slot. */
static void test_forwarded_client_header_through_a_trusted_proxy_cannot_spoof(void **state)
{
    static const char *const sent[] = {
        "10.0.0.5",                      /* a trusted proxy's address */
        "192.0.2.44",                    /* another client */
        "192.0.2.44, 10.0.0.5",          /* another client behind a trusted hop */
        "unknown",                       /* garbage */
        "2001:db8::44, fd00::5",         /* IPv6 */
        "",                              /* empty */
        ("1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5,6.6.6.6,7.7.7.7,8.8.8.8,9.9.9.9,10.1.1.1,"
         "10.1.1.2,10.1.1.3,10.1.1.4,10.1.1.5,10.1.1.6,10.1.1.7,10.1.1.8,10.1.1.9,10.1.1.10"),
    };
    char xff[512], c[64];
    (void)state;
    for (size_t i = 0; i < sizeof(sent) / sizeof(sent[0]); i++) {
        snprintf(xff, sizeof(xff), "%s%s203.0.113.9", sent[i], sent[i][0] ? ", " : "");
        assert_int_equal(walk(TRUSTED, "10.0.0.1", xff, c, sizeof(c)), VIGIL__FWD_CLIENT);
        if (strcmp(c, "203.0.113.9") != 0) fail_msg("sent \"%s\": client %s", sent[i], c);
        /* through two trusted proxies, the same */
        snprintf(xff, sizeof(xff), "%s%s203.0.113.9, 192.168.1.1", sent[i],
                 sent[i][0] ? ", " : "");
        assert_int_equal(walk(TRUSTED, "10.0.0.1", xff, c, sizeof(c)), VIGIL__FWD_CLIENT);
        assert_string_equal(c, "203.0.113.9");
    }
}

static void test_forwarded_proto_https_http_or_nothing(void **state)
{
    (void)state;
    assert_int_equal(vigil__fwd_proto("https"), 1);
    assert_int_equal(vigil__fwd_proto(" HTTPS\t"), 1);
    assert_int_equal(vigil__fwd_proto("http"), 0);
    assert_int_equal(vigil__fwd_proto("Http"), 0);
    assert_int_equal(vigil__fwd_proto("https, http"), -1);
    assert_int_equal(vigil__fwd_proto("wss"), -1);
    assert_int_equal(vigil__fwd_proto(""), -1);
    assert_int_equal(vigil__fwd_proto(NULL), -1);
}

/* --- a real API ------------------------------------------------------------------------ */

typedef struct fixture {
    char dir[64];
} fixture_t;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int group_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    char errstr[256];
    vigil_store_conf_t conf;

    if (!fx) return -1;
    vigil_log_set_level(getenv("API_TEST_DEBUG") ? VIGIL_LOG_DEBUG : VIGIL_LOG_ERROR);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/vigil-fwd-test-XXXXXX");
    if (!mkdtemp(fx->dir)) return -1;
    vigil_store_conf_init(&conf);
    conf.url = "sqlite";
    conf.data_dir = fx->dir;
    conf.migrate = 1;
    vigil_store_t *store = vigil_store_open(&conf, errstr, sizeof(errstr));
    if (!store) return -1;
    vigil_store_close(store);
    *state = fx;
    return 0;
}

static int group_teardown(void **state)
{
    fixture_t *fx = *state;
    nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

/* GET target from source address src with extra header lines; the status,
 * and the response in *r when r (the caller frees it). */
static int get_from(int port, const char *src, const char *target, const char *headers,
                    http_resp_t *r)
{
    char req[1024];
    http_resp_t tmp;
    int fd = edge_connect("127.0.0.1", port, src), status = -1;

    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sConnection: close\r\n\r\n",
             target, port, headers ? headers : "");
    if (!r) r = &tmp;
    if (fd >= 0 && edge_send(fd, req, strlen(req)) == 0 && edge_read_response(fd, r, 0) == 0) {
        status = r->status;
        if (r == &tmp) http_resp_free(r);
    }
    if (fd >= 0) close(fd);
    return status;
}

/* A counter's value from the process's registry (what /metrics renders). */
static long long metric(const char *line_prefix)
{
    size_t len;
    long long v = 0;
    char *text = vigil_metrics_render(&len);
    const char *p = text ? strstr(text, line_prefix) : NULL;
    if (p) v = atoll(p + strlen(line_prefix));
    free(text);
    return v;
}

static void test_forwarded_rate_limit_and_hsts_per_forwarded_client(void **state)
{
    fixture_t *fx = *state;
    vigil_config_t cfg;
    char errstr[256] = "";
    http_resp_t r;
    int port;

    memset(&cfg, 0, sizeof(cfg));
    cfg.http_listen = "127.0.0.1:0";
    cfg.store_url = "sqlite";
    cfg.data_dir = fx->dir;
    cfg.http_rate_limit = 0.01; /* one request per client, then 429 */
    cfg.http_rate_burst = 1;
    cfg.http_limits_exempt = "127.0.0.3"; /* where /metrics is read from */
    cfg.http_trusted_proxies = "127.0.0.1";
    vigil_api_t *api = vigil_api_new(&cfg, errstr, sizeof(errstr));
    if (!api) fail_msg("vigil_api_new: %s", errstr);
    if (vigil_api_start(api, errstr, sizeof(errstr))) fail_msg("start: %s", errstr);
    port = vigil_api_port(api);

    /* two clients behind the proxy 127.0.0.1: one bucket each */
    assert_int_equal(get_from(port, "127.0.0.1", "/healthz",
                              "X-Forwarded-For: 198.51.100.1\r\n", NULL), 200);
    assert_int_equal(get_from(port, "127.0.0.1", "/healthz",
                              "X-Forwarded-For: 198.51.100.1\r\n", &r), 429);
    assert_non_null(strstr(r.body, "198.51.100.1")); /* the error names the client */
    http_resp_free(&r);
    assert_int_equal(get_from(port, "127.0.0.1", "/healthz",
                              "X-Forwarded-For: 203.0.113.1, 198.51.100.2\r\n", NULL), 200);
    /* the proxy itself is a client of its own */
    assert_int_equal(get_from(port, "127.0.0.1", "/healthz", NULL, NULL), 200);
    /* an untrusted peer's header is not believed: its own bucket, spent */
    assert_int_equal(get_from(port, "127.0.0.2", "/healthz",
                              "X-Forwarded-For: 192.0.2.1\r\n", NULL), 200);
    assert_int_equal(get_from(port, "127.0.0.2", "/healthz",
                              "X-Forwarded-For: 192.0.2.2\r\n", NULL), 429);
    /* a malformed header through the proxy: the proxy's address (spent) */
    assert_int_equal(get_from(port, "127.0.0.1", "/healthz",
                              "X-Forwarded-For: unknown\r\n", NULL), 429);
    /* several header lines are one list, read from the last line's end */
    assert_int_equal(get_from(port, "127.0.0.1", "/healthz",
                              "X-Forwarded-For: 198.51.100.1\r\n"
                              "X-Forwarded-For: 198.51.100.3\r\n", NULL), 200);

    /* HSTS for a client that used HTTPS at a trusted proxy, not otherwise */
    assert_int_equal(get_from(port, "127.0.0.3", "/healthz", "X-Forwarded-Proto: https\r\n", &r),
                     200);
    assert_false(edge_header_has(&r, "Strict-Transport-Security", "max-age"));
    http_resp_free(&r);
    assert_int_equal(get_from(port, "127.0.0.1", "/healthz",
                              "X-Forwarded-For: 198.51.100.4\r\nX-Forwarded-Proto: https\r\n", &r),
                     200);
    assert_true(edge_header_has(&r, "Strict-Transport-Security", "max-age=31536000"));
    http_resp_free(&r);
    assert_int_equal(get_from(port, "127.0.0.1", "/healthz",
                              "X-Forwarded-For: 198.51.100.5\r\nX-Forwarded-Proto: http\r\n", &r),
                     200);
    assert_false(edge_header_has(&r, "Strict-Transport-Security", "max-age"));
    http_resp_free(&r);

    /* each outcome counted */
    assert_true(metric("vigil_http_forwarded_total{result=\"client\"} ") >= 6);
    assert_true(metric("vigil_http_forwarded_total{result=\"untrusted_peer\"} ") >= 3);
    assert_true(metric("vigil_http_forwarded_total{result=\"malformed\"} ") >= 1);
    vigil_api_free(api);

    /* a bad entry stops the API at start, naming the setting */
    cfg.http_trusted_proxies = "127.0.0.1, nginx.local";
    assert_null(vigil_api_new(&cfg, errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "http.trusted_proxies"));
    assert_non_null(strstr(errstr, "nginx.local"));
}

int main(void)
{
    const struct CMUnitTest walk_tests[] = {
        cmocka_unit_test(test_forwarded_untrusted_peer_or_no_list_ignores_the_header),
        cmocka_unit_test(test_forwarded_trusted_chain_gives_the_first_untrusted_from_the_right),
        cmocka_unit_test(test_forwarded_ipv6_clients_and_proxies),
        cmocka_unit_test(test_forwarded_prefix_edges),
        cmocka_unit_test(test_forwarded_malformed_entries_fall_back_to_the_peer),
        cmocka_unit_test(test_forwarded_oversized_walks_fall_back_to_the_peer),
        cmocka_unit_test(test_forwarded_client_header_through_a_trusted_proxy_cannot_spoof),
        cmocka_unit_test(test_forwarded_proto_https_http_or_nothing),
    };
    const struct CMUnitTest api_tests[] = {
        cmocka_unit_test(test_forwarded_rate_limit_and_hsts_per_forwarded_client),
    };
    int failed = cmocka_run_group_tests_name("forwarded_walk", walk_tests, NULL, NULL);
    return failed + cmocka_run_group_tests_name("forwarded_api", api_tests, group_setup,
                                                group_teardown);
}
