#!/usr/bin/env python3
"""Writes the reference section of docs/api.md from api/openapi.json.

The OpenAPI document is the one description of the API's routes (the code is
checked against it by tests/unit/api/test_api_openapi.c); the reference in
docs/api.md follows from it, between the markers below, so that the two
cannot drift. The hand-written sections of docs/api.md around the markers
are kept as they are.

  scripts/gen_api_docs.py           rewrite the section in place
  scripts/gen_api_docs.py --check   exit 1 (and say so) when it is out of date

Standard library only."""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "api", "openapi.json")
MD = os.path.join(ROOT, "docs", "api.md")
BEGIN = "<!-- BEGIN reference: generated from api/openapi.json by scripts/gen_api_docs.py; do not edit -->"
END = "<!-- END reference -->"
# Responses every route may give at the edge, listed once (Common errors)
# rather than under each operation.
COMMON = ("PayloadTooLarge", "URITooLong", "UnsupportedMediaType", "Misdirected",
          "TooManyRequests", "HeadersTooLarge", "Unavailable")
METHODS = ("get", "post", "put", "patch", "delete")
ROLE_TEXT = {"public": "anyone", "viewer": "viewer or above", "operator": "operator or admin",
             "admin": "admin"}


def resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        at = doc
        for part in node["$ref"][2:].split("/"):
            at = at[part]
        node = at
    return node


def ref_name(node):
    if isinstance(node, dict) and "$ref" in node:
        return node["$ref"].rsplit("/", 1)[1]
    return None


