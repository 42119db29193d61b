/* The infer stage's neural models: registry entries run by vigil-nn.
 *
 * Every detection entry of the registry (post-processing centernet or yolo)
 * is one vigil_model_ops_t: vigil_model_open("centernet") finds the entry,
 * loads the model and a session. infer() preprocesses the frames of a call
 * into one tensor when the model's batch dim is dynamic (else runs them one
 * by one), runs, and post-processes each frame's slice into detections in
 * frame pixels.
 *
 * Thread: one model per infer worker (model.h); no shared state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "infer/model_nn.h"
#include "infer/model_prep.h"
#include "infer/postprocess.h"
#include "vigil/model.h"
#include "vigil/nn_quant.h"

#define NN_MAX_BATCH 16

/* ---- registry model on the engine ------------------------------------- */

static int find_name(const vigil_nn_model_t *model, int output, const char *name, size_t *ix)
{
    size_t n = output ? vigil_nn_model_noutputs(model) : vigil_nn_model_ninputs(model);
    if (!name[0]) {
        *ix = 0;
        return n > 0;
    }
    for (size_t i = 0; i < n; i++) {
        const char *nm = output ? vigil_nn_model_output_name(model, i)
                                : vigil_nn_model_input_name(model, i);
        if (nm && !strcmp(nm, name)) {
            *ix = i;
            return 1;
        }
    }
    return 0;
}

vigil__nnm_t *vigil__nnm_open(const char *name, int threads, char *errstr, size_t errstr_size)
{
    vigil__nnm_t *m = calloc(1, sizeof *m);
    if (!m) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "model \"%s\": out of memory", name);
        return NULL;
    }
    if (vigil__model_lookup(name, &m->entry, errstr, errstr_size)) {
        free(m);
        return NULL;
    }
    if (vigil__model_load_labels(&m->entry, errstr, errstr_size)) goto fail;
    vigil__models_path(m->entry.file, m->path, sizeof m->path);
    struct stat st;
    if (stat(m->path, &st) != 0) {
        char dir[512];
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND,
                     "model \"%s\": file %s not found: run `vigil models fetch` (models "
                     "directory %s, set by $VIGIL_MODELS)",
                     name, m->path, vigil__models_dir(dir, sizeof dir));
        goto fail;
    }
    vigil_nn_load_opts_t lo;
    vigil_nn_load_opts_init(&lo);
    lo.format = !strcmp(m->entry.format, "tfjs") ? VIGIL_NN_FORMAT_TFJS : VIGIL_NN_FORMAT_ONNX;
    char err[512];
    if (!(m->model = vigil_nn_model_load(m->path, &lo, err, sizeof err))) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "model \"%s\": %s", name, err);
        goto fail;
    }
    if (m->entry.quant[0]) { /* `vigil models quantize`: Convs rewritten to INT8 */
        char qpath[1024];
        vigil__models_path(m->entry.quant, qpath, sizeof qpath);
        if (vigil_nn_model_apply_quant(m->model, qpath, err, sizeof err)) {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "model \"%s\": %s", name, err);
            goto fail;
        }
    }
    if (!find_name(m->model, 0, m->entry.input_name, &m->in_ix) ||
        !find_name(m->model, 1, m->entry.output_name, &m->out_ix)) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                     "model \"%s\": %s has no input \"%s\" or no output \"%s\"", name, m->path,
                     m->entry.input_name, m->entry.output_name);
        goto fail;
    }
    if (vigil_nn_model_ninputs(m->model) != 1) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                     "model \"%s\": %zu inputs; registry models take one image input", name,
                     vigil_nn_model_ninputs(m->model));
        goto fail;
    }
    m->nout = vigil_nn_model_noutputs(m->model);
    vigil_nn_model_input_info(m->model, m->in_ix, &m->in_info);
    m->dynamic_batch = m->in_info.ndim == 4 && m->in_info.dims[0] < 0;
    vigil_nn_session_opts_t so;
    vigil_nn_session_opts_init(&so);
    so.threads = threads;
    if (!(m->session = vigil_nn_session_new(m->model, &so, err, sizeof err))) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "model \"%s\": %s", name, err);
        goto fail;
    }
    return m;
fail:
    vigil__nnm_close(m);
    return NULL;
}

void vigil__nnm_close(vigil__nnm_t *m)
{
    if (!m) return;
    vigil_nn_session_free(m->session);
    vigil_nn_model_free(m->model);
    vigil__model_entry_release(&m->entry);
    free(m);
}

