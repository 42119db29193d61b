/* PP-OCR pipeline on vigil-nn (see model_ocr.h).
 *
 * Main idea: detection runs once on the whole image at a size that keeps
 * its aspect (fit32); every detected quad is cut out with bilinear sampling
 * along its own axes (an affine map is exact for the rectangles DB
 * produces), turned upright if the classifier is confident it is upside
 * down, and recognised at height 48. Lines run one at a time; their widths
 * differ and the models' width dims are dynamic.
 *
 * Thread: one vigil__ocr_t per thread. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "infer/model_nn.h"
#include "infer/model_ocr.h"
#include "infer/model_prep.h"

struct vigil__ocr {
    vigil__nnm_t *det, *cls, *rec;
    float *buf;
    size_t cap;
};

void vigil__ocr_close(vigil__ocr_t *ocr)
{
    if (!ocr) return;
    vigil__nnm_close(ocr->det);
    vigil__nnm_close(ocr->cls);
    vigil__nnm_close(ocr->rec);
    free(ocr->buf);
    free(ocr);
}

vigil__ocr_t *vigil__ocr_open_models(const char *det, const char *cls, const char *rec, int threads,
                                     char *errstr, size_t errstr_size)
{
    vigil__ocr_t *ocr = calloc(1, sizeof *ocr);
    if (!ocr) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "ocr: out of memory");
        return NULL;
    }
    if (!(ocr->det = vigil__nnm_open(det, threads, errstr, errstr_size)) ||
        (cls && !(ocr->cls = vigil__nnm_open(cls, threads, errstr, errstr_size))) ||
        (rec && !(ocr->rec = vigil__nnm_open(rec, threads, errstr, errstr_size)))) {
        vigil__ocr_close(ocr);
        return NULL;
    }
    /* each model must be the stage it is opened for (a detector given as --rec
     * would otherwise fail later with a shape error) */
    const vigil__nnm_t *want[3] = {ocr->det, ocr->cls, ocr->rec};
    const vigil__post_kind_t kind[3] = {VIGIL_POST_OCR_DET, VIGIL_POST_OCR_CLS, VIGIL_POST_OCR_REC};
    const char *what[3] = {"text detection (ocr_det)", "direction classifier (ocr_cls)", "text recognition (ocr_rec)"};
    for (int i = 0; i < 3; i++) {
        if (want[i] && want[i]->entry.post != kind[i]) {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "model \"%s\" is not a %s model",
                         want[i]->entry.name, what[i]);
            vigil__ocr_close(ocr);
            return NULL;
        }
    }
    return ocr;
}

vigil__ocr_t *vigil__ocr_open(int threads, char *errstr, size_t errstr_size)
{
    return vigil__ocr_open_models("ppocr_det", "ppocr_cls", "ppocr_rec", threads, errstr, errstr_size);
}

static float *reserve(vigil__ocr_t *ocr, size_t n)
{
    if (n > ocr->cap) {
        float *b = realloc(ocr->buf, n * sizeof *b);
        if (!b) return NULL;
        ocr->buf = b;
        ocr->cap = n;
    }
    return ocr->buf;
}

/* Preprocesses img for m (max_w caps a dynamic width) and runs it. */
static vigil_err_t run_image(vigil__ocr_t *ocr, vigil__nnm_t *m, const vigil_image_t *img,
                             int max_w, vigil__geom_t *g, vigil_nn_tensor_t *out, char *errstr,
                             size_t errstr_size)
{
    int w, h;
    vigil__prep_size(&m->entry, img->width, img->height, max_w, &w, &h);
    float *buf = reserve(ocr, (size_t)3 * w * h);
    if (!buf) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "ocr: out of memory");
    vigil__prep_image(&m->entry, img, w, h, buf, g);
    vigil_nn_tensor_t in = {.dtype = VIGIL_NN_FLOAT32, .ndim = 4, .data = buf};
    in.dims[0] = 1;
    in.dims[1] = m->entry.nchw ? 3 : h;
    in.dims[2] = m->entry.nchw ? h : w;
    in.dims[3] = m->entry.nchw ? w : 3;
    vigil_err_t rc = vigil__nnm_run(m, &in, out, errstr, errstr_size);
    if (!rc && out->dtype != VIGIL_NN_FLOAT32)
        rc = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "model \"%s\": output not float",
                          m->entry.name);
    return rc;
}

