/* The gRPC server's transport: listening, the poll loops, HTTP/2 through
 * nghttp2, gRPC framing, deadlines, auth and the status trailers.
 *
 * Main idea: each loop owns its connections outright; a stream is created
 * at its HEADERS, collects its request bytes (deframed as they come), and is
 * dispatched once the request is whole (or per message for bidi streams).
 * A handler answers with vigil__gstream_send (length-prefixed messages into
 * the stream's buffer, which nghttp2's data provider drains as flow control
 * allows) and vigil__gstream_finish (the status: trailers after the
 * buffer, or Trailers-Only when nothing was sent). Errors found before a
 * handler runs (unknown method, bad framing, auth, deadline) are finished
 * here with the code gRPC prescribes and a message that names the cause.
 *
 * Threads: the loops (one per grpc.threads), and the bus reader of
 * watch.c, which only writes to the ring and the wake pipes. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "grpc/grpc_int.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/workers.h"

#define RECV_CHUNK 16384
#define IDLE_POLL_MS 1000

/* --- metrics --------------------------------------------------------------------- */

static void count_call(vigil_grpc_t *g, const vigil__gstream_t *s, int code)
{
    int m = s->method ? s->method->index : 31;
    vigil_counter_t *c;

    if (m > 31) m = 31;
    if (code < 0 || code >= VIGIL__GRPC_CODES) code = VIGIL__GRPC_UNKNOWN;
    pthread_mutex_lock(&g->m_lock);
    if (!(c = g->m_calls[m][code]))
        c = g->m_calls[m][code] = vigil_metrics_counter(
            "vigil_grpc_calls_total", "gRPC calls by method and status code", "method",
            s->method ? s->method->path : "unknown", "code", vigil__grpc_code_name(code));
    pthread_mutex_unlock(&g->m_lock);
    vigil_counter_inc(c);
}

/* --- stream replies ---------------------------------------------------------------- */

static ssize_t read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                         uint32_t *data_flags, nghttp2_data_source *source, void *user_data);

static int out_reserve(vigil__gstream_t *s, size_t more)
{
    size_t need = s->out_len + more, cap = s->out_cap ? s->out_cap : 256;
    uint8_t *p;

    if (s->out_off && s->out_off == s->out_len) s->out_off = s->out_len = 0, need = more;
    if (need <= s->out_cap) return 0;
    while (cap < need) cap *= 2;
    if (!(p = realloc(s->out, cap))) return -1;
    s->out = p;
    s->out_cap = cap;
    return 0;
}

