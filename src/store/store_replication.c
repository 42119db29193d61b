/* The replication front of the warehouse (store.h, "replication"): where a
 * server is in its write-ahead log, for the API's read routing to measure
 * a streaming replica's lag. Not counted in the store's operation metrics:
 * it is the API's probe, once a second, not a request's work.
 *
 * Thread: a handle is used by one thread at a time (store.h). */
#include <string.h>

#include "store/store_int.h"

vigil_err_t vigil_store_wal(vigil_store_t *store, vigil_store_wal_t *wal, char *errstr,
                            size_t errstr_size)
{
    if (wal) memset(wal, 0, sizeof(*wal));
    if (!store || !wal)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "store: invalid arguments");
    if (!store->ops->wal)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                            "the %s store has no replication (store.read_url needs "
                            "postgres:// URLs)",
                            store->ops->name);
    return store->ops->wal(store, wal, errstr, errstr_size);
}
