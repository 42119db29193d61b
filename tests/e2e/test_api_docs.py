"""docs/api.md follows from the OpenAPI document: its reference section is
what scripts/gen_api_docs.py writes from api/openapi.json (run that script
after changing the document), and every operation of the document appears
in it. No binary needed."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from vigil_harness import check, run_tests  # noqa: E402

ROOT = os.environ.get("VIGIL_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")


def test_reference_section_up_to_date():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_api_docs.py"),
                        "--check"], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, (r.stdout + r.stderr).strip())


def test_every_operation_in_the_reference():
    with open(os.path.join(ROOT, "api", "openapi.json")) as f:
        doc = json.load(f)
    with open(os.path.join(ROOT, "docs", "api.md")) as f:
        md = f.read()
    missing = [f"{m.upper()} {p}" for p, item in doc["paths"].items() for m in item
               if m in ("get", "post", "put", "patch", "delete")
               and f"### `{m.upper()} {p}`" not in md]
    check(not missing, "not in docs/api.md: " + ", ".join(missing))


if __name__ == "__main__":
    run_tests([test_reference_section_up_to_date, test_every_operation_in_the_reference])
