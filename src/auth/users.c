/* Users: roles, names, adding and changing them, and the password login
 * with its lockout (vigil/auth.h).
 *
 * The main idea of the login: an attacker learns one bit per attempt, "in"
 * or "not in", and never which of name and password was wrong, nor from the
 * time taken: an unknown or malformed name costs the same Argon2 verify
 * against a dummy hash. Failures are counted in the warehouse by one
 * statement (vigil_store_user_login_result), so every API replica sees the
 * same count and concurrent guesses are all counted; the fifth in a row
 * locks the account for 15 minutes, doubled per further lock up to a day.
 * While locked the password is not even checked: guessing during a lock
 * teaches nothing and costs the server nothing.
 *
 * What it does not hide: that a name exists once it is locked (a locked
 * account answers "locked"). Names are not secrets in vigil; the API limits
 * attempts per client as well.
 *
 * Thread: a store handle is used by one thread at a time (vigil/store.h). */
#include <inttypes.h>
#include <string.h>

#include "auth/accounts_int.h"
#include "vigil/clock.h"
#include "vigil/store.h"

extern const char vigil__password_dummy_hash[];

static const char *const role_names[] = {
    [VIGIL_ROLE_NONE] = "none",
    [VIGIL_ROLE_VIEWER] = "viewer",
    [VIGIL_ROLE_OPERATOR] = "operator",
    [VIGIL_ROLE_ADMIN] = "admin",
};

const char *vigil_role_name(vigil_role_t role)
{
    return role >= VIGIL_ROLE_VIEWER && role <= VIGIL_ROLE_ADMIN ? role_names[role] : "none";
}

int vigil_role_parse(const char *name, vigil_role_t *out)
{
    if (!name) return -1;
    for (int r = VIGIL_ROLE_VIEWER; r <= VIGIL_ROLE_ADMIN; r++)
        if (!strcmp(name, role_names[r])) {
            if (out) *out = (vigil_role_t)r;
            return 0;
        }
    return -1;
}

static int name_char_ok(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '@' || c == '-';
}

int vigil_user_name_valid(const char *name)
{
    if (!name || !name[0]) return 0;
    size_t n = 0;
    for (const char *p = name; *p; p++, n++)
        if (n >= VIGIL_USER_NAME_MAX || !name_char_ok((unsigned char)*p)) return 0;
    return 1;
}

/* The message for a name that is not valid: the first offending character
 * (printable ASCII) or the length; the name itself is not repeated when it
 * is long or not printable. */
static vigil_err_t user_name_error(const char *name, char *errstr, size_t n)
{
    if (!name || !name[0])
        return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "user name is empty");
    size_t len = strnlen(name, VIGIL_USER_NAME_MAX + 1);
    if (len > VIGIL_USER_NAME_MAX)
        return vigil_seterr(errstr, n, VIGIL_ERR_INVALID,
                            "user name longer than %d characters", VIGIL_USER_NAME_MAX);
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (name_char_ok(c)) continue;
        if (c > 0x20 && c < 0x7f)
            return vigil_seterr(errstr, n, VIGIL_ERR_INVALID,
                                "user name \"%s\": character '%c' not allowed (letters, digits "
                                "and . _ @ - only)",
                                name, c);
        return vigil_seterr(errstr, n, VIGIL_ERR_INVALID,
                            "user name: byte 0x%02x at position %zu not allowed (letters, "
                            "digits and . _ @ - only)",
                            c, (size_t)(p - name));
    }
    return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "user name not valid");
}

static vigil_err_t user_role_error(vigil_role_t role, char *errstr, size_t n)
{
    return vigil_seterr(errstr, n, VIGIL_ERR_INVALID,
                        "unknown role %d: viewer, operator or admin", (int)role);
}

vigil_err_t vigil_user_add(vigil_store_t *s, const char *name, vigil_role_t role,
                           const char *password, int64_t *id, char *errstr, size_t n)
{
    char hash[VIGIL_PASSWORD_HASH_MAX];
    if (!s) return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "no store");
    if (!vigil_user_name_valid(name)) return user_name_error(name, errstr, n);
    if (role < VIGIL_ROLE_VIEWER || role > VIGIL_ROLE_ADMIN)
        return user_role_error(role, errstr, n);
    vigil_err_t err = vigil_password_hash(password, hash, sizeof(hash), errstr, n);
    if (err != VIGIL_OK) return err;
    err = vigil_store_user_insert(s, name, role, hash, vigil_now_us(), id, errstr, n);
    memset(hash, 0, sizeof(hash));
    return err;
}

vigil_err_t vigil_user_get(vigil_store_t *s, const char *name, vigil_user_t *out, char *errstr,
                           size_t n)
{
    if (!s || !out) return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "no store or user to fill");
    if (!vigil_user_name_valid(name))
        return vigil_seterr(errstr, n, VIGIL_ERR_NOT_FOUND, "no such user");
    return vigil_store_user_get(s, name, 0, out, NULL, 0, errstr, n);
}

