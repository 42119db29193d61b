/* Transpose's fast paths (ops_shape.c: axes merged, then a blocked 2-D or
 * batched last-two-axes transpose; the n-d walk for the rest) and ONNX
 * TopK's k-heap (ops_reduce.c; the selection sort when a NaN is present)
 * against references written out here: random shapes and permutations
 * with size-1 axes and odd sizes, element sizes 1, 4 and 8 bytes (Cast
 * around the Transpose), TopK on every axis, largest and smallest, many
 * ties (equal values: lower index first), -0/+0 and NaN. Models go through
 * the real loader. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn/cpu/isa.h"
#include "nn_support.h"
#include "vigil/nn.h"

static void attr_int(pbw_t *node, const char *name, int64_t v)
{
    pbw_t a = {0};
    pbw_str(&a, 1, name);
    pbw_int(&a, 3, v);
    pbw_int(&a, 20, 2);
    pbw_msg(node, 5, &a);
}

static void attr_ints(pbw_t *node, const char *name, const int64_t *v, int n)
{
    pbw_t a = {0};
    pbw_str(&a, 1, name);
    for (int i = 0; i < n; i++) pbw_int(&a, 8, v[i]);
    pbw_int(&a, 20, 7);
    pbw_msg(node, 5, &a);
}

static void node1(pbw_t *g, const char *op, const char *in, const char *out, const char *attr, int64_t v)
{
    pbw_t n = {0};
    pbw_str(&n, 1, in);
    pbw_str(&n, 2, out);
    pbw_str(&n, 4, op);
    if (attr) attr_int(&n, attr, v);
    pbw_msg(g, 1, &n);
}

static vigil_nn_session_t *session(pbw_t *g, vigil_nn_model_t **m)
{
    pbw_t model = {0};
    char err[512];
    pbw_model(&model, g, 13);
    *m = vigil_nn_model_load_onnx(model.b, model.n, NULL, err, sizeof err);
    free(model.b);
    if (!*m) fail_msg("load: %s", err);
    vigil_nn_session_opts_t so;
    vigil_nn_session_opts_init(&so);
    so.threads = 1;
    vigil_nn_session_t *s = vigil_nn_session_new(*m, &so, err, sizeof err);
    if (!s) fail_msg("session: %s", err);
    return s;
}

/* dtype 1 (float) transposes x as is; 2 (uint8) and 7 (int64) cast around it */
static void transpose_case(int nd, const int64_t *dims, const int *perm, int dtype)
{
    int64_t od[8], n = 1, perm64[8];
    for (int i = 0; i < nd; i++) od[i] = dims[perm[i]], n *= dims[i], perm64[i] = perm[i];
    pbw_t g = {0}, node = {0};
    pbw_value_info(&g, 11, "x", nd, dims);
    pbw_value_info(&g, 12, "y", nd, od);
    if (dtype != 1) node1(&g, "Cast", "x", "xc", "to", dtype);
    pbw_str(&node, 1, dtype != 1 ? "xc" : "x");
    pbw_str(&node, 2, dtype != 1 ? "yc" : "y");
    pbw_str(&node, 4, "Transpose");
    attr_ints(&node, "perm", perm64, nd);
    pbw_msg(&g, 1, &node);
    if (dtype != 1) node1(&g, "Cast", "yc", "y", "to", 1);
    vigil_nn_model_t *m;
    vigil_nn_session_t *s = session(&g, &m);
    float *x = malloc(sizeof(float) * (size_t)(n ? n : 1));
    assert_non_null(x);
    for (int64_t i = 0; i < n; i++) x[i] = (float)(i % 251);
    vigil_nn_tensor_t in = {.dtype = VIGIL_NN_FLOAT32, .ndim = nd, .data = x}, out;
    memcpy(in.dims, dims, sizeof(int64_t) * (size_t)nd);
    char err[512];
    if (vigil_nn_run(s, &in, 1, &out, 1, err, sizeof err)) fail_msg("run: %s", err);
    const float *y = out.data;
    int64_t idx[8] = {0}, xs[8], st = 1;
    for (int i = nd - 1; i >= 0; i--) xs[i] = st, st *= dims[i];
    for (int64_t o = 0; o < n; o++) {
        int64_t off = 0;
        for (int i = 0; i < nd; i++) off += idx[i] * xs[perm[i]];
        if (y[o] != x[off])
            fail_msg("rank %d dtype %d: output %lld is %g, want %g", nd, dtype, (long long)o, y[o], x[off]);
        for (int i = nd - 1; i >= 0; i--) {
            if (++idx[i] < od[i]) break;
            idx[i] = 0;
        }
    }
    free(x);
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
}

