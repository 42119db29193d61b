/* Live views end to end over real sockets: an in-process bus the test
 * publishes frames, detections, events and rules on, vigil_api reading it
 * with its own consumer group, and raw HTTP/1.1 clients that read the MJPEG
 * and SSE streams (chunked) part by part, slowly, or not at all.
 *
 * Waits are bounded polls (TMO_MS, scaled by VIGIL_TEST_TIMEOUT_MULTIPLIER),
 * never sleeps that assume a speed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api_int.h"
#include "api/live_int.h"
#include "api_support.h"
#include "vigil/api.h"
#include "vigil/bus.h"
#include "vigil/clock.h"
#include "vigil/image.h"
#include "vigil/log.h"
#include "vigil/metrics.h"
#include "vigil/msg.h"
#include "vigil/store.h"

static int TMO_MS = 10000;

typedef struct fixture {
    char dir[64];
    vigil_config_t cfg;
    vigil_bus_t *bus;
    vigil_api_t *api;
    int port;
    uint64_t seq; /* last frame sequence published for "lobby" */
} fixture_t;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* --- the fixture ------------------------------------------------------------------ */

static void fixture_start(fixture_t *fx, int capacity, int max_streams)
{
    char errstr[256] = "";
    vigil_store_conf_t sc;
    vigil_bus_conf_t bc;

    snprintf(fx->dir, sizeof(fx->dir), "/tmp/vigil-api-live-XXXXXX");
    if (!mkdtemp(fx->dir)) fail_msg("mkdtemp");
    vigil_store_conf_init(&sc);
    sc.url = "sqlite";
    sc.data_dir = fx->dir;
    sc.migrate = 1;
    vigil_store_t *store = vigil_store_open(&sc, errstr, sizeof(errstr));
    if (!store) fail_msg("store: %s", errstr);
    vigil_camera_row_t cam = {.fps = 5, .enabled = 1};
    snprintf(cam.id, sizeof(cam.id), "stored");
    snprintf(cam.name, sizeof(cam.name), "Stored");
    snprintf(cam.url, sizeof(cam.url), "testsrc");
    snprintf(cam.status, sizeof(cam.status), "offline");
    assert_int_equal(vigil_store_camera_upsert(store, &cam), VIGIL_OK);
    vigil_store_close(store);

    vigil_bus_conf_init(&bc);
    bc.partitions = 2;
    bc.capacity = capacity;
    fx->bus = vigil_bus_new("inproc://live-test", &bc, errstr, sizeof(errstr));
    if (!fx->bus) fail_msg("bus: %s", errstr);
    fx->cfg.http_listen = "127.0.0.1:0";
    fx->cfg.store_url = "sqlite";
    fx->cfg.data_dir = fx->dir;
    fx->cfg.http_live_max_streams = max_streams;
    fx->api = vigil_api_new(&fx->cfg, errstr, sizeof(errstr));
    if (!fx->api) fail_msg("vigil_api_new: %s", errstr);
    vigil_api_set_bus(fx->api, fx->bus);
    if (vigil_api_start(fx->api, errstr, sizeof(errstr))) fail_msg("start: %s", errstr);
    fx->port = vigil_api_port(fx->api);
}

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    if (!fx) return -1;
    vigil_log_set_level(getenv("API_TEST_DEBUG") ? VIGIL_LOG_DEBUG : VIGIL_LOG_ERROR);
    fixture_start(fx, 64, 8);
    *state = fx;
    return 0;
}

static void fixture_stop(fixture_t *fx)
{
    vigil_api_free(fx->api); /* with streams still open: they must end, not hang */
    fx->api = NULL;
    vigil_bus_close(fx->bus);
    vigil_bus_free(fx->bus);
    nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    fixture_stop(fx);
    free(fx);
    return 0;
}

/* --- publishing ------------------------------------------------------------------- */

/* A w x h JPEG: gray `level`, or noise when level < 0 (a large JPEG). */
static uint8_t *make_jpeg(int w, int h, int level, size_t *len)
{
    vigil_jpeg_t *codec = vigil_jpeg_new();
    vigil_image_t img = {0};
    uint8_t *out = NULL;
    char errstr[256];
    unsigned r = 12345;

    assert_int_equal(vigil_image_alloc(&img, w, h, VIGIL_PIX_RGB24), VIGIL_OK);
    for (int i = 0; i < w * h * 3; i++) {
        r = r * 1103515245u + 12345u;
        img.data[i] = level >= 0 ? (uint8_t)level : (uint8_t)(r >> 16);
    }
    if (vigil_jpeg_encode(codec, &img, 90, &out, len, errstr, sizeof(errstr)))
        fail_msg("jpeg: %s", errstr);
    vigil_image_release(&img);
    vigil_jpeg_free(codec);
    return out;
}

static void publish(fixture_t *fx, const char *topic, const char *key, const ProtobufCMessage *m)
{
    size_t len = 0;
    uint8_t *buf = vigil_msg_pack(m, &len);
    assert_non_null(buf);
    assert_int_equal(vigil_bus_publish(fx->bus, topic, key, strlen(key), buf, len, TMO_MS),
                     VIGIL_OK);
    free(buf);
}

static void publish_frame(fixture_t *fx, const char *camera, uint64_t seq, const uint8_t *jpeg,
                          size_t len, int w, int h)
{
    Vigil__V1__Frame f = VIGIL__V1__FRAME__INIT;
    f.schema_version = VIGIL_SCHEMA_VERSION;
    f.camera_id = (char *)camera;
    f.sequence = seq;
    f.capture_time_us = vigil_now_us();
    f.width = (uint32_t)w;
    f.height = (uint32_t)h;
    f.jpeg.data = (uint8_t *)jpeg;
    f.jpeg.len = len;
    publish(fx, VIGIL_TOPIC_FRAMES, camera, &f.base);
}

/* Boxes of frame seq on topic: n boxes labelled labels[i % nl], with track
 * ids ids[i] (NULL: none). */
static void publish_boxes(fixture_t *fx, const char *topic, const char *camera, uint64_t seq,
                          size_t n, const char *const *labels, size_t nl, int w, int h,
                          const uint64_t *ids)
{
    Vigil__V1__Detections d = VIGIL__V1__DETECTIONS__INIT;
    Vigil__V1__Detection *items = calloc(n ? n : 1, sizeof(*items));
    Vigil__V1__Detection **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
    assert_true(items && ptrs);
    for (size_t i = 0; i < n; i++) {
        vigil__v1__detection__init(&items[i]);
        items[i].x1 = 20 + (float)(i % 10), items[i].y1 = 20;
        items[i].x2 = 100, items[i].y2 = 90;
        items[i].score = 0.9f;
        items[i].label = (char *)labels[i % nl];
        items[i].track_id = ids ? ids[i] : 0;
        ptrs[i] = &items[i];
    }
    d.schema_version = VIGIL_SCHEMA_VERSION;
    d.camera_id = (char *)camera;
    d.sequence = seq;
    d.capture_time_us = vigil_now_us();
    d.frame_id = (int64_t)seq + 1000;
    d.model = "testnet";
    d.width = (uint32_t)w;
    d.height = (uint32_t)h;
    d.n_items = n;
    d.items = ptrs;
    publish(fx, topic, camera, &d.base);
    free(items);
    free(ptrs);
}

