/* The API's cameras and zones/lines routes end to end over real sockets: a
 * real SQLite store in a temp data dir, a configuration with one camera
 * ("lobby", with a zone), the API on an in-process bus whose control topic
 * the tests read back, and a second API without a bus (`vigil api` alone).
 *
 * What they pin down: a camera made through the API is stored, listed,
 * redacted everywhere and published on the control topic with its real
 * URL; only the API's own cameras change; a removed camera stays removed
 * when a late status event comes; rule sets carry an ETag and a write
 * needs If-Match (428 without, 412 when stale), and two concurrent edits of
 * the same version give exactly one 412. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_support.h"
#include "vigil/api.h"
#include "vigil/bus.h"
#include "vigil/auth.h"
#include "vigil/config.h"
#include "vigil/image.h"
#include "vigil/msg.h"
#include "vigil/store.h"

#define JSON_HDR "Content-Type: application/json\r\n"

static const char *const config_yaml =
    "http: {listen: \"127.0.0.1:0\"}\n"
    "auth: {enabled: false}\n"
    "cameras:\n"
    "  - id: lobby\n"
    "    url: \"rtsp://cfguser:cfgsecret@10.1.1.1/live\"\n"
    "    zones:\n"
    "      - id: door\n"
    "        polygon: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]]\n";

typedef struct fixture {
    char dir[64];
    vigil_config_t cfg;
    vigil_bus_t *bus;
    vigil_consumer_t *control; /* reads what the API publishes */
    vigil_api_t *api, *lone;   /* with the bus; without */
    int port, lone_port;
} fixture_t;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static vigil_store_t *open_store(const char *dir)
{
    char errstr[256] = "";
    vigil_store_conf_t conf;
    vigil_store_conf_init(&conf);
    conf.data_dir = dir;
    vigil_store_t *store = vigil_store_open(&conf, errstr, sizeof(errstr));
    if (!store) fail_msg("cannot open the store: %s", errstr);
    return store;
}

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    char errstr[512] = "";
    const char *topics[] = {VIGIL_TOPIC_CONTROL};

    snprintf(fx->dir, sizeof(fx->dir), "/tmp/vigil-api-res-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    vigil_config_init(&fx->cfg);
    if (vigil_config_load_string(&fx->cfg, config_yaml, "test", errstr, sizeof(errstr)) ||
        vigil_config_set(&fx->cfg, "store.data_dir", fx->dir, "test", errstr, sizeof(errstr)))
        fail_msg("config: %s", errstr);
    /* the configuration's camera, as `vigil run` registers it */
    vigil_store_t *store = open_store(fx->dir);
    vigil_camera_row_t lobby = {.fps = 5, .enabled = 1};
    snprintf(lobby.id, sizeof(lobby.id), "lobby");
    snprintf(lobby.name, sizeof(lobby.name), "Lobby");
    snprintf(lobby.url, sizeof(lobby.url), "rtsp://cfguser:***@10.1.1.1/live");
    snprintf(lobby.status, sizeof(lobby.status), "online");
    assert_int_equal(vigil_store_camera_upsert(store, &lobby), VIGIL_OK);
    vigil_store_close(store);

    fx->bus = vigil_bus_new("inproc://", NULL, errstr, sizeof(errstr));
    assert_non_null(fx->bus);
    fx->control = vigil_bus_subscribe(fx->bus, "test-control", topics, 1, errstr, sizeof(errstr));
    assert_non_null(fx->control);
    fx->api = vigil_api_new(&fx->cfg, errstr, sizeof(errstr));
    fx->lone = vigil_api_new(&fx->cfg, errstr, sizeof(errstr));
    assert_non_null(fx->api);
    assert_non_null(fx->lone);
    vigil_api_set_bus(fx->api, fx->bus);
    if (vigil_api_start(fx->api, errstr, sizeof(errstr)) ||
        vigil_api_start(fx->lone, errstr, sizeof(errstr)))
        fail_msg("api: %s", errstr);
    fx->port = vigil_api_port(fx->api);
    fx->lone_port = vigil_api_port(fx->lone);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    vigil_api_free(fx->api);
    vigil_api_free(fx->lone);
    vigil_consumer_close(fx->control);
    vigil_bus_free(fx->bus);
    vigil_config_release(&fx->cfg);
    nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

/* A request with a JSON body (NULL = none) and extra headers; the parsed
 * body (or NULL), the status checked. */
static json_t *call(int port, const char *method, const char *target, const char *headers,
                    const char *body, int want, http_resp_t *keep)
{
    char hdrs[512];
    http_resp_t r;

    snprintf(hdrs, sizeof(hdrs), "%s%s", body ? JSON_HDR : "", headers ? headers : "");
    assert_int_equal(http_request_headers(port, method, target, hdrs, body, &r), 0);
    if (r.status != want)
        fail_msg("%s %s: status %d, wanted %d: %s", method, target, r.status, want, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    if (keep)
        *keep = r;
    else
        http_resp_free(&r);
    return j;
}

/* The next command on topic control, within 5 s. */
static Vigil__V1__CameraCommand *next_command(fixture_t *fx, char *key, size_t key_size)
{
    vigil_bus_msg_t *msg = NULL;
    char errstr[256];
    assert_int_equal(vigil_consumer_poll(fx->control, &msg, 5000), VIGIL_OK);
    snprintf(key, key_size, "%.*s", (int)msg->key_len, (const char *)msg->key);
    Vigil__V1__CameraCommand *cmd =
        vigil_camera_command_decode(msg->value, msg->value_len, errstr, sizeof(errstr));
    if (!cmd) fail_msg("control: %s", errstr);
    vigil_consumer_ack(fx->control, msg);
    return cmd;
}

static void drain(fixture_t *fx)
{
    vigil_bus_msg_t *msg;
    while (vigil_consumer_poll(fx->control, &msg, 200) == VIGIL_OK)
        vigil_consumer_ack(fx->control, msg);
}

static void no_command(fixture_t *fx)
{
    vigil_bus_msg_t *msg = NULL;
    assert_int_equal(vigil_consumer_poll(fx->control, &msg, 100), VIGIL_ERR_TIMED_OUT);
}

/* ---- cameras ------------------------------------------------------------------ */

static void test_api_camera_create_is_stored_redacted_and_published(void **state)
{
    fixture_t *fx = *state;
    http_resp_t r;
    char key[80], hdr[128];

    json_t *j = call(fx->port, "POST", "/api/v1/cameras", NULL,
                     "{\"id\":\"door\",\"name\":\"Front door\",\"url\":"
                     "\"rtsp://admin:s3cret@10.0.0.9/stream?token=abc\",\"fps\":10,"
                     "\"retention_days\":7}",
                     201, &r);
    assert_null(strstr(r.body, "s3cret"));
    assert_null(strstr(r.body, "abc"));
    assert_string_equal(http_header(&r, "Location", hdr, sizeof(hdr)), "/api/v1/cameras/door");
    http_resp_free(&r);
    assert_string_equal(json_string_value(json_object_get(j, "url")),
                        "rtsp://admin:***@10.0.0.9/stream?token=***");
    assert_string_equal(json_string_value(json_object_get(j, "source")), "api");
    assert_string_equal(json_string_value(json_object_get(j, "status")), "starting");
    assert_true(json_is_true(json_object_get(j, "applied")));
    assert_true(json_number_value(json_object_get(j, "retention_days")) == 7);
    json_decref(j);

    /* the bus carries the real URL: ingest must open it */
    Vigil__V1__CameraCommand *cmd = next_command(fx, key, sizeof(key));
    assert_string_equal(key, "door");
    assert_int_equal(cmd->op, VIGIL__V1__CAMERA_COMMAND__OP__OP_ADD);
    assert_string_equal(cmd->url, "rtsp://admin:s3cret@10.0.0.9/stream?token=abc");
    assert_string_equal(cmd->name, "Front door");
    assert_true(cmd->fps == 10);
    vigil__v1__camera_command__free_unpacked(cmd, NULL);

    j = call(fx->port, "GET", "/api/v1/cameras/door", NULL, NULL, 200, &r);
    assert_null(strstr(r.body, "s3cret"));
    http_resp_free(&r);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "Front door");
    json_decref(j);
    j = call(fx->port, "GET", "/api/v1/cameras", NULL, NULL, 200, &r);
    assert_null(strstr(r.body, "s3cret"));
    assert_null(strstr(r.body, "cfgsecret"));
    http_resp_free(&r);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")),
                        "door");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(items, 1), "source")), "config");
    assert_true(json_is_null(json_object_get(j, "next_cursor")));
    json_decref(j);
    json_decref(call(fx->port, "DELETE", "/api/v1/cameras/door", NULL, NULL, 200, NULL));
}

