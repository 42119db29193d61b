/* Helpers for the store unit tests: a temp directory per test, and a
 * fixture holding it with the path of its SQLite file. */
#ifndef VIGIL_TEST_STORE_UNIT_SUPPORT_H
#define VIGIL_TEST_STORE_UNIT_SUPPORT_H

#include <stddef.h>

#include "store_backend.h"
#include "vigil/store.h"

/* Creates a fresh temp dir into out (size >= 256); 0 or -1. */
int su_tmpdir(char *out, size_t size);
/* Removes dir and everything below it. */
void su_rmrf(const char *dir);
/* Whether path exists. */
int su_exists(const char *path);

/* A temp data dir and its vigil.db (cmocka setup/teardown), and the
 * warehouse the store of su_open_store is (store_backend.h: SQLite in dir,
 * or a schema of its own on the PostgreSQL server of VIGIL_STORE_URL). */
typedef struct su_fixture {
    char dir[256];
    char db[512];
    vigil_test_store_t backend;
} su_fixture_t;
int su_setup(void **state);
int su_teardown(void **state);
/* Opens the store of fx (busy timeout 30 s): SQLite in its data dir, or
 * its PostgreSQL schema. */
vigil_store_t *su_open_store(const su_fixture_t *fx, int migrate, char *err, size_t err_size);

#endif