/* Detections of frame seq (the model's: no track ids). */
static void publish_dets(fixture_t *fx, const char *camera, uint64_t seq, size_t n,
                         const char *const *labels, size_t nl, int w, int h)
{
    publish_boxes(fx, VIGIL_TOPIC_DETECTIONS, camera, seq, n, labels, nl, w, h, NULL);
}

static void publish_event(fixture_t *fx, const char *camera, const char *type,
                          const char *payload)
{
    Vigil__V1__Event e = VIGIL__V1__EVENT__INIT;
    e.schema_version = VIGIL_SCHEMA_VERSION;
    e.camera_id = (char *)camera;
    e.type = (char *)type;
    e.time_us = vigil_now_us();
    e.sequence = 7;
    e.message = "something happened";
    e.payload_json = (char *)payload;
    publish(fx, VIGIL_TOPIC_EVENTS, camera, &e.base);
}

static void publish_rules(fixture_t *fx, const char *camera, const char *json)
{
    Vigil__V1__CameraCommand c = VIGIL__V1__CAMERA_COMMAND__INIT;
    char key[96];
    c.schema_version = VIGIL_SCHEMA_VERSION;
    c.op = VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES;
    c.camera_id = (char *)camera;
    c.rules_json = (char *)json;
    snprintf(key, sizeof(key), "rules:%s", camera);
    publish(fx, VIGIL_TOPIC_CONTROL, key, &c.base);
}

/* Waits until the hub holds camera's frame seq (and, if det_seq, its
 * detections of det_seq, and if shapes, that many shapes). */
static void wait_hub(fixture_t *fx, const char *camera, uint64_t seq, uint64_t det_seq,
                     size_t shapes)
{
    vigil__live_t *live = fx->api->live;
    int64_t deadline = vigil_mono_us() + (int64_t)TMO_MS * 1000;
    for (;;) {
        pthread_mutex_lock(&live->lock);
        vigil__live_cam_t *c = vigil__live_cam_find(live, camera);
        int ok = c && (!seq || (c->frame && c->frame->sequence == seq)) &&
                 (!det_seq || (c->dets && c->dets->sequence == det_seq)) && c->nshapes >= shapes;
        pthread_mutex_unlock(&live->lock);
        if (ok) return;
        if (vigil_mono_us() > deadline) fail_msg("the hub did not get camera %s's data", camera);
        vigil_sleep_us(2000);
    }
}

/* The id of the newest SSE message. */
static int64_t ring_head(fixture_t *fx)
{
    pthread_mutex_lock(&fx->api->live->lock);
    int64_t head = fx->api->live->head;
    pthread_mutex_unlock(&fx->api->live->lock);
    return head;
}

/* Waits until the SSE ring's newest id is at least `head`. */
static void wait_ring(fixture_t *fx, int64_t head)
{
    int64_t deadline = vigil_mono_us() + (int64_t)TMO_MS * 1000;
    while (ring_head(fx) < head) {
        if (vigil_mono_us() > deadline) fail_msg("the ring did not reach id %lld", (long long)head);
        vigil_sleep_us(2000);
    }
}

/* --- a streaming HTTP/1.1 client --------------------------------------------------- */

typedef struct conn {
    int fd;
    int status;
    char head[4096];
    int chunked, eof;
    char *raw;              /* bytes received, not yet de-chunked */
    size_t raw_len, raw_cap;
    char *body;             /* de-chunked body */
    size_t body_len, body_cap, off; /* off: what the test consumed */
    size_t chunk_left;
    int chunk_crlf; /* a chunk's data is done, its CRLF not yet read */
} conn_t;

static void grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap) return;
    size_t c = *cap ? *cap : 65536;
    while (c < need) c *= 2;
    *buf = realloc(*buf, c);
    assert_non_null(*buf);
    *cap = c;
}

/* Moves complete chunk data from raw to body. */
static void dechunk(conn_t *c)
{
    size_t pos = 0;
    for (;;) {
        if (!c->chunked) {
            grow(&c->body, &c->body_cap, c->body_len + c->raw_len - pos);
            memcpy(c->body + c->body_len, c->raw + pos, c->raw_len - pos);
            c->body_len += c->raw_len - pos;
            pos = c->raw_len;
            break;
        }
        if (c->chunk_left && !c->chunk_crlf) {
            size_t k = c->raw_len - pos < c->chunk_left ? c->raw_len - pos : c->chunk_left;
            grow(&c->body, &c->body_cap, c->body_len + k);
            memcpy(c->body + c->body_len, c->raw + pos, k);
            c->body_len += k;
            pos += k;
            c->chunk_left -= k;
            if (c->chunk_left) break;
            c->chunk_crlf = 1; /* then its CRLF */
        }
        if (c->chunk_crlf) {
            if (c->raw_len - pos < 2) break;
            pos += 2;
            c->chunk_crlf = 0;
        }
        char *nl = memchr(c->raw + pos, '\n', c->raw_len - pos);
        if (!nl) break;
        size_t size = strtoul(c->raw + pos, NULL, 16);
        pos = (size_t)(nl - c->raw) + 1;
        if (!size) {
            c->eof = 1;
            break;
        }
        c->chunk_left = size;
    }
    memmove(c->raw, c->raw + pos, c->raw_len - pos);
    c->raw_len -= pos;
}

/* Reads what arrives within timeout_ms: new body bytes, 0 on time-out, -1 at EOF. */
static int conn_fill(conn_t *c, int timeout_ms)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    size_t before = c->body_len;
    if (c->eof) return -1;
    if (poll(&p, 1, timeout_ms) <= 0) return 0;
    grow(&c->raw, &c->raw_cap, c->raw_len + 65536);
    ssize_t r = recv(c->fd, c->raw + c->raw_len, 65536, 0);
    if (r <= 0) {
        c->eof = 1;
        return -1;
    }
    c->raw_len += (size_t)r;
    dechunk(c);
    return (int)(c->body_len - before);
}

/* Connects and sends GET target; rcvbuf > 0 shrinks the socket's receive
 * buffer (a slow client's window). Reads the response head unless lazy. */
