/* Keeping credentials out of every output (docs/security.md).
 *
 * Camera, bus and store URLs may carry secrets: rtsp://user:pass@host/...,
 * rtsp://TOKEN@host/..., http://cam/mjpg?password=..., a query's token= or
 * key=. The property table marks the settings that hold such URLs sensitive
 * (VIGIL_PROP_SENSITIVE in vigil/config.h: cameras[].url, bus.url,
 * store.url). Whatever shows one of their values -- a log line, an error
 * message, an API body, an event, the warehouse's cameras table -- shows
 * vigil_url_redact()'s copy. The value itself goes only where it is used:
 * the source opener (FFmpeg), the bus and store clients, and the control
 * topic that carries a camera to the ingest instance running it.
 *
 * Thread: any; no state. */
#ifndef VIGIL_REDACT_H
#define VIGIL_REDACT_H

#include <stddef.h>

/* What a secret is replaced by. */
#define VIGIL_REDACTED "***"

/* Copies url into out (size bytes, always NUL-terminated when size > 0)
 * with every secret replaced by VIGIL_REDACTED:
 *  - the userinfo of scheme://USERINFO@host: "user:pass" keeps the user
 *    ("user:***"); a userinfo without ':' is a token and goes whole ("***");
 *  - the value of each query or fragment parameter (after '?' or '#',
 *    separated by '&' or ';') whose name, compared without case, is or ends
 *    in password, passwd, pwd, pass, secret, token, key, auth, sig,
 *    signature or credential(s) (so api_key, access_token, sasl.password);
 * with or without a scheme (a file path with a query is redacted too).
 * Secrets are never copied, so a truncated result holds no part of one.
 * Returns 1 if something was replaced, 0 if the copy is the input. */
int vigil_url_redact(const char *url, char *out, size_t size);

/* The same for free text that may contain URLs (a line of a library's log,
 * an error message): every token between spaces, quotes, '<', '>', '(' and
 * ')' that looks like a URL or has a query is redacted as above. Returns 1
 * if something was replaced. */
int vigil_text_redact(const char *text, char *out, size_t size);

#endif
