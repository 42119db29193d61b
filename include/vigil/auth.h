/* Accounts: users and their roles, password hashes, sessions, bearer
 * tokens, passkey records, one-time challenges and the audit log, all kept
 * in the warehouse so that every API replica sees the same (docs/security.md,
 * "Accounts").
 *
 * What is stored, and how: a password only as its Argon2id string; a session
 * id, a bearer token and a challenge only as SHA-256 (hex) of their bytes.
 * The plaintext of each is handed out once, by the call that makes it, and
 * is never logged nor put in an error message. Names (users, token and
 * passkey labels) are not secrets and may appear in messages.
 *
 * Errors (vigil_err_t, message in errstr: "what, which, why"):
 *   VIGIL_ERR_INVALID    a bad argument (a name, a password's length, a role)
 *   VIGIL_ERR_NOT_FOUND  no such user, session, token, passkey or challenge;
 *                        also an expired or revoked session, token or
 *                        challenge, and every refused password login
 *   VIGIL_ERR_EXISTS     the user name or passkey credential id is taken
 *   VIGIL_ERR_TIMED_OUT  vigil_login_password only: the account is locked
 *                        (*retry_after_s says for how long; the API answers
 *                        429 with Retry-After). No other failure of a login
 *                        has this code.
 *   others               the warehouse failed (VIGIL_ERR_AGAIN: busy, retry)
 *
 * Time: every call that depends on the time takes now_us (microseconds since
 * the epoch, vigil_now_us()) so that tests can move it.
 *
 * Thread: the functions take a store handle, which is used by one thread at
 * a time (vigil/store.h); otherwise they keep no state and take no lock. */
#ifndef VIGIL_AUTH_H
#define VIGIL_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

typedef struct vigil_store vigil_store_t; /* vigil/store.h */

/* ---- roles ---------------------------------------------------------------- */

typedef enum vigil_role {
    VIGIL_ROLE_NONE = 0,
    VIGIL_ROLE_VIEWER = 1,   /* read everything but secrets */
    VIGIL_ROLE_OPERATOR = 2, /* cameras on/off, zones, review */
    VIGIL_ROLE_ADMIN = 3,    /* everything, accounts included */
} vigil_role_t;

/* "viewer", "operator", "admin"; "none" for VIGIL_ROLE_NONE and unknown values. */
const char *vigil_role_name(vigil_role_t role);
/* "viewer", "operator" or "admin" (exact case) into *out: 0, or -1 if unknown. */
int vigil_role_parse(const char *name, vigil_role_t *out);

/* ---- passwords -------------------------------------------------------------- */

/* Argon2id as OWASP recommends: m = 19456 KiB, t = 2, p = 1, 16-byte salt
 * from getrandom, 32-byte tag. */
#define VIGIL_PASSWORD_M_KIB 19456
#define VIGIL_PASSWORD_T 2
#define VIGIL_PASSWORD_P 1
#define VIGIL_PASSWORD_MIN 8      /* bytes */
#define VIGIL_PASSWORD_MAX 1024   /* bytes */
#define VIGIL_PASSWORD_HASH_MAX 128 /* an encoded hash fits (with its NUL) */

/* Hashes password (8..1024 bytes) into encoded
 * ("$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH"). VIGIL_ERR_INVALID for a
 * password of the wrong length or a buffer too small, VIGIL_ERR_NOMEM when
 * Argon2 cannot get its memory. Thread: any. */
vigil_err_t vigil_password_hash(const char *password, char *encoded, size_t encoded_size,
                                char *errstr, size_t errstr_size);
/* 1 if password matches encoded, 0 if not (also for a malformed encoded
 * string or an over-long password). Argon2's comparison is constant time;
 * the time depends on encoded's parameters only. Thread: any. */
int vigil_password_verify(const char *encoded, const char *password);

/* ---- users ------------------------------------------------------------------ */

#define VIGIL_USER_NAME_MAX 63 /* [A-Za-z0-9._@-]{1,63}, case-sensitive */

typedef struct vigil_user {
    int64_t id; /* never reused */
    char name[64];
    vigil_role_t role;
    int64_t created_us;
    int64_t locked_until_us; /* lockout state, shared by API replicas */
    int failed_logins;       /* failures in a row since the last success or lock */
} vigil_user_t;

/* Whether name is a valid user name. */
int vigil_user_name_valid(const char *name);

/* Adds a user. VIGIL_ERR_INVALID (name, role, password length),
 * VIGIL_ERR_EXISTS if the name is taken. *id (may be NULL) gets its id. */
vigil_err_t vigil_user_add(vigil_store_t *s, const char *name, vigil_role_t role,
                           const char *password, int64_t *id, char *errstr, size_t n);
