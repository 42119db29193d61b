/* Internals of src/search: the HTTP client to the node (client.c), the
 * documents (docs.c) and the templates and retention (indices.c). */
#ifndef VIGIL_SEARCH_INT_H
#define VIGIL_SEARCH_INT_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/bus.h"
#include "vigil/err.h"

#define VIGIL__OS_REPLY_MAX (64u << 20) /* a reply longer than this is an error */

/* One connection (a curl easy handle, kept alive) to one node. */
typedef struct vigil__os {
    char base[512];    /* http(s)://HOST:PORT, without credentials */
    char shown[512];   /* the configured URL, redacted, for messages */
    char userpwd[256]; /* USER:PASSWORD or "" */
    int timeout_ms;
    CURL *curl;
} vigil__os_t;

typedef struct vigil__os_reply {
    long status; /* HTTP status; 0 when the node did not answer */
    char *body;  /* malloc'd, NUL-terminated; NULL if empty */
    size_t len, cap;
} vigil__os_reply_t;

/* Parses url (search.url) into os. VIGIL_ERR_CONFIG naming the URL (redacted). */
vigil_err_t vigil__os_open(vigil__os_t *os, const char *url, int timeout_ms, char *errstr,
                           size_t errstr_size);
void vigil__os_close(vigil__os_t *os);

/* One request: method, path from "/" (with its query string), body (may be
 * NULL), sent as application/x-ndjson when ndjson, else application/json.
 * VIGIL_OK whenever the node answered (reply->status says how); otherwise
 * VIGIL_ERR_TIMED_OUT or VIGIL_ERR_IO with errstr naming the node.
 * reply->body is replaced; vigil__os_reply_release frees it. */
vigil_err_t vigil__os_request(vigil__os_t *os, const char *method, const char *path,
                              const char *body, size_t len, int ndjson, vigil__os_reply_t *reply,
                              char *errstr, size_t errstr_size);
void vigil__os_reply_release(vigil__os_reply_t *reply);

/* The error of a reply in a few words: its error.type and reason when it is
 * JSON, else the start of the body. */
void vigil__os_reply_error(const vigil__os_reply_t *reply, char *out, size_t size);

/* ---- documents (docs.c) --------------------------------------------------- */

/* A growing buffer of _bulk lines. */
typedef struct vigil__bulk {
    char *buf;
    size_t len, cap;
    /* per document: where its two lines start and end, the index of the
     * held message it came from, and its id (for messages) */
    struct vigil__bulk_doc {
        size_t off, len;
        size_t held;
        char id[200];
    } *docs;
    size_t ndocs, capdocs;
} vigil__bulk_t;

void vigil__bulk_reset(vigil__bulk_t *b);
void vigil__bulk_free(vigil__bulk_t *b);

/* Appends the documents of one bus message (by its topic) to b, each tagged
 * with held. *ndocs gets how many (0 for a message with nothing to index:
 * a detections message of a frame without detections). VIGIL_ERR_DECODE
 * for a message that is not one (errstr says why), VIGIL_ERR_NOMEM. */
vigil_err_t vigil__bulk_add_message(vigil__bulk_t *b, const char *prefix,
                                    const vigil_bus_msg_t *msg, size_t held, size_t *ndocs,
                                    char *errstr, size_t errstr_size);

/* Appends one log record (a JSON object line) to PREFIX-logs-DAY. */
vigil_err_t vigil__bulk_add_log(vigil__bulk_t *b, const char *prefix, const char *line,
                                size_t len, int64_t now_us);

/* PREFIX-KIND-YYYY.MM.DD of a time (UTC). */
void vigil__index_name(char *out, size_t size, const char *prefix, const char *kind,
                       int64_t time_us);

/* ---- indices (indices.c) ------------------------------------------------- */

/* Puts the index templates of PREFIX-{detections,events,tracks,logs}-* (and
 * the ISM retention policy where the node has the plugin). VIGIL_OK when
 * every template is in place; else the error of the first that is not. */
vigil_err_t vigil__os_install_templates(vigil__os_t *os, const char *prefix,
                                        double retention_hours, char *errstr,
                                        size_t errstr_size);

/* Deletes the daily indices of PREFIX-* whose day ended more than
 * retention_hours before now (0 = keep all); *deleted counts them. */
vigil_err_t vigil__os_sweep(vigil__os_t *os, const char *prefix, double retention_hours,
                            int64_t now_us, int *deleted, char *errstr, size_t errstr_size);

#endif
