/* `vigil run` and the per-stage commands (`vigil ingest`, ... `vigil api`).
 *
 * They share one option set and one life cycle: load the configuration
 * (defaults < file < environment < flags), build a pipeline holding the
 * requested stages, run until SIGINT/SIGTERM or --duration, then stop and
 * drain. Configuration errors exit with code 2. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "vigil/clock.h"
#include "vigil/health.h"
#include "vigil/log.h"
#include "vigil/pipeline.h"

static volatile sig_atomic_t stop_signal;

/* The first SIGINT/SIGTERM asks for a stop with a drain; a second SIGINT
 * while it drains ends the process at once with 130 (128 + SIGINT), what a
 * shell reports for a process ended by Ctrl-C. Only the main thread runs
 * this: every other thread is created with both signals blocked. */
static void on_signal(int sig)
{
    if (stop_signal && sig == SIGINT) {
        static const char msg[] = "vigil: second SIGINT: not draining, exiting with 130\n";
        ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)n;
        _exit(130);
    }
    stop_signal = sig;
}

static void run_usage(const cli_cmd_t *cmd, FILE *out)
{
    fprintf(out,
            "usage: vigil %s [OPTIONS]\n\n%s.\n\n"
            "options:\n"
            "  --config FILE        YAML configuration (default: $VIGIL_CONFIG if set)\n"
            "  --source URL|FILE    add a camera (repeatable): a video file, rtsp://, http(s)://,\n"
            "                       or \"sample\" (the sample video, looped)\n"
            "  --data-dir DIR       where the warehouse and frame files go (store.data_dir)\n"
            "  --http HOST:PORT     API listen address (http.listen, default 127.0.0.1:8080;\n"
            "                       port 0 picks a free one). For ingest, preprocess, infer and\n"
            "                       sink: serve /healthz and /metrics there (off without --http)\n"
            "  --bus URL            bus (bus.url, default inproc://); kafka://HOST:PORT[,...]\n"
            "                       runs this stage as a service of a distributed pipeline\n"
            "  --store URL          warehouse (store.url, default sqlite)\n"
            "  --duration SECONDS   stop after this long (0 = until SIGINT/SIGTERM)\n"
            "  --set KEY=VALUE      set any configuration property (repeatable),\n"
            "                       e.g. --set preprocess.motion_threshold=0.02\n"
            "  --log-level LEVEL    debug, info, warn or error (log.level)\n"
            "  -h, --help           this text\n\n"
            "Precedence: defaults < --config file < VIGIL_* environment < flags.\n"
            "`vigil config docs` lists every property.\n",
            cmd->name, cmd->summary);
}

