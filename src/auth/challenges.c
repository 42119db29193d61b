/* One-time challenges (vigil/auth.h) for WebAuthn ceremonies and the setup
 * token: 256 random bits handed to the client, kept in the warehouse as
 * SHA-256 of their bytes with a purpose and an expiry, so that any API
 * replica can take one another replica issued. take() deletes the row in the
 * same statement that finds it: of two requests presenting the same
 * challenge, exactly one gets it. Thread: a store handle is used by one
 * thread at a time. */
#include <string.h>

#include "auth/accounts_int.h"
#include "vigil/store.h"

vigil_err_t vigil_challenge_create(vigil_store_t *s, const char *purpose, int64_t user_id,
                                   int64_t now_us, int64_t ttl_s, uint8_t challenge[32],
                                   char *errstr, size_t n)
{
    char hash[VIGIL_STORE_HASH_HEX];
    uint8_t raw[VIGIL_CHALLENGE_LEN];
    if (!s || !challenge || !purpose || user_id < 0)
        return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "challenge: no store, purpose or buffer");
    if (ttl_s <= 0 || ttl_s > 7 * 24 * 3600)
        return vigil_seterr(errstr, n, VIGIL_ERR_INVALID,
                            "challenge: lifetime %lld s out of range (1 s to 7 days)",
                            (long long)ttl_s);
    vigil_random_bytes(raw, sizeof(raw));
    vigil_sha256_hex(raw, sizeof(raw), hash);
    vigil_err_t err = vigil_store_challenge_insert(s, purpose, hash, user_id, now_us,
                                                   now_us + ttl_s * 1000000, errstr, n);
    if (err == VIGIL_OK) memcpy(challenge, raw, sizeof(raw));
    memset(raw, 0, sizeof(raw));
    return err;
}

vigil_err_t vigil_challenge_take(vigil_store_t *s, const char *purpose, const uint8_t *challenge,
                                 size_t len, int64_t now_us, int64_t *user_id, char *errstr,
                                 size_t n)
{
    char hash[VIGIL_STORE_HASH_HEX];
    if (user_id) *user_id = 0;
    if (!s) return vigil_seterr(errstr, n, VIGIL_ERR_INVALID, "challenge: no store");
    if (!challenge || len != VIGIL_CHALLENGE_LEN)
        return vigil_seterr(errstr, n, VIGIL_ERR_NOT_FOUND, "challenge unknown, used or expired");
    vigil_sha256_hex(challenge, len, hash);
    return vigil_store_challenge_take(s, purpose, hash, now_us, user_id, errstr, n);
}
