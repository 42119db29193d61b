/* A tiny software authenticator for the WebAuthn tests: it makes real
 * registrations and assertions, as a browser and a security key would,
 * with OpenSSL keys (P-256 or RSA-2048) and libcbor, and every part can be
 * bent to make the hostile variants (another origin, a flipped signature
 * bit, a missing flag, a foreign attestation format...).
 *
 * Self-contained (OpenSSL, libcbor, libc): linked into every test of
 * tests/unit/auth and into webauthn_check. Buffers it returns are malloc'd;
 * the caller frees them. Functions return 0 on success, -1 on failure. */
#ifndef VIGIL_TEST_WEBAUTHN_SUPPORT_H
#define VIGIL_TEST_WEBAUTHN_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>
#include <openssl/evp.h>

#define WA_RP_ID "cams.example.com"
#define WA_ORIGIN "https://cams.example.com"

typedef struct wa_authn {
    EVP_PKEY *key;         /* the credential's private key */
    int alg;               /* -7 or -257 */
    uint8_t cred_id[1100]; /* lets a test exceed the 1023-byte limit */
    size_t cred_id_len;
    uint8_t aaguid[16];
    uint8_t cose[1024];    /* the credential public key as COSE_Key */
    size_t cose_len;
    EVP_PKEY *att_key;     /* packed x5c: the attestation key (P-256) ... */
    uint8_t *att_cert;     /* ... and its DER certificate */
    size_t att_cert_len;
} wa_authn_t;

/* A new credential: alg -7 (P-256) or -257 (RSA-2048), a random 32-byte id,
 * a fixed AAGUID. cose_alg: the alg label written into the COSE key (0: the
 * real one; another value makes a key vigil must refuse). */
int wa_authn_init(wa_authn_t *a, int alg, int cose_alg);
void wa_authn_release(wa_authn_t *a);

/* How one response is made. wa_opts_init sets the good defaults. */
typedef struct wa_opts {
    const char *rp_id;        /* hashed into authData (WA_RP_ID) */
    const char *origin;       /* clientDataJSON origin (WA_ORIGIN) */
    const char *type;         /* NULL: "webauthn.create" / "webauthn.get" */
    const uint8_t *challenge; /* as issued */
    size_t challenge_len;
    int cross_origin;         /* -1 absent (default), 0 false, 1 true */
    int flags;                /* -1: UP|UV (|AT for registration) */
    uint32_t count;           /* signCount */
    const char *fmt;          /* "none" (default), "packed" (self), "packed-x5c", or any
                               * other name, sent with an empty attStmt */
    int flip_sig_bit;         /* flip one bit of the signature (assertion, packed) */
    const uint8_t *ext;       /* authData extensions bytes (with ED in flags) */
    size_t ext_len;
    const char *extra_json;   /* appended inside the clientDataJSON object, e.g. ",\"a\":1" */
} wa_opts_t;

void wa_opts_init(wa_opts_t *o, const uint8_t *challenge, size_t challenge_len);

/* A registration: clientDataJSON and attestationObject. */
int wa_make_registration(wa_authn_t *a, const wa_opts_t *o, uint8_t **cdj, size_t *cdj_len,
                         uint8_t **ao, size_t *ao_len);

/* An assertion: clientDataJSON, authenticatorData, signature. */
int wa_make_assertion(wa_authn_t *a, const wa_opts_t *o, uint8_t **cdj, size_t *cdj_len,
                      uint8_t **ad, size_t *ad_len, uint8_t **sig, size_t *sig_len);

/* The parts, for tests that assemble their own. */
char *wa_client_data(const char *type, const uint8_t *challenge, size_t n, const char *origin,
                     int cross_origin, const char *extra_json);
int wa_auth_data(const wa_authn_t *a, const char *rp_id, uint8_t flags, uint32_t count,
                 int attested, const uint8_t *ext, size_t ext_len, uint8_t **out, size_t *len);
int wa_sign(EVP_PKEY *key, const uint8_t *ad, size_t ad_len, const uint8_t *cdj, size_t cdj_len,
            uint8_t **sig, size_t *sig_len);
/* {"fmt": fmt, "attStmt": att_stmt (a map; NULL: empty), "authData": ad}; takes no
 * reference of att_stmt (the caller still decrefs it). */
int wa_attestation_object(const char *fmt, cbor_item_t *att_stmt, const uint8_t *ad,
                          size_t ad_len, uint8_t **out, size_t *len);
/* base64url without padding; malloc'd, NUL-terminated. */
char *wa_b64url(const uint8_t *d, size_t n);
/* base64url (padding '=' ignored) into a malloc'd buffer; -1 on a bad character. */
int wa_b64url_decode(const char *s, uint8_t **out, size_t *len);

#endif
