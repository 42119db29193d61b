/* Video sources: files and network streams demuxed and decoded by FFmpeg,
 * handed out as YUV 4:2:0 frames (the layout the JPEG encoder takes as is).
 *
 * Main ideas:
 *  - Nothing blocks for ever. Every blocking FFmpeg call runs under an
 *    AVIOInterruptCB that checks, in this order: vigil_source_interrupt()
 *    (any thread), the caller's cancel callback (a stopping ingest), and a
 *    monotonic deadline of timeout_ms that is re-armed before each open and
 *    each packet read. So a dead RTSP server costs timeout_ms, not a hang.
 *  - The scheme is checked before FFmpeg sees the URL: FFmpeg knows dozens of
 *    protocols (including ones that read local files or run subprocesses);
 *    vigil accepts a short list and names it in the error.
 *  - Files can loop: at the end the decoder is drained, the demuxer seeks to
 *    the start, and presentation times continue from the last frame, so pts
 *    grows for ever and the sampler downstream never sees time go back.
 *  - "testsrc" is a synthetic live source (moving square, 10 fps) for demos
 *    and tests that need no media files (see testsrc_read()).
 *
 * Thread: one thread opens/reads/closes a source; vigil_source_interrupt()
 * may be called from any thread (it only sets an atomic flag). */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "source_int.h"
#include "vigil/clock.h"
#include "vigil/log.h"
#include "vigil/redact.h"
#include "vigil/source.h"

#define DEFAULT_TIMEOUT_MS 5000
#define MAX_READ_ERRORS 3 /* consecutive failed packet reads before VIGIL_ERR_IO */
#define TESTSRC_W 640
#define TESTSRC_H 360
#define TESTSRC_FPS 10

static const char *const network_schemes[] = {"rtsp", "rtsps", "http", "https", "udp", "tcp"};
#define ACCEPTED_SCHEMES "file, rtsp, rtsps, http, https, udp, tcp"

struct vigil_source {
    char shown[512]; /* the URL redacted (vigil_url_redact), for messages */
    int64_t max_pixels; /* AVCodecContext.max_pixels; 0: FFmpeg's default */
    int is_file, loop, timeout_ms;
    int (*cancel)(void *opaque);
    void *cancel_opaque;
    atomic_int interrupted;
    int64_t deadline_us; /* monotonic; 0 = none. Only the reading thread touches it. */
    int timed_out;       /* the last interrupt was the deadline */

    AVFormatContext *fmt;
    AVCodecContext *dec;
    struct SwsContext *sws;
    AVPacket *pkt;
    AVPacket *jpeg_pkt; /* MJPEG: the packet of the frame last returned */
    AVFrame *frame;
    AVFrame *yuv; /* conversion target when the stream is not YUV 4:2:0 */
    int stream;
    AVRational tb;
    int mjpeg;
    double fps;
    int64_t frame_dur_us;

    int draining;           /* end of input reached, decoder flushing */
    int64_t pass_first_pts; /* first pts of this pass over the file (stream units) */
    int64_t loop_offset_us; /* added to pts: where this pass starts */
    int64_t last_pts_us;    /* -1 before the first frame */
    int64_t pass_frames;    /* frames decoded in this pass (a pass of 0 cannot loop) */
    int read_errors;

    /* testsrc */
    int testsrc;
    int64_t test_n, test_t0;
    uint8_t *test_planes[3];
};

/* ---- URL helpers ------------------------------------------------------------ */

/* Length of the scheme if url starts with "scheme://", else 0. */
static size_t scheme_len(const char *url)
{
    size_t i = 0;
    if (!isalpha((unsigned char)url[0])) return 0;
    while (isalnum((unsigned char)url[i]) || url[i] == '+' || url[i] == '.' || url[i] == '-') i++;
    return strncmp(url + i, "://", 3) == 0 ? i : 0;
}

static int scheme_is(const char *url, size_t n, const char *scheme)
{
    return strlen(scheme) == n && strncasecmp(url, scheme, n) == 0;
}

static const char *media_dir(char *buf, size_t size)
{
    const char *m = getenv("VIGIL_MEDIA");
    if (m && *m) return m;
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && *xdg)
        snprintf(buf, size, "%s/vigil/media", xdg);
    else
        snprintf(buf, size, "%s/.cache/vigil/media", getenv("HOME") ? getenv("HOME") : ".");
    return buf;
}

