/* libFuzzer driver: the model registry parser (src/infer/model_registry.c,
 * vigil__model_entry_parse), which reads models/NAME.yaml and the NAME.yaml
 * files users put in $VIGIL_MODELS. An entry that parses must hold what the
 * header promises (a name, a format, a file, a post-processing kind, input
 * sizes in range, labels that are strings); every entry is released. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/model_registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    vigil__model_entry_t e;
    if (size > 65536) return 0;
    if (vigil__model_entry_parse((const char *)data, size, "fuzz.yaml", &e, err, sizeof err) !=
        VIGIL_OK)
        return 0;
    if (!e.name[0] || !e.format[0] || !e.file[0] || !e.post || e.width < 1 || e.width > 8192 ||
        e.height < 1 || e.height > 8192 || (e.nlabels && !e.labels) || e.std[0] == 0 ||
        e.std[1] == 0 || e.std[2] == 0) {
        fprintf(stderr, "fuzz_model_registry: an accepted entry breaks its promises\n");
        abort();
    }
    for (size_t i = 0; i < e.nlabels; i++)
        if (!e.labels[i]) abort();
    vigil__model_entry_release(&e);
    return 0;
}
