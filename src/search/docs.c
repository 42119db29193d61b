/* The documents vigil indexes, as _bulk lines (docs/search.md, "What is indexed").
 *
 * Each bus message becomes index actions whose _id is the warehouse key of
 * what it carries, so that a message delivered twice writes the same
 * documents again instead of adding copies:
 *   detections  d:CAMERA:SEQUENCE:MODEL:IDX         (detections' unique key)
 *   tracks      t:CAMERA:TRACK:SEQUENCE             (track_points' key)
 *   events      e:CAMERA:KIND:TRACK:ZONE|LINE:START_SEQUENCE  (analytics events),
 *               c:CAMERA:TYPE:TIME_US:SEQUENCE      (camera.* and other events)
 * An analytics event is reported again each time it changes; its documents
 * carry version_type external with the report's sequence, so that an older
 * report delivered late cannot overwrite a newer one (the node answers 409,
 * which the indexer counts as a duplicate).
 *
 * The index of a document is PREFIX-KIND-YYYY.MM.DD of its own time (capture
 * time, an event's start): a document's index never changes between
 * deliveries. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "search/search_int.h"
#include "vigil/analytics.h"
#include "vigil/clock.h"
#include "vigil/msg.h"

void vigil__bulk_reset(vigil__bulk_t *b)
{
    b->len = 0;
    b->ndocs = 0;
}

void vigil__bulk_free(vigil__bulk_t *b)
{
    free(b->buf);
    free(b->docs);
    memset(b, 0, sizeof *b);
}

void vigil__index_name(char *out, size_t size, const char *prefix, const char *kind,
                       int64_t time_us)
{
    time_t t = (time_t)(time_us / 1000000);
    struct tm tm;
    if (time_us < 0 || !gmtime_r(&t, &tm)) memset(&tm, 0, sizeof tm), tm.tm_year = 70;
    snprintf(out, size, "%s-%s-%04d.%02d.%02d", prefix, kind, tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
}

static vigil_err_t put(vigil__bulk_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n + 1) cap *= 2;
        char *grown = realloc(b->buf, cap);
        if (!grown) return VIGIL_ERR_NOMEM;
        b->buf = grown;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return VIGIL_OK;
}

/* Appends the action line and the source (which it takes) of one document. */
static vigil_err_t add_doc(vigil__bulk_t *b, const char *index, const char *id, int64_t version,
                           json_t *source, size_t held)
{
    vigil_err_t err = VIGIL_ERR_NOMEM;
    json_t *meta = json_pack("{s:s, s:s}", "_index", index, "_id", id);
    if (meta && version > 0) {
        json_object_set_new(meta, "version", json_integer(version));
        json_object_set_new(meta, "version_type", json_string("external"));
    }
    json_t *action = meta ? json_pack("{s:o}", "index", meta) : NULL;
    if (!action) json_decref(meta);
    char *a = action ? json_dumps(action, JSON_COMPACT) : NULL;
    char *s = source ? json_dumps(source, JSON_COMPACT) : NULL;
    json_decref(action);
    json_decref(source);
    if (!a || !s) goto out;
    if (b->ndocs == b->capdocs) {
        size_t cap = b->capdocs ? b->capdocs * 2 : 256;
        struct vigil__bulk_doc *grown = realloc(b->docs, cap * sizeof *grown);
        if (!grown) goto out;
        b->docs = grown;
        b->capdocs = cap;
    }
    size_t off = b->len;
    if (put(b, a, strlen(a)) || put(b, "\n", 1) || put(b, s, strlen(s)) || put(b, "\n", 1)) {
        b->len = off;
        goto out;
    }
    struct vigil__bulk_doc *d = &b->docs[b->ndocs++];
    d->off = off;
    d->len = b->len - off;
    d->held = held;
    snprintf(d->id, sizeof d->id, "%s", id);
    err = VIGIL_OK;
out:
    free(a);
    free(s);
    return err;
}

static json_t *iso_time(int64_t us)
{
    char ts[40];
    vigil_format_time(us, ts, sizeof ts);
    return json_string(ts);
}

static json_t *box(float x1, float y1, float x2, float y2)
{
    return json_pack("[f,f,f,f]", (double)x1, (double)y1, (double)x2, (double)y2);
}

