/* WebAuthn (passkeys): verifying what a browser returns from
 * navigator.credentials.create() (registration, W3C WebAuthn §7.1) and
 * navigator.credentials.get() (login, §7.2).
 *
 * This header verifies; it stores nothing and issues nothing. The caller (the
 * API's ceremonies) issues the challenge, keeps it until it expires or is
 * used once, finds the stored credential by its id, and stores what a
 * registration returns (vigil/auth.h keeps passkeys and challenges).
 *
 * What is accepted:
 *  - credential keys ES256 (COSE alg -7: EC2, P-256) and RS256 (alg -257:
 *    RSA PKCS#1 v1.5 with SHA-256, 2048 to 4096-bit modulus); every other
 *    algorithm (EdDSA -8, ES384 -35, PS256 -37, ...) is refused by name;
 *  - attestation formats "none" (attStmt an empty map) and "packed": self
 *    attestation (signature by the credential key) or with a certificate
 *    (x5c: the signature by the leaf certificate's key, the certificate's
 *    §8.2.1 requirements and its AAGUID extension are checked). No trust
 *    chain is evaluated: vigil asks for attestation "none" and treats every
 *    accepted format alike (it records no attestation verdict). Other
 *    formats ("tpm", "android-key", "fido-u2f", "apple", ...) are refused.
 *  - CBOR in definite lengths only, without tags, nested at most 8 deep, as
 *    CTAP2's canonical encoding is; the clientDataJSON must be valid UTF-8
 *    JSON without duplicated keys.
 *
 * Everything given is outside input. Bounds: clientDataJSON 4 KiB,
 * attestationObject and authenticatorData 16 KiB, a credential id 1023
 * bytes, a signature 1024 bytes, a COSE key 2048 bytes; the challenge the
 * caller issued is 16 to 256 bytes. The challenge and the RP id hash are
 * compared in constant time. Messages start with "webauthn registration: "
 * or "webauthn login: ", name what was wrong with the offending value where
 * it is not a secret (an origin, a type, an algorithm; never a challenge or
 * key), and print at most 80 printable ASCII characters of any value given.
 *
 * Errors (vigil_err_t):
 *   VIGIL_ERR_INVALID    refused: a check failed (challenge, origin, type,
 *                        RP id, flags, signature, sign count, algorithm,
 *                        attestation format), or a bad argument
 *   VIGIL_ERR_DECODE     malformed clientDataJSON, CBOR, authenticator data
 *                        or COSE key
 *   VIGIL_ERR_TOO_LARGE  an input over its bound
 *   VIGIL_ERR_NOMEM      out of memory
 *
 * Thread: any; no state, no locks. OpenSSL's error queue of the calling
 * thread is left empty. */
#ifndef VIGIL_WEBAUTHN_H
#define VIGIL_WEBAUTHN_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

#define VIGIL_WEBAUTHN_MAX_CLIENT_DATA 4096
#define VIGIL_WEBAUTHN_MAX_ATTESTATION 16384
#define VIGIL_WEBAUTHN_MAX_AUTH_DATA 16384
#define VIGIL_WEBAUTHN_MAX_CREDENTIAL_ID 1023
#define VIGIL_WEBAUTHN_MAX_SIGNATURE 1024
#define VIGIL_WEBAUTHN_MAX_COSE_KEY 2048
#define VIGIL_WEBAUTHN_MIN_CHALLENGE 16
#define VIGIL_WEBAUTHN_MAX_CHALLENGE 256

/* COSE algorithm identifiers vigil accepts. */
#define VIGIL_WEBAUTHN_ALG_ES256 (-7)
#define VIGIL_WEBAUTHN_ALG_RS256 (-257)

/* The relying party: who vigil is to the browser. Borrowed for the call. */
typedef struct vigil_webauthn_rp {
    const char *rp_id;           /* "localhost", "cams.example.com" */
    const char *const *origins;  /* exact allowed origins: "https://cams.example.com" */
    size_t norigins;             /* at least 1 */
    int require_uv;              /* 1: user verification (UV flag) required */
} vigil_webauthn_rp_t;

