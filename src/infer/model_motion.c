/* The "motion" model: moving regions from a running background model.
 *
 * Per camera it keeps a background of the frame's luma, downscaled by an
 * integer factor so that it is about MOTION_WIDTH pixels wide (1/4 of a
 * 768-wide frame). For each frame:
 *   1. foreground mask = |gray - background| > DIFF_THRESHOLD,
 *   2. a 3x3 morphological close (dilate, then erode) joins fragments,
 *   3. the background moves towards the frame: by ALPHA_BG where the pixel is
 *      background, by the much smaller ALPHA_FG where it is foreground, so a
 *      moving object does not smear a trail into the background while an
 *      object that stops is still absorbed after a while,
 *   4. 8-connected components (two-pass labelling with union-find) of at
 *      least MIN_AREA_FRAC of the image become boxes, scaled back to frame
 *      pixels, label "motion", class 0, score = min(1, 1.5 * fill ratio).
 * The first frame of a camera (or a frame whose size changed) initialises
 * its background and yields no detections.
 *
 * Thread: one model per infer worker (model.h); no locks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/model.h"

#define MOTION_WIDTH 160
#define DIFF_THRESHOLD 25.0f
#define ALPHA_BG 0.05f
#define ALPHA_FG 0.01f
#define MIN_AREA_FRAC 0.001
#define MIN_AREA_PIXELS 4
#define MOTION_MAX_BATCH 16

typedef struct motion_camera {
    char id[64];
    int frame_w, frame_h; /* the frame size the background was built for */
    int factor;           /* downscale factor */
    int w, h;             /* background size */
    float *bg;
    struct motion_camera *next;
} motion_camera_t;

typedef struct motion_model {
    vigil_model_t base;
    float min_score;
    motion_camera_t *cameras;
    /* scratch, reused across frames; sized for the largest background seen */
    size_t cap;
    uint8_t *gray, *mask, *tmp;
    int *labels;
    int *parent;
} motion_model_t;

typedef struct component {
    int minx, miny, maxx, maxy;
    long area;
} component_t;

static vigil_model_t *motion_open(const vigil_model_conf_t *conf, char *errstr,
                                  size_t errstr_size)
{
    motion_model_t *m = calloc(1, sizeof *m);
    if (!m) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "model \"motion\": out of memory");
        return NULL;
    }
    m->base.max_batch = MOTION_MAX_BATCH;
    m->min_score = conf->min_score;
    return &m->base;
}

static void camera_free(motion_camera_t *cam)
{
    free(cam->bg);
    free(cam);
}

static void motion_close(vigil_model_t *model)
{
    motion_model_t *m = (motion_model_t *)model;
    while (m->cameras) {
        motion_camera_t *next = m->cameras->next;
        camera_free(m->cameras);
        m->cameras = next;
    }
    free(m->gray);
    free(m->mask);
    free(m->tmp);
    free(m->labels);
    free(m->parent);
    free(m);
}

static void motion_forget_camera(vigil_model_t *model, const char *camera_id)
{
    motion_model_t *m = (motion_model_t *)model;
    for (motion_camera_t **p = &m->cameras; *p; p = &(*p)->next) {
        if (strcmp((*p)->id, camera_id) == 0) {
            motion_camera_t *cam = *p;
            *p = cam->next;
            camera_free(cam);
            return;
        }
    }
}

static vigil_err_t reserve(motion_model_t *m, size_t n)
{
    if (n <= m->cap) return VIGIL_OK;
    uint8_t *gray = realloc(m->gray, n);
    if (gray) m->gray = gray;
    uint8_t *mask = realloc(m->mask, n);
    if (mask) m->mask = mask;
    uint8_t *tmp = realloc(m->tmp, n);
    if (tmp) m->tmp = tmp;
    int *labels = realloc(m->labels, n * sizeof *labels);
    if (labels) m->labels = labels;
    int *parent = realloc(m->parent, (n + 1) * sizeof *parent);
    if (parent) m->parent = parent;
    if (!gray || !mask || !tmp || !labels || !parent) return VIGIL_ERR_NOMEM;
    m->cap = n;
    return VIGIL_OK;
}

