/* The indices vigil writes: their templates and their retention.
 *
 * Templates (PUT _index_template/PREFIX-KIND, one per kind) fix the
 * mappings before the first document of a day creates its index, so that a
 * field's type never depends on the first document seen: camera, label,
 * zone, line, kind ... are keywords (exact filters and aggregations), times
 * are longs plus @timestamp as a date (for Dashboards / Kibana), scores
 * floats, boxes floats not indexed. dynamic is false: a field vigil does not
 * know is kept in _source but not mapped. One shard, no replica: a single
 * node's defaults; a cluster sets its own in a template of higher priority.
 *
 * Retention: an index per UTC day, deleted whole once its day ended more than
 * vigil's retention ago (the longest of store.retention_hours and the
 * cameras' retention_hours; 0 keeps everything). The indexer's sweep does it
 * on any node; where the node has the Index State Management plugin
 * (_plugins/_ism), a policy PREFIX-retention with the same age is put too,
 * so that a cluster that runs no indexer for a while still deletes. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "search/search_int.h"

static const char *const common_props =
    "\"camera\":{\"type\":\"keyword\"},\"kind\":{\"type\":\"keyword\"},"
    "\"label\":{\"type\":\"keyword\"},\"time_us\":{\"type\":\"long\"},"
    "\"@timestamp\":{\"type\":\"date\"},\"sequence\":{\"type\":\"long\"},"
    "\"frame_id\":{\"type\":\"long\"},\"score\":{\"type\":\"float\"},"
    "\"box\":{\"type\":\"float\",\"index\":false}";

static const struct {
    const char *kind;
    const char *props; /* besides common_props */
} kinds[] = {
    {"detections", "\"model\":{\"type\":\"keyword\"},\"idx\":{\"type\":\"integer\"}"},
    {"tracks", "\"track\":{\"type\":\"long\"}"},
    {"events", "\"track\":{\"type\":\"long\"},\"zone\":{\"type\":\"keyword\"},"
               "\"line\":{\"type\":\"keyword\"},\"direction\":{\"type\":\"keyword\"},"
               "\"start_sequence\":{\"type\":\"long\"},\"end_us\":{\"type\":\"long\"},"
               "\"open\":{\"type\":\"boolean\"},\"peak_score\":{\"type\":\"float\"},"
               "\"snapshot_frame_id\":{\"type\":\"long\"},"
               "\"updated_sequence\":{\"type\":\"long\"},\"message\":{\"type\":\"text\"},"
               "\"payload\":{\"type\":\"text\",\"index\":false}"},
    {"logs", "\"ts\":{\"type\":\"date\"},\"level\":{\"type\":\"keyword\"},"
             "\"stage\":{\"type\":\"keyword\"},\"msg\":{\"type\":\"text\"},"
             "\"error\":{\"type\":\"keyword\"},\"repeated\":{\"type\":\"long\"}"},
};

