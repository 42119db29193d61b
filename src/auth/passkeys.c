/* Passkey records (vigil/auth.h): the credentials vigil/webauthn.h verified,
 * kept per user. This file only checks and stores; the ceremonies (and the
 * check that a credential's key is one vigil accepts) are the webauthn
 * module's. The sign count is updated by one guarded statement in the
 * warehouse that refuses a count that does not grow, so that two replicas
 * cannot both accept the same assertion. Thread: a store handle is used by
 * one thread at a time. */
#include <stdint.h>
#include <string.h>

#include "auth/accounts_int.h"
#include "vigil/store.h"

vigil_err_t vigil_passkey_add(vigil_store_t *s, int64_t user_id, const char *name,
                              const uint8_t *cred_id, size_t cred_id_len, const uint8_t *cose_key,
                              size_t cose_key_len, uint32_t sign_count, int64_t now_us,
                              int64_t *id, char *errstr, size_t n)
{
    vigil_passkey_t pk;
    if (!s || user_id <= 0)
        return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "passkey: no store or user");
    if (!vigil__auth_label_valid(name))
        return vigil_seterr(errstr, n, VIGIL_ERR_INVALID,
                            "passkey name: at most %d bytes of UTF-8 without control characters",
                            VIGIL_AUTH_LABEL_MAX);
    if (!cred_id || cred_id_len < 1 || cred_id_len > sizeof(pk.cred_id))
        return vigil_seterr(errstr, n, VIGIL_ERR_INVALID,
                            "passkey: credential id of %zu bytes (1 to %zu)", cred_id_len,
                            sizeof(pk.cred_id));
    if (!cose_key || cose_key_len < 1 || cose_key_len > VIGIL_PASSKEY_COSE_MAX)
        return vigil_seterr(errstr, n, VIGIL_ERR_INVALID,
                            "passkey: public key of %zu bytes (1 to %d)", cose_key_len,
                            VIGIL_PASSKEY_COSE_MAX);
    memset(&pk, 0, sizeof(pk));
    pk.user_id = user_id;
    vigil__auth_copy(pk.name, sizeof(pk.name), name);
    memcpy(pk.cred_id, cred_id, cred_id_len);
    pk.cred_id_len = cred_id_len;
    pk.cose_key = (uint8_t *)(uintptr_t)cose_key; /* read only by the insert */
    pk.cose_key_len = cose_key_len;
    pk.sign_count = sign_count;
    pk.created_us = now_us;
    return vigil_store_passkey_insert(s, &pk, id, errstr, n);
}

vigil_err_t vigil_passkey_get_by_cred(vigil_store_t *s, const uint8_t *cred_id, size_t len,
                                      vigil_passkey_t *out, char *errstr, size_t n)
{
    return vigil_store_passkey_get(s, cred_id, len, out, errstr, n);
}

vigil_err_t vigil_passkey_list(vigil_store_t *s, int64_t user_id, vigil_passkey_t **out,
                               size_t *n, char *errstr, size_t en)
{
    return vigil_store_passkey_list(s, user_id, out, n, errstr, en);
}

vigil_err_t vigil_passkey_update_count(vigil_store_t *s, int64_t id, uint32_t sign_count,
                                       int64_t now_us, char *errstr, size_t n)
{
    return vigil_store_passkey_update_count(s, id, sign_count, now_us, errstr, n);
}

vigil_err_t vigil_passkey_delete(vigil_store_t *s, int64_t id, int64_t user_id, char *errstr,
                                 size_t n)
{
    return vigil_store_passkey_delete(s, id, user_id, errstr, n);
}
