/* Detection post-processing: box geometry, class-wise NMS, CenterNet and
 * YOLOv8/11 decoding (see postprocess.h; the text models are in
 * postprocess_ocr.c).
 *
 * Main idea: decoders push candidate boxes in input pixels that pass the
 * score threshold, NMS runs per class on the candidates of one frame, and
 * only the survivors are mapped back to frame pixels, so NMS sees the same
 * geometry the model produced.
 *
 * Thread: reentrant, no global state. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/postprocess.h"

void vigil__geom_stretch(vigil__geom_t *g, int src_w, int src_h, int dst_w, int dst_h)
{
    *g = (vigil__geom_t){.src_w = src_w, .src_h = src_h, .dst_w = dst_w, .dst_h = dst_h};
    g->sx = src_w > 0 ? (float)dst_w / (float)src_w : 1.0f;
    g->sy = src_h > 0 ? (float)dst_h / (float)src_h : 1.0f;
}

void vigil__geom_letterbox(vigil__geom_t *g, int src_w, int src_h, int dst_w, int dst_h)
{
    *g = (vigil__geom_t){.src_w = src_w, .src_h = src_h, .dst_w = dst_w, .dst_h = dst_h};
    float s = 1.0f;
    if (src_w > 0 && src_h > 0) s = fminf((float)dst_w / (float)src_w, (float)dst_h / (float)src_h);
    g->sx = g->sy = s;
    /* the resized image is rounded to whole pixels; the padding splits the rest */
    int rw = (int)lroundf((float)src_w * s), rh = (int)lroundf((float)src_h * s);
    g->pad_x = (float)((dst_w - rw) / 2);
    g->pad_y = (float)((dst_h - rh) / 2);
}

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void vigil__geom_unmap(const vigil__geom_t *g, float *x1, float *y1, float *x2, float *y2)
{
    *x1 = clampf((*x1 - g->pad_x) / g->sx, 0.0f, (float)g->src_w);
    *x2 = clampf((*x2 - g->pad_x) / g->sx, 0.0f, (float)g->src_w);
    *y1 = clampf((*y1 - g->pad_y) / g->sy, 0.0f, (float)g->src_h);
    *y2 = clampf((*y2 - g->pad_y) / g->sy, 0.0f, (float)g->src_h);
}

float vigil__iou(const vigil_box_detection_t *a, const vigil_box_detection_t *b)
{
    float aw = a->x2 - a->x1, ah = a->y2 - a->y1, bw = b->x2 - b->x1, bh = b->y2 - b->y1;
    if (aw <= 0 || ah <= 0 || bw <= 0 || bh <= 0) return 0.0f;
    float iw = fminf(a->x2, b->x2) - fmaxf(a->x1, b->x1);
    float ih = fminf(a->y2, b->y2) - fmaxf(a->y1, b->y1);
    if (iw <= 0 || ih <= 0) return 0.0f;
    float inter = iw * ih;
    return inter / (aw * ah + bw * bh - inter);
}

static int by_score_desc(const void *pa, const void *pb)
{
    const vigil_box_detection_t *a = pa, *b = pb;
    if (a->score > b->score) return -1;
    if (a->score < b->score) return 1;
    /* ties: a stable, input-independent order */
    if (a->class_id != b->class_id) return a->class_id < b->class_id ? -1 : 1;
    if (a->x1 != b->x1) return a->x1 < b->x1 ? -1 : 1;
    return a->y1 < b->y1 ? -1 : a->y1 > b->y1;
}

void vigil__nms(vigil_detection_list_t *list, float iou_threshold)
{
    if (list->n == 0) return;
    qsort(list->items, list->n, sizeof *list->items, by_score_desc);
    if (iou_threshold >= 1.0f) return;
    size_t kept = 0;
    for (size_t i = 0; i < list->n; i++) {
        const vigil_box_detection_t *d = &list->items[i];
        int suppressed = 0;
        for (size_t k = 0; k < kept && !suppressed; k++)
            if (list->items[k].class_id == d->class_id &&
                vigil__iou(&list->items[k], d) > iou_threshold)
                suppressed = 1;
        if (!suppressed) list->items[kept++] = *d;
    }
    list->n = kept;
}

