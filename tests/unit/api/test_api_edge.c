/* The HTTP edge over real sockets: request limits (414, 431, 413, 400),
 * query arguments (how many, NUL bytes, unknown names on every route),
 * until=0, the Host check, security headers, CORS, keep-alive, error bodies
 * without paths, and IPv6 listen addresses. One API on 127.0.0.1 port 0
 * over a temp warehouse with one detection; requests written by hand
 * (edge_support.c) where a real client would not send them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api_int.h"
#include "api/edge.h"
#include "api/params.h"
#include "edge_support.h"
#include "vigil/api.h"
#include "vigil/log.h"
#include "vigil/store.h"

#define T0_US INT64_C(1795239062000000) /* 2026-11-21T05:31:02Z */

typedef struct fixture {
    char dir[64];
    vigil_config_t cfg;
    vigil_api_t *api;
    int port;
} fixture_t;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void fill_store(const char *dir)
{
    char errstr[256] = "";
    vigil_store_conf_t conf;
    vigil_store_t *store;
    unsigned char jpeg[64] = {0xff, 0xd8};

    vigil_store_conf_init(&conf);
    conf.url = "sqlite";
    conf.data_dir = dir;
    conf.migrate = 1;
    store = vigil_store_open(&conf, errstr, sizeof(errstr));
    if (!store) fail_msg("cannot open the store: %s", errstr);
    vigil_camera_row_t cam = {.fps = 5, .enabled = 1, .updated_us = T0_US};
    snprintf(cam.id, sizeof(cam.id), "lobby");
    snprintf(cam.name, sizeof(cam.name), "Lobby");
    snprintf(cam.url, sizeof(cam.url), "testsrc");
    assert_int_equal(vigil_store_camera_upsert(store, &cam), VIGIL_OK);
    jpeg[62] = 0xff, jpeg[63] = 0xd9;
    vigil_frame_row_t fr = {.sequence = 1, .capture_time_us = T0_US, .width = 8, .height = 8,
                            .size_bytes = sizeof(jpeg)};
    snprintf(fr.camera_id, sizeof(fr.camera_id), "lobby");
    if (vigil_store_frame_put(store, &fr, jpeg, sizeof(jpeg), errstr, sizeof(errstr)))
        fail_msg("frame_put: %s", errstr);
    vigil_detection_row_t d;
    memset(&d, 0, sizeof(d));
    snprintf(d.camera_id, sizeof(d.camera_id), "lobby");
    snprintf(d.model, sizeof(d.model), "testnet");
    snprintf(d.label, sizeof(d.label), "person");
    d.sequence = 1, d.frame_id = fr.id, d.capture_time_us = T0_US, d.score = 0.9f;
    d.x2 = 4, d.y2 = 4;
    size_t inserted = 0;
    if (vigil_store_detections_put(store, &d, 1, &inserted, errstr, sizeof(errstr)))
        fail_msg("detections_put: %s", errstr);
    vigil_store_close(store);
}

static int group_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    char errstr[256] = "";

    if (!fx) return -1;
    vigil_log_set_level(getenv("API_TEST_DEBUG") ? VIGIL_LOG_DEBUG : VIGIL_LOG_ERROR);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/vigil-edge-test-XXXXXX");
    if (!mkdtemp(fx->dir)) return -1;
    fill_store(fx->dir);
    fx->cfg.http_listen = "127.0.0.1:0";
    fx->cfg.store_url = "sqlite";
    fx->cfg.data_dir = fx->dir;
    fx->cfg.http_allowed_hosts = "cams.example.com, Other.Example:9999";
    fx->cfg.http_cors_origins = "https://dash.example.com";
    fx->api = vigil_api_new(&fx->cfg, errstr, sizeof(errstr));
    if (!fx->api) fail_msg("vigil_api_new: %s", errstr);
    if (vigil_api_start(fx->api, errstr, sizeof(errstr))) fail_msg("start: %s", errstr);
    fx->port = vigil_api_port(fx->api);
    *state = fx;
    return 0;
}