static void conn_open(conn_t *c, int port, const char *target, const char *headers, int rcvbuf,
                      int lazy)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char req[1024];
    int64_t deadline = vigil_mono_us() + (int64_t)TMO_MS * 1000;

    memset(c, 0, sizeof(*c));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    if (rcvbuf > 0) setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n", target,
                     port, headers ? headers : "");
    assert_int_equal(send(c->fd, req, (size_t)n, MSG_NOSIGNAL), n);
    if (lazy) return;
    char *end = NULL;
    while (!end) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (vigil_mono_us() > deadline) fail_msg("no response head for %s", target);
        if (poll(&p, 1, 100) <= 0) continue;
        grow(&c->raw, &c->raw_cap, c->raw_len + 4096);
        ssize_t r = recv(c->fd, c->raw + c->raw_len, 4096, 0);
        if (r <= 0) fail_msg("connection closed before the head of %s", target);
        c->raw_len += (size_t)r;
        end = memmem(c->raw, c->raw_len, "\r\n\r\n", 4);
    }
    size_t hl = (size_t)(end - c->raw) + 4;
    assert_true(hl < sizeof(c->head));
    memcpy(c->head, c->raw, hl);
    c->head[hl] = '\0';
    memmove(c->raw, c->raw + hl, c->raw_len - hl);
    c->raw_len -= hl;
    assert_int_equal(sscanf(c->head, "HTTP/1.%*d %d", &c->status), 1);
    c->chunked = strcasestr(c->head, "Transfer-Encoding: chunked") != NULL;
    dechunk(c);
}

static void conn_close(conn_t *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    free(c->raw);
    free(c->body);
    c->raw = c->body = NULL;
}

/* One MJPEG part: 1 with *seq and the JPEG (pointing into the body), 0 if
 * none complete arrived within timeout_ms. */
static int next_part(conn_t *c, uint64_t *seq, const char **jpeg, size_t *len, int timeout_ms)
{
    int64_t deadline = vigil_mono_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        while (c->off + 2 <= c->body_len && memcmp(c->body + c->off, "\r\n", 2) == 0)
            c->off += 2; /* preamble keepalives */
        char *p = c->body + c->off, *end;
        size_t avail = c->body_len - c->off;
        if (avail && (end = memmem(p, avail, "\r\n\r\n", 4))) {
            const char *b = "--" VIGIL__LIVE_BOUNDARY "\r\nContent-Type: image/jpeg\r\n";
            assert_memory_equal(p, b, strlen(b));
            char *cl = strcasestr(p, "Content-Length: ");
            char *sq = strcasestr(p, "X-Sequence: ");
            assert_true(cl && cl < end && sq && sq < end);
            size_t n = strtoul(cl + 16, NULL, 10);
            size_t hl = (size_t)(end - p) + 4;
            if (avail >= hl + n + 2) {
                assert_memory_equal(p + hl + n, "\r\n", 2);
                *seq = strtoull(sq + 12, NULL, 10);
                *jpeg = p + hl;
                *len = n;
                c->off += hl + n + 2;
                return 1;
            }
        }
        int64_t left = (deadline - vigil_mono_us()) / 1000;
        int r = conn_fill(c, (int)(left <= 0 ? 0 : left < 100 ? left : 100));
        if (r < 0 || (r == 0 && left <= 0)) return 0;
    }
}

typedef struct sse_msg {
    char event[32];
    long long id; /* -1 if none */
    char data[32768];
    int comment;  /* a comment-only block (heartbeat) */
    int retry;
} sse_msg_t;

/* The next SSE block within timeout_ms: 1, or 0. */
static int next_sse(conn_t *c, sse_msg_t *m, int timeout_ms)
{
    int64_t deadline = vigil_mono_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        char *p = c->body + c->off, *end;
        size_t avail = c->body_len - c->off;
        if (avail && (end = memmem(p, avail, "\n\n", 2))) {
            memset(m, 0, sizeof(*m));
            m->id = -1;
            *end = '\0';
            for (char *line = p, *nl; line && *line; line = nl) {
                nl = strchr(line, '\n');
                if (nl) *nl++ = '\0';
                if (line[0] == ':') m->comment = 1;
                else if (!strncmp(line, "event: ", 7)) snprintf(m->event, sizeof(m->event), "%s", line + 7);
                else if (!strncmp(line, "id: ", 4)) m->id = atoll(line + 4);
                else if (!strncmp(line, "data: ", 6)) snprintf(m->data, sizeof(m->data), "%s", line + 6);
                else if (!strncmp(line, "retry: ", 7)) m->retry = atoi(line + 7);
                else fail_msg("unexpected SSE line \"%s\"", line);
            }
            c->off = (size_t)(end - c->body) + 2;
            return 1;
        }
        int64_t left = (deadline - vigil_mono_us()) / 1000;
        int r = conn_fill(c, (int)(left <= 0 ? 0 : left < 100 ? left : 100));
        if (r < 0 || (r == 0 && left <= 0)) return 0;
    }
}

/* The next SSE message that is not a comment or retry line. */
static int next_event(conn_t *c, sse_msg_t *m, int timeout_ms)
{
    while (next_sse(c, m, timeout_ms))
        if (!m->comment && !m->retry) return 1;
    return 0;
}

static uint64_t counter(const char *family)
{
    return vigil_metrics_sum(family, NULL, NULL, NULL, NULL);
}

/* --- MJPEG ------------------------------------------------------------------------- */

static void test_mjpeg_parts_are_the_newest_frames_framed_as_multipart(void **state)
{
    fixture_t *fx = *state;
    conn_t c;
    size_t len[3];
    uint8_t *jpeg[3];
    uint64_t seq;
    const char *got;
    size_t got_len;
    char buf[128];

    for (int i = 0; i < 3; i++) jpeg[i] = make_jpeg(64, 48, 40 + 60 * i, &len[i]);
    publish_frame(fx, "lobby", 1, jpeg[0], len[0], 64, 48);
    wait_hub(fx, "lobby", 1, 0, 0);

    conn_open(&c, fx->port, "/api/v1/cameras/lobby/live.mjpeg?fps=15", NULL, 0, 0);
    assert_int_equal(c.status, 200);
    assert_non_null(strcasestr(c.head, "Content-Type: multipart/x-mixed-replace; boundary=" VIGIL__LIVE_BOUNDARY "\r\n"));
    assert_non_null(strcasestr(c.head, "Cache-Control: no-store"));
    assert_true(c.chunked);
    /* the frame it had when the viewer came, at once */
    assert_true(next_part(&c, &seq, &got, &got_len, TMO_MS));
    assert_int_equal(seq, 1);
    assert_int_equal(got_len, len[0]);
    assert_memory_equal(got, jpeg[0], len[0]);
    /* then each new one */
    for (int i = 1; i < 3; i++) {
        publish_frame(fx, "lobby", (uint64_t)i + 1, jpeg[i], len[i], 64, 48);
        assert_true(next_part(&c, &seq, &got, &got_len, TMO_MS));
        assert_int_equal(seq, (uint64_t)i + 1);
        assert_int_equal(got_len, len[i]);
        assert_memory_equal(got, jpeg[i], len[i]);
    }
    /* nothing new: no part (the same frame again only after the 10 s keepalive) */
    assert_false(next_part(&c, &seq, &got, &got_len, 300));
    conn_close(&c);

    /* a camera only the warehouse knows streams too (nothing yet) */
    conn_open(&c, fx->port, "/api/v1/cameras/stored/live.mjpeg", NULL, 0, 0);
    assert_int_equal(c.status, 200);
    conn_close(&c);
    /* the response header block of http_get tells the type and caching too */
    http_resp_t r;
    assert_int_equal(http_get(fx->port, "/api/v1/cameras/nope/live.mjpeg", &r), 0);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "camera \\\"nope\\\" not found"));
    assert_non_null(http_header(&r, "Content-Type", buf, sizeof(buf)));
    http_resp_free(&r);
    for (int i = 0; i < 3; i++) free(jpeg[i]);
}