static void expect_400(fixture_t *fx, const char *body, const char *param)
{
    json_t *j = call(fx->port, "POST", "/api/v1/cameras", NULL, body, 400, NULL);
    const char *p = json_string_value(json_object_get(j, "parameter"));
    if (param && (!p || strcmp(p, param) != 0))
        fail_msg("%s: parameter %s, wanted %s", body, p ? p : "(none)", param);
    json_decref(j);
}

static void test_api_camera_create_is_validated_as_the_config(void **state)
{
    fixture_t *fx = *state;
    http_resp_t r;

    expect_400(fx, "{\"id\":\"a b\",\"url\":\"rtsp://h/s\"}", "id");
    expect_400(fx, "{\"id\":\"..\",\"url\":\"rtsp://h/s\"}", "id");
    expect_400(fx, "{\"id\":\"x\",\"url\":\"ftp://h/s\"}", "url");
    expect_400(fx, "{\"id\":\"x\",\"url\":\"-i /etc/passwd\"}", "url");
    expect_400(fx, "{\"id\":\"x\"}", "url");
    expect_400(fx, "{\"id\":\"x\",\"url\":\"rtsp://h/s\",\"fps\":500}", "fps");
    expect_400(fx, "{\"id\":\"x\",\"url\":\"rtsp://h/s\",\"fps\":\"5\"}", "fps");
    expect_400(fx, "{\"id\":\"x\",\"url\":\"rtsp://h/s\",\"enabled\":1}", "enabled");
    expect_400(fx, "{\"id\":\"x\",\"url\":\"rtsp://h/s\",\"retention_days\":-2}",
               "retention_days");
    expect_400(fx, "{\"id\":\"x\",\"url\":\"rtsp://h/s\",\"colour\":\"red\"}", "colour");
    /* a refused URL is not echoed with its secret */
    json_t *j = call(fx->port, "POST", "/api/v1/cameras", NULL,
                     "{\"id\":\"x\",\"url\":\"gopher://u:topsecret@h/s\"}", 400, &r);
    assert_null(strstr(r.body, "topsecret"));
    http_resp_free(&r);
    json_decref(j);
    /* not JSON */
    assert_int_equal(http_request(fx->port, "POST", "/api/v1/cameras", "{}", &r), 0);
    assert_int_equal(r.status, 415);
    http_resp_free(&r);
    /* the configuration's camera is not the API's to make again */
    json_decref(call(fx->port, "POST", "/api/v1/cameras", NULL,
                     "{\"id\":\"lobby\",\"url\":\"rtsp://h/s\"}", 409, NULL));
    json_decref(call(fx->port, "POST", "/api/v1/cameras", NULL,
                     "{\"id\":\"twice\",\"url\":\"rtsp://h/s\",\"enabled\":false}", 201, NULL));
    json_decref(call(fx->port, "POST", "/api/v1/cameras", NULL,
                     "{\"id\":\"twice\",\"url\":\"rtsp://h/s\"}", 409, NULL));
    json_decref(call(fx->port, "DELETE", "/api/v1/cameras/twice", NULL, NULL, 200, NULL));
    /* drain what was published */
    drain(fx);
}

