/* `vigil analytics replay`: one camera's analyzer run offline over
 * detections read as JSON lines, for measuring tracking and counting
 * quality (tests/e2e/test_analytics_replay.py, bench/analytics.py) and for
 * trying zones and lines on recorded detections before deploying them.
 *
 * Input, one frame per line (frame_id optional):
 *   {"sequence":N,"time_us":T,"frame_id":F,"width":W,"height":H,
 *    "detections":[{"box":[x1,y1,x2,y2],"score":S,"label":"person"},...]}
 * Output, JSON lines:
 *   {"type":"frame","sequence":N,"tracks":[track id or 0 per input detection]}
 *   {"type":"event",...every field of vigil_analytics_event_t...} after the
 *     frame that reported it (an open event is reported again each time it
 *     changes, with the same key)
 *   {"type":"summary","frames":..,"bad_lines":..,"rejected_detections":..,
 *    "tracks":..,"events":{KIND:n},"lines":{ID:{LABEL:{"in","out"}}},
 *    "zones":{ID:{LABEL:{"entered","left","loiter","peak"}}}} at the end.
 * The summary counts each event once (by its key); line in/out, zone
 * entered and peak come from the analyzer's per-minute count buckets (what
 * the warehouse and /api/v1/counts show), left and loiter from the events.
 *
 * The main idea is that nothing here decides anything: the analyzer is the
 * one the stage runs, with the camera's rules and the config's analytics.*
 * settings, and it depends only on its input (never on the wall clock), so a
 * replay reproduces what the stage did.
 *
 * A bad line (not JSON, a missing or mistyped field, a line over
 * REPLAY_LINE_MAX bytes, a sequence not after the previous frame's) is
 * reported on stderr with its line number, counted and skipped. Exit codes:
 * 0 when the input was read to its end, 2 for a bad configuration or
 * usage, 1 when the input or output fails.
 *
 * Public headers only (vigil/analytics.h, vigil/config.h) plus jansson. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli.h"
#include "vigil/analytics.h"
#include "vigil/config.h"

#define REPLAY_LINE_MAX (1u << 20) /* bytes of one input line, newline excluded */
#define REPLAY_ERRORS_SHOWN 100    /* bad lines reported one by one; the rest are counted */
#define REPLAY_DIM_MAX 65536

#define ME "vigil analytics replay"

typedef struct replay {
    vigil_analyzer_t *analyzer;
    const vigil_camera_conf_t *camera;
    FILE *out;
    int timing; /* --timing: each frame record carries the analyzer's time */
    /* per frame, reused */
    vigil_analytics_det_t *dets;
    size_t capdets;
    /* totals */
    uint64_t frames, bad_lines, rejected;
    json_t *event_keys; /* "kind/track/zone/line/start" -> true: each event counted once */
    json_t *event_kinds; /* kind name -> count */
    json_t *left, *loiter; /* "zone\x1flabel" -> count */
    json_t *buckets; /* "L|Z \x1f id \x1f label \x1f minute" -> [a, b] (max seen) */
} replay_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vigil analytics replay --config FILE --camera ID [--input FILE|-] "
            "[--output FILE|-] [--timing]\n"
            "runs one camera's analyzer (its zones and lines, the analytics.* tracker settings)\n"
            "over detections read as JSON lines:\n"
            "  {\"sequence\":N,\"time_us\":T,\"frame_id\":F,\"width\":W,\"height\":H,\n"
            "   \"detections\":[{\"box\":[x1,y1,x2,y2],\"score\":S,\"label\":L}]}\n"
            "and writes JSON lines: {\"type\":\"frame\",\"sequence\":N,\"tracks\":[id or 0 per "
            "detection]},\n"
            "{\"type\":\"event\",...} per event report, and a final {\"type\":\"summary\",...}.\n"
            "Bad input lines are reported with their line number and skipped.\n"
            "--timing adds \"analyzer_ms\" (the analyzer's time) to each frame record.\n"
            "exit: 0 input read to the end, 1 I/O error, 2 bad configuration or usage\n");
}

/* ---- input ------------------------------------------------------------------ */

