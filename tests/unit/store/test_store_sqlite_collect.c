/* Unit tests of vigil__sq_collect (sqlite.c), the one loop that reads a
 * statement's rows into a growing array for every list of the SQLite
 * backend: all rows past the first block, the bound (a row beyond it stops
 * the read and says so), and each failure (a row that cannot be read, a
 * step that fails, an array too large) handing back nothing, with every row
 * released and the statement reset. The rows come from a recursive CTE, so
 * the schema plays no part. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/sqlite_int.h"
#include "store_unit_support.h"
#include "vigil/store.h"

typedef su_fixture_t fixture_t;
#define setup su_setup
#define teardown su_teardown

/* ?1 rows: x = 1..?1 and "row x"; row ?2 fails to step (integer overflow). */
#define ROWS_SQL                                                                                 \
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?1) "              \
    "SELECT x, CASE WHEN x = ?2 THEN abs(-9223372036854775807 - 1) ELSE 'row ' || x END FROM c"

typedef struct item {
    int64_t x;
    char *text;
} item_t;

static int fail_at;   /* item_row fails on this x (0: never), after taking its text */
static int released;  /* item_release calls */

static int item_row(sqlite3_stmt *st, void *elem)
{
    item_t *it = elem;
    assert_int_equal(it->x, 0); /* handed over zeroed */
    assert_null(it->text);
    it->x = sqlite3_column_int64(st, 0);
    it->text = strdup((const char *)sqlite3_column_text(st, 1));
    return it->text && it->x != fail_at ? 0 : -1;
}

static void item_release(void *elem)
{
    free(((item_t *)elem)->text);
    released++;
}

static const vigil__sq_rows_t items = {sizeof(item_t), item_row, item_release, "list items",
                                       "out of memory listing items"};

typedef struct ctx {
    vigil_store_t *store;
    sqlite3_stmt *st;
} ctx_t;

static void open_rows(fixture_t *fx, ctx_t *c, int rows, int fail_step_at)
{
    char err[256] = "";
    c->store = su_open_store(fx, 1, err, sizeof(err));
    assert_non_null(c->store);
    vigil__sqlite_t *sq = vigil__sq(c->store);
    assert_int_equal(sqlite3_prepare_v2(sq->db, ROWS_SQL, -1, &c->st, NULL), SQLITE_OK);
    sqlite3_bind_int(c->st, 1, rows);
    sqlite3_bind_int(c->st, 2, fail_step_at);
    fail_at = 0;
    released = 0;
}

static void close_rows(ctx_t *c)
{
    assert_int_equal(sqlite3_stmt_busy(c->st), 0); /* reset on every path */
    sqlite3_finalize(c->st);
    vigil_store_close(c->store);
}

static void free_items(item_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) free(rows[i].text);
    free(rows);
}

static void test_store_sqlite_collect_reads_every_row_past_the_first_block(void **state)
{
    ctx_t c;
    open_rows(*state, &c, 40, 0);
    void *out = NULL;
    size_t n = 0;
    int more = 0;
    char err[128] = "";
    assert_int_equal(vigil__sq_collect(vigil__sq(c.store), c.st, &items, 1000, &out, &n, &more,
                                       err, sizeof(err)),
                     VIGIL_OK);
    item_t *rows = out;
    assert_int_equal(n, 40);
    assert_int_equal(more, 0);
    for (size_t i = 0; i < n; i++) {
        char want[16];
        snprintf(want, sizeof(want), "row %zu", i + 1);
        assert_int_equal(rows[i].x, (int64_t)i + 1);
        assert_string_equal(rows[i].text, want);
    }
    assert_int_equal(released, 0);
    free_items(rows, n);
    close_rows(&c);
}

