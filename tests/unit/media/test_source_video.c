/* Video sources (src/media/source.c): reading vtest.avi, looping, damaged
 * and bogus inputs, refused schemes, dead network servers, interrupts. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "media_support.h"
#include "vigil/image.h"
#include "vigil/source.h"

#define VTEST_FRAMES 795

static void test_source_reads_vtest_frames_with_growing_pts(void **state)
{
    (void)state;
    char path[1024], err[256] = "";
    if (media_path("vtest.avi", path, sizeof(path)) != 0) skip();
    vigil_source_opts_t opts = {0};
    vigil_source_t *src = vigil_source_open(path, &opts, err, sizeof(err));
    assert_non_null(src);
    assert_true(vigil_source_is_file(src));
    assert_true(vigil_source_fps(src) > 9.9 && vigil_source_fps(src) < 10.1);
    vigil_source_frame_t f;
    int64_t last = -1;
    int n = 0;
    vigil_err_t e;
    while ((e = vigil_source_read(src, &f, err, sizeof(err))) == VIGIL_OK) {
        assert_int_equal(f.width, 768);
        assert_int_equal(f.height, 576);
        assert_non_null(f.planes[0]);
        assert_non_null(f.planes[1]);
        assert_non_null(f.planes[2]);
        assert_true(f.strides[0] >= 768 && f.strides[1] >= 384);
        assert_null(f.jpeg); /* not MJPEG */
        assert_true(f.pts_us > last);
        if (n == 0) assert_int_equal(f.pts_us, 0);
        if (n == 10) assert_int_equal(f.pts_us, 1000000); /* 10 fps */
        last = f.pts_us;
        n++;
    }
    assert_int_equal(e, VIGIL_ERR_CLOSED);
    assert_int_equal(n, VTEST_FRAMES);
    /* Stays at the end. */
    assert_int_equal(vigil_source_read(src, &f, err, sizeof(err)), VIGIL_ERR_CLOSED);
    vigil_source_close(src);
}

static void test_source_loop_continues_past_the_end(void **state)
{
    (void)state;
    char path[1024], url[1100], err[256] = "";
    if (media_path("vtest.avi", path, sizeof(path)) != 0) skip();
    snprintf(url, sizeof(url), "file://%s", path); /* the prefix is accepted too */
    vigil_source_opts_t opts = {.loop = 1};
    vigil_source_t *src = vigil_source_open(url, &opts, err, sizeof(err));
    assert_non_null(src);
    vigil_source_frame_t f;
    int64_t last = -1;
    for (int n = 0; n < VTEST_FRAMES + 30; n++) {
        assert_int_equal(vigil_source_read(src, &f, err, sizeof(err)), VIGIL_OK);
        assert_true(f.pts_us > last);
        if (n == VTEST_FRAMES) assert_int_equal(f.pts_us, (int64_t)VTEST_FRAMES * 100000);
        last = f.pts_us;
    }
    vigil_source_close(src);
}

static void test_source_truncated_file_yields_frames_then_ends(void **state)
{
    (void)state;
    char path[1024], tmp[] = "/tmp/vigil-trunc-XXXXXX", err[256] = "";
    size_t len = 0;
    if (media_path("vtest.avi", path, sizeof(path)) != 0) skip();
    uint8_t *data = media_read_file(path, &len);
    assert_non_null(data);
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    size_t part = len * 4 / 10;
    assert_int_equal(write(fd, data, part), (ssize_t)part);
    close(fd);
    free(data);

    vigil_source_opts_t opts = {0};
    vigil_source_t *src = vigil_source_open(tmp, &opts, err, sizeof(err));
    assert_non_null(src);
    vigil_source_frame_t f;
    int frames = 0, decode_errors = 0;
    vigil_err_t e;
    for (;;) {
        e = vigil_source_read(src, &f, err, sizeof(err));
        if (e == VIGIL_OK)
            frames++;
        else if (e == VIGIL_ERR_DECODE)
            decode_errors++; /* the caller counts it and reads on */
        else
            break;
        assert_true(decode_errors < 100);
    }
    assert_int_equal(e, VIGIL_ERR_CLOSED);
    assert_true(frames > 100);
    assert_true(frames < VTEST_FRAMES);
    vigil_source_close(src);
    unlink(tmp);
}

