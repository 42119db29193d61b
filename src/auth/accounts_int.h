/* Internals shared by the accounts files of src/auth (users.c, sessions.c,
 * tokens.c, passkeys.c, challenges.c, audit.c): text clean-up for what is
 * stored from outside (a user agent, a client address) and label checks.
 * The public side is include/vigil/auth.h. */
#ifndef VIGIL_AUTH_ACCOUNTS_INT_H
#define VIGIL_AUTH_ACCOUNTS_INT_H

#include <stddef.h>

#include "vigil/auth.h"

/* Copies src (NULL = "") into out (size >= 1) keeping only valid UTF-8 and
 * no control characters (< 0x20, 0x7f), cut at a character boundary to fit:
 * what outside input may put in a stored field that is shown again. */
void vigil__auth_clean_text(const char *src, char *out, size_t size);

/* Whether label (NULL = "") is 0..VIGIL_AUTH_LABEL_MAX bytes of valid UTF-8
 * without control characters. */
int vigil__auth_label_valid(const char *label);

/* Copies a string that is known to fit (checked before). */
void vigil__auth_copy(char *out, size_t size, const char *src);

#endif