/* Luma of the RGB frame, area-averaged over factor x factor blocks. */
static void downscale_gray(const vigil_image_t *img, int factor, int w, int h, uint8_t *out)
{
    unsigned div = (unsigned)(factor * factor);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            unsigned sum = 0;
            for (int dy = 0; dy < factor; dy++) {
                const uint8_t *p = img->data + (size_t)(y * factor + dy) * (size_t)img->stride +
                                   (size_t)x * factor * 3;
                for (int dx = 0; dx < factor; dx++, p += 3)
                    sum += (77u * p[0] + 150u * p[1] + 29u * p[2]) >> 8;
            }
            out[(size_t)y * w + x] = (uint8_t)(sum / div);
        }
    }
}

/* 3x3 dilate (op 0) or erode (op 1) of src into dst. Pixels outside the image
 * are ignored, so the close does not eat objects at the border. */
static void morph(const uint8_t *src, uint8_t *dst, int w, int h, int erode)
{
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            int v = erode ? 1 : 0;
            for (int dy = -1; dy <= 1; dy++) {
                int yy = y + dy;
                if (yy < 0 || yy >= h) continue;
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx;
                    if (xx < 0 || xx >= w) continue;
                    uint8_t s = src[(size_t)yy * w + xx];
                    if (erode && !s) v = 0;
                    if (!erode && s) v = 1;
                }
            }
            dst[(size_t)y * w + x] = (uint8_t)v;
        }
    }
}

static int uf_find(int *parent, int x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

static void uf_union(int *parent, int a, int b)
{
    a = uf_find(parent, a);
    b = uf_find(parent, b);
    if (a < b) parent[b] = a;
    else if (b < a) parent[a] = b;
}

/* Labels the 8-connected components of m->mask into m->labels (every pixel
 * gets its component's root label, 0 for background); returns the number of
 * provisional labels used. parent has room for one label per pixel. */
static int label_components(motion_model_t *m, int w, int h)
{
    const uint8_t *mask = m->mask;
    int *labels = m->labels;
    int *parent = m->parent;
    int next = 1;
    parent[0] = 0;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            labels[i] = 0;
            if (!mask[i]) continue;
            int nb[4], nn = 0;
            if (x > 0 && labels[i - 1]) nb[nn++] = labels[i - 1];
            if (y > 0) {
                size_t up = i - (size_t)w;
                if (x > 0 && labels[up - 1]) nb[nn++] = labels[up - 1];
                if (labels[up]) nb[nn++] = labels[up];
                if (x + 1 < w && labels[up + 1]) nb[nn++] = labels[up + 1];
            }
            if (nn == 0) {
                parent[next] = next;
                labels[i] = next++;
                continue;
            }
            int l = nb[0];
            for (int k = 1; k < nn; k++) {
                if (nb[k] < l) l = nb[k];
            }
            labels[i] = l;
            for (int k = 0; k < nn; k++) uf_union(parent, l, nb[k]);
        }
    }
    for (size_t i = 0; i < (size_t)w * h; i++)
        if (labels[i]) labels[i] = uf_find(parent, labels[i]);
    return next - 1;
}

static motion_camera_t *camera_get(motion_model_t *m, const char *id)
{
    for (motion_camera_t *cam = m->cameras; cam; cam = cam->next)
        if (strcmp(cam->id, id) == 0) return cam;
    motion_camera_t *cam = calloc(1, sizeof *cam);
    if (!cam) return NULL;
    snprintf(cam->id, sizeof cam->id, "%s", id);
    cam->next = m->cameras;
    m->cameras = cam;
    return cam;
}

/* (Re)initialises cam's background from gray (the frame's size is new). */
static vigil_err_t camera_reset(motion_camera_t *cam, const vigil_image_t *img, int factor, int w,
                                int h, const uint8_t *gray)
{
    float *bg = realloc(cam->bg, (size_t)w * h * sizeof *bg);
    if (!bg) return VIGIL_ERR_NOMEM;
    cam->bg = bg;
    for (size_t i = 0; i < (size_t)w * h; i++) bg[i] = gray[i];
    cam->frame_w = img->width;
    cam->frame_h = img->height;
    cam->factor = factor;
    cam->w = w;
    cam->h = h;
    return VIGIL_OK;
}

