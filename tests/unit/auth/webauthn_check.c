/* webauthn_check: vigil's WebAuthn verification on the command line, for
 * tests that compare it with another implementation (tests/e2e/
 * test_webauthn_pyref.py runs it beside py_webauthn). Test-only: built by
 * CMake next to the unit tests, never installed.
 *
 *   webauthn_check verify     reads one JSON request on stdin, prints the verdict:
 *     {"op": "register", "rp_id", "origins": [..], "require_uv", "challenge",
 *      "clientDataJSON", "attestationObject"}
 *       -> {"ok": true, "credential_id", "public_key", "alg", "sign_count",
 *           "aaguid", "backup_eligible", "backed_up", "user_verified"}
 *     {"op": "assert", "rp_id", "origins", "require_uv", "challenge",
 *      "clientDataJSON", "authenticatorData", "signature", "public_key",
 *      "sign_count"}
 *       -> {"ok": true, "new_sign_count"}
 *     a refusal -> {"ok": false, "code": "invalid"|"decode"|..., "error": message}
 *     (binary fields base64url; exit 0 with a verdict, 2 on a bad request)
 *   webauthn_check make ALG FMT  the test authenticator (webauthn_support.c)
 *     registers a new credential (ALG -7 or -257, FMT none, packed or
 *     packed-x5c) and logs in once; prints both responses in the browser's
 *     JSON form, with rp_id, origin, challenges and the COSE public key.
 *   webauthn_check seeds DIR     writes the seed corpus of
 *     tests/fuzz/fuzz_webauthn.c (the format is described there). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "vigil/file.h"
#include "vigil/webauthn.h"
#include "webauthn_support.h"

static uint8_t *field(json_t *req, const char *key, size_t *n)
{
    const char *s = json_string_value(json_object_get(req, key));
    uint8_t *out = NULL;
    if (!s || wa_b64url_decode(s, &out, n)) {
        fprintf(stderr, "webauthn_check: request field \"%s\" missing or not base64url\n", key);
        exit(2);
    }
    return out;
}

static const char *code_name(vigil_err_t e)
{
    switch (e) {
    case VIGIL_ERR_INVALID: return "invalid";
    case VIGIL_ERR_DECODE: return "decode";
    case VIGIL_ERR_TOO_LARGE: return "too_large";
    case VIGIL_ERR_NOMEM: return "nomem";
    default: return "other";
    }
}

static void put_b64(json_t *o, const char *key, const uint8_t *d, size_t n)
{
    char *s = wa_b64url(d, n);
    json_object_set_new(o, key, json_string(s));
    free(s);
}

static int print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    puts(s);
    free(s);
    json_decref(o);
    return 0;
}

static int verify(void)
{
    char *text = NULL, err[1024] = "";
    size_t len = 0;
    if (vigil_file_read_fd(0, "stdin", 1 << 20, &text, &len, err, sizeof err)) {
        fprintf(stderr, "webauthn_check: %s\n", err);
        return 2;
    }
    json_error_t jerr;
    json_t *req = json_loadb(text, len, 0, &jerr);
    free(text);
    if (!req) {
        fprintf(stderr, "webauthn_check: request is not JSON: %s\n", jerr.text);
        return 2;
    }
    const char *op = json_string_value(json_object_get(req, "op"));
    json_t *jo = json_object_get(req, "origins");
    const char *origins[8];
    size_t norigins = 0;
    for (size_t i = 0; i < json_array_size(jo) && norigins < 8; i++)
        origins[norigins++] = json_string_value(json_array_get(jo, i));
    vigil_webauthn_rp_t rp = {json_string_value(json_object_get(req, "rp_id")), origins, norigins,
                              json_is_true(json_object_get(req, "require_uv"))};
    size_t chn, cdjn;
    uint8_t *ch = field(req, "challenge", &chn), *cdj = field(req, "clientDataJSON", &cdjn);
    json_t *out = json_object();
    vigil_err_t e;
    if (op && strcmp(op, "register") == 0) {
        size_t aon;
        uint8_t *ao = field(req, "attestationObject", &aon);
        vigil_webauthn_credential_t cred;
        e = vigil_webauthn_register_verify(&rp, ch, chn, cdj, cdjn, ao, aon, &cred, err, sizeof err);
        if (!e) {
            put_b64(out, "credential_id", cred.id, cred.id_len);
            put_b64(out, "public_key", cred.cose_key, cred.cose_key_len);
            json_object_set_new(out, "alg", json_integer(cred.alg));
            json_object_set_new(out, "sign_count", json_integer(cred.sign_count));
            char hex[33];
            for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", cred.aaguid[i]);
            json_object_set_new(out, "aaguid", json_string(hex));
            json_object_set_new(out, "backup_eligible", json_boolean(cred.backup_eligible));
            json_object_set_new(out, "backed_up", json_boolean(cred.backed_up));
            json_object_set_new(out, "user_verified", json_boolean(cred.user_verified));
        }
        vigil_webauthn_credential_release(&cred);
        free(ao);
    } else if (op && strcmp(op, "assert") == 0) {
        size_t adn, sign, keyn;
        uint8_t *ad = field(req, "authenticatorData", &adn), *sig = field(req, "signature", &sign);
        uint8_t *key = field(req, "public_key", &keyn);
        json_int_t stored = json_integer_value(json_object_get(req, "sign_count"));
        uint32_t count = 0;
        e = vigil_webauthn_assert_verify(&rp, ch, chn, cdj, cdjn, ad, adn, sig, sign, key, keyn,
                                         (uint32_t)stored, &count, err, sizeof err);
        if (!e) json_object_set_new(out, "new_sign_count", json_integer(count));
        free(ad), free(sig), free(key);
    } else {
        fprintf(stderr, "webauthn_check: op must be \"register\" or \"assert\"\n");
        return 2;
    }
    json_object_set_new(out, "ok", json_boolean(e == VIGIL_OK));
    if (e) {
        json_object_set_new(out, "code", json_string(code_name(e)));
        json_object_set_new(out, "error", json_string(err));
    }
    free(ch), free(cdj);
    json_decref(req);
    return print_json(out);
}

static int make(int alg, const char *fmt)
{
    wa_authn_t a;
    wa_opts_t o;
    uint8_t reg_ch[32], get_ch[32];
    uint8_t *cdj, *ao, *cdj2, *ad, *sig;
    size_t cdj_len, ao_len, cdj2_len, ad_len, sig_len;
    if (RAND_bytes(reg_ch, 32) != 1 || RAND_bytes(get_ch, 32) != 1 || wa_authn_init(&a, alg, 0))
        return 1;
    wa_opts_init(&o, reg_ch, 32);
    o.fmt = fmt;
    o.count = 1;
    o.cross_origin = 0;
    if (wa_make_registration(&a, &o, &cdj, &cdj_len, &ao, &ao_len)) return 1;
    wa_opts_init(&o, get_ch, 32);
    o.count = 2;
    o.cross_origin = 0;
    if (wa_make_assertion(&a, &o, &cdj2, &cdj2_len, &ad, &ad_len, &sig, &sig_len)) return 1;

    json_t *out = json_object(), *r = json_object(), *rr = json_object();
    json_t *g = json_object(), *gr = json_object();
    json_object_set_new(out, "rp_id", json_string(WA_RP_ID));
    json_object_set_new(out, "origin", json_string(WA_ORIGIN));
    put_b64(out, "registration_challenge", reg_ch, 32);
    put_b64(out, "authentication_challenge", get_ch, 32);
    put_b64(out, "public_key", a.cose, a.cose_len);
    put_b64(r, "id", a.cred_id, a.cred_id_len);
    put_b64(r, "rawId", a.cred_id, a.cred_id_len);
    json_object_set_new(r, "type", json_string("public-key"));
    put_b64(rr, "clientDataJSON", cdj, cdj_len);
    put_b64(rr, "attestationObject", ao, ao_len);
    json_object_set_new(r, "response", rr);
    json_object_set_new(out, "registration", r);
    put_b64(g, "id", a.cred_id, a.cred_id_len);
    put_b64(g, "rawId", a.cred_id, a.cred_id_len);
    json_object_set_new(g, "type", json_string("public-key"));
    put_b64(gr, "clientDataJSON", cdj2, cdj2_len);
    put_b64(gr, "authenticatorData", ad, ad_len);
    put_b64(gr, "signature", sig, sig_len);
    json_object_set_new(g, "response", gr);
    json_object_set_new(out, "authentication", g);
    free(cdj), free(ao), free(cdj2), free(ad), free(sig);
    wa_authn_release(&a);
    return print_json(out);
}

/* --- fuzz seeds ----------------------------------------------------------- */

