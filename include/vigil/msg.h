/* Encoding and checked decoding of the bus messages (proto/vigil/v1/messages.proto).
 *
 * The generated protobuf-c types are used as they are (Vigil__V1__Frame, ...).
 * The decoders here add what protobuf-c does not check: the schema version,
 * a valid camera id, sane dimensions. A decoding failure is an error with a
 * reason in errstr, never a crash. Decoded messages are freed with the
 * generated *__free_unpacked(msg, NULL).
 *
 * Thread: any. */
#ifndef VIGIL_MSG_H
#define VIGIL_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"
#include "vigil/v1/messages.pb-c.h"

#define VIGIL_SCHEMA_VERSION 1u

/* Bounds on what the decoders accept: whoever can write to the bus is
 * outside input. A message longer than its kind's bound is refused before
 * protobuf-c allocates anything for it (its allocations are then bounded by
 * a small multiple of the bound), and what it holds is checked after.
 *   frames and gated frames  VIGIL_MSG_MAX_BYTES (the JPEG; its pixels are
 *                            capped by limits.max_frame_pixels where decoded)
 *   detections (and tracks)  VIGIL_MSG_DETECTIONS_MAX_BYTES, at most
 *                            VIGIL_DETECTIONS_MAX items, model names and
 *                            labels under 64 bytes, track ids at most
 *                            VIGIL_TRACK_ID_MAX
 *   camera commands, events  VIGIL_MSG_SMALL_MAX_BYTES; urls, names and
 *                            texts VIGIL_MSG_TEXT_MAX bytes at most, rules
 *                            and payloads VIGIL_MSG_JSON_MAX */
#define VIGIL_MSG_MAX_BYTES ((size_t)64 << 20)
#define VIGIL_MSG_DETECTIONS_MAX_BYTES ((size_t)1 << 20)
#define VIGIL_MSG_SMALL_MAX_BYTES ((size_t)2 << 20)
#define VIGIL_DETECTIONS_MAX 4096
#define VIGIL_MSG_TEXT_MAX 4096
#define VIGIL_MSG_JSON_MAX ((size_t)1 << 20)
#define VIGIL_TRACK_ID_MAX ((UINT64_C(1) << 53) - 1) /* exact as a JSON number */

/* Packs any generated message into a malloc'd buffer. Returns NULL on OOM. */
uint8_t *vigil_msg_pack(const ProtobufCMessage *msg, size_t *len);

Vigil__V1__Frame *vigil_frame_decode(const void *buf, size_t len, char *errstr,
                                     size_t errstr_size);
Vigil__V1__GatedFrame *vigil_gated_frame_decode(const void *buf, size_t len, char *errstr,
                                                size_t errstr_size);
Vigil__V1__Detections *vigil_detections_decode(const void *buf, size_t len, char *errstr,
                                               size_t errstr_size);
Vigil__V1__CameraCommand *vigil_camera_command_decode(const void *buf, size_t len, char *errstr,
                                                      size_t errstr_size);
Vigil__V1__Event *vigil_event_decode(const void *buf, size_t len, char *errstr,
                                     size_t errstr_size);

#endif
