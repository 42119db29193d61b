/* TF.js graph-model loader: small model.json + weight buffers built here.
 * Dequantisation values, control inputs and ":1" outputs, error texts for
 * bad files (unknown op, short shard, size mismatch, malformed JSON, cycle),
 * StridedSlice masks, FloorDiv/FloorMod, and a tiny conv net (fused conv +
 * Relu6, depthwise, bias vector, concat, mean) against a naive NHWC
 * reference. JSON is written with ' for " to keep it legible. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nn/ir.h"
#include "vigil/nn.h"

static char *J(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; *p; p++)
        if (*p == '\'') *p = '"';
    return d;
}

static vigil_nn_model_t *load(const char *json_q, const void *w, size_t wlen, char *err, size_t esz)
{
    char *json = J(json_q);
    err[0] = 0;
    vigil_nn_model_t *m = vigil_nn_model_load_tfjs(json, strlen(json), w, wlen, NULL, err, esz);
    free(json);
    return m;
}

/* Runs a one-input model; returns output k's view (valid until session free). */
static void run1(vigil_nn_model_t *m, vigil_nn_session_t **s, vigil_nn_tensor_t *in,
                 vigil_nn_tensor_t *out, size_t nout)
{
    char err[256];
    *s = vigil_nn_session_new(m, NULL, err, sizeof err);
    assert_non_null(*s);
    vigil_err_t e = vigil_nn_run(*s, in, 1, out, nout, err, sizeof err);
    if (e) fail_msg("run: %s", err);
}

#define NODE_IN(name, dt, shape) \
    "{'name':'" name "','op':'Placeholder','attr':{'dtype':{'type':'" dt "'},'shape':{'shape':{'dim':[" shape "]}}}}"

static void test_tfjs_float16_weights_dequantise_exactly(void **state)
{
    (void)state;
    const char *json = "{'format':'graph-model','modelTopology':{'node':["
        NODE_IN("x", "DT_FLOAT", "{'size':'3'}") ","
        "{'name':'w','op':'Const','attr':{'dtype':{'type':'DT_FLOAT'}}},"
        "{'name':'y','op':'AddV2','input':['x','w']}]},"
        "'weightsManifest':[{'paths':['a.bin'],'weights':[{'name':'w','shape':[3],'dtype':'float32',"
        "'quantization':{'dtype':'float16','original_dtype':'float32'}}]}]}";
    uint16_t h[3] = {0x3c00, 0xc000, 0x3555}; /* 1, -2, 0.333251953125 */
    char err[512];
    vigil_nn_model_t *m = load(json, h, sizeof h, err, sizeof err);
    if (!m) fail_msg("%s", err);
    float x[3] = {0, 0, 0};
    vigil_nn_tensor_t in = {VIGIL_NN_FLOAT32, 1, {3}, x}, out;
    vigil_nn_session_t *s;
    run1(m, &s, &in, &out, 1);
    const float *y = out.data;
    assert_true(y[0] == 1.0f && y[1] == -2.0f && y[2] == 0.333251953125f);
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
}

static void test_tfjs_uint8_uint16_weights_are_affine(void **state)
{
    (void)state;
    const char *json = "{'modelTopology':{'node':["
        NODE_IN("x", "DT_FLOAT", "{'size':'3'}") ","
        "{'name':'a','op':'Const'},{'name':'b','op':'Const'},"
        "{'name':'s','op':'Add','input':['x','a']},{'name':'t','op':'Add','input':['x','b']}]},"
        "'signature':{'outputs':{'s':{'name':'s:0'},'t':{'name':'t'}}},"
        "'weightsManifest':[{'paths':['1.bin'],'weights':["
        "{'name':'a','shape':[3],'dtype':'float32','quantization':{'dtype':'uint8','min':-1.0,'scale':0.5}}]},"
        "{'paths':['2.bin'],'weights':["
        "{'name':'b','shape':[3],'dtype':'float32','quantization':{'dtype':'uint16','min':2.0,'scale':0.25}}]}]}";
    uint8_t w[3 + 6] = {0, 1, 255, 0, 0, 4, 0, 0xff, 0xff};
    char err[512];
    vigil_nn_model_t *m = load(json, w, sizeof w, err, sizeof err);
    if (!m) fail_msg("%s", err);
    assert_string_equal(vigil_nn_model_output_name(m, 0), "s");
    assert_string_equal(vigil_nn_model_output_name(m, 1), "t");
    float x[3] = {0, 0, 0};
    vigil_nn_tensor_t in = {VIGIL_NN_FLOAT32, 1, {3}, x}, out[2];
    vigil_nn_session_t *s;
    run1(m, &s, &in, out, 2);
    const float *a = out[0].data, *b = out[1].data;
    assert_true(a[0] == -1.0f && a[1] == -0.5f && a[2] == 126.5f);
    assert_true(b[0] == 2.0f && b[1] == 3.0f && b[2] == 16385.75f);
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
}

