/* libFuzzer driver: the YAML configuration loader (src/core/config_yaml.c,
 * vigil_config_load_string), then the cross-field checks. The text is
 * loaded twice on top of one configuration, as a file and then --config
 * overrides would be: a `cameras:` list replaces the cameras loaded before,
 * and whatever the first load applied before its error must be released
 * by vigil_config_release. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024];
    vigil_config_t cfg;
    if (size > 65536) return 0; /* the loader's own bound is 4 MB: bounded work per input */
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    vigil_config_init(&cfg);
    for (int i = 0; i < 2; i++)
        if (vigil_config_load_string(&cfg, text, "fuzz.yaml", err, sizeof err) == VIGIL_OK)
            vigil_config_validate(&cfg, err, sizeof err);
    for (size_t i = 0; i < cfg.ncameras; i++)
        if (vigil_config_camera(&cfg, cfg.cameras[i].id) == NULL) abort();
    vigil_config_release(&cfg);
    free(text);
    return 0;
}
