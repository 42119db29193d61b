/* Store conformance cases: opening and schema versions, cameras, counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_conformance.h"

void test_store_open_creates_schema_at_expected_version(void **state)
{
    cs_ctx_t *ctx = *state;
    assert_true(vigil_store_expected_version() >= 1);
    assert_int_equal(vigil_store_schema_version(ctx->store), vigil_store_expected_version());
    assert_true(cs_exists(ctx->data_dir));
    /* nothing pending: migrate reaches (and stays at) the expected version */
    int from = -1, to = -1;
    char err[256] = "";
    assert_int_equal(vigil_store_migrate(ctx->store, &from, &to, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(to, vigil_store_expected_version());
    assert_true(from >= 0 && from <= to);
    assert_int_equal(vigil_store_migrate(ctx->store, &from, &to, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(from, vigil_store_expected_version());
    assert_int_equal(to, vigil_store_expected_version());
}

void test_store_reopen_without_migrate_on_current_schema_opens(void **state)
{
    cs_ctx_t *ctx = *state;
    char err[512] = "";
    vigil_store_t *again = cs_open(ctx, 0, err, sizeof(err));
    assert_non_null(again);
    assert_int_equal(vigil_store_schema_version(again), vigil_store_expected_version());
    vigil_store_close(again);
}

void test_store_fresh_store_without_migrate_is_refused_with_migrate_hint(void **state)
{
    cs_ctx_t *ctx = *state;
    if (!cs_is_sqlite() && !cs_fresh_url) {
        skip(); /* a server database this backend's main cannot make fresh */
        return;
    }
    cs_ctx_t fresh = *ctx;
    snprintf(fresh.data_dir, sizeof(fresh.data_dir), "%s/fresh", ctx->tmp);
    if (!cs_is_sqlite())
        assert_int_equal(cs_fresh_url(fresh.url, sizeof(fresh.url)), 0);
    else if (strcmp(ctx->url, "sqlite") != 0)
        snprintf(fresh.url, sizeof(fresh.url), "sqlite:%s/fresh.db", ctx->tmp);
    char err[512] = "";
    vigil_store_t *s = cs_open(&fresh, 0, err, sizeof(err));
    assert_null(s);
    assert_non_null(strstr(err, "vigil db migrate"));
    char want[64];
    snprintf(want, sizeof(want), "needs %d", vigil_store_expected_version());
    assert_non_null(strstr(err, want));
    /* the same store opened with migrate = 1 is brought up to date */
    s = cs_open(&fresh, 1, err, sizeof(err));
    assert_non_null(s);
    int from = -1, to = -1;
    assert_int_equal(vigil_store_migrate(s, &from, &to, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(from, 0);
    assert_int_equal(to, vigil_store_expected_version());
    vigil_store_close(s);
    s = cs_open(&fresh, 0, err, sizeof(err));
    assert_non_null(s);
    vigil_store_close(s);
}

void test_store_unknown_url_scheme_is_refused_listing_accepted_schemes(void **state)
{
    cs_ctx_t *ctx = *state;
    cs_ctx_t other = *ctx;
    snprintf(other.url, sizeof(other.url), "mysql://localhost/vigil");
    char err[512] = "";
    assert_null(cs_open(&other, 1, err, sizeof(err)));
    assert_non_null(strstr(err, "mysql://localhost/vigil"));
    assert_non_null(strstr(err, "sqlite"));
    assert_non_null(strstr(err, "postgres://"));
}

static const vigil_camera_row_t *find_camera(const vigil_camera_row_t *rows, size_t n,
                                             const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].id, id) == 0) return &rows[i];
    return NULL;
}

void test_store_camera_upsert_list_and_status(void **state)
{
    cs_ctx_t *ctx = *state;
    char a[64], b[64];
    cs_camera(ctx, "b-lobby", b);
    cs_camera(ctx, "a-door", a);
    vigil_camera_row_t cam;
    memset(&cam, 0, sizeof(cam));
    snprintf(cam.id, sizeof(cam.id), "%s", b);
    snprintf(cam.name, sizeof(cam.name), "Lobby");
    snprintf(cam.url, sizeof(cam.url), "rtsp://10.0.0.2/stream");
    cam.fps = 5;
    cam.enabled = 1;
    snprintf(cam.status, sizeof(cam.status), "starting");
    cam.updated_us = CS_T0;
    assert_int_equal(vigil_store_camera_upsert(ctx->store, &cam), VIGIL_OK);
    snprintf(cam.id, sizeof(cam.id), "%s", a);
    snprintf(cam.name, sizeof(cam.name), "Door");
    cam.enabled = 0;
    assert_int_equal(vigil_store_camera_upsert(ctx->store, &cam), VIGIL_OK);
    /* upserting again updates in place */
    snprintf(cam.name, sizeof(cam.name), "Front door");
    cam.fps = 2.5;
    assert_int_equal(vigil_store_camera_upsert(ctx->store, &cam), VIGIL_OK);

    vigil_camera_row_t *rows = NULL;
    size_t n = 0;
    assert_int_equal(vigil_store_camera_list(ctx->store, &rows, &n), VIGIL_OK);
    const vigil_camera_row_t *ra = find_camera(rows, n, a), *rb = find_camera(rows, n, b);
    assert_non_null(ra);
    assert_non_null(rb);
    assert_true(ra < rb); /* ordered by id: "...-a-door" < "...-b-lobby" */
    assert_string_equal(ra->name, "Front door");
    assert_true(ra->fps == 2.5);
    assert_int_equal(ra->enabled, 0);
    assert_string_equal(rb->name, "Lobby");
    assert_string_equal(rb->url, "rtsp://10.0.0.2/stream");
    assert_true(rb->fps == 5);
    assert_int_equal(rb->enabled, 1);
    assert_string_equal(rb->status, "starting");
    assert_int_equal(rb->updated_us, CS_T0);
    size_t ours = 0;
    for (size_t i = 0; i < n; i++) ours += strcmp(rows[i].id, a) == 0 || strcmp(rows[i].id, b) == 0;
    assert_int_equal(ours, 2);
    for (size_t i = 1; i < n; i++) assert_true(strcmp(rows[i - 1].id, rows[i].id) < 0);
    free(rows);

    assert_int_equal(vigil_store_camera_set_status(ctx->store, b, "retrying", "connection refused"),
                     VIGIL_OK);
    assert_int_equal(vigil_store_camera_list(ctx->store, &rows, &n), VIGIL_OK);
    rb = find_camera(rows, n, b);
    assert_non_null(rb);
    assert_string_equal(rb->status, "retrying");
    assert_string_equal(rb->last_error, "connection refused");
    assert_true(rb->updated_us > CS_T0 - 1);
    assert_string_equal(rb->name, "Lobby"); /* status does not touch the rest */
    free(rows);
    assert_int_equal(vigil_store_camera_set_status(ctx->store, b, "online", NULL), VIGIL_OK);
    assert_int_equal(vigil_store_camera_list(ctx->store, &rows, &n), VIGIL_OK);
    rb = find_camera(rows, n, b);
    assert_string_equal(rb->status, "online");
    assert_string_equal(rb->last_error, "");
    free(rows);

    char nobody[64];
    assert_int_equal(vigil_store_camera_set_status(ctx->store, cs_camera(ctx, "nobody", nobody),
                                                   "online", NULL),
                     VIGIL_ERR_NOT_FOUND);
    snprintf(cam.id, sizeof(cam.id), "../etc");
    assert_int_equal(vigil_store_camera_upsert(ctx->store, &cam), VIGIL_ERR_INVALID);
}

void test_store_counts_per_camera_and_all(void **state)
{
    cs_ctx_t *ctx = *state;
    char a[64], b[64], err[512] = "";
    cs_camera(ctx, "a", a);
    cs_camera(ctx, "b", b);
    vigil_store_counts_t all0, all1, ca, cb;
    assert_int_equal(vigil_store_counts(ctx->store, NULL, &all0), VIGIL_OK);
    assert_int_equal(vigil_store_counts(ctx->store, a, &ca), VIGIL_OK);
    assert_int_equal(ca.cameras + ca.frames + ca.detections + ca.events + ca.frame_bytes, 0);

    vigil_camera_row_t cam;
    memset(&cam, 0, sizeof(cam));
    snprintf(cam.id, sizeof(cam.id), "%s", a);
    assert_int_equal(vigil_store_camera_upsert(ctx->store, &cam), VIGIL_OK);
    unsigned char buf[3000];
    size_t sizes[3] = {1000, 2000, 3000};
    for (int i = 0; i < 3; i++) {
        vigil_frame_row_t f = cs_frame(a, (uint64_t)i + 1, CS_T0 + i * 1000000);
        cs_fill_bytes(buf, sizes[i], (uint32_t)i);
        assert_int_equal(vigil_store_frame_put(ctx->store, &f, buf, sizes[i], err, sizeof(err)),
                         VIGIL_OK);
    }
    vigil_frame_row_t fb = cs_frame(b, 1, CS_T0);
    assert_int_equal(vigil_store_frame_put(ctx->store, &fb, buf, 500, err, sizeof(err)), VIGIL_OK);
    vigil_detection_row_t d[5];
    for (int i = 0; i < 5; i++)
        d[i] = cs_detection(i < 4 ? a : b, 1, "m", i, "person", 0.5f, CS_T0);
    assert_int_equal(vigil_store_detections_put(ctx->store, d, 5, NULL, err, sizeof(err)),
                     VIGIL_OK);
    vigil_event_row_t ev;
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.camera_id, sizeof(ev.camera_id), "%s", b);
    snprintf(ev.type, sizeof(ev.type), "line_cross");
    ev.time_us = CS_T0;
    ev.payload_json = "{\"line\":\"gate\"}";
    assert_int_equal(vigil_store_event_put(ctx->store, &ev), VIGIL_OK);
    ev.payload_json = NULL;
    assert_int_equal(vigil_store_event_put(ctx->store, &ev), VIGIL_OK);

    assert_int_equal(vigil_store_counts(ctx->store, a, &ca), VIGIL_OK);
    assert_int_equal(ca.cameras, 1);
    assert_int_equal(ca.frames, 3);
    assert_int_equal(ca.frame_bytes, 6000);
    assert_int_equal(ca.detections, 4);
    assert_int_equal(ca.events, 0);
    assert_int_equal(vigil_store_counts(ctx->store, b, &cb), VIGIL_OK);
    assert_int_equal(cb.cameras, 0); /* never upserted */
    assert_int_equal(cb.frames, 1);
    assert_int_equal(cb.frame_bytes, 500);
    assert_int_equal(cb.detections, 1);
    assert_int_equal(cb.events, 2);
    assert_int_equal(vigil_store_counts(ctx->store, NULL, &all1), VIGIL_OK);
    assert_int_equal(all1.cameras - all0.cameras, 1);
    assert_int_equal(all1.frames - all0.frames, 4);
    assert_int_equal(all1.frame_bytes - all0.frame_bytes, 6500);
    assert_int_equal(all1.detections - all0.detections, 5);
    assert_int_equal(all1.events - all0.events, 2);
}

/* Counts read through one handle follow what another handle (another
 * process's, in a deployment) commits, also when nothing changed in
 * between (a backend may keep counts while the warehouse is unchanged). */
void test_store_counts_follow_commits_of_another_handle(void **state)
{
    cs_ctx_t *ctx = *state;
    char a[64], err[512] = "";
    vigil_store_t *other = cs_open(ctx, 0, err, sizeof(err));
    vigil_store_counts_t c0, c1, c2;

    if (!other) fail_msg("second handle: %s", err);
    cs_camera(ctx, "a", a);
    assert_int_equal(vigil_store_counts(ctx->store, NULL, &c0), VIGIL_OK);
    assert_int_equal(vigil_store_counts(ctx->store, NULL, &c1), VIGIL_OK); /* unchanged */
    assert_memory_equal(&c0, &c1, sizeof(c0));
    for (int round = 1; round <= 3; round++) {
        vigil_frame_row_t f = cs_frame(a, (uint64_t)round, CS_T0 + round * 1000000);
        unsigned char buf[100];
        cs_fill_bytes(buf, sizeof(buf), (uint32_t)round);
        assert_int_equal(vigil_store_frame_put(other, &f, buf, sizeof(buf), err, sizeof(err)),
                         VIGIL_OK);
        assert_int_equal(vigil_store_counts(ctx->store, NULL, &c2), VIGIL_OK);
        assert_int_equal(c2.frames - c0.frames, round);
        assert_int_equal(c2.frame_bytes - c0.frame_bytes, round * (int64_t)sizeof(buf));
        assert_int_equal(vigil_store_counts(other, NULL, &c1), VIGIL_OK); /* its own write */
        assert_memory_equal(&c1, &c2, sizeof(c1));
    }
    vigil_store_close(other);
}
