/* Time partitions of the PostgreSQL warehouse: frames, detections, events,
 * track_points and analytics_counts have one partition per UTC day of their
 * time column, named TABLE_pYYYYMMDD (postgres_schema.c makes the
 * partitioned parents).
 *
 * Made as needed: before a write, the days of its rows are looked up in a
 * small per-handle cache of days known to exist; a day not in it gets the
 * partitions of all five tables at once (CREATE TABLE IF NOT EXISTS ...
 * PARTITION OF), in a transaction of its own under an advisory lock so that
 * handles racing on a new day create each partition once. There is no
 * default partition: a row always lands in its day's partition, so a day's
 * partition can be created later without moving rows out of a default.
 *
 * Dropped by retention: a sweep of every camera drops each partition whose
 * whole day is older than the cut (rows counted first, for the sweep's
 * result) instead of deleting its rows one by one: no dead rows, no vacuum,
 * the disk space back at once. Frames are the exception, since each row
 * names a file that must go after the row (store.c): their rows are deleted
 * in batches as SQLite does, and the partitions that emptied are dropped.
 * A per-camera sweep deletes rows. DROP waits at most a few seconds for the
 * lock on the parent (long readers): when it cannot have it, the sweep
 * deletes the rows instead.
 *
 * Thread: the handle's thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/postgres_int.h"

/* pg_advisory_xact_lock key of partition DDL: "vigilpt" in ASCII (0x766967696c7074). */
#define PG_PARTITION_LOCK "33329940123119732"

static const struct {
    const char *table, *column;
} pg_partitioned[] = {
    {"frames", "capture_time_us"},
    {"detections", "capture_time_us"},
    {"events", "time_us"},
    {"track_points", "time_us"},
    {"analytics_counts", "minute_us"},
};
#define PG_PARTITIONED (sizeof(pg_partitioned) / sizeof(pg_partitioned[0]))

int64_t vigil__pg_day_of(int64_t t_us)
{
    int64_t d = t_us / VIGIL__PG_DAY_US;
    if (t_us % VIGIL__PG_DAY_US < 0) d--; /* floor, also before 1970 */
    return d * VIGIL__PG_DAY_US;
}

