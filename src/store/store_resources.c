/* The resources half of the warehouse front (store.h, section "resources"):
 * argument checks, metrics, dispatch to the backend's resources ops
 * (store_resources_int.h), and the clip file of a deleted event.
 *
 * The main idea, as in store_accounts.c: what a backend could get wrong in
 * its own way is decided here once. Camera ids are checked against the id
 * rule, strings against the columns they go to, lists and limits against
 * their bounds; a backend only runs statements. What a valid camera URL,
 * rule set or review is, is the API's (src/api/), not the store's.
 *
 * Out of memory: lists are malloc'd; a failed allocation is VIGIL_ERR_NOMEM
 * and nothing is handed back.
 *
 * Thread: a handle is used by one thread at a time (store.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_resources_int.h"
#include "vigil/clock.h"
#include "vigil/config.h"

#define RES_OPS(store) ((store)->ops->resources)

/* Starts a call: the backend must have resources. */
#define RES_BEGIN(store, errstr, errstr_size)                                                    \
    do {                                                                                         \
        if (!(store))                                                                            \
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "no store");             \
        if (!RES_OPS(store))                                                                     \
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,                      \
                                "the %s store has no API resources", (store)->ops->name);        \
        (store)->errbuf[0] = '\0';                                                               \
    } while (0)

#define RES_TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

static vigil_err_t res_invalid(char *errstr, size_t errstr_size, const char *what)
{
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "store: %s", what);
}

/* Whether s is a string of at most max bytes. */
static int res_str_ok(const char *s, size_t max)
{
    return s && strnlen(s, max + 1) <= max;
}

/* ---- cameras ------------------------------------------------------------ */

vigil_err_t vigil_store_camera_records(vigil_store_t *store, const char *after_id, int limit,
                                       vigil_camera_record_t **rows, size_t *n, int *more,
                                       char *errstr, size_t errstr_size)
{
    if (rows) *rows = NULL;
    if (n) *n = 0;
    if (more) *more = 0;
    RES_BEGIN(store, errstr, errstr_size);
    if (!rows || !n || !more || limit < 1 || limit > 1000)
        return res_invalid(errstr, errstr_size, "camera list: bad arguments (limit 1..1000)");
    if (after_id && !vigil_camera_id_valid(after_id))
        return res_invalid(errstr, errstr_size, "camera list: invalid cursor camera id");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err =
        RES_OPS(store)->camera_records(store, after_id, limit, rows, n, more, errstr, errstr_size);
    return vigil__store_done(store, VIGIL__OP_CAMERA_RECORDS, t0, err);
}

vigil_err_t vigil_store_camera_get(vigil_store_t *store, const char *id, int with_secret,
                                   vigil_camera_record_t *rec, char *errstr, size_t errstr_size)
{
    RES_BEGIN(store, errstr, errstr_size);
    if (!rec) return res_invalid(errstr, errstr_size, "camera get: no record");
    memset(rec, 0, sizeof(*rec));
    if (!id || !vigil_camera_id_valid(id))
        return res_invalid(errstr, errstr_size, "camera get: invalid camera id");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = RES_OPS(store)->camera_get(store, id, with_secret, rec, errstr, errstr_size);
    return vigil__store_done(store, VIGIL__OP_CAMERA_RECORDS, t0, err);
}

vigil_err_t vigil_store_camera_put(vigil_store_t *store, const vigil_camera_record_t *rec,
                                   int create, int64_t now_us, char *errstr, size_t errstr_size)
{
    RES_BEGIN(store, errstr, errstr_size);
    if (!rec || !RES_TERMINATED(rec->row.id) || !vigil_camera_id_valid(rec->row.id))
        return res_invalid(errstr, errstr_size, "camera put: invalid camera id");
    if (!RES_TERMINATED(rec->row.name) || !RES_TERMINATED(rec->row.url) ||
        !RES_TERMINATED(rec->row.status) || !RES_TERMINATED(rec->row.last_error) ||
        !RES_TERMINATED(rec->source_url) || !rec->source_url[0])
        return res_invalid(errstr, errstr_size, "camera put: unterminated field or no URL");
    if (!(rec->row.fps >= 0 && rec->row.fps <= 1000) || rec->retention_hours != rec->retention_hours)
        return res_invalid(errstr, errstr_size, "camera put: fps or retention out of range");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err =
        RES_OPS(store)->camera_put(store, rec, create != 0, now_us, errstr, errstr_size);
    return vigil__store_done(store, VIGIL__OP_CAMERA_WRITE, t0, err);
}

