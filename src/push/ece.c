/* Web Push message encryption: RFC 8291 key derivation with the RFC 8188
 * "aes128gcm" content coding, in one record.
 *
 * Main idea (RFC 8291 section 3.4): an ephemeral P-256 key pair of ours and
 * the browser's public key give an ECDH secret; HKDF mixes it with the
 * subscription's auth secret (so only holders of both can decrypt) and a
 * random salt into the content key and nonce. The body is the RFC 8188
 * header (salt, record size 4096, our public key as key id) followed by
 * AES-128-GCM of plaintext || 0x02 (the last-record delimiter).
 *
 * OpenSSL 3 only (EVP, EC_POINT for the point maths; no deprecated EC_KEY).
 * Thread: any (no shared state). */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "push/push_int.h"

#define RECORD_SIZE 4096
#define TAG_LEN 16
#define HEADER_LEN (VIGIL_PUSH_SALT_LEN + 4 + 1 + VIGIL_PUSH_KEY_LEN)

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int vigil_push_b64url_encode(const uint8_t *in, size_t len, char *out, size_t out_size)
{
    size_t need = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
    size_t k = 0;

    if (!out || out_size < need + 1) return -1;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        size_t left = len - i;
        if (left > 1) v |= (uint32_t)in[i + 1] << 8;
        if (left > 2) v |= in[i + 2];
        out[k++] = b64url_alphabet[(v >> 18) & 63];
        out[k++] = b64url_alphabet[(v >> 12) & 63];
        if (left > 1) out[k++] = b64url_alphabet[(v >> 6) & 63];
        if (left > 2) out[k++] = b64url_alphabet[v & 63];
    }
    out[k] = '\0';
    return (int)k;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-' || c == '+') return 62; /* browsers give base64url; accept base64 too */
    if (c == '_' || c == '/') return 63;
    return -1;
}

int vigil_push_b64url_decode(const char *in, size_t len, uint8_t *out, size_t out_size)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t k = 0;

    while (len && in[len - 1] == '=') len--; /* padding, at the end only */
    if (len % 4 == 1) return -1;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(in[i]);
        if (v < 0) return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (k >= out_size) return -1;
            out[k++] = (uint8_t)(acc >> bits);
        }
    }
    /* the leftover bits of a canonical encoding are zero */
    if (bits && (acc & ((1u << bits) - 1))) return -1;
    return (int)k;
}

int vigil_push_key_valid(const uint8_t key[VIGIL_PUSH_KEY_LEN])
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *p = g ? EC_POINT_new(g) : NULL;
    int ok = 0;

    if (p && key[0] == 0x04 && EC_POINT_oct2point(g, p, key, VIGIL_PUSH_KEY_LEN, NULL) == 1 &&
        EC_POINT_is_on_curve(g, p, NULL) == 1 && !EC_POINT_is_at_infinity(g, p))
        ok = 1;
    EC_POINT_free(p);
    EC_GROUP_free(g);
    return ok;
}

int vigil__push_hmac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                     uint8_t out[32])
{
    size_t out_len = 0;
    return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, data, len, out, 32,
                     &out_len) != NULL && out_len == 32
               ? 0
               : -1;
}

/* HKDF-SHA256 expand for at most 32 bytes: HMAC(prk, info || 0x01). */
static int hkdf_expand(const uint8_t prk[32], const uint8_t *info, size_t info_len, uint8_t *out,
                       size_t out_len)
{
    uint8_t buf[256], t[32];

    if (info_len + 1 > sizeof(buf) || out_len > 32) return -1;
    memcpy(buf, info, info_len);
    buf[info_len] = 0x01;
    if (vigil__push_hmac(prk, 32, buf, info_len + 1, t)) return -1;
    memcpy(out, t, out_len);
    return 0;
}