static void submit_headers(vigil__gstream_t *s)
{
    nghttp2_nv hdrs[] = {
        {(uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"grpc-accept-encoding", (uint8_t *)"identity", 20, 8, NGHTTP2_NV_FLAG_NONE},
    };
    nghttp2_data_provider dp = {.source.ptr = s, .read_callback = read_body};

    nghttp2_submit_response(s->conn->session, s->id, hdrs, 3, &dp);
    s->headers_sent = 1;
}

void vigil__gstream_headers(vigil__gstream_t *s)
{
    if (!s->headers_sent && !s->finished) submit_headers(s);
}

static void resume(vigil__gstream_t *s)
{
    if (s->deferred) {
        s->deferred = 0;
        nghttp2_session_resume_data(s->conn->session, s->id);
    }
}

int vigil__gstream_send_raw(vigil__gstream_t *s, const uint8_t *head, size_t hlen,
                            const uint8_t *body, size_t blen)
{
    vigil_grpc_t *g = s->conn->loop->g;
    size_t n = hlen + blen;
    uint8_t *p;

    if (s->finished) return -1;
    if (n > g->max_msg) {
        vigil__gstream_finish(s, VIGIL__GRPC_RESOURCE_EXHAUSTED,
                              "the response message of %zu bytes is larger than "
                              "grpc.max_message_bytes (%zu): ask for fewer rows",
                              n, g->max_msg);
        return -1;
    }
    if (out_reserve(s, 5 + n)) {
        vigil__gstream_finish(s, VIGIL__GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return -1;
    }
    p = s->out + s->out_len;
    p[0] = 0;
    p[1] = (uint8_t)(n >> 24), p[2] = (uint8_t)(n >> 16), p[3] = (uint8_t)(n >> 8);
    p[4] = (uint8_t)n;
    if (hlen) memcpy(p + 5, head, hlen);
    if (blen) memcpy(p + 5 + hlen, body, blen);
    s->out_len += 5 + n;
    if (!s->headers_sent) submit_headers(s);
    resume(s);
    return 0;
}

int vigil__gstream_send(vigil__gstream_t *s, const ProtobufCMessage *msg)
{
    vigil_grpc_t *g = s->conn->loop->g;
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf;
    int r;

    if (s->finished) return -1;
    if (n > g->max_msg) return vigil__gstream_send_raw(s, NULL, n, NULL, 0); /* refused */
    if (!(buf = malloc(n ? n : 1))) {
        vigil__gstream_finish(s, VIGIL__GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return -1;
    }
    protobuf_c_message_pack(msg, buf);
    r = vigil__gstream_send_raw(s, NULL, 0, buf, n);
    free(buf);
    return r;
}

void vigil__gstream_finish(vigil__gstream_t *s, int code, const char *fmt, ...)
{
    char text[320];
    va_list ap;

    if (s->finished) return;
    s->finished = 1;
    s->status = code;
    text[0] = '\0';
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
    }
    vigil__grpc_percent_encode(text, s->message, sizeof(s->message));
    count_call(s->conn->loop->g, s, code);
    if (code != VIGIL__GRPC_OK && code != VIGIL__GRPC_CANCELLED)
        vigil_debug("grpc", NULL, "%s %s from %s: %s: %s", "call", s->path, s->conn->peer,
                    vigil__grpc_code_name(code), text);
    if (s->watching == 1) atomic_fetch_sub(&s->conn->loop->g->watchers, 1);
    s->watching = 0;
    if (!s->headers_sent) {
        /* Trailers-Only: one HEADERS frame with the status, ending the stream */
        char st[8];
        snprintf(st, sizeof(st), "%d", code);
        nghttp2_nv hdrs[] = {
            {(uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE},
            {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16,
             NGHTTP2_NV_FLAG_NONE},
            {(uint8_t *)"grpc-accept-encoding", (uint8_t *)"identity", 20, 8,
             NGHTTP2_NV_FLAG_NONE},
            {(uint8_t *)"grpc-status", (uint8_t *)st, 11, strlen(st), NGHTTP2_NV_FLAG_NONE},
            {(uint8_t *)"grpc-message", (uint8_t *)s->message, 12, strlen(s->message),
             NGHTTP2_NV_FLAG_NONE},
        };
        s->headers_sent = 1;
        nghttp2_submit_response(s->conn->session, s->id, hdrs, s->message[0] ? 5 : 4, NULL);
        return;
    }
    s->done = 1;
    resume(s);
}

/* The data provider: the response bytes, then the trailers. */
static ssize_t read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                         uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    vigil__gstream_t *s = source->ptr;
    size_t n = s->out_len - s->out_off;

    if (n > length) n = length;
    if (n) {
        memcpy(buf, s->out + s->out_off, n);
        s->out_off += n;
        if (s->out_off == s->out_len) s->out_off = s->out_len = 0;
        return (ssize_t)n;
    }
    if (!s->done) {
        s->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }
    char st[8];
    snprintf(st, sizeof(st), "%d", s->status);
    nghttp2_nv tr[] = {
        {(uint8_t *)"grpc-status", (uint8_t *)st, 11, strlen(st), NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"grpc-message", (uint8_t *)s->message, 12, strlen(s->message),
         NGHTTP2_NV_FLAG_NONE},
    };
    *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    nghttp2_submit_trailer(session, stream_id, tr, s->message[0] ? 2 : 1);
    return 0;
}

vigil_store_t *vigil__gloop_store(vigil__gloop_t *loop, char *errstr, size_t errstr_size)
{
    const vigil_config_t *cfg = loop->g->cfg;
    vigil_store_conf_t sc;
    int64_t now = vigil_mono_us();

    if (loop->store) return loop->store;
    if (now < loop->store_retry_us) {
        snprintf(errstr, errstr_size, "the warehouse cannot be opened (retried within 1 s)");
        return NULL;
    }
    vigil_store_conf_init(&sc);
    sc.url = cfg->store_url;
    sc.data_dir = cfg->data_dir;
    sc.migrate = 0;
    if (!(loop->store = vigil_store_open(&sc, errstr, errstr_size))) {
        loop->store_retry_us = now + 1000000;
        vigil_warn("grpc", NULL, "the warehouse cannot be opened: %s", errstr);
    }
    return loop->store;
}

vigil_store_t *vigil__gstream_store(vigil__gstream_t *s)
{
    char errstr[256] = "";
    vigil_store_t *store = vigil__gloop_store(s->conn->loop, errstr, sizeof(errstr));

    if (!store)
        vigil__gstream_finish(s, VIGIL__GRPC_UNAVAILABLE, "the warehouse cannot be opened: %s",
                              errstr);
    return store;
}

/* --- dispatch ---------------------------------------------------------------------- */

/* Auth of a call to a method that needs a role: 1 may run; 0 finished. */
static int authorize(vigil__gstream_t *s)
{
    vigil_grpc_t *g = s->conn->loop->g;
    const vigil__gmethod_t *m = s->method;
    vigil_store_t *store;
    char errstr[256] = "";
    vigil_err_t err;

    memset(&s->who, 0, sizeof(s->who));
    if (!g->auth_enabled) {
        s->who.kind = VIGIL_AUTH_DISABLED;
        s->who.role = VIGIL_ROLE_ADMIN;
        s->who.can_write = 1;
        snprintf(s->who.user, sizeof(s->who.user), "local");
        return 1;
    }
    if (m->role == 0) return 1;
    if (!s->authz[0]) {
        vigil__gstream_finish(s, VIGIL__GRPC_UNAUTHENTICATED,
                              "%s needs a bearer token: metadata \"authorization: Bearer vgl_...\" "
                              "(vigil token create)",
                              s->path);
        return 0;
    }
    if (strncasecmp(s->authz, "Bearer ", 7) != 0) {
        vigil__gstream_finish(s, VIGIL__GRPC_UNAUTHENTICATED,
                              "the authorization metadata must be \"Bearer TOKEN\"");
        return 0;
    }
    if (!(store = vigil__gstream_store(s))) return 0;
    err = vigil_token_check(store, s->authz + 7, vigil_now_us(), &s->who, errstr, sizeof(errstr));
    if (err == VIGIL_ERR_NOT_FOUND || err == VIGIL_ERR_INVALID) {
        vigil__gstream_finish(s, VIGIL__GRPC_UNAUTHENTICATED,
                              "the bearer token is not valid (unknown, expired or revoked)");
        return 0;
    }
    if (err) {
        vigil_warn("grpc", NULL, "credentials cannot be checked: %s", errstr);
        vigil__gstream_finish(s, VIGIL__GRPC_UNAVAILABLE,
                              "cannot check credentials: the warehouse failed (see the log)");
        return 0;
    }
    if ((int)s->who.role < m->role) {
        vigil__gstream_finish(s, VIGIL__GRPC_PERMISSION_DENIED,
                              "user \"%s\" has role %s; %s needs %s", s->who.user,
                              vigil_role_name(s->who.role), s->path,
                              vigil_role_name((vigil_role_t)m->role));
        return 0;
    }
    if (m->write && !s->who.can_write) {
        vigil__gstream_finish(s, VIGIL__GRPC_PERMISSION_DENIED,
                              "this token has read scope; %s needs a token with write scope",
                              s->path);
        return 0;
    }
    return 1;
}

/* Takes the complete messages of the request as they come: for bidi
 * methods each is handled at once (and dropped); for the others they are
 * counted (one is allowed) and kept, s->scan past the last whole one.
 * 0 ok; -1 finished with an error. */
static int take_messages(vigil__gstream_t *s)
{
    vigil_grpc_t *g = s->conn->loop->g;
    size_t used;
    const uint8_t *msg;
    uint32_t mlen;
    int compressed, r;

    for (;;) {
        r = vigil__grpc_deframe(s->in + s->scan, s->in_len - s->scan, g->max_msg, &compressed,
                                &msg, &mlen, &used);
        if (r < 0) {
            vigil__gstream_finish(s, VIGIL__GRPC_RESOURCE_EXHAUSTED,
                                  "the request message of %u bytes is larger than "
                                  "grpc.max_message_bytes (%zu)",
                                  mlen, g->max_msg);
            return -1;
        }
        if (r == 0) return 0;
        if (compressed) {
            if (!s->encoding[0] || strcmp(s->encoding, "identity") == 0)
                vigil__gstream_finish(s, VIGIL__GRPC_INTERNAL,
                                      "a message has the compressed flag but the call has no "
                                      "grpc-encoding");
            else
                vigil__gstream_finish(s, VIGIL__GRPC_UNIMPLEMENTED,
                                      "grpc-encoding \"%.24s\" is not supported "
                                      "(grpc-accept-encoding: identity)",
                                      s->encoding);
            return -1;
        }
        if (s->method->kind == VIGIL__GM_BIDI) {
            s->method->handler(s, msg, mlen);
            if (s->finished) return -1;
            memmove(s->in, s->in + used, s->in_len - used);
            s->in_len -= used;
            s->conn->in_bytes -= used;
            continue;
        }
        if (++s->nmsgs > 1) {
            vigil__gstream_finish(s, VIGIL__GRPC_INTERNAL,
                                  "%zu bytes follow the request message: its length prefix is "
                                  "shorter than the message, or a second message began "
                                  "(%s takes one)",
                                  s->in_len - s->scan, s->path);
            return -1;
        }
        s->scan += used;
    }
}

/* The request is whole (END_STREAM): run a unary or server-stream call. */
static void request_end(vigil__gstream_t *s)
{
    s->closed_remote = 1;
    if (s->finished) return;
    if (take_messages(s)) return;
    if (s->in_len > s->scan) {
        size_t rest = s->in_len - s->scan;
        const uint8_t *p = s->in + s->scan;
        if (rest >= 5)
            vigil__gstream_finish(s, VIGIL__GRPC_INTERNAL,
                                  "the request ends inside a message: its length prefix says "
                                  "%u bytes, %zu came",
                                  (unsigned)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
                                             (uint32_t)p[3] << 8 | p[4]),
                                  rest - 5);
        else
            vigil__gstream_finish(s, VIGIL__GRPC_INTERNAL,
                                  "the request ends inside a message prefix (%zu of 5 bytes)",
                                  rest);
        return;
    }
    if (s->method->kind == VIGIL__GM_BIDI) {
        vigil__gstream_finish(s, VIGIL__GRPC_OK, NULL);
        return;
    }
    if (!s->nmsgs) {
        vigil__gstream_finish(s, VIGIL__GRPC_INTERNAL, "%s: the request has no message", s->path);
        return;
    }
    if (s->deadline_us && vigil_mono_us() >= s->deadline_us) {
        vigil__gstream_finish(s, VIGIL__GRPC_DEADLINE_EXCEEDED,
                              "the deadline (grpc-timeout) passed before the call ran");
        return;
    }
    if (!authorize(s)) return;
    s->method->handler(s, s->in + 5, s->scan - 5);
}

/* HEADERS complete: decide whether the call can go on. */
static void request_headers(vigil__gstream_t *s)
{
    vigil_grpc_t *g = s->conn->loop->g;

    if (atomic_load(&g->stopping)) {
        vigil__gstream_finish(s, VIGIL__GRPC_UNAVAILABLE, "the server is stopping");
        return;
    }
    if (s->bad_method || s->bad_content_type) {
        /* not gRPC: a plain HTTP answer */
        const char *st = s->bad_method ? "405" : "415";
        nghttp2_nv hdrs[] = {{(uint8_t *)":status", (uint8_t *)st, 7, 3, NGHTTP2_NV_FLAG_NONE}};
        s->finished = s->headers_sent = 1;
        count_call(g, s, VIGIL__GRPC_INTERNAL);
        nghttp2_submit_response(s->conn->session, s->id, hdrs, 1, NULL);
        return;
    }
    if (!(s->method = vigil__grpc_method(s->path))) {
        vigil__gstream_finish(s, VIGIL__GRPC_UNIMPLEMENTED, "unknown method %s (see server "
                                                            "reflection or docs/grpc.md)",
                              s->path);
        return;
    }
    if (s->method->kind == VIGIL__GM_BIDI && !authorize(s)) return;
}

/* --- nghttp2 callbacks ------------------------------------------------------------- */

static vigil__gstream_t *stream_of(nghttp2_session *session, int32_t id)
{
    return nghttp2_session_get_stream_user_data(session, id);
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    vigil__gconn_t *c = user;
    vigil__gstream_t *s;

    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    if (!(s = calloc(1, sizeof(*s)))) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    s->conn = c;
    s->id = frame->hd.stream_id;
    s->start_us = vigil_mono_us();
    s->bad_content_type = 1;
    s->next = c->streams;
    if (c->streams) c->streams->prev = s;
    c->streams = s;
    vigil_gauge_add(c->loop->g->m_streams, 1);
    nghttp2_session_set_stream_user_data(session, s->id, s);
    return 0;
}

static void copy_value(char *dst, size_t size, const uint8_t *v, size_t n)
{
    if (n >= size) n = size - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user)
{
    vigil__gstream_t *s;
    char v[64];

    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    if (!(s = stream_of(session, frame->hd.stream_id))) return 0;
#define IS(lit) (namelen == sizeof(lit) - 1 && memcmp(name, lit, namelen) == 0)
    if (IS(":path")) {
        copy_value(s->path, sizeof(s->path), value, valuelen);
    } else if (IS(":method")) {
        s->bad_method = !(valuelen == 4 && memcmp(value, "POST", 4) == 0);
    } else if (IS("content-type")) {
        s->bad_content_type = !(valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
                                (valuelen == 16 || value[16] == '+' || value[16] == ';'));
    } else if (IS("authorization")) {
        copy_value(s->authz, sizeof(s->authz), value, valuelen);
    } else if (IS("grpc-encoding")) {
        copy_value(s->encoding, sizeof(s->encoding), value, valuelen);
    } else if (IS("grpc-timeout")) {
        int64_t us;
        copy_value(v, sizeof(v), value, valuelen);
        if (vigil__grpc_timeout_parse(v, &us) == 0) s->deadline_us = s->start_us + us;
    }
#undef IS
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user)
{
    vigil__gconn_t *c = user;
    vigil__gstream_t *s = stream_of(session, stream_id);
    vigil_grpc_t *g = c->loop->g;

    if (!s || s->finished || !s->method) return 0;
    if (c->in_bytes + len > g->conn_in_max || s->in_len + len > g->max_msg + 5 + RECV_CHUNK) {
        /* the prefix check in take_messages names the size when it can */
        if (s->in_len + len <= g->max_msg + 5 + RECV_CHUNK)
            vigil__gstream_finish(s, VIGIL__GRPC_RESOURCE_EXHAUSTED,
                                  "the connection holds %zu request bytes already (at most %zu)",
                                  c->in_bytes, g->conn_in_max);
        else
            vigil__gstream_finish(s, VIGIL__GRPC_RESOURCE_EXHAUSTED,
                                  "the request message is larger than grpc.max_message_bytes "
                                  "(%zu)",
                                  g->max_msg);
        return 0;
    }
    if (s->in_len + len > s->in_cap) {
        size_t cap = s->in_cap ? s->in_cap : 1024;
        while (cap < s->in_len + len) cap *= 2;
        uint8_t *p = realloc(s->in, cap);
        if (!p) {
            vigil__gstream_finish(s, VIGIL__GRPC_RESOURCE_EXHAUSTED, "out of memory");
            return 0;
        }
        s->in = p;
        s->in_cap = cap;
    }
    memcpy(s->in + s->in_len, data, len);
    s->in_len += len;
    c->in_bytes += len;
    take_messages(s);
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    vigil__gstream_t *s;

    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    if (!(s = stream_of(session, frame->hd.stream_id))) return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        request_headers(s);
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && !s->closed_remote) {
        if (s->method) request_end(s);
        s->closed_remote = 1;
    }
    return 0;
}

