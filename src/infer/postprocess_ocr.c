/* Text post-processing (PP-OCR): DB detection boxes, CTC decoding, the
 * direction classifier's decision. Declared in postprocess.h.
 *
 * DB main idea, as PP-OCR's DBPostProcess but without OpenCV: binarise the
 * probability map, take 8-connected components (where PP-OCR takes outer
 * contours: the same pixel sets for the blob-shaped regions DB produces),
 * the convex hull of each component's pixel centres (from each row's
 * leftmost and rightmost pixel), the minimum-area rectangle of the hull by
 * rotating calipers, the mean probability inside that rectangle as score,
 * then the rectangle "unclipped" by d = area * ratio / perimeter on every
 * side (the offset polygon of a rectangle, whose minimum-area rectangle is
 * the rectangle grown by 2d), and finally mapped to frame pixels.
 *
 * Thread: reentrant, no global state. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "infer/postprocess.h"

void vigil__db_params_init(vigil__db_params_t *p)
{
    *p = (vigil__db_params_t){
        .threshold = 0.3f, .box_threshold = 0.6f, .unclip_ratio = 1.5f, .min_size = 3,
        .max_boxes = 1000};
}

typedef struct pt {
    float x, y;
} pt_t;

typedef struct comp {
    int *row_min, *row_max; /* per row of the map, -1 when the row is empty */
    int y0, y1;
    int found;
} comp_t;

