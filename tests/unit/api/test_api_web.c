/* The dashboard's static files served by the API (src/api/web.c): the shell
 * and hashed assets with their caching, ETag revalidation, content types,
 * and paths that must not lead outside http.web_root. */
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

#include "api_support.h"
#include "vigil/api.h"
#include "vigil/config.h"
#include "vigil/log.h"

static char dir[64];
static vigil_api_t *api;
static vigil_config_t cfg;
static char root[128], data[128];

static void put(const char *rel, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    assert_non_null(f = fopen(path, "w"));
    fputs(text, f);
    fclose(f);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int setup(void **state)
{
    char errstr[256] = "", path[256];

    vigil_log_set_level(VIGIL_LOG_ERROR);
    snprintf(dir, sizeof(dir), "/tmp/vigil-web-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(root, sizeof(root), "%s/dist", dir);
    snprintf(data, sizeof(data), "%s/data", dir);
    assert_int_equal(mkdir(root, 0755), 0);
    snprintf(path, sizeof(path), "%s/assets", root);
    assert_int_equal(mkdir(path, 0755), 0);
    put("index.html", "<!doctype html><title>vigil</title>");
    put("assets/index-AbC123.js", "console.log(1)");
    put("assets/index-AbC123.css", "body{}");
    put("sw.js", "self.addEventListener('fetch',()=>{})");
    put("manifest.webmanifest", "{\"name\":\"vigil\"}");
    put(".secret", "no");
    snprintf(path, sizeof(path), "%s/link.js", root);
    assert_int_equal(symlink("/etc/passwd", path), 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.http_listen = "127.0.0.1:0";
    cfg.store_url = "sqlite";
    cfg.data_dir = data;
    cfg.http_web_root = root;
    api = vigil_api_new(&cfg, errstr, sizeof(errstr));
    if (!api) fail_msg("vigil_api_new: %s", errstr);
    if (vigil_api_start(api, errstr, sizeof(errstr))) fail_msg("start: %s", errstr);
    return 0;
}

static int teardown(void **state)
{
    vigil_api_free(api);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static void expect(const char *target, int status, const char *type, const char *cache,
                   const char *body)
{
    http_resp_t r;
    char buf[128];

    assert_int_equal(http_get(vigil_api_port(api), target, &r), 0);
    if (r.status != status) fail_msg("GET %s: %d, expected %d: %s", target, r.status, status, r.body);
    if (type) {
        assert_non_null(http_header(&r, "Content-Type", buf, sizeof(buf)));
        assert_string_equal(buf, type);
    }
    if (cache) {
        assert_non_null(http_header(&r, "Cache-Control", buf, sizeof(buf)));
        assert_string_equal(buf, cache);
    }
    if (body) assert_string_equal(r.body, body);
    http_resp_free(&r);
}

static void test_web_shell_and_assets_with_their_caching(void **state)
{
    expect("/", 200, "text/html; charset=utf-8", "no-cache", "<!doctype html><title>vigil</title>");
    expect("/index.html", 200, "text/html; charset=utf-8", "no-cache", NULL);
    expect("/assets/index-AbC123.js", 200, "text/javascript; charset=utf-8",
           "public, max-age=31536000, immutable", "console.log(1)");
    expect("/assets/index-AbC123.css", 200, "text/css; charset=utf-8",
           "public, max-age=31536000, immutable", "body{}");
    expect("/sw.js", 200, "text/javascript; charset=utf-8", "no-cache", NULL);
    expect("/manifest.webmanifest", 200, "application/manifest+json", "no-cache", NULL);
    /* the API's own paths are not files */
    expect("/api/v1/nothing", 404, "application/json", NULL, NULL);
}

static void test_web_etag_revalidates_with_304(void **state)
{
    http_resp_t r;
    char etag[96], hdr[160];

    assert_int_equal(http_get(vigil_api_port(api), "/", &r), 0);
    assert_non_null(http_header(&r, "ETag", etag, sizeof(etag)));
    http_resp_free(&r);
    snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", etag);
    assert_int_equal(http_request_headers(vigil_api_port(api), "GET", "/", hdr, NULL, &r), 0);
    assert_int_equal(r.status, 304);
    assert_int_equal(r.body_len, 0);
    http_resp_free(&r);
    assert_int_equal(http_request_headers(vigil_api_port(api), "GET", "/",
                                          "If-None-Match: W/\"other\"\r\n", NULL, &r),
                     0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
}

static void test_web_refuses_paths_outside_plain_names(void **state)
{
    static const char *const bad[] = {
        "/.secret",         "/assets/../index.html", "/assets/%2e%2e/index.html",
        "/link.js",         "/assets/",              "/assets",
        "/a//b.js",         "/x y.js",               "/assets/missing.js",
        "/..",              "/assets/.hidden",       "/a/b/c/d/e/f.js",
    };
    http_resp_t r;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(http_get(vigil_api_port(api), bad[i], &r), 0);
        if (r.status != 404 && r.status != 400)
            fail_msg("GET %s: %d, expected 404 or 400: %s", bad[i], r.status, r.body);
        assert_null(strstr(r.body, dir)); /* never a path of the server */
        assert_null(strstr(r.body, "root:"));
        http_resp_free(&r);
    }
    /* writes to a file are not routes */
    assert_int_equal(http_request(vigil_api_port(api), "POST", "/index.html", "{}", &r), 0);
    assert_true(r.status == 404 || r.status == 405);
    http_resp_free(&r);
}

static void test_web_without_a_build_says_so(void **state)
{
    char errstr[256] = "", empty[160];
    vigil_config_t c2 = cfg;
    vigil_api_t *a2;
    http_resp_t r;

    snprintf(empty, sizeof(empty), "%s/assets", root); /* a directory without index.html */
    c2.http_web_root = empty;
    assert_non_null(a2 = vigil_api_new(&c2, errstr, sizeof(errstr)));
    assert_int_equal(vigil_api_start(a2, errstr, sizeof(errstr)), 0);
    assert_int_equal(http_get(vigil_api_port(a2), "/", &r), 0);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "not built"));
    assert_null(strstr(r.body, dir));
    http_resp_free(&r);
    vigil_api_free(a2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_web_shell_and_assets_with_their_caching),
        cmocka_unit_test(test_web_etag_revalidates_with_304),
        cmocka_unit_test(test_web_refuses_paths_outside_plain_names),
        cmocka_unit_test(test_web_without_a_build_says_so),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
