/* GET /api/v1/stats: what each pipeline stage has done, and what the
 * warehouse holds.
 *
 *   {"stages":  {"ingest":{"in":N,"out":N,"dropped":N,"failed":N}, ...},
 *    "cameras": {"lobby":{"ingest":{"in":N,...}, ...}, ...},
 *    "store":   {"cameras":N,"frames":N,"detections":N,"events":N,"frame_bytes":N}}
 *
 * Main idea: one pass over the metrics registry (vigil_metrics_foreach_counter)
 * picks the vigil_stage_{in,out,dropped,failed}_total series and adds each into
 * its stage's totals (summing over cameras, as vigil_metrics_sum would) and, when
 * the series has a camera label, into that camera's breakdown. Every stage
 * label present in the registry appears, with zeros for the figures it lacks. */
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "vigil/metrics.h"

static const struct {
    const char *family;
    const char *key;
} figures[] = {
    {"vigil_stage_in_total", "in"},
    {"vigil_stage_out_total", "out"},
    {"vigil_stage_dropped_total", "dropped"},
    {"vigil_stage_failed_total", "failed"},
};
#define NFIGURES (sizeof(figures) / sizeof(figures[0]))

typedef struct stats_ctx {
    json_t *stages;  /* stage -> {in,out,dropped,failed} */
    json_t *cameras; /* camera -> stage -> {...} */
    int oom;
} stats_ctx_t;

static const char *label_value(const char *name, const char *l1, const char *v1, const char *l2,
                               const char *v2)
{
    if (l1 && strcmp(l1, name) == 0) return v1;
    if (l2 && strcmp(l2, name) == 0) return v2;
    return NULL;
}

/* Whether s can be a JSON object key (jansson refuses invalid UTF-8). */
static int utf8_ok(const char *s)
{
    json_t *t = json_string(s);

    json_decref(t);
    return t != NULL;
}

/* parent[key] as a {in,out,dropped,failed} object, created with zeros. */
static json_t *figures_of(json_t *parent, const char *key)
{
    json_t *obj = json_object_get(parent, key);

    if (obj) return obj;
    obj = json_object();
    for (size_t i = 0; obj && i < NFIGURES; i++)
        json_object_set_new(obj, figures[i].key, json_integer(0));
    if (!obj || json_object_set_new(parent, key, obj) != 0) return NULL;
    return obj;
}

static void add_figure(json_t *obj, const char *key, uint64_t value)
{
    json_t *v = json_object_get(obj, key);
    json_integer_set(v, json_integer_value(v) + (json_int_t)value);
}

/* Runs under the registry lock: must not touch the registry. */
static void visit(void *opaque, const char *family, const char *l1, const char *v1,
                  const char *l2, const char *v2, uint64_t value)
{
    stats_ctx_t *ctx = opaque;
    const char *stage, *camera, *key = NULL;
    json_t *obj, *cam;

    for (size_t i = 0; i < NFIGURES; i++)
        if (strcmp(family, figures[i].family) == 0) key = figures[i].key;
    if (!key) return;
    stage = label_value("stage", l1, v1, l2, v2);
    if (!stage || !*stage || !utf8_ok(stage)) return;
    camera = label_value("camera", l1, v1, l2, v2);
    if (camera && !utf8_ok(camera)) camera = NULL;
    obj = figures_of(ctx->stages, stage);
    if (!obj) goto oom;
    add_figure(obj, key, value);
    if (!camera || !*camera) return;
    cam = json_object_get(ctx->cameras, camera);
    if (!cam) {
        cam = json_object();
        if (!cam || json_object_set_new(ctx->cameras, camera, cam) != 0) goto oom;
    }
    obj = figures_of(cam, stage);
    if (!obj) goto oom;
    add_figure(obj, key, value);
    return;
oom:
    ctx->oom = 1;
}

void vigil__api_stats(vigil_api_t *api, vigil__req_t *req, vigil__reply_t *reply)
{
    stats_ctx_t ctx = {.stages = json_object(), .cameras = json_object()};
    char errstr[256] = "";
    vigil_store_counts_t counts = {0};
    vigil_store_t *store = NULL;
    vigil_err_t err;

    if (!ctx.stages || !ctx.cameras) goto oom;
    vigil_metrics_foreach_counter(visit, &ctx);
    if (ctx.oom) goto oom;

    store = vigil__api_store_acquire(api, errstr, sizeof(errstr));
    if (!store) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "store unavailable: %s",
                           errstr);
        goto done;
    }
    err = vigil_store_counts(store, NULL, &counts);
    vigil__api_store_release(api, store);
    if (err) {
        vigil__reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                           "store: cannot count rows: %s", vigil_err_str(err));
        goto done;
    }
    vigil__reply_json(reply, MHD_HTTP_OK,
                      json_pack("{s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I}}", "stages", ctx.stages,
                                "cameras", ctx.cameras, "store", "cameras",
                                (json_int_t)counts.cameras, "frames", (json_int_t)counts.frames,
                                "detections", (json_int_t)counts.detections, "events",
                                (json_int_t)counts.events, "frame_bytes",
                                (json_int_t)counts.frame_bytes));
    return; /* json_pack took both objects */
oom:
    vigil__reply_json(reply, 500, NULL);
done:
    json_decref(ctx.stages);
    json_decref(ctx.cameras);
}