/* Detections (topic detections) or tracked boxes (topic tracks). */
static vigil_err_t add_detections(vigil__bulk_t *b, const char *prefix,
                                  const Vigil__V1__Detections *d, int tracks, size_t held,
                                  size_t *ndocs)
{
    char index[160], id[200];
    vigil__index_name(index, sizeof index, prefix, tracks ? "tracks" : "detections",
                      d->capture_time_us);
    for (size_t k = 0; k < d->n_items; k++) {
        const Vigil__V1__Detection *it = d->items[k];
        const char *label = it->label ? it->label : "";
        if (tracks && it->track_id == 0) continue; /* not part of a confirmed track */
        if (tracks)
            snprintf(id, sizeof id, "t:%s:%llu:%llu", d->camera_id,
                     (unsigned long long)it->track_id, (unsigned long long)d->sequence);
        else
            snprintf(id, sizeof id, "d:%s:%llu:%s:%zu", d->camera_id,
                     (unsigned long long)d->sequence, d->model ? d->model : "", k);
        json_t *src = json_pack("{s:s, s:s, s:I, s:I, s:I, s:o, s:s, s:f, s:o}", "kind",
                                tracks ? "track" : "detection", "camera", d->camera_id,
                                "sequence", (json_int_t)d->sequence, "frame_id",
                                (json_int_t)d->frame_id, "time_us",
                                (json_int_t)d->capture_time_us, "@timestamp",
                                iso_time(d->capture_time_us), "label", label, "score",
                                (double)it->score, "box", box(it->x1, it->y1, it->x2, it->y2));
        if (src && tracks) json_object_set_new(src, "track", json_integer((json_int_t)it->track_id));
        if (src && !tracks) {
            json_object_set_new(src, "model", json_string(d->model ? d->model : ""));
            json_object_set_new(src, "idx", json_integer((json_int_t)k));
        }
        vigil_err_t err = add_doc(b, index, id, 0, src, held);
        if (err) return err;
        (*ndocs)++;
    }
    return VIGIL_OK;
}

static const char *str_or(json_t *o, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : def;
}

/* An analytics event report (payload_json as stage_batch.c writes it). */
static vigil_err_t add_analytics_event(vigil__bulk_t *b, const char *prefix,
                                       const Vigil__V1__Event *ev, json_t *p, size_t held,
                                       size_t *ndocs, char *errstr, size_t errstr_size)
{
    char index[160], id[200];
    json_t *start = json_object_get(p, "start_us"), *sseq = json_object_get(p, "start_sequence");
    json_t *track = json_object_get(p, "track");
    if (!json_is_integer(start) || !json_is_integer(sseq) || !json_is_integer(track)) {
        snprintf(errstr, errstr_size, "event %s: payload_json lacks start_us, start_sequence "
                 "or track", ev->type);
        return VIGIL_ERR_DECODE;
    }
    const char *zone = str_or(p, "zone", ""), *line = str_or(p, "line", "");
    int64_t start_us = json_integer_value(start);
    snprintf(id, sizeof id, "e:%s:%s:%lld:%s:%lld", ev->camera_id, ev->type,
             (long long)json_integer_value(track), zone[0] ? zone : line,
             (long long)json_integer_value(sseq));
    vigil__index_name(index, sizeof index, prefix, "events", start_us);
    json_t *src = json_pack(
        "{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:I, s:I, s:o, s:O, s:O, s:O, s:O, s:O, s:I}",
        "kind", ev->type, "camera", ev->camera_id, "label", str_or(p, "label", ""), "track",
        (json_int_t)json_integer_value(track), "zone", zone, "line", line, "direction",
        str_or(p, "direction", ""), "start_sequence", (json_int_t)json_integer_value(sseq),
        "time_us", (json_int_t)start_us, "@timestamp", iso_time(start_us), "end_us",
        json_object_get(p, "end_us") ? json_object_get(p, "end_us") : json_null(), "open",
        json_object_get(p, "open") ? json_object_get(p, "open") : json_false(), "peak_score",
        json_object_get(p, "peak_score") ? json_object_get(p, "peak_score") : json_real(0),
        "snapshot_frame_id",
        json_object_get(p, "snapshot_frame_id") ? json_object_get(p, "snapshot_frame_id")
                                                : json_integer(0),
        "box", json_object_get(p, "box") ? json_object_get(p, "box") : json_null(),
        "updated_sequence", (json_int_t)ev->sequence);
    if (src) json_object_set_new(src, "message", json_string(ev->message ? ev->message : ""));
    /* external versions must be positive: sequence 0 (a hand-made message) is version 1 */
    vigil_err_t err = add_doc(b, index, id, (int64_t)(ev->sequence ? ev->sequence : 1), src, held);
    if (!err) (*ndocs)++;
    return err;
}

