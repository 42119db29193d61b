/* The motion gate of the preprocess stage, as pure functions.
 *
 * preprocess.c owns the I/O (bus, JPEG, store); this unit only decides:
 * how much a camera's downscaled gray image changed since its previous one,
 * and whether a frame goes on to inference (motion) or is forwarded anyway
 * because nothing of that camera was forwarded for a while (keyframe).
 * Kept free of I/O so that it is unit-tested on plain arrays.
 *
 * Thread: any; a vigil_gate_state_t belongs to one worker. */
#ifndef VIGIL_PREPROCESS_GATE_H
#define VIGIL_PREPROCESS_GATE_H

#include <stddef.h>
#include <stdint.h>

typedef enum vigil_gate_verdict {
    VIGIL_GATE_DROP = 0,     /* no motion, keyframe not due */
    VIGIL_GATE_MOTION = 1,   /* score >= threshold */
    VIGIL_GATE_KEYFRAME = 2, /* below threshold, but the keyframe interval elapsed */
} vigil_gate_verdict_t;

/* What the gate remembers of one camera. Zero-initialise before first use. */
typedef struct vigil_gate_state {
    int forwarded_any;       /* a frame of this camera was forwarded before */
    int64_t last_forward_us; /* capture time of the last forwarded frame */
} vigil_gate_state_t;

/* A pixel counts as changed when its gray level moved by more than this:
 * above sensor noise and JPEG ringing, below what a person crossing does. */
#define VIGIL_GATE_PIXEL_DELTA 16

/* The fraction of pixels of two gray images of n pixels that changed by more
 * than VIGIL_GATE_PIXEL_DELTA: 0 (no change) .. 1 (everything changed).
 * Unlike a mean difference, noise spread over the whole image scores ~0
 * while a small moving object scores its area. Returns 1 when n is 0. */
double vigil__gate_motion_score(const uint8_t *prev, const uint8_t *cur, size_t n);

/* Decides one frame. threshold is the minimal motion score that counts as
 * motion; keyframe_interval_s (> 0) forwards a frame when the last forwarded
 * one of the camera was captured that long ago or longer (by capture time).
 * A capture time earlier than the last forward (clock stepped back) also
 * forwards a keyframe, so a camera whose clock jumps is never muted.
 * keyframe_interval_s <= 0 disables keyframes. Does not change state. */
vigil_gate_verdict_t vigil__gate_decide(const vigil_gate_state_t *state, double score,
                                        int64_t capture_time_us, double threshold,
                                        double keyframe_interval_s);

/* Records that a frame captured at capture_time_us was forwarded. */
void vigil__gate_forwarded(vigil_gate_state_t *state, int64_t capture_time_us);

/* The JPEG decode scale 1/N (N in 8, 4, 2, 1): the largest N whose decoded
 * width (ceil(width / N), as libjpeg scales) is still >= motion_width. */
int vigil__gate_scale_denom(int width, int motion_width);

/* The motion image size: motion_width wide (never wider than decoded_w),
 * height keeping the aspect of the decoded image, at least 1. */
void vigil__gate_motion_size(int decoded_w, int decoded_h, int motion_width, int *out_w,
                             int *out_h);

#endif
