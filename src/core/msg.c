/* Checked decoding of bus messages: protobuf-c parses the wire format, these
 * functions reject what it accepts but vigil cannot use (unknown schema
 * version, bad camera id, impossible dimensions), and bound what it would
 * allocate: a message longer than its kind's bound (vigil/msg.h) is refused
 * before protobuf-c sees it, and counts and lengths inside it are checked
 * after. */
#include <stdlib.h>
#include <string.h>

#include "vigil/config.h"
#include "vigil/msg.h"

#define MAX_DIM 16384

uint8_t *vigil_msg_pack(const ProtobufCMessage *msg, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) return NULL;
    *len = protobuf_c_message_pack(msg, buf);
    return buf;
}

static int check_common(uint32_t version, const char *camera_id, const char *what, char *errstr,
                        size_t errstr_size)
{
    if (version != VIGIL_SCHEMA_VERSION) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                     "%s: unsupported schema_version %u (this build reads %u)", what, version,
                     VIGIL_SCHEMA_VERSION);
        return -1;
    }
    if (!vigil_camera_id_valid(camera_id)) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "%s: invalid camera_id \"%.64s\"",
                     what, camera_id ? camera_id : "");
        return -1;
    }
    return 0;
}

static int check_dims(uint32_t w, uint32_t h, const char *what, char *errstr, size_t errstr_size)
{
    if (w == 0 || h == 0 || w > MAX_DIM || h > MAX_DIM) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "%s: invalid dimensions %ux%u", what,
                     w, h);
        return -1;
    }
    return 0;
}

/* A string field of at most max bytes (protobuf-c gives "" for an absent one). */
static int check_text(const char *s, size_t max, const char *what, const char *field,
                      char *errstr, size_t errstr_size)
{
    size_t n = s ? strnlen(s, max + 1) : 0;
    if (n > max) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                     "%s: %s longer than %zu bytes (accepted: at most %zu)", what, field, max,
                     max);
        return -1;
    }
    return 0;
}

/* Field number 0 is not valid protobuf, but protobuf-c 1.4 refuses it only
 * when its tag is one byte: written in more (0x80 0x00) it is kept as an
 * unknown field, and the message, packed again, has the one-byte form that
 * protobuf-c itself then refuses. Such a message is refused here, whether
 * the field is in it or in a message it holds (found by tests/fuzz/fuzz_msg). */
static int has_field_zero(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0) return 1;
    for (unsigned f = 0; f < d->n_fields; f++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[f];
        const char *member = (const char *)m + fd->offset;
        if (fd->type != PROTOBUF_C_TYPE_MESSAGE) continue;
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + fd->quantifier_offset);
            ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *)member;
            for (size_t k = 0; k < n; k++)
                if (items[k] && has_field_zero(items[k])) return 1;
        } else {
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)member;
            if (sub && has_field_zero(sub)) return 1;
        }
    }
    return 0;
}

/* Refuses a message longer than max bytes before protobuf-c allocates for it,
 * and one that protobuf-c accepts with a field number 0 (has_field_zero). */
#define UNPACK_OR_FAIL(type, fn, what, max)                                                    \
    if (len > (max)) {                                                                         \
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_TOO_LARGE,                                 \
                     "%s: message of %zu bytes refused (accepted: at most %zu)", what, len,    \
                     (size_t)(max));                                                           \
        return NULL;                                                                           \
    }                                                                                          \
    type *m = fn(NULL, len, buf);                                                              \
    if (!m) {                                                                                  \
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,                                    \
                     "%s: malformed protobuf (%zu bytes)", what, len);                         \
        return NULL;                                                                           \
    }                                                                                          \
    if (has_field_zero(&m->base)) {                                                            \
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,                                    \
                     "%s: malformed protobuf (%zu bytes): a field numbered 0", what, len);     \
        protobuf_c_message_free_unpacked(&m->base, NULL);                                      \
        return NULL;                                                                           \
    }

Vigil__V1__Frame *vigil_frame_decode(const void *buf, size_t len, char *errstr, size_t errstr_size)
{
    UNPACK_OR_FAIL(Vigil__V1__Frame, vigil__v1__frame__unpack, "frame", VIGIL_MSG_MAX_BYTES);
    if (check_common(m->schema_version, m->camera_id, "frame", errstr, errstr_size) ||
        check_dims(m->width, m->height, "frame", errstr, errstr_size))
        goto fail;
    if (m->jpeg.len == 0) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "frame: empty jpeg");
        goto fail;
    }
    return m;
