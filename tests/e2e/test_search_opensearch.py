"""Search on a real OpenSearch node (docs/search.md): `vigil run` on the sample video (motion
model, a zone and a line) with search.url, against OpenSearch 2.19 assembled from Maven Central
jars by scripts/opensearch (started once for this file, stopped at the end).

Each test checks the node against the warehouse by document id: the ids of the detection
documents are exactly the (camera, sequence, model, idx) keys of the SQLite detections table,
and those of the analytics-event documents exactly the events' unique keys: nothing lost,
nothing duplicated.
  - a plain run (with log.sink: opensearch: vigil's log lines in PREFIX-logs-*);
  - the node down when vigil starts (retries, /healthz degraded, then indexes), then killed -9
    mid-run and started again on its data;
  - a proxy in front of the node answering 429 to the first _bulk requests (retried, counted);
  - a proxy that hands the first _bulk requests to the node and then drops the connection
    before the node's answer reaches vigil (the node dying mid-bulk, after it took the
    documents): sent again, counted retried, the same ids overwritten, nothing duplicated;
  - a mapping conflict: today's detections index made beforehand with `label` a long: every
    detection document is refused by the node (counted failed, logged with its id, never
    retried), the events and tracks still indexed, the indexer not stuck.
Exits 77 when the node cannot be installed here (no JDK / Maven Central), saying why."""
import http.server
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

from vigil_harness import MULT, Vigil, check, media, metrics_values, run_tests, skip

SRC = os.environ.get("VIGIL_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
SCRIPT = os.path.join(SRC, "scripts", "opensearch")
PORT = int(os.environ.get("VIGIL_OS_PORT", "19500"))
PROXY_PORT = PORT + 10
NODE = f"http://127.0.0.1:{PORT}"
ENV = dict(os.environ, VIGIL_OS_PORT=str(PORT))


def node(*args, timeout=300):
    r = subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True, env=ENV,
                       timeout=timeout * MULT)
    return r


def os_req(method, path, body=None, base=NODE):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def reset_indices():
    os_req("DELETE", "/vigil-*")
    os_req("DELETE", "/_index_template/vigil-*")


def ids(kind):
    """Every document id of PREFIX-KIND-* (and how many documents there are)."""
    os_req("POST", f"/vigil-{kind}-*/_refresh")
    st, res = os_req("POST", f"/vigil-{kind}-*/_search?size=10000",
                     {"_source": False, "query": {"match_all": {}}, "track_total_hits": True})
    if st != 200:
        return [], 0
    return [h["_id"] for h in res["hits"]["hits"]], res["hits"]["total"]["value"]


def warehouse_ids(data_dir):
    db = sqlite3.connect(f"file:{os.path.join(data_dir, 'vigil.db')}?mode=ro", uri=True)
    dets = {f"d:{c}:{s}:{m}:{i}" for c, s, m, i in
            db.execute("SELECT camera_id, sequence, model, idx FROM detections")}
    evs = {f"e:{c}:{k}:{t}:{z or l}:{s}" for c, k, t, z, l, s in
           db.execute("SELECT camera_id, kind, track_id, zone, line, start_sequence "
                      "FROM analytics_events")}
    db.close()
    return dets, evs


def config(video, url=None, extra=""):
    return f"""
ingest: {{ realtime: false }}
infer: {{ model: motion }}
search: {{ url: "{url or 'opensearch://127.0.0.1:%d' % PORT}", flush_ms: 200,
          retry_max_ms: 1000 }}
{extra}
cameras:
  - id: lobby
    name: "Front Lobby"
    url: "{video}"
    fps: 0
    loop: false
    zones:
      - {{ id: hall, polygon: [[0.0, 0.3], [1.0, 0.3], [1.0, 1.0], [0.0, 1.0]] }}
    lines:
      - {{ id: door, points: [[0.5, 0.0], [0.5, 1.0]] }}
"""


def metric(v, name, **labels):
    status, _, body = v.get("/metrics")
    check(status == 200, f"/metrics: {status}")
    return metrics_values(body.decode()).get((name, frozenset(labels.items())), 0.0)