static void test_tfjs_control_inputs_ignored_and_second_output_used(void **state)
{
    (void)state;
    const char *json = "{'modelTopology':{'node':["
        NODE_IN("x", "DT_FLOAT", "{'size':'1'},{'size':'6'}") ","
        "{'name':'k','op':'Const'},"
        "{'name':'top','op':'TopKV2','input':['x','k','^x'],'attr':{'sorted':{'b':true}}},"
        "{'name':'idx','op':'Identity','input':['top:1','^top']},"
        "{'name':'val','op':'Identity','input':['top']}]},"
        "'weightsManifest':[{'paths':['w.bin'],'weights':[{'name':'k','shape':[],'dtype':'int32'}]}]}";
    int32_t k = 3;
    char err[512];
    vigil_nn_model_t *m = load(json, &k, sizeof k, err, sizeof err);
    if (!m) fail_msg("%s", err);
    assert_int_equal(vigil_nn_model_noutputs(m), 2);
    float x[6] = {0.5f, 2, 0.5f, 7, 2, -1};
    vigil_nn_tensor_t in = {VIGIL_NN_FLOAT32, 2, {1, 6}, x}, out[2];
    vigil_nn_session_t *s;
    run1(m, &s, &in, out, 2);
    int iv = !strcmp(vigil_nn_model_output_name(m, 0), "val") ? 0 : 1;
    const float *v = out[iv].data;
    const int32_t *ix = out[1 - iv].data;
    assert_int_equal(out[1 - iv].dtype, VIGIL_NN_INT32);
    /* ties go to the lower index, as in TF.js */
    assert_true(v[0] == 7 && v[1] == 2 && v[2] == 2);
    assert_int_equal(ix[0], 3);
    assert_int_equal(ix[1], 1);
    assert_int_equal(ix[2], 4);
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
}

static void test_tfjs_unknown_op_error_names_node_and_op(void **state)
{
    (void)state;
    const char *json = "{'modelTopology':{'node':[" NODE_IN("x", "DT_FLOAT", "{'size':'2'}") ","
                       "{'name':'fancy','op':'FancyOp','input':['x']}]},'weightsManifest':[]}";
    char err[512];
    assert_null(load(json, NULL, 0, err, sizeof err));
    assert_non_null(strstr(err, "node \"fancy\""));
    assert_non_null(strstr(err, "FancyOp"));
    /* an unsupported attribute value is named too */
    const char *json2 = "{'modelTopology':{'node':[" NODE_IN("x", "DT_FLOAT", "{'size':'1'},{'size':'4'},{'size':'4'},{'size':'1'}") ","
                        "{'name':'p','op':'MaxPool','input':['x'],'attr':{'data_format':{'s':'TkNIVw=='},"
                        "'ksize':{'list':{'i':['1','2','2','1']}},'strides':{'list':{'i':['1','2','2','1']}}}}]}}";
    assert_null(load(json2, NULL, 0, err, sizeof err));
    assert_non_null(strstr(err, "node \"p\" (op MaxPool)"));
    assert_non_null(strstr(err, "data_format \"NCHW\""));
}

static const char *two_weights = "{'modelTopology':{'node':[" NODE_IN("x", "DT_FLOAT", "{'size':'4'}") ","
    "{'name':'a','op':'Const'},{'name':'b','op':'Const'},"
    "{'name':'s','op':'Add','input':['x','a']},{'name':'t','op':'Mul','input':['s','b']}]},"
    "'weightsManifest':[{'paths':['shard1.bin'],'weights':["
    "{'name':'a','shape':[4],'dtype':'float32'},{'name':'b','shape':[4],'dtype':'float32'}]}]}";

