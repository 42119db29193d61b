/* Requests at the HTTP edge: the checks every request passes before it is
 * routed, and the headers every response carries (see edge.h).
 *
 * Main idea: refuse early, in JSON, naming what is wrong and never echoing
 * more than a sanitized fragment of what the client sent:
 *   421  a Host header this API does not answer to (DNS rebinding: a web
 *        page whose name was re-pointed at this address must not be able to
 *        use the API with the browser of someone on the same network),
 *   429  a client over its request rate (Retry-After says when to retry),
 *   414  a request target over 8 KiB, 431 headers over 16 KiB or 100 lines,
 *   413  a declared body over 1 MiB (at once, before it is sent),
 *   400  over 64 query arguments, a NUL byte hidden in a decoded path,
 *        name or value (`?limit=5%00x`: C code would see "5"), a parameter
 *        the route does not take, a repeated Host header.
 * CORS is closed unless http.cors_origins lists the Origin. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "api/edge_int.h"
#include "api/params.h"

/* The dashboard (served from / later) loads its own scripts, styles and
 * images, frames as data: or blob: URLs, and talks to this origin only. */
static const char csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'";

static const char cors_allow_headers[] =
    "Authorization, Content-Type, If-Match, If-None-Match, Last-Event-ID, Range, X-CSRF-Token";
static const char cors_expose_headers[] = "ETag, Retry-After, Content-Range";

/* --- settings ------------------------------------------------------------------------ */

int vigil__edge_split(const char *list, int lower, char ***items, size_t *n)
{
    char **out = NULL;
    size_t count = 0;
    const char *p = list ? list : "";

    *items = NULL;
    *n = 0;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (len && isspace((unsigned char)*s)) s++, len--;
        while (len && isspace((unsigned char)s[len - 1])) len--;
        if (len) {
            char **grown = realloc(out, (count + 1) * sizeof(*out));
            char *item = grown ? strndup(s, len) : NULL;
            if (grown) out = grown;
            if (!item) {
                vigil__edge_split_free(out, count);
                return -1;
            }
            for (char *c = item; lower && *c; c++) *c = (char)tolower((unsigned char)*c);
            out[count++] = item;
        }
        p = end ? end + 1 : p + strlen(p);
    }
    *items = out;
    *n = count;
    return 0;
}

void vigil__edge_split_free(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++) free(items[i]);
    free(items);
}

int vigil__edge_parse_nets(const char *key, const char *list, vigil__edge_net_t **nets,
                           size_t *n, char *errstr, size_t errstr_size)
{
    char **items;
    size_t count;
    vigil__edge_net_t *out;

    *nets = NULL;
    *n = 0;
    if (vigil__edge_split(list, 0, &items, &count)) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "api: out of memory");
        return -1;
    }
    out = calloc(count ? count : 1, sizeof(*out));
    for (size_t i = 0; out && i < count; i++) {
        char *slash = strchr(items[i], '/');
        struct in_addr a4;
        long bits = -1;
        if (slash) { /* plain digits: strtol alone took "-1" (no prefix), "+8", " 8" */
            const char *d = slash + 1;
            size_t nd = strspn(d, "0123456789");
            *slash = '\0';
            bits = nd >= 1 && nd <= 3 && !d[nd] ? strtol(d, NULL, 10) : -2;
        }
        if (inet_pton(AF_INET, items[i], &a4) == 1 && bits >= -1 && bits <= 32) {
            out[i].addr[10] = out[i].addr[11] = 0xff;
            memcpy(out[i].addr + 12, &a4, 4);
            out[i].bits = 96 + (bits < 0 ? 32 : (int)bits);
        } else if (inet_pton(AF_INET6, items[i], out[i].addr) == 1 && bits >= -1 &&
                   bits <= 128) {
            out[i].bits = bits < 0 ? 128 : (int)bits;
        } else {
            char safe[80];
            if (slash) *slash = '/'; /* the entry as written */
            vigil__api_sanitize(safe, sizeof(safe), items[i]);
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                         "%s: \"%s\" is not an address or ADDRESS/BITS "
                         "(127.0.0.0/8, ::1, 10.1.2.3, fd00::/8)",
                         key, safe);
            free(out);
            vigil__edge_split_free(items, count);
            return -1;
        }
    }
    vigil__edge_split_free(items, count);
    if (!out) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "api: out of memory");
        return -1;
    }
    *nets = out;
    *n = count;
    return 0;
}