static void test_api_camera_patch_delete_only_the_apis_own(void **state)
{
    fixture_t *fx = *state;
    char key[80];
    Vigil__V1__CameraCommand *cmd;

    json_decref(call(fx->port, "POST", "/api/v1/cameras", NULL,
                     "{\"id\":\"gate\",\"url\":\"http://cam.local/mjpg?password=pw1\"}", 201,
                     NULL));
    vigil__v1__camera_command__free_unpacked(next_command(fx, key, sizeof(key)), NULL);

    /* an operator's change: enabled */
    json_t *j = call(fx->port, "PATCH", "/api/v1/cameras/gate", NULL, "{\"enabled\":false}", 200,
                     NULL);
    assert_true(json_is_false(json_object_get(j, "enabled")));
    assert_string_equal(json_string_value(json_object_get(j, "status")), "stopped");
    json_decref(j);
    cmd = next_command(fx, key, sizeof(key));
    assert_int_equal(cmd->op, VIGIL__V1__CAMERA_COMMAND__OP__OP_STOP);
    vigil__v1__camera_command__free_unpacked(cmd, NULL);

    j = call(fx->port, "PATCH", "/api/v1/cameras/gate", NULL,
             "{\"enabled\":true,\"fps\":2.5,\"name\":\"Gate\",\"retention_days\":null}", 200,
             NULL);
    assert_true(json_number_value(json_object_get(j, "fps")) == 2.5);
    assert_true(json_is_null(json_object_get(j, "retention_days")));
    json_decref(j);
    cmd = next_command(fx, key, sizeof(key));
    assert_int_equal(cmd->op, VIGIL__V1__CAMERA_COMMAND__OP__OP_ADD);
    assert_string_equal(cmd->url, "http://cam.local/mjpg?password=pw1"); /* kept */
    assert_string_equal(cmd->name, "Gate");
    vigil__v1__camera_command__free_unpacked(cmd, NULL);

    json_decref(call(fx->port, "PATCH", "/api/v1/cameras/gate", NULL, "{}", 400, NULL));
    json_decref(call(fx->port, "PATCH", "/api/v1/cameras/gate", NULL, "{\"id\":\"x\"}", 400,
                     NULL));
    json_decref(call(fx->port, "PATCH", "/api/v1/cameras/lobby", NULL, "{\"fps\":2}", 409,
                     NULL));
    json_decref(call(fx->port, "DELETE", "/api/v1/cameras/lobby", NULL, NULL, 409, NULL));
    json_decref(call(fx->port, "PATCH", "/api/v1/cameras/nope", NULL, "{\"enabled\":false}", 404,
                     NULL));
    json_decref(call(fx->port, "PATCH", "/api/v1/cameras/b%20d", NULL, "{\"enabled\":false}",
                     400, NULL));

    j = call(fx->port, "DELETE", "/api/v1/cameras/gate", NULL, NULL, 200, NULL);
    assert_true(json_is_true(json_object_get(j, "applied")));
    json_decref(j);
    /* a remove and an empty rule set: two keys, so two partitions, either order */
    int removed = 0, emptied = 0;
    for (int i = 0; i < 2; i++) {
        cmd = next_command(fx, key, sizeof(key));
        removed += cmd->op == VIGIL__V1__CAMERA_COMMAND__OP__OP_REMOVE && !strcmp(key, "gate");
        emptied += cmd->op == VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES &&
                   !strcmp(key, "rules:gate") && strstr(cmd->rules_json, "\"zones\":[]");
        vigil__v1__camera_command__free_unpacked(cmd, NULL);
    }
    assert_int_equal(removed, 1);
    assert_int_equal(emptied, 1);
    json_decref(call(fx->port, "GET", "/api/v1/cameras/gate", NULL, NULL, 404, NULL));

    /* ingest's last status event after the removal does not bring it back */
    vigil_store_t *store = open_store(fx->dir);
    vigil_camera_row_t late = {.fps = 5, .enabled = 1};
    snprintf(late.id, sizeof(late.id), "gate");
    snprintf(late.status, sizeof(late.status), "stopped");
    assert_int_equal(vigil_store_camera_upsert(store, &late), VIGIL_OK);
    vigil_store_close(store);
    json_decref(call(fx->port, "GET", "/api/v1/cameras/gate", NULL, NULL, 404, NULL));
    /* and it can be made again */
    json_decref(call(fx->port, "POST", "/api/v1/cameras", NULL,
                     "{\"id\":\"gate\",\"url\":\"sample\",\"enabled\":false}", 201, NULL));
    json_decref(call(fx->port, "DELETE", "/api/v1/cameras/gate", NULL, NULL, 200, NULL));
    json_decref(call(fx->port, "DELETE", "/api/v1/cameras/gate", NULL, NULL, 404, NULL));
    drain(fx);
}

