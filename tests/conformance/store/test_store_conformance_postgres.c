/* Runs the store conformance suite (store_conformance_support.c and the
 * store_cases_*_support.c files) against PostgreSQL: VIGIL_PG_URL if set,
 * else a throwaway server that scripts/postgres starts on 127.0.0.1:19141
 * (VIGIL_PG_PORT overrides) and stops at the end. Every case shares the one
 * database; the cases' camera ids are unique to the run.
 *
 * An empty database for the "fresh store" case is a new schema of the
 * same database (search_path in the url's options), dropped at the end.
 *
 * Exits 77 (skipped) with the reason when there is no server to run on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "store_backend.h"
#include "store_conformance.h"
#include "vigil/redact.h"

#define PG_TEST_PORT "19141"

/* Runs `scripts/postgres VERB` with this test's port and dir; the last line
 * of its output in last (may be NULL). Returns its exit status. */
static int pg_script(const char *verb, char *last, size_t last_size)
{
    const char *port = getenv("VIGIL_PG_PORT");
    char env[256];
    if (!port || !*port) port = PG_TEST_PORT;
    snprintf(env, sizeof(env),
             "VIGIL_PG_PORT=%s VIGIL_PG_DIR=/tmp/vigil-pg-conformance-%s VIGIL_PG_FAST=1", port,
             port);
    return vigil_test_server_script(env, "postgres", verb, last, last_size);
}

static char pg_url[1024];
static unsigned pg_fresh_count;

static void pg_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Runs one statement on the test's database; 0 or -1 (message on stderr). */
static int pg_sql(const char *sql)
{
    PGconn *c = PQconnectdb(pg_url);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PQsetNoticeProcessor(c, pg_quiet, NULL); /* DROP ... CASCADE lists every table */
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
    }
    if (!ok) fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
    PQfinish(c);
    return ok ? 0 : -1;
}

/* cs_fresh_url: a new, empty schema first on the url's search_path. */
static int pg_fresh_url(char *url, size_t size)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE SCHEMA fresh_%ld_%u", (long)getpid(), ++pg_fresh_count);
    if (pg_sql(sql) != 0) return -1;
    int n = snprintf(url, size, "%s%coptions=-csearch_path%%3Dfresh_%ld_%u", pg_url,
                     strchr(pg_url, '?') ? '&' : '?', (long)getpid(), pg_fresh_count);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

int main(void)
{
    const char *given = getenv("VIGIL_PG_URL");
    char url[1024];
    int started = 0;
    if (given && *given) {
        snprintf(url, sizeof(url), "%s", given);
    } else {
        if (pg_script("start", url, sizeof(url)) != 0 || strncmp(url, "postgres://", 11) != 0) {
            fprintf(stderr, "SKIP: scripts/postgres start could not start PostgreSQL (%s)\n",
                    url[0] ? "see its output above" : "no output");
            pg_script("stop", NULL, 0);
            return 77;
        }
        started = 1;
    }
    char shown[1024];
    vigil_url_redact(url, shown, sizeof(shown));
    fprintf(stderr, "store conformance on %s\n", shown);
    snprintf(pg_url, sizeof(pg_url), "%s", url);
    cs_fresh_url = pg_fresh_url;
    int rc = vigil_store_conformance_run("store_conformance_postgres", url);
    for (unsigned i = 1; i <= pg_fresh_count; i++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS fresh_%ld_%u CASCADE", (long)getpid(), i);
        pg_sql(sql);
    }
    if (started) pg_script("stop", NULL, 0);
    return rc;
}
