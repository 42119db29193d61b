/* The accounts' rows shaped once for every backend (store_accounts_int.h):
 * which column is which field of a user, session, token, passkey or audit
 * row, read through the backend's column readers (vigil__cols_t), so that a
 * backend only says how it reads a column.
 *
 * Thread: the caller's. */
#include <stdlib.h>
#include <string.h>

#include "store/store_accounts_int.h"

#define I64(col) c->ops->i64(c, (col))
#define TEXT(col, field) c->ops->text(c, (col), (field), sizeof(field))

void vigil__store_user_from_cols(const vigil__cols_t *c, vigil_user_t *u)
{
    memset(u, 0, sizeof(*u));
    u->id = I64(0);
    TEXT(1, u->name);
    u->role = (vigil_role_t)I64(2);
    u->created_us = I64(3);
    u->locked_until_us = I64(4);
    u->failed_logins = (int)I64(5);
}

void vigil__store_session_from_cols(const vigil__cols_t *c, vigil_store_session_t *s)
{
    vigil_session_info_t *i = &s->info;
    memset(s, 0, sizeof(*s));
    i->id = I64(0);
    i->user_id = I64(1);
    TEXT(2, i->user);
    i->created_us = I64(3);
    i->last_seen_us = I64(4);
    i->expires_us = I64(5);
    TEXT(6, i->client_ip);
    TEXT(7, i->user_agent);
    s->role = (vigil_role_t)I64(8);
    TEXT(9, s->csrf);
}

void vigil__store_token_from_cols(const vigil__cols_t *c, vigil_store_token_t *t)
{
    vigil_token_info_t *i = &t->info;
    memset(t, 0, sizeof(*t));
    i->id = I64(0);
    i->user_id = I64(1);
    TEXT(2, i->user);
    TEXT(3, i->name);
    i->write_scope = c->ops->flag(c, 4);
    i->created_us = I64(5);
    i->expires_us = I64(6);
    i->last_used_us = I64(7);
    TEXT(8, i->prefix);
    t->role = (vigil_role_t)I64(9);
}

int vigil__store_passkey_from_cols(const vigil__cols_t *c, vigil_passkey_t *pk)
{
    uint8_t *cred = NULL;
    size_t cred_len = 0, cose_len = 0;

    memset(pk, 0, sizeof(*pk));
    pk->id = I64(0);
    pk->user_id = I64(1);
    TEXT(2, pk->name);
    if (c->ops->blob(c, 3, &cred, &cred_len) != 0 || !cred || cred_len == 0 ||
        cred_len > sizeof(pk->cred_id)) {
        free(cred);
        return -1;
    }
    memcpy(pk->cred_id, cred, cred_len);
    pk->cred_id_len = cred_len;
    free(cred);
    if (c->ops->blob(c, 4, &pk->cose_key, &cose_len) != 0 || !pk->cose_key || !cose_len) {
        free(pk->cose_key);
        pk->cose_key = NULL;
        return -1;
    }
    pk->cose_key_len = cose_len;
    pk->sign_count = (uint32_t)I64(5);
    pk->created_us = I64(6);
    pk->last_used_us = I64(7);
    return 0;
}

int vigil__store_audit_from_cols(const vigil__cols_t *c, vigil_audit_row_t *a)
{
    a->id = I64(0);
    a->time_us = I64(1);
    TEXT(2, a->user);
    TEXT(3, a->client_ip);
    TEXT(4, a->action);
    TEXT(5, a->target);
    return c->ops->strdup(c, 6, &a->detail);
}
