/* Worker thread groups for the stages. */
#include <stdlib.h>

#include "vigil/log.h"
#include "vigil/workers.h"

vigil_err_t vigil_workers_start(vigil_workers_t *workers, int n, void *(*fn)(void *), void *args,
                                size_t arg_size, const char *stage)
{
    if (workers->threads) return VIGIL_OK;
    atomic_store(&workers->stop, 0);
    workers->n = 0;
    workers->threads = calloc((size_t)(n > 0 ? n : 1), sizeof *workers->threads);
    if (!workers->threads) return VIGIL_ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&workers->threads[i], NULL, fn, (char *)args + (size_t)i * arg_size)) {
            vigil_error(stage, NULL, "cannot start worker %d of %d", i, n);
            vigil_workers_stop(workers);
            return VIGIL_ERR_NOMEM;
        }
        workers->n++;
    }
    return VIGIL_OK;
}

void vigil_workers_stop(vigil_workers_t *workers)
{
    atomic_store(&workers->stop, 1);
    for (int i = 0; i < workers->n; i++) pthread_join(workers->threads[i], NULL);
    workers->n = 0;
    free(workers->threads);
    workers->threads = NULL;
}