static void stream_free(vigil__gconn_t *c, vigil__gstream_t *s)
{
    if (s->prev) s->prev->next = s->next;
    else c->streams = s->next;
    if (s->next) s->next->prev = s->prev;
    c->in_bytes -= s->in_len;
    vigil_gauge_add(c->loop->g->m_streams, -1);
    free(s->in);
    free(s->out);
    free(s);
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user)
{
    vigil__gconn_t *c = user;
    vigil__gstream_t *s = stream_of(session, stream_id);

    if (!s) return 0;
    if (!s->finished) {
        /* the client reset it (cancelled, or its deadline passed) */
        s->finished = 1;
        if (s->watching == 1) atomic_fetch_sub(&c->loop->g->watchers, 1);
        count_call(c->loop->g, s, VIGIL__GRPC_CANCELLED);
    }
    nghttp2_session_set_stream_user_data(session, stream_id, NULL);
    stream_free(c, s);
    return 0;
}

/* --- connections ------------------------------------------------------------------- */

static void conn_close(vigil__gloop_t *loop, vigil__gconn_t *c)
{
    for (vigil__gstream_t *s = c->streams; s; s = s->next) {
        if (s->finished) continue;
        s->finished = 1; /* the connection went away under it */
        if (s->watching == 1) atomic_fetch_sub(&loop->g->watchers, 1);
        count_call(loop->g, s, VIGIL__GRPC_CANCELLED);
    }
    nghttp2_session_del(c->session);
    while (c->streams) stream_free(c, c->streams);
    close(c->fd);
    if (c->prev) c->prev->next = c->next;
    else loop->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    loop->nconns--;
    atomic_fetch_sub(&loop->g->nconns, 1);
    free(c);
}