static float dist(float ax, float ay, float bx, float by)
{
    return sqrtf((ax - bx) * (ax - bx) + (ay - by) * (ay - by));
}

static void bilinear_rgb(const vigil_image_t *img, float fx, float fy, uint8_t *px)
{
    int x0 = (int)floorf(fx), y0 = (int)floorf(fy);
    float ax = fx - (float)x0, ay = fy - (float)y0;
    int wm = img->width - 1, hm = img->height - 1;
    int xa = x0 < 0 ? 0 : x0 > wm ? wm : x0, xb = x0 + 1 < 0 ? 0 : x0 + 1 > wm ? wm : x0 + 1;
    int ya = y0 < 0 ? 0 : y0 > hm ? hm : y0, yb = y0 + 1 < 0 ? 0 : y0 + 1 > hm ? hm : y0 + 1;
    const uint8_t *r0 = img->data + (size_t)ya * img->stride, *r1 = img->data + (size_t)yb * img->stride;
    for (int c = 0; c < 3; c++) {
        float t = r0[xa * 3 + c] + ax * (float)(r0[xb * 3 + c] - r0[xa * 3 + c]);
        float b = r1[xa * 3 + c] + ax * (float)(r1[xb * 3 + c] - r1[xa * 3 + c]);
        float v = t + ay * (b - t);
        px[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
    }
}

vigil_err_t vigil__ocr_crop(const vigil_image_t *img, const vigil__quad_t *q, vigil_image_t *dst)
{
    int cw = (int)fmaxf(dist(q->x[0], q->y[0], q->x[1], q->y[1]),
                        dist(q->x[3], q->y[3], q->x[2], q->y[2]));
    int ch = (int)fmaxf(dist(q->x[0], q->y[0], q->x[3], q->y[3]),
                        dist(q->x[1], q->y[1], q->x[2], q->y[2]));
    if (cw < 1) cw = 1;
    if (ch < 1) ch = 1;
    int rot = (float)ch / (float)cw >= 1.5f;
    vigil_err_t err = vigil_image_alloc(dst, rot ? ch : cw, rot ? cw : ch, VIGIL_PIX_RGB24);
    if (err) return err;
    /* u along top edge (tl->tr), v along left edge (tl->bl) */
    float ux = (q->x[1] - q->x[0]) / (float)cw, uy = (q->y[1] - q->y[0]) / (float)cw;
    float vx = (q->x[3] - q->x[0]) / (float)ch, vy = (q->y[3] - q->y[0]) / (float)ch;
    for (int y = 0; y < ch; y++) {
        for (int x = 0; x < cw; x++) {
            uint8_t px[3];
            bilinear_rgb(img, q->x[0] + (float)x * ux + (float)y * vx,
                         q->y[0] + (float)x * uy + (float)y * vy, px);
            /* np.rot90 (counter-clockwise): (x, y) -> (y, cw - 1 - x) */
            int dx = rot ? y : x, dy = rot ? cw - 1 - x : y;
            memcpy(dst->data + (size_t)dy * dst->stride + (size_t)dx * 3, px, 3);
        }
    }
    return VIGIL_OK;
}

static void rotate180(vigil_image_t *img)
{
    size_t n = (size_t)img->width * img->height;
    for (size_t i = 0; i < n / 2; i++) {
        size_t j = n - 1 - i;
        uint8_t *a = img->data + (i / img->width) * img->stride + (i % img->width) * 3;
        uint8_t *b = img->data + (j / img->width) * img->stride + (j % img->width) * 3;
        uint8_t t[3];
        memcpy(t, a, 3);
        memcpy(a, b, 3);
        memcpy(b, t, 3);
    }
}

vigil_err_t vigil__ocr_detect(vigil__ocr_t *ocr, const vigil_image_t *img, vigil__quad_t **quads, size_t *nquads,
                              char *errstr, size_t errstr_size)
{
    vigil__geom_t g;
    vigil_nn_tensor_t t;
    vigil_err_t rc;
    *quads = NULL;
    *nquads = 0;
    if ((rc = run_image(ocr, ocr->det, img, 0, &g, &t, errstr, errstr_size))) return rc;
    if (t.ndim != 4 || t.dims[0] != 1 || t.dims[1] != 1)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "model \"%s\": output is not [1, 1, H, W]",
                            ocr->det->entry.name);
    const vigil__model_entry_t *de = &ocr->det->entry;
    vigil__db_params_t dbp;
    vigil__db_params_init(&dbp);
    dbp.threshold = de->db_threshold;
    dbp.box_threshold = de->db_box_threshold;
    dbp.unclip_ratio = de->db_unclip_ratio;
    if ((rc = vigil__post_db(t.data, (int)t.dims[3], (int)t.dims[2], &g, &dbp, quads, nquads)))
        return vigil_seterr(errstr, errstr_size, rc, "ocr: text detection post-processing failed");
    return VIGIL_OK;
}

