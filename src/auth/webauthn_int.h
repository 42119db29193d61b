/* Internals of WebAuthn verification (vigil/webauthn.h), shared by
 * webauthn.c (the two ceremonies), webauthn_client.c (clientDataJSON),
 * webauthn_cbor.c (bounded CBOR), webauthn_authdata.c (authenticatorData),
 * webauthn_cose.c (COSE keys, signatures) and webauthn_packed.c (the
 * "packed" attestation format).
 *
 * Every function takes `what`, the prefix of its messages ("webauthn
 * registration", "webauthn login"), and fills errstr as the public functions
 * do. Thread: any. */
#ifndef VIGIL_AUTH_WEBAUTHN_INT_H
#define VIGIL_AUTH_WEBAUTHN_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>
#include <openssl/evp.h>

#include "vigil/webauthn.h"

/* authenticatorData flags (CTAP2 / WebAuthn §6.1) */
#define VIGIL__WA_UP 0x01
#define VIGIL__WA_UV 0x04
#define VIGIL__WA_BE 0x08
#define VIGIL__WA_BS 0x10
#define VIGIL__WA_AT 0x40
#define VIGIL__WA_ED 0x80

/* CBOR nesting bound: an attestation object is map > map > array > bytes. */
#define VIGIL__WA_CBOR_MAX_DEPTH 8

/* --- webauthn_client.c ---------------------------------------------------- */

/* Copies at most 80 characters of s (len bytes) into out for a message:
 * printable ASCII kept, '"', '\\' and everything else as '?', "..." when
 * cut. Returns out. */
const char *vigil__wa_printable(const char *s, size_t len, char *out, size_t out_size);

/* Checks a clientDataJSON (type, challenge, origin, crossOrigin) and writes
 * its SHA-256 into hash. */
vigil_err_t vigil__wa_client_data_verify(const char *what, const char *type,
                                         const vigil_webauthn_rp_t *rp, const uint8_t *challenge,
                                         size_t challenge_len, const uint8_t *cdj, size_t len,
                                         uint8_t hash[32], char *errstr, size_t errstr_size);

/* Checks the RP description and the issued challenge (arguments, not input). */
vigil_err_t vigil__wa_rp_check(const char *what, const vigil_webauthn_rp_t *rp,
                               const uint8_t *challenge, size_t challenge_len, char *errstr,
                               size_t errstr_size);

/* --- webauthn_cbor.c ------------------------------------------------------ */

/* Checks that buf starts with one well-formed CBOR item inside len bytes:
 * definite lengths only, no tags, nesting at most max_depth, every declared
 * array or map count coverable by the bytes left (so decoding it allocates
 * O(len)). *used is the item's length. `part` names it in messages. */
vigil_err_t vigil__wa_cbor_check(const char *what, const char *part, const uint8_t *buf,
                                 size_t len, int max_depth, size_t *used, char *errstr,
                                 size_t errstr_size);

/* vigil__wa_cbor_check, then the item decoded (cbor_decref it). When
 * whole is set, bytes after the item are refused. */
vigil_err_t vigil__wa_cbor_load(const char *what, const char *part, const uint8_t *buf,
                                size_t len, int max_depth, int whole, cbor_item_t **item,
                                size_t *used, char *errstr, size_t errstr_size);

/* The integer value of a CBOR unsigned or negative integer item, when it
 * fits int64_t; 0 otherwise. */
int vigil__wa_cbor_int(const cbor_item_t *it, int64_t *v);

/* The value of the map entry whose key is the text string key (or the
 * integer ikey), NULL when absent; a key present twice: *dup set, NULL. */
cbor_item_t *vigil__wa_map_str(const cbor_item_t *map, const char *key, int *dup);
cbor_item_t *vigil__wa_map_int(const cbor_item_t *map, int64_t ikey, int *dup);

/* --- webauthn_authdata.c -------------------------------------------------- */

/* authenticatorData parsed in place (pointers into the caller's buffer). */
typedef struct vigil__wa_authdata {
    const uint8_t *rp_id_hash; /* 32 bytes */
    uint8_t flags;
    uint32_t sign_count;
    int attested;              /* AT: the fields below are set */
    const uint8_t *aaguid;     /* 16 bytes */
    const uint8_t *cred_id;
    size_t cred_id_len;
    const uint8_t *cose_key;
    size_t cose_key_len;
    const uint8_t *ext;        /* ED: the extensions map, else NULL */
    size_t ext_len;
} vigil__wa_authdata_t;

/* Parses authenticatorData: rpIdHash 32, flags 1, signCount 4 (big-endian),
 * with AT the attested credential data (aaguid 16, credentialIdLength 2
 * big-endian, 1..1023 bytes of id, a COSE key CBOR map), with ED an
 * extensions CBOR map, and nothing after. */
vigil_err_t vigil__wa_authdata_parse(const char *what, const uint8_t *ad, size_t len,
                                     vigil__wa_authdata_t *out, char *errstr, size_t errstr_size);

/* The checks §7.1 and §7.2 share: rpIdHash = SHA-256(rp_id), UP, UV when
 * required, BS only with BE. */
vigil_err_t vigil__wa_authdata_verify(const char *what, const vigil_webauthn_rp_t *rp,
                                      const vigil__wa_authdata_t *ad, char *errstr,
                                      size_t errstr_size);

/* --- webauthn_cose.c ------------------------------------------------------ */

/* Decodes a COSE_Key (the whole of key, len bytes) into a public key:
 * EC2 P-256 with alg -7, or RSA with alg -257; the key must be valid (an
 * EC point on the curve, an RSA modulus of 2048-4096 bits). *pkey is the
 * caller's (EVP_PKEY_free). */
vigil_err_t vigil__wa_cose_key_parse(const char *what, const uint8_t *key, size_t len,
                                     EVP_PKEY **pkey, int *alg, char *errstr, size_t errstr_size);

/* The name of a COSE algorithm for messages ("ES256", "EdDSA", "unknown"). */
const char *vigil__wa_alg_name(int64_t alg);

/* Verifies sig over data1 || data2 with pkey under alg (-7: SHA-256 ECDSA,
 * DER signature; -257: SHA-256 PKCS#1 v1.5). `whose` names the signature
 * in messages ("assertion signature"). */
vigil_err_t vigil__wa_verify_sig(const char *what, const char *whose, EVP_PKEY *pkey, int alg,
                                 const uint8_t *data1, size_t len1, const uint8_t *data2,
                                 size_t len2, const uint8_t *sig, size_t sig_len, char *errstr,
                                 size_t errstr_size);

/* --- webauthn_packed.c ---------------------------------------------------- */

/* Verifies a "packed" attestation statement (§8.2) over authData ||
 * clientDataHash: self attestation (alg the credential's, signed by
 * cred_key) or x5c (signed by the leaf certificate; its requirements). */
vigil_err_t vigil__wa_packed_verify(const char *what, const cbor_item_t *att_stmt,
                                    const uint8_t *auth_data, size_t ad_len,
                                    const uint8_t client_hash[32], EVP_PKEY *cred_key,
                                    int cred_alg, const uint8_t aaguid[16], char *errstr,
                                    size_t errstr_size);

#endif
