/* Unit tests of WebAuthn verification (vigil/webauthn.h) against real
 * registrations and assertions that a software authenticator makes in the
 * test (webauthn_support.c: OpenSSL P-256 and RSA-2048 keys, libcbor), each
 * good one then bent one way: another challenge, type, origin or RP id, a
 * missing flag, a flipped signature bit, a counter that went back, every
 * truncation and every flipped byte, an algorithm or attestation format
 * vigil does not take, inputs over their bounds. Plus responses of real
 * authenticators (py_webauthn's test vectors, bytes as published). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/webauthn.h"
#include "webauthn_support.h"

static const uint8_t CHAL[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t OTHER_CHAL[32] = {9};
static const char *const ORIGINS[] = {WA_ORIGIN, "https://other.example.com"};

static wa_authn_t es256, rs256;

static int group_setup(void **state)
{
    (void)state;
    if (wa_authn_init(&es256, -7, 0) || wa_authn_init(&rs256, -257, 0)) return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    wa_authn_release(&es256);
    wa_authn_release(&rs256);
    return 0;
}

static vigil_webauthn_rp_t rp_of(int require_uv)
{
    vigil_webauthn_rp_t rp = {WA_RP_ID, ORIGINS, 1, require_uv};
    return rp;
}

static char errbuf[512];

/* Makes a registration as o says and verifies it. */
static vigil_err_t reg(wa_authn_t *a, const wa_opts_t *o, int require_uv,
                       vigil_webauthn_credential_t *cred)
{
    uint8_t *cdj = NULL, *ao = NULL;
    size_t cdj_len = 0, ao_len = 0;
    assert_int_equal(wa_make_registration(a, o, &cdj, &cdj_len, &ao, &ao_len), 0);
    vigil_webauthn_rp_t rp = rp_of(require_uv);
    errbuf[0] = '\0';
    vigil_err_t err = vigil_webauthn_register_verify(&rp, CHAL, sizeof CHAL, cdj, cdj_len, ao, ao_len,
                                                     cred, errbuf, sizeof errbuf);
    free(cdj);
    free(ao);
    return err;
}

static vigil_err_t reg_default(wa_authn_t *a, const char *fmt)
{
    wa_opts_t o;
    vigil_webauthn_credential_t cred;
    wa_opts_init(&o, CHAL, sizeof CHAL);
    o.fmt = fmt;
    vigil_err_t err = reg(a, &o, 1, &cred);
    vigil_webauthn_credential_release(&cred);
    return err;
}

/* Makes an assertion as o says and verifies it against a's key. */
static vigil_err_t login(wa_authn_t *a, const wa_opts_t *o, int require_uv, uint32_t stored,
                         uint32_t *new_count)
{
    uint8_t *cdj = NULL, *ad = NULL, *sig = NULL;
    size_t cdj_len = 0, ad_len = 0, sig_len = 0;
    assert_int_equal(wa_make_assertion(a, o, &cdj, &cdj_len, &ad, &ad_len, &sig, &sig_len), 0);
    vigil_webauthn_rp_t rp = rp_of(require_uv);
    errbuf[0] = '\0';
    vigil_err_t err = vigil_webauthn_assert_verify(&rp, CHAL, sizeof CHAL, cdj, cdj_len, ad, ad_len,
                                                   sig, sig_len, a->cose, a->cose_len, stored,
                                                   new_count, errbuf, sizeof errbuf);
    free(cdj);
    free(ad);
    free(sig);
    return err;
}

static vigil_err_t login_default(wa_authn_t *a, uint32_t count, uint32_t stored)
{
    wa_opts_t o;
    uint32_t n = 0;
    wa_opts_init(&o, CHAL, sizeof CHAL);
    o.count = count;
    return login(a, &o, 1, stored, &n);
}

#define assert_refused(expr, code, needle)                                                      \
    do {                                                                                        \
        vigil_err_t e_ = (expr);                                                                \
        if (e_ != (code) || !strstr(errbuf, (needle)))                                          \
            fail_msg("expected %d with \"%s\", got %d: %s", (int)(code), (needle), (int)e_,     \
                     errbuf);                                                                   \
    } while (0)

static void register_then_login(wa_authn_t *a, int alg)
{
    wa_opts_t o;
    vigil_webauthn_credential_t cred;
    wa_opts_init(&o, CHAL, sizeof CHAL);
    o.count = 3;
    assert_int_equal(reg(a, &o, 1, &cred), VIGIL_OK);
    assert_int_equal(cred.alg, alg);
    assert_int_equal(cred.id_len, a->cred_id_len);
    assert_memory_equal(cred.id, a->cred_id, a->cred_id_len);
    assert_int_equal(cred.cose_key_len, a->cose_len);
    assert_memory_equal(cred.cose_key, a->cose, a->cose_len);
    assert_memory_equal(cred.aaguid, a->aaguid, 16);
    assert_int_equal(cred.sign_count, 3);
    assert_int_equal(cred.user_verified, 1);
    assert_int_equal(cred.backup_eligible, 0);

    /* login with the key the registration returned */
    uint8_t *cdj, *ad, *sig;
    size_t cdj_len, ad_len, sig_len;
    uint32_t n = 0;
    o.count = 4;
    assert_int_equal(wa_make_assertion(a, &o, &cdj, &cdj_len, &ad, &ad_len, &sig, &sig_len), 0);
    vigil_webauthn_rp_t rp = rp_of(1);
    vigil_err_t err = vigil_webauthn_assert_verify(&rp, CHAL, sizeof CHAL, cdj, cdj_len, ad, ad_len,
                                                   sig, sig_len, cred.cose_key, cred.cose_key_len,
                                                   cred.sign_count, &n, errbuf, sizeof errbuf);
    if (err) fail_msg("%s", errbuf);
    assert_int_equal(n, 4);
    int kalg = 0;
    assert_int_equal(vigil_webauthn_cose_key_check(cred.cose_key, cred.cose_key_len, &kalg, errbuf,
                                                   sizeof errbuf),
                     VIGIL_OK);
    assert_int_equal(kalg, alg);
    free(cdj);
    free(ad);
    free(sig);
    vigil_webauthn_credential_release(&cred);
    assert_null(cred.cose_key);
}

