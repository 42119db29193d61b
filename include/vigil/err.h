/* vigil error codes, shared by every module.
 *
 * Functions that can fail return vigil_err_t; those that build an object
 * return it (NULL on failure) and describe the failure in a caller-supplied
 * buffer: `char *errstr, size_t errstr_size` (librdkafka style). Messages are
 * lowercase, error first, with the offending value. */
#ifndef VIGIL_ERR_H
#define VIGIL_ERR_H

#include <stdarg.h>
#include <stddef.h>

typedef enum vigil_err {
    VIGIL_OK = 0,
    VIGIL_ERR_INVALID = -1,     /* bad argument, value or input data */
    VIGIL_ERR_NOMEM = -2,       /* allocation failed */
    VIGIL_ERR_IO = -3,          /* file, disk or socket error */
    VIGIL_ERR_NOT_FOUND = -4,   /* no such id / key / file */
    VIGIL_ERR_TIMED_OUT = -5,   /* a bounded wait expired (retriable) */
    VIGIL_ERR_FULL = -6,        /* a bounded queue or a disk is full (retriable) */
    VIGIL_ERR_CLOSED = -7,      /* the object is shut down; no more data will come */
    VIGIL_ERR_DECODE = -8,      /* a message, image or file could not be decoded */
    VIGIL_ERR_UNSUPPORTED = -9, /* a scheme, format or operation vigil does not support */
    VIGIL_ERR_CONFIG = -10,     /* an invalid configuration */
    VIGIL_ERR_STORE = -11,      /* the warehouse reported an error */
    VIGIL_ERR_BUS = -12,        /* the bus reported an error */
    VIGIL_ERR_EXISTS = -13,     /* already present (e.g. an idempotent write that was a no-op) */
    VIGIL_ERR_AGAIN = -14,      /* transient failure, try again later */
    VIGIL_ERR_TOO_LARGE = -15,  /* input larger than a configured or built-in bound */
} vigil_err_t;

/* A short, static description of an error code. Thread: any. */
const char *vigil_err_str(vigil_err_t err);

/* What a caller does about a failed operation, decided from the code where
 * the error arises (as librdkafka's rd_kafka_error_is_retriable / _is_fatal):
 *
 *   RETRIABLE  the same call may succeed later (a lock, a full disk or queue,
 *              an I/O or bus error, memory): back off and try again, or give
 *              up on this item when waiting is worse (docs/architecture.md)
 *              TIMED_OUT FULL AGAIN IO NOMEM BUS
 *   REFUSED    this input will never be accepted (the store refuses the row,
 *              the message does not decode, it is too large): count it
 *              failed, log it, and move on to the next
 *              INVALID DECODE TOO_LARGE NOT_FOUND EXISTS
 *   FATAL      the component cannot go on (a broken or foreign schema, a
 *              read-only or corrupt database, a bad configuration): stop and
 *              say why; retrying or skipping would lose everything after it
 *              STORE CONFIG UNSUPPORTED CLOSED
 *
 * So a backend maps what it sees to the code of the right class: SQLite's
 * BUSY to AGAIN, FULL to FULL, CONSTRAINT to INVALID, "no such table" to
 * STORE (src/store/sqlite.c). */
typedef enum vigil_err_class {
    VIGIL_ERR_CLASS_NONE = 0, /* VIGIL_OK */
    VIGIL_ERR_CLASS_RETRIABLE,
    VIGIL_ERR_CLASS_REFUSED,
    VIGIL_ERR_CLASS_FATAL,
} vigil_err_class_t;

/* The class of err (above). Thread: any. */
vigil_err_class_t vigil_err_class(vigil_err_t err);
/* "retriable", "refused", "fatal" ("ok" for VIGIL_OK). */
const char *vigil_err_class_name(vigil_err_class_t cls);

/* Whether an operation that failed with err may succeed if retried
 * (vigil_err_class(err) == VIGIL_ERR_CLASS_RETRIABLE). */
int vigil_err_is_retriable(vigil_err_t err);
/* Whether err means the component cannot go on (VIGIL_ERR_CLASS_FATAL). */
int vigil_err_is_fatal(vigil_err_t err);

/* snprintf into errstr if it is not NULL; returns err so that callers can
 * write `return vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "...", ...)`. */
vigil_err_t vigil_seterr(char *errstr, size_t errstr_size, vigil_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
