"""Three `vigil api` replicas on one warehouse behind a real nginx
(scripts/nginx, deploy/nginx/nginx.conf.template), with `vigil run` writing
into the same warehouse (issue 12, item 4, and its nginx faults):

- `kill -9` of one replica under a bounded load of GETs: every GET through
  nginx answers 200 (nginx sends the ones that failed on the dead replica to
  the next one, and leaves it out after);
- a cookie session and a bearer token made through one replica work through
  the others, and a logout or a revocation through one holds on the others:
  both live in the warehouse;
- an upstream that answers garbage (a TCP server writing a broken response)
  is left out: the GET it broke is answered by a good replica and the fault is
  in nginx's error log; a POST that reached it is answered 502, never sent to
  a second replica;
- live views through nginx on a Kafka bus (a 1-broker cluster of the
  test's own, scripts/kafka-cluster, as `vigil api` on the in-process bus has
  no live views): `kill -9` of the replica serving an SSE stream and an MJPEG
  stream ends them; both reconnect through nginx to another replica, the SSE
  one with Last-Event-ID (answered `event: reset`: ids are per replica,
  docs/api.md) and carry detections and frames again.

The warehouse is $VIGIL_REPLICAS_STORE when set (a postgres:// URL from
scripts/postgres); else, with $VIGIL_STORE_URL set (tests/with_server.sh postgres:
ctest's e2e_test_api_replicas_postgres on the postgres_server fixture), a
schema of its own on that server (made empty at the start, dropped at the
end); else SQLite in WAL mode in a temporary data directory. ctest runs both:
e2e_test_api_replicas on SQLite, e2e_test_api_replicas_postgres on
PostgreSQL (without the live test, whose Kafka cluster is the same either
way).
Ports: 19400-19449 (CMakeLists.txt gives the test a RESOURCE_LOCK on them).
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(__file__))
from vigil_harness import (BINARY, MULT, Failure, Vigil, admin_token, check, media,  # noqa: E402
                           run_tests, skip)

SRC = os.environ.get("VIGIL_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
NGINX = os.path.join(SRC, "scripts", "nginx")
PORT_NGINX = 19400         # the three replicas
PORT_NGINX_JUNK = 19401    # a garbage upstream and one replica
PORT_REPLICAS = (19410, 19411, 19412)
PORT_JUNK = 19420
PORT_NGINX_LIVE = 19402
PORT_LIVE_REPLICAS = (19413, 19414, 19415)
PORT_KAFKA = 19430         # its controller on 19440
KAFKA = os.path.join(SRC, "scripts", "kafka-cluster")
STORE = os.environ.get("VIGIL_REPLICAS_STORE", "")
PG_BASE = "" if STORE else os.environ.get("VIGIL_STORE_URL", "")
PG_SCHEMA = f"vigil_replicas_{os.getpid()}"

WRITER_CONFIG = """
ingest:
  realtime: true
infer:
  model: motion
preprocess:
  motion_threshold: 0.003
analytics:
  enabled: true
  min_hits: 2
cameras:
  - id: street
    name: Street
    url: "{video}"
    fps: 5
    loop: true
    zones:
      - id: walk
        polygon: [[0.1, 0.4], [0.9, 0.4], [0.9, 0.95], [0.1, 0.95]]
"""

REPLICA_CONFIG = """
http:
  # the Host nginx passes on (proxy_set_header Host $http_host)
  allowed_hosts: "127.0.0.1:{p1},127.0.0.1:{p2},127.0.0.1:{p3}"
  # nginx connects to the replicas from 127.0.0.1: its X-Forwarded-For names the client
  trusted_proxies: "127.0.0.1"