vigil_err_t vigil__os_install_templates(vigil__os_t *os, const char *prefix,
                                        double retention_hours, char *errstr,
                                        size_t errstr_size)
{
    char path[256], body[4096], why[384];
    vigil__os_reply_t reply = {0};
    vigil_err_t err = VIGIL_OK;

    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0] && !err; i++) {
        /* logs: the shipper's lines carry their own fields; map them dynamically too */
        int logs = strcmp(kinds[i].kind, "logs") == 0;
        int n = snprintf(body, sizeof body,
                         "{\"index_patterns\":[\"%s-%s-*\"],\"priority\":100,"
                         "\"template\":{\"settings\":{\"number_of_shards\":1,"
                         "\"number_of_replicas\":0,\"refresh_interval\":\"1s\"},"
                         "\"mappings\":{\"dynamic\":%s,\"properties\":{%s%s%s}}},"
                         "\"_meta\":{\"managed_by\":\"vigil\"}}",
                         prefix, kinds[i].kind, logs ? "true" : "false",
                         logs ? "" : common_props, logs ? "" : ",", kinds[i].props);
        snprintf(path, sizeof path, "/_index_template/%s-%s", prefix, kinds[i].kind);
        err = vigil__os_request(os, "PUT", path, body, (size_t)n, 0, &reply, errstr, errstr_size);
        if (!err && reply.status != 200) {
            vigil__os_reply_error(&reply, why, sizeof why);
            err = reply.status == 429 || reply.status >= 500 ? VIGIL_ERR_AGAIN : VIGIL_ERR_INVALID;
            snprintf(errstr, errstr_size, "search node %s: index template %s-%s refused: %s",
                     os->shown, prefix, kinds[i].kind, why);
        }
    }
    if (!err && retention_hours > 0) {
        /* the ISM plugin, where there is one; a node without it answers 400/404 */
        int days = (int)ceil(retention_hours / 24.0);
        int n = snprintf(body, sizeof body,
                         "{\"policy\":{\"description\":\"vigil: delete daily indices past "
                         "retention\",\"default_state\":\"hot\",\"states\":["
                         "{\"name\":\"hot\",\"actions\":[],\"transitions\":[{\"state_name\":"
                         "\"delete\",\"conditions\":{\"min_index_age\":\"%dd\"}}]},"
                         "{\"name\":\"delete\",\"actions\":[{\"delete\":{}}],"
                         "\"transitions\":[]}],\"ism_template\":[{\"index_patterns\":"
                         "[\"%s-*\"],\"priority\":100}]}}",
                         days + 1, prefix);
        snprintf(path, sizeof path, "/_plugins/_ism/policies/%s-retention", prefix);
        /* 200/201 put; 409 exists already (an update needs its seq_no: left as it is);
         * 400/404: no ISM plugin, the indexer's sweep is the retention */
        char ignored[256];
        (void)vigil__os_request(os, "PUT", path, body, (size_t)n, 0, &reply, ignored,
                                sizeof ignored);
    }
    vigil__os_reply_release(&reply);
    return err;
}

/* The day of PREFIX-KIND-YYYY.MM.DD as the time its day ends, 0 if not such a name. */
static int64_t index_day_end_us(const char *index, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(index, prefix, pl) != 0 || index[pl] != '-') return 0;
    const char *day = strrchr(index, '-');
    int y, m, d;
    char end;
    if (!day || sscanf(day + 1, "%4d.%2d.%2d%c", &y, &m, &d, &end) != 3) return 0;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return 0;
    return ((int64_t)t + 86400) * 1000000;
}

vigil_err_t vigil__os_sweep(vigil__os_t *os, const char *prefix, double retention_hours,
                            int64_t now_us, int *deleted, char *errstr, size_t errstr_size)
{
    char path[512], why[384];
    vigil__os_reply_t reply = {0};
    *deleted = 0;
    if (retention_hours <= 0) return VIGIL_OK;
    snprintf(path, sizeof path, "/_cat/indices/%s-*?format=json&h=index", prefix);
    vigil_err_t err = vigil__os_request(os, "GET", path, NULL, 0, 0, &reply, errstr, errstr_size);
    if (err) return err;
    if (reply.status != 200) {
        vigil__os_reply_error(&reply, why, sizeof why);
        vigil__os_reply_release(&reply);
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_AGAIN,
                            "search node %s: cannot list indices: %s", os->shown, why);
    }
    json_error_t jerr;
    json_t *list = json_loads(reply.body ? reply.body : "[]", 0, &jerr);
    int64_t keep_after = now_us - (int64_t)(retention_hours * 3600e6);
    size_t i;
    json_t *row;
    json_array_foreach(list, i, row) {
        const char *index = json_string_value(json_object_get(row, "index"));
        int64_t end = index ? index_day_end_us(index, prefix) : 0;
        if (!end || end >= keep_after) continue;
        snprintf(path, sizeof path, "/%s", index);
        if (vigil__os_request(os, "DELETE", path, NULL, 0, 0, &reply, errstr, errstr_size))
            break;
        if (reply.status == 200) (*deleted)++;
    }
    json_decref(list);
    vigil__os_reply_release(&reply);
    return VIGIL_OK;
}
