"""Runs the real vigil binary for end-to-end tests and talks to its HTTP API.

The binary is $VIGIL_BINARY (set by ctest). Each test gets a temporary data
directory and an API on a free loopback port (--http 127.0.0.1:0; the port is
read from the JSON log line the pipeline prints when it starts).

The API needs sign-in (docs/security.md): unless auth=False, the harness
makes an admin ("e2e-admin") and a write-scope bearer token with the CLI on
the data directory before vigil starts, and get()/request() send the token."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

MULT = float(os.environ.get("VIGIL_TEST_TIMEOUT_MULTIPLIER", "1") or 1)
BINARY = os.environ.get("VIGIL_BINARY") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "vigil")


def media_dir():
    d = os.environ.get("VIGIL_MEDIA")
    if d:
        return d
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "vigil", "media")


class Skip(SystemExit):
    """A test that cannot run here (docs/testing.md, "Skips"). Inside
    run_tests() it marks the test skipped; raised anywhere else it ends the
    script with status 77, which ctest reports as "Skipped" (never "Passed")."""

    def __init__(self, why):
        super().__init__(77)
        self.why = why


def skip(why):
    """Skips the running test (or the whole script) saying why."""
    print(f"SKIP: {why}", flush=True)
    raise Skip(why)


def media(name):
    path = os.path.join(media_dir(), name)
    if not os.path.exists(path):
        skip(f"sample media {path} missing (run scripts/setup.sh media)")
    return path


class Failure(AssertionError):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def sanitizer_errors(text):
    return [l for l in text.splitlines()
            if "ERROR: AddressSanitizer" in l or "runtime error:" in l
            or "ERROR: LeakSanitizer" in l or "WARNING: ThreadSanitizer" in l]


def admin_token(data_dir, cfg_args=(), env=None, name="e2e-admin"):
    """Makes user `name` (admin) on data_dir's warehouse if it is not there,
    and returns a new write-scope token of it (the CLI's last line)."""
    os.makedirs(data_dir, exist_ok=True)
    base = [BINARY]
    common = ["--data-dir", data_dir] + list(cfg_args)
    r = subprocess.run(base + ["user", "add", name, "--role", "admin"] + common,
                       input=b"e2e-password-1\n", capture_output=True, env=env,
                       timeout=60 * MULT)
    if r.returncode != 0 and b"exists" not in r.stderr + r.stdout:
        raise Failure(f"vigil user add {name}: exit {r.returncode}: {r.stderr.decode()[-500:]}")
    r = subprocess.run(base + ["token", "create", name, "--scope", "write"] + common,
                       capture_output=True, env=env, timeout=60 * MULT)
    if r.returncode != 0:
        raise Failure(f"vigil token create {name}: exit {r.returncode}: {r.stderr.decode()[-500:]}")
    return r.stdout.decode().strip().splitlines()[-1]


class Vigil:
    """A `vigil run` process. Use as a context manager; stop() returns its exit code."""

    def __init__(self, args, data_dir=None, env=None, config=None, auth=True):
        self.tmp = tempfile.mkdtemp(prefix="vigil-e2e-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.log_path = os.path.join(self.tmp, "vigil.log")
        cmd = [BINARY, "run", "--http", "127.0.0.1:0", "--data-dir", self.data_dir]
        self.cfg_args = []
        if config is not None:
            cfg_path = os.path.join(self.tmp, "vigil.yaml")
            with open(cfg_path, "w") as f:
                f.write(config)
            self.cfg_args = ["--config", cfg_path]
            cmd += self.cfg_args
        cmd += args
        e = dict(os.environ)
        e.update(env or {})
        self.env = e
        # the CLI must reach the same warehouse: the config and any --store
        store = [a for i, a in enumerate(args[:-1]) if a == "--store"]
        store_args = ["--store", args[args.index("--store") + 1]] if store else []
        self.token = admin_token(self.data_dir, self.cfg_args + store_args, e) if auth else None
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=e)
        self.port = None
        self.exit_code = None

    def __enter__(self):
        self.wait_port()
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        if exc[0] is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"vigil log kept at {self.log_path}")
            print(self.log_text()[-4000:])

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def log_records(self):
        out = []
        for line in self.log_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def wait_port(self, timeout=30):
        deadline = time.time() + timeout * MULT
        while time.time() < deadline:
            m = re.search(r'api listening on http://[^ ]+ \(port (\d+)\)', self.log_text())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                raise Failure(f"vigil exited with {self.proc.returncode} before listening:\n"
                              + self.log_text()[-3000:])
            time.sleep(0.1)
        raise Failure("vigil did not start listening in time:\n" + self.log_text()[-3000:])

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path, token=None):
        """Returns (status, headers, body bytes)."""
        return self.request("GET", path, token=token)

    def request(self, method, path, body=None, headers=None, token=None):
        """Sends a request with the admin token (or `token`; "" = none);
        body: bytes, or an object sent as JSON. Returns (status, headers, body)."""
        h = dict(headers or {})
        tok = self.token if token is None else token
        if tok:
            h.setdefault("Authorization", "Bearer " + tok)
        if body is not None and not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.url(path), data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=10 * MULT) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, path, expect=200):
        status, _, body = self.get(path)
        check(status == expect, f"GET {path}: status {status}, want {expect}: {body[:300]!r}")
        return json.loads(body)

    def wait_for(self, what, fn, timeout=120):
        deadline = time.time() + timeout * MULT
        last = None
        while time.time() < deadline:
            last = fn()
            if last:
                return last
            if self.proc.poll() is not None:
                raise Failure(f"vigil exited with {self.proc.returncode} while waiting for {what}")
            time.sleep(0.25)
        raise Failure(f"timed out waiting for {what} (last: {last!r})")

    def stop(self, sig=signal.SIGTERM, timeout=60):
        self.proc.send_signal(sig)
        try:
            self.exit_code = self.proc.wait(timeout=timeout * MULT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure("vigil did not stop within the timeout after " + sig.name)
        errs = sanitizer_errors(self.log_text())
        check(not errs, "sanitizer errors:\n" + "\n".join(errs[:20]))
        return self.exit_code


def metrics_values(text):
    """Parses Prometheus text into {(name, frozenset(labels)): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([^ ]+)', line)
        if not m:
            continue
        labels = frozenset(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def run_tests(tests):
    """Runs the tests; exits 1 if one failed, else 77 if one skipped (ctest:
    Skipped; the script did not show all it exists to show), else 0.
    VIGIL_E2E_ONLY=NAME,NAME runs only those (the ThreadSanitizer tree leaves
    out what is too slow there; CMakeLists.txt says which)."""
    failed = skipped = 0
    only = [n for n in os.environ.get("VIGIL_E2E_ONLY", "").split(",") if n]
    if only:
        tests = [t for t in tests if t.__name__ in only]
        print(f"VIGIL_E2E_ONLY: running {', '.join(t.__name__ for t in tests)}")
    for t in tests:
        name = t.__name__
        try:
            t()
            print(f"[  PASSED  ] {name}")
        except Skip as e:
            skipped += 1
            print(f"[  SKIPPED ] {name}: {e.why}")
        except Failure as e:
            failed += 1
            print(f"[  FAILED  ] {name}: {e}")
    print(f"{len(tests) - failed - skipped} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed else 77 if skipped else 0)
