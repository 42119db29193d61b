/* Runs the store conformance suite (store_conformance_support.c and the
 * store_cases_*_support.c files) against MongoDB: VIGIL_MONGO_URL if set,
 * else a throwaway FerretDB that scripts/ferretdb starts on 127.0.0.1:27141
 * (VIGIL_FERRET_PORT overrides) and stops at the end, or, with
 * VIGIL_FERRET_DIR set (the ctest fixture ferretdb_server), that server,
 * left running. Every case shares the
 * one database; the cases' camera ids are unique to the run.
 *
 * An empty database for the "fresh store" case is another database of the
 * same server (the url's path), dropped at the end.
 *
 * Exits 77 (skipped) with the reason when there is no server to run on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_backend.h"
#include "store_conformance.h"
#include "vigil/redact.h"

#ifdef VIGIL_STORE_HAVE_MONGO
#include <mongoc/mongoc.h>

#define MG_TEST_PORT "27141"

/* Runs `scripts/ferretdb VERB` with this test's port and dir; the last line
 * of its output in last (may be NULL). Returns its exit status. */
static int mg_script(const char *verb, char *last, size_t last_size)
{
    const char *port = getenv("VIGIL_FERRET_PORT");
    const char *dir = getenv("VIGIL_FERRET_DIR"); /* the ctest fixture's server */
    char env[1024];
    if (!port || !*port) port = MG_TEST_PORT;
    if (dir && *dir)
        snprintf(env, sizeof(env), "VIGIL_FERRET_PORT=%s VIGIL_FERRET_DIR='%s'", port, dir);
    else
        snprintf(env, sizeof(env),
                 "VIGIL_FERRET_PORT=%s VIGIL_FERRET_DIR=/tmp/vigil-ferret-conformance-%s", port,
                 port);
    return vigil_test_server_script(env, "ferretdb", verb, last, last_size);
}

static char mg_url[1024];
static unsigned mg_fresh_count;

/* mg_url with its database (the path) replaced by db, options kept. */
static int mg_url_with_db(const char *db, char *url, size_t size)
{
    const char *hosts = strstr(mg_url, "://");
    if (!hosts) return -1;
    const char *path = strchr(hosts + 3, '/');
    const char *query = strchr(hosts + 3, '?');
    size_t head = path ? (size_t)(path - mg_url) : query ? (size_t)(query - mg_url) : strlen(mg_url);
    int n = snprintf(url, size, "%.*s/%s%s", (int)head, mg_url, db, query ? query : "");
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* cs_fresh_url: a new, empty database of the same server. */
static int mg_fresh_url(char *url, size_t size)
{
    char db[64];
    snprintf(db, sizeof(db), "fresh_%ld_%u", (long)getpid(), ++mg_fresh_count);
    return mg_url_with_db(db, url, size);
}

/* Drops the fresh databases. */
static void mg_drop_fresh(void)
{
    mongoc_client_t *c = mongoc_client_new(mg_url);
    if (!c) return;
    for (unsigned i = 1; i <= mg_fresh_count; i++) {
        char db[64];
        snprintf(db, sizeof(db), "fresh_%ld_%u", (long)getpid(), i);
        mongoc_database_t *d = mongoc_client_get_database(c, db);
        mongoc_database_drop(d, NULL);
        mongoc_database_destroy(d);
    }
    mongoc_client_destroy(c);
}

int main(void)
{
    const char *given = getenv("VIGIL_MONGO_URL");
    char url[1024];
    int started = 0;
    if (given && *given) {
        snprintf(url, sizeof(url), "%s", given);
    } else {
        if (mg_script("start", url, sizeof(url)) != 0 || strncmp(url, "mongodb://", 10) != 0) {
            fprintf(stderr, "SKIP: scripts/ferretdb start could not start FerretDB (%s)\n",
                    url[0] ? "see its output above" : "no output");
            mg_script("stop", NULL, 0);
            return 77;
        }
        /* a server of the ferretdb_server fixture stays for the others */
        const char *dir = getenv("VIGIL_FERRET_DIR");
        started = !(dir && *dir);
    }
    char shown[1024];
    vigil_url_redact(url, shown, sizeof(shown));
    fprintf(stderr, "store conformance on %s\n", shown);
    snprintf(mg_url, sizeof(mg_url), "%s", url);
    cs_fresh_url = mg_fresh_url;
    mongoc_init();
    int rc = vigil_store_conformance_run("store_conformance_mongo", url);
    mg_drop_fresh();
    if (started) mg_script("stop", NULL, 0);
    return rc;
}
#else
int main(void)
{
    fprintf(stderr, "SKIP: the MongoDB store is not built into this tree (libmongoc-dev, "
                    "-DVIGIL_MONGO=ON)\n");
    return 77;
}
#endif