static void test_es256_registers_and_logs_in(void **state)
{
    (void)state;
    register_then_login(&es256, -7);
}

static void test_rs256_registers_and_logs_in(void **state)
{
    (void)state;
    register_then_login(&rs256, -257);
}

static void test_other_challenge_is_refused(void **state)
{
    (void)state;
    wa_opts_t o;
    vigil_webauthn_credential_t cred;
    uint32_t n;
    wa_opts_init(&o, OTHER_CHAL, sizeof OTHER_CHAL);
    assert_refused(reg(&es256, &o, 1, &cred), VIGIL_ERR_INVALID, "challenge is not the one issued");
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_INVALID, "challenge is not the one issued");
    wa_opts_init(&o, CHAL, 31); /* a prefix of the issued challenge */
    assert_refused(reg(&es256, &o, 1, &cred), VIGIL_ERR_INVALID, "challenge");
}

static void test_other_ceremony_type_is_refused(void **state)
{
    (void)state;
    wa_opts_t o;
    vigil_webauthn_credential_t cred;
    uint32_t n;
    wa_opts_init(&o, CHAL, sizeof CHAL);
    o.type = "webauthn.get";
    assert_refused(reg(&es256, &o, 1, &cred), VIGIL_ERR_INVALID,
                   "type \"webauthn.get\" is not \"webauthn.create\"");
    o.type = "webauthn.create";
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_INVALID,
                   "type \"webauthn.create\" is not \"webauthn.get\"");
}

static void test_other_origin_is_refused_and_named(void **state)
{
    (void)state;
    wa_opts_t o;
    vigil_webauthn_credential_t cred;
    uint32_t n;
    wa_opts_init(&o, CHAL, sizeof CHAL);
    o.origin = "https://evil.example";
    assert_refused(reg(&es256, &o, 1, &cred), VIGIL_ERR_INVALID,
                   "webauthn registration: origin \"https://evil.example\" is not allowed (allowed: "
                   "https://cams.example.com)");
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_INVALID, "origin \"https://evil.example\"");
    o.origin = "https://cams.example.com:443"; /* exact strings only */
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_INVALID, "is not allowed");
    o.origin = "https://evil\\u0001\\\".example"; /* control and quote bytes are not echoed */
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_INVALID, "origin \"https://evil??.example\"");
}

static void test_cross_origin_true_is_refused(void **state)
{
    (void)state;
    wa_opts_t o;
    vigil_webauthn_credential_t cred;
    uint32_t n;
    wa_opts_init(&o, CHAL, sizeof CHAL);
    o.cross_origin = 1;
    assert_refused(reg(&es256, &o, 1, &cred), VIGIL_ERR_INVALID, "crossOrigin is true");
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_INVALID, "crossOrigin is true");
    o.cross_origin = 0;
    assert_int_equal(login(&es256, &o, 1, 0, &n), VIGIL_OK);
    o.cross_origin = -1;
    o.extra_json = ",\"crossOrigin\":\"true\"";
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_DECODE, "crossOrigin is not a boolean");
}

static void test_other_rp_id_hash_is_refused(void **state)
{
    (void)state;
    wa_opts_t o;
    vigil_webauthn_credential_t cred;
    uint32_t n;
    wa_opts_init(&o, CHAL, sizeof CHAL);
    o.rp_id = "example.com"; /* a parent domain's credential is another site's */
    assert_refused(reg(&es256, &o, 1, &cred), VIGIL_ERR_INVALID, "RP id hash is not SHA-256(\"cams.example.com\")");
    assert_refused(login(&rs256, &o, 1, 0, &n), VIGIL_ERR_INVALID, "RP id hash");
}

static void test_missing_flags_are_refused(void **state)
{
    (void)state;
    wa_opts_t o;
    vigil_webauthn_credential_t cred;
    uint32_t n;
    wa_opts_init(&o, CHAL, sizeof CHAL);
    o.flags = 0x44; /* UV|AT, no UP */
    assert_refused(reg(&es256, &o, 1, &cred), VIGIL_ERR_INVALID, "user presence (UP flag) not set");
    o.flags = 0x04;
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_INVALID, "UP flag");
    o.flags = 0x41; /* UP|AT, no UV */
    assert_refused(reg(&es256, &o, 1, &cred), VIGIL_ERR_INVALID, "user verification (UV flag) required");
    assert_int_equal(reg(&es256, &o, 0, &cred), VIGIL_OK); /* not required: fine */
    assert_int_equal(cred.user_verified, 0);
    vigil_webauthn_credential_release(&cred);
    o.flags = 0x01;
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_INVALID, "UV flag");
    assert_int_equal(login(&es256, &o, 0, 0, &n), VIGIL_OK);
    o.flags = 0x05; /* registration without AT: no credential */
    assert_refused(reg(&es256, &o, 1, &cred), VIGIL_ERR_INVALID, "AT flag not set");
    o.flags = 0x55; /* BS without BE */
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_INVALID, "backed up (BS) but not backup eligible");
    o.flags = 0x5d; /* BE|BS: a synced passkey */
    assert_int_equal(login(&es256, &o, 1, 0, &n), VIGIL_OK);
    o.flags = 0x5d | 0x40;
    assert_int_equal(reg(&es256, &o, 1, &cred), VIGIL_OK);
    assert_int_equal(cred.backup_eligible, 1);
    assert_int_equal(cred.backed_up, 1);
    vigil_webauthn_credential_release(&cred);
}

