/* Thread pool for vigil-nn sessions: a fixed set of workers that run one
 * parallel-for at a time, taking chunks from an atomic counter; the caller
 * takes chunks too and returns when every chunk is done. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "nn/cpu/kernels.h"

struct nn_pool {
    int nthreads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    uint64_t generation;
    int stop;
    /* current job */
    nn_range_fn fn;
    void *ctx;
    int64_t n, chunk;
    atomic_llong next;
    int active; /* workers still in the job */
};

static void run_chunks(nn_pool_t *pool)
{
    for (;;) {
        int64_t b = atomic_fetch_add(&pool->next, pool->chunk);
        if (b >= pool->n) break;
        int64_t e = b + pool->chunk < pool->n ? b + pool->chunk : pool->n;
        pool->fn(pool->ctx, b, e);
    }
}

static void *worker(void *arg)
{
    nn_pool_t *pool = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&pool->mu);
    for (;;) {
        while (!pool->stop && pool->generation == seen) pthread_cond_wait(&pool->work_cv, &pool->mu);
        if (pool->stop) break;
        seen = pool->generation;
        pthread_mutex_unlock(&pool->mu);
        run_chunks(pool);
        pthread_mutex_lock(&pool->mu);
        if (--pool->active == 0) pthread_cond_signal(&pool->done_cv);
    }
    pthread_mutex_unlock(&pool->mu);
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
    pool->stop = 1;
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
    pthread_mutex_lock(&pool->mu);
    pool->fn = fn;
    pool->ctx = ctx;
    pool->n = n;
    pool->chunk = chunk;
    atomic_store(&pool->next, 0);
    pool->active = pool->nthreads - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->work_cv);
    pthread_mutex_unlock(&pool->mu);
    run_chunks(pool);
    pthread_mutex_lock(&pool->mu);
    while (pool->active > 0) pthread_cond_wait(&pool->done_cv, &pool->mu);
    pthread_mutex_unlock(&pool->mu);
}