static int group_teardown(void **state)
{
    fixture_t *fx = *state;

    vigil_api_free(fx->api);
    nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

/* Sends "METHOD TARGET HTTP/1.1" with Host 127.0.0.1:port, `headers` (whole
 * lines) and Connection: close; returns the status (the response in *r). */
static int send_req(fixture_t *fx, const char *method, const char *target, const char *headers,
                    http_resp_t *r)
{
    size_t n = strlen(method) + strlen(target) + (headers ? strlen(headers) : 0) + 128;
    char *req = malloc(n);
    assert_non_null(req);
    snprintf(req, n, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sConnection: close\r\n\r\n",
             method, target, fx->port, headers ? headers : "");
    int rc = edge_exchange(fx->port, req, strlen(req), r);
    free(req);
    return rc == 0 ? r->status : -1;
}

static json_t *body_json(const http_resp_t *r)
{
    json_error_t jerr;
    json_t *j = json_loadb(r->body, r->body_len, 0, &jerr);
    if (!j) fail_msg("status %d: not JSON (%s): %.300s", r->status, jerr.text, r->body);
    return j;
}

/* Expects status `want` with a JSON error, naming `param` when not NULL. */
static void expect_error(http_resp_t *r, int want, const char *param, const char *what)
{
    if (r->status != want) fail_msg("%s: status %d, want %d: %.300s", what, r->status, want, r->body);
    json_t *j = body_json(r);
    if (!json_is_string(json_object_get(j, "error"))) fail_msg("%s: no error: %s", what, r->body);
    if (param) {
        const char *p = json_string_value(json_object_get(j, "parameter"));
        if (!p || strcmp(p, param)) fail_msg("%s: parameter %s, want %s", what, p, param);
    }
    json_decref(j);
    http_resp_free(r);
}

static void test_edge_request_target_over_8k_is_414(void **state)
{
    fixture_t *fx = *state;
    char *target = malloc(9000);
    http_resp_t r;

    assert_non_null(target);
    /* 8 KiB exactly passes the edge (and is then an unknown path) */
    memset(target, 'a', 8192);
    target[0] = '/';
    target[8192] = '\0';
    send_req(fx, "GET", target, NULL, &r);
    expect_error(&r, 404, NULL, "8192-byte path");
    snprintf(target, 9000, "/api/v1/detections?label=");
    memset(target + strlen(target), 'x', 8200);
    target[8900] = '\0';
    send_req(fx, "GET", target, NULL, &r);
    expect_error(&r, 414, NULL, "8900-byte target");
    free(target);
}

static void test_edge_headers_over_16k_or_100_lines_are_431(void **state)
{
    fixture_t *fx = *state;
    char *h = malloc(40000);
    http_resp_t r;

    assert_non_null(h);
    snprintf(h, 40000, "X-Big: %0*d\r\n", 17000, 0);
    send_req(fx, "GET", "/healthz", h, &r);
    expect_error(&r, 431, NULL, "17 KB header");
    h[0] = '\0';
    for (int i = 0; i < 120; i++) snprintf(h + strlen(h), 40000 - strlen(h), "X-%d: v\r\n", i);
    send_req(fx, "GET", "/healthz", h, &r);
    expect_error(&r, 431, NULL, "120 header lines");
    /* beyond libmicrohttpd's connection memory it answers 431 itself */
    char *big = malloc(120000);
    snprintf(big, 120000, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: %0*d\r\n\r\n", 110000, 0);
    assert_int_equal(edge_exchange(fx->port, big, strlen(big), &r), 0);
    assert_int_equal(r.status, 431);
    http_resp_free(&r);
    free(big);
    free(h);
}

static void test_edge_body_over_1mib_is_413_declared_lying_and_chunked(void **state)
{
    fixture_t *fx = *state;
    char req[512];
    http_resp_t r;
    int fd;

    /* declared over the limit: answered at once, before any body byte */
    snprintf(req, sizeof(req),
             "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n",
             fx->port);
    fd = edge_connect("127.0.0.1", fx->port, NULL);
    assert_true(fd >= 0);
    assert_int_equal(edge_send(fd, req, strlen(req)), 0);
    long long t0 = edge_now_ms();
    assert_int_equal(edge_read_response(fd, &r, 0), 0);
    assert_true(edge_now_ms() - t0 < 2000);
    expect_error(&r, 413, NULL, "Content-Length 2000000");
    /* and the connection is not kept for the body that would follow */
    assert_true(edge_ms_until_closed(fd, 3000) >= 0);
    close(fd);

    /* a lying Content-Length: 1e18 declared */
    snprintf(req, sizeof(req),
             "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "Content-Length: 999999999999999999\r\n\r\n{}",
             fx->port);
    assert_int_equal(edge_exchange(fx->port, req, strlen(req), &r), 0);
    expect_error(&r, 413, NULL, "Content-Length 999999999999999999");

    /* chunked: counted as it comes, 413 at the end */
    size_t total = 1024 * 1024 + 100, chunk = 65536, n = 0;
    char *body = malloc(total + total / chunk * 16 + 64);
    assert_non_null(body);
    for (size_t sent = 0; sent < total; sent += chunk) {
        size_t c = total - sent < chunk ? total - sent : chunk;
        n += (size_t)sprintf(body + n, "%zx\r\n", c);
        memset(body + n, 'x', c);
        n += c;
        memcpy(body + n, "\r\n", 2);
        n += 2;
    }
    n += (size_t)sprintf(body + n, "0\r\n\r\n");
    snprintf(req, sizeof(req),
             "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
             "Connection: close\r\n\r\n",
             fx->port);
    fd = edge_connect("127.0.0.1", fx->port, NULL);
    assert_true(fd >= 0);
    assert_int_equal(edge_send(fd, req, strlen(req)), 0);
    assert_int_equal(edge_send(fd, body, n), 0);
    assert_int_equal(edge_read_response(fd, &r, 0), 0);
    expect_error(&r, 413, NULL, "chunked 1 MiB + 100");
    close(fd);
    free(body);
}

static void test_edge_many_query_arguments_are_400_at_once(void **state)
{
    fixture_t *fx = *state;
    char *q = malloc(16384), *req = malloc(20000);
    http_resp_t r;

    assert_non_null(q);
    assert_non_null(req);
    /* 64 known ones pass the edge (and are refused by the handler as repeats) */
    strcpy(q, "/api/v1/detections?");
    for (int i = 0; i < 64; i++) strcat(q, i ? "&limit=1" : "limit=1");
    send_req(fx, "GET", q, NULL, &r);
    expect_error(&r, 400, "limit", "64 arguments");
    const int counts[] = {65, 500, 1500};
    for (size_t k = 0; k < 3; k++) {
        int n = counts[k];
        strcpy(q, "/api/v1/stats?");
        for (int i = 0; i < n; i++) strcat(q, i ? "&a" : "a");
        long long t0 = edge_now_ms();
        send_req(fx, "GET", q, NULL, &r);
        if (edge_now_ms() - t0 > 2000) fail_msg("%d arguments: answered after %lld ms", n, edge_now_ms() - t0);
        expect_error(&r, 400, NULL, "many arguments");
    }
    /* a query hidden behind a raw NUL in the request line: cut off at once
     * instead of exhausting the connection's memory (no answer for 30 s) */
    int len = snprintf(req, 20000, "GET /api/v1/stats");
    req[len++] = '\0';
    req[len++] = '?';
    for (int i = 0; i < 1500; i++) len += sprintf(req + len, i ? "&a%d" : "a%d", i);
    len += sprintf(req + len, " HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", fx->port);
    int fd = edge_connect("127.0.0.1", fx->port, NULL);
    assert_true(fd >= 0);
    assert_int_equal(edge_send(fd, req, (size_t)len), 0);
    int ms = edge_ms_until_closed(fd, 5000);
    if (ms < 0) fail_msg("a request line with a raw NUL and 1500 arguments was not closed in 5 s");
    close(fd);
    free(q);
    free(req);
}

static void test_edge_nul_in_query_or_path_is_400(void **state)
{
    fixture_t *fx = *state;
    http_resp_t r;

    send_req(fx, "GET", "/api/v1/detections?limit=5%00x", NULL, &r);
    expect_error(&r, 400, "limit", "limit=5%00x");
    send_req(fx, "GET", "/api/v1/events?camera=lobby%00evil", NULL, &r);
    expect_error(&r, 400, "camera", "camera=lobby%00evil");
    send_req(fx, "GET", "/api/v1/detections?lim%00it=5", NULL, &r);
    expect_error(&r, 400, NULL, "lim%00it=5");
    send_req(fx, "GET", "/api/v1/stats%00.jpg", NULL, &r);
    expect_error(&r, 400, NULL, "/api/v1/stats%00.jpg");
    send_req(fx, "GET", "/healthz", "X-Evil: a\x01b\r\n", &r);
    assert_true(r.status == 200 || r.status == 400);
    http_resp_free(&r);
}

/* Every route of the table, with a made-up parameter: 400 naming it, never
 * silently ignored (routes[] through vigil__api_route_at). */
static void test_edge_unknown_parameters_are_400_on_every_route(void **state)
{
    fixture_t *fx = *state;
    const char *method, *path;
    int prefix, role, checked = 0;

    for (size_t i = 0; vigil__api_route_at(i, &method, &path, &prefix, &role) == 0; i++) {
        char target[256], hdr[128];
        size_t o = 0;
        http_resp_t r;
        for (const char *p = path; *p && o + 8 < sizeof(target); p++) {
            if (*p == '*') o += (size_t)snprintf(target + o, sizeof(target) - o, "lobby");
            else target[o++] = *p;
        }
        target[o] = '\0';
        if (prefix) strcat(target, "1.jpg");
        strcat(target, "?zz_unknown=1");
        /* a body where one is expected, so that only the parameter is wrong */
        snprintf(hdr, sizeof(hdr), "%s",
                 strcmp(method, "GET") && strcmp(method, "DELETE")
                     ? "Content-Type: application/json\r\nContent-Length: 0\r\n"
                     : "");
        int fd = edge_connect("127.0.0.1", fx->port, NULL);
        char req[512];
        snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sConnection: close\r\n\r\n",
                 method, target, fx->port, hdr);
        assert_true(fd >= 0);
        assert_int_equal(edge_send(fd, req, strlen(req)), 0);
        /* the head only: a stream that ignored the parameter would not end */
        if (edge_read_response(fd, &r, 1) != 0) fail_msg("%s %s: no response", method, target);
        close(fd);
        if (r.status != 400)
            fail_msg("%s %s: status %d, want 400 for an unknown parameter", method, target, r.status);
        http_resp_free(&r);
        checked++;
    }
    assert_true(checked >= 10);
}

/* ... and every query parameter the OpenAPI document declares reaches its
 * handler: a value may be refused, the name never as unknown. */
static void test_edge_documented_parameters_reach_their_handlers(void **state)
{
    fixture_t *fx = *state;
    size_t len = 0, checked = 0;
    const char *doc = vigil__api_openapi_document(&len);
    json_error_t jerr;
    json_t *root = json_loadb(doc, len, 0, &jerr), *paths, *ops, *op;
    const char *path, *method;

    if (!root) fail_msg("openapi.json: %s", jerr.text);
    paths = json_object_get(root, "paths");
    json_object_foreach(paths, path, ops) {
        json_object_foreach(ops, method, op) {
            json_t *params = json_object_get(op, "parameters"), *p;
            size_t i;
            if (strcmp(method, "get")) continue;
            json_array_foreach(params, i, p) {
                const char *ref = json_string_value(json_object_get(p, "$ref"));
                if (ref && strrchr(ref, '/'))
                    p = json_object_get(json_object_get(json_object_get(root, "components"),
                                                        "parameters"),
                                        strrchr(ref, '/') + 1);
                const char *in = json_string_value(json_object_get(p, "in"));
                const char *name = json_string_value(json_object_get(p, "name"));
                if (!in || strcmp(in, "query") || !name) continue;
                char target[256], want[128];
                size_t o = 0;
                for (const char *c = path; *c && o + 8 < sizeof(target); c++) {
                    if (*c == '{') {
                        o += (size_t)snprintf(target + o, sizeof(target) - o, "lobby");
                        while (*c && *c != '}') c++;
                    } else {
                        target[o++] = *c;
                    }
                }
                target[o] = '\0';
                /* a control character: refused by every handler, at once */
                snprintf(target + o, sizeof(target) - o, "?%s=%%01", name);
                http_resp_t r;
                send_req(fx, "GET", target, NULL, &r);
                snprintf(want, sizeof(want), "unknown parameter \"%s\"", name);
                if (r.body && strstr(r.body, want))
                    fail_msg("GET %s: the edge refuses a documented parameter: %s", target, r.body);
                http_resp_free(&r);
                checked++;
            }
        }
    }
    json_decref(root);
    assert_true(checked >= 20);
}

static void test_edge_until_0_means_before_the_epoch(void **state)
{
    fixture_t *fx = *state;
    vigil__detection_params_t p;
    vigil__param_error_t err;
    http_resp_t r;
    json_t *j;

    vigil__detection_params_init(&p);
    assert_int_equal(vigil__detection_params_set(&p, "until", "0", &err), 0);
    assert_int_equal(vigil__detection_params_finish(&p, &err), 0);
    assert_true(p.q.until_us < 0 && p.q.until_us != 0);
    /* since=0 is still "from the epoch", i.e. no lower bound */
    vigil__detection_params_init(&p);
    assert_int_equal(vigil__detection_params_set(&p, "since", "0", &err), 0);
    assert_int_equal(p.q.since_us, 0);

    assert_int_equal(send_req(fx, "GET", "/api/v1/detections", NULL, &r), 200);
    j = body_json(&r);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    json_decref(j);
    http_resp_free(&r);
    const char *empty[] = {"/api/v1/detections?until=0", "/api/v1/events?until=0",
                           "/api/v1/detections?until=1970-01-01T00:00:00Z"};
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
        if (send_req(fx, "GET", empty[i], NULL, &r) != 200) fail_msg("%s: %d %s", empty[i], r.status, r.body);
        j = body_json(&r);
        if (json_array_size(json_object_get(j, "items")) != 0)
            fail_msg("%s: %s, want no items", empty[i], r.body);
        json_decref(j);
        http_resp_free(&r);
    }
}

