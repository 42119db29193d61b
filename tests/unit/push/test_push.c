/* Unit tests of the push module: the aes128gcm encryption against RFC 8291's
 * worked example (Appendix A), the VAPID JWT (its ES256 signature checked
 * with OpenSSL here), the key file, base64url, endpoint rules, the
 * subscription body parser, filters, the payload cap, the bounded queue,
 * and the subscriptions table. (Destinations: test_push_dest.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_backend.h"
#include "push/push_int.h"
#include "vigil/clock.h"
#include "vigil/store.h"

/* RFC 8291 Appendix A, base64url as the RFC gives them. */
#define RFC_PLAINTEXT "When I grow up, I want to be a watermelon"
#define RFC_AS_PRIVATE "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
#define RFC_AS_PUBLIC                                                                             \
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
#define RFC_UA_PUBLIC                                                                             \
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
#define RFC_SALT "DGv6ra1nlYgDCS1FRnbzlw"
#define RFC_AUTH "BTBZMqHH6r4Tts7J_aSIgg"
#define RFC_BODY                                                                                  \
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS" \
    "6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Q" \
    "ulcy4a-fN"

static int dec(const char *s, uint8_t *out, size_t size)
{
    return vigil_push_b64url_decode(s, strlen(s), out, size);
}

static void test_push_encrypt_matches_rfc8291_appendix_a(void **state)
{
    uint8_t d[32], ua[65], salt[16], auth[16], want[256], *body = NULL, pub[65];
    char errstr[256];
    size_t len = 0;
    int want_len;
    (void)state;

    assert_int_equal(dec(RFC_AS_PRIVATE, d, sizeof(d)), 32);
    assert_int_equal(dec(RFC_UA_PUBLIC, ua, sizeof(ua)), 65);
    assert_int_equal(dec(RFC_SALT, salt, sizeof(salt)), 16);
    assert_int_equal(dec(RFC_AUTH, auth, sizeof(auth)), 16);
    want_len = dec(RFC_BODY, want, sizeof(want));
    assert_int_equal(want_len, 86 + 41 + 1 + 16);
    /* the application server's public key follows from its private one */
    vigil_push_key_t *key = vigil_push_key_from_private(d, errstr, sizeof(errstr));
    assert_non_null(key);
    vigil_push_key_public(key, pub);
    uint8_t as_pub[65];
    assert_int_equal(dec(RFC_AS_PUBLIC, as_pub, sizeof(as_pub)), 65);
    assert_memory_equal(pub, as_pub, 65);
    vigil_push_key_free(key);

    assert_int_equal(vigil_push_encrypt(ua, auth, d, salt, RFC_PLAINTEXT, strlen(RFC_PLAINTEXT),
                                        &body, &len, errstr, sizeof(errstr)),
                     VIGIL_OK);
    assert_int_equal(len, (size_t)want_len);
    assert_memory_equal(body, want, len);
    free(body);
}

static void test_push_encrypt_fresh_keys_differ_and_refuse_bad_input(void **state)
{
    uint8_t ua[65], auth[16], *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    char errstr[256], big[VIGIL_PUSH_PLAINTEXT_MAX + 2];
    (void)state;

    dec(RFC_UA_PUBLIC, ua, sizeof(ua));
    dec(RFC_AUTH, auth, sizeof(auth));
    assert_int_equal(vigil_push_encrypt(ua, auth, NULL, NULL, "x", 1, &a, &alen, errstr,
                                        sizeof(errstr)), VIGIL_OK);
    assert_int_equal(vigil_push_encrypt(ua, auth, NULL, NULL, "x", 1, &b, &blen, errstr,
                                        sizeof(errstr)), VIGIL_OK);
    assert_int_equal(alen, blen);
    assert_true(memcmp(a, b, 16) != 0);         /* salts */
    assert_true(memcmp(a + 21, b + 21, 65) != 0); /* ephemeral keys */
    free(a);
    free(b);
    memset(big, 'a', sizeof(big));
    assert_int_equal(vigil_push_encrypt(ua, auth, NULL, NULL, big, sizeof(big), &a, &alen,
                                        errstr, sizeof(errstr)), VIGIL_ERR_TOO_LARGE);
    assert_null(a);
    ua[64] ^= 1; /* no longer on the curve */
    assert_int_equal(vigil_push_key_valid(ua), 0);
    assert_int_not_equal(vigil_push_encrypt(ua, auth, NULL, NULL, "x", 1, &a, &alen, errstr,
                                            sizeof(errstr)), VIGIL_OK);
    assert_null(a);
}