static void transpose_cases(void)
{
    const int64_t nchw[] = {2, 5, 33, 37}, nhwc[] = {1, 31, 35, 6}, mat[] = {67, 45}, b3[] = {3, 40, 9};
    const int64_t ones[] = {1, 5, 1, 7}, big[] = {1, 80, 128, 128};
    const int p0231[] = {0, 2, 3, 1}, p0312[] = {0, 3, 1, 2}, p10[] = {1, 0}, p021[] = {0, 2, 1};
    const int p3120[] = {3, 1, 2, 0}, p102[] = {1, 0, 2}, p2103[] = {2, 1, 0, 3};
    for (int dt = 0; dt < 3; dt++) {
        int dtype = dt == 0 ? 1 : dt == 1 ? 2 : 7;
        transpose_case(4, nchw, p0231, dtype); /* NCHW -> NHWC */
        transpose_case(4, nhwc, p0312, dtype); /* NHWC -> NCHW */
        transpose_case(2, mat, p10, dtype);
        transpose_case(3, b3, p021, dtype);   /* last two axes */
        transpose_case(4, ones, p3120, dtype); /* size-1 axes merge away: 2-D */
        transpose_case(3, b3, p102, dtype);   /* the n-d walk */
        transpose_case(4, nchw, p2103, dtype);
    }
    transpose_case(4, big, p0231, 1); /* CenterNet's heatmap */
    srand(11);
    for (int r = 0; r < 60; r++) {
        int nd = 1 + rand() % 5, perm[5];
        int64_t dims[5];
        for (int i = 0; i < nd; i++) dims[i] = rand() % 4 == 0 ? 1 : 1 + rand() % 37, perm[i] = i;
        for (int i = nd - 1; i > 0; i--) {
            int j = rand() % (i + 1), t = perm[i];
            perm[i] = perm[j], perm[j] = t;
        }
        transpose_case(nd, dims, perm, r % 3 == 0 ? 1 : r % 3 == 1 ? 2 : 7);
    }
}

/* on every tier this CPU runs (float tiles go through AVX2's 8x8 blocks) */
static void test_transpose_fast_paths_equal_the_index_formula(void **state)
{
    (void)state;
    int best = (int)vigil__nn_isa();
    for (int tier = 0; tier <= best; tier++)
        if (!vigil__nn_isa_force((vigil_nn_isa_t)tier)) transpose_cases();
    assert_int_equal(vigil__nn_isa_force((vigil_nn_isa_t)best), 0);
}

/* ---- TopK ---- */

static const float *g_v;
static int g_largest;

static int by_rank(const void *a, const void *b)
{
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    float u = g_v[i], v = g_v[j];
    if (u != v) return g_largest ? (u > v ? -1 : 1) : (u < v ? -1 : 1);
    return i < j ? -1 : i > j;
}

/* ONNX TopK's selection sort as it was before the heap (its order with NaN) */
static void selection(const float *v, int64_t dim, int64_t k, int largest, int64_t *ix)
{
    for (int64_t i = 0; i < dim; i++) ix[i] = i;
    for (int64_t s = 0; s < k; s++) {
        int64_t best = s;
        for (int64_t i = s + 1; i < dim; i++) {
            double bv = v[ix[best]], x = v[ix[i]];
            int better = largest ? x > bv : x < bv;
            if (better || (x == bv && ix[i] < ix[best])) best = i;
        }
        int64_t t = ix[s];
        ix[s] = ix[best], ix[best] = t;
    }
}

