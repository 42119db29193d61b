/* The browser's half of a WebAuthn response: the clientDataJSON.
 *
 * The browser, not the authenticator, writes clientDataJSON, and the
 * authenticator signs its SHA-256; so what it says (the ceremony type, the
 * challenge vigil issued, the page origin) is what binds a signature to this
 * site and this moment. The checks here are §7.1 steps 7-9 and §7.2 steps
 * 11-13: exact strings, the challenge compared in constant time as its
 * base64url text (one encoding per value, so comparing text is comparing
 * bytes, vigil_b64url_* of vigil/auth.h). Also the printable copy every
 * message of a value given from outside goes through. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth/webauthn_int.h"
#include "vigil/auth.h"

const char *vigil__wa_printable(const char *s, size_t len, char *out, size_t out_size)
{
    size_t o = 0, max = 80;
    if (!out_size) return out;
    for (size_t i = 0; i < len && o + 1 < out_size; i++) {
        if (i == max) {
            for (int k = 0; k < 3 && o + 1 < out_size; k++) out[o++] = '.';
            break;
        }
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
    }
    out[o] = '\0';
    return out;
}

vigil_err_t vigil__wa_rp_check(const char *what, const vigil_webauthn_rp_t *rp,
                               const uint8_t *challenge, size_t challenge_len, char *errstr,
                               size_t errstr_size)
{
    if (!rp || !rp->rp_id || !rp->rp_id[0] || strlen(rp->rp_id) > 253)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: no relying party id (a host name such as \"cams.example.com\")",
                            what);
    if (!rp->origins || rp->norigins == 0)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: no allowed origin (such as \"https://%s\")", what, rp->rp_id);
    for (size_t i = 0; i < rp->norigins; i++)
        if (!rp->origins[i] || !rp->origins[i][0])
            return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                                "%s: allowed origin %zu is empty", what, i + 1);
    if (!challenge || challenge_len < VIGIL_WEBAUTHN_MIN_CHALLENGE ||
        challenge_len > VIGIL_WEBAUTHN_MAX_CHALLENGE)
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "%s: the issued challenge is %zu bytes (%d to %d)", what,
                            challenge ? challenge_len : 0, VIGIL_WEBAUTHN_MIN_CHALLENGE,
                            VIGIL_WEBAUTHN_MAX_CHALLENGE);
    return VIGIL_OK;
}

static json_t *load_client_data(const char *what, const uint8_t *cdj, size_t len, char *errstr,
                                size_t errstr_size, vigil_err_t *err)
{
    char safe[96];
    if (!cdj || len == 0) {
        *err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE, "%s: clientDataJSON is empty",
                            what);
        return NULL;
    }
    if (len > VIGIL_WEBAUTHN_MAX_CLIENT_DATA) {
        *err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_TOO_LARGE,
                            "%s: clientDataJSON is %zu bytes (at most %d)", what, len,
                            VIGIL_WEBAUTHN_MAX_CLIENT_DATA);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb((const char *)cdj, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        *err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                            "%s: clientDataJSON is not valid JSON: %s (byte %d)", what,
                            vigil__wa_printable(jerr.text, strlen(jerr.text), safe, sizeof safe),
                            jerr.position);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        *err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                            "%s: clientDataJSON is not a JSON object", what);
        return NULL;
    }
    return root;
}

/* The string member key of root, or NULL with err set. */
static const char *member_string(const char *what, json_t *root, const char *key, size_t *n,
                                 char *errstr, size_t errstr_size, vigil_err_t *err)
{
    json_t *v = json_object_get(root, key);
    if (!json_is_string(v)) {
        *err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                            "%s: clientDataJSON has no \"%s\" string", what, key);
        return NULL;
    }
    *n = json_string_length(v);
    return json_string_value(v);
}

vigil_err_t vigil_webauthn_client_challenge(const uint8_t *cdj, size_t len, uint8_t *out,
                                            size_t out_size, size_t *n, char *errstr,
                                            size_t errstr_size)
{
    const char *what = "webauthn";
    vigil_err_t err = VIGIL_OK;
    json_t *root = load_client_data(what, cdj, len, errstr, errstr_size, &err);
    if (!root) return err;
    size_t slen;
    const char *s = member_string(what, root, "challenge", &slen, errstr, errstr_size, &err);
    if (s) {
        if (vigil_b64url_decode(s, out, out_size, n) != 0) {
            if (slen % 4 != 1 && slen / 4 * 3 + (slen % 4 ? slen % 4 - 1 : 0) > out_size)
                err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_TOO_LARGE,
                                   "%s: clientDataJSON challenge is longer than %zu bytes", what,
                                   out_size);
            else
                err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                                   "%s: clientDataJSON challenge is not base64url", what);
        }
    }
    json_decref(root);
    return err;
}

vigil_err_t vigil__wa_client_data_verify(const char *what, const char *type,
                                         const vigil_webauthn_rp_t *rp, const uint8_t *challenge,
                                         size_t challenge_len, const uint8_t *cdj, size_t len,
                                         uint8_t hash[32], char *errstr, size_t errstr_size)
{
    vigil_err_t err = VIGIL_OK;
    char safe[96];
    json_t *root = load_client_data(what, cdj, len, errstr, errstr_size, &err);
    if (!root) return err;
    size_t n;
    const char *s = member_string(what, root, "type", &n, errstr, errstr_size, &err);
    if (!s) goto done;
    if (n != strlen(type) || memcmp(s, type, n) != 0) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                           "%s: clientDataJSON type \"%s\" is not \"%s\"", what,
                           vigil__wa_printable(s, n, safe, sizeof safe), type);
        goto done;
    }

    s = member_string(what, root, "challenge", &n, errstr, errstr_size, &err);
    if (!s) goto done;
    char want[VIGIL_WEBAUTHN_MAX_CHALLENGE * 4 / 3 + 4];
    vigil_b64url_encode(challenge, challenge_len, want, sizeof want);
    size_t wn = strlen(want);
    /* lengths are not secret (the issued length is fixed); the bytes are */
    if (n != wn || CRYPTO_memcmp(s, want, wn) != 0) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                           "%s: clientDataJSON challenge is not the one issued for this ceremony",
                           what);
        goto done;
    }

    s = member_string(what, root, "origin", &n, errstr, errstr_size, &err);
    if (!s) goto done;
    int allowed = 0;
    for (size_t i = 0; i < rp->norigins && !allowed; i++)
        allowed = strlen(rp->origins[i]) == n && memcmp(rp->origins[i], s, n) == 0;
    if (!allowed) {
        char list[512];
        size_t o = 0;
        list[0] = '\0';
        for (size_t i = 0; i < rp->norigins && o + 1 < sizeof list; i++) {
            int w = snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", rp->origins[i]);
            if (w < 0) break;
            o += (size_t)w;
        }
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                           "%s: origin \"%s\" is not allowed (allowed: %s)", what,
                           vigil__wa_printable(s, n, safe, sizeof safe), list);
        goto done;
    }

    json_t *co = json_object_get(root, "crossOrigin");
    if (co && !json_is_boolean(co)) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                           "%s: clientDataJSON crossOrigin is not a boolean", what);
        goto done;
    }
    if (json_is_true(co)) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                           "%s: crossOrigin is true: the ceremony ran in a frame of another "
                           "site, which vigil does not allow",
                           what);
        goto done;
    }

    unsigned int hlen = 0;
    if (!EVP_Digest(cdj, len, hash, &hlen, EVP_sha256(), NULL) || hlen != 32)
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM,
                           "%s: cannot hash clientDataJSON (OpenSSL)", what);
done:
    json_decref(root);
    return err;
}