"""


class Ctx:
    tmp = None
    data = None
    token = None
    writer = None
    replicas = {}   # port -> Popen
    logs = {}       # port -> log path
    cfg = None
    nginx_dirs = []
    kafka_env = None
    live_writer = None
    live_token = None   # the live warehouse's admin token


def store_args():
    return ["--store", STORE] if STORE else []


def port_free(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as vigil and nginx: TIME_WAIT is no owner
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def start_replica(port, data=None, extra=()):
    log = os.path.join(Ctx.tmp, f"api-{port}.log")
    f = open(log, "a")
    p = subprocess.Popen([BINARY, "api", "--http", f"127.0.0.1:{port}",
                          "--data-dir", data or Ctx.data, "--config", Ctx.cfg, *store_args(),
                          *extra],
                         stdout=f, stderr=subprocess.STDOUT)
    f.close()
    Ctx.replicas[port] = p
    Ctx.logs[port] = log
    return p


def wait_ready(port, timeout=30):
    deadline = time.time() + timeout * MULT
    last = None
    while time.time() < deadline:
        p = Ctx.replicas.get(port)
        if p is not None and p.poll() is not None:
            raise Failure(f"replica :{port} exited with {p.returncode}: "
                          + open(Ctx.logs[port]).read()[-2000:])
        try:
            st, _, body = request(port, "GET", "/readyz", token="")
            last = (st, body[:200])
            if st == 200:
                return
        except OSError as e:
            last = e
        time.sleep(0.1)
    raise Failure(f"replica :{port} not ready in time (last: {last!r})")


def request(port, method, path, body=None, headers=None, token=None, conn=None):
    """One request to 127.0.0.1:port (a replica or nginx); token None = the
    admin token, "" = none. Returns (status, headers, body)."""
    h = dict(headers or {})
    tok = Ctx.token if token is None else token
    if tok:
        h["Authorization"] = "Bearer " + tok
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10 * MULT)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        if conn is None:
            c.close()


def nginx(action, d, *args):
    r = subprocess.run(["bash", NGINX, action, "--dir", d, *args], capture_output=True,
                       text=True, timeout=120 * MULT)
    if r.returncode != 0:
        raise Failure(f"scripts/nginx {action}: exit {r.returncode}: {r.stderr[-1500:]}")
    return r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""


def access_log(d):
    """nginx's access log as (request, status, [upstreams], [upstream statuses])."""
    out = []
    path = os.path.join(d, "access.log")
    if not os.path.exists(path):
        return out
    for line in open(path):
        m = re.search(r'"([A-Z]+ [^"]*)" (\d+) \d+ upstream="([^"]*)" ustatus="([^"]*)"', line)
        if m:
            out.append((m.group(1), int(m.group(2)),
                        [u.strip() for u in re.split(r"[,:]\s", m.group(3)) if u.strip()],
                        [s.strip() for s in re.split(r"[,:]\s", m.group(4)) if s.strip()]))
    return out


def error_log(d):
    path = os.path.join(d, "error.log")
    return open(path).read() if os.path.exists(path) else ""


# --- set-up ---------------------------------------------------------------------------