/* Notes `path` as it is configured and as the absolute path it names, each
 * ending with a '/' when it has none (so that "data" matches "data/vigil.db"
 * and not the word). Shorter forms than 3 bytes are left alone. */
static void add_paths(vigil__edge_t *edge, const char *path, const char *name)
{
    char *abs = path && path[0] ? realpath(path, NULL) : NULL;
    const char *forms[2] = {path, abs};

    for (int i = 0; i < 2 && edge->npaths < 4; i++) {
        const char *f = forms[i];
        size_t n = f ? strlen(f) : 0;
        char *copy;
        if (n < 2 || (i == 1 && path && strcmp(f, path) == 0)) continue;
        if (!(copy = malloc(n + 2))) break;
        memcpy(copy, f, n + 1);
        if (!strchr(copy, '/')) memcpy(copy + n, "/", 2);
        if (strlen(copy) < 3) {
            free(copy);
            continue;
        }
        edge->paths[edge->npaths] = copy;
        edge->path_names[edge->npaths++] = name;
    }
    free(abs);
}

vigil__edge_t *vigil__edge_new(const vigil_config_t *cfg, char *errstr, size_t errstr_size)
{
    vigil__edge_t *edge = calloc(1, sizeof(*edge));
    pthread_condattr_t ca;

    if (!edge || !(edge->clients = calloc(VIGIL__EDGE_CLIENTS, sizeof(*edge->clients)))) {
        free(edge);
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "api: out of memory");
        return NULL;
    }
    pthread_mutex_init(&edge->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&edge->cond, &ca);
    pthread_condattr_destroy(&ca);
    /* A vigil_config_t built by hand (tests) has zeros: no per-client limits,
     * the default global limit and deadlines. */
    edge->max_connections = cfg->http_max_connections > 0 ? (unsigned)cfg->http_max_connections
                                                          : 1000;
    edge->max_per_client = cfg->http_max_connections_per_client;
    edge->rate = cfg->http_rate_limit > 0 ? cfg->http_rate_limit : 0;
    edge->burst = cfg->http_rate_burst > 0 ? cfg->http_rate_burst : 2 * edge->rate;
    if (edge->burst < 1) edge->burst = 1;
    edge->header_timeout_us =
        (int64_t)(cfg->http_header_timeout_s > 0 ? cfg->http_header_timeout_s : 10) * 1000000;
    edge->body_timeout_us =
        (int64_t)(cfg->http_body_timeout_s > 0 ? cfg->http_body_timeout_s : 60) * 1000000;
    if (vigil__edge_parse_nets("http.limits_exempt", cfg->http_limits_exempt, &edge->exempt,
                               &edge->nexempt, errstr, errstr_size) ||
        vigil__edge_parse_nets("http.trusted_proxies", cfg->http_trusted_proxies,
                               &edge->trusted, &edge->ntrusted, errstr, errstr_size))
        goto fail;
    if (vigil__edge_split(cfg->http_allowed_hosts, 1, &edge->hosts, &edge->nhosts) ||
        vigil__edge_split(cfg->http_cors_origins, 0, &edge->origins, &edge->norigins)) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "api: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < edge->norigins; i++) {
        const char *o = edge->origins[i];
        if ((strncmp(o, "http://", 7) && strncmp(o, "https://", 8)) || strchr(o + 8, '/')) {
            char safe[80];
            vigil__api_sanitize(safe, sizeof(safe), o);
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                         "http.cors_origins: \"%s\" is not an origin (SCHEME://HOST[:PORT], "
                         "no path: https://dash.example.com)",
                         safe);
            goto fail;
        }
    }
    add_paths(edge, cfg->data_dir, "DATA_DIR");
    if (cfg->store_url && strncmp(cfg->store_url, "sqlite:", 7) == 0)
        add_paths(edge, cfg->store_url + 7, "the warehouse file");
    for (int i = 1; i < edge->npaths; i++) /* longest first */
        for (int j = i; j > 0 && strlen(edge->paths[j]) > strlen(edge->paths[j - 1]); j--) {
            char *p = edge->paths[j];
            const char *nm = edge->path_names[j];
            edge->paths[j] = edge->paths[j - 1];
            edge->path_names[j] = edge->path_names[j - 1];
            edge->paths[j - 1] = p;
            edge->path_names[j - 1] = nm;
        }
    if (cfg->http_tls_cert && cfg->http_tls_cert[0]) {
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                         "http.tls_cert: this libmicrohttpd was built without TLS");
            goto fail;
        }
        if (vigil__tls_load(cfg->http_tls_cert, cfg->http_tls_key, &edge->tls_cert,
                            &edge->tls_key, errstr, errstr_size))
            goto fail;
    } else if (cfg->http_tls_key && cfg->http_tls_key[0]) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                     "http.tls_key is set but http.tls_cert is not: TLS needs both");
        goto fail;
    }
    return edge;
