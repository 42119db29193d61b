/* libFuzzer driver: the analytics rules JSON parser (vigil_rules_from_json,
 * src/analytics/rules_json.c), which reads what the control topic and the
 * API are given. Rules that parse must print (vigil_rules_to_json) to JSON
 * that parses to the same rules and prints the same again, and must be
 * accepted by vigil_analyzer_new, which then runs one frame through them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/analytics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_rules_json: broken promise: %s: %s\n", what, detail);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    vigil_rules_t rules, again;
    if (size > 65536) return 0;
    if (vigil_rules_from_json((const char *)data, size, &rules, err, sizeof err) != VIGIL_OK)
        return 0;
    char *json = vigil_rules_to_json(rules.zones, rules.nzones, rules.lines, rules.nlines);
    if (!json) broken("vigil_rules_to_json", "NULL");
    if (vigil_rules_from_json(json, strlen(json), &again, err, sizeof err) != VIGIL_OK)
        broken("printed rules do not parse", err);
    char *json2 = vigil_rules_to_json(again.zones, again.nzones, again.lines, again.nlines);
    if (!json2 || strcmp(json, json2) != 0) broken("printed rules print differently", json);
    free(json2);
    free(json);
    vigil_rules_release(&again);

    vigil_analyzer_t *a = vigil_analyzer_new("fuzz", NULL, rules.zones, rules.nzones, rules.lines,
                                             rules.nlines, err, sizeof err);
    if (!a) broken("vigil_analyzer_new refuses parsed rules", err);
    static const vigil_analytics_det_t dets[] = {
        {100, 100, 200, 400, 0.9f, "person"},
        {500, 300, 700, 500, 0.8f, "car"},
    };
    vigil_analytics_out_t out;
    for (uint64_t seq = 1; seq <= 4; seq++) {
        vigil_analytics_frame_t frame = {seq, (int64_t)seq * 200000, (int64_t)seq, 1000, 1000};
        vigil_analytics_det_t moved[2];
        memcpy(moved, dets, sizeof dets);
        for (int k = 0; k < 2; k++) moved[k].x1 += 60.0f * seq, moved[k].x2 += 60.0f * seq;
        vigil_analyzer_frame(a, &frame, moved, 2, &out, NULL);
    }
    vigil_analyzer_free(a);
    vigil_rules_release(&rules);
    return 0;
}