vigil_err_t vigil__nnm_run_all(vigil__nnm_t *m, const vigil_nn_tensor_t *input,
                               vigil_nn_tensor_t *outs, char *errstr, size_t errstr_size)
{
    char err[512];
    vigil_err_t rc = vigil_nn_run(m->session, input, 1, outs, m->nout, err, sizeof err);
    if (rc) return vigil_seterr(errstr, errstr_size, rc, "model \"%s\": %s", m->entry.name, err);
    return VIGIL_OK;
}

vigil_err_t vigil__nnm_run(vigil__nnm_t *m, const vigil_nn_tensor_t *input,
                           vigil_nn_tensor_t *out, char *errstr, size_t errstr_size)
{
    vigil_nn_tensor_t outs[16];
    if (m->nout > 16)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                            "model \"%s\": more than 16 outputs", m->entry.name);
    vigil_err_t rc = vigil__nnm_run_all(m, input, outs, errstr, errstr_size);
    if (!rc) *out = outs[m->out_ix];
    return rc;
}

const char *vigil__nnm_output_name(const vigil__nnm_t *m, size_t i)
{
    const char *name = vigil_nn_model_output_name(m->model, i);
    return name ? name : "";
}

size_t vigil__nnm_tensor_bytes(const vigil_nn_tensor_t *t)
{
    size_t es;
    switch (t->dtype) {
    case VIGIL_NN_UINT8: case VIGIL_NN_INT8: case VIGIL_NN_BOOL: es = 1; break;
    case VIGIL_NN_UINT16: case VIGIL_NN_INT16: case VIGIL_NN_FLOAT16: es = 2; break;
    case VIGIL_NN_FLOAT32: case VIGIL_NN_INT32: case VIGIL_NN_UINT32: es = 4; break;
    case VIGIL_NN_INT64: case VIGIL_NN_FLOAT64: case VIGIL_NN_UINT64: es = 8; break;
    default: return 0;
    }
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->dims[d] > 0 ? (size_t)t->dims[d] : 0;
    return n * es;
}

/* ---- the infer stage's model ops ---------------------------------------- */

typedef struct nn_model {
    vigil_model_t base;
    vigil_model_ops_t own_ops; /* registry names without ops of their own (vigil__model_nn_open) */
    char own_name[64];
    vigil__nnm_t *nnm;
    vigil__det_params_t params;
    float *buf; /* batch input */
    vigil__geom_t geom[NN_MAX_BATCH];
} nn_model_t;

static void nn_close(vigil_model_t *model)
{
    nn_model_t *m = (nn_model_t *)model;
    vigil__nnm_close(m->nnm);
    free(m->buf);
    free(m);
}

static vigil_model_t *nn_open(const vigil_model_conf_t *conf, char *errstr, size_t errstr_size)
{
    nn_model_t *m = calloc(1, sizeof *m);
    if (!m) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "model: out of memory");
        return NULL;
    }
    if (!(m->nnm = vigil__nnm_open(conf->name, conf->threads, errstr, errstr_size))) goto fail;
    const vigil__model_entry_t *e = &m->nnm->entry;
    if (e->post != VIGIL_POST_CENTERNET && e->post != VIGIL_POST_YOLO) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                     "model \"%s\": post-processing %s is not a detector (use `vigil ocr`)",
                     conf->name, vigil__post_kind_name(e->post));
        goto fail;
    }
    int batch = 1;
    if (m->nnm->dynamic_batch) batch = conf->max_batch > 0 ? conf->max_batch : 1;
    if (batch > NN_MAX_BATCH) batch = NN_MAX_BATCH;
    m->base.max_batch = m->nnm->dynamic_batch ? batch : NN_MAX_BATCH; /* fixed: looped */
    m->buf = malloc((size_t)batch * 3 * (size_t)e->width * (size_t)e->height * sizeof *m->buf);
    if (!m->buf) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "model \"%s\": out of memory",
                     conf->name);
        goto fail;
    }
    m->params = (vigil__det_params_t){
        .score_threshold = conf->min_score > 0 ? conf->min_score : e->score_threshold,
        .iou_threshold = e->iou_threshold,
        .max_detections = e->max_detections,
        .labels = (const char *const *)e->labels,
        .nlabels = e->nlabels,
    };
    return &m->base;
fail:
    nn_close(&m->base);
    return NULL;
}

