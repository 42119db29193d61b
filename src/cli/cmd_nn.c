/* `vigil nn`: tools around vigil-nn, the inference engine.
 *
 *   vigil nn conformance [DIR] [--filter S] [--expected FILE] [--threads N]
 *       runs ONNX backend node tests (DIR/<test>/model.onnx +
 *       test_data_set_N/input_N.pb, output_N.pb), prints PASS / FAIL /
 *       UNSUPPORTED per test, a per-op summary, and last the line
 *       "N passed, M failed, K skipped". Exit 1 when a test fails that
 *       FILE does not list as an expected failure.
 *   vigil nn info MODEL          inputs, outputs, op types
 *   vigil nn run MODEL [--shape 1x3x640x640] [--threads N] [--runs N] [--profile]
 *                [--input X.f32] [--dump DIR] [--quant NAME-int8.vq]
 *       runs the model on constant inputs (or input 0 read from X.f32, raw
 *       float32 of --shape) and prints the median latency; --dump writes
 *       each output as DIR/output_I.bin (raw) and prints a JSON line for it.
 *   vigil nn export MODEL OUT.onnx
 *       writes the model as loaded (before vigil's fusions) as a standard
 *       ONNX file (src/nn/onnx/export.c) that ONNX Runtime can run. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cmd_models.h"
#include "vigil/clock.h"
#include "vigil/file.h"
#include "nn/onnx/export.h"
#include "nn/onnx/onnx.h"
#include "vigil/nn.h"
#include "vigil/nn_quant.h"

#define DEFAULT_DIR "/usr/share/libonnx-testdata/data/node"
#define MAX_IO 64

#define TEST_FILE_MAX ((size_t)1 << 30) /* a conformance model or tensor file */

/* A test file (model.onnx, input_N.pb) read whole (vigil/file.h). */
static vigil_err_t read_all(const char *path, uint8_t **buf, size_t *len, char *err,
                            size_t err_size)
{
    char *b = NULL;
    vigil_err_t e = vigil_file_read(path, TEST_FILE_MAX, &b, len, err, err_size);
    if (e == VIGIL_OK) *buf = (uint8_t *)b;
    return e;
}

typedef struct op_stat {
    char op[64];
    int pass, fail, skip;
} op_stat_t;

typedef struct conf_state {
    op_stat_t *ops;
    int nops, cap;
    char **expected;
    int nexpected;
} conf_state_t;

static op_stat_t *stat_for(conf_state_t *st, const char *op)
{
    for (int i = 0; i < st->nops; i++)
        if (!strcmp(st->ops[i].op, op)) return &st->ops[i];
    if (st->nops == st->cap) {
        int cap = st->cap ? st->cap * 2 : 64;
        op_stat_t *o = realloc(st->ops, sizeof *o * (size_t)cap);
        if (!o) return NULL;
        st->ops = o;
        st->cap = cap;
    }
    op_stat_t *s = &st->ops[st->nops++];
    memset(s, 0, sizeof *s);
    snprintf(s->op, sizeof s->op, "%s", op);
    return s;
}

static int is_expected(const conf_state_t *st, const char *name)
{
    for (int i = 0; i < st->nexpected; i++)
        if (!strcmp(st->expected[i], name)) return 1;
    return 0;
}

static void load_expected(conf_state_t *st, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '#' || *p == '\n' || !*p) continue;
        size_t n = strcspn(p, " \t#\n");
        p[n] = 0;
        char **e = realloc(st->expected, sizeof *e * (size_t)(st->nexpected + 1));
        if (!e) break;
        st->expected = e;
        st->expected[st->nexpected++] = strdup(p);
    }
    fclose(f);
}

/* Op of a test: the single node's op type, else the last node's + " (graph)". */
static void test_op(const uint8_t *buf, size_t len, char *op, size_t size)
{
    nn_graph_t g;
    vigil__nn_graph_init(&g);
    snprintf(op, size, "?");
    char err[64];
    if (!vigil__onnx_load(buf, len, &g, err, sizeof err) && g.nnodes > 0)
        snprintf(op, size, "%s%s", g.nodes[g.nnodes - 1].op_type, g.nnodes > 1 ? " (graph)" : "");
    else if (!strncmp(err, "unsupported: node", 17)) {
        const char *p = strstr(err, "op ");
        if (p) snprintf(op, size, "%.*s", (int)strcspn(p + 3, " "), p + 3);
    }
    vigil__nn_graph_release(&g);
}

