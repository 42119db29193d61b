/* Which warehouse a store test runs against, for the tests that run the same
 * cases on both backends (tests/with_server.sh, tests CMake "_postgres"
 * entries): SQLite in the fixture's data dir by default, or, when
 * VIGIL_STORE_URL is a postgres:// URL, that server with a schema of the
 * fixture's own (created at setup, dropped at teardown), so that every
 * fixture starts from an empty warehouse and test binaries can share one
 * server at the same time.
 *
 * Also the one helper that runs a throwaway server's script
 * (vigil_test_server_script), for the backend tests that start their own.
 *
 * Header-only (static inline): tests of several directories include it
 * (the tests CMake links libpq into each test when it is found). */
#ifndef VIGIL_TEST_STORE_BACKEND_H
#define VIGIL_TEST_STORE_BACKEND_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef VIGIL_STORE_HAVE_POSTGRES
#include <libpq-fe.h>
#endif
#ifdef VIGIL_STORE_HAVE_MONGO
#include <mongoc/mongoc.h>
#endif

#include "vigil/store.h"

typedef struct vigil_test_store {
    char url[1024];  /* what vigil_store_conf_t.url gets */
    char base[1024]; /* VIGIL_STORE_URL as given; "" for SQLite */
    char schema[64]; /* the fixture's schema on PostgreSQL */
    char db[96];     /* the fixture's database on MongoDB */
} vigil_test_store_t;

/* Runs `ENV 'SOURCE/scripts/SCRIPT' VERB` through the shell, SOURCE being
 * VIGIL_SOURCE_DIR (else "."): the throwaway servers' scripts (scripts/postgres,
 * scripts/ferretdb) that the backend tests start and stop. env is the
 * script's settings as shell assignments ("VIGIL_PG_PORT=19141 ..."; may be
 * ""). The last non-empty line of its output (a start prints the server's
 * URL there) goes into last when last is set. Returns the script's wait
 * status (0 on success), -1 when it could not be run. */
static inline int vigil_test_server_script(const char *env, const char *script, const char *verb,
                                           char *last, size_t last_size)
{
    const char *src = getenv("VIGIL_SOURCE_DIR");
    char cmd[2048];
    int n = snprintf(cmd, sizeof(cmd), "%s '%s/scripts/%s' %s", env, src && *src ? src : ".",
                     script, verb);
    if (last && last_size) last[0] = '\0';
    if (n < 0 || (size_t)n >= sizeof(cmd)) return -1;
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (last && last_size && line[0]) snprintf(last, last_size, "%s", line);
    }
    return pclose(f);
}

/* Whether the tests run against PostgreSQL (VIGIL_STORE_URL postgres://). */
static inline int vigil_test_store_is_pg(void)
{
    const char *u = getenv("VIGIL_STORE_URL");
    return u && (strncmp(u, "postgres://", 11) == 0 || strncmp(u, "postgresql://", 13) == 0);
}

/* Whether the tests run against MongoDB (VIGIL_STORE_URL mongodb://). */
static inline int vigil_test_store_is_mongo(void)
{
    const char *u = getenv("VIGIL_STORE_URL");
    return u && strncmp(u, "mongodb://", 10) == 0;
}

/* Runs sql on base (the server of VIGIL_STORE_URL); 0 or -1 (message on
 * stderr). The first column of the first row into *v when v is set. */
static inline int vigil_test_pg_exec(const char *base, const char *sql, int64_t *v)
{
#ifndef VIGIL_STORE_HAVE_POSTGRES
    (void)base, (void)sql, (void)v;
    fprintf(stderr, "store_backend: the PostgreSQL store is not built into this tree\n");
    return -1;
#else
    PGconn *c = PQconnectdb(base);
    int rc = -1;
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "store_backend: cannot connect: %s", PQerrorMessage(c));
    } else {
        PGresult *quiet = PQexec(c, "SET client_min_messages TO warning"); /* DROP's notices */
        PQclear(quiet);
        PGresult *r = PQexec(c, sql);
        ExecStatusType s = PQresultStatus(r);
        if (s == PGRES_COMMAND_OK || (s == PGRES_TUPLES_OK && (!v || PQntuples(r) > 0))) {
            if (v) *v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            rc = 0;
        } else {
            fprintf(stderr, "store_backend: %s: %s", sql, PQerrorMessage(c));
        }
        PQclear(r);
    }
    PQfinish(c);
    return rc;
#endif
}

/* Sets t up for one fixture: SQLite ("sqlite", the conf's data dir) or a new
 * empty schema on PostgreSQL whose name is made of the pid and a counter.
 * 0 or -1. */
static inline int vigil_test_store_init(vigil_test_store_t *t)
{
    static unsigned seq;
    memset(t, 0, sizeof(*t));
    const char *env = getenv("VIGIL_STORE_URL");
    if (env && strncmp(env, "mongodb://", 10) == 0) {
        /* MongoDB: a database of the fixture's own (mongodb://HOST/DB?... ->
         * DB_PID_SEQ), left on the throwaway server */
        const char *slash = strchr(env + 10, '/');
        if (!slash) return -1;
        size_t q = strcspn(slash, "?");
        snprintf(t->url, sizeof(t->url), "%.*s_%ld_%u%s", (int)(slash - env + q), env,
                 (long)getpid(), ++seq, slash + q);
        snprintf(t->base, sizeof(t->base), "%s", t->url);
        snprintf(t->db, sizeof(t->db), "%.*s_%ld_%u", (int)(q > 1 ? q - 1 : 0), slash + 1,
                 (long)getpid(), seq);
        return 0;
    }
    if (!vigil_test_store_is_pg()) {
        snprintf(t->url, sizeof(t->url), "sqlite");
        return 0;
    }
    char sql[160];
    snprintf(t->base, sizeof(t->base), "%s", getenv("VIGIL_STORE_URL"));
    snprintf(t->schema, sizeof(t->schema), "vigil_test_%ld_%u", (long)getpid(), ++seq);
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", t->schema,
             t->schema);
    if (vigil_test_pg_exec(t->base, sql, NULL) != 0) return -1;
    /* libpq's options: every session of the store starts in the schema */
    snprintf(t->url, sizeof(t->url), "%s%soptions=-csearch_path%%3D%s", t->base,
             strchr(t->base, '?') ? "&" : "?", t->schema);
    return 0;
}