static void conn_new(vigil__gloop_t *loop, int fd, const struct sockaddr_storage *ss)
{
    vigil_grpc_t *g = loop->g;
    nghttp2_session_callbacks *cb;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (uint32_t)g->max_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 16384},
    };
    vigil__gconn_t *c = calloc(1, sizeof(*c));
    int one = 1;

    if (!c || nghttp2_session_callbacks_new(&cb)) {
        free(c);
        close(fd);
        return;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    c->loop = loop;
    c->fd = fd;
    if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, c->peer,
                  sizeof(c->peer));
    else
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, c->peer, sizeof(c->peer));
    int rc = nghttp2_session_server_new(&c->session, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rc) {
        free(c);
        close(fd);
        return;
    }
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, 2);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->next = loop->conns;
    if (loop->conns) loop->conns->prev = c;
    loop->conns = c;
    loop->nconns++;
    vigil_counter_inc(g->m_conns);
}

static void accept_some(vigil__gloop_t *loop)
{
    vigil_grpc_t *g = loop->g;

    for (int i = 0; i < 8; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(g->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        if (atomic_fetch_add(&g->nconns, 1) >= g->max_conns) {
            atomic_fetch_sub(&g->nconns, 1);
            vigil_counter_inc(g->m_refused);
            close(fd);
            continue;
        }
        conn_new(loop, fd, &ss);
    }
}

/* Writes what nghttp2 has to send. -1 when the connection is done. */
static int conn_flush(vigil__gconn_t *c)
{
    for (;;) {
        if (!c->pending_len) {
            ssize_t n = nghttp2_session_mem_send(c->session, &c->pending);
            if (n < 0) return -1;
            if (n == 0) break;
            c->pending_len = (size_t)n;
        }
        ssize_t w = send(c->fd, c->pending, c->pending_len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            if (errno == EINTR) continue;
            return -1;
        }
        c->pending += w;
        c->pending_len -= (size_t)w;
        if (c->pending_len) return 0;
    }
    if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session))
        return -1;
    return 0;
}

