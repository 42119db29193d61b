/* The HTTP edge's connections over real sockets: the header deadline (slow
 * clients, idle keep-alive), per-client connection limits against a
 * slowloris attacker on another loopback address, the request rate (429),
 * exempt clients, clients that connect and wait before sending (deferred
 * accept), TLS with a self-signed certificate, and the health and
 * metrics server of stage services. Each test runs its own API with the
 * settings it needs, over an empty migrated warehouse. */
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

#include "edge_support.h"
#include "vigil/api.h"
#include "vigil/log.h"
#include "vigil/store.h"

typedef struct fixture {
    char dir[64];
} fixture_t;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int group_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    char errstr[256];
    vigil_store_conf_t conf;

    if (!fx) return -1;
    vigil_log_set_level(getenv("API_TEST_DEBUG") ? VIGIL_LOG_DEBUG : VIGIL_LOG_ERROR);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/vigil-edgec-test-XXXXXX");
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

static void cfg_init(fixture_t *fx, vigil_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->http_listen = "127.0.0.1:0";
    cfg->store_url = "sqlite";
    cfg->data_dir = fx->dir;
}

static vigil_api_t *start(const vigil_config_t *cfg, int *port)
{
    char errstr[256] = "";
    vigil_api_t *api = vigil_api_new(cfg, errstr, sizeof(errstr));
    if (!api) fail_msg("vigil_api_new: %s", errstr);
    if (vigil_api_start(api, errstr, sizeof(errstr))) fail_msg("start: %s", errstr);
    *port = vigil_api_port(api);
    return api;
}

/* GET /healthz from `src` on a new connection: the status, or -1. */
static int healthz_from(int port, const char *src, long long *ms)
{
    char req[128];
    http_resp_t r;
    long long t0 = edge_now_ms();
    int fd = edge_connect("127.0.0.1", port, src), status = -1;

    snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
             port);
    if (fd >= 0 && edge_send(fd, req, strlen(req)) == 0 && edge_read_response(fd, &r, 0) == 0) {
        status = r.status;
        http_resp_free(&r);
    }
    if (fd >= 0) close(fd);
    if (ms) *ms = edge_now_ms() - t0;
    return status;
}

static void test_edge_slow_headers_are_cut_at_the_deadline(void **state)
{
    fixture_t *fx = *state;
    vigil_config_t cfg;
    int port;

    cfg_init(fx, &cfg);
    cfg.http_header_timeout_s = 1;
    vigil_api_t *api = start(&cfg, &port);
    int fd = edge_connect("127.0.0.1", port, NULL);
    assert_true(fd >= 0);
    const char *line = "GET /healthz HTTP/1.1\r\n";
    assert_int_equal(edge_send(fd, line, strlen(line)), 0);
    long long t0 = edge_now_ms();
    int closed = 0;
    /* one header line every 200 ms: never inactive, yet closed at ~1 s */
    while (edge_now_ms() - t0 < 4000) {
        if (edge_send(fd, "X-Slow: 1\r\n", 11) != 0 || edge_ms_until_closed(fd, 200) >= 0) {
            closed = 1;
            break;
        }
    }
    long long took = edge_now_ms() - t0;
    close(fd);
    if (!closed) fail_msg("a client sending a header line every 200 ms was not closed in 4 s");
    if (took < 800 || took > 2500) fail_msg("closed after %lld ms, want about 1000", took);
    /* a normal request in time is served, and its connection kept */
    assert_int_equal(healthz_from(port, NULL, NULL), 200);
    vigil_api_free(api);
}

