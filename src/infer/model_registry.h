/* The model registry: what vigil knows about each neural model it can run.
 *
 * One YAML file per model (models/NAME.yaml in the source tree; the same text is
 * compiled into the binary by model_builtin.c, and users add or override
 * entries with NAME.yaml files in $VIGIL_MODELS). An entry names the file (relative
 * to $VIGIL_MODELS), its format, how a frame becomes the input tensor and
 * which post-processing turns outputs into results. docs/models.md
 * describes every key.
 *
 * Thread: any; entries are plain values owned by the caller. */
#ifndef VIGIL_INFER_MODEL_REGISTRY_H
#define VIGIL_INFER_MODEL_REGISTRY_H

#include <stddef.h>

#include "vigil/err.h"

typedef enum vigil__post_kind {
    VIGIL_POST_CENTERNET = 1,
    VIGIL_POST_YOLO,
    VIGIL_POST_OCR_DET,
    VIGIL_POST_OCR_REC,
    VIGIL_POST_OCR_CLS,
} vigil__post_kind_t;

typedef enum vigil__resize_mode {
    VIGIL_RESIZE_STRETCH = 1, /* bilinear to width x height */
    VIGIL_RESIZE_LETTERBOX,   /* keep aspect, pad (value pad) evenly */
    VIGIL_RESIZE_FIT32,       /* keep aspect, longest side <= max_side, sides multiples of 32 */
    VIGIL_RESIZE_HEIGHT,      /* height fixed, width by aspect up to width, right-padded */
} vigil__resize_mode_t;

typedef struct vigil__model_entry {
    char name[64];
    char description[160];
    char format[8]; /* "onnx" | "tfjs" */
    char file[256]; /* relative to $VIGIL_MODELS unless absolute */
    char quant[256]; /* INT8 quantized-layer file applied to file's model (vigil/nn_quant.h), or "" */
    char origin[320]; /* where the entry came from ("builtin:centernet.yaml", a path) */
    /* input */
    char input_name[128]; /* empty: the model's first input */
    int width, height;    /* input size; for fit32 the limit is max_side */
    int max_side;
    int nchw;    /* 1: NCHW, 0: NHWC */
    int bgr;     /* channel order of the tensor */
    float scale; /* value = (pixel * scale - mean[c]) / std[c] */
    float mean[3], std[3];
    vigil__resize_mode_t resize;
    float pad; /* letterbox / height padding value, in pixel units (0..255) */
    /* output and post-processing */
    char output_name[128]; /* empty: the model's first output */
    vigil__post_kind_t post;
    float score_threshold, iou_threshold;
    int max_detections;
    /* labels: inline, or labels_file (one per line, relative to $VIGIL_MODELS) */
    char **labels;
    size_t nlabels;
    char labels_file[256];
    /* ocr_det: DB parameters */
    float db_threshold, db_box_threshold, db_unclip_ratio;
} vigil__model_entry_t;

void vigil__model_entry_release(vigil__model_entry_t *e);

/* Parses one registry YAML text. origin names it in errors. */
vigil_err_t vigil__model_entry_parse(const char *yaml, size_t len, const char *origin,
                                     vigil__model_entry_t *e, char *errstr, size_t errstr_size);

/* The models directory: $VIGIL_MODELS, else ${XDG_CACHE_HOME:-$HOME/.cache}/vigil/models.
 * Writes into buf; returns buf. */
const char *vigil__models_dir(char *buf, size_t size);

/* Resolves a path relative to the models directory (absolute paths as they are). */
void vigil__models_path(const char *rel, char *buf, size_t size);

/* Finds a model by name: $VIGIL_MODELS/NAME.yaml (or any *.yaml there whose
 * name: matches) first, then the built-in entries. VIGIL_ERR_NOT_FOUND when
 * no entry has that name. */
vigil_err_t vigil__model_lookup(const char *name, vigil__model_entry_t *e, char *errstr,
                                size_t errstr_size);

/* Every known entry (built-ins overridden by same-named user entries), in
 * name order. *entries is malloc'd; free with vigil__model_entries_free. */
vigil_err_t vigil__model_list(vigil__model_entry_t **entries, size_t *n, char *errstr,
                              size_t errstr_size);
void vigil__model_entries_free(vigil__model_entry_t *entries, size_t n);

/* Loads labels_file into e->labels when the entry has one and no inline
 * labels (one label per line; a trailing newline does not add one). */
vigil_err_t vigil__model_load_labels(vigil__model_entry_t *e, char *errstr, size_t errstr_size);

/* Built-in registry texts (model_builtin.c, generated from models/NAME.yaml). */
typedef struct vigil__builtin_yaml {
    const char *file;
    const char *text;
} vigil__builtin_yaml_t;
extern const vigil__builtin_yaml_t vigil__builtin_models[];

const char *vigil__post_kind_name(vigil__post_kind_t k);

#endif