static int conn_read(vigil__gconn_t *c)
{
    uint8_t buf[RECV_CHUNK];

    for (int i = 0; i < 4; i++) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n == 0) return -1;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            if (errno == EINTR) continue;
            return -1;
        }
        if (nghttp2_session_mem_recv(c->session, buf, (size_t)n) < 0) {
            /* a protocol error: nghttp2 queued a GOAWAY; send it and close */
            conn_flush(c);
            return -1;
        }
    }
    return 0;
}

/* Streams that go on: deadlines, live messages; the nearest deadline. */
static int64_t conn_tick(vigil__gconn_t *c, int64_t now, int stopping)
{
    int64_t next = 0;

    for (vigil__gstream_t *s = c->streams; s; s = s->next) {
        if (s->finished) continue;
        if (stopping) {
            vigil__gstream_finish(s, VIGIL__GRPC_UNAVAILABLE, "the server is stopping");
            continue;
        }
        if (s->deadline_us && now >= s->deadline_us) {
            vigil__gstream_finish(s, VIGIL__GRPC_DEADLINE_EXCEEDED,
                                  "the deadline (grpc-timeout) passed");
            continue;
        }
        if (s->watching == 1) vigil__grpc_watch_pump(s);
        if (s->deadline_us && (!next || s->deadline_us < next)) next = s->deadline_us;
    }
    if (stopping) nghttp2_session_terminate_session(c->session, NGHTTP2_NO_ERROR);
    return next;
}

