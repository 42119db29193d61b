/* Helpers for the accounts tests (accounts_support.h). */
#include "accounts_support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int acct_rm_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DP || type == FTW_D)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

int acct_setup(void **state)
{
    static acct_fixture_t fx;
    memset(&fx, 0, sizeof(fx));
    const char *base = getenv("TMPDIR");
    snprintf(fx.dir, sizeof(fx.dir), "%s/vigil-acct-unit-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(fx.dir)) return -1;
    snprintf(fx.db, sizeof(fx.db), "%s/vigil.db", fx.dir);
    if (vigil_test_store_init(&fx.backend) != 0) return -1;
    vigil_store_conf_t conf;
    vigil_store_conf_init(&conf);
    conf.url = fx.backend.url;
    conf.data_dir = fx.dir;
    conf.migrate = 1;
    conf.busy_timeout_ms = 30000;
    char err[512];
    fx.store = vigil_store_open(&conf, err, sizeof(err));
    if (!fx.store) {
        fprintf(stderr, "open store: %s\n", err);
        return -1;
    }
    *state = &fx;
    return 0;
}

int acct_teardown(void **state)
{
    acct_fixture_t *fx = *state;
    if (fx->store) vigil_store_close(fx->store);
    fx->store = NULL;
    vigil_test_store_release(&fx->backend);
    nftw(fx->dir, acct_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

int64_t acct_sql_int(const acct_fixture_t *fx, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (fx->backend.schema[0] || fx->backend.db[0])
        return vigil_test_store_sql_int(&fx->backend, sql);
    if (sqlite3_open_v2(fx->db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 30000);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        else
            fprintf(stderr, "sql %s: %s\n", sql, sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void append_file(const char *path, uint8_t **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return;
    uint8_t chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        uint8_t *nb = realloc(*buf, *len + got);
        assert_non_null(nb);
        memcpy(nb + *len, chunk, got);
        *buf = nb;
        *len += got;
    }
    fclose(f);
}

uint8_t *acct_db_bytes(const acct_fixture_t *fx, size_t *len)
{
    char path[600];
    uint8_t *buf = NULL;
    *len = 0;
    if (fx->backend.db[0]) { /* MongoDB: the documents, as JSON */
        static const char *const colls[] = {"users",      "sessions",  "api_tokens", "passkeys",
                                            "challenges", "audit_log", NULL};
        char *text = vigil_test_mongo_dump(&fx->backend, colls);
        assert_non_null(text);
        *len = strlen(text);
        return (uint8_t *)text;
    }
    if (fx->backend.schema[0]) {
        char *text = vigil_test_store_sql_text(
            &fx->backend,
            "SELECT concat_ws(E'\\n', (SELECT string_agg(t::text, E'\\n') FROM users t), "
            "(SELECT string_agg(t::text, E'\\n') FROM sessions t), "
            "(SELECT string_agg(t::text, E'\\n') FROM api_tokens t), "
            "(SELECT string_agg(t::text, E'\\n') FROM passkeys t), "
            "(SELECT string_agg(t::text, E'\\n') FROM challenges t), "
            "(SELECT string_agg(t::text, E'\\n') FROM audit_log t))");
        assert_non_null(text);
        *len = strlen(text);
        return (uint8_t *)text;
    }
    append_file(fx->db, &buf, len);
    snprintf(path, sizeof(path), "%s-wal", fx->db);
    append_file(path, &buf, len);
    return buf;
}

int acct_contains(const uint8_t *hay, size_t hay_len, const void *needle, size_t len)
{
    return len > 0 && hay && memmem(hay, hay_len, needle, len) != NULL;
}

int64_t acct_add_user(acct_fixture_t *fx, const char *name, vigil_role_t role)
{
    char err[512] = "";
    int64_t id = 0;
    vigil_err_t e = vigil_user_add(fx->store, name, role, ACCT_PASSWORD, &id, err, sizeof(err));
    if (e != VIGIL_OK) fail_msg("add user %s: %s", name, err);
    assert_true(id > 0);
    return id;
}