/* VIGIL_ERR_NOT_FOUND if there is no such user. */
vigil_err_t vigil_user_get(vigil_store_t *s, const char *name, vigil_user_t *out, char *errstr,
                           size_t n);
vigil_err_t vigil_user_get_id(vigil_store_t *s, int64_t id, vigil_user_t *out, char *errstr,
                              size_t n);
/* Every user, by name. *users malloc'd (free it). */
vigil_err_t vigil_user_list(vigil_store_t *s, vigil_user_t **users, size_t *n, char *errstr,
                            size_t en);
/* Deletes the user with its sessions, tokens, passkeys and challenges (one
 * transaction). VIGIL_ERR_NOT_FOUND; VIGIL_ERR_INVALID for the last admin
 * (add another admin first), so that the accounts never lose their admin. */
vigil_err_t vigil_user_delete(vigil_store_t *s, const char *name, char *errstr, size_t n);
/* Sets the role. VIGIL_ERR_NOT_FOUND; VIGIL_ERR_INVALID for an unknown role
 * or for taking the last admin's role away. Sessions and tokens follow at
 * once: they carry the user, not the role. */
vigil_err_t vigil_user_set_role(vigil_store_t *s, const char *name, vigil_role_t role,
                                char *errstr, size_t n);
/* Sets a new password, clears the lockout and revokes every session of the
 * user (its bearer tokens stay). VIGIL_ERR_NOT_FOUND, VIGIL_ERR_INVALID. */
vigil_err_t vigil_user_set_password(vigil_store_t *s, const char *name, const char *password,
                                    char *errstr, size_t n);
/* How many users there are; -1 on error. */
int64_t vigil_user_count(vigil_store_t *s);

/* Lockout: after VIGIL_LOGIN_MAX_FAILURES failed logins in a row a user is
 * locked for VIGIL_LOGIN_LOCK_S, doubled for each further lock, at most
 * VIGIL_LOGIN_LOCK_MAX_S. A success ends the series (and the doubling). The
 * counters are updated by one statement in the warehouse, so replicas share
 * them and concurrent failures are all counted. */
#define VIGIL_LOGIN_MAX_FAILURES 5
#define VIGIL_LOGIN_LOCK_S (15 * 60)
#define VIGIL_LOGIN_LOCK_MAX_S (24 * 3600)

/* Checks name and password. VIGIL_OK and *out (may be NULL) on success.
 * Else the errstr is always "invalid name or password" and the code
 * VIGIL_ERR_NOT_FOUND, whichever was wrong (an unknown or malformed name runs
 * the same Argon2 verify against a fixed dummy hash, so the time does not
 * tell either); or VIGIL_ERR_TIMED_OUT with *retry_after_s (may be NULL;
 * >= 1) the seconds until the lock ends: "account locked" (the password is
 * not checked while locked, and attempts do not extend the lock). A store
 * failure has the store's code and message. */
vigil_err_t vigil_login_password(vigil_store_t *s, const char *name, const char *password,
                                 int64_t now_us, vigil_user_t *out, int64_t *retry_after_s,
                                 char *errstr, size_t n);

/* ---- who a request acts for ------------------------------------------------- */

typedef enum vigil_auth_kind {
    VIGIL_AUTH_NONE,
    VIGIL_AUTH_SESSION,
    VIGIL_AUTH_TOKEN,
    VIGIL_AUTH_SETUP,
    VIGIL_AUTH_DISABLED,
} vigil_auth_kind_t;

typedef struct vigil_principal {
    vigil_auth_kind_t kind;
    int64_t user_id;
    char user[64];
    vigil_role_t role;
    int can_write;         /* token scope "write" or a session */
    int64_t credential_id; /* the session's or token's row id (for "this session" in lists) */
    char csrf[48];         /* sessions: the session's CSRF token (base64url) */
} vigil_principal_t;

/* ---- sessions ----------------------------------------------------------------
 * The id is 32 random bytes in base64url (43 characters), given to the
 * client once; the warehouse keeps SHA-256(id) in hex. A session ends at its
 * absolute expiry (created + ttl), when unused for idle_s, when revoked
 * (logout, the user's password changed, the user deleted). Its CSRF token
 * (32 random bytes, base64url) is stored with it. */

#define VIGIL_SESSION_ID_LEN 43
#define VIGIL_SESSION_TOUCH_S 60 /* last_seen is written at most once a minute */

vigil_err_t vigil_session_create(vigil_store_t *s, int64_t user_id, const char *client_ip,
                                 const char *user_agent, int64_t now_us, int64_t ttl_s,
                                 char sid[64], char csrf[48], char *errstr, size_t n);
/* The principal of a session id: VIGIL_ERR_NOT_FOUND for an unknown, expired
 * (absolute or idle; an expired one is deleted) or revoked session, or a
 * string that cannot be a session id. idle_s 0 = no idle limit. */
