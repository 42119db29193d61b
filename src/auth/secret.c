/* Randomness and digests for the accounts: getrandom(2) for every secret
 * (session ids, CSRF tokens, bearer tokens, challenges, password salts) and
 * SHA-256 (OpenSSL) for what the warehouse keeps of them.
 *
 * Out of randomness is not an error a caller could handle: a secret made
 * from anything weaker would be a silent hole, so the process aborts (the
 * kernel only fails getrandom before its pool is initialised, and with
 * flags 0 it waits for that). Elsewhere than Linux, getentropy (POSIX.1-2024;
 * the BSDs, macOS 10.12+) in blocks of its 256-byte limit. Thread: any. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

#include "vigil/auth.h"

void vigil_random_bytes(uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
#ifdef __linux__
        ssize_t r = getrandom(buf + got, n - got, 0);
        const char *call = "getrandom";
#else
        size_t want = n - got < 256 ? n - got : 256;
        ssize_t r = getentropy(buf + got, want) == 0 ? (ssize_t)want : -1;
        const char *call = "getentropy";
#endif
        if (r < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "vigil: %s failed (errno %d): no safe randomness, aborting\n",
                    call, errno);
            abort();
        }
        got += (size_t)r;
    }
}

void vigil_sha256_hex(const void *data, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
        /* only when OpenSSL cannot allocate: as for randomness, no weaker fallback */
        fprintf(stderr, "vigil: SHA-256 failed, aborting\n");
        abort();
    }
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}
