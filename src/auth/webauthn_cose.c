/* COSE keys (RFC 9052/9053) into OpenSSL public keys, and the signatures
 * WebAuthn verifies with them.
 *
 * A credential public key is a CBOR map of integer labels: 1 kty, 3 alg,
 * and per key type -1, -2, -3. vigil accepts two:
 *   ES256 (alg -7):   kty 2 (EC2), crv 1 (P-256), x and y 32 bytes each
 *   RS256 (alg -257): kty 3 (RSA), n (2048-4096 bits), e
 * The alg is checked first, so an EdDSA or ES384 key is refused by its name,
 * then the key type and its parameters, then the key's own checks (EC:
 * OpenSSL's public key check, the point is on the curve and not at infinity;
 * RSA: deterministic ones, the modulus odd, the exponent odd and 3 <= e < n).
 * A key passes or fails the same way every time, so a registered key is
 * never refused at login. Labels vigil does not know are
 * ignored; a label present twice is refused. OpenSSL's error queue is
 * emptied before each return. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "auth/webauthn_int.h"

const char *vigil__wa_alg_name(int64_t alg)
{
    switch (alg) {
    case -7: return "ES256";
    case -8: return "EdDSA";
    case -35: return "ES384";
    case -36: return "ES512";
    case -37: return "PS256";
    case -38: return "PS384";
    case -39: return "PS512";
    case -47: return "ES256K";
    case -257: return "RS256";
    case -258: return "RS384";
    case -259: return "RS512";
    case -65535: return "RS1";
    default: return "unknown";
    }
}

/* A byte string parameter of the key, or NULL with errstr set. */
static const cbor_item_t *key_bytes(const char *what, const cbor_item_t *map, int64_t label,
                                    const char *name, char *errstr, size_t errstr_size)
{
    int dup = 0;
    const cbor_item_t *v = vigil__wa_map_int(map, label, &dup);
    if (dup)
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                     "%s: credential public key: label %lld (%s) present twice", what,
                     (long long)label, name);
    else if (!v || !cbor_isa_bytestring(v))
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                     "%s: credential public key: no %s (label %lld, a byte string)", what, name,
                     (long long)label);
    else
        return v;
    return NULL;
}

/* An integer parameter; 0 with errstr set when absent or not an integer. */
static int key_int(const char *what, const cbor_item_t *map, int64_t label, const char *name,
                   int64_t *out, char *errstr, size_t errstr_size)
{
    int dup = 0;
    const cbor_item_t *v = vigil__wa_map_int(map, label, &dup);
    if (dup)
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                     "%s: credential public key: label %lld (%s) present twice", what,
                     (long long)label, name);
    else if (!vigil__wa_cbor_int(v, out))
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                     "%s: credential public key: no %s (label %lld, an integer)", what, name,
                     (long long)label);
    else
        return 1;
    return 0;
}

static int public_check(EVP_PKEY *pkey)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = c && EVP_PKEY_public_check(c) == 1;
    EVP_PKEY_CTX_free(c);
    return ok;
}

static vigil_err_t ec2_key(const char *what, const cbor_item_t *map, EVP_PKEY **pkey,
                           char *errstr, size_t errstr_size)
{
    int64_t crv;
    if (!key_int(what, map, -1, "crv", &crv, errstr, errstr_size)) return VIGIL_ERR_DECODE;
    if (crv != 1)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: credential public key: curve %lld with alg -7 (ES256 is P-256, "
                            "crv 1)",
                            what, (long long)crv);
    const cbor_item_t *x = key_bytes(what, map, -2, "x", errstr, errstr_size);
    if (!x) return VIGIL_ERR_DECODE;
    const cbor_item_t *y = key_bytes(what, map, -3, "y", errstr, errstr_size);
    if (!y) return VIGIL_ERR_DECODE;
    if (cbor_bytestring_length(x) != 32 || cbor_bytestring_length(y) != 32)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                            "%s: credential public key: P-256 x and y are %zu and %zu bytes (32 "
                            "each)",
                            what, cbor_bytestring_length(x), cbor_bytestring_length(y));
    uint8_t pub[65];
    pub[0] = 0x04; /* uncompressed point */
    memcpy(pub + 1, cbor_bytestring_handle(x), 32);
    memcpy(pub + 33, cbor_bytestring_handle(y), 32);
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub);
    params[2] = OSSL_PARAM_construct_end();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory (OpenSSL)",
                            what);
    if (EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, pkey, EVP_PKEY_PUBLIC_KEY, params) != 1 || !public_check(*pkey)) {
        EVP_PKEY_CTX_free(ctx);
        EVP_PKEY_free(*pkey);
        *pkey = NULL;
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: credential public key: (x, y) is not a point on P-256", what);
    }
    EVP_PKEY_CTX_free(ctx);
    return VIGIL_OK;
}

