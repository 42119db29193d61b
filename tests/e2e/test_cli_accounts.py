#!/usr/bin/env python3
"""`vigil user` and `vigil token` from a shell (docs/security.md, "Accounts").

- `vigil user add NAME --role ROLE` takes the password on stdin; list, role,
  passwd and remove work on a fresh data dir (migrated on the way);
- `vigil token create` prints the token alone on its last line; `vigil token
  list` never shows it (only its first characters); revoke;
- bad input: the exit code (1 refused, 2 usage) and a message that says why;
- neither a password nor a token is in any file of the data directory, and
  every change is in the audit log as user "cli";
- all of it while `vigil run` writes frames into the same warehouse, and the
  API accepts the new token at once and refuses it once revoked.
"""
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigil_harness import BINARY, MULT, Vigil, check, run_tests  # noqa: E402

PASSWORD = "Canary-Password-5150"
TOKEN_RE = re.compile(r"^vgl_[A-Za-z0-9_-]{43}$")


def cli(data_dir, *args, stdin=None):
    """Runs `vigil ARGS --data-dir DATA_DIR`: (exit code, stdout, stderr)."""
    r = subprocess.run([BINARY, *args, "--data-dir", data_dir],
                       input=stdin.encode() if isinstance(stdin, str) else stdin,
                       capture_output=True, timeout=60 * MULT)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def expect(result, code, what, out=None, err=None):
    rc, so, se = result
    check(rc == code, f"{what}: exit {rc}, want {code}\nstdout: {so}\nstderr: {se}")
    if out:
        check(re.search(out, so), f"{what}: stdout does not match {out!r}: {so!r}")
    if err:
        check(re.search(err, se), f"{what}: stderr does not match {err!r}: {se!r}")
    return so


def data_files(data_dir):
    """Every file under data_dir, concatenated (the database and its WAL)."""
    blob = b""
    for root, _, files in os.walk(data_dir):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                blob += fh.read()
    return blob


def audit_rows(data_dir):
    db = sqlite3.connect(os.path.join(data_dir, "vigil.db"), timeout=30)
    try:
        return db.execute("SELECT user_name, action, target FROM audit_log ORDER BY id").fetchall()
    finally:
        db.close()


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="vigil-cli-acct-")
        return os.path.join(self.path, "data")

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def test_users_on_a_fresh_data_dir():
    with TempDir() as d:
        expect(cli(d, "user", "add", "root", "--role", "admin", stdin=PASSWORD + "\n"), 0,
               "user add", out=r'added user "root" \(admin')
        expect(cli(d, "user", "add", "bob", "--role", "viewer", stdin=PASSWORD + "\r\n"), 0,
               "user add (CRLF)")
        out = expect(cli(d, "user", "list"), 0, "user list")
        check(re.search(r"\broot\s+admin\b", out) and re.search(r"\bbob\s+viewer\b", out),
              f"user list: {out}")
        expect(cli(d, "user", "role", "bob", "operator"), 0, "user role",
               out=r'"bob" is now operator')
        expect(cli(d, "user", "passwd", "bob", stdin="another password\n"), 0, "user passwd")
        expect(cli(d, "user", "remove", "bob"), 0, "user remove", out=r'removed user "bob"')
        out = expect(cli(d, "user", "list"), 0, "user list")
        check("bob" not in out, f"bob still listed: {out}")
        actions = [(u, a, t) for u, a, t in audit_rows(d)]
        check(actions == [("cli", "user.add", "root"), ("cli", "user.add", "bob"),
                          ("cli", "user.update", "bob"), ("cli", "user.password", "bob"),
                          ("cli", "user.delete", "bob")], f"audit log: {actions}")
        blob = data_files(d)
        check(PASSWORD.encode() not in blob and b"another password" not in blob,
              "a plaintext password is in the data directory")


