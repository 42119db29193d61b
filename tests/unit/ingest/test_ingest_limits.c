/* Bounds on the cameras ingest takes from outside (issue 11): at most
 * ingest.max_cameras cameras (threads) run, whether they come from the
 * configuration, the API (vigil_ingest_add_camera) or topic control, and the
 * control follower's table keeps at most limits.max_cameras cameras. The
 * control follower runs here on the in-process bus (the stage starts it on
 * every bus; the code is the same). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ingest/ingest_int.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/msg.h"
#include "vigil/stages.h"

#define WAIT_LIMIT_US (30LL * 1000000)

static vigil_bus_t *new_bus(void)
{
    char err[256] = "";
    vigil_bus_conf_t bc;
    vigil_bus_conf_init(&bc);
    bc.partitions = 2;
    bc.capacity = 4096;
    vigil_bus_t *bus = vigil_bus_new("inproc://", &bc, err, sizeof(err));
    if (!bus) fail_msg("bus: %s", err);
    return bus;
}

static size_t running(vigil_ingest_t *ing)
{
    pthread_mutex_lock(&ing->lock);
    size_t n = ing->ncameras;
    pthread_mutex_unlock(&ing->lock);
    return n;
}

static void test_ingest_cameras_beyond_max_are_refused_with_a_clear_error(void **state)
{
    char err[512] = "";
    vigil_config_t cfg;
    vigil_config_init(&cfg);
    cfg.ingest_max_cameras = 2;
    vigil_bus_t *bus = new_bus();
    vigil_ingest_t *ing = vigil_ingest_new(&cfg, bus, err, sizeof(err));
    assert_non_null(ing);
    assert_int_equal(vigil_ingest_start(ing), VIGIL_OK);
    vigil_camera_conf_t cc = {.fps = 1, .loop = 1, .enabled = 1, .retention_hours = -1};
    cc.url = "testsrc";
    const char *ids[] = {"a", "b", "c"};
    for (int i = 0; i < 2; i++) {
        snprintf(cc.id, sizeof cc.id, "%s", ids[i]);
        assert_int_equal(vigil_ingest_add_camera(ing, &cc, err, sizeof(err)), VIGIL_OK);
    }
    snprintf(cc.id, sizeof cc.id, "c");
    assert_int_equal(vigil_ingest_add_camera(ing, &cc, err, sizeof(err)), VIGIL_ERR_FULL);
    assert_non_null(strstr(err, "camera \"c\": not started: this ingest instance already runs 2 "
                                "cameras (accepted: at most ingest.max_cameras = 2"));
    assert_int_equal(running(ing), 2);
    /* room again after a removal */
    assert_int_equal(vigil_ingest_remove_camera(ing, "a"), VIGIL_OK);
    assert_int_equal(vigil_ingest_add_camera(ing, &cc, err, sizeof(err)), VIGIL_OK);
    vigil_ingest_free(ing);
    vigil_bus_free(bus);
    vigil_config_release(&cfg);
}

static void test_ingest_more_configured_cameras_than_max_is_a_config_error(void **state)
{
    char err[512] = "";
    vigil_config_t cfg;
    vigil_config_init(&cfg);
    for (int i = 0; i < 3; i++)
        assert_int_equal(vigil_config_add_source(&cfg, "testsrc", err, sizeof(err)), VIGIL_OK);
    cfg.ingest_max_cameras = 2;
    assert_int_equal(vigil_config_validate(&cfg, err, sizeof(err)), VIGIL_ERR_CONFIG);
    assert_non_null(strstr(err, "more than ingest.max_cameras 2"));
    vigil_bus_t *bus = new_bus();
    assert_null(vigil_ingest_new(&cfg, bus, err, sizeof(err)));
    assert_non_null(strstr(err, "3 cameras configured (accepted: at most ingest.max_cameras = 2)"));
    vigil_bus_free(bus);
    vigil_config_release(&cfg);
}

static void publish_add(vigil_bus_t *bus, const char *id)
{
    Vigil__V1__CameraCommand c = VIGIL__V1__CAMERA_COMMAND__INIT;
    c.schema_version = VIGIL_SCHEMA_VERSION;
    c.op = VIGIL__V1__CAMERA_COMMAND__OP__OP_ADD;
    c.camera_id = (char *)id;
    c.url = "testsrc";
    c.fps = 1;
    size_t len = 0;
    uint8_t *buf = vigil_msg_pack(&c.base, &len);
    assert_non_null(buf);
    assert_int_equal(vigil_bus_publish(bus, VIGIL_TOPIC_CONTROL, id, strlen(id), buf, len, 1000),
                     VIGIL_OK);
    free(buf);
}

/* Everything logged so far through the pipe. */
static const char *drain_log(int fd)
{
    static char text[1 << 20];
    static size_t n;
    ssize_t r;
    while (n + 1 < sizeof text && (r = read(fd, text + n, sizeof text - 1 - n)) > 0)
        n += (size_t)r;
    text[n] = '\0';
    return text;
}

static void test_ingest_control_topic_cameras_are_capped(void **state)
{
    char err[512] = "";
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    vigil_log_set_fd(fds[1]);
    vigil_config_t cfg;
    vigil_config_init(&cfg);
    cfg.ingest_max_cameras = 2;
    cfg.limits_max_cameras = 5;
    vigil_bus_t *bus = new_bus();
    vigil_ingest_t *ing = vigil_ingest_new(&cfg, bus, err, sizeof(err));
    assert_non_null(ing);
    assert_int_equal(vigil_ingest_start(ing), VIGIL_OK); /* starts the control follower */
    char id[16];
    for (int i = 0; i < 8; i++) {
        snprintf(id, sizeof id, "cam%d", i);
        publish_add(bus, id);
    }
    int64_t t0 = vigil_mono_us();
    const char *log = "";
    while (!strstr(log, "control command ignored") ||
           !strstr(log, "not started: this ingest instance already runs 2 cameras")) {
        if (vigil_mono_us() - t0 > WAIT_LIMIT_US) fail_msg("no refusal logged: %s", log);
        assert_true(running(ing) <= 2);
        vigil_sleep_us(50000);
        log = drain_log(fds[0]);
    }
    assert_int_equal(running(ing), 2);
    assert_non_null(strstr(log, "the control table already holds 5 cameras (accepted: at most "
                                "limits.max_cameras = 5"));
    vigil_ingest_free(ing);
    vigil_log_set_fd(2);
    close(fds[0]);
    close(fds[1]);
    vigil_bus_free(bus);
    vigil_config_release(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ingest_cameras_beyond_max_are_refused_with_a_clear_error),
        cmocka_unit_test(test_ingest_more_configured_cameras_than_max_is_a_config_error),
        cmocka_unit_test(test_ingest_control_topic_cameras_are_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