static int close_enough(const vigil_nn_tensor_t *got, const vigil_nn_tensor_t *want, char *why,
                        size_t size)
{
    char a[128], b[128];
    if (got->dtype != want->dtype) {
        snprintf(why, size, "dtype %s, want %s", vigil_nn_dtype_name(got->dtype),
                 vigil_nn_dtype_name(want->dtype));
        return 0;
    }
    int same = got->ndim == want->ndim;
    for (int i = 0; same && i < got->ndim; i++) same = got->dims[i] == want->dims[i];
    if (!same) {
        snprintf(why, size, "shape %s, want %s", vigil__nn_shape_str(got->ndim, got->dims, a, sizeof a),
                 vigil__nn_shape_str(want->ndim, want->dims, b, sizeof b));
        return 0;
    }
    int64_t n = vigil_nn_tensor_numel(want);
    int fl = want->dtype == VIGIL_NN_FLOAT32 || want->dtype == VIGIL_NN_FLOAT64 ||
             want->dtype == VIGIL_NN_FLOAT16;
    for (int64_t i = 0; i < n; i++) {
        if (fl) {
            double x = vigil__nn_get_double(got, i), y = vigil__nn_get_double(want, i);
            if (isnan(y) && isnan(x)) continue;
            if (isinf(y) && x == y) continue;
            double tol = want->dtype == VIGIL_NN_FLOAT16 ? 1e-2 : 1e-4;
            if (!(fabs(x - y) <= tol + 1e-3 * fabs(y))) {
                snprintf(why, size, "element %lld: %g, want %g", (long long)i, x, y);
                return 0;
            }
        } else if (vigil__nn_get_int(got, i) != vigil__nn_get_int(want, i)) {
            snprintf(why, size, "element %lld: %lld, want %lld", (long long)i,
                     (long long)vigil__nn_get_int(got, i), (long long)vigil__nn_get_int(want, i));
            return 0;
        }
    }
    return 1;
}

enum { R_PASS, R_FAIL, R_SKIP };

static int is_unsupported(const char *msg)
{
    return strstr(msg, "unsupported") != NULL;
}

