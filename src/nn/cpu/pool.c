/* Thread pool for vigil-nn sessions: a fixed set of workers that run one
 * parallel-for at a time, taking chunks from an atomic counter; the caller
 * takes chunks too and returns when every worker that joined is done. Workers and the
 * caller spin briefly before blocking (see wait_job). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/kernels.h"

struct nn_pool {
    int nthreads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    atomic_uint_fast64_t generation; /* bumped (release) once a job is published */
    atomic_int stop;
    atomic_int sleeping;        /* workers blocked (or about to block) on work_cv */
    atomic_int caller_sleeping; /* the caller blocked on done_cv */
    int spin;                   /* pause iterations before blocking */
    /* current job */
    nn_range_fn fn;
    void *ctx;
    int64_t n, chunk;
    atomic_llong next;
    /* workers that joined the job (low bits) and JOB_CLOSED once the caller
     * has run out of chunks: a worker that comes later leaves the job alone,
     * so the caller never waits for a worker that was not scheduled */
    atomic_int joined;
    atomic_int done; /* joined workers finished */
};
#define JOB_CLOSED (1 << 30)

/* Waiting: spin first (a parallel-for per op, ~150 per PP-OCRv4 rec run:
 * waking a blocked worker through the futex cost more than small ops),
 * then block. The sleeping flags and the values waited on are seq_cst
 * atomics, so of "set my flag, check the value" (waiter) and "change the
 * value, check the flag" (waker) at least one side sees the other. */
#define SPIN_ITERS 1000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void run_chunks(nn_pool_t *pool)
{
    for (;;) {
        int64_t b = atomic_fetch_add(&pool->next, pool->chunk);
        if (b >= pool->n) break;
        int64_t e = b + pool->chunk < pool->n ? b + pool->chunk : pool->n;
        pool->fn(pool->ctx, b, e);
    }
}

/* the generation after seen (or seen when stopping) */
static uint64_t wait_job(nn_pool_t *pool, uint64_t seen)
{
    for (int i = 0; i < pool->spin; i++) {
        uint64_t g = atomic_load(&pool->generation);
        if (g != seen || atomic_load(&pool->stop)) return g;
        cpu_relax();
    }
    pthread_mutex_lock(&pool->mu);
    atomic_fetch_add(&pool->sleeping, 1);
    uint64_t g;
    while ((g = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->stop))
        pthread_cond_wait(&pool->work_cv, &pool->mu);
    atomic_fetch_sub(&pool->sleeping, 1);
    pthread_mutex_unlock(&pool->mu);
    return g;
}

static void *worker(void *arg)
{
    nn_pool_t *pool = arg;
    uint64_t seen = 0;
    for (;;) {
        seen = wait_job(pool, seen);
        if (atomic_load(&pool->stop)) break;
        /* may join the job after this generation's (a later one's fields
         * are then complete too: the caller writes them before resetting
         * joined); that is harmless, joining counts are matched by done */
        if (atomic_fetch_add(&pool->joined, 1) & JOB_CLOSED) continue;
        run_chunks(pool);
        atomic_fetch_add(&pool->done, 1);
        if (atomic_load(&pool->caller_sleeping)) {
            pthread_mutex_lock(&pool->mu);
            pthread_cond_signal(&pool->done_cv);
            pthread_mutex_unlock(&pool->mu);
        }
    }
    return NULL;
}

nn_pool_t *vigil__nn_pool_new(int nthreads)
{
    nn_pool_t *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->nthreads = nthreads < 1 ? 1 : nthreads;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->work_cv, NULL);
    pthread_cond_init(&pool->done_cv, NULL);
    const char *sp = getenv("VIGIL_NN_SPIN"); /* VIGIL_NN_SPIN=0: block at once (measurement) */
    pool->spin = sp && !strcmp(sp, "0") ? 0 : SPIN_ITERS;
    if (pool->nthreads > 1) {
        pool->threads = calloc((size_t)pool->nthreads - 1, sizeof *pool->threads);
        if (!pool->threads) goto fail;
        for (int i = 0; i < pool->nthreads - 1; i++) {
            if (pthread_create(&pool->threads[i], NULL, worker, pool)) {
                pool->nthreads = i + 1;
                vigil__nn_pool_free(pool);
                return NULL;
            }
        }
    }
    return pool;
fail:
    free(pool);
    return NULL;
}

void vigil__nn_pool_free(nn_pool_t *pool)
{
    if (!pool) return;
    pthread_mutex_lock(&pool->mu);
    atomic_store(&pool->stop, 1);
    pthread_cond_broadcast(&pool->work_cv);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 0; i < pool->nthreads - 1; i++) pthread_join(pool->threads[i], NULL);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->work_cv);
    pthread_cond_destroy(&pool->done_cv);
    free(pool->threads);
    free(pool);
}

int vigil__nn_pool_threads(const nn_pool_t *pool)
{
    return pool ? pool->nthreads : 1;
}

void vigil__nn_parallel_for(nn_pool_t *pool, int64_t n, int64_t grain, nn_range_fn fn, void *ctx)
{
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (!pool || pool->nthreads == 1 || n <= grain) {
        fn(ctx, 0, n);
        return;
    }
    int64_t chunk = (n + pool->nthreads * 4 - 1) / (pool->nthreads * 4);
    if (chunk < grain) chunk = grain;
    pool->fn = fn;
    pool->ctx = ctx;
    pool->n = n;
    pool->chunk = chunk;
    atomic_store(&pool->next, 0);
    atomic_store(&pool->done, 0);
    atomic_store(&pool->joined, 0);
    atomic_fetch_add(&pool->generation, 1); /* publishes the job */
    if (atomic_load(&pool->sleeping) > 0) {
        pthread_mutex_lock(&pool->mu);
        pthread_cond_broadcast(&pool->work_cv);
        pthread_mutex_unlock(&pool->mu);
    }
    run_chunks(pool);
    int joined = atomic_fetch_or(&pool->joined, JOB_CLOSED) & ~JOB_CLOSED;
    for (int i = 0; i < pool->spin && atomic_load(&pool->done) < joined; i++) cpu_relax();
    if (atomic_load(&pool->done) < joined) {
        pthread_mutex_lock(&pool->mu);
        atomic_store(&pool->caller_sleeping, 1);
        while (atomic_load(&pool->done) < joined) pthread_cond_wait(&pool->done_cv, &pool->mu);
        atomic_store(&pool->caller_sleeping, 0);
        pthread_mutex_unlock(&pool->mu);
    }
}