/* A credential that a registration verified: what the caller stores. */
typedef struct vigil_webauthn_credential {
    uint8_t id[VIGIL_WEBAUTHN_MAX_CREDENTIAL_ID]; /* credential id (rawId) */
    size_t id_len;                                /* 1..1023 */
    uint8_t *cose_key;   /* the COSE_Key bytes as the authenticator sent them
                          * (malloc'd; vigil_webauthn_credential_release) */
    size_t cose_key_len;
    int alg;             /* VIGIL_WEBAUTHN_ALG_ES256 or _RS256 */
    uint32_t sign_count; /* the authenticator's counter at registration */
    uint8_t aaguid[16];  /* authenticator model (zeros when not told) */
    int backup_eligible; /* BE flag: a synced passkey may be copied */
    int backed_up;       /* BS flag: it is backed up now */
    int user_verified;   /* UV flag of this registration */
} vigil_webauthn_credential_t;

/* Verifies a registration (§7.1): clientDataJSON (type "webauthn.create",
 * challenge the base64url of `challenge`, origin one of rp->origins,
 * crossOrigin not true), the attestationObject (CBOR map of fmt, attStmt,
 * authData), authData (rpIdHash = SHA-256(rp_id), UP set, UV set when
 * required, BS only with BE, AT set, the attested credential and its COSE
 * key: an accepted algorithm and a valid public key on its curve), and the
 * attestation statement (above). Checking that the credential id is not
 * registered already is the caller's (§7.1 step "credentialId not yet
 * registered").
 *
 * On success *out holds the credential (out->cose_key allocated; release it
 * with vigil_webauthn_credential_release); on failure *out is zeroed and
 * holds nothing to release. */
vigil_err_t vigil_webauthn_register_verify(const vigil_webauthn_rp_t *rp, const uint8_t *challenge,
                                           size_t challenge_len, const uint8_t *client_data_json,
                                           size_t cdj_len, const uint8_t *attestation_object,
                                           size_t ao_len, vigil_webauthn_credential_t *out,
                                           char *errstr, size_t errstr_size);

/* Verifies a login assertion (§7.2) against a stored credential:
 * clientDataJSON (type "webauthn.get", challenge, origin, crossOrigin not
 * true), authenticatorData (rpIdHash, UP, UV when required, BS only with
 * BE), the signature over authenticatorData || SHA-256(clientDataJSON) with
 * the stored COSE key (ES256: a DER ECDSA signature; RS256: PKCS#1 v1.5),
 * then the sign count: when the stored or the new count is not zero, the new
 * one must be greater, else "sign count regression: possible cloned
 * authenticator". On success *new_count is the authenticator's count (store
 * it); the user id (userHandle) and the allowed credential list are the
 * caller's to check. *new_count is untouched on failure. */
vigil_err_t vigil_webauthn_assert_verify(const vigil_webauthn_rp_t *rp, const uint8_t *challenge,
                                         size_t challenge_len, const uint8_t *client_data_json,
                                         size_t cdj_len, const uint8_t *auth_data, size_t ad_len,
                                         const uint8_t *signature, size_t sig_len,
                                         const uint8_t *cose_key, size_t cose_key_len,
                                         uint32_t stored_count, uint32_t *new_count, char *errstr,
                                         size_t errstr_size);

/* The challenge a clientDataJSON claims (base64url-decoded into out, *n
 * bytes), so the caller can find the challenge it issued before verifying.
 * Nothing else is checked: the verify functions do that. Errors: DECODE (not
 * JSON, no "challenge" string, not base64url), TOO_LARGE (cdj over 4 KiB, or
 * the challenge longer than out_size). */
vigil_err_t vigil_webauthn_client_challenge(const uint8_t *cdj, size_t len, uint8_t *out,
                                            size_t out_size, size_t *n, char *errstr,
                                            size_t errstr_size);

/* Checks that a stored COSE key is one vigil can verify with (an accepted
 * algorithm, a valid public key); *alg is its algorithm. For keys read back
 * from the warehouse. */
vigil_err_t vigil_webauthn_cose_key_check(const uint8_t *cose_key, size_t len, int *alg,
                                          char *errstr, size_t errstr_size);

/* Frees what c holds (its COSE key) and zeroes it; c itself is the caller's
 * (STYLE.md: _release, not _free). NULL is a no-op. */
void vigil_webauthn_credential_release(vigil_webauthn_credential_t *c);

#endif
