/* ONNX export (src/nn/onnx/export.c, pbw.c): the protobuf writer against
 * the reader; TF.js models exported and loaded back through the ONNX loader
 * give the same outputs bit for bit (TopKV2 with ties, FloorDiv/FloorMod on
 * floats and ints); a fused conv (activation + affine) is unfused into ONNX
 * nodes that compute the same; writing to an unwritable path fails naming
 * the path and leaves nothing behind. ONNX Runtime on the exported CenterNet
 * is tests/integration/test_nn_export.py. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "nn/onnx/export.h"
#include "nn/onnx/pb.h"
#include "nn/onnx/pbw.h"
#include "vigil/nn.h"

static char *J(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; *p; p++)
        if (*p == '\'') *p = '"';
    return d;
}

static vigil_nn_model_t *load_tfjs(const char *json_q, const void *w, size_t wlen, int optimize)
{
    char *json = J(json_q), err[512] = "";
    vigil_nn_load_opts_t o;
    vigil_nn_load_opts_init(&o);
    o.optimize = optimize;
    vigil_nn_model_t *m = vigil_nn_model_load_tfjs(json, strlen(json), w, wlen, &o, err, sizeof err);
    free(json);
    if (!m) fail_msg("tfjs load: %s", err);
    return m;
}

/* export m, load the bytes back with the ONNX loader */
static vigil_nn_model_t *round_trip(const vigil_nn_model_t *m, int optimize)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[512] = "";
    if (vigil__nn_export_onnx_buf(m, &buf, &len, err, sizeof err)) fail_msg("export: %s", err);
    vigil_nn_load_opts_t o;
    vigil_nn_load_opts_init(&o);
    o.optimize = optimize;
    vigil_nn_model_t *r = vigil_nn_model_load_onnx(buf, len, &o, err, sizeof err);
    free(buf);
    if (!r) fail_msg("reload: %s", err);
    return r;
}

static void run(const vigil_nn_model_t *m, vigil_nn_session_t **s, vigil_nn_tensor_t *in,
                vigil_nn_tensor_t *out, size_t nout)
{
    char err[256];
    *s = vigil_nn_session_new(m, NULL, err, sizeof err);
    assert_non_null(*s);
    if (vigil_nn_run(*s, in, 1, out, nout, err, sizeof err)) fail_msg("run: %s", err);
}

static int has_op(const vigil_nn_model_t *m, const char *op)
{
    char *ops = vigil_nn_model_op_types(m);
    int found = 0;
    for (const char *p = ops; p && *p; p += strlen(p) + 1) found |= !strcmp(p, op);
    free(ops);
    return found;
}

#define NODE_IN(name, dt, shape) \
    "{'name':'" name "','op':'Placeholder','attr':{'dtype':{'type':'" dt "'},'shape':{'shape':{'dim':[" shape "]}}}}"

static void test_pbw_writes_what_pb_reads(void **state)
{
    (void)state;
    pbw_t w;
    vigil__pbw_init(&w);
    int64_t iv[4] = {0, 300, -1, INT64_MAX};
    float fv[3] = {1.5f, -0.0f, 3e38f};
    vigil__pbw_varint(&w, 1, 0);
    vigil__pbw_varint(&w, 2, (uint64_t)(int64_t)-5);
    vigil__pbw_float(&w, 3, -2.25f);
    vigil__pbw_str(&w, 4, "abc");
    vigil__pbw_packed_i64(&w, 5, iv, 4);
    vigil__pbw_packed_f32(&w, 6, fv, 3);
    vigil__pbw_varint(&w, 536870911, UINT64_MAX); /* the largest field number */
    assert_int_equal(w.err, 0);
    pb_reader_t r;
    uint32_t f;
    int wire;
    size_t l;
    vigil__pb_init(&r, w.p, w.len);
    assert_true(vigil__pb_next(&r, &f, &wire) && f == 1 && wire == PB_VARINT);
    assert_int_equal(vigil__pb_varint(&r), 0);
    assert_true(vigil__pb_next(&r, &f, &wire) && f == 2);
    assert_int_equal((int64_t)vigil__pb_varint(&r), -5);
    assert_true(vigil__pb_next(&r, &f, &wire) && f == 3 && wire == PB_I32);
    uint32_t u = vigil__pb_fixed32(&r);
    float x;
    memcpy(&x, &u, 4);
    assert_true(x == -2.25f);
    assert_true(vigil__pb_next(&r, &f, &wire) && f == 4 && wire == PB_LEN);
    const uint8_t *p = vigil__pb_bytes(&r, &l);
    assert_true(p && l == 3 && !memcmp(p, "abc", 3));
    int64_t *gi = NULL;
    float *gf = NULL;
    size_t ni = 0, ci = 0, nf = 0, cf = 0;
    assert_true(vigil__pb_next(&r, &f, &wire) && f == 5);
    assert_int_equal(vigil__pb_repeated(&r, wire, 'v', (void **)&gi, &ni, &ci), 0);
    assert_int_equal(ni, 4);
    assert_memory_equal(gi, iv, sizeof iv);
    assert_true(vigil__pb_next(&r, &f, &wire) && f == 6);
    assert_int_equal(vigil__pb_repeated(&r, wire, 'f', (void **)&gf, &nf, &cf), 0);
    assert_int_equal(nf, 3);
    assert_memory_equal(gf, fv, sizeof fv);
    assert_true(vigil__pb_next(&r, &f, &wire) && f == 536870911);
    assert_true(vigil__pb_varint(&r) == UINT64_MAX);
    assert_false(vigil__pb_next(&r, &f, &wire));
    assert_int_equal(r.err, 0);
    free(gi);
    free(gf);
    vigil__pbw_free(&w);
}

