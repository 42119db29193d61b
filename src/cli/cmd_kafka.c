/* `vigil kafka init|create|describe` and `vigil camera add|remove|start|stop`:
 * the administration side of distributed mode (docs/kafka.md).
 *
 *   vigil kafka init --bus kafka://H:P[,...] [--config F] [--set K=V]...
 *       creates frames, frames.gated, detections, events (bus.partitions,
 *       bus.replication_factor, bus.min_insync_replicas, bus.retention_hours),
 *       control (same partitions, compacted, kept forever) and tracks (kept an
 *       hour at most: live views only); idempotent.
 *   vigil kafka create --bus URL TOPIC [--partitions N] [--retention-ms MS] [--segment-ms MS]
 *   vigil kafka describe --bus URL TOPIC
 *       one line per partition: leader broker, replicas, in-sync replicas, watermarks.
 *   vigil kafka produce --bus URL TOPIC KEY < VALUE
 *       publishes stdin as one message (tests: bad input, retention).
 *   vigil camera add|remove|start|stop --bus URL ID [URL] [--fps F] [--name N]
 *       publishes a CameraCommand on topic control, key = camera id.
 *
 * Exit codes: 0 done, 1 the cluster refused or was unreachable, 2 usage. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "vigil/analytics.h"
#include "vigil/bus.h"
#include "vigil/file.h"
#include "vigil/kafka.h"
#include "vigil/log.h"
#include "vigil/msg.h"

#define ADMIN_TIMEOUT_MS 15000
#define LIVE_RETENTION_MS INT64_C(3600000) /* topic tracks (vigil kafka init) */

enum { OPT_BUS = 256, OPT_CONFIG, OPT_SET, OPT_PARTITIONS, OPT_RETENTION, OPT_SEGMENT, OPT_FPS,
       OPT_NAME };

static const struct option kafka_options[] = {
    {"bus", required_argument, NULL, OPT_BUS},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"set", required_argument, NULL, OPT_SET},
    {"partitions", required_argument, NULL, OPT_PARTITIONS},
    {"retention-ms", required_argument, NULL, OPT_RETENTION},
    {"segment-ms", required_argument, NULL, OPT_SEGMENT},
    {"fps", required_argument, NULL, OPT_FPS},
    {"name", required_argument, NULL, OPT_NAME},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct kopts {
    const char *config;
    int partitions;
    int64_t retention_ms, segment_ms;
    double fps;
    const char *name;
} kopts_t;

static void kafka_usage(FILE *out)
{
    fprintf(out,
            "usage: vigil kafka init --bus kafka://HOST:PORT[,...] [--config FILE] [--set K=V]...\n"
            "       vigil kafka create --bus URL TOPIC [--partitions N] [--retention-ms MS] "
            "[--segment-ms MS]\n"
            "       vigil kafka describe --bus URL TOPIC\n"
            "       vigil kafka produce --bus URL TOPIC KEY < VALUE\n\n"
            "init creates the pipeline's topics (frames, frames.gated, detections, events,\n"
            "control, tracks) with bus.partitions, bus.replication_factor,\n"
            "bus.min_insync_replicas and bus.retention_hours (tracks: an hour at most);\n"
            "topics that exist are left alone. describe prints, per\n"
            "partition, its leader, replicas, in-sync replicas and low/high watermarks.\n");
}

static void camera_usage(FILE *out)
{
    fprintf(out, "usage: vigil camera add --bus kafka://HOST:PORT[,...] ID URL [--fps F] "
                 "[--name NAME]\n"
                 "       vigil camera remove|start|stop --bus URL ID\n"
                 "       vigil camera rules --bus URL ID RULES.json   (- reads stdin)\n\n"
                 "Publishes the command on topic control (key = camera id); the ingest\n"
                 "instance that owns the camera's control partition applies it. `rules`\n"
                 "replaces the camera's zones and lines in every analytics worker (key\n"
                 "rules:ID); the file is {\"zones\":[...],\"lines\":[...]} (docs/analytics.md).\n");
}