/* Runs one test dir; fills why. */
static int run_test(const char *dir, int threads, char *op, size_t opsize, char *why, size_t size)
{
    char path[4096];
    uint8_t *buf = NULL;
    size_t len;
    vigil_nn_model_t *m = NULL;
    vigil_nn_session_t *s = NULL;
    vigil_nn_tensor_t in[MAX_IO], want[MAX_IO], got[MAX_IO];
    int nin = 0, nwant = 0, res = R_FAIL;
    char err[512];
    snprintf(op, opsize, "?");
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    if (read_all(path, &buf, &len, err, sizeof err)) {
        snprintf(why, size, "%s", err);
        return R_FAIL;
    }
    test_op(buf, len, op, opsize);
    m = vigil_nn_model_load_onnx(buf, len, NULL, err, sizeof err);
    free(buf);
    if (!m) {
        snprintf(why, size, "%s", err);
        return is_unsupported(err) ? R_SKIP : R_FAIL;
    }
    vigil_nn_session_opts_t so;
    vigil_nn_session_opts_init(&so);
    so.threads = threads;
    s = vigil_nn_session_new(m, &so, err, sizeof err);
    if (!s) {
        snprintf(why, size, "%s", err);
        goto done;
    }
    res = R_PASS;
    for (int set = 0; res == R_PASS; set++) {
        char sd[4096];
        snprintf(sd, sizeof sd, "%s/test_data_set_%d", dir, set);
        DIR *d = opendir(sd);
        if (!d) {
            if (set == 0) {
                snprintf(why, size, "no test_data_set_0");
                res = R_FAIL;
            }
            break;
        }
        closedir(d);
        for (nin = 0; nin < MAX_IO; nin++) {
            snprintf(path, sizeof path, "%s/input_%d.pb", sd, nin);
            vigil_err_t e = read_all(path, &buf, &len, err, sizeof err);
            if (e == VIGIL_ERR_NOT_FOUND) break; /* the last one was the last */
            if (e) {
                snprintf(why, size, "%s", err);
                res = R_FAIL;
                goto free_io;
            }
            e = vigil__onnx_parse_tensor(buf, len, &in[nin], NULL, err, sizeof err);
            free(buf);
            if (e) {
                snprintf(why, size, "input_%d.pb: %s", nin, err);
                res = is_unsupported(err) ? R_SKIP : R_FAIL;
                goto free_io;
            }
        }
        for (nwant = 0; nwant < MAX_IO; nwant++) {
            snprintf(path, sizeof path, "%s/output_%d.pb", sd, nwant);
            vigil_err_t e = read_all(path, &buf, &len, err, sizeof err);
            if (e == VIGIL_ERR_NOT_FOUND) break; /* the last one was the last */
            if (e) {
                snprintf(why, size, "%s", err);
                res = R_FAIL;
                goto free_io;
            }
            e = vigil__onnx_parse_tensor(buf, len, &want[nwant], NULL, err, sizeof err);
            free(buf);
            if (e) {
                snprintf(why, size, "output_%d.pb: %s", nwant, err);
                res = is_unsupported(err) ? R_SKIP : R_FAIL;
                goto free_io;
            }
        }
        if ((size_t)nin != vigil_nn_model_ninputs(m) || (size_t)nwant > vigil_nn_model_noutputs(m)) {
            snprintf(why, size, "test has %d inputs/%d outputs, model %zu/%zu", nin, nwant,
                     vigil_nn_model_ninputs(m), vigil_nn_model_noutputs(m));
            res = R_FAIL;
            goto free_io;
        }
        if (vigil_nn_run(s, in, (size_t)nin, got, (size_t)nwant, err, sizeof err)) {
            snprintf(why, size, "run: %s", err);
            res = is_unsupported(err) ? R_SKIP : R_FAIL;
            goto free_io;
        }
        for (int k = 0; k < nwant && res == R_PASS; k++) {
            char w[256];
            if (!close_enough(&got[k], &want[k], w, sizeof w)) {
                snprintf(why, size, "output %d (%s): %s", k, vigil_nn_model_output_name(m, (size_t)k), w);
                res = R_FAIL;
            }
        }
    free_io:
        for (int k = 0; k < nin; k++) free(in[k].data);
        for (int k = 0; k < nwant; k++) free(want[k].data);
        nin = nwant = 0;
    }
done:
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
    return res;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int conformance(int argc, char **argv)
{
    const char *dir = DEFAULT_DIR, *filter = NULL, *expected = NULL;
    int threads = 1, verbose_ops = 1;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--filter") && i + 1 < argc) filter = argv[++i];
        else if (!strcmp(argv[i], "--expected") && i + 1 < argc) expected = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-summary")) verbose_ops = 0;
        else if (argv[i][0] != '-') dir = argv[i];
        else {
            fprintf(stderr, "vigil nn conformance: unknown option %s\n", argv[i]);
            return CLI_USAGE;
        }
    }
    conf_state_t st = {0};
    if (expected) load_expected(&st, expected);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "vigil nn conformance: %s: %s\n", dir, strerror(errno));
        return CLI_FAIL;
    }
    char **names = NULL;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "test_", 5) || (filter && !strstr(de->d_name, filter))) continue;
        char **nn = realloc(names, sizeof *nn * (size_t)(n + 1));
        if (!nn) break;
        names = nn;
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    if (n) qsort(names, (size_t)n, sizeof *names, cmp_str);
    int passed = 0, failed = 0, skipped = 0, unexpected = 0;
    char isa_line[512];
    vigil_nn_isa_describe(isa_line, sizeof isa_line);
    printf("%s\n", isa_line);
    for (int i = 0; i < n; i++) {
        char path[4096], op[64], why[768] = "";
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        int r = run_test(path, threads, op, sizeof op, why, sizeof why);
        op_stat_t *os = stat_for(&st, op);
        if (r == R_PASS) {
            passed++;
            if (os) os->pass++;
            printf("PASS %s\n", names[i]);
        } else if (r == R_SKIP) {
            skipped++;
            if (os) os->skip++;
            printf("UNSUPPORTED %s (%s)\n", names[i], why);
        } else {
            failed++;
            if (os) os->fail++;
            int exp = is_expected(&st, names[i]);
            if (!exp) unexpected++;
            printf("FAIL %s (%s)%s\n", names[i], why, exp ? " [expected]" : "");
        }
        fflush(stdout);
        free(names[i]);
    }
    free(names);
    if (verbose_ops) {
        printf("\n%-28s %6s %6s %11s\n", "op", "passed", "failed", "unsupported");
        for (int i = 0; i < st.nops; i++)
            printf("%-28s %6d %6d %11d\n", st.ops[i].op, st.ops[i].pass, st.ops[i].fail, st.ops[i].skip);
        if (expected) printf("unexpected failures: %d\n", unexpected);
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    for (int i = 0; i < st.nexpected; i++) free(st.expected[i]);
    free(st.expected);
    free(st.ops);
    return unexpected ? CLI_FAIL : CLI_OK;
}

