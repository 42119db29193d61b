/* Unit tests of the metrics registry's bounds on per-camera series
 * (src/core/metrics.c): a series whose holders all released it (a camera
 * forgotten or removed) leaves /metrics but keeps counting in sums, comes
 * back when registered again, and a family past VIGIL_METRICS_SERIES_MAX
 * label sets gives new ones its overflow series and counts them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/metrics.h"

static int reset(void **state)
{
    (void)state;
    vigil_metrics_reset();
    return 0;
}

static int rendered_has(const char *needle)
{
    char *text = vigil_metrics_render(NULL);
    assert_non_null(text);
    int found = strstr(text, needle) != NULL;
    free(text);
    return found;
}

static void test_series_released_by_every_holder_leaves_render(void **state)
{
    (void)state;
    vigil_stage_metrics_t a, b;
    vigil_stage_metrics_init(&a, "infer", "cam1");
    vigil_stage_metrics_init(&b, "infer", "cam1"); /* a second worker holds it too */
    vigil_counter_add(a.in, 3);
    vigil_stage_metrics_release(&a);
    assert_null(a.in);
    assert_true(rendered_has("vigil_stage_in_total{stage=\"infer\",camera=\"cam1\"} 3"));
    vigil_counter_t *held = b.in;
    vigil_stage_metrics_release(&b);
    assert_false(rendered_has("camera=\"cam1\""));
    /* the pointer stays valid; the total does not go down */
    vigil_counter_inc(held);
    assert_int_equal(vigil_metrics_sum("vigil_stage_in_total", "stage", "infer", NULL, NULL), 4);
    /* the camera comes back: the series shows again with its value */
    vigil_stage_metrics_init(&a, "infer", "cam1");
    assert_ptr_equal(a.in, held);
    assert_true(rendered_has("vigil_stage_in_total{stage=\"infer\",camera=\"cam1\"} 4"));
}

static int visited;
static void count_visit(void *opaque, const char *family, const char *l1, const char *v1,
                        const char *l2, const char *v2, uint64_t value)
{
    (void)opaque;
    (void)family;
    (void)l1;
    (void)v1;
    (void)l2;
    (void)value;
    if (v2 && !strcmp(v2, "gone")) visited++;
}

static void test_released_series_not_visited(void **state)
{
    (void)state;
    vigil_stage_metrics_t m;
    vigil_stage_metrics_init(&m, "ingest", "gone");
    vigil_stage_metrics_release(&m);
    visited = 0;
    vigil_metrics_foreach_counter(count_visit, NULL);
    assert_int_equal(visited, 0);
    vigil_stage_metrics_release(&m); /* zeroed: a second release does nothing */
    vigil_counter_release(NULL);
}

static void test_family_cap_gives_overflow_series(void **state)
{
    (void)state;
    char id[32];
    for (int i = 0; i < VIGIL_METRICS_SERIES_MAX; i++) {
        snprintf(id, sizeof(id), "c%d", i);
        assert_non_null(vigil_metrics_counter("t_total", "h", "camera", id, NULL, NULL));
    }
    vigil_counter_t *o1 = vigil_metrics_counter("t_total", "h", "camera", "late1", NULL, NULL);
    vigil_counter_t *o2 = vigil_metrics_counter("t_total", "h", "camera", "late2", NULL, NULL);
    assert_non_null(o1);
    assert_ptr_equal(o1, o2);
    vigil_counter_add(o1, 5);
    assert_true(rendered_has("t_total{overflow=\"true\"} 5\n"));
    assert_true(rendered_has("vigil_metrics_series_overflow_total{family=\"t_total\"} 2\n"));
    assert_false(rendered_has("late1"));
    /* an existing label set is still its own series */
    vigil_counter_t *c0 = vigil_metrics_counter("t_total", "h", "camera", "c0", NULL, NULL);
    assert_ptr_not_equal(c0, o1);
    /* releasing never frees a slot: the cap bounds memory, hidden series included */
    vigil_counter_release(c0);
    vigil_counter_release(c0);
    assert_ptr_equal(vigil_metrics_counter("t_total", "h", "camera", "late3", NULL, NULL), o1);
    vigil_counter_release(o1); /* the overflow series is never hidden */
    assert_true(rendered_has("t_total{overflow=\"true\"} 5\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_series_released_by_every_holder_leaves_render, reset),
        cmocka_unit_test_setup(test_released_series_not_visited, reset),
        cmocka_unit_test_setup(test_family_cap_gives_overflow_series, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
