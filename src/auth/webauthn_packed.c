/* The "packed" attestation format (WebAuthn §8.2), the one most security
 * keys and platform authenticators use when asked for attestation.
 *
 * attStmt is {alg, sig} (self attestation: the credential key signs its own
 * registration) or {alg, sig, x5c: [leaf certificate, ...]} (the
 * authenticator model's attestation key signs). Either way sig is over
 * authenticatorData || SHA-256(clientDataJSON). With x5c the leaf
 * certificate must meet §8.2.1 (version 3; subject C, O, CN and OU
 * "Authenticator Attestation"; not a CA; its id-fido-gen-ce-aaguid
 * extension, when present, equal to the authData's AAGUID). The chain is not
 * evaluated against any root: vigil keeps no attestation trust store (see
 * vigil/webauthn.h), so this proves the statement is consistent, not who
 * made the authenticator. ECDAA (ecdaaKeyId) is refused. */
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "auth/webauthn_int.h"

#define MAX_X5C 8

/* The leaf certificate's §8.2.1 requirements. */
static vigil_err_t cert_check(const char *what, X509 *cert, const uint8_t aaguid[16],
                              char *errstr, size_t errstr_size)
{
    if (X509_get_version(cert) != 2)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: packed attestation certificate is not version 3", what);
    X509_NAME *subject = X509_get_subject_name(cert);
    static const struct { int nid; const char *name; } need[] = {
        {NID_countryName, "C"}, {NID_organizationName, "O"}, {NID_commonName, "CN"},
        {NID_organizationalUnitName, "OU"}};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (X509_NAME_get_index_by_NID(subject, need[i].nid, -1) < 0)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                "%s: packed attestation certificate subject has no %s", what,
                                need[i].name);
    const char ou[] = "Authenticator Attestation";
    int at = X509_NAME_get_index_by_NID(subject, NID_organizationalUnitName, -1);
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
    if (!s || ASN1_STRING_length(s) != (int)strlen(ou) ||
        memcmp(ASN1_STRING_get0_data(s), ou, strlen(ou)) != 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: packed attestation certificate subject OU is not \"%s\"", what,
                            ou);
    uint32_t xf = X509_get_extension_flags(cert);
    if (xf & EXFLAG_INVALID)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: packed attestation certificate has malformed extensions", what);
    if (xf & EXFLAG_CA)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: packed attestation certificate is a CA certificate", what);
    ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1);
    if (!oid)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "%s: out of memory (OpenSSL)",
                            what);
    int idx = X509_get_ext_by_OBJ(cert, oid, -1);
    int again = idx >= 0 ? X509_get_ext_by_OBJ(cert, oid, idx) : -1;
    ASN1_OBJECT_free(oid);
    if (again >= 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: packed attestation certificate has two AAGUID extensions", what);
    if (idx >= 0) {
        X509_EXTENSION *ext = X509_get_ext(cert, idx);
        const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
        const unsigned char *d = v ? ASN1_STRING_get0_data(v) : NULL;
        /* the extension value is itself a DER OCTET STRING of 16 bytes */
        if (X509_EXTENSION_get_critical(ext) || !d || ASN1_STRING_length(v) != 18 ||
            d[0] != 0x04 || d[1] != 16 || memcmp(d + 2, aaguid, 16) != 0)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                "%s: packed attestation certificate's AAGUID extension does not "
                                "match the authenticator data's AAGUID (or is critical)",
                                what);
    }
    return VIGIL_OK;
}

static vigil_err_t x5c_verify(const char *what, const cbor_item_t *x5c, int64_t alg,
                              const uint8_t *auth_data, size_t ad_len,
                              const uint8_t client_hash[32], const cbor_item_t *sig,
                              const uint8_t aaguid[16], char *errstr, size_t errstr_size)
{
    if (!cbor_isa_array(x5c) || cbor_array_size(x5c) == 0 || cbor_array_size(x5c) > MAX_X5C)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                            "%s: packed attStmt x5c is not an array of 1 to %d certificates",
                            what, MAX_X5C);
    cbor_item_t **certs = cbor_array_handle(x5c);
    for (size_t i = 0; i < cbor_array_size(x5c); i++)
        if (!cbor_isa_bytestring(certs[i]) || cbor_bytestring_length(certs[i]) == 0)
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                                "%s: packed attStmt x5c[%zu] is not a DER certificate (bytes)",
                                what, i);
    const unsigned char *p = cbor_bytestring_handle(certs[0]);
    long n = (long)cbor_bytestring_length(certs[0]);
    X509 *cert = d2i_X509(NULL, &p, n);
    if (!cert || p != cbor_bytestring_handle(certs[0]) + n) {
        X509_free(cert);
        ERR_clear_error();
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                            "%s: packed attStmt x5c[0] is not a DER X.509 certificate", what);
    }
    vigil_err_t err = cert_check(what, cert, aaguid, errstr, errstr_size);
    if (!err) {
        EVP_PKEY *key = X509_get0_pubkey(cert);
        if (!key)
            err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                               "%s: packed attestation certificate has no usable public key",
                               what);
        else
            err = vigil__wa_verify_sig(what, "packed attestation signature (certificate key)",
                                       key, (int)alg, auth_data, ad_len, client_hash, 32,
                                       cbor_bytestring_handle(sig), cbor_bytestring_length(sig),
                                       errstr, errstr_size);
    }
    X509_free(cert);
    ERR_clear_error();
    return err;
}

vigil_err_t vigil__wa_packed_verify(const char *what, const cbor_item_t *att_stmt,
                                    const uint8_t *auth_data, size_t ad_len,
                                    const uint8_t client_hash[32], EVP_PKEY *cred_key,
                                    int cred_alg, const uint8_t aaguid[16], char *errstr,
                                    size_t errstr_size)
{
    int dup = 0;
    int64_t alg;
    const cbor_item_t *alg_item = vigil__wa_map_str(att_stmt, "alg", &dup);
    const cbor_item_t *sig = vigil__wa_map_str(att_stmt, "sig", &dup);
    const cbor_item_t *x5c = vigil__wa_map_str(att_stmt, "x5c", &dup);
    const cbor_item_t *ecdaa = vigil__wa_map_str(att_stmt, "ecdaaKeyId", &dup);
    if (dup)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                            "%s: packed attStmt has a key twice", what);
    if (!vigil__wa_cbor_int(alg_item, &alg) || !sig || !cbor_isa_bytestring(sig))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                            "%s: packed attStmt needs alg (an integer) and sig (bytes)", what);
    if (ecdaa)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: packed ECDAA attestation is not supported", what);
    if (alg != VIGIL_WEBAUTHN_ALG_ES256 && alg != VIGIL_WEBAUTHN_ALG_RS256)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: packed attestation algorithm %lld (%s) is not supported "
                            "(ES256, -7, or RS256, -257)",
                            what, (long long)alg, vigil__wa_alg_name(alg));
    if (x5c)
        return x5c_verify(what, x5c, alg, auth_data, ad_len, client_hash, sig, aaguid, errstr,
                          errstr_size);
    if (alg != cred_alg)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: packed self attestation alg %lld (%s) is not the credential's "
                            "%d (%s)",
                            what, (long long)alg, vigil__wa_alg_name(alg), cred_alg,
                            vigil__wa_alg_name(cred_alg));
    return vigil__wa_verify_sig(what, "packed self attestation signature", cred_key, cred_alg,
                                auth_data, ad_len, client_hash, 32, cbor_bytestring_handle(sig),
                                cbor_bytestring_length(sig), errstr, errstr_size);
}
