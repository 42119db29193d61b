/* Shared by fuzz_checkpoint.c and make_fuzz_seeds.c: the camera and rules a
 * checkpoint is loaded with (they must be the seeds' rules, or the loader
 * drops the zone and line state the seeds hold), and a few frames of
 * synthetic detections that cross them. */
#ifndef VIGIL_FUZZ_ANALYTICS_H
#define VIGIL_FUZZ_ANALYTICS_H

#include <stdint.h>
#include <string.h>

#include "vigil/analytics.h"

#define FUZZ_CAMERA "cam1"

/* Two zones (one for people, with loiter), two lines (one for cars), on a
 * 1000 x 1000 frame. */
#define FUZZ_RULES_JSON                                                                         \
    "{\"zones\":[{\"id\":\"door\",\"polygon\":[[0.1,0.5],[0.5,0.5],[0.5,1.0],[0.1,1.0]],"      \
    "\"labels\":[\"person\"],\"loiter_seconds\":1,\"inertia\":2},"                              \
    "{\"id\":\"yard\",\"polygon\":[[0.4,0.2],[0.9,0.3],[0.8,0.9]],\"min_score\":0.2}],"         \
    "\"lines\":[{\"id\":\"gate\",\"points\":[[0.6,0.0],[0.6,1.0]],\"hysteresis\":0.01},"       \
    "{\"id\":\"road\",\"points\":[[0.0,0.7],[1.0,0.7]],\"labels\":[\"car\"],"                  \
    "\"anchor\":\"center\"}]}"

/* Frame seq (1-based) of a scene of `walkers` objects moving across the
 * frame at different speeds, one of them missed every fifth frame; fills
 * dets (at least walkers) and returns how many. */
static size_t fuzz_scene_frame(uint64_t seq, int walkers, vigil_analytics_frame_t *frame,
                               vigil_analytics_det_t *dets)
{
    static const char *const labels[] = {"person", "car", "person", "dog"};
    size_t n = 0;
    memset(frame, 0, sizeof *frame);
    frame->sequence = seq;
    /* sequences from a fuzzed checkpoint may be huge: times wrap every 10^6 frames */
    frame->time_us = INT64_C(1795239060000000) + (int64_t)((seq - 1) % 1000000) * 200000;
    frame->frame_id = (int64_t)seq;
    frame->width = frame->height = 1000;
    for (int k = 0; k < walkers; k++) {
        if (k == 1 && seq % 5 == 0) continue;
        float x = 50.0f + (float)((seq * (uint64_t)(20 + 15 * k) + 130 * (uint64_t)k) % 900);
        float y = 300.0f + 120.0f * (float)k + 10.0f * (float)(seq % 3);
        float bw = k % 2 ? 120.0f : 50.0f, bh = k % 2 ? 80.0f : 140.0f;
        dets[n].x1 = x - bw / 2;
        dets[n].y1 = y - bh;
        dets[n].x2 = x + bw / 2;
        dets[n].y2 = y;
        dets[n].score = 0.45f + 0.1f * (float)((seq + (uint64_t)k) % 5);
        dets[n].label = labels[k % 4];
        n++;
    }
    return n;
}

#endif
