"""bench/api_peer.py: the FastAPI + uvicorn peer of bench/api.sh.

Serves, from the same SQLite warehouse as vigil, the three routes the
benchmark measures, with vigil's semantics and JSON shape:

  GET /api/v1/detections   camera, label, since, until, min_score, limit, cursor
  GET /api/v1/events       camera, kind, label, zone, line, since, until, reviewed, limit,
                           cursor
  GET /api/v1/stats        {"stages":{}, "cameras":{}, "store":{counts}}

Main idea: what a team on the seed's stack (FastAPI, uvicorn) would write
for these routes, without handicaps: the same SQL text as src/store/ (so the
same indexes and the same keyset paging, limit + 1 rows to know whether a
next page exists), one sqlite3 connection per worker process opened once,
`async def` handlers (the queries take well under a millisecond, so the
thread pool of a plain `def` would only add a hop), uvicorn with uvloop and
httptools, no access log. Responses are dicts serialized by FastAPI's
default JSONResponse. Strict parameters as vigil's (src/api/params.c): an
unknown or repeated parameter or a bad value is a 400 {"error", "parameter"}.
Stats has no pipeline stages here: this process runs none, as `vigil api`
alone runs none.

Authentication (VIGIL_PEER_AUTH=1): every request needs `Authorization:
Bearer TOKEN`; the token's hash is looked up in the warehouse table
api_tokens with its user's name and role, once per request, as
vigil_token_check does (src/auth/tokens.c: "vgl_" + base64url of 32 random
bytes, stored only as the SHA-256 hex of those bytes; a revoked token is a
deleted row; expires_us 0 = never; last_used_us written at most once a
minute). An unknown or expired token is a 401.

Run: VIGIL_PEER_DB=PATH uvicorn --app-dir bench api_peer:app --workers N
"""

import base64
import hashlib
import os
import re
import sqlite3
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

DB_PATH = os.environ.get("VIGIL_PEER_DB", "data/vigil.db")
AUTH = os.environ.get("VIGIL_PEER_AUTH", "0") == "1"
LIMIT_DEFAULT, LIMIT_MAX = 100, 1000

DETECTION_COLS = ("id, camera_id, sequence, coalesce(frame_id, 0), capture_time_us, model, idx, "
                  "label, score, x1, y1, x2, y2")
EVENT_COLS = ("id, camera_id, kind, label, track_id, zone, line, direction, start_sequence, "
              "start_us, end_us, end_sequence, open, coalesce(snapshot_frame_id, 0), "
              "snapshot_sequence, peak_score, x1, y1, x2, y2, updated_sequence, reviewed, "
              "reviewed_us, reviewed_by")
COUNTS_SQL = ("SELECT (SELECT count(*) FROM cameras), (SELECT count(*) FROM frames), "
              "(SELECT count(*) FROM detections), (SELECT count(*) FROM events), "
              "(SELECT coalesce(sum(size_bytes), 0) FROM frames)")
KINDS = ("zone_enter", "zone_leave", "loiter", "line_cross")
CAMERA_RE = re.compile(r"[A-Za-z0-9_.-]{1,63}\Z")
TIME_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d{1,9})?([Zz]|[+-]\d\d:\d\d)\Z")

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
_db = None


class ParamError(Exception):
    def __init__(self, parameter, message):
        super().__init__(message)
        self.parameter = parameter
        self.message = message


TOKEN_SQL = ("SELECT t.id, t.expires_us, t.last_used_us, t.write_scope, u.name, u.role "
             "FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?")
TOKEN_TOUCH_SQL = "UPDATE api_tokens SET last_used_us = ?2 WHERE id = ?1 AND last_used_us < ?2"
TOKEN_RE = re.compile(r"vgl_[A-Za-z0-9_-]{43}\Z")  # "vgl_" + 32 random bytes, base64url
TOKEN_TOUCH_US = 60 * 1000000


