/* Unit tests of the model registry: the built-in entries parse and match
 * models/NAME.yaml, bad entries are errors naming file, line and key, user
 * entries in $VIGIL_MODELS override built-ins, labels files load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "infer/model_registry.h"

static void test_postprocess_registry_builtins_parse_with_expected_fields(void **state)
{
    char err[512] = "";
    vigil__model_entry_t e;
    assert_int_equal(vigil__model_lookup("centernet", &e, err, sizeof err), 0);
    assert_string_equal(e.format, "tfjs");
    assert_string_equal(e.input_name, "tower_0/images");
    assert_string_equal(e.output_name, "tower_0/detections");
    assert_int_equal(e.width, 512);
    assert_int_equal(e.height, 512);
    assert_int_equal(e.nchw, 0);
    assert_int_equal(e.bgr, 0);
    assert_int_equal(e.resize, VIGIL_RESIZE_STRETCH);
    assert_int_equal(e.post, VIGIL_POST_CENTERNET);
    assert_int_equal(e.nlabels, 80);
    assert_string_equal(e.labels[0], "person");
    assert_string_equal(e.labels[16], "dog");
    assert_string_equal(e.labels[79], "toothbrush");
    vigil__model_entry_release(&e);

    assert_int_equal(vigil__model_lookup("ppocr_det", &e, err, sizeof err), 0);
    assert_int_equal(e.post, VIGIL_POST_OCR_DET);
    assert_int_equal(e.resize, VIGIL_RESIZE_FIT32);
    assert_int_equal(e.max_side, 960);
    assert_int_equal(e.nchw, 1);
    assert_int_equal(e.bgr, 1);
    assert_float_equal(e.std[2], 0.225, 1e-6);
    vigil__model_entry_release(&e);

    assert_int_equal(vigil__model_lookup("yolo", &e, err, sizeof err), 0);
    assert_int_equal(e.resize, VIGIL_RESIZE_LETTERBOX);
    assert_float_equal(e.pad, 114, 1e-6);
    assert_int_equal(e.nlabels, 80);
    vigil__model_entry_release(&e);

    vigil__model_entry_t *all = NULL;
    size_t n = 0;
    assert_int_equal(vigil__model_list(&all, &n, err, sizeof err), 0);
    assert_int_equal(n, 5);
    assert_string_equal(all[0].name, "centernet"); /* name order */
    vigil__model_entries_free(all, n);
}

static void test_postprocess_registry_builtin_text_matches_models_dir(void **state)
{
    const char *src = getenv("VIGIL_SOURCE_DIR");
    if (!src) skip();
    size_t count = 0;
    for (const vigil__builtin_yaml_t *b = vigil__builtin_models; b->file; b++, count++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/models/%s", src, b->file);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static char buf[65536];
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        if (strcmp(buf, b->text) != 0)
            fail_msg("%s differs from src/infer/model_builtin.c: run scripts/gen-model-builtin.py",
                     path);
    }
    assert_int_equal(count, 5);
}

static void test_postprocess_registry_unknown_key_names_file_line_and_key(void **state)
{
    const char *y = "name: x\nformat: onnx\nfile: x.onnx\ninput:\n  width: 10\n  height: 10\n"
                    "  colour: rgb\npostprocess:\n  kind: yolo\n";
    char err[512] = "";
    vigil__model_entry_t e;
    assert_int_equal(vigil__model_entry_parse(y, strlen(y), "x.yaml", &e, err, sizeof err),
                     VIGIL_ERR_CONFIG);
    assert_non_null(strstr(err, "x.yaml:7"));
    assert_non_null(strstr(err, "input.colour"));
}

