/* Store conformance cases: frames (round trip, idempotence, disk failures,
 * concurrent writers of the same frame). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_conformance.h"

/* Reads a whole file; NULL if it cannot. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

void test_store_frame_put_get_read_round_trip_at_documented_path(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64], err[512] = "", want_path[256], full[PATH_MAX * 2];
    cs_camera(ctx, "rt", cam);
    size_t len = 54321;
    unsigned char *jpeg = malloc(len);
    cs_fill_bytes(jpeg, len, 42);
    /* 2026-09-01T05:30:00.5Z */
    vigil_frame_row_t f = cs_frame(cam, 42, CS_T0 + INT64_C(19800500000));
    f.motion_score = 0.75f;
    f.keyframe = 1;
    assert_int_equal(vigil_store_frame_put(ctx->store, &f, jpeg, len, err, sizeof(err)), VIGIL_OK);
    assert_true(f.id > 0);
    snprintf(want_path, sizeof(want_path), "frames/%s/2026/09/01/05/42.jpg", cam);
    assert_string_equal(f.path, want_path);

    snprintf(full, sizeof(full), "%s/%s", ctx->data_dir, want_path);
    size_t on_disk_len = 0;
    unsigned char *on_disk = slurp(full, &on_disk_len);
    assert_non_null(on_disk);
    assert_int_equal(on_disk_len, len);
    assert_memory_equal(on_disk, jpeg, len);
    free(on_disk);

    vigil_frame_row_t got;
    assert_int_equal(vigil_store_frame_get(ctx->store, f.id, &got), VIGIL_OK);
    assert_int_equal(got.id, f.id);
    assert_string_equal(got.camera_id, cam);
    assert_int_equal(got.sequence, 42);
    assert_int_equal(got.capture_time_us, f.capture_time_us);
    assert_int_equal(got.width, 640);
    assert_int_equal(got.height, 480);
    assert_int_equal(got.size_bytes, (int64_t)len);
    assert_true(got.motion_score == 0.75f);
    assert_int_equal(got.keyframe, 1);
    assert_string_equal(got.path, want_path);

    void *back = NULL;
    size_t back_len = 0;
    assert_int_equal(vigil_store_frame_read(ctx->store, f.id, &back, &back_len), VIGIL_OK);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, jpeg, len);
    free(back);
    assert_int_equal(cs_count_files(ctx->data_dir, ".tmp"), 0);
    free(jpeg);
}