static void test_mjpeg_bad_parameters_are_400_naming_them(void **state)
{
    fixture_t *fx = *state;
    static const struct {
        const char *target, *param;
    } cases[] = {
        {"/api/v1/cameras/lobby/live.mjpeg?fps=0", "fps"},
        {"/api/v1/cameras/lobby/live.mjpeg?fps=16", "fps"},
        {"/api/v1/cameras/lobby/live.mjpeg?fps=abc", "fps"},
        {"/api/v1/cameras/lobby/live.mjpeg?fps=5&fps=5", "fps"},
        {"/api/v1/cameras/lobby/live.mjpeg?boxes=2", "boxes"},
        {"/api/v1/cameras/lobby/live.mjpeg?size=big", "size"},
        {"/api/v1/cameras/lob%20by/live.mjpeg", "id"},
        {"/api/v1/stream?types=frames", "types"},
        {"/api/v1/stream?cameras=a,,b", "cameras"},
        {"/api/v1/stream?labels=", "labels"},
        {"/api/v1/stream?last_event_id=-1", "last_event_id"},
        {"/api/v1/stream?since=1", "since"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        http_resp_t r;
        char want[96];
        assert_int_equal(http_get(fx->port, cases[i].target, &r), 0);
        if (r.status != 400) fail_msg("%s: %d %s", cases[i].target, r.status, r.body);
        snprintf(want, sizeof(want), "\"parameter\":\"%s\"", cases[i].param);
        if (!strstr(r.body, want)) fail_msg("%s: %s", cases[i].target, r.body);
        http_resp_free(&r);
    }
    http_resp_t r;
    assert_int_equal(http_request_headers(fx->port, "GET", "/api/v1/stream", "Last-Event-ID: x\r\n",
                                          NULL, &r), 0);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "Last-Event-ID"));
    http_resp_free(&r);
}

static void test_mjpeg_fps_caps_parts_per_second(void **state)
{
    fixture_t *fx = *state;
    size_t len;
    uint8_t *jpeg = make_jpeg(64, 48, 100, &len);
    conn_t slow, fast;
    uint64_t seq;
    const char *got;
    size_t got_len;
    int nslow = 0, nfast = 0;

    publish_frame(fx, "lobby", ++fx->seq, jpeg, len, 64, 48);
    wait_hub(fx, "lobby", fx->seq, 0, 0);
    conn_open(&slow, fx->port, "/api/v1/cameras/lobby/live.mjpeg?fps=2", NULL, 0, 0);
    conn_open(&fast, fx->port, "/api/v1/cameras/lobby/live.mjpeg?fps=15", NULL, 0, 0);
    /* frames at about 100 per second for 2 s */
    int64_t t0 = vigil_mono_us();
    while (vigil_mono_us() - t0 < 2000000) {
        publish_frame(fx, "lobby", ++fx->seq, jpeg, len, 64, 48);
        while (next_part(&slow, &seq, &got, &got_len, 0)) nslow++;
        while (next_part(&fast, &seq, &got, &got_len, 0)) nfast++;
        vigil_sleep_us(10000);
    }
    double secs = (double)(vigil_mono_us() - t0) / 1e6;
    /* at most fps per second (+1: the first part is due at once) */
    if (nslow > (int)(2 * secs) + 1 || nslow < 2) fail_msg("fps=2: %d parts in %.2f s", nslow, secs);
    if (nfast > (int)(15 * secs) + 1 || nfast < 10) fail_msg("fps=15: %d parts in %.2f s", nfast, secs);
    conn_close(&slow);
    conn_close(&fast);
    free(jpeg);
}

static void test_mjpeg_slow_viewer_gets_fewer_frames_always_the_newest(void **state)
{
    fixture_t *fx = *state;
    size_t len;
    uint8_t *jpeg = make_jpeg(320, 240, -1, &len); /* noise: a large JPEG */
    conn_t c;
    uint64_t seq = 0, last = 0;
    const char *got;
    size_t got_len;
    int parts = 0, published = 0;
    uint64_t skipped0 = counter("vigil_live_frames_skipped_total");

    publish_frame(fx, "lobby", ++fx->seq, jpeg, len, 320, 240);
    wait_hub(fx, "lobby", fx->seq, 0, 0);
    /* a viewer with a 4 KiB window that reads one part every 250 ms */
    conn_open(&c, fx->port, "/api/v1/cameras/lobby/live.mjpeg?fps=15", NULL, 4096, 0);
    int64_t t0 = vigil_mono_us(), next_read = t0;
    while (vigil_mono_us() - t0 < 2500000) {
        publish_frame(fx, "lobby", ++fx->seq, jpeg, len, 320, 240);
        published++;
        if (vigil_mono_us() >= next_read) {
            if (next_part(&c, &seq, &got, &got_len, 1000)) {
                assert_true(seq > last); /* never an older frame */
                last = seq;
                parts++;
            }
            next_read = vigil_mono_us() + 250000;
        }
        vigil_sleep_us(5000);
    }
    /* when it catches up, it is handed the newest frame */
    while (next_part(&c, &seq, &got, &got_len, 1000)) {
        assert_true(seq > last);
        last = seq;
        parts++;
    }
    assert_int_equal(last, fx->seq);
    if (parts > published / 4) fail_msg("%d parts of %d frames: not fewer", parts, published);
    assert_true(counter("vigil_live_frames_skipped_total") - skipped0 >= (uint64_t)published / 2);
    /* the hub holds the camera's newest frame and this viewer's one part: no queue */
    pthread_mutex_lock(&fx->api->live->lock);
    vigil__live_cam_t *cam = vigil__live_cam_find(fx->api->live, "lobby");
    int refs = atomic_load(&cam->frame->refs);
    pthread_mutex_unlock(&fx->api->live->lock);
    assert_int_equal(refs, 1);
    conn_close(&c);
    free(jpeg);
}

/* The pixel around (x, y) of a JPEG (3 x 3) that differs most from gray
 * 128: drawn lines are 2 pixels wide, and JPEG blurs their colour a little.
 * Returns that difference. */
