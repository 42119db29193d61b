/* Text reading with PP-OCR on vigil-nn: detection (DB) -> crop and
 * straighten each box -> direction classifier (0/180) -> recognition (CTC).
 *
 * Thread: one vigil__ocr_t is used by one thread at a time. */
#ifndef VIGIL_INFER_MODEL_OCR_H
#define VIGIL_INFER_MODEL_OCR_H

#include "infer/model_registry.h"
#include "infer/postprocess.h"
#include "vigil/image.h"

typedef struct vigil__ocr vigil__ocr_t;

typedef struct vigil__ocr_line {
    vigil__quad_t quad; /* frame pixels, tl, tr, br, bl */
    char text[512];     /* UTF-8 */
    float score;        /* recognition confidence */
} vigil__ocr_line_t;

/* The widest input a text line gets at recognition (the rec entry's height
 * mode; wider lines are squeezed). */
#define VIGIL__OCR_REC_MAX_WIDTH 2048

/* Opens the registry models ppocr_det, ppocr_cls and ppocr_rec. */
vigil__ocr_t *vigil__ocr_open(int threads, char *errstr, size_t errstr_size);
/* Opens the named registry models (e.g. ppocr_det-int8 from `vigil models
 * quantize`); cls and rec may be NULL (no direction check; detection and
 * crops only, vigil__ocr_run then fails). Each must have its stage's
 * post-processing kind (ocr_det, ocr_cls, ocr_rec), else VIGIL_ERR_INVALID. */
vigil__ocr_t *vigil__ocr_open_models(const char *det, const char *cls, const char *rec, int threads,
                                     char *errstr, size_t errstr_size);
void vigil__ocr_close(vigil__ocr_t *ocr);

/* Reads the text lines of an RGB24 image; *lines is malloc'd (caller frees),
 * in reading order, lines below the recognition score threshold dropped. */
vigil_err_t vigil__ocr_run(vigil__ocr_t *ocr, const vigil_image_t *img, vigil__ocr_line_t **lines,
                           size_t *nlines, char *errstr, size_t errstr_size);

/* The first half of vigil__ocr_run: text detection and DB post-processing.
 * *quads (frame pixels, malloc'd, caller frees) in reading order. */
vigil_err_t vigil__ocr_detect(vigil__ocr_t *ocr, const vigil_image_t *img, vigil__quad_t **quads, size_t *nquads,
                              char *errstr, size_t errstr_size);

/* The image the recognizer reads for quad q of img: vigil__ocr_crop, then
 * turned 180 degrees when the classifier (if opened) is confident it is
 * upside down. crop is allocated (caller releases; released on error). */
vigil_err_t vigil__ocr_line_image(vigil__ocr_t *ocr, const vigil_image_t *img, const vigil__quad_t *q,
                                  vigil_image_t *crop, char *errstr, size_t errstr_size);

/* Samples the quad of img into an upright crop (width = longer of the top
 * and bottom edges, height = longer of the sides), rotated 90 degrees
 * counter-clockwise when it is at least 1.5 times taller than wide, as
 * PP-OCR's get_rotate_crop_image. dst is allocated. */
vigil_err_t vigil__ocr_crop(const vigil_image_t *img, const vigil__quad_t *q, vigil_image_t *dst);

#endif