fail:
    vigil__edge_free(edge);
    return NULL;
}

void vigil__edge_free(vigil__edge_t *edge)
{
    if (!edge) return;
    vigil__edge_stop(edge);
    pthread_mutex_destroy(&edge->lock);
    pthread_cond_destroy(&edge->cond);
    free(edge->clients);
    free(edge->exempt);
    free(edge->trusted);
    vigil__edge_split_free(edge->hosts, edge->nhosts);
    vigil__edge_split_free(edge->origins, edge->norigins);
    free(edge->tls_cert);
    vigil__tls_free_key(edge->tls_key);
    for (int i = 0; i < edge->npaths; i++) free(edge->paths[i]);
    free(edge);
}

void vigil__edge_set_port(vigil__edge_t *edge, int port, int family, const char *host)
{
    edge->port = port;
    edge->family = family;
    snprintf(edge->host, sizeof(edge->host), "%s", host);
}

const char *vigil__edge_tls_cert(const vigil__edge_t *edge)
{
    return edge->tls_cert;
}

const char *vigil__edge_tls_key(const vigil__edge_t *edge)
{
    return edge->tls_key;
}

unsigned vigil__edge_max_connections(const vigil__edge_t *edge)
{
    return edge->max_connections;
}

/* --- the request line ------------------------------------------------------------------ */

int vigil__edge_uri(const char *uri, size_t *uri_len)
{
    const char *q = strchr(uri, '?');
    int flags = 0;

    *uri_len = strlen(uri);
    if (*uri_len > VIGIL__EDGE_URL_MAX) flags |= VIGIL__EDGE_URI_TOO_LONG;
    if (q && q[1]) {
        int args = 1;
        for (const char *p = q + 1; *p && args <= VIGIL__EDGE_ARGS_MAX; p++) args += *p == '&';
        if (args > VIGIL__EDGE_ARGS_MAX) flags |= VIGIL__EDGE_URI_TOO_MANY_ARGS;
    }
    /* `uri` is libmicrohttpd's own (writable) buffer; it parses the query
     * from q + 1 after this callback: an empty string leaves it none. */
    if (flags && q) ((char *)q)[1] = '\0';
    return flags;
}

/* --- Host -------------------------------------------------------------------------- */

/* Whether `name` (lowercase, no brackets) is an IP literal equal to the
 * address the connection was accepted on (or the configured one). */
static int is_local_literal(vigil__edge_t *edge, struct MHD_Connection *conn, const char *name)
{
    struct sockaddr_storage ss;
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
    uint8_t want[16], got[16];

    if (inet_pton(AF_INET, name, &s4.sin_addr) == 1)
        vigil__edge_addr16((struct sockaddr *)&s4, want);
    else if (inet_pton(AF_INET6, name, &s6.sin6_addr) == 1)
        vigil__edge_addr16((struct sockaddr *)&s6, want);
    else
        return 0;
    if (vigil__edge_conn_local(conn, &ss) == 0 && vigil__edge_addr16((struct sockaddr *)&ss, got) == 0)
        return memcmp(want, got, 16) == 0;
    return strcmp(name, edge->host) == 0;
}