static void *loop_main(void *arg)
{
    vigil__gloop_t *loop = arg;
    vigil_grpc_t *g = loop->g;
    struct pollfd *pfd = NULL;
    vigil__gconn_t **conns = NULL;
    size_t cap = 0;
    char name[16];
    int stop_sent = 0;

    snprintf(name, sizeof(name), "grpc-%d", loop->index);
    vigil_thread_name(name);
    for (;;) {
        int stopping = atomic_load(&g->stopping);
        int64_t now = vigil_mono_us(), next = 0;
        size_t n = 0;

        if (stopping && (stop_sent || !loop->conns)) {
            /* GOAWAY and the last statuses went out at the previous pass */
            while (loop->conns) conn_close(loop, loop->conns);
            break;
        }
        for (vigil__gconn_t *c = loop->conns, *nx; c; c = nx) {
            nx = c->next;
            int64_t d = conn_tick(c, now, stopping);
            if (d && (!next || d < next)) next = d;
            if (conn_flush(c)) conn_close(loop, c);
        }
        if (stopping) {
            stop_sent = 1;
            continue;
        }
        if (cap < loop->nconns + 2) {
            cap = (loop->nconns + 2) * 2;
            struct pollfd *np = realloc(pfd, cap * sizeof(*pfd));
            vigil__gconn_t **nc = realloc(conns, cap * sizeof(*conns));
            if (np) pfd = np;
            if (nc) conns = nc;
            if (!np || !nc) {
                vigil_sleep_us(10000);
                cap = 0;
                continue;
            }
        }
        pfd[n++] = (struct pollfd){.fd = loop->wake[0], .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = g->lfd, .events = POLLIN};
        for (vigil__gconn_t *c = loop->conns; c; c = c->next) {
            conns[n] = c;
            pfd[n++] = (struct pollfd){
                .fd = c->fd,
                .events = (short)(POLLIN | (c->pending_len || nghttp2_session_want_write(c->session)
                                                ? POLLOUT
                                                : 0))};
        }
        int timeout = IDLE_POLL_MS;
        if (next) {
            int64_t ms = (next - now + 999) / 1000;
            timeout = ms < 0 ? 0 : ms < IDLE_POLL_MS ? (int)ms : IDLE_POLL_MS;
        }
        if (poll(pfd, n, timeout) < 0 && errno != EINTR) vigil_sleep_us(10000);
        if (pfd[0].revents & POLLIN) {
            char junk[64];
            while (read(loop->wake[0], junk, sizeof(junk)) > 0) {
            }
        }
        if (pfd[1].revents & POLLIN) accept_some(loop);
        for (size_t i = 2; i < n; i++) {
            vigil__gconn_t *c = conns[i];
            if (!pfd[i].revents) continue;
            if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) && conn_read(c)) {
                conn_close(loop, c);
                continue;
            }
        }
    }
    free(pfd);
    free(conns);
    return NULL;
}

