/* Runs the store conformance suite (store_conformance_support.c and the
 * store_cases_*_support.c files) against SQLite: a fresh database and frame
 * directory per case. VIGIL_STORE_URL overrides the url ("sqlite" default,
 * "sqlite:PATH" to use a database outside the data dir). */
#include <stdlib.h>

#include "store_conformance.h"

int main(void)
{
    const char *url = getenv("VIGIL_STORE_URL");
    return vigil_store_conformance_run("store_conformance_sqlite", url && *url ? url : "sqlite");
}
