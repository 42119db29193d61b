#!/usr/bin/env python3
"""Fails `make test` when a test suite that must run on this machine was skipped.

usage: tests/check_skips.py JUNIT.xml [JUNIT.xml ...]

Reads the JUnit files `ctest --output-junit` wrote (one per ctest run of
`make test`) and lists every test that did not run (status "notrun": it
exited 77, SKIP_RETURN_CODE; or "disabled") with why: the lines of its
output that say SKIP, else its last line. A skip is allowed only when
VIGIL_ALLOW_SKIP names it: a comma-separated list of words, each matched
against the test name (VIGIL_ALLOW_SKIP=kafka allows the Kafka suites on a
machine without Kafka's JDK). Under CI (the CI variable set, as CI services
do) nothing may be skipped and VIGIL_ALLOW_SKIP is refused.

Exit 0 when nothing was skipped or every skip was allowed; 1 otherwise, or
when a file is missing, unreadable or holds no test at all (a filter that
matched nothing has not shown anything either). docs/testing.md, "Skips".
"""
import os
import sys
import xml.etree.ElementTree as ET


def allowed_words():
    raw = os.environ.get("VIGIL_ALLOW_SKIP", "")
    return [w.strip().lower() for w in raw.split(",") if w.strip()]


def in_ci():
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def reason(case):
    out = case.findtext("system-out") or ""
    lines = [l.strip() for l in out.splitlines() if l.strip()]
    said = [l for l in lines if "skip" in l.lower() and "[  SKIPPED ] " not in l]
    said += [l for l in lines if l.startswith("[  SKIPPED ] ") and "test(s)" not in l]
    if said:
        return " | ".join(dict.fromkeys(said[:4]))
    if lines:
        return lines[-1]
    sk = case.find("skipped")
    return sk.get("message", "") if sk is not None else case.get("status", "not run")


def skipped_cases(path):
    root = ET.parse(path).getroot()
    cases = root.iter("testcase")
    total, out = 0, []
    for c in cases:
        total += 1
        if c.get("status") in ("notrun", "disabled") or c.find("skipped") is not None:
            out.append((c.get("name", "?"), reason(c)))
    return total, out


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    words = allowed_words()
    ci = in_ci()
    bad, allowed, problems = [], [], []
    if ci and words:
        problems.append("VIGIL_ALLOW_SKIP=%s is refused under CI: CI runs every suite"
                        % os.environ.get("VIGIL_ALLOW_SKIP"))
        words = []
    for path in argv[1:]:
        try:
            total, skipped = skipped_cases(path)
        except (OSError, ET.ParseError) as e:
            problems.append("%s: cannot read ctest's JUnit output: %s" % (path, e))
            continue
        if total == 0:
            problems.append("%s: no test ran" % path)
        where = os.path.basename(os.path.dirname(os.path.abspath(path)))
        for name, why in skipped:
            hit = next((w for w in words if w in name.lower()), None)
            (allowed if hit else bad).append((name, where, why, hit))
    for name, where, why, hit in allowed:
        print("make test: skipped (allowed by VIGIL_ALLOW_SKIP=%s): %s [%s]: %s"
              % (hit, name, where, why))
    for name, where, why, _ in bad:
        print("make test: SKIPPED: %s [%s]: %s" % (name, where, why))
    for p in problems:
        print("make test: %s" % p)
    if bad or problems:
        if bad:
            print("make test: FAILED: %d suite%s that must run on this machine %s skipped; "
                  "install what is missing (scripts/setup.sh test, `vigil models fetch`, "
                  "scripts/ref/setup.sh), or, on a machine without Kafka's JDK only, "
                  "allow it with VIGIL_ALLOW_SKIP=kafka (never under CI)"
                  % (len(bad), "" if len(bad) == 1 else "s", "was" if len(bad) == 1 else "were"))
        else:
            print("make test: FAILED (see above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