/* --- lifecycle --------------------------------------------------------------------- */

/* "HOST:PORT" or "[V6]:PORT" into host and port; -1 if not that. */
static int split_listen(const char *listen, char *host, size_t size, int *port, int *family)
{
    const char *colon;
    char *end;
    long p;
    size_t n;

    if (listen[0] == '[') {
        const char *close_ = strchr(listen, ']');
        if (!close_ || close_[1] != ':') return -1;
        n = (size_t)(close_ - listen - 1);
        if (n >= size) return -1;
        memcpy(host, listen + 1, n);
        host[n] = '\0';
        colon = close_ + 1;
        *family = AF_INET6;
    } else {
        if (!(colon = strrchr(listen, ':'))) return -1;
        n = (size_t)(colon - listen);
        if (n >= size) return -1;
        memcpy(host, listen, n);
        host[n] = '\0';
        if (!strcmp(host, "localhost")) snprintf(host, size, "127.0.0.1");
        if (!host[0]) snprintf(host, size, "0.0.0.0");
        *family = AF_INET;
    }
    p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || p < 0 || p > 65535) return -1;
    *port = (int)p;
    return 0;
}

vigil_grpc_t *vigil_grpc_new(const vigil_config_t *cfg, char *errstr, size_t errstr_size)
{
    vigil_grpc_t *g;

    if (!cfg->grpc_listen || !*cfg->grpc_listen) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "grpc.listen is not set");
        return NULL;
    }
    if (!(g = calloc(1, sizeof(*g)))) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "grpc: out of memory");
        return NULL;
    }
    if (split_listen(cfg->grpc_listen, g->host, sizeof(g->host), &g->listen_port, &g->family)) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                     "key \"grpc.listen\": \"%.64s\" is not HOST:PORT", cfg->grpc_listen);
        free(g);
        return NULL;
    }
    g->cfg = cfg;
    g->lfd = -1;
    g->max_msg = cfg->grpc_max_message_bytes > 0 ? (size_t)cfg->grpc_max_message_bytes : 4 << 20;
    g->conn_in_max = 2 * g->max_msg + 65536;
    if (g->conn_in_max < VIGIL__GRPC_CONN_IN_MAX_MIN) g->conn_in_max = VIGIL__GRPC_CONN_IN_MAX_MIN;
    g->max_streams = cfg->grpc_max_streams > 0 ? cfg->grpc_max_streams : 100;
    g->max_conns = cfg->grpc_max_connections > 0 ? cfg->grpc_max_connections : 256;
    g->nloops = cfg->grpc_threads > 0 ? cfg->grpc_threads : 2;
    if (g->nloops > VIGIL__GRPC_LOOPS_MAX) g->nloops = VIGIL__GRPC_LOOPS_MAX;
    g->auth_enabled = cfg->auth_enabled;
    pthread_mutex_init(&g->ring_lock, NULL);
    pthread_mutex_init(&g->m_lock, NULL);
    g->ring_oldest = 1; /* empty: oldest > head */
    g->m_conns = vigil_metrics_counter("vigil_grpc_connections_total",
                                       "gRPC connections accepted", NULL, NULL, NULL, NULL);
    g->m_refused = vigil_metrics_counter("vigil_grpc_connections_refused_total",
                                         "gRPC connections closed at accept (grpc.max_connections)",
                                         NULL, NULL, NULL, NULL);
    g->m_streams = vigil_metrics_gauge("vigil_grpc_streams", "gRPC streams open now", NULL, NULL,
                                       NULL, NULL);
    g->m_bus_in = vigil_metrics_counter("vigil_grpc_watch_messages_total",
                                        "bus messages the Watch feed took", NULL, NULL, NULL, NULL);
    g->m_bus_bad = vigil_metrics_counter("vigil_grpc_watch_bad_messages_total",
                                         "bus messages the Watch feed could not decode", NULL,
                                         NULL, NULL, NULL);
    g->m_skipped = vigil_metrics_counter("vigil_grpc_watch_skipped_total",
                                         "live messages slow Watch readers skipped", NULL, NULL,
                                         NULL, NULL);
    for (int i = 0; i < VIGIL__GRPC_LOOPS_MAX; i++) g->loops[i].wake[0] = g->loops[i].wake[1] = -1;
    return g;
}

