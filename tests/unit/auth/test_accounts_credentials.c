/* Accounts, part 2: sessions, bearer tokens, challenges, passkey records,
 * the audit log, a user's deletion with everything of it, the retention
 * sweep of expired rows, and that no plaintext secret reaches the
 * warehouse's files (vigil/auth.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "accounts_support.h"
#include "store/sqlite_int.h"
#include "vigil/clock.h"

#define IDLE_S 3600
#define TTL_S (7 * 86400)

static void test_session_create_check_and_csrf(void **state)
{
    acct_fixture_t *fx = *state;
    char err[512] = "", sid[64], csrf[48], sid2[64], csrf2[48];
    vigil_principal_t p;
    int64_t bob = acct_add_user(fx, "bob", VIGIL_ROLE_OPERATOR);
    assert_int_equal(vigil_session_create(fx->store, bob, "192.0.2.7", "Mozilla/5.0 (X11)",
                                          ACCT_T0, TTL_S, sid, csrf, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(strlen(sid), VIGIL_SESSION_ID_LEN);
    assert_int_equal(strlen(csrf), 43);
    assert_string_not_equal(sid, csrf);
    assert_int_equal(vigil_session_create(fx->store, bob, NULL, NULL, ACCT_T0, TTL_S, sid2, csrf2,
                                          err, sizeof(err)),
                     VIGIL_OK);
    assert_string_not_equal(sid, sid2);
    assert_int_equal(vigil_session_check(fx->store, sid, ACCT_T0 + ACCT_S, IDLE_S, &p, err,
                                         sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(p.kind, VIGIL_AUTH_SESSION);
    assert_int_equal(p.user_id, bob);
    assert_string_equal(p.user, "bob");
    assert_int_equal(p.role, VIGIL_ROLE_OPERATOR);
    assert_int_equal(p.can_write, 1);
    assert_true(p.credential_id > 0);
    assert_string_equal(p.csrf, csrf);
    /* the role is the user's as it is now */
    assert_int_equal(vigil_user_set_role(fx->store, "bob", VIGIL_ROLE_VIEWER, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_session_check(fx->store, sid, ACCT_T0 + ACCT_S, IDLE_S, &p, err,
                                         sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(p.role, VIGIL_ROLE_VIEWER);
    /* strings that cannot be a session id */
    static const char *const junk[] = {"", "x", "vgl_abc", ("................................."
                                                            "..........")};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        assert_int_equal(vigil_session_check(fx->store, junk[i], ACCT_T0, IDLE_S, &p, err,
                                             sizeof(err)),
                         VIGIL_ERR_NOT_FOUND);
    char other[64];
    memcpy(other, sid, sizeof(other));
    other[5] = other[5] == 'A' ? 'B' : 'A';
    assert_int_equal(vigil_session_check(fx->store, other, ACCT_T0, IDLE_S, &p, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_session_create(fx->store, 4242, NULL, NULL, ACCT_T0, TTL_S, sid2,
                                          csrf2, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_string_equal(sid2, "");
}

static void test_session_idle_and_absolute_expiry(void **state)
{
    acct_fixture_t *fx = *state;
    char err[512] = "", sid[64], csrf[48];
    vigil_principal_t p;
    vigil_session_info_t *list = NULL;
    size_t n = 0;
    int64_t bob = acct_add_user(fx, "bob", VIGIL_ROLE_VIEWER);
    /* idle: used every 50 minutes it lives on; after an hour unused it ends */
    assert_int_equal(vigil_session_create(fx->store, bob, NULL, NULL, ACCT_T0, TTL_S, sid, csrf,
                                          err, sizeof(err)),
                     VIGIL_OK);
    int64_t now = ACCT_T0;
    for (int i = 0; i < 4; i++) {
        now += 3000 * ACCT_S;
        assert_int_equal(vigil_session_check(fx->store, sid, now, IDLE_S, &p, err, sizeof(err)),
                         VIGIL_OK);
    }
    /* last_seen is written at most once a minute */
    assert_int_equal(vigil_session_check(fx->store, sid, now + 30 * ACCT_S, IDLE_S, &p, err,
                                         sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(acct_sql_int(fx, "SELECT last_seen_us FROM sessions"), now);
    assert_int_equal(vigil_session_check(fx->store, sid, now + IDLE_S * ACCT_S, IDLE_S, &p, err,
                                         sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "inactivity"));
    assert_int_equal(acct_sql_int(fx, "SELECT count(*) FROM sessions"), 0); /* deleted */
    assert_int_equal(vigil_session_check(fx->store, sid, now, IDLE_S, &p, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    /* absolute: used all the time, it still ends at created + ttl */
    assert_int_equal(vigil_session_create(fx->store, bob, NULL, NULL, ACCT_T0, 2 * 3600, sid,
                                          csrf, err, sizeof(err)),
                     VIGIL_OK);
    for (now = ACCT_T0; now < ACCT_T0 + 2 * 3600 * ACCT_S; now += 1800 * ACCT_S)
        assert_int_equal(vigil_session_check(fx->store, sid, now, IDLE_S, &p, err, sizeof(err)),
                         VIGIL_OK);
    assert_int_equal(vigil_session_list(fx->store, bob, &list, &n, err, sizeof(err)), VIGIL_OK);
    free(list);
    assert_int_equal(vigil_session_check(fx->store, sid, ACCT_T0 + 2 * 3600 * ACCT_S, 0, &p, err,
                                         sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "expired"));
}

static void test_session_list_revoke_and_logout(void **state)
{
    acct_fixture_t *fx = *state;
    char err[512] = "", s1[64], s2[64], s3[64], csrf[48];
    vigil_principal_t p;
    vigil_session_info_t *list = NULL;
    size_t n = 0;
    int64_t now = vigil_now_us(); /* the list filters by the real clock */
    int64_t bob = acct_add_user(fx, "bob", VIGIL_ROLE_VIEWER);
    int64_t eve = acct_add_user(fx, "eve", VIGIL_ROLE_ADMIN);
    assert_int_equal(vigil_session_create(fx->store, bob, "192.0.2.1", "agent\x01one\xff", now,
                                          TTL_S, s1, csrf, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_session_create(fx->store, bob, "192.0.2.2", "two", now + 1, TTL_S, s2,
                                          csrf, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_session_create(fx->store, eve, "::1", "three", now + 2, TTL_S, s3,
                                          csrf, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_session_list(fx->store, bob, &list, &n, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].user_agent, "two"); /* newest first */
    assert_string_equal(list[1].user_agent, "agentone"); /* cleaned */
    assert_string_equal(list[1].client_ip, "192.0.2.1");
    assert_string_equal(list[1].user, "bob");
    assert_int_equal(list[1].expires_us, now + TTL_S * ACCT_S);
    int64_t s1_id = list[1].id;
    free(list);
    assert_int_equal(vigil_session_list(fx->store, 0, &list, &n, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(n, 3);
    free(list);
    /* a user can revoke only its own sessions; an admin (user 0) any */
    assert_int_equal(vigil_session_revoke(fx->store, s1_id, eve, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_session_revoke(fx->store, s1_id, bob, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_session_check(fx->store, s1, now, IDLE_S, &p, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_session_revoke(fx->store, s1_id, 0, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    /* logout by id */
    assert_int_equal(vigil_session_revoke_sid(fx->store, s2, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_session_check(fx->store, s2, now, IDLE_S, &p, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_session_revoke_sid(fx->store, s2, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_session_revoke_sid(fx->store, "junk", err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    /* a new password revokes the user's sessions */
    assert_int_equal(vigil_session_check(fx->store, s3, now, IDLE_S, &p, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_user_set_password(fx->store, "eve", "new password!", err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_session_check(fx->store, s3, now, IDLE_S, &p, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
}

static void test_token_create_check_scope_expiry_revoke(void **state)
{
    acct_fixture_t *fx = *state;
    char err[512] = "", tr[64], tw[64], te[64];
    int64_t rid = 0, wid = 0, eid = 0;
    vigil_principal_t p;
    int64_t bob = acct_add_user(fx, "bob", VIGIL_ROLE_OPERATOR);
    assert_int_equal(vigil_token_create(fx->store, "bob", "backup script", 0, 0, ACCT_T0, tr,
                                        &rid, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(strlen(tr), VIGIL_TOKEN_LEN);
    assert_int_equal(strncmp(tr, "vgl_", 4), 0);
    assert_int_equal(vigil_token_create(fx->store, "bob", NULL, 1, 0, ACCT_T0, tw, &wid, err,
                                        sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_token_create(fx->store, "bob", "", 1, ACCT_T0 + 86400 * ACCT_S,
                                        ACCT_T0, te, &eid, err, sizeof(err)),
                     VIGIL_OK);
    assert_true(rid > 0 && wid > rid && eid > wid);
    assert_int_equal(vigil_token_check(fx->store, tr, ACCT_T0, &p, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(p.kind, VIGIL_AUTH_TOKEN);
    assert_int_equal(p.user_id, bob);
    assert_string_equal(p.user, "bob");
    assert_int_equal(p.role, VIGIL_ROLE_OPERATOR);
    assert_int_equal(p.can_write, 0);
    assert_int_equal(p.credential_id, rid);
    assert_string_equal(p.csrf, "");
    assert_int_equal(vigil_token_check(fx->store, tw, ACCT_T0, &p, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(p.can_write, 1);
    /* expired: refused, still listed */
    assert_int_equal(vigil_token_check(fx->store, te, ACCT_T0 + 86400 * ACCT_S - 1, &p, err,
                                       sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_token_check(fx->store, te, ACCT_T0 + 86400 * ACCT_S, &p, err,
                                       sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "expired"));
    /* the list shows the prefix, never the token */
    vigil_token_info_t *list = NULL;
    size_t n = 0;
    assert_int_equal(vigil_token_list(fx->store, bob, &list, &n, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(n, 3);
    assert_int_equal(list[0].id, rid);
    assert_string_equal(list[0].name, "backup script");
    assert_string_equal(list[0].user, "bob");
    assert_int_equal(list[0].write_scope, 0);
    assert_int_equal(list[1].write_scope, 1);
    assert_int_equal(list[2].expires_us, ACCT_T0 + 86400 * ACCT_S);
    assert_int_equal(strlen(list[0].prefix), VIGIL_TOKEN_PREFIX_LEN);
    assert_int_equal(strncmp(list[0].prefix, tr, VIGIL_TOKEN_PREFIX_LEN), 0);
    assert_int_equal(list[0].last_used_us, ACCT_T0); /* recorded by the check */
    assert_int_equal(list[0].created_us, ACCT_T0);
    free(list);
    /* revoke: only the owner's, or any with user 0 */
    assert_int_equal(vigil_token_revoke(fx->store, rid, bob + 1, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_token_revoke(fx->store, rid, bob, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_token_check(fx->store, tr, ACCT_T0, &p, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_token_revoke(fx->store, rid, 0, err, sizeof(err)), VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_token_revoke(fx->store, wid, 0, err, sizeof(err)), VIGIL_OK);
    /* bad input */
    char t[64];
    assert_int_equal(vigil_token_create(fx->store, "nobody", NULL, 0, 0, ACCT_T0, t, NULL, err,
                                        sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_token_create(fx->store, "bob", "tab\there", 0, 0, ACCT_T0, t, NULL, err,
                                        sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_int_equal(vigil_token_create(fx->store, "bob", NULL, 0, ACCT_T0, ACCT_T0, t, NULL, err,
                                        sizeof(err)),
                     VIGIL_ERR_INVALID);
    static const char *const junk[] = {"", "vgl_", "Bearer x", ("vgl_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
                                                               "!!!!!!!!!")};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        assert_int_equal(vigil_token_check(fx->store, junk[i], ACCT_T0, &p, err, sizeof(err)),
                         VIGIL_ERR_NOT_FOUND);
    char forged[64];
    memcpy(forged, tw, sizeof(forged));
    forged[0] = 'x'; /* the prefix matters */
    assert_int_equal(vigil_token_check(fx->store, forged, ACCT_T0, &p, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
}

static void test_challenges_single_use_and_expiry(void **state)
{
    acct_fixture_t *fx = *state;
    char err[512] = "";
    uint8_t c1[32], c2[32], c3[32];
    int64_t uid = -1;
    int64_t bob = acct_add_user(fx, "bob", VIGIL_ROLE_VIEWER);
    assert_int_equal(vigil_challenge_create(fx->store, "register", bob, ACCT_T0, 300, c1, err,
                                            sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_challenge_create(fx->store, "login", 0, ACCT_T0, 300, c2, err,
                                            sizeof(err)),
                     VIGIL_OK);
    assert_memory_not_equal(c1, c2, 32);
    /* the wrong purpose does not take it */
    assert_int_equal(vigil_challenge_take(fx->store, "login", c1, 32, ACCT_T0, &uid, err,
                                          sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_challenge_take(fx->store, "register", c1, 32, ACCT_T0 + ACCT_S, &uid,
                                          err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(uid, bob);
    /* once only */
    assert_int_equal(vigil_challenge_take(fx->store, "register", c1, 32, ACCT_T0 + ACCT_S, &uid,
                                          err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(uid, 0);
    assert_int_equal(vigil_challenge_take(fx->store, "login", c2, 32, ACCT_T0, &uid, err,
                                          sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(uid, 0);
    /* expired: refused (and gone) */
    assert_int_equal(vigil_challenge_create(fx->store, "setup", 0, ACCT_T0, 60, c3, err,
                                            sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_challenge_take(fx->store, "setup", c3, 32, ACCT_T0 + 60 * ACCT_S, &uid,
                                          err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(acct_sql_int(fx, "SELECT count(*) FROM challenges"), 0);
    assert_int_equal(vigil_challenge_take(fx->store, "setup", c3, 31, ACCT_T0, &uid, err,
                                          sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    /* a create deletes challenges that expired */
    assert_int_equal(vigil_challenge_create(fx->store, "login", 0, ACCT_T0, 60, c1, err,
                                            sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_challenge_create(fx->store, "login", 0, ACCT_T0 + 61 * ACCT_S, 60, c2,
                                            err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(acct_sql_int(fx, "SELECT count(*) FROM challenges"), 1);
    assert_int_equal(vigil_challenge_create(fx->store, "Bad Purpose", 0, ACCT_T0, 60, c1, err,
                                            sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_int_equal(vigil_challenge_create(fx->store, "login", 0, ACCT_T0, 0, c1, err,
                                            sizeof(err)),
                     VIGIL_ERR_INVALID);
}

static void test_passkey_add_get_update_delete(void **state)
{
    acct_fixture_t *fx = *state;
    char err[512] = "";
    uint8_t cred[1023], cose[77];
    vigil_passkey_t pk;
    int64_t id1 = 0, id2 = 0;
    for (size_t i = 0; i < sizeof(cred); i++) cred[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof(cose); i++) cose[i] = (uint8_t)(255 - i);
    int64_t bob = acct_add_user(fx, "bob", VIGIL_ROLE_VIEWER);
    int64_t eve = acct_add_user(fx, "eve", VIGIL_ROLE_ADMIN);
    assert_int_equal(vigil_passkey_add(fx->store, bob, "YubiKey 5", cred, sizeof(cred), cose,
                                       sizeof(cose), 7, ACCT_T0, &id1, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_passkey_add(fx->store, bob, NULL, cred, 16, cose, 10, 0, ACCT_T0, &id2,
                                       err, sizeof(err)),
                     VIGIL_OK);
    /* one credential id belongs to one passkey */
    assert_int_equal(vigil_passkey_add(fx->store, eve, "copy", cred, sizeof(cred), cose,
                                       sizeof(cose), 0, ACCT_T0, NULL, err, sizeof(err)),
                     VIGIL_ERR_EXISTS);
    assert_int_equal(vigil_passkey_add(fx->store, 999, "x", cred, 3, cose, 3, 0, ACCT_T0, NULL,
                                       err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_passkey_add(fx->store, bob, "x", cred, 0, cose, 3, 0, ACCT_T0, NULL,
                                       err, sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_int_equal(vigil_passkey_get_by_cred(fx->store, cred, sizeof(cred), &pk, err,
                                               sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(pk.id, id1);
    assert_int_equal(pk.user_id, bob);
    assert_string_equal(pk.name, "YubiKey 5");
    assert_int_equal(pk.cred_id_len, sizeof(cred));
    assert_memory_equal(pk.cred_id, cred, sizeof(cred));
    assert_int_equal(pk.cose_key_len, sizeof(cose));
    assert_memory_equal(pk.cose_key, cose, sizeof(cose));
    assert_int_equal(pk.sign_count, 7);
    assert_int_equal(pk.created_us, ACCT_T0);
    assert_int_equal(pk.last_used_us, 0);
    vigil_passkey_free_fields(&pk);
    assert_int_equal(vigil_passkey_get_by_cred(fx->store, cred, 17, &pk, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    /* the count must grow; 0 after 0 is fine */
    assert_int_equal(vigil_passkey_update_count(fx->store, id1, 8, ACCT_T0 + ACCT_S, err,
                                                sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_passkey_update_count(fx->store, id1, 8, ACCT_T0 + ACCT_S, err,
                                                sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_non_null(strstr(err, "does not grow"));
    assert_int_equal(vigil_passkey_update_count(fx->store, id1, 3, ACCT_T0, err, sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_int_equal(vigil_passkey_update_count(fx->store, id2, 0, ACCT_T0 + 2 * ACCT_S, err,
                                                sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_passkey_update_count(fx->store, 12345, 9, ACCT_T0, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    vigil_passkey_t *list = NULL;
    size_t n = 0;
    assert_int_equal(vigil_passkey_list(fx->store, bob, &list, &n, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].sign_count, 8);
    assert_int_equal(list[0].last_used_us, ACCT_T0 + ACCT_S);
    assert_int_equal(list[1].last_used_us, ACCT_T0 + 2 * ACCT_S);
    assert_int_equal(list[1].cred_id_len, 16);
    vigil_passkey_list_free(list, n);
    assert_int_equal(vigil_passkey_list(fx->store, eve, &list, &n, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(n, 0);
    vigil_passkey_list_free(list, n);
    /* delete: only the owner's */
    assert_int_equal(vigil_passkey_delete(fx->store, id1, eve, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_passkey_delete(fx->store, id1, bob, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_passkey_get_by_cred(fx->store, cred, sizeof(cred), &pk, err,
                                               sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_passkey_delete(fx->store, id1, 0, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
}

static void test_user_delete_takes_its_sessions_tokens_passkeys_challenges(void **state)
{
    acct_fixture_t *fx = *state;
    char err[512] = "", sid[64], csrf[48], tok[64], etok[64];
    uint8_t chal[32], cred[4] = {1, 2, 3, 4};
    vigil_principal_t p;
    acct_add_user(fx, "root", VIGIL_ROLE_ADMIN);
    int64_t bob = acct_add_user(fx, "bob", VIGIL_ROLE_OPERATOR);
    int64_t eve = acct_add_user(fx, "eve", VIGIL_ROLE_VIEWER);
    assert_int_equal(vigil_session_create(fx->store, bob, NULL, NULL, ACCT_T0, TTL_S, sid, csrf,
                                          err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_token_create(fx->store, "bob", NULL, 1, 0, ACCT_T0, tok, NULL, err,
                                        sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_token_create(fx->store, "eve", NULL, 1, 0, ACCT_T0, etok, NULL, err,
                                        sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_passkey_add(fx->store, bob, "key", cred, 4, cred, 4, 0, ACCT_T0, NULL,
                                       err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_challenge_create(fx->store, "register", bob, ACCT_T0, 300, chal, err,
                                            sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_user_delete(fx->store, "bob", err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_session_check(fx->store, sid, ACCT_T0, IDLE_S, &p, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_token_check(fx->store, tok, ACCT_T0, &p, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_challenge_take(fx->store, "register", chal, 32, ACCT_T0, NULL, err,
                                          sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    char sql[200];
    static const char *const tables[] = {"sessions", "api_tokens", "passkeys", "challenges"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE user_id = %lld", tables[i],
                 (long long)bob);
        assert_int_equal(acct_sql_int(fx, sql), 0);
    }
    /* the other users keep theirs; a new user never gets the old id */
    assert_int_equal(vigil_token_check(fx->store, etok, ACCT_T0, &p, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(p.user_id, eve);
    int64_t again = acct_add_user(fx, "bob", VIGIL_ROLE_VIEWER);
    assert_true(again > eve);
}

static void test_audit_add_and_list_newest_first(void **state)
{
    acct_fixture_t *fx = *state;
    char err[512] = "";
    vigil_principal_t who = {.kind = VIGIL_AUTH_SESSION, .user_id = 1, .user = "root"};
    vigil_principal_t cli = {.kind = VIGIL_AUTH_NONE, .user = "cli"};
    vigil_principal_t setup = {.kind = VIGIL_AUTH_SETUP};
    assert_int_equal(vigil_audit_add(fx->store, ACCT_T0, &who, "192.0.2.9", "camera.update",
                                     "lobby", "{\"fps\":5}", err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_audit_add(fx->store, ACCT_T0 + 1, &cli, NULL, "user.add", "bob", NULL,
                                     err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_audit_add(fx->store, ACCT_T0 + 2, &setup, "::1", "setup", "root\n",
                                     "[1,2]", err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_audit_add(fx->store, ACCT_T0, NULL, NULL, "zone.delete", NULL, NULL,
                                     err, sizeof(err)),
                     VIGIL_OK);
    /* refused: a detail that is not JSON, too large, no action */
    assert_int_equal(vigil_audit_add(fx->store, ACCT_T0, &who, NULL, "x", NULL, "{bad", err,
                                     sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_int_equal(vigil_audit_add(fx->store, ACCT_T0, &who, NULL, "x", NULL,
                                     "{\"a\":1,\"a\":2}", err, sizeof(err)),
                     VIGIL_ERR_INVALID);
    char *big = malloc(VIGIL_AUDIT_DETAIL_MAX + 10);
    assert_non_null(big);
    memset(big, ' ', VIGIL_AUDIT_DETAIL_MAX + 9);
    big[0] = '1';
    big[VIGIL_AUDIT_DETAIL_MAX + 9] = '\0';
    assert_int_equal(vigil_audit_add(fx->store, ACCT_T0, &who, NULL, "x", NULL, big, err,
                                     sizeof(err)),
                     VIGIL_ERR_TOO_LARGE);
    free(big);
    assert_int_equal(vigil_audit_add(fx->store, ACCT_T0, &who, NULL, "", NULL, NULL, err,
                                     sizeof(err)),
                     VIGIL_ERR_INVALID);
    vigil_audit_row_t *rows = NULL;
    size_t n = 0;
    assert_int_equal(vigil_audit_list(fx->store, 0, 3, &rows, &n, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].action, "zone.delete");
    assert_string_equal(rows[0].user, "");
    assert_null(rows[0].detail);
    assert_string_equal(rows[1].user, "(setup token)");
    assert_string_equal(rows[1].target, "root"); /* cleaned */
    assert_string_equal(rows[1].detail, "[1,2]");
    assert_string_equal(rows[2].user, "cli");
    assert_string_equal(rows[2].target, "bob");
    int64_t cursor = rows[2].id;
    vigil_audit_rows_free(rows, n);
    assert_int_equal(vigil_audit_list(fx->store, cursor, 10, &rows, &n, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].user, "root");
    assert_string_equal(rows[0].client_ip, "192.0.2.9");
    assert_string_equal(rows[0].action, "camera.update");
    assert_string_equal(rows[0].target, "lobby");
    assert_string_equal(rows[0].detail, "{\"fps\":5}");
    assert_int_equal(rows[0].time_us, ACCT_T0);
    vigil_audit_rows_free(rows, n);
    assert_int_equal(vigil_audit_list(fx->store, 0, 0, &rows, &n, err, sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_int_equal(vigil_audit_list(fx->store, 0, 1001, &rows, &n, err, sizeof(err)),
                     VIGIL_ERR_INVALID);
}

static void test_sweep_deletes_expired_sessions_and_challenges(void **state)
{
    acct_fixture_t *fx = *state;
    char err[512] = "", sid[64], csrf[48];
    uint8_t c[32];
    int64_t now = vigil_now_us(); /* the sweep's clock */
    int64_t bob = acct_add_user(fx, "bob", VIGIL_ROLE_VIEWER);
    /* the live one first: a create deletes the sessions expired at its time */
    assert_int_equal(vigil_session_create(fx->store, bob, NULL, NULL, now, 3600, sid, csrf, err,
                                          sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_session_create(fx->store, bob, NULL, NULL, now - 7200 * ACCT_S, 3600,
                                          sid, csrf, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_challenge_create(fx->store, "login", 0, now - 600 * ACCT_S, 60, c, err,
                                            sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_challenge_create(fx->store, "login", 0, now - 600 * ACCT_S, 3600, c,
                                            err, sizeof(err)),
                     VIGIL_OK);
    vigil_sweep_result_t res;
    assert_int_equal(vigil_store_sweep(fx->store, NULL, 0, &res), VIGIL_OK);
    assert_int_equal(res.sessions_deleted, 1);
    assert_int_equal(res.challenges_deleted, 1);
    assert_int_equal(acct_sql_int(fx, "SELECT count(*) FROM sessions"), 1);
    assert_int_equal(acct_sql_int(fx, "SELECT count(*) FROM challenges"), 1);
}

/* Nothing a client holds as a secret is in the database's files: not the
 * password, the session id, the bearer token (with or without its prefix,
 * nor its 32 bytes), nor a challenge or the setup token. */
static void test_no_plaintext_secret_in_the_database_files(void **state)
{
    acct_fixture_t *fx = *state;
    char err[512] = "", sid[64], csrf[48], tok[64];
    uint8_t chal[32], raw[32];
    size_t n = 0;
    const char *password = "Plaintext-Canary-Password-42";
    int64_t id = 0;
    assert_int_equal(vigil_user_add(fx->store, "canary", VIGIL_ROLE_ADMIN, password, &id, err,
                                    sizeof(err)),
                     VIGIL_OK);
    vigil_user_t u;
    assert_int_equal(vigil_login_password(fx->store, "canary", password, ACCT_T0, &u, NULL, err,
                                          sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_session_create(fx->store, id, NULL, NULL, ACCT_T0, TTL_S, sid, csrf,
                                          err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_token_create(fx->store, "canary", "canary token", 1, 0, ACCT_T0, tok,
                                        NULL, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_challenge_create(fx->store, "setup", 0, ACCT_T0, 3600, chal, err,
                                            sizeof(err)),
                     VIGIL_OK);
    char chal_b64[64];
    vigil_b64url_encode(chal, 32, chal_b64, sizeof(chal_b64));
    uint8_t *db = acct_db_bytes(fx, &n);
    assert_true(n > 0);
    assert_false(acct_contains(db, n, password, strlen(password)));
    assert_false(acct_contains(db, n, sid, strlen(sid)));
    assert_false(acct_contains(db, n, tok, strlen(tok)));
    assert_false(acct_contains(db, n, tok + 4, strlen(tok + 4)));
    assert_false(acct_contains(db, n, tok + 8, 16)); /* not even a part past the prefix */
    assert_false(acct_contains(db, n, chal_b64, strlen(chal_b64)));
    assert_false(acct_contains(db, n, chal, sizeof(chal)));
    size_t rn = 0;
    assert_int_equal(vigil_b64url_decode(sid, raw, sizeof(raw), &rn), 0);
    assert_false(acct_contains(db, n, raw, rn));
    assert_int_equal(vigil_b64url_decode(tok + 4, raw, sizeof(raw), &rn), 0);
    assert_false(acct_contains(db, n, raw, rn));
    /* what is there: the label, the name, the Argon2id hash */
    assert_true(acct_contains(db, n, "canary token", 12));
    assert_true(acct_contains(db, n, "$argon2id$v=19$m=19456,t=2,p=1$", 31));
    free(db);
}

/* Every accounts statement finds its rows through a key or an index; only
 * the lists of everything read the whole table. */
static void test_account_statements_use_their_indexes(void **state)
{
    acct_fixture_t *fx = *state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(fx->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    for (int i = 0; i < SQU_COUNT_; i++) {
        char sql[4096], plan[2048] = "";
        snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", vigil__squ_sql((vigil__squ_stmt_t)i));
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
            fail_msg("statement %d: %s", i, sqlite3_errmsg(db));
        while (sqlite3_step(st) == SQLITE_ROW) {
            size_t len = strlen(plan);
            snprintf(plan + len, sizeof(plan) - len, "[%s] ", sqlite3_column_text(st, 3));
        }
        sqlite3_finalize(st);
        int may_scan = i == SQU_USER_LIST || i == SQU_USER_COUNT || i == SQU_SESSION_LIST_ALL ||
                       i == SQU_TOKEN_LIST_ALL;
        if (!may_scan && strstr(plan, "SCAN "))
            fail_msg("statement %d scans a table: %s\n%s", i, plan, vigil__squ_sql(i));
    }
    sqlite3_close(db);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, acct_setup, acct_teardown)
    const struct CMUnitTest tests[] = {
        T(test_session_create_check_and_csrf),
        T(test_session_idle_and_absolute_expiry),
        T(test_session_list_revoke_and_logout),
        T(test_token_create_check_scope_expiry_revoke),
        T(test_challenges_single_use_and_expiry),
        T(test_passkey_add_get_update_delete),
        T(test_user_delete_takes_its_sessions_tokens_passkeys_challenges),
        T(test_audit_add_and_list_newest_first),
        T(test_sweep_deletes_expired_sessions_and_challenges),
        T(test_no_plaintext_secret_in_the_database_files),
    };
    /* SQLite's query plans of its statements: SQLite's own */
    const struct CMUnitTest sqlite_only[] = {
        T(test_account_statements_use_their_indexes),
    };
    int failed = cmocka_run_group_tests_name("accounts credentials", tests, NULL, NULL);
    if (!vigil_test_store_is_pg() && !vigil_test_store_is_mongo())
        failed += cmocka_run_group_tests_name("accounts credentials (sqlite)", sqlite_only, NULL,
                                              NULL);
    return failed;
}