vigil_err_t vigil_store_camera_remove(vigil_store_t *store, const char *id, int64_t now_us,
                                      char *errstr, size_t errstr_size)
{
    RES_BEGIN(store, errstr, errstr_size);
    if (!id || !vigil_camera_id_valid(id))
        return res_invalid(errstr, errstr_size, "camera remove: invalid camera id");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = RES_OPS(store)->camera_remove(store, id, now_us, errstr, errstr_size);
    return vigil__store_done(store, VIGIL__OP_CAMERA_WRITE, t0, err);
}

vigil_err_t vigil_store_camera_switch(vigil_store_t *store, const vigil_camera_row_t *row,
                                      int64_t now_us, char *errstr, size_t errstr_size)
{
    RES_BEGIN(store, errstr, errstr_size);
    if (!row || !RES_TERMINATED(row->id) || !vigil_camera_id_valid(row->id))
        return res_invalid(errstr, errstr_size, "camera switch: invalid camera id");
    if (!RES_TERMINATED(row->name) || !RES_TERMINATED(row->url) ||
        !RES_TERMINATED(row->status) || !RES_TERMINATED(row->last_error))
        return res_invalid(errstr, errstr_size, "camera switch: unterminated field");
    if (!(row->fps >= 0 && row->fps <= 1000))
        return res_invalid(errstr, errstr_size, "camera switch: fps out of range");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = RES_OPS(store)->camera_switch(store, row, now_us, errstr, errstr_size);
    return vigil__store_done(store, VIGIL__OP_CAMERA_WRITE, t0, err);
}

vigil_err_t vigil_store_camera_list_api(vigil_store_t *store, vigil_camera_record_t **rows,
                                        size_t *n, char *errstr, size_t errstr_size)
{
    if (rows) *rows = NULL;
    if (n) *n = 0;
    RES_BEGIN(store, errstr, errstr_size);
    if (!rows || !n) return res_invalid(errstr, errstr_size, "camera list: bad arguments");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = RES_OPS(store)->camera_list_api(store, rows, n, errstr, errstr_size);
    return vigil__store_done(store, VIGIL__OP_CAMERA_RECORDS, t0, err);
}

/* ---- rule sets ------------------------------------------------------------- */

vigil_err_t vigil_store_rules_get(vigil_store_t *store, const char *camera_id,
                                  vigil_rules_row_t *row, char *errstr, size_t errstr_size)
{
    RES_BEGIN(store, errstr, errstr_size);
    if (!row) return res_invalid(errstr, errstr_size, "rules get: no row");
    memset(row, 0, sizeof(*row));
    if (!camera_id || !vigil_camera_id_valid(camera_id))
        return res_invalid(errstr, errstr_size, "rules get: invalid camera id");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = RES_OPS(store)->rules_get(store, camera_id, row, errstr, errstr_size);
    return vigil__store_done(store, VIGIL__OP_RULES, t0, err);
}

vigil_err_t vigil_store_rules_put(vigil_store_t *store, const char *camera_id, const char *json,
                                  int64_t *version, int64_t now_us, const char *by,
                                  char *errstr, size_t errstr_size)
{
    RES_BEGIN(store, errstr, errstr_size);
    if (!camera_id || !vigil_camera_id_valid(camera_id))
        return res_invalid(errstr, errstr_size, "rules put: invalid camera id");
    if (!json || !res_str_ok(json, VIGIL__STORE_RULES_JSON_MAX) || !version || *version < -1)
        return res_invalid(errstr, errstr_size, "rules put: no JSON, too long, or bad version");
    if (by && !res_str_ok(by, 63))
        return res_invalid(errstr, errstr_size, "rules put: author name too long");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = RES_OPS(store)->rules_put(store, camera_id, json, version, now_us,
                                                by ? by : "", errstr, errstr_size);
    return vigil__store_done(store, VIGIL__OP_RULES, t0, err);
}

