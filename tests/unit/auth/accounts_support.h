/* Helpers for the accounts tests (test_accounts*.c): a temp data dir with a
 * migrated warehouse per test (SQLite in the dir, or a schema of its own on
 * the PostgreSQL server of VIGIL_STORE_URL: tests/store_backend.h), raw SQL
 * on it, and its bytes (to look for plaintext secrets). */
#ifndef VIGIL_TEST_ACCOUNTS_SUPPORT_H
#define VIGIL_TEST_ACCOUNTS_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "store_backend.h"
#include "vigil/auth.h"
#include "vigil/store.h"

typedef struct acct_fixture {
    char dir[256];
    char db[512];
    vigil_store_t *store;
    vigil_test_store_t backend;
} acct_fixture_t;

/* cmocka setup/teardown: a fresh dir and an open, migrated store. */
int acct_setup(void **state);
int acct_teardown(void **state);

/* The integer of the first column of the first row of sql on fx's
 * warehouse (-1 on an error or no row). */
int64_t acct_sql_int(const acct_fixture_t *fx, const char *sql);

/* What the warehouse holds, malloc'd: SQLite's file and its WAL,
 * concatenated; on PostgreSQL every accounts row as text. */
uint8_t *acct_db_bytes(const acct_fixture_t *fx, size_t *len);

/* Whether needle (len bytes) occurs in hay. */
int acct_contains(const uint8_t *hay, size_t hay_len, const void *needle, size_t len);

/* Adds a user with a fixed password (the suite's PASSWORD); its id. */
int64_t acct_add_user(acct_fixture_t *fx, const char *name, vigil_role_t role);

#define ACCT_PASSWORD "correct horse battery"
#define ACCT_T0 INT64_C(1800000000000000) /* a fixed "now": 2027-01-15 */
#define ACCT_S INT64_C(1000000)

#endif
