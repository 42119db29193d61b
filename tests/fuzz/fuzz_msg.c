/* libFuzzer driver: the checked bus message decoders (src/core/msg.c).
 * The first byte picks the decoder (frame, gated frame, detections, camera
 * command, event: byte % 5), the rest is the message; detections are also
 * what topic tracks carries, with track ids (seed tracks.bin). Whoever can write to
 * the bus is outside input: a decoder must refuse anything it cannot use
 * without crashing, leaking or allocating beyond its bound. A message that
 * is accepted is packed again and must be accepted again (what the stages
 * republish, another stage reads). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "vigil/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef void *(*decode_fn)(const void *, size_t, char *, size_t);

/* The decoders as one signature (each returns its message or NULL). */
static void *frame(const void *b, size_t n, char *e, size_t es)
{
    return vigil_frame_decode(b, n, e, es);
}
static void *gated(const void *b, size_t n, char *e, size_t es)
{
    return vigil_gated_frame_decode(b, n, e, es);
}
static void *detections(const void *b, size_t n, char *e, size_t es)
{
    return vigil_detections_decode(b, n, e, es);
}
static void *command(const void *b, size_t n, char *e, size_t es)
{
    return vigil_camera_command_decode(b, n, e, es);
}
static void *event(const void *b, size_t n, char *e, size_t es)
{
    return vigil_event_decode(b, n, e, es);
}

static const decode_fn decoders[5] = {frame, gated, detections, command, event};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    if (size < 1) return 0;
    decode_fn decode = decoders[data[0] % 5];
    ProtobufCMessage *m = decode(data + 1, size - 1, err, sizeof err);
    if (!m) return 0;
    size_t len = 0;
    uint8_t *again = vigil_msg_pack(m, &len);
    if (again) {
        ProtobufCMessage *m2 = decode(again, len, err, sizeof err);
        if (!m2) { /* accepted, packed, then refused */
            fprintf(stderr, "fuzz_msg: broken promise: a message accepted, packed again, is "
                            "refused: %s\n", err);
            abort();
        }
        protobuf_c_message_free_unpacked(m2, NULL);
        free(again);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
