"""The API reading from a PostgreSQL streaming replica (issue 12, item 5):
`vigil api` with store.url on a primary and store.read_url on a hot standby,
both real servers from scripts/postgres (`start`, `start-replica`:
pg_basebackup -R, a replication role with a password, a slot).

- reads go to the replica: its pg_stat_database commits grow with them, and a
  camera written while the replica's replay is paused is not there for a
  second client until the replica replays it, while the client that wrote
  it reads it at once (read-your-writes: its reads go to the primary);
- the replica killed (SIGKILL) under a steady stream of GETs: every GET
  answers 200 (from the primary), the fallbacks are counted, /readyz stays
  200 and says so; started again, reads return to it;
- replay paused while the primary is written: vigil_api_replica_lag_ms grows,
  past store.read_max_lag_s reads go to the primary (counted as lagging);
  resumed, the lag is back near 0 and reads return;
- no password of either URL in the API's log; the API stops cleanly (no
  sanitizer report in a sanitizer build);
- `vigil config check` refuses store.read_url without PostgreSQL URLs.

Ports 19800 (primary), 19801 (replica), 19810 (the API): CMakeLists.txt
gives the test a RESOURCE_LOCK on them."""
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(__file__))
from vigil_harness import (BINARY, MULT, Failure, admin_token, check, metrics_values,  # noqa: E402
                           run_tests, sanitizer_errors, skip)

