/* The audit log (vigil/auth.h): who changed what, when, from where.
 *
 * Rows name the user as it was (not its id), so that they outlive it, and
 * take a detail as JSON text, checked here so that whatever reads the log
 * back (the API) can embed it as is. Callers never put secrets in a row;
 * text from outside (a target, a client address) is cleaned as stored
 * fields are (valid UTF-8, no control characters). Thread: a store handle is
 * used by one thread at a time. */
#include <jansson.h>
#include <string.h>

#include "auth/accounts_int.h"
#include "vigil/store.h"

/* The name a row gives a principal that has no user name. */
static const char *audit_who(const vigil_principal_t *who)
{
    if (!who) return "";
    if (who->user[0]) return who->user;
    switch (who->kind) {
    case VIGIL_AUTH_SETUP: return "(setup token)";
    case VIGIL_AUTH_DISABLED: return "(auth disabled)";
    default: return "";
    }
}

vigil_err_t vigil_audit_add(vigil_store_t *s, int64_t now_us, const vigil_principal_t *who,
                            const char *client_ip, const char *action, const char *target,
                            const char *detail, char *errstr, size_t n)
{
    vigil_audit_row_t row;
    if (!s) return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "audit: no store");
    if (!action || !action[0] || strnlen(action, sizeof(row.action)) >= sizeof(row.action) ||
        !vigil__auth_label_valid(action))
        return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "audit: action empty or not 1..%zu "
                            "printable bytes", sizeof(row.action) - 1);
    if (detail) {
        if (strnlen(detail, VIGIL_AUDIT_DETAIL_MAX + 1) > VIGIL_AUDIT_DETAIL_MAX)
            return vigil_seterr(errstr, n, VIGIL_ERR_TOO_LARGE, "audit %s: detail over %d bytes",
                                action, VIGIL_AUDIT_DETAIL_MAX);
        json_error_t jerr;
        json_t *j = json_loads(detail, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
            return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "audit %s: detail is not JSON: %s",
                                action, jerr.text);
        json_decref(j);
    }
    memset(&row, 0, sizeof(row));
    row.time_us = now_us;
    vigil__auth_clean_text(audit_who(who), row.user, sizeof(row.user));
    vigil__auth_clean_text(client_ip, row.client_ip, sizeof(row.client_ip));
    vigil__auth_copy(row.action, sizeof(row.action), action);
    vigil__auth_clean_text(target, row.target, sizeof(row.target));
    row.detail = (char *)(uintptr_t)detail; /* read only by the insert */
    return vigil_store_audit_insert(s, &row, errstr, n);
}

vigil_err_t vigil_audit_list(vigil_store_t *s, int64_t before_id, int limit,
                             vigil_audit_row_t **rows, size_t *n, char *errstr, size_t en)
{
    return vigil_store_audit_list(s, before_id, limit, rows, n, errstr, en);
}
