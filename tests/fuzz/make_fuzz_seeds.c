/* Writes the binary seed corpora of the parser fuzz drivers:
 *   corpus/msg/         one valid message of each kind (and each camera
 *                       command op), prefixed with fuzz_msg's selector byte
 *   corpus/checkpoint/  real checkpoints: an analyzer with the rules of
 *                       fuzz_analytics.h saved after 0, 1, 3, 8, 20 and 60
 *                       frames of a synthetic scene (tentative, confirmed
 *                       and lost tracks, open zone and loiter events,
 *                       crossings, count buckets)
 *   corpus/jpeg/        small JPEGs (gray, 4:2:0, 4:4:4 progressive, from
 *                       planar YUV), each with fuzz_jpeg's option byte, and
 *                       hostile ones: a header of 65500x65500, of 0 rows,
 *                       over the cap, cut short, a declared size that is
 *                       not the header's
 * usage: make_fuzz_seeds DIR  (DIR is tests/fuzz/corpus; the output is
 * committed, run it again when a message or the checkpoint format changes).
 * Deterministic: the same code writes the same bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <turbojpeg.h>

#include "fuzz_analytics.h"
#include "vigil/image.h"
#include "vigil/msg.h"

static const char *out_dir;

static void die(const char *what, const char *why)
{
    fprintf(stderr, "make_fuzz_seeds: %s: %s\n", what, why);
    exit(1);
}

/* Writes prefix (plen bytes) + data to DIR/sub/name. */
static void put(const char *sub, const char *name, const void *prefix, size_t plen,
                const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", out_dir, sub);
    if (mkdir(path, 0755) && errno != EEXIST) die(path, strerror(errno));
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || (plen && fwrite(prefix, 1, plen, f) != plen) ||
        (len && fwrite(data, 1, len, f) != len) || fclose(f))
        die(path, strerror(errno));
}

static void put_msg(const char *name, uint8_t selector, const ProtobufCMessage *m)
{
    size_t len;
    uint8_t *buf = vigil_msg_pack(m, &len);
    if (!buf) die(name, "out of memory");
    put("msg", name, &selector, 1, buf, len);
    free(buf);
}

static uint8_t *tiny_jpeg(int w, int h, size_t *len)
{
    char err[256];
    vigil_jpeg_t *codec = vigil_jpeg_new();
    vigil_image_t img = {0};
    uint8_t *out = NULL;
    if (!codec || vigil_image_alloc(&img, w, h, VIGIL_PIX_RGB24)) die("jpeg", "out of memory");
    for (int i = 0; i < w * h * 3; i++) img.data[i] = (uint8_t)(i * 7 + i / 3);
    if (vigil_jpeg_encode(codec, &img, 80, &out, len, err, sizeof err)) die("jpeg", err);
    vigil_image_release(&img);
    vigil_jpeg_free(codec);
    return out;
}

