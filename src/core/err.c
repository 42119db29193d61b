/* Error codes: descriptions and the retriable classification. */
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

int vigil_err_is_retriable(vigil_err_t err)
{
    return err == VIGIL_ERR_TIMED_OUT || err == VIGIL_ERR_FULL || err == VIGIL_ERR_AGAIN ||
           err == VIGIL_ERR_IO;
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