char *vigil_source_resolve(const char *url, char *errstr, size_t errstr_size)
{
    if (!url || !*url) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "empty source url");
        return NULL;
    }
    if (strcmp(url, "sample") == 0) {
        char dirbuf[1024], path[1200];
        struct stat st;
        snprintf(path, sizeof(path), "%s/vtest.avi", media_dir(dirbuf, sizeof(dirbuf)));
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND,
                         "sample video not found at %s: run `scripts/setup.sh media` (or set "
                         "VIGIL_MEDIA)",
                         path);
            return NULL;
        }
        return strdup(path);
    }
    if (strncasecmp(url, "file://", 7) == 0) return strdup(url + 7);
    return strdup(url);
}

/* ---- FFmpeg plumbing ------------------------------------------------------- */

/* FFmpeg's own messages are noise at info level (every damaged packet of a
 * network stream prints several lines); forward them as vigil debug records. */
static void ffmpeg_log(void *avcl, int level, const char *fmt, va_list vl)
{
    if (level > AV_LOG_WARNING || vigil_log_min_level > VIGIL_LOG_DEBUG) return;
    char line[512];
    int print_prefix = 1;
    char shown[sizeof(line) + 64];
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    vigil_text_redact(line, shown, sizeof(shown)); /* FFmpeg may name the URL */
    if (n) vigil_debug("media", NULL, "ffmpeg: %s", shown);
}

static void ffmpeg_init(void)
{
    av_log_set_level(AV_LOG_WARNING);
    av_log_set_callback(ffmpeg_log);
}

static int cancelled(vigil_source_t *src)
{
    return atomic_load(&src->interrupted) || (src->cancel && src->cancel(src->cancel_opaque));
}

static int interrupt_cb(void *opaque)
{
    vigil_source_t *src = opaque;
    if (cancelled(src)) return 1;
    if (src->deadline_us && vigil_mono_us() > src->deadline_us) {
        src->timed_out = 1;
        return 1;
    }
    return 0;
}

static void arm_deadline(vigil_source_t *src)
{
    src->timed_out = 0;
    src->deadline_us = src->is_file ? 0 : vigil_mono_us() + (int64_t)src->timeout_ms * 1000;
}

/* av_strerror text, lowercased first letter to match vigil's messages. */
static const char *av_err(int ret, char *buf, size_t size)
{
    av_strerror(ret, buf, size);
    if (buf[0] && isupper((unsigned char)buf[0]) && !isupper((unsigned char)buf[1]))
        buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}

/* ---- open / close ---------------------------------------------------------- */

/* RTSP: the session description (SDP) has named the streams once the open
 * returns. A server that offers no stream (a broken SDP) or video only in a
 * codec FFmpeg cannot depacketize is known now; find_stream_info would wait
 * for packets it can never read until the deadline and say "timed out". */
static vigil_err_t described_video(vigil_source_t *src, char *errstr, size_t errstr_size)
{
    unsigned video = 0, known = 0;
    for (unsigned i = 0; i < src->fmt->nb_streams; i++) {
        const AVCodecParameters *par = src->fmt->streams[i]->codecpar;
        if (par->codec_type != AVMEDIA_TYPE_VIDEO) continue;
        video++;
        known += par->codec_id != AV_CODEC_ID_NONE;
    }
    if (src->fmt->nb_streams == 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                            "cannot open %s: its session description (SDP) lists no stream FFmpeg "
                            "can read (a broken SDP?)",
                            src->shown);
    if (video == 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                            "cannot open %s: no video stream in its session description (SDP)",
                            src->shown);
    if (known == 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                            "cannot open %s: its video is in a codec FFmpeg cannot read over RTP "
                            "(accepted: H.264, H.265, MJPEG, MPEG-4 and the others FFmpeg knows)",
                            src->shown);
    return VIGIL_OK;
}