void test_store_frame_put_same_key_twice_keeps_one_row_and_one_file(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64], err[512] = "", camdir[PATH_MAX * 2];
    cs_camera(ctx, "idem", cam);
    unsigned char a[2000], b[3000];
    cs_fill_bytes(a, sizeof(a), 1);
    cs_fill_bytes(b, sizeof(b), 2);
    vigil_frame_row_t f1 = cs_frame(cam, 7, CS_T0);
    assert_int_equal(vigil_store_frame_put(ctx->store, &f1, a, sizeof(a), err, sizeof(err)),
                     VIGIL_OK);
    /* redelivered: same key, even with other bytes and another hour */
    vigil_frame_row_t f2 = cs_frame(cam, 7, CS_T0 + INT64_C(7200000000));
    assert_int_equal(vigil_store_frame_put(ctx->store, &f2, b, sizeof(b), err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(f2.id, f1.id);
    assert_string_equal(f2.path, f1.path);

    vigil_store_counts_t c;
    assert_int_equal(vigil_store_counts(ctx->store, cam, &c), VIGIL_OK);
    assert_int_equal(c.frames, 1);
    assert_int_equal(c.frame_bytes, (int64_t)sizeof(a));
    snprintf(camdir, sizeof(camdir), "%s/frames/%s", ctx->data_dir, cam);
    assert_int_equal(cs_count_files(camdir, NULL), 1);
    void *back = NULL;
    size_t len = 0;
    assert_int_equal(vigil_store_frame_read(ctx->store, f1.id, &back, &len), VIGIL_OK);
    assert_int_equal(len, sizeof(a));
    assert_memory_equal(back, a, sizeof(a)); /* nothing rewritten */
    free(back);
}

void test_store_frame_get_unknown_id_is_not_found(void **state)
{
    cs_ctx_t *ctx = *state;
    vigil_frame_row_t row;
    void *data = NULL;
    size_t len = 0;
    assert_int_equal(vigil_store_frame_get(ctx->store, INT64_C(999999999), &row),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_store_frame_read(ctx->store, INT64_C(999999999), &data, &len),
                     VIGIL_ERR_NOT_FOUND);
    assert_null(data);

    /* a row whose file went missing reads as not found, not as garbage */
    char cam[64], err[512] = "", full[PATH_MAX * 2];
    unsigned char buf[100];
    cs_fill_bytes(buf, sizeof(buf), 3);
    vigil_frame_row_t f = cs_frame(cs_camera(ctx, "gone", cam), 1, CS_T0);
    assert_int_equal(vigil_store_frame_put(ctx->store, &f, buf, sizeof(buf), err, sizeof(err)),
                     VIGIL_OK);
    snprintf(full, sizeof(full), "%s/%s", ctx->data_dir, f.path);
    assert_int_equal(unlink(full), 0);
    assert_int_equal(vigil_store_frame_read(ctx->store, f.id, &data, &len), VIGIL_ERR_NOT_FOUND);
    assert_null(data);
}

void test_store_frame_put_into_unwritable_dir_fails_without_row_or_temp_file(void **state)
{
    cs_ctx_t *ctx = *state;
    char good[64], bad[64], err[512] = "", path[PATH_MAX * 2];
    cs_camera(ctx, "good", good);
    cs_camera(ctx, "bad", bad);
    unsigned char buf[4096];
    cs_fill_bytes(buf, sizeof(buf), 9);
    vigil_frame_row_t before = cs_frame(good, 1, CS_T0);
    assert_int_equal(vigil_store_frame_put(ctx->store, &before, buf, sizeof(buf), err, sizeof(err)),
                     VIGIL_OK);

    /* frames/BAD is a regular file: no directory can be made below it, even
     * as root (where chmod 0500 would not stop a write) */
    snprintf(path, sizeof(path), "%s/frames/%s", ctx->data_dir, bad);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    close(fd);
    vigil_frame_row_t f = cs_frame(bad, 7, CS_T0);
    err[0] = '\0';
    vigil_err_t rc = vigil_store_frame_put(ctx->store, &f, buf, sizeof(buf), err, sizeof(err));
    assert_true(rc == VIGIL_ERR_IO || rc == VIGIL_ERR_FULL);
    assert_non_null(strstr(err, bad));
    assert_non_null(strstr(err, "sequence 7"));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, strerror(ENOTDIR)));

    if (geteuid() != 0) {
        /* not root: a read-only directory refuses too */
        char ro[64];
        cs_camera(ctx, "ro", ro);
        snprintf(path, sizeof(path), "%s/frames/%s", ctx->data_dir, ro);
        assert_int_equal(mkdir(path, 0500), 0);
        vigil_frame_row_t r = cs_frame(ro, 1, CS_T0);
        assert_int_equal(vigil_store_frame_put(ctx->store, &r, buf, sizeof(buf), err, sizeof(err)),
                         VIGIL_ERR_IO);
        assert_non_null(strstr(err, strerror(EACCES)));
        vigil_store_counts_t c;
        assert_int_equal(vigil_store_counts(ctx->store, ro, &c), VIGIL_OK);
        assert_int_equal(c.frames, 0);
        chmod(path, 0755);
    }

    vigil_store_counts_t c;
    assert_int_equal(vigil_store_counts(ctx->store, bad, &c), VIGIL_OK);
    assert_int_equal(c.frames, 0);
    assert_int_equal(cs_count_files(ctx->data_dir, ".tmp"), 0);
    void *back = NULL;
    size_t len = 0;
    assert_int_equal(vigil_store_frame_read(ctx->store, before.id, &back, &len), VIGIL_OK);
    assert_int_equal(len, sizeof(buf));
    assert_memory_equal(back, buf, sizeof(buf));
    free(back);
}