static int info(int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "usage: vigil nn info MODEL\n");
        return CLI_USAGE;
    }
    char err[512], a[128];
    vigil_nn_model_t *m = vigil_nn_model_load(argv[0], NULL, err, sizeof err);
    if (!m) {
        fprintf(stderr, "vigil nn info: %s\n", err);
        return CLI_FAIL;
    }
    for (size_t i = 0; i < vigil_nn_model_ninputs(m); i++) {
        vigil_nn_tensor_t t;
        vigil_nn_model_input_info(m, i, &t);
        printf("input  %s %s %s\n", vigil_nn_model_input_name(m, i), vigil_nn_dtype_name(t.dtype),
               vigil__nn_shape_str(t.ndim, t.dims, a, sizeof a));
    }
    for (size_t i = 0; i < vigil_nn_model_noutputs(m); i++) {
        vigil_nn_tensor_t t;
        vigil_nn_model_output_info(m, i, &t);
        printf("output %s %s %s\n", vigil_nn_model_output_name(m, i), vigil_nn_dtype_name(t.dtype),
               vigil__nn_shape_str(t.ndim, t.dims, a, sizeof a));
    }
    char *ops = vigil_nn_model_op_types(m);
    printf("ops   ");
    for (char *p = ops; p && *p; p += strlen(p) + 1) printf(" %s", p);
    printf("\n");
    free(ops);
    vigil_nn_model_free(m);
    return CLI_OK;
}

