/* The property table: every setting vigil has, with its type, default, range
 * or accepted values and a description. The YAML loader, the environment,
 * `--set` and the generated docs/configuration.md all read this one table,
 * so adding a setting is adding a row here (and the field in config.h).
 *
 * Also the small lookups over the table (by name, by section) and the text
 * that error messages and docs show for what a row accepts. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/config_int.h"
#include "vigil/redact.h"

#define C(field) offsetof(vigil_config_t, field)
#define K(field) offsetof(vigil_camera_conf_t, field)
#define INT(name, field, def, lo, hi, desc)                                                       \
    {name, VIGIL_PROP_INT, C(field), def, lo, hi, NULL, desc, 0}
#define DBL(name, field, def, lo, hi, desc)                                                       \
    {name, VIGIL_PROP_DOUBLE, C(field), def, lo, hi, NULL, desc, 0}
#define BOOL(name, field, def, desc) {name, VIGIL_PROP_BOOL, C(field), def, 0, 1, NULL, desc, 0}
#define STR(name, field, def, desc) {name, VIGIL_PROP_STRING, C(field), def, 0, 0, NULL, desc, 0}
#define ENUM(name, field, def, values, desc)                                                      \
    {name, VIGIL_PROP_ENUM, C(field), def, 0, 0, values, desc, 0}
/* a string that may hold credentials (a URL): redacted wherever it is shown */
#define SECRET(name, field, def, desc)                                                            \
    {name, VIGIL_PROP_STRING, C(field), def, 0, 0, NULL, desc, VIGIL_PROP_SENSITIVE}

/* Large enough for any sensible deployment, small enough to catch typos such
 * as an extra zero or milliseconds given as microseconds. */
#define HOURS_MAX 87600.0 /* ten years */
#define BYTES_MAX 1e15      /* a petabyte */

