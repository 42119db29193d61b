/* Where a PostgreSQL server is in its write-ahead log (store.h,
 * "replication"): on a primary the current write position, on a hot
 * standby the replayed position and the age of the last replayed commit.
 * Functions every role may call (no pg_monitor needed), so the warehouse's
 * own role can ask.
 *
 * Thread: the handle's thread. */
#include <stdlib.h>

#include "store/postgres_int.h"

/* One statement for both kinds of server; pg_current_wal_lsn() fails on a
 * standby, so the CASE picks per server (both are volatile: never folded). */
static const char wal_sql[] =
    "SELECT pg_is_in_recovery(), "
    "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() - '0/0'::pg_lsn "
    "ELSE pg_current_wal_lsn() - '0/0'::pg_lsn END, "
    "CASE WHEN pg_is_in_recovery() THEN "
    "extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) END";

vigil_err_t vigil__pg_wal(vigil_store_t *store, vigil_store_wal_t *wal, char *errstr,
                          size_t errstr_size)
{
    vigil__pg_t *pg = vigil__pg(store);
    vigil_err_t err;
    PGresult *res = vigil__pg_exec(pg, wal_sql, NULL, "read the WAL position", &err, errstr,
                                   errstr_size);

    if (!res) return err;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return vigil__pg_error(pg, VIGIL_ERR_STORE, errstr, errstr_size,
                               "read the WAL position: no row");
    }
    wal->standby = PQgetvalue(res, 0, 0)[0] == 't';
    /* NULL on a standby that has not replayed anything yet: 0 */
    wal->lsn = vigil__pg_is_null(res, 0, 1) ? 0 : strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    if (!wal->standby)
        wal->replay_age_s = 0;
    else if (vigil__pg_is_null(res, 0, 2))
        wal->replay_age_s = -1;
    else {
        wal->replay_age_s = vigil__pg_double(res, 0, 2);
        if (wal->replay_age_s < 0) wal->replay_age_s = 0; /* clocks a hair apart */
    }
    PQclear(res);
    return VIGIL_OK;
}