/* Reads one line into buf (NUL-terminated, newline dropped). Returns 1 for a
 * line, 0 at the end of the input, -1 on a read error. A line longer than
 * REPLAY_LINE_MAX is consumed to its end and flagged in *too_long. */
static int read_line(FILE *in, char *buf, size_t *len, int *too_long)
{
    size_t n = 0;
    int c;
    *too_long = 0;
    while ((c = getc(in)) != EOF) {
        if (c == '\n') break;
        if (n < REPLAY_LINE_MAX)
            buf[n++] = (char)c;
        else
            *too_long = 1;
    }
    if (c == EOF) {
        if (ferror(in)) return -1;
        if (n == 0 && !*too_long) return 0;
    }
    buf[n] = '\0';
    *len = n;
    return 1;
}

static void bad_line(replay_t *r, uint64_t lineno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void bad_line(replay_t *r, uint64_t lineno, const char *fmt, ...)
{
    r->bad_lines++;
    if (r->bad_lines > REPLAY_ERRORS_SHOWN) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, ME ": line %" PRIu64 ": ", lineno);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (r->bad_lines == REPLAY_ERRORS_SHOWN)
        fprintf(stderr, ME ": further bad lines are counted, not shown\n");
}

static int get_int(json_t *o, const char *key, int required, int64_t min, int64_t max,
                   int64_t *v, char *why, size_t why_size)
{
    json_t *j = json_object_get(o, key);
    if (!j) {
        if (!required) return 0;
        snprintf(why, why_size, "\"%s\": missing", key);
        return -1;
    }
    if (!json_is_integer(j)) {
        snprintf(why, why_size, "\"%s\": not an integer", key);
        return -1;
    }
    json_int_t x = json_integer_value(j);
    if (x < min || x > max) {
        snprintf(why, why_size, "\"%s\": %" JSON_INTEGER_FORMAT " out of range %" PRId64
                 "..%" PRId64, key, x, min, max);
        return -1;
    }
    *v = x;
    return 0;
}

/* Parses one input line into frame and r->dets (labels borrowed from root).
 * Returns 0, or -1 with why filled. */
static int parse_frame(replay_t *r, json_t *root, vigil_analytics_frame_t *frame, size_t *ndets,
                       char *why, size_t why_size)
{
    if (!json_is_object(root)) {
        snprintf(why, why_size, "not a JSON object");
        return -1;
    }
    int64_t seq = 0, t = 0, fid = 0, w = 0, h = 0;
    if (get_int(root, "sequence", 1, 0, INT64_MAX, &seq, why, why_size) ||
        get_int(root, "time_us", 1, INT64_MIN, INT64_MAX, &t, why, why_size) ||
        get_int(root, "frame_id", 0, INT64_MIN, INT64_MAX, &fid, why, why_size) ||
        get_int(root, "width", 1, 1, REPLAY_DIM_MAX, &w, why, why_size) ||
        get_int(root, "height", 1, 1, REPLAY_DIM_MAX, &h, why, why_size))
        return -1;
    json_t *dets = json_object_get(root, "detections");
    if (!json_is_array(dets)) {
        snprintf(why, why_size, "\"detections\": %s", dets ? "not an array" : "missing");
        return -1;
    }
    size_t n = json_array_size(dets);
    if (n > r->capdets) {
        vigil_analytics_det_t *d = realloc(r->dets, n * sizeof *d);
        if (!d) {
            snprintf(why, why_size, "out of memory for %zu detections", n);
            return -1;
        }
        r->dets = d;
        r->capdets = n;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_array_get(dets, i);
        json_t *box = json_object_get(d, "box");
        json_t *score = json_object_get(d, "score");
        json_t *label = json_object_get(d, "label");
        if (!json_is_object(d)) {
            snprintf(why, why_size, "detections[%zu]: not an object", i);
            return -1;
        }
        if (!json_is_array(box) || json_array_size(box) != 4) {
            snprintf(why, why_size, "detections[%zu].box: %s", i,
                     box ? "not an array of 4 numbers" : "missing");
            return -1;
        }
        float v[4];
        for (size_t k = 0; k < 4; k++) {
            json_t *x = json_array_get(box, k);
            if (!json_is_number(x)) {
                snprintf(why, why_size, "detections[%zu].box[%zu]: not a number", i, k);
                return -1;
            }
            v[k] = (float)json_number_value(x);
        }
        if (!json_is_number(score)) {
            snprintf(why, why_size, "detections[%zu].score: %s", i,
                     score ? "not a number" : "missing");
            return -1;
        }
        if (!json_is_string(label)) {
            snprintf(why, why_size, "detections[%zu].label: %s", i,
                     label ? "not a string" : "missing");
            return -1;
        }
        if (json_string_length(label) >= VIGIL_LABEL_MAX ||
            strlen(json_string_value(label)) != json_string_length(label)) {
            snprintf(why, why_size, "detections[%zu].label: longer than %d bytes or has a NUL",
                     i, VIGIL_LABEL_MAX - 1);
            return -1;
        }
        r->dets[i] = (vigil_analytics_det_t){.x1 = v[0], .y1 = v[1], .x2 = v[2], .y2 = v[3],
                                             .score = (float)json_number_value(score),
                                             .label = json_string_value(label)};
    }
    *frame = (vigil_analytics_frame_t){.sequence = (uint64_t)seq, .time_us = t, .frame_id = fid,
                                       .width = (int)w, .height = (int)h};
    *ndets = n;
    return 0;
}

