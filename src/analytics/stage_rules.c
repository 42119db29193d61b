/* The analytics stage's cameras and their rules.
 *
 * A camera's zones and lines come from the configuration (cameras[].zones,
 * cameras[].lines) and can be replaced at run time by an OP_SET_RULES
 * command on topic control (`vigil camera rules`, the API), keyed
 * "rules:CAMERA" so that the compacted topic keeps each camera's latest
 * rules beside its latest camera command. Every analytics worker reads the
 * whole control log with a consumer group of its own, so every instance
 * applies every change, whichever cameras it owns at the moment; the latest
 * command wins over the configuration.
 *
 * A rule change applies from the next frame the worker processes. It is the
 * one thing a replay does not reproduce exactly: frames replayed after a
 * change was applied see the new rules. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analytics/stage_int.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/msg.h"

/* Copies zones and lines into rules (malloc'd arrays). */
static vigil_err_t rules_copy(vigil_rules_t *rules, const vigil_zone_conf_t *zones, size_t nzones,
                              const vigil_line_conf_t *lines, size_t nlines)
{
    memset(rules, 0, sizeof *rules);
    if (nzones && !(rules->zones = malloc(nzones * sizeof *zones))) goto fail;
    if (nlines && !(rules->lines = malloc(nlines * sizeof *lines))) goto fail;
    if (nzones) memcpy(rules->zones, zones, nzones * sizeof *zones);
    if (nlines) memcpy(rules->lines, lines, nlines * sizeof *lines);
    rules->nzones = nzones;
    rules->nlines = nlines;
    return VIGIL_OK;
fail:
    vigil_rules_release(rules);
    return VIGIL_ERR_NOMEM;
}

static void cam_free(stage_cam_t *c)
{
    vigil_analyzer_free(c->analyzer);
    vigil_rules_release(&c->rules);
    free(c->events);
    free(c->points);
    free(c->counts);
    free(c);
}

void vigil__an_forget_idle(vigil_analytics_t *an, int64_t now, int force)
{
    double forget_s = an->cfg->limits_camera_forget_s > 0 ? an->cfg->limits_camera_forget_s : 600;
    if (!force && now - an->swept_us < 1000000) return;
    an->swept_us = now;
    for (stage_cam_t **p = &an->cams; *p;) {
        stage_cam_t *c = *p;
        if (c->dirty || (double)(now - c->seen_us) / 1e6 < forget_s) {
            p = &c->next;
            continue;
        }
        if (c->analyzer) {
            vigil_debug(VIGIL__AN_STAGE, c->id, "camera \"%s\": no detections for %.0f s: its "
                        "state is dropped (kept in its checkpoint)", c->id, forget_s);
            vigil_analyzer_free(c->analyzer);
            c->analyzer = NULL;
        }
        /* rules from topic control stay known (the config's are read again) */
        if (c->rules_from_control) {
            p = &c->next;
            continue;
        }
        *p = c->next;
        cam_free(c);
        an->ncams--;
    }
}

void vigil__an_cams_free(vigil_analytics_t *an)
{
    while (an->cams) {
        stage_cam_t *c = an->cams;
        an->cams = c->next;
        cam_free(c);
    }
    an->ncams = 0;
}

stage_cam_t *vigil__an_cam_get(vigil_analytics_t *an, const char *camera_id)
{
    size_t max = an->cfg->limits_max_cameras > 0 ? (size_t)an->cfg->limits_max_cameras
                                                  : VIGIL__AN_CAMERAS_MAX;
    for (stage_cam_t *c = an->cams; c; c = c->next)
        if (strcmp(c->id, camera_id) == 0) return c;
    if (!vigil_camera_id_valid(camera_id)) return NULL;
    if (an->ncams >= max) vigil__an_forget_idle(an, vigil_mono_us(), 1);
    if (an->ncams >= max) return NULL;
    stage_cam_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    snprintf(c->id, sizeof c->id, "%s", camera_id);
    c->partition = -1;
    c->seen_us = vigil_mono_us();
    const vigil_camera_conf_t *conf = vigil_config_camera(an->cfg, camera_id);
    if (conf && rules_copy(&c->rules, conf->zones, conf->nzones, conf->lines, conf->nlines)) {
        free(c);
        return NULL;
    }
    c->next = an->cams;
    an->cams = c;
    an->ncams++;
    return c;
}