static vigil_err_t rsa_key(const char *what, const cbor_item_t *map, EVP_PKEY **pkey,
                           char *errstr, size_t errstr_size)
{
    const cbor_item_t *n = key_bytes(what, map, -1, "n", errstr, errstr_size);
    if (!n) return VIGIL_ERR_DECODE;
    const cbor_item_t *e = key_bytes(what, map, -2, "e", errstr, errstr_size);
    if (!e) return VIGIL_ERR_DECODE;
    size_t nlen = cbor_bytestring_length(n), elen = cbor_bytestring_length(e);
    if (nlen == 0 || nlen > 512 || elen == 0 || elen > 8)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: credential public key: RSA n of %zu bytes and e of %zu (n up to "
                            "512, e 1 to 8)",
                            what, nlen, elen);
    vigil_err_t err = VIGIL_OK;
    BIGNUM *bn = BN_bin2bn(cbor_bytestring_handle(n), (int)nlen, NULL);
    BIGNUM *be = BN_bin2bn(cbor_bytestring_handle(e), (int)elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (!bn || !be || !bld) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory (OpenSSL)",
                           what);
        goto done;
    }
    int bits = BN_num_bits(bn);
    if (bits < 2048 || bits > 4096) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                           "%s: credential public key: RSA modulus of %d bits (2048 to 4096)",
                           what, bits);
        goto done;
    }
    /* Deterministic checks only: OpenSSL's RSA public check also runs a
     * Miller-Rabin test with random bases on n, whose verdict on a crafted
     * modulus can differ between two calls (fuzz_webauthn found a key that a
     * registration accepted and a later login refused). A weak modulus only
     * weakens the registering user's own credential. */
    if (!BN_is_odd(bn) || !BN_is_odd(be) || BN_is_one(be) || BN_cmp(be, bn) >= 0) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                           "%s: credential public key: RSA modulus or exponent refused (both must "
                           "be odd, 3 <= e < n)",
                           what);
        goto done;
    }
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL))) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory (OpenSSL)",
                           what);
        goto done;
    }
    if (EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(*pkey);
        *pkey = NULL;
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                           "%s: credential public key: not a valid RSA public key", what);
    }
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return err;
}

vigil_err_t vigil__wa_cose_key_parse(const char *what, const uint8_t *key, size_t len,
                                     EVP_PKEY **pkey, int *alg, char *errstr, size_t errstr_size)
{
    cbor_item_t *map = NULL;
    *pkey = NULL;
    if (len > VIGIL_WEBAUTHN_MAX_COSE_KEY)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_TOO_LARGE,
                            "%s: credential public key is %zu bytes (at most %d)", what, len,
                            VIGIL_WEBAUTHN_MAX_COSE_KEY);
    vigil_err_t err = vigil__wa_cbor_load(what, "credential public key", key, len,
                                          VIGIL__WA_CBOR_MAX_DEPTH, 1, &map, NULL, errstr,
                                          errstr_size);
    if (err) goto done;
    if (!cbor_isa_map(map)) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                           "%s: credential public key is not a CBOR map (COSE_Key)", what);
        goto done;
    }
    int64_t a, kty;
    if (!key_int(what, map, 3, "alg", &a, errstr, errstr_size) ||
        !key_int(what, map, 1, "kty", &kty, errstr, errstr_size)) {
        err = VIGIL_ERR_DECODE;
        goto done;
    }
    if (a != VIGIL_WEBAUTHN_ALG_ES256 && a != VIGIL_WEBAUTHN_ALG_RS256) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                           "%s: credential algorithm %lld (%s) is not supported (vigil accepts "
                           "ES256, -7, and RS256, -257)",
                           what, (long long)a, vigil__wa_alg_name(a));
        goto done;
    }
    int64_t want_kty = a == VIGIL_WEBAUTHN_ALG_ES256 ? 2 : 3;
    if (kty != want_kty) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                           "%s: credential public key: key type %lld with alg %lld (%s needs kty "
                           "%lld)",
                           what, (long long)kty, (long long)a, vigil__wa_alg_name(a),
                           (long long)want_kty);
        goto done;
    }
    err = a == VIGIL_WEBAUTHN_ALG_ES256 ? ec2_key(what, map, pkey, errstr, errstr_size)
                                        : rsa_key(what, map, pkey, errstr, errstr_size);
    if (!err) *alg = (int)a;