/* Parses options into cfg/o; positional arguments are left in argv[optind..]. */
static int parse(int argc, char **argv, vigil_config_t *cfg, kopts_t *o, void (*usage)(FILE *))
{
    int c, rc;
    char err[1024];

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", kafka_options, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return -1;
        }
        if (c == OPT_CONFIG) o->config = optarg;
        if (c == '?' || c == ':') {
            fprintf(stderr, "vigil: unknown or incomplete option \"%s\"\n\n", argv[optind - 1]);
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if ((rc = cli_load_config(cfg, o->config))) return rc;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", kafka_options, NULL)) != -1) {
        char *end = NULL, *eq;
        switch (c) {
        case OPT_BUS:
            if (vigil_config_set(cfg, "bus.url", optarg, "--bus", err, sizeof(err))) goto bad;
            break;
        case OPT_SET:
            if (!(eq = strchr(optarg, '='))) {
                fprintf(stderr, "vigil: --set: expected KEY=VALUE, got \"%s\"\n", optarg);
                return CLI_USAGE;
            }
            *eq = '\0';
            rc = vigil_config_set(cfg, optarg, eq + 1, "--set", err, sizeof(err));
            *eq = '=';
            if (rc) goto bad;
            break;
        case OPT_PARTITIONS:
            o->partitions = (int)strtol(optarg, &end, 10);
            if (*end || o->partitions < 1 || o->partitions > 1024) {
                fprintf(stderr, "vigil: --partitions \"%s\" (accepted: 1..1024)\n", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_RETENTION:
        case OPT_SEGMENT: {
            long long v = strtoll(optarg, &end, 10);
            if (*end || v < -1) {
                fprintf(stderr, "vigil: %s \"%s\" (accepted: milliseconds, -1 = forever)\n",
                        c == OPT_RETENTION ? "--retention-ms" : "--segment-ms", optarg);
                return CLI_USAGE;
            }
            *(c == OPT_RETENTION ? &o->retention_ms : &o->segment_ms) = v;
            break;
        }
        case OPT_FPS:
            o->fps = strtod(optarg, &end);
            if (*end || o->fps < 0 || o->fps > 120) {
                fprintf(stderr, "vigil: --fps \"%s\" (accepted: 0..120)\n", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_NAME: o->name = optarg; break;
        default: break;
        }
    }
    if (strncmp(cfg->bus_url, "kafka://", 8) != 0) {
        char shown[512];
        vigil_prop_shown(vigil_prop_find("bus.url"), cfg->bus_url, shown, sizeof shown);
        fprintf(stderr, "vigil: --bus kafka://HOST:PORT[,...] is required (bus.url is \"%s\")\n",
                shown);
        return CLI_USAGE;
    }
    return CLI_OK;
bad:
    fprintf(stderr, "vigil: %s\n", err);
    return CLI_USAGE;
}

static int kafka_init(const vigil_config_t *cfg)
{
    char err[1024];
    size_t existed = 0;
    int64_t retention = (int64_t)(cfg->bus_retention_hours * 3600000.0);
    int rf = cfg->bus_replication_factor;
    int isr = cfg->bus_min_insync_replicas;
    vigil_kafka_topic_spec_t specs[6];
    const char *names[] = {VIGIL_TOPIC_FRAMES, VIGIL_TOPIC_GATED,   VIGIL_TOPIC_DETECTIONS,
                           VIGIL_TOPIC_EVENTS, VIGIL_TOPIC_CONTROL, VIGIL_TOPIC_TRACKS};
    /* tracks only feed the live views, which never show what is more than a
     * few seconds old: an hour (or less with a shorter bus retention) */
    int64_t live_retention = retention > 0 && retention < LIVE_RETENTION_MS ? retention
                                                                            : LIVE_RETENTION_MS;

    if (isr == 0 && rf > 1) isr = rf - 1; /* one replica may fail without stopping writes */
    for (int i = 0; i < 6; i++) {
        specs[i] = (vigil_kafka_topic_spec_t){
            .name = names[i],
            .partitions = cfg->bus_partitions,
            .replication_factor = rf,
            .min_insync_replicas = isr,
            .retention_ms = i == 4 ? -1 : i == 5 ? live_retention : retention,
            .cleanup_policy = i == 4 ? "compact" : NULL,
        };
    }
    if (vigil_kafka_create_topics(cfg->bus_url, specs, 6, ADMIN_TIMEOUT_MS, &existed, err,
                                  sizeof(err))) {
        fprintf(stderr, "vigil kafka init: %s\n", err);
        return CLI_FAIL;
    }
    printf("topics: %zu created, %zu already existed (partitions %d, replication %s, "
           "min.insync.replicas %s)\n",
           6 - existed, existed, cfg->bus_partitions, rf ? "as set" : "min(3, brokers)",
           isr ? "as set" : "broker default");
    return CLI_OK;
}

static int kafka_create(const vigil_config_t *cfg, const kopts_t *o, const char *topic)
{
    char err[1024];
    size_t existed = 0;
    vigil_kafka_topic_spec_t spec = {
        .name = topic,
        .partitions = o->partitions ? o->partitions : cfg->bus_partitions,
        .replication_factor = cfg->bus_replication_factor,
        .min_insync_replicas = cfg->bus_min_insync_replicas,
        .retention_ms = o->retention_ms,
        .segment_ms = o->segment_ms,
    };
    if (vigil_kafka_create_topics(cfg->bus_url, &spec, 1, ADMIN_TIMEOUT_MS, &existed, err,
                                  sizeof(err))) {
        fprintf(stderr, "vigil kafka create: %s\n", err);
        return CLI_FAIL;
    }
    printf("topic \"%s\": %s\n", topic, existed ? "already existed" : "created");
    return CLI_OK;
}

static int kafka_produce(const vigil_config_t *cfg, const char *topic, const char *key)
{
    char err[1024];
    size_t len = 0;
    char *buf = NULL;
    vigil_bus_t *bus = NULL;
    vigil_bus_conf_t bc;
    int rc = CLI_FAIL;

    if (vigil_file_read_fd(0, "stdin", VIGIL_MSG_MAX_BYTES, &buf, &len, err, sizeof err)) {
        fprintf(stderr, "vigil kafka produce: %s\n", err);
        goto out;
    }
    vigil_bus_conf_init(&bc);
    bc.partitions = cfg->bus_partitions;
    bc.client_id = "produce-cli";
    if (!(bus = vigil_bus_new(cfg->bus_url, &bc, err, sizeof(err)))) {
        fprintf(stderr, "vigil kafka produce: %s\n", err);
        goto out;
    }
    vigil_err_t e = vigil_bus_publish(bus, topic, key, strlen(key), buf, len, ADMIN_TIMEOUT_MS);
    if (e == VIGIL_OK) e = vigil_bus_flush(bus, ADMIN_TIMEOUT_MS);
    if (e) {
        fprintf(stderr, "vigil kafka produce: topic \"%s\": %s\n", topic, vigil_err_str(e));
        goto out;
    }
    rc = CLI_OK;
out:
    vigil_bus_free(bus);
    free(buf);
    return rc;
}

static int kafka_describe(const vigil_config_t *cfg, const char *topic)
{
    char err[1024];
    vigil_kafka_partition_info_t parts[256];
    size_t n = 0;

    if (vigil_kafka_describe_topic(cfg->bus_url, topic, parts, 256, &n, ADMIN_TIMEOUT_MS, err,
                                   sizeof(err))) {
        fprintf(stderr, "vigil kafka describe: %s\n", err);
        return CLI_FAIL;
    }
    for (size_t i = 0; i < n && i < 256; i++)
        printf("partition %d leader %d %s:%d replicas %d isr %d low %lld high %lld\n",
               (int)parts[i].partition, (int)parts[i].leader,
               parts[i].leader_host[0] ? parts[i].leader_host : "-", parts[i].leader_port,
               parts[i].replicas, parts[i].isrs, (long long)parts[i].low,
               (long long)parts[i].high);
    return CLI_OK;
}

int cli_kafka_main(const cli_cmd_t *cmd, int argc, char **argv)
{
    vigil_config_t cfg;
    kopts_t o = {0};
    int rc;
    const char *sub = argc > 1 ? argv[1] : NULL;

    if (!sub || (strcmp(sub, "init") && strcmp(sub, "create") && strcmp(sub, "describe") &&
                 strcmp(sub, "produce"))) {
        if (sub && (!strcmp(sub, "-h") || !strcmp(sub, "--help"))) {
            kafka_usage(stdout);
            return CLI_OK;
        }
        kafka_usage(stderr);
        return CLI_USAGE;
    }
    vigil_config_init(&cfg);
    rc = parse(argc - 1, argv + 1, &cfg, &o, kafka_usage);
    if (rc) goto out;
    vigil_log_set_level(vigil_log_level_parse(cfg.log_level));
    if (!strcmp(sub, "init")) {
        rc = optind + 1 == argc ? kafka_init(&cfg) : (kafka_usage(stderr), CLI_USAGE);
    } else if (!strcmp(sub, "produce")) {
        rc = optind + 3 == argc ? kafka_produce(&cfg, argv[optind + 1], argv[optind + 2])
                                : (kafka_usage(stderr), CLI_USAGE);
    } else if (optind + 2 != argc) {
        kafka_usage(stderr);
        rc = CLI_USAGE;
    } else {
        const char *topic = argv[optind + 1];
        rc = !strcmp(sub, "create") ? kafka_create(&cfg, &o, topic) : kafka_describe(&cfg, topic);
    }
out:
    vigil_config_release(&cfg);
    return rc < 0 ? CLI_OK : rc;
}

#define RULES_FILE_MAX (1 << 20)

/* Reads and checks a rules file ("-" = stdin) into *json (malloc'd). */
static int read_rules(const char *path, char **json)
{
    char err[512];
    char *buf = NULL;
    size_t n = 0;
    vigil_err_t e = strcmp(path, "-") == 0
                        ? vigil_file_read_fd(0, "stdin", RULES_FILE_MAX, &buf, &n, err, sizeof err)
                        : vigil_file_read(path, RULES_FILE_MAX, &buf, &n, err, sizeof err);
    if (e) {
        fprintf(stderr, "vigil camera rules: %s\n", err);
        return CLI_USAGE;
    }
    vigil_rules_t rules;
    if (vigil_rules_from_json(buf, n, &rules, err, sizeof err)) {
        fprintf(stderr, "vigil camera rules: %s: %s\n", path, err);
        free(buf);
        return CLI_USAGE;
    }
    vigil_rules_release(&rules);
    *json = buf;
    return CLI_OK;
}

int cli_camera_main(const cli_cmd_t *cmd, int argc, char **argv)
{
    static const struct { const char *name; int op; } ops[] = {
        {"add", VIGIL__V1__CAMERA_COMMAND__OP__OP_ADD},
        {"remove", VIGIL__V1__CAMERA_COMMAND__OP__OP_REMOVE},
        {"start", VIGIL__V1__CAMERA_COMMAND__OP__OP_START},
        {"stop", VIGIL__V1__CAMERA_COMMAND__OP__OP_STOP},
        {"rules", VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES},
    };
    vigil_config_t cfg;
    kopts_t o = {0};
    int rc, op = -1;
    char err[1024];
    vigil_bus_t *bus = NULL;
    uint8_t *buf = NULL;
    char *rules_json = NULL;
    char key[VIGIL_CAMERA_ID_MAX + 8];
    const char *sub = argc > 1 ? argv[1] : NULL;

    for (size_t i = 0; sub && i < sizeof(ops) / sizeof(ops[0]); i++)
        if (!strcmp(sub, ops[i].name)) op = ops[i].op;
    if (op < 0) {
        if (sub && (!strcmp(sub, "-h") || !strcmp(sub, "--help"))) {
            camera_usage(stdout);
            return CLI_OK;
        }
        camera_usage(stderr);
        return CLI_USAGE;
    }
    vigil_config_init(&cfg);
    rc = parse(argc - 1, argv + 1, &cfg, &o, camera_usage);
    if (rc) goto out;
    vigil_log_set_level(vigil_log_level_parse(cfg.log_level));
    int npos = argc - 1 - optind;
    int two = op == VIGIL__V1__CAMERA_COMMAND__OP__OP_ADD ||
              op == VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES;
    if (npos < 1 || npos > 2 || two != (npos == 2)) {
        camera_usage(stderr);
        rc = CLI_USAGE;
        goto out;
    }
    const char *id = argv[optind + 1];
    if (!vigil_camera_id_valid(id)) {
        fprintf(stderr, "vigil camera: invalid camera id \"%s\" (accepted: [A-Za-z0-9_.-]{1,63})\n",
                id);
        rc = CLI_USAGE;
        goto out;
    }
    Vigil__V1__CameraCommand m = VIGIL__V1__CAMERA_COMMAND__INIT;
    m.schema_version = VIGIL_SCHEMA_VERSION;
    m.op = op;
    m.camera_id = (char *)id;
    m.url = npos == 2 && op == VIGIL__V1__CAMERA_COMMAND__OP__OP_ADD ? argv[optind + 2]
                                                                      : (char *)"";
    m.name = (char *)(o.name ? o.name : id);
    m.fps = o.fps;
    snprintf(key, sizeof key, "%s", id);
    if (op == VIGIL__V1__CAMERA_COMMAND__OP__OP_SET_RULES) {
        if ((rc = read_rules(argv[optind + 2], &rules_json))) goto out;
        m.rules_json = rules_json;
        snprintf(key, sizeof key, "rules:%s", id);
    }
    size_t len = 0;
    vigil_bus_conf_t bc;
    vigil_bus_conf_init(&bc);
    bc.partitions = cfg.bus_partitions;
    bc.client_id = "camera-cli";
    if (!(buf = vigil_msg_pack(&m.base, &len)) ||
        !(bus = vigil_bus_new(cfg.bus_url, &bc, err, sizeof(err)))) {
        fprintf(stderr, "vigil camera %s: %s\n", sub, buf ? err : "out of memory");
        rc = CLI_FAIL;
        goto out;
    }
    vigil_err_t e = vigil_bus_publish(bus, VIGIL_TOPIC_CONTROL, key, strlen(key), buf, len,
                                      ADMIN_TIMEOUT_MS);
    if (e == VIGIL_OK) e = vigil_bus_flush(bus, ADMIN_TIMEOUT_MS);
    if (e) {
        fprintf(stderr, "vigil camera %s: camera \"%s\": cannot publish to %s: %s\n", sub, id,
                VIGIL_TOPIC_CONTROL, vigil_err_str(e));
        rc = CLI_FAIL;
        goto out;
    }
    printf("camera \"%s\": %s command published\n", id, sub);
    rc = CLI_OK;
out:
    free(buf);
    free(rules_json);
    vigil_bus_free(bus);
    vigil_config_release(&cfg);
    return rc < 0 ? CLI_OK : rc;
}
