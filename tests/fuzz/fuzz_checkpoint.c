/* libFuzzer driver: the analytics checkpoint loader (vigil_analyzer_load,
 * src/analytics/checkpoint_load.c). Checkpoints come back from the
 * warehouse, which another process or a damaged disk may have written: the
 * loader must refuse what it cannot use, never crash or leak. A checkpoint
 * it accepts must then behave: saving it and loading the save must work and
 * give the same bytes again, and the analyzer must run frames on from it.
 * Seeds: real checkpoints (make_fuzz_seeds), loaded with the same camera and
 * rules (fuzz_analytics.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_analytics.h"
#include "vigil/v1/analytics.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vigil_rules_t rules;
static int have_rules;

static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_checkpoint: broken promise: %s: %s\n", what, detail);
    abort();
}

static vigil_analyzer_t *load(const uint8_t *buf, size_t len, char *err, size_t err_size)
{
    vigil_tracker_conf_t conf;
    vigil_tracker_conf_init(&conf);
    return vigil_analyzer_load(FUZZ_CAMERA, &conf, rules.zones, rules.nzones, rules.lines,
                               rules.nlines, buf, len, err, err_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    if (!have_rules) {
        if (vigil_rules_from_json(FUZZ_RULES_JSON, strlen(FUZZ_RULES_JSON), &rules, err,
                                  sizeof err) != VIGIL_OK)
            broken("the driver's rules", err);
        have_rules = 1;
    }
    vigil_analyzer_t *a = load(data, size, err, sizeof err);
    if (!a) return 0;

    uint8_t *s1 = NULL, *s2 = NULL;
    size_t n1 = 0, n2 = 0;
    if (vigil_analyzer_save(a, &s1, &n1) != VIGIL_OK) broken("save of a loaded checkpoint", "");
    vigil_analyzer_t *b = load(s1, n1, err, sizeof err);
    if (!b) broken("a loaded checkpoint, saved, is refused", err);
    if (vigil_analyzer_save(b, &s2, &n2) != VIGIL_OK) broken("save of a reloaded checkpoint", "");
    if (n1 != n2 || memcmp(s1, s2, n1) != 0) broken("save, load, save differs", "");
    free(s1);
    free(s2);
    vigil_analyzer_free(b);

    vigil_analytics_frame_t frame;
    vigil_analytics_det_t dets[4];
    vigil_analytics_out_t out;
    vigil_zone_occupancy_t *rows = NULL;
    size_t nrows = 0;
    uint64_t last = vigil_analyzer_last_sequence(a);
    for (uint64_t k = 1; k <= 3 && last + k > last; k++) {
        size_t n = fuzz_scene_frame(last + k, 3, &frame, dets);
        vigil_analyzer_frame(a, &frame, dets, n, &out, NULL);
    }
    if (vigil_analyzer_occupancy(a, &rows, &nrows) == VIGIL_OK) free(rows);
    vigil_analyzer_free(a);
    return 0;
}