def test_user_bad_input_exit_codes_and_messages():
    with TempDir() as d:
        expect(cli(d, "user", "add", "root", "--role", "admin", stdin=PASSWORD + "\n"), 0, "add")
        expect(cli(d, "user", "add", "x", "--role", "admin", stdin="short\n"), 1,
               "short password", err=r"8 to 1024")
        expect(cli(d, "user", "add", "x", "--role", "admin", stdin="y" * 1025 + "\n"), 1,
               "long password", err=r"longer than 1024|8 to 1024")
        expect(cli(d, "user", "add", "x", "--role", "admin", stdin=""), 1, "no password",
               err=r"no password on stdin")
        expect(cli(d, "user", "add", "root", "--role", "viewer", stdin=PASSWORD + "\n"), 1,
               "duplicate", err=r'"root" already exists')
        expect(cli(d, "user", "add", "a b", "--role", "viewer", stdin=PASSWORD + "\n"), 1,
               "bad name", err=r"user name.*not allowed")
        expect(cli(d, "user", "add", "n" * 64, "--role", "viewer", stdin=PASSWORD + "\n"), 1,
               "long name", err=r"longer than 63")
        expect(cli(d, "user", "add", "x", stdin=PASSWORD + "\n"), 2, "no role", err=r"--role")
        expect(cli(d, "user", "add", "x", "--role", "boss", stdin=PASSWORD + "\n"), 2,
               "unknown role", err=r'unknown role "boss"')
        expect(cli(d, "user", "list", "--role", "admin"), 2, "option of another verb",
               err=r"--role does not apply")
        expect(cli(d, "user", "frobnicate"), 2, "unknown verb", err=r'unknown verb "frobnicate"')
        expect(cli(d, "user"), 2, "no verb", err=r"usage: vigil user")
        expect(cli(d, "user", "remove"), 2, "missing operand", err=r"missing operand")
        expect(cli(d, "user", "role", "root", "boss"), 2, "bad role", err=r'unknown role "boss"')
        expect(cli(d, "user", "remove", "ghost"), 1, "remove unknown", err=r'no user "ghost"')
        expect(cli(d, "user", "passwd", "ghost", stdin=PASSWORD + "\n"), 1, "passwd unknown",
               err=r'no user "ghost"')
        expect(cli(d, "user", "remove", "root"), 1, "last admin", err=r"last admin")
        expect(cli(d, "user", "role", "root", "viewer"), 1, "demote last admin",
               err=r"last admin")
        rc, so, _ = cli(d, "user", "--help")
        check(rc == 0 and "add NAME --role ROLE" in so, f"user --help: {rc} {so}")
        r = subprocess.run([BINARY, "user", "list", "--store", "postgres://x/y", "--data-dir", d],
                           capture_output=True, timeout=60 * MULT)
        check(r.returncode == 1 and b"postgres" in r.stderr, f"unsupported store: {r}")