EVP_PKEY *vigil__push_pkey_public(const uint8_t key[VIGIL_PUSH_KEY_LEN])
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM params[3];

    if (!ctx) return NULL;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)key,
                                                  VIGIL_PUSH_KEY_LEN);
    params[2] = OSSL_PARAM_construct_end();
    if (EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

EVP_PKEY *vigil__push_pkey_private(const uint8_t d[32])
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *p = g ? EC_POINT_new(g) : NULL;
    BIGNUM *bn = BN_bin2bn(d, 32, NULL);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pkey = NULL;
    uint8_t pub[VIGIL_PUSH_KEY_LEN];

    if (!p || !bn || !ctx || !bld || BN_is_zero(bn)) goto done;
    if (EC_POINT_mul(g, p, bn, NULL, NULL, NULL) != 1 ||
        EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub), NULL) !=
            sizeof(pub))
        goto done;
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn) ||
        !(params = OSSL_PARAM_BLD_to_param(bld)))
        goto done;
    if (EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
        pkey = NULL;
done:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_clear_free(bn);
    EC_POINT_free(p);
    EC_GROUP_free(g);
    return pkey;
}

int vigil__push_pkey_public_bytes(EVP_PKEY *pkey, uint8_t out[VIGIL_PUSH_KEY_LEN])
{
    size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, out, VIGIL_PUSH_KEY_LEN,
                                        &len) != 1 ||
        len != VIGIL_PUSH_KEY_LEN || out[0] != 0x04)
        return -1;
    return 0;
}

/* ECDH(ours, peer) into secret[32]. */
static int ecdh(EVP_PKEY *ours, EVP_PKEY *peer, uint8_t secret[32])
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, ours, NULL);
    size_t len = 32;
    int rc = -1;

    if (ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
        EVP_PKEY_derive(ctx, secret, &len) == 1 && len == 32)
        rc = 0;
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

