/* Error codes: descriptions and their classes (retriable, refused, fatal;
 * include/vigil/err.h says what a caller does about each). */
#include <stdio.h>

#include "vigil/err.h"

const char *vigil_err_str(vigil_err_t err)
{
    switch (err) {
    case VIGIL_OK: return "success";
    case VIGIL_ERR_INVALID: return "invalid argument or input";
    case VIGIL_ERR_NOMEM: return "out of memory";
    case VIGIL_ERR_IO: return "input/output error";
    case VIGIL_ERR_NOT_FOUND: return "not found";
    case VIGIL_ERR_TIMED_OUT: return "timed out";
    case VIGIL_ERR_FULL: return "full";
    case VIGIL_ERR_CLOSED: return "closed";
    case VIGIL_ERR_DECODE: return "cannot decode";
    case VIGIL_ERR_UNSUPPORTED: return "unsupported";
    case VIGIL_ERR_CONFIG: return "invalid configuration";
    case VIGIL_ERR_STORE: return "store error";
    case VIGIL_ERR_BUS: return "bus error";
    case VIGIL_ERR_EXISTS: return "already exists";
    case VIGIL_ERR_AGAIN: return "temporarily unavailable";
    case VIGIL_ERR_TOO_LARGE: return "too large";
    }
    return "unknown error";
}

vigil_err_class_t vigil_err_class(vigil_err_t err)
{
    switch (err) {
    case VIGIL_OK: return VIGIL_ERR_CLASS_NONE;
    case VIGIL_ERR_TIMED_OUT:
    case VIGIL_ERR_FULL:
    case VIGIL_ERR_AGAIN:
    case VIGIL_ERR_IO:
    case VIGIL_ERR_NOMEM:
    case VIGIL_ERR_BUS: return VIGIL_ERR_CLASS_RETRIABLE;
    case VIGIL_ERR_INVALID:
    case VIGIL_ERR_DECODE:
    case VIGIL_ERR_TOO_LARGE:
    case VIGIL_ERR_NOT_FOUND:
    case VIGIL_ERR_EXISTS: return VIGIL_ERR_CLASS_REFUSED;
    case VIGIL_ERR_STORE:
    case VIGIL_ERR_CONFIG:
    case VIGIL_ERR_UNSUPPORTED:
    case VIGIL_ERR_CLOSED: return VIGIL_ERR_CLASS_FATAL;
    }
    return VIGIL_ERR_CLASS_FATAL; /* a code nobody classified: do not loop on it */
}

const char *vigil_err_class_name(vigil_err_class_t cls)
{
    switch (cls) {
    case VIGIL_ERR_CLASS_NONE: return "ok";
    case VIGIL_ERR_CLASS_RETRIABLE: return "retriable";
    case VIGIL_ERR_CLASS_REFUSED: return "refused";
    case VIGIL_ERR_CLASS_FATAL: return "fatal";
    }
    return "?";
}

int vigil_err_is_retriable(vigil_err_t err)
{
    return vigil_err_class(err) == VIGIL_ERR_CLASS_RETRIABLE;
}

int vigil_err_is_fatal(vigil_err_t err)
{
    return vigil_err_class(err) == VIGIL_ERR_CLASS_FATAL;
}

vigil_err_t vigil_seterr(char *errstr, size_t errstr_size, vigil_err_t err, const char *fmt, ...)
{
    if (errstr && errstr_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return err;
}
