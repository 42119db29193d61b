"""Passkeys end to end in a real browser: headless Chromium with its virtual
authenticator (tests/browser/passkeys.mjs, playwright-core) on a page of
vigil's origin signs in with a password, registers a passkey, signs out and
signs in with the passkey against a real `vigil run`; then the refusals: a
replayed assertion, an origin vigil does not allow, a bogus signature, a
sign-count regression and a removed passkey. py_webauthn (scripts/ref/setup.sh's
venv, tests/e2e/passkeys_pyref.py) verifies the same registration and
assertion the browser made and must find the credential, public key and sign
count vigil stored. (docs/security.md, "Passkeys")

Skips (77) only when Chromium, node/playwright-core or py_webauthn are not
installed (scripts/setup.sh test, scripts/ref/setup.sh)."""
import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
from vigil_harness import (BINARY, MULT, Failure, Vigil, check, run_tests,  # noqa: E402
                           skip)

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_DIR = os.path.join(HERE, "..", "browser")
CHROMIUM = os.environ.get("VIGIL_CHROMIUM", "/usr/bin/chromium")
CACHE = os.environ.get("VIGIL_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "vigil")
REF_PY = os.path.join(CACHE, "ref-venv", "bin", "python")
PASSWORD = "pat's long passphrase 1"
PAGE = "/passkey-test"


def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64u_encode(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def require_tools():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        skip(f"no Chromium at {CHROMIUM} (scripts/setup.sh test installs Debian's chromium)")
    if not shutil.which("node"):
        skip("no node (scripts/setup.sh test)")
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        skip("playwright-core is not installed in tests/browser (scripts/setup.sh test runs "
             "npm ci there)")
    r = subprocess.run([REF_PY, "-c", "import webauthn"], capture_output=True) \
        if os.path.exists(REF_PY) else None
    if r is None or r.returncode != 0:
        skip(f"py_webauthn is not installed in {os.path.dirname(os.path.dirname(REF_PY))} "
             "(run scripts/ref/setup.sh)")


class Browser:
    """tests/browser/passkeys.mjs as a child process: one JSON command per line."""

    def __init__(self):
        self.proc = subprocess.Popen(["node", os.path.join(BROWSER_DIR, "passkeys.mjs")],
                                     cwd=BROWSER_DIR, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr = []
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr),
                         daemon=True).start()

    def call(self, op, **args):
        self.proc.stdin.write(json.dumps(dict(op=op, **args)) + "\n")
        self.proc.stdin.flush()
        line = [None]
        t = threading.Thread(target=lambda: line.__setitem__(0, self.proc.stdout.readline()),
                             daemon=True)
        t.start()
        t.join(60 * MULT)
        if not line[0]:
            raise Failure(f"browser: no answer to {op} (node exit {self.proc.poll()}): "
                          + "".join(self.stderr)[-2000:])
        out = json.loads(line[0])
        check(out.pop("ok"), f"browser {op}: {out.get('error')}")
        return out

    def fetch(self, method, path, body=None, csrf=None):
        r = self.call("fetch", method=method, path=path, body=body, csrf=csrf)
        return r["status"], r["body"]

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"op":"quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=20 * MULT)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def add_user(v, name, role="viewer"):
    r = subprocess.run([BINARY, "user", "add", name, "--role", role, "--data-dir", v.data_dir]
                       + v.cfg_args, input=(PASSWORD + "\n").encode(), capture_output=True,
                       timeout=60 * MULT)
    check(r.returncode == 0, f"vigil user add {name}: {r.returncode} {r.stderr[-300:]!r}")


def stored_passkeys(v):
    db = sqlite3.connect(os.path.join(v.data_dir, "vigil.db"), timeout=10)
    try:
        return db.execute("SELECT id, cred_id, cose_key, sign_count, user_id FROM passkeys "
                          "ORDER BY id").fetchall()
    finally:
        db.close()


def pyref(kind, **args):
    """Runs tests/e2e/passkeys_pyref.py in the py_webauthn venv."""
    r = subprocess.run([REF_PY, os.path.join(HERE, "passkeys_pyref.py"), kind],
                       input=json.dumps(args).encode(), capture_output=True, timeout=60 * MULT)
    check(r.returncode == 0, f"py_webauthn {kind}: exit {r.returncode}: "
          f"{(r.stdout + r.stderr).decode()[-1500:]}")
    return json.loads(r.stdout)


def password_login(b, name=None):
    st, body = b.fetch("POST", "/api/v1/auth/login",
                       {"name": name or "pat", "password": PASSWORD})
    check(st == 200 and body.get("auth") == "session" and body.get("csrf_token"),
          f"password sign-in: {st} {body}")
    return body["csrf_token"]


def register(b, csrf, name="laptop"):
    """The registration ceremony: options, create(), register. Returns
    (options, credential JSON, reply)."""
    st, opts = b.fetch("POST", "/api/v1/auth/passkeys/register/options", csrf=csrf)
    check(st == 200 and "publicKey" in opts, f"register/options: {st} {opts}")
    pk = opts["publicKey"]
    made = b.call("create", publicKey=pk)
    check("credential" in made, f"navigator.credentials.create: {made.get('browserError')}")
    cred = made["credential"]
    st, body = b.fetch("POST", "/api/v1/auth/passkeys/register",
                       {"name": name, "credential": cred}, csrf=csrf)
    return pk, cred, st, body


def assertion(b):
    """login/options then navigator.credentials.get(): (options, credential JSON)."""
    st, opts = b.fetch("POST", "/api/v1/auth/passkeys/login/options")
    check(st == 200 and "publicKey" in opts, f"login/options: {st} {opts}")
    got = b.call("get", publicKey=opts["publicKey"])
    check("credential" in got, f"navigator.credentials.get: {got.get('browserError')}")
    return opts["publicKey"], got["credential"]


def passkey_login(b, cred):
    return b.fetch("POST", "/api/v1/auth/passkeys/login", {"credential": cred})


def refused(st, body, what, words):
    """A 4xx with an error that says why (each of words in it)."""
    msg = body.get("error", "") if isinstance(body, dict) else str(body)
    check(400 <= st < 500, f"{what}: status {st}, want a 4xx refusal: {body}")
    check(all(w in msg for w in words), f"{what}: error {msg!r} should mention {words}")
    print(f"  refused, {what}: {st} {msg}", flush=True)


def test_passkey_register_sign_in_and_refusals_in_chromium_match_py_webauthn():
    require_tools()
    with Vigil([]) as v, Browser() as b:
        add_user(v, "pat")
        origin = f"http://localhost:{v.port}"
        info = b.call("open", url=origin + PAGE)
        check(info["origin"] == origin and info["secure"],
              f"the test page is not a secure context on {origin}: {info}")
        print(f"  page {info['origin']} in {info['userAgent']}; "
              f"parse*OptionsFromJSON: {info['parseJSON']}", flush=True)

        # password, then a passkey registered from that session
        st, body = b.fetch("POST", "/api/v1/auth/passkeys/register/options")
        check(st == 401, f"register/options without a session: {st} {body}")
        csrf = password_login(b)
        st, body = b.fetch("POST", "/api/v1/auth/passkeys/register/options")
        refused(st, body, "register/options without X-CSRF-Token", ["CSRF"])
        reg_opts, reg_cred, st, body = register(b, csrf)
        check(st == 201 and body.get("name") == "laptop" and body.get("alg") == -7,
              f"passkey registration: {st} {body}")
        check(reg_opts["rp"]["id"] == "localhost"
              and reg_opts["authenticatorSelection"]["residentKey"] == "required"
              and reg_opts["authenticatorSelection"]["userVerification"] == "required",
              f"creation options: {reg_opts}")
        rows = stored_passkeys(v)
        check(len(rows) == 1, f"passkeys stored: {rows}")
        pk_id, cred_id, cose_key, reg_count, _ = rows[0]
        check(b64u_encode(cred_id) == reg_cred["rawId"],
              f"stored credential id {b64u_encode(cred_id)} != the browser's {reg_cred['rawId']}")

        # the same passkey again is excluded by the options (InvalidStateError)
        st, opts = b.fetch("POST", "/api/v1/auth/passkeys/register/options", csrf=csrf)
        check([c["id"] for c in opts["publicKey"]["excludeCredentials"]] == [reg_cred["rawId"]],
              f"excludeCredentials: {opts}")
        again = b.call("create", publicKey=opts["publicKey"])
        check("InvalidStateError" in again.get("browserError", ""),
              f"create() of an excluded credential: {again}")

        # py_webauthn: the same registration response, the same expectations
        ref = pyref("registration", credential=reg_cred, challenge=reg_opts["challenge"],
                    origin=origin, rp_id="localhost")
        check(ref["credential_id"] == b64u_encode(cred_id),
              f"py_webauthn credential id {ref['credential_id']} != vigil's")
        check(ref["credential_public_key"] == b64u_encode(cose_key),
              "py_webauthn's COSE public key differs from the one vigil stored")
        check(ref["sign_count"] == reg_count,
              f"sign count: py_webauthn {ref['sign_count']}, vigil stored {reg_count}")
        print(f"  registration: py_webauthn agrees (fmt {ref['fmt']}, credential id "
              f"{len(cred_id)} bytes, COSE key {len(cose_key)} bytes, sign count {reg_count})",
              flush=True)

        # sign out, then in with the passkey
        st, body = b.fetch("POST", "/api/v1/auth/logout", csrf=csrf)
        check(st == 200, f"logout: {st} {body}")
        st, body = b.fetch("GET", "/api/v1/auth/me")
        check(st == 401, f"/auth/me after logout: {st} {body}")
        login_opts, cred = assertion(b)
        check(login_opts.get("allowCredentials") in (None, [])
              and login_opts["rpId"] == "localhost", f"request options: {login_opts}")
        st, body = passkey_login(b, cred)
        check(st == 200 and body.get("user") == "pat" and body.get("csrf_token"),
              f"passkey sign-in: {st} {body}")
        csrf = body["csrf_token"]
        st, me = b.fetch("GET", "/api/v1/auth/me")
        check(st == 200 and me["user"] == "pat" and me["auth"] == "session"
              and me["role"] == "viewer", f"/auth/me after the passkey sign-in: {st} {me}")
        count_after = stored_passkeys(v)[0][3]
        ref = pyref("authentication", credential=cred, challenge=login_opts["challenge"],
                    origin=origin, rp_id="localhost", public_key=b64u_encode(cose_key),
                    sign_count=reg_count)
        check(ref["new_sign_count"] == count_after,
              f"sign count after sign-in: py_webauthn {ref['new_sign_count']}, "
              f"vigil stored {count_after}")
        print(f"  sign-in: py_webauthn agrees (sign count {reg_count} -> {count_after})",
              flush=True)
        check(count_after > reg_count,
              f"the virtual authenticator's counter did not move ({reg_count} -> "
              f"{count_after}): the regression case below would prove nothing")
        st, lst = b.fetch("GET", "/api/v1/auth/passkeys")
        check(st == 200 and len(lst["items"]) == 1 and lst["items"][0]["sign_count"] ==
              count_after and "cose_key" not in lst["items"][0], f"passkey list: {st} {lst}")

        # refusals
        st, body = passkey_login(b, cred)
        refused(st, body, "a replayed assertion", ["challenge"])

        _, cred2 = assertion(b)
        sig = bytearray(b64u_decode(cred2["response"]["signature"]))
        sig[len(sig) // 2] ^= 0x01
        bogus = json.loads(json.dumps(cred2))
        bogus["response"]["signature"] = b64u_encode(bytes(sig))
        st, body = passkey_login(b, bogus)
        refused(st, body, "a flipped signature byte", ["signature"])

        # the authenticator's counter goes back below what vigil stored
        b.call("set_sign_count", credentialId=base64.b64encode(cred_id).decode(), signCount=0)
        _, cred3 = assertion(b)
        counter = int.from_bytes(b64u_decode(cred3["response"]["authenticatorData"])[33:37],
                                 "big")
        check(counter <= count_after, f"the authenticator's counter is {counter}, vigil has "
              f"{count_after}: not a regression")
        st, body = passkey_login(b, cred3)
        refused(st, body, "a sign-count regression", ["sign count regression"])
        check(stored_passkeys(v)[0][3] == count_after, "a refused sign-in changed the counter")

        # removed: the browser still has the key, vigil no longer
        st, body = b.fetch("DELETE", f"/api/v1/auth/passkeys/{pk_id}", csrf=csrf)
        check(st == 200, f"remove the passkey: {st} {body}")
        b.call("set_sign_count", credentialId=base64.b64encode(cred_id).decode(),
               signCount=count_after + 100)
        _, cred4 = assertion(b)
        st, body = passkey_login(b, cred4)
        refused(st, body, "a removed passkey", ["not registered"])
        check(stored_passkeys(v) == [], "the passkey row is still there")
        check(v.stop() == 0, "exit code after SIGTERM")  # and no sanitizer report


def test_assertion_from_an_origin_vigil_does_not_allow_is_refused():
    """The same passkey after vigil is configured for another origin: the
    browser signs for http://localhost:PORT, vigil expects only the
    configured one. The page converts the JSON options by hand here (the
    path for a browser without PublicKeyCredential.parse*OptionsFromJSON)."""
    require_tools()
    with Vigil([]) as v, Browser() as b:
        add_user(v, "pat")
        origin = f"http://localhost:{v.port}"
        b.call("open", url=origin + PAGE, byHand=True)
        csrf = password_login(b)
        _, _, st, body = register(b, csrf)
        check(st == 201, f"passkey registration: {st} {body}")
        st, body = b.fetch("POST", "/api/v1/auth/logout", csrf=csrf)
        check(st == 200, f"logout: {st} {body}")
        data_dir = v.data_dir
        check(v.stop() == 0, "exit code after SIGTERM")
        with Vigil([], data_dir=data_dir,
                   config="auth:\n  origins: https://cams.example.com\n") as w:
            other = f"http://localhost:{w.port}"
            info = b.call("goto", url=other + PAGE, byHand=True)
            check(info["origin"] == other, f"page origin: {info}")
            _, cred = assertion(b)
            cdj = json.loads(b64u_decode(cred["response"]["clientDataJSON"]))
            check(cdj["origin"] == other, f"clientDataJSON origin: {cdj}")
            st, body = passkey_login(b, cred)
            refused(st, body, "an assertion from a disallowed origin", ["origin"])
            st, body = b.fetch("GET", "/api/v1/auth/me")
            check(st == 401, f"/auth/me after the refused sign-in: {st} {body}")
            check(w.stop() == 0, "exit code after SIGTERM")


if __name__ == "__main__":
    run_tests([test_passkey_register_sign_in_and_refusals_in_chromium_match_py_webauthn,
               test_assertion_from_an_origin_vigil_does_not_allow_is_refused])
