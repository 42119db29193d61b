"""End to end: vigil sends Web Push alerts itself (docs/push.md).

The test plays the browser and its push service: it makes a P-256 key pair
and an auth secret (PyPI `cryptography`), serves a push endpoint on
loopback (http.server; push.allow_http_loopback), and subscribes through the
API. vigil then sends a test alert (POST /api/v1/push/test) and an alert for
a real line_cross of the sample video matching the subscription's filters;
each body is decrypted by an independent implementation (PyPI `http-ece`,
aes128gcm) and each VAPID token checked (ES256 signature with the key of
GET /api/v1/push/vapid, aud = the endpoint's origin, exp within 24 h, sub).
429 and 500 are retried with growing waits; a 410 removes the subscription.
Neither the endpoint URL nor the keys appear in the API's replies or log.
Destinations (docs/push.md): endpoints on private, link-local and reserved
IP literals are refused at subscribe time, and a stored endpoint on a
loopback address is refused at connect time once loopback is not allowed.

The Python packages come from scripts/api-test/setup.sh (a venv under
~/.cache/vigil); the test re-runs itself with that venv's Python, and skips
(exit 77) only when they cannot be installed."""
import base64
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigil_harness import MULT, Vigil, check, media, metrics_values, run_tests, skip  # noqa: E402

ROOT = os.environ.get("VIGIL_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
CACHE = os.environ.get("VIGIL_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "vigil")
VENV = os.path.join(CACHE, "api-test-venv")


def use_venv():
    """Re-executes this script with the api-test venv's Python when the
    packages are not importable here."""
    try:
        import cryptography  # noqa: F401
        import http_ece  # noqa: F401
        return
    except ImportError:
        pass
    if os.environ.get("VIGIL_PUSH_REEXEC"):
        skip("http_ece or cryptography not importable in the api-test venv")
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "api-test", "setup.sh")],
                       capture_output=True, text=True, timeout=600)
    py = os.path.join(VENV, "bin", "python")
    if r.returncode != 0 or not os.path.exists(py):
        print("cannot install http-ece and cryptography with pip (scripts/api-test/setup.sh): "
              + (r.stderr or r.stdout)[-300:])
        sys.exit(77)
    env = dict(os.environ, VIGIL_PUSH_REEXEC="1")
    os.execve(py, [py, os.path.abspath(__file__)] + sys.argv[1:], env)


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


CONFIG = """
ingest:
  realtime: true
infer:
  model: motion
preprocess:
  motion_threshold: 0.003
analytics:
  enabled: true
  min_hits: 2
push:
  allow_http_loopback: true
  subject: "mailto:e2e@example.com"
  retries: 3
  retry_base_ms: 300
  retry_max_ms: 2000
cameras:
  - id: street
    url: "{video}"
    fps: 10
    loop: true
    lines:
      - id: middle
        points: [[0.5, 0.0], [0.5, 1.0]]
"""


class Browser:
    """The subscriber: its keys, and a push endpoint that decrypts what it
    receives and answers the status the test chose for it."""

    def __init__(self):
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives import serialization
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.p256dh = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        self.auth = os.urandom(16)
        self.lock = threading.Lock()
        self.received = []        # (time, path, headers, payload dict or None, status)
        self.test_statuses = []   # statuses for the next test alerts, in order
        browser = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                payload = browser.decrypt(body)
                with browser.lock:
                    status = 201
                    if payload and payload.get("kind") == "test" and browser.test_statuses:
                        status = browser.test_statuses.pop(0)
                    browser.received.append((time.time(), self.path, dict(self.headers),
                                             payload, status))
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def decrypt(self, body):
        import http_ece
        try:
            plain = http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth,
                                     version="aes128gcm")
            return json.loads(plain)
        except Exception as e:  # noqa: BLE001 (the check below reports it)
            return {"undecryptable": str(e)}

    def requests(self, pred=lambda r: True):
        with self.lock:
            return [r for r in self.received if pred(r)]

    def close(self):
        self.server.shutdown()


