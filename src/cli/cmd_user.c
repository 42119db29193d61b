/* `vigil user` and `vigil token`: accounts from a shell (vigil/auth.h).
 *
 *   vigil user add NAME --role admin|operator|viewer   (password on stdin)
 *   vigil user list | remove NAME | passwd NAME | role NAME ROLE
 *   vigil token create NAME [--scope read|write] [--expires DAYS] [--label TEXT]
 *   vigil token list [NAME] | revoke ID
 *
 * The main idea: these run next to a live `vigil run` on the same
 * warehouse. Each opens its own store handle (migrating a fresh data dir as
 * `vigil db migrate` does), makes one change in one transaction, waits for
 * the writer lock up to the store's busy timeout like any other writer, and
 * records what it did in the audit log as user "cli". A password is read
 * from stdin (one line; not echoed when stdin is a terminal), never from
 * the command line, where `ps` would show it. A new token is printed once,
 * alone on the last line of stdout, so that scripts can take it with
 * `tail -n 1`; lists never show a token, only its first characters.
 *
 * Exit codes: 0 done, 1 refused or failed (the message says why), 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "vigil/auth.h"
#include "vigil/clock.h"
#include "vigil/store.h"

enum { OPT_CONFIG = 256, OPT_DATA_DIR, OPT_STORE, OPT_ROLE, OPT_SCOPE, OPT_EXPIRES, OPT_LABEL };

typedef struct acct_opts {
    const char *config, *data_dir, *store;
    const char *role, *scope, *expires, *label;
} acct_opts_t;

static const char user_usage_text[] =
    "usage: vigil user VERB [ARGS] [--config FILE] [--data-dir DIR] [--store URL]\n\n"
    "  add NAME --role ROLE   add a user; the password (8 to 1024 bytes) is read from stdin\n"
    "  list                   list the users with their roles\n"
    "  remove NAME            remove a user with its sessions, tokens and passkeys\n"
    "  passwd NAME            set a new password (from stdin); signs out its sessions\n"
    "  role NAME ROLE         change a user's role\n\n"
    "Roles: viewer (read), operator (cameras on/off, zones, review), admin (everything).\n"
    "Names: 1 to 63 of A-Z a-z 0-9 . _ @ -. Works while `vigil run` uses the same warehouse.\n";

static const char token_usage_text[] =
    "usage: vigil token VERB [ARGS] [--config FILE] [--data-dir DIR] [--store URL]\n\n"
    "  create NAME [--scope read|write] [--expires DAYS] [--label TEXT]\n"
    "                         make a bearer token for user NAME; it is printed once, alone on\n"
    "                         the last line (scope read by default; no expiry by default)\n"
    "  list [NAME]            list tokens (id, user, scope, first characters, dates, label)\n"
    "  revoke ID              revoke a token\n";

static int acct_usage(const char *text, FILE *out)
{
    fputs(text, out);
    return out == stdout ? CLI_OK : CLI_USAGE;
}

/* Parses the options of `vigil user` / `vigil token`; the operands are
 * argv[optind..]. CLI_OK, or CLI_USAGE after printing why (-1: --help). */
static int acct_parse(int argc, char **argv, acct_opts_t *o, const char *usage)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"data-dir", required_argument, NULL, OPT_DATA_DIR},
        {"store", required_argument, NULL, OPT_STORE},
        {"role", required_argument, NULL, OPT_ROLE},
        {"scope", required_argument, NULL, OPT_SCOPE},
        {"expires", required_argument, NULL, OPT_EXPIRES},
        {"label", required_argument, NULL, OPT_LABEL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof(*o));
    optind = 1;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': return -1;
        case OPT_CONFIG: o->config = optarg; break;
        case OPT_DATA_DIR: o->data_dir = optarg; break;
        case OPT_STORE: o->store = optarg; break;
        case OPT_ROLE: o->role = optarg; break;
        case OPT_SCOPE: o->scope = optarg; break;
        case OPT_EXPIRES: o->expires = optarg; break;
        case OPT_LABEL: o->label = optarg; break;
        default: fputc('\n', stderr); return acct_usage(usage, stderr);
        }
    }
    return CLI_OK;
}