static vigil_err_t motion_frame(motion_model_t *m, const vigil_model_input_t *in,
                                vigil_detection_list_t *out, char *errstr, size_t errstr_size)
{
    const vigil_image_t *img = in->image;
    int factor = img->width / MOTION_WIDTH;
    if (factor < 1) factor = 1;
    int w = img->width / factor, h = img->height / factor;
    if (h < 1) h = 1;
    size_t n = (size_t)w * h;
    component_t *comps = NULL;
    vigil_err_t err = reserve(m, n);
    if (err) goto oom;
    motion_camera_t *cam = camera_get(m, in->camera_id);
    if (!cam) goto oom;
    downscale_gray(img, factor, w, h, m->gray);

    if (!cam->bg || cam->frame_w != img->width || cam->frame_h != img->height) {
        if (camera_reset(cam, img, factor, w, h, m->gray)) goto oom;
        return VIGIL_OK;
    }

    for (size_t i = 0; i < n; i++) m->mask[i] = fabsf((float)m->gray[i] - cam->bg[i]) > DIFF_THRESHOLD;
    morph(m->mask, m->tmp, w, h, 0);
    morph(m->tmp, m->mask, w, h, 1);
    for (size_t i = 0; i < n; i++) {
        float a = m->mask[i] ? ALPHA_FG : ALPHA_BG;
        cam->bg[i] += a * ((float)m->gray[i] - cam->bg[i]);
    }

    int nlabels = label_components(m, w, h);
    if (nlabels == 0) return VIGIL_OK;
    comps = calloc((size_t)nlabels + 1, sizeof *comps);
    if (!comps) goto oom;
    for (int l = 1; l <= nlabels; l++) {
        comps[l].minx = w;
        comps[l].miny = h;
        comps[l].maxx = comps[l].maxy = -1;
    }
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            int l = m->labels[(size_t)y * w + x];
            if (!l) continue;
            component_t *c = &comps[l];
            if (x < c->minx) c->minx = x;
            if (x > c->maxx) c->maxx = x;
            if (y < c->miny) c->miny = y;
            if (y > c->maxy) c->maxy = y;
            c->area++;
        }
    }
    long min_area = (long)ceil(MIN_AREA_FRAC * (double)n);
    if (min_area < MIN_AREA_PIXELS) min_area = MIN_AREA_PIXELS;
    for (int l = 1; l <= nlabels; l++) {
        const component_t *c = &comps[l];
        if (c->area < min_area) continue;
        long bw = c->maxx - c->minx + 1, bh = c->maxy - c->miny + 1;
        float fill = (float)c->area / (float)(bw * bh);
        vigil_box_detection_t d = {
            .x1 = (float)(c->minx * factor),
            .y1 = (float)(c->miny * factor),
            .x2 = fminf((float)((c->maxx + 1) * factor), (float)img->width),
            .y2 = fminf((float)((c->maxy + 1) * factor), (float)img->height),
            .score = fminf(1.0f, 1.5f * fill),
            .class_id = 0,
            .label = "motion",
        };
        if (d.score < m->min_score) continue;
        if (vigil_detection_list_push(out, &d)) goto oom;
    }
    free(comps);
    return VIGIL_OK;
oom:
    free(comps);
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                        "model \"motion\": camera \"%s\": out of memory", in->camera_id);
}

static vigil_err_t motion_infer(vigil_model_t *model, const vigil_model_input_t *inputs, size_t n,
                                vigil_detection_list_t *outs, char *errstr, size_t errstr_size)
{
    motion_model_t *m = (motion_model_t *)model;
    for (size_t i = 0; i < n; i++) {
        vigil_err_t err = motion_frame(m, &inputs[i], &outs[i], errstr, errstr_size);
        if (err) return err;
    }
    return VIGIL_OK;
}

const vigil_model_ops_t vigil_model_motion_ops = {
    .name = "motion",
    .description = "moving regions from a running background model (no neural network)",
    .open = motion_open,
    .infer = motion_infer,
    .forget_camera = motion_forget_camera,
    .close = motion_close,
};
