/* A stage's worker threads: start N threads over an array of per-worker
 * structs, tell them to stop, join them. The stages (preprocess, infer, sink)
 * share this instead of each keeping its own thread bookkeeping.
 *
 * Thread: start/stop from the stage's controlling thread; stopping() from
 * the workers. */
#ifndef VIGIL_WORKERS_H
#define VIGIL_WORKERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "vigil/err.h"

typedef struct vigil_workers {
    atomic_int stop;
    int n;              /* threads running */
    pthread_t *threads;
} vigil_workers_t;

/* Starts n threads; thread i runs fn((char *)args + i * arg_size). On failure
 * the threads already started are stopped and joined, and the error is
 * logged under stage. Starting a started group is a no-op. */
vigil_err_t vigil_workers_start(vigil_workers_t *workers, int n, void *(*fn)(void *), void *args,
                                size_t arg_size, const char *stage);

/* Whether the workers were told to stop. */
static inline int vigil_workers_stopping(vigil_workers_t *workers)
{
    return atomic_load(&workers->stop);
}

/* Tells every worker to stop and joins them. Idempotent. */
void vigil_workers_stop(vigil_workers_t *workers);

/* Names the calling thread (at most 15 bytes shown) for top -H, gdb and perf.
 * pthread_setname_np is not POSIX: glibc and FreeBSD take the thread, macOS
 * names only the caller; elsewhere threads stay unnamed. */
static inline void vigil_thread_name(const char *name)
{
#if defined(__APPLE__)
    pthread_setname_np(name);
#elif defined(__linux__) || defined(__FreeBSD__)
    pthread_setname_np(pthread_self(), name);
#else
    (void)name;
#endif
}

#endif