static void test_store_sqlite_collect_stops_at_max_and_says_more(void **state)
{
    static const struct {
        size_t max;
        size_t n;
        int more;
    } cases[] = {{25, 25, 1}, {40, 40, 0}, {16, 16, 1}, {17, 17, 1}, {0, 0, 1}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        ctx_t c;
        open_rows(*state, &c, 40, 0);
        void *out = NULL;
        size_t n = 99;
        int more = 0;
        assert_int_equal(vigil__sq_collect(vigil__sq(c.store), c.st, &items, cases[k].max, &out,
                                           &n, &more, NULL, 0),
                         VIGIL_OK);
        assert_int_equal(n, cases[k].n);
        assert_int_equal(more, cases[k].more);
        if (!n) assert_null(out);
        if (n) assert_int_equal(((item_t *)out)[n - 1].x, (int64_t)n);
        free_items(out, n);
        close_rows(&c);
    }
}

static void test_store_sqlite_collect_failed_row_releases_every_row_and_hands_back_nothing(
    void **state)
{
    ctx_t c;
    open_rows(*state, &c, 40, 0);
    fail_at = 20;
    void *out = (void *)&c;
    size_t n = 7;
    char err[128] = "";
    assert_int_equal(vigil__sq_collect(vigil__sq(c.store), c.st, &items, 1000, &out, &n, NULL, err,
                                       sizeof(err)),
                     VIGIL_ERR_NOMEM);
    assert_string_equal(err, "out of memory listing items");
    assert_int_equal(released, 20); /* 19 read and the one that failed (ASan: no leak) */
    assert_ptr_equal(out, &c);
    assert_int_equal(n, 7);
    close_rows(&c);
}

static void test_store_sqlite_collect_failed_step_is_the_stores_error_and_frees_rows(void **state)
{
    ctx_t c;
    open_rows(*state, &c, 40, 30);
    void *out = (void *)&c;
    size_t n = 7;
    char err[256] = "";
    vigil_err_t e = vigil__sq_collect(vigil__sq(c.store), c.st, &items, 1000, &out, &n, NULL, err,
                                      sizeof(err));
    assert_true(e != VIGIL_OK && e != VIGIL_ERR_NOMEM);
    assert_non_null(strstr(err, "list items"));
    assert_non_null(strstr(err, "integer overflow"));
    assert_int_equal(released, 29);
    assert_ptr_equal(out, &c);
    assert_int_equal(n, 7);
    close_rows(&c);
}

static void test_store_sqlite_collect_array_too_large_is_out_of_memory(void **state)
{
    /* 16 elements of SIZE_MAX / 8 bytes do not fit in a size_t: no realloc */
    const vigil__sq_rows_t huge = {SIZE_MAX / 8, item_row, item_release, "list items",
                                   "items: out of memory"};
    const vigil__sq_rows_t quiet = {SIZE_MAX / 8, item_row, item_release, "list items", NULL};
    ctx_t c;
    open_rows(*state, &c, 3, 0);
    void *out = NULL;
    size_t n = 0;
    char err[128] = "untouched";
    assert_int_equal(vigil__sq_collect(vigil__sq(c.store), c.st, &huge, 1000, &out, &n, NULL, err,
                                       sizeof(err)),
                     VIGIL_ERR_NOMEM);
    assert_string_equal(err, "items: out of memory");
    snprintf(err, sizeof(err), "untouched");
    assert_int_equal(vigil__sq_collect(vigil__sq(c.store), c.st, &quiet, 1000, &out, &n, NULL, err,
                                       sizeof(err)),
                     VIGIL_ERR_NOMEM);
    assert_string_equal(err, "untouched"); /* nomem NULL: nothing written */
    assert_int_equal(released, 0);
    assert_null(out);
    close_rows(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_store_sqlite_collect_reads_every_row_past_the_first_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_sqlite_collect_stops_at_max_and_says_more,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_store_sqlite_collect_failed_row_releases_every_row_and_hands_back_nothing, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_store_sqlite_collect_failed_step_is_the_stores_error_and_frees_rows, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_store_sqlite_collect_array_too_large_is_out_of_memory,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
