#!/usr/bin/env python3
"""The HTTP edge of the real binary, tried as an attacker would (issue 8, item 5).

- about 1,100 slow clients sending a header line every 2 s no longer lock
  everyone out (they did: per-client connection limit, header deadline);
- 500 query arguments are answered 400 at once (they were never answered);
- keep-alive: several requests on one connection;
- a Host header naming another site is answered 421 (DNS rebinding);
- security headers on every response;
- TLS with a self-signed certificate made by `openssl req`, HSTS, and a
  warning for a key file others may read;
- an IPv6 listen address ([::1]:0).
(A stage service's --http is the same server: test_api_edge_conn's unit test,
and the Kafka integration tests that scrape stage services.)

`vigil api` runs with auth.enabled: false (loopback): the edge answers before
sign-in, so what is tested here does not depend on accounts.
"""
import asyncio
import http.client
import os
import re
import resource
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigil_harness import BINARY, MULT, check, run_tests, skip  # noqa: E402


class Api:
    """`vigil <cmd> --http LISTEN --data-dir TMP ...`; the port from its log."""

    def __init__(self, *sets, cmd="api", listen="127.0.0.1:0", pattern=r"api listening on http://[^ ]+ \(port (\d+)\)"):
        self.tmp = tempfile.mkdtemp(prefix="vigil-edge-e2e-")
        self.log_path = os.path.join(self.tmp, "vigil.log")
        argv = [BINARY, cmd, "--http", listen, "--data-dir", os.path.join(self.tmp, "data"),
                "--set", "auth.enabled=false"]
        for s in sets:
            argv += ["--set", s]
        if cmd == "api":
            r = subprocess.run([BINARY, "db", "migrate", "--data-dir", os.path.join(self.tmp, "data")],
                               capture_output=True)
            check(r.returncode == 0, f"vigil db migrate: {r.stderr.decode()[-500:]}")
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30 * MULT
        self.port = None
        while time.time() < deadline and self.port is None:
            m = re.search(pattern, self.log_text())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                check(False, f"vigil {cmd} exited: {self.log_text()[-2000:]}")
            else:
                time.sleep(0.1)
        if self.port is None:
            self.proc.kill()
            self.proc.wait()
            check(False, f"vigil {cmd} did not listen: {self.log_text()[-2000:]}")

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20 * MULT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        if exc[0] is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"log kept at {self.log_path}:\n{self.log_text()[-3000:]}")


