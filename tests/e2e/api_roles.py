"""Principals for API tests that go through every route (test_api_authz.py,
test_api_schemathesis.py): a user and a write-scope bearer token per role,
an admin token with read scope, an expired and a revoked admin token, and an
operator's session cookie with its CSRF token. Also the operations of the
OpenAPI document the running vigil serves.

Users and tokens are made with the CLI (`vigil user add`, `vigil token
create`) on the running vigil's warehouse, as an operator would; the expired
token's expiry is moved into the past in the warehouse (the CLI takes whole
days), the revoked one is revoked with `vigil token revoke`."""
import hashlib
import json
import os
import re
import sqlite3
import subprocess

from vigil_harness import BINARY, MULT, Failure, check

PASSWORD = "matrix-password-1"
METHODS = ("get", "post", "put", "patch", "delete")


def cli(v, *args, stdin=None):
    r = subprocess.run([BINARY, *args, "--data-dir", v.data_dir, *v.cfg_args], input=stdin,
                       capture_output=True, timeout=60 * MULT, env=v.env)
    if r.returncode != 0:
        raise Failure(f"vigil {' '.join(args)}: exit {r.returncode}: {r.stderr.decode()[-400:]}")
    return r.stdout.decode()


def make_user(v, name, role):
    cli(v, "user", "add", name, "--role", role, stdin=(PASSWORD + "\n").encode())


def make_token(v, name, scope="write"):
    return cli(v, "token", "create", name, "--scope", scope).strip().splitlines()[-1]


def principals(v):
    """{name: {"headers": {...}, "role": role or None, "kind": ...}} for the
    running vigil `v` (made by the harness with its admin token)."""
    out = {"anonymous": {"headers": {}, "role": None, "kind": "anonymous"}}
    for role in ("viewer", "operator", "admin"):
        make_user(v, "m-" + role, role)
        out[role] = {"headers": {"Authorization": "Bearer " + make_token(v, "m-" + role)},
                     "role": role, "kind": "token"}
    out["admin-read-scope"] = {
        "headers": {"Authorization": "Bearer " + make_token(v, "m-admin", "read")},
        "role": "admin", "kind": "read-token"}

    # expired: an admin's token whose expiry is in the past
    make_user(v, "m-expired", "admin")
    expired = make_token(v, "m-expired")
    db = sqlite3.connect(os.path.join(v.data_dir, "vigil.db"), timeout=10 * MULT)
    n = db.execute("UPDATE api_tokens SET expires_us = 1000000 WHERE token_hash = ?",
                   (hashlib.sha256(expired.encode()).hexdigest(),)).rowcount
    if n != 1:
        n = db.execute("UPDATE api_tokens SET expires_us = 1000000 WHERE user_id = "
                       "(SELECT id FROM users WHERE name = 'm-expired')").rowcount
    db.commit()
    db.close()
    check(n == 1, "could not expire the m-expired token in the warehouse")
    out["expired"] = {"headers": {"Authorization": "Bearer " + expired}, "role": None,
                      "kind": "expired"}

    # revoked: an admin's token, revoked with `vigil token revoke` while vigil runs
    make_user(v, "m-revoked", "admin")
    revoked = make_token(v, "m-revoked")
    st, _, body = v.request("GET", "/api/v1/tokens?all=true")
    check(st == 200, f"GET /api/v1/tokens?all=true: {st} {body[:200]!r}")
    ids = [t["id"] for t in json.loads(body)["items"] if t["user"] == "m-revoked"]
    check(len(ids) == 1, f"the m-revoked token in the list: {ids}")
    cli(v, "token", "revoke", str(ids[0]))
    out["revoked"] = {"headers": {"Authorization": "Bearer " + revoked}, "role": None,
                      "kind": "revoked"}

    # an operator's dashboard session: cookie + CSRF token, and the cookie alone
    make_user(v, "m-session", "operator")
    st, h, body = v.request("POST", "/api/v1/auth/login",
                            {"name": "m-session", "password": PASSWORD}, token="")
    m = re.match(r"vigil_session=([^;]+)", h.get("Set-Cookie", ""))
    check(st == 200 and m, f"login m-session: {st} {body[:200]!r}")
    csrf = json.loads(body)["csrf_token"]
    cookie = "vigil_session=" + m.group(1)
    out["session"] = {"headers": {"Cookie": cookie, "X-CSRF-Token": csrf}, "role": "operator",
                      "kind": "session"}
    out["session-no-csrf"] = {"headers": {"Cookie": cookie}, "role": "operator",
                              "kind": "session-no-csrf"}
    return out


def operations(v):
    """[(method, path, operation)] of the document vigil serves."""
    st, _, body = v.request("GET", "/api/v1/openapi.json", token="")
    check(st == 200, f"GET /api/v1/openapi.json: {st}")
    doc = json.loads(body)
    ops = []
    for path, item in doc["paths"].items():
        for m in METHODS:
            if m in item:
                ops.append((m.upper(), path, item[m]))
    check(ops, "the OpenAPI document has no operations")
    return doc, ops