def check_vapid(headers, vapid_public, aud):
    """The Authorization header: vapid t=JWT, k=KEY; ES256 by KEY == the
    server's public key; aud, exp, sub as RFC 8292 wants."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    auth = headers.get("Authorization", "")
    check(auth.startswith("vapid t="), f"Authorization: {auth[:40]!r}")
    t_part, k_part = auth[len("vapid "):].split(", ")
    jwt = t_part[2:]
    k = k_part[2:]
    check(k == vapid_public, "k= is the key of GET /api/v1/push/vapid")
    head, claims, sig = jwt.split(".")
    check(json.loads(unb64u(head)) == {"typ": "JWT", "alg": "ES256"}, f"JWT header {head}")
    c = json.loads(unb64u(claims))
    check(c.get("aud") == aud, f"aud {c.get('aud')!r}, want {aud!r}")
    check(c.get("sub") == "mailto:e2e@example.com", f"sub {c.get('sub')!r}")
    now = time.time()
    check(now < c.get("exp", 0) <= now + 24 * 3600, f"exp {c.get('exp')} not within 24 h")
    raw = unb64u(sig)
    check(len(raw) == 64, f"signature of {len(raw)} bytes")
    pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64u(k))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        pub.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AssertionError("VAPID signature does not verify")
    check(headers.get("Content-Encoding") == "aes128gcm", "Content-Encoding aes128gcm")
    check(headers.get("TTL", "").isdigit(), f"TTL {headers.get('TTL')!r}")


def subscribe(v, browser, path, filters):
    st, _, body = v.request("POST", "/api/v1/push/subscriptions", {
        "endpoint": browser.origin + path,
        "keys": {"p256dh": b64u(browser.p256dh), "auth": b64u(browser.auth)},
        "filters": filters, "expirationTime": None})
    check(st == 201, f"subscribe: {st} {body[:300]!r}")
    sub = json.loads(body)
    check(sub["endpoint_origin"] == browser.origin, f"endpoint_origin {sub['endpoint_origin']}")
    return sub["id"]


def test_push_alerts_are_encrypted_signed_retried_and_410_removes():
    video = media("vtest.avi")
    browser = Browser()
    try:
        with Vigil([], config=CONFIG.format(video=video)) as v:
            vapid = v.json("/api/v1/push/vapid")["public_key"]
            check(len(unb64u(vapid)) == 65 and unb64u(vapid)[0] == 4, "VAPID key: a P-256 point")

            # strict validation; no reply echoes the endpoint or keys
            good = {"endpoint": browser.origin + "/push/sub-a",
                    "keys": {"p256dh": b64u(browser.p256dh), "auth": b64u(browser.auth)}}
            bad = [
                dict(good, endpoint="http://example.com/push/sub-a"),
                dict(good, endpoint="ftp://127.0.0.1/push/sub-a"),
                dict(good, keys={"p256dh": b64u(browser.p256dh[:64]), "auth": b64u(browser.auth)}),
                dict(good, keys={"p256dh": b64u(b"\x04" + b"\x01" * 64), "auth": b64u(browser.auth)}),
                dict(good, keys={"p256dh": b64u(browser.p256dh), "auth": b64u(browser.auth[:8])}),
                dict(good, filters={"colours": ["red"]}),
                dict(good, filters={"cameras": ["x" * 65]}),
                dict(good, filters={"labels": ["a"] * 33}),
                dict(good, extra=1),
                # destinations: IP literals of private, link-local (cloud
                # metadata) and reserved ranges, in the forms libcurl reads
                dict(good, endpoint="https://10.0.0.1/push/sub-a"),
                dict(good, endpoint="https://192.168.1.20:8443/push/sub-a"),
                dict(good, endpoint="https://169.254.169.254/push/sub-a"),
                dict(good, endpoint="https://[::ffff:172.16.0.1]/push/sub-a"),
                dict(good, endpoint="https://[fd00::1]/push/sub-a"),
                dict(good, endpoint="https://100.64.0.1/push/sub-a"),
                dict(good, endpoint="https://0x0a000001/push/sub-a"),
                dict(good, endpoint="https://0.0.0.0/push/sub-a"),
            ]
            for b in bad:
                st, _, body = v.request("POST", "/api/v1/push/subscriptions", b)
                check(st == 400, f"bad subscription {json.dumps(b)[:120]}: {st} {body[:200]!r}")
                check(b"sub-a" not in body and b64u(browser.auth).encode() not in body,
                      f"an error reply shows a secret: {body[:200]!r}")

            st, _, body = v.request("POST", "/api/v1/push/subscriptions",
                                    dict(good, endpoint="https://10.0.0.1/push/sub-a"))
            check(b"push.allow_private_endpoints" in body and b"10.0.0.1" not in body,
                  f"a private endpoint's 400 says why, without the address: {body[:300]!r}")

            sub_a = subscribe(v, browser, "/push/sub-a",
                              {"cameras": ["street"], "kinds": ["line_cross"],
                               "lines": ["middle"], "labels": [], "zones": []})
            listed = v.json("/api/v1/push/subscriptions")["items"]
            check([s["id"] for s in listed] == [sub_a], f"list: {listed}")
            text = json.dumps(listed)
            check("sub-a" not in text and b64u(browser.auth) not in text,
                  "the list shows no endpoint path or key")

            # the test alert
            st, _, body = v.request("POST", "/api/v1/push/test")
            check(st == 202 and json.loads(body)["queued"] == 1, f"push/test: {st} {body!r}")
            got = v.wait_for("the test alert",
                             lambda: browser.requests(lambda r: r[3] and r[3].get("kind") == "test"),
                             timeout=30)
            _, path, headers, payload, _ = got[0]
            check(path == "/push/sub-a", f"POST to {path}")
            check(payload.get("title") and payload.get("url") == "/#/review",
                  f"test payload {payload}")
            check_vapid(headers, vapid, browser.origin)

            # a real line_cross of the sample video, matching the filters
            got = v.wait_for("a line_cross alert", lambda: browser.requests(
                lambda r: r[3] and r[3].get("kind") == "line_cross"), timeout=180)
            _, path, headers, payload, _ = got[0]
            check_vapid(headers, vapid, browser.origin)
            check(payload["camera"] == "street", f"payload {payload}")
            eid = payload.get("event_id")
            check(isinstance(eid, int) and eid > 0, f"event_id {eid}")
            check(payload["url"] == f"/#/review?event={eid}", f"url {payload['url']}")
            ev = v.json(f"/api/v1/events/{eid}")
            check(ev.get("camera") == "street" and ev.get("kind") == "line_cross",
                  f"event {eid}: {ev}")
            undecryptable = browser.requests(lambda r: r[3] and "undecryptable" in r[3])
            check(not undecryptable, f"bodies http-ece cannot decrypt: {undecryptable[:1]}")

            # a subscription matching no event; the first one goes
            sub_b = subscribe(v, browser, "/push/sub-b", {"cameras": ["nowhere"]})
            st, _, _ = v.request("DELETE", f"/api/v1/push/subscriptions/{sub_a}")
            check(st == 200, f"DELETE: {st}")
            st, _, _ = v.request("DELETE", f"/api/v1/push/subscriptions/{sub_a}")
            check(st == 404, f"DELETE again: {st}")

            # 429 then 500 are retried, each wait longer than the one before
            with browser.lock:
                browser.test_statuses = [429, 500, 201]
            t0 = time.time()
            st, _, _ = v.request("POST", "/api/v1/push/test")
            check(st == 202, f"push/test: {st}")
            got = v.wait_for("3 tries of one test alert", lambda: (lambda rs: rs if len(rs) >= 3 else None)(
                browser.requests(lambda r: r[0] >= t0 and r[1] == "/push/sub-b")), timeout=30)
            statuses = [r[4] for r in got[:3]]
            check(statuses == [429, 500, 201], f"statuses {statuses}")
            gap1, gap2 = got[1][0] - got[0][0], got[2][0] - got[1][0]
            check(gap1 >= 0.25 and gap2 >= 0.5 and gap2 > gap1,
                  f"backoff waits {gap1:.2f} s then {gap2:.2f} s (base 0.3 s, doubled)")

            # 410: the subscription is removed
            with browser.lock:
                browser.test_statuses = [410]
            st, _, _ = v.request("POST", "/api/v1/push/test")
            check(st == 202, f"push/test: {st}")
            v.wait_for("the 410'd subscription to go",
                       lambda: v.json("/api/v1/push/subscriptions")["items"] == [], timeout=30)
            st, _, _ = v.request("POST", "/api/v1/push/test")
            check(st == 404, f"push/test without subscriptions: {st}")

            st, _, body = v.get("/metrics")
            m = metrics_values(body.decode())
            check(m.get(("vigil_push_removed_total", frozenset()), 0) >= 1, "removed counted")
            check(m.get(("vigil_push_retries_total", frozenset()), 0) >= 2, "retries counted")
            check(m.get(("vigil_push_sent_total", frozenset()), 0) >= 3, "sent counted")
            log = v.log_text()
            check("/push/sub-" not in log and b64u(browser.auth) not in log
                  and b64u(browser.p256dh) not in log, "the log shows an endpoint or key")
            check(browser.origin in log, "the log names the endpoint's origin")
            check(v.stop() == 0, "exit 0")
        # the VAPID key file was made 0600 in the data dir
    finally:
        browser.close()


def test_push_key_survives_a_restart_and_is_private():
    video = media("vtest.avi")
    with Vigil([], config=CONFIG.format(video=video)) as v:
        key1 = v.json("/api/v1/push/vapid")["public_key"]
        path = os.path.join(v.data_dir, "push_vapid.pem")
        check(os.stat(path).st_mode & 0o777 == 0o600, "push_vapid.pem is mode 600")
        browser = Browser()
        try:
            sub = subscribe(v, browser, "/push/keep", {})
        finally:
            browser.close()
        check(v.stop() == 0, "exit 0")
        data_dir = v.data_dir
        cfg = CONFIG.format(video=video)
        with Vigil([], data_dir=data_dir, config=cfg) as v2:
            check(v2.json("/api/v1/push/vapid")["public_key"] == key1, "same key after restart")
            items = v2.json("/api/v1/push/subscriptions")["items"]
            check([s["id"] for s in items] == [sub], f"subscription kept: {items}")
            check(v2.stop() == 0, "exit 0")


def test_push_refuses_a_loopback_destination_at_connect_time():
    """A subscription whose endpoint reaches a forbidden address is never
    POSTed to, whatever passed at subscribe time: the check is on the
    address libcurl connects to (DNS rebinding cannot get around it). Here
    the row was stored while loopback was allowed; vigil restarts without
    push.allow_http_loopback, and the alert is refused before any connect,
    counted, and logged with the endpoint's origin only."""
    video = media("vtest.avi")
    browser = Browser()
    try:
        with Vigil([], config=CONFIG.format(video=video)) as v:
            subscribe(v, browser, "/push/rebound", {"cameras": ["nowhere"]})
            check(v.stop() == 0, "exit 0")
            data_dir = v.data_dir
            strict = CONFIG.format(video=video).replace("allow_http_loopback: true",
                                                        "allow_http_loopback: false")
            with Vigil([], data_dir=data_dir, config=strict) as v2:
                good = {"endpoint": browser.origin + "/push/rebound",
                        "keys": {"p256dh": b64u(browser.p256dh), "auth": b64u(browser.auth)}}
                st, _, body = v2.request("POST", "/api/v1/push/subscriptions", good)
                check(st == 400, f"a loopback endpoint without push.allow_http_loopback: {st}")
                st, _, body = v2.request("POST", "/api/v1/push/subscriptions",
                                         dict(good, endpoint=f"https://127.0.0.1:{browser.port}/p"))
                check(st == 400 and b"loopback" in body, f"https loopback endpoint: {st} {body!r}")
                st, _, body = v2.request("POST", "/api/v1/push/test")
                check(st == 202 and json.loads(body)["queued"] == 1, f"push/test: {st} {body!r}")

                def refused():
                    _, _, mb = v2.get("/metrics")
                    m = metrics_values(mb.decode())
                    return m.get(("vigil_push_refused_total", frozenset()), 0) >= 1
                v2.wait_for("the refused send counted", refused, timeout=30)
                time.sleep(0.5 * MULT)
                check(browser.requests() == [],
                      f"the endpoint was reached: {browser.requests()[:1]}")
                _, _, mb = v2.get("/metrics")
                m = metrics_values(mb.decode())
                check(m.get(("vigil_push_retries_total", frozenset()), 0) == 0,
                      "refusals not retried")
                check(m.get(("vigil_push_sent_total", frozenset()), 0) == 0, "nothing sent")
                log = v2.log_text()
                check(f"push alert to {browser.origin} not sent" in log and "loopback" in log,
                      "the log names the origin and the address class")
                check("/push/rebound" not in log and b64u(browser.auth) not in log,
                      "the log shows the endpoint's path or a key")
                check(v2.stop() == 0, "exit 0")
    finally:
        browser.close()


if __name__ == "__main__":
    use_venv()
    run_tests([test_push_alerts_are_encrypted_signed_retried_and_410_removes,
               test_push_key_survives_a_restart_and_is_private,
               test_push_refuses_a_loopback_destination_at_connect_time])
