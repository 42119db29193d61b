/* Accounts, part 1: password hashes, base64url, users (names, roles, the
 * last admin) and the password login with its lockout (vigil/auth.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts_support.h"

extern const char vigil__password_dummy_hash[];

#define PARAMS "$argon2id$v=19$m=19456,t=2,p=1$"

static void test_password_hash_is_argon2id_owasp_and_verifies(void **state)
{
    (void)state;
    char h1[VIGIL_PASSWORD_HASH_MAX], h2[VIGIL_PASSWORD_HASH_MAX], err[256];
    assert_int_equal(vigil_password_hash("hunter2hunter2", h1, sizeof(h1), err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(strncmp(h1, PARAMS, strlen(PARAMS)), 0);
    assert_int_equal(vigil_password_hash("hunter2hunter2", h2, sizeof(h2), err, sizeof(err)),
                     VIGIL_OK);
    assert_string_not_equal(h1, h2); /* a new salt each time */
    assert_int_equal(vigil_password_verify(h1, "hunter2hunter2"), 1);
    assert_int_equal(vigil_password_verify(h2, "hunter2hunter2"), 1);
    assert_int_equal(vigil_password_verify(h1, "hunter2hunter3"), 0);
    assert_int_equal(vigil_password_verify(h1, ""), 0);
    assert_int_equal(vigil_password_verify("$argon2id$garbage", "hunter2hunter2"), 0);
    assert_int_equal(vigil_password_verify("plain", "plain"), 0);
    assert_int_equal(vigil_password_verify(NULL, "x"), 0);
    /* the dummy hash of unknown-name logins costs what a real one costs */
    assert_int_equal(strncmp(vigil__password_dummy_hash, PARAMS, strlen(PARAMS)), 0);
    assert_int_equal(vigil_password_verify(vigil__password_dummy_hash, "hunter2hunter2"), 0);
}

