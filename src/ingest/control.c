/* The ingest stage's control follower: camera commands from topic "control"
 * decide which cameras this ingest instance runs (distributed mode, see
 * docs/kafka.md, "The camera split"; and in `vigil run` the API's cameras,
 * docs/api.md).
 *
 * Main idea: two consumers of control, on one thread.
 *  - `table`: a group of its own ("ingest-table-<host>-<pid>-<n>"), so it
 *    reads every partition from the beginning. The compacted log holds each
 *    camera's latest command, so replaying it gives the full camera table
 *    (id -> partition, last op, name, url, fps), kept current by following.
 *  - `member`: a member of group "ingest". Which control partitions it owns
 *    is what the instances split: its rebalance callback
 *    (vigil_consumer_set_rebalance_cb) stops the cameras of revoked
 *    partitions before the bus releases them (Kafka: inside the rebalance),
 *    and starts the cameras of assigned ones. Its own messages are acked and
 *    otherwise ignored (the table has them).
 * A camera runs here iff its partition is owned, its last command is add or
 * start, and no camera of the same id is in this instance's configuration
 * (static cameras win). Cameras started here loop file sources (they run
 * until stopped) and are marked `controlled`.
 *
 * Static cameras (this instance's configuration) are switched, never
 * replaced: whatever partition their id is in, a last command `stop` stops
 * one and `start` starts it again (the API's PATCH {"enabled"}); any other
 * last command, or none, leaves it as its file says (`enabled`). Their URL,
 * name and fps always come from the file. The stage asks
 * vigil__control_static_want at start, after vigil__control_catch_up has
 * read the log to its end, so a camera disabled before a restart does not
 * run for a moment first.
 *
 * The topic is outside input, so what it can make an instance hold is
 * bounded: the table keeps at most limits.max_cameras cameras (entries of
 * removed cameras go first when it is full; commands for one more camera are
 * ignored with an error), and every camera started goes through
 * vigil_ingest_add_camera, which refuses more than ingest.max_cameras
 * running cameras with an error naming the setting.
 *
 * Thread: one thread (vigil__control_start/stop from the stage's controlling
 * thread). It adds and removes cameras through the stage's functions, which
 * take ingest->lock for the list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest_int.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/msg.h"

#define CONTROL_MAX_PARTITIONS 1024 /* the bus's bound on partitions */
#define CONTROL_POLL_MS 200
#define CONTROL_CATCH_UP_MS 10000 /* at most, reading the log before cameras start */

typedef struct ctl_cam {
    struct ctl_cam *next;
    char id[VIGIL_CAMERA_ID_MAX];
    int32_t partition;
    int op;            /* VIGIL__V1__CAMERA_COMMAND__OP__OP_*; 0 forgotten */
    char *name, *url;  /* of the last add */
    double fps;
    int warned_static; /* told once that a static camera shadows it */
} ctl_cam_t;

struct vigil__control {
    vigil_ingest_t *ing;
    pthread_t thread;
    atomic_int stop;
    vigil_consumer_t *table, *member;
    ctl_cam_t *cams;
    size_t ncams;       /* entries of cams: at most limits.max_cameras */
    uint64_t refused;   /* commands for one camera more than that */
    unsigned char owned[CONTROL_MAX_PARTITIONS];
    int running; /* the thread was started (vigil__control_run) */
    int caught_up; /* vigil__control_catch_up done */
    int table_parts; /* partitions of control the table consumer is assigned */
};

static ctl_cam_t *cam_find(vigil__control_t *ctl, const char *id)
{
    for (ctl_cam_t *c = ctl->cams; c; c = c->next)
        if (strcmp(c->id, id) == 0)
            return c;
    return NULL;
}

