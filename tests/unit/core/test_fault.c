/* Unit tests of the fault-injection interface (src/core/fault.c), built
 * twice (CMakeLists.txt):
 *  - test_fault links libvigil_core, whose fault.c is the stubs every
 *    product binary has: with the variables set, nothing fires, nothing is
 *    written, nothing exits;
 *  - test_fault_injection (VIGIL_TEST_FAULT_ON) links the real hooks of
 *    vigil-fault: the variables are read once, the crash point fires for
 *    exactly one message however many threads count, acked lines are whole,
 *    and the crash is _exit(137).
 * main() sets the variables before the first call, as a test harness sets
 * them in the environment of the process. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/fault.h"

#define CRASH_AFTER 1000
#define THREADS 8

static char acked_path[64];
static atomic_int fired;

static void *count_messages(void *arg)
{
    int n = *(int *)arg;
    for (int i = 0; i < n; i++)
        if (vigil_fault_crash_due()) atomic_fetch_add(&fired, 1);
    return NULL;
}

static void count_in_threads(int per_thread)
{
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, count_messages, &per_thread), 0);
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
}

typedef struct acker {
    int index;
} acker_t;

static void *ack_frames(void *arg)
{
    char id[16];
    snprintf(id, sizeof id, "cam%d", ((acker_t *)arg)->index);
    for (uint64_t seq = 1; seq <= 50; seq++) vigil_fault_note_acked(id, seq);
    return NULL;
}

static int count_acked_lines(void)
{
    FILE *f = fopen(acked_path, "r");
    char line[128];
    int n = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f)) {
        int cam;
        unsigned long long seq;
        char end;
        if (sscanf(line, "cam%d %llu%c", &cam, &seq, &end) != 3 || end != '\n')
            fail_msg("malformed acked line \"%s\"", line);
        n++;
    }
    fclose(f);
    return n;
}

#ifdef VIGIL_TEST_FAULT_ON

static void test_fault_hooks_are_compiled_in(void **state)
{
    assert_int_equal(vigil_fault_enabled(), 1);
    assert_int_equal(vigil_fault_acked_wanted(), 1);
}

static void test_fault_variables_are_read_once_at_start(void **state)
{
    /* changed after start: a lazy reader would now crash at message 5 */
    setenv("VIGIL_TEST_CRASH_AFTER_PROCESSING", "5", 1);
    for (int i = 0; i < CRASH_AFTER - 1; i++)
        if (vigil_fault_crash_due()) fail_msg("fired at message %d", i + 1);
}

static void test_fault_crash_point_fires_for_exactly_one_message_across_threads(void **state)
{
    /* messages CRASH_AFTER .. CRASH_AFTER + 799, counted by 8 threads */
    count_in_threads(100);
    assert_int_equal(atomic_load(&fired), 1);
}

static void test_fault_acked_lines_from_many_threads_are_whole(void **state)
{
    pthread_t th[4];
    acker_t a[4];
    for (int i = 0; i < 4; i++) {
        a[i].index = i;
        assert_int_equal(pthread_create(&th[i], NULL, ack_frames, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    assert_int_equal(count_acked_lines(), 200);
}

static void test_fault_crash_ends_the_process_with_137(void **state)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        vigil_fault_crash("test");
        _exit(0); /* not reached */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 137);
}

#else /* the stubs of every product binary */

static void test_fault_stubs_have_no_hooks(void **state)
{
    assert_int_equal(vigil_fault_enabled(), 0);
    assert_int_equal(vigil_fault_acked_wanted(), 0);
}

static void test_fault_stubs_never_fire_with_the_variables_set(void **state)
{
    count_in_threads(CRASH_AFTER);
    assert_int_equal(atomic_load(&fired), 0);
    vigil_fault_crash("test"); /* returns: no _exit */
}

static void test_fault_stubs_write_no_acked_file(void **state)
{
    pthread_t th;
    acker_t a = {0};
    assert_int_equal(pthread_create(&th, NULL, ack_frames, &a), 0);
    pthread_join(th, NULL);
    assert_int_equal(access(acked_path, F_OK), -1);
    assert_int_equal(count_acked_lines(), 0);
}

#endif

int main(void)
{
    char value[32];
    snprintf(acked_path, sizeof acked_path, "/tmp/vigil-test-fault-%d.txt", (int)getpid());
    unlink(acked_path);
    snprintf(value, sizeof value, "%d", CRASH_AFTER);
    setenv("VIGIL_TEST_CRASH_AFTER_PROCESSING", value, 1);
    setenv("VIGIL_TEST_ACKED_FILE", acked_path, 1);
    vigil_fault_init();
    const struct CMUnitTest tests[] = {
#ifdef VIGIL_TEST_FAULT_ON
        cmocka_unit_test(test_fault_hooks_are_compiled_in),
        cmocka_unit_test(test_fault_variables_are_read_once_at_start),
        cmocka_unit_test(test_fault_crash_point_fires_for_exactly_one_message_across_threads),
        cmocka_unit_test(test_fault_acked_lines_from_many_threads_are_whole),
        cmocka_unit_test(test_fault_crash_ends_the_process_with_137),
#else
        cmocka_unit_test(test_fault_stubs_have_no_hooks),
        cmocka_unit_test(test_fault_stubs_never_fire_with_the_variables_set),
        cmocka_unit_test(test_fault_stubs_write_no_acked_file),
#endif
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(acked_path);
    return rc;
}