static void test_password_length_bounds(void **state)
{
    (void)state;
    char h[VIGIL_PASSWORD_HASH_MAX], err[256] = "";
    char big[VIGIL_PASSWORD_MAX + 2];
    assert_int_equal(vigil_password_hash("1234567", h, sizeof(h), err, sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_non_null(strstr(err, "7 bytes"));
    assert_int_equal(vigil_password_hash("12345678", h, sizeof(h), err, sizeof(err)), VIGIL_OK);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0'; /* 1025 bytes */
    assert_int_equal(vigil_password_hash(big, h, sizeof(h), err, sizeof(err)), VIGIL_ERR_INVALID);
    assert_int_equal(vigil_password_verify(h, big), 0);
    big[VIGIL_PASSWORD_MAX] = '\0'; /* 1024 bytes */
    assert_int_equal(vigil_password_hash(big, h, sizeof(h), err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_password_verify(h, big), 1);
    assert_int_equal(vigil_password_hash("12345678", h, 20, err, sizeof(err)), VIGIL_ERR_INVALID);
}

static void test_b64url_rfc4648_vectors_and_strictness(void **state)
{
    (void)state;
    static const struct {
        const char *raw, *enc;
    } v[] = {{"", ""},         {"f", "Zg"},         {"fo", "Zm8"},       {"foo", "Zm9v"},
             {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    char out[64];
    uint8_t dec[64];
    size_t n;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        vigil_b64url_encode((const uint8_t *)v[i].raw, strlen(v[i].raw), out, sizeof(out));
        assert_string_equal(out, v[i].enc);
        assert_int_equal(vigil_b64url_decode(v[i].enc, dec, sizeof(dec), &n), 0);
        assert_int_equal(n, strlen(v[i].raw));
        assert_memory_equal(dec, v[i].raw, n);
    }
    const uint8_t hi[] = {0xfb, 0xff, 0xbf};
    vigil_b64url_encode(hi, 3, out, sizeof(out));
    assert_string_equal(out, "-_-_");
    assert_int_equal(vigil_b64url_decode("Zg==", dec, sizeof(dec), &n), -1); /* padding */
    assert_int_equal(vigil_b64url_decode("Zm+v", dec, sizeof(dec), &n), -1); /* '+' */
    assert_int_equal(vigil_b64url_decode("Zm9 v", dec, sizeof(dec), &n), -1);
    assert_int_equal(vigil_b64url_decode("Zm9vY", dec, sizeof(dec), &n), -1); /* 4k + 1 */
    assert_int_equal(vigil_b64url_decode("Zh", dec, sizeof(dec), &n), -1); /* trailing bits */
    assert_int_equal(vigil_b64url_decode("Zm9vYmFy", dec, 5, &n), -1);    /* does not fit */
    vigil_b64url_encode((const uint8_t *)"foobar", 6, out, 8);             /* needs 9 */
    assert_string_equal(out, "");
}

static void test_roles_by_name(void **state)
{
    (void)state;
    vigil_role_t r = VIGIL_ROLE_NONE;
    assert_int_equal(vigil_role_parse("viewer", &r), 0);
    assert_int_equal(r, VIGIL_ROLE_VIEWER);
    assert_int_equal(vigil_role_parse("operator", &r), 0);
    assert_int_equal(r, VIGIL_ROLE_OPERATOR);
    assert_int_equal(vigil_role_parse("admin", &r), 0);
    assert_int_equal(r, VIGIL_ROLE_ADMIN);
    assert_int_equal(vigil_role_parse("Admin", &r), -1);
    assert_int_equal(vigil_role_parse("none", &r), -1);
    assert_int_equal(vigil_role_parse(NULL, &r), -1);
    assert_string_equal(vigil_role_name(VIGIL_ROLE_OPERATOR), "operator");
    assert_string_equal(vigil_role_name(VIGIL_ROLE_NONE), "none");
    assert_string_equal(vigil_role_name((vigil_role_t)42), "none");
}

static void test_user_add_get_list_and_duplicate(void **state)
{
    acct_fixture_t *fx = *state;
    char err[512] = "";
    vigil_user_t u;
    assert_int_equal(vigil_user_count(fx->store), 0);
    int64_t bob = acct_add_user(fx, "bob", VIGIL_ROLE_VIEWER);
    int64_t alice = acct_add_user(fx, "alice@example.com", VIGIL_ROLE_ADMIN);
    assert_true(alice > bob);
    assert_int_equal(vigil_user_count(fx->store), 2);
    assert_int_equal(vigil_user_get(fx->store, "bob", &u, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(u.id, bob);
    assert_string_equal(u.name, "bob");
    assert_int_equal(u.role, VIGIL_ROLE_VIEWER);
    assert_true(u.created_us > 0);
    assert_int_equal(u.failed_logins, 0);
    assert_int_equal(u.locked_until_us, 0);
    assert_int_equal(vigil_user_get_id(fx->store, alice, &u, err, sizeof(err)), VIGIL_OK);
    assert_string_equal(u.name, "alice@example.com");
    assert_int_equal(vigil_user_get(fx->store, "carol", &u, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_user_get_id(fx->store, 999, &u, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    /* taken: EXISTS, and the message names the user */
    assert_int_equal(vigil_user_add(fx->store, "bob", VIGIL_ROLE_ADMIN, "another password",
                                    NULL, err, sizeof(err)),
                     VIGIL_ERR_EXISTS);
    assert_non_null(strstr(err, "\"bob\""));
    /* names are case-sensitive */
    acct_add_user(fx, "Bob", VIGIL_ROLE_OPERATOR);
    vigil_user_t *list = NULL;
    size_t n = 0;
    assert_int_equal(vigil_user_list(fx->store, &list, &n, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].name, "Bob"); /* by name (bytes) */
    assert_string_equal(list[1].name, "alice@example.com");
    assert_string_equal(list[2].name, "bob");
    free(list);
    /* a short password is refused before anything is stored */
    assert_int_equal(vigil_user_add(fx->store, "dave", VIGIL_ROLE_VIEWER, "short", NULL, err,
                                    sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_int_equal(vigil_user_count(fx->store), 3);
    assert_int_equal(vigil_user_add(fx->store, "dave", VIGIL_ROLE_NONE, ACCT_PASSWORD, NULL, err,
                                    sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_non_null(strstr(err, "role"));
}

static void test_user_name_validation(void **state)
{
    acct_fixture_t *fx = *state;
    char err[512] = "", name[80];
    static const char *const good[] = {"a", "A.b_c-d@e", "0", "x-y.z@host.example"};
    static const char *const bad[] = {"", "a b", "a/b", "a\nb", "caf\xc3\xa9", "a:b", "'or'1",
                                      "a\"b", "..\\x"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(vigil_user_name_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(vigil_user_name_valid(bad[i]));
        assert_int_equal(vigil_user_add(fx->store, bad[i], VIGIL_ROLE_VIEWER, ACCT_PASSWORD, NULL,
                                        err, sizeof(err)),
                         VIGIL_ERR_INVALID);
        assert_non_null(strstr(err, "user name"));
        assert_null(strchr(err, '\n')); /* the offending byte is shown as hex */
    }
    memset(name, 'n', 63);
    name[63] = '\0';
    assert_true(vigil_user_name_valid(name));
    name[63] = 'n';
    name[64] = '\0';
    assert_false(vigil_user_name_valid(name));
    assert_int_equal(vigil_user_add(fx->store, name, VIGIL_ROLE_VIEWER, ACCT_PASSWORD, NULL, err,
                                    sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_non_null(strstr(err, "63"));
    assert_false(vigil_user_name_valid(NULL));
    assert_int_equal(vigil_user_count(fx->store), 0);
}

static void test_user_role_change_and_last_admin(void **state)
{
    acct_fixture_t *fx = *state;
    char err[512] = "";
    vigil_user_t u;
    acct_add_user(fx, "root", VIGIL_ROLE_ADMIN);
    acct_add_user(fx, "op", VIGIL_ROLE_VIEWER);
    assert_int_equal(vigil_user_set_role(fx->store, "op", VIGIL_ROLE_OPERATOR, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_user_get(fx->store, "op", &u, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(u.role, VIGIL_ROLE_OPERATOR);
    /* the last admin can be neither demoted nor removed */
    assert_int_equal(vigil_user_set_role(fx->store, "root", VIGIL_ROLE_VIEWER, err, sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_non_null(strstr(err, "last admin"));
    assert_int_equal(vigil_user_delete(fx->store, "root", err, sizeof(err)), VIGIL_ERR_INVALID);
    assert_non_null(strstr(err, "last admin"));
    assert_int_equal(vigil_user_set_role(fx->store, "root", VIGIL_ROLE_ADMIN, err, sizeof(err)),
                     VIGIL_OK); /* no change is fine */
    /* with a second admin both work */
    assert_int_equal(vigil_user_set_role(fx->store, "op", VIGIL_ROLE_ADMIN, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_user_set_role(fx->store, "root", VIGIL_ROLE_VIEWER, err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_user_delete(fx->store, "root", err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_user_delete(fx->store, "root", err, sizeof(err)), VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_user_set_role(fx->store, "ghost", VIGIL_ROLE_VIEWER, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_user_set_role(fx->store, "op", (vigil_role_t)7, err, sizeof(err)),
                     VIGIL_ERR_INVALID);
    assert_int_equal(vigil_user_count(fx->store), 1);
}

static vigil_err_t login(acct_fixture_t *fx, const char *name, const char *pw, int64_t now,
                         int64_t *retry, char *err, size_t n)
{
    vigil_user_t u;
    return vigil_login_password(fx->store, name, pw, now, &u, retry, err, n);
}

static void test_login_ok_and_refusals_say_nothing_more(void **state)
{
    acct_fixture_t *fx = *state;
    char err[512] = "", err2[512] = "";
    vigil_user_t u;
    int64_t retry = -1;
    int64_t id = acct_add_user(fx, "bob", VIGIL_ROLE_OPERATOR);
    assert_int_equal(vigil_login_password(fx->store, "bob", ACCT_PASSWORD, ACCT_T0, &u, &retry,
                                          err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(u.id, id);
    assert_int_equal(u.role, VIGIL_ROLE_OPERATOR);
    assert_int_equal(retry, 0);
    /* wrong password, unknown name, malformed name: one code, one message */
    assert_int_equal(login(fx, "bob", "wrong password", ACCT_T0, &retry, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_string_equal(err, "invalid name or password");
    assert_int_equal(login(fx, "nobody", ACCT_PASSWORD, ACCT_T0, &retry, err2, sizeof(err2)),
                     VIGIL_ERR_NOT_FOUND);
    assert_string_equal(err2, err);
    assert_int_equal(login(fx, "no body/..", ACCT_PASSWORD, ACCT_T0, &retry, err2, sizeof(err2)),
                     VIGIL_ERR_NOT_FOUND);
    assert_string_equal(err2, err);
    assert_int_equal(login(fx, NULL, NULL, ACCT_T0, &retry, err2, sizeof(err2)),
                     VIGIL_ERR_NOT_FOUND);
    assert_string_equal(err2, err);
    assert_int_equal(retry, 0);
    /* a success ended the series: one failure is counted */
    assert_int_equal(vigil_user_get(fx->store, "bob", &u, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(u.failed_logins, 1);
    assert_int_equal(login(fx, "bob", ACCT_PASSWORD, ACCT_T0, &retry, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_user_get(fx->store, "bob", &u, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(u.failed_logins, 0);
}

static double elapsed_ms(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/* An unknown name runs the same Argon2 verify as a known one: the two take
 * about as long (the median of a few, loosely compared: it is the ~30 ms of
 * Argon2 against the ~0 ms a shortcut would take). */
static void test_login_unknown_name_costs_an_argon2_verify(void **state)
{
    acct_fixture_t *fx = *state;
    char err[512];
    int64_t retry;
    acct_add_user(fx, "bob", VIGIL_ROLE_VIEWER);
    acct_add_user(fx, "root", VIGIL_ROLE_ADMIN);
    double known[3], unknown[3];
    for (int i = 0; i < 3; i++) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        assert_int_equal(login(fx, "bob", "wrong password", ACCT_T0, &retry, err, sizeof(err)),
                         VIGIL_ERR_NOT_FOUND);
        known[i] = elapsed_ms(&t);
        clock_gettime(CLOCK_MONOTONIC, &t);
        assert_int_equal(login(fx, "nobody", "wrong password", ACCT_T0, &retry, err, sizeof(err)),
                         VIGIL_ERR_NOT_FOUND);
        unknown[i] = elapsed_ms(&t);
    }
    /* medians */
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++) {
            if (known[j] < known[i]) {
                double x = known[i];
                known[i] = known[j];
                known[j] = x;
            }
            if (unknown[j] < unknown[i]) {
                double x = unknown[i];
                unknown[i] = unknown[j];
                unknown[j] = x;
            }
        }
    print_message("login: wrong password %.1f ms, unknown name %.1f ms (medians)\n", known[1],
                  unknown[1]);
    assert_true(unknown[1] > known[1] / 3);
    assert_true(unknown[1] > 3.0); /* Argon2 with 19 MiB is never this fast */
}

static void test_lockout_after_five_failures_then_expiry_and_doubling(void **state)
{
    acct_fixture_t *fx = *state;
    char err[512] = "";
    int64_t retry = 0, now = ACCT_T0;
    vigil_user_t u;
    acct_add_user(fx, "bob", VIGIL_ROLE_VIEWER);
    for (int i = 0; i < 4; i++)
        assert_int_equal(login(fx, "bob", "wrong password", now, &retry, err, sizeof(err)),
                         VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_user_get(fx->store, "bob", &u, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(u.failed_logins, 4);
    assert_int_equal(u.locked_until_us, 0);
    /* the fifth locks (it is itself answered as a plain refusal) */
    assert_int_equal(login(fx, "bob", "wrong password", now, &retry, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_user_get(fx->store, "bob", &u, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(u.locked_until_us, now + 900 * ACCT_S);
    /* locked: even the right password gets the lock, with the seconds left */
    assert_int_equal(login(fx, "bob", ACCT_PASSWORD, now, &retry, err, sizeof(err)),
                     VIGIL_ERR_TIMED_OUT);
    assert_int_equal(retry, 900);
    assert_non_null(strstr(err, "locked"));
    assert_int_equal(login(fx, "bob", "wrong password", now + 899 * ACCT_S + 1, &retry, err,
                           sizeof(err)),
                     VIGIL_ERR_TIMED_OUT);
    assert_int_equal(retry, 1);
    /* attempts while locked neither count nor extend the lock */
    assert_int_equal(vigil_user_get(fx->store, "bob", &u, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(u.locked_until_us, now + 900 * ACCT_S);
    assert_int_equal(u.failed_logins, 0);
    /* the next series locks for twice as long, then four times */
    int64_t want = 1800;
    for (int lock = 2; lock <= 3; lock++) {
        now = u.locked_until_us;
        for (int i = 0; i < 5; i++)
            assert_int_equal(login(fx, "bob", "wrong password", now, &retry, err, sizeof(err)),
                             VIGIL_ERR_NOT_FOUND);
        assert_int_equal(vigil_user_get(fx->store, "bob", &u, err, sizeof(err)), VIGIL_OK);
        assert_int_equal(u.locked_until_us, now + want * ACCT_S);
        want *= 2;
    }
    /* after the lock the right password gets in, and the series ends */
    now = u.locked_until_us;
    assert_int_equal(login(fx, "bob", ACCT_PASSWORD, now, &retry, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(vigil_user_get(fx->store, "bob", &u, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(u.locked_until_us, 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(login(fx, "bob", "wrong password", now, &retry, err, sizeof(err)),
                         VIGIL_ERR_NOT_FOUND);
    assert_int_equal(vigil_user_get(fx->store, "bob", &u, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(u.locked_until_us, now + 900 * ACCT_S);
}

static void test_lockout_is_capped_at_a_day(void **state)
{
    acct_fixture_t *fx = *state;
    char err[512] = "";
    vigil_store_lockout_t policy = {VIGIL_LOGIN_MAX_FAILURES, 900 * ACCT_S, 86400 * ACCT_S};
    vigil_user_t u;
    int64_t id = acct_add_user(fx, "bob", VIGIL_ROLE_VIEWER), now = ACCT_T0;
    /* the store's counter directly: ten locks in a row */
    for (int lock = 0; lock < 10; lock++) {
        for (int i = 0; i < 5; i++)
            assert_int_equal(vigil_store_user_login_result(fx->store, id, 0, now, &policy, &u, err,
                                                           sizeof(err)),
                             VIGIL_OK);
        int64_t want = 900 << lock;
        if (want > 86400) want = 86400;
        assert_int_equal(u.locked_until_us - now, want * ACCT_S);
        now = u.locked_until_us;
    }
    /* and a password change clears the lockout */
    now -= 10 * ACCT_S;
    for (int i = 0; i < 5; i++)
        vigil_store_user_login_result(fx->store, id, 0, now - 86400 * ACCT_S, &policy, &u, err,
                                      sizeof(err));
    assert_int_equal(vigil_user_set_password(fx->store, "bob", "a new password", err, sizeof(err)),
                     VIGIL_OK);
    assert_int_equal(vigil_user_get(fx->store, "bob", &u, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(u.locked_until_us, 0);
    assert_int_equal(login(fx, "bob", "a new password", now, NULL, err, sizeof(err)), VIGIL_OK);
    assert_int_equal(login(fx, "bob", ACCT_PASSWORD, now, NULL, err, sizeof(err)),
                     VIGIL_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_hash_is_argon2id_owasp_and_verifies),
        cmocka_unit_test(test_password_length_bounds),
        cmocka_unit_test(test_b64url_rfc4648_vectors_and_strictness),
        cmocka_unit_test(test_roles_by_name),
        cmocka_unit_test_setup_teardown(test_user_add_get_list_and_duplicate, acct_setup,
                                        acct_teardown),
        cmocka_unit_test_setup_teardown(test_user_name_validation, acct_setup, acct_teardown),
        cmocka_unit_test_setup_teardown(test_user_role_change_and_last_admin, acct_setup,
                                        acct_teardown),
        cmocka_unit_test_setup_teardown(test_login_ok_and_refusals_say_nothing_more, acct_setup,
                                        acct_teardown),
        cmocka_unit_test_setup_teardown(test_login_unknown_name_costs_an_argon2_verify,
                                        acct_setup, acct_teardown),
        cmocka_unit_test_setup_teardown(test_lockout_after_five_failures_then_expiry_and_doubling,
                                        acct_setup, acct_teardown),
        cmocka_unit_test_setup_teardown(test_lockout_is_capped_at_a_day, acct_setup,
                                        acct_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
