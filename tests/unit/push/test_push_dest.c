/* Unit tests of where push alerts may go (src/push/dest.c, sender.c's
 * socket callback; docs/push.md "Destinations"): the address classifier on
 * every special range, IPv4 and IPv6 and the IPv6 forms that carry an IPv4
 * address; the policy of push.allow_http_loopback and
 * push.allow_private_endpoints; the endpoint rules at subscribe time (IP
 * literals in every form libcurl reads); and the sender refusing a loopback
 * address at connect time, by name and by literal, while a listening socket
 * sees no connection, then reaching it once allowed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "push/push_int.h"
#include "vigil/clock.h"

static vigil_push_addr_class_t cls_of(const char *text)
{
    uint8_t a[16];
    if (inet_pton(AF_INET, text, a) == 1) return vigil_push_addr_classify(AF_INET, a);
    if (inet_pton(AF_INET6, text, a) == 1) return vigil_push_addr_classify(AF_INET6, a);
    fail_msg("not an address: %s", text);
    return VIGIL_PUSH_ADDR_PUBLIC;
}

#define CLS(text, want)                                                                           \
    do {                                                                                          \
        vigil_push_addr_class_t got_ = cls_of(text);                                              \
        if (got_ != (want))                                                                       \
            fail_msg("%s: %s, want %s", text, vigil_push_addr_class_str(got_),                    \
                     vigil_push_addr_class_str(want));                                            \
    } while (0)

static void test_push_addr_classifier_knows_every_ipv4_range(void **state)
{
    (void)state;
    CLS("8.8.8.8", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("142.250.74.106", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("0.0.0.0", VIGIL_PUSH_ADDR_UNSPECIFIED);
    CLS("0.255.255.255", VIGIL_PUSH_ADDR_UNSPECIFIED);
    CLS("1.0.0.0", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("127.0.0.1", VIGIL_PUSH_ADDR_LOOPBACK);
    CLS("127.255.255.254", VIGIL_PUSH_ADDR_LOOPBACK);
    CLS("126.255.255.255", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("128.0.0.0", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("10.0.0.0", VIGIL_PUSH_ADDR_PRIVATE);
    CLS("10.255.255.255", VIGIL_PUSH_ADDR_PRIVATE);
    CLS("11.0.0.0", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("172.15.255.255", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("172.16.0.0", VIGIL_PUSH_ADDR_PRIVATE);
    CLS("172.31.255.255", VIGIL_PUSH_ADDR_PRIVATE);
    CLS("172.32.0.0", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("192.168.0.1", VIGIL_PUSH_ADDR_PRIVATE);
    CLS("192.168.255.255", VIGIL_PUSH_ADDR_PRIVATE);
    CLS("192.169.0.0", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("100.63.255.255", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("100.64.0.0", VIGIL_PUSH_ADDR_SHARED);
    CLS("100.127.255.255", VIGIL_PUSH_ADDR_SHARED);
    CLS("100.128.0.0", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("169.254.169.254", VIGIL_PUSH_ADDR_LINK_LOCAL); /* cloud metadata */
    CLS("169.254.0.0", VIGIL_PUSH_ADDR_LINK_LOCAL);
    CLS("169.253.255.255", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("169.255.0.0", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("192.0.0.8", VIGIL_PUSH_ADDR_RESERVED);
    CLS("192.0.0.170", VIGIL_PUSH_ADDR_RESERVED);
    CLS("192.0.2.1", VIGIL_PUSH_ADDR_RESERVED);
    CLS("198.51.100.7", VIGIL_PUSH_ADDR_RESERVED);
    CLS("203.0.113.9", VIGIL_PUSH_ADDR_RESERVED);
    CLS("192.88.99.1", VIGIL_PUSH_ADDR_RESERVED);
    CLS("198.18.0.0", VIGIL_PUSH_ADDR_RESERVED);
    CLS("198.19.255.255", VIGIL_PUSH_ADDR_RESERVED);
    CLS("198.20.0.0", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("198.17.255.255", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("224.0.0.1", VIGIL_PUSH_ADDR_MULTICAST);
    CLS("239.255.255.250", VIGIL_PUSH_ADDR_MULTICAST);
    CLS("223.255.255.255", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("240.0.0.1", VIGIL_PUSH_ADDR_RESERVED);
    CLS("255.255.255.255", VIGIL_PUSH_ADDR_RESERVED);
}

static void test_push_addr_classifier_knows_every_ipv6_range(void **state)
{
    (void)state;
    CLS("2001:4860:4860::8888", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("2a00:1450:4001:82b::200a", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("::", VIGIL_PUSH_ADDR_UNSPECIFIED);
    CLS("::1", VIGIL_PUSH_ADDR_LOOPBACK);
    CLS("::2", VIGIL_PUSH_ADDR_RESERVED);
    CLS("fc00::1", VIGIL_PUSH_ADDR_PRIVATE);
    CLS("fd12:3456:789a::1", VIGIL_PUSH_ADDR_PRIVATE);
    CLS("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", VIGIL_PUSH_ADDR_PRIVATE);
    CLS("fbff::1", VIGIL_PUSH_ADDR_RESERVED); /* outside 2000::/3, not ULA */
    CLS("fe80::1", VIGIL_PUSH_ADDR_LINK_LOCAL);
    CLS("febf:ffff::1", VIGIL_PUSH_ADDR_LINK_LOCAL);
    CLS("fec0::1", VIGIL_PUSH_ADDR_PRIVATE); /* site-local, deprecated */
    CLS("ff02::1", VIGIL_PUSH_ADDR_MULTICAST);
    CLS("ff0e::101", VIGIL_PUSH_ADDR_MULTICAST);
    CLS("2001:db8::1", VIGIL_PUSH_ADDR_RESERVED);
    CLS("3fff::1", VIGIL_PUSH_ADDR_RESERVED);
    CLS("2001::1", VIGIL_PUSH_ADDR_RESERVED);      /* Teredo */
    CLS("2001:2::1", VIGIL_PUSH_ADDR_RESERVED);    /* benchmarking */
    CLS("2001:10::1", VIGIL_PUSH_ADDR_RESERVED);   /* ORCHID */
    CLS("2001:20::1", VIGIL_PUSH_ADDR_RESERVED);   /* ORCHIDv2 */
    CLS("2001:2f::1", VIGIL_PUSH_ADDR_RESERVED);
    CLS("2001:30::1", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("2001:200::1", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("100::1", VIGIL_PUSH_ADDR_RESERVED);       /* discard-only */
    CLS("4000::1", VIGIL_PUSH_ADDR_RESERVED);      /* not global unicast */
    CLS("64:ff9b:1::a00:1", VIGIL_PUSH_ADDR_PRIVATE); /* local-use NAT64 */
    CLS("::10.0.0.1", VIGIL_PUSH_ADDR_RESERVED);   /* IPv4-compatible, deprecated */
}

static void test_push_addr_classifier_reads_ipv4_inside_ipv6(void **state)
{
    (void)state;
    /* IPv4-mapped: the form a dual-stack socket sees */
    CLS("::ffff:127.0.0.1", VIGIL_PUSH_ADDR_LOOPBACK);
    CLS("::ffff:7f00:1", VIGIL_PUSH_ADDR_LOOPBACK);
    CLS("::ffff:10.1.2.3", VIGIL_PUSH_ADDR_PRIVATE);
    CLS("::ffff:172.16.0.1", VIGIL_PUSH_ADDR_PRIVATE);
    CLS("::ffff:192.168.1.1", VIGIL_PUSH_ADDR_PRIVATE);
    CLS("::ffff:100.64.0.1", VIGIL_PUSH_ADDR_SHARED);
    CLS("::ffff:169.254.169.254", VIGIL_PUSH_ADDR_LINK_LOCAL);
    CLS("::ffff:0.0.0.0", VIGIL_PUSH_ADDR_UNSPECIFIED);
    CLS("::ffff:224.0.0.1", VIGIL_PUSH_ADDR_MULTICAST);
    CLS("::ffff:8.8.8.8", VIGIL_PUSH_ADDR_PUBLIC);
    /* IPv4-translated (SIIT), NAT64 well-known prefix, 6to4 */
    CLS("::ffff:0:127.0.0.1", VIGIL_PUSH_ADDR_LOOPBACK);
    CLS("::ffff:0:8.8.8.8", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("64:ff9b::169.254.169.254", VIGIL_PUSH_ADDR_LINK_LOCAL);
    CLS("64:ff9b::10.0.0.1", VIGIL_PUSH_ADDR_PRIVATE);
    CLS("64:ff9b::8.8.8.8", VIGIL_PUSH_ADDR_PUBLIC);
    CLS("2002:7f00:1::1", VIGIL_PUSH_ADDR_LOOPBACK);
    CLS("2002:a9fe:a9fe::", VIGIL_PUSH_ADDR_LINK_LOCAL);
    CLS("2002:0808:0808::1", VIGIL_PUSH_ADDR_PUBLIC);
    /* an unknown family is never public */
    uint8_t a[16] = {0};
    assert_int_equal(vigil_push_addr_classify(AF_UNIX, a), VIGIL_PUSH_ADDR_RESERVED);
}

static void test_push_addr_policy_follows_the_allow_flags(void **state)
{
    (void)state;
    for (int allow = 0; allow < 4; allow++) {
        int lo = (allow & (VIGIL_PUSH_ALLOW_LOOPBACK | VIGIL_PUSH_ALLOW_PRIVATE)) != 0;
        int priv = (allow & VIGIL_PUSH_ALLOW_PRIVATE) != 0;
        assert_int_equal(vigil_push_addr_allowed(VIGIL_PUSH_ADDR_PUBLIC, allow), 1);
        assert_int_equal(vigil_push_addr_allowed(VIGIL_PUSH_ADDR_LOOPBACK, allow), lo);
        assert_int_equal(vigil_push_addr_allowed(VIGIL_PUSH_ADDR_PRIVATE, allow), priv);
        assert_int_equal(vigil_push_addr_allowed(VIGIL_PUSH_ADDR_SHARED, allow), priv);
        /* whatever the configuration */
        assert_int_equal(vigil_push_addr_allowed(VIGIL_PUSH_ADDR_LINK_LOCAL, allow), 0);
        assert_int_equal(vigil_push_addr_allowed(VIGIL_PUSH_ADDR_UNSPECIFIED, allow), 0);
        assert_int_equal(vigil_push_addr_allowed(VIGIL_PUSH_ADDR_MULTICAST, allow), 0);
        assert_int_equal(vigil_push_addr_allowed(VIGIL_PUSH_ADDR_RESERVED, allow), 0);
    }
}

static int check(const char *url, int allow, char *errstr, size_t size)
{
    errstr[0] = '\0';
    return vigil_push_endpoint_check(url, allow, errstr, size);
}

static void test_push_endpoint_ip_literals_are_checked_at_subscribe(void **state)
{
    char e[256];
    (void)state;
    static const char *const refused[] = {
        "https://127.0.0.1/p",        "https://127.1/p",
        "https://2130706433/p",       "https://0x7f000001/p",
        "https://0177.0.0.1/p",       "https://0x7f.1/p",
        "https://127.0.0.1./p",       "https://localhost/p",
        "https://LOCALHOST:8443/p",   "https://push.localhost/p",
        "https://localhost./p",       "https://[::1]/p",
        "https://[::ffff:127.0.0.1]/p", "https://[::ffff:7f00:1]/p",
        "https://10.0.0.1/p",         "https://10.1/p",
        "https://172.16.5.4:443/p",   "https://192.168.1.1/p",
        "https://100.64.0.1/p",       "https://169.254.169.254/latest/meta-data/",
        "https://[fe80::1]/p",        "https://[fe80::1%25eth0]/p",
        "https://[fd00::1]/p",        "https://[::ffff:10.0.0.1]/p",
        "https://[::ffff:169.254.169.254]/p", "https://[64:ff9b::a9fe:a9fe]/p",
        "https://0.0.0.0/p",          "https://0/p",
        "https://[::]/p",             "https://224.0.0.1/p",
        "https://[ff02::1]/p",        "https://255.255.255.255/p",
        "https://192.0.2.1/p",        "https://[2001:db8::1]/p",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (check(refused[i], 0, e, sizeof(e)) != -1) fail_msg("accepted: %s", refused[i]);
        assert_non_null(strstr(e, "push services are public hosts"));
        assert_null(strstr(e, "/p")); /* no echo of the URL */
    }
    assert_int_equal(check("https://169.254.169.254/latest/meta-data/", 3, e, sizeof(e)), -1);
    assert_non_null(strstr(e, "link-local"));
    assert_non_null(strstr(e, "never allowed"));
    assert_int_equal(check("https://10.0.0.1/p", 0, e, sizeof(e)), -1);
    assert_non_null(strstr(e, "push.allow_private_endpoints"));
    assert_null(strstr(e, "10.0.0.1"));

    /* public literals and names pass (names are checked again at connect) */
    assert_int_equal(check("https://8.8.8.8/p", 0, e, sizeof(e)), 0);
    assert_int_equal(check("https://[2001:4860:4860::8888]:443/p", 0, e, sizeof(e)), 0);
    assert_int_equal(check("https://fcm.googleapis.com/fcm/send/x", 0, e, sizeof(e)), 0);
    assert_int_equal(check("https://web.push.apple.com/x", 0, e, sizeof(e)), 0);
    assert_int_equal(check("https://updates.push.services.mozilla.com/wpush/v2/x", 0, e,
                           sizeof(e)), 0);
    assert_int_equal(check("https://notlocalhost.example/p", 0, e, sizeof(e)), 0);

    /* the flags open what they say, and no more */
    assert_int_equal(check("https://127.0.0.1/p", VIGIL_PUSH_ALLOW_LOOPBACK, e, sizeof(e)), 0);
    assert_int_equal(check("https://[::1]:8443/p", VIGIL_PUSH_ALLOW_LOOPBACK, e, sizeof(e)), 0);
    assert_int_equal(check("https://10.0.0.1/p", VIGIL_PUSH_ALLOW_LOOPBACK, e, sizeof(e)), -1);
    assert_int_equal(check("https://10.0.0.1/p", VIGIL_PUSH_ALLOW_PRIVATE, e, sizeof(e)), 0);
    assert_int_equal(check("https://[fd00::1]/p", VIGIL_PUSH_ALLOW_PRIVATE, e, sizeof(e)), 0);
    assert_int_equal(check("https://100.64.1.1/p", VIGIL_PUSH_ALLOW_PRIVATE, e, sizeof(e)), 0);
    assert_int_equal(check("https://127.0.0.1/p", VIGIL_PUSH_ALLOW_PRIVATE, e, sizeof(e)), 0);
    assert_int_equal(check("https://[fe80::1]/p", 3, e, sizeof(e)), -1);
    /* http:// stays loopback-only, with push.allow_http_loopback */
    assert_int_equal(check("http://10.0.0.1/p", VIGIL_PUSH_ALLOW_PRIVATE, e, sizeof(e)), -1);
    assert_int_equal(check("http://127.0.0.1:9/p", VIGIL_PUSH_ALLOW_PRIVATE, e, sizeof(e)), -1);
    assert_int_equal(check("http://127.0.0.1:9/p", VIGIL_PUSH_ALLOW_LOOPBACK, e, sizeof(e)), 0);
}

static void test_push_endpoint_host_syntax_is_strict(void **state)
{
    char e[256];
    (void)state;
    static const char *const bad[] = {
        "https://push.example.net:0/p",      "https://push.example.net:65536/p",
        "https://push.example.net:/p",       "https://push.example.net:44a/p",
        "https://push.example.net:000443/p", "https://push_example.net/p",
        "https://push.example.net\\@10.0.0.1/p", "https://[::1/p",
        "https://[zz::1]/p",                 "https://[::1]x/p",
        "https://.example.net/p",            "https://-x.example.net/p",
        "https://exa%6dple.net/p",           "https://[]/p",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (check(bad[i], 3, e, sizeof(e)) != -1) fail_msg("accepted: %s", bad[i]);
    assert_int_equal(check("https://push.example.net:443/p", 0, e, sizeof(e)), 0);
    assert_int_equal(check("https://push.example.net:65535/p", 0, e, sizeof(e)), 0);
    assert_int_equal(check("https://push.example.net./p", 0, e, sizeof(e)), 0);
    assert_int_equal(check("https://push.example.net?x#y", 0, e, sizeof(e)), 0);
}

/* --- connect time -------------------------------------------------------- */

static vigil_push_t *new_push(char *dir, int allow_loopback)
{
    char errstr[256];
    vigil_push_conf_t conf = {0};
    assert_non_null(mkdtemp(dir));
    conf.data_dir = dir;
    conf.subject = "mailto:test@example.com";
    conf.allow_http_loopback = allow_loopback;
    conf.retries = 0;
    conf.timeout_ms = 3000;
    vigil_push_t *push = vigil_push_new(&conf, errstr, sizeof(errstr));
    assert_non_null(push);
    assert_int_equal(vigil_push_start(push, NULL, errstr, sizeof(errstr)), VIGIL_OK);
    return push;
}

static void rm_dir(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* A non-blocking listening socket on 127.0.0.1; its port in *port. */
static int listener(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void send_one(vigil_push_t *push, const char *endpoint)
{
    vigil_push_sub_t sub = {0};
    /* RFC 8291 Appendix A's keys: any valid pair will do */
    snprintf(sub.endpoint, sizeof(sub.endpoint), "%s", endpoint);
    snprintf(sub.p256dh, sizeof(sub.p256dh), "%s",
             "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SR"
             "pkNtoIAiw4");
    snprintf(sub.auth, sizeof(sub.auth), "%s", "BTBZMqHH6r4Tts7J_aSIgg");
    assert_int_equal(vigil__push_enqueue(push, &sub, "{\"kind\":\"test\"}"), 0);
}

/* Waits up to 10 s for counter c to pass before; 1 when it did. */
static int wait_counter(vigil_counter_t *c, uint64_t before)
{
    for (int i = 0; i < 1000; i++) {
        if (vigil_counter_value(c) > before) return 1;
        usleep(10000);
    }
    return 0;
}

static void test_push_sender_refuses_loopback_at_connect_time(void **state)
{
    char dir[] = "/tmp/vigil-pushdest-XXXXXX";
    char url[128];
    int port, lfd = listener(&port);
    (void)state;

    /* Not allowed: a name (the DNS-rebinding case: it passed the subscribe
     * check as a name, which this one would not, but a stored row may hold
     * anything) and a literal are both refused before any connect. */
    vigil_push_t *push = new_push(dir, 0);
    uint64_t refused = vigil_counter_value(push->m_refused);
    uint64_t failed = vigil_counter_value(push->m_failed);
    uint64_t retries = vigil_counter_value(push->m_retries);
    snprintf(url, sizeof(url), "http://localhost:%d/push/by-name", port);
    send_one(push, url);
    assert_true(wait_counter(push->m_refused, refused));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/push/by-literal", port);
    send_one(push, url);
    assert_true(wait_counter(push->m_refused, refused + 1));
    assert_true(vigil_counter_value(push->m_failed) >= failed + 2);
    assert_int_equal(vigil_counter_value(push->m_retries), retries); /* not retried */
    assert_int_equal(accept(lfd, NULL, NULL), -1); /* nobody knocked */
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    vigil_push_free(push);
    rm_dir(dir);

    /* Allowed (push.allow_http_loopback): the same endpoint is reached. */
    char dir2[] = "/tmp/vigil-pushdest-XXXXXX";
    push = new_push(dir2, 1);
    refused = vigil_counter_value(push->m_refused);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/push/allowed", port);
    send_one(push, url);
    int cfd = -1;
    for (int i = 0; i < 1000 && cfd < 0; i++) {
        cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) usleep(10000);
    }
    assert_true(cfd >= 0);
    const char reply[] = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    char buf[8192];
    fcntl(cfd, F_SETFL, 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t got = recv(cfd, buf, sizeof(buf) - 1, 0);
    assert_true(got > 0);
    buf[got] = '\0';
    assert_non_null(strstr(buf, "POST /push/allowed HTTP/1.1"));
    assert_int_equal(send(cfd, reply, sizeof(reply) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(reply) - 1);
    close(cfd);
    assert_int_equal(vigil_counter_value(push->m_refused), refused);
    vigil_push_free(push);
    close(lfd);
    rm_dir(dir2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_addr_classifier_knows_every_ipv4_range),
        cmocka_unit_test(test_push_addr_classifier_knows_every_ipv6_range),
        cmocka_unit_test(test_push_addr_classifier_reads_ipv4_inside_ipv6),
        cmocka_unit_test(test_push_addr_policy_follows_the_allow_flags),
        cmocka_unit_test(test_push_endpoint_ip_literals_are_checked_at_subscribe),
        cmocka_unit_test(test_push_endpoint_host_syntax_is_strict),
        cmocka_unit_test(test_push_sender_refuses_loopback_at_connect_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
