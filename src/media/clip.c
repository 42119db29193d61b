/* Event clips: stored JPEG frames -> H.264 in MP4 (see vigil/clip.h).
 *
 * Main ideas:
 *  - One pass, pulling frames from the caller's source: decode (TurboJPEG, to
 *    RGB), scale to the clip's size (swscale, to yuv420p), encode, mux. The
 *    encoder and the muxer are opened on the first decodable frame, whose
 *    size (rounded down to even) becomes the clip's.
 *  - Variable frame rate: pts are capture times in milliseconds from the
 *    first frame. MP4 derives each sample's duration from the next sample's
 *    time, except the last one, which takes the packet's duration. So every
 *    packet gets duration = next frame's pts - its pts, looked up in the
 *    (sorted) table of pts sent so far; to make sure the next pts is known
 *    when a packet comes out, a picture is sent to the encoder only once its
 *    successor has been decoded (two pictures alternate). The last frame
 *    lasts the mean frame interval.
 *  - Atomic output: written to PATH.tmp-XXXXXX beside PATH, renamed at the
 *    end. The mp4 muxer's faststart pass reopens the file by name to move
 *    moov in front of mdat, which is why FFmpeg writes to a path rather
 *    than to a descriptor we hold.
 *
 * Thread: any; no state is shared between calls except FFmpeg's log hook,
 * set once. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "vigil/clip.h"
#include "vigil/image.h"
#include "vigil/log.h"

#define CLIP_DEFAULT_FPS 10.0
#define CLIP_DEFAULT_CRF 23
#define CLIP_DEFAULT_THREADS 2
#define CLIP_GOP_SECONDS 2.0

/* Tried in order; the first that opens encodes the clip. */
static const char *const clip_encoders[] = {"libx264", "libopenh264", "mpeg4"};

typedef struct clip {
    const char *path;
    char tmp[4096];
    char url[4096 + 8]; /* "file:" + tmp: a ':' in the data dir is not a protocol */
    vigil_clip_conf_t conf;

    vigil_jpeg_t *jpeg;
    vigil_image_t rgb;
    struct SwsContext *sws;

    AVFormatContext *oc;
    AVStream *st;
    AVCodecContext *enc;
    AVFrame *pic[2];
    AVFrame *pending; /* decoded, waiting for its successor's time */
    AVPacket *pkt;
    int width, height;

    int64_t first_us;
    int64_t *pts; /* ms from the first frame, of every frame sent or pending */
    size_t npts, cap;
    int64_t given, skipped;
    char decode_error[256];
} clip_t;

/* ---- FFmpeg plumbing ------------------------------------------------------- */

/* As in source.c: FFmpeg's messages (libx264 prints its statistics at info
 * level when it closes) become vigil debug records. */
static void ffmpeg_log(void *avcl, int level, const char *fmt, va_list vl)
{
    if (level > AV_LOG_WARNING || vigil_log_min_level > VIGIL_LOG_DEBUG) return;
    char line[512];
    int print_prefix = 1;
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    if (n) vigil_debug("media", NULL, "ffmpeg: %s", line);
}

static void ffmpeg_init(void)
{
    av_log_set_level(AV_LOG_WARNING);
    av_log_set_callback(ffmpeg_log);
}

static const char *av_err(int ret, char *buf, size_t size)
{
    av_strerror(ret, buf, size);
    if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z')) buf[0] += 'a' - 'A';
    return buf;
}

void vigil_clip_conf_init(vigil_clip_conf_t *conf)
{
    conf->fps = CLIP_DEFAULT_FPS;
    conf->max_frames = VIGIL_CLIP_MAX_FRAMES;
    conf->crf = CLIP_DEFAULT_CRF;
    conf->threads = CLIP_DEFAULT_THREADS;
}

/* ---- timestamps -------------------------------------------------------------- */

static int pts_push(clip_t *c, int64_t pts)
{
    if (c->npts == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        int64_t *p = realloc(c->pts, cap * sizeof(*p));
        if (!p) return -1;
        c->pts = p;
        c->cap = cap;
    }
    c->pts[c->npts++] = pts;
    return 0;
}

/* The mean frame interval (ms, >= 1), the last frame's duration. */
static int64_t last_duration(const clip_t *c)
{
    int64_t d;

    if (c->npts > 1)
        d = (c->pts[c->npts - 1] - c->pts[0]) / (int64_t)(c->npts - 1);
    else
        d = (int64_t)(1000.0 / c->conf.fps + 0.5);
    return d > 0 ? d : 1;
}