static int pixel(const char *jpeg, size_t len, int x, int y, int rgb[3])
{
    vigil_jpeg_t *codec = vigil_jpeg_new();
    vigil_image_t img = {0};
    char errstr[256];
    int best = -1;
    if (vigil_jpeg_decode(codec, jpeg, len, VIGIL_PIX_RGB24, 1, &img, errstr, sizeof(errstr)))
        fail_msg("not a JPEG: %s", errstr);
    for (int yy = y - 1; yy <= y + 1; yy++)
        for (int xx = x - 1; xx <= x + 1; xx++) {
            if (xx < 0 || yy < 0 || xx >= img.width || yy >= img.height) continue;
            const uint8_t *p = img.data + (size_t)yy * img.stride + (size_t)xx * 3;
            int d = abs(p[0] - 128) + abs(p[1] - 128) + abs(p[2] - 128);
            if (d > best) best = d, rgb[0] = p[0], rgb[1] = p[1], rgb[2] = p[2];
        }
    vigil_image_release(&img);
    vigil_jpeg_free(codec);
    return best;
}

static void test_mjpeg_boxes_draws_boxes_labels_and_zones(void **state)
{
    fixture_t *fx = *state;
    static const char *const labels[] = {"person"};
    size_t len;
    uint8_t *jpeg = make_jpeg(160, 120, 128, &len); /* plain gray */
    conn_t plain, boxed;
    uint64_t seq;
    const char *got;
    size_t got_len;
    int rgb[3];

    publish_rules(fx, "lobby",
                  "{\"zones\":[{\"id\":\"door\",\"polygon\":[[0.5,0.05],[0.95,0.05],[0.95,0.5]]}],"
                  "\"lines\":[{\"id\":\"gate\",\"points\":[[0.05,0.95],[0.95,0.95]]}]}");
    publish_frame(fx, "lobby", 1, jpeg, len, 160, 120);
    publish_dets(fx, "lobby", 1, 1, labels, 1, 160, 120);
    wait_hub(fx, "lobby", 1, 1, 2);

    conn_open(&plain, fx->port, "/api/v1/cameras/lobby/live.mjpeg?boxes=0", NULL, 0, 0);
    conn_open(&boxed, fx->port, "/api/v1/cameras/lobby/live.mjpeg?boxes=1&fps=15", NULL, 0, 0);
    assert_true(next_part(&plain, &seq, &got, &got_len, TMO_MS));
    assert_int_equal(got_len, len);
    assert_memory_equal(got, jpeg, len); /* boxes=0: the frame as it came */
    assert_true(next_part(&boxed, &seq, &got, &got_len, TMO_MS));
    assert_int_equal(seq, 1);
    assert_false(got_len == len && memcmp(got, jpeg, len) == 0);
    /* the box's left edge (x 20, y 60) is coloured; the middle of the box is still gray */
    if (pixel(got, got_len, 21, 60, rgb) < 60)
        fail_msg("box edge %d,%d,%d: not drawn", rgb[0], rgb[1], rgb[2]);
    assert_true(pixel(got, got_len, 60, 70, rgb) < 30);
    /* the zone's right edge (x 0.95 -> 152) is yellow, the line (y 0.95 -> 114) cyan */
    pixel(got, got_len, 151, 40, rgb);
    if (!(rgb[0] - rgb[2] > 60)) fail_msg("zone edge %d,%d,%d: not yellow", rgb[0], rgb[1], rgb[2]);
    pixel(got, got_len, 40, 113, rgb);
    if (!(rgb[2] - rgb[0] > 60)) fail_msg("line %d,%d,%d: not cyan", rgb[0], rgb[1], rgb[2]);
    /* drawn once for the frame, shared by every viewer */
    assert_int_equal(counter("vigil_live_frames_drawn_total") >= 1, 1);
    conn_close(&plain);
    conn_close(&boxed);
    free(jpeg);
}

/* --- SSE ---------------------------------------------------------------------------- */

/* Reads n messages (not comments) into m[], failing if they do not come.
 * Messages of different topics may come in any order: the bus orders a
 * partition, not the topics. */
static void collect(conn_t *c, sse_msg_t *m, int n)
{
    for (int i = 0; i < n; i++)
        if (!next_event(c, &m[i], TMO_MS)) fail_msg("message %d of %d did not come", i + 1, n);
}

/* The message among m[0..n) of event `name` (the k-th of them); fails if none. */
static sse_msg_t *find(sse_msg_t *m, int n, const char *name, int k)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(m[i].event, name) && !k--) return &m[i];
    fail_msg("no \"%s\" message", name);
    return NULL;
}

static void test_sse_messages_carry_id_event_and_json_data(void **state)
{
    fixture_t *fx = *state;
    static const char *const labels[] = {"person", "car"};
    conn_t c;
    sse_msg_t m[3], *d;
    json_t *j;

    conn_open(&c, fx->port, "/api/v1/stream", NULL, 0, 0);
    assert_int_equal(c.status, 200);
    assert_non_null(strcasestr(c.head, "Content-Type: text/event-stream"));
    assert_true(next_sse(&c, &m[0], TMO_MS));
    assert_int_equal(m[0].retry, 2000);

    publish_dets(fx, "lobby", 5, 2, labels, 2, 640, 480);
    publish_dets(fx, "lobby", 6, 0, labels, 2, 640, 480); /* no box: no message */
    publish_event(fx, "lobby", "zone_enter",
                  "{\"camera\":\"lobby\",\"kind\":\"zone_enter\",\"label\":\"person\",\"track\":3,"
                  "\"zone\":\"door\"}");
    publish_event(fx, "lobby", "camera.online", "{\"name\":\"Lobby\",\"url\":\"rtsp://u:***@h/\",\"fps\":5}");
    collect(&c, m, 3);
    /* ids: one each, increasing in the order sent */
    assert_true(m[0].id > 0 && m[1].id == m[0].id + 1 && m[2].id == m[1].id + 1);

    d = find(m, 3, "detection", 0);
    j = json_loads(d->data, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "camera")), "lobby");
    assert_int_equal(json_integer_value(json_object_get(j, "sequence")), 5);
    assert_int_equal(json_integer_value(json_object_get(j, "frame_id")), 1005);
    assert_int_equal(json_integer_value(json_object_get(j, "width")), 640);
    assert_true(json_is_string(json_object_get(j, "time")));
    assert_true(json_is_integer(json_object_get(j, "time_us")));
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "label")), "car");
    assert_true(json_real_value(json_object_get(json_array_get(items, 0), "score")) == 0.9);
    assert_int_equal(json_array_size(json_object_get(json_array_get(items, 0), "box")), 4);
    json_decref(j);

    d = find(m, 3, "event", 0);
    j = json_loads(d->data, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "zone_enter");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "payload"), "zone")), "door");
    assert_string_equal(json_string_value(json_object_get(j, "message")), "something happened");
    json_decref(j);

    d = find(m, 3, "status", 0);
    assert_true(d->id > find(m, 3, "event", 0)->id); /* one camera's events keep their order */
    j = json_loads(d->data, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "online");
    assert_string_equal(json_string_value(json_object_get(j, "camera")), "lobby");
    json_decref(j);
    conn_close(&c);
}

