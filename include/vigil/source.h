/* Video sources: files and network streams through FFmpeg.
 *
 * URLs: a file path (or file://), rtsp:// (always over TCP), http(s)://
 * (MJPEG or any container FFmpeg reads), and "sample" (the sample video
 * fetched at set-up: $VIGIL_MEDIA or $XDG_CACHE_HOME/vigil/media/vtest.avi).
 * Any other scheme is VIGIL_ERR_UNSUPPORTED.
 *
 * Thread: one thread reads a source; vigil_source_interrupt() may be called
 * from any thread to make a blocked open/read return VIGIL_ERR_CLOSED. */
#ifndef VIGIL_SOURCE_H
#define VIGIL_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

typedef struct vigil_source vigil_source_t;

typedef struct vigil_source_opts {
    int loop;            /* files: seek to the start at the end of the stream */
    int timeout_ms;      /* network open/read timeout; default 5000 */
    /* Optional: polled during a blocking open/read; once it returns non-zero
     * the call gives up with VIGIL_ERR_CLOSED. Lets a stopping caller end an
     * open that has no source handle to interrupt yet. NULL = none. */
    int (*cancel)(void *opaque);
    void *cancel_opaque;
    /* Most pixels of a decoded image: FFmpeg refuses a stream whose frames
     * are larger (a camera is outside input too). 0 = FFmpeg's default. */
    int64_t max_pixels;
} vigil_source_opts_t;

/* A decoded frame, borrowed from the source until the next read. */
typedef struct vigil_source_frame {
    const uint8_t *planes[3]; /* YUV 4:2:0 (converted if the stream is not) */
    int strides[3];
    int width, height;
    int64_t pts_us;  /* presentation time from the stream start; grows across loops */
    /* If the stream is MJPEG, the original JPEG packet (may be passed through). */
    const uint8_t *jpeg;
    size_t jpeg_len;
} vigil_source_frame_t;

/* Resolves "sample" and friends to a path or URL. Returns a malloc'd string,
 * or NULL with errstr when the sample media is not installed. */
char *vigil_source_resolve(const char *url, char *errstr, size_t errstr_size);

vigil_source_t *vigil_source_open(const char *url, const vigil_source_opts_t *opts, char *errstr,
                                  size_t errstr_size);
/* Next frame. VIGIL_ERR_CLOSED: end of a non-looping file, or interrupted.
 * VIGIL_ERR_DECODE: a corrupt packet was skipped (the caller counts it and
 * reads on). VIGIL_ERR_IO: the stream dropped (reopen with backoff). */
vigil_err_t vigil_source_read(vigil_source_t *src, vigil_source_frame_t *frame, char *errstr,
                              size_t errstr_size);
/* Native frame rate (0 if unknown) and whether it is live (network) or a file. */
double vigil_source_fps(const vigil_source_t *src);
int vigil_source_is_file(const vigil_source_t *src);
/* The video codec's short name ("h264", "mjpeg", ...); "" if unknown.
 * Valid while the source is open. */
const char *vigil_source_codec(const vigil_source_t *src);
void vigil_source_interrupt(vigil_source_t *src);
void vigil_source_close(vigil_source_t *src);

#endif