static void test_flipped_signature_bit_is_refused(void **state)
{
    (void)state;
    wa_opts_t o;
    uint32_t n = 77;
    wa_opts_init(&o, CHAL, sizeof CHAL);
    o.flip_sig_bit = 1;
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_INVALID, "assertion signature does not verify");
    assert_refused(login(&rs256, &o, 1, 0, &n), VIGIL_ERR_INVALID, "assertion signature does not verify");
    assert_int_equal(n, 77); /* untouched on failure */

    /* a good signature by another credential's key */
    uint8_t *cdj, *ad, *sig;
    size_t cdj_len, ad_len, sig_len;
    o.flip_sig_bit = 0;
    assert_int_equal(wa_make_assertion(&es256, &o, &cdj, &cdj_len, &ad, &ad_len, &sig, &sig_len), 0);
    vigil_webauthn_rp_t rp = rp_of(1);
    assert_int_equal(vigil_webauthn_assert_verify(&rp, CHAL, sizeof CHAL, cdj, cdj_len, ad, ad_len,
                                                  sig, sig_len, rs256.cose, rs256.cose_len, 0, &n,
                                                  errbuf, sizeof errbuf),
                     VIGIL_ERR_INVALID);
    assert_non_null(strstr(errbuf, "RS256"));
    free(cdj);
    free(ad);
    free(sig);
}

static void test_sign_count_must_grow_unless_both_zero(void **state)
{
    (void)state;
    assert_refused(login_default(&es256, 4, 5), VIGIL_ERR_INVALID,
                   "sign count regression: possible cloned authenticator (stored 5, received 4)");
    assert_refused(login_default(&es256, 5, 5), VIGIL_ERR_INVALID, "sign count regression");
    assert_refused(login_default(&es256, 0, 5), VIGIL_ERR_INVALID, "sign count regression");
    assert_int_equal(login_default(&es256, 0, 0), VIGIL_OK); /* authenticators without a counter */
    assert_int_equal(login_default(&es256, 1, 0), VIGIL_OK);
    assert_int_equal(login_default(&rs256, 0xffffffffu, 0xfffffffeu), VIGIL_OK);
    wa_opts_t o;
    uint32_t n = 0;
    wa_opts_init(&o, CHAL, sizeof CHAL);
    o.count = 6;
    assert_int_equal(login(&es256, &o, 1, 5, &n), VIGIL_OK);
    assert_int_equal(n, 6);
}

static void test_every_truncation_of_a_registration_is_refused(void **state)
{
    (void)state;
    uint8_t *cdj, *ao;
    size_t cdj_len, ao_len;
    wa_opts_t o;
    vigil_webauthn_credential_t cred;
    vigil_webauthn_rp_t rp = rp_of(1);
    wa_opts_init(&o, CHAL, sizeof CHAL);
    o.fmt = "packed";
    assert_int_equal(wa_make_registration(&rs256, &o, &cdj, &cdj_len, &ao, &ao_len), 0);
    for (size_t n = 0; n < ao_len; n++) {
        vigil_err_t err = vigil_webauthn_register_verify(&rp, CHAL, sizeof CHAL, cdj, cdj_len, ao,
                                                         n, &cred, errbuf, sizeof errbuf);
        if (err == VIGIL_OK) fail_msg("attestationObject cut to %zu of %zu bytes accepted", n, ao_len);
        assert_null(cred.cose_key);
    }
    for (size_t n = 0; n < cdj_len; n++)
        assert_int_not_equal(vigil_webauthn_register_verify(&rp, CHAL, sizeof CHAL, cdj, n, ao,
                                                            ao_len, &cred, errbuf, sizeof errbuf),
                             VIGIL_OK);
    assert_int_equal(vigil_webauthn_register_verify(&rp, CHAL, sizeof CHAL, cdj, cdj_len, ao, ao_len,
                                                    &cred, errbuf, sizeof errbuf),
                     VIGIL_OK);
    vigil_webauthn_credential_release(&cred);
    free(cdj);
    free(ao);
}

/* Every byte of a registration flipped (three ways): no crash, no leak, and
 * whatever is accepted is a whole credential. With "none" attestation nothing
 * signs the credential id or AAGUID, so those flips may pass. */
static void test_every_flipped_byte_of_a_registration_is_survived(void **state)
{
    (void)state;
    uint8_t *cdj, *ao;
    size_t cdj_len, ao_len;
    wa_opts_t o;
    vigil_webauthn_credential_t cred;
    vigil_webauthn_rp_t rp = rp_of(1);
    static const uint8_t masks[] = {0xff, 0x01, 0x80};
    wa_opts_init(&o, CHAL, sizeof CHAL);
    assert_int_equal(wa_make_registration(&es256, &o, &cdj, &cdj_len, &ao, &ao_len), 0);
    size_t accepted = 0;
    for (size_t i = 0; i < ao_len; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            ao[i] ^= masks[m];
            if (vigil_webauthn_register_verify(&rp, CHAL, sizeof CHAL, cdj, cdj_len, ao, ao_len,
                                               &cred, errbuf, sizeof errbuf) == VIGIL_OK) {
                assert_non_null(cred.cose_key);
                assert_true(cred.id_len >= 1 && cred.id_len <= 1023);
                accepted++;
            }
            vigil_webauthn_credential_release(&cred);
            ao[i] ^= masks[m];
        }
    }
    assert_true(accepted < ao_len * sizeof masks / 2);
    free(cdj);
    free(ao);
}