static double now_ms(void)
{
    return (double)vigil_mono_us() / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* --input: exactly b bytes of raw input from path into t */
static vigil_err_t read_input(const char *path, vigil_nn_tensor_t *t, size_t b, char *err, size_t size)
{
    char *data = NULL;
    size_t len = 0;
    vigil_err_t e = vigil_file_read(path, b + 1, &data, &len, err, size);
    if (e) return e;
    if (len != b || !t->data) {
        free(data);
        return vigil_seterr(err, size, VIGIL_ERR_INVALID, "%s: %zu bytes, input 0 of that shape takes %zu",
                            path, len, b);
    }
    memcpy(t->data, data, b);
    free(data);
    return VIGIL_OK;
}

/* --dump: each output raw as DIR/output_I.bin, one JSON line per output */
static vigil_err_t dump_outputs(const vigil_nn_model_t *m, const vigil_nn_tensor_t *out, size_t nout,
                                const char *dir, char *err, size_t size)
{
    for (size_t i = 0; i < nout; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/output_%zu.bin", dir, i);
        size_t bytes = (size_t)vigil_nn_tensor_numel(&out[i]) * vigil_nn_dtype_size(out[i].dtype);
        FILE *f = fopen(path, "wb");
        int ok = f && fwrite(out[i].data, 1, bytes, f) == bytes;
        if (f && fclose(f)) ok = 0;
        if (!ok) return vigil_seterr(err, size, VIGIL_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        printf("{\"index\":%zu,\"name\":", i);
        cli_json_string(stdout, vigil_nn_model_output_name(m, i));
        printf(",\"dtype\":\"%s\",\"dims\":[", vigil_nn_dtype_name(out[i].dtype));
        for (int d = 0; d < out[i].ndim; d++) printf("%s%lld", d ? "," : "", (long long)out[i].dims[d]);
        printf("],\"file\":");
        cli_json_string(stdout, path);
        printf("}\n");
    }
    return VIGIL_OK;
}

/* vigil nn export MODEL OUT.onnx: the graph as loaded, as an ONNX file */
static int export_model(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: vigil nn export MODEL OUT.onnx\n");
        return CLI_USAGE;
    }
    char err[512];
    vigil_nn_load_opts_t lo;
    vigil_nn_load_opts_init(&lo);
    lo.optimize = 0; /* before vigil's fusions: standard ONNX nodes only */
    vigil_nn_model_t *m = vigil_nn_model_load(argv[0], &lo, err, sizeof err);
    if (!m) {
        fprintf(stderr, "vigil nn export: %s\n", err);
        return CLI_FAIL;
    }
    vigil_err_t e = vigil__nn_export_onnx(m, argv[1], err, sizeof err);
    vigil_nn_model_free(m);
    if (e) {
        fprintf(stderr, "vigil %s\n", err); /* "nn export: ..." */
        return CLI_FAIL;
    }
    printf("exported %s to %s\n", argv[0], argv[1]);
    return CLI_OK;
}

static int run_model(int argc, char **argv)
{
    const char *path = NULL, *shape = NULL, *input = NULL, *dump = NULL, *quant = NULL;
    int threads = 1, runs = 5, profile = 0, rc = CLI_FAIL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--shape") && i + 1 < argc) shape = argv[++i];
        else if (!strcmp(argv[i], "--quant") && i + 1 < argc) quant = argv[++i];
        else if (!strcmp(argv[i], "--input") && i + 1 < argc) input = argv[++i];
        else if (!strcmp(argv[i], "--dump") && i + 1 < argc) dump = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--profile")) profile = 1;
        else path = argv[i];
    }
    if (!path || runs < 1) {
        fprintf(stderr, "usage: vigil nn run MODEL [--shape 1x3x640x640] [--threads N] [--runs N] [--profile]\n");
        return CLI_USAGE;
    }
    char err[512], a[128];
    vigil_nn_model_t *m = vigil_nn_model_load(path, NULL, err, sizeof err);
    vigil_nn_session_t *s = NULL;
    vigil_nn_tensor_t in[MAX_IO], out[MAX_IO];
    double *ms = calloc((size_t)runs, sizeof *ms);
    size_t nin = 0, nout = 0;
    if (!m) {
        fprintf(stderr, "vigil nn run: %s\n", err);
        free(ms);
        return CLI_FAIL;
    }
    if (quant && vigil_nn_model_apply_quant(m, quant, err, sizeof err)) goto fail; /* NAME-int8.vq */
    nin = vigil_nn_model_ninputs(m);
    nout = vigil_nn_model_noutputs(m);
    if (nin > MAX_IO || nout > MAX_IO || !ms) goto done;
    memset(in, 0, sizeof in);
    for (size_t i = 0; i < nin; i++) {
        vigil_nn_model_input_info(m, i, &in[i]);
        if (i == 0 && shape) {
            int nd = 0;
            const char *p = shape;
            while (*p && nd < VIGIL_NN_MAX_DIMS) {
                char *end;
                long long d = strtoll(p, &end, 10);
                if (end == p || d < 1 || (*end && *end != 'x' && *end != ',')) break;
                in[i].dims[nd++] = d;
                p = *end ? end + 1 : end;
            }
            if (*p || nd == 0) {
                fprintf(stderr, "vigil nn run: --shape \"%s\": expected positive dims separated "
                                "by x or , (e.g. 1x3x640x640)\n", shape);
                goto done;
            }
            in[i].ndim = nd;
        }
        for (int k = 0; k < in[i].ndim; k++)
            if (in[i].dims[k] < 0) in[i].dims[k] = 1;
        size_t b = (size_t)vigil_nn_tensor_numel(&in[i]) * vigil_nn_dtype_size(in[i].dtype);
        in[i].data = calloc(1, b ? b : 1);
        if (in[i].dtype == VIGIL_NN_FLOAT32)
            for (size_t k = 0; k < b / 4; k++) ((float *)in[i].data)[k] = (float)(k % 255) / 255.0f;
        if (i == 0 && input && read_input(input, &in[i], b, err, sizeof err)) goto fail;
    }
    vigil_nn_session_opts_t so;
    vigil_nn_session_opts_init(&so);
    so.threads = threads;
    so.profile = profile;
    if (!(s = vigil_nn_session_new(m, &so, err, sizeof err))) goto fail;
    for (int r = 0; r < runs; r++) {
        double t0 = now_ms();
        if (vigil_nn_run(s, in, nin, out, nout, err, sizeof err)) goto fail;
        ms[r] = now_ms() - t0;
    }
    if (dump && dump_outputs(m, out, nout, dump, err, sizeof err)) goto fail;
    for (size_t i = 0; i < nout; i++) {
        double sum = 0;
        int64_t n = vigil_nn_tensor_numel(&out[i]);
        for (int64_t k = 0; k < n; k++) sum += vigil__nn_get_double(&out[i], k);
        printf("output %s %s %s sum %.6g\n", vigil_nn_model_output_name(m, i),
               vigil_nn_dtype_name(out[i].dtype), vigil__nn_shape_str(out[i].ndim, out[i].dims, a, sizeof a), sum);
    }
    qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
    printf("runs %d threads %d first %.2f ms median %.2f ms arena %.1f MiB isa %s\n", runs, threads,
           ms[0], ms[runs / 2], vigil_nn_session_arena_bytes(s) / 1048576.0, vigil_nn_isa_name(vigil_nn_isa()));
    if (profile) {
        char *pr = vigil_nn_session_profile(s);
        if (pr) fputs(pr, stdout);
        free(pr);
    }
    rc = CLI_OK;
    goto done;
fail:
    fprintf(stderr, "vigil nn run: %s\n", err);
done:
    for (size_t i = 0; i < nin && i < MAX_IO; i++) free(in[i].data);
    vigil_nn_session_free(s);
    vigil_nn_model_free(m);
    free(ms);
    return rc;
}