static void test_tfjs_short_shard_names_shard_and_weight(void **state)
{
    (void)state;
    float w[8] = {0};
    char err[512];
    assert_null(load(two_weights, w, 20, err, sizeof err));
    assert_non_null(strstr(err, "shard1.bin"));
    assert_non_null(strstr(err, "\"b\""));
    assert_non_null(strstr(err, "shorter"));
    /* from files: the shard beside model.json is too short */
    char dir[] = "/tmp/vigil-tfjs-XXXXXX", path[300];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/model.json", dir);
    char *json = J(two_weights);
    FILE *f = fopen(path, "w");
    fputs(json, f);
    fclose(f);
    free(json);
    snprintf(path, sizeof path, "%s/shard1.bin", dir);
    f = fopen(path, "wb");
    fwrite(w, 1, 28, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/model.json", dir);
    vigil_nn_load_opts_t o;
    vigil_nn_load_opts_init(&o);
    assert_null(vigil_nn_model_load(path, &o, err, sizeof err));
    assert_non_null(strstr(err, "shard1.bin"));
    assert_non_null(strstr(err, "\"b\""));
    /* the full shard loads */
    snprintf(path, sizeof path, "%s/shard1.bin", dir);
    f = fopen(path, "wb");
    fwrite(w, 1, 32, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/model.json", dir);
    vigil_nn_model_t *m = vigil_nn_model_load(path, &o, err, sizeof err);
    if (!m) fail_msg("%s", err);
    vigil_nn_model_free(m);
    snprintf(path, sizeof path, "%s/shard1.bin", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/model.json", dir);
    unlink(path);
    rmdir(dir);
}

static void test_tfjs_size_mismatch_is_an_error(void **state)
{
    (void)state;
    float w[9] = {0};
    char err[512];
    assert_null(load(two_weights, w, sizeof w, err, sizeof err));
    assert_non_null(strstr(err, "does not match"));
    /* a Const whose declared shape disagrees with the manifest */
    const char *json = "{'modelTopology':{'node':[" NODE_IN("x", "DT_FLOAT", "{'size':'2'}") ","
        "{'name':'a','op':'Const','attr':{'value':{'tensor':{'dtype':'DT_FLOAT','tensorShape':{'dim':[{'size':'3'}]}}}}},"
        "{'name':'s','op':'Add','input':['x','a']}]},"
        "'weightsManifest':[{'paths':['s.bin'],'weights':[{'name':'a','shape':[2],'dtype':'float32'}]}]}";
    assert_null(load(json, w, 8, err, sizeof err));
    assert_non_null(strstr(err, "node \"a\""));
    assert_non_null(strstr(err, "tensorShape"));
}

static void test_tfjs_malformed_json_is_an_error(void **state)
{
    (void)state;
    char err[512];
    assert_null(load("{'modelTopology':{'node':[{'name':'x',", NULL, 0, err, sizeof err));
    assert_non_null(strstr(err, "not valid json"));
    assert_null(load("[1,2,3]", NULL, 0, err, sizeof err));
    assert_non_null(strstr(err, "modelTopology"));
    assert_null(load("{'modelTopology':{'node':[{'name':'y','op':'Relu','input':['nowhere']}]}}", NULL, 0, err,
                     sizeof err));
    assert_non_null(strstr(err, "\"nowhere\" is not defined"));
}

static void test_tfjs_cycle_is_an_error(void **state)
{
    (void)state;
    char err[512];
    const char *json = "{'modelTopology':{'node':[" NODE_IN("x", "DT_FLOAT", "{'size':'2'}") ","
                       "{'name':'a','op':'Add','input':['x','b']},{'name':'b','op':'Relu','input':['a']}]}}";
    assert_null(load(json, NULL, 0, err, sizeof err));
    assert_non_null(strstr(err, "cycle"));
}

static void test_tfjs_strided_slice_masks_and_floor_ops(void **state)
{
    (void)state;
    /* y = x[0, 1:3, ::2] (shrink axis 0, begin/end mask on axis 2); q = a // b, r = a % b */
    const char *json = "{'modelTopology':{'node':[" NODE_IN("x", "DT_FLOAT", "{'size':'2'},{'size':'3'},{'size':'4'}") ","
        "{'name':'b','op':'Const'},{'name':'e','op':'Const'},{'name':'st','op':'Const'},"
        "{'name':'y','op':'StridedSlice','input':['x','b','e','st'],'attr':{'begin_mask':{'i':'4'},"
        "'end_mask':{'i':'4'},'shrink_axis_mask':{'i':'1'},'new_axis_mask':{'i':'0'},'ellipsis_mask':{'i':'0'}}},"
        "{'name':'n','op':'Const'},{'name':'d','op':'Const'},"
        "{'name':'q','op':'FloorDiv','input':['n','d']},{'name':'r','op':'FloorMod','input':['n','d']},"
        "{'name':'qf','op':'Cast','input':['q'],'attr':{'DstT':{'type':'DT_FLOAT'}}},"
        "{'name':'rf','op':'Cast','input':['r'],'attr':{'DstT':{'type':'DT_FLOAT'}}},"
        "{'name':'z','op':'ConcatV2','input':['qf','rf','ax']},{'name':'ax','op':'Const'}]},"
        "'signature':{'outputs':{'y':{'name':'y'},'z':{'name':'z'}}},"
        "'weightsManifest':[{'paths':['w.bin'],'weights':[{'name':'b','shape':[3],'dtype':'int32'},"
        "{'name':'e','shape':[3],'dtype':'int32'},{'name':'st','shape':[3],'dtype':'int32'},"
        "{'name':'n','shape':[3],'dtype':'int32'},{'name':'d','shape':[3],'dtype':'int32'},"
        "{'name':'ax','shape':[],'dtype':'int32'}]}]}";
    int32_t w[16] = {0, 1, 0, 0, 3, 0, 1, 1, 2, -7, 7, -8, 2, -2, 3, 0};
    char err[512];
    vigil_nn_model_t *m = load(json, w, sizeof w, err, sizeof err);
    if (!m) fail_msg("%s", err);
    float x[24];
    for (int i = 0; i < 24; i++) x[i] = (float)i;
    vigil_nn_tensor_t in = {VIGIL_NN_FLOAT32, 3, {2, 3, 4}, x}, out[2];
    vigil_nn_session_t *s;
    run1(m, &s, &in, out, 2);
    assert_int_equal(out[0].ndim, 2);
    assert_int_equal(out[0].dims[0], 2);
    assert_int_equal(out[0].dims[1], 2);
    const float *y = out[0].data, *z = out[1].data;
    assert_true(y[0] == 4 && y[1] == 6 && y[2] == 8 && y[3] == 10);
    assert_true(z[0] == -4 && z[1] == -4 && z[2] == -3); /* floor division */
    assert_true(z[3] == 1 && z[4] == -1 && z[5] == 1);   /* sign of the divisor */
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
}

/* ---- tiny conv net vs a naive NHWC reference ------------------------------------------- */

enum { H = 7, W = 6, CI = 3, CO = 4, MUL = 2 };

static float frand(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (float)((*seed >> 9) & 0xffff) / 32768.0f - 1.0f;
}

/* SAME conv in NHWC, HWIO filter; depthwise when dw (filter HWCM) */
static void ref_conv(const float *x, int h, int w, int ci, const float *f, int k, int stride, int co, int dw,
                     const float *bias, float *y, int *oh, int *ow)
{
    int OH = (h + stride - 1) / stride, OW = (w + stride - 1) / stride;
    int ph = ((OH - 1) * stride + k - h) / 2, pw = ((OW - 1) * stride + k - w) / 2;
    if (ph < 0) ph = 0;
    if (pw < 0) pw = 0;
    int M = dw ? ci * co : co;
    for (int oy = 0; oy < OH; oy++)
        for (int ox = 0; ox < OW; ox++)
            for (int o = 0; o < M; o++) {
                double acc = bias ? bias[o] : 0;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * stride + ky - ph, ix = ox * stride + kx - pw;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        if (dw) {
                            int c = o / co, mm = o % co;
                            acc += x[(iy * w + ix) * ci + c] * f[((ky * k + kx) * ci + c) * co + mm];
                        } else {
                            for (int c = 0; c < ci; c++)
                                acc += x[(iy * w + ix) * ci + c] * f[((ky * k + kx) * ci + c) * co + o];
                        }
                    }
                y[(oy * OW + ox) * M + o] = (float)acc;
            }
    *oh = OH, *ow = OW;
}

static void test_tfjs_tiny_conv_net_matches_naive_nhwc(void **state)
{
    (void)state;
    const char *json = "{'modelTopology':{'node':["
        NODE_IN("x", "DT_FLOAT", "{'size':'1'},{'size':'7'},{'size':'6'},{'size':'3'}") ","
        "{'name':'f1','op':'Const'},{'name':'b1','op':'Const'},{'name':'f2','op':'Const'},{'name':'cb','op':'Const'},"
        "{'name':'ax','op':'Const'},{'name':'mi','op':'Const'},"
        "{'name':'c1','op':'_FusedConv2D','input':['x','f1','b1'],'attr':{'padding':{'s':'U0FNRQ=='},"
        "'strides':{'list':{'i':['1','2','2','1']}},'fused_ops':{'list':{'s':['Qmlhc0FkZA==','UmVsdTY=']}},'num_args':{'i':'1'}}},"
        "{'name':'c2','op':'DepthwiseConv2dNative','input':['c1','f2'],'attr':{'padding':{'s':'U0FNRQ=='},"
        "'strides':{'list':{'i':['1','1','1','1']}}}},"
        "{'name':'a','op':'Add','input':['c2','cb']},"
        "{'name':'cat','op':'ConcatV2','input':['a','c2','ax']},"
        "{'name':'m','op':'Mean','input':['a','mi'],'attr':{'keep_dims':{'b':true}}}]},"
        "'signature':{'outputs':{'cat':{'name':'cat'},'m':{'name':'m'}}},"
        "'weightsManifest':[{'paths':['w.bin'],'weights':["
        "{'name':'f1','shape':[3,3,3,4],'dtype':'float32'},{'name':'b1','shape':[4],'dtype':'float32'},"
        "{'name':'f2','shape':[3,3,4,2],'dtype':'float32'},{'name':'cb','shape':[8],'dtype':'float32'},"
        "{'name':'ax','shape':[],'dtype':'int32'},{'name':'mi','shape':[2],'dtype':'int32'}]}]}";
    enum { NF1 = 3 * 3 * CI * CO, NF2 = 3 * 3 * CO * MUL, M2 = CO * MUL };
    float wts[NF1 + CO + NF2 + M2 + 3];
    unsigned seed = 7;
    for (int i = 0; i < NF1 + CO + NF2 + M2; i++) wts[i] = frand(&seed) * 2;
    int32_t ints[3] = {3, 1, 2};
    memcpy(&wts[NF1 + CO + NF2 + M2], ints, sizeof ints);
    char err[512];
    vigil_nn_model_t *m = load(json, wts, sizeof wts, err, sizeof err);
    if (!m) fail_msg("%s", err);
    float x[H * W * CI];
    for (int i = 0; i < H * W * CI; i++) x[i] = frand(&seed) * 3;
    /* reference */
    float y1[H * W * CO], y2[H * W * M2], a[H * W * M2];
    int oh, ow, oh2, ow2;
    ref_conv(x, H, W, CI, wts, 3, 2, CO, 0, wts + NF1, y1, &oh, &ow);
    for (int i = 0; i < oh * ow * CO; i++) y1[i] = y1[i] < 0 ? 0 : y1[i] > 6 ? 6 : y1[i];
    ref_conv(y1, oh, ow, CO, wts + NF1 + CO, 3, 1, MUL, 1, NULL, y2, &oh2, &ow2);
    for (int i = 0; i < oh2 * ow2 * M2; i++) a[i] = y2[i] + wts[NF1 + CO + NF2 + i % M2];
    vigil_nn_tensor_t in = {VIGIL_NN_FLOAT32, 4, {1, H, W, CI}, x}, out[2];
    vigil_nn_session_t *s;
    run1(m, &s, &in, out, 2);
    int ic = !strcmp(vigil_nn_model_output_name(m, 0), "cat") ? 0 : 1;
    const vigil_nn_tensor_t *cat = &out[ic], *mean = &out[1 - ic];
    assert_int_equal(cat->ndim, 4);
    assert_int_equal(cat->dims[1], oh2);
    assert_int_equal(cat->dims[2], ow2);
    assert_int_equal(cat->dims[3], 2 * M2);
    const float *cv = cat->data, *mv = mean->data;
    for (int p = 0; p < oh2 * ow2; p++)
        for (int c = 0; c < 2 * M2; c++) {
            float want = c < M2 ? a[p * M2 + c] : y2[p * M2 + c - M2];
            float got = cv[p * 2 * M2 + c];
            if (got - want > 1e-4f || want - got > 1e-4f)
                fail_msg("cat at pixel %d channel %d: %g, reference %g", p, c, got, want);
        }
    assert_int_equal(mean->ndim, 4);
    assert_int_equal(mean->dims[3], M2);
    for (int c = 0; c < M2; c++) {
        double sum = 0;
        for (int p = 0; p < oh2 * ow2; p++) sum += a[p * M2 + c];
        float want = (float)(sum / (oh2 * ow2));
        if (mv[c] - want > 1e-4f || want - mv[c] > 1e-4f) fail_msg("mean channel %d: %g, reference %g", c, mv[c], want);
    }
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tfjs_float16_weights_dequantise_exactly),
        cmocka_unit_test(test_tfjs_uint8_uint16_weights_are_affine),
        cmocka_unit_test(test_tfjs_control_inputs_ignored_and_second_output_used),
        cmocka_unit_test(test_tfjs_unknown_op_error_names_node_and_op),
        cmocka_unit_test(test_tfjs_short_shard_names_shard_and_weight),
        cmocka_unit_test(test_tfjs_size_mismatch_is_an_error),
        cmocka_unit_test(test_tfjs_malformed_json_is_an_error),
        cmocka_unit_test(test_tfjs_cycle_is_an_error),
        cmocka_unit_test(test_tfjs_strided_slice_masks_and_floor_ops),
        cmocka_unit_test(test_tfjs_tiny_conv_net_matches_naive_nhwc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