vigil_err_t vigil__an_control_open(vigil_analytics_t *an, char *errstr, size_t errstr_size)
{
    static atomic_int instances;
    const char *topics[] = {VIGIL_TOPIC_CONTROL};
    char group[256], host[64] = "host";
    gethostname(host, sizeof host - 1);
    snprintf(group, sizeof group, "analytics-rules-%s-%d-%d", host, (int)getpid(),
             atomic_fetch_add(&instances, 1));
    an->control = vigil_bus_subscribe(an->bus, group, topics, 1, errstr, errstr_size);
    return an->control ? VIGIL_OK : VIGIL_ERR_BUS;
}

/* Applies one OP_SET_RULES command. */
static void set_rules(vigil_analytics_t *an, const Vigil__V1__CameraCommand *cmd)
{
    char errstr[512] = "";
    vigil_rules_t rules;
    const char *json = cmd->rules_json ? cmd->rules_json : "";
    if (vigil_rules_from_json(json, strlen(json), &rules, errstr, sizeof errstr)) {
        vigil_counter_inc(an->m.failed);
        vigil_error(VIGIL__AN_STAGE, cmd->camera_id,
                    "camera \"%s\": rules from topic control refused, keeping the current ones: %s",
                    cmd->camera_id, errstr);
        return;
    }
    stage_cam_t *cam = vigil__an_cam_get(an, cmd->camera_id);
    if (!cam) {
        vigil_counter_inc(an->m.failed);
        vigil_error(VIGIL__AN_STAGE, cmd->camera_id,
                    "camera \"%s\": rules not applied: out of memory or too many cameras",
                    cmd->camera_id);
        vigil_rules_release(&rules);
        return;
    }
    if (cam->analyzer &&
        vigil_analyzer_set_rules(cam->analyzer, rules.zones, rules.nzones, rules.lines,
                                 rules.nlines, errstr, sizeof errstr)) {
        vigil_counter_inc(an->m.failed);
        vigil_error(VIGIL__AN_STAGE, cam->id, "camera \"%s\": cannot apply rules: %s", cam->id,
                    errstr);
        vigil_rules_release(&rules);
        return;
    }
    if (!vigil_config_camera(an->cfg, cam->id))
        vigil_warn(VIGIL__AN_STAGE, cam->id,
                   "camera \"%s\" is not in this worker's configuration: its rules are kept "
                   "for when its detections arrive", cam->id);
    vigil_rules_release(&cam->rules);
    cam->rules = rules;
    cam->rules_from_control = 1;
    vigil_info(VIGIL__AN_STAGE, cam->id, "camera \"%s\": %zu zone(s) and %zu line(s) from topic "
               "control", cam->id, rules.nzones, rules.nlines);
}

int vigil__an_control_poll(vigil_analytics_t *an, int timeout_ms)
{
    vigil_bus_msg_t *msg = NULL;
    char errstr[256] = "";
    if (!an->control || vigil_consumer_poll(an->control, &msg, timeout_ms) != VIGIL_OK) return 0;
    Vigil__V1__CameraCommand *cmd = vigil_camera_command_decode(msg->value, msg->value_len,
                                                                errstr, sizeof errstr);
    if (!cmd) {
        vigil_warn(VIGIL__AN_STAGE, NULL, "bad message on topic %s at [%d]@%lld: %s",
                   msg->topic, (int)msg->partition, (long long)msg->offset, errstr);
    } else {
        if (cmd->op == VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES) set_rules(an, cmd);
        vigil__v1__camera_command__free_unpacked(cmd, NULL);
    }
    vigil_consumer_ack(an->control, msg);
    return 1;
}