static void test_push_b64url_round_trips_and_refuses_garbage(void **state)
{
    uint8_t in[40], out[40];
    char text[64];
    (void)state;

    for (size_t n = 0; n < sizeof(in); n++) {
        for (size_t i = 0; i < n; i++) in[i] = (uint8_t)(i * 37 + n);
        int k = vigil_push_b64url_encode(in, n, text, sizeof(text));
        assert_true(k >= 0);
        assert_null(strchr(text, '='));
        assert_int_equal(vigil_push_b64url_decode(text, (size_t)k, out, sizeof(out)), (int)n);
        assert_memory_equal(in, out, n);
    }
    assert_int_equal(vigil_push_b64url_decode("ab$d", 4, out, sizeof(out)), -1);
    assert_int_equal(vigil_push_b64url_decode("abcde", 5, out, sizeof(out)), -1);
    assert_int_equal(vigil_push_b64url_decode("AAAAAAAA", 8, out, 3), -1);
    assert_int_equal(vigil_push_b64url_encode(in, 3, text, 4), -1);
}

/* Splits "vapid t=H.C.S, k=K" and verifies S over "H.C" with K. */
static void check_vapid(const char *hdr, const char *aud, const char *sub, int64_t exp,
                        const uint8_t pub[65])
{
    char jwt[1024], k[128], claims_json[512];
    uint8_t sig_raw[64], kbytes[65], der[80];
    const char *comma = strstr(hdr, ", k=");
    assert_true(strncmp(hdr, "vapid t=", 8) == 0);
    assert_non_null(comma);
    snprintf(jwt, sizeof(jwt), "%.*s", (int)(comma - hdr - 8), hdr + 8);
    snprintf(k, sizeof(k), "%s", comma + 4);
    assert_int_equal(dec(k, kbytes, sizeof(kbytes)), 65);
    assert_memory_equal(kbytes, pub, 65);

    char *dot1 = strchr(jwt, '.'), *dot2 = strrchr(jwt, '.');
    assert_true(dot1 && dot2 && dot1 != dot2);
    uint8_t hbuf[128];
    int hn = vigil_push_b64url_decode(jwt, (size_t)(dot1 - jwt), hbuf, sizeof(hbuf));
    assert_true(hn > 0);
    json_t *h = json_loadb((const char *)hbuf, (size_t)hn, 0, NULL);
    assert_non_null(h);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "ES256");
    assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
    json_decref(h);
    int cn = vigil_push_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), (uint8_t *)claims_json,
                                      sizeof(claims_json) - 1);
    assert_true(cn > 0);
    json_t *c = json_loadb(claims_json, (size_t)cn, 0, NULL);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "aud")), aud);
    assert_string_equal(json_string_value(json_object_get(c, "sub")), sub);
    assert_int_equal(json_integer_value(json_object_get(c, "exp")), exp);
    json_decref(c);
    assert_int_equal(vigil_push_b64url_decode(dot2 + 1, strlen(dot2 + 1), sig_raw,
                                              sizeof(sig_raw)), 64);

    /* ES256: raw r || s -> DER, verified by OpenSSL with the public key */
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig_raw, 32, NULL), *s = BN_bin2bn(sig_raw + 32, 32, NULL);
    assert_int_equal(ECDSA_SIG_set0(sig, r, s), 1);
    unsigned char *p = der;
    int dlen = i2d_ECDSA_SIG(sig, &p);
    assert_true(dlen > 0);
    EVP_PKEY *pk = vigil__push_pkey_public(kbytes);
    assert_non_null(pk);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk), 1);
    assert_int_equal(EVP_DigestVerify(md, der, (size_t)dlen, (const unsigned char *)jwt,
                                      (size_t)(dot2 - jwt)), 1);
    /* a changed claim does not verify */
    jwt[(dot2 - jwt) - 1] ^= 1;
    EVP_MD_CTX_reset(md);
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk), 1);
    assert_int_not_equal(EVP_DigestVerify(md, der, (size_t)dlen, (const unsigned char *)jwt,
                                          (size_t)(dot2 - jwt)), 1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    ECDSA_SIG_free(sig);
}

