/* Test helpers for the ingest stage (see ingest_support.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ingest_support.h"
#include "vigil/image.h"
#include "vigil/msg.h"

int ingest_media_path(const char *name, char *buf, size_t size)
{
    const char *m = getenv("VIGIL_MEDIA"), *xdg = getenv("XDG_CACHE_HOME");
    struct stat st;
    if (m && *m)
        snprintf(buf, size, "%s/%s", m, name);
    else if (xdg && *xdg)
        snprintf(buf, size, "%s/vigil/media/%s", xdg, name);
    else
        snprintf(buf, size, "%s/.cache/vigil/media/%s", getenv("HOME") ? getenv("HOME") : ".",
                 name);
    if (stat(buf, &st) != 0) {
        fprintf(stderr, "skipped: sample media %s missing (run `scripts/setup.sh media`)\n", buf);
        return -1;
    }
    return 0;
}

void collector_init(collector_t *c, vigil_bus_t *bus, const char *group)
{
    char err[256] = "";
    const char *topics[] = {VIGIL_TOPIC_FRAMES, VIGIL_TOPIC_EVENTS};
    memset(c, 0, sizeof(*c));
    c->consumer = vigil_bus_subscribe(bus, group, topics, 2, err, sizeof(err));
    if (!c->consumer) fail_msg("subscribe: %s", err);
}

collected_camera_t *collector_camera(collector_t *c, const char *id)
{
    for (size_t i = 0; i < c->ncams; i++)
        if (strcmp(c->cams[i].id, id) == 0) return &c->cams[i];
    if (c->ncams == sizeof(c->cams) / sizeof(c->cams[0])) return NULL;
    collected_camera_t *cam = &c->cams[c->ncams++];
    snprintf(cam->id, sizeof(cam->id), "%s", id);
    cam->seq_increasing = 1;
    return cam;
}

static void take_frame(collector_t *c, const vigil_bus_msg_t *m, vigil_jpeg_t *codec)
{
    char err[256];
    Vigil__V1__Frame *f = vigil_frame_decode(m->value, m->value_len, err, sizeof(err));
    collected_camera_t *cam;
    if (!f) {
        print_error("bad frame: %s\n", err);
        if ((cam = collector_camera(c, "?"))) cam->bad_frames++;
        return;
    }
    cam = collector_camera(c, f->camera_id);
    if (cam) {
        int w = 0, h = 0;
        if (m->key_len != strlen(f->camera_id) || memcmp(m->key, f->camera_id, m->key_len) != 0 ||
            vigil_jpeg_header(codec, f->jpeg.data, f->jpeg.len, &w, &h, err, sizeof(err)) !=
                VIGIL_OK ||
            (uint32_t)w != f->width || (uint32_t)h != f->height)
            cam->bad_frames++;
        if (cam->frames == 0)
            cam->first_seq = f->sequence;
        else if (f->sequence <= cam->last_seq)
            cam->seq_increasing = 0;
        cam->last_seq = f->sequence;
        cam->width = f->width;
        cam->height = f->height;
        cam->frames++;
    }
    vigil__v1__frame__free_unpacked(f, NULL);
}

static void take_event(collector_t *c, const vigil_bus_msg_t *m)
{
    char err[256];
    Vigil__V1__Event *e = vigil_event_decode(m->value, m->value_len, err, sizeof(err));
    if (!e) fail_msg("bad event: %s", err);
    if (c->nevents < COLLECT_MAX_EVENTS) {
        snprintf(c->events[c->nevents].camera, 64, "%s", e->camera_id);
        snprintf(c->events[c->nevents].type, 48, "%s", e->type);
        snprintf(c->events[c->nevents].message, 256, "%s", e->message ? e->message : "");
        snprintf(c->events[c->nevents].payload, 512, "%s", e->payload_json ? e->payload_json : "");
        c->nevents++;
    }
    vigil__v1__event__free_unpacked(e, NULL);
}

int collector_poll(collector_t *c, int timeout_ms)
{
    int n = 0;
    vigil_bus_msg_t *m;
    vigil_jpeg_t *codec = vigil_jpeg_new();
    while (vigil_consumer_poll(c->consumer, &m, n ? 0 : timeout_ms) == VIGIL_OK) {
        if (strcmp(m->topic, VIGIL_TOPIC_FRAMES) == 0)
            take_frame(c, m, codec);
        else
            take_event(c, m);
        vigil_consumer_ack(c->consumer, m);
        n++;
    }
    vigil_jpeg_free(codec);
    return n;
}

int collector_find_event(const collector_t *c, const char *camera, const char *type, int from)
{
    for (size_t i = (size_t)(from < 0 ? 0 : from); i < c->nevents; i++)
        if (strcmp(c->events[i].camera, camera) == 0 && strcmp(c->events[i].type, type) == 0)
            return (int)i;
    return -1;
}

void collector_release(collector_t *c)
{
    if (c->consumer) vigil_consumer_close(c->consumer);
    c->consumer = NULL;
}

int closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    close(s);
    return ntohs(a.sin_port);
}

int silent_listener(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s, 8), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return s;
}