static void topk_case(int nd, const int64_t *dims, int axis, int64_t k, int largest, int nan)
{
    int64_t od[8], n = 1;
    for (int i = 0; i < nd; i++) od[i] = i == axis ? k : dims[i], n *= dims[i];
    pbw_t g = {0}, node = {0}, kt = {0};
    pbw_value_info(&g, 11, "x", nd, dims);
    pbw_value_info(&g, 12, "v", nd, od);
    pbw_value_info(&g, 12, "i", nd, od);
    pbw_int(&kt, 1, 1); /* TensorProto K: dims [1], INT64, int64_data, name */
    pbw_int(&kt, 2, 7);
    pbw_int(&kt, 7, k);
    pbw_str(&kt, 8, "k");
    pbw_msg(&g, 5, &kt);
    pbw_str(&node, 1, "x");
    pbw_str(&node, 1, "k");
    pbw_str(&node, 2, "v");
    pbw_str(&node, 2, "i");
    pbw_str(&node, 4, "TopK");
    attr_int(&node, "axis", axis);
    attr_int(&node, "largest", largest);
    pbw_msg(&g, 1, &node);
    vigil_nn_model_t *m;
    vigil_nn_session_t *s = session(&g, &m);
    float *x = malloc(sizeof(float) * (size_t)n);
    assert_non_null(x);
    for (int64_t i = 0; i < n; i++) {
        x[i] = (float)(rand() % 23) - 11; /* many ties */
        if (rand() % 13 == 0) x[i] = rand() % 2 ? -0.0f : 0.0f;
        if (nan && rand() % 17 == 0) x[i] = NAN;
    }
    vigil_nn_tensor_t in = {.dtype = VIGIL_NN_FLOAT32, .ndim = nd, .data = x}, out[2];
    memcpy(in.dims, dims, sizeof(int64_t) * (size_t)nd);
    char err[512];
    if (vigil_nn_run(s, &in, 1, out, 2, err, sizeof err)) fail_msg("run: %s", err);
    assert_int_equal(out[1].dtype, VIGIL_NN_INT64);
    const float *yv = out[0].data;
    const int64_t *yi = out[1].data;
    int64_t dim = dims[axis], outer = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= dims[i];
    for (int i = axis + 1; i < nd; i++) inner *= dims[i];
    float *row = malloc(sizeof(float) * (size_t)dim);
    int64_t *ix = malloc(sizeof(int64_t) * (size_t)dim);
    assert_true(row && ix);
    for (int64_t a = 0; a < outer; a++)
        for (int64_t i = 0; i < inner; i++) {
            int has_nan = 0;
            for (int64_t d = 0; d < dim; d++) {
                row[d] = x[(a * dim + d) * inner + i];
                has_nan |= row[d] != row[d];
            }
            if (has_nan) {
                selection(row, dim, k, largest, ix);
            } else {
                for (int64_t d = 0; d < dim; d++) ix[d] = d;
                g_v = row, g_largest = largest;
                qsort(ix, (size_t)dim, sizeof *ix, by_rank);
            }
            for (int64_t s2 = 0; s2 < k; s2++) {
                int64_t o = (a * k + s2) * inner + i;
                if (yi[o] != ix[s2] || memcmp(&yv[o], &row[ix[s2]], sizeof(float)))
                    fail_msg("axis %d k %lld largest %d nan %d: slice (%lld,%lld) rank %lld: index %lld value %g, "
                             "want %lld %g", axis, (long long)k, largest, nan, (long long)a, (long long)i,
                             (long long)s2, (long long)yi[o], yv[o], (long long)ix[s2], row[ix[s2]]);
            }
        }
    free(row);
    free(ix);
    free(x);
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
}

static void test_topk_heap_equals_a_stable_sort_and_keeps_the_nan_order(void **state)
{
    (void)state;
    srand(5);
    const int64_t flat[] = {1, 20000}, d3[] = {3, 57, 5}, d2[] = {7, 1};
    for (int largest = 0; largest <= 1; largest++)
        for (int nan = 0; nan <= 1; nan++) {
            topk_case(2, flat, 1, 100, largest, nan); /* CenterNet's top 100 of the flattened heatmap */
            topk_case(2, flat, 1, 0, largest, nan);
            topk_case(3, d3, 1, 57, largest, nan); /* k = dim, a strided axis */
            topk_case(3, d3, 1, 1, largest, nan);
            topk_case(3, d3, 0, 2, largest, nan);
            topk_case(3, d3, 2, 3, largest, nan);
            topk_case(2, d2, 0, 4, largest, nan);
        }
    for (int r = 0; r < 30; r++) {
        int64_t dims[3] = {1 + rand() % 4, 1 + rand() % 90, 1 + rand() % 3};
        int axis = rand() % 3;
        topk_case(3, dims, axis, rand() % (dims[axis] + 1), rand() % 2, rand() % 3 == 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transpose_fast_paths_equal_the_index_formula),
        cmocka_unit_test(test_topk_heap_equals_a_stable_sort_and_keeps_the_nan_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
