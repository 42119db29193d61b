/* Helpers for the stage tests (preprocess, infer, sink): a temp data dir, a
 * config pointing at it, an in-process bus, synthetic scenes as JPEG, and
 * publishing frames. The infer and sink test dirs compile the same
 * stages_support.c through a one-line *_support.c of their own. */
#ifndef VIGIL_TEST_STAGES_SUPPORT_H
#define VIGIL_TEST_STAGES_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/bus.h"
#include "vigil/config.h"
#include "vigil/metrics.h"
#include "vigil/store.h"

/* A fresh directory under $TMPDIR (malloc'd path); vt_rmtree removes it. */
char *vt_tmpdir(void);
void vt_rmtree(const char *path);

/* Defaults, data_dir = dir, sqlite store; quiet logs. */
void vt_config(vigil_config_t *cfg, const char *dir);
vigil_bus_t *vt_bus(void);
vigil_store_t *vt_store(const vigil_config_t *cfg);

/* A w x h JPEG of a textured static background with a bright sq x sq square
 * at (x, y) (sq = 0: none). malloc'd. */
uint8_t *vt_scene_jpeg(int w, int h, int x, int y, int sq, size_t *len);

/* A copy of jpeg (malloc'd) whose frame header says w x h: a hostile JPEG
 * whose header asks a decoder for any size. */
uint8_t *vt_jpeg_with_header_size(const uint8_t *jpeg, size_t len, int w, int h);

/* Publishes a Frame / GatedFrame (key = camera). */
void vt_publish_frame(vigil_bus_t *bus, const char *camera, uint64_t seq, int64_t capture_us,
                      int w, int h, const uint8_t *jpeg, size_t len);
void vt_publish_gated(vigil_bus_t *bus, const char *camera, uint64_t seq, int64_t capture_us,
                      int w, int h, int64_t frame_id, const uint8_t *jpeg, size_t len);

/* Sum of a stage counter family for stage (and camera, NULL = all). */
uint64_t vt_stage_count(const char *family, const char *stage, const char *camera);

/* Waits (bounded, generously) until every group consumed topic. */
void vt_drain(vigil_bus_t *bus, const char *topic);

#endif
