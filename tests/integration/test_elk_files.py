"""deploy/elk (docs/search.md, "Logs to the ELK path"): the saved-objects file for OpenSearch
Dashboards / Kibana is valid JSON lines (one object a line, type, id, attributes), every
reference names an object of the file, the visualizations' visState and search sources are JSON,
and the dashboard shows the errors per stage and per camera of the vigil-logs-* index pattern;
the Filebeat input is YAML with an ndjson parser; the Logstash pipeline maps every field vigil's
JSON lines have (log.c: ts, level, stage, camera, msg, repeated) and writes the indices vigil's
own log shipper writes."""
import json
import os
import re
import sys

SRC = os.environ.get("VIGIL_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
ELK = os.path.join(SRC, "deploy", "elk")


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def test_saved_objects_are_json_lines_with_resolved_references():
    objs = {}
    with open(os.path.join(ELK, "dashboards", "vigil-saved-objects.ndjson")) as f:
        for n, line in enumerate(f, 1):
            check(line.endswith("\n") and line.strip(), f"line {n}: empty or unterminated")
            try:
                o = json.loads(line)
            except ValueError as e:
                fail(f"line {n}: not JSON: {e}")
            check(isinstance(o, dict) and {"type", "id", "attributes"} <= o.keys(),
                  f"line {n}: not a saved object: {sorted(o)}")
            objs[(o["type"], o["id"])] = o
    for (t, i), o in objs.items():
        for r in o.get("references", []):
            check((r["type"], r["id"]) in objs, f"{t} {i}: reference {r} not in the file")
        if t == "visualization":
            state = json.loads(o["attributes"]["visState"])
            src = json.loads(o["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
            check("level:error" in src["query"]["query"], f"{i}: not about errors")
            fields = {a["params"].get("field") for a in state["aggs"]}
            check(fields & {"stage", "camera"}, f"{i}: split by {fields}")
    pattern = objs.get(("index-pattern", "vigil-logs"))
    check(pattern and pattern["attributes"]["title"] == "vigil-logs-*", "no vigil-logs-* pattern")
    dash = [o for (t, _), o in objs.items() if t == "dashboard"]
    check(len(dash) == 1, "one dashboard")
    panels = json.loads(dash[0]["attributes"]["panelsJSON"])
    refs = {r["name"]: r["id"] for r in dash[0]["references"]}
    shown = {refs[p["panelRefName"]] for p in panels}
    check(shown == {"vigil-errors-by-stage", "vigil-errors-by-camera"}, f"panels: {shown}")


def test_filebeat_input_parses_ndjson():
    import yaml
    with open(os.path.join(ELK, "filebeat.yml")) as f:
        fb = yaml.safe_load(f)
    inp = fb["filebeat.inputs"][0]
    check(inp["type"] == "filestream" and any("ndjson" in p for p in inp["parsers"]),
          f"filebeat input: {inp}")
    check(fb["output.logstash"]["hosts"], "no Logstash output")


def test_logstash_pipeline_maps_vigil_fields_to_vigil_indices():
    with open(os.path.join(ELK, "logstash", "vigil.conf")) as f:
        conf = f.read()
    body = re.sub(r"#.*", "", conf)
    bare = re.sub(r'"[^"\n]*"|/\^[^/\n]*/', "", body)  # strings and regexes aside
    check(bare.count("{") == bare.count("}"), "unbalanced braces")
    for section in ("input", "filter", "output"):
        check(re.search(rf"^{section}\s*{{", body, re.M), f"no {section} section")
    for field in ("ts", "level", "stage", "camera", "msg", "repeated"):
        check(re.search(rf"#\s+{field}\s+->", conf), f"field {field} not in the mapping")
    check('match => ["ts", "ISO8601"]' in body, "ts is not the event time")
    check('index => "vigil-logs-%{+YYYY.MM.dd}"' in body, "not vigil's log indices")


if __name__ == "__main__":
    for t in (test_saved_objects_are_json_lines_with_resolved_references,
              test_filebeat_input_parses_ndjson,
              test_logstash_pipeline_maps_vigil_fields_to_vigil_indices):
        t()
        print(f"[  PASSED  ] {t.__name__}")