/* Duration of the frame with this pts: until the next frame's pts. */
static int64_t duration_of(const clip_t *c, int64_t pts)
{
    size_t lo = 0, hi = c->npts;

    while (lo < hi) { /* first index with pts[i] >= pts */
        size_t mid = lo + (hi - lo) / 2;
        if (c->pts[mid] < pts)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo + 1 < c->npts && c->pts[lo] == pts) return c->pts[lo + 1] - pts;
    return last_duration(c);
}

/* ---- encoder and muxer ----------------------------------------------------- */

static vigil_err_t open_output(clip_t *c, int src_w, int src_h, char *errstr,
                               size_t errstr_size)
{
    static atomic_int warned;
    char eb[128], why[160] = "not built into this FFmpeg";
    const AVCodec *codec = NULL;
    AVDictionary *opts = NULL;
    int ret;

    c->width = src_w >= 2 ? src_w & ~1 : 2;
    c->height = src_h >= 2 ? src_h & ~1 : 2;
    ret = avformat_alloc_output_context2(&c->oc, NULL, "mp4", c->url);
    if (ret < 0 || !c->oc)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                            "clip %s: no mp4 muxer: %s", c->path, av_err(ret, eb, sizeof(eb)));

    for (size_t i = 0; i < sizeof(clip_encoders) / sizeof(clip_encoders[0]); i++) {
        const char *name = clip_encoders[i];
        AVCodecContext *enc;

        codec = avcodec_find_encoder_by_name(name);
        if (!codec) continue;
        if (!(enc = avcodec_alloc_context3(codec))) return VIGIL_ERR_NOMEM;
        enc->width = c->width;
        enc->height = c->height;
        enc->pix_fmt = AV_PIX_FMT_YUV420P;
        enc->time_base = (AVRational){1, 1000};
        enc->framerate = av_d2q(c->conf.fps, 1000);
        enc->gop_size = (int)(c->conf.fps * CLIP_GOP_SECONDS + 0.5);
        if (enc->gop_size < 1) enc->gop_size = 1;
        enc->thread_count = c->conf.threads;
        /* JPEG's BT.601 matrix, converted to limited range by swscale. */
        enc->color_range = AVCOL_RANGE_MPEG;
        enc->colorspace = AVCOL_SPC_SMPTE170M;
        enc->color_primaries = AVCOL_PRI_SMPTE170M;
        enc->color_trc = AVCOL_TRC_SMPTE170M;
        if (c->oc->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
        if (strcmp(name, "libx264") == 0) {
            /* Slice threads, not frame threads. With frame threads x264
             * (0.164) runs its lookahead in a thread of its own that drops
             * its reference to a frame (x264_frame_push_unused: count--,
             * and a push on the free list) with no lock, while the calling
             * thread drops its own and takes frames from the same list. A
             * lost update leaves a frame (16 KB + its planes, 1.7 MB at
             * 768x576) that is on no list when the encoder closes: LSan's
             * leak at exit, now and then. Sliced threading has no
             * lookahead thread (x264 does the lookahead in the calling
             * thread), and TSan, with an instrumented libx264, finds no
             * race on x264's frames there; with frame threads it finds
             * this one and many others. */
            enc->thread_type = FF_THREAD_SLICE;
            av_dict_set(&opts, "preset", "veryfast", 0);
            av_dict_set_int(&opts, "crf", c->conf.crf, 0);
        } else if (strcmp(name, "mpeg4") == 0) {
            enc->flags |= AV_CODEC_FLAG_QSCALE;
            enc->global_quality = FF_QP2LAMBDA * 4;
        } else {
            enc->bit_rate = (int64_t)c->width * c->height * 2; /* ~2 bits per pixel per second */
        }
        ret = avcodec_open2(enc, codec, &opts);
        av_dict_free(&opts);
        if (ret >= 0) {
            c->enc = enc;
            break;
        }
        snprintf(why, sizeof(why), "%s: %s", name, av_err(ret, eb, sizeof(eb)));
        avcodec_free_context(&enc);
    }
    if (!c->enc)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_UNSUPPORTED,
                            "clip %s: no H.264 or MPEG-4 encoder opens (last: %s)", c->path, why);
    if (strcmp(c->enc->codec->name, "libx264") != 0 && !atomic_exchange(&warned, 1))
        vigil_warn("media", NULL, "clip: libx264 is not available in this FFmpeg; clips are "
                   "encoded with %s",
                   c->enc->codec->name);

    if (!(c->st = avformat_new_stream(c->oc, NULL))) return VIGIL_ERR_NOMEM;
    if ((ret = avcodec_parameters_from_context(c->st->codecpar, c->enc)) < 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "clip %s: %s", c->path,
                            av_err(ret, eb, sizeof(eb)));
    c->st->time_base = c->enc->time_base;
    if ((ret = avio_open(&c->oc->pb, c->url, AVIO_FLAG_WRITE)) < 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "clip %s: cannot open %s: %s",
                            c->path, c->tmp, av_err(ret, eb, sizeof(eb)));
    av_dict_set(&opts, "movflags", "+faststart", 0);
    ret = avformat_write_header(c->oc, &opts);
    av_dict_free(&opts);
    if (ret < 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO,
                            "clip %s: cannot write the mp4 header: %s", c->path,
                            av_err(ret, eb, sizeof(eb)));

    for (int i = 0; i < 2; i++) {
        AVFrame *f = c->pic[i] = av_frame_alloc();
        if (!f) return VIGIL_ERR_NOMEM;
        f->format = AV_PIX_FMT_YUV420P;
        f->width = c->width;
        f->height = c->height;
        if (av_frame_get_buffer(f, 0) < 0) return VIGIL_ERR_NOMEM;
    }
    if (!(c->pkt = av_packet_alloc())) return VIGIL_ERR_NOMEM;
    return VIGIL_OK;
}