static void test_edge_idle_keep_alive_is_closed_after_the_header_deadline(void **state)
{
    fixture_t *fx = *state;
    vigil_config_t cfg;
    char req[128];
    http_resp_t r;
    int port;

    cfg_init(fx, &cfg);
    cfg.http_header_timeout_s = 1;
    vigil_api_t *api = start(&cfg, &port);
    int fd = edge_connect("127.0.0.1", port, NULL);
    snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port);
    assert_int_equal(edge_send(fd, req, strlen(req)), 0);
    assert_int_equal(edge_read_response(fd, &r, 0), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    /* idle for 0.5 s: still open, a second request is served */
    assert_int_equal(edge_ms_until_closed(fd, 500), -1);
    assert_int_equal(edge_send(fd, req, strlen(req)), 0);
    assert_int_equal(edge_read_response(fd, &r, 0), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    /* then idle: closed about 1 s after the last response */
    int ms = edge_ms_until_closed(fd, 4000);
    if (ms < 700 || ms > 2500) fail_msg("idle keep-alive closed after %d ms, want about 1000", ms);
    close(fd);
    vigil_api_free(api);
}

/* The listening socket defers accept until a connection's first bytes are
 * in (TCP_DEFER_ACCEPT on Linux, edge_accept.c): a client that waits before
 * its request is still served, and one that sends nothing is still handed
 * over in the end and closed at the header deadline, not held by the kernel
 * for good. */
static void test_edge_clients_that_wait_before_sending_are_served_then_cut(void **state)
{
    fixture_t *fx = *state;
    vigil_config_t cfg;
    char req[128];
    http_resp_t r;
    int port;

    cfg_init(fx, &cfg);
    cfg.http_header_timeout_s = 1;
    vigil_api_t *api = start(&cfg, &port);
    int waits = edge_connect("127.0.0.1", port, NULL);
    int silent = edge_connect("127.0.0.1", port, NULL);
    assert_true(waits >= 0 && silent >= 0);
    /* others are served while both wait */
    assert_int_equal(healthz_from(port, NULL, NULL), 200);
    usleep(700 * 1000);
    snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port);
    assert_int_equal(edge_send(waits, req, strlen(req)), 0);
    assert_int_equal(edge_read_response(waits, &r, 0), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    close(waits);
    /* the silent one: handed over after the kernel's wait (about 3 s), then
     * the 1 s header deadline; 15 s is far beyond both */
    if (edge_ms_until_closed(silent, 15000) < 0)
        fail_msg("a connection that sent nothing is still open after 15 s");
    close(silent);
    vigil_api_free(api);
}

#define ATTACKERS 120

static void test_edge_slow_clients_do_not_lock_out_others(void **state)
{
    fixture_t *fx = *state;
    vigil_config_t cfg;
    int port, fds[ATTACKERS], open_fds = 0;

    cfg_init(fx, &cfg);
    cfg.http_max_connections_per_client = 8;
    cfg.http_header_timeout_s = 2;
    vigil_api_t *api = start(&cfg, &port);
    /* 127.0.0.2 is another client than 127.0.0.1 (all of 127/8 is loopback) */
    for (int i = 0; i < ATTACKERS; i++) {
        fds[i] = edge_connect("127.0.0.1", port, "127.0.0.2");
        if (fds[i] < 0) {
            if (i == 0) skip(); /* no 127.0.0.2 here */
            continue;
        }
        edge_send(fds[i], "GET /healthz HTTP/1.1\r\n", 23);
    }
    long long t0 = edge_now_ms();
    while (edge_now_ms() - t0 < 1000) {
        for (int i = 0; i < ATTACKERS; i++)
            if (fds[i] >= 0 && edge_send(fds[i], "X-Slow: 1\r\n", 11) != 0) {
                close(fds[i]);
                fds[i] = -1;
            }
        long long ms;
        int status = healthz_from(port, NULL, &ms);
        if (status != 200 || ms > 1000)
            fail_msg("another client under attack: status %d after %lld ms", status, ms);
        usleep(200 * 1000);
    }
    for (int i = 0; i < ATTACKERS; i++)
        if (fds[i] >= 0 && edge_ms_until_closed(fds[i], 1) < 0) open_fds++;
    if (open_fds > 8) fail_msg("the attacker holds %d connections, limit 8", open_fds);
    /* the ones it holds end at the header deadline, however busy */
    t0 = edge_now_ms();
    while (edge_now_ms() - t0 < 3000) {
        open_fds = 0;
        for (int i = 0; i < ATTACKERS; i++)
            if (fds[i] >= 0 && edge_send(fds[i], "X-Slow: 1\r\n", 11) == 0 &&
                edge_ms_until_closed(fds[i], 1) < 0)
                open_fds++;
        if (!open_fds) break;
        usleep(200 * 1000);
    }
    if (open_fds) fail_msg("%d slow connections still open 3 s after the 2 s deadline", open_fds);
    for (int i = 0; i < ATTACKERS; i++)
        if (fds[i] >= 0) close(fds[i]);
    /* and the attacker may connect again, politely, once the server has
     * seen its closes (a loaded machine may take a moment: retried up to 3 s) */
    int status = 0;
    for (t0 = edge_now_ms(); edge_now_ms() - t0 < 3000; usleep(100 * 1000))
        if ((status = healthz_from(port, "127.0.0.2", NULL)) == 200) break;
    assert_int_equal(status, 200);
    vigil_api_free(api);
}

static void test_edge_rate_limit_answers_429_with_retry_after(void **state)
{
    fixture_t *fx = *state;
    vigil_config_t cfg;
    char req[128], v[32];
    http_resp_t r;
    int port, ok = 0, limited = 0;

    cfg_init(fx, &cfg);
    cfg.http_rate_limit = 2;
    cfg.http_rate_burst = 5;
    vigil_api_t *api = start(&cfg, &port);
    int fd = edge_connect("127.0.0.1", port, NULL);
    snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port);
    for (int i = 0; i < 8 && !limited; i++) {
        assert_int_equal(edge_send(fd, req, strlen(req)), 0);
        assert_int_equal(edge_read_response(fd, &r, 0), 0);
        if (r.status == 200) ok++;
        else if (r.status == 429) {
            limited = 1;
            assert_non_null(http_header(&r, "Retry-After", v, sizeof(v)));
            assert_true(atoi(v) >= 1 && atoi(v) <= 2);
            assert_non_null(strstr(r.body, "http.rate_limit"));
        } else fail_msg("status %d", r.status);
        http_resp_free(&r);
    }
    close(fd);
    assert_int_equal(ok, 5);
    assert_true(limited);
    /* per client: another address still has its burst; and the bucket refills */
    assert_int_equal(healthz_from(port, "127.0.0.2", NULL), 200);
    usleep(600 * 1000);
    assert_int_equal(healthz_from(port, NULL, NULL), 200);
    vigil_api_free(api);
}