const vigil_prop_t vigil_props[] = {
    /* log */
    ENUM("log.level", log_level, "info", "debug|info|warn|error",
         "Least severe level written to stderr as JSON lines."),
    ENUM("log.sink", log_sink, "stderr", "stderr|opensearch",
         "Where log lines go besides stderr: opensearch also sends them, batched by a thread "
         "of their own, to the node of search.url (index PREFIX-logs-YYYY.MM.DD); a line that "
         "finds log.queue_max lines waiting is dropped and counted "
         "(vigil_log_shipped_total{result=\"dropped\"}), never blocking the caller "
         "(docs/search.md)."),
    INT("log.queue_max", log_queue_max, "4096", 16, 1000000,
        "Log lines held for log.sink: opensearch while the node is slow or down."),
    /* http */
    STR("http.listen", http_listen, "127.0.0.1:8080",
        "HOST:PORT the API and dashboard listen on (IPv6 as [ADDR]:PORT). Port 0 picks a free "
        "port. Use 0.0.0.0:8080 to listen on every interface."),
    INT("http.live_max_streams", http_live_max_streams, "32", 1, 4096,
        "Live streams (MJPEG views and Server-Sent Events) served at once; one more is "
        "answered 503 with Retry-After. Each holds one frame or message, never a queue."),
    INT("http.max_connections", http_max_connections, "1000", 1, 100000,
        "Open HTTP connections the API holds at once, shared evenly by its 4 serving threads; a "
        "new connection that reaches a thread holding its share waits in the kernel's listen "
        "queue until one of that thread's connections ends. Keep it below the process's open "
        "file limit (ulimit -n)."),
    INT("http.max_connections_per_client", http_max_connections_per_client, "32", 0, 100000,
        "Open connections one client (an IPv4 address, or an IPv6 /64) may hold; one more is "
        "closed at accept. 0 = no limit. Clients in http.limits_exempt are not counted."),
    DBL("http.rate_limit", http_rate_limit, "100", 0, 1000000,
        "Requests per second one client may send on average; beyond it (and its burst) "
        "requests are answered 429 with Retry-After. 0 = no limit."),
    INT("http.rate_burst", http_rate_burst, "200", 1, 1000000,
        "Requests one client may send at once above http.rate_limit (its token bucket)."),
    STR("http.limits_exempt", http_limits_exempt, "127.0.0.0/8,::1",
        "Comma-separated client addresses or ADDRESS/BITS prefixes the per-client connection "
        "and rate limits do not apply to: loopback by default, where a reverse proxy on the "
        "same host (which should limit per client itself) or a local tool connects from. "
        "Empty = limit everyone."),
    STR("http.trusted_proxies", http_trusted_proxies, "",
        "Comma-separated addresses or ADDRESS/BITS prefixes (IPv4 and IPv6) of reverse proxies "
        "whose X-Forwarded-For and X-Forwarded-Proto are believed. For a request from one of "
        "them the client is the rightmost X-Forwarded-For address that is not a trusted proxy: "
        "the sign-in throttle, the request rate limit, the audit log, sessions and logs use it. "
        "A malformed or oversized header falls back to the peer's address and is counted "
        "(vigil_http_forwarded_total). Empty = trust no one: the headers are ignored "
        "(docs/nginx.md)."),
    INT("http.header_timeout_s", http_header_timeout_s, "10", 1, 3600,
        "Seconds a client has to send a request's headers, counted from the connection (or "
        "the end of the previous response: this is also how long an idle keep-alive "
        "connection stays open). Slower ones are closed, so slow clients cannot hold every "
        "connection."),
    INT("http.body_timeout_s", http_body_timeout_s, "60", 1, 86400,
        "Seconds a client has to send a request's body after its headers."),
    STR("http.allowed_hosts", http_allowed_hosts, "",
        "Comma-separated Host header values the API answers to besides the address it listens "
        "on and localhost: NAME (any port) or NAME:PORT, e.g. cams.example.com when a reverse "
        "proxy passes that Host on. Other Host values are answered 421 (DNS rebinding "
        "protection)."),
    STR("http.cors_origins", http_cors_origins, "",
        "Comma-separated origins (https://dash.example.com) whose pages may call the API from "
        "a browser (CORS). Empty = none: no Access-Control-Allow-Origin header, preflight "
        "requests refused."),
    STR("http.web_root", http_web_root, "",
        "Directory of the built dashboard (web/dist after `make web`), served at /. Empty = "
        "look beside the executable: ../web/dist from its directory (a build tree), then "
        "../share/vigil/web (installed). Without one the API is served alone."),
    STR("http.tls_cert", http_tls_cert, "",
        "PEM certificate chain file: serve HTTPS (TLS through libmicrohttpd and GnuTLS) with "
        "HSTS. Needs http.tls_key. Empty = plain HTTP (put a TLS reverse proxy in front)."),
    STR("http.tls_key", http_tls_key, "",
        "PEM private key file of http.tls_cert (unencrypted; keep it mode 600: a key file "
        "others may read is warned about)."),
    /* auth */
    BOOL("auth.enabled", auth_enabled, "true",
         "Require sign-in (session cookie or bearer token) for the API and dashboard. false is "
         "accepted only when http.listen is a loopback address."),
    STR("auth.rp_id", auth_rp_id, "",
        "WebAuthn relying party id: the host name people open the dashboard at "
        "(cams.example.com). Empty = localhost for a loopback http.listen, else its host."),
    STR("auth.origins", auth_origins, "",
        "Comma-separated origins the dashboard is served from (https://cams.example.com), "
        "checked in passkey ceremonies and for cookie-authenticated writes. Empty = "
        "http://localhost:PORT and http://127.0.0.1:PORT of http.listen."),
    INT("auth.session_hours", auth_session_hours, "168", 1, 8760,
        "A sign-in session ends this many hours after it began."),
    INT("auth.session_idle_hours", auth_session_idle_hours, "24", 1, 8760,
        "A sign-in session not used for this many hours ends."),
    /* grpc (docs/grpc.md) */
    STR("grpc.listen", grpc_listen, "",
        "HOST:PORT the gRPC API listens on (cleartext HTTP/2, h2c with prior knowledge; IPv6 as "
        "[ADDR]:PORT; port 0 picks a free one), served by `vigil run` and `vigil api` beside "
        "REST. Empty = off. Its bearer tokens and roles are REST's (docs/grpc.md)."),
    INT("grpc.threads", grpc_threads, "2", 1, 16,
        "Event loops of the gRPC server; each serves the connections it accepted, with a "
        "warehouse handle of its own."),
    INT("grpc.max_message_bytes", grpc_max_message_bytes, "4194304", 1024, 67108864,
        "Largest gRPC message taken or sent; a larger request is RESOURCE_EXHAUSTED (so is "
        "a response, which asks for fewer rows)."),
    INT("grpc.max_streams", grpc_max_streams, "100", 1, 10000,
        "Calls one gRPC connection may have open at once (HTTP/2 "
        "SETTINGS_MAX_CONCURRENT_STREAMS); one more is refused by HTTP/2."),
    INT("grpc.max_connections", grpc_max_connections, "256", 1, 100000,
        "Open gRPC connections at once; one more is closed at accept."),
    /* push (docs/push.md) */
    BOOL("push.enabled", push_enabled, "true",
         "Send Web Push alerts for analytics events matching the users' subscriptions (the "
         "API process reads the events; with several API processes on Kafka each event is "
         "sent by one of them). false: the push routes answer 503."),
    STR("push.subject", push_subject, "mailto:vigil@localhost",
        "VAPID subject (RFC 8292): a mailto: or https: URL where push services can reach "
        "the operator."),
    STR("push.vapid_key", push_vapid_key, "",
        "PEM file of the VAPID private key (P-256). Empty = DATA_DIR/push_vapid.pem. Made "
        "with mode 600 at first start when missing; changing it invalidates every "
        "subscription."),
    BOOL("push.allow_http_loopback", push_allow_http_loopback, "false",
         "Accept push endpoints on loopback addresses (127.0.0.0/8, ::1, localhost), and "
         "http:// ones on 127.0.0.1, ::1 or localhost (tests); otherwise only https:// to "
         "public addresses."),
    BOOL("push.allow_private_endpoints", push_allow_private_endpoints, "false",
         "Accept push endpoints on loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7) "
         "and carrier-grade NAT (100.64/10) addresses, checked at subscribe time and on "
         "every connect; for a push service inside the network. Link-local (cloud metadata), "
         "multicast and reserved addresses are never accepted."),
    INT("push.retries", push_retries, "5", 0, 20,
        "Further attempts after a push service answers 429 or 5xx or cannot be reached."),
    INT("push.retry_base_ms", push_retry_base_ms, "1000", 10, 3600000,
        "Wait before the first retry; doubled for each further one."),
    INT("push.retry_max_ms", push_retry_max_ms, "300000", 10, 86400000,
        "Longest wait between retries (also caps a Retry-After)."),
    INT("push.queue_max", push_queue_max, "1024", 1, 100000,
        "Alerts waiting to be sent; when full the oldest is dropped "
        "(vigil_push_dropped_total)."),
    INT("push.ttl_s", push_ttl_s, "86400", 0, 2419200,
        "TTL header: how long a push service keeps an alert for an offline browser."),
    /* bus */
    SECRET("bus.url", bus_url, "inproc://",
        "Message bus: inproc:// for bounded in-process queues (one process runs every stage), "
        "or kafka://HOST:PORT[,HOST:PORT...][?OPTIONS] for Apache Kafka (every stage its own "
        "service; docs/kafka.md)."),
    ENUM("bus.delivery", bus_delivery, "at_least_once", "at_least_once|exactly_once",
         "Kafka: at_least_once (outputs may be published twice after a crash; the sink's "
         "idempotent writes absorb it) or exactly_once (preprocess and infer publish and commit "
         "in Kafka transactions; higher latency). No effect on inproc://."),
    INT("bus.replication_factor", bus_replication_factor, "0", 0, 16,
        "Kafka: replicas per partition of the topics `vigil kafka init` creates; 0 = min(3, "
        "brokers)."),
    INT("bus.min_insync_replicas", bus_min_insync_replicas, "0", 0, 16,
        "Kafka: min.insync.replicas of the topics `vigil kafka init` creates (with acks=all a "
        "write needs this many replicas); 0 = RF - 1 when bus.replication_factor > 1, else the broker "
        "default."),
    DBL("bus.retention_hours", bus_retention_hours, "24", 0, HOURS_MAX,
        "Kafka: retention.ms of the data topics `vigil kafka init` creates (frames, "
        "frames.gated, detections, events); 0 = the broker default. The control topic is "
        "compacted and kept forever."),
    INT("bus.partitions", bus_partitions, "4", 1, 256,
        "Partitions per topic. A camera always maps to the same partition, which keeps its "
        "messages in order; more partitions allow more parallel consumers."),
    INT("bus.capacity", bus_capacity, "256", 1, 1000000,
        "Messages a partition holds before publishers block (backpressure)."),
    /* store */
    SECRET("store.url", store_url, "sqlite",
        "Warehouse: \"sqlite\" (DATA_DIR/vigil.db), sqlite:PATH, "
        "postgres://USER:PASSWORD@HOST:PORT/DB (libpq URL), or "
        "mongodb://USER:PASSWORD@HOST:PORT/DB (core and retention only; docs/warehouse.md)."),
    STR("store.data_dir", data_dir, "./data",
        "Directory for the database and the frame files; created if missing."),
    DBL("store.retention_hours", store_retention_hours, "24", 0, HOURS_MAX,
        "Hours frames and results are kept before the sweeper deletes them; 0 keeps everything. "
        "A camera's retention_hours overrides it."),
    INT("store.sweep_interval_s", store_sweep_interval_s, "60", 1, 86400,
        "Seconds between two runs of the retention sweeper."),
    DBL("store.max_bytes", store_max_bytes, "0", 0, BYTES_MAX,
        "Bytes the frame store (the JPEG files, counted from their rows) may hold, every camera "
        "together; 0 = no bound. Over it the oldest frames go first, down to 95% of it, except "
        "those an event still needs (docs/warehouse.md, Retention); checked every 250 ms and "
        "at each sweep. At least 1048576 (one frame must fit). Leave room on the disk for the "
        "database and filesystem overhead."),
    SECRET("store.read_url", store_read_url, "",
        "A PostgreSQL streaming replica of store.url (postgres://USER:PASSWORD@HOST:PORT/DB) "
        "that the API's read-only requests use; writes, and the reads that must see a client's "
        "own writes (sign-in, sessions, tokens, users), go to store.url. When the replica does "
        "not answer or lags more than store.read_max_lag_s, reads go to store.url until it "
        "recovers (docs/warehouse.md, Read replicas). Empty = every request uses store.url."),
    DBL("store.read_max_lag_s", store_read_max_lag_s, "10", 0.1, 86400,
        "Seconds the replica of store.read_url may lag behind store.url before the API reads "
        "from store.url instead; a client's reads within this time after its own write go to "
        "store.url as well."),
    /* ingest */
    INT("ingest.jpeg_quality", ingest_jpeg_quality, "85", 1, 100,
        "JPEG quality of the frames ingest publishes (higher: larger and sharper)."),
    INT("ingest.reconnect_min_ms", ingest_reconnect_min_ms, "500", 10, 3600000,
        "First delay before reconnecting to a camera that failed; doubles on each failure."),
    INT("ingest.reconnect_max_ms", ingest_reconnect_max_ms, "30000", 10, 3600000,
        "Largest delay between reconnection attempts. Must be >= ingest.reconnect_min_ms."),
    BOOL("ingest.realtime", ingest_realtime, "true",
         "For files: pace frames at the file's native rate (true) or read as fast as the "
         "pipeline accepts them (false)."),
    INT("ingest.max_cameras", ingest_max_cameras, "64", 1, 4096,
        "Most cameras one ingest instance runs at a time, each with its own thread: configured "
        "ones, and those added through topic control (`vigil camera add`) or the API. A camera "
        "beyond it is not started and its error says so; run another ingest instance (the "
        "instances split the cameras) or raise this."),
    INT("ingest.read_timeout_ms", ingest_read_timeout_ms, "5000", 100, 600000,
        "How long opening a camera's stream, and then each read from it, may wait for data "
        "before the camera counts as failed and reconnects (after ingest.reconnect_min_ms). "
        "Files are not timed."),
    /* preprocess */
    INT("preprocess.workers", preprocess_workers, "1", 1, 64,
        "Preprocess worker threads (each camera is always handled by one of them)."),
    DBL("preprocess.motion_threshold", preprocess_motion_threshold, "0.003", 0, 1,
        "Motion score from which a frame is forwarded to the model: the fraction of pixels of "
        "the downscaled grayscale image that changed by more than 16 levels since the camera's "
        "previous frame (0.003 = 0.3% of the image, about one distant person walking). "
        "0 forwards every frame."),
    DBL("preprocess.keyframe_interval_s", preprocess_keyframe_interval_s, "10", 0, 86400,
        "Forward a frame at least this often even without motion, so the model sees still "
        "scenes; 0 disables."),
    INT("preprocess.motion_width", preprocess_motion_width, "160", 16, 4096,
        "Width in pixels of the downscaled grayscale image the motion score is computed on "
        "(height keeps the aspect ratio)."),
    /* infer */
    STR("infer.model", infer_model, "centernet",
        "Model to run: the name of a model in the model registry (`vigil models list`; the "
        "default, centernet, detects the 80 COCO classes and needs `vigil models fetch`), or "
        "\"motion\" (boxes around moving regions, no model file)."),
    INT("infer.workers", infer_workers, "1", 1, 64, "Inference worker threads."),
    INT("infer.batch_size", infer_batch_size, "4", 1, 256,
        "Most frames, across cameras, run through the model in one batch."),
    INT("infer.batch_timeout_ms", infer_batch_timeout_ms, "20", 0, 10000,
        "Longest wait for a batch to fill before running it partly full; 0 never waits."),
    INT("infer.threads", infer_threads, "0", 0, 256,
        "Threads each infer worker's model uses (vigil-nn's thread pool); 0 = one per CPU core."),
    DBL("infer.min_score", infer_min_score, "0.3", 0, 1,
        "Detections scoring below this are discarded."),
    /* sink */
    INT("sink.batch_size", sink_batch_size, "64", 1, 100000,
        "Most results written to the warehouse in one transaction."),
    INT("sink.flush_ms", sink_flush_ms, "200", 1, 60000,
        "Longest time a result waits in the sink before its batch is written."),
    /* search */
    SECRET("search.url", search_url, "",
           "OpenSearch or Elasticsearch node to index events, tracks and detections into and "
           "to answer /api/v1/search from: opensearch://HOST:PORT or elasticsearch://HOST:PORT "
           "(plain HTTP), opensearchs:// or elasticsearchs:// for HTTPS, USER:PASSWORD@ for "
           "basic auth. Empty = none: the warehouse answers searches (docs/search.md)."),
    STR("search.index_prefix", search_index_prefix, "vigil",
        "Indices are PREFIX-detections-, PREFIX-events-, PREFIX-tracks- and PREFIX-logs- "
        "followed by the UTC day (YYYY.MM.DD); lowercase letters, digits, - and _."),
    INT("search.batch_size", search_batch_size, "1000", 1, 100000,
        "Most documents sent in one _bulk request."),
    INT("search.flush_ms", search_flush_ms, "500", 1, 60000,
        "Longest time a document waits in the indexer before its _bulk request is sent."),
    INT("search.timeout_ms", search_timeout_ms, "10000", 100, 600000,
        "Longest time one request to the search node may take (connecting included)."),
    INT("search.retry_max_ms", search_retry_max_ms, "10000", 10, 600000,
        "Longest wait between tries of a _bulk request the node answered 429 or 5xx or did "
        "not answer (200 ms doubling up to this)."),
    /* analytics */
    BOOL("analytics.enabled", analytics_enabled, "true",
         "Run the analytics stage in `vigil run`: it tracks the objects the model detects "
         "across frames, applies each camera's zones and lines, and writes events and "
         "per-minute counts (docs/analytics.md). false leaves the stage out."),
    STR("analytics.group", analytics_group, "analytics",
        "Consumer group of the analytics workers on topic detections: workers of one group "
        "share the cameras; a second group (another warehouse) analyses the same detections "
        "again from the start."),
    DBL("analytics.high_score", analytics_high_score, "0.35", 0, 1,
        "Detections scoring at least this are matched to tracks in the first association "
        "stage. Lower than ByteTrack's 0.5: the default CenterNet scores real people and cars "
        "0.3 to 0.7."),
    DBL("analytics.low_score", analytics_low_score, "0.1", 0, 1,
        "Detections scoring from this up to analytics.high_score are matched, in a second "
        "stage, with the tracks the first stage left unmatched (this keeps a partly hidden or "
        "blurred object on its track); detections below it are ignored. Must be <= "
        "analytics.high_score."),
    DBL("analytics.new_track_score", analytics_new_track_score, "0.4", 0, 1,
        "A detection that matched no track starts a new track only if it scores at least "
        "this."),
    DBL("analytics.match_iou", analytics_match_iou, "0.2", 0, 1,
        "Least IoU (intersection over union) between a track's predicted box and a detection, "
        "both grown by analytics.buffer, for a match in the first stage."),
    DBL("analytics.low_match_iou", analytics_low_match_iou, "0.4", 0, 1,
        "Least IoU (of the grown boxes) for a match in the second stage, with a low-scoring "
        "detection; stricter than analytics.match_iou because such detections are less sure."),
    DBL("analytics.buffer", analytics_buffer, "0.3", 0, 2,
        "Boxes grow by this fraction of their width and height before they are matched, so "
        "that an object still overlaps its track after moving far between two frames (at 5 "
        "fps objects move far between frames); 0 matches the boxes as they are."),
    INT("analytics.min_hits", analytics_min_hits, "3", 1, 30,
        "Consecutive frames a new track must be matched before it is confirmed; only "
        "confirmed tracks enter zones, cross lines, raise events and are counted."),
    DBL("analytics.lost_seconds", analytics_lost_seconds, "3", 0, 600,
        "Seconds (of capture time) a track that is no longer matched is kept before it is "
        "removed, so that an object hidden for a moment keeps its track when it reappears."),
    BOOL("analytics.per_class", analytics_per_class, "true",
         "Match detections only with tracks of the same label (a person never continues a "
         "car's track); false matches across labels."),
    INT("analytics.batch_frames", analytics_batch_frames, "64", 1, 10000,
        "Most detection messages processed per checkpoint transaction: their events, counts, "
        "track points and the trackers' checkpoints are written to the warehouse in one "
        "transaction."),
    INT("analytics.flush_ms", analytics_flush_ms, "500", 1, 60000,
        "Longest time processed detections wait before their checkpoint transaction is "
        "written when fewer than analytics.batch_frames have arrived."),
    DBL("analytics.clip_preroll_s", analytics_clip_preroll_s, "3", 0, 60,
        "An event's video clip starts this many seconds before the event."),
    DBL("analytics.clip_postroll_s", analytics_clip_postroll_s, "3", 0, 60,
        "An event's video clip ends this many seconds after the event."),
    /* limits */
    INT("limits.max_frame_pixels", limits_max_frame_pixels, "33177600", 4096, 268435456,
        "Most pixels (width x height) of a frame. Preprocess and infer read each frame's JPEG "
        "header before decoding it and refuse, counted and logged with the camera and "
        "sequence, a frame whose header is larger than this or differs from the size its "
        "message declares (a small crafted message could otherwise make a decoder allocate "
        "gigabytes). Ingest asks FFmpeg to refuse larger camera images. The default is 8K "
        "UHD (7680 x 4320)."),
    INT("limits.max_cameras", limits_max_cameras, "1024", 1, 1000000,
        "Most distinct cameras whose state a stage keeps: each preprocess and infer worker "
        "(previous image, motion gate, model state), and ingest's table of the cameras on "
        "topic control. A frame or command of one more camera is refused, counted and "
        "logged, after the state of cameras idle for limits.camera_forget_s is dropped."),
    DBL("limits.camera_forget_s", limits_camera_forget_s, "600", 1, 604800,
        "Seconds without a frame after which preprocess and infer forget a camera's state "
        "(its previous image, motion gate and model state such as the motion model's "
        "background): a camera that was removed, stopped or moved to another worker. Its "
        "next frame, if one comes, starts afresh like a first frame."),
    /* cameras: offsets are into vigil_camera_conf_t; zones and lines are in
     * vigil__rule_rows (config_rules.c) */
    {"cameras[].id", VIGIL_PROP_STRING, K(id), NULL, 0, 0, NULL,
     "Camera id, 1 to 63 of A-Z a-z 0-9 _ . - ; unique. Used in topic keys, paths and URLs. "
     "Default: cam0, cam1, ... by position.", 0},
    {"cameras[].name", VIGIL_PROP_STRING, K(name), NULL, 0, 0, NULL,
     "Display name shown in the dashboard. Default: the id.", 0},
    {"cameras[].url", VIGIL_PROP_STRING, K(url), NULL, 0, 0, NULL,
     "Source (required): a file path or file://..., rtsp://... (over TCP), http(s)://... "
     "(MJPEG or any container FFmpeg reads), or \"sample\" (the sample video installed by "
     "scripts/setup.sh media). Credentials belong in the userinfo (rtsp://user:pass@host, "
     "rtsp://token@host) or a named parameter (?password=, ?token=, ?key=): there they are "
     "redacted.",
     VIGIL_PROP_SENSITIVE},
    {"cameras[].fps", VIGIL_PROP_DOUBLE, K(fps), "5", 0, 120, NULL,
     "Frames per second ingest samples from the source; 0 keeps the source's own rate.", 0},
    {"cameras[].enabled", VIGIL_PROP_BOOL, K(enabled), "true", 0, 1, NULL,
     "Whether ingest reads this camera.", 0},
    {"cameras[].loop", VIGIL_PROP_BOOL, K(loop), "true", 0, 1, NULL,
     "For files: start again from the beginning at the end.", 0},
    {"cameras[].retention_hours", VIGIL_PROP_DOUBLE, K(retention_hours), "-1", -1, HOURS_MAX,
     NULL, "Hours this camera's frames and results are kept; -1 uses store.retention_hours.", 0},
    {"cameras[].max_bytes", VIGIL_PROP_DOUBLE, K(max_bytes), "0", 0, BYTES_MAX, NULL,
     "Bytes this camera's frames may hold; 0 = no bound of its own (store.max_bytes still "
     "applies). Over it its oldest frames go first, before the store-wide budget is looked at. "
     "At least 1048576.", 0},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, 0},
};