static void set_label(vigil_box_detection_t *d, const vigil__det_params_t *p)
{
    if (d->class_id >= 0 && (size_t)d->class_id < p->nlabels && p->labels[d->class_id])
        snprintf(d->label, sizeof d->label, "%s", p->labels[d->class_id]);
    else
        snprintf(d->label, sizeof d->label, "class %d", d->class_id);
}

/* NMS over the candidates, then maps the survivors to frame pixels and
 * appends them to out (at most p->max_detections). */
static vigil_err_t finish(vigil_detection_list_t *cand, const vigil__geom_t *g,
                          const vigil__det_params_t *p, vigil_detection_list_t *out)
{
    vigil__nms(cand, p->iou_threshold);
    size_t n = cand->n;
    if (p->max_detections > 0 && n > (size_t)p->max_detections) n = (size_t)p->max_detections;
    for (size_t i = 0; i < n; i++) {
        vigil_box_detection_t d = cand->items[i];
        vigil__geom_unmap(g, &d.x1, &d.y1, &d.x2, &d.y2);
        if (d.x2 <= d.x1 || d.y2 <= d.y1) continue; /* entirely in the padding */
        set_label(&d, p);
        if (vigil_detection_list_push(out, &d)) return VIGIL_ERR_NOMEM;
    }
    return VIGIL_OK;
}

vigil_err_t vigil__post_centernet(const float *det, size_t ndet, const vigil__geom_t *g,
                                  const vigil__det_params_t *p, vigil_detection_list_t *out)
{
    vigil_detection_list_t cand = {0};
    vigil_err_t err = VIGIL_OK;
    for (size_t i = 0; i < ndet; i++) {
        const float *r = det + i * 6;
        float score = r[4], cls = r[5];
        /* NaN compares false: a NaN score or class is dropped here */
        if (!(score >= p->score_threshold) || !(cls >= 0.0f) || !(cls < 1e6f)) continue;
        if (!isfinite(r[0]) || !isfinite(r[1]) || !isfinite(r[2]) || !isfinite(r[3])) continue;
        vigil_box_detection_t d = {
            .x1 = fminf(r[0], r[2]),
            .y1 = fminf(r[1], r[3]),
            .x2 = fmaxf(r[0], r[2]),
            .y2 = fmaxf(r[1], r[3]),
            .score = score > 1.0f ? 1.0f : score,
            .class_id = (int)lroundf(cls),
        };
        if ((err = vigil_detection_list_push(&cand, &d))) goto done;
    }
    err = finish(&cand, g, p, out);
done:
    vigil_detection_list_release(&cand);
    return err;
}

vigil_err_t vigil__post_yolo(const float *out, size_t nc, size_t n, const vigil__geom_t *g,
                             const vigil__det_params_t *p, vigil_detection_list_t *out_list)
{
    vigil_detection_list_t cand = {0};
    vigil_err_t err = VIGIL_OK;
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        float best_score = -INFINITY;
        for (size_t c = 0; c < nc; c++) {
            float s = out[(4 + c) * n + i];
            if (s > best_score) {
                best_score = s;
                best = c;
            }
        }
        if (!(best_score >= p->score_threshold)) continue;
        float cx = out[i], cy = out[n + i], w = out[2 * n + i], h = out[3 * n + i];
        if (!isfinite(cx) || !isfinite(cy) || !(w > 0) || !(h > 0)) continue;
        vigil_box_detection_t d = {
            .x1 = cx - w / 2,
            .y1 = cy - h / 2,
            .x2 = cx + w / 2,
            .y2 = cy + h / 2,
            .score = best_score > 1.0f ? 1.0f : best_score,
            .class_id = (int)best,
        };
        if ((err = vigil_detection_list_push(&cand, &d))) goto done;
    }
    err = finish(&cand, g, p, out_list);
done:
    vigil_detection_list_release(&cand);
    return err;
}