/* Refuses options that verb does not take: CLI_OK or CLI_USAGE. */
static int acct_only(const char *cmd, const char *verb, const acct_opts_t *o, int role, int tok)
{
    const char *bad = NULL;
    if (!role && o->role) bad = "--role";
    else if (!tok && o->scope) bad = "--scope";
    else if (!tok && o->expires) bad = "--expires";
    else if (!tok && o->label) bad = "--label";
    if (!bad) return CLI_OK;
    fprintf(stderr, "vigil %s %s: %s does not apply here (see `vigil %s --help`)\n", cmd, verb,
            bad, cmd);
    return CLI_USAGE;
}

/* Opens the warehouse of the configuration and flags, migrating it as
 * `vigil db migrate` would (a fresh data dir works). NULL after printing why. */
static vigil_store_t *acct_open(const char *cmd, const acct_opts_t *o, vigil_config_t *cfg,
                                int *rc)
{
    char err[1024];
    vigil_config_init(cfg);
    if ((*rc = cli_load_config(cfg, o->config)) != CLI_OK) return NULL;
    vigil_store_conf_t sc;
    vigil_store_conf_init(&sc);
    sc.url = o->store ? o->store : cfg->store_url;
    sc.data_dir = o->data_dir ? o->data_dir : cfg->data_dir;
    sc.migrate = 1;
    vigil_store_t *store = vigil_store_open(&sc, err, sizeof(err));
    if (!store) {
        fprintf(stderr, "vigil %s: %s\n", cmd, err);
        *rc = CLI_FAIL;
    }
    return store;
}

/* Reads one line (the password) from stdin into buf, without its line end.
 * When stdin is a terminal: prompts on stderr and turns echo off. 0, or -1
 * after printing why (nothing read, longer than the maximum). */
