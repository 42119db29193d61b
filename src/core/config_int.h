/* Internals shared by the configuration files (config.c, config_props.c,
 * config_yaml.c, config_docs.c). Not a public interface. */
#ifndef VIGIL_CONFIG_INT_H
#define VIGIL_CONFIG_INT_H

#include <stddef.h>

#include "vigil/config.h"

#define VIGIL__CAMERA_PREFIX "cameras[]."
/* What cameras[].url accepts (see vigil/source.h). */
#define VIGIL__URL_ACCEPTED "a file path, file://, rtsp://, http(s)://, sample"

/* The row named exactly `name` ("bus.partitions", "cameras[].fps"), or NULL. */
const vigil_prop_t *vigil__prop_find(const char *name);

/* Whether the row is a per-camera property ("cameras[].x"). */
int vigil__prop_is_camera(const vigil_prop_t *p);

/* The key of a row without its section: "partitions" for "bus.partitions". */
const char *vigil__prop_key(const vigil_prop_t *p);

/* Writes what a row accepts ("an integer from 1 to 256", "debug, info, ...")
 * into buf. */
void vigil__prop_accepted(const vigil_prop_t *p, char *buf, size_t size);

/* Writes the keys of `section` ("bus", "cameras") as "a, b, c" into buf;
 * an empty string if there is no such section. */
void vigil__section_keys(const char *section, char *buf, size_t size);

/* Writes every section name as "log, http, ..., cameras" into buf. */
void vigil__sections(char *buf, size_t size);

/* The environment variable of a non-camera row: VIGIL_BUS_PARTITIONS. */
void vigil__prop_env_name(const vigil_prop_t *p, char *buf, size_t size);

/* Parses `value` for row p and stores it into base (a vigil_config_t, or a
 * vigil_camera_conf_t for camera rows). `where` ("FILE:LINE", "--set") and
 * `key` (the name to show, e.g. "cameras[0].fps") make up the message:
 * "WHERE: key \"KEY\": REASON (accepted: ...)". Returns VIGIL_ERR_CONFIG on
 * a bad value, VIGIL_ERR_NOMEM on allocation failure; base is unchanged on
 * error. */
vigil_err_t vigil__prop_apply(const vigil_prop_t *p, void *base, const char *value,
                              const char *where, const char *key, char *errstr,
                              size_t errstr_size);

/* Sets a camera's defaults (no id, no url, strings NULL). */
void vigil__camera_defaults(vigil_camera_conf_t *cam);
/* Frees a camera's strings. */
void vigil__camera_release(vigil_camera_conf_t *cam);
/* Fills name from id when unset. Returns VIGIL_ERR_NOMEM on failure. */
vigil_err_t vigil__camera_finish(vigil_camera_conf_t *cam);

#endif