static vigil_err_t open_ffmpeg(vigil_source_t *src, const char *path, size_t slen, char *errstr,
                               size_t errstr_size)
{
    char eb[128], us[32];
    AVDictionary *o = NULL;
    const AVCodec *codec = NULL;
    int ret;

    if (!(src->fmt = avformat_alloc_context())) return VIGIL_ERR_NOMEM;
    src->fmt->interrupt_callback.callback = interrupt_cb;
    src->fmt->interrupt_callback.opaque = src;
    if (src->is_file) {
        /* A local playlist (.m3u8, .ffconcat) must not reach the network or
         * other protocols: a camera added through the API is outside input. */
        av_dict_set(&o, "protocol_whitelist", "file", 0);
    } else {
        snprintf(us, sizeof(us), "%lld", (long long)src->timeout_ms * 1000);
        if (scheme_is(path, slen, "rtsp") || scheme_is(path, slen, "rtsps")) {
            av_dict_set(&o, "rtsp_transport", "tcp", 0); /* UDP loses frames behind NAT */
            av_dict_set(&o, "timeout", us, 0);           /* socket I/O timeout, us */
        } else {
            av_dict_set(&o, "rw_timeout", us, 0);
        }
    }
    /* A path goes to FFmpeg as "file:PATH": FFmpeg would otherwise read a
     * "proto:" prefix in it ("concat:", "subfile:", ...) as a protocol. */
    char *ffurl = src->is_file ? av_asprintf("file:%s", path) : av_strdup(path);
    if (!ffurl) {
        av_dict_free(&o);
        return VIGIL_ERR_NOMEM;
    }
    arm_deadline(src);
    ret = avformat_open_input(&src->fmt, ffurl, NULL, &o); /* frees fmt on failure */
    av_freep(&ffurl);
    av_dict_free(&o);
    if (ret < 0) goto fail;
    if ((scheme_is(path, slen, "rtsp") || scheme_is(path, slen, "rtsps")) &&
        (ret = described_video(src, errstr, errstr_size)) != VIGIL_OK)
        return (vigil_err_t)ret;
    /* A camera's frame rate is not waited for: find_stream_info would read
     * 20 frames to estimate it (4 s of a 5 fps camera, at every reconnect);
     * live frames are sampled on arrival, and the codec's own timing, when
     * it has one, still gives the rate. */
    if (!src->is_file) src->fmt->fps_probe_size = 0;
    arm_deadline(src);
    if ((ret = avformat_find_stream_info(src->fmt, NULL)) < 0) goto fail;
    ret = av_find_best_stream(src->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (ret < 0 || !codec) {
        const char *name = "";
        for (unsigned i = 0; i < src->fmt->nb_streams && !*name; i++)
            if (src->fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO)
                name = avcodec_get_name(src->fmt->streams[i]->codecpar->codec_id);
        if (ret == AVERROR_DECODER_NOT_FOUND)
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                         "cannot open %s: no decoder for its video (%s) in this FFmpeg",
                         src->shown, name);
        else
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED, "cannot open %s: no video stream",
                         src->shown);
        return VIGIL_ERR_UNSUPPORTED;
    }
    src->stream = ret;
    AVStream *st = src->fmt->streams[src->stream];
    src->tb = st->time_base;
    if (!(src->dec = avcodec_alloc_context3(codec))) return VIGIL_ERR_NOMEM;
    if ((ret = avcodec_parameters_to_context(src->dec, st->codecpar)) < 0) goto fail;
    src->dec->thread_count = 1; /* one thread per camera already; keep it predictable */
    if (src->max_pixels > 0) src->dec->max_pixels = src->max_pixels; /* limits.max_frame_pixels */
    if ((ret = avcodec_open2(src->dec, codec, NULL)) < 0) goto fail;
    src->mjpeg = codec->id == AV_CODEC_ID_MJPEG;
    AVRational fr = av_guess_frame_rate(src->fmt, st, NULL);
    src->fps = (fr.num > 0 && fr.den > 0) ? av_q2d(fr) : 0;
    if (src->fps > 1000) src->fps = 0; /* bogus container rates (1000/1 tbn) */
    src->frame_dur_us = src->fps > 0 ? (int64_t)(1e6 / src->fps + 0.5) : 40000;
    src->deadline_us = 0;
    return VIGIL_OK;