vigil_err_t vigil_store_rules_list(vigil_store_t *store, vigil_rules_row_t **rows, size_t *n,
                                   char *errstr, size_t errstr_size)
{
    if (rows) *rows = NULL;
    if (n) *n = 0;
    RES_BEGIN(store, errstr, errstr_size);
    if (!rows || !n) return res_invalid(errstr, errstr_size, "rules list: bad arguments");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = RES_OPS(store)->rules_list(store, rows, n, errstr, errstr_size);
    return vigil__store_done(store, VIGIL__OP_RULES, t0, err);
}

void vigil_rules_rows_free(vigil_rules_row_t *rows, size_t n)
{
    if (!rows) return;
    for (size_t i = 0; i < n; i++) free(rows[i].json);
    free(rows);
}

/* ---- events ------------------------------------------------------------------ */

vigil_err_t vigil_store_events_review(vigil_store_t *store, const int64_t *ids, size_t n,
                                      int reviewed, int64_t now_us, const char *by,
                                      size_t *updated, char *errstr, size_t errstr_size)
{
    if (updated) *updated = 0;
    RES_BEGIN(store, errstr, errstr_size);
    if (!ids || n < 1 || n > VIGIL__STORE_REVIEW_MAX || !updated)
        return res_invalid(errstr, errstr_size, "review: 1 to 1000 event ids");
    for (size_t i = 0; i < n; i++)
        if (ids[i] <= 0) return res_invalid(errstr, errstr_size, "review: an id is not positive");
    if (by && !res_str_ok(by, 63))
        return res_invalid(errstr, errstr_size, "review: reviewer name too long");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = RES_OPS(store)->events_review(store, ids, n, reviewed != 0, now_us,
                                                    by ? by : "", updated, errstr, errstr_size);
    return vigil__store_done(store, VIGIL__OP_EVENTS_REVIEW, t0, err);
}

vigil_err_t vigil_store_event_delete(vigil_store_t *store, int64_t id, char *errstr,
                                     size_t errstr_size)
{
    char camera[VIGIL_CAMERA_ID_MAX] = "", relpath[256], path[4096];
    RES_BEGIN(store, errstr, errstr_size);
    if (id <= 0) return res_invalid(errstr, errstr_size, "event delete: id not positive");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = RES_OPS(store)->event_delete(store, id, camera, errstr, errstr_size);
    /* the row first, then its clip: a crash in between leaves an orphan
     * file, never a row whose clip is gone (as the sweep does) */
    if (!err && vigil__store_clip_relpath(camera, id, relpath, sizeof(relpath)) == 0 &&
        snprintf(path, sizeof(path), "%s/%s", store->data_dir, relpath) < (int)sizeof(path) &&
        unlink(path) != 0 && errno != ENOENT)
        vigil_warn("store", camera, "event %" PRId64 " deleted, its clip file not: %s", id,
                   strerror(errno));
    return vigil__store_done(store, VIGIL__OP_EVENT_DELETE, t0, err);
}

/* ---- search ---------------------------------------------------------------------- */

/* Whether a list filter is within its bounds and each value a plain string. */
static int res_list_ok(const char *const *v, size_t n, size_t max_len)
{
    if (n > VIGIL_SEARCH_LIST_MAX || (n && !v)) return 0;
    for (size_t i = 0; i < n; i++)
        if (!v[i] || !v[i][0] || !res_str_ok(v[i], max_len)) return 0;
    return 1;
}