/* Whether a camera of this id runs here, and whether it is a controlled one. */
static int running(vigil_ingest_t *ing, const char *id, int *controlled, vigil_camera_conf_t *conf)
{
    int found = 0;

    pthread_mutex_lock(&ing->lock);
    for (size_t i = 0; i < ing->ncameras; i++)
        if (strcmp(ing->cameras[i]->conf.id, id) == 0) {
            found = 1;
            *controlled = ing->cameras[i]->controlled;
            if (conf)
                *conf = ing->cameras[i]->conf; /* shallow: compared only under no change */
        }
    pthread_mutex_unlock(&ing->lock);
    return found;
}

static void stop_camera(vigil__control_t *ctl, ctl_cam_t *c, const char *why)
{
    int controlled = 0;

    if (!running(ctl->ing, c->id, &controlled, NULL) || !controlled)
        return;
    vigil_info(INGEST_STAGE, c->id, "camera \"%s\": stopping (%s)", c->id, why);
    vigil_ingest_remove_camera(ctl->ing, c->id); /* joins its thread: camera.stopped */
}

static void start_camera(vigil__control_t *ctl, ctl_cam_t *c)
{
    vigil_camera_conf_t conf;
    char err[512];

    memset(&conf, 0, sizeof(conf));
    snprintf(conf.id, sizeof(conf.id), "%s", c->id);
    conf.name = c->name;
    conf.url = c->url;
    conf.fps = c->fps;
    conf.enabled = 1;
    conf.loop = 1;
    conf.retention_hours = -1;
    vigil_info(INGEST_STAGE, c->id, "camera \"%s\": starting (control partition %d)", c->id,
               (int)c->partition);
    if (vigil_ingest_add_camera(ctl->ing, &conf, err, sizeof(err)) != VIGIL_OK) {
        vigil_warn(INGEST_STAGE, c->id, "camera \"%s\": cannot start: %s", c->id, err);
        return;
    }
    pthread_mutex_lock(&ctl->ing->lock);
    for (size_t i = 0; i < ctl->ing->ncameras; i++)
        if (strcmp(ctl->ing->cameras[i]->conf.id, c->id) == 0)
            ctl->ing->cameras[i]->controlled = 1;
    pthread_mutex_unlock(&ctl->ing->lock);
}

/* Whether the static camera c should run: its last command, else its file. */
static int static_want(const ctl_cam_t *c, const vigil_camera_conf_t *conf)
{
    if (c && c->op == VIGIL__V1__CAMERA_COMMAND__OP__OP_STOP)
        return 0;
    if (c && c->op == VIGIL__V1__CAMERA_COMMAND__OP__OP_START)
        return 1;
    return conf->enabled != 0;
}

int vigil__control_static_want(vigil__control_t *ctl, const vigil_camera_conf_t *conf)
{
    return static_want(ctl ? cam_find(ctl, conf->id) : NULL, conf);
}

/* A command for a camera of this instance's configuration: start or stop
 * it, nothing else (static cameras win). */
static void reconcile_static(vigil__control_t *ctl, ctl_cam_t *c, const vigil_camera_conf_t *conf)
{
    if (c->op == VIGIL__V1__CAMERA_COMMAND__OP__OP_ADD && !c->warned_static) {
        vigil_warn(INGEST_STAGE, c->id, "camera \"%s\": in this instance's configuration: "
                   "an add command for it is ignored here (start and stop apply)", c->id);
        c->warned_static = 1;
    }
    vigil__ingest_static_run(ctl->ing, c->id, static_want(c, conf));
}

/* Makes the running state of c what the table and the ownership say. */
static void reconcile(vigil__control_t *ctl, ctl_cam_t *c)
{
    int controlled = 0, is_running;
    int want = ctl->owned[c->partition] && c->url && c->url[0] &&
               (c->op == VIGIL__V1__CAMERA_COMMAND__OP__OP_ADD ||
                c->op == VIGIL__V1__CAMERA_COMMAND__OP__OP_START);
    vigil_camera_conf_t conf;
    const vigil_camera_conf_t *file = vigil_config_camera(ctl->ing->cfg, c->id);

    if (file) {
        reconcile_static(ctl, c, file);
        return;
    }
    is_running = running(ctl->ing, c->id, &controlled, &conf);
    if (is_running && !controlled) {
        if (want && !c->warned_static)
            vigil_warn(INGEST_STAGE, c->id, "camera \"%s\": in this instance's configuration: "
                       "control commands for it are ignored here", c->id);
        c->warned_static = 1;
        return;
    }
    if (is_running && want &&
        (strcmp(conf.url, c->url) != 0 || conf.fps != c->fps ||
         strcmp(conf.name, c->name && c->name[0] ? c->name : c->id) != 0)) {
        stop_camera(ctl, c, "changed by an add command");
        is_running = 0;
    }
    if (want && !is_running)
        start_camera(ctl, c);
    else if (!want && is_running)
        stop_camera(ctl, c, ctl->owned[c->partition] ? "stop or remove command"
                                                     : "control partition moved");
}

