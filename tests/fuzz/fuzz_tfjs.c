/* libFuzzer driver: the TF.js loader. The input is a 4-byte little-endian
 * length n, then n bytes of model.json, then the concatenated weight shards
 * (a shorter input is all JSON). One run follows a successful load when the
 * inputs are small, and its ONNX export loaded back (fuzz_common.h). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *json = (const char *)data;
    size_t jlen = size;
    const uint8_t *w = NULL;
    size_t wlen = 0;
    if (size >= 4) {
        size_t n = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 | (size_t)data[3] << 24;
        if (n <= size - 4) {
            json = (const char *)data + 4;
            jlen = n;
            w = data + 4 + n;
            wlen = size - 4 - n;
        }
    }
    char err[512];
    vigil_nn_model_t *m = vigil_nn_model_load_tfjs(json, jlen, w, wlen, NULL, err, sizeof err);
    if (m) {
        fuzz_try_run(m);
        fuzz_try_export(m);
        vigil_nn_model_free(m);
    }
    return 0;
}
