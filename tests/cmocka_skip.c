/* Makes cmocka's skip() visible to ctest (docs/testing.md, "Skips").
 *
 * cmocka counts a skipped test as not failed, so a binary whose tests all
 * skipped used to exit 0 and show as "Passed". Every cmocka test binary is
 * linked with this file and -Wl,--wrap=_skip,--wrap=_cmocka_run_group_tests
 * (CMakeLists.txt): the wrapped skip() notes that a test skipped, and the
 * wrapped group runner turns a group in which some test skipped and none
 * failed into exit status 77, which ctest (SKIP_RETURN_CODE 77) reports as
 * "Skipped" and `make test` refuses unless the skip is allowed.
 *
 * The rule: failures win (a group with a failure returns its failure
 * count); otherwise any skip makes the whole binary skipped, even when its
 * other tests passed, because a binary that did not run all its tests did
 * not show what it exists to show. The tests that ran still print
 * "[       OK ]" in the output. A test that does not apply to a backend
 * (a capacity case on a bus without per-partition capacity) is not a skip:
 * it returns early, passing, and prints "not applicable: ...". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

void __real__skip(const char *const file, const int line);
int __real__cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
                                   const size_t num_tests, CMFixtureFunction group_setup,
                                   CMFixtureFunction group_teardown);

static int skipped;

void __wrap__skip(const char *const file, const int line)
{
    skipped++;
    __real__skip(file, line);
}

int __wrap__cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
                                   const size_t num_tests, CMFixtureFunction group_setup,
                                   CMFixtureFunction group_teardown)
{
    int before = skipped;
    int failed = __real__cmocka_run_group_tests(group_name, tests, num_tests, group_setup,
                                                group_teardown);
    if (failed == 0 && skipped > before) {
        printf("SKIP: %d of %zu tests of \"%s\" skipped (their reasons are above): exit 77, "
               "ctest shows this binary as skipped\n",
               skipped - before, num_tests, group_name ? group_name : "?");
        fflush(stdout);
        return 77;
    }
    return failed;
}