def wait_ended(v, timeout=120):
    def ended():
        cams = v.json("/api/v1/cameras")
        items = cams["items"] if isinstance(cams, dict) else cams
        return any(c.get("status") == "ended" for c in items)
    v.wait_for("the camera to end", ended, timeout)


def wait_stored(v, timeout=120):
    """Until the warehouse's detections stop growing (the camera ended, the backlog stored)."""
    last = [-1]

    def stable():
        n = len(warehouse_ids(v.data_dir)[0])
        same, last[0] = n == last[0], n
        if not same:
            time.sleep(1.5)
        return same and n > 0
    v.wait_for("the warehouse to stop growing", stable, timeout)


def wait_indexed(v, timeout=120):
    """Until the node holds as many detection documents as the warehouse has rows (both
    still growing for a moment after the camera ended)."""
    def done():
        want, _ = warehouse_ids(v.data_dir)
        _, n = ids("detections")
        return n == len(want) and n > 0
    v.wait_for("as many detection documents as rows", done, timeout)


def check_same_ids(data_dir):
    dets, evs = warehouse_ids(data_dir)
    got_d, n_d = ids("detections")
    check(n_d == len(set(got_d)), f"duplicate detection ids: {n_d} docs, {len(set(got_d))} ids")
    check(set(got_d) == dets, f"detection ids differ: {len(dets - set(got_d))} missing, "
          f"{len(set(got_d) - dets)} extra (warehouse {len(dets)})")
    got_e, _ = ids("events")
    ev_ids = {i for i in got_e if i.startswith("e:")}
    check(ev_ids == evs, f"event ids differ: {len(evs - ev_ids)} missing, "
          f"{len(ev_ids - evs)} extra (warehouse {len(evs)})")
    check(len(dets) > 100 and len(evs) > 5, f"too little to compare: {len(dets)} detections, "
          f"{len(evs)} events")
    return len(dets), len(evs)


def run_until_indexed(v):
    wait_ended(v)
    wait_indexed(v)
    check(v.stop() == 0, "vigil did not exit 0")


def test_run_indexes_detections_events_tracks_and_logs_by_warehouse_key():
    reset_indices()
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="vigil-e2e-search-")
    data = os.path.join(tmp, "data")
    with Vigil([], data_dir=data,
               config=config(media("vtest.avi"), extra="log: { sink: opensearch }")) as v:
        run_until_indexed(v)
        nd, ne = check_same_ids(v.data_dir)
    _, ntracks = ids("tracks")
    check(ntracks > 100, f"only {ntracks} track documents")
    os_req("POST", "/vigil-logs-*/_refresh")
    st, res = os_req("POST", "/vigil-logs-*/_search", {"query": {"bool": {"filter": [
        {"term": {"stage": "search"}}, {"match_phrase": {"msg": "indexing detections"}}]}}})
    check(st == 200 and res["hits"]["total"]["value"] >= 1, f"log line not shipped: {st} {res}")
    st, tpl = os_req("GET", "/_index_template/vigil-detections")
    check(st == 200, f"no index template: {st}")
    print(f"indexed {nd} detections, {ne} events, {ntracks} track boxes in "
          f"{time.time() - t0:.1f} s")
    compared = compare_searches_with_sqlite(data, media("vtest.avi"))
    print(f"{len(SEARCHES)} searches, {compared} items and their facets equal on both")
    shutil.rmtree(tmp, ignore_errors=True)


SEARCHES = [
    "limit=50", "q=lobby&limit=20", "q=FRONT&limit=20", "q=hAl&limit=30", "q=door&type=events",
    "type=detections&min_score=0.5&limit=30", "zones=hall&limit=40", "lines=door",
    "zones=hall&lines=door&limit=15", "labels=motion&type=detections&limit=10",
    "q=zzz-nothing", "cameras=lobby&facets=false&limit=5",
]


def search_pages(v, query, pages=3):
    out = []
    cursor = None
    for _ in range(pages):
        path = "/api/v1/search?" + query + (f"&cursor={cursor}" if cursor else "")
        body = v.json(path)
        out.append(body)
        cursor = body.get("next_cursor")
        if not cursor:
            break
    return out