def db():
    """This worker's connection, opened on first use (after uvicorn forks)."""
    global _db
    if _db is None:
        conn = sqlite3.connect(DB_PATH, isolation_level=None, cached_statements=256)
        conn.execute("PRAGMA busy_timeout = 5000")
        if AUTH and not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'api_tokens'"
                                     ).fetchone():
            raise SystemExit("api_peer: VIGIL_PEER_AUTH=1 but the warehouse has no api_tokens "
                             "table (a schema from before accounts)")
        _db = conn
    return _db


def authorized(request):
    """Whether the request carries a token of api_tokens that has not expired, checked as
    vigil_token_check (src/auth/tokens.c) does: the hash is SHA-256 (hex) of the 32 bytes
    after "vgl_"; last_used_us is written at most once a minute."""
    header = request.headers.get("authorization", "")
    token = header[7:] if header.startswith("Bearer ") else ""
    if not TOKEN_RE.match(token):
        return False
    raw = base64.urlsafe_b64decode(token[4:] + "=")
    row = db().execute(TOKEN_SQL, (hashlib.sha256(raw).hexdigest(),)).fetchone()
    if not row:
        return False
    token_id, expires_us, last_used_us = row[0], row[1], row[2]
    now_us = time.time_ns() // 1000
    if expires_us and now_us >= expires_us:
        return False
    if now_us - last_used_us >= TOKEN_TOUCH_US:
        try:
            db().execute(TOKEN_TOUCH_SQL, (token_id, now_us))
        except sqlite3.Error:
            pass  # the next request retries, as vigil's does
    return True


@app.middleware("http")
async def bearer(request: Request, call_next):
    if AUTH and not authorized(request):
        return JSONResponse({"error": "authentication required"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})
    return await call_next(request)


@app.exception_handler(ParamError)
async def param_error(request: Request, exc: ParamError):
    body = {"error": exc.message}
    if exc.parameter is not None:
        body["parameter"] = exc.parameter
    return JSONResponse(body, status_code=400)


# --- values as src/api/params.c parses and server.c prints them -----------------------------

def fail(name, what):
    raise ParamError(name, f'invalid parameter "{name}": {what}')


def json_float(v):
    return float("%.6g" % v)


def json_time(t_us):
    if not t_us:
        return None
    secs, rem = divmod(t_us, 1000000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + ".%03dZ" % (rem // 1000)


def b64url(raw):
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def unb64url(s):
    if not s or len(s) > 128 or len(s) % 4 == 1 or not re.fullmatch(r"[A-Za-z0-9_-]+", s):
        return None
    try:
        raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)).decode()
    except ValueError:
        return None
    return raw if b64url(raw) == s and "\0" not in raw else None


def canonical_int(s):
    if not re.fullmatch(r"-?(0|[1-9][0-9]{0,18})", s or ""):
        return None
    v = int(s)
    return v if -(2 ** 63) <= v < 2 ** 63 else None


def parse_limit(s):
    if not s.isdigit() or not 1 <= int(s) <= LIMIT_MAX:
        fail("limit", f"must be an integer in 1..{LIMIT_MAX}")
    return int(s)


def parse_time(s, name):
    if s.isdigit() and len(s) <= 18:
        return int(s)
    m = TIME_RE.match(s)
    if m:
        y, mo, d, h, mi, sec = (int(g) for g in m.groups()[:6])
        frac = (m.group(7) or ".")[1:]
        us = int((frac + "000000")[:6]) if frac else 0
        tz = m.group(8)
        off = 0 if tz in ("Z", "z") else (1 if tz[0] == "+" else -1) * (int(tz[1:3]) * 60 + int(tz[4:6]))
        try:
            import calendar
            t = calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0)) - off * 60
            if 1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and sec < 61 and t >= 0:
                return t * 1000000 + us
        except (OverflowError, ValueError):
            pass
    fail(name, "must be an RFC 3339 time (2026-11-21T05:31:02Z) or integer microseconds since "
               "the epoch")


