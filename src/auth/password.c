/* Password hashes: Argon2id through libargon2 (Debian's libargon2-dev).
 *
 * Parameters as OWASP's Password Storage Cheat Sheet recommends for
 * Argon2id: 19 MiB of memory, 2 passes, 1 lane; a 16-byte salt from
 * getrandom and a 32-byte tag, in the PHC string format that carries its own
 * parameters ("$argon2id$v=19$m=19456,t=2,p=1$SALT$TAG"), so that stronger
 * parameters later still verify the hashes stored before.
 *
 * Verify uses argon2id_verify, which recomputes the tag with the stored
 * parameters and salt and compares in constant time. A login for a name that
 * does not exist verifies against vigil__password_dummy_hash (same
 * parameters) so that it costs what a real one costs.
 *
 * Thread: any; about 20 MiB and 30 ms of one core per call. */
#include <argon2.h>
#include <string.h>

#include "vigil/auth.h"

#define PASSWORD_SALT_LEN 16
#define PASSWORD_TAG_LEN 32

/* A hash of a random password nobody knows, with the parameters above: what
 * a login for an unknown name verifies against (tests check that its
 * parameters are the current ones). */
const char vigil__password_dummy_hash[] =
    "$argon2id$v=19$m=19456,t=2,p=1$5tQrVXYXGo5eR6mrvtP9wg$"
    "guB6cwQ4OPpjIzgmteJl8hHfqRngbdrSn8dd+VyZlE8";

vigil_err_t vigil_password_hash(const char *password, char *encoded, size_t encoded_size,
                                char *errstr, size_t errstr_size)
{
    if (encoded && encoded_size) encoded[0] = '\0';
    if (!password || !encoded)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "password hash: no password");
    size_t len = strnlen(password, VIGIL_PASSWORD_MAX + 1);
    if (len < VIGIL_PASSWORD_MIN || len > VIGIL_PASSWORD_MAX)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "password of %s%zu bytes: it must have %d to %d",
                            len > VIGIL_PASSWORD_MAX ? "over " : "",
                            len > VIGIL_PASSWORD_MAX ? (size_t)VIGIL_PASSWORD_MAX : len,
                            VIGIL_PASSWORD_MIN, VIGIL_PASSWORD_MAX);
    size_t need = argon2_encodedlen(VIGIL_PASSWORD_T, VIGIL_PASSWORD_M_KIB, VIGIL_PASSWORD_P,
                                    PASSWORD_SALT_LEN, PASSWORD_TAG_LEN, Argon2_id);
    if (encoded_size < need)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "password hash: buffer of %zu bytes, %zu needed", encoded_size, need);
    uint8_t salt[PASSWORD_SALT_LEN];
    vigil_random_bytes(salt, sizeof(salt));
    int rc = argon2id_hash_encoded(VIGIL_PASSWORD_T, VIGIL_PASSWORD_M_KIB, VIGIL_PASSWORD_P,
                                   password, len, salt, sizeof(salt), PASSWORD_TAG_LEN, encoded,
                                   encoded_size);
    if (rc != ARGON2_OK) {
        encoded[0] = '\0';
        return vigil_seterr(errstr, errstr_size,
                            rc == ARGON2_MEMORY_ALLOCATION_ERROR ? VIGIL_ERR_NOMEM
                                                                 : VIGIL_ERR_INVALID,
                            "password hash: argon2id: %s", argon2_error_message(rc));
    }
    return VIGIL_OK;
}

int vigil_password_verify(const char *encoded, const char *password)
{
    if (!encoded || !password || strncmp(encoded, "$argon2id$", 10) != 0) return 0;
    size_t len = strnlen(password, VIGIL_PASSWORD_MAX + 1);
    if (len > VIGIL_PASSWORD_MAX) return 0;
    return argon2id_verify(encoded, password, len) == ARGON2_OK;
}