static const uint8_t fuzz_challenge[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                           12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                           23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static void put16(FILE *f, const uint8_t *d, size_t n)
{
    fputc((int)(n >> 8 & 0xff), f);
    fputc((int)(n & 0xff), f);
    fwrite(d, 1, n, f);
}

typedef struct seed {
    const char *name;
    int alg;
    int flags;           /* the driver's flags byte */
    const char *fmt;
    const char *origin;  /* registration origin (NULL: the right one) */
    int reg_flags;       /* -1: default */
    int get_flags;
    int flip_sig;
    uint32_t count;      /* login count (the driver stores 7) */
    int with_ext;
} seed_t;

static int write_seed(const char *dir, const seed_t *s)
{
    static const uint8_t ext[] = {0xa1, 0x6b, 'c', 'r', 'e', 'd', 'P', 'r', 'o', 't', 'e', 'c', 't', 0x02};
    wa_authn_t a;
    wa_opts_t o;
    uint8_t *cdj, *ao, *cdj2, *ad, *sig;
    size_t cdj_len, ao_len, cdj2_len, ad_len, sig_len;
    if (wa_authn_init(&a, s->alg, 0)) return 1;
    wa_opts_init(&o, fuzz_challenge, 32);
    o.fmt = s->fmt;
    o.flags = s->reg_flags;
    if (s->origin) o.origin = s->origin;
    if (s->with_ext) {
        o.flags = 0xc5;
        o.ext = ext;
        o.ext_len = sizeof ext;
    }
    if (wa_make_registration(&a, &o, &cdj, &cdj_len, &ao, &ao_len)) return 1;
    wa_opts_init(&o, fuzz_challenge, 32);
    o.flags = s->get_flags;
    o.count = s->count;
    o.flip_sig_bit = s->flip_sig;
    if (s->with_ext) {
        o.flags = 0x85;
        o.ext = ext;
        o.ext_len = sizeof ext;
    }
    if (wa_make_assertion(&a, &o, &cdj2, &cdj2_len, &ad, &ad_len, &sig, &sig_len)) return 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, s->name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    fputc(s->flags, f);
    put16(f, cdj, cdj_len);
    put16(f, ao, ao_len);
    put16(f, cdj2, cdj2_len);
    put16(f, ad, ad_len);
    fwrite(sig, 1, sig_len, f);
    int rc = fclose(f) ? 1 : 0;
    free(cdj), free(ao), free(cdj2), free(ad), free(sig);
    wa_authn_release(&a);
    return rc;
}

static int seeds(const char *dir)
{
    static const seed_t all[] = {
        {"es256-none-login", -7, 1, "none", NULL, -1, -1, 0, 8, 0},
        {"rs256-none-login", -257, 1, "none", NULL, -1, -1, 0, 8, 0},
        {"es256-packed-self-ext", -7, 0, "packed", NULL, -1, -1, 0, 9, 1},
        {"rs256-packed-self", -257, 1, "packed", NULL, -1, -1, 0, 100, 0},
        {"es256-packed-x5c", -7, 0, "packed-x5c", NULL, -1, -1, 0, 8, 0},
        {"es256-synced-passkey-be-bs", -7, 1, "none", NULL, 0x5d, 0x1d, 0, 8, 0},
        {"es256-tpm-fmt-refused", -7, 2, "tpm", NULL, -1, -1, 0, 8, 0},
        {"es256-evil-origin-flipped-sig", -7, 0, "none", "https://evil.example", -1, -1, 1, 8, 0},
        {"rs256-count-regression", -257, 0, "none", NULL, -1, 0x01, 0, 7, 0},
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (write_seed(dir, &all[i])) return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "verify") == 0) return verify();
    if (argc >= 4 && strcmp(argv[1], "make") == 0) return make(atoi(argv[2]), argv[3]);
    if (argc >= 3 && strcmp(argv[1], "seeds") == 0) return seeds(argv[2]);
    fprintf(stderr, "usage: webauthn_check verify < request.json\n"
                    "       webauthn_check make ALG FMT\n"
                    "       webauthn_check seeds DIR\n");
    return 2;
}
