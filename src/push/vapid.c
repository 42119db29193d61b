/* VAPID (RFC 8292): the application server's P-256 key and the ES256 JWT
 * that identifies it to a push service, and the origin of an endpoint (the
 * JWT's audience, and what logs may show of an endpoint).
 *
 * The key file is PEM (PKCS#8), created with O_EXCL and mode 0600 at first
 * start; a file others may read is warned about, not refused.
 *
 * Thread: any (a key is read-only once loaded). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "push/push_int.h"
#include "vigil/log.h"

struct vigil_push_key {
    EVP_PKEY *pkey;
    uint8_t pub[VIGIL_PUSH_KEY_LEN];
};

static vigil_push_key_t *key_wrap(EVP_PKEY *pkey, char *errstr, size_t errstr_size)
{
    vigil_push_key_t *key = pkey ? calloc(1, sizeof(*key)) : NULL;

    if (!key || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC ||
        vigil__push_pkey_public_bytes(pkey, key->pub)) {
        free(key);
        EVP_PKEY_free(pkey);
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                     "push: the VAPID key is not a P-256 private key");
        return NULL;
    }
    key->pkey = pkey;
    return key;
}

vigil_push_key_t *vigil_push_key_from_private(const uint8_t d[32], char *errstr,
                                              size_t errstr_size)
{
    return key_wrap(vigil__push_pkey_private(d), errstr, errstr_size);
}

/* Writes a new key to path (O_EXCL, 0600). 0, 1 when the file appeared
 * meanwhile (another process made it), -1 with errstr. */
static int key_create(const char *path, char *errstr, size_t errstr_size)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    FILE *f = NULL;
    int fd, ok;

    if (!pkey) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_NOMEM, "push: cannot make a VAPID key");
        return -1;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        EVP_PKEY_free(pkey);
        if (e == EEXIST) return 1;
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "push.vapid_key \"%s\": cannot create: %s",
                     path, strerror(e));
        return -1;
    }
    f = fdopen(fd, "w");
    ok = f && PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) == 1;
    if (f) ok = (fclose(f) == 0) && ok;
    else close(fd);
    EVP_PKEY_free(pkey);
    if (!ok) {
        unlink(path);
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "push.vapid_key \"%s\": cannot write",
                     path);
        return -1;
    }
    vigil_info("push", NULL, "made a new VAPID key: %s", path);
    return 0;
}

vigil_push_key_t *vigil_push_key_load(const char *path, int create, char *errstr,
                                      size_t errstr_size)
{
    struct stat st;
    EVP_PKEY *pkey;
    FILE *f;

    f = fopen(path, "re");
    if (!f && errno == ENOENT && create) {
        if (key_create(path, errstr, errstr_size) < 0) return NULL;
        f = fopen(path, "re");
    }
    if (!f) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_IO, "push.vapid_key \"%s\": cannot open: %s",
                     path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
        vigil_warn("push", NULL, "push.vapid_key \"%s\": others may read it (chmod 600 it)",
                   path);
    pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!pkey) {
        vigil_seterr(errstr, errstr_size, VIGIL_ERR_DECODE,
                     "push.vapid_key \"%s\": not a PEM private key", path);
        return NULL;
    }
    return key_wrap(pkey, errstr, errstr_size);
}

void vigil_push_key_free(vigil_push_key_t *key)
{
    if (!key) return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

void vigil_push_key_public(const vigil_push_key_t *key, uint8_t out[VIGIL_PUSH_KEY_LEN])
{
    memcpy(out, key->pub, VIGIL_PUSH_KEY_LEN);
}

/* Appends base64url(data) to out at *k. */
static int put_b64(char *out, size_t size, size_t *k, const void *data, size_t len)
{
    int n = vigil_push_b64url_encode(data, len, out + *k, size - *k);
    if (n < 0) return -1;
    *k += (size_t)n;
    return 0;
}

/* JSON string contents: aud and sub are checked to need no escaping. */
static int json_plain(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\' || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

vigil_err_t vigil_push_vapid_header(const vigil_push_key_t *key, const char *aud,
                                    const char *sub, int64_t exp, char *out, size_t out_size,
                                    char *errstr, size_t errstr_size)
{
    static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"ES256\"}";
    char claims[1024];
    uint8_t der[80], raw[64];
    size_t der_len = sizeof(der), k;
    EVP_MD_CTX *md = NULL;
    ECDSA_SIG *sig = NULL;
    const BIGNUM *r, *s;
    const unsigned char *p;
    int n;

    if (!json_plain(aud) || !json_plain(sub))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID,
                            "push: VAPID audience or subject has characters JSON must escape");
    n = snprintf(claims, sizeof(claims), "{\"aud\":\"%s\",\"exp\":%lld,\"sub\":\"%s\"}", aud,
                 (long long)exp, sub);
    if (n < 0 || (size_t)n >= sizeof(claims))
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_TOO_LARGE,
                            "push: VAPID claims too long");
    k = (size_t)snprintf(out, out_size, "vapid t=");
    if (k >= out_size || put_b64(out, out_size, &k, header, sizeof(header) - 1) ||
        k + 1 >= out_size)
        goto small;
    out[k++] = '.';
    if (put_b64(out, out_size, &k, claims, (size_t)n)) goto small;
    /* sign header.claims (what out holds after "vapid t=") */
    if (!(md = EVP_MD_CTX_new()) ||
        EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key->pkey) != 1 ||
        EVP_DigestSign(md, der, &der_len, (const unsigned char *)out + 8, k - 8) != 1)
        goto fail;
    p = der;
    if (!(sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len))) goto fail;
    ECDSA_SIG_get0(sig, &r, &s);
    if (BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32) goto fail;
    if (k + 1 >= out_size) goto small;
    out[k++] = '.';
    if (put_b64(out, out_size, &k, raw, sizeof(raw))) goto small;
    n = snprintf(out + k, out_size - k, ", k=");
    if (n < 0 || (size_t)n >= out_size - k) goto small;
    k += (size_t)n;
    if (put_b64(out, out_size, &k, key->pub, VIGIL_PUSH_KEY_LEN)) goto small;
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
    return VIGIL_OK;
small:
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_TOO_LARGE,
                        "push: VAPID header does not fit");
fail:
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
    return vigil_seterr(errstr, errstr_size, VIGIL_ERR_INVALID, "push: cannot sign the VAPID token");
}

int vigil_push_origin(const char *url, char *out, size_t out_size)
{
    const char *host, *end;
    size_t k = 0;

    if (strncasecmp(url, "https://", 8) == 0) host = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0) host = url + 7;
    else return -1;
    end = host + strcspn(host, "/?#");
    if (end == host || memchr(host, '@', (size_t)(end - host))) return -1;
    if ((size_t)(host - url) + (size_t)(end - host) + 1 > out_size) return -1;
    for (const char *c = url; c < end; c++) {
        unsigned char ch = (unsigned char)*c;
        if (ch <= 0x20 || ch >= 0x7f) return -1;
        out[k++] = (char)tolower(ch);
    }
    out[k] = '\0';
    return 0;
}
