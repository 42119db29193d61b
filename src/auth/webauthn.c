/* The two WebAuthn ceremonies as the relying party verifies them:
 * registration (§7.1, "Registering a New Credential") and login (§7.2,
 * "Verifying an Authentication Assertion").
 *
 * Each runs the spec's steps in the spec's order and stops at the first that
 * fails, so the message names the one thing that was wrong. The steps that
 * need the warehouse (is this credential id registered already? does it
 * belong to the user who logs in? was this challenge issued and not used?)
 * are the caller's, before or after these. The sign count is checked after
 * the signature, so a caller without the private key learns nothing about
 * the stored count. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "auth/webauthn_int.h"

static vigil_err_t attestation_verify(const char *what, const char *fmt, size_t fmt_len,
                                      const cbor_item_t *att_stmt, const uint8_t *auth_data,
                                      size_t ad_len, const uint8_t hash[32], EVP_PKEY *pkey,
                                      int alg, const uint8_t aaguid[16], char *errstr,
                                      size_t errstr_size)
{
    char safe[96];
    if (fmt_len == 4 && memcmp(fmt, "none", 4) == 0) {
        if (cbor_map_size(att_stmt) != 0)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                "%s: attestation format \"none\" with a non-empty attStmt (%zu "
                                "entries)",
                                what, cbor_map_size(att_stmt));
        return VIGIL_OK;
    }
    if (fmt_len == 6 && memcmp(fmt, "packed", 6) == 0)
        return vigil__wa_packed_verify(what, att_stmt, auth_data, ad_len, hash, pkey, alg, aaguid,
                                       errstr, errstr_size);
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                        "%s: attestation format \"%s\" is not supported (vigil accepts \"none\" "
                        "and \"packed\"; the browser gives \"none\" when asked for attestation "
                        "\"none\")",
                        what, vigil__wa_printable(fmt, fmt_len, safe, sizeof safe));
}

vigil_err_t vigil_webauthn_register_verify(const vigil_webauthn_rp_t *rp, const uint8_t *challenge,
                                           size_t challenge_len, const uint8_t *client_data_json,
                                           size_t cdj_len, const uint8_t *attestation_object,
                                           size_t ao_len, vigil_webauthn_credential_t *out,
                                           char *errstr, size_t errstr_size)
{
    const char *what = "webauthn registration";
    cbor_item_t *root = NULL;
    EVP_PKEY *pkey = NULL;
    uint8_t hash[32];
    int dup = 0;
    if (!out)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "%s: no credential to fill",
                            what);
    memset(out, 0, sizeof *out);
    vigil_err_t err = vigil__wa_rp_check(what, rp, challenge, challenge_len, errstr, errstr_size);
    if (err) return err;
    err = vigil__wa_client_data_verify(what, "webauthn.create", rp, challenge, challenge_len,
                                       client_data_json, cdj_len, hash, errstr, errstr_size);
    if (err) return err;

    if (ao_len > VIGIL_WEBAUTHN_MAX_ATTESTATION)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_TOO_LARGE,
                            "%s: attestationObject is %zu bytes (at most %d)", what, ao_len,
                            VIGIL_WEBAUTHN_MAX_ATTESTATION);
    err = vigil__wa_cbor_load(what, "attestationObject", attestation_object, ao_len,
                              VIGIL__WA_CBOR_MAX_DEPTH, 1, &root, NULL, errstr, errstr_size);
    if (err) return err;
    if (!cbor_isa_map(root)) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                           "%s: attestationObject is not a CBOR map", what);
        goto done;
    }
    const cbor_item_t *fmt = vigil__wa_map_str(root, "fmt", &dup);
    const cbor_item_t *att_stmt = vigil__wa_map_str(root, "attStmt", &dup);
    const cbor_item_t *ad_item = vigil__wa_map_str(root, "authData", &dup);
    if (dup) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                           "%s: attestationObject has a key twice", what);
        goto done;
    }
    if (!fmt || !cbor_isa_string(fmt) || !att_stmt || !cbor_isa_map(att_stmt) || !ad_item ||
        !cbor_isa_bytestring(ad_item)) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                           "%s: attestationObject needs fmt (text), attStmt (map) and authData "
                           "(bytes)",
                           what);
        goto done;
    }
    const uint8_t *ad_bytes = cbor_bytestring_handle(ad_item);
    size_t ad_len = cbor_bytestring_length(ad_item);
    vigil__wa_authdata_t ad;
    err = vigil__wa_authdata_parse(what, ad_bytes, ad_len, &ad, errstr, errstr_size);
    if (err) goto done;
    err = vigil__wa_authdata_verify(what, rp, &ad, errstr, errstr_size);
    if (err) goto done;
    if (!ad.attested) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                           "%s: authenticator data has no attested credential (AT flag not set)",
                           what);
        goto done;
    }
    int alg = 0;
    err = vigil__wa_cose_key_parse(what, ad.cose_key, ad.cose_key_len, &pkey, &alg, errstr,
                                   errstr_size);
    if (err) goto done;
    err = attestation_verify(what, (const char *)cbor_string_handle(fmt), cbor_string_length(fmt),
                             att_stmt, ad_bytes, ad_len, hash, pkey, alg, ad.aaguid, errstr,
                             errstr_size);
    if (err) goto done;

    out->cose_key = malloc(ad.cose_key_len);
    if (!out->cose_key) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory", what);
        goto done;
    }
    memcpy(out->cose_key, ad.cose_key, ad.cose_key_len);
    out->cose_key_len = ad.cose_key_len;
    memcpy(out->id, ad.cred_id, ad.cred_id_len);
    out->id_len = ad.cred_id_len;
    out->alg = alg;
    out->sign_count = ad.sign_count;
    memcpy(out->aaguid, ad.aaguid, 16);
    out->backup_eligible = !!(ad.flags & VIGIL__WA_BE);
    out->backed_up = !!(ad.flags & VIGIL__WA_BS);
    out->user_verified = !!(ad.flags & VIGIL__WA_UV);
done:
    EVP_PKEY_free(pkey);
    if (root) cbor_decref(&root);
    return err;
}

vigil_err_t vigil_webauthn_assert_verify(const vigil_webauthn_rp_t *rp, const uint8_t *challenge,
                                         size_t challenge_len, const uint8_t *client_data_json,
                                         size_t cdj_len, const uint8_t *auth_data, size_t ad_len,
                                         const uint8_t *signature, size_t sig_len,
                                         const uint8_t *cose_key, size_t cose_key_len,
                                         uint32_t stored_count, uint32_t *new_count, char *errstr,
                                         size_t errstr_size)
{
    const char *what = "webauthn login";
    uint8_t hash[32];
    EVP_PKEY *pkey = NULL;
    if (!new_count)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "%s: no count to fill", what);
    vigil_err_t err = vigil__wa_rp_check(what, rp, challenge, challenge_len, errstr, errstr_size);
    if (err) return err;
    if (sig_len > VIGIL_WEBAUTHN_MAX_SIGNATURE)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_TOO_LARGE,
                            "%s: signature is %zu bytes (at most %d)", what, sig_len,
                            VIGIL_WEBAUTHN_MAX_SIGNATURE);
    err = vigil__wa_client_data_verify(what, "webauthn.get", rp, challenge, challenge_len,
                                       client_data_json, cdj_len, hash, errstr, errstr_size);
    if (err) return err;
    vigil__wa_authdata_t ad;
    err = vigil__wa_authdata_parse(what, auth_data, ad_len, &ad, errstr, errstr_size);
    if (err) return err;
    err = vigil__wa_authdata_verify(what, rp, &ad, errstr, errstr_size);
    if (err) return err;
    int alg = 0;
    err = vigil__wa_cose_key_parse(what, cose_key, cose_key_len, &pkey, &alg, errstr, errstr_size);
    if (err) return err;
    err = vigil__wa_verify_sig(what, "assertion signature", pkey, alg, auth_data, ad_len, hash, 32,
                               signature, sig_len, errstr, errstr_size);
    EVP_PKEY_free(pkey);
    if (err) return err;
    if ((stored_count != 0 || ad.sign_count != 0) && ad.sign_count <= stored_count)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: sign count regression: possible cloned authenticator (stored "
                            "%u, received %u)",
                            what, stored_count, ad.sign_count);
    *new_count = ad.sign_count;
    return VIGIL_OK;
}

void vigil_webauthn_credential_release(vigil_webauthn_credential_t *c)
{
    if (!c) return;
    free(c->cose_key);
    memset(c, 0, sizeof *c);
}
