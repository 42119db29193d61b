/* The tracker's settings (vigil/analytics.h); the names of event kinds and
 * directions are in src/core/analytics_names.c. The defaults are argued in docs/analytics.md. */
#include <string.h>

#include "vigil/analytics.h"

void vigil_tracker_conf_init(vigil_tracker_conf_t *conf)
{
    conf->high_score = 0.35f;     /* CenterNet scores real people and cars 0.3-0.7 */
    conf->low_score = 0.1f;       /* the second stage needs the box, not the class */
    conf->new_track_score = 0.4f; /* a track is born only from a surer detection */
    conf->match_iou = 0.2f;       /* ByteTrack's first-stage gate (cost 0.8) */
    conf->low_match_iou = 0.4f;   /* low-score boxes must overlap more */
    conf->buffer = 0.3f;          /* C-BIoU: 5 fps motion */
    conf->min_hits = 3;           /* 0.6 s at 5 fps: one-frame false positives never count */
    conf->lost_seconds = 3;       /* bridges occlusions and gated (still) frames */
    conf->per_class = 1;          /* a person never continues a car's track */
}

void vigil_tracker_conf_from_config(vigil_tracker_conf_t *conf, const vigil_config_t *cfg)
{
    vigil_tracker_conf_init(conf);
    if (!cfg) return;
    conf->high_score = (float)cfg->analytics_high_score;
    conf->low_score = (float)cfg->analytics_low_score;
    conf->new_track_score = (float)cfg->analytics_new_track_score;
    conf->match_iou = (float)cfg->analytics_match_iou;
    conf->low_match_iou = (float)cfg->analytics_low_match_iou;
    conf->buffer = (float)cfg->analytics_buffer;
    conf->min_hits = cfg->analytics_min_hits;
    conf->lost_seconds = cfg->analytics_lost_seconds;
    conf->per_class = cfg->analytics_per_class ? 1 : 0;
}