/* Sends pic (NULL: flush) and muxes whatever packets come out. */
static vigil_err_t encode(clip_t *c, AVFrame *pic, char *errstr, size_t errstr_size)
{
    char eb[128];
    int ret = avcodec_send_frame(c->enc, pic);

    if (ret < 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "clip %s: %s: %s", c->path,
                            c->enc->codec->name, av_err(ret, eb, sizeof(eb)));
    for (;;) {
        ret = avcodec_receive_packet(c->enc, c->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return VIGIL_OK;
        if (ret < 0)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "clip %s: %s: %s",
                                c->path, c->enc->codec->name, av_err(ret, eb, sizeof(eb)));
        c->pkt->duration = duration_of(c, c->pkt->pts);
        c->pkt->stream_index = c->st->index;
        av_packet_rescale_ts(c->pkt, c->enc->time_base, c->st->time_base);
        ret = av_interleaved_write_frame(c->oc, c->pkt); /* takes the packet's data */
        if (ret < 0)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "clip %s: cannot write: %s",
                                c->path, av_err(ret, eb, sizeof(eb)));
    }
}

/* ---- one frame ---------------------------------------------------------------- */

/* Decodes, checks the time, scales into the free picture, and sends the
 * pending one (whose successor this is). A frame that cannot be decoded or
 * is out of order is skipped, not an error. */
static vigil_err_t add_frame(clip_t *c, const vigil_clip_frame_t *fr, char *errstr,
                             size_t errstr_size)
{
    vigil_err_t err;
    AVFrame *pic;
    int64_t t;

    if (vigil_jpeg_decode(c->jpeg, fr->jpeg, fr->len, VIGIL_PIX_RGB24, 1, &c->rgb,
                          c->decode_error, sizeof(c->decode_error)) != VIGIL_OK) {
        c->skipped++;
        return VIGIL_OK;
    }
    if (!c->enc) {
        if ((err = open_output(c, c->rgb.width, c->rgb.height, errstr, errstr_size))) return err;
        c->first_us = fr->time_us;
    }
    if (fr->time_us < c->first_us) {
        c->skipped++;
        return VIGIL_OK;
    }
    t = (fr->time_us - c->first_us) / 1000;
    if (c->npts && t <= c->pts[c->npts - 1]) {
        c->skipped++;
        return VIGIL_OK;
    }

    pic = c->pic[0] == c->pending ? c->pic[1] : c->pic[0];
    if (av_frame_make_writable(pic) < 0) return VIGIL_ERR_NOMEM; /* the encoder may hold it */
    c->sws = sws_getCachedContext(c->sws, c->rgb.width, c->rgb.height, AV_PIX_FMT_RGB24,
                                  c->width, c->height, AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL,
                                  NULL, NULL);
    if (!c->sws)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "clip %s: cannot scale %dx%d to %dx%d", c->path, c->rgb.width,
                            c->rgb.height, c->width, c->height);
    const uint8_t *src[1] = {c->rgb.data};
    const int src_stride[1] = {c->rgb.stride};
    sws_scale(c->sws, src, src_stride, 0, c->rgb.height, pic->data, pic->linesize);
    pic->pts = t;
    if (pts_push(c, t)) return VIGIL_ERR_NOMEM;
    if (c->pending && (err = encode(c, c->pending, errstr, errstr_size))) return err;
    c->pending = pic;
    return VIGIL_OK;
}