/* Runs inputs[0..n) as one tensor of batch n and post-processes each. */
static vigil_err_t nn_run_chunk(nn_model_t *m, const vigil_model_input_t *inputs, size_t n,
                                vigil_detection_list_t *outs, char *errstr, size_t errstr_size)
{
    const vigil__model_entry_t *e = &m->nnm->entry;
    size_t per = 3 * (size_t)e->width * (size_t)e->height;
    for (size_t i = 0; i < n; i++)
        vigil__prep_image(e, inputs[i].image, e->width, e->height, m->buf + i * per, &m->geom[i]);
    vigil_nn_tensor_t in = {.dtype = VIGIL_NN_FLOAT32, .ndim = 4, .data = m->buf};
    in.dims[0] = (int64_t)n;
    in.dims[1] = e->nchw ? 3 : e->height;
    in.dims[2] = e->nchw ? e->height : e->width;
    in.dims[3] = e->nchw ? e->width : 3;
    vigil_nn_tensor_t out;
    vigil_err_t rc = vigil__nnm_run(m->nnm, &in, &out, errstr, errstr_size);
    if (rc) return rc;
    if (out.dtype != VIGIL_NN_FLOAT32 || out.ndim != 3 || out.dims[0] != (int64_t)n)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "model \"%s\": output is not a float [%zu, ., .] tensor", e->name, n);
    size_t d1 = (size_t)out.dims[1], d2 = (size_t)out.dims[2];
    for (size_t i = 0; i < n; i++) {
        const float *o = (const float *)out.data + i * d1 * d2;
        if (e->post == VIGIL_POST_CENTERNET) {
            if (d2 != 6)
                return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                    "model \"%s\": centernet output rows of %zu, not 6", e->name,
                                    d2);
            rc = vigil__post_centernet(o, d1, &m->geom[i], &m->params, &outs[i]);
        } else {
            if (d1 < 5)
                return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                    "model \"%s\": yolo output has %zu channels, fewer than 5",
                                    e->name, d1);
            rc = vigil__post_yolo(o, d1 - 4, d2, &m->geom[i], &m->params, &outs[i]);
        }
        if (rc)
            return vigil_seterr(errstr, errstr_size, rc, "model \"%s\": out of memory", e->name);
    }
    return VIGIL_OK;
}

static vigil_err_t nn_infer(vigil_model_t *model, const vigil_model_input_t *inputs, size_t n,
                            vigil_detection_list_t *outs, char *errstr, size_t errstr_size)
{
    nn_model_t *m = (nn_model_t *)model;
    size_t step = m->nnm->dynamic_batch ? (size_t)m->base.max_batch : 1;
    for (size_t i = 0; i < n; i += step) {
        size_t k = n - i < step ? n - i : step;
        vigil_err_t rc = nn_run_chunk(m, inputs + i, k, outs + i, errstr, errstr_size);
        if (rc) return rc;
    }
    return VIGIL_OK;
}

/* One ops per detector name of the built-in registry (vigil_model_open finds
 * ops by name). A user's $VIGIL_MODELS/NAME.yaml with one of these names
 * replaces the built-in entry: that is how a custom YOLO export is run. */
#define NN_OPS(var, nm, desc)                                                                      \
    const vigil_model_ops_t var = {                                                              \
        .name = nm, .description = desc, .open = nn_open, .infer = nn_infer, .close = nn_close}

NN_OPS(vigil_model_centernet_ops, "centernet",
       "CenterNet MobileNetV3 512, COCO 80 classes, on vigil-nn (`vigil models fetch`)");
NN_OPS(vigil_model_yolo_ops, "yolo",
       "your YOLOv8/YOLO11 ONNX export on vigil-nn (registry entry \"yolo\", docs/models.md)");

/* Any other detector of the registry (a user entry, a quantized NAME-int8
 * written by `vigil models quantize`): the same ops under the entry's own
 * name, so detections name the model that made them. */
vigil_model_t *vigil__model_nn_open(const vigil_model_conf_t *conf, char *errstr, size_t errstr_size)
{
    vigil_model_t *model = nn_open(conf, errstr, errstr_size);
    if (!model) return NULL;
    nn_model_t *m = (nn_model_t *)model;
    snprintf(m->own_name, sizeof m->own_name, "%s", conf->name);
    m->own_ops = vigil_model_centernet_ops;
    m->own_ops.name = m->own_name;
    m->own_ops.description = m->nnm->entry.description;
    model->ops = &m->own_ops;
    return model;
}