/* Any other event (camera.online, ...): kept as it came. */
static vigil_err_t add_other_event(vigil__bulk_t *b, const char *prefix,
                                   const Vigil__V1__Event *ev, size_t held, size_t *ndocs)
{
    char index[160], id[200];
    snprintf(id, sizeof id, "c:%s:%s:%lld:%llu", ev->camera_id, ev->type ? ev->type : "",
             (long long)ev->time_us, (unsigned long long)ev->sequence);
    vigil__index_name(index, sizeof index, prefix, "events", ev->time_us);
    json_t *src = json_pack("{s:s, s:s, s:I, s:o, s:I, s:s, s:s}", "kind",
                            ev->type ? ev->type : "", "camera", ev->camera_id, "time_us",
                            (json_int_t)ev->time_us, "@timestamp", iso_time(ev->time_us),
                            "updated_sequence", (json_int_t)ev->sequence, "message",
                            ev->message ? ev->message : "", "payload",
                            ev->payload_json ? ev->payload_json : "");
    vigil_err_t err = add_doc(b, index, id, 0, src, held);
    if (!err) (*ndocs)++;
    return err;
}

vigil_err_t vigil__bulk_add_message(vigil__bulk_t *b, const char *prefix,
                                    const vigil_bus_msg_t *msg, size_t held, size_t *ndocs,
                                    char *errstr, size_t errstr_size)
{
    vigil_err_t err;
    *ndocs = 0;
    if (strcmp(msg->topic, VIGIL_TOPIC_EVENTS) == 0) {
        Vigil__V1__Event *ev = vigil_event_decode(msg->value, msg->value_len, errstr,
                                                  errstr_size);
        if (!ev) return VIGIL_ERR_DECODE;
        if (vigil_event_kind_parse(ev->type)) {
            json_error_t jerr;
            json_t *p = json_loads(ev->payload_json ? ev->payload_json : "", 0, &jerr);
            if (!json_is_object(p)) {
                snprintf(errstr, errstr_size, "event %s: payload_json is not a JSON object",
                         ev->type);
                err = VIGIL_ERR_DECODE;
            } else {
                err = add_analytics_event(b, prefix, ev, p, held, ndocs, errstr, errstr_size);
            }
            json_decref(p);
        } else {
            err = add_other_event(b, prefix, ev, held, ndocs);
        }
        vigil__v1__event__free_unpacked(ev, NULL);
        return err;
    }
    Vigil__V1__Detections *d = vigil_detections_decode(msg->value, msg->value_len, errstr,
                                                       errstr_size);
    if (!d) return VIGIL_ERR_DECODE;
    err = add_detections(b, prefix, d, strcmp(msg->topic, VIGIL_TOPIC_TRACKS) == 0, held, ndocs);
    vigil__v1__detections__free_unpacked(d, NULL);
    return err;
}

vigil_err_t vigil__bulk_add_log(vigil__bulk_t *b, const char *prefix, const char *line,
                                size_t len, int64_t now_us)
{
    char index[160], action[256];
    vigil__index_name(index, sizeof index, prefix, "logs", now_us);
    int n = snprintf(action, sizeof action, "{\"index\":{\"_index\":\"%s\"}}\n", index);
    size_t off = b->len;
    if (put(b, action, (size_t)n) || put(b, line, len) || put(b, "\n", 1)) {
        b->len = off;
        return VIGIL_ERR_NOMEM;
    }
    b->ndocs++;
    return VIGIL_OK;
}
