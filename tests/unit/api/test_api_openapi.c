/* The OpenAPI document (api/openapi.json, embedded in the binary) and the
 * route table (server.c's routes[]) describe the same API.
 *
 * Main idea: the table is read through vigil__api_route_at, not by parsing
 * C, so the test follows whatever the code really routes. Each row must have
 * exactly one operation in the document (same method, same path once the
 * document's {params} become '*', or the operation's x-vigil-route for a
 * prefix route) whose x-vigil-role is the row's least role, and each
 * operation a row. A route added without being documented, or documented
 * with another role, fails here. The rest checks that the document is one
 * that tools (schemathesis, the docs generator) can use: OpenAPI 3.1, unique
 * operation ids, every $ref resolves, every path {param} declared, security
 * that matches the role, and that the server serves it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_int.h"
#include "api/edge.h"
#include "api_support.h"
#include "vigil/api.h"
#include "vigil/config.h"
#include "vigil/log.h"

static const char *const role_names[] = {"public", "viewer", "operator", "admin"};
static const char *const methods[] = {"get", "post", "put", "patch", "delete", NULL};

static json_t *load_doc(void)
{
    size_t len = 0;
    const char *text = vigil__api_openapi_document(&len);
    json_error_t jerr;
    json_t *doc;

    assert_non_null(text);
    assert_true(len > 0);
    assert_int_equal(strlen(text), len);
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        fail_msg("api/openapi.json is not JSON: line %d column %d: %s", jerr.line, jerr.column,
                 jerr.text);
    return doc;
}

/* The route-table pattern of a document path: "{x}" -> "*". */
static void doc_pattern(const char *path, char *out, size_t size)
{
    size_t n = 0;

    for (const char *p = path; *p && n + 1 < size; p++) {
        if (*p == '{') {
            const char *end = strchr(p, '}');
            if (!end) fail_msg("path \"%s\": unbalanced {", path);
            out[n++] = '*';
            p = end;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

static void lower(const char *s, char *out, size_t size)
{
    size_t i = 0;

    for (; s[i] && i + 1 < size; i++) out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    out[i] = '\0';
}

/* Finds the operations of the document that match a table row; returns how
 * many, the last in *found. */
static int find_ops(json_t *paths, const char *method, const char *path, int prefix,
                    json_t **found)
{
    const char *dpath;
    json_t *item;
    char m[16], pat[256];
    int n = 0;

    lower(method, m, sizeof(m));
    json_object_foreach(paths, dpath, item) {
        json_t *op = json_object_get(item, m), *route;
        if (!op) continue;
        route = json_object_get(op, "x-vigil-route");
        if (route) {
            if (strcmp(json_string_value(json_object_get(route, "path")) ?: "", path) != 0 ||
                json_is_true(json_object_get(route, "prefix")) != !!prefix)
                continue;
        } else {
            doc_pattern(dpath, pat, sizeof(pat));
            if (prefix || strcmp(pat, path) != 0) continue;
        }
        *found = op;
        n++;
    }
    return n;
}

static void test_openapi_every_route_documented_with_its_role(void **state)
{
    json_t *doc = load_doc(), *paths = json_object_get(doc, "paths");
    const char *method, *path;
    int prefix, role, failures = 0;
    char report[8192] = "";
    size_t used = 0;

    assert_non_null(paths);
    for (size_t i = 0; vigil__api_route_at(i, &method, &path, &prefix, &role) == 0; i++) {
        json_t *op = NULL;
        int n = find_ops(paths, method, path, prefix, &op);
        const char *doc_role = n == 1 ? json_string_value(json_object_get(op, "x-vigil-role")) : NULL;

        assert_true(role >= 0 && role <= 3);
        if (n == 1 && doc_role && strcmp(doc_role, role_names[role]) == 0) continue;
        failures++;
        if (used < sizeof(report) - 200)
            used += (size_t)snprintf(
                report + used, sizeof(report) - used, "\n  %s %s%s: %s", method, path,
                prefix ? " (prefix)" : "",
                n == 0   ? "not in api/openapi.json"
                : n > 1  ? "matches several operations"
                : !doc_role ? "has no x-vigil-role"
                            : "x-vigil-role differs from the table's role");
        if (n == 1 && doc_role && used < sizeof(report) - 100)
            used += (size_t)snprintf(report + used, sizeof(report) - used,
                                     " (document %s, table %s)", doc_role, role_names[role]);
    }
    json_decref(doc);
    if (failures)
        fail_msg("%d route(s) of server.c's routes[] are not documented as they are:%s",
                 failures, report);
}

static void test_openapi_every_operation_is_a_route(void **state)
{
    json_t *doc = load_doc(), *paths = json_object_get(doc, "paths"), *item;
    const char *dpath;
    int failures = 0;
    char report[4096] = "";
    size_t used = 0;

    json_object_foreach(paths, dpath, item) {
        for (int k = 0; methods[k]; k++) {
            json_t *op = json_object_get(item, methods[k]), *route;
            const char *method, *path, *want;
            int prefix, role, found = 0, want_prefix = 0;
            char pat[256], m[16];

            if (!op) continue;
            route = json_object_get(op, "x-vigil-route");
            if (route) {
                want = json_string_value(json_object_get(route, "path"));
                want_prefix = json_is_true(json_object_get(route, "prefix"));
                assert_non_null(want);
            } else {
                doc_pattern(dpath, pat, sizeof(pat));
                want = pat;
            }
            for (size_t i = 0; vigil__api_route_at(i, &method, &path, &prefix, &role) == 0; i++) {
                lower(method, m, sizeof(m));
                found |= strcmp(m, methods[k]) == 0 && strcmp(path, want) == 0 &&
                         !!prefix == want_prefix;
            }
            if (found) continue;
            failures++;
            if (used < sizeof(report) - 200)
                used += (size_t)snprintf(report + used, sizeof(report) - used, "\n  %s %s",
                                         methods[k], dpath);
        }
    }
    json_decref(doc);
    if (failures)
        fail_msg("%d operation(s) of api/openapi.json have no route in server.c:%s", failures,
                 report);
}

/* Whether name is in the comma-separated list. */
static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

static json_t *deref(json_t *doc, json_t *p);

/* The query parameters an operation documents, comma-separated into out. */
static void doc_query_params(json_t *doc, json_t *op, char *out, size_t size)
{
    json_t *p;
    size_t i, used = 0;

    out[0] = '\0';
    json_array_foreach(json_object_get(op, "parameters"), i, p) {
        json_t *q = deref(doc, p);
        const char *name = json_string_value(json_object_get(q, "name"));
        if (!name || strcmp(json_string_value(json_object_get(q, "in")) ?: "", "query") != 0)
            continue;
        used += (size_t)snprintf(out + used, size - used, "%s%s", used ? "," : "", name);
        if (used >= size) fail_msg("too many query parameters");
    }
}

/* The edge refuses query parameters a route does not take before its
 * handler runs (edge.c's route_params): what it lets through must be what
 * the document says each route takes. */
static void test_openapi_query_parameters_are_the_edges(void **state)
{
    json_t *doc = load_doc(), *paths = json_object_get(doc, "paths");
    const char *method, *path;
    int prefix, role, bad = 0;

    for (size_t i = 0; vigil__api_route_at(i, &method, &path, &prefix, &role) == 0; i++) {
        const char *edge = vigil__edge_route_params(path);
        json_t *op = NULL;
        char names[1024], *save = NULL;

        if (find_ops(paths, method, path, prefix, &op) != 1) continue; /* the test above says */
        doc_query_params(doc, op, names, sizeof(names));
        if (!edge && names[0]) {
            print_error("%s %s: the document lists query parameters (%s) that the edge refuses "
                        "(edge.c route_params has no row for %s)\n",
                        method, path, names, path);
            bad++;
        } else if (edge && strcmp(edge, "*") != 0) {
            for (char *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save))
                if (!in_list(edge, n)) {
                    print_error("%s %s: query parameter %s is documented, the edge accepts "
                                "only %s\n",
                                method, path, n, edge);
                    bad++;
                }
        }
    }
    json_decref(doc);
    assert_int_equal(bad, 0);
}

/* Walks every "$ref" and checks it names an existing member of components. */
static void check_refs(json_t *doc, json_t *node, int *bad)
{
    const char *key;
    json_t *v;
    size_t i;

    if (json_is_array(node)) {
        json_array_foreach(node, i, v) check_refs(doc, v, bad);
        return;
    }
    if (!json_is_object(node)) return;
    json_object_foreach(node, key, v) {
        if (strcmp(key, "$ref") == 0 && json_is_string(v)) {
            char buf[256], *save = NULL;
            json_t *at = doc;
            snprintf(buf, sizeof(buf), "%s", json_string_value(v));
            if (strncmp(buf, "#/", 2) != 0) {
                print_error("$ref \"%s\" is not local\n", buf);
                (*bad)++;
                continue;
            }
            for (char *p = strtok_r(buf + 2, "/", &save); p && at; p = strtok_r(NULL, "/", &save))
                at = json_object_get(at, p);
            if (!at) {
                print_error("$ref \"%s\" does not resolve\n", json_string_value(v));
                (*bad)++;
            }
        } else {
            check_refs(doc, v, bad);
        }
    }
}

/* A parameter object, following a $ref into components.parameters. */
static json_t *deref(json_t *doc, json_t *p)
{
    const char *r = json_string_value(json_object_get(p, "$ref"));

    if (!r) return p;
    if (strncmp(r, "#/components/parameters/", 24) != 0) return NULL;
    return json_object_get(json_object_get(json_object_get(doc, "components"), "parameters"),
                           r + 24);
}

static void test_openapi_document_is_well_formed(void **state)
{
    json_t *doc = load_doc(), *paths = json_object_get(doc, "paths"), *item;
    json_t *ids = json_object();
    const char *dpath;
    int bad = 0;

    assert_true(strncmp(json_string_value(json_object_get(doc, "openapi")) ?: "", "3.1.", 4) == 0);
    assert_non_null(json_object_get(json_object_get(doc, "info"), "title"));
    assert_non_null(json_object_get(json_object_get(json_object_get(doc, "components"),
                                                    "securitySchemes"),
                                    "bearer"));
    assert_non_null(json_object_get(json_object_get(json_object_get(doc, "components"),
                                                    "schemas"),
                                    "Error"));
    check_refs(doc, doc, &bad);
    json_object_foreach(paths, dpath, item) {
        for (int k = 0; methods[k]; k++) {
            json_t *op = json_object_get(item, methods[k]), *params, *p, *sec, *resp;
            const char *id, *role;
            size_t i;

            if (!op) continue;
            id = json_string_value(json_object_get(op, "operationId"));
            role = json_string_value(json_object_get(op, "x-vigil-role"));
            if (!id || json_object_get(ids, id)) {
                print_error("%s %s: operationId missing or not unique\n", methods[k], dpath);
                bad++;
            } else {
                json_object_set_new(ids, id, json_true());
            }
            /* every {name} of the path is a declared path parameter */
            params = json_object_get(op, "parameters");
            for (const char *b = strchr(dpath, '{'); b; b = strchr(b + 1, '{')) {
                const char *e = strchr(b, '}');
                int declared = 0;
                json_array_foreach(params, i, p) {
                    json_t *q = deref(doc, p);
                    const char *name = json_string_value(json_object_get(q, "name"));
                    declared |= q && name && strlen(name) == (size_t)(e - b - 1) &&
                                strncmp(name, b + 1, (size_t)(e - b - 1)) == 0 &&
                                strcmp(json_string_value(json_object_get(q, "in")) ?: "",
                                       "path") == 0 &&
                                json_is_true(json_object_get(q, "required"));
                }
                if (!declared) {
                    print_error("%s %s: path parameter %.*s not declared\n", methods[k], dpath,
                                (int)(e - b - 1), b + 1);
                    bad++;
                }
            }
            /* public operations need nothing; the others a credential */
            sec = json_object_get(op, "security");
            resp = json_object_get(op, "responses");
            if (!role || !json_is_array(sec) ||
                (strcmp(role, "public") == 0) != (json_array_size(sec) == 0)) {
                print_error("%s %s: security does not match x-vigil-role %s\n", methods[k],
                            dpath, role ? role : "(none)");
                bad++;
            }
            if (role && strcmp(role, "public") != 0 &&
                (!json_object_get(resp, "401") || !json_object_get(resp, "403"))) {
                print_error("%s %s: a non-public operation documents no 401 or 403\n",
                            methods[k], dpath);
                bad++;
            }
            if (!json_object_get(resp, "400")) {
                print_error("%s %s: no 400 (every route refuses unknown parameters)\n",
                            methods[k], dpath);
                bad++;
            }
        }
    }
    json_decref(ids);
    json_decref(doc);
    assert_int_equal(bad, 0);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void test_openapi_served_by_the_api(void **state)
{
    char dir[64], errstr[256] = "", ct[128];
    vigil_config_t cfg;
    vigil_api_t *api;
    http_resp_t r;
    size_t len = 0;
    const char *text = vigil__api_openapi_document(&len);

    vigil_log_set_level(VIGIL_LOG_ERROR);
    snprintf(dir, sizeof(dir), "/tmp/vigil-openapi-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    memset(&cfg, 0, sizeof(cfg));
    cfg.http_listen = "127.0.0.1:0";
    cfg.store_url = "sqlite";
    cfg.data_dir = dir;
    api = vigil_api_new(&cfg, errstr, sizeof(errstr));
    if (!api) fail_msg("vigil_api_new: %s", errstr);
    if (vigil_api_start(api, errstr, sizeof(errstr))) fail_msg("start: %s", errstr);

    /* public: no credential needed */
    assert_int_equal(http_get(vigil_api_port(api), "/api/v1/openapi.json", &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(http_header(&r, "Content-Type", ct, sizeof(ct)));
    assert_string_equal(ct, "application/json");
    assert_int_equal(r.body_len, len);
    assert_memory_equal(r.body, text, len);
    http_resp_free(&r);

    assert_int_equal(http_get(vigil_api_port(api), "/api/v1/openapi.json?x=1", &r), 0);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"parameter\":\"x\""));
    http_resp_free(&r);

    vigil_api_free(api);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openapi_every_route_documented_with_its_role),
        cmocka_unit_test(test_openapi_every_operation_is_a_route),
        cmocka_unit_test(test_openapi_document_is_well_formed),
        cmocka_unit_test(test_openapi_query_parameters_are_the_edges),
        cmocka_unit_test(test_openapi_served_by_the_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
