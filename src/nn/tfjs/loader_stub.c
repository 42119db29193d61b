/* Placeholder for the TF.js graph-model loader: until it lands, loading a
 * TF.js model is an "unsupported" error. The TF.js loader replaces this file
 * with the real vigil_nn_model_load_tfjs (src/nn/tfjs/). */
#include "vigil/nn.h"

vigil_nn_model_t *vigil_nn_model_load_tfjs(const char *json, size_t json_len, const void *weights,
                                           size_t weights_len, const vigil_nn_load_opts_t *opts,
                                           char *errstr, size_t errstr_size)
{
    (void)json, (void)json_len, (void)weights, (void)weights_len, (void)opts;
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                 "unsupported: tfjs: the TF.js loader is not built yet");
    return NULL;
}

vigil_nn_model_t *vigil__nn_tfjs_load_path(const char *path, const vigil_nn_load_opts_t *opts,
                                           char *errstr, size_t errstr_size)
{
    (void)opts;
    vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                 "unsupported: %s: the TF.js loader is not built yet", path);
    return NULL;
}
