/* The vigil command: one function per subcommand, shared option handling. */
#ifndef VIGIL_CLI_H
#define VIGIL_CLI_H

#include "vigil/config.h"

/* Exit codes. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

typedef struct cli_cmd {
    const char *name;
    const char *summary;
    int (*main)(const struct cli_cmd *cmd, int argc, char **argv);
    unsigned stages; /* for the stage commands: VIGIL_STAGE_* */
} cli_cmd_t;

int cli_run_main(const cli_cmd_t *cmd, int argc, char **argv);
int cli_db_main(const cli_cmd_t *cmd, int argc, char **argv);
int cli_config_main(const cli_cmd_t *cmd, int argc, char **argv);
int cli_nn_main(const cli_cmd_t *cmd, int argc, char **argv);
int cli_models_main(const cli_cmd_t *cmd, int argc, char **argv);
int cli_detect_main(const cli_cmd_t *cmd, int argc, char **argv);
int cli_ocr_main(const cli_cmd_t *cmd, int argc, char **argv);
int cli_kafka_main(const cli_cmd_t *cmd, int argc, char **argv);
int cli_camera_main(const cli_cmd_t *cmd, int argc, char **argv);
int cli_analytics_replay_main(int argc, char **argv);
/* `vigil user`, `vigil token`: accounts (cmd_user.c). */
int cli_user_main(const cli_cmd_t *cmd, int argc, char **argv);
int cli_token_main(const cli_cmd_t *cmd, int argc, char **argv);

/* Loads configuration in the documented order: defaults, then the file named
 * by --config (or $VIGIL_CONFIG), then VIGIL_* environment variables. The
 * flags are applied by the caller. Prints the error and returns CLI_USAGE on
 * failure. */
int cli_load_config(vigil_config_t *cfg, const char *path);

#endif
