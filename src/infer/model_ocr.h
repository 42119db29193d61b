/* Text reading with PP-OCR on vigil-nn: detection (DB) -> crop and
 * straighten each box -> direction classifier (0/180) -> recognition (CTC).
 *
 * Thread: one vigil__ocr_t is used by one thread at a time. */
#ifndef VIGIL_INFER_MODEL_OCR_H
#define VIGIL_INFER_MODEL_OCR_H

#include "infer/postprocess.h"
#include "vigil/image.h"

typedef struct vigil__ocr vigil__ocr_t;

typedef struct vigil__ocr_line {
    vigil__quad_t quad; /* frame pixels, tl, tr, br, bl */
    char text[512];     /* UTF-8 */
    float score;        /* recognition confidence */
} vigil__ocr_line_t;

/* Opens the registry models ppocr_det, ppocr_cls and ppocr_rec. */
vigil__ocr_t *vigil__ocr_open(int threads, char *errstr, size_t errstr_size);
void vigil__ocr_close(vigil__ocr_t *ocr);

/* Reads the text lines of an RGB24 image; *lines is malloc'd (caller frees),
 * in reading order, lines below the recognition score threshold dropped. */
vigil_err_t vigil__ocr_run(vigil__ocr_t *ocr, const vigil_image_t *img, vigil__ocr_line_t **lines,
                           size_t *nlines, char *errstr, size_t errstr_size);

/* Samples the quad of img into an upright crop (width = longer of the top
 * and bottom edges, height = longer of the sides), rotated 90 degrees
 * counter-clockwise when it is at least 1.5 times taller than wide, as
 * PP-OCR's get_rotate_crop_image. dst is allocated. */
vigil_err_t vigil__ocr_crop(const vigil_image_t *img, const vigil__quad_t *q, vigil_image_t *dst);

#endif