/* TopKV2 (ties), FloorDiv/FloorMod on floats (negative operands) and on
 * int32 (through a Cast), exported before any pass and loaded back. */
static void test_export_tfjs_ops_round_trip_bit_identical(void **state)
{
    (void)state;
    const char *json = "{'modelTopology':{'node':["
        NODE_IN("x", "DT_FLOAT", "{'size':'1'},{'size':'6'}") ","
        "{'name':'k','op':'Const'},{'name':'d','op':'Const'},{'name':'di','op':'Const'},"
        "{'name':'top','op':'TopKV2','input':['x','k'],'attr':{'sorted':{'b':true}}},"
        "{'name':'idx','op':'Identity','input':['top:1']},"
        "{'name':'val','op':'Identity','input':['top']},"
        "{'name':'fd','op':'FloorDiv','input':['x','d']},"
        "{'name':'fm','op':'FloorMod','input':['x','d']},"
        "{'name':'xi','op':'Cast','input':['x'],'attr':{'DstT':{'type':'DT_INT32'}}},"
        "{'name':'qi','op':'FloorDiv','input':['xi','di']},"
        "{'name':'ri','op':'FloorMod','input':['xi','di']}]},"
        "'signature':{'outputs':{'val':{'name':'val'},'idx':{'name':'idx'},'fd':{'name':'fd'},"
        "'fm':{'name':'fm'},'qi':{'name':'qi'},'ri':{'name':'ri'}}},"
        "'weightsManifest':[{'paths':['w.bin'],'weights':[{'name':'k','shape':[],'dtype':'int32'},"
        "{'name':'d','shape':[],'dtype':'float32'},{'name':'di','shape':[],'dtype':'int32'}]}]}";
    struct {
        int32_t k;
        float d;
        int32_t di;
    } w = {4, -2.5f, -3};
    vigil_nn_model_t *m = load_tfjs(json, &w, sizeof w, 0);
    vigil_nn_model_t *r = round_trip(m, 1);
    assert_false(has_op(r, "TfTopKV2"));
    assert_true(has_op(r, "TopK"));
    size_t nout = vigil_nn_model_noutputs(m);
    assert_int_equal(nout, 6);
    assert_int_equal(vigil_nn_model_noutputs(r), nout);
    float x[6] = {7.5f, -4, 2, -4, 9, -11.25f};
    vigil_nn_tensor_t in = {VIGIL_NN_FLOAT32, 2, {1, 6}, x}, a[6], b[6];
    vigil_nn_session_t *sa, *sb;
    run(m, &sa, &in, a, nout);
    run(r, &sb, &in, b, nout);
    for (size_t i = 0; i < nout; i++) {
        assert_string_equal(vigil_nn_model_output_name(m, i), vigil_nn_model_output_name(r, i));
        assert_int_equal(a[i].dtype, b[i].dtype);
        assert_int_equal(a[i].ndim, b[i].ndim);
        assert_memory_equal(a[i].dims, b[i].dims, sizeof(int64_t) * (size_t)a[i].ndim);
        assert_memory_equal(a[i].data, b[i].data,
                            (size_t)vigil_nn_tensor_numel(&a[i]) * vigil_nn_dtype_size(a[i].dtype));
        const char *nm = vigil_nn_model_output_name(m, i);
        if (!strcmp(nm, "idx")) { /* ties to the lower index: 9, 7.5, 2, then -4 at 1 */
            const int32_t *ix = b[i].data;
            assert_true(b[i].dtype == VIGIL_NN_INT32 && ix[0] == 4 && ix[1] == 0 && ix[2] == 2 && ix[3] == 1);
        } else if (!strcmp(nm, "ri")) { /* floor modulo takes the divisor's sign */
            const int32_t *ri = b[i].data;
            assert_true(ri[0] == -2 && ri[1] == -1 && ri[2] == -1 && ri[4] == 0 && ri[5] == -2);
        } else if (!strcmp(nm, "fd")) {
            const float *fd = b[i].data;
            assert_true(fd[0] == -3 && fd[1] == 1 && fd[5] == 4);
        }
    }
    vigil_nn_session_free(sa);
    vigil_nn_session_free(sb);
    vigil_nn_model_free(r);
    vigil_nn_model_free(m);
}

/* 1x1 conv (NHWC, through the loader's transposes) -> Relu -> * 0.5 -> + 0.25,
 * optimised (one Conv with a fused activation and affine), exported and
 * loaded back without passes: Relu, Mul and Add are nodes again and the
 * outputs agree. */