vigil_err_t vigil_user_get_id(vigil_store_t *s, int64_t id, vigil_user_t *out, char *errstr,
                              size_t n)
{
    if (!s || !out) return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "no store or user to fill");
    return vigil_store_user_get(s, NULL, id, out, NULL, 0, errstr, n);
}

vigil_err_t vigil_user_list(vigil_store_t *s, vigil_user_t **users, size_t *n, char *errstr,
                            size_t en)
{
    return vigil_store_user_list(s, users, n, errstr, en);
}

vigil_err_t vigil_user_delete(vigil_store_t *s, const char *name, char *errstr, size_t n)
{
    if (!s) return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "no store");
    if (!vigil_user_name_valid(name))
        return vigil_seterr(errstr, n, VIGIL_ERR_NOT_FOUND, "no such user");
    return vigil_store_user_delete(s, name, errstr, n);
}

vigil_err_t vigil_user_set_role(vigil_store_t *s, const char *name, vigil_role_t role,
                                char *errstr, size_t n)
{
    if (!s) return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "no store");
    if (role < VIGIL_ROLE_VIEWER || role > VIGIL_ROLE_ADMIN)
        return user_role_error(role, errstr, n);
    if (!vigil_user_name_valid(name))
        return vigil_seterr(errstr, n, VIGIL_ERR_NOT_FOUND, "no such user");
    return vigil_store_user_update(s, name, role, NULL, errstr, n);
}

vigil_err_t vigil_user_set_password(vigil_store_t *s, const char *name, const char *password,
                                    char *errstr, size_t n)
{
    char hash[VIGIL_PASSWORD_HASH_MAX];
    if (!s) return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "no store");
    if (!vigil_user_name_valid(name))
        return vigil_seterr(errstr, n, VIGIL_ERR_NOT_FOUND, "no such user");
    vigil_err_t err = vigil_password_hash(password, hash, sizeof(hash), errstr, n);
    if (err != VIGIL_OK) return err;
    err = vigil_store_user_update(s, name, VIGIL_ROLE_NONE, hash, errstr, n);
    memset(hash, 0, sizeof(hash));
    return err;
}

int64_t vigil_user_count(vigil_store_t *s)
{
    int64_t count = 0;
    return vigil_store_user_count(s, &count, NULL, 0) == VIGIL_OK ? count : -1;
}

/* ---- login ------------------------------------------------------------- */

static const vigil_store_lockout_t login_policy = {
    .max_failures = VIGIL_LOGIN_MAX_FAILURES,
    .lock_us = (int64_t)VIGIL_LOGIN_LOCK_S * 1000000,
    .max_lock_us = (int64_t)VIGIL_LOGIN_LOCK_MAX_S * 1000000,
};

static vigil_err_t login_refused(char *errstr, size_t n)
{
    return vigil_seterr(errstr, n, VIGIL_ERR_NOT_FOUND, "invalid name or password");
}

vigil_err_t vigil_login_password(vigil_store_t *s, const char *name, const char *password,
                                 int64_t now_us, vigil_user_t *out, int64_t *retry_after_s,
                                 char *errstr, size_t n)
{
    char hash[VIGIL_PASSWORD_HASH_MAX];
    vigil_user_t user;
    vigil_err_t err;
    if (retry_after_s) *retry_after_s = 0;
    if (out) memset(out, 0, sizeof(*out));
    if (!s) return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "no store");
    if (!password) password = "";
    err = vigil_user_name_valid(name)
              ? vigil_store_user_get(s, name, 0, &user, hash, sizeof(hash), errstr, n)
              : VIGIL_ERR_NOT_FOUND;
    if (err == VIGIL_ERR_NOT_FOUND) {
        /* the same work as for a real user: the time tells nothing */
        (void)vigil_password_verify(vigil__password_dummy_hash, password);
        return login_refused(errstr, n);
    }
    if (err != VIGIL_OK) return err;
    if (user.locked_until_us > now_us) {
        int64_t left = (user.locked_until_us - now_us + 999999) / 1000000;
        if (retry_after_s) *retry_after_s = left > 0 ? left : 1;
        memset(hash, 0, sizeof(hash));
        return vigil_seterr(errstr, n, VIGIL_ERR_TIMED_OUT,
                            "account locked after too many failed logins: try again in %" PRId64
                            " s",
                            left > 0 ? left : 1);
    }
    int ok = vigil_password_verify(hash, password);
    memset(hash, 0, sizeof(hash));
    err = vigil_store_user_login_result(s, user.id, ok, now_us, &login_policy, &user, errstr, n);
    if (err == VIGIL_ERR_NOT_FOUND) return login_refused(errstr, n); /* deleted meanwhile */
    if (err != VIGIL_OK) return err;
    if (!ok) return login_refused(errstr, n);
    if (out) *out = user;
    return VIGIL_OK;
}