/* "TABLE_pYYYYMMDD" of the day starting at day_us; -1 if it does not fit. */
static int pg_partition_name(const char *table, int64_t day_us, char *out, size_t size)
{
    time_t secs = (time_t)(day_us / 1000000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 99999) return -1;
    int n = snprintf(out, size, "%s_p%04d%02d%02d", table, tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The day a partition name stands for: 0 and *day_us, or -1 if the name is
 * not TABLE_pYYYYMMDD. */
static int pg_partition_day(const char *table, const char *name, int64_t *day_us)
{
    size_t tl = strlen(table);
    if (strncmp(name, table, tl) != 0 || strncmp(name + tl, "_p", 2) != 0) return -1;
    const char *d = name + tl + 2;
    if (strlen(d) < 8 || strspn(d, "0123456789") != strlen(d)) return -1;
    struct tm tm = {0};
    int year = atoi(d) / 10000, rest = atoi(d + strlen(d) - 4);
    tm.tm_year = year - 1900;
    tm.tm_mon = rest / 100 - 1;
    tm.tm_mday = rest % 100;
    time_t secs = timegm(&tm);
    *day_us = (int64_t)secs * 1000000;
    return 0;
}

static int pg_day_known(const vigil__pg_t *pg, int64_t day)
{
    for (size_t i = 0; i < pg->ndays; i++)
        if (pg->days[i] == day) return 1;
    return 0;
}

static void pg_day_remember(vigil__pg_t *pg, int64_t day)
{
    pg->days[pg->days_next] = day;
    pg->days_next = (pg->days_next + 1) % VIGIL__PG_DAYS_CACHED;
    if (pg->ndays < VIGIL__PG_DAYS_CACHED) pg->ndays++;
}

void vigil__pg_partitions_forget(vigil__pg_t *pg)
{
    pg->ndays = 0;
    pg->days_next = 0;
}

/* Creates the partitions of one day that are missing, in one transaction. */
static vigil_err_t pg_create_day(vigil__pg_t *pg, int64_t day, char *errstr, size_t errstr_size)
{
    char sql[4096], name[96];
    size_t len = 0;
    len += (size_t)snprintf(sql + len, sizeof(sql) - len,
                            "SELECT pg_advisory_xact_lock(" PG_PARTITION_LOCK ");");
    for (size_t i = 0; i < PG_PARTITIONED; i++) {
        if (pg_partition_name(pg_partitioned[i].table, day, name, sizeof(name)) != 0)
            return vigil__pg_error(pg, VIGIL_ERR_INVALID, errstr, errstr_size,
                                   "no partition name for the day at %lld us", (long long)day);
        /* the last day PostgreSQL can bound is open at the top */
        char upper[32];
        if (day > INT64_MAX - VIGIL__PG_DAY_US)
            snprintf(upper, sizeof(upper), "MAXVALUE");
        else
            snprintf(upper, sizeof(upper), "(%lld)", (long long)(day + VIGIL__PG_DAY_US));
        len += (size_t)snprintf(sql + len, sizeof(sql) - len,
                                "CREATE TABLE IF NOT EXISTS \"%s\" PARTITION OF %s "
                                "FOR VALUES FROM (%lld) TO %s;",
                                name, pg_partitioned[i].table, (long long)day, upper);
        if (len >= sizeof(sql)) return VIGIL_ERR_STORE;
    }
    vigil_err_t err = vigil__pg_begin(pg, errstr, errstr_size);
    if (err) return err;
    char what[128];
    pg_partition_name("partitions", day, name, sizeof(name));
    snprintf(what, sizeof(what), "create the day's %s", name);
    err = vigil__pg_command(pg, sql, what, errstr, errstr_size);
    if (err == VIGIL_OK) return vigil__pg_commit(pg, errstr, errstr_size);
    vigil__pg_rollback(pg);
    return err;
}

vigil_err_t vigil__pg_partitions_ensure(vigil__pg_t *pg, const int64_t *t_us, size_t n,
                                        char *errstr, size_t errstr_size)
{
    for (size_t i = 0; i < n; i++) {
        int64_t day = vigil__pg_day_of(t_us[i]);
        if (pg_day_known(pg, day)) continue;
        /* do the day's partitions all exist (a sweep may have dropped some)? */
        char names[PG_PARTITIONED][96];
        vigil__pg_params_t p;
        vigil__pg_params_init(&p);
        for (size_t t = 0; t < PG_PARTITIONED; t++) {
            if (pg_partition_name(pg_partitioned[t].table, day, names[t], sizeof(names[t])) != 0) {
                vigil__pg_params_release(&p);
                return vigil__pg_error(pg, VIGIL_ERR_INVALID, errstr, errstr_size,
                                       "time %lld us is out of range", (long long)t_us[i]);
            }
            vigil__pg_param_text(&p, names[t]);
        }
        _Static_assert(PG_PARTITIONED == 5, "the lookup below names five partitions");
        vigil_err_t err;
        PGresult *res = vigil__pg_exec_prepared(
            pg, VIGIL__PG_SLOTS_CORE + 63,
            "SELECT to_regclass(quote_ident($1)) IS NOT NULL AND "
            "to_regclass(quote_ident($2)) IS NOT NULL AND to_regclass(quote_ident($3)) IS NOT "
            "NULL AND to_regclass(quote_ident($4)) IS NOT NULL AND "
            "to_regclass(quote_ident($5)) IS NOT NULL",
            &p, "look up partitions", &err, errstr, errstr_size);
        vigil__pg_params_release(&p);
        if (!res) return err;
        int exists = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
        if (!exists && (err = pg_create_day(pg, day, errstr, errstr_size))) return err;
        pg_day_remember(pg, day);
    }
    return VIGIL_OK;
}

vigil_err_t vigil__pg_partitions_drop(vigil__pg_t *pg, const char *table, int64_t before_us,
                                      int64_t *deleted, char *errstr, size_t errstr_size)
{
    *deleted = 0;
    int frames = strcmp(table, "frames") == 0;
    vigil__pg_params_t p;
    vigil__pg_params_init(&p);
    vigil__pg_param_text(&p, table);
    vigil_err_t err;
    PGresult *list = vigil__pg_exec(pg,
                                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON "
                                    "c.oid = i.inhrelid WHERE i.inhparent = $1::regclass "
                                    "ORDER BY c.relname",
                                    &p, "list partitions", &err, errstr, errstr_size);
    vigil__pg_params_release(&p);
    if (!list) return err;
    for (int r = 0; r < PQntuples(list); r++) {
        const char *name = PQgetvalue(list, r, 0);
        int64_t day;
        if (pg_partition_day(table, name, &day) != 0) continue;
        if (before_us < INT64_MIN + VIGIL__PG_DAY_US || day > before_us - VIGIL__PG_DAY_US)
            break; /* sorted by day: the rest is newer */
        char sql[256];
        if ((err = vigil__pg_begin(pg, errstr, errstr_size))) break;
        snprintf(sql, sizeof(sql), "SET LOCAL lock_timeout = '5s'; LOCK TABLE %s IN ACCESS "
                 "EXCLUSIVE MODE", table);
        err = vigil__pg_command(pg, sql, "lock for dropping a partition", errstr, errstr_size);
        PGresult *cnt = NULL;
        if (err == VIGIL_OK) {
            snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", name);
            cnt = vigil__pg_exec(pg, sql, NULL, "count a partition's rows", &err, errstr,
                                 errstr_size);
        }
        int64_t rows = cnt ? vigil__pg_int64(cnt, 0, 0) : 0;
        PQclear(cnt);
        if (err == VIGIL_OK && frames && rows > 0) { /* not emptied yet: rows first */
            vigil__pg_rollback(pg);
            break;
        }
        if (err == VIGIL_OK) {
            snprintf(sql, sizeof(sql), "DROP TABLE \"%s\"", name);
            err = vigil__pg_command(pg, sql, "drop a partition", errstr, errstr_size);
        }
        if (err == VIGIL_OK) err = vigil__pg_commit(pg, errstr, errstr_size);
        if (err != VIGIL_OK) {
            vigil__pg_rollback(pg);
            break;
        }
        *deleted += rows;
        /* the day's other partitions may still be there: look again on a write */
        vigil__pg_partitions_forget(pg);
    }
    PQclear(list);
    return err;
}
