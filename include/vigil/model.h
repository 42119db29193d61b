/* The model interface: what the infer stage runs on frames.
 *
 * A model takes a batch of RGB frames (possibly from several cameras) and
 * returns detections per frame in frame pixels. Implementations:
 *   src/infer/model_motion.c   moving regions from a running background model
 *                              and connected components, labelled "motion"
 *   vigil-nn models            (the inference engine's issue)
 * They register in a table (vigil_model_open() by name).
 *
 * Stateful models (motion keeps a background per camera) key their state by
 * camera_id; frames of one camera arrive in sequence order.
 *
 * Thread: one vigil_model_t is used by one infer worker at a time. */
#ifndef VIGIL_MODEL_H
#define VIGIL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"
#include "vigil/image.h"

typedef struct vigil_model vigil_model_t;

typedef struct vigil_box_detection {
    float x1, y1, x2, y2; /* frame pixels, x1 < x2, y1 < y2 */
    float score;          /* 0..1 */
    int class_id;
    char label[32];
} vigil_box_detection_t;

typedef struct vigil_detection_list {
    vigil_box_detection_t *items;
    size_t n, cap;
} vigil_detection_list_t;

/* Appends one detection (grows the list). */
vigil_err_t vigil_detection_list_push(vigil_detection_list_t *list, const vigil_box_detection_t *d);
void vigil_detection_list_clear(vigil_detection_list_t *list);
void vigil_detection_list_release(vigil_detection_list_t *list);

typedef struct vigil_model_input {
    const vigil_image_t *image; /* RGB24, full frame */
    const char *camera_id;
    uint64_t sequence;
    int64_t capture_time_us;
} vigil_model_input_t;

typedef struct vigil_model_conf {
    const char *name;    /* "motion", ... */
    float min_score;     /* drop detections below this */
    int max_batch;       /* frames per infer_batch call the caller intends to send */
    int threads;         /* for engines with a thread pool */
} vigil_model_conf_t;

typedef struct vigil_model_ops {
    const char *name;
    const char *description;
    vigil_model_t *(*open)(const vigil_model_conf_t *conf, char *errstr, size_t errstr_size);
    /* Runs n inputs; outs[i] gets the detections of inputs[i] (cleared first).
     * A failure of one frame fails the call. */
    vigil_err_t (*infer)(vigil_model_t *model, const vigil_model_input_t *inputs, size_t n,
                         vigil_detection_list_t *outs, char *errstr, size_t errstr_size);
    /* Drops state kept for a camera (camera removed). May be NULL. */
    void (*forget_camera)(vigil_model_t *model, const char *camera_id);
    void (*close)(vigil_model_t *model);
} vigil_model_ops_t;

/* Every model is a struct whose first member is a vigil_model_t. */
struct vigil_model {
    const vigil_model_ops_t *ops;
    int max_batch; /* the largest n infer accepts; the stage batches up to it */
};

vigil_model_t *vigil_model_open(const vigil_model_conf_t *conf, char *errstr, size_t errstr_size);
vigil_err_t vigil_model_infer(vigil_model_t *model, const vigil_model_input_t *inputs, size_t n,
                              vigil_detection_list_t *outs, char *errstr, size_t errstr_size);
void vigil_model_forget_camera(vigil_model_t *model, const char *camera_id);
void vigil_model_close(vigil_model_t *model);
const char *vigil_model_name(const vigil_model_t *model);

/* The registered models, NULL-terminated. */
extern const vigil_model_ops_t *const vigil_models[];

#endif