static void test_edge_host_header_must_name_this_api(void **state)
{
    fixture_t *fx = *state;
    char req[512];
    http_resp_t r;
    struct {
        const char *host; /* %d = the port */
        int ok;
    } cases[] = {
        {"127.0.0.1:%d", 1},        {"127.0.0.1", 1},          {"localhost:%d", 1},
        {"LOCALHOST.:%d", 1},       {"cams.example.com", 1},   {"cams.example.com:443", 1},
        {"other.example:9999", 1},  {"other.example", 0},      {"other.example:9998", 0},
        {"evil.example:%d", 0},     {"evil.example", 0},       {"127.0.0.2:%d", 0},
        {"10.1.2.3:%d", 0},         {"[::1]:%d", 0},           {"localhost:1", 0},
        {"127.0.0.1:%d:1", 0},      {"cams.example.com.evil", 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char host[96];
        snprintf(host, sizeof(host), cases[i].host, fx->port);
        snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                 host);
        assert_int_equal(edge_exchange(fx->port, req, strlen(req), &r), 0);
        if (cases[i].ok ? r.status != 200 : r.status != 421)
            fail_msg("Host: %s: status %d, want %d: %s", host, r.status, cases[i].ok ? 200 : 421,
                     r.body);
        if (!cases[i].ok && !strstr(r.body, "http.allowed_hosts"))
            fail_msg("Host: %s: the error does not say what to do: %s", host, r.body);
        http_resp_free(&r);
    }
    /* HTTP/1.0 without Host (no browser sends that) */
    snprintf(req, sizeof(req), "GET /healthz HTTP/1.0\r\n\r\n");
    assert_int_equal(edge_exchange(fx->port, req, strlen(req), &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    /* two Host headers */
    snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nHost: evil\r\n\r\n",
             fx->port);
    assert_int_equal(edge_exchange(fx->port, req, strlen(req), &r), 0);
    expect_error(&r, 400, NULL, "two Host headers");
}

static void expect_security_headers(const http_resp_t *r, const char *what)
{
    static const struct {
        const char *name, *part;
    } want[] = {
        {"Content-Security-Policy", "default-src 'self'"},
        {"Content-Security-Policy", "frame-ancestors 'none'"},
        {"Content-Security-Policy", "base-uri 'none'"},
        {"Content-Security-Policy", "img-src 'self' data: blob:"},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"X-Frame-Options", "DENY"},
        {"Cross-Origin-Opener-Policy", "same-origin"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!edge_header_has(r, want[i].name, want[i].part))
            fail_msg("%s: no %s: %s header:\n%s", what, want[i].name, want[i].part, r->head);
    if (http_header(r, "Strict-Transport-Security", (char[8]){0}, 8))
        fail_msg("%s: HSTS without TLS", what);
}

static void test_edge_security_headers_on_every_response(void **state)
{
    fixture_t *fx = *state;
    const char *targets[] = {"/healthz", "/api/v1/detections", "/nope", "/api/v1/stats?x=1",
                             "/api/v1/frames/999.jpg"};
    http_resp_t r;

    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        send_req(fx, "GET", targets[i], NULL, &r);
        expect_security_headers(&r, targets[i]);
        http_resp_free(&r);
    }
    send_req(fx, "DELETE", "/healthz", NULL, &r);
    assert_int_equal(r.status, 405);
    expect_security_headers(&r, "405");
    http_resp_free(&r);
    send_req(fx, "GET", "/healthz", NULL, &r); /* no CORS header without Origin */
    assert_null(http_header(&r, "Access-Control-Allow-Origin", (char[8]){0}, 8));
    http_resp_free(&r);
}

