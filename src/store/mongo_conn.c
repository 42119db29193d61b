/* The MongoDB backend's plumbing: the connection (URL, timeouts, the first
 * ping that tells a refused login from an unreachable host), error
 * classification and messages, id sequences, batched inserts, finds, and
 * the schema (indexes and the version in vigil_meta).
 *
 * Schema: MongoDB has no tables; "migrating" creates the collections'
 * indexes (each unique index is a warehouse key: the one that makes a
 * redelivered write a no-op) and writes the version. Every step is
 * idempotent (createIndexes of an existing index is a no-op), so the
 * migration list is one step that brings a database to
 * VIGIL__STORE_SCHEMA_VERSION whatever it was.
 *
 * Thread: the handle's thread. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/mongo_int.h"
#include "vigil/redact.h"

static const char *const mg_coll_names[VIGIL__MG_COLL_COUNT_] = {
    [VIGIL__MG_CAMERAS] = "cameras",
    [VIGIL__MG_FRAMES] = "frames",
    [VIGIL__MG_DETECTIONS] = "detections",
    [VIGIL__MG_EVENTS] = "events",
    [VIGIL__MG_AN_EVENTS] = "analytics_events",
    [VIGIL__MG_AN_COUNTS] = "analytics_counts",
    [VIGIL__MG_TRACK_POINTS] = "track_points",
    [VIGIL__MG_AN_STATE] = "analytics_state",
    [VIGIL__MG_META] = "vigil_meta",
    [VIGIL__MG_USERS] = "users",
    [VIGIL__MG_SESSIONS] = "sessions",
    [VIGIL__MG_TOKENS] = "api_tokens",
    [VIGIL__MG_PASSKEYS] = "passkeys",
    [VIGIL__MG_CHALLENGES] = "challenges",
    [VIGIL__MG_AUDIT] = "audit_log",
    [VIGIL__MG_PUSH] = "push_subscriptions",
    [VIGIL__MG_RULES] = "camera_rules", /* no index but _id: a few documents per camera */
};

mongoc_collection_t *vigil__mongo_coll(vigil__mongo_t *mg, vigil__mongo_coll_t which)
{
    if (!mg->colls[which])
        mg->colls[which] = mongoc_client_get_collection(mg->client, mg->dbname,
                                                        mg_coll_names[which]);
    return mg->colls[which];
}

vigil_err_t vigil__mongo_err(const bson_error_t *e)
{
    if (!e) return VIGIL_ERR_STORE;
    switch (e->domain) {
    case MONGOC_ERROR_STREAM:
    case MONGOC_ERROR_SERVER_SELECTION:
        return VIGIL_ERR_AGAIN; /* refused, reset, no server answered in time */
    case MONGOC_ERROR_CLIENT:
        if (e->code == MONGOC_ERROR_CLIENT_AUTHENTICATE) return VIGIL_ERR_CONFIG;
        return VIGIL_ERR_STORE;
    default:
        break;
    }
    switch (e->code) {
    case 11000:
    case 11001:
        return VIGIL_ERR_EXISTS;
    case 18: /* AuthenticationFailed */
    case 13: /* Unauthorized */
        return VIGIL_ERR_CONFIG;
    case 6:     /* HostUnreachable */
    case 7:     /* HostNotFound */
    case 89:    /* NetworkTimeout */
    case 91:    /* ShutdownInProgress */
    case 189:   /* PrimarySteppedDown */
    case 9001:  /* SocketException */
    case 10107: /* NotWritablePrimary */
    case 11600: /* InterruptedAtShutdown */
    case 11602: /* InterruptedDueToReplStateChange */
    case 13435: /* NotPrimaryNoSecondaryOk */
    case 13436: /* NotPrimaryOrSecondary */
        return VIGIL_ERR_AGAIN;
    case 50: /* MaxTimeMSExpired */
        return VIGIL_ERR_TIMED_OUT;
    default:
        return VIGIL_ERR_STORE;
    }
}

vigil_err_t vigil__mongo_fail(vigil__mongo_t *mg, vigil_err_t err, const bson_error_t *error,
                              char *errstr, size_t errstr_size, const char *fmt, ...)
{
    if (!err) err = vigil__mongo_err(error);
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(mg->base.errbuf, sizeof(mg->base.errbuf), "%s: %s%s%s%s", mg->where, what,
             error ? ": " : "", error ? error->message : "",
             err == VIGIL_ERR_AGAIN ? " (retriable)" : "");
    if (errstr && errstr_size) vigil_seterr(errstr, errstr_size, err, "%s", mg->base.errbuf);
    return err;
}

