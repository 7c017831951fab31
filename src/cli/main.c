/*
 * moqc: command-line publisher, subscriber and announce lister (see docs/CLI.md).
 */
#include <moqc/moqc.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "bench.h"
#include "cmd.h"
#include "wt_plan.h"

/* A closed standard descriptor would be reused by a socket, which libuv refuses to close:
 * point any closed one at /dev/null. */
static void main_std_fds(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) == -1) {
      int nfd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
      if (nfd >= 0 && nfd != fd) {
        dup2(nfd, fd);
        close(nfd);
      }
    }
  }
}

int main(int argc, char **argv) {
  char err[512];
  cli_opts o;
  cli_plan plan;
  int rv;

  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    fputs(cli_usage_main(), argc < 2 ? stderr : stdout);
    return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("moqc %s\n", MOQC_VERSION);
    return CLI_EXIT_OK;
  }
  if (strcmp(argv[1], "bench") == 0) { main_std_fds(); signal(SIGPIPE, SIG_IGN); return cli_cmd_bench(argc - 1, argv + 1); }
  rv = cli_parse(argc - 1, argv + 1, &o, err, sizeof(err));
  if (rv == CLI_PARSE_HELP) {
    fputs(cli_usage(o.cmd), stdout);
    return CLI_EXIT_OK;
  }
  if (rv != CLI_PARSE_OK) {
    fprintf(stderr, "moqc: %s\n", err);
    return CLI_EXIT_USAGE;
  }
  if (cli_plan_for(&o, &plan, err, sizeof(err)) != 0) {
    fprintf(stderr, "moqc: %s\n", err);
    return CLI_EXIT_USAGE;
  }
  main_std_fds();
  /* A relay closing during a write must not kill us (transport.h). */
  signal(SIGPIPE, SIG_IGN);
  switch (o.cmd) {
  case CLI_CMD_PUB:
    return cli_cmd_pub(&o);
  case CLI_CMD_SUB:
    return cli_cmd_sub(&o);
  case CLI_CMD_ANNOUNCED:
    return cli_cmd_announced(&o);
  }
  return CLI_EXIT_USAGE;
}