/* 1 if the Host header value `hdr` names this API, else 0. */
static int host_allowed(vigil_api_t *api, struct MHD_Connection *conn, const char *hdr)
{
    vigil__edge_t *edge = api->edge;
    char name[256], hostpart[260], with_port[272];
    const char *end, *portp = NULL;
    size_t n;
    long port = -1;

    if (hdr[0] == '[') {
        end = strchr(hdr, ']');
        if (!end) return 0;
        n = (size_t)(end - hdr - 1);
        if (n >= sizeof(name)) return 0;
        memcpy(name, hdr + 1, n);
        if (end[1] == ':') portp = end + 2;
        else if (end[1]) return 0;
    } else {
        end = strchr(hdr, ':');
        n = end ? (size_t)(end - hdr) : strlen(hdr);
        if (n >= sizeof(name)) return 0;
        memcpy(name, hdr, n);
        if (end) portp = end + 1;
    }
    name[n] = '\0';
    if (portp) {
        char *e;
        if (!*portp || strlen(portp) > 5 || !isdigit((unsigned char)*portp)) return 0;
        port = strtol(portp, &e, 10);
        if (*e || port > 65535) return 0;
    }
    for (char *c = name; *c; c++) *c = (char)tolower((unsigned char)*c);
    n = strlen(name);
    if (n > 1 && name[n - 1] == '.') name[--n] = '\0'; /* "localhost." */
    if (!n) return 0;
    snprintf(hostpart, sizeof(hostpart), hdr[0] == '[' ? "[%s]" : "%s", name);
    snprintf(with_port, sizeof(with_port), "%s:%ld", hostpart, port);
    for (size_t i = 0; i < edge->nhosts; i++)
        if (strcmp(edge->hosts[i], hostpart) == 0 || (port >= 0 && strcmp(edge->hosts[i], with_port) == 0))
            return 1;
    /* this address or localhost, on the port it listens on (a client may
     * leave the port out: DNS rebinding needs a name, not a port) */
    if (port >= 0 && port != edge->port) return 0;
    return strcmp(name, "localhost") == 0 || is_local_literal(edge, conn, name);
}

/* --- checks ------------------------------------------------------------------------- */

typedef struct scan {
    size_t bytes, lines, hosts;
    int nul;
    char nul_name[72];
    const char *params; /* accepted names, "*" or NULL */
    int nargs;
    char unknown[72];
    int has_unknown;
} scan_t;

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    scan_t *s = cls;

    (void)kind;
    s->bytes += key_size + value_size + 4;
    s->lines++;
    if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) s->hosts++;
    if (!s->nul && (strlen(key) != key_size || (value && strlen(value) != value_size))) {
        s->nul = 1;
        vigil__api_sanitize(s->nul_name, sizeof(s->nul_name), key);
    }
    return MHD_YES;
}

/* Whether `key` is in the comma-separated list. */
static int listed(const char *list, const char *key, size_t key_size)
{
    const char *p = list;

    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == key_size && memcmp(p, key, n) == 0) return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

static enum MHD_Result scan_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                size_t key_size, const char *value, size_t value_size)
{
    scan_t *s = cls;

    (void)kind;
    s->nargs++;
    if (!s->nul && (strlen(key) != key_size || (value && strlen(value) != value_size))) {
        s->nul = 1;
        vigil__api_sanitize(s->nul_name, sizeof(s->nul_name), key);
    }
    if (!s->has_unknown && (!s->params || (strcmp(s->params, "*") && !listed(s->params, key, key_size)))) {
        s->has_unknown = 1;
        vigil__api_sanitize(s->unknown, sizeof(s->unknown), key);
    }
    return MHD_YES;
}