/* limits.max_cameras: the most entries of the camera table. */
static size_t table_max(const vigil__control_t *ctl)
{
    int max = ctl->ing->cfg->limits_max_cameras;
    return max > 0 ? (size_t)max : 1024;
}

static void cam_free(ctl_cam_t *c)
{
    free(c->name);
    free(c->url);
    free(c);
}

/* Drops the entries of removed cameras (last command remove, or a
 * tombstone) that run nowhere here: the table needs room. */
static void forget_removed(vigil__control_t *ctl)
{
    int controlled;
    for (ctl_cam_t **p = &ctl->cams; *p;) {
        ctl_cam_t *c = *p;
        if (c->op != 0 || running(ctl->ing, c->id, &controlled, NULL)) {
            p = &c->next;
            continue;
        }
        *p = c->next;
        cam_free(c);
        ctl->ncams--;
    }
}

/* Applies one control message of partition p to the table (and, when this
 * instance owns p, to the running cameras). */
static void apply(vigil__control_t *ctl, const vigil_bus_msg_t *msg)
{
    char id[VIGIL_CAMERA_ID_MAX], err[256];
    Vigil__V1__CameraCommand *cmd;
    ctl_cam_t *c;

    if (msg->partition < 0 || msg->partition >= CONTROL_MAX_PARTITIONS)
        return;
    if (msg->value_len == 0) { /* a tombstone: the camera is forgotten */
        snprintf(id, sizeof(id), "%.*s", (int)msg->key_len, (const char *)msg->key);
        if ((c = cam_find(ctl, id))) {
            c->op = 0;
            reconcile(ctl, c);
        }
        return;
    }
    cmd = vigil_camera_command_decode(msg->value, msg->value_len, err, sizeof(err));
    if (!cmd) {
        vigil_warn(INGEST_STAGE, NULL, "control[%d]@%lld: skipped: %s", (int)msg->partition,
                   (long long)msg->offset, err);
        return;
    }
    if (cmd->op == VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES) /* analytics' (key rules:ID) */
        goto out;
    c = cam_find(ctl, cmd->camera_id);
    if (!c && ctl->ncams >= table_max(ctl)) {
        forget_removed(ctl);
        if (ctl->ncams >= table_max(ctl)) {
            /* the topic is outside input: its camera count is bounded */
            if (ctl->refused++ % 1000 == 0)
                vigil_error(INGEST_STAGE, cmd->camera_id,
                            "camera \"%s\": control command ignored: the control table already "
                            "holds %zu cameras (accepted: at most limits.max_cameras = %zu; "
                            "%llu commands ignored so far)",
                            cmd->camera_id, ctl->ncams, table_max(ctl),
                            (unsigned long long)ctl->refused);
            goto out;
        }
    }
    if (!c && (c = calloc(1, sizeof(*c)))) {
        snprintf(c->id, sizeof(c->id), "%s", cmd->camera_id);
        c->next = ctl->cams;
        ctl->cams = c;
        ctl->ncams++;
    }
    if (!c) {
        vigil_warn(INGEST_STAGE, cmd->camera_id, "camera \"%s\": out of memory", cmd->camera_id);
        goto out;
    }
    c->partition = msg->partition;
    if (cmd->op == VIGIL__V1__CAMERA_COMMAND__OP__OP_ADD) {
        char *name = strdup(cmd->name && cmd->name[0] ? cmd->name : cmd->camera_id);
        char *url = strdup(cmd->url ? cmd->url : "");
        if (!name || !url) {
            free(name);
            free(url);
            goto out;
        }
        free(c->name);
        free(c->url);
        c->name = name;
        c->url = url;
        c->fps = cmd->fps;
    }
    if (cmd->op == VIGIL__V1__CAMERA_COMMAND__OP__OP_START && !c->url)
        vigil_warn(INGEST_STAGE, c->id, "camera \"%s\": start command for a camera never added",
                   c->id);
    c->op = cmd->op == VIGIL__V1__CAMERA_COMMAND__OP__OP_REMOVE ? 0 : (int)cmd->op;
    vigil_debug(INGEST_STAGE, c->id, "camera \"%s\": control command %d (partition %d%s)", c->id,
                (int)cmd->op, (int)c->partition, ctl->owned[c->partition] ? ", owned" : "");
    reconcile(ctl, c);
out:
    vigil__v1__camera_command__free_unpacked(cmd, NULL);
}