/* Waits until the live hub has read `n` more bus messages than `since`. */
static void wait_bus_read(uint64_t since, uint64_t n)
{
    int64_t deadline = vigil_mono_us() + (int64_t)TMO_MS * 1000;
    while (counter("vigil_live_bus_messages_total") < since + n) {
        if (vigil_mono_us() > deadline) fail_msg("the hub did not read %llu messages",
                                                 (unsigned long long)n);
        vigil_sleep_us(2000);
    }
}

/* The next SSE detection's JSON: its sequence, and the track of item i (0
 * when the item has none, -1 when there is no item i). */
static json_t *next_detection(conn_t *c, uint64_t seq)
{
    sse_msg_t m;
    if (!next_event(c, &m, TMO_MS)) fail_msg("no detection for frame %llu", (unsigned long long)seq);
    assert_string_equal(m.event, "detection");
    json_t *j = json_loads(m.data, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "sequence")), (json_int_t)seq);
    return j;
}

static json_int_t item_track(json_t *det, size_t i)
{
    json_t *it = json_array_get(json_object_get(det, "items"), i);
    if (!it) return -1;
    json_t *t = json_object_get(it, "track");
    return t ? json_integer_value(t) : 0;
}

/* Topic tracks (analytics' boxes with their track ids) reaches the views:
 * SSE items carry "track", boxes=1 draws from the tracked boxes; while a
 * camera's tracks come, its plain detections are not shown a second time;
 * tracks of a frame already shown (analytics replaying) are dropped; once
 * tracks stop for VIGIL__LIVE_TRACKED_US, plain detections are shown again;
 * an undecodable tracks message is counted, not fatal. */
static void test_tracks_topic_puts_track_ids_on_sse_and_drawn_boxes(void **state)
{
    fixture_t *fx = *state;
    static const char *const labels[] = {"person", "car"};
    static const uint64_t ids1[] = {7, 0}, ids2[] = {7, 9}, ids_replay[] = {70, 90};
    conn_t c;
    sse_msg_t m;
    json_t *j;
    uint64_t read0, repeated0 = counter("vigil_live_bus_repeated_total");
    uint64_t bad0 = counter("vigil_live_bus_invalid_total");

    conn_open(&c, fx->port, "/api/v1/stream?types=detections&cameras=lobby", NULL, 0, 0);
    assert_true(next_sse(&c, &m, TMO_MS)); /* retry: */

    /* before analytics: the model's boxes, no track */
    publish_dets(fx, "lobby", 1, 2, labels, 2, 640, 480);
    j = next_detection(&c, 1);
    assert_int_equal(item_track(j, 0), 0);
    json_decref(j);
    /* analytics' frame 1: the same boxes with ids (7; the car has none yet) */
    publish_boxes(fx, VIGIL_TOPIC_TRACKS, "lobby", 1, 2, labels, 2, 640, 480, ids1);
    j = next_detection(&c, 1);
    assert_int_equal(item_track(j, 0), 7);
    assert_int_equal(item_track(j, 1), 0);
    assert_string_equal(json_string_value(json_object_get(j, "model")), "testnet");
    json_decref(j);
    wait_hub(fx, "lobby", 0, 1, 0);
    pthread_mutex_lock(&fx->api->live->lock);
    vigil__live_cam_t *cam = vigil__live_cam_find(fx->api->live, "lobby");
    assert_true(cam->dets->items[0].track_id == 7); /* what boxes=1 draws as "#7" */
    pthread_mutex_unlock(&fx->api->live->lock);

    /* frame 2: its plain detections are not shown, its tracks are */
    read0 = counter("vigil_live_bus_messages_total");
    publish_dets(fx, "lobby", 2, 2, labels, 2, 640, 480);
    wait_bus_read(read0, 1);
    /* a replay of frame 1 with other ids, and a hostile message: neither shown */
    publish_boxes(fx, VIGIL_TOPIC_TRACKS, "lobby", 1, 2, labels, 2, 640, 480, ids_replay);
    assert_int_equal(vigil_bus_publish(fx->bus, VIGIL_TOPIC_TRACKS, "lobby", 5, "\xff\xfe junk", 7,
                                       TMO_MS),
                     VIGIL_OK);
    wait_bus_read(read0, 3);
    assert_int_equal(counter("vigil_live_bus_repeated_total") - repeated0, 1);
    assert_int_equal(counter("vigil_live_bus_invalid_total") - bad0, 1);
    publish_boxes(fx, VIGIL_TOPIC_TRACKS, "lobby", 2, 2, labels, 2, 640, 480, ids2);
    j = next_detection(&c, 2); /* the next message: nothing came between */
    assert_int_equal(item_track(j, 0), 7);
    assert_int_equal(item_track(j, 1), 9);
    json_decref(j);
    wait_hub(fx, "lobby", 0, 2, 0);
    pthread_mutex_lock(&fx->api->live->lock);
    cam = vigil__live_cam_find(fx->api->live, "lobby");
    assert_true(cam->dets->items[1].track_id == 9);
    /* analytics went away (its last tracks are older than VIGIL__LIVE_TRACKED_US) */
    cam->tracks_us -= VIGIL__LIVE_TRACKED_US + 1;
    pthread_mutex_unlock(&fx->api->live->lock);
    publish_dets(fx, "lobby", 3, 2, labels, 2, 640, 480);
    j = next_detection(&c, 3);
    assert_int_equal(item_track(j, 0), 0);
    json_decref(j);
    conn_close(&c);
}

static void test_sse_filters_by_type_camera_and_label(void **state)
{
    fixture_t *fx = *state;
    static const char *const pc[] = {"person", "car"}, *const dog[] = {"dog"};
    conn_t ev, yard, cars;
    sse_msg_t m[2];

    conn_open(&ev, fx->port, "/api/v1/stream?types=events,status", NULL, 0, 0);
    conn_open(&yard, fx->port, "/api/v1/stream?cameras=yard,gate", NULL, 0, 0);
    conn_open(&cars, fx->port, "/api/v1/stream?labels=car&types=detections,events", NULL, 0, 0);

    publish_dets(fx, "lobby", 1, 3, pc, 2, 640, 480); /* person, car, person */
    publish_dets(fx, "yard", 1, 1, dog, 1, 640, 480);
    publish_event(fx, "yard", "line_cross", "{\"label\":\"car\",\"line\":\"gate\"}");
    publish_event(fx, "lobby", "camera.offline", "{}");

    collect(&ev, m, 2);
    assert_non_null(strstr(find(m, 2, "event", 0)->data, "line_cross"));
    assert_non_null(strstr(find(m, 2, "status", 0)->data, "offline"));

    collect(&yard, m, 2);
    assert_non_null(strstr(find(m, 2, "detection", 0)->data, "\"dog\""));
    assert_non_null(strstr(find(m, 2, "event", 0)->data, "\"yard\""));

    /* labels=car: the lobby's detections trimmed to the car; the yard's dog never */
    collect(&cars, m, 2);
    json_t *j = json_loads(find(m, 2, "detection", 0)->data, 0, NULL);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "label")), "car");
    json_decref(j);
    assert_non_null(strstr(find(m, 2, "event", 0)->data, "line_cross"));

    /* and nothing else for any of them */
    assert_false(next_event(&ev, &m[0], 300));
    assert_false(next_event(&yard, &m[0], 100));
    assert_false(next_event(&cars, &m[0], 100));
    conn_close(&ev);
    conn_close(&yard);
    conn_close(&cars);
}