int cli_load_config(vigil_config_t *cfg, const char *path)
{
    char err[1024];
    if (!path) path = getenv("VIGIL_CONFIG");
    if (path && *path && vigil_config_load_file(cfg, path, err, sizeof(err))) {
        fprintf(stderr, "vigil: %s\n", err);
        return CLI_USAGE;
    }
    if (vigil_config_apply_env(cfg, err, sizeof(err))) {
        fprintf(stderr, "vigil: %s\n", err);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int set_prop(vigil_config_t *cfg, const char *name, const char *value, const char *origin)
{
    char err[1024];
    if (vigil_config_set(cfg, name, value, origin, err, sizeof(err))) {
        fprintf(stderr, "vigil: %s\n", err);
        return CLI_USAGE;
    }
    return CLI_OK;
}

enum { OPT_CONFIG = 256, OPT_SOURCE, OPT_DATA_DIR, OPT_HTTP, OPT_BUS, OPT_STORE, OPT_DURATION,
       OPT_SET, OPT_LOG_LEVEL };

static const struct option run_options[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"http", required_argument, NULL, OPT_HTTP},
    {"bus", required_argument, NULL, OPT_BUS},
    {"store", required_argument, NULL, OPT_STORE},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"set", required_argument, NULL, OPT_SET},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Parses flags into cfg. The config file is loaded first, so it is found in
 * a first pass. */
static int parse_flags(const cli_cmd_t *cmd, int argc, char **argv, vigil_config_t *cfg,
                       double *duration, int *http_given)
{
    const char *config_path = NULL;
    int c, rc;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", run_options, NULL)) != -1) {
        if (c == 'h') {
            run_usage(cmd, stdout);
            return -1;
        }
        if (c == '?' || c == ':') {
            fprintf(stderr, "vigil %s: unknown or incomplete option \"%s\"\n\n", cmd->name,
                    argv[optind - 1]);
            run_usage(cmd, stderr);
            return CLI_USAGE;
        }
        if (c == OPT_CONFIG) config_path = optarg;
    }
    if (optind < argc) {
        fprintf(stderr, "vigil %s: unexpected argument \"%s\"\n", cmd->name, argv[optind]);
        return CLI_USAGE;
    }
    if ((rc = cli_load_config(cfg, config_path))) return rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", run_options, NULL)) != -1) {
        char err[1024], *end;
        rc = CLI_OK;
        switch (c) {
        case OPT_SOURCE:
            if (vigil_config_add_source(cfg, optarg, err, sizeof(err))) {
                fprintf(stderr, "vigil: --source: %s\n", err);
                return CLI_USAGE;
            }
            break;
        case OPT_DATA_DIR: rc = set_prop(cfg, "store.data_dir", optarg, "--data-dir"); break;
        case OPT_HTTP:
            *http_given = 1;
            rc = set_prop(cfg, "http.listen", optarg, "--http");
            break;
        case OPT_BUS: rc = set_prop(cfg, "bus.url", optarg, "--bus"); break;
        case OPT_STORE: rc = set_prop(cfg, "store.url", optarg, "--store"); break;
        case OPT_LOG_LEVEL: rc = set_prop(cfg, "log.level", optarg, "--log-level"); break;
        case OPT_DURATION:
            *duration = strtod(optarg, &end);
            if (end == optarg || *end || *duration < 0) {
                fprintf(stderr, "vigil: --duration: invalid value \"%s\" (accepted: seconds >= 0)\n",
                        optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_SET: {
            char *eq = strchr(optarg, '=');
            if (!eq) {
                fprintf(stderr, "vigil: --set: expected KEY=VALUE, got \"%s\"\n", optarg);
                return CLI_USAGE;
            }
            *eq = '\0';
            rc = set_prop(cfg, optarg, eq + 1, "--set");
            *eq = '=';
            break;
        }
        default: break;
        }
        if (rc) return rc;
    }
    return CLI_OK;
}

int cli_run_main(const cli_cmd_t *cmd, int argc, char **argv)
{
    vigil_config_t cfg;
    double duration = 0;
    char err[1024];
    int rc, http_given = 0;
    vigil_pipeline_t *p = NULL;

    vigil_config_init(&cfg);
    rc = parse_flags(cmd, argc, argv, &cfg, &duration, &http_given);
    if (rc) {
        vigil_config_release(&cfg);
        return rc < 0 ? CLI_OK : rc;
    }
    if (vigil_config_validate(&cfg, err, sizeof(err))) {
        fprintf(stderr, "vigil: %s\n", err);
        vigil_config_release(&cfg);
        return CLI_USAGE;
    }
    vigil_log_set_level(vigil_log_level_parse(cfg.log_level));

    if (cmd->stages != VIGIL_STAGE_ALL && cmd->stages != VIGIL_STAGE_API &&
        !strncmp(cfg.bus_url, "inproc:", 7)) {
        fprintf(stderr,
                "vigil %s: the in-process bus (%s) connects stages inside one process only; "
                "run every stage with `vigil run`, or give a shared bus with --bus kafka://HOST:PORT\n",
                cmd->name, cfg.bus_url);
        vigil_config_release(&cfg);
        return CLI_USAGE;
    }
    if ((cmd->stages & VIGIL_STAGE_INGEST) && cfg.ncameras == 0) {
        if (!strncmp(cfg.bus_url, "inproc:", 7))
            vigil_warn("pipeline", NULL, "no cameras configured: add --source URL or cameras: in "
                       "the config, or add them through the API (POST /api/v1/cameras)");
        else
            vigil_info("pipeline", NULL, "no cameras configured: cameras come from topic control "
                       "(vigil camera add --bus URL ID URL)");
    }

    /* SA_RESTART: a signal does not make the main thread's system calls fail
     * with EINTR. SIGINT and SIGTERM are blocked while the pipeline starts
     * its threads, which inherit the mask (every pthread_create site, those
     * of libmicrohttpd and librdkafka included, and threads those threads
     * create later), then unblocked in this thread only: the handler always
     * runs here, never in a worker in the middle of a lock. */
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct sigaction ign = {.sa_handler = SIG_IGN, .sa_flags = SA_RESTART};
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, NULL);
    sigset_t stops, old_mask;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stops, &old_mask);

    p = vigil_pipeline_new(&cfg, cmd->stages, err, sizeof(err));
    if (!p) {
        vigil_error("pipeline", NULL, "cannot start: %s", err);
        vigil_config_release(&cfg);
        return CLI_FAIL;
    }
    if (http_given && !(cmd->stages & VIGIL_STAGE_API) &&
        vigil_pipeline_serve_metrics(p, cfg.http_listen, err, sizeof(err)) < 0) {
        vigil_error("pipeline", NULL, "cannot start: %s", err);
        rc = CLI_FAIL;
        goto out;
    }
    if (vigil_pipeline_start(p, err, sizeof(err))) {
        vigil_error("pipeline", NULL, "cannot start: %s", err);
        rc = CLI_FAIL;
        goto out;
    }
    pthread_sigmask(SIG_UNBLOCK, &stops, NULL); /* a signal sent while starting arrives now */
    vigil_info("pipeline", NULL, "running %s with %zu camera(s)%s", cmd->name, cfg.ncameras,
               duration > 0 ? " for a fixed duration" : " until SIGINT/SIGTERM");

    int64_t deadline = duration > 0 ? vigil_mono_us() + (int64_t)(duration * 1e6) : 0;
    int reported_finished = 0, failed = 0;
    while (!stop_signal && (!deadline || vigil_mono_us() < deadline)) {
        vigil_sleep_us(50000);
        if (!reported_finished && vigil_pipeline_finished(p)) {
            vigil_info("pipeline", NULL, "every source has ended; still serving until stopped");
            reported_finished = 1;
        }
        /* a component met a fatal error (vigil/health.h): stop, saying why */
        if (vigil_health_level(err, sizeof(err)) == VIGIL_HEALTH_FAILED) {
            vigil_error("pipeline", NULL, "stopping: %s", err);
            failed = 1;
            break;
        }
    }
    if (stop_signal)
        vigil_info("pipeline", NULL, "received %s", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
    /* after a failure what is queued cannot all drain: do not wait long */
    vigil_pipeline_stop(p, failed ? 2000 : 30000);
    rc = failed ? CLI_FAIL : CLI_OK;
out:
    vigil_pipeline_free(p);
    vigil_config_release(&cfg);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    return rc;
}
