/* A software authenticator (and browser) for the WebAuthn tests: see
 * webauthn_support.h. It writes what CTAP2 authenticators write (authData,
 * COSE keys, attestation objects in canonical CBOR with minimal integer
 * widths) and what browsers write (clientDataJSON), signing with OpenSSL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "webauthn_support.h"

static const uint8_t test_aaguid[16] = {0x76, 0x69, 0x67, 0x69, 0x6c, 0x2d, 0x74, 0x65,
                                        0x73, 0x74, 0x2d, 0x61, 0x75, 0x74, 0x68, 0x6e};

/* A CBOR integer in its shortest encoding. */
static cbor_item_t *int_item(int64_t v)
{
    uint64_t u = v >= 0 ? (uint64_t)v : (uint64_t)(-1 - v);
    cbor_item_t *it;
    if (u < 256) it = v >= 0 ? cbor_build_uint8((uint8_t)u) : cbor_build_negint8((uint8_t)u);
    else if (u < 65536) it = v >= 0 ? cbor_build_uint16((uint16_t)u) : cbor_build_negint16((uint16_t)u);
    else if (u <= 0xffffffffu) it = v >= 0 ? cbor_build_uint32((uint32_t)u) : cbor_build_negint32((uint32_t)u);
    else it = v >= 0 ? cbor_build_uint64(u) : cbor_build_negint64(u);
    return it;
}

static int map_put(cbor_item_t *map, cbor_item_t *k, cbor_item_t *v)
{
    if (!k || !v) {
        if (k) cbor_decref(&k);
        if (v) cbor_decref(&v);
        return -1;
    }
    int ok = cbor_map_add(map, (struct cbor_pair){.key = cbor_move(k), .value = cbor_move(v)});
    return ok ? 0 : -1;
}

static int serialize(cbor_item_t *it, uint8_t **out, size_t *len)
{
    unsigned char *buf = NULL;
    size_t cap = 0;
    size_t n = cbor_serialize_alloc(it, &buf, &cap);
    if (!n) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int bn_bytes(EVP_PKEY *key, const char *name, uint8_t *out, size_t pad, size_t *len)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return -1;
    int n = pad ? BN_bn2binpad(bn, out, (int)pad) : BN_bn2bin(bn, out);
    BN_free(bn);
    if (n <= 0) return -1;
    *len = (size_t)n;
    return 0;
}

static int cose_encode(wa_authn_t *a, int cose_alg)
{
    int rc = -1;
    cbor_item_t *m = cbor_new_definite_map(a->alg == -7 ? 5 : 4);
    uint8_t p1[512], p2[512];
    size_t l1 = 0, l2 = 0;
    if (!m) return -1;
    if (a->alg == -7) {
        if (bn_bytes(a->key, OSSL_PKEY_PARAM_EC_PUB_X, p1, 32, &l1) ||
            bn_bytes(a->key, OSSL_PKEY_PARAM_EC_PUB_Y, p2, 32, &l2))
            goto done;
        if (map_put(m, int_item(1), int_item(2)) || map_put(m, int_item(3), int_item(cose_alg)) ||
            map_put(m, int_item(-1), int_item(1)) ||
            map_put(m, int_item(-2), cbor_build_bytestring(p1, l1)) ||
            map_put(m, int_item(-3), cbor_build_bytestring(p2, l2)))
            goto done;
    } else {
        if (bn_bytes(a->key, OSSL_PKEY_PARAM_RSA_N, p1, 0, &l1) ||
            bn_bytes(a->key, OSSL_PKEY_PARAM_RSA_E, p2, 0, &l2))
            goto done;
        if (map_put(m, int_item(1), int_item(3)) || map_put(m, int_item(3), int_item(cose_alg)) ||
            map_put(m, int_item(-1), cbor_build_bytestring(p1, l1)) ||
            map_put(m, int_item(-2), cbor_build_bytestring(p2, l2)))
            goto done;
    }
    uint8_t *buf;
    size_t n;
    if (serialize(m, &buf, &n) || n > sizeof a->cose) goto done;
    memcpy(a->cose, buf, n);
    a->cose_len = n;
    free(buf);
    rc = 0;
done:
    cbor_decref(&m);
    return rc;
}

