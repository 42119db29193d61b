/* vigil: the command-line entry point. Dispatches to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "vigil/fault.h"
#include "vigil/pipeline.h"

static int cmd_version(const cli_cmd_t *cmd, int argc, char **argv)
{
    printf("vigil %s\n", VIGIL_VERSION);
    return CLI_OK;
}

/* `vigil analytics`: the stage service, or `vigil analytics replay` offline. */
static int cmd_analytics(const cli_cmd_t *cmd, int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "replay")) return cli_analytics_replay_main(argc - 1, argv + 1);
    return cli_run_main(cmd, argc, argv);
}

static const cli_cmd_t commands[] = {
    {"run", "run every stage in one process (embedded mode)", cli_run_main, VIGIL_STAGE_ALL},
    {"ingest", "run the ingest stage: cameras -> frames", cli_run_main, VIGIL_STAGE_INGEST},
    {"preprocess", "run the preprocess stage: frames -> store + frames.gated", cli_run_main,
     VIGIL_STAGE_PREPROCESS},
    {"infer", "run the infer stage: frames.gated -> detections", cli_run_main,
     VIGIL_STAGE_INFER},
    {"sink", "run the sink stage: detections, events -> store", cli_run_main, VIGIL_STAGE_SINK},
    {"analytics", "run the analytics stage: detections -> tracks, events, counts (replay: "
                  "offline)", cmd_analytics, VIGIL_STAGE_ANALYTICS},
    {"api", "serve the HTTP API over the store", cli_run_main, VIGIL_STAGE_API},
    {"search-index", "run the search indexer: detections, events, tracks -> OpenSearch "
                     "(search.url)", cli_run_main, VIGIL_STAGE_SEARCH},
    {"kafka", "kafka topics: init, create, describe (distributed mode)", cli_kafka_main, 0},
    {"camera", "camera commands on the control topic: add, remove, start, stop", cli_camera_main,
     0},
    {"db", "warehouse schema: migrate, version", cli_db_main, 0},
    {"user", "API users: add, list, remove, passwd, role", cli_user_main, 0},
    {"token", "API bearer tokens: create, list, revoke", cli_token_main, 0},
    {"config", "configuration: check FILE, docs", cli_config_main, 0},
    {"models", "model registry: fetch, list, run", cli_models_main, 0},
    {"detect", "detect objects in images (JSON lines)", cli_detect_main, 0},
    {"ocr", "read text lines in images (JSON lines)", cli_ocr_main, 0},
    {"nn", "vigil-nn engine: conformance, info, run", cli_nn_main, 0},
    {"version", "print the version", cmd_version, 0},
    {NULL, NULL, NULL, 0},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: vigil COMMAND [OPTIONS]\n\n"
                 "vigil is a real-time camera analytics pipeline.\n\ncommands:\n");
    for (const cli_cmd_t *c = commands; c->name; c++) fprintf(out, "  %-11s %s\n", c->name, c->summary);
    fprintf(out, "\n`vigil COMMAND --help` describes a command's options.\n");
}

int main(int argc, char **argv)
{
    vigil_fault_init(); /* before any thread: the test hooks' variables, read once */
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "--version")) return cmd_version(NULL, 0, NULL);
    for (const cli_cmd_t *c = commands; c->name; c++)
        if (!strcmp(argv[1], c->name)) return c->main(c, argc - 1, argv + 1);
    fprintf(stderr, "vigil: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