fail:
    if (cancelled(src))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CLOSED, "open of %s interrupted",
                            src->shown);
    if (src->timed_out)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "cannot open %s: timed out after %d ms",
                            src->shown, src->timeout_ms);
    char why[700];
    if (ret == AVERROR(EIO) && (scheme_is(path, slen, "http") || scheme_is(path, slen, "https")) &&
        vigil__source_http_why(path, src->timeout_ms, src->cancel, src->cancel_opaque, why,
                               sizeof(why)))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "cannot open %s: %s", src->shown,
                            why);
    return vigil_seterr(errstr, errstr_size,
                        ret == AVERROR(ENOENT)     ? VIGIL_ERR_NOT_FOUND
                        : ret == AVERROR_INVALIDDATA ? VIGIL_ERR_DECODE
                                                     : VIGIL_ERR_IO,
                        "cannot open %s: %s", src->shown, av_err(ret, eb, sizeof(eb)));
}

vigil_source_t *vigil_source_open(const char *url, const vigil_source_opts_t *opts, char *errstr,
                                  size_t errstr_size)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    vigil_source_t *src = NULL;
    char *path = NULL;

    if (!(path = vigil_source_resolve(url, errstr, errstr_size))) goto fail;
    size_t slen = scheme_len(path);
    int network = 0;
    for (size_t i = 0; slen && i < sizeof(network_schemes) / sizeof(network_schemes[0]); i++)
        network |= scheme_is(path, slen, network_schemes[i]);
    if (slen && !network) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                     "unsupported source scheme \"%.*s\" in %.*s:// (accepted: " ACCEPTED_SCHEMES
                     ", a file path or \"sample\")",
                     (int)slen, path, (int)slen, path);
        goto fail;
    }
    pthread_once(&once, ffmpeg_init);
    if (!(src = calloc(1, sizeof(*src)))) {
        char shown[512];
        vigil_url_redact(url, shown, sizeof(shown));
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "out of memory opening %s", shown);
        goto fail;
    }
    vigil_url_redact(path, src->shown, sizeof(src->shown));
    src->is_file = !network;
    src->loop = opts ? opts->loop : 0;
    src->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    src->cancel = opts ? opts->cancel : NULL;
    src->cancel_opaque = opts ? opts->cancel_opaque : NULL;
    src->max_pixels = opts && opts->max_pixels > 0 ? opts->max_pixels : 0;
    src->last_pts_us = -1;
    src->pass_first_pts = AV_NOPTS_VALUE;

    if (strcmp(path, "testsrc") == 0) {
        src->testsrc = 1;
        src->is_file = 0;
        src->fps = TESTSRC_FPS;
        src->frame_dur_us = 1000000 / TESTSRC_FPS;
        src->test_planes[0] = malloc(TESTSRC_W * TESTSRC_H);
        src->test_planes[1] = malloc(TESTSRC_W * TESTSRC_H / 4);
        src->test_planes[2] = malloc(TESTSRC_W * TESTSRC_H / 4);
        if (!src->test_planes[0] || !src->test_planes[1] || !src->test_planes[2]) {
            vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "out of memory opening testsrc");
            goto fail;
        }
        free(path);
        return src;
    }

    if (!(src->pkt = av_packet_alloc()) || !(src->jpeg_pkt = av_packet_alloc()) ||
        !(src->frame = av_frame_alloc())) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "out of memory opening %s", src->shown);
        goto fail;
    }
    vigil_err_t err = open_ffmpeg(src, path, slen, errstr, errstr_size);
    if (err == VIGIL_ERR_NOMEM)
        vigil_seterr(errstr, errstr_size, err, "out of memory opening %s", src->shown);
    if (err != VIGIL_OK) goto fail;
    free(path);
    return src;
fail:
    vigil_source_close(src);
    free(path);
    return NULL;
}

void vigil_source_close(vigil_source_t *src)
{
    if (!src) return;
    avcodec_free_context(&src->dec);
    avformat_close_input(&src->fmt);
    sws_freeContext(src->sws);
    av_packet_free(&src->pkt);
    av_packet_free(&src->jpeg_pkt);
    av_frame_free(&src->frame);
    av_frame_free(&src->yuv);
    for (int i = 0; i < 3; i++) free(src->test_planes[i]);
    free(src);
}

void vigil_source_interrupt(vigil_source_t *src)
{
    if (src) atomic_store(&src->interrupted, 1);
}

double vigil_source_fps(const vigil_source_t *src)
{
    return src ? src->fps : 0;
}

const char *vigil_source_codec(const vigil_source_t *src)
{
    const AVCodecDescriptor *d =
        src && src->dec ? avcodec_descriptor_get(src->dec->codec_id) : NULL;
    return d && d->name ? d->name : "";
}

