"""Accounts end to end on a real `vigil run`: first-run setup with the token
from the log, password sign-in with a session cookie, CSRF on cookie writes,
logout, brute force -> lockout, bearer tokens by scope and role, revoked and
expired tokens, the audit log, and that no password or token reaches the log.
(docs/security.md)"""
import http.client
import json
import os
import re
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from vigil_harness import (BINARY, MULT, Failure, Vigil, admin_token, check,  # noqa: E402
                           run_tests)

PASSWORD = "correct horse battery"


def call(v, method, path, body=None, headers=None, token=""):
    """A request without the harness's admin token unless given."""
    return v.request(method, path, body=body, headers=headers, token=token)


def cookie_of(headers):
    sc = headers.get("Set-Cookie", "")
    m = re.match(r"vigil_session=([^;]*)", sc)
    return (m.group(1) if m else None), sc


def login(v, name, password):
    st, h, body = call(v, "POST", "/api/v1/auth/login", {"name": name, "password": password})
    sid, _ = cookie_of(h)
    return st, sid, (json.loads(body) if body else {})


def cli(v, *args, stdin=None):
    return subprocess.run([BINARY, *args, "--data-dir", v.data_dir], input=stdin,
                          capture_output=True, timeout=60 * MULT)


def test_first_start_setup_token():
    with Vigil([], auth=False) as v:
        st, _, body = call(v, "GET", "/api/v1/cameras")
        check(st == 401, f"anonymous GET /api/v1/cameras: {st} {body[:200]!r}")
        st, _, body = call(v, "GET", "/api/v1/auth/setup")
        check(st == 200 and json.loads(body)["needed"] is True, f"setup state: {st} {body!r}")
        m = v.wait_for("the setup token in the log",
                       lambda: re.search(r"setup token ([A-Za-z0-9_-]{20,})", v.log_text()), 30)
        token = m.group(1)
        st, _, body = call(v, "POST", "/api/v1/auth/setup",
                           {"token": "x" + token, "name": "root", "password": PASSWORD})
        check(st == 403, f"setup with a wrong token: {st} {body!r}")
        st, h, body = call(v, "POST", "/api/v1/auth/setup",
                           {"token": token, "name": "root", "password": PASSWORD})
        check(st == 200, f"setup: {st} {body!r}")
        sid, sc = cookie_of(h)
        check(sid and "HttpOnly" in sc and "Secure" in sc and "SameSite=Strict" in sc,
              f"session cookie attributes: {sc!r}")
        check(json.loads(body)["role"] == "admin", f"setup made an admin: {body!r}")
        st, _, body = call(v, "POST", "/api/v1/auth/setup",
                           {"token": token, "name": "root2", "password": PASSWORD})
        check(st in (403, 409), f"setup token reused: {st} {body!r}")
        st, _, body = call(v, "GET", "/api/v1/cameras",
                           headers={"Cookie": "vigil_session=" + sid})
        check(st == 200, f"GET with the setup session: {st} {body[:200]!r}")
        # the public setup state says whether the caller is signed in (the
        # dashboard asks /auth/me only then): yes with the cookie, no without
        # or with a made-up one
        for cookie, want in ((sid, True), (None, False), ("x" * 43, False)):
            st, _, body = call(v, "GET", "/api/v1/auth/setup",
                               headers={"Cookie": "vigil_session=" + cookie} if cookie else None)
            state = json.loads(body)
            check(st == 200 and state["signed_in"] is want and state["needed"] is False,
                  f"setup state with cookie {bool(cookie)}: {st} {body!r}")


