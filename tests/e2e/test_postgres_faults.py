"""The PostgreSQL warehouse under bad input and faults (issue 12, "Bad input
and faults"): a wrong password, an unreachable server, a database with a
newer schema, and the server stopped and started again while vigil runs.

A real server: scripts/postgres starts a throwaway cluster on 127.0.0.1:19142
(its own directory) and the test stops it. Each case gets its own schema of
that database (search_path in the url's options), so cases never see each
other's rows. Errors must name the server (host and port) and never the
password."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from store_outage import (Server, camera_config, check_outage_survived,  # noqa: E402
                          password_of, preprocess_counts, start_server, stop_for_4s_mid_stream)
from vigil_harness import BINARY, MULT, Vigil, check, run_tests  # noqa: E402

SRC = os.environ.get("VIGIL_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
PORT = os.environ.get("VIGIL_PG_FAULTS_PORT", "19142")
ENV = dict(os.environ, VIGIL_PG_PORT=PORT, VIGIL_PG_DIR=f"/tmp/vigil-pg-faults-{PORT}",
           VIGIL_PG_FAST="1")
SERVER = Server(os.path.join(SRC, "scripts", "postgres"), ENV, timeout=300)
URL = None


def psql(sql, schema=None):
    url = URL + (f"?options=-csearch_path%3D{schema}" if schema else "")
    r = subprocess.run(["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"psql {sql!r}: {r.stderr}")
    return r.stdout.strip()


def schema_url(name):
    """A url whose tables live in schema `name` (made empty here)."""
    psql(f"DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}")
    return URL + f"?options=-csearch_path%3D{name}"


def vigil_cli(*args):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=120)


def test_wrong_password_is_refused_naming_the_server_never_the_password():
    wrong = URL.replace(password_of(URL), "not-the-Passw0rd")
    r = vigil_cli("db", "migrate", "--store", wrong)
    out = r.stdout + r.stderr
    check(r.returncode != 0, f"a wrong password was accepted: {out}")
    check("password authentication failed" in out, f"no reason: {out}")
    check("127.0.0.1" in out and PORT in out, f"the server is not named: {out}")
    check("not-the-Passw0rd" not in out and password_of(URL) not in out,
          f"a password in the message: {out}")


def test_unreachable_server_names_host_and_port_never_the_password():
    # nothing listens on port 1; a short connect timeout keeps the test quick
    r = vigil_cli("db", "migrate", "--store", "postgres://vigil:Sekr1tPw@127.0.0.1:1/vigil")
    out = r.stdout + r.stderr
    check(r.returncode != 0, f"an unreachable server was accepted: {out}")
    check('"127.0.0.1", port 1' in out and "refused" in out, f"host:port or reason missing: {out}")
    check("Sekr1tPw" not in out, f"the password in the message: {out}")


def test_newer_schema_version_is_refused_and_left_alone():
    url = schema_url("newer_schema")
    r = vigil_cli("db", "migrate", "--store", url)
    check(r.returncode == 0, f"migrating an empty schema failed: {r.stderr}")
    psql("UPDATE vigil_schema SET version = 99", "newer_schema")
    for args in (["db", "migrate"], ["db", "version"]):
        r = vigil_cli(*args, "--store", url)
        out = r.stdout + r.stderr
        if args[1] == "migrate":
            check(r.returncode != 0, f"a newer schema was migrated: {out}")
            check("store schema version 99 is newer than this vigil knows" in out,
                  f"no precise refusal: {out}")
            check("127.0.0.1" in out and password_of(URL) not in out, f"server/password: {out}")
    check(psql("SELECT version FROM vigil_schema", "newer_schema") == "99",
          "the newer schema's version was changed")


def test_server_stopped_mid_stream_then_back_loses_and_duplicates_nothing():
    """PostgreSQL stopped for 4 s while a 20 fps camera streams: preprocess
    waits for it with the frame it holds (unacknowledged) and stores it once
    the server is back; every frame ingest published is stored exactly once,
    without a gap in the sequences, and every stored frame's detections once."""
    url = schema_url("restart")
    with Vigil(["--store", url], config=camera_config()) as v:  # a token for /metrics
        def stored():
            return int(psql("SELECT count(*) FROM frames", "restart") or 0)
        published = stop_for_4s_mid_stream(v, SERVER, "PostgreSQL", URL, stored, must_name=PORT)

        def drained():
            n = psql("SELECT count(*) FROM frames WHERE detection_count IS NULL", "restart")
            return n == "0"
        v.wait_for("every stored frame's results", drained, timeout=120 * MULT)
        counts = preprocess_counts(v)
        check(v.stop() == 0, "exit code after SIGTERM")
        log = v.log_text()
    # the outage was seen, retried and survived; every frame ingest
    # published went through preprocess once, none failed
    check_outage_survived(log, URL, counts, published)
    # ... and is in the warehouse once: as many rows as published, no gap
    frames = int(psql("SELECT count(*) FROM frames", "restart"))
    check(frames == published, f"{frames} frames stored of {published} published")
    span = psql("SELECT max(sequence) - min(sequence) + 1 FROM frames", "restart")
    check(int(span) == frames, f"the sequences span {span} for {frames} frames: a gap")
    check(psql("SELECT count(*) - count(DISTINCT (camera_id, sequence)) FROM frames",
               "restart") == "0", "a frame stored twice")
    # every detection once, and every stored frame's detections all there:
    # its detection_count is the number of its rows
    check(psql("SELECT count(*) - count(DISTINCT (camera_id, sequence, model, idx)) "
               "FROM detections", "restart") == "0", "a detection stored twice")
    mismatched = psql("SELECT count(*) FROM frames f WHERE f.detection_count <> (SELECT count(*) "
                      "FROM detections d WHERE d.camera_id = f.camera_id AND "
                      "d.sequence = f.sequence)", "restart")
    check(mismatched == "0", f"{mismatched} frames whose detections are missing or extra")
    retried = log.count("cannot store frame yet")
    print(f"restart: {published} frames published, {frames} stored once each, "
          f"{psql('SELECT count(*) FROM detections', 'restart')} detections stored once each; "
          f"{retried} retry records in the log")


if __name__ == "__main__":
    URL = start_server(SERVER, "postgres://", "PostgreSQL", "PostgreSQL (libpq-dev missing)")
    try:
        run_tests([f for n, f in list(globals().items()) if n.startswith("test_")])
    finally:
        SERVER("stop")