/* Drops t's schema (PostgreSQL). */
static inline void vigil_test_store_release(vigil_test_store_t *t)
{
    char sql[128];
    if (!t->schema[0]) return;
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", t->schema);
    vigil_test_pg_exec(t->base, sql, NULL);
    t->schema[0] = '\0';
}

/* MongoDB: the few SQL peeks the accounts tests make, as finds on t's
 * database: "SELECT count(*) FROM COLL [WHERE user_id = N]" and "SELECT
 * FIELD FROM COLL" (the first document's). -1 on an error or another
 * shape. */
static inline int64_t vigil_test_mongo_sql_int(const vigil_test_store_t *t, const char *sql)
{
    int64_t v = -1;
#ifdef VIGIL_STORE_HAVE_MONGO
    char coll[64] = "", field[64] = "";
    long long uid = 0;
    int count = 0, by_user = 0;
    if (sscanf(sql, "SELECT count(*) FROM %63s WHERE user_id = %lld", coll, &uid) == 2)
        count = by_user = 1;
    else if (sscanf(sql, "SELECT count(*) FROM %63s", coll) == 1)
        count = 1;
    else if (sscanf(sql, "SELECT %63s FROM %63s", field, coll) != 2)
        return -1;
    mongoc_init();
    mongoc_client_t *c = mongoc_client_new(t->base);
    if (!c) return -1;
    mongoc_collection_t *mc = mongoc_client_get_collection(c, t->db, coll);
    bson_t *filter = by_user ? BCON_NEW("user_id", BCON_INT64(uid)) : bson_new();
    bson_error_t error;
    if (count) {
        v = mongoc_collection_count_documents(mc, filter, NULL, NULL, NULL, &error);
        if (v < 0) fprintf(stderr, "store_backend: %s: %s\n", sql, error.message);
    } else {
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(mc, filter, NULL, NULL);
        const bson_t *doc;
        bson_iter_t it;
        if (mongoc_cursor_next(cur, &doc) && bson_iter_init_find(&it, doc, field))
            v = bson_iter_as_int64(&it);
        mongoc_cursor_destroy(cur);
    }
    bson_destroy(filter);
    mongoc_collection_destroy(mc);
    mongoc_client_destroy(c);
#else
    (void)t, (void)sql;
#endif
    return v;
}

/* MongoDB: every document of the named collections (NULL-terminated) of
 * t's database as relaxed extended JSON, one a line, malloc'd; NULL on an
 * error. */
static inline char *vigil_test_mongo_dump(const vigil_test_store_t *t, const char *const *colls)
{
#ifdef VIGIL_STORE_HAVE_MONGO
    mongoc_init();
    mongoc_client_t *c = mongoc_client_new(t->base);
    if (!c) return NULL;
    bson_string_t *out = bson_string_new("");
    for (size_t i = 0; colls[i]; i++) {
        mongoc_collection_t *mc = mongoc_client_get_collection(c, t->db, colls[i]);
        bson_t empty = BSON_INITIALIZER;
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(mc, &empty, NULL, NULL);
        const bson_t *doc;
        while (mongoc_cursor_next(cur, &doc)) {
            char *j = bson_as_relaxed_extended_json(doc, NULL);
            if (j) bson_string_append(out, j);
            bson_string_append(out, "\n");
            bson_free(j);
        }
        mongoc_cursor_destroy(cur);
        mongoc_collection_destroy(mc);
    }
    mongoc_client_destroy(c);
    char *s = strdup(out->str);
    bson_string_free(out, true);
    return s;
#else
    (void)t, (void)colls;
    return NULL;
#endif
}

/* The integer of the first column of the first row of sql on t's warehouse
 * (PostgreSQL; on MongoDB the few shapes of vigil_test_mongo_sql_int;
 * SQLite callers read their file). -1 on an error. */
static inline int64_t vigil_test_store_sql_int(const vigil_test_store_t *t, const char *sql)
{
    int64_t v = -1;
    if (t->db[0]) return vigil_test_mongo_sql_int(t, sql);
#ifdef VIGIL_STORE_HAVE_POSTGRES
    char full[2048];
    snprintf(full, sizeof(full), "SET search_path TO %s; %s", t->schema, sql);
    PGconn *c = PQconnectdb(t->base);
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, full); /* the last statement's result */
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
            v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        else
            fprintf(stderr, "sql %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
    }
    PQfinish(c);
#else
    (void)t, (void)sql;
#endif
    return v;
}

/* The text of the first column of the first row of sql on t's warehouse
 * (PostgreSQL), malloc'd; NULL on an error. */
static inline char *vigil_test_store_sql_text(const vigil_test_store_t *t, const char *sql)
{
    char *v = NULL;
#ifdef VIGIL_STORE_HAVE_POSTGRES
    char full[2048];
    snprintf(full, sizeof(full), "SET search_path TO %s; %s", t->schema, sql);
    PGconn *c = PQconnectdb(t->base);
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, full);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
            v = strdup(PQgetvalue(r, 0, 0));
        else
            fprintf(stderr, "sql %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
    }
    PQfinish(c);
#else
    (void)t, (void)sql;
#endif
    return v;
}

#endif
