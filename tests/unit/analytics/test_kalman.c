/* Unit tests of the constant-velocity Kalman filter (src/analytics/kalman.c):
 * velocities per second over irregular steps, prediction growth, guards. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analytics/kalman.h"

static void test_kalman_init_holds_the_measurement_at_rest(void **state)
{
    vigil__kf_t kf;
    double z[4] = {100, 200, 0.5, 80};
    vigil__kf_init(&kf, z);
    for (int k = 0; k < 4; k++) assert_true(kf.x[k] == z[k]);
    for (int k = 4; k < 8; k++) assert_true(kf.x[k] == 0);
    assert_true(vigil__kf_valid(&kf));
    float box[4];
    vigil__kf_box(&kf, box);
    assert_float_equal(box[0], 80, 1e-4);
    assert_float_equal(box[1], 160, 1e-4);
    assert_float_equal(box[2], 120, 1e-4);
    assert_float_equal(box[3], 240, 1e-4);
}

static void test_kalman_learns_velocity_per_second_from_irregular_steps(void **state)
{
    /* an object moving at 100 px/s in x, seen at irregular times */
    const double times[] = {0, 0.2, 0.4, 1.0, 1.2, 1.3, 1.5, 2.5, 2.7, 2.9, 3.1, 3.3};
    vigil__kf_t kf;
    double z[4] = {0, 500, 0.5, 100};
    vigil__kf_init(&kf, z);
    for (size_t i = 1; i < sizeof times / sizeof times[0]; i++) {
        vigil__kf_predict(&kf, times[i] - times[i - 1]);
        z[0] = 100 * times[i];
        vigil__kf_update(&kf, z);
    }
    assert_float_equal(kf.x[4], 100, 10);  /* px per second, not per frame */
    assert_float_equal(kf.x[5], 0, 1);
    double var0 = kf.p[0][0];
    vigil__kf_predict(&kf, 0.5);
    assert_float_equal(kf.x[0], 100 * 3.3 + 0.5 * kf.x[4], 1e-6);
    assert_true(kf.p[0][0] > var0); /* uncertainty grows with time */
}

static void test_kalman_update_pulls_towards_measurement_and_shrinks_variance(void **state)
{
    vigil__kf_t kf;
    double z[4] = {100, 100, 1, 50};
    vigil__kf_init(&kf, z);
    vigil__kf_predict(&kf, 0.2);
    double before = kf.p[0][0];
    double m[4] = {110, 100, 1, 50};
    vigil__kf_update(&kf, m);
    assert_true(kf.x[0] > 100 && kf.x[0] < 110);
    assert_true(kf.p[0][0] < before);
    assert_true(kf.x[4] > 0); /* it moved right */
    assert_true(vigil__kf_valid(&kf));
}

static void test_kalman_ignores_non_positive_dt_and_caps_huge_dt(void **state)
{
    vigil__kf_t kf, ref;
    double z[4] = {100, 100, 1, 50};
    vigil__kf_init(&kf, z);
    kf.x[4] = 10;
    ref = kf;
    vigil__kf_predict(&kf, 0);
    vigil__kf_predict(&kf, -5);
    vigil__kf_predict(&kf, NAN);
    assert_memory_equal(&kf, &ref, sizeof kf);

    vigil__kf_t capped = ref, big = ref;
    vigil__kf_predict(&capped, VIGIL__KF_DT_MAX);
    vigil__kf_predict(&big, 3600);
    assert_memory_equal(&capped, &big, sizeof big);
    assert_float_equal(big.x[0], 100 + 10 * VIGIL__KF_DT_MAX, 1e-9);
    assert_true(vigil__kf_valid(&big));
}

static void test_kalman_valid_refuses_non_finite_and_negative_variance(void **state)
{
    vigil__kf_t kf;
    double z[4] = {100, 100, 1, 50};
    vigil__kf_init(&kf, z);
    vigil__kf_t bad = kf;
    bad.x[3] = NAN;
    assert_false(vigil__kf_valid(&bad));
    bad = kf;
    bad.p[2][0] = -1;
    assert_false(vigil__kf_valid(&bad));
    bad = kf;
    bad.p[1][2] = INFINITY;
    assert_false(vigil__kf_valid(&bad));
    bad = kf;
    bad.x[0] = 1e300;
    assert_false(vigil__kf_valid(&bad));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kalman_init_holds_the_measurement_at_rest),
        cmocka_unit_test(test_kalman_learns_velocity_per_second_from_irregular_steps),
        cmocka_unit_test(test_kalman_update_pulls_towards_measurement_and_shrinks_variance),
        cmocka_unit_test(test_kalman_ignores_non_positive_dt_and_caps_huge_dt),
        cmocka_unit_test(test_kalman_valid_refuses_non_finite_and_negative_variance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