def compare_searches_with_sqlite(data_dir, video):
    """The same searches through the API on the node and on SQLite, same data."""
    answers = {}
    for name, url in (("opensearch", None), ("sqlite", "")):
        search = "" if url == "" else f'search: {{ url: "opensearch://127.0.0.1:{PORT}" }}'
        cfg = f"auth: {{ enabled: false }}\n{search}\n"
        with Vigil([], data_dir=data_dir, config=cfg, auth=False) as v:
            answers[name] = {q: search_pages(v, q) for q in SEARCHES}
            check(v.stop() == 0, "vigil did not exit 0")
    compared = 0
    for q in SEARCHES:
        a, b = answers["opensearch"][q], answers["sqlite"][q]
        check(len(a) == len(b), f"{q}: {len(a)} pages on the node, {len(b)} on SQLite")
        for i, (pa, pb) in enumerate(zip(a, b)):
            check(pa["items"] == pb["items"],
                  f"{q} page {i}: items differ: node {[x.get('id') for x in pa['items']][:10]} "
                  f"sqlite {[x.get('id') for x in pb['items']][:10]}")
            check(pa.get("facets") == pb.get("facets"),
                  f"{q} page {i}: facets differ: node {pa.get('facets')} sqlite {pb.get('facets')}")
            check(pa.get("next_cursor") == pb.get("next_cursor"), f"{q} page {i}: cursors differ")
            compared += len(pa["items"])
    check(compared > 200, f"only {compared} items compared")
    return compared


def test_node_down_at_start_then_killed_mid_run_loses_and_duplicates_nothing():
    reset_indices()
    node("kill")
    with Vigil([], config=config(media("vtest.avi"))) as v:
        v.wait_for("a retried bulk", lambda: "cannot index" in v.log_text(), 60)
        health = v.json("/healthz", expect=200)
        check(health["status"] == "degraded", f"/healthz while the node is down: {health}")
        r = node("restart")
        check(r.returncode == 0, f"restart: {r.stderr[-2000:]}")
        v.wait_for("some documents", lambda: ids("detections")[1] > 0, 120)
        r = node("kill")
        check(r.returncode == 0, f"kill: {r.stderr[-2000:]}")
        time.sleep(2)
        r = node("restart")
        check(r.returncode == 0, f"restart: {r.stderr[-2000:]}")
        wait_ended(v)
        wait_indexed(v)
        check(metric(v, "vigil_search_bulk_total", result="retried") >= 1,
              "the bulks refused while the node was down are not counted retried")
        check(v.stop() == 0, "vigil did not exit 0")
        check_same_ids(v.data_dir)
        check("indexing into" in v.log_text() and "again after" in v.log_text(),
              "no recovery line in the log")


class Proxy429(http.server.ThreadingHTTPServer):
    daemon_threads = True


