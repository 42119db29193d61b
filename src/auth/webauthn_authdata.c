/* authenticatorData: the bytes an authenticator signs (WebAuthn §6.1).
 *
 *   rpIdHash 32 | flags 1 | signCount 4 (big-endian)
 *   [AT] aaguid 16 | credentialIdLength 2 (big-endian) | credentialId | COSE_Key (CBOR map)
 *   [ED] extensions (CBOR map)
 *
 * Parsed in place, every length checked against what is left; the COSE key
 * has no length of its own, so the bounded CBOR walk (webauthn_cbor.c) finds
 * where it ends. Nothing may follow the last part. The RP checks of §7.1
 * steps 13-16 and §7.2 steps 15-18 are here too, shared by both ceremonies. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth/webauthn_int.h"

#define AD_FIXED 37

vigil_err_t vigil__wa_authdata_parse(const char *what, const uint8_t *ad, size_t len,
                                     vigil__wa_authdata_t *out, char *errstr, size_t errstr_size)
{
    vigil_err_t err;
    memset(out, 0, sizeof *out);
    if (!ad || len < AD_FIXED)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                            "%s: authenticator data is %zu bytes (at least %d)", what,
                            ad ? len : 0, AD_FIXED);
    if (len > VIGIL_WEBAUTHN_MAX_AUTH_DATA)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_TOO_LARGE,
                            "%s: authenticator data is %zu bytes (at most %d)", what, len,
                            VIGIL_WEBAUTHN_MAX_AUTH_DATA);
    out->rp_id_hash = ad;
    out->flags = ad[32];
    out->sign_count = (uint32_t)ad[33] << 24 | (uint32_t)ad[34] << 16 | (uint32_t)ad[35] << 8 | ad[36];
    size_t off = AD_FIXED;

    if (out->flags & VIGIL__WA_AT) {
        if (len - off < 18)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                                "%s: authenticator data: attested credential data truncated "
                                "(%zu bytes after the header, at least 18)",
                                what, len - off);
        out->attested = 1;
        out->aaguid = ad + off;
        size_t idlen = (size_t)ad[off + 16] << 8 | ad[off + 17];
        off += 18;
        if (idlen == 0 || idlen > VIGIL_WEBAUTHN_MAX_CREDENTIAL_ID)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                                "%s: authenticator data: credential id length %zu (1 to %d)",
                                what, idlen, VIGIL_WEBAUTHN_MAX_CREDENTIAL_ID);
        if (len - off < idlen)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                                "%s: authenticator data: credential id of %zu bytes truncated "
                                "(%zu left)",
                                what, idlen, len - off);
        out->cred_id = ad + off;
        out->cred_id_len = idlen;
        off += idlen;
        if (off >= len || (ad[off] >> 5) != CBOR_TYPE_MAP)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                                "%s: authenticator data: no credential public key (a COSE_Key "
                                "CBOR map) after the credential id",
                                what);
        size_t n = 0;
        err = vigil__wa_cbor_check(what, "credential public key", ad + off, len - off,
                                   VIGIL__WA_CBOR_MAX_DEPTH, &n, errstr, errstr_size);
        if (err) return err;
        if (n > VIGIL_WEBAUTHN_MAX_COSE_KEY)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_TOO_LARGE,
                                "%s: credential public key is %zu bytes (at most %d)", what, n,
                                VIGIL_WEBAUTHN_MAX_COSE_KEY);
        out->cose_key = ad + off;
        out->cose_key_len = n;
        off += n;
    }
    if (out->flags & VIGIL__WA_ED) {
        if (off >= len || (ad[off] >> 5) != CBOR_TYPE_MAP)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                                "%s: authenticator data: the ED flag is set but no extensions "
                                "map follows",
                                what);
        size_t n = 0;
        err = vigil__wa_cbor_check(what, "authenticator extensions", ad + off, len - off,
                                   VIGIL__WA_CBOR_MAX_DEPTH, &n, errstr, errstr_size);
        if (err) return err;
        out->ext = ad + off;
        out->ext_len = n;
        off += n;
    }
    if (off != len)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                            "%s: authenticator data: %zu bytes after its last part (flags 0x%02x)",
                            what, len - off, out->flags);
    return VIGIL_OK;
}

vigil_err_t vigil__wa_authdata_verify(const char *what, const vigil_webauthn_rp_t *rp,
                                      const vigil__wa_authdata_t *ad, char *errstr,
                                      size_t errstr_size)
{
    uint8_t want[32];
    unsigned int hlen = 0;
    if (!EVP_Digest(rp->rp_id, strlen(rp->rp_id), want, &hlen, EVP_sha256(), NULL) || hlen != 32)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                            "%s: cannot hash the RP id (OpenSSL)", what);
    if (CRYPTO_memcmp(ad->rp_id_hash, want, 32) != 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: the authenticator data's RP id hash is not SHA-256(\"%s\"): the "
                            "credential belongs to another site",
                            what, rp->rp_id);
    if (!(ad->flags & VIGIL__WA_UP))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: user presence (UP flag) not set: nobody touched the authenticator",
                            what);
    if (rp->require_uv && !(ad->flags & VIGIL__WA_UV))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: user verification (UV flag) required but not done (no PIN or "
                            "biometric)",
                            what);
    if ((ad->flags & VIGIL__WA_BS) && !(ad->flags & VIGIL__WA_BE))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: flags 0x%02x say backed up (BS) but not backup eligible (BE)",
                            what, ad->flags);
    return VIGIL_OK;
}
