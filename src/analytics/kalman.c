/* Constant-velocity Kalman filter with velocities per second (kalman.h).
 *
 * The noise model is ByteTrack's (std proportional to the box height,
 * weights 1/20 for positions and 1/160 for velocities), which was tuned at
 * 30 frames per second. Here the process noise is a random walk in time: its
 * variance grows with dt, so one 30 fps step adds exactly ByteTrack's noise
 * and a 0.2 s step (5 fps) adds six times as much. Velocities are per second,
 * so ByteTrack's per-frame velocity deviations are multiplied by 30. */
#include <math.h>

#include "analytics/kalman.h"

#define REF_FPS 30.0
#define W_POS (1.0 / 20.0)
#define W_VEL (1.0 / 160.0)
#define H_MIN 1.0     /* pixels: noise scales with the height; never with a degenerate one */
#define VALUE_MAX 1e9 /* checkpoints: no state value beyond this */

static double height(const vigil__kf_t *kf)
{
    return kf->x[3] > H_MIN ? kf->x[3] : H_MIN;
}

void vigil__kf_measure(const float box[4], double z[4])
{
    double w = (double)box[2] - box[0], h = (double)box[3] - box[1];
    z[0] = (double)box[0] + w / 2;
    z[1] = (double)box[1] + h / 2;
    z[2] = h > 0 ? w / h : 0;
    z[3] = h;
}

void vigil__kf_init(vigil__kf_t *kf, const double z[4])
{
    double h = z[3] > H_MIN ? z[3] : H_MIN;
    double pos[4] = {2 * W_POS * h, 2 * W_POS * h, 1e-2, 2 * W_POS * h};
    double vel[4] = {10 * W_VEL * h * REF_FPS, 10 * W_VEL * h * REF_FPS, 1e-5 * REF_FPS,
                     10 * W_VEL * h * REF_FPS};
    for (int k = 0; k < 4; k++) {
        kf->x[k] = z[k];
        kf->x[k + 4] = 0;
        kf->p[k][0] = pos[k] * pos[k];
        kf->p[k][1] = 0;
        kf->p[k][2] = vel[k] * vel[k];
    }
}

void vigil__kf_predict(vigil__kf_t *kf, double dt)
{
    if (!(dt > 0)) return;
    if (dt > VIGIL__KF_DT_MAX) dt = VIGIL__KF_DT_MAX;
    double h = height(kf);
    double steps = dt * REF_FPS; /* variance of a random walk grows with time */
    double pos[4] = {W_POS * h, W_POS * h, 1e-2, W_POS * h};
    double vel[4] = {W_VEL * h * REF_FPS, W_VEL * h * REF_FPS, 1e-5 * REF_FPS,
                     W_VEL * h * REF_FPS};
    for (int k = 0; k < 4; k++) {
        double *p = kf->p[k];
        kf->x[k] += kf->x[k + 4] * dt;
        double p00 = p[0] + 2 * dt * p[1] + dt * dt * p[2];
        double p01 = p[1] + dt * p[2];
        p[0] = p00 + pos[k] * pos[k] * steps;
        p[1] = p01;
        p[2] = p[2] + vel[k] * vel[k] * steps;
    }
}

void vigil__kf_update(vigil__kf_t *kf, const double z[4])
{
    double h = height(kf);
    double r[4] = {W_POS * h, W_POS * h, 1e-1, W_POS * h};
    for (int k = 0; k < 4; k++) {
        double *p = kf->p[k];
        double s = p[0] + r[k] * r[k];
        double k0 = p[0] / s, k1 = p[1] / s;
        double y = z[k] - kf->x[k];
        kf->x[k] += k0 * y;
        kf->x[k + 4] += k1 * y;
        double p00 = (1 - k0) * p[0];
        double p01 = (1 - k0) * p[1];
        double p11 = p[2] - k1 * p[1];
        p[0] = p00;
        p[1] = p01;
        p[2] = p11;
    }
}

void vigil__kf_box(const vigil__kf_t *kf, float box[4])
{
    double w = kf->x[2] * kf->x[3], h = kf->x[3];
    box[0] = (float)(kf->x[0] - w / 2);
    box[1] = (float)(kf->x[1] - h / 2);
    box[2] = (float)(kf->x[0] + w / 2);
    box[3] = (float)(kf->x[1] + h / 2);
}

int vigil__kf_valid(const vigil__kf_t *kf)
{
    for (int i = 0; i < 8; i++)
        if (!isfinite(kf->x[i]) || fabs(kf->x[i]) > VALUE_MAX) return 0;
    for (int k = 0; k < 4; k++) {
        const double *p = kf->p[k];
        for (int j = 0; j < 3; j++)
            if (!isfinite(p[j]) || fabs(p[j]) > VALUE_MAX * VALUE_MAX) return 0;
        if (!(p[0] > 0) || !(p[2] > 0)) return 0;
    }
    return 1;
}