static void test_push_vapid_jwt_is_es256_signed_by_the_key(void **state)
{
    char dir[] = "/tmp/vigil-push-XXXXXX", path[256], errstr[256], hdr[1024];
    uint8_t pub[65], pub2[65];
    struct stat st;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/vapid.pem", dir);
    vigil_push_key_t *key = vigil_push_key_load(path, 1, errstr, sizeof(errstr));
    assert_non_null(key);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    vigil_push_key_public(key, pub);
    assert_true(vigil_push_key_valid(pub));
    int64_t exp = (int64_t)time(NULL) + 3600;
    assert_int_equal(vigil_push_vapid_header(key, "https://push.example.net",
                                             "mailto:ops@example.com", exp, hdr, sizeof(hdr),
                                             errstr, sizeof(errstr)),
                     VIGIL_OK);
    check_vapid(hdr, "https://push.example.net", "mailto:ops@example.com", exp, pub);
    /* too small a buffer is an error, not a cut header */
    assert_int_equal(vigil_push_vapid_header(key, "https://a", "mailto:b", exp, hdr, 40, errstr,
                                             sizeof(errstr)),
                     VIGIL_ERR_TOO_LARGE);
    /* a claim needing JSON escapes is refused */
    assert_int_equal(vigil_push_vapid_header(key, "https://a\"", "mailto:b", exp, hdr,
                                             sizeof(hdr), errstr, sizeof(errstr)),
                     VIGIL_ERR_INVALID);
    vigil_push_key_free(key);
    /* the same key comes back after a restart */
    key = vigil_push_key_load(path, 1, errstr, sizeof(errstr));
    assert_non_null(key);
    vigil_push_key_public(key, pub2);
    assert_memory_equal(pub, pub2, 65);
    vigil_push_key_free(key);
    /* without create, a missing file is an error naming it */
    snprintf(path, sizeof(path), "%s/none.pem", dir);
    assert_null(vigil_push_key_load(path, 0, errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "none.pem"));
    snprintf(path, sizeof(path), "%s/vapid.pem", dir);
    unlink(path);
    rmdir(dir);
}

static void test_push_origin_and_endpoint_rules(void **state)
{
    char o[256], errstr[256];
    vigil_push_t fake = {0};
    (void)state;

    assert_int_equal(vigil_push_origin("https://FCM.googleapis.com/fcm/send/abc", o, sizeof(o)), 0);
    assert_string_equal(o, "https://fcm.googleapis.com");
    assert_int_equal(vigil_push_origin("http://127.0.0.1:8123/p?x", o, sizeof(o)), 0);
    assert_string_equal(o, "http://127.0.0.1:8123");
    assert_int_equal(vigil_push_origin("ftp://x/y", o, sizeof(o)), -1);
    assert_int_equal(vigil_push_origin("https:///y", o, sizeof(o)), -1);
    assert_int_equal(vigil_push_origin("https://u:p@host/y", o, sizeof(o)), -1);

    assert_int_equal(vigil_push_endpoint_ok(&fake, "https://push.example.net/x", errstr,
                                            sizeof(errstr)), 0);
    assert_int_equal(vigil_push_endpoint_ok(&fake, "http://127.0.0.1:9/x", errstr,
                                            sizeof(errstr)), -1);
    assert_null(strstr(errstr, "127.0.0.1")); /* the URL is not echoed */
    fake.conf.allow_http_loopback = 1;
    assert_int_equal(vigil_push_endpoint_ok(&fake, "http://127.0.0.1:9/x", errstr,
                                            sizeof(errstr)), 0);
    assert_int_equal(vigil_push_endpoint_ok(&fake, "http://[::1]:9/x", errstr, sizeof(errstr)), 0);
    assert_int_equal(vigil_push_endpoint_ok(&fake, "http://127.0.0.10/x", errstr,
                                            sizeof(errstr)), -1);
    assert_int_equal(vigil_push_endpoint_ok(&fake, "http://example.com/x", errstr,
                                            sizeof(errstr)), -1);
    assert_int_equal(vigil_push_endpoint_ok(&fake, "https://a b/x", errstr, sizeof(errstr)), -1);
    char longurl[1100] = "https://push.example.net/";
    memset(longurl + strlen(longurl), 'a', sizeof(longurl) - strlen(longurl) - 1);
    longurl[sizeof(longurl) - 1] = '\0';
    assert_int_equal(vigil_push_endpoint_ok(&fake, longurl, errstr, sizeof(errstr)), -1);
}

/* vigil_push_sub_parse on body, under allow; returns its error, the field
 * in field. */