/* A self-signed attestation certificate meeting WebAuthn §8.2.1. */
static int make_att_cert(wa_authn_t *a)
{
    int rc = -1;
    X509 *x = X509_new();
    ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL, *bc = NULL;
    a->att_key = EVP_EC_gen("P-256");
    if (!x || !oid || !os || !a->att_key) goto done;
    uint8_t val[18] = {0x04, 16};
    memcpy(val + 2, a->aaguid, 16);
    if (!ASN1_OCTET_STRING_set(os, val, sizeof val)) goto done;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
    X509_set_pubkey(x, a->att_key);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "C", MBSTRING_ASC, (const unsigned char *)"SE", -1, -1, 0);
    X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC, (const unsigned char *)"vigil tests", -1, -1, 0);
    X509_NAME_add_entry_by_txt(nm, "OU", MBSTRING_ASC,
                               (const unsigned char *)"Authenticator Attestation", -1, -1, 0);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"vigil test key", -1,
                               -1, 0);
    X509_set_issuer_name(x, nm);
    bc = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:FALSE");
    ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os);
    if (!bc || !ext || !X509_add_ext(x, bc, -1) || !X509_add_ext(x, ext, -1)) goto done;
    if (!X509_sign(x, a->att_key, EVP_sha256())) goto done;
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    if (n <= 0) goto done;
    a->att_cert = malloc((size_t)n);
    if (a->att_cert) {
        memcpy(a->att_cert, der, (size_t)n);
        a->att_cert_len = (size_t)n;
        rc = 0;
    }
    OPENSSL_free(der);
done:
    X509_EXTENSION_free(bc);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(oid);
    X509_free(x);
    return rc;
}

int wa_authn_init(wa_authn_t *a, int alg, int cose_alg)
{
    memset(a, 0, sizeof *a);
    a->alg = alg;
    a->key = alg == -7 ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
    if (!a->key) return -1;
    a->cred_id_len = 32;
    if (RAND_bytes(a->cred_id, (int)a->cred_id_len) != 1) return -1;
    memcpy(a->aaguid, test_aaguid, 16);
    if (cose_encode(a, cose_alg ? cose_alg : alg)) return -1;
    return make_att_cert(a);
}

void wa_authn_release(wa_authn_t *a)
{
    EVP_PKEY_free(a->key);
    EVP_PKEY_free(a->att_key);
    free(a->att_cert);
    memset(a, 0, sizeof *a);
}

void wa_opts_init(wa_opts_t *o, const uint8_t *challenge, size_t challenge_len)
{
    memset(o, 0, sizeof *o);
    o->rp_id = WA_RP_ID;
    o->origin = WA_ORIGIN;
    o->challenge = challenge;
    o->challenge_len = challenge_len;
    o->cross_origin = -1;
    o->flags = -1;
    o->fmt = "none";
}

char *wa_b64url(const uint8_t *d, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = malloc(n / 3 * 4 + 5);
    size_t o = 0;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16;
        if (i + 1 < n) v |= (uint32_t)d[i + 1] << 8;
        if (i + 2 < n) v |= d[i + 2];
        out[o++] = al[v >> 18 & 63];
        out[o++] = al[v >> 12 & 63];
        if (i + 1 < n) out[o++] = al[v >> 6 & 63];
        if (i + 2 < n) out[o++] = al[v & 63];
    }
    out[o] = '\0';
    return out;
}