fail:
    vigil__v1__frame__free_unpacked(m, NULL);
    return NULL;
}

Vigil__V1__GatedFrame *vigil_gated_frame_decode(const void *buf, size_t len, char *errstr,
                                                size_t errstr_size)
{
    UNPACK_OR_FAIL(Vigil__V1__GatedFrame, vigil__v1__gated_frame__unpack, "gated frame",
                   VIGIL_MSG_MAX_BYTES);
    if (check_common(m->schema_version, m->camera_id, "gated frame", errstr, errstr_size) ||
        check_dims(m->width, m->height, "gated frame", errstr, errstr_size))
        goto fail;
    if (m->jpeg.len == 0) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "gated frame: empty jpeg");
        goto fail;
    }
    return m;
fail:
    vigil__v1__gated_frame__free_unpacked(m, NULL);
    return NULL;
}

Vigil__V1__Detections *vigil_detections_decode(const void *buf, size_t len, char *errstr,
                                               size_t errstr_size)
{
    UNPACK_OR_FAIL(Vigil__V1__Detections, vigil__v1__detections__unpack, "detections",
                   VIGIL_MSG_DETECTIONS_MAX_BYTES);
    if (check_common(m->schema_version, m->camera_id, "detections", errstr, errstr_size))
        goto fail;
    if (!m->model || !*m->model) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "detections: empty model name");
        goto fail;
    }
    if (check_text(m->model, 63, "detections", "model name", errstr, errstr_size)) goto fail;
    if (m->n_items > VIGIL_DETECTIONS_MAX) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                     "detections: %zu items (accepted: at most %d)", m->n_items,
                     VIGIL_DETECTIONS_MAX);
        goto fail;
    }
    for (size_t i = 0; i < m->n_items; i++) {
        if (check_text(m->items[i]->label, VIGIL_LABEL_MAX - 1, "detections", "a label", errstr,
                       errstr_size))
            goto fail;
        if (m->items[i]->track_id > VIGIL_TRACK_ID_MAX) {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                         "detections: item %zu: track id %llu (accepted: at most %llu)", i,
                         (unsigned long long)m->items[i]->track_id,
                         (unsigned long long)VIGIL_TRACK_ID_MAX);
            goto fail;
        }
    }
    return m;
fail:
    vigil__v1__detections__free_unpacked(m, NULL);
    return NULL;
}

Vigil__V1__CameraCommand *vigil_camera_command_decode(const void *buf, size_t len, char *errstr,
                                                      size_t errstr_size)
{
    UNPACK_OR_FAIL(Vigil__V1__CameraCommand, vigil__v1__camera_command__unpack, "camera command",
                   VIGIL_MSG_SMALL_MAX_BYTES);
    if (check_common(m->schema_version, m->camera_id, "camera command", errstr, errstr_size))
        goto fail;
    if (check_text(m->name, VIGIL_MSG_TEXT_MAX, "camera command", "name", errstr, errstr_size) ||
        check_text(m->url, VIGIL_MSG_TEXT_MAX, "camera command", "url", errstr, errstr_size) ||
        check_text(m->rules_json, VIGIL_MSG_JSON_MAX, "camera command", "rules_json", errstr,
                   errstr_size))
        goto fail;
    if (m->op < VIGIL__V1__CAMERA_COMMAND__OP__OP_ADD ||
        m->op > VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "camera command: unknown op %d",
                     (int)m->op);
        goto fail;
    }
    return m;
fail:
    vigil__v1__camera_command__free_unpacked(m, NULL);
    return NULL;
}

Vigil__V1__Event *vigil_event_decode(const void *buf, size_t len, char *errstr, size_t errstr_size)
{
    UNPACK_OR_FAIL(Vigil__V1__Event, vigil__v1__event__unpack, "event", VIGIL_MSG_SMALL_MAX_BYTES);
    if (check_common(m->schema_version, m->camera_id, "event", errstr, errstr_size)) goto fail;
    if (!m->type || !*m->type) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "event: empty type");
        goto fail;
    }
    if (check_text(m->type, 63, "event", "type", errstr, errstr_size) ||
        check_text(m->message, VIGIL_MSG_TEXT_MAX, "event", "message", errstr, errstr_size) ||
        check_text(m->payload_json, VIGIL_MSG_JSON_MAX, "event", "payload_json", errstr,
                   errstr_size))
        goto fail;
    return m;
fail:
    vigil__v1__event__free_unpacked(m, NULL);
    return NULL;
}