static void test_edge_exempt_clients_are_not_limited(void **state)
{
    fixture_t *fx = *state;
    vigil_config_t cfg;
    int port, fds[20];

    cfg_init(fx, &cfg);
    cfg.http_rate_limit = 1;
    cfg.http_rate_burst = 1;
    cfg.http_max_connections_per_client = 2;
    cfg.http_limits_exempt = "127.0.0.0/8, ::1";
    vigil_api_t *api = start(&cfg, &port);
    for (int i = 0; i < 20; i++) assert_int_equal(healthz_from(port, NULL, NULL), 200);
    for (int i = 0; i < 20; i++) fds[i] = edge_connect("127.0.0.1", port, NULL);
    usleep(100 * 1000);
    for (int i = 0; i < 20; i++) {
        assert_true(fds[i] >= 0);
        assert_int_equal(edge_ms_until_closed(fds[i], 1), -1);
        close(fds[i]);
    }
    vigil_api_free(api);
    /* a bad entry is an error naming it */
    char errstr[256];
    cfg.http_limits_exempt = "127.0.0.0/8, 10.0.0.0/99";
    assert_null(vigil_api_new(&cfg, errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "10.0.0.0/99"));
}

static int run(const char *cmd, char *out, size_t size)
{
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    if (!p) return -1;
    if (out) {
        n = fread(out, 1, size - 1, p);
        out[n] = '\0';
    } else {
        char buf[256];
        while (fread(buf, 1, sizeof(buf), p) > 0) {
        }
    }
    return pclose(p);
}

