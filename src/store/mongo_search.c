/* The search over events and detections on MongoDB (store.h, "search").
 * Not written yet: answers VIGIL_ERR_UNSUPPORTED, as a NULL search did. */
#include "store/mongo_int.h"

vigil_err_t vigil__mongo_search(vigil_store_t *store, const vigil_search_query_t *q,
                                vigil_search_result_t *res, char *errstr, size_t errstr_size)
{
    (void)store;
    (void)q;
    (void)res;
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                        "search is not supported on the mongo store");
}
