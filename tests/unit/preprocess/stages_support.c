/* Helpers for the stage tests (see stages_support.h). */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "stages_support.h"
#include "vigil/image.h"
#include "vigil/log.h"
#include "vigil/msg.h"

char *vt_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/vigil-stages-XXXXXX", base && *base ? base : "/tmp");
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    return strdup(dir);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void vt_rmtree(const char *path)
{
    if (path) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void vt_config(vigil_config_t *cfg, const char *dir)
{
    char err[256] = "";
    vigil_config_init(cfg);
    assert_int_equal(vigil_config_set(cfg, "store.data_dir", dir, "test", err, sizeof err),
                     VIGIL_OK);
    assert_int_equal(vigil_config_set(cfg, "store.url", "sqlite", "test", err, sizeof err),
                     VIGIL_OK);
    /* the stage tests use synthetic scenes: the motion model, no model files */
    assert_int_equal(vigil_config_set(cfg, "infer.model", "motion", "test", err, sizeof err),
                     VIGIL_OK);
    if (!getenv("VIGIL_TEST_VERBOSE")) vigil_log_set_level(VIGIL_LOG_OFF);
}

vigil_bus_t *vt_bus(void)
{
    char err[256] = "";
    vigil_bus_conf_t conf;
    vigil_bus_conf_init(&conf);
    conf.partitions = 4;
    conf.capacity = 256;
    vigil_bus_t *bus = vigil_bus_new("inproc://test", &conf, err, sizeof err);
    if (!bus) fail_msg("bus: %s", err);
    return bus;
}

#ifndef VT_NO_STORE
vigil_store_t *vt_store(const vigil_config_t *cfg)
{
    char err[256] = "";
    vigil_store_conf_t conf;
    vigil_store_conf_init(&conf);
    conf.url = cfg->store_url;
    conf.data_dir = cfg->data_dir;
    conf.migrate = 1;
    vigil_store_t *store = vigil_store_open(&conf, err, sizeof err);
    if (!store) fail_msg("store: %s", err);
    return store;
}
#endif

uint8_t *vt_jpeg_with_header_size(const uint8_t *jpeg, size_t len, int w, int h)
{
    uint8_t *out = malloc(len);
    assert_non_null(out);
    memcpy(out, jpeg, len);
    /* the frame header: FF C0..C2, length (2), precision (1), height, width */
    for (size_t i = 2; i + 9 < len; i++)
        if (out[i] == 0xff && out[i + 1] >= 0xc0 && out[i + 1] <= 0xc2) {
            out[i + 5] = (uint8_t)(h >> 8);
            out[i + 6] = (uint8_t)h;
            out[i + 7] = (uint8_t)(w >> 8);
            out[i + 8] = (uint8_t)w;
            return out;
        }
    fail_msg("no SOF marker in the JPEG");
    return NULL;
}

#ifndef VT_NO_MEDIA
uint8_t *vt_scene_jpeg(int w, int h, int x0, int y0, int sq, size_t *len)
{
    vigil_image_t img = {0};
    assert_int_equal(vigil_image_alloc(&img, w, h, VIGIL_PIX_RGB24), VIGIL_OK);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t *p = img.data + (size_t)y * img.stride + (size_t)x * 3;
            int in = sq > 0 && x >= x0 && x < x0 + sq && y >= y0 && y < y0 + sq;
            uint8_t v = (uint8_t)(40 + ((x / 16 + y / 16) % 2) * 20);
            p[0] = in ? 235 : v;
            p[1] = in ? 225 : v;
            p[2] = in ? 205 : (uint8_t)(v + 5);
        }
    }
    vigil_jpeg_t *codec = vigil_jpeg_new();
    uint8_t *out = NULL;
    char err[256] = "";
    assert_int_equal(vigil_jpeg_encode(codec, &img, 90, &out, len, err, sizeof err), VIGIL_OK);
    vigil_jpeg_free(codec);
    vigil_image_release(&img);
    return out;
}
#endif

static void publish(vigil_bus_t *bus, const char *topic, const char *camera,
                    const ProtobufCMessage *m)
{
    size_t n;
    uint8_t *buf = vigil_msg_pack(m, &n);
    assert_non_null(buf);
    assert_int_equal(vigil_bus_publish(bus, topic, camera, strlen(camera), buf, n, 10000),
                     VIGIL_OK);
    free(buf);
}

void vt_publish_frame(vigil_bus_t *bus, const char *camera, uint64_t seq, int64_t capture_us,
                      int w, int h, const uint8_t *jpeg, size_t len)
{
    Vigil__V1__Frame f = VIGIL__V1__FRAME__INIT;
    f.schema_version = VIGIL_SCHEMA_VERSION;
    f.camera_id = (char *)camera;
    f.sequence = seq;
    f.capture_time_us = capture_us;
    f.width = (uint32_t)w;
    f.height = (uint32_t)h;
    f.jpeg.data = (uint8_t *)jpeg;
    f.jpeg.len = len;
    publish(bus, VIGIL_TOPIC_FRAMES, camera, &f.base);
}

void vt_publish_gated(vigil_bus_t *bus, const char *camera, uint64_t seq, int64_t capture_us,
                      int w, int h, int64_t frame_id, const uint8_t *jpeg, size_t len)
{
    Vigil__V1__GatedFrame g = VIGIL__V1__GATED_FRAME__INIT;
    g.schema_version = VIGIL_SCHEMA_VERSION;
    g.camera_id = (char *)camera;
    g.sequence = seq;
    g.capture_time_us = capture_us;
    g.width = (uint32_t)w;
    g.height = (uint32_t)h;
    g.frame_id = frame_id;
    g.motion_score = 1;
    g.jpeg.data = (uint8_t *)jpeg;
    g.jpeg.len = len;
    publish(bus, VIGIL_TOPIC_GATED, camera, &g.base);
}

uint64_t vt_stage_count(const char *family, const char *stage, const char *camera)
{
    return vigil_metrics_sum(family, "stage", stage, camera ? "camera" : NULL, camera);
}

void vt_drain(vigil_bus_t *bus, const char *topic)
{
    assert_int_equal(vigil_bus_drain(bus, topic, 60000), VIGIL_OK);
}
