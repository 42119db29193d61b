/* vigil_url_redact: the one place that decides what of a URL is secret
 * (vigil/redact.h, docs/security.md).
 *
 * Main idea: the output is built left to right from the pieces of the URL
 * that are not secret, with VIGIL_REDACTED written where a secret was; a
 * secret's bytes are never copied, so truncation (a small buffer) cannot
 * leave part of one behind. Parsing is deliberately loose: anything after
 * "scheme://" up to the first '/', '?' or '#' is the authority, its last
 * '@' ends the userinfo; anything after the first '?' or '#' is parameters.
 * A secret that hides elsewhere (a path segment) cannot be recognised;
 * docs/security.md says to put credentials in the userinfo or a named
 * parameter. */
#include <ctype.h>
#include <string.h>

#include "vigil/redact.h"

typedef struct out {
    char *buf;
    size_t size, n; /* n: bytes written (< size when size > 0) */
} out_t;

static void put(out_t *o, const char *s, size_t len)
{
    if (!o->size) return;
    size_t room = o->size - 1 - o->n;
    if (len > room) len = room;
    memcpy(o->buf + o->n, s, len);
    o->n += len;
    o->buf[o->n] = '\0';
}

/* Names (or endings of names) of parameters that hold secrets. */
static const char *const secret_names[] = {
    "password", "passwd", "pwd", "pass", "secret", "token", "key", "auth",
    "sig", "signature", "credential", "credentials",
};

static int secret_name(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof secret_names / sizeof secret_names[0]; i++) {
        size_t k = strlen(secret_names[i]);
        if (k <= len && strncasecmp(name + len - k, secret_names[i], k) == 0) return 1;
    }
    return 0;
}

/* The length of "scheme" if url starts with "scheme://", else 0. */
static size_t scheme_len(const char *url)
{
    size_t i = 0;
    if (!isalpha((unsigned char)url[0])) return 0;
    while (isalnum((unsigned char)url[i]) || url[i] == '+' || url[i] == '.' || url[i] == '-') i++;
    return strncmp(url + i, "://", 3) == 0 ? i : 0;
}

/* Copies parameters "a=1&password=x#k=v" with secret values replaced. */
static int put_params(out_t *o, const char *p)
{
    int red = 0;
    while (*p) {
        if (strchr("?#&;", *p)) { /* separators are copied */
            put(o, p, 1);
            p++;
            continue;
        }
        size_t name = strcspn(p, "=&;#");
        if (p[name] != '=') { /* a bare word */
            put(o, p, name);
            p += name;
            continue;
        }
        size_t value = strcspn(p + name + 1, "&;#");
        put(o, p, name + 1);
        if (value && secret_name(p, name)) {
            put(o, VIGIL_REDACTED, strlen(VIGIL_REDACTED));
            red = 1;
        } else {
            put(o, p + name + 1, value);
        }
        p += name + 1 + value;
    }
    return red;
}

int vigil_url_redact(const char *url, char *out, size_t size)
{
    out_t o = {out, size, 0};
    const char *p;
    int red = 0;

    if (size) out[0] = '\0';
    if (!url) return 0;
    p = url;
    size_t sl = scheme_len(url);
    if (sl) {
        const char *auth = url + sl + 3;
        const char *end = auth + strcspn(auth, "/?#");
        const char *at = memrchr(auth, '@', (size_t)(end - auth));
        if (at) {
            const char *colon = memchr(auth, ':', (size_t)(at - auth));
            put(&o, url, (size_t)((colon ? colon + 1 : auth) - url));
            put(&o, VIGIL_REDACTED, strlen(VIGIL_REDACTED));
            red = 1;
            p = at;
        }
    }
    size_t plain = strcspn(p, "?#");
    put(&o, p, plain);
    return put_params(&o, p + plain) | red;
}

int vigil_text_redact(const char *text, char *out, size_t size)
{
    static const char delims[] = " \t\r\n\"'<>()";
    out_t o = {out, size, 0};
    int red = 0;

    if (size) out[0] = '\0';
    if (!text) return 0;
    while (*text) {
        size_t gap = strspn(text, delims);
        put(&o, text, gap);
        text += gap;
        size_t len = strcspn(text, delims);
        if (!len) continue;
        char token[2048], shown[2048 + 64];
        if (len >= sizeof token) { /* too long to be a URL we show: drop it */
            put(&o, VIGIL_REDACTED, strlen(VIGIL_REDACTED));
            red = 1;
        } else {
            memcpy(token, text, len);
            token[len] = '\0';
            red |= vigil_url_redact(token, shown, sizeof shown);
            put(&o, shown, strlen(shown));
        }
        text += len;
    }
    return red;
}