def psql(sql):
    r = subprocess.run(["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", PG_BASE, "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise Failure(f"psql {sql!r}: {r.stderr[-500:]}")


def set_up():
    global STORE
    if not os.path.exists(NGINX):
        skip(f"{NGINX} missing")
    if PG_BASE.startswith("postgres"):
        # the fixture's server is shared: the test's tables in a schema of its own
        psql(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE; CREATE SCHEMA {PG_SCHEMA}")
        STORE = PG_BASE + ("&" if "?" in PG_BASE else "?") + f"options=-csearch_path%3D{PG_SCHEMA}"
        print(f"  warehouse: PostgreSQL, schema {PG_SCHEMA}")
    for p in (PORT_NGINX, PORT_NGINX_JUNK, PORT_NGINX_LIVE, *PORT_REPLICAS, *PORT_LIVE_REPLICAS,
              PORT_JUNK, PORT_KAFKA, PORT_KAFKA + 10):
        if not port_free(p):
            skip(f"port {p} is taken (another run of this test?)")
    video = media("vtest.avi")
    Ctx.tmp = tempfile.mkdtemp(prefix="vigil-replicas-")
    Ctx.data = os.path.join(Ctx.tmp, "data")
    Ctx.cfg = os.path.join(Ctx.tmp, "api.yaml")
    with open(Ctx.cfg, "w") as f:
        f.write(REPLICA_CONFIG.format(p1=PORT_NGINX, p2=PORT_NGINX_JUNK, p3=PORT_NGINX_LIVE))
    # the writer: the whole pipeline on the sample video, into the warehouse
    # the replicas read (it makes the schema, the admin and its token)
    Ctx.writer = Vigil(store_args(), data_dir=Ctx.data,
                       config=WRITER_CONFIG.format(video=video)).__enter__()
    Ctx.token = Ctx.writer.token
    Ctx.writer.wait_for("frames stored", lambda: Ctx.writer.json("/api/v1/stats")
                        ["store"]["frames"] > 0, timeout=60)
    for port in PORT_REPLICAS:
        start_replica(port)
    for port in PORT_REPLICAS:
        wait_ready(port)
    d = os.path.join(Ctx.tmp, "nginx")
    Ctx.nginx_dirs.append(d)
    # the load below is one client address: lift the per-client rate
    url = nginx("start", d, "--listen", f"127.0.0.1:{PORT_NGINX}", "--rate", "2000",
                "--burst", "2000", *sum((["--upstream", f"127.0.0.1:{p}"] for p in PORT_REPLICAS), []))
    check(url == f"http://127.0.0.1:{PORT_NGINX}", f"scripts/nginx start printed {url!r}")


def tear_down():
    for d in Ctx.nginx_dirs:
        subprocess.run(["bash", NGINX, "stop", "--dir", d], capture_output=True, timeout=60)
    for p in Ctx.replicas.values():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in Ctx.replicas.values():
        try:
            p.wait(timeout=20 * MULT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if Ctx.writer:
        Ctx.writer.__exit__(None, None, None)
    if Ctx.live_writer:
        Ctx.live_writer.__exit__(None, None, None)
    if Ctx.kafka_env:
        subprocess.run(["bash", KAFKA, "stop"], env=Ctx.kafka_env, capture_output=True,
                       timeout=120)
    if PG_BASE.startswith("postgres") and STORE:
        try:
            psql(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
        except Failure as e:
            print(f"  {e}")


# --- tests ------------------------------------------------------------------------------

def test_sessions_and_tokens_made_through_one_replica_work_through_the_others():
    a, b, c = PORT_REPLICAS
    # a user and its sign-in through nginx
    st, _, body = request(PORT_NGINX, "POST", "/api/v1/users",
                          {"name": "rita", "role": "operator", "password": "replica-pass-1"})
    check(st == 201 or st == 200, f"POST /api/v1/users through nginx: {st} {body[:200]!r}")
    st, h, body = request(PORT_NGINX, "POST", "/api/v1/auth/login",
                          {"name": "rita", "password": "replica-pass-1"}, token="")
    check(st == 200, f"login through nginx: {st} {body[:200]!r}")
    sc = h.get("set-cookie", "")
    m = re.match(r"vigil_session=([^;]+)", sc)
    check(m, f"no session cookie: {sc!r}")
    check("Secure" in sc and "HttpOnly" in sc, f"cookie not Secure/HttpOnly behind nginx: {sc!r}")
    cookie = {"Cookie": f"vigil_session={m.group(1)}"}
    for port in PORT_REPLICAS:
        st, _, body = request(port, "GET", "/api/v1/auth/me", headers=cookie, token="")
        check(st == 200 and json.loads(body).get("user") == "rita",
              f"session on replica :{port}: {st} {body[:200]!r}")
    # a token made on replica a works on b and c; revoked on c, refused on a
    st, _, body = request(a, "POST", "/api/v1/tokens", {"label": "replicas"})
    check(st in (200, 201), f"POST /api/v1/tokens on :{a}: {st} {body[:200]!r}")
    made = json.loads(body)
    tok = made.get("token")
    check(tok, f"no token in {made!r}")
    for port in (b, c):
        st, _, body = request(port, "GET", "/api/v1/cameras", token=tok)
        check(st == 200, f"token made on :{a} used on :{port}: {st} {body[:200]!r}")
    st, _, body = request(c, "DELETE", f"/api/v1/tokens/{made['id']}")
    check(st in (200, 204), f"DELETE token on :{c}: {st} {body[:200]!r}")
    for port in (a, b):
        st, _, _ = request(port, "GET", "/api/v1/cameras", token=tok)
        check(st == 401, f"token revoked on :{c} still works on :{port}: {st}")
    # sign out through b: the session ends on every replica
    st, _, body = request(b, "GET", "/api/v1/auth/me", headers=cookie, token="")
    csrf = json.loads(body).get("csrf_token", "")
    st, _, body = request(b, "POST", "/api/v1/auth/logout",
                          headers={**cookie, "X-CSRF-Token": csrf,
                                   "Origin": f"http://127.0.0.1:{b}"}, token="")
    check(st == 200, f"logout on :{b}: {st} {body[:200]!r}")
    for port in PORT_REPLICAS:
        st, _, _ = request(port, "GET", "/api/v1/auth/me", headers=cookie, token="")
        check(st == 401, f"session signed out on :{b} still works on :{port}: {st}")


def request_from(src, port, method, path, body=None, headers=None, token=""):
    """request() over a connection from source address src (127.0.0.2 is
    another client than 127.0.0.1 on loopback)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10 * MULT,
                                      source_address=(src, 0))
    try:
        return request(port, method, path, body, headers, token, conn=conn)
    finally:
        conn.close()


def audit_rows(action, target):
    st, _, body = request(PORT_NGINX, "GET", "/api/v1/audit?limit=200")
    check(st == 200, f"GET /api/v1/audit: {st} {body[:200]!r}")
    return [r for r in json.loads(body)["items"]
            if r.get("action") == action and r.get("target") == target]


def test_two_clients_behind_nginx_are_throttled_apart_and_audited_by_address():
    """http.trusted_proxies 127.0.0.1: the replicas take the client from
    nginx's X-Forwarded-For. Client A (127.0.0.2) guessing passwords is
    throttled on every replica (20 sign-ins per address per minute each);
    client B (127.0.0.3) still signs in through every replica; A cannot
    escape with an X-Forwarded-For of its own; the audit log and the
    session list show each client's address, never nginx's."""
    a, b = "127.0.0.2", "127.0.0.3"
    # A (an admin token's holder) adds B's user: audited with A's address,
    # also when A sends a forged X-Forwarded-For
    st, _, body = request_from(a, PORT_NGINX, "POST", "/api/v1/users",
                               {"name": "bea", "role": "viewer", "password": "bea-pass-12345"},
                               token=Ctx.token)
    check(st in (200, 201), f"POST /api/v1/users from {a}: {st} {body[:200]!r}")
    st, _, body = request_from(a, PORT_NGINX, "POST", "/api/v1/users",
                               {"name": "forged", "role": "viewer", "password": "forged-pass-1"},
                               headers={"X-Forwarded-For": "10.6.6.6"}, token=Ctx.token)
    check(st in (200, 201), f"POST /api/v1/users from {a} with a forged header: {st}")
    for name in ("bea", "forged"):
        rows = audit_rows("user.add", name)
        check(rows and all(r["client_ip"] == a for r in rows),
              f"audit of user.add {name}: {rows} (want client_ip {a})")
    # A guesses passwords until every replica refuses it
    refused = failed = 0
    tries = 0
    while refused < len(PORT_REPLICAS) and tries < 40 * len(PORT_REPLICAS):
        tries += 1
        st, h, body = request_from(a, PORT_NGINX, "POST", "/api/v1/auth/login",
                                   {"name": "nobody", "password": f"guess-{tries}"})
        if st == 401:
            failed += 1
            refused = 0
        elif st == 429:
            check(b"from this address" in body and h.get("retry-after"),
                  f"429 is not the address throttle: {body[:200]!r}")
            refused += 1
        else:
            raise Failure(f"sign-in guess #{tries} from {a}: {st} {body[:200]!r}")
    print(f"  client {a}: {failed} wrong passwords, then refused by every replica "
          f"({tries} tries)")
    check(refused >= len(PORT_REPLICAS), f"{a} never throttled in {tries} tries")
    check(20 <= failed <= 20 * len(PORT_REPLICAS),
          f"{failed} guesses passed the throttle of {len(PORT_REPLICAS)} replicas")
    # a forged X-Forwarded-For does not get A out: nginx appends A's address
    for forged in ("127.0.0.1", b, "198.51.100.9", "unknown", "127.0.0.3, 127.0.0.1"):
        for _ in PORT_REPLICAS:
            st, _, body = request_from(a, PORT_NGINX, "POST", "/api/v1/auth/login",
                                       {"name": "bea", "password": "bea-pass-12345"},
                                       headers={"X-Forwarded-For": forged})
            check(st == 429, f"{a} with X-Forwarded-For {forged!r}: {st} {body[:200]!r}")
    # B signs in through nginx on every replica, A's throttle does not touch it
    cookie = None
    for i in PORT_REPLICAS:
        st, h, body = request_from(b, PORT_NGINX, "POST", "/api/v1/auth/login",
                                   {"name": "bea", "password": "bea-pass-12345"})
        check(st == 200, f"sign-in #{i} from {b} while {a} is throttled: {st} {body[:200]!r}")
        cookie = re.match(r"vigil_session=([^;]+)", h.get("set-cookie", "")).group(1)
    logins = audit_rows("auth.login", "bea")
    check(len(logins) == len(PORT_REPLICAS) and all(r["client_ip"] == b for r in logins),
          f"audit of bea's sign-ins: {logins} (want {len(PORT_REPLICAS)} from {b})")
    st, _, body = request_from(b, PORT_NGINX, "GET", "/api/v1/auth/sessions",
                               headers={"Cookie": f"vigil_session={cookie}"})
    check(st == 200, f"GET /api/v1/auth/sessions: {st} {body[:200]!r}")
    ips = {s["client_ip"] for s in json.loads(body)["items"]}
    check(ips == {b}, f"bea's sessions were made from {ips}, want {{{b!r}}}")
    # the replicas counted the addresses they took from nginx
    n = 0
    for port in PORT_REPLICAS:
        st, _, body = request(port, "GET", "/metrics")
        m = re.search(r'vigil_http_forwarded_total\{result="client"\} (\d+)', body.decode())
        n += int(m.group(1)) if m else 0
    check(n >= 2 + tries + 15 + len(PORT_REPLICAS),
          f"vigil_http_forwarded_total{{result=\"client\"}} is {n} over the replicas")
    print(f"  {b} signed in through all {len(PORT_REPLICAS)} replicas; audit and sessions "
          f"show {a} and {b}; {n} requests took their client from X-Forwarded-For")


def load(stop, results, rate_per_thread=40):
    """GETs through nginx on one keep-alive connection at a bounded rate,
    until stop is set; appends (path, status or exception text)."""
    paths = ["/api/v1/events?limit=20", "/api/v1/stats", "/api/v1/cameras",
             "/api/v1/detections?limit=20"]
    conn = http.client.HTTPConnection("127.0.0.1", PORT_NGINX, timeout=10 * MULT)
    i = 0
    while not stop.is_set():
        t0 = time.time()
        path = paths[i % len(paths)]
        i += 1
        try:
            st, _, _ = request(PORT_NGINX, "GET", path, conn=conn)
            results.append((path, st))
        except (OSError, http.client.HTTPException) as e:
            results.append((path, f"{type(e).__name__}: {e}"))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", PORT_NGINX, timeout=10 * MULT)
        left = 1.0 / rate_per_thread - (time.time() - t0)
        if left > 0:
            time.sleep(left)
    conn.close()


def test_kill_9_of_a_replica_under_load_loses_no_get():
    d = Ctx.nginx_dirs[0]
    victim = PORT_REPLICAS[1]
    stop = threading.Event()
    results = []
    threads = [threading.Thread(target=load, args=(stop, results)) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(2 * MULT)
    before = len(results)
    Ctx.replicas[victim].send_signal(signal.SIGKILL)
    Ctx.replicas[victim].wait()
    time.sleep(4 * MULT)
    stop.set()
    for t in threads:
        t.join()
    bad = [r for r in results if r[1] != 200]
    n = len(results)
    print(f"  {n} GETs through nginx ({before} before the kill -9 of :{victim}), "
          f"{len(bad)} not 200")
    check(n > 200, f"the load ran only {n} requests")
    check(not bad, f"GETs failed after kill -9 of a replica: {bad[:10]}")
    log = access_log(d)
    retried = [e for e in log if len(e[2]) > 1 and f"127.0.0.1:{victim}" in e[2]]
    after = [e for e in log[-200:] if e[2] and e[2][-1] == f"127.0.0.1:{victim}"]
    print(f"  nginx sent {len(retried)} GETs on to the next replica after :{victim} failed")
    check(retried, "no request was retried on another replica (access.log)")
    check(all(e[1] == 200 for e in retried), f"a retried GET was not answered 200: {retried[:5]}")
    check(not after, f"the dead replica still answered requests: {after[:3]}")
    check("Connection refused" in error_log(d) or "reset by peer" in error_log(d)
          or "prematurely closed" in error_log(d),
          "nginx's error log does not say why the replica was left out")
    # back on the same port: nginx tries it again after fail_timeout (10 s)
    start_replica(victim)
    wait_ready(victim)


class Junk:
    """A TCP server that answers every request with a broken HTTP response
    (a status line, then bytes that are no header), counting requests."""

    def __init__(self, port):
        self.requests = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                c.settimeout(5)
                data = c.recv(65536)
                self.requests.append(data.split(b"\r\n", 1)[0].decode("latin-1"))
                c.sendall(b"HTTP/1.1 200 OK\r\n\x00\xff\xfe junk \x13\x37\r\n\r\n<<garbage>>")
            except OSError:
                pass
            finally:
                c.close()

    def close(self):
        self.stop.set()
        self.sock.close()
        self.thread.join()


def test_garbage_upstream_is_left_out_and_a_post_is_not_retried():
    good = PORT_REPLICAS[0]
    d = os.path.join(Ctx.tmp, "nginx-junk")
    Ctx.nginx_dirs.append(d)
    junk = Junk(PORT_JUNK)
    try:
        ups = ["--upstream", f"127.0.0.1:{PORT_JUNK}", "--upstream", f"127.0.0.1:{good}"]
        nginx("start", d, "--listen", f"127.0.0.1:{PORT_NGINX_JUNK}", *ups)
        # GETs: the one that meets the junk is answered by the good replica
        for i in range(6):
            st, _, body = request(PORT_NGINX_JUNK, "GET", "/api/v1/cameras")
            check(st == 200, f"GET #{i} with a garbage upstream: {st} {body[:200]!r}")
        log = access_log(d)
        via_junk = [e for e in log if f"127.0.0.1:{PORT_JUNK}" in e[2]]
        check(len(junk.requests) == 1 and len(via_junk) == 1,
              f"the garbage upstream was not left out after its first answer: "
              f"{len(junk.requests)} requests reached it, log {via_junk}")
        check(via_junk[0][2] == [f"127.0.0.1:{PORT_JUNK}", f"127.0.0.1:{good}"]
              and via_junk[0][3][:1] == ["502"],
              f"the broken answer was not retried on the good replica: {via_junk[0]}")
        check("upstream sent invalid header" in error_log(d),
              "nginx's error log does not name the garbage: " + error_log(d)[-500:])
        # POSTs (fresh nginx state): the one that reaches the junk is a 502,
        # and no other replica sees it
        nginx("start", d, "--listen", f"127.0.0.1:{PORT_NGINX_JUNK}", *ups)
        seen = len(junk.requests)
        for i in range(4):
            st, _, body = request(PORT_NGINX_JUNK, "POST", "/api/v1/auth/logout", b"",
                                  token="")
            if len(junk.requests) > seen:
                break
            check(st == 200, f"POST #{i} answered by the good replica: {st} {body[:200]!r}")
        check(len(junk.requests) == seen + 1 and junk.requests[-1].startswith("POST "),
              f"no POST reached the garbage upstream: {junk.requests}")
        check(st == 502, f"a POST the garbage upstream broke was answered {st}, want 502")
        # nginx writes a request's log line when it finalizes the request,
        # which may be after the client has read the 502: wait for it
        deadline = time.time() + 5 * MULT
        posts = []
        while not posts and time.time() < deadline:
            posts = [e for e in access_log(d) if e[0].startswith("POST ")]
            if not posts:
                time.sleep(0.05)
        check(posts and posts[-1][2] == [f"127.0.0.1:{PORT_JUNK}"],
              f"the POST went on to another replica: {posts[-1:]}")
    finally:
        junk.close()


def open_stream(port, path, headers=None):
    """A GET through `port` as HTTP/1.0 (nginx then ends the body by closing,
    no chunks); returns (sock, status, head, the bytes after the head)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=15 * MULT)
    h = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    s.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n"
              f"Authorization: Bearer {Ctx.live_token}\r\n{h}\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d+)", head)
    return s, int(m.group(1)) if m else 0, head.decode("latin-1"), rest


def read_until(s, buf, pred, timeout):
    """Reads s into buf until pred(buf) or the stream ends or timeout;
    returns (buf, ended)."""
    deadline = time.time() + timeout * MULT
    while not pred(buf) and time.time() < deadline:
        s.settimeout(max(0.1, deadline - time.time()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except OSError:
            return buf, True
        if not chunk:
            return buf, True
        buf += chunk
    return buf, False


def sse_ids(buf):
    return [int(x) for x in re.findall(rb"(?m)^id: (\d+)$", buf)]


def live_streams(port, kind):
    st, _, body = request(port, "GET", "/metrics", token=Ctx.live_token)
    if st != 200:
        return 0
    m = re.search(r'vigil_live_streams\{kind="%s"\} (\d+)' % kind, body.decode())
    return int(m.group(1)) if m else 0


def serving(kind):
    """The live replica port whose /metrics counts one stream of `kind`."""
    for port in PORT_LIVE_REPLICAS:
        if Ctx.replicas[port].poll() is None and live_streams(port, kind) > 0:
            return port
    return None


def test_live_streams_reconnect_through_nginx_after_kill_9():
    import shutil
    for tool in ("java", "mvn"):
        if not shutil.which(tool):
            skip(f"{tool} not installed (scripts/setup.sh test): the live views need a Kafka bus")
    env = dict(os.environ, VIGIL_KAFKA_DIR=os.path.join(Ctx.tmp, "kafka"),
               VIGIL_KAFKA_PORT_BASE=str(PORT_KAFKA),
               VIGIL_KAFKA_CONTROLLER_PORT_BASE=str(PORT_KAFKA + 10))
    Ctx.kafka_env = env
    r = subprocess.run(["bash", KAFKA, "start", "1"], env=env, capture_output=True, text=True,
                       timeout=300 * MULT)
    check(r.returncode == 0, f"scripts/kafka-cluster start 1: {r.stderr[-1500:]}")
    # short consumer-group timings, as the Kafka API tests use (kafka_api_support.py)
    bus = ("kafka://" + r.stdout.strip().splitlines()[-1]
           + "?session_timeout_ms=3000&join_wait_ms=8000")
    r = subprocess.run([BINARY, "kafka", "init", "--bus", bus], capture_output=True, text=True,
                       timeout=120 * MULT)
    check(r.returncode == 0, f"vigil kafka init: {r.stderr[-1500:]}")
    data = os.path.join(Ctx.tmp, "live-data")
    Ctx.live_writer = Vigil(["--bus", bus, *store_args()], data_dir=data,
                            config=WRITER_CONFIG.format(video=media("vtest.avi"))).__enter__()
    Ctx.live_token = Ctx.live_writer.token
    for port in PORT_LIVE_REPLICAS:
        start_replica(port, data, ["--bus", bus])
    for port in PORT_LIVE_REPLICAS:
        wait_ready(port)
    d = os.path.join(Ctx.tmp, "nginx-live")
    Ctx.nginx_dirs.append(d)
    nginx("start", d, "--listen", f"127.0.0.1:{PORT_NGINX_LIVE}",
          *sum((["--upstream", f"127.0.0.1:{p}"] for p in PORT_LIVE_REPLICAS), []))

    sse_path = "/api/v1/stream?types=detections"
    mjpeg_path = "/api/v1/cameras/street/live.mjpeg?fps=5"
    s, st, head, buf = open_stream(PORT_NGINX_LIVE, sse_path)
    check(st == 200 and "text/event-stream" in head, f"SSE through nginx: {st} {head[:300]}")
    buf, ended = read_until(s, buf, lambda b: len(sse_ids(b)) >= 3, 60)
    check(len(sse_ids(buf)) >= 3, f"no detections through nginx: {buf[-300:]!r}")
    m, st, head, mbuf = open_stream(PORT_NGINX_LIVE, mjpeg_path)
    check(st == 200 and "multipart/x-mixed-replace" in head, f"MJPEG through nginx: {st} {head[:300]}")
    mbuf, _ = read_until(m, mbuf, lambda b: b.count(b"\xff\xd9") >= 2, 30)
    check(mbuf.count(b"\xff\xd9") >= 2, "no JPEG parts through nginx")

    for kind, sock in (("sse", s), ("mjpeg", m)):
        victim = serving(kind)
        check(victim, f"no replica counts the {kind} stream (vigil_live_streams)")
        Ctx.replicas[victim].send_signal(signal.SIGKILL)
        Ctx.replicas[victim].wait()
        print(f"  kill -9 of :{victim}, which served the {kind} stream")
        if kind == "sse":
            buf, ended = read_until(s, buf, lambda b: False, 15)
            check(ended, "the SSE stream did not end when its replica died")
            last = sse_ids(buf)[-1]
            s.close()
            s, st, head, buf = open_stream(PORT_NGINX_LIVE, sse_path, {"Last-Event-ID": str(last)})
            check(st == 200, f"SSE reconnect through nginx: {st} {head[:300]}")
            buf, _ = read_until(s, buf, lambda b: len(sse_ids(b)) >= 3, 60)
            # the other replica's id is older than this ring ("gone") or newer
            # ("unknown"): ids start at each process's start time
            check(re.search(rb'event: reset\ndata: \{"reason":"(gone|unknown)","last_event_id":%d'
                            % last, buf), f"no reset for the other replica's id: {buf[:300]!r}")
            check(len(sse_ids(buf)) >= 3, f"no detections after reconnecting: {buf[-300:]!r}")
            print(f"  SSE reconnected with Last-Event-ID {last}: reset, then "
                  f"{len(sse_ids(buf))} detections")
        else:
            mbuf, ended = read_until(m, mbuf, lambda b: False, 15)
            check(ended, "the MJPEG stream did not end when its replica died")
            m.close()
            m, st, head, mbuf = open_stream(PORT_NGINX_LIVE, mjpeg_path)
            check(st == 200, f"MJPEG reconnect through nginx: {st} {head[:300]}")
            mbuf, _ = read_until(m, mbuf, lambda b: b.count(b"\xff\xd9") >= 2, 30)
            check(mbuf.count(b"\xff\xd9") >= 2, "no JPEG parts after reconnecting")
            print("  MJPEG reconnected: frames again")
    s.close()
    m.close()


if __name__ == "__main__":
    try:
        set_up()
        run_tests([
            test_sessions_and_tokens_made_through_one_replica_work_through_the_others,
            test_two_clients_behind_nginx_are_throttled_apart_and_audited_by_address,
            test_kill_9_of_a_replica_under_load_loses_no_get,
            test_garbage_upstream_is_left_out_and_a_post_is_not_retried,
            test_live_streams_reconnect_through_nginx_after_kill_9,
        ])
    finally:
        tear_down()