/* The configuration's camera: {"enabled"} alone switches it (OP_STOP /
 * OP_START with the id alone, never its URL), the warehouse keeps the choice
 * against ingest's and `vigil run`'s upserts; everything else stays 409. */
static void test_api_config_camera_is_switched_off_and_on_only(void **state)
{
    fixture_t *fx = *state;
    char key[80], errstr[256];
    Vigil__V1__CameraCommand *cmd;

    drain(fx);
    json_t *j = call(fx->port, "PATCH", "/api/v1/cameras/lobby", NULL, "{\"enabled\":false}",
                     200, NULL);
    assert_true(json_is_false(json_object_get(j, "enabled")));
    assert_string_equal(json_string_value(json_object_get(j, "status")), "stopped");
    assert_string_equal(json_string_value(json_object_get(j, "source")), "config");
    assert_true(json_is_true(json_object_get(j, "applied")));
    assert_null(strstr(json_string_value(json_object_get(j, "url")), "cfgsecret"));
    json_decref(j);
    cmd = next_command(fx, key, sizeof(key));
    assert_string_equal(key, "lobby");
    assert_int_equal(cmd->op, VIGIL__V1__CAMERA_COMMAND__OP__OP_STOP);
    assert_true(!cmd->url || !cmd->url[0]); /* the file's URL is ingest's own */
    vigil__v1__camera_command__free_unpacked(cmd, NULL);

    /* ingest's stopped event and `vigil run`'s registration leave it off */
    vigil_store_t *store = open_store(fx->dir);
    vigil_camera_row_t seen = {.fps = 5, .enabled = 1};
    snprintf(seen.id, sizeof(seen.id), "lobby");
    snprintf(seen.name, sizeof(seen.name), "Lobby");
    snprintf(seen.status, sizeof(seen.status), "starting");
    assert_int_equal(vigil_store_camera_upsert(store, &seen), VIGIL_OK);
    vigil_camera_record_t rec;
    assert_int_equal(vigil_store_camera_get(store, "lobby", 0, &rec, errstr, sizeof(errstr)),
                     VIGIL_OK);
    assert_false(rec.row.enabled);
    assert_string_equal(rec.row.status, "stopped");
    assert_string_equal(rec.origin, VIGIL_CAMERA_ORIGIN_SWITCHED);
    /* an audit row as for the API's cameras */
    vigil_audit_row_t *audit = NULL;
    size_t naudit = 0;
    assert_int_equal(vigil_store_audit_list(store, 0, 1, &audit, &naudit, errstr, sizeof(errstr)),
                     VIGIL_OK);
    assert_int_equal(naudit, 1);
    assert_string_equal(audit[0].action, "camera.update");
    assert_string_equal(audit[0].target, "lobby");
    assert_non_null(strstr(audit[0].detail, "\"enabled\":false"));
    assert_null(strstr(audit[0].detail, "cfgsecret"));
    vigil_audit_rows_free(audit, naudit);
    vigil_store_close(store);
    j = call(fx->port, "GET", "/api/v1/cameras/lobby", NULL, NULL, 200, NULL);
    assert_true(json_is_false(json_object_get(j, "enabled")));
    json_decref(j);

    /* the file owns the rest, whoever asks, with enabled or without */
    json_decref(call(fx->port, "PATCH", "/api/v1/cameras/lobby", NULL,
                     "{\"enabled\":true,\"name\":\"Hall\"}", 409, NULL));
    json_decref(call(fx->port, "PATCH", "/api/v1/cameras/lobby", NULL,
                     "{\"url\":\"rtsp://h/s\"}", 409, NULL));
    json_decref(call(fx->port, "PATCH", "/api/v1/cameras/lobby", NULL,
                     "{\"retention_days\":3}", 409, NULL));
    http_resp_t r;
    json_decref(call(fx->port, "DELETE", "/api/v1/cameras/lobby", NULL, NULL, 409, &r));
    assert_non_null(strstr(r.body, "comes from the configuration file"));
    http_resp_free(&r);
    no_command(fx);

    j = call(fx->port, "PATCH", "/api/v1/cameras/lobby", NULL, "{\"enabled\":true}", 200, NULL);
    assert_true(json_is_true(json_object_get(j, "enabled")));
    assert_string_equal(json_string_value(json_object_get(j, "status")), "starting");
    json_decref(j);
    cmd = next_command(fx, key, sizeof(key));
    assert_int_equal(cmd->op, VIGIL__V1__CAMERA_COMMAND__OP__OP_START);
    assert_string_equal(cmd->camera_id, "lobby");
    vigil__v1__camera_command__free_unpacked(cmd, NULL);

    /* without a bus: stored, applied at the next `vigil run` (seed.c) */
    j = call(fx->lone_port, "PATCH", "/api/v1/cameras/lobby", NULL, "{\"enabled\":true}", 200,
             NULL);
    assert_true(json_is_false(json_object_get(j, "applied")));
    json_decref(j);
    no_command(fx);
}

