/* `vigil run` on the in-process bus: the API's cameras and rule sets back
 * on the control topic at start (seed.h).
 *
 * Main idea: the warehouse is the list of record of what the API changed
 * (store.h, "resources"); the control topic is how a change reaches ingest
 * and analytics. A Kafka control topic is compacted and outlives the
 * processes, so it still holds every camera's and rule set's latest
 * command. The in-process bus starts empty with each `vigil run`, so the
 * pipeline publishes the same commands the API published, from the
 * warehouse, before any stage subscribes: each group starts at the
 * earliest retained message (inproc.c), so ingest's control follower and
 * the analytics stage read them first, exactly as they would replay a
 * Kafka log. Configuration cameras of the same id win in ingest (control.c),
 * as in distributed mode. The configuration cameras whose `enabled` the API
 * switched (origin "switched") get their OP_STOP / OP_START back, so that a
 * disabled one stays off across restarts as it does on Kafka. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/seed.h"
#include "vigil/log.h"
#include "vigil/msg.h"
#include "vigil/store.h"

/* Publishes one command; 0 or -1 (logged). */
static int publish(vigil_bus_t *bus, Vigil__V1__CameraCommand *cmd, const char *key)
{
    size_t len = 0;
    uint8_t *buf;
    vigil_err_t err;

    cmd->schema_version = VIGIL_SCHEMA_VERSION;
    if (!(buf = vigil_msg_pack(&cmd->base, &len))) return -1;
    /* nobody consumes yet: a full partition would never drain, so no wait */
    err = vigil_bus_publish(bus, VIGIL_TOPIC_CONTROL, key, strlen(key), buf, len, 0);
    free(buf);
    if (err) {
        vigil_warn("pipeline", cmd->camera_id,
                   "camera \"%s\": cannot put its %s on topic %s: %s", cmd->camera_id,
                   cmd->op == VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES ? "rules" : "command",
                   VIGIL_TOPIC_CONTROL, vigil_err_str(err));
        return -1;
    }
    return 0;
}

/* OP_STOP / OP_START (the id alone) for each configuration camera the API
 * switched; *n counts them. */
static vigil_err_t seed_switched(const vigil_config_t *cfg, vigil_store_t *store, vigil_bus_t *bus,
                                 size_t *n, char *errstr, size_t errstr_size)
{
    char after[VIGIL_CAMERA_ID_MAX] = "";
    vigil_camera_record_t *rows;
    size_t nrows;
    int more = 1;
    vigil_err_t err = VIGIL_OK;

    while (more && err == VIGIL_OK) {
        rows = NULL;
        nrows = 0;
        err = vigil_store_camera_records(store, after[0] ? after : NULL, 1000, &rows, &nrows,
                                         &more, errstr, errstr_size);
        for (size_t i = 0; err == VIGIL_OK && i < nrows; i++) {
            Vigil__V1__CameraCommand cmd = VIGIL__V1__CAMERA_COMMAND__INIT;
            const vigil_camera_record_t *c = &rows[i];
            if (strcmp(c->origin, VIGIL_CAMERA_ORIGIN_SWITCHED) != 0 ||
                !vigil_config_camera(cfg, c->row.id))
                continue; /* not switched, or no longer in the configuration */
            cmd.op = c->row.enabled ? VIGIL__V1__CAMERA_COMMAND__OP__OP_START
                                    : VIGIL__V1__CAMERA_COMMAND__OP__OP_STOP;
            cmd.camera_id = (char *)c->row.id;
            if (publish(bus, &cmd, c->row.id) == 0) (*n)++;
        }
        if (nrows) snprintf(after, sizeof(after), "%s", rows[nrows - 1].row.id);
        else more = 0;
        free(rows);
    }
    return err;
}

vigil_err_t vigil__pipeline_seed_control(const vigil_config_t *cfg, vigil_bus_t *bus,
                                         size_t *ncameras, size_t *nrules, char *errstr,
                                         size_t errstr_size)
{
    vigil_store_conf_t sc;
    vigil_store_t *store;
    vigil_camera_record_t *cams = NULL;
    vigil_rules_row_t *rules = NULL;
    size_t ncams = 0, nr = 0;
    char key[VIGIL_CAMERA_ID_MAX + 8];
    vigil_err_t err;

    *ncameras = *nrules = 0;
    vigil_store_conf_init(&sc);
    sc.url = cfg->store_url;
    sc.data_dir = cfg->data_dir;
    sc.migrate = 1;
    if (!(store = vigil_store_open(&sc, errstr, errstr_size))) return VIGIL_ERR_STORE;
    err = vigil_store_camera_list_api(store, &cams, &ncams, errstr, errstr_size);
    if (!err) err = vigil_store_rules_list(store, &rules, &nr, errstr, errstr_size);
    if (!err) err = seed_switched(cfg, store, bus, ncameras, errstr, errstr_size);
    vigil_store_close(store);
    if (err) goto out;
    for (size_t i = 0; i < ncams; i++) {
        Vigil__V1__CameraCommand cmd = VIGIL__V1__CAMERA_COMMAND__INIT;
        const vigil_camera_record_t *c = &cams[i];
        if (!c->row.enabled) continue; /* nothing to run; a later enable publishes an add */
        cmd.op = VIGIL__V1__CAMERA_COMMAND__OP__OP_ADD;
        cmd.camera_id = (char *)c->row.id;
        cmd.name = (char *)c->row.name;
        cmd.url = (char *)c->source_url;
        cmd.fps = c->row.fps;
        if (publish(bus, &cmd, c->row.id) == 0) (*ncameras)++;
    }
    for (size_t i = 0; i < nr; i++) {
        Vigil__V1__CameraCommand cmd = VIGIL__V1__CAMERA_COMMAND__INIT;
        cmd.op = VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES;
        cmd.camera_id = rules[i].camera_id;
        cmd.rules_json = rules[i].json;
        snprintf(key, sizeof(key), "rules:%s", rules[i].camera_id);
        if (publish(bus, &cmd, key) == 0) (*nrules)++;
    }
out:
    if (cams) memset(cams, 0, ncams * sizeof(*cams)); /* their source URLs */
    free(cams);
    vigil_rules_rows_free(rules, nr);
    return err;
}
