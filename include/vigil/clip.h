/* Event clips: a run of stored JPEG frames encoded as an H.264 MP4.
 *
 * The frames come from a pull callback (the API reads them from the store one
 * at a time, so a clip of thousands of frames never holds more than one JPEG
 * and two decoded pictures in memory). They may differ in size: every frame
 * is scaled to the first decodable frame's size, rounded down to even
 * dimensions (4:2:0 needs them), as yuv420p. Timestamps are the capture times
 * (variable frame rate, 1/1000 s time base); the file is an MP4 with the moov
 * atom before mdat ("faststart"), so a browser can start playing it while it
 * loads.
 *
 * Encoder: libx264 (preset veryfast, CRF 23, keyframe every ~2 s; its
 * threads encode slices of each picture, as x264's frame threading now and
 * then leaks a frame: see clip.c). If this FFmpeg has no libx264, another
 * H.264 encoder that opens (libopenh264), else MPEG-4 part 2, with a warning
 * logged once per process.
 *
 * The file appears atomically: the clip is written to a temporary file in the
 * same directory (PATH.tmp-XXXXXX) and renamed onto PATH only when complete,
 * so a concurrent reader sees either no file or a whole one, and two writers
 * of the same PATH each rename a whole file. On failure nothing is left.
 *
 * Thread: any; calls share no state (the FFmpeg log hook is set up once). */
#ifndef VIGIL_CLIP_H
#define VIGIL_CLIP_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

#define VIGIL_CLIP_MAX_FRAMES 3000 /* default cap on the frames of one clip */

/* One frame handed to the writer. `jpeg` is borrowed: it must stay valid
 * until the source is called again (or vigil_clip_write returns). */
typedef struct vigil_clip_frame {
    const void *jpeg;
    size_t len;
    int64_t time_us; /* capture time, microseconds since the epoch */
} vigil_clip_frame_t;

/* The frame source. Returns 1 with *frame filled, 0 when there are no more
 * frames, or a negative vigil_err_t (with a message in errstr) to abandon
 * the clip, which then fails with that code. Frames should come in capture
 * time order: one whose time is not later than the previous frame's (at
 * millisecond precision) is skipped and counted. */
typedef int (*vigil_clip_source_fn)(void *opaque, vigil_clip_frame_t *frame, char *errstr,
                                    size_t errstr_size);

typedef struct vigil_clip_conf {
    double fps;     /* nominal frame rate, for the encoder's rate control and the H.264 level
                     * only (timestamps come from the frames); default 10, 0.1..240 */
    int max_frames; /* stop after this many encoded frames; default VIGIL_CLIP_MAX_FRAMES */
    int crf;        /* libx264 constant rate factor, 0..51; default 23 */
    int threads;    /* encoder threads; default 2 (the API serves while the pipeline runs) */
} vigil_clip_conf_t;

/* What a successful write produced. */
typedef struct vigil_clip_info {
    int64_t frames;      /* encoded */
    int64_t skipped;     /* not decodable, or out of time order */
    int64_t duration_us; /* last - first capture time + the last frame's duration */
    int width, height;   /* of the video */
    char encoder[32];    /* "libx264", or the fallback used */
} vigil_clip_info_t;

void vigil_clip_conf_init(vigil_clip_conf_t *conf);

/* Encodes the frames of `source` into the MP4 file `path` (its directory
 * must exist), replacing any file there. conf may be NULL (defaults); info
 * may be NULL.
 * Errors: VIGIL_ERR_NOT_FOUND if the source gave no frame at all;
 * VIGIL_ERR_DECODE if none of them could be decoded; VIGIL_ERR_IO if the file
 * cannot be written; VIGIL_ERR_UNSUPPORTED if no encoder opens; the source's
 * own code if it fails. errstr says which, naming the path. */
vigil_err_t vigil_clip_write(const char *path, const vigil_clip_conf_t *conf,
                             vigil_clip_source_fn source, void *opaque, vigil_clip_info_t *info,
                             char *errstr, size_t errstr_size);

#endif