static int uf_find(int *parent, int x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

static float clampf_i(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static float cross(pt_t o, pt_t a, pt_t b)
{
    return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

static int pt_cmp(const void *pa, const void *pb)
{
    const pt_t *a = pa, *b = pb;
    if (a->x != b->x) return a->x < b->x ? -1 : 1;
    return a->y < b->y ? -1 : a->y > b->y;
}

/* Andrew's monotone chain; hull must hold 2n points. Returns its size. */
static size_t convex_hull(pt_t *p, size_t n, pt_t *hull)
{
    qsort(p, n, sizeof *p, pt_cmp);
    if (n < 3) {
        memcpy(hull, p, n * sizeof *p);
        return n;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        while (k >= 2 && cross(hull[k - 2], hull[k - 1], p[i]) <= 0) k--;
        hull[k++] = p[i];
    }
    for (size_t i = n - 1, t = k + 1; i-- > 0;) {
        while (k >= t && cross(hull[k - 2], hull[k - 1], p[i]) <= 0) k--;
        hull[k++] = p[i];
    }
    return k - 1;
}

/* Minimum-area rectangle of a convex polygon: centre, unit axis (ux, uy),
 * extents w (along u) and h. A degenerate hull gives an axis-aligned box. */
static void min_area_rect(const pt_t *h, size_t n, pt_t *c, float *ux, float *uy, float *w,
                          float *hh)
{
    float best = INFINITY;
    *ux = 1;
    *uy = 0;
    *w = *hh = 0;
    *c = n ? h[0] : (pt_t){0, 0};
    for (size_t i = 0; i < n || (n > 0 && i == 0); i++) {
        float ex = 1, ey = 0;
        if (n > 1) {
            pt_t a = h[i], b = h[(i + 1) % n];
            ex = b.x - a.x;
            ey = b.y - a.y;
            float len = sqrtf(ex * ex + ey * ey);
            if (len == 0) continue;
            ex /= len;
            ey /= len;
        }
        float umin = INFINITY, umax = -INFINITY, vmin = INFINITY, vmax = -INFINITY;
        for (size_t k = 0; k < n; k++) {
            float u = h[k].x * ex + h[k].y * ey, v = -h[k].x * ey + h[k].y * ex;
            umin = fminf(umin, u);
            umax = fmaxf(umax, u);
            vmin = fminf(vmin, v);
            vmax = fmaxf(vmax, v);
        }
        float area = (umax - umin) * (vmax - vmin);
        if (area < best) {
            best = area;
            *ux = ex;
            *uy = ey;
            *w = umax - umin;
            *hh = vmax - vmin;
            float cu = (umin + umax) / 2, cv = (vmin + vmax) / 2;
            c->x = cu * ex - cv * ey;
            c->y = cu * ey + cv * ex;
        }
        if (n <= 1) break;
    }
}

/* The rectangle's corners ordered as PP-OCR's get_mini_boxes does: the two
 * leftmost points give top-left (smaller y) and bottom-left, the other two
 * top-right and bottom-right. */
static void rect_corners(pt_t c, float ux, float uy, float w, float h, vigil__quad_t *q)
{
    pt_t p[4];
    float hw = w / 2, hh = h / 2;
    const float su[4] = {-1, 1, 1, -1}, sv[4] = {-1, -1, 1, 1};
    for (int i = 0; i < 4; i++) {
        p[i].x = c.x + su[i] * hw * ux - sv[i] * hh * uy;
        p[i].y = c.y + su[i] * hw * uy + sv[i] * hh * ux;
    }
    qsort(p, 4, sizeof *p, pt_cmp);
    pt_t tl = p[0].y <= p[1].y ? p[0] : p[1], bl = p[0].y <= p[1].y ? p[1] : p[0];
    pt_t tr = p[2].y <= p[3].y ? p[2] : p[3], br = p[2].y <= p[3].y ? p[3] : p[2];
    const pt_t o[4] = {tl, tr, br, bl};
    for (int i = 0; i < 4; i++) {
        q->x[i] = o[i].x;
        q->y[i] = o[i].y;
    }
}

/* Mean of prob inside the quad (pixel centres inside the polygon), over
 * its bounding box as PP-OCR's box_score_fast. */
static float quad_score(const float *prob, int w, int h, const vigil__quad_t *q)
{
    float xmin = q->x[0], xmax = q->x[0], ymin = q->y[0], ymax = q->y[0];
    for (int i = 1; i < 4; i++) {
        xmin = fminf(xmin, q->x[i]);
        xmax = fmaxf(xmax, q->x[i]);
        ymin = fminf(ymin, q->y[i]);
        ymax = fmaxf(ymax, q->y[i]);
    }
    int x0 = (int)clampf_i(floorf(xmin), 0, w - 1), x1 = (int)clampf_i(ceilf(xmax), 0, w - 1);
    int y0 = (int)clampf_i(floorf(ymin), 0, h - 1), y1 = (int)clampf_i(ceilf(ymax), 0, h - 1);
    double sum = 0;
    long cnt = 0;
    for (int y = y0; y <= y1; y++) {
        for (int x = x0; x <= x1; x++) {
            pt_t p = {(float)x, (float)y};
            int inside = 1;
            for (int i = 0; i < 4 && inside; i++) {
                pt_t a = {q->x[i], q->y[i]}, b = {q->x[(i + 1) % 4], q->y[(i + 1) % 4]};
                if (cross(a, b, p) < -0.5f * sqrtf((b.x - a.x) * (b.x - a.x) +
                                                   (b.y - a.y) * (b.y - a.y)))
                    inside = 0; /* more than half a pixel outside this edge */
            }
            if (inside) {
                sum += prob[(size_t)y * w + x];
                cnt++;
            }
        }
    }
    return cnt ? (float)(sum / cnt) : 0.0f;
}

/* Reading order: top to bottom, and left to right within 10 pixels of the
 * same line (PP-OCR's sorted_boxes). */
static int quad_cmp(const void *pa, const void *pb)
{
    const vigil__quad_t *a = pa, *b = pb;
    if (fabsf(a->y[0] - b->y[0]) < 10.0f) {
        if (a->x[0] != b->x[0]) return a->x[0] < b->x[0] ? -1 : 1;
        return 0;
    }
    return a->y[0] < b->y[0] ? -1 : 1;
}

vigil_err_t vigil__post_db(const float *prob, int map_w, int map_h, const vigil__geom_t *g,
                           const vigil__db_params_t *p, vigil__quad_t **quads, size_t *nquads)
{
    size_t npix = (size_t)map_w * (size_t)map_h;
    int *labels = NULL, *parent = NULL, *rmin = NULL, *rmax = NULL, *root_ix = NULL;
    pt_t *pts = NULL, *hull = NULL;
    vigil__quad_t *out = NULL;
    size_t nout = 0, cap = 0;
    vigil_err_t err = VIGIL_ERR_NOMEM;
    *quads = NULL;
    *nquads = 0;
    if (map_w < 1 || map_h < 1) return VIGIL_ERR_INVALID;
    labels = calloc(npix, sizeof *labels);
    parent = malloc((npix + 1) * sizeof *parent);
    if (!labels || !parent) goto done;

    /* two-pass 8-connected labelling with union-find */
    int next = 1;
    parent[0] = 0;
    for (int y = 0; y < map_h; y++) {
        for (int x = 0; x < map_w; x++) {
            size_t i = (size_t)y * map_w + x;
            if (!(prob[i] > p->threshold)) continue;
            int nb[4], nn = 0;
            if (x > 0 && labels[i - 1]) nb[nn++] = labels[i - 1];
            if (y > 0) {
                size_t up = i - (size_t)map_w;
                if (x > 0 && labels[up - 1]) nb[nn++] = labels[up - 1];
                if (labels[up]) nb[nn++] = labels[up];
                if (x + 1 < map_w && labels[up + 1]) nb[nn++] = labels[up + 1];
            }
            if (nn == 0) {
                parent[next] = next;
                labels[i] = next++;
                continue;
            }
            int l = uf_find(parent, nb[0]);
            for (int k = 1; k < nn; k++) {
                int r = uf_find(parent, nb[k]);
                if (r < l) {
                    parent[l] = r;
                    l = r;
                } else if (r > l) {
                    parent[r] = l;
                }
            }
            labels[i] = l;
        }
    }
    int nlab = next - 1;
    if (nlab == 0) {
        err = VIGIL_OK;
        goto done;
    }
    /* dense component index per root, and per component per row extremes */
    root_ix = malloc(((size_t)nlab + 1) * sizeof *root_ix);
    if (!root_ix) goto done;
    int ncomp = 0;
    for (int l = 1; l <= nlab; l++) root_ix[l] = uf_find(parent, l) == l ? ncomp++ : -1;
    for (int l = 1; l <= nlab; l++)
        if (root_ix[l] < 0) root_ix[l] = root_ix[uf_find(parent, l)];
    rmin = malloc((size_t)ncomp * map_h * sizeof *rmin);
    rmax = malloc((size_t)ncomp * map_h * sizeof *rmax);
    pts = malloc((size_t)2 * map_h * sizeof *pts);
    hull = malloc((size_t)4 * map_h * sizeof *hull + sizeof *hull);
    if (!rmin || !rmax || !pts || !hull) goto done;
    for (size_t i = 0; i < (size_t)ncomp * map_h; i++) rmin[i] = rmax[i] = -1;
    for (int y = 0; y < map_h; y++) {
        for (int x = 0; x < map_w; x++) {
            int l = labels[(size_t)y * map_w + x];
            if (!l) continue;
            size_t k = (size_t)root_ix[l] * map_h + y;
            if (rmin[k] < 0) rmin[k] = x;
            rmax[k] = x;
        }
    }
    for (int c = 0; c < ncomp && (p->max_boxes <= 0 || nout < (size_t)p->max_boxes); c++) {
        size_t n = 0;
        for (int y = 0; y < map_h; y++) {
            size_t k = (size_t)c * map_h + y;
            if (rmin[k] < 0) continue;
            pts[n++] = (pt_t){(float)rmin[k], (float)y};
            if (rmax[k] != rmin[k]) pts[n++] = (pt_t){(float)rmax[k], (float)y};
        }
        size_t nh = convex_hull(pts, n, hull);
        pt_t ctr;
        float ux, uy, w, h;
        min_area_rect(hull, nh, &ctr, &ux, &uy, &w, &h);
        if (fminf(w, h) < (float)p->min_size) continue;
        vigil__quad_t q;
        rect_corners(ctr, ux, uy, w, h, &q);
        q.score = quad_score(prob, map_w, map_h, &q);
        if (q.score < p->box_threshold) continue;
        float d = w * h * p->unclip_ratio / (2.0f * (w + h));
        w += 2 * d;
        h += 2 * d;
        if (fminf(w, h) < (float)p->min_size + 2) continue;
        rect_corners(ctr, ux, uy, w, h, &q);
        for (int i = 0; i < 4; i++) {
            float x2 = q.x[i], y2 = q.y[i];
            vigil__geom_unmap(g, &q.x[i], &q.y[i], &x2, &y2);
            q.x[i] = roundf(q.x[i]);
            q.y[i] = roundf(q.y[i]);
        }
        if (nout == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            vigil__quad_t *nq = realloc(out, ncap * sizeof *nq);
            if (!nq) goto done;
            out = nq;
            cap = ncap;
        }
        out[nout++] = q;
    }
    if (nout) qsort(out, nout, sizeof *out, quad_cmp);
    *quads = out;
    *nquads = nout;
    out = NULL;
    err = VIGIL_OK;
done:
    free(labels);
    free(parent);
    free(root_ix);
    free(rmin);
    free(rmax);
    free(pts);
    free(hull);
    free(out);
    return err;
}

vigil_err_t vigil__ctc_decode(const float *probs, size_t t, size_t nclass,
                              const char *const *dict, size_t ndict, char *text,
                              size_t text_size, float *score)
{
    size_t len = 0, nkept = 0;
    double sum = 0;
    size_t prev = (size_t)-1;
    if (text_size == 0) return VIGIL_ERR_INVALID;
    text[0] = '\0';
    *score = 0;
    for (size_t s = 0; s < t; s++) {
        const float *row = probs + s * nclass;
        size_t best = 0;
        for (size_t c = 1; c < nclass; c++)
            if (row[c] > row[best]) best = c;
        int repeat = best == prev;
        prev = best;
        if (best == 0 || repeat) continue;
        const char *ch = best <= ndict ? dict[best - 1] : best == ndict + 1 ? " " : NULL;
        if (!ch) continue; /* a class the dictionary does not name */
        size_t cl = strlen(ch);
        if (len + cl + 1 > text_size) return VIGIL_ERR_FULL;
        memcpy(text + len, ch, cl);
        len += cl;
        text[len] = '\0';
        sum += row[best];
        nkept++;
    }
    if (nkept) *score = (float)(sum / (double)nkept);
    return VIGIL_OK;
}

int vigil__cls_is_rotated(const float probs[2], float threshold)
{
    return probs[1] > probs[0] && probs[1] > threshold;
}
