#!/usr/bin/env python3
"""Accounts on the PostgreSQL and MongoDB warehouses, end to end
(docs/security.md, "Accounts"; docs/warehouse.md): what API replicas behind
nginx rely on.

    test_accounts_backends.py postgres|mongo

ctest runs it once per backend, as e2e_test_accounts_postgres (a throwaway
PostgreSQL: scripts/postgres, port 19260) and e2e_test_accounts_mongo (a
throwaway FerretDB: scripts/ferretdb, port 27262). Two `vigil api` processes
on that warehouse, as two replicas:
- `vigil user add` and `vigil token create --store URL` write the users and
  tokens there; the password is stored as an Argon2id hash only (read back
  with psql on PostgreSQL, looked for in FerretDB's data files on MongoDB);
- a session signed in on replica A (cookie) is valid on replica B, its CSRF
  token too; a logout on B ends it on A;
- a bearer token works on both, its scope holds, and once revoked with
  `vigil token revoke` neither accepts it (on a read route: /api/v1/cameras);
- five failed sign-ins on A lock the account on B (the lockout lives in the
  warehouse);
- the audit log read on either replica holds what both did.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigil_harness import BINARY, MULT, Failure, check, run_tests  # noqa: E402

SRC = os.environ.get("VIGIL_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PASSWORD = "Canary-Password-7301"
PG_PORT = "19260"
MG_PORT = "27262"
MG_DIR = "/tmp/vigil-ferret-e2e-" + MG_PORT
# what differs between the warehouses; the rest of the test is one
BACKENDS = {
    "postgres": {
        "script": "postgres", "scheme": "postgres://", "tmp_prefix": "vigil-acct-pg-",
        "env": dict(os.environ, VIGIL_PG_PORT=PG_PORT, VIGIL_PG_FAST="1"),
        "read_route": "/api/v1/cameras",
    },
    "mongo": {
        "script": "ferretdb", "scheme": "mongodb://", "tmp_prefix": "vigil-acct-mg-",
        "env": dict(os.environ, VIGIL_FERRET_PORT=MG_PORT, VIGIL_FERRET_DIR=MG_DIR),
        "read_route": "/api/v1/cameras",
    },
}
BE = None  # the chosen entry of BACKENDS (main)


def server(verb, *args):
    """scripts/postgres or scripts/ferretdb VERB on the test's own port."""
    script = BE["script"]
    r = subprocess.run([os.path.join(SRC, "scripts", script), verb, *args], env=BE["env"],
                       capture_output=True, timeout=300 * MULT)
    if r.returncode != 0:
        raise Failure(f"scripts/{script} {verb}: exit {r.returncode}: {r.stderr.decode()[-800:]}")
    return r.stdout.decode()


def stored_secrets():
    """The warehouse's stored password/token/session hashes as text, checked
    to hold the users' Argon2id hashes."""
    if BE["script"] == "postgres":
        dump = subprocess.run([os.path.join(SRC, "scripts", "postgres"), "psql", "-d", "vigil",
                               "-At", "-c", "SELECT password_hash FROM users UNION ALL "
                               "SELECT token_hash FROM api_tokens UNION ALL "
                               "SELECT sid_hash FROM sessions"],
                              env=BE["env"], capture_output=True, timeout=60 * MULT)
        rows = dump.stdout.decode()
        check(dump.returncode == 0 and rows.count("$argon2id$") == 2,
              f"stored password hashes: {dump.returncode} {rows!r} {dump.stderr!r}")
        return rows
    rows = b""
    for root, _, files in os.walk(os.path.join(MG_DIR, "data")):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                rows += fh.read()
    check(b"$argon2id$" in rows, "no Argon2id hash in FerretDB's files")
    return rows.decode("latin-1")


def cli(store, data_dir, *args, stdin=None):
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_STORE_URL"}
    r = subprocess.run([BINARY, *args, "--store", store, "--data-dir", data_dir],
                       input=stdin.encode() if stdin else None, capture_output=True, env=env,
                       timeout=60 * MULT)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