static vigil_err_t parse(const char *body, int allow, vigil_push_sub_t *sub, char *field,
                         char *errstr)
{
    memset(sub, 0, sizeof(*sub));
    vigil_err_t err = vigil_push_sub_parse(body, strlen(body), allow, sub, field, 48, errstr, 256);
    if (err) assert_null(sub->filters);
    return err;
}

#define KEYS "\"keys\":{\"p256dh\":\"" RFC_UA_PUBLIC "\",\"auth\":\"" RFC_AUTH "\"}"

static void test_push_sub_parse_takes_a_browser_subscription(void **state)
{
    vigil_push_sub_t sub;
    char field[48], errstr[256];
    (void)state;

    assert_int_equal(parse("{\"endpoint\":\"https://push.example.net/s/1\"," KEYS
                           ",\"expirationTime\":null,\"filters\":{\"cameras\":[\"a\",\"a\","
                           "\"b\"],\"kinds\":null}}",
                           0, &sub, field, errstr),
                     VIGIL_OK);
    assert_string_equal(sub.endpoint, "https://push.example.net/s/1");
    assert_string_equal(sub.p256dh, RFC_UA_PUBLIC);
    assert_string_equal(sub.auth, RFC_AUTH);
    assert_string_equal(sub.filters, "{\"cameras\":[\"a\",\"b\"],\"zones\":[],\"lines\":[],"
                                     "\"labels\":[],\"kinds\":[]}");
    free(sub.filters);
    /* no filters: every list present and empty */
    assert_int_equal(parse("{\"endpoint\":\"https://push.example.net/s/1\"," KEYS
                           ",\"expirationTime\":1700000000000}", 0, &sub, field, errstr),
                     VIGIL_OK);
    assert_string_equal(sub.filters,
                        "{\"cameras\":[],\"zones\":[],\"lines\":[],\"labels\":[],\"kinds\":[]}");
    free(sub.filters);

    static const struct {
        const char *body, *field;
    } bad[] = {
        {"", ""},
        {"[]", ""},
        {"{\"endpoint\":\"https://push.example.net/s/1\"," KEYS ",\"x\":1}", "x"},
        {"{\"endpoint\":1," KEYS "}", "endpoint"},
        {"{\"endpoint\":\"https://a\\u0000b/s\"," KEYS "}", ""}, /* jansson refuses NUL */
        {"{\"endpoint\":\"https://10.0.0.1/s/1\"," KEYS "}", "endpoint"},
        {"{\"endpoint\":\"https://[::ffff:169.254.169.254]/s\"," KEYS "}", "endpoint"},
        {"{\"endpoint\":\"http://127.0.0.1:8/s\"," KEYS "}", "endpoint"},
        {"{\"endpoint\":\"https://push.example.net/s/1\"}", "keys"},
        {"{\"endpoint\":\"https://push.example.net/s/1\",\"keys\":{\"p256dh\":\"" RFC_UA_PUBLIC
         "\",\"auth\":\"" RFC_AUTH "\",\"x\":\"\"}}", "keys"},
        {"{\"endpoint\":\"https://push.example.net/s/1\",\"keys\":{\"p256dh\":\"AAAA\",\"auth\":\""
         RFC_AUTH "\"}}", "p256dh"},
        {"{\"endpoint\":\"https://push.example.net/s/1\",\"keys\":{\"p256dh\":\"" RFC_UA_PUBLIC
         "\",\"auth\":\"AAAA\"}}", "auth"},
        {"{\"endpoint\":\"https://push.example.net/s/1\"," KEYS ",\"expirationTime\":\"x\"}",
         "expirationTime"},
        {"{\"endpoint\":\"https://push.example.net/s/1\"," KEYS ",\"filters\":[]}", "filters"},
        {"{\"endpoint\":\"https://push.example.net/s/1\"," KEYS ",\"filters\":{\"colours\":[]}}",
         "filters"},
        {"{\"endpoint\":\"https://push.example.net/s/1\"," KEYS ",\"filters\":{\"labels\":[\"\"]}}",
         "filters"},
        {"{\"endpoint\":\"https://push.example.net/s/1\"," KEYS ",\"filters\":{\"labels\":[1]}}",
         "filters"},
        {"{\"endpoint\":\"https://push.example.net/s/1\"," KEYS
         ",\"endpoint\":\"https://push.example.net/s/2\"}", ""}, /* duplicate member */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i].body, 0, &sub, field, errstr) != VIGIL_ERR_INVALID)
            fail_msg("accepted: %s", bad[i].body);
        if (strcmp(field, bad[i].field) != 0)
            fail_msg("%s: field \"%s\", want \"%s\" (%s)", bad[i].body, field, bad[i].field,
                     errstr);
        assert_null(strstr(errstr, "push.example.net"));
        assert_null(strstr(errstr, "/s/"));
        assert_null(strstr(errstr, RFC_AUTH));
    }
    /* allowed by the configuration */
    assert_int_equal(parse("{\"endpoint\":\"https://10.0.0.1/s/1\"," KEYS "}",
                           VIGIL_PUSH_ALLOW_PRIVATE, &sub, field, errstr),
                     VIGIL_OK);
    free(sub.filters);
    assert_int_equal(parse("{\"endpoint\":\"http://127.0.0.1:8/s\"," KEYS "}",
                           VIGIL_PUSH_ALLOW_LOOPBACK, &sub, field, errstr),
                     VIGIL_OK);
    free(sub.filters);
}