static void msg_seeds(void)
{
    size_t jlen;
    uint8_t *jpeg = tiny_jpeg(16, 8, &jlen);

    Vigil__V1__Frame f = VIGIL__V1__FRAME__INIT;
    f.schema_version = VIGIL_SCHEMA_VERSION;
    f.camera_id = "cam1";
    f.sequence = 42;
    f.capture_time_us = INT64_C(1795239060000000);
    f.width = 16;
    f.height = 8;
    f.jpeg.data = jpeg;
    f.jpeg.len = jlen;
    put_msg("frame.bin", 0, &f.base);

    Vigil__V1__GatedFrame g = VIGIL__V1__GATED_FRAME__INIT;
    g.schema_version = VIGIL_SCHEMA_VERSION;
    g.camera_id = "lobby.east-2";
    g.sequence = 43;
    g.capture_time_us = INT64_C(1795239060200000);
    g.width = 16;
    g.height = 8;
    g.frame_id = 7;
    g.motion_score = 0.25f;
    g.keyframe = 1;
    g.jpeg.data = jpeg;
    g.jpeg.len = jlen;
    put_msg("gated_frame.bin", 1, &g.base);

    Vigil__V1__Detection d[3] = {VIGIL__V1__DETECTION__INIT, VIGIL__V1__DETECTION__INIT,
                                 VIGIL__V1__DETECTION__INIT};
    Vigil__V1__Detection *items[3] = {&d[0], &d[1], &d[2]};
    static const char *const labels[] = {"person", "car", "traffic light"};
    for (int i = 0; i < 3; i++) {
        d[i].x1 = 10.0f * (float)i;
        d[i].y1 = 20.0f;
        d[i].x2 = 10.0f * (float)i + 30.0f;
        d[i].y2 = 90.0f;
        d[i].score = 0.5f + 0.2f * (float)i;
        d[i].label = (char *)labels[i];
        d[i].class_id = i;
    }
    Vigil__V1__Detections ds = VIGIL__V1__DETECTIONS__INIT;
    ds.schema_version = VIGIL_SCHEMA_VERSION;
    ds.camera_id = "cam1";
    ds.sequence = 43;
    ds.capture_time_us = INT64_C(1795239060200000);
    ds.frame_id = 7;
    ds.model = "centernet";
    ds.width = 640;
    ds.height = 480;
    ds.n_items = 3;
    ds.items = items;
    ds.infer_time_us = 12000;
    put_msg("detections.bin", 2, &ds.base);
    /* topic tracks: the same message after analytics, with track ids (0 = none) */
    d[0].track_id = 12;
    d[2].track_id = UINT64_C(9007199254740991);
    put_msg("tracks.bin", 2, &ds.base);

    static const struct {
        Vigil__V1__CameraCommand__Op op;
        const char *name;
    } ops[] = {{VIGIL__V1__CAMERA_COMMAND__OP__OP_ADD, "command_add.bin"},
               {VIGIL__V1__CAMERA_COMMAND__OP__OP_REMOVE, "command_remove.bin"},
               {VIGIL__V1__CAMERA_COMMAND__OP__OP_START, "command_start.bin"},
               {VIGIL__V1__CAMERA_COMMAND__OP__OP_STOP, "command_stop.bin"},
               {VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES, "command_set_rules.bin"}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        Vigil__V1__CameraCommand c = VIGIL__V1__CAMERA_COMMAND__INIT;
        c.schema_version = VIGIL_SCHEMA_VERSION;
        c.op = ops[i].op;
        c.camera_id = "door";
        if (c.op == VIGIL__V1__CAMERA_COMMAND__OP__OP_ADD) {
            c.name = "Front door";
            c.url = "rtsp://192.0.2.10:554/stream1";
            c.fps = 5;
        }
        if (c.op == VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES) c.rules_json = FUZZ_RULES_JSON;
        put_msg(ops[i].name, 3, &c.base);
    }

    Vigil__V1__Event e = VIGIL__V1__EVENT__INIT;
    e.schema_version = VIGIL_SCHEMA_VERSION;
    e.camera_id = "cam1";
    e.type = "camera.offline";
    e.time_us = INT64_C(1795239061000000);
    e.sequence = 44;
    e.message = "camera \"cam1\": cannot open rtsp://192.0.2.10/: connection refused";
    e.payload_json = "{\"reconnect_ms\":500}";
    put_msg("event.bin", 4, &e.base);
    free(jpeg);
}

static void checkpoint_seeds(void)
{
    static const int saves[] = {0, 1, 3, 8, 20, 60};
    char err[512], name[64];
    vigil_rules_t rules;
    vigil_tracker_conf_t conf;
    if (vigil_rules_from_json(FUZZ_RULES_JSON, strlen(FUZZ_RULES_JSON), &rules, err, sizeof err))
        die("rules", err);
    vigil_tracker_conf_init(&conf);
    vigil_analyzer_t *a = vigil_analyzer_new(FUZZ_CAMERA, &conf, rules.zones, rules.nzones,
                                             rules.lines, rules.nlines, err, sizeof err);
    if (!a) die("analyzer", err);
    vigil_analytics_frame_t frame;
    vigil_analytics_det_t dets[4];
    vigil_analytics_out_t out;
    size_t next = 0, events = 0;
    for (int seq = 0; seq <= 60; seq++) {
        if (seq > 0) {
            size_t n = fuzz_scene_frame((uint64_t)seq, 4, &frame, dets);
            if (vigil_analyzer_frame(a, &frame, dets, n, &out, NULL)) die("frame", "refused");
            events += out.nevents;
        }
        if (seq == saves[next]) {
            uint8_t *buf;
            size_t len;
            if (vigil_analyzer_save(a, &buf, &len)) die("save", "failed");
            snprintf(name, sizeof name, "after_%02d_frames.pb", seq);
            put("checkpoint", name, NULL, 0, buf, len);
            free(buf);
            next++;
        }
    }
    if (events == 0) die("scene", "no event in 60 frames: the seeds would not hold any");
    vigil_analyzer_free(a);
    vigil_rules_release(&rules);
}

/* Offset of the SOF marker's height field in a JPEG, or 0. */
static size_t sof_dims(const uint8_t *j, size_t len)
{
    for (size_t i = 2; i + 9 < len;) {
        if (j[i] != 0xff) return 0;
        uint8_t m = j[i + 1];
        size_t seg = (size_t)j[i + 2] << 8 | j[i + 3];
        if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) return i + 5;
        i += 2 + seg;
    }
    return 0;
}

