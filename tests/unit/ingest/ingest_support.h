/* Helpers for the ingest stage tests: sample media, a collector that drains
 * topics "frames" and "events" of an in-process bus, closed/silent ports. */
#ifndef VIGIL_TEST_INGEST_SUPPORT_H
#define VIGIL_TEST_INGEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/bus.h"

/* Path of sample file `name`; 0 if it exists, -1 (message printed) if not. */
int ingest_media_path(const char *name, char *buf, size_t size);

#define COLLECT_MAX_EVENTS 64

typedef struct collected_camera {
    char id[64];
    size_t frames;
    uint64_t first_seq, last_seq;
    int seq_increasing; /* every sequence above the one before */
    int bad_frames;     /* failed vigil_frame_decode or jpeg header */
    uint32_t width, height;
} collected_camera_t;

typedef struct collector {
    vigil_consumer_t *consumer;
    collected_camera_t cams[8];
    size_t ncams;
    struct {
        char camera[64], type[48], message[256], payload[512];
    } events[COLLECT_MAX_EVENTS];
    size_t nevents;
} collector_t;

/* Subscribes a fresh group to frames and events. */
void collector_init(collector_t *c, vigil_bus_t *bus, const char *group);
/* Polls for up to timeout_ms; returns the number of messages taken (acked). */
int collector_poll(collector_t *c, int timeout_ms);
collected_camera_t *collector_camera(collector_t *c, const char *id);
/* Index of the first event of type for camera at or after `from`, or -1. */
int collector_find_event(const collector_t *c, const char *camera, const char *type, int from);
void collector_release(collector_t *c);

/* A TCP port on 127.0.0.1 where nothing listens. */
int closed_port(void);
/* A listening socket that never answers (connect succeeds, reads hang). */
int silent_listener(int *port);

#endif