vigil_err_t vigil_session_check(vigil_store_t *s, const char *sid, int64_t now_us, int64_t idle_s,
                                vigil_principal_t *out, char *errstr, size_t n);

typedef struct vigil_session_info {
    int64_t id;
    int64_t user_id;
    char user[64];
    int64_t created_us, last_seen_us, expires_us;
    char client_ip[64];
    char user_agent[128]; /* cut at a character boundary, control characters dropped */
} vigil_session_info_t;

/* Sessions not expired at absolute expiry, newest first; user_id 0 = every
 * user. *out malloc'd (free it). */
vigil_err_t vigil_session_list(vigil_store_t *s, int64_t user_id, vigil_session_info_t **out,
                               size_t *n, char *errstr, size_t en);
/* Revokes (deletes) a session by row id; with user_id != 0 only one of that
 * user's (VIGIL_ERR_NOT_FOUND otherwise, as for no such session). */
vigil_err_t vigil_session_revoke(vigil_store_t *s, int64_t session_row_id, int64_t user_id,
                                 char *errstr, size_t n);
/* Logout: revokes the session of this id. VIGIL_ERR_NOT_FOUND if none. */
vigil_err_t vigil_session_revoke_sid(vigil_store_t *s, const char *sid, char *errstr, size_t n);

/* ---- bearer tokens -----------------------------------------------------------
 * "vgl_" + 32 random bytes in base64url (47 characters); stored as SHA-256
 * hex with its first VIGIL_TOKEN_PREFIX_LEN characters for recognition.
 * Scope read or write; a write token still acts with its user's role. */

#define VIGIL_TOKEN_LEN 47
#define VIGIL_TOKEN_PREFIX_LEN 8 /* "vgl_" and 4 characters */
#define VIGIL_TOKEN_TOUCH_S 60   /* last_used is written at most once a minute */
#define VIGIL_AUTH_LABEL_MAX 63  /* token and passkey labels: 0..63 bytes, no control characters */

/* Creates a token for user (a name); name is its label (NULL or "" for
 * none). expires_us 0 = never, else it must be after now_us. token gets the
 * token (given out once), *id (may be NULL) its row id. */
vigil_err_t vigil_token_create(vigil_store_t *s, const char *user, const char *name,
                               int write_scope, int64_t expires_us, int64_t now_us,
                               char token[64], int64_t *id, char *errstr, size_t n);
/* The principal of a token: VIGIL_ERR_NOT_FOUND for an unknown, expired or
 * revoked token (or a string that cannot be one). Records last_used. */
vigil_err_t vigil_token_check(vigil_store_t *s, const char *token, int64_t now_us,
                              vigil_principal_t *out, char *errstr, size_t n);

typedef struct vigil_token_info {
    int64_t id;
    int64_t user_id;
    char user[64];
    char name[64];
    int write_scope;
    int64_t created_us, expires_us, last_used_us; /* expires 0 = never, last_used 0 = never */
    char prefix[12]; /* first chars, for recognition */
} vigil_token_info_t;

/* Tokens (expired ones too), by id; user_id 0 = every user. *out malloc'd. */
vigil_err_t vigil_token_list(vigil_store_t *s, int64_t user_id, vigil_token_info_t **out,
                             size_t *n, char *errstr, size_t en);
/* Revokes (deletes) token id; with user_id != 0 only one of that user's. */
vigil_err_t vigil_token_revoke(vigil_store_t *s, int64_t id, int64_t user_id, char *errstr,
                               size_t n);

/* ---- passkey records ------------------------------------------------------------
 * Stored as vigil/webauthn.h verified them; this module only keeps them. */

typedef struct vigil_passkey {
    int64_t id;
    int64_t user_id;
    char name[64];
    uint8_t cred_id[1023];
    size_t cred_id_len;
    uint8_t *cose_key; /* malloc'd by get/list; vigil_passkey_free_fields */
    size_t cose_key_len;
    uint32_t sign_count;
    int64_t created_us, last_used_us;
} vigil_passkey_t;

#define VIGIL_PASSKEY_COSE_MAX 2048

/* Stores a passkey of user_id: name a label (NULL or "" for none), cred_id
 * 1..1023 bytes, cose_key 1..2048. VIGIL_ERR_EXISTS if the credential id is
 * stored already (for any user), VIGIL_ERR_NOT_FOUND if there is no such user. */
vigil_err_t vigil_passkey_add(vigil_store_t *s, int64_t user_id, const char *name,
                              const uint8_t *cred_id, size_t cred_id_len, const uint8_t *cose_key,
                              size_t cose_key_len, uint32_t sign_count, int64_t now_us,
                              int64_t *id, char *errstr, size_t n);