/* An assertion is signed whole: every truncation and every flipped byte of
 * authenticatorData, clientDataJSON and the signature is refused. */
static void test_every_truncation_and_flip_of_an_assertion_is_refused(void **state)
{
    (void)state;
    uint8_t *cdj, *ad, *sig;
    size_t cdj_len, ad_len, sig_len;
    uint32_t n;
    wa_opts_t o;
    vigil_webauthn_rp_t rp = rp_of(1);
    wa_opts_init(&o, CHAL, sizeof CHAL);
    o.flags = 0x85; /* with an extensions map */
    static const uint8_t ext[] = {0xa1, 0x6b, 'c', 'r', 'e', 'd', 'P', 'r', 'o', 't', 'e', 'c', 't', 0x02};
    o.ext = ext;
    o.ext_len = sizeof ext;
    o.count = 9;
    assert_int_equal(wa_make_assertion(&es256, &o, &cdj, &cdj_len, &ad, &ad_len, &sig, &sig_len), 0);
    assert_int_equal(vigil_webauthn_assert_verify(&rp, CHAL, sizeof CHAL, cdj, cdj_len, ad, ad_len,
                                                  sig, sig_len, es256.cose, es256.cose_len, 0, &n,
                                                  errbuf, sizeof errbuf),
                     VIGIL_OK);
    struct { uint8_t *p; size_t len; } parts[] = {{cdj, cdj_len}, {ad, ad_len}, {sig, sig_len}};
    for (int k = 0; k < 3; k++) {
        size_t full = parts[k].len;
        for (size_t cut = 0; cut <= full; cut++) {
            size_t lens[3] = {cdj_len, ad_len, sig_len};
            if (cut < full) lens[k] = cut;
            for (size_t i = 0; i < (cut < full ? 1 : full); i++) {
                if (cut == full) parts[k].p[i] ^= 0x20;
                vigil_err_t err = vigil_webauthn_assert_verify(&rp, CHAL, sizeof CHAL, cdj, lens[0],
                                                               ad, lens[1], sig, lens[2], es256.cose,
                                                               es256.cose_len, 0, &n, errbuf,
                                                               sizeof errbuf);
                if (cut == full) parts[k].p[i] ^= 0x20;
                if (err == VIGIL_OK)
                    fail_msg("part %d accepted %s at %zu", k, cut < full ? "cut" : "flipped",
                             cut < full ? cut : i);
            }
        }
    }
    free(cdj);
    free(ad);
    free(sig);
}

