/* The motion gate: scoring and the forward/drop decision (see gate.h).
 * Pure functions on plain data; no allocation, no I/O. */
#include <stdlib.h>

#include "preprocess/gate.h"

double vigil__gate_motion_score(const uint8_t *prev, const uint8_t *cur, size_t n)
{
    if (n == 0) return 1.0;
    size_t changed = 0;
    for (size_t i = 0; i < n; i++) changed += abs((int)prev[i] - (int)cur[i]) > VIGIL_GATE_PIXEL_DELTA;
    return (double)changed / (double)n;
}

vigil_gate_verdict_t vigil__gate_decide(const vigil_gate_state_t *state, double score,
                                        int64_t capture_time_us, double threshold,
                                        double keyframe_interval_s)
{
    if (score >= threshold) return VIGIL_GATE_MOTION;
    if (!state->forwarded_any) return VIGIL_GATE_KEYFRAME;
    if (keyframe_interval_s <= 0) return VIGIL_GATE_DROP;
    int64_t elapsed = capture_time_us - state->last_forward_us;
    if (elapsed < 0) return VIGIL_GATE_KEYFRAME;
    if ((double)elapsed >= keyframe_interval_s * 1e6) return VIGIL_GATE_KEYFRAME;
    return VIGIL_GATE_DROP;
}

void vigil__gate_forwarded(vigil_gate_state_t *state, int64_t capture_time_us)
{
    state->forwarded_any = 1;
    state->last_forward_us = capture_time_us;
}

int vigil__gate_scale_denom(int width, int motion_width)
{
    static const int denoms[] = {8, 4, 2};
    for (size_t i = 0; i < sizeof denoms / sizeof denoms[0]; i++) {
        int n = denoms[i];
        if ((width + n - 1) / n >= motion_width) return n;
    }
    return 1;
}

void vigil__gate_motion_size(int decoded_w, int decoded_h, int motion_width, int *out_w,
                             int *out_h)
{
    int w = motion_width < decoded_w ? motion_width : decoded_w;
    if (w < 1) w = 1;
    long h = decoded_w > 0 ? ((long)decoded_h * w + decoded_w / 2) / decoded_w : 1;
    if (h < 1) h = 1;
    *out_w = w;
    *out_h = (int)h;
}
