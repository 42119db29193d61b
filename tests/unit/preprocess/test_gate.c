/* Unit tests of the preprocess motion gate (src/preprocess/gate.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "preprocess/gate.h"

static void test_gate_identical_images_score_zero(void **state)
{
    (void)state;
    uint8_t a[64], b[64];
    memset(a, 100, sizeof a);
    memcpy(b, a, sizeof b);
    assert_true(vigil__gate_motion_score(a, b, sizeof a) == 0.0);
}

static void test_gate_score_is_fraction_of_changed_pixels(void **state)
{
    (void)state;
    /* 255 -> changed, 0 -> not, 255 -> changed, 10 (noise) -> not, exactly
     * the delta -> not, one past it -> changed */
    uint8_t a[6] = {0, 0, 255, 10, 100, 100};
    uint8_t b[6] = {255, 0, 0, 20, 100 + VIGIL_GATE_PIXEL_DELTA, 101 + VIGIL_GATE_PIXEL_DELTA};
    assert_float_equal(vigil__gate_motion_score(a, b, 6), 3.0 / 6.0, 1e-12);
    uint8_t black[8] = {0}, white[8];
    memset(white, 255, sizeof white);
    assert_float_equal(vigil__gate_motion_score(black, white, 8), 1.0, 1e-12);
}

static void test_gate_motion_above_threshold_forwards(void **state)
{
    (void)state;
    vigil_gate_state_t g = {0};
    vigil__gate_forwarded(&g, 1000000);
    assert_int_equal(vigil__gate_decide(&g, 0.05, 1100000, 0.02, 10), VIGIL_GATE_MOTION);
    assert_int_equal(vigil__gate_decide(&g, 0.02, 1100000, 0.02, 10), VIGIL_GATE_MOTION);
}

static void test_gate_static_scene_drops_until_keyframe_due(void **state)
{
    (void)state;
    vigil_gate_state_t g = {0};
    /* first frame: nothing forwarded yet, even a zero score goes through */
    assert_int_not_equal(vigil__gate_decide(&g, 0.0, 0, 0.02, 2.0), VIGIL_GATE_DROP);
    vigil__gate_forwarded(&g, 0);
    assert_int_equal(vigil__gate_decide(&g, 0.001, 1999999, 0.02, 2.0), VIGIL_GATE_DROP);
    assert_int_equal(vigil__gate_decide(&g, 0.001, 2000000, 0.02, 2.0), VIGIL_GATE_KEYFRAME);
    vigil__gate_forwarded(&g, 2000000);
    assert_int_equal(vigil__gate_decide(&g, 0.001, 3000000, 0.02, 2.0), VIGIL_GATE_DROP);
}

static void test_gate_clock_stepping_back_forwards_keyframe(void **state)
{
    (void)state;
    vigil_gate_state_t g = {0};
    vigil__gate_forwarded(&g, 5000000);
    assert_int_equal(vigil__gate_decide(&g, 0.0, 4000000, 0.02, 2.0), VIGIL_GATE_KEYFRAME);
}

static void test_gate_keyframes_disabled_by_zero_interval(void **state)
{
    (void)state;
    vigil_gate_state_t g = {0};
    vigil__gate_forwarded(&g, 0);
    assert_int_equal(vigil__gate_decide(&g, 0.0, 3600000000LL, 0.02, 0), VIGIL_GATE_DROP);
}

static void test_gate_scale_keeps_width_at_least_motion_width(void **state)
{
    (void)state;
    assert_int_equal(vigil__gate_scale_denom(768, 160), 4);  /* 192 >= 160, 96 < 160 */
    assert_int_equal(vigil__gate_scale_denom(1920, 160), 8); /* 240 */
    assert_int_equal(vigil__gate_scale_denom(320, 160), 2);
    assert_int_equal(vigil__gate_scale_denom(100, 160), 1);
    assert_int_equal(vigil__gate_scale_denom(1281, 160), 8); /* ceil(1281/8) = 161 */
}

static void test_gate_motion_size_keeps_aspect(void **state)
{
    (void)state;
    int w, h;
    vigil__gate_motion_size(192, 144, 160, &w, &h);
    assert_int_equal(w, 160);
    assert_int_equal(h, 120);
    vigil__gate_motion_size(100, 50, 160, &w, &h); /* never upscaled */
    assert_int_equal(w, 100);
    assert_int_equal(h, 50);
    vigil__gate_motion_size(1000, 1, 160, &w, &h);
    assert_int_equal(h, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gate_identical_images_score_zero),
        cmocka_unit_test(test_gate_score_is_fraction_of_changed_pixels),
        cmocka_unit_test(test_gate_motion_above_threshold_forwards),
        cmocka_unit_test(test_gate_static_scene_drops_until_keyframe_due),
        cmocka_unit_test(test_gate_clock_stepping_back_forwards_keyframe),
        cmocka_unit_test(test_gate_keyframes_disabled_by_zero_interval),
        cmocka_unit_test(test_gate_scale_keeps_width_at_least_motion_width),
        cmocka_unit_test(test_gate_motion_size_keeps_aspect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
