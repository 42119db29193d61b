"""The authorization matrix: every operation of the OpenAPI document that a
running `vigil run` serves x {anonymous, viewer, operator, admin, an admin's
read-scope token, an expired token, a revoked token, an operator's session
with and without its CSRF token} -> the status the gate must give.

The expectations come from each operation's `x-vigil-role` (which
tests/unit/api/test_api_openapi.c holds equal to the route table's role), so
a new route is covered as soon as it is documented:
  - public operations: nobody is refused by the gate (no 401, no role 403);
    a bad credential on them counts as none;
  - others: no credential, an expired or a revoked token -> 401 with
    WWW-Authenticate; a role below the operation's -> 403; a role at or above
    it -> anything but 401 and the gate's 403 (the handler then answers 2xx,
    or 4xx for the made-up ids and empty bodies sent here);
  - writes (not GET) with a read-scope token -> 403; with a session cookie
    but no X-CSRF-Token -> 403.
Requests use ids that do not exist and `{}` bodies, so nothing is changed
that a later request depends on; sign-out runs last. Streams (MJPEG, SSE)
are judged by their status line and closed."""
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from api_roles import operations, principals  # noqa: E402
from vigil_harness import MULT, Failure, Vigil, check, run_tests  # noqa: E402

RANK = {"public": 0, "viewer": 1, "operator": 2, "admin": 3}
# What the gate says when it refuses (src/api/auth_gate.c); a handler's own
# 403 (a passkey needs a session, all=true needs admin) says none of these.
GATE_403 = {"role": "has role", "scope": "read scope", "csrf": "X-CSRF-Token"}


def sample(schema):
    """A value for a path or required query parameter that names nothing."""
    schema = schema or {}
    if "enum" in schema:
        return str([e for e in schema["enum"] if e is not None][0])
    t = schema.get("type")
    t = t[0] if isinstance(t, list) else t
    if t == "integer":
        return "999999999"
    if t == "number":
        return "0.5"
    if t == "boolean":
        return "false"
    return "nosuch"


def resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        at = doc
        for part in node["$ref"][2:].split("/"):
            at = at[part]
        node = at
    return node


def build_request(doc, path, op):
    """(target, body bytes or None, headers) for one operation."""
    target, query = path, []
    for p in op.get("parameters", []):
        p = resolve(doc, p)
        if p["in"] == "path":
            target = target.replace("{" + p["name"] + "}", sample(p.get("schema")))
        elif p["in"] == "query" and p.get("required"):
            query.append(f"{p['name']}={sample(p.get('schema'))}")
    if query:
        target += "?" + "&".join(query)
    headers, body = {}, None
    if "requestBody" in op:
        body = b"{}"
        headers["Content-Type"] = "application/json"
    return target, body, headers


def send(port, method, target, body, headers):
    """(status, headers, body text); a stream's body is not read."""
    for _ in range(4):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30 * MULT)
        try:
            conn.request(method, target, body=body, headers=headers)
            r = conn.getresponse()
            ctype = r.getheader("Content-Type", "")
            text = "" if ("event-stream" in ctype or "multipart" in ctype) else \
                r.read(65536).decode("utf-8", "replace")
            status, hdrs = r.status, dict(r.getheaders())
        finally:
            conn.close()
        if status != 429:
            return status, hdrs, text
        time.sleep(min(float(hdrs.get("Retry-After", "1") or 1), 5))
    return status, hdrs, text


def expectation(op_role, method, who):
    """('allow' | '401' | '403:role' | '403:scope' | '403:csrf')."""
    if op_role == "public":
        return "allow"
    if who["role"] is None:
        return "401"
    if RANK[who["role"]] < RANK[op_role]:
        return "403:role"
    if method != "GET" and who["kind"] == "read-token":
        return "403:scope"
    if method != "GET" and who["kind"] == "session-no-csrf":
        return "403:csrf"
    return "allow"


def verdict(status, hdrs, text):
    """What the gate did, as expectation() names it."""
    if status == 401:
        return "401"
    if status == 403:
        try:
            msg = json.loads(text).get("error", "")
        except ValueError:
            msg = text
        for name, marker in GATE_403.items():
            if marker in msg:
                return "403:" + name
    return "allow"


def test_every_route_by_every_principal():
    with Vigil([]) as v:
        doc, ops = operations(v)
        who = principals(v)
        # sign-out last: it ends the session the session columns use
        ops.sort(key=lambda o: o[1] == "/api/v1/auth/logout")
        failures, table, cells = [], [], 0
        for method, path, op in ops:
            role = op.get("x-vigil-role")
            check(role in RANK, f"{method} {path}: x-vigil-role {role!r}")
            target, body, base = build_request(doc, path, op)
            row = []
            for name, w in who.items():
                want = expectation(role, method, w)
                status, hdrs, text = send(v.port, method, target, body, {**base, **w["headers"]})
                got = verdict(status, hdrs, text)
                cells += 1
                row.append(f"{status}")
                if status >= 500:
                    failures.append(f"{method} {path} as {name}: {status} {text[:160]!r}")
                elif got != want:
                    failures.append(f"{method} {path} (role {role}) as {name}: {status}, want "
                                    f"{want}: {text[:160]!r}")
                elif want == "401" and "WWW-Authenticate" not in hdrs:
                    failures.append(f"{method} {path} as {name}: 401 without WWW-Authenticate")
            table.append(f"{method:6} {path:48} {role:8} " + " ".join(f"{c:>4}" for c in row))
        print("principals: " + ", ".join(who))
        print("\n".join(table))
        print(f"{len(ops)} operations x {len(who)} principals = {cells} requests")
        if failures:
            raise Failure(f"{len(failures)} of {cells} cells wrong:\n  " + "\n  ".join(failures[:60]))
        # the credentials the columns rest on still work after the run
        st, _, _ = v.request("GET", "/api/v1/auth/me", token="",
                             headers=who["admin"]["headers"])
        check(st == 200, f"the admin token after the matrix: {st}")
        code = v.stop()  # also: no sanitizer report in its log
        check(code == 0, f"vigil exited {code} on SIGTERM after the matrix")


if __name__ == "__main__":
    run_tests([test_every_route_by_every_principal])