def make_proxy(n429, ncut=0):
    """A proxy to the node: answers 429 to the first n429 _bulk requests; hands the next ncut
    to the node and drops the connection without passing its answer on."""
    state = {"bulk": 0, "refused": 0, "cut": 0, "cut_taken": 0}

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _forward(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else None
            if self.path.startswith("/_bulk"):
                state["bulk"] += 1
                if state["refused"] < n429:
                    state["refused"] += 1
                    msg = b'{"error":{"type":"rejected_execution_exception","reason":"test"}}'
                    self.send_response(429)
                    self.send_header("Content-Length", str(len(msg)))
                    self.end_headers()
                    self.wfile.write(msg)
                    return
            req = urllib.request.Request(NODE + self.path, data=body, method=self.command,
                                         headers={"Content-Type": self.headers.get(
                                             "Content-Type", "application/json")})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    status, out = r.status, r.read()
            except urllib.error.HTTPError as e:
                status, out = e.code, e.read()
            if self.path.startswith("/_bulk") and state["cut"] < ncut:
                state["cut"] += 1
                if status == 200 and not json.loads(out).get("errors"):
                    state["cut_taken"] += 1  # the node has every document of it
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = do_PUT = do_DELETE = _forward

    srv = Proxy429(("127.0.0.1", PROXY_PORT), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, state


def test_node_answering_429_is_retried_until_taken():
    reset_indices()
    srv, state = make_proxy(4)
    try:
        cfg = config(media("vtest.avi"), url=f"opensearch://127.0.0.1:{PROXY_PORT}")
        with Vigil([], config=cfg) as v:
            wait_ended(v)
            wait_indexed(v)
            retried = metric(v, "vigil_search_bulk_total", result="retried")
            check(retried >= 4, f"vigil_search_bulk_total{{result=retried}} = {retried}")
            check("429" in v.log_text(), "the 429 is not in the log")
            check(v.stop() == 0, "vigil did not exit 0")
            check_same_ids(v.data_dir)
        check(state["refused"] == 4, f"proxy state {state}")
    finally:
        srv.shutdown()


def test_bulk_cut_after_the_node_took_it_is_sent_again_without_duplicates():
    reset_indices()
    srv, state = make_proxy(0, ncut=3)
    try:
        cfg = config(media("vtest.avi"), url=f"opensearch://127.0.0.1:{PROXY_PORT}")
        with Vigil([], config=cfg) as v:
            wait_ended(v)
            wait_indexed(v)
            retried = metric(v, "vigil_search_bulk_total", result="retried")
            check(retried >= 3, f"vigil_search_bulk_total{{result=retried}} = {retried}")
            check("cannot index" in v.log_text(), "the cut bulks are not in the log")
            check(v.stop() == 0, "vigil did not exit 0")
            check_same_ids(v.data_dir)
        check(state["cut"] == 3 and state["cut_taken"] >= 1,
              f"proxy state {state}: no bulk the node had taken was cut")
        print(f"  {state['cut']} bulks cut after the node answered ({state['cut_taken']} it "
              f"took whole), sent again: retried {retried:.0f}, ids equal to the warehouse's")
    finally:
        srv.shutdown()


def test_mapping_conflict_is_counted_logged_with_the_doc_id_and_not_retried():
    reset_indices()
    day = time.strftime("%Y.%m.%d", time.gmtime())
    st, res = os_req("PUT", f"/vigil-detections-{day}",
                     {"mappings": {"properties": {"label": {"type": "long"}}}})
    check(st == 200, f"cannot make the conflicting index: {st} {res}")
    with Vigil([], config=config(media("vtest.avi"))) as v:
        wait_ended(v)
        wait_stored(v)

        def settled():
            dets, evs = warehouse_ids(v.data_dir)
            failed = metric(v, "vigil_stage_failed_total", stage="search")
            got = {i for i in ids("events")[0] if i.startswith("e:")}
            return len(dets) > 100 and failed == len(dets) and got == evs
        v.wait_for("every detection refused and every event indexed", settled, 120)
        dets, evs = warehouse_ids(v.data_dir)
        # nothing left to send: the indexer has acknowledged every message it took
        time.sleep(1)
        failed = metric(v, "vigil_stage_failed_total", stage="search")
        check(failed == len(dets), f"failed {failed}, want {len(dets)} (refused, not retried)")
        check(metric(v, "vigil_search_bulk_total", result="retried") == 0,
              "a mapping conflict was retried")
        refused = [r for r in v.log_records() if r.get("stage") == "search"
                   and "refused" in r.get("msg", "")]
        check(refused and refused[0].get("doc_id", "").startswith("d:lobby:"),
              f"no refusal record with the doc id: {refused[:1]}")
        check("mapper_parsing_exception" in refused[0]["msg"], f"reason: {refused[0]['msg']}")
        check(ids("detections")[1] == 0, "detection documents indexed despite the conflict")
        check(v.stop() == 0, "vigil did not exit 0")


if __name__ == "__main__":
    media("vtest.avi")
    r = node("start")
    if r.returncode != 0:
        skip("scripts/opensearch start failed (JDK 17 and Maven Central needed): "
             + r.stderr.strip()[-500:])
    try:
        run_tests([
            test_run_indexes_detections_events_tracks_and_logs_by_warehouse_key,
            test_node_down_at_start_then_killed_mid_run_loses_and_duplicates_nothing,
            test_node_answering_429_is_retried_until_taken,
            test_bulk_cut_after_the_node_took_it_is_sent_again_without_duplicates,
            test_mapping_conflict_is_counted_logged_with_the_doc_id_and_not_retried,
        ])
    finally:
        node("stop")