/* ---- output ----------------------------------------------------------------- */

static int emit(replay_t *r, json_t *j)
{
    if (!j) {
        errno = ENOMEM; /* json_pack fails only for memory here: every string is valid UTF-8 */
        return -1;
    }
    int rc = json_dumpf(j, r->out, JSON_COMPACT | JSON_REAL_PRECISION(7));
    json_decref(j);
    if (rc != 0 || fputc('\n', r->out) == EOF) return -1;
    return 0;
}

static json_t *event_json(const vigil_analytics_event_t *e)
{
    const char *kind = vigil_event_kind_name(e->kind);
    json_t *j = json_pack("{s:s,s:s?,s:s,s:s,s:I,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:b,s:I,s:I,s:f,"
                          "s:f,s:f,s:f,s:f,s:I}",
                          "type", "event", "kind", kind, "camera_id", e->camera_id, "label",
                          e->label, "track_id", (json_int_t)e->track_id, "zone", e->zone, "line",
                          e->line, "direction", vigil_direction_name(e->direction),
                          "start_sequence", (json_int_t)e->start_sequence, "start_us",
                          (json_int_t)e->start_us, "end_us", (json_int_t)e->end_us,
                          "end_sequence", (json_int_t)e->end_sequence, "open", e->open,
                          "snapshot_frame_id", (json_int_t)e->snapshot_frame_id,
                          "snapshot_sequence", (json_int_t)e->snapshot_sequence, "peak_score",
                          (double)e->peak_score, "x1", (double)e->x1, "y1", (double)e->y1, "x2",
                          (double)e->x2, "y2", (double)e->y2, "updated_sequence",
                          (json_int_t)e->updated_sequence);
    if (j && !kind) json_object_set_new(j, "kind", json_integer(e->kind));
    return j;
}

static void count_add(json_t *obj, const char *key, json_int_t n)
{
    json_t *v = json_object_get(obj, key);
    json_object_set_new(obj, key, json_integer((v ? json_integer_value(v) : 0) + n));
}

static void rule_label_key(char *buf, size_t size, const char *rule, const char *label)
{
    snprintf(buf, size, "%s\x1f%s", rule, label);
}