def parse_score(s, name):
    try:
        v = float(s)
    except ValueError:
        v = None
    if v is None or s != s.strip() or not 0.0 <= v <= 1.0:
        fail(name, "must be a number in 0..1")
    return v


def parse_camera(s):
    if not CAMERA_RE.match(s):
        fail("camera", "must be a camera id ([A-Za-z0-9_.-], 1..63 characters)")
    return s


def parse_label(s):
    if not 1 <= len(s.encode()) <= 63 or any(ord(c) < 0x20 or ord(c) == 0x7F for c in s):
        fail("label", "must be 1..63 characters without control characters")
    return s


def parse_rule(s, name):
    if not CAMERA_RE.match(s):
        fail(name, f"must be a {name} id ([A-Za-z0-9_.-], 1..63 characters)")
    return s


def parse_kind(s):
    if s not in KINDS:
        fail("kind", "must be one of zone_enter, zone_leave, loiter, line_cross")
    return s


def parse_bool(s, name):
    if s not in ("true", "false"):
        fail(name, "must be true or false")
    return s == "true"


def parse_cursor(s):
    raw = unb64url(s)
    v = canonical_int(raw[3:]) if raw and raw.startswith("v1:") else None
    if v is None or v < 1:
        fail("cursor", "must be a next_cursor value returned by this endpoint")
    return v


def parse_event_cursor(s):
    raw = unb64url(s)
    parts = raw[3:].split(":") if raw and raw.startswith("e1:") else []
    t = canonical_int(parts[0]) if len(parts) == 2 else None
    v = canonical_int(parts[1]) if len(parts) == 2 else None
    if t is None or v is None or v < 1:
        fail("cursor", "must be a next_cursor value returned by this endpoint")
    return t, v


def collect(request, parsers, accepted):
    """The query arguments, each parsed once; unknown or repeated ones refused."""
    out = {}
    for key, value in request.query_params.multi_items():
        if key not in parsers:
            clean = "".join(c if 0x20 <= ord(c) < 0x7F else "?" for c in key)[:63]
            raise ParamError(clean, f'unknown parameter "{clean}" ' +
                             (f"(accepted: {accepted})" if accepted
                              else "(this route takes no query parameters)"))
        if key in out:
            fail(key, "given more than once")
        if "\0" in value:
            fail(key, "must not contain a NUL byte")
        out[key] = parsers[key](value)
    since, until = out.get("since", 0), out.get("until", 0)
    if since > 0 and until > 0 and until <= since:
        fail("until", "must be later than since")
    return out


# --- routes -------------------------------------------------------------------------------

DETECTION_PARAMS = {
    "camera": parse_camera, "label": parse_label,
    "since": lambda s: parse_time(s, "since"), "until": lambda s: parse_time(s, "until"),
    "min_score": lambda s: parse_score(s, "min_score"), "limit": parse_limit,
    "cursor": parse_cursor,
}


@app.get("/api/v1/detections")
async def detections(request: Request):
    p = collect(request, DETECTION_PARAMS, "camera, label, since, until, min_score, limit, cursor")
    limit = p.get("limit", LIMIT_DEFAULT)
    where, args = [], {}
    for key, sql in (("camera", "camera_id = :camera"), ("label", "label = :label"),
                     ("since", "capture_time_us >= :since"), ("until", "capture_time_us < :until"),
                     ("min_score", "score >= :min_score"), ("cursor", "id < :cursor")):
        if p.get(key):
            where.append(" AND " + sql)
            args[key] = p[key]
    args["limit"] = limit + 1
    rows = db().execute(f"SELECT {DETECTION_COLS} FROM detections WHERE 1{''.join(where)} "
                        "ORDER BY id DESC LIMIT :limit", args).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [{
        "id": r[0], "camera": r[1], "sequence": r[2], "frame_id": r[3],
        "time": json_time(r[4]), "time_us": r[4], "model": r[5], "label": r[7],
        "score": json_float(r[8]),
        "box": [json_float(r[9]), json_float(r[10]), json_float(r[11]), json_float(r[12])],
        "frame_url": f"/api/v1/frames/{r[3]}.jpg" if r[3] > 0 else None,
    } for r in rows]
    cursor = b64url(f"v1:{rows[-1][0]}") if more and rows else None
    return {"items": items, "next_cursor": cursor}