def test_session_csrf_logout_and_audit():
    with Vigil([]) as v:
        r = cli(v, "user", "add", "olga", "--role", "operator", stdin=(PASSWORD + "\n").encode())
        check(r.returncode == 0, f"user add: {r.stderr!r}")
        st, sid, me = login(v, "olga", PASSWORD)
        check(st == 200 and sid and me.get("csrf_token"), f"login: {st} {me!r}")
        ck = {"Cookie": "vigil_session=" + sid}
        st, _, body = call(v, "GET", "/api/v1/auth/me", headers=ck)
        me2 = json.loads(body)
        check(st == 200 and me2["user"] == "olga" and me2["role"] == "operator"
              and me2["csrf_token"] == me["csrf_token"], f"me: {st} {body!r}")
        # a cookie write without the CSRF token is refused
        st, _, body = call(v, "POST", "/api/v1/tokens", {"label": "x"}, headers=ck)
        check(st == 403 and b"CSRF" in body, f"write without CSRF: {st} {body!r}")
        st, _, body = call(v, "POST", "/api/v1/tokens", {"label": "x"},
                           headers={**ck, "X-CSRF-Token": "wrong" + me["csrf_token"]})
        check(st == 403, f"write with a wrong CSRF token: {st} {body!r}")
        st, _, body = call(v, "POST", "/api/v1/tokens", {"label": "x"},
                           headers={**ck, "X-CSRF-Token": me["csrf_token"],
                                    "Origin": "https://evil.example"})
        check(st == 403 and b"origin" in body, f"write from a foreign origin: {st} {body!r}")
        st, _, body = call(v, "POST", "/api/v1/tokens", {"label": "cli"},
                           headers={**ck, "X-CSRF-Token": me["csrf_token"]})
        check(st == 201 and json.loads(body)["token"].startswith("vgl_"),
              f"write with CSRF: {st} {body!r}")
        made = json.loads(body)["token"]
        # the session list marks this session
        st, _, body = call(v, "GET", "/api/v1/auth/sessions", headers=ck)
        items = json.loads(body)["items"]
        check(st == 200 and any(s["current"] for s in items), f"sessions: {st} {body!r}")
        # an operator may not manage users
        st, _, body = call(v, "GET", "/api/v1/users", headers=ck)
        check(st == 403, f"operator GET /api/v1/users: {st} {body!r}")
        st, _, body = call(v, "POST", "/api/v1/auth/logout", headers={**ck, "X-CSRF-Token": me["csrf_token"]})
        check(st == 200, f"logout: {st} {body!r}")
        st, _, body = call(v, "GET", "/api/v1/auth/me", headers=ck)
        check(st == 401, f"after logout: {st} {body!r}")
        # the audit log saw it all; an admin reads it
        audit = v.json("/api/v1/audit?limit=50")["items"]
        actions = [(a["user"], a["action"]) for a in audit]
        for want in [("olga", "auth.login"), ("olga", "token.create"), ("olga", "auth.logout")]:
            check(want in actions, f"audit has {want}: {actions}")
        log = v.log_text()
        check(PASSWORD not in log and made not in log and sid not in log,
              "a password, token or session id reached the log")
        check(PASSWORD.encode() not in open(os.path.join(v.data_dir, "vigil.db"), "rb").read(),
              "the password is stored in clear")


def test_brute_force_locks_the_account():
    with Vigil([]) as v:
        r = cli(v, "user", "add", "vic", "--role", "viewer", stdin=(PASSWORD + "\n").encode())
        check(r.returncode == 0, f"user add: {r.stderr!r}")
        for i in range(5):
            st, sid, _ = login(v, "vic", "wrong-password-%d" % i)
            check(st == 401 and not sid, f"wrong password {i}: {st}")
        st, h, body = call(v, "POST", "/api/v1/auth/login", {"name": "vic", "password": PASSWORD})
        check(st == 429 and int(h.get("Retry-After", "0")) > 0,
              f"the right password on a locked account: {st} {h.get('Retry-After')} {body!r}")
        st, _, body = call(v, "POST", "/api/v1/auth/login", {"name": "nobody", "password": PASSWORD})
        check(st == 401 and b"invalid name or password" in body, f"unknown user: {st} {body!r}")
        # malformed bodies
        for bad in [b"{", b'{"name":"vic","password":"x"} trailing', b'{"name":"vic","name":"v"}',
                    b'{"name":"\xff\xfe","password":"12345678"}', b"[" * 5000 + b"]" * 5000,
                    b'{"name":"vic","password":"12345678","extra":1}']:
            st, _, body = call(v, "POST", "/api/v1/auth/login", bad,
                               headers={"Content-Type": "application/json"})
            check(st == 400, f"malformed login body {bad[:30]!r}: {st} {body[:200]!r}")
        st, _, body = call(v, "POST", "/api/v1/auth/login", b'{"name":"vic"}',
                           headers={"Content-Type": "text/plain"})
        check(st == 415, f"login body not JSON: {st} {body!r}")


