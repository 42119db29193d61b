/* Checked decoding of bus messages: protobuf-c parses the wire format, these
 * functions reject what it accepts but vigil cannot use (unknown schema
 * version, bad camera id, impossible dimensions). */
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

#define UNPACK_OR_FAIL(type, fn, what)                                                         \
    type *m = fn(NULL, len, buf);                                                              \
    if (!m) {                                                                                  \
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,                                    \
                     "%s: malformed protobuf (%zu bytes)", what, len);                         \
        return NULL;                                                                           \
    }

Vigil__V1__Frame *vigil_frame_decode(const void *buf, size_t len, char *errstr, size_t errstr_size)
{
    UNPACK_OR_FAIL(Vigil__V1__Frame, vigil__v1__frame__unpack, "frame");
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
    UNPACK_OR_FAIL(Vigil__V1__GatedFrame, vigil__v1__gated_frame__unpack, "gated frame");
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
    UNPACK_OR_FAIL(Vigil__V1__Detections, vigil__v1__detections__unpack, "detections");
    if (check_common(m->schema_version, m->camera_id, "detections", errstr, errstr_size))
        goto fail;
    if (!m->model || !*m->model) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "detections: empty model name");
        goto fail;
    }
    return m;
fail:
    vigil__v1__detections__free_unpacked(m, NULL);
    return NULL;
}

Vigil__V1__CameraCommand *vigil_camera_command_decode(const void *buf, size_t len, char *errstr,
                                                      size_t errstr_size)
{
    UNPACK_OR_FAIL(Vigil__V1__CameraCommand, vigil__v1__camera_command__unpack, "camera command");
    if (check_common(m->schema_version, m->camera_id, "camera command", errstr, errstr_size))
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
    UNPACK_OR_FAIL(Vigil__V1__Event, vigil__v1__event__unpack, "event");
    if (check_common(m->schema_version, m->camera_id, "event", errstr, errstr_size)) goto fail;
    if (!m->type || !*m->type) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "event: empty type");
        goto fail;
    }
    return m;
fail:
    vigil__v1__event__free_unpacked(m, NULL);
    return NULL;
}