static void put_jpeg(const char *name, uint8_t option, const uint8_t *declared,
                     const uint8_t *j, size_t len)
{
    uint8_t prefix[5] = {option};
    size_t plen = 1;
    if (declared) {
        memcpy(prefix + 1, declared, 4);
        plen = 5;
    }
    put("jpeg", name, prefix, plen, j, len);
}

static uint8_t *tj_jpeg(int w, int h, int subsamp, int flags, size_t *len)
{
    tjhandle tj = tjInitCompress();
    uint8_t *px = malloc((size_t)w * h * 3), *out = NULL;
    unsigned long n = 0;
    if (!tj || !px) die("tj", "out of memory");
    for (int i = 0; i < w * h * 3; i++) px[i] = (uint8_t)((i % (3 * w)) * 5 + (i / (3 * w)) * 3);
    if (tjCompress2(tj, px, w, 0, h, TJPF_RGB, &out, &n, subsamp, 75, flags))
        die("tjCompress2", tjGetErrorStr2(tj));
    uint8_t *copy = malloc(n);
    if (!copy) die("tj", "out of memory");
    memcpy(copy, out, n);
    tjFree(out);
    tjDestroy(tj);
    free(px);
    *len = n;
    return copy;
}

static void jpeg_seeds(void)
{
    size_t len;
    char err[256];
    uint8_t *j;
    vigil_jpeg_t *codec = vigil_jpeg_new();

    j = tiny_jpeg(33, 17, &len); /* odd sizes: 4:2:0 edges, scaled sizes round up */
    put_jpeg("rgb420_33x17.bin", 0, NULL, j, len);
    put_jpeg("rgb420_33x17_eighth.bin", 3, NULL, j, len);
    const uint8_t same[4] = {0, 33, 0, 17}, other[4] = {0, 32, 0, 17};
    put_jpeg("declared_same.bin", 4 | 1, same, j, len);
    put_jpeg("declared_other.bin", 4, other, j, len);
    put_jpeg("truncated.bin", 2, NULL, j, len * 2 / 3);
    size_t at = sof_dims(j, len);
    if (!at) die("jpeg", "no SOF marker");
    uint8_t *h = malloc(len);
    if (!h) die("jpeg", "out of memory");
    static const struct {
        const char *name;
        uint8_t dims[4]; /* height, width as in SOF */
    } hostile[] = {{"header_65500x65500.bin", {0xff, 0xdc, 0xff, 0xdc}},
                   {"header_0_rows.bin", {0x00, 0x00, 0x00, 0x21}},
                   {"header_over_cap_4096x2048.bin", {0x08, 0x00, 0x10, 0x00}},
                   {"header_16385x1.bin", {0x00, 0x01, 0x40, 0x01}}};
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        memcpy(h, j, len);
        memcpy(h + at, hostile[i].dims, 4);
        put_jpeg(hostile[i].name, 0, NULL, h, len);
    }
    free(h);
    free(j);

    vigil_image_t gray = {0};
    uint8_t *out = NULL;
    if (vigil_image_alloc(&gray, 24, 40, VIGIL_PIX_GRAY8)) die("jpeg", "out of memory");
    for (int i = 0; i < 24 * 40; i++) gray.data[i] = (uint8_t)(i * 13);
    if (vigil_jpeg_encode(codec, &gray, 90, &out, &len, err, sizeof err)) die("jpeg", err);
    put_jpeg("gray_24x40.bin", 1, NULL, out, len);
    free(out);
    vigil_image_release(&gray);

    uint8_t y[64 * 48], u[32 * 24], v[32 * 24];
    for (size_t i = 0; i < sizeof y; i++) y[i] = (uint8_t)(i * 3);
    memset(u, 100, sizeof u);
    memset(v, 160, sizeof v);
    const uint8_t *planes[3] = {y, u, v};
    const int strides[3] = {64, 32, 32};
    if (vigil_jpeg_encode_yuv420(codec, planes, strides, 64, 48, 85, &out, &len, err, sizeof err))
        die("jpeg", err);
    put_jpeg("yuv420_64x48.bin", 2, NULL, out, len);
    free(out);

    j = tj_jpeg(40, 24, TJSAMP_444, TJFLAG_PROGRESSIVE, &len);
    put_jpeg("progressive444_40x24.bin", 0, NULL, j, len);
    free(j);
    j = tj_jpeg(48, 16, TJSAMP_422, 0, &len);
    put_jpeg("rgb422_48x16.bin", 1, NULL, j, len);
    free(j);
    vigil_jpeg_free(codec);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_fuzz_seeds DIR (tests/fuzz/corpus)\n");
        return 2;
    }
    out_dir = argv[1];
    msg_seeds();
    checkpoint_seeds();
    jpeg_seeds();
    return 0;
}