/* Keeps the distinct events and the largest value of each count bucket. */
static void tally(replay_t *r, const vigil_analytics_out_t *o)
{
    char key[4 * VIGIL_RULE_ID_MAX + 64];
    for (size_t i = 0; i < o->nevents; i++) {
        const vigil_analytics_event_t *e = &o->events[i];
        snprintf(key, sizeof key, "%d/%" PRIu64 "/%s/%s/%" PRIu64, e->kind, e->track_id,
                 e->zone, e->line, e->start_sequence);
        if (json_object_get(r->event_keys, key)) continue;
        json_object_set_new(r->event_keys, key, json_true());
        const char *kind = vigil_event_kind_name(e->kind);
        count_add(r->event_kinds, kind ? kind : "unknown", 1);
        rule_label_key(key, sizeof key, e->zone, e->label);
        if (e->kind == VIGIL_EVENT_ZONE_LEAVE) count_add(r->left, key, 1);
        if (e->kind == VIGIL_EVENT_LOITER) count_add(r->loiter, key, 1);
    }
    for (size_t i = 0; i < o->ncounts; i++) {
        const vigil_count_bucket_t *b = &o->counts[i];
        int is_line = b->line[0] != '\0';
        snprintf(key, sizeof key, "%c\x1f%s\x1f%s\x1f%" PRId64, is_line ? 'L' : 'Z',
                 is_line ? b->line : b->zone, b->label, b->minute_us);
        json_int_t v0 = is_line ? b->in : b->entered, v1 = is_line ? b->out : b->peak;
        json_t *cur = json_object_get(r->buckets, key);
        if (cur) {
            json_int_t c0 = json_integer_value(json_array_get(cur, 0));
            json_int_t c1 = json_integer_value(json_array_get(cur, 1));
            if (c0 > v0) v0 = c0;
            if (c1 > v1) v1 = c1;
        }
        json_object_set_new(r->buckets, key, json_pack("[I,I]", v0, v1));
    }
}

static json_t *rule_label_obj(json_t *parent, const char *rule, const char *label, int is_line)
{
    json_t *per = json_object_get(parent, rule);
    if (!per) {
        per = json_object();
        json_object_set_new(parent, rule, per);
    }
    json_t *c = json_object_get(per, label);
    if (!c) {
        c = is_line ? json_pack("{s:I,s:I}", "in", (json_int_t)0, "out", (json_int_t)0)
                    : json_pack("{s:I,s:I,s:I,s:I}", "entered", (json_int_t)0, "left",
                                (json_int_t)0, "loiter", (json_int_t)0, "peak", (json_int_t)0);
        json_object_set_new(per, label, c);
    }
    return c;
}

static json_t *summary_json(replay_t *r)
{
    json_t *lines = json_object(), *zones = json_object();
    /* every rule and label of the camera appears, counted or not */
    for (size_t i = 0; i < r->camera->nlines; i++) {
        const vigil_line_conf_t *l = &r->camera->lines[i];
        if (!l->nlabels) json_object_set_new(lines, l->id, json_object());
        for (size_t k = 0; k < l->nlabels; k++) rule_label_obj(lines, l->id, l->labels[k], 1);
    }
    for (size_t i = 0; i < r->camera->nzones; i++) {
        const vigil_zone_conf_t *z = &r->camera->zones[i];
        if (!z->nlabels) json_object_set_new(zones, z->id, json_object());
        for (size_t k = 0; k < z->nlabels; k++) rule_label_obj(zones, z->id, z->labels[k], 0);
    }
    const char *key;
    json_t *v;
    json_object_foreach(r->buckets, key, v) {
        char kind = key[0], rule[VIGIL_RULE_ID_MAX], label[VIGIL_LABEL_MAX];
        const char *p = key + 2, *sep = strchr(p, '\x1f');
        if (!sep) continue;
        snprintf(rule, sizeof rule, "%.*s", (int)(sep - p), p);
        p = sep + 1;
        if (!(sep = strchr(p, '\x1f'))) continue;
        snprintf(label, sizeof label, "%.*s", (int)(sep - p), p);
        json_int_t v0 = json_integer_value(json_array_get(v, 0));
        json_int_t v1 = json_integer_value(json_array_get(v, 1));
        if (kind == 'L') {
            json_t *c = rule_label_obj(lines, rule, label, 1);
            count_add(c, "in", v0);
            count_add(c, "out", v1);
        } else {
            json_t *c = rule_label_obj(zones, rule, label, 0);
            count_add(c, "entered", v0);
            if (v1 > json_integer_value(json_object_get(c, "peak")))
                json_object_set_new(c, "peak", json_integer(v1));
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        json_t *src = pass ? r->loiter : r->left;
        json_object_foreach(src, key, v) {
            const char *sep = strchr(key, '\x1f');
            if (!sep) continue;
            char rule[VIGIL_RULE_ID_MAX];
            snprintf(rule, sizeof rule, "%.*s", (int)(sep - key), key);
            json_t *c = rule_label_obj(zones, rule, sep + 1, 0);
            count_add(c, pass ? "loiter" : "left", json_integer_value(v));
        }
    }
    json_t *events = json_pack("{s:I,s:I,s:I,s:I}", "zone_enter", (json_int_t)0, "zone_leave",
                               (json_int_t)0, "loiter", (json_int_t)0, "line_cross",
                               (json_int_t)0);
    json_object_update(events, r->event_kinds);
    uint64_t next = vigil_analyzer_next_track_id(r->analyzer);
    return json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:o,s:o,s:o}", "type", "summary", "camera",
                     r->camera->id, "frames", (json_int_t)r->frames, "bad_lines",
                     (json_int_t)r->bad_lines, "rejected_detections", (json_int_t)r->rejected,
                     "tracks", (json_int_t)(next > 0 ? next - 1 : 0), "events", events, "lines",
                     lines, "zones", zones);
}