static void test_unsupported_algorithms_are_refused_by_name(void **state)
{
    (void)state;
    static const struct { int alg; const char *needle; } cases[] = {
        {-8, "credential algorithm -8 (EdDSA) is not supported"},
        {-35, "-35 (ES384)"},
        {-65535, "-65535 (RS1)"},
        {-37, "-37 (PS256)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wa_authn_t a;
        assert_int_equal(wa_authn_init(&a, -7, cases[i].alg), 0);
        assert_refused(reg_default(&a, "none"), VIGIL_ERR_INVALID, cases[i].needle);
        int alg;
        assert_int_equal(vigil_webauthn_cose_key_check(a.cose, a.cose_len, &alg, errbuf, sizeof errbuf),
                         VIGIL_ERR_INVALID);
        wa_authn_release(&a);
    }
    wa_authn_t a; /* an EC key labelled RS256 */
    assert_int_equal(wa_authn_init(&a, -7, -257), 0);
    assert_refused(reg_default(&a, "none"), VIGIL_ERR_INVALID, "key type 2 with alg -257 (RS256 needs kty 3)");
    wa_authn_release(&a);
}

static void test_invalid_public_keys_are_refused(void **state)
{
    (void)state;
    wa_authn_t a;
    assert_int_equal(wa_authn_init(&a, -7, 0), 0);
    a.cose[a.cose_len - 1] ^= 0x01; /* last byte of y */
    assert_refused(reg_default(&a, "none"), VIGIL_ERR_INVALID, "is not a point on P-256");
    wa_authn_release(&a);

    /* RSA: the COSE key ends with n's last byte, then -2 (0x21), bytes(3) (0x43), e = 01 00 01 */
    uint8_t saved[1024];
    memcpy(saved, rs256.cose, rs256.cose_len);
    assert_memory_equal(rs256.cose + rs256.cose_len - 5, "\x21\x43\x01\x00\x01", 5);
    rs256.cose[rs256.cose_len - 1] = 0x00; /* e = 65536: even */
    assert_refused(reg_default(&rs256, "none"), VIGIL_ERR_INVALID, "RSA modulus or exponent refused");
    memcpy(rs256.cose, saved, rs256.cose_len);
    rs256.cose[rs256.cose_len - 6] ^= 0x01; /* n even */
    assert_refused(reg_default(&rs256, "none"), VIGIL_ERR_INVALID, "RSA modulus or exponent refused");
    memcpy(rs256.cose, saved, rs256.cose_len);
    assert_int_equal(reg_default(&rs256, "none"), VIGIL_OK);
}

static void test_packed_attestation_is_verified(void **state)
{
    (void)state;
    assert_int_equal(reg_default(&es256, "packed"), VIGIL_OK);
    assert_int_equal(reg_default(&rs256, "packed"), VIGIL_OK);
    if (reg_default(&es256, "packed-x5c") != VIGIL_OK) fail_msg("%s", errbuf);
    if (reg_default(&rs256, "packed-x5c") != VIGIL_OK) fail_msg("%s", errbuf);
    wa_opts_t o;
    vigil_webauthn_credential_t cred;
    wa_opts_init(&o, CHAL, sizeof CHAL);
    o.fmt = "packed";
    o.flip_sig_bit = 1;
    assert_refused(reg(&es256, &o, 1, &cred), VIGIL_ERR_INVALID, "packed self attestation signature does not verify");
    o.fmt = "packed-x5c";
    assert_refused(reg(&rs256, &o, 1, &cred), VIGIL_ERR_INVALID, "packed attestation signature (certificate key) does not verify");
    /* the certificate's AAGUID extension must be the authData's */
    wa_authn_t a;
    assert_int_equal(wa_authn_init(&a, -7, 0), 0);
    a.aaguid[0] ^= 1;
    o.flip_sig_bit = 0;
    assert_refused(reg(&a, &o, 1, &cred), VIGIL_ERR_INVALID, "AAGUID extension does not match");
    wa_authn_release(&a);
}

static void test_other_attestation_formats_are_refused(void **state)
{
    (void)state;
    assert_refused(reg_default(&es256, "tpm"), VIGIL_ERR_INVALID, "attestation format \"tpm\" is not supported");
    assert_refused(reg_default(&es256, "fido-u2f"), VIGIL_ERR_INVALID, "\"fido-u2f\" is not supported");
    assert_refused(reg_default(&es256, ""), VIGIL_ERR_INVALID, "format \"\" is not supported");

    /* "none" with a statement */
    uint8_t *ad, *ao, *cdj;
    size_t ad_len, ao_len;
    vigil_webauthn_credential_t cred;
    vigil_webauthn_rp_t rp = rp_of(1);
    char *c = wa_client_data("webauthn.create", CHAL, sizeof CHAL, WA_ORIGIN, 0, NULL);
    cdj = (uint8_t *)c;
    assert_int_equal(wa_auth_data(&es256, WA_RP_ID, 0x45, 0, 1, NULL, 0, &ad, &ad_len), 0);
    cbor_item_t *stmt = cbor_new_definite_map(1);
    assert_true(cbor_map_add(stmt, (struct cbor_pair){.key = cbor_move(cbor_build_string("alg")),
                                                      .value = cbor_move(cbor_build_negint8(6))}));
    assert_int_equal(wa_attestation_object("none", stmt, ad, ad_len, &ao, &ao_len), 0);
    assert_int_equal(vigil_webauthn_register_verify(&rp, CHAL, sizeof CHAL, cdj, strlen(c), ao, ao_len,
                                                    &cred, errbuf, sizeof errbuf),
                     VIGIL_ERR_INVALID);
    assert_non_null(strstr(errbuf, "\"none\" with a non-empty attStmt"));
    cbor_decref(&stmt);
    free(ao);
    free(ad);
    free(c);
}

static void test_oversize_inputs_are_refused(void **state)
{
    (void)state;
    wa_opts_t o;
    vigil_webauthn_credential_t cred;
    uint32_t n;
    vigil_webauthn_rp_t rp = rp_of(1);
    wa_opts_init(&o, CHAL, sizeof CHAL);
    char pad[4200];
    memset(pad, 'a', sizeof pad);
    memcpy(pad, ",\"x\":\"", 6);
    pad[sizeof pad - 2] = '"';
    pad[sizeof pad - 1] = '\0';
    o.extra_json = pad;
    assert_refused(reg(&es256, &o, 1, &cred), VIGIL_ERR_TOO_LARGE, "clientDataJSON is");
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_TOO_LARGE, "(at most 4096)");

    uint8_t *big = calloc(1, 70000);
    const char *c = "{\"type\":\"webauthn.create\"}";
    assert_non_null(big);
    assert_int_equal(vigil_webauthn_register_verify(&rp, CHAL, sizeof CHAL, big, 70000, big, 16, &cred,
                                                    errbuf, sizeof errbuf),
                     VIGIL_ERR_TOO_LARGE);
    wa_opts_init(&o, CHAL, sizeof CHAL);
    uint8_t *cdj, *ao;
    size_t cdj_len, ao_len;
    assert_int_equal(wa_make_registration(&es256, &o, &cdj, &cdj_len, &ao, &ao_len), 0);
    assert_refused(vigil_webauthn_register_verify(&rp, CHAL, sizeof CHAL, cdj, cdj_len, big, 16385,
                                                  &cred, errbuf, sizeof errbuf),
                   VIGIL_ERR_TOO_LARGE, "attestationObject is 16385 bytes (at most 16384)");
    assert_refused(vigil_webauthn_assert_verify(&rp, CHAL, sizeof CHAL, (const uint8_t *)c, strlen(c),
                                                big, 37, big, 1025, es256.cose, es256.cose_len, 0, &n,
                                                errbuf, sizeof errbuf),
                   VIGIL_ERR_TOO_LARGE, "signature is 1025 bytes");
    free(cdj);
    free(ao);
    free(big);

    /* credential ids: 1023 bytes is the most */
    wa_authn_t a;
    assert_int_equal(wa_authn_init(&a, -7, 0), 0);
    a.cred_id_len = 1023;
    assert_int_equal(reg_default(&a, "none"), VIGIL_OK);
    a.cred_id_len = 1024;
    assert_refused(reg_default(&a, "none"), VIGIL_ERR_DECODE, "credential id length 1024 (1 to 1023)");
    wa_authn_release(&a);
}

static vigil_err_t reg_raw_cdj(const char *cdj)
{
    uint8_t *c, *ao;
    size_t c_len, ao_len;
    wa_opts_t o;
    vigil_webauthn_credential_t cred;
    vigil_webauthn_rp_t rp = rp_of(1);
    wa_opts_init(&o, CHAL, sizeof CHAL);
    assert_int_equal(wa_make_registration(&es256, &o, &c, &c_len, &ao, &ao_len), 0);
    vigil_err_t err = vigil_webauthn_register_verify(&rp, CHAL, sizeof CHAL, (const uint8_t *)cdj,
                                                     strlen(cdj), ao, ao_len, &cred, errbuf,
                                                     sizeof errbuf);
    vigil_webauthn_credential_release(&cred);
    free(c);
    free(ao);
    return err;
}

