/* Text that comes from outside and is stored to be shown again (a browser's
 * User-Agent, a client address, token and passkey labels): valid UTF-8, no
 * control characters, cut at a character boundary. Whatever reads these
 * fields back (the API's JSON, a terminal running `vigil token list`) can
 * then print them as they are. Thread: any. */
#include <stdio.h>
#include <string.h>

#include "auth/accounts_int.h"

/* The length of the valid UTF-8 sequence at s (1..4), or 0 if there is none
 * (an invalid lead, a bad continuation, an overlong form, a surrogate, or a
 * code point past U+10FFFF). */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static int is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

void vigil__auth_clean_text(const char *src, char *out, size_t size)
{
    if (!out || size == 0) return;
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)(src ? src : "");
    while (*p) {
        size_t len = utf8_seq(p);
        if (len == 0 || (len == 1 && is_control(*p))) {
            p++; /* dropped */
            continue;
        }
        if (o + len >= size) break;
        memcpy(out + o, p, len);
        o += len;
        p += len;
    }
    out[o] = '\0';
}

int vigil__auth_label_valid(const char *label)
{
    if (!label) return 1;
    size_t n = strnlen(label, VIGIL_AUTH_LABEL_MAX + 1);
    if (n > VIGIL_AUTH_LABEL_MAX) return 0;
    const unsigned char *p = (const unsigned char *)label;
    while (*p) {
        size_t len = utf8_seq(p);
        if (len == 0 || (len == 1 && is_control(*p))) return 0;
        p += len;
    }
    return 1;
}

void vigil__auth_copy(char *out, size_t size, const char *src)
{
    snprintf(out, size, "%s", src ? src : "");
}