static void test_edge_tls_with_a_self_signed_certificate(void **state)
{
    fixture_t *fx = *state;
    vigil_config_t cfg;
    char cert[128], key[128], other[128], cmd[1024], out[8192], errstr[256];
    int port;

    if (run("command -v openssl >/dev/null && command -v curl >/dev/null", NULL, 0) != 0) skip();
    snprintf(cert, sizeof(cert), "%s/cert.pem", fx->dir);
    snprintf(key, sizeof(key), "%s/key.pem", fx->dir);
    snprintf(other, sizeof(other), "%s/other.pem", fx->dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-subj /CN=localhost -days 2 -keyout %s -out %s 2>&1 && "
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out %s 2>&1",
             key, cert, other);
    if (run(cmd, out, sizeof(out)) != 0) fail_msg("openssl: %s", out);
    chmod(key, 0600);
    cfg_init(fx, &cfg);
    cfg.http_tls_cert = cert;
    cfg.http_tls_key = key;
    vigil_api_t *api = start(&cfg, &port);
    snprintf(cmd, sizeof(cmd), "curl -sk -i --max-time 10 https://127.0.0.1:%d/healthz", port);
    if (run(cmd, out, sizeof(out)) != 0) fail_msg("curl over TLS failed: %s", out);
    if (!strstr(out, "HTTP/1.1 200") || !strstr(out, "\"status\"")) fail_msg("over TLS: %s", out);
    if (!strstr(out, "Strict-Transport-Security: max-age=")) fail_msg("no HSTS over TLS: %s", out);
    /* the certificate is the one configured */
    snprintf(cmd, sizeof(cmd),
             "curl -s --max-time 10 --cacert %s --resolve localhost:%d:127.0.0.1 "
             "https://localhost:%d/healthz",
             cert, port, port);
    if (run(cmd, out, sizeof(out)) != 0 || !strstr(out, "\"status\""))
        fail_msg("verified against the certificate: %s", out);
    /* plain HTTP on the TLS port gets no HTTP answer */
    snprintf(cmd, sizeof(cmd), "curl -s -o /dev/null -w '%%{http_code}' --max-time 5 http://127.0.0.1:%d/healthz", port);
    run(cmd, out, sizeof(out));
    if (strcmp(out, "200") == 0) fail_msg("plain HTTP answered on the TLS port");
    vigil_api_free(api);

    /* configuration errors name the setting and the file */
    cfg.http_tls_key = other; /* not the certificate's key */
    assert_null(vigil_api_new(&cfg, errstr, sizeof(errstr)));
    if (!strstr(errstr, "http.tls_key") || !strstr(errstr, "not the key"))
        fail_msg("mismatched key: %s", errstr);
    cfg.http_tls_key = NULL;
    assert_null(vigil_api_new(&cfg, errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "http.tls_key"));
    cfg.http_tls_key = key;
    cfg.http_tls_cert = key; /* a key is not a certificate */
    assert_null(vigil_api_new(&cfg, errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "http.tls_cert"));
    snprintf(other, sizeof(other), "%s/missing.pem", fx->dir);
    cfg.http_tls_cert = other;
    assert_null(vigil_api_new(&cfg, errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "missing.pem"));
}

static void test_edge_monitor_serves_health_and_metrics_only(void **state)
{
    fixture_t *fx = *state;
    vigil_config_t cfg;
    char req[256], errstr[256];
    http_resp_t r;
    const struct {
        const char *target;
        int status;
    } cases[] = {{"/healthz", 200},           {"/metrics", 200},         {"/api/v1/detections", 404},
                 {"/api/v1/cameras", 404},    {"/api/v1/auth/me", 404},  {"/healthz?x=1", 400}};

    cfg_init(fx, &cfg);
    cfg.auth_enabled = 1; /* a stage service has no accounts: not asked for */
    vigil_api_t *api = vigil_api_new_monitor(&cfg, "127.0.0.1:0", errstr, sizeof(errstr));
    if (!api) fail_msg("monitor: %s", errstr);
    if (vigil_api_start(api, errstr, sizeof(errstr))) fail_msg("monitor start: %s", errstr);
    int port = vigil_api_port(api);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
                 cases[i].target, port);
        assert_int_equal(edge_exchange(port, req, strlen(req), &r), 0);
        if (r.status != cases[i].status)
            fail_msg("monitor %s: %d, want %d: %s", cases[i].target, r.status, cases[i].status, r.body);
        if (!edge_header_has(&r, "X-Content-Type-Options", "nosniff"))
            fail_msg("monitor %s: no security headers", cases[i].target);
        http_resp_free(&r);
    }
    snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n");
    assert_int_equal(edge_exchange(port, req, strlen(req), &r), 0);
    assert_int_equal(r.status, 421);
    http_resp_free(&r);
    vigil_api_free(api);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_slow_headers_are_cut_at_the_deadline),
        cmocka_unit_test(test_edge_idle_keep_alive_is_closed_after_the_header_deadline),
        cmocka_unit_test(test_edge_clients_that_wait_before_sending_are_served_then_cut),
        cmocka_unit_test(test_edge_slow_clients_do_not_lock_out_others),
        cmocka_unit_test(test_edge_rate_limit_answers_429_with_retry_after),
        cmocka_unit_test(test_edge_exempt_clients_are_not_limited),
        cmocka_unit_test(test_edge_tls_with_a_self_signed_certificate),
        cmocka_unit_test(test_edge_monitor_serves_health_and_metrics_only),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
