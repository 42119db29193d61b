/* base64url without padding (RFC 4648 §5), the form of every secret the
 * accounts hand out: session ids, CSRF tokens, bearer tokens, challenges.
 *
 * The decoder is strict so that each secret has exactly one spelling: no
 * padding, no whitespace, no character outside the alphabet, and the unused
 * low bits of the last character must be zero. A secret that decodes to the
 * same bytes from two strings would be harmless here (the warehouse keys on
 * the hash of the bytes), but strictness keeps the checks simple to reason
 * about. Thread: any. */
#include <string.h>

#include "vigil/auth.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void vigil_b64url_encode(const uint8_t *in, size_t n, char *out, size_t out_size)
{
    size_t need = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0) + 1;
    if (!out || out_size == 0) return;
    if (out_size < need || (n && !in)) {
        out[0] = '\0';
        return;
    }
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
}

/* The value of a base64url character, or -1. */
static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

int vigil_b64url_decode(const char *in, uint8_t *out, size_t out_size, size_t *n)
{
    if (n) *n = 0;
    if (!in || !n) return -1;
    size_t len = strlen(in);
    if (len % 4 == 1) return -1;
    size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (need > out_size || (need && !out)) return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0) return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) return -1; /* non-zero unused bits: not the canonical spelling */
    *n = o;
    return 0;
}