int vigil_source_is_file(const vigil_source_t *src)
{
    return src ? src->is_file : 0;
}

/* ---- reading ----------------------------------------------------------------- */

/* Back to the start of the file for the next pass; pts continue after the
 * last frame of this pass. */
static vigil_err_t restart_pass(vigil_source_t *src, char *errstr, size_t errstr_size)
{
    char eb[128];
    int ret = av_seek_frame(src->fmt, src->stream, 0, AVSEEK_FLAG_BACKWARD);
    if (ret < 0) ret = avformat_seek_file(src->fmt, -1, INT64_MIN, 0, 0, 0);
    if (ret < 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CLOSED, "cannot loop %s: %s",
                            src->shown, av_err(ret, eb, sizeof(eb)));
    avcodec_flush_buffers(src->dec);
    src->draining = 0;
    src->pass_first_pts = AV_NOPTS_VALUE;
    src->pass_frames = 0;
    src->loop_offset_us = src->last_pts_us + src->frame_dur_us;
    return VIGIL_OK;
}

static vigil_err_t deliver(vigil_source_t *src, vigil_source_frame_t *out, char *errstr,
                           size_t errstr_size)
{
    AVFrame *f = src->frame;
    int64_t pts = f->best_effort_timestamp, pts_us;
    if (pts == AV_NOPTS_VALUE) {
        pts_us = src->last_pts_us < 0 ? src->loop_offset_us : src->last_pts_us + src->frame_dur_us;
    } else {
        if (src->pass_first_pts == AV_NOPTS_VALUE) src->pass_first_pts = pts;
        pts_us = av_rescale_q(pts - src->pass_first_pts, src->tb, AV_TIME_BASE_Q) +
                 src->loop_offset_us;
    }
    /* Broken streams can step back; consumers rely on pts only growing. */
    if (src->last_pts_us >= 0 && pts_us <= src->last_pts_us) pts_us = src->last_pts_us + 1;
    src->last_pts_us = pts_us;
    src->pass_frames++;

    memset(out, 0, sizeof(*out));
    out->width = f->width;
    out->height = f->height;
    out->pts_us = pts_us;
    if (f->format == AV_PIX_FMT_YUV420P || f->format == AV_PIX_FMT_YUVJ420P) {
        for (int i = 0; i < 3; i++) {
            out->planes[i] = f->data[i];
            out->strides[i] = f->linesize[i];
        }
    } else {
        AVFrame *y = src->yuv;
        if (!y || y->width != f->width || y->height != f->height) {
            av_frame_free(&src->yuv);
            if (!(y = src->yuv = av_frame_alloc()))
                return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "out of memory");
            y->format = AV_PIX_FMT_YUV420P;
            y->width = f->width;
            y->height = f->height;
            if (av_frame_get_buffer(y, 0) < 0) {
                av_frame_free(&src->yuv);
                return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "out of memory");
            }
        }
        src->sws = sws_getCachedContext(src->sws, f->width, f->height, f->format, f->width,
                                        f->height, AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL,
                                        NULL);
        if (!src->sws)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                                "%s: cannot convert pixel format %s", src->shown,
                                av_get_pix_fmt_name(f->format));
        sws_scale(src->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, y->data,
                  y->linesize);
        for (int i = 0; i < 3; i++) {
            out->planes[i] = y->data[i];
            out->strides[i] = y->linesize[i];
        }
    }
    if (src->mjpeg && src->jpeg_pkt->size > 2 && src->jpeg_pkt->data[0] == 0xff &&
        src->jpeg_pkt->data[1] == 0xd8) {
        out->jpeg = src->jpeg_pkt->data;
        out->jpeg_len = (size_t)src->jpeg_pkt->size;
    }
    return VIGIL_OK;
}

/* A synthetic live source: a gradient with a square crossing it, paced at
 * TESTSRC_FPS against the monotonic clock. The wait polls the cancel flags
 * every 10 ms so an interrupt is prompt. */