static void clip_release(clip_t *c)
{
    if (c->oc) {
        if (c->oc->pb) avio_closep(&c->oc->pb);
        avformat_free_context(c->oc);
    }
    avcodec_free_context(&c->enc);
    av_frame_free(&c->pic[0]);
    av_frame_free(&c->pic[1]);
    av_packet_free(&c->pkt);
    sws_freeContext(c->sws);
    vigil_image_release(&c->rgb);
    vigil_jpeg_free(c->jpeg);
    free(c->pts);
}

vigil_err_t vigil_clip_write(const char *path, const vigil_clip_conf_t *conf,
                             vigil_clip_source_fn source, void *opaque, vigil_clip_info_t *info,
                             char *errstr, size_t errstr_size)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    clip_t c = {.path = path};
    vigil_clip_frame_t fr;
    vigil_err_t err = VIGIL_OK;
    char eb[128];
    int fd, ret, from_source = 0;

    if (!path || !*path || !source)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "clip: no path or source");
    if (conf)
        c.conf = *conf;
    else
        vigil_clip_conf_init(&c.conf);
    if (c.conf.fps == 0) c.conf.fps = CLIP_DEFAULT_FPS;
    if (c.conf.max_frames <= 0) c.conf.max_frames = VIGIL_CLIP_MAX_FRAMES;
    if (c.conf.threads <= 0) c.conf.threads = CLIP_DEFAULT_THREADS;
    if (!(c.conf.fps >= 0.1 && c.conf.fps <= 240))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "clip %s: fps %g (accepted: 0.1..240)", path, c.conf.fps);
    if (c.conf.crf < 0 || c.conf.crf > 51)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "clip %s: crf %d (accepted: 0..51)", path, c.conf.crf);
    if ((size_t)snprintf(c.tmp, sizeof(c.tmp), "%s.tmp-XXXXXX", path) >= sizeof(c.tmp))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "clip %s: path too long",
                            path);
    pthread_once(&once, ffmpeg_init);

    if ((fd = mkstemp(c.tmp)) < 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO,
                            "clip %s: cannot create a temporary file: %s", path,
                            strerror(errno));
    fchmod(fd, 0644); /* mkstemp's 0600 would hide the clip from other readers */
    close(fd);
    snprintf(c.url, sizeof(c.url), "file:%s", c.tmp);
    if (!(c.jpeg = vigil_jpeg_new())) {
        err = VIGIL_ERR_NOMEM;
        goto fail;
    }

    while (c.npts < (size_t)c.conf.max_frames) {
        int r = source(opaque, &fr, errstr, errstr_size);
        if (r < 0) {
            err = (vigil_err_t)r;
            from_source = 1;
            goto fail;
        }
        if (r == 0) break;
        c.given++;
        if ((err = add_frame(&c, &fr, errstr, errstr_size))) goto fail;
    }
    if (!c.given) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOT_FOUND, "clip %s: no frames", path);
        goto fail;
    }
    if (!c.npts) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                           "clip %s: none of the %lld frames could be decoded (last: %s)", path,
                           (long long)c.given,
                           c.decode_error[0] ? c.decode_error : "out of time order");
        goto fail;
    }
    if ((err = encode(&c, c.pending, errstr, errstr_size))) goto fail;
    if ((err = encode(&c, NULL, errstr, errstr_size))) goto fail;
    if ((ret = av_write_trailer(c.oc)) < 0) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO,
                           "clip %s: cannot finish the mp4: %s", path, av_err(ret, eb, sizeof(eb)));
        goto fail;
    }
    if ((ret = avio_closep(&c.oc->pb)) < 0) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "clip %s: cannot write: %s", path,
                           av_err(ret, eb, sizeof(eb)));
        goto fail;
    }
    if (rename(c.tmp, path) != 0) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "clip %s: cannot rename %s: %s",
                           path, c.tmp, strerror(errno));
        goto fail;
    }
    if (info) {
        memset(info, 0, sizeof(*info));
        info->frames = (int64_t)c.npts;
        info->skipped = c.skipped;
        info->duration_us = (c.pts[c.npts - 1] - c.pts[0] + last_duration(&c)) * 1000;
        info->width = c.width;
        info->height = c.height;
        snprintf(info->encoder, sizeof(info->encoder), "%s", c.enc->codec->name);
    }
    clip_release(&c);
    return VIGIL_OK;
fail:
    if (err == VIGIL_ERR_NOMEM && !from_source) /* our only code without a message */
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "clip %s: out of memory", path);
    clip_release(&c);
    unlink(c.tmp);
    return err;
}