static void test_push_filters_empty_means_any(void **state)
{
    (void)state;
    assert_true(vigil_push_filters_match("{}", "street", "line_cross", "person", "", "door"));
    assert_true(vigil_push_filters_match("{\"cameras\":[],\"kinds\":[]}", "street", "line_cross",
                                         "person", "", "door"));
    assert_true(vigil_push_filters_match("{\"cameras\":[\"street\"],\"lines\":[\"door\"]}",
                                         "street", "line_cross", "person", "", "door"));
    assert_false(vigil_push_filters_match("{\"cameras\":[\"lobby\"]}", "street", "line_cross",
                                          "person", "", "door"));
    assert_false(vigil_push_filters_match("{\"zones\":[\"z\"]}", "street", "line_cross",
                                          "person", "", "door"));
    assert_true(vigil_push_filters_match("{\"labels\":[\"car\",\"person\"]}", "street",
                                         "line_cross", "person", "", "door"));
    assert_false(vigil_push_filters_match("not json", "street", "line_cross", "person", "", ""));
}

static void test_push_payload_is_capped_at_3kb(void **state)
{
    char *big = malloc(20000);
    (void)state;
    memset(big, 0x01, 19999); /* controls: each becomes a 6-byte \u escape */
    big[19999] = '\0';
    char *p = vigil_push_payload(big, big, 42, "street", "line_cross");
    assert_non_null(p);
    assert_true(strlen(p) <= VIGIL__PUSH_PAYLOAD_MAX);
    json_t *o = json_loads(p, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "url")), "/#/review?event=42");
    assert_int_equal(json_integer_value(json_object_get(o, "event_id")), 42);
    assert_string_equal(json_string_value(json_object_get(o, "camera")), "street");
    json_decref(o);
    free(p);
    free(big);
}

static vigil_push_t *new_push(char *dir, int queue_max)
{
    char errstr[256];
    vigil_push_conf_t conf = {0};
    assert_non_null(mkdtemp(dir));
    conf.data_dir = dir;
    conf.queue_max = queue_max;
    conf.subject = "mailto:test@example.com";
    vigil_push_t *push = vigil_push_new(&conf, errstr, sizeof(errstr));
    assert_non_null(push);
    return push;
}