int vigil__edge_check(vigil_api_t *api, vigil__req_t *req, int uri_flags, size_t uri_len,
                      const char *params, vigil__reply_t *reply)
{
    struct MHD_Connection *conn = req->conn;
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    scan_t s = {.params = params};
    int retry;

    if (!vigil__edge_rate_take(api->edge, req->client_known ? req->client_addr : NULL, &retry)) {
        char secs[16];
        snprintf(secs, sizeof(secs), "%d", retry);
        vigil__reply_error(reply, MHD_HTTP_TOO_MANY_REQUESTS, NULL,
                           "too many requests from %s: retry in %d s (http.rate_limit)",
                           req->client_ip, retry);
        vigil__reply_header(reply, MHD_HTTP_HEADER_RETRY_AFTER, secs);
        return 0;
    }
    if (host && !host_allowed(api, conn, host)) {
        char safe[96];
        vigil__api_sanitize(safe, sizeof(safe), host);
        vigil__reply_error(reply, MHD_HTTP_MISDIRECTED_REQUEST, NULL,
                           "host \"%s\" is not served here: use the address vigil listens on, "
                           "localhost, or a name listed in http.allowed_hosts",
                           safe);
        return 0;
    }
    if ((uri_flags & VIGIL__EDGE_URI_TOO_LONG) || uri_len > VIGIL__EDGE_URL_MAX) {
        vigil__reply_error(reply, MHD_HTTP_URI_TOO_LONG, NULL,
                           "request target over %d bytes", VIGIL__EDGE_URL_MAX);
        return 0;
    }
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, scan_header, &s);
    if (s.bytes > VIGIL__EDGE_HEADERS_MAX || s.lines > VIGIL__EDGE_HEADER_LINES_MAX) {
        vigil__reply_error(reply, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, NULL,
                           "request headers over %d bytes or %d lines", VIGIL__EDGE_HEADERS_MAX,
                           VIGIL__EDGE_HEADER_LINES_MAX);
        return 0;
    }
    if (s.hosts > 1 || s.nul) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, NULL,
                           s.nul ? "header \"%s\" holds a NUL byte" : "more than one Host header%s",
                           s.nul ? s.nul_name : "");
        return 0;
    }
    if (uri_flags & VIGIL__EDGE_URI_TOO_MANY_ARGS) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, NULL, "more than %d query parameters",
                           VIGIL__EDGE_ARGS_MAX);
        return 0;
    }
    MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, scan_arg, &s);
    if (s.nargs > VIGIL__EDGE_ARGS_MAX) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, NULL, "more than %d query parameters",
                           VIGIL__EDGE_ARGS_MAX);
        return 0;
    }
    if (s.nul) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, s.nul_name,
                           "invalid parameter \"%s\": holds a NUL byte (%%00)", s.nul_name);
        return 0;
    }
    if (vigil__edge_conn_nul(conn)) {
        vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, NULL, "the path holds a NUL byte (%%00)");
        return 0;
    }
    if (s.has_unknown) {
        if (params)
            vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, s.unknown,
                               "unknown parameter \"%s\" (accepted: %s)", s.unknown, params);
        else
            vigil__reply_error(reply, MHD_HTTP_BAD_REQUEST, s.unknown,
                               "unknown parameter \"%s\" (this route takes no query parameters)",
                               s.unknown);
        return 0;
    }
    if (cl) {
        unsigned long long n = 0;
        int digits = 1;
        for (const char *p = cl; *p && digits; p++) {
            digits = isdigit((unsigned char)*p);
            if (digits && n <= VIGIL__API_BODY_MAX) n = n * 10 + (unsigned)(*p - '0');
        }
        if (digits && n > VIGIL__API_BODY_MAX) {
            vigil__reply_error(reply, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
                               "request body over %d bytes", VIGIL__API_BODY_MAX);
            return 0;
        }
    }
    return 1;
}

/* --- routes' parameters ------------------------------------------------------------------ */

/* The query parameters of each route that takes any, by its path in
 * server.c's routes[]: "*" when its handler checks them itself (params.c
 * refuses unknown and repeated ones, naming them), else the names, comma
 * separated. A route not listed takes none: any parameter is a 400 before
 * the handler runs. Add a route here when it gains parameters. */