static void test_sse_last_event_id_resumes_and_unknown_ids_reset(void **state)
{
    fixture_t *fx = *state;
    conn_t c;
    sse_msg_t m;
    long long ids[4];
    char hdr[64];

    conn_open(&c, fx->port, "/api/v1/stream?types=events", NULL, 0, 0);
    for (int i = 0; i < 4; i++) {
        char payload[64];
        snprintf(payload, sizeof(payload), "{\"label\":\"person\",\"n\":%d}", i);
        publish_event(fx, "lobby", "zone_enter", payload);
    }
    for (int i = 0; i < 4; i++) {
        assert_true(next_event(&c, &m, TMO_MS));
        ids[i] = m.id;
        if (i) assert_true(ids[i] > ids[i - 1]);
    }
    conn_close(&c);

    /* it saw ids[1]: it gets 2 and 3 again, then what is new */
    snprintf(hdr, sizeof(hdr), "Last-Event-ID: %lld\r\n", ids[1]);
    conn_open(&c, fx->port, "/api/v1/stream?types=events", hdr, 0, 0);
    assert_true(next_event(&c, &m, TMO_MS));
    assert_int_equal(m.id, ids[2]);
    assert_non_null(strstr(m.data, "\"n\":2"));
    assert_true(next_event(&c, &m, TMO_MS));
    assert_int_equal(m.id, ids[3]);
    publish_event(fx, "lobby", "zone_leave", "{\"label\":\"person\",\"n\":4}");
    assert_true(next_event(&c, &m, TMO_MS));
    assert_true(m.id > ids[3]);
    assert_non_null(strstr(m.data, "\"n\":4"));
    conn_close(&c);

    /* the query parameter does the same (EventSource cannot set headers at first) */
    char target[96];
    snprintf(target, sizeof(target), "/api/v1/stream?types=events&last_event_id=%lld", ids[2]);
    conn_open(&c, fx->port, target, NULL, 0, 0);
    assert_true(next_event(&c, &m, TMO_MS));
    assert_int_equal(m.id, ids[3]);
    conn_close(&c);

    /* an id this process never gave (an older process, another replica):
     * reset first, then what the ring holds */
    conn_open(&c, fx->port, "/api/v1/stream?types=events", "Last-Event-ID: 12\r\n", 0, 0);
    assert_true(next_event(&c, &m, TMO_MS));
    assert_string_equal(m.event, "reset");
    assert_int_equal(m.id, -1);
    json_t *j = json_loads(m.data, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "reason")), "gone");
    assert_int_equal(json_integer_value(json_object_get(j, "last_event_id")), 12);
    json_decref(j);
    assert_true(next_event(&c, &m, TMO_MS));
    assert_int_equal(m.id, ids[0]);
    conn_close(&c);

    snprintf(hdr, sizeof(hdr), "Last-Event-ID: %lld\r\n", ids[3] + 1000);
    conn_open(&c, fx->port, "/api/v1/stream?types=events", hdr, 0, 0);
    assert_true(next_event(&c, &m, TMO_MS));
    assert_string_equal(m.event, "reset");
    assert_non_null(strstr(m.data, "\"reason\":\"unknown\""));
    conn_close(&c);
}

static void test_sse_idle_stream_gets_heartbeats(void **state)
{
    fixture_t *fx = *state;
    conn_t c;
    sse_msg_t m;
    int beats = 0;

    pthread_mutex_lock(&fx->api->live->lock);
    fx->api->live->heartbeat_us = 150000;
    pthread_mutex_unlock(&fx->api->live->lock);
    conn_open(&c, fx->port, "/api/v1/stream", NULL, 0, 0);
    int64_t t0 = vigil_mono_us();
    while (beats < 3 && next_sse(&c, &m, TMO_MS))
        if (m.comment) beats++;
    assert_int_equal(beats, 3);
    assert_true(vigil_mono_us() - t0 >= 3 * 150000 - 50000);
    conn_close(&c);
}

static void test_sse_client_that_falls_behind_gets_a_reset_not_a_queue(void **state)
{
    fixture_t *fx = *state;
    static const char *const labels[] = {"person", "car", "bicycle", "dog"};
    conn_t c;
    sse_msg_t m;
    int resets = 0, events = 0;
    long long last = 0;
    uint64_t resets0 = counter("vigil_live_sse_resets_total");

    /* a reader with a 4 KiB window that does not read while 3000 large messages come */
    conn_open(&c, fx->port, "/api/v1/stream?types=detections", NULL, 4096, 0);
    int64_t h0 = ring_head(fx);
    for (int i = 1; i <= 3000; i++) publish_dets(fx, "lobby", (uint64_t)i, 200, labels, 4, 1920, 1080);
    wait_ring(fx, h0 + 3000);
    /* the ring kept its bounds (asserts outside the lock: a failure jumps) */
    pthread_mutex_lock(&fx->api->live->lock);
    int64_t kept = fx->api->live->head - fx->api->live->oldest + 1;
    size_t bytes = fx->api->live->ring_bytes;
    pthread_mutex_unlock(&fx->api->live->lock);
    print_message("the ring keeps %lld messages, %zu bytes\n", (long long)kept, bytes);
    assert_true(kept <= VIGIL__LIVE_RING);
    assert_true(bytes <= VIGIL__LIVE_RING_BYTES);
    /* now it reads: ids only go up, with a reset where it was moved ahead */
    while (next_sse(&c, &m, 1500)) {
        if (m.comment || m.retry) continue;
        if (!strcmp(m.event, "reset")) {
            resets++;
            assert_non_null(strstr(m.data, "\"reason\":\"behind\""));
            continue;
        }
        assert_true(m.id > last);
        last = m.id;
        events++;
    }
    assert_true(resets >= 1);
    assert_true(counter("vigil_live_sse_resets_total") > resets0);
    assert_true(events < 3000);
    /* moved ahead to the newest: the next message is the next it gets */
    publish_dets(fx, "lobby", 3001, 1, labels, 4, 1920, 1080);
    assert_true(next_event(&c, &m, TMO_MS));
    assert_string_equal(m.event, "detection");
    assert_int_equal(m.id, ring_head(fx));
    assert_true(m.id > last);
    conn_close(&c);
}

/* --- limits and the pipeline --------------------------------------------------------- */

