/* The API's gate with accounts on (auth.enabled): anonymous 401, roles 403,
 * read-scope tokens cannot write, cookie writes need the CSRF token,
 * sign-in sets a Secure HttpOnly SameSite=Strict cookie, sign-out ends it,
 * the per-address sign-in limit answers 429, and the setup route refuses a
 * wrong token. A real server on port 0 over a temporary warehouse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "api_support.h"
#include "vigil/api.h"
#include "vigil/auth.h"
#include "vigil/clock.h"
#include "vigil/config.h"
#include "vigil/log.h"
#include "vigil/store.h"

#define PASSWORD "a long enough password"

typedef struct fixture {
    char dir[64];
    vigil_config_t cfg;
    vigil_api_t *api;
    int port;
    char admin[64], viewer[64], viewer_read[64], oper[64];
} fixture_t;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void make_token(vigil_store_t *s, const char *user, int write, char out[64])
{
    char errstr[256];

    if (vigil_token_create(s, user, NULL, write, 0, vigil_now_us(), out, NULL, errstr,
                           sizeof(errstr)))
        fail_msg("token_create %s: %s", user, errstr);
}

static int group_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    vigil_store_conf_t conf;
    vigil_store_t *s;
    char errstr[256] = "";

    if (!fx) return -1;
    vigil_log_set_level(getenv("API_TEST_DEBUG") ? VIGIL_LOG_DEBUG : VIGIL_LOG_ERROR);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/vigil-api-auth-XXXXXX");
    if (!mkdtemp(fx->dir)) return -1;
    vigil_store_conf_init(&conf);
    conf.url = "sqlite";
    conf.data_dir = fx->dir;
    conf.migrate = 1;
    s = vigil_store_open(&conf, errstr, sizeof(errstr));
    if (!s) fail_msg("store: %s", errstr);
    if (vigil_user_add(s, "ada", VIGIL_ROLE_ADMIN, PASSWORD, NULL, errstr, sizeof(errstr)) ||
        vigil_user_add(s, "vera", VIGIL_ROLE_VIEWER, PASSWORD, NULL, errstr, sizeof(errstr)) ||
        vigil_user_add(s, "otto", VIGIL_ROLE_OPERATOR, PASSWORD, NULL, errstr, sizeof(errstr)))
        fail_msg("user_add: %s", errstr);
    make_token(s, "ada", 1, fx->admin);
    make_token(s, "vera", 1, fx->viewer);
    make_token(s, "vera", 0, fx->viewer_read);
    make_token(s, "otto", 1, fx->oper);
    vigil_store_close(s);
    fx->cfg.http_listen = "127.0.0.1:0";
    fx->cfg.store_url = "sqlite";
    fx->cfg.data_dir = fx->dir;
    fx->cfg.auth_enabled = 1;
    fx->cfg.auth_session_hours = 1;
    fx->cfg.auth_session_idle_hours = 1;
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

/* METHOD target with an optional bearer token and extra headers; returns the status. */
static int call(fixture_t *fx, const char *method, const char *target, const char *token,
                const char *extra, const char *body, http_resp_t *out)
{
    char headers[1024];
    http_resp_t r;
    int status;

    snprintf(headers, sizeof(headers), "%s%s%s%s%s", token ? "Authorization: Bearer " : "",
             token ? token : "", token ? "\r\n" : "", extra ? extra : "",
             body ? "Content-Type: application/json\r\n" : "");
    assert_int_equal(http_request_headers(fx->port, method, target, headers, body, &r), 0);
    status = r.status;
    if (out)
        *out = r;
    else
        http_resp_free(&r);
    return status;
}

static void test_anonymous_gets_401_public_routes_answer(void **state)
{
    fixture_t *fx = *state;
    http_resp_t r;
    char www[128];

    assert_int_equal(call(fx, "GET", "/api/v1/detections", NULL, NULL, NULL, &r), 401);
    assert_non_null(http_header(&r, "WWW-Authenticate", www, sizeof(www)));
    assert_non_null(strstr(r.body, "sign in required"));
    http_resp_free(&r);
    assert_int_equal(call(fx, "GET", "/metrics", NULL, NULL, NULL, NULL), 401);
    assert_int_equal(call(fx, "GET", "/healthz", NULL, NULL, NULL, NULL), 200);
    assert_int_equal(call(fx, "GET", "/api/v1/auth/setup", NULL, NULL, NULL, &r), 200);
    assert_non_null(strstr(r.body, "\"needed\":false"));
    http_resp_free(&r);
    /* a malformed or unknown credential: 401 that says so */
    assert_int_equal(call(fx, "GET", "/api/v1/detections", "vgl_nonsense", NULL, NULL, &r), 401);
    assert_non_null(strstr(r.body, "not valid"));
    http_resp_free(&r);
    assert_int_equal(call(fx, "GET", "/api/v1/detections", NULL, "Authorization: Basic eDp5\r\n",
                          NULL, NULL),
                     401);
}