static void test_api_camera_without_bus_is_stored_not_applied(void **state)
{
    fixture_t *fx = *state;

    drain(fx);
    json_t *j = call(fx->lone_port, "POST", "/api/v1/cameras", NULL,
                     "{\"id\":\"shed\",\"url\":\"rtsp://h/s\"}", 201, NULL);
    assert_true(json_is_false(json_object_get(j, "applied")));
    assert_non_null(strstr(json_string_value(json_object_get(j, "not_applied")), "no bus"));
    json_decref(j);
    no_command(fx);
    /* the other replica sees it: the warehouse is the list of record */
    json_decref(call(fx->port, "GET", "/api/v1/cameras/shed", NULL, NULL, 200, NULL));
    json_decref(call(fx->lone_port, "DELETE", "/api/v1/cameras/shed", NULL, NULL, 200, NULL));
}

static void test_api_camera_list_pages_with_a_cursor(void **state)
{
    fixture_t *fx = *state;
    char body[128], target[256];
    int seen = 0;

    for (int i = 0; i < 5; i++) {
        snprintf(body, sizeof(body), "{\"id\":\"p%d\",\"url\":\"rtsp://h/%d\",\"enabled\":false}",
                 i, i);
        json_decref(call(fx->lone_port, "POST", "/api/v1/cameras", NULL, body, 201, NULL));
    }
    snprintf(target, sizeof(target), "/api/v1/cameras?limit=2");
    for (int page = 0; page < 10; page++) {
        json_t *j = call(fx->port, "GET", target, NULL, NULL, 200, NULL);
        seen += (int)json_array_size(json_object_get(j, "items"));
        json_t *next = json_object_get(j, "next_cursor");
        if (json_is_null(next)) {
            json_decref(j);
            break;
        }
        snprintf(target, sizeof(target), "/api/v1/cameras?limit=2&cursor=%s",
                 json_string_value(next));
        json_decref(j);
    }
    assert_int_equal(seen, 6); /* p0..p4 and lobby */
    json_decref(call(fx->port, "GET", "/api/v1/cameras?cursor=bogus", NULL, NULL, 400, NULL));
    json_decref(call(fx->port, "GET", "/api/v1/cameras?limit=0", NULL, NULL, 400, NULL));
    json_decref(call(fx->port, "GET", "/api/v1/cameras?colour=red", NULL, NULL, 400, NULL));
    for (int i = 0; i < 5; i++) {
        snprintf(target, sizeof(target), "/api/v1/cameras/p%d", i);
        json_decref(call(fx->lone_port, "DELETE", target, NULL, NULL, 200, NULL));
    }
}