vigil_err_t vigil_push_encrypt(const uint8_t ua_public[VIGIL_PUSH_KEY_LEN],
                               const uint8_t auth[VIGIL_PUSH_AUTH_LEN],
                               const uint8_t *as_private, const uint8_t *salt_in,
                               const void *plaintext, size_t len, uint8_t **out,
                               size_t *out_len, char *errstr, size_t errstr_size)
{
    static const char key_label[] = "WebPush: info";
    static const char cek_label[] = "Content-Encoding: aes128gcm";
    static const char nonce_label[] = "Content-Encoding: nonce";
    EVP_PKEY *ours = NULL, *peer = NULL;
    EVP_CIPHER_CTX *cctx = NULL;
    uint8_t salt[VIGIL_PUSH_SALT_LEN], as_public[VIGIL_PUSH_KEY_LEN], secret[32], prk_key[32],
        ikm[32], prk[32], cek[16], nonce[12];
    uint8_t key_info[sizeof(key_label) + 2 * VIGIL_PUSH_KEY_LEN];
    uint8_t *body = NULL;
    vigil_err_t err = VIGIL_ERR_INVALID;
    const char *why = "bad key";
    int n, total;

    *out = NULL;
    *out_len = 0;
    if (len > VIGIL_PUSH_PLAINTEXT_MAX)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_TOO_LARGE,
                            "push: a payload of %zu bytes is over %d", len,
                            VIGIL_PUSH_PLAINTEXT_MAX);
    if (!vigil_push_key_valid(ua_public) || !(peer = vigil__push_pkey_public(ua_public))) {
        why = "the subscription's p256dh is not a P-256 point";
        goto fail;
    }
    if (as_private) {
        ours = vigil__push_pkey_private(as_private);
    } else {
        ours = EVP_EC_gen("P-256");
    }
    if (!ours || vigil__push_pkey_public_bytes(ours, as_public)) {
        why = "cannot make an ephemeral key";
        err = VIGIL_ERR_NOMEM;
        goto fail;
    }
    if (salt_in) memcpy(salt, salt_in, sizeof(salt));
    else if (RAND_bytes(salt, sizeof(salt)) != 1) {
        why = "no random salt";
        err = VIGIL_ERR_IO;
        goto fail;
    }
    why = "key derivation failed";
    err = VIGIL_ERR_INVALID;
    if (ecdh(ours, peer, secret)) goto fail;
    /* PRK_key = HMAC(auth, ecdh); IKM = HKDF-Expand(PRK_key, key_info, 32) */
    if (vigil__push_hmac(auth, VIGIL_PUSH_AUTH_LEN, secret, sizeof(secret), prk_key)) goto fail;
    memcpy(key_info, key_label, sizeof(key_label)); /* with its NUL */
    memcpy(key_info + sizeof(key_label), ua_public, VIGIL_PUSH_KEY_LEN);
    memcpy(key_info + sizeof(key_label) + VIGIL_PUSH_KEY_LEN, as_public, VIGIL_PUSH_KEY_LEN);
    if (hkdf_expand(prk_key, key_info, sizeof(key_info), ikm, sizeof(ikm))) goto fail;
    /* PRK = HMAC(salt, IKM); CEK and NONCE expanded from it (RFC 8188) */
    if (vigil__push_hmac(salt, sizeof(salt), ikm, sizeof(ikm), prk) ||
        hkdf_expand(prk, (const uint8_t *)cek_label, sizeof(cek_label), cek, sizeof(cek)) ||
        hkdf_expand(prk, (const uint8_t *)nonce_label, sizeof(nonce_label), nonce,
                    sizeof(nonce)))
        goto fail;

    total = HEADER_LEN + (int)len + 1 + TAG_LEN;
    if (!(body = malloc((size_t)total + 16))) {
        why = "out of memory";
        err = VIGIL_ERR_NOMEM;
        goto fail;
    }
    memcpy(body, salt, sizeof(salt));
    body[16] = (RECORD_SIZE >> 24) & 0xff;
    body[17] = (RECORD_SIZE >> 16) & 0xff;
    body[18] = (RECORD_SIZE >> 8) & 0xff;
    body[19] = RECORD_SIZE & 0xff;
    body[20] = VIGIL_PUSH_KEY_LEN;
    memcpy(body + 21, as_public, VIGIL_PUSH_KEY_LEN);
    why = "encryption failed";
    {
        uint8_t *ct = body + HEADER_LEN;
        const uint8_t delim = 0x02; /* the last (and only) record */
        int m = 0;
        if (!(cctx = EVP_CIPHER_CTX_new()) ||
            EVP_EncryptInit_ex(cctx, EVP_aes_128_gcm(), NULL, cek, nonce) != 1 ||
            (len && EVP_EncryptUpdate(cctx, ct, &n, plaintext, (int)len) != 1) ||
            EVP_EncryptUpdate(cctx, ct + (len ? n : 0), &m, &delim, 1) != 1)
            goto fail;
        n = (len ? n : 0) + m;
        if (EVP_EncryptFinal_ex(cctx, ct + n, &m) != 1) goto fail;
        n += m;
        if (n != (int)len + 1 ||
            EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, ct + n) != 1)
            goto fail;
    }
    EVP_CIPHER_CTX_free(cctx);
    EVP_PKEY_free(ours);
    EVP_PKEY_free(peer);
    OPENSSL_cleanse(secret, sizeof(secret));
    OPENSSL_cleanse(cek, sizeof(cek));
    *out = body;
    *out_len = (size_t)total;
    return VIGIL_OK;
fail:
    EVP_CIPHER_CTX_free(cctx);
    EVP_PKEY_free(ours);
    EVP_PKEY_free(peer);
    OPENSSL_cleanse(secret, sizeof(secret));
    OPENSSL_cleanse(cek, sizeof(cek));
    free(body);
    return vigil_seterr(errstr, errstr_size, err, "push: cannot encrypt: %s", why);
}