/* Ids: FerretDB applies $inc and filtered updates as read-modify-write
 * without a lock (4 writers taking 300 ids each by findAndModify $inc got
 * 354 duplicates), but its unique indexes hold. So a range of ids is claimed
 * by inserting a document whose _id is the range's first id into
 * vigil_ids_NAME, and every claim starts right after the newest one: two
 * writers who read the same newest claim try the same _id and one gets a
 * duplicate key (it reads again and retries). Claims are contiguous, so a
 * stale read always collides with the claim that followed it. Works as is
 * on MongoDB. */
vigil_err_t vigil__mongo_next_ids(vigil__mongo_t *mg, const char *name, int64_t n,
                                  int64_t *first, char *errstr, size_t errstr_size)
{
    char cname[64];
    snprintf(cname, sizeof(cname), "vigil_ids_%s", name);
    mongoc_collection_t *coll = mongoc_client_get_collection(mg->client, mg->dbname, cname);
    bson_t empty = BSON_INITIALIZER;
    bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(-1), "}", "limit", BCON_INT64(1));
    vigil_err_t err = VIGIL_OK;
    bson_error_t error;
    int done = 0;
    for (int attempt = 0; attempt < 1000 && !done; attempt++) {
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, &empty, opts, NULL);
        const bson_t *doc;
        int64_t next = 1;
        if (mongoc_cursor_next(cur, &doc)) next = vigil__mongo_i64(doc, "end") + 1;
        int failed = mongoc_cursor_error(cur, &error);
        mongoc_cursor_destroy(cur);
        if (failed) {
            err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size, "take %lld %s ids",
                                    (long long)n, name);
            done = 1;
            break;
        }
        bson_t *claim = BCON_NEW("_id", BCON_INT64(next), "end", BCON_INT64(next + n - 1));
        bool ok = mongoc_collection_insert_one(coll, claim, NULL, NULL, &error);
        bson_destroy(claim);
        if (ok) {
            *first = next;
            done = 1;
        } else if (vigil__mongo_err(&error) != VIGIL_ERR_EXISTS) {
            err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size, "take %lld %s ids",
                                    (long long)n, name);
            done = 1;
        } /* else another writer claimed it first: read again */
    }
    if (!done)
        err = vigil__mongo_fail(mg, VIGIL_ERR_AGAIN, NULL, errstr, errstr_size,
                                "take %lld %s ids: 1000 claims lost to other writers",
                                (long long)n, name);
    bson_destroy(opts);
    mongoc_collection_destroy(coll);
    return err;
}

/* Whether every write error of reply is a duplicate key. */
int vigil__mongo_only_duplicates(const bson_t *reply)
{
    bson_iter_t it, errs;
    if (!bson_iter_init_find(&it, reply, "writeErrors") || !BSON_ITER_HOLDS_ARRAY(&it))
        return 0;
    if (!bson_iter_recurse(&it, &errs)) return 0;
    int any = 0;
    while (bson_iter_next(&errs)) {
        bson_iter_t code;
        if (!BSON_ITER_HOLDS_DOCUMENT(&errs) || !bson_iter_recurse(&errs, &code) ||
            !bson_iter_find(&code, "code"))
            return 0;
        int32_t c = bson_iter_as_int64(&code);
        if (c != 11000 && c != 11001) return 0;
        any = 1;
    }
    return any && !bson_has_field(reply, "writeConcernErrors");
}

vigil_err_t vigil__mongo_insert_many(vigil__mongo_t *mg, vigil__mongo_coll_t which,
                                     const bson_t **docs, size_t n, size_t *inserted,
                                     const char *what, char *errstr, size_t errstr_size)
{
    if (inserted) *inserted = 0;
    if (n == 0) return VIGIL_OK;
    bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
    bson_t reply;
    bson_error_t error;
    vigil_err_t err = VIGIL_OK;
    bool ok = mongoc_collection_insert_many(vigil__mongo_coll(mg, which), docs, n, opts, &reply,
                                            &error);
    if (!ok && !vigil__mongo_only_duplicates(&reply))
        err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size, "%s", what);
    if (!err && inserted) *inserted = (size_t)vigil__mongo_i64(&reply, "insertedCount");
    bson_destroy(&reply);
    bson_destroy(opts);
    return err;
}