static void test_roles_and_scopes(void **state)
{
    fixture_t *fx = *state;
    http_resp_t r;
    const char *add = "{\"name\":\"newbie\",\"role\":\"viewer\",\"password\":\"" PASSWORD "\"}";

    assert_int_equal(call(fx, "GET", "/api/v1/detections", fx->viewer_read, NULL, NULL, NULL), 200);
    assert_int_equal(call(fx, "GET", "/api/v1/users", fx->viewer, NULL, NULL, &r), 403);
    assert_non_null(strstr(r.body, "needs admin"));
    http_resp_free(&r);
    assert_int_equal(call(fx, "GET", "/api/v1/users", fx->oper, NULL, NULL, NULL), 403);
    assert_int_equal(call(fx, "GET", "/api/v1/users", fx->admin, NULL, NULL, NULL), 200);
    assert_int_equal(call(fx, "POST", "/api/v1/users", fx->viewer, NULL, add, NULL), 403);
    assert_int_equal(call(fx, "POST", "/api/v1/users", fx->admin, NULL, add, NULL), 201);
    assert_int_equal(call(fx, "POST", "/api/v1/users", fx->admin, NULL, add, NULL), 409);
    assert_int_equal(call(fx, "PATCH", "/api/v1/users/newbie", fx->admin, NULL,
                          "{\"role\":\"operator\"}", &r),
                     200);
    assert_non_null(strstr(r.body, "\"role\":\"operator\""));
    http_resp_free(&r);
    assert_int_equal(call(fx, "PATCH", "/api/v1/users/newbie", fx->admin, NULL,
                          "{\"role\":\"root\"}", NULL),
                     400);
    assert_int_equal(call(fx, "PATCH", "/api/v1/users/nobody", fx->admin, NULL,
                          "{\"role\":\"viewer\"}", NULL),
                     404);
    assert_int_equal(call(fx, "DELETE", "/api/v1/users/ada", fx->admin, NULL, NULL, NULL), 409);
    assert_int_equal(call(fx, "DELETE", "/api/v1/users/newbie", fx->admin, NULL, NULL, NULL), 200);
    assert_int_equal(call(fx, "DELETE", "/api/v1/users/newbie", fx->admin, NULL, NULL, NULL), 404);
    /* a read-scope token cannot write, even its own token list */
    assert_int_equal(call(fx, "POST", "/api/v1/tokens", fx->viewer_read, NULL, "{}", &r), 403);
    assert_non_null(strstr(r.body, "read scope"));
    http_resp_free(&r);
    assert_int_equal(call(fx, "POST", "/api/v1/tokens", fx->viewer, NULL, "{\"scope\":\"read\"}",
                          &r),
                     201);
    assert_non_null(strstr(r.body, "\"token\":\"vgl_"));
    http_resp_free(&r);
    /* bodies: unknown fields, wrong types, not JSON */
    assert_int_equal(call(fx, "POST", "/api/v1/tokens", fx->viewer, NULL, "{\"x\":1}", NULL), 400);
    assert_int_equal(call(fx, "POST", "/api/v1/tokens", fx->viewer, NULL,
                          "{\"expires_days\":1e400}", NULL),
                     400);
    assert_int_equal(call(fx, "POST", "/api/v1/tokens", fx->viewer, NULL, "{} x", NULL), 400);
    assert_int_equal(call(fx, "POST", "/api/v1/users", fx->admin, NULL,
                          "{\"name\":\"a\\u0000b\",\"role\":\"viewer\",\"password\":\"12345678\"}",
                          NULL),
                     400);
}

