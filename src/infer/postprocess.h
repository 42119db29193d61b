/* Post-processing of model outputs: pure C, no engine, unit-tested alone.
 *
 * Detection models (CenterNet, YOLOv8/11) give boxes in the pixels of the
 * model's input; vigil__geom_t remembers how a frame was resized into that
 * input (stretch or letterbox) so boxes map back to frame pixels. Text models
 * (PP-OCR) give a probability map (DB detection), per-timestep class
 * scores (CTC recognition) and a 0/180 orientation (classifier).
 *
 * Thread: every function is reentrant; no global state. */
#ifndef VIGIL_INFER_POSTPROCESS_H
#define VIGIL_INFER_POSTPROCESS_H

#include <stddef.h>

#include "vigil/model.h"

/* How a frame of src_w x src_h was placed into the model input:
 * input = frame * (sx, sy) + (pad_x, pad_y). Stretch: independent scales,
 * no padding. Letterbox: one scale, the rest padded evenly on both sides. */
typedef struct vigil__geom {
    int src_w, src_h;
    int dst_w, dst_h;
    float sx, sy;
    float pad_x, pad_y;
} vigil__geom_t;

void vigil__geom_stretch(vigil__geom_t *g, int src_w, int src_h, int dst_w, int dst_h);
void vigil__geom_letterbox(vigil__geom_t *g, int src_w, int src_h, int dst_w, int dst_h);
/* Maps a box from input pixels back to frame pixels, clipped to the frame. */
void vigil__geom_unmap(const vigil__geom_t *g, float *x1, float *y1, float *x2, float *y2);

/* Detection post-processing parameters. labels[class_id] names a class
 * (class ids at or past nlabels are labelled "class N"). */
typedef struct vigil__det_params {
    float score_threshold;
    float iou_threshold; /* class-wise NMS; >= 1 keeps every box */
    int max_detections;  /* <= 0: no limit */
    const char *const *labels;
    size_t nlabels;
} vigil__det_params_t;

/* Intersection over union of two boxes (0 when either is empty). */
float vigil__iou(const vigil_box_detection_t *a, const vigil_box_detection_t *b);

/* Sorts list by score (highest first) and removes, per class, every box whose
 * IoU with a higher-scoring box of the same class exceeds iou_threshold. */
void vigil__nms(vigil_detection_list_t *list, float iou_threshold);

/* CenterNet (TF.js, tower_0/detections): det is [ndet, 6] rows of
 * x1,y1,x2,y2 (input pixels), score, class index. Appends the detections
 * of one frame to out, in frame pixels, thresholded, after NMS. */
vigil_err_t vigil__post_centernet(const float *det, size_t ndet, const vigil__geom_t *g,
                                  const vigil__det_params_t *p, vigil_detection_list_t *out);

/* YOLOv8/YOLO11 ONNX export: out is [4 + nc, n] (one frame, channels first):
 * cx, cy, w, h in input pixels, then nc class scores (no objectness). */
vigil_err_t vigil__post_yolo(const float *out, size_t nc, size_t n, const vigil__geom_t *g,
                             const vigil__det_params_t *p, vigil_detection_list_t *out_list);

/* ---- text (PP-OCR) ------------------------------------------------------ */

/* A rotated text box: four corners in order top-left, top-right,
 * bottom-right, bottom-left (reading order), and its score. */
typedef struct vigil__quad {
    float x[4], y[4];
    float score;
} vigil__quad_t;

typedef struct vigil__db_params {
    float threshold;     /* binarise the probability map (PP-OCR: 0.3) */
    float box_threshold; /* mean probability inside a box to keep it (0.6) */
    float unclip_ratio;  /* grow by area * ratio / perimeter (1.5) */
    int min_size;        /* drop boxes whose shorter side is below this (3) */
    int max_boxes;       /* <= 0: no limit (1000) */
} vigil__db_params_t;

void vigil__db_params_init(vigil__db_params_t *p);

/* DB post-processing: prob is the map (map_w x map_h) of the model input;
 * boxes are mapped to frame pixels through g. *quads is malloc'd (caller
 * frees), *nquads set; sorted top to bottom, left to right. */
vigil_err_t vigil__post_db(const float *prob, int map_w, int map_h, const vigil__geom_t *g,
                           const vigil__db_params_t *p, vigil__quad_t **quads, size_t *nquads);

/* CTC greedy decode of one line: probs is [t, nclass]; class 0 is the
 * blank, class k (1..ndict) is dict[k-1], class ndict+1 (if present) is the
 * space PP-OCR appends with use_space_char. Repeats collapse; blanks
 * separate. Writes UTF-8 into text (always terminated) and the mean
 * probability of the kept characters into *score (0 for an empty line). */
vigil_err_t vigil__ctc_decode(const float *probs, size_t t, size_t nclass,
                              const char *const *dict, size_t ndict, char *text,
                              size_t text_size, float *score);

/* Direction classifier: probs of [0 deg, 180 deg]. Returns 1 when the line
 * is upside down with probability > threshold (PP-OCR: 0.9), else 0. */
int vigil__cls_is_rotated(const float probs[2], float threshold);

#endif