/* The passkey of a credential id. out->cose_key malloc'd. VIGIL_ERR_NOT_FOUND. */
vigil_err_t vigil_passkey_get_by_cred(vigil_store_t *s, const uint8_t *cred_id, size_t len,
                                      vigil_passkey_t *out, char *errstr, size_t n);
/* The passkeys of user_id, by id. *out malloc'd, free with vigil_passkey_list_free. */
vigil_err_t vigil_passkey_list(vigil_store_t *s, int64_t user_id, vigil_passkey_t **out,
                               size_t *n, char *errstr, size_t en);
/* Records a login: the new sign count and last_used. The warehouse refuses a
 * count that does not grow (VIGIL_ERR_INVALID), so two replicas cannot both
 * accept the same assertion; 0 after 0 is accepted (authenticators without a
 * counter). VIGIL_ERR_NOT_FOUND if there is no such passkey. */
vigil_err_t vigil_passkey_update_count(vigil_store_t *s, int64_t id, uint32_t sign_count,
                                       int64_t now_us, char *errstr, size_t n);
/* Deletes passkey id; with user_id != 0 only one of that user's. */
vigil_err_t vigil_passkey_delete(vigil_store_t *s, int64_t id, int64_t user_id, char *errstr,
                                 size_t n);
void vigil_passkey_free_fields(vigil_passkey_t *pk);
void vigil_passkey_list_free(vigil_passkey_t *pks, size_t n);

/* ---- one-time challenges -----------------------------------------------------------
 * For WebAuthn ceremonies and the setup token, in the warehouse so that API
 * replicas share them: 32 random bytes, stored as SHA-256 hex. take() deletes
 * atomically (single use) and refuses expired ones. purpose: "register",
 * "login", "setup" (or another [a-z_]{1,31}). */

#define VIGIL_CHALLENGE_LEN 32

/* user_id 0 = none (a login before the user is known, the setup token). */
vigil_err_t vigil_challenge_create(vigil_store_t *s, const char *purpose, int64_t user_id,
                                   int64_t now_us, int64_t ttl_s, uint8_t challenge[32],
                                   char *errstr, size_t n);
/* Takes (deletes) the challenge: VIGIL_OK and *user_id (may be NULL), or
 * VIGIL_ERR_NOT_FOUND if it was never issued for this purpose, was taken
 * already, or has expired. */
vigil_err_t vigil_challenge_take(vigil_store_t *s, const char *purpose, const uint8_t *challenge,
                                 size_t len, int64_t now_us, int64_t *user_id, char *errstr,
                                 size_t n);

/* ---- audit log ------------------------------------------------------------------
 * Who changed what. Rows name the user (not its id), so they outlive it. */

#define VIGIL_AUDIT_DETAIL_MAX 4096

/* who NULL = "" (nobody known); client_ip NULL = "". action (1..63 bytes,
 * "camera.update"), target (0..127, "lobby"), detail: a JSON text (at most
 * 4 KiB, checked) or NULL. Never put a secret in any of them. */
vigil_err_t vigil_audit_add(vigil_store_t *s, int64_t now_us, const vigil_principal_t *who,
                            const char *client_ip, const char *action, const char *target,
                            const char *detail, char *errstr, size_t n);

typedef struct vigil_audit_row {
    int64_t id, time_us;
    char user[64];
    char client_ip[64];
    char action[64];
    char target[128];
    char *detail; /* malloc'd JSON or NULL */
} vigil_audit_row_t;

/* Newest first: rows with id < before_id (0 = from the newest), at most
 * limit (1..1000). *rows malloc'd; vigil_audit_rows_free. */
vigil_err_t vigil_audit_list(vigil_store_t *s, int64_t before_id, int limit,
                             vigil_audit_row_t **rows, size_t *n, char *errstr, size_t en);
void vigil_audit_rows_free(vigil_audit_row_t *rows, size_t n);

/* ---- helpers ------------------------------------------------------------------ */

/* base64url without padding into out (NUL-terminated; an empty string if
 * out_size < 4 * ceil(n / 3) + 1 would not fit). */
void vigil_b64url_encode(const uint8_t *in, size_t n, char *out, size_t out_size);
/* Strict base64url without padding: 0 and *n bytes, or -1 (a character
 * outside the alphabet, '=' padding, a length of 4k + 1, non-zero trailing
 * bits, or more than out_size bytes). */
int vigil_b64url_decode(const char *in, uint8_t *out, size_t out_size, size_t *n);
/* getrandom(2); aborts the process if the kernel cannot give randomness. */
void vigil_random_bytes(uint8_t *buf, size_t n);
/* SHA-256 of data as 64 lowercase hex characters and a NUL. */
void vigil_sha256_hex(const void *data, size_t len, char out[65]);

#endif