static void test_api_camera_test_reports_what_it_found(void **state)
{
    fixture_t *fx = *state;
    char path[128], body[256];
    vigil_image_t img = {0};
    vigil_jpeg_t *codec = vigil_jpeg_new();
    uint8_t *jpeg = NULL;
    size_t len = 0;
    char errstr[256];
    http_resp_t r;

    assert_int_equal(vigil_image_alloc(&img, 64, 48, VIGIL_PIX_RGB24), VIGIL_OK);
    memset(img.data, 128, (size_t)img.stride * 48);
    if (vigil_jpeg_encode(codec, &img, 80, &jpeg, &len, errstr, sizeof(errstr)))
        fail_msg("jpeg: %s", errstr);
    snprintf(path, sizeof(path), "%s/still.jpg", fx->dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(jpeg, 1, len, f), len);
    fclose(f);
    free(jpeg);
    vigil_image_release(&img);
    vigil_jpeg_free(codec);

    snprintf(body, sizeof(body), "{\"url\":\"%s\"}", path);
    json_t *j = call(fx->port, "POST", "/api/v1/cameras/test", NULL, body, 200, NULL);
    if (!json_is_true(json_object_get(j, "ok")))
        fail_msg("test failed: %s", json_string_value(json_object_get(j, "error")));
    assert_string_equal(json_string_value(json_object_get(j, "codec")), "mjpeg");
    assert_int_equal(json_integer_value(json_object_get(j, "width")), 64);
    assert_int_equal(json_integer_value(json_object_get(j, "height")), 48);
    assert_true(json_is_false(json_object_get(j, "live")));
    json_decref(j);

    /* a camera's own source, by id */
    snprintf(body, sizeof(body), "{\"id\":\"still\",\"url\":\"file://%s\",\"enabled\":false}",
             path);
    json_decref(call(fx->lone_port, "POST", "/api/v1/cameras", NULL, body, 201, NULL));
    j = call(fx->port, "POST", "/api/v1/cameras/still/test", NULL, NULL, 200, NULL);
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_string_equal(json_string_value(json_object_get(j, "id")), "still");
    json_decref(j);
    json_decref(call(fx->lone_port, "DELETE", "/api/v1/cameras/still", NULL, NULL, 200, NULL));

    /* nothing there: why, without the password */
    j = call(fx->port, "POST", "/api/v1/cameras/test", NULL,
             "{\"url\":\"rtsp://viewer:hunter2@127.0.0.1:1/live\"}", 200, &r);
    assert_null(strstr(r.body, "hunter2"));
    http_resp_free(&r);
    assert_true(json_is_false(json_object_get(j, "ok")));
    assert_non_null(json_string_value(json_object_get(j, "error")));
    assert_string_equal(json_string_value(json_object_get(j, "url")),
                        "rtsp://viewer:***@127.0.0.1:1/live");
    json_decref(j);
    json_decref(call(fx->port, "POST", "/api/v1/cameras/test", NULL, "{\"url\":\"ftp://x/y\"}",
                     400, NULL));
    json_decref(call(fx->port, "POST", "/api/v1/cameras/nope/test", NULL, NULL, 404, NULL));
}

/* ---- zones and lines -------------------------------------------------------------- */

static const char *etag(const http_resp_t *r, char *buf, size_t size)
{
    const char *v = http_header(r, "ETag", buf, size);
    if (!v) fail_msg("no ETag: %s", r->head);
    return v;
}