static void test_postprocess_registry_bad_values_and_missing_keys_fail(void **state)
{
    const char *cases[][2] = {
        {"name: x\nformat: pt\nfile: a\ninput: {width: 1, height: 1}\npostprocess: {kind: yolo}\n",
         "format"},
        {"name: x\nformat: onnx\nfile: a\ninput: {width: -3, height: 1}\npostprocess: {kind: yolo}\n",
         "input.width"},
        {"name: x\nformat: onnx\nfile: a\ninput: {width: 1, height: 1, std: [1, 0, 1]}\n"
         "postprocess: {kind: yolo}\n",
         "std"},
        {"name: x\nformat: onnx\nfile: a\ninput: {width: 1, height: 1, mean: [1, 2]}\n"
         "postprocess: {kind: yolo}\n",
         "input.mean"},
        {"name: x\nformat: onnx\nfile: a\ninput: {width: 1, height: 1}\npostprocess: {kind: ssd}\n",
         "postprocess.kind"},
        {"name: x\nformat: onnx\ninput: {width: 1, height: 1}\npostprocess: {kind: yolo}\n",
         "missing key file"},
        {"name: x\nformat: onnx\nfile: a\npostprocess: {kind: yolo}\n", "input.width"},
        {"- a\n- b\n", "mapping"},
        {"name: [unclosed\n", "x.yaml:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "";
        vigil__model_entry_t e;
        vigil_err_t rc = vigil__model_entry_parse(cases[i][0], strlen(cases[i][0]), "x.yaml", &e,
                                                  err, sizeof err);
        if (rc == VIGIL_OK) fail_msg("case %zu parsed", i);
        if (!strstr(err, cases[i][1])) fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i][1]);
    }
}

static void test_postprocess_registry_user_entry_overrides_builtin_and_loads_labels(void **state)
{
    char dir[] = "/tmp/vigil-registry-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path, "%s/my.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("name: centernet\nformat: onnx\nfile: mine.onnx\n"
          "input: {width: 320, height: 320, layout: nchw}\n"
          "postprocess: {kind: yolo, score: 0.4, iou: 0.6}\nlabels_file: my.txt\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/my.txt", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("cat\r\ndog\nmy thing", f); /* no trailing newline, one CRLF */
    fclose(f);
    setenv("VIGIL_MODELS", dir, 1);

    char err[512] = "";
    vigil__model_entry_t e;
    assert_int_equal(vigil__model_lookup("centernet", &e, err, sizeof err), 0);
    assert_string_equal(e.format, "onnx");
    assert_int_equal(e.width, 320);
    assert_float_equal(e.iou_threshold, 0.6, 1e-6);
    assert_int_equal(vigil__model_load_labels(&e, err, sizeof err), 0);
    assert_int_equal(e.nlabels, 3);
    assert_string_equal(e.labels[0], "cat");
    assert_string_equal(e.labels[2], "my thing");
    char full[1024];
    vigil__models_path(e.file, full, sizeof full);
    snprintf(path, sizeof path, "%s/mine.onnx", dir);
    assert_string_equal(full, path);
    vigil__model_entry_release(&e);

    vigil__model_entry_t *all = NULL;
    size_t n = 0;
    assert_int_equal(vigil__model_list(&all, &n, err, sizeof err), 0);
    assert_int_equal(n, 5); /* overridden, not added */
    assert_string_equal(all[0].format, "onnx");
    vigil__model_entries_free(all, n);

    assert_int_equal(vigil__model_lookup("nope", &e, err, sizeof err), VIGIL_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "\"nope\""));

    /* a labels file that is not there says to fetch */
    assert_int_equal(vigil__model_lookup("ppocr_rec", &e, err, sizeof err), 0);
    assert_int_equal(vigil__model_load_labels(&e, err, sizeof err), VIGIL_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "vigil models fetch"));
    vigil__model_entry_release(&e);

    unlink(path);
    snprintf(path, sizeof path, "%s/my.yaml", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/my.txt", dir);
    unlink(path);
    rmdir(dir);
    setenv("VIGIL_MODELS", "/nonexistent/vigil-models", 1);
}

int main(void)
{
    /* the built-in entries, whatever the user's own cache holds */
    setenv("VIGIL_MODELS", "/nonexistent/vigil-models", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_postprocess_registry_builtins_parse_with_expected_fields),
        cmocka_unit_test(test_postprocess_registry_builtin_text_matches_models_dir),
        cmocka_unit_test(test_postprocess_registry_unknown_key_names_file_line_and_key),
        cmocka_unit_test(test_postprocess_registry_bad_values_and_missing_keys_fail),
        cmocka_unit_test(test_postprocess_registry_user_entry_overrides_builtin_and_loads_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