/* The rebalance callback of the "ingest" member: partitions of control
 * moving to or from this instance. Runs on the control thread (inside poll). */
static void on_rebalance(void *opaque, vigil_consumer_t *consumer, vigil_bus_rebalance_t change,
                         const char *topic, int32_t partition)
{
    vigil__control_t *ctl = opaque;

    (void)consumer;
    if (strcmp(topic, VIGIL_TOPIC_CONTROL) != 0 || partition < 0 ||
        partition >= CONTROL_MAX_PARTITIONS)
        return;
    ctl->owned[partition] = change == VIGIL_BUS_ASSIGNED;
    vigil_info(INGEST_STAGE, NULL, "control partition %d %s", (int)partition,
               change == VIGIL_BUS_ASSIGNED ? "assigned: starting its cameras"
                                            : "revoked: stopping its cameras");
    for (ctl_cam_t *c = ctl->cams; c; c = c->next)
        if (c->partition == partition)
            reconcile(ctl, c);
}

/* Polls the table consumer once and applies what came. 1 if a message came. */
static int follow_table(vigil__control_t *ctl, int timeout_ms)
{
    vigil_bus_msg_t *msg;

    if (vigil_consumer_poll(ctl->table, &msg, timeout_ms) != VIGIL_OK)
        return 0;
    apply(ctl, msg);
    vigil_consumer_ack(ctl->table, msg);
    return 1;
}

/* The table consumer's partitions: the log is read to its end only once
 * it has some (a Kafka group assigns them a moment after subscribing). */
static void on_table_rebalance(void *opaque, vigil_consumer_t *consumer,
                               vigil_bus_rebalance_t change, const char *topic, int32_t partition)
{
    vigil__control_t *ctl = opaque;

    (void)consumer;
    (void)topic;
    (void)partition;
    ctl->table_parts += change == VIGIL_BUS_ASSIGNED ? 1 : -1;
}

void vigil__control_catch_up(vigil__control_t *ctl)
{
    int64_t until = vigil_mono_us() + (int64_t)CONTROL_CATCH_UP_MS * 1000;

    if (!ctl || ctl->caught_up)
        return;
    while (!atomic_load(&ctl->stop)) {
        if (follow_table(ctl, CONTROL_POLL_MS))
            continue;
        if (ctl->table_parts > 0 && vigil_consumer_lag(ctl->table) == 0)
            break;
        if (vigil_mono_us() > until) {
            vigil_warn(INGEST_STAGE, NULL, "control: topic %s not read to its end within %d ms: "
                       "cameras start with the commands read so far", VIGIL_TOPIC_CONTROL,
                       CONTROL_CATCH_UP_MS);
            break;
        }
    }
    ctl->caught_up = 1;
}

