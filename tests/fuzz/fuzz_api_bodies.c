/* libFuzzer driver: the API's JSON request bodies, through the real server.
 *
 * Main idea: one vigil_api (auth off, a temporary warehouse with one camera
 * made through the API) serves loopback for the whole run; each input is
 * one request: its first byte picks a route that takes a body (cameras,
 * rules, zones, lines, review, users, tokens, sign-in, setup, passkey
 * sign-in), the rest is the body, sent as application/json. A 5xx answer
 * (other than 503 "busy"), no answer twice in a row, or a sanitizer report
 * is a finding.
 * The camera connection test (it opens URLs) is not among the routes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "vigil/api.h"
#include "vigil/config.h"
#include "vigil/log.h"
#include "vigil/store.h"

static const struct target {
    const char *method, *path, *headers;
} targets[] = {
    {"POST", "/api/v1/cameras", ""},
    {"PATCH", "/api/v1/cameras/fuzzcam", ""},
    {"PUT", "/api/v1/cameras/fuzzcam/rules", "If-Match: *\r\n"},
    {"POST", "/api/v1/cameras/fuzzcam/zones", ""},
    {"PUT", "/api/v1/cameras/fuzzcam/zones/door", "If-Match: *\r\n"},
    {"POST", "/api/v1/cameras/fuzzcam/lines", ""},
    {"PUT", "/api/v1/cameras/fuzzcam/lines/gate", "If-Match: *\r\n"},
    {"POST", "/api/v1/events/review", ""},
    {"PATCH", "/api/v1/events/1", ""},
    {"POST", "/api/v1/users", ""},
    {"PATCH", "/api/v1/users/fuzzer", ""},
    {"POST", "/api/v1/tokens", ""},
    {"POST", "/api/v1/auth/login", ""},
    {"POST", "/api/v1/auth/setup", ""},
    {"POST", "/api/v1/auth/passkeys/login", ""},
};
#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

static int port = -1;

/* One request; returns the status, or -1 if no answer came. */
static int request(const char *method, const char *path, const char *headers, const uint8_t *body,
                   size_t len)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {.tv_sec = 30};
    char head[512], resp[64];
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
    ssize_t n;
    size_t got = 0;

    if (fd < 0) return -1;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) goto out;
    int hn = snprintf(head, sizeof(head),
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
                      "Content-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n",
                      method, path, port, headers, len);
    if (send(fd, head, (size_t)hn, MSG_NOSIGNAL) != hn) goto out;
    if (len && send(fd, body, len, MSG_NOSIGNAL) != (ssize_t)len) goto out;
    while (got < sizeof(resp) - 1 && (n = recv(fd, resp + got, sizeof(resp) - 1 - got, 0)) > 0)
        got += (size_t)n;
    resp[got] = '\0';
    if (got >= 12 && strncmp(resp, "HTTP/1.1 ", 9) == 0) status = atoi(resp + 9);
out:
    close(fd);
    return status;
}

static void start(void)
{
    static vigil_config_t cfg;
    static char dir[64];
    static const char cam[] =
        "{\"id\":\"fuzzcam\",\"name\":\"Fuzz\",\"url\":\"rtsp://127.0.0.1:9/none\",\"fps\":5}";
    char errstr[256];
    vigil_api_t *api;

    vigil_store_conf_t sc;
    vigil_store_t *store;

    vigil_log_set_level(VIGIL_LOG_ERROR);
    snprintf(dir, sizeof(dir), "/tmp/vigil-fuzz-api-XXXXXX");
    if (!mkdtemp(dir)) abort();
    vigil_config_init(&cfg); /* its strings stay allocated: cfg lives for the run */
    free(cfg.data_dir);
    free(cfg.http_listen);
    free(cfg.store_url);
    cfg.data_dir = dir;
    cfg.http_listen = "127.0.0.1:0";
    cfg.store_url = "sqlite";
    cfg.auth_enabled = 0;
    vigil_store_conf_init(&sc);
    sc.url = "sqlite";
    sc.data_dir = dir;
    sc.migrate = 1;
    if (!(store = vigil_store_open(&sc, errstr, sizeof(errstr)))) {
        fprintf(stderr, "fuzz_api_bodies: %s\n", errstr);
        abort();
    }
    vigil_store_close(store);
    api = vigil_api_new(&cfg, errstr, sizeof(errstr));
    if (!api || vigil_api_start(api, errstr, sizeof(errstr)) != VIGIL_OK) {
        fprintf(stderr, "fuzz_api_bodies: %s\n", errstr);
        abort();
    }
    port = vigil_api_port(api);
    request("POST", "/api/v1/cameras", "", (const uint8_t *)cam, sizeof(cam) - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct target *t;
    int status;

    if (port < 0) start();
    if (size < 1 || size > 65536) return 0;
    t = &targets[data[0] % NTARGETS];
    status = request(t->method, t->path, t->headers, data + 1, size - 1);
    /* One lost connection (a reset on a loaded machine) is not a finding; a
     * server that does not answer the same request twice is. */
    if (status < 0) status = request(t->method, t->path, t->headers, data + 1, size - 1);
    if (status < 0 || (status >= 500 && status != 503)) {
        fprintf(stderr, "fuzz_api_bodies: %s %s answered %d\n", t->method, t->path, status);
        abort();
    }
    return 0;
}