int wa_b64url_decode(const char *s, uint8_t **out, size_t *len)
{
    size_t n = strlen(s), o = 0;
    uint32_t acc = 0;
    int bits = 0;
    uint8_t *p = malloc(n * 3 / 4 + 1);
    if (!p) return -1;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        const char c = s[i];
        int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26
              : c >= '0' && c <= '9' ? c - '0' + 52 : c == '-' || c == '+' ? 62
              : c == '_' || c == '/' ? 63 : -1;
        if (v < 0) {
            free(p);
            return -1;
        }
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            p[o++] = (uint8_t)(acc >> bits);
        }
    }
    *out = p;
    *len = o;
    return 0;
}

char *wa_client_data(const char *type, const uint8_t *challenge, size_t n, const char *origin,
                     int cross_origin, const char *extra_json)
{
    char *ch = wa_b64url(challenge, n);
    if (!ch) return NULL;
    const char *co = cross_origin < 0 ? "" : cross_origin ? ",\"crossOrigin\":true"
                                                          : ",\"crossOrigin\":false";
    size_t cap = strlen(type) + strlen(ch) + strlen(origin) + strlen(co) +
                 (extra_json ? strlen(extra_json) : 0) + 64;
    char *s = malloc(cap);
    if (s)
        snprintf(s, cap, "{\"type\":\"%s\",\"challenge\":\"%s\",\"origin\":\"%s\"%s%s}", type, ch,
                 origin, co, extra_json ? extra_json : "");
    free(ch);
    return s;
}

int wa_auth_data(const wa_authn_t *a, const char *rp_id, uint8_t flags, uint32_t count,
                 int attested, const uint8_t *ext, size_t ext_len, uint8_t **out, size_t *len)
{
    size_t cap = 37 + (attested ? 18 + a->cred_id_len + a->cose_len : 0) + ext_len;
    uint8_t *p = malloc(cap);
    unsigned int hl = 0;
    if (!p) return -1;
    if (!EVP_Digest(rp_id, strlen(rp_id), p, &hl, EVP_sha256(), NULL)) {
        free(p);
        return -1;
    }
    p[32] = flags;
    p[33] = (uint8_t)(count >> 24), p[34] = (uint8_t)(count >> 16);
    p[35] = (uint8_t)(count >> 8), p[36] = (uint8_t)count;
    size_t off = 37;
    if (attested) {
        memcpy(p + off, a->aaguid, 16);
        p[off + 16] = (uint8_t)(a->cred_id_len >> 8);
        p[off + 17] = (uint8_t)a->cred_id_len;
        off += 18;
        memcpy(p + off, a->cred_id, a->cred_id_len);
        off += a->cred_id_len;
        memcpy(p + off, a->cose, a->cose_len);
        off += a->cose_len;
    }
    if (ext_len) memcpy(p + off, ext, ext_len);
    *out = p;
    *len = off + ext_len;
    return 0;
}

int wa_sign(EVP_PKEY *key, const uint8_t *ad, size_t ad_len, const uint8_t *cdj, size_t cdj_len,
            uint8_t **sig, size_t *sig_len)
{
    int rc = -1;
    uint8_t *data = malloc(ad_len + 32);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int hl = 0;
    size_t n = 0;
    if (!data || !md) goto done;
    memcpy(data, ad, ad_len);
    if (!EVP_Digest(cdj, cdj_len, data + ad_len, &hl, EVP_sha256(), NULL)) goto done;
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, NULL, &n, data, ad_len + 32) != 1)
        goto done;
    *sig = malloc(n);
    if (!*sig) goto done;
    if (EVP_DigestSign(md, *sig, &n, data, ad_len + 32) != 1) {
        free(*sig);
        goto done;
    }
    *sig_len = n;
    rc = 0;
done:
    EVP_MD_CTX_free(md);
    free(data);
    return rc;
}