SRC = os.environ.get("VIGIL_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
SCRIPT = os.path.join(SRC, "scripts", "postgres")
PORT_PRIMARY, PORT_REPLICA, PORT_API = 19800, 19801, 19810
MAX_LAG_S = 3 * MULT
PG_ENV = dict(os.environ, VIGIL_PG_PORT=str(PORT_PRIMARY), VIGIL_PG_FAST="1",
              VIGIL_PG_DIR=f"/tmp/vigil-pg-{PORT_PRIMARY}",
              VIGIL_PG_REPLICA_PORT=str(PORT_REPLICA))
REPLICA_ENV = dict(PG_ENV, VIGIL_PG_PORT=str(PORT_REPLICA),
                   VIGIL_PG_DIR=f"/tmp/vigil-pg-{PORT_REPLICA}")


class Ctx:
    tmp = None
    primary = replica = None
    api = None
    log = None
    token_a = token_b = None  # two users: A writes, B only reads


def pg(verb, env=PG_ENV, timeout=300):
    r = subprocess.run(["bash", SCRIPT, verb], env=env, capture_output=True, text=True,
                       timeout=timeout * MULT)
    if r.returncode != 0:
        raise Failure(f"scripts/postgres {verb} (port {env['VIGIL_PG_PORT']}): exit "
                      f"{r.returncode}: {r.stderr[-1500:]}")
    return r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""


def psql(sql, env=PG_ENV):
    """SQL as the superuser on a server's socket; the output's text."""
    r = subprocess.run(["bash", SCRIPT, "psql", "-d", "vigil", "-tA", "-c", sql], env=env,
                       capture_output=True, text=True, timeout=60 * MULT)
    check(r.returncode == 0, f"psql {sql!r} on :{env['VIGIL_PG_PORT']}: {r.stderr}")
    return r.stdout.strip()


def request(method, path, token, body=None):
    h = {"Authorization": "Bearer " + token}
    if body is not None:
        body = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    c = http.client.HTTPConnection("127.0.0.1", PORT_API, timeout=10 * MULT)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def metrics():
    st, body = request("GET", "/metrics", Ctx.token_a)
    check(st == 200, f"/metrics: {st}")
    vals = metrics_values(body.decode())
    return lambda name, **labels: vals.get((name, frozenset(labels.items())), None)


def replica_queries():
    """The last statement of each of vigil's connections to the replica (its
    read pool's and the probe's): pg_stat_activity, which is current, where
    pg_stat_database's counts reach the view up to 10 s late."""
    return psql("SELECT query FROM pg_stat_activity WHERE datname = 'vigil' AND "
                "application_name = 'vigil'", REPLICA_ENV)


def events_read_on_replica():
    return "analytics_events" in replica_queries()


def wait_for(what, fn, timeout=20):
    deadline = time.time() + timeout * MULT
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        if Ctx.api.poll() is not None:
            raise Failure(f"vigil api exited with {Ctx.api.returncode} waiting for {what}")
        time.sleep(0.1)
    raise Failure(f"timed out waiting for {what} (last: {last!r})")


def replica_state():
    m = metrics()
    return m("vigil_api_replica_up"), m("vigil_api_replica_lag_ms")


# --- set-up ---------------------------------------------------------------------------

def set_up():
    r = subprocess.run([BINARY, "db", "migrate", "--store", "postgres://x@127.0.0.1:1/x"],
                       capture_output=True, text=True, timeout=60)
    if "not built into this binary" in r.stdout + r.stderr:
        skip("this vigil has no PostgreSQL store (built without libpq)")
    for env in (REPLICA_ENV, PG_ENV):
        subprocess.run(["bash", SCRIPT, "stop"], env=env, capture_output=True, timeout=120)
    try:
        Ctx.primary = pg("start")
    except Failure as e:
        skip(f"no PostgreSQL server: {e}")
    r = subprocess.run([BINARY, "db", "migrate", "--store", Ctx.primary], capture_output=True,
                       text=True, timeout=120 * MULT)
    check(r.returncode == 0, f"vigil db migrate: {r.stderr[-800:]}")
    # the replica after the schema: it starts with it (and would replay it anyway)
    Ctx.replica = pg("start-replica")
    check(f":{PORT_REPLICA}/" in Ctx.replica, f"start-replica's URL: {Ctx.replica!r}")
    check(psql("SELECT pg_is_in_recovery()", REPLICA_ENV) == "t", "the replica is no standby")
    Ctx.tmp = tempfile.mkdtemp(prefix="vigil-e2e-replica-")
    data = os.path.join(Ctx.tmp, "data")
    store = ["--store", Ctx.primary]
    Ctx.token_a = admin_token(data, store, name="writer-a")
    Ctx.token_b = admin_token(data, store, name="reader-b")
    Ctx.log = os.path.join(Ctx.tmp, "api.log")
    env = dict(os.environ, VIGIL_STORE_READ_URL=Ctx.replica,
               VIGIL_STORE_READ_MAX_LAG_S=str(MAX_LAG_S))
    with open(Ctx.log, "w") as f:
        Ctx.api = subprocess.Popen([BINARY, "api", "--http", f"127.0.0.1:{PORT_API}",
                                    "--data-dir", data, *store], stdout=f,
                                   stderr=subprocess.STDOUT, env=env)

    def ready():
        try:
            return request("GET", "/readyz", "")[0] == 200
        except OSError:
            return False
    wait_for("the API", ready)
    wait_for("the replica up", lambda: replica_state()[0] == 1)


def tear_down():
    if Ctx.api and Ctx.api.poll() is None:
        Ctx.api.terminate()
        try:
            Ctx.api.wait(timeout=30 * MULT)
        except subprocess.TimeoutExpired:
            Ctx.api.kill()
            Ctx.api.wait()
    for env in (REPLICA_ENV, PG_ENV):
        subprocess.run(["bash", SCRIPT, "stop"], env=env, capture_output=True, timeout=120)


# --- tests ------------------------------------------------------------------------------

def test_reads_are_served_by_the_replica():
    m = metrics()
    before_reads = m("vigil_api_replica_reads_total", target="replica")
    before_primary = m("vigil_api_replica_reads_total", target="primary")
    check(not events_read_on_replica(), "the replica ran an events query before any read")
    for _ in range(20):
        st, body = request("GET", "/api/v1/events?limit=5", Ctx.token_b)
        check(st == 200, f"GET /api/v1/events: {st} {body[:200]!r}")
    m = metrics()
    reads = m("vigil_api_replica_reads_total", target="replica") - before_reads
    check(reads == 20, f"{reads} reads counted on the replica, want 20")
    check(m("vigil_api_replica_reads_total", target="primary") == before_primary,
          "reads went to the primary")
    # the replica's own view: a connection of vigil's ran the events query there
    check(events_read_on_replica(), f"no events query on the replica: {replica_queries()!r}")
    up, lag = replica_state()
    check(up == 1 and lag is not None and 0 <= lag < 1000 * MULT, f"up {up}, lag {lag} ms")


def test_a_write_is_read_back_by_its_writer_at_once_and_by_others_after_replay():
    psql("SELECT pg_wal_replay_pause()", REPLICA_ENV)
    try:
        st, body = request("POST", "/api/v1/cameras", Ctx.token_a,
                           {"id": "replica-cam", "name": "Replica", "url":
                            "rtsp://127.0.0.1:9/live", "fps": 1})
        check(st == 201, f"POST /api/v1/cameras: {st} {body[:300]!r}")
        st, body = request("GET", "/api/v1/cameras/replica-cam", Ctx.token_a)
        check(st == 200, f"the writer's own read: {st} {body[:200]!r}")
        # the other client reads the replica, which has not replayed the write
        st, body = request("GET", "/api/v1/cameras/replica-cam", Ctx.token_b)
        lagging = metrics()("vigil_api_replica_fallbacks_total", reason="lagging")
        check(st == 404, f"the reader saw the camera before the replica replayed it: {st} "
                         f"(lagging fallbacks {lagging})")
        m = metrics()
        check(m("vigil_api_replica_fallbacks_total", reason="own_write") >= 1,
              "the writer's read is not counted as own_write")
    finally:
        psql("SELECT pg_wal_replay_resume()", REPLICA_ENV)
    wait_for("the camera on the replica",
             lambda: request("GET", "/api/v1/cameras/replica-cam", Ctx.token_b)[0] == 200)


def test_replica_killed_reads_answer_from_the_primary_then_return():
    stop = threading.Event()
    results = []

    def load():
        while not stop.is_set():
            try:
                results.append(request("GET", "/api/v1/events?limit=5", Ctx.token_b)[0])
            except OSError as e:
                results.append(repr(e))
            time.sleep(0.01)
    m = metrics()
    fb0 = (m("vigil_api_replica_fallbacks_total", reason="down") +
           m("vigil_api_replica_fallbacks_total", reason="failed"))
    sw0 = m("vigil_api_replica_switches_total", to="primary")
    t = threading.Thread(target=load)
    t.start()
    try:
        time.sleep(0.5)
        pg("kill", REPLICA_ENV)
        wait_for("the replica seen down", lambda: replica_state()[0] == 0, timeout=10)
        time.sleep(1)
        st, body = request("GET", "/readyz", "")
        ready = json.loads(body)
        check(st == 200 and ready["checks"]["store_replica"].startswith("down"),
              f"/readyz with the replica down: {st} {body!r}")
        n_down = len(results)
        pg("start", REPLICA_ENV)
        wait_for("the replica up again", lambda: replica_state()[0] == 1)
        time.sleep(0.5)
    finally:
        stop.set()
        t.join()
    bad = [r for r in results if r != 200]
    check(not bad, f"{len(bad)} of {len(results)} GETs failed: {bad[:5]}")
    check(n_down > 20, f"only {n_down} GETs ran before the replica came back")
    m = metrics()
    fb = (m("vigil_api_replica_fallbacks_total", reason="down") +
          m("vigil_api_replica_fallbacks_total", reason="failed")) - fb0
    check(fb >= 1, "no fallback counted while the replica was down")
    print(f"replica killed: {len(results)} GETs, all 200; fallbacks down "
          f"{m('vigil_api_replica_fallbacks_total', reason='down')}, failed (run again on the "
          f"primary) {m('vigil_api_replica_fallbacks_total', reason='failed')}")
    check(m("vigil_api_replica_switches_total", to="primary") - sw0 == 1,
          "the switch to the primary is not counted once")
    before = m("vigil_api_replica_reads_total", target="replica")
    for _ in range(10):
        check(request("GET", "/api/v1/events?limit=5", Ctx.token_b)[0] == 200, "a GET failed")
    check(metrics()("vigil_api_replica_reads_total", target="replica") - before >= 10,
          "reads did not return to the replica")
    # its connections are new since the restart: an events query there is a new read
    check(events_read_on_replica(), "the restarted replica ran no events query")


def test_lag_is_measured_and_past_the_bound_reads_go_to_the_primary():
    m = metrics()
    lagging0 = m("vigil_api_replica_fallbacks_total", reason="lagging")
    psql("SELECT pg_wal_replay_pause()", REPLICA_ENV)
    lags = []
    try:
        deadline = time.time() + (MAX_LAG_S + 5) * MULT
        while time.time() < deadline:
            psql("CREATE TABLE IF NOT EXISTS lag_probe (t timestamptz); "
                 "INSERT INTO lag_probe VALUES (now())")
            up, lag = replica_state()
            lags.append(lag)
            if lag is not None and lag > MAX_LAG_S * 1000:
                break
            time.sleep(0.3)
        check(lags[-1] > MAX_LAG_S * 1000, f"the lag never passed the bound: {lags}")
        print(f"lag while replay is paused (ms): {lags}")
        check(all(b >= a for a, b in zip(lags[1:], lags[2:])), f"lag not growing: {lags}")
        time.sleep(0.6)  # the probe's state follows the gauge
        st, _ = request("GET", "/api/v1/events?limit=5", Ctx.token_b)
        check(st == 200, f"a GET while lagging: {st}")
        check(metrics()("vigil_api_replica_fallbacks_total", reason="lagging") > lagging0,
              "no read counted as sent to the primary for lag")
        st, body = request("GET", "/readyz", "")
        check(st == 200 and b"lagging" in body, f"/readyz while lagging: {st} {body!r}")
    finally:
        psql("SELECT pg_wal_replay_resume()", REPLICA_ENV)
    wait_for("the lag back near 0", lambda: 0 <= replica_state()[1] < 1000)
    before = metrics()("vigil_api_replica_reads_total", target="replica")
    check(request("GET", "/api/v1/events?limit=5", Ctx.token_b)[0] == 200, "a GET failed")
    check(metrics()("vigil_api_replica_reads_total", target="replica") > before,
          "reads did not return to the replica after it caught up")


def test_no_password_in_the_log():
    text = open(Ctx.log).read()
    for url in (Ctx.primary, Ctx.replica):
        pw = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
        check(pw not in text, "a database password in the API's log")
    check("read replica postgres://vigil:***@127.0.0.1:19801/vigil" in text,
          "the replica is not named (redacted) in the log")
    lines = [l for l in text.splitlines() if l.strip()]
    raw = [l for l in lines if not l.startswith("{")]
    check(not raw, f"lines that are not JSON in the log: {raw[:3]}")


def test_api_stops_cleanly():
    Ctx.api.terminate()
    try:
        code = Ctx.api.wait(timeout=30 * MULT)
    except subprocess.TimeoutExpired:
        raise Failure("vigil api did not stop on SIGTERM (the probe thread?)")
    text = open(Ctx.log).read()
    errs = sanitizer_errors(text)
    check(not errs, "sanitizer errors:\n" + "\n".join(errs[:20]))
    check(code == 0, f"vigil api exited with {code}: {text[-1500:]}")


def test_config_check_refuses_a_read_url_without_postgres():
    path = os.path.join(Ctx.tmp, "sqlite-read.yaml")
    with open(path, "w") as f:
        f.write('store:\n  url: sqlite\n  read_url: "postgres://u:Sekr1t@127.0.0.1:1/db"\n')
    r = subprocess.run([BINARY, "config", "check", path], capture_output=True, text=True,
                       timeout=60)
    out = r.stdout + r.stderr
    check(r.returncode != 0, f"accepted: {out}")
    check("store.read_url" in out and "postgres://" in out, f"no reason: {out}")
    check("Sekr1t" not in out, f"the password in the message: {out}")


if __name__ == "__main__":
    try:
        set_up()
        run_tests([test_reads_are_served_by_the_replica,
                   test_a_write_is_read_back_by_its_writer_at_once_and_by_others_after_replay,
                   test_replica_killed_reads_answer_from_the_primary_then_return,
                   test_lag_is_measured_and_past_the_bound_reads_go_to_the_primary,
                   test_no_password_in_the_log,
                   test_api_stops_cleanly,
                   test_config_check_refuses_a_read_url_without_postgres])
    finally:
        tear_down()