static void test_api_rules_etag_and_if_match(void **state)
{
    fixture_t *fx = *state;
    http_resp_t r;
    char tag[32], key[80];

    /* the configuration's set is version 0 */
    json_t *j = call(fx->port, "GET", "/api/v1/cameras/lobby/rules", NULL, NULL, 200, &r);
    assert_string_equal(etag(&r, tag, sizeof(tag)), "\"0\"");
    http_resp_free(&r);
    assert_int_equal(json_array_size(json_object_get(j, "zones")), 1);
    json_decref(j);

    const char *set = "{\"zones\":[{\"id\":\"desk\",\"polygon\":[[0,0],[1,0],[1,1]]}],"
                      "\"lines\":[{\"id\":\"gate\",\"points\":[[0,0.5],[1,0.5]]}]}";
    json_decref(call(fx->port, "PUT", "/api/v1/cameras/lobby/rules", NULL, set, 428, NULL));
    j = call(fx->port, "PUT", "/api/v1/cameras/lobby/rules", "If-Match: \"0\"\r\n", set, 200, &r);
    assert_string_equal(etag(&r, tag, sizeof(tag)), "\"1\"");
    http_resp_free(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
    assert_true(json_is_true(json_object_get(j, "applied")));
    json_decref(j);
    Vigil__V1__CameraCommand *cmd = next_command(fx, key, sizeof(key));
    assert_string_equal(key, "rules:lobby");
    assert_int_equal(cmd->op, VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES);
    assert_non_null(strstr(cmd->rules_json, "\"desk\""));
    vigil__v1__camera_command__free_unpacked(cmd, NULL);

    /* stale: 412 with the current ETag */
    json_decref(call(fx->port, "PUT", "/api/v1/cameras/lobby/rules", "If-Match: \"0\"\r\n", set,
                     412, &r));
    assert_string_equal(etag(&r, tag, sizeof(tag)), "\"1\"");
    http_resp_free(&r);
    /* weak tags never match; a list may hold the current one */
    json_decref(call(fx->port, "PUT", "/api/v1/cameras/lobby/rules", "If-Match: W/\"1\"\r\n", set,
                     412, NULL));
    json_decref(call(fx->port, "PUT", "/api/v1/cameras/lobby/rules",
                     "If-Match: \"7\", \"1\"\r\n", set, 200, NULL));
    /* checked as the configuration: a self-intersecting zone names its field */
    j = call(fx->port, "PUT", "/api/v1/cameras/lobby/rules", "If-Match: *\r\n",
             "{\"zones\":[{\"id\":\"bow\",\"polygon\":[[0,0],[1,1],[1,0],[0,1]]}]}", 400, NULL);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "zones[0].polygon"));
    json_decref(j);
    json_decref(call(fx->port, "PUT", "/api/v1/cameras/lobby/rules", "If-Match: *\r\n",
                     "{\"zones\":[],\"extra\":1}", 400, NULL));
    json_decref(call(fx->port, "GET", "/api/v1/cameras/nope/rules", NULL, NULL, 404, NULL));
    drain(fx);
}

static void test_api_zones_and_lines_one_at_a_time(void **state)
{
    fixture_t *fx = *state;
    http_resp_t r;
    char tag[32], hdr[64], target[128];

    json_decref(call(fx->port, "GET", "/api/v1/cameras/lobby/rules", NULL, NULL, 200, &r));
    int64_t v = atoll(etag(&r, tag, sizeof(tag)) + 1);
    http_resp_free(&r);

    /* a create needs no If-Match */
    json_decref(call(fx->port, "POST", "/api/v1/cameras/lobby/zones", NULL,
                     "{\"id\":\"till\",\"polygon\":[[0.2,0.2],[0.4,0.2],[0.4,0.4]],"
                     "\"labels\":[\"person\"]}",
                     201, &r));
    assert_string_equal(http_header(&r, "Location", hdr, sizeof(hdr)),
                        "/api/v1/cameras/lobby/zones/till");
    snprintf(target, sizeof(target), "\"%lld\"", (long long)v + 1);
    assert_string_equal(etag(&r, tag, sizeof(tag)), target);
    http_resp_free(&r);
    json_decref(call(fx->port, "POST", "/api/v1/cameras/lobby/zones", NULL,
                     "{\"id\":\"till\",\"polygon\":[[0,0],[1,0],[1,1]]}", 409, NULL));
    json_decref(call(fx->port, "POST", "/api/v1/cameras/lobby/zones", NULL,
                     "{\"polygon\":[[0,0],[1,0],[1,1]]}", 400, NULL));

    json_t *j = call(fx->port, "GET", "/api/v1/cameras/lobby/zones/till", NULL, NULL, 200, &r);
    etag(&r, tag, sizeof(tag));
    http_resp_free(&r);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "labels"), 0)),
                        "person");
    json_decref(j);
    j = call(fx->port, "GET", "/api/v1/cameras/lobby/zones", NULL, NULL, 200, NULL);
    assert_true(json_array_size(json_object_get(j, "items")) >= 1);
    json_decref(j);

    /* replace and delete need If-Match */
    const char *poly = "{\"polygon\":[[0.2,0.2],[0.6,0.2],[0.6,0.6]],\"inertia\":3}";
    json_decref(call(fx->port, "PUT", "/api/v1/cameras/lobby/zones/till", NULL, poly, 428, NULL));
    snprintf(hdr, sizeof(hdr), "If-Match: %s\r\n", tag);
    j = call(fx->port, "PUT", "/api/v1/cameras/lobby/zones/till", hdr, poly, 200, &r);
    etag(&r, tag, sizeof(tag));
    http_resp_free(&r);
    json_decref(j);
    j = call(fx->port, "GET", "/api/v1/cameras/lobby/zones/till", NULL, NULL, 200, NULL);
    assert_int_equal(json_integer_value(json_object_get(j, "inertia")), 3);
    json_decref(j);
    json_decref(call(fx->port, "PUT", "/api/v1/cameras/lobby/zones/till", "If-Match: *\r\n",
                     "{\"id\":\"other\",\"polygon\":[[0,0],[1,0],[1,1]]}", 400, NULL));
    json_decref(call(fx->port, "DELETE", "/api/v1/cameras/lobby/zones/till", NULL, NULL, 428,
                     NULL));
    snprintf(hdr, sizeof(hdr), "If-Match: %s\r\n", tag);
    json_decref(call(fx->port, "DELETE", "/api/v1/cameras/lobby/zones/till", hdr, NULL, 200,
                     NULL));
    json_decref(call(fx->port, "GET", "/api/v1/cameras/lobby/zones/till", NULL, NULL, 404, NULL));
    json_decref(call(fx->port, "DELETE", "/api/v1/cameras/lobby/zones/till", "If-Match: *\r\n",
                     NULL, 404, NULL));

    /* lines the same way, validated: two distinct points */
    json_decref(call(fx->port, "POST", "/api/v1/cameras/lobby/lines", NULL,
                     "{\"id\":\"flat\",\"points\":[[0.5,0.5],[0.5,0.5]]}", 400, NULL));
    json_decref(call(fx->port, "POST", "/api/v1/cameras/lobby/lines", NULL,
                     "{\"id\":\"aisle\",\"points\":[[0.5,0],[0.5,1]]}", 201, NULL));
    json_decref(call(fx->port, "GET", "/api/v1/cameras/lobby/lines/aisle", NULL, NULL, 200, NULL));
    json_decref(call(fx->port, "GET", "/api/v1/cameras/lobby/lines/a%20b", NULL, NULL, 400, NULL));
    json_decref(call(fx->port, "DELETE", "/api/v1/cameras/lobby/lines/aisle", "If-Match: *\r\n",
                     NULL, 200, NULL));
    vigil_bus_msg_t *msg;
    while (vigil_consumer_poll(fx->control, &msg, 200) == VIGIL_OK)
        vigil_consumer_ack(fx->control, msg);
}