static const struct {
    const char *path;
    const char *params;
} route_params[] = {
    {"/api/v1/cameras", "*"},
    {"/api/v1/cameras", "*"},
    {"/api/v1/detections", "*"},
    {"/api/v1/events", "*"},
    {"/api/v1/counts", "*"},
    {"/api/v1/search", "*"},
    {"/api/v1/stream", "types,cameras,labels,last_event_id"},
    {"/api/v1/cameras/*/live.mjpeg", "fps,boxes"},
    {"/api/v1/tokens", "*"},
    {"/api/v1/audit", "*"},
    {"/api/v1/openapi.json", "*"},
};

const char *vigil__edge_route_params(const char *path)
{
    for (size_t i = 0; path && i < sizeof(route_params) / sizeof(route_params[0]); i++)
        if (strcmp(route_params[i].path, path) == 0) return route_params[i].params;
    return NULL;
}

/* --- error bodies --------------------------------------------------------------------- */

int vigil__edge_scrub(vigil_api_t *api, vigil__reply_t *reply)
{
    vigil__edge_t *edge = api->edge;
    int scrubbed = 0;

    if (!reply->error[0] || !reply->body) return 0;
    /* longest first (edge->paths is sorted): an absolute path before a
     * relative one that ends it */
    for (int i = 0; i < edge->npaths; i++) {
        const char *path = edge->paths[i], *name = edge->path_names[i];
        size_t plen = strlen(path), nlen = strlen(name), from = 0;
        int slash = path[plen - 1] == '/';
        char *hit;
        while (from < reply->len &&
               (hit = memmem(reply->body + from, reply->len - from, path, plen))) {
            size_t at = (size_t)(hit - reply->body), add = nlen + (size_t)slash;
            from = at + add;
            char *body = malloc(reply->len - plen + add + 1);
            if (!body) return scrubbed;
            memcpy(body, reply->body, at);
            memcpy(body + at, name, nlen);
            if (slash) body[at + nlen] = '/';
            memcpy(body + at + add, hit + plen, reply->len - at - plen);
            reply->len = reply->len - plen + add;
            body[reply->len] = '\0';
            free(reply->body);
            reply->body = body;
            scrubbed = 1;
        }
    }
    return scrubbed;
}

/* --- CORS and response headers ---------------------------------------------------------- */

static int origin_allowed(const vigil__edge_t *edge, const char *origin)
{
    for (size_t i = 0; origin && i < edge->norigins; i++)
        if (strcmp(edge->origins[i], origin) == 0) return 1;
    return 0;
}

int vigil__edge_preflight(vigil_api_t *api, vigil__req_t *req, const char *allow,
                          vigil__reply_t *reply)
{
    const char *origin = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Origin");
    const char *method = MHD_lookup_connection_value(
        req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCESS_CONTROL_REQUEST_METHOD);

    if (strcmp(req->method, MHD_HTTP_METHOD_OPTIONS) != 0 || !origin || !method) return 0;
    if (!origin_allowed(api->edge, origin)) {
        char safe[96];
        vigil__api_sanitize(safe, sizeof(safe), origin);
        vigil__reply_error(reply, MHD_HTTP_FORBIDDEN, NULL,
                           "cross-origin requests from \"%s\" are not allowed (http.cors_origins)",
                           safe);
        return 1;
    }
    if (!allow[0]) return 0; /* no such path: 404 */
    vigil__reply_bytes(reply, MHD_HTTP_NO_CONTENT, "text/plain", NULL, 0);
    vigil__reply_header(reply, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_METHODS, allow);
    vigil__reply_header(reply, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_HEADERS, cors_allow_headers);
    vigil__reply_header(reply, MHD_HTTP_HEADER_ACCESS_CONTROL_MAX_AGE, "600");
    return 1;
}

void vigil__edge_response_headers(vigil_api_t *api, struct MHD_Connection *conn, int https,
                                  struct MHD_Response *resp)
{
    vigil__edge_t *edge = api->edge;

    MHD_add_response_header(resp, "Content-Security-Policy", csp);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    if (https) /* vigil's TLS, or a trusted proxy's X-Forwarded-Proto: https */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_STRICT_TRANSPORT_SECURITY,
                                "max-age=31536000");
    if (edge->norigins) {
        const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Origin");
        if (origin_allowed(edge, origin)) {
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_EXPOSE_HEADERS,
                                    cors_expose_headers);
        }
    }
}