static void test_streams_beyond_the_limit_get_503_with_retry_after(void **state)
{
    fixture_t *fx = *state;
    conn_t c[8];
    http_resp_t r;
    char buf[32];

    for (int i = 0; i < 8; i++)
        conn_open(&c[i], fx->port, i % 2 ? "/api/v1/stream" : "/api/v1/cameras/stored/live.mjpeg",
                  NULL, 0, 0);
    for (int i = 0; i < 8; i++) assert_int_equal(c[i].status, 200);
    assert_int_equal(http_get(fx->port, "/api/v1/stream", &r), 0);
    assert_int_equal(r.status, 503);
    assert_string_equal(http_header(&r, "Retry-After", buf, sizeof(buf)), "5");
    assert_non_null(strstr(r.body, "http.live_max_streams"));
    http_resp_free(&r);
    /* other requests are served meanwhile: the 8 streams hold no pool thread */
    for (int i = 0; i < 20; i++) {
        assert_int_equal(http_get(fx->port, "/healthz", &r), 0);
        assert_int_equal(r.status, 200);
        http_resp_free(&r);
    }
    /* a stream that ends frees its place (the server notices at its next write) */
    conn_close(&c[0]);
    conn_close(&c[1]);
    pthread_mutex_lock(&fx->api->live->lock);
    fx->api->live->heartbeat_us = 50000;
    fx->api->live->keepalive_us = 50000;
    vigil__live_kick(fx->api->live);
    pthread_mutex_unlock(&fx->api->live->lock);
    int64_t deadline = vigil_mono_us() + (int64_t)TMO_MS * 1000;
    for (;;) {
        conn_t more;
        conn_open(&more, fx->port, "/api/v1/stream", NULL, 0, 0);
        int status = more.status;
        conn_close(&more);
        if (status == 200) break;
        assert_int_equal(status, 503);
        if (vigil_mono_us() > deadline) fail_msg("closed streams were never freed");
        vigil_sleep_us(50000);
    }
    for (int i = 2; i < 8; i++) conn_close(&c[i]);
}

static void test_stalled_clients_never_block_the_pipeline(void **state)
{
    fixture_t *fx = *state;
    static const char *const labels[] = {"person"};
    size_t len;
    uint8_t *jpeg = make_jpeg(320, 240, -1, &len);
    conn_t c[4];
    http_resp_t r;

    /* a bus of 8 messages per partition: a lagging API group would stop
     * publishers within a few messages */
    fixture_stop(fx);
    memset(fx, 0, sizeof(*fx));
    fixture_start(fx, 8, 8);
    publish_frame(fx, "lobby", ++fx->seq, jpeg, len, 320, 240);
    wait_hub(fx, "lobby", fx->seq, 0, 0);
    conn_open(&c[0], fx->port, "/api/v1/cameras/lobby/live.mjpeg?fps=15", NULL, 4096, 0);
    conn_open(&c[1], fx->port, "/api/v1/cameras/lobby/live.mjpeg?fps=15&boxes=1", NULL, 4096, 0);
    conn_open(&c[2], fx->port, "/api/v1/stream", NULL, 4096, 0);
    conn_open(&c[3], fx->port, "/api/v1/stream?labels=person", NULL, 4096, 0);
    /* none of them reads; 2000 frames and 2000 detections go through */
    int64_t t0 = vigil_mono_us(), worst = 0;
    for (int i = 0; i < 2000; i++) {
        int64_t t = vigil_mono_us();
        publish_frame(fx, "lobby", ++fx->seq, jpeg, len, 320, 240);
        publish_dets(fx, "lobby", fx->seq, 20, labels, 1, 320, 240);
        if (vigil_mono_us() - t > worst) worst = vigil_mono_us() - t;
    }
    double secs = (double)(vigil_mono_us() - t0) / 1e6;
    print_message("4000 messages in %.2f s with 4 stalled clients; slowest publish %.1f ms\n", secs,
                  (double)worst / 1e3);
    /* no publish waited anywhere near its time-out (TMO_MS) */
    assert_true(worst < 1000000);
    /* and the API answers meanwhile */
    assert_int_equal(http_get(fx->port, "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    for (int i = 0; i < 4; i++) conn_close(&c[i]);
    free(jpeg);
}

static void test_stop_ends_suspended_streams(void **state)
{
    fixture_t *fx = *state;
    conn_t c[6];
    sse_msg_t m;

    for (int i = 0; i < 6; i++)
        conn_open(&c[i], fx->port, i % 2 ? "/api/v1/stream" : "/api/v1/cameras/stored/live.mjpeg",
                  NULL, 0, 0);
    assert_true(next_sse(&c[1], &m, TMO_MS)); /* retry: streaming, then suspended */
    vigil_sleep_us(100000);
    vigil_api_stop(fx->api); /* must neither hang nor trip over suspended connections */
    for (int i = 0; i < 6; i++) {
        int64_t deadline = vigil_mono_us() + (int64_t)TMO_MS * 1000;
        while (!c[i].eof && vigil_mono_us() < deadline) conn_fill(&c[i], 100);
        assert_true(c[i].eof);
        conn_close(&c[i]);
    }
}

static void test_live_routes_without_a_bus_are_503(void **state)
{
    fixture_t *fx = *state;
    char errstr[256];
    http_resp_t r;

    /* `vigil api` alone on the in-process bus has no pipeline to watch */
    vigil_api_t *api = vigil_api_new(&fx->cfg, errstr, sizeof(errstr));
    assert_non_null(api);
    assert_int_equal(vigil_api_start(api, errstr, sizeof(errstr)), VIGIL_OK);
    assert_int_equal(http_get(vigil_api_port(api), "/api/v1/stream", &r), 0);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "bus"));
    http_resp_free(&r);
    assert_int_equal(http_get(vigil_api_port(api), "/api/v1/cameras/stored/live.mjpeg", &r), 0);
    assert_int_equal(r.status, 503);
    http_resp_free(&r);
    vigil_api_free(api);
}

int main(void)
{
    const char *mult = getenv("VIGIL_TEST_TIMEOUT_MULTIPLIER");
    if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
    if (mult && atoi(mult) > 1) TMO_MS *= atoi(mult);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mjpeg_parts_are_the_newest_frames_framed_as_multipart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mjpeg_bad_parameters_are_400_naming_them, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mjpeg_fps_caps_parts_per_second, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mjpeg_slow_viewer_gets_fewer_frames_always_the_newest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mjpeg_boxes_draws_boxes_labels_and_zones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sse_messages_carry_id_event_and_json_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tracks_topic_puts_track_ids_on_sse_and_drawn_boxes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sse_filters_by_type_camera_and_label, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sse_last_event_id_resumes_and_unknown_ids_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sse_idle_stream_gets_heartbeats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sse_client_that_falls_behind_gets_a_reset_not_a_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streams_beyond_the_limit_get_503_with_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stalled_clients_never_block_the_pipeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_ends_suspended_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_routes_without_a_bus_are_503, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