const vigil_prop_t *vigil__prop_find(const char *name)
{
    if (!name) return NULL;
    for (const vigil_prop_t *p = vigil_props; p->name; p++)
        if (strcmp(p->name, name) == 0) return p;
    return NULL;
}

const vigil_prop_t *vigil_prop_find(const char *name)
{
    return vigil__prop_find(name);
}

int vigil_prop_shown(const vigil_prop_t *p, const char *value, char *out, size_t size)
{
    if (p && (p->flags & VIGIL_PROP_SENSITIVE)) return vigil_url_redact(value, out, size);
    if (size) snprintf(out, size, "%s", value ? value : "");
    return 0;
}

int vigil__prop_is_camera(const vigil_prop_t *p)
{
    return strncmp(p->name, VIGIL__CAMERA_PREFIX, strlen(VIGIL__CAMERA_PREFIX)) == 0;
}

const char *vigil__prop_key(const vigil_prop_t *p)
{
    const char *dot = strchr(p->name, '.');
    return dot ? dot + 1 : p->name;
}

/* Length of the section part of a row's name ("cameras" for "cameras[].x"). */
static size_t section_len(const vigil_prop_t *p)
{
    return strcspn(p->name, ".[");
}

void vigil__prop_accepted(const vigil_prop_t *p, char *buf, size_t size)
{
    size_t n = 0;
    switch (p->type) {
    case VIGIL_PROP_INT:
        snprintf(buf, size, "an integer from %.0f to %.0f", p->min, p->max);
        break;
    case VIGIL_PROP_DOUBLE: snprintf(buf, size, "a number from %g to %g", p->min, p->max); break;
    case VIGIL_PROP_BOOL: snprintf(buf, size, "true, false, yes, no, on, off, 1, 0"); break;
    case VIGIL_PROP_STRING:
        if (strcmp(p->name, "cameras[].id") == 0)
            snprintf(buf, size, "1 to %d of A-Z a-z 0-9 _ . -", VIGIL_CAMERA_ID_MAX - 1);
        else if (strcmp(p->name, "cameras[].url") == 0)
            snprintf(buf, size, "%s", VIGIL__URL_ACCEPTED);
        else if (strcmp(p->name, "http.listen") == 0)
            snprintf(buf, size, "HOST:PORT with a port from 0 to 65535");
        else
            snprintf(buf, size, "a string");
        break;
    case VIGIL_PROP_ENUM:
        /* "a|b|c" -> "a, b, c" */
        for (const char *s = p->values; *s && n + 3 < size; s++) {
            if (*s == '|') {
                buf[n++] = ',';
                buf[n++] = ' ';
            } else {
                buf[n++] = *s;
            }
        }
        buf[n] = '\0';
        break;
    }
}