/* vigil nn isa: the describe line, then one line per tier: supported or not */
static int isa(int argc)
{
    if (argc) {
        fprintf(stderr, "usage: vigil nn isa\n");
        return CLI_USAGE;
    }
    char line[512], err[256];
    vigil_nn_isa_describe(line, sizeof line);
    printf("%s\n", line);
    for (int t = 0; t < VIGIL_NN_ISA_COUNT; t++)
        printf("tier %s %s\n", vigil_nn_isa_name((vigil_nn_isa_t)t),
               vigil_nn_isa_supported((vigil_nn_isa_t)t) ? "supported" : "unsupported");
    if (vigil_nn_isa_check(err, sizeof err)) {
        fprintf(stderr, "vigil nn isa: %s\n", err);
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_nn_main(const cli_cmd_t *cmd, int argc, char **argv)
{
    (void)cmd;
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("usage: vigil nn conformance [DIR] [--filter S] [--expected FILE] [--threads N]\n"
               "       vigil nn info MODEL\n"
               "       vigil nn run MODEL [--shape 1x3x640x640] [--threads N] [--runs N] [--profile]\n"
               "                    [--input X.f32] [--dump DIR] [--quant NAME-int8.vq]\n"
               "       vigil nn export MODEL OUT.onnx\n"
               "       vigil nn isa    (the kernel tier in use, the CPU, the tiers it runs)\n"
               "VIGIL_NN_ISA=generic|avx2|avx512 forces a kernel tier.\n");
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (!strcmp(argv[1], "isa")) return isa(argc - 2);
    char err[256];
    if (vigil_nn_isa_check(err, sizeof err)) { /* before any kernel runs */
        fprintf(stderr, "vigil nn %s: %s\n", argv[1], err);
        return CLI_FAIL;
    }
    if (!strcmp(argv[1], "conformance")) return conformance(argc - 2, argv + 2);
    if (!strcmp(argv[1], "info")) return info(argc - 2, argv + 2);
    if (!strcmp(argv[1], "run")) return run_model(argc - 2, argv + 2);
    if (!strcmp(argv[1], "export")) return export_model(argc - 2, argv + 2);
    fprintf(stderr, "vigil nn: unknown subcommand %s\n", argv[1]);
    return CLI_USAGE;
}
