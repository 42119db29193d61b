/* `vigil db` (warehouse schema) and `vigil config` (check a file, print the
 * property reference). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "vigil/store.h"

static int db_usage(FILE *out)
{
    fprintf(out, "usage: vigil db migrate|version [--config FILE] [--data-dir DIR] [--store URL]\n\n"
                 "  migrate   apply pending schema migrations to the warehouse\n"
                 "  version   print the warehouse's schema version and the one this vigil needs\n");
    return out == stdout ? CLI_OK : CLI_USAGE;
}

int cli_db_main(const cli_cmd_t *cmd, int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"data-dir", required_argument, NULL, 'd'},
                                         {"store", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL, *data_dir = NULL, *url = NULL;
    char err[1024];
    int c, rc = CLI_FAIL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') return db_usage(stdout);
        if (c == 'c') config = optarg;
        else if (c == 'd') data_dir = optarg;
        else if (c == 's') url = optarg;
        else return db_usage(stderr);
    }
    if (optind != argc - 1) return db_usage(stderr);
    const char *verb = argv[optind];
    if (strcmp(verb, "migrate") && strcmp(verb, "version")) return db_usage(stderr);

    vigil_config_t cfg;
    vigil_config_init(&cfg);
    if ((rc = cli_load_config(&cfg, config))) goto out;
    vigil_store_conf_t sc;
    vigil_store_conf_init(&sc);
    sc.url = url ? url : cfg.store_url;
    sc.data_dir = data_dir ? data_dir : cfg.data_dir;
    sc.migrate = 0;
    if (!strcmp(verb, "version")) {
        vigil_store_t *store = vigil_store_open(&sc, err, sizeof(err));
        if (!store) {
            fprintf(stderr, "vigil db: %s\n", err);
            rc = CLI_FAIL;
            goto out;
        }
        printf("schema version %d (this vigil needs %d)\n", vigil_store_schema_version(store),
               vigil_store_expected_version());
        vigil_store_close(store);
        rc = CLI_OK;
        goto out;
    }
    /* migrate: open with migrate=1 would do it, but report from/to explicitly. */
    sc.migrate = 1;
    vigil_store_t *store = vigil_store_open(&sc, err, sizeof(err));
    if (!store) {
        fprintf(stderr, "vigil db migrate: %s\n", err);
        rc = CLI_FAIL;
        goto out;
    }
    int from = 0, to = 0;
    if (vigil_store_migrate(store, &from, &to, err, sizeof(err))) {
        fprintf(stderr, "vigil db migrate: %s\n", err);
        rc = CLI_FAIL;
    } else {
        printf("schema at version %d\n", vigil_store_schema_version(store));
        rc = CLI_OK;
    }
    vigil_store_close(store);
out:
    vigil_config_release(&cfg);
    return rc;
}

int cli_config_main(const cli_cmd_t *cmd, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "docs")) {
        char *md = vigil_config_docs_markdown();
        if (!md) return CLI_FAIL;
        fputs(md, stdout);
        free(md);
        return CLI_OK;
    }
    if (argc >= 3 && !strcmp(argv[1], "check")) {
        vigil_config_t cfg;
        char err[1024];
        vigil_config_init(&cfg);
        int rc = CLI_OK;
        if (vigil_config_load_file(&cfg, argv[2], err, sizeof(err)) ||
            vigil_config_validate(&cfg, err, sizeof(err))) {
            fprintf(stderr, "vigil: %s\n", err);
            rc = CLI_USAGE;
        } else {
            printf("%s: ok (%zu camera(s))\n", argv[2], cfg.ncameras);
        }
        vigil_config_release(&cfg);
        return rc;
    }
    FILE *out = (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) ? stdout
                                                                                        : stderr;
    fprintf(out, "usage: vigil config check FILE | vigil config docs\n\n"
                 "  check FILE   validate a configuration file (exit 2 on error)\n"
                 "  docs         print the property reference (docs/configuration.md)\n");
    return out == stdout ? CLI_OK : CLI_USAGE;
}