def test_tokens_scopes_roles_revoked_expired():
    with Vigil([]) as v:
        for name, role in [("view", "viewer"), ("oper", "operator")]:
            r = cli(v, "user", "add", name, "--role", role, stdin=(PASSWORD + "\n").encode())
            check(r.returncode == 0, f"user add {name}: {r.stderr!r}")
        tok = {}
        for name, scope in [("view", "write"), ("oper", "write"), ("oper", "read")]:
            r = cli(v, "token", "create", name, "--scope", scope)
            check(r.returncode == 0, f"token create {name}: {r.stderr!r}")
            tok[(name, scope)] = r.stdout.decode().strip().splitlines()[-1]
        vw, ow, orr = tok[("view", "write")], tok[("oper", "write")], tok[("oper", "read")]
        cases = [  # (token, method, path, body, status)
            ("", "GET", "/api/v1/detections", None, 401),
            ("vgl_" + "A" * 43, "GET", "/api/v1/detections", None, 401),
            (vw, "GET", "/api/v1/detections", None, 200),
            (vw, "GET", "/metrics", None, 200),
            (vw, "GET", "/api/v1/users", None, 403),
            (ow, "GET", "/api/v1/users", None, 403),
            (v.token, "GET", "/api/v1/users", None, 200),
            (vw, "POST", "/api/v1/users", {"name": "x", "role": "viewer", "password": PASSWORD}, 403),
            (v.token, "POST", "/api/v1/users", {"name": "newbie", "role": "viewer",
                                                "password": PASSWORD}, 201),
            (orr, "POST", "/api/v1/tokens", {"label": "y"}, 403),
            (ow, "POST", "/api/v1/tokens", {"label": "y"}, 201),
            ("", "GET", "/healthz", None, 200),
            ("", "GET", "/api/v1/auth/setup", None, 200),
        ]
        for t, method, path, body, want in cases:
            st, _, rb = call(v, method, path, body, token=t)
            check(st == want, f"{method} {path} with {t[:8] or 'no token'}: {st}, want {want}: {rb[:200]!r}")
        # revoke the viewer's token: 401 from then on
        st, _, body = call(v, "GET", "/api/v1/tokens?all=true", token=v.token)
        ids = [t["id"] for t in json.loads(body)["items"] if t["user"] == "view"]
        check(st == 200 and ids and all("token" not in t for t in json.loads(body)["items"]),
              f"token list: {st} {body!r}")
        st, _, body = call(v, "DELETE", "/api/v1/tokens/%d" % ids[0], token=v.token)
        check(st == 200, f"revoke: {st} {body!r}")
        st, _, _ = call(v, "GET", "/api/v1/detections", token=vw)
        check(st == 401, f"a revoked token: {st}")
        # an expired token: move its expiry into the past in the warehouse
        db = sqlite3.connect(os.path.join(v.data_dir, "vigil.db"), timeout=10)
        cols = [c[1] for c in db.execute("PRAGMA table_info(api_tokens)")]
        col = next(c for c in cols if c.startswith("expires"))
        db.execute(f"UPDATE api_tokens SET {col} = 1000000")
        db.commit()
        db.close()
        st, _, _ = call(v, "GET", "/api/v1/detections", token=orr)
        check(st == 401, f"an expired token: {st}")


def test_auth_disabled_only_on_loopback():
    cfg = "http:\n  listen: 0.0.0.0:0\nauth:\n  enabled: false\n"
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "vigil-auth-off-%d.yaml" % os.getpid())
    with open(path, "w") as f:
        f.write(cfg)
    try:
        r = subprocess.run([BINARY, "run", "--config", path, "--data-dir", path + ".d"],
                           capture_output=True, timeout=60 * MULT)
    finally:
        os.unlink(path)
    check(r.returncode != 0 and b"loopback" in r.stderr + r.stdout,
          f"auth.enabled false on 0.0.0.0: exit {r.returncode}: {(r.stderr + r.stdout)[-400:]!r}")


if __name__ == "__main__":
    run_tests([test_first_start_setup_token, test_session_csrf_logout_and_audit,
               test_brute_force_locks_the_account, test_tokens_scopes_roles_revoked_expired,
               test_auth_disabled_only_on_loopback])