done:
    if (map) cbor_decref(&map);
    ERR_clear_error();
    return err;
}

vigil_err_t vigil_webauthn_cose_key_check(const uint8_t *cose_key, size_t len, int *alg,
                                          char *errstr, size_t errstr_size)
{
    EVP_PKEY *pkey = NULL;
    int a = 0;
    vigil_err_t err = vigil__wa_cose_key_parse("webauthn", cose_key, len, &pkey, &a, errstr,
                                               errstr_size);
    EVP_PKEY_free(pkey);
    if (!err && alg) *alg = a;
    return err;
}

/* Whether pkey is of the kind alg signs with (a certificate's key may not be). */
static int key_fits(EVP_PKEY *pkey, int alg)
{
    if (alg == VIGIL_WEBAUTHN_ALG_RS256) return EVP_PKEY_is_a(pkey, "RSA");
    if (!EVP_PKEY_is_a(pkey, "EC")) return 0;
    char group[64];
    size_t glen = 0;
    if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &glen) != 1) return 0;
    return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

vigil_err_t vigil__wa_verify_sig(const char *what, const char *whose, EVP_PKEY *pkey, int alg,
                                 const uint8_t *data1, size_t len1, const uint8_t *data2,
                                 size_t len2, const uint8_t *sig, size_t sig_len, char *errstr,
                                 size_t errstr_size)
{
    vigil_err_t err = VIGIL_OK;
    if (alg != VIGIL_WEBAUTHN_ALG_ES256 && alg != VIGIL_WEBAUTHN_ALG_RS256)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: %s: algorithm %d (%s) is not supported (ES256 or RS256)", what,
                            whose, alg, vigil__wa_alg_name(alg));
    if (!key_fits(pkey, alg)) {
        ERR_clear_error();
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: %s: the key is not a %s key", what, whose,
                            alg == VIGIL_WEBAUTHN_ALG_ES256 ? "P-256" : "RSA");
    }
    size_t max = alg == VIGIL_WEBAUTHN_ALG_ES256 ? 72 : (size_t)EVP_PKEY_get_size(pkey);
    if (!sig || sig_len == 0 || sig_len > max || sig_len > VIGIL_WEBAUTHN_MAX_SIGNATURE ||
        (alg == VIGIL_WEBAUTHN_ALG_RS256 && sig_len != max))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: %s is %zu bytes (%s: %s%zu)", what, whose, sig ? sig_len : 0,
                            vigil__wa_alg_name(alg),
                            alg == VIGIL_WEBAUTHN_ALG_ES256 ? "DER, at most " : "exactly ", max);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
        EVP_DigestVerifyUpdate(md, data1, len1) != 1 ||
        (len2 && EVP_DigestVerifyUpdate(md, data2, len2) != 1)) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                           "%s: %s: cannot start verifying (OpenSSL)", what, whose);
    } else if (EVP_DigestVerifyFinal(md, sig, sig_len) != 1) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                           "%s: %s does not verify (%s)", what, whose,
                           vigil__wa_alg_name(alg));
    }
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return err;
}