/* ---- the loop --------------------------------------------------------------- */

/* One input line. Returns 0 (processed or skipped as bad), -1 on an output
 * failure. */
static int replay_line(replay_t *r, uint64_t lineno, const char *buf, size_t len)
{
    json_error_t jerr;
    char why[256];
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        bad_line(r, lineno, "not JSON: %s (column %d)", jerr.text, jerr.column);
        return 0;
    }
    vigil_analytics_frame_t frame;
    size_t n = 0;
    if (parse_frame(r, root, &frame, &n, why, sizeof why)) {
        bad_line(r, lineno, "%s", why);
        json_decref(root);
        return 0;
    }
    vigil_analytics_out_t o;
    size_t rejected = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    vigil_err_t e = vigil_analyzer_frame(r->analyzer, &frame, r->dets, n, &o, &rejected);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    json_decref(root);
    if (e == VIGIL_ERR_INVALID) {
        bad_line(r, lineno, "sequence %" PRIu64 " is not after the last frame's (%" PRIu64
                 "): skipped", frame.sequence, vigil_analyzer_last_sequence(r->analyzer));
        return 0;
    }
    if (e != VIGIL_OK) {
        bad_line(r, lineno, "analyzer: %s", vigil_err_str(e));
        return 0;
    }
    r->frames++;
    r->rejected += rejected;
    json_t *tracks = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(tracks, json_integer(o.det_track ? o.det_track[i] : 0));
    json_t *rec = json_pack("{s:s,s:I,s:o}", "type", "frame", "sequence",
                            (json_int_t)frame.sequence, "tracks", tracks);
    if (rec && r->timing)
        json_object_set_new(rec, "analyzer_ms",
                            json_real((double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                                      (double)(t1.tv_nsec - t0.tv_nsec) / 1e6));
    if (emit(r, rec)) return -1;
    for (size_t i = 0; i < o.nevents; i++)
        if (emit(r, event_json(&o.events[i]))) return -1;
    tally(r, &o);
    return 0;
}

enum { OPT_CONFIG = 256, OPT_CAMERA, OPT_INPUT, OPT_OUTPUT, OPT_TIMING, OPT_HELP };

static const struct option replay_options[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"camera", required_argument, NULL, OPT_CAMERA},
    {"input", required_argument, NULL, OPT_INPUT},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"timing", no_argument, NULL, OPT_TIMING},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* argv[0] is "replay" (the word after `vigil analytics`). */