int wa_attestation_object(const char *fmt, cbor_item_t *att_stmt, const uint8_t *ad,
                          size_t ad_len, uint8_t **out, size_t *len)
{
    cbor_item_t *m = cbor_new_definite_map(3);
    if (!m) return -1;
    if (att_stmt) cbor_incref(att_stmt);
    int rc = map_put(m, cbor_build_string("fmt"), cbor_build_string(fmt)) ||
             map_put(m, cbor_build_string("attStmt"), att_stmt ? att_stmt : cbor_new_definite_map(0)) ||
             map_put(m, cbor_build_string("authData"), cbor_build_bytestring(ad, ad_len)) ||
             serialize(m, out, len)
        ? -1
        : 0;
    cbor_decref(&m);
    return rc;
}

static uint8_t default_flags(const wa_opts_t *o, int registration)
{
    if (o->flags >= 0) return (uint8_t)o->flags;
    return registration ? 0x45 : 0x05; /* UP|UV(|AT) */
}

int wa_make_registration(wa_authn_t *a, const wa_opts_t *o, uint8_t **cdj, size_t *cdj_len,
                         uint8_t **ao, size_t *ao_len)
{
    int rc = -1;
    uint8_t *ad = NULL, *sig = NULL;
    size_t ad_len = 0, sig_len = 0;
    cbor_item_t *stmt = NULL;
    char *c = wa_client_data(o->type ? o->type : "webauthn.create", o->challenge, o->challenge_len,
                             o->origin, o->cross_origin, o->extra_json);
    if (!c) return -1;
    uint8_t flags = default_flags(o, 1);
    if (wa_auth_data(a, o->rp_id, flags, o->count, flags & 0x40, o->ext, o->ext_len, &ad, &ad_len))
        goto done;
    int packed = strcmp(o->fmt, "packed") == 0, x5c = strcmp(o->fmt, "packed-x5c") == 0;
    if (packed || x5c) {
        if (wa_sign(x5c ? a->att_key : a->key, ad, ad_len, (const uint8_t *)c, strlen(c), &sig,
                    &sig_len))
            goto done;
        if (o->flip_sig_bit) sig[sig_len / 2] ^= 0x01;
        stmt = cbor_new_definite_map(x5c ? 3 : 2);
        if (!stmt || map_put(stmt, cbor_build_string("alg"), int_item(x5c ? -7 : a->alg)) ||
            map_put(stmt, cbor_build_string("sig"), cbor_build_bytestring(sig, sig_len)))
            goto done;
        if (x5c) {
            cbor_item_t *arr = cbor_new_definite_array(1);
            if (!arr || !cbor_array_push(arr, cbor_move(cbor_build_bytestring(a->att_cert,
                                                                                a->att_cert_len))) ||
                map_put(stmt, cbor_build_string("x5c"), arr))
                goto done;
        }
    }
    if (wa_attestation_object(packed || x5c ? "packed" : o->fmt, stmt, ad, ad_len, ao, ao_len))
        goto done;
    *cdj = (uint8_t *)c;
    *cdj_len = strlen(c);
    c = NULL;
    rc = 0;
done:
    if (stmt) cbor_decref(&stmt);
    free(c);
    free(ad);
    free(sig);
    return rc;
}

int wa_make_assertion(wa_authn_t *a, const wa_opts_t *o, uint8_t **cdj, size_t *cdj_len,
                      uint8_t **ad, size_t *ad_len, uint8_t **sig, size_t *sig_len)
{
    char *c = wa_client_data(o->type ? o->type : "webauthn.get", o->challenge, o->challenge_len,
                             o->origin, o->cross_origin, o->extra_json);
    if (!c) return -1;
    uint8_t flags = default_flags(o, 0);
    if (wa_auth_data(a, o->rp_id, flags, o->count, flags & 0x40, o->ext, o->ext_len, ad, ad_len)) {
        free(c);
        return -1;
    }
    if (wa_sign(a->key, *ad, *ad_len, (const uint8_t *)c, strlen(c), sig, sig_len)) {
        free(c);
        free(*ad);
        return -1;
    }
    if (o->flip_sig_bit) (*sig)[*sig_len / 2] ^= 0x01;
    *cdj = (uint8_t *)c;
    *cdj_len = strlen(c);
    return 0;
}