static void test_source_random_bytes_fail_to_open_with_the_path(void **state)
{
    (void)state;
    char tmp[] = "/tmp/vigil-random-XXXXXX", err[512] = "";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    uint8_t buf[65536];
    uint32_t lcg = 7;
    for (size_t i = 0; i < sizeof(buf); i++) {
        lcg = lcg * 1103515245u + 12345u;
        buf[i] = (uint8_t)(lcg >> 24);
    }
    assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
    close(fd);
    vigil_source_t *src = vigil_source_open(tmp, NULL, err, sizeof(err));
    assert_null(src);
    print_message("random bytes: %s\n", err);
    assert_non_null(strstr(err, tmp));
    assert_non_null(strstr(err, "cannot open"));
    unlink(tmp);

    err[0] = 0;
    assert_null(vigil_source_open("/nonexistent/vigil/video.mp4", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/vigil/video.mp4"));
    assert_non_null(strstr(err, "no such file"));
}

static void test_source_unknown_scheme_is_unsupported_and_named(void **state)
{
    (void)state;
    char err[512] = "";
    assert_null(vigil_source_open("foo://x", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "\"foo\""));
    assert_non_null(strstr(err, "rtsp")); /* lists what is accepted */
    /* FFmpeg protocols vigil does not allow are refused before FFmpeg sees them. */
    err[0] = 0;
    assert_null(vigil_source_open("concat:/etc/passwd|/etc/passwd", NULL, err, sizeof(err)));
    err[0] = 0;
    assert_null(vigil_source_open("pipe://0", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "\"pipe\""));
}

static int closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    close(s); /* nothing listens there now */
    return ntohs(a.sin_port);
}

static void test_source_dead_rtsp_server_fails_with_an_error(void **state)
{
    (void)state;
    char url[128], err[512] = "";
    snprintf(url, sizeof(url), "rtsp://127.0.0.1:%d/x", closed_port());
    vigil_source_opts_t opts = {.timeout_ms = 2000};
    vigil_source_t *src = vigil_source_open(url, &opts, err, sizeof(err));
    assert_null(src);
    print_message("dead rtsp: %s\n", err);
    assert_non_null(strstr(err, url));
    assert_non_null(strstr(err, "cannot open"));
}

static void test_source_error_messages_mask_passwords(void **state)
{
    (void)state;
    char url[128], err[512] = "";
    snprintf(url, sizeof(url), "rtsp://admin:hunter2@127.0.0.1:%d/stream", closed_port());
    vigil_source_opts_t opts = {.timeout_ms = 2000};
    assert_null(vigil_source_open(url, &opts, err, sizeof(err)));
    assert_null(strstr(err, "hunter2"));
    assert_non_null(strstr(err, "admin:***@127.0.0.1"));
}

static int always_cancel(void *opaque)
{
    (void)opaque;
    return 1;
}

static void test_source_interrupt_ends_reads_with_closed(void **state)
{
    (void)state;
    char path[1024], err[256] = "";
    if (media_path("vtest.avi", path, sizeof(path)) != 0) skip();
    vigil_source_t *src = vigil_source_open(path, NULL, err, sizeof(err));
    assert_non_null(src);
    vigil_source_frame_t f;
    assert_int_equal(vigil_source_read(src, &f, err, sizeof(err)), VIGIL_OK);
    vigil_source_interrupt(src);
    assert_int_equal(vigil_source_read(src, &f, err, sizeof(err)), VIGIL_ERR_CLOSED);
    assert_non_null(strstr(err, "interrupted"));
    vigil_source_close(src);

    /* A cancel callback ends an open before it starts. */
    vigil_source_opts_t opts = {.cancel = always_cancel};
    assert_null(vigil_source_open(path, &opts, err, sizeof(err)));
    assert_non_null(strstr(err, "interrupted"));
}

static void test_source_resolve_sample_and_file_urls(void **state)
{
    (void)state;
    char path[1024], err[256] = "";
    char *r = vigil_source_resolve("file:///tmp/a.mp4", err, sizeof(err));
    assert_string_equal(r, "/tmp/a.mp4");
    free(r);
    r = vigil_source_resolve("rtsp://cam/1", err, sizeof(err));
    assert_string_equal(r, "rtsp://cam/1");
    free(r);

    char *old = getenv("VIGIL_MEDIA") ? strdup(getenv("VIGIL_MEDIA")) : NULL;
    setenv("VIGIL_MEDIA", "/nonexistent/vigil-media", 1);
    assert_null(vigil_source_resolve("sample", err, sizeof(err)));
    assert_non_null(strstr(err, "scripts/setup.sh media"));
    assert_non_null(strstr(err, "/nonexistent/vigil-media/vtest.avi"));
    if (old) {
        setenv("VIGIL_MEDIA", old, 1);
        free(old);
    } else {
        unsetenv("VIGIL_MEDIA");
    }
    if (media_path("vtest.avi", path, sizeof(path)) != 0) skip();
    r = vigil_source_resolve("sample", err, sizeof(err));
    assert_non_null(r);
    assert_string_equal(r, path);
    free(r);
}

static void test_source_testsrc_is_a_live_moving_picture(void **state)
{
    (void)state;
    char err[256] = "";
    vigil_source_t *src = vigil_source_open("testsrc", NULL, err, sizeof(err));
    assert_non_null(src);
    assert_false(vigil_source_is_file(src));
    vigil_source_frame_t f;
    assert_int_equal(vigil_source_read(src, &f, err, sizeof(err)), VIGIL_OK);
    uint8_t *first = malloc((size_t)f.strides[0] * f.height);
    memcpy(first, f.planes[0], (size_t)f.strides[0] * f.height);
    assert_int_equal(vigil_source_read(src, &f, err, sizeof(err)), VIGIL_OK);
    assert_true(f.pts_us > 0);
    assert_true(memcmp(first, f.planes[0], (size_t)f.strides[0] * f.height) != 0);
    free(first);
    vigil_source_close(src);
}

/* An MJPEG stream (raw concatenated JPEGs): every frame carries the original
 * JPEG packet, byte for byte, for pass-through. */
static void test_source_mjpeg_frames_carry_their_original_jpeg(void **state)
{
    (void)state;
    enum { N = 6, W = 160, H = 120 };
    char tmp[] = "/tmp/vigil-mjpeg-XXXXXX.mjpeg", err[256] = "";
    uint8_t *jpegs[N];
    size_t lens[N];
    vigil_jpeg_t *codec = vigil_jpeg_new();
    vigil_image_t img = {0};
    assert_int_equal(vigil_image_alloc(&img, W, H, VIGIL_PIX_RGB24), VIGIL_OK);
    int fd = mkstemps(tmp, 6);
    assert_true(fd >= 0);
    for (int i = 0; i < N; i++) {
        for (int p = 0; p < W * H * 3; p++) img.data[p] = (uint8_t)(p * (i + 1));
        assert_int_equal(vigil_jpeg_encode(codec, &img, 80, &jpegs[i], &lens[i], err, sizeof(err)),
                         VIGIL_OK);
        assert_int_equal(write(fd, jpegs[i], lens[i]), (ssize_t)lens[i]);
    }
    close(fd);

    vigil_source_t *src = vigil_source_open(tmp, NULL, err, sizeof(err));
    assert_non_null(src);
    vigil_source_frame_t f;
    int n = 0;
    vigil_err_t e;
    while ((e = vigil_source_read(src, &f, err, sizeof(err))) == VIGIL_OK) {
        assert_true(n < N);
        assert_int_equal(f.width, W);
        assert_int_equal(f.height, H);
        assert_non_null(f.planes[0]);
        assert_non_null(f.jpeg);
        assert_int_equal(f.jpeg_len, lens[n]);
        assert_memory_equal(f.jpeg, jpegs[n], lens[n]);
        n++;
    }
    assert_int_equal(e, VIGIL_ERR_CLOSED);
    assert_int_equal(n, N);
    vigil_source_close(src);
    for (int i = 0; i < N; i++) free(jpegs[i]);
    vigil_image_release(&img);
    vigil_jpeg_free(codec);
    unlink(tmp);
}

/* Gray JPEGs decode to GRAY8: the source converts them to YUV 4:2:0. */
static void test_source_converts_other_pixel_formats_to_yuv420(void **state)
{
    (void)state;
    enum { W = 64, H = 48 };
    char tmp[] = "/tmp/vigil-gray-XXXXXX.mjpeg", err[256] = "";
    vigil_jpeg_t *codec = vigil_jpeg_new();
    vigil_image_t img = {0};
    uint8_t *jpeg = NULL;
    size_t len = 0;
    assert_int_equal(vigil_image_alloc(&img, W, H, VIGIL_PIX_GRAY8), VIGIL_OK);
    memset(img.data, 200, (size_t)W * H);
    assert_int_equal(vigil_jpeg_encode(codec, &img, 90, &jpeg, &len, err, sizeof(err)), VIGIL_OK);
    int fd = mkstemps(tmp, 6);
    assert_true(fd >= 0);
    for (int i = 0; i < 3; i++) assert_int_equal(write(fd, jpeg, len), (ssize_t)len);
    close(fd);

    vigil_source_t *src = vigil_source_open(tmp, NULL, err, sizeof(err));
    assert_non_null(src);
    vigil_source_frame_t f;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(vigil_source_read(src, &f, err, sizeof(err)), VIGIL_OK);
        assert_int_equal(f.width, W);
        assert_int_equal(f.height, H);
        int y = f.planes[0][10 * f.strides[0] + 10], u = f.planes[1][5 * f.strides[1] + 5],
            v = f.planes[2][5 * f.strides[2] + 5];
        assert_true(abs(u - 128) <= 2 && abs(v - 128) <= 2);
        assert_true(y > 150 && y < 240); /* full-range 200 scaled into the video range */
    }
    assert_int_equal(vigil_source_read(src, &f, err, sizeof(err)), VIGIL_ERR_CLOSED);
    vigil_source_close(src);
    free(jpeg);
    vigil_image_release(&img);
    vigil_jpeg_free(codec);
    unlink(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_reads_vtest_frames_with_growing_pts),
        cmocka_unit_test(test_source_loop_continues_past_the_end),
        cmocka_unit_test(test_source_truncated_file_yields_frames_then_ends),
        cmocka_unit_test(test_source_random_bytes_fail_to_open_with_the_path),
        cmocka_unit_test(test_source_unknown_scheme_is_unsupported_and_named),
        cmocka_unit_test(test_source_dead_rtsp_server_fails_with_an_error),
        cmocka_unit_test(test_source_error_messages_mask_passwords),
        cmocka_unit_test(test_source_interrupt_ends_reads_with_closed),
        cmocka_unit_test(test_source_resolve_sample_and_file_urls),
        cmocka_unit_test(test_source_testsrc_is_a_live_moving_picture),
        cmocka_unit_test(test_source_mjpeg_frames_carry_their_original_jpeg),
        cmocka_unit_test(test_source_converts_other_pixel_formats_to_yuv420),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
