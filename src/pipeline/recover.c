/* Frames stored but never processed go back to infer when `vigil run`
 * starts.
 *
 * In one process the bus is in memory: a kill -9 (or a crash, or a power
 * cut) loses every message it held. A frame preprocess had stored (JPEG and
 * row) and published, but whose detections the sink had not committed, was
 * then never processed, although the bus promises at-least-once delivery
 * (docs/architecture.md). The warehouse knows which frames those are: the
 * sink writes each frame's detections together with its processed mark
 * (frames.detection_count, vigil_store_results_put), so a stored frame
 * without the mark is exactly one whose result never arrived. At start-up,
 * before preprocess publishes anything new, each of them is published to
 * frames.gated again, from its stored JPEG and row, as preprocess published
 * it. The sink's mark makes the second delivery count once: a frame marked
 * meanwhile keeps its first rows.
 *
 * A frame whose model call failed stays unmarked too, and is tried again
 * at the next start. With Kafka the bus itself keeps what was not
 * committed, so this runs only on the in-process bus. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/recover.h"
#include "vigil/log.h"
#include "vigil/metrics.h"
#include "vigil/msg.h"
#include "vigil/stages.h"
#include "vigil/store.h"

#define STAGE "pipeline"
#define PAGE 500

/* Publishes one stored frame as preprocess did; *published says whether
 * it did (a frame whose JPEG cannot be read is skipped, with a warning). */
static vigil_err_t resend(vigil_store_t *store, vigil_bus_t *bus, const vigil_frame_row_t *row,
                          int *published, vigil_log_limit_t *errlog)
{
    void *jpeg = NULL;
    *published = 0;
    size_t len = 0;
    vigil_err_t err = vigil_store_frame_read(store, row->id, &jpeg, &len);
    if (err) {
        /* counted as not sent; it is tried again at the next start */
        vigil_log_limited(errlog, VIGIL_LOG_WARN, STAGE, row->camera_id, NULL,
                          "camera \"%s\": frame %lld (sequence %llu) stored but not processed: "
                          "cannot read its jpeg: %s",
                          row->camera_id, (long long)row->id, (unsigned long long)row->sequence,
                          vigil_store_last_error(store));
        return err == VIGIL_ERR_NOMEM ? err : VIGIL_OK;
    }
    Vigil__V1__GatedFrame g = VIGIL__V1__GATED_FRAME__INIT;
    g.schema_version = VIGIL_SCHEMA_VERSION;
    g.camera_id = (char *)row->camera_id;
    g.sequence = row->sequence;
    g.capture_time_us = row->capture_time_us;
    g.width = (uint32_t)row->width;
    g.height = (uint32_t)row->height;
    g.frame_id = row->id;
    g.motion_score = row->motion_score;
    g.keyframe = row->keyframe != 0;
    g.jpeg.data = jpeg;
    g.jpeg.len = len;
    size_t packed_len = 0;
    uint8_t *buf = vigil_msg_pack(&g.base, &packed_len);
    free(jpeg);
    if (!buf) return VIGIL_ERR_NOMEM;
    err = vigil_bus_publish(bus, VIGIL_TOPIC_GATED, row->camera_id, strlen(row->camera_id), buf,
                            packed_len, -1);
    free(buf);
    *published = err == VIGIL_OK;
    return err;
}

vigil_err_t vigil__pipeline_recover(const vigil_config_t *cfg, vigil_bus_t *bus, size_t *sent,
                                    char *errstr, size_t errstr_size)
{
    vigil_store_conf_t sc;
    vigil_frame_row_t *rows = NULL;
    vigil_log_limit_t errlog = {0};
    vigil_err_t err = VIGIL_OK;
    size_t n = 0, count = 0, seen = 0;
    int64_t after = 0;

    *sent = 0;
    vigil_store_conf_init(&sc);
    sc.url = cfg->store_url;
    sc.data_dir = cfg->data_dir;
    sc.migrate = 1;
    vigil_store_t *store = vigil_store_open(&sc, errstr, errstr_size);
    if (!store) return VIGIL_ERR_STORE;
    vigil_counter_t *recovered = vigil_metrics_counter(
        "vigil_frames_recovered_total",
        "Frames stored but not processed when vigil run started, sent to infer again.", NULL,
        NULL, NULL, NULL);
    while (seen < VIGIL__RECOVER_MAX) {
        if ((err = vigil_store_frames_unprocessed(store, after, PAGE, &rows, &n))) {
            vigil_seterr(errstr, errstr_size, err, "cannot list the frames not processed: %s",
                         vigil_store_last_error(store));
            goto out;
        }
        for (size_t i = 0; i < n && seen < VIGIL__RECOVER_MAX; i++, seen++) {
            int published = 0;
            after = rows[i].id;
            err = resend(store, bus, &rows[i], &published, &errlog);
            if (published) {
                count++;
                vigil_counter_inc(recovered);
            }
            if (err) {
                vigil_seterr(errstr, errstr_size, err,
                             "camera \"%s\": cannot send frame %lld again: %s",
                             rows[i].camera_id, (long long)rows[i].id, vigil_err_str(err));
                goto out;
            }
        }
        free(rows);
        rows = NULL;
        if (n < PAGE) break;
    }
    if (seen >= VIGIL__RECOVER_MAX)
        vigil_warn(STAGE, NULL,
                   "more than %d frames stored but not processed: the rest go at the next start",
                   VIGIL__RECOVER_MAX);
out:
    free(rows);
    vigil_log_limit_flush(&errlog);
    if (count)
        vigil_info(STAGE, NULL,
                   "recovered %zu frames stored but not processed (the last run ended before "
                   "their detections were written): sent to infer again",
                   count);
    *sent = count;
    vigil_store_close(store);
    return err;
}