static void test_hostile_client_data_json_is_refused(void **state)
{
    (void)state;
    char *good = wa_client_data("webauthn.create", CHAL, sizeof CHAL, WA_ORIGIN, 0, NULL);
    char buf[1024];
    /* the good clientDataJSON itself is refused only for the hash: the
     * attestation is "none", so it passes */
    assert_int_equal(reg_raw_cdj(good), VIGIL_OK);
    snprintf(buf, sizeof buf, "%.*s,\"type\":\"webauthn.create\"}", (int)strlen(good) - 1, good);
    assert_refused(reg_raw_cdj(buf), VIGIL_ERR_DECODE, "not valid JSON");
    snprintf(buf, sizeof buf, "%.*s,\"x\":\"\xc3\x28\"}", (int)strlen(good) - 1, good);
    assert_refused(reg_raw_cdj(buf), VIGIL_ERR_DECODE, "not valid JSON");
    snprintf(buf, sizeof buf, "%.*s,\"x\":\"a\\u0000b\"}", (int)strlen(good) - 1, good);
    assert_refused(reg_raw_cdj(buf), VIGIL_ERR_DECODE, "not valid JSON");
    snprintf(buf, sizeof buf, "%s x", good);
    assert_refused(reg_raw_cdj(buf), VIGIL_ERR_DECODE, "not valid JSON");
    assert_refused(reg_raw_cdj("[1]"), VIGIL_ERR_DECODE, "not a JSON object");
    assert_refused(reg_raw_cdj("{\"type\":1}"), VIGIL_ERR_DECODE, "no \"type\" string");
    assert_refused(reg_raw_cdj("{\"type\":\"webauthn.create\"}"), VIGIL_ERR_DECODE, "no \"challenge\" string");
    assert_refused(reg_raw_cdj(""), VIGIL_ERR_DECODE, "clientDataJSON is empty");
    free(good);
}

static void test_authenticator_data_structure_is_checked(void **state)
{
    (void)state;
    wa_opts_t o;
    uint32_t n;
    static const uint8_t ext[] = {0xa0};
    wa_opts_init(&o, CHAL, sizeof CHAL);
    o.flags = 0x85; /* ED and an empty map: fine */
    o.ext = ext;
    o.ext_len = 1;
    assert_int_equal(login(&es256, &o, 1, 0, &n), VIGIL_OK);
    o.ext_len = 0; /* ED but nothing */
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_DECODE, "the ED flag is set but no extensions");
    o.flags = 0x05; /* bytes without ED */
    o.ext_len = 1;
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_DECODE, "1 bytes after its last part");
    static const uint8_t indef[] = {0xbf, 0xff}; /* indefinite-length map */
    o.flags = 0x85;
    o.ext = indef;
    o.ext_len = sizeof indef;
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_DECODE, "indefinite-length");
    static const uint8_t tagged[] = {0xa1, 0x01, 0xc1, 0x01};
    o.ext = tagged;
    o.ext_len = sizeof tagged;
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_DECODE, "a tag");
    static const uint8_t deep[] = {0xa1, 1, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01};
    o.ext = deep;
    o.ext_len = sizeof deep;
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_DECODE, "nested too deep");
    /* a map declaring 2^32 - 1 entries in a few bytes: refused before any allocation */
    static const uint8_t huge[] = {0xba, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02};
    o.ext = huge;
    o.ext_len = sizeof huge;
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_DECODE, "more entries than there are bytes");
    static const uint8_t truncated[] = {0xa1, 0x01, 0x5a, 0x00, 0x01, 0x00, 0x00, 0x00};
    o.ext = truncated;
    o.ext_len = sizeof truncated;
    assert_refused(login(&es256, &o, 1, 0, &n), VIGIL_ERR_DECODE, "truncated");
}