static vigil_err_t testsrc_read(vigil_source_t *src, vigil_source_frame_t *out, char *errstr,
                                size_t errstr_size)
{
    if (src->test_n == 0) src->test_t0 = vigil_mono_us();
    int64_t due = src->test_t0 + src->test_n * src->frame_dur_us;
    for (;;) {
        if (cancelled(src))
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CLOSED, "testsrc interrupted");
        int64_t left = due - vigil_mono_us();
        if (left <= 0) break;
        vigil_sleep_us(left < 10000 ? left : 10000);
    }
    int64_t n = src->test_n++;
    int bx = (int)((n * 8) % (TESTSRC_W - 64)), by = TESTSRC_H / 2 - 32;
    for (int y = 0; y < TESTSRC_H; y++) {
        uint8_t *row = src->test_planes[0] + (size_t)y * TESTSRC_W;
        for (int x = 0; x < TESTSRC_W; x++)
            row[x] = (x >= bx && x < bx + 64 && y >= by && y < by + 64)
                         ? 235
                         : (uint8_t)(16 + (x + y) * 100 / (TESTSRC_W + TESTSRC_H));
    }
    for (int y = 0; y < TESTSRC_H / 2; y++)
        for (int x = 0; x < TESTSRC_W / 2; x++) {
            int in = x * 2 >= bx && x * 2 < bx + 64 && y * 2 >= by && y * 2 < by + 64;
            src->test_planes[1][y * (TESTSRC_W / 2) + x] = in ? 90 : 128;
            src->test_planes[2][y * (TESTSRC_W / 2) + x] = in ? 240 : 128;
        }
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < 3; i++) {
        out->planes[i] = src->test_planes[i];
        out->strides[i] = i ? TESTSRC_W / 2 : TESTSRC_W;
    }
    out->width = TESTSRC_W;
    out->height = TESTSRC_H;
    out->pts_us = n * src->frame_dur_us;
    return VIGIL_OK;
}

vigil_err_t vigil_source_read(vigil_source_t *src, vigil_source_frame_t *frame, char *errstr,
                              size_t errstr_size)
{
    char eb[128];
    int ret;
    if (!src || !frame)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "source read: no source");
    if (src->testsrc) return testsrc_read(src, frame, errstr, errstr_size);
    for (;;) {
        if (cancelled(src))
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CLOSED, "read of %s interrupted",
                                src->shown);
        ret = avcodec_receive_frame(src->dec, src->frame);
        if (ret == 0) return deliver(src, frame, errstr, errstr_size);
        if (ret == AVERROR_EOF) {
            if (src->is_file && src->loop && src->pass_frames > 0) {
                vigil_err_t err = restart_pass(src, errstr, errstr_size);
                if (err != VIGIL_OK) return err;
                continue;
            }
            if (!src->is_file) /* a camera does not end: its server or the network did */
                return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CLOSED,
                                    "%s: the stream ended (connection closed by the server)",
                                    src->shown);
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CLOSED, "end of %s", src->shown);
        }
        if (ret != AVERROR(EAGAIN))
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "cannot decode %s: %s",
                                src->shown, av_err(ret, eb, sizeof(eb)));

        /* The decoder wants input. */
        av_packet_unref(src->jpeg_pkt);
        arm_deadline(src);
        ret = av_read_frame(src->fmt, src->pkt);
        src->deadline_us = 0;
        if (ret < 0) {
            if (cancelled(src)) continue; /* reported at the top of the loop */
            if (ret == AVERROR_EOF || src->is_file) {
                /* A file that stops parsing (truncated, damaged index) just
                 * ends here: drain what the decoder holds. */
                avcodec_send_packet(src->dec, NULL);
                src->draining = 1;
                continue;
            }
            if (src->timed_out)
                return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO,
                                    "read from %s timed out after %d ms", src->shown,
                                    src->timeout_ms);
            if (ret == AVERROR(EAGAIN)) {
                vigil_sleep_us(5000);
                continue;
            }
            if (++src->read_errors >= MAX_READ_ERRORS)
                return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "read from %s: %s",
                                    src->shown, av_err(ret, eb, sizeof(eb)));
            continue;
        }
        src->read_errors = 0;
        if (src->pkt->stream_index != src->stream) {
            av_packet_unref(src->pkt);
            continue;
        }
        if (src->mjpeg) av_packet_ref(src->jpeg_pkt, src->pkt);
        ret = avcodec_send_packet(src->dec, src->pkt);
        av_packet_unref(src->pkt);
        if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "cannot decode %s: %s",
                                src->shown, av_err(ret, eb, sizeof(eb)));
    }
}
