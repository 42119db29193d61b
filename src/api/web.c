/* The dashboard's static files (web/, built by Vite into web/dist), served
 * by the API at / so that one port serves both.
 *
 *   GET /                       index.html, the shell: revalidated (no-cache)
 *   GET /assets/NAME            content-hashed JS/CSS/fonts: immutable for a year
 *   GET /sw.js, /manifest.webmanifest, /icon.svg, ...   other top-level files:
 *                               revalidated (a new build must reach browsers)
 *
 * Every file has a weak ETag from its size and modification time, so a
 * revalidation answers 304 without a body. Anyone may fetch these files (no
 * data is in them; the app signs in through the API). The API's own paths
 * (/api/..., /healthz, /readyz, /metrics) never reach here.
 *
 * Safety: a path is served only if every segment is made of [A-Za-z0-9._-],
 * does not start with '.', and the file is a regular file under the root,
 * opened with openat() from the root's directory descriptor without following
 * symbolic links (O_NOFOLLOW on each segment, O_DIRECTORY on directories), so
 * neither "..", a dotfile nor a link can lead outside web_root.
 *
 * Where the root is (http.web_root): as configured; empty = the built
 * dashboard beside the executable: ../web/dist from its directory (a build
 * tree such as build/vigil), then ../share/vigil/web (installed). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_int.h"
#include "api/params.h"
#include "vigil/log.h"

#define WEB_PATH_MAX 256  /* longer paths are not files of the dashboard */
#define WEB_DEPTH_MAX 4   /* /assets/x.js is 2 */

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".webmanifest", "application/manifest+json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".webp", "image/webp"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
    {".txt", "text/plain; charset=utf-8"},
    {".map", "application/json"},
};

static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (dot)
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strcmp(dot, types[i].ext) == 0) return types[i].type;
    return "application/octet-stream";
}

/* Opens `dir` if it holds index.html; -1 if not. */
static int open_root(const char *dir)
{
    struct stat st;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0) return -1;
    if (fstatat(fd, "index.html", &st, 0) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

void vigil__web_init(vigil_api_t *api, const char *configured)
{
    char exe[PATH_MAX], dir[PATH_MAX + 32];
    ssize_t n;

    api->web_fd = -1;
    if (api->monitor) return;
    if (configured && *configured) {
        if ((api->web_fd = open_root(configured)) < 0)
            vigil_warn("api", NULL,
                       "dashboard: http.web_root %s has no index.html (build it with `make web`); "
                       "/ answers 404",
                       configured);
        else
            vigil_info("api", NULL, "dashboard: serving %s at /", configured);
        return;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        char *slash;

        exe[n] = '\0';
        if ((slash = strrchr(exe, '/'))) *slash = '\0';
        const char *const rel[] = {"../web/dist", "../share/vigil/web"};
        for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]) && api->web_fd < 0; i++) {
            char real[PATH_MAX];
            snprintf(dir, sizeof(dir), "%s/%s", exe, rel[i]);
            if ((api->web_fd = open_root(dir)) >= 0)
                vigil_info("api", NULL, "dashboard: serving %s at /",
                           realpath(dir, real) ? real : dir);
        }
    }
    if (api->web_fd < 0)
        vigil_info("api", NULL,
                   "dashboard: not built (no web/dist beside the executable; `make web`, or set "
                   "http.web_root); the API is served without it");
}

void vigil__web_free(vigil_api_t *api)
{
    if (api->web_fd >= 0) close(api->web_fd);
    api->web_fd = -1;
}

int vigil__web_claims(const vigil_api_t *api, const char *url)
{
    if (api->monitor || !url || url[0] != '/') return 0;
    return strncmp(url, "/api/", 5) != 0 && strcmp(url, "/api") != 0;
}

/* Whether every segment of `path` (no leading '/') is a plain name. */
static int path_ok(const char *path, size_t len)
{
    int depth = 1, seg_start = 1;

    if (len == 0 || len >= WEB_PATH_MAX) return 0;
    for (size_t i = 0; i < len; i++) {
        char c = path[i];
        if (c == '/') {
            if (seg_start || ++depth > WEB_DEPTH_MAX) return 0; /* "//" or too deep */
            seg_start = 1;
            continue;
        }
        if (seg_start && c == '.') return 0; /* ".", "..", dotfiles */
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
        seg_start = 0;
    }
    return !seg_start; /* no trailing '/' */
}

/* Opens `path` under the root one segment at a time, never following a link. */
static int open_under(int root, const char *path)
{
    char seg[WEB_PATH_MAX];
    int dir = root, fd;

    for (;;) {
        const char *slash = strchr(path, '/');
        size_t n = slash ? (size_t)(slash - path) : strlen(path);

        memcpy(seg, path, n);
        seg[n] = '\0';
        fd = openat(dir, seg,
                    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (slash ? O_DIRECTORY : O_NONBLOCK));
        if (dir != root) close(dir);
        if (fd < 0 || !slash) return fd;
        dir = fd;
        path = slash + 1;
    }
}

static void not_found(vigil__reply_t *reply, const char *url)
{
    char safe[160];

    vigil__api_sanitize(safe, sizeof(safe), url);
    vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL, "no such path \"%s\"", safe);
}

void vigil__web_serve(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    const char *url = req->url, *rel, *inm;
    char etag[64];
    struct stat st;
    int fd, immutable;

    if (api->web_fd < 0) {
        if (strcmp(url, "/") == 0)
            vigil__reply_error(reply, MHD_HTTP_NOT_FOUND, NULL,
                               "the dashboard is not built on this server (`make web`, or "
                               "http.web_root); the API is at /api/v1/");
        else
            not_found(reply, url);
        return;
    }
    rel = strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0 ? "index.html" : url + 1;
    if (!path_ok(rel, strlen(rel)) || (fd = open_under(api->web_fd, rel)) < 0) {
        not_found(reply, url);
        return;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        not_found(reply, url);
        return;
    }
    immutable = strncmp(rel, "assets/", 7) == 0;
    snprintf(etag, sizeof(etag), "W/\"%" PRIx64 "-%" PRIx64 "\"", (uint64_t)st.st_size,
             (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec);
    vigil__reply_header(reply, MHD_HTTP_HEADER_ETAG, etag);
    reply->cache_control =
        immutable ? "public, max-age=31536000, immutable" : "no-cache";
    inm = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                      MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm && strstr(inm, etag + 2)) { /* weak comparison: the quoted part */
        close(fd);
        vigil__reply_bytes(reply, MHD_HTTP_NOT_MODIFIED, content_type(rel), NULL, 0);
        return;
    }
    vigil__reply_file(reply, MHD_HTTP_OK, content_type(rel), fd, 0, (uint64_t)st.st_size);
}