class Api:
    """A `vigil api` process on the store."""

    def __init__(self, store, tmp, name):
        self.log_path = os.path.join(tmp, name + ".log")
        self.log = open(self.log_path, "w+")
        env = {k: v for k, v in os.environ.items() if k != "VIGIL_STORE_URL"}
        self.proc = subprocess.Popen([BINARY, "api", "--store", store, "--http", "127.0.0.1:0",
                                      "--data-dir", os.path.join(tmp, name)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 30 * MULT
        self.port = None
        while time.time() < deadline and not self.port:
            m = re.search(r"api listening on http://[^ ]+ \(port (\d+)\)", self.text())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                raise Failure(f"vigil api exited with {self.proc.returncode}:\n{self.text()[-2000:]}")
            else:
                time.sleep(0.1)
        check(self.port, f"vigil api did not listen:\n{self.text()[-2000:]}")

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def call(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                     method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=10 * MULT) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30 * MULT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def login(api, name, password):
    st, h, body = api.call("POST", "/api/v1/auth/login", {"name": name, "password": password})
    m = re.match(r"vigil_session=([^;]*)", h.get("Set-Cookie", ""))
    return st, (m.group(1) if m else None), (json.loads(body) if body else {})


def test_sessions_tokens_and_lockout_are_shared_by_two_api_processes():
    tmp = tempfile.mkdtemp(prefix=BE["tmp_prefix"])
    apis = []
    server("stop")  # a fresh cluster: nothing of an earlier run
    try:
        store = server("start").strip().splitlines()[-1]
        check(store.startswith(BE["scheme"]), f"scripts/{BE['script']} start printed {store!r}")
        data = os.path.join(tmp, "cli")
        rc, so, se = cli(store, data, "user", "add", "root", "--role", "admin",
                         stdin=PASSWORD + "\n")
        check(rc == 0 and "added user" in so, f"user add root: {rc} {so!r} {se!r}")
        rc, so, se = cli(store, data, "user", "add", "vic", "--role", "viewer",
                         stdin=PASSWORD + "\n")
        check(rc == 0, f"user add vic: {rc} {se!r}")
        rc, so, se = cli(store, data, "user", "add", "root", "--role", "admin",
                         stdin=PASSWORD + "\n")
        check(rc == 1 and "already exists" in so + se, f"user add twice: {rc} {so!r} {se!r}")
        rc, so, se = cli(store, data, "token", "create", "vic", "--scope", "read",
                         "--label", "viewer bot")
        check(rc == 0, f"token create: {rc} {se!r}")
        tok = so.strip().splitlines()[-1]
        check(tok.startswith("vgl_"), f"token create printed {tok!r}")
        rc, so, se = cli(store, data, "user", "list")
        check(rc == 0 and "root" in so and "vic" in so, f"user list: {rc} {so!r} {se!r}")

        a, b = Api(store, tmp, "a"), Api(store, tmp, "b")
        apis += [a, b]
        # a session made on A is valid on B, with the same CSRF token
        st, sid, me = login(a, "root", PASSWORD)
        check(st == 200 and sid and me.get("csrf_token"), f"login on A: {st} {me!r}")
        ck = {"Cookie": "vigil_session=" + sid}
        st, _, body = b.call("GET", "/api/v1/auth/me", headers=ck)
        check(st == 200 and json.loads(body)["user"] == "root"
              and json.loads(body)["csrf_token"] == me["csrf_token"], f"me on B: {st} {body!r}")
        # a cookie write on B with A's CSRF token
        st, _, body = b.call("POST", "/api/v1/tokens", {"label": "made on b"},
                             headers={**ck, "X-CSRF-Token": me["csrf_token"]})
        check(st == 201, f"token create on B with the cookie: {st} {body!r}")
        made = json.loads(body)["token"]
        st, _, body = a.call("GET", "/api/v1/auth/me", headers={"Authorization": "Bearer " + made})
        check(st == 200, f"a token made on B, used on A: {st} {body!r}")
        # the viewer's read token: both replicas, its scope holds
        for api in (a, b):
            st, _, body = api.call("GET", BE["read_route"],
                                   headers={"Authorization": "Bearer " + tok})
            check(st == 200, f"read token GET: {st} {body[:200]!r}")
        st, _, body = b.call("POST", "/api/v1/tokens", {"label": "no"},
                             headers={"Authorization": "Bearer " + tok})
        check(st == 403, f"read token write: {st} {body!r}")
        # the user list (admin) is the same on both
        for api in (a, b):
            st, _, body = api.call("GET", "/api/v1/users", headers=ck)
            names = sorted(u["name"] for u in json.loads(body)["items"])
            check(st == 200 and names == ["root", "vic"], f"users: {st} {body!r}")
        # logout on B ends the session on A
        st, _, body = b.call("POST", "/api/v1/auth/logout",
                             headers={**ck, "X-CSRF-Token": me["csrf_token"]})
        check(st == 200, f"logout on B: {st} {body!r}")
        st, _, body = a.call("GET", "/api/v1/auth/me", headers=ck)
        check(st == 401, f"the session on A after logout on B: {st} {body!r}")
        # revoked from the command line: neither replica takes it
        rc, so, se = cli(store, data, "token", "list", "vic")
        check(rc == 0 and tok not in so, f"token list: {rc} {so!r} {se!r}")
        tid = re.search(r"^\s*(\d+)\s", so, re.M)
        check(tid, f"token list has an id: {so!r}")
        rc, so, se = cli(store, data, "token", "revoke", tid.group(1))
        check(rc == 0, f"token revoke: {rc} {so!r} {se!r}")
        for api in (a, b):
            st, _, _ = api.call("GET", BE["read_route"], headers={"Authorization": "Bearer " + tok})
            check(st == 401, f"a revoked token: {st}")
        # five failures on A lock the account on B
        for i in range(5):
            st, sid2, _ = login(a, "vic", "wrong-password-%d" % i)
            check(st == 401 and not sid2, f"wrong password {i} on A: {st}")
        st, h, body = b.call("POST", "/api/v1/auth/login", {"name": "vic", "password": PASSWORD})
        check(st == 429 and int(h.get("Retry-After", "0")) > 0,
              f"the right password on B for an account locked on A: {st} {body!r}")
        # the audit log has what both replicas and the CLI did
        st, sid3, me3 = login(b, "root", PASSWORD)
        check(st == 200, f"login on B: {st}")
        st, _, body = a.call("GET", "/api/v1/audit?limit=100",
                             headers={"Cookie": "vigil_session=" + sid3})
        actions = [(x["user"], x["action"]) for x in json.loads(body)["items"]]
        for want in [("root", "auth.login"), ("root", "token.create"), ("root", "auth.logout")]:
            check(want in actions, f"audit has {want}: {actions}")
        # secrets: hashes only in the warehouse, nothing in the logs
        rows = stored_secrets()
        for secret in (PASSWORD, tok, made, sid):
            check(secret not in rows, "a secret is stored in clear")
            for api in (a, b):
                check(secret not in api.text(), "a secret reached an API log")
        pw = store.split(":")[2].split("@")[0]
        for api in (a, b):
            check(pw not in api.text(), "the warehouse password reached an API log")
    finally:
        for api in apis:
            api.stop()
        try:
            server("stop")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def mongo_usable():
    """Why the test cannot run here ("" when it can): a binary without the
    mongo store, or no FerretDB (scripts/ferretdb builds it once with Go)."""
    r = subprocess.run([BINARY, "user", "list", "--store", "mongodb://127.0.0.1:1/x"],
                       capture_output=True, timeout=60 * MULT)
    if b"not built into this binary" in r.stdout + r.stderr:
        return "the mongo store is not built into this binary"
    r = subprocess.run([os.path.join(SRC, "scripts", "ferretdb"), "build"],
                       env=BACKENDS["mongo"]["env"],
                       capture_output=True, timeout=600 * MULT)
    if r.returncode != 0:
        return "scripts/ferretdb build failed: " + r.stderr.decode()[-300:]
    return ""


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in BACKENDS:
        print("usage: test_accounts_backends.py " + "|".join(BACKENDS), file=sys.stderr)
        sys.exit(2)
    BE = BACKENDS[sys.argv[1]]
    if sys.argv[1] == "mongo":
        why = mongo_usable()
        if why:
            print("SKIP: " + why)
            sys.exit(77)
    run_tests([test_sessions_tokens_and_lockout_are_shared_by_two_api_processes])