int64_t vigil__mongo_i64(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, key)) return 0;
    return bson_iter_as_int64(&it);
}

double vigil__mongo_dbl(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, key)) return 0;
    if (BSON_ITER_HOLDS_DOUBLE(&it)) return bson_iter_double(&it);
    return (double)bson_iter_as_int64(&it);
}

void vigil__mongo_str(const bson_t *doc, const char *key, char *out, size_t size)
{
    bson_iter_t it;
    out[0] = '\0';
    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it)) return;
    uint32_t len;
    const char *s = bson_iter_utf8(&it, &len);
    snprintf(out, size, "%.*s", (int)len, s);
}

vigil_err_t vigil__mongo_find(vigil__mongo_t *mg, vigil__mongo_coll_t which, const bson_t *filter,
                              const bson_t *opts, vigil__mongo_each_fn fn, void *arg,
                              const char *what, char *errstr, size_t errstr_size)
{
    mongoc_cursor_t *cur =
        mongoc_collection_find_with_opts(vigil__mongo_coll(mg, which), filter, opts, NULL);
    const bson_t *doc;
    vigil_err_t err = VIGIL_OK;
    while (!err && mongoc_cursor_next(cur, &doc)) err = fn(arg, doc);
    bson_error_t error;
    if (!err && mongoc_cursor_error(cur, &error))
        err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size, "%s", what);
    mongoc_cursor_destroy(cur);
    return err;
}

vigil_err_t vigil__mongo_delete_ids(vigil__mongo_t *mg, vigil__mongo_coll_t which,
                                    const bson_value_t *ids, size_t n, int64_t *deleted,
                                    const char *what)
{
    *deleted = 0;
    if (n == 0) return VIGIL_OK;
    bson_t filter, in, arr;
    bson_init(&filter);
    bson_append_document_begin(&filter, "_id", -1, &in);
    bson_append_array_begin(&in, "$in", -1, &arr);
    for (size_t i = 0; i < n; i++) {
        char key[16];
        const char *k;
        bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
        bson_append_value(&arr, k, -1, &ids[i]);
    }
    bson_append_array_end(&in, &arr);
    bson_append_document_end(&filter, &in);
    bson_t reply;
    bson_error_t error;
    vigil_err_t err = VIGIL_OK;
    if (!mongoc_collection_delete_many(vigil__mongo_coll(mg, which), &filter, NULL, &reply,
                                       &error))
        err = vigil__mongo_fail(mg, 0, &error, NULL, 0, "%s", what);
    else
        *deleted = vigil__mongo_i64(&reply, "deletedCount");
    bson_destroy(&reply);
    bson_destroy(&filter);
    return err;
}

/* ---- connection ---------------------------------------------------------- */

vigil_err_t vigil__mongo_connect(vigil__mongo_t *mg, const char *url, char *errstr,
                                 size_t errstr_size)
{
    char shown[256];
    vigil_url_redact(url, shown, sizeof(shown));
    bson_error_t error;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(url, &error);
    if (!uri)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "store url \"%s\": %s", shown,
                            error.message);
    const char *db = mongoc_uri_get_database(uri);
    snprintf(mg->dbname, sizeof(mg->dbname), "%s", db && *db ? db : "vigil");
    const mongoc_host_list_t *h = mongoc_uri_get_hosts(uri);
    snprintf(mg->where, sizeof(mg->where), "mongodb %s/%s", h ? h->host_and_port : "?",
             mg->dbname);
    /* an unreachable server fails a call in seconds, not the driver's 30 s */
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 5000);
    if (!mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, 5000);
    if (!mongoc_uri_has_option(uri, MONGOC_URI_APPNAME))
        mongoc_uri_set_appname(uri, "vigil");
    mg->client = mongoc_client_new_from_uri_with_error(uri, &error);
    mongoc_uri_destroy(uri);
    if (!mg->client)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG, "store url \"%s\": %s", shown,
                            error.message);
    mongoc_client_set_error_api(mg->client, MONGOC_ERROR_API_VERSION_2);
    /* a first round trip: a wrong password or an unreachable host fails the open */
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    bson_t reply;
    bool ok = mongoc_client_command_simple(mg->client, mg->dbname, ping, NULL, &reply, &error);
    bson_destroy(&reply);
    bson_destroy(ping);
    if (!ok) {
        vigil_err_t err = vigil__mongo_err(&error);
        return vigil__mongo_fail(mg, err, &error, errstr, errstr_size, "%s",
                                 err == VIGIL_ERR_CONFIG ? "login refused (user or password)"
                                                         : "cannot connect");
    }
    return VIGIL_OK;
}

