/*
 * moqc: the commands. Each runs its own libuv loop until every handle is closed and returns the
 * process exit status.
 */
#ifndef MOQC_CLI_CMD_H
#define MOQC_CLI_CMD_H

#include "args.h"

/** Exit statuses shared by the commands. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_TIMEOUT 3

/** `moqc pub`: publishes synthetic frames or standard input. */
int cli_cmd_pub(const cli_opts *o);

/** `moqc sub`: subscribes, checks and summarizes. */
int cli_cmd_sub(const cli_opts *o);

/** `moqc announced`: lists (or follows) announced broadcasts. */
int cli_cmd_announced(const cli_opts *o);

#endif /* MOQC_CLI_CMD_H */
