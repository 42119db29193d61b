/* The model registry and the detection list helpers.
 *
 * Models register by adding their ops to vigil_models[]; vigil_model_open()
 * finds one by name. The thin vigil_model_* wrappers check arguments so that
 * each implementation can assume sane inputs. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "infer/model_registry.h"
#include "vigil/model.h"

extern const vigil_model_ops_t vigil_model_motion_ops;
extern const vigil_model_ops_t vigil_model_centernet_ops, vigil_model_yolo_ops; /* model_nn.c */
vigil_model_t *vigil__model_nn_open(const vigil_model_conf_t *conf, char *errstr, size_t errstr_size);

const vigil_model_ops_t *const vigil_models[] = {
    &vigil_model_motion_ops,
    &vigil_model_centernet_ops, &vigil_model_yolo_ops,
    NULL,
};

vigil_err_t vigil_detection_list_push(vigil_detection_list_t *list, const vigil_box_detection_t *d)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        vigil_box_detection_t *items = realloc(list->items, cap * sizeof *items);
        if (!items) return VIGIL_ERR_NOMEM;
        list->items = items;
        list->cap = cap;
    }
    list->items[list->n++] = *d;
    return VIGIL_OK;
}

void vigil_detection_list_clear(vigil_detection_list_t *list)
{
    list->n = 0;
}

void vigil_detection_list_release(vigil_detection_list_t *list)
{
    free(list->items);
    list->items = NULL;
    list->n = list->cap = 0;
}

vigil_model_t *vigil_model_open(const vigil_model_conf_t *conf, char *errstr, size_t errstr_size)
{
    if (!conf || !conf->name || !*conf->name) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "model: no model name given");
        return NULL;
    }
    for (size_t i = 0; vigil_models[i]; i++) {
        if (strcmp(vigil_models[i]->name, conf->name) != 0) continue;
        vigil_model_t *model = vigil_models[i]->open(conf, errstr, errstr_size);
        if (model) {
            model->ops = vigil_models[i];
            if (model->max_batch < 1) model->max_batch = 1;
        }
        return model;
    }
    /* a detector entry of the registry without ops of its own (NAME-int8) */
    vigil__model_entry_t e;
    if (!vigil__model_lookup(conf->name, &e, NULL, 0)) {
        int det = e.post == VIGIL_POST_CENTERNET || e.post == VIGIL_POST_YOLO;
        vigil__model_entry_release(&e);
        if (det) {
            vigil_model_t *model = vigil__model_nn_open(conf, errstr, errstr_size);
            if (model && model->max_batch < 1) model->max_batch = 1;
            return model;
        }
    }
    char names[256] = "";
    size_t len = 0;
    for (size_t i = 0; vigil_models[i] && len < sizeof names; i++)
        len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
                                vigil_models[i]->name);
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND,
                 "model \"%s\": unknown model (available: %s)", conf->name, names);
    return NULL;
}

vigil_err_t vigil_model_infer(vigil_model_t *model, const vigil_model_input_t *inputs, size_t n,
                              vigil_detection_list_t *outs, char *errstr, size_t errstr_size)
{
    if (!model || (n && (!inputs || !outs)))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "model: invalid arguments");
    if (n > (size_t)model->max_batch)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "model \"%s\": batch of %zu exceeds max_batch %d", model->ops->name,
                            n, model->max_batch);
    for (size_t i = 0; i < n; i++) {
        const vigil_image_t *img = inputs[i].image;
        if (!img || !img->data || img->fmt != VIGIL_PIX_RGB24 || img->width < 1 ||
            img->height < 1 || !inputs[i].camera_id)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                "model \"%s\": input %zu is not an RGB24 image with a camera id",
                                model->ops->name, i);
        vigil_detection_list_clear(&outs[i]);
    }
    if (n == 0) return VIGIL_OK;
    return model->ops->infer(model, inputs, n, outs, errstr, errstr_size);
}

void vigil_model_forget_camera(vigil_model_t *model, const char *camera_id)
{
    if (model && camera_id && model->ops->forget_camera) model->ops->forget_camera(model, camera_id);
}

void vigil_model_close(vigil_model_t *model)
{
    if (model) model->ops->close(model);
}

const char *vigil_model_name(const vigil_model_t *model)
{
    return model ? model->ops->name : NULL;
}
