/* Unit tests of the thresholded assignment solver (src/analytics/lap.c):
 * optimal against brute force on random small matrices (fixed seed), square
 * and rectangular, with thresholds and forbidden (NaN) pairs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analytics/lap.h"

static uint32_t rng = 12345;
static double rnd(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (double)(rng >> 8) / (double)(1u << 24);
}

/* Best total of sum(cost - thr) over matched pairs (pairs with cost <= thr). */
static double brute(const float *c, int n, int m, float thr, int row, unsigned used)
{
    if (row == n) return 0;
    double best = brute(c, n, m, thr, row + 1, used); /* row unmatched */
    for (int j = 0; j < m; j++) {
        if (used >> j & 1u) continue;
        float v = c[row * m + j];
        if (!(v <= thr)) continue;
        double s = (double)v - thr + brute(c, n, m, thr, row + 1, used | 1u << j);
        if (s < best) best = s;
    }
    return best;
}

static double check_solution(const float *c, int n, int m, float thr, const int *rc,
                             const int *cr, int matched)
{
    double total = 0;
    int count = 0;
    for (int i = 0; i < n; i++) {
        if (rc[i] < 0) continue;
        assert_true(rc[i] < m);
        assert_int_equal(cr[rc[i]], i);
        assert_true(c[i * m + rc[i]] <= thr);
        total += (double)c[i * m + rc[i]] - thr;
        count++;
    }
    for (int j = 0; j < m; j++)
        if (cr[j] >= 0) assert_int_equal(rc[cr[j]], j);
    assert_int_equal(count, matched);
    return total;
}

static void test_lap_matches_brute_force_on_random_matrices(void **state)
{
    vigil__lap_t lap;
    vigil__lap_init(&lap);
    float c[64];
    int rc[8], cr[8];
    for (int trial = 0; trial < 3000; trial++) {
        int n = 1 + (int)(rnd() * 6), m = 1 + (int)(rnd() * 6);
        float thr = trial % 3 == 0 ? 1.0f : (float)(0.2 + rnd() * 0.7);
        for (int i = 0; i < n * m; i++) {
            double r = rnd();
            /* some forbidden pairs, some exact ties */
            c[i] = r < 0.15 ? NAN : r < 0.25 ? 0.5f : (float)rnd();
        }
        int matched = vigil__lap_solve(&lap, c, n, m, thr, rc, cr);
        assert_true(matched >= 0);
        double got = check_solution(c, n, m, thr, rc, cr, matched);
        double want = brute(c, n, m, thr, 0, 0);
        assert_float_equal(got, want, 1e-6);
    }
    vigil__lap_release(&lap);
}

static void test_lap_prefers_total_cost_over_greedy(void **state)
{
    /* greedy would take (0,0)=0.1 and leave row 1 with 0.95 > thr: optimum
     * pairs (0,1) and (1,0) */
    const float c[4] = {0.1f, 0.3f, 0.35f, 0.95f};
    int rc[2], cr[2];
    vigil__lap_t lap;
    vigil__lap_init(&lap);
    assert_int_equal(vigil__lap_solve(&lap, c, 2, 2, 0.8f, rc, cr), 2);
    assert_int_equal(rc[0], 1);
    assert_int_equal(rc[1], 0);
    vigil__lap_release(&lap);
}

static void test_lap_leaves_everything_above_threshold_unmatched(void **state)
{
    const float c[6] = {0.9f, 0.95f, NAN, 0.99f, 0.91f, 1.0f};
    int rc[2], cr[3];
    vigil__lap_t lap;
    vigil__lap_init(&lap);
    assert_int_equal(vigil__lap_solve(&lap, c, 2, 3, 0.8f, rc, cr), 0);
    for (int i = 0; i < 2; i++) assert_int_equal(rc[i], -1);
    for (int j = 0; j < 3; j++) assert_int_equal(cr[j], -1);
    assert_int_equal(vigil__lap_solve(&lap, c, 0, 3, 0.8f, rc, cr), 0);
    vigil__lap_release(&lap);
}

static void test_lap_is_deterministic_on_ties(void **state)
{
    float c[9];
    for (int i = 0; i < 9; i++) c[i] = 0.5f;
    int rc1[3], cr1[3], rc2[3], cr2[3];
    vigil__lap_t lap;
    vigil__lap_init(&lap);
    assert_int_equal(vigil__lap_solve(&lap, c, 3, 3, 0.8f, rc1, cr1), 3);
    assert_int_equal(vigil__lap_solve(&lap, c, 3, 3, 0.8f, rc2, cr2), 3);
    assert_memory_equal(rc1, rc2, sizeof rc1);
    vigil__lap_release(&lap);
}

static void test_lap_solves_large_sparse_matrices(void **state)
{
    /* 300 x 400, each row allowed on a few nearby columns */
    enum { N = 300, M = 400 };
    static float c[N * M];
    static int rc[N], cr[M];
    for (int i = 0; i < N * M; i++) c[i] = NAN;
    for (int i = 0; i < N; i++)
        for (int d = 0; d < 3; d++) c[i * M + i + d] = (float)(0.1 * d + rnd() * 0.05);
    vigil__lap_t lap;
    vigil__lap_init(&lap);
    int matched = vigil__lap_solve(&lap, c, N, M, 0.8f, rc, cr);
    assert_int_equal(matched, N);
    for (int i = 0; i < N; i++) assert_int_equal(rc[i], i); /* the diagonal is cheapest */
    vigil__lap_release(&lap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lap_matches_brute_force_on_random_matrices),
        cmocka_unit_test(test_lap_prefers_total_cost_over_greedy),
        cmocka_unit_test(test_lap_leaves_everything_above_threshold_unmatched),
        cmocka_unit_test(test_lap_is_deterministic_on_ties),
        cmocka_unit_test(test_lap_solves_large_sparse_matrices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
