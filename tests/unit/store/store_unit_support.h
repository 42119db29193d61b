/* Helpers for the store unit tests: a temp directory per test. */
#ifndef VIGIL_TEST_STORE_UNIT_SUPPORT_H
#define VIGIL_TEST_STORE_UNIT_SUPPORT_H

#include <stddef.h>

/* Creates a fresh temp dir into out (size >= 256); 0 or -1. */
int su_tmpdir(char *out, size_t size);
/* Removes dir and everything below it. */
void su_rmrf(const char *dir);
/* Whether path exists. */
int su_exists(const char *path);

#endif