vigil_err_t vigil_store_search(vigil_store_t *store, const vigil_search_query_t *q,
                               vigil_search_result_t *res, char *errstr, size_t errstr_size)
{
    if (res) memset(res, 0, sizeof(*res));
    RES_BEGIN(store, errstr, errstr_size);
    if (!q || !res) return res_invalid(errstr, errstr_size, "search: bad arguments");
    if (q->limit < 1 || q->limit > VIGIL_SEARCH_LIMIT_MAX || q->after_id < 0 ||
        !(q->types & (VIGIL_SEARCH_EVENTS | VIGIL_SEARCH_DETECTIONS)) ||
        q->reviewed < VIGIL_REVIEWED_ANY || q->reviewed > VIGIL_REVIEWED_NO ||
        q->min_score != q->min_score)
        return res_invalid(errstr, errstr_size, "search: limit, cursor, types or filter out of range");
    if ((q->text && !res_str_ok(q->text, VIGIL_SEARCH_TEXT_MAX)) ||
        !res_list_ok(q->cameras, q->ncameras, VIGIL_CAMERA_ID_MAX - 1) ||
        !res_list_ok(q->labels, q->nlabels, VIGIL_LABEL_MAX - 1) ||
        !res_list_ok(q->zones, q->nzones, VIGIL_RULE_ID_MAX - 1) ||
        !res_list_ok(q->lines, q->nlines, VIGIL_RULE_ID_MAX - 1))
        return res_invalid(errstr, errstr_size, "search: a text or list filter is too long");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = RES_OPS(store)->search(store, q, res, errstr, errstr_size);
    if (err) vigil_search_result_release(res);
    return vigil__store_done(store, VIGIL__OP_SEARCH, t0, err);
}

void vigil_search_result_release(vigil_search_result_t *res)
{
    if (!res) return;
    free(res->items);
    free(res->facets);
    memset(res, 0, sizeof(*res));
}

/* ---- storage ---------------------------------------------------------------------- */

vigil_err_t vigil_store_storage(vigil_store_t *store, vigil_storage_row_t **rows, size_t *n,
                                char *errstr, size_t errstr_size)
{
    if (rows) *rows = NULL;
    if (n) *n = 0;
    RES_BEGIN(store, errstr, errstr_size);
    if (!rows || !n) return res_invalid(errstr, errstr_size, "storage: bad arguments");
    int64_t t0 = vigil_mono_us();
    vigil_err_t err = RES_OPS(store)->storage(store, rows, n, errstr, errstr_size);
    return vigil__store_done(store, VIGIL__OP_STORAGE, t0, err);
}

/* ---- what the backends decide alike (store_resources_int.h) ------------------------- */

vigil_err_t vigil__store_camera_write_check(vigil__camera_write_t write, const char *id,
                                            const vigil__camera_state_t *st, char *errstr,
                                            size_t errstr_size)
{
    int api = st->found && strcmp(st->origin, VIGIL_CAMERA_ORIGIN_API) == 0;

    switch (write) {
    case VIGIL__CAMERA_CREATE:
        if (st->found && !st->removed)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_EXISTS,
                                "camera \"%s\" already exists", id);
        return VIGIL_OK;
    case VIGIL__CAMERA_REPLACE:
    case VIGIL__CAMERA_REMOVE:
        if (!st->found || st->removed)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "no camera \"%s\"", id);
        if (!api)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_EXISTS,
                                "camera \"%s\" is not managed by the API", id);
        return VIGIL_OK;
    case VIGIL__CAMERA_SWITCH:
        if (api)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_EXISTS,
                                "camera \"%s\" is managed by the API", id);
        return VIGIL_OK;
    }
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "camera \"%s\": bad write", id);
}

vigil_err_t vigil__store_camera_count_check(int64_t count, char *errstr, size_t errstr_size)
{
    if (count < VIGIL__STORE_API_ROWS_MAX) return VIGIL_OK;
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_FULL,
                        "the API manages %lld cameras already (at most %d)", (long long)count,
                        VIGIL__STORE_API_ROWS_MAX);
}

vigil_err_t vigil__store_rules_version_check(const char *camera_id, int64_t current,
                                             int64_t *version, char *errstr,
                                             size_t errstr_size)
{
    if (*version < 0 || *version == current) return VIGIL_OK;
    vigil_err_t err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_AGAIN,
                                   "camera \"%s\": rule set version is %" PRId64 ", not %" PRId64,
                                   camera_id, current, *version);
    *version = current;
    return err;
}

vigil_err_t vigil__store_rules_missing(const char *camera_id, char *errstr, size_t errstr_size)
{
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND,
                        "camera \"%s\" has no rule set of the API", camera_id);
}

vigil_err_t vigil__store_event_delete_check(int64_t id, int found, int open, char *errstr,
                                            size_t errstr_size)
{
    if (!found)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND,
                            "event %" PRId64 " not found", id);
    if (open)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "event %" PRId64 " is still open: analytics would write it again",
                            id);
    return VIGIL_OK;
}