static void *control_main(void *arg)
{
    vigil__control_t *ctl = arg;
    const char *topics[] = {VIGIL_TOPIC_CONTROL};
    char err[512];
    vigil_bus_msg_t *msg;

    /* the table first: the whole log up to its end, before owning anything */
    vigil__control_catch_up(ctl);
    ctl->member = vigil_bus_subscribe(ctl->ing->bus, "ingest", topics, 1, err, sizeof(err));
    if (!ctl->member) {
        vigil_error(INGEST_STAGE, NULL, "control: cannot join group \"ingest\" on %s: %s",
                    VIGIL_TOPIC_CONTROL, err);
        goto out;
    }
    vigil_consumer_set_rebalance_cb(ctl->member, on_rebalance, ctl);
    vigil_info(INGEST_STAGE, NULL, "control: following topic %s as a member of group \"ingest\"",
               VIGIL_TOPIC_CONTROL);
    while (!atomic_load(&ctl->stop)) {
        /* the member: rebalances (its callback) and acks */
        while (vigil_consumer_poll(ctl->member, &msg, 0) == VIGIL_OK)
            vigil_consumer_ack(ctl->member, msg);
        follow_table(ctl, CONTROL_POLL_MS);
    }
    /* our cameras stop before our partitions go to another instance */
    memset(ctl->owned, 0, sizeof(ctl->owned));
    for (ctl_cam_t *c = ctl->cams; c; c = c->next)
        stop_camera(ctl, c, "ingest stopping");
    vigil_consumer_close(ctl->member);
    ctl->member = NULL;
out:
    vigil_consumer_close(ctl->table);
    ctl->table = NULL;
    return NULL;
}

vigil_err_t vigil__control_new(vigil_ingest_t *ing, vigil__control_t **out, char *errstr,
                               size_t errstr_size)
{
    static atomic_int instances;
    const char *topics[] = {VIGIL_TOPIC_CONTROL};
    char group[256], host[64] = "host";
    vigil__control_t *ctl = calloc(1, sizeof(*ctl));

    *out = NULL;
    if (!ctl)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "ingest: out of memory");
    ctl->ing = ing;
    /* the table's group exists from now on, so that the bus keeps what is
     * published on control until this instance has read it (the in-process
     * bus trims what every subscribed group has committed) */
    gethostname(host, sizeof(host) - 1);
    snprintf(group, sizeof(group), "ingest-table-%s-%d-%d", host, (int)getpid(),
             atomic_fetch_add(&instances, 1));
    ctl->table = vigil_bus_subscribe(ing->bus, group, topics, 1, errstr, errstr_size);
    if (!ctl->table) {
        free(ctl);
        return VIGIL_ERR_BUS;
    }
    vigil_consumer_set_rebalance_cb(ctl->table, on_table_rebalance, ctl);
    *out = ctl;
    return VIGIL_OK;
}

vigil_err_t vigil__control_run(vigil__control_t *ctl)
{
    int rc;

    if (!ctl || ctl->running)
        return VIGIL_OK;
    rc = pthread_create(&ctl->thread, NULL, control_main, ctl);
    if (rc != 0) {
        vigil_error(INGEST_STAGE, NULL, "control: cannot start thread: %s", strerror(rc));
        return VIGIL_ERR_NOMEM;
    }
    ctl->running = 1;
    return VIGIL_OK;
}

vigil_err_t vigil__control_start(vigil_ingest_t *ing, vigil__control_t **out)
{
    vigil_err_t err = vigil__control_new(ing, out, NULL, 0);

    if (err == VIGIL_OK && (err = vigil__control_run(*out)) != VIGIL_OK) {
        vigil__control_stop(*out);
        *out = NULL;
    }
    return err;
}

void vigil__control_stop(vigil__control_t *ctl)
{
    if (!ctl)
        return;
    atomic_store(&ctl->stop, 1);
    if (ctl->running)
        pthread_join(ctl->thread, NULL); /* it closes its consumers */
    else
        vigil_consumer_close(ctl->table);
    while (ctl->cams) {
        ctl_cam_t *c = ctl->cams;
        ctl->cams = c->next;
        cam_free(c);
    }
    free(ctl);
}