/* ---- schema -------------------------------------------------------------- */

/* The indexes of each collection: name, key spec as JSON, unique. */
static const struct {
    vigil__mongo_coll_t coll;
    const char *name, *keys;
    int unique;
} mg_indexes[] = {
    {VIGIL__MG_FRAMES, "frame_key", "{\"camera_id\": 1, \"sequence\": 1, \"capture_time_us\": 1}",
     1},
    {VIGIL__MG_FRAMES, "frame_time", "{\"capture_time_us\": 1, \"_id\": 1}", 0},
    {VIGIL__MG_FRAMES, "frame_camera_time",
     "{\"camera_id\": 1, \"capture_time_us\": 1, \"_id\": 1}", 0},
    {VIGIL__MG_FRAMES, "frame_unprocessed", "{\"detection_count\": 1, \"_id\": 1}", 0},
    {VIGIL__MG_DETECTIONS, "detection_key",
     "{\"camera_id\": 1, \"sequence\": 1, \"model\": 1, \"idx\": 1, \"capture_time_us\": 1}", 1},
    {VIGIL__MG_DETECTIONS, "detection_camera", "{\"camera_id\": 1, \"_id\": -1}", 0},
    {VIGIL__MG_DETECTIONS, "detection_label", "{\"label\": 1, \"_id\": -1}", 0},
    {VIGIL__MG_DETECTIONS, "detection_time", "{\"capture_time_us\": 1}", 0},
    {VIGIL__MG_DETECTIONS, "detection_time_id", "{\"capture_time_us\": -1, \"_id\": -1}", 0},
    {VIGIL__MG_EVENTS, "event_camera_time", "{\"camera_id\": 1, \"time_us\": 1}", 0},
    {VIGIL__MG_EVENTS, "event_time", "{\"time_us\": 1}", 0},
    {VIGIL__MG_AN_EVENTS, "an_event_key",
     "{\"camera_id\": 1, \"kind\": 1, \"track_id\": 1, \"zone\": 1, \"line\": 1, "
     "\"start_sequence\": 1}",
     1},
    {VIGIL__MG_AN_EVENTS, "an_event_start", "{\"start_us\": -1, \"_id\": -1}", 0},
    {VIGIL__MG_AN_EVENTS, "an_event_camera_start",
     "{\"camera_id\": 1, \"start_us\": -1, \"_id\": -1}", 0},
    {VIGIL__MG_AN_EVENTS, "an_event_end", "{\"open\": 1, \"end_us\": 1}", 0},
    {VIGIL__MG_AN_COUNTS, "an_count_key",
     "{\"camera_id\": 1, \"zone\": 1, \"line\": 1, \"label\": 1, \"minute_us\": 1}", 1},
    {VIGIL__MG_AN_COUNTS, "an_count_minute", "{\"minute_us\": 1}", 0},
    {VIGIL__MG_TRACK_POINTS, "track_point_key",
     "{\"camera_id\": 1, \"track_id\": 1, \"sequence\": 1, \"time_us\": 1}", 1},
    {VIGIL__MG_TRACK_POINTS, "track_point_time", "{\"time_us\": 1}", 0},
    /* accounts: the SQL tables' UNIQUE columns, and what the lists and sweeps read */
    {VIGIL__MG_USERS, "user_name", "{\"name\": 1}", 1},
    {VIGIL__MG_USERS, "user_role", "{\"role\": 1}", 0},
    {VIGIL__MG_SESSIONS, "session_sid", "{\"sid_hash\": 1}", 1},
    {VIGIL__MG_SESSIONS, "session_user", "{\"user_id\": 1, \"_id\": -1}", 0},
    {VIGIL__MG_SESSIONS, "session_expires", "{\"expires_us\": 1}", 0},
    {VIGIL__MG_TOKENS, "token_hash", "{\"token_hash\": 1}", 1},
    {VIGIL__MG_TOKENS, "token_user", "{\"user_id\": 1, \"_id\": 1}", 0},
    {VIGIL__MG_PASSKEYS, "passkey_cred", "{\"cred_id\": 1}", 1},
    {VIGIL__MG_PASSKEYS, "passkey_user", "{\"user_id\": 1, \"_id\": 1}", 0},
    {VIGIL__MG_CHALLENGES, "challenge_key", "{\"purpose\": 1, \"challenge_hash\": 1}", 1},
    {VIGIL__MG_CHALLENGES, "challenge_expires", "{\"expires_us\": 1}", 0},
    {VIGIL__MG_PUSH, "push_endpoint", "{\"endpoint\": 1}", 1},
    {VIGIL__MG_PUSH, "push_user", "{\"user_id\": 1, \"_id\": 1}", 0},
};