typedef struct editor {
    int port;
    char if_match[64];
    const char *body;
    int status;
} editor_t;

static void *edit(void *arg)
{
    editor_t *e = arg;
    http_resp_t r;
    char hdrs[128];
    snprintf(hdrs, sizeof(hdrs), JSON_HDR "%s", e->if_match);
    if (http_request_headers(e->port, "PUT", "/api/v1/cameras/lobby/zones/door", hdrs, e->body,
                             &r) == 0)
        e->status = r.status;
    http_resp_free(&r);
    return NULL;
}

static void test_api_two_concurrent_zone_edits_one_412(void **state)
{
    fixture_t *fx = *state;
    http_resp_t r;
    char tag[32];

    for (int round = 0; round < 5; round++) {
        json_decref(call(fx->port, "GET", "/api/v1/cameras/lobby/rules", NULL, NULL, 200, &r));
        etag(&r, tag, sizeof(tag));
        http_resp_free(&r);
        editor_t e[2] = {
            {.port = fx->port, .body = "{\"polygon\":[[0,0],[0.5,0],[0.5,0.5]]}"},
            {.port = fx->lone_port, .body = "{\"polygon\":[[0,0],[0.7,0],[0.7,0.7]]}"},
        };
        pthread_t t[2];
        for (int i = 0; i < 2; i++) {
            snprintf(e[i].if_match, sizeof(e[i].if_match), "If-Match: %s\r\n", tag);
            assert_int_equal(pthread_create(&t[i], NULL, edit, &e[i]), 0);
        }
        for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
        int ok = (e[0].status == 200) + (e[1].status == 200);
        int stale = (e[0].status == 412) + (e[1].status == 412);
        if (ok != 1 || stale != 1)
            fail_msg("round %d: statuses %d and %d, wanted one 200 and one 412", round,
                     e[0].status, e[1].status);
    }
    drain(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_camera_create_is_stored_redacted_and_published),
        cmocka_unit_test(test_api_camera_create_is_validated_as_the_config),
        cmocka_unit_test(test_api_camera_patch_delete_only_the_apis_own),
        cmocka_unit_test(test_api_config_camera_is_switched_off_and_on_only),
        cmocka_unit_test(test_api_camera_without_bus_is_stored_not_applied),
        cmocka_unit_test(test_api_camera_list_pages_with_a_cursor),
        cmocka_unit_test(test_api_camera_test_reports_what_it_found),
        cmocka_unit_test(test_api_rules_etag_and_if_match),
        cmocka_unit_test(test_api_zones_and_lines_one_at_a_time),
        cmocka_unit_test(test_api_two_concurrent_zone_edits_one_412),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