def esc(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def type_text(doc, schema):
    """A short description of a schema's type and constraints."""
    name = ref_name(schema)
    if name:
        return f"[{name}](#schema-{name.lower()})"
    if not isinstance(schema, dict):
        return "any"
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return " or ".join(type_text(doc, s) for s in schema[key])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    t = schema.get("type", "any")
    types = t if isinstance(t, list) else [t]
    parts = []
    for ty in types:
        if ty == "array":
            parts.append("array of " + type_text(doc, schema.get("items", {})))
        elif ty == "null":
            continue
        else:
            parts.append(ty)
    text = " or ".join(parts) or "null"
    if "null" in types:
        text += " or null"
    extra = []
    if "enum" in schema:
        extra.append("one of " + ", ".join(f"`{v}`" for v in schema["enum"] if v is not None))
    if "minimum" in schema or "maximum" in schema:
        extra.append(f"{schema.get('minimum', '')}..{schema.get('maximum', '')}")
    if "minLength" in schema or "maxLength" in schema:
        extra.append(f"{schema.get('minLength', 0)}..{schema.get('maxLength', '')} characters")
    if "minItems" in schema and schema.get("minItems") == schema.get("maxItems"):
        extra.append(f"{schema['minItems']} items")
    elif "minItems" in schema and "maxItems" in schema:
        extra.append(f"{schema['minItems']}..{schema['maxItems']} items")
    elif "maxItems" in schema:
        extra.append(f"at most {schema['maxItems']} items")
    elif "minItems" in schema:
        extra.append(f"at least {schema['minItems']} items")
    if "exclusiveMinimum" in schema:
        extra.append(f"above {schema['exclusiveMinimum']}")
    if "pattern" in schema:
        extra.append(f"pattern `{schema['pattern']}`")
    if "format" in schema and schema["format"] not in ("int64", "binary"):
        extra.append(schema["format"])
    if "default" in schema:
        extra.append(f"default `{json.dumps(schema['default'])}`")
    if extra:
        text += " (" + "; ".join(extra) + ")"
    return text


def params_table(doc, params):
    rows = ["| parameter | in | type | required | meaning |", "| --- | --- | --- | --- | --- |"]
    for p in params:
        p = resolve(doc, p)
        rows.append(f"| `{p['name']}` | {p['in']} | {esc(type_text(doc, p.get('schema', {})))} | "
                    f"{'yes' if p.get('required') else 'no'} | {esc(p.get('description', ''))} |")
    return rows


def content_text(doc, content):
    out = []
    for ctype, media in (content or {}).items():
        schema = media.get("schema")
        out.append(f"`{ctype}`" + (f" {type_text(doc, schema)}" if schema else ""))
    return ", ".join(out)


def operation(doc, method, path, op):
    lines = [f"### `{method.upper()} {path}`", ""]
    lines.append(f"{op.get('summary', '')}. Least role: **{op['x-vigil-role']}** "
                 f"({ROLE_TEXT.get(op['x-vigil-role'], op['x-vigil-role'])}).")
    if op.get("description"):
        lines += ["", op["description"]]
    lines.append("")
    if op.get("parameters"):
        lines += params_table(doc, op["parameters"]) + [""]
    body = op.get("requestBody")
    if body:
        lines.append(f"Body{' (required)' if body.get('required') else ''}: "
                     f"{content_text(doc, body.get('content'))}.")
        lines.append("")
    lines += ["| status | meaning | body |", "| --- | --- | --- |"]
    common = []
    for status, resp in op["responses"].items():
        if ref_name(resp) in COMMON:
            common.append(status)
            continue
        resp = resolve(doc, resp)
        lines.append(f"| {status} | {esc(resp.get('description', ''))} | "
                     f"{esc(content_text(doc, resp.get('content')))} |")
    if common:
        lines += ["", "Also " + ", ".join(f"`{c}`" for c in common)
                  + " ([common errors](#common-errors))."]
    lines.append("")
    return lines


def schema_section(doc, name, schema):
    lines = [f'<a id="schema-{name.lower()}"></a>', f"#### {name}", ""]
    if schema.get("description"):
        lines += [schema["description"], ""]
    props = schema.get("properties")
    if props:
        required = set(schema.get("required", []))
        lines += ["| field | type | required | meaning |", "| --- | --- | --- | --- |"]
        for field, fs in props.items():
            lines.append(f"| `{field}` | {esc(type_text(doc, fs))} | "
                         f"{'yes' if field in required else 'no'} | "
                         f"{esc(fs.get('description', '') if isinstance(fs, dict) else '')} |")
        if schema.get("additionalProperties") is False:
            lines += ["", "No other field is accepted."]
    else:
        lines.append(type_text(doc, {k: v for k, v in schema.items() if k != "description"}))
    lines.append("")
    return lines


def render(doc):
    lines = [BEGIN, "", "## Reference", "",
             "Every route, from `api/openapi.json` (served at `GET /api/v1/openapi.json`). "
             "Each needs its least role or above; `public` routes need no credential. "
             "Errors are `{\"error\", \"parameter\"?}` ([Error](#schema-error)).", ""]
    sec = doc["components"]["securitySchemes"]
    lines += ["Credentials:", ""]
    for name, s in sec.items():
        where = f"`Authorization: Bearer`" if s["type"] == "http" else f"{s['in']} `{s['name']}`"
        lines.append(f"- `{name}`: {where}. {s.get('description', '')}")
    lines.append("")
    lines += ['<a id="common-errors"></a>', "Common errors, from the edge of the server "
              "(each operation lists which apply):", "",
              "| status | meaning |", "| --- | --- |"]
    codes = {}
    for item in doc["paths"].values():
        for m in METHODS:
            for status, resp in item.get(m, {}).get("responses", {}).items():
                if ref_name(resp) in COMMON:
                    codes[status] = resolve(doc, resp).get("description", "")
    for status in sorted(codes):
        lines.append(f"| {status} | {esc(codes[status])} |")
    lines.append("")
    tags = [t["name"] for t in doc.get("tags", [])]
    ops = []
    for path, item in doc["paths"].items():
        for m in METHODS:
            if m in item:
                tag = (item[m].get("tags") or ["other"])[0]
                ops.append((tags.index(tag) if tag in tags else len(tags), tag, path, m, item[m]))
    ops.sort(key=lambda o: (o[0], o[2], METHODS.index(o[3])))
    lines += ["| method | path | least role | summary |", "| --- | --- | --- | --- |"]
    for _, _, path, m, op in ops:
        lines.append(f"| {m.upper()} | `{path}` | {op['x-vigil-role']} | {esc(op.get('summary', ''))} |")
    lines.append("")
    current = None
    for _, tag, path, m, op in ops:
        if tag != current:
            lines += [f"## Reference: {tag}", ""]
            current = tag
        lines += operation(doc, m, path, op)
    lines += ["## Reference: schemas", ""]
    for name, schema in doc["components"]["schemas"].items():
        lines += schema_section(doc, name, schema)
    lines.append(END)
    return "\n".join(lines) + "\n"


def main():
    check = "--check" in sys.argv[1:]
    with open(DOC) as f:
        doc = json.load(f)
    with open(MD) as f:
        text = f.read()
    section = render(doc)
    if BEGIN in text and END in text:
        head = text[:text.index(BEGIN)]
        tail = text[text.index(END) + len(END):].lstrip("\n")
        new = head + section + (("\n" + tail) if tail else "")
    else:
        new = text.rstrip("\n") + "\n\n" + section
    if check:
        if new != text:
            print("docs/api.md: the reference section is out of date with api/openapi.json; "
                  "run scripts/gen_api_docs.py")
            return 1
        print("docs/api.md: the reference section is up to date")
        return 0
    if new != text:
        with open(MD, "w") as f:
            f.write(new)
        print("docs/api.md: reference section rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
