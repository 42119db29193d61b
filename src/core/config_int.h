/* Internals shared by the configuration files (config.c, config_props.c,
 * config_yaml.c, config_docs.c, config_rules.c). Not a public interface. */
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

/* --- zones and lines (config_rules.c) -------------------------------------
 * The keys of cameras[].zones[] and cameras[].lines[]. They are not rows of
 * vigil_props: a list is not a value that the environment or `--set` can
 * carry, and a rule's fields live in vigil_zone_conf_t / vigil_line_conf_t,
 * not at an offset of the camera. The YAML loader reads them, the docs list
 * them in the cameras section, and the checks use the same limits. */
typedef struct vigil__rule_row {
    const char *name;        /* "cameras[].zones[].inertia"; "cameras[].zones" for the list */
    vigil_prop_type_t type;  /* of a single value; ignored for a list */
    const char *list;        /* a list: its type in the docs ("list of [x, y]"); else NULL */
    const char *def;         /* NULL: required, or no default */
    double min, max;         /* INT/DOUBLE range, inclusive */
    const char *values;      /* ENUM: "a|b|c" */
    const char *accepted;    /* lists and ids: what is accepted; NULL: from type and range */
    const char *desc;
} vigil__rule_row_t;

/* Terminated by a row with name == NULL. */
extern const vigil__rule_row_t vigil__rule_rows[];

/* The row named exactly `name`, or NULL. */
const vigil__rule_row_t *vigil__rule_row_find(const char *name);
/* What the row accepts ("an integer from 1 to 30", "bottom_center, center, top_center"). */
void vigil__rule_row_accepted(const vigil__rule_row_t *r, char *buf, size_t size);
/* The keys directly under `prefix` ("cameras[].zones[]." -> "id, polygon, ...";
 * "cameras[]." -> "zones, lines") as "a, b, c". */
void vigil__rule_keys(const char *prefix, char *buf, size_t size);
/* The vigil_anchor_t of "bottom_center", "center", "top_center"; -1 if none. */
int vigil__anchor_parse(const char *name);

/* The checks behind vigil_zone_conf_check / vigil_line_conf_check. On
 * failure write the field at fault, relative to the rule ("polygon",
 * "polygon[2]", "labels[1]", "points"), and the reason with what is
 * accepted ("self-intersecting: ... (accepted: ...)"), and return
 * VIGIL_ERR_CONFIG. Thread: any. */
vigil_err_t vigil__zone_check(const vigil_zone_conf_t *zone, char *field, size_t field_size,
                              char *reason, size_t reason_size);
vigil_err_t vigil__line_check(const vigil_line_conf_t *line, char *field, size_t field_size,
                              char *reason, size_t reason_size);

/* Sets a camera's defaults (no id, no url, strings NULL). */
void vigil__camera_defaults(vigil_camera_conf_t *cam);
/* Frees a camera's strings and its zones and lines. */
void vigil__camera_release(vigil_camera_conf_t *cam);
/* Fills name from id when unset. Returns VIGIL_ERR_NOMEM on failure. */
vigil_err_t vigil__camera_finish(vigil_camera_conf_t *cam);

#endif
