/* libFuzzer driver: WebAuthn verification (vigil/webauthn.h,
 * src/auth/webauthn*.c), which reads what any browser -- or anyone -- posts
 * to the passkey ceremonies: clientDataJSON (jansson), the attestation
 * object and authenticator data (CBOR, libcbor behind a bounded walk), COSE
 * keys (OpenSSL) and signatures.
 *
 * The input is one registration and one login, length-prefixed:
 *   flags 1 (bit 0: require UV; bit 1: log in with the fixed key even when
 *            the registration passed)
 *   u16 n | registration clientDataJSON | u16 n | attestationObject
 *   u16 n | login clientDataJSON | u16 n | authenticatorData | signature (the rest)
 * (big-endian lengths, cut to what is there). The challenge is fixed (below),
 * RP id "cams.example.com", origin "https://cams.example.com", so the seeds
 * (tests/fuzz/corpus/webauthn, written by `webauthn_check seeds DIR`) are
 * valid ceremonies the mutations start from. A registration that passes must
 * give a credential whose COSE key vigil_webauthn_cose_key_check accepts
 * with the same algorithm; the login then uses that key (else a fixed P-256
 * key). The challenge extractor runs on both clientDataJSONs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/webauthn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Shared with tests/unit/auth/webauthn_check.c's seed writer. */
static const uint8_t challenge[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                      12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                      23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* A P-256 COSE key (py_webauthn's EC2 test vector). */
static const uint8_t fixed_key[] = {
    0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20, 0x87, 0x83, 0x4d, 0xef, 0xa0,
    0x37, 0xc0, 0x3e, 0xcd, 0x07, 0x25, 0x1e, 0x84, 0x67, 0x18, 0x55, 0x8d, 0xf1, 0xe8, 0x4c,
    0xd5, 0xbe, 0xf2, 0x02, 0xc6, 0xbc, 0x23, 0xc2, 0x88, 0xbe, 0x6a, 0x65, 0x22, 0x58, 0x20,
    0xe2, 0x71, 0x46, 0x4f, 0x9a, 0x71, 0xf2, 0x8e, 0xa0, 0xa4, 0xf6, 0x59, 0x84, 0xed, 0x35,
    0xc1, 0xdc, 0xbd, 0x72, 0xb0, 0xd2, 0x03, 0xf3, 0x60, 0xb6, 0x4c, 0x74, 0xbc, 0x6a, 0x6f,
    0x3c, 0x72};

static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_webauthn: broken promise: %s: %s\n", what, detail);
    abort();
}

/* The next length-prefixed part of the input. */
static const uint8_t *part(const uint8_t **p, size_t *left, size_t *n)
{
    size_t len = 0;
    if (*left >= 2) {
        len = (size_t)(*p)[0] << 8 | (*p)[1];
        *p += 2, *left -= 2;
    } else {
        *p += *left, *left = 0;
    }
    if (len > *left) len = *left;
    const uint8_t *out = *p;
    *p += len, *left -= len;
    *n = len;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const origins[] = {"https://cams.example.com"};
    char err[512];
    if (size < 1 || size > 65536) return 0;
    uint8_t flags = data[0];
    const uint8_t *p = data + 1;
    size_t left = size - 1, n1, n2, n3, n4;
    const uint8_t *cdj = part(&p, &left, &n1);
    const uint8_t *ao = part(&p, &left, &n2);
    const uint8_t *cdj2 = part(&p, &left, &n3);
    const uint8_t *ad = part(&p, &left, &n4);
    const uint8_t *sig = p;
    size_t sig_len = left;
    vigil_webauthn_rp_t rp = {"cams.example.com", origins, 1, flags & 1};

    uint8_t ch[64];
    size_t chn = 0;
    vigil_webauthn_client_challenge(cdj, n1, ch, sizeof ch, &chn, err, sizeof err);
    vigil_webauthn_client_challenge(cdj2, n3, ch, sizeof ch, &chn, err, sizeof err);

    vigil_webauthn_credential_t cred;
    const uint8_t *key = fixed_key;
    size_t key_len = sizeof fixed_key;
    if (vigil_webauthn_register_verify(&rp, challenge, sizeof challenge, cdj, n1, ao, n2, &cred, err,
                                       sizeof err) == VIGIL_OK) {
        int alg = 0;
        if (!cred.cose_key || cred.id_len < 1 || cred.id_len > VIGIL_WEBAUTHN_MAX_CREDENTIAL_ID)
            broken("registration passed", "without a key or with a bad id length");
        if (vigil_webauthn_cose_key_check(cred.cose_key, cred.cose_key_len, &alg, err, sizeof err) !=
            VIGIL_OK)
            broken("a registered COSE key is refused later", err);
        if (alg != cred.alg) broken("a registered COSE key", "changes algorithm");
        if (!(flags & 2)) key = cred.cose_key, key_len = cred.cose_key_len;
    } else if (cred.cose_key || cred.id_len) {
        broken("a refused registration", "left a credential behind");
    }
    uint32_t count = 0x5a5a5a5a;
    vigil_err_t e = vigil_webauthn_assert_verify(&rp, challenge, sizeof challenge, cdj2, n3, ad, n4,
                                                 sig, sig_len, key, key_len, 7, &count, err,
                                                 sizeof err);
    if (e == VIGIL_OK && count <= 7) broken("login passed", "with a sign count that did not grow");
    if (e != VIGIL_OK && count != 0x5a5a5a5a) broken("a refused login", "set the count");
    vigil_webauthn_credential_release(&cred);
    return 0;
}