static void test_export_unfuses_fused_activation_and_affine(void **state)
{
    (void)state;
    const char *json = "{'modelTopology':{'node':["
        NODE_IN("x", "DT_FLOAT", "{'size':'1'},{'size':'3'},{'size':'3'},{'size':'2'}") ","
        "{'name':'f','op':'Const'},{'name':'s','op':'Const'},{'name':'t','op':'Const'},"
        "{'name':'c','op':'Conv2D','input':['x','f'],'attr':{'strides':{'list':{'i':['1','1','1','1']}},"
        "'padding':{'s':'VkFMSUQ='},'data_format':{'s':'TkhXQw=='}}},"
        "{'name':'r','op':'Relu','input':['c']},"
        "{'name':'m','op':'Mul','input':['r','s']},"
        "{'name':'y','op':'AddV2','input':['m','t']}]},"
        "'weightsManifest':[{'paths':['w.bin'],'weights':[{'name':'f','shape':[1,1,2,3],'dtype':'float32'},"
        "{'name':'s','shape':[],'dtype':'float32'},{'name':'t','shape':[],'dtype':'float32'}]}]}";
    float w[8] = {1, -2, 0.5f, 3, 1, -1, 0.5f, 0.25f};
    vigil_nn_model_t *m = load_tfjs(json, w, sizeof w, 1);
    assert_false(has_op(m, "Relu")); /* fused into the conv */
    vigil_nn_model_t *r = round_trip(m, 0);
    assert_true(has_op(r, "Relu") && has_op(r, "Mul") && has_op(r, "Add") && has_op(r, "Conv"));
    float x[18];
    for (int i = 0; i < 18; i++) x[i] = (float)(i % 7) - 3;
    vigil_nn_tensor_t in = {VIGIL_NN_FLOAT32, 4, {1, 3, 3, 2}, x}, a, b;
    vigil_nn_session_t *sa, *sb;
    run(m, &sa, &in, &a, 1);
    run(r, &sb, &in, &b, 1);
    assert_int_equal(vigil_nn_tensor_numel(&a), 27);
    assert_int_equal(vigil_nn_tensor_numel(&b), 27);
    const float *ya = a.data, *yb = b.data;
    int positive = 0;
    for (int i = 0; i < 27; i++) {
        assert_float_equal(ya[i], yb[i], 1e-6);
        assert_true(yb[i] >= 0.25f); /* relu, * 0.5, + 0.25 */
        positive += yb[i] > 0.25f;
    }
    assert_true(positive > 0);
    vigil_nn_session_free(sa);
    vigil_nn_session_free(sb);
    vigil_nn_model_free(r);
    vigil_nn_model_free(m);
}

static void test_export_to_unwritable_path_names_it_and_leaves_nothing(void **state)
{
    (void)state;
    const char *json = "{'modelTopology':{'node':[" NODE_IN("x", "DT_FLOAT", "{'size':'2'}") ","
                       "{'name':'y','op':'Relu','input':['x']}]},'weightsManifest':[]}";
    vigil_nn_model_t *m = load_tfjs(json, NULL, 0, 0);
    char dir[] = "/tmp/vigil-export-XXXXXX", path[256], err[512];
    assert_non_null(mkdtemp(dir));
    /* a directory that does not exist */
    snprintf(path, sizeof path, "%s/no/such/dir/m.onnx", dir);
    assert_int_equal(vigil__nn_export_onnx(m, path, err, sizeof err), VIGIL_ERR_IO);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file or directory"));
    /* a parent that is a file */
    char file[256];
    snprintf(file, sizeof file, "%s/file", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/file/m.onnx", dir);
    assert_int_equal(vigil__nn_export_onnx(m, path, err, sizeof err), VIGIL_ERR_IO);
    assert_non_null(strstr(err, "Not a directory"));
    /* the target is a directory: the rename fails, the temporary file goes */
    snprintf(path, sizeof path, "%s/adir", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(vigil__nn_export_onnx(m, path, err, sizeof err), VIGIL_ERR_IO);
    assert_non_null(strstr(err, path));
    /* a good path works; nothing else is left in the directory */
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    assert_int_equal(vigil__nn_export_onnx(m, path, err, sizeof err), VIGIL_OK);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') {
            entries++;
            assert_true(!strcmp(e->d_name, "file") || !strcmp(e->d_name, "adir") || !strcmp(e->d_name, "m.onnx"));
        }
    closedir(d);
    assert_int_equal(entries, 3);
    vigil_nn_model_t *r = vigil_nn_model_load(path, NULL, err, sizeof err);
    if (!r) fail_msg("reload %s: %s", path, err);
    assert_string_equal(vigil_nn_model_output_name(r, 0), "y");
    vigil_nn_model_free(r);
    unlink(path);
    unlink(file);
    snprintf(path, sizeof path, "%s/adir", dir);
    rmdir(path);
    rmdir(dir);
    vigil_nn_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pbw_writes_what_pb_reads),
        cmocka_unit_test(test_export_tfjs_ops_round_trip_bit_identical),
        cmocka_unit_test(test_export_unfuses_fused_activation_and_affine),
        cmocka_unit_test(test_export_to_unwritable_path_names_it_and_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
