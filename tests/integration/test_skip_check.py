#!/usr/bin/env python3
"""`make test` cannot pass by skipping (issue 11, item 3; docs/testing.md).

Runs real ctest on small throw-away projects whose tests skip the way vigil's
do (exit 77 under SKIP_RETURN_CODE), feeds its JUnit output to
tests/check_skips.py, and checks the verdict; checks that a real cmocka test
binary whose test calls skip() exits 77; and checks that the Makefile's test
target writes JUnit for every ctest run and hands it to the checker.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from vigil_harness import check, run_tests, skip  # noqa: E402

SRC = os.environ.get("VIGIL_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
CHECKER = os.path.join(SRC, "tests", "check_skips.py")
BUILD = os.path.dirname(os.environ.get("VIGIL_BINARY") or os.path.join(SRC, "build", "vigil"))
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("VIGIL_ALLOW_SKIP", "CI")}


def ctest_junit(tests):
    """Runs ctest on a project of (name, shell command) tests; returns the JUnit path."""
    tmp = tempfile.mkdtemp(prefix="vigil-skipcheck-")
    lines = ["cmake_minimum_required(VERSION 3.20)", "project(skips NONE)", "enable_testing()"]
    for name, cmd in tests:
        lines.append('add_test(NAME %s COMMAND sh -c "%s")' % (name, cmd.replace('"', '\\"')))
        lines.append("set_tests_properties(%s PROPERTIES SKIP_RETURN_CODE 77)" % name)
    with open(os.path.join(tmp, "CMakeLists.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    b = os.path.join(tmp, "build")
    subprocess.run(["cmake", "-S", tmp, "-B", b], check=True, capture_output=True)
    r = subprocess.run(["ctest", "--output-junit", "junit.xml", "--no-tests=error"], cwd=b,
                       capture_output=True, text=True)
    check(r.returncode == 0, "ctest itself fails on skips: %s" % r.stdout[-500:])
    return os.path.join(b, "junit.xml")


def checker(junits, **env):
    e = dict(CLEAN_ENV, **env)
    return subprocess.run([sys.executable, CHECKER] + junits, capture_output=True, text=True,
                          env=e)


def test_make_test_fails_when_e2e_skipped():
    j = ctest_junit([("unit_ok", "echo fine"),
                     ("e2e_test_run_vtest",
                      "echo 'SKIP: sample media /x/vtest.avi missing (run scripts/setup.sh media)';"
                      " exit 77")])
    r = checker([j])
    check(r.returncode == 1, "checker exit %d on a skipped e2e suite: %s" % (r.returncode, r.stdout))
    check("SKIPPED: e2e_test_run_vtest" in r.stdout and "sample media /x/vtest.avi missing"
          in r.stdout, "the skipped suite and why are not listed: %s" % r.stdout)
    check("FAILED: 1 suite that must run on this machine was skipped" in r.stdout, r.stdout)


def test_make_test_passes_when_every_suite_ran():
    j = ctest_junit([("unit_ok", "echo fine"), ("e2e_ok", "echo also fine")])
    r = checker([j])
    check(r.returncode == 0 and r.stdout == "", "exit %d: %s" % (r.returncode, r.stdout))


def test_kafka_skip_allowed_only_when_told_and_never_under_ci():
    j = ctest_junit([("integration_test_kafka_bus", "echo 'skip: mvn not installed'; exit 77")])
    check(checker([j]).returncode == 1, "an unallowed kafka skip passed")
    r = checker([j], VIGIL_ALLOW_SKIP="kafka")
    check(r.returncode == 0 and "allowed by VIGIL_ALLOW_SKIP=kafka" in r.stdout,
          "allowed kafka skip: exit %d: %s" % (r.returncode, r.stdout))
    r = checker([j], VIGIL_ALLOW_SKIP="kafka", CI="true")
    check(r.returncode == 1 and "refused under CI" in r.stdout,
          "CI allowed a skip: exit %d: %s" % (r.returncode, r.stdout))
    # an allowance for kafka does not cover another suite
    j2 = ctest_junit([("e2e_test_ocr_cli", "echo 'SKIP: models missing'; exit 77")])
    check(checker([j2], VIGIL_ALLOW_SKIP="kafka").returncode == 1, "kafka allowed an ocr skip")


def test_disabled_test_counts_as_skipped():
    tmp = ctest_junit([("unit_ok", "true")])
    with open(tmp) as f:
        text = f.read()
    text = text.replace("</testsuite>", '<testcase name="e2e_x" status="disabled">'
                        "<system-out>Disabled</system-out></testcase></testsuite>")
    with open(tmp, "w") as f:
        f.write(text)
    check(checker([tmp]).returncode == 1, "a disabled test passed the checker")


def test_no_test_at_all_fails():
    tmp = tempfile.mkdtemp(prefix="vigil-skipcheck-")
    path = os.path.join(tmp, "junit.xml")
    with open(path, "w") as f:
        f.write('<?xml version="1.0"?><testsuite tests="0"></testsuite>\n')
    r = checker([path])
    check(r.returncode == 1 and "no test ran" in r.stdout, r.stdout)
    r = checker([os.path.join(tmp, "missing.xml")])
    check(r.returncode == 1 and "cannot read" in r.stdout, r.stdout)


def test_cmocka_binary_with_a_skipped_test_exits_77():
    binary = os.path.join(BUILD, "test_config")
    if not os.access(binary, os.X_OK):
        skip("%s not built (cmocka missing?)" % binary)
    tmp = tempfile.mkdtemp(prefix="vigil-skipcheck-")
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_SOURCE_DIR"}
    # without VIGIL_SOURCE_DIR (and a cwd without config/) the example-file test skips
    r = subprocess.run([binary], cwd=tmp, env=env, capture_output=True, text=True, timeout=120)
    check(r.returncode == 77, "exit %d, want 77: %s" % (r.returncode, r.stdout[-800:]))
    check("[  SKIPPED ] test_config_example_file_loads_and_validates" in r.stdout, r.stdout[-800:])
    r = subprocess.run([binary], cwd=tmp, env=dict(env, VIGIL_SOURCE_DIR=SRC),
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "exit %d with nothing skipped: %s" % (r.returncode, r.stdout[-800:]))


def test_makefile_checks_every_ctest_run():
    with open(os.path.join(SRC, "Makefile")) as f:
        mk = f.read()
    m = re.search(r"^test:.*?(?=^\S)", mk, re.S | re.M)
    check(m, "no test target in the Makefile")
    body = m.group(0).replace("\\\n", " ")  # one line per command
    runs = [l for l in body.splitlines()
            if re.search(r"\bctest\s", l) and "check_skips" not in l]
    check(runs, "the test target runs no ctest")
    for l in runs:
        check("--output-junit" in l and "--no-tests=error" in l,
              "a ctest run of `make test` writes no JUnit or accepts no tests: %s" % l.strip())
    check("tests/check_skips.py" in body, "the test target never runs tests/check_skips.py")
    junits = re.findall(r"--output-junit\s+(\S+)", body)
    checked = " ".join(l for l in body.splitlines() if "check_skips" in l)
    for j in junits:
        check(os.path.basename(j) in checked, "JUnit %s is not checked" % j)


if __name__ == "__main__":
    if not shutil.which("ctest") or not shutil.which("cmake"):
        skip("cmake/ctest not on PATH")
    run_tests([test_make_test_fails_when_e2e_skipped, test_make_test_passes_when_every_suite_ran,
               test_kafka_skip_allowed_only_when_told_and_never_under_ci,
               test_disabled_test_counts_as_skipped, test_no_test_at_all_fails,
               test_cmocka_binary_with_a_skipped_test_exits_77,
               test_makefile_checks_every_ctest_run])