int cli_analytics_replay_main(int argc, char **argv)
{
    const char *config = NULL, *camera = NULL, *input = "-", *output = "-";
    int c, timing = 0;
    optind = 1;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "h", replay_options, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG: config = optarg; break;
        case OPT_CAMERA: camera = optarg; break;
        case OPT_INPUT: input = optarg; break;
        case OPT_OUTPUT: output = optarg; break;
        case OPT_TIMING: timing = 1; break;
        case OPT_HELP:
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, ME ": unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return CLI_USAGE;
    }
    if (!camera) {
        fprintf(stderr, ME ": --camera is required\n");
        usage(stderr);
        return CLI_USAGE;
    }

    int rc;
    char err[1024];
    replay_t r = {.timing = timing};
    FILE *in = NULL;
    char *buf = NULL;
    vigil_config_t cfg;
    vigil_config_init(&cfg);
    if ((rc = cli_load_config(&cfg, config))) goto out;
    if (vigil_config_validate(&cfg, err, sizeof err)) {
        fprintf(stderr, ME ": %s\n", err);
        rc = CLI_USAGE;
        goto out;
    }
    if (!(r.camera = vigil_config_camera(&cfg, camera))) {
        fprintf(stderr, ME ": camera \"%s\" is not in %s\n", camera,
                config ? config : "the configuration");
        rc = CLI_USAGE;
        goto out;
    }
    vigil_tracker_conf_t tc;
    vigil_tracker_conf_from_config(&tc, &cfg);
    r.analyzer = vigil_analyzer_new(r.camera->id, &tc, r.camera->zones, r.camera->nzones,
                                    r.camera->lines, r.camera->nlines, err, sizeof err);
    if (!r.analyzer) {
        fprintf(stderr, ME ": camera \"%s\": %s\n", camera, err);
        rc = CLI_USAGE;
        goto out;
    }
    rc = CLI_FAIL;
    in = strcmp(input, "-") ? fopen(input, "r") : stdin;
    if (!in) {
        fprintf(stderr, ME ": cannot open %s: %s\n", input, strerror(errno));
        goto out;
    }
    r.out = strcmp(output, "-") ? fopen(output, "w") : stdout;
    if (!r.out) {
        fprintf(stderr, ME ": cannot create %s: %s\n", output, strerror(errno));
        goto out;
    }
    r.event_keys = json_object();
    r.event_kinds = json_object();
    r.left = json_object();
    r.loiter = json_object();
    r.buckets = json_object();
    buf = malloc(REPLAY_LINE_MAX + 1);
    if (!buf || !r.event_keys || !r.event_kinds || !r.left || !r.loiter || !r.buckets) {
        fprintf(stderr, ME ": out of memory\n");
        goto out;
    }

    uint64_t lineno = 0;
    for (;;) {
        size_t len = 0;
        int too_long = 0;
        int got = read_line(in, buf, &len, &too_long);
        if (got < 0) {
            fprintf(stderr, ME ": reading %s: %s\n", input, strerror(errno));
            goto out;
        }
        if (got == 0) break;
        lineno++;
        if (too_long) {
            bad_line(&r, lineno, "longer than %u bytes", REPLAY_LINE_MAX);
            continue;
        }
        if (len == 0 || strspn(buf, " \t\r") == len) continue; /* blank lines are allowed */
        if (replay_line(&r, lineno, buf, len)) {
            fprintf(stderr, ME ": writing %s: %s\n", output, strerror(errno));
            goto out;
        }
    }
    if (emit(&r, summary_json(&r)) || fflush(r.out) == EOF || ferror(r.out)) {
        fprintf(stderr, ME ": writing %s: %s\n", output, strerror(errno));
        goto out;
    }
    if (r.bad_lines)
        fprintf(stderr, ME ": %" PRIu64 " bad line%s of %" PRIu64 " skipped\n", r.bad_lines,
                r.bad_lines == 1 ? "" : "s", lineno);
    rc = CLI_OK;

out:
    if (in && in != stdin) fclose(in);
    if (r.out && r.out != stdout && fclose(r.out) != 0 && rc == CLI_OK) {
        fprintf(stderr, ME ": writing %s: %s\n", output, strerror(errno));
        rc = CLI_FAIL;
    }
    free(buf);
    free(r.dets);
    json_decref(r.event_keys);
    json_decref(r.event_kinds);
    json_decref(r.left);
    json_decref(r.loiter);
    json_decref(r.buckets);
    vigil_analyzer_free(r.analyzer);
    vigil_config_release(&cfg);
    return rc;
}