def test_tokens_printed_once_never_listed():
    with TempDir() as d:
        expect(cli(d, "user", "add", "root", "--role", "admin", stdin=PASSWORD + "\n"), 0, "add")
        out = expect(cli(d, "token", "create", "root"), 0, "token create")
        lines = out.strip().splitlines()
        token = lines[-1]
        check(TOKEN_RE.match(token), f"last line is not a token: {lines!r}")
        check(re.search(r"scope read, expires never", out), f"create says: {out}")
        out2 = expect(cli(d, "token", "create", "root", "--scope", "write", "--expires", "30",
                          "--label", "backup script"), 0, "token create write")
        token2 = out2.strip().splitlines()[-1]
        check(TOKEN_RE.match(token2) and token2 != token, f"second token: {out2!r}")
        listed = expect(cli(d, "token", "list"), 0, "token list")
        listed_root = expect(cli(d, "token", "list", "root"), 0, "token list root")
        for t in (token, token2):
            for text in (listed, listed_root):
                check(t not in text and t[4:] not in text and t[8:24] not in text,
                      f"token list shows a token: {text}")
            check(t[:8] in listed, f"token list lacks the prefix {t[:8]}: {listed}")
        check(re.search(r"\bwrite\b.*backup script", listed), f"token list: {listed}")
        check(len(listed.strip().splitlines()) == 3, f"token list: {listed}")
        ids = [int(l.split()[0]) for l in listed.strip().splitlines()[1:]]
        expect(cli(d, "token", "revoke", str(ids[0])), 0, "revoke", out=rf"revoked token {ids[0]}")
        expect(cli(d, "token", "revoke", str(ids[0])), 1, "revoke again", err=r"no token")
        listed = expect(cli(d, "token", "list"), 0, "token list")
        check(len(listed.strip().splitlines()) == 2, f"after revoke: {listed}")
        # bad input
        expect(cli(d, "token", "create", "ghost"), 1, "unknown user", err=r'no user "ghost"')
        expect(cli(d, "token", "create", "root", "--scope", "admin"), 2, "bad scope",
               err=r'unknown scope "admin"')
        for bad in ("0", "abc", "-3", "3651", "1.5"):
            expect(cli(d, "token", "create", "root", "--expires", bad), 2, f"--expires {bad}",
                   err=r"number of days")
        expect(cli(d, "token", "create", "root", "--label", "tab\there"), 1, "bad label",
               err=r"label")
        expect(cli(d, "token", "revoke", "abc"), 2, "revoke abc", err=r"not a token id")
        expect(cli(d, "token", "list", "ghost"), 1, "list unknown user", err=r'no user "ghost"')
        expect(cli(d, "token", "list", "--scope", "read"), 2, "option of another verb",
               err=r"--scope does not apply")
        expect(cli(d, "token", "create"), 2, "missing operand", err=r"missing operand")
        blob = data_files(d)
        check(token.encode() not in blob and token[4:].encode() not in blob
              and token2[4:].encode() not in blob, "a token is in the data directory")
        actions = [a for _, a, _ in audit_rows(d)]
        check(actions == ["user.add", "token.create", "token.create", "token.revoke"],
              f"audit log: {actions}")


def test_while_vigil_run_writes_the_same_warehouse():
    config = ("infer: { model: motion }\n"
              "cameras:\n  - { id: pattern, url: testsrc, fps: 10 }\n")
    with Vigil([], config=config) as v:
        v.wait_for("frames in the warehouse",
                   lambda: v.json("/api/v1/stats")["stages"].get("preprocess", {}).get("out", 0)
                   > 5, timeout=60)
        args = v.cfg_args
        tokens = []
        for i in range(5):
            expect(cli(v.data_dir, "user", "add", f"op{i}", "--role", "operator", *args,
                       stdin=PASSWORD + "\n"), 0, f"user add op{i} while running")
            out = expect(cli(v.data_dir, "token", "create", f"op{i}", "--scope", "write", *args),
                         0, f"token create op{i} while running")
            tokens.append(out.strip().splitlines()[-1])
        for t in tokens:
            st, _, body = v.get("/api/v1/cameras", token=t)
            check(st == 200, f"GET /api/v1/cameras with a new token: {st} {body[:200]!r}")
        out = expect(cli(v.data_dir, "token", "list", "op0", *args), 0, "token list")
        tid = out.strip().splitlines()[1].split()[0]
        expect(cli(v.data_dir, "token", "revoke", tid, *args), 0, "token revoke while running")
        st, _, _ = v.get("/api/v1/cameras", token=tokens[0])
        check(st == 401, f"a revoked token still works: {st}")
        expect(cli(v.data_dir, "user", "remove", "op1", *args), 0, "user remove while running")
        st, _, _ = v.get("/api/v1/cameras", token=tokens[1])
        check(st == 401, f"a removed user's token still works: {st}")
        st, _, _ = v.get("/api/v1/cameras", token=tokens[2])
        check(st == 200, f"another user's token stopped working: {st}")
        check(v.stop() == 0, "exit code after SIGTERM")
        log = v.log_text()
        for t in tokens:
            check(t not in log and t[4:] not in log, "a token is in the log")
        check(PASSWORD not in log, "a password is in the log")


if __name__ == "__main__":
    run_tests([test_users_on_a_fresh_data_dir, test_user_bad_input_exit_codes_and_messages,
               test_tokens_printed_once_never_listed,
               test_while_vigil_run_writes_the_same_warehouse])