void test_store_frame_put_on_full_disk_fails_with_full_and_keeps_old_frames(void **state)
{
    cs_ctx_t *ctx = *state;
    if (geteuid() != 0) {
        print_message("skipped: needs root to mount a small tmpfs as a full disk\n");
        skip();
        return;
    }
    cs_ctx_t full = *ctx;
    snprintf(full.data_dir, sizeof(full.data_dir), "%s/full", ctx->tmp);
    assert_int_equal(mkdir(full.data_dir, 0755), 0);
    if (mount("tmpfs", full.data_dir, "tmpfs", 0, "size=64k,mode=0755") != 0) {
        print_message("skipped: cannot mount a tmpfs at %s: %s\n", full.data_dir,
                      strerror(errno));
        skip();
        return;
    }
    snprintf(ctx->mount, sizeof(ctx->mount), "%s", full.data_dir);
    if (cs_is_sqlite()) /* the database must not live on the full disk */
        snprintf(full.url, sizeof(full.url), "sqlite:%s/full.db", ctx->tmp);
    char err[512] = "", cam[64], filler[PATH_MAX * 2];
    cs_camera(ctx, "full", cam);
    vigil_store_t *s = cs_open(&full, 1, err, sizeof(err));
    assert_non_null(s);

    unsigned char small[4096], big[16384];
    cs_fill_bytes(small, sizeof(small), 5);
    cs_fill_bytes(big, sizeof(big), 6);
    vigil_frame_row_t f1 = cs_frame(cam, 1, CS_T0);
    assert_int_equal(vigil_store_frame_put(s, &f1, small, sizeof(small), err, sizeof(err)),
                     VIGIL_OK);

    snprintf(filler, sizeof(filler), "%s/filler", full.data_dir);
    int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    for (;;) {
        ssize_t w = write(fd, big, sizeof(big));
        if (w <= 0) break;
    }
    close(fd);

    vigil_frame_row_t f2 = cs_frame(cam, 2, CS_T0 + 1000);
    err[0] = '\0';
    assert_int_equal(vigil_store_frame_put(s, &f2, big, sizeof(big), err, sizeof(err)),
                     VIGIL_ERR_FULL);
    assert_non_null(strstr(err, cam));
    assert_non_null(strstr(err, "sequence 2"));
    assert_non_null(strstr(err, strerror(ENOSPC)));
    vigil_store_counts_t c;
    assert_int_equal(vigil_store_counts(s, cam, &c), VIGIL_OK);
    assert_int_equal(c.frames, 1);
    assert_int_equal(cs_count_files(full.data_dir, ".tmp"), 0);
    assert_int_equal(cs_count_files(full.data_dir, "2.jpg"), 0);
    void *back = NULL;
    size_t len = 0;
    assert_int_equal(vigil_store_frame_read(s, f1.id, &back, &len), VIGIL_OK);
    assert_int_equal(len, sizeof(small));
    assert_memory_equal(back, small, sizeof(small));
    free(back);

    /* space again: the same frame goes in */
    assert_int_equal(unlink(filler), 0);
    assert_int_equal(vigil_store_frame_put(s, &f2, big, sizeof(big), err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_store_counts(s, cam, &c), VIGIL_OK);
    assert_int_equal(c.frames, 2);
    vigil_store_close(s);
}

#define SAME_FRAME_THREADS 4
#define SAME_FRAME_COUNT 30

typedef struct same_frame_arg {
    cs_ctx_t *ctx;
    const char *camera;
    int64_t ids[SAME_FRAME_COUNT];
    int failures;
    char err[512];
} same_frame_arg_t;

static void *same_frame_thread(void *p)
{
    same_frame_arg_t *arg = p;
    vigil_store_t *s = cs_open(arg->ctx, 0, arg->err, sizeof(arg->err));
    if (!s) {
        arg->failures = SAME_FRAME_COUNT;
        return NULL;
    }
    unsigned char buf[1500];
    for (int i = 0; i < SAME_FRAME_COUNT; i++) {
        cs_fill_bytes(buf, sizeof(buf), (uint32_t)i);
        vigil_frame_row_t f = cs_frame(arg->camera, (uint64_t)i, CS_T0 + i * INT64_C(600000000));
        if (vigil_store_frame_put(s, &f, buf, sizeof(buf), arg->err, sizeof(arg->err)) != VIGIL_OK)
            arg->failures++;
        arg->ids[i] = f.id;
    }
    vigil_store_close(s);
    return NULL;
}

void test_store_concurrent_puts_of_same_frame_keep_one_row_and_file(void **state)
{
    cs_ctx_t *ctx = *state;
    char cam[64], camdir[PATH_MAX * 2];
    cs_camera(ctx, "race", cam);
    pthread_t th[SAME_FRAME_THREADS];
    same_frame_arg_t args[SAME_FRAME_THREADS];
    memset(args, 0, sizeof(args));
    for (int t = 0; t < SAME_FRAME_THREADS; t++) {
        args[t].ctx = ctx;
        args[t].camera = cam;
        assert_int_equal(pthread_create(&th[t], NULL, same_frame_thread, &args[t]), 0);
    }
    for (int t = 0; t < SAME_FRAME_THREADS; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < SAME_FRAME_THREADS; t++) {
        if (args[t].failures) print_error("thread %d: %s\n", t, args[t].err);
        assert_int_equal(args[t].failures, 0);
        for (int i = 0; i < SAME_FRAME_COUNT; i++) assert_int_equal(args[t].ids[i], args[0].ids[i]);
    }
    vigil_store_counts_t c;
    assert_int_equal(vigil_store_counts(ctx->store, cam, &c), VIGIL_OK);
    assert_int_equal(c.frames, SAME_FRAME_COUNT);
    snprintf(camdir, sizeof(camdir), "%s/frames/%s", ctx->data_dir, cam);
    assert_int_equal(cs_count_files(camdir, NULL), SAME_FRAME_COUNT);
    for (int i = 0; i < SAME_FRAME_COUNT; i++) {
        void *back = NULL;
        size_t len = 0;
        unsigned char want[1500];
        cs_fill_bytes(want, sizeof(want), (uint32_t)i);
        assert_int_equal(vigil_store_frame_read(ctx->store, args[0].ids[i], &back, &len), VIGIL_OK);
        assert_int_equal(len, sizeof(want));
        assert_memory_equal(back, want, sizeof(want));
        free(back);
    }
}