/* Whether coll has an index called name (FerretDB 1.24 drops the
 * connection when createIndexes names one that exists, so those are left
 * out of the command). */
static int mg_has_index(vigil__mongo_t *mg, vigil__mongo_coll_t coll, const char *name)
{
    mongoc_cursor_t *cur =
        mongoc_collection_find_indexes_with_opts(vigil__mongo_coll(mg, coll), NULL);
    const bson_t *doc;
    int found = 0;
    while (!found && mongoc_cursor_next(cur, &doc)) {
        char got[128];
        vigil__mongo_str(doc, "name", got, sizeof(got));
        found = strcmp(got, name) == 0;
    }
    mongoc_cursor_destroy(cur); /* an error (no collection yet): none */
    return found;
}

static vigil_err_t mg_create_indexes(vigil__mongo_t *mg, vigil__mongo_coll_t coll, char *errstr,
                                     size_t errstr_size)
{
    bson_t cmd, arr;
    bson_init(&cmd);
    BSON_APPEND_UTF8(&cmd, "createIndexes", mg_coll_names[coll]);
    bson_append_array_begin(&cmd, "indexes", -1, &arr);
    unsigned k = 0;
    for (size_t i = 0; i < sizeof(mg_indexes) / sizeof(mg_indexes[0]); i++) {
        if (mg_indexes[i].coll != coll || mg_has_index(mg, coll, mg_indexes[i].name)) continue;
        bson_error_t jerr;
        bson_t *keys = bson_new_from_json((const uint8_t *)mg_indexes[i].keys, -1, &jerr);
        if (!keys) abort(); /* the table above is wrong */
        char key[16];
        const char *kp;
        bson_uint32_to_string(k++, &kp, key, sizeof(key));
        bson_t ix;
        bson_append_document_begin(&arr, kp, -1, &ix);
        BSON_APPEND_DOCUMENT(&ix, "key", keys);
        BSON_APPEND_UTF8(&ix, "name", mg_indexes[i].name);
        if (mg_indexes[i].unique) BSON_APPEND_BOOL(&ix, "unique", true);
        bson_append_document_end(&arr, &ix);
        bson_destroy(keys);
    }
    bson_append_array_end(&cmd, &arr);
    vigil_err_t err = VIGIL_OK;
    if (k > 0) {
        bson_t reply;
        bson_error_t error;
        mongoc_database_t *db = mongoc_client_get_database(mg->client, mg->dbname);
        if (!mongoc_database_write_command_with_opts(db, &cmd, NULL, &reply, &error))
            err = vigil__mongo_fail(mg, 0, &error, errstr, errstr_size,
                                    "create the indexes of %s", mg_coll_names[coll]);
        bson_destroy(&reply);
        mongoc_database_destroy(db);
    }
    bson_destroy(&cmd);
    return err;
}