/* Signs in as vera; fills sid and csrf. */
static void sign_in(fixture_t *fx, char *sid, size_t sid_size, char *csrf, size_t csrf_size)
{
    http_resp_t r;
    char cookie[256];
    json_t *j;

    assert_int_equal(call(fx, "POST", "/api/v1/auth/login", NULL, NULL,
                          "{\"name\":\"vera\",\"password\":\"" PASSWORD "\"}", &r),
                     200);
    assert_non_null(http_header(&r, "Set-Cookie", cookie, sizeof(cookie)));
    assert_non_null(strstr(cookie, "HttpOnly"));
    assert_non_null(strstr(cookie, "Secure"));
    assert_non_null(strstr(cookie, "SameSite=Strict"));
    assert_int_equal(strncmp(cookie, "vigil_session=", 14), 0);
    snprintf(sid, sid_size, "%.*s", (int)strcspn(cookie + 14, ";"), cookie + 14);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    snprintf(csrf, csrf_size, "%s", json_string_value(json_object_get(j, "csrf_token")));
    assert_true(strlen(csrf) > 20);
    json_decref(j);
    http_resp_free(&r);
}

static void test_session_cookie_csrf_logout(void **state)
{
    fixture_t *fx = *state;
    char sid[96], csrf[64], hdr[512];
    http_resp_t r;

    sign_in(fx, sid, sizeof(sid), csrf, sizeof(csrf));
    snprintf(hdr, sizeof(hdr), "Cookie: vigil_session=%s\r\n", sid);
    assert_int_equal(call(fx, "GET", "/api/v1/auth/me", NULL, hdr, NULL, &r), 200);
    assert_non_null(strstr(r.body, "\"user\":\"vera\""));
    assert_non_null(strstr(r.body, csrf));
    http_resp_free(&r);
    assert_int_equal(call(fx, "POST", "/api/v1/tokens", NULL, hdr, "{}", &r), 403);
    assert_non_null(strstr(r.body, "CSRF"));
    http_resp_free(&r);
    snprintf(hdr, sizeof(hdr), "Cookie: vigil_session=%s\r\nX-CSRF-Token: %s\r\n", sid, csrf);
    assert_int_equal(call(fx, "POST", "/api/v1/tokens", NULL, hdr, "{}", NULL), 201);
    snprintf(hdr, sizeof(hdr),
             "Cookie: vigil_session=%s\r\nX-CSRF-Token: %s\r\nOrigin: http://evil.example\r\n",
             sid, csrf);
    assert_int_equal(call(fx, "POST", "/api/v1/tokens", NULL, hdr, "{}", NULL), 403);
    snprintf(hdr, sizeof(hdr), "Cookie: vigil_session=%s\r\nX-CSRF-Token: %s\r\n", sid, csrf);
    assert_int_equal(call(fx, "POST", "/api/v1/auth/logout", NULL, hdr, NULL, NULL), 200);
    assert_int_equal(call(fx, "GET", "/api/v1/auth/me", NULL, hdr, NULL, &r), 401);
    assert_non_null(strstr(r.body, "session has ended"));
    http_resp_free(&r);
}

static void test_wrong_password_and_setup_token(void **state)
{
    fixture_t *fx = *state;
    http_resp_t r;

    assert_int_equal(call(fx, "POST", "/api/v1/auth/login", NULL, NULL,
                          "{\"name\":\"otto\",\"password\":\"not the password\"}", &r),
                     401);
    assert_non_null(strstr(r.body, "invalid name or password"));
    assert_null(strstr(r.head, "Set-Cookie"));
    http_resp_free(&r);
    assert_int_equal(call(fx, "POST", "/api/v1/auth/setup", NULL, NULL,
                          "{\"token\":\"guess\",\"name\":\"eve\",\"password\":\"" PASSWORD "\"}",
                          NULL),
                     403);
}

/* Last: it spends this address's sign-in budget. */
static void test_sign_in_rate_limit_per_address(void **state)
{
    fixture_t *fx = *state;
    http_resp_t r;
    int limited = 0;
    char retry[16];

    for (int i = 0; i < 40 && !limited; i++) {
        int st = call(fx, "POST", "/api/v1/auth/login", NULL, NULL,
                      "{\"name\":\"nobody\",\"password\":\"whatever1\"}", &r);
        if (st == 429) {
            limited = 1;
            assert_non_null(http_header(&r, "Retry-After", retry, sizeof(retry)));
            assert_true(atoi(retry) >= 1);
        } else {
            assert_int_equal(st, 401);
        }
        http_resp_free(&r);
    }
    assert_true(limited);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anonymous_gets_401_public_routes_answer),
        cmocka_unit_test(test_roles_and_scopes),
        cmocka_unit_test(test_session_cookie_csrf_logout),
        cmocka_unit_test(test_wrong_password_and_setup_token),
        cmocka_unit_test(test_sign_in_rate_limit_per_address),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