void vigil_grpc_set_bus(vigil_grpc_t *g, struct vigil_bus *bus)
{
    g->bus = bus;
}

vigil_err_t vigil_grpc_start(vigil_grpc_t *g, char *errstr, size_t errstr_size)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int one = 1;

    memset(&ss, 0, sizeof(ss));
    if (g->family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)g->listen_port);
        if (inet_pton(AF_INET6, g->host, &a->sin6_addr) != 1) goto bad_host;
        sl = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)g->listen_port);
        if (inet_pton(AF_INET, g->host, &a->sin_addr) != 1) goto bad_host;
        sl = sizeof(*a);
    }
    g->lfd = socket(g->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (g->lfd < 0) goto io;
    setsockopt(g->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(g->lfd, (struct sockaddr *)&ss, sl) || listen(g->lfd, 128)) goto io;
    sl = sizeof(ss);
    getsockname(g->lfd, (struct sockaddr *)&ss, &sl);
    g->port = ntohs(g->family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
    g->start_us = vigil_now_us();
    if (g->bus && vigil__grpc_feed_start(g, errstr, errstr_size)) return VIGIL_ERR_BUS;
    for (int i = 0; i < g->nloops; i++) {
        vigil__gloop_t *loop = &g->loops[i];
        loop->g = g;
        loop->index = i;
        if (pipe2(loop->wake, O_NONBLOCK | O_CLOEXEC)) goto io;
        if (pthread_create(&loop->thread, NULL, loop_main, loop)) {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "grpc: cannot start a thread");
            vigil_grpc_stop(g);
            return VIGIL_ERR_NOMEM;
        }
        loop->started = 1;
    }
    vigil_info("grpc", NULL, "grpc listening on %s (port %d): %d loops, watch %s",
               g->cfg->grpc_listen, g->port, g->nloops, g->bus ? "on" : "off (no bus)");
    return VIGIL_OK;
bad_host:
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                        "key \"grpc.listen\": \"%s\" is not an IP address", g->host);
io: {
    int e = errno;
    vigil_grpc_stop(g);
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "grpc: cannot listen on %s: %s",
                        g->cfg->grpc_listen, strerror(e));
}
}

int vigil_grpc_port(const vigil_grpc_t *g)
{
    return g->port;
}

void vigil_grpc_stop(vigil_grpc_t *g)
{
    if (!g) return;
    atomic_store(&g->stopping, 1);
    for (int i = 0; i < g->nloops; i++) {
        vigil__gloop_t *loop = &g->loops[i];
        if (loop->wake[1] >= 0) (void)!write(loop->wake[1], "x", 1);
    }
    for (int i = 0; i < g->nloops; i++) {
        vigil__gloop_t *loop = &g->loops[i];
        if (loop->started) pthread_join(loop->thread, NULL);
        loop->started = 0;
        if (loop->store) vigil_store_close(loop->store);
        loop->store = NULL;
        for (int k = 0; k < 2; k++)
            if (loop->wake[k] >= 0) close(loop->wake[k]), loop->wake[k] = -1;
    }
    vigil__grpc_feed_stop(g);
    if (g->lfd >= 0) close(g->lfd);
    g->lfd = -1;
}

void vigil_grpc_free(vigil_grpc_t *g)
{
    if (!g) return;
    vigil_grpc_stop(g);
    for (int i = 0; i < VIGIL__GRPC_RING; i++) free(g->ring[i].bytes);
    pthread_mutex_destroy(&g->ring_lock);
    pthread_mutex_destroy(&g->m_lock);
    free(g);
}