EVENT_PARAMS = {
    "camera": parse_camera, "kind": parse_kind, "label": parse_label,
    "zone": lambda s: parse_rule(s, "zone"), "line": lambda s: parse_rule(s, "line"),
    "since": lambda s: parse_time(s, "since"), "until": lambda s: parse_time(s, "until"),
    "reviewed": lambda s: parse_bool(s, "reviewed"), "limit": parse_limit,
    "cursor": parse_event_cursor,
}


def event_json(r):
    is_open = bool(r[12])
    snap = r[13]
    return {
        "id": r[0], "camera": r[1], "kind": r[2] if r[2] in KINDS else None, "label": r[3],
        "track": r[4], "zone": r[5] or None, "line": r[6] or None,
        "direction": r[7] if r[7] in ("in", "out") else None,
        "start": json_time(r[9]), "start_us": r[9],
        "end": None if is_open else json_time(r[10]), "end_us": None if is_open else r[10],
        "open": is_open, "start_sequence": r[8], "end_sequence": None if is_open else r[11],
        "peak_score": json_float(r[15]),
        "box": [json_float(r[16]), json_float(r[17]), json_float(r[18]), json_float(r[19])],
        "snapshot_frame_id": snap if snap > 0 else None, "reviewed": bool(r[21]),
        "reviewed_at": json_time(r[22]), "reviewed_by": r[23] if r[22] else None,
        "snapshot_url": f"/api/v1/events/{r[0]}/snapshot.jpg" if snap > 0 else None,
        "clip_url": f"/api/v1/events/{r[0]}/clip.mp4",
    }


@app.get("/api/v1/events")
async def events(request: Request):
    p = collect(request, EVENT_PARAMS,
                "camera, kind, label, zone, line, since, until, reviewed, limit, cursor")
    if "zone" in p and "line" in p:
        fail("line", "cannot be combined with zone (an event is of one zone or one line)")
    limit = p.get("limit", LIMIT_DEFAULT)
    where, args = [], {}
    for key, sql in (("camera", "camera_id = :camera"), ("kind", "kind = :kind"),
                     ("label", "label = :label"), ("zone", "zone = :zone AND line = ''"),
                     ("line", "line = :line AND zone = ''"), ("since", "start_us >= :since"),
                     ("until", "start_us < :until")):
        if p.get(key):
            where.append(" AND " + sql)
            args[key] = p[key]
    if "cursor" in p:
        where.append(" AND (start_us, id) < (:after_start, :after_id)")
        args["after_start"], args["after_id"] = p["cursor"]
    if "reviewed" in p:
        where.append(" AND reviewed = 1" if p["reviewed"] else " AND reviewed = 0")
    args["limit"] = limit + 1
    rows = db().execute(f"SELECT {EVENT_COLS} FROM analytics_events WHERE 1{''.join(where)} "
                        "ORDER BY start_us DESC, id DESC LIMIT :limit", args).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = b64url(f"e1:{rows[-1][9]}:{rows[-1][0]}") if more and rows else None
    return {"items": [event_json(r) for r in rows], "next_cursor": cursor}


@app.get("/api/v1/stats")
async def stats(request: Request):
    collect(request, {}, "")
    cameras, frames, dets, evs, frame_bytes = db().execute(COUNTS_SQL).fetchone()
    return {"stages": {}, "cameras": {},
            "store": {"cameras": cameras, "frames": frames, "detections": dets, "events": evs,
                      "frame_bytes": frame_bytes}}
