#!/usr/bin/env python3
"""The test hooks are out of the product (issue 11, item 4; docs/testing.md).

`vigil` ignores VIGIL_TEST_CRASH_AFTER_PROCESSING and VIGIL_TEST_ACKED_FILE
(it says so once and runs normally); `vigil-fault`, built by trees configured
with -DVIGIL_FAULT_INJECTION=ON, has them: it dies with 137 at the Nth message
and writes the acked file.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigil_harness import BINARY, MULT, check, run_tests, skip  # noqa: E402

FAULT_BINARY = os.environ.get("VIGIL_FAULT_BINARY") or os.path.join(
    os.path.dirname(BINARY), "vigil-fault")


def run(binary, tmp, duration):
    acked = os.path.join(tmp, "acked.txt")
    env = dict(os.environ, VIGIL_TEST_CRASH_AFTER_PROCESSING="5", VIGIL_TEST_ACKED_FILE=acked)
    args = [binary, "run", "--source", "testsrc", "--set", "infer.model=motion", "--http",
            "127.0.0.1:0", "--data-dir", os.path.join(tmp, "data"), "--duration", str(duration)]
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120 * MULT)
    return r, acked


def test_release_binary_ignores_the_test_hooks():
    tmp = tempfile.mkdtemp(prefix="vigil-fault-")
    r, acked = run(BINARY, tmp, 3)
    check(r.returncode == 0, "vigil exit %d (a hook fired?): %s" % (r.returncode, r.stderr[-2000:]))
    check("VIGIL_TEST_CRASH_AFTER_PROCESSING is set but this binary has no fault injection"
          in r.stderr, "no warning that the variable is ignored")
    check(not os.path.exists(acked), "vigil wrote the acked file")


def test_fault_binary_has_the_hooks():
    if not os.access(FAULT_BINARY, os.X_OK):
        skip("%s not built (configure with -DVIGIL_FAULT_INJECTION=ON; `make test` does)"
             % FAULT_BINARY)
    tmp = tempfile.mkdtemp(prefix="vigil-fault-")
    r, acked = run(FAULT_BINARY, tmp, 60)
    check(r.returncode == 137, "vigil-fault exit %d, want 137" % r.returncode)
    check("VIGIL_TEST_CRASH_AFTER_PROCESSING=5: exiting before the ack" in r.stderr, r.stderr[-2000:])
    with open(acked) as f:
        lines = f.read().splitlines()
    check(lines and all(l.startswith("cam0 ") for l in lines), "acked file: %r" % lines[:5])


if __name__ == "__main__":
    run_tests([test_release_binary_ignores_the_test_hooks, test_fault_binary_has_the_hooks])
