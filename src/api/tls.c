/* TLS for the API: the certificate chain and private key files of
 * http.tls_cert / http.tls_key, read once at start for libmicrohttpd (which
 * serves them with GnuTLS: MHD_USE_TLS, MHD_OPTION_HTTPS_MEM_CERT / _KEY).
 *
 * Main idea: libmicrohttpd says only "cannot start" when a key does not
 * parse or does not belong to the certificate, so the pair is checked here
 * first (with OpenSSL, which vigil links already) and a bad file is an
 * error naming the setting and what is wrong with it. A key file that
 * anyone on the machine may read is served anyway but warned about.
 * Encrypted keys are refused (no passphrase prompt in a service). */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/edge.h"
#include "vigil/file.h"
#include "vigil/log.h"

#define PEM_MAX (1024 * 1024)

/* No passphrase: an encrypted key fails to load instead of prompting. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

void vigil__tls_free_key(char *key_pem)
{
    if (!key_pem) return;
    OPENSSL_cleanse(key_pem, strlen(key_pem));
    free(key_pem);
}

vigil_err_t vigil__tls_load(const char *cert_path, const char *key_path, char **cert_pem,
                            char **key_pem, char *errstr, size_t errstr_size)
{
    char *cert = NULL, *key = NULL, why[256];
    size_t cert_len = 0, key_len = 0;
    BIO *bio = NULL;
    X509 *x509 = NULL;
    EVP_PKEY *pkey = NULL;
    struct stat st;
    vigil_err_t err;

    *cert_pem = *key_pem = NULL;
    if (!key_path || !key_path[0])
        return vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                            "http.tls_cert is set but http.tls_key is not: TLS needs both");
    if ((err = vigil_file_read(cert_path, PEM_MAX, &cert, &cert_len, why, sizeof(why))))
        return vigil_seterr(errstr, errstr_size, err, "http.tls_cert: %s", why);
    if ((err = vigil_file_read(key_path, PEM_MAX, &key, &key_len, why, sizeof(why)))) {
        free(cert);
        return vigil_seterr(errstr, errstr_size, err, "http.tls_key: %s", why);
    }
    if (stat(key_path, &st) == 0 && (st.st_mode & S_IROTH))
        vigil_warn("api", NULL,
                   "http.tls_key \"%s\" may be read by every user of this machine (mode %03o): "
                   "chmod 600 it",
                   key_path, (unsigned)(st.st_mode & 0777));
    bio = BIO_new_mem_buf(cert, (int)cert_len);
    x509 = bio ? PEM_read_bio_X509(bio, NULL, no_password, NULL) : NULL;
    BIO_free(bio);
    if (!x509) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                           "http.tls_cert \"%s\": not a PEM certificate", cert_path);
        goto fail;
    }
    bio = BIO_new_mem_buf(key, (int)key_len);
    pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL) : NULL;
    BIO_free(bio);
    if (!pkey) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                           "http.tls_key \"%s\": not an unencrypted PEM private key", key_path);
        goto fail;
    }
    if (X509_check_private_key(x509, pkey) != 1) {
        err = vigil_seterr(errstr, errstr_size, VIGIL_ERR_CONFIG,
                           "http.tls_key \"%s\": not the key of the certificate in \"%s\"",
                           key_path, cert_path);
        goto fail;
    }
    X509_free(x509);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    *cert_pem = cert;
    *key_pem = key;
    return VIGIL_OK;
fail:
    ERR_clear_error();
    X509_free(x509);
    EVP_PKEY_free(pkey);
    free(cert);
    vigil__tls_free_key(key);
    return err;
}
