/* Constant-velocity Kalman filter for one tracked box (tracker.c).
 *
 * State as in ByteTrack: centre x, centre y, aspect (w/h), height, and their
 * velocities, in frame pixels per SECOND (not per frame): frames arrive at
 * irregular times because the motion gate upstream drops still frames.
 * ByteTrack's covariances never couple the four axes (F, Q, H and R are all
 * per axis), so the 8x8 covariance is kept as four 2x2 blocks, exactly. */
#ifndef VIGIL_ANALYTICS_KALMAN_H
#define VIGIL_ANALYTICS_KALMAN_H

#define VIGIL__KF_DT_MAX 2.0 /* seconds: a longer gap predicts as if 2 s had passed */

typedef struct vigil__kf {
    double x[8];    /* cx, cy, aspect, h, vcx, vcy, vaspect, vh (per second) */
    double p[4][3]; /* per axis k: var(x[k]), cov(x[k], x[k+4]), var(x[k+4]) */
} vigil__kf_t;

/* Starts a filter at a measurement z = {cx, cy, aspect, h}, velocities 0. */
void vigil__kf_init(vigil__kf_t *kf, const double z[4]);
/* Moves the state dt seconds ahead. dt <= 0 (or NaN) leaves it as it is;
 * dt > VIGIL__KF_DT_MAX counts as VIGIL__KF_DT_MAX. */
void vigil__kf_predict(vigil__kf_t *kf, double dt);
/* Corrects the state with a measurement z = {cx, cy, aspect, h}. */
void vigil__kf_update(vigil__kf_t *kf, const double z[4]);
/* The state's box: x1, y1, x2, y2. */
void vigil__kf_box(const vigil__kf_t *kf, float box[4]);
/* A box as a measurement. */
void vigil__kf_measure(const float box[4], double z[4]);
/* 1 if every value is finite and bounded and the variances are positive (a
 * filter read from a checkpoint must pass this). */
int vigil__kf_valid(const vigil__kf_t *kf);

#endif