static int acct_read_password(const char *cmd, const char *name, char *buf, size_t size)
{
    struct termios saved, quiet;
    int tty = isatty(STDIN_FILENO), echo_off = 0;
    if (tty) {
        fprintf(stderr, "password for \"%s\": ", name);
        fflush(stderr);
        if (tcgetattr(STDIN_FILENO, &saved) == 0) {
            quiet = saved;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
        }
    }
    char *got = fgets(buf, (int)size, stdin);
    if (echo_off) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    if (tty) fputc('\n', stderr);
    if (!got) {
        fprintf(stderr, "vigil %s: no password on stdin (give it as one line)\n", cmd);
        return -1;
    }
    size_t len = strlen(buf);
    int whole_line = len > 0 && buf[len - 1] == '\n';
    if (!whole_line && len == size - 1 && !feof(stdin)) {
        memset(buf, 0, size);
        fprintf(stderr, "vigil %s: password longer than %d bytes\n", cmd, VIGIL_PASSWORD_MAX);
        return -1;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = '\0';
    return 0;
}

/* Records a CLI change in the audit log; a failure is reported, not fatal
 * (the change is made). */
static void acct_audit(vigil_store_t *store, const char *cmd, const char *action,
                       const char *target, const char *detail)
{
    char err[512];
    vigil_principal_t who;
    memset(&who, 0, sizeof(who));
    who.kind = VIGIL_AUTH_NONE;
    snprintf(who.user, sizeof(who.user), "cli");
    if (vigil_audit_add(store, vigil_now_us(), &who, "", action, target, detail, err,
                        sizeof(err)) != VIGIL_OK)
        fprintf(stderr, "vigil %s: warning: audit log not written: %s\n", cmd, err);
}

/* Time as "2026-11-21T05:31:02Z" (or "-" for 0). */
static void acct_time(int64_t t_us, char *out, size_t size)
{
    if (t_us == 0) {
        snprintf(out, size, "-");
        return;
    }
    char full[40];
    vigil_format_time(t_us, full, sizeof(full));
    char *dot = strchr(full, '.');
    if (dot) snprintf(dot, sizeof(full) - (size_t)(dot - full), "Z");
    snprintf(out, size, "%s", full);
}

/* ---- vigil user ---------------------------------------------------------- */

static int user_add(vigil_store_t *store, const char *name, const acct_opts_t *o)
{
    char err[512], password[VIGIL_PASSWORD_MAX + 2];
    vigil_role_t role;
    if (!o->role) {
        fprintf(stderr, "vigil user add: --role admin|operator|viewer is required\n");
        return CLI_USAGE;
    }
    if (vigil_role_parse(o->role, &role) != 0) {
        fprintf(stderr, "vigil user add: unknown role \"%s\": admin, operator or viewer\n",
                o->role);
        return CLI_USAGE;
    }
    if (!vigil_user_name_valid(name)) {
        vigil_user_add(store, name, role, "", NULL, err, sizeof(err)); /* for its message */
        fprintf(stderr, "vigil user add: %s\n", err);
        return CLI_FAIL;
    }
    if (acct_read_password("user add", name, password, sizeof(password)) != 0) return CLI_FAIL;
    int64_t id = 0;
    vigil_err_t e = vigil_user_add(store, name, role, password, &id, err, sizeof(err));
    memset(password, 0, sizeof(password));
    if (e != VIGIL_OK) {
        fprintf(stderr, "vigil user add: %s\n", err);
        return CLI_FAIL;
    }
    char detail[64];
    snprintf(detail, sizeof(detail), "{\"role\":\"%s\"}", vigil_role_name(role));
    acct_audit(store, "user add", "user.add", name, detail);
    printf("added user \"%s\" (%s, id %" PRId64 ")\n", name, vigil_role_name(role), id);
    return CLI_OK;
}

static int user_list(vigil_store_t *store)
{
    char err[512], created[40], locked[48];
    vigil_user_t *users = NULL;
    size_t n = 0;
    if (vigil_user_list(store, &users, &n, err, sizeof(err)) != VIGIL_OK) {
        fprintf(stderr, "vigil user list: %s\n", err);
        return CLI_FAIL;
    }
    int64_t now = vigil_now_us();
    printf("%-6s %-24s %-9s %-21s %s\n", "ID", "NAME", "ROLE", "CREATED", "LOCKED UNTIL");
    for (size_t i = 0; i < n; i++) {
        acct_time(users[i].created_us, created, sizeof(created));
        if (users[i].locked_until_us > now)
            acct_time(users[i].locked_until_us, locked, sizeof(locked));
        else
            snprintf(locked, sizeof(locked), "-");
        printf("%-6" PRId64 " %-24s %-9s %-21s %s\n", users[i].id, users[i].name,
               vigil_role_name(users[i].role), created, locked);
    }
    free(users);
    return CLI_OK;
}

static int user_remove(vigil_store_t *store, const char *name)
{
    char err[512];
    if (vigil_user_delete(store, name, err, sizeof(err)) != VIGIL_OK) {
        fprintf(stderr, "vigil user remove: %s\n", err);
        return CLI_FAIL;
    }
    acct_audit(store, "user remove", "user.delete", name, NULL);
    printf("removed user \"%s\" with its sessions, tokens and passkeys\n", name);
    return CLI_OK;
}

static int user_passwd(vigil_store_t *store, const char *name)
{
    char err[512], password[VIGIL_PASSWORD_MAX + 2];
    vigil_user_t u;
    /* say "no such user" before asking for a password */
    if (vigil_user_get(store, name, &u, err, sizeof(err)) != VIGIL_OK) {
        fprintf(stderr, "vigil user passwd: %s\n", err);
        return CLI_FAIL;
    }
    if (acct_read_password("user passwd", name, password, sizeof(password)) != 0) return CLI_FAIL;
    vigil_err_t e = vigil_user_set_password(store, name, password, err, sizeof(err));
    memset(password, 0, sizeof(password));
    if (e != VIGIL_OK) {
        fprintf(stderr, "vigil user passwd: %s\n", err);
        return CLI_FAIL;
    }
    acct_audit(store, "user passwd", "user.password", name, NULL);
    printf("password of \"%s\" changed; its sessions are signed out\n", name);
    return CLI_OK;
}

static int user_role(vigil_store_t *store, const char *name, const char *role_name)
{
    char err[512];
    vigil_role_t role;
    if (vigil_role_parse(role_name, &role) != 0) {
        fprintf(stderr, "vigil user role: unknown role \"%s\": admin, operator or viewer\n",
                role_name);
        return CLI_USAGE;
    }
    if (vigil_user_set_role(store, name, role, err, sizeof(err)) != VIGIL_OK) {
        fprintf(stderr, "vigil user role: %s\n", err);
        return CLI_FAIL;
    }
    char detail[64];
    snprintf(detail, sizeof(detail), "{\"role\":\"%s\"}", vigil_role_name(role));
    acct_audit(store, "user role", "user.update", name, detail);
    printf("user \"%s\" is now %s\n", name, vigil_role_name(role));
    return CLI_OK;
}

int cli_user_main(const cli_cmd_t *cmd, int argc, char **argv)
{
    acct_opts_t o;
    vigil_config_t cfg;
    int rc = acct_parse(argc, argv, &o, user_usage_text);
    if (rc < 0) return acct_usage(user_usage_text, stdout);
    if (rc != CLI_OK) return rc;
    int nargs = argc - optind;
    char **args = argv + optind;
    const char *verb = nargs > 0 ? args[0] : NULL;
    static const struct {
        const char *verb;
        int operands, role;
    } verbs[] = {{"add", 1, 1}, {"list", 0, 0}, {"remove", 1, 0}, {"passwd", 1, 0}, {"role", 2, 0}};
    size_t v = 0;
    for (; verb && v < sizeof(verbs) / sizeof(verbs[0]); v++)
        if (!strcmp(verb, verbs[v].verb)) break;
    if (!verb || v == sizeof(verbs) / sizeof(verbs[0])) {
        if (verb) fprintf(stderr, "vigil user: unknown verb \"%s\"\n\n", verb);
        return acct_usage(user_usage_text, stderr);
    }
    if (nargs - 1 != verbs[v].operands) {
        fprintf(stderr, "vigil user %s: %s\n\n", verb,
                nargs - 1 < verbs[v].operands ? "missing operand" : "too many operands");
        return acct_usage(user_usage_text, stderr);
    }
    if ((rc = acct_only("user", verb, &o, verbs[v].role, 0)) != CLI_OK) return rc;
    if (!strcmp(verb, "add") && !o.role) {
        fprintf(stderr, "vigil user add: --role admin|operator|viewer is required\n");
        return CLI_USAGE;
    }
    vigil_store_t *store = acct_open("user", &o, &cfg, &rc);
    if (store) {
        if (!strcmp(verb, "add")) rc = user_add(store, args[1], &o);
        else if (!strcmp(verb, "list")) rc = user_list(store);
        else if (!strcmp(verb, "remove")) rc = user_remove(store, args[1]);
        else if (!strcmp(verb, "passwd")) rc = user_passwd(store, args[1]);
        else rc = user_role(store, args[1], args[2]);
        vigil_store_close(store);
    }
    vigil_config_release(&cfg);
    (void)cmd;
    return rc;
}

/* ---- vigil token --------------------------------------------------------- */

static int token_create(vigil_store_t *store, const char *user, const acct_opts_t *o)
{
    char err[512], token[64], expires_text[40];
    int write_scope = 0;
    int64_t now = vigil_now_us(), expires = 0, id = 0;
    if (o->scope) {
        if (!strcmp(o->scope, "write"))
            write_scope = 1;
        else if (strcmp(o->scope, "read") != 0) {
            fprintf(stderr, "vigil token create: unknown scope \"%s\": read or write\n", o->scope);
            return CLI_USAGE;
        }
    }
    if (o->expires) {
        char *end = NULL;
        errno = 0;
        long days = strtol(o->expires, &end, 10);
        if (errno || !end || *end || end == o->expires || days < 1 || days > 3650) {
            fprintf(stderr, "vigil token create: --expires \"%s\": a number of days, 1 to 3650\n",
                    o->expires);
            return CLI_USAGE;
        }
        expires = now + (int64_t)days * 86400 * 1000000;
    }
    if (vigil_token_create(store, user, o->label, write_scope, expires, now, token, &id, err,
                           sizeof(err)) != VIGIL_OK) {
        fprintf(stderr, "vigil token create: %s\n", err);
        return CLI_FAIL;
    }
    char detail[96];
    snprintf(detail, sizeof(detail), "{\"id\":%" PRId64 ",\"scope\":\"%s\"}", id,
             write_scope ? "write" : "read");
    acct_audit(store, "token create", "token.create", user, detail);
    acct_time(expires, expires_text, sizeof(expires_text));
    printf("token %" PRId64 " for user \"%s\", scope %s, expires %s; shown this once:\n", id, user,
           write_scope ? "write" : "read", expires ? expires_text : "never");
    printf("%s\n", token);
    fflush(stdout);
    memset(token, 0, sizeof(token));
    return CLI_OK;
}

static int token_list(vigil_store_t *store, const char *user)
{
    char err[512], created[40], expires[40], used[40];
    int64_t user_id = 0;
    if (user) {
        vigil_user_t u;
        if (vigil_user_get(store, user, &u, err, sizeof(err)) != VIGIL_OK) {
            fprintf(stderr, "vigil token list: %s\n", err);
            return CLI_FAIL;
        }
        user_id = u.id;
    }
    vigil_token_info_t *tokens = NULL;
    size_t n = 0;
    if (vigil_token_list(store, user_id, &tokens, &n, err, sizeof(err)) != VIGIL_OK) {
        fprintf(stderr, "vigil token list: %s\n", err);
        return CLI_FAIL;
    }
    int64_t now = vigil_now_us();
    printf("%-6s %-20s %-5s %-11s %-20s %-20s %-20s %s\n", "ID", "USER", "SCOPE", "PREFIX",
           "CREATED", "EXPIRES", "LAST USED", "LABEL");
    for (size_t i = 0; i < n; i++) {
        const vigil_token_info_t *t = &tokens[i];
        acct_time(t->created_us, created, sizeof(created));
        if (t->expires_us == 0)
            snprintf(expires, sizeof(expires), "never");
        else if (t->expires_us <= now)
            snprintf(expires, sizeof(expires), "expired");
        else
            acct_time(t->expires_us, expires, sizeof(expires));
        acct_time(t->last_used_us, used, sizeof(used));
        printf("%-6" PRId64 " %-20s %-5s %-11s %-20s %-20s %-20s %s\n", t->id, t->user,
               t->write_scope ? "write" : "read", t->prefix, created, expires, used,
               t->name[0] ? t->name : "-");
    }
    free(tokens);
    return CLI_OK;
}

static int token_revoke(vigil_store_t *store, const char *id_text)
{
    char err[512], *end = NULL;
    errno = 0;
    long long id = strtoll(id_text, &end, 10);
    if (errno || !end || *end || end == id_text || id <= 0) {
        fprintf(stderr, "vigil token revoke: \"%s\" is not a token id (see `vigil token list`)\n",
                id_text);
        return CLI_USAGE;
    }
    if (vigil_token_revoke(store, id, 0, err, sizeof(err)) != VIGIL_OK) {
        fprintf(stderr, "vigil token revoke: %s\n", err);
        return CLI_FAIL;
    }
    char target[32];
    snprintf(target, sizeof(target), "%lld", id);
    acct_audit(store, "token revoke", "token.revoke", target, NULL);
    printf("revoked token %lld\n", id);
    return CLI_OK;
}

int cli_token_main(const cli_cmd_t *cmd, int argc, char **argv)
{
    acct_opts_t o;
    vigil_config_t cfg;
    int rc = acct_parse(argc, argv, &o, token_usage_text);
    if (rc < 0) return acct_usage(token_usage_text, stdout);
    if (rc != CLI_OK) return rc;
    int nargs = argc - optind;
    char **args = argv + optind;
    const char *verb = nargs > 0 ? args[0] : NULL;
    int min = 0, max = 0, tok = 0;
    if (verb && !strcmp(verb, "create")) min = max = 1, tok = 1;
    else if (verb && !strcmp(verb, "list")) min = 0, max = 1;
    else if (verb && !strcmp(verb, "revoke")) min = max = 1;
    else {
        if (verb) fprintf(stderr, "vigil token: unknown verb \"%s\"\n\n", verb);
        return acct_usage(token_usage_text, stderr);
    }
    if (nargs - 1 < min || nargs - 1 > max) {
        fprintf(stderr, "vigil token %s: %s\n\n", verb,
                nargs - 1 < min ? "missing operand" : "too many operands");
        return acct_usage(token_usage_text, stderr);
    }
    if ((rc = acct_only("token", verb, &o, 0, tok)) != CLI_OK) return rc;
    vigil_store_t *store = acct_open("token", &o, &cfg, &rc);
    if (store) {
        if (!strcmp(verb, "create")) rc = token_create(store, args[1], &o);
        else if (!strcmp(verb, "list")) rc = token_list(store, nargs > 1 ? args[1] : NULL);
        else rc = token_revoke(store, args[1]);
        vigil_store_close(store);
    }
    vigil_config_release(&cfg);
    (void)cmd;
    return rc;
}
