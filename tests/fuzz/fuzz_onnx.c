/* libFuzzer driver: the ONNX loader on the input bytes, then one run of
 * the model when its inputs are small, and its ONNX export loaded back
 * (fuzz_common.h). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    vigil_nn_model_t *m = vigil_nn_model_load_onnx(data, size, NULL, err, sizeof err);
    if (m) {
        fuzz_try_run(m);
        fuzz_try_export(m);
        vigil_nn_model_free(m);
    }
    return 0;
}