static void rm_dir(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_push_full_queue_drops_the_oldest(void **state)
{
    char dir[] = "/tmp/vigil-pushq-XXXXXX";
    vigil_push_t *push = new_push(dir, 4);
    vigil_push_sub_t sub = {0};
    (void)state;

    snprintf(sub.endpoint, sizeof(sub.endpoint), "https://push.example.net/a");
    snprintf(sub.p256dh, sizeof(sub.p256dh), "%s", RFC_UA_PUBLIC);
    snprintf(sub.auth, sizeof(sub.auth), "%s", RFC_AUTH);
    for (int i = 0; i < 10; i++) {
        char payload[32];
        snprintf(payload, sizeof(payload), "{\"n\":%d}", i);
        assert_int_equal(vigil__push_enqueue(push, &sub, payload), 0);
    }
    assert_int_equal(push->count, 4);
    assert_string_equal(push->queue[push->head]->payload, "{\"n\":6}"); /* 0..5 dropped */
    /* bad keys are refused before they take a slot */
    snprintf(sub.auth, sizeof(sub.auth), "short");
    assert_int_equal(vigil__push_enqueue(push, &sub, "{}"), -1);
    assert_int_equal(push->count, 4);
    vigil_push_free(push); /* drops the rest */
    rm_dir(dir);
}

static void test_push_subscriptions_table_caps_and_replaces(void **state)
{
    char dir[] = "/tmp/vigil-pushs-XXXXXX", errstr[256];
    vigil_store_conf_t sc;
    vigil_push_sub_t sub = {0}, *rows = NULL;
    size_t n = 0;
    int64_t id = 0, first = 0;
    vigil_test_store_t backend; /* SQLite, or PostgreSQL (test_push_postgres) */
    (void)state;

    assert_non_null(mkdtemp(dir));
    assert_int_equal(vigil_test_store_init(&backend), 0);
    vigil_store_conf_init(&sc);
    sc.url = backend.url;
    sc.data_dir = dir;
    vigil_store_t *store = vigil_store_open(&sc, errstr, sizeof(errstr));
    if (!store) fail_msg("open store: %s", errstr);
    sub.user_id = 7;
    sub.filters = "{\"cameras\":[\"street\"]}";
    snprintf(sub.p256dh, sizeof(sub.p256dh), "%s", RFC_UA_PUBLIC);
    snprintf(sub.auth, sizeof(sub.auth), "%s", RFC_AUTH);
    for (int i = 0; i < VIGIL_PUSH_SUBS_PER_USER; i++) {
        snprintf(sub.endpoint, sizeof(sub.endpoint), "https://push.example.net/%d", i);
        assert_int_equal(vigil_store_push_sub_put(store, &sub, &id, errstr, sizeof(errstr)),
                         VIGIL_OK);
        if (!first) first = id;
    }
    snprintf(sub.endpoint, sizeof(sub.endpoint), "https://push.example.net/over");
    assert_int_equal(vigil_store_push_sub_put(store, &sub, &id, errstr, sizeof(errstr)),
                     VIGIL_ERR_FULL);
    /* the same endpoint again replaces its row (same id) */
    snprintf(sub.endpoint, sizeof(sub.endpoint), "https://push.example.net/0");
    sub.filters = "{}";
    assert_int_equal(vigil_store_push_sub_put(store, &sub, &id, errstr, sizeof(errstr)), VIGIL_OK);
    assert_int_equal(id, first);
    assert_int_equal(vigil_store_push_sub_list(store, 7, &rows, &n, errstr, sizeof(errstr)),
                     VIGIL_OK);
    assert_int_equal(n, VIGIL_PUSH_SUBS_PER_USER);
    assert_string_equal(rows[0].filters, "{}");
    assert_string_equal(rows[0].endpoint, "https://push.example.net/0");
    vigil_push_subs_free(rows, n);
    /* a user with no row in users: the push service's list skips them */
    assert_int_equal(vigil_store_push_sub_list(store, 0, &rows, &n, errstr, sizeof(errstr)),
                     VIGIL_OK);
    assert_int_equal(n, 0);
    vigil_push_subs_free(rows, n);
    /* another user cannot delete it; its owner can; then it is gone */
    assert_int_equal(vigil_store_push_sub_delete(store, first, 8, errstr, sizeof(errstr)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_store_push_sub_delete(store, first, 7, errstr, sizeof(errstr)),
                     VIGIL_OK);
    assert_int_equal(vigil_store_push_sub_delete(store, first, 7, errstr, sizeof(errstr)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_store_push_sub_delete_endpoint(store, "https://push.example.net/1",
                                                          errstr, sizeof(errstr)),
                     VIGIL_OK);
    assert_int_equal(vigil_store_push_sub_list(store, 7, &rows, &n, errstr, sizeof(errstr)),
                     VIGIL_OK);
    assert_int_equal(n, VIGIL_PUSH_SUBS_PER_USER - 2);
    vigil_push_subs_free(rows, n);
    vigil_store_close(store);
    vigil_test_store_release(&backend);
    rm_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_encrypt_matches_rfc8291_appendix_a),
        cmocka_unit_test(test_push_encrypt_fresh_keys_differ_and_refuse_bad_input),
        cmocka_unit_test(test_push_b64url_round_trips_and_refuses_garbage),
        cmocka_unit_test(test_push_vapid_jwt_is_es256_signed_by_the_key),
        cmocka_unit_test(test_push_origin_and_endpoint_rules),
        cmocka_unit_test(test_push_sub_parse_takes_a_browser_subscription),
        cmocka_unit_test(test_push_filters_empty_means_any),
        cmocka_unit_test(test_push_payload_is_capped_at_3kb),
        cmocka_unit_test(test_push_full_queue_drops_the_oldest),
        cmocka_unit_test(test_push_subscriptions_table_caps_and_replaces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
