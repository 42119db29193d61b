/* Fault injection (vigil/fault.h): the real hooks when compiled with
 * VIGIL_FAULT_INJECTION=1 (the vigil_fault_on object of CMakeLists.txt,
 * linked into vigil-fault and the fault tests only), stubs otherwise.
 *
 * Both variants define the same functions, so a binary gets the real ones
 * by linking the fault-injection object ahead of libvigil_core.a: the
 * archive member with the stubs is then never pulled in.
 *
 * The environment is read once under pthread_once, so the stage threads
 * only ever read settled values (the hooks used to call getenv lazily from
 * racing worker threads). */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/fault.h"
#include "vigil/log.h"

#define CRASH_VAR "VIGIL_TEST_CRASH_AFTER_PROCESSING"
#define ACKED_VAR "VIGIL_TEST_ACKED_FILE"

static pthread_once_t once = PTHREAD_ONCE_INIT;

#if defined(VIGIL_FAULT_INJECTION) && VIGIL_FAULT_INJECTION

static long crash_after;       /* 0: off */
static atomic_long processed;  /* messages counted by vigil_fault_crash_due */
static char *acked_path;       /* NULL: off */
static pthread_mutex_t acked_lock = PTHREAD_MUTEX_INITIALIZER;

static void read_env(void)
{
    const char *e = getenv(CRASH_VAR);
    char *end = NULL;
    long n = e && *e ? strtol(e, &end, 10) : 0;
    crash_after = end && *end == '\0' && n > 0 ? n : 0;
    if (e && *e && !crash_after)
        vigil_warn("fault", NULL, "%s=\"%.32s\": not a positive integer: ignored", CRASH_VAR, e);
    e = getenv(ACKED_VAR);
    acked_path = e && *e ? strdup(e) : NULL;
    if (crash_after || acked_path)
        vigil_warn("fault", NULL, "fault injection armed:%s%s%s%s",
                   crash_after ? " " CRASH_VAR : "", crash_after ? " set" : "",
                   acked_path ? " " ACKED_VAR : "", acked_path ? " set" : "");
}

int vigil_fault_enabled(void)
{
    return 1;
}

int vigil_fault_crash_due(void)
{
    pthread_once(&once, read_env);
    return crash_after > 0 && atomic_fetch_add(&processed, 1) + 1 == crash_after;
}

void vigil_fault_crash(const char *stage)
{
    pthread_once(&once, read_env);
    vigil_error(stage ? stage : "fault", NULL, "%s=%ld: exiting before the ack", CRASH_VAR,
                crash_after);
    _exit(137);
}

int vigil_fault_acked_wanted(void)
{
    pthread_once(&once, read_env);
    return acked_path != NULL;
}

void vigil_fault_note_acked(const char *camera_id, uint64_t sequence)
{
    pthread_once(&once, read_env);
    if (!acked_path || !camera_id) return;
    pthread_mutex_lock(&acked_lock);
    FILE *f = fopen(acked_path, "a");
    if (f) {
        fprintf(f, "%s %" PRIu64 "\n", camera_id, sequence);
        fclose(f);
    }
    pthread_mutex_unlock(&acked_lock);
}

#else /* stubs: no hook, no variable read after start */

static void read_env(void)
{
    const char *vars[] = {CRASH_VAR, ACKED_VAR};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *e = getenv(vars[i]);
        if (e && *e)
            vigil_warn("fault", NULL,
                       "%s is set but this binary has no fault injection (it is a test hook of "
                       "vigil-fault, built with -DVIGIL_FAULT_INJECTION=ON): ignored",
                       vars[i]);
    }
}

int vigil_fault_enabled(void)
{
    return 0;
}

int vigil_fault_crash_due(void)
{
    return 0;
}

void vigil_fault_crash(const char *stage)
{
    (void)stage;
}

int vigil_fault_acked_wanted(void)
{
    return 0;
}

void vigil_fault_note_acked(const char *camera_id, uint64_t sequence)
{
    (void)camera_id;
    (void)sequence;
}

#endif

void vigil_fault_init(void)
{
    pthread_once(&once, read_env);
}