vigil_err_t vigil__ocr_line_image(vigil__ocr_t *ocr, const vigil_image_t *img, const vigil__quad_t *q,
                                  vigil_image_t *crop, char *errstr, size_t errstr_size)
{
    vigil__geom_t g;
    vigil_nn_tensor_t t;
    vigil_err_t rc;
    if ((rc = vigil__ocr_crop(img, q, crop))) return vigil_seterr(errstr, errstr_size, rc, "ocr: out of memory");
    if (!ocr->cls) return VIGIL_OK;
    if ((rc = run_image(ocr, ocr->cls, crop, ocr->cls->entry.width, &g, &t, errstr, errstr_size))) {
        vigil_image_release(crop);
        return rc;
    }
    if (vigil__nnm_tensor_bytes(&t) >= 2 * sizeof(float) &&
        vigil__cls_is_rotated((const float *)t.data, ocr->cls->entry.score_threshold))
        rotate180(crop);
    return VIGIL_OK;
}

vigil_err_t vigil__ocr_run(vigil__ocr_t *ocr, const vigil_image_t *img, vigil__ocr_line_t **lines,
                           size_t *nlines, char *errstr, size_t errstr_size)
{
    vigil__quad_t *quads = NULL;
    size_t nq = 0, n = 0;
    vigil__ocr_line_t *out = NULL;
    vigil_image_t crop = {0};
    vigil__geom_t g;
    vigil_nn_tensor_t t;
    vigil_err_t rc;
    *lines = NULL;
    *nlines = 0;
    if (!ocr->rec) return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "ocr: no recognition model opened");
    if ((rc = vigil__ocr_detect(ocr, img, &quads, &nq, errstr, errstr_size))) goto done;
    out = calloc(nq ? nq : 1, sizeof *out);
    if (!out) {
        rc = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "ocr: out of memory");
        goto done;
    }
    const vigil__model_entry_t *re = &ocr->rec->entry;
    for (size_t i = 0; i < nq; i++) {
        if ((rc = vigil__ocr_line_image(ocr, img, &quads[i], &crop, errstr, errstr_size))) goto done;
        if ((rc = run_image(ocr, ocr->rec, &crop, VIGIL__OCR_REC_MAX_WIDTH, &g, &t, errstr, errstr_size)))
            goto done;
        if (t.ndim != 3 || t.dims[0] != 1) {
            rc = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "model \"%s\": output is not [1, T, classes]",
                              re->name);
            goto done;
        }
        vigil__ocr_line_t *l = &out[n];
        l->quad = quads[i];
        if (vigil__ctc_decode(t.data, (size_t)t.dims[1], (size_t)t.dims[2],
                              (const char *const *)re->labels, re->nlabels, l->text,
                              sizeof l->text, &l->score))
            l->text[0] = '\0'; /* longer than a line can hold: drop it */
        if (l->text[0] && l->score >= re->score_threshold) n++;
        vigil_image_release(&crop);
    }
    *lines = out;
    *nlines = n;
    out = NULL;
    rc = VIGIL_OK;
done:
    vigil_image_release(&crop);
    free(quads);
    free(out);
    return rc;
}