static void test_edge_cors_closed_unless_origin_listed(void **state)
{
    fixture_t *fx = *state;
    char v[256];
    http_resp_t r;

    /* a page elsewhere: no ACAO (the browser keeps the response from it) */
    send_req(fx, "GET", "/healthz", "Origin: https://evil.example\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_null(http_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    assert_true(edge_header_has(&r, "Vary", "Origin"));
    http_resp_free(&r);
    send_req(fx, "OPTIONS", "/api/v1/detections",
             "Origin: https://evil.example\r\nAccess-Control-Request-Method: GET\r\n", &r);
    assert_int_equal(r.status, 403);
    assert_null(http_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    assert_null(http_header(&r, "Access-Control-Allow-Methods", v, sizeof(v)));
    http_resp_free(&r);
    /* the listed origin, for itself only */
    send_req(fx, "GET", "/healthz", "Origin: https://dash.example.com\r\n", &r);
    assert_non_null(http_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    assert_string_equal(v, "https://dash.example.com");
    assert_true(edge_header_has(&r, "Vary", "Origin"));
    http_resp_free(&r);
    send_req(fx, "OPTIONS", "/api/v1/detections",
             "Origin: https://dash.example.com\r\nAccess-Control-Request-Method: GET\r\n"
             "Access-Control-Request-Headers: authorization\r\n",
             &r);
    assert_int_equal(r.status, 204);
    assert_non_null(http_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    assert_string_equal(v, "https://dash.example.com");
    assert_true(edge_header_has(&r, "Access-Control-Allow-Methods", "GET"));
    assert_true(edge_header_has(&r, "Access-Control-Allow-Headers", "Authorization"));
    http_resp_free(&r);
    /* OPTIONS without a preflight's headers is not a preflight */
    send_req(fx, "OPTIONS", "/api/v1/detections", NULL, &r);
    assert_int_equal(r.status, 405);
    http_resp_free(&r);
}

static void test_edge_keep_alive_serves_requests_on_one_connection(void **state)
{
    fixture_t *fx = *state;
    char req[256];
    http_resp_t r;
    int fd = edge_connect("127.0.0.1", fx->port, NULL);

    assert_true(fd >= 0);
    snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", fx->port);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(edge_send(fd, req, strlen(req)), 0);
        if (edge_read_response(fd, &r, 0) != 0) fail_msg("request %d on one connection: no response", i + 1);
        assert_int_equal(r.status, 200);
        if (edge_header_has(&r, "Connection", "close")) fail_msg("Connection: close:\n%s", r.head);
        http_resp_free(&r);
    }
    /* a request with a body too (its body is read before the answer) */
    snprintf(req, sizeof(req),
             "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
             fx->port);
    assert_int_equal(edge_send(fd, req, strlen(req)), 0);
    assert_int_equal(edge_read_response(fd, &r, 0), 0);
    http_resp_free(&r);
    snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", fx->port);
    assert_int_equal(edge_send(fd, req, strlen(req)), 0);
    assert_int_equal(edge_read_response(fd, &r, 0), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    close(fd);
}

static void test_edge_error_bodies_carry_no_paths(void **state)
{
    char dir[64] = "/tmp/vigil-edge-nopath-XXXXXX", errstr[256] = "";
    vigil_config_t cfg = {.http_listen = "127.0.0.1:0", .store_url = "sqlite"};
    fixture_t tmp = {0};
    http_resp_t r;

    assert_non_null(mkdtemp(dir));
    cfg.data_dir = dir; /* no schema: every store route fails */
    tmp.api = vigil_api_new(&cfg, errstr, sizeof(errstr));
    assert_non_null(tmp.api);
    assert_int_equal(vigil_api_start(tmp.api, errstr, sizeof(errstr)), VIGIL_OK);
    tmp.port = vigil_api_port(tmp.api);
    const char *targets[] = {"/api/v1/detections", "/api/v1/stats", "/api/v1/cameras",
                             "/api/v1/events/1"};
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        send_req(&tmp, "GET", targets[i], NULL, &r);
        if (r.status < 400) fail_msg("%s: status %d without a schema", targets[i], r.status);
        if (strstr(r.body, dir) || strstr(r.body, "/tmp/"))
            fail_msg("%s: the error body names a path: %s", targets[i], r.body);
        http_resp_free(&r);
    }
    send_req(&tmp, "GET", "/api/v1/detections", NULL, &r);
    if (!strstr(r.body, "DATA_DIR")) fail_msg("no DATA_DIR in %s", r.body);
    http_resp_free(&r);
    vigil_api_free(tmp.api);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_edge_listen_accepts_ipv6_and_refuses_bad_addresses(void **state)
{
    fixture_t *fx = *state;
    char host[64], errstr[256];
    int port, family;
    const struct {
        const char *listen, *host;
        int port, family;
    } good[] = {
        {"127.0.0.1:8080", "127.0.0.1", 8080, AF_INET}, {"localhost:0", "127.0.0.1", 0, AF_INET},
        {":80", "0.0.0.0", 80, AF_INET},                {"*:80", "0.0.0.0", 80, AF_INET},
        {"[::1]:8080", "::1", 8080, AF_INET6},          {"[::]:8080", "::", 8080, AF_INET6},
        {"[fe80::1:2]:1", "fe80::1:2", 1, AF_INET6},
    };
    const char *bad[] = {"::1:80", "[::1]", "[::1]8080", "[::1]:", "[nope]:80", "[127.0.0.1]:80",
                         "127.0.0.1:65536", "127.0.0.1:-1", "host.example:80", "[::1]:123456"};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (vigil__edge_parse_listen(good[i].listen, host, sizeof(host), &port, &family, errstr,
                                     sizeof(errstr)))
            fail_msg("%s: %s", good[i].listen, errstr);
        assert_string_equal(host, good[i].host);
        assert_int_equal(port, good[i].port);
        assert_int_equal(family, good[i].family);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errstr[0] = '\0';
        if (!vigil__edge_parse_listen(bad[i], host, sizeof(host), &port, &family, errstr,
                                      sizeof(errstr)))
            fail_msg("%s accepted", bad[i]);
        if (!strstr(errstr, bad[i]) || !strstr(errstr, "[IPV6]:PORT"))
            fail_msg("%s: %s", bad[i], errstr);
    }
    /* a real server on [::1] (skipped where the machine has no IPv6) */
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int have6 = probe >= 0 && bind(probe, (struct sockaddr *)&s6, sizeof(s6)) == 0;
    if (probe >= 0) close(probe);
    if (!have6) skip();
    vigil_config_t cfg = {.http_listen = "[::1]:0", .store_url = "sqlite", .data_dir = fx->dir};
    vigil_api_t *api = vigil_api_new(&cfg, errstr, sizeof(errstr));
    if (!api) fail_msg("[::1]:0: %s", errstr);
    if (vigil_api_start(api, errstr, sizeof(errstr))) fail_msg("[::1]:0: %s", errstr);
    int p6 = vigil_api_port(api);
    char req[256];
    http_resp_t r;
    const char *hosts[] = {"[::1]:%d", "localhost:%d"};
    for (int h = 0; h < 2; h++) {
        char hv[64];
        snprintf(hv, sizeof(hv), hosts[h], p6);
        snprintf(req, sizeof(req), "GET /api/v1/detections HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", hv);
        int fd = edge_connect("::1", p6, NULL);
        assert_true(fd >= 0);
        assert_int_equal(edge_send(fd, req, strlen(req)), 0);
        assert_int_equal(edge_read_response(fd, &r, 0), 0);
        if (r.status != 200) fail_msg("over IPv6, Host %s: %d %s", hv, r.status, r.body);
        http_resp_free(&r);
        close(fd);
    }
    vigil_api_free(api);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_request_target_over_8k_is_414),
        cmocka_unit_test(test_edge_headers_over_16k_or_100_lines_are_431),
        cmocka_unit_test(test_edge_body_over_1mib_is_413_declared_lying_and_chunked),
        cmocka_unit_test(test_edge_many_query_arguments_are_400_at_once),
        cmocka_unit_test(test_edge_nul_in_query_or_path_is_400),
        cmocka_unit_test(test_edge_unknown_parameters_are_400_on_every_route),
        cmocka_unit_test(test_edge_documented_parameters_reach_their_handlers),
        cmocka_unit_test(test_edge_until_0_means_before_the_epoch),
        cmocka_unit_test(test_edge_host_header_must_name_this_api),
        cmocka_unit_test(test_edge_security_headers_on_every_response),
        cmocka_unit_test(test_edge_cors_closed_unless_origin_listed),
        cmocka_unit_test(test_edge_keep_alive_serves_requests_on_one_connection),
        cmocka_unit_test(test_edge_error_bodies_carry_no_paths),
        cmocka_unit_test(test_edge_listen_accepts_ipv6_and_refuses_bad_addresses),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