def raw(port, data, host="127.0.0.1", timeout=5):
    """Sends bytes on a new connection; returns (status line, headers, body, seconds)."""
    t0 = time.time()
    s = socket.create_connection((host, port), timeout=timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            c = s.recv(65536)
            if not c:
                break
            out += c
    except socket.timeout:
        pass
    s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return lines[0], hdrs, body, time.time() - t0


def get(port, path, host=None):
    h = host or f"127.0.0.1:{port}"
    return raw(port, f"GET {path} HTTP/1.1\r\nHost: {h}\r\nConnection: close\r\n\r\n".encode())


def test_slow_clients_do_not_lock_everyone_out():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2600
    if soft < want:
        if hard < want:
            skip(f"needs {want} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    try:
        socket.create_connection(("127.0.0.1", 9), source_address=("127.0.0.2", 0), timeout=1)
    except ConnectionRefusedError:
        pass
    except OSError as e:
        skip(f"no 127.0.0.2 source address here: {e}")
    # limits for every client (loopback is exempt by default), default deadlines
    with Api("http.limits_exempt=") as api:
        results = asyncio.run(slowloris(api.port, 1100))
        check(results["held"] <= 32, f"the attacker holds {results['held']} connections, limit 32")
        for i, (status, secs) in enumerate(results["probes"]):
            check(status == 200 and secs < 1.0,
                  f"probe {i} under attack: {status} after {secs:.3f} s (all: {results['probes']})")
        text = get(api.port, "/metrics")[2].decode()
        check('vigil_http_refused_total{reason="connections_per_client"}' in text,
              "refused connections are not counted in /metrics")


async def slowloris(port, n):
    writers = []

    async def slow():
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.2", 0))
        except OSError:
            return
        writers.append(w)
        try:
            w.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            for _ in range(8):
                await asyncio.sleep(2)
                w.write(b"X-Slow: 1\r\n")
                await w.drain()
        except (OSError, ConnectionError):
            pass

    async def probe():
        t0 = time.time()
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1)
            w.write(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
            data = await asyncio.wait_for(r.read(), 1)
            w.close()
            return int(data.split(b" ")[1]), time.time() - t0
        except (OSError, asyncio.TimeoutError, IndexError, ValueError):
            return -1, time.time() - t0

    tasks = [asyncio.create_task(slow()) for _ in range(n)]
    probes = []
    for _ in range(6):
        await asyncio.sleep(1)
        probes.append(await probe())
    # count the attacker's connections still open on the server side: those
    # that can still be written to after the last round
    await asyncio.sleep(0.5)
    held = 0
    for w in writers:
        try:
            w.write(b"X-Slow: 1\r\n")
            await asyncio.wait_for(w.drain(), 0.2)
            if not w.transport.is_closing():
                held += 1
        except (OSError, ConnectionError, asyncio.TimeoutError):
            pass
    for t in tasks:
        t.cancel()
    for w in writers:
        w.close()
    return {"probes": probes, "held": held}


def test_many_arguments_answered_at_once_and_keep_alive():
    with Api() as api:
        q = "&".join(f"a{i}=1" for i in range(500))
        status, _, body, secs = get(api.port, f"/api/v1/stats?{q}")
        check(status.endswith("400 Bad Request") and secs < 2, f"500 arguments: {status} after {secs:.1f} s")
        check(b"more than 64 query parameters" in body, body)
        status, _, body, _ = get(api.port, "/api/v1/detections?limit=5%00x")
        check(" 400 " in status and b'"parameter":"limit"' in body, f"limit=5%00x: {status} {body}")
        conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=5)
        socks = set()
        for path in ("/healthz", "/api/v1/detections", "/healthz"):
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            check(r.status == 200, f"{path}: {r.status}")
            check((r.getheader("Connection") or "").lower() != "close", f"{path}: Connection: close")
            socks.add(id(conn.sock))
        check(len(socks) == 1, "the requests did not share one connection")
        conn.close()


def test_host_check_and_security_headers():
    with Api() as api:
        status, hdrs, body, _ = get(api.port, "/healthz", host="rebound.example:%d" % api.port)
        check(" 421 " in status and b"http.allowed_hosts" in body, f"foreign Host: {status} {body}")
        for path in ("/healthz", "/nope", "/api/v1/detections"):
            status, hdrs, _, _ = get(api.port, path)
            for name, part in (("content-security-policy", "frame-ancestors 'none'"),
                               ("x-content-type-options", "nosniff"),
                               ("referrer-policy", "no-referrer"),
                               ("x-frame-options", "DENY")):
                check(part in hdrs.get(name, ""), f"{path}: {name} is {hdrs.get(name)!r}")
            check("access-control-allow-origin" not in hdrs, f"{path}: CORS open")
            check("strict-transport-security" not in hdrs, f"{path}: HSTS without TLS")
    with Api("http.allowed_hosts=cams.example.com") as api:
        status, _, _, _ = get(api.port, "/healthz", host="cams.example.com")
        check(" 200 " in status, f"an allowed host: {status}")


def test_tls_with_a_self_signed_certificate():
    if not shutil.which("openssl"):
        skip("no openssl to make a certificate")
    tmp = tempfile.mkdtemp(prefix="vigil-edge-tls-")
    try:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                            "-days", "2", "-keyout", key, "-out", cert], capture_output=True)
        check(r.returncode == 0, r.stderr.decode())
        os.chmod(key, 0o644)  # others may read it: served, but warned about
        with Api(f"http.tls_cert={cert}", f"http.tls_key={key}") as api:
            ctx = ssl.create_default_context(cafile=cert)
            conn = http.client.HTTPSConnection("localhost", api.port, context=ctx, timeout=10)
            for _ in range(2):  # keep-alive over TLS too
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                check(resp.status == 200, f"over TLS: {resp.status}")
                check("max-age=" in (resp.getheader("Strict-Transport-Security") or ""), "no HSTS")
                resp.read()
            conn.close()
            check(re.search(r"http.tls_key .*key.pem.* read by every user", api.log_text()),
                  "no warning for a world-readable key file")
            check("listening on https://" in api.log_text(), "the log does not say https")
            try:
                status, _, _, _ = get(api.port, "/healthz")
                check(" 200 " not in status, "plain HTTP answered on the TLS port")
            except OSError:
                pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_ipv6_listen_address():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
    except OSError as e:
        skip(f"no IPv6 loopback here: {e}")
    with Api(listen="[::1]:0") as api:
        status, _, body, _ = raw(api.port, f"GET /healthz HTTP/1.1\r\nHost: [::1]:{api.port}\r\n"
                                 f"Connection: close\r\n\r\n".encode(), host="::1")
        check(" 200 " in status, f"over IPv6: {status} {body}")


if __name__ == "__main__":
    if not os.path.exists(BINARY):
        skip(f"no binary at {BINARY}")
    run_tests([test_many_arguments_answered_at_once_and_keep_alive,
               test_host_check_and_security_headers,
               test_tls_with_a_self_signed_certificate,
               test_ipv6_listen_address,
               test_slow_clients_do_not_lock_everyone_out])