static void test_client_challenge_is_extracted(void **state)
{
    (void)state;
    char *c = wa_client_data("webauthn.get", CHAL, sizeof CHAL, WA_ORIGIN, -1, NULL);
    uint8_t out[64];
    size_t n = 0;
    assert_int_equal(vigil_webauthn_client_challenge((const uint8_t *)c, strlen(c), out, sizeof out, &n,
                                                     errbuf, sizeof errbuf),
                     VIGIL_OK);
    assert_int_equal(n, sizeof CHAL);
    assert_memory_equal(out, CHAL, sizeof CHAL);
    assert_int_equal(vigil_webauthn_client_challenge((const uint8_t *)c, strlen(c), out, 16, &n, errbuf,
                                                     sizeof errbuf),
                     VIGIL_ERR_TOO_LARGE);
    free(c);
    const char *bad[] = {"{\"challenge\":\"AAA=\"}", "{\"challenge\":\"A\"}", "{\"challenge\":\"AB\"}",
                         "{\"challenge\":\"A+B/\"}", "{\"challenge\":7}", "{}", "nope"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(vigil_webauthn_client_challenge((const uint8_t *)bad[i], strlen(bad[i]), out,
                                                         sizeof out, &n, errbuf, sizeof errbuf),
                         VIGIL_ERR_DECODE);
}

static void test_bad_arguments_are_refused(void **state)
{
    (void)state;
    vigil_webauthn_credential_t cred;
    uint32_t n;
    const char *c = "{}";
    vigil_webauthn_rp_t rp = rp_of(1);
    assert_int_equal(vigil_webauthn_register_verify(NULL, CHAL, sizeof CHAL, (const uint8_t *)c, 2,
                                                    (const uint8_t *)c, 2, &cred, errbuf, sizeof errbuf),
                     VIGIL_ERR_INVALID);
    rp.norigins = 0;
    assert_refused(vigil_webauthn_register_verify(&rp, CHAL, sizeof CHAL, (const uint8_t *)c, 2,
                                                  (const uint8_t *)c, 2, &cred, errbuf, sizeof errbuf),
                   VIGIL_ERR_INVALID, "no allowed origin");
    rp = rp_of(1);
    assert_refused(vigil_webauthn_assert_verify(&rp, CHAL, 8, (const uint8_t *)c, 2, (const uint8_t *)c,
                                                2, (const uint8_t *)c, 2, es256.cose, es256.cose_len, 0,
                                                &n, errbuf, sizeof errbuf),
                   VIGIL_ERR_INVALID, "issued challenge is 8 bytes");
    assert_int_equal(vigil_webauthn_cose_key_check((const uint8_t *)"\xa0", 1, NULL, errbuf, sizeof errbuf),
                     VIGIL_ERR_DECODE);
    vigil_webauthn_credential_release(NULL);
}

/* Responses of real authenticators, as py_webauthn's test suite publishes
 * them (tests/test_verify_registration_response.py and
 * tests/test_verify_authentication_response.py): RP id "localhost", origin
 * "http://localhost:5000". */
static uint8_t *b64(const char *s, size_t *n)
{
    uint8_t *p = NULL;
    assert_int_equal(wa_b64url_decode(s, &p, n), 0);
    return p;
}

static void test_real_authenticator_responses_verify(void **state)
{
    (void)state;
    static const char *const lo[] = {"http://localhost:5000"};
    vigil_webauthn_rp_t rp = {"localhost", lo, 1, 0};
    size_t chl, cdjl, aol, adl, sigl, keyl;
    vigil_webauthn_credential_t cred;
    uint32_t n = 0;

    uint8_t *ch = b64("TwN7n4WTyGKLc4ZY-qGsFqKnHM4nglqsyV0ICJlN2TO9XiRyFtrkaDwUvsql-gkLJXP6fnF1MlrZ53Mm4R7Cvw", &chl);
    uint8_t *cdj = b64("eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoiVHdON240V1R5R0tMYzRaWS1xR3NGcUtuSE00bmdscXN5VjBJQ0psTjJUTzlYaVJ5RnRya2FEd1V2c3FsLWdrTEpYUDZmbkYxTWxyWjUzTW00UjdDdnciLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9", &cdjl);
    uint8_t *ao = b64("o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVjESZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2NFAAAAFwAAAAAAAAAAAAAAAAAAAAAAQPctcQPE5oNRRJk_nO_371mf7qE7qIodzr0eOf6ACvnMB1oQG165dqutoi1U44shGezu5_gkTjmOPeJO0N8a7P-lAQIDJiABIVggSFbUJF-42Ug3pdM8rDRFu_N5oiVEysPDB6n66r_7dZAiWCDUVnB39FlGypL-qAoIO9xWHtJygo2jfDmHl-_eKFRLDA", &aol);
    uint8_t *key = b64("pQECAyYgASFYIEhW1CRfuNlIN6XTPKw0RbvzeaIlRMrDwwep-uq_-3WQIlgg1FZwd_RZRsqS_qgKCDvcVh7ScoKNo3w5h5fv3ihUSww", &keyl);
    if (vigil_webauthn_register_verify(&rp, ch, chl, cdj, cdjl, ao, aol, &cred, errbuf, sizeof errbuf))
        fail_msg("%s", errbuf);
    assert_int_equal(cred.sign_count, 23);
    assert_int_equal(cred.alg, -7);
    assert_int_equal(cred.id_len, 64);
    assert_int_equal(cred.cose_key_len, keyl);
    assert_memory_equal(cred.cose_key, key, keyl);
    vigil_webauthn_credential_release(&cred);
    free(ch), free(cdj), free(ao), free(key);

    /* EC2 assertion, counter 77 -> 78, UV not set */
    ch = b64("xi30GPGAFYRxVDpY1sM10DaLzVQG66nv-_7RUazH0vI2YvG8LYgDEnvN5fZZNVuvEDuMi9te3VLqb42N0fkLGA", &chl);
    cdj = b64("eyJjaGFsbGVuZ2UiOiJ4aTMwR1BHQUZZUnhWRHBZMXNNMTBEYUx6VlFHNjZudi1fN1JVYXpIMHZJMll2RzhMWWdERW52TjVmWlpOVnV2RUR1TWk5dGUzVkxxYjQyTjBma0xHQSIsImNsaWVudEV4dGVuc2lvbnMiOnt9LCJoYXNoQWxnb3JpdGhtIjoiU0hBLTI1NiIsIm9yaWdpbiI6Imh0dHA6Ly9sb2NhbGhvc3Q6NTAwMCIsInR5cGUiOiJ3ZWJhdXRobi5nZXQifQ", &cdjl);
    uint8_t *ad = b64("SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MBAAAATg", &adl);
    uint8_t *sig = b64("MEUCIGisVZOBapCWbnJJvjelIzwpixxIwkjCCb5aCHafQu68AiEA88v-2pJNNApPFwAKFiNuf82-2hBxYW5kGwVweeoxCwo", &sigl);
    key = b64("pQECAyYgASFYIIeDTe-gN8A-zQclHoRnGFWN8ehM1b7yAsa8I8KIvmplIlgg4nFGT5px8o6gpPZZhO01wdy9crDSA_Ngtkx0vGpvPHI", &keyl);
    if (vigil_webauthn_assert_verify(&rp, ch, chl, cdj, cdjl, ad, adl, sig, sigl, key, keyl, 77, &n,
                                     errbuf, sizeof errbuf))
        fail_msg("%s", errbuf);
    assert_int_equal(n, 78);
    rp.require_uv = 1;
    assert_refused(vigil_webauthn_assert_verify(&rp, ch, chl, cdj, cdjl, ad, adl, sig, sigl, key, keyl,
                                                77, &n, errbuf, sizeof errbuf),
                   VIGIL_ERR_INVALID, "UV flag");
    rp.require_uv = 0;
    assert_refused(vigil_webauthn_assert_verify(&rp, ch, chl, cdj, cdjl, ad, adl, sig, sigl, key, keyl,
                                                78, &n, errbuf, sizeof errbuf),
                   VIGIL_ERR_INVALID, "sign count regression");
    free(ch), free(cdj), free(ad), free(sig), free(key);

    /* RSA (RS256) assertion with UV, counter 0 -> 1 */
    ch = b64("iPmAi1Pp1XL6oAgq3PWZtZPnZa1zFUDoGbaQ0_KvVG1lF2s3Rt_3o4uSzccy0tmcTIpTTT4BU1T-I4maavndjQ", &chl);
    cdj = b64("eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiaVBtQWkxUHAxWEw2b0FncTNQV1p0WlBuWmExekZVRG9HYmFRMF9LdlZHMWxGMnMzUnRfM280dVN6Y2N5MHRtY1RJcFRUVDRCVTFULUk0bWFhdm5kalEiLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9", &cdjl);
    ad = b64("SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ", &adl);
    sig = b64("iOHKX3erU5_OYP_r_9HLZ-CexCE4bQRrxM8WmuoKTDdhAnZSeTP0sjECjvjfeS8MJzN1ArmvV0H0C3yy_FdRFfcpUPZzdZ7bBcmPh1XPdxRwY747OrIzcTLTFQUPdn1U-izCZtP_78VGw9pCpdMsv4CUzZdJbEcRtQuRS03qUjqDaovoJhOqEBmxJn9Wu8tBi_Qx7A33RbYjlfyLm_EDqimzDZhyietyop6XUcpKarKqVH0M6mMrM5zTjp8xf3W7odFCadXEJg-ERZqFM0-9Uup6kJNLbr6C5J4NDYmSm3HCSA6lp2iEiMPKU8Ii7QZ61kybXLxsX4w4Dm3fOLjmDw", &sigl);
    key = b64("pAEDAzkBACBZAQDfV20epzvQP-HtcdDpX-cGzdOxy73WQEvsU7Dnr9UWJophEfpngouvgnRLXaEUn_d8HGkp_HIx8rrpkx4BVs6X_B6ZjhLlezjIdJbLbVeb92BaEsmNn1HW2N9Xj2QM8cH-yx28_vCjf82ahQ9gyAr552Bn96G22n8jqFRQKdVpO-f-bvpvaP3IQ9F5LCX7CUaxptgbog1SFO6FI6ob5SlVVB00lVXsaYg8cIDZxCkkENkGiFPgwEaZ7995SCbiyCpUJbMqToLMgojPkAhWeyktu7TlK6UBWdJMHc3FPAIs0lH_2_2hKS-mGI1uZAFVAfW1X-mzKL0czUm2P1UlUox7IUMBAAE", &keyl);
    rp.require_uv = 1;
    if (vigil_webauthn_assert_verify(&rp, ch, chl, cdj, cdjl, ad, adl, sig, sigl, key, keyl, 0, &n,
                                     errbuf, sizeof errbuf))
        fail_msg("%s", errbuf);
    assert_int_equal(n, 1);
    free(ch), free(cdj), free(ad), free(sig), free(key);

    /* an Ed25519 (OKP, EdDSA) credential key: refused by name */
    key = b64("pAEBAycgBiFYIMz6_SUFLiDid2Yhlq0YboyJ-CDrIrNpkPUGmJp4D3Dp", &keyl);
    int alg;
    assert_refused(vigil_webauthn_cose_key_check(key, keyl, &alg, errbuf, sizeof errbuf),
                   VIGIL_ERR_INVALID, "-8 (EdDSA) is not supported");
    free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_es256_registers_and_logs_in),
        cmocka_unit_test(test_rs256_registers_and_logs_in),
        cmocka_unit_test(test_other_challenge_is_refused),
        cmocka_unit_test(test_other_ceremony_type_is_refused),
        cmocka_unit_test(test_other_origin_is_refused_and_named),
        cmocka_unit_test(test_cross_origin_true_is_refused),
        cmocka_unit_test(test_other_rp_id_hash_is_refused),
        cmocka_unit_test(test_missing_flags_are_refused),
        cmocka_unit_test(test_flipped_signature_bit_is_refused),
        cmocka_unit_test(test_sign_count_must_grow_unless_both_zero),
        cmocka_unit_test(test_every_truncation_of_a_registration_is_refused),
        cmocka_unit_test(test_every_flipped_byte_of_a_registration_is_survived),
        cmocka_unit_test(test_every_truncation_and_flip_of_an_assertion_is_refused),
        cmocka_unit_test(test_unsupported_algorithms_are_refused_by_name),
        cmocka_unit_test(test_invalid_public_keys_are_refused),
        cmocka_unit_test(test_packed_attestation_is_verified),
        cmocka_unit_test(test_other_attestation_formats_are_refused),
        cmocka_unit_test(test_oversize_inputs_are_refused),
        cmocka_unit_test(test_hostile_client_data_json_is_refused),
        cmocka_unit_test(test_authenticator_data_structure_is_checked),
        cmocka_unit_test(test_client_challenge_is_extracted),
        cmocka_unit_test(test_bad_arguments_are_refused),
        cmocka_unit_test(test_real_authenticator_responses_verify),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