int vigil__mongo_read_version(vigil__mongo_t *mg, char *errstr, size_t errstr_size)
{
    bson_t *filter = BCON_NEW("_id", BCON_UTF8("schema"));
    bson_t *opts = BCON_NEW("limit", BCON_INT64(1));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(vigil__mongo_coll(mg, VIGIL__MG_META),
                                                            filter, opts, NULL);
    const bson_t *doc;
    int v = 0;
    if (mongoc_cursor_next(cur, &doc)) v = (int)vigil__mongo_i64(doc, "version");
    bson_error_t error;
    if (mongoc_cursor_error(cur, &error)) {
        vigil__mongo_fail(mg, 0, &error, errstr, errstr_size, "read the schema version");
        v = -1;
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    bson_destroy(opts);
    return v;
}

int vigil__mongo_schema_version(vigil_store_t *store)
{
    return vigil__mongo_read_version(vigil__mongo(store), NULL, 0);
}

vigil_err_t vigil__mongo_migrate(vigil_store_t *store, int *from, int *to, char *errstr,
                                 size_t errstr_size)
{
    vigil__mongo_t *mg = vigil__mongo(store);
    int v = vigil__mongo_read_version(mg, errstr, errstr_size);
    if (v < 0) return vigil__mongo_err(NULL);
    if (from) *from = v;
    if (v > VIGIL__STORE_SCHEMA_VERSION) {
        char msg[256];
        vigil_err_t err = vigil__store_version_error(v, msg, sizeof(msg));
        return vigil__mongo_fail(mg, err, NULL, errstr, errstr_size, "%s", msg);
    }
    /* Indexes are created once per database and collection: FerretDB 1.24
     * drops the connection (a panic in createIndexes) when asked again for
     * indexes that exist. A database made before the accounts collections
     * (mongo_accounts.c, mongo_push.c) existed has the schema version but no
     * "accounts" mark: it gets their indexes (new collections) once. */
    int marked = 0;
    {
        bson_t *filter = BCON_NEW("_id", BCON_UTF8("accounts"));
        int64_t n = mongoc_collection_count_documents(vigil__mongo_coll(mg, VIGIL__MG_META),
                                                      filter, NULL, NULL, NULL, NULL);
        bson_destroy(filter);
        marked = n > 0;
    }
    if (v < VIGIL__STORE_SCHEMA_VERSION || !marked) {
        int from_c = v < VIGIL__STORE_SCHEMA_VERSION ? 0 : VIGIL__MG_USERS;
        for (int c = from_c; c < VIGIL__MG_COLL_COUNT_; c++) {
            vigil_err_t err = mg_create_indexes(mg, (vigil__mongo_coll_t)c, errstr, errstr_size);
            if (err) return err;
        }
        bson_t *mark = BCON_NEW("_id", BCON_UTF8("accounts"));
        bson_error_t error;
        if (!mongoc_collection_insert_one(vigil__mongo_coll(mg, VIGIL__MG_META), mark, NULL,
                                          NULL, &error) &&
            vigil__mongo_err(&error) != VIGIL_ERR_EXISTS) {
            bson_destroy(mark);
            return vigil__mongo_fail(mg, 0, &error, errstr, errstr_size,
                                     "mark the accounts indexes");
        }
        bson_destroy(mark);
    }
    /* The search's index (detection_time_id) came later: a database without
     * the "search" mark gets the detections' missing indexes once. */
    {
        bson_t *filter = BCON_NEW("_id", BCON_UTF8("search"));
        int64_t n = mongoc_collection_count_documents(vigil__mongo_coll(mg, VIGIL__MG_META),
                                                      filter, NULL, NULL, NULL, NULL);
        bson_destroy(filter);
        if (n <= 0) {
            vigil_err_t err = mg_create_indexes(mg, VIGIL__MG_DETECTIONS, errstr, errstr_size);
            if (err) return err;
            bson_t *mark = BCON_NEW("_id", BCON_UTF8("search"));
            bson_error_t error;
            if (!mongoc_collection_insert_one(vigil__mongo_coll(mg, VIGIL__MG_META), mark, NULL,
                                              NULL, &error) &&
                vigil__mongo_err(&error) != VIGIL_ERR_EXISTS) {
                bson_destroy(mark);
                return vigil__mongo_fail(mg, 0, &error, errstr, errstr_size,
                                         "mark the search indexes");
            }
            bson_destroy(mark);
        }
    }
    if (v < VIGIL__STORE_SCHEMA_VERSION) {
        bson_t *filter = BCON_NEW("_id", BCON_UTF8("schema"));
        bson_t *update =
            BCON_NEW("$set", "{", "version", BCON_INT32(VIGIL__STORE_SCHEMA_VERSION), "}");
        bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
        bson_error_t error;
        bool ok = mongoc_collection_update_one(vigil__mongo_coll(mg, VIGIL__MG_META), filter,
                                               update, opts, NULL, &error);
        bson_destroy(filter);
        bson_destroy(update);
        bson_destroy(opts);
        if (!ok)
            return vigil__mongo_fail(mg, 0, &error, errstr, errstr_size,
                                     "write the schema version");
    }
    if (to) *to = VIGIL__STORE_SCHEMA_VERSION;
    return VIGIL_OK;
}