/* Appends s to buf[*n..size) keeping it NUL-terminated. */
static void append(char *buf, size_t size, size_t *n, const char *s, size_t len)
{
    if (*n >= size) return;
    if (len > size - *n - 1) len = size - *n - 1;
    memcpy(buf + *n, s, len);
    *n += len;
    buf[*n] = '\0';
}

void vigil__section_keys(const char *section, char *buf, size_t size)
{
    size_t n = 0, sl = strlen(section);
    if (size) buf[0] = '\0';
    for (const vigil_prop_t *p = vigil_props; p->name; p++) {
        if (section_len(p) != sl || strncmp(p->name, section, sl) != 0) continue;
        if (n) append(buf, size, &n, ", ", 2);
        const char *key = vigil__prop_key(p);
        append(buf, size, &n, key, strlen(key));
    }
    /* the lists of the section ("zones, lines" for cameras) */
    char prefix[80], lists[256];
    snprintf(prefix, sizeof(prefix), "%s[].", section);
    vigil__rule_keys(prefix, lists, sizeof(lists));
    if (lists[0] && n) append(buf, size, &n, ", ", 2);
    append(buf, size, &n, lists, strlen(lists));
}

void vigil__sections(char *buf, size_t size)
{
    size_t n = 0;
    if (size) buf[0] = '\0';
    for (const vigil_prop_t *p = vigil_props; p->name; p++) {
        size_t sl = section_len(p);
        if (p != vigil_props && section_len(p - 1) == sl && strncmp(p[-1].name, p->name, sl) == 0)
            continue;
        if (n) append(buf, size, &n, ", ", 2);
        append(buf, size, &n, p->name, sl);
    }
}

void vigil__prop_env_name(const vigil_prop_t *p, char *buf, size_t size)
{
    size_t n = 0;
    append(buf, size, &n, "VIGIL_", 6);
    for (const char *s = p->name; *s && n + 1 < size; s++) {
        char c = *s;
        if (c == '.') c = '_';
        else if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
        buf[n++] = c;
    }
    buf[n] = '\0';
}
